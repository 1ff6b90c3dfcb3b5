// Gradient x input (Shrikumar et al. 2016): each input value times the
// target score's gradient with respect to it, summed over the channels,
//   map(i, j) = sum_c x_cij * d score / d x_cij,
// on the normalised input the model receives (as Captum's InputXGradient).
// Signed: positive where the pixel's value pushes the score up.
#include "explain/methods.hpp"
#include "explain/pixel/pixel_method.hpp"

namespace mirada {

namespace {
class GradXInputExplainer final : public PixelExplainer {
public:
    std::string name() const override { return "gradxinput"; }
    std::string title() const override { return "Gradient x Input"; }
    ParamSet defaultParams() const override { return ParamSet(name(), {pixelOutputParam("logit")}); }

protected:
    bool usesBaseline() const override { return false; }
    MapResult computeMap(const ExplainRequest& request, const ParamSet&, PixelSetup& setup, SurrogateOutput output,
                         const RunContext& ctx) override {
        const torch::Tensor g = inputGradients(*request.model, setup.x, output, setup, ctx, title())[0];
        const torch::Tensor x = setup.x[0].to(torch::kCPU, torch::kFloat32);
        MapResult r;
        r.input_map = tensorToMat((g * x).sum(0));
        r.signed_map = true;
        return r;
    }
};
}  // namespace

std::unique_ptr<Explainer> makeGradXInputExplainer() { return std::make_unique<GradXInputExplainer>(); }

}  // namespace mirada
