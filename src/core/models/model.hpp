#pragma once
// The one interface every network in Mirada implements: native VGG16/ResNet50,
// TorchScript archives with a descriptor, and the bundled fashion-cnn.
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "image/input_spec.hpp"
#include "models/baseline.hpp"
#include "models/precision.hpp"

namespace mirada {

struct ModelInfo {
    std::string name;                 // display name, e.g. "resnet50" or "fashion-cnn"
    std::string architecture;         // "vgg16", "resnet50" or "torchscript"
    std::vector<std::string> labels;  // one per output class
    InputSpec input;
    bool outputs_probabilities = false;  // true when forward() already returns probabilities
    std::string default_target_layer;    // module path used by CAM methods when none is named
    // What "removed" looks like to this model (descriptor field "baseline"); the
    // default of every perturbation method and of deletion/insertion.
    Baseline baseline{Baseline::Kind::Blur, {}};
    std::string baseline_source = "Mirada's default (blur) for a model that does not name one";
    std::string weights_file;     // file the weights came from (absolute path)
    std::string weights_sha256;   // hex SHA-256 of that file
    std::string descriptor_file;  // JSON descriptor, when one was used
};

// A named module inside the network and the shape of its output for one input.
struct LayerInfo {
    std::string path;                   // "layer4", "features.28", "block2.conv"
    std::string kind;                   // "Conv2d", "Sequential", "Bottleneck", ...
    std::vector<int64_t> output_shape;  // for a batch of one; empty if not a tensor
};

// Output of a forward pass that also captured a named layer's activation.
struct TapResult {
    torch::Tensor output;      // [N, classes] logits (or probabilities, see ModelInfo)
    torch::Tensor activation;  // the layer's output; part of the autograd graph
};

// A layer's trainable parameters, shared with the model (in-place changes
// change the model). Used by the sanity check (metrics/sanity_check.hpp).
struct ParameterGroup {
    std::string name;                  // display name: the first module's path, e.g. "fc", "block3.0"
    std::vector<std::string> modules;  // module paths in the group, e.g. {"block3.0", "block3.1"}
    std::vector<std::string> kinds;    // their kinds, same order: "Conv2d", "BatchNorm2d", "Linear"
    // (full parameter name, e.g. "block3.1.weight"; kind of the module that owns it; the tensor)
    struct Parameter {
        std::string name;
        std::string module_kind;
        torch::Tensor tensor;
    };
    std::vector<Parameter> parameters;
};

// Groups leaf modules (in forward order, each with its direct parameters) into
// layers: a normalisation module (BatchNorm*, LayerNorm, GroupNorm) joins the
// group of the module before it, since it rescales that layer's output. Returns
// the groups top-down (output layer first). Modules without parameters are dropped.
std::vector<ParameterGroup> groupLayersTopDown(const std::vector<ParameterGroup>& leavesInForwardOrder);

class Model {
public:
    virtual ~Model() = default;
    virtual const ModelInfo& info() const = 0;
    // batch: [N, C, H, W] float32, already normalised, on device(). Inference mode.
    virtual torch::Tensor forward(const torch::Tensor& batch) = 0;
    // Forward with autograd on, capturing the output of module `layer`.
    // Throws mirada::Error naming the valid layers when `layer` is unknown.
    virtual TapResult forwardWithTap(const torch::Tensor& batch, const std::string& layer) = 0;
    // Inference with the output of module `layer` replaced by `replacement`
    // (that layer's output shape, batch N) for the rest of the network, as the
    // network passes it on (Ablation-CAM). batch: [N, C, H, W], on device();
    // what only feeds the layer may be skipped. Returns [N, classes]. Throws
    // mirada::Error naming the valid layers when `layer` is unknown, and for a
    // model that cannot do it (the default).
    virtual torch::Tensor forwardReplacingLayer(const torch::Tensor& batch, const std::string& layer,
                                                const torch::Tensor& replacement);
    // All module paths in definition order with their output shapes.
    virtual std::vector<LayerInfo> layers() = 0;
    virtual void to(torch::Device device) = 0;
    virtual torch::Device device() const = 0;
    virtual int64_t parameterCount() const = 0;
    // The network's trainable parameters as layers, top-down (the output layer
    // first), for cascading randomisation. The tensors are the model's own.
    // The default (a model that does not expose its weights) is empty.
    virtual std::vector<ParameterGroup> parameterGroups() { return {}; }

    // ---- The evaluation path forward() takes (models/fast_eval.hpp) ----
    // forward() runs batches through an optimized inference form of the
    // network when one can be built (frozen, conv+BN folded, oneDNN TorchScript),
    // the plain module otherwise; forwardWithTap always uses the plain module.
    // In words, e.g. "optimized TorchScript (...)" or "plain (...)".
    virtual std::string evaluationPath() const { return "plain"; }
    // Off: forward() uses the plain module as loaded (comparisons, benchmarks). On by default.
    virtual void setOptimizedEvaluation(bool on) { (void)on; }
    // Builds the optimized form now rather than at the first forward(); returns
    // a notice for the user when it cannot be used ("" when it is in use).
    virtual std::string prepareEvaluation() { return ""; }
    // Bf16: forward() runs a bfloat16 copy of the evaluation form
    // (models/precision.hpp); Fp32: float32 (the default). Returns the
    // precision in effect: Fp32 with *notice set when the model cannot run in
    // bfloat16 (device, an op without bf16 support). Auto is not accepted here
    // (run/run_plan.hpp resolves it). The default: float32 only.
    virtual Precision setEvaluationPrecision(Precision p, std::string* notice) {
        if (p != Precision::Fp32 && notice) *notice = "model '" + info().name + "' evaluates in float32 only";
        return Precision::Fp32;
    }
    virtual Precision evaluationPrecision() const { return Precision::Fp32; }
};

// Device choice: Auto = CUDA when present. Asking for CUDA where there is none
// returns CPU and sets *notice to a sentence saying so.
enum class DeviceChoice { Auto, Cpu, Cuda };
DeviceChoice deviceChoiceFromString(const std::string& s);  // "auto" | "cpu" | "cuda"
torch::Device resolveDevice(DeviceChoice choice, std::string* notice);

}  // namespace mirada
