#pragma once
// Weighted least squares for the surrogate engine (Eigen).
#include <Eigen/Dense>

#include "explain/run_context.hpp"

namespace mirada {

struct RidgeFit {
    Eigen::VectorXd coef;  // one per column of X
    double intercept = 0;
    double r2 = 0;  // weighted R^2 of the fit on the same data
};

// Minimises sum_i w_i (y_i - b - x_i . coef)^2 + alpha * |coef|^2 (the intercept
// b is not penalised), as sklearn's Ridge(alpha, fit_intercept=True) with
// sample_weight. Solved by weighted centring, then the normal equations with
// LDLT (alpha > 0) or a complete orthogonal decomposition of sqrt(W) Xc
// (alpha = 0: the minimum-norm solution when X is rank deficient).
// `ctx` (optional): its cancel flag is checked between the heavy steps (the
// Gram matrix, the factorisation, the residuals); throws mirada::Cancelled.
RidgeFit weightedRidge(const Eigen::MatrixXd& X, const Eigen::VectorXd& y, const Eigen::VectorXd& w, double alpha,
                       const RunContext* ctx = nullptr);

// sklearn's r2_score(y, yhat, sample_weight=w): 1 - sum w (y - yhat)^2 / sum w (y - mean_w(y))^2.
// When y is constant: 1 if the fit is perfect, else 0.
double weightedR2(const Eigen::VectorXd& y, const Eigen::VectorXd& yhat, const Eigen::VectorXd& w);

// KernelSHAP's constrained fit: minimises sum_i w_i (y_i - f0 - z_i . phi)^2
// subject to sum(phi) = fx - f0 exactly. The last variable is eliminated
// (phi_M = fx - f0 - sum_{j<M} phi_j) as shap does, the reduced problem is
// solved with a complete orthogonal decomposition of the weighted design, and
// phi_M is recovered, so the sum holds to rounding.
// `ctx` (optional): the cancel flag is checked before and after the decomposition.
Eigen::VectorXd solveEfficiencyConstrained(const Eigen::MatrixXd& Z, const Eigen::VectorXd& y, const Eigen::VectorXd& w,
                                           double f0, double fx, const RunContext* ctx = nullptr);

}  // namespace mirada
