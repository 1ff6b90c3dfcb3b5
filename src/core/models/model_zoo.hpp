#pragma once
// The zoo (fashion-cnn, resnet50, vgg16, and every other torchvision
// architecture whose ImageNet weights are in PyTorch's hub cache), where
// weights are looked for, and
// one loader for every kind of MODEL argument: a zoo name, a .pth state dict
// (torchvision format, zip or legacy), a TorchScript .pt, or a .json descriptor.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "models/model.hpp"

namespace mirada {

struct ZooEntry {
    std::string name;  // "vgg16", "resnet50", "fashion-cnn"
    std::string description;
    std::vector<std::string> weight_files;  // file names looked for, preferred first
    std::string download_url;               // where to get the first weight file ("" = bundled)
    // Shown (as missing) when its weights are absent; false for torchvision's
    // other architectures, which are zoo names only when their weights are found.
    bool listed_when_missing = true;
};
const std::vector<ZooEntry>& modelZoo();

// Folders searched for weights, in order: $MIRADA_MODELS_DIR, the project's
// models/ (installed share/mirada/models or the source tree's), then PyTorch's
// hub cache ($TORCH_HOME/hub/checkpoints or ~/.cache/torch/hub/checkpoints).
std::vector<std::filesystem::path> modelSearchDirs();

struct ZooLocation {
    bool found = false;
    std::filesystem::path file;  // weights or descriptor when found
    std::string message;         // when not found: which file to get, from where, where to put it
};
ZooLocation locateZooModel(const std::string& name);

struct ModelLoadOptions {
    DeviceChoice device = DeviceChoice::Auto;
    bool verify_hash_in_name = true;  // check SHA-256 against a "-<hex>" suffix in the file name
};

struct LoadedModel {
    std::unique_ptr<Model> model;
    std::vector<std::string> notices;  // things the user should know (CUDA fallback, ...)
};

// Throws mirada::Error with a message that says what to do.
LoadedModel loadModel(const std::string& spec, const ModelLoadOptions& options = {});

// Throws when `file`'s name carries a hash prefix ("resnet50-0676ba61.pth")
// that its SHA-256 does not start with. Returns the full SHA-256.
std::string verifyHashInName(const std::filesystem::path& file);

}  // namespace mirada
