// The baseline ("what removed looks like") as a property of the model, the one
// shared setting that LIME, KernelSHAP and deletion/insertion follow, and the
// guard that warns when the baseline alone already predicts the target.
#include <gtest/gtest.h>

#include <fstream>

#include "common/error.hpp"
#include "explain/baseline_setting.hpp"
#include "explain/methods.hpp"
#include "explain/surrogate/lime.hpp"
#include "metrics/faithfulness.hpp"
#include "metrics_test_models.hpp"
#include "models/descriptor.hpp"
#include "models/model_zoo.hpp"
#include "test_helpers.hpp"

using namespace mirada;
using namespace mirada::test;

namespace {

// LIME / KernelSHAP request over a 4-cell grid of the region model's 8x8 image.
ExplainRequest regionSurrogateRequest(RegionFractionModel& model, const cv::Mat& image, const ParamSet& params) {
    ExplainRequest r;
    r.model = &model;
    r.image = image;
    r.target_index = 0;  // "region": p = fraction of the region still white
    r.seed = 1;
    r.batch_size = 8;
    r.params = params;
    r.superpixels = superpixelParams();
    r.superpixels.setFromString("algorithm", "grid");
    r.superpixels.set("count", int64_t{4});
    return r;
}

bool hasFlag(const Explanation& e, const std::string& flag) {
    return std::find(e.flags.begin(), e.flags.end(), flag) != e.flags.end();
}

}  // namespace

TEST(Baseline, NamesRoundTripAndBadNamesAreRefused) {
    for (const auto& n : baselineNames()) EXPECT_EQ(toString(baselineFromName(n)), n);
    EXPECT_EQ(toString(Baseline{Baseline::Kind::Values, {0.5f, 0.25f, 1.0f}}), "[0.5, 0.25, 1]");
    const std::string msg = errorOf([] { baselineFromName("purple"); });
    EXPECT_NE(msg.find("purple"), std::string::npos);
    EXPECT_NE(msg.find("black"), std::string::npos);
}

TEST(Baseline, DescriptorFieldIsReadCheckedAndDefaultsToBlur) {
    TempDir dir;
    const auto ts = dir / "m.pt";
    writeText(ts, "not read by the descriptor parser");
    auto descriptor = [&](const std::string& extra) {
        writeText(
            dir / "m.json",
            "{\"torchscript\": \"m.pt\", \"input\": {\"width\": 8, \"height\": 8, \"channels\": 1}" + extra + "}");
        return readModelDescriptor(dir / "m.json");
    };
    EXPECT_EQ(descriptor("").info.baseline.kind, Baseline::Kind::Blur);
    const auto black = descriptor(", \"baseline\": \"black\"");
    EXPECT_EQ(black.info.baseline.kind, Baseline::Kind::Black);
    EXPECT_EQ(black.info.baseline_source, "the model descriptor");
    const auto values = descriptor(", \"baseline\": [0.25]");
    EXPECT_EQ(values.info.baseline, (Baseline{Baseline::Kind::Values, {0.25f}}));
    // Errors name the file, the field and what to do.
    for (const std::string bad : {", \"baseline\": \"purple\"", ", \"baseline\": [0.1, 0.2, 0.3]",
                                  ", \"baseline\": [2]", ", \"baseline\": \"segment-mean\"", ", \"baseline\": 3"}) {
        const std::string msg = errorOf([&] { descriptor(bad); });
        EXPECT_NE(msg.find("m.json"), std::string::npos) << bad << ": " << msg;
        EXPECT_NE(msg.find("\"baseline\""), std::string::npos) << bad << ": " << msg;
    }
}

TEST(Baseline, TheBundledModelsBaselineIsItsTrainingBackground) {
    const auto d = readModelDescriptor(sourceDir() / "models" / "fashion-cnn" / "fashion-cnn.json");
    EXPECT_EQ(d.info.baseline.kind, Baseline::Kind::Black);
}

TEST(Baseline, MethodFillOverridesTheSharedSettingWhichOverridesTheModel) {
    RegionFractionModel model;
    model.setBaseline(Baseline{Baseline::Kind::Black, {}});
    ParamSet shared = perturbationParams();
    auto r = resolveBaseline(model.info(), shared, "shared", "lime.fill");
    EXPECT_EQ(r.baseline.kind, Baseline::Kind::Black);
    EXPECT_NE(r.source.find("region-fraction"), std::string::npos);
    shared.setFromString("baseline", "grey");
    r = resolveBaseline(model.info(), shared, "shared", "lime.fill");
    EXPECT_EQ(r.baseline.kind, Baseline::Kind::Grey);
    EXPECT_EQ(r.source, "perturbation.baseline");
    r = resolveBaseline(model.info(), shared, "blur", "lime.fill");
    EXPECT_EQ(r.baseline.kind, Baseline::Kind::Blur);
    EXPECT_EQ(r.source, "lime.fill");
    EXPECT_THROW(shared.setFromString("baseline", "segment-mean"), Error);  // not an image baseline
    EXPECT_THROW(shared.setFromString("guard", "1.5"), Error);
}

TEST(BaselineGuard, FiresWhenTheBaselineAlreadyPredictsTheTarget) {
    RegionFractionModel model;
    const cv::Mat image = model.regionImage(8);  // p(region) = 1 on the image
    // White as "removed": the fully removed image is all white, p(region) = 1 too.
    model.setBaseline(Baseline{Baseline::Kind::Values, {1.0f}});
    for (const std::string method : {"lime", "kernelshap"}) {
        auto ex = makeExplainer(method);
        ParamSet p = ex->defaultParams();
        p.set("samples", int64_t{method == "lime" ? 30 : 0});
        const Explanation e = ex->explain(regionSurrogateRequest(model, image, p), RunContext{});
        EXPECT_TRUE(hasFlag(e, kFlagBaselinePredictsTarget)) << method;
        const auto it = std::find_if(e.warnings.begin(), e.warnings.end(),
                                     [](const std::string& w) { return w.find("baseline") != std::string::npos; });
        ASSERT_NE(it, e.warnings.end()) << method;
        const std::string& w = *it;
        EXPECT_NE(w.find("[1]"), std::string::npos) << w;                    // names the baseline
        EXPECT_NE(w.find("region"), std::string::npos) << w;                 // and the target
        EXPECT_NE(w.find("perturbation.baseline"), std::string::npos) << w;  // and what to change
        EXPECT_TRUE(e.settings["baseline_guard"]["fired"].get<bool>());
        EXPECT_NEAR(e.settings["baseline_guard"]["baseline_probability"].get<double>(), 1.0, 1e-6);
    }
    // Black as "removed" (this image's background): p(region) = 0 with everything removed; no warning.
    model.setBaseline(Baseline{Baseline::Kind::Black, {}});
    for (const std::string method : {"lime", "kernelshap"}) {
        auto ex = makeExplainer(method);
        ParamSet p = ex->defaultParams();
        p.set("samples", int64_t{method == "lime" ? 30 : 0});
        const Explanation e = ex->explain(regionSurrogateRequest(model, image, p), RunContext{});
        EXPECT_FALSE(hasFlag(e, kFlagBaselinePredictsTarget)) << method;
        EXPECT_EQ(e.settings["baseline"]["baseline"], "black");
        EXPECT_NEAR(e.settings["baseline_guard"]["baseline_probability"].get<double>(), 0.0, 1e-6);
    }
    // The guard can be switched off.
    model.setBaseline(Baseline{Baseline::Kind::Values, {1.0f}});
    auto ex = makeExplainer("kernelshap");
    ExplainRequest req = regionSurrogateRequest(model, image, ex->defaultParams());
    req.perturbation = perturbationParams();
    req.perturbation.set("guard", 0.0);
    EXPECT_FALSE(hasFlag(ex->explain(req, RunContext{}), kFlagBaselinePredictsTarget));
}

TEST(BaselineGuard, DeletionAndInsertionUseTheModelsBaselineByDefault) {
    RegionFractionModel model;
    const cv::Mat image = model.regionImage(8);
    model.setBaseline(Baseline{Baseline::Kind::Black, {}});
    FaithfulnessRequest req;
    req.model = &model;
    req.image = image;
    req.target_index = 0;
    req.batch_size = 16;
    req.params = faithfulnessParams();
    req.params.set("step_fraction", 1.0 / 64);
    const auto rep = evaluateFaithfulness(req, {});
    EXPECT_EQ(rep.baseline.baseline.kind, Baseline::Kind::Black);
    EXPECT_FALSE(rep.guard.fired);
    FaithfulnessEvaluator ev(req);
    const auto c = ev.evaluate(model.regionMap(8));
    // Deletion ends at the baseline, insertion starts from it: p = 0 on black.
    EXPECT_NEAR(c.deletion.score.back(), 0.0, 1e-6);
    EXPECT_NEAR(c.insertion.score.front(), 0.0, 1e-6);
    EXPECT_NEAR(c.insertion.auc, 1.0 - 0.5 * 16 / 64, 1e-6);  // the region revealed first: a ramp, then 1
    EXPECT_EQ(toJson(rep)["baseline"]["baseline"], "black");

    // A white baseline keeps p = 1 with every pixel deleted: the guard fires and says so.
    model.setBaseline(Baseline{Baseline::Kind::Values, {1.0f}});
    const auto white = evaluateFaithfulness(req, {});
    EXPECT_TRUE(white.guard.fired);
    EXPECT_NE(white.guard.warning.find("Deletion/insertion"), std::string::npos);
    EXPECT_TRUE(toJson(white).contains("warning"));
}
