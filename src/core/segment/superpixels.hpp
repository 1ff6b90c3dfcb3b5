#pragma once
// Superpixels on the model's input grid (OpenCV ximgproc SLIC / SLICO / MSLIC,
// or a regular grid) and label-map import/export.
//
// A label map is CV_32S, one label per pixel. Computed maps use 0..M-1, every
// label used. -1 means "no segment": such pixels belong to no feature of a
// surrogate explanation and are never perturbed (they always show the image).
//
// File convention (readLabelMap / writeLabelMap): a single-channel PNG, 16-bit
// (or 8-bit when read), value 0 = no segment, value v >= 1 = segment v - 1.
#include <cstdint>
#include <filesystem>
#include <string>

#include <opencv2/core.hpp>

#include "common/settings.hpp"
#include "image/preprocess.hpp"

namespace mirada {

// The most superpixels (segments) an explanation uses: superpixels.count's
// maximum, and the most labels an imported label map may have inside the
// model's view (LIME's and KernelSHAP's solves grow with its square).
constexpr int kMaxSuperpixels = 2000;

// The largest label-map file readLabelMap reads (a 150-megapixel 16-bit PNG
// stored without compression is about 300 MB).
constexpr std::uintmax_t kMaxLabelMapFileBytes = std::uintmax_t{512} << 20;

// Table: superpixelParams() (group "superpixels").
struct SuperpixelSettings {
    std::string algorithm = "slic";  // slic | slico | mslic | grid
    int count = 50;                  // target number of superpixels, 2..2000
    double compactness = 10.0;       // SLIC/MSLIC ruler, 0.01..100 (larger = squarer); ignored by slico and grid
    int iterations = 10;             // SLIC iterations, 1..50
    double min_size_percent = 25.0;  // 0..100: segments smaller than this percent of the average superpixel
                                     // are merged into a neighbour (enforceLabelConnectivity)
};

// Settings table shared by every superpixel method (group "superpixels").
ParamSet superpixelParams();
// Reads the values of a "superpixels" ParamSet (an empty ParamSet gives the defaults).
SuperpixelSettings superpixelSettingsFrom(const ParamSet& params);

// image8: the model-input-sized image, RGB CV_8UC3 or grey CV_8UC1.
// Returns CV_32S labels 0..M-1, contiguous, every label used.
// Throws mirada::Error when count exceeds the number of pixels or the image is unusable.
cv::Mat computeSuperpixels(const cv::Mat& image8, const SuperpixelSettings& settings);

// The superpixels an explanation would use for `rgb` (original resolution) and
// a model with input `spec`: computed on the model's input grid, exactly as LIME
// and KernelSHAP do, then mapped back to the original resolution (nearest;
// -1 outside the model's view). For previews and reports.
cv::Mat superpixelsForImage(const cv::Mat& rgb, const InputSpec& spec, const SuperpixelSettings& settings);

// RGB copy of `rgb` with the borders between different labels drawn in `colour`
// (RGB), one pixel wide, and pixels labelled -1 dimmed. Same size as `rgb`.
cv::Mat drawSegmentBoundaries(const cv::Mat& rgb, const cv::Mat& labels, cv::Vec3b colour = {255, 255, 0});

// Labels >= 0 renumbered 0..M-1 in increasing order of their old value; -1 stays -1.
// *count (optional) receives M.
cv::Mat relabelContiguous(const cv::Mat& labels, int* count = nullptr);

// Number of distinct labels >= 0.
int countSegments(const cv::Mat& labels);

// 16-bit or 8-bit single-channel PNG -> CV_32S (value - 1, so 0 becomes -1).
// Throws mirada::Error naming the file for anything else. Before decoding, the
// PNG header is checked: at most 150 megapixels (the image limit), one channel,
// and, when `expected` is not empty, exactly that size (the image's); files
// that are not regular files (devices, pipes, folders) or are larger than
// kMaxLabelMapFileBytes are refused without reading them.
cv::Mat readLabelMap(const std::filesystem::path& file, cv::Size expected = {});

// CV_32S labels (-1 = none, 0..65534) -> 16-bit PNG with value label + 1, written atomically.
void writeLabelMap(const std::filesystem::path& file, const cv::Mat& labels);

// An imported label map at the ORIGINAL image's resolution -> the model's input
// grid (nearest: each input pixel takes the label of the original pixel under
// its centre). Input pixels that fall outside the original image (letterbox
// padding, padded tiny images) get -1: they belong to no segment and are never
// perturbed (the padding is not part of the photo, so it is not a feature).
// Labels keep their values (call relabelContiguous to renumber).
// Throws mirada::Error stating both sizes when the map is not the image's size.
cv::Mat labelsToInputGrid(const cv::Mat& originalLabels, const InputGeometry& geometry);

}  // namespace mirada
