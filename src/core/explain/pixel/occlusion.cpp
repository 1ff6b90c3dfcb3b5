// Occlusion (Zeiler & Fergus 2014): a square window slides over the model's
// input in steps of `stride` pixels; each position is replaced by the baseline
// and the model evaluated. A pixel's value is the mean drop of the target's
// score over the windows that covered it,
//   map(p) = mean_{w covers p} [ f(x) - f(x with window w removed) ],
// as Captum's Occlusion does. Signed: negative where removing the window
// raises the score. Pixels no window covers (only possible at the border when
// the stride does not reach it) get 0; the window positions always include the
// last one flush with each border.
#include <algorithm>

#include "common/error.hpp"
#include "explain/methods.hpp"
#include "explain/pixel/pixel_method.hpp"

namespace mirada {

namespace {
std::vector<int64_t> positions(int64_t size, int64_t window, int64_t stride) {
    std::vector<int64_t> p;
    if (window >= size) return {0};
    for (int64_t s = 0; s + window <= size; s += stride) p.push_back(s);
    if (p.back() + window < size) p.push_back(size - window);  // flush with the border
    return p;
}

class OcclusionExplainer final : public PixelExplainer {
public:
    std::string name() const override { return "occlusion"; }
    std::string title() const override { return "Occlusion"; }
    ParamSet defaultParams() const override {
        return ParamSet(
            name(), {intParam("window", 0, 0, 4096,
                              "Side of the square window on the model input, pixels; 0 = one seventh of "
                              "the input's shorter side",
                              "px"),
                     intParam("stride", 0, 0, 4096, "Step between window positions, pixels; 0 = half the window", "px"),
                     choiceParam("fill", "shared", methodFillChoices(false), methodFillHelp(false)),
                     pixelOutputParam("probability")});
    }

protected:
    bool usesBaseline() const override { return true; }
    MapResult computeMap(const ExplainRequest& request, const ParamSet& params, PixelSetup& setup,
                         SurrogateOutput output, const RunContext& ctx) override {
        const int64_t H = setup.x.size(2), W = setup.x.size(3);
        int64_t window = params.getInt("window");
        if (window == 0) window = std::max<int64_t>(1, std::min(H, W) / 7);
        int64_t stride = params.getInt("stride");
        if (stride == 0) stride = std::max<int64_t>(1, window / 2);
        const auto ys = positions(H, std::min(window, H), stride);
        const auto xs = positions(W, std::min(window, W), stride);
        const int64_t n = static_cast<int64_t>(ys.size() * xs.size());
        if (n > 200000)
            throw Error(title() + ": " + std::to_string(n) + " window positions are too many; raise " + name() +
                        ".stride or " + name() + ".window");
        const int64_t wh = std::min(window, H), ww = std::min(window, W);
        torch::Tensor sum = torch::zeros({H, W}, torch::kFloat64);
        torch::Tensor count = torch::zeros({H, W}, torch::kFloat64);
        // Batches of occluded images, built on the model's device as they are needed.
        const int64_t batch = setup.batch_size;
        int64_t done = 0;
        std::vector<std::pair<int64_t, int64_t>> all;
        for (int64_t y : ys)
            for (int64_t x : xs) all.emplace_back(y, x);
        while (done < n) {
            const int64_t m = std::min(batch, n - done);
            // The batch's windows as 0/1 masks (1 = removed), filled on the CPU, then
            // one selection on the model's device (a removed pixel equals the fill exactly).
            torch::Tensor masks = torch::zeros({m, 1, H, W}, torch::kFloat32);
            auto acc = masks.accessor<float, 4>();
            for (int64_t i = 0; i < m; ++i) {
                const auto [y0, x0] = all[done + i];
                for (int64_t y = y0; y < y0 + wh; ++y)
                    for (int64_t x = x0; x < x0 + ww; ++x) acc[i][0][y][x] = 1.0f;
            }
            const torch::Tensor md = masks.to(setup.x.device());
            const torch::Tensor images = torch::where(md > 0.5f, setup.fill, setup.x);
            const torch::Tensor v = pixelScores(*request.model, images, output, setup, ctx, title(),
                                                0.99 * double(done) / double(n), 0.99 * double(done + m) / double(n));
            const torch::Tensor drops = setup.full_value - v;  // [m] float64
            const torch::Tensor m64 = masks.squeeze(1).to(torch::kFloat64);
            sum += (drops.view({-1, 1, 1}) * m64).sum(0);
            count += m64.sum(0);
            done += m;
        }
        MapResult r;
        r.input_map = tensorToMat(torch::where(count > 0, sum / count.clamp_min(1.0), torch::zeros_like(sum)));
        r.signed_map = true;
        r.numbers = {{"window", window}, {"stride", stride}, {"windows", n}};
        return r;
    }
};
}  // namespace

std::unique_ptr<Explainer> makeOcclusionExplainer() { return std::make_unique<OcclusionExplainer>(); }

}  // namespace mirada
