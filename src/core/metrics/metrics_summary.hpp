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

// "sanity rho 0.12 ok" / "sanity rho 0.81 FLAGGED": the correlation after the last randomisation step.
std::string sanitySheetLine(const SanityMethodResult& result);

}  // namespace mirada
