#pragma once
// Heatmap -> colours -> overlay on the original image. Display normalisation is
// a view setting: the raw heatmap is never changed.
//
// One colour language for every map and every legend:
// - the kind of scale comes from the method (Explanation::signed_map), never
//   from the values: unsigned maps (CAM family) on a sequential colormap from 0
//   to `end`, signed maps (LIME, KernelSHAP, CAM without ReLU) on blue-white-red
//   from -end to +end, white at 0;
// - every pixel gets the same blend: out = (1 - opacity) * image + opacity * colour(v),
//   so 0 is drawn exactly as the legend shows it; non-finite values count as 0;
//   values beyond the scale's ends saturate;
// - a scale whose end is 0 (all zero, or no positive value on an unsigned map)
//   draws the plain image, never a stretched one.
#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace mirada {

struct OverlayOptions {
    std::string colormap =
        "jet";  // jet | turbo | inferno | viridis | magma | hot: unsigned maps; signed maps use blue-white-red
    double opacity = 0.5;  // 0..1: weight of the scale colour over the image, the same for every pixel
    std::string range =
        "per-map";  // per-map: each map's own end; shared: one end per kind (signed / unsigned) over all maps shown
    double clip_percentile =
        100;  // 50..100: the end is this percentile of |v| (unsigned: of the values >= 0); 100 = the maximum
};

std::vector<std::string> colormapNames();
std::vector<std::string> rangeNames();  // "per-map", "shared"

// Throws mirada::Error naming the bad value and what is allowed (colormap,
// opacity, range, clip percentile).
void validateOverlayOptions(const OverlayOptions& options);

// The colour scale of one map: [0, end] when unsigned, [-end, +end] when signed.
struct ColourScale {
    bool signed_map = false;
    float end = 0;         // raw heatmap units; 0 = nothing to colour (the plain image is drawn)
    bool clipped = false;  // end is a percentile below the map's maximum: larger values saturate
};

// The scale of one map (CV_32F) of the given kind. With clip_percentile P < 100
// the end is the P-th percentile (linear interpolation) of |v| (signed) or of
// the values >= 0 (unsigned); should that be 0 while the maximum is not, the
// maximum is used. options.range is not looked at here.
ColourScale colourScaleFor(const cv::Mat& heatmap, bool signedMap, const OverlayOptions& options);

// Scales of several maps at once, honouring options.range: with "shared",
// every map of one kind gets the largest end of that kind (clipped when that
// end is below the map's own largest value). Null heatmaps get a zero scale.
struct ScaledMap {
    const cv::Mat* heatmap = nullptr;
    bool signed_map = false;
};
std::vector<ColourScale> colourScalesFor(const std::vector<ScaledMap>& maps, const OverlayOptions& options);

// The scale's colour (RGB) for a raw value: the one function behind overlays and legends.
cv::Vec3b scaleColour(float value, const ColourScale& scale, const std::string& colormap);

// RGB 8-bit overlay of `heatmap` (CV_32F, same size as rgb) on `rgb` (CV_8UC3).
// Throws mirada::Error for bad options or inputs.
cv::Mat renderOverlay(const cv::Mat& rgb, const cv::Mat& heatmap, const ColourScale& scale,
                      const OverlayOptions& options);

// Draws thin diagonal grey-and-white lines over the pixels where mask != 0
// (rgb CV_8UC3, mask CV_8U of the same size), spaced by about 1/40 of the
// shorter side: marks regions whose colour should not be read at face value
// (LIME/KernelSHAP superpixels whose 95% interval holds 0).
void hatchRegions(cv::Mat& rgb, const cv::Mat& mask);

// Colour bar (RGB) for a legend, `width` x `height`: column x shows the colour
// of the value low + (high - low) * x / (width - 1), low on the left (0 unsigned,
// -end signed), drawn by scaleColour.
cv::Mat renderColorbar(int width, int height, const OverlayOptions& options, bool signedMap);

// Legend text: a scale end as "0.87", "+0.031" / "-0.031" (3 significant digits).
std::string formatScaleValue(double value, bool withSign = false);
// The labels under a colour bar, left to right: {"0", "0.87"} or {"-0.031", "0", "+0.031"}.
std::vector<std::string> legendLabels(const ColourScale& scale);
// "clipped at 99th pct" when the scale is clipped, else "".
std::string clipNote(const ColourScale& scale, const OverlayOptions& options);

}  // namespace mirada
