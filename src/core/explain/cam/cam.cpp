// CAM (Zhou et al. 2016): for a network whose tapped layer is followed by
// global average pooling and one linear layer, score = sum_k w_k mean_ij(A_k) + b,
// so d score / d A_kij = w_k / (h w) at every position and the class activation
// map is sum_k w_k A_k. The weights are read from that gradient, and the
// structure is checked rather than assumed: gradients that vary over the
// positions of a channel mean something else follows the layer.
#include <string>

#include "common/error.hpp"
#include "explain/cam/cam_pipeline.hpp"
#include "explain/methods.hpp"

namespace mirada {

namespace {
class CamWeightingImpl final : public CamWeighting {
public:
    std::string name() const override { return "cam"; }
    std::string title() const override { return "CAM"; }
    torch::Tensor channelWeights(const torch::Tensor& /*activation*/, const torch::Tensor& gradient,
                                 const CamLayerContext& where) const override {
        const int64_t hw = gradient.size(1) * gradient.size(2);
        const torch::Tensor mean = gradient.mean({1, 2}, /*keepdim=*/true);
        const double deviation = (gradient - mean).abs().max().item<double>();
        const double scale = gradient.abs().max().item<double>();
        if (deviation > 1e-5 * (scale + 1e-12))
            throw Error("CAM needs global average pooling and one linear layer after layer '" + where.layer +
                        "'; model '" + where.model_name +
                        "' has other layers there. Use Grad-CAM, or choose the last convolutional stage");
        return mean.reshape({-1}) * static_cast<double>(hw);
    }
};
}  // namespace

std::unique_ptr<CamWeighting> makeCamWeighting() { return std::make_unique<CamWeightingImpl>(); }

std::unique_ptr<Explainer> makeCamExplainer() { return makeCamPipelineExplainer(makeCamWeighting()); }

}  // namespace mirada
