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
        lines.push_back({"deletion AUC " + fixed3(c.deletion.auc) + (floor ? " (rnd " + fixed3(report.random.deletion.auc) + ")" : ""),
                         "insertion AUC " + fixed3(c.insertion.auc) +
                             (floor ? " (rnd " + fixed3(report.random.insertion.auc) + ")" : "")});
    }
    return lines;
}

std::string sanitySheetLine(const SanityMethodResult& result) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", result.spearman.empty() ? 0.0 : result.spearman.back());
    return std::string("sanity rho ") + buf + (result.flagged ? " FLAGGED" : " ok");
}

}  // namespace mirada
