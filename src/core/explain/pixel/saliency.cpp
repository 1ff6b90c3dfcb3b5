// Saliency (Simonyan et al. 2014): how strongly each input pixel moves the
// target's score, map(i, j) = max over channels of |d score / d x_cij|.
// One forward and one backward pass; unsigned.
#include "explain/methods.hpp"
#include "explain/pixel/pixel_method.hpp"

namespace mirada {

namespace {
class SaliencyExplainer final : public PixelExplainer {
public:
    std::string name() const override { return "saliency"; }
    std::string title() const override { return "Saliency"; }
    ParamSet defaultParams() const override { return ParamSet(name(), {pixelOutputParam("logit")}); }

protected:
    bool usesBaseline() const override { return false; }
    MapResult computeMap(const ExplainRequest& request, const ParamSet&, PixelSetup& setup, SurrogateOutput output,
                         const RunContext& ctx) override {
        const torch::Tensor g = inputGradients(*request.model, setup.x, output, setup, ctx, title())[0];  // [C,H,W]
        MapResult r;
        r.input_map = tensorToMat(std::get<0>(g.abs().max(0)));
        r.numbers = {{"gradient_abs_max", g.abs().max().item<double>()}};
        return r;
    }
};
}  // namespace

std::unique_ptr<Explainer> makeSaliencyExplainer() { return std::make_unique<SaliencyExplainer>(); }

}  // namespace mirada
