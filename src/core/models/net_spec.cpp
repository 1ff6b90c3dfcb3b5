#include "models/net_spec.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <sstream>

#include "common/error.hpp"

namespace mirada::spec {
namespace {

const char* const kHead = "def forward(self, x: Tensor) -> Tensor:\n";

std::string num(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    std::string s = buf;
    if (s.find_first_of(".eE") == std::string::npos) s += ".0";
    return s;
}

std::string ints(const std::vector<int>& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
    return s + "]";
}

Param weightParam(std::vector<int64_t> shape, Init init, int64_t fan) {
    Param p;
    p.name = "weight";
    p.shape = std::move(shape);
    p.init = init;
    p.fan_in = fan;
    return p;
}

Param vectorParam(const std::string& name, int64_t c, Init init, bool buffer = false, int64_t fan = 1) {
    Param p;
    p.name = name;
    p.shape = {c};
    p.init = init;
    p.buffer = buffer;
    p.fan_in = fan;
    return p;
}

Node leaf(const std::string& type, const std::string& body) { return Node{type, kHead + body, {}, {}}; }

std::string join(const std::string& prefix, const std::string& name) {
    return prefix.empty() ? name : prefix + "." + name;
}

void collect(const Node& n, const std::string& path, std::vector<LayoutEntry>& out) {
    for (const auto& p : n.params)
        if (!p.buffer) out.push_back({join(path, p.name), &p});
    for (const auto& p : n.params)
        if (p.buffer) out.push_back({join(path, p.name), &p});
    for (const auto& [name, child] : n.children) collect(child, join(path, name), out);
}

// Identical subtrees (same type, forward, tensor names and child types) share
// one TorchScript class, as torch.jit.script makes them: a DenseNet-201 then
// compiles a few dozen forwards instead of a thousand.
struct Builder {
    explicit Builder(const TensorSource& source) : tensor(source) {}
    std::shared_ptr<torch::jit::CompilationUnit> cu = std::make_shared<torch::jit::CompilationUnit>();
    std::map<std::string, c10::ClassTypePtr> types;
    const TensorSource& tensor;

    torch::jit::Module build(const Node& n, const std::string& path) {
        std::vector<std::pair<std::string, torch::jit::Module>> kids;
        for (const auto& [name, child] : n.children) kids.emplace_back(name, build(child, join(path, name)));
        std::string key = n.type + "\n" + n.source;
        for (const auto& p : n.params) key += "\n" + p.name + (p.buffer ? " buffer" : " parameter");
        for (const auto& [name, kid] : kids) key += "\n" + name + ": " + kid.type()->name()->qualifiedName();
        auto it = types.find(key);
        const bool fresh = it == types.end();
        torch::jit::Module m = fresh ? torch::jit::Module(c10::QualifiedName("__torch__.mirada." + n.type), cu, true)
                                     : torch::jit::Module(cu, it->second);
        m.register_attribute("training", c10::BoolType::get(), false);
        for (const auto& p : n.params) {
            torch::Tensor t = tensor(join(path, p.name), p);
            // Parameters take part in autograd as a loaded TorchScript module's
            // do: a tapped layer's activation then has a gradient path.
            if (!p.buffer && t.is_floating_point()) t = t.detach().requires_grad_(true);
            m.register_parameter(p.name, t, p.buffer);
        }
        for (const auto& [name, kid] : kids) m.register_module(name, kid);
        if (fresh) {
            // A module defined from C++ calls a submodule's forward explicitly
            // (its type has no __call__); the sources say self.child(x).
            std::string source = n.source;
            for (const auto& [name, kid] : kids) {
                const std::string call = ref(name) + "(", explicitCall = ref(name) + ".forward(";
                for (size_t at = source.find(call); at != std::string::npos;
                     at = source.find(call, at + explicitCall.size()))
                    source.replace(at, call.size(), explicitCall);
            }
            m.define(source);
            types.emplace(key, m.type());
        }
        return m;
    }
};

}  // namespace

std::string ref(const std::string& name) {
    bool ident = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0]));
    for (char c : name) ident = ident && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    return ident ? "self." + name : "getattr(self, \"" + name + "\")";
}

Node conv(int64_t in, int64_t out, int k, int stride, int pad, int64_t groups, bool bias, int dilation) {
    Node n = leaf("Conv2d", "    return torch.conv2d(x, self.weight, " + std::string(bias ? "self.bias" : "None") +
                                ", " + ints({stride, stride}) + ", " + ints({pad, pad}) + ", " +
                                ints({dilation, dilation}) + ", " + std::to_string(groups) + ")\n");
    n.params.push_back(weightParam({out, in / groups, k, k}, Init::ConvWeight, out * k * k));
    if (bias) n.params.push_back(vectorParam("bias", out, Init::Zero));
    return n;
}

Node batchNorm(int64_t c, double eps) {
    Node n = leaf("BatchNorm2d",
                  "    return torch.batch_norm(x, self.weight, self.bias, self.running_mean, "
                  "self.running_var, False, 0.1, " +
                      num(eps) + ", True)\n");
    n.params.push_back(vectorParam("weight", c, Init::One));
    n.params.push_back(vectorParam("bias", c, Init::Zero));
    n.params.push_back(vectorParam("running_mean", c, Init::Zero, true));
    n.params.push_back(vectorParam("running_var", c, Init::One, true));
    Param count;
    count.name = "num_batches_tracked";
    count.buffer = true;
    count.dtype = torch::kLong;
    count.optional = true;
    n.params.push_back(count);
    return n;
}

Node layerNorm(int64_t c, double eps) {
    Node n = leaf("LayerNorm", "    return torch.layer_norm(x, [" + std::to_string(c) + "], self.weight, self.bias, " +
                                   num(eps) + ", True)\n");
    n.params.push_back(vectorParam("weight", c, Init::One));
    n.params.push_back(vectorParam("bias", c, Init::Zero));
    return n;
}

Node layerNorm2d(int64_t c, double eps) {
    Node n = leaf("LayerNorm2d", "    x = x.permute([0, 2, 3, 1])\n    x = torch.layer_norm(x, [" + std::to_string(c) +
                                     "], self.weight, self.bias, " + num(eps) +
                                     ", True)\n    return x.permute([0, 3, 1, 2])\n");
    n.params.push_back(vectorParam("weight", c, Init::One));
    n.params.push_back(vectorParam("bias", c, Init::Zero));
    return n;
}

Node linear(int64_t in, int64_t out, bool bias) {
    Node n =
        leaf("Linear", "    return torch.linear(x, self.weight, " + std::string(bias ? "self.bias" : "None") + ")\n");
    n.params.push_back(weightParam({out, in}, Init::LinearWeight, in));
    if (bias) n.params.push_back(vectorParam("bias", out, Init::LinearBias, false, in));
    return n;
}

Node pointwiseLinear(int64_t in, int64_t out) {
    Node n = leaf("Linear", "    return torch.conv2d(x, self.weight.unsqueeze(-1).unsqueeze(-1), self.bias)\n");
    n.params.push_back(weightParam({out, in}, Init::LinearWeight, in));
    n.params.push_back(vectorParam("bias", out, Init::LinearBias, false, in));
    return n;
}

Node activation(const std::string& kind) {
    if (kind == "relu") return leaf("ReLU", "    return torch.relu(x)\n");
    if (kind == "relu6") return leaf("ReLU6", "    return torch.hardtanh(x, 0.0, 6.0)\n");
    if (kind == "hardswish") return leaf("Hardswish", "    return torch.hardswish(x)\n");
    if (kind == "hardsigmoid") return leaf("Hardsigmoid", "    return torch.hardsigmoid(x)\n");
    if (kind == "silu") return leaf("SiLU", "    return torch.silu(x)\n");
    if (kind == "sigmoid") return leaf("Sigmoid", "    return torch.sigmoid(x)\n");
    if (kind == "gelu") return leaf("GELU", "    return torch.gelu(x)\n");
    throw Error("internal: no activation '" + kind + "'");
}

Node maxPool(int k, int stride, int pad, bool ceil) {
    return leaf("MaxPool2d", "    return torch.max_pool2d(x, " + ints({k, k}) + ", " + ints({stride, stride}) + ", " +
                                 ints({pad, pad}) + ", [1, 1], " + (ceil ? "True" : "False") + ")\n");
}

Node avgPool(int k, int stride) {
    return leaf("AvgPool2d", "    return torch.avg_pool2d(x, " + ints({k, k}) + ", " + ints({stride, stride}) +
                                 ", [0, 0], False, True, None)\n");
}

Node adaptiveAvgPool(int size) {
    return leaf("AdaptiveAvgPool2d", "    return torch.adaptive_avg_pool2d(x, " + ints({size, size}) + ")\n");
}

Node identity(const std::string& type) { return leaf(type, "    return x\n"); }

Node flatten() { return leaf("Flatten", "    return torch.flatten(x, 1)\n"); }

Node permute(const std::vector<int>& dims) { return leaf("Permute", "    return x.permute(" + ints(dims) + ")\n"); }

Node sequential(std::vector<std::pair<std::string, Node>> children) {
    Node n{"Sequential", "", {}, std::move(children)};
    std::string body;
    for (const auto& [name, child] : n.children) body += "    x = " + ref(name) + "(x)\n";
    n.source = kHead + body + "    return x\n";
    return n;
}

Node sequential(std::vector<Node> children) {
    std::vector<std::pair<std::string, Node>> named;
    for (size_t i = 0; i < children.size(); ++i) named.emplace_back(std::to_string(i), std::move(children[i]));
    return sequential(std::move(named));
}

Node convNormAct(int64_t in, int64_t out, int k, int stride, int64_t groups, double eps, const std::string& act) {
    std::vector<Node> parts;
    parts.push_back(conv(in, out, k, stride, (k - 1) / 2, groups));
    parts.push_back(batchNorm(out, eps));
    if (!act.empty()) parts.push_back(activation(act));
    Node n = sequential(std::move(parts));
    n.type = "Conv2dNormActivation";
    return n;
}

Node squeezeExcitation(int64_t channels, int64_t squeeze, const std::string& act, const std::string& scaleAct) {
    Node n{"SqueezeExcitation",
           std::string(kHead) +
               "    s = self.avgpool(x)\n    s = self.fc1(s)\n    s = self.activation(s)\n"
               "    s = self.fc2(s)\n    s = self.scale_activation(s)\n    return s * x\n",
           {},
           {}};
    n.add("avgpool", adaptiveAvgPool(1));
    n.add("fc1", conv(channels, squeeze, 1, 1, 0, 1, true));
    n.add("fc2", conv(squeeze, channels, 1, 1, 0, 1, true));
    n.add("activation", activation(act));
    n.add("scale_activation", activation(scaleAct));
    return n;
}

std::vector<LayoutEntry> layout(const Node& root) {
    std::vector<LayoutEntry> out;
    collect(root, "", out);
    return out;
}

torch::jit::Module buildScript(const Node& root, const std::string& className, const TensorSource& tensor) {
    Builder b(tensor);
    Node top = root;
    top.type = className;
    torch::jit::Module m = b.build(top, "");
    m.eval();
    return m;
}

torch::Tensor randomTensor(const Param& p, at::Generator& gen) {
    torch::NoGradGuard no_grad;
    const auto opts = torch::TensorOptions().dtype(p.dtype);
    switch (p.init) {
        case Init::ConvWeight:  // kaiming_normal_(mode="fan_out", nonlinearity="relu")
            return torch::empty(p.shape, opts).normal_(0.0, std::sqrt(2.0 / static_cast<double>(p.fan_in)), gen);
        case Init::LinearWeight:
        case Init::LinearBias: {  // nn.Linear's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
            const double bound = 1.0 / std::sqrt(static_cast<double>(p.fan_in));
            return torch::empty(p.shape, opts).uniform_(-bound, bound, gen);
        }
        case Init::One: return torch::ones(p.shape, opts);
        case Init::LayerScale: return torch::full(p.shape, 0.1, opts);  // torchvision: 1e-6; larger so blocks matter
        case Init::Zero: break;
    }
    return torch::zeros(p.shape, opts);
}

int64_t makeDivisible(double v, int64_t divisor, int64_t minValue) {
    if (minValue < 0) minValue = divisor;
    int64_t n =
        std::max<int64_t>(minValue, static_cast<int64_t>(v + static_cast<double>(divisor) / 2) / divisor * divisor);
    if (static_cast<double>(n) < 0.9 * v) n += divisor;
    return n;
}

}  // namespace mirada::spec
