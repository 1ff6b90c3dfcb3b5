// Issue 14: torchvision's classification families (ResNet, ResNeXt, Wide
// ResNet, VGG with and without batch norm, DenseNet, MobileNet V2/V3,
// EfficientNet, ConvNeXt, RegNet, AlexNet, SqueezeNet, GoogLeNet) are built
// natively from their weight files, with the number of classes the head has,
// from the files people save (DataParallel prefixes, training checkpoints, EMA
// copies). Logits equal torchvision's within 1e-4 relative on the fast
// evaluation path and on the plain one; Grad-CAM runs at the family's default
// layer.
//
// ctest uses the twelve models of gen_torchvision_families.py (one size per
// kind of block and per family); the longer check over every architecture:
// scripts/check_native_families.sh (sets MIRADA_FAMILIES_DIR to a folder made
// with --all).
#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>

#include "explain/explainer.hpp"
#include "image/image_io.hpp"
#include "models/model_zoo.hpp"
#include "models/native_nets.hpp"
#include "models/scripted_nets.hpp"
#include "models/predict.hpp"

#include <unistd.h>
#include "test_helpers.hpp"

using namespace mirada;
using mirada::test::fixtureDir;
using mirada::test::readFloats;
using mirada::test::samplePath;

namespace {

std::filesystem::path familiesDir() {
    const char* d = std::getenv("MIRADA_FAMILIES_DIR");
    return (d && *d) ? std::filesystem::path(d) : fixtureDir();
}

torch::Tensor fromFloats(const std::vector<float>& v, std::vector<int64_t> shape) {
    return torch::from_blob(const_cast<float*>(v.data()), shape, torch::kFloat32).clone();
}

double relativeError(const torch::Tensor& a, const torch::Tensor& b) {
    return (a - b).abs().max().item<double>() / std::max(1e-6, b.abs().max().item<double>());
}

}  // namespace

TEST(NativeFamilies, TorchvisionFilesLoadWithTheirClassesAndMatchTorchvisionLogits) {
    const auto dir = familiesDir();
    MIRADA_REQUIRE_FIXTURE(dir / "family-manifest.json");
    const auto manifest = nlohmann::json::parse(mirada::test::slurp(dir / "family-manifest.json"));
    ASSERT_FALSE(manifest.empty());
    const torch::Tensor input = fromFloats(readFloats(dir / "family-input.f32"), {2, 3, 224, 224});
    const cv::Mat image = loadImage(samplePath("photo-cat.jpg")).rgb;
    for (const auto& entry : manifest) {
        const std::string arch = entry.at("arch");
        const int64_t classes = entry.at("classes");
        SCOPED_TRACE(arch + " (" + entry.at("form").get<std::string>() + ")");
        ModelLoadOptions opt;
        opt.device = DeviceChoice::Cpu;
        const auto tLoad = std::chrono::steady_clock::now();
        auto loaded = loadModel((dir / entry.at("file").get<std::string>()).string(), opt);
        const double loadSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - tLoad).count();
        Model& model = *loaded.model;
        EXPECT_EQ(model.info().architecture, arch);
        ASSERT_EQ(static_cast<int64_t>(model.info().labels.size()), classes);
        if (classes != 1000) EXPECT_EQ(model.info().labels.back(), "class " + std::to_string(classes - 1));
        EXPECT_EQ(model.info().default_target_layer, nativeArch(arch, classes).defaultLayer());

        const torch::Tensor expected =
            fromFloats(readFloats(dir / entry.at("logits").get<std::string>()), {2, classes});
        const auto t0 = std::chrono::steady_clock::now();
        const torch::Tensor fast = model.forward(input);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        // The fast path: the oneDNN-optimized TorchScript form, or the frozen one
        // where the optimized form's logits were off (MobileNet V3) or slower.
        EXPECT_NE(model.evaluationPath().find("TorchScript"), std::string::npos) << model.evaluationPath();
        EXPECT_EQ(model.evaluationPath().find("as loaded"), std::string::npos) << model.evaluationPath();
        EXPECT_EQ(model.evaluationPath().find("plain"), std::string::npos) << model.evaluationPath();
        model.setOptimizedEvaluation(false);
        const torch::Tensor plain = model.forward(input);
        model.setOptimizedEvaluation(true);
        ASSERT_EQ(fast.sizes(), expected.sizes());
        const double eFast = relativeError(fast, expected), ePlain = relativeError(plain, expected);
        std::cout << "[ family   ] " << arch << ": " << classes << " classes, relative error fast " << eFast
                  << ", plain " << ePlain << ", loaded in " << loadSeconds << " s, first fast batch of 2 in " << seconds
                  << " s; " << model.evaluationPath() << "\n";
        EXPECT_LE(eFast, 1e-4);
        EXPECT_LE(ePlain, 1e-4);
        EXPECT_TRUE(torch::equal(fast.argmax(1), expected.argmax(1)));

        if (entry.at("form") == "ema") {
            // The checkpoint's "model" entry (other weights) is what a plain load
            // reads; the descriptor's "checkpoint_entry" picked the EMA copy.
            auto direct = loadModel((dir / entry.at("weights").get<std::string>()).string(), opt);
            EXPECT_GT(relativeError(direct.model->forward(input), expected), 1e-2);
        }

        // Grad-CAM at the family's default layer.
        ExplainRequest req;
        req.model = &model;
        req.image = image;
        req.batch_size = 2;
        const auto tCam = std::chrono::steady_clock::now();
        const Explanation e = makeExplainer("gradcam")->explain(req, {});
        std::cout << "[ family   ] " << arch << ": Grad-CAM in "
                  << std::chrono::duration<double>(std::chrono::steady_clock::now() - tCam).count() << " s\n";
        EXPECT_EQ(e.settings.at("layer").get<std::string>(), model.info().default_target_layer);
        EXPECT_EQ(e.heatmap.size(), image.size());
        EXPECT_TRUE(cv::checkRange(e.heatmap));
    }
}

TEST(NativeFamilies, ArchitecturesAreRecognisedFromKeysAndShapes) {
    // Each architecture's own layout (zero-stride tensors of the right shapes)
    // is recognised as itself, with its classes. Every scripted size is here;
    // of the ResNet/VGG kinds the smaller ones (their layouts come from
    // building the network; all of them: scripts/check_native_families.sh).
    auto layoutOf = [](const std::string& name) {
        StateDict sd;
        for (const auto& spec : nativeStateDictLayout(name))
            sd.push_back({spec.name, torch::zeros({}, torch::TensorOptions().dtype(spec.dtype)).expand(spec.shape)});
        return sd;
    };
    const std::vector<std::string> nativeKinds = {"resnet18",        "resnet50", "resnext50_32x4d",
                                                  "wide_resnet50_2", "vgg11",    "vgg11_bn"};
    std::vector<std::string> names = nativeKinds;
    for (const auto& n : scriptedArchNames()) names.push_back(n);
    for (const auto& name : names) {
        SCOPED_TRACE(name);
        const auto arch = recogniseNativeArch(layoutOf(name));
        ASSERT_TRUE(arch.has_value());
        EXPECT_EQ(arch->name, name);
        EXPECT_EQ(arch->classes, 1000);
    }
    EXPECT_EQ(nativeArchNames().size(), 18u + scriptedArchNames().size());
    EXPECT_EQ(scriptedArchNames().size(), 38u);  // 4 DenseNet, 3 MobileNet, 8 EfficientNet, 4 ConvNeXt,
                                                 // 15 RegNet, AlexNet, 2 SqueezeNet, GoogLeNet
    EXPECT_EQ(nativeArch("vgg16").defaultLayer(), "features.29");
    EXPECT_EQ(nativeArch("vgg16_bn").defaultLayer(), "features.42");
    EXPECT_EQ(nativeArch("resnext50_32x4d").defaultLayer(), "layer4");
    EXPECT_EQ(nativeArch("densenet121").defaultLayer(), "features.norm5");
    EXPECT_EQ(nativeArch("googlenet").defaultLayer(), "inception5b");
    EXPECT_FALSE(recogniseNativeArch(StateDict{{"conv.weight", torch::zeros({4, 3, 3, 3})}}).has_value());
    EXPECT_THROW(nativeArch("inception_v3"), Error);

    // A DenseNet-121 with a changed block (one tensor of the wrong shape, one
    // missing): recognised as the family, refused with the closest size and
    // the tensors that differ.
    StateDict odd = layoutOf("densenet121");
    for (auto& t : odd)
        if (t.name == "features.denseblock2.denselayer3.conv1.weight") t.tensor = torch::zeros({64, 192, 1, 1});
    odd.erase(std::remove_if(odd.begin(), odd.end(),
                             [](const NamedTensor& t) { return t.name == "features.norm5.running_var"; }),
              odd.end());
    std::string nearMiss;
    EXPECT_FALSE(recogniseNativeArch(odd, &nearMiss).has_value());
    EXPECT_NE(nearMiss.find("densenet family"), std::string::npos) << nearMiss;
    EXPECT_NE(nearMiss.find("densenet121"), std::string::npos) << nearMiss;
    EXPECT_NE(nearMiss.find("2 tensors"), std::string::npos) << nearMiss;
    EXPECT_NE(
        nearMiss.find("features.denseblock2.denselayer3.conv1.weight is [64, 192, 1, 1], expected [128, 192, 1, 1]"),
        std::string::npos)
        << nearMiss;
    EXPECT_NE(nearMiss.find("missing features.norm5.running_var"), std::string::npos) << nearMiss;
}

// torchvision's own downloads: DenseNet files with the old key names load
// (renamed as torchvision renames them); a file under a hub-cache name gets
// the crop and resize its weights were published with, and the hash check.
TEST(NativeFamilies, HubFilesKeepTorchvisionsNamesCropsAndHashes) {
    StateDict legacy = {{"features.denseblock1.denselayer1.norm.1.weight", torch::zeros({64})},
                        {"features.denseblock1.denselayer12.conv.2.weight", torch::zeros({32, 128, 3, 3})},
                        {"features.norm5.weight", torch::zeros({1024})}};
    EXPECT_EQ(renameLegacyDenseNetKeys(legacy), 2);
    EXPECT_EQ(legacy[0].name, "features.denseblock1.denselayer1.norm1.weight");
    EXPECT_EQ(legacy[1].name, "features.denseblock1.denselayer12.conv2.weight");
    EXPECT_EQ(legacy[2].name, "features.norm5.weight");

    const auto weights = fixtureDir() / "family-mobilenet_v2.pth";
    MIRADA_REQUIRE_FIXTURE(weights);
    const auto dir = std::filesystem::temp_directory_path() / ("mirada-family-hub-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto hubName = dir / "mobilenet_v2-7ebf99e0.pth";  // torchvision's IMAGENET1K_V2 file: crop 224, resize 232
    std::filesystem::copy_file(weights, hubName, std::filesystem::copy_options::overwrite_existing);
    ModelLoadOptions opt;
    opt.device = DeviceChoice::Cpu;
    const std::string err = mirada::test::errorOf([&] { loadModel(hubName.string(), opt); });
    EXPECT_NE(err.find("7ebf99e0"), std::string::npos) << err;  // not torchvision's file: the hash check says so
    opt.verify_hash_in_name = false;
    auto loaded = loadModel(hubName.string(), opt);
    EXPECT_EQ(loaded.model->info().architecture, "mobilenet_v2");
    EXPECT_EQ(loaded.model->info().input.width, 224);
    EXPECT_EQ(loaded.model->info().input.resize_shorter, 232);
    // As a zoo name it is found in the hub cache ($TORCH_HOME/hub/checkpoints).
    std::filesystem::create_directories(dir / "torch" / "hub" / "checkpoints");
    std::filesystem::rename(hubName, dir / "torch" / "hub" / "checkpoints" / hubName.filename());
    setenv("TORCH_HOME", (dir / "torch").c_str(), 1);
    const ZooLocation loc = locateZooModel("mobilenet_v2");
    unsetenv("TORCH_HOME");
    EXPECT_TRUE(loc.found) << loc.message;
    EXPECT_EQ(loc.file.filename(), hubName.filename());
    std::filesystem::remove_all(dir);
}

// A random scripted network runs end to end in both evaluation forms, its
// layers are torchvision's module paths and a tap at any of them works.
TEST(NativeFamilies, ScriptedNetworksRunAndTapAtTorchvisionNames) {
    const NativeArch arch = nativeArch("mobilenet_v3_small", 3);
    ModelInfo info;
    info.name = "mnv3";
    info.input.width = info.input.height = 96;
    auto model = makeNativeRandom(arch, info, 7);
    EXPECT_EQ(model->info().architecture, "mobilenet_v3_small");
    EXPECT_EQ(model->info().default_target_layer, "features.12");
    EXPECT_EQ(model->info().labels, (std::vector<std::string>{"class 0", "class 1", "class 2"}));
    std::vector<std::string> paths;
    for (const auto& l : model->layers()) paths.push_back(l.path);
    for (const char* p : {"features.0.0", "features.4.block.2.fc1", "features.12", "classifier.3"})
        EXPECT_NE(std::find(paths.begin(), paths.end(), p), paths.end()) << p;
    const torch::Tensor x = torch::randn({2, 3, 96, 96}, torch::Generator(at::detail::createCPUGenerator(3)));
    const torch::Tensor fast = model->forward(x);
    model->setOptimizedEvaluation(false);
    const torch::Tensor plain = model->forward(x);
    EXPECT_LE(relativeError(fast, plain), 1e-4);
    const TapResult tap = model->forwardWithTap(x, "features.4.block.2");
    EXPECT_EQ(tap.activation.size(1), 96);  // the squeeze-excitation's output: 96 channels, 6x6
    EXPECT_LE(relativeError(tap.output.detach(), plain), 1e-5);
    EXPECT_TRUE(tap.activation.requires_grad());
}

// A fine-tuned network with its own classes: a descriptor names the weight file,
// the architecture it must be and the labels; a wrong architecture or label
// count is refused naming the descriptor.
TEST(NativeFamilies, ADescriptorGivesAWeightFileItsLabelsAndChecksTheArchitecture) {
    const auto weights = fixtureDir() / "family-resnet18.pth";
    MIRADA_REQUIRE_FIXTURE(weights);
    const auto dir = std::filesystem::temp_directory_path() / ("mirada-family-desc-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto write = [&](const std::string& name, const nlohmann::json& j) {
        mirada::test::writeText(dir / name, j.dump());
        return (dir / name).string();
    };
    ModelLoadOptions opt;
    opt.device = DeviceChoice::Cpu;
    const std::string good = write("ft.json", {{"weights", weights.string()},
                                               {"architecture", "resnet18"},
                                               {"name", "pets"},
                                               {"labels", {"cat", "dog", "fox"}}});
    auto loaded = loadModel(good, opt);
    EXPECT_EQ(loaded.model->info().name, "pets");
    EXPECT_EQ(loaded.model->info().architecture, "resnet18");
    EXPECT_EQ(loaded.model->info().labels, (std::vector<std::string>{"cat", "dog", "fox"}));
    EXPECT_EQ(loaded.model->info().default_target_layer, "layer4");
    const auto top = predictTopK(*loaded.model, loadImage(samplePath("photo-cat.jpg")).rgb, 3);
    ASSERT_EQ(top.size(), 3u);
    EXPECT_FALSE(top.front().label.empty());

    const std::string wrongArch = write("arch.json", {{"weights", weights.string()}, {"architecture", "resnet50"}});
    std::string err = mirada::test::errorOf([&] { loadModel(wrongArch, opt); });
    EXPECT_NE(err.find("arch.json"), std::string::npos) << err;
    EXPECT_NE(err.find("resnet18"), std::string::npos) << err;

    const std::string wrongLabels = write("labels.json", {{"weights", weights.string()}, {"labels", {"a", "b"}}});
    err = mirada::test::errorOf([&] { loadModel(wrongLabels, opt); });
    EXPECT_NE(err.find("2 labels"), std::string::npos) << err;
    EXPECT_NE(err.find("3 outputs"), std::string::npos) << err;

    const std::string both = write("both.json", {{"weights", weights.string()}, {"torchscript", weights.string()}});
    err = mirada::test::errorOf([&] { loadModel(both, opt); });
    EXPECT_NE(err.find("both set"), std::string::npos) << err;
    std::filesystem::remove_all(dir);
}
