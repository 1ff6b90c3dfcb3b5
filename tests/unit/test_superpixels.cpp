// Superpixels (grid, SLIC family), contiguous labels, label-map files and the
// mapping of imported maps onto the model's input grid.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <set>

#include "common/error.hpp"
#include "explain/explainer.hpp"
#include "image/image_io.hpp"
#include "image/preprocess.hpp"
#include "segment/superpixels.hpp"
#include "test_helpers.hpp"

using namespace mirada;
using namespace mirada::test;

namespace {

// A 224x224 RGB test picture: smooth gradient plus a few coloured shapes and noise.
cv::Mat testPicture(int w = 224, int h = 224) {
    cv::Mat img(h, w, CV_8UC3);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) img.at<cv::Vec3b>(y, x) = cv::Vec3b(x * 255 / w, y * 255 / h, 128);
    cv::circle(img, {w / 3, h / 3}, w / 6, cv::Scalar(250, 20, 20), cv::FILLED);
    cv::rectangle(img, cv::Rect(w / 2, h / 2, w / 3, h / 4), cv::Scalar(20, 200, 40), cv::FILLED);
    cv::Mat noise(h, w, CV_8UC3);
    cv::randu(noise, 0, 20);
    img += noise;
    return img;
}

// Labels are 0..M-1 and each of them occurs.
void expectContiguous(const cv::Mat& labels, int* count = nullptr) {
    ASSERT_EQ(labels.type(), CV_32S);
    std::set<int> seen;
    for (int y = 0; y < labels.rows; ++y)
        for (int x = 0; x < labels.cols; ++x) seen.insert(labels.at<int>(y, x));
    ASSERT_FALSE(seen.empty());
    EXPECT_EQ(*seen.begin(), 0);
    EXPECT_EQ(*seen.rbegin(), static_cast<int>(seen.size()) - 1);
    EXPECT_EQ(countSegments(labels), static_cast<int>(seen.size()));
    if (count) *count = static_cast<int>(seen.size());
}

using mirada::test::errorOf;

}  // namespace

TEST(Superpixels, ParamsTableHasTheStructDefaults) {
    const ParamSet p = superpixelParams();
    EXPECT_EQ(p.group(), "superpixels");
    const SuperpixelSettings d;
    EXPECT_EQ(p.getChoice("algorithm"), d.algorithm);
    EXPECT_EQ(p.getInt("count"), d.count);
    EXPECT_DOUBLE_EQ(p.getFloat("compactness"), d.compactness);
    EXPECT_EQ(p.getInt("iterations"), d.iterations);
    EXPECT_DOUBLE_EQ(p.getFloat("min_size_percent"), d.min_size_percent);
    ParamSet q = p;
    EXPECT_THROW(q.set("count", int64_t{1}), Error);
    EXPECT_THROW(q.setFromString("algorithm", "watershed"), Error);
    q.setFromString("algorithm", "grid");
    q.setFromString("count", "16");
    const SuperpixelSettings s = superpixelSettingsFrom(q);
    EXPECT_EQ(s.algorithm, "grid");
    EXPECT_EQ(s.count, 16);
}

TEST(Superpixels, GridGivesTheRequestedCountOfEqualCells) {
    SuperpixelSettings s;
    s.algorithm = "grid";
    s.count = 49;
    const cv::Mat labels = computeSuperpixels(testPicture(), s);
    int m = 0;
    expectContiguous(labels, &m);
    EXPECT_EQ(m, 49);
    // 7 x 7 cells of 32 x 32 pixels, row-major.
    EXPECT_EQ(labels.at<int>(0, 0), 0);
    EXPECT_EQ(labels.at<int>(31, 31), 0);
    EXPECT_EQ(labels.at<int>(0, 32), 1);
    EXPECT_EQ(labels.at<int>(32, 0), 7);
    EXPECT_EQ(labels.at<int>(223, 223), 48);
    // Non-square image: about `count` near-square cells.
    s.count = 6;
    const cv::Mat wide = computeSuperpixels(testPicture(90, 60), s);
    expectContiguous(wide, &m);
    EXPECT_EQ(m, 6);  // 3 x 2 cells of 30 x 30
    EXPECT_EQ(wide.at<int>(0, 29), 0);
    EXPECT_EQ(wide.at<int>(0, 30), 1);
    EXPECT_EQ(wide.at<int>(30, 0), 3);
}

TEST(Superpixels, SlicFamilyCountIsWithinAFactorOfTwoOfTheTarget) {
    const cv::Mat img = testPicture();
    for (const std::string algorithm : {"slic", "slico", "mslic"}) {
        SuperpixelSettings s;
        s.algorithm = algorithm;
        s.count = 50;
        const cv::Mat labels = computeSuperpixels(img, s);
        ASSERT_EQ(labels.size(), img.size()) << algorithm;
        int m = 0;
        expectContiguous(labels, &m);
        EXPECT_GE(m, 25) << algorithm;
        EXPECT_LE(m, 100) << algorithm;
    }
}

TEST(Superpixels, SlicFollowsAColourEdge) {
    // Left half black, right half white: no SLIC superpixel may straddle the edge much.
    cv::Mat img(64, 64, CV_8UC3, cv::Scalar(0, 0, 0));
    img(cv::Rect(32, 0, 32, 64)).setTo(cv::Scalar(255, 255, 255));
    SuperpixelSettings s;
    s.count = 8;
    const cv::Mat labels = computeSuperpixels(img, s);
    int m = 0;
    expectContiguous(labels, &m);
    std::vector<int> dark(m, 0), light(m, 0);
    for (int y = 0; y < 64; ++y)
        for (int x = 0; x < 64; ++x) (x < 32 ? dark : light)[labels.at<int>(y, x)]++;
    for (int i = 0; i < m; ++i) EXPECT_TRUE(dark[i] == 0 || light[i] == 0) << "superpixel " << i << " crosses the edge";
}

TEST(Superpixels, GreyInputWorks) {
    cv::Mat grey;
    cv::cvtColor(testPicture(28, 28), grey, cv::COLOR_RGB2GRAY);
    SuperpixelSettings s;
    s.count = 9;
    int m = 0;
    expectContiguous(computeSuperpixels(grey, s), &m);
    EXPECT_GE(m, 4);
    EXPECT_LE(m, 18);
}

TEST(Superpixels, CountAbovePixelCountIsAnError) {
    SuperpixelSettings s;
    s.count = 5000;
    const std::string msg = errorOf([&] { computeSuperpixels(cv::Mat(28, 28, CV_8UC1, cv::Scalar(7)), s); });
    EXPECT_NE(msg.find("superpixels.count = 5000 is more than the 784 pixels of the model's 28x28 input"),
              std::string::npos)
        << msg;
    EXPECT_NE(errorOf([&] { computeSuperpixels(cv::Mat(4, 4, CV_32F), SuperpixelSettings{}); }), "");
}

TEST(Superpixels, RelabelContiguousKeepsOrderAndNone) {
    const cv::Mat in = (cv::Mat_<int>(1, 6) << 5, 5, -1, 9, 2, 9);
    int m = 0;
    const cv::Mat out = relabelContiguous(in, &m);
    EXPECT_EQ(m, 3);
    const std::vector<int> want{1, 1, -1, 2, 0, 2};
    for (int i = 0; i < 6; ++i) EXPECT_EQ(out.at<int>(0, i), want[i]);
    EXPECT_EQ(countSegments(in), 3);
}

TEST(Superpixels, LabelMapRoundTripsThroughSixteenBitPng) {
    TempDir dir;
    cv::Mat labels(30, 40, CV_32S);
    for (int y = 0; y < 30; ++y)
        for (int x = 0; x < 40; ++x) labels.at<int>(y, x) = (y * 40 + x) * 53 % 1000;
    labels.at<int>(0, 0) = -1;       // "no segment"
    labels.at<int>(29, 39) = 65534;  // the largest label a 16-bit PNG holds
    writeLabelMap(dir / "labels.png", labels);
    const cv::Mat back = readLabelMap(dir / "labels.png");
    ASSERT_EQ(back.type(), CV_32S);
    ASSERT_EQ(back.size(), labels.size());
    EXPECT_EQ(cv::countNonZero(back != labels), 0);
    // Stored as value + 1 in 16 bits.
    const cv::Mat raw = cv::imread((dir / "labels.png").string(), cv::IMREAD_UNCHANGED);
    ASSERT_EQ(raw.type(), CV_16UC1);
    EXPECT_EQ(raw.at<uint16_t>(0, 0), 0);
    EXPECT_EQ(raw.at<uint16_t>(0, 1), labels.at<int>(0, 1) + 1);
}

TEST(Superpixels, EightBitLabelMapIsReadWithZeroAsNone) {
    TempDir dir;
    cv::Mat raw = (cv::Mat_<uchar>(2, 3) << 0, 1, 2, 3, 3, 255);
    writePngAtomic(dir / "m8.png", raw);
    const cv::Mat labels = readLabelMap(dir / "m8.png");
    const std::vector<int> want{-1, 0, 1, 2, 2, 254};
    for (int i = 0; i < 6; ++i) EXPECT_EQ(labels.at<int>(i / 3, i % 3), want[i]);
}

TEST(Superpixels, BadLabelMapFilesGiveClearErrors) {
    TempDir dir;
    writePngAtomic(dir / "colour.png", cv::Mat(4, 4, CV_8UC3, cv::Scalar(1, 2, 3)));
    std::string msg = errorOf([&] { readLabelMap(dir / "colour.png"); });
    EXPECT_NE(msg.find("colour.png"), std::string::npos) << msg;
    EXPECT_NE(msg.find("single-channel"), std::string::npos) << msg;

    writeText(dir / "text.png", "not a png at all");
    msg = errorOf([&] { readLabelMap(dir / "text.png"); });
    EXPECT_NE(msg.find("text.png"), std::string::npos) << msg;
    EXPECT_NE(msg.find("not a PNG"), std::string::npos) << msg;

    msg = errorOf([&] { readLabelMap(dir / "missing.png"); });
    EXPECT_NE(msg.find("missing.png"), std::string::npos) << msg;

    cv::Mat big(2, 2, CV_32S, cv::Scalar(65535));
    msg = errorOf([&] { writeLabelMap(dir / "big.png", big); });
    EXPECT_NE(msg.find("65535"), std::string::npos) << msg;
    EXPECT_FALSE(std::filesystem::exists(dir / "big.png"));
}

TEST(Superpixels, ImportedMapMustHaveTheImagesSize) {
    InputSpec spec;
    spec.width = 32;
    spec.height = 32;
    spec.resize = InputSpec::Resize::Stretch;
    const InputGeometry g = inputGeometry(cv::Size(40, 30), spec);
    const std::string msg = errorOf([&] { labelsToInputGrid(cv::Mat(20, 20, CV_32S, cv::Scalar(0)), g); });
    EXPECT_NE(msg.find("20x20"), std::string::npos) << msg;
    EXPECT_NE(msg.find("40x30"), std::string::npos) << msg;
}

TEST(Superpixels, ImportedMapIsSampledOntoTheInputGrid) {
    // 64x32 original: left half segment 3, right half segment 7. Stretch to 32x32.
    cv::Mat original(32, 64, CV_32S, cv::Scalar(3));
    original(cv::Rect(32, 0, 32, 32)).setTo(7);
    InputSpec spec;
    spec.width = 32;
    spec.height = 32;
    spec.resize = InputSpec::Resize::Stretch;
    cv::Mat grid = labelsToInputGrid(original, inputGeometry(original.size(), spec));
    ASSERT_EQ(grid.size(), cv::Size(32, 32));
    for (int v = 0; v < 32; ++v)
        for (int u = 0; u < 32; ++u) ASSERT_EQ(grid.at<int>(v, u), u < 16 ? 3 : 7);

    // Letterbox: the padding above and below the image belongs to no segment (-1).
    spec.resize = InputSpec::Resize::Letterbox;
    const InputGeometry g = inputGeometry(original.size(), spec);
    grid = labelsToInputGrid(original, g);
    EXPECT_EQ(grid.at<int>(0, 0), -1);  // padding (image occupies rows 8..23)
    EXPECT_EQ(grid.at<int>(31, 31), -1);
    EXPECT_EQ(grid.at<int>(16, 0), 3);
    EXPECT_EQ(grid.at<int>(16, 31), 7);
    // And back to the original with mapToOriginal (nearest) gives the map again.
    const cv::Mat back = mapToOriginal(grid, g, cv::INTER_NEAREST, -1);
    EXPECT_EQ(cv::countNonZero(back != original), 0);
}
