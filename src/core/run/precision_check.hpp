#pragma once
// Choosing the precision of a run's model evaluations (models/precision.hpp).
// "auto" takes bfloat16 only where the CPU has it natively and, on the run's
// own image and target, bfloat16 scores the perturbed images as float32 does:
// a check batch (the image, the baseline and 24 random coalitions of a 4x4
// grid of cells, each kept or replaced by the run's baseline) is evaluated in
// both precisions and the target's probabilities compared.
#include <string>

#include <opencv2/core.hpp>

#include "common/settings.hpp"
#include "models/model.hpp"

namespace mirada {

struct PrecisionCheck {
    int images = 0;               // size of the check batch
    double max_diff = 0;          // max |p_bf16 - p_fp32| of the target probability
    double spread = 0;            // max - min of p_fp32 over the batch: what the perturbations change
    double spearman = 0;          // rank correlation of p_bf16 and p_fp32 over the batch
    bool within = false;          // the tolerance below holds
    std::string summary() const;  // "max difference 0.0021 of a spread of 0.41, rank correlation 0.998"
};

// Tolerance: max_diff <= kBf16MaxDiffOfSpread * spread and spearman >= kBf16MinSpearman,
// or max_diff <= 1e-4 (no visible difference at all). Measured on the models of
// the tests (test_precision.cpp): fashion-cnn (rank correlation 0.999, largest
// difference 0.8% of the spread) and the residual CNN (0.997, 2.4%) pass, and
// their bf16 LIME/KernelSHAP maps at default settings are within the issue's
// tolerance (Spearman >= 0.99, same top 5); a random-weight ResNet50 on a
// photo (0.938, 7.9%), whose maps are noise that bf16 reorders (Spearman
// 0.98), does not.
inline constexpr double kBf16MaxDiffOfSpread = 0.05;
inline constexpr double kBf16MinSpearman = 0.99;

// Evaluates the check batch in float32 and in bfloat16 (leaves the model in
// float32). Throws what the model throws; a model that cannot run in
// bfloat16 gives within = false with images = 0.
PrecisionCheck checkBf16(Model& model, const cv::Mat& image, int target, const ParamSet& perturbation, uint64_t seed);

// The precision a run evaluates in and why: asked Fp32 gives Fp32 (note "").
// Bf16 and Auto need a CPU model and native bfloat16; Auto also checkBf16.
// The model is left in the returned precision. *note: one sentence for the
// report when the answer is not simply what was asked, or when auto decided.
Precision resolveRunPrecision(Model& model, const cv::Mat& image, int target, const ParamSet& perturbation,
                              uint64_t seed, Precision asked, std::string* note);

}  // namespace mirada
