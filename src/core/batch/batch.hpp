#pragma once
// Many images at once: explain (and measure) every image of a folder with the
// same plan, one model load, and aggregate the results.
//
// A batch writes under its output folder:
//   images/<id>/            per image: explain's files (overlays, heatmaps, report.json ...)
//                           and result.json (BatchImageResult), written last: an image is
//                           done exactly when its result.json is there with the batch's key
//   batch.json              the settings and their key (what a rerun must match to skip)
//   results.csv             one row per image x method (batchCsv)
//   summary.json            the aggregated tables, accuracy, confusion, mean curves, failures
//   summary.md              the same tables in Markdown (what the CLI prints)
//   curves.csv              the mean deletion/insertion curves per method and of the random floor
//   report.html             one self-contained page (batchHtml): gallery, tables, curves
// The summary files are rewritten at the end of every run, including a
// cancelled one, from the result.json files of the images in the folder scan:
// they always describe exactly the images that are complete on disk.
#include <atomic>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "image/overlay.hpp"
#include "metrics/faithfulness.hpp"
#include "models/model.hpp"
#include "run/run_plan.hpp"

namespace mirada {

// ---------------------------------------------------------------- the folder

struct FolderItem {
    std::filesystem::path file;  // as found under the root
    std::string id;              // path below the root, '/'-separated ("Sneaker/0001.png")
    std::string folder;          // output folder below out/images: id without the extension
                                 // ("Sneaker/0001"), the extension kept where two files would collide
    std::string class_folder;    // first folder below the root ("" for a file directly in the root)
    int true_index = -1;         // the model's class of class_folder (-1 = unknown)
    std::string true_label;      // the model's label of true_index
};

struct FolderScanOptions {
    // Shell patterns matched (case-insensitively) against file names, e.g.
    // "*.png"; empty = every extension Mirada reads (png jpg jpeg bmp tif tiff webp).
    std::vector<std::string> patterns;
    int max_count = 0;           // 0 = all; otherwise at most this many images
    bool random_sample = false;  // with max_count: a random sample instead of the first ones (in name order)
    uint64_t seed = 0;           // of the random sample
    // Optional mapping of class folder names to the model's labels or indices:
    // one "folder<TAB or comma>label-or-index" per line, '#' comments. Folders
    // it does not list are matched by their names.
    std::filesystem::path label_map;
};

struct FolderScan {
    std::filesystem::path root;
    std::vector<FolderItem> items;  // in name order (sorted by id), or the sample in that order
    int found = 0;                  // matching files before max_count / sampling
    // ImageFolder layout: images in sub-folders named like the model's labels
    // (case, spaces, '_', '-', '/' ignored: "T-shirt_top" is "T-shirt/top"), or
    // by class index ("7"), or as label_map says. Every image then has a true class.
    bool labelled = false;
    std::vector<std::string> class_folders;  // the sub-folders that are classes
    std::vector<std::string> notes;          // what the scan decided and why, for the user
};

// Walks `root` recursively (symbolic links to folders are not followed;
// hidden files and folders are skipped). Throws mirada::Error naming the
// folder when it does not exist, is not a folder, holds no matching image,
// or when class folders are only partly recognised (naming those that are not
// and how to map them).
FolderScan scanImageFolder(const std::filesystem::path& root, const FolderScanOptions& options,
                           const std::vector<std::string>& modelLabels);

// Shell-style match of a file name: '*' any run, '?' one character, case-insensitive.
bool patternMatches(const std::string& pattern, const std::string& name);

// ---------------------------------------------------------------- settings

struct BatchSettings {
    RunPlan plan;  // methods, their settings, superpixels, perturbation, seed, precision, batch size,
                   // metrics (evaluate) or not (explain); target fields are set per image
    // "top1" (the model's choice), "true" (the true class; needs a labelled
    // folder), or a class index or label used for every image.
    std::string target = "top1";
    OverlayOptions overlay;
    bool image_files = true;  // write explain's files per image (false: only result.json)
};

// Everything the results depend on, as JSON (model file hash, plan, target, overlay).
nlohmann::json batchSettingsJson(const BatchSettings& settings, const ModelInfo& model);
// sha256 of batchSettingsJson's compact dump: equal keys mean reusable results.
std::string batchSettingsKey(const BatchSettings& settings, const ModelInfo& model);

// ---------------------------------------------------------------- results

struct BatchMethodResult {
    std::string method, title;
    bool ok = true;
    std::string error;   // when !ok
    double seconds = 0;  // the method's own time
    bool signed_map = false;
    bool has_metrics = false;
    double deletion_auc = NAN, insertion_auc = NAN;
    Curve deletion, insertion;                          // kept in result.json; cleared in a summary's images (memory)
    nlohmann::json numbers = nlohmann::json::object();  // the method's scalar numbers (R^2, ...)
    std::vector<std::string> flags, warnings;
    std::string overlay_file;  // relative to the output folder ("" when not written)
};

struct BatchImageResult {
    std::string id;      // FolderItem::id
    std::string file;    // path as scanned
    std::string folder;  // relative to the output folder: "images/<FolderItem::folder>"
    std::string status;  // "done" or "failed"
    std::string error;   // when failed: the reason, for the user
    std::string key;     // batchSettingsKey the result was made with
    std::string image_sha256;
    uintmax_t file_size = 0;
    int64_t file_mtime = 0;  // seconds since the epoch (for skipping without reading the file)
    int width = 0, height = 0;
    int true_index = -1;
    std::string true_label;
    int predicted_index = -1;
    std::string predicted_label;
    double predicted_probability = NAN;
    int target_index = -1;
    std::string target_label;
    double target_probability = NAN;
    bool has_metrics = false;
    double random_deletion_auc = NAN, random_insertion_auc = NAN;
    Curve random_deletion, random_insertion;  // cleared in a summary's images
    double seconds = 0;                       // the whole image: load, run, files
    std::vector<BatchMethodResult> methods;
    std::string input_file;  // relative to the output folder: what the model saw ("" when not written)

    bool labelled() const { return true_index >= 0; }
    bool correct() const { return true_index >= 0 && predicted_index == true_index; }
};

nlohmann::json toJson(const BatchImageResult& result);
BatchImageResult batchImageResultFromJson(const nlohmann::json& j);  // throws mirada::Error when malformed

// ---------------------------------------------------------------- aggregation

// n, mean, sample standard deviation (n - 1; 0 for one value), median, min, max
// of the finite values; NaN fields when there are none.
struct Spread {
    int n = 0;
    double mean = NAN, sd = NAN, median = NAN, min = NAN, max = NAN;
};
Spread spreadOf(std::vector<double> values);

struct MethodAggregate {
    std::string method, title;
    Spread deletion, insertion, seconds;
    int beats_random_deletion = 0, beats_random_insertion = 0, beats_random_both = 0;
    int failed = 0;  // images where this method failed
};

// The methods over one group of images.
struct GroupAggregate {
    std::string name;                      // "all images", a class label, "correct", "wrong"
    int images = 0;                        // images of the group that finished
    std::vector<MethodAggregate> methods;  // plan order
    Spread random_deletion, random_insertion, target_probability;
};

struct MeanCurves {
    std::string method, title;                // "random" for the floor
    std::vector<double> fraction;             // 0, 0.01, ..., 1 (101 points)
    std::vector<double> deletion, insertion;  // mean target probability over the images
    int images = 0;
};

struct BatchSummary {
    std::filesystem::path root, out;
    nlohmann::json settings;  // batchSettingsJson
    std::string key;
    std::string model_name;
    bool has_metrics = false;
    std::vector<std::string> methods, titles;  // plan order
    int found = 0;                             // images in the scan
    int done = 0;                              // finished (this run or before)
    int skipped = 0;                           // of done: found complete and skipped in this run
    int failed = 0;                            // could not be explained (unreadable file, failure)
    int not_run = 0;                           // left when cancelled
    bool cancelled = false;
    double seconds = 0;                    // this run's wall time
    std::vector<BatchImageResult> images;  // done and failed, in scan order; curves cleared
    GroupAggregate all;
    std::vector<GroupAggregate> per_class;  // by true class when labelled, else by predicted class
    bool labelled = false;
    GroupAggregate correct, wrong;  // labelled only
    int labelled_images = 0, correct_images = 0;
    double accuracy = NAN;
    std::vector<std::string> confusion_labels;  // every class of the model
    std::vector<std::vector<int>> confusion;    // [true][predicted] counts, labelled only
    std::vector<MeanCurves> curves;             // per method, then "random"; empty without metrics
    std::vector<std::string> notes;             // the scan's notes and the run's
};

// Builds a summary one image at a time, keeping only what the tables need
// (no heatmaps, curves folded into running means): memory stays flat.
class BatchSummaryBuilder {
public:
    BatchSummaryBuilder(std::vector<std::string> methods, std::vector<std::string> titles,
                        std::vector<std::string> modelLabels);
    void add(BatchImageResult result);  // done or failed
    BatchSummary finish();              // fills the aggregates; header fields are the caller's
    const std::vector<BatchImageResult>& images() const { return summary_.images; }

private:
    BatchSummary summary_;
    std::vector<std::string> labels_;
    std::vector<std::vector<double>> del_sum_, ins_sum_;  // per method, then random; 101 points
    std::vector<int> curve_n_;
};

// One row per image x method (a failed image: one row with its error):
// id,file,status,error,true_index,true_label,predicted_index,predicted_label,
// predicted_probability,correct,target_index,target_label,target_probability,
// method,method_status,deletion_auc,insertion_auc,random_deletion_auc,
// random_insertion_auc,beats_random,seconds,flags,numbers
std::string batchCsv(const BatchSummary& summary);
nlohmann::json toJson(const BatchSummary& summary);  // without the per-image list (results.csv has it)
std::string summaryMarkdown(const BatchSummary& summary);
std::string meanCurvesCsv(const BatchSummary& summary);  // method,curve,fraction,score,images

// The self-contained HTML report (batch_html.cpp): thumbnails of each image
// and its overlays embedded (read from the per-image files under summary.out),
// sortable gallery, tables, curves as inline SVG. No scripts from elsewhere.
std::string batchHtml(const BatchSummary& summary);

// Writes results.csv, summary.json, summary.md, curves.csv and report.html
// into summary.out (each atomically). Returns the paths written.
std::vector<std::filesystem::path> writeBatchSummary(const BatchSummary& summary);

// ---------------------------------------------------------------- running

struct BatchProgress {
    int done = 0;     // images finished or skipped so far (failed included)
    int total = 0;    // images in the scan
    int skipped = 0;  // of done: complete from before
    int failed = 0;
    double seconds_per_image = 0;  // over the images run in this run
    double seconds_left = 0;       // estimate for the rest
    std::string current;           // id of the image being run
    double image_fraction = 0;     // progress inside the current image
};

struct BatchObserver {
    std::function<void(const BatchProgress&)> progress;       // on the running thread
    std::function<void(const BatchImageResult&)> image_done;  // done, failed or skipped; curves included
    std::function<void(const std::string&)> notice;           // a sentence for the user
};

// Runs the plan on every image of `scan` and writes the outputs under `out`
// (created if missing). Images whose result.json carries the same key, file
// size and time are skipped; failed images are tried again. An image that
// cannot be read or explained is a failed result with its error; the run goes
// on. `cancel` (set from any thread) stops within the current image, whose
// partial files are discarded; the summary files are then written for what is
// complete and the summary says cancelled. Throws mirada::Error before the
// first image for settings that cannot work (target "true" on an unlabelled
// folder, an unwritable output folder).
BatchSummary runBatch(Model& model, const FolderScan& scan, const BatchSettings& settings,
                      const std::filesystem::path& out, const BatchObserver& observer, const std::atomic<bool>* cancel);

// Reads a finished (or cancelled) batch back from its output folder: every
// images/**/result.json with the folder's batch.json key, aggregated. For the
// GUI's "open a batch" and for tests. Throws mirada::Error when `out` holds no batch.
BatchSummary readBatch(const std::filesystem::path& out);

}  // namespace mirada
