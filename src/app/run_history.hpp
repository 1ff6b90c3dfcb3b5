#pragma once
// The runs of this session, kept so that they can be compared: every finished
// run (its image, model, target, every setting and every map) is a
// HistoryRun. Opening another image or model starts a new run and leaves the
// earlier ones here; the user browses, pins, renames and deletes them. The
// oldest unpinned runs are dropped beyond a limit, so a long session does not
// hold every image it ever opened.
//
// A run also remembers, per method, the inputs its map was computed from
// (methodInputs): the main window compares them with the form to mark tiles
// out of date, and hands unchanged maps to the next run instead of computing
// them again.
#include <QDateTime>
#include <QImage>
#include <QObject>
#include <QString>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "explanation_session.hpp"

namespace mirada::gui {

struct HistoryRun {
    int id = 0;    // unique in the session, never reused
    QString name;  // "Run 3" until renamed
    bool pinned = false;
    QDateTime finished;
    QString imagePath;   // as opened
    QString modelSpec;   // zoo name or file
    QString deviceName;  // "cpu", "cuda:0"
    QImage thumbnail;    // 64 px
    RunPlan plan;
    RunRecord record;               // image, model, target, maps, metrics: what export writes
    std::vector<MethodSlot> slots;  // every planned method, in tile order (failed ones too)
    std::shared_ptr<const RunMetrics> metrics;
    bool restored = false;  // read back from an earlier session (its metric curves were not kept)
    std::map<std::string, nlohmann::json> inputs;  // method -> methodInputs() it was computed from

    // One line: "fashion-bag.png · fashion-cnn · Bag (8)".
    QString summary() const;
    // The map of `method`, or null.
    std::shared_ptr<const Explanation> map(const std::string& method) const;
};

// Everything a method's map depends on besides the image and the model: its
// settings, the class, the seed and, where the method uses them, the shared
// superpixels, baseline and precision. Two equal values give the same map.
nlohmann::json methodInputs(const RunPlan& plan, const PlannedMethod& method, int resolvedTarget);

// Why `now` would give another map than `then` (methodInputs of each): the
// names of what differs ("lime.num_samples", "target", "superpixels.count"),
// empty when they are equal.
QStringList inputChanges(const nlohmann::json& then, const nlohmann::json& now);

// The history on disk, kept between sessions: one folder per run under
// `dir` (run.json with the run's name, inputs, report and the image's path
// and SHA-256; each map's heatmap and superpixels as .npy). Written into a
// staging folder that replaces the old one only when complete. Throws
// mirada::Error naming what could not be written.
void saveHistory(const std::vector<std::shared_ptr<HistoryRun>>& runs, const QString& dir);
// Reads what saveHistory wrote. Runs whose image is gone or changed, or whose
// files are damaged, are skipped and named in `skipped` ("Run 3: the image
// /x/y.png has changed"). Metrics curves are not kept (their AUC lines are).
std::vector<HistoryRun> loadHistory(const QString& dir, QStringList* skipped);

class RunHistory : public QObject {
    Q_OBJECT
public:
    static constexpr int kMaxUnpinned = 24;

    explicit RunHistory(QObject* parent = nullptr);

    // Adds a finished run (id and name are given here); returns its id.
    int add(HistoryRun run);
    // Adds a run read back from disk, keeping its name (a new id).
    int restore(HistoryRun run);
    bool remove(int id);
    bool rename(int id, const QString& name);
    bool setPinned(int id, bool pinned);
    void clear();

    const std::vector<std::shared_ptr<HistoryRun>>& runs() const { return runs_; }
    std::shared_ptr<const HistoryRun> find(int id) const;
    int count() const { return static_cast<int>(runs_.size()); }

Q_SIGNALS:
    void changed();

private:
    void trim();

    std::vector<std::shared_ptr<HistoryRun>> runs_;  // oldest first
    int nextId_ = 1;
};

}  // namespace mirada::gui
