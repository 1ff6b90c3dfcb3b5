#include "metrics/faithfulness.hpp"
#include "models/oom_split.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <random>
#include <sstream>

#include "common/error.hpp"
#include "image/preprocess.hpp"
#include "metrics/input_grid.hpp"
#include "models/batch_size.hpp"
#include "models/predict.hpp"
#include "segment/perturbation.hpp"

namespace mirada {

ParamSet faithfulnessParams() {
    const FaithfulnessSettings d;
    return ParamSet(
        "faithfulness",
        {
            floatParam("step_fraction", d.step_fraction, 1e-6, 1.0,
                       "Fraction of the model input's pixels removed (deletion) or revealed (insertion) per step; "
                       "the paper's 1/224 = 0.00446 evaluates 225 points per curve, coarser steps are faster"),
            choiceParam(
                "fill", d.fill, methodFillChoices(false),
                "What a deleted pixel becomes (and, with insertion_start = fill, what insertion starts from): " +
                    methodFillHelp(false)),
            choiceParam("insertion_start", d.insertion_start, {"fill", "blur"},
                        "What insertion starts from before revealing pixels: fill (default: the same baseline "
                        "deletion removes pixels to) or blur (RISE's blurred copy, blur_sigma / blur_kernel)"),
            floatParam("blur_sigma", d.blur_sigma, 0.1, 100.0,
                       "Gaussian sigma of the blurred copy insertion starts from when insertion_start = blur", "px"),
            intParam("blur_kernel", d.blur_kernel, 1, 101, "Gaussian kernel size of the blurred copy; odd", "px"),
            intParam("random_repeats", d.random_repeats, 0, 100,
                     "Random pixel rankings averaged into the floor curves a useful map must beat (0 = no floor)",
                     "rankings"),
        });
}

FaithfulnessSettings faithfulnessSettingsFrom(const ParamSet& given) {
    const ParamSet p = given.specs().empty() ? faithfulnessParams() : given;
    if (p.group() != "faithfulness") throw Error("the settings given are for '" + p.group() + "', not 'faithfulness'");
    FaithfulnessSettings s;
    s.step_fraction = p.getFloat("step_fraction");
    s.fill = p.getChoice("fill");
    s.insertion_start = p.getChoice("insertion_start");
    s.blur_sigma = p.getFloat("blur_sigma");
    s.blur_kernel = static_cast<int>(p.getInt("blur_kernel"));
    s.random_repeats = static_cast<int>(p.getInt("random_repeats"));
    if (s.blur_kernel % 2 == 0)
        throw Error("faithfulness.blur_kernel = " + std::to_string(s.blur_kernel) +
                    " is even; a Gaussian kernel needs an odd size (e.g. 11)");
    return s;
}

double curveAuc(const std::vector<double>& x, const std::vector<double>& y) {
    if (x.empty() || x.size() != y.size())
        throw Error("curve AUC: need as many scores as fractions and at least one point (got " +
                    std::to_string(x.size()) + " and " + std::to_string(y.size()) + ")");
    if (x.size() == 1) return y[0];
    double area = 0;
    for (size_t i = 1; i < x.size(); ++i) {
        if (!(x[i] > x[i - 1])) throw Error("curve AUC: the fractions must increase strictly");
        area += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2;
    }
    return area / (x.back() - x.front());
}

namespace {

double secondsSince(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Depthwise separable Gaussian blur of [1, C, H, W] (OpenCV's BORDER_REFLECT_101
// = torch's "reflect" where the image is larger than the kernel's half width,
// replicated edges otherwise).
torch::Tensor gaussianBlur(const torch::Tensor& x, double sigma, int kernel) {
    namespace F = torch::nn::functional;
    const int64_t c = x.size(1), half = kernel / 2;
    if (half == 0) return x.clone();
    auto k = torch::arange(kernel, torch::TensorOptions().dtype(torch::kFloat64)) - half;
    k = torch::exp(-(k * k) / (2 * sigma * sigma));
    k = (k / k.sum()).to(x.options());
    const bool reflect = x.size(2) > half && x.size(3) > half;
    const auto mode =
        reflect ? F::PadFuncOptions::mode_t(torch::kReflect) : F::PadFuncOptions::mode_t(torch::kReplicate);
    auto padded = F::pad(x, F::PadFuncOptions({half, half, half, half}).mode(mode));
    const auto conv = F::Conv2dFuncOptions().groups(c);
    auto h = F::conv2d(padded, k.view({1, 1, 1, kernel}).expand({c, 1, 1, kernel}).contiguous(), conv);
    return F::conv2d(h, k.view({1, 1, kernel, 1}).expand({c, 1, kernel, 1}).contiguous(), conv);
}

// A RunContext whose progress maps [0, 1] onto [from, from + span] of the parent's.
RunContext subContext(const RunContext& parent, double from, double span) {
    RunContext sub;
    sub.cancel = parent.cancel;
    if (parent.progress) {
        auto p = parent.progress;
        sub.progress = [p, from, span](double f, const std::string& msg) { p(from + f * span, msg); };
    }
    return sub;
}

}  // namespace

struct FaithfulnessEvaluator::State {
    Model* model = nullptr;
    torch::Tensor input;    // [1, C, H, W] normalised, on the model's device
    torch::Tensor fill;     // [1, C, H, W] what deletion puts in
    torch::Tensor blurred;  // [1, C, H, W] insertion's start
    InputGeometry geometry;
    cv::Mat inside;  // CV_8U input grid, 1 = sees the image
    int inside_count = 0;
    std::vector<int64_t> tie_order;  // seeded permutation of all input pixels (tie-breaking)
};

FaithfulnessEvaluator::FaithfulnessEvaluator(const FaithfulnessRequest& request) : state_(std::make_unique<State>()) {
    if (!request.model) throw Error("faithfulness: no model was given");
    if (request.image.empty() || request.image.type() != CV_8UC3)
        throw Error("faithfulness: expected an 8-bit RGB image");
    if (request.batch_size < 0)
        throw Error("batch size " + std::to_string(request.batch_size) + " is not valid; use 1 or more (0 = default)");
    settings_ = faithfulnessSettingsFrom(request.params);
    Model& model = *request.model;
    State& s = *state_;
    s.model = &model;
    seed_ = request.seed;
    batch_ = resolveBatchSize(model, request.batch_size);  // 0: measured once per model (batch_size.hpp)
    const InputSpec& spec = model.info().input;
    s.geometry = inputGeometry(request.image.size(), spec);
    s.input = preprocess(request.image, spec).to(model.device());

    // Which input pixels see the image: the footprint test of heatmapToInputGrid on a dummy map.
    heatmapToInputGrid(cv::Mat::zeros(request.image.size(), CV_32F), s.geometry, 0.0f, &s.inside);
    s.inside_count = cv::countNonZero(s.inside);
    if (s.inside_count == 0) throw Error("faithfulness: no input pixel of the model sees the image");

    // The baseline: the same image the perturbation methods use for "removed"
    // (one shared setting, the model's own by default).
    baseline_ = resolveBaseline(model.info(), request.perturbation, settings_.fill, "faithfulness.fill");
    {
        const cv::Mat input8 = resizeForModel(request.image, spec);
        const cv::Mat noLabels(input8.size(), CV_32S, cv::Scalar(-1));
        s.fill = normalizeForModel(baselineImage8(input8, noLabels, baseline_.baseline, spec), spec).to(model.device());
    }
    s.blurred = settings_.insertion_start == "blur" ? gaussianBlur(s.input, settings_.blur_sigma, settings_.blur_kernel)
                                                    : s.fill;

    // The target, checking on the way that the model gives [1, classes]; the
    // baseline's score for the guard in the same batch.
    torch::Tensor out;
    {
        c10::InferenceMode guard;
        out = model.forward(torch::cat({s.input, s.fill})).to(torch::kCPU);
    }
    target_ = resolveTargetIndex(model, out.narrow(0, 0, 1), request.target_index);
    {
        const auto probs = toProbabilities(model, out);
        const auto& labels = model.info().labels;
        const std::string label =
            target_ < static_cast<int>(labels.size()) ? labels[target_] : "class " + std::to_string(target_);
        guard_ =
            checkBaseline(probs[0][target_].item<double>(), probs[1][target_].item<double>(),
                          perturbationSettingsFrom(request.perturbation).guard, baseline_, label, "Deletion/insertion");
    }

    const int64_t n = static_cast<int64_t>(s.geometry.input_width) * s.geometry.input_height;
    s.tie_order.resize(n);
    std::iota(s.tie_order.begin(), s.tie_order.end(), 0);
    std::mt19937_64 rng(seed_ ^ 0x5eedf00dULL);
    std::shuffle(s.tie_order.begin(), s.tie_order.end(), rng);
}

FaithfulnessEvaluator::~FaithfulnessEvaluator() = default;

int FaithfulnessEvaluator::pixels() const { return state_->inside_count; }

int FaithfulnessEvaluator::pixelsPerStep() const {
    return std::max(1, static_cast<int>(std::lround(settings_.step_fraction * state_->inside_count)));
}

std::vector<int64_t> FaithfulnessEvaluator::ranking(const cv::Mat& heatmap) const {
    const State& s = *state_;
    const cv::Mat grid = heatmapToInputGrid(heatmap, s.geometry);
    const int w = grid.cols;
    auto key = [&](int64_t p) {
        const float v = grid.at<float>(static_cast<int>(p / w), static_cast<int>(p % w));
        return std::isnan(v) ? -std::numeric_limits<float>::infinity() : v;
    };
    auto in = [&](int64_t p) { return s.inside.at<uint8_t>(static_cast<int>(p / w), static_cast<int>(p % w)) != 0; };
    std::vector<int64_t> order = s.tie_order;
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
        const bool ia = in(a), ib = in(b);
        if (ia != ib) return ia;
        return key(a) > key(b);
    });
    return order;
}

FaithfulnessCurves FaithfulnessEvaluator::evaluate(const cv::Mat& heatmap, const RunContext& ctx) {
    return evaluateRanking(ranking(heatmap), ctx);
}

FaithfulnessCurves FaithfulnessEvaluator::evaluateRanking(const std::vector<int64_t>& order, const RunContext& ctx) {
    const auto t0 = std::chrono::steady_clock::now();
    State& s = *state_;
    const int h = s.geometry.input_height, w = s.geometry.input_width;
    const int64_t n = static_cast<int64_t>(h) * w;
    if (static_cast<int64_t>(order.size()) != n)
        throw Error("faithfulness: a ranking must order all " + std::to_string(n) + " input pixels; got " +
                    std::to_string(order.size()));
    std::vector<int64_t> position(n, -1);
    for (int64_t i = 0; i < n; ++i) {
        const int64_t p = order[i];
        if (p < 0 || p >= n || position[p] >= 0)
            throw Error("faithfulness: the ranking is not a permutation of the input pixels (index " +
                        std::to_string(p) + " at rank " + std::to_string(i) + ")");
        position[p] = i;
    }
    const auto device = s.input.device();
    const auto rankpos = torch::tensor(position, torch::kInt64).view({1, n}).to(device);

    // Points: 0, step, 2 step, ... up to every pixel inside the view.
    const int64_t m = s.inside_count, step = pixelsPerStep();
    std::vector<int64_t> counts;
    for (int64_t k = 0; k < m; k += step) counts.push_back(k);
    counts.push_back(m);
    const int64_t points = static_cast<int64_t>(counts.size());
    const auto countsT = torch::tensor(counts, torch::kInt64).to(device);

    FaithfulnessCurves r;
    const int64_t batchesPerCurve = (points + batch_ - 1) / batch_;
    int64_t batchesDone = 0;
    for (int curve = 0; curve < 2; ++curve) {
        const bool deletion = curve == 0;
        Curve& c = deletion ? r.deletion : r.insertion;
        for (int64_t start = 0; start < points; start += batch_) {
            ctx.checkCancelled();
            const int64_t b = std::min<int64_t>(batch_, points - start);
            torch::Tensor scores;
            {
                c10::InferenceMode guard;
                // mask[i, p] = pixel p is among the first counts[start + i] of the ranking.
                const auto mask = (rankpos < countsT.narrow(0, start, b).view({b, 1})).view({b, 1, h, w});
                const auto mixed =
                    deletion ? torch::where(mask, s.fill, s.input) : torch::where(mask, s.input, s.blurred);
                // Plain NCHW strides: where() over broadcast operands may return strides that make a
                // one-channel batch look channels-last, which sends convolutions down a much slower path.
                const auto batch = torch::empty(mixed.sizes(), mixed.options()).copy_(mixed);
                const auto out = forwardSplittingOnOom(*s.model, batch).to(torch::kCPU);
                if (out.dim() != 2 || out.size(0) != b)
                    throw Error("model '" + s.model->info().name + "' returned an output of shape " +
                                c10::str(out.sizes()) + " for a batch of " + std::to_string(b) +
                                " images; expected [batch, classes]");
                scores = toProbabilities(*s.model, out).select(1, target_).to(torch::kFloat64).contiguous();
            }
            r.model_evaluations += b;
            const double* v = scores.data_ptr<double>();
            for (int64_t i = 0; i < b; ++i) {
                if (!std::isfinite(v[i]))
                    throw Error("model '" + s.model->info().name +
                                "' returned a non-finite output for a perturbed image; check the model and its input "
                                "normalisation");
                c.fraction.push_back(static_cast<double>(counts[start + i]) / static_cast<double>(m));
                c.score.push_back(v[i]);
            }
            ++batchesDone;
            ctx.report(static_cast<double>(batchesDone) / (2.0 * batchesPerCurve),
                       std::string(deletion ? "deletion" : "insertion") + ": " + std::to_string(start + b) + "/" +
                           std::to_string(points) + " points");
        }
        c.auc = curveAuc(c.fraction, c.score);
    }
    r.seconds = secondsSince(t0);
    return r;
}

FaithfulnessCurves FaithfulnessEvaluator::randomFloor(const RunContext& ctx) {
    const auto t0 = std::chrono::steady_clock::now();
    FaithfulnessCurves mean;
    const int repeats = settings_.random_repeats;
    if (repeats == 0) return mean;
    const State& s = *state_;
    const int w = s.geometry.input_width;
    std::vector<int64_t> insidePx, outsidePx;
    for (int64_t p = 0; p < static_cast<int64_t>(s.tie_order.size()); ++p)
        (s.inside.at<uint8_t>(static_cast<int>(p / w), static_cast<int>(p % w)) ? insidePx : outsidePx).push_back(p);
    std::mt19937_64 rng(seed_ ^ 0x7a4d0f1bULL);
    for (int r = 0; r < repeats; ++r) {
        std::vector<int64_t> order = insidePx;
        std::shuffle(order.begin(), order.end(), rng);
        order.insert(order.end(), outsidePx.begin(), outsidePx.end());
        auto sub = subContext(ctx, double(r) / repeats, 1.0 / repeats);
        const auto c = evaluateRanking(order, sub);
        if (r == 0) {
            mean.deletion.fraction = c.deletion.fraction;
            mean.insertion.fraction = c.insertion.fraction;
            mean.deletion.score.assign(c.deletion.score.size(), 0.0);
            mean.insertion.score.assign(c.insertion.score.size(), 0.0);
        }
        for (size_t i = 0; i < c.deletion.score.size(); ++i) mean.deletion.score[i] += c.deletion.score[i] / repeats;
        for (size_t i = 0; i < c.insertion.score.size(); ++i) mean.insertion.score[i] += c.insertion.score[i] / repeats;
        mean.model_evaluations += c.model_evaluations;
    }
    mean.deletion.auc = curveAuc(mean.deletion.fraction, mean.deletion.score);
    mean.insertion.auc = curveAuc(mean.insertion.fraction, mean.insertion.score);
    mean.seconds = secondsSince(t0);
    return mean;
}

FaithfulnessReport evaluateFaithfulness(const FaithfulnessRequest& request,
                                        const std::vector<Explanation>& explanations, const RunContext& ctx) {
    const auto t0 = std::chrono::steady_clock::now();
    FaithfulnessRequest req = request;
    if (req.target_index < 0 && !explanations.empty()) req.target_index = explanations.front().target_index;
    FaithfulnessEvaluator ev(req);
    FaithfulnessReport rep;
    rep.settings = ev.settings();
    rep.baseline = ev.baseline();
    rep.guard = ev.guard();
    rep.target_index = ev.target();
    rep.pixels = ev.pixels();
    rep.pixels_per_step = ev.pixelsPerStep();
    // Progress units: one per map, one per random ranking.
    const double total = static_cast<double>(explanations.size() + rep.settings.random_repeats);
    double done = 0;
    for (const auto& e : explanations) {
        auto sub = subContext(ctx, done / total, 1.0 / total);
        const std::string name = e.method;
        auto inner = sub.progress;
        if (inner) sub.progress = [inner, name](double f, const std::string& m) { inner(f, name + " " + m); };
        rep.methods.push_back(e.method);
        rep.curves.push_back(ev.evaluate(e.heatmap, sub));
        rep.model_evaluations += rep.curves.back().model_evaluations;
        done += 1;
    }
    if (rep.settings.random_repeats > 0) {
        auto sub = subContext(ctx, done / total, rep.settings.random_repeats / total);
        auto inner = sub.progress;
        if (inner) sub.progress = [inner](double f, const std::string& m) { inner(f, "random " + m); };
        rep.random = ev.randomFloor(sub);
        rep.model_evaluations += rep.random.model_evaluations;
    }
    rep.seconds = secondsSince(t0);
    return rep;
}

nlohmann::json toJson(const FaithfulnessReport& r) {
    nlohmann::json j;
    j["settings"] = {{"step_fraction", r.settings.step_fraction},
                     {"fill", r.settings.fill},
                     {"insertion_start", r.settings.insertion_start},
                     {"blur_sigma", r.settings.blur_sigma},
                     {"blur_kernel", r.settings.blur_kernel},
                     {"random_repeats", r.settings.random_repeats},
                     {"score", "target probability"}};
    j["baseline"] = r.baseline.toJson();
    j["baseline_guard"] = r.guard.toJson();
    if (r.guard.fired) j["warning"] = r.guard.warning;
    j["target_index"] = r.target_index;
    j["pixels"] = r.pixels;
    j["pixels_per_step"] = r.pixels_per_step;
    j["points_per_curve"] = r.curves.empty() ? 0 : r.curves.front().deletion.fraction.size();
    j["model_evaluations"] = r.model_evaluations;
    j["seconds"] = r.seconds;
    j["methods"] = nlohmann::json::object();
    for (size_t i = 0; i < r.methods.size(); ++i) {
        const auto& c = r.curves[i];
        nlohmann::json m = {{"deletion_auc", c.deletion.auc}, {"insertion_auc", c.insertion.auc}};
        if (r.settings.random_repeats > 0) {
            m["deletion_beats_random"] = c.deletion.auc < r.random.deletion.auc;
            m["insertion_beats_random"] = c.insertion.auc > r.random.insertion.auc;
        }
        j["methods"][r.methods[i]] = m;
    }
    if (r.settings.random_repeats > 0)
        j["random"] = {{"deletion_auc", r.random.deletion.auc},
                       {"insertion_auc", r.random.insertion.auc},
                       {"repeats", r.settings.random_repeats}};
    return j;
}

std::string curvesCsv(const FaithfulnessReport& r) {
    std::ostringstream out;
    out.precision(9);
    out << "method,curve,step,fraction,score\n";
    auto write = [&](const std::string& method, const char* name, const Curve& c) {
        for (size_t i = 0; i < c.fraction.size(); ++i)
            out << method << ',' << name << ',' << i << ',' << c.fraction[i] << ',' << c.score[i] << '\n';
    };
    for (size_t i = 0; i < r.methods.size(); ++i) {
        write(r.methods[i], "deletion", r.curves[i].deletion);
        write(r.methods[i], "insertion", r.curves[i].insertion);
    }
    if (r.settings.random_repeats > 0) {
        write("random", "deletion", r.random.deletion);
        write("random", "insertion", r.random.insertion);
    }
    return out.str();
}

}  // namespace mirada
