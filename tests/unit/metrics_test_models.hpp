#pragma once
// Tiny models and explainers with known answers for the metric tests.
#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include "common/error.hpp"
#include "explain/explainer.hpp"
#include "models/model.hpp"

namespace mirada::test {

// Grey 8x8 input (mean 0, std 1, so pixel value / 255 goes in unchanged and the
// "mean" fill is black). Output: probabilities [p, 1 - p] with p = the sum of
// the input over the region (the two left columns) weighted 1/16 each - the
// fraction of the region still present when the region is white (255). The
// weights are a parameter ("score.weight", Linear-like [1, 64]) so that the
// sanity check can randomise them.
class RegionFractionModel : public Model {
public:
    explicit RegionFractionModel(InputSpec::Resize resize = InputSpec::Resize::Stretch) {
        info_.name = "region-fraction";
        info_.architecture = "test";
        info_.labels = {"region", "rest"};
        info_.input.width = 8;
        info_.input.height = 8;
        info_.input.channels = 1;
        info_.input.resize = resize;
        info_.input.mean = {0.0f};
        info_.input.std = {1.0f};
        info_.outputs_probabilities = true;
        weight_ = torch::zeros({1, 64});
        for (int y = 0; y < 8; ++y)
            for (int x = 0; x < 2; ++x) weight_[0][y * 8 + x] = 1.0f / 16;
    }
    const ModelInfo& info() const override { return info_; }
    torch::Tensor forward(const torch::Tensor& batch) override {
        torch::InferenceMode guard;
        const auto p = batch.reshape({batch.size(0), 64}).matmul(weight_.t()).squeeze(1);
        return torch::stack({p, 1 - p}, 1);
    }
    TapResult forwardWithTap(const torch::Tensor&, const std::string& layer) override {
        throw Error("region-fraction has no layer '" + layer + "'");
    }
    std::vector<LayerInfo> layers() override { return {}; }
    void to(torch::Device) override {}
    torch::Device device() const override { return torch::kCPU; }
    int64_t parameterCount() const override { return 64; }
    std::vector<ParameterGroup> parameterGroups() override {
        ParameterGroup g;
        g.name = "score";
        g.modules = {"score"};
        g.kinds = {"Linear"};
        g.parameters.push_back({"score.weight", "Linear", weight_});
        return {g};
    }

    // size x size RGB image: the region (left quarter of the columns) white, the rest black.
    cv::Mat regionImage(int size) const {
        cv::Mat img(size, size, CV_8UC3, cv::Scalar(0, 0, 0));
        img(cv::Rect(0, 0, size / 4, size)).setTo(cv::Scalar(255, 255, 255));
        return img;
    }
    // size x size map: 1 on the region, 0 elsewhere.
    cv::Mat regionMap(int size) const {
        cv::Mat m = cv::Mat::zeros(size, size, CV_32F);
        m(cv::Rect(0, 0, size / 4, size)).setTo(1.0f);
        return m;
    }
    torch::Tensor weight() const { return weight_; }
    // What "removed" looks like to this model (ModelInfo::baseline).
    void setBaseline(const Baseline& b) {
        info_.baseline = b;
        info_.baseline_source = "the test";
    }

private:
    ModelInfo info_;
    torch::Tensor weight_;
};

// An "explanation" read off the model: the score of each pixel alone (one
// forward per pixel), so it follows the weights.
class PixelScoreExplainer : public Explainer {
public:
    std::string name() const override { return "pixelscore"; }
    std::string title() const override { return "Pixel score"; }
    bool usesSuperpixels() const override { return false; }
    ParamSet defaultParams() const override { return ParamSet("pixelscore", {}); }
    Explanation explain(const ExplainRequest& r, const RunContext& ctx) override {
        ctx.checkCancelled();
        const int n = r.model->info().input.width * r.model->info().input.height;
        const auto onehot = torch::eye(n).view({n, 1, r.model->info().input.height, r.model->info().input.width});
        const auto p = r.model->forward(onehot).select(1, 0).contiguous();
        Explanation e;
        e.method = name();
        e.target_index = r.target_index;
        e.heatmap = cv::Mat(r.model->info().input.height, r.model->info().input.width, CV_32F);
        std::memcpy(e.heatmap.data, p.data_ptr<float>(), sizeof(float) * n);
        ctx.report(1.0, "done");
        return e;
    }
};

// An "explanation" that ignores the model: the image's brightness (an edge or
// intensity detector would behave alike). The sanity check must flag it.
class BrightnessExplainer : public Explainer {
public:
    std::string name() const override { return "brightness"; }
    std::string title() const override { return "Brightness"; }
    bool usesSuperpixels() const override { return false; }
    ParamSet defaultParams() const override { return ParamSet("brightness", {}); }
    Explanation explain(const ExplainRequest& r, const RunContext& ctx) override {
        ctx.checkCancelled();
        Explanation e;
        e.method = name();
        e.target_index = r.target_index;
        cv::Mat grey;
        cv::cvtColor(r.image, grey, cv::COLOR_RGB2GRAY);
        grey.convertTo(e.heatmap, CV_32F, 1.0 / 255);
        e.heatmap += 0.001 * cv::Mat::eye(grey.size(), CV_32F);  // some order among equal pixels
        return e;
    }
};

}  // namespace mirada::test
