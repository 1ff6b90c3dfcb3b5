#pragma once
#include <string>
#include <vector>

namespace mirada {
// "unknown layer 'x' in model 'm'; valid layers: a, b, c ... (run `mirada-cli layers --model m` to list them with shapes)"
std::string unknownLayerMessage(const std::string& layer, const std::vector<std::string>& valid,
                                const std::string& modelName);
}  // namespace mirada
