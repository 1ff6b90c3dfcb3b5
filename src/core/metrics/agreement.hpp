#pragma once
// Agreement between explanation methods: for every pair of maps, Spearman's
// rank correlation (do they order the pixels alike?) and the intersection over
// union of their top-k% pixels (do they point at the same place?).
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include <string>
#include <vector>

#include "explain/explainer.hpp"
#include "common/settings.hpp"
#include "image/preprocess.hpp"

namespace mirada {

// Table: agreementParams() (group "agreement").
struct AgreementSettings {
    double top_percent = 10.0;  // k of the top-k% IoU, percent of the compared pixels, (0, 100]
};
ParamSet agreementParams();
AgreementSettings agreementSettingsFrom(const ParamSet& params);  // empty -> defaults

// Ranks 1..n of values, ties given their average rank (so Spearman is the
// Pearson correlation of these ranks, the standard definition with ties).
std::vector<double> averageRanks(const std::vector<double>& values);

// Spearman rank correlation of two maps of the same size (CV_32F), over the
// pixels where mask (CV_8U, optional) is non-zero. A constant map carries no
// order; the correlation is then defined as 0 (never NaN), except that two
// identical maps always give 1. Throws mirada::Error on a size mismatch.
double spearman(const cv::Mat& a, const cv::Mat& b, const cv::Mat& mask = {});

// The ceil(fraction * n) highest pixels (CV_8U, 1 = in the set). Ties at the
// boundary are taken in row-major order, so the set has exactly that size and
// identical maps give identical sets. fraction in (0, 1].
cv::Mat topFractionMask(const cv::Mat& map, double fraction, const cv::Mat& mask = {});
// |top(a) & top(b)| / |top(a) | top(b)|, with topFractionMask.
double topFractionIoU(const cv::Mat& a, const cv::Mat& b, double fraction, const cv::Mat& mask = {});

struct AgreementMatrix {
    std::vector<std::string> methods;  // row / column names
    double top_percent = 10;
    std::vector<std::vector<double>> spearman;  // symmetric, 1 on the diagonal
    std::vector<std::vector<double>> top_iou;   // symmetric, 1 on the diagonal
};

// All pairs of maps of the same size.
AgreementMatrix agreementMatrix(const std::vector<std::string>& names, const std::vector<cv::Mat>& maps,
                                const AgreementSettings& settings = {}, const cv::Mat& mask = {});
// All pairs of explanations of one image, compared on the model's input grid
// (each pixel the model saw counts once, whatever the original's size; pixels
// outside the image - letterbox padding - are left out).
AgreementMatrix agreementMatrix(const std::vector<Explanation>& explanations, const InputGeometry& geometry,
                                const AgreementSettings& settings = {});

// {"top_percent", "methods": [...], "spearman": [[...]], "top_iou": [[...]],
//  "pairs": [{"a", "b", "spearman", "top_iou"}, ...]} (pairs: a before b, each once).
nlohmann::json toJson(const AgreementMatrix& m);

}  // namespace mirada
