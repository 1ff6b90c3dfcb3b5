#pragma once
// Heatmap -> colours -> overlay on the original image. Display normalisation is
// a view setting: the raw heatmap is never changed. A map with no positive
// value ("no positive evidence") is never stretched to full colour.
#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace mirada {

struct OverlayOptions {
    std::string colormap = "jet";  // jet | turbo | inferno | viridis | magma | hot (maps >= 0); signed maps use blue-white-red
    double opacity = 0.5;          // 0..1: weight of the heatmap colour at full evidence
    std::string scale = "auto";    // auto: signed maps (any value < 0 with |min| > 1% of max) -> symmetric; else positive
                                   // positive: [0, max], negatives shown as none; symmetric: [-m, m], m = max |v|
};

std::vector<std::string> colormapNames();

// True when the map has negative values worth showing (LIME / SHAP style).
bool isSignedMap(const cv::Mat& heatmap);

// RGB 8-bit overlay of `heatmap` (CV_32F, same size as rgb) on `rgb` (CV_8UC3).
// Throws mirada::Error for an unknown colormap or opacity outside [0, 1].
cv::Mat renderOverlay(const cv::Mat& rgb, const cv::Mat& heatmap, const OverlayOptions& options);

// Colour bar image (RGB) for a legend, `width` x `height`, low values on the left.
cv::Mat renderColorbar(int width, int height, const OverlayOptions& options, bool signedMap);

}  // namespace mirada
