#include "run_history.hpp"

#include <QFileInfo>
#include <algorithm>

#include "explain/methods.hpp"
#include "qt_image.hpp"

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

RunHistory::RunHistory(QObject* parent) : QObject(parent) {}

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
