#include "shapley_error_command.hpp"

#include <cmath>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

#include "common/error.hpp"
#include "explain/explainer.hpp"
#include "explain/surrogate/shapley_benchmark.hpp"
#include "explain_command.hpp"
#include "image/image_io.hpp"
#include "models/batch_size.hpp"

namespace mirada::cli {

CLI::App* addShapleyErrorCommand(CLI::App& app, ShapleyErrorOptions& o, const std::string& modelHelp) {
    auto* cmd = app.add_subcommand(
        "shapley-error",
        "Measure KernelSHAP's error against exact Shapley values: the image on a grid of few superpixels, every "
        "coalition evaluated once, then each estimator run with many seeds at each budget from that table");
    cmd->add_option("--model,-m", o.model, modelHelp)->required();
    cmd->add_option("--image,-i", o.images, "image file (repeat for several; the table averages over them)")
        ->required();
    cmd->add_option("--players", o.players, "grid superpixels (2^players model evaluations per image)")
        ->capture_default_str()
        ->check(CLI::Range(2, kMaxEnumerablePlayers));
    cmd->add_option("--budgets", o.budgets, "coalitions per estimate, comma separated")->capture_default_str();
    cmd->add_option("--estimators", o.estimators, "textbook, kernel (Mirada before issue 16), leverage (now)")
        ->capture_default_str();
    cmd->add_option("--seeds", o.seeds, "estimates per budget, each with its own seed")
        ->capture_default_str()
        ->check(CLI::Range(1, 100000));
    cmd->add_option("--output", o.output, "probability or logit")->check(CLI::IsMember({"probability", "logit"}));
    cmd->add_option("--device", o.device, "auto, cpu or cuda")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
    cmd->add_option("--batch-size", o.batch_size, "model evaluations per batch (0 = auto)")->check(CLI::Range(0, 4096));
    return cmd;
}

int runShapleyError(const ShapleyErrorOptions& o) {
    std::vector<int64_t> budgets;
    for (const auto& b : splitList(o.budgets)) {
        try {
            size_t used = 0;
            const long long v = std::stoll(b, &used);
            if (used != b.size() || v < 1) throw std::invalid_argument(b);
            budgets.push_back(v);
        } catch (const std::exception&) {
            throw Error("--budgets: '" + b + "' is not a whole number of 1 or more (e.g. --budgets 64,128)");
        }
    }
    const std::vector<std::string> estimators = splitList(o.estimators);
    for (const auto& e : estimators)
        if (e != "textbook" && e != "kernel" && e != "leverage")
            throw Error("--estimators: '" + e + "' is not known; use textbook, kernel or leverage");
    if (budgets.empty() || estimators.empty()) throw Error("give at least one budget and one estimator");

    auto loaded = openModel(o.model, o.device);
    Model& model = *loaded.model;
    // [estimator][budget] -> sums over images
    std::map<std::string, std::map<int64_t, std::vector<EstimatorError>>> all;
    for (const auto& path : o.images) {
        const auto image = loadImage(path);
        ExplainRequest request;
        request.model = &model;
        request.image = image.rgb;
        request.batch_size = o.batch_size;
        request.superpixels = superpixelParams();
        request.superpixels.set("algorithm", std::string("grid"));
        request.superpixels.set("count", int64_t(o.players));
        RunContext ctx;
        ctx.progress = [](double, const std::string& m) { std::cerr << "\r" << m << "        " << std::flush; };
        const SurrogateSetup setup = prepareSurrogate(request, "shared", "kernelshap.fill",
                                                      surrogateOutputFromString(o.output), "KernelSHAP", ctx);
        if (setup.segments > kMaxEnumerablePlayers)
            throw Error("the grid gave " + std::to_string(setup.segments) + " superpixels; use --players " +
                        std::to_string(kMaxEnumerablePlayers) + " or fewer");
        ModelCoalitionValue value(model, *setup.renderer, setup.target, surrogateOutputFromString(o.output));
        const GameTable game = enumerateGame(value, setup.batch_size, ctx);
        std::cerr << "\n";
        const Eigen::VectorXd exact = exactShapley(game);
        std::cout << path << ": target " << setup.target_label << ", " << game.players << " players, "
                  << game.values.size()
                  << " coalitions evaluated, v(full) - v(empty) = " << game.values.back() - game.values.front() << "\n";
        for (const auto& e : shapleyErrors(game, exact, estimators, budgets, o.seeds))
            all[e.estimator][e.budget].push_back(e);
    }

    auto mean = [](const std::vector<EstimatorError>& v, double EstimatorError::*field) {
        double s = 0;
        for (const auto& e : v) s += e.*field;
        return s / double(v.size());
    };
    std::cout << "\nmean relative error |phi_hat - phi| / |phi| over " << o.seeds << " seeds x " << o.images.size()
              << " image(s), model " << model.info().name << "\n\n| budget |";
    for (const auto& e : estimators) std::cout << " " << e << " |";
    const bool ratio = all.count("leverage") && all.count("kernel");
    const bool ratioTextbook = all.count("leverage") && all.count("textbook");
    if (ratio) std::cout << " leverage / kernel |";
    if (ratioTextbook) std::cout << " leverage / textbook |";
    if (all.count("leverage")) std::cout << " leverage 95% coverage |";
    std::cout << "\n|---|";
    for (size_t i = 0; i < estimators.size() + ratio + ratioTextbook + (all.count("leverage") ? 1 : 0); ++i)
        std::cout << "---|";
    std::cout << "\n" << std::fixed;
    for (const int64_t b : budgets) {
        std::cout << "| " << b << " |";
        for (const auto& e : estimators)
            std::cout << " " << std::setprecision(4) << mean(all[e][b], &EstimatorError::mean_relative_error) << " |";
        if (ratio)
            std::cout << " " << std::setprecision(2)
                      << mean(all["leverage"][b], &EstimatorError::mean_relative_error) /
                             mean(all["kernel"][b], &EstimatorError::mean_relative_error)
                      << "x |";
        if (ratioTextbook)
            std::cout << " " << std::setprecision(2)
                      << mean(all["leverage"][b], &EstimatorError::mean_relative_error) /
                             mean(all["textbook"][b], &EstimatorError::mean_relative_error)
                      << "x |";
        if (all.count("leverage")) {
            const double c = mean(all["leverage"][b], &EstimatorError::coverage);
            if (c < 0)
                std::cout << " none |";  // exact (zero width) or too few samples per size for an interval
            else
                std::cout << " " << std::setprecision(1) << 100 * c << "% |";
        }
        std::cout << "\n";
    }
    return 0;
}

}  // namespace mirada::cli
