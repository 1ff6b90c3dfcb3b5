#include "report/comparison_sheet.hpp"

#include "explain/baseline_setting.hpp"
#include "explain/surrogate/lime.hpp"
#include "explain/surrogate/uncertainty.hpp"
#include "metrics/metrics_summary.hpp"

#include <opencv2/imgproc.hpp>

#include <cmath>
#include <cstdio>

namespace mirada {
namespace {

cv::Mat fitTile(const cv::Mat& rgb, int height) {
    const double scale = double(height) / rgb.rows;
    const int width = std::max(1, static_cast<int>(std::lround(rgb.cols * scale)));
    cv::Mat out;
    cv::resize(rgb, out, cv::Size(std::min(width, height * 2), height), 0, 0,
               scale > 2 ? cv::INTER_NEAREST : cv::INTER_AREA);
    return out;
}

std::string fmt(const char* f, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

}  // namespace

std::vector<std::string> keyNumbers(const Explanation& e) {
    std::vector<std::string> lines;
    const auto& n = e.numbers;
    if (n.contains("r2")) lines.push_back("weighted R2 " + fmt("%.3f", n["r2"].get<double>()));
    for (const auto& l : stabilityLines(e)) lines.push_back(l);
    if (n.contains("fx") && n.contains("base_value")) {
        lines.push_back("f(x) " + fmt("%.3f", n["fx"].get<double>()) + "  base " +
                        fmt("%.3f", n["base_value"].get<double>()));
        if (n.contains("sum_check")) lines.push_back("sum check " + fmt("%.1e", n["sum_check"].get<double>()));
    }
    if (n.contains("completeness_error_relative"))
        lines.push_back("completeness error " + fmt("%.2g", 100.0 * n["completeness_error_relative"].get<double>()) +
                        "%");
    for (const auto& f : e.flags) {
        if (f == kFlagNoPositiveEvidence) lines.push_back("no positive evidence");
        if (f == kFlagBaselinePredictsTarget)
            lines.push_back("WARNING: baseline alone p=" + fmt("%.2f", n.value("baseline_probability", 0.0)) +
                            ", try another");
        if (f == kFlagLowFit) lines.push_back("WARNING: poor linear fit, read with care");
    }
    if (e.target_probability < kLowTargetProbability)
        lines.push_back("caution: target p=" + fmt("%.3g", e.target_probability));
    return lines;
}

std::vector<ColourScale> colourScalesFor(const std::vector<const Explanation*>& explanations,
                                         const OverlayOptions& options) {
    std::vector<ScaledMap> maps;
    for (const auto* e : explanations) maps.push_back({e ? &e->heatmap : nullptr, e ? e->signed_map : false});
    return colourScalesFor(maps, options);
}

std::vector<ColourScale> colourScalesFor(const std::vector<Explanation>& explanations, const OverlayOptions& options) {
    std::vector<const Explanation*> ptrs;
    for (const auto& e : explanations) ptrs.push_back(&e);
    return colourScalesFor(ptrs, options);
}

cv::Mat renderComparisonSheet(const cv::Mat& originalRgb, const std::string& imageTitle,
                              const std::vector<Explanation>& explanations, const OverlayOptions& overlay,
                              const std::vector<std::vector<std::string>>& extraLines, const SheetOptions& options) {
    struct Tile {
        cv::Mat image;
        std::vector<std::string> text;
        bool legend = false;
        ColourScale scale;
    };
    const auto scales = colourScalesFor(explanations, overlay);
    std::vector<Tile> tiles;
    tiles.push_back({fitTile(originalRgb, options.tile_height),
                     {imageTitle, std::to_string(originalRgb.cols) + " x " + std::to_string(originalRgb.rows) + " px"},
                     false,
                     ColourScale{}});
    bool anyClipped = false;
    for (size_t i = 0; i < explanations.size(); ++i) {
        const auto& e = explanations[i];
        Tile t;
        t.image = fitTile(renderOverlay(originalRgb, e.heatmap, scales[i], overlay), options.tile_height);
        const cv::Mat unsure = uncertainSegmentsMask(e);  // superpixels whose sign the sample does not establish
        if (!unsure.empty()) {
            cv::Mat fitted;
            cv::resize(unsure, fitted, t.image.size(), 0, 0, cv::INTER_NEAREST);
            hatchRegions(t.image, fitted);
        }
        t.legend = true;
        t.scale = scales[i];
        anyClipped = anyClipped || scales[i].clipped;
        t.text.push_back(e.method_title + "  (" + fmt("%.2f s", e.seconds) + ")");
        t.text.push_back("target " + std::to_string(e.target_index) + " " + e.target_label + " " +
                         fmt("p=%.3f", e.target_probability));
        for (const auto& l : keyNumbers(e)) t.text.push_back(l);
        if (i < extraLines.size())
            for (const auto& l : extraLines[i]) t.text.push_back(l);
        tiles.push_back(std::move(t));
    }
    const int n = static_cast<int>(tiles.size());
    const int cols = options.columns > 0 ? options.columns : (n <= 6 ? n : 4);
    const int rows = (n + cols - 1) / cols;
    size_t maxLines = 0;
    int tileW = 0;
    for (const auto& t : tiles) {
        maxLines = std::max(maxLines, t.text.size());
        tileW = std::max(tileW, t.image.cols);
    }
    const int lineH = 18, pad = 10;
    const int textH = static_cast<int>(maxLines) * lineH + 6;
    // Legend under each method tile: colour bar, then its raw end values, then the clip note.
    const int barH = 10, legendH = 6 + barH + 16 + (anyClipped ? 16 : 0);
    const int cellW = std::max(tileW, 220) + pad, cellH = options.tile_height + textH + legendH + pad;
    cv::Mat sheet(rows * cellH + pad, cols * cellW + pad, CV_8UC3, cv::Scalar(255, 255, 255));
    const auto put = [&](const std::string& s, int x, int y, double size) {
        cv::putText(sheet, s, cv::Point(x, y), cv::FONT_HERSHEY_SIMPLEX, size, cv::Scalar(20, 20, 20), 1, cv::LINE_AA);
    };
    const auto width = [](const std::string& s, double size) {
        return cv::getTextSize(s, cv::FONT_HERSHEY_SIMPLEX, size, 1, nullptr).width;
    };
    for (int i = 0; i < n; ++i) {
        const int x0 = pad + (i % cols) * cellW, y0 = pad + (i / cols) * cellH;
        for (size_t l = 0; l < tiles[i].text.size(); ++l) {
            std::string s = tiles[i].text[l];
            // Keep the text inside the cell.
            while (s.size() > 4 && width(s, 0.45) > cellW - pad) s = s.substr(0, s.size() - 4) + "...";
            put(s, x0, y0 + 14 + static_cast<int>(l) * lineH, l == 0 ? 0.5 : 0.45);
        }
        const Tile& t = tiles[i];
        t.image.copyTo(sheet(cv::Rect(x0, y0 + textH, t.image.cols, t.image.rows)));
        if (!t.legend) continue;
        const int by = y0 + textH + options.tile_height + 6;
        const int bw = std::max(t.image.cols, 120);
        const double small = 0.4;
        if (!(t.scale.end > 0)) {
            put("no colour: scale end is 0", x0, by + 12, small);
            continue;
        }
        renderColorbar(bw, barH, overlay, t.scale.signed_map).copyTo(sheet(cv::Rect(x0, by, bw, barH)));
        cv::rectangle(sheet, cv::Rect(x0 - 1, by - 1, bw + 2, barH + 2), cv::Scalar(150, 150, 150), 1);
        const auto labels = legendLabels(t.scale);
        const int ly = by + barH + 14;
        put(labels.front(), x0, ly, small);
        put(labels.back(), x0 + bw - width(labels.back(), small), ly, small);
        if (labels.size() == 3) put(labels[1], x0 + (bw - width(labels[1], small)) / 2, ly, small);
        const std::string note = clipNote(t.scale, overlay);
        if (!note.empty()) put(note, x0, ly + 16, small);
    }
    return sheet;
}

}  // namespace mirada
