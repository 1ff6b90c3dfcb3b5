#include "models/model.hpp"

#include "common/error.hpp"

#include <algorithm>

namespace mirada {

torch::Tensor Model::forwardReplacingLayer(const torch::Tensor& batch, const std::string& layer,
                                           const torch::Tensor& replacement) {
    (void)batch;
    (void)replacement;
    throw Error("model '" + info().name + "' cannot replace the output of layer '" + layer +
                "' inside its forward pass; use a TorchScript model, VGG16 or ResNet50 for this method");
}

std::vector<ParameterGroup> groupLayersTopDown(const std::vector<ParameterGroup>& leaves) {
    auto isNorm = [](const std::string& kind) {
        return kind.find("BatchNorm") != std::string::npos || kind == "LayerNorm" || kind == "GroupNorm" ||
               kind.find("InstanceNorm") != std::string::npos;
    };
    std::vector<ParameterGroup> layers;
    for (const auto& leaf : leaves) {
        if (leaf.parameters.empty()) continue;
        const std::string kind = leaf.kinds.empty() ? "" : leaf.kinds.front();
        if (isNorm(kind) && !layers.empty()) {
            auto& g = layers.back();
            g.modules.insert(g.modules.end(), leaf.modules.begin(), leaf.modules.end());
            g.kinds.insert(g.kinds.end(), leaf.kinds.begin(), leaf.kinds.end());
            g.parameters.insert(g.parameters.end(), leaf.parameters.begin(), leaf.parameters.end());
        } else {
            layers.push_back(leaf);
        }
    }
    std::reverse(layers.begin(), layers.end());
    return layers;
}

DeviceChoice deviceChoiceFromString(const std::string& s) {
    if (s == "auto") return DeviceChoice::Auto;
    if (s == "cpu") return DeviceChoice::Cpu;
    if (s == "cuda" || s == "gpu") return DeviceChoice::Cuda;
    throw Error("unknown device '" + s + "'; use auto, cpu or cuda");
}

torch::Device resolveDevice(DeviceChoice choice, std::string* notice) {
    const bool cuda = torch::cuda::is_available();
    switch (choice) {
        case DeviceChoice::Cpu: return torch::kCPU;
        case DeviceChoice::Auto: return cuda ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
        case DeviceChoice::Cuda:
            if (cuda) return torch::Device(torch::kCUDA, 0);
            if (notice)
                *notice =
                    "CUDA was requested but no CUDA device is available to this LibTorch build; running on the CPU";
            return torch::kCPU;
    }
    return torch::kCPU;
}

}  // namespace mirada
