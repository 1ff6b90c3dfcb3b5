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
#include <optional>
#include <string>
#include <vector>

namespace mirada {

// Default Grad-CAM target layers (the caller copies them into ModelInfo).
inline constexpr const char* kVgg16DefaultLayer = "features.29";
inline constexpr const char* kResnet50DefaultLayer = "layer4";

inline constexpr int64_t kVgg16ParameterCount = 138357544;
inline constexpr int64_t kResnet50ParameterCount = 25557032;

// A network of torchvision's ResNet family (ResNet-18/34/50/101/152, ResNeXt,
// Wide ResNet: resnet.py) or VGG family (VGG 11/13/16/19 with and without
// batch norm: vgg.py), with any number of output classes.
struct NativeArch {
    std::string name;    // torchvision's name ("resnet18", "resnext50_32x4d", "vgg11_bn", ...)
    std::string family;  // "resnet" or "vgg"
    // ResNet family: Bottleneck (else BasicBlock), blocks per layer1..4, conv2 groups and width per group.
    bool bottleneck = true;
    std::vector<int> blocks;
    int64_t groups = 1;
    int64_t width_per_group = 64;
    // VGG family: output channels of each 3x3 convolution, -1 = 2x2 max pool; batch norm after each conv.
    std::vector<int> cfg;
    bool batch_norm = false;
    int64_t classes = 1000;  // the classifier's outputs
    // The other torchvision families (scripted_nets.hpp: DenseNet, MobileNet,
    // EfficientNet, ConvNeXt, RegNet, AlexNet, SqueezeNet, GoogLeNet) are built
    // from one TorchScript definition each; family is then theirs.
    bool scripted = false;
    std::string scripted_layer;  // their default layer
    // Default Grad-CAM layer: "layer4" (ResNet family), the ReLU after the last
    // convolution (VGG family: features.29 for vgg16, features.42 for vgg16_bn).
    std::string defaultLayer() const;
};

// torchvision's names of the native architectures, in table order (ResNet and
// VGG families first, then the scripted families).
std::vector<std::string> nativeArchNames();
// The architecture of that name (throws mirada::Error listing the names).
NativeArch nativeArch(const std::string& name, int64_t classes = 1000);
// The architecture a state dict holds, recognised from its keys and shapes
// (family, depth, width, groups, batch norm, classes); nullopt when it is
// neither family. A structure torchvision has no name for keeps a descriptive name.
// *nearMiss (optional): for a file that looks like a scripted family but fits
// none of its sizes, which size came closest and the tensors that differ.
std::optional<NativeArch> recogniseNativeArch(const StateDict& weights, std::string* nearMiss = nullptr);
// Builds `arch`, loads every tensor of `weights` (as makeNativeVgg16 below).
std::unique_ptr<Model> makeNativeModel(const NativeArch& arch, const StateDict& weights, ModelInfo info);
// Random-initialised (torchvision's scheme, private generator seeded with `seed`).
std::unique_ptr<Model> makeNativeRandom(const NativeArch& arch, ModelInfo info, uint64_t seed);

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
// any name of nativeArchNames() (anything else throws mirada::Error), 1000 classes.
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
