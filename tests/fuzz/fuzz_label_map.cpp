// libFuzzer target: mirada::readLabelMap (src/core/segment/superpixels.cpp) on
// a file holding the input. The reader checks the PNG header itself
// (mirada::readImageHeader, instrumented here too) before OpenCV's libpng
// decoder (not instrumented) sees the bytes.
//
// Bad input must come out as an exception; a map that is read must be CV_32S
// with values -1..65534 (file value - 1), non-empty, at most 150 megapixels,
// and the expected size when one is given (the second read asks for the size
// the first one found, and a different one).
#include <opencv2/core.hpp>

#include <exception>

#include "fuzz_common.hpp"
#include "segment/superpixels.hpp"

namespace {

cv::Mat readChecked(const std::filesystem::path& file, cv::Size expected) {
    cv::Mat labels;
    try {
        labels = mirada::readLabelMap(file, expected);
    } catch (const std::exception&) {
        return {};  // bad input, reported as it should be
    }
    FUZZ_CHECK(!labels.empty() && labels.type() == CV_32SC1, "a non-empty CV_32S map");
    FUZZ_CHECK(static_cast<double>(labels.rows) * labels.cols <= 150e6, "at most 150 megapixels");
    FUZZ_CHECK(expected.empty() || labels.size() == expected, "the expected size");
    double lo = 0, hi = 0;
    cv::minMaxLoc(labels, &lo, &hi);
    FUZZ_CHECK(lo >= -1 && hi <= 65534, "labels -1..65534");
    return labels;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    cv::setNumThreads(1);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto file = mirada_fuzz::writeFile("labels.png", data, size);
    const cv::Mat labels = readChecked(file, {});
    if (!labels.empty()) {
        readChecked(file, labels.size());
        // Must throw: were it to return a map, readChecked's size check would fail.
        readChecked(file, cv::Size(labels.cols + 1, labels.rows));
    }
    return 0;
}
