#pragma once
// How close KernelSHAP's estimators come to the exact Shapley values of a game
// small enough to enumerate (2^M coalitions, M <= 20): the figures behind the
// README's estimator table and `mirada-cli shapley-error`.
#include <Eigen/Dense>

#include <cstdint>
#include <string>
#include <vector>

#include "explain/run_context.hpp"
#include "explain/surrogate/surrogate_engine.hpp"

namespace mirada {

// v(coalition) for every coalition: values[mask], bit j of mask = player j kept.
struct GameTable {
    int players = 0;
    std::vector<double> values;  // 2^players entries
};

inline constexpr int kMaxEnumerablePlayers = 20;

// Evaluates every coalition of `value` (2^M of them, M <= kMaxEnumerablePlayers)
// in batches (progress, cancel).
GameTable enumerateGame(CoalitionValue& value, int batchSize, const RunContext& ctx);

// Exact Shapley values from the table: phi_i = sum over S without i of
// |S|! (M-|S|-1)! / M! (v(S + i) - v(S)).
Eigen::VectorXd exactShapley(const GameTable& game);

// The table as a CoalitionValue (looks coalitions up).
class TableCoalitionValue : public CoalitionValue {
public:
    explicit TableCoalitionValue(const GameTable& game) : game_(game) {}
    int features() const override { return game_.players; }
    Eigen::VectorXd evaluate(const Eigen::MatrixXd& coalitions) override;

private:
    const GameTable& game_;
};

// Estimators compared:
//  "textbook": sizes drawn from the Shapley kernel distribution with
//              replacement, unit weights, no pairing, no enumeration, the
//              empty and full coalitions as exact constraints (KernelSHAP as
//              Lundberg & Lee describe it; Captum's scheme, our implementation);
//  "kernel":   shap's KernelExplainer sampling (Mirada's estimator before issue 16);
//  "leverage": the stratified design (Mirada's default since issue 16).
struct EstimatorError {
    std::string estimator;
    int64_t budget = 0;               // coalitions besides the empty and full one
    double mean_relative_error = 0;   // mean over seeds of |phi_hat - phi|_2 / |phi|_2
    double coverage = -1;             // share of 95% intervals holding the exact value (-1: no intervals)
    double mean_interval_width = -1;  // mean 95% interval width / |phi|_inf (-1: no intervals)
    int seeds = 0;
};

Eigen::VectorXd textbookKernelShap(const GameTable& game, int64_t budget, uint64_t seed);

std::vector<EstimatorError> shapleyErrors(const GameTable& game, const Eigen::VectorXd& exact,
                                          const std::vector<std::string>& estimators,
                                          const std::vector<int64_t>& budgets, int seeds, uint64_t firstSeed = 1);

}  // namespace mirada
