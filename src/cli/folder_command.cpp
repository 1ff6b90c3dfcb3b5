// `explain --folder` / `evaluate --folder`: thin over the core's batch layer.
#include "folder_command.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>

#include "batch/batch.hpp"
#include "common/error.hpp"
#include "models/precision.hpp"

namespace fs = std::filesystem;

namespace mirada::cli {
namespace {

// "1 h 2 min", "3 min 5 s", "12 s".
std::string duration(double seconds) {
    const long s = std::lround(std::max(0.0, seconds));
    char buf[48];
    if (s >= 3600)
        std::snprintf(buf, sizeof buf, "%ld h %ld min", s / 3600, (s % 3600) / 60);
    else if (s >= 60)
        std::snprintf(buf, sizeof buf, "%ld min %ld s", s / 60, s % 60);
    else
        std::snprintf(buf, sizeof buf, "%ld s", s);
    return buf;
}

// One progress line: on a terminal rewritten in place, otherwise about every 5% of the images.
class ProgressLine {
public:
    explicit ProgressLine(bool quiet) : quiet_(quiet), tty_(isatty(STDERR_FILENO)) {}
    void show(const BatchProgress& p) {
        if (quiet_ || p.total == 0) return;
        const int step = std::max(1, p.total / 20);
        if (!tty_ && p.done != p.total && (p.done == last_ || p.done % step != 0)) return;
        if (!tty_ && p.done == last_) return;
        last_ = p.done;
        std::string line = "images " + std::to_string(p.done) + "/" + std::to_string(p.total);
        if (p.seconds_per_image > 0) {
            char spi[32];
            std::snprintf(spi, sizeof spi, "%.2f s per image", p.seconds_per_image);
            line += " · " + std::string(spi) + " · about " + duration(p.seconds_left) + " left";
        }
        if (p.skipped) line += " · " + std::to_string(p.skipped) + " skipped (done before)";
        if (p.failed) line += " · " + std::to_string(p.failed) + " failed";
        if (tty_) {
            if (line.size() < width_) line += std::string(width_ - line.size(), ' ');
            width_ = line.size();
            std::cerr << "\r" << line << std::flush;
        } else {
            std::cerr << line << "\n";
        }
    }
    void end() {
        if (tty_ && !quiet_ && width_ > 0) std::cerr << "\n";
    }

private:
    bool quiet_, tty_;
    int last_ = -1;
    size_t width_ = 0;
};

std::vector<std::string> splitPatterns(const std::string& s) {
    std::vector<std::string> out;
    for (const auto& p : splitList(s))
        if (!p.empty()) out.push_back(p);
    return out;
}

}  // namespace

void addFolderOptions(CLI::App& cmd, FolderOptions& f) {
    cmd.add_option("--folder", f.folder,
                   "every image in this folder and its sub-folders instead of --image; with one sub-folder per class "
                   "(torchvision's ImageFolder: named like the model's labels or class indices) the true classes are "
                   "known: --target true explains them, and accuracy and confusion are reported");
    cmd.add_option(
        "--patterns", f.patterns,
        "--folder: file name patterns, comma-separated (default: *.png,*.jpg,*.jpeg,*.bmp,*.tif,*.tiff,*.webp)");
    cmd.add_option("--labels", f.labels,
                   "--folder: mapping of class folder names to the model's labels, one 'folder,label' per line");
    cmd.add_option("--max", f.max_count, "--folder: at most this many images (0 = all; the first in name order)")
        ->check(CLI::Range(0, 100000000));
    cmd.add_flag("--sample", f.sample, "--folder: with --max, a random sample instead of the first images");
    cmd.add_option("--sample-seed", f.sample_seed, "--folder --sample: seed of the random sample")
        ->check(seedValidator());
    cmd.add_flag("--no-image-files", f.no_image_files,
                 "--folder: write no overlays/heatmaps per image, only the tables, the report and result.json");
}

int runFolder(const ExplainOptions& eoIn, const FolderOptions& f, bool metrics,
              std::map<std::string, ParamSet> metricGroups) {
    ExplainOptions eo = eoIn;
    if (!eo.image.empty()) throw Error("give either --image or --folder, not both");
    if (!eo.segments.empty()) throw Error("--segments cannot be used with --folder (one label map, many images)");
    if (f.sample && f.max_count == 0)
        throw Error("--sample needs --max N: the number of images to draw at random from the folder");
    fs::path folderPath = fs::absolute(f.folder).lexically_normal();
    if (folderPath.filename().empty()) folderPath = folderPath.parent_path();  // "photos/" -> "photos"
    const fs::path out = f.out_given ? fs::path(eo.out) : fs::path(folderPath.filename().string() + "-mirada");

    ExplainSession s = prepareExplain(eo, std::move(metricGroups));  // loads the model, checks --set
    Model& model = s.model();
    FolderScanOptions so;
    so.patterns = splitPatterns(f.patterns);
    so.max_count = f.max_count;
    so.random_sample = f.sample;
    so.seed = f.sample_seed;
    so.label_map = f.labels;
    const FolderScan scan = scanImageFolder(f.folder, so, model.info().labels);
    for (const auto& n : scan.notes) std::cerr << "notice: " << n << "\n";

    BatchSettings settings;
    settings.plan = planFor(s, eo);
    if (metrics) {
        settings.plan.metrics = true;
        settings.plan.faithfulness = s.groups.at("faithfulness");
        settings.plan.agreement = s.groups.at("agreement");
    }
    settings.target = eo.target;
    settings.overlay = s.run.overlay;
    settings.image_files = !f.no_image_files;

    const std::atomic<bool>* cancel = installInterruptHandler();
    ProgressLine line(eo.quiet);
    BatchObserver observer;
    observer.progress = [&](const BatchProgress& p) {
        if (p.image_fraction == 0) line.show(p);
    };
    observer.notice = [](const std::string& n) { std::cerr << "warning: " << n << "\n"; };
    std::cerr << "explaining " << scan.items.size() << " images of " << f.folder << " with " << model.info().name
              << " (" << model.device().str() << "), target " << eo.target << "; writing into " << out.string() << "\n";
    const BatchSummary summary = runBatch(model, scan, settings, out, observer, cancel);
    line.end();

    std::cout << summaryMarkdown(summary);
    char rate[64];
    const int ran = summary.done + summary.failed - summary.skipped;
    std::snprintf(rate, sizeof rate, "%.2f", summary.seconds > 0 ? ran / summary.seconds : 0.0);
    std::cout << "\n"
              << ran << " images run in " << duration(summary.seconds) << " (" << rate << " images/s), "
              << summary.skipped << " skipped (done before), " << summary.failed << " failed\n";
    for (const char* name : {"results.csv", "summary.json", "summary.md", "curves.csv", "report.html"})
        if (fs::exists(out / name)) std::cout << "wrote " << (out / name).string() << "\n";
    if (summary.cancelled) {
        std::cerr << "interrupted: " << summary.done << " of " << summary.found
                  << " images are complete and in the summary; run the same command again to finish the rest\n";
        return 130;
    }
    if (summary.failed > 0) {
        std::cerr
            << "warning: " << summary.failed << " of " << summary.found
            << " images could not be explained; they are listed with their errors in the summary and the report\n";
        return 2;
    }
    return 0;
}

}  // namespace mirada::cli
