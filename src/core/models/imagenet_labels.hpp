#pragma once
#include <string>
#include <vector>

namespace mirada {
// ImageNet-1k class names in torchvision's order (compiled in from resources/imagenet_classes.txt).
const std::vector<std::string>& imagenetLabels();
}  // namespace mirada
