// Grad-CAM (Selvaraju et al. 2017): each channel counts with the spatial mean
// of the target score's gradient over that channel.
#include "explain/cam/cam_pipeline.hpp"
#include "explain/methods.hpp"

namespace mirada {

namespace {
class GradCamWeighting final : public CamWeighting {
public:
    std::string name() const override { return "gradcam"; }
    std::string title() const override { return "Grad-CAM"; }
    torch::Tensor channelWeights(const torch::Tensor& /*activation*/, const torch::Tensor& gradient,
                                 const CamLayerContext& /*where*/) const override {
        return gradient.mean({1, 2});
    }
};
}  // namespace

std::unique_ptr<CamWeighting> makeGradCamWeighting() { return std::make_unique<GradCamWeighting>(); }

std::unique_ptr<Explainer> makeGradCamExplainer() { return makeCamPipelineExplainer(makeGradCamWeighting()); }

}  // namespace mirada
