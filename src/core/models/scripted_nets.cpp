#include "models/scripted_nets.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <tuple>

#include "common/error.hpp"
#include "models/net_spec.hpp"
#include "models/torchscript_model.hpp"

namespace mirada {
namespace {

using spec::Node;
const char* const kHead = "def forward(self, x: Tensor) -> Tensor:\n";

// A module with its own forward over named children.
Node custom(const std::string& type, const std::string& body) { return Node{type, kHead + body, {}, {}}; }

// The classifier networks' common top: features -> pooling -> classifier.
Node classifierNet(const std::string& type, const std::string& body) { return custom(type, body); }

// ---------------------------------------------------------------- AlexNet
Node alexnet(int64_t classes) {
    using namespace spec;
    Node net = classifierNet("AlexNet",
                             "    x = self.features(x)\n    x = self.avgpool(x)\n    x = torch.flatten(x, 1)\n"
                             "    return self.classifier(x)\n");
    net.add("features", sequential({conv(3, 64, 11, 4, 2, 1, true), activation("relu"), maxPool(3, 2, 0, false),
                                    conv(64, 192, 5, 1, 2, 1, true), activation("relu"), maxPool(3, 2, 0, false),
                                    conv(192, 384, 3, 1, 1, 1, true), activation("relu"),
                                    conv(384, 256, 3, 1, 1, 1, true), activation("relu"),
                                    conv(256, 256, 3, 1, 1, 1, true), activation("relu"), maxPool(3, 2, 0, false)}));
    net.add("avgpool", adaptiveAvgPool(6));
    net.add("classifier",
            sequential({identity("Dropout"), linear(256 * 6 * 6, 4096), activation("relu"), identity("Dropout"),
                        linear(4096, 4096), activation("relu"), linear(4096, classes)}));
    return net;
}

// ---------------------------------------------------------------- SqueezeNet
Node fire(int64_t in, int64_t squeeze, int64_t e1, int64_t e3) {
    using namespace spec;
    Node n = custom("Fire",
                    "    x = self.squeeze_activation(self.squeeze(x))\n"
                    "    return torch.cat([self.expand1x1_activation(self.expand1x1(x)), "
                    "self.expand3x3_activation(self.expand3x3(x))], 1)\n");
    n.add("squeeze", conv(in, squeeze, 1, 1, 0, 1, true));
    n.add("squeeze_activation", activation("relu"));
    n.add("expand1x1", conv(squeeze, e1, 1, 1, 0, 1, true));
    n.add("expand1x1_activation", activation("relu"));
    n.add("expand3x3", conv(squeeze, e3, 3, 1, 1, 1, true));
    n.add("expand3x3_activation", activation("relu"));
    return n;
}

Node squeezenet(bool v1_1, int64_t classes) {
    using namespace spec;
    std::vector<Node> f;
    if (!v1_1) {
        f.push_back(conv(3, 96, 7, 2, 0, 1, true));
        f.push_back(activation("relu"));
        f.push_back(maxPool(3, 2, 0, true));
        f.push_back(fire(96, 16, 64, 64));
        f.push_back(fire(128, 16, 64, 64));
        f.push_back(fire(128, 32, 128, 128));
        f.push_back(maxPool(3, 2, 0, true));
        f.push_back(fire(256, 32, 128, 128));
        f.push_back(fire(256, 48, 192, 192));
        f.push_back(fire(384, 48, 192, 192));
        f.push_back(fire(384, 64, 256, 256));
        f.push_back(maxPool(3, 2, 0, true));
        f.push_back(fire(512, 64, 256, 256));
    } else {
        f.push_back(conv(3, 64, 3, 2, 0, 1, true));
        f.push_back(activation("relu"));
        f.push_back(maxPool(3, 2, 0, true));
        f.push_back(fire(64, 16, 64, 64));
        f.push_back(fire(128, 16, 64, 64));
        f.push_back(maxPool(3, 2, 0, true));
        f.push_back(fire(128, 32, 128, 128));
        f.push_back(fire(256, 32, 128, 128));
        f.push_back(maxPool(3, 2, 0, true));
        f.push_back(fire(256, 48, 192, 192));
        f.push_back(fire(384, 48, 192, 192));
        f.push_back(fire(384, 64, 256, 256));
        f.push_back(fire(512, 64, 256, 256));
    }
    Node net = classifierNet("SqueezeNet",
                             "    x = self.features(x)\n    x = self.classifier(x)\n    return torch.flatten(x, 1)\n");
    net.add("features", sequential(std::move(f)));
    net.add("classifier", sequential({identity("Dropout"), conv(512, classes, 1, 1, 0, 1, true), activation("relu"),
                                      adaptiveAvgPool(1)}));
    return net;
}

// ---------------------------------------------------------------- DenseNet
Node densenet(int64_t growth, const std::vector<int>& blocks, int64_t initFeatures, int64_t classes) {
    using namespace spec;
    const int64_t bnSize = 4;
    std::vector<std::pair<std::string, Node>> f;
    f.emplace_back("conv0", conv(3, initFeatures, 7, 2, 3));
    f.emplace_back("norm0", batchNorm(initFeatures));
    f.emplace_back("relu0", activation("relu"));
    f.emplace_back("pool0", maxPool(3, 2, 1, false));
    int64_t c = initFeatures;
    for (size_t i = 0; i < blocks.size(); ++i) {
        std::string body = "    f = [x]\n";
        Node block = custom("DenseBlock", "");
        for (int j = 0; j < blocks[i]; ++j) {
            const int64_t in = c + j * growth;
            Node layer = custom("DenseLayer",
                                "    x = self.conv1(self.relu1(self.norm1(x)))\n"
                                "    return self.conv2(self.relu2(self.norm2(x)))\n");
            layer.add("norm1", batchNorm(in));
            layer.add("relu1", activation("relu"));
            layer.add("conv1", conv(in, bnSize * growth, 1, 1, 0));
            layer.add("norm2", batchNorm(bnSize * growth));
            layer.add("relu2", activation("relu"));
            layer.add("conv2", conv(bnSize * growth, growth, 3, 1, 1));
            const std::string name = "denselayer" + std::to_string(j + 1);
            block.add(name, std::move(layer));
            body += "    f.append(self." + name + "(torch.cat(f, 1)))\n";
        }
        block.source = kHead + body + "    return torch.cat(f, 1)\n";
        f.emplace_back("denseblock" + std::to_string(i + 1), std::move(block));
        c += blocks[i] * growth;
        if (i + 1 < blocks.size()) {
            f.emplace_back("transition" + std::to_string(i + 1), sequential({{"norm", batchNorm(c)},
                                                                             {"relu", activation("relu")},
                                                                             {"conv", conv(c, c / 2, 1, 1, 0)},
                                                                             {"pool", avgPool(2, 2)}}));
            c /= 2;
        }
    }
    f.emplace_back("norm5", batchNorm(c));
    Node net = classifierNet("DenseNet",
                             "    x = self.features(x)\n    x = torch.relu(x)\n"
                             "    x = torch.adaptive_avg_pool2d(x, [1, 1])\n    x = torch.flatten(x, 1)\n"
                             "    return self.classifier(x)\n");
    net.add("features", sequential(std::move(f)));
    net.add("classifier", linear(c, classes));
    return net;
}

// ---------------------------------------------------------------- MobileNet V2
Node mobilenetV2(int64_t classes) {
    using namespace spec;
    // t (expansion), c (channels), n (blocks), s (first block's stride)
    const int table[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                             {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
    std::vector<Node> f;
    f.push_back(convNormAct(3, 32, 3, 2, 1, 1e-5, "relu6"));
    int64_t in = 32;
    for (const auto& row : table) {
        for (int i = 0; i < row[2]; ++i) {
            const int stride = i == 0 ? row[3] : 1;
            const int64_t out = row[1], hidden = in * row[0];
            std::vector<Node> layers;
            if (row[0] != 1) layers.push_back(convNormAct(in, hidden, 1, 1, 1, 1e-5, "relu6"));
            layers.push_back(convNormAct(hidden, hidden, 3, stride, hidden, 1e-5, "relu6"));
            layers.push_back(conv(hidden, out, 1, 1, 0));
            layers.push_back(batchNorm(out));
            const bool residual = stride == 1 && in == out;
            Node block =
                custom("InvertedResidual", residual ? "    return x + self.conv(x)\n" : "    return self.conv(x)\n");
            block.add("conv", sequential(std::move(layers)));
            f.push_back(std::move(block));
            in = out;
        }
    }
    f.push_back(convNormAct(in, 1280, 1, 1, 1, 1e-5, "relu6"));
    Node net = classifierNet("MobileNetV2",
                             "    x = self.features(x)\n    x = torch.adaptive_avg_pool2d(x, [1, 1])\n"
                             "    x = torch.flatten(x, 1)\n    return self.classifier(x)\n");
    net.add("features", sequential(std::move(f)));
    net.add("classifier", sequential({identity("Dropout"), linear(1280, classes)}));
    return net;
}

// ---------------------------------------------------------------- MobileNet V3
struct Bneck {
    int in, k, exp, out;
    bool se;
    const char* act;
    int stride;
};

Node mobilenetV3(bool large, int64_t classes) {
    using namespace spec;
    static const std::vector<Bneck> kLarge = {
        {16, 3, 16, 16, false, "relu", 1},        {16, 3, 64, 24, false, "relu", 2},
        {24, 3, 72, 24, false, "relu", 1},        {24, 5, 72, 40, true, "relu", 2},
        {40, 5, 120, 40, true, "relu", 1},        {40, 5, 120, 40, true, "relu", 1},
        {40, 3, 240, 80, false, "hardswish", 2},  {80, 3, 200, 80, false, "hardswish", 1},
        {80, 3, 184, 80, false, "hardswish", 1},  {80, 3, 184, 80, false, "hardswish", 1},
        {80, 3, 480, 112, true, "hardswish", 1},  {112, 3, 672, 112, true, "hardswish", 1},
        {112, 5, 672, 160, true, "hardswish", 2}, {160, 5, 960, 160, true, "hardswish", 1},
        {160, 5, 960, 160, true, "hardswish", 1}};
    static const std::vector<Bneck> kSmall = {
        {16, 3, 16, 16, true, "relu", 2},       {16, 3, 72, 24, false, "relu", 2},
        {24, 3, 88, 24, false, "relu", 1},      {24, 5, 96, 40, true, "hardswish", 2},
        {40, 5, 240, 40, true, "hardswish", 1}, {40, 5, 240, 40, true, "hardswish", 1},
        {40, 5, 120, 48, true, "hardswish", 1}, {48, 5, 144, 48, true, "hardswish", 1},
        {48, 5, 288, 96, true, "hardswish", 2}, {96, 5, 576, 96, true, "hardswish", 1},
        {96, 5, 576, 96, true, "hardswish", 1}};
    const double eps = 0.001;
    const auto& cfg = large ? kLarge : kSmall;
    std::vector<Node> f;
    f.push_back(convNormAct(3, 16, 3, 2, 1, eps, "hardswish"));
    for (const auto& b : cfg) {
        std::vector<Node> layers;
        if (b.exp != b.in) layers.push_back(convNormAct(b.in, b.exp, 1, 1, 1, eps, b.act));
        layers.push_back(convNormAct(b.exp, b.exp, b.k, b.stride, b.exp, eps, b.act));
        if (b.se) layers.push_back(squeezeExcitation(b.exp, makeDivisible(b.exp / 4, 8), "relu", "hardsigmoid"));
        layers.push_back(convNormAct(b.exp, b.out, 1, 1, 1, eps, ""));
        const bool residual = b.stride == 1 && b.in == b.out;
        Node block =
            custom("InvertedResidual", residual ? "    return self.block(x) + x\n" : "    return self.block(x)\n");
        block.add("block", sequential(std::move(layers)));
        f.push_back(std::move(block));
    }
    const int64_t lastIn = cfg.back().out, lastConv = 6 * lastIn, lastChannel = large ? 1280 : 1024;
    f.push_back(convNormAct(lastIn, lastConv, 1, 1, 1, eps, "hardswish"));
    Node net = classifierNet("MobileNetV3",
                             "    x = self.features(x)\n    x = self.avgpool(x)\n    x = torch.flatten(x, 1)\n"
                             "    return self.classifier(x)\n");
    net.add("features", sequential(std::move(f)));
    net.add("avgpool", adaptiveAvgPool(1));
    net.add("classifier", sequential({linear(lastConv, lastChannel), activation("hardswish"), identity("Dropout"),
                                      linear(lastChannel, classes)}));
    return net;
}

// ---------------------------------------------------------------- EfficientNet B0-B7
struct EffNetScale {
    double width, depth;
};
const EffNetScale kEffNet[8] = {{1.0, 1.0}, {1.0, 1.1}, {1.1, 1.2}, {1.2, 1.4},
                                {1.4, 1.8}, {1.6, 2.2}, {1.8, 2.6}, {2.0, 3.1}};

Node efficientnet(int variant, int64_t classes) {
    using namespace spec;
    const EffNetScale s = kEffNet[variant];
    // B5-B7 use BatchNorm eps 1e-3 (torchvision's constructors), B0-B4 the default.
    const double eps = variant >= 5 ? 1e-3 : 1e-5;
    auto ch = [&](int c) { return makeDivisible(c * s.width, 8); };
    // expand ratio, kernel, stride, in, out, layers (torchvision's _efficientnet_conf)
    const int table[7][6] = {{1, 3, 1, 32, 16, 1},  {6, 3, 2, 16, 24, 2},   {6, 5, 2, 24, 40, 2},  {6, 3, 2, 40, 80, 3},
                             {6, 5, 1, 80, 112, 3}, {6, 5, 2, 112, 192, 4}, {6, 3, 1, 192, 320, 1}};
    std::vector<Node> f;
    f.push_back(convNormAct(3, ch(32), 3, 2, 1, eps, "silu"));
    for (const auto& row : table) {
        const int n = static_cast<int>(std::ceil(row[5] * s.depth));
        std::vector<Node> stage;
        for (int j = 0; j < n; ++j) {
            const int64_t in = j == 0 ? ch(row[3]) : ch(row[4]), out = ch(row[4]);
            const int stride = j == 0 ? row[2] : 1;
            const int64_t expanded = makeDivisible(static_cast<double>(in * row[0]), 8);
            std::vector<Node> layers;
            if (expanded != in) layers.push_back(convNormAct(in, expanded, 1, 1, 1, eps, "silu"));
            layers.push_back(convNormAct(expanded, expanded, row[1], stride, expanded, eps, "silu"));
            layers.push_back(squeezeExcitation(expanded, std::max<int64_t>(1, in / 4), "silu", "sigmoid"));
            layers.push_back(convNormAct(expanded, out, 1, 1, 1, eps, ""));
            const bool residual = stride == 1 && in == out;
            Node block = custom("MBConv", residual ? "    return self.stochastic_depth(self.block(x)) + x\n"
                                                   : "    return self.block(x)\n");
            block.add("block", sequential(std::move(layers)));
            block.add("stochastic_depth", identity("StochasticDepth"));
            stage.push_back(std::move(block));
        }
        f.push_back(sequential(std::move(stage)));
    }
    const int64_t lastIn = ch(320), lastOut = 4 * lastIn;
    f.push_back(convNormAct(lastIn, lastOut, 1, 1, 1, eps, "silu"));
    Node net = classifierNet("EfficientNet",
                             "    x = self.features(x)\n    x = self.avgpool(x)\n    x = torch.flatten(x, 1)\n"
                             "    return self.classifier(x)\n");
    net.add("features", sequential(std::move(f)));
    net.add("avgpool", adaptiveAvgPool(1));
    net.add("classifier", sequential({identity("Dropout"), linear(lastOut, classes)}));
    return net;
}

// ---------------------------------------------------------------- ConvNeXt
Node convnext(const std::vector<int64_t>& dims, const std::vector<int>& depths, int64_t classes) {
    using namespace spec;
    const double eps = 1e-6;
    std::vector<Node> f;
    f.push_back(sequential({conv(3, dims[0], 4, 4, 0, 1, true), layerNorm2d(dims[0], eps)}));
    for (size_t i = 0; i < dims.size(); ++i) {
        const int64_t d = dims[i];
        std::vector<Node> stage;
        for (int j = 0; j < depths[i]; ++j) {
            Node block = custom("CNBlock",
                                "    r = self.layer_scale * self.block(x)\n"
                                "    return self.stochastic_depth(r) + x\n");
            spec::Param scale;
            scale.name = "layer_scale";
            scale.shape = {d, 1, 1};
            scale.init = spec::Init::LayerScale;
            block.params.push_back(scale);
            // torchvision permutes to channels-last and applies LayerNorm and the
            // two Linear layers there. Here the block stays NCHW: the permutes are
            // identities, the LayerNorm normalises over channels and the Linear
            // layers are 1x1 convolutions with the same [out, in] weights. The
            // numbers are the same up to float rounding (checked against
            // torchvision), but the matrix products run as oneDNN convolutions
            // instead of Debian LibTorch's reference-BLAS matmul (measured 4x slower
            // for these shapes).
            block.add("block", sequential({conv(d, d, 7, 1, 3, d, true), identity("Permute"), layerNorm2d(d, eps),
                                           pointwiseLinear(d, 4 * d), activation("gelu"), pointwiseLinear(4 * d, d),
                                           identity("Permute")}));
            block.add("stochastic_depth", identity("StochasticDepth"));
            stage.push_back(std::move(block));
        }
        f.push_back(sequential(std::move(stage)));
        if (i + 1 < dims.size()) f.push_back(sequential({layerNorm2d(d, eps), conv(d, dims[i + 1], 2, 2, 0, 1, true)}));
    }
    Node net =
        classifierNet("ConvNeXt", "    x = self.features(x)\n    x = self.avgpool(x)\n    return self.classifier(x)\n");
    net.add("features", sequential(std::move(f)));
    net.add("avgpool", adaptiveAvgPool(1));
    net.add("classifier", sequential({layerNorm2d(dims.back(), eps), flatten(), linear(dims.back(), classes)}));
    return net;
}

// ---------------------------------------------------------------- RegNet
struct RegNetParams {
    int depth;
    double w0, wa, wm;
    int groupWidth;
    double seRatio;
};

// torchvision's BlockParams.from_init_params with bottleneck multiplier 1,
// in float32 as torchvision computes it.
void regnetStages(const RegNetParams& p, std::vector<int64_t>& widths, std::vector<int>& depths,
                  std::vector<int64_t>& groupWidths) {
    std::vector<int64_t> blockWidths;
    const float logWm = static_cast<float>(std::log(p.wm));
    for (int i = 0; i < p.depth; ++i) {
        const float cont = static_cast<float>(i) * static_cast<float>(p.wa) + static_cast<float>(p.w0);
        const float capacity = std::nearbyint(std::log(cont / static_cast<float>(p.w0)) / logWm);
        const float w = static_cast<float>(p.w0) * std::pow(static_cast<float>(p.wm), capacity);
        blockWidths.push_back(static_cast<int64_t>(std::nearbyint(w / 8.0f) * 8.0f));
    }
    widths.clear();
    depths.clear();
    for (size_t i = 0; i < blockWidths.size(); ++i) {
        if (i == 0 || blockWidths[i] != blockWidths[i - 1]) {
            widths.push_back(blockWidths[i]);
            depths.push_back(0);
        }
        ++depths.back();
    }
    groupWidths.clear();
    for (auto& w : widths) {
        const int64_t g = std::min<int64_t>(p.groupWidth, w);
        w = spec::makeDivisible(static_cast<double>(w), g);
        groupWidths.push_back(g);
    }
}

Node regnet(const RegNetParams& p, int64_t classes) {
    using namespace spec;
    std::vector<int64_t> widths, groupWidths;
    std::vector<int> depths;
    regnetStages(p, widths, depths, groupWidths);
    std::vector<std::pair<std::string, Node>> trunk;
    int64_t in = 32;
    for (size_t s = 0; s < widths.size(); ++s) {
        std::vector<std::pair<std::string, Node>> stage;
        for (int i = 0; i < depths[s]; ++i) {
            const int64_t out = widths[s], bIn = i == 0 ? in : out;
            const int stride = i == 0 ? 2 : 1;
            const int64_t wb = out, groups = wb / groupWidths[s];
            std::vector<std::pair<std::string, Node>> t;
            t.emplace_back("a", convNormAct(bIn, wb, 1, 1, 1, 1e-5, "relu"));
            t.emplace_back("b", convNormAct(wb, wb, 3, stride, groups, 1e-5, "relu"));
            if (p.seRatio > 0)
                t.emplace_back("se", squeezeExcitation(wb, static_cast<int64_t>(std::nearbyint(p.seRatio * bIn)),
                                                       "relu", "sigmoid"));
            t.emplace_back("c", convNormAct(wb, out, 1, 1, 1, 1e-5, ""));
            const bool proj = bIn != out || stride != 1;
            Node block = custom("ResBottleneckBlock", proj ? "    return self.activation(self.proj(x) + self.f(x))\n"
                                                           : "    return self.activation(x + self.f(x))\n");
            if (proj) block.add("proj", convNormAct(bIn, out, 1, stride, 1, 1e-5, ""));
            Node f = sequential(std::move(t));
            f.type = "BottleneckTransform";
            block.add("f", std::move(f));
            block.add("activation", activation("relu"));
            stage.emplace_back("block" + std::to_string(s + 1) + "-" + std::to_string(i), std::move(block));
        }
        Node st = sequential(std::move(stage));
        st.type = "AnyStage";
        trunk.emplace_back("block" + std::to_string(s + 1), std::move(st));
        in = widths[s];
    }
    Node net = classifierNet("RegNet",
                             "    x = self.stem(x)\n    x = self.trunk_output(x)\n    x = self.avgpool(x)\n"
                             "    x = torch.flatten(x, 1)\n    return self.fc(x)\n");
    Node stem = convNormAct(3, 32, 3, 2, 1, 1e-5, "relu");
    stem.type = "SimpleStemIN";
    net.add("stem", std::move(stem));
    net.add("trunk_output", sequential(std::move(trunk)));
    net.add("avgpool", adaptiveAvgPool(1));
    net.add("fc", linear(in, classes));
    return net;
}

struct NamedRegNet {
    const char* name;
    RegNetParams p;
};
const std::vector<NamedRegNet>& regnets() {
    static const std::vector<NamedRegNet> t = {
        {"regnet_y_400mf", {16, 48, 27.89, 2.09, 8, 0.25}},    {"regnet_y_800mf", {14, 56, 38.84, 2.4, 16, 0.25}},
        {"regnet_y_1_6gf", {27, 48, 20.71, 2.65, 24, 0.25}},   {"regnet_y_3_2gf", {21, 80, 42.63, 2.66, 24, 0.25}},
        {"regnet_y_8gf", {17, 192, 76.82, 2.19, 56, 0.25}},    {"regnet_y_16gf", {18, 200, 106.23, 2.48, 112, 0.25}},
        {"regnet_y_32gf", {20, 232, 115.89, 2.53, 232, 0.25}}, {"regnet_y_128gf", {27, 456, 160.83, 2.52, 264, 0.25}},
        {"regnet_x_400mf", {22, 24, 24.48, 2.54, 16, 0}},      {"regnet_x_800mf", {16, 56, 35.73, 2.28, 16, 0}},
        {"regnet_x_1_6gf", {18, 80, 34.01, 2.25, 24, 0}},      {"regnet_x_3_2gf", {25, 88, 26.31, 2.25, 48, 0}},
        {"regnet_x_8gf", {23, 80, 49.56, 2.88, 120, 0}},       {"regnet_x_16gf", {22, 216, 55.59, 2.1, 128, 0}},
        {"regnet_x_32gf", {23, 320, 69.86, 2.0, 168, 0}},
    };
    return t;
}

// ---------------------------------------------------------------- GoogLeNet
Node basicConv(int64_t in, int64_t out, int k, int stride = 1, int pad = 0) {
    using namespace spec;
    Node n = custom("BasicConv2d", "    return torch.relu(self.bn(self.conv(x)))\n");
    n.add("conv", conv(in, out, k, stride, pad));
    n.add("bn", batchNorm(out, 0.001));
    return n;
}

Node inception(int64_t in, int64_t c1, int64_t c3r, int64_t c3, int64_t c5r, int64_t c5, int64_t pool) {
    using namespace spec;
    Node n = custom("Inception",
                    "    return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)\n");
    n.add("branch1", basicConv(in, c1, 1));
    n.add("branch2", sequential({basicConv(in, c3r, 1), basicConv(c3r, c3, 3, 1, 1)}));
    // torchvision's branch3 uses a 3x3 convolution (a known deviation from the paper's 5x5).
    n.add("branch3", sequential({basicConv(in, c5r, 1), basicConv(c5r, c5, 3, 1, 1)}));
    n.add("branch4", sequential({maxPool(3, 1, 1, true), basicConv(in, pool, 1)}));
    return n;
}

Node googlenet(int64_t classes) {
    using namespace spec;
    // transform_input: torchvision turns it on for its pretrained weights (and so
    // for networks fine-tuned from them): ImageNet-normalised input is mapped to
    // the (x - 0.5) / 0.5 normalisation the original weights were trained with.
    Node net = custom("GoogLeNet",
                      "    x0 = torch.unsqueeze(x[:, 0], 1) * (0.229 / 0.5) + (0.485 - 0.5) / 0.5\n"
                      "    x1 = torch.unsqueeze(x[:, 1], 1) * (0.224 / 0.5) + (0.456 - 0.5) / 0.5\n"
                      "    x2 = torch.unsqueeze(x[:, 2], 1) * (0.225 / 0.5) + (0.406 - 0.5) / 0.5\n"
                      "    x = torch.cat([x0, x1, x2], 1)\n"
                      "    x = self.maxpool1(self.conv1(x))\n"
                      "    x = self.maxpool2(self.conv3(self.conv2(x)))\n"
                      "    x = self.maxpool3(self.inception3b(self.inception3a(x)))\n"
                      "    x = self.inception4c(self.inception4b(self.inception4a(x)))\n"
                      "    x = self.maxpool4(self.inception4e(self.inception4d(x)))\n"
                      "    x = self.inception5b(self.inception5a(x))\n"
                      "    x = torch.flatten(self.avgpool(x), 1)\n"
                      "    return self.fc(self.dropout(x))\n");
    net.add("conv1", basicConv(3, 64, 7, 2, 3));
    net.add("maxpool1", maxPool(3, 2, 0, true));
    net.add("conv2", basicConv(64, 64, 1));
    net.add("conv3", basicConv(64, 192, 3, 1, 1));
    net.add("maxpool2", maxPool(3, 2, 0, true));
    net.add("inception3a", inception(192, 64, 96, 128, 16, 32, 32));
    net.add("inception3b", inception(256, 128, 128, 192, 32, 96, 64));
    net.add("maxpool3", maxPool(3, 2, 0, true));
    net.add("inception4a", inception(480, 192, 96, 208, 16, 48, 64));
    net.add("inception4b", inception(512, 160, 112, 224, 24, 64, 64));
    net.add("inception4c", inception(512, 128, 128, 256, 24, 64, 64));
    net.add("inception4d", inception(512, 112, 144, 288, 32, 64, 64));
    net.add("inception4e", inception(528, 256, 160, 320, 32, 128, 128));
    net.add("maxpool4", maxPool(2, 2, 0, true));
    net.add("inception5a", inception(832, 256, 160, 320, 32, 128, 128));
    net.add("inception5b", inception(832, 384, 192, 384, 48, 128, 128));
    net.add("avgpool", adaptiveAvgPool(1));
    net.add("dropout", identity("Dropout"));
    net.add("fc", linear(1024, classes));
    return net;
}

// ---------------------------------------------------------------- the table
struct Entry {
    std::string name, family, head, defaultLayer;
    std::function<Node(int64_t)> make;
};

const std::vector<Entry>& table() {
    static const std::vector<Entry> t = [] {
        std::vector<Entry> v;
        const std::vector<std::tuple<const char*, int64_t, std::vector<int>, int64_t>> dense = {
            {"densenet121", 32, {6, 12, 24, 16}, 64},
            {"densenet161", 48, {6, 12, 36, 24}, 96},
            {"densenet169", 32, {6, 12, 32, 32}, 64},
            {"densenet201", 32, {6, 12, 48, 32}, 64}};
        for (const auto& [name, g, b, init] : dense)
            v.push_back({name, "densenet", "classifier.weight", "features.norm5",
                         [g = g, b = b, init = init](int64_t c) { return densenet(g, b, init, c); }});
        v.push_back({"mobilenet_v2", "mobilenet_v2", "classifier.1.weight", "features.18",
                     [](int64_t c) { return mobilenetV2(c); }});
        v.push_back({"mobilenet_v3_large", "mobilenet_v3", "classifier.3.weight", "features.16",
                     [](int64_t c) { return mobilenetV3(true, c); }});
        v.push_back({"mobilenet_v3_small", "mobilenet_v3", "classifier.3.weight", "features.12",
                     [](int64_t c) { return mobilenetV3(false, c); }});
        for (int b = 0; b < 8; ++b)
            v.push_back({"efficientnet_b" + std::to_string(b), "efficientnet", "classifier.1.weight", "features.8",
                         [b](int64_t c) { return efficientnet(b, c); }});
        const std::vector<std::tuple<const char*, std::vector<int64_t>, std::vector<int>>> cnx = {
            {"convnext_tiny", {96, 192, 384, 768}, {3, 3, 9, 3}},
            {"convnext_small", {96, 192, 384, 768}, {3, 3, 27, 3}},
            {"convnext_base", {128, 256, 512, 1024}, {3, 3, 27, 3}},
            {"convnext_large", {192, 384, 768, 1536}, {3, 3, 27, 3}}};
        for (const auto& [name, d, n] : cnx)
            v.push_back({name, "convnext", "classifier.2.weight", "features.7",
                         [d = d, n = n](int64_t c) { return convnext(d, n, c); }});
        for (const auto& r : regnets())
            v.push_back(
                {r.name, "regnet", "fc.weight", "trunk_output.block4", [p = r.p](int64_t c) { return regnet(p, c); }});
        v.push_back({"alexnet", "alexnet", "classifier.6.weight", "features.11", [](int64_t c) { return alexnet(c); }});
        v.push_back({"squeezenet1_0", "squeezenet", "classifier.1.weight", "features.12",
                     [](int64_t c) { return squeezenet(false, c); }});
        v.push_back({"squeezenet1_1", "squeezenet", "classifier.1.weight", "features.12",
                     [](int64_t c) { return squeezenet(true, c); }});
        v.push_back({"googlenet", "googlenet", "fc.weight", "inception5b", [](int64_t c) { return googlenet(c); }});
        return v;
    }();
    return t;
}

const Entry* entryOf(const std::string& name) {
    for (const auto& e : table())
        if (e.name == name) return &e;
    return nullptr;
}

// A tensor name that tells the family apart from every other (torchvision's names).
bool looksLikeFamily(const std::string& family, const std::map<std::string, torch::Tensor>& m) {
    auto has = [&](const char* k) { return m.count(k) > 0; };
    if (family == "densenet") return has("features.denseblock1.denselayer1.conv1.weight");
    if (family == "mobilenet_v2") return has("features.1.conv.0.0.weight");
    if (family == "mobilenet_v3") return has("features.1.block.0.0.weight");
    if (family == "efficientnet") return has("features.1.0.block.0.0.weight");
    if (family == "convnext") return has("features.1.0.layer_scale");
    if (family == "regnet") return has("trunk_output.block1.block1-0.f.a.0.weight");
    if (family == "alexnet")
        return has("features.0.weight") && m.at("features.0.weight").dim() == 4 &&
               m.at("features.0.weight").size(-1) == 11;
    if (family == "squeezenet") return has("features.3.squeeze.weight");
    if (family == "googlenet") return has("inception3a.branch1.conv.weight");
    return false;
}

bool ignoredKey(const std::string& family, const std::string& name) {
    return family == "googlenet" && (name.rfind("aux1.", 0) == 0 || name.rfind("aux2.", 0) == 0);
}

std::string shapeText(c10::IntArrayRef s) {
    std::string t = "[";
    for (size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
    return t + "]";
}

// The differences between a file's tensors and a layout ("" when they match).
std::vector<std::string> differences(const Entry& e, const std::vector<spec::LayoutEntry>& lay,
                                     const std::map<std::string, torch::Tensor>& m) {
    std::vector<std::string> diff;
    std::set<std::string> expected;
    for (const auto& l : lay) {
        expected.insert(l.name);
        auto it = m.find(l.name);
        if (it == m.end()) {
            if (!l.param->optional) diff.push_back("missing " + l.name + " " + shapeText(l.param->shape));
        } else if (it->second.sizes() != c10::IntArrayRef(l.param->shape)) {
            diff.push_back(l.name + " is " + shapeText(it->second.sizes()) + ", expected " + shapeText(l.param->shape));
        }
    }
    for (const auto& [k, t] : m)
        if (!expected.count(k) && !ignoredKey(e.family, k)) diff.push_back("unexpected " + k);
    return diff;
}

ModelInfo withArchitecture(ModelInfo info, const ScriptedArch& arch) {
    if (info.architecture.empty()) info.architecture = arch.name;
    if (info.default_target_layer.empty()) info.default_target_layer = arch.defaultLayer;
    return info;  // labels: ImageNet's for 1000 classes, "class i" otherwise (makeTorchScriptModel)
}

}  // namespace

std::vector<std::string> scriptedArchNames() {
    std::vector<std::string> v;
    for (const auto& e : table()) v.push_back(e.name);
    return v;
}

std::optional<ScriptedArch> scriptedArch(const std::string& name, int64_t classes) {
    const Entry* e = entryOf(name);
    if (!e) return std::nullopt;
    return ScriptedArch{e->name, e->family, classes, e->defaultLayer};
}

std::optional<ScriptedArch> recogniseScriptedArch(const StateDict& weights, std::string* nearMiss) {
    std::map<std::string, torch::Tensor> m;
    for (const auto& t : weights) m[t.name] = t.tensor;
    std::string bestText;
    size_t bestCount = 0;
    for (const auto& e : table()) {
        if (!looksLikeFamily(e.family, m)) continue;
        auto head = m.find(e.head);
        const int64_t classes = head != m.end() && head->second.dim() >= 1 ? head->second.size(0) : 1000;
        const Node net = e.make(classes);
        const auto diff = differences(e, spec::layout(net), m);
        if (diff.empty()) return ScriptedArch{e.name, e.family, classes, e.defaultLayer};
        if (bestText.empty() || diff.size() < bestCount) {
            bestCount = diff.size();
            bestText = "the tensors look like torchvision's " + e.family + " family; the closest size, " + e.name +
                       ", differs in " + std::to_string(diff.size()) + " tensor" + (diff.size() == 1 ? "" : "s") + ": ";
            for (size_t i = 0; i < std::min<size_t>(diff.size(), 5); ++i) bestText += (i ? "; " : "") + diff[i];
            if (diff.size() > 5) bestText += "; ...";
        }
    }
    if (nearMiss) *nearMiss = bestText;
    return std::nullopt;
}

int renameLegacyDenseNetKeys(StateDict& weights) {
    static const std::regex legacy(
        R"(^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$)");
    int renamed = 0;
    for (auto& t : weights) {
        if (t.name.find("denselayer") == std::string::npos) continue;
        std::smatch m;
        if (std::regex_match(t.name, m, legacy)) {
            t.name = m[1].str() + m[2].str();
            ++renamed;
        }
    }
    return renamed;
}

std::vector<TensorSpec> scriptedLayout(const ScriptedArch& arch) {
    const Entry* e = entryOf(arch.name);
    if (!e) throw Error("no scripted architecture '" + arch.name + "'");
    const Node net = e->make(arch.classes);
    std::vector<TensorSpec> out;
    for (const auto& l : spec::layout(net)) out.push_back({l.name, l.param->shape, l.param->dtype});
    return out;
}

namespace {

std::unique_ptr<Model> makeFrom(const ScriptedArch& arch, ModelInfo info, const spec::TensorSource& source) {
    const Entry* e = entryOf(arch.name);
    if (!e) throw Error("no scripted architecture '" + arch.name + "'");
    const Node net = e->make(arch.classes);
    std::string className;
    for (char c : arch.name) className += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    torch::jit::Module module = spec::buildScript(net, className, source);
    return makeTorchScriptModel(std::move(module), withArchitecture(std::move(info), arch));
}

}  // namespace

std::unique_ptr<Model> makeScriptedModel(const ScriptedArch& arch, const StateDict& weights, ModelInfo info) {
    std::map<std::string, torch::Tensor> m;
    for (const auto& t : weights) m[t.name] = t.tensor;
    const Entry* e = entryOf(arch.name);
    if (!e) throw Error("no scripted architecture '" + arch.name + "'");
    const auto diff = differences(*e, spec::layout(e->make(arch.classes)), m);
    if (!diff.empty()) {
        std::string text;
        for (size_t i = 0; i < std::min<size_t>(diff.size(), 5); ++i) text += (i ? "; " : "") + diff[i];
        throw Error("the weights do not fit torchvision's " + arch.name + " with " + std::to_string(arch.classes) +
                    " classes (" + std::to_string(diff.size()) + " tensors differ: " + text +
                    "); check that the file was saved from that architecture, or export the network to TorchScript");
    }
    return makeFrom(arch, std::move(info), [&](const std::string& name, const spec::Param& p) {
        auto it = m.find(name);
        if (it == m.end()) return torch::zeros(p.shape, torch::TensorOptions().dtype(p.dtype));  // optional buffer
        return it->second.detach().to(p.dtype).contiguous();
    });
}

std::unique_ptr<Model> makeScriptedRandom(const ScriptedArch& arch, ModelInfo info, uint64_t seed) {
    at::Generator gen = at::detail::createCPUGenerator(seed);
    return makeFrom(arch, std::move(info),
                    [&](const std::string&, const spec::Param& p) { return spec::randomTensor(p, gen); });
}

}  // namespace mirada
