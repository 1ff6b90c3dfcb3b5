#include "models/batch_size.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "models/measure_cache.hpp"

namespace mirada {

int defaultBatchSize(const torch::Device& device) { return device.is_cuda() ? 64 : 16; }
namespace {

std::mutex g_mutex;
std::map<std::string, int> g_cache;

std::string cacheKey(Model& model) {
    const auto& info = model.info();
    const auto& in = info.input;
    return info.name + "|" + info.weights_file + "|" + info.weights_sha256 + "|" + model.device().str() + "|" +
           model.evaluationPath() + "|" + std::to_string(in.channels) + "x" + std::to_string(in.height) + "x" +
           std::to_string(in.width);
}

double timeForward(Model& model, const torch::Tensor& batch) {
    const auto t0 = std::chrono::steady_clock::now();
    auto out = model.forward(batch);
    if (model.device().is_cuda()) torch::cuda::synchronize();
    (void)out;
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int resolveBatchSize(Model& model, int requested) {
    if (requested < 0)
        throw Error("batch size " + std::to_string(requested) + " is not valid; use 1 or more (0 = auto)");
    return requested > 0 ? requested : measuredBatchSize(model);
}

int measuredBatchSize(Model& model) {
    // The path is built before the key is taken, so the key names the path the measurement ran on.
    model.prepareEvaluation();
    const std::string key = cacheKey(model);
    {
        std::lock_guard<std::mutex> lock(g_mutex);
        if (auto it = g_cache.find(key); it != g_cache.end()) return it->second;
    }
    // Between runs: the user's cache folder (models/measure_cache.hpp), for a
    // model whose file hash is known.
    const std::string& sha = model.info().weights_sha256;
    const std::string diskKey = sha.empty() ? std::string() : measurementKey("batch-size", sha + "|" + key);
    if (!diskKey.empty()) {
        if (const auto v = cachedMeasurement(diskKey); v && v->is_number_integer()) {
            const int n = v->get<int>();
            if (n >= 1 && n <= 4096) {
                std::lock_guard<std::mutex> lock(g_mutex);
                g_cache[key] = n;
                return n;
            }
        }
    }
    const bool cuda = model.device().is_cuda();
    const std::vector<int> candidates = cuda ? std::vector<int>{16, 32, 64, 128} : std::vector<int>{4, 8, 16, 32};
    constexpr double kSlowBatchSeconds = 0.6;
    int best = defaultBatchSize(model.device());
    try {
        c10::InferenceMode guard;
        const auto& in = model.info().input;
        // A fixed, image-like input (values of normalised pixels); content does not change the speed.
        auto gen = at::detail::createCPUGenerator(0x5eed);
        const auto one = torch::randn({1, in.channels, in.height, in.width}, gen, torch::kFloat).to(model.device());
        auto batchOf = [&](int n) { return one.expand({n, -1, -1, -1}).contiguous(); };
        // Warm-up: the first calls of a TorchScript module profile and optimise its graph.
        const double first = timeForward(model, batchOf(candidates.front()));
        timeForward(model, batchOf(candidates.front()));
        double bestRate = 0;
        for (int n : candidates) {
            const auto x = batchOf(n);
            // Small, fast models: repeat until 50 ms have passed, so timer noise does not decide.
            double seconds = 0;
            int runs = 0;
            do {
                seconds += timeForward(model, x);
                ++runs;
            } while (seconds < 0.05 && runs < 50);
            const double rate = n * runs / seconds;
            if (bestRate == 0 || rate > bestRate * 1.03) {
                bestRate = rate;
                best = n;
            }
            if (seconds / runs > kSlowBatchSeconds || first > 4 * kSlowBatchSeconds) break;
        }
    } catch (const Error&) {
        throw;
    } catch (const std::exception&) {
        // The model does not take its declared input in batches; let the caller's real call report it.
        return defaultBatchSize(model.device());
    }
    if (!diskKey.empty()) storeMeasurement(diskKey, best);
    std::lock_guard<std::mutex> lock(g_mutex);
    g_cache[key] = best;
    return best;
}

}  // namespace mirada
