#pragma once
// The JSON descriptor that sits beside a custom TorchScript model.
//
// {
//   "name": "fashion-cnn",                 // default: the TorchScript file's stem
//   "torchscript": "fashion-cnn.pt",       // this or "weights"; relative to the descriptor's folder
//   "weights": "ft.pth",                   // a torchvision network's state dict or checkpoint
//                                          //   (`mirada-cli models` lists the architectures),
//   "architecture": "resnet50",            //   optionally with the architecture it must be
//   "checkpoint_entry": "model_ema",       //   and the checkpoint entry to read (an EMA copy)
//                                          //   (preprocessing defaults: torchvision's)
//   "input": {"width": 28, "height": 28, "channels": 1},   // default 224 x 224 x 3
//   "resize": "stretch",                   // "center-crop" (default) | "stretch" | "letterbox"
//   "resize_shorter": 256,                 // center-crop only; default round(size * 256 / 224)
//   "mean": [0.2860], "std": [0.3530],     // default ImageNet's (3 channels) or 0.5/0.5 (1 channel)
//   "labels": ["T-shirt/top", ...],        // or "labels_file": "labels.txt" (one a line);
//                                          // default ImageNet's for 1000 outputs, else "class i"
//   "target_layer": "block3",              // default: the last module with a spatial output
//   "output": "logits",                    // "logits" (default) | "probabilities"
//   "baseline": "black"                    // what "removed" looks like to this model: "black" |
//                                          // "dataset-mean" | "image-mean" | "blur" | "grey" |
//                                          // [v, ...] per channel on [0, 1]; default "blur"
// }
#include <filesystem>
#include <string>

#include "models/model.hpp"

namespace mirada {

struct ModelDescriptor {
    std::filesystem::path file;         // the descriptor itself
    std::filesystem::path torchscript;  // resolved, absolute (empty for a "weights" descriptor)
    std::filesystem::path weights;      // "weights": a torchvision state dict or checkpoint, resolved
    std::string architecture;           // "architecture" with "weights": the expected torchvision name, or ""
    std::string checkpoint_entry;       // "checkpoint_entry" with "weights": e.g. "model_ema" (an EMA copy), or ""
    ModelInfo info;                     // filled from the descriptor and defaults
};

// Parses and validates; every problem is a mirada::Error naming the file, the
// field, what was found and what is expected.
ModelDescriptor readModelDescriptor(const std::filesystem::path& file);

// Defaults for a TorchScript file without a descriptor (see above).
ModelInfo defaultTorchScriptInfo(const std::filesystem::path& torchscript);

}  // namespace mirada
