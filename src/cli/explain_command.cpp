// `mirada-cli explain` and `mirada-cli bench`: parse, call the core, report.
#include "explain_command.hpp"
#include "explain/surrogate/uncertainty.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>
#include <torch/csrc/jit/runtime/graph_executor.h>

#include "common/data_dir.hpp"
#include "common/error.hpp"
#include "common/file_checks.hpp"
#include "explain/baseline_setting.hpp"
#include "metrics/metrics_summary.hpp"
#include "models/input_check.hpp"
#include "explain/explainer.hpp"
#include "image/image_io.hpp"
#include "image/preprocess.hpp"
#include "models/batch_size.hpp"
#include "models/model_zoo.hpp"
#include "models/native_nets.hpp"
#include "models/state_dict_reader.hpp"
#include "report/run_export.hpp"
#include "explain/methods.hpp"
#include "segment/superpixels.hpp"

namespace fs = std::filesystem;

namespace mirada::cli {
namespace {

std::atomic<bool> g_cancel{false};
// The first Ctrl-C / SIGTERM asks the run to stop at the next batch (no files
// are written). A second one ends the process at once, even in the middle of
// a long forward pass: the output files are only ever moved into place as a
// finished set (exportRun), so none is left half-written.
void onInterrupt(int) {
    if (g_cancel.exchange(true)) {
        static const char msg[] = "\ninterrupted again: stopping now; no files were written\n";
        (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
        _exit(130);
    }
}

// --set METHOD.PARAM=VALUE applied to the method's table or the shared superpixel table.
void applySets(const std::vector<std::string>& sets, std::map<std::string, ParamSet>& groups) {
    for (const auto& s : sets) {
        const auto eq = s.find('=');
        const auto dot = s.find('.');
        if (eq == std::string::npos || dot == std::string::npos || dot > eq)
            throw Error("--set '" + s + "' must look like METHOD.PARAM=VALUE, e.g. lime.samples=500");
        const std::string group = s.substr(0, dot), name = s.substr(dot + 1, eq - dot - 1), value = s.substr(eq + 1);
        auto it = groups.find(group);
        if (it == groups.end()) {
            std::string names;
            for (const auto& [g, _] : groups) names += (names.empty() ? "" : ", ") + g;
            throw Error("--set '" + s + "': '" + group + "' is not one of the selected methods or settings groups (" +
                        names + ")");
        }
        it->second.setFromString(name, value);
    }
}

struct Progress {
    bool tty = isatty(STDERR_FILENO);
    bool quiet = false;
    int lastDecile = -1;
    void operator()(const std::string& method, double f, const std::string& msg) {
        if (quiet) return;
        if (tty) {
            const int width = 24, filled = static_cast<int>(f * width + 0.5);
            std::fprintf(stderr, "\r  %-10s [%s%s] %3.0f%%  %-40.40s", method.c_str(), std::string(filled, '#').c_str(),
                         std::string(width - filled, ' ').c_str(), f * 100, msg.c_str());
            std::fflush(stderr);
        } else {
            const int d = static_cast<int>(f * 10);
            if (d != lastDecile) {
                lastDecile = d;
                std::fprintf(stderr, "  %-10s %3.0f%%  %s\n", method.c_str(), f * 100, msg.c_str());
            }
        }
    }
    void done(const std::string& method, double seconds) {
        if (quiet) return;
        std::fprintf(stderr, "%s  %-10s done in %.2f s%s\n", tty ? "\r" : "", method.c_str(), seconds,
                     tty ? std::string(40, ' ').c_str() : "");
        lastDecile = -1;
    }
};

Progress& progressLine() {
    static Progress p;
    return p;
}

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

}  // namespace

std::vector<std::string> splitList(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    for (std::string item; std::getline(ss, item, ',');) {
        while (!item.empty() && item.front() == ' ') item.erase(item.begin());
        while (!item.empty() && item.back() == ' ') item.pop_back();
        if (!item.empty()) out.push_back(item);
    }
    return out;
}

LoadedModel openModel(const std::string& spec, const std::string& device) {
    ModelLoadOptions opt;
    opt.device = deviceChoiceFromString(device);
    auto loaded = loadModel(spec, opt);
    for (const auto& n : loaded.notices) std::cerr << "notice: " << n << "\n";
    return loaded;
}

const std::atomic<bool>* interruptFlag() { return &g_cancel; }

const std::atomic<bool>* installInterruptHandler() {
    std::signal(SIGINT, onInterrupt);
    std::signal(SIGTERM, onInterrupt);
    return &g_cancel;
}

CLI::Validator seedValidator() {
    return CLI::Validator(
        [](std::string& text) -> std::string {
            const bool digits = !text.empty() && text.size() <= 20 &&
                                std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
            if (digits) {
                try {
                    (void)std::stoull(text);
                    return "";
                } catch (const std::exception&) {
                }
            }
            return "'" + text.substr(0, 40) + "' is not a seed; use a whole number from 0 to 18446744073709551615";
        },
        "SEED");
}

void printProgress(const std::string& what, double fraction, const std::string& message, bool quiet) {
    auto& p = progressLine();
    p.quiet = quiet;
    p(what, fraction, message);
}

void printDone(const std::string& what, double seconds, bool quiet) {
    auto& p = progressLine();
    p.quiet = quiet;
    p.done(what, seconds);
}

void addExplainOptions(CLI::App& cmd, ExplainOptions& o, const std::string& modelHelp, bool imageRequired) {
    cmd.add_option("--model,-m", o.model, modelHelp)->required();
    auto* image = cmd.add_option("--image,-i", o.image, "image file");
    if (imageRequired) image->required();
    cmd.add_option("--methods", o.methods, "comma-separated, any of: " + allMethodList() + " (mirada-cli methods)")
        ->capture_default_str();
    cmd.add_option("--target,-t", o.target, "top1, a class index, or a label")->capture_default_str();
    cmd.add_option("--out,-o", o.out, "output folder (created if missing)")->capture_default_str();
    cmd.add_option("--seed", o.seed, "random seed, 0 to 18446744073709551615: same seed, same output")
        ->capture_default_str()
        ->check(seedValidator());
    cmd.add_option("--device", o.device, "auto, cpu or cuda")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
    cmd.add_option("--batch-size", o.batch_size, "model evaluations per batch (0 = auto: measured once per model)")
        ->check(CLI::Range(0, 4096));
    cmd.add_option("--precision", o.precision,
                   "fp32, bf16 or auto: number format of the model evaluations of LIME, KernelSHAP, Occlusion, "
                   "RISE, Score-CAM and deletion/insertion (gradients stay fp32). bf16 needs a CPU with native "
                   "bfloat16 (AVX512-BF16/AMX); auto takes it only when, on this image, a check batch scores alike "
                   "in both. fp32 (the default) gives the same numbers on every machine")
        ->capture_default_str()
        ->check(CLI::IsMember({"fp32", "bf16", "auto"}));
    cmd.add_option("--set", o.sets, "METHOD.PARAM=VALUE (repeatable), e.g. lime.samples=500, superpixels.count=80");
    cmd.add_option("--segments", o.segments, "16-bit PNG label map to use instead of computed superpixels");
    cmd.add_option("--colormap", o.colormap, "jet, turbo, inferno, viridis, magma, hot")->capture_default_str();
    cmd.add_option("--opacity", o.opacity, "heatmap opacity 0..1")->capture_default_str();
    cmd.add_option("--scale", o.scale,
                   "colour range: per-map (each map its own end) or shared (one end per kind, signed or unsigned, "
                   "so magnitudes compare across methods)")
        ->capture_default_str();
    cmd.add_option("--clip", o.clip,
                   "PERCENTILE 50..100: the colour scale ends at this percentile of |value| instead of the maximum; "
                   "larger values saturate")
        ->capture_default_str();
    cmd.add_flag("--quiet,-q", o.quiet, "no progress on stderr");
}

// The settings table of a method for this model (methods with a layer chooser list the model's layers).
ParamSet paramsFor(const Explainer& ex, Model& model) { return ex.paramsForLayers(model.layers()); }

// The request for one method: the same image, target, seed and batch for every method.
ExplainRequest makeRequest(Model& model, const cv::Mat& image, int target, uint64_t seed, int batchSize,
                           std::map<std::string, ParamSet>& groups, const std::string& method) {
    ExplainRequest req;
    req.model = &model;
    req.image = image;
    req.target_index = target;
    req.seed = seed;
    req.batch_size = batchSize;
    req.params = groups[method];
    req.superpixels = groups["superpixels"];
    req.perturbation = groups["perturbation"];
    return req;
}

ExplainSession prepareExplain(const ExplainOptions& o, std::map<std::string, ParamSet> extraGroups) {
    ExplainSession s;
    const auto methods = splitList(o.methods);
    if (methods.empty()) throw Error("--methods is empty; choose from " + allMethodList());
    bool anySuperpixels = false;
    for (const auto& m : methods) {
        for (const auto& e : s.explainers)
            if (e->name() == m) throw Error("--methods lists '" + m + "' twice");
        s.explainers.push_back(makeExplainer(m));
        anySuperpixels = anySuperpixels || s.explainers.back()->usesSuperpixels();
    }
    if (!(o.opacity >= 0 && o.opacity <= 1))
        throw Error("--opacity must be between 0 and 1, got " + std::to_string(o.opacity));
    OverlayOptions overlay;
    overlay.colormap = o.colormap;
    overlay.opacity = o.opacity;
    overlay.range = o.scale;
    overlay.clip_percentile = o.clip;
    validateOverlayOptions(overlay);  // colormap, range and percentile, before any work

    s.loaded = openModel(o.model, o.device);
    Model& model = s.model();
    s.groups = std::move(extraGroups);
    for (const auto& ex : s.explainers) s.groups[ex->name()] = paramsFor(*ex, model);
    s.groups["superpixels"] = superpixelParams();
    s.groups["perturbation"] = perturbationParams();
    applySets(o.sets, s.groups);
    RunRecord& run = s.run;
    run.model = model.info();
    run.device = model.device().str();
    run.target_request = o.target;
    run.seed = o.seed;
    run.batch_size = o.batch_size;  // 0 = auto: the run measures it (in its precision), runSession records it
    run.overlay = overlay;
    if (o.image.empty()) return s;  // the caller supplies images one by one (evaluate --dataset)

    s.image = loadImage(o.image);
    if (!o.segments.empty()) {
        s.segments = readLabelMap(o.segments, s.image.rgb.size());
        if (s.segments.size() != s.image.rgb.size())
            throw Error("--segments '" + o.segments + "' is " + std::to_string(s.segments.cols) + "x" +
                        std::to_string(s.segments.rows) + " but the image is " + std::to_string(s.image.rgb.cols) +
                        "x" + std::to_string(s.image.rgb.rows) + "; a label map must have the image's size");
        if (!anySuperpixels) std::cerr << "notice: --segments is used only by lime and kernelshap\n";
    }
    s.target = resolveTarget(model, s.image.rgb, o.target);
    run.input_check = checkInput(model, s.image.rgb);
    run.has_input_check = true;
    for (const auto& h : run.input_check.hints) std::cerr << "hint: " << h << "\n";
    run.image_file = o.image;
    run.image_sha256 = s.image.sha256;
    run.image = s.image.rgb;
    return s;
}

RunPlan planFor(const ExplainSession& s, const ExplainOptions& o) {
    RunPlan plan;
    for (const auto& ex : s.explainers) plan.methods.push_back({ex->name(), s.groups.at(ex->name())});
    plan.superpixels = s.groups.at("superpixels");
    plan.perturbation = s.groups.at("perturbation");
    plan.segments = s.segments;
    plan.target_index = s.target;
    plan.target_request = o.target;
    plan.seed = o.seed;
    plan.batch_size = o.batch_size;
    plan.precision = precisionFromString(o.precision);
    return plan;
}

RunResults runSession(ExplainSession& s, const ExplainOptions& o, const RunPlan& plan) {
    installInterruptHandler();
    const bool quiet = o.quiet;
    auto stepName = [&plan](int step) -> std::string {
        if (step == kFaithfulnessStep) return "metrics";
        if (step == kSanityStep) return "sanity";
        return plan.methods.at(static_cast<size_t>(step)).method;
    };
    RunObserver observer;
    observer.progress = [&](int step, double f, const std::string& msg) {
        printProgress(stepName(step), f, msg, quiet);
    };
    observer.step = [&](const StepEvent& e) {
        const std::string name = stepName(e.step);
        if (e.state == StepState::Cancelled) {
            const std::string stage = e.step == kFaithfulnessStep ? "the faithfulness curves"
                                      : e.step == kSanityStep     ? "the sanity check"
                                                                  : name;
            std::cerr << "\ncancelled during " << stage << ": no files were written\n";
        }
        if (e.state != StepState::Done) return;
        if (e.explanation) {
            printDone(name, e.explanation->seconds, quiet);
            const auto stability = stabilityLines(*e.explanation);
            if (!stability.empty() && !quiet) {
                std::cerr << "  " << name << ":";
                for (size_t i = 0; i < stability.size(); ++i) std::cerr << (i ? ", " : " ") << stability[i];
                std::cerr << "\n";
            }
            for (const auto& f : e.explanation->flags)
                if (f == kFlagNoPositiveEvidence)
                    std::cerr << "  " << name << ": no positive evidence for the target\n";
            for (const auto& w : e.explanation->warnings) std::cerr << "warning: " << w << "\n";
        } else if (e.step == kFaithfulnessStep) {
            printDone(name, e.results->faithfulness.seconds, quiet);
        } else if (e.step == kSanityStep) {
            printDone(name, e.results->sanity.seconds, quiet);
        }
    };
    RunResults results = runPlan(s.model(), s.image.rgb, plan, observer, &g_cancel, OnFailure::Stop);
    s.run.batch_size = results.batch_size;
    s.run.precision_asked = toString(plan.precision);
    s.run.precision = toString(results.precision);
    s.run.precision_note = results.precision_note;
    if (!results.precision_note.empty() && !quiet) std::cerr << "precision: " << results.precision_note << "\n";
    s.run.explanations.insert(s.run.explanations.end(), results.explanations.begin(), results.explanations.end());
    return results;
}

void runExplainers(ExplainSession& s, const ExplainOptions& o) { runSession(s, o, planFor(s, o)); }

int runExplain(const ExplainOptions& o) {
    ExplainSession s = prepareExplain(o);
    try {
        runExplainers(s, o);
    } catch (const Cancelled&) {
        return 130;
    }
    const std::string stem = fs::path(o.image).stem().string();
    const auto files = exportRun(o.out, stem, s.run);
    const auto& e0 = s.run.explanations.front();
    std::cout << "target " << e0.target_index << " '" << e0.target_label << "' (p = " << e0.target_probability << ")\n";
    if (const auto c = targetCaution(e0.target_probability); !c.empty()) std::cerr << c << "\n";
    for (const auto& f : files) std::cout << "wrote " << f.string() << "\n";
    return 0;
}

namespace {

// scripts/bench_pytorch.py: installed in share/mirada/scripts, or in the source tree.
fs::path pytorchBenchScript() {
    const fs::path script = dataPath("scripts", "scripts") / "bench_pytorch.py";
    std::error_code ec;
    if (fs::is_regular_file(script, ec)) return script;
    throw Error("--compare-pytorch needs scripts/bench_pytorch.py, which is not in " + script.parent_path().string());
}

std::string shellQuote(const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

// Creates `file` (which must not exist: O_EXCL, no symlink followed) with mode 0600 and writes `bytes` to it.
void writePrivateFile(const fs::path& file, const void* bytes, std::size_t size) {
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) throw Error("cannot create " + file.string() + ": " + std::strerror(errno) + "; check the temp folder");
    const char* p = static_cast<const char*>(bytes);
    while (size > 0) {
        const ssize_t n = ::write(fd, p, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int err = errno;
            ::close(fd);
            throw Error("cannot write " + file.string() + ": " + std::strerror(err) + "; check the free disk space");
        }
        p += n;
        size -= static_cast<std::size_t>(n);
    }
    if (::close(fd) != 0) throw Error("cannot write " + file.string() + "; check the free disk space");
}

void writeRawFloats(const fs::path& file, const torch::Tensor& t) {
    const auto c = t.to(torch::kCPU).to(torch::kFloat).contiguous();
    writePrivateFile(file, c.data_ptr<float>(), static_cast<std::size_t>(c.numel()) * sizeof(float));
}

// The state dict Mirada read from the weights file, handed to the Python side
// as raw little-endian tensors (float32, or int64 for integer buffers) in one
// file plus a JSON manifest, so that Python never unpickles the weights file
// (a .pth can run code when torch.load unpickles it).
void writeStateDictForPython(const fs::path& weights, const fs::path& bin, const fs::path& manifest) {
    const StateDict sd = readStateDict(weights);
    std::string data;
    nlohmann::json entries = nlohmann::json::array();
    for (const auto& nt : sd) {
        const bool integral = !torch::isFloatingType(nt.tensor.scalar_type());
        const auto t = nt.tensor.to(torch::kCPU).to(integral ? torch::kLong : torch::kFloat).contiguous();
        const std::size_t nbytes = static_cast<std::size_t>(t.numel()) * t.element_size();
        data.resize((data.size() + 7) / 8 * 8, '\0');  // each tensor 8-byte aligned
        entries.push_back({{"name", nt.name},
                           {"dtype", integral ? "int64" : "float32"},
                           {"shape", t.sizes().vec()},
                           {"offset", data.size()},
                           {"nbytes", nbytes}});
        data.append(static_cast<const char*>(t.data_ptr()), nbytes);
    }
    writePrivateFile(bin, data.data(), data.size());
    const std::string text = entries.dump();
    writePrivateFile(manifest, text.data(), text.size());
}

// A private temp folder (mkdtemp: a fresh unpredictable name, mode 0700), removed on scope exit.
struct PrivateTempDir {
    fs::path path;
    PrivateTempDir() {
        std::string templ = (fs::temp_directory_path() / "mirada-bench-XXXXXX").string();
        if (!::mkdtemp(templ.data()))
            throw Error("cannot create a private folder in " + fs::temp_directory_path().string() + ": " +
                        std::strerror(errno) + "; check TMPDIR");
        path = templ;
    }
    ~PrivateTempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    PrivateTempDir(const PrivateTempDir&) = delete;
    PrivateTempDir& operator=(const PrivateTempDir&) = delete;
};

// Plain PyTorch eval of the model's weights file in a Python subprocess
// (MIRADA_PYTHON, default /usr/bin/python3 with Debian's python3-torch).
nlohmann::json runPytorchBench(Model& model, const torch::Tensor& input, const torch::Tensor& logits, int batch,
                               int images, int64_t evaluations, bool bf16) {
    const auto& info = model.info();
    const auto names = nativeArchNames();
    const std::string arch =
        std::find(names.begin(), names.end(), info.architecture) != names.end() ? info.architecture : "torchscript";
    const char* py = std::getenv("MIRADA_PYTHON");
    const std::string python = (py && *py) ? py : "/usr/bin/python3";
    const PrivateTempDir tmp;
    const fs::path& dir = tmp.path;
    writeRawFloats(dir / "input.f32", input);
    writeRawFloats(dir / "logits.f32", logits);
    std::ostringstream cmd;
    cmd << shellQuote(python) << ' ' << shellQuote(pytorchBenchScript().string()) << " --arch " << arch;
    if (arch == "torchscript") {
        // torch.jit.load: TorchScript's own loader, which unpickles no Python globals.
        cmd << " --weights " << shellQuote(info.weights_file);
    } else {
        writeStateDictForPython(info.weights_file, dir / "tensors.bin", dir / "tensors.json");
        cmd << " --tensors " << shellQuote((dir / "tensors.json").string());
    }
    cmd << " --input " << shellQuote((dir / "input.f32").string()) << " --logits "
        << shellQuote((dir / "logits.f32").string()) << " --shape " << input.size(1) << ',' << input.size(2) << ','
        << input.size(3) << " --batch " << batch << " --threads " << torch::get_num_threads() << " --images " << images
        << " --rounds 3 --evaluations " << evaluations << " --optimized" << (bf16 ? " --bf16" : "");
    FILE* pipe = popen(cmd.str().c_str(), "r");
    if (!pipe) throw Error("cannot start " + python);
    std::string out;
    char buf[4096];
    while (size_t n = std::fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
    const int status = pclose(pipe);
    if (status != 0 || out.empty())
        throw Error("the PyTorch comparison failed (" + cmd.str() +
                    "): " + (out.empty() ? "no output" : clipForMessage(out, 2000)));
    return parseJsonBounded(out, "the PyTorch comparison's output");
}

// Seconds to evaluate `count` copies of `one` in batches of `batch` through Mirada's evaluation path.
double timedImages(Model& model, const torch::Tensor& one, int batch, int64_t count) {
    torch::InferenceMode guard;
    const double t0 = now();
    for (int64_t done = 0; done < count; done += batch) {
        const int64_t n = std::min<int64_t>(batch, count - done);
        auto out = model.forward(one.expand({n, -1, -1, -1}).contiguous());
        if (model.device().is_cuda()) torch::cuda::synchronize();
        (void)out;
    }
    return now() - t0;
}

// `count` forward + backward passes at the input (what the gradient methods
// pay), in batches: the gradient of the top class with respect to the input.
// `count` images through forwardReplacingLayer in batches: the input and the
// layer's activation repeated (Ablation-CAM's model work without the rest).
double timedReplacing(Model& model, const torch::Tensor& one, const std::string& layer, const torch::Tensor& activation,
                      int batch, int64_t count) {
    torch::InferenceMode guard;
    const double t0 = now();
    for (int64_t done = 0; done < count; done += batch) {
        const int64_t n = std::min<int64_t>(batch, count - done);
        auto out = model.forwardReplacingLayer(one.expand({n, -1, -1, -1}).contiguous(), layer,
                                               activation.repeat({n, 1, 1, 1}));
        if (model.device().is_cuda()) torch::cuda::synchronize();
        (void)out;
    }
    return now() - t0;
}
double timedGradients(Model& model, const torch::Tensor& one, int batch, int64_t count, int target) {
    c10::InferenceMode notInference(false);
    torch::AutoGradMode grad(true);
    torch::jit::GraphOptimizerEnabledGuard unoptimised(false);
    const std::string layer =
        model.info().default_target_layer.empty() ? model.layers().back().path : model.info().default_target_layer;
    const double t0 = now();
    for (int64_t done = 0; done < count; done += batch) {
        const int64_t n = std::min<int64_t>(batch, count - done);
        auto x = one.expand({n, -1, -1, -1}).contiguous().clone().requires_grad_(true);
        auto tap = model.forwardWithTap(x, layer);
        auto g = torch::autograd::grad({tap.output.select(1, target).sum()}, {x});
        if (model.device().is_cuda()) torch::cuda::synchronize();
        (void)g;
    }
    return now() - t0;
}

}  // namespace

int runBench(const BenchOptions& o) {
    auto explainer = makeExplainer(o.method);
    if (o.repeat < 1) throw Error("--repeat must be at least 1");
    if (o.images < 0) throw Error("--images must be at least 1 (0 = four batches)");
    if (o.evaluation != "optimized" && o.evaluation != "plain")
        throw Error("--evaluation '" + o.evaluation + "': use optimized or plain");
    auto loaded = openModel(o.model, o.device);
    Model& model = *loaded.model;
    model.setOptimizedEvaluation(o.evaluation == "optimized");
    std::map<std::string, ParamSet> groups;
    groups[o.method] = paramsFor(*explainer, model);
    groups["superpixels"] = superpixelParams();
    if (o.samples > 0) {
        if (!groups[o.method].has("samples"))
            throw Error("--samples applies to methods with a samples setting (lime, kernelshap, smoothgrad), not to " +
                        o.method);
        groups[o.method].setFromString("samples", std::to_string(o.samples));
    }
    applySets(o.sets, groups);
    const auto image = loadImage(o.image);
    const int target = resolveTarget(model, image.rgb, o.target);
    const double tb = now();
    const int batch = resolveBatchSize(model, o.batch_size);
    const double batchSeconds = now() - tb;
    const auto input = preprocess(image.rgb, model.info().input).to(model.device());
    auto sync = [&] {
        if (model.device().is_cuda()) torch::cuda::synchronize();
    };

    // The resolved batch size goes into the request, so that the explanation
    // and every comparison below evaluate in the same batches.
    const ExplainRequest req = makeRequest(model, image.rgb, target, o.seed, batch, groups, o.method);
    RunContext ctx;

    // What the method's model work is (the registry's ModelWork): batches of
    // perturbed images (surrogates, perturbation methods, Score-CAM), gradients
    // at the input (the gradient family), batches with a layer's output
    // replaced (Ablation-CAM), or one forward + backward through a layer.
    const MethodEntry* entry = findMethod(o.method);
    const ModelWork work = entry ? entry->work : ModelWork::OneTap;
    const bool evaluatesBatches = work == ModelWork::ImageBatches;
    const bool gradientsAtInput = work == ModelWork::InputGradients;
    const bool replacesLayer = work == ModelWork::LayerReplacement;

    // The precisions to time: bf16 only for the methods that evaluate image
    // batches (gradients stay float32) and where the CPU has it natively.
    std::vector<Precision> precisions;
    std::string bf16Skipped;
    if (o.precision != "fp32" && o.precision != "bf16" && o.precision != "both")
        throw Error("--precision '" + o.precision + "': use fp32, bf16 or both");
    if (o.precision != "bf16") precisions.push_back(Precision::Fp32);
    if (o.precision != "fp32") {
        std::string why;
        if (!evaluatesBatches)
            why = o.method + " computes gradients, which run in float32";
        else if (!model.device().is_cpu())
            why = "bfloat16 evaluation is for the CPU";
        else if (!cpuHasNativeBf16())
            why = "this CPU has no native bfloat16 (AVX512-BF16 or AMX-BF16)";
        else if (model.setEvaluationPrecision(Precision::Bf16, &why) == Precision::Bf16)
            precisions.push_back(Precision::Bf16);
        model.setEvaluationPrecision(Precision::Fp32, nullptr);
        if (why.empty() && precisions.back() != Precision::Bf16) why = "the model cannot run in bfloat16";
        if (precisions.empty() || precisions.back() != Precision::Bf16) {
            if (o.precision == "bf16") throw Error("--precision bf16: " + why);
            bf16Skipped = why;
        }
    }

    const int images = o.images > 0 ? o.images : 4 * batch;
    // Median of 3 rounds on both sides: small models run for a fraction of a
    // second per round, where one scheduling hiccup would decide the ratio.
    constexpr int kRounds = 3;
    auto median = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return v[v.size() / 2];
    };
    struct Timing {
        Precision precision;
        std::string path;
        double explanation = 0, model = 0, inside = 0, rate = 0;
        int64_t evaluations = 0;
    };
    std::vector<Timing> timings;
    for (const Precision precision : precisions) {
        model.setEvaluationPrecision(precision, nullptr);
        Timing t;
        t.precision = precision;
        t.path = model.evaluationPath();
        // Warm-up: one explanation (first-call allocations, graph optimisation).
        Explanation e = explainer->explain(req, ctx);
        t.evaluations = e.model_evaluations;
        const int64_t evaluations = t.evaluations;
        // Throughput of the evaluation path alone (after the warm-up above).
        if (o.compare_pytorch) {
            timedImages(model, input, batch, 2 * batch);
            std::vector<double> rates;
            for (int r = 0; r < kRounds; ++r) rates.push_back(images / timedImages(model, input, batch, images));
            t.rate = median(rates);
        }
        std::vector<double> explainTimes, modelTimes, insideTimes;
        for (int r = 0; r < o.repeat; ++r) {
            sync();
            double t0 = now();
            e = explainer->explain(req, ctx);
            sync();
            explainTimes.push_back(now() - t0);
            insideTimes.push_back(e.model_seconds);

            // The same number of model evaluations in the same batches, nothing else.
            if (evaluatesBatches) {
                modelTimes.push_back(timedImages(model, input, batch, evaluations));
            } else if (gradientsAtInput) {
                // The image and its baseline (forward), then the gradients.
                modelTimes.push_back(timedImages(model, input, batch, 2) +
                                     timedGradients(model, input, batch, evaluations - 2, target));
            } else if (replacesLayer) {
                // The tapped forward that gives the activation, then the rest as replaced-layer batches.
                const std::string layer = e.settings.value("layer", model.info().default_target_layer);
                t0 = now();
                const torch::Tensor activation = model.forwardWithTap(input, layer).activation.detach();
                sync();
                modelTimes.push_back(now() - t0 +
                                     timedReplacing(model, input, layer, activation, batch, evaluations - 1));
            } else {
                t0 = now();
                auto tap = model.forwardWithTap(input, e.settings.value("layer", model.info().default_target_layer));
                auto g = torch::autograd::grad({tap.output[0][target]}, {tap.activation});
                (void)g;
                sync();
                modelTimes.push_back(now() - t0);
            }
        }
        t.explanation = median(explainTimes);
        t.model = median(modelTimes);
        t.inside = median(insideTimes);
        timings.push_back(t);
    }
    model.setEvaluationPrecision(Precision::Fp32, nullptr);

    std::printf(
        "model      %s (%s) on %s, batch %d%s, %d threads\n", model.info().name.c_str(),
        model.info().architecture.c_str(), model.device().str().c_str(), batch,
        o.batch_size > 0 ? "" : (" (auto, measured in " + std::to_string(batchSeconds).substr(0, 4) + " s)").c_str(),
        torch::get_num_threads());
    std::printf("method     %s (%s), median of %d runs\n", o.method.c_str(), explainer->title().c_str(), o.repeat);
    for (const Timing& t : timings) {
        const double tm = t.model, te = t.explanation;
        const long long n = static_cast<long long>(t.evaluations);
        std::printf("\n[%s]\n", toString(t.precision).c_str());
        std::printf("evaluation %s\n", t.path.c_str());
        if (evaluatesBatches)
            std::printf("model evaluations alone  %lld images  %.3f s  (%.1f images/s)\n", n, tm, n / tm);
        else if (gradientsAtInput)
            std::printf("model work alone         2 images + %lld input gradients  %.3f s\n", n - 2, tm);
        else if (replacesLayer)
            std::printf("model work alone         1 tapped forward + %lld images with the layer replaced  %.3f s\n",
                        n - 1, tm);
        else
            std::printf("one forward + backward   %.4f s\n", tm);
        std::printf("full explanation         %.3f s  (model time inside: %.3f s)\n", te, t.inside);
        std::printf("ratio                    %.3f\n", te / tm);
    }
    if (!bf16Skipped.empty()) std::printf("\n[bf16] not timed: %s\n", bf16Skipped.c_str());
    if (timings.size() == 2) {
        std::printf("\nfp32 and bf16 side by side (%s)\n", cpuModelName().c_str());
        std::printf("  %-6s %14s %16s %8s\n", "", "explanation", "evaluations alone", "ratio");
        for (const Timing& t : timings)
            std::printf("  %-6s %12.3f s %15.3f s %8.3f\n", toString(t.precision).c_str(), t.explanation, t.model,
                        t.explanation / t.model);
        std::printf("  bf16 speed-up: explanation %.2fx, model evaluations %.2fx\n",
                    timings[0].explanation / timings[1].explanation, timings[0].model / timings[1].model);
    }
    if (!o.compare_pytorch) return 0;

    torch::Tensor logits;
    {
        torch::InferenceMode guard;
        logits = model.forward(input)[0];
    }
    const int64_t evaluations = timings.front().evaluations;
    const int64_t pyEvaluations = explainer->usesSuperpixels() ? evaluations : 0;
    const bool withBf16 = timings.back().precision == Precision::Bf16;
    std::fflush(stdout);
    const auto py = runPytorchBench(model, input, logits, batch, images, pyEvaluations, withBf16);
    const double pyRate = py.at("images_per_s").get<double>();
    std::printf("\nside by side: %s, batch %d, %d threads, same weights file; median of %d rounds of %d images\n",
                model.info().name.c_str(), batch, torch::get_num_threads(), kRounds, images);
    for (const Timing& t : timings)
        std::printf("  Mirada %-5s        %8.2f images/s  (%s)\n", toString(t.precision).c_str(), t.rate,
                    t.path.c_str());
    std::printf("  PyTorch plain       %8.2f images/s  (plain eval + no_grad, torch %s, %s)\n", pyRate,
                py.value("torch", std::string("?")).c_str(),
                model.info().architecture == "torchscript" ? "torch.jit.load"
                                                           : ("torchvision " + model.info().architecture).c_str());
    const double pyOpt = py.value("optimized_images_per_s", 0.0);
    if (pyOpt > 0)
        std::printf("  PyTorch optimized   %8.2f images/s  (torch.jit.freeze + optimize_for_inference, float32)\n",
                    pyOpt);
    else if (py.contains("optimized_error"))
        std::printf("  PyTorch optimized   not timed: %s\n", py.value("optimized_error", std::string()).c_str());
    const double pyBf16 = py.value("bf16_images_per_s", 0.0);
    if (pyBf16 > 0)
        std::printf("  PyTorch bf16        %8.2f images/s  (torch.autocast bfloat16, channels-last)\n", pyBf16);
    else if (py.contains("bf16_error"))
        std::printf("  PyTorch bf16        not timed: %s\n", py.value("bf16_error", std::string()).c_str());
    const double mirRate = timings.front().rate;
    std::printf("  ratio    %8.2fx  (Mirada / PyTorch images/s)\n", mirRate / pyRate);
    if (pyOpt > 0) std::printf("  ratio    %8.2fx  (Mirada fp32 / PyTorch optimized fp32)\n", mirRate / pyOpt);
    if (withBf16) {
        const double bf = timings.back().rate;
        if (pyOpt > 0) std::printf("  ratio    %8.2fx  (Mirada bf16 / PyTorch optimized fp32)\n", bf / pyOpt);
        if (pyBf16 > 0) std::printf("  ratio    %8.2fx  (Mirada bf16 / PyTorch bf16 autocast)\n", bf / pyBf16);
    }
    if (py.contains("max_rel_diff"))
        std::printf("  logits   max |difference| / max |logit| = %.2e\n", py.at("max_rel_diff").get<double>());
    if (py.contains("bf16_max_rel_diff"))
        std::printf("  PyTorch bf16 logits: max |difference| / max |logit| = %.2e against its float32\n",
                    py.at("bf16_max_rel_diff").get<double>());
    if (pyEvaluations > 0 && py.contains("evaluations_seconds")) {
        const double pySeconds = py.at("evaluations_seconds").get<double>();
        std::printf("%s end to end vs the same %lld evaluations in plain PyTorch eval\n", o.method.c_str(),
                    static_cast<long long>(evaluations));
        for (const Timing& t : timings)
            std::printf("  Mirada %-4s %-8s %8.3f s  (median of %d)\n", toString(t.precision).c_str(), o.method.c_str(),
                        t.explanation, o.repeat);
        std::printf("  PyTorch evals   %8.3f s\n", pySeconds);
        for (const Timing& t : timings)
            std::printf("  ratio %-4s      %8.2fx  (Mirada end to end / PyTorch evaluations)\n",
                        toString(t.precision).c_str(), t.explanation / pySeconds);
    }
    return 0;
}

}  // namespace mirada::cli
