#pragma once
// How many images go into one model evaluation when the user leaves the batch
// size on "auto" (0): a short measurement of a few candidate sizes on the
// model's own evaluation path, cached per model file, device and path.
#include "models/model.hpp"

namespace mirada {

// Fallback model batch size for a device (CPU: 16, CUDA: 64), used when the
// automatic measurement cannot run.
int defaultBatchSize(const torch::Device& device);

// requested > 0: returned as it is. 0 (auto): measuredBatchSize(model).
// Negative: mirada::Error.
int resolveBatchSize(Model& model, int requested);

// Times forward() on candidate batch sizes (CPU: 4, 8, 16, 32; CUDA: 16 ...
// 128) after a warm-up, in increasing order, and returns the size with the
// most images per second; a larger size must beat the best so far by 3% to be
// taken (ties go to the smaller batch: less memory, finer progress and
// cancelling). Stops early once a batch takes longer than 0.6 s (a bigger one
// cannot pay for the time its measurement costs). Cached: the first call per
// model (weights hash, device, evaluation path and precision, input size, CPU
// model, threads) measures, later calls - in this process and, through the
// user's cache folder (models/measure_cache.hpp), in later runs - return the
// cached size. A model that fails on the measurement
// input gets the device default (defaultBatchSize).
int measuredBatchSize(Model& model);

}  // namespace mirada
