#pragma once
// `mirada-cli shapley-error`: KernelSHAP's estimators against exact Shapley
// values on games small enough to enumerate (the README's estimator table).
#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace mirada::cli {

struct ShapleyErrorOptions {
    std::string model;
    std::vector<std::string> images;
    int players = 16;  // grid superpixels
    std::string budgets = "64,128,256,512";
    std::string estimators = "textbook,kernel,leverage";
    int seeds = 50;
    std::string output = "probability";
    std::string device = "auto";
    int batch_size = 0;
};

CLI::App* addShapleyErrorCommand(CLI::App& app, ShapleyErrorOptions& o, const std::string& modelHelp);
int runShapleyError(const ShapleyErrorOptions& o);

}  // namespace mirada::cli
