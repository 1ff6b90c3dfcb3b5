// Eigen-CAM (Muhammad & Yeasin 2020): no gradient and no class. The layer's
// activations, one K-vector per position, are centred over positions; the map
// is their projection on the first principal component (the first right
// singular vector of the centred [h*w, K] matrix).
//
// Sign convention: a principal component's sign is arbitrary (SVD may return
// v or -v). Mirada picks the sign for which the projection correlates
// positively with the total activation sum_k A_k at each position, so that the
// map is high where the layer responds strongly; a projection uncorrelated
// with it (correlation exactly 0) keeps the solver's sign. The ReLU setting
// then keeps the positive side, as for every CAM.
//
// Because no class enters the computation, the map is the same for every
// target: it shows what dominates the layer, not evidence for a class.
#include "explain/cam/cam_pipeline.hpp"
#include "explain/methods.hpp"

namespace mirada {

namespace {
class EigenCamWeighting final : public CamWeighting {
public:
    std::string name() const override { return "eigencam"; }
    std::string title() const override { return "Eigen-CAM"; }
    bool usesGradient() const override { return false; }
    torch::Tensor channelWeights(const torch::Tensor& activation, const torch::Tensor& /*gradient*/,
                                 const CamLayerContext& /*where*/) const override {
        return firstComponent(activation);
    }
    torch::Tensor coarseMap(const torch::Tensor& activation, const torch::Tensor& /*gradient*/,
                            const CamLayerContext& /*where*/, torch::Tensor& contributions) const override {
        const int64_t k = activation.size(0), h = activation.size(1), w = activation.size(2);
        const torch::Tensor X = activation.reshape({k, h * w}).t();  // [hw, K]
        const torch::Tensor centred = X - X.mean(0, /*keepdim=*/true);
        const torch::Tensor v = firstComponent(activation);  // [K], sign fixed
        const torch::Tensor projection = centred.matmul(v);  // [hw]
        contributions = v;
        return projection.reshape({h, w});
    }

private:
    // First right singular vector of the centred [hw, K] activations, signed so
    // that the projection correlates positively with sum_k A_k.
    static torch::Tensor firstComponent(const torch::Tensor& activation) {
        const int64_t k = activation.size(0), h = activation.size(1), w = activation.size(2);
        const torch::Tensor X = activation.reshape({k, h * w}).t();
        const torch::Tensor centred = X - X.mean(0, /*keepdim=*/true);
        torch::Tensor v;
        if (h * w < 2 || !centred.abs().gt(0).any().item<bool>()) {
            v = torch::zeros({k}, activation.options());  // one position or constant activations: nothing varies
        } else {
            const auto svd = torch::linalg::svd(centred, /*full_matrices=*/false, c10::nullopt);
            v = std::get<2>(svd)[0].clone();  // Vh's first row
        }
        const torch::Tensor projection = centred.matmul(v);
        const torch::Tensor total = X.sum(1);
        const double corr = ((projection - projection.mean()) * (total - total.mean())).sum().item<double>();
        if (corr < 0) v = -v;
        return v;
    }
};
}  // namespace

std::unique_ptr<Explainer> makeEigenCamExplainer() {
    return makeCamPipelineExplainer(std::make_unique<EigenCamWeighting>());
}

}  // namespace mirada
