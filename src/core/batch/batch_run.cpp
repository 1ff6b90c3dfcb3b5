// Running a plan over the images of a folder: one model, predictions batched
// across images, each image's files written as one set, results resumable.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>

#include "batch/batch.hpp"
#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "image/image_io.hpp"
#include "explain/explainer.hpp"
#include "image/preprocess.hpp"
#include "metrics/metrics_summary.hpp"
#include "models/failure_text.hpp"
#include "models/predict.hpp"
#include "report/run_export.hpp"

namespace fs = std::filesystem;

namespace mirada {
namespace {

using Clock = std::chrono::steady_clock;

// Images predicted together in one forward pass (and loaded together).
constexpr size_t kChunk = 16;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

int64_t mtimeOf(const fs::path& p) {
    std::error_code ec;
    const auto t = fs::last_write_time(p, ec);
    if (ec) return 0;
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

nlohmann::json readJsonFile(const fs::path& p) {
    std::ifstream in(p);
    if (!in) throw Error("cannot read '" + p.string() + "'");
    try {
        return nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        throw Error("'" + p.string() + "' is not valid JSON (" + e.what() + ")");
    }
}

// A finished result of an earlier run that this run may keep.
bool reusable(const BatchImageResult& r, const FolderItem& item, const std::string& key) {
    if (r.status != "done" || r.key != key || r.id != item.id) return false;
    std::error_code ec;
    const auto size = fs::file_size(item.file, ec);
    return !ec && size == r.file_size && mtimeOf(item.file) == r.file_mtime;
}

std::string labelOf(const Model& model, int i) {
    const auto& l = model.info().labels;
    return i >= 0 && i < static_cast<int>(l.size()) ? l[i] : std::to_string(i);
}

struct Loaded {
    const FolderItem* item = nullptr;
    LoadedImage image;
    std::string error;  // when loading failed
};

// The class probabilities of the loaded images, one forward pass per chunk.
std::vector<torch::Tensor> predictAll(Model& model, const std::vector<Loaded>& chunk) {
    std::vector<torch::Tensor> inputs;
    std::vector<size_t> which;
    for (size_t i = 0; i < chunk.size(); ++i) {
        if (!chunk[i].error.empty()) continue;
        inputs.push_back(preprocess(chunk[i].image.rgb, model.info().input));
        which.push_back(i);
    }
    std::vector<torch::Tensor> probs(chunk.size());
    if (inputs.empty()) return probs;
    torch::NoGradGuard noGrad;
    const auto out = model.forward(torch::cat(inputs).to(model.device())).to(torch::kCPU);
    checkModelOutputs(model, out, "the batch's images");
    const auto p = toProbabilities(model, out);
    for (size_t k = 0; k < which.size(); ++k) probs[which[k]] = p[static_cast<int64_t>(k)];
    return probs;
}

}  // namespace

BatchSummary runBatch(Model& model, const FolderScan& scan, const BatchSettings& settings, const fs::path& out,
                      const BatchObserver& observer, const std::atomic<bool>* cancel) {
    const auto t0 = Clock::now();
    if (settings.plan.methods.empty()) throw Error("a batch needs at least one method");
    const std::string targetMode = settings.target.empty() ? "top1" : settings.target;
    if (targetMode == "true" && !scan.labelled)
        throw Error("target 'true' needs the true class of each image: folder '" + scan.root.string() +
                    "' has no sub-folders named like the model's classes (ImageFolder layout); name them so, give "
                    "a mapping file (--labels), or use target top1");
    // A fixed class for every image (an index or a label), checked before the first image.
    int fixedTarget = -1;
    if (targetMode != "top1" && targetMode != "true") fixedTarget = resolveTarget(model, cv::Mat(), targetMode);
    validateOverlayOptions(settings.overlay);

    std::error_code ec;
    fs::create_directories(out / "images", ec);
    if (ec)
        throw Error("cannot create the output folder '" + out.string() + "' (" + ec.message() +
                    "); choose a folder you can write to");
    const std::string key = batchSettingsKey(settings, model.info());
    nlohmann::json manifest;
    manifest["key"] = key;
    manifest["root"] = scan.root.string();
    manifest["found"] = scan.items.size();
    manifest["settings"] = batchSettingsJson(settings, model.info());
    manifest["labels"] = model.info().labels;
    manifest["mirada"] = MIRADA_VERSION;
    writeFileAtomic(out / "batch.json", manifest.dump(2) + "\n");  // also proves the folder is writable

    std::vector<std::string> methods, titles;
    for (const auto& m : settings.plan.methods) {
        methods.push_back(m.method);
        titles.push_back(makeExplainer(m.method)->title());
    }
    BatchSummaryBuilder builder(methods, titles, model.info().labels);
    BatchProgress progress;
    progress.total = static_cast<int>(scan.items.size());
    int ranImages = 0;
    double ranSeconds = 0;
    bool cancelled = false;
    auto cancelledNow = [&] { return cancel && cancel->load(); };
    double firstSeconds = 0;  // the first image also warms the model up: left out of the rate once others ran
    auto report = [&] {
        progress.seconds_per_image = ranImages > 1    ? (ranSeconds - firstSeconds) / (ranImages - 1)
                                     : ranImages == 1 ? ranSeconds
                                                      : 0;
        progress.seconds_left = progress.seconds_per_image * (progress.total - progress.done);
        if (observer.progress) observer.progress(progress);
    };
    auto finishImage = [&](BatchImageResult r) {
        ++progress.done;
        progress.image_fraction = 0;
        progress.current.clear();
        if (r.status != "done") ++progress.failed;
        if (observer.image_done) observer.image_done(r);
        builder.add(std::move(r));
        report();
    };

    size_t next = 0;
    while (next < scan.items.size() && !cancelled) {
        // The next chunk: skip what is done, load the rest.
        std::vector<Loaded> chunk;
        while (next < scan.items.size() && chunk.size() < kChunk) {
            const FolderItem& item = scan.items[next++];
            const fs::path resultFile = out / "images" / item.folder / "result.json";
            if (fs::exists(resultFile, ec)) {
                try {
                    BatchImageResult old = batchImageResultFromJson(readJsonFile(resultFile));
                    if (reusable(old, item, key)) {
                        ++progress.skipped;
                        finishImage(std::move(old));
                        continue;
                    }
                } catch (const Error&) {
                    // An unreadable result is redone.
                }
            }
            Loaded l;
            l.item = &item;
            try {
                l.image = loadImage(item.file);
            } catch (const Error& e) {
                l.error = e.what();
            }
            chunk.push_back(std::move(l));
        }
        std::vector<torch::Tensor> probs;
        try {
            probs = predictAll(model, chunk);
        } catch (const std::exception&) {
            probs.clear();  // e.g. one image the model cannot take: each is predicted alone below
        }

        for (size_t ci = 0; ci < chunk.size(); ++ci) {
            if (cancelledNow()) {
                cancelled = true;
                break;
            }
            const Loaded& l = chunk[ci];
            const FolderItem& item = *l.item;
            const auto ti = Clock::now();
            progress.current = item.id;
            progress.image_fraction = 0;
            report();
            BatchImageResult r;
            r.id = item.id;
            r.file = item.file.string();
            r.folder = "images/" + item.folder;
            r.key = key;
            r.true_index = item.true_index;
            r.true_label = item.true_label;
            r.file_size = fs::file_size(item.file, ec);
            if (ec) r.file_size = 0;
            r.file_mtime = mtimeOf(item.file);
            try {
                if (!l.error.empty()) throw Error(l.error);
                const cv::Mat& rgb = l.image.rgb;
                r.image_sha256 = l.image.sha256;
                r.width = rgb.cols;
                r.height = rgb.rows;
                torch::Tensor p = ci < probs.size() ? probs[ci] : torch::Tensor();
                if (!p.defined()) {
                    torch::NoGradGuard noGrad;
                    const auto o =
                        model.forward(preprocess(rgb, model.info().input).to(model.device())).to(torch::kCPU);
                    checkModelOutputs(model, o, "image '" + item.id + "'");
                    p = toProbabilities(model, o)[0];
                }
                r.predicted_index = static_cast<int>(p.argmax().item<int64_t>());
                r.predicted_label = labelOf(model, r.predicted_index);
                r.predicted_probability = p[r.predicted_index].item<double>();
                if (targetMode == "true") {
                    if (item.true_index < 0)
                        throw Error("image '" + item.id +
                                    "' is not in a class folder, so it has no true class to explain; move it into "
                                    "one or use target top1");
                    r.target_index = item.true_index;
                } else {
                    r.target_index = fixedTarget >= 0 ? fixedTarget : r.predicted_index;
                }
                r.target_label = labelOf(model, r.target_index);
                r.target_probability = p[r.target_index].item<double>();

                RunPlan plan = settings.plan;
                plan.sanity = false;  // not aggregated over a folder: see the notes
                plan.target_index = r.target_index;
                plan.target_request = targetMode;
                std::vector<std::string> methodErrors(plan.methods.size());
                RunObserver ro;
                const double steps = static_cast<double>(plan.methods.size() + (plan.metrics ? 1 : 0));
                ro.progress = [&](int step, double f, const std::string&) {
                    const double done = step >= 0 ? step : static_cast<double>(plan.methods.size());
                    progress.image_fraction = std::clamp((done + f) / steps, 0.0, 1.0);
                    if (observer.progress) observer.progress(progress);
                };
                ro.step = [&](const StepEvent& e) {
                    if (e.state == StepState::Failed && e.step >= 0)
                        methodErrors[static_cast<size_t>(e.step)] = e.message;
                };
                RunResults results = runPlan(model, rgb, plan, ro, cancel, OnFailure::Continue);
                if (cancelledNow()) {
                    cancelled = true;  // this image's maps are incomplete: nothing of it is written
                    break;
                }

                RunRecord run;
                run.model = model.info();
                run.device = model.device().str();
                run.image_file = r.file;
                run.image_sha256 = l.image.sha256;
                run.image = rgb;
                run.target_request = targetMode;
                run.seed = plan.seed;
                run.batch_size = results.batch_size;
                run.precision_asked = toString(plan.precision);
                run.precision = toString(results.precision);
                run.precision_note = results.precision_note;
                run.explanations = results.explanations;
                run.overlay = settings.overlay;
                run.extra["batch"] = {{"id", item.id}, {"key", key}};
                if (!item.true_label.empty())
                    run.extra["true"] = {{"index", item.true_index}, {"label", item.true_label}};
                const fs::path dir = out / "images" / item.folder;
                const std::string stem = fs::path(item.folder).filename().string();
                ExportOptions eo;
                r.has_metrics = results.has_metrics;
                if (results.has_metrics) {
                    const FaithfulnessReport& faith = results.faithfulness;
                    nlohmann::json metrics;
                    metrics["faithfulness"] = toJson(faith);
                    metrics["agreement"] = toJson(results.agreement);
                    metrics["curves_file"] = stem + ".metrics.csv";
                    run.extra["metrics"] = metrics;
                    run.extra["sheet_lines"] = faithfulnessSheetLines(faith);
                    eo.extra_files.emplace_back(stem + ".metrics.csv", curvesCsv(faith));
                    r.random_deletion_auc = faith.random.deletion.auc;
                    r.random_insertion_auc = faith.random.insertion.auc;
                    r.random_deletion = faith.random.deletion;
                    r.random_insertion = faith.random.insertion;
                    if (faith.settings.random_repeats == 0) r.random_deletion_auc = r.random_insertion_auc = NAN;
                }
                if (settings.image_files && !run.explanations.empty()) exportRun(dir, stem, run, eo);
                fs::create_directories(dir, ec);

                for (size_t m = 0; m < plan.methods.size(); ++m) {
                    BatchMethodResult mr;
                    mr.method = methods[m];
                    mr.title = titles[m];
                    const auto it = std::find_if(results.explanations.begin(), results.explanations.end(),
                                                 [&](const Explanation& e) { return e.method == mr.method; });
                    if (it == results.explanations.end()) {
                        mr.ok = false;
                        mr.error = methodErrors[m].empty() ? "no map" : methodErrors[m];
                        r.methods.push_back(std::move(mr));
                        continue;
                    }
                    mr.seconds = it->seconds;
                    mr.signed_map = it->signed_map;
                    for (const auto& [k, v] : it->numbers.items())
                        if (v.is_number() || v.is_string() || v.is_boolean()) mr.numbers[k] = v;
                    mr.flags = it->flags;
                    mr.warnings = it->warnings;
                    if (settings.image_files)
                        mr.overlay_file = r.folder + "/" + stem + "." + mr.method + ".overlay.png";
                    if (results.has_metrics) {
                        const auto& fm = results.faithfulness.methods;
                        const auto fi = std::find(fm.begin(), fm.end(), mr.method);
                        if (fi != fm.end()) {
                            const auto& c = results.faithfulness.curves[static_cast<size_t>(fi - fm.begin())];
                            mr.has_metrics = true;
                            mr.deletion_auc = c.deletion.auc;
                            mr.insertion_auc = c.insertion.auc;
                            mr.deletion = c.deletion;
                            mr.insertion = c.insertion;
                        }
                    }
                    r.methods.push_back(std::move(mr));
                }
                if (settings.image_files && !run.explanations.empty())
                    r.input_file = r.folder + "/" + stem + ".input.png";
                r.status = "done";
            } catch (const Cancelled&) {
                cancelled = true;
                break;
            } catch (const std::exception& e) {
                const FailureText f = describeFailure(e);
                r.status = "failed";
                r.error = f.text;
                r.methods.clear();
            }
            r.seconds = since(ti);
            if (r.status == "done") {
                if (ranImages == 0) firstSeconds = r.seconds;
                ++ranImages;
                ranSeconds += r.seconds;
            }
            // result.json last: its presence says the image's files are complete.
            try {
                const fs::path dir = out / "images" / item.folder;
                fs::create_directories(dir, ec);
                writeFileAtomic(dir / "result.json", toJson(r).dump(1) + "\n");
            } catch (const Error& e) {
                if (observer.notice) observer.notice(e.what());
            }
            finishImage(std::move(r));
        }
    }
    if (cancelledNow()) cancelled = true;

    BatchSummary s = builder.finish();
    s.root = scan.root;
    s.out = out;
    s.settings = manifest["settings"];
    s.key = key;
    s.model_name = model.info().name;
    s.found = static_cast<int>(scan.items.size());
    s.skipped = progress.skipped;
    s.cancelled = cancelled;
    s.not_run = s.found - static_cast<int>(s.images.size());
    s.seconds = since(t0);
    s.notes = scan.notes;
    if (settings.plan.sanity)
        s.notes.push_back(
            "the sanity check is not run over a folder (it re-runs every method per layer); run it on "
            "single images");
    if (progress.skipped > 0)
        s.notes.push_back(std::to_string(progress.skipped) +
                          " images were complete from an earlier run with the same settings and were skipped");
    writeBatchSummary(s);
    return s;
}

BatchSummary readBatch(const fs::path& out) {
    const fs::path manifestFile = out / "batch.json";
    std::error_code ec;
    if (!fs::is_regular_file(manifestFile, ec))
        throw Error("'" + out.string() + "' holds no batch (no batch.json); choose the output folder of a batch run");
    const nlohmann::json manifest = readJsonFile(manifestFile);
    const std::string key = manifest.value("key", "");
    std::vector<BatchImageResult> results;
    std::vector<std::string> methods, titles;
    for (const auto& m : manifest.at("settings").at("methods")) {
        methods.push_back(m.at("method").get<std::string>());
        titles.push_back(makeExplainer(methods.back())->title());
    }
    std::vector<fs::path> files;
    for (auto it = fs::recursive_directory_iterator(out / "images", ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
        if (it->path().filename() == "result.json") files.push_back(it->path());
    for (const auto& f : files) {
        try {
            BatchImageResult r = batchImageResultFromJson(readJsonFile(f));
            if (r.key == key) results.push_back(std::move(r));
        } catch (const Error&) {
            // Not part of the summary: a rerun redoes it.
        }
    }
    std::sort(results.begin(), results.end(),
              [](const BatchImageResult& a, const BatchImageResult& b) { return a.id < b.id; });
    BatchSummaryBuilder builder(methods, titles, manifest.value("labels", std::vector<std::string>{}));
    for (auto& r : results) builder.add(std::move(r));
    BatchSummary s = builder.finish();
    s.root = manifest.value("root", "");
    s.out = out;
    s.settings = manifest.at("settings");
    s.key = key;
    s.model_name = s.settings.at("model").value("name", "");
    s.found = manifest.value("found", static_cast<int>(s.images.size()));
    s.not_run = s.found - static_cast<int>(s.images.size());
    return s;
}

}  // namespace mirada
