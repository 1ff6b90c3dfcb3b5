// Grad-CAM++ (Chattopadhay et al. 2018). With the exponential score
// S = exp(logit) the higher derivatives reduce to powers of the first, and the
// pixel-wise weights have the closed form (as in pytorch-grad-cam):
//   alpha_kij = g^2 / (2 g^2 + sum_ab A_kab * g^3),   g = d logit / d A_kij
//   w_k       = sum_ij alpha_kij * relu(g_kij)
// A zero denominator (g = 0) gives alpha = 0 (the numerator is 0 there).
#include "explain/cam/cam_pipeline.hpp"
#include "explain/methods.hpp"

namespace mirada {

namespace {
class GradCamPlusPlusWeighting final : public CamWeighting {
public:
    std::string name() const override { return "gradcampp"; }
    std::string title() const override { return "Grad-CAM++"; }
    torch::Tensor channelWeights(const torch::Tensor& activation, const torch::Tensor& gradient,
                                 const CamLayerContext& /*where*/) const override {
        const torch::Tensor g2 = gradient * gradient;
        const torch::Tensor g3 = g2 * gradient;
        const torch::Tensor sumA = activation.sum({1, 2}, /*keepdim=*/true);
        const torch::Tensor denom = 2 * g2 + sumA * g3;
        const torch::Tensor alpha = g2 / torch::where(denom != 0, denom, torch::ones_like(denom));
        return (alpha * torch::relu(gradient)).sum({1, 2});
    }
};
}  // namespace

std::unique_ptr<CamWeighting> makeGradCamPlusPlusWeighting() { return std::make_unique<GradCamPlusPlusWeighting>(); }

std::unique_ptr<Explainer> makeGradCamPlusPlusExplainer() {
    return makeCamPipelineExplainer(makeGradCamPlusPlusWeighting());
}

}  // namespace mirada
