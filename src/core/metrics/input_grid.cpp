#include "metrics/input_grid.hpp"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

#include "common/error.hpp"

namespace mirada {

namespace {
// The whole original pixels [a, b) an input pixel's footprint [lo, lo + step) covers.
void footprint(double lo, double step, int size, int& a, int& b) {
    a = static_cast<int>(std::lround(lo));
    b = static_cast<int>(std::lround(lo + step));
    if (b <= a) {  // narrower than a pixel (upscaled input): the pixel under the centre
        a = static_cast<int>(std::floor(lo + step / 2));
        b = a + 1;
    }
    a = std::clamp(a, 0, size);
    b = std::clamp(b, 0, size);
}
}  // namespace

cv::Mat heatmapToInputGrid(const cv::Mat& heatmap, const InputGeometry& g, float outside, cv::Mat* inside) {
    if (heatmap.type() != CV_32F || heatmap.cols != g.image_width || heatmap.rows != g.image_height)
        throw Error("heatmap of " + std::to_string(heatmap.cols) + "x" + std::to_string(heatmap.rows) + " (type " +
                    std::to_string(heatmap.type()) + ") does not match the image's " + std::to_string(g.image_width) +
                    "x" + std::to_string(g.image_height) +
                    "; the metrics need a float heatmap at the original image's resolution");
    cv::Mat sum;
    cv::integral(heatmap, sum, CV_64F);
    cv::Mat out(g.input_height, g.input_width, CV_32F);
    cv::Mat in(g.input_height, g.input_width, CV_8U);
    std::vector<int> xa(g.input_width), xb(g.input_width);
    for (int u = 0; u < g.input_width; ++u) footprint(g.x0 + u * g.sx, g.sx, g.image_width, xa[u], xb[u]);
    for (int v = 0; v < g.input_height; ++v) {
        int ya, yb;
        footprint(g.y0 + v * g.sy, g.sy, g.image_height, ya, yb);
        for (int u = 0; u < g.input_width; ++u) {
            const int area = (xb[u] - xa[u]) * (yb - ya);
            if (area <= 0) {
                out.at<float>(v, u) = outside;
                in.at<uint8_t>(v, u) = 0;
                continue;
            }
            const double s = sum.at<double>(yb, xb[u]) - sum.at<double>(ya, xb[u]) - sum.at<double>(yb, xa[u]) +
                             sum.at<double>(ya, xa[u]);
            out.at<float>(v, u) = static_cast<float>(s / area);
            in.at<uint8_t>(v, u) = 1;
        }
    }
    if (inside) *inside = in;
    return out;
}

}  // namespace mirada
