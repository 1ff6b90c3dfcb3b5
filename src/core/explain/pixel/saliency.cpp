// Saliency (Simonyan et al. 2014): how strongly each input pixel moves the
// target's score, map(i, j) = max over channels of |d score / d x_cij|.
// One forward and one backward pass; unsigned. With the noise tunnel on, the
// mean of that map over noisy copies of the image.
#include <algorithm>

#include "explain/methods.hpp"
#include "explain/pixel/pixel_method.hpp"

namespace mirada {

namespace {
class SaliencyExplainer final : public PixelExplainer {
public:
    std::string name() const override { return "saliency"; }
    std::string title() const override { return "Saliency"; }
    ParamSet defaultParams() const override {
        auto specs = noiseTunnelParams();
        specs.push_back(pixelOutputParam("logit"));
        return ParamSet(name(), specs);
    }

protected:
    bool usesBaseline() const override { return false; }
    MapResult computeMap(const ExplainRequest& request, const ParamSet& params, PixelSetup& setup,
                         SurrogateOutput output, const RunContext& ctx) override {
        MapResult r;
        double gradientAbsMax = 0;
        const torch::Tensor map = tunnelledAttribution(
            request, params, setup, output, ctx, title(),
            [&](const torch::Tensor&, const torch::Tensor& g) {
                gradientAbsMax = std::max(gradientAbsMax, g.abs().max().item<double>());
                return std::get<0>(g.abs().max(1));  // [m, H, W]
            },
            r.numbers);
        r.input_map = tensorToMat(map);
        r.numbers["gradient_abs_max"] = gradientAbsMax;
        return r;
    }
};
}  // namespace

std::unique_ptr<Explainer> makeSaliencyExplainer() { return std::make_unique<SaliencyExplainer>(); }

}  // namespace mirada
