#pragma once
// Heatmaps (original image resolution) back onto the model's input grid, where
// the metrics work: the faithfulness curves perturb the model's input pixels,
// and comparing maps there weighs every pixel the model saw equally, whatever
// the original's size.
#include <opencv2/core.hpp>

#include "image/preprocess.hpp"

namespace mirada {

// Each input pixel (u, v) takes the mean of the heatmap over its footprint in
// the original image, [x0 + u*sx, x0 + (u+1)*sx) x [y0 + v*sy, y0 + (v+1)*sy),
// rounded to whole original pixels (at least the one under its centre), so a
// map that mapToOriginal made from an input-grid map comes back unchanged when
// the scale is 1 and as its area average otherwise. Input pixels whose
// footprint lies outside the image (letterbox padding, the replicated border
// of a centre crop of a tiny image) get `outside` and 0 in *inside.
// heatmap: CV_32F, g.image_height x g.image_width. Returns CV_32F,
// g.input_height x g.input_width. Throws mirada::Error on a size mismatch.
cv::Mat heatmapToInputGrid(const cv::Mat& heatmap, const InputGeometry& g, float outside = 0.0f,
                           cv::Mat* inside = nullptr);

}  // namespace mirada
