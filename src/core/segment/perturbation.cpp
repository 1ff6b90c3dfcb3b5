#include "segment/perturbation.hpp"

#include <opencv2/imgproc.hpp>

#include <algorithm>

#include "common/error.hpp"
#include "image/preprocess.hpp"

namespace mirada {

double blurFillSigma(int width, int height) { return 0.1 * std::max(width, height); }

cv::Mat fillImage(const cv::Mat& input8, const cv::Mat& labels, const Baseline& baseline, const InputSpec& spec) {
    if (input8.empty() || (input8.type() != CV_8UC3 && input8.type() != CV_8UC1))
        throw Error("perturbation: expected an 8-bit RGB or grey model input");
    const int c = input8.channels();
    cv::Mat f;
    input8.convertTo(f, CV_32FC(c));
    auto constant = [&](const std::vector<float>& v01, const std::string& what) {
        if (static_cast<int>(v01.size()) != c)
            throw Error("baseline " + what + " has " + std::to_string(v01.size()) + " values but the model input has " +
                        std::to_string(c) + " channel(s); give one value per channel");
        cv::Scalar s;
        for (int k = 0; k < c; ++k) s[k] = 255.0 * v01[k];
        return cv::Mat(f.size(), f.type(), s);
    };
    switch (baseline.kind) {
        case Baseline::Kind::DatasetMean: return constant(spec.mean, "dataset-mean (the model's mean)");
        case Baseline::Kind::Values: return constant(baseline.values, toString(baseline));
        case Baseline::Kind::ImageMean: {
            const cv::Scalar m = cv::mean(f);
            return cv::Mat(f.size(), f.type(), m);
        }
        case Baseline::Kind::Blur: {
            cv::Mat out;
            const double sigma = blurFillSigma(f.cols, f.rows);
            cv::GaussianBlur(f, out, cv::Size(0, 0), sigma, sigma, cv::BORDER_REFLECT101);
            return out;
        }
        case Baseline::Kind::Black: return cv::Mat(f.size(), f.type(), cv::Scalar::all(0));
        case Baseline::Kind::Grey: return cv::Mat(f.size(), f.type(), cv::Scalar::all(128));
        case Baseline::Kind::SegmentMean: {
            if (labels.size() != input8.size() || labels.type() != CV_32S)
                throw Error("perturbation: the label map must be CV_32S with the input's size");
            double maxLabel = -1;
            cv::minMaxLoc(labels, nullptr, &maxLabel);
            const int m = static_cast<int>(maxLabel) + 1;
            std::vector<double> sums(static_cast<size_t>(m) * c, 0.0);
            std::vector<int64_t> counts(m, 0);
            for (int y = 0; y < f.rows; ++y) {
                const int* l = labels.ptr<int>(y);
                const float* p = f.ptr<float>(y);
                for (int x = 0; x < f.cols; ++x) {
                    if (l[x] < 0) continue;
                    counts[l[x]]++;
                    for (int k = 0; k < c; ++k) sums[size_t(l[x]) * c + k] += p[x * c + k];
                }
            }
            cv::Mat out = f.clone();
            for (int y = 0; y < f.rows; ++y) {
                const int* l = labels.ptr<int>(y);
                float* p = out.ptr<float>(y);
                for (int x = 0; x < f.cols; ++x) {
                    if (l[x] < 0) continue;
                    for (int k = 0; k < c; ++k)
                        p[x * c + k] = static_cast<float>(sums[size_t(l[x]) * c + k] / counts[l[x]]);
                }
            }
            return out;
        }
    }
    throw Error("perturbation: unknown baseline");
}

cv::Mat baselineImage8(const cv::Mat& input8, const cv::Mat& labels, const Baseline& baseline, const InputSpec& spec) {
    cv::Mat out;
    fillImage(input8, labels, baseline, spec).convertTo(out, input8.type());  // rounds and saturates
    return out;
}

cv::Mat renderCoalition8(const cv::Mat& input8, const cv::Mat& labels, const std::vector<bool>& keep,
                         const Baseline& baseline, const InputSpec& spec) {
    if (labels.type() != CV_32S || labels.size() != input8.size())
        throw Error("perturbation: the label map must be CV_32S with the input's size");
    const cv::Mat fill = baselineImage8(input8, labels, baseline, spec);
    cv::Mat mask(input8.size(), CV_8U, cv::Scalar(0));
    for (int y = 0; y < labels.rows; ++y) {
        const int* l = labels.ptr<int>(y);
        uchar* m = mask.ptr<uchar>(y);
        for (int x = 0; x < labels.cols; ++x)
            m[x] = (l[x] >= 0 && l[x] < static_cast<int>(keep.size()) && !keep[l[x]]) ? 255 : 0;
    }
    cv::Mat out = input8.clone();
    fill.copyTo(out, mask);
    return out;
}

namespace {
// HWC float image on 0..255 -> normalised [C,H,W] (same arithmetic as normalizeForModel).
torch::Tensor normaliseFloat(const cv::Mat& f255, const InputSpec& spec) {
    cv::Mat f;
    f255.convertTo(f, f255.type(), 1.0 / 255.0);
    const int c = f.channels();
    auto t = torch::from_blob(f.data, {f.rows, f.cols, c}, torch::kFloat32).permute({2, 0, 1}).clone();
    auto mean = torch::tensor(spec.mean).view({c, 1, 1});
    auto std = torch::tensor(spec.std).view({c, 1, 1});
    return ((t - mean) / std).contiguous();
}
}  // namespace

PerturbationRenderer::PerturbationRenderer(const cv::Mat& input8, const cv::Mat& labels, const Baseline& baseline,
                                           const InputSpec& spec, torch::Device device)
    : device_(device), baseline_(baseline) {
    if (input8.empty() || (input8.type() != CV_8UC3 && input8.type() != CV_8UC1))
        throw Error("perturbation: expected an 8-bit RGB or grey model input");
    if (input8.channels() != spec.channels || static_cast<int>(spec.mean.size()) != spec.channels ||
        static_cast<int>(spec.std.size()) != spec.channels)
        throw Error("perturbation: the input has " + std::to_string(input8.channels()) +
                    " channel(s) but the model expects " + std::to_string(spec.channels));
    if (labels.type() != CV_32S || labels.size() != input8.size())
        throw Error("perturbation: the label map must be CV_32S with the input's size (" + std::to_string(input8.cols) +
                    "x" + std::to_string(input8.rows) + ")");
    double lo = 0, hi = 0;
    cv::minMaxLoc(labels, &lo, &hi);
    if (lo < -1) throw Error("perturbation: labels must be -1 (none) or >= 0");
    segments_ = static_cast<int64_t>(hi) + 1;
    channels_ = input8.channels();
    height_ = input8.rows;
    width_ = input8.cols;

    input_ = normalizeForModel(input8, spec)[0].contiguous().to(device);
    fill_ = normaliseFloat(fillImage(input8, labels, baseline, spec), spec).to(device);
    cv::Mat contiguous = labels.isContinuous() ? labels : labels.clone();
    auto idx = torch::from_blob(contiguous.data, {height_ * width_}, torch::kInt32).to(torch::kInt64).clone();
    idx = torch::where(idx < 0, torch::full_like(idx, segments_), idx);  // "none" -> the always-present column
    index_ = idx.to(device);
}

torch::Tensor PerturbationRenderer::render(const torch::Tensor& coalitions) const {
    if (coalitions.dim() != 2 || coalitions.size(1) != segments_)
        throw Error("perturbation: coalitions must be [batch, " + std::to_string(segments_) + "], got " +
                    c10::str(coalitions.sizes()));
    const int64_t b = coalitions.size(0);
    auto present = coalitions.to(device_).ne(0);
    present = torch::cat({present, torch::ones({b, 1}, present.options())}, 1);  // column M: label -1
    auto mask = present.index_select(1, index_).view({b, 1, height_, width_});
    return torch::where(mask, input_.unsqueeze(0), fill_.unsqueeze(0));
}

}  // namespace mirada
