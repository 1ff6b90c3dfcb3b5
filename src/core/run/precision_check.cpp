#include "run/precision_check.hpp"

#include <algorithm>
#include <cstdio>
#include <random>

#include "explain/baseline_setting.hpp"
#include "image/preprocess.hpp"
#include "metrics/agreement.hpp"
#include "models/predict.hpp"
#include "segment/perturbation.hpp"

namespace mirada {

std::string PrecisionCheck::summary() const {
    char buf[160];
    std::snprintf(buf, sizeof buf, "max difference %.2g of a spread of %.2g, rank correlation %.3f over %d images",
                  max_diff, spread, spearman, images);
    return buf;
}

namespace {

torch::Tensor targetProbabilities(Model& model, const torch::Tensor& batch, int target) {
    const torch::Tensor out = model.forward(batch).to(torch::kCPU);
    checkModelOutputs(model, out, "the precision check");
    return toProbabilities(model, out).select(1, target).to(torch::kDouble).contiguous();
}

}  // namespace

PrecisionCheck checkBf16(Model& model, const cv::Mat& image, int target, const ParamSet& perturbation, uint64_t seed) {
    const InputSpec& spec = model.info().input;
    const cv::Mat input8 = resizeForModel(image, spec);
    // A 4x4 grid of cells: coarse enough that removing cells moves the score.
    cv::Mat labels(input8.size(), CV_32S);
    for (int y = 0; y < labels.rows; ++y)
        for (int x = 0; x < labels.cols; ++x) labels.at<int>(y, x) = (y * 4 / labels.rows) * 4 + x * 4 / labels.cols;
    const ResolvedBaseline baseline = resolveBaseline(model.info(), perturbation, "shared", "perturbation.baseline");
    const PerturbationRenderer renderer(input8, labels, baseline.baseline, spec, model.device());
    constexpr int kRandom = 24;
    torch::Tensor coalitions = torch::zeros({kRandom + 2, 16}, torch::kUInt8);
    coalitions[0].fill_(1);  // the image; row 1: the baseline
    std::mt19937_64 rng(seed ^ 0xbf16ULL);
    std::bernoulli_distribution keep(0.5);
    auto acc = coalitions.accessor<uint8_t, 2>();
    for (int r = 2; r < kRandom + 2; ++r)
        for (int c = 0; c < 16; ++c) acc[r][c] = keep(rng) ? 1 : 0;
    const torch::Tensor batch = renderer.render(coalitions);

    PrecisionCheck check;
    std::string why;
    model.setEvaluationPrecision(Precision::Fp32, nullptr);
    const torch::Tensor p32 = targetProbabilities(model, batch, target);
    if (model.setEvaluationPrecision(Precision::Bf16, &why) != Precision::Bf16) return check;
    torch::Tensor p16;
    try {
        p16 = targetProbabilities(model, batch, target);
    } catch (...) {
        model.setEvaluationPrecision(Precision::Fp32, nullptr);
        throw;
    }
    model.setEvaluationPrecision(Precision::Fp32, nullptr);

    check.images = static_cast<int>(batch.size(0));
    check.max_diff = (p16 - p32).abs().max().item<double>();
    check.spread = (p32.max() - p32.min()).item<double>();
    cv::Mat a(1, check.images, CV_32F), b(1, check.images, CV_32F);
    for (int i = 0; i < check.images; ++i) {
        a.at<float>(0, i) = static_cast<float>(p32[i].item<double>());
        b.at<float>(0, i) = static_cast<float>(p16[i].item<double>());
    }
    check.spearman = spearman(a, b);
    check.within = check.max_diff <= 1e-4 ||
                   (check.max_diff <= kBf16MaxDiffOfSpread * check.spread && check.spearman >= kBf16MinSpearman);
    return check;
}

Precision resolveRunPrecision(Model& model, const cv::Mat& image, int target, const ParamSet& perturbation,
                              uint64_t seed, Precision asked, std::string* note) {
    std::string said;
    Precision chosen = Precision::Fp32;
    const std::string who = asked == Precision::Auto ? "precision auto chose fp32: " : "precision bf16 was asked, but ";
    if (asked == Precision::Fp32) {
        // nothing to explain
    } else if (!model.device().is_cpu()) {
        said = who + "bfloat16 evaluation is for the CPU and the model runs on " + model.device().str() +
               "; evaluating in float32";
    } else if (!cpuHasNativeBf16()) {
        said = who +
               "this CPU has no native bfloat16 arithmetic (AVX512-BF16 or AMX-BF16), where it would be "
               "emulated and slower; evaluating in float32";
    } else if (asked == Precision::Bf16) {
        std::string why;
        chosen = model.setEvaluationPrecision(Precision::Bf16, &why);
        if (chosen != Precision::Bf16) said = who + why;
    } else {
        const PrecisionCheck check = checkBf16(model, image, target, perturbation, seed);
        if (check.images == 0) {
            std::string why;
            model.setEvaluationPrecision(Precision::Bf16, &why);
            said = who + why;
        } else if (!check.within) {
            said = who + "on a check batch of perturbed images bfloat16 changed the target's probability too much (" +
                   check.summary() + "; tolerance: at most 5% of the spread and rank correlation 0.99)";
        } else {
            chosen = model.setEvaluationPrecision(Precision::Bf16, &said);
            if (chosen == Precision::Bf16)
                said =
                    "precision auto chose bf16: on a check batch of perturbed images bfloat16 agreed with float32 (" +
                    check.summary() + ")";
        }
    }
    if (chosen != Precision::Bf16) model.setEvaluationPrecision(Precision::Fp32, nullptr);
    if (note) *note = said;
    return chosen;
}

}  // namespace mirada
