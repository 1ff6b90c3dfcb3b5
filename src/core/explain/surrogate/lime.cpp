// LIME = Bernoulli(0.5) coalitions + exponential kernel on cosine distance +
// weighted ridge with an unpenalised intercept.
#include "explain/surrogate/lime.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>

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
            intParam("samples", d.samples, 10, 100000,
                     "Perturbed images evaluated (the first is the unperturbed image); each costs one model "
                     "evaluation",
                     "samples"),
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

LimeResult runLime(CoalitionValue& value, const LimeSettings& settings, uint64_t seed, int batchSize,
                   const RunContext& ctx, std::optional<double> fullValue) {
    if (settings.samples < 1) throw Error("lime.samples must be at least 1");
    const int M = value.features();
    checkDesignSize(settings.samples, M, "LIME");
    ctx.checkCancelled();
    const Eigen::MatrixXd z = sampleLimeCoalitions(M, settings.samples, seed);
    Eigen::VectorXd y(z.rows());
    Eigen::Index first = 0;
    if (fullValue) {
        y(0) = *fullValue;
        first = 1;
    }
    evaluateCoalitions(value, z, first, batchSize, ctx, "LIME", y);
    return fitLime(z, y, settings, &ctx);
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
                     {"samples", r.coalitions.rows()}};
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
