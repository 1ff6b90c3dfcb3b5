#pragma once
// Shared steps of the methods that work on the model's input pixels: the
// gradient family (saliency, gradient x input, Integrated Gradients,
// SmoothGrad) and the perturbation family (occlusion, RISE).
//
//   image -> model input x (normalised) and its baseline x0 (what "removed"
//   looks like: perturbation.baseline, or the method's own fill) -> the
//   method's map on the input grid -> the original image (zero outside the
//   model's view), with the target, the baseline guard and the settings.
//
// Every model evaluation goes through forwardSplittingOnOom, in batches of the
// run's batch size, with a cancel check before each batch.
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "explain/baseline_setting.hpp"
#include "explain/explainer.hpp"
#include "explain/run_context.hpp"
#include "explain/surrogate/surrogate_engine.hpp"  // SurrogateOutput: probability | logit
#include "image/preprocess.hpp"

namespace mirada {

struct PixelSetup {
    cv::Mat input8;          // the model-input-sized 8-bit image
    InputGeometry geometry;  // input grid <-> original image
    torch::Tensor x;         // [1, C, H, W] normalised input, on the model's device
    torch::Tensor fill;      // [1, C, H, W] normalised baseline, same device
    ResolvedBaseline baseline;
    BaselineGuard guard;
    int target = 0;
    std::string target_label;
    float target_probability = 0;  // softmax probability on the image
    double full_value = 0;         // the target's value (the method's output kind) on the image
    double empty_value = 0;        // ... on the baseline
    int batch_size = 16;           // resolved
    double model_seconds = 0;      // inside forward / backward calls
    int64_t evaluations = 0;       // images through the model (a forward+backward counts once)
};

// fill: the method's fill choice ("shared" = perturbation.baseline) and the
// setting's name for the source text ("occlusion.fill"). Evaluates the image
// and the baseline in one batch, resolves the target (-1 = top-1), runs the guard.
PixelSetup preparePixelMethod(const ExplainRequest& request, const std::string& fill, const std::string& fillSetting,
                              SurrogateOutput output, const std::string& title, const RunContext& ctx);

// Target values of `images` [N, C, H, W] (on the model's device), evaluated in
// batches of setup.batch_size under InferenceMode. Progress: `what` done/N,
// mapped into [from, to] of the run's fraction.
torch::Tensor pixelScores(Model& model, const torch::Tensor& images, SurrogateOutput output, PixelSetup& setup,
                          const RunContext& ctx, const std::string& what, double from = 0, double to = 1);

// d value(target) / d input for each of `inputs` [N, C, H, W] (normalised, on the
// model's device): [N, C, H, W] float32 on the CPU. Batches of setup.batch_size
// through the model's autograd path (Model::forwardWithTap).
torch::Tensor inputGradients(Model& model, const torch::Tensor& inputs, SurrogateOutput output, PixelSetup& setup,
                             const RunContext& ctx, const std::string& what, double from = 0, double to = 1);

// A map on the input grid -> the original image (bilinear; 0 outside the
// model's view; NaN/inf -> 0 with *nonFinite set).
cv::Mat inputMapToImage(const cv::Mat& inputMap, const InputGeometry& g, int interpolation, bool* nonFinite);

// [H, W] tensor -> CV_32F Mat (CPU copy).
cv::Mat tensorToMat(const torch::Tensor& map2d);

// The Explanation: heatmap, target, flags (no positive evidence; the baseline
// guard when usesBaseline), settings {method, params, seed, batch_size,
// target_index, device, baseline + guard when usesBaseline, perturbation}.
Explanation finishPixelMethod(const std::string& method, const std::string& title, const ExplainRequest& request,
                              const ParamSet& params, const PixelSetup& setup, const cv::Mat& inputMap, bool signedMap,
                              bool usesBaseline, nlohmann::json numbers);

}  // namespace mirada

namespace mirada {

// The explain() every pixel method shares: settings, setup, the method's map,
// the Explanation. A method supplies its table and computeMap().
class PixelExplainer : public Explainer {
public:
    bool usesSuperpixels() const override { return false; }
    Explanation explain(const ExplainRequest& request, const RunContext& ctx) override;

protected:
    struct MapResult {
        cv::Mat input_map;        // CV_32F on the model's input grid
        bool signed_map = false;  // evidence for and against (diverging scale)
        nlohmann::json numbers;   // method-specific numbers for the report
        std::string warning;      // a sentence when the map should not be read at face value
    };
    // Whether removed pixels become the baseline (occlusion, RISE, Integrated
    // Gradients): the report then records the baseline and the guard.
    virtual bool usesBaseline() const = 0;
    virtual MapResult computeMap(const ExplainRequest& request, const ParamSet& params, PixelSetup& setup,
                                 SurrogateOutput output, const RunContext& ctx) = 0;
};

// ---- Noise tunnel (Smilkov et al. 2017) ----
// Gaussian noise, sigma = level * (max - min of the normalised input), drawn
// copy by copy ([1, C, H, W] each) from a generator seeded with `seed`, so the
// copies do not depend on the batch size. Calls `batchFn(noisy)` with batches
// of up to `batch` noisy copies [m, C, H, W] on x's device, in order; returns sigma.
double forEachNoisyBatch(const torch::Tensor& x, int64_t samples, double level, uint64_t seed, int batch,
                         const std::function<void(const torch::Tensor& noisy, int64_t done, int64_t m)>& batchFn);
// The noise tunnel as a setting of a gradient method: "noise_samples" (0 =
// off, the plain method) and "noise_level". With samples > 0 the method's
// map is the mean of its maps on noisy copies of the input (as Captum's
// NoiseTunnel with nt_type "smoothgrad").
std::vector<ParamSpec> noiseTunnelParams();
// The method's attribution per input [m, C, H, W] from the inputs and their
// gradients -> [m, H, W]; averaged over the noisy copies (or computed on the
// image when the tunnel is off). `numbers` gets noise_samples and sigma.
torch::Tensor tunnelledAttribution(
    const ExplainRequest& request, const ParamSet& params, PixelSetup& setup, SurrogateOutput output,
    const RunContext& ctx, const std::string& title,
    const std::function<torch::Tensor(const torch::Tensor& inputs, const torch::Tensor& gradients)>& attribution,
    nlohmann::json& numbers);

// A gradient method with the noise tunnel as a setting (saliency, gradient x
// input): its table is the tunnel's settings and "output" (logit); it supplies
// the attribution of each input from its gradient.
class TunnelledGradientExplainer : public PixelExplainer {
public:
    ParamSet defaultParams() const override;

protected:
    bool usesBaseline() const override { return false; }
    MapResult computeMap(const ExplainRequest& request, const ParamSet& params, PixelSetup& setup,
                         SurrogateOutput output, const RunContext& ctx) override;
    // inputs and their gradients [m, C, H, W] (CPU, float32) -> maps [m, H, W];
    // may add method numbers to `numbers`.
    virtual torch::Tensor attribution(const torch::Tensor& inputs, const torch::Tensor& gradients,
                                      nlohmann::json& numbers) const = 0;
    virtual bool signedMap() const = 0;
};

// The "output" setting every pixel method has (default: logit for the gradient
// family, as Captum explains the model's raw output; probability for the
// perturbation family, as LIME and KernelSHAP).
ParamSpec pixelOutputParam(const std::string& def);

}  // namespace mirada
