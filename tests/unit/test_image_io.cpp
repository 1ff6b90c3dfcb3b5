// Tests for image/image_io and image/image_header. Fixtures are made here with
// cv::imencode, hand-built PNG/JPEG/EXIF bytes (zlib for PNG chunks) and, for the
// cross-check with a third-party EXIF writer, PIL through MIRADA_PYTHON.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "common/error.hpp"
#include "common/sha256.hpp"
#include "image/image_header.hpp"
#include "image/image_io.hpp"

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

namespace {

class ImageIoTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::random_device rd;
        dir_ =
            fs::temp_directory_path() / ("mirada_image_io_" + std::to_string(::getpid()) + "_" + std::to_string(rd()));
        fs::create_directories(dir_);
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    fs::path dir_;
};

void writeBytes(const fs::path& p, const Bytes& b) {
    std::ofstream out(p, std::ios::binary);
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    ASSERT_TRUE(out.good()) << p;
}

Bytes encode(const std::string& ext, const cv::Mat& bgr, const std::vector<int>& params = {}) {
    Bytes buf;
    EXPECT_TRUE(cv::imencode(ext, bgr, buf, params)) << ext;
    return buf;
}

// Expects a mirada::Error whose message contains every piece.
template <typename F>
std::string expectError(F&& f, const std::vector<std::string>& pieces) {
    try {
        f();
    } catch (const mirada::Error& e) {
        const std::string msg = e.what();
        for (const auto& p : pieces) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
        return msg;
    } catch (const std::exception& e) {
        ADD_FAILURE() << "expected mirada::Error, got std::exception: " << e.what();
        return {};
    }
    ADD_FAILURE() << "expected mirada::Error, nothing thrown";
    return {};
}

// ---- hand-built PNG
void put32be(Bytes& b, std::uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(v >> s));
}
void pngChunk(Bytes& png, const std::string& type, const Bytes& data) {
    put32be(png, static_cast<std::uint32_t>(data.size()));
    Bytes td(type.begin(), type.end());
    td.insert(td.end(), data.begin(), data.end());
    png.insert(png.end(), td.begin(), td.end());
    put32be(png, static_cast<std::uint32_t>(crc32(0, td.data(), static_cast<uInt>(td.size()))));
}
Bytes ihdr(std::uint32_t w, std::uint32_t h, int depth, int color_type) {
    Bytes d;
    put32be(d, w);
    put32be(d, h);
    d.insert(d.end(), {static_cast<std::uint8_t>(depth), static_cast<std::uint8_t>(color_type), 0, 0, 0});
    return d;
}
// rows: raw samples per row (without filter byte); extra chunks go before IDAT.
Bytes makePng(std::uint32_t w, std::uint32_t h, int depth, int color_type, const std::vector<Bytes>& rows,
              const std::vector<std::pair<std::string, Bytes>>& extra = {}) {
    Bytes png = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    pngChunk(png, "IHDR", ihdr(w, h, depth, color_type));
    for (const auto& [t, d] : extra) pngChunk(png, t, d);
    Bytes raw;
    for (const auto& r : rows) {
        raw.push_back(0);
        raw.insert(raw.end(), r.begin(), r.end());
    }
    uLongf len = compressBound(static_cast<uLong>(raw.size()));
    Bytes z(len);
    EXPECT_EQ(compress(z.data(), &len, raw.data(), static_cast<uLong>(raw.size())), Z_OK);
    z.resize(len);
    pngChunk(png, "IDAT", z);
    pngChunk(png, "IEND", {});
    return png;
}

// ---- EXIF (TIFF structure with one IFD0 entry: orientation)
Bytes exifTiff(int orientation, bool big_endian) {
    Bytes t;
    auto p16 = [&](std::uint16_t v) {
        if (big_endian) {
            t.push_back(v >> 8);
            t.push_back(v & 0xFF);
        } else {
            t.push_back(v & 0xFF);
            t.push_back(v >> 8);
        }
    };
    auto p32 = [&](std::uint32_t v) {
        if (big_endian) {
            p16(v >> 16);
            p16(v & 0xFFFF);
        } else {
            p16(v & 0xFFFF);
            p16(v >> 16);
        }
    };
    if (big_endian)
        t.insert(t.end(), {'M', 'M'});
    else
        t.insert(t.end(), {'I', 'I'});
    p16(42);
    p32(8);
    p16(2);  // two entries
    p16(0x010F);
    p16(2);
    p32(4);
    t.insert(t.end(), {'A', 'c', 'm', 0});  // Make
    p16(0x0112);
    p16(3);
    p32(1);
    p16(static_cast<std::uint16_t>(orientation));
    p16(0);
    p32(0);  // no next IFD
    return t;
}
// Inserts an APP1 Exif segment right after SOI.
Bytes withExifApp1(const Bytes& jpeg, int orientation, bool big_endian) {
    Bytes payload = {'E', 'x', 'i', 'f', 0, 0};
    Bytes tiff = exifTiff(orientation, big_endian);
    payload.insert(payload.end(), tiff.begin(), tiff.end());
    Bytes seg = {0xFF, 0xE1, static_cast<std::uint8_t>((payload.size() + 2) >> 8),
                 static_cast<std::uint8_t>((payload.size() + 2) & 0xFF)};
    seg.insert(seg.end(), payload.begin(), payload.end());
    Bytes out;  // (element-wise: GCC 12 warns falsely about vector range inserts here)
    out.reserve(jpeg.size() + seg.size());
    out.push_back(jpeg.at(0));
    out.push_back(jpeg.at(1));
    for (std::uint8_t x : seg) out.push_back(x);
    for (std::size_t i = 2; i < jpeg.size(); ++i) out.push_back(jpeg[i]);
    return out;
}

// 64 x 32 RGB test picture, quadrants: TL red, TR green, BL blue, BR white.
cv::Mat quadrantsRgb() {
    cv::Mat m(32, 64, CV_8UC3);
    m(cv::Rect(0, 0, 32, 16)).setTo(cv::Scalar(255, 0, 0));
    m(cv::Rect(32, 0, 32, 16)).setTo(cv::Scalar(0, 255, 0));
    m(cv::Rect(0, 16, 32, 16)).setTo(cv::Scalar(0, 0, 255));
    m(cv::Rect(32, 16, 32, 16)).setTo(cv::Scalar(255, 255, 255));
    return m;
}
cv::Mat toBgr(const cv::Mat& rgb) {
    cv::Mat bgr;
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
    return bgr;
}

enum Q { R, G, B, W };
cv::Vec3b colourOf(Q q) {
    switch (q) {
        case R: return {255, 0, 0};
        case G: return {0, 255, 0};
        case B: return {0, 0, 255};
        default: return {255, 255, 255};
    }
}
// Displayed quadrants (TL, TR, BL, BR) of quadrantsRgb() for each EXIF orientation.
const Q kExpected[9][4] = {
    {R, G, B, W},  // (unused 0)
    {R, G, B, W},  // 1 normal
    {G, R, W, B},  // 2 mirror horizontal
    {W, B, G, R},  // 3 rotate 180
    {B, W, R, G},  // 4 mirror vertical
    {R, B, G, W},  // 5 transpose
    {B, R, W, G},  // 6 rotate 90 CW
    {W, G, B, R},  // 7 transverse
    {G, W, R, B},  // 8 rotate 90 CCW
};

void expectQuadrants(const cv::Mat& rgb, int orientation, int tolerance, const std::string& what) {
    ASSERT_EQ(rgb.type(), CV_8UC3) << what;
    const bool swapped = orientation >= 5;
    ASSERT_EQ(rgb.cols, swapped ? 32 : 64) << what;
    ASSERT_EQ(rgb.rows, swapped ? 64 : 32) << what;
    const int cw = rgb.cols / 2, ch = rgb.rows / 2;
    const cv::Point centres[4] = {
        {cw / 2, ch / 2}, {cw + cw / 2, ch / 2}, {cw / 2, ch + ch / 2}, {cw + cw / 2, ch + ch / 2}};
    for (int i = 0; i < 4; ++i) {
        const cv::Vec3b got = rgb.at<cv::Vec3b>(centres[i]);
        const cv::Vec3b want = colourOf(kExpected[orientation][i]);
        for (int c = 0; c < 3; ++c)
            EXPECT_NEAR(got[c], want[c], tolerance)
                << what << " orientation " << orientation << " quadrant " << i << " channel " << c;
    }
}

}  // namespace

// ------------------------------------------------------------------ decoding

TEST_F(ImageIoTest, RgbPngRoundTripKeepsRgbOrder) {
    cv::Mat rgb(2, 3, CV_8UC3, cv::Scalar(0, 0, 0));
    rgb.at<cv::Vec3b>(0, 0) = {255, 0, 0};
    rgb.at<cv::Vec3b>(0, 1) = {0, 255, 0};
    rgb.at<cv::Vec3b>(0, 2) = {0, 0, 255};
    rgb.at<cv::Vec3b>(1, 0) = {12, 34, 56};
    const fs::path p = dir_ / "rgb.png";
    mirada::writePngAtomic(p, rgb);
    // The file on disk is a normal PNG: OpenCV's BGR imread sees red in channel 2.
    const cv::Mat bgr = cv::imread(p.string(), cv::IMREAD_UNCHANGED);
    ASSERT_EQ(bgr.type(), CV_8UC3);
    EXPECT_EQ(bgr.at<cv::Vec3b>(0, 0), cv::Vec3b(0, 0, 255));

    const auto img = mirada::loadImage(p);
    ASSERT_EQ(img.rgb.type(), CV_8UC3);
    EXPECT_EQ(img.rgb.at<cv::Vec3b>(0, 0), cv::Vec3b(255, 0, 0));
    EXPECT_EQ(cv::norm(img.rgb, rgb, cv::NORM_INF), 0.0);
    EXPECT_EQ(img.source, p.string());
    EXPECT_EQ(img.sha256, mirada::sha256File(p));
    EXPECT_EQ(img.sha256.size(), 64u);
    EXPECT_EQ(img.source_bit_depth, 8);
    EXPECT_EQ(img.source_channels, 3);
    EXPECT_FALSE(img.had_alpha);
    EXPECT_EQ(img.exif_orientation, 1);
}

TEST_F(ImageIoTest, GreyPngBecomesRgb) {
    cv::Mat grey(3, 4, CV_8UC1);
    for (int i = 0; i < 12; ++i) grey.at<std::uint8_t>(i / 4, i % 4) = static_cast<std::uint8_t>(i * 20);
    const fs::path p = dir_ / "grey.png";
    mirada::writePngAtomic(p, grey);
    const auto img = mirada::loadImage(p);
    ASSERT_EQ(img.rgb.type(), CV_8UC3);
    for (int i = 0; i < 12; ++i) {
        const std::uint8_t v = static_cast<std::uint8_t>(i * 20);
        EXPECT_EQ(img.rgb.at<cv::Vec3b>(i / 4, i % 4), cv::Vec3b(v, v, v));
    }
    EXPECT_EQ(img.source_channels, 1);
    EXPECT_FALSE(img.had_alpha);
}

TEST_F(ImageIoTest, SixteenBitPngIsScaledAndRounded) {
    // BGR order in the Mat given to OpenCV.
    cv::Mat bgr16(1, 4, CV_16UC3);
    bgr16.at<cv::Vec3w>(0, 0) = {0, 32896, 65535};     // R=65535 G=32896 B=0
    bgr16.at<cv::Vec3w>(0, 1) = {256, 257, 385};       // 0.996 -> 1, 1, 1.498 -> 1
    bgr16.at<cv::Vec3w>(0, 2) = {386, 128, 129};       // 1.502 -> 2, 0.498 -> 0, 0.502 -> 1
    bgr16.at<cv::Vec3w>(0, 3) = {65407, 65408, 1000};  // B 254.502, G 254.506, R 3.89
    const fs::path p = dir_ / "deep.png";
    writeBytes(p, encode(".png", bgr16));
    const auto img = mirada::loadImage(p);
    ASSERT_EQ(img.rgb.type(), CV_8UC3);
    EXPECT_EQ(img.source_bit_depth, 16);
    EXPECT_EQ(img.source_channels, 3);
    EXPECT_EQ(img.rgb.at<cv::Vec3b>(0, 0), cv::Vec3b(255, 128, 0));
    EXPECT_EQ(img.rgb.at<cv::Vec3b>(0, 1), cv::Vec3b(1, 1, 1));
    EXPECT_EQ(img.rgb.at<cv::Vec3b>(0, 2), cv::Vec3b(1, 0, 2));
    // 65407/257 = 254.502 -> 255 ; 65408/257 = 254.506 -> 255 ; 1000/257 = 3.89 -> 4
    EXPECT_EQ(img.rgb.at<cv::Vec3b>(0, 3), cv::Vec3b(4, 255, 255));

    cv::Mat grey16(1, 2, CV_16UC1);
    grey16.at<std::uint16_t>(0, 0) = 65535;
    grey16.at<std::uint16_t>(0, 1) = 32896;
    const fs::path pg = dir_ / "deep_grey.png";
    writeBytes(pg, encode(".png", grey16));
    const auto g = mirada::loadImage(pg);
    EXPECT_EQ(g.source_bit_depth, 16);
    EXPECT_EQ(g.source_channels, 1);
    EXPECT_EQ(g.rgb.at<cv::Vec3b>(0, 0), cv::Vec3b(255, 255, 255));
    EXPECT_EQ(g.rgb.at<cv::Vec3b>(0, 1), cv::Vec3b(128, 128, 128));
}

TEST_F(ImageIoTest, RgbaPngIsCompositedOnWhite) {
    cv::Mat bgra(1, 5, CV_8UC4);
    bgra.at<cv::Vec4b>(0, 0) = {0, 0, 255, 128};    // red, half transparent
    bgra.at<cv::Vec4b>(0, 1) = {50, 200, 100, 64};  // (100,200,50) quarter opaque
    bgra.at<cv::Vec4b>(0, 2) = {10, 20, 30, 0};     // fully transparent
    bgra.at<cv::Vec4b>(0, 3) = {10, 20, 30, 255};   // opaque
    bgra.at<cv::Vec4b>(0, 4) = {0, 0, 0, 127};      // black, almost half
    const fs::path p = dir_ / "rgba.png";
    writeBytes(p, encode(".png", bgra));
    const auto img = mirada::loadImage(p);
    EXPECT_TRUE(img.had_alpha);
    EXPECT_EQ(img.source_channels, 4);
    EXPECT_EQ(img.source_bit_depth, 8);
    // out = round((c*a + 255*(255-a)) / 255)
    EXPECT_EQ(img.rgb.at<cv::Vec3b>(0, 0), cv::Vec3b(255, 127, 127));  // 255*127/255 = 127
    EXPECT_EQ(img.rgb.at<cv::Vec3b>(0, 1), cv::Vec3b(216, 241, 204));  // (100*64+255*191)/255 = 216.1, 241.2, 203.5
    EXPECT_EQ(img.rgb.at<cv::Vec3b>(0, 2), cv::Vec3b(255, 255, 255));
    EXPECT_EQ(img.rgb.at<cv::Vec3b>(0, 3), cv::Vec3b(30, 20, 10));
    EXPECT_EQ(img.rgb.at<cv::Vec3b>(0, 4), cv::Vec3b(128, 128, 128));  // 255*128/255

    // Another background colour (RGB order).
    mirada::ImageLoadOptions opt;
    opt.background = {0, 0, 255};
    const auto blue = mirada::loadImage(p, opt);
    EXPECT_EQ(blue.rgb.at<cv::Vec3b>(0, 0), cv::Vec3b(128, 0, 127));  // 255*128/255 = 128, 255*127/255
    EXPECT_EQ(blue.rgb.at<cv::Vec3b>(0, 2), cv::Vec3b(0, 0, 255));
}

TEST_F(ImageIoTest, SixteenBitRgbaIsCompositedOnWhite) {
    cv::Mat bgra(1, 3, CV_16UC4);
    bgra.at<cv::Vec4w>(0, 0) = {32896, 0, 65535, 32768};  // R=65535 G=0 B=32896, alpha ~ 0.5
    bgra.at<cv::Vec4w>(0, 1) = {0, 0, 0, 65535};          // opaque black
    bgra.at<cv::Vec4w>(0, 2) = {65535, 0, 0, 0};          // transparent
    const fs::path p = dir_ / "rgba16.png";
    writeBytes(p, encode(".png", bgra));
    const auto img = mirada::loadImage(p);
    EXPECT_TRUE(img.had_alpha);
    EXPECT_EQ(img.source_bit_depth, 16);
    EXPECT_EQ(img.source_channels, 4);
    // R: (65535*32768 + 65535*32767) / (65535*257) = 255
    // G: 65535*32767 / (65535*257) = 127.498 -> 127
    // B: (32896*32768 + 65535*32767) / 16842495 = 191.499 -> 191
    EXPECT_EQ(img.rgb.at<cv::Vec3b>(0, 0), cv::Vec3b(255, 127, 191));
    EXPECT_EQ(img.rgb.at<cv::Vec3b>(0, 1), cv::Vec3b(0, 0, 0));
    EXPECT_EQ(img.rgb.at<cv::Vec3b>(0, 2), cv::Vec3b(255, 255, 255));
}

TEST_F(ImageIoTest, GreyAlphaAndPalettePngs) {
    // Grey + alpha, 8 bit: (grey 0, alpha 128), (grey 200, alpha 255).
    const Bytes la = makePng(2, 1, 8, 4, {{0, 128, 200, 255}});
    const auto a = mirada::decodeImage(la, "la.png");
    EXPECT_TRUE(a.had_alpha);
    EXPECT_EQ(a.source_channels, 2);
    EXPECT_EQ(a.rgb.at<cv::Vec3b>(0, 0), cv::Vec3b(127, 127, 127));
    EXPECT_EQ(a.rgb.at<cv::Vec3b>(0, 1), cv::Vec3b(200, 200, 200));

    // Grey + alpha, 16 bit: grey 65535 alpha 0 -> white; grey 0 alpha 65535 -> black.
    const Bytes la16 = makePng(2, 1, 16, 4, {{0xFF, 0xFF, 0, 0, 0, 0, 0xFF, 0xFF}});
    const auto b = mirada::decodeImage(la16, "la16.png");
    EXPECT_TRUE(b.had_alpha);
    EXPECT_EQ(b.source_bit_depth, 16);
    EXPECT_EQ(b.rgb.at<cv::Vec3b>(0, 0), cv::Vec3b(255, 255, 255));
    EXPECT_EQ(b.rgb.at<cv::Vec3b>(0, 1), cv::Vec3b(0, 0, 0));

    // Palette with tRNS: index 0 = red fully transparent, index 1 = green opaque.
    const Bytes pal = makePng(2, 1, 8, 3, {{0, 1}}, {{"PLTE", {255, 0, 0, 0, 255, 0}}, {"tRNS", {0, 255}}});
    const auto c = mirada::decodeImage(pal, "palette.png");
    EXPECT_TRUE(c.had_alpha);
    EXPECT_EQ(c.rgb.at<cv::Vec3b>(0, 0), cv::Vec3b(255, 255, 255));
    EXPECT_EQ(c.rgb.at<cv::Vec3b>(0, 1), cv::Vec3b(0, 255, 0));
}

TEST_F(ImageIoTest, OtherFormatsDecodeToRgb) {
    const cv::Mat rgb = quadrantsRgb();
    const cv::Mat bgr = toBgr(rgb);
    struct Case {
        std::string ext;
        std::vector<int> params;
        int tolerance;
    };
    const std::vector<Case> cases = {{".bmp", {}, 0},
                                     {".tiff", {}, 0},
                                     {".ppm", {}, 0},
                                     {".webp", {cv::IMWRITE_WEBP_QUALITY, 101}, 0},
                                     {".jpg", {cv::IMWRITE_JPEG_QUALITY, 95}, 40},
                                     {".webp", {cv::IMWRITE_WEBP_QUALITY, 90}, 40}};
    for (const auto& c : cases) {
        const Bytes bytes = encode(c.ext, bgr, c.params);
        const auto img = mirada::decodeImage(bytes, "x" + c.ext);
        expectQuadrants(img.rgb, 1, c.tolerance, c.ext);
        const auto h = mirada::readImageHeader(bytes.data(), bytes.size());
        ASSERT_TRUE(h) << c.ext;
        EXPECT_EQ(h->width, 64u) << c.ext;
        EXPECT_EQ(h->height, 32u) << c.ext;
    }
}

TEST_F(ImageIoTest, NonAsciiPath) {
    const fs::path folder = dir_ / fs::u8path("café");
    fs::create_directories(folder);
    const fs::path p = folder / fs::u8path("画像.png");
    const cv::Mat rgb = quadrantsRgb();
    mirada::writePngAtomic(p, rgb);
    ASSERT_TRUE(fs::exists(p));
    const auto img = mirada::loadImage(p);
    EXPECT_EQ(cv::norm(img.rgb, rgb, cv::NORM_INF), 0.0);
    EXPECT_NE(img.source.find("画像.png"), std::string::npos);

    // Errors name the non-ASCII file too.
    const fs::path empty = folder / fs::u8path("空.png");
    writeBytes(empty, {});
    expectError([&] { mirada::loadImage(empty); }, {"空.png", "is empty (0 bytes)"});
}

// ------------------------------------------------------------------ refusals

TEST_F(ImageIoTest, EmptyFileIsRefused) {
    const fs::path p = dir_ / "empty.png";
    writeBytes(p, {});
    expectError([&] { mirada::loadImage(p); }, {p.string(), "is empty (0 bytes)"});
}

TEST_F(ImageIoTest, MissingFileAndFolderAreRefused) {
    expectError([&] { mirada::loadImage(dir_ / "nope.png"); }, {"nope.png", "does not exist"});
    expectError([&] { mirada::loadImage(dir_); }, {dir_.string(), "folder"});
}

TEST_F(ImageIoTest, TextRenamedPngIsRefused) {
    const fs::path p = dir_ / "notes.png";
    const std::string text = "This is a text file, not a picture.\n";
    writeBytes(p, Bytes(text.begin(), text.end()));
    expectError([&] { mirada::loadImage(p); },
                {p.string(), "is not an image Mirada can read (PNG, JPEG, BMP, TIFF, WebP, PNM...)"});
}

TEST_F(ImageIoTest, RandomBytesAreRefused) {
    std::mt19937 rng(1234);
    Bytes b(4096);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    const fs::path p = dir_ / "random.jpg";
    writeBytes(p, b);
    expectError([&] { mirada::loadImage(p); }, {p.string(), "is not an image Mirada can read"});
}

TEST_F(ImageIoTest, UnsupportedFormatsAreNamed) {
    const std::string gif("GIF89a\x02\x00\x02\x00\x80\x00\x00", 13);
    Bytes g(gif.begin(), gif.end());
    g.resize(64, 0);
    expectError([&] { mirada::decodeImage(g, "anim.gif"); }, {"anim.gif", "GIF"});
    const std::string heic = std::string(
        "\0\0\0\x18"
        "ftypheic",
        12);
    Bytes h(heic.begin(), heic.end());
    h.resize(64, 0);
    expectError([&] { mirada::decodeImage(h, "photo.heic"); }, {"photo.heic", "HEIF", "convert it"});
}

TEST_F(ImageIoTest, TruncatedJpegIsRefused) {
    cv::Mat noise(64, 64, CV_8UC3);
    cv::randu(noise, 0, 255);
    const Bytes full = encode(".jpg", noise);
    ASSERT_GT(full.size(), 1000u);
    ASSERT_EQ(full[full.size() - 2], 0xFF);
    ASSERT_EQ(full[full.size() - 1], 0xD9);
    for (std::size_t cut : {full.size() / 2, full.size() - 2, std::size_t(600)}) {
        const fs::path p = dir_ / ("cut" + std::to_string(cut) + ".jpg");
        writeBytes(p, Bytes(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(cut)));
        expectError([&] { mirada::loadImage(p); }, {p.string(), "is truncated or corrupt"});
    }
    // Bytes after EOI are tolerated (some cameras append data).
    Bytes trailing = full;
    trailing.insert(trailing.end(), 100, 0x00);
    EXPECT_NO_THROW(mirada::decodeImage(trailing, "trailing.jpg"));
}

TEST_F(ImageIoTest, TruncatedPngIsRefused) {
    cv::Mat noise(64, 64, CV_8UC3);
    cv::randu(noise, 0, 255);
    const Bytes full = encode(".png", noise);
    for (std::size_t cut : {full.size() / 2, full.size() - 12, full.size() - 1, std::size_t(40)}) {
        const fs::path p = dir_ / ("cut" + std::to_string(cut) + ".png");
        writeBytes(p, Bytes(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(cut)));
        expectError([&] { mirada::loadImage(p); }, {p.string(), "is truncated or corrupt"});
    }
    // Header itself cut short.
    expectError([&] { mirada::decodeImage(Bytes(full.begin(), full.begin() + 20), "short.png"); },
                {"short.png", "truncated or corrupt"});
}

TEST_F(ImageIoTest, TruncatedOtherFormatsAreRefused) {
    cv::Mat noise(64, 64, CV_8UC3);
    cv::randu(noise, 0, 255);
    for (const std::string ext : {".bmp", ".tiff", ".ppm", ".webp"}) {
        const Bytes full = encode(ext, noise);
        const Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(full.size() / 2));
        expectError([&] { mirada::decodeImage(cut, "cut" + ext); }, {"cut" + ext});
    }
}

TEST_F(ImageIoTest, EveryPrefixOfAnImageFailsCleanly) {
    cv::Mat noise(24, 24, CV_8UC3);
    cv::randu(noise, 0, 255);
    for (const std::string ext : {".png", ".jpg"}) {
        const Bytes full = encode(ext, noise);
        for (std::size_t n = 0; n < full.size(); n += 7) {
            const Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
            try {
                mirada::decodeImage(cut, "prefix" + ext);
                ADD_FAILURE() << ext << " prefix of " << n << " bytes was accepted";
            } catch (const mirada::Error&) {
            }
        }
    }
}

TEST_F(ImageIoTest, CorruptedBytesNeverCrash) {
    cv::Mat noise(24, 24, CV_8UC3);
    cv::randu(noise, 0, 255);
    std::mt19937 rng(7);
    for (const std::string ext : {".png", ".jpg", ".bmp", ".webp", ".tiff"}) {
        const Bytes full = encode(ext, noise);
        for (int i = 0; i < 40; ++i) {
            Bytes b = full;
            for (int k = 0; k < 4; ++k) b[rng() % b.size()] = static_cast<std::uint8_t>(rng());
            try {
                const auto img = mirada::decodeImage(b, "corrupt" + ext);
                EXPECT_EQ(img.rgb.type(), CV_8UC3);
            } catch (const mirada::Error&) {
            }
        }
    }
}

TEST_F(ImageIoTest, HugeDeclaredDimensionsAreRefusedBeforeDecoding) {
    // PNG: a valid IHDR declaring 60000 x 60000, no pixel data at all.
    Bytes png = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    pngChunk(png, "IHDR", ihdr(60000, 60000, 8, 2));
    pngChunk(png, "IEND", {});
    const fs::path p = dir_ / "huge.png";
    writeBytes(p, png);
    expectError([&] { mirada::loadImage(p); },
                {p.string(),
                 "declares 60000 x 60000 = 3.6 gigapixels; the limit is 150 megapixels: downscale the image first"});

    // JPEG: SOI, SOF0 60000 x 60000 x 3, EOI.
    const Bytes jpg = {0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0xEA, 0x60, 0xEA, 0x60, 0x03,
                       0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01, 0xFF, 0xD9};
    expectError([&] { mirada::decodeImage(jpg, "huge.jpg"); },
                {"huge.jpg", "60000 x 60000 = 3.6 gigapixels", "150 megapixels"});

    // A smaller limit applies to a real image, too.
    mirada::ImageLoadOptions opt;
    opt.max_pixels = 2'000'000;
    const Bytes big = encode(".png", cv::Mat(1600, 1600, CV_8UC1, cv::Scalar(7)));
    expectError([&] { mirada::decodeImage(big, "big.png", opt); },
                {"1600 x 1600 = 2.6 megapixels", "the limit is 2 megapixels"});
    opt.max_pixels = 2'560'000;
    EXPECT_NO_THROW(mirada::decodeImage(big, "big.png", opt));
}

TEST_F(ImageIoTest, ZeroDimensionsAreRefused) {
    Bytes png = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    pngChunk(png, "IHDR", ihdr(0, 10, 8, 2));
    pngChunk(png, "IEND", {});
    expectError([&] { mirada::decodeImage(png, "zero.png"); }, {"zero.png", "0 x 10"});
}

// ------------------------------------------------------------------ EXIF orientation

TEST_F(ImageIoTest, ExifOrientationAllEightInJpeg) {
    const Bytes base = encode(".jpg", toBgr(quadrantsRgb()), {cv::IMWRITE_JPEG_QUALITY, 95});
    for (bool big_endian : {false, true}) {
        for (int o = 1; o <= 8; ++o) {
            const Bytes jpg = withExifApp1(base, o, big_endian);
            const auto h = mirada::readImageHeader(jpg.data(), jpg.size());
            ASSERT_TRUE(h);
            EXPECT_EQ(h->exif_orientation, o);
            EXPECT_EQ(h->width, 64u);  // as stored
            const auto img = mirada::decodeImage(jpg, "o" + std::to_string(o) + ".jpg");
            EXPECT_EQ(img.exif_orientation, o);
            expectQuadrants(img.rgb, o, 40, big_endian ? "MM jpeg" : "II jpeg");
        }
    }
}

TEST_F(ImageIoTest, ExifOrientationInPngExifChunk) {
    const cv::Mat rgb = quadrantsRgb();
    std::vector<Bytes> rows;
    for (int y = 0; y < rgb.rows; ++y) rows.emplace_back(rgb.ptr<std::uint8_t>(y), rgb.ptr<std::uint8_t>(y) + 64 * 3);
    for (int o = 1; o <= 8; ++o) {
        const Bytes png = makePng(64, 32, 8, 2, rows, {{"eXIf", exifTiff(o, o % 2 == 0)}});
        const auto img = mirada::decodeImage(png, "o.png");
        EXPECT_EQ(img.exif_orientation, o);
        expectQuadrants(img.rgb, o, 0, "png eXIf");
    }
}

TEST_F(ImageIoTest, InvalidExifOrientationIsIgnored) {
    const Bytes base = encode(".jpg", toBgr(quadrantsRgb()), {cv::IMWRITE_JPEG_QUALITY, 95});
    for (int o : {0, 9, 300}) {
        const auto img = mirada::decodeImage(withExifApp1(base, o, false), "bad.jpg");
        EXPECT_EQ(img.exif_orientation, 1);
        expectQuadrants(img.rgb, 1, 40, "invalid orientation");
    }
}

// Cross-check with files written by PIL (an independent EXIF writer).
TEST_F(ImageIoTest, ExifOrientationFromPilFiles) {
    const fs::path script = dir_ / "make.py";  // MIRADA_PYTHON is set by tests/CMakeLists.txt
    {
        std::ofstream s(script);
        s << "import sys\n"
             "from PIL import Image\n"
             "img = Image.new('RGB', (64, 32), (255, 255, 255))\n"
             "img.paste((255, 0, 0), (0, 0, 32, 16))\n"
             "img.paste((0, 255, 0), (32, 0, 64, 16))\n"
             "img.paste((0, 0, 255), (0, 16, 32, 32))\n"
             "for o in range(1, 9):\n"
             "    exif = Image.Exif()\n"
             "    exif[0x0112] = o\n"
             "    img.save(f'{sys.argv[1]}/pil_{o}.jpg', quality=95, exif=exif.tobytes())\n"
             "    img.save(f'{sys.argv[1]}/pil_{o}.png', exif=exif.tobytes())\n"
             "    img.save(f'{sys.argv[1]}/pil_{o}.tiff', exif=exif.tobytes())\n"
             "    try:\n"
             "        img.save(f'{sys.argv[1]}/pil_{o}.webp', lossless=True, exif=exif.tobytes())\n"
             "    except Exception:\n"
             "        pass\n";
    }
    const std::string cmd =
        std::string("\"") + MIRADA_PYTHON + "\" \"" + script.string() + "\" \"" + dir_.string() + "\" > /dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "PIL (python3-pil) is not available to " << MIRADA_PYTHON;
    ASSERT_TRUE(fs::exists(dir_ / "pil_8.jpg"));
    for (int o = 1; o <= 8; ++o) {
        for (const std::string ext : {".jpg", ".png", ".tiff", ".webp"}) {
            const fs::path p = dir_ / ("pil_" + std::to_string(o) + ext);
            if (!fs::exists(p)) continue;  // e.g. PIL without WebP support
            const auto img = mirada::loadImage(p);
            EXPECT_EQ(img.exif_orientation, o) << p;
            expectQuadrants(img.rgb, o, ext == ".jpg" ? 40 : 0, p.string());
        }
    }
}

// ------------------------------------------------------------------ header

TEST(ImageHeader, KnownAndUnknownFormats) {
    EXPECT_FALSE(mirada::readImageHeader(nullptr, 0));
    const std::string txt = "hello";
    EXPECT_FALSE(mirada::readImageHeader(reinterpret_cast<const std::uint8_t*>(txt.data()), txt.size()));

    const std::string gif("GIF89a\x40\x01\xF0\x00", 10);
    auto h = mirada::readImageHeader(reinterpret_cast<const std::uint8_t*>(gif.data()), gif.size());
    ASSERT_TRUE(h);
    EXPECT_EQ(h->format, "gif");
    EXPECT_EQ(h->width, 320u);
    EXPECT_EQ(h->height, 240u);

    const std::string pgm = "P5\n# comment\n640 480\n255\n";
    h = mirada::readImageHeader(reinterpret_cast<const std::uint8_t*>(pgm.data()), pgm.size());
    ASSERT_TRUE(h);
    EXPECT_EQ(h->format, "pnm");
    EXPECT_EQ(h->width, 640u);
    EXPECT_EQ(h->height, 480u);

    cv::Mat m(30, 70, CV_8UC3, cv::Scalar(1, 2, 3));
    for (const auto& [ext, fmt] : std::vector<std::pair<std::string, std::string>>{{".png", "png"},
                                                                                   {".jpg", "jpeg"},
                                                                                   {".bmp", "bmp"},
                                                                                   {".tiff", "tiff"},
                                                                                   {".webp", "webp"},
                                                                                   {".pgm", "pnm"}}) {
        Bytes b;
        ASSERT_TRUE(cv::imencode(ext, ext == ".pgm" ? cv::Mat(30, 70, CV_8UC1, cv::Scalar(9)) : m, b));
        h = mirada::readImageHeader(b.data(), b.size());
        ASSERT_TRUE(h) << ext;
        EXPECT_EQ(h->format, fmt);
        EXPECT_EQ(h->width, 70u) << ext;
        EXPECT_EQ(h->height, 30u) << ext;
        EXPECT_EQ(h->exif_orientation, 1) << ext;
        // Every prefix is parsed without reading out of bounds (run under ASan to be sure).
        for (std::size_t n = 0; n < std::min<std::size_t>(b.size(), 200); ++n) {
            Bytes cut(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n));
            (void)mirada::readImageHeader(cut.data(), cut.size());
        }
    }
}

// ------------------------------------------------------------------ writing

TEST_F(ImageIoTest, WritePngIntoMissingFolderThrowsAndLeavesNothing) {
    const fs::path missing = dir_ / "no_such_folder";
    const fs::path p = missing / "out.png";
    expectError([&] { mirada::writePngAtomic(p, quadrantsRgb()); }, {p.string()});
    EXPECT_FALSE(fs::exists(missing));
    EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(ImageIoTest, FailedWriteLeavesExistingFileUntouched) {
    const fs::path p = dir_ / "keep.png";
    mirada::writePngAtomic(p, quadrantsRgb());
    const std::string before = mirada::sha256File(p);
    expectError([&] { mirada::writePngAtomic(p, cv::Mat(4, 4, CV_32FC1, cv::Scalar(0.5))); }, {p.string(), "CV_32FC1"});
    expectError([&] { mirada::writePngAtomic(p, cv::Mat()); }, {p.string(), "empty"});
    EXPECT_EQ(mirada::sha256File(p), before);
    std::size_t files = 0;
    for (const auto& e : fs::directory_iterator(dir_)) {
        (void)e;
        ++files;
    }
    EXPECT_EQ(files, 1u);  // no temporary left behind
}

TEST_F(ImageIoTest, SixteenBitLabelMapRoundTrip) {
    cv::Mat labels(3, 5, CV_16UC1);
    const std::uint16_t values[] = {0, 1, 2, 255, 256, 300, 1000, 4095, 32767, 32768, 40000, 65534, 65535, 7, 9};
    for (int i = 0; i < 15; ++i) labels.at<std::uint16_t>(i / 5, i % 5) = values[i];
    const fs::path p = dir_ / "labels.png";
    mirada::writePngAtomic(p, labels);
    const cv::Mat back = cv::imread(p.string(), cv::IMREAD_UNCHANGED);
    ASSERT_EQ(back.type(), CV_16UC1);
    ASSERT_EQ(back.size(), labels.size());
    EXPECT_EQ(cv::norm(back, labels, cv::NORM_INF), 0.0);
}

TEST_F(ImageIoTest, WriteImageByExtension) {
    const cv::Mat rgb = quadrantsRgb();
    for (const std::string ext : {".png", ".PNG", ".bmp", ".tif", ".tiff"}) {
        const fs::path p = dir_ / ("out" + ext);
        mirada::writeImageAtomic(p, rgb);
        EXPECT_EQ(cv::norm(mirada::loadImage(p).rgb, rgb, cv::NORM_INF), 0.0) << ext;
    }
    for (const std::string ext : {".jpg", ".jpeg", ".webp"}) {
        const fs::path p = dir_ / ("out" + ext);
        mirada::writeImageAtomic(p, rgb);
        expectQuadrants(mirada::loadImage(p).rgb, 1, 40, ext);
    }
    // Grey is accepted too.
    mirada::writeImageAtomic(dir_ / "grey.jpg", cv::Mat(8, 8, CV_8UC1, cv::Scalar(100)));
    EXPECT_NEAR(mirada::loadImage(dir_ / "grey.jpg").rgb.at<cv::Vec3b>(4, 4)[0], 100, 2);

    const fs::path gif = dir_ / "out.gif";
    expectError([&] { mirada::writeImageAtomic(gif, rgb); }, {gif.string(), ".png", ".jpg", ".webp", ".tif"});
    EXPECT_FALSE(fs::exists(gif));
    expectError([&] { mirada::writeImageAtomic(dir_ / "noext", rgb); }, {"noext", ".png"});
    expectError([&] { mirada::writeImageAtomic(dir_ / "missing" / "x.jpg", rgb); }, {"x.jpg"});
}
