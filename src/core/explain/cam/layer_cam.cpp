// LayerCAM (Jiang et al. 2021): each position of each channel counts with its
// own positive gradient, map = sum_k relu(G_k) * A_k. Without the spatial
// average it keeps fine detail, so it also works at early, high-resolution
// layers where Grad-CAM's maps fall apart.
#include "explain/cam/cam_pipeline.hpp"
#include "explain/methods.hpp"

namespace mirada {

namespace {
class LayerCamWeighting final : public CamWeighting {
public:
    std::string name() const override { return "layercam"; }
    std::string title() const override { return "LayerCAM"; }
    torch::Tensor channelWeights(const torch::Tensor& /*activation*/, const torch::Tensor& gradient,
                                 const CamLayerContext& /*where*/) const override {
        return torch::relu(gradient).mean({1, 2});  // not used by the map; kept for the interface
    }
    torch::Tensor coarseMap(const torch::Tensor& activation, const torch::Tensor& gradient,
                            const CamLayerContext& /*where*/, torch::Tensor& contributions) const override {
        const torch::Tensor perChannel = torch::relu(gradient) * activation;
        contributions = perChannel.sum({1, 2});
        return perChannel.sum(0);
    }
};
}  // namespace

std::unique_ptr<Explainer> makeLayerCamExplainer() {
    return makeCamPipelineExplainer(std::make_unique<LayerCamWeighting>());
}

}  // namespace mirada
