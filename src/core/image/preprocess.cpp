#include "image/preprocess.hpp"

#include <opencv2/imgproc.hpp>

#include <cmath>

#include "common/error.hpp"

namespace mirada {

InputGeometry inputGeometry(const cv::Size& image, const InputSpec& spec) {
    InputGeometry g;
    g.input_width = spec.width;
    g.input_height = spec.height;
    g.image_width = image.width;
    g.image_height = image.height;
    const double w = image.width, h = image.height;
    switch (spec.resize) {
        case InputSpec::Resize::Stretch:
            g.sx = w / spec.width;
            g.sy = h / spec.height;
            break;
        case InputSpec::Resize::CenterCrop: {
            const double scale = spec.resize_shorter / std::min(w, h);  // resized = original * scale
            const double rw = std::round(w * scale), rh = std::round(h * scale);
            g.sx = w / rw;
            g.sy = h / rh;
            const double offx = std::round((rw - spec.width) / 2.0), offy = std::round((rh - spec.height) / 2.0);
            g.x0 = offx * g.sx;
            g.y0 = offy * g.sy;
            break;
        }
        case InputSpec::Resize::Letterbox: {
            const double scale = std::min(spec.width / w, spec.height / h);
            const double rw = std::max(1.0, std::round(w * scale)), rh = std::max(1.0, std::round(h * scale));
            g.sx = w / rw;
            g.sy = h / rh;
            const double padx = std::floor((spec.width - rw) / 2.0), pady = std::floor((spec.height - rh) / 2.0);
            g.x0 = -padx * g.sx;
            g.y0 = -pady * g.sy;
            break;
        }
    }
    return g;
}

cv::Mat resizeForModel(const cv::Mat& rgb, const InputSpec& spec) {
    if (rgb.empty() || rgb.type() != CV_8UC3) throw Error("preprocess: expected an 8-bit RGB image");
    cv::Mat src = rgb;
    if (spec.channels == 1) cv::cvtColor(rgb, src, cv::COLOR_RGB2GRAY);
    const int w = rgb.cols, h = rgb.rows;
    auto interp = [](double scale) { return scale < 1.0 ? cv::INTER_AREA : cv::INTER_LINEAR; };
    cv::Mat out;
    switch (spec.resize) {
        case InputSpec::Resize::Stretch:
            cv::resize(src, out, cv::Size(spec.width, spec.height), 0, 0,
                       interp(std::min(double(spec.width) / w, double(spec.height) / h)));
            break;
        case InputSpec::Resize::CenterCrop: {
            const double scale = spec.resize_shorter / double(std::min(w, h));
            const int rw = static_cast<int>(std::round(w * scale)), rh = static_cast<int>(std::round(h * scale));
            cv::Mat resized;
            cv::resize(src, resized, cv::Size(rw, rh), 0, 0, interp(scale));
            const int offx = static_cast<int>(std::round((rw - spec.width) / 2.0));
            const int offy = static_cast<int>(std::round((rh - spec.height) / 2.0));
            // When the resized image is smaller than the crop (tiny images), pad by replication.
            cv::Mat padded = resized;
            int px = std::max(0, -offx), py = std::max(0, -offy);
            if (px || py || rw < spec.width || rh < spec.height) {
                cv::copyMakeBorder(resized, padded, py, std::max(0, spec.height - rh - py), px,
                                   std::max(0, spec.width - rw - px), cv::BORDER_REPLICATE);
            }
            out = padded(cv::Rect(std::max(0, offx), std::max(0, offy), spec.width, spec.height)).clone();
            break;
        }
        case InputSpec::Resize::Letterbox: {
            const double scale = std::min(double(spec.width) / w, double(spec.height) / h);
            const int rw = std::max(1, static_cast<int>(std::round(w * scale)));
            const int rh = std::max(1, static_cast<int>(std::round(h * scale)));
            cv::Mat resized;
            cv::resize(src, resized, cv::Size(rw, rh), 0, 0, interp(scale));
            cv::Scalar fill;
            for (int c = 0; c < spec.channels; ++c) fill[c] = std::round(spec.mean[c] * 255.0);
            const int padx = (spec.width - rw) / 2, pady = (spec.height - rh) / 2;
            cv::copyMakeBorder(resized, out, pady, spec.height - rh - pady, padx, spec.width - rw - padx,
                               cv::BORDER_CONSTANT, fill);
            break;
        }
    }
    return out;
}

torch::Tensor normalizeForModel(const cv::Mat& resized, const InputSpec& spec) {
    cv::Mat f;
    resized.convertTo(f, CV_32F, 1.0 / 255.0);
    const int c = spec.channels;
    auto t = torch::from_blob(f.data, {f.rows, f.cols, c}, torch::kFloat32).permute({2, 0, 1}).clone();
    auto mean = torch::tensor(spec.mean).view({c, 1, 1});
    auto std = torch::tensor(spec.std).view({c, 1, 1});
    return ((t - mean) / std).unsqueeze(0).contiguous();
}

torch::Tensor preprocess(const cv::Mat& rgb, const InputSpec& spec) {
    return normalizeForModel(resizeForModel(rgb, spec), spec);
}

cv::Mat mapToOriginal(const cv::Mat& inputMap, const InputGeometry& g, int interpolation, double outside) {
    CV_Assert(inputMap.type() == CV_32F || inputMap.type() == CV_32S);
    if (inputMap.type() == CV_32S) {
        // Labels: warp as float (exact below 2^24) with nearest neighbour.
        cv::Mat f, back;
        inputMap.convertTo(f, CV_32F);
        mapToOriginal(f, g, cv::INTER_NEAREST, outside).convertTo(back, CV_32S);
        return back;
    }
    cv::Mat src = inputMap;
    if (src.cols != g.input_width || src.rows != g.input_height)
        cv::resize(inputMap, src, cv::Size(g.input_width, g.input_height), 0, 0, interpolation);
    // original (x, y) -> input (u, v) = ((x + 0.5 - x0) / sx - 0.5, ...)
    cv::Mat M =
        (cv::Mat_<double>(2, 3) << 1.0 / g.sx, 0, (0.5 - g.x0) / g.sx - 0.5, 0, 1.0 / g.sy, (0.5 - g.y0) / g.sy - 0.5);
    cv::Mat out;
    cv::warpAffine(src, out, M, cv::Size(g.image_width, g.image_height), interpolation | cv::WARP_INVERSE_MAP,
                   cv::BORDER_CONSTANT, cv::Scalar(outside));
    return out;
}

}  // namespace mirada
