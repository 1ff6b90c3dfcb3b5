#include "models/predict.hpp"

#include "common/error.hpp"
#include "image/preprocess.hpp"

namespace mirada {

torch::Tensor toProbabilities(const Model& model, const torch::Tensor& outputs) {
    if (model.info().outputs_probabilities) return outputs.to(torch::kFloat32);
    return torch::softmax(outputs.to(torch::kFloat32), 1);
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
