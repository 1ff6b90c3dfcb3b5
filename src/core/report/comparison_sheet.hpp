#pragma once
// The comparison sheet: the original image plus one titled tile per method
// (overlay, method, target, time), in one PNG for reports.
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "explain/explainer.hpp"
#include "image/overlay.hpp"

namespace mirada {

struct SheetOptions {
    int tile_height = 256;  // pixels; tiny images (28x28) are enlarged without smoothing
    int columns = 0;        // 0 = all tiles in one row up to 6, then rows of 4
};

// The colour scale of each explanation (same order), from its kind
// (Explanation::signed_map) and the options, shared per kind when
// options.range is "shared". The sheet, the overlay PNGs and the GUI use this.
std::vector<ColourScale> colourScalesFor(const std::vector<const Explanation*>& explanations,
                                         const OverlayOptions& options);
std::vector<ColourScale> colourScalesFor(const std::vector<Explanation>& explanations, const OverlayOptions& options);

// Extra text lines per method (e.g. metrics), same order as `explanations`; may be empty.
// Each method tile carries its legend: the colour bar with the raw values at its ends.
cv::Mat renderComparisonSheet(const cv::Mat& originalRgb, const std::string& imageTitle,
                              const std::vector<Explanation>& explanations, const OverlayOptions& overlay,
                              const std::vector<std::vector<std::string>>& extraLines = {},
                              const SheetOptions& options = {});

// One line summary of a method's key numbers ("R2 0.83", "f(x) 0.91  base 0.10  sum ok").
std::vector<std::string> keyNumbers(const Explanation& e);

}  // namespace mirada
