#include "metrics/sanity_check.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <cmath>

#include "common/error.hpp"
#include "metrics/agreement.hpp"
#include "metrics/input_grid.hpp"

namespace mirada {

ParamSet sanityParams() {
    const SanitySettings d;
    return ParamSet(
        "sanity",
        {
            intParam("layers", d.layers, 0, 100000,
                     "Layers re-initialised, from the output down, one more per step (0 = all); each step recomputes "
                     "every method",
                     "layers"),
            floatParam("threshold", d.threshold, -1.0, 1.0,
                       "A method whose rank correlation with its original map is still at least this after the last "
                       "step is flagged as not reflecting the model"),
            choiceParam("compare", d.compare, {"absolute", "signed"},
                        "absolute: correlate the ranks of |map| (Adebayo et al.'s main measure; a sign flip is not a "
                        "change of where the map looks); signed: raw values"),
        });
}

SanitySettings sanitySettingsFrom(const ParamSet& given) {
    const ParamSet p = given.specs().empty() ? sanityParams() : given;
    if (p.group() != "sanity") throw Error("the settings given are for '" + p.group() + "', not 'sanity'");
    SanitySettings s;
    s.layers = static_cast<int>(p.getInt("layers"));
    s.threshold = p.getFloat("threshold");
    s.compare = p.getChoice("compare");
    return s;
}

ScopedParameterRestore::ScopedParameterRestore(const std::vector<ParameterGroup>& groups) {
    torch::NoGradGuard noGrad;
    for (const auto& g : groups)
        for (const auto& p : g.parameters) saved_.emplace_back(p.tensor, p.tensor.detach().clone());
}

ScopedParameterRestore::~ScopedParameterRestore() {
    torch::NoGradGuard noGrad;
    for (auto& [live, copy] : saved_) live.detach().copy_(copy);
}

namespace {

uint64_t splitmix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

bool isNormalisation(const std::string& kind) { return kind.find("Norm") != std::string::npos; }

std::string suffixAfterDot(const std::string& name) {
    const auto dot = name.rfind('.');
    return dot == std::string::npos ? name : name.substr(dot + 1);
}

std::string prefixBeforeDot(const std::string& name) {
    const auto dot = name.rfind('.');
    return dot == std::string::npos ? "" : name.substr(0, dot);
}

int64_t fanIn(const torch::Tensor& w) {
    int64_t f = w.size(1);
    for (int64_t d = 2; d < w.dim(); ++d) f *= w.size(d);
    return std::max<int64_t>(1, f);
}

}  // namespace

void randomiseParameters(const ParameterGroup& group, uint64_t seed) {
    torch::NoGradGuard noGrad;
    at::Generator gen = at::detail::createCPUGenerator(seed);
    const auto cpu = torch::TensorOptions().dtype(torch::kFloat64);
    for (const auto& p : group.parameters) {
        const torch::Tensor live = p.tensor.detach();
        const std::string leaf = suffixAfterDot(p.name);
        torch::Tensor fresh;
        if (isNormalisation(p.module_kind)) {
            fresh = leaf == "weight" ? torch::ones(live.sizes(), cpu) : torch::zeros(live.sizes(), cpu);
        } else if (live.dim() >= 2) {
            fresh = torch::empty(live.sizes(), cpu).normal_(0.0, std::sqrt(2.0 / fanIn(live)), gen);
        } else {
            // A bias: torch's default bound from its module's weight; zero when there is none.
            const std::string weightName = prefixBeforeDot(p.name) + ".weight";
            double bound = 0;
            for (const auto& q : group.parameters)
                if (q.name == weightName && q.tensor.dim() >= 2) bound = 1.0 / std::sqrt(double(fanIn(q.tensor)));
            fresh = bound > 0 ? torch::empty(live.sizes(), cpu).uniform_(-bound, bound, gen)
                              : torch::zeros(live.sizes(), cpu);
        }
        live.copy_(fresh.to(live.options()));
    }
}

bool isBlankMap(const cv::Mat& grid, const cv::Mat& inside) {
    CV_Assert(grid.type() == CV_32F);
    bool first = true;
    float value = 0;
    for (int y = 0; y < grid.rows; ++y) {
        const float* g = grid.ptr<float>(y);
        const uchar* in = inside.empty() ? nullptr : inside.ptr<uchar>(y);
        for (int x = 0; x < grid.cols; ++x) {
            if (in && !in[x]) continue;
            if (first) {
                value = g[x];
                first = false;
            } else if (g[x] != value) {
                return false;
            }
        }
    }
    return true;
}

SanityCheckResult runSanityCheck(const std::vector<SanityInput>& inputs, const ParamSet& params, uint64_t seed,
                                 const RunContext& ctx, bool keepHeatmaps) {
    const auto t0 = std::chrono::steady_clock::now();
    if (inputs.empty()) throw Error("sanity check: no method to check");
    Model* model = inputs.front().request.model;
    for (const auto& in : inputs) {
        if (!in.explainer || !in.request.model)
            throw Error("sanity check: every method needs its explainer and a request with a model");
        if (in.request.model != model) throw Error("sanity check: every method must explain the same model");
        if (in.original.heatmap.empty())
            throw Error("sanity check: " + in.explainer->name() + " has no original heatmap to compare against");
    }
    SanityCheckResult r;
    r.settings = sanitySettingsFrom(params);
    r.seed = seed;
    const auto groups = model->parameterGroups();
    if (groups.empty())
        throw Error("sanity check: model '" + model->info().name +
                    "' does not expose its parameters, so its layers cannot be re-initialised");
    const size_t steps =
        r.settings.layers == 0 ? groups.size() : std::min(groups.size(), static_cast<size_t>(r.settings.layers));
    const bool absolute = r.settings.compare == "absolute";
    // Correlations on the model's input grid, like the agreement between methods.
    const InputGeometry geometry = inputGeometry(inputs.front().request.image.size(), model->info().input);
    auto gridOf = [&](const cv::Mat& heatmap, cv::Mat* inside) {
        cv::Mat grid = heatmapToInputGrid(heatmap, geometry, 0.0f, inside);
        return absolute ? cv::Mat(cv::abs(grid)) : grid;
    };
    std::vector<cv::Mat> originals;
    cv::Mat inside;
    for (const auto& in : inputs) {
        originals.push_back(gridOf(in.original.heatmap, &inside));
        SanityMethodResult m;
        m.method = in.explainer->name();
        m.title = in.explainer->title();
        r.methods.push_back(std::move(m));
    }

    {
        ScopedParameterRestore restore(groups);  // the weights come back however this block is left
        const double total = static_cast<double>(steps * inputs.size());
        for (size_t s = 0; s < steps; ++s) {
            ctx.checkCancelled();
            randomiseParameters(groups[s], splitmix64(seed ^ splitmix64(s)));
            r.layers.push_back(groups[s].name);
            for (size_t i = 0; i < inputs.size(); ++i) {
                ExplainRequest req = inputs[i].request;
                req.target_index = inputs[i].original.target_index;  // the same class at every step
                const double from = static_cast<double>(s * inputs.size() + i) / total;
                RunContext sub;
                sub.cancel = ctx.cancel;
                if (ctx.progress) {
                    auto p = ctx.progress;
                    const std::string what = "sanity: " + std::to_string(s + 1) + "/" + std::to_string(steps) +
                                             " layers random (" + groups[s].name + "), " + r.methods[i].method;
                    sub.progress = [p, from, total, what](double f, const std::string&) { p(from + f / total, what); };
                }
                const Explanation e = inputs[i].explainer->explain(req, sub);
                const cv::Mat grid = gridOf(e.heatmap, nullptr);
                const bool blank = isBlankMap(grid, inside);
                r.methods[i].blank.push_back(blank);
                r.methods[i].spearman.push_back(blank ? 0.0 : spearman(originals[i], grid, inside));
                if (keepHeatmaps) r.methods[i].heatmaps.push_back(e.heatmap);
                ctx.checkCancelled();  // between methods too: one method can take minutes
            }
        }
    }
    r.target_probability = inputs.front().original.target_probability;
    for (auto& m : r.methods) {
        const bool blankAtEnd = !m.blank.empty() && m.blank.back();
        m.flagged = !blankAtEnd && !m.spearman.empty() && m.spearman.back() >= r.settings.threshold;
        m.verdict = blankAtEnd ? "blank" : m.flagged ? "flagged" : "ok";
    }
    ctx.report(1.0, "sanity: done");
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
}

nlohmann::json toJson(const SanityCheckResult& r) {
    nlohmann::json j;
    j["settings"] = {
        {"layers", r.settings.layers}, {"threshold", r.settings.threshold}, {"compare", r.settings.compare}};
    j["seed"] = r.seed;
    j["layers"] = r.layers;
    j["seconds"] = r.seconds;
    j["methods"] = nlohmann::json::object();
    for (const auto& m : r.methods)
        j["methods"][m.method] = {{"title", m.title},
                                  {"spearman", m.spearman},
                                  {"blank", m.blank},
                                  {"flagged", m.flagged},
                                  {"verdict", m.verdict}};
    j["target_probability"] = r.target_probability;
    return j;
}

}  // namespace mirada
