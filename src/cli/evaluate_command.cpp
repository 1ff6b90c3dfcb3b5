// `mirada-cli evaluate`: explain, then measure the explanations. Thin: parse,
// call the core's metrics (src/core/metrics), print and export.
#include "evaluate_command.hpp"

#include <opencv2/imgproc.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "image/idx_dataset.hpp"
#include "image/preprocess.hpp"
#include "metrics/agreement.hpp"
#include "metrics/faithfulness.hpp"
#include "metrics/metrics_summary.hpp"
#include "metrics/sanity_check.hpp"

namespace fs = std::filesystem;

namespace mirada::cli {
namespace {

// "0.01" or "1/56" -> 0.01 / 0.01786; throws mirada::Error naming the text.
double parseFraction(const std::string& text) {
    const std::string help =
        "--step '" + text + "' is not a fraction of the pixels; use a number in (0, 1] such as 0.01 or 1/56";
    try {
        size_t used = 0;
        const auto slash = text.find('/');
        double v;
        if (slash == std::string::npos) {
            v = std::stod(text, &used);
            if (used != text.size()) throw Error(help);
        } else {
            const std::string a = text.substr(0, slash), b = text.substr(slash + 1);
            size_t ua = 0, ub = 0;
            const double num = std::stod(a, &ua), den = std::stod(b, &ub);
            if (ua != a.size() || ub != b.size() || den == 0) throw Error(help);
            v = num / den;
        }
        if (!(v > 0 && v <= 1)) throw Error(help);
        return v;
    } catch (const std::logic_error&) {  // std::invalid_argument / out_of_range from stod
        throw Error(help);
    }
}

// The metric settings tables with the convenience flags applied; --set may still change them.
std::map<std::string, ParamSet> metricGroups(const EvaluateOptions& o) {
    std::map<std::string, ParamSet> g;
    g["faithfulness"] = faithfulnessParams();
    g["agreement"] = agreementParams();
    g["sanity"] = sanityParams();
    if (!o.step.empty()) g["faithfulness"].set("step_fraction", parseFraction(o.step));
    if (!o.top_k.empty()) {
        try {
            g["agreement"].setFromString("top_percent", o.top_k);
        } catch (const Error& e) {
            throw Error(std::string("--top-k: ") + e.what());
        }
    }
    return g;
}

// The run plan of `explain` plus the metrics: curves and agreement, and the sanity check when asked.
RunPlan metricsPlan(const ExplainSession& s, const ExplainOptions& eo, bool sanity) {
    RunPlan plan = planFor(s, eo);
    plan.metrics = true;
    plan.faithfulness = s.groups.at("faithfulness");
    plan.agreement = s.groups.at("agreement");
    plan.sanity = sanity;
    plan.sanity_params = s.groups.at("sanity");
    return plan;
}

std::string fixed(double v, int digits = 3) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
}

std::string titleOf(const ExplainSession& s, const std::string& method) {
    for (const auto& e : s.explainers)
        if (e->name() == method) return e->title();
    return method;
}

// ---- one image ----

int evaluateImage(const EvaluateOptions& o) {
    const ExplainOptions& eo = o.explain;
    ExplainSession s = prepareExplain(eo, metricGroups(o));
    RunResults results;
    try {
        results = runSession(s, eo, metricsPlan(s, eo, o.sanity));
    } catch (const Cancelled&) {
        return 130;
    }
    const FaithfulnessReport& faith = results.faithfulness;
    const AgreementMatrix& agree = results.agreement;
    const SanityCheckResult& sanity = results.sanity;

    const std::string stem = fs::path(eo.image).stem().string();
    const std::string csvName = stem + ".metrics.csv";
    nlohmann::json metrics;
    metrics["faithfulness"] = toJson(faith);
    metrics["agreement"] = toJson(agree);
    if (o.sanity) metrics["sanity"] = toJson(sanity);
    metrics["curves_file"] = csvName;
    s.run.extra["metrics"] = metrics;
    // Under each tile of the comparison sheet: the AUCs against the random floor (as the GUI shows them).
    auto lines = faithfulnessSheetLines(faith);
    if (o.sanity)
        for (size_t i = 0; i < lines.size() && i < sanity.methods.size(); ++i) {
            lines[i].push_back(sanitySheetLine(sanity.methods[i]));
        }
    s.run.extra["sheet_lines"] = lines;

    ExportOptions exportOptions;
    exportOptions.extra_files.emplace_back(csvName, curvesCsv(faith));  // one set with the report that names it
    const auto files = exportRun(eo.out, stem, s.run, exportOptions);

    const auto& e0 = s.run.explanations.front();
    std::cout << "target " << e0.target_index << " '" << e0.target_label << "' (p = " << e0.target_probability << ")\n";
    std::printf("%-12s %13s %14s\n", "method", "deletion AUC", "insertion AUC");
    for (size_t i = 0; i < faith.methods.size(); ++i)
        std::printf("%-12s %13.4f %14.4f\n", titleOf(s, faith.methods[i]).c_str(), faith.curves[i].deletion.auc,
                    faith.curves[i].insertion.auc);
    if (faith.settings.random_repeats > 0)
        std::printf("%-12s %13.4f %14.4f\n", "random", faith.random.deletion.auc, faith.random.insertion.auc);
    for (size_t i = 0; i < faith.methods.size() && faith.settings.random_repeats > 0; ++i)
        std::printf("  %-10s %s\n", titleOf(s, faith.methods[i]).c_str(), faithfulnessVerdict(faith, i).c_str());
    std::cout << "deletion/insertion baseline: " << toString(faith.baseline.baseline) << " (from "
              << faith.baseline.source << ")\n";
    if (faith.guard.fired) std::cerr << "warning: " << faith.guard.warning << "\n";
    if (agree.methods.size() > 1) {
        std::cout << "agreement (Spearman / top-" << agree.top_percent << "% IoU):\n";
        for (size_t i = 0; i < agree.methods.size(); ++i)
            for (size_t k = i + 1; k < agree.methods.size(); ++k)
                std::printf("  %-10s %-10s %7.3f %7.3f\n", agree.methods[i].c_str(), agree.methods[k].c_str(),
                            agree.spearman[i][k], agree.top_iou[i][k]);
    }
    if (o.sanity) {
        std::cout << "sanity check (Spearman with the original after randomising the top layers):\n";
        for (const auto& m : sanity.methods) {
            std::cout << "  " << m.method << ":";
            for (size_t k = 0; k < m.spearman.size(); ++k)
                std::cout << " " << (k < m.blank.size() && m.blank[k] ? std::string("blank") : fixed(m.spearman[k], 2));
            std::cout << "  " << sanityVerdict(m, sanity.target_probability) << "\n";
        }
    }
    for (const auto& f : files) std::cout << "wrote " << f.string() << "\n";
    return 0;
}

// ---- a range of a test set ----

int evaluateDataset(const EvaluateOptions& o) {
    if (o.count < 1) throw Error("--count " + std::to_string(o.count) + " is not valid; evaluate at least 1 image");
    if (o.first < 0) throw Error("--first " + std::to_string(o.first) + " is not valid; the first image is 0");
    if (!o.explain.segments.empty())
        throw Error("--segments cannot be used with --dataset (one label map, many images)");
    ExplainOptions eo = o.explain;
    const bool quiet = eo.quiet;
    eo.quiet = true;  // one line per image instead of a bar per method
    ExplainSession s = prepareExplain(eo, metricGroups(o));
    const auto images = readIdxImages(o.dataset, o.first, o.count);
    const size_t methods = s.explainers.size();
    const int n = static_cast<int>(images.size());

    std::vector<double> del(methods, 0), ins(methods, 0);
    std::vector<int> insWins(methods, 0), delWins(methods, 0), bothWins(methods, 0);
    std::vector<int> blanks(methods, 0);
    int guardFired = 0;
    std::string baselineText;
    double rndDel = 0, rndIns = 0;
    std::vector<std::vector<double>> rho(methods);  // summed per step
    std::vector<int> flagged(methods, 0);
    std::vector<std::string> layers;
    FaithfulnessSettings fs;
    int pixels = 0, perStep = 0;
    try {
        for (int i = 0; i < n; ++i) {
            cv::cvtColor(images[i], s.image.rgb, cv::COLOR_GRAY2RGB);
            s.target = resolveTarget(s.model(), s.image.rgb, eo.target);
            s.run.explanations.clear();
            const RunResults results = runSession(s, eo, metricsPlan(s, eo, o.sanity));
            const FaithfulnessReport& faith = results.faithfulness;
            fs = faith.settings;
            pixels = faith.pixels;
            perStep = faith.pixels_per_step;
            rndDel += faith.random.deletion.auc;
            rndIns += faith.random.insertion.auc;
            for (size_t m = 0; m < methods; ++m) {
                del[m] += faith.curves[m].deletion.auc;
                ins[m] += faith.curves[m].insertion.auc;
                const bool insWin = faith.curves[m].insertion.auc > faith.random.insertion.auc;
                const bool delWin = faith.curves[m].deletion.auc < faith.random.deletion.auc;
                insWins[m] += insWin;
                delWins[m] += delWin;
                bothWins[m] += insWin && delWin;
            }
            guardFired += faith.guard.fired;
            baselineText = toString(faith.baseline.baseline) + " (from " + faith.baseline.source + ")";
            if (o.sanity) {
                const SanityCheckResult& sanity = results.sanity;
                layers = sanity.layers;
                for (size_t m = 0; m < methods; ++m) {
                    auto& r = rho[m];
                    r.resize(sanity.methods[m].spearman.size(), 0.0);
                    for (size_t k = 0; k < r.size(); ++k) r[k] += sanity.methods[m].spearman[k];
                    flagged[m] += sanity.methods[m].flagged;
                    blanks[m] += sanity.methods[m].verdict == "blank";
                }
            }
            if (!quiet)
                std::fprintf(stderr, "  image %d/%d (item %d): target %d '%s'\n", i + 1, n, o.first + i,
                             s.run.explanations.front().target_index, s.run.explanations.front().target_label.c_str());
        }
    } catch (const Cancelled&) {
        return 130;
    }

    std::printf("Faithfulness of %d images (items %d-%d of %s), model %s, target %s, seed %llu\n", n, o.first,
                o.first + n - 1, o.dataset.c_str(), s.model().info().name.c_str(), eo.target.c_str(),
                static_cast<unsigned long long>(eo.seed));
    std::printf(
        "%d pixels per step of %d (step fraction %.5f), baseline %s, insertion from %s, random floor: mean "
        "of %d rankings per image\n",
        perStep, pixels, fs.step_fraction, baselineText.c_str(),
        fs.insertion_start == "blur" ? "a blur" : "the baseline", fs.random_repeats);
    if (guardFired > 0)
        std::printf(
            "warning: on %d of %d images the baseline alone keeps at least %.0f%% of the target's "
            "probability; choose another baseline (--set perturbation.baseline=...)\n",
            guardFired, n, 100 * perturbationSettingsFrom(s.groups.at("perturbation")).guard);
    std::printf(
        "\n| method | mean deletion AUC ↓ | random's mean deletion AUC | mean insertion AUC ↑ | random's mean "
        "insertion AUC | beats random on average (del / ins) | images del < random | images ins > random | "
        "images both |\n|---|---|---|---|---|---|---|---|---|\n");
    bool all = true;
    const double rd = rndDel / n, ri = rndIns / n;
    for (size_t m = 0; m < methods; ++m) {
        const double d = del[m] / n, in = ins[m] / n;
        all = all && in > ri && d < rd;
        std::printf("| %s | %.4f | %.4f | %.4f | %.4f | %s / %s | %d/%d | %d/%d | %d/%d |\n",
                    s.explainers[m]->title().c_str(), d, rd, in, ri, d < rd ? "yes" : "NO", in > ri ? "yes" : "NO",
                    delWins[m], n, insWins[m], n, bothWins[m], n);
    }
    std::printf("| random ranking | %.4f | - | %.4f | - | - | - | - | - |\n\n", rd, ri);
    std::printf("every method's mean deletion and insertion AUC beat the random ranking's: %s\n", all ? "yes" : "NO");

    if (o.sanity) {
        const auto ss = sanitySettingsFrom(s.groups.at("sanity"));
        std::printf(
            "\nSanity check (cascading randomisation, top layer first; mean Spearman rank correlation of %s "
            "maps with the original over %d images; flagged when >= %.2f after the last step)\n\n",
            ss.compare == "absolute" ? "|map|" : "signed", n, ss.threshold);
        std::printf("| layers randomised |");
        for (size_t m = 0; m < methods; ++m) std::printf(" %s |", s.explainers[m]->title().c_str());
        std::printf("\n|---|");
        for (size_t m = 0; m < methods; ++m) std::printf("---|");
        std::printf("\n");
        for (size_t k = 0; k < layers.size(); ++k) {
            std::printf("| %zu (%s%s) |", k + 1, k ? "... " : "", layers[k].c_str());
            for (size_t m = 0; m < methods; ++m) std::printf(" %.3f |", k < rho[m].size() ? rho[m][k] / n : NAN);
            std::printf("\n");
        }
        std::printf("| images flagged |");
        for (size_t m = 0; m < methods; ++m) std::printf(" %d/%d |", flagged[m], n);
        std::printf("\n| images blank after the last step |");
        for (size_t m = 0; m < methods; ++m) std::printf(" %d/%d |", blanks[m], n);
        std::printf("\n");
    }
    return 0;
}

}  // namespace

CLI::App* addEvaluateCommand(CLI::App& app, EvaluateOptions& o, const std::string& modelHelp) {
    auto* cmd = app.add_subcommand(
        "evaluate",
        "Explain like `explain`, then measure the maps: deletion/insertion AUC against a random ranking, agreement "
        "between methods, optionally the model-randomisation sanity check. With --image: writes explain's files plus "
        "<stem>.metrics.csv (curves) and the numbers in the report. With --dataset: prints mean tables over test "
        "images");
    addExplainOptions(*cmd, o.explain, modelHelp, false);
    cmd->add_option("--step", o.step,
                    "fraction of the pixels removed/revealed per step, e.g. 0.01 or 1/56 (default 1/224 as in RISE; "
                    "coarser is faster); same as --set faithfulness.step_fraction=");
    cmd->add_option("--top-k", o.top_k, "percent of pixels for the top-k IoU between methods (default 10)");
    cmd->add_flag("--sanity", o.sanity,
                  "also run the cascading model-randomisation check (recomputes every method once per layer; "
                  "--set sanity.layers=N limits the layers)");
    cmd->add_option("--dataset", o.dataset,
                    "IDX image file or folder with t10k-images-idx3-ubyte.gz (e.g. /usr/share/datasets/fashion-mnist) "
                    "instead of --image");
    cmd->add_option("--first", o.first, "--dataset: index of the first image")->capture_default_str();
    cmd->add_option("--count", o.count, "--dataset: number of images")->capture_default_str();
    addFolderOptions(*cmd, o.folder);
    return cmd;
}

int runEvaluate(const EvaluateOptions& o) {
    const int inputs = !o.dataset.empty() + !o.explain.image.empty() + !o.folder.folder.empty();
    if (inputs != 1)
        throw Error(inputs == 0 ? "evaluate needs --image FILE, --folder DIR or --dataset DIR"
                                : "give one of --image, --folder or --dataset, not several");
    if (!o.folder.folder.empty()) {
        if (o.sanity) throw Error("--sanity is not available with --folder yet; run it on single images (--image)");
        return runFolder(o.explain, o.folder, true, metricGroups(o));
    }
    return o.dataset.empty() ? evaluateImage(o) : evaluateDataset(o);
}

}  // namespace mirada::cli
