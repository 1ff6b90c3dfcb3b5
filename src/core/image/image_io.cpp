#include "image/image_io.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <new>
#include <optional>
#include <string_view>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/file_checks.hpp"
#include "common/sha256.hpp"
#include "image/image_header.hpp"

namespace mirada {
namespace {

constexpr const char* kReadableFormats = "PNG, JPEG, BMP, TIFF, WebP, PNM...";

std::string quoted(const std::string& name) { return "'" + name + "'"; }

std::string matTypeName(const cv::Mat& m) {
    static const char* depths[] = {"8U", "8S", "16U", "16S", "32S", "32F", "64F", "16F"};
    const int d = m.depth();
    return std::string("CV_") + (d >= 0 && d < 8 ? depths[d] : "?") + "C" + std::to_string(m.channels());
}

// "3.6 gigapixels", "150 megapixels", "4000 pixels".
std::string formatPixels(long double n) {
    auto one_decimal = [](long double v) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.1Lf", v);
        std::string s = buf;
        if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
        return s;
    };
    if (n >= 1e9L) return one_decimal(n / 1e9L) + " gigapixels";
    if (n >= 1e6L) return one_decimal(n / 1e6L) + " megapixels";
    return one_decimal(n) + " pixels";
}

bool startsWith(const std::uint8_t* d, std::size_t size, std::string_view sig, std::size_t at = 0) {
    return at <= size && sig.size() <= size - at && std::memcmp(d + at, sig.data(), sig.size()) == 0;
}

// Format from the signature alone (for formats readImageHeader knows); "" when none.
std::string sniffFormat(const std::uint8_t* d, std::size_t n) {
    if (startsWith(d, n, std::string_view("\x89PNG\r\n\x1a\n", 8))) return "png";
    if (startsWith(d, n, std::string_view("\xFF\xD8\xFF", 3))) return "jpeg";
    if (startsWith(d, n, "GIF87a") || startsWith(d, n, "GIF89a")) return "gif";
    if (startsWith(d, n, "RIFF") && startsWith(d, n, "WEBP", 8)) return "webp";
    if (startsWith(d, n, std::string_view("II*\0", 4)) || startsWith(d, n, std::string_view("MM\0*", 4)) ||
        startsWith(d, n, std::string_view("II+\0", 4)) || startsWith(d, n, std::string_view("MM\0+", 4)))
        return "tiff";
    if (startsWith(d, n, "BM") && n >= 14) return "bmp";
    if (n >= 3 && d[0] == 'P' && d[1] >= '1' && d[1] <= '7' && std::isspace(d[2])) return "pnm";
    return "";
}

// Formats recognised only to say clearly that they are not supported.
std::string unsupportedFormatName(const std::uint8_t* d, std::size_t n) {
    if (startsWith(d, n, std::string_view("\0\0\0\x0CjP  \r\n\x87\n", 12)) ||
        startsWith(d, n, std::string_view("\xFF\x4F\xFF\x51", 4)))
        return "JPEG 2000";
    if (startsWith(d, n, std::string_view("\x76\x2F\x31\x01", 4))) return "OpenEXR";
    if (startsWith(d, n, "#?RADIANCE") || startsWith(d, n, "#?RGBE")) return "Radiance HDR";
    if (startsWith(d, n, "PF\n") || startsWith(d, n, "Pf\n")) return "PFM (floating-point)";
    if (startsWith(d, n, "ftyp", 4)) {
        if (startsWith(d, n, "avif", 8) || startsWith(d, n, "avis", 8)) return "AVIF";
        if (startsWith(d, n, "heic", 8) || startsWith(d, n, "heix", 8) || startsWith(d, n, "mif1", 8) ||
            startsWith(d, n, "msf1", 8))
            return "HEIF/HEIC";
    }
    if (startsWith(d, n, std::string_view("\x59\xA6\x6A\x95", 4))) return "Sun raster";
    if (startsWith(d, n, "8BPS")) return "Photoshop (PSD)";
    if (startsWith(d, n, "%PDF")) return "PDF document";
    return "";
}

std::string upper(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

// PNG: every chunk must fit in the file and an IEND chunk must exist.
std::optional<std::string> pngProblem(const std::uint8_t* d, std::size_t n) {
    std::size_t pos = 8;
    while (true) {
        if (pos == n) return std::string("the file ends before the IEND chunk");
        if (n - pos < 12) return std::string("the file ends in the middle of a chunk");
        const std::uint64_t len = (std::uint64_t(d[pos]) << 24) | (std::uint64_t(d[pos + 1]) << 16) |
                                  (std::uint64_t(d[pos + 2]) << 8) | d[pos + 3];
        if (len > 0x7FFFFFFFu) return std::string("a chunk declares an impossible length");
        if (len > n - pos - 12) return std::string("the file ends in the middle of a chunk");
        if (std::memcmp(d + pos + 4, "IEND", 4) == 0) return std::nullopt;
        pos += 12 + static_cast<std::size_t>(len);
    }
}

// JPEG: walk the marker segments and the entropy-coded data up to the EOI
// marker (FFD9). Bytes after EOI are ignored.
std::optional<std::string> jpegProblem(const std::uint8_t* d, std::size_t n) {
    const std::string missing_eoi = "the end-of-image marker FFD9 is missing";
    std::size_t pos = 2;
    while (true) {
        if (pos >= n) return missing_eoi;
        if (d[pos] != 0xFF) {  // stray bytes between segments: libjpeg skips them too
            const void* ff = std::memchr(d + pos, 0xFF, n - pos);
            if (!ff) return missing_eoi;
            pos = static_cast<std::size_t>(static_cast<const std::uint8_t*>(ff) - d);
        }
        while (pos < n && d[pos] == 0xFF) ++pos;
        if (pos >= n) return missing_eoi;
        const std::uint8_t marker = d[pos++];
        if (marker == 0xD9) return std::nullopt;
        if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x00) continue;
        if (n - pos < 2) return missing_eoi;
        const std::size_t len = (std::size_t(d[pos]) << 8) | d[pos + 1];
        if (len < 2) return std::string("a segment declares an impossible length");
        if (len > n - pos) return missing_eoi;
        pos += len;
        if (marker == 0xDA) {  // entropy-coded data: ends at the first marker other than RSTn / stuffed FF00
            while (true) {
                const void* ff = pos < n ? std::memchr(d + pos, 0xFF, n - pos) : nullptr;
                if (!ff) return missing_eoi;
                pos = static_cast<std::size_t>(static_cast<const std::uint8_t*>(ff) - d);
                if (pos + 1 >= n) return missing_eoi;
                const std::uint8_t next = d[pos + 1];
                if (next == 0x00 || (next >= 0xD0 && next <= 0xD7)) {
                    pos += 2;
                } else if (next == 0xFF) {
                    pos += 1;
                } else {
                    break;  // a marker: back to the segment loop
                }
            }
        }
    }
}

// WebP: the RIFF container must be complete.
std::optional<std::string> webpProblem(const std::uint8_t* d, std::size_t n) {
    const std::uint64_t riff =
        std::uint64_t(d[4]) | (std::uint64_t(d[5]) << 8) | (std::uint64_t(d[6]) << 16) | (std::uint64_t(d[7]) << 24);
    if (riff + 8 > n)
        return std::string("the RIFF container declares " + std::to_string(riff + 8) + " bytes but the file has " +
                           std::to_string(n));
    return std::nullopt;
}

std::optional<std::string> structuralProblem(const std::string& format, const std::uint8_t* d, std::size_t n) {
    if (format == "png") return pngProblem(d, n);
    if (format == "jpeg") return jpegProblem(d, n);
    if (format == "webp") return webpProblem(d, n);
    return std::nullopt;  // BMP, TIFF, PNM, GIF: their decoders fail on short data
}

// Converts a decoded (OpenCV channel order) 8/16-bit image with 1..4 channels to
// 8-bit RGB, compositing any alpha over `bg` (RGB). Exact integer rounding:
//   out = round((v * a + bg * s * (max - a)) / (max * s)),  s = max / 255.
template <typename T>
cv::Mat toRgb8(const cv::Mat& src, const cv::Vec3b& bg) {
    constexpr std::uint64_t kMax = std::numeric_limits<T>::max();
    constexpr std::uint64_t kScale = kMax / 255;  // 1 or 257
    constexpr std::uint64_t kDen = kMax * kScale;
    const int ch = src.channels();
    cv::Mat out(src.rows, src.cols, CV_8UC3);
    const std::uint64_t bgs[3] = {bg[0] * kScale, bg[1] * kScale, bg[2] * kScale};
    for (int y = 0; y < src.rows; ++y) {
        const T* s = src.ptr<T>(y);
        std::uint8_t* o = out.ptr<std::uint8_t>(y);
        for (int x = 0; x < src.cols; ++x, s += ch, o += 3) {
            std::uint64_t r, g, b, a = kMax;
            switch (ch) {
                case 1: r = g = b = s[0]; break;
                case 2:
                    r = g = b = s[0];
                    a = s[1];
                    break;
                case 3:
                    b = s[0];
                    g = s[1];
                    r = s[2];
                    break;
                default:
                    b = s[0];
                    g = s[1];
                    r = s[2];
                    a = s[3];
                    break;
            }
            const std::uint64_t rest = kMax - a;
            o[0] = static_cast<std::uint8_t>((r * a + bgs[0] * rest + kDen / 2) / kDen);
            o[1] = static_cast<std::uint8_t>((g * a + bgs[1] * rest + kDen / 2) / kDen);
            o[2] = static_cast<std::uint8_t>((b * a + bgs[2] * rest + kDen / 2) / kDen);
        }
    }
    return out;
}

std::string lowerExtension(const std::filesystem::path& file) {
    std::string ext = file.extension().string();
    for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return ext;
}

void encodeAndWrite(const std::filesystem::path& file, const std::string& ext, const cv::Mat& bgr,
                    const std::vector<int>& params) {
    std::vector<std::uint8_t> buf;
    bool ok = false;
    std::string detail;
    try {
        ok = cv::imencode(ext, bgr, buf, params);
    } catch (const cv::Exception& e) {
        detail = std::string(": ") + e.err;
    } catch (const std::bad_alloc&) {
        detail = ": not enough memory";
    }
    if (!ok || buf.empty())
        throw Error("cannot write " + quoted(file.string()) + ": encoding the " + matTypeName(bgr) + " image as " +
                    upper(ext.substr(1)) + " failed" + detail + " (try another format, e.g. .png)");
    writeFileAtomic(file, std::string_view(reinterpret_cast<const char*>(buf.data()), buf.size()));
}

}  // namespace

cv::Mat applyExifOrientation(const cv::Mat& image, int orientation) {
    cv::Mat out;
    switch (orientation) {
        case 2: cv::flip(image, out, 1); break;  // mirror horizontally
        case 3: cv::rotate(image, out, cv::ROTATE_180); break;
        case 4: cv::flip(image, out, 0); break;    // mirror vertically
        case 5: cv::transpose(image, out); break;  // mirror across main diagonal
        case 6: cv::rotate(image, out, cv::ROTATE_90_CLOCKWISE); break;
        case 7:
            cv::transpose(image, out);
            cv::flip(out, out, -1);
            break;  // mirror across anti-diagonal
        case 8: cv::rotate(image, out, cv::ROTATE_90_COUNTERCLOCKWISE); break;
        default: out = image; break;
    }
    return out;
}

LoadedImage loadImage(const std::filesystem::path& file, const ImageLoadOptions& options) {
    const std::string name = file.string();
    std::error_code ec;
    const auto st = std::filesystem::status(file, ec);
    if (!std::filesystem::exists(st))
        throw Error("cannot open image " + quoted(name) + ": the file does not exist (check the path)");
    if (std::filesystem::is_directory(st))
        throw Error("cannot open image " + quoted(name) +
                    ": it is a folder, not an image file (give the path of an image)");
    requireRegularFile(file, "image");  // a FIFO or device would block or never end
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw Error("cannot open image " + quoted(name) + ": " + std::strerror(errno) +
                    " (check that the file is readable)");
    std::vector<std::uint8_t> bytes;
    try {
        in.seekg(0, std::ios::end);
        const std::streamoff size = in.tellg();
        in.seekg(0, std::ios::beg);
        if (size > 0) {
            bytes.resize(static_cast<std::size_t>(size));
            in.read(reinterpret_cast<char*>(bytes.data()), size);
            if (in.gcount() != size)
                throw Error("cannot read image " + quoted(name) +
                            ": reading stopped early (is the file still being written?)");
        } else if (size < 0) {
            // Not seekable (e.g. a pipe): read sequentially.
            in.clear();
            bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        }
    } catch (const std::bad_alloc&) {
        throw Error("cannot read image " + quoted(name) + ": not enough memory to hold the file");
    }
    return decodeImage(bytes, name, options);
}

LoadedImage decodeImage(const std::vector<std::uint8_t>& bytes, const std::string& name,
                        const ImageLoadOptions& options) {
    const std::string q = quoted(name);
    const std::uint8_t* d = bytes.data();
    const std::size_t n = bytes.size();
    if (n == 0) throw Error("image " + q + " is empty (0 bytes): choose another file or export the image again");

    const std::optional<ImageHeader> header = readImageHeader(d, n);
    if (!header) {
        const std::string sniffed = sniffFormat(d, n);
        if (!sniffed.empty())
            throw Error("image " + q + " looks like " + upper(sniffed) +
                        " but its header is truncated or corrupt: export or download the image again");
        const std::string other = unsupportedFormatName(d, n);
        if (!other.empty())
            throw Error("image " + q + " is a " + other + " file, which is not an image Mirada can read (" +
                        kReadableFormats + "): convert it to PNG or JPEG first");
        throw Error("file " + q + " is not an image Mirada can read (" + kReadableFormats +
                    "): its first bytes match no known image format; convert it to PNG or JPEG");
    }
    const std::uint64_t w = header->width, h = header->height;
    if (w == 0 || h == 0)
        throw Error("image " + q + " declares a size of " + std::to_string(w) + " x " + std::to_string(h) +
                    " pixels, which is empty: the file is truncated or corrupt; export the image again");
    if (w > options.max_pixels / h)
        throw Error("image " + q + " declares " + std::to_string(w) + " x " + std::to_string(h) + " = " +
                    formatPixels(static_cast<long double>(w) * static_cast<long double>(h)) + "; the limit is " +
                    formatPixels(static_cast<long double>(options.max_pixels)) + ": downscale the image first");
    if (w > static_cast<std::uint64_t>(std::numeric_limits<int>::max()) ||
        h > static_cast<std::uint64_t>(std::numeric_limits<int>::max()))
        throw Error("image " + q + " declares " + std::to_string(w) + " x " + std::to_string(h) +
                    " pixels, more than one side can have: downscale the image first");
    if (header->animated)
        throw Error("image " + q +
                    " is an animated WebP, which Mirada cannot read (it explains still images): "
                    "save the frame you want as PNG or JPEG and open that");
    if (auto problem = structuralProblem(header->format, d, n))
        throw Error("image " + q + " is truncated or corrupt (" + *problem + "): export or download the image again");

    if (n > static_cast<std::size_t>(std::numeric_limits<int>::max()))
        throw Error("image " + q +
                    " is larger than 2 GB, which OpenCV cannot decode: downscale or recompress it first");
    cv::Mat decoded;
    try {
        const cv::Mat buf(1, static_cast<int>(n), CV_8UC1, const_cast<std::uint8_t*>(d));
        decoded = cv::imdecode(buf, cv::IMREAD_UNCHANGED);
    } catch (const cv::Exception& e) {
        throw Error("image " + q + " is truncated or corrupt: OpenCV could not decode it (" + e.err +
                    "); export the image again as PNG or JPEG");
    } catch (const std::bad_alloc&) {
        throw Error("not enough memory to decode image " + q + " (" + std::to_string(w) + " x " + std::to_string(h) +
                    "): downscale the image first");
    }
    if (decoded.empty()) {
        if (header->format == "gif")
            throw Error("image " + q + " is a GIF, which this build of OpenCV cannot decode: convert it to PNG first");
        throw Error("image " + q + " is truncated or corrupt: the " + upper(header->format) +
                    " decoder rejected it; export or download the image again");
    }
    // The size check above relies on readImageHeader reading the size the
    // decoder uses (for TIFF: the first of duplicated tags, as libtiff does).
    // OpenCV's own limit (OPENCV_IO_MAX_IMAGE_PIXELS) cannot be lowered from
    // here: OpenCV 4.6 reads that variable once when the library is loaded,
    // before main (checked). So a decoder that saw another size is refused.
    {
        const bool swapped = header->format == "tiff" && header->exif_orientation >= 5;
        const std::uint64_t dw = static_cast<std::uint64_t>(swapped ? decoded.rows : decoded.cols);
        const std::uint64_t dh = static_cast<std::uint64_t>(swapped ? decoded.cols : decoded.rows);
        if (dw != w || dh != h)
            throw Error("image " + q + " is corrupt: its header declares " + std::to_string(w) + " x " +
                        std::to_string(h) + " pixels but the " + upper(header->format) + " decoder read " +
                        std::to_string(decoded.cols) + " x " + std::to_string(decoded.rows) +
                        "; export the image again as PNG or JPEG");
    }
    const int depth = decoded.depth();
    if (depth != CV_8U && depth != CV_16U) {
        const bool fp = depth == CV_32F || depth == CV_64F || depth == CV_16F;
        throw Error("image " + q + " stores " + (fp ? "floating-point" : "signed or 32-bit integer") + " samples (" +
                    matTypeName(decoded) + "), which Mirada does not read: convert it to an 8- or 16-bit PNG or TIFF");
    }
    const int ch = decoded.channels();
    if (ch < 1 || ch > 4)
        throw Error("image " + q + " has " + std::to_string(ch) +
                    " channels; Mirada reads grey, grey+alpha, RGB and RGBA: convert it to an RGB PNG");

    LoadedImage out;
    out.source = name;
    out.sha256 = sha256Hex(d, n);
    out.source_bit_depth = depth == CV_16U ? 16 : 8;
    out.had_alpha = ch == 2 || ch == 4;
    out.source_channels = ch;
    if (header->channels >= 1 && header->channels <= 4 &&
        (header->channels == 2 || header->channels == 4) == out.had_alpha)
        out.source_channels = header->channels;  // e.g. grey+alpha PNG decodes as 4 channels
    out.exif_orientation = header->exif_orientation;

    cv::Mat rgb;
    try {
        if (depth == CV_8U && ch == 3)
            cv::cvtColor(decoded, rgb, cv::COLOR_BGR2RGB);
        else if (depth == CV_8U && ch == 1)
            cv::cvtColor(decoded, rgb, cv::COLOR_GRAY2RGB);
        else if (depth == CV_8U)
            rgb = toRgb8<std::uint8_t>(decoded, options.background);
        else
            rgb = toRgb8<std::uint16_t>(decoded, options.background);
        decoded.release();
        // OpenCV's TIFF decoder applies the TIFF orientation tag itself (even with
        // IMREAD_UNCHANGED); for every other format it is applied here.
        out.rgb = header->format == "tiff" ? rgb : applyExifOrientation(rgb, out.exif_orientation);
    } catch (const cv::Exception& e) {
        throw Error("image " + q + " could not be converted to RGB (" + e.err + "): convert it to an 8-bit RGB PNG");
    } catch (const std::bad_alloc&) {
        throw Error("not enough memory to convert image " + q + ": downscale the image first");
    }
    return out;
}

void writePngAtomic(const std::filesystem::path& file, const cv::Mat& image) {
    const std::string q = quoted(file.string());
    if (image.empty()) throw Error("cannot write " + q + ": the image is empty (nothing to save)");
    const int type = image.type();
    if (type != CV_8UC3 && type != CV_8UC1 && type != CV_16UC1)
        throw Error("cannot write " + q +
                    " as PNG: expected an 8-bit RGB (CV_8UC3), 8-bit grey (CV_8UC1) or "
                    "16-bit single-channel (CV_16UC1) image, got " +
                    matTypeName(image));
    cv::Mat bgr;  // never convert in place: the caller's image stays RGB
    if (type == CV_8UC3)
        cv::cvtColor(image, bgr, cv::COLOR_RGB2BGR);
    else
        bgr = image;
    encodeAndWrite(file, ".png", bgr, {cv::IMWRITE_PNG_COMPRESSION, 3});
}

void writeImageAtomic(const std::filesystem::path& file, const cv::Mat& rgb) {
    const std::string q = quoted(file.string());
    const std::string ext = lowerExtension(file);
    if (ext == ".png") return writePngAtomic(file, rgb);
    std::string codec;
    std::vector<int> params;
    if (ext == ".jpg" || ext == ".jpeg") {
        codec = ".jpg";
        params = {cv::IMWRITE_JPEG_QUALITY, 95};
    } else if (ext == ".bmp") {
        codec = ".bmp";
    } else if (ext == ".tif" || ext == ".tiff") {
        codec = ".tiff";
    } else if (ext == ".webp") {
        codec = ".webp";
        params = {cv::IMWRITE_WEBP_QUALITY, 95};
    } else {
        throw Error("cannot write " + q + ": unknown image extension '" + file.extension().string() +
                    "'; use one of .png, .jpg, .jpeg, .bmp, .tif, .tiff, .webp");
    }
    if (rgb.empty()) throw Error("cannot write " + q + ": the image is empty (nothing to save)");
    const int type = rgb.type();
    if (type != CV_8UC3 && type != CV_8UC1)
        throw Error("cannot write " + q + ": expected an 8-bit RGB (CV_8UC3) or grey (CV_8UC1) image, got " +
                    matTypeName(rgb) + (type == CV_16UC1 ? " (16-bit images can be saved as .png)" : ""));
    cv::Mat bgr;  // never convert in place: the caller's image stays RGB
    if (type == CV_8UC3)
        cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
    else
        bgr = rgb;
    encodeAndWrite(file, codec, bgr, params);
}

}  // namespace mirada
