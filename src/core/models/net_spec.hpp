#pragma once
// A network written once, as a tree of modules with torchvision's names,
// from which three things are derived:
//   * layout():      the state dict it expects (names, shapes, dtypes);
//   * buildScript(): a TorchScript module with the same tree of submodules,
//                    each with its own forward (so a tap names any module by
//                    torchvision's path), the tensors taken from a state dict;
//   * the random initialisation (seeded, private generator) of the layout.
//
// Leaves compute with the same ATen operations (and arguments) as the
// torch.nn modules they stand for, so logits agree with PyTorch's to float
// rounding. Containers carry a forward written in TorchScript that calls
// their children by name.
#include <torch/script.h>
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace mirada::spec {

enum class Init { ConvWeight, LinearWeight, LinearBias, Zero, One, LayerScale };

struct Param {
    std::string name;  // "weight", "bias", "running_mean", ...
    std::vector<int64_t> shape;
    bool buffer = false;
    torch::Dtype dtype = torch::kFloat;
    Init init = Init::Zero;
    int64_t fan_in = 1;     // Linear's uniform bound; Conv's fan-out
    bool optional = false;  // may be absent from a file (num_batches_tracked)
};

struct Node {
    std::string type;    // class name of the module ("Conv2d", "DenseLayer", ...)
    std::string source;  // TorchScript source of forward(self, x)
    std::vector<Param> params;
    std::vector<std::pair<std::string, Node>> children;
    Node& add(const std::string& name, Node child) {
        children.emplace_back(name, std::move(child));
        return children.back().second;
    }
};

// A child's reference in a forward: self.name, or getattr(self, "0") for
// names that are not identifiers ("0", "block1-0").
std::string ref(const std::string& childName);
// "    x = self.conv(x)\n" style lines calling the children in order.
std::string sequentialSource();

// Leaves (torchvision names of their tensors).
Node conv(int64_t in, int64_t out, int k, int stride, int pad, int64_t groups = 1, bool bias = false, int dilation = 1);
Node batchNorm(int64_t c, double eps = 1e-5);
Node layerNorm(int64_t c, double eps);    // over the last dimension (channels-last input)
Node layerNorm2d(int64_t c, double eps);  // over channels of an NCHW input (ConvNeXt)
Node linear(int64_t in, int64_t out, bool bias = true);
// nn.Linear's parameters applied to the channels of an NCHW input, as a 1x1
// convolution (ConvNeXt's pointwise layers: see scripted_nets.cpp).
Node pointwiseLinear(int64_t in, int64_t out);
// "relu", "relu6", "hardswish", "hardsigmoid", "silu", "sigmoid", "gelu"
Node activation(const std::string& kind);
Node maxPool(int k, int stride, int pad, bool ceil);
Node avgPool(int k, int stride);
Node adaptiveAvgPool(int size);
Node identity(const std::string& type);  // Dropout, StochasticDepth in eval mode
Node flatten();
Node permute(const std::vector<int>& dims);
// nn.Sequential: children "0", "1", ... (or the given names), called in order.
Node sequential(std::vector<Node> children);
Node sequential(std::vector<std::pair<std::string, Node>> children);
// torchvision.ops.Conv2dNormActivation: conv (no bias, padding (k-1)/2), BN, activation ("" = none).
Node convNormAct(int64_t in, int64_t out, int k, int stride, int64_t groups, double eps, const std::string& act);
// torchvision.ops.SqueezeExcitation.
Node squeezeExcitation(int64_t channels, int64_t squeeze, const std::string& act, const std::string& scaleAct);

// The tensors the tree expects, in torch.nn's named_parameters() then
// named_buffers() order (the order torch.save writes a state_dict in is
// per module; only names and shapes are compared).
struct LayoutEntry {
    std::string name;
    const Param* param;
};
std::vector<LayoutEntry> layout(const Node& root);

// The TorchScript module for the tree; `tensor(name, param)` supplies each
// tensor (float32 or the param's dtype, on the CPU).
using TensorSource = std::function<torch::Tensor(const std::string& name, const Param& param)>;
torch::jit::Module buildScript(const Node& root, const std::string& className, const TensorSource& tensor);

// torchvision-like random initialisation of one parameter.
torch::Tensor randomTensor(const Param& p, at::Generator& gen);

// torchvision's _make_divisible.
int64_t makeDivisible(double v, int64_t divisor, int64_t minValue = -1);

}  // namespace mirada::spec
