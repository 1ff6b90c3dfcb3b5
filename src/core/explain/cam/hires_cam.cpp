// HiResCAM (Draelos & Carin 2020): the gradient multiplies the activation
// position by position, map = sum_k G_k * A_k, so the map is the part of the
// score (to first order) each position of the layer accounts for; Grad-CAM's
// spatial averaging of G is what HiResCAM drops.
#include "explain/cam/cam_pipeline.hpp"
#include "explain/methods.hpp"

namespace mirada {

namespace {
class HiResCamWeighting final : public CamWeighting {
public:
    std::string name() const override { return "hirescam"; }
    std::string title() const override { return "HiResCAM"; }
    torch::Tensor channelWeights(const torch::Tensor& /*activation*/, const torch::Tensor& gradient,
                                 const CamLayerContext& /*where*/) const override {
        return gradient.mean({1, 2});  // not used by the map; kept for the interface
    }
    torch::Tensor coarseMap(const torch::Tensor& activation, const torch::Tensor& gradient,
                            const CamLayerContext& /*where*/, torch::Tensor& contributions) const override {
        const torch::Tensor perChannel = gradient * activation;  // [K, h, w]
        contributions = perChannel.sum({1, 2});
        return perChannel.sum(0);
    }
};
}  // namespace

std::unique_ptr<Explainer> makeHiResCamExplainer() {
    return makeCamPipelineExplainer(std::make_unique<HiResCamWeighting>());
}

}  // namespace mirada
