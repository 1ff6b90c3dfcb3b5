#pragma once
// Image (RGB, original resolution) -> model input tensor, and the geometry that
// maps the model's input grid back onto the original image.
#include <opencv2/core.hpp>
#include <torch/torch.h>

#include "image/input_spec.hpp"

namespace mirada {

// Where the model's input window lies in the original image: input pixel
// (u, v) sees original pixel (x0 + u * sx, y0 + v * sy) (top-left corners).
// Letterbox padding shows up as a window larger than the image.
struct InputGeometry {
    double x0 = 0, y0 = 0;  // original-image coordinates of the input's top-left corner
    double sx = 1, sy = 1;  // original pixels per input pixel
    int input_width = 0, input_height = 0;
    int image_width = 0, image_height = 0;
};

InputGeometry inputGeometry(const cv::Size& image, const InputSpec& spec);

// The 8-bit image the model sees (RGB or grey), input_width x input_height.
cv::Mat resizeForModel(const cv::Mat& rgb, const InputSpec& spec);

// [1, C, H, W] float32, scaled to [0,1] then (x - mean) / std. On the CPU.
torch::Tensor preprocess(const cv::Mat& rgb, const InputSpec& spec);
// Already-resized 8-bit input (from resizeForModel) -> normalised tensor [1, C, H, W].
torch::Tensor normalizeForModel(const cv::Mat& resized, const InputSpec& spec);

// A map on the model's input grid (H x W, CV_32F or CV_32S) -> original
// resolution, `outside` where the original pixel is outside the input window.
// Use cv::INTER_NEAREST for label maps and per-superpixel values.
cv::Mat mapToOriginal(const cv::Mat& inputMap, const InputGeometry& g, int interpolation = 1 /*cv::INTER_LINEAR*/,
                      double outside = 0.0);

}  // namespace mirada
