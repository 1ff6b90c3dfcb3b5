#pragma once
// The CAM family (Grad-CAM, Grad-CAM++, CAM, HiResCAM, XGrad-CAM, LayerCAM,
// Eigen-CAM, Score-CAM, Ablation-CAM) as one pipeline with small variants, after
// pytorch-grad-cam's base_cam:
//
//   image -> model input -> forward with a tap on `layer` -> activation A [1,K,h,w]
//   -> gradient G = d score(target) / dA -> channel weights w_k (what most
//   variants supply) -> map = sum_k w_k A_k (or the variant's own coarse map)
//   -> ReLU -> upsample to the model
//   input -> back onto the original image (mapToOriginal, zero outside the view).
//
// The score is the target's logit (or the output as given when the model
// returns probabilities).
#include <opencv2/core.hpp>
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "explain/explainer.hpp"
#include "explain/run_context.hpp"
#include "common/settings.hpp"
#include "image/preprocess.hpp"
#include "models/model.hpp"

namespace mirada {

// Settings shared by every CAM method; the member initialisers are the defaults.
struct CamSettings {
    std::string layer = "";             // module path to tap; "" = the model's default target layer
    bool relu = true;                   // clamp negative evidence to zero (standard); off keeps the signed map
    std::string upsample = "bilinear";  // "bilinear" | "nearest": how the coarse map reaches input resolution
};

// Settings table of a CAM method (`group` = its name).
// `layer` is a Choice whose only choice is "" (the model's default), because
// the valid layers depend on the model: camParamsForModel adds them.
ParamSet camDefaultParams(const std::string& group);
// The same table with layer choices "" + every module path of `model`, so that
// ParamSet validates a layer name and its error lists the valid ones.
ParamSet camParamsForModel(const std::string& group, Model& model);
// The same from a layer list already taken with Model::layers() (no forward pass).
ParamSet camParamsForLayers(const std::string& group, const std::vector<LayerInfo>& layers);
// Reads a CAM settings table (missing entries keep their defaults).
CamSettings camSettingsFrom(const ParamSet& params);

// Where the map is computed: for error messages, and for the methods that
// evaluate the model again (Score-CAM) through the one evaluation path.
struct CamLayerContext {
    std::string layer;       // resolved module path
    std::string model_name;  // ModelInfo::name
    Model* model = nullptr;  // the model, on its device
    torch::Tensor input;     // [1, C, H, W] normalised model input, on the model's device
    torch::Tensor fill;      // [1, C, H, W] normalised baseline (what "removed" looks like), same device
    std::string baseline;    // the baseline's name and source, for the report
    int target = 0;          // the explained class
    int batch_size = 16;     // model evaluations per batch
    const RunContext* run = nullptr;
    // Accumulated by methods that evaluate the model (seconds inside forward, images).
    mutable double model_seconds = 0;
    mutable int64_t evaluations = 0;
};

// A CAM variant: how much each channel counts (the usual hook), or, for
// methods that weight positions too (HiResCAM, LayerCAM) or use no gradient
// (Eigen-CAM), the whole coarse map.
class CamWeighting {
public:
    virtual ~CamWeighting() = default;
    virtual std::string name() const = 0;   // "gradcam"
    virtual std::string title() const = 0;  // "Grad-CAM"
    // False: the pipeline does not backpropagate, and G is undefined.
    virtual bool usesGradient() const { return true; }
    // True: channelWeights/coarseMap need where.input, where.fill and the model
    // (the pipeline resolves the baseline; the report records it).
    virtual bool usesBaseline() const { return false; }
    // True: channelWeights evaluates the model again (in batches of
    // where.batch_size, which the pipeline resolves); implied by usesBaseline.
    virtual bool evaluatesModel() const { return false; }
    // activation A and gradient G: [K, h, w] float64, detached. Returns w: [K]
    // float64. Throws mirada::Error when the method does not apply.
    virtual torch::Tensor channelWeights(const torch::Tensor& activation, const torch::Tensor& gradient,
                                         const CamLayerContext& where) const = 0;
    // The coarse map [h, w] float64 before the ReLU, and in `contributions` [K]
    // what each channel adds to the map's sum (reported as the top channels).
    // Default: sum_k w_k A_k with w = channelWeights, contributions = w.
    virtual torch::Tensor coarseMap(const torch::Tensor& activation, const torch::Tensor& gradient,
                                    const CamLayerContext& where, torch::Tensor& contributions) const;
};

// Grad-CAM (Selvaraju et al. 2017): w_k = spatial mean of G_k.
std::unique_ptr<CamWeighting> makeGradCamWeighting();
// Grad-CAM++ (Chattopadhay et al. 2018), closed form with the exponential-score
// simplification (as pytorch-grad-cam): alpha = G^2 / (2 G^2 + sum_ij(A) G^3),
// w_k = sum_ij alpha * relu(G).
std::unique_ptr<CamWeighting> makeGradCamPlusPlusWeighting();
// CAM (Zhou et al. 2016): needs global average pooling and one linear layer
// after the layer, so that G_k is constant (= fc weight / (h w)); w_k = G_k * h w.
// Checks that G is spatially constant per channel and throws mirada::Error
// naming the layer and model otherwise.
std::unique_ptr<CamWeighting> makeCamWeighting();

// The pipeline's result on the model's input grid, before any back-mapping.
struct CamMaps {
    std::string layer;                      // resolved layer path
    std::vector<int64_t> activation_shape;  // [1, K, h, w]
    int target_index = 0;
    torch::Tensor output;      // [classes] model output of the tapped forward, detached, CPU
    torch::Tensor weights;     // [K] channel weights or contributions (float64, CPU)
    std::string baseline;      // the baseline used, when the method uses one (Score-CAM)
    int64_t evaluations = 1;   // images through the model
    cv::Mat coarse;            // CV_32F h x w: sum_k w_k A_k (after ReLU when settings.relu)
    cv::Mat input_map;         // CV_32F input_height x input_width, upsampled coarse map
    bool non_finite = false;   // some value was NaN/inf and was replaced by 0
    InputGeometry geometry;    // input grid -> original image
    double model_seconds = 0;  // forward + backward
};

// Runs the pipeline up to the input-resolution map. target_index -1 = top-1
// of this forward. Throws mirada::Error (unknown layer, target out of range,
// layer without spatial output, method does not apply) or mirada::Cancelled.
// perturbation / batchSize: used by methods that evaluate the model again
// (usesBaseline(): Score-CAM); empty = the defaults, 0 = the measured batch size.
CamMaps computeCamMaps(Model& model, const cv::Mat& image, int target_index, const CamSettings& settings,
                       const CamWeighting& weighting, const RunContext& ctx = {}, const ParamSet& perturbation = {},
                       int batchSize = 0);

// An Explainer running the pipeline with `weighting`.
std::unique_ptr<Explainer> makeCamPipelineExplainer(std::unique_ptr<CamWeighting> weighting);

}  // namespace mirada
