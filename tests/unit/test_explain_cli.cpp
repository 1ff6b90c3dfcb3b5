// `mirada-cli explain` end to end, the files it writes, and the report/overlay
// building blocks behind it.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "common/error.hpp"
#include "explain/explainer.hpp"
#include "image/overlay.hpp"
#include "models/model_zoo.hpp"
#include "report/npy.hpp"
#include "test_helpers.hpp"

namespace fs = std::filesystem;
using namespace mirada;
using namespace mirada::test;

namespace {
std::string cli() { return std::string(MIRADA_CLI); }
}  // namespace

TEST(Npy, RoundTripsAndHasANumpyHeader) {
    TempDir dir;
    cv::Mat m(3, 5, CV_32F);
    for (int i = 0; i < 15; ++i) m.at<float>(i / 5, i % 5) = i * 0.5f - 2;
    writeNpyAtomic(dir / "m.npy", m);
    const auto bytes = slurp(dir / "m.npy");
    EXPECT_EQ(bytes.substr(1, 5), "NUMPY");
    EXPECT_EQ((bytes.size() - 15 * 4) % 64, 0u);  // header padded to 64 bytes
    EXPECT_NE(bytes.find("'shape': (3, 5)"), std::string::npos);
    cv::Mat back = readNpy(dir / "m.npy");
    EXPECT_EQ(cv::norm(back, m, cv::NORM_INF), 0.0);
}

TEST(Overlay, AllZeroMapLeavesTheImageUntouched) {
    cv::Mat img(10, 12, CV_8UC3, cv::Scalar(10, 200, 30));
    cv::Mat zero = cv::Mat::zeros(10, 12, CV_32F);
    OverlayOptions o;
    for (const bool signedMap : {false, true}) {
        const ColourScale s = colourScaleFor(zero, signedMap, o);
        EXPECT_EQ(s.end, 0.0f);
        EXPECT_EQ(cv::norm(renderOverlay(img, zero, s, o), img, cv::NORM_INF), 0.0);
    }
    // An unsigned map with no positive value is not stretched either.
    cv::Mat negative(10, 12, CV_32F, cv::Scalar(-1.0f));
    EXPECT_EQ(cv::norm(renderOverlay(img, negative, colourScaleFor(negative, false, o), o), img, cv::NORM_INF), 0.0);
    // A positive map colours every pixel (0 gets the scale's bottom colour), the peak differently.
    cv::Mat map = cv::Mat::zeros(10, 12, CV_32F);
    map.at<float>(5, 5) = 2.0f;
    const ColourScale s = colourScaleFor(map, false, o);
    EXPECT_EQ(s.end, 2.0f);
    cv::Mat out = renderOverlay(img, map, s, o);
    EXPECT_NE(out.at<cv::Vec3b>(0, 0), img.at<cv::Vec3b>(0, 0));
    EXPECT_NE(out.at<cv::Vec3b>(5, 5), out.at<cv::Vec3b>(0, 0));
    o.opacity = 0;
    EXPECT_EQ(cv::norm(renderOverlay(img, map, s, o), img, cv::NORM_INF), 0.0);
    o.opacity = 1.5;
    EXPECT_THROW(renderOverlay(img, map, s, o), Error);
    o.opacity = 0.5;
    o.colormap = "rainbow-unicorn";
    EXPECT_THROW(renderOverlay(img, map, s, o), Error);
}

TEST(ExplainCli, WritesEveryFileAndAReproducibleReport) {
    MIRADA_REQUIRE_FIXTURE(fixtureDir() / "residual-cnn.json");
    TempDir out;
    const std::string model = (fixtureDir() / "residual-cnn.json").string();
    const std::string image = (fixtureDir() / "residual-cnn.image.png").string();
    const std::string args = " explain --quiet --device cpu --model " + model + " --image " + image +
                             " --methods gradcam,gradcampp,lime,kernelshap --seed 7 --set lime.samples=40"
                             " --set superpixels.algorithm=grid --set superpixels.count=6 --out ";
    std::string log;
    ASSERT_EQ(runCommand(cli() + args + (out / "a").string(), &log), 0) << log;
    const auto dir = out / "a";
    for (const std::string m : {"gradcam", "gradcampp", "lime", "kernelshap"}) {
        EXPECT_TRUE(fs::exists(dir / ("residual-cnn.image." + m + ".overlay.png"))) << m;
        cv::Mat heat = readNpy(dir / ("residual-cnn.image." + m + ".heatmap.npy"));
        EXPECT_EQ(heat.size(), cv::Size(32, 32)) << m;
        EXPECT_TRUE(cv::checkRange(heat)) << m;  // no NaN / Inf
    }
    cv::Mat seg = cv::imread((dir / "residual-cnn.image.segments.png").string(), cv::IMREAD_UNCHANGED);
    ASSERT_EQ(seg.type(), CV_16UC1);
    double mn, mx;
    cv::minMaxLoc(seg, &mn, &mx);
    EXPECT_EQ(mn, 1);
    EXPECT_EQ(mx, 6);
    EXPECT_TRUE(fs::exists(dir / "residual-cnn.image.comparison.png"));
    auto report = nlohmann::json::parse(slurp(dir / "residual-cnn.image.report.json"));
    EXPECT_EQ(report["model"]["sha256"].get<std::string>().size(), 64u);
    EXPECT_EQ(report["image"]["sha256"].get<std::string>().size(), 64u);
    EXPECT_EQ(report["seed"], 7);
    ASSERT_EQ(report["methods"].size(), 4u);
    EXPECT_EQ(report["methods"][2]["settings"]["params"]["samples"], 40);
    EXPECT_TRUE(report["versions"].contains("libtorch"));
    // The colour scales the overlays were drawn with: kind from the method, end per map.
    const auto& overlay = report["overlay"];
    EXPECT_EQ(overlay["range"], "per-map");
    EXPECT_EQ(overlay["clip_percentile"], 100.0);
    ASSERT_EQ(overlay["scales"].size(), 4u);
    EXPECT_EQ(overlay["scales"][0]["kind"], "unsigned");
    EXPECT_EQ(overlay["scales"][2]["kind"], "signed");
    EXPECT_EQ(overlay["scales"][3]["kind"], "signed");
    for (int i = 0; i < 4; ++i) {
        const double mn = report["methods"][i]["heatmap"]["min"], mx = report["methods"][i]["heatmap"]["max"];
        const double expected = overlay["scales"][i]["kind"] == "signed" ? std::max(-mn, mx) : std::max(mx, 0.0);
        EXPECT_NEAR(overlay["scales"][i]["end"].get<double>(), expected, 1e-6 * (1 + expected)) << i;
    }
    const auto& shap = report["methods"][3]["numbers"];
    double sum = 0;
    for (const auto& v : shap["values"]) sum += v.get<double>();
    EXPECT_NEAR(sum, shap["fx"].get<double>() - shap["base_value"].get<double>(), 1e-6);

    // Same seed, same files; the imported segmentation reproduces the run.
    ASSERT_EQ(runCommand(cli() + args + (out / "b").string() + " --segments " +
                             (dir / "residual-cnn.image.segments.png").string(),
                         &log),
              0)
        << log;
    for (const std::string m : {"gradcam", "lime", "kernelshap"}) {
        const std::string f = "residual-cnn.image." + m + ".heatmap.npy";
        EXPECT_EQ(slurp(dir / f), slurp(out / "b" / f)) << m;
    }
}

TEST(ExplainCli, BadInputsGiveClearErrorsAndNoFiles) {
    MIRADA_REQUIRE_FIXTURE(fixtureDir() / "residual-cnn.json");
    TempDir out;
    const std::string base = cli() + " explain --quiet --device cpu --model " +
                             (fixtureDir() / "residual-cnn.json").string() + " --image " +
                             (fixtureDir() / "residual-cnn.image.png").string() + " --out " + out.path().string();
    expectCliErrors(base, {
                              {" --methods lime --set lime.samples=5", "lime.samples = 5"},
                              {" --methods lime --set lime.samples=-5", "lime.samples"},
                              {" --methods gradcam --set gradcam.layer=block9", "block9"},
                              {" --methods shapley", "unknown method 'shapley'"},
                              {" --methods gradcam --target 17", "out of range"},
                              {" --methods gradcam --target zebra", "zebra"},
                              {" --methods lime --set superpixels.count=2000", "superpixels.count"},
                              {" --methods lime --set lime.kernel_width=abc", "lime.kernel_width"},
                              {" --methods gradcam --set lime.samples=10", "lime"},
                              {" --methods gradcam --colormap rainbow", "rainbow"},
                              {" --methods gradcam --scale auto", "per-map, shared"},
                              {" --methods gradcam --clip 30", "between 50 and 100"},
                          });
    EXPECT_TRUE(fs::is_empty(out.path()));
}

TEST(ExplainCli, FashionCnnAllMethods) {
    ASSERT_TRUE(locateZooModel("fashion-cnn").found) << locateZooModel("fashion-cnn").message;
    TempDir out;
    std::string log;
    const int rc = runCommand(cli() + " explain --quiet --device cpu --model fashion-cnn --image " +
                                  samplePath("fashion-sneaker.png") +
                                  " --methods gradcam,gradcampp,cam,lime,kernelshap --set lime.samples=60"
                                  " --set kernelshap.samples=60 --set superpixels.count=12 --out " +
                                  out.path().string(),
                              &log);
    ASSERT_EQ(rc, 0) << log;
    EXPECT_NE(log.find("Sneaker"), std::string::npos) << log;
    auto report = nlohmann::json::parse(slurp(out / "fashion-sneaker.report.json"));
    ASSERT_EQ(report["methods"].size(), 5u);
    EXPECT_EQ(report["target"]["label"], "Sneaker");
    cv::Mat sheet = cv::imread((out / "fashion-sneaker.comparison.png").string());
    EXPECT_GT(sheet.cols, 5 * 200);
    // The report names the baseline "removed" meant, and where it came from.
    EXPECT_EQ(report["model"]["baseline"], "black");
    for (const auto& m : report["methods"])
        if (m["method"] == "lime" || m["method"] == "kernelshap") {
            EXPECT_EQ(m["settings"]["baseline"]["baseline"], "black");
            EXPECT_NE(m["settings"]["baseline"]["source"].get<std::string>().find("descriptor"), std::string::npos);
        }
    // What the model sees: the 28x28 grey input.
    const cv::Mat input = cv::imread((out / "fashion-sneaker.input.png").string(), cv::IMREAD_UNCHANGED);
    EXPECT_EQ(input.size(), cv::Size(28, 28));
    EXPECT_EQ(input.channels(), 1);
    EXPECT_TRUE(report["input_check"]["hints"].empty()) << report["input_check"].dump();
}

// A colour photo on the 28x28 grey model: the CLI and the report say it looks
// out of the model's domain; a baseline that already predicts the target warns.
TEST(ExplainCli, OutOfDomainHintsAndTheBaselineGuardAreReported) {
    TempDir out;
    std::string log;
    const int rc =
        runCommand(cli() + " explain --quiet --device cpu --model fashion-cnn --image " + samplePath("photo-cat.jpg") +
                       " --methods kernelshap --set superpixels.count=8 --set perturbation.baseline=dataset-mean"
                       " --target Bag --out " +
                       out.path().string(),
                   &log);
    ASSERT_EQ(rc, 0) << log;
    EXPECT_NE(log.find("hint: This is a colour image"), std::string::npos) << log;
    EXPECT_NE(log.find("larger than the model's input"), std::string::npos) << log;
    auto report = nlohmann::json::parse(slurp(out / "photo-cat.report.json"));
    EXPECT_EQ(report["input_check"]["hints"].size(), 2u);
    // A uniform dataset-mean grey image is "Bag" to fashion-cnn (p ~ 0.96): the guard fires.
    EXPECT_NE(log.find("warning: KernelSHAP: with every part removed (baseline 'dataset-mean'"), std::string::npos)
        << log;
    const auto& m = report["methods"][0];
    EXPECT_EQ(m["settings"]["baseline"]["source"], "perturbation.baseline");
    EXPECT_TRUE(m["settings"]["baseline_guard"]["fired"].get<bool>());
    EXPECT_FALSE(m["warnings"].empty());
}

// Issue 12, D10: a run's files are a set. When the new set cannot be put in
// place, the folder keeps the old set exactly, and no staging folder is left.
TEST(ExplainCli, AFailedExportLeavesTheOldSetUntouched) {
    TempDir out;
    const std::string base = cli() + " explain --quiet --device cpu --model fashion-cnn --image " +
                             samplePath("fashion-sneaker.png") + " --out " + out.path().string();
    std::string log;
    ASSERT_EQ(runCommand(base + " --methods gradcam", &log), 0) << log;
    const std::string oldReport = slurp(out / "fashion-sneaker.report.json");
    const std::string oldOverlay = slurp(out / "fashion-sneaker.gradcam.overlay.png");
    // Something that cannot be replaced by the new set: a folder where the comparison sheet goes.
    std::filesystem::remove(out / "fashion-sneaker.comparison.png");
    std::filesystem::create_directory(out / "fashion-sneaker.comparison.png");
    EXPECT_EQ(runCommand(base + " --seed 5 --methods gradcam,gradcampp", &log), 1) << log;
    EXPECT_NE(log.find("fashion-sneaker.comparison.png"), std::string::npos) << log;
    EXPECT_EQ(slurp(out / "fashion-sneaker.report.json"), oldReport);
    EXPECT_EQ(slurp(out / "fashion-sneaker.gradcam.overlay.png"), oldOverlay);
    EXPECT_FALSE(std::filesystem::exists(out / "fashion-sneaker.gradcampp.overlay.png"));
    for (const auto& entry : std::filesystem::directory_iterator(out.path()))
        EXPECT_EQ(entry.path().filename().string().rfind(".mirada-staging", 0), std::string::npos) << entry.path();
}
