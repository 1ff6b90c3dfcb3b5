#include "image/input_spec.hpp"

#include "common/error.hpp"

namespace mirada {

std::string toString(InputSpec::Resize r) {
    switch (r) {
        case InputSpec::Resize::CenterCrop: return "center-crop";
        case InputSpec::Resize::Stretch: return "stretch";
        case InputSpec::Resize::Letterbox: return "letterbox";
    }
    return "?";
}

InputSpec::Resize resizeFromString(const std::string& s) {
    if (s == "center-crop") return InputSpec::Resize::CenterCrop;
    if (s == "stretch") return InputSpec::Resize::Stretch;
    if (s == "letterbox") return InputSpec::Resize::Letterbox;
    throw Error("unknown resize policy '" + s + "'; use center-crop, stretch or letterbox");
}

nlohmann::json toJson(const InputSpec& spec) {
    return {{"width", spec.width},
            {"height", spec.height},
            {"channels", spec.channels},
            {"resize", toString(spec.resize)},
            {"resize_shorter", spec.resize_shorter},
            {"mean", spec.mean},
            {"std", spec.std}};
}

InputSpec inputSpecFromJson(const nlohmann::json& j) {
    InputSpec spec;
    spec.width = j.at("width").get<int>();
    spec.height = j.at("height").get<int>();
    spec.channels = j.at("channels").get<int>();
    spec.resize = resizeFromString(j.at("resize").get<std::string>());
    spec.resize_shorter = j.at("resize_shorter").get<int>();
    spec.mean = j.at("mean").get<std::vector<float>>();
    spec.std = j.at("std").get<std::vector<float>>();
    return spec;
}

}  // namespace mirada
