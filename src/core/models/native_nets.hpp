#pragma once
// VGG16 and ResNet50 (v1.5) written natively in LibTorch C++, with
// torchvision's exact architecture and parameter/buffer names, so that a
// torchvision state dict (.pth) loads tensor for tensor.
//
//   vgg16    = torchvision.models.vgg16 (configuration D, no batch norm):
//              features.0..30, avgpool, classifier.0..6; 138,357,544 parameters.
//   resnet50 = torchvision.models.resnet50 (v1.5, stride on the 3x3 conv2 of each
//              Bottleneck): conv1, bn1, relu, maxpool, layer1..layer4, avgpool, fc;
//              25,557,032 parameters; BN buffers running_mean, running_var,
//              num_batches_tracked.
//
// Tapping (forwardWithTap, layers()): every module path of torchvision's
// named_modules() can be tapped. The C++ forward never works in place, so
//   "layer4" / "layer4.2"   = the block's output after its final ReLU,
//   "layer4.2.bn3"          = bn3's output before the residual add,
//   "layer4.2.relu"         = the last call of that (shared) ReLU = the block output,
//   "features.29"           = the ReLU after VGG16's last conv (512x14x14 at 224 px).
#include "models/model.hpp"
#include "models/state_dict_reader.hpp"

#include <cstdint>
#include <memory>

namespace mirada {

// Default Grad-CAM target layers (the caller copies them into ModelInfo).
inline constexpr const char* kVgg16DefaultLayer = "features.29";
inline constexpr const char* kResnet50DefaultLayer = "layer4";

inline constexpr int64_t kVgg16ParameterCount = 138357544;
inline constexpr int64_t kResnet50ParameterCount = 25557032;

// Builds the network, loads every tensor of `weights` (names and shapes must
// match exactly; dtypes are converted), sets eval mode. A missing, unexpected or
// mis-shaped tensor throws mirada::Error that says which architecture the file
// looks like, lists up to 5 offending names with expected/actual shapes and
// suggests what to do. `info` is kept as given.
std::unique_ptr<Model> makeNativeVgg16(const StateDict& weights, ModelInfo info);
std::unique_ptr<Model> makeNativeResnet50(const StateDict& weights, ModelInfo info);

// Random-initialised networks of the same structure (tests, benchmarks). The
// initialisation follows torchvision's scheme and is drawn from a private
// generator seeded with `seed`; the global torch RNG is not touched.
std::unique_ptr<Model> makeNativeVgg16Random(ModelInfo info, uint64_t seed);
std::unique_ptr<Model> makeNativeResnet50Random(ModelInfo info, uint64_t seed);

// The state dict the native network expects: parameters then buffers, each in
// torchvision's named_parameters()/named_buffers() order. `arch` is "vgg16" or
// "resnet50" (anything else throws mirada::Error).
struct TensorSpec {
    std::string name;
    std::vector<int64_t> shape;
    torch::Dtype dtype;
};
std::vector<TensorSpec> nativeStateDictLayout(const std::string& arch);

// One-line guess of what a state dict holds, e.g. "torchvision vgg16",
// "torchvision resnet50 with 10 output classes", "torchvision resnet18 or
// resnet34", "an unrecognised network". Used in the load errors.
std::string describeStateDict(const StateDict& weights);

}  // namespace mirada
