// KernelSHAP = Shapley-kernel coalitions (enumerated small sizes + paired
// samples) + weighted least squares with v(empty) fixed and the efficiency
// constraint sum(phi) = v(full) - v(empty) solved exactly.
#include "explain/surrogate/kernel_shap.hpp"

#include <chrono>
#include <cstdio>
#include <cmath>
#include <limits>

#include "common/error.hpp"
#include "explain/methods.hpp"
#include "explain/surrogate/stratified_sampler.hpp"
#include "explain/surrogate/weighted_ridge.hpp"

namespace mirada {

ParamSet kernelShapParams() {
    const KernelShapSettings d;
    return ParamSet(
        "kernelshap",
        {
            intParam("samples", d.samples, 0, 1000000,
                     "Coalitions evaluated besides the empty and the full one (one model evaluation each); 0 = auto: "
                     "sample in rounds (4 x superpixels, then doubling) until the top-k superpixels are stable "
                     "(see tolerance), at most max_samples. When 2^superpixels - 2 or fewer are asked, every "
                     "coalition is evaluated and the values are the exact Shapley values",
                     "samples"),
            intParam("max_samples", d.max_samples, 0, 1000000,
                     "Ceiling of samples = auto; 0 = auto: 2 x superpixels + 2048", "samples"),
            choiceParam("sampler", d.sampler, {"leverage", "kernel"},
                        "leverage: coalitions stratified by size, the same number per size, without replacement "
                        "(0.2-0.8x the error of kernel at equal budget in the README's measurements; gives "
                        "intervals); kernel: shap's "
                        "KernelExplainer sampling (for comparison with shap; no intervals, no auto)"),
            toleranceParam(d.tolerance, "value"),
            topKParam(d.top_k, "values"),
            choiceParam("fill", d.fill, methodFillChoices(true), methodFillHelp(true)),
            choiceParam("output", d.output, {"probability", "logit"}, surrogateOutputHelp()),
            boolParam("paired", d.paired,
                      "Sample each coalition together with its complement (paired sampling; lowers variance)"),
        });
}

KernelShapSettings kernelShapSettingsFrom(const ParamSet& given) {
    const ParamSet p = effectiveParams(given, kernelShapParams());
    KernelShapSettings s;
    s.samples = static_cast<int>(p.getInt("samples"));
    s.max_samples = static_cast<int>(p.getInt("max_samples"));
    s.sampler = p.getChoice("sampler");
    s.tolerance = p.getFloat("tolerance");
    s.top_k = static_cast<int>(p.getInt("top_k"));
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

int64_t autoFirstRound(int M, int64_t ceiling) { return std::min(ceiling, std::max<int64_t>(128, 4 * int64_t(M))); }

namespace {

std::string percent(double p) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f%%", 100 * p);
    return buf;
}

ShapDesign designOf(const StratifiedShapDesign& d) {
    ShapDesign out;
    out.coalitions = d.coalitions();
    out.weights = d.weights();
    const double total = out.weights.sum();
    if (total > 0) out.weights /= total;
    out.exact = d.exact();
    out.enumerated_sizes = d.enumeratedStrata();
    return out;
}

}  // namespace

KernelShapResult runKernelShap(CoalitionValue& value, const KernelShapSettings& settings, uint64_t seed, int batchSize,
                               const RunContext& ctx, std::optional<double> fullValue,
                               std::optional<double> emptyValue) {
    const int M = value.features();
    if (M < 1) throw Error("KernelSHAP needs at least one superpixel");
    if (settings.sampler != "leverage" && settings.sampler != "kernel")
        throw Error("kernelshap.sampler '" + settings.sampler + "' is not known; use leverage or kernel");
    if (settings.max_samples < 0) throw Error("kernelshap.max_samples must not be negative (0 = auto)");
    const bool automatic = settings.samples == 0 && settings.sampler == "leverage" && M > 1;
    const int64_t budget = kernelShapBudget(M, settings.samples == 0 ? settings.max_samples : settings.samples);
    checkDesignSize(budget + 2, M, "KernelSHAP");
    ctx.checkCancelled();

    KernelShapResult r;
    r.sampler = settings.sampler;
    r.automatic = automatic;
    r.max_samples = budget + 2;
    // The full and the empty coalition first.
    Eigen::MatrixXd ends(2, M);
    ends.row(0).setOnes();
    ends.row(1).setZero();
    Eigen::VectorXd endValues(2);
    Eigen::Index first = 0;
    if (fullValue) {
        endValues(0) = *fullValue;
        first = 1;
        if (emptyValue) {
            endValues(1) = *emptyValue;
            first = 2;
        }
    }
    evaluateCoalitions(value, ends, first, batchSize, ctx, "KernelSHAP", endValues, 0, budget + 2);
    r.fx = endValues(0);
    r.base_value = endValues(1);
    const std::string k = std::to_string(std::min(settings.top_k, std::max(M - 1, 0)));

    if (settings.sampler == "kernel" || M == 1) {
        r.design = sampleShapCoalitions(M, budget, settings.paired, seed);
        const Eigen::Index n = r.design.coalitions.rows();
        Eigen::VectorXd y(n);
        evaluateCoalitions(value, r.design.coalitions, 0, batchSize, ctx, "KernelSHAP", y, 2, n + 2);
        r.design_values = y;
        r.values = solveEfficiencyConstrained(r.design.coalitions, y, r.design.weights, r.base_value, r.fx, &ctx);
        r.rounds = 1;
        r.samples = n + 2;
        r.exact = r.design.exact;
        if (r.exact) {
            r.uncertainty = summarizeUncertainty(r.values, Eigen::MatrixXd::Zero(M, M), true, settings.top_k,
                                                 settings.tolerance, seed, "exact: every coalition evaluated");
        } else {
            r.uncertainty =
                summarizeUncertainty(r.values, Eigen::MatrixXd(), false, settings.top_k, settings.tolerance, seed,
                                     "not estimated: the kernel sampler has no interval; use sampler "
                                     "leverage");
        }
    } else {
        StratifiedShapDesign design(M, settings.paired, seed);
        Eigen::VectorXd y(0);
        int64_t target = automatic ? autoFirstRound(M, budget) : budget;
        std::string note;
        while (true) {
            const Eigen::MatrixXd added = design.grow(target);
            const Eigen::Index before = y.size();
            Eigen::VectorXd fresh(added.rows());
            evaluateCoalitions(value, added, 0, batchSize, ctx, "KernelSHAP", fresh, before + 2, budget + 2, note);
            y.conservativeResize(before + added.rows());
            y.tail(added.rows()) = fresh;
            ++r.rounds;
            r.values = solveEfficiencyConstrained(design.coalitions(), y, design.weights(), r.base_value, r.fx, &ctx);
            bool available = true;
            const Eigen::MatrixXd cov = design.covariance(y, r.base_value, r.values, &available);
            r.uncertainty = summarizeUncertainty(
                r.values, cov, available, settings.top_k, settings.tolerance, seed,
                design.exact() ? "exact: every coalition evaluated"
                               : "linearization (sandwich) variance of the regression estimator under stratified "
                                 "sampling without replacement");
            if (!automatic || r.uncertainty.converged || target >= budget || design.exact() || added.rows() == 0) break;
            note = r.uncertainty.available
                       ? "; top-" + k + " would change with p = " + percent(r.uncertainty.change_probability) +
                             ", sampling more"
                       : "; too few samples for an interval yet, sampling more";
            ctx.report(double(y.size() + 2) / double(budget + 2), "KernelSHAP: " + std::to_string(y.size() + 2) + "/" +
                                                                      std::to_string(budget + 2) + " samples" + note);
            target = std::min(budget, 2 * target);
        }
        r.design = designOf(design);
        r.design_values = y;
        r.samples = y.size() + 2;
        r.exact = design.exact();
    }
    r.sum_check = r.values.sum() - (r.fx - r.base_value);
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
                     {"samples_asked", r.automatic ? nlohmann::json("auto") : nlohmann::json(r.max_samples - 2)},
                     {"max_samples", r.max_samples},
                     {"rounds", r.rounds},
                     {"sampler", r.sampler},
                     {"exact", r.exact}};
        r.uncertainty.addTo(f.numbers);
        f.numbers["converged"] = r.uncertainty.converged;
        addStabilityWarning(r.uncertainty, r.automatic, "KernelSHAP", f.flags, f.warnings);
        return f;
    }
};

}  // namespace

std::unique_ptr<Explainer> makeKernelShapExplainer() { return std::make_unique<KernelShapExplainer>(); }

}  // namespace mirada
