#pragma once
// Image dimensions read from the file header only, without decoding pixels.
// Used to refuse oversized images before any allocation, and to read the EXIF
// orientation tag (which OpenCV does not apply when decoding IMREAD_UNCHANGED).
//
// Known formats (ImageHeader::format):
//   "png"  : IHDR; EXIF orientation from an eXIf chunk
//   "jpeg" : first SOFn segment; EXIF orientation from the APP1 "Exif" segment
//   "bmp"  : BITMAPCOREHEADER / BITMAPINFOHEADER and later
//   "gif"  : logical screen descriptor
//   "webp" : VP8 / VP8L / VP8X; EXIF orientation from the EXIF chunk
//   "tiff" : first IFD (classic and BigTIFF); orientation tag 0x0112 of that IFD
//   "pnm"  : P1..P6 (PBM/PGM/PPM) and P7 (PAM)
// Anything else gives std::nullopt. Truncated or malformed headers also give
// std::nullopt. The parser never reads outside [data, data + size).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace mirada {

struct ImageHeader {
    std::string format;  // see the list above
    std::uint64_t width = 0;
    std::uint64_t height = 0;
    int exif_orientation = 1;  // 1..8; 1 when absent or invalid
    int channels = 0;          // channels as stored when the header says so (0 = unknown)
    int bit_depth = 0;         // bits per channel when the header says so (0 = unknown)
    bool animated = false;     // WebP with the VP8X animation flag (OpenCV 4.6 cannot decode those)
};

std::optional<ImageHeader> readImageHeader(const std::uint8_t* data, std::size_t size);

// Reads the orientation tag (0x0112) of IFD0 from a TIFF structure ("II*\0" or
// "MM\0*" at data[0]); an optional leading "Exif\0\0" is skipped. Returns 1 when
// absent or out of range 1..8.
int readExifOrientation(const std::uint8_t* data, std::size_t size);

}  // namespace mirada
