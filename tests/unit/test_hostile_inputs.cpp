// Issue 12 ("Hardening"): small hostile files must give a clear mirada::Error
// quickly instead of turning kilobytes into gigabytes.
//  D5  weight files: pickle bombs, stride-0 expansions, records that inflate
//      beyond what the file holds (fixtures: tests/fixtures/gen_hostile_weights.py)
//  D4  a TIFF that states its size twice (the size check must see what libtiff sees)
//  D6  --segments label maps: devices, oversized PNG headers, too many labels,
//      and surrogate solves that can be cancelled
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "explain/explainer.hpp"
#include "explain/methods.hpp"
#include "explain/run_context.hpp"
#include "explain/surrogate/lime.hpp"
#include "explain/surrogate/weighted_ridge.hpp"
#include "image/image_header.hpp"
#include "image/image_io.hpp"
#include "models/model_zoo.hpp"
#include "models/state_dict_reader.hpp"
#include "segment/superpixels.hpp"
#include "test_helpers.hpp"

namespace fs = std::filesystem;
using namespace mirada;
using mirada::test::TempDir;

namespace {

fs::path hostile(const std::string& name) {
    const char* env = std::getenv("MIRADA_FIXTURE_DIR");
    const fs::path p = fs::path(env ? env : MIRADA_FIXTURE_DIR) / "hostile_weights" / name;
    if (!fs::exists(p))
        throw std::runtime_error("fixture " + p.string() +
                                 " is missing; run ctest (fixture.gen_hostile_weights) first");
    return p;
}

// Runs fn, expects a mirada::Error, returns its message and how long it took.
template <typename Fn>
std::string errorWithin(Fn&& fn, double maxSeconds) {
    const auto t0 = std::chrono::steady_clock::now();
    std::string message = "(no error)";
    try {
        fn();
    } catch (const Error& e) {
        message = e.what();
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LT(s, maxSeconds) << "took " << s << " s: " << message;
    return message;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

void writeBytes(const fs::path& p, const std::vector<std::uint8_t>& bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// ------------------------------------------------------------- byte builders

void put16le(std::vector<std::uint8_t>& b, std::uint32_t v) {
    b.push_back(static_cast<std::uint8_t>(v));
    b.push_back(static_cast<std::uint8_t>(v >> 8));
}
void put32le(std::vector<std::uint8_t>& b, std::uint32_t v) {
    put16le(b, v & 0xffff);
    put16le(b, v >> 16);
}
void put32be(std::vector<std::uint8_t>& b, std::uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(v >> s));
}

// A little-endian, uncompressed, 8-bit grey TIFF whose IFD states ImageWidth
// and ImageLength twice: first (w1, h1), then (w2, h2). The strip holds w1*h1
// bytes when that is small, else 100 bytes.
std::vector<std::uint8_t> tiffWithTwoSizes(std::uint32_t w1, std::uint32_t h1, std::uint32_t w2, std::uint32_t h2) {
    struct Entry {
        std::uint16_t tag, type;
        std::uint32_t value;
    };
    const std::uint32_t stripBytes = std::uint64_t(w1) * h1 <= 4096 ? w1 * h1 : 100;
    const std::uint32_t entries = 12;
    const std::uint32_t ifdSize = 2 + entries * 12 + 4;
    const std::uint32_t stripOffset = 8 + ifdSize;
    const std::vector<Entry> ifd = {
        {256, 4, w1},          {257, 4, h1}, {256, 4, w2}, {257, 4, h2},  // the duplicated size
        {258, 3, 8},           {259, 3, 1},  {262, 3, 1},                 // 8 bits, no compression, BlackIsZero
        {273, 4, stripOffset}, {277, 3, 1},  {278, 4, h1}, {279, 4, stripBytes}, {284, 3, 1},
    };
    std::vector<std::uint8_t> b = {'I', 'I', 42, 0};
    put32le(b, 8);
    put16le(b, entries);
    for (const Entry& e : ifd) {
        put16le(b, e.tag);
        put16le(b, e.type);
        put32le(b, 1);
        if (e.type == 3) {
            put16le(b, e.value);
            put16le(b, 0);
        } else {
            put32le(b, e.value);
        }
    }
    put32le(b, 0);  // no next IFD
    for (std::uint32_t k = 0; k < stripBytes; ++k) b.push_back(static_cast<std::uint8_t>(k * 7));
    return b;
}

std::uint32_t crc32(const std::uint8_t* d, std::size_t n) {
    std::uint32_t c = 0xffffffffu;
    for (std::size_t i = 0; i < n; ++i) {
        c ^= d[i];
        for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return c ^ 0xffffffffu;
}

void pngChunk(std::vector<std::uint8_t>& b, const char* type, const std::vector<std::uint8_t>& data) {
    put32be(b, static_cast<std::uint32_t>(data.size()));
    const std::size_t start = b.size();
    b.insert(b.end(), type, type + 4);
    b.insert(b.end(), data.begin(), data.end());
    put32be(b, crc32(b.data() + start, b.size() - start));
}

// A structurally valid single-channel PNG header of any size, with an empty
// (valid zlib) IDAT: decoding it would allocate width x height x depth/8 bytes.
std::vector<std::uint8_t> pngHeaderOnly(std::uint32_t w, std::uint32_t h, std::uint8_t depth) {
    std::vector<std::uint8_t> b = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    std::vector<std::uint8_t> ihdr;
    put32be(ihdr, w);
    put32be(ihdr, h);
    ihdr.insert(ihdr.end(), {depth, 0, 0, 0, 0});  // grey, deflate, adaptive filter, no interlace
    pngChunk(b, "IHDR", ihdr);
    pngChunk(b, "IDAT", {0x78, 0x01, 0x01, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01});
    pngChunk(b, "IEND", {});
    return b;
}

}  // namespace

// ------------------------------------------------------------------ D5 weights

TEST(HostileInputs, WeightPickleBombInAZipIsRefusedBeforeInflating) {
    // 29 KB file, 30 MB data.pkl of EMPTY_LIST: 3.8 GB before the fix.
    const fs::path f = hostile("pickle_bomb.pth");
    const std::string msg = errorWithin([&] { readStateDict(f); }, 10);
    EXPECT_TRUE(has(msg, "pickle_bomb.pth")) << msg;
    EXPECT_TRUE(has(msg, "inflate to more than 8 times")) << msg;
    EXPECT_TRUE(has(msg, "data.pkl")) << msg;
}

TEST(HostileInputs, LegacyPickleBombStopsAtTheObjectLimit) {
    // Stored as is, so only the interpreter's own limit can stop it.
    const fs::path f = hostile("pickle_bomb_legacy.pth");
    const std::string msg = errorWithin([&] { readStateDict(f); }, 20);
    EXPECT_TRUE(has(msg, "pickle_bomb_legacy.pth")) << msg;
    EXPECT_TRUE(has(msg, "more than 2000000 objects")) << msg;
}

TEST(HostileInputs, StrideZeroExpansionsOfATinyStorageAreRefused) {
    // 3 KB file: 40 tensors of 2^28-1 floats over one stored float (40 GiB if expanded).
    const fs::path f = hostile("stride0.pth");
    EXPECT_LT(fs::file_size(f), 16u * 1024);
    const std::string msg = errorWithin([&] { readStateDict(f); }, 10);
    EXPECT_TRUE(has(msg, "stride0.pth")) << msg;
    EXPECT_TRUE(has(msg, "tensor 'w0'")) << msg;
    EXPECT_TRUE(has(msg, "stride 0 in dimension 0 of size 268435455")) << msg;
}

TEST(HostileInputs, StorageRecordLargerThanItsStorageIsRefusedBeforeInflating) {
    // data/0 inflates to 16 MiB for a 1-element storage.
    const fs::path f = hostile("inflate_record.pth");
    const std::string msg = errorWithin([&] { readStateDict(f); }, 10);
    EXPECT_TRUE(has(msg, "inflate_record.pth")) << msg;
    EXPECT_TRUE(has(msg, "record 'data/0' declares 16777216 bytes")) << msg;
    EXPECT_TRUE(has(msg, "1 elements of 4 bytes")) << msg;
}

TEST(HostileInputs, RecordsInflatingBeyondEightTimesTheFileAreRefused) {
    // 200 honest storages, each smaller than the file, deflated: ~70x the file in all.
    const fs::path f = hostile("inflate_total.pth");
    const std::string msg = errorWithin([&] { readStateDict(f); }, 10);
    EXPECT_TRUE(has(msg, "inflate_total.pth")) << msg;
    EXPECT_TRUE(has(msg, "inflate to more than 8 times the file's " + std::to_string(fs::file_size(f)) + " bytes"))
        << msg;
}

TEST(HostileInputs, RecompressedStateDictStillLoads) {
    // The limits leave a genuine (here re-deflated) state dict readable.
    const StateDict sd = readStateDict(hostile("recompressed_ok.pth"));
    ASSERT_EQ(sd.size(), 3u);
    EXPECT_EQ(sd[0].name, "a");
    EXPECT_EQ(sd[0].tensor.sizes(), (std::vector<int64_t>{64, 32}));
    EXPECT_EQ(sd[2].tensor.sum().item<int64_t>(), 15);
}

// ------------------------------------------------------------------ D4 TIFF

TEST(HostileInputs, TiffThatStatesItsSizeTwiceIsJudgedByTheFirstAsLibtiffDoes) {
    // 30000 x 30000 first (what libtiff decodes), then 10 x 10 (what the check read).
    const auto bytes = tiffWithTwoSizes(30000, 30000, 10, 10);
    const auto header = readImageHeader(bytes.data(), bytes.size());
    ASSERT_TRUE(header.has_value());
    ASSERT_EQ(header->width, 30000u);  // before the fix: 10, and decoding allocated gigabytes
    ASSERT_EQ(header->height, 30000u);
    const std::string msg = errorWithin([&] { decodeImage(bytes, "twice.tif"); }, 10);
    EXPECT_TRUE(has(msg, "'twice.tif' declares 30000 x 30000")) << msg;
    EXPECT_TRUE(has(msg, "the limit is 150 megapixels")) << msg;
}

TEST(HostileInputs, TiffWhoseFirstSizeIsSmallDecodesAtThatSize) {
    // The other order: libtiff decodes 10 x 10, and so does Mirada (no false refusal).
    const auto bytes = tiffWithTwoSizes(10, 10, 30000, 30000);
    const LoadedImage img = decodeImage(bytes, "small-first.tif");
    EXPECT_EQ(img.rgb.cols, 10);
    EXPECT_EQ(img.rgb.rows, 10);
}

// ------------------------------------------------------------------ D6 --segments

TEST(HostileInputs, LabelMapThatIsNotARegularFileIsRefusedWithoutReading) {
    // /dev/zero was read until bad_alloc.
    ASSERT_TRUE(fs::exists("/dev/zero"));
    std::string msg = errorWithin([&] { readLabelMap("/dev/zero"); }, 5);
    EXPECT_TRUE(has(msg, "'/dev/zero' is not a regular file")) << msg;
    TempDir dir;
    msg = errorWithin([&] { readLabelMap(dir.path()); }, 5);
    EXPECT_TRUE(has(msg, "not a regular file (a folder)")) << msg;
}

TEST(HostileInputs, HugeLabelMapIsRefusedFromItsHeaderBeforeDecoding) {
    // A 32000 x 32000 16-bit PNG (2 GB decoded) that is a few bytes here.
    TempDir dir;
    writeBytes(dir / "huge.png", pngHeaderOnly(32000, 32000, 16));
    std::string msg = errorWithin([&] { readLabelMap(dir / "huge.png"); }, 5);
    EXPECT_TRUE(has(msg, "huge.png' declares 32000 x 32000 pixels, more than the 150 megapixels")) << msg;

    // With the image's size known, any other size is refused before decoding.
    writeBytes(dir / "other.png", pngHeaderOnly(3000, 2000, 16));
    msg = errorWithin([&] { readLabelMap(dir / "other.png", cv::Size(640, 480)); }, 5);
    EXPECT_TRUE(has(msg, "other.png' is 3000x2000 but the image is 640x480")) << msg;

    // A file larger than any label map Mirada could need is not read at all (sparse here).
    writeBytes(dir / "sparse.png", pngHeaderOnly(10, 10, 16));
    fs::resize_file(dir / "sparse.png", std::uintmax_t{600} << 20);
    msg = errorWithin([&] { readLabelMap(dir / "sparse.png"); }, 5);
    EXPECT_TRUE(has(msg, "sparse.png' is 600 MiB, more than the 512 MiB")) << msg;

    // A label map of the right size still reads.
    cv::Mat labels(4, 5, CV_32S, cv::Scalar(3));
    writeLabelMap(dir / "ok.png", labels);
    const cv::Mat back = readLabelMap(dir / "ok.png", cv::Size(5, 4));
    EXPECT_EQ(cv::countNonZero(back != labels), 0);
}

TEST(HostileInputs, ImportedLabelMapWithMoreSegmentsThanTheSuperpixelMaximumIsRefused) {
    MIRADA_REQUIRE_FIXTURE(fs::path(MIRADA_FIXTURE_DIR) / "residual-cnn.pt");
    // residual-cnn pools globally, so it runs on 64 x 64: 4096 one-pixel segments.
    TempDir dir;
    mirada::test::writeText(dir / "big-input.json",
                            R"({"torchscript": ")" + (fs::path(MIRADA_FIXTURE_DIR) / "residual-cnn.pt").string() +
                                R"(", "input": {"width": 64, "height": 64, "channels": 3}, "resize": "stretch",)"
                                R"( "labels": ["a", "b", "c", "d", "e"]})");
    ModelLoadOptions opt;
    opt.device = DeviceChoice::Cpu;
    auto model = loadModel((dir / "big-input.json").string(), opt).model;
    cv::Mat image(64, 64, CV_8UC3, cv::Scalar(40, 120, 200));
    cv::Mat segments(64, 64, CV_32S);
    for (int i = 0; i < 64 * 64; ++i) segments.at<int>(i / 64, i % 64) = i;

    auto lime = makeLimeExplainer();
    ExplainRequest req;
    req.model = model.get();
    req.image = image;
    req.seed = 1;
    req.batch_size = 8;
    req.params = lime->defaultParams();
    req.params.set("samples", int64_t{10});
    req.superpixels = superpixelParams();
    req.segments = segments;
    const std::string msg = errorWithin([&] { lime->explain(req, RunContext{}); }, 30);
    EXPECT_TRUE(has(msg, "has 4096 segments inside the model's view, more than the 2000")) << msg;
    EXPECT_EQ(kMaxSuperpixels, 2000);
}

TEST(HostileInputs, SurrogateSolvesStopWhenCancelled) {
    // The fits check the cancel flag between their heavy steps (SIGINT/SIGTERM set it in the CLI).
    std::atomic<bool> cancel{true};
    RunContext ctx;
    ctx.cancel = &cancel;
    const Eigen::MatrixXd x = Eigen::MatrixXd::Random(40, 8);
    const Eigen::VectorXd y = Eigen::VectorXd::Random(40);
    const Eigen::VectorXd w = Eigen::VectorXd::Ones(40);
    EXPECT_THROW(weightedRidge(x, y, w, 1.0, &ctx), Cancelled);
    EXPECT_THROW(weightedRidge(x, y, w, 0.0, &ctx), Cancelled);
    EXPECT_THROW(solveEfficiencyConstrained(x, y, w, 0.1, 0.9, &ctx), Cancelled);
    LimeSettings s;
    EXPECT_THROW(fitLime(x, y, s, &ctx), Cancelled);
    // Not cancelled: the same calls run.
    cancel = false;
    EXPECT_EQ(weightedRidge(x, y, w, 1.0, &ctx).coef.size(), 8);
    EXPECT_EQ(solveEfficiencyConstrained(x, y, w, 0.1, 0.9, &ctx).size(), 8);
}
