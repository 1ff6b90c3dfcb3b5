// Native VGG16 / ResNet50 (torchvision layouts) implementing mirada::Model.
//
// Each network is a tree of torch::nn modules registered under torchvision's
// attribute names, so named_parameters()/named_buffers()/named_modules() give
// torchvision's keys in torchvision's order. The forward passes are written
// once; every sub-forward reports "path -> output" to an optional Tap, which
// either captures one path (forwardWithTap) or records every output shape
// (layers()). No operation works in place, so a captured tensor stays what the
// module returned and remains part of the autograd graph.
#include "models/native_nets.hpp"
#include "models/scripted_nets.hpp"

#include "common/error.hpp"
#include "models/failure_text.hpp"
#include "models/fast_eval.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

namespace mirada {
namespace {

using torch::Tensor;
namespace nn = torch::nn;

// Module constructors draw their default initialisation from the global
// generator; put its state back so the Random factories leave it untouched.
class GlobalRngRestorer {
public:
    GlobalRngRestorer() : gen_(at::detail::getDefaultCPUGenerator()), state_(gen_.get_state()) {}
    ~GlobalRngRestorer() { gen_.set_state(state_); }

private:
    at::Generator gen_;
    Tensor state_;
};

// ---------------------------------------------------------------------------
// Tap: where sub-forwards report their outputs.

struct Tap {
    const std::string* target = nullptr;  // capture this path (last report wins)
    Tensor captured;
    bool record_shapes = false;  // record the output shape of every path
    std::unordered_map<std::string, std::vector<int64_t>> shapes;
    const std::string* replace = nullptr;  // pass `replacement` on instead of this path's output
    Tensor replacement;
    int replaced = 0;

    Tensor report(const std::string& path, const Tensor& t) {
        if (record_shapes) shapes[path] = t.sizes().vec();
        if (target != nullptr && *target == path) captured = t;
        if (replace != nullptr && *replace == path) {
            // A module called more than once (ResNet's shared relu) has no single output to replace.
            if (replaced++ > 0)
                throw Error("module '" + path +
                            "' runs more than once in the forward pass, so its output cannot be replaced; "
                            "choose the block or layer that contains it");
            if (replacement.sizes() != t.sizes())
                throw Error("the replacement for the output of '" + path + "' has shape " +
                            c10::str(replacement.sizes()) + " but the layer gives " + c10::str(t.sizes()));
            return replacement;
        }
        return t;
    }
};

inline Tensor rep(Tap* tap, const std::string& path, const Tensor& t) {
    if (tap != nullptr) return tap->report(path, t);
    return t;
}

std::string join(const std::string& prefix, const std::string& name) {
    return prefix.empty() ? name : prefix + "." + name;
}

// Runs a torch::nn::Sequential of single-input modules child by child,
// reporting each child's output and then the Sequential's.
struct SeqRunner {
    nn::Sequential seq{nullptr};
    std::string path;
    std::vector<std::string> child_paths;

    void init(nn::Sequential s, const std::string& p) {
        seq = std::move(s);
        path = p;
        child_paths.clear();
        for (size_t i = 0; i < seq->size(); ++i) child_paths.push_back(join(p, std::to_string(i)));
    }
    Tensor run(Tensor x, Tap* tap) {
        size_t i = 0;
        for (auto& m : *seq) {
            x = rep(tap, child_paths[i++], m.forward(x));
        }
        return rep(tap, path, x);
    }
};

// Base of the two networks: a module with a tap-aware forward.
class NetModule : public nn::Module {
public:
    explicit NetModule(std::string name) : nn::Module(std::move(name)) {}
    virtual Tensor run(const Tensor& x, Tap* tap) = 0;
};

// ---------------------------------------------------------------------------
// VGG 11/13/16/19 with or without batch norm (torchvision cfg A/B/D/E).

class VggNet : public NetModule {
public:
    explicit VggNet(const NativeArch& arch) : NetModule("VGG") {
        nn::Sequential features;
        int64_t in = 3;
        for (int v : arch.cfg) {
            if (v < 0) {
                features->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(2).stride(2)));
            } else {
                features->push_back(nn::Conv2d(nn::Conv2dOptions(in, v, 3).padding(1)));
                if (arch.batch_norm) features->push_back(nn::BatchNorm2d(v));
                features->push_back(nn::ReLU());
                in = v;
            }
        }
        features_.init(register_module("features", features), "features");
        avgpool_ = register_module("avgpool", nn::AdaptiveAvgPool2d(nn::AdaptiveAvgPool2dOptions({7, 7})));
        nn::Sequential classifier(nn::Linear(in * 7 * 7, 4096), nn::ReLU(), nn::Dropout(0.5), nn::Linear(4096, 4096),
                                  nn::ReLU(), nn::Dropout(0.5), nn::Linear(4096, arch.classes));
        classifier_.init(register_module("classifier", classifier), "classifier");
    }

    Tensor run(const Tensor& input, Tap* tap) override {
        Tensor x = features_.run(input, tap);
        x = rep(tap, "avgpool", avgpool_(x));
        x = torch::flatten(x, 1);
        return classifier_.run(x, tap);
    }

    // torchvision VGG._initialize_weights
    void initRandom(at::Generator& gen) {
        torch::NoGradGuard no_grad;
        for (auto& m : modules(false)) {
            if (auto* conv = m->as<nn::Conv2d>()) {
                const auto& w = conv->weight;
                const double fan_out = static_cast<double>(w.size(0) * w.size(2) * w.size(3));
                w.normal_(0.0, std::sqrt(2.0 / fan_out), gen);
                conv->bias.zero_();
            } else if (auto* bn = m->as<nn::BatchNorm2d>()) {
                bn->weight.fill_(1.0);
                bn->bias.zero_();
            } else if (auto* lin = m->as<nn::Linear>()) {
                lin->weight.normal_(0.0, 0.01, gen);
                lin->bias.zero_();
            }
        }
    }

private:
    SeqRunner features_;
    nn::AdaptiveAvgPool2d avgpool_{nullptr};
    SeqRunner classifier_;
};

// ---------------------------------------------------------------------------
// The ResNet family (torchvision resnet.py): BasicBlock (ResNet-18/34) or
// Bottleneck v1.5 (stride on the 3x3 conv2; ResNet-50/101/152, ResNeXt with
// grouped conv2, Wide ResNet with wider conv2).

class ResBlockImpl : public nn::Module {
public:
    ResBlockImpl(const std::string& path, const NativeArch& arch, int64_t inplanes, int64_t planes, int64_t stride)
        : nn::Module(arch.bottleneck ? "Bottleneck" : "BasicBlock"), path_(path), bottleneck_(arch.bottleneck) {
        const int64_t out = planes * expansion(arch);
        if (bottleneck_) {
            const int64_t width = planes * arch.width_per_group / 64 * arch.groups;
            conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(inplanes, width, 1).bias(false)));
            bn1 = register_module("bn1", nn::BatchNorm2d(width));
            conv2 = register_module(
                "conv2",
                nn::Conv2d(
                    nn::Conv2dOptions(width, width, 3).stride(stride).padding(1).groups(arch.groups).bias(false)));
            bn2 = register_module("bn2", nn::BatchNorm2d(width));
            conv3 = register_module("conv3", nn::Conv2d(nn::Conv2dOptions(width, out, 1).bias(false)));
            bn3 = register_module("bn3", nn::BatchNorm2d(out));
        } else {
            conv1 = register_module(
                "conv1", nn::Conv2d(nn::Conv2dOptions(inplanes, planes, 3).stride(stride).padding(1).bias(false)));
            bn1 = register_module("bn1", nn::BatchNorm2d(planes));
            conv2 = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(planes, planes, 3).padding(1).bias(false)));
            bn2 = register_module("bn2", nn::BatchNorm2d(planes));
        }
        relu = register_module("relu", nn::ReLU());
        if (stride != 1 || inplanes != out) {
            nn::Sequential ds(nn::Conv2d(nn::Conv2dOptions(inplanes, out, 1).stride(stride).bias(false)),
                              nn::BatchNorm2d(out));
            downsample_.init(register_module("downsample", ds), join(path, "downsample"));
        }
        for (const char* n : {"conv1", "bn1", "conv2", "bn2", "conv3", "bn3", "relu"}) p_.push_back(join(path, n));
    }

    static int64_t expansion(const NativeArch& arch) { return arch.bottleneck ? 4 : 1; }

    Tensor forward(const Tensor& x, Tap* tap) {
        Tensor out = rep(tap, p_[0], conv1(x));
        out = rep(tap, p_[1], bn1(out));
        out = rep(tap, p_[6], relu(out));
        out = rep(tap, p_[2], conv2(out));
        out = rep(tap, p_[3], bn2(out));
        if (bottleneck_) {
            out = rep(tap, p_[6], relu(out));
            out = rep(tap, p_[4], conv3(out));
            out = rep(tap, p_[5], bn3(out));
        }
        Tensor identity = downsample_.seq ? downsample_.run(x, tap) : x;
        out = rep(tap, p_[6], relu(out + identity));
        return rep(tap, path_, out);
    }

    nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
    nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
    nn::ReLU relu{nullptr};

private:
    std::string path_;
    bool bottleneck_;
    std::vector<std::string> p_;
    SeqRunner downsample_;
};

// A torchvision "layerN" Sequential of blocks; children named "0", "1", ...
class BlockStackImpl : public nn::Module {
public:
    BlockStackImpl(const std::string& path, const NativeArch& arch, int64_t& inplanes, int64_t planes, int blocks,
                   int64_t stride)
        : nn::Module("Sequential"), path_(path) {
        for (int i = 0; i < blocks; ++i) {
            auto b = std::make_shared<ResBlockImpl>(join(path, std::to_string(i)), arch, inplanes, planes,
                                                    i == 0 ? stride : 1);
            blocks_.push_back(register_module(std::to_string(i), b));
            inplanes = planes * ResBlockImpl::expansion(arch);
        }
    }
    Tensor forward(Tensor x, Tap* tap) {
        for (auto& b : blocks_) x = b->forward(x, tap);
        return rep(tap, path_, x);
    }

private:
    std::string path_;
    std::vector<std::shared_ptr<ResBlockImpl>> blocks_;
};

class ResNetNet : public NetModule {
public:
    explicit ResNetNet(const NativeArch& arch) : NetModule("ResNet") {
        conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(3, 64, 7).stride(2).padding(3).bias(false)));
        bn1 = register_module("bn1", nn::BatchNorm2d(64));
        relu = register_module("relu", nn::ReLU());
        maxpool = register_module("maxpool", nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2).padding(1)));
        int64_t inplanes = 64;
        const int64_t planes[] = {64, 128, 256, 512};
        for (int i = 0; i < 4; ++i) {
            const std::string name = "layer" + std::to_string(i + 1);
            layers_.push_back(register_module(
                name,
                std::make_shared<BlockStackImpl>(name, arch, inplanes, planes[i], arch.blocks.at(i), i == 0 ? 1 : 2)));
        }
        avgpool = register_module("avgpool", nn::AdaptiveAvgPool2d(nn::AdaptiveAvgPool2dOptions({1, 1})));
        fc = register_module("fc", nn::Linear(512 * ResBlockImpl::expansion(arch), arch.classes));
    }

    Tensor run(const Tensor& input, Tap* tap) override {
        Tensor x = rep(tap, "conv1", conv1(input));
        x = rep(tap, "bn1", bn1(x));
        x = rep(tap, "relu", relu(x));
        x = rep(tap, "maxpool", maxpool(x));
        for (auto& l : layers_) x = l->forward(x, tap);
        x = rep(tap, "avgpool", avgpool(x));
        x = torch::flatten(x, 1);
        return rep(tap, "fc", fc(x));
    }

    // torchvision ResNet.__init__ initialisation (zero_init_residual=False);
    // fc keeps PyTorch's default Linear initialisation.
    void initRandom(at::Generator& gen) {
        torch::NoGradGuard no_grad;
        for (auto& m : modules(false)) {
            if (auto* conv = m->as<nn::Conv2d>()) {
                const auto& w = conv->weight;
                const double fan_out = static_cast<double>(w.size(0) * w.size(2) * w.size(3));
                w.normal_(0.0, std::sqrt(2.0 / fan_out), gen);
            } else if (auto* bn = m->as<nn::BatchNorm2d>()) {
                bn->weight.fill_(1.0);
                bn->bias.zero_();
            }
        }
        const double bound = 1.0 / std::sqrt(static_cast<double>(fc->weight.size(1)));
        fc->weight.uniform_(-bound, bound, gen);
        fc->bias.uniform_(-bound, bound, gen);
    }

    nn::Conv2d conv1{nullptr};
    nn::BatchNorm2d bn1{nullptr};
    nn::ReLU relu{nullptr};
    nn::MaxPool2d maxpool{nullptr};
    nn::AdaptiveAvgPool2d avgpool{nullptr};
    nn::Linear fc{nullptr};

private:
    std::vector<std::shared_ptr<BlockStackImpl>> layers_;
};

std::shared_ptr<NetModule> buildNet(const NativeArch& arch) {
    if (arch.family == "resnet") return std::make_shared<ResNetNet>(arch);
    if (arch.family == "vgg") return std::make_shared<VggNet>(arch);
    throw Error("no native network family '" + arch.family + "'");
}

void initRandomNet(NetModule& net, at::Generator& gen) {
    if (auto* r = dynamic_cast<ResNetNet*>(&net)) r->initRandom(gen);
    if (auto* v = dynamic_cast<VggNet*>(&net)) v->initRandom(gen);
}

// ---------------------------------------------------------------------------
// State dict helpers.

std::string shapeStr(const Tensor& t) {
    if (!t.defined()) return "undefined";
    std::ostringstream s;
    s << '[';
    for (int64_t i = 0; i < t.dim(); ++i) s << (i ? ", " : "") << t.size(i);
    s << ']';
    return s.str();
}

bool startsWith(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }
bool endsWith(const std::string& s, const std::string& p) {
    return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

// What a state dict looks like, for messages.
struct Guess {
    std::string arch;      // "vgg16", "resnet50", ... ; empty when unrecognised
    std::string text;      // human description
    int64_t classes = -1;  // output classes when known
    std::string prefix;    // a common "module." style prefix, if any
};

Guess guessArchitecture(const StateDict& weights) {
    Guess g;
    if (weights.empty()) {
        g.text = "an empty state dict (no tensors)";
        return g;
    }
    // Common prefix from DataParallel / wrappers.
    for (const char* p : {"module.", "model.", "net."}) {
        if (std::all_of(weights.begin(), weights.end(), [&](const NamedTensor& n) { return startsWith(n.name, p); })) {
            g.prefix = p;
            break;
        }
    }
    std::map<std::string, Tensor> m;
    for (const auto& n : weights) m[n.name.substr(g.prefix.size())] = n.tensor;
    auto has = [&](const std::string& k) { return m.count(k) > 0; };
    auto size0 = [&](const std::string& k) -> int64_t {
        auto it = m.find(k);
        return (it != m.end() && it->second.defined() && it->second.dim() >= 1) ? it->second.size(0) : -1;
    };

    std::ostringstream text;
    StateDict stripped;
    for (const auto& n : weights) stripped.push_back({n.name.substr(g.prefix.size()), n.tensor});
    if (const auto native = recogniseNativeArch(stripped)) {
        g.arch = native->name;
        g.classes = native->classes;
        text << "torchvision " << native->name;
    } else if (has("features.0.weight") && (has("classifier.6.weight") || has("classifier.0.weight"))) {
        int convs = 0;
        bool bn = false;
        for (const auto& [k, t] : m) {
            if (startsWith(k, "features.") && endsWith(k, ".weight") && t.defined() && t.dim() == 4) ++convs;
            if (startsWith(k, "features.") && endsWith(k, ".running_mean")) bn = true;
        }
        std::string arch;
        if (convs == 5 && !bn)
            arch = "alexnet";
        else if (convs == 8)
            arch = "vgg11";
        else if (convs == 10)
            arch = "vgg13";
        else if (convs == 13)
            arch = "vgg16";
        else if (convs == 16)
            arch = "vgg19";
        if (!arch.empty() && bn) arch += "_bn";
        g.arch = arch;
        g.classes = has("classifier.6.weight") ? size0("classifier.6.weight") : -1;
        text << "torchvision "
             << (arch.empty() ? "VGG-style network (" + std::to_string(convs) + " convolutions)" : arch);
    } else if (has("conv1.weight") && has("layer1.0.conv1.weight") && has("fc.weight")) {
        const bool bottleneck = has("layer1.0.conv3.weight");
        int layer3 = 0;
        while (has("layer3." + std::to_string(layer3) + ".conv1.weight")) ++layer3;
        std::string arch;
        if (bottleneck) {
            const int64_t width = size0("layer1.0.conv2.weight");
            const auto it = m.find("layer1.0.conv2.weight");
            const bool grouped =
                it != m.end() && it->second.defined() && it->second.dim() == 4 && it->second.size(1) != width;
            if (grouped)
                arch = "ResNeXt";
            else if (width != 64)
                arch = "wide ResNet";
            else if (layer3 == 6)
                arch = "resnet50";
            else if (layer3 == 23)
                arch = "resnet101";
            else if (layer3 == 36)
                arch = "resnet152";
            else
                arch = "ResNet with Bottleneck blocks";
        } else {
            arch = layer3 == 2 ? "resnet18" : layer3 == 6 ? "resnet34" : "ResNet with BasicBlocks";
        }
        g.arch = arch;
        g.classes = size0("fc.weight");
        text << "torchvision " << arch;
    } else {
        text << "an unrecognised network (first tensors: ";
        for (size_t i = 0; i < std::min<size_t>(3, weights.size()); ++i)
            text << (i ? ", " : "") << weights[i].name << ' ' << shapeStr(weights[i].tensor);
        text << (weights.size() > 3 ? ", ..." : "") << ")";
    }
    if (g.classes > 0) text << " with " << g.classes << " output classes";
    text << ", " << weights.size() << " tensors";
    if (!g.prefix.empty()) text << ", every name prefixed with '" << g.prefix << "'";
    g.text = text.str();
    return g;
}

void loadWeights(nn::Module& net, const StateDict& weights, const std::string& arch) {
    // Expected tensors in torchvision order.
    std::vector<std::pair<std::string, Tensor>> expected;
    for (const auto& p : net.named_parameters(true)) expected.emplace_back(p.key(), p.value());
    for (const auto& b : net.named_buffers(true)) expected.emplace_back(b.key(), b.value());

    std::unordered_map<std::string, const Tensor*> given;
    for (const auto& n : weights) given[n.name] = &n.tensor;
    std::unordered_set<std::string> expected_names;
    for (const auto& e : expected) expected_names.insert(e.first);

    std::vector<std::string> missing, wrong_shape, unexpected;
    size_t missing_count = 0, wrong_count = 0, unexpected_count = 0;
    for (const auto& [name, dst] : expected) {
        auto it = given.find(name);
        if (it == given.end()) {
            // Files saved before PyTorch 0.4.1 have no num_batches_tracked; PyTorch
            // itself accepts them, so do we (the counter plays no part in eval mode).
            if (endsWith(name, ".num_batches_tracked")) continue;
            if (++missing_count <= 5) missing.push_back(name + " (expected " + shapeStr(dst) + ")");
        } else if (!it->second->defined() || it->second->sizes() != dst.sizes()) {
            if (++wrong_count <= 5)
                wrong_shape.push_back(name + " (expected " + shapeStr(dst) + ", file has " + shapeStr(*it->second) +
                                      ")");
        }
    }
    std::unordered_set<std::string> seen;
    for (const auto& n : weights) {
        if (expected_names.count(n.name) || !seen.insert(n.name).second) continue;
        if (++unexpected_count <= 5) unexpected.push_back(n.name + " " + shapeStr(n.tensor));
    }

    if (missing_count + wrong_count + unexpected_count > 0) {
        const Guess g = guessArchitecture(weights);
        std::ostringstream msg;
        msg << "The weights do not fit the native " << arch << " (torchvision " << arch
            << " layout): the file looks like " << g.text << ".";
        auto list = [&](const char* what, size_t count, const std::vector<std::string>& names) {
            if (count == 0) return;
            msg << "\n  " << count << ' ' << what
                << (count > names.size() ? ", first " + std::to_string(names.size()) : "") << ": ";
            for (size_t i = 0; i < names.size(); ++i) msg << (i ? "; " : "") << names[i];
        };
        list("missing", missing_count, missing);
        list("unexpected", unexpected_count, unexpected);
        list("with the wrong shape", wrong_count, wrong_shape);
        msg << "\n";
        if (!g.prefix.empty()) {
            msg << "Every name starts with '" << g.prefix
                << "' (a model saved through nn.DataParallel or a wrapper): re-save it with the inner "
                   "module's state_dict(), e.g. torch.save(model.module.state_dict(), path).";
        } else if (g.arch == arch && g.classes > 0 && wrong_count > 0) {
            msg << "This " << arch << " has " << g.classes
                << " output classes where this network was built with another head; load the file by its path "
                   "(--model FILE) and Mirada builds it with its "
                << g.classes << " classes.";
        } else if (missing_count > 0 && unexpected_count == 0 && wrong_count == 0) {
            msg << "Everything in the file fits, but " << missing_count << " tensor"
                << (missing_count == 1 ? " is" : "s are")
                << " missing: the file is incomplete (an interrupted save or download, or a network saved without "
                   "its classifier head). Download it again, or save the whole network's state_dict().";
        } else if (!g.arch.empty() && g.arch != arch) {
            msg << "Load it as the '" << g.arch << "' architecture instead of '" << arch << "'.";
        } else {
            msg << "Native models are torchvision's ResNet and VGG families (mirada-cli models lists them); for "
                   "any other network export TorchScript (torch.jit.script or torch.jit.trace, then .save) and load "
                   "the .pt file with a JSON descriptor.";
        }
        throw Error(msg.str());
    }

    torch::NoGradGuard no_grad;
    for (auto& [name, dst] : expected) {
        auto it = given.find(name);
        if (it == given.end()) continue;  // tolerated num_batches_tracked
        dst.copy_(*it->second);
    }
}

// ---------------------------------------------------------------------------
// The Model.

std::string kindOf(const nn::Module& m) {
    std::string n = m.name();
    const auto colon = n.rfind("::");
    if (colon != std::string::npos) n = n.substr(colon + 2);
    if (endsWith(n, "Impl")) n.resize(n.size() - 4);
    return n;
}

class NativeModel final : public Model {
public:
    NativeModel(std::shared_ptr<NetModule> net, ModelInfo info, std::string arch)
        : info_(std::move(info)), net_(std::move(net)), arch_(std::move(arch)) {
        net_->eval();
        for (const auto& item : net_->named_modules("", false)) {
            paths_.push_back(item.key());
            kinds_.push_back(kindOf(*item.value()));
        }
        path_set_.insert(paths_.begin(), paths_.end());
        for (const auto& p : net_->parameters(true)) parameter_count_ += p.numel();
        // The optimized inference form (fast_eval.hpp): a TorchScript module
        // generated from the same tensors, frozen (BN folded into the convs) and
        // optimized (oneDNN). Every parameter and buffer is watched, so an
        // in-place change (the sanity check's randomisation) rebuilds it.
        std::vector<Tensor> watched;
        for (const auto& p : net_->parameters(true)) watched.push_back(p);
        for (const auto& b : net_->buffers(true)) watched.push_back(b);
        fast_ = std::make_unique<FastEvaluator>(
            info_.name.empty() ? arch_ : info_.name,
            [module = net_, name = arch_] {
                std::vector<std::pair<std::string, Tensor>> tensors;
                for (const auto& p : module->named_parameters(true)) tensors.emplace_back(p.key(), p.value());
                for (const auto& b : module->named_buffers(true)) tensors.emplace_back(b.key(), b.value());
                return scriptNativeNetwork(name, tensors);
            },
            std::move(watched));
    }

    const ModelInfo& info() const override { return info_; }

    Tensor forward(const Tensor& batch) override {
        try {
            torch::InferenceMode guard;
            Tensor x = prepare(batch);
            if (fast_->ready()) return fast_->forward(x);
            net_->eval();
            return net_->run(x, nullptr);
        } catch (const Error&) {
            throw;
        } catch (const c10::OutOfMemoryError&) {
            throw;  // forwardSplittingOnOom retries with smaller batches
        } catch (const std::exception& e) {
            throw Error(forwardFailureMessage(info_.weights_file.empty() ? info_.name : info_.weights_file, batch, e));
        }
    }

    std::string evaluationPath() const override { return fast_->description(); }
    void setOptimizedEvaluation(bool on) override { fast_->setEnabled(on); }
    std::string prepareEvaluation() override {
        fast_->ready();
        return fast_->notice();
    }
    Precision setEvaluationPrecision(Precision p, std::string* notice) override {
        const auto& in = info_.input;
        return fast_->setPrecision(p, {1, in.channels, in.height, in.width}, notice);
    }
    Precision evaluationPrecision() const override { return fast_->precision(); }

    TapResult forwardWithTap(const Tensor& batch, const std::string& layer) override {
        if (!path_set_.count(layer)) throw Error(unknownLayerMessage(layer));
        c10::InferenceMode no_inference(false);
        torch::AutoGradMode grad(true);
        net_->eval();
        Tensor x = prepare(batch);
        // An inference tensor cannot be saved for backward; make a normal copy.
        if (x.is_inference()) x = x.clone();
        Tap tap;
        tap.target = &layer;
        TapResult r;
        r.output = net_->run(x, &tap);
        r.activation = tap.captured;
        if (!r.activation.defined())
            throw Error("internal error: layer '" + layer + "' of " + arch_ + " produced no output to capture");
        return r;
    }

    Tensor forwardReplacingLayer(const Tensor& batch, const std::string& layer, const Tensor& replacement) override {
        if (!path_set_.count(layer)) throw Error(unknownLayerMessage(layer));
        try {
            torch::InferenceMode guard;
            net_->eval();
            Tap tap;
            tap.replace = &layer;
            tap.replacement = replacement;
            Tensor out = net_->run(prepare(batch), &tap);
            if (tap.replaced == 0)
                throw Error("internal error: layer '" + layer + "' of " + arch_ + " produced no output to replace");
            return out;
        } catch (const Error&) {
            throw;
        } catch (const c10::OutOfMemoryError&) {
            throw;
        } catch (const std::exception& e) {
            throw Error(forwardFailureMessage(info_.weights_file.empty() ? info_.name : info_.weights_file, batch, e));
        }
    }

    std::vector<LayerInfo> layers() override {
        if (!layers_) {
            const int64_t h = std::max(info_.input.height, 32), w = std::max(info_.input.width, 32);
            Tap tap;
            tap.record_shapes = true;
            {
                torch::InferenceMode guard;
                net_->eval();
                net_->run(torch::zeros({1, 3, h, w}, torch::TensorOptions().device(device_)), &tap);
            }
            std::vector<LayerInfo> out;
            for (size_t i = 0; i < paths_.size(); ++i) {
                LayerInfo li{paths_[i], kinds_[i], {}};
                auto it = tap.shapes.find(paths_[i]);
                if (it != tap.shapes.end()) li.output_shape = it->second;
                out.push_back(std::move(li));
            }
            layers_ = std::move(out);
        }
        return *layers_;
    }

    void to(torch::Device device) override {
        net_->to(device);
        device_ = device;
        fast_->invalidate();
    }
    torch::Device device() const override { return device_; }
    int64_t parameterCount() const override { return parameter_count_; }

    // Leaf modules in registration order, which is the forward order of both
    // networks (a Bottleneck's downsample comes after its conv3/bn3; it runs on
    // the block input in parallel, so either order is "below" the block's add).
    std::vector<ParameterGroup> parameterGroups() override {
        std::vector<ParameterGroup> leaves;
        for (const auto& item : net_->named_modules("", false)) {
            ParameterGroup g;
            const std::string kind = kindOf(*item.value());
            for (const auto& p : item.value()->named_parameters(false))
                g.parameters.push_back({item.key() + "." + p.key(), kind, p.value()});
            if (g.parameters.empty()) continue;
            g.name = item.key();
            g.modules = {item.key()};
            g.kinds = {kind};
            leaves.push_back(std::move(g));
        }
        return groupLayersTopDown(leaves);
    }

private:
    Tensor prepare(const Tensor& batch) const {
        if (!batch.defined() || batch.dim() != 4 || batch.size(1) != 3) {
            throw Error("The native " + arch_ + " expects a batch of shape [N, 3, H, W]; got " + shapeStr(batch) + ".");
        }
        if (batch.size(2) < 32 || batch.size(3) < 32) {
            throw Error("The native " + arch_ + " needs images of at least 32x32 pixels; got " +
                        std::to_string(batch.size(3)) + "x" + std::to_string(batch.size(2)) + ".");
        }
        Tensor x = batch;
        if (x.scalar_type() != torch::kFloat) x = x.to(torch::kFloat);
        if (x.device() != device_) x = x.to(device_);
        return x;
    }

    std::string unknownLayerMessage(const std::string& layer) const {
        std::ostringstream msg;
        msg << "Unknown layer '" << layer << "' in model '" << (info_.name.empty() ? arch_ : info_.name) << "' ("
            << arch_ << ").";
        // Did-you-mean: Python indexing "features[29]" or a wrapper prefix "model.layer4".
        std::string norm;
        for (char c : layer) {
            if (c == '[')
                norm += '.';
            else if (c != ']' && c != ' ')
                norm += c;
        }
        for (const char* p : {"model.", "module.", "net."})
            if (startsWith(norm, p) && path_set_.count(norm.substr(std::string(p).size())))
                norm = norm.substr(std::string(p).size());
        if (norm != layer && path_set_.count(norm)) msg << " Did you mean '" << norm << "'?";

        std::vector<std::string> shown;
        if (paths_.size() <= 60) {
            msg << " Valid layers: ";
            shown = paths_;
        } else {
            // Top level and one level below (blocks); the rest follow the same pattern.
            for (const auto& p : paths_)
                if (std::count(p.begin(), p.end(), '.') <= 1) shown.push_back(p);
            msg << " Valid layers include (top level and blocks): ";
        }
        for (size_t i = 0; i < shown.size(); ++i) msg << (i ? ", " : "") << shown[i];
        msg << ".";
        if (shown.size() < paths_.size()) {
            msg << " Their sub-modules can be tapped too (e.g. layer4.2.conv3, layer4.2.bn3, "
                   "layer3.0.downsample).";
        }
        msg << " Run `mirada-cli layers --model " << (info_.name.empty() ? arch_ : info_.name) << "` to list all "
            << paths_.size() << " with their output shapes.";
        return msg.str();
    }

    ModelInfo info_;
    std::shared_ptr<NetModule> net_;
    std::string arch_;
    torch::Device device_{torch::kCPU};
    std::vector<std::string> paths_;
    std::vector<std::string> kinds_;
    std::unordered_set<std::string> path_set_;
    int64_t parameter_count_ = 0;
    std::optional<std::vector<LayerInfo>> layers_;
    std::unique_ptr<FastEvaluator> fast_;
};

}  // namespace

std::string describeStateDict(const StateDict& weights) { return guessArchitecture(weights).text; }

namespace {

struct NamedArch {
    const char* name;
    const char* family;
    bool bottleneck;
    std::vector<int> blocks;
    int64_t groups, width_per_group;
    std::vector<int> cfg;
    bool batch_norm;
};

const std::vector<int> kVggA = {64, -1, 128, -1, 256, 256, -1, 512, 512, -1, 512, 512, -1};
const std::vector<int> kVggB = {64, 64, -1, 128, 128, -1, 256, 256, -1, 512, 512, -1, 512, 512, -1};
const std::vector<int> kVggD = {64, 64, -1, 128, 128, -1, 256, 256, 256, -1, 512, 512, 512, -1, 512, 512, 512, -1};
const std::vector<int> kVggE = {64,  64,  -1,  128, 128, -1,  256, 256, 256, 256, -1,
                                512, 512, 512, 512, -1,  512, 512, 512, 512, -1};

// torchvision 0.14's ResNet and VGG constructors.
const std::vector<NamedArch>& namedArchs() {
    static const std::vector<NamedArch> t = {
        {"resnet18", "resnet", false, {2, 2, 2, 2}, 1, 64, {}, false},
        {"resnet34", "resnet", false, {3, 4, 6, 3}, 1, 64, {}, false},
        {"resnet50", "resnet", true, {3, 4, 6, 3}, 1, 64, {}, false},
        {"resnet101", "resnet", true, {3, 4, 23, 3}, 1, 64, {}, false},
        {"resnet152", "resnet", true, {3, 8, 36, 3}, 1, 64, {}, false},
        {"resnext50_32x4d", "resnet", true, {3, 4, 6, 3}, 32, 4, {}, false},
        {"resnext101_32x8d", "resnet", true, {3, 4, 23, 3}, 32, 8, {}, false},
        {"resnext101_64x4d", "resnet", true, {3, 4, 23, 3}, 64, 4, {}, false},
        {"wide_resnet50_2", "resnet", true, {3, 4, 6, 3}, 1, 128, {}, false},
        {"wide_resnet101_2", "resnet", true, {3, 4, 23, 3}, 1, 128, {}, false},
        {"vgg11", "vgg", false, {}, 1, 64, kVggA, false},
        {"vgg11_bn", "vgg", false, {}, 1, 64, kVggA, true},
        {"vgg13", "vgg", false, {}, 1, 64, kVggB, false},
        {"vgg13_bn", "vgg", false, {}, 1, 64, kVggB, true},
        {"vgg16", "vgg", false, {}, 1, 64, kVggD, false},
        {"vgg16_bn", "vgg", false, {}, 1, 64, kVggD, true},
        {"vgg19", "vgg", false, {}, 1, 64, kVggE, false},
        {"vgg19_bn", "vgg", false, {}, 1, 64, kVggE, true},
    };
    return t;
}

NativeArch fromNamed(const NamedArch& n, int64_t classes) {
    NativeArch a;
    a.name = n.name;
    a.family = n.family;
    a.bottleneck = n.bottleneck;
    a.blocks = n.blocks;
    a.groups = n.groups;
    a.width_per_group = n.width_per_group;
    a.cfg = n.cfg;
    a.batch_norm = n.batch_norm;
    a.classes = classes;
    return a;
}

NativeArch fromScripted(const ScriptedArch& s) {
    NativeArch a;
    a.name = s.name;
    a.family = s.family;
    a.classes = s.classes;
    a.scripted = true;
    a.scripted_layer = s.defaultLayer;
    return a;
}

ScriptedArch toScripted(const NativeArch& a) { return ScriptedArch{a.name, a.family, a.classes, a.scripted_layer}; }

// The torchvision name of a structure, or "" when it has none.
std::string nameOf(const NativeArch& a) {
    for (const auto& n : namedArchs()) {
        const NativeArch b = fromNamed(n, a.classes);
        if (a.family != b.family) continue;
        const bool same = a.family == "resnet" ? (a.bottleneck == b.bottleneck && a.blocks == b.blocks &&
                                                  a.groups == b.groups && a.width_per_group == b.width_per_group)
                                               : (a.cfg == b.cfg && a.batch_norm == b.batch_norm);
        if (same) return n.name;
    }
    return "";
}

}  // namespace

std::string NativeArch::defaultLayer() const {
    if (scripted) return scripted_layer;
    if (family == "resnet") return "layer4";
    // VGG: the ReLU after the last convolution (features.29 for vgg16).
    int index = 0, lastRelu = -1;
    for (int v : cfg) {
        if (v < 0) {
            index += 1;
        } else {
            index += batch_norm ? 2 : 1;
            lastRelu = index;
            index += 1;
        }
    }
    return "features." + std::to_string(lastRelu);
}

std::vector<std::string> nativeArchNames() {
    std::vector<std::string> names;
    for (const auto& n : namedArchs()) names.push_back(n.name);
    for (const auto& n : scriptedArchNames()) names.push_back(n);
    return names;
}

NativeArch nativeArch(const std::string& name, int64_t classes) {
    for (const auto& n : namedArchs())
        if (name == n.name) return fromNamed(n, classes);
    if (auto s = scriptedArch(name, classes)) return fromScripted(*s);
    std::string all;
    for (const auto& n : nativeArchNames()) all += (all.empty() ? "" : ", ") + n;
    throw Error("no native network '" + name + "'; the native architectures are " + all);
}

std::optional<NativeArch> recogniseNativeArch(const StateDict& weights, std::string* nearMiss) {
    // The scripted families first: AlexNet and SqueezeNet have a "features.0"
    // convolution on 3 channels as VGG has.
    if (auto s = recogniseScriptedArch(weights, nearMiss)) return fromScripted(*s);
    if (nearMiss && !nearMiss->empty()) return std::nullopt;
    std::map<std::string, Tensor> m;
    for (const auto& n : weights) m[n.name] = n.tensor;
    auto has = [&](const std::string& k) { return m.count(k) > 0 && m.at(k).defined(); };
    auto dim = [&](const std::string& k, int64_t d) -> int64_t {
        if (!has(k) || m.at(k).dim() <= d) return -1;
        return m.at(k).size(d);
    };
    NativeArch a;
    if (has("conv1.weight") && has("layer1.0.conv1.weight") && (has("fc.weight") || has("layer4.0.conv1.weight"))) {
        a.family = "resnet";
        a.bottleneck = has("layer1.0.conv3.weight") || has("layer4.0.conv3.weight");
        for (int l = 1; l <= 4; ++l) {
            int b = 0;
            while (has("layer" + std::to_string(l) + "." + std::to_string(b) + ".conv1.weight")) ++b;
            a.blocks.push_back(b);
        }
        if (a.bottleneck) {
            const int64_t width = dim("layer1.0.conv2.weight", 0), perGroup = dim("layer1.0.conv2.weight", 1);
            if (width > 0 && perGroup > 0 && width % perGroup == 0) {
                a.groups = width / perGroup;
                a.width_per_group = width / a.groups;
            }
        }
        a.classes = has("fc.weight") ? dim("fc.weight", 0) : 1000;
    } else if (has("features.0.weight") && dim("features.0.weight", 1) == 3) {
        a.family = "vgg";
        a.bottleneck = false;
        a.batch_norm = has("features.1.running_mean");
        // features: conv [bn] relu ... with a max pool where a position holds no tensor.
        int last = -1;
        for (const auto& [k, t] : m) {
            if (k.rfind("features.", 0) != 0) continue;
            try {
                last = std::max(last, std::stoi(k.substr(9)));
            } catch (const std::exception&) {
            }
        }
        for (int i = 0; i <= last;) {
            const std::string w = "features." + std::to_string(i) + ".weight";
            if (has(w) && m.at(w).dim() == 4) {
                a.cfg.push_back(static_cast<int>(m.at(w).size(0)));
                i += a.batch_norm ? 3 : 2;
            } else {
                a.cfg.push_back(-1);
                i += 1;
            }
        }
        // The last convolution's ReLU is followed by the final max pool.
        a.cfg.push_back(-1);
        a.classes = has("classifier.6.weight") ? dim("classifier.6.weight", 0) : 1000;
    } else {
        return std::nullopt;
    }
    a.name = nameOf(a);
    if (a.name.empty()) a.name = a.family == "resnet" ? "resnet (custom depth/width)" : "vgg (custom configuration)";
    return a;
}

std::unique_ptr<Model> makeNativeModel(const NativeArch& arch, const StateDict& weights, ModelInfo info) {
    if (arch.scripted) return makeScriptedModel(toScripted(arch), weights, std::move(info));
    std::shared_ptr<NetModule> net;
    {
        GlobalRngRestorer keep_rng;
        net = buildNet(arch);
    }
    loadWeights(*net, weights, arch.name);
    return std::make_unique<NativeModel>(std::move(net), std::move(info), arch.name);
}

std::unique_ptr<Model> makeNativeRandom(const NativeArch& arch, ModelInfo info, uint64_t seed) {
    if (arch.scripted) return makeScriptedRandom(toScripted(arch), std::move(info), seed);
    GlobalRngRestorer keep_rng;
    auto net = buildNet(arch);
    at::Generator gen = at::detail::createCPUGenerator(seed);
    initRandomNet(*net, gen);
    return std::make_unique<NativeModel>(std::move(net), std::move(info), arch.name);
}

std::vector<TensorSpec> nativeStateDictLayout(const std::string& arch) {
    if (auto s = scriptedArch(arch)) return scriptedLayout(*s);
    std::shared_ptr<nn::Module> net;
    {
        GlobalRngRestorer keep_rng;
        net = buildNet(nativeArch(arch));
    }
    std::vector<TensorSpec> out;
    for (const auto& p : net->named_parameters(true))
        out.push_back({p.key(), p.value().sizes().vec(), p.value().scalar_type()});
    for (const auto& b : net->named_buffers(true))
        out.push_back({b.key(), b.value().sizes().vec(), b.value().scalar_type()});
    return out;
}

std::unique_ptr<Model> makeNativeVgg16(const StateDict& weights, ModelInfo info) {
    return makeNativeModel(nativeArch("vgg16"), weights, std::move(info));
}

std::unique_ptr<Model> makeNativeResnet50(const StateDict& weights, ModelInfo info) {
    return makeNativeModel(nativeArch("resnet50"), weights, std::move(info));
}

std::unique_ptr<Model> makeNativeVgg16Random(ModelInfo info, uint64_t seed) {
    return makeNativeRandom(nativeArch("vgg16"), std::move(info), seed);
}

std::unique_ptr<Model> makeNativeResnet50Random(ModelInfo info, uint64_t seed) {
    return makeNativeRandom(nativeArch("resnet50"), std::move(info), seed);
}

}  // namespace mirada
