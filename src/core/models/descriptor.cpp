#include "models/descriptor.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "common/error.hpp"
#include "common/file_checks.hpp"

namespace mirada {
namespace {

using json = nlohmann::json;

// Limits on what a descriptor may make Mirada read (README, "Limits").
constexpr std::uintmax_t kMaxDescriptorBytes = 16u << 20;  // 16 MiB
constexpr std::uintmax_t kMaxLabelsFileBytes = 16u << 20;  // 16 MiB
constexpr std::size_t kMaxLabels = 1000000;

// A JSON value for an error message: at most ~80 characters.
std::string shown(const json& v) { return clipForMessage(v.dump()); }

std::string typeName(const json& j) { return j.type_name(); }

struct Ctx {
    std::string file;
    [[noreturn]] void fail(const std::string& field, const std::string& problem) const {
        throw Error("model descriptor '" + file + "': field \"" + field + "\" " + problem);
    }
};

std::string getString(const json& j, const char* key, const Ctx& c) {
    const auto& v = j.at(key);
    if (!v.is_string()) c.fail(key, "must be a string, found " + typeName(v));
    return v.get<std::string>();
}

int getPositiveInt(const json& j, const char* key, const Ctx& c, const std::string& field, int maxValue) {
    const auto& v = j.at(key);
    if (!v.is_number_integer()) c.fail(field, "must be a whole number, found " + shown(v));
    const auto x = v.get<long long>();
    if (x < 1 || x > maxValue)
        c.fail(field, "must be between 1 and " + std::to_string(maxValue) + ", found " + std::to_string(x));
    return static_cast<int>(x);
}

std::vector<float> getFloats(const json& j, const char* key, const Ctx& c) {
    const auto& v = j.at(key);
    if (!v.is_array()) c.fail(key, "must be a list of numbers, one per channel, found " + typeName(v));
    std::vector<float> out;
    for (const auto& e : v) {
        if (!e.is_number()) c.fail(key, "must contain only numbers, found " + shown(e));
        const double d = e.get<double>();
        if (!std::isfinite(d)) c.fail(key, "must contain finite numbers");
        out.push_back(static_cast<float>(d));
    }
    return out;
}

}  // namespace

ModelInfo defaultTorchScriptInfo(const std::filesystem::path& torchscript) {
    ModelInfo info;
    info.name = torchscript.stem().string();
    info.architecture = "torchscript";
    return info;  // InputSpec's own defaults are ImageNet's 224 centre crop
}

ModelDescriptor readModelDescriptor(const std::filesystem::path& file) {
    Ctx c{file.string()};
    const auto size = requireRegularFile(file, "model descriptor");
    if (size > kMaxDescriptorBytes)
        throw Error("model descriptor '" + file.string() + "' is " + std::to_string(size >> 20) +
                    " MiB, more than the 16 MiB Mirada reads; put long label lists in a labels_file");
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Error("cannot open model descriptor '" + file.string() + "': check the path");
    std::stringstream ss;
    ss << in.rdbuf();
    const json j = parseJsonBounded(ss.str(), "model descriptor '" + file.string() + "'");
    if (!j.is_object()) throw Error("model descriptor '" + file.string() + "' must be a JSON object {...}");

    static const std::set<std::string> known{"name",   "torchscript", "weights",        "architecture",
                                             "input",  "resize",      "resize_shorter", "mean",
                                             "std",    "labels",      "labels_file",    "target_layer",
                                             "output", "baseline",    "comment",        "checkpoint_entry"};
    for (const auto& [key, value] : j.items()) {
        (void)value;
        if (!known.count(key)) {
            std::string list;
            for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
            throw Error("model descriptor '" + file.string() + "': unknown field \"" + clipForMessage(key) +
                        "\"; known fields: " + list);
        }
    }
    if (j.contains("torchscript") && j.contains("weights"))
        c.fail("weights", "and \"torchscript\" are both set; a descriptor describes one model file");
    if (!j.contains("torchscript") && !j.contains("weights"))
        c.fail("torchscript",
               "is missing: set \"torchscript\" to a TorchScript file or \"weights\" to a torchvision weight file "
               "(.pth state dict or checkpoint), relative to the descriptor");
    if (j.contains("architecture") && !j.contains("weights"))
        c.fail("architecture", "is set without \"weights\"; it names the torchvision architecture of a weight file");
    if (j.contains("checkpoint_entry") && !j.contains("weights"))
        c.fail("checkpoint_entry", "is set without \"weights\"; it names an entry of a training checkpoint");

    ModelDescriptor d;
    d.file = std::filesystem::absolute(file);
    const char* fileField = j.contains("weights") ? "weights" : "torchscript";
    const auto ts = getString(j, fileField, c);
    if (ts.empty()) c.fail(fileField, "is empty");
    const std::filesystem::path model =
        std::filesystem::path(ts).is_absolute() ? std::filesystem::path(ts) : d.file.parent_path() / ts;
    if (!std::filesystem::exists(model)) c.fail(fileField, "names '" + model.string() + "', which does not exist");
    requireRegularFile(model, j.contains("weights") ? "weight file" : "TorchScript file");
    if (j.contains("weights")) {
        d.weights = model;
        if (j.contains("architecture")) {
            d.architecture = getString(j, "architecture", c);
            if (d.architecture.empty()) c.fail("architecture", "is empty");
        }
        if (j.contains("checkpoint_entry")) {
            d.checkpoint_entry = getString(j, "checkpoint_entry", c);
            if (d.checkpoint_entry.empty()) c.fail("checkpoint_entry", "is empty");
        }
    } else {
        d.torchscript = model;
    }

    ModelInfo& info = d.info;
    info = defaultTorchScriptInfo(model);
    if (!d.weights.empty()) {
        info.architecture = d.architecture;  // the recognised one replaces it at load time
        // Photos: a blurred copy removes an object's detail (README, "The baseline").
        info.baseline = Baseline{Baseline::Kind::Blur, {}};
        info.baseline_source = "Mirada's default (blur) for photo classifiers";
    }
    info.descriptor_file = d.file.string();
    if (j.contains("name")) {
        info.name = getString(j, "name", c);
        if (info.name.empty()) c.fail("name", "is empty");
    }
    InputSpec& in_ = info.input;
    if (j.contains("input")) {
        const auto& inp = j.at("input");
        if (!inp.is_object()) c.fail("input", "must be an object {\"width\": W, \"height\": H, \"channels\": C}");
        for (const auto& [key, value] : inp.items()) {
            (void)value;
            if (key != "width" && key != "height" && key != "channels")
                c.fail("input." + key, "is not known; use width, height and channels");
        }
        if (inp.contains("width")) in_.width = getPositiveInt(inp, "width", c, "input.width", 8192);
        if (inp.contains("height")) in_.height = getPositiveInt(inp, "height", c, "input.height", 8192);
        if (inp.contains("channels")) {
            in_.channels = getPositiveInt(inp, "channels", c, "input.channels", 3);
            if (in_.channels == 2) c.fail("input.channels", "must be 1 (grey) or 3 (RGB), found 2");
        }
    }
    if (j.contains("resize")) {
        const auto r = getString(j, "resize", c);
        try {
            in_.resize = resizeFromString(r);
        } catch (const Error&) {
            c.fail("resize", "is \"" + r + "\"; use \"center-crop\", \"stretch\" or \"letterbox\"");
        }
    }
    in_.resize_shorter = static_cast<int>(std::lround(std::min(in_.width, in_.height) * 256.0 / 224.0));
    if (j.contains("resize_shorter")) {
        in_.resize_shorter = getPositiveInt(j, "resize_shorter", c, "resize_shorter", 16384);
        if (in_.resize_shorter < std::min(in_.width, in_.height))
            c.fail("resize_shorter", "must be at least the input's smaller side (" +
                                         std::to_string(std::min(in_.width, in_.height)) + ")");
    }
    if (in_.channels == 1) {
        in_.mean = {0.5f};
        in_.std = {0.5f};
    }
    if (j.contains("mean")) in_.mean = getFloats(j, "mean", c);
    if (j.contains("std")) in_.std = getFloats(j, "std", c);
    if (static_cast<int>(in_.mean.size()) != in_.channels)
        c.fail("mean", "has " + std::to_string(in_.mean.size()) + " values; give one per input channel (" +
                           std::to_string(in_.channels) + ")");
    if (static_cast<int>(in_.std.size()) != in_.channels)
        c.fail("std", "has " + std::to_string(in_.std.size()) + " values; give one per input channel (" +
                          std::to_string(in_.channels) + ")");
    for (float s : in_.std)
        if (!(s > 0)) c.fail("std", "must contain only positive numbers (it divides the input)");

    if (j.contains("labels") && j.contains("labels_file"))
        c.fail("labels", "and \"labels_file\" are both set; keep one");
    if (j.contains("labels")) {
        const auto& l = j.at("labels");
        if (!l.is_array() || l.empty()) c.fail("labels", "must be a non-empty list of strings");
        if (l.size() > kMaxLabels)
            c.fail("labels", "has " + std::to_string(l.size()) + " entries, more than the " +
                                 std::to_string(kMaxLabels) + " Mirada reads");
        for (const auto& e : l) {
            if (!e.is_string()) c.fail("labels", "must contain only strings, found " + shown(e));
            info.labels.push_back(e.get<std::string>());
        }
    }
    if (j.contains("labels_file")) {
        auto lf = std::filesystem::path(getString(j, "labels_file", c));
        if (!lf.is_absolute()) lf = d.file.parent_path() / lf;
        std::uintmax_t lsize = 0;
        try {
            lsize = requireRegularFile(lf, "labels file");
        } catch (const Error& e) {
            c.fail("labels_file", std::string("names a file Mirada cannot use: ") + e.what());
        }
        if (lsize > kMaxLabelsFileBytes)
            c.fail("labels_file", "names '" + lf.string() + "', which is " + std::to_string(lsize >> 20) +
                                      " MiB; a labels file may hold at most 16 MiB (one label per line)");
        std::ifstream lin(lf, std::ios::binary);
        if (!lin) c.fail("labels_file", "names '" + lf.string() + "', which cannot be read");
        std::string line;
        std::uintmax_t readBytes = 0;
        while (std::getline(lin, line)) {
            readBytes += line.size() + 1;
            if (readBytes > kMaxLabelsFileBytes + 1)  // it grew while being read
                c.fail("labels_file", "names '" + lf.string() + "', which holds more than 16 MiB");
            if (!line.empty() && line.back() == '\r') line.pop_back();
            if (!line.empty()) info.labels.push_back(line);
            if (info.labels.size() > kMaxLabels)
                c.fail("labels_file", "names '" + lf.string() + "', which holds more than " +
                                          std::to_string(kMaxLabels) + " labels, the most Mirada reads");
        }
        if (info.labels.empty()) c.fail("labels_file", "names '" + lf.string() + "', which has no labels");
    }
    if (j.contains("target_layer")) {
        info.default_target_layer = getString(j, "target_layer", c);
        if (info.default_target_layer.empty()) c.fail("target_layer", "is empty");
    }
    if (j.contains("output")) {
        const auto o = getString(j, "output", c);
        if (o == "logits")
            info.outputs_probabilities = false;
        else if (o == "probabilities")
            info.outputs_probabilities = true;
        else
            c.fail("output", "is \"" + o + "\"; use \"logits\" or \"probabilities\"");
    }
    if (j.contains("baseline")) {
        const auto& b = j.at("baseline");
        if (b.is_string()) {
            const auto name = b.get<std::string>();
            try {
                info.baseline = baselineFromName(name);
            } catch (const Error&) {
                std::string list;
                for (const auto& n : baselineNames()) list += (list.empty() ? "" : ", ") + ("\"" + n + "\"");
                c.fail("baseline",
                       "is \"" + name + "\"; use one of " + list + " or a list of per-channel values on [0, 1]");
            }
            if (info.baseline.kind == Baseline::Kind::SegmentMean)
                c.fail("baseline",
                       "is \"segment-mean\", which depends on superpixels; a model's baseline must be "
                       "an image (black, dataset-mean, image-mean, blur, grey or per-channel values)");
        } else if (b.is_array()) {
            Baseline v{Baseline::Kind::Values, {}};
            for (const auto& e : b) {
                if (!e.is_number()) c.fail("baseline", "must contain only numbers, found " + shown(e));
                const double x = e.get<double>();
                if (!(x >= 0 && x <= 1)) c.fail("baseline", "values are pixel values on [0, 1], found " + shown(e));
                v.values.push_back(static_cast<float>(x));
            }
            if (static_cast<int>(v.values.size()) != in_.channels)
                c.fail("baseline", "has " + std::to_string(v.values.size()) + " values; give one per input channel (" +
                                       std::to_string(in_.channels) + ")");
            info.baseline = v;
        } else {
            c.fail("baseline",
                   "must be a name (\"black\", \"blur\", ...) or a list of per-channel values, found " + typeName(b));
        }
        info.baseline_source = "the model descriptor";
    }
    return d;
}

}  // namespace mirada
