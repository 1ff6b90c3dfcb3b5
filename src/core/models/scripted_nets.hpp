#pragma once
// torchvision's other classification families, each written once as a tree
// of modules (net_spec.hpp) from which Mirada derives the expected state-dict
// layout, the TorchScript module that runs it (with torchvision's module
// names, so every layer can be tapped) and a seeded random initialisation:
//
//   densenet121/161/169/201, mobilenet_v2, mobilenet_v3_large/small,
//   efficientnet_b0..b7, convnext_tiny/small/base/large, regnet_y_* and
//   regnet_x_* (torchvision 0.14's sizes), alexnet, squeezenet1_0/1_1,
//   googlenet (without its auxiliary heads, transform_input on as for
//   torchvision's pretrained weights).
//
// A file is recognised by comparing its tensors (names and shapes) with each
// size's layout, the number of classes taken from the file's classifier.
// The model runs through TorchScriptModel: taps through the graph's call
// stacks, batches through the frozen, optimized clone (fast_eval.hpp).
#include "models/model.hpp"
#include "models/native_nets.hpp"
#include "models/state_dict_reader.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mirada {

struct ScriptedArch {
    std::string name;    // torchvision's name ("densenet121", "efficientnet_b3", ...)
    std::string family;  // "densenet", "mobilenet_v2", "mobilenet_v3", "efficientnet", "convnext",
                         // "regnet", "alexnet", "squeezenet", "googlenet"
    int64_t classes = 1000;
    std::string defaultLayer;  // the last spatial block (README, "Any torchvision network")
};

// Every scripted architecture's name, in table order.
std::vector<std::string> scriptedArchNames();
// The architecture of that name with `classes` outputs; nullopt for another name.
std::optional<ScriptedArch> scriptedArch(const std::string& name, int64_t classes = 1000);

// Recognition: the architecture whose layout the file's tensors match exactly
// (num_batches_tracked may be absent; GoogLeNet's aux1/aux2 heads are
// ignored). When the tensors look like one of these families but match no
// size, *nearMiss says which size came closest and which tensors differ.
std::optional<ScriptedArch> recogniseScriptedArch(const StateDict& weights, std::string* nearMiss = nullptr);

// torchvision's DenseNet files on download.pytorch.org predate its current
// names ("denselayer1.norm.1.weight" for "denselayer1.norm1.weight");
// torchvision renames them when loading, and so does this. Returns how many
// tensors were renamed.
int renameLegacyDenseNetKeys(StateDict& weights);

// The state dict the architecture expects (parameters and buffers, in
// torchvision's order).
std::vector<TensorSpec> scriptedLayout(const ScriptedArch& arch);

// The model, its tensors taken from `weights` (checked against the layout;
// dtypes converted to float32) or drawn at random from a private generator.
std::unique_ptr<Model> makeScriptedModel(const ScriptedArch& arch, const StateDict& weights, ModelInfo info);
std::unique_ptr<Model> makeScriptedRandom(const ScriptedArch& arch, ModelInfo info, uint64_t seed);

}  // namespace mirada
