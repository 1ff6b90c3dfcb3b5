// Metrics with answers computable by hand: deletion / insertion curves on a
// model whose score is the fraction of a known region still present, AUC of
// simple curves, Spearman / top-k IoU of known maps, and the agreement matrix.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>

#include "common/error.hpp"
#include "metrics/agreement.hpp"
#include "metrics/faithfulness.hpp"
#include "metrics/input_grid.hpp"
#include "metrics_test_models.hpp"
#include "test_helpers.hpp"

using namespace mirada;
using namespace mirada::test;

namespace {

// Faithfulness on the region model: one pixel per step, so every curve point is exact.
FaithfulnessRequest regionRequest(RegionFractionModel& model, const cv::Mat& image, int batch = 16, uint64_t seed = 3) {
    FaithfulnessRequest r;
    r.model = &model;
    r.image = image;
    r.target_index = 0;
    r.seed = seed;
    r.batch_size = batch;
    r.params = faithfulnessParams();
    r.params.set("step_fraction", 1.0 / 64);
    // The hand-computed curves below delete to black (this model's dataset
    // mean) and insert from RISE's blurred copy; the defaults (the model's
    // baseline for both) have their own test.
    r.params.setFromString("fill", "dataset-mean");
    r.params.setFromString("insertion_start", "blur");
    return r;
}

}  // namespace

TEST(MetricsAuc, ConstantCurveHasItsValueAndTrapezoidsAreExact) {
    EXPECT_DOUBLE_EQ(curveAuc({0, 0.25, 1}, {0.7, 0.7, 0.7}), 0.7);
    EXPECT_DOUBLE_EQ(curveAuc({0, 1}, {1, 0}), 0.5);           // triangle
    EXPECT_DOUBLE_EQ(curveAuc({0, 0.5, 1}, {0, 1, 1}), 0.75);  // 0.25 + 0.5
    EXPECT_DOUBLE_EQ(curveAuc({0.2, 0.6}, {0.1, 0.3}), 0.2);   // normalised by the span
    EXPECT_DOUBLE_EQ(curveAuc({0.5}, {0.4}), 0.4);             // one point: its value
    EXPECT_THROW(curveAuc({0, 1}, {1}), Error);
    EXPECT_THROW(curveAuc({0, 0}, {1, 1}), Error);
    EXPECT_THROW(curveAuc({}, {}), Error);
}

TEST(MetricsFaithfulness, RegionFirstMapHasTheBestDeletionAucAndTheReversedMapTheWorst) {
    RegionFractionModel model;
    const cv::Mat image = model.regionImage(8);
    FaithfulnessEvaluator ev(regionRequest(model, image));
    EXPECT_EQ(ev.pixels(), 64);
    EXPECT_EQ(ev.pixelsPerStep(), 1);
    const cv::Mat regionFirst = model.regionMap(8);
    const cv::Mat reversed = -regionFirst;
    const auto good = ev.evaluate(regionFirst);
    const auto bad = ev.evaluate(reversed);
    const auto rnd = ev.randomFloor();

    // 65 points; the region's 16 pixels go first: score 1 - k/16, then 0.
    ASSERT_EQ(good.deletion.score.size(), 65u);
    EXPECT_DOUBLE_EQ(good.deletion.fraction.front(), 0.0);
    EXPECT_DOUBLE_EQ(good.deletion.fraction.back(), 1.0);
    for (int k = 0; k <= 64; ++k) EXPECT_NEAR(good.deletion.score[k], std::max(0.0, 1.0 - k / 16.0), 1e-6) << k;
    EXPECT_NEAR(good.deletion.auc, 0.5 * 16 / 64, 1e-6);  // the triangle over the first quarter
    EXPECT_NEAR(bad.deletion.auc, 48.0 / 64 + 0.5 * 16 / 64, 1e-6);
    EXPECT_GT(rnd.deletion.auc, good.deletion.auc + 0.1);
    EXPECT_LT(rnd.deletion.auc, bad.deletion.auc - 0.1);

    // Insertion from the blurred copy: revealing the region first raises the score at once.
    EXPECT_NEAR(good.insertion.score.back(), 1.0, 1e-6);
    EXPECT_NEAR(good.insertion.score.front(), bad.insertion.score.front(), 1e-9);  // the same blurred start
    EXPECT_LT(good.insertion.score.front(), 0.9);
    EXPECT_GT(good.insertion.auc, rnd.insertion.auc);
    EXPECT_GT(rnd.insertion.auc, bad.insertion.auc);
    // Revealing background pixels first changes nothing for 48 steps.
    for (int k = 0; k <= 48; ++k) EXPECT_NEAR(bad.insertion.score[k], bad.insertion.score[0], 1e-6) << k;
    EXPECT_EQ(good.model_evaluations, 2 * 65);
}

TEST(MetricsFaithfulness, MapAtOriginalResolutionIsRankedOnTheModelsInputGrid) {
    RegionFractionModel model;  // 8x8 input, stretch
    const cv::Mat image = model.regionImage(16);
    FaithfulnessEvaluator ev(regionRequest(model, image));
    const auto c = ev.evaluate(model.regionMap(16));
    EXPECT_NEAR(c.deletion.auc, 0.125, 1e-6);
    // heatmapToInputGrid averages each input pixel's 2x2 footprint.
    cv::Mat m(16, 16, CV_32F);
    for (int y = 0; y < 16; ++y)
        for (int x = 0; x < 16; ++x) m.at<float>(y, x) = static_cast<float>(x + 100 * y);
    const cv::Mat g = heatmapToInputGrid(m, inputGeometry(m.size(), model.info().input));
    ASSERT_EQ(g.size(), cv::Size(8, 8));
    EXPECT_FLOAT_EQ(g.at<float>(0, 0), (0 + 1 + 100 + 101) / 4.0f);
    EXPECT_FLOAT_EQ(g.at<float>(3, 5), (610 + 611 + 710 + 711) / 4.0f);  // x 10..11, y 6..7
}

TEST(MetricsFaithfulness, LetterboxPaddingIsNeverRankedOrChanged) {
    RegionFractionModel model(InputSpec::Resize::Letterbox);
    cv::Mat image = model.regionImage(8);
    cv::Mat wide;
    cv::hconcat(image, image, wide);  // 16x8 -> 8x4 inside the 8x8 input, 2 padding rows above and below
    FaithfulnessRequest req = regionRequest(model, wide);
    FaithfulnessEvaluator ev(req);
    EXPECT_EQ(ev.pixels(), 32);
    cv::Mat map = cv::Mat::zeros(wide.size(), CV_32F);
    const auto order = ev.ranking(map);
    ASSERT_EQ(order.size(), 64u);
    for (int i = 32; i < 64; ++i) {  // the last 32 are the padding rows 0-1 and 6-7
        const int64_t row = order[i] / 8;
        EXPECT_TRUE(row < 2 || row >= 6) << "rank " << i << " is pixel " << order[i];
    }
    const auto c = ev.evaluate(map);
    EXPECT_DOUBLE_EQ(c.deletion.fraction.back(), 1.0);
    EXPECT_EQ(c.deletion.fraction.size(), 33u);
}

TEST(MetricsFaithfulness, BatchSizeDoesNotChangeTheCurvesAndTiesAreBrokenBySeed) {
    RegionFractionModel model;
    const cv::Mat image = model.regionImage(8);
    FaithfulnessEvaluator small(regionRequest(model, image, 5)), large(regionRequest(model, image, 64));
    cv::Mat flat = cv::Mat::zeros(8, 8, CV_32F);
    const auto a = small.evaluate(flat), b = large.evaluate(flat);
    EXPECT_EQ(a.deletion.score, b.deletion.score);
    EXPECT_EQ(a.insertion.score, b.insertion.score);
    EXPECT_EQ(small.ranking(flat), large.ranking(flat));  // same seed, same order of ties
    FaithfulnessEvaluator other(regionRequest(model, image, 16, 4));
    EXPECT_NE(other.ranking(flat), small.ranking(flat));
    EXPECT_GT(a.deletion.auc, 0.125 + 0.05);
    EXPECT_LT(a.deletion.auc, 0.875 - 0.05);
}

TEST(MetricsFaithfulness, CancelStopsAtTheNextBatchAndProgressIsReported) {
    RegionFractionModel model;
    const cv::Mat image = model.regionImage(8);
    FaithfulnessEvaluator ev(regionRequest(model, image, 8));
    std::atomic<bool> cancel{true};
    RunContext ctx;
    ctx.cancel = &cancel;
    EXPECT_THROW(ev.evaluate(model.regionMap(8), ctx), Cancelled);

    cancel = false;
    int calls = 0;
    ctx.progress = [&](double f, const std::string&) {
        ++calls;
        EXPECT_GT(f, 0.0);
        EXPECT_LE(f, 1.0);
        cancel = true;  // cancel after the first batch
    };
    EXPECT_THROW(ev.evaluate(model.regionMap(8), ctx), Cancelled);
    EXPECT_EQ(calls, 1);

    // Over several explanations + the floor, progress rises to 1.
    cancel = false;
    std::vector<double> seen;
    ctx.progress = [&](double f, const std::string&) { seen.push_back(f); };
    Explanation e;
    e.method = "region";
    e.heatmap = model.regionMap(8);
    e.target_index = 0;
    const auto rep = evaluateFaithfulness(regionRequest(model, image, 8), {e, e}, ctx);
    ASSERT_FALSE(seen.empty());
    EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
    EXPECT_NEAR(seen.back(), 1.0, 1e-9);
    EXPECT_EQ(rep.methods.size(), 2u);
    EXPECT_NEAR(rep.curves[0].deletion.auc, 0.125, 1e-6);
    const auto j = toJson(rep);
    EXPECT_NEAR(j["methods"]["region"]["deletion_auc"].get<double>(), 0.125, 1e-6);
    EXPECT_TRUE(j["methods"]["region"]["deletion_beats_random"].get<bool>());
    const std::string csv = curvesCsv(rep);
    EXPECT_EQ(csv.rfind("method,curve,step,fraction,score\n", 0), 0u);
    EXPECT_NE(csv.find("\nrandom,insertion,64,1,"), std::string::npos);
}

TEST(MetricsFaithfulness, BadSettingsNameTheValue) {
    ParamSet p = faithfulnessParams();
    EXPECT_NE(errorOf([&] { p.setFromString("step_fraction", "0"); }).find("faithfulness.step_fraction"),
              std::string::npos);
    p.setFromString("blur_kernel", "4");
    EXPECT_NE(errorOf([&] { faithfulnessSettingsFrom(p); }).find("blur_kernel = 4"), std::string::npos);
    RegionFractionModel model;
    FaithfulnessRequest r = regionRequest(model, model.regionImage(8));
    r.target_index = 7;
    EXPECT_NE(errorOf([&] { FaithfulnessEvaluator ev(r); }).find("target class 7"), std::string::npos);
}

// ------------------------------------------------------------------ agreement

TEST(MetricsAgreement, AverageRanksForTies) {
    EXPECT_EQ(averageRanks({10, 20, 20, 30}), (std::vector<double>{1, 2.5, 2.5, 4}));
    EXPECT_EQ(averageRanks({5, 5, 5}), (std::vector<double>{2, 2, 2}));
}

TEST(MetricsAgreement, IdenticalMapsAgreeFullyAndANegationIsMinusOne) {
    cv::Mat a(6, 7, CV_32F);
    cv::randu(a, -1.0, 1.0);
    EXPECT_DOUBLE_EQ(spearman(a, a), 1.0);
    EXPECT_DOUBLE_EQ(topFractionIoU(a, a, 0.1), 1.0);
    EXPECT_NEAR(spearman(a, -a), -1.0, 1e-12);
    // Monotone transforms do not change ranks.
    cv::Mat e;
    cv::exp(a, e);
    EXPECT_NEAR(spearman(a, e * 3 + 1), 1.0, 1e-12);
    // With ties, by hand: ranks (1, 2.5, 2.5, 4) vs (1, 3, 2, 4) -> 4.5 / sqrt(4.5 * 5).
    cv::Mat x = (cv::Mat_<float>(1, 4) << 1, 2, 2, 3), y = (cv::Mat_<float>(1, 4) << 1, 3, 2, 4);
    EXPECT_NEAR(spearman(x, y), 4.5 / std::sqrt(22.5), 1e-12);
    // A constant map carries no order: 0, never NaN.
    cv::Mat zero = cv::Mat::zeros(6, 7, CV_32F);
    EXPECT_EQ(spearman(a, zero), 0.0);
    EXPECT_THROW(spearman(a, cv::Mat::zeros(7, 6, CV_32F)), Error);
}

TEST(MetricsAgreement, TopFractionIoUByHand) {
    // 10x10 maps valued by index; b is a shifted by 5: top 10% of a = 90..99, of b = 85..94 (values 90..99).
    cv::Mat a(10, 10, CV_32F), b(10, 10, CV_32F);
    for (int i = 0; i < 100; ++i) {
        a.at<float>(i / 10, i % 10) = static_cast<float>(i);
        b.at<float>(i / 10, i % 10) = static_cast<float>((i + 5) % 100);
    }
    // top(b): pixels whose (i + 5) % 100 >= 90, i.e. i in 85..94; overlap with 90..99 = 90..94.
    EXPECT_NEAR(topFractionIoU(a, b, 0.10), 5.0 / 15.0, 1e-12);
    EXPECT_EQ(cv::countNonZero(topFractionMask(a, 0.10)), 10);
    EXPECT_EQ(cv::countNonZero(topFractionMask(a, 0.001)), 1);  // at least one pixel, ceil
    EXPECT_THROW(topFractionMask(a, 0.0), Error);
}

TEST(MetricsAgreement, MatrixOverExplanationsIsSymmetricWithUnitDiagonal) {
    RegionFractionModel model;
    std::vector<Explanation> ex(3);
    const char* names[] = {"first", "negated", "noise"};
    cv::Mat noise(8, 8, CV_32F);
    cv::randu(noise, 0.0, 1.0);
    const cv::Mat maps[] = {model.regionMap(8) + 0.01 * noise, -(model.regionMap(8) + 0.01 * noise), noise};
    for (int i = 0; i < 3; ++i) {
        ex[i].method = names[i];
        ex[i].heatmap = maps[i];
    }
    AgreementSettings s;
    s.top_percent = 25;
    const auto m = agreementMatrix(ex, inputGeometry(cv::Size(8, 8), model.info().input), s);
    ASSERT_EQ(m.methods, (std::vector<std::string>{"first", "negated", "noise"}));
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(m.spearman[i][i], 1.0);
        EXPECT_EQ(m.top_iou[i][i], 1.0);
        for (int k = 0; k < 3; ++k) EXPECT_EQ(m.spearman[i][k], m.spearman[k][i]);
    }
    EXPECT_NEAR(m.spearman[0][1], -1.0, 1e-12);
    EXPECT_EQ(m.top_iou[0][1], 0.0);  // the region (top 25%) against the rest
    const auto j = toJson(m);
    EXPECT_EQ(j["pairs"].size(), 3u);
    EXPECT_EQ(j["pairs"][0]["a"], "first");
    AgreementSettings bad;
    bad.top_percent = 0;
    EXPECT_NE(errorOf([&] {
                  agreementMatrix(ex, inputGeometry(cv::Size(8, 8), model.info().input), bad);
              }).find("agreement.top_percent"),
              std::string::npos);
}
