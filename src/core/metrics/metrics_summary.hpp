#pragma once
// Short text lines summarising the metrics of each map, for the comparison
// sheet (under each tile) and the GUI's tiles, so both say the same thing.
#include <string>
#include <vector>

#include "metrics/faithfulness.hpp"

namespace mirada {

// Per method, in the report's order: {"deletion AUC 0.123 (rnd 0.456)", "insertion AUC 0.789 (rnd 0.321)"};
// without a random floor the "(rnd ...)" parts are left out.
std::vector<std::vector<std::string>> faithfulnessSheetLines(const FaithfulnessReport& report);

}  // namespace mirada
