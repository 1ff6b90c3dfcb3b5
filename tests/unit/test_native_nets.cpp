// Native VGG16 / ResNet50: structure, torchvision names, weight loading from
// .pth files (zip and legacy) and TorchScript exports, logits against
// torchvision's, tapping and its errors.
// Reference files come from tests/fixtures/gen_torchvision_models.py.
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "models/native_nets.hpp"
#include "models/state_dict_reader.hpp"

namespace fs = std::filesystem;
using namespace mirada;

namespace {

fs::path fixtureDir() {
    if (const char* d = std::getenv("MIRADA_FIXTURE_DIR"); d && *d) return d;
    return MIRADA_FIXTURE_DIR;
}

bool haveFixtures(const std::string& arch) {
    const auto d = fixtureDir();
    for (const auto& f : {arch + "-zip.pth", arch + "-legacy.pth", arch + "-ts.pt", arch + "-keys.txt",
                          arch + "-modules.txt", arch + "-logits.f32", std::string("input-2x3x224x224.f32")})
        if (!fs::exists(d / f)) return false;
    return true;
}

#define REQUIRE_FIXTURES(arch)                                                                             \
    ASSERT_TRUE(haveFixtures(arch)) << "fixture files for " << (arch) << " are absent in " << fixtureDir() \
                                    << " (made by tests/fixtures/gen_torchvision_models.py)"

torch::Tensor readF32(const fs::path& file, std::vector<int64_t> shape) {
    int64_t n = 1;
    for (auto s : shape) n *= s;
    auto t = torch::empty(shape, torch::kFloat);
    std::ifstream in(file, std::ios::binary);
    in.read(reinterpret_cast<char*>(t.data_ptr<float>()), n * static_cast<std::streamsize>(sizeof(float)));
    if (!in || in.gcount() != n * static_cast<std::streamsize>(sizeof(float)))
        throw std::runtime_error("short read: " + file.string());
    return t;
}

torch::Tensor fixtureInput() { return readF32(fixtureDir() / "input-2x3x224x224.f32", {2, 3, 224, 224}); }
torch::Tensor fixtureLogits(const std::string& arch) {
    return readF32(fixtureDir() / (arch + "-logits.f32"), {2, 1000});
}

std::vector<int64_t> parseShape(const std::string& s) {
    std::vector<int64_t> out;
    std::stringstream ss(s);
    std::string part;
    while (std::getline(ss, part, 'x'))
        if (!part.empty()) out.push_back(std::stoll(part));
    return out;
}

// Lines "<a> <b> <c>" where <c> may be empty (scalar shape).
std::vector<std::vector<std::string>> readTable(const fs::path& file) {
    std::vector<std::vector<std::string>> rows;
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        std::vector<std::string> cols;
        size_t start = 0;
        for (int i = 0; i < 2; ++i) {
            const size_t sp = line.find(' ', start);
            cols.push_back(line.substr(start, sp == std::string::npos ? std::string::npos : sp - start));
            start = sp == std::string::npos ? line.size() : sp + 1;
        }
        cols.push_back(line.substr(start));
        rows.push_back(cols);
    }
    return rows;
}

std::string dtypeName(torch::Dtype d) {
    switch (d) {
        case torch::kFloat: return "float32";
        case torch::kLong: return "int64";
        default: return "other";
    }
}

ModelInfo infoFor(const std::string& arch) {
    ModelInfo info;
    info.name = "test-" + arch;
    info.architecture = arch;
    info.labels = {"a", "b"};
    info.default_target_layer = arch == "vgg16" ? kVgg16DefaultLayer : kResnet50DefaultLayer;
    return info;
}

std::unique_ptr<Model> makeFromStateDict(const std::string& arch, const StateDict& sd) {
    return arch == "vgg16" ? makeNativeVgg16(sd, infoFor(arch)) : makeNativeResnet50(sd, infoFor(arch));
}

// max|a-b| and the allowed 1e-4 * max(1, max|ref|).
void expectLogitsClose(const torch::Tensor& got, const torch::Tensor& ref, const std::string& what) {
    ASSERT_EQ(got.sizes(), ref.sizes()) << what;
    const double diff = (got.cpu() - ref).abs().max().item<double>();
    const double tol = 1e-4 * std::max(1.0, ref.abs().max().item<double>());
    std::printf("[ %s ] max|logit diff| = %.3g (tolerance %.3g, max|ref| = %.4g)\n", what.c_str(), diff, tol,
                ref.abs().max().item<double>());
    EXPECT_LE(diff, tol) << what;
    // The same top-1 class for every image.
    EXPECT_TRUE(torch::equal(got.cpu().argmax(1), ref.argmax(1))) << what;
}

StateDict stateDictFromTorchScript(const fs::path& file) {
    auto m = torch::jit::load(file.string(), torch::kCPU);
    StateDict sd;
    for (const auto& p : m.named_parameters(true)) sd.push_back({p.name, p.value.detach().clone()});
    for (const auto& b : m.named_buffers(true)) sd.push_back({b.name, b.value.detach().clone()});
    return sd;
}

StateDict zeroStateDict(const std::string& arch) {
    StateDict sd;
    for (const auto& s : nativeStateDictLayout(arch)) sd.push_back({s.name, torch::zeros(s.shape, s.dtype)});
    return sd;
}

std::string errorOf(const std::function<void()>& f) {
    try {
        f();
    } catch (const mirada::Error& e) {
        return e.what();
    }
    return "";
}

const char* const kArchs[] = {"vgg16", "resnet50"};

}  // namespace

// ---------------------------------------------------------------------------
// Structure (no fixtures needed).

TEST(NativeNets, ParameterCountsMatchTorchvision) {
    auto vgg = makeNativeVgg16Random(infoFor("vgg16"), 1);
    EXPECT_EQ(vgg->parameterCount(), 138357544);
    EXPECT_EQ(vgg->parameterCount(), kVgg16ParameterCount);
    EXPECT_EQ(vgg->info().name, "test-vgg16");  // info kept as given
    EXPECT_EQ(vgg->info().labels.size(), 2u);
    auto res = makeNativeResnet50Random(infoFor("resnet50"), 1);
    EXPECT_EQ(res->parameterCount(), 25557032);
    EXPECT_EQ(res->parameterCount(), kResnet50ParameterCount);
    EXPECT_EQ(res->device(), torch::Device(torch::kCPU));
    EXPECT_EQ(std::string(kVgg16DefaultLayer), "features.29");
    EXPECT_EQ(std::string(kResnet50DefaultLayer), "layer4");
}

TEST(NativeNets, RandomInitIsSeededAndLeavesGlobalRngAlone) {
    torch::manual_seed(42);
    const auto before = torch::rand({4});
    torch::manual_seed(42);
    auto a = makeNativeResnet50Random(infoFor("resnet50"), 7);
    const auto after = torch::rand({4});
    EXPECT_TRUE(torch::equal(before, after)) << "the global generator was disturbed";
    auto b = makeNativeResnet50Random(infoFor("resnet50"), 7);
    auto c = makeNativeResnet50Random(infoFor("resnet50"), 8);
    auto x = torch::randn({1, 3, 64, 64});
    const auto ya = a->forward(x), yb = b->forward(x), yc = c->forward(x);
    EXPECT_TRUE(torch::equal(ya, yb));
    EXPECT_FALSE(torch::equal(ya, yc));
    EXPECT_EQ(ya.sizes(), (std::vector<int64_t>{1, 1000}));
    EXPECT_TRUE(torch::isfinite(ya).all().item<bool>());
}

TEST(NativeNets, ResnetLayersListEveryModuleWithShapes) {
    auto res = makeNativeResnet50Random(infoFor("resnet50"), 3);
    const auto layers = res->layers();
    ASSERT_EQ(layers.size(), 150u);
    EXPECT_EQ(layers.front().path, "conv1");
    EXPECT_EQ(layers.front().kind, "Conv2d");
    EXPECT_EQ(layers.front().output_shape, (std::vector<int64_t>{1, 64, 112, 112}));
    auto find = [&](const std::string& p) {
        auto it = std::find_if(layers.begin(), layers.end(), [&](const LayerInfo& l) { return l.path == p; });
        EXPECT_NE(it, layers.end()) << p;
        return it == layers.end() ? LayerInfo{} : *it;
    };
    EXPECT_EQ(find("layer4").kind, "Sequential");
    EXPECT_EQ(find("layer4").output_shape, (std::vector<int64_t>{1, 2048, 7, 7}));
    EXPECT_EQ(find("layer4.2").kind, "Bottleneck");
    EXPECT_EQ(find("layer3.0.downsample.1").kind, "BatchNorm2d");
    EXPECT_EQ(find("fc").output_shape, (std::vector<int64_t>{1, 1000}));
    EXPECT_EQ(layers.back().path, "fc");
}

// ---------------------------------------------------------------------------
// Against torchvision (fixtures).

TEST(NativeNets, StateDictNamesAndShapesEqualTorchvision) {
    for (const std::string arch : kArchs) {
        ASSERT_TRUE(fs::exists(fixtureDir() / (arch + "-keys.txt"))) << "no " << arch << "-keys.txt fixture";
        const auto rows = readTable(fixtureDir() / (arch + "-keys.txt"));
        const auto layout = nativeStateDictLayout(arch);
        ASSERT_EQ(layout.size(), rows.size()) << arch;
        for (size_t i = 0; i < rows.size(); ++i) {
            EXPECT_EQ(layout[i].name, rows[i][0]) << arch << " #" << i;
            EXPECT_EQ(dtypeName(layout[i].dtype), rows[i][1]) << arch << ' ' << rows[i][0];
            EXPECT_EQ(layout[i].shape, parseShape(rows[i][2])) << arch << ' ' << rows[i][0];
        }
    }
}

TEST(NativeNets, LayersEqualTorchvisionNamedModules) {
    for (const std::string arch : kArchs) {
        ASSERT_TRUE(fs::exists(fixtureDir() / (arch + "-modules.txt"))) << "no " << arch << "-modules.txt fixture";
        const auto rows = readTable(fixtureDir() / (arch + "-modules.txt"));
        auto model =
            arch == "vgg16" ? makeNativeVgg16Random(infoFor(arch), 1) : makeNativeResnet50Random(infoFor(arch), 1);
        const auto layers = model->layers();
        ASSERT_EQ(layers.size(), rows.size()) << arch;
        for (size_t i = 0; i < rows.size(); ++i) {
            EXPECT_EQ(layers[i].path, rows[i][0]) << arch << " #" << i;
            EXPECT_EQ(layers[i].kind, rows[i][1]) << arch << ' ' << rows[i][0];
            EXPECT_EQ(layers[i].output_shape, parseShape(rows[i][2])) << arch << ' ' << rows[i][0];
        }
    }
}

class NativeNetsLogits : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(NativeNetsLogits, MatchTorchvision) {
    const auto& [arch, format] = GetParam();
    REQUIRE_FIXTURES(arch);
    const auto t0 = std::chrono::steady_clock::now();
    StateDict sd;
    if (format == "ts") {
        sd = stateDictFromTorchScript(fixtureDir() / (arch + "-ts.pt"));
    } else {
        const auto file = fixtureDir() / (arch + "-" + format + ".pth");
        EXPECT_EQ(sniffWeightFileFormat(file),
                  format == "zip" ? WeightFileFormat::PickleZip : WeightFileFormat::PickleLegacy);
        sd = readStateDict(file);
    }
    const auto t1 = std::chrono::steady_clock::now();
    auto model = makeFromStateDict(arch, sd);
    sd.clear();
    const auto t2 = std::chrono::steady_clock::now();
    const auto logits = model->forward(fixtureInput());
    const auto t3 = std::chrono::steady_clock::now();
    auto secs = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
    std::printf("[ %s-%s ] read %.2f s, build+load %.2f s, forward(2) %.2f s\n", arch.c_str(), format.c_str(),
                secs(t0, t1), secs(t1, t2), secs(t2, t3));
    expectLogitsClose(logits, fixtureLogits(arch), arch + "-" + format);
}

INSTANTIATE_TEST_SUITE_P(NativeNets, NativeNetsLogits,
                         ::testing::Combine(::testing::Values("vgg16", "resnet50"),
                                            ::testing::Values("zip", "legacy", "ts")),
                         [](const auto& info) { return std::get<0>(info.param) + "_" + std::get<1>(info.param); });

// ---------------------------------------------------------------------------
// Tapping.

TEST(NativeNets, ResnetTapLayer4IsDifferentiableAndMatchesForward) {
    std::unique_ptr<Model> model;
    torch::Tensor x;
    if (haveFixtures("resnet50")) {
        model = makeNativeResnet50(readStateDict(fixtureDir() / "resnet50-zip.pth"), infoFor("resnet50"));
        x = fixtureInput();
    } else {
        model = makeNativeResnet50Random(infoFor("resnet50"), 5);
        x = torch::randn({2, 3, 224, 224});
    }
    const auto plain = model->forward(x);
    auto tap = model->forwardWithTap(x, "layer4");
    ASSERT_TRUE(tap.activation.defined());
    EXPECT_EQ(tap.activation.sizes(), (std::vector<int64_t>{2, 2048, 7, 7}));
    EXPECT_TRUE(tap.activation.requires_grad());
    EXPECT_TRUE(tap.output.requires_grad());
    EXPECT_EQ(tap.output.sizes(), (std::vector<int64_t>{2, 1000}));
    const double diff = (tap.output.detach() - plain).abs().max().item<double>();
    std::printf("[ tap ] max|forwardWithTap - forward| = %.3g\n", diff);
    EXPECT_LE(diff, 1e-5 * std::max(1.0, plain.abs().max().item<double>()));
    EXPECT_GE(tap.activation.min().item<float>(), 0.0f);  // after the block's final ReLU

    const int64_t cls = plain[0].argmax().item<int64_t>();
    auto grads = torch::autograd::grad({tap.output[0][cls]}, {tap.activation});
    ASSERT_EQ(grads.size(), 1u);
    EXPECT_EQ(grads[0].sizes(), tap.activation.sizes());
    EXPECT_GT(grads[0][0].abs().sum().item<double>(), 0.0);
    EXPECT_EQ(grads[0][1].abs().sum().item<double>(), 0.0);  // image 1 does not affect image 0's logit

    // Semantics of the taps inside a block: layer4 = relu(layer4.2.bn3 + layer4.1), bn3 before the add.
    torch::NoGradGuard no_grad;
    const auto x1 = x.slice(0, 0, 1);
    const auto l4 = tap.activation.detach().slice(0, 0, 1);
    const auto bn3 = model->forwardWithTap(x1, "layer4.2.bn3").activation;
    const auto prev = model->forwardWithTap(x1, "layer4.1").activation;
    const auto relu = model->forwardWithTap(x1, "layer4.2.relu").activation;
    EXPECT_LT(bn3.min().item<float>(), 0.0f);
    EXPECT_TRUE(torch::allclose(torch::relu(bn3 + prev), l4, 1e-4, 1e-4));
    EXPECT_TRUE(torch::allclose(relu, l4, 1e-4, 1e-4));  // the shared ReLU's last call = block output
    EXPECT_EQ(model->forwardWithTap(torch::randn({1, 3, 64, 64}), "layer3.0.downsample").activation.sizes(),
              (std::vector<int64_t>{1, 1024, 4, 4}));
}

TEST(NativeNets, TapWorksFromInsideInferenceModeWithAnInferenceTensor) {
    auto model = makeNativeResnet50Random(infoFor("resnet50"), 9);
    TapResult r;
    {
        torch::InferenceMode guard;
        auto x = torch::randn({1, 3, 64, 64});
        ASSERT_TRUE(x.is_inference());
        r = model->forwardWithTap(x, "conv1");
    }
    EXPECT_TRUE(r.activation.requires_grad());
    auto g = torch::autograd::grad({r.output[0][0]}, {r.activation});
    EXPECT_GT(g[0].abs().sum().item<double>(), 0.0);
}

TEST(NativeNets, VggTapDefaultLayer) {
    auto model = makeNativeVgg16Random(infoFor("vgg16"), 2);
    const auto x = torch::randn({1, 3, 224, 224});
    auto r = model->forwardWithTap(x, kVgg16DefaultLayer);
    EXPECT_EQ(r.activation.sizes(), (std::vector<int64_t>{1, 512, 14, 14}));
    EXPECT_TRUE(r.activation.requires_grad());
    auto g = torch::autograd::grad({r.output[0][3]}, {r.activation});
    EXPECT_GT(g[0].abs().sum().item<double>(), 0.0);
    EXPECT_EQ(model->forwardWithTap(x, "features").activation.sizes(), (std::vector<int64_t>{1, 512, 7, 7}));
    EXPECT_EQ(model->forwardWithTap(x, "classifier.3").activation.sizes(), (std::vector<int64_t>{1, 4096}));
}

TEST(NativeNets, UnknownLayerErrorListsValidLayers) {
    auto res = makeNativeResnet50Random(infoFor("resnet50"), 1);
    const auto x = torch::randn({1, 3, 64, 64});
    const std::string m = errorOf([&] { res->forwardWithTap(x, "layer5"); });
    std::printf("[ message ] %s\n", m.c_str());
    for (const char* s : {"layer5", "conv1", "layer4", "layer4.2", "fc", "mirada-cli layers"})
        EXPECT_NE(m.find(s), std::string::npos) << s << " not in: " << m;
    EXPECT_NE(errorOf([&] { res->forwardWithTap(x, "model.layer4"); }).find("Did you mean 'layer4'"),
              std::string::npos);

    auto vgg = makeNativeVgg16Random(infoFor("vgg16"), 1);
    const std::string v = errorOf([&] { vgg->forwardWithTap(x, "features[29]"); });
    for (const char* s : {"Did you mean 'features.29'", "features.0", "features.30", "classifier.6", "avgpool"})
        EXPECT_NE(v.find(s), std::string::npos) << s << " not in: " << v;
}

TEST(NativeNets, BadInputShapeIsAnError) {
    auto res = makeNativeResnet50Random(infoFor("resnet50"), 1);
    EXPECT_NE(errorOf([&] { res->forward(torch::zeros({3, 224, 224})); }).find("[N, 3, H, W]"), std::string::npos);
    EXPECT_NE(errorOf([&] { res->forward(torch::zeros({1, 1, 224, 224})); }).find("[N, 3, H, W]"), std::string::npos);
}

// ---------------------------------------------------------------------------
// Weight mismatches.

TEST(NativeNets, VggWeightsIntoResnetIsAnErrorThatSaysSo) {
    const auto vggSd = zeroStateDict("vgg16");
    const std::string m = errorOf([&] { makeNativeResnet50(vggSd, infoFor("resnet50")); });
    std::printf("[ message ] %s\n", m.c_str());
    ASSERT_FALSE(m.empty()) << "no mirada::Error thrown";
    for (const char* s :
         {"resnet50", "looks like torchvision vgg16", "missing", "conv1.weight (expected [64, 3, 7, 7])", "unexpected",
          "features.0.weight [64, 3, 3, 3]", "Load it as the 'vgg16'"})
        EXPECT_NE(m.find(s), std::string::npos) << s << " not in: " << m;

    // and the other way round
    const std::string r = errorOf([&] { makeNativeVgg16(zeroStateDict("resnet50"), infoFor("vgg16")); });
    EXPECT_NE(r.find("looks like torchvision resnet50"), std::string::npos) << r;
    EXPECT_NE(r.find("Load it as the 'resnet50'"), std::string::npos) << r;
}

TEST(NativeNets, ResnetMismatchMessages) {
    // Fine-tuned head: 10 classes.
    auto sd = zeroStateDict("resnet50");
    for (auto& t : sd) {
        if (t.name == "fc.weight") t.tensor = torch::zeros({10, 2048});
        if (t.name == "fc.bias") t.tensor = torch::zeros({10});
    }
    std::string m = errorOf([&] { makeNativeResnet50(sd, infoFor("resnet50")); });
    std::printf("[ message ] %s\n", m.c_str());
    for (const char* s : {"10 output classes", "with the wrong shape",
                          "fc.weight (expected [1000, 2048], file has [10, 2048])", "builds it with its 10 classes"})
        EXPECT_NE(m.find(s), std::string::npos) << s << " not in: " << m;

    // DataParallel prefix.
    sd = zeroStateDict("resnet50");
    for (auto& t : sd) t.name = "module." + t.name;
    m = errorOf([&] { makeNativeResnet50(sd, infoFor("resnet50")); });
    EXPECT_NE(m.find("'module.'"), std::string::npos) << m;
    EXPECT_NE(m.find("first 5"), std::string::npos) << m;

    // Old files without num_batches_tracked load (PyTorch accepts them too).
    sd = zeroStateDict("resnet50");
    sd.erase(
        std::remove_if(sd.begin(), sd.end(),
                       [](const NamedTensor& t) { return t.name.find("num_batches_tracked") != std::string::npos; }),
        sd.end());
    EXPECT_NO_THROW(makeNativeResnet50(sd, infoFor("resnet50")));

    // One tensor missing.
    sd = zeroStateDict("resnet50");
    sd.erase(
        std::remove_if(sd.begin(), sd.end(), [](const NamedTensor& t) { return t.name == "layer2.1.bn2.running_var"; }),
        sd.end());
    m = errorOf([&] { makeNativeResnet50(sd, infoFor("resnet50")); });
    EXPECT_NE(m.find("1 missing: layer2.1.bn2.running_var (expected [128])"), std::string::npos) << m;
}
