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

namespace mirada {

// Table: kernelShapParams() (group "kernelshap").
struct KernelShapSettings {
    int samples = 0;                     // coalitions besides the empty and full one; 0 = auto (2M + 2048), 0..1000000
    std::string fill = "shared";         // "shared" (perturbation.baseline) or a baseline name; see methodFillHelp()
    std::string output = "probability";  // probability | logit
    bool paired = true;                  // sample each coalition together with its complement
};

ParamSet kernelShapParams();
KernelShapSettings kernelShapSettingsFrom(const ParamSet& params);  // empty ParamSet -> defaults

// The number of coalitions to regress on: samples (0 -> 2M + 2048), at most 2^M - 2.
int64_t kernelShapBudget(int M, int samples);

struct KernelShapResult {
    Eigen::VectorXd values;         // phi, per superpixel; sum = fx - base_value
    double base_value = 0;          // v(empty coalition) = f(everything filled)
    double fx = 0;                  // v(full coalition) = f(image)
    double sum_check = 0;           // sum(values) - (fx - base_value)
    int64_t samples = 0;            // coalitions evaluated, including the empty and the full one
    bool exact = false;             // all coalitions enumerated: exact Shapley values
    ShapDesign design;              // the regressed coalitions and their kernel weights
    Eigen::VectorXd design_values;  // v() of design.coalitions
};

// Samples (sampleShapCoalitions with kernelShapBudget), evaluates the full
// coalition, the empty one and the sample in batches (progress "KernelSHAP: i/n
// samples", cancel checked before each batch), then solves the weighted least
// squares with v(empty) as intercept and sum(phi) = v(full) - v(empty) exactly.
// fullValue (and emptyValue, only together with it), when known, are used
// instead of evaluating the full (and empty) coalition.
KernelShapResult runKernelShap(CoalitionValue& value, const KernelShapSettings& settings, uint64_t seed, int batchSize,
                               const RunContext& ctx, std::optional<double> fullValue = std::nullopt,
                               std::optional<double> emptyValue = std::nullopt);

}  // namespace mirada
