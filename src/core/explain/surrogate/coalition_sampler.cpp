#include "explain/surrogate/coalition_sampler.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <vector>

#include "common/error.hpp"

namespace mirada {

uint64_t uniformBelow(std::mt19937_64& rng, uint64_t n) {
    if (n <= 1) return 0;
    const uint64_t limit = std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % n;
    uint64_t r;
    do {
        r = rng();
    } while (r >= limit);
    return r % n;
}

double uniformUnit(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

std::vector<char> randomCoalitionOfSize(std::mt19937_64& rng, int M, int size, std::vector<int>& perm) {
    perm.resize(M);
    std::iota(perm.begin(), perm.end(), 0);
    std::vector<char> row(M, 0);
    for (int i = 0; i < size; ++i) {
        const int j = i + static_cast<int>(uniformBelow(rng, M - i));
        std::swap(perm[i], perm[j]);
        row[perm[i]] = 1;
    }
    return row;
}

double standardNormal(std::mt19937_64& rng) {
    const double u1 = 1.0 - uniformUnit(rng);  // (0, 1]
    const double u2 = uniformUnit(rng);
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

Eigen::MatrixXd sampleLimeCoalitions(int features, int samples, uint64_t seed) {
    if (features < 1) throw Error("LIME needs at least one superpixel");
    if (samples < 1) throw Error("LIME needs at least one sample");
    std::mt19937_64 rng(seed);
    Eigen::MatrixXd z(samples, features);
    z.row(0).setOnes();
    for (int i = 1; i < samples; ++i) {
        uint64_t bits = 0;
        int left = 0;
        for (int j = 0; j < features; ++j) {
            if (left == 0) {
                bits = rng();
                left = 64;
            }
            z(i, j) = static_cast<double>(bits & 1u);
            bits >>= 1;
            --left;
        }
    }
    return z;
}

double logBinomial(int n, int k) { return std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0); }

namespace {
double binomial(int n, int k) { return std::round(std::exp(logBinomial(n, k))); }
}  // namespace

double shapleyKernelWeight(int M, int s) {
    if (s <= 0 || s >= M) return std::numeric_limits<double>::infinity();
    return (M - 1.0) / (std::exp(logBinomial(M, s)) * s * (M - s));
}

int64_t nonTrivialCoalitions(int M) {
    if (M >= 62) return std::numeric_limits<int64_t>::max();
    return (int64_t(1) << M) - 2;
}

void forEachCoalitionOfSize(int M, int s, const std::function<void(std::vector<char>&&)>& fn) {
    if (s < 0 || s > M) return;
    std::vector<int> idx(s);
    std::iota(idx.begin(), idx.end(), 0);
    while (true) {
        std::vector<char> row(M, 0);
        for (int i : idx) row[i] = 1;
        fn(std::move(row));
        int i = s - 1;
        while (i >= 0 && idx[i] == M - s + i) --i;
        if (i < 0) break;
        ++idx[i];
        for (int j = i + 1; j < s; ++j) idx[j] = idx[j - 1] + 1;
    }
}

namespace {

// Appends every coalition of size s (lexicographic combinations).
void addAllOfSize(int M, int s, double weight, std::vector<std::vector<char>>& rows, std::vector<double>& weights) {
    forEachCoalitionOfSize(M, s, [&](std::vector<char>&& row) {
        rows.push_back(std::move(row));
        weights.push_back(weight);
    });
}

ShapDesign toDesign(const std::vector<std::vector<char>>& rows, const std::vector<double>& weights, int M) {
    ShapDesign d;
    const auto n = static_cast<Eigen::Index>(rows.size());
    d.coalitions.resize(n, M);
    d.weights.resize(n);
    for (Eigen::Index i = 0; i < n; ++i) {
        for (int j = 0; j < M; ++j) d.coalitions(i, j) = rows[i][j];
        d.weights(i) = weights[i];
    }
    const double total = d.weights.sum();
    if (total > 0) d.weights /= total;
    return d;
}

}  // namespace

ShapDesign sampleShapCoalitions(int M, int64_t budget, bool paired, uint64_t seed) {
    if (M < 1) throw Error("KernelSHAP needs at least one superpixel");
    if (budget < 0) throw Error("KernelSHAP: the sample budget must not be negative");
    std::vector<std::vector<char>> rows;
    std::vector<double> weights;
    ShapDesign empty;
    empty.coalitions.resize(0, M);
    empty.weights.resize(0);
    if (M == 1) {  // nothing to regress: phi = f(x) - f(empty)
        empty.exact = true;
        return empty;
    }

    const int64_t all = nonTrivialCoalitions(M);
    if (all <= budget) {
        for (int s = 1; s < M; ++s) addAllOfSize(M, s, shapleyKernelWeight(M, s), rows, weights);
        ShapDesign d = toDesign(rows, weights, M);
        d.exact = true;
        d.enumerated_sizes = M / 2;
        return d;
    }

    // Size classes k = 1..numSizes: sizes {k, M-k}; "paired" classes have k != M-k.
    const int numSizes = M / 2;              // ceil((M-1)/2)
    const int numPairedSizes = (M - 1) / 2;  // floor((M-1)/2)
    std::vector<double> weightVector(numSizes);
    for (int k = 1; k <= numSizes; ++k) {
        weightVector[k - 1] = (M - 1.0) / (double(k) * (M - k));
        if (k <= numPairedSizes) weightVector[k - 1] *= 2;
    }
    const double wsum = std::accumulate(weightVector.begin(), weightVector.end(), 0.0);
    for (auto& w : weightVector) w /= wsum;

    int fullSizes = 0;
    double samplesLeft = static_cast<double>(budget);
    std::vector<double> remaining = weightVector;
    for (int k = 1; k <= numSizes; ++k) {
        double nsubsets = binomial(M, k);
        if (k <= numPairedSizes) nsubsets *= 2;
        if (samplesLeft * remaining[k - 1] / nsubsets >= 1.0 - 1e-8) {
            ++fullSizes;
            samplesLeft -= nsubsets;
            if (remaining[k - 1] < 1.0) {
                const double r = 1.0 - remaining[k - 1];
                for (auto& w : remaining) w /= r;
            }
            const double w = weightVector[k - 1] / binomial(M, k) / (k <= numPairedSizes ? 2.0 : 1.0);
            addAllOfSize(M, k, w, rows, weights);
            if (k <= numPairedSizes) addAllOfSize(M, M - k, w, rows, weights);
        } else {
            break;
        }
    }

    const size_t fixedRows = rows.size();
    int64_t left = budget - static_cast<int64_t>(fixedRows);
    if (fullSizes != numSizes && left > 0) {
        std::vector<double> p(weightVector.begin() + fullSizes, weightVector.end());
        for (int k = fullSizes + 1; k <= numPairedSizes; ++k) p[k - fullSizes - 1] /= 2;  // two rows per draw
        const double psum = std::accumulate(p.begin(), p.end(), 0.0);
        std::vector<double> cumulative(p.size());
        double acc = 0;
        for (size_t i = 0; i < p.size(); ++i) cumulative[i] = (acc += p[i] / psum);

        std::mt19937_64 rng(seed);
        std::map<std::vector<char>, size_t> used;
        std::vector<int> perm(M);
        const int64_t draws = 4 * left;
        for (int64_t d = 0; d < draws && left > 0; ++d) {
            const double u = uniformUnit(rng);
            size_t cls = std::lower_bound(cumulative.begin(), cumulative.end(), u) - cumulative.begin();
            cls = std::min(cls, cumulative.size() - 1);
            const int k = static_cast<int>(cls) + fullSizes + 1;
            const bool pairedClass = k <= numPairedSizes;
            int size = k;
            if (!paired && pairedClass && (rng() & 1u)) size = M - k;
            std::vector<char> row = randomCoalitionOfSize(rng, M, size, perm);
            const bool addComplement = paired && pairedClass;
            auto it = used.find(row);
            if (it == used.end()) {
                used.emplace(row, rows.size());
                rows.push_back(row);
                weights.push_back(1.0);
                --left;
                if (addComplement && left > 0) {
                    std::vector<char> comp(M);
                    for (int j = 0; j < M; ++j) comp[j] = static_cast<char>(1 - row[j]);
                    used.emplace(comp, rows.size());
                    rows.push_back(std::move(comp));
                    weights.push_back(1.0);
                    --left;
                }
            } else {
                weights[it->second] += 1.0;
                if (addComplement) {
                    std::vector<char> comp(M);
                    for (int j = 0; j < M; ++j) comp[j] = static_cast<char>(1 - row[j]);
                    auto ct = used.find(comp);
                    if (ct != used.end()) weights[ct->second] += 1.0;
                }
            }
        }
        // The sampled rows together carry the kernel mass of the sizes not enumerated.
        const double weightLeft = std::accumulate(weightVector.begin() + fullSizes, weightVector.end(), 0.0);
        double sampled = 0;
        for (size_t i = fixedRows; i < weights.size(); ++i) sampled += weights[i];
        if (sampled > 0)
            for (size_t i = fixedRows; i < weights.size(); ++i) weights[i] *= weightLeft / sampled;
    }
    ShapDesign d = toDesign(rows, weights, M);
    d.exact = false;
    d.enumerated_sizes = fullSizes;
    return d;
}

}  // namespace mirada
