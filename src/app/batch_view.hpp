#pragma once
// The "Batch" tab: explain (and measure) every image of a folder with the
// form's plan. The work is the core's runBatch, on a thread of its own with
// its own copy of the model (the session's model stays free for its previews
// and predictions); progress and finished images come back as queued calls.
// The tab shows a sortable gallery (one row per image: its input, each
// method's overlay, prediction and AUCs), the aggregated table and the mean
// curves, opens any image as a run of the main grid, and exports the batch's
// folder as the CLI writes it.
#include <QFutureWatcher>
#include <QStringList>
#include <QThreadPool>
#include <QWidget>
#include <QtCharts/QChart>
#include <atomic>
#include <functional>
#include <map>
#include <memory>

#include "batch/batch.hpp"
#include "run_history.hpp"

class QCheckBox;
class QChartView;
class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSettings;
class QSpinBox;
class QTableWidget;
class QTabWidget;

namespace mirada::gui {

// What a batch takes from the main window when Run is pressed.
struct BatchRequest {
    RunPlan plan;  // the form's methods and settings; metrics as the Metrics switch says
    OverlayOptions overlay;
    QString modelSpec;  // the session's model: zoo name or file
    DeviceChoice device = DeviceChoice::Auto;
};

// One finished (or failed, or skipped) image as the gallery shows it.
struct BatchGalleryRow {
    BatchImageResult result;       // curves cleared
    int order = 0;                 // position in the folder scan's name order
    QImage input;                  // thumbnails, kThumbnail px at most
    std::vector<QImage> overlays;  // per method of the plan (null where there is none)
};

class BatchView : public QWidget {
    Q_OBJECT
public:
    static constexpr int kThumbnail = 64;

    explicit BatchView(QWidget* parent = nullptr);
    ~BatchView() override;  // cancels a running batch and waits for it

    // Called when Run is pressed; throws mirada::Error when the form cannot make a plan.
    void setRequestProvider(std::function<BatchRequest()> provider);
    // While the main window runs a single image (or loads a model) the batch
    // does not start: `why` says so beside the Run button.
    void setSessionBusy(bool busy, const QString& why);
    void setMetricsOn(bool on);

    void restoreSettings(QSettings& settings);
    void saveSettings(QSettings& settings) const;

    // Where a folder's results go unless the user picks another place:
    // <app data>/batches/<folder name>-<8 hex digits of its path's hash>.
    static QString defaultOutputFolder(const QString& folder);
    // Fills the folder (and, unless the user picked one, its default output folder).
    void setFolder(const QString& folder);

    bool running() const { return static_cast<bool>(watcher_); }
    // Runs the folder; false (and the message shown) when it cannot start.
    bool start();
    void cancel();
    // The gallery row `row` (as sorted on screen) as a finished run for the
    // main grid. Throws mirada::Error naming the file that is missing or damaged.
    HistoryRun imageRun(int row) const;
    // imageRun and emit runOpened, or the error shown in the tab.
    void openRow(int row);
    // Copies the whole output folder into `dir` (into a new sub-folder when
    // `dir` is not empty): all or nothing. False and the message shown on failure.
    bool exportTo(const QString& dir);

    QTableWidget* gallery() const { return gallery_; }
    QTableWidget* summaryTable() const { return summaryTable_; }
    QChart* curveChart(bool deletion) const;
    // The last finished (or cancelled) run's summary; null before the first.
    const BatchSummary* summary() const { return summary_.get(); }
    QString messageText() const;
    QString progressText() const;
    QString outputFolder() const;
    // The gallery column of a named value: "probability", "correct", "id", "<method>.deletion", ...
    int column(const QString& key) const;

Q_SIGNALS:
    void runningChanged(bool running);
    void finished();  // a run ended: done, cancelled, or it could not start (the message says why)
    void runOpened(const mirada::gui::HistoryRun& run);

private:
    struct Outcome;
    struct Shared;
    void buildControls();
    void buildResults();
    void updateButtons();
    void showMessage(const QString& text, bool error);
    void takeProgress();
    void addRow(const BatchGalleryRow& row);
    void finishRun();
    void showSummary(const BatchSummary& summary);
    void fillSummaryTable(const BatchSummary& summary);
    void fillCurves(const BatchSummary& summary);
    void setGalleryColumns(const std::vector<std::string>& methods, const std::vector<std::string>& titles,
                           bool metrics);
    void chooseExport();

    std::function<BatchRequest()> provider_;
    QLineEdit* folderEdit_ = nullptr;
    QPushButton* folderBrowse_ = nullptr;
    QLineEdit* outputEdit_ = nullptr;
    QPushButton* outputBrowse_ = nullptr;
    bool outputFollowsFolder_ = true;  // the output is the folder's default until the user picks one
    QLineEdit* patternsEdit_ = nullptr;
    QSpinBox* maxSpin_ = nullptr;
    QCheckBox* sampleCheck_ = nullptr;
    QSpinBox* seedSpin_ = nullptr;
    QComboBox* targetCombo_ = nullptr;
    QLabel* metricsLabel_ = nullptr;
    QPushButton* runButton_ = nullptr;
    QPushButton* cancelButton_ = nullptr;
    QPushButton* exportButton_ = nullptr;
    QPushButton* reportButton_ = nullptr;
    QLabel* busyLabel_ = nullptr;
    QProgressBar* progress_ = nullptr;
    QLabel* progressLabel_ = nullptr;
    QLabel* message_ = nullptr;
    QTableWidget* gallery_ = nullptr;
    QTabWidget* summaryTabs_ = nullptr;
    QLabel* summaryLabel_ = nullptr;
    QTableWidget* summaryTable_ = nullptr;
    QChartView* deletionView_ = nullptr;
    QChartView* insertionView_ = nullptr;

    bool sessionBusy_ = false;
    QStringList columns_;  // the gallery's column keys (see column())
    // The running (or last) batch: what the gallery's rows were made with.
    BatchRequest request_;
    ModelInfo model_;
    QString out_;
    std::vector<std::string> methods_;
    // By image id: what opening a row needs (the thumbnails live in the table only, so
    // thousands of rows hold one copy of each).
    std::map<std::string, BatchImageResult> rows_;
    QStringList notices_;  // the running batch's notices, in order
    std::unique_ptr<BatchSummary> summary_;
    std::shared_ptr<Shared> shared_;  // progress and cancel, shared with the worker
    QThreadPool pool_;                // one thread: the batch's model lives and runs there
    QFutureWatcher<Outcome>* watcher_ = nullptr;
};

}  // namespace mirada::gui
