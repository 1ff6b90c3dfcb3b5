// libFuzzer target: mirada::readIdxImages and mirada::readIdxLabels
// (src/core/image/idx_dataset.cpp) on a file holding the input (plain IDX, or
// gzip-compressed: zlib's gzread reads both, and zlib is not instrumented).
//
// Each input is read as images and as labels, first item 0 count 1, then with a
// (first, count) pair picked by the input's last byte, among them negative and
// huge ones. Bad input and impossible ranges must come out as exceptions; what
// is read must have the count and sizes asked for.
#include <opencv2/core.hpp>

#include <climits>
#include <exception>
#include <utility>

#include "fuzz_common.hpp"
#include "image/idx_dataset.hpp"

namespace {

void readBoth(const std::filesystem::path& file, int first, int count) {
    try {
        const auto images = mirada::readIdxImages(file, first, count);
        FUZZ_CHECK(static_cast<int>(images.size()) == count, "as many images as asked for");
        for (const auto& m : images) {
            FUZZ_CHECK(m.type() == CV_8UC1 && m.rows >= 1 && m.cols >= 1, "8-bit grey images");
            FUZZ_CHECK(m.rows == images.front().rows && m.cols == images.front().cols, "one image size");
        }
    } catch (const std::exception&) {
    }
    try {
        const auto labels = mirada::readIdxLabels(file, first, count);
        FUZZ_CHECK(static_cast<int>(labels.size()) == count, "as many labels as asked for");
        for (int l : labels) FUZZ_CHECK(l >= 0 && l <= 255, "labels are bytes");
    } catch (const std::exception&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    cv::setNumThreads(1);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const std::pair<int, int> kRanges[] = {{0, 0},  {1, 2},       {2, 3},       {-1, 1},
                                                  {0, -1}, {INT_MAX, 1}, {1, INT_MAX}, {INT_MIN, INT_MAX}};
    const auto file = mirada_fuzz::writeFile("data-idx-ubyte", data, size);
    readBoth(file, 0, 1);
    if (size > 0) {
        const auto& [first, count] = kRanges[data[size - 1] % (sizeof kRanges / sizeof kRanges[0])];
        readBoth(file, first, count);
    }
    return 0;
}
