#include "models/model_zoo.hpp"

#include <ATen/Context.h>

#include <unistd.h>

#include <algorithm>
#include <future>
#include <optional>
#include <cstdlib>
#include <mutex>
#include <regex>
#include <thread>

#include "common/data_dir.hpp"
#include "common/error.hpp"
#include "common/file_checks.hpp"
#include "common/sha256.hpp"
#include "models/descriptor.hpp"
#include "models/imagenet_labels.hpp"
#include "models/native_nets.hpp"
#include "models/scripted_nets.hpp"
#include "models/state_dict_reader.hpp"
#include "models/torchscript_model.hpp"

namespace fs = std::filesystem;

namespace mirada {
namespace {

// torchvision 0.14's ImageNet weight files (the names PyTorch's hub cache keeps
// them under, a SHA-256 prefix in each) with the crop and the shorter side
// their evaluation transforms use (0 = torchvision's usual 256).
struct HubFile {
    const char* file;
    int crop;
    int resize;
};
struct HubArch {
    const char* arch;
    std::vector<HubFile> files;
};
const std::vector<HubArch>& hubFiles() {
    static const std::vector<HubArch> t = {
        {"resnet18", {{"resnet18-f37072fd.pth", 224, 0}}},
        {"resnet34", {{"resnet34-b627a593.pth", 224, 0}}},
        {"resnet50", {{"resnet50-11ad3fa6.pth", 224, 232}, {"resnet50-0676ba61.pth", 224, 0}}},
        {"resnet101", {{"resnet101-63fe2227.pth", 224, 0}, {"resnet101-cd907fc2.pth", 224, 232}}},
        {"resnet152", {{"resnet152-394f9c45.pth", 224, 0}, {"resnet152-f82ba261.pth", 224, 232}}},
        {"resnext50_32x4d", {{"resnext50_32x4d-7cdf4587.pth", 224, 0}, {"resnext50_32x4d-1a0047aa.pth", 224, 232}}},
        {"resnext101_32x8d", {{"resnext101_32x8d-8ba56ff5.pth", 224, 0}, {"resnext101_32x8d-110c445d.pth", 224, 232}}},
        {"resnext101_64x4d", {{"resnext101_64x4d-173b62eb.pth", 224, 232}}},
        {"wide_resnet50_2", {{"wide_resnet50_2-95faca4d.pth", 224, 0}, {"wide_resnet50_2-9ba9bcbe.pth", 224, 232}}},
        {"wide_resnet101_2", {{"wide_resnet101_2-32ee1156.pth", 224, 0}, {"wide_resnet101_2-d733dc28.pth", 224, 232}}},
        {"vgg11", {{"vgg11-8a719046.pth", 224, 0}}},
        {"vgg11_bn", {{"vgg11_bn-6002323d.pth", 224, 0}}},
        {"vgg13", {{"vgg13-19584684.pth", 224, 0}}},
        {"vgg13_bn", {{"vgg13_bn-abd245e5.pth", 224, 0}}},
        {"vgg16", {{"vgg16-397923af.pth", 224, 0}}},
        {"vgg16_bn", {{"vgg16_bn-6c64b313.pth", 224, 0}}},
        {"vgg19", {{"vgg19-dcbb9e9d.pth", 224, 0}}},
        {"vgg19_bn", {{"vgg19_bn-c79401a0.pth", 224, 0}}},
        {"densenet121", {{"densenet121-a639ec97.pth", 224, 0}}},
        {"densenet161", {{"densenet161-8d451a50.pth", 224, 0}}},
        {"densenet169", {{"densenet169-b2777c0a.pth", 224, 0}}},
        {"densenet201", {{"densenet201-c1103571.pth", 224, 0}}},
        {"mobilenet_v2", {{"mobilenet_v2-b0353104.pth", 224, 0}, {"mobilenet_v2-7ebf99e0.pth", 224, 232}}},
        {"mobilenet_v3_large",
         {{"mobilenet_v3_large-8738ca79.pth", 224, 0}, {"mobilenet_v3_large-5c1a4163.pth", 224, 232}}},
        {"mobilenet_v3_small", {{"mobilenet_v3_small-047dcff4.pth", 224, 0}}},
        {"efficientnet_b0", {{"efficientnet_b0_rwightman-3dd342df.pth", 224, 256}}},
        {"efficientnet_b1",
         {{"efficientnet_b1_rwightman-533bc792.pth", 240, 256}, {"efficientnet_b1-c27df63c.pth", 240, 255}}},
        {"efficientnet_b2", {{"efficientnet_b2_rwightman-bcdf34b7.pth", 288, 288}}},
        {"efficientnet_b3", {{"efficientnet_b3_rwightman-cf984f9c.pth", 300, 320}}},
        {"efficientnet_b4", {{"efficientnet_b4_rwightman-7eb33cd5.pth", 380, 384}}},
        {"efficientnet_b5", {{"efficientnet_b5_lukemelas-b6417697.pth", 456, 456}}},
        {"efficientnet_b6", {{"efficientnet_b6_lukemelas-c76e70fd.pth", 528, 528}}},
        {"efficientnet_b7", {{"efficientnet_b7_lukemelas-dcc49843.pth", 600, 600}}},
        {"convnext_tiny", {{"convnext_tiny-983f1562.pth", 224, 236}}},
        {"convnext_small", {{"convnext_small-0c510722.pth", 224, 230}}},
        {"convnext_base", {{"convnext_base-6075fbad.pth", 224, 232}}},
        {"convnext_large", {{"convnext_large-ea097f82.pth", 224, 232}}},
        {"regnet_y_400mf", {{"regnet_y_400mf-c65dace8.pth", 224, 0}, {"regnet_y_400mf-e6988f5f.pth", 224, 232}}},
        {"regnet_y_800mf", {{"regnet_y_800mf-1b27b58c.pth", 224, 0}, {"regnet_y_800mf-58fc7688.pth", 224, 232}}},
        {"regnet_y_1_6gf", {{"regnet_y_1_6gf-b11a554e.pth", 224, 0}, {"regnet_y_1_6gf-0d7bc02a.pth", 224, 232}}},
        {"regnet_y_3_2gf", {{"regnet_y_3_2gf-b5a9779c.pth", 224, 0}, {"regnet_y_3_2gf-9180c971.pth", 224, 232}}},
        {"regnet_y_8gf", {{"regnet_y_8gf-d0d0e4a8.pth", 224, 0}, {"regnet_y_8gf-dc2b1b54.pth", 224, 232}}},
        {"regnet_y_16gf",
         {{"regnet_y_16gf-9e6ed7dd.pth", 224, 0},
          {"regnet_y_16gf-3e4a00f9.pth", 224, 232},
          {"regnet_y_16gf_swag-43afe44d.pth", 384, 384},
          {"regnet_y_16gf_lc_swag-f3ec0043.pth", 224, 224}}},
        {"regnet_y_32gf",
         {{"regnet_y_32gf-4dee3f7a.pth", 224, 0},
          {"regnet_y_32gf-8db6d4b5.pth", 224, 232},
          {"regnet_y_32gf_swag-04fdfa75.pth", 384, 384},
          {"regnet_y_32gf_lc_swag-e1583746.pth", 224, 224}}},
        {"regnet_y_128gf",
         {{"regnet_y_128gf_swag-c8ce3e52.pth", 384, 384}, {"regnet_y_128gf_lc_swag-cbe8ce12.pth", 224, 224}}},
        {"regnet_x_400mf", {{"regnet_x_400mf-adf1edd5.pth", 224, 0}, {"regnet_x_400mf-62229a5f.pth", 224, 232}}},
        {"regnet_x_800mf", {{"regnet_x_800mf-ad17e45c.pth", 224, 0}, {"regnet_x_800mf-94a99ebd.pth", 224, 232}}},
        {"regnet_x_1_6gf", {{"regnet_x_1_6gf-e3633e7f.pth", 224, 0}, {"regnet_x_1_6gf-a12f2b72.pth", 224, 232}}},
        {"regnet_x_3_2gf", {{"regnet_x_3_2gf-f342aeae.pth", 224, 0}, {"regnet_x_3_2gf-7071aa85.pth", 224, 232}}},
        {"regnet_x_8gf", {{"regnet_x_8gf-03ceed89.pth", 224, 0}, {"regnet_x_8gf-2b70d774.pth", 224, 232}}},
        {"regnet_x_16gf", {{"regnet_x_16gf-2007eb11.pth", 224, 0}, {"regnet_x_16gf-ba3796d7.pth", 224, 232}}},
        {"regnet_x_32gf", {{"regnet_x_32gf-9d47f8d0.pth", 224, 0}, {"regnet_x_32gf-6eb8fdc6.pth", 224, 232}}},
        {"alexnet", {{"alexnet-owt-7be5be79.pth", 224, 0}}},
        {"squeezenet1_0", {{"squeezenet1_0-b66bff10.pth", 224, 0}}},
        {"squeezenet1_1", {{"squeezenet1_1-b8a52dc0.pth", 224, 0}}},
        {"googlenet", {{"googlenet-1378be20.pth", 224, 0}}},
    };
    return t;
}

const HubFile* hubFileNamed(const std::string& fileName) {
    for (const auto& a : hubFiles())
        for (const auto& f : a.files)
            if (fileName == f.file) return &f;
    return nullptr;
}

const std::string kHubUrl = "https://download.pytorch.org/models/";

}  // namespace

namespace {

ModelInfo imagenetInfo(const std::string& name, const std::string& arch) {
    ModelInfo info;
    info.name = name;
    info.architecture = arch;
    info.labels = imagenetLabels();
    info.default_target_layer = arch == "vgg16" ? kVgg16DefaultLayer : kResnet50DefaultLayer;
    // Photos: a blurred copy removes an object's detail without painting a new
    // uniform object over it (README, "The baseline: what removed looks like").
    info.baseline = Baseline{Baseline::Kind::Blur, {}};
    info.baseline_source = "Mirada's default for ImageNet photo classifiers";
    return info;  // InputSpec defaults: torchvision's resize 256, centre crop 224, ImageNet mean/std
}

// A native network of any torchvision ResNet/VGG architecture: ImageNet's
// class names for 1000 outputs, "class 0" ... otherwise (a descriptor can name
// them); torchvision's preprocessing; the family's default layer.
ModelInfo nativeInfo(const std::string& name, const NativeArch& arch) {
    ModelInfo info = imagenetInfo(name, arch.name);
    info.default_target_layer = arch.defaultLayer();
    if (arch.classes != 1000) {
        info.labels.clear();
        for (int64_t i = 0; i < arch.classes; ++i) info.labels.push_back("class " + std::to_string(i));
        info.baseline_source = "Mirada's default (blur) for photo classifiers";
    }
    return info;
}

// Wrappers that prefix every key of a state dict: nn.DataParallel and
// DistributedDataParallel ("module."), torch.compile ("_orig_mod."). The
// tensors are the network's own; the prefix is removed (and named in *removed).
void stripWrapperPrefixes(StateDict& sd, std::string* removed) {
    static const char* const kPrefixes[] = {"module.", "_orig_mod."};
    // torch.optim.swa_utils.AveragedModel (the EMA copy of torchvision's
    // training scripts) adds its average count beside the "module."-prefixed tensors.
    if (sd.size() > 1 &&
        std::any_of(sd.begin(), sd.end(), [](const NamedTensor& t) { return t.name == "n_averaged"; }) &&
        std::all_of(sd.begin(), sd.end(), [](const NamedTensor& t) {
            return t.name == "n_averaged" || t.name.compare(0, 7, "module.") == 0;
        }))
        sd.erase(std::remove_if(sd.begin(), sd.end(), [](const NamedTensor& t) { return t.name == "n_averaged"; }),
                 sd.end());
    for (bool again = true; again && !sd.empty();) {
        again = false;
        for (const char* prefix : kPrefixes) {
            const std::string p = prefix;
            const bool all = std::all_of(sd.begin(), sd.end(),
                                         [&](const NamedTensor& t) { return t.name.compare(0, p.size(), p) == 0; });
            if (!all) continue;
            for (auto& t : sd) t.name.erase(0, p.size());
            if (removed) *removed += (removed->empty() ? "" : ", ") + ("'" + p + "'");
            again = true;
        }
    }
    renameLegacyDenseNetKeys(sd);  // torchvision's own DenseNet downloads use older names
}

// Which native network a state dict is meant for. Any one of an
// architecture's distinctive tensors is enough: a file that lacks others
// (a missing head, a truncated save) then gets the native loader's precise
// list of what is missing instead of "an architecture Mirada does not build".
std::string detectArchitecture(const StateDict& sd) {
    auto has = [&](const std::string& k) {
        return std::any_of(sd.begin(), sd.end(), [&](const NamedTensor& t) { return t.name == k; });
    };
    if (has("features.28.weight") || (has("features.0.weight") && has("classifier.6.weight"))) return "vgg16";
    // ResNet-50's bottleneck blocks (conv3) with layer4 having three blocks;
    // ResNet-18/34 have no conv3, ResNet-101/152 more blocks (left to describeStateDict).
    if ((has("layer4.2.conv3.weight") || has("layer1.0.conv3.weight")) && !has("layer3.6.conv1.weight"))
        return "resnet50";
    if (has("fc.weight") && has("layer4.2.bn3.running_var") && !has("layer3.6.conv1.weight")) return "resnet50";
    return "";
}

std::unique_ptr<Model> stateDictModel(const fs::path& file, const std::string& nameHint, const StateDict& sd) {
    std::string nearMiss;
    std::optional<NativeArch> arch = recogniseNativeArch(sd, &nearMiss);
    if (!arch && !nearMiss.empty())
        throw Error("'" + file.string() + "': " + nearMiss +
                    ". Check that the file was saved from that architecture (torchvision 0.14's definition); a "
                    "network changed beyond its classifier must be exported to TorchScript "
                    "(torch.jit.script(model).save(\"m.pt\")) and loaded from that");
    if (!arch) {
        // Lenient: a file with only some of VGG16's or ResNet50's tensors gets the
        // native loader's list of what is missing.
        const std::string lenient = detectArchitecture(sd);
        if (!lenient.empty()) arch = nativeArch(lenient);
    }
    if (!arch) {
        std::string keys;
        for (size_t i = 0; i < std::min<size_t>(sd.size(), 5); ++i) keys += (i ? ", " : "") + sd[i].name;
        throw Error("'" + file.string() +
                    "' holds a state dict that is not one of torchvision's classification networks (it looks like " +
                    describeStateDict(sd) + "; its first tensors: " + keys +
                    "). Mirada builds torchvision's ResNet, ResNeXt, Wide ResNet, VGG, DenseNet, MobileNet, "
                    "EfficientNet, ConvNeXt, RegNet, AlexNet, SqueezeNet and GoogLeNet networks from their weight "
                    "files (`mirada-cli models` lists them); for any other network export it to TorchScript "
                    "(torch.jit.script(model).save(\"m.pt\")) and load that, with a .json descriptor beside it");
    }
    ModelInfo info = nativeInfo(nameHint.empty() ? arch->name : nameHint, *arch);
    info.weights_file = fs::absolute(file).string();
    // torchvision's own ImageNet weights, known by their file name: the
    // evaluation crop and resize they were published with.
    if (const HubFile* hub = hubFileNamed(file.filename().string())) {
        info.input.width = info.input.height = hub->crop;
        info.input.resize_shorter = hub->resize > 0 ? hub->resize : 256;
    }
    return makeNativeModel(*arch, sd, info);
}

// A descriptor with "weights": the architecture recognised from the file
// (checked against "architecture" when given), labels, preprocessing and
// target layer from the descriptor where it sets them.
std::unique_ptr<Model> describedWeightsModel(const ModelDescriptor& d, const StateDict& sd) {
    const std::string where = "model descriptor '" + d.file.string() + "'";
    std::string nearMiss;
    const std::optional<NativeArch> arch = recogniseNativeArch(sd, &nearMiss);
    if (!arch)
        throw Error(where + ": \"weights\" names '" + d.weights.string() +
                    "', which is not one of torchvision's classification networks (" +
                    (nearMiss.empty() ? "it looks like " + describeStateDict(sd) : nearMiss) +
                    "); export other networks to TorchScript and name the .pt file in \"torchscript\"");
    if (!d.architecture.empty() && d.architecture != arch->name)
        throw Error(where + ": \"architecture\" is \"" + d.architecture + "\" but '" + d.weights.string() +
                    "' holds a " + arch->name + " (recognised from its tensors); correct the descriptor");
    ModelInfo info = d.info;
    const ModelInfo defaults = nativeInfo(info.name, *arch);
    info.architecture = arch->name;
    if (info.labels.empty()) {
        info.labels = defaults.labels;
    } else if (static_cast<int64_t>(info.labels.size()) != arch->classes) {
        throw Error(where + " lists " + std::to_string(info.labels.size()) + " labels but the " + arch->name + " in '" +
                    d.weights.string() + "' has " + std::to_string(arch->classes) +
                    " outputs; give one label per output");
    }
    if (info.default_target_layer.empty()) info.default_target_layer = defaults.default_target_layer;
    if (info.input.channels != 3)
        throw Error(where + ": input.channels is " + std::to_string(info.input.channels) + " but a " + arch->name +
                    " takes 3-channel (RGB) images");
    info.weights_file = std::filesystem::absolute(d.weights).string();
    return makeNativeModel(*arch, sd, info);
}

// ---- The loading pipeline (loadModel): resolve -> read once -> recognise ->
// build -> prepare the fast path. Each stage is one function below.

// Stage 1, resolve: what MODEL names, as the one file its weights are read
// from and what describes it.
struct ModelSource {
    fs::path file;  // the weight file or TorchScript archive
    WeightFileFormat format = WeightFileFormat::Unknown;
    std::string zooName;                        // "resnet50" when named from the zoo
    std::optional<ModelDescriptor> descriptor;  // the .json given, or the one beside a TorchScript file
};

ModelSource resolveSource(const std::string& spec) {
    ModelSource src;
    const fs::path asPath(spec);
    const bool looksLikeFile = asPath.has_extension() || spec.find('/') != std::string::npos;
    fs::path given;
    if (looksLikeFile) {
        // Before anything opens it: a FIFO or device would block or never end, a symlink loop would throw.
        if (requireRegularFile(asPath, "model file") == 0) throw Error("model file '" + spec + "' is empty (0 bytes)");
        given = asPath;
    } else {
        auto loc = locateZooModel(spec);
        if (!loc.found) throw Error(loc.message);
        given = loc.file;
        src.zooName = spec;
    }
    if (given.extension() == ".json") {
        src.descriptor = readModelDescriptor(given);
        src.file = src.descriptor->weights.empty() ? src.descriptor->torchscript : src.descriptor->weights;
    } else {
        src.file = given;
    }
    src.format = sniffWeightFileFormat(src.file);
    if (src.format == WeightFileFormat::Unknown)
        throw Error("'" + src.file.string() +
                    "' is neither a PyTorch weight file (.pth, zip or legacy format) nor a "
                    "TorchScript archive. If it was downloaded, the download may be incomplete: get it again");
    if (src.format == WeightFileFormat::TorchScript && !src.descriptor) {
        // A descriptor beside it (same stem, .json) describes it.
        auto desc = src.file;
        desc.replace_extension(".json");
        if (fs::exists(desc)) {
            auto d = readModelDescriptor(desc);
            if (!d.torchscript.empty() && fs::equivalent(d.torchscript, src.file)) src.descriptor = std::move(d);
        }
    }
    if (src.descriptor && !src.descriptor->weights.empty() && src.format == WeightFileFormat::TorchScript)
        throw Error("model descriptor '" + src.descriptor->file.string() + "': \"weights\" names '" +
                    src.file.string() + "', a TorchScript archive; name it in \"torchscript\" instead");
    return src;
}

// Stages 2-4 for a state dict: read the file once, recognise the
// architecture from its tensors, build it with the descriptor's or the
// family's settings.
std::unique_ptr<Model> buildFromStateDict(const ModelSource& src) {
    const ModelDescriptor* d = src.descriptor ? &*src.descriptor : nullptr;
    StateDict sd = readStateDict(src.file, d ? d->checkpoint_entry : std::string());
    stripWrapperPrefixes(sd, nullptr);
    return d ? describedWeightsModel(*d, sd) : stateDictModel(src.file, src.zooName, sd);
}

// Stages 2-4 for TorchScript: the archive is the architecture.
std::unique_ptr<Model> buildFromTorchScript(const ModelSource& src) {
    if (src.descriptor) return loadTorchScriptModel(src.file, src.descriptor->info);
    ModelInfo info = defaultTorchScriptInfo(src.file);
    if (!src.zooName.empty()) info = imagenetInfo(src.zooName, src.zooName);
    info.architecture = "torchscript";
    return loadTorchScriptModel(src.file, info);
}

// Intra-op threads: $MIRADA_THREADS when set, otherwise one per core (this
// LibTorch build starts with a single thread).
void configureIntraOpThreads() {
    static std::once_flag once;
    std::call_once(once, [] {
        int want = static_cast<int>(std::thread::hardware_concurrency());
        if (const char* t = std::getenv("MIRADA_THREADS"); t && *t) {
            try {
                want = std::stoi(t);
            } catch (const std::exception&) {
                throw Error(std::string("MIRADA_THREADS='") + t + "' is not a number of threads");
            }
            if (want < 1) throw Error(std::string("MIRADA_THREADS='") + t + "' must be at least 1");
        }
        if (want > 0 && torch::get_num_threads() != want) torch::set_num_threads(want);
    });
}

}  // namespace

const std::vector<ZooEntry>& modelZoo() {
    static const std::vector<ZooEntry> zoo = [] {
        std::vector<ZooEntry> z = {
            {"fashion-cnn",
             "Small CNN trained on Fashion-MNIST (28x28 grey, 10 classes); bundled",
             {"fashion-cnn/fashion-cnn.json"},
             "",
             true},
            {"resnet50",
             "ResNet-50 v1.5, ImageNet-1k (torchvision weights)",
             {"resnet50-11ad3fa6.pth", "resnet50-0676ba61.pth", "resnet50.pth", "resnet50.pt"},
             kHubUrl + "resnet50-11ad3fa6.pth",
             true},
            {"vgg16",
             "VGG-16, ImageNet-1k (torchvision weights)",
             {"vgg16-397923af.pth", "vgg16.pth", "vgg16.pt"},
             kHubUrl + "vgg16-397923af.pth",
             true},
        };
        // Every other torchvision architecture is a zoo name too, found when
        // its ImageNet weights are in one of the folders (PyTorch's hub cache).
        for (const auto& a : hubFiles()) {
            const std::string name = a.arch;
            if (name == "resnet50" || name == "vgg16") continue;
            ZooEntry e{
                name, "torchvision " + name + ", ImageNet-1k weights", {}, kHubUrl + a.files.front().file, false};
            for (const auto& f : a.files) e.weight_files.push_back(f.file);
            z.push_back(std::move(e));
        }
        return z;
    }();
    return zoo;
}

std::vector<fs::path> modelSearchDirs() {
    std::vector<fs::path> dirs;
    if (const char* d = std::getenv("MIRADA_MODELS_DIR"); d && *d) dirs.emplace_back(d);
    // The bundled models: <prefix>/share/mirada/models when installed, else the source tree's models/.
    dirs.push_back(dataPath("models", "models"));
    if (const char* th = std::getenv("TORCH_HOME"); th && *th) {
        dirs.push_back(fs::path(th) / "hub" / "checkpoints");
    } else if (const char* home = std::getenv("HOME"); home && *home) {
        const char* xdg = std::getenv("XDG_CACHE_HOME");
        fs::path cache = (xdg && *xdg) ? fs::path(xdg) : fs::path(home) / ".cache";
        dirs.push_back(cache / "torch" / "hub" / "checkpoints");
    }
    return dirs;
}

ZooLocation locateZooModel(const std::string& name) {
    const auto& zoo = modelZoo();
    auto it = std::find_if(zoo.begin(), zoo.end(), [&](const ZooEntry& e) { return e.name == name; });
    ZooLocation loc;
    if (it == zoo.end()) {
        std::string names;
        for (const auto& e : zoo)
            if (e.listed_when_missing) names += (names.empty() ? "" : ", ") + e.name;
        loc.message = "unknown model '" + name + "'; the zoo has " + names +
                      " and torchvision's architectures by name (resnet18, densenet121, efficientnet_b0, ...: "
                      "`mirada-cli models` lists them), or give a path to a .pth, .pt or .json file";
        return loc;
    }
    const auto dirs = modelSearchDirs();
    for (const auto& dir : dirs) {
        for (const auto& f : it->weight_files) {
            std::error_code ec;
            if (fs::is_regular_file(dir / f, ec)) {
                loc.found = true;
                loc.file = dir / f;
                return loc;
            }
        }
    }
    std::string where;
    for (const auto& d : dirs) where += "\n  " + d.string();
    if (it->download_url.empty()) {
        loc.message = "the bundled model '" + name + "' (" + it->weight_files.front() +
                      ") is missing from every models folder:" + where + "\nReinstall Mirada or set MIRADA_MODELS_DIR";
    } else {
        loc.message = "no weights for '" + name + "' were found. Download " + it->weight_files.front() + " from " +
                      it->download_url + " and put it in one of:" + where;
    }
    return loc;
}

namespace {
void checkHashInName(const fs::path& file, const std::string& digest) {
    static const std::regex pattern(R"(^.+-([0-9a-f]{8,64})\.(pth|pt|pth\.tar)$)");
    std::smatch m;
    const std::string fname = file.filename().string();
    if (std::regex_match(fname, m, pattern)) {
        const std::string prefix = m[1].str();
        if (digest.compare(0, prefix.size(), prefix) != 0)
            throw Error("'" + file.string() + "' is damaged or incomplete: its name says its SHA-256 starts with " +
                        prefix + ", but it is " + digest.substr(0, 16) + "...; download it again");
    }
}
}  // namespace

std::string verifyHashInName(const fs::path& file) {
    const std::string digest = sha256File(file);
    checkHashInName(file, digest);
    return digest;
}

LoadedModel loadModel(const std::string& spec, const ModelLoadOptions& options) {
    if (spec.empty()) throw Error("no model given: name a zoo model (fashion-cnn, resnet50, vgg16) or a file");
    configureIntraOpThreads();
    LoadedModel out;
    const ModelSource src = resolveSource(spec);
    // The file is read once to build the model; its SHA-256 (for reports and
    // the "-<hex>" name check) is computed meanwhile on a second thread. A
    // damaged download is reported as such even when parsing fails first.
    std::future<std::string> digest = std::async(std::launch::async, [f = src.file] { return sha256File(f); });
    auto checkDigest = [&] {
        const std::string sha = digest.get();
        if (options.verify_hash_in_name) checkHashInName(src.file, sha);
        return sha;
    };
    std::unique_ptr<Model> model;
    try {
        model = src.format == WeightFileFormat::TorchScript ? buildFromTorchScript(src) : buildFromStateDict(src);
    } catch (...) {
        if (digest.valid()) checkDigest();  // throws the clearer "damaged" message when the hash says so
        throw;
    }
    const_cast<ModelInfo&>(model->info()).weights_sha256 = checkDigest();

    std::string notice;
    const auto device = resolveDevice(options.device, &notice);
    if (!notice.empty()) out.notices.push_back(notice);
    if (device != model->device()) model->to(device);
    // On CUDA let cuDNN time its convolution algorithms once per input shape and
    // keep the fastest: every batch of a run has the same shape.
    if (device.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);
    // Build the optimized evaluation path now (fast_eval.hpp), so that a model
    // it cannot serve is reported at load time and falls back to the plain forward.
    if (std::string n = model->prepareEvaluation(); !n.empty()) out.notices.push_back(n);
    out.model = std::move(model);
    return out;
}

}  // namespace mirada
