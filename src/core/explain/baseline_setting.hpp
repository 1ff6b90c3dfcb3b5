#pragma once
// One shared setting says what a removed part of the image becomes: the group
// "perturbation", used by LIME, KernelSHAP and deletion/insertion. Its default
// is the model's own baseline (ModelInfo::baseline, from the descriptor); a
// method's `fill` may override it ("shared" = follow this group).
//
// The guard: before a perturbation run, the model scores the fully removed
// image (every superpixel / pixel replaced by the baseline). When that alone
// keeps at least `guard` of the target's probability on the image, removing
// parts cannot show what the model uses, and the user is told so.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "common/settings.hpp"
#include "models/baseline.hpp"
#include "models/model.hpp"

namespace mirada {

// Table: perturbationParams() (group "perturbation"); member initialisers are the defaults.
struct PerturbationSettings {
    std::string baseline = "model";  // "model" (the model's own) or black | dataset-mean | image-mean | blur | grey
    double guard = 0.5;              // warn when p(target | baseline) >= guard * p(target | image), 0..1; 0 = never
};

ParamSet perturbationParams();
PerturbationSettings perturbationSettingsFrom(const ParamSet& params);  // empty -> defaults

// Choices of a method's own "fill" setting: "shared" (the default: follow
// perturbation.baseline) and the baseline names; segment-mean only where
// superpixels exist.
std::vector<std::string> methodFillChoices(bool superpixels);
std::string methodFillHelp(bool superpixels);

struct ResolvedBaseline {
    Baseline baseline;
    std::string source;  // where it came from, in words: "model 'fashion-cnn' (the model descriptor)", "lime.fill"
    nlohmann::json toJson() const;  // {"baseline": "black", "source": "..."}
};

// methodFill: the method's own fill choice ("shared" or a name); methodSetting
// names it for the source text ("lime.fill").
ResolvedBaseline resolveBaseline(const ModelInfo& model, const ParamSet& perturbation, const std::string& methodFill,
                                 const std::string& methodSetting);

struct BaselineGuard {
    double image_probability = 0;     // p(target | image)
    double baseline_probability = 0;  // p(target | everything removed)
    double threshold = 0.5;           // the guard setting
    bool fired = false;               // baseline_probability >= threshold * image_probability (threshold > 0)
    std::string warning;              // a sentence naming the baseline and what to try, when fired
    nlohmann::json toJson() const;
};

// `what` names the method ("LIME", "deletion/insertion").
BaselineGuard checkBaseline(double imageProbability, double baselineProbability, double threshold,
                            const ResolvedBaseline& baseline, const std::string& targetLabel, const std::string& what);

inline constexpr const char* kFlagBaselinePredictsTarget = "baseline-predicts-target";

}  // namespace mirada
