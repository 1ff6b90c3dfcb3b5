#pragma once
// Short text lines summarising the metrics of each map, for the comparison
// sheet (under each tile) and the GUI's tiles, so both say the same thing.
#include <string>
#include <vector>

#include "metrics/faithfulness.hpp"
#include "metrics/sanity_check.hpp"

namespace mirada {

// Per method, in the report's order: {"deletion AUC 0.123 (rnd 0.456)", "insertion AUC 0.789 (rnd 0.321)"};
// without a random floor the "(rnd ...)" parts are left out.
std::vector<std::vector<std::string>> faithfulnessSheetLines(const FaithfulnessReport& report);

// "sanity rho 0.12 ok" / "sanity rho 0.81 FLAGGED" / "sanity: blank map": the
// correlation after the last randomisation step.
std::string sanitySheetLine(const SanityMethodResult& result);

// Below this probability of the explained class, every verdict gets a caution:
// the model does not predict that class, so its maps and metrics say little.
inline constexpr double kLowTargetProbability = 0.2;
// "" when p >= kLowTargetProbability, else a short caution naming p.
std::string targetCaution(double targetProbability);

// The deletion/insertion verdict of method i against the random floor:
// "beats random on both", "beats random on one curve only" or "no better than
// random" ("" without a floor); with the caution appended for a low target p.
std::string faithfulnessVerdict(const FaithfulnessReport& report, size_t i);

// The sanity verdict in words ("ok: ...", "FLAGGED: ...", "blank: ..."), with
// the caution appended for a low target p.
std::string sanityVerdict(const SanityMethodResult& result, double targetProbability);

}  // namespace mirada
