// Issue 13: the registry is the one list of methods, and every registered
// method behaves like one: on the bundled fashion-cnn with its default
// settings, its map has the image's size and finite values, the same seed
// gives the same map, a cancelled run stops, and every setting reaches the
// report.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <string>

#include "common/error.hpp"
#include "explain/explainer.hpp"
#include "explain/methods.hpp"
#include "image/image_io.hpp"
#include "models/model_zoo.hpp"
#include "test_helpers.hpp"

using namespace mirada;
using mirada::test::runCommand;
using mirada::test::samplePath;

namespace {

Model& fashion() {
    static std::unique_ptr<Model> model = [] {
        ModelLoadOptions opt;
        opt.device = DeviceChoice::Cpu;
        return loadModel("fashion-cnn", opt).model;
    }();
    return *model;
}

ExplainRequest requestFor(const std::string& method, const cv::Mat& image, uint64_t seed) {
    ExplainRequest r;
    r.model = &fashion();
    r.image = image;
    r.seed = seed;
    r.batch_size = 16;
    r.params = makeExplainer(method)->paramsForLayers(fashion().layers());
    r.superpixels = superpixelParams();
    return r;
}

class EveryMethod : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST(MethodRegistry, HoldsTheSeventeenMethodsOnceEachWithMatchingNamesAndTitles) {
    const std::set<std::string> expected = {
        "gradcam",    "gradcampp", "cam",         "hirescam", "xgradcam",   "layercam",
        "eigencam",   "scorecam",  "ablationcam", "saliency", "gradxinput", "integratedgradients",
        "smoothgrad", "occlusion", "rise",        "lime",     "kernelshap"};
    std::set<std::string> seen;
    for (const auto& m : methodRegistry()) {
        EXPECT_TRUE(seen.insert(m.name).second) << m.name << " is listed twice";
        const auto e = m.make();
        EXPECT_EQ(e->name(), m.name);
        EXPECT_EQ(e->title(), m.title);
        EXPECT_EQ(e->defaultParams().group(), m.name);
        EXPECT_FALSE(m.summary.empty()) << m.name;
        EXPECT_EQ(findMethod(m.name), &m);
    }
    EXPECT_EQ(seen, expected);
    EXPECT_EQ(findMethod("nosuch"), nullptr);
    const std::string err = mirada::test::errorOf([] { makeExplainer("nosuch"); });
    EXPECT_NE(err.find("integratedgradients"), std::string::npos) << err;
    EXPECT_EQ(defaultMethodList(), "gradcam,gradcampp,cam,lime,kernelshap");
}

TEST(MethodRegistry, CliListsEveryMethodWithItsFamily) {
    std::string out;
    ASSERT_EQ(runCommand(std::string(MIRADA_CLI) + " methods", &out), 0) << out;
    for (const auto& m : methodRegistry()) {
        EXPECT_NE(out.find(m.name), std::string::npos) << m.name << "\n" << out;
        EXPECT_NE(out.find(toString(m.family)), std::string::npos) << out;
    }
    ASSERT_EQ(runCommand(std::string(MIRADA_CLI) + " methods --settings --markdown", &out), 0) << out;
    EXPECT_NE(out.find("`integratedgradients`\n\n| setting"), std::string::npos) << out;
    EXPECT_NE(out.find("| `steps` | int | 50 | 2 – 2000 |"), std::string::npos) << out;
    EXPECT_NE(out.find("| `masks` | int | 1000 | 10 – 100000 |"), std::string::npos) << out;
    // The README's tables are this output, not typed by hand: between the marker
    // lines the README holds exactly what the program prints.
    const std::string readme = mirada::test::slurp(mirada::test::sourceDir() / "README.md");
    const std::string open = "<!-- printed by: mirada-cli methods --settings --markdown -->\n";
    const std::string close = "<!-- end of printed tables -->";
    const auto a = readme.find(open), b = readme.find(close);
    ASSERT_NE(a, std::string::npos) << "README.md lacks the marker " << open;
    ASSERT_NE(b, std::string::npos);
    EXPECT_EQ(readme.substr(a + open.size(), b - a - open.size()), out)
        << "README.md's method tables differ from `mirada-cli methods --settings --markdown`: paste its output "
           "between the markers";
}

TEST(MethodRegistry, LayerSettingsListTheModelsLayers) {
    const auto layers = fashion().layers();
    ASSERT_FALSE(layers.empty());
    for (const auto& m : methodRegistry()) {
        const ParamSet p = m.make()->paramsForLayers(layers);
        if (m.family != MethodFamily::Cam) {
            EXPECT_FALSE(p.has("layer")) << m.name;
            continue;
        }
        ASSERT_TRUE(p.has("layer")) << m.name;
        ParamSet q = p;
        EXPECT_NO_THROW(q.set("layer", layers.front().path)) << m.name;
        EXPECT_THROW(q.set("layer", std::string("no.such.layer")), Error) << m.name;
    }
}

TEST_P(EveryMethod, RunsOnFashionCnnWithDefaultsDeterministicallyAndCancels) {
    const std::string method = GetParam();
    const cv::Mat image = loadImage(samplePath("fashion-sneaker.png")).rgb;
    auto explainer = makeExplainer(method);
    const ExplainRequest req = requestFor(method, image, 7);

    const Explanation a = explainer->explain(req, {});
    ASSERT_EQ(a.heatmap.type(), CV_32F) << method;
    EXPECT_EQ(a.heatmap.size(), image.size()) << method;
    EXPECT_TRUE(cv::checkRange(a.heatmap)) << method << ": non-finite values";
    EXPECT_EQ(a.method, method);
    EXPECT_GE(a.target_index, 0);
    EXPECT_GT(a.model_evaluations, 0) << method;
    double mn = 0, mx = 0;
    cv::minMaxLoc(a.heatmap, &mn, &mx);
    EXPECT_GT(mx - mn, 0.0) << method << ": a constant map";
    if (!a.signed_map) EXPECT_GE(mn, 0.0) << method << " draws an unsigned map but has negative values";

    // Same seed, same map (bit for bit).
    const Explanation b = explainer->explain(req, {});
    EXPECT_EQ(cv::norm(a.heatmap, b.heatmap, cv::NORM_INF), 0.0) << method;

    // Every setting of the method's table is in the report.
    const nlohmann::json& s = a.settings;
    for (const auto& spec : req.params.specs()) {
        const bool found = (s.contains("params") && s["params"].contains(spec.name)) || s.contains(spec.name);
        EXPECT_TRUE(found) << method << "." << spec.name << " is not in the report: " << s.dump();
    }

    // A cancelled run stops with Cancelled, not with a result.
    std::atomic<bool> cancel{true};
    RunContext ctx;
    ctx.cancel = &cancel;
    EXPECT_THROW(explainer->explain(req, ctx), Cancelled) << method;
}

INSTANTIATE_TEST_SUITE_P(Registry, EveryMethod, ::testing::ValuesIn(explainerNames()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// The noise tunnel is a setting of saliency and gradient x input: off by
// default (the plain map), and when on, the mean of the method's map over noisy
// copies. With noise level 0 every copy is the image itself, so the mean must
// equal the plain map; with noise it differs and still follows the seed.
TEST(NoiseTunnel, IsASettingOfTheGradientMapsThatAveragesOverNoisyCopies) {
    const cv::Mat image = loadImage(samplePath("fashion-sneaker.png")).rgb;
    for (const std::string method : {"saliency", "gradxinput"}) {
        SCOPED_TRACE(method);
        auto explainer = makeExplainer(method);
        ExplainRequest plainReq = requestFor(method, image, 3);
        ASSERT_EQ(plainReq.params.getInt("noise_samples"), 0) << "the tunnel must be off by default";
        const Explanation plain = explainer->explain(plainReq, {});
        EXPECT_EQ(plain.numbers.at("noise_samples").get<int64_t>(), 0);

        ExplainRequest zeroNoise = plainReq;
        zeroNoise.params.set("noise_samples", int64_t{5});
        zeroNoise.params.set("noise_level", 0.0);
        const Explanation same = explainer->explain(zeroNoise, {});
        EXPECT_EQ(same.model_evaluations, plain.model_evaluations + 4) << "one gradient per copy";
        EXPECT_LE(cv::norm(same.heatmap, plain.heatmap, cv::NORM_INF),
                  1e-5 * (1.0 + cv::norm(plain.heatmap, cv::NORM_INF)));

        ExplainRequest noisy = zeroNoise;
        noisy.params.set("noise_level", 0.2);
        const Explanation a = explainer->explain(noisy, {});
        EXPECT_GT(a.numbers.at("noise_sigma").get<double>(), 0.0);
        EXPECT_GT(cv::norm(a.heatmap, plain.heatmap, cv::NORM_INF), 1e-4 * cv::norm(plain.heatmap, cv::NORM_INF))
            << "noise changed nothing";
        const Explanation b = explainer->explain(noisy, {});
        EXPECT_EQ(cv::norm(a.heatmap, b.heatmap, cv::NORM_INF), 0.0) << "same seed, same noise";
        noisy.batch_size = 2;  // the copies do not depend on the batch size
        const Explanation c = explainer->explain(noisy, {});
        EXPECT_LE(cv::norm(a.heatmap, c.heatmap, cv::NORM_INF), 1e-5 * (1.0 + cv::norm(a.heatmap, cv::NORM_INF)));
    }
}
