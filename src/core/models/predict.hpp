#pragma once
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "models/model.hpp"

namespace mirada {

struct ClassScore {
    int index = 0;
    std::string label;
    float probability = 0;  // softmax of the logits (or the model's own output if it gives probabilities)
    float score = 0;        // raw model output (logit)
};

// Probabilities from raw outputs [N, classes], honouring ModelInfo::outputs_probabilities.
// Refuses outputs Mirada cannot read as class scores: not [N, classes >= 1],
// NaN or infinity, or (for a model declared to output probabilities) values
// outside [0, 1] or rows not summing to 1. `what` names the input ("the image").
void checkModelOutputs(const Model& model, const torch::Tensor& outputs, const std::string& what);

// Softmax of the logits, or the model's own probabilities; checked by checkModelOutputs.
torch::Tensor toProbabilities(const Model& model, const torch::Tensor& outputs);

// The class to explain from the outputs [1, classes] of one image: `requested`
// when it is a valid index, the most probable class for -1. Throws
// mirada::Error when the output is not [1, classes] or the index is out of
// range (naming the model and the valid range).
int resolveTargetIndex(const Model& model, const torch::Tensor& outputs, int requested);

// Target: "top1", a class index, or a label (case-insensitive). Throws
// mirada::Error when out of range / unknown, naming the valid range.
int resolveTarget(Model& model, const cv::Mat& image, const std::string& target);

// Classifies one RGB image; returns the k most probable classes, best first.
std::vector<ClassScore> predictTopK(Model& model, const cv::Mat& rgb, int k);

}  // namespace mirada
