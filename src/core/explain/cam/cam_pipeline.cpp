#include "explain/cam/cam_pipeline.hpp"
#include "models/predict.hpp"

#include <opencv2/imgproc.hpp>
#include <torch/csrc/jit/runtime/graph_executor.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <numeric>
#include <sstream>

#include "common/error.hpp"
#include "explain/baseline_setting.hpp"
#include "models/batch_size.hpp"
#include "models/layer_names.hpp"
#include "segment/perturbation.hpp"

namespace mirada {

namespace {

using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Flag set when NaN/inf values were replaced by 0 (the map is still usable).
constexpr const char* kFlagNonFiniteReplaced = "non-finite-values-replaced";

std::string shapeText(const std::vector<int64_t>& s) {
    std::string t = "[";
    for (size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
    return t + "]";
}

std::vector<ParamSpec> camTable(std::vector<std::string> layerChoices) {
    const CamSettings d;
    return {
        choiceParam("layer", d.layer, std::move(layerChoices),
                    "module path whose activation is explained, e.g. layer4 or features.29; empty = the model's "
                    "default target layer (`mirada-cli layers` lists them)"),
        boolParam("relu", d.relu, "clamp negative evidence to zero (standard CAM); off keeps the signed map"),
        choiceParam("upsample", d.upsample, {"bilinear", "nearest"},
                    "how the coarse layer-resolution map is enlarged to the model input"),
    };
}

// Copies a contiguous 2-D float tensor into a CV_32F Mat, replacing NaN/inf by 0.
cv::Mat toMat(const torch::Tensor& t2d, bool* nonFinite) {
    auto t = t2d.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    cv::Mat m(static_cast<int>(t.size(0)), static_cast<int>(t.size(1)), CV_32F);
    std::memcpy(m.data, t.data_ptr<float>(), sizeof(float) * t.numel());
    for (int y = 0; y < m.rows; ++y) {
        auto* row = m.ptr<float>(y);
        for (int x = 0; x < m.cols; ++x)
            if (!std::isfinite(row[x])) {
                row[x] = 0.0f;
                if (nonFinite) *nonFinite = true;
            }
    }
    return m;
}

}  // namespace

ParamSet camDefaultParams(const std::string& group) { return ParamSet(group, camTable({""})); }

ParamSet camParamsForModel(const std::string& group, Model& model) { return camParamsForLayers(group, model.layers()); }

ParamSet camParamsForLayers(const std::string& group, const std::vector<LayerInfo>& layers) {
    std::vector<std::string> choices{""};
    for (const auto& l : layers) choices.push_back(l.path);
    return ParamSet(group, camTable(std::move(choices)));
}

CamSettings camSettingsFrom(const ParamSet& params) {
    CamSettings s;
    if (params.has("layer")) s.layer = params.getChoice("layer");
    if (params.has("relu")) s.relu = params.getBool("relu");
    if (params.has("upsample")) s.upsample = params.getChoice("upsample");
    if (s.upsample != "bilinear" && s.upsample != "nearest")
        throw Error("upsample = '" + s.upsample + "' is not a valid choice; use one of: bilinear, nearest");
    return s;
}

torch::Tensor CamWeighting::coarseMap(const torch::Tensor& activation, const torch::Tensor& gradient,
                                      const CamLayerContext& where, torch::Tensor& contributions) const {
    torch::Tensor w = channelWeights(activation, gradient, where).to(torch::kFloat64).reshape({-1});
    if (w.size(0) != activation.size(0))
        throw Error("internal error: " + name() + " gave " + std::to_string(w.size(0)) + " channel weights for " +
                    std::to_string(activation.size(0)) + " channels");
    // A weight that is NaN/inf (degenerate gradients) carries no usable evidence.
    w = torch::nan_to_num(w, 0.0, 0.0, 0.0);
    contributions = w;
    return (w.view({-1, 1, 1}) * activation).sum(0);
}

CamMaps computeCamMaps(Model& model, const cv::Mat& image, int target_index, const CamSettings& settings,
                       const CamWeighting& weighting, const RunContext& ctx, const ParamSet& perturbation,
                       int batchSize) {
    const ModelInfo& info = model.info();
    if (image.empty() || image.type() != CV_8UC3)
        throw Error(weighting.title() + ": expected an 8-bit RGB image (CV_8UC3), got an empty or other image");
    if (settings.upsample != "bilinear" && settings.upsample != "nearest")
        throw Error(weighting.name() + ".upsample = '" + settings.upsample +
                    "' is not a valid choice; use one of: bilinear, nearest");

    // Layer: named, or the model's default; checked against the model's own list.
    CamMaps out;
    out.layer = settings.layer.empty() ? info.default_target_layer : settings.layer;
    const auto layers = model.layers();
    std::vector<std::string> valid;
    valid.reserve(layers.size());
    for (const auto& l : layers) valid.push_back(l.path);
    if (out.layer.empty())
        throw Error("model '" + info.name + "' has no default target layer; choose one with " + weighting.name() +
                    ".layer (valid layers: " + (valid.empty() ? std::string("none") : valid.back()) +
                    ", ...; `mirada-cli layers --model " + info.name + "` lists them)");
    if (std::find(valid.begin(), valid.end(), out.layer) == valid.end())
        throw Error(unknownLayerMessage(out.layer, valid, info.name));

    out.geometry = inputGeometry(image.size(), info.input);
    const cv::Mat input8 = resizeForModel(image, info.input);
    torch::Tensor input = normalizeForModel(input8, info.input).to(model.device());

    ctx.checkCancelled();
    ctx.report(0.0, weighting.title() + ": forward and backward through layer " + out.layer);

    const auto t0 = Clock::now();
    c10::InferenceMode notInference(false);
    torch::AutoGradMode gradMode(true);
    // TorchScript's profiling executor, once it has profiled a graph, fuses it into one
    // DifferentiableGraph whose outputs (the logits and the tapped activation) are
    // siblings in autograd: the gradient of the score with respect to the activation
    // is then undefined from the second call on. Running the tapped forward
    // unoptimised keeps the activation on the score's autograd path. (Thread-local.)
    torch::jit::GraphOptimizerEnabledGuard unoptimised(false);
    TapResult r = model.forwardWithTap(input, out.layer);
    if (!r.output.defined() || r.output.dim() != 2 || r.output.size(0) != 1)
        throw Error("model '" + info.name + "' returned output of shape " +
                    (r.output.defined() ? shapeText(r.output.sizes().vec()) : std::string("(none)")) +
                    "; expected class scores [1, classes]");
    const int64_t classes = r.output.size(1);
    out.output = r.output.detach()[0].to(torch::kCPU, torch::kFloat32).contiguous();
    checkModelOutputs(model, out.output.unsqueeze(0), "the image");

    if (target_index < 0) target_index = static_cast<int>(out.output.argmax().item<int64_t>());
    if (target_index >= classes)
        throw Error("target class " + std::to_string(target_index) + " is out of range: the model has " +
                    std::to_string(classes) + " classes (0-" + std::to_string(classes - 1) + ")");
    out.target_index = target_index;

    if (!r.activation.defined())
        throw Error("layer '" + out.layer + "' of model '" + info.name + "' produced no tensor to explain");
    out.activation_shape = r.activation.sizes().vec();
    if (r.activation.dim() != 4 || r.activation.size(0) != 1) {
        // Suggest the default layer, or the last layer with a spatial output.
        std::string suggestion = info.default_target_layer;
        if (suggestion.empty() || suggestion == out.layer) {
            suggestion.clear();
            for (const auto& l : layers)
                if (l.output_shape.size() == 4 && l.path != out.layer) suggestion = l.path;
        }
        throw Error("layer '" + out.layer + "' outputs shape " + shapeText(out.activation_shape) +
                    "; CAM methods need a convolutional layer with a spatial output [N, C, H, W]" +
                    (suggestion.empty() ? std::string() : "; try " + suggestion));
    }

    // Score: the target's logit (or probability, when that is what the model returns).
    torch::Tensor score = r.output[0][target_index];
    torch::Tensor grad;
    if (!weighting.usesGradient()) {
        // Eigen-CAM: the activations alone.
    } else if (r.activation.requires_grad() && score.requires_grad()) {
        auto grads = torch::autograd::grad({score}, {r.activation}, /*grad_outputs=*/{}, /*retain_graph=*/false,
                                           /*create_graph=*/false, /*allow_unused=*/true);
        grad = grads[0];
    }
    // No gradient path from the score to the layer: a map of zeros would be a silent lie.
    if (weighting.usesGradient() && !grad.defined())
        throw Error("the score of class " + std::to_string(target_index) + " of model '" + info.name +
                    "' has no gradient path to layer '" + out.layer +
                    "' (the layer does not feed the output, or the model runs without autograd); choose a layer "
                    "on the path to the output, e.g. " +
                    info.default_target_layer);
    out.model_seconds = secondsSince(t0);
    ctx.checkCancelled();

    const auto f64 = torch::TensorOptions().dtype(torch::kFloat64).device(torch::kCPU);
    torch::Tensor A = r.activation.detach()[0].to(f64);
    torch::Tensor G = grad.defined() ? grad.detach()[0].to(f64) : torch::Tensor();
    r = TapResult{};  // release the graph

    CamLayerContext where;
    where.layer = out.layer;
    where.model_name = info.name;
    where.model = &model;
    where.input = input;
    where.target = target_index;
    where.run = &ctx;
    if (weighting.usesBaseline()) {
        const ResolvedBaseline b = resolveBaseline(info, perturbation, "shared", weighting.name() + ".fill");
        // One segment covering the image: the renderer's fill is the normalised baseline.
        const PerturbationRenderer one(input8, cv::Mat(input8.size(), CV_32S, cv::Scalar(0)), b.baseline, info.input,
                                       model.device());
        where.fill = one.fill().unsqueeze(0);
        where.baseline = toString(b.baseline) + " (" + b.source + ")";
        out.baseline = where.baseline;
    }
    if (weighting.usesBaseline() || weighting.evaluatesModel()) where.batch_size = resolveBatchSize(model, batchSize);
    torch::Tensor contributions;
    torch::Tensor cam = weighting.coarseMap(A, G, where, contributions).to(f64);
    out.model_seconds += where.model_seconds;
    out.evaluations += where.evaluations;
    if (!contributions.defined() || !torch::isfinite(contributions).all().item<bool>()) out.non_finite = true;
    out.weights = contributions.defined() ? torch::nan_to_num(contributions.to(f64).reshape({-1}), 0.0, 0.0, 0.0)
                                          : torch::zeros({A.size(0)}, f64);

    if (!torch::isfinite(cam).all().item<bool>()) {
        out.non_finite = true;
        cam = torch::nan_to_num(cam, 0.0, 0.0, 0.0);
    }
    if (settings.relu) cam = torch::relu(cam);

    namespace F = torch::nn::functional;
    auto opts = F::InterpolateFuncOptions().size(std::vector<int64_t>{info.input.height, info.input.width});
    if (settings.upsample == "nearest")
        opts = opts.mode(torch::kNearest);
    else
        opts = opts.mode(torch::kBilinear).align_corners(false);
    torch::Tensor up = F::interpolate(cam.unsqueeze(0).unsqueeze(0), opts)[0][0];

    out.coarse = toMat(cam, &out.non_finite);
    out.input_map = toMat(up, &out.non_finite);
    return out;
}

namespace {

class CamPipelineExplainer final : public Explainer {
public:
    explicit CamPipelineExplainer(std::unique_ptr<CamWeighting> w) : weighting_(std::move(w)) {}

    std::string name() const override { return weighting_->name(); }
    std::string title() const override { return weighting_->title(); }
    bool usesSuperpixels() const override { return false; }
    ParamSet defaultParams() const override { return camDefaultParams(name()); }
    ParamSet paramsForLayers(const std::vector<LayerInfo>& layers) const override {
        return camParamsForLayers(name(), layers);
    }

    Explanation explain(const ExplainRequest& request, const RunContext& ctx) override {
        const auto t0 = Clock::now();
        if (!request.model) throw Error(title() + ": no model given");
        Model& model = *request.model;
        const ModelInfo& info = model.info();
        // A request may carry an empty ParamSet: use this method's defaults then.
        const ParamSet params = request.params.specs().empty() ? defaultParams() : request.params;
        const CamSettings s = camSettingsFrom(params);

        CamMaps maps = computeCamMaps(model, request.image, request.target_index, s, *weighting_, ctx,
                                      request.perturbation, request.batch_size);

        Explanation e;
        e.method = name();
        e.method_title = title();
        e.signed_map = !s.relu;  // without ReLU the map keeps its negative evidence
        const int interp = s.upsample == "nearest" ? cv::INTER_NEAREST : cv::INTER_LINEAR;
        e.heatmap = mapToOriginal(maps.input_map, maps.geometry, interp, 0.0);
        // Zero outside the model's view: a pixel whose centre lies outside the input window
        // (bilinear warping blends the window's edge into up to one input pixel beyond it).
        const InputGeometry& g = maps.geometry;
        const double wx0 = g.x0, wx1 = g.x0 + g.input_width * g.sx;
        const double wy0 = g.y0, wy1 = g.y0 + g.input_height * g.sy;
        bool nonFinite = maps.non_finite;
        for (int y = 0; y < e.heatmap.rows; ++y) {
            auto* row = e.heatmap.ptr<float>(y);
            const bool rowOut = y + 0.5 < wy0 || y + 0.5 > wy1;
            for (int x = 0; x < e.heatmap.cols; ++x) {
                if (!std::isfinite(row[x])) {
                    row[x] = 0.0f;
                    nonFinite = true;
                }
                if (rowOut || x + 0.5 < wx0 || x + 0.5 > wx1) row[x] = 0.0f;
            }
        }
        double mn = 0, mx = 0;
        cv::minMaxLoc(e.heatmap, &mn, &mx);
        if (mx <= 0) e.flags.push_back(kFlagNoPositiveEvidence);
        if (nonFinite) e.flags.push_back(kFlagNonFiniteReplaced);

        e.target_index = maps.target_index;
        if (maps.target_index >= 0 && maps.target_index < static_cast<int>(info.labels.size()))
            e.target_label = info.labels[maps.target_index];
        torch::Tensor probs = info.outputs_probabilities ? maps.output : torch::softmax(maps.output, 0);
        e.target_probability = probs[maps.target_index].item<float>();

        e.settings = params.toJson();
        e.settings["layer"] = maps.layer;
        e.settings["activation_shape"] = maps.activation_shape;
        e.settings["score"] = info.outputs_probabilities ? "probability" : "logit";

        nlohmann::json top = nlohmann::json::array();
        const auto w = maps.weights.contiguous();
        const double* wd = w.data_ptr<double>();
        std::vector<int64_t> order(w.numel());
        std::iota(order.begin(), order.end(), 0);
        const size_t ntop = std::min<size_t>(10, order.size());
        std::partial_sort(order.begin(), order.begin() + ntop, order.end(), [&](int64_t a, int64_t b) {
            return std::abs(wd[a]) > std::abs(wd[b]) || (std::abs(wd[a]) == std::abs(wd[b]) && a < b);
        });
        for (size_t i = 0; i < ntop; ++i) top.push_back({{"channel", order[i]}, {"weight", wd[order[i]]}});
        e.numbers = {{"layer", maps.layer},
                     {"activation_shape", maps.activation_shape},
                     {"map_min", mn},
                     {"map_max", mx},
                     {"channel_weights_top", top}};
        if (nonFinite) e.numbers["non_finite_replaced"] = true;

        if (!maps.baseline.empty()) e.settings["baseline"] = maps.baseline;
        e.model_seconds = maps.model_seconds;
        e.model_evaluations = maps.evaluations;
        e.seconds = secondsSince(t0);
        ctx.report(1.0, title() + ": done");
        return e;
    }

private:
    std::unique_ptr<CamWeighting> weighting_;
};

}  // namespace

std::unique_ptr<Explainer> makeCamPipelineExplainer(std::unique_ptr<CamWeighting> weighting) {
    return std::make_unique<CamPipelineExplainer>(std::move(weighting));
}

}  // namespace mirada
