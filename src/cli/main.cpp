// mirada-cli: the command line over mirada_core. Thin: parse, call the core, print.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <iomanip>
#include <iostream>

#include "common/error.hpp"
#include "evaluate_command.hpp"
#include "explain_command.hpp"
#include "image/image_io.hpp"
#include "models/model_zoo.hpp"
#include "models/predict.hpp"

namespace {

std::string shapeString(const std::vector<int64_t>& shape) {
    if (shape.empty()) return "-";
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

mirada::LoadedModel openModel(const std::string& spec, const std::string& device) {
    mirada::ModelLoadOptions opt;
    opt.device = mirada::deviceChoiceFromString(device);
    auto loaded = mirada::loadModel(spec, opt);
    for (const auto& n : loaded.notices) std::cerr << "notice: " << n << "\n";
    return loaded;
}

int runPredict(const std::string& modelSpec, const std::string& imagePath, const std::string& device, int top,
               bool asJson) {
    auto loaded = openModel(modelSpec, device);
    auto& model = *loaded.model;
    const auto image = mirada::loadImage(imagePath);
    const auto scores = mirada::predictTopK(model, image.rgb, top);
    if (asJson) {
        nlohmann::json j;
        j["model"] = {{"name", model.info().name},
                      {"file", model.info().weights_file},
                      {"sha256", model.info().weights_sha256}};
        j["image"] = {{"file", imagePath},
                      {"sha256", image.sha256},
                      {"width", image.rgb.cols},
                      {"height", image.rgb.rows}};
        j["device"] = model.device().str();
        j["top"] = nlohmann::json::array();
        for (const auto& s : scores)
            j["top"].push_back({{"index", s.index}, {"label", s.label}, {"probability", s.probability}, {"score", s.score}});
        std::cout << j.dump(2) << "\n";
    } else {
        std::cout << "model  " << model.info().name << " (" << model.device().str() << ")\n"
                  << "image  " << imagePath << " (" << image.rgb.cols << "x" << image.rgb.rows << ")\n";
        int rank = 1;
        for (const auto& s : scores) {
            std::cout << std::setw(3) << rank++ << ". " << std::fixed << std::setprecision(4) << s.probability << "  "
                      << std::setw(4) << s.index << "  " << s.label << "\n";
        }
    }
    return 0;
}

int runLayers(const std::string& modelSpec, const std::string& device) {
    auto loaded = openModel(modelSpec, device);
    auto& model = *loaded.model;
    const auto layers = model.layers();
    size_t width = 5;
    for (const auto& l : layers) width = std::max(width, l.path.size());
    std::cout << "model " << model.info().name << ": " << layers.size() << " layers, " << model.parameterCount()
              << " parameters; default target layer: " << model.info().default_target_layer << "\n";
    for (const auto& l : layers) {
        std::cout << std::left << std::setw(static_cast<int>(width) + 2) << l.path << std::setw(22) << l.kind
                  << shapeString(l.output_shape) << "\n";
    }
    return 0;
}

int runModels() {
    for (const auto& e : mirada::modelZoo()) {
        const auto loc = mirada::locateZooModel(e.name);
        std::cout << std::left << std::setw(13) << e.name << e.description << "\n    "
                  << (loc.found ? "weights: " + loc.file.string() : "missing: " + loc.message) << "\n";
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Mirada: where does an image classifier look? Command line."};
    app.set_version_flag("--version", std::string("mirada-cli ") + MIRADA_VERSION);
    app.require_subcommand(1);

    std::string modelSpec, imagePath, device = "auto";
    int top = 5;
    bool asJson = false;
    const std::string modelHelp = "zoo name (fashion-cnn, resnet50, vgg16) or a .pth, .pt or .json file";

    auto* predict = app.add_subcommand("predict", "Classify an image: top-K labels and probabilities");
    predict->add_option("--model,-m", modelSpec, modelHelp)->required();
    predict->add_option("--image,-i", imagePath, "image file (PNG, JPEG, BMP, TIFF, WebP)")->required();
    predict->add_option("--device", device, "auto, cpu or cuda")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
    predict->add_option("--top,-k", top, "number of classes to print")->check(CLI::Range(1, 100000));
    predict->add_flag("--json", asJson, "print JSON instead of a table");

    auto* layers = app.add_subcommand("layers", "List the model's layers (module paths) with output shapes");
    layers->add_option("--model,-m", modelSpec, modelHelp)->required();
    layers->add_option("--device", device, "auto, cpu or cuda")->check(CLI::IsMember({"auto", "cpu", "cuda"}));

    auto* models = app.add_subcommand("models", "List the model zoo and where each model's weights are");

    mirada::cli::ExplainOptions ex;
    auto* explain = app.add_subcommand("explain", "Explain the model's decision with one or more methods; write overlays, "
                                                  "raw heatmaps, the comparison sheet and a JSON report");
    mirada::cli::addExplainOptions(*explain, ex, modelHelp, true);

    mirada::cli::EvaluateOptions ev;
    auto* evaluate = mirada::cli::addEvaluateCommand(app, ev, modelHelp);

    mirada::cli::BenchOptions bo;
    auto* bench = app.add_subcommand("bench", "Time an explanation against the model evaluations it needs");
    bench->add_option("--model,-m", bo.model, modelHelp)->required();
    bench->add_option("--image,-i", bo.image, "image file")->required();
    bench->add_option("--method", bo.method, "gradcam, gradcampp, cam, lime or kernelshap")->capture_default_str();
    bench->add_option("--samples", bo.samples, "samples for lime / kernelshap (0 = method default)")
        ->check(CLI::Range(0, 1000000));
    bench->add_option("--batch-size", bo.batch_size, "model evaluations per batch (0 = auto: measured once per model)")
        ->check(CLI::Range(0, 4096));
    bench->add_flag("--compare-pytorch", bo.compare_pytorch,
                    "also run plain PyTorch eval of the same weights file (python3-torch, same batch and threads) "
                    "and print both images/s, their ratio, and the method end to end against the same evaluations");
    bench->add_option("--images", bo.images, "images timed for the throughput comparison (0 = four batches)");
    bench->add_option("--evaluation", bo.evaluation,
                      "optimized (frozen, BN-folded, oneDNN TorchScript; the default everywhere) or plain "
                      "(the model as loaded), to see what the optimization gives")
        ->capture_default_str();
    bench->add_option("--repeat", bo.repeat, "runs to take the median of")->capture_default_str();
    bench->add_option("--device", bo.device, "auto, cpu or cuda")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
    bench->add_option("--set", bo.sets, "METHOD.PARAM=VALUE (repeatable)");
    bench->add_option("--seed", bo.seed, "random seed, 0 to 18446744073709551615")->check(mirada::cli::seedValidator());

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);  // prints the message (or the help)
        return code == 0 ? 0 : 1;      // a bad option is an error like any other: exit code 1
    }
    try {
        if (*predict) return runPredict(modelSpec, imagePath, device, top, asJson);
        if (*layers) return runLayers(modelSpec, device);
        if (*models) return runModels();
        if (*explain) return mirada::cli::runExplain(ex);
        if (*bench) return mirada::cli::runBench(bo);
        if (*evaluate) return mirada::cli::runEvaluate(ev);
    } catch (const mirada::Error& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "error: unexpected failure: " << e.what() << "\n";
        return 2;
    }
    return 0;
}
