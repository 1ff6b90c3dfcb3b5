// The CAM family (Grad-CAM, Grad-CAM++, CAM): parity with a plain-PyTorch hook
// implementation (gen_cam_reference.py) on a residual TorchScript CNN and on the
// native ResNet50, CAM == Grad-CAM up to scale where CAM applies, clear errors
// where it does not, the all-negative case, back-mapping and cancellation.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include <atomic>
#include <cmath>
#include <fstream>
#include <functional>
#include <iomanip>

#include "common/error.hpp"
#include "explain/cam/cam_pipeline.hpp"
#include "explain/methods.hpp"
#include "image/image_io.hpp"
#include "models/model_zoo.hpp"
#include "models/native_nets.hpp"
#include "test_helpers.hpp"

namespace fs = std::filesystem;
using namespace mirada;
using namespace mirada::test;

namespace {

fs::path fx(const std::string& name) { return fixtureDir() / name; }

std::unique_ptr<Model> load(const std::string& spec) {
    ModelLoadOptions opt;
    opt.device = DeviceChoice::Cpu;
    return loadModel(spec, opt).model;
}

int readInt(const fs::path& p) {
    std::ifstream in(p);
    int v = -1;
    in >> v;
    return v;
}

using mirada::test::errorOf;

double pearson(const std::vector<float>& a, const std::vector<float>& b) {
    EXPECT_EQ(a.size(), b.size());
    const size_t n = std::min(a.size(), b.size());
    double ma = 0, mb = 0;
    for (size_t i = 0; i < n; ++i) ma += a[i], mb += b[i];
    ma /= n;
    mb /= n;
    double sab = 0, saa = 0, sbb = 0;
    for (size_t i = 0; i < n; ++i) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    return sab / std::sqrt(saa * sbb + 1e-300);
}

std::vector<float> values(const cv::Mat& m) {
    CV_Assert(m.type() == CV_32F);
    cv::Mat c = m.isContinuous() ? m : m.clone();
    return std::vector<float>(c.ptr<float>(), c.ptr<float>() + c.total());
}

float maxAbs(const std::vector<float>& v) {
    float m = 0;
    for (float x : v) m = std::max(m, std::abs(x));
    return m;
}

bool allFinite(const cv::Mat& m) { return cv::checkRange(m); }

bool hasFlag(const Explanation& e, const std::string& f) {
    return std::find(e.flags.begin(), e.flags.end(), f) != e.flags.end();
}

ExplainRequest requestFor(Model& model, const cv::Mat& image, int target = -1) {
    ExplainRequest r;
    r.model = &model;
    r.image = image;
    r.target_index = target;
    return r;
}

// Compares Mirada's input-resolution map with the Python reference; returns the correlation.
double compareWithReference(Model& model, const cv::Mat& image, const CamWeighting& w, const std::string& refFile,
                            int expectedTarget, int size) {
    CamMaps maps = computeCamMaps(model, image, -1, CamSettings{}, w);
    EXPECT_EQ(maps.target_index, expectedTarget);
    EXPECT_EQ(maps.input_map.rows, size);
    EXPECT_EQ(maps.input_map.cols, size);
    EXPECT_FALSE(maps.non_finite);
    const auto ref = readFloats(fx(refFile));
    const auto got = values(maps.input_map);
    EXPECT_EQ(ref.size(), got.size());
    const double r = pearson(got, ref);
    // Same scale, not just the same shape: the maps are raw (never normalised).
    EXPECT_NEAR(maxAbs(got) / maxAbs(ref), 1.0, 1e-3) << refFile;
    std::cout << "[ corr     ] " << w.title() << " vs " << refFile << ": Pearson r = " << std::setprecision(10) << r
              << "\n";
    return r;
}

}  // namespace

TEST(CamExplainers, NamesTitlesAndSettingsTables) {
    struct Case {
        std::unique_ptr<Explainer> e;
        const char* name;
        const char* title;
    };
    Case cases[] = {{makeGradCamExplainer(), "gradcam", "Grad-CAM"},
                    {makeGradCamPlusPlusExplainer(), "gradcampp", "Grad-CAM++"},
                    {makeCamExplainer(), "cam", "CAM"}};
    for (auto& c : cases) {
        EXPECT_EQ(c.e->name(), c.name);
        EXPECT_EQ(c.e->title(), c.title);
        EXPECT_FALSE(c.e->usesSuperpixels());
        ParamSet p = c.e->defaultParams();
        EXPECT_EQ(p.group(), c.name);
        EXPECT_EQ(p.getChoice("layer"), "");
        EXPECT_TRUE(p.getBool("relu"));
        EXPECT_EQ(p.getChoice("upsample"), "bilinear");
        p.set("upsample", std::string("nearest"));
        EXPECT_THROW(p.set("upsample", std::string("bicubic")), Error);
    }
}

TEST(CamExplainers, ModelSpecificLayerChoicesAreValidated) {
    MIRADA_REQUIRE_FIXTURE(fx("cam-residual.json"));
    auto model = load(fx("cam-residual.json").string());
    ParamSet p = camParamsForModel("gradcam", *model);
    p.set("layer", std::string("block1"));
    EXPECT_EQ(p.getChoice("layer"), "block1");
    const std::string err = errorOf([&] { p.set("layer", std::string("block9")); });
    EXPECT_NE(err.find("block9"), std::string::npos) << err;
    EXPECT_NE(err.find("block2"), std::string::npos) << err;
}

TEST(CamReference, GradCamAndGradCamPlusPlusMatchPythonOnResidualCnn) {
    MIRADA_REQUIRE_FIXTURE(fx("cam-residual.gradcampp.f32"));
    auto model = load(fx("cam-residual.json").string());
    const cv::Mat image = loadImage(fx("cam-residual.image.png")).rgb;
    ASSERT_EQ(image.size(), cv::Size(32, 32));
    const int target = readInt(fx("cam-residual.target.txt"));
    EXPECT_GE(compareWithReference(*model, image, *makeGradCamWeighting(), "cam-residual.gradcam.f32", target, 32),
              0.999);
    EXPECT_GE(
        compareWithReference(*model, image, *makeGradCamPlusPlusWeighting(), "cam-residual.gradcampp.f32", target, 32),
        0.999);
}

TEST(CamReference, GradCamAndGradCamPlusPlusMatchPythonOnNativeResnet50) {
    MIRADA_REQUIRE_FIXTURE(fx("cam-resnet50.gradcampp.f32"));
    auto model = load(fx("cam-resnet50.pth").string());
    ASSERT_EQ(model->info().architecture, "resnet50");
    ASSERT_EQ(model->info().default_target_layer, "layer4");
    const cv::Mat image = loadImage(fx("cam-resnet50.image.png")).rgb;
    ASSERT_EQ(image.size(), cv::Size(256, 256));
    // 256 on the short side: no resize, a 224 centre crop starting at pixel 16.
    const InputGeometry g = inputGeometry(image.size(), model->info().input);
    EXPECT_DOUBLE_EQ(g.x0, 16.0);
    EXPECT_DOUBLE_EQ(g.y0, 16.0);
    EXPECT_DOUBLE_EQ(g.sx, 1.0);
    const int target = readInt(fx("cam-resnet50.target.txt"));
    EXPECT_GE(compareWithReference(*model, image, *makeGradCamWeighting(), "cam-resnet50.gradcam.f32", target, 224),
              0.999);
    EXPECT_GE(
        compareWithReference(*model, image, *makeGradCamPlusPlusWeighting(), "cam-resnet50.gradcampp.f32", target, 224),
        0.999);

    // ResNet50's layer4 is followed by global average pooling and one linear layer: CAM applies
    // and equals Grad-CAM times h*w = 49.
    CamMaps gc = computeCamMaps(*model, image, target, CamSettings{}, *makeGradCamWeighting());
    CamMaps cam = computeCamMaps(*model, image, target, CamSettings{}, *makeCamWeighting());
    const double r = pearson(values(cam.input_map), values(gc.input_map));
    std::cout << "[ corr     ] CAM vs Grad-CAM on resnet50 layer4: Pearson r = " << std::setprecision(10) << r << "\n";
    EXPECT_GE(r, 0.9999);
    EXPECT_NEAR(cam.weights.norm().item<double>() / gc.weights.norm().item<double>(), 49.0, 1e-3);
}

TEST(CamExplainers, ExplanationFieldsOnResidualCnn) {
    MIRADA_REQUIRE_FIXTURE(fx("cam-residual.json"));
    auto model = load(fx("cam-residual.json").string());
    const cv::Mat image = loadImage(fx("cam-residual.image.png")).rgb;
    std::vector<double> fractions;
    RunContext ctx;
    ctx.progress = [&](double f, const std::string&) { fractions.push_back(f); };
    auto explainer = makeGradCamExplainer();
    Explanation e = explainer->explain(requestFor(*model, image), ctx);
    EXPECT_EQ(e.method, "gradcam");
    EXPECT_EQ(e.method_title, "Grad-CAM");
    ASSERT_EQ(e.heatmap.type(), CV_32F);
    EXPECT_EQ(e.heatmap.size(), image.size());
    EXPECT_TRUE(allFinite(e.heatmap));
    EXPECT_EQ(e.target_index, readInt(fx("cam-residual.target.txt")));
    EXPECT_EQ(e.target_label, model->info().labels[e.target_index]);
    EXPECT_GT(e.target_probability, 0.0f);
    EXPECT_LT(e.target_probability, 1.0f);
    EXPECT_TRUE(e.flags.empty());
    EXPECT_EQ(e.settings["layer"], "block2");
    EXPECT_EQ(e.settings["relu"], true);
    EXPECT_EQ(e.settings["activation_shape"], nlohmann::json({1, 16, 16, 16}));
    EXPECT_EQ(e.numbers["layer"], "block2");
    EXPECT_EQ(e.numbers["channel_weights_top"].size(), 10u);
    EXPECT_GE(std::abs(e.numbers["channel_weights_top"][0]["weight"].get<double>()),
              std::abs(e.numbers["channel_weights_top"][9]["weight"].get<double>()));
    EXPECT_GT(e.numbers["map_max"].get<double>(), 0.0);
    EXPECT_EQ(e.model_evaluations, 1);
    EXPECT_GT(e.seconds, 0.0);
    EXPECT_GE(e.seconds, e.model_seconds);
    ASSERT_GE(fractions.size(), 2u);
    EXPECT_EQ(fractions.front(), 0.0);
    EXPECT_EQ(fractions.back(), 1.0);

    // Stretch to the same size: the heatmap is the input-resolution map itself.
    CamMaps maps = computeCamMaps(*model, image, -1, CamSettings{}, *makeGradCamWeighting());
    EXPECT_LE(cv::norm(maps.input_map, e.heatmap, cv::NORM_INF), 1e-5 * (1 + e.numbers["map_max"].get<double>()));

    // Another layer, named through the model-specific table.
    ExplainRequest req = requestFor(*model, image, 1);
    req.params = camParamsForModel("gradcam", *model);
    req.params.set("layer", std::string("block1"));
    Explanation e1 = explainer->explain(req, {});
    EXPECT_EQ(e1.target_index, 1);
    EXPECT_EQ(e1.settings["layer"], "block1");
    EXPECT_EQ(e1.settings["activation_shape"], nlohmann::json({1, 16, 32, 32}));
}

TEST(CamExplainers, CamEqualsGradCamUpToScaleOnGapLinearNetworks) {
    // The residual CNN ends in mean over H, W and one linear layer (always available) ...
    MIRADA_REQUIRE_FIXTURE(fx("cam-residual.json"));
    auto model = load(fx("cam-residual.json").string());
    const cv::Mat image = loadImage(fx("cam-residual.image.png")).rgb;
    Explanation gc = makeGradCamExplainer()->explain(requestFor(*model, image), {});
    Explanation cam = makeCamExplainer()->explain(requestFor(*model, image), {});
    double r = pearson(values(cam.heatmap), values(gc.heatmap));
    std::cout << "[ corr     ] CAM vs Grad-CAM on cam-residual: Pearson r = " << std::setprecision(10) << r << "\n";
    EXPECT_GE(r, 0.9999);
    EXPECT_NEAR(cam.numbers["map_max"].get<double>() / gc.numbers["map_max"].get<double>(), 16.0 * 16.0, 1e-2);

    // ... and the bundled fashion-cnn (block3 -> gap -> fc), once it has been trained.
    ASSERT_TRUE(locateZooModel("fashion-cnn").found) << locateZooModel("fashion-cnn").message;
    auto fashion = load("fashion-cnn");
    cv::Mat img(28, 28, CV_8UC3);
    for (int y = 0; y < 28; ++y)
        for (int x = 0; x < 28; ++x) {
            const double d = std::hypot(x - 14.0, (y - 14.0) * 0.6);
            img.at<cv::Vec3b>(y, x) = cv::Vec3b::all(static_cast<uchar>(d < 9 ? 200 - 8 * d : 10));
        }
    gc = makeGradCamExplainer()->explain(requestFor(*fashion, img), {});
    cam = makeCamExplainer()->explain(requestFor(*fashion, img), {});
    EXPECT_EQ(cam.settings["layer"], "block3");
    r = pearson(values(cam.heatmap), values(gc.heatmap));
    std::cout << "[ corr     ] CAM vs Grad-CAM on fashion-cnn: Pearson r = " << std::setprecision(10) << r << "\n";
    EXPECT_GE(r, 0.9999);
}

TEST(CamExplainers, CamRefusesNetworksWithoutGapAndOneLinearLayer) {
    MIRADA_REQUIRE_FIXTURE(fx("cam-vgglike.json"));
    auto model = load(fx("cam-vgglike.json").string());
    cv::Mat image(32, 32, CV_8UC3, cv::Scalar(120, 60, 200));
    cv::circle(image, {12, 20}, 6, cv::Scalar(250, 250, 10), -1);
    const std::string err = errorOf([&] { makeCamExplainer()->explain(requestFor(*model, image), {}); });
    EXPECT_NE(err.find("CAM needs global average pooling and one linear layer after layer 'features'"),
              std::string::npos)
        << err;
    EXPECT_NE(err.find("cam-vgglike"), std::string::npos) << err;
    EXPECT_NE(err.find("Grad-CAM"), std::string::npos) << err;
    // Grad-CAM has no such requirement.
    EXPECT_NO_THROW(makeGradCamExplainer()->explain(requestFor(*model, image), {}));
}

TEST(CamExplainers, CamRefusesNativeVgg16) {
    // VGG16's classifier has three linear layers after features.29 (random weights, small input).
    ModelInfo info;
    info.name = "test-vgg16";
    info.architecture = "vgg16";
    info.default_target_layer = kVgg16DefaultLayer;
    info.input.width = info.input.height = 64;
    info.input.resize_shorter = 64;
    auto model = makeNativeVgg16Random(info, 3);
    cv::Mat image(64, 64, CV_8UC3, cv::Scalar(30, 140, 90));
    cv::rectangle(image, {10, 10}, {40, 30}, cv::Scalar(240, 20, 20), -1);
    const std::string err = errorOf([&] { makeCamExplainer()->explain(requestFor(*model, image), {}); });
    EXPECT_NE(err.find("CAM needs global average pooling and one linear layer after layer 'features.29'"),
              std::string::npos)
        << err;
    EXPECT_NE(err.find("test-vgg16"), std::string::npos) << err;
}

TEST(CamExplainers, OnlyNegativeEvidenceGivesZerosAndAFlag) {
    MIRADA_REQUIRE_FIXTURE(fx("cam-negative.json"));
    auto model = load(fx("cam-negative.json").string());
    cv::Mat image(48, 40, CV_8UC3);
    cv::randu(image, cv::Scalar::all(0), cv::Scalar::all(255));
    for (auto make : {makeGradCamExplainer, makeGradCamPlusPlusExplainer, makeCamExplainer}) {
        auto ex = make();
        for (int target : {0, 1}) {
            Explanation e = ex->explain(requestFor(*model, image, target), {});
            SCOPED_TRACE(ex->name() + " target " + std::to_string(target));
            EXPECT_TRUE(hasFlag(e, kFlagNoPositiveEvidence));
            ASSERT_EQ(e.heatmap.size(), image.size());
            EXPECT_TRUE(allFinite(e.heatmap));
            EXPECT_EQ(cv::countNonZero(e.heatmap), 0);
            EXPECT_EQ(e.numbers["map_max"].get<double>(), 0.0);
        }
    }
    // Without the ReLU the signed map is kept (raw, not normalised): all negative here.
    auto ex = makeGradCamExplainer();
    ExplainRequest req = requestFor(*model, image, 0);
    req.params = ex->defaultParams();
    req.params.set("relu", false);
    Explanation e = ex->explain(req, {});
    EXPECT_TRUE(hasFlag(e, kFlagNoPositiveEvidence));
    EXPECT_LT(e.numbers["map_min"].get<double>(), 0.0);
    EXPECT_TRUE(allFinite(e.heatmap));
}

TEST(CamExplainers, ClearErrorsForLayerAndTarget) {
    MIRADA_REQUIRE_FIXTURE(fx("cam-residual.json"));
    auto model = load(fx("cam-residual.json").string());
    const cv::Mat image = loadImage(fx("cam-residual.image.png")).rgb;
    auto ex = makeGradCamPlusPlusExplainer();

    CamSettings s;
    s.layer = "block7";
    std::string err = errorOf([&] { computeCamMaps(*model, image, -1, s, *makeGradCamWeighting()); });
    EXPECT_NE(err.find("unknown layer 'block7'"), std::string::npos) << err;
    EXPECT_NE(err.find("block2"), std::string::npos) << err;
    EXPECT_NE(err.find("stem"), std::string::npos) << err;

    err = errorOf([&] { ex->explain(requestFor(*model, image, 1234), {}); });
    EXPECT_NE(err.find("target class 1234 is out of range: the model has 5 classes (0-4)"), std::string::npos) << err;

    s.layer = "head";  // Linear: [1, 5]
    err = errorOf([&] { computeCamMaps(*model, image, -1, s, *makeGradCamWeighting()); });
    EXPECT_NE(err.find("layer 'head' outputs shape [1, 5]"), std::string::npos) << err;
    EXPECT_NE(err.find("spatial output [N, C, H, W]; try block2"), std::string::npos) << err;

    err = errorOf([&] { ex->explain(ExplainRequest{}, {}); });
    EXPECT_FALSE(err.empty());
}

TEST(CamExplainers, HeatmapCoversTheOriginalImageWithZerosOutsideTheCrop) {
    MIRADA_REQUIRE_FIXTURE(fx("cam-residual-crop.json"));
    auto model = load(fx("cam-residual-crop.json").string());
    ASSERT_EQ(model->info().input.resize, InputSpec::Resize::CenterCrop);
    cv::Mat small = loadImage(fx("cam-residual.image.png")).rgb, image;
    cv::resize(small, image, cv::Size(300, 200), 0, 0, cv::INTER_LINEAR);
    const InputGeometry g = inputGeometry(image.size(), model->info().input);
    // Shorter side 200 -> 36: the 32x32 crop covers x in [x0, x0 + 32 sx], all rows but a margin.
    ASSERT_GT(g.x0, 50.0);
    for (auto make : {makeGradCamExplainer, makeGradCamPlusPlusExplainer}) {
        Explanation e = make()->explain(requestFor(*model, image), {});
        ASSERT_EQ(e.heatmap.rows, 200);
        ASSERT_EQ(e.heatmap.cols, 300);
        EXPECT_TRUE(allFinite(e.heatmap));
        const int left = static_cast<int>(std::floor(g.x0)) - 1;
        const int right = static_cast<int>(std::ceil(g.x0 + 32 * g.sx)) + 1;
        EXPECT_EQ(cv::countNonZero(e.heatmap.colRange(0, left)), 0);
        EXPECT_EQ(cv::countNonZero(e.heatmap.colRange(right, 300)), 0);
        double mx = 0;
        cv::minMaxLoc(e.heatmap.colRange(left, right), nullptr, &mx);
        EXPECT_GT(mx, 0.0);
        EXPECT_DOUBLE_EQ(mx, e.numbers["map_max"].get<double>());
    }
}

TEST(CamExplainers, CancelledBeforeTheForwardPass) {
    MIRADA_REQUIRE_FIXTURE(fx("cam-residual.json"));
    auto model = load(fx("cam-residual.json").string());
    const cv::Mat image = loadImage(fx("cam-residual.image.png")).rgb;
    std::atomic<bool> cancel{true};
    RunContext ctx;
    ctx.cancel = &cancel;
    for (auto make : {makeGradCamExplainer, makeGradCamPlusPlusExplainer, makeCamExplainer})
        EXPECT_THROW(make()->explain(requestFor(*model, image), ctx), Cancelled);
}

TEST(CamExplainers, RepeatedRunsOnATorchScriptModelGiveTheSameMap) {
    // TorchScript's profiling executor optimises a graph after its first runs; the
    // gradient must still reach the tapped layer on every later call.
    MIRADA_REQUIRE_FIXTURE(fx("cam-residual.json"));
    auto model = load(fx("cam-residual.json").string());
    const cv::Mat image = loadImage(fx("cam-residual.image.png")).rgb;
    CamSettings signedMap;
    signedMap.relu = false;  // compare the whole signed map, whatever its sign
    CamMaps first = computeCamMaps(*model, image, 2, signedMap, *makeGradCamWeighting());
    ASSERT_GT(cv::norm(first.input_map, cv::NORM_INF), 0.0);
    for (int i = 0; i < 4; ++i) {
        CamMaps again = computeCamMaps(*model, image, 2, signedMap, *makeGradCamWeighting());
        EXPECT_LE(cv::norm(first.input_map, again.input_map, cv::NORM_INF),
                  1e-5 * cv::norm(first.input_map, cv::NORM_INF))
            << "run " << i + 2;
    }
}
