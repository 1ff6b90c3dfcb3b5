#include "models/predict.hpp"

#include "common/error.hpp"
#include "image/preprocess.hpp"

namespace mirada {

torch::Tensor toProbabilities(const Model& model, const torch::Tensor& outputs) {
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

}  // namespace mirada
