#pragma once
// `mirada-cli evaluate`: explain like `explain`, then measure the maps -
// deletion / insertion AUC against a random ranking, agreement between the
// methods, and optionally the model-randomisation sanity check. One image
// (files like explain plus <stem>.metrics.csv, numbers in the report) or a
// range of an IDX test set (--dataset: prints mean tables, writes nothing).
#include <CLI/CLI.hpp>

#include <string>

#include "explain_command.hpp"
#include "folder_command.hpp"

namespace mirada::cli {

struct EvaluateOptions {
    ExplainOptions explain;  // --model, --image, --methods, --target, --out, --set ... as `explain`
    std::string step;        // --step: fraction of pixels per step, "0.01" or "1/56"; "" = faithfulness.step_fraction
    std::string top_k;       // --top-k: percent for the top-k IoU, e.g. "10"; "" = agreement.top_percent
    bool sanity = false;     // --sanity: run the cascading randomisation check
    std::string dataset;     // --dataset: IDX images file or folder (test set) instead of --image
    int first = 0, count = 20;
    FolderOptions folder;  // --folder and its options
};

// Adds the subcommand to `app`; run it with runEvaluate when it was given.
CLI::App* addEvaluateCommand(CLI::App& app, EvaluateOptions& o, const std::string& modelHelp);
int runEvaluate(const EvaluateOptions& o);

}  // namespace mirada::cli
