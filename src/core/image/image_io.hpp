#pragma once
// Image input/output for the core. Everything inside Mirada is RGB; the
// conversion to/from OpenCV's BGR happens only here.
//
// Loading (loadImage / decodeImage) always returns an 8-bit, 3-channel RGB
// image (CV_8UC3), whatever was stored:
//   * The bytes are read with std::ifstream on the std::filesystem::path (so
//     non-ASCII paths work) and decoded with cv::imdecode(IMREAD_UNCHANGED).
//   * Before decoding, the header is read (see image_header.hpp): empty files,
//     unknown signatures, zero or oversized declared dimensions
//     (width * height > ImageLoadOptions::max_pixels) and structurally truncated
//     files (PNG without IEND, JPEG without EOI, short BMP/PNM/WebP) are refused.
//   * 16-bit samples become 8-bit as round(value / 257).
//   * Grey and grey+alpha become RGB by replicating the grey value.
//   * Transparency (RGBA, grey+alpha, palette with tRNS; 8- or 16-bit alpha) is
//     composited over ImageLoadOptions::background, which is opaque WHITE
//     (255, 255, 255) by default, in RGB order:
//       out = round((colour * alpha + background * (max - alpha)) / max)
//     computed exactly in integers at the source bit depth.
//   * The EXIF orientation (JPEG APP1, PNG eXIf, WebP EXIF, TIFF IFD0 tag
//     0x0112) is applied, so `rgb` is upright as a photo viewer shows it.
//     OpenCV does not do this for IMREAD_UNCHANGED, except its TIFF decoder,
//     which always orients; so TIFFs are not rotated a second time here.
// Every failure is a mirada::Error whose message names the file, what was
// expected and what to do; OpenCV exceptions are wrapped.
//
// Writing takes RGB (or single-channel) images, converts to BGR, encodes with
// cv::imencode and writes through mirada::writeFileAtomic: on failure the
// destination is untouched and a mirada::Error names the path.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace mirada {

struct ImageLoadOptions {
    std::uint64_t max_pixels = 150'000'000;  // refuse larger images before decoding (width*height)
    cv::Vec3b background{255, 255, 255};     // RGB colour transparent pixels are composited on
};

struct LoadedImage {
    cv::Mat rgb;               // CV_8UC3, RGB order, EXIF orientation applied, alpha composited
    std::string source;        // path or name for messages
    std::string sha256;        // of the file's bytes
    int source_bit_depth = 8;  // 8 or 16
    int source_channels = 3;   // 1, 2, 3 or 4 as stored
    bool had_alpha = false;
    int exif_orientation = 1;  // 1..8 as read from the file (1 when none)
};

LoadedImage loadImage(const std::filesystem::path& file, const ImageLoadOptions& options = {});
LoadedImage decodeImage(const std::vector<std::uint8_t>& bytes, const std::string& name,
                        const ImageLoadOptions& options = {});

// Applies an EXIF orientation (1..8) to an image in place of any type: the
// result is the image as it should be displayed. Values outside 1..8 do nothing.
cv::Mat applyExifOrientation(const cv::Mat& image, int orientation);

// PNG, written atomically. Accepts CV_8UC3 (RGB), CV_8UC1 and CV_16UC1 (e.g.
// 16-bit label maps, stored losslessly).
void writePngAtomic(const std::filesystem::path& file, const cv::Mat& image);

// Format from the extension (case-insensitive): .png .jpg .jpeg .bmp .tif .tiff
// .webp. Accepts CV_8UC3 (RGB) and CV_8UC1 (for .png also CV_16UC1). JPEG and
// WebP are written at quality 95. Unknown extensions throw a mirada::Error that
// lists the supported ones.
void writeImageAtomic(const std::filesystem::path& file, const cv::Mat& rgb);

}  // namespace mirada
