#pragma once
// Rendering perturbed images: a coalition (one 0/1 per superpixel) keeps the
// superpixels marked 1 and replaces the others with a fill.
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <torch/torch.h>

#include "models/baseline.hpp"
#include "models/model.hpp"

namespace mirada {

// Sigma of the "blur" fill for an image of this size, pixels.
double blurFillSigma(int width, int height);

// The baseline image for `input8` (RGB CV_8UC3 or grey CV_8UC1) as float32 on the
// 0..255 scale (CV_32FC3 / CV_32FC1): what the model sees when everything is
// removed. labels (CV_32S, same size) are used by segment-mean only (pixels with
// label -1 keep their own colour); `spec` gives dataset-mean's colour and the
// channel count a Values baseline must match.
cv::Mat fillImage(const cv::Mat& input8, const cv::Mat& labels, const Baseline& baseline, const InputSpec& spec);

// The same as an 8-bit image (for previews and the CLI's files).
cv::Mat baselineImage8(const cv::Mat& input8, const cv::Mat& labels, const Baseline& baseline, const InputSpec& spec);

// `input8` with the superpixels where keep[label] is false replaced by the
// baseline (8-bit, same type as input8): one coalition as the model sees it.
cv::Mat renderCoalition8(const cv::Mat& input8, const cv::Mat& labels, const std::vector<bool>& keep,
                         const Baseline& baseline, const InputSpec& spec);

// Precomputes, on `device`, the normalised input X [C,H,W], the normalised fill
// F [C,H,W] and the flattened label index, then renders batches of coalitions
// fully vectorised (runs the same on CPU and CUDA).
class PerturbationRenderer {
public:
    // input8: the model-input-sized image (resizeForModel), labels: CV_32S of the
    // same size with values -1..M-1 (M = max label + 1; -1 = never perturbed).
    PerturbationRenderer(const cv::Mat& input8, const cv::Mat& labels, const Baseline& baseline, const InputSpec& spec,
                         torch::Device device);

    // coalitions: [B, M], any dtype, nonzero = superpixel present. Returns
    // [B, C, H, W] float32 on the device: where(mask, X, F), i.e.
    // F + mask * (X - F) for 0/1 masks, computed as a selection so that a present
    // pixel equals X exactly.
    torch::Tensor render(const torch::Tensor& coalitions) const;

    int64_t segments() const { return segments_; }
    const torch::Tensor& input() const { return input_; }  // X [C,H,W]
    const torch::Tensor& fill() const { return fill_; }    // F [C,H,W]
    torch::Device device() const { return device_; }
    const Baseline& baseline() const { return baseline_; }

private:
    torch::Tensor input_, fill_, index_;  // index_: [H*W] int64, -1 mapped to M (always present)
    int64_t segments_ = 0;
    int64_t channels_ = 0, height_ = 0, width_ = 0;
    torch::Device device_;
    Baseline baseline_;
};

}  // namespace mirada
