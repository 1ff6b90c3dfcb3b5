// The optimized evaluation path (models/fast_eval.hpp): forward() on the
// frozen, BN-folded, oneDNN TorchScript form gives the plain module's logits
// within 1e-4 (relative) for VGG16, ResNet50 and a TorchScript model with a
// skip connection; it is really the path in use; in-place weight changes reach
// it; the tap path (autograd) keeps working; the automatic batch size; and the
// CLI's side-by-side comparison with plain PyTorch.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>

#include "models/batch_size.hpp"
#include "models/fast_eval.hpp"
#include "models/model_zoo.hpp"
#include "models/native_nets.hpp"
#include "models/state_dict_reader.hpp"
#include "test_helpers.hpp"

namespace fs = std::filesystem;
using namespace mirada;
using namespace mirada::test;

namespace {

fs::path fx(const std::string& name) { return fixtureDir() / name; }

torch::Tensor readF32(const fs::path& file, std::vector<int64_t> shape) {
    auto v = readFloats(file);
    int64_t n = 1;
    for (auto s : shape) n *= s;
    if (static_cast<int64_t>(v.size()) < n) throw std::runtime_error("short fixture: " + file.string());
    return torch::from_blob(v.data(), {n}).clone().view(shape);
}

// max|a - b| / max|b|: the relative difference the issue asks to stay below 1e-4.
double relDiff(const torch::Tensor& a, const torch::Tensor& b) {
    return (a.cpu() - b.cpu()).abs().max().item<double>() / std::max(1e-30, b.cpu().abs().max().item<double>());
}

std::unique_ptr<Model> loadCpu(const fs::path& file) {
    ModelLoadOptions opt;
    opt.device = DeviceChoice::Cpu;
    auto loaded = loadModel(file.string(), opt);
    EXPECT_TRUE(loaded.notices.empty()) << loaded.notices.front();
    return std::move(loaded.model);
}

bool startsWith(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }

// Sets MIRADA_EVAL_FORM for the scope: a small TorchScript model otherwise
// gets the form timed fastest, which varies from run to run.
class EvalFormScope {
public:
    explicit EvalFormScope(const char* form) { setenv("MIRADA_EVAL_FORM", form, 1); }
    ~EvalFormScope() { unsetenv("MIRADA_EVAL_FORM"); }
};

// Optimized vs plain logits on `input`, and the path really switched.
void expectOptimizedMatchesPlain(Model& model, const torch::Tensor& input, const std::string& what,
                                 torch::Tensor* optimizedOut = nullptr) {
    model.setOptimizedEvaluation(true);
    const auto fast = model.forward(input);
    EXPECT_TRUE(startsWith(model.evaluationPath(), "optimized TorchScript (frozen"))
        << what << ": " << model.evaluationPath();
    model.setOptimizedEvaluation(false);
    const auto plain = model.forward(input);
    EXPECT_TRUE(startsWith(model.evaluationPath(), "plain")) << what << ": " << model.evaluationPath();
    model.setOptimizedEvaluation(true);
    ASSERT_EQ(fast.sizes(), plain.sizes()) << what;
    EXPECT_FALSE(fast.is_mkldnn()) << what;
    EXPECT_TRUE(fast.is_contiguous()) << what;
    const double d = relDiff(fast, plain);
    std::printf("[ %s ] optimized vs plain: max relative logit difference %.3g\n", what.c_str(), d);
    EXPECT_LE(d, 1e-4) << what;
    EXPECT_GT(plain.abs().max().item<double>(), 0.0) << what;
    if (optimizedOut) *optimizedOut = fast;
}

}  // namespace

TEST(FastEval, Resnet50OptimizedMatchesPlainAndTorchvision) {
    MIRADA_REQUIRE_FIXTURE(fx("resnet50-zip.pth"));
    auto model = loadCpu(fx("resnet50-zip.pth"));
    const auto input = readF32(fx("input-2x3x224x224.f32"), {2, 3, 224, 224});
    torch::Tensor fast;
    expectOptimizedMatchesPlain(*model, input, "resnet50", &fast);
    // ... and torchvision's logits for the same weights (gen_torchvision_models.py).
    const auto ref = readF32(fx("resnet50-logits.f32"), {2, 1000});
    EXPECT_LE(relDiff(fast, ref), 1e-4);
    EXPECT_TRUE(torch::equal(fast.argmax(1), ref.argmax(1)));
}

TEST(FastEval, Vgg16OptimizedMatchesPlain) {
    MIRADA_REQUIRE_FIXTURE(fx("vgg16-zip.pth"));
    auto model = loadCpu(fx("vgg16-zip.pth"));
    // One image: VGG16 runs at a few images per second on a CPU.
    const auto input = readF32(fx("input-2x3x224x224.f32"), {2, 3, 224, 224}).narrow(0, 0, 1).contiguous();
    torch::Tensor fast;
    expectOptimizedMatchesPlain(*model, input, "vgg16", &fast);
    const auto ref = readF32(fx("vgg16-logits.f32"), {2, 1000}).narrow(0, 0, 1);
    EXPECT_LE(relDiff(fast, ref), 1e-4);
}

TEST(FastEval, TorchScriptWithSkipConnectionMatchesPlainAndPython) {
    MIRADA_REQUIRE_FIXTURE(fx("residual-cnn.json"));
    EvalFormScope form("optimized");
    auto model = loadCpu(fx("residual-cnn.json"));
    const auto one = readF32(fx("residual-cnn.input.f32"), {1, 3, 32, 32});
    // A batch of distinct images, one of them the fixture input.
    auto gen = at::detail::createCPUGenerator(7);
    const auto input = torch::cat({one, torch::randn({5, 3, 32, 32}, gen)});
    torch::Tensor fast;
    expectOptimizedMatchesPlain(*model, input, "residual-cnn", &fast);
    const auto ref = readF32(fx("residual-cnn.logits.f32"), {1, 5});
    EXPECT_LE(relDiff(fast.narrow(0, 0, 1), ref), 1e-4);
    // A batch with a one-channel-looking layout (non-contiguous) gives the same logits.
    const auto strided = input.permute({0, 2, 3, 1}).contiguous().permute({0, 3, 1, 2});
    ASSERT_FALSE(strided.is_contiguous());
    EXPECT_LE(relDiff(model->forward(strided), fast), 1e-6);
}

TEST(FastEval, InPlaceWeightChangesReachTheOptimizedPath) {
    MIRADA_REQUIRE_FIXTURE(fx("residual-cnn.json"));
    EvalFormScope form("optimized");
    auto model = loadCpu(fx("residual-cnn.json"));
    const auto input = readF32(fx("residual-cnn.input.f32"), {1, 3, 32, 32});
    const auto before = model->forward(input);
    // The sanity check's way: change the tensors parameterGroups() exposes, in place.
    auto groups = model->parameterGroups();
    ASSERT_FALSE(groups.empty());
    torch::Tensor w = groups.front().parameters.front().tensor;  // the head (output layer first)
    const auto saved = w.detach().clone();
    {
        torch::NoGradGuard ng;
        w.detach().mul_(-2.0);
    }
    const auto changed = model->forward(input);
    EXPECT_GT(relDiff(changed, before), 1e-2) << "the optimized path kept the old weights";
    expectOptimizedMatchesPlain(*model, input, "residual-cnn, changed weights");
    {
        torch::NoGradGuard ng;
        w.detach().copy_(saved);
    }
    EXPECT_LE(relDiff(model->forward(input), before), 1e-6);
}

TEST(FastEval, TapPathKeepsAutogradAfterOptimizedForwards) {
    MIRADA_REQUIRE_FIXTURE(fx("residual-cnn.json"));
    EvalFormScope form("optimized");
    auto model = loadCpu(fx("residual-cnn.json"));
    const auto input = readF32(fx("residual-cnn.input.f32"), {1, 3, 32, 32});
    torch::Tensor fast;
    {
        c10::InferenceMode guard;
        fast = model->forward(input);
        fast = model->forward(input);
    }
    ASSERT_TRUE(startsWith(model->evaluationPath(), "optimized"));
    for (int i = 0; i < 3; ++i) {  // the JIT optimises from the second call on; the gradient must survive
        auto tap = model->forwardWithTap(input, "block2");
        ASSERT_TRUE(tap.activation.requires_grad());
        EXPECT_LE(relDiff(tap.output.detach(), fast), 1e-4);
        const int target = static_cast<int>(fast[0].argmax().item<int64_t>());
        auto g = torch::autograd::grad({tap.output[0][target]}, {tap.activation})[0];
        EXPECT_GT(g.abs().sum().item<double>(), 0.0) << "call " << i;
    }
}

TEST(FastEval, GeneratedResnet50ScriptIsFrozenWithBatchNormFolded) {
    // The TorchScript form of the native ResNet50 from tensors of torchvision's
    // layout, then the passes: no batch_norm is left in the graph (folded into
    // the convolutions) and the logits stay within 1e-4 of the unoptimised script.
    auto gen = at::detail::createCPUGenerator(11);
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    for (const auto& spec : nativeStateDictLayout("resnet50")) {
        torch::Tensor t;
        if (spec.dtype != torch::kFloat)
            t = torch::zeros(spec.shape, spec.dtype);
        else if (spec.name.find("running_var") != std::string::npos)
            t = torch::rand(spec.shape, gen) + 0.5;
        else
            t = torch::randn(spec.shape, gen) * (spec.shape.size() == 4 ? 0.05 : 0.2);
        tensors.emplace_back(spec.name, t);
    }
    auto script = scriptNativeNetwork("resnet50", tensors);
    auto optimized = optimizeForInference(script);
    auto countKind = [](const torch::jit::Module& m, const std::string& kind) {
        int n = 0;
        for (const auto* node : m.get_method("forward").graph()->nodes())
            if (std::string(node->kind().toQualString()) == kind) ++n;
        return n;
    };
    {
        std::map<std::string, int> kinds;
        for (const auto* node : optimized.get_method("forward").graph()->nodes()) ++kinds[node->kind().toQualString()];
        std::printf("optimized ResNet50 graph:");
        for (const auto& [k, n] : kinds) std::printf(" %s x%d", k.c_str(), n);
        std::printf("\n");
    }
    EXPECT_EQ(countKind(script, "aten::batch_norm"), 53);
    EXPECT_EQ(countKind(optimized, "aten::batch_norm"), 0);
    EXPECT_EQ(countKind(optimized, "aten::conv2d"), 0) << "convolutions were not converted to prepacked oneDNN ops";
    EXPECT_TRUE(optimized.named_parameters().size() == 0 && optimized.named_buffers().size() == 0);
    c10::InferenceMode guard;
    const auto x = torch::randn({2, 3, 64, 64}, gen);
    const auto plain = script.forward({x}).toTensor();
    auto fast = optimized.forward({x}).toTensor();
    if (fast.is_mkldnn()) fast = fast.to_dense();
    EXPECT_LE(relDiff(fast, plain), 1e-4);
    EXPECT_THROW(scriptNativeNetwork("resnet18", {}), Error);
}

TEST(FastEval, SmallTorchScriptModelGetsAMeasuredFormWithTheSameLogits) {
    MIRADA_REQUIRE_FIXTURE(fx("residual-cnn.json"));
    auto model = loadCpu(fx("residual-cnn.json"));  // MIRADA_EVAL_FORM unset: auto
    const auto input = readF32(fx("residual-cnn.input.f32"), {1, 3, 32, 32});
    const auto fast = model->forward(input);
    const std::string path = model->evaluationPath();
    EXPECT_TRUE(startsWith(path, "optimized TorchScript (frozen") || startsWith(path, "frozen TorchScript (conv+BN") ||
                startsWith(path, "TorchScript as loaded"))
        << path;
    model->setOptimizedEvaluation(false);
    EXPECT_LE(relDiff(fast, model->forward(input)), 1e-4) << path;
    {
        EvalFormScope frozen("frozen");
        auto m2 = loadCpu(fx("residual-cnn.json"));
        EXPECT_LE(relDiff(m2->forward(input), fast), 1e-4);
        EXPECT_TRUE(startsWith(m2->evaluationPath(), "frozen TorchScript")) << m2->evaluationPath();
    }
    {
        EvalFormScope bad("fastest");
        EXPECT_NE(errorOf([&] { loadCpu(fx("residual-cnn.json")); }).find("MIRADA_EVAL_FORM='fastest'"),
                  std::string::npos);
    }
}

// The flaky sanity-check failure of issue 12: after a weight change the
// optimized module is rebuilt, and re-timing the forms under load could pick
// another form whose rounding differs (conv+BN folding), so restored weights
// gave different logits. The form is now measured once and kept.
TEST(FastEval, AutoFormIsKeptAcrossRebuildsSoRestoredWeightsGiveIdenticalLogits) {
    MIRADA_REQUIRE_FIXTURE(fx("residual-cnn.json"));
    auto model = loadCpu(fx("residual-cnn.json"));  // MIRADA_EVAL_FORM unset: auto
    const auto input = readF32(fx("residual-cnn.input.f32"), {1, 3, 32, 32});
    const auto before = model->forward(input).clone();
    const std::string path = model->evaluationPath();
    torch::Tensor w = model->parameterGroups().front().parameters.front().tensor;
    const auto saved = w.detach().clone();
    for (int round = 0; round < 3; ++round) {
        {
            torch::NoGradGuard ng;
            w.detach().mul_(-2.0);
        }
        EXPECT_FALSE(torch::equal(model->forward(input), before));
        EXPECT_EQ(model->evaluationPath(), path) << "round " << round;
        {
            torch::NoGradGuard ng;
            w.detach().copy_(saved);
        }
        EXPECT_TRUE(torch::equal(model->forward(input), before)) << "round " << round;
        EXPECT_EQ(model->evaluationPath(), path) << "round " << round;
    }
}

TEST(FastEval, BatchSizeExplicitOrMeasuredOnceAndCached) {
    MIRADA_REQUIRE_FIXTURE(fx("residual-cnn.json"));
    auto model = loadCpu(fx("residual-cnn.json"));
    EXPECT_EQ(resolveBatchSize(*model, 5), 5);
    EXPECT_FALSE(errorOf([&] { resolveBatchSize(*model, -1); }).empty());
    const int measured = resolveBatchSize(*model, 0);
    EXPECT_TRUE(measured == 4 || measured == 8 || measured == 16 || measured == 32) << measured;
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(resolveBatchSize(*model, 0), measured);
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 0.01) << "not cached";
}

TEST(FastEval, CliBenchComparesWithPlainPytorch) {
    MIRADA_REQUIRE_FIXTURE(fx("residual-cnn.json"));
    std::string out;
    const int rc =
        runCommand(std::string(MIRADA_CLI) + " bench --device cpu --compare-pytorch --model " +
                       fx("residual-cnn.json").string() + " --image " + fx("residual-cnn.image.png").string() +
                       " --method lime --samples 16 --batch-size 4 --images 8 --repeat 1",
                   &out);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("evaluation "), std::string::npos) << out;
    EXPECT_EQ(out.find("evaluation plain"), std::string::npos) << out;
    EXPECT_NE(out.find("  Mirada "), std::string::npos) << out;
    EXPECT_NE(out.find("  PyTorch "), std::string::npos) << out;
    EXPECT_NE(out.find("(Mirada / PyTorch images/s)"), std::string::npos) << out;
    EXPECT_NE(out.find("lime end to end vs the same 17 evaluations"), std::string::npos) << out;
    // Both sides ran the same network on the same input.
    const auto at = out.find("max |difference| / max |logit| = ");
    ASSERT_NE(at, std::string::npos) << out;
    const double diff = std::stod(out.substr(at + std::string("max |difference| / max |logit| = ").size()));
    EXPECT_LE(diff, 1e-4) << out;
}
