#include "image/overlay.hpp"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/error.hpp"

namespace mirada {
namespace {

std::string joined(const std::vector<std::string>& names) {
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    return list;
}

int opencvColormap(const std::string& name) {
    if (name == "jet") return cv::COLORMAP_JET;
    if (name == "turbo") return cv::COLORMAP_TURBO;
    if (name == "inferno") return cv::COLORMAP_INFERNO;
    if (name == "viridis") return cv::COLORMAP_VIRIDIS;
    if (name == "magma") return cv::COLORMAP_MAGMA;
    if (name == "hot") return cv::COLORMAP_HOT;
    throw Error("unknown colormap '" + name + "'; use one of: " + joined(colormapNames()));
}

// 256-entry RGB lookup of a sequential colormap.
cv::Mat sequentialLut(const std::string& name) {
    cv::Mat ramp(1, 256, CV_8UC1);
    for (int i = 0; i < 256; ++i) ramp.at<uchar>(0, i) = static_cast<uchar>(i);
    cv::Mat bgr, rgb;
    cv::applyColorMap(ramp, bgr, opencvColormap(name));
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    return rgb;
}

// The colour function. `lut` is the sequential colormap (used when unsigned).
// Signed: blue (-end) - white (0) - red (+end). Unsigned: lut from 0 to end.
cv::Vec3b colourOf(float v, const ColourScale& s, const cv::Mat& lut) {
    if (!std::isfinite(v)) v = 0;
    const float t = s.end > 0 ? v / s.end : 0.0f;
    if (s.signed_map) {
        const float u = std::clamp(t, -1.0f, 1.0f);
        const cv::Vec3f white(255, 255, 255), red(200, 30, 40), blue(40, 80, 200);
        const cv::Vec3f c = u >= 0 ? white * (1 - u) + red * u : white * (1 + u) + blue * (-u);
        return {cv::saturate_cast<uchar>(c[0]), cv::saturate_cast<uchar>(c[1]), cv::saturate_cast<uchar>(c[2])};
    }
    const float u = std::clamp(t, 0.0f, 1.0f);
    return lut.at<cv::Vec3b>(0, static_cast<int>(std::lround(u * 255)));
}

// P-th percentile (linear interpolation between order statistics) of `values`.
float percentile(std::vector<float>& values, double p) {
    if (values.empty()) return 0;
    const double pos = p / 100.0 * double(values.size() - 1);
    const size_t lo = static_cast<size_t>(std::floor(pos));
    const size_t hi = std::min(values.size() - 1, lo + 1);
    std::nth_element(values.begin(), values.begin() + lo, values.end());
    const float a = values[lo];
    if (hi == lo || pos == double(lo)) return a;
    const float b = *std::min_element(values.begin() + lo + 1, values.end());
    return static_cast<float>(a + (pos - double(lo)) * (b - a));
}

// The largest value the scale has to cover: max |v| (signed) or max(0, max v).
float magnitude(const cv::Mat& heatmap, bool signedMap) {
    float m = 0;
    for (int y = 0; y < heatmap.rows; ++y) {
        const float* h = heatmap.ptr<float>(y);
        for (int x = 0; x < heatmap.cols; ++x) {
            const float v = std::isfinite(h[x]) ? h[x] : 0.0f;
            m = std::max(m, signedMap ? std::abs(v) : v);
        }
    }
    return m;
}

void checkMap(const cv::Mat& heatmap) {
    if (!heatmap.empty() && heatmap.type() != CV_32F) throw Error("colour scale: the heatmap must be float32");
}

std::string ordinal(double p) {
    char buf[32];
    if (p != std::floor(p)) {
        std::snprintf(buf, sizeof buf, "%gth", p);
        return buf;
    }
    const long n = std::lround(p);
    const char* suffix = "th";
    if (n % 100 < 11 || n % 100 > 13) {
        if (n % 10 == 1)
            suffix = "st";
        else if (n % 10 == 2)
            suffix = "nd";
        else if (n % 10 == 3)
            suffix = "rd";
    }
    std::snprintf(buf, sizeof buf, "%ld%s", n, suffix);
    return buf;
}

}  // namespace

std::vector<std::string> colormapNames() { return {"jet", "turbo", "inferno", "viridis", "magma", "hot"}; }
std::vector<std::string> rangeNames() { return {"per-map", "shared"}; }

void validateOverlayOptions(const OverlayOptions& o) {
    opencvColormap(o.colormap);
    if (!(o.opacity >= 0 && o.opacity <= 1))
        throw Error("opacity must be between 0 and 1, got " + std::to_string(o.opacity));
    const auto ranges = rangeNames();
    if (std::find(ranges.begin(), ranges.end(), o.range) == ranges.end())
        throw Error("unknown colour range '" + o.range + "'; use one of: " + joined(ranges));
    if (!(o.clip_percentile >= 50 && o.clip_percentile <= 100))
        throw Error("clip percentile must be between 50 and 100, got " + formatScaleValue(o.clip_percentile));
}

ColourScale colourScaleFor(const cv::Mat& heatmap, bool signedMap, const OverlayOptions& o) {
    validateOverlayOptions(o);
    checkMap(heatmap);
    ColourScale s;
    s.signed_map = signedMap;
    if (heatmap.empty()) return s;
    const float max = magnitude(heatmap, signedMap);
    s.end = max;
    if (o.clip_percentile < 100 && max > 0) {
        std::vector<float> values;
        values.reserve(heatmap.total());
        for (int y = 0; y < heatmap.rows; ++y) {
            const float* h = heatmap.ptr<float>(y);
            for (int x = 0; x < heatmap.cols; ++x) {
                const float v = std::isfinite(h[x]) ? h[x] : 0.0f;
                if (signedMap)
                    values.push_back(std::abs(v));
                else if (v >= 0)
                    values.push_back(v);
            }
        }
        const float p = percentile(values, o.clip_percentile);
        if (p > 0 && p < max) {
            s.end = p;
            s.clipped = true;
        }
    }
    return s;
}

std::vector<ColourScale> colourScalesFor(const std::vector<ScaledMap>& maps, const OverlayOptions& o) {
    validateOverlayOptions(o);
    std::vector<ColourScale> scales;
    for (const auto& m : maps) {
        ColourScale s;
        s.signed_map = m.signed_map;
        if (m.heatmap) s = colourScaleFor(*m.heatmap, m.signed_map, o);
        scales.push_back(s);
    }
    if (o.range != "shared") return scales;
    for (const bool kind : {false, true}) {
        float end = 0;
        for (size_t i = 0; i < maps.size(); ++i)
            if (maps[i].signed_map == kind && maps[i].heatmap) end = std::max(end, scales[i].end);
        for (size_t i = 0; i < maps.size(); ++i) {
            if (maps[i].signed_map != kind || !maps[i].heatmap) continue;
            scales[i].end = end;
            scales[i].clipped = end < magnitude(*maps[i].heatmap, kind);  // this map has values that saturate
        }
    }
    return scales;
}

cv::Vec3b scaleColour(float value, const ColourScale& scale, const std::string& colormap) {
    return colourOf(value, scale, sequentialLut(colormap));
}

cv::Mat renderOverlay(const cv::Mat& rgb, const cv::Mat& heatmap, const ColourScale& scale, const OverlayOptions& o) {
    if (rgb.type() != CV_8UC3) throw Error("renderOverlay: expected an 8-bit RGB image");
    if (heatmap.type() != CV_32F || heatmap.size() != rgb.size())
        throw Error("renderOverlay: the heatmap must be float32 with the image's size");
    validateOverlayOptions(o);
    cv::Mat out = rgb.clone();
    if (!(scale.end > 0) || !std::isfinite(scale.end)) return out;  // nothing to colour: the image as it is
    const cv::Mat lut = sequentialLut(o.colormap);
    const float a = static_cast<float>(o.opacity);
    for (int y = 0; y < rgb.rows; ++y) {
        const float* h = heatmap.ptr<float>(y);
        const cv::Vec3b* src = rgb.ptr<cv::Vec3b>(y);
        cv::Vec3b* dst = out.ptr<cv::Vec3b>(y);
        for (int x = 0; x < rgb.cols; ++x) {
            const cv::Vec3b colour = colourOf(h[x], scale, lut);
            for (int c = 0; c < 3; ++c) dst[x][c] = cv::saturate_cast<uchar>((1 - a) * src[x][c] + a * colour[c]);
        }
    }
    return out;
}

cv::Mat renderColorbar(int width, int height, const OverlayOptions& o, bool signedMap) {
    const cv::Mat lut = sequentialLut(o.colormap);
    cv::Mat bar(std::max(1, height), std::max(1, width), CV_8UC3);
    const ColourScale unit{signedMap, 1.0f, false};
    const float low = signedMap ? -1.0f : 0.0f;
    for (int x = 0; x < bar.cols; ++x) {
        const float t = bar.cols > 1 ? float(x) / float(bar.cols - 1) : 1.0f;
        const cv::Vec3b c = colourOf(low + (1.0f - low) * t, unit, lut);
        for (int y = 0; y < bar.rows; ++y) bar.at<cv::Vec3b>(y, x) = c;
    }
    return bar;
}

std::string formatScaleValue(double v, bool withSign) {
    char buf[48];
    if (v == 0) return "0";
    std::snprintf(buf, sizeof buf, withSign ? "%+.3g" : "%.3g", v);
    return buf;
}

std::vector<std::string> legendLabels(const ColourScale& s) {
    if (s.signed_map) return {formatScaleValue(-s.end, s.end != 0), "0", formatScaleValue(s.end, true)};
    return {"0", formatScaleValue(s.end)};
}

std::string clipNote(const ColourScale& s, const OverlayOptions& o) {
    if (!s.clipped) return {};
    return "clipped at " + ordinal(o.clip_percentile) + " pct";
}

}  // namespace mirada

namespace mirada {

void hatchRegions(cv::Mat& rgb, const cv::Mat& mask) {
    if (rgb.empty() || mask.empty()) return;
    CV_Assert(rgb.type() == CV_8UC3 && mask.type() == CV_8U && rgb.size() == mask.size());
    const int spacing = std::max(4, std::min(rgb.rows, rgb.cols) / 40);
    const int width = std::max(1, spacing / 4);
    for (int y = 0; y < rgb.rows; ++y) {
        const uchar* m = mask.ptr<uchar>(y);
        cv::Vec3b* p = rgb.ptr<cv::Vec3b>(y);
        for (int x = 0; x < rgb.cols; ++x) {
            if (!m[x]) continue;
            const int d = (x + y) % spacing;
            if (d < width)
                p[x] = cv::Vec3b(90, 90, 90);
            else if (d < 2 * width)
                p[x] = cv::Vec3b(245, 245, 245);
        }
    }
}

}  // namespace mirada
