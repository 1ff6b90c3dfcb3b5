#include <algorithm>
#include <cctype>

#include "common/error.hpp"
#include "explain/explainer.hpp"
#include "explain/methods.hpp"
#include "models/predict.hpp"

namespace mirada {

std::vector<std::string> explainerNames() { return {"gradcam", "gradcampp", "cam", "lime", "kernelshap"}; }

std::unique_ptr<Explainer> makeExplainer(const std::string& name) {
    if (name == "gradcam") return makeGradCamExplainer();
    if (name == "gradcampp") return makeGradCamPlusPlusExplainer();
    if (name == "cam") return makeCamExplainer();
    if (name == "lime") return makeLimeExplainer();
    if (name == "kernelshap") return makeKernelShapExplainer();
    std::string list;
    for (const auto& n : explainerNames()) list += (list.empty() ? "" : ", ") + n;
    throw Error("unknown method '" + name + "'; available methods: " + list);
}

namespace {
std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}
}  // namespace

int resolveTarget(Model& model, const cv::Mat& image, const std::string& target) {
    const auto& labels = model.info().labels;
    const int classes = static_cast<int>(labels.size());
    if (target.empty() || lower(target) == "top1") {
        return predictTopK(model, image, 1).at(0).index;
    }
    const bool numeric = std::all_of(target.begin(), target.end(), [](unsigned char c) { return std::isdigit(c); }) ||
                         (target.size() > 1 && target[0] == '-' &&
                          std::all_of(target.begin() + 1, target.end(), [](unsigned char c) { return std::isdigit(c); }));
    if (numeric) {
        long long idx = -1;
        try {
            idx = std::stoll(target);
        } catch (const std::exception&) {
            idx = -1;
        }
        if (idx < 0 || idx >= classes)
            throw Error("target class " + target + " is out of range: model '" + model.info().name + "' has " +
                        std::to_string(classes) + " classes (0-" + std::to_string(classes - 1) + ")");
        return static_cast<int>(idx);
    }
    const std::string want = lower(target);
    for (int i = 0; i < classes; ++i)
        if (lower(labels[i]) == want) return i;
    std::vector<std::string> close;
    for (int i = 0; i < classes && close.size() < 5; ++i)
        if (lower(labels[i]).find(want) != std::string::npos) close.push_back(labels[i]);
    std::string msg = "unknown target label '" + target + "' for model '" + model.info().name + "'";
    if (!close.empty()) {
        msg += "; did you mean: ";
        for (size_t i = 0; i < close.size(); ++i) msg += (i ? ", " : "") + ("'" + close[i] + "'");
    }
    msg += ". Give top1, a class index (0-" + std::to_string(classes - 1) + ") or an exact label";
    throw Error(msg);
}

}  // namespace mirada
