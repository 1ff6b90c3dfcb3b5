#pragma once
// The surrogate engine LIME and KernelSHAP share (captum's LimeBase/KernelShap
// idea): sample binary coalitions over superpixels -> render perturbed images
// -> evaluate in batches -> weight -> weighted least squares. The methods only
// differ in sampling, weighting and the solver's constraints
// (coalition_sampler.hpp, weighted_ridge.hpp, lime.hpp, kernel_shap.hpp).
#include <Eigen/Dense>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "explain/baseline_setting.hpp"
#include "explain/explainer.hpp"
#include "explain/run_context.hpp"
#include "image/preprocess.hpp"
#include "models/model.hpp"
#include "segment/perturbation.hpp"

namespace mirada {

// What a coalition's value is: the target's softmax probability (default) or
// its logit. For a model that already outputs probabilities, "probability"
// uses them as they are and "logit" uses log(probability).
enum class SurrogateOutput { Probability, Logit };
std::string toString(SurrogateOutput output);
SurrogateOutput surrogateOutputFromString(const std::string& name);  // "probability" | "logit"
std::string surrogateOutputHelp();

// v(coalition) for a batch of coalitions.
class CoalitionValue {
public:
    virtual ~CoalitionValue() = default;
    virtual int features() const = 0;  // M
    // coalitions: [B, M] of 0/1 (1 = superpixel kept) -> B values.
    virtual Eigen::VectorXd evaluate(const Eigen::MatrixXd& coalitions) = 0;
};

// A plain function as value (tests, analytic games): no model needed.
class FunctionCoalitionValue : public CoalitionValue {
public:
    using EigenFn = std::function<Eigen::VectorXd(const Eigen::MatrixXd& coalitions)>;
    using TorchFn = std::function<torch::Tensor(const torch::Tensor& coalitions /*[B,M] float32, CPU*/)>;  // -> [B]
    FunctionCoalitionValue(int features, EigenFn fn);
    FunctionCoalitionValue(int features, TorchFn fn);
    int features() const override { return features_; }
    Eigen::VectorXd evaluate(const Eigen::MatrixXd& coalitions) override;
    int64_t evaluations() const { return evaluations_; }  // coalitions evaluated so far

private:
    int features_;
    EigenFn eigen_;
    TorchFn torch_;
    int64_t evaluations_ = 0;
};

// Values of the target class from raw model outputs [N, classes] (on any device) -> N values.
Eigen::VectorXd targetValues(const Model& model, const torch::Tensor& outputs, int target, SurrogateOutput output);

// A model looking at perturbed images: render -> forward (InferenceMode) -> target value.
class ModelCoalitionValue : public CoalitionValue {
public:
    ModelCoalitionValue(Model& model, const PerturbationRenderer& renderer, int target, SurrogateOutput output);
    int features() const override { return static_cast<int>(renderer_.segments()); }
    Eigen::VectorXd evaluate(const Eigen::MatrixXd& coalitions) override;
    double modelSeconds() const { return model_seconds_; }  // time inside forward calls
    int64_t evaluations() const { return evaluations_; }    // images evaluated

private:
    Model& model_;
    const PerturbationRenderer& renderer_;
    int target_;
    SurrogateOutput output_;
    double model_seconds_ = 0;
    int64_t evaluations_ = 0;
};

// Fills values(first .. n-1) with v(rows of Z), batch by batch: ctx.checkCancelled()
// before each batch (throws mirada::Cancelled), ctx.report(done / n, "<what>: done/n samples")
// after each. values(0 .. first-1) must be set by the caller (known values).
// In rounds (samples = auto): doneBefore samples were evaluated in earlier
// rounds, plannedTotal is the most there can be (the progress fraction's
// denominator) and `note` ends the message (the current uncertainty).
void evaluateCoalitions(CoalitionValue& value, const Eigen::MatrixXd& Z, Eigen::Index first, int batchSize,
                        const RunContext& ctx, const std::string& what, Eigen::VectorXd& values,
                        Eigen::Index doneBefore = 0, Eigen::Index plannedTotal = 0, const std::string& note = "");

// Refuses designs whose coalition matrix would not fit in memory (rows * M doubles > 2 GiB).
void checkDesignSize(int64_t rows, int features, const std::string& what);

// ---- Shared model-side steps of the LIME / KernelSHAP explainers ----

// Everything a surrogate explanation needs before sampling.
struct SurrogateSetup {
    cv::Mat input8;          // the model-input-sized image (RGB or grey)
    InputGeometry geometry;  // input grid <-> original image
    cv::Mat labels;          // CV_32S on the input grid, 0..M-1 (-1: no segment, never perturbed)
    int segments = 0;        // M
    bool imported = false;   // labels came from request.segments
    std::unique_ptr<PerturbationRenderer> renderer;
    int target = 0;
    std::string target_label;
    float target_probability = 0;  // softmax probability on the unperturbed image
    double full_value = 0;         // v(all superpixels kept) = the unperturbed image's value
    double empty_value = 0;        // v(no superpixel kept) = the baseline image's value
    ResolvedBaseline baseline;     // what a removed superpixel becomes, and why
    BaselineGuard guard;           // p(target | baseline) against p(target | image)
    int batch_size = 0;            // resolved (0 -> defaultBatchSize)
    double model_seconds = 0;      // the unperturbed forward pass
    int64_t evaluations = 0;
};

// Resizes the image, computes (or imports) the superpixels, resolves the
// baseline (the method's `fill` choice, "shared" = request.perturbation, whose
// "model" = the model's own), builds the renderer on the model's device,
// evaluates the unperturbed and the fully removed image, resolves the target
// (-1 -> argmax; out of range -> mirada::Error naming the valid range) and runs
// the baseline guard. `fillSetting` names the method's fill ("lime.fill").
SurrogateSetup prepareSurrogate(const ExplainRequest& request, const std::string& fill, const std::string& fillSetting,
                                SurrogateOutput output, const std::string& methodTitle, const RunContext& ctx);

// The request's params when given (checked to be of `group`), else `defaults`.
ParamSet effectiveParams(const ParamSet& given, const ParamSet& defaults);

// Paints per-superpixel values on the input grid, maps heatmap and segments to
// the original resolution (nearest; segments -1 outside the model's view), sets
// target, flags (no-positive-evidence when no value > 0; the baseline guard's
// warning) and the settings json (with the baseline used and its source).
Explanation finishSurrogate(const std::string& method, const std::string& title, const ExplainRequest& request,
                            const ParamSet& params, const SurrogateSetup& setup, const Eigen::VectorXd& perSegment,
                            nlohmann::json numbers);

// The explain() LIME and KernelSHAP share: settings, superpixels, the
// unperturbed and empty images, the coalition value on the model, then the
// method's fit, then the Explanation (heatmap, flags, settings, timings). A
// method supplies its table (with "fill" and "output") and fit().
class SurrogateExplainer : public Explainer {
public:
    bool usesSuperpixels() const override { return true; }
    Explanation explain(const ExplainRequest& request, const RunContext& ctx) override;

protected:
    struct Fit {
        Eigen::VectorXd per_segment;        // one value per superpixel: the map
        nlohmann::json numbers;             // the method's numbers (the base adds superpixels and output)
        std::vector<std::string> flags;     // e.g. "low-fit"
        std::vector<std::string> warnings;  // sentences for the user
    };
    // Samples coalitions, evaluates them through `value` (batches of
    // setup.batch_size, cancel checked) and fits the surrogate.
    virtual Fit fit(CoalitionValue& value, const ParamSet& params, const SurrogateSetup& setup, uint64_t seed,
                    const RunContext& ctx) = 0;
};

// Settings that make a surrogate map say little get a flag and a sentence:
// fewer than kFewSuperpixels superpixels, or (a fixed budget) fewer samples
// than superpixels, which leaves the fit underdetermined.
inline constexpr int kFewSuperpixels = 5;
inline constexpr const char* kFlagFewSuperpixels = "few-superpixels";
inline constexpr const char* kFlagFewSamples = "fewer-samples-than-superpixels";

// Per-superpixel values painted on a label map (-1 -> 0), CV_32F.
cv::Mat paintSegments(const cv::Mat& labels, const Eigen::VectorXd& values);

}  // namespace mirada
