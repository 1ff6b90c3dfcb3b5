#include "models/model_zoo.hpp"

#include <ATen/Context.h>

#include <unistd.h>

#include <algorithm>
#include <optional>
#include <cstdlib>
#include <mutex>
#include <regex>
#include <thread>

#include "common/error.hpp"
#include "common/file_checks.hpp"
#include "common/sha256.hpp"
#include "models/descriptor.hpp"
#include "models/imagenet_labels.hpp"
#include "models/native_nets.hpp"
#include "models/state_dict_reader.hpp"
#include "models/torchscript_model.hpp"

namespace fs = std::filesystem;

namespace mirada {
namespace {

fs::path executableDir() {
    std::error_code ec;
    auto p = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::path() : p.parent_path();
}

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

std::unique_ptr<Model> loadStateDictModel(const fs::path& file, const std::string& nameHint) {
    StateDict sd = readStateDict(file);
    std::string removed;
    stripWrapperPrefixes(sd, &removed);
    std::optional<NativeArch> arch = recogniseNativeArch(sd);
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
                    "' holds a state dict that is not a torchvision ResNet or VGG (it looks like " +
                    describeStateDict(sd) + "; its first tensors: " + keys +
                    "). Mirada builds torchvision's ResNet, ResNeXt, Wide ResNet and VGG networks from their weight "
                    "files (`mirada-cli models` lists them); for any other network export it to TorchScript "
                    "(torch.jit.script(model).save(\"m.pt\")) and load that, with a .json descriptor beside it");
    }
    ModelInfo info = nativeInfo(nameHint.empty() ? arch->name : nameHint, *arch);
    info.weights_file = fs::absolute(file).string();
    return makeNativeModel(*arch, sd, info);
}

// A descriptor with "weights": the architecture recognised from the file
// (checked against "architecture" when given), labels, preprocessing and
// target layer from the descriptor where it sets them.
std::unique_ptr<Model> loadDescribedWeights(const ModelDescriptor& d) {
    const std::string where = "model descriptor '" + d.file.string() + "'";
    StateDict sd = readStateDict(d.weights);
    stripWrapperPrefixes(sd, nullptr);
    const std::optional<NativeArch> arch = recogniseNativeArch(sd);
    if (!arch)
        throw Error(where + ": \"weights\" names '" + d.weights.string() +
                    "', which is not a torchvision ResNet or VGG (it looks like " + describeStateDict(sd) +
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

std::unique_ptr<Model> loadWeightsFile(const fs::path& file, const std::string& zooName) {
    const auto fmt = sniffWeightFileFormat(file);
    switch (fmt) {
        case WeightFileFormat::PickleZip:
        case WeightFileFormat::PickleLegacy: return loadStateDictModel(file, zooName);
        case WeightFileFormat::TorchScript: {
            // A descriptor beside it (same stem, .json) describes it.
            auto desc = file;
            desc.replace_extension(".json");
            if (fs::exists(desc)) {
                auto d = readModelDescriptor(desc);
                if (fs::equivalent(d.torchscript, file)) return loadTorchScriptModel(d.torchscript, d.info);
            }
            ModelInfo info = defaultTorchScriptInfo(file);
            if (!zooName.empty()) info = imagenetInfo(zooName, zooName);
            info.architecture = "torchscript";
            return loadTorchScriptModel(file, info);
        }
        case WeightFileFormat::Unknown: break;
    }
    throw Error("'" + file.string() +
                "' is neither a PyTorch weight file (.pth, zip or legacy format) nor a "
                "TorchScript archive. If it was downloaded, the download may be incomplete: get it again");
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
    static const std::vector<ZooEntry> zoo = {
        {"fashion-cnn",
         "Small CNN trained on Fashion-MNIST (28x28 grey, 10 classes); bundled",
         {"fashion-cnn/fashion-cnn.json"},
         ""},
        {"resnet50",
         "ResNet-50 v1.5, ImageNet-1k (torchvision weights)",
         {"resnet50-11ad3fa6.pth", "resnet50-0676ba61.pth", "resnet50.pth", "resnet50.pt"},
         "https://download.pytorch.org/models/resnet50-11ad3fa6.pth"},
        {"vgg16",
         "VGG-16, ImageNet-1k (torchvision weights)",
         {"vgg16-397923af.pth", "vgg16.pth", "vgg16.pt"},
         "https://download.pytorch.org/models/vgg16-397923af.pth"},
    };
    return zoo;
}

std::vector<fs::path> modelSearchDirs() {
    std::vector<fs::path> dirs;
    if (const char* d = std::getenv("MIRADA_MODELS_DIR"); d && *d) dirs.emplace_back(d);
    const auto exe = executableDir();
    if (!exe.empty()) {
        if (fs::exists(exe / "../share/mirada/models"))
            dirs.push_back(fs::weakly_canonical(exe / "../share/mirada/models"));
    }
    dirs.push_back(fs::path(MIRADA_SOURCE_DIR) / "models");
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
        for (const auto& e : zoo) names += (names.empty() ? "" : ", ") + e.name;
        loc.message =
            "unknown model '" + name + "'; the zoo has " + names + ", or give a path to a .pth, .pt or .json file";
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

std::string verifyHashInName(const fs::path& file) {
    static const std::regex pattern(R"(^.+-([0-9a-f]{8,64})\.(pth|pt|pth\.tar)$)");
    const std::string digest = sha256File(file);
    std::smatch m;
    const std::string fname = file.filename().string();
    if (std::regex_match(fname, m, pattern)) {
        const std::string prefix = m[1].str();
        if (digest.compare(0, prefix.size(), prefix) != 0)
            throw Error("'" + file.string() + "' is damaged or incomplete: its name says its SHA-256 starts with " +
                        prefix + ", but it is " + digest.substr(0, 16) + "...; download it again");
    }
    return digest;
}

LoadedModel loadModel(const std::string& spec, const ModelLoadOptions& options) {
    if (spec.empty()) throw Error("no model given: name a zoo model (fashion-cnn, resnet50, vgg16) or a file");
    configureIntraOpThreads();
    LoadedModel out;
    fs::path file;
    std::string zooName;
    const fs::path asPath(spec);
    const bool looksLikeFile = asPath.has_extension() || spec.find('/') != std::string::npos;
    if (looksLikeFile) {
        // Before anything opens it: a FIFO or device would block or never end, a symlink loop would throw.
        if (requireRegularFile(asPath, "model file") == 0) throw Error("model file '" + spec + "' is empty (0 bytes)");
        file = asPath;
    } else {
        auto loc = locateZooModel(spec);
        if (!loc.found) throw Error(loc.message);
        file = loc.file;
        zooName = spec;
    }

    std::string digest = options.verify_hash_in_name ? verifyHashInName(file) : std::string();
    std::unique_ptr<Model> model;
    if (file.extension() == ".json") {
        auto d = readModelDescriptor(file);
        if (!d.weights.empty()) {
            model = loadDescribedWeights(d);
            digest = sha256File(d.weights);
        } else {
            model = loadTorchScriptModel(d.torchscript, d.info);
            digest = sha256File(d.torchscript);
        }
    } else {
        model = loadWeightsFile(file, zooName);
        if (digest.empty()) digest = sha256File(file);
    }
    const_cast<ModelInfo&>(model->info()).weights_sha256 = digest;

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
