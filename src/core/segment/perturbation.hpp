#pragma once
// Rendering perturbed images: a coalition (one 0/1 per superpixel) keeps the
// superpixels marked 1 and replaces the others with a fill.
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <torch/torch.h>

#include "models/model.hpp"

namespace mirada {

// What replaces a "removed" superpixel.
enum class FillMode {
    GlobalMean,   // "global-mean": the input image's mean colour (default: really removes content)
    Blur,         // "blur": Gaussian blur of the input, sigma = 0.1 * max(width, height)
    SegmentMean,  // "segment-mean": each superpixel's own mean colour (LIME's convention)
    Black,        // "black": 0
    Grey,         // "grey": constant 128 (on 0..255)
};

std::string toString(FillMode mode);
FillMode fillModeFromString(const std::string& name);  // throws mirada::Error listing the names
const std::vector<std::string>& fillModeNames();        // in the order above
// One line for settings tables: what each fill does and why segment-mean is not the default.
std::string fillModeHelp();

// Sigma of the "blur" fill for an image of this size, pixels.
double blurFillSigma(int width, int height);

// The fill image for `input8` (RGB CV_8UC3 or grey CV_8UC1) as float32 on the
// 0..255 scale (CV_32FC3 / CV_32FC1). labels (CV_32S, same size) are used by
// segment-mean only; pixels with label -1 keep their own colour.
cv::Mat fillImage(const cv::Mat& input8, const cv::Mat& labels, FillMode mode);

// Precomputes, on `device`, the normalised input X [C,H,W], the normalised fill
// F [C,H,W] and the flattened label index, then renders batches of coalitions
// fully vectorised (runs the same on CPU and CUDA).
class PerturbationRenderer {
public:
    // input8: the model-input-sized image (resizeForModel), labels: CV_32S of the
    // same size with values -1..M-1 (M = max label + 1; -1 = never perturbed).
    PerturbationRenderer(const cv::Mat& input8, const cv::Mat& labels, FillMode mode, const InputSpec& spec,
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
    FillMode mode() const { return mode_; }

private:
    torch::Tensor input_, fill_, index_;  // index_: [H*W] int64, -1 mapped to M (always present)
    int64_t segments_ = 0;
    int64_t channels_ = 0, height_ = 0, width_ = 0;
    torch::Device device_;
    FillMode mode_;
};

}  // namespace mirada
