#pragma once
// Everything a run produced, the JSON report that makes it reproducible, and
// the one export routine the CLI and the GUI share. All files are written
// atomically (temp file + rename): a failure leaves existing files intact.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "explain/explainer.hpp"
#include "image/overlay.hpp"
#include "models/input_check.hpp"

namespace mirada {

struct RunRecord {
    ModelInfo model;
    std::string device;  // "cpu", "cuda:0"
    std::string image_file;
    std::string image_sha256;
    cv::Mat image;               // RGB original
    std::string target_request;  // as asked: "top1", "207", "golden retriever"
    uint64_t seed = 0;
    int batch_size = 0;
    // Precision of the perturbation methods' and metrics' model evaluations
    // (models/precision.hpp): as asked, as used, and why they differ or what
    // auto decided. Each method's own is in its settings ("precision").
    std::string precision_asked = "fp32";
    std::string precision = "fp32";
    std::string precision_note;
    std::vector<Explanation> explanations;
    OverlayOptions overlay;
    InputCheck input_check;  // hints when the image looks out of the model's domain
    bool has_input_check = false;
    nlohmann::json extra = nlohmann::json::object();  // e.g. metrics, added under "extra"
};

// Library versions compiled in: mirada, libtorch, opencv, eigen, nlohmann_json.
nlohmann::json libraryVersions();

// The report; `files` maps "<method>.overlay" etc. to file names (may be empty).
nlohmann::json makeRunReport(const RunRecord& run, const nlohmann::json& files = nlohmann::json::object());

struct ExportOptions {
    bool overlays = true;
    bool heatmaps = true;     // .npy
    bool segments = true;     // 16-bit label map, when superpixels were used
    bool model_input = true;  // <stem>.input.png: what the model sees (resized, grey for a 1-channel model)
    bool comparison = true;
    bool report = true;
    // More files of the same set (name in the folder, bytes), e.g. evaluate's curves CSV.
    std::vector<std::pair<std::string, std::string>> extra_files;
};

// Writes into `dir` (created if missing), per method <stem>.<method>.overlay.png
// and <stem>.<method>.heatmap.npy, once <stem>.input.png, <stem>.segments.png,
// <stem>.comparison.png and <stem>.report.json. Returns the paths written. Throws mirada::Error naming
// the file that could not be written.
//
// The files are a set: they are first written into a private staging folder
// inside `dir`, and only when all of them are there are they moved into place
// (same file system: renames). When writing fails (a full disk, say) or a
// destination cannot be replaced, the staging folder is removed and the
// folder keeps its old set untouched, so a report never sits beside maps it
// does not describe.
std::vector<std::filesystem::path> exportRun(const std::filesystem::path& dir, const std::string& stem,
                                             const RunRecord& run, const ExportOptions& options = {});

}  // namespace mirada
