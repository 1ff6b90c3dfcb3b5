#pragma once
// Coalition sampling for the surrogate engine. A coalition is a row of 0/1,
// one entry per superpixel (1 = the superpixel is kept). Every random choice
// comes from std::mt19937_64 seeded by the request's seed, and the draws are
// made with our own integer arithmetic (not std::*_distribution) so a seed
// gives the same samples with every standard library.
#include <Eigen/Dense>

#include <cstdint>
#include <functional>
#include <random>
#include <vector>

namespace mirada {

// Uniform integer in [0, n) without modulo bias.
uint64_t uniformBelow(std::mt19937_64& rng, uint64_t n);
// Uniform double in [0, 1) (53 random bits).
double uniformUnit(std::mt19937_64& rng);
// Standard normal draw (Box-Muller on uniformUnit; same numbers with every standard library).
double standardNormal(std::mt19937_64& rng);
// A uniformly random coalition of `size` out of M players (the first `size`
// entries of a partial Fisher-Yates shuffle of 0..M-1); `perm` is scratch space.
std::vector<char> randomCoalitionOfSize(std::mt19937_64& rng, int M, int size, std::vector<int>& perm);
// log C(n, k).
double logBinomial(int n, int k);
// Calls fn with every coalition (0/1 row of M) of size s, in lexicographic order of the kept indices.
void forEachCoalitionOfSize(int M, int s, const std::function<void(std::vector<char>&&)>& fn);

// LIME (lime_image): row 0 = all ones, the others Bernoulli(0.5) per superpixel.
Eigen::MatrixXd sampleLimeCoalitions(int features, int samples, uint64_t seed);

// Shapley kernel weight of one coalition of size s out of M: (M-1) / (C(M,s) s (M-s)).
// Infinite for s = 0 or s = M (those are handled as exact constraints).
double shapleyKernelWeight(int M, int s);

// The coalitions KernelSHAP regresses on (never the empty or the full one) with
// their weights.
struct ShapDesign {
    Eigen::MatrixXd coalitions;  // [n, M] 0/1
    Eigen::VectorXd weights;     // [n] > 0, sum 1
    bool exact = false;          // every coalition enumerated: the solution is the exact Shapley values
    int enumerated_sizes = 0;    // size classes (s and M-s) enumerated completely
};

// Total number of coalitions other than the empty and the full one, 2^M - 2,
// saturated at INT64_MAX for large M.
int64_t nonTrivialCoalitions(int M);

// shap's KernelExplainer sampling. budget = number of coalitions wanted
// (besides the empty and the full one).
//  * If 2^M - 2 <= budget: every coalition with weight shapleyKernelWeight -> exact.
//  * Otherwise size classes {s, M-s} are enumerated completely from s = 1 upward
//    while the budget left covers them at their share of the kernel mass; the
//    remaining sizes are sampled with probability proportional to their kernel
//    mass (paired: each sample is followed by its complement), repeated draws
//    add weight to the existing row, and the sampled rows' weights are scaled
//    to the kernel mass those sizes carry, so enumerated and sampled weights
//    stay consistent. At most 4 * budget draws are made (as shap), so a few
//    samples fewer than the budget can come back when duplicates are frequent.
//  * paired = false: a sampled size class {s, M-s} picks s or M-s with
//    probability 1/2 and no complement is added.
ShapDesign sampleShapCoalitions(int M, int64_t budget, bool paired, uint64_t seed);

}  // namespace mirada
