#pragma once
// Is this image something the model can speak about? Hints for an input that
// looks out of the model's domain (a colour photo on a small grey model, an
// unsure prediction), and the image the model really sees (after resizing and
// colour conversion), so a user can judge the maps against it.
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include <string>
#include <vector>

#include "models/model.hpp"

namespace mirada {

struct InputCheck {
    std::string top1_label;
    double top1_probability = 0;
    double entropy = 0;              // prediction entropy / log(classes), 0 (certain) .. 1 (uniform)
    double colourfulness = 0;        // mean of max(R,G,B) - min(R,G,B), 0..255 (0 = grey)
    std::vector<std::string> hints;  // sentences; empty when nothing looks off
    nlohmann::json toJson() const;
};

// Thresholds (README, "Honest verdicts"):
inline constexpr double kUnsureTop1 = 0.5;        // top-1 probability below this: "unsure"
inline constexpr double kUnsureEntropy = 0.5;     // or normalised entropy above this
inline constexpr double kColourfulImage = 8.0;    // colourfulness above this on a grey model: a colour photo
inline constexpr double kGreyImage = 1.0;         // colourfulness below this on a colour model: a grey image
inline constexpr int kSmallModelInput = 64;       // a model input this small (larger side, px) ...
inline constexpr double kMuchLargerFactor = 4.0;  // ... fed an image whose shorter side is this many times it

// Predicts once and applies the thresholds above. rgb: CV_8UC3.
InputCheck checkInput(Model& model, const cv::Mat& rgb);

// The 8-bit image the model sees (RGB, or grey for a 1-channel model), at the
// model's input size (resizeForModel).
cv::Mat modelInputImage(const cv::Mat& rgb, const InputSpec& spec);

}  // namespace mirada
