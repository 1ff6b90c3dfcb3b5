// Cascading model randomisation (Adebayo et al. 2018): a map computed from the
// weights changes when they are destroyed, a map that ignores the model does
// not and is flagged; the weights always come back exactly (also on cancel);
// the layer groups of the bundled model, a TorchScript, and of native ResNet50.
#include <gtest/gtest.h>

#include <atomic>

#include "common/error.hpp"
#include "explain/explainer.hpp"
#include "image/image_io.hpp"
#include "metrics/metrics_summary.hpp"
#include "metrics/sanity_check.hpp"
#include "metrics_test_models.hpp"
#include "models/model_zoo.hpp"
#include "models/native_nets.hpp"
#include "test_helpers.hpp"

using namespace mirada;
using namespace mirada::test;

namespace {

SanityInput inputFor(Explainer& ex, Model& model, const cv::Mat& image) {
    SanityInput in;
    in.explainer = &ex;
    in.request.model = &model;
    in.request.image = image;
    in.request.target_index = 0;
    in.request.params = ex.defaultParams();
    in.original = ex.explain(in.request, {});
    return in;
}

std::unique_ptr<Model> loadFashion() {
    ModelLoadOptions opt;
    opt.device = DeviceChoice::Cpu;
    return loadModel("fashion-cnn", opt).model;
}

// A CAM-like map that goes blank when the weights change: the region's pixel
// scores as long as they are the trained 1/16, zero otherwise (a ReLU'd
// Grad-CAM of a randomised network is often all zero in the same way).
class BlankWhenRandomExplainer : public Explainer {
public:
    std::string name() const override { return "blankwhenrandom"; }
    std::string title() const override { return "Blank when random"; }
    bool usesSuperpixels() const override { return false; }
    ParamSet defaultParams() const override { return ParamSet("blankwhenrandom", {}); }
    Explanation explain(const ExplainRequest& r, const RunContext&) override {
        auto* m = dynamic_cast<RegionFractionModel*>(r.model);
        Explanation e;
        e.method = name();
        e.target_index = r.target_index;
        e.target_probability = 0.9f;
        e.heatmap = cv::Mat::zeros(8, 8, CV_32F);
        const auto w = m->weight().contiguous();
        for (int i = 0; i < 64; ++i)
            if (std::abs(w[0][i].item<float>() - 1.0f / 16) < 1e-7f) e.heatmap.at<float>(i / 8, i % 8) = 1.0f / 16;
        return e;
    }
};

}  // namespace

TEST(MetricsSanity, AMapThatTurnsBlankIsReportedAsBlankNeverOk) {
    RegionFractionModel model;
    const cv::Mat image = model.regionImage(8);
    BlankWhenRandomExplainer blank;
    PixelScoreExplainer follows;
    SanityInput in = inputFor(blank, model, image);
    ASSERT_GT(cv::countNonZero(in.original.heatmap), 0);  // the original map is not blank
    const auto r = runSanityCheck({in, inputFor(follows, model, image)}, sanityParams(), 5);
    ASSERT_EQ(r.methods[0].blank.size(), 1u);
    EXPECT_TRUE(r.methods[0].blank[0]);
    EXPECT_EQ(r.methods[0].verdict, "blank");
    EXPECT_FALSE(r.methods[0].flagged);
    EXPECT_NE(sanityVerdict(r.methods[0], 0.9).find("blank"), std::string::npos);
    EXPECT_EQ(sanityVerdict(r.methods[0], 0.9).find("ok"), std::string::npos);
    EXPECT_EQ(sanitySheetLine(r.methods[0]).find("ok"), std::string::npos);
    const auto j = toJson(r);
    EXPECT_EQ(j["methods"]["blankwhenrandom"]["verdict"], "blank");
    EXPECT_EQ(j["methods"]["blankwhenrandom"]["blank"][0], true);
    // The map that follows the weights stays "ok" (not blank).
    EXPECT_FALSE(r.methods[1].blank[0]);
    EXPECT_EQ(r.methods[1].verdict, "ok");
    // A low target probability puts a caution on every verdict.
    EXPECT_NE(sanityVerdict(r.methods[1], 0.001).find("caution"), std::string::npos);
    EXPECT_EQ(sanityVerdict(r.methods[1], 0.9).find("caution"), std::string::npos);
    EXPECT_TRUE(targetCaution(0.5).empty());
    EXPECT_FALSE(targetCaution(0.1).empty());
}

TEST(MetricsSanity, ModelIndependentMapIsFlaggedAndWeightsComeBack) {
    RegionFractionModel model;
    const cv::Mat image = model.regionImage(8);
    PixelScoreExplainer follows;
    BrightnessExplainer ignores;
    const torch::Tensor before = model.weight().clone();
    const auto r =
        runSanityCheck({inputFor(follows, model, image), inputFor(ignores, model, image)}, sanityParams(), 5);
    ASSERT_EQ(r.layers, (std::vector<std::string>{"score"}));
    ASSERT_EQ(r.methods.size(), 2u);
    EXPECT_EQ(r.methods[0].method, "pixelscore");
    ASSERT_EQ(r.methods[0].spearman.size(), 1u);
    EXPECT_LT(std::abs(r.methods[0].spearman[0]), 0.5);  // random weights: the per-pixel scores are noise
    EXPECT_FALSE(r.methods[0].flagged);
    EXPECT_DOUBLE_EQ(r.methods[1].spearman[0], 1.0);  // the same image, the same map
    EXPECT_TRUE(r.methods[1].flagged);
    EXPECT_TRUE(torch::equal(model.weight(), before));
    const auto j = toJson(r);
    EXPECT_TRUE(j["methods"]["brightness"]["flagged"].get<bool>());
    EXPECT_EQ(j["layers"][0], "score");
}

TEST(MetricsSanity, CancelAndErrorsRestoreTheWeights) {
    RegionFractionModel model;
    const cv::Mat image = model.regionImage(8);
    PixelScoreExplainer follows;
    const torch::Tensor before = model.weight().clone();
    std::atomic<bool> cancel{false};
    RunContext ctx;
    ctx.cancel = &cancel;
    // Cancel from inside the explainer's run, after the weights were randomised.
    ctx.progress = [&](double, const std::string&) { cancel = true; };
    auto in = inputFor(follows, model, image);
    EXPECT_THROW(runSanityCheck({in}, sanityParams(), 1, ctx), Cancelled);
    EXPECT_TRUE(torch::equal(model.weight(), before));

    // A model without parameters cannot be checked: a clear error.
    class Opaque : public RegionFractionModel {
        std::vector<ParameterGroup> parameterGroups() override { return {}; }
    } opaque;
    auto in2 = inputFor(follows, opaque, image);
    EXPECT_NE(errorOf([&] { runSanityCheck({in2}, sanityParams(), 1); }).find("does not expose its parameters"),
              std::string::npos);
}

TEST(MetricsSanity, RandomiseParametersFollowsTheInitialisationRules) {
    ParameterGroup g;
    g.name = "block";
    auto conv = torch::zeros({64, 32, 3, 3});
    auto bias = torch::full({64}, 7.0f);
    auto bnw = torch::full({64}, 3.0f), bnb = torch::full({64}, 3.0f);
    g.parameters = {{"block.0.weight", "Conv2d", conv},
                    {"block.0.bias", "Conv2d", bias},
                    {"block.1.weight", "BatchNorm2d", bnw},
                    {"block.1.bias", "BatchNorm2d", bnb}};
    {
        ScopedParameterRestore restore({g});
        randomiseParameters(g, 11);
        EXPECT_NEAR(conv.std().item<double>(), std::sqrt(2.0 / (32 * 9)), 0.01);
        EXPECT_LE(bias.abs().max().item<double>(), 1.0 / std::sqrt(32 * 9.0) + 1e-6);
        EXPECT_GT(bias.abs().max().item<double>(), 0.0);
        EXPECT_TRUE(torch::equal(bnw, torch::ones({64})));
        EXPECT_TRUE(torch::equal(bnb, torch::zeros({64})));
        const auto first = conv.clone();
        randomiseParameters(g, 11);
        EXPECT_TRUE(torch::equal(conv, first));  // seeded
    }
    EXPECT_TRUE(torch::equal(conv, torch::zeros({64, 32, 3, 3})));
    EXPECT_TRUE(torch::equal(bias, torch::full({64}, 7.0f)));
    EXPECT_TRUE(torch::equal(bnw, torch::full({64}, 3.0f)));
}

TEST(MetricsSanity, FashionCnnLayersTopDownAndGradCamLosesTheOriginal) {
    auto model = loadFashion();
    const auto groups = model->parameterGroups();
    std::vector<std::string> names;
    int64_t total = 0;
    for (const auto& g : groups) {
        names.push_back(g.name);
        for (const auto& p : g.parameters) total += p.tensor.numel();
    }
    EXPECT_EQ(names, (std::vector<std::string>{"fc", "block3.0", "block2.3", "block2.0", "block1.3", "block1.0"}));
    EXPECT_EQ(groups[1].modules, (std::vector<std::string>{"block3.0", "block3.1"}));  // conv + its BatchNorm
    EXPECT_EQ(groups[1].kinds, (std::vector<std::string>{"Conv2d", "BatchNorm2d"}));
    EXPECT_EQ(total, model->parameterCount());

    const auto image = loadImage(sourceDir() / "resources" / "samples" / "fashion-bag.png").rgb;
    const auto input = torch::rand({2, 1, 28, 28});
    const torch::Tensor logitsBefore = model->forward(input).clone();
    auto gradcam = makeExplainer("gradcam");
    SanityInput in;
    in.explainer = gradcam.get();
    in.request.model = model.get();
    in.request.image = image;
    in.request.params = gradcam->defaultParams();
    in.original = gradcam->explain(in.request, {});
    EXPECT_EQ(in.original.target_label, "Bag");
    const auto r = runSanityCheck({in}, sanityParams(), 0);
    ASSERT_EQ(r.methods[0].spearman.size(), 6u);
    std::printf("Grad-CAM on fashion-bag, Spearman with the original after randomising 1..6 layers:");
    for (double v : r.methods[0].spearman) std::printf(" %.3f", v);
    std::printf("\n");
    EXPECT_LT(r.methods[0].spearman.back(), 0.5);
    EXPECT_FALSE(r.methods[0].flagged);
    EXPECT_NE(r.methods[0].verdict, "flagged");
    // The weights came back exactly: the same logits, bit for bit, and the same map.
    EXPECT_TRUE(torch::equal(model->forward(input), logitsBefore));
    const auto again = gradcam->explain(in.request, {});
    EXPECT_EQ(cv::norm(again.heatmap, in.original.heatmap, cv::NORM_INF), 0.0);
}

TEST(MetricsSanity, NativeResnet50GroupsConvWithBatchNormTopDown) {
    ModelInfo info;
    info.name = "resnet50";
    info.architecture = "resnet50";
    auto model = makeNativeResnet50Random(info, 3);
    const auto groups = model->parameterGroups();
    ASSERT_EQ(groups.size(), 54u);  // 53 convolutions (each with its BatchNorm) + fc
    EXPECT_EQ(groups[0].name, "fc");
    EXPECT_EQ(groups[1].modules, (std::vector<std::string>{"layer4.2.conv3", "layer4.2.bn3"}));
    EXPECT_EQ(groups.back().modules, (std::vector<std::string>{"conv1", "bn1"}));
    int64_t total = 0;
    for (const auto& g : groups)
        for (const auto& p : g.parameters) total += p.tensor.numel();
    EXPECT_EQ(total, kResnet50ParameterCount);
    // Randomising shares storage with the network: the output changes, and comes back.
    const auto x = torch::rand({1, 3, 64, 64});
    const torch::Tensor before = model->forward(x).clone();
    {
        ScopedParameterRestore restore({groups[0]});
        randomiseParameters(groups[0], 1);
        EXPECT_FALSE(torch::equal(model->forward(x), before));
    }
    EXPECT_TRUE(torch::equal(model->forward(x), before));
}
