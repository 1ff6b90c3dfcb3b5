// Precision of the model evaluations (models/precision.hpp, run/precision_check.hpp),
// the measurement cache (models/measure_cache.hpp) and the OpenMP wait policy
// (common/openmp_wait.cpp).
//
// Tolerance of bfloat16 (issue 15): on the bundled fashion-cnn and the
// synthetic residual TorchScript model, LIME's and KernelSHAP's superpixel
// values (default settings) in bf16 against fp32 with the same seed: Spearman
// >= 0.99 and the same top-5 superpixels; deletion/insertion AUC within 0.01.
// On a random-weight ResNet50 they are not (its maps are noise), and auto must
// keep fp32 there.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "explain/explainer.hpp"
#include "image/image_io.hpp"
#include "metrics/agreement.hpp"
#include "metrics/faithfulness.hpp"
#include "models/batch_size.hpp"
#include "models/measure_cache.hpp"
#include "models/model_zoo.hpp"
#include "models/predict.hpp"
#include "models/precision.hpp"
#include "run/precision_check.hpp"
#include "run/run_plan.hpp"
#include "segment/superpixels.hpp"
#include "test_helpers.hpp"

namespace fs = std::filesystem;
using namespace mirada;
using namespace mirada::test;

namespace {

fs::path fx(const std::string& name) { return fixtureDir() / name; }

// Sets an environment variable for the scope, restoring what was there.
class EnvScope {
public:
    EnvScope(const char* name, const std::string& value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old, had_ = true;
        setenv(name, value.c_str(), 1);
    }
    ~EnvScope() {
        if (had_)
            setenv(name_, old_.c_str(), 1);
        else
            unsetenv(name_);
    }

private:
    const char* name_;
    std::string old_;
    bool had_ = false;
};

std::unique_ptr<Model> loadCpu(const std::string& spec) {
    ModelLoadOptions opt;
    opt.device = DeviceChoice::Cpu;
    return loadModel(spec, opt).model;
}

// Value per superpixel label, read back from the map (one value per label).
std::vector<double> segmentValues(const Explanation& e) {
    std::map<int, double> byLabel;
    for (int y = 0; y < e.segments.rows; ++y)
        for (int x = 0; x < e.segments.cols; ++x) {
            const int l = e.segments.at<int>(y, x);
            if (l >= 0) byLabel.emplace(l, e.heatmap.at<float>(y, x));
        }
    std::vector<double> v;
    for (const auto& [l, value] : byLabel) v.push_back(value);
    return v;
}

double rankCorrelation(const std::vector<double>& a, const std::vector<double>& b) {
    cv::Mat ma(1, static_cast<int>(a.size()), CV_32F), mb(1, static_cast<int>(b.size()), CV_32F);
    for (size_t i = 0; i < a.size(); ++i) ma.at<float>(0, static_cast<int>(i)) = static_cast<float>(a[i]);
    for (size_t i = 0; i < b.size(); ++i) mb.at<float>(0, static_cast<int>(i)) = static_cast<float>(b[i]);
    return spearman(ma, mb);
}

std::set<size_t> topK(const std::vector<double>& v, size_t k) {
    std::vector<size_t> idx(v.size());
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return v[a] > v[b]; });
    return {idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(std::min(k, idx.size()))};
}

RunPlan surrogatePlan(int samples, int superpixels, Precision precision) {
    RunPlan plan;
    for (const std::string m : {"lime", "kernelshap"}) {
        ParamSet p = makeExplainer(m)->defaultParams();
        if (samples > 0) p.set("samples", int64_t{samples});  // 0: the method's default
        plan.methods.push_back({m, p});
    }
    plan.superpixels = superpixelParams();
    if (superpixels > 0) plan.superpixels.set("count", int64_t{superpixels});
    plan.seed = 11;
    plan.batch_size = 16;
    plan.metrics = true;
    plan.faithfulness = faithfulnessParams();
    plan.faithfulness.set("random_repeats", int64_t{1});
    plan.agreement = agreementParams();
    plan.precision = precision;
    return plan;
}

// LIME and KernelSHAP (and their deletion/insertion curves) in fp32 and in
// bf16 with the same seed, held to the tolerance.
void expectBf16WithinTolerance(Model& model, const cv::Mat& image, int samples, int superpixels,
                               const std::string& what) {
    const EnvScope native("MIRADA_CPU_BF16", "1");  // bf16 runs (slower) on a CPU without it too
    const RunResults r32 =
        runPlan(model, image, surrogatePlan(samples, superpixels, Precision::Fp32), {}, nullptr, OnFailure::Stop);
    const RunResults r16 =
        runPlan(model, image, surrogatePlan(samples, superpixels, Precision::Bf16), {}, nullptr, OnFailure::Stop);
    ASSERT_EQ(r16.precision, Precision::Bf16) << what << ": " << r16.precision_note;
    EXPECT_EQ(r32.precision, Precision::Fp32) << what;
    EXPECT_EQ(r16.faithfulness_precision, Precision::Bf16) << what;
    EXPECT_EQ(model.evaluationPrecision(), Precision::Fp32) << what << ": the run leaves the model in fp32";
    ASSERT_EQ(r32.explanations.size(), 2u);
    ASSERT_EQ(r16.explanations.size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
        const Explanation &a = r32.explanations[i], &b = r16.explanations[i];
        EXPECT_EQ(a.settings.value("precision", ""), "fp32") << what;
        EXPECT_EQ(b.settings.value("precision", ""), "bf16") << what;
        const auto va = segmentValues(a), vb = segmentValues(b);
        ASSERT_EQ(va.size(), vb.size()) << what << " " << a.method;
        ASSERT_GE(va.size(), 5u) << what;
        const double rho = rankCorrelation(va, vb);
        EXPECT_GE(rho, 0.99) << what << " " << a.method;
        EXPECT_EQ(topK(va, 5), topK(vb, 5)) << what << " " << a.method << " (Spearman " << rho << ")";
        const auto &ca = r32.faithfulness.curves[i], &cb = r16.faithfulness.curves[i];
        EXPECT_NEAR(ca.deletion.auc, cb.deletion.auc, 0.01) << what << " " << a.method;
        EXPECT_NEAR(ca.insertion.auc, cb.insertion.auc, 0.01) << what << " " << a.method;
        std::printf("%s %s: Spearman %.4f, deletion AUC %.4f / %.4f, insertion AUC %.4f / %.4f (fp32 / bf16)\n",
                    what.c_str(), a.method.c_str(), rho, ca.deletion.auc, cb.deletion.auc, ca.insertion.auc,
                    cb.insertion.auc);
    }
}

}  // namespace

TEST(Precision, NamesAndErrors) {
    EXPECT_EQ(precisionFromString("fp32"), Precision::Fp32);
    EXPECT_EQ(precisionFromString("bf16"), Precision::Bf16);
    EXPECT_EQ(precisionFromString("auto"), Precision::Auto);
    EXPECT_EQ(toString(Precision::Bf16), "bf16");
    const std::string e = errorOf([] { precisionFromString("fp16"); });
    EXPECT_NE(e.find("'fp16'"), std::string::npos) << e;
    EXPECT_NE(e.find("fp32, bf16 or auto"), std::string::npos) << e;
}

// The bfloat16 copy is built from the live weights without touching them: the
// float32 logits are bit-identical before and after, and bf16 logits are close.
TEST(Precision, Bf16CopyLeavesTheFloat32ModelUntouched) {
    for (const std::string spec : {fx("family-resnet18.pth").string(), fx("residual-cnn.json").string()}) {
        MIRADA_REQUIRE_FIXTURE(spec);
        auto model = loadCpu(spec);
        const auto& in = model->info().input;
        const torch::Tensor x =
            torch::randn({3, in.channels, in.height, in.width}, torch::Generator(at::detail::createCPUGenerator(3)));
        const torch::Tensor before = model->forward(x).clone();
        std::string why;
        ASSERT_EQ(model->setEvaluationPrecision(Precision::Bf16, &why), Precision::Bf16) << spec << ": " << why;
        EXPECT_EQ(model->evaluationPrecision(), Precision::Bf16);
        EXPECT_NE(model->evaluationPath().find("bfloat16"), std::string::npos) << model->evaluationPath();
        const torch::Tensor bf = model->forward(x);
        EXPECT_EQ(bf.scalar_type(), torch::kFloat);
        const double rel = (bf - before).abs().max().item<double>() / before.abs().max().item<double>();
        EXPECT_LT(rel, 0.05) << spec;  // bfloat16 keeps 8 bits of mantissa
        EXPECT_GT(rel, 0.0) << spec;   // and really ran in bf16
        model->setEvaluationPrecision(Precision::Fp32, nullptr);
        EXPECT_TRUE(torch::equal(model->forward(x), before)) << spec << ": the float32 weights changed";
    }
}

TEST(Precision, Bf16WithinToleranceOnFashionCnn) {
    auto model = loadCpu("fashion-cnn");
    expectBf16WithinTolerance(*model, loadImage(samplePath("fashion-sneaker.png")).rgb, 0, 0, "fashion-cnn");
}

TEST(Precision, Bf16WithinToleranceOnResidualCnn) {
    MIRADA_REQUIRE_FIXTURE(fx("residual-cnn.json"));
    auto model = loadCpu(fx("residual-cnn.json").string());
    expectBf16WithinTolerance(*model, loadImage(fx("residual-cnn.image.png").string()).rgb, 0, 0, "residual-cnn");
}

// A random-weight ResNet50 on a photo gives maps that are noise (the baseline
// guard fires: removing parts barely changes p = 0.02), and bf16's rounding
// reorders them (LIME / KernelSHAP at default settings: Spearman 0.983 /
// 0.987, KernelSHAP's top 5 differ; README). auto must see that on its check
// batch and stay in fp32, saying so.
TEST(Precision, AutoKeepsFp32ForRandomResNet50) {
    MIRADA_REQUIRE_FIXTURE(fx("resnet50-zip.pth"));
    const EnvScope native("MIRADA_CPU_BF16", "1");
    auto model = loadCpu(fx("resnet50-zip.pth").string());
    const cv::Mat image = loadImage(samplePath("photo-cat.jpg")).rgb;
    const int target = resolveTarget(*model, image, "top1");
    const PrecisionCheck check = checkBf16(*model, image, target, {}, 0);
    EXPECT_FALSE(check.within) << check.summary();
    EXPECT_LT(check.spearman, kBf16MinSpearman) << check.summary();
    std::string note;
    EXPECT_EQ(resolveRunPrecision(*model, image, target, {}, 0, Precision::Auto, &note), Precision::Fp32);
    EXPECT_NE(note.find("auto chose fp32"), std::string::npos) << note;
    EXPECT_NE(note.find("rank correlation"), std::string::npos) << note;
    EXPECT_EQ(model->evaluationPrecision(), Precision::Fp32);
}

// auto: fp32 on a CPU without native bfloat16, saying why; with it, the check
// batch decides and the note reports the check's figures.
TEST(Precision, AutoFollowsTheCpuAndTheCheckBatch) {
    auto model = loadCpu("fashion-cnn");
    const cv::Mat image = loadImage(samplePath("fashion-sneaker.png")).rgb;
    {
        const EnvScope none("MIRADA_CPU_BF16", "0");
        std::string note;
        EXPECT_EQ(resolveRunPrecision(*model, image, 7, {}, 1, Precision::Auto, &note), Precision::Fp32);
        EXPECT_NE(note.find("no native bfloat16"), std::string::npos) << note;
        EXPECT_EQ(model->evaluationPrecision(), Precision::Fp32);
        EXPECT_EQ(resolveRunPrecision(*model, image, 7, {}, 1, Precision::Bf16, &note), Precision::Fp32);
        EXPECT_NE(note.find("bf16 was asked"), std::string::npos) << note;
    }
    const EnvScope native("MIRADA_CPU_BF16", "1");
    const PrecisionCheck check = checkBf16(*model, image, 7, {}, 1);
    EXPECT_EQ(check.images, 26);
    EXPECT_GT(check.spread, 0.0);
    EXPECT_TRUE(check.within) << check.summary();  // its bf16 maps are within tolerance (test above)
    std::string note;
    const Precision p = resolveRunPrecision(*model, image, 7, {}, 1, Precision::Auto, &note);
    EXPECT_EQ(p, check.within ? Precision::Bf16 : Precision::Fp32) << note;
    EXPECT_EQ(model->evaluationPrecision(), p);
    EXPECT_NE(note.find("check batch"), std::string::npos) << note;
    EXPECT_NE(note.find(check.within ? "chose bf16" : "chose fp32"), std::string::npos) << note;
    model->setEvaluationPrecision(Precision::Fp32, nullptr);
    // fp32 asked: nothing to check, nothing to say.
    EXPECT_EQ(resolveRunPrecision(*model, image, 7, {}, 1, Precision::Fp32, &note), Precision::Fp32);
    EXPECT_TRUE(note.empty()) << note;
}

TEST(MeasureCache, StoresReadsAndIgnoresDamage) {
    TempDir dir;
    const EnvScope cache("MIRADA_CACHE_DIR", dir.path().string());
    EXPECT_EQ(measurementCacheDir(), dir.path());
    const std::string key = measurementKey("batch-size", "abc|cpu");
    EXPECT_NE(key.find("threads="), std::string::npos) << key;
    EXPECT_NE(key.find("cpu="), std::string::npos) << key;
    EXPECT_FALSE(cachedMeasurement(key).has_value());
    ASSERT_TRUE(storeMeasurement(key, 8));
    ASSERT_TRUE(cachedMeasurement(key).has_value());
    EXPECT_EQ(cachedMeasurement(key)->get<int>(), 8);
    const fs::path file = dir.path() / "measurements.json";
    for (const std::string damage : {"{{{ not json", "[]", "{\"version\": 99, \"entries\": {}}",
                                     "{\"version\": 1, \"entries\": [1, 2]}", "{\"version\": \"1\"}", ""}) {
        writeText(file, damage);
        EXPECT_FALSE(cachedMeasurement(key).has_value()) << damage;
        ASSERT_TRUE(storeMeasurement(key, 16)) << damage;  // overwritten with a good file
        ASSERT_TRUE(cachedMeasurement(key).has_value()) << damage;
        EXPECT_EQ(cachedMeasurement(key)->get<int>(), 16);
        EXPECT_NO_THROW((void)nlohmann::json::parse(slurp(file))) << damage;
    }
    // An unwritable cache folder costs a measurement, nothing else.
    const EnvScope bad("MIRADA_CACHE_DIR", (dir.path() / "file-not-folder" / "x").string());
    writeText(dir.path() / "file-not-folder", "a file");
    EXPECT_FALSE(storeMeasurement(key, 4));
    EXPECT_FALSE(cachedMeasurement(key).has_value());
}

// A second CLI run takes the batch size from the cache folder: changing the
// cached value (to one the measurement never picks) changes the batch size
// the report records; a damaged cache file is ignored.
TEST(MeasureCache, SecondRunReadsTheBatchSizeFromTheCacheFolder) {
    TempDir dir;
    const fs::path cache = dir.path() / "cache";
    const std::string base = "MIRADA_CACHE_DIR=" + cache.string() + " " + std::string(MIRADA_CLI) +
                             " explain --model fashion-cnn --image " + samplePath("fashion-bag.png") +
                             " --methods gradcam --quiet --out ";
    std::string out;
    ASSERT_EQ(runCommand(base + (dir.path() / "a").string(), &out), 0) << out;
    const fs::path file = cache / "measurements.json";
    ASSERT_TRUE(fs::exists(file)) << out;
    nlohmann::json doc = nlohmann::json::parse(slurp(file));
    int changed = 0;
    for (auto& [k, v] : doc["entries"].items())
        if (k.rfind("batch-size|", 0) == 0) v["value"] = 3, ++changed;
    ASSERT_EQ(changed, 1) << doc.dump(1);
    writeText(file, doc.dump());
    ASSERT_EQ(runCommand(base + (dir.path() / "b").string(), &out), 0) << out;
    const auto report = nlohmann::json::parse(slurp(dir.path() / "b" / "fashion-bag.report.json"));
    EXPECT_EQ(report.value("batch_size", 0), 3) << report.dump(1).substr(0, 400);
    EXPECT_EQ(report["precision"].value("used", ""), "fp32");
    writeText(file, "\x01\x02 garbage");
    ASSERT_EQ(runCommand(base + (dir.path() / "c").string(), &out), 0) << out;
    const auto again = nlohmann::json::parse(slurp(dir.path() / "c" / "fashion-bag.report.json"));
    EXPECT_GE(again.value("batch_size", 0), 4);  // measured again: 4, 8, 16 or 32
    EXPECT_NO_THROW((void)nlohmann::json::parse(slurp(file)));
}

// `mirada-cli` is a launcher (src/launcher/launcher.cpp) that gives libgomp a
// spin count of 1000 before the real program starts, unless the user set
// one; libgomp prints what it read with OMP_DISPLAY_ENV=VERBOSE.
TEST(OpenMpWait, TheLauncherSetsTheSpinCountUnlessTheUserDid) {
    auto spinCount = [](const std::string& env) {
        std::string out;
        const int rc = runCommand("env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT " + env + " OMP_DISPLAY_ENV=VERBOSE " +
                                      std::string(MIRADA_CLI) + " --version",
                                  &out);
        EXPECT_EQ(rc, 0) << out;
        EXPECT_NE(out.find("mirada-cli "), std::string::npos) << out;  // the real program ran
        const auto at = out.find("GOMP_SPINCOUNT = '");
        return at == std::string::npos ? std::string("(not shown)\n" + out)
                                       : out.substr(at + 18, out.find('\'', at + 18) - at - 18);
    };
    EXPECT_EQ(spinCount(""), "1000");
    EXPECT_EQ(spinCount("GOMP_SPINCOUNT=5000"), "5000");
    EXPECT_EQ(spinCount("OMP_WAIT_POLICY=PASSIVE"), "0");
}

// A launcher without its program says what is wrong, with exit code 127.
TEST(OpenMpWait, LauncherWithoutItsProgramSaysSo) {
    TempDir dir;
    fs::copy_file(MIRADA_CLI, dir.path() / "mirada-cli");
    std::string out;
    EXPECT_EQ(runCommand((dir.path() / "mirada-cli").string() + " --version", &out), 127) << out;
    EXPECT_NE(out.find("cannot start"), std::string::npos) << out;
    EXPECT_NE(out.find("mirada-cli.bin"), std::string::npos) << out;
}
