#pragma once
// How an image becomes a model's input tensor: size, channels, resize policy and
// normalisation. A plain value, read from a descriptor or fixed by a native
// architecture, and used by image/preprocess.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace mirada {

// How an image becomes the model's input tensor.
struct InputSpec {
    enum class Resize {
        CenterCrop,  // shorter side -> resize_shorter, then centre crop width x height (torchvision)
        Stretch,     // resize straight to width x height, aspect ratio not kept
        Letterbox,   // fit inside width x height keeping aspect, pad with the mean colour
    };
    int width = 224;   // model input width, pixels (>= 1)
    int height = 224;  // model input height, pixels (>= 1)
    int channels = 3;  // 1 (grey) or 3 (RGB)
    Resize resize = Resize::CenterCrop;
    int resize_shorter = 256;                         // CenterCrop only: shorter side before cropping, pixels
    std::vector<float> mean{0.485f, 0.456f, 0.406f};  // per channel, on [0,1] pixel values
    std::vector<float> std{0.229f, 0.224f, 0.225f};   // per channel, > 0
};

std::string toString(InputSpec::Resize r);
InputSpec::Resize resizeFromString(const std::string& s);  // throws mirada::Error
// {"width", "height", "channels", "resize", "resize_shorter", "mean", "std"}: the
// report's "input" and the GUI's saved history; inputSpecFromJson reads it back
// (throws nlohmann::json errors or mirada::Error for a missing or bad field).
nlohmann::json toJson(const InputSpec& spec);
InputSpec inputSpecFromJson(const nlohmann::json& j);

}  // namespace mirada
