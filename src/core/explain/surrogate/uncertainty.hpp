#pragma once
// How sure a LIME or KernelSHAP map is: per-superpixel standard errors and 95%
// intervals from the estimator's covariance, and how likely the top-k
// superpixels would change with another random sample.
#include <Eigen/Dense>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "common/settings.hpp"

namespace mirada {

struct Explanation;

// Normal 97.5% quantile: intervals are value +- 1.96 standard errors.
inline constexpr double kInterval95 = 1.959963984540054;
// P(top-k changes) draws from the full covariance up to this many superpixels,
// from independent normals per superpixel beyond.
inline constexpr int kFullCovarianceLimit = 300;
// auto also stops when every interval is narrower than this share of the
// largest |value|: what can still swap then are near-ties.
inline constexpr double kNearTieShare = 0.05;

struct Uncertainty {
    bool available = false;         // false: the sample cannot tell (too few units in a stratum, or no estimate)
    std::string method;             // how the covariance was estimated (one sentence)
    Eigen::VectorXd stderr_;        // per superpixel (0 where exact)
    Eigen::VectorXd lower, upper;   // 95% intervals
    int top_k = 0;                  // k actually used (min(asked, superpixels - 1))
    double change_probability = 0;  // P(the top-k set by value differs on another sample)
    double widest_share = 0;        // largest half-width / largest |value|
    bool converged = false;         // change_probability <= tolerance, or widest_share <= kNearTieShare

    // {"stderr": [...], "interval": [[lo, hi], ...], "uncertainty": {...}} (null entries when unavailable).
    void addTo(nlohmann::json& numbers) const;
};

// From an estimate and its covariance (PSD, [M, M]): standard errors,
// intervals, and P(top-k changes) by drawing `draws` normal vectors N(value,
// cov) with mt19937_64(seed) and comparing their top-k set with the
// estimate's. tolerance: the converged criterion's bound on that probability.
Uncertainty summarizeUncertainty(const Eigen::VectorXd& value, const Eigen::MatrixXd& cov, bool available, int topK,
                                 double tolerance, uint64_t seed, std::string method, int draws = 2000);

// The settings LIME and KernelSHAP share: `tolerance` (auto's stopping
// bound) and `top_k` (k of the stability number); `what` names the map's
// values ("values", "weights").
ParamSpec toleranceParam(double def, const std::string& what);
ParamSpec topKParam(int def, const std::string& what);

// A ranking that another sample would likely change (not converged and
// P(top-k changes) above kUnstableRanking) gets this flag and a sentence.
inline constexpr const char* kFlagUnstableRanking = "unstable-ranking";
inline constexpr double kUnstableRanking = 0.2;
void addStabilityWarning(const Uncertainty& u, bool automatic, const std::string& title,
                         std::vector<std::string>& flags, std::vector<std::string>& warnings);

// Heteroskedasticity-consistent (HC1 sandwich) covariance of the weighted ridge
// coefficients (weightedRidge: weighted centring, penalty alpha on the
// coefficients), treating the samples as independent draws:
// A^-1 (sum w_i^2 r_i^2 x_i x_i') A^-1 n / (n - p - 1), A = Xc' W Xc + alpha I.
Eigen::MatrixXd ridgeSandwichCovariance(const Eigen::MatrixXd& X, const Eigen::VectorXd& y, const Eigen::VectorXd& w,
                                        double alpha, const Eigen::VectorXd& coef, double intercept);

// ---- Reading an Explanation's uncertainty (tiles, comparison sheet) ----

// True when the explanation carries per-superpixel intervals and a segment map.
bool hasIntervals(const Explanation& e);
// "Unsure" superpixels: drawn in colour (|value| at least kVisibleShare of the
// largest |value|; smaller ones are near the scale's 0 colour anyway) and with a
// 95% interval that holds 0, so the sample does not establish whether they
// speak for or against the class.
inline constexpr double kVisibleShare = 0.1;
// CV_8U at the heatmap's size: 255 on unsure superpixels, 0 elsewhere; empty without intervals.
cv::Mat uncertainSegmentsMask(const Explanation& e);
int uncertainSegmentCount(const Explanation& e);
// CV_32F at the heatmap's size: each superpixel's 95% interval half-width
// (1.96 standard errors), 0 outside; empty without intervals.
cv::Mat intervalHalfWidthMap(const Explanation& e);
// Lines for a tile, a sheet or the CLI (plain ASCII: the sheet's font has no
// other characters), short enough for a sheet's column: {"top-3 stable 97%, converged" (auto only),
// "4 unsure (hatched), 400 samples"},
// {"exact Shapley values", "every coalition (64 samples)"}, {"no interval (...)"};
// empty for methods without intervals.
std::vector<std::string> stabilityLines(const Explanation& e);

}  // namespace mirada
