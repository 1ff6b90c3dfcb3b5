#include "image/idx_dataset.hpp"

#include <zlib.h>

#include <cstring>
#include <string>

#include "common/error.hpp"
#include "common/file_checks.hpp"

namespace fs = std::filesystem;

namespace mirada {
namespace {

// The most a dataset file may hold once decompressed (the Fashion-MNIST test
// set is 7.8 MB, the full MNIST training set 47 MB): a gzip bomb stops here.
constexpr uint64_t kMaxIdxBytes = uint64_t{1} << 30;  // 1 GiB
// Largest image side an IDX image file may announce.
constexpr uint32_t kMaxIdxSide = 16384;

// gzread reads plain files too (transparently), so one path serves both.
std::vector<unsigned char> readMaybeGz(const fs::path& p) {
    if (!fs::exists(p)) throw Error("dataset file '" + p.string() + "' does not exist");
    requireRegularFile(p, "dataset file");
    gzFile f = gzopen(p.c_str(), "rb");
    if (!f) throw Error("cannot open dataset file '" + p.string() + "'");
    std::vector<unsigned char> out;
    std::vector<unsigned char> buf(1 << 16);
    int n;
    bool tooBig = false;
    while ((n = gzread(f, buf.data(), static_cast<unsigned>(buf.size()))) > 0) {
        if (out.size() + static_cast<uint64_t>(n) > kMaxIdxBytes) {
            tooBig = true;
            break;
        }
        out.insert(out.end(), buf.begin(), buf.begin() + n);
    }
    const bool failed = n < 0;
    gzclose(f);
    if (tooBig)
        throw Error("dataset file '" + p.string() + "' holds more than " + std::to_string(kMaxIdxBytes >> 20) +
                    " MiB of data (decompressed), the most Mirada reads; use a smaller IDX file");
    if (failed) throw Error("dataset file '" + p.string() + "' is damaged (gzip read error)");
    return out;
}

uint32_t be32(const unsigned char* p) {
    return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}

fs::path resolve(const fs::path& file, const char* testSetName) {
    return fs::is_directory(file) ? file / testSetName : file;
}

void checkRange(const fs::path& p, int first, int count, uint32_t available) {
    if (first < 0 || count < 0 || static_cast<uint64_t>(first) + count > available)
        throw Error("dataset file '" + p.string() + "' holds " + std::to_string(available) + " items; items " +
                    std::to_string(first) + " to " + std::to_string(int64_t(first) + count - 1) + " were asked for");
}

}  // namespace

std::vector<cv::Mat> readIdxImages(const fs::path& file, int first, int count) {
    const fs::path p = resolve(file, "t10k-images-idx3-ubyte.gz");
    const auto bytes = readMaybeGz(p);
    if (bytes.size() < 16 || be32(bytes.data()) != 2051)
        throw Error("'" + p.string() +
                    "' is not an IDX image file (magic number 2051, e.g. t10k-images-idx3-ubyte.gz)");
    const uint32_t n = be32(bytes.data() + 4), rows = be32(bytes.data() + 8), cols = be32(bytes.data() + 12);
    if (rows == 0 || cols == 0 || rows > kMaxIdxSide || cols > kMaxIdxSide)
        throw Error("'" + p.string() + "' announces images of " + std::to_string(rows) + " x " + std::to_string(cols) +
                    " pixels (each side must be 1 to " + std::to_string(kMaxIdxSide) +
                    "); it is damaged or not an IDX image file");
    // No product can overflow: pixels < 2^28, and n is compared by division.
    const uint64_t pixels = uint64_t{rows} * cols;
    if (n > (bytes.size() - 16) / pixels)
        throw Error("'" + p.string() + "' is truncated: it announces " + std::to_string(n) + " images of " +
                    std::to_string(rows) + " x " + std::to_string(cols) + " pixels (" + std::to_string(n) + " x " +
                    std::to_string(pixels) + " bytes) but holds " + std::to_string(bytes.size() - 16) +
                    " bytes of pixels; download it again");
    checkRange(p, first, count, n);
    std::vector<cv::Mat> out;
    for (int i = first; i < first + count; ++i) {
        cv::Mat m(static_cast<int>(rows), static_cast<int>(cols), CV_8UC1);
        std::memcpy(m.data, bytes.data() + 16 + size_t(i) * pixels, size_t(pixels));
        out.push_back(m);
    }
    return out;
}

std::vector<int> readIdxLabels(const fs::path& file, int first, int count) {
    const fs::path p = resolve(file, "t10k-labels-idx1-ubyte.gz");
    const auto bytes = readMaybeGz(p);
    if (bytes.size() < 8 || be32(bytes.data()) != 2049)
        throw Error("'" + p.string() +
                    "' is not an IDX label file (magic number 2049, e.g. t10k-labels-idx1-ubyte.gz)");
    const uint32_t n = be32(bytes.data() + 4);
    if (bytes.size() < 8 + uint64_t(n)) throw Error("'" + p.string() + "' is truncated");
    checkRange(p, first, count, n);
    std::vector<int> out;
    for (int i = first; i < first + count; ++i) out.push_back(bytes[8 + i]);
    return out;
}

}  // namespace mirada
