#include "models/layer_names.hpp"

namespace mirada {
std::string unknownLayerMessage(const std::string& layer, const std::vector<std::string>& valid,
                                const std::string& modelName) {
    std::string msg = "unknown layer '" + layer + "' in model '" + modelName + "'; valid layers: ";
    const size_t shown = std::min<size_t>(valid.size(), 40);
    for (size_t i = 0; i < shown; ++i) msg += (i ? ", " : "") + valid[i];
    if (valid.size() > shown) msg += ", ... (" + std::to_string(valid.size() - shown) + " more)";
    msg += ". Run `mirada-cli layers --model " + modelName + "` to list them with output shapes";
    return msg;
}
}  // namespace mirada
