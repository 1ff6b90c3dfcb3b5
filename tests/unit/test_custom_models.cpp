// TorchScript models with descriptors: loading, layer listing, tapping,
// parity with Python, and clear errors for bad descriptors and files.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include <set>

#include "common/error.hpp"
#include "image/image_io.hpp"
#include "image/preprocess.hpp"
#include "models/descriptor.hpp"
#include "models/model_zoo.hpp"
#include "models/predict.hpp"
#include "test_helpers.hpp"

namespace fs = std::filesystem;
using namespace mirada;
using namespace mirada::test;

namespace {

fs::path fx(const std::string& name) { return fixtureDir() / name; }

std::unique_ptr<Model> loadResidual(const std::string& file = "residual-cnn.json") {
    ModelLoadOptions opt;
    opt.device = DeviceChoice::Cpu;
    return loadModel(fx(file).string(), opt).model;
}

using mirada::test::errorOf;

// Writes a descriptor next to the fixture archive and returns the error loading it gives.
std::string descriptorError(const TempDir& dir, const std::string& jsonText) {
    fs::copy_file(fx("residual-cnn.pt"), dir / "m.pt", fs::copy_options::overwrite_existing);
    writeText(dir / "m.json", jsonText);
    return errorOf([&] {
        ModelLoadOptions opt;
        opt.device = DeviceChoice::Cpu;
        loadModel((dir / "m.json").string(), opt);
    });
}

}  // namespace

TEST(CustomModel, LoadsFromDescriptorAndMatchesPythonLogits) {
    MIRADA_REQUIRE_FIXTURE(fx("residual-cnn.json"));
    auto model = loadResidual();
    EXPECT_EQ(model->info().name, "residual-cnn");
    EXPECT_EQ(model->info().labels.size(), 5u);
    EXPECT_EQ(model->info().labels[2], "gamma");
    EXPECT_EQ(model->info().default_target_layer, "block2");
    EXPECT_EQ(model->info().input.width, 32);
    EXPECT_EQ(model->info().input.resize, InputSpec::Resize::Stretch);
    EXPECT_EQ(model->info().weights_sha256.size(), 64u);

    auto input = readFloats(fx("residual-cnn.input.f32"));
    auto ref = readFloats(fx("residual-cnn.logits.f32"));
    ASSERT_EQ(input.size(), 3u * 32 * 32);
    ASSERT_EQ(ref.size(), 5u);
    auto x = torch::from_blob(input.data(), {1, 3, 32, 32}).clone();
    auto out = model->forward(x);
    ASSERT_EQ(out.sizes(), (std::vector<int64_t>{1, 5}));
    for (int i = 0; i < 5; ++i) EXPECT_NEAR(out[0][i].item<float>(), ref[i], 1e-4f * std::max(1.0f, std::abs(ref[i])));
}

TEST(CustomModel, ListsEveryCalledModuleOfAResidualNetwork) {
    MIRADA_REQUIRE_FIXTURE(fx("residual-cnn.layers.txt"));
    auto model = loadResidual();
    std::ifstream in(fx("residual-cnn.layers.txt"));
    std::set<std::string> expected;
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) expected.insert(line);
    std::set<std::string> got;
    std::map<std::string, LayerInfo> byPath;
    for (const auto& l : model->layers()) {
        got.insert(l.path);
        byPath[l.path] = l;
    }
    EXPECT_EQ(got, expected);
    EXPECT_EQ(byPath["block2"].output_shape, (std::vector<int64_t>{1, 16, 16, 16}));
    EXPECT_EQ(byPath["block1"].output_shape, (std::vector<int64_t>{1, 16, 32, 32}));
    EXPECT_EQ(byPath["pool"].output_shape, (std::vector<int64_t>{1, 16, 16, 16}));
    EXPECT_EQ(byPath["head"].output_shape, (std::vector<int64_t>{1, 5}));
    EXPECT_EQ(byPath["block1.conv"].kind, "Conv2d");
    EXPECT_EQ(byPath["block2"].kind, "Block");
}

TEST(CustomModel, TapGivesActivationWithGradientAndSameLogits) {
    MIRADA_REQUIRE_FIXTURE(fx("residual-cnn.json"));
    auto model = loadResidual();
    auto input = readFloats(fx("residual-cnn.input.f32"));
    auto x = torch::from_blob(input.data(), {1, 3, 32, 32}).clone();
    auto plain = model->forward(x);
    for (const std::string layer : {"block2", "block1.skip", "stem.0", "block2.bn"}) {
        auto tap = model->forwardWithTap(x, layer);
        ASSERT_TRUE(tap.activation.defined()) << layer;
        EXPECT_TRUE(tap.activation.requires_grad()) << layer;
        EXPECT_TRUE(torch::allclose(tap.output, plain, 1e-5, 1e-5)) << layer;
        auto grad = torch::autograd::grad({tap.output[0][1]}, {tap.activation})[0];
        EXPECT_EQ(grad.sizes(), tap.activation.sizes()) << layer;
        EXPECT_GT(grad.abs().sum().item<float>(), 0.0f) << layer;
    }
    // Repeated taps keep their gradient (the graph executor must not fuse the tap away).
    for (int i = 0; i < 4; ++i) {
        auto again = model->forwardWithTap(x, "block2");
        auto g = torch::autograd::grad({again.output[0][1]}, {again.activation}, {}, c10::nullopt, false, true)[0];
        ASSERT_TRUE(g.defined()) << "call " << i;
        EXPECT_GT(g.abs().sum().item<float>(), 0.0f) << "call " << i;
    }
    // The tapped block output is the block's final ReLU: never negative.
    auto tap = model->forwardWithTap(x, "block2");
    EXPECT_GE(tap.activation.min().item<float>(), 0.0f);
    EXPECT_EQ(tap.activation.sizes(), (std::vector<int64_t>{1, 16, 16, 16}));
}

TEST(CustomModel, UnknownLayerListsValidOnes) {
    MIRADA_REQUIRE_FIXTURE(fx("residual-cnn.json"));
    auto model = loadResidual();
    auto msg = errorOf([&] { model->forwardWithTap(torch::zeros({1, 3, 32, 32}), "block9"); });
    EXPECT_NE(msg.find("block9"), std::string::npos) << msg;
    EXPECT_NE(msg.find("block2.conv"), std::string::npos) << msg;
}

TEST(CustomModel, PredictOnImageMatchesPython) {
    MIRADA_REQUIRE_FIXTURE(fx("residual-cnn.image.png"));
    auto model = loadResidual();
    auto image = loadImage(fx("residual-cnn.image.png"));
    auto ref = readFloats(fx("residual-cnn.image.logits.f32"));
    auto top = predictTopK(*model, image.rgb, 5);
    ASSERT_EQ(top.size(), 5u);
    int best = static_cast<int>(std::max_element(ref.begin(), ref.end()) - ref.begin());
    EXPECT_EQ(top[0].index, best);
    for (const auto& s : top) EXPECT_NEAR(s.score, ref[s.index], 1e-4f);
    float sum = 0;
    for (const auto& s : top) sum += s.probability;
    EXPECT_NEAR(sum, 1.0f, 1e-5f);
}

TEST(CustomModel, DescriptorWithOnlyTorchscriptUsesDefaults) {
    MIRADA_REQUIRE_FIXTURE(fx("residual-cnn-minimal.json"));
    auto model = loadResidual("residual-cnn-minimal.json");
    const auto& info = model->info();
    EXPECT_EQ(info.name, "residual-cnn-minimal");
    EXPECT_EQ(info.input.width, 224);
    EXPECT_EQ(info.input.height, 224);
    EXPECT_EQ(info.input.channels, 3);
    EXPECT_EQ(info.input.resize, InputSpec::Resize::CenterCrop);
    EXPECT_EQ(info.input.resize_shorter, 256);
    ASSERT_EQ(info.labels.size(), 5u);
    EXPECT_EQ(info.labels[4], "class 4");
    EXPECT_EQ(info.default_target_layer, "block2");
    EXPECT_FALSE(info.outputs_probabilities);
}

TEST(CustomModel, CliPredictAndLayers) {
    MIRADA_REQUIRE_FIXTURE(fx("residual-cnn.json"));
    std::string out;
    int rc = runCommand(std::string(MIRADA_CLI) + " predict --device cpu --json --top 3 --model " +
                            fx("residual-cnn.json").string() + " --image " + fx("residual-cnn.image.png").string(),
                        &out);
    ASSERT_EQ(rc, 0) << out;
    auto j = nlohmann::json::parse(out.substr(out.find('{')));
    ASSERT_EQ(j["top"].size(), 3u);
    auto ref = readFloats(fx("residual-cnn.image.logits.f32"));
    int best = static_cast<int>(std::max_element(ref.begin(), ref.end()) - ref.begin());
    EXPECT_EQ(j["top"][0]["index"].get<int>(), best);

    rc = runCommand(std::string(MIRADA_CLI) + " layers --device cpu --model " + fx("residual-cnn.json").string(), &out);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("block1.skip"), std::string::npos) << out;
    EXPECT_NE(out.find("[1, 16, 16, 16]"), std::string::npos) << out;
}

TEST(CustomModel, BadDescriptorsGiveClearErrors) {
    MIRADA_REQUIRE_FIXTURE(fx("residual-cnn.pt"));
    TempDir dir;
    struct Case {
        std::string json;
        std::vector<std::string> mustMention;
    };
    const std::vector<Case> cases = {
        {R"({"name": "x"})", {"torchscript", "missing"}},
        {R"({"torchscript": "nope.pt"})", {"nope.pt", "does not exist"}},
        {R"({"torchscript": "m.pt", "input": {"width": "wide"}})", {"input.width", "whole number"}},
        {R"({"torchscript": "m.pt", "input": {"width": -3}})", {"input.width", "between 1"}},
        {R"({"torchscript": "m.pt", "colour": true})", {"unknown field", "colour"}},
        {R"({"torchscript": "m.pt", "mean": [0.5, 0.5]})", {"mean", "one per input channel"}},
        {R"({"torchscript": "m.pt", "std": [0.5, 0, 0.5]})", {"std", "positive"}},
        {R"({"torchscript": "m.pt", "resize": "squash"})", {"resize", "squash"}},
        {R"({"torchscript": "m.pt", "output": "softmax"})", {"output", "probabilities"}},
        {R"({"torchscript": "m.pt", "labels": ["a", "b"]})", {"5 outputs", "2 labels"}},
        {R"({"torchscript": "m.pt", "target_layer": "block7"})", {"block7", "block2"}},
        {R"({"torchscript": "m.pt", "input": {"channels": 1}})", {"m.pt", "fails on an input"}},
        {R"({"torchscript": "m.pt", )", {"not valid JSON"}},
        {R"([1, 2])", {"JSON object"}},
    };
    for (const auto& c : cases) {
        auto msg = descriptorError(dir, c.json);
        ASSERT_FALSE(msg.empty()) << "no error for " << c.json;
        for (const auto& word : c.mustMention) EXPECT_NE(msg.find(word), std::string::npos) << c.json << " -> " << msg;
    }
}

TEST(CustomModel, BadModelFilesGiveClearErrors) {
    TempDir dir;
    std::vector<char> junk(4096);
    std::mt19937 rng(3);
    for (auto& b : junk) b = static_cast<char>(rng());
    writeText(dir / "random.pt", std::string(junk.begin(), junk.end()));
    writeText(dir / "empty.pth", "");
    writeText(dir / "text.pth", "this is not a model\n");
    ModelLoadOptions opt;
    opt.device = DeviceChoice::Cpu;
    for (const std::string name : {"random.pt", "empty.pth", "text.pth", "missing.pt"}) {
        auto msg = errorOf([&] { loadModel((dir / name).string(), opt); });
        EXPECT_NE(msg.find(name), std::string::npos) << name << " -> " << msg;
    }
    auto msg = errorOf([&] { loadModel("inception_v3", opt); });
    EXPECT_NE(msg.find("unknown model 'inception_v3'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("resnet50"), std::string::npos) << msg;
    EXPECT_NE(msg.find("mirada-cli models"), std::string::npos) << msg;
    // torchvision's other architectures are zoo names: without their weights, where to get them.
    if (!locateZooModel("alexnet").found) {
        msg = errorOf([&] { loadModel("alexnet", opt); });
        EXPECT_NE(msg.find("alexnet-owt-7be5be79.pth"), std::string::npos) << msg;
        EXPECT_NE(msg.find("https://download.pytorch.org/models/"), std::string::npos) << msg;
    }
    // A truncated TorchScript archive.
    if (fs::exists(fx("residual-cnn.pt"))) {
        std::ifstream in(fx("residual-cnn.pt"), std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        writeText(dir / "half.pt", bytes.substr(0, bytes.size() / 2));
        msg = errorOf([&] { loadModel((dir / "half.pt").string(), opt); });
        EXPECT_NE(msg.find("half.pt"), std::string::npos) << msg;
    }
}

TEST(ModelZoo, MissingWeightsSayWhatToGetAndWhere) {
    TempDir dir;
    setenv("MIRADA_MODELS_DIR", dir.path().c_str(), 1);
    setenv("TORCH_HOME", (dir / "torch").c_str(), 1);
    auto loc = locateZooModel("vgg16");
    if (loc.found && loc.file.string().find(dir.path().string()) == std::string::npos) {
        // Real weights installed in the source tree's models/: then the lookup must have
        // found them under one of the zoo's names, with nothing to download.
        unsetenv("MIRADA_MODELS_DIR");
        unsetenv("TORCH_HOME");
        const auto& zoo = modelZoo();
        const auto entry = std::find_if(zoo.begin(), zoo.end(), [](const ZooEntry& e) { return e.name == "vgg16"; });
        ASSERT_NE(entry, zoo.end());
        const auto& names = entry->weight_files;
        EXPECT_NE(std::find(names.begin(), names.end(), loc.file.filename().string()), names.end()) << loc.file;
        EXPECT_TRUE(loc.message.empty()) << loc.message;
        return;
    }
    EXPECT_FALSE(loc.found);
    EXPECT_NE(loc.message.find("vgg16-397923af.pth"), std::string::npos) << loc.message;
    EXPECT_NE(loc.message.find("https://"), std::string::npos) << loc.message;
    EXPECT_NE(loc.message.find((dir / "torch" / "hub" / "checkpoints").string()), std::string::npos) << loc.message;
    unsetenv("MIRADA_MODELS_DIR");
    unsetenv("TORCH_HOME");
}

TEST(ModelZoo, HashPrefixInFileNameIsChecked) {
    TempDir dir;
    writeText(dir / "resnet50-0676ba61.pth", "not the real file");
    auto msg = errorOf([&] { verifyHashInName(dir / "resnet50-0676ba61.pth"); });
    EXPECT_NE(msg.find("0676ba61"), std::string::npos) << msg;
    EXPECT_NE(msg.find("download it again"), std::string::npos) << msg;
    // A name whose prefix matches passes and returns the full digest.
    writeText(dir / "plain.pth", "abc");
    const std::string digest = verifyHashInName(dir / "plain.pth");
    EXPECT_EQ(digest, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    fs::copy_file(dir / "plain.pth", dir / "weights-ba7816bf.pth");
    EXPECT_EQ(verifyHashInName(dir / "weights-ba7816bf.pth"), digest);
}

TEST(Device, CudaRequestWithoutCudaFallsBackWithNotice) {
    std::string notice;
    auto d = resolveDevice(DeviceChoice::Cuda, &notice);
    if (torch::cuda::is_available()) {
        EXPECT_TRUE(d.is_cuda());
    } else {
        EXPECT_TRUE(d.is_cpu());
        EXPECT_NE(notice.find("CUDA"), std::string::npos);
    }
    EXPECT_TRUE(resolveDevice(DeviceChoice::Cpu, nullptr).is_cpu());
    EXPECT_THROW(deviceChoiceFromString("tpu"), Error);
}

TEST(Preprocess, CenterCropGeometryMapsBackOntoTheImage) {
    InputSpec spec;  // 224 crop of a 256 shorter side
    auto g = inputGeometry(cv::Size(512, 256), spec);
    EXPECT_DOUBLE_EQ(g.sx, 1.0);
    EXPECT_DOUBLE_EQ(g.x0, 144.0);  // (512 - 224) / 2
    EXPECT_DOUBLE_EQ(g.y0, 16.0);
    cv::Mat ones(224, 224, CV_32F, cv::Scalar(1.0f));
    cv::Mat back = mapToOriginal(ones, g);
    ASSERT_EQ(back.size(), cv::Size(512, 256));
    EXPECT_FLOAT_EQ(back.at<float>(128, 256), 1.0f);  // centre is inside the crop
    EXPECT_FLOAT_EQ(back.at<float>(128, 10), 0.0f);   // left margin is outside
    EXPECT_FLOAT_EQ(back.at<float>(5, 256), 0.0f);    // top margin is outside
}

TEST(Preprocess, NormalisesWithMeanAndStd) {
    InputSpec spec;
    spec.width = spec.height = 4;
    spec.resize = InputSpec::Resize::Stretch;
    cv::Mat img(4, 4, CV_8UC3, cv::Scalar(255, 0, 128));  // R=255, G=0, B=128
    auto t = preprocess(img, spec);
    ASSERT_EQ(t.sizes(), (std::vector<int64_t>{1, 3, 4, 4}));
    EXPECT_NEAR(t[0][0][0][0].item<float>(), (1.0f - 0.485f) / 0.229f, 1e-5);
    EXPECT_NEAR(t[0][1][0][0].item<float>(), (0.0f - 0.456f) / 0.224f, 1e-5);
    EXPECT_NEAR(t[0][2][0][0].item<float>(), (128 / 255.0f - 0.406f) / 0.225f, 1e-5);
}

TEST(ModelZoo, FindsWeightsInTheTorchHubCache) {
    const auto weights = fixtureDir() / "resnet50-zip.pth";
    MIRADA_REQUIRE_FIXTURE(weights);
    TempDir dir;
    fs::create_directories(dir / "torch" / "hub" / "checkpoints");
    fs::create_symlink(weights, dir / "torch" / "hub" / "checkpoints" / "resnet50.pth");
    setenv("MIRADA_MODELS_DIR", (dir / "empty").c_str(), 1);
    setenv("TORCH_HOME", (dir / "torch").c_str(), 1);
    auto loc = locateZooModel("resnet50");
    const bool installed = loc.found && loc.file.string().find(dir.path().string()) == std::string::npos;
    if (!installed) {
        EXPECT_TRUE(loc.found) << loc.message;
        EXPECT_EQ(loc.file, dir / "torch" / "hub" / "checkpoints" / "resnet50.pth");
        ModelLoadOptions opt;
        opt.device = DeviceChoice::Cpu;
        auto model = loadModel("resnet50", opt).model;
        EXPECT_EQ(model->info().name, "resnet50");
        EXPECT_EQ(model->parameterCount(), 25557032);
        EXPECT_EQ(model->info().labels.size(), 1000u);
        EXPECT_EQ(model->info().labels[281], "tabby");
    }
    unsetenv("MIRADA_MODELS_DIR");
    unsetenv("TORCH_HOME");
}

// Issue 12, D11: outputs Mirada cannot read as class scores are refused with a
// sentence naming the model, not printed as "nan" or p = 5.61.
TEST(CustomModels, BadOutputsAreRefusedNamingTheModel) {
    MIRADA_REQUIRE_FIXTURE(fixtureDir() / "nan-scores.json");
    std::string log;
    TempDir out;
    const std::string image = samplePath("photo-cat.jpg");
    EXPECT_EQ(runCommand(std::string(MIRADA_CLI) + " predict --device cpu --model " +
                             (fixtureDir() / "nan-scores.json").string() + " --image " + image,
                         &log),
              1)
        << log;
    EXPECT_NE(log.find("non-finite scores"), std::string::npos) << log;
    EXPECT_EQ(runCommand(std::string(MIRADA_CLI) + " explain --quiet --device cpu --methods gradcam --model " +
                             (fixtureDir() / "nan-scores.json").string() + " --image " + image + " --out " +
                             out.path().string(),
                         &log),
              1)
        << log;
    EXPECT_NE(log.find("non-finite"), std::string::npos) << log;
    EXPECT_EQ(runCommand(std::string(MIRADA_CLI) + " predict --device cpu --model " +
                             (fixtureDir() / "logits-as-probs.json").string() + " --image " + image,
                         &log),
              1)
        << log;
    EXPECT_NE(log.find("\"output\": \"logits\""), std::string::npos) << log;
    EXPECT_EQ(runCommand(std::string(MIRADA_CLI) + " predict --device cpu --model " +
                             (fixtureDir() / "zero-classes.json").string() + " --image " + image,
                         &log),
              1)
        << log;
    EXPECT_NE(log.find("0 class scores"), std::string::npos) << log;
}
