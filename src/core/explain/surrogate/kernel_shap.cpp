// KernelSHAP = Shapley-kernel coalitions (enumerated small sizes + paired
// samples) + weighted least squares with v(empty) fixed and the efficiency
// constraint sum(phi) = v(full) - v(empty) solved exactly.
#include "explain/surrogate/kernel_shap.hpp"

#include <chrono>
#include <cmath>
#include <limits>

#include "common/error.hpp"
#include "explain/methods.hpp"
#include "explain/surrogate/weighted_ridge.hpp"

namespace mirada {

ParamSet kernelShapParams() {
    const KernelShapSettings d;
    return ParamSet(
        "kernelshap",
        {
            intParam("samples", d.samples, 0, 1000000,
                     "Coalitions evaluated besides the empty and the full one (one model evaluation each); 0 = auto: "
                     "2 x superpixels + 2048. When 2^superpixels - 2 or fewer are asked, every coalition is "
                     "evaluated and the values are the exact Shapley values",
                     "samples"),
            choiceParam("fill", d.fill, methodFillChoices(true), methodFillHelp(true)),
            choiceParam("output", d.output, {"probability", "logit"}, surrogateOutputHelp()),
            boolParam("paired", d.paired,
                      "Sample each coalition together with its complement (shap's paired sampling; lowers variance)"),
        });
}

KernelShapSettings kernelShapSettingsFrom(const ParamSet& given) {
    const ParamSet p = effectiveParams(given, kernelShapParams());
    KernelShapSettings s;
    s.samples = static_cast<int>(p.getInt("samples"));
    s.fill = p.getChoice("fill");
    s.output = p.getChoice("output");
    s.paired = p.getBool("paired");
    return s;
}

int64_t kernelShapBudget(int M, int samples) {
    if (samples < 0) throw Error("kernelshap.samples must not be negative (0 = auto)");
    const int64_t want = samples == 0 ? 2 * int64_t(M) + 2048 : samples;
    return std::min(want, nonTrivialCoalitions(M));
}

KernelShapResult runKernelShap(CoalitionValue& value, const KernelShapSettings& settings, uint64_t seed, int batchSize,
                               const RunContext& ctx, std::optional<double> fullValue,
                               std::optional<double> emptyValue) {
    const int M = value.features();
    if (M < 1) throw Error("KernelSHAP needs at least one superpixel");
    const int64_t budget = kernelShapBudget(M, settings.samples);
    checkDesignSize(budget + 2, M, "KernelSHAP");
    ctx.checkCancelled();

    KernelShapResult r;
    r.design = sampleShapCoalitions(M, budget, settings.paired, seed);
    const Eigen::Index n = r.design.coalitions.rows();
    // Rows: full, empty, then the design.
    Eigen::MatrixXd z(n + 2, M);
    z.row(0).setOnes();
    z.row(1).setZero();
    if (n > 0) z.bottomRows(n) = r.design.coalitions;
    Eigen::VectorXd y(n + 2);
    Eigen::Index first = 0;
    if (fullValue) {
        y(0) = *fullValue;
        first = 1;
        if (emptyValue) {
            y(1) = *emptyValue;
            first = 2;
        }
    }
    evaluateCoalitions(value, z, first, batchSize, ctx, "KernelSHAP", y);

    r.fx = y(0);
    r.base_value = y(1);
    r.design_values = y.tail(n);
    r.values =
        solveEfficiencyConstrained(r.design.coalitions, r.design_values, r.design.weights, r.base_value, r.fx, &ctx);
    r.sum_check = r.values.sum() - (r.fx - r.base_value);
    r.samples = n + 2;
    r.exact = r.design.exact;
    return r;
}

namespace {

class KernelShapExplainer : public SurrogateExplainer {
public:
    std::string name() const override { return "kernelshap"; }
    std::string title() const override { return "KernelSHAP"; }
    ParamSet defaultParams() const override { return kernelShapParams(); }

protected:
    Fit fit(CoalitionValue& value, const ParamSet& params, const SurrogateSetup& setup, uint64_t seed,
            const RunContext& ctx) override {
        const KernelShapResult r = runKernelShap(value, kernelShapSettingsFrom(params), seed, setup.batch_size, ctx,
                                                 setup.full_value, setup.empty_value);
        Fit f;
        f.per_segment = r.values;
        f.numbers = {{"values", std::vector<double>(r.values.data(), r.values.data() + r.values.size())},
                     {"base_value", r.base_value},
                     {"fx", r.fx},
                     {"sum_check", r.sum_check},
                     {"samples", r.samples},
                     {"exact", r.exact}};
        return f;
    }
};

}  // namespace

std::unique_ptr<Explainer> makeKernelShapExplainer() { return std::make_unique<KernelShapExplainer>(); }

}  // namespace mirada
