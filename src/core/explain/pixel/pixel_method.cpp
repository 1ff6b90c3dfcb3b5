#include "explain/pixel/pixel_method.hpp"

#include <opencv2/imgproc.hpp>
#include <torch/csrc/jit/runtime/graph_executor.h>

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "common/error.hpp"
#include "models/batch_size.hpp"
#include "models/oom_split.hpp"
#include "models/predict.hpp"
#include "segment/perturbation.hpp"

namespace mirada {

namespace {
double secondsSince(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

torch::Tensor valuesOf(const Model& model, const torch::Tensor& outputs, int target, SurrogateOutput output) {
    if (output == SurrogateOutput::Probability) return toProbabilities(model, outputs).select(1, target);
    if (model.info().outputs_probabilities) return outputs.select(1, target).clamp_min(1e-30).log();
    return outputs.select(1, target);
}

// A layer to tap for a gradient at the input: any layer will do (only the
// output's gradient is used); the model's default when it has one.
std::string anyLayer(Model& model) {
    if (!model.info().default_target_layer.empty()) return model.info().default_target_layer;
    const auto layers = model.layers();
    if (layers.empty()) throw Error("model '" + model.info().name + "' exposes no layer to run a gradient through");
    return layers.back().path;
}
}  // namespace

PixelSetup preparePixelMethod(const ExplainRequest& request, const std::string& fill, const std::string& fillSetting,
                              SurrogateOutput output, const std::string& title, const RunContext& ctx) {
    if (!request.model) throw Error(title + ": no model was given");
    if (request.image.empty() || request.image.type() != CV_8UC3) throw Error(title + ": expected an 8-bit RGB image");
    if (request.batch_size < 0)
        throw Error("batch size " + std::to_string(request.batch_size) + " is not valid; use 1 or more (0 = default)");
    ctx.checkCancelled();
    Model& model = *request.model;
    const InputSpec& spec = model.info().input;
    PixelSetup s;
    s.batch_size = resolveBatchSize(model, request.batch_size);
    s.input8 = resizeForModel(request.image, spec);
    s.geometry = inputGeometry(request.image.size(), spec);
    s.baseline = resolveBaseline(model.info(), request.perturbation, fill, fillSetting);
    // One segment covering the image: the renderer's input and fill are x and x0, normalised.
    const PerturbationRenderer one(s.input8, cv::Mat(s.input8.size(), CV_32S, cv::Scalar(0)), s.baseline.baseline, spec,
                                   model.device());
    s.x = one.input().unsqueeze(0);
    s.fill = one.fill().unsqueeze(0);

    c10::InferenceMode guard;
    const auto t0 = std::chrono::steady_clock::now();
    const torch::Tensor both = forwardSplittingOnOom(model, torch::cat({s.x, s.fill}, 0)).to(torch::kCPU);
    s.model_seconds += secondsSince(t0);
    s.evaluations += 2;
    checkModelOutputs(model, both, "the image or its baseline");
    const auto out = both.narrow(0, 0, 1);
    s.target = resolveTargetIndex(model, out, request.target_index);
    const auto probs = toProbabilities(model, both);
    s.target_probability = probs[0][s.target].item<float>();
    const auto& labels = model.info().labels;
    s.target_label =
        s.target < static_cast<int>(labels.size()) ? labels[s.target] : "class " + std::to_string(s.target);
    const torch::Tensor v = valuesOf(model, both, s.target, output).to(torch::kFloat64);
    s.full_value = v[0].item<double>();
    s.empty_value = v[1].item<double>();
    s.guard = checkBaseline(s.target_probability, probs[1][s.target].item<double>(),
                            perturbationSettingsFrom(request.perturbation).guard, s.baseline, s.target_label, title);
    return s;
}

torch::Tensor pixelScores(Model& model, const torch::Tensor& images, SurrogateOutput output, PixelSetup& setup,
                          const RunContext& ctx, const std::string& what, double from, double to) {
    const int64_t n = images.size(0);
    torch::Tensor values = torch::empty({n}, torch::kFloat64);
    c10::InferenceMode guard;
    for (int64_t start = 0; start < n; start += setup.batch_size) {
        ctx.checkCancelled();
        const int64_t count = std::min<int64_t>(setup.batch_size, n - start);
        const auto t0 = std::chrono::steady_clock::now();
        const torch::Tensor out = forwardSplittingOnOom(model, images.narrow(0, start, count)).to(torch::kCPU);
        setup.model_seconds += secondsSince(t0);
        setup.evaluations += count;
        checkModelOutputs(model, out, "a perturbed image");
        values.narrow(0, start, count).copy_(valuesOf(model, out, setup.target, output).to(torch::kFloat64));
        ctx.report(from + (to - from) * double(start + count) / double(n),
                   what + ": " + std::to_string(start + count) + "/" + std::to_string(n) + " images");
    }
    return values;
}

torch::Tensor inputGradients(Model& model, const torch::Tensor& inputs, SurrogateOutput output, PixelSetup& setup,
                             const RunContext& ctx, const std::string& what, double from, double to) {
    const int64_t n = inputs.size(0);
    const std::string layer = anyLayer(model);
    torch::Tensor grads = torch::empty(inputs.sizes(), torch::kFloat32);
    c10::InferenceMode notInference(false);
    torch::AutoGradMode gradMode(true);
    // As in the CAM pipeline: the unoptimised executor keeps the input on the
    // output's autograd path on every call (thread-local).
    torch::jit::GraphOptimizerEnabledGuard unoptimised(false);
    for (int64_t start = 0; start < n; start += setup.batch_size) {
        ctx.checkCancelled();
        const int64_t count = std::min<int64_t>(setup.batch_size, n - start);
        const torch::Tensor x = inputs.narrow(0, start, count).clone().detach().requires_grad_(true);
        const auto t0 = std::chrono::steady_clock::now();
        TapResult r = model.forwardWithTap(x, layer);
        if (!r.output.defined() || r.output.dim() != 2 || r.output.size(0) != count)
            throw Error("model '" + model.info().name + "' returned an output of the wrong shape for a batch of " +
                        std::to_string(count));
        checkModelOutputs(model, r.output.detach().to(torch::kCPU), "an image on the gradient path");
        const torch::Tensor score = valuesOf(model, r.output, setup.target, output).sum();
        torch::Tensor g;
        if (score.requires_grad()) {
            auto gs = torch::autograd::grad({score}, {x}, {}, /*retain_graph=*/false, /*create_graph=*/false,
                                            /*allow_unused=*/true);
            g = gs[0];
        }
        if (!g.defined())
            throw Error("the score of class " + std::to_string(setup.target) + " of model '" + model.info().name +
                        "' has no gradient path to the input (the model runs without autograd); gradient methods "
                        "cannot explain it");
        setup.model_seconds += secondsSince(t0);
        setup.evaluations += count;
        grads.narrow(0, start, count).copy_(g.detach().to(torch::kCPU, torch::kFloat32));
        ctx.report(from + (to - from) * double(start + count) / double(n),
                   what + ": " + std::to_string(start + count) + "/" + std::to_string(n) + " gradients");
    }
    return grads;
}

cv::Mat tensorToMat(const torch::Tensor& map2d) {
    const auto t = map2d.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    cv::Mat m(static_cast<int>(t.size(0)), static_cast<int>(t.size(1)), CV_32F);
    std::memcpy(m.data, t.data_ptr<float>(), sizeof(float) * t.numel());
    return m;
}

cv::Mat inputMapToImage(const cv::Mat& inputMap, const InputGeometry& g, int interpolation, bool* nonFinite) {
    cv::Mat heat = mapToOriginal(inputMap, g, interpolation, 0.0);
    // Zero outside the model's view: a pixel whose centre lies outside the input
    // window (bilinear warping blends the window's edge into up to one pixel beyond it).
    const double wx0 = g.x0, wx1 = g.x0 + g.input_width * g.sx;
    const double wy0 = g.y0, wy1 = g.y0 + g.input_height * g.sy;
    for (int y = 0; y < heat.rows; ++y) {
        auto* row = heat.ptr<float>(y);
        const bool rowOut = y + 0.5 < wy0 || y + 0.5 > wy1;
        for (int x = 0; x < heat.cols; ++x) {
            if (!std::isfinite(row[x])) {
                row[x] = 0.0f;
                if (nonFinite) *nonFinite = true;
            }
            if (rowOut || x + 0.5 < wx0 || x + 0.5 > wx1) row[x] = 0.0f;
        }
    }
    return heat;
}

Explanation finishPixelMethod(const std::string& method, const std::string& title, const ExplainRequest& request,
                              const ParamSet& params, const PixelSetup& setup, const cv::Mat& inputMap, bool signedMap,
                              bool usesBaseline, nlohmann::json numbers) {
    Explanation e;
    e.method = method;
    e.method_title = title;
    e.signed_map = signedMap;
    bool nonFinite = false;
    e.heatmap = inputMapToImage(inputMap, setup.geometry, cv::INTER_LINEAR, &nonFinite);
    if (nonFinite) e.flags.push_back("non-finite-values-replaced");
    double mn = 0, mx = 0;
    cv::minMaxLoc(e.heatmap, &mn, &mx);
    if (mx <= 0) e.flags.push_back(kFlagNoPositiveEvidence);
    e.target_index = setup.target;
    e.target_label = setup.target_label;
    e.target_probability = setup.target_probability;
    e.numbers = std::move(numbers);
    e.numbers["map_min"] = mn;
    e.numbers["map_max"] = mx;
    e.settings = {{"method", method},
                  {"params", params.toJson()},
                  {"seed", request.seed},
                  {"batch_size", setup.batch_size},
                  {"target_index", setup.target},
                  {"device", setup.x.device().str()}};
    if (usesBaseline) {
        if (setup.guard.fired) {
            e.flags.push_back(kFlagBaselinePredictsTarget);
            e.warnings.push_back(setup.guard.warning);
        }
        e.numbers["baseline_probability"] = setup.guard.baseline_probability;
        e.settings["baseline"] = setup.baseline.toJson();
        e.settings["baseline_guard"] = setup.guard.toJson();
        e.settings["perturbation"] = effectiveParams(request.perturbation, perturbationParams()).toJson();
    }
    e.model_seconds = setup.model_seconds;
    e.model_evaluations = setup.evaluations;
    return e;
}

}  // namespace mirada

namespace mirada {

double forEachNoisyBatch(const torch::Tensor& x, int64_t samples, double level, uint64_t seed, int batch,
                         const std::function<void(const torch::Tensor& noisy, int64_t done, int64_t m)>& batchFn) {
    const torch::Tensor cpu = x.to(torch::kCPU, torch::kFloat32);
    const double sigma = level * (cpu.max().item<double>() - cpu.min().item<double>());
    at::Generator gen = at::detail::createCPUGenerator(seed);
    const auto opts = torch::TensorOptions().dtype(torch::kFloat32);
    for (int64_t done = 0; done < samples;) {
        const int64_t m = std::min<int64_t>(std::max(1, batch), samples - done);
        std::vector<torch::Tensor> copies;
        for (int64_t i = 0; i < m; ++i)
            copies.push_back(torch::randn({1, cpu.size(1), cpu.size(2), cpu.size(3)}, gen, opts));
        batchFn((cpu + sigma * torch::cat(copies, 0)).to(x.device()), done, m);
        done += m;
    }
    return sigma;
}

std::vector<ParamSpec> noiseTunnelParams() {
    return {intParam("noise_samples", 0, 0, 10000,
                     "Noise tunnel: average the map over this many noisy copies of the image (SmoothGrad's "
                     "smoothing); 0 = off, the plain method",
                     "samples"),
            floatParam("noise_level", 0.15, 0.0, 1.0,
                       "Noise tunnel: sigma as a fraction of the input's value range (the paper suggests 0.1-0.2)")};
}

torch::Tensor tunnelledAttribution(
    const ExplainRequest& request, const ParamSet& params, PixelSetup& setup, SurrogateOutput output,
    const RunContext& ctx, const std::string& title,
    const std::function<torch::Tensor(const torch::Tensor& inputs, const torch::Tensor& gradients)>& attribution,
    nlohmann::json& numbers) {
    const int64_t n = params.getInt("noise_samples");
    numbers["noise_samples"] = n;
    if (n == 0) {
        const torch::Tensor g = inputGradients(*request.model, setup.x, output, setup, ctx, title);
        return attribution(setup.x.to(torch::kCPU, torch::kFloat32), g)[0].to(torch::kFloat64);
    }
    torch::Tensor sum;
    const double sigma = forEachNoisyBatch(
        setup.x, n, params.getFloat("noise_level"), request.seed, setup.batch_size,
        [&](const torch::Tensor& noisy, int64_t done, int64_t m) {
            const torch::Tensor g =
                inputGradients(*request.model, noisy, output, setup, ctx, title, 0.99 * double(done) / double(n),
                               0.99 * double(done + m) / double(n));
            const torch::Tensor a = attribution(noisy.to(torch::kCPU, torch::kFloat32), g).to(torch::kFloat64).sum(0);
            sum = sum.defined() ? sum + a : a;
        });
    numbers["noise_sigma"] = sigma;
    return sum / static_cast<double>(n);
}

ParamSet TunnelledGradientExplainer::defaultParams() const {
    auto specs = noiseTunnelParams();
    specs.push_back(pixelOutputParam("logit"));
    return ParamSet(name(), specs);
}

PixelExplainer::MapResult TunnelledGradientExplainer::computeMap(const ExplainRequest& request, const ParamSet& params,
                                                                 PixelSetup& setup, SurrogateOutput output,
                                                                 const RunContext& ctx) {
    MapResult r;
    const torch::Tensor map = tunnelledAttribution(
        request, params, setup, output, ctx, title(),
        [&](const torch::Tensor& inputs, const torch::Tensor& g) { return attribution(inputs, g, r.numbers); },
        r.numbers);
    r.input_map = tensorToMat(map);
    r.signed_map = signedMap();
    return r;
}

ParamSpec pixelOutputParam(const std::string& def) {
    return choiceParam("output", def, {"probability", "logit"}, surrogateOutputHelp());
}

Explanation PixelExplainer::explain(const ExplainRequest& request, const RunContext& ctx) {
    const auto t0 = std::chrono::steady_clock::now();
    const ParamSet params = effectiveParams(request.params, defaultParams());
    const SurrogateOutput output =
        params.has("output") ? surrogateOutputFromString(params.getChoice("output")) : SurrogateOutput::Logit;
    const std::string fill = params.has("fill") ? params.getChoice("fill") : "shared";
    ctx.report(0.0, title() + ": preparing");
    PixelSetup setup = preparePixelMethod(request, fill, name() + ".fill", output, title(), ctx);
    MapResult r = computeMap(request, params, setup, output, ctx);
    Explanation e = finishPixelMethod(name(), title(), request, params, setup, r.input_map, r.signed_map,
                                      usesBaseline(), std::move(r.numbers));
    if (!r.warning.empty()) e.warnings.push_back(r.warning);
    e.seconds = secondsSince(t0);
    ctx.report(1.0, title() + ": done");
    return e;
}

}  // namespace mirada
