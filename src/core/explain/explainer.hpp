#pragma once
// The Explainer interface: ExplainRequest + RunContext -> Explanation.
// Data flows one way: image + model + settings -> request -> explainer ->
// Explanation (a plain value) -> overlay / report / metrics.
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "explain/run_context.hpp"
#include "common/settings.hpp"
#include "models/batch_size.hpp"  // defaultBatchSize, resolveBatchSize
#include "image/preprocess.hpp"
#include "models/model.hpp"
#include "models/predict.hpp"       // resolveTarget
#include "segment/superpixels.hpp"  // superpixelParams

namespace mirada {

struct ExplainRequest {
    Model* model = nullptr;  // not owned; already on its device
    cv::Mat image;           // CV_8UC3 RGB, original resolution
    int target_index = -1;   // class to explain; -1 = the model's top-1 (resolved by resolveTarget)
    uint64_t seed = 0;       // every random choice derives from it
    int batch_size = 0;      // model evaluations per batch; 0 = auto (measured once per model, models/batch_size.hpp)
    ParamSet params;         // this method's settings (its own table)
    ParamSet superpixels;    // shared superpixel settings (table: superpixelParams())
    ParamSet perturbation;   // shared baseline settings (table: perturbationParams()); empty = defaults
    cv::Mat segments;        // optional imported label map, CV_32S at original resolution (labels >= 0)
};

// Method-agnostic result. heatmap is float32 at the original image's
// resolution with its raw values (positive = evidence for the target).
struct Explanation {
    std::string method;        // "gradcam", "lime", ...
    std::string method_title;  // "Grad-CAM", "LIME", ...
    cv::Mat heatmap;           // CV_32F, image rows x cols, raw values, never NaN
    int target_index = 0;
    std::string target_label;
    float target_probability = 0;    // softmax probability of the target on the unperturbed image
    nlohmann::json settings;         // every setting used (method, superpixels, seed, batch size, layer...)
    nlohmann::json numbers;          // method-specific numbers (R², Shapley values, ...)
    std::vector<std::string> flags;  // e.g. "no-positive-evidence"
    // Sentences for the user that say when the map should not be read at face
    // value (the baseline already predicts the target, a poor surrogate fit...).
    // Shown on the tile, printed by the CLI and written to the report.
    std::vector<std::string> warnings;
    // Signed maps (LIME, KernelSHAP, CAM without ReLU) carry evidence for (> 0)
    // and against (< 0) the target and are drawn on a diverging scale symmetric
    // around 0; unsigned maps (the CAM family) on a sequential scale from 0.
    // Set by the method, never guessed from the values.
    bool signed_map = false;
    cv::Mat segments;          // CV_32S at original resolution when superpixels were used (-1 outside the model's view)
    double seconds = 0;        // wall time of the whole explanation
    double model_seconds = 0;  // part of it spent in model evaluations
    int64_t model_evaluations = 0;  // images passed through the model
};

inline constexpr const char* kFlagNoPositiveEvidence = "no-positive-evidence";

class Explainer {
public:
    virtual ~Explainer() = default;
    virtual std::string name() const = 0;   // "gradcam"
    virtual std::string title() const = 0;  // "Grad-CAM"
    virtual bool usesSuperpixels() const = 0;
    // This method's settings table, defaults filled in.
    virtual ParamSet defaultParams() const = 0;
    // The table for a model whose layers are `layers` (Model::layers()): a
    // method with a layer chooser lists them, so the GUI form, `--set` and the
    // report validate a layer name. Default: defaultParams().
    virtual ParamSet paramsForLayers(const std::vector<LayerInfo>& layers) const {
        (void)layers;
        return defaultParams();
    }
    // Throws mirada::Error for bad input, mirada::Cancelled when ctx is cancelled.
    virtual Explanation explain(const ExplainRequest& request, const RunContext& ctx) = 0;
};

// All methods, in display order (the registry, explain/methods.hpp).
std::vector<std::string> explainerNames();
// Throws mirada::Error listing the valid names.
std::unique_ptr<Explainer> makeExplainer(const std::string& name);

}  // namespace mirada
