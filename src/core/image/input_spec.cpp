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

}  // namespace mirada
