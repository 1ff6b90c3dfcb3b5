#include "explain/surrogate/weighted_ridge.hpp"

#include <cmath>

#include "common/error.hpp"

namespace mirada {

double weightedR2(const Eigen::VectorXd& y, const Eigen::VectorXd& yhat, const Eigen::VectorXd& w) {
    const double wsum = w.sum();
    if (wsum <= 0) return 0;
    const double mean = w.dot(y) / wsum;
    const double ssRes = (w.array() * (y - yhat).array().square()).sum();
    const double ssTot = (w.array() * (y.array() - mean).square()).sum();
    if (ssTot <= 0) return ssRes <= 0 ? 1.0 : 0.0;
    return 1.0 - ssRes / ssTot;
}

RidgeFit weightedRidge(const Eigen::MatrixXd& X, const Eigen::VectorXd& y, const Eigen::VectorXd& w, double alpha,
                       const RunContext* ctx) {
    auto checkpoint = [ctx] {
        if (ctx) ctx->checkCancelled();
    };
    checkpoint();
    const auto n = X.rows(), m = X.cols();
    if (y.size() != n || w.size() != n) throw Error("weighted ridge: X, y and w disagree in length");
    if (n == 0) throw Error("weighted ridge: no samples");
    if (alpha < 0) throw Error("weighted ridge: alpha must not be negative");
    if ((w.array() < 0).any() || !w.allFinite()) throw Error("weighted ridge: weights must be finite and >= 0");
    const double wsum = w.sum();
    if (wsum <= 0) throw Error("weighted ridge: all sample weights are zero");

    const Eigen::RowVectorXd xMean = (w.transpose() * X) / wsum;
    const double yMean = w.dot(y) / wsum;
    const Eigen::MatrixXd Xc = X.rowwise() - xMean;
    const Eigen::VectorXd yc = y.array() - yMean;

    RidgeFit fit;
    checkpoint();
    if (alpha > 0) {
        Eigen::MatrixXd A = Xc.transpose() * w.asDiagonal() * Xc;
        checkpoint();
        A.diagonal().array() += alpha;
        const Eigen::VectorXd b = Xc.transpose() * (w.array() * yc.array()).matrix();
        fit.coef = A.ldlt().solve(b);
    } else {
        const Eigen::VectorXd sw = w.array().sqrt();
        const Eigen::MatrixXd Xw = sw.asDiagonal() * Xc;
        const Eigen::VectorXd yw = sw.array() * yc.array();
        checkpoint();
        fit.coef = Xw.completeOrthogonalDecomposition().solve(yw);
    }
    checkpoint();
    if (fit.coef.size() != m || !fit.coef.allFinite())
        throw Error("weighted ridge: the fit did not converge to finite coefficients");
    fit.intercept = yMean - xMean.dot(fit.coef);
    const Eigen::VectorXd yhat = (X * fit.coef).array() + fit.intercept;
    fit.r2 = weightedR2(y, yhat, w);
    return fit;
}

Eigen::VectorXd solveEfficiencyConstrained(const Eigen::MatrixXd& Z, const Eigen::VectorXd& y, const Eigen::VectorXd& w,
                                           double f0, double fx, const RunContext* ctx) {
    if (ctx) ctx->checkCancelled();
    const auto n = Z.rows(), M = Z.cols();
    if (M < 1) throw Error("KernelSHAP: no features");
    if (y.size() != n || w.size() != n) throw Error("KernelSHAP: coalitions, values and weights disagree in length");
    const double total = fx - f0;
    Eigen::VectorXd phi = Eigen::VectorXd::Zero(M);
    if (M == 1 || n == 0) {
        // Nothing to learn from: the efficiency constraint alone (shared equally).
        phi.setConstant(total / M);
        return phi;
    }
    // y - f0 = sum_j z_j phi_j, phi_M = total - sum_{j<M} phi_j
    // => y - f0 - z_M total = sum_{j<M} (z_j - z_M) phi_j
    const Eigen::VectorXd zLast = Z.col(M - 1);
    const Eigen::VectorXd sw = w.array().sqrt();
    const Eigen::VectorXd target = sw.array() * ((y.array() - f0) - zLast.array() * total);
    const Eigen::MatrixXd X = sw.asDiagonal() * (Z.leftCols(M - 1).colwise() - zLast);
    if (ctx) ctx->checkCancelled();
    const Eigen::VectorXd head = X.completeOrthogonalDecomposition().solve(target);
    if (ctx) ctx->checkCancelled();
    if (!head.allFinite()) throw Error("KernelSHAP: the constrained fit did not give finite values");
    phi.head(M - 1) = head;
    // Compensated sum so that sum(phi) = total to rounding.
    double s = 0, c = 0;
    for (Eigen::Index j = 0; j < M - 1; ++j) {
        const double t = s + head(j);
        c += std::abs(s) >= std::abs(head(j)) ? (s - t) + head(j) : (head(j) - t) + s;
        s = t;
    }
    phi(M - 1) = total - (s + c);
    return phi;
}

}  // namespace mirada
