// Ablation-CAM (Desai & Ramaswamy 2020): no gradient. Each channel k of the
// layer's activation is set to zero and the rest of the network runs on the
// ablated activation (Model::forwardReplacingLayer); the channel's weight is
// the relative drop of the target's score,
//
//   w_k = (y - y_k) / |y|,
//
// where y is the score with the activation as it is and y_k with channel k
// zeroed, and the map is sum_k w_k A_k. The paper divides by y; Mirada divides
// by |y| so that a channel whose removal lowers the score counts for the
// target whatever the sign of the score (the same as the paper for y > 0, the
// usual case for the explained class). The score is the target's logit (the
// output as given when the model returns probabilities), as for every CAM.
// Channels that are zero everywhere cannot change anything and get weight 0
// without an evaluation. The ablated activations go through the model in
// batches of the run's batch size (cancel is checked between batches).
#include <torch/torch.h>

#include <chrono>
#include <cmath>

#include "common/error.hpp"
#include "explain/cam/cam_pipeline.hpp"
#include "explain/methods.hpp"
#include "models/predict.hpp"

namespace mirada {

namespace {

class AblationCamWeighting final : public CamWeighting {
public:
    std::string name() const override { return "ablationcam"; }
    std::string title() const override { return "Ablation-CAM"; }
    bool usesGradient() const override { return false; }
    bool evaluatesModel() const override { return true; }

    torch::Tensor channelWeights(const torch::Tensor& activation, const torch::Tensor& /*gradient*/,
                                 const CamLayerContext& where) const override {
        if (!where.model || !where.input.defined())
            throw Error("internal error: Ablation-CAM needs the model and its input");
        Model& model = *where.model;
        const int64_t k = activation.size(0);
        const auto device = where.input.device();
        c10::InferenceMode inference;
        const torch::Tensor a0 = activation.to(torch::kFloat32).unsqueeze(0).to(device);  // [1,K,h,w]

        auto scoresOf = [&](const torch::Tensor& replaced) {
            const int64_t n = replaced.size(0);
            const torch::Tensor x = where.input.expand({n, -1, -1, -1}).contiguous();
            const auto t0 = std::chrono::steady_clock::now();
            const torch::Tensor out = model.forwardReplacingLayer(x, where.layer, replaced).to(torch::kCPU);
            where.model_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            where.evaluations += n;
            checkModelOutputs(model, out, "the activation of layer '" + where.layer + "' with a channel removed");
            return out.select(1, where.target).to(torch::kFloat64);
        };

        // The score through the same path with nothing removed.
        const double y = scoresOf(a0).item<double>();
        if (!std::isfinite(y) || std::abs(y) < 1e-12)
            throw Error("Ablation-CAM: the score of class " + std::to_string(where.target) + " of model '" +
                        where.model_name + "' is " + std::to_string(y) +
                        ", so a relative drop is undefined; explain another class or use Grad-CAM");

        std::vector<int64_t> channels;
        {
            const torch::Tensor nonzero = activation.reshape({k, -1}).abs().amax(1) > 0;
            const bool* v = nonzero.contiguous().data_ptr<bool>();
            for (int64_t c = 0; c < k; ++c)
                if (v[c]) channels.push_back(c);
        }
        torch::Tensor weights = torch::zeros({k}, torch::kFloat64);
        const int64_t n = static_cast<int64_t>(channels.size());
        const int batch = std::max(1, where.batch_size);
        for (int64_t start = 0; start < n; start += batch) {
            if (where.run) where.run->checkCancelled();
            const int64_t count = std::min<int64_t>(batch, n - start);
            torch::Tensor replaced = a0.repeat({count, 1, 1, 1});
            std::vector<int64_t> idx(channels.begin() + start, channels.begin() + start + count);
            for (int64_t i = 0; i < count; ++i) replaced[i][idx[static_cast<size_t>(i)]].zero_();
            const torch::Tensor yk = scoresOf(replaced);
            weights.index_put_({torch::tensor(idx)}, (y - yk) / std::abs(y));
            if (where.run)
                where.run->report(double(start + count) / double(n), "Ablation-CAM: " + std::to_string(start + count) +
                                                                         "/" + std::to_string(n) + " channels");
        }
        return weights;
    }
};

}  // namespace

std::unique_ptr<Explainer> makeAblationCamExplainer() {
    return makeCamPipelineExplainer(std::make_unique<AblationCamWeighting>());
}

}  // namespace mirada
