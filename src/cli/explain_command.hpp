#pragma once
#include <CLI/CLI.hpp>

namespace mirada::cli {
// Adds the `explain` and `bench` subcommands; returns a runner called after parsing.
struct ExplainOptions {
    std::string model, image, methods = "gradcam,gradcampp,lime,kernelshap", target = "top1", out = ".", device = "auto";
    std::vector<std::string> sets;
    std::string segments, colormap = "jet", scale = "auto";
    double opacity = 0.5;
    uint64_t seed = 0;
    int batch_size = 0;
    bool quiet = false;
};
struct BenchOptions {
    std::string model, image, method = "lime", device = "auto", target = "top1";
    std::vector<std::string> sets;
    int samples = 0, batch_size = 0, repeat = 3;
    uint64_t seed = 0;
};
int runExplain(const ExplainOptions& o);
int runBench(const BenchOptions& o);
}  // namespace mirada::cli
