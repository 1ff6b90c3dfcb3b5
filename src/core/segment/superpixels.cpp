#include "segment/superpixels.hpp"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/ximgproc/slic.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>
#include <vector>

#include "common/error.hpp"
#include "image/image_header.hpp"
#include "image/image_io.hpp"

namespace mirada {

ParamSet superpixelParams() {
    const SuperpixelSettings d;
    return ParamSet(
        "superpixels",
        {
            choiceParam("algorithm", d.algorithm, {"slic", "slico", "mslic", "grid"},
                        "How the image is cut into superpixels: slic (OpenCV SLIC, colour + position), slico "
                        "(SLIC with adaptive compactness, ignores compactness), mslic (manifold SLIC) or grid "
                        "(regular near-square cells)"),
            intParam("count", d.count, 2, kMaxSuperpixels,
                     "Target number of superpixels (SLIC gives roughly this many)", "superpixels"),
            floatParam("compactness", d.compactness, 0.01, 100.0,
                       "SLIC/MSLIC ruler: larger values give squarer, less colour-following superpixels; ignored by "
                       "slico and grid"),
            intParam("iterations", d.iterations, 1, 50, "SLIC iterations", "iterations"),
            floatParam("min_size_percent", d.min_size_percent, 0.0, 100.0,
                       "Superpixels smaller than this percent of the average size are merged into a neighbour "
                       "(SLIC's enforceLabelConnectivity)",
                       "%"),
        });
}

SuperpixelSettings superpixelSettingsFrom(const ParamSet& params) {
    SuperpixelSettings s;
    if (params.specs().empty()) return s;
    if (params.group() != "superpixels")
        throw Error("superpixel settings expected (group 'superpixels'), got group '" + params.group() + "'");
    s.algorithm = params.getChoice("algorithm");
    s.count = static_cast<int>(params.getInt("count"));
    s.compactness = params.getFloat("compactness");
    s.iterations = static_cast<int>(params.getInt("iterations"));
    s.min_size_percent = params.getFloat("min_size_percent");
    return s;
}

namespace {

// Chooses cols x rows close to `count` cells that are close to square:
// cost = |log(cells / count)| + 0.5 |log(cell aspect ratio)|.
cv::Mat gridLabels(int width, int height, int count) {
    int bestCols = 1, bestRows = 1;
    double bestCost = std::numeric_limits<double>::infinity();
    for (int cols = 1; cols <= std::min(width, count); ++cols) {
        const int base = std::max(1, count / cols);
        for (int rows : {base, base + 1}) {
            if (rows > height) continue;
            const double aspect = (double(width) / cols) / (double(height) / rows);
            const double cost = std::abs(std::log(double(cols) * rows / count)) + 0.5 * std::abs(std::log(aspect));
            if (cost < bestCost - 1e-12) {
                bestCost = cost;
                bestCols = cols;
                bestRows = rows;
            }
        }
    }
    const int cols = bestCols, rows = bestRows;
    cv::Mat labels(height, width, CV_32S);
    for (int y = 0; y < height; ++y) {
        const int r = static_cast<int>(int64_t(y) * rows / height);
        int* row = labels.ptr<int>(y);
        for (int x = 0; x < width; ++x) row[x] = r * cols + static_cast<int>(int64_t(x) * cols / width);
    }
    return labels;
}

std::string sizeText(int w, int h) { return std::to_string(w) + "x" + std::to_string(h); }

}  // namespace

cv::Mat computeSuperpixels(const cv::Mat& image8, const SuperpixelSettings& settings) {
    if (image8.empty() || (image8.type() != CV_8UC3 && image8.type() != CV_8UC1))
        throw Error("superpixels: expected the model input as an 8-bit RGB or grey image");
    const int w = image8.cols, h = image8.rows;
    const int64_t pixels = int64_t(w) * h;
    if (settings.count < 2)
        throw Error("superpixels.count = " + std::to_string(settings.count) + " is too small; use at least 2");
    if (settings.count > pixels)
        throw Error("superpixels.count = " + std::to_string(settings.count) + " is more than the " +
                    std::to_string(pixels) + " pixels of the model's " + sizeText(w, h) +
                    " input; choose a count of at most " + std::to_string(pixels));
    if (settings.algorithm == "grid") return relabelContiguous(gridLabels(w, h, settings.count));

    int algorithm = 0;
    if (settings.algorithm == "slic")
        algorithm = cv::ximgproc::SLIC;
    else if (settings.algorithm == "slico")
        algorithm = cv::ximgproc::SLICO;
    else if (settings.algorithm == "mslic")
        algorithm = cv::ximgproc::MSLIC;
    else
        throw Error("superpixels.algorithm = '" + settings.algorithm +
                    "' is not valid; use one of: slic, slico, "
                    "mslic, grid");
    if (settings.iterations < 1) throw Error("superpixels.iterations must be at least 1");

    // SLIC measures colour distance in CIELab.
    cv::Mat lab;
    if (image8.channels() == 3)
        cv::cvtColor(image8, lab, cv::COLOR_RGB2Lab);
    else
        lab = image8;
    // region_size starts at sqrt(W*H / count). Some variants return far more
    // superpixels than that suggests (MSLIC splits large ones), so when the
    // result is off by more than 1.5x the region size is rescaled by
    // sqrt(got / count) and SLIC run again (at most 3 more times); the run
    // closest to the target (in ratio) is kept.
    const int minPercent = static_cast<int>(std::lround(std::clamp(settings.min_size_percent, 0.0, 100.0)));
    auto run = [&](int region) {
        cv::Mat out;
        try {
            auto slic =
                cv::ximgproc::createSuperpixelSLIC(lab, algorithm, region, static_cast<float>(settings.compactness));
            slic->iterate(settings.iterations);
            if (minPercent > 0) slic->enforceLabelConnectivity(minPercent);
            slic->getLabels(out);
        } catch (const cv::Exception& e) {
            throw Error("superpixels: OpenCV SLIC failed on the " + sizeText(w, h) + " input: " + e.what());
        }
        if (out.type() != CV_32S) out.convertTo(out, CV_32S);
        return out;
    };
    const int maxRegion = std::max(2, std::min(w, h));
    double region = std::clamp(std::sqrt(double(pixels) / settings.count), 2.0, double(maxRegion));
    cv::Mat labels;
    double bestError = std::numeric_limits<double>::infinity();
    int lastRegion = -1;
    for (int attempt = 0; attempt < 4; ++attempt) {
        const int r = std::clamp(static_cast<int>(std::lround(region)), 2, maxRegion);
        if (r == lastRegion) break;
        lastRegion = r;
        int got = 0;
        cv::Mat candidate = relabelContiguous(run(r), &got);
        const double error = std::abs(std::log(std::max(got, 1) / double(settings.count)));
        if (error < bestError) {
            bestError = error;
            labels = candidate;
        }
        if (error <= std::log(1.5)) break;
        region *= std::sqrt(std::max(got, 1) / double(settings.count));
    }
    return labels;
}

cv::Mat relabelContiguous(const cv::Mat& labels, int* count) {
    CV_Assert(labels.type() == CV_32S);
    std::vector<int> values;
    values.reserve(static_cast<size_t>(labels.total()));
    for (int y = 0; y < labels.rows; ++y) {
        const int* row = labels.ptr<int>(y);
        for (int x = 0; x < labels.cols; ++x)
            if (row[x] >= 0) values.push_back(row[x]);
    }
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
    cv::Mat out(labels.size(), CV_32S);
    int previous = -1, mapped = -1;  // labels come in runs: remember the last lookup
    for (int y = 0; y < labels.rows; ++y) {
        const int* in = labels.ptr<int>(y);
        int* o = out.ptr<int>(y);
        for (int x = 0; x < labels.cols; ++x) {
            const int v = in[x];
            if (v < 0) {
                o[x] = -1;
                continue;
            }
            if (v != previous) {
                previous = v;
                mapped = static_cast<int>(std::lower_bound(values.begin(), values.end(), v) - values.begin());
            }
            o[x] = mapped;
        }
    }
    if (count) *count = static_cast<int>(values.size());
    return out;
}

int countSegments(const cv::Mat& labels) {
    int m = 0;
    relabelContiguous(labels, &m);
    return m;
}

cv::Mat readLabelMap(const std::filesystem::path& file, cv::Size expected) {
    const std::string q = "'" + file.string() + "'";
    namespace fs = std::filesystem;
    std::error_code ec;
    const auto st = fs::status(file, ec);
    if (ec || !fs::exists(st))
        throw Error("cannot read label map " + q + ": the file does not exist or cannot be opened; check the path");
    if (!fs::is_regular_file(st))
        throw Error("label map " + q + " is not a regular file (" +
                    (fs::is_directory(st) ? "a folder" : "a device, pipe or socket") +
                    "); give the path of a single-channel PNG file");
    const std::uintmax_t fileSize = fs::file_size(file, ec);
    if (ec) throw Error("cannot read the size of label map " + q + ": " + ec.message() + "; check that it is readable");
    if (fileSize > kMaxLabelMapFileBytes)
        throw Error("label map " + q + " is " + std::to_string(fileSize >> 20) + " MiB, more than the " +
                    std::to_string(kMaxLabelMapFileBytes >> 20) +
                    " MiB a label map of the largest image Mirada reads needs; give the image's 8- or 16-bit PNG "
                    "label map");
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Error("cannot read label map " + q + ": the file cannot be opened; check that it is readable");
    std::vector<uchar> bytes(static_cast<std::size_t>(fileSize));
    if (fileSize > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(fileSize)))
        throw Error("cannot read label map " + q + ": reading stopped early; is the file still being written?");
    static const uchar kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (bytes.size() < 8 || !std::equal(kPng, kPng + 8, bytes.begin()))
        throw Error("label map " + q +
                    " is not a PNG file; expected a single-channel 16-bit (or 8-bit) PNG where 0 = "
                    "no segment and v >= 1 = segment v-1");
    // The header decides how much decoding would allocate: check it first.
    const auto header = readImageHeader(bytes.data(), bytes.size());
    if (!header || header->format != "png" || header->width == 0 || header->height == 0)
        throw Error("cannot decode label map " + q +
                    ": the PNG header is damaged or truncated; write the label map again");
    const std::uint64_t maxPixels = ImageLoadOptions{}.max_pixels;
    if (header->width > maxPixels / header->height)
        throw Error("label map " + q + " declares " + std::to_string(header->width) + " x " +
                    std::to_string(header->height) + " pixels, more than the " + std::to_string(maxPixels / 1000000) +
                    " megapixels Mirada reads; a label map must have the image's size");
    if (!expected.empty() && (header->width != static_cast<std::uint64_t>(expected.width) ||
                              header->height != static_cast<std::uint64_t>(expected.height)))
        throw Error("label map " + q + " is " + std::to_string(header->width) + "x" + std::to_string(header->height) +
                    " but the image is " + std::to_string(expected.width) + "x" + std::to_string(expected.height) +
                    "; a label map must have the image's size");
    if (header->channels != 1)
        throw Error("label map " + q + " has " + std::to_string(header->channels) +
                    " channels; expected a single-channel 16-bit (or 8-bit) PNG where 0 = no segment and v >= 1 = "
                    "segment v-1 (colour images are not label maps)");
    cv::Mat raw;
    try {
        raw = cv::imdecode(bytes, cv::IMREAD_UNCHANGED);
    } catch (const cv::Exception& e) {
        throw Error("cannot decode label map " + q + ": " + e.what());
    }
    if (raw.empty()) throw Error("cannot decode label map " + q + ": the PNG is damaged or truncated");
    if (raw.type() != CV_16UC1 && raw.type() != CV_8UC1)
        throw Error("label map " + q + " has " + std::to_string(raw.channels()) + " channel(s) of " +
                    (raw.depth() == CV_16U ? "16" : "8") +
                    " bits; expected a single-channel 16-bit (or 8-bit) PNG where 0 = no segment and v >= 1 = "
                    "segment v-1 (colour images are not label maps)");
    cv::Mat labels;
    raw.convertTo(labels, CV_32S, 1.0, -1.0);
    return labels;
}

void writeLabelMap(const std::filesystem::path& file, const cv::Mat& labels) {
    const std::string q = "'" + file.string() + "'";
    if (labels.empty() || labels.type() != CV_32S)
        throw Error("cannot write label map " + q + ": expected a CV_32S label image");
    double lo = 0, hi = 0;
    cv::minMaxLoc(labels, &lo, &hi);
    if (lo < -1)
        throw Error("cannot write label map " + q + ": labels must be -1 (none) or >= 0, found " +
                    std::to_string(static_cast<int>(lo)));
    if (hi > 65534)
        throw Error("cannot write label map " + q + ": label " + std::to_string(static_cast<int64_t>(hi)) +
                    " does not fit a 16-bit PNG (at most 65535 labels, 0..65534); use fewer segments");
    cv::Mat png;
    labels.convertTo(png, CV_16U, 1.0, 1.0);
    writePngAtomic(file, png);
}

cv::Mat labelsToInputGrid(const cv::Mat& originalLabels, const InputGeometry& g) {
    if (originalLabels.empty() || originalLabels.type() != CV_32S)
        throw Error("the imported label map must be a CV_32S label image");
    if (originalLabels.cols != g.image_width || originalLabels.rows != g.image_height)
        throw Error("the imported label map is " + sizeText(originalLabels.cols, originalLabels.rows) +
                    " but the image is " + sizeText(g.image_width, g.image_height) +
                    "; a label map must have the original image's size");
    cv::Mat out(g.input_height, g.input_width, CV_32S);
    for (int v = 0; v < g.input_height; ++v) {
        const double yc = g.y0 + (v + 0.5) * g.sy;
        const int y = static_cast<int>(std::floor(yc));
        int* o = out.ptr<int>(v);
        for (int u = 0; u < g.input_width; ++u) {
            const double xc = g.x0 + (u + 0.5) * g.sx;
            const int x = static_cast<int>(std::floor(xc));
            if (x < 0 || y < 0 || x >= g.image_width || y >= g.image_height)
                o[u] = -1;
            else
                o[u] = std::max(-1, originalLabels.at<int>(y, x));
        }
    }
    return out;
}

cv::Mat superpixelsForImage(const cv::Mat& rgb, const InputSpec& spec, const SuperpixelSettings& settings) {
    const cv::Mat input8 = resizeForModel(rgb, spec);
    const cv::Mat labels = computeSuperpixels(input8, settings);
    return mapToOriginal(labels, inputGeometry(rgb.size(), spec), cv::INTER_NEAREST, -1.0);
}

cv::Mat drawSegmentBoundaries(const cv::Mat& rgb, const cv::Mat& labels, cv::Vec3b colour) {
    if (rgb.type() != CV_8UC3 || labels.type() != CV_32S || labels.size() != rgb.size())
        throw Error("drawSegmentBoundaries needs an RGB image and a CV_32S label map of the same size");
    cv::Mat out = rgb.clone();
    for (int y = 0; y < rgb.rows; ++y) {
        const int* row = labels.ptr<int>(y);
        const int* below = y + 1 < rgb.rows ? labels.ptr<int>(y + 1) : nullptr;
        auto* px = out.ptr<cv::Vec3b>(y);
        for (int x = 0; x < rgb.cols; ++x) {
            if (row[x] < 0) {
                px[x] = px[x] / 3;  // outside every segment: dimmed
                continue;
            }
            const bool edge = (x + 1 < rgb.cols && row[x + 1] != row[x]) || (below && below[x] != row[x]);
            if (edge) px[x] = colour;
        }
    }
    return out;
}

}  // namespace mirada
