// Score-CAM (Wang et al. 2020): no gradient. Each channel's activation,
// upsampled to the model input and scaled to [0, 1], is used as a mask on the
// image; the channel's weight is the target's softmax probability on the
// masked image, alpha_k = p(target | fill + H_k * (x - fill)), and the map is
// sum_k alpha_k A_k.
//
// What the mask removes becomes the model's baseline (perturbation.baseline;
// with dataset-mean this is the paper's product of the mask and the normalised
// input). Channels that are constant over the layer carry no location and get
// weight 0 without an evaluation. All masked images go through the model in
// batches of the run's batch size (checked for cancel between batches).
#include <torch/torch.h>

#include <chrono>

#include "common/error.hpp"
#include "explain/cam/cam_pipeline.hpp"
#include "explain/methods.hpp"
#include "models/oom_split.hpp"
#include "models/predict.hpp"

namespace mirada {

namespace {
class ScoreCamWeighting final : public CamWeighting {
public:
    std::string name() const override { return "scorecam"; }
    std::string title() const override { return "Score-CAM"; }
    bool usesGradient() const override { return false; }
    bool usesBaseline() const override { return true; }

    torch::Tensor channelWeights(const torch::Tensor& activation, const torch::Tensor& /*gradient*/,
                                 const CamLayerContext& where) const override {
        if (!where.model || !where.input.defined() || !where.fill.defined())
            throw Error("internal error: Score-CAM needs the model, its input and the baseline");
        Model& model = *where.model;
        const int64_t k = activation.size(0);
        const int64_t H = where.input.size(2), W = where.input.size(3);
        const auto device = where.input.device();
        torch::Tensor weights = torch::zeros({k}, torch::kFloat64);

        // Channels that vary over the layer; the others keep weight 0.
        const torch::Tensor flat = activation.reshape({k, -1});
        const torch::Tensor mins = std::get<0>(flat.min(1)), maxs = std::get<0>(flat.max(1));
        const torch::Tensor varying = (maxs - mins) > 0;
        std::vector<int64_t> channels;
        {
            const auto acc = varying.contiguous();
            const bool* v = acc.data_ptr<bool>();
            for (int64_t c = 0; c < k; ++c)
                if (v[c]) channels.push_back(c);
        }
        const int64_t n = static_cast<int64_t>(channels.size());
        const int batch = std::max(1, where.batch_size);
        namespace F = torch::nn::functional;
        const auto up =
            F::InterpolateFuncOptions().size(std::vector<int64_t>{H, W}).mode(torch::kBilinear).align_corners(false);
        c10::InferenceMode inference;
        for (int64_t start = 0; start < n; start += batch) {
            if (where.run) where.run->checkCancelled();
            const int64_t count = std::min<int64_t>(batch, n - start);
            const auto idx =
                torch::tensor(std::vector<int64_t>(channels.begin() + start, channels.begin() + start + count));
            torch::Tensor a = activation.index_select(0, idx).unsqueeze(1).to(torch::kFloat32);  // [B,1,h,w]
            torch::Tensor m = F::interpolate(a, up);
            const auto mn = std::get<0>(m.reshape({count, -1}).min(1)).view({count, 1, 1, 1});
            const auto mx = std::get<0>(m.reshape({count, -1}).max(1)).view({count, 1, 1, 1});
            m = ((m - mn) / torch::clamp_min(mx - mn, 1e-12)).to(device);
            const torch::Tensor masked = where.fill + m * (where.input - where.fill);  // [B,C,H,W]
            const auto t0 = std::chrono::steady_clock::now();
            const torch::Tensor out = forwardSplittingOnOom(model, masked).to(torch::kCPU);
            where.model_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            where.evaluations += count;
            checkModelOutputs(model, out, "an image masked by a channel");
            const torch::Tensor p = toProbabilities(model, out).select(1, where.target).to(torch::kFloat64);
            weights.index_put_({idx}, p);
            if (where.run)
                where.run->report(double(start + count) / double(n), "Score-CAM: " + std::to_string(start + count) +
                                                                         "/" + std::to_string(n) + " channels");
        }
        return weights;
    }
};
}  // namespace

std::unique_ptr<Explainer> makeScoreCamExplainer() {
    return makeCamPipelineExplainer(std::make_unique<ScoreCamWeighting>());
}

}  // namespace mirada
