#pragma once
// Model-randomisation sanity check (Adebayo et al., "Sanity Checks for
// Saliency Maps", NeurIPS 2018, cascading randomisation): re-initialise the
// network's layers from the top down, one more at each step, recompute each
// explanation for the same target, and measure the Spearman rank correlation
// of the new map with the original. A map that barely changes while the
// weights that produced the decision are destroyed does not reflect the model
// (it reflects the image, e.g. edges); such a method is flagged.
//
// The model's weights are changed in place and ALWAYS put back (exact copies)
// when the check ends, by exception or cancel included (ScopedParameterRestore).
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "explain/explainer.hpp"
#include "explain/run_context.hpp"
#include "common/settings.hpp"
#include "models/model.hpp"

namespace mirada {

// Table: sanityParams() (group "sanity").
struct SanitySettings {
    int layers = 0;          // layers randomised, top-down, one more per step; 0 = every layer
    double threshold = 0.5;  // flag a method whose correlation after the last step is still >= this
    std::string compare =
        "absolute";  // "absolute": rank |map| (Adebayo et al.'s main measure); "signed": rank raw values
};
ParamSet sanityParams();
SanitySettings sanitySettingsFrom(const ParamSet& params);  // empty -> defaults

// Copies the given parameters now and copies them back when destroyed
// (under NoGradGuard), whatever happened in between.
class ScopedParameterRestore {
public:
    explicit ScopedParameterRestore(const std::vector<ParameterGroup>& groups);
    ~ScopedParameterRestore();
    ScopedParameterRestore(const ScopedParameterRestore&) = delete;
    ScopedParameterRestore& operator=(const ScopedParameterRestore&) = delete;

private:
    std::vector<std::pair<torch::Tensor, torch::Tensor>> saved_;  // (live tensor, copy)
};

// Re-initialises one layer in place, drawn from a private generator seeded
// with `seed` (the global torch RNG is untouched): weights of 2+ dimensions
// (conv, linear) Kaiming-normal, std = sqrt(2 / fan_in); a bias uniform in
// +-1/sqrt(fan_in) of its module's weight (torch's default); normalisation
// layers (BatchNorm ...) weight 1, bias 0 (torch's reset). Running statistics
// (buffers) are left as they are.
void randomiseParameters(const ParameterGroup& group, uint64_t seed);

// One method to check: how it was computed and what it gave.
struct SanityInput {
    Explainer* explainer = nullptr;  // not owned
    ExplainRequest request;          // as used for the original; its model is the one randomised
    Explanation original;            // its heatmap is the reference; its target is kept at every step
};

struct SanityMethodResult {
    std::string method, title;
    std::vector<double> spearman;  // correlation with the original after each step (0 when the map is blank)
    std::vector<bool> blank;       // per step: the recomputed map is constant (all zero, say) inside the view
    bool flagged = false;          // spearman.back() >= threshold: the map does not follow the model
    // "ok" (the map changes with the model), "flagged" (it hardly changes) or
    // "blank" (after the last step the map is constant: the method shows nothing
    // for the randomised model, which says nothing about whether it tracks the
    // model; never reported as "ok").
    std::string verdict = "ok";
    std::vector<cv::Mat> heatmaps;  // the recomputed maps per step (only when asked for)
};

struct SanityCheckResult {
    SanitySettings settings;
    uint64_t seed = 0;
    std::vector<std::string> layers;  // the layer randomised at each step, top-down ("fc", "block3.0", ...)
    std::vector<SanityMethodResult> methods;
    double target_probability = 1;  // p of the explained class on the image (for the caution on verdicts)
    double seconds = 0;
};

// Runs the cascade on inputs[i].request.model (all must be the same model).
// Throws mirada::Error when the model exposes no parameters or an input is
// incomplete, mirada::Cancelled when cancelled (weights restored either way).
SanityCheckResult runSanityCheck(const std::vector<SanityInput>& inputs, const ParamSet& params, uint64_t seed,
                                 const RunContext& ctx = {}, bool keepHeatmaps = false);

// True when `grid` is constant over the pixels where `inside` (CV_8U, may be empty = all) is set.
bool isBlankMap(const cv::Mat& grid, const cv::Mat& inside);

// {"settings", "seed", "layers": [...], "methods": {"gradcam": {"spearman": [...], "blank": [...], "flagged", "verdict"}, ...}}
nlohmann::json toJson(const SanityCheckResult& r);

}  // namespace mirada
