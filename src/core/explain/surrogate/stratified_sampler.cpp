#include "explain/surrogate/stratified_sampler.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "common/error.hpp"
#include "explain/surrogate/coalition_sampler.hpp"

namespace mirada {

namespace {
// Strata larger than this are never listed in full (drawn by rejection instead).
constexpr double kListLimit = 2e6;
}  // namespace

StratifiedShapDesign::StratifiedShapDesign(int M, bool paired, uint64_t seed) : M_(M), paired_(paired), rng_(seed) {
    if (M < 2) throw Error("KernelSHAP's stratified design needs at least two superpixels");
    Z_.resize(0, M);
    const int classes = paired ? M / 2 : M - 1;
    for (int k = 1; k <= classes; ++k) {
        Stratum s;
        s.size = k;
        // Shapley kernel weight of one coalition of size k: (M-1) / (C(M,k) k (M-k)); times the
        // C(M,k) coalitions of that size = (M-1) / (k (M-k)) per size in the stratum.
        const double perSize = (M - 1.0) / (double(k) * (M - k));
        if (paired) {
            s.rows_per_unit = 2;
            if (2 * k == M) {  // a coalition and its complement have the same size: C(M,k)/2 units
                s.sizes_covered = 1;
                s.units = std::exp(logBinomial(M, k)) / 2;
                s.mass = perSize;
            } else {
                s.sizes_covered = 2;
                s.units = std::exp(logBinomial(M, k));
                s.mass = 2 * perSize;
            }
        } else {
            s.units = std::exp(logBinomial(M, k));
            s.mass = perSize;
        }
        if (s.units < kListLimit) s.units = std::round(s.units);
        strata_.push_back(std::move(s));
    }
}

std::vector<int64_t> StratifiedShapDesign::allocate(int64_t budget) const {
    // Water-filling: each size gets the same number of rows, a stratum at most all of its units.
    const size_t H = strata_.size();
    std::vector<double> cap(H), share(H);
    for (size_t h = 0; h < H; ++h) {
        cap[h] = strata_[h].units * strata_[h].rows_per_unit;
        share[h] = strata_[h].sizes_covered;
    }
    std::vector<size_t> order(H);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return cap[a] / share[a] < cap[b] / share[b]; });
    double left = static_cast<double>(budget), shareLeft = std::accumulate(share.begin(), share.end(), 0.0);
    std::vector<double> rows(H, 0);
    for (size_t i = 0; i < H; ++i) {
        const size_t h = order[i];
        const double lambda = shareLeft > 0 ? left / shareLeft : 0;
        rows[h] = std::min(cap[h], lambda * share[h]);
        left -= rows[h];
        shareLeft -= share[h];
    }
    std::vector<int64_t> units(H);
    std::vector<std::pair<double, size_t>> fractions;
    int64_t used = 0;
    for (size_t h = 0; h < H; ++h) {
        const double u = rows[h] / strata_[h].rows_per_unit;
        units[h] = static_cast<int64_t>(std::floor(u + 1e-9));
        used += units[h] * strata_[h].rows_per_unit;
        fractions.push_back({u - double(units[h]), h});
    }
    std::sort(fractions.begin(), fractions.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    for (const auto& [frac, h] : fractions) {
        if (double(units[h]) < strata_[h].units && used + strata_[h].rows_per_unit <= budget && frac > 1e-9) {
            ++units[h];
            used += strata_[h].rows_per_unit;
        }
    }
    return units;
}

void StratifiedShapDesign::addUnit(int h, std::vector<char> first, std::vector<std::vector<char>>& added) {
    Stratum& s = strata_[h];
    used_.insert(first);
    std::vector<Eigen::Index> unitRows;
    unitRows.push_back(Z_.rows() + static_cast<Eigen::Index>(added.size()));
    if (paired_) {
        std::vector<char> comp(M_);
        for (int j = 0; j < M_; ++j) comp[j] = static_cast<char>(1 - first[j]);
        added.push_back(std::move(first));
        unitRows.push_back(Z_.rows() + static_cast<Eigen::Index>(added.size()));
        added.push_back(std::move(comp));
    } else {
        added.push_back(std::move(first));
    }
    s.unit_rows.push_back(std::move(unitRows));
    for (int r = 0; r < s.rows_per_unit; ++r) row_stratum_.push_back(h);
    ++s.taken;
}

void StratifiedShapDesign::drawUnits(int h, int64_t count, std::vector<std::vector<char>>& added) {
    if (count <= 0) return;
    Stratum& s = strata_[h];
    const int k = s.size;
    const bool selfComplementary = paired_ && 2 * k == M_;
    const double after = double(s.taken + count);
    if (s.units < kListLimit && 2 * after >= s.units) {
        // Most of the stratum is wanted: list the units not drawn yet and pick among them.
        std::vector<std::vector<char>> candidates;
        forEachCoalitionOfSize(M_, k, [&](std::vector<char>&& row) {
            if (selfComplementary && !row[0]) return;  // the unit's first row holds player 0
            if (!used_.count(row)) candidates.push_back(std::move(row));
        });
        const int64_t take = std::min<int64_t>(count, static_cast<int64_t>(candidates.size()));
        if (take < static_cast<int64_t>(candidates.size()))
            for (int64_t i = 0; i < take; ++i) {
                const auto j = i + static_cast<int64_t>(uniformBelow(rng_, candidates.size() - i));
                std::swap(candidates[i], candidates[j]);
            }
        for (int64_t i = 0; i < take; ++i) addUnit(h, std::move(candidates[i]), added);
        return;
    }
    // A small part of a large stratum: uniform k-subsets, rejecting those already drawn.
    std::vector<int> perm(M_);
    for (int64_t drawn = 0; drawn < count;) {
        std::vector<char> row = randomCoalitionOfSize(rng_, M_, k, perm);
        if (selfComplementary && !row[0])
            for (auto& c : row) c = static_cast<char>(1 - c);
        if (used_.count(row)) continue;
        addUnit(h, std::move(row), added);
        ++drawn;
    }
}

Eigen::MatrixXd StratifiedShapDesign::grow(int64_t budget) {
    if (budget < 0) throw Error("KernelSHAP: the sample budget must not be negative");
    const std::vector<int64_t> want = allocate(budget);
    std::vector<std::vector<char>> added;
    for (size_t h = 0; h < strata_.size(); ++h) drawUnits(static_cast<int>(h), want[h] - strata_[h].taken, added);
    Eigen::MatrixXd rowsAdded(static_cast<Eigen::Index>(added.size()), M_);
    for (Eigen::Index i = 0; i < rowsAdded.rows(); ++i)
        for (int j = 0; j < M_; ++j) rowsAdded(i, j) = added[i][j];
    const Eigen::Index before = Z_.rows();
    Z_.conservativeResize(before + rowsAdded.rows(), M_);
    if (rowsAdded.rows() > 0) Z_.bottomRows(rowsAdded.rows()) = rowsAdded;
    return rowsAdded;
}

Eigen::VectorXd StratifiedShapDesign::weights() const {
    Eigen::VectorXd w(Z_.rows());
    for (Eigen::Index r = 0; r < Z_.rows(); ++r) {
        const Stratum& s = strata_[row_stratum_[r]];
        w(r) = s.mass / double(s.taken);
    }
    return w;
}

bool StratifiedShapDesign::exact() const { return enumeratedStrata() == static_cast<int>(strata_.size()); }

int StratifiedShapDesign::enumeratedStrata() const {
    int n = 0;
    for (const auto& s : strata_) n += double(s.taken) >= s.units ? 1 : 0;
    return n;
}

Eigen::MatrixXd StratifiedShapDesign::unitContributions(const Stratum& s, const Eigen::VectorXd& e) const {
    Eigen::MatrixXd U(s.taken, M_);
    for (int64_t i = 0; i < s.taken; ++i) {
        Eigen::RowVectorXd u = Eigen::RowVectorXd::Zero(M_);
        for (Eigen::Index r : s.unit_rows[i]) u += e(r) * Z_.row(r);
        U.row(i) = u;
    }
    return U;
}

Eigen::MatrixXd StratifiedShapDesign::covariance(const Eigen::VectorXd& values, double v0, const Eigen::VectorXd& phi,
                                                 bool* available) const {
    if (values.size() != Z_.rows() || phi.size() != M_) throw Error("KernelSHAP: values and design disagree in length");
    if (available) *available = true;
    // Residuals of the fitted linear game.
    const Eigen::VectorXd e = (values.array() - v0).matrix() - Z_ * phi;
    Eigen::MatrixXd V = Eigen::MatrixXd::Zero(M_, M_);
    for (const Stratum& s : strata_) {
        const double n = double(s.taken);
        if (n == 0 || n >= s.units) continue;  // nothing drawn, or enumerated: no sampling error
        if (n < 2) {
            if (available) *available = false;
            continue;
        }
        const Eigen::MatrixXd U = unitContributions(s, e);
        const Eigen::MatrixXd centred = U.rowwise() - U.colwise().mean();
        const double fpc = std::isfinite(s.units) ? 1.0 - n / s.units : 1.0;
        // Var(stratum total) = N^2 (1 - n/N) S^2 / n with the kernel weight folded in: mass^2 (1 - f) S^2 / n.
        V += (s.mass * s.mass * fpc / (n * (n - 1))) * (centred.transpose() * centred);
    }
    if (V.isZero(0)) return Eigen::MatrixXd::Zero(M_, M_);
    // Orthonormal basis of the plane sum(phi) = const: the last M-1 columns of Q from QR of the ones vector.
    const Eigen::MatrixXd Q = Eigen::HouseholderQR<Eigen::MatrixXd>(Eigen::MatrixXd::Ones(M_, 1)).householderQ();
    const Eigen::MatrixXd B = Q.rightCols(M_ - 1);
    const Eigen::VectorXd w = weights();
    const Eigen::MatrixXd ZB = Z_ * B;
    const Eigen::MatrixXd G = ZB.transpose() * w.asDiagonal() * ZB;
    const Eigen::MatrixXd Gi = G.completeOrthogonalDecomposition().pseudoInverse();
    // Residuals of a fit are smaller than the errors they stand for: the usual degrees-of-freedom
    // correction (as HC1) for the M - 1 free values, on the rows drawn at random.
    const double n = double(Z_.rows()), p = M_ - 1.0;
    const double dof = n > p + 1 ? n / (n - p) : 1.0;
    const Eigen::MatrixXd C = dof * B * Gi * (B.transpose() * V * B) * Gi * B.transpose();
    return 0.5 * (C + C.transpose());
}

}  // namespace mirada
