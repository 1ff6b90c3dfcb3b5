// RISE (Petsiuk et al. 2018): N random masks, each a `grid` x `grid` field of
// cells kept with probability `keep`, upsampled bilinearly to (grid + 1) cells
// of size ceil(H / grid) x ceil(W / grid) and cropped at a random shift inside
// one cell, so mask edges fall anywhere. Each masked image (removed parts
// become the baseline) is evaluated; the map is the masks weighted by the
// target's score. The paper's map, sum_n f_n M_n / (N keep) with
// f_n = f(x * M_n + x0 * (1 - M_n)), estimates the expected score given that a
// pixel is kept; it is close to the average score everywhere, and drawn from 0
// it looks uniformly "important". Mirada subtracts the average score f_bar over
// all masks,
//   map = sum_n (f_n - f_bar) M_n / (N * keep),
// which differs from the paper's map by f_bar times the mask density (nearly a
// constant) and is signed: positive where keeping the pixel raises the score
// above what a random part of the image gives. Masks and shifts come from the
// run's seed and do not depend on the batch size.
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "common/error.hpp"
#include "explain/methods.hpp"
#include "explain/pixel/pixel_method.hpp"

namespace mirada {

namespace {
class RiseExplainer final : public PixelExplainer {
public:
    std::string name() const override { return "rise"; }
    std::string title() const override { return "RISE"; }
    ParamSet defaultParams() const override {
        return ParamSet(name(),
                        {intParam("masks", 1000, 10, 100000, "Random masks, one model evaluation each", "masks"),
                         intParam("grid", 7, 2, 64, "Cells per side of a mask before upsampling"),
                         floatParam("keep", 0.5, 0.05, 0.95, "Probability that a cell is kept"),
                         choiceParam("fill", "shared", methodFillChoices(false), methodFillHelp(false)),
                         pixelOutputParam("probability")});
    }

protected:
    bool usesBaseline() const override { return true; }
    MapResult computeMap(const ExplainRequest& request, const ParamSet& params, PixelSetup& setup,
                         SurrogateOutput output, const RunContext& ctx) override {
        const int64_t n = params.getInt("masks");
        const int64_t grid = params.getInt("grid");
        const double keep = params.getFloat("keep");
        const int64_t H = setup.x.size(2), W = setup.x.size(3);
        const int64_t cellH = (H + grid - 1) / grid, cellW = (W + grid - 1) / grid;
        const int64_t upH = (grid + 1) * cellH, upW = (grid + 1) * cellW;
        at::Generator gen = at::detail::createCPUGenerator(request.seed);
        namespace F = torch::nn::functional;
        const auto up = F::InterpolateFuncOptions()
                            .size(std::vector<int64_t>{upH, upW})
                            .mode(torch::kBilinear)
                            .align_corners(false);
        torch::Tensor map = torch::zeros({H, W}, torch::kFloat64);
        torch::Tensor maskSum = torch::zeros({H, W}, torch::kFloat64);
        double scoreSum = 0;
        // Every mask's cells and shifts are drawn before any evaluation, so the
        // same seed gives the same masks whatever the batch size (CPU or CUDA).
        const torch::Tensor allCells =
            (torch::rand({n, 1, grid, grid}, gen, torch::TensorOptions().dtype(torch::kFloat32)) < keep)
                .to(torch::kFloat32);
        const torch::Tensor allShiftY = torch::randint(0, cellH, {n}, gen);
        const torch::Tensor allShiftX = torch::randint(0, cellW, {n}, gen);
        for (int64_t done = 0; done < n;) {
            ctx.checkCancelled();
            const int64_t m = std::min<int64_t>(setup.batch_size, n - done);
            const torch::Tensor big = F::interpolate(allCells.narrow(0, done, m), up);  // [m,1,upH,upW]
            const torch::Tensor shiftY = allShiftY.narrow(0, done, m);
            const torch::Tensor shiftX = allShiftX.narrow(0, done, m);
            torch::Tensor masks = torch::empty({m, 1, H, W}, torch::kFloat32);
            for (int64_t i = 0; i < m; ++i) {
                const int64_t dy = shiftY[i].item<int64_t>(), dx = shiftX[i].item<int64_t>();
                using torch::indexing::Slice;
                masks[i] = big[i].index({Slice(), Slice(dy, dy + H), Slice(dx, dx + W)});
            }
            const torch::Tensor md = masks.to(setup.x.device());
            const torch::Tensor images = setup.fill + md * (setup.x - setup.fill);
            const double from = 0.99 * double(done) / double(n), to = 0.99 * double(done + m) / double(n);
            const torch::Tensor v = pixelScores(*request.model, images, output, setup, ctx, title(), from, to);
            const torch::Tensor m64 = masks.squeeze(1).to(torch::kFloat64);
            map += (v.view({-1, 1, 1}) * m64).sum(0);
            maskSum += m64.sum(0);
            scoreSum += v.sum().item<double>();
            done += m;
        }
        const double meanScore = scoreSum / static_cast<double>(n);
        map = (map - meanScore * maskSum) / (static_cast<double>(n) * keep);
        MapResult r;
        r.input_map = tensorToMat(map);
        r.signed_map = true;  // centred: above or below the average masked score
        r.numbers = {{"masks", n}, {"grid", grid}, {"keep", keep}, {"mean_masked_score", meanScore}};
        return r;
    }
};
}  // namespace

std::unique_ptr<Explainer> makeRiseExplainer() { return std::make_unique<RiseExplainer>(); }

}  // namespace mirada
