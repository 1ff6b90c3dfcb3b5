#pragma once
// Factories of the concrete explanation methods (implemented in cam/ and surrogate/).
#include <memory>

#include "explain/explainer.hpp"

namespace mirada {
std::unique_ptr<Explainer> makeGradCamExplainer();         // "gradcam"
std::unique_ptr<Explainer> makeGradCamPlusPlusExplainer(); // "gradcampp"
std::unique_ptr<Explainer> makeCamExplainer();             // "cam"
std::unique_ptr<Explainer> makeLimeExplainer();            // "lime"
std::unique_ptr<Explainer> makeKernelShapExplainer();      // "kernelshap"
}  // namespace mirada
