#include "models/baseline.hpp"

#include <cstdio>

#include "common/error.hpp"

namespace mirada {

const std::vector<std::string>& baselineNames() {
    static const std::vector<std::string> names{"black", "dataset-mean", "image-mean", "blur", "grey", "segment-mean"};
    return names;
}

std::string toString(const Baseline& b) {
    if (b.kind != Baseline::Kind::Values) return baselineNames().at(static_cast<size_t>(b.kind));
    std::string s = "[";
    for (size_t i = 0; i < b.values.size(); ++i) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%s%.4g", i ? ", " : "", b.values[i]);
        s += buf;
    }
    return s + "]";
}

Baseline baselineFromName(const std::string& name) {
    const auto& names = baselineNames();
    for (size_t i = 0; i < names.size(); ++i)
        if (names[i] == name) return Baseline{static_cast<Baseline::Kind>(i), {}};
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    throw Error("unknown baseline '" + name + "'; use one of: " + list +
                " (or a list of per-channel values on [0, 1])");
}

std::string baselineHelp() {
    return "black (pixel value 0), dataset-mean (the model's normalisation mean), image-mean (the image's mean "
           "colour), blur (Gaussian blur, sigma = 10% of the larger side), grey (128), segment-mean (each "
           "superpixel's own mean colour, LIME's convention: a superpixel covering a uniformly coloured object looks "
           "unchanged when removed, so the method cannot see that object)";
}

}  // namespace mirada
