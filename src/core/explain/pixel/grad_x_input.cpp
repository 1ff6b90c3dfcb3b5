// Gradient x input (Shrikumar et al. 2016): each input value times the
// target score's gradient with respect to it, summed over the channels,
//   map(i, j) = sum_c x_cij * d score / d x_cij,
// on the normalised input the model receives (as Captum's InputXGradient).
// Signed: positive where the pixel's value pushes the score up. With the noise
// tunnel on, the mean of that map over noisy copies of the image (each copy
// times its own gradient).
#include "explain/methods.hpp"
#include "explain/pixel/pixel_method.hpp"

namespace mirada {

namespace {
class GradXInputExplainer final : public PixelExplainer {
public:
    std::string name() const override { return "gradxinput"; }
    std::string title() const override { return "Gradient x Input"; }
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
        const torch::Tensor map = tunnelledAttribution(
            request, params, setup, output, ctx, title(),
            [](const torch::Tensor& x, const torch::Tensor& g) { return (g * x).sum(1); }, r.numbers);
        r.input_map = tensorToMat(map);
        r.signed_map = true;
        return r;
    }
};
}  // namespace

std::unique_ptr<Explainer> makeGradXInputExplainer() { return std::make_unique<GradXInputExplainer>(); }

}  // namespace mirada
