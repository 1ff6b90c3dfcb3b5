#include "run_history.hpp"

#include <QDir>
#include <QFileInfo>
#include <algorithm>
#include <filesystem>
#include <fstream>

#include "common/error.hpp"
#include "explain/methods.hpp"
#include "image/image_io.hpp"
#include "image/input_spec.hpp"
#include "models/baseline.hpp"
#include "qt_image.hpp"
#include "report/npy.hpp"

namespace mirada::gui {

QString HistoryRun::summary() const {
    QStringList parts;
    parts << QFileInfo(imagePath).fileName();
    parts << qs(record.model.name.empty() ? ss(modelSpec) : record.model.name);
    for (const auto& s : slots)
        if (s.explanation) {
            parts << QStringLiteral("%1 (%2)").arg(qs(s.explanation->target_label)).arg(s.explanation->target_index);
            break;
        }
    return parts.join(QStringLiteral(" · "));
}

std::shared_ptr<const Explanation> HistoryRun::map(const std::string& method) const {
    for (const auto& s : slots)
        if (s.method == method && s.explanation) return s.explanation;
    return nullptr;
}

nlohmann::json methodInputs(const RunPlan& plan, const PlannedMethod& method, int resolvedTarget) {
    nlohmann::json j = nlohmann::json::object();
    j["method"] = method.method;
    j["params"] = method.params.toJson();
    j["target"] = resolvedTarget;
    const MethodEntry* entry = findMethod(method.method);
    // Unknown methods (cannot happen from the form) keep every shared input.
    const bool batches = !entry || entry->work == ModelWork::ImageBatches;
    const bool cam = entry && entry->family == MethodFamily::Cam;
    if (!cam || batches) j["seed"] = plan.seed;  // gradient CAMs draw nothing at random
    if (batches) j["precision"] = toString(plan.precision);
    if (!entry || makeExplainer(method.method)->usesSuperpixels()) j["superpixels"] = plan.superpixels.toJson();
    // Gradient CAMs never remove anything; every other method may meet the baseline.
    if (!cam || batches) j["perturbation"] = plan.perturbation.toJson();
    return j;
}

QStringList inputChanges(const nlohmann::json& then, const nlohmann::json& now) {
    QStringList changes;
    if (then == now) return changes;
    const std::string method = now.value("method", then.value("method", std::string()));
    for (const auto& [key, value] : now.items()) {
        if (then.contains(key) && then[key] == value) continue;
        if (value.is_object() && then.contains(key) && then[key].is_object()) {
            const std::string group = key == "params" ? method : key;
            for (const auto& [name, v] : value.items())
                if (!then[key].contains(name) || then[key][name] != v) changes << qs(group + "." + name);
            for (const auto& [name, v] : then[key].items())
                if (!value.contains(name)) changes << qs(group + "." + name);
        } else {
            changes << qs(key);
        }
    }
    for (const auto& [key, value] : then.items())
        if (!now.contains(key)) changes << qs(key);
    return changes;
}

namespace {
namespace fs = std::filesystem;

constexpr int kHistoryFormat = 1;

nlohmann::json modelJson(const ModelInfo& m) {
    return {{"name", m.name},
            {"architecture", m.architecture},
            {"labels", m.labels},
            {"input", toJson(m.input)},
            {"outputs_probabilities", m.outputs_probabilities},
            {"default_target_layer", m.default_target_layer},
            {"baseline", toString(m.baseline)},
            {"baseline_source", m.baseline_source},
            {"weights_file", m.weights_file},
            {"weights_sha256", m.weights_sha256},
            {"descriptor_file", m.descriptor_file}};
}

ModelInfo modelFromJson(const nlohmann::json& j) {
    ModelInfo m;
    m.name = j.at("name").get<std::string>();
    m.architecture = j.at("architecture").get<std::string>();
    m.labels = j.at("labels").get<std::vector<std::string>>();
    m.input = inputSpecFromJson(j.at("input"));
    m.outputs_probabilities = j.at("outputs_probabilities").get<bool>();
    m.default_target_layer = j.at("default_target_layer").get<std::string>();
    try {
        m.baseline = baselineFromName(j.at("baseline").get<std::string>());
    } catch (const std::exception&) {
        // A baseline name this version cannot read back: only the report shows it.
    }
    m.baseline_source = j.at("baseline_source").get<std::string>();
    m.weights_file = j.at("weights_file").get<std::string>();
    m.weights_sha256 = j.at("weights_sha256").get<std::string>();
    m.descriptor_file = j.at("descriptor_file").get<std::string>();
    return m;
}

nlohmann::json explanationJson(const Explanation& e) {
    return {{"method", e.method},
            {"title", e.method_title},
            {"target_index", e.target_index},
            {"target_label", e.target_label},
            {"target_probability", e.target_probability},
            {"settings", e.settings},
            {"numbers", e.numbers},
            {"flags", e.flags},
            {"warnings", e.warnings},
            {"signed", e.signed_map},
            {"seconds", e.seconds},
            {"model_seconds", e.model_seconds},
            {"model_evaluations", e.model_evaluations},
            {"segments", !e.segments.empty()}};
}

Explanation explanationFromJson(const nlohmann::json& j, const fs::path& dir) {
    Explanation e;
    e.method = j.at("method").get<std::string>();
    e.method_title = j.at("title").get<std::string>();
    e.target_index = j.at("target_index").get<int>();
    e.target_label = j.at("target_label").get<std::string>();
    e.target_probability = j.at("target_probability").get<float>();
    e.settings = j.at("settings");
    e.numbers = j.at("numbers");
    e.flags = j.at("flags").get<std::vector<std::string>>();
    e.warnings = j.at("warnings").get<std::vector<std::string>>();
    e.signed_map = j.at("signed").get<bool>();
    e.seconds = j.at("seconds").get<double>();
    e.model_seconds = j.at("model_seconds").get<double>();
    e.model_evaluations = j.at("model_evaluations").get<int64_t>();
    e.heatmap = readNpy(dir / (e.method + ".heatmap.npy"));
    if (j.at("segments").get<bool>()) e.segments = readNpy(dir / (e.method + ".segments.npy"));
    return e;
}

std::string readText(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Error("cannot read " + file.string());
    return std::string(std::istreambuf_iterator<char>(in), {});
}
}  // namespace

void saveHistory(const std::vector<std::shared_ptr<HistoryRun>>& runs, const QString& dirName) {
    const fs::path dir(ss(dirName));
    const fs::path staging = dir.string() + ".new";
    std::error_code ec;
    fs::remove_all(staging, ec);
    if (runs.empty()) {
        fs::remove_all(dir, ec);
        return;
    }
    fs::create_directories(staging, ec);
    if (ec) throw Error("cannot create " + staging.string() + ": " + ec.message());
    // At most kBudget bytes of maps: pinned runs first, then the newest (maps
    // are at the image's resolution, so a few large photos could fill a disk).
    constexpr size_t kBudget = size_t(512) << 20;
    std::vector<std::shared_ptr<HistoryRun>> kept;
    size_t bytes = 0;
    std::vector<std::shared_ptr<HistoryRun>> order(runs.rbegin(), runs.rend());
    std::stable_partition(order.begin(), order.end(), [](const auto& r) { return r->pinned; });
    for (const auto& run : order) {
        size_t size = 0;
        for (const auto& slot : run->slots)
            if (slot.explanation)
                size += slot.explanation->heatmap.total() * 4 + slot.explanation->segments.total() * 4;
        if (bytes + size > kBudget) continue;
        bytes += size;
        kept.push_back(run);
    }
    std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) { return a->id < b->id; });
    int index = 0;
    for (const auto& run : kept) {
        const fs::path folder = staging / (std::to_string(++index));
        fs::create_directories(folder, ec);
        if (ec) throw Error("cannot create " + folder.string() + ": " + ec.message());
        nlohmann::json j;
        j["format"] = kHistoryFormat;
        j["name"] = ss(run->name);
        j["pinned"] = run->pinned;
        j["finished"] = ss(run->finished.toString(Qt::ISODateWithMs));
        j["image_file"] = ss(run->imagePath);
        j["image_sha256"] = run->record.image_sha256;
        j["model_spec"] = ss(run->modelSpec);
        j["device"] = ss(run->deviceName);
        j["model"] = modelJson(run->record.model);
        j["record"] = {{"target_request", run->record.target_request},
                       {"seed", run->record.seed},
                       {"batch_size", run->record.batch_size},
                       {"precision_asked", run->record.precision_asked},
                       {"precision", run->record.precision},
                       {"precision_note", run->record.precision_note},
                       {"extra", run->record.extra}};
        j["inputs"] = run->inputs;
        j["slots"] = nlohmann::json::array();
        for (const auto& slot : run->slots) {
            nlohmann::json sj = {{"method", slot.method},
                                 {"title", ss(slot.title)},
                                 {"state", static_cast<int>(slot.state)},
                                 {"message", ss(slot.message)}};
            if (slot.explanation) {
                sj["map"] = explanationJson(*slot.explanation);
                writeNpyAtomic(folder / (slot.method + ".heatmap.npy"), slot.explanation->heatmap);
                if (!slot.explanation->segments.empty())
                    writeNpyAtomic(folder / (slot.method + ".segments.npy"), slot.explanation->segments);
            }
            j["slots"].push_back(sj);
        }
        std::ofstream out(folder / "run.json", std::ios::binary);
        out << j.dump();
        out.close();
        if (!out) throw Error("cannot write " + (folder / "run.json").string() + " (disk full?)");
    }
    // Swap: the old history goes only once the new one is complete.
    const fs::path old = dir.string() + ".old";
    fs::remove_all(old, ec);
    if (fs::exists(dir)) fs::rename(dir, old, ec);
    if (ec) throw Error("cannot replace " + dir.string() + ": " + ec.message());
    fs::rename(staging, dir, ec);
    if (ec) throw Error("cannot move " + staging.string() + " to " + dir.string() + ": " + ec.message());
    fs::remove_all(old, ec);
}

std::vector<HistoryRun> loadHistory(const QString& dirName, QStringList* skipped) {
    std::vector<HistoryRun> runs;
    const QDir dir(dirName);
    if (!dir.exists()) return runs;
    QStringList folders = dir.entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    std::sort(folders.begin(), folders.end(), [](const QString& a, const QString& b) { return a.toInt() < b.toInt(); });
    for (const auto& name : folders) {
        const fs::path folder = fs::path(ss(dir.filePath(name)));
        QString label = name;
        try {
            const auto j = nlohmann::json::parse(readText(folder / "run.json"));
            if (j.at("format").get<int>() != kHistoryFormat) throw Error("written by another version of Mirada");
            label = qs(j.at("name").get<std::string>());
            HistoryRun run;
            run.name = label;
            run.pinned = j.at("pinned").get<bool>();
            run.finished = QDateTime::fromString(qs(j.at("finished").get<std::string>()), Qt::ISODateWithMs);
            run.imagePath = qs(j.at("image_file").get<std::string>());
            run.modelSpec = qs(j.at("model_spec").get<std::string>());
            run.deviceName = qs(j.at("device").get<std::string>());
            run.restored = true;
            if (!QFileInfo::exists(run.imagePath)) throw Error("its image " + ss(run.imagePath) + " is gone");
            const LoadedImage image = loadImage(fs::path(ss(run.imagePath)));
            if (image.sha256 != j.at("image_sha256").get<std::string>())
                throw Error("its image " + ss(run.imagePath) + " has changed since");
            RunRecord& r = run.record;
            r.model = modelFromJson(j.at("model"));
            r.device = ss(run.deviceName);
            r.image = image.rgb;
            r.image_sha256 = image.sha256;
            r.image_file = ss(run.imagePath);
            const auto& rj = j.at("record");
            r.target_request = rj.at("target_request").get<std::string>();
            r.seed = rj.at("seed").get<uint64_t>();
            r.batch_size = rj.at("batch_size").get<int>();
            r.precision_asked = rj.at("precision_asked").get<std::string>();
            r.precision = rj.at("precision").get<std::string>();
            r.precision_note = rj.at("precision_note").get<std::string>();
            r.extra = rj.at("extra");
            for (const auto& [method, value] : j.at("inputs").items()) run.inputs[method] = value;
            for (const auto& sj : j.at("slots")) {
                MethodSlot slot;
                slot.method = sj.at("method").get<std::string>();
                slot.title = qs(sj.at("title").get<std::string>());
                slot.state = static_cast<MethodState>(sj.at("state").get<int>());
                slot.message = qs(sj.at("message").get<std::string>());
                if (sj.contains("map")) {
                    auto e = std::make_shared<Explanation>(explanationFromJson(sj["map"], folder));
                    r.explanations.push_back(*e);
                    slot.explanation = e;
                }
                run.slots.push_back(slot);
            }
            const QImage q = toQImage(r.image);
            run.thumbnail = q.scaled(28, 28, Qt::KeepAspectRatio,
                                     q.width() < 56 ? Qt::FastTransformation : Qt::SmoothTransformation);
            runs.push_back(std::move(run));
        } catch (const std::exception& e) {
            if (skipped) *skipped << QStringLiteral("%1: %2").arg(label, qs(e.what()));
        }
    }
    return runs;
}

RunHistory::RunHistory(QObject* parent) : QObject(parent) {}

int RunHistory::restore(HistoryRun run) {
    const QString name = run.name;
    const int id = add(std::move(run));
    for (auto& r : runs_)
        if (r->id == id) r->name = name.isEmpty() ? tr("Run %1").arg(id) : name;
    Q_EMIT changed();
    return id;
}

int RunHistory::add(HistoryRun run) {
    run.id = nextId_++;
    if (run.name.isEmpty()) run.name = tr("Run %1").arg(run.id);
    runs_.push_back(std::make_shared<HistoryRun>(std::move(run)));
    const int id = runs_.back()->id;
    trim();
    Q_EMIT changed();
    return id;
}

bool RunHistory::remove(int id) {
    const auto it = std::find_if(runs_.begin(), runs_.end(), [id](const auto& r) { return r->id == id; });
    if (it == runs_.end()) return false;
    runs_.erase(it);
    Q_EMIT changed();
    return true;
}

bool RunHistory::rename(int id, const QString& name) {
    for (auto& r : runs_)
        if (r->id == id) {
            const QString trimmed = name.trimmed();
            if (trimmed.isEmpty() || trimmed == r->name) return false;
            r->name = trimmed;
            Q_EMIT changed();
            return true;
        }
    return false;
}

bool RunHistory::setPinned(int id, bool pinned) {
    for (auto& r : runs_)
        if (r->id == id) {
            if (r->pinned == pinned) return false;
            r->pinned = pinned;
            trim();
            Q_EMIT changed();
            return true;
        }
    return false;
}

void RunHistory::clear() {
    runs_.clear();
    Q_EMIT changed();
}

std::shared_ptr<const HistoryRun> RunHistory::find(int id) const {
    for (const auto& r : runs_)
        if (r->id == id) return r;
    return nullptr;
}

void RunHistory::trim() {
    int unpinned = 0;
    for (const auto& r : runs_) unpinned += !r->pinned;
    // The newest run is never dropped: it is the one on screen.
    for (auto it = runs_.begin(); unpinned > kMaxUnpinned && it + 1 != runs_.end();) {
        if (!(*it)->pinned) {
            it = runs_.erase(it);
            --unpinned;
        } else {
            ++it;
        }
    }
}

}  // namespace mirada::gui
