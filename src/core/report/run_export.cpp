#include "report/run_export.hpp"

#include <Eigen/Core>
#include <opencv2/core/version.hpp>
#include <torch/version.h>

#include <chrono>
#include <cstring>
#include <cstdlib>
#include <cerrno>
#include <ctime>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "image/image_io.hpp"
#include "metrics/metrics_summary.hpp"
#include "report/comparison_sheet.hpp"
#include "report/npy.hpp"

namespace fs = std::filesystem;

namespace mirada {

nlohmann::json libraryVersions() {
    return {{"mirada", MIRADA_VERSION},
            {"libtorch", TORCH_VERSION},
            {"opencv", CV_VERSION},
            {"eigen", std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." +
                          std::to_string(EIGEN_MINOR_VERSION)},
            {"nlohmann_json", std::to_string(NLOHMANN_JSON_VERSION_MAJOR) + "." +
                                  std::to_string(NLOHMANN_JSON_VERSION_MINOR) + "." +
                                  std::to_string(NLOHMANN_JSON_VERSION_PATCH)}};
}

namespace {
std::string isoNow() {
    const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}
}  // namespace

nlohmann::json makeRunReport(const RunRecord& run, const nlohmann::json& files) {
    nlohmann::json j;
    j["created"] = isoNow();
    j["versions"] = libraryVersions();
    const auto& m = run.model;
    j["model"] = {{"name", m.name},
                  {"architecture", m.architecture},
                  {"file", m.weights_file},
                  {"sha256", m.weights_sha256},
                  {"descriptor", m.descriptor_file},
                  {"classes", m.labels.size()},
                  {"input", toJson(m.input)},
                  {"output", m.outputs_probabilities ? "probabilities" : "logits"},
                  {"default_target_layer", m.default_target_layer},
                  {"baseline", toString(m.baseline)},
                  {"baseline_source", m.baseline_source}};
    j["image"] = {
        {"file", run.image_file}, {"sha256", run.image_sha256}, {"width", run.image.cols}, {"height", run.image.rows}};
    j["device"] = run.device;
    j["seed"] = run.seed;
    j["batch_size"] = run.batch_size;
    j["precision"] = {{"asked", run.precision_asked},
                      {"used", run.precision},
                      {"cpu", cpuModelName()},
                      {"cpu_native_bf16", cpuHasNativeBf16()}};
    if (!run.precision_note.empty()) j["precision"]["note"] = run.precision_note;
    j["target_request"] = run.target_request;
    if (!run.explanations.empty()) {
        const auto& e0 = run.explanations.front();
        j["target"] = {{"index", e0.target_index}, {"label", e0.target_label}, {"probability", e0.target_probability}};
        const std::string caution = targetCaution(e0.target_probability);
        if (!caution.empty()) j["target"]["caution"] = caution;
    }
    if (run.has_input_check) j["input_check"] = run.input_check.toJson();
    // The colour scales the overlays and the sheet were drawn with: per map, its
    // kind and the raw value at the scale's end ([0, end] or [-end, +end]).
    j["overlay"] = {{"colormap", run.overlay.colormap},
                    {"opacity", run.overlay.opacity},
                    {"range", run.overlay.range},
                    {"clip_percentile", run.overlay.clip_percentile},
                    {"scales", nlohmann::json::array()}};
    const auto scales = colourScalesFor(run.explanations, run.overlay);
    for (size_t i = 0; i < run.explanations.size(); ++i)
        j["overlay"]["scales"].push_back({{"method", run.explanations[i].method},
                                          {"kind", scales[i].signed_map ? "signed" : "unsigned"},
                                          {"end", scales[i].end},
                                          {"clipped", scales[i].clipped}});
    j["methods"] = nlohmann::json::array();
    for (const auto& e : run.explanations) {
        double mn = 0, mx = 0;
        if (!e.heatmap.empty()) cv::minMaxLoc(e.heatmap, &mn, &mx);
        nlohmann::json mj = {
            {"method", e.method},
            {"title", e.method_title},
            {"target", {{"index", e.target_index}, {"label", e.target_label}, {"probability", e.target_probability}}},
            {"settings", e.settings},
            {"numbers", e.numbers},
            {"flags", e.flags},
            {"warnings", e.warnings},
            {"heatmap", {{"width", e.heatmap.cols}, {"height", e.heatmap.rows}, {"min", mn}, {"max", mx}}},
            {"timings",
             {{"seconds", e.seconds}, {"model_seconds", e.model_seconds}, {"model_evaluations", e.model_evaluations}}}};
        if (files.contains(e.method)) mj["files"] = files[e.method];
        j["methods"].push_back(mj);
    }
    if (files.contains("segments")) j["segments_file"] = files["segments"];
    if (files.contains("input")) j["model_input_file"] = files["input"];
    if (files.contains("comparison")) j["comparison_file"] = files["comparison"];
    if (!run.extra.empty()) j["extra"] = run.extra;
    return j;
}

namespace {
// Writes the whole set into `dir` (the staging folder).
std::vector<fs::path> writeRunFiles(const fs::path& dir, const std::string& stem, const RunRecord& run,
                                    const ExportOptions& options) {
    std::vector<fs::path> written;
    nlohmann::json files = nlohmann::json::object();
    const auto scales = colourScalesFor(run.explanations, run.overlay);  // the same as the sheet's
    for (size_t i = 0; i < run.explanations.size(); ++i) {
        const auto& e = run.explanations[i];
        if (options.overlays) {
            const auto p = dir / (stem + "." + e.method + ".overlay.png");
            writePngAtomic(p, renderOverlay(run.image, e.heatmap, scales[i], run.overlay));
            written.push_back(p);
            files[e.method]["overlay"] = p.filename().string();
        }
        if (options.heatmaps) {
            const auto p = dir / (stem + "." + e.method + ".heatmap.npy");
            writeNpyAtomic(p, e.heatmap);
            written.push_back(p);
            files[e.method]["heatmap"] = p.filename().string();
        }
    }
    if (options.model_input && !run.image.empty()) {
        const auto p = dir / (stem + ".input.png");
        writePngAtomic(p, modelInputImage(run.image, run.model.input));
        written.push_back(p);
        files["input"] = p.filename().string();
    }
    if (options.segments) {
        for (const auto& e : run.explanations) {
            if (e.segments.empty()) continue;
            // 16-bit label map: 0 = outside the model's view, v = segment v-1.
            cv::Mat labels16(e.segments.size(), CV_16UC1);
            double mx = 0;
            cv::minMaxLoc(e.segments, nullptr, &mx);
            if (mx > 65534)
                throw Error("too many superpixels (" + std::to_string(int(mx) + 1) + ") for a 16-bit label map");
            e.segments.convertTo(labels16, CV_16U, 1.0, 1.0);
            const auto p = dir / (stem + ".segments.png");
            writePngAtomic(p, labels16);
            written.push_back(p);
            files["segments"] = p.filename().string();
            break;
        }
    }
    if (options.comparison && !run.explanations.empty()) {
        const auto p = dir / (stem + ".comparison.png");
        std::vector<std::vector<std::string>> extra;
        if (run.extra.contains("sheet_lines"))
            extra = run.extra["sheet_lines"].get<std::vector<std::vector<std::string>>>();
        writePngAtomic(p, renderComparisonSheet(run.image, fs::path(run.image_file).filename().string(),
                                                run.explanations, run.overlay, extra));
        written.push_back(p);
        files["comparison"] = p.filename().string();
    }
    for (const auto& [name, bytes] : options.extra_files) {
        const auto p = dir / name;
        writeFileAtomic(p, bytes);
        written.push_back(p);
    }
    if (options.report) {
        const auto p = dir / (stem + ".report.json");
        writeFileAtomic(p, makeRunReport(run, files).dump(2) + "\n");
        written.push_back(p);
    }
    return written;
}

}  // namespace

std::vector<fs::path> exportRun(const fs::path& dir, const std::string& stem, const RunRecord& run,
                                const ExportOptions& options) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec || !fs::is_directory(dir))
        throw Error("cannot create the output folder '" + dir.string() + "': " + ec.message());
    std::string pattern = (dir / ".mirada-staging-XXXXXX").string();
    if (!mkdtemp(pattern.data()))
        throw Error("cannot write into the output folder '" + dir.string() + "': " + std::strerror(errno) +
                    "; check that it is writable and has free space");
    const fs::path staging = pattern;
    struct RemoveStaging {
        fs::path p;
        ~RemoveStaging() {
            std::error_code e;
            fs::remove_all(p, e);
        }
    } cleanup{staging};

    const std::vector<fs::path> staged = writeRunFiles(staging, stem, run, options);  // throws: old set untouched
    // Every destination must be replaceable by a rename before the first one moves.
    for (const auto& f : staged) {
        const fs::path target = dir / f.filename();
        if (fs::is_directory(fs::symlink_status(target, ec)))
            throw Error("cannot write '" + target.string() +
                        "': a folder of that name is in the way; move it "
                        "and export again (no file of this run was written)");
    }
    std::vector<fs::path> written;
    for (const auto& f : staged) {
        const fs::path target = dir / f.filename();
        fs::rename(f, target, ec);
        if (ec)
            throw Error("cannot move '" + f.filename().string() + "' into '" + dir.string() + "': " + ec.message() +
                        "; " + std::to_string(written.size()) + " of " + std::to_string(staged.size()) +
                        " files of this run were replaced");
        written.push_back(target);
    }
    return written;
}

}  // namespace mirada
