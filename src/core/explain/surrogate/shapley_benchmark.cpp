#include "explain/surrogate/shapley_benchmark.hpp"

#include <cmath>
#include <numeric>
#include <random>

#include "common/error.hpp"
#include "explain/surrogate/coalition_sampler.hpp"
#include "explain/surrogate/kernel_shap.hpp"
#include "explain/surrogate/weighted_ridge.hpp"

namespace mirada {

namespace {
uint64_t maskOf(const Eigen::MatrixXd& z, Eigen::Index row) {
    uint64_t m = 0;
    for (Eigen::Index j = 0; j < z.cols(); ++j)
        if (z(row, j) != 0) m |= uint64_t(1) << j;
    return m;
}
}  // namespace

GameTable enumerateGame(CoalitionValue& value, int batchSize, const RunContext& ctx) {
    const int M = value.features();
    if (M < 1 || M > kMaxEnumerablePlayers)
        throw Error("enumerating a game needs 1 to " + std::to_string(kMaxEnumerablePlayers) + " players, not " +
                    std::to_string(M));
    const int64_t n = int64_t(1) << M;
    GameTable game;
    game.players = M;
    game.values.resize(n);
    for (int64_t start = 0; start < n; start += batchSize) {
        ctx.checkCancelled();
        const int64_t count = std::min<int64_t>(batchSize, n - start);
        Eigen::MatrixXd z(count, M);
        for (int64_t i = 0; i < count; ++i)
            for (int j = 0; j < M; ++j) z(i, j) = ((start + i) >> j) & 1;
        const Eigen::VectorXd v = value.evaluate(z);
        for (int64_t i = 0; i < count; ++i) game.values[start + i] = v(i);
        ctx.report(double(start + count) / n,
                   "exact Shapley values: " + std::to_string(start + count) + "/" + std::to_string(n) + " coalitions");
    }
    return game;
}

Eigen::VectorXd exactShapley(const GameTable& game) {
    const int M = game.players;
    std::vector<double> w(M);  // |S|! (M-|S|-1)! / M! for |S| = 0..M-1
    for (int s = 0; s < M; ++s) w[s] = std::exp(std::lgamma(s + 1.0) + std::lgamma(M - s + 0.0) - std::lgamma(M + 1.0));
    Eigen::VectorXd phi = Eigen::VectorXd::Zero(M);
    const uint64_t n = uint64_t(1) << M;
    for (uint64_t mask = 0; mask < n; ++mask) {
        const int s = __builtin_popcountll(mask);
        for (int i = 0; i < M; ++i)
            if (!(mask >> i & 1)) phi(i) += w[s] * (game.values[mask | (uint64_t(1) << i)] - game.values[mask]);
    }
    return phi;
}

Eigen::VectorXd TableCoalitionValue::evaluate(const Eigen::MatrixXd& coalitions) {
    Eigen::VectorXd v(coalitions.rows());
    for (Eigen::Index i = 0; i < coalitions.rows(); ++i) v(i) = game_.values[maskOf(coalitions, i)];
    return v;
}

Eigen::VectorXd textbookKernelShap(const GameTable& game, int64_t budget, uint64_t seed) {
    const int M = game.players;
    std::vector<double> cumulative(M - 1);
    double acc = 0;
    for (int s = 1; s < M; ++s) cumulative[s - 1] = (acc += (M - 1.0) / (double(s) * (M - s)));
    for (auto& c : cumulative) c /= acc;
    std::mt19937_64 rng(seed);
    Eigen::MatrixXd z = Eigen::MatrixXd::Zero(budget, M);
    std::vector<int> perm(M);
    for (int64_t r = 0; r < budget; ++r) {
        const double u = uniformUnit(rng);
        const int size =
            1 + static_cast<int>(std::lower_bound(cumulative.begin(), cumulative.end(), u) - cumulative.begin());
        const std::vector<char> row = randomCoalitionOfSize(rng, M, std::min(size, M - 1), perm);
        for (int j = 0; j < M; ++j) z(r, j) = row[j];
    }
    TableCoalitionValue value(game);
    const Eigen::VectorXd y = value.evaluate(z);
    return solveEfficiencyConstrained(z, y, Eigen::VectorXd::Ones(budget), game.values.front(), game.values.back());
}

std::vector<EstimatorError> shapleyErrors(const GameTable& game, const Eigen::VectorXd& exact,
                                          const std::vector<std::string>& estimators,
                                          const std::vector<int64_t>& budgets, int seeds, uint64_t firstSeed) {
    const double norm = exact.norm(), largest = exact.cwiseAbs().maxCoeff();
    if (!(norm > 0)) throw Error("the game's Shapley values are all zero: no relative error can be measured");
    RunContext quiet;
    std::vector<EstimatorError> out;
    for (const auto& name : estimators) {
        for (const int64_t budget : budgets) {
            EstimatorError e;
            e.estimator = name;
            e.budget = budget;
            e.seeds = seeds;
            double errors = 0, covered = 0, widths = 0;
            int64_t intervals = 0;
            for (int k = 0; k < seeds; ++k) {
                const uint64_t seed = firstSeed + k;
                Eigen::VectorXd phi;
                if (name == "textbook") {
                    phi = textbookKernelShap(game, budget, seed);
                } else if (name == "kernel" || name == "leverage") {
                    TableCoalitionValue value(game);
                    KernelShapSettings s;
                    s.samples = static_cast<int>(budget);
                    s.sampler = name;
                    const KernelShapResult r = runKernelShap(value, s, seed, 4096, quiet);
                    phi = r.values;
                    if (r.uncertainty.available && !r.exact) {
                        for (Eigen::Index j = 0; j < phi.size(); ++j) {
                            covered +=
                                exact(j) >= r.uncertainty.lower(j) - 1e-12 && exact(j) <= r.uncertainty.upper(j) + 1e-12
                                    ? 1
                                    : 0;
                            widths += (r.uncertainty.upper(j) - r.uncertainty.lower(j)) / largest;
                            ++intervals;
                        }
                    }
                } else {
                    throw Error("unknown estimator '" + name + "'; use textbook, kernel or leverage");
                }
                errors += (phi - exact).norm() / norm;
            }
            e.mean_relative_error = errors / seeds;
            if (intervals > 0) {
                e.coverage = covered / double(intervals);
                e.mean_interval_width = widths / double(intervals);
            }
            out.push_back(e);
        }
    }
    return out;
}

}  // namespace mirada
