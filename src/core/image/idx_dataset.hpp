#pragma once
// Images from an IDX file (the MNIST / Fashion-MNIST format, optionally
// gzip-compressed), e.g. Debian's dataset-fashion-mnist under
// /usr/share/datasets/fashion-mnist. Used for evaluations over a test set.
#include <opencv2/core.hpp>

#include <filesystem>
#include <vector>

namespace mirada {

// `count` images from index `first` of an idx3-ubyte file (.gz or plain):
// CV_8UC1, rows x cols as stored. `file` may also be a folder holding
// t10k-images-idx3-ubyte.gz (the test set). Throws mirada::Error naming the
// file when it is missing, not IDX images, or has fewer than first + count images.
std::vector<cv::Mat> readIdxImages(const std::filesystem::path& file, int first, int count);

// Labels (idx1-ubyte) in the same way; a folder means t10k-labels-idx1-ubyte.gz.
std::vector<int> readIdxLabels(const std::filesystem::path& file, int first, int count);

}  // namespace mirada
