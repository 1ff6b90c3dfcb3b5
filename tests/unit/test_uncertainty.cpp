// Issue 16: how sure a LIME or KernelSHAP map is. Intervals against exact
// Shapley values (games small enough to enumerate), auto sampling that stops
// when the top-k is stable, zero-width intervals when every coalition is
// evaluated, and the leverage design's error against the earlier estimators.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "explain/surrogate/kernel_shap.hpp"
#include "explain/surrogate/lime.hpp"
#include "explain/surrogate/shapley_benchmark.hpp"
#include "explain/surrogate/uncertainty.hpp"

using namespace mirada;

namespace {

// A game with main effects, pairwise interactions and a sigmoid: not additive,
// so every estimator has sampling error. `tie` makes the main effects nearly equal.
FunctionCoalitionValue interactingGame(int M, unsigned seed, double interaction, bool tie = false,
                                       bool dominant = false) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> n(0.0, 1.0);
    Eigen::VectorXd a(M);
    for (int j = 0; j < M; ++j) a(j) = tie ? 0.5 + 0.01 * n(rng) : 2.0 * (M - j) / M + 0.2 * n(rng);
    if (dominant)
        for (int j = 0; j < M; ++j) a(j) = j < 3 ? 4.0 : 0.3 * n(rng);
    Eigen::MatrixXd B = Eigen::MatrixXd::Zero(M, M);
    for (int i = 0; i < M; ++i)
        for (int j = i + 1; j < M; ++j) B(i, j) = interaction * n(rng) / M;
    return FunctionCoalitionValue(M, FunctionCoalitionValue::EigenFn([a, B, M](const Eigen::MatrixXd& z) {
                                      Eigen::VectorXd v(z.rows());
                                      for (Eigen::Index r = 0; r < z.rows(); ++r) {
                                          const Eigen::VectorXd x = z.row(r).transpose();
                                          const double t = a.dot(x) / std::sqrt(double(M)) + x.dot(B * x) - 1.0;
                                          v(r) = 1.0 / (1.0 + std::exp(-t));
                                      }
                                      return v;
                                  }));
}

}  // namespace

TEST(Uncertainty, KernelShapIntervalsCoverTheExactShapleyValues) {
    // 12 players: 4094 coalitions, so 256 samples are a real sample, and the truth is known.
    auto value = interactingGame(12, 3, 4.0);
    const GameTable game = enumerateGame(value, 4096, RunContext{});
    const Eigen::VectorXd exact = exactShapley(game);
    EXPECT_NEAR(exact.sum(), game.values.back() - game.values.front(), 1e-12);
    const auto rows = shapleyErrors(game, exact, {"textbook", "kernel", "leverage"}, {256}, 100);
    ASSERT_EQ(rows.size(), 3u);
    const EstimatorError& textbook = rows[0];
    const EstimatorError& kernel = rows[1];
    const EstimatorError& leverage = rows[2];
    // 95% intervals hold the exact value for at least 90% of the superpixels over 100 seeds (1200 intervals).
    EXPECT_GE(leverage.coverage, 0.90);
    EXPECT_LE(leverage.coverage, 1.0);
    EXPECT_GT(leverage.mean_interval_width, 0);
    EXPECT_EQ(kernel.coverage, -1);  // shap's design has no interval
    // The stratified design is more accurate at the same budget than both earlier estimators.
    EXPECT_LT(leverage.mean_relative_error, kernel.mean_relative_error);
    EXPECT_LT(leverage.mean_relative_error, 0.5 * textbook.mean_relative_error);
    EXPECT_GT(leverage.mean_relative_error, 0);
}

TEST(Uncertainty, LimeIntervalsCoverTheFitOnEveryCoalition) {
    // LIME's target is the fit it would give with infinitely many samples: with Bernoulli(0.5) coalitions that
    // is the same weighted fit over all 2^M coalitions, each once (alpha = 0 so the penalty does not scale).
    const int M = 10;
    auto value = interactingGame(M, 5, 3.0);
    Eigen::MatrixXd all(1 << M, M);
    for (int m = 0; m < (1 << M); ++m)
        for (int j = 0; j < M; ++j) all(m, j) = (m >> j) & 1;
    LimeSettings s;
    s.alpha = 0;
    s.samples = 400;
    const LimeResult population = fitLime(all, value.evaluate(all), s);
    int covered = 0, total = 0;
    for (uint64_t seed = 1; seed <= 60; ++seed) {
        auto v = interactingGame(M, 5, 3.0);
        const LimeResult r = runLime(v, s, seed, 512, RunContext{});
        ASSERT_TRUE(r.uncertainty.available);
        for (int j = 0; j < M; ++j, ++total)
            covered +=
                population.weights(j) >= r.uncertainty.lower(j) && population.weights(j) <= r.uncertainty.upper(j);
    }
    EXPECT_GE(double(covered) / total, 0.90) << covered << " of " << total;
}

TEST(Uncertainty, EnumerationGivesZeroWidthIntervalsAndAStableRanking) {
    auto value = interactingGame(7, 9, 4.0);  // 126 coalitions < the first auto round
    const KernelShapResult r = runKernelShap(value, KernelShapSettings{}, 1, 64, RunContext{});
    ASSERT_TRUE(r.exact);
    ASSERT_TRUE(r.uncertainty.available);
    EXPECT_EQ(r.uncertainty.stderr_.maxCoeff(), 0.0);
    EXPECT_EQ(r.uncertainty.lower, r.values);
    EXPECT_EQ(r.uncertainty.upper, r.values);
    EXPECT_EQ(r.uncertainty.change_probability, 0.0);
    EXPECT_TRUE(r.uncertainty.converged);
    EXPECT_EQ(r.samples, 128);
    // And those values are the exact Shapley values.
    auto again = interactingGame(7, 9, 4.0);
    const GameTable game = enumerateGame(again, 256, RunContext{});
    EXPECT_LT((r.values - exactShapley(game)).cwiseAbs().maxCoeff(), 1e-12);
}

TEST(Uncertainty, AutoStopsEarlierOnAnEasyGameThanOnAHardOne) {
    // 40 players (2^40 coalitions: never enumerated). Easy: three players decide, weak interactions.
    // Hard: 40 nearly equal main effects and interactions: the 3rd and 4th place are close.
    auto easy = interactingGame(40, 1, 0.3, false, true);
    auto hard = interactingGame(40, 1, 0.5, true);
    KernelShapSettings s;  // samples = auto
    ASSERT_EQ(s.samples, 0);
    const KernelShapResult e = runKernelShap(easy, s, 4, 256, RunContext{});
    const KernelShapResult h = runKernelShap(hard, s, 4, 256, RunContext{});
    EXPECT_TRUE(e.automatic);
    EXPECT_TRUE(e.uncertainty.converged);
    EXPECT_LT(e.samples, h.samples);
    EXPECT_LT(e.rounds, h.rounds);
    EXPECT_EQ(e.max_samples, 2 * 40 + 2048 + 2);
    EXPECT_LE(h.samples, h.max_samples);
    if (!h.uncertainty.converged) EXPECT_EQ(h.samples, h.max_samples);  // stops only at the ceiling
    EXPECT_EQ(easy.evaluations(), e.samples);

    // LIME the same way.
    LimeSettings l;
    l.samples = 0;
    l.max_samples = 2000;
    auto easy2 = interactingGame(40, 1, 0.3, false, true);
    auto hard2 = interactingGame(40, 1, 0.5, true);
    const LimeResult le = runLime(easy2, l, 4, 256, RunContext{});
    const LimeResult lh = runLime(hard2, l, 4, 256, RunContext{});
    EXPECT_TRUE(le.uncertainty.converged);
    EXPECT_LT(le.coalitions.rows(), lh.coalitions.rows());
    EXPECT_LE(lh.coalitions.rows(), 2000);
}

TEST(Uncertainty, ProgressShowsTheCurrentUncertainty) {
    auto hard = interactingGame(30, 2, 6.0, true);
    std::vector<std::string> messages;
    RunContext ctx;
    ctx.progress = [&](double, const std::string& m) { messages.push_back(m); };
    KernelShapSettings s;
    s.max_samples = 600;
    const KernelShapResult r = runKernelShap(hard, s, 1, 1000, ctx);
    ASSERT_GT(r.rounds, 1);
    bool said = false;
    for (const auto& m : messages) said = said || m.find("top-3 would change with p = ") != std::string::npos;
    EXPECT_TRUE(said);
    EXPECT_EQ(messages.back().rfind("KernelSHAP: ", 0), 0u);
}

TEST(Uncertainty, TopKChangeProbabilityFollowsTheIntervals) {
    const Eigen::VectorXd v = (Eigen::VectorXd(5) << 5, 4, 3, 1, 0).finished();
    // Tiny errors: the top 3 cannot change. Errors as large as the gap between 3rd and 4th: it often does.
    const Uncertainty sure = summarizeUncertainty(v, 1e-6 * Eigen::MatrixXd::Identity(5, 5), true, 3, 0.05, 1, "t");
    const Uncertainty unsure = summarizeUncertainty(v, 4.0 * Eigen::MatrixXd::Identity(5, 5), true, 3, 0.05, 1, "t");
    EXPECT_EQ(sure.change_probability, 0.0);
    EXPECT_TRUE(sure.converged);
    EXPECT_GT(unsure.change_probability, 0.3);
    EXPECT_FALSE(unsure.converged);
    EXPECT_NEAR(unsure.upper(0) - unsure.lower(0), 2 * kInterval95 * 2.0, 1e-9);
    // Unavailable: no numbers, not converged.
    const Uncertainty none = summarizeUncertainty(v, Eigen::MatrixXd(), false, 3, 0.05, 1, "t");
    EXPECT_FALSE(none.available);
    EXPECT_FALSE(none.converged);
    nlohmann::json j;
    none.addTo(j);
    EXPECT_TRUE(j["stderr"].is_null());
    EXPECT_EQ(j["uncertainty"]["converged"], false);
}
