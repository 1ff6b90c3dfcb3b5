#include "models/oom_split.hpp"

#include "common/error.hpp"

namespace mirada {

torch::Tensor forwardSplittingOnOom(Model& model, const torch::Tensor& batch, int* splits) {
    try {
        return model.forward(batch);
    } catch (const c10::OutOfMemoryError& e) {
        const int64_t n = batch.size(0);
        if (n <= 1)
            throw Error("model '" + model.info().name + "' ran out of memory on " + model.device().str() +
                        " with a single image; free memory on the device or run on the CPU (--device cpu)");
        if (splits) ++*splits;
        const int64_t half = n / 2;
        auto first = forwardSplittingOnOom(model, batch.narrow(0, 0, half), splits);
        auto second = forwardSplittingOnOom(model, batch.narrow(0, half, n - half), splits);
        return torch::cat({first, second}, 0);
    }
}

}  // namespace mirada
