#include "models/input_check.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/error.hpp"
#include "image/preprocess.hpp"
#include "models/predict.hpp"

namespace mirada {

namespace {
std::string fmt(const char* f, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

double colourfulnessOf(const cv::Mat& rgb) {
    double sum = 0;
    for (int y = 0; y < rgb.rows; ++y) {
        const auto* p = rgb.ptr<cv::Vec3b>(y);
        for (int x = 0; x < rgb.cols; ++x)
            sum += std::max({p[x][0], p[x][1], p[x][2]}) - std::min({p[x][0], p[x][1], p[x][2]});
    }
    return rgb.total() ? sum / static_cast<double>(rgb.total()) : 0.0;
}
}  // namespace

nlohmann::json InputCheck::toJson() const {
    return {{"top1_label", top1_label},
            {"top1_probability", top1_probability},
            {"entropy", entropy},
            {"colourfulness", colourfulness},
            {"hints", hints}};
}

cv::Mat modelInputImage(const cv::Mat& rgb, const InputSpec& spec) { return resizeForModel(rgb, spec); }

InputCheck checkInput(Model& model, const cv::Mat& rgb) {
    if (rgb.empty() || rgb.type() != CV_8UC3) throw Error("input check: expected an 8-bit RGB image");
    const ModelInfo& info = model.info();
    const InputSpec& spec = info.input;
    InputCheck c;

    torch::Tensor out;
    {
        c10::InferenceMode guard;
        out = model.forward(preprocess(rgb, spec).to(model.device())).to(torch::kCPU);
    }
    const auto p = toProbabilities(model, out)[0].to(torch::kFloat64).contiguous();
    const int64_t classes = p.size(0);
    const int64_t top = p.argmax().item<int64_t>();
    c.top1_probability = p[top].item<double>();
    c.top1_label = top < static_cast<int64_t>(info.labels.size()) ? info.labels[top] : "class " + std::to_string(top);
    const double h = -(p * torch::log(p.clamp_min(1e-30))).sum().item<double>();
    c.entropy = classes > 1 ? h / std::log(static_cast<double>(classes)) : 0.0;
    c.colourfulness = colourfulnessOf(rgb);

    if (c.top1_probability < kUnsureTop1 || c.entropy > kUnsureEntropy)
        c.hints.push_back("The model is unsure about this image (top-1 '" + c.top1_label + "' p = " +
                          fmt("%.2f", c.top1_probability) + ", prediction entropy " + fmt("%.0f", 100 * c.entropy) +
                          "% of the maximum): it may be unlike what the model was trained on, so read every map "
                          "with care.");
    if (spec.channels == 1 && c.colourfulness > kColourfulImage)
        c.hints.push_back("This is a colour image, but model '" + info.name +
                          "' takes grey (1-channel) input: it sees the grey version (\"what the model sees\"), which "
                          "may look nothing like its training images.");
    if (spec.channels == 3 && c.colourfulness < kGreyImage)
        c.hints.push_back("This image is grey, but model '" + info.name +
                          "' takes colour input and was most likely trained on colour photos.");
    const int inputLarger = std::max(spec.width, spec.height);
    const int imageShorter = std::min(rgb.cols, rgb.rows);
    if (inputLarger <= kSmallModelInput && imageShorter >= kMuchLargerFactor * inputLarger)
        c.hints.push_back("The image (" + std::to_string(rgb.cols) + "x" + std::to_string(rgb.rows) + " px) is " +
                          fmt("%.0f", double(imageShorter) / inputLarger) + "x larger than the model's input (" +
                          std::to_string(spec.width) + "x" + std::to_string(spec.height) +
                          "); a model with so small an input was most likely trained on images made at that size, "
                          "and this one is shrunk to it.");
    return c;
}

}  // namespace mirada
