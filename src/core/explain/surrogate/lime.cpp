// LIME = Bernoulli(0.5) coalitions + exponential kernel on cosine distance +
// weighted ridge with an unpenalised intercept.
#include "explain/surrogate/lime.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>

#include "common/error.hpp"
#include "explain/methods.hpp"
#include "explain/surrogate/coalition_sampler.hpp"
#include "explain/surrogate/weighted_ridge.hpp"

namespace mirada {

ParamSet limeParams() {
    const LimeSettings d;
    return ParamSet(
        "lime",
        {
            intParam("samples", d.samples, 0, 100000,
                     "Perturbed images evaluated (the first is the unperturbed image), at least 10; each costs one "
                     "model evaluation; 0 = auto: sample in rounds (5 x superpixels, then doubling) until the top-k "
                     "superpixels are stable (see tolerance), at most max_samples",
                     "samples"),
            intParam("max_samples", d.max_samples, 10, 100000, "Ceiling of samples = auto", "samples"),
            toleranceParam(d.tolerance, "weight"),
            topKParam(d.top_k, "weights"),
            floatParam("kernel_width", d.kernel_width, 1e-6, 1e6,
                       "Width of LIME's kernel: a sample's weight is sqrt(exp(-d^2 / width^2)) (as lime does), d = "
                       "cosine distance of its coalition to the unperturbed one"),
            floatParam("alpha", d.alpha, 0.0, 1e6,
                       "Ridge penalty on the superpixel weights (the intercept is not penalised)"),
            choiceParam("fill", d.fill, methodFillChoices(true), methodFillHelp(true)),
            choiceParam("output", d.output, {"probability", "logit"}, surrogateOutputHelp()),
        });
}

LimeSettings limeSettingsFrom(const ParamSet& given) {
    const ParamSet p = effectiveParams(given, limeParams());
    LimeSettings s;
    s.samples = static_cast<int>(p.getInt("samples"));
    s.max_samples = static_cast<int>(p.getInt("max_samples"));
    s.tolerance = p.getFloat("tolerance");
    s.top_k = static_cast<int>(p.getInt("top_k"));
    s.kernel_width = p.getFloat("kernel_width");
    s.alpha = p.getFloat("alpha");
    s.fill = p.getChoice("fill");
    s.output = p.getChoice("output");
    return s;
}

Eigen::VectorXd limeKernelWeights(const Eigen::MatrixXd& z, double width) {
    if (!(width > 0)) throw Error("lime.kernel_width must be greater than 0");
    const double onesNorm = std::sqrt(static_cast<double>(z.cols()));
    Eigen::VectorXd w(z.rows());
    for (Eigen::Index i = 0; i < z.rows(); ++i) {
        const double norm = z.row(i).norm();
        const double d = norm > 0 ? 1.0 - z.row(i).sum() / (norm * onesNorm) : 1.0;
        w(i) = std::sqrt(std::exp(-(d * d) / (width * width)));
    }
    return w;
}

LimeResult fitLime(const Eigen::MatrixXd& coalitions, const Eigen::VectorXd& values, const LimeSettings& settings,
                   const RunContext* ctx) {
    LimeResult r;
    r.coalitions = coalitions;
    r.values = values;
    r.sample_weights = limeKernelWeights(coalitions, settings.kernel_width);
    const RidgeFit fit = weightedRidge(coalitions, values, r.sample_weights, settings.alpha, ctx);
    r.weights = fit.coef;
    r.intercept = fit.intercept;
    r.r2 = fit.r2;
    return r;
}

int64_t limeAutoFirstRound(int M, int64_t ceiling) { return std::min(ceiling, std::max<int64_t>(100, 5 * int64_t(M))); }

LimeResult runLime(CoalitionValue& value, const LimeSettings& settings, uint64_t seed, int batchSize,
                   const RunContext& ctx, std::optional<double> fullValue) {
    if (settings.samples != 0 && settings.samples < 10)
        throw Error("lime.samples = " + std::to_string(settings.samples) +
                    " is too few for a fit; use 10 or more, or 0 (auto)");
    if (settings.samples == 0 && settings.max_samples < 10)
        throw Error("lime.max_samples = " + std::to_string(settings.max_samples) + " is too few; use 10 or more");
    const int M = value.features();
    const bool automatic = settings.samples == 0;
    const int64_t ceiling = automatic ? settings.max_samples : settings.samples;
    checkDesignSize(ceiling, M, "LIME");
    ctx.checkCancelled();
    int64_t target = automatic ? limeAutoFirstRound(M, ceiling) : ceiling;
    Eigen::VectorXd y(0);
    LimeResult r;
    int rounds = 0;
    std::string note;
    const std::string k = std::to_string(std::min(settings.top_k, std::max(M - 1, 0)));
    while (true) {
        // The same seed gives the same sequence: a longer sample extends a shorter one.
        const Eigen::MatrixXd z = sampleLimeCoalitions(M, static_cast<int>(target), seed);
        const Eigen::Index before = y.size();
        Eigen::VectorXd fresh(z.rows() - before);
        Eigen::Index first = 0;
        if (before == 0 && fullValue) {
            fresh(0) = *fullValue;
            first = 1;
        }
        evaluateCoalitions(value, z.bottomRows(z.rows() - before), first, batchSize, ctx, "LIME", fresh, before,
                           ceiling, note);
        y.conservativeResize(z.rows());
        y.tail(fresh.size()) = fresh;
        ++rounds;
        r = fitLime(z, y, settings, &ctx);
        const Eigen::MatrixXd cov =
            ridgeSandwichCovariance(z, y, r.sample_weights, settings.alpha, r.weights, r.intercept);
        r.uncertainty = summarizeUncertainty(r.weights, cov, z.rows() > M + 1, settings.top_k, settings.tolerance, seed,
                                             "HC1 sandwich covariance of the weighted ridge fit (samples as "
                                             "independent draws)");
        if (!automatic || r.uncertainty.converged || target >= ceiling) break;
        note = r.uncertainty.available
                   ? "; top-" + k + " would change with p = " +
                         std::to_string(static_cast<int>(std::lround(100 * r.uncertainty.change_probability))) +
                         "%, sampling more"
                   : "; too few samples for an interval yet, sampling more";
        ctx.report(double(y.size()) / double(ceiling),
                   "LIME: " + std::to_string(y.size()) + "/" + std::to_string(ceiling) + " samples" + note);
        target = std::min(ceiling, 2 * target);
    }
    r.automatic = automatic;
    r.rounds = rounds;
    r.max_samples = ceiling;
    return r;
}

namespace {

class LimeExplainer : public SurrogateExplainer {
public:
    std::string name() const override { return "lime"; }
    std::string title() const override { return "LIME"; }
    ParamSet defaultParams() const override { return limeParams(); }

protected:
    Fit fit(CoalitionValue& value, const ParamSet& params, const SurrogateSetup& setup, uint64_t seed,
            const RunContext& ctx) override {
        const LimeResult r = runLime(value, limeSettingsFrom(params), seed, setup.batch_size, ctx, setup.full_value);
        Fit f;
        f.per_segment = r.weights;
        f.numbers = {{"weights", std::vector<double>(r.weights.data(), r.weights.data() + r.weights.size())},
                     {"intercept", r.intercept},
                     {"r2", r.r2},
                     {"samples", r.coalitions.rows()},
                     {"samples_asked", r.automatic ? nlohmann::json("auto") : nlohmann::json(r.max_samples)},
                     {"max_samples", r.max_samples},
                     {"rounds", r.rounds}};
        r.uncertainty.addTo(f.numbers);
        f.numbers["converged"] = r.uncertainty.converged;
        addStabilityWarning(r.uncertainty, r.automatic, "LIME", f.flags, f.warnings);
        if (r.r2 < kLimeLowR2) {
            char buf[200];
            std::snprintf(
                buf, sizeof buf,
                "LIME: the linear surrogate fits poorly (weighted R2 = %.2f < %.1f): its weights are a "
                "rough summary of the model; read the map with care, or try fewer superpixels or more samples.",
                r.r2, kLimeLowR2);
            f.flags.push_back(kFlagLowFit);
            f.warnings.push_back(buf);
        }
        return f;
    }
};

}  // namespace

std::unique_ptr<Explainer> makeLimeExplainer() { return std::make_unique<LimeExplainer>(); }

}  // namespace mirada
