#pragma once
// Out-of-memory during a batch (typically CUDA with a large batch size): the
// batch is split in halves and each half retried, down to one image, so a run
// finishes with smaller batches instead of failing. PyTorch's caching
// allocator already releases its cached blocks before it reports OOM, so a
// retry sees all the memory there is.
#include <torch/torch.h>

#include "models/model.hpp"

namespace mirada {

// model.forward(batch), splitting on c10::OutOfMemoryError. *splits (optional)
// is increased by the number of splits made. A single image that still does not
// fit throws mirada::Error naming the model, the device and what to do.
torch::Tensor forwardSplittingOnOom(Model& model, const torch::Tensor& batch, int* splits = nullptr);

}  // namespace mirada
