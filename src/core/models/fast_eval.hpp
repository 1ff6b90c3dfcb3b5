#pragma once
// The fast evaluation path: every batch a method or metric evaluates goes
// through Model::forward, and forward runs the network in the fastest form
// LibTorch offers for inference on the model's device:
//
//   * a TorchScript module, frozen (torch::jit::freeze: weights become
//     constants, BatchNorm folded into the convolution before it) and
//     optimized (torch::jit::optimize_for_inference: on the CPU, oneDNN
//     convolutions with prepacked weights and fused ReLU / residual add);
//   * inputs handed over as contiguous NCHW (channels-last was measured and
//     gave nothing on top of the optimized graph);
//   * inference mode.
//
// Small TorchScript models, where oneDNN's layout conversions can cost more
// than they save, get the fastest of the optimized, frozen-only and as-loaded
// forms, timed at load (EvalForm below).
//
// This is what torch.jit.optimize_for_inference does in Python; measured on
// the 2-core development machine it is the fastest of plain eval,
// channels-last eval and the optimized module for ResNet50 and VGG16 (README,
// "Performance"). The native VGG16/ResNet50 are torch::nn::Modules, which
// have no such passes, so an equivalent TorchScript module is generated from
// their weights (scriptNativeNetwork). TorchScript models are optimized on a
// clone; the original module stays as loaded for forwardWithTap (autograd),
// which the frozen module cannot serve.
//
// The optimized module holds its own copy of the weights. The weights the
// model exposes (parameterGroups, used by the sanity check's randomisation)
// are watched through their version counters: after an in-place change the
// optimized module is rebuilt before the next batch, so forward always sees
// the live weights. A failure to build falls back to the plain forward with a
// notice (evaluationNotice), never silently and never with wrong numbers.
#include <torch/script.h>
#include <torch/torch.h>

#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "models/precision.hpp"

namespace mirada {

// A clone of `module` in eval mode with every floating-point parameter and
// buffer in bfloat16, frozen (conv+BN folded). Its input must be bfloat16.
torch::jit::Module bf16Form(const torch::jit::Module& module);

// A clone of `module` in eval mode, frozen and optimized for inference.
// Throws what LibTorch throws when a pass does not apply.
torch::jit::Module optimizeForInference(const torch::jit::Module& module);

// A TorchScript module computing the native network's forward from the given
// tensors (torchvision names: "layer1.0.conv1.weight", ...; parameters and
// buffers) of the ResNet or VGG family; the structure (depth, width, groups,
// batch norm) is read from the tensors, `arch` names the module. The tensors
// are shared, not copied.
torch::jit::Module scriptNativeNetwork(const std::string& arch,
                                       const std::vector<std::pair<std::string, torch::Tensor>>& tensors);

// The form batches are evaluated in. Auto (the default): Optimized, except
// that a model given a probe shape gets Frozen when the optimized form's
// logits differ from the plain forward's by more than 1e-4 (relative) on a
// test batch, and a small model (probe batch under 0.1 s) has the three forms
// timed and the fastest kept. The environment variable MIRADA_EVAL_FORM (auto,
// optimized, frozen, plain) forces one, for comparisons and tests.
enum class EvalForm { Auto, Optimized, Frozen, Plain };
EvalForm evalFormFromEnvironment();  // throws mirada::Error for an unknown value

// Owns the optimized form of one model and runs batches through it.
class FastEvaluator {
public:
    // build(): the TorchScript module to optimize (not yet frozen), on the
    // model's device. weights: the live tensors whose in-place changes must
    // reach the optimized module. owner: the model's name, for notices.
    // probeShape: a batch shape [N, C, H, W] to time the forms on (Auto);
    // empty: no measurement, the optimized form is used (native VGG16/ResNet50,
    // measured once for all in README "Performance").
    FastEvaluator(std::string owner, std::function<torch::jit::Module()> build, std::vector<torch::Tensor> weights,
                  std::vector<int64_t> probeShape = {});

    // True when batches can go through the optimized module (building or
    // rebuilding it first when needed). False: use the plain forward; the
    // reason is in notice().
    bool ready();
    // Runs the optimized module on `batch` (float32, on the device) under
    // InferenceMode; returns dense, contiguous logits. Call after ready().
    torch::Tensor forward(const torch::Tensor& batch);

    // bfloat16 (models/precision.hpp): on = build (once per weights) a
    // bfloat16 copy of the evaluation form and run it on a test batch of
    // `inputShape` ([1, C, H, W]); forward() then takes bfloat16,
    // channels-last inputs through it and returns float32 logits. Returns
    // false, with *why set, when it cannot (the fast path is off or failed, an
    // op has no bfloat16 kernel); forward() then stays float32. off: float32.
    bool setBf16(bool on, const std::vector<int64_t>& inputShape, std::string* why);
    bool bf16() const;
    // Model::setEvaluationPrecision for a model whose batches go through this
    // evaluator: Fp32 or Bf16 (Auto is an error: the run resolves it); Bf16
    // needs the fast path on. Returns the precision in effect.
    Precision setPrecision(Precision p, const std::vector<int64_t>& inputShape, std::string* notice);
    // Model::evaluationPrecision: Bf16 only while the fast path is on and in bf16.
    Precision precision() const;

    // What identifies the model between runs (its file's SHA-256, read when
    // the measurement runs; "" = unknown): Auto's measured form is then kept in
    // the user's cache folder (models/measure_cache.hpp) and not measured again.
    void setCacheIdentity(std::function<std::string()> identity) { identity_ = std::move(identity); }

    void setEnabled(bool on);
    bool enabled() const { return enabled_; }
    // Forget the optimized module (device change); rebuilt on the next ready().
    void invalidate();
    // "optimized TorchScript (...)", "frozen TorchScript (...)" or "TorchScript
    // as loaded (...)" when active; "plain (...)" when off or unavailable.
    std::string description() const;
    // Why the optimized module is not used ("" when it is or was never tried).
    std::string notice() const;
    // How many times the optimized module was built (tests: rebuild after a weight change).
    int builds() const { return builds_; }

private:
    bool weightsChanged() const;
    bool buildBf16Locked(std::string* why);
    void chooseByMeasurement(const torch::jit::Module& source);
    void verifyOptimized(const torch::jit::Module& source);

    std::string owner_;
    std::function<torch::jit::Module()> build_;
    std::vector<torch::Tensor> weights_;
    std::vector<uint32_t> versions_;
    mutable std::mutex mutex_;
    torch::jit::Module module_;
    bool built_ = false;
    bool failed_ = false;
    bool enabled_ = true;
    EvalForm form_ = EvalForm::Optimized;
    bool measured_ = false;                         // Auto: the forms were timed once ...
    EvalForm measured_form_ = EvalForm::Optimized;  // ... and this one kept for every rebuild
    std::vector<int64_t> probe_shape_;
    std::function<std::string()> identity_;
    int builds_ = 0;
    std::string notice_;
    bool bf16_ = false;        // forward() runs module_bf16_
    bool bf16_built_ = false;  // module_bf16_ matches the weights of module_ (built_ at the same rebuild)
    int bf16_of_build_ = -1;   // builds_ when module_bf16_ was made
    std::vector<int64_t> bf16_shape_;
    torch::jit::Module module_bf16_;
};

}  // namespace mirada
