#include "image/image_header.hpp"

#include <cstring>
#include <string_view>

namespace mirada {
namespace {

// Bounds-checked little/big-endian reads over [data, data + size).
struct Bytes {
    const std::uint8_t* data;
    std::size_t size;

    bool has(std::size_t pos, std::size_t n) const { return pos <= size && n <= size - pos; }
    bool matches(std::size_t pos, std::string_view s) const {
        return has(pos, s.size()) && std::memcmp(data + pos, s.data(), s.size()) == 0;
    }
    std::uint64_t read(std::size_t pos, std::size_t n, bool big_endian) const {
        std::uint64_t v = 0;
        if (!has(pos, n)) return 0;
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t k = big_endian ? i : n - 1 - i;
            v = (v << 8) | data[pos + k];
        }
        return v;
    }
    std::uint32_t be16(std::size_t p) const { return static_cast<std::uint32_t>(read(p, 2, true)); }
    std::uint32_t be32(std::size_t p) const { return static_cast<std::uint32_t>(read(p, 4, true)); }
    std::uint32_t le16(std::size_t p) const { return static_cast<std::uint32_t>(read(p, 2, false)); }
    std::uint32_t le24(std::size_t p) const { return static_cast<std::uint32_t>(read(p, 3, false)); }
    std::uint32_t le32(std::size_t p) const { return static_cast<std::uint32_t>(read(p, 4, false)); }
};

int validOrientation(std::uint64_t v) { return (v >= 1 && v <= 8) ? static_cast<int>(v) : 1; }

// ---------------------------------------------------------------- TIFF / EXIF
std::size_t tiffTypeSize(std::uint32_t type) {
    switch (type) {
        case 1:
        case 2:
        case 6:
        case 7: return 1;  // BYTE, ASCII, SBYTE, UNDEFINED
        case 3:
        case 8: return 2;  // SHORT, SSHORT
        case 4:
        case 9:
        case 11:
        case 13: return 4;  // LONG, SLONG, FLOAT, IFD
        case 5:
        case 10:
        case 12:
        case 16:
        case 17:
        case 18: return 8;  // RATIONAL.., LONG8..
        default: return 0;
    }
}

struct TiffIfd0 {
    std::uint64_t width = 0, height = 0;
    int orientation = 1;
    int samples_per_pixel = 0;
    int bits_per_sample = 0;
    bool found = false;
};

// Parses IFD0 of a TIFF structure that starts at b.data[0].
TiffIfd0 parseTiffIfd0(const Bytes& b) {
    TiffIfd0 out;
    bool big;
    if (b.matches(0, std::string_view("II", 2)))
        big = false;
    else if (b.matches(0, std::string_view("MM", 2)))
        big = true;
    else
        return out;
    const std::uint32_t version = static_cast<std::uint32_t>(b.read(2, 2, big));
    bool bigtiff;
    std::uint64_t ifd;
    if (version == 42) {
        bigtiff = false;
        ifd = b.read(4, 4, big);
    } else if (version == 43) {
        if (b.read(4, 2, big) != 8 || b.read(6, 2, big) != 0) return out;
        bigtiff = true;
        ifd = b.read(8, 8, big);
    } else {
        return out;
    }
    const std::size_t count_size = bigtiff ? 8 : 2;
    const std::size_t entry_size = bigtiff ? 20 : 12;
    const std::size_t inline_size = bigtiff ? 8 : 4;
    if (ifd >= b.size || !b.has(static_cast<std::size_t>(ifd), count_size)) return out;
    const std::uint64_t n = b.read(static_cast<std::size_t>(ifd), count_size, big);
    std::size_t pos = static_cast<std::size_t>(ifd) + count_size;
    out.found = true;
    // A tag stated twice counts once, with its FIRST value: libtiff (which
    // OpenCV decodes TIFFs with) ignores later duplicates, so reading the last
    // one let a file declare 30000 x 30000 to libtiff and 10 x 10 to the size
    // check (issue 12, D4).
    bool seen[5] = {false, false, false, false, false};
    auto first = [&seen](int k) {
        if (seen[k]) return false;
        seen[k] = true;
        return true;
    };
    for (std::uint64_t i = 0; i < n && b.has(pos, entry_size); ++i, pos += entry_size) {
        const std::uint32_t tag = static_cast<std::uint32_t>(b.read(pos, 2, big));
        int slot = -1;
        switch (tag) {
            case 0x0100: slot = 0; break;
            case 0x0101: slot = 1; break;
            case 0x0102: slot = 2; break;
            case 0x0112: slot = 3; break;
            case 0x0115: slot = 4; break;
            default: break;
        }
        if (slot < 0 || !first(slot)) continue;  // (even a first entry that cannot be read hides the later ones)
        const std::uint32_t type = static_cast<std::uint32_t>(b.read(pos + 2, 2, big));
        const std::uint64_t count = b.read(pos + 4, bigtiff ? 8 : 4, big);
        const std::size_t value_field = pos + (bigtiff ? 12 : 8);
        const std::size_t tsize = tiffTypeSize(type);
        if (tsize == 0 || count == 0) continue;
        // Only the first value of each tag is needed.
        std::size_t value_pos = value_field;
        if (count > inline_size / tsize) {
            const std::uint64_t off = b.read(value_field, inline_size, big);
            if (off >= b.size) continue;
            value_pos = static_cast<std::size_t>(off);
        }
        if (!b.has(value_pos, tsize)) continue;
        const std::uint64_t v = b.read(value_pos, tsize, big);
        switch (tag) {
            case 0x0100: out.width = v; break;
            case 0x0101: out.height = v; break;
            case 0x0102: out.bits_per_sample = static_cast<int>(v); break;
            case 0x0112: out.orientation = validOrientation(v); break;
            case 0x0115: out.samples_per_pixel = static_cast<int>(v); break;
            default: break;
        }
    }
    return out;
}

// ---------------------------------------------------------------- formats
std::optional<ImageHeader> readPng(const Bytes& b) {
    static const std::uint8_t sig[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    if (!b.has(0, 8) || std::memcmp(b.data, sig, 8) != 0) return std::nullopt;
    if (!b.matches(12, "IHDR") || b.be32(8) != 13 || !b.has(16, 13)) return std::nullopt;
    ImageHeader h;
    h.format = "png";
    h.width = b.be32(16);
    h.height = b.be32(20);
    h.bit_depth = b.data[24];
    const int color_type = b.data[25];
    switch (color_type) {
        case 0: h.channels = 1; break;
        case 2: h.channels = 3; break;
        case 3: h.channels = 3; break;
        case 4: h.channels = 2; break;
        case 6: h.channels = 4; break;
        default: return std::nullopt;
    }
    if (color_type == 3) h.bit_depth = 8;  // palette entries are 8-bit RGB
    // Walk the remaining chunks for eXIf (allowed before or, in older files, after IDAT).
    std::size_t pos = 8;
    bool exif_seen = false;
    while (b.has(pos, 12)) {
        const std::uint64_t len = b.be32(pos);
        if (!b.has(pos + 8, static_cast<std::size_t>(len))) break;
        const std::size_t payload = pos + 8;
        if (b.matches(pos + 4, "eXIf") && !exif_seen) {
            exif_seen = true;
            h.exif_orientation = readExifOrientation(b.data + payload, static_cast<std::size_t>(len));
        } else if (b.matches(pos + 4, "tRNS") && (color_type == 3 || color_type == 0 || color_type == 2)) {
            ++h.channels;
        } else if (b.matches(pos + 4, "IEND")) {
            break;
        }
        pos = payload + static_cast<std::size_t>(len) + 4;
    }
    return h;
}

std::optional<ImageHeader> readJpeg(const Bytes& b) {
    if (!b.has(0, 3) || b.data[0] != 0xFF || b.data[1] != 0xD8 || b.data[2] != 0xFF) return std::nullopt;
    ImageHeader h;
    h.format = "jpeg";
    bool have_sof = false, exif_seen = false;
    std::size_t pos = 2;
    while (pos < b.size) {
        if (b.data[pos] != 0xFF) break;                     // not at a marker: malformed
        while (pos < b.size && b.data[pos] == 0xFF) ++pos;  // fill bytes
        if (pos >= b.size) break;
        const std::uint8_t marker = b.data[pos++];
        if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;
        if (marker == 0xD9 || marker == 0xDA) break;  // EOI / start of scan: header is over
        if (!b.has(pos, 2)) break;
        const std::size_t len = b.be16(pos);
        if (len < 2) break;
        const std::size_t seg = pos + 2;
        const std::size_t seg_len = len - 2;
        const bool sof = (marker >= 0xC0 && marker <= 0xCF) && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
        if (sof && !have_sof && b.has(seg, 6)) {
            have_sof = true;
            h.bit_depth = b.data[seg];
            h.height = b.be16(seg + 1);
            h.width = b.be16(seg + 3);
            h.channels = b.data[seg + 5];
            if (h.channels == 4) h.channels = 3;  // CMYK/YCCK: decoded to RGB
        } else if (marker == 0xE1 && !exif_seen && seg_len >= 6 && b.matches(seg, std::string_view("Exif\0\0", 6))) {
            exif_seen = true;
            const std::size_t avail = b.has(seg, seg_len) ? seg_len : b.size - seg;
            h.exif_orientation = readExifOrientation(b.data + seg + 6, avail - 6);
        }
        pos += len;
    }
    if (!have_sof) return std::nullopt;
    return h;
}

std::optional<ImageHeader> readBmp(const Bytes& b) {
    if (!b.matches(0, "BM") || !b.has(0, 26)) return std::nullopt;
    const std::uint32_t dib = b.le32(14);
    ImageHeader h;
    h.format = "bmp";
    std::uint32_t bpp = 0;
    if (dib == 12) {
        h.width = b.le16(18);
        h.height = b.le16(20);
        bpp = b.le16(24);
    } else if (dib >= 16 && b.has(0, 30)) {
        const auto w = static_cast<std::int32_t>(b.le32(18));
        const auto hh = static_cast<std::int32_t>(b.le32(22));
        if (w < 0 || hh == INT32_MIN) return std::nullopt;
        h.width = static_cast<std::uint64_t>(w);
        h.height = static_cast<std::uint64_t>(hh < 0 ? -static_cast<std::int64_t>(hh) : hh);
        bpp = b.le16(28);
    } else {
        return std::nullopt;
    }
    h.bit_depth = 8;
    h.channels = bpp == 32 ? 4 : 3;
    return h;
}

std::optional<ImageHeader> readGif(const Bytes& b) {
    if (!(b.matches(0, "GIF87a") || b.matches(0, "GIF89a")) || !b.has(0, 10)) return std::nullopt;
    ImageHeader h;
    h.format = "gif";
    h.width = b.le16(6);
    h.height = b.le16(8);
    h.bit_depth = 8;
    h.channels = 3;
    return h;
}

std::optional<ImageHeader> readWebp(const Bytes& b) {
    if (!b.matches(0, "RIFF") || !b.matches(8, "WEBP") || !b.has(12, 8)) return std::nullopt;
    ImageHeader h;
    h.format = "webp";
    h.bit_depth = 8;
    if (b.matches(12, "VP8 ")) {
        if (!b.has(20, 10) || b.data[23] != 0x9D || b.data[24] != 0x01 || b.data[25] != 0x2A) return std::nullopt;
        h.width = b.le16(26) & 0x3FFF;
        h.height = b.le16(28) & 0x3FFF;
        h.channels = 3;
        return h;
    }
    if (b.matches(12, "VP8L")) {
        if (!b.has(20, 5) || b.data[20] != 0x2F) return std::nullopt;
        const std::uint32_t bits = b.le32(21);
        h.width = (bits & 0x3FFF) + 1;
        h.height = ((bits >> 14) & 0x3FFF) + 1;
        h.channels = ((bits >> 28) & 1) ? 4 : 3;
        return h;
    }
    if (b.matches(12, "VP8X")) {
        if (!b.has(20, 10)) return std::nullopt;
        const std::uint8_t flags = b.data[20];
        h.width = static_cast<std::uint64_t>(b.le24(24)) + 1;
        h.height = static_cast<std::uint64_t>(b.le24(27)) + 1;
        h.channels = (flags & 0x10) ? 4 : 3;
        h.animated = (flags & 0x02) != 0;
        if (flags & 0x08) {  // EXIF present: find the chunk
            std::size_t pos = 12;
            while (b.has(pos, 8)) {
                const std::size_t len = b.le32(pos + 4);
                if (b.matches(pos, "EXIF")) {
                    const std::size_t avail = b.has(pos + 8, len) ? len : b.size - (pos + 8);
                    h.exif_orientation = readExifOrientation(b.data + pos + 8, avail);
                    break;
                }
                if (!b.has(pos + 8, len)) break;
                pos += 8 + len + (len & 1);
            }
        }
        return h;
    }
    return std::nullopt;
}

std::optional<ImageHeader> readTiff(const Bytes& b) {
    const bool le = b.matches(0, std::string_view("II*\0", 4)) || b.matches(0, std::string_view("II+\0", 4));
    const bool be = b.matches(0, std::string_view("MM\0*", 4)) || b.matches(0, std::string_view("MM\0+", 4));
    if (!le && !be) return std::nullopt;
    const TiffIfd0 ifd = parseTiffIfd0(b);
    if (!ifd.found) return std::nullopt;
    ImageHeader h;
    h.format = "tiff";
    h.width = ifd.width;
    h.height = ifd.height;
    h.exif_orientation = ifd.orientation;
    h.channels = ifd.samples_per_pixel > 0 ? ifd.samples_per_pixel : 1;
    h.bit_depth = ifd.bits_per_sample > 0 ? ifd.bits_per_sample : 1;
    return h;
}

// PNM: P1..P6 with whitespace-separated decimal fields and '#' comments; P7 (PAM)
// with WIDTH/HEIGHT/DEPTH/MAXVAL lines up to ENDHDR.
std::optional<ImageHeader> readPnm(const Bytes& b) {
    if (!b.has(0, 3) || b.data[0] != 'P' || b.data[1] < '1' || b.data[1] > '7') return std::nullopt;
    const char kind = static_cast<char>(b.data[1]);
    auto is_space = [](std::uint8_t c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
    };
    if (!is_space(b.data[2])) return std::nullopt;
    std::size_t pos = 2;
    // Next token (skipping whitespace and comments); empty when none.
    auto token = [&]() -> std::string {
        while (pos < b.size) {
            if (is_space(b.data[pos])) {
                ++pos;
                continue;
            }
            if (b.data[pos] == '#') {
                while (pos < b.size && b.data[pos] != '\n' && b.data[pos] != '\r') ++pos;
                continue;
            }
            break;
        }
        std::string t;
        while (pos < b.size && !is_space(b.data[pos]) && b.data[pos] != '#' && t.size() < 32)
            t.push_back(static_cast<char>(b.data[pos++]));
        return t;
    };
    auto number = [](const std::string& t) -> std::optional<std::uint64_t> {
        if (t.empty() || t.size() > 18) return std::nullopt;
        std::uint64_t v = 0;
        for (char c : t) {
            if (c < '0' || c > '9') return std::nullopt;
            v = v * 10 + static_cast<std::uint64_t>(c - '0');
        }
        return v;
    };
    ImageHeader h;
    h.format = "pnm";
    if (kind == '7') {
        std::optional<std::uint64_t> w, hh, depth, maxval;
        for (int guard = 0; guard < 64; ++guard) {
            const std::string key = token();
            if (key.empty()) return std::nullopt;
            if (key == "ENDHDR") break;
            if (key == "TUPLTYPE") {
                token();
                continue;
            }
            const auto v = number(token());
            if (!v) return std::nullopt;
            if (key == "WIDTH")
                w = v;
            else if (key == "HEIGHT")
                hh = v;
            else if (key == "DEPTH")
                depth = v;
            else if (key == "MAXVAL")
                maxval = v;
        }
        if (!w || !hh) return std::nullopt;
        h.width = *w;
        h.height = *hh;
        h.channels = depth ? static_cast<int>(*depth) : 0;
        h.bit_depth = (maxval && *maxval > 255) ? 16 : 8;
        return h;
    }
    const auto w = number(token());
    const auto hh = number(token());
    if (!w || !hh) return std::nullopt;
    h.width = *w;
    h.height = *hh;
    if (kind == '1' || kind == '4') {
        h.bit_depth = 1;
    } else {
        const auto maxval = number(token());
        if (!maxval) return std::nullopt;
        h.bit_depth = *maxval > 255 ? 16 : 8;
    }
    h.channels = (kind == '3' || kind == '6') ? 3 : 1;
    return h;
}

}  // namespace

int readExifOrientation(const std::uint8_t* data, std::size_t size) {
    if (data == nullptr) return 1;
    Bytes b{data, size};
    if (b.matches(0, std::string_view("Exif\0\0", 6))) b = Bytes{data + 6, size - 6};
    const TiffIfd0 ifd = parseTiffIfd0(b);
    return ifd.found ? ifd.orientation : 1;
}

std::optional<ImageHeader> readImageHeader(const std::uint8_t* data, std::size_t size) {
    if (data == nullptr || size == 0) return std::nullopt;
    const Bytes b{data, size};
    using Reader = std::optional<ImageHeader> (*)(const Bytes&);
    for (Reader r : {readPng, readJpeg, readBmp, readGif, readWebp, readTiff, readPnm}) {
        if (auto h = r(b)) return h;
    }
    return std::nullopt;
}

}  // namespace mirada
