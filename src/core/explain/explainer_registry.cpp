#include <algorithm>
#include <cctype>

#include "common/error.hpp"
#include "explain/explainer.hpp"
#include "explain/methods.hpp"
#include "models/predict.hpp"

namespace mirada {

std::string toString(MethodFamily family) {
    switch (family) {
        case MethodFamily::Cam: return "cam";
        case MethodFamily::Gradient: return "gradient";
        case MethodFamily::Perturbation: return "perturbation";
        case MethodFamily::Surrogate: return "surrogate";
    }
    return "?";
}

const std::vector<MethodEntry>& methodRegistry() {
    using F = MethodFamily;
    using W = ModelWork;
    static const std::vector<MethodEntry> table = {
        {"gradcam", "Grad-CAM", F::Cam, W::OneTap, "channels weighted by their mean gradient (Selvaraju et al. 2017)",
         true, makeGradCamExplainer},
        {"gradcampp", "Grad-CAM++", F::Cam, W::OneTap,
         "positive gradients weighted per position (Chattopadhay et al. 2018)", true, makeGradCamPlusPlusExplainer},
        {"cam", "CAM", F::Cam, W::OneTap, "class activation map of a GAP + linear head (Zhou et al. 2016)", true,
         makeCamExplainer},
        {"hirescam", "HiResCAM", F::Cam, W::OneTap,
         "gradient times activation per position, summed over channels (Draelos & Carin 2020)", false,
         makeHiResCamExplainer},
        {"xgradcam", "XGrad-CAM", F::Cam, W::OneTap,
         "gradients averaged with the activation's own weights (Fu et al. 2020)", false, makeXGradCamExplainer},
        {"layercam", "LayerCAM", F::Cam, W::OneTap,
         "positive gradient times activation per position; early layers too (Jiang et al. 2021)", false,
         makeLayerCamExplainer},
        {"eigencam", "Eigen-CAM", F::Cam, W::OneTap,
         "first principal component of the activations; no gradient, no class (Muhammad & Yeasin 2020)", false,
         makeEigenCamExplainer},
        {"scorecam", "Score-CAM", F::Cam, W::ImageBatches,
         "channels weighted by the score of the image they mask; one evaluation per channel (Wang et al. 2020)", false,
         makeScoreCamExplainer},
        {"ablationcam", "Ablation-CAM", F::Cam, W::LayerReplacement,
         "channels weighted by the score drop when each is set to zero; one evaluation per channel "
         "(Desai & Ramaswamy 2020)",
         false, makeAblationCamExplainer},
        {"saliency", "Saliency", F::Gradient, W::InputGradients,
         "largest |gradient| over the channels at each pixel (Simonyan et al. 2014)", false, makeSaliencyExplainer},
        {"gradxinput", "Gradient x Input", F::Gradient, W::InputGradients,
         "input times gradient, summed over channels (Shrikumar et al. 2016)", false, makeGradXInputExplainer},
        {"integratedgradients", "Integrated Gradients", F::Gradient, W::InputGradients,
         "gradients along the path from the baseline, times the difference; adds up to f(x) - f(baseline) "
         "(Sundararajan et al. 2017)",
         false, makeIntegratedGradientsExplainer},
        {"smoothgrad", "SmoothGrad", F::Gradient, W::InputGradients,
         "saliency of the gradient averaged over noisy copies (Smilkov et al. 2017)", false, makeSmoothGradExplainer},
        {"occlusion", "Occlusion", F::Perturbation, W::ImageBatches,
         "score drop when a sliding window is removed (Zeiler & Fergus 2014)", false, makeOcclusionExplainer},
        {"rise", "RISE", F::Perturbation, W::ImageBatches,
         "random masks weighted by the score they leave (Petsiuk et al. 2018)", false, makeRiseExplainer},
        {"lime", "LIME", F::Surrogate, W::ImageBatches,
         "weighted linear fit over superpixels kept or removed (Ribeiro et al. 2016)", true, makeLimeExplainer},
        {"kernelshap", "KernelSHAP", F::Surrogate, W::ImageBatches,
         "Shapley values of the superpixels by weighted regression (Lundberg & Lee 2017)", true,
         makeKernelShapExplainer},
    };
    return table;
}

const MethodEntry* findMethod(const std::string& name) {
    for (const auto& m : methodRegistry())
        if (m.name == name) return &m;
    return nullptr;
}

std::string defaultMethodList() {
    std::string s;
    for (const auto& m : methodRegistry())
        if (m.default_on) s += (s.empty() ? "" : ",") + m.name;
    return s;
}

std::string allMethodList() {
    std::string s;
    for (const auto& m : methodRegistry()) s += (s.empty() ? "" : ", ") + m.name;
    return s;
}

std::vector<std::string> explainerNames() {
    std::vector<std::string> names;
    for (const auto& m : methodRegistry()) names.push_back(m.name);
    return names;
}

std::unique_ptr<Explainer> makeExplainer(const std::string& name) {
    if (const MethodEntry* m = findMethod(name)) return m->make();
    throw Error("unknown method '" + name + "'; available methods: " + allMethodList());
}

}  // namespace mirada
