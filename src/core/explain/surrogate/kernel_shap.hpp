#pragma once
// KernelSHAP (Lundberg & Lee 2017) with shap's KernelExplainer sampling, on the
// surrogate engine.
#include <Eigen/Dense>

#include <cstdint>
#include <optional>
#include <string>

#include "explain/run_context.hpp"
#include "common/settings.hpp"
#include "explain/surrogate/coalition_sampler.hpp"
#include "explain/surrogate/surrogate_engine.hpp"
#include "explain/surrogate/uncertainty.hpp"

namespace mirada {

// Table: kernelShapParams() (group "kernelshap").
struct KernelShapSettings {
    int samples = 0;                     // coalitions besides the empty and full one; 0 = auto (rounds until stable)
    int max_samples = 0;                 // auto's ceiling; 0 = 2M + 2048 (the fixed budget before auto existed)
    std::string sampler = "leverage";    // leverage (stratified, with intervals) | kernel (shap's, no intervals)
    double tolerance = 0.05;             // auto stops when P(top-k changes) <= tolerance
    int top_k = 3;                       // k of the stability number
    std::string fill = "shared";         // "shared" (perturbation.baseline) or a baseline name; see methodFillHelp()
    std::string output = "probability";  // probability | logit
    bool paired = true;                  // sample each coalition together with its complement
};

ParamSet kernelShapParams();
KernelShapSettings kernelShapSettingsFrom(const ParamSet& params);  // empty ParamSet -> defaults

// The number of coalitions to regress on: samples (0 -> 2M + 2048), at most 2^M - 2.
int64_t kernelShapBudget(int M, int samples);
// auto's first round: 4M coalitions, at least 128, at most the ceiling.
int64_t autoFirstRound(int M, int64_t ceiling);

struct KernelShapResult {
    Eigen::VectorXd values;         // phi, per superpixel; sum = fx - base_value
    double base_value = 0;          // v(empty coalition) = f(everything filled)
    double fx = 0;                  // v(full coalition) = f(image)
    double sum_check = 0;           // sum(values) - (fx - base_value)
    int64_t samples = 0;            // coalitions evaluated, including the empty and the full one
    int64_t max_samples = 0;        // the ceiling (auto) or the budget asked, + 2
    bool exact = false;             // all coalitions enumerated: exact Shapley values
    bool automatic = false;         // samples = auto
    int rounds = 0;                 // sampling rounds (1 unless auto)
    std::string sampler;            // leverage | kernel
    ShapDesign design;              // the regressed coalitions and their regression weights (sum 1)
    Eigen::VectorXd design_values;  // v() of design.coalitions
    Uncertainty uncertainty;        // standard errors, intervals, top-k stability
};

// Evaluates the full and the empty coalition, then (sampler leverage) grows a
// StratifiedShapDesign round by round: each round evaluates the new coalitions
// in batches (progress "KernelSHAP: i/n samples", cancel checked before each
// batch), solves the weighted least squares with v(empty) as intercept and
// sum(phi) = v(full) - v(empty) exactly, and estimates the covariance; auto
// stops when the uncertainty says the top-k is stable (Uncertainty::converged)
// or at the ceiling, a fixed budget after one round. sampler kernel: shap's
// design (sampleShapCoalitions) in one round, without intervals.
// fullValue (and emptyValue, only together with it), when known, are used
// instead of evaluating the full (and empty) coalition.
KernelShapResult runKernelShap(CoalitionValue& value, const KernelShapSettings& settings, uint64_t seed, int batchSize,
                               const RunContext& ctx, std::optional<double> fullValue = std::nullopt,
                               std::optional<double> emptyValue = std::nullopt);

}  // namespace mirada
