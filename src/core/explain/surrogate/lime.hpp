#pragma once
// LIME (Ribeiro et al. 2016) with lime_image's conventions, on the surrogate engine.
#include <Eigen/Dense>

#include <cstdint>
#include <optional>
#include <string>

#include "explain/run_context.hpp"
#include "common/settings.hpp"
#include "explain/surrogate/surrogate_engine.hpp"
#include "explain/surrogate/uncertainty.hpp"

namespace mirada {

// Table: limeParams() (group "lime").
struct LimeSettings {
    int samples = 0;                     // coalitions evaluated, including the unperturbed one, 10..100000; 0 = auto
    int max_samples = 1000;              // auto's ceiling
    double tolerance = 0.05;             // auto stops when P(top-k changes) <= tolerance
    int top_k = 3;                       // k of the stability number
    double kernel_width = 0.25;          // width of the exponential kernel on cosine distance, > 0
    double alpha = 1.0;                  // ridge penalty on the coefficients (not the intercept), >= 0
    std::string fill = "shared";         // "shared" (perturbation.baseline) or a baseline name; see methodFillHelp()
    std::string output = "probability";  // probability | logit
};

ParamSet limeParams();

// A LIME fit whose weighted R^2 is below this gets the flag "low-fit" and a
// warning on the tile, the CLI and the report.
inline constexpr double kLimeLowR2 = 0.3;
inline constexpr const char* kFlagLowFit = "low-fit";
LimeSettings limeSettingsFrom(const ParamSet& params);  // empty ParamSet -> defaults

// Cosine distance of each coalition to the all-ones coalition (1 for the empty
// coalition, as sklearn's pairwise cosine distance) and lime's kernel
// weight = sqrt(exp(-d^2 / width^2)).
Eigen::VectorXd limeKernelWeights(const Eigen::MatrixXd& coalitions, double kernelWidth);

struct LimeResult {
    Eigen::VectorXd weights;  // per superpixel
    double intercept = 0;
    double r2 = 0;                   // weighted R^2 of the surrogate on its samples
    Eigen::MatrixXd coalitions;      // [samples, M]
    Eigen::VectorXd values;          // v(coalition)
    Eigen::VectorXd sample_weights;  // kernel weights
    Uncertainty uncertainty;         // standard errors, intervals, top-k stability (see runLime)
    bool automatic = false;          // samples = auto
    int rounds = 0;                  // sampling rounds (1 unless auto)
    int64_t max_samples = 0;         // the ceiling (auto) or the samples asked
};

// auto's first round: 5M samples, at least 100, at most the ceiling.
int64_t limeAutoFirstRound(int M, int64_t ceiling);

// The fit on a fixed sample set: weighted ridge with intercept, kernel weights.
LimeResult fitLime(const Eigen::MatrixXd& coalitions, const Eigen::VectorXd& values, const LimeSettings& settings,
                   const RunContext* ctx = nullptr);  // ctx: cancel flag checked between the fit's steps

// Samples (row 0 all ones, others Bernoulli(0.5) from mt19937_64(seed)),
// evaluates in batches (progress "LIME: i/n samples", cancel checked before
// each batch), fits, and estimates the coefficients' covariance (HC1 sandwich,
// ridgeSandwichCovariance). samples = auto: rounds of 5M (then doubling)
// samples, each extending the same random sequence, until the top-k is stable
// (Uncertainty::converged) or max_samples. fullValue, when known, is used for
// row 0 instead of evaluating it.
LimeResult runLime(CoalitionValue& value, const LimeSettings& settings, uint64_t seed, int batchSize,
                   const RunContext& ctx, std::optional<double> fullValue = std::nullopt);

}  // namespace mirada
