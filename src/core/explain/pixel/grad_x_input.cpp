// Gradient x input (Shrikumar et al. 2016): each input value times the
// target score's gradient with respect to it, summed over the channels,
//   map(i, j) = sum_c x_cij * d score / d x_cij,
// on the normalised input the model receives (as Captum's InputXGradient).
// Signed: positive where the pixel's value pushes the score up. With the noise
// tunnel on, the mean of that map over noisy copies of the image (each copy
// times its own gradient).
#include "explain/methods.hpp"
#include "explain/pixel/pixel_method.hpp"

namespace mirada {

namespace {
class GradXInputExplainer final : public TunnelledGradientExplainer {
public:
    std::string name() const override { return "gradxinput"; }
    std::string title() const override { return "Gradient x Input"; }

protected:
    bool signedMap() const override { return true; }
    torch::Tensor attribution(const torch::Tensor& x, const torch::Tensor& g, nlohmann::json&) const override {
        return (g * x).sum(1);  // [m, H, W]
    }
};
}  // namespace

std::unique_ptr<Explainer> makeGradXInputExplainer() { return std::make_unique<GradXInputExplainer>(); }

}  // namespace mirada
