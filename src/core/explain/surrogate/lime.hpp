#pragma once
// LIME (Ribeiro et al. 2016) with lime_image's conventions, on the surrogate engine.
#include <Eigen/Dense>

#include <cstdint>
#include <optional>
#include <string>

#include "explain/run_context.hpp"
#include "common/settings.hpp"
#include "explain/surrogate/surrogate_engine.hpp"

namespace mirada {

// Table: limeParams() (group "lime").
struct LimeSettings {
    int samples = 1000;                  // coalitions evaluated, including the unperturbed one, 10..100000
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
};

// The fit on a fixed sample set: weighted ridge with intercept, kernel weights.
LimeResult fitLime(const Eigen::MatrixXd& coalitions, const Eigen::VectorXd& values, const LimeSettings& settings,
                   const RunContext* ctx = nullptr);  // ctx: cancel flag checked between the fit's steps

// Samples (row 0 all ones, others Bernoulli(0.5) from mt19937_64(seed)),
// evaluates in batches (progress "LIME: i/n samples", cancel checked before
// each batch) and fits. fullValue, when known, is used for row 0 instead of
// evaluating it.
LimeResult runLime(CoalitionValue& value, const LimeSettings& settings, uint64_t seed, int batchSize,
                   const RunContext& ctx, std::optional<double> fullValue = std::nullopt);

}  // namespace mirada
