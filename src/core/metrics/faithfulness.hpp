#pragma once
// Deletion and insertion curves (Petsiuk et al., "RISE", BMVC 2018): rank the
// model's input pixels by a heatmap, then
//   deletion:  remove the top-ranked pixels step by step (set them to the
//              baseline, by default the model's own, the same one LIME and
//              KernelSHAP use) - a faithful map makes the target's probability
//              drop fast (low AUC);
//   insertion: start from the baseline (or RISE's blurred copy) and reveal the
//              original's top-ranked pixels step by step - a faithful map makes
//              the probability rise fast (high AUC).
// Score = the target's softmax probability. AUC = trapezoid rule over the
// fraction of pixels changed (0..1), so it lies in [0, 1] and a constant curve
// has its value as AUC. A random ranking gives the floor a useful map must beat.
//
// Everything happens on the model's input grid (the heatmap is brought there
// with heatmapToInputGrid), the perturbed batches are built in torch from the
// ranking on the model's device, and evaluations run in batches with progress
// and cancel checked at every batch, like the explainers.
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "explain/baseline_setting.hpp"
#include "explain/explainer.hpp"
#include "explain/run_context.hpp"
#include "common/settings.hpp"
#include "models/model.hpp"

namespace mirada {

// Table: faithfulnessParams() (group "faithfulness"); member initialisers are the defaults.
struct FaithfulnessSettings {
    double step_fraction = 1.0 / 224;  // fraction of the input's pixels changed per step, (0, 1]; paper: 1/224
    std::string fill =
        "shared";  // deletion fill: "shared" (perturbation.baseline, the model's own by default) or a baseline name
    std::string insertion_start =
        "fill";               // "fill": insertion starts from the same baseline; "blur": RISE's blurred copy
    double blur_sigma = 5.0;  // Gaussian sigma of the blurred copy (insertion_start "blur"), input px, > 0
    int blur_kernel = 11;     // Gaussian kernel size, odd, input px
    int random_repeats = 3;   // random rankings averaged into the floor curves; 0 = no floor
};

ParamSet faithfulnessParams();
// Empty ParamSet -> defaults. Throws mirada::Error for an even kernel or a table of another group.
FaithfulnessSettings faithfulnessSettingsFrom(const ParamSet& params);

// One curve: score after changing fraction[i] of the input pixels.
struct Curve {
    std::vector<double> fraction;  // 0 .. 1, increasing
    std::vector<double> score;     // target probability
    double auc = 0;                // trapezoid rule, normalised by the fraction's span
};

// Area under (x, y) by the trapezoid rule divided by x.back() - x.front(): the
// mean height. A single point gives its value. Throws mirada::Error when the
// sizes differ, x is empty or not increasing.
double curveAuc(const std::vector<double>& x, const std::vector<double>& y);

struct FaithfulnessCurves {
    Curve deletion;
    Curve insertion;
    int64_t model_evaluations = 0;
    double seconds = 0;
};

// The image, model and target the curves are measured on.
struct FaithfulnessRequest {
    Model* model = nullptr;  // not owned; on its device
    cv::Mat image;           // CV_8UC3 RGB, original resolution
    int target_index = -1;   // class whose probability is the score; -1 = the model's top-1
    uint64_t seed = 0;       // tie-breaking order and random rankings derive from it
    int batch_size = 0;      // model evaluations per batch; 0 = auto (measured once per model, models/batch_size.hpp)
    ParamSet params;         // faithfulnessParams() table (empty = defaults)
    ParamSet perturbation;   // perturbationParams() table (empty = defaults): the shared baseline and guard
};

// Prepared once per image (input, fill, blurred copy, target); evaluates any
// number of maps and the random floor against the same baseline.
class FaithfulnessEvaluator {
public:
    // Throws mirada::Error for a bad request (no model, bad image, target out of range, bad settings).
    explicit FaithfulnessEvaluator(const FaithfulnessRequest& request);
    ~FaithfulnessEvaluator();
    FaithfulnessEvaluator(const FaithfulnessEvaluator&) = delete;
    FaithfulnessEvaluator& operator=(const FaithfulnessEvaluator&) = delete;

    int target() const { return target_; }
    const FaithfulnessSettings& settings() const { return settings_; }
    const ResolvedBaseline& baseline() const { return baseline_; }
    // p(target) on the image and on the baseline (every pixel deleted).
    const BaselineGuard& guard() const { return guard_; }
    int pixels() const;         // input pixels ranked (inside the model's view)
    int pixelsPerStep() const;  // max(1, round(step_fraction * pixels))

    // Pixel order on the input grid for a heatmap at the original resolution:
    // highest value first; equal values in a fixed pseudo-random order drawn
    // from the seed (not row order, which would make a flat region - e.g. the
    // zeros of a Grad-CAM map - delete the image from the top down); pixels
    // outside the image (letterbox padding) last. Returns input pixel indices (v * W + u).
    std::vector<int64_t> ranking(const cv::Mat& heatmap) const;

    // Deletion and insertion curves of one heatmap (original resolution, CV_32F).
    FaithfulnessCurves evaluate(const cv::Mat& heatmap, const RunContext& ctx = {});
    // Curves of an explicit pixel order (a permutation of the input pixel indices).
    FaithfulnessCurves evaluateRanking(const std::vector<int64_t>& order, const RunContext& ctx = {});
    // The floor: mean curves of settings().random_repeats random rankings
    // (their AUC = the mean of the rankings' AUCs). Zero repeats -> empty curves.
    FaithfulnessCurves randomFloor(const RunContext& ctx = {});

private:
    struct State;
    std::unique_ptr<State> state_;
    FaithfulnessSettings settings_;
    ResolvedBaseline baseline_;
    BaselineGuard guard_;
    int target_ = 0;
    uint64_t seed_ = 0;
    int batch_ = 16;
};

// Faithfulness of several explanations of one image plus the random floor.
struct FaithfulnessReport {
    FaithfulnessSettings settings;
    ResolvedBaseline baseline;  // what deleted pixels became, and why
    BaselineGuard guard;        // the baseline's score against the image's
    int target_index = 0;
    int pixels = 0;                          // input pixels ranked
    int pixels_per_step = 0;                 // pixels changed per step
    std::vector<std::string> methods;        // Explanation::method, in the order given
    std::vector<FaithfulnessCurves> curves;  // same order
    FaithfulnessCurves random;               // the floor (empty curves when random_repeats = 0)
    int64_t model_evaluations = 0;
    double seconds = 0;
};

// request.target_index -1 takes the first explanation's target. Progress goes
// over all maps and the floor; throws mirada::Cancelled when cancelled.
FaithfulnessReport evaluateFaithfulness(const FaithfulnessRequest& request,
                                        const std::vector<Explanation>& explanations, const RunContext& ctx = {});

// {"settings", "target_index", "pixels", "pixels_per_step", "model_evaluations", "seconds",
//  "methods": {"gradcam": {"deletion_auc", "insertion_auc"}, ...},
//  "random": {"deletion_auc", "insertion_auc", "repeats"}} - numbers only, no curves.
nlohmann::json toJson(const FaithfulnessReport& report);
// The curves as CSV, one row per point: method,curve,step,fraction,score
// (method "random" for the floor; curve "deletion" or "insertion").
std::string curvesCsv(const FaithfulnessReport& report);

}  // namespace mirada
