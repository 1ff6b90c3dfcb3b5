#include "image/overlay.hpp"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

#include "common/error.hpp"

namespace mirada {
namespace {

int opencvColormap(const std::string& name) {
    if (name == "jet") return cv::COLORMAP_JET;
    if (name == "turbo") return cv::COLORMAP_TURBO;
    if (name == "inferno") return cv::COLORMAP_INFERNO;
    if (name == "viridis") return cv::COLORMAP_VIRIDIS;
    if (name == "magma") return cv::COLORMAP_MAGMA;
    if (name == "hot") return cv::COLORMAP_HOT;
    std::string list;
    for (const auto& n : colormapNames()) list += (list.empty() ? "" : ", ") + n;
    throw Error("unknown colormap '" + name + "'; use one of: " + list);
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

// Blue (negative) - white - red (positive), t in [-1, 1].
cv::Vec3f diverging(float t) {
    t = std::clamp(t, -1.0f, 1.0f);
    const cv::Vec3f white(255, 255, 255), red(200, 30, 40), blue(40, 80, 200);
    return t >= 0 ? white * (1 - t) + red * t : white * (1 + t) + blue * (-t);
}

}  // namespace

std::vector<std::string> colormapNames() { return {"jet", "turbo", "inferno", "viridis", "magma", "hot"}; }

bool isSignedMap(const cv::Mat& heatmap) {
    double mn = 0, mx = 0;
    cv::minMaxLoc(heatmap, &mn, &mx);
    return mn < 0 && -mn > 0.01 * std::max(mx, 0.0);
}

cv::Mat renderOverlay(const cv::Mat& rgb, const cv::Mat& heatmap, const OverlayOptions& o) {
    if (rgb.type() != CV_8UC3) throw Error("renderOverlay: expected an 8-bit RGB image");
    if (heatmap.type() != CV_32F || heatmap.size() != rgb.size())
        throw Error("renderOverlay: the heatmap must be float32 with the image's size");
    if (!(o.opacity >= 0 && o.opacity <= 1)) throw Error("opacity must be between 0 and 1, got " + std::to_string(o.opacity));
    if (o.scale != "auto" && o.scale != "positive" && o.scale != "symmetric")
        throw Error("unknown heatmap scale '" + o.scale + "'; use auto, positive or symmetric");
    const cv::Mat lut = sequentialLut(o.colormap);  // validates the name too
    double mn = 0, mx = 0;
    cv::minMaxLoc(heatmap, &mn, &mx);
    const bool symmetric = o.scale == "symmetric" || (o.scale == "auto" && isSignedMap(heatmap));
    cv::Mat out = rgb.clone();
    const float m = static_cast<float>(symmetric ? std::max(std::abs(mn), std::abs(mx)) : mx);
    if (!(m > 0) || !std::isfinite(m)) return out;  // no evidence to show: the image as it is
    for (int y = 0; y < rgb.rows; ++y) {
        const float* h = heatmap.ptr<float>(y);
        const cv::Vec3b* src = rgb.ptr<cv::Vec3b>(y);
        cv::Vec3b* dst = out.ptr<cv::Vec3b>(y);
        for (int x = 0; x < rgb.cols; ++x) {
            const float v = std::isfinite(h[x]) ? h[x] : 0.0f;
            cv::Vec3f colour;
            float a;
            if (symmetric) {
                const float t = v / m;
                colour = diverging(t);
                a = static_cast<float>(o.opacity) * std::min(1.0f, std::abs(t));
            } else {
                const float t = std::clamp(v / m, 0.0f, 1.0f);
                const auto c = lut.at<cv::Vec3b>(0, static_cast<int>(std::lround(t * 255)));
                colour = cv::Vec3f(c[0], c[1], c[2]);
                a = v > 0 ? static_cast<float>(o.opacity) : 0.0f;
            }
            for (int c = 0; c < 3; ++c)
                dst[x][c] = cv::saturate_cast<uchar>((1 - a) * src[x][c] + a * colour[c]);
        }
    }
    return out;
}

cv::Mat renderColorbar(int width, int height, const OverlayOptions& o, bool signedMap) {
    cv::Mat bar(height, width, CV_8UC3);
    const cv::Mat lut = sequentialLut(o.colormap);
    for (int x = 0; x < width; ++x) {
        const float t = width > 1 ? float(x) / (width - 1) : 1.0f;
        cv::Vec3b c;
        if (signedMap) {
            const auto d = diverging(2 * t - 1);
            c = cv::Vec3b(cv::saturate_cast<uchar>(d[0]), cv::saturate_cast<uchar>(d[1]), cv::saturate_cast<uchar>(d[2]));
        } else {
            c = lut.at<cv::Vec3b>(0, static_cast<int>(std::lround(t * 255)));
        }
        for (int y = 0; y < height; ++y) bar.at<cv::Vec3b>(y, x) = c;
    }
    return bar;
}

}  // namespace mirada
