#pragma once
// The registry: the one list of explanation methods. Everything that lists
// methods (the GUI's sections, `explain --methods`, `mirada-cli methods`, the
// help texts, the README's tables) reads this table. Adding a method is one
// file (its Explainer and factory, declared below) plus one row in
// methodRegistry() (explainer_registry.cpp). No self-registering statics: a
// static library would drop them.
#include <memory>
#include <string>
#include <vector>

#include "explain/explainer.hpp"

namespace mirada {

enum class MethodFamily { Cam, Gradient, Perturbation, Surrogate };
std::string toString(MethodFamily family);  // "cam", "gradient", "perturbation", "surrogate"

// What a method's model work is, so that `bench` can time the same work alone.
enum class ModelWork {
    OneTap,            // one forward through a layer tap (and its backward): most CAMs
    ImageBatches,      // batches of perturbed images through forward(): surrogates, perturbation, Score-CAM
    InputGradients,    // forward + backward to the input, in batches: the gradient family
    LayerReplacement,  // batches through forwardReplacingLayer(): Ablation-CAM
};

struct MethodEntry {
    std::string name;   // CLI name, settings group: "gradcam"
    std::string title;  // display name: "Grad-CAM"
    MethodFamily family;
    ModelWork work;
    std::string summary;  // one line for `mirada-cli methods` and the GUI's tooltip
    bool default_on;      // checked in the GUI on a first start (fast, and applies to most models)
    std::unique_ptr<Explainer> (*make)();
};

// Every method, in display order (families together).
const std::vector<MethodEntry>& methodRegistry();
// nullptr when unknown.
const MethodEntry* findMethod(const std::string& name);
// The GUI's first-start selection, comma-separated ("gradcam,gradcampp,cam,lime,kernelshap").
std::string defaultMethodList();
// Every name, comma-separated (for help texts and errors).
std::string allMethodList();

// Factories (one per method file).
std::unique_ptr<Explainer> makeGradCamExplainer();              // cam/grad_cam.cpp
std::unique_ptr<Explainer> makeGradCamPlusPlusExplainer();      // cam/grad_cam_plus_plus.cpp
std::unique_ptr<Explainer> makeCamExplainer();                  // cam/cam.cpp
std::unique_ptr<Explainer> makeHiResCamExplainer();             // cam/hires_cam.cpp
std::unique_ptr<Explainer> makeXGradCamExplainer();             // cam/xgrad_cam.cpp
std::unique_ptr<Explainer> makeLayerCamExplainer();             // cam/layer_cam.cpp
std::unique_ptr<Explainer> makeEigenCamExplainer();             // cam/eigen_cam.cpp
std::unique_ptr<Explainer> makeScoreCamExplainer();             // cam/score_cam.cpp
std::unique_ptr<Explainer> makeAblationCamExplainer();          // cam/ablation_cam.cpp
std::unique_ptr<Explainer> makeSaliencyExplainer();             // pixel/saliency.cpp
std::unique_ptr<Explainer> makeGradXInputExplainer();           // pixel/grad_x_input.cpp
std::unique_ptr<Explainer> makeIntegratedGradientsExplainer();  // pixel/integrated_gradients.cpp
std::unique_ptr<Explainer> makeSmoothGradExplainer();           // pixel/smoothgrad.cpp
std::unique_ptr<Explainer> makeOcclusionExplainer();            // pixel/occlusion.cpp
std::unique_ptr<Explainer> makeRiseExplainer();                 // pixel/rise.cpp
std::unique_ptr<Explainer> makeLimeExplainer();                 // surrogate/lime.cpp
std::unique_ptr<Explainer> makeKernelShapExplainer();           // surrogate/kernel_shap.cpp

}  // namespace mirada
