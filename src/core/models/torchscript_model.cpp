#include "models/torchscript_model.hpp"
#include "models/predict.hpp"

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/script.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include "common/error.hpp"
#include "models/failure_text.hpp"
#include "models/fast_eval.hpp"
#include "models/imagenet_labels.hpp"
#include "models/layer_names.hpp"

namespace mirada {
namespace {

using torch::jit::Node;
using torch::jit::Value;

// The module path of a node: the instance names on its inlined call stack,
// without "SELF" (a call to another method of the same module) and without
// entries that are plain function calls (no module info).
struct NodePath {
    std::vector<std::string> names;
    std::vector<std::string> kinds;  // class name of the module at each depth
};

NodePath pathOf(const Node* node) {
    NodePath p;
    auto cs = node->callstack();
    if (!cs) return p;
    for (const auto& entry : (*cs)->vec()) {
        const auto& info = std::get<2>(entry);
        if (!info) continue;
        const std::string name = info->instance_name();
        if (name == "SELF" || name.empty()) continue;
        p.names.push_back(name);
        std::string kind = "Module";
        if (auto t = info->class_type()) {
            if (auto qn = t->name()) kind = qn->name();
        }
        p.kinds.push_back(kind);
    }
    return p;
}

std::string joinPath(const std::vector<std::string>& names, size_t n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) {
        if (i) s += '.';
        s += names[i];
    }
    return s;
}

bool hasPrefix(const std::vector<std::string>& names, const std::vector<std::string>& prefix) {
    if (prefix.size() > names.size()) return false;
    return std::equal(prefix.begin(), prefix.end(), names.begin());
}

// The inlined forward graph and, for every module path, the value that is its output.
struct GraphIndex {
    std::shared_ptr<torch::jit::Graph> graph;
    std::vector<std::string> order;            // module paths in first-seen order
    std::map<std::string, std::string> kinds;  // path -> class name
    std::map<std::string, Value*> outputs;     // path -> tapped value
    std::map<std::string, size_t> outputRank;  // path -> position of the node producing its output
};

GraphIndex indexGraph(torch::jit::Module& module) {
    GraphIndex gi;
    gi.graph = module.get_method("forward").graph()->copy();
    torch::jit::Inline(*gi.graph);

    // Path of every top-level node (nodes inside if/loop blocks count as their owner).
    std::unordered_map<const Node*, std::vector<std::string>> nodePath;
    std::unordered_map<const Node*, size_t> nodeOrder;
    size_t idx = 0;
    for (Node* n : gi.graph->nodes()) {
        NodePath p = pathOf(n);
        nodePath[n] = p.names;
        nodeOrder[n] = idx++;
        // Attribute reads and constants are hoisted; list modules in the order they compute.
        if (n->kind() == c10::prim::GetAttr || n->kind() == c10::prim::Constant) continue;
        for (size_t d = 1; d <= p.names.size(); ++d) {
            std::string path = joinPath(p.names, d);
            if (!gi.kinds.count(path)) {
                gi.kinds[path] = p.kinds[d - 1];
                gi.order.push_back(path);
            }
        }
    }
    auto topLevelOwner = [&](Node* user) -> Node* {
        while (user && user->owningBlock() != gi.graph->block()) {
            user = user->owningBlock()->owningNode();
        }
        return user;
    };
    // For each module path: tensor values produced inside it and used outside
    // it (or returned); the latest such value is the module's output.
    for (const auto& path : gi.order) {
        std::vector<std::string> prefix;
        {
            std::stringstream ss(path);
            std::string part;
            while (std::getline(ss, part, '.')) prefix.push_back(part);
        }
        Value* best = nullptr;
        size_t bestOrder = 0;
        for (Node* n : gi.graph->nodes()) {
            if (!hasPrefix(nodePath[n], prefix)) continue;
            for (Value* v : n->outputs()) {
                if (!v->type()->cast<c10::TensorType>()) continue;
                bool usedOutside = false;
                for (const auto& use : v->uses()) {
                    Node* owner = topLevelOwner(use.user);
                    if (!owner || owner == gi.graph->return_node() || !nodePath.count(owner) ||
                        !hasPrefix(nodePath[owner], prefix)) {
                        usedOutside = true;
                        break;
                    }
                }
                if (usedOutside && (!best || nodeOrder[n] >= bestOrder)) {
                    best = v;
                    bestOrder = nodeOrder[n];
                }
            }
        }
        if (best) {
            gi.outputs[path] = best;
            gi.outputRank[path] = bestOrder;
        }
    }
    // Keep only paths that have a tensor output.
    gi.order.erase(
        std::remove_if(gi.order.begin(), gi.order.end(), [&](const std::string& p) { return !gi.outputs.count(p); }),
        gi.order.end());
    return gi;
}

// A copy of the graph that returns (original output, tapped values...).
std::shared_ptr<torch::jit::GraphFunction> makeTappedFunction(const GraphIndex& gi,
                                                              const std::vector<std::string>& paths) {
    auto graph = gi.graph->copy();
    // Map values of gi.graph to the copy by position: copy() keeps node order.
    std::unordered_map<const Value*, Value*> map;
    {
        auto itA = gi.graph->nodes().begin();
        auto itB = graph->nodes().begin();
        for (; itA != gi.graph->nodes().end(); ++itA, ++itB) {
            for (size_t i = 0; i < itA->outputs().size(); ++i) map[itA->outputs()[i]] = itB->outputs()[i];
        }
        for (size_t i = 0; i < gi.graph->inputs().size(); ++i) map[gi.graph->inputs()[i]] = graph->inputs()[i];
    }
    std::vector<Value*> outs;
    outs.push_back(graph->outputs()[0]);
    for (const auto& p : paths) outs.push_back(map.at(gi.outputs.at(p)));
    auto* tuple = graph->insertNode(graph->createTuple(outs));
    graph->eraseOutput(0);
    graph->registerOutput(tuple->output());
    return std::make_shared<torch::jit::GraphFunction>("mirada_tapped_forward", graph, nullptr);
}

// A copy of the graph with one more input after the image: the value that
// replaces module `path`'s output wherever the rest of the graph uses it. What
// then feeds nothing (the layers before, when nothing else uses them) is
// removed.
std::shared_ptr<torch::jit::GraphFunction> makeReplacingFunction(const GraphIndex& gi, const std::string& path) {
    auto graph = gi.graph->copy();
    std::unordered_map<const Value*, Value*> map;
    std::unordered_map<const Node*, const Node*> original;  // copy -> gi.graph
    {
        auto itA = gi.graph->nodes().begin();
        auto itB = graph->nodes().begin();
        for (; itA != gi.graph->nodes().end(); ++itA, ++itB) {
            original[*itB] = *itA;
            for (size_t i = 0; i < itA->outputs().size(); ++i) map[itA->outputs()[i]] = itB->outputs()[i];
        }
    }
    std::vector<std::string> prefix;
    {
        std::stringstream ss(path);
        std::string part;
        while (std::getline(ss, part, '.')) prefix.push_back(part);
    }
    Value* target = map.at(gi.outputs.at(path));
    Value* replacement = graph->addInput("mirada_replacement");
    replacement->setType(target->type());
    auto topLevelOwner = [&](Node* user) -> Node* {
        while (user && user->owningBlock() != graph->block()) user = user->owningBlock()->owningNode();
        return user;
    };
    std::vector<torch::jit::Use> outside;
    for (const auto& use : target->uses()) {
        Node* owner = topLevelOwner(use.user);
        const bool inside = owner && owner != graph->return_node() && original.count(owner) &&
                            hasPrefix(pathOf(original.at(owner)).names, prefix);
        if (!inside) outside.push_back(use);
    }
    for (const auto& use : outside) use.user->replaceInput(use.offset, replacement);
    torch::jit::EliminateDeadCode(graph);
    return std::make_shared<torch::jit::GraphFunction>("mirada_replacing_forward", graph, nullptr);
}

class TorchScriptModel final : public Model {
public:
    TorchScriptModel(torch::jit::Module module, ModelInfo info) : module_(std::move(module)), info_(std::move(info)) {
        module_.eval();
        index_ = indexGraph(module_);
        // Batches go through a frozen, optimized clone (fast_eval.hpp); the
        // module itself stays as loaded for forwardWithTap (autograd) and
        // layers(). Its parameters and buffers are watched so that in-place
        // changes (the sanity check) reach the clone.
        std::vector<torch::Tensor> watched;
        for (const auto& p : module_.parameters()) watched.push_back(p);
        for (const auto& b : module_.buffers()) watched.push_back(b);
        fast_ = std::make_unique<FastEvaluator>(
            info_.name, [original = module_] { return original; }, std::move(watched),
            std::vector<int64_t>{16, info_.input.channels, info_.input.height, info_.input.width});
        fast_->setCacheIdentity([this] { return info_.weights_sha256; });
    }

    const ModelInfo& info() const override { return info_; }

    // The module as loaded, without turning failures into mirada::Error: the
    // load probe (which words its own), before the file's hash is known - the
    // fast path is built afterwards (prepareEvaluation), so that what it
    // measures can be cached under that hash (models/measure_cache.hpp).
    torch::Tensor forwardPlainUnwrapped(const torch::Tensor& batch) {
        torch::InferenceMode guard;
        return outputTensor(module_.forward({batch}), "forward");
    }

    torch::Tensor forwardUnwrapped(const torch::Tensor& batch) {
        torch::InferenceMode guard;
        if (fast_->ready()) return fast_->forward(batch);
        return outputTensor(module_.forward({batch}), "forward");
    }

    torch::Tensor forward(const torch::Tensor& batch) override {
        try {
            return forwardUnwrapped(batch);
        } catch (const Error&) {
            throw;
        } catch (const c10::OutOfMemoryError&) {
            throw;  // forwardSplittingOnOom retries with smaller batches
        } catch (const std::exception& e) {
            throw Error(forwardFailureMessage(label(), batch, e));
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

    TapResult forwardWithTap(const torch::Tensor& batch, const std::string& layer) override {
        if (!index_.outputs.count(layer)) throw Error(unknownLayerMessage(layer, index_.order, info_.name));
        auto it = tapped_.find(layer);
        if (it == tapped_.end()) it = tapped_.emplace(layer, makeTappedFunction(index_, {layer})).first;
        torch::AutoGradMode grad(true);
        // Run the tapped graph unoptimised: the profiling executor would fuse the
        // logits and the tapped value into one differentiable block from the
        // second call on, and the gradient with respect to the tap would vanish.
        torch::jit::GraphOptimizerEnabledGuard unoptimised(false);
        torch::jit::Stack stack{module_._ivalue(), batch};
        try {
            it->second->run(stack);
        } catch (const c10::OutOfMemoryError&) {
            throw;
        } catch (const std::exception& e) {
            throw Error(forwardFailureMessage(label(), batch, e));
        }
        auto elems = stack.back().toTupleRef().elements();
        TapResult r;
        r.output = outputTensor(elems[0], "forward");
        r.activation = elems[1].toTensor();
        return r;
    }

    torch::Tensor forwardReplacingLayer(const torch::Tensor& batch, const std::string& layer,
                                        const torch::Tensor& replacement) override {
        if (!index_.outputs.count(layer)) throw Error(unknownLayerMessage(layer, index_.order, info_.name));
        auto it = replacing_.find(layer);
        if (it == replacing_.end()) it = replacing_.emplace(layer, makeReplacingFunction(index_, layer)).first;
        torch::InferenceMode guard;
        torch::jit::Stack stack{module_._ivalue(), batch, replacement};
        try {
            it->second->run(stack);
        } catch (const c10::OutOfMemoryError&) {
            throw;
        } catch (const std::exception& e) {
            throw Error(forwardFailureMessage(label(), batch, e));
        }
        return outputTensor(stack.back(), "forward");
    }

    std::vector<LayerInfo> layers() override {
        if (!layersCache_.empty()) return layersCache_;
        auto fn = makeTappedFunction(index_, index_.order);
        torch::NoGradGuard ng;
        auto input = torch::zeros({1, info_.input.channels, info_.input.height, info_.input.width},
                                  torch::TensorOptions().device(device_));
        torch::jit::Stack stack{module_._ivalue(), input};
        try {
            fn->run(stack);
        } catch (const std::exception& e) {
            throw Error(forwardFailureMessage(label(), input, e));
        }
        auto elems = stack.back().toTupleRef().elements();
        for (size_t i = 0; i < index_.order.size(); ++i) {
            LayerInfo li;
            li.path = index_.order[i];
            li.kind = index_.kinds[li.path];
            const auto& v = elems[i + 1];
            if (v.isTensor()) li.output_shape = v.toTensor().sizes().vec();
            layersCache_.push_back(li);
        }
        return layersCache_;
    }

    void to(torch::Device device) override {
        module_.to(device);
        device_ = device;
        tapped_.clear();
        fast_->invalidate();
    }
    torch::Device device() const override { return device_; }
    // The module whose spatial (4-D, H*W > 1) output is computed last; among
    // modules sharing that output, the outermost (e.g. "layer4", not "layer4.2").
    std::string lastSpatialLayer() {
        std::string best;
        size_t bestRank = 0;
        for (const auto& l : layers()) {
            if (l.output_shape.size() != 4 || l.output_shape[2] * l.output_shape[3] <= 1) continue;
            const size_t rank = index_.outputRank.at(l.path);
            const auto depth = std::count(l.path.begin(), l.path.end(), '.');
            if (best.empty() || rank > bestRank ||
                (rank == bestRank && depth < std::count(best.begin(), best.end(), '.'))) {
                best = l.path;
                bestRank = rank;
            }
        }
        return best;
    }

    int64_t parameterCount() const override {
        int64_t n = 0;
        for (const auto& p : module_.parameters()) n += p.numel();
        return n;
    }

    // Leaf modules ordered by where the forward graph first uses them (the
    // execution order, from the inlined graph's call stacks); modules the graph
    // never names keep their definition order, after the others.
    std::vector<ParameterGroup> parameterGroups() override {
        std::map<std::string, size_t> rank;
        for (size_t i = 0; i < index_.order.size(); ++i) rank.emplace(index_.order[i], i);
        std::vector<std::pair<size_t, ParameterGroup>> found;
        size_t definition = 0;
        for (const auto& item : module_.named_modules()) {
            ++definition;
            if (item.name.empty()) continue;  // the root module
            ParameterGroup g;
            std::string kind = "Module";
            if (auto qn = item.value.type()->name()) kind = qn->name();
            for (const auto& p : item.value.named_parameters(false))
                g.parameters.push_back({item.name + "." + p.name, kind, p.value});
            if (g.parameters.empty()) continue;
            g.name = item.name;
            g.modules = {item.name};
            g.kinds = {kind};
            auto it = rank.find(item.name);
            found.emplace_back(it != rank.end() ? it->second : index_.order.size() + definition, std::move(g));
        }
        std::stable_sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        std::vector<ParameterGroup> leaves;
        for (auto& f : found) leaves.push_back(std::move(f.second));
        return groupLayersTopDown(leaves);
    }

private:
    std::string label() const { return info_.weights_file.empty() ? info_.name : info_.weights_file; }

    torch::Tensor outputTensor(const c10::IValue& v, const char* what) const {
        if (v.isTensor()) return v.toTensor();
        if (v.isTuple() && !v.toTupleRef().elements().empty() && v.toTupleRef().elements()[0].isTensor())
            return v.toTupleRef().elements()[0].toTensor();
        throw Error("model '" + info_.weights_file + "': " + what + " returned a " + v.tagKind() +
                    ", expected a tensor of class scores [N, classes]");
    }

    torch::jit::Module module_;
    ModelInfo info_;
    GraphIndex index_;
    torch::Device device_{torch::kCPU};
    std::map<std::string, std::shared_ptr<torch::jit::GraphFunction>> tapped_;
    std::map<std::string, std::shared_ptr<torch::jit::GraphFunction>> replacing_;
    std::vector<LayerInfo> layersCache_;
    std::unique_ptr<FastEvaluator> fast_;
};

}  // namespace

namespace {
std::unique_ptr<Model> checkedModel(torch::jit::Module module, ModelInfo info, const std::string& what);
}  // namespace

std::unique_ptr<Model> loadTorchScriptModel(const std::filesystem::path& file, ModelInfo info) {
    torch::jit::Module module;
    try {
        module = torch::jit::load(file.string(), torch::kCPU);
    } catch (const std::exception& e) {
        std::string what = e.what();
        auto nl = what.find('\n');
        if (nl != std::string::npos) what = what.substr(0, nl);
        throw Error("'" + file.string() + "' is not a TorchScript archive LibTorch can load (" + what +
                    "). Export the model with torch.jit.script(model).save(path) or torch.jit.trace, "
                    "or check that the file is complete");
    }
    if (!module.find_method("forward"))
        throw Error("TorchScript archive '" + file.string() + "' has no forward() method");
    if (info.name.empty()) info.name = file.stem().string();
    if (info.architecture.empty()) info.architecture = "torchscript";
    info.weights_file = std::filesystem::absolute(file).string();
    return checkedModel(std::move(module), std::move(info), "'" + file.string() + "'");
}

std::unique_ptr<Model> makeTorchScriptModel(torch::jit::Module module, ModelInfo info) {
    const std::string what = "'" + info.name + "' (" + info.architecture + ")";
    return checkedModel(std::move(module), std::move(info), what);
}

namespace {

// Wraps the module, runs it once on a zero input of the declared size and
// fills the labels and default layer. `what` names the model in messages.
std::unique_ptr<Model> checkedModel(torch::jit::Module module, ModelInfo info, const std::string& what) {
    std::unique_ptr<TorchScriptModel> model;
    try {
        model = std::make_unique<TorchScriptModel>(std::move(module), info);
    } catch (const Error&) {
        throw;
    } catch (const std::exception& e) {
        throw Error("cannot analyse the forward graph of " + what + ": " + e.what());
    }
    // Probe: does it accept the declared input and return [1, classes]?
    torch::Tensor out;
    try {
        out = model->forwardPlainUnwrapped(torch::zeros({1, info.input.channels, info.input.height, info.input.width}));
    } catch (const Error&) {
        throw;
    } catch (const std::exception& e) {
        const FailureText f = describeFailure(e);
        const std::string size = std::to_string(info.input.channels) + "x" + std::to_string(info.input.height) + "x" +
                                 std::to_string(info.input.width);
        if (f.out_of_memory)
            throw Error("model " + what + " ran out of memory on a single input of " + size + " (" + f.text +
                        "): this input size needs more memory than this machine has; if the model was trained on "
                        "smaller images, set \"input\": {\"width\", \"height\"} in its descriptor to that size");
        throw Error("model " + what + " fails on an input of " + size + " (" + f.text +
                    "); if that is a size problem, set \"input\": {\"width\", \"height\", \"channels\"} in its "
                    "descriptor to the size it expects");
    }
    if (out.dim() != 2 || out.size(0) != 1)
        throw Error("model " + what + " returns a tensor of shape " + c10::str(out.sizes()) +
                    "; Mirada needs class scores of shape [N, classes]");
    const auto classes = out.size(1);
    if (classes < 1)
        throw Error("model " + what + " returns 0 class scores (output shape " + c10::str(out.sizes()) +
                    "); Mirada needs at least one class");
    auto& mi = const_cast<ModelInfo&>(model->info());
    if (mi.outputs_probabilities) checkModelOutputs(*model, out, "a blank input");
    if (mi.labels.empty()) {
        if (classes == 1000) {
            mi.labels = imagenetLabels();
        } else {
            for (int64_t i = 0; i < classes; ++i) mi.labels.push_back("class " + std::to_string(i));
        }
    } else if (static_cast<int64_t>(mi.labels.size()) != classes) {
        throw Error("model " + what + " has " + std::to_string(classes) + " outputs but its descriptor lists " +
                    std::to_string(mi.labels.size()) + " labels; give exactly one label per output");
    }
    const auto layers = model->layers();
    if (mi.default_target_layer.empty()) {
        mi.default_target_layer = model->lastSpatialLayer();
    } else {
        bool found = std::any_of(layers.begin(), layers.end(),
                                 [&](const LayerInfo& l) { return l.path == mi.default_target_layer; });
        if (!found)
            throw Error(unknownLayerMessage(
                            mi.default_target_layer,
                            [&] {
                                std::vector<std::string> v;
                                for (const auto& l : layers) v.push_back(l.path);
                                return v;
                            }(),
                            mi.name) +
                        " (from the descriptor's \"target_layer\")");
    }
    return model;
}

}  // namespace

}  // namespace mirada
