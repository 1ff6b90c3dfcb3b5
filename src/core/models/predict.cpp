#include "models/predict.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "common/error.hpp"
#include "image/preprocess.hpp"

namespace mirada {

void checkModelOutputs(const Model& model, const torch::Tensor& outputs, const std::string& what) {
    const auto out = outputs.to(torch::kCPU).to(torch::kFloat32);
    if (out.dim() != 2 || out.size(1) < 1)
        throw Error("model '" + model.info().name + "' returned an output of shape " + c10::str(out.sizes()) + " for " +
                    what + "; expected class scores [N, classes] with at least one class");
    if (!torch::isfinite(out).all().item<bool>())
        throw Error("model '" + model.info().name + "' returned non-finite scores (NaN or infinity) for " + what +
                    "; check the model and its input normalisation (\"mean\", \"std\" in its descriptor)");
    if (model.info().outputs_probabilities) {
        const double lo = out.min().item<double>(), hi = out.max().item<double>();
        const auto sums = out.sum(1);
        const double worst = (sums - 1).abs().max().item<double>();
        if (lo < -1e-4 || hi > 1 + 1e-4 || worst > 1e-3) {
            char buf[160];
            std::snprintf(buf, sizeof buf, "values from %.4g to %.4g, rows summing to %.4g", lo, hi,
                          sums[0].item<double>());
            throw Error("model '" + model.info().name +
                        "' is declared to output probabilities (\"output\": "
                        "\"probabilities\") but returned " +
                        buf + " for " + what + "; if it returns logits, set \"output\": \"logits\" in its descriptor");
        }
    }
}

torch::Tensor toProbabilities(const Model& model, const torch::Tensor& outputs) {
    checkModelOutputs(model, outputs, "an input");
    if (model.info().outputs_probabilities) return outputs.to(torch::kFloat32);
    return torch::softmax(outputs.to(torch::kFloat32), 1);
}

int resolveTargetIndex(const Model& model, const torch::Tensor& out, int requested) {
    if (out.dim() != 2 || out.size(0) != 1)
        throw Error("model '" + model.info().name + "' returned an output of shape " + c10::str(out.sizes()) +
                    "; expected [1, classes]");
    const int classes = static_cast<int>(out.size(1));
    if (requested < -1 || requested >= classes)
        throw Error("target class " + std::to_string(requested) + " is out of range: model '" + model.info().name +
                    "' has " + std::to_string(classes) + " classes (0-" + std::to_string(classes - 1) +
                    ", or -1 for the top class)");
    return requested >= 0 ? requested : static_cast<int>(toProbabilities(model, out)[0].argmax().item<int64_t>());
}

std::vector<ClassScore> predictTopK(Model& model, const cv::Mat& rgb, int k) {
    if (k < 1) throw Error("--top must be at least 1, got " + std::to_string(k));
    const auto input = preprocess(rgb, model.info().input).to(model.device());
    const auto out = model.forward(input).to(torch::kCPU);
    const auto probs = toProbabilities(model, out)[0];
    const auto classes = probs.size(0);
    k = static_cast<int>(std::min<int64_t>(k, classes));
    const auto top = probs.topk(k);
    const auto values = std::get<0>(top), indices = std::get<1>(top);
    std::vector<ClassScore> result;
    for (int i = 0; i < k; ++i) {
        ClassScore s;
        s.index = static_cast<int>(indices[i].item<int64_t>());
        s.label = s.index < static_cast<int>(model.info().labels.size()) ? model.info().labels[s.index]
                                                                         : "class " + std::to_string(s.index);
        s.probability = values[i].item<float>();
        s.score = out[0][s.index].item<float>();
        result.push_back(s);
    }
    return result;
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
    const bool numeric =
        std::all_of(target.begin(), target.end(), [](unsigned char c) { return std::isdigit(c); }) ||
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
