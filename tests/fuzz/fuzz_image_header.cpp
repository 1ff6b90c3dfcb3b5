// libFuzzer target: mirada::readImageHeader and mirada::readExifOrientation
// (src/core/image/image_header.cpp). Both take bytes; libFuzzer hands them a
// heap buffer of exactly `size` bytes, so any read past the end is an ASan
// report. Neither may throw, and the values they return must keep the
// promises of image_header.hpp.
#include <cstdint>
#include <set>
#include <string>

#include "fuzz_common.hpp"
#include "image/image_header.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const std::set<std::string> kFormats{"png", "jpeg", "bmp", "gif", "webp", "tiff", "pnm"};
    const auto header = mirada::readImageHeader(data, size);
    if (header) {
        FUZZ_CHECK(kFormats.count(header->format) == 1, "format is one of the documented names");
        FUZZ_CHECK(header->exif_orientation >= 1 && header->exif_orientation <= 8, "orientation in 1..8");
        FUZZ_CHECK(header->channels >= 0 && header->bit_depth >= 0, "channels and bit depth not negative");
    }
    const int orientation = mirada::readExifOrientation(data, size);
    FUZZ_CHECK(orientation >= 1 && orientation <= 8, "readExifOrientation returns 1..8");
    return 0;
}
