// XGrad-CAM (Fu et al. 2020): channel weights chosen so that the map satisfies
// the paper's sensitivity and conservation axioms,
//   w_k = sum_ij (A_kij / sum_ab A_kab) * G_kij,
// i.e. the gradient averaged with the activation's own spatial distribution
// instead of uniformly (Grad-CAM). A channel that is zero everywhere gets 0.
#include "explain/cam/cam_pipeline.hpp"
#include "explain/methods.hpp"

namespace mirada {

namespace {
class XGradCamWeighting final : public CamWeighting {
public:
    std::string name() const override { return "xgradcam"; }
    std::string title() const override { return "XGrad-CAM"; }
    torch::Tensor channelWeights(const torch::Tensor& activation, const torch::Tensor& gradient,
                                 const CamLayerContext& /*where*/) const override {
        const torch::Tensor sumA = activation.sum({1, 2});
        const torch::Tensor num = (gradient * activation).sum({1, 2});
        // eps as pytorch-grad-cam (1e-7), so that an all-zero channel gives 0, not NaN.
        return num / (sumA + 1e-7);
    }
};
}  // namespace

std::unique_ptr<Explainer> makeXGradCamExplainer() {
    return makeCamPipelineExplainer(std::make_unique<XGradCamWeighting>());
}

}  // namespace mirada
