#pragma once
// Any TorchScript archive as a Model. Layers are found by inlining the forward
// graph and reading each node's call stack (module instance names), so a layer
// inside any architecture, skip connections included, can be tapped.
#include <filesystem>
#include <memory>

#include <torch/script.h>

#include "models/model.hpp"

namespace mirada {

// Loads `file` (torch::jit::load), checks it runs on a zero input of
// info.input's size and that it returns [N, classes]. When info.labels is
// empty, fills ImageNet's labels for 1000 outputs and "class i" otherwise;
// when info.default_target_layer is empty, picks the last module with a
// spatial (4-D, H*W > 1) output. Throws mirada::Error naming the file.
std::unique_ptr<Model> loadTorchScriptModel(const std::filesystem::path& file, ModelInfo info);

// The same for a module built in memory (scripted_nets.hpp); messages name
// info.name and info.architecture.
std::unique_ptr<Model> makeTorchScriptModel(torch::jit::Module module, ModelInfo info);

}  // namespace mirada
