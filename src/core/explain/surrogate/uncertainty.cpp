#include "explain/surrogate/uncertainty.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>
#include <vector>

#include "explain/explainer.hpp"
#include "explain/surrogate/coalition_sampler.hpp"

namespace mirada {

namespace {
// Indices of the k largest values (ties: lower index first), sorted.
std::vector<int> topSet(const Eigen::VectorXd& v, int k) {
    std::vector<int> idx(v.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                      [&](int a, int b) { return v(a) != v(b) ? v(a) > v(b) : a < b; });
    idx.resize(k);
    std::sort(idx.begin(), idx.end());
    return idx;
}
}  // namespace

Uncertainty summarizeUncertainty(const Eigen::VectorXd& value, const Eigen::MatrixXd& cov, bool available, int topK,
                                 double tolerance, uint64_t seed, std::string method, int draws) {
    Uncertainty u;
    const auto M = value.size();
    u.available = available && cov.rows() == M && cov.cols() == M && cov.allFinite();
    u.method = std::move(method);
    u.top_k = static_cast<int>(std::clamp<Eigen::Index>(topK, 0, std::max<Eigen::Index>(M - 1, 0)));
    if (!u.available) return u;
    u.stderr_ = cov.diagonal().cwiseMax(0.0).cwiseSqrt();
    u.lower = value - kInterval95 * u.stderr_;
    u.upper = value + kInterval95 * u.stderr_;
    const double largest = value.cwiseAbs().maxCoeff();
    const double widest = kInterval95 * u.stderr_.maxCoeff();
    u.widest_share = largest > 0 ? widest / largest : (widest > 0 ? INFINITY : 0.0);
    if (u.top_k > 0 && widest > 0) {
        // Beyond kFullCovarianceLimit superpixels the draws are independent per superpixel (the
        // eigendecomposition and the draws would cost seconds).
        Eigen::MatrixXd L;
        if (M <= kFullCovarianceLimit) {
            Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(cov);
            L = eig.eigenvectors() * eig.eigenvalues().cwiseMax(0.0).cwiseSqrt().asDiagonal();
        } else {
            L = u.stderr_.asDiagonal();
        }
        const std::vector<int> reference = topSet(value, u.top_k);
        std::mt19937_64 rng(seed ^ 0x7f4a7c159e3779b9ULL);
        Eigen::VectorXd z(M);
        int changed = 0;
        for (int d = 0; d < draws; ++d) {
            for (Eigen::Index j = 0; j < M; ++j) z(j) = standardNormal(rng);
            if (topSet(value + L * z, u.top_k) != reference) ++changed;
        }
        u.change_probability = double(changed) / draws;
    }
    u.converged = u.change_probability <= tolerance || u.widest_share <= kNearTieShare;
    return u;
}

void Uncertainty::addTo(nlohmann::json& numbers) const {
    nlohmann::json info = {{"available", available}, {"method", method}, {"top_k", top_k}, {"level", 0.95}};
    if (!available) {
        numbers["stderr"] = nullptr;
        numbers["interval"] = nullptr;
        info["top_k_change_probability"] = nullptr;
        info["converged"] = false;
        numbers["uncertainty"] = info;
        return;
    }
    numbers["stderr"] = std::vector<double>(stderr_.data(), stderr_.data() + stderr_.size());
    nlohmann::json iv = nlohmann::json::array();
    for (Eigen::Index j = 0; j < lower.size(); ++j) iv.push_back({lower(j), upper(j)});
    numbers["interval"] = iv;
    info["top_k_change_probability"] = change_probability;
    info["widest_interval_share"] = std::isfinite(widest_share) ? nlohmann::json(widest_share) : nlohmann::json();
    info["converged"] = converged;
    numbers["uncertainty"] = info;
}

ParamSpec toleranceParam(double def, const std::string& what) {
    return floatParam("tolerance", def, 0.0, 1.0,
                      "samples = auto stops when the top-k superpixels would change with at most this probability "
                      "on another sample (or every 95% interval is within 5% of the largest " +
                          what + ")");
}

ParamSpec topKParam(int def, const std::string& what) {
    return intParam("top_k", def, 1, 50,
                    "k of the stability number: how likely the k superpixels with the largest " + what +
                        " would change with another random sample");
}

void addStabilityWarning(const Uncertainty& u, bool automatic, const std::string& title,
                         std::vector<std::string>& flags, std::vector<std::string>& warnings) {
    if (!u.available || u.converged || u.change_probability <= kUnstableRanking) return;
    char buf[320];
    std::snprintf(buf, sizeof buf,
                  "%s: the top-%d superpixels would change with probability %.0f%% on another random sample%s: "
                  "read the ranking with care, or give more samples.",
                  title.c_str(), u.top_k, 100 * u.change_probability, automatic ? " even at max_samples" : "");
    flags.push_back(kFlagUnstableRanking);
    warnings.push_back(buf);
}

Eigen::MatrixXd ridgeSandwichCovariance(const Eigen::MatrixXd& X, const Eigen::VectorXd& y, const Eigen::VectorXd& w,
                                        double alpha, const Eigen::VectorXd& coef, double intercept) {
    const auto n = X.rows(), p = X.cols();
    const double wsum = w.sum();
    const Eigen::RowVectorXd xMean = (w.transpose() * X) / wsum;
    const Eigen::MatrixXd Xc = X.rowwise() - xMean;
    const Eigen::VectorXd r = y - ((X * coef).array() + intercept).matrix();
    Eigen::MatrixXd A = Xc.transpose() * w.asDiagonal() * Xc;
    A.diagonal().array() += alpha;
    const Eigen::MatrixXd S = (w.array() * r.array()).matrix().asDiagonal() * Xc;
    const Eigen::MatrixXd meat = S.transpose() * S;
    const Eigen::MatrixXd Ai = A.completeOrthogonalDecomposition().pseudoInverse();
    const double dof = n > p + 1 ? double(n) / double(n - p - 1) : 1.0;
    const Eigen::MatrixXd C = dof * Ai * meat * Ai;
    return 0.5 * (C + C.transpose());
}

bool hasIntervals(const Explanation& e) {
    return e.numbers.is_object() && e.numbers.contains("interval") && e.numbers["interval"].is_array() &&
           !e.segments.empty() && e.segments.size() == e.heatmap.size();
}

namespace {
// Per superpixel: (lower, upper).
std::vector<std::pair<double, double>> intervalsOf(const Explanation& e) {
    std::vector<std::pair<double, double>> out;
    for (const auto& iv : e.numbers["interval"]) out.push_back({iv[0].get<double>(), iv[1].get<double>()});
    return out;
}

template <typename T, typename F>
cv::Mat perSegment(const Explanation& e, int type, F value) {
    cv::Mat out(e.segments.size(), type, cv::Scalar(0));
    for (int y = 0; y < e.segments.rows; ++y) {
        const int* l = e.segments.ptr<int>(y);
        T* o = out.ptr<T>(y);
        for (int x = 0; x < e.segments.cols; ++x) o[x] = value(l[x]);
    }
    return out;
}
}  // namespace

namespace {
// Superpixels drawn in colour (|value| >= kVisibleShare of the largest) whose interval holds 0.
std::vector<char> unsureSegments(const Explanation& e) {
    const auto iv = intervalsOf(e);
    double largest = 0;
    for (const auto& [lo, hi] : iv) largest = std::max(largest, std::abs(0.5 * (lo + hi)));
    std::vector<char> out(iv.size(), 0);
    for (size_t j = 0; j < iv.size(); ++j) {
        const double value = 0.5 * (iv[j].first + iv[j].second);
        out[j] = iv[j].first < 0 && iv[j].second > 0 && std::abs(value) >= kVisibleShare * largest && largest > 0;
    }
    return out;
}
}  // namespace

cv::Mat uncertainSegmentsMask(const Explanation& e) {
    if (!hasIntervals(e)) return {};
    const auto unsure = unsureSegments(e);
    return perSegment<uchar>(e, CV_8U, [&](int l) -> uchar {
        if (l < 0 || l >= static_cast<int>(unsure.size())) return 0;
        return unsure[l] ? 255 : 0;
    });
}

int uncertainSegmentCount(const Explanation& e) {
    if (!hasIntervals(e)) return 0;
    const auto unsure = unsureSegments(e);
    return static_cast<int>(std::count(unsure.begin(), unsure.end(), 1));
}

cv::Mat intervalHalfWidthMap(const Explanation& e) {
    if (!hasIntervals(e)) return {};
    const auto iv = intervalsOf(e);
    return perSegment<float>(e, CV_32F, [&](int l) -> float {
        if (l < 0 || l >= static_cast<int>(iv.size())) return 0.0f;
        return static_cast<float>(0.5 * (iv[l].second - iv[l].first));
    });
}

std::vector<std::string> stabilityLines(const Explanation& e) {
    const auto& n = e.numbers;
    if (!n.is_object() || !n.contains("uncertainty") || !n["uncertainty"].is_object()) return {};
    const auto& u = n["uncertainty"];
    const std::string samples = n.contains("samples") ? std::to_string(n["samples"].get<int64_t>()) + " samples" : "";
    const bool automatic = n.contains("samples_asked") && n["samples_asked"] == "auto";
    if (n.value("exact", false)) return {"exact Shapley values", "every coalition (" + samples + ")"};
    if (!u.value("available", false) || !u.contains("top_k_change_probability") ||
        !u["top_k_change_probability"].is_number())
        return {"no interval (" + u.value("method", std::string("not estimated")) + ")"};
    const double p = u["top_k_change_probability"].get<double>();
    char buf[160];
    std::snprintf(buf, sizeof buf, "top-%d stable %.0f%%", u.value("top_k", 0), 100.0 * (1.0 - p));
    std::string first = buf;
    // "converged" is auto's stopping test (P <= tolerance or near-ties only); said only when auto ran.
    if (automatic) first += n.value("converged", false) ? ", converged" : ", NOT converged";
    return {first, std::to_string(uncertainSegmentCount(e)) + " unsure (hatched), " + samples};
}

}  // namespace mirada
