#pragma once
// KernelSHAP's default coalition design ("leverage"): coalitions stratified by
// size, the budget shared equally among the sizes, drawn without replacement
// inside each size, each drawn together with its complement.
//
// Why this design (measured against exact Shapley values, README "How sure is
// a LIME or KernelSHAP map?"): in the efficiency-constrained Shapley regression
// every coalition of size s has leverage proportional to 1 / C(M, s), so each
// size carries the same share of the problem (Musco & Witter 2024, "Leverage
// SHAP"); sampling each size class separately, with a fixed count and without
// replacement, removes the variance of how many draws each size gets, and a
// size whose count reaches its number of coalitions is enumerated (no error
// left there). The regression weight of a row is its Shapley kernel weight
// times N_h / n_h (coalitions in its stratum / drawn), so the weighted least
// squares is the survey-sampling regression estimator of the exact Shapley
// regression; its standard errors come from the linearization (sandwich)
// variance of a stratified sample without replacement (covariance()).
#include <Eigen/Dense>

#include <cstdint>
#include <random>
#include <set>
#include <vector>

namespace mirada {

class StratifiedShapDesign {
public:
    // M >= 2 players. paired: a unit is a coalition and its complement (2 rows);
    // otherwise a unit is one coalition and each size is its own stratum.
    StratifiedShapDesign(int M, bool paired, uint64_t seed);

    int features() const { return M_; }
    // Grows the design to hold about `budget` coalitions (never the empty or
    // the full one; at most 2^M - 2; a paired unit may leave one unused) and
    // returns the rows added, in the order they were added. Earlier rows are
    // kept: growing 200 -> 400 draws 200 more without replacement.
    Eigen::MatrixXd grow(int64_t budget);

    const Eigen::MatrixXd& coalitions() const { return Z_; }  // every row so far, [rows, M]
    Eigen::Index rows() const { return Z_.rows(); }
    // Regression weight per row: (Shapley kernel mass of its stratum) / (units drawn in it).
    Eigen::VectorXd weights() const;
    bool exact() const;            // every coalition is in the design
    int enumeratedStrata() const;  // strata drawn completely

    // Linearization covariance [M, M] of the efficiency-constrained weighted
    // least-squares fit phi on this design (values: v(row) for every row; v0 =
    // v(empty)). Zero when the design is exact. `available` is false when a
    // stratum drawn only partly has fewer than 2 units (its variance cannot be
    // estimated): the covariance then leaves that stratum out.
    Eigen::MatrixXd covariance(const Eigen::VectorXd& values, double v0, const Eigen::VectorXd& phi,
                               bool* available) const;

private:
    struct Stratum {
        int size = 0;           // coalition size of the unit's first row (1 .. M/2, or 1 .. M-1 unpaired)
        int rows_per_unit = 1;  // 2 for paired units
        int sizes_covered = 1;  // sizes in the stratum: {s, M-s} -> 2
        double units = 0;       // coalitions (units) in the stratum, may be +inf for large M
        double mass = 0;        // Shapley kernel weight of one coalition x units
        int64_t taken = 0;      // units drawn so far
        std::vector<std::vector<Eigen::Index>> unit_rows;  // rows of each drawn unit
    };
    std::vector<int64_t> allocate(int64_t budget) const;  // units per stratum for this budget (equal per size)
    Eigen::MatrixXd unitContributions(const Stratum& s, const Eigen::VectorXd& residuals) const;
    void addUnit(int h, std::vector<char> first, std::vector<std::vector<char>>& added);
    void drawUnits(int h, int64_t count, std::vector<std::vector<char>>& added);

    int M_;
    bool paired_;
    std::mt19937_64 rng_;
    std::vector<Stratum> strata_;
    std::vector<int> row_stratum_;
    std::set<std::vector<char>> used_;  // first rows of the units drawn
    Eigen::MatrixXd Z_;
};

}  // namespace mirada
