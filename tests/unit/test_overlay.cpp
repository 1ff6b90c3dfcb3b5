// The one colour language of heatmaps: the kind of scale comes from the method,
// every pixel (0 included) is blended the same way, the legend is drawn by the
// same colour function, and the range / clipping options behave as documented.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "common/error.hpp"
#include "explain/explainer.hpp"
#include "image/overlay.hpp"
#include "report/comparison_sheet.hpp"

using namespace mirada;

namespace {

const cv::Vec3b kImage(90, 140, 60);
constexpr int kBar = 257;  // column x of the bar shows low + (high - low) * x / 256

// What the legend promises for a pixel whose bar colour is `c`.
cv::Vec3b blend(const cv::Vec3b& c, double a) {
    cv::Vec3b out;
    for (int k = 0; k < 3; ++k) out[k] = cv::saturate_cast<uchar>((1 - a) * kImage[k] + a * c[k]);
    return out;
}

void expectNear(const cv::Vec3b& got, const cv::Vec3b& want, const std::string& what) {
    for (int k = 0; k < 3; ++k)
        EXPECT_LE(std::abs(int(got[k]) - int(want[k])), 1)
            << what << ": got (" << int(got[0]) << "," << int(got[1]) << "," << int(got[2]) << ") want ("
            << int(want[0]) << "," << int(want[1]) << "," << int(want[2]) << ")";
}

cv::Mat image(int rows, int cols) { return cv::Mat(rows, cols, CV_8UC3, cv::Scalar(kImage[0], kImage[1], kImage[2])); }

cv::Mat row(const std::vector<float>& values) {
    cv::Mat m(1, static_cast<int>(values.size()), CV_32F);
    for (size_t i = 0; i < values.size(); ++i) m.at<float>(0, static_cast<int>(i)) = values[i];
    return m;
}

Explanation explanation(const cv::Mat& heatmap, bool signedMap) {
    Explanation e;
    e.method = signedMap ? "lime" : "gradcam";
    e.method_title = e.method;
    e.heatmap = heatmap;
    e.signed_map = signedMap;
    return e;
}

}  // namespace

TEST(OverlayColour, ZeroIsDrawnAsTheLegendSays) {
    for (const std::string cmap : {"jet", "viridis", "hot"}) {
        for (const double a : {0.5, 0.8}) {
            OverlayOptions o;
            o.colormap = cmap;
            o.opacity = a;
            // Unsigned: exact zeros (and a NaN, which counts as 0) get the bar's left end, the maximum its right end.
            const float nan = std::numeric_limits<float>::quiet_NaN();
            const cv::Mat u = row({0.0f, 0.0f, 0.37f, 1.5f, nan});
            const ColourScale su = colourScaleFor(u, false, o);
            ASSERT_FLOAT_EQ(su.end, 1.5f);
            const cv::Mat outU = renderOverlay(image(1, 5), u, su, o);
            const cv::Mat barU = renderColorbar(kBar, 1, o, false);
            expectNear(outU.at<cv::Vec3b>(0, 0), blend(barU.at<cv::Vec3b>(0, 0), a), cmap + " unsigned 0");
            expectNear(outU.at<cv::Vec3b>(0, 4), blend(barU.at<cv::Vec3b>(0, 0), a), cmap + " unsigned NaN");
            expectNear(outU.at<cv::Vec3b>(0, 3), blend(barU.at<cv::Vec3b>(0, kBar - 1), a), cmap + " unsigned end");
            EXPECT_NE(outU.at<cv::Vec3b>(0, 0), kImage);  // a zero pixel is coloured, not left out
            EXPECT_EQ(scaleColour(0.0f, su, cmap), barU.at<cv::Vec3b>(0, 0));

            // Signed: 0 is white at `opacity`, +end the right end, -end the left end.
            const cv::Mat s = row({0.0f, 0.2f, -0.2f, 0.05f});
            const ColourScale ss = colourScaleFor(s, true, o);
            ASSERT_FLOAT_EQ(ss.end, 0.2f);
            const cv::Mat outS = renderOverlay(image(1, 4), s, ss, o);
            const cv::Mat barS = renderColorbar(kBar, 1, o, true);
            EXPECT_EQ(barS.at<cv::Vec3b>(0, kBar / 2), cv::Vec3b(255, 255, 255));
            expectNear(outS.at<cv::Vec3b>(0, 0), blend(cv::Vec3b(255, 255, 255), a), cmap + " signed 0");
            expectNear(outS.at<cv::Vec3b>(0, 0), blend(barS.at<cv::Vec3b>(0, kBar / 2), a), cmap + " signed 0 bar");
            expectNear(outS.at<cv::Vec3b>(0, 1), blend(barS.at<cv::Vec3b>(0, kBar - 1), a), cmap + " signed +end");
            expectNear(outS.at<cv::Vec3b>(0, 2), blend(barS.at<cv::Vec3b>(0, 0), a), cmap + " signed -end");
            // 0.05 = a quarter of the way from 0 to +end: column 128 + 32.
            expectNear(outS.at<cv::Vec3b>(0, 3), blend(barS.at<cv::Vec3b>(0, 160), a), cmap + " signed end/4");
        }
    }
}

TEST(OverlayColour, SignedMapWithSmallNegativesIsStillDivergingAndSymmetric) {
    OverlayOptions o;
    // Mostly positive, the negatives tiny: the kind comes from the method, not from the balance.
    const cv::Mat m = row({1.0f, 0.3f, -0.001f, 0.0f, -0.5f, 0.5f});
    const ColourScale s = colourScaleFor(m, true, o);
    EXPECT_TRUE(s.signed_map);
    EXPECT_FLOAT_EQ(s.end, 1.0f);  // max |v|
    EXPECT_FALSE(s.clipped);
    const auto labels = legendLabels(s);
    ASSERT_EQ(labels.size(), 3u);
    EXPECT_EQ(labels[0], "-1");
    EXPECT_EQ(labels[1], "0");
    EXPECT_EQ(labels[2], "+1");
    const cv::Mat out = renderOverlay(image(1, 6), m, s, o);
    const cv::Mat bar = renderColorbar(kBar, 1, o, true);
    // -0.5 * end sits at t = 0.25 of the legend (column 64) and is blue-ish.
    const cv::Vec3b quarter = bar.at<cv::Vec3b>(0, 64);
    EXPECT_GT(quarter[2], quarter[0] + 40);
    expectNear(out.at<cv::Vec3b>(0, 4), blend(quarter, o.opacity), "-0.5 end");
    expectNear(out.at<cv::Vec3b>(0, 5), blend(bar.at<cv::Vec3b>(0, 192), o.opacity), "+0.5 end");
    expectNear(out.at<cv::Vec3b>(0, 3), blend(cv::Vec3b(255, 255, 255), o.opacity), "0");
    // The same map declared unsigned (e.g. a CAM) uses the sequential scale from 0.
    const ColourScale u = colourScaleFor(m, false, o);
    EXPECT_FALSE(u.signed_map);
    EXPECT_FLOAT_EQ(u.end, 1.0f);
    EXPECT_EQ(legendLabels(u), (std::vector<std::string>{"0", "1"}));
    // Explanations: the kind is Explanation::signed_map, whatever the values.
    const cv::Mat positive = row({0.1f, 0.4f});
    const auto scales =
        colourScalesFor(std::vector<Explanation>{explanation(positive, true), explanation(m, false)}, o);
    EXPECT_TRUE(scales[0].signed_map);
    EXPECT_FLOAT_EQ(scales[0].end, 0.4f);
    EXPECT_FALSE(scales[1].signed_map);
}

TEST(OverlayColour, SharedRangeIsOnePerKind) {
    OverlayOptions o;
    const cv::Mat a = row({0.0f, 2.0f}), b = row({0.0f, 0.5f});           // unsigned
    const cv::Mat c = row({-0.3f, 0.1f}), d = row({0.05f, -0.1f, 0.0f});  // signed
    const std::vector<ScaledMap> maps{{&a, false}, {&c, true}, {&b, false}, {&d, true}};
    auto per = colourScalesFor(maps, o);
    EXPECT_FLOAT_EQ(per[0].end, 2.0f);
    EXPECT_FLOAT_EQ(per[1].end, 0.3f);
    EXPECT_FLOAT_EQ(per[2].end, 0.5f);
    EXPECT_FLOAT_EQ(per[3].end, 0.1f);
    o.range = "shared";
    auto shared = colourScalesFor(maps, o);
    EXPECT_FLOAT_EQ(shared[0].end, 2.0f);
    EXPECT_FLOAT_EQ(shared[2].end, 2.0f);
    EXPECT_FLOAT_EQ(shared[1].end, 0.3f);
    EXPECT_FLOAT_EQ(shared[3].end, 0.3f);
    for (const auto& s : shared) EXPECT_FALSE(s.clipped);
    EXPECT_FALSE(shared[0].signed_map);
    EXPECT_TRUE(shared[3].signed_map);
    // b's maximum is a quarter of the shared end: it is drawn like 0.25 on the legend, not at the top.
    const cv::Mat out = renderOverlay(image(1, 2), b, shared[2], o);
    const cv::Mat bar = renderColorbar(kBar, 1, o, false);
    expectNear(out.at<cv::Vec3b>(0, 1), blend(bar.at<cv::Vec3b>(0, 64), o.opacity), "shared 0.5 of 2");
    EXPECT_NE(out.at<cv::Vec3b>(0, 1), renderOverlay(image(1, 2), b, per[2], o).at<cv::Vec3b>(0, 1));
    // A kind absent from the list changes nothing; a null map gets a zero scale.
    const auto only = colourScalesFor(std::vector<ScaledMap>{{&b, false}, {nullptr, true}}, o);
    EXPECT_FLOAT_EQ(only[0].end, 0.5f);
    EXPECT_FLOAT_EQ(only[1].end, 0.0f);
    // Through explanations, as the sheet and the export use it.
    const auto viaE = colourScalesFor(
        std::vector<Explanation>{explanation(a, false), explanation(b, false), explanation(c, true)}, o);
    EXPECT_FLOAT_EQ(viaE[1].end, 2.0f);
    EXPECT_FLOAT_EQ(viaE[2].end, 0.3f);
}

TEST(OverlayColour, PercentileClippingSetsTheEndAndSaturates) {
    OverlayOptions o;
    std::vector<float> ramp;
    for (int i = 0; i <= 100; ++i) ramp.push_back(float(i));
    ramp.push_back(-40.0f);  // ignored by an unsigned scale's percentile
    const cv::Mat u = row(ramp);
    EXPECT_FLOAT_EQ(colourScaleFor(u, false, o).end, 100.0f);
    EXPECT_FALSE(colourScaleFor(u, false, o).clipped);
    o.clip_percentile = 90;
    const ColourScale s = colourScaleFor(u, false, o);
    EXPECT_FLOAT_EQ(s.end, 90.0f);
    EXPECT_TRUE(s.clipped);
    EXPECT_EQ(clipNote(s, o), "clipped at 90th pct");
    o.clip_percentile = 99.5;
    EXPECT_FLOAT_EQ(colourScaleFor(u, false, o).end, 99.5f);  // linear interpolation
    o.clip_percentile = 90;
    // Values above the end saturate at the legend's top colour.
    const cv::Mat out = renderOverlay(image(1, u.cols), u, s, o);
    const cv::Mat bar = renderColorbar(kBar, 1, o, false);
    const cv::Vec3b top = blend(bar.at<cv::Vec3b>(0, kBar - 1), o.opacity);
    expectNear(out.at<cv::Vec3b>(0, 90), top, "at the end");
    EXPECT_EQ(out.at<cv::Vec3b>(0, 95), out.at<cv::Vec3b>(0, 100));
    expectNear(out.at<cv::Vec3b>(0, 100), top, "above the end");
    EXPECT_NE(out.at<cv::Vec3b>(0, 45), out.at<cv::Vec3b>(0, 100));

    // Signed: the percentile of |v|. -100..100 -> |v| = 0, 1, 1, 2, 2, ...; the median is 50.
    std::vector<float> sym;
    for (int i = -100; i <= 100; ++i) sym.push_back(float(i));
    const cv::Mat sm = row(sym);
    o.clip_percentile = 50;
    const ColourScale ss = colourScaleFor(sm, true, o);
    EXPECT_FLOAT_EQ(ss.end, 50.0f);
    EXPECT_TRUE(ss.clipped);
    const cv::Mat outS = renderOverlay(image(1, sm.cols), sm, ss, o);
    EXPECT_EQ(outS.at<cv::Vec3b>(0, 0), outS.at<cv::Vec3b>(0, 50));     // -100 and -50: both the left end
    EXPECT_EQ(outS.at<cv::Vec3b>(0, 200), outS.at<cv::Vec3b>(0, 150));  // +100 and +50: both the right end
    EXPECT_NE(outS.at<cv::Vec3b>(0, 125), outS.at<cv::Vec3b>(0, 150));

    // Mostly zeros: a percentile of 0 would hide real evidence, so the maximum is kept.
    std::vector<float> sparse(100, 0.0f);
    sparse[7] = 3.0f;
    o.clip_percentile = 90;
    const ColourScale sp = colourScaleFor(row(sparse), false, o);
    EXPECT_FLOAT_EQ(sp.end, 3.0f);
    EXPECT_FALSE(sp.clipped);

    // Shared + clipped: the largest clipped end of the kind, flagged as clipped where the map saturates.
    o.range = "shared";
    const cv::Mat small = row({0.0f, 1.0f});
    const auto shared = colourScalesFor(std::vector<ScaledMap>{{&u, false}, {&small, false}}, o);
    EXPECT_FLOAT_EQ(shared[0].end, 90.0f);
    EXPECT_FLOAT_EQ(shared[1].end, 90.0f);
    EXPECT_TRUE(shared[0].clipped);
    EXPECT_FALSE(shared[1].clipped);  // all of its values lie below the shared end
}

TEST(OverlayColour, BadOptionsThrowNamingTheValue) {
    const cv::Mat m = row({0.0f, 1.0f});
    const auto expectThrow = [&](const OverlayOptions& o, const std::string& text) {
        try {
            validateOverlayOptions(o);
            ADD_FAILURE() << "no error for " << text;
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
        }
        EXPECT_THROW(colourScaleFor(m, false, o), Error);
        EXPECT_THROW(renderOverlay(image(1, 2), m, ColourScale{false, 1.0f, false}, o), Error);
        EXPECT_THROW(colourScalesFor(std::vector<ScaledMap>{{&m, false}}, o), Error);
    };
    OverlayOptions o;
    EXPECT_NO_THROW(validateOverlayOptions(o));
    o.colormap = "rainbow";
    expectThrow(o, "rainbow");
    o = {};
    o.opacity = 1.5;
    expectThrow(o, "between 0 and 1");
    o.opacity = std::nan("");
    expectThrow(o, "opacity");
    o = {};
    o.range = "auto";  // the old scale names are not ranges
    expectThrow(o, "'auto'; use one of: per-map, shared");
    o = {};
    o.clip_percentile = 49.9;
    expectThrow(o, "49.9");
    o.clip_percentile = 100.5;
    expectThrow(o, "between 50 and 100");
    o.clip_percentile = std::nan("");
    expectThrow(o, "clip percentile");
    o = {};
    EXPECT_THROW(renderOverlay(image(1, 3), m, ColourScale{}, o), Error);  // size mismatch
}

TEST(OverlayColour, LegendTextAndSheetLegends) {
    EXPECT_EQ(formatScaleValue(0.0312345), "0.0312");
    EXPECT_EQ(formatScaleValue(0.031, true), "+0.031");
    EXPECT_EQ(formatScaleValue(-0.031, true), "-0.031");
    EXPECT_EQ(formatScaleValue(0.0, true), "0");
    EXPECT_EQ(legendLabels(ColourScale{true, 0.031f, false}), (std::vector<std::string>{"-0.031", "0", "+0.031"}));
    EXPECT_EQ(legendLabels(ColourScale{false, 0.87f, false}), (std::vector<std::string>{"0", "0.87"}));
    OverlayOptions o;
    o.clip_percentile = 99;
    EXPECT_EQ(clipNote(ColourScale{false, 1, true}, o), "clipped at 99th pct");
    EXPECT_EQ(clipNote(ColourScale{false, 1, false}, o), "");
    o.clip_percentile = 92;
    EXPECT_EQ(clipNote(ColourScale{false, 1, true}, o), "clipped at 92nd pct");

    // The sheet draws each map's colour bar: both ends of both scales appear in it.
    o = {};
    cv::Mat img = image(32, 32);
    cv::Mat cam(32, 32, CV_32F), lime(32, 32, CV_32F);
    for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x) {
            cam.at<float>(y, x) = float(x);
            lime.at<float>(y, x) = float(x - 16);
        }
    const cv::Mat sheet = renderComparisonSheet(img, "test", {explanation(cam, false), explanation(lime, true)}, o);
    const auto contains = [&](const cv::Vec3b& c) {
        for (int y = 0; y < sheet.rows; ++y)
            for (int x = 0; x < sheet.cols; ++x)
                if (sheet.at<cv::Vec3b>(y, x) == c) return true;
        return false;
    };
    const cv::Mat seq = renderColorbar(kBar, 1, o, false), div = renderColorbar(kBar, 1, o, true);
    EXPECT_TRUE(contains(seq.at<cv::Vec3b>(0, 0)));
    EXPECT_TRUE(contains(seq.at<cv::Vec3b>(0, kBar - 1)));
    EXPECT_TRUE(contains(div.at<cv::Vec3b>(0, 0)));
    EXPECT_TRUE(contains(div.at<cv::Vec3b>(0, kBar - 1)));
}
