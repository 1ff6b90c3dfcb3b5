// SmoothGrad (Smilkov et al. 2017): the gradient averaged over copies of the
// input with Gaussian noise, sigma = noise * (max - min of the normalised
// input), then shown as saliency: map(i, j) = max over channels of |mean_n g_n|.
// The noise is drawn copy by copy from a generator seeded with the run's seed,
// so the map does not depend on the batch size.
#include "explain/methods.hpp"
#include "explain/pixel/pixel_method.hpp"

namespace mirada {

namespace {
class SmoothGradExplainer final : public PixelExplainer {
public:
    std::string name() const override { return "smoothgrad"; }
    std::string title() const override { return "SmoothGrad"; }
    ParamSet defaultParams() const override {
        return ParamSet(name(),
                        {intParam("samples", 25, 1, 10000, "Noisy copies of the image, one gradient each", "samples"),
                         floatParam("noise", 0.15, 0.0, 1.0,
                                    "Noise level: sigma as a fraction of the input's value range (the paper "
                                    "suggests 0.1-0.2)"),
                         pixelOutputParam("logit")});
    }

protected:
    bool usesBaseline() const override { return false; }
    MapResult computeMap(const ExplainRequest& request, const ParamSet& params, PixelSetup& setup,
                         SurrogateOutput output, const RunContext& ctx) override {
        const int64_t n = params.getInt("samples");
        // One noisy copy after another from the run's seed (the same noise at
        // any batch size), summed batch by batch: memory stays one batch.
        torch::Tensor sum = torch::zeros({setup.x.size(1), setup.x.size(2), setup.x.size(3)}, torch::kFloat64);
        const double sigma = forEachNoisyBatch(setup.x, n, params.getFloat("noise"), request.seed, setup.batch_size,
                                               [&](const torch::Tensor& noisy, int64_t done, int64_t m) {
                                                   const torch::Tensor g =
                                                       inputGradients(*request.model, noisy, output, setup, ctx,
                                                                      title(), 0.99 * double(done) / double(n),
                                                                      0.99 * double(done + m) / double(n));
                                                   sum += g.to(torch::kFloat64).sum(0);
                                               });
        const torch::Tensor mean = sum / static_cast<double>(n);  // [C,H,W]
        MapResult r;
        r.input_map = tensorToMat(std::get<0>(mean.abs().max(0)));
        r.numbers = {{"sigma", sigma}};
        return r;
    }
};
}  // namespace

std::unique_ptr<Explainer> makeSmoothGradExplainer() { return std::make_unique<SmoothGradExplainer>(); }

}  // namespace mirada
