#include "explain/baseline_setting.hpp"

#include <cstdio>

#include "common/error.hpp"

namespace mirada {

namespace {
std::vector<std::string> imageBaselineNames() {
    std::vector<std::string> out;
    for (const auto& n : baselineNames())
        if (n != "segment-mean") out.push_back(n);
    return out;
}

std::string pct(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f%%", 100 * v);
    return buf;
}

std::string num(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, v < 0.01 ? "%.2g" : "%.2f", v);
    return buf;
}
}  // namespace

ParamSet perturbationParams() {
    const PerturbationSettings d;
    std::vector<std::string> choices{"model"};
    for (const auto& n : imageBaselineNames()) choices.push_back(n);
    return ParamSet(
        "perturbation",
        {
            choiceParam("baseline", d.baseline, choices,
                        "What a removed part of the image becomes, for LIME, KernelSHAP and deletion/insertion: "
                        "model (the model's own baseline from its descriptor, e.g. black for fashion-cnn), " +
                            baselineHelp().substr(0, baselineHelp().find(", segment-mean"))),
            floatParam("guard", d.guard, 0.0, 1.0,
                       "Warn when the fully removed image alone keeps at least this fraction of the target's "
                       "probability (then removing parts cannot show what the model uses); 0 = never warn"),
        });
}

PerturbationSettings perturbationSettingsFrom(const ParamSet& given) {
    const ParamSet p = given.specs().empty() ? perturbationParams() : given;
    if (p.group() != "perturbation") throw Error("the settings given are for '" + p.group() + "', not 'perturbation'");
    PerturbationSettings s;
    s.baseline = p.getChoice("baseline");
    s.guard = p.getFloat("guard");
    return s;
}

std::vector<std::string> methodFillChoices(bool superpixels) {
    std::vector<std::string> out{"shared"};
    for (const auto& n : superpixels ? baselineNames() : imageBaselineNames()) out.push_back(n);
    return out;
}

std::string methodFillHelp(bool superpixels) {
    std::string h =
        "What replaces a removed part: shared (default: the perturbation.baseline setting, which follows the "
        "model's own baseline) or ";
    h += superpixels ? baselineHelp() : baselineHelp().substr(0, baselineHelp().find(", segment-mean"));
    return h;
}

nlohmann::json ResolvedBaseline::toJson() const { return {{"baseline", toString(baseline)}, {"source", source}}; }

ResolvedBaseline resolveBaseline(const ModelInfo& model, const ParamSet& perturbation, const std::string& methodFill,
                                 const std::string& methodSetting) {
    if (!methodFill.empty() && methodFill != "shared") return {baselineFromName(methodFill), methodSetting};
    const PerturbationSettings s = perturbationSettingsFrom(perturbation);
    if (s.baseline != "model") return {baselineFromName(s.baseline), "perturbation.baseline"};
    return {model.baseline, "model '" + model.name + "' (" + model.baseline_source + ")"};
}

nlohmann::json BaselineGuard::toJson() const {
    return {{"image_probability", image_probability},
            {"baseline_probability", baseline_probability},
            {"threshold", threshold},
            {"fired", fired}};
}

BaselineGuard checkBaseline(double imageProbability, double baselineProbability, double threshold,
                            const ResolvedBaseline& baseline, const std::string& targetLabel, const std::string& what) {
    BaselineGuard g;
    g.image_probability = imageProbability;
    g.baseline_probability = baselineProbability;
    g.threshold = threshold;
    g.fired = threshold > 0 && baselineProbability >= threshold * imageProbability;
    if (g.fired) {
        const std::string name = toString(baseline.baseline);
        std::string other = baseline.baseline.kind == Baseline::Kind::Blur ? "black or dataset-mean" : "blur";
        if (baseline.baseline.kind != Baseline::Kind::Black && baseline.baseline.kind != Baseline::Kind::Blur)
            other = "blur or black";
        g.warning = what + ": with every part removed (baseline '" + name + "', from " + baseline.source +
                    ") the model still gives '" + targetLabel + "' p = " + num(baselineProbability) + ", " +
                    pct(imageProbability > 0 ? baselineProbability / imageProbability : 1.0) +
                    " of the image's p = " + num(imageProbability) +
                    ". Removing parts barely changes the prediction, so this map cannot show what the model uses; "
                    "try another baseline (perturbation.baseline = " +
                    other + ").";
    }
    return g;
}

}  // namespace mirada
