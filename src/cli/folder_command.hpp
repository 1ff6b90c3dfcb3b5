#pragma once
// `explain --folder DIR` and `evaluate --folder DIR`: the same plan over every
// image of a folder (core batch layer), progress on stderr, the summary tables
// on stdout, the files under --out.
#include <CLI/CLI.hpp>

#include <map>
#include <string>

#include "explain_command.hpp"

namespace mirada::cli {

struct FolderOptions {
    std::string folder;    // --folder
    std::string patterns;  // --patterns "*.png,*.jpg" ("" = every image type)
    std::string labels;    // --labels FILE: class folder -> model label
    int max_count = 0;     // --max
    bool sample = false;   // --sample: a random sample of --max images
    uint64_t sample_seed = 0;
    bool no_image_files = false;  // --no-image-files: only result.json per image
    bool out_given = false;       // whether --out was on the command line (else a folder named after --folder)
};

// Adds --folder and its options to `cmd` (explain or evaluate).
void addFolderOptions(CLI::App& cmd, FolderOptions& f);

// Runs the batch: `metrics` on for evaluate (with its metric tables in
// `groups`). Returns the exit code (130 when interrupted, after writing the
// summary of what finished).
int runFolder(const ExplainOptions& eo, const FolderOptions& f, bool metrics,
              std::map<std::string, ParamSet> metricGroups);

}  // namespace mirada::cli
