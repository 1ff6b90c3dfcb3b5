#pragma once
// NumPy .npy files (format version 1.0) for raw heatmaps: float32, C order.
#include <filesystem>
#include <opencv2/core.hpp>
#include <string>

namespace mirada {
std::string encodeNpy(const cv::Mat& map);  // CV_32F (or CV_32S) 2-D
void writeNpyAtomic(const std::filesystem::path& file, const cv::Mat& map);
cv::Mat readNpy(const std::filesystem::path& file);  // '<f4' / '<i4' 2-D, C order
}  // namespace mirada
