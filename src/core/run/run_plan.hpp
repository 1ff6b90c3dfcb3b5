#pragma once
// One run of a comparison: every planned method on one image, then (when
// asked) the deletion/insertion curves, the agreement between the maps and the
// cascading-randomisation sanity check. The GUI, `mirada-cli explain` and
// `mirada-cli evaluate` all run through runPlan(), so the order of the steps,
// the shared target/seed/batch size and the inputs of the metrics are the same
// everywhere. Progress and cancelling go through RunContext; what happens to
// each step is told to a RunObserver as it happens.
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "common/settings.hpp"
#include "explain/explainer.hpp"
#include "metrics/agreement.hpp"
#include "metrics/faithfulness.hpp"
#include "metrics/sanity_check.hpp"
#include "models/model.hpp"

namespace mirada {

// One method of a run with the settings it runs with.
struct PlannedMethod {
    std::string method;  // registry name: "gradcam", "lime", ...
    ParamSet params;     // that method's table (empty = its defaults)
    // A map computed before with exactly these inputs (the GUI's rerun after a
    // change of other settings): the step takes it as it is instead of
    // recomputing, and the metrics and sanity check use it like a new one.
    std::shared_ptr<const Explanation> reuse;
};

// Everything a run needs besides model and image.
struct RunPlan {
    std::vector<PlannedMethod> methods;
    ParamSet superpixels;                 // superpixelParams() table
    ParamSet perturbation;                // perturbationParams() table: the shared baseline and its guard
    cv::Mat segments;                     // optional imported label map (CV_32S, image size) for superpixel methods
    int target_index = -1;                // -1 = the model's top-1
    std::string target_request = "top1";  // as the user asked (for the report)
    uint64_t seed = 0;
    // Number format of the perturbation methods' and metrics' model
    // evaluations (models/precision.hpp); gradients stay float32.
    Precision precision = Precision::Fp32;
    int batch_size = 0;      // 0 = auto (measured once per model and device, models/batch_size.hpp)
    bool metrics = false;    // after the maps: deletion/insertion curves and agreement
    ParamSet faithfulness;   // faithfulnessParams() table
    ParamSet agreement;      // agreementParams() table
    bool sanity = false;     // also the sanity check (only with metrics)
    ParamSet sanity_params;  // sanityParams() table
};

// Steps of a run: 0..methods-1 are the methods in plan order; then these.
inline constexpr int kFaithfulnessStep = -1;  // deletion/insertion curves + agreement
inline constexpr int kSanityStep = -2;        // cascading randomisation

enum class StepState { Running, Done, Failed, Cancelled };

// What a run produced so far.
struct RunResults {
    int target_index = -1;  // resolved target (-1 until the first method started)
    int batch_size = 0;     // resolved batch size (0 until the first method started)
    // The precision the perturbation methods and metrics ran in (Auto
    // resolved; Fp32 until one started) and, when it is not what the plan
    // asked, or Auto chose, why (one sentence, also in the report).
    Precision precision = Precision::Fp32;
    std::string precision_note;
    Precision faithfulness_precision = Precision::Fp32;  // what the deletion/insertion curves ran in
    std::vector<Explanation> explanations;               // finished maps, in plan order
    std::vector<int> steps;                              // plan index of each finished map
    bool has_metrics = false;                            // faithfulness and agreement computed
    FaithfulnessReport faithfulness;
    AgreementMatrix agreement;
    bool has_sanity = false;
    SanityCheckResult sanity;
};

// One thing that happened to a step.
struct StepEvent {
    int step = 0;  // method index, kFaithfulnessStep or kSanityStep
    StepState state = StepState::Running;
    const Explanation* explanation = nullptr;  // a method's Done: its map
    std::string message;                       // Failed: the reason, for the user
    const RunResults* results = nullptr;       // the run so far (always set)
};

struct RunObserver {
    std::function<void(const StepEvent&)> step;                                   // on the running thread
    std::function<void(int step, double fraction, const std::string&)> progress;  // on the running thread
};

enum class OnFailure {
    Stop,      // the first failure is thrown (the CLI: one bad method means no files)
    Continue,  // a failed method is reported and the run goes on (the GUI: the other tiles still fill)
};

// Runs the plan on `image` (RGB CV_8UC3, original resolution). Cancelling
// (`cancel` set from any thread) stops within one batch: with OnFailure::Stop
// mirada::Cancelled is thrown; with Continue the running and remaining steps
// are reported Cancelled and what finished is returned. The metrics use the
// finished maps only; with none finished they are reported Failed.
RunResults runPlan(Model& model, const cv::Mat& image, const RunPlan& plan, const RunObserver& observer,
                   const std::atomic<bool>* cancel, OnFailure onFailure);

}  // namespace mirada
