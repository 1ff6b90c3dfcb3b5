#include "explain/surrogate/surrogate_engine.hpp"
#include "models/oom_split.hpp"

#include <opencv2/imgproc.hpp>

#include <chrono>
#include <cstring>
#include <cmath>
#include <sstream>
#include <vector>

#include "common/error.hpp"
#include "models/batch_size.hpp"
#include "models/predict.hpp"
#include "segment/superpixels.hpp"

namespace mirada {

std::string toString(SurrogateOutput output) { return output == SurrogateOutput::Logit ? "logit" : "probability"; }

SurrogateOutput surrogateOutputFromString(const std::string& name) {
    if (name == "probability") return SurrogateOutput::Probability;
    if (name == "logit") return SurrogateOutput::Logit;
    throw Error("unknown output '" + name + "'; use probability or logit");
}

std::string surrogateOutputHelp() {
    return "What is explained: the target's softmax probability (default) or its logit (raw score); for a model that "
           "already outputs probabilities, logit means log(probability)";
}

// ---- FunctionCoalitionValue ----

FunctionCoalitionValue::FunctionCoalitionValue(int features, EigenFn fn) : features_(features), eigen_(std::move(fn)) {}
FunctionCoalitionValue::FunctionCoalitionValue(int features, TorchFn fn) : features_(features), torch_(std::move(fn)) {}

Eigen::VectorXd FunctionCoalitionValue::evaluate(const Eigen::MatrixXd& coalitions) {
    evaluations_ += coalitions.rows();
    if (eigen_) return eigen_(coalitions);
    const auto b = coalitions.rows(), m = coalitions.cols();
    auto t = torch::empty({static_cast<int64_t>(b), static_cast<int64_t>(m)}, torch::kFloat32);
    auto acc = t.accessor<float, 2>();
    for (Eigen::Index i = 0; i < b; ++i)
        for (Eigen::Index j = 0; j < m; ++j) acc[i][j] = static_cast<float>(coalitions(i, j));
    auto out = torch_(t).to(torch::kCPU).to(torch::kFloat64).contiguous().view({-1});
    if (out.numel() != b)
        throw Error("value function returned " + std::to_string(out.numel()) + " values for " + std::to_string(b) +
                    " coalitions");
    Eigen::VectorXd v(b);
    std::memcpy(v.data(), out.data_ptr<double>(), sizeof(double) * b);
    return v;
}

// ---- model values ----

Eigen::VectorXd targetValues(const Model& model, const torch::Tensor& outputs, int target, SurrogateOutput output) {
    auto out = outputs.to(torch::kCPU).to(torch::kFloat32);
    torch::Tensor col;
    if (output == SurrogateOutput::Probability) {
        col = toProbabilities(model, out).select(1, target);
    } else if (model.info().outputs_probabilities) {
        col = out.select(1, target).clamp_min(1e-30).log();
    } else {
        col = out.select(1, target);
    }
    col = col.to(torch::kFloat64).contiguous();
    Eigen::VectorXd v(col.size(0));
    std::memcpy(v.data(), col.data_ptr<double>(), sizeof(double) * v.size());
    return v;
}

ModelCoalitionValue::ModelCoalitionValue(Model& model, const PerturbationRenderer& renderer, int target,
                                         SurrogateOutput output)
    : model_(model), renderer_(renderer), target_(target), output_(output) {}

namespace {
torch::Tensor toTensor(const Eigen::MatrixXd& z) {
    auto t = torch::empty({static_cast<int64_t>(z.rows()), static_cast<int64_t>(z.cols())}, torch::kUInt8);
    auto acc = t.accessor<uint8_t, 2>();
    for (Eigen::Index i = 0; i < z.rows(); ++i)
        for (Eigen::Index j = 0; j < z.cols(); ++j) acc[i][j] = z(i, j) != 0 ? 1 : 0;
    return t;
}

double secondsSince(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Forward under InferenceMode, timed (the copy to the CPU waits for the device).
torch::Tensor timedForward(Model& model, const torch::Tensor& batch, double& seconds) {
    c10::InferenceMode guard;
    const auto t0 = std::chrono::steady_clock::now();
    auto out = forwardSplittingOnOom(model, batch).to(torch::kCPU);
    seconds += secondsSince(t0);
    return out;
}
}  // namespace

Eigen::VectorXd ModelCoalitionValue::evaluate(const Eigen::MatrixXd& coalitions) {
    c10::InferenceMode guard;
    const auto images = renderer_.render(toTensor(coalitions));
    const auto out = timedForward(model_, images, model_seconds_);
    evaluations_ += coalitions.rows();
    if (out.dim() != 2 || out.size(0) != coalitions.rows())
        throw Error("model '" + model_.info().name + "' returned an output of shape " + c10::str(out.sizes()) +
                    " for a batch of " + std::to_string(coalitions.rows()) + " images; expected [batch, classes]");
    Eigen::VectorXd v = targetValues(model_, out, target_, output_);
    if (!v.allFinite())
        throw Error("model '" + model_.info().name +
                    "' returned non-finite outputs (NaN or infinity) for a perturbed "
                    "image; check the model and its input normalisation");
    return v;
}

// ---- batching ----

void evaluateCoalitions(CoalitionValue& value, const Eigen::MatrixXd& Z, Eigen::Index first, int batchSize,
                        const RunContext& ctx, const std::string& what, Eigen::VectorXd& values,
                        Eigen::Index doneBefore, Eigen::Index plannedTotal, const std::string& note) {
    const Eigen::Index n = Z.rows();
    const Eigen::Index total = std::max(plannedTotal, doneBefore + n);
    if (batchSize < 1) throw Error(what + ": the batch size must be at least 1");
    if (values.size() != n) values.conservativeResize(n);
    for (Eigen::Index start = first; start < n; start += batchSize) {
        ctx.checkCancelled();
        const Eigen::Index count = std::min<Eigen::Index>(batchSize, n - start);
        const Eigen::VectorXd v = value.evaluate(Z.middleRows(start, count));
        if (v.size() != count)
            throw Error(what + ": the value function returned " + std::to_string(v.size()) + " values for " +
                        std::to_string(count) + " coalitions");
        values.segment(start, count) = v;
        const Eigen::Index done = doneBefore + start + count;
        ctx.report(double(done) / double(total),
                   what + ": " + std::to_string(done) + "/" + std::to_string(total) + " samples" + note);
    }
}

void checkDesignSize(int64_t rows, int features, const std::string& what) {
    const double bytes = double(rows) * features * sizeof(double);
    if (bytes > 2.0 * 1024 * 1024 * 1024) {
        std::ostringstream ss;
        ss << what << ": " << rows << " samples over " << features << " superpixels need "
           << std::round(bytes / (1024.0 * 1024 * 1024)) << " GiB for the coalitions alone; use fewer samples or "
           << "fewer superpixels";
        throw Error(ss.str());
    }
}

// ---- model-side setup and result ----

ParamSet effectiveParams(const ParamSet& given, const ParamSet& defaults) {
    if (given.specs().empty()) return defaults;
    if (given.group() != defaults.group())
        throw Error("the settings given are for '" + given.group() + "', not '" + defaults.group() + "'");
    return given;
}

SurrogateSetup prepareSurrogate(const ExplainRequest& request, const std::string& fill, const std::string& fillSetting,
                                SurrogateOutput output, const std::string& methodTitle, const RunContext& ctx) {
    if (!request.model) throw Error(methodTitle + ": no model was given");
    if (request.image.empty() || request.image.type() != CV_8UC3)
        throw Error(methodTitle + ": expected an 8-bit RGB image");
    if (request.batch_size < 0)
        throw Error("batch size " + std::to_string(request.batch_size) + " is not valid; use 1 or more (0 = default)");
    ctx.checkCancelled();
    Model& model = *request.model;
    const InputSpec& spec = model.info().input;

    SurrogateSetup s;
    s.batch_size = resolveBatchSize(model, request.batch_size);  // 0: measured once per model (batch_size.hpp)
    s.input8 = resizeForModel(request.image, spec);
    s.geometry = inputGeometry(request.image.size(), spec);
    if (!request.segments.empty()) {
        if (request.segments.type() != CV_32S)
            throw Error(methodTitle + ": the imported label map must be a CV_32S label image (see readLabelMap)");
        s.labels = relabelContiguous(labelsToInputGrid(request.segments, s.geometry), &s.segments);
        if (s.segments == 0)
            throw Error(methodTitle + ": the imported label map has no segment inside the model's view");
        // The fit's cost grows with the square of the segment count (17,424 labels
        // took 5.3 GB and 100 s): the same cap as computed superpixels.
        if (s.segments > kMaxSuperpixels)
            throw Error(methodTitle + ": the imported label map has " + std::to_string(s.segments) +
                        " segments inside the model's view, more than the " + std::to_string(kMaxSuperpixels) +
                        " a surrogate explanation supports (the superpixels.count maximum); merge segments first");
        s.imported = true;
    } else {
        s.labels = computeSuperpixels(s.input8, superpixelSettingsFrom(request.superpixels));
        s.segments = countSegments(s.labels);
    }
    s.baseline = resolveBaseline(model.info(), request.perturbation, fill, fillSetting);
    s.renderer = std::make_unique<PerturbationRenderer>(s.input8, s.labels, s.baseline.baseline, spec, model.device());

    ctx.checkCancelled();
    // The unperturbed image and the fully removed one (the baseline) in one batch.
    const auto pair = torch::stack({s.renderer->input(), s.renderer->fill()});
    const auto both = timedForward(model, pair, s.model_seconds);
    s.evaluations = 2;
    const auto out = both.narrow(0, 0, 1);
    s.target = resolveTargetIndex(model, out, request.target_index);
    const auto probs = toProbabilities(model, out);
    s.target_probability = probs[0][s.target].item<float>();
    const auto& labels = model.info().labels;
    s.target_label =
        s.target < static_cast<int>(labels.size()) ? labels[s.target] : "class " + std::to_string(s.target);
    const Eigen::VectorXd values = targetValues(model, both, s.target, output);
    s.full_value = values(0);
    s.empty_value = values(1);
    if (!std::isfinite(s.full_value) || !std::isfinite(s.empty_value))
        throw Error("model '" + model.info().name + "' returned a non-finite output for the image or its baseline");
    const double baselineProbability = toProbabilities(model, both)[1][s.target].item<double>();
    s.guard =
        checkBaseline(s.target_probability, baselineProbability, perturbationSettingsFrom(request.perturbation).guard,
                      s.baseline, s.target_label, methodTitle);
    return s;
}

cv::Mat paintSegments(const cv::Mat& labels, const Eigen::VectorXd& values) {
    CV_Assert(labels.type() == CV_32S);
    cv::Mat out(labels.size(), CV_32F);
    for (int y = 0; y < labels.rows; ++y) {
        const int* l = labels.ptr<int>(y);
        float* o = out.ptr<float>(y);
        for (int x = 0; x < labels.cols; ++x)
            o[x] = (l[x] >= 0 && l[x] < values.size()) ? static_cast<float>(values(l[x])) : 0.0f;
    }
    return out;
}

Explanation SurrogateExplainer::explain(const ExplainRequest& request, const RunContext& ctx) {
    const auto t0 = std::chrono::steady_clock::now();
    const ParamSet params = effectiveParams(request.params, defaultParams());
    const std::string outputName = params.getChoice("output");
    const SurrogateOutput output = surrogateOutputFromString(outputName);
    ctx.report(0.0, title() + ": superpixels and the unperturbed image");
    SurrogateSetup setup = prepareSurrogate(request, params.getChoice("fill"), name() + ".fill", output, title(), ctx);
    ModelCoalitionValue value(*request.model, *setup.renderer, setup.target, output);
    Fit f = fit(value, params, setup, request.seed, ctx);
    f.numbers["superpixels"] = setup.segments;
    f.numbers["output"] = outputName;
    if (setup.segments < kFewSuperpixels) {
        f.flags.push_back(kFlagFewSuperpixels);
        f.warnings.push_back(title() + ": only " + std::to_string(setup.segments) +
                             " superpixel(s): the map can show little of where the model looks; use "
                             "superpixels.count 5 or more (30 to 80 is usual).");
    }
    const int64_t asked = f.numbers.value("samples_asked", nlohmann::json()).is_number_integer()
                              ? f.numbers["samples_asked"].get<int64_t>()
                              : 0;
    if (asked > 0 && asked < setup.segments && !f.numbers.value("exact", false)) {
        f.flags.push_back(kFlagFewSamples);
        f.warnings.push_back(title() + ": " + std::to_string(asked) + " samples for " + std::to_string(setup.segments) +
                             " superpixels: with fewer samples than superpixels the fit is underdetermined and "
                             "the values are mostly noise; use samples = auto (0) or at least twice the "
                             "superpixel count.");
    }
    Explanation e = finishSurrogate(name(), title(), request, params, setup, f.per_segment, std::move(f.numbers));
    e.flags.insert(e.flags.end(), f.flags.begin(), f.flags.end());
    e.warnings.insert(e.warnings.end(), f.warnings.begin(), f.warnings.end());
    e.model_seconds = setup.model_seconds + value.modelSeconds();
    e.model_evaluations = setup.evaluations + value.evaluations();
    e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return e;
}

Explanation finishSurrogate(const std::string& method, const std::string& title, const ExplainRequest& request,
                            const ParamSet& params, const SurrogateSetup& setup, const Eigen::VectorXd& perSegment,
                            nlohmann::json numbers) {
    if (!perSegment.allFinite()) throw Error(title + ": the fit gave non-finite values");
    Explanation e;
    e.method = method;
    e.method_title = title;
    e.signed_map = true;  // per-superpixel weights / Shapley values carry both signs
    e.heatmap = mapToOriginal(paintSegments(setup.labels, perSegment), setup.geometry, cv::INTER_NEAREST, 0.0);
    e.segments = mapToOriginal(setup.labels, setup.geometry, cv::INTER_NEAREST, -1.0);
    e.target_index = setup.target;
    e.target_label = setup.target_label;
    e.target_probability = setup.target_probability;
    e.numbers = std::move(numbers);
    if (!(perSegment.array() > 0).any()) e.flags.push_back(kFlagNoPositiveEvidence);
    if (setup.guard.fired) {
        e.flags.push_back(kFlagBaselinePredictsTarget);
        e.warnings.push_back(setup.guard.warning);
    }
    e.numbers["baseline_probability"] = setup.guard.baseline_probability;

    nlohmann::json sp;
    if (setup.imported) {
        sp = {{"source", "imported"}, {"segments", setup.segments}};
    } else {
        const ParamSet spParams = effectiveParams(request.superpixels, superpixelParams());
        sp = spParams.toJson();
        sp["source"] = "computed";
        sp["segments"] = setup.segments;
    }
    e.settings = {{"method", method},
                  {"params", params.toJson()},
                  {"superpixels", sp},
                  {"seed", request.seed},
                  {"batch_size", setup.batch_size},
                  {"target_index", setup.target},
                  {"device", setup.renderer->device().str()},
                  {"baseline", setup.baseline.toJson()},
                  {"baseline_guard", setup.guard.toJson()},
                  {"perturbation", effectiveParams(request.perturbation, perturbationParams()).toJson()}};
    return e;
}

}  // namespace mirada
