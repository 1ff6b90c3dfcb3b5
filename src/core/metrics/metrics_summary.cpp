#include "metrics/metrics_summary.hpp"

#include <cstdio>

namespace mirada {

namespace {
std::string fixed3(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", v);
    return buf;
}
}  // namespace

std::vector<std::vector<std::string>> faithfulnessSheetLines(const FaithfulnessReport& report) {
    std::vector<std::vector<std::string>> lines;
    const bool floor = !report.random.deletion.fraction.empty();
    for (const auto& c : report.curves) {
        lines.push_back({"deletion AUC " + fixed3(c.deletion.auc) +
                             (floor ? " (rnd " + fixed3(report.random.deletion.auc) + ")" : ""),
                         "insertion AUC " + fixed3(c.insertion.auc) +
                             (floor ? " (rnd " + fixed3(report.random.insertion.auc) + ")" : "")});
    }
    return lines;
}

std::string sanitySheetLine(const SanityMethodResult& result) {
    if (result.verdict == "blank") return "sanity: blank map after randomising";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", result.spearman.empty() ? 0.0 : result.spearman.back());
    return std::string("sanity rho ") + buf + (result.flagged ? " FLAGGED" : " ok");
}

std::string targetCaution(double p) {
    if (!(p < kLowTargetProbability)) return "";
    char buf[96];
    std::snprintf(buf, sizeof buf, "caution: the model gives this class only p = %.3g", p);
    return buf;
}

namespace {
std::string withCaution(std::string verdict, double p) {
    const std::string c = targetCaution(p);
    return c.empty() ? verdict : verdict + " (" + c + ")";
}
}  // namespace

std::string faithfulnessVerdict(const FaithfulnessReport& report, size_t i) {
    if (report.random.insertion.fraction.empty() || i >= report.curves.size()) return "";
    const bool ins = report.curves[i].insertion.auc > report.random.insertion.auc;
    const bool del = report.curves[i].deletion.auc < report.random.deletion.auc;
    return withCaution(ins && del   ? "beats random on both"
                       : ins || del ? "beats random on one curve only"
                                    : "no better than random",
                       report.guard.image_probability);
}

std::string sanityVerdict(const SanityMethodResult& m, double p) {
    const std::string v = m.verdict == "blank"
                              ? "blank: with the weights randomised the map is constant, so the check cannot tell"
                          : m.verdict == "flagged" ? "FLAGGED: the map hardly changes, it does not reflect the model"
                                                   : "ok: the map changes with the model";
    return withCaution(v, p);
}

}  // namespace mirada
