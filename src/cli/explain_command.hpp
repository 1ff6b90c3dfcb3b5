#pragma once
#include <CLI/CLI.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "explain/explainer.hpp"
#include "image/image_io.hpp"
#include "models/model_zoo.hpp"
#include "report/run_export.hpp"
#include "run/run_plan.hpp"

namespace mirada::cli {
// Adds the `explain` and `bench` subcommands; returns a runner called after parsing.
struct ExplainOptions {
    std::string model, image, methods = "gradcam,gradcampp,lime,kernelshap", target = "top1", out = ".",
                              device = "auto";
    std::vector<std::string> sets;
    std::string segments, colormap = "jet", scale = "per-map";  // scale: colour range, per-map | shared
    double opacity = 0.5;
    double clip = 100;  // colour scale end = this percentile of |v| (50..100; 100 = the maximum)
    uint64_t seed = 0;
    int batch_size = 0;
    std::string precision = "fp32";  // fp32 | bf16 | auto (models/precision.hpp)
    bool quiet = false;
};
struct BenchOptions {
    std::string model, image, method = "lime", device = "auto", target = "top1";
    std::vector<std::string> sets;
    int samples = 0, batch_size = 0, repeat = 3;
    uint64_t seed = 0;
    bool compare_pytorch = false;  // also time plain PyTorch eval of the same weights (scripts/bench_pytorch.py)
    int images = 0;                // throughput images (0 = 4 batches)
    std::string evaluation = "optimized";  // "optimized" or "plain" (Model::setOptimizedEvaluation)
    std::string precision = "both";        // fp32, bf16 or both (bf16 where the CPU has it natively)
};
// The options of `explain` (also used by `evaluate`, where --image is optional).
void addExplainOptions(CLI::App& cmd, ExplainOptions& o, const std::string& modelHelp, bool imageRequired);
int runExplain(const ExplainOptions& o);
int runBench(const BenchOptions& o);

// ---- Shared with `evaluate` (evaluate_command.cpp) ----

// The settings table of a method for this model (CAM methods list the model's layers).
ParamSet paramsFor(const Explainer& ex, Model& model);
// The request for one method: the same image, target, seed and batch for every method.
ExplainRequest makeRequest(Model& model, const cv::Mat& image, int target, uint64_t seed, int batchSize,
                           std::map<std::string, ParamSet>& groups, const std::string& method);
// Model from a zoo name or file, notices printed on stderr.
LoadedModel openModel(const std::string& spec, const std::string& device);
// --seed: a whole number 0 .. 2^64-1 (refuses -1, 1e23, 2^64 instead of wrapping them).
CLI::Validator seedValidator();
// "a, b,c" -> {"a", "b", "c"}.
std::vector<std::string> splitList(const std::string& s);

// Everything `explain` checks and loads before the first method runs.
struct ExplainSession {
    LoadedModel loaded;
    std::vector<std::unique_ptr<Explainer>> explainers;
    std::map<std::string, ParamSet> groups;  // per method, "superpixels", plus the caller's extra groups
    LoadedImage image;
    cv::Mat segments;  // imported label map or empty
    int target = 0;
    RunRecord run;  // filled in, explanations empty
    Model& model() { return *loaded.model; }
};
// Validates the options, loads model and image, applies --set to the method
// tables, the shared superpixel table and `extraGroups` (e.g. "faithfulness").
// With o.image empty, no image is loaded and the caller sets image, target
// and run's image fields itself. Throws mirada::Error naming the bad value.
ExplainSession prepareExplain(const ExplainOptions& o, std::map<std::string, ParamSet> extraGroups = {});
// Runs every method with progress on stderr (unless o.quiet), Ctrl-C
// cancelling (installs the handler). Appends to s.run.explanations. Throws
// mirada::Cancelled when interrupted.
void runExplainers(ExplainSession& s, const ExplainOptions& o);
// The core's run plan for the session's methods, groups, image, target and seed (no metrics).
RunPlan planFor(const ExplainSession& s, const ExplainOptions& o);
// Runs `plan` (core runPlan, stopping at the first failure) with progress and
// warnings on stderr and Ctrl-C cancelling; appends the maps to
// s.run.explanations. Throws mirada::Cancelled when interrupted (after saying
// which step was cancelled).
RunResults runSession(ExplainSession& s, const ExplainOptions& o, const RunPlan& plan);
// The flag that Ctrl-C / SIGTERM set once runExplainers installed the handler.
const std::atomic<bool>* interruptFlag();
// Installs the Ctrl-C / SIGTERM handler (first: cancel, second: exit now) and returns its flag.
const std::atomic<bool>* installInterruptHandler();
// Progress line on stderr: a bar on a terminal, every 10% otherwise.
void printProgress(const std::string& what, double fraction, const std::string& message, bool quiet);
void printDone(const std::string& what, double seconds, bool quiet);
}  // namespace mirada::cli
