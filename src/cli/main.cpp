// mirada-cli: the command line over mirada_core. Thin: parse, call the core, print.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <iomanip>
#include <iostream>
#include <sstream>

#include "common/allocator.hpp"
#include "common/error.hpp"
#include "evaluate_command.hpp"
#include "explain_command.hpp"
#include "folder_command.hpp"
#include "shapley_error_command.hpp"
#include "explain/baseline_setting.hpp"
#include "explain/methods.hpp"
#include "image/image_io.hpp"
#include "models/failure_text.hpp"
#include "models/model_zoo.hpp"
#include "models/native_nets.hpp"
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
        j["model"] = {
            {"name", model.info().name}, {"file", model.info().weights_file}, {"sha256", model.info().weights_sha256}};
        j["image"] = {
            {"file", imagePath}, {"sha256", image.sha256}, {"width", image.rgb.cols}, {"height", image.rgb.rows}};
        j["device"] = model.device().str();
        j["top"] = nlohmann::json::array();
        for (const auto& s : scores)
            j["top"].push_back(
                {{"index", s.index}, {"label", s.label}, {"probability", s.probability}, {"score", s.score}});
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
    std::vector<std::string> unfound;
    for (const auto& e : mirada::modelZoo()) {
        const auto loc = mirada::locateZooModel(e.name);
        if (!loc.found && !e.listed_when_missing) {
            unfound.push_back(e.weight_files.front());
            continue;
        }
        std::cout << std::left << std::setw(13) << e.name << e.description << "\n    "
                  << (loc.found ? "weights: " + loc.file.string() : "missing: " + loc.message) << "\n";
    }
    if (!unfound.empty()) {
        std::cout << "\n"
                  << unfound.size()
                  << " more torchvision architectures are zoo names (--model densenet121, ...) once their ImageNet "
                     "weights are in one of the folders above or PyTorch's hub cache, under torchvision's file names ("
                  << unfound.front() << (unfound.size() > 1 ? ", " + unfound[1] : std::string())
                  << ", ...; download from "
                  << "https://download.pytorch.org/models/).\n";
    }
    // Any torchvision weight file (state dict or checkpoint) of these is built natively,
    // with the number of classes its head has.
    std::cout << "\nNative architectures (--model FILE.pth; recognised from the file's tensors, any number "
                 "of classes):\n";
    std::string line = "   ";
    for (const auto& n : mirada::nativeArchNames()) {
        if (line.size() + n.size() > 90) {
            std::cout << line << "\n";
            line = "   ";
        }
        line += " " + n;
    }
    std::cout << line << "\n";
    return 0;
}

// Markdown table cells: a '|' inside a cell would split it.
std::string cell(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == '|') out += '\\';
        out += c;
    }
    return out;
}

std::string number(double v) {
    std::ostringstream s;
    s << v;
    return s.str();
}

// One settings table in the README's form.
void printSettingsTable(const mirada::ParamSet& params) {
    using mirada::ParamType;
    std::cout << "`" << params.group() << "`\n\n| setting | type | default | range / choices | what it does |\n"
              << "|---|---|---|---|---|\n";
    for (const auto& p : params.specs()) {
        std::string type, def, range;
        switch (p.type) {
            case ParamType::Int:
                type = "int";
                def = mirada::toString(p.default_value);
                range = number(p.min) + " – " + number(p.max);
                break;
            case ParamType::Float:
                type = "float";
                def = number(std::get<double>(p.default_value));
                range = number(p.min) + " – " + number(p.max);
                break;
            case ParamType::Bool:
                type = "bool";
                def = std::get<bool>(p.default_value) ? "true" : "false";
                break;
            case ParamType::Choice:
                type = "choice";
                def = "\"" + std::get<std::string>(p.default_value) + "\"";
                for (const auto& c : p.choices)
                    if (!c.empty()) range += (range.empty() ? "" : ", ") + c;
                break;
        }
        std::cout << "| `" << p.name << "` | " << type << " | " << def << " | " << cell(range) << " | " << cell(p.help)
                  << " |\n";
    }
    std::cout << "\n";
}

// Every registered method: name, family, title and a line; with --settings each
// method's settings table; --markdown prints the tables the README carries.
int runMethods(bool settings, bool markdown) {
    const auto& reg = mirada::methodRegistry();
    if (markdown) {
        std::cout << "| method | family | name | what it shows | checked in the GUI at first start "
                     "|\n|---|---|---|---|---|\n";
        for (const auto& m : reg)
            std::cout << "| `" << m.name << "` | " << mirada::toString(m.family) << " | " << cell(m.title) << " | "
                      << cell(m.summary) << " | " << (m.default_on ? "yes" : "") << " |\n";
        if (!settings) return 0;
        std::cout << "\n";
        for (const auto& m : reg) printSettingsTable(m.make()->defaultParams());
        printSettingsTable(mirada::superpixelParams());
        printSettingsTable(mirada::perturbationParams());
        return 0;
    }
    for (const auto& m : reg) {
        std::cout << std::left << std::setw(21) << m.name << std::setw(14) << mirada::toString(m.family) << m.title
                  << (m.default_on ? "  (GUI default)" : "") << "\n    " << m.summary << "\n";
        if (!settings) continue;
        const mirada::ParamSet params = m.make()->defaultParams();
        for (const auto& p : params.specs()) {
            std::string def = mirada::toString(p.default_value);
            std::cout << "      " << std::setw(16) << p.name << std::setw(14) << (def.empty() ? "\"\"" : def) << p.help
                      << "\n";
        }
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    mirada::keepFreedMemoryForReuse();  // common/allocator.hpp says why
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

    bool methodSettings = false, methodMarkdown = false;
    auto* methods = app.add_subcommand("methods", "List every explanation method: name, family, what it shows");
    methods->add_flag("--settings", methodSettings, "also list each method's settings (--set METHOD.NAME=VALUE)");
    methods->add_flag("--markdown", methodMarkdown, "print Markdown tables (the README's)");

    mirada::cli::ExplainOptions ex;
    auto* explain = app.add_subcommand("explain",
                                       "Explain the model's decision with one or more methods; write overlays, "
                                       "raw heatmaps, the comparison sheet and a JSON report");
    mirada::cli::addExplainOptions(*explain, ex, modelHelp, false);
    mirada::cli::FolderOptions exFolder;
    mirada::cli::addFolderOptions(*explain, exFolder);

    mirada::cli::EvaluateOptions ev;
    auto* evaluate = mirada::cli::addEvaluateCommand(app, ev, modelHelp);

    mirada::cli::BenchOptions bo;
    auto* bench = app.add_subcommand("bench", "Time an explanation against the model evaluations it needs");
    bench->add_option("--model,-m", bo.model, modelHelp)->required();
    bench->add_option("--image,-i", bo.image, "image file")->required();
    bench->add_option("--method", bo.method, "one of: " + mirada::allMethodList())->capture_default_str();
    bench->add_option("--samples", bo.samples, "samples for lime / kernelshap (0 = method default)")
        ->check(CLI::Range(0, 1000000));
    bench->add_option("--batch-size", bo.batch_size, "model evaluations per batch (0 = auto: measured once per model)")
        ->check(CLI::Range(0, 4096));
    bench->add_flag("--compare-pytorch", bo.compare_pytorch,
                    "also run plain PyTorch eval of the same weights file (python3-torch, same batch and threads) "
                    "and print both images/s, their ratio, and the method end to end against the same evaluations");
    bench->add_option("--images", bo.images, "images timed for the throughput comparison (0 = four batches)");
    bench
        ->add_option("--evaluation", bo.evaluation,
                     "optimized (frozen, BN-folded, oneDNN TorchScript; the default everywhere) or plain "
                     "(the model as loaded), to see what the optimization gives")
        ->capture_default_str();
    bench
        ->add_option("--precision", bo.precision,
                     "fp32, bf16 or both: time the method and its model evaluations in each (bf16 only for methods "
                     "that evaluate image batches, on a CPU with native bfloat16)")
        ->capture_default_str()
        ->check(CLI::IsMember({"fp32", "bf16", "both"}));
    bench->add_option("--repeat", bo.repeat, "runs to take the median of")->capture_default_str();
    bench->add_option("--device", bo.device, "auto, cpu or cuda")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
    bench->add_option("--set", bo.sets, "METHOD.PARAM=VALUE (repeatable)");
    bench->add_option("--seed", bo.seed, "random seed, 0 to 18446744073709551615")->check(mirada::cli::seedValidator());

    mirada::cli::ShapleyErrorOptions so;
    auto* shapleyError = mirada::cli::addShapleyErrorCommand(app, so, modelHelp);

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
        if (*methods) return runMethods(methodSettings, methodMarkdown);
        if (*explain) {
            if (exFolder.folder.empty()) {
                if (ex.image.empty()) throw mirada::Error("explain needs --image FILE or --folder DIR");
                return mirada::cli::runExplain(ex);
            }
            exFolder.out_given = explain->get_option("--out")->count() > 0;
            return mirada::cli::runFolder(ex, exFolder, false, {});
        }
        if (*bench) return mirada::cli::runBench(bo);
        if (*evaluate) {
            ev.folder.out_given = evaluate->get_option("--out")->count() > 0;
            return mirada::cli::runEvaluate(ev);
        }
        if (*shapleyError) return mirada::cli::runShapleyError(so);
    } catch (const mirada::Error& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    } catch (const std::exception& e) {
        // Not worded by Mirada: say it in one line, and what to do when memory ran out.
        const mirada::FailureText f = mirada::describeFailure(e);
        if (f.out_of_memory)
            std::cerr << "error: out of memory (" << f.text
                      << "): use a smaller image or --batch-size, or close other programs\n";
        else
            std::cerr << "error: unexpected failure: " << f.text
                      << " (please report this with the command line and the files that caused it)\n";
        return 1;
    }
    return 0;
}
