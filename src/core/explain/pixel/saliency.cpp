// Saliency (Simonyan et al. 2014): how strongly each input pixel moves the
// target's score, map(i, j) = max over channels of |d score / d x_cij|.
// One forward and one backward pass; unsigned. With the noise tunnel on, the
// mean of that map over noisy copies of the image.
#include <algorithm>

#include "explain/methods.hpp"
#include "explain/pixel/pixel_method.hpp"

namespace mirada {

namespace {
class SaliencyExplainer final : public TunnelledGradientExplainer {
public:
    std::string name() const override { return "saliency"; }
    std::string title() const override { return "Saliency"; }

protected:
    bool signedMap() const override { return false; }
    torch::Tensor attribution(const torch::Tensor&, const torch::Tensor& g, nlohmann::json& numbers) const override {
        const double gmax = g.abs().max().item<double>();
        numbers["gradient_abs_max"] = std::max(numbers.value("gradient_abs_max", 0.0), gmax);
        return std::get<0>(g.abs().max(1));  // [m, H, W]
    }
};
}  // namespace

std::unique_ptr<Explainer> makeSaliencyExplainer() { return std::make_unique<SaliencyExplainer>(); }

}  // namespace mirada
