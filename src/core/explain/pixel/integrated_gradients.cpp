// Integrated Gradients (Sundararajan et al. 2017): the gradient averaged
// along the straight path from the baseline x0 to the image x, times x - x0:
//   IG_c(x) = (x_c - x0_c) * integral_0^1 d f(x0 + a (x - x0)) / d x_c da,
// with the integral by the trapezoid rule on `steps` + 1 equally spaced points
// (a = 0, 1/steps, ..., 1). The map sums IG over the channels; signed.
//
// Completeness: the attributions add up to f(x) - f(x0). The report gives the
// error, sum(IG) - (f(x) - f(x0)), absolute and relative to |f(x) - f(x0)|; a
// relative error above 5% gets a warning (use more steps).
//
// The baseline is the model's (perturbation.baseline) unless ig.fill names one.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "explain/methods.hpp"
#include "explain/pixel/pixel_method.hpp"

namespace mirada {

namespace {
class IntegratedGradientsExplainer final : public PixelExplainer {
public:
    std::string name() const override { return "integratedgradients"; }
    std::string title() const override { return "Integrated Gradients"; }
    ParamSet defaultParams() const override {
        return ParamSet(name(),
                        {intParam("steps", 50, 2, 2000,
                                  "Intervals of the path integral (trapezoid rule; steps + 1 gradients)", "steps"),
                         choiceParam("fill", "shared", methodFillChoices(false), methodFillHelp(false)),
                         pixelOutputParam("logit")});
    }

protected:
    bool usesBaseline() const override { return true; }
    MapResult computeMap(const ExplainRequest& request, const ParamSet& params, PixelSetup& setup,
                         SurrogateOutput output, const RunContext& ctx) override {
        const int64_t steps = params.getInt("steps");
        const auto alphas = torch::linspace(0.0, 1.0, steps + 1, torch::kFloat32).to(setup.x.device());
        const torch::Tensor diff = setup.x - setup.fill;  // [1,C,H,W]
        torch::Tensor w = torch::ones({steps + 1}, torch::kFloat64) / static_cast<double>(steps);
        w[0] = 0.5 / static_cast<double>(steps);
        w[steps] = 0.5 / static_cast<double>(steps);
        // The path's points batch by batch, each batch's weighted gradients summed
        // at once: memory stays one batch whatever the number of steps.
        torch::Tensor avg = torch::zeros({diff.size(1), diff.size(2), diff.size(3)}, torch::kFloat64);  // [C,H,W]
        const int64_t points = steps + 1;
        for (int64_t done = 0; done < points;) {
            const int64_t m = std::min<int64_t>(setup.batch_size, points - done);
            const torch::Tensor path = setup.fill + alphas.narrow(0, done, m).view({-1, 1, 1, 1}) * diff;
            const torch::Tensor g =
                inputGradients(*request.model, path, output, setup, ctx, title(), 0.99 * double(done) / double(points),
                               0.99 * double(done + m) / double(points));
            avg += (g.to(torch::kFloat64) * w.narrow(0, done, m).view({-1, 1, 1, 1})).sum(0);
            done += m;
        }
        const torch::Tensor ig = diff[0].to(torch::kCPU, torch::kFloat64) * avg;
        const double total = ig.sum().item<double>();
        const double delta = setup.full_value - setup.empty_value;
        const double error = total - delta;
        const double relative = std::abs(delta) > 0 ? std::abs(error) / std::abs(delta) : 0.0;
        MapResult r;
        r.input_map = tensorToMat(ig.sum(0));
        r.signed_map = true;
        r.numbers = {{"attribution_sum", total},
                     {"f_image", setup.full_value},
                     {"f_baseline", setup.empty_value},
                     {"completeness_error", error},
                     {"completeness_error_relative", relative}};
        if (relative > 0.05) {
            std::ostringstream ss;
            ss << title() << ": the attributions add up to " << total << " but f(image) - f(baseline) = " << delta
               << " (" << std::round(relative * 1000) / 10 << "% off): the path integral is coarse; raise " << name()
               << ".steps";
            r.warning = ss.str();
        }
        return r;
    }
};
}  // namespace

std::unique_ptr<Explainer> makeIntegratedGradientsExplainer() {
    return std::make_unique<IntegratedGradientsExplainer>();
}

}  // namespace mirada
