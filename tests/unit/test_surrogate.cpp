// The surrogate engine (LIME and KernelSHAP) and the perturbation renderer.
// Answers are computed by hand: linear games have known Shapley values, small
// games are enumerated, LIME's ridge has a closed form.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include <atomic>
#include <cmath>
#include <numeric>
#include <set>

#include "common/error.hpp"
#include "explain/explainer.hpp"
#include "explain/methods.hpp"
#include "explain/surrogate/coalition_sampler.hpp"
#include "explain/surrogate/kernel_shap.hpp"
#include "explain/surrogate/lime.hpp"
#include "explain/surrogate/surrogate_engine.hpp"
#include "explain/surrogate/weighted_ridge.hpp"
#include "image/preprocess.hpp"
#include "models/model_zoo.hpp"
#include "segment/perturbation.hpp"
#include "segment/superpixels.hpp"
#include "test_helpers.hpp"

namespace fs = std::filesystem;
using namespace mirada;
using namespace mirada::test;

namespace {

using mirada::test::errorOf;

// v(z) = b + sum c_i z_i
FunctionCoalitionValue linearGame(const Eigen::VectorXd& c, double b) {
    return FunctionCoalitionValue(static_cast<int>(c.size()),
                                  [c, b](const Eigen::MatrixXd& z) -> Eigen::VectorXd { return (z * c).array() + b; });
}

Eigen::VectorXd someCoefficients(int m, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    Eigen::VectorXd c(m);
    for (int i = 0; i < m; ++i) c(i) = u(rng);
    return c;
}

// A non-linear game on 8 players: interactions, a max and a threshold.
double nonLinear(const Eigen::RowVectorXd& z) {
    return 0.3 + 1.5 * z(0) * z(1) + std::max({z(2), z(3), z(4)}) - 0.7 * z(5) * z(6) * z(7) + 0.2 * z(1) +
           (z.sum() >= 5 ? 0.4 : 0.0) + 0.25 * z(0) * z(7);
}

Eigen::VectorXd evalRows(const Eigen::MatrixXd& z, double (*f)(const Eigen::RowVectorXd&)) {
    Eigen::VectorXd v(z.rows());
    for (Eigen::Index i = 0; i < z.rows(); ++i) v(i) = f(z.row(i));
    return v;
}

// Exact Shapley values by enumerating every subset.
Eigen::VectorXd bruteForceShapley(int m, double (*f)(const Eigen::RowVectorXd&)) {
    std::vector<double> fact(m + 1, 1.0);
    for (int i = 1; i <= m; ++i) fact[i] = fact[i - 1] * i;
    Eigen::VectorXd phi = Eigen::VectorXd::Zero(m);
    for (int i = 0; i < m; ++i) {
        for (uint32_t mask = 0; mask < (1u << m); ++mask) {
            if (mask & (1u << i)) continue;
            Eigen::RowVectorXd z(m);
            int s = 0;
            for (int j = 0; j < m; ++j) {
                z(j) = (mask >> j) & 1u;
                s += static_cast<int>(z(j));
            }
            const double without = f(z);
            z(i) = 1;
            const double with = f(z);
            phi(i) += fact[s] * fact[m - s - 1] / fact[m] * (with - without);
        }
    }
    return phi;
}

RunContext quietContext() { return RunContext{}; }

}  // namespace

// ------------------------------------------------------------------ KernelSHAP

TEST(KernelShap, LinearGameEnumeratedGivesTheCoefficients) {
    const Eigen::VectorXd c = someCoefficients(6, 1);
    auto game = linearGame(c, 0.37);
    KernelShapSettings s;  // samples 0 = auto: 2*6 + 2048 > 2^6 - 2 -> enumerate everything
    const auto r = runKernelShap(game, s, 5, 16, quietContext());
    EXPECT_TRUE(r.exact);
    EXPECT_EQ(r.samples, 64);
    EXPECT_EQ(game.evaluations(), 64);
    for (int i = 0; i < 6; ++i) EXPECT_NEAR(r.values(i), c(i), 1e-9);
    EXPECT_NEAR(r.base_value, 0.37, 1e-12);
    EXPECT_NEAR(r.fx, 0.37 + c.sum(), 1e-12);
    EXPECT_NEAR(r.values.sum(), r.fx - r.base_value, 1e-12);
}

TEST(KernelShap, LinearGameSampledGivesTheCoefficients) {
    const Eigen::VectorXd c = someCoefficients(16, 2);
    for (bool paired : {true, false}) {
        auto game = linearGame(c, -0.2);
        KernelShapSettings s;
        s.samples = 600;  // far below 2^16 - 2
        s.paired = paired;
        const auto r = runKernelShap(game, s, 11, 64, quietContext());
        EXPECT_FALSE(r.exact);
        EXPECT_LE(r.samples, 602);
        EXPECT_GT(r.samples, 500);
        EXPECT_GT(r.design.enumerated_sizes, 0);  // sizes 1 and 15 (32 rows) fit the budget
        for (int i = 0; i < 16; ++i) EXPECT_NEAR(r.values(i), c(i), 1e-6) << "paired=" << paired << " i=" << i;
        EXPECT_NEAR(r.sum_check, 0.0, 1e-9);
    }
}

TEST(KernelShap, EnumerationEqualsBruteForceShapleyForANonLinearGame) {
    const int m = 8;
    FunctionCoalitionValue game(m, [](const Eigen::MatrixXd& z) { return evalRows(z, nonLinear); });
    KernelShapSettings s;
    s.samples = 254;  // exactly 2^8 - 2
    const auto r = runKernelShap(game, s, 3, 50, quietContext());
    ASSERT_TRUE(r.exact);
    const Eigen::VectorXd want = bruteForceShapley(m, nonLinear);
    for (int i = 0; i < m; ++i) EXPECT_NEAR(r.values(i), want(i), 1e-5) << "player " << i;
    // Efficiency holds for the brute force values too (a check on the test itself).
    EXPECT_NEAR(want.sum(), r.fx - r.base_value, 1e-9);
}

TEST(KernelShap, SampledNonLinearGameKeepsTheSumExactlyAndIsClose) {
    const int m = 8;
    FunctionCoalitionValue game(m, [](const Eigen::MatrixXd& z) { return evalRows(z, nonLinear); });
    KernelShapSettings s;
    s.samples = 150;  // < 254: sizes 1,7 and 2,6 enumerated, the rest sampled
    const auto r = runKernelShap(game, s, 9, 32, quietContext());
    EXPECT_FALSE(r.exact);
    const double total = r.fx - r.base_value;
    EXPECT_LE(std::abs(r.sum_check), 1e-6 * std::max(1.0, std::abs(total)));
    // An estimate: close to the exact values (about 1 for players 0 and 1,
    // 0.38 for 2-4, below 0.2 in size for 5-7), and the two strongest players stay on top.
    const Eigen::VectorXd want = bruteForceShapley(m, nonLinear);
    EXPECT_LT((r.values - want).cwiseAbs().maxCoeff(), 0.15);
    std::vector<int> order(m);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int a, int b) { return r.values(a) > r.values(b); });
    EXPECT_EQ(std::min(order[0], order[1]), 0);
    EXPECT_EQ(std::max(order[0], order[1]), 1);
}

TEST(KernelShap, DesignWeightsFollowTheShapleyKernel) {
    const int m = 5;
    const ShapDesign all = sampleShapCoalitions(m, 1000, true, 1);
    ASSERT_TRUE(all.exact);
    ASSERT_EQ(all.coalitions.rows(), 30);
    EXPECT_NEAR(all.weights.sum(), 1.0, 1e-12);
    // weight ratio between sizes 1 and 2 = k(1)/k(2) = (C(5,2)*2*3)/(C(5,1)*1*4) = 3
    double w1 = 0, w2 = 0;
    for (Eigen::Index i = 0; i < all.coalitions.rows(); ++i) {
        const int s = static_cast<int>(all.coalitions.row(i).sum());
        if (s == 1) w1 = all.weights(i);
        if (s == 2) w2 = all.weights(i);
    }
    EXPECT_NEAR(w1 / w2, 3.0, 1e-12);
    EXPECT_NEAR(shapleyKernelWeight(5, 1) / shapleyKernelWeight(5, 2), 3.0, 1e-12);

    // Sampled (M = 11: every size class is paired): no empty/full rows, no
    // duplicates, paired rows are complements, weights sum to 1.
    const int m2 = 11;
    const ShapDesign d = sampleShapCoalitions(m2, 200, true, 7);
    EXPECT_FALSE(d.exact);
    EXPECT_EQ(d.coalitions.rows(), 200);
    EXPECT_NEAR(d.weights.sum(), 1.0, 1e-12);
    std::set<std::vector<int>> rows;
    for (Eigen::Index i = 0; i < d.coalitions.rows(); ++i) {
        const double s = d.coalitions.row(i).sum();
        EXPECT_GT(s, 0);
        EXPECT_LT(s, m2);
        std::vector<int> r(m2);
        for (int j = 0; j < m2; ++j) r[j] = static_cast<int>(d.coalitions(i, j));
        EXPECT_TRUE(rows.insert(r).second) << "duplicate row " << i;
    }
    // The enumerated part (sizes 1 and 10: 22 rows) comes first, with the
    // kernel weight of its size; the sampled rows carry the remaining mass.
    EXPECT_EQ(d.enumerated_sizes, 1);
    for (Eigen::Index i = 0; i < m2; ++i) EXPECT_EQ(d.coalitions.row(i).sum(), 1);
    EXPECT_EQ(d.coalitions.row(m2).sum(), m2 - 1);
    double kernelTotal = 0;
    for (int s = 1; s < m2; ++s)
        kernelTotal += shapleyKernelWeight(m2, s) *
                       std::round(std::exp(std::lgamma(m2 + 1.0) - std::lgamma(s + 1.0) - std::lgamma(m2 - s + 1.0)));
    EXPECT_NEAR(d.weights(0), shapleyKernelWeight(m2, 1) / kernelTotal, 1e-12);
    EXPECT_NEAR(d.weights.tail(200 - 22).sum(), 1.0 - 22 * shapleyKernelWeight(m2, 1) / kernelTotal, 1e-12);
    // Each sampled row is followed by its complement.
    for (Eigen::Index i = 22; i + 1 < d.coalitions.rows(); i += 2)
        EXPECT_TRUE(((d.coalitions.row(i) + d.coalitions.row(i + 1)).array() == 1).all()) << i;
}

TEST(KernelShap, BudgetDefaultsAndCaps) {
    EXPECT_EQ(kernelShapBudget(50, 0), 2 * 50 + 2048);
    EXPECT_EQ(kernelShapBudget(5, 0), 30);
    EXPECT_EQ(kernelShapBudget(5, 7), 7);
    EXPECT_EQ(kernelShapBudget(40, 123), 123);
    EXPECT_THROW(kernelShapBudget(5, -1), Error);
}

TEST(KernelShap, SinglePlayerGetsTheWholeDifference) {
    auto game = linearGame(Eigen::VectorXd::Constant(1, 0.8), 0.1);
    const auto r = runKernelShap(game, KernelShapSettings{}, 1, 4, quietContext());
    EXPECT_NEAR(r.values(0), 0.8, 1e-12);
    EXPECT_TRUE(r.exact);
}

// ------------------------------------------------------------------ LIME

TEST(Lime, KernelWeightsUseCosineDistanceToTheFullCoalition) {
    Eigen::MatrixXd z(3, 4);
    z << 1, 1, 1, 1,  //
        1, 0, 0, 0,   //
        0, 0, 0, 0;
    const Eigen::VectorXd w = limeKernelWeights(z, 0.25);
    EXPECT_NEAR(w(0), 1.0, 1e-15);
    const double d1 = 1.0 - 1.0 / (1.0 * 2.0);  // cos = 1 / (|z| |1|) = 1/2
    EXPECT_NEAR(w(1), std::sqrt(std::exp(-d1 * d1 / 0.0625)), 1e-15);
    EXPECT_NEAR(w(2), std::sqrt(std::exp(-1.0 / 0.0625)), 1e-15);  // empty: distance 1
}

TEST(Lime, FitOnFixedSamplesEqualsClosedFormWeightedRidge) {
    const int m = 7, n = 60;
    const Eigen::MatrixXd z = sampleLimeCoalitions(m, n, 42);
    Eigen::VectorXd y(n);
    for (int i = 0; i < n; ++i) y(i) = 0.2 + 0.5 * z(i, 2) - 0.3 * z(i, 4) * z(i, 5) + 0.1 * std::sin(double(i));
    for (double alpha : {1.0, 0.3, 0.0}) {
        LimeSettings s;
        s.alpha = alpha;
        s.kernel_width = 0.4;
        const LimeResult r = fitLime(z, y, s);

        // Independent closed form: theta = (A' W A + P)^-1 A' W y with A = [1 z], P = diag(0, alpha...).
        Eigen::VectorXd w(n);
        for (int i = 0; i < n; ++i) {
            const double k = z.row(i).sum();
            const double d = k > 0 ? 1.0 - std::sqrt(k / m) : 1.0;
            w(i) = std::exp(-d * d / (2 * 0.4 * 0.4));  // sqrt(exp(-d^2/width^2))
        }
        Eigen::MatrixXd a(n, m + 1);
        a.col(0).setOnes();
        a.rightCols(m) = z;
        Eigen::MatrixXd lhs = a.transpose() * w.asDiagonal() * a;
        for (int j = 1; j <= m; ++j) lhs(j, j) += alpha;
        const Eigen::VectorXd theta = lhs.fullPivLu().solve(a.transpose() * w.asDiagonal() * y);
        EXPECT_NEAR(r.intercept, theta(0), 1e-8) << "alpha " << alpha;
        for (int j = 0; j < m; ++j) EXPECT_NEAR(r.weights(j), theta(j + 1), 1e-8) << "alpha " << alpha << " j " << j;
        for (int i = 0; i < n; ++i) EXPECT_NEAR(r.sample_weights(i), w(i), 1e-12);
        // Weighted R^2 as sklearn's score(sample_weight=w).
        const Eigen::VectorXd yhat = a * theta;
        const double mean = w.dot(y) / w.sum();
        const double r2 =
            1 - (w.array() * (y - yhat).array().square()).sum() / (w.array() * (y.array() - mean).square()).sum();
        EXPECT_NEAR(r.r2, r2, 1e-9);
    }
}

TEST(Lime, LinearGameWithoutPenaltyFitsPerfectly) {
    const Eigen::VectorXd c = someCoefficients(9, 4);
    auto game = linearGame(c, 0.5);
    LimeSettings s;
    s.alpha = 0;
    s.samples = 200;
    const LimeResult r = runLime(game, s, 3, 16, quietContext());
    EXPECT_NEAR(r.r2, 1.0, 1e-9);
    EXPECT_NEAR(r.intercept, 0.5, 1e-8);
    for (int i = 0; i < 9; ++i) EXPECT_NEAR(r.weights(i), c(i), 1e-8);
}

TEST(Lime, OneDecisiveSuperpixelRanksFirst) {
    const int m = 20;
    FunctionCoalitionValue game(m, [](const Eigen::MatrixXd& z) -> Eigen::VectorXd {
        Eigen::VectorXd v(z.rows());
        for (Eigen::Index i = 0; i < z.rows(); ++i) v(i) = 0.05 + 0.9 * z(i, 13) + 0.02 * z(i, 2) - 0.01 * z(i, 7);
        return v;
    });
    const LimeResult r = runLime(game, LimeSettings{}, 17, 16, quietContext());
    Eigen::Index best = 0;
    r.weights.maxCoeff(&best);
    EXPECT_EQ(best, 13);
    EXPECT_GT(r.weights(13), 5 * r.weights.cwiseAbs().segment(0, 13).maxCoeff());
}

TEST(Lime, SameSeedSameResultDifferentSeedDifferentSamples) {
    const Eigen::VectorXd c = someCoefficients(10, 8);
    auto g1 = linearGame(c, 0), g2 = linearGame(c, 0);
    LimeSettings s;
    s.samples = 80;
    const LimeResult a = runLime(g1, s, 123, 16, quietContext());
    const LimeResult b = runLime(g2, s, 123, 7, quietContext());  // batch size does not matter
    EXPECT_EQ(a.coalitions, b.coalitions);
    EXPECT_EQ(a.weights, b.weights);
    EXPECT_EQ(a.intercept, b.intercept);
    const Eigen::MatrixXd other = sampleLimeCoalitions(10, 80, 124);
    EXPECT_NE(a.coalitions, other);
    EXPECT_TRUE((other.row(0).array() == 1).all());
    // Roughly half of the entries are on.
    EXPECT_NEAR(other.bottomRows(79).mean(), 0.5, 0.08);
    // KernelSHAP too: same seed, same design.
    auto h1 = linearGame(someCoefficients(14, 1), 0), h2 = linearGame(someCoefficients(14, 1), 0);
    KernelShapSettings ks;
    ks.samples = 300;
    EXPECT_EQ(runKernelShap(h1, ks, 5, 16, quietContext()).design.coalitions,
              runKernelShap(h2, ks, 5, 16, quietContext()).design.coalitions);
}

// ------------------------------------------------------------------ settings, progress, cancel

TEST(Surrogate, SettingsTablesRejectBadValues) {
    ParamSet lime = limeParams();
    EXPECT_EQ(lime.group(), "lime");
    EXPECT_EQ(lime.getInt("samples"), LimeSettings{}.samples);
    EXPECT_THROW(lime.setFromString("samples", "-5"), Error);
    {  // 0 = auto; 1..9 are too few for a fit and say so when run
        auto game = linearGame(someCoefficients(4, 1), 0);
        LimeSettings few;
        few.samples = 5;
        try {
            runLime(game, few, 1, 16, quietContext());
            ADD_FAILURE() << "5 LIME samples were accepted";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("lime.samples = 5"), std::string::npos) << e.what();
        }
        EXPECT_EQ(game.evaluations(), 0);
    }
    EXPECT_THROW(lime.setFromString("kernel_width", "0"), Error);
    EXPECT_THROW(lime.setFromString("alpha", "-1"), Error);
    EXPECT_THROW(lime.setFromString("fill", "purple"), Error);
    lime.setFromString("fill", "segment-mean");
    lime.setFromString("samples", "64");
    EXPECT_EQ(limeSettingsFrom(lime).fill, "segment-mean");
    EXPECT_EQ(limeSettingsFrom(lime).samples, 64);

    ParamSet shap = kernelShapParams();
    EXPECT_EQ(shap.group(), "kernelshap");
    EXPECT_EQ(shap.getInt("samples"), 0);
    EXPECT_THROW(shap.setFromString("samples", "-1"), Error);
    shap.setFromString("samples", "0");  // auto
    shap.setFromString("paired", "false");
    EXPECT_FALSE(kernelShapSettingsFrom(shap).paired);
    EXPECT_NE(shap.describe().dump().find("auto"), std::string::npos);
    // The fill help says why segment-mean is not the default.
    EXPECT_NE(methodFillHelp(true).find("uniformly coloured"), std::string::npos);
    // The default follows the shared baseline setting; segment-mean only where superpixels exist.
    EXPECT_EQ(limeSettingsFrom(limeParams()).fill, "shared");
    EXPECT_EQ(kernelShapSettingsFrom(kernelShapParams()).fill, "shared");
    const auto plain = methodFillChoices(false);
    EXPECT_EQ(std::find(plain.begin(), plain.end(), "segment-mean"), plain.end());
    // Settings of another method are refused.
    EXPECT_THROW(limeSettingsFrom(shap), Error);
}

TEST(Surrogate, DefaultBatchSizes) {
    EXPECT_EQ(defaultBatchSize(torch::Device(torch::kCPU)), 16);
    EXPECT_EQ(defaultBatchSize(torch::Device(torch::kCUDA, 0)), 64);
}

TEST(Surrogate, ReportsProgressPerBatch) {
    auto game = linearGame(someCoefficients(5, 3), 0);
    std::vector<std::pair<double, std::string>> reports;
    RunContext ctx;
    ctx.progress = [&](double f, const std::string& msg) { reports.emplace_back(f, msg); };
    LimeSettings s;
    s.samples = 100;
    runLime(game, s, 1, 32, ctx);
    ASSERT_EQ(reports.size(), 4u);  // 32 + 32 + 32 + 4
    EXPECT_EQ(reports[0].second, "LIME: 32/100 samples");
    EXPECT_NEAR(reports[0].first, 0.32, 1e-12);
    EXPECT_EQ(reports.back().second, "LIME: 100/100 samples");
    EXPECT_DOUBLE_EQ(reports.back().first, 1.0);
}

TEST(Surrogate, CancelledBeforeTheCallThrowsWithoutEvaluating) {
    std::atomic<bool> cancel{true};
    RunContext ctx;
    ctx.cancel = &cancel;
    auto g1 = linearGame(someCoefficients(6, 1), 0), g2 = linearGame(someCoefficients(6, 1), 0);
    EXPECT_THROW(runLime(g1, LimeSettings{}, 1, 16, ctx), Cancelled);
    EXPECT_THROW(runKernelShap(g2, KernelShapSettings{}, 1, 16, ctx), Cancelled);
    EXPECT_EQ(g1.evaluations(), 0);
    EXPECT_EQ(g2.evaluations(), 0);
}

TEST(Surrogate, CancelFromTheProgressCallbackStopsWithinOneBatch) {
    for (const bool shap : {false, true}) {
        std::atomic<bool> cancel{false};
        RunContext ctx;
        ctx.cancel = &cancel;
        int reports = 0;
        ctx.progress = [&](double, const std::string&) {
            ++reports;
            cancel = true;
        };
        auto game = linearGame(someCoefficients(12, 1), 0);
        if (shap) {
            KernelShapSettings s;
            s.samples = 500;
            EXPECT_THROW(runKernelShap(game, s, 1, 10, ctx), Cancelled);
        } else {
            LimeSettings s;
            s.samples = 500;
            EXPECT_THROW(runLime(game, s, 1, 10, ctx), Cancelled);
        }
        EXPECT_EQ(reports, 1);
        // KernelSHAP evaluates the full and the empty coalition first, as a batch of their own.
        EXPECT_EQ(game.evaluations(), shap ? 2 : 10) << (shap ? "KernelSHAP" : "LIME");
    }
}

TEST(Surrogate, TorchValueFunctionIsAccepted) {
    FunctionCoalitionValue game(4, FunctionCoalitionValue::TorchFn([](const torch::Tensor& z) {
                                    return z.select(1, 0) * 2.0 + z.select(1, 3) * -1.0 + 0.5;
                                }));
    const auto r = runKernelShap(game, KernelShapSettings{}, 1, 3, quietContext());
    EXPECT_NEAR(r.values(0), 2.0, 1e-6);
    EXPECT_NEAR(r.values(1), 0.0, 1e-6);
    EXPECT_NEAR(r.values(3), -1.0, 1e-6);
}

TEST(Surrogate, WeightedRidgeRejectsBadInput) {
    Eigen::MatrixXd x = Eigen::MatrixXd::Ones(3, 2);
    Eigen::VectorXd y = Eigen::VectorXd::Ones(3), w = Eigen::VectorXd::Ones(3);
    EXPECT_THROW(weightedRidge(x, y, w, -1), Error);
    EXPECT_THROW(weightedRidge(x, y, Eigen::VectorXd::Zero(3), 1), Error);
    EXPECT_THROW(weightedRidge(x, Eigen::VectorXd::Ones(2), w, 1), Error);
    // Constant y: R^2 = 1 for the perfect (constant) fit.
    EXPECT_NEAR(weightedRidge(x, y, w, 1).r2, 1.0, 1e-12);
}

// ------------------------------------------------------------------ perturbation renderer

namespace {
InputSpec smallSpec(int channels = 3) {
    InputSpec spec;
    spec.width = 8;
    spec.height = 6;
    spec.channels = channels;
    spec.resize = InputSpec::Resize::Stretch;
    if (channels == 1) {
        spec.mean = {0.5f};
        spec.std = {0.25f};
    } else {
        spec.mean = {0.5f, 0.4f, 0.3f};
        spec.std = {0.25f, 0.2f, 0.3f};
    }
    return spec;
}

cv::Mat smallImage(int channels = 3) {
    cv::Mat img(6, 8, channels == 3 ? CV_8UC3 : CV_8UC1);
    cv::randu(img, 0, 256);
    return img;
}

// Left half (x < 4) segment 0, right half 1, bottom row segment 2.
cv::Mat smallLabels() {
    cv::Mat l(6, 8, CV_32S, cv::Scalar(0));
    l(cv::Rect(4, 0, 4, 6)).setTo(1);
    l.row(5).setTo(2);
    return l;
}

float normalised(double v255, const InputSpec& spec, int c) {
    return static_cast<float>((v255 / 255.0 - spec.mean[c]) / spec.std[c]);
}
}  // namespace

TEST(Perturbation, AllOnesReproducesTheNormalisedInputExactly) {
    const auto spec = smallSpec();
    const cv::Mat img = smallImage();
    PerturbationRenderer r(img, smallLabels(), Baseline{Baseline::Kind::ImageMean, {}}, spec, torch::kCPU);
    EXPECT_EQ(r.segments(), 3);
    const auto out = r.render(torch::ones({2, 3}, torch::kInt64));
    ASSERT_EQ(out.sizes(), (std::vector<int64_t>{2, 3, 6, 8}));
    EXPECT_TRUE(torch::equal(out[0], normalizeForModel(img, spec)[0]));
    EXPECT_TRUE(torch::equal(out[1], out[0]));
}

TEST(Perturbation, AllZerosGivesTheFillForEveryMode) {
    const auto spec = smallSpec();
    const cv::Mat img = smallImage();
    const cv::Mat labels = smallLabels();
    cv::Scalar mean = cv::mean(img);
    std::vector<Baseline> baselines;
    for (const auto& name : baselineNames()) baselines.push_back(baselineFromName(name));
    baselines.push_back(Baseline{Baseline::Kind::Values, {0.25f, 0.5f, 1.0f}});
    for (const Baseline& baseline : baselines) {
        const std::string name = toString(baseline);
        if (baseline.kind != Baseline::Kind::Values) EXPECT_EQ(baselineFromName(name), baseline);
        PerturbationRenderer r(img, labels, baseline, spec, torch::kCPU);
        const auto out = r.render(torch::zeros({1, 3}, torch::kFloat32))[0];
        EXPECT_TRUE(torch::equal(out, r.fill())) << name;
        auto a = out.accessor<float, 3>();
        for (int c = 0; c < 3; ++c) {
            for (int y = 0; y < 6; ++y)
                for (int x = 0; x < 8; ++x) {
                    double want = 0;
                    switch (baseline.kind) {
                        case Baseline::Kind::ImageMean: want = mean[c]; break;
                        case Baseline::Kind::DatasetMean: want = 255.0 * spec.mean[c]; break;
                        case Baseline::Kind::Values: want = 255.0 * baseline.values[c]; break;
                        case Baseline::Kind::Black: want = 0; break;
                        case Baseline::Kind::Grey: want = 128; break;
                        case Baseline::Kind::SegmentMean: {
                            double sum = 0;
                            int n = 0;
                            for (int yy = 0; yy < 6; ++yy)
                                for (int xx = 0; xx < 8; ++xx)
                                    if (labels.at<int>(yy, xx) == labels.at<int>(y, x)) {
                                        sum += img.at<cv::Vec3b>(yy, xx)[c];
                                        ++n;
                                    }
                            want = sum / n;
                            break;
                        }
                        case Baseline::Kind::Blur: {
                            cv::Mat f, b;
                            img.convertTo(f, CV_32FC3);
                            cv::GaussianBlur(f, b, cv::Size(0, 0), 0.8, 0.8, cv::BORDER_REFLECT101);
                            want = b.at<cv::Vec3f>(y, x)[c];
                            break;
                        }
                    }
                    ASSERT_NEAR(a[c][y][x], normalised(want, spec, c), 1e-4)
                        << name << " c" << c << " " << x << "," << y;
                }
        }
    }
    EXPECT_DOUBLE_EQ(blurFillSigma(8, 6), 0.8);
    EXPECT_THROW(baselineFromName("purple"), Error);
    // A constant baseline with the wrong number of channels is refused with a message.
    EXPECT_THROW(PerturbationRenderer(img, labels, Baseline{Baseline::Kind::Values, {0.5f}}, spec, torch::kCPU), Error);
}

TEST(Perturbation, OneSuperpixelOffChangesExactlyItsPixels) {
    const auto spec = smallSpec();
    const cv::Mat img = smallImage();
    const cv::Mat labels = smallLabels();
    PerturbationRenderer r(img, labels, Baseline{Baseline::Kind::Black, {}}, spec, torch::kCPU);
    const auto coalition = torch::tensor({{1, 0, 1}}, torch::kInt32);
    const auto out = r.render(coalition)[0];
    const auto x = r.input();
    for (int y = 0; y < 6; ++y)
        for (int xx = 0; xx < 8; ++xx) {
            const bool off = labels.at<int>(y, xx) == 1;
            for (int c = 0; c < 3; ++c) {
                const float got = out[c][y][xx].item<float>();
                if (off)
                    EXPECT_FLOAT_EQ(got, normalised(0, spec, c));
                else
                    EXPECT_EQ(got, x[c][y][xx].item<float>());
            }
        }
    EXPECT_THROW(r.render(torch::ones({1, 4})), Error);
}

TEST(Perturbation, GreyInputAndPixelsWithoutSegment) {
    const auto spec = smallSpec(1);
    const cv::Mat img = smallImage(1);
    cv::Mat labels = smallLabels();
    labels.at<int>(0, 0) = -1;  // never perturbed
    PerturbationRenderer r(img, labels, Baseline{Baseline::Kind::Grey, {}}, spec, torch::kCPU);
    const auto out = r.render(torch::zeros({1, 3}))[0];
    ASSERT_EQ(out.sizes(), (std::vector<int64_t>{1, 6, 8}));
    EXPECT_EQ(out[0][0][0].item<float>(), r.input()[0][0][0].item<float>());
    EXPECT_NEAR(out[0][0][1].item<float>(), normalised(128, spec, 0), 1e-6);
}

// ------------------------------------------------------------------ end to end on a model

namespace {

std::unique_ptr<Model> residualModel() {
    ModelLoadOptions opt;
    opt.device = DeviceChoice::Cpu;
    return loadModel((fixtureDir() / "residual-cnn.json").string(), opt).model;
}

cv::Mat smoothImage(int w, int h) {
    cv::Mat img(h, w, CV_8UC3);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            img.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>(x * 255 / w), static_cast<uchar>(y * 255 / h),
                                                static_cast<uchar>((x * y) % 256));
    cv::circle(img, {w / 2, h / 2}, std::min(w, h) / 4, cv::Scalar(240, 30, 60), cv::FILLED);
    return img;
}

ExplainRequest gridRequest(Model* model, const cv::Mat& image, int cells, const ParamSet& params) {
    ExplainRequest req;
    req.model = model;
    req.image = image;
    req.seed = 7;
    req.batch_size = 8;
    req.params = params;
    req.superpixels = superpixelParams();
    req.superpixels.setFromString("algorithm", "grid");
    req.superpixels.set("count", int64_t{cells});
    return req;
}

void expectHeatmapFollowsSegments(const Explanation& e, const std::vector<double>& values, const cv::Mat& image) {
    ASSERT_EQ(e.heatmap.type(), CV_32F);
    ASSERT_EQ(e.heatmap.size(), image.size());
    ASSERT_EQ(e.segments.type(), CV_32S);
    ASSERT_EQ(e.segments.size(), image.size());
    EXPECT_TRUE(cv::checkRange(e.heatmap));  // no NaN / inf
    for (int y = 0; y < image.rows; ++y)
        for (int x = 0; x < image.cols; ++x) {
            const int s = e.segments.at<int>(y, x);
            ASSERT_GE(s, 0);  // stretch: the whole image is seen
            ASSERT_LT(s, static_cast<int>(values.size()));
            ASSERT_FLOAT_EQ(e.heatmap.at<float>(y, x), static_cast<float>(values[s]));
        }
    const bool positive = std::any_of(values.begin(), values.end(), [](double v) { return v > 0; });
    EXPECT_EQ(std::count(e.flags.begin(), e.flags.end(), kFlagNoPositiveEvidence), positive ? 0 : 1);
}

}  // namespace

TEST(SurrogateModel, KernelShapAndLimeOnAResidualNetwork) {
    MIRADA_REQUIRE_FIXTURE(fixtureDir() / "residual-cnn.json");
    auto model = residualModel();
    const cv::Mat image = smoothImage(48, 40);

    // KernelSHAP, 6 superpixels: 2^6 - 2 = 62 coalitions -> exact Shapley values.
    auto shap = makeKernelShapExplainer();
    EXPECT_EQ(shap->name(), "kernelshap");
    EXPECT_TRUE(shap->usesSuperpixels());
    const Explanation es = shap->explain(gridRequest(model.get(), image, 6, shap->defaultParams()), RunContext{});
    EXPECT_EQ(es.method, "kernelshap");
    EXPECT_EQ(es.numbers["superpixels"], 6);
    EXPECT_EQ(es.numbers["exact"], true);
    EXPECT_EQ(es.numbers["samples"], 64);
    EXPECT_EQ(es.model_evaluations, 64);
    EXPECT_GT(es.model_seconds, 0);
    EXPECT_LE(es.model_seconds, es.seconds);
    const auto values = es.numbers["values"].get<std::vector<double>>();
    const double fx = es.numbers["fx"], base = es.numbers["base_value"];
    const double sum = std::accumulate(values.begin(), values.end(), 0.0);
    EXPECT_NEAR(sum, fx - base, 1e-6 * std::max(1.0, std::abs(fx - base)));
    EXPECT_LE(std::abs(es.numbers["sum_check"].get<double>()), 1e-9);
    EXPECT_NEAR(fx, es.target_probability, 1e-6);  // v(full) = probability of the target on the image
    // Exact values: zero-width intervals, a ranking that cannot change, converged.
    EXPECT_EQ(es.numbers["samples_asked"], "auto");
    EXPECT_EQ(es.numbers["converged"], true);
    EXPECT_EQ(es.numbers["uncertainty"]["available"], true);
    EXPECT_EQ(es.numbers["uncertainty"]["top_k_change_probability"], 0.0);
    ASSERT_EQ(es.numbers["interval"].size(), 6u);
    for (size_t j = 0; j < 6; ++j) {
        EXPECT_EQ(es.numbers["stderr"][j], 0.0);
        EXPECT_EQ(es.numbers["interval"][j][0], values[j]);
        EXPECT_EQ(es.numbers["interval"][j][1], values[j]);
    }
    expectHeatmapFollowsSegments(es, values, image);
    EXPECT_EQ(es.settings["seed"], 7);
    EXPECT_EQ(es.settings["batch_size"], 8);
    EXPECT_EQ(es.settings["superpixels"]["count"], 6);
    EXPECT_EQ(es.settings["params"]["fill"], "shared");
    // The report names the baseline and where it came from (this descriptor names none: Mirada's default).
    EXPECT_EQ(es.settings["baseline"]["baseline"], "blur");
    EXPECT_NE(es.settings["baseline"]["source"].get<std::string>().find("residual-cnn"), std::string::npos);
    // v(empty) is the baseline image's value, which the guard compares with the image's.
    EXPECT_NEAR(es.numbers["baseline_probability"].get<double>(), base, 1e-6);

    // The top class was chosen.
    const auto out = model->forward(preprocess(image, model->info().input));
    EXPECT_EQ(es.target_index, out.argmax(1).item<int64_t>());

    // Segments exported and read back are equal.
    TempDir dir;
    writeLabelMap(dir / "segments.png", es.segments);
    const cv::Mat back = readLabelMap(dir / "segments.png");
    EXPECT_EQ(cv::countNonZero(back != es.segments), 0);

    // LIME with few samples on the same superpixels; target 2 asked for explicitly.
    auto lime = makeLimeExplainer();
    ParamSet lp = lime->defaultParams();
    lp.set("samples", int64_t{40});
    ExplainRequest lr = gridRequest(model.get(), image, 6, lp);
    lr.target_index = 2;
    const Explanation el = lime->explain(lr, RunContext{});
    EXPECT_EQ(el.method, "lime");
    EXPECT_EQ(el.target_index, 2);
    EXPECT_EQ(el.target_label, "gamma");
    EXPECT_EQ(el.numbers["samples"], 40);
    EXPECT_EQ(el.model_evaluations, 41);  // 40 samples (the first is the image) + the baseline for the guard
    const auto weights = el.numbers["weights"].get<std::vector<double>>();
    ASSERT_EQ(weights.size(), 6u);
    EXPECT_TRUE(std::isfinite(el.numbers["r2"].get<double>()));
    expectHeatmapFollowsSegments(el, weights, image);
    // Sampled: intervals around each weight, a stability number, the samples asked recorded.
    EXPECT_EQ(el.numbers["samples_asked"], 40);
    EXPECT_EQ(el.numbers["rounds"], 1);
    ASSERT_EQ(el.numbers["interval"].size(), 6u);
    for (size_t j = 0; j < 6; ++j) {
        EXPECT_GT(el.numbers["stderr"][j].get<double>(), 0);
        EXPECT_LT(el.numbers["interval"][j][0].get<double>(), weights[j]);
        EXPECT_GT(el.numbers["interval"][j][1].get<double>(), weights[j]);
    }
    const double p = el.numbers["uncertainty"]["top_k_change_probability"];
    EXPECT_GE(p, 0.0);
    EXPECT_LE(p, 1.0);
    EXPECT_EQ(el.numbers["uncertainty"]["top_k"], 3);

    // Same seed => the same explanation; the batch size does not change it.
    lr.batch_size = 5;
    const Explanation el2 = lime->explain(lr, RunContext{});
    EXPECT_EQ(el2.numbers["weights"], el.numbers["weights"]);

    // The imported segments replace the computed ones.
    ExplainRequest ir = gridRequest(model.get(), image, 50, shap->defaultParams());
    ir.segments = back;
    const Explanation ei = shap->explain(ir, RunContext{});
    EXPECT_EQ(ei.numbers["superpixels"], 6);
    EXPECT_EQ(ei.settings["superpixels"]["source"], "imported");
    EXPECT_LE(std::abs(ei.numbers["sum_check"].get<double>()), 1e-9);
}

TEST(SurrogateModel, SettingsThatMakeTheMapMeaninglessAreWarnedAbout) {
    MIRADA_REQUIRE_FIXTURE(fixtureDir() / "residual-cnn.json");
    auto model = residualModel();
    const cv::Mat image = smoothImage(48, 40);
    const auto has = [](const Explanation& e, const char* flag) {
        return std::find(e.flags.begin(), e.flags.end(), flag) != e.flags.end();
    };
    // 4 superpixels (below 5): the map can show little.
    auto lime = makeLimeExplainer();
    const Explanation few = lime->explain(gridRequest(model.get(), image, 4, lime->defaultParams()), RunContext{});
    EXPECT_TRUE(has(few, kFlagFewSuperpixels));
    ASSERT_FALSE(few.warnings.empty());
    EXPECT_NE(few.warnings.back().find("only 4 superpixel"), std::string::npos) << few.warnings.back();
    // 10 LIME samples for 16 superpixels: underdetermined. auto with the same grid is not warned about.
    ParamSet lp = lime->defaultParams();
    lp.set("samples", int64_t{10});
    const Explanation under = lime->explain(gridRequest(model.get(), image, 16, lp), RunContext{});
    EXPECT_TRUE(has(under, kFlagFewSamples));
    EXPECT_FALSE(has(under, kFlagFewSuperpixels));
    const Explanation autoRun = lime->explain(gridRequest(model.get(), image, 16, lime->defaultParams()), RunContext{});
    EXPECT_FALSE(has(autoRun, kFlagFewSamples));
    // KernelSHAP: 8 coalitions for 16 superpixels.
    auto shap = makeKernelShapExplainer();
    ParamSet sp = shap->defaultParams();
    sp.set("samples", int64_t{8});
    const Explanation ks = shap->explain(gridRequest(model.get(), image, 16, sp), RunContext{});
    EXPECT_TRUE(has(ks, kFlagFewSamples));
    EXPECT_EQ(ks.numbers["samples_asked"], 8);
}

TEST(SurrogateModel, LogitOutputAndSegmentMeanFill) {
    MIRADA_REQUIRE_FIXTURE(fixtureDir() / "residual-cnn.json");
    auto model = residualModel();
    const cv::Mat image = smoothImage(32, 32);
    auto shap = makeKernelShapExplainer();
    ParamSet p = shap->defaultParams();
    p.setFromString("output", "logit");
    p.setFromString("fill", "segment-mean");
    p.setFromString("samples", "20");
    const Explanation e = shap->explain(gridRequest(model.get(), image, 9, p), RunContext{});
    const auto out = model->forward(preprocess(image, model->info().input));
    EXPECT_NEAR(e.numbers["fx"].get<double>(), out[0][e.target_index].item<double>(), 1e-5);
    EXPECT_EQ(e.numbers["exact"], false);
    EXPECT_EQ(e.numbers["samples"], 22);
    EXPECT_LE(std::abs(e.numbers["sum_check"].get<double>()),
              1e-6 * std::max(1.0, std::abs(e.numbers["fx"].get<double>())));
}

TEST(SurrogateModel, BadTargetCancelAndWrongSizedSegmentsAreReported) {
    MIRADA_REQUIRE_FIXTURE(fixtureDir() / "residual-cnn.json");
    auto model = residualModel();
    const cv::Mat image = smoothImage(40, 30);
    auto lime = makeLimeExplainer();
    ParamSet lp = lime->defaultParams();
    lp.set("samples", int64_t{16});

    ExplainRequest req = gridRequest(model.get(), image, 4, lp);
    req.target_index = 5;
    const std::string msg = errorOf([&] { lime->explain(req, RunContext{}); });
    EXPECT_NE(msg.find("out of range"), std::string::npos) << msg;
    EXPECT_NE(msg.find("0-4"), std::string::npos) << msg;

    req.target_index = -1;
    req.segments = cv::Mat(10, 10, CV_32S, cv::Scalar(0));
    const std::string sizeMsg = errorOf([&] { lime->explain(req, RunContext{}); });
    EXPECT_NE(sizeMsg.find("10x10"), std::string::npos) << sizeMsg;
    EXPECT_NE(sizeMsg.find("40x30"), std::string::npos) << sizeMsg;
    req.segments = cv::Mat();

    std::atomic<bool> cancel{true};
    RunContext ctx;
    ctx.cancel = &cancel;
    EXPECT_THROW(lime->explain(req, ctx), Cancelled);

    // Cancel from the progress callback once the first batch is done.
    cancel = false;
    int batches = 0;
    ctx.progress = [&](double, const std::string& m) {
        if (m.find("samples") != std::string::npos) {
            ++batches;
            cancel = true;
        }
    };
    req.batch_size = 4;
    EXPECT_THROW(lime->explain(req, ctx), Cancelled);
    EXPECT_EQ(batches, 1);

    // Superpixel count larger than the 32x32 input.
    ExplainRequest big = gridRequest(model.get(), image, 2000, lp);
    const std::string bigMsg = errorOf([&] { lime->explain(big, RunContext{}); });
    EXPECT_NE(bigMsg.find("1024 pixels"), std::string::npos) << bigMsg;
}

TEST(SurrogateModel, FashionCnnLimeAndShapWhenBundled) {
    ASSERT_TRUE(locateZooModel("fashion-cnn").found) << locateZooModel("fashion-cnn").message;
    ModelLoadOptions opt;
    opt.device = DeviceChoice::Cpu;
    auto model = loadModel("fashion-cnn", opt).model;
    cv::Mat image(56, 56, CV_8UC3, cv::Scalar(0, 0, 0));
    cv::rectangle(image, cv::Rect(14, 8, 28, 40), cv::Scalar(200, 200, 200), cv::FILLED);
    for (const std::string method : {"lime", "kernelshap"}) {
        auto ex = method == "lime" ? makeLimeExplainer() : makeKernelShapExplainer();
        ParamSet p = ex->defaultParams();
        p.set("samples", int64_t{method == "lime" ? 48 : 30});
        ExplainRequest req;
        req.model = model.get();
        req.image = image;
        req.seed = 1;
        req.params = p;
        req.superpixels = superpixelParams();
        req.superpixels.set("count", int64_t{8});
        const Explanation e = ex->explain(req, RunContext{});
        EXPECT_EQ(e.heatmap.size(), image.size()) << method;
        EXPECT_TRUE(cv::checkRange(e.heatmap)) << method;
        if (method == "kernelshap") EXPECT_LE(std::abs(e.numbers["sum_check"].get<double>()), 1e-6);
    }
}
