#pragma once
// The main window: inputs and one settings form per method on the left, the
// results grid on the right, export in the File menu. It collects settings,
// hands them to the ExplanationSession and shows what comes back; it computes
// nothing itself.
#include <QMainWindow>
#include <QCheckBox>
#include <QLabel>
#include <QTimer>
#include <memory>
#include <vector>

#include "app_settings.hpp"
#include "explanation_session.hpp"
#include "param_form.hpp"
#include "report/run_export.hpp"
#include "run_history.hpp"

class QComboBox;
class QListWidget;
class QToolButton;

namespace Ui {
class MainWindow;
}

namespace mirada::gui {

class ResultsGrid;
class MetricsView;
class BatchView;
class ElidedLabel;

// What the results grid shows.
enum class GridMode {
    Run,               // every method of one run (the newest, or the one picked in the history)
    MethodAcrossRuns,  // one method, one tile per ticked run (other settings, images or models)
    Difference,        // one method: the two newest ticked runs and their difference
};

struct StartOptions {
    QString settingsFile;  // empty = AppSettings::defaultFile()
    QString model;         // zoo name or file; empty = last used, else fashion-cnn
    QString image;         // empty = last used, else a bundled sample
};

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(const StartOptions& options = {}, QWidget* parent = nullptr);
    ~MainWindow() override;

    ExplanationSession* session() const { return session_; }
    ResultsGrid* grid() const;
    MethodSection* section(const std::string& method) const;
    ParamForm* superpixelForm() const { return superpixelForm_; }
    ParamForm* perturbationForm() const { return perturbationForm_; }
    // The last previews, unscaled (the model's input size): everything removed, and one random coalition.
    const PerturbationPreview& perturbationPreview() const { return perturbationPreview_; }
    // The image the model sees (modelInputImage), unscaled; null without model or image.
    const QImage& modelInputImage() const { return modelInput_; }
    MethodSection* metricsSection() const { return metricsSection_; }
    ParamForm* agreementForm() const { return agreementForm_; }
    ParamForm* sanityForm() const { return sanityForm_; }
    QCheckBox* sanityCheck() const { return sanityCheck_; }
    class MetricsView* metricsView() const;
    BatchView* batchView() const { return batchView_; }
    // The settings the next run would use, as the form shows them. Throws
    // mirada::Error when they cannot make a run (no method on, unknown target).
    RunPlan buildRunPlan() const;
    OverlayOptions overlayOptions() const;
    QString lastError() const { return lastError_; }

    // ---- history of runs ----
    RunHistory* history() const { return history_; }
    QListWidget* historyList() const { return historyList_; }
    // The run the grid shows in GridMode::Run (0: the live run or the placeholders).
    int shownRunId() const { return shownRun_; }
    void showHistoryRun(int id);
    // Adds a run made elsewhere (an image of the Batch tab) to the history and shows it in the Maps tab.
    int openFinishedRun(const HistoryRun& run);
    // Runs ticked for comparison (history ids, oldest first).
    std::vector<int> tickedRuns() const;
    void setRunTicked(int id, bool ticked);
    void setGridMode(GridMode mode, const std::string& method = {});
    GridMode gridMode() const { return gridMode_; }
    std::string gridMethod() const;
    // Writes every run of the history into `dir`, one folder per run
    // ("01-Run 1"), each with the files Export all writes.
    bool exportAllRuns(const QString& dir);
    // The folder the next save dialog starts in (the last one exported to).
    QString exportFolder() const;
    void setSettingsPanelVisible(bool visible);
    bool settingsPanelVisible() const;
    QString lastNotice() const { return lastNotice_; }

public Q_SLOTS:
    void openImage(const QString& path);
    void selectModel(const QString& spec);
    void startRun();
    void cancelRun();
    // Writes the chosen files of the last run into `dir`; false (and the
    // error shown) when anything could not be written.
    bool exportTo(const QString& dir, const ExportOptions& options);
    bool saveTileOverlay(int index, const QString& file);
    void showError(const QString& message);
    void showNotice(const QString& message);

Q_SIGNALS:
    void runFinished();

protected:
    void closeEvent(QCloseEvent* event) override;
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    void buildMethodSections();
    void fillModelList();
    void fillSamples();
    void connectSignals();
    void restoreSettings(const StartOptions& options);
    void saveSettings();
    void rebuildRecentMenu();
    void addRecent(const QString& path);

    void showModel();
    void showImage();
    void showPrediction();
    void showMethod(int slot);
    void showMetricsState();
    void updateMetricsEstimate();
    void finishRun();
    void updateActions();
    void updateTitle();
    void applyOverlayOptions();
    void schedulePreview();
    void showPreview(const QImage& preview, int segments);
    void showPerturbationPreview(const PerturbationPreview& preview);
    void showModelInput();
    void showInputHints();
    void showTargetCaution();
    void showFillOverrides();
    void chooseImage();
    void chooseCustomModel();
    void chooseExport(const ExportOptions& options, const QString& what);
    int currentTarget(bool* valid) const;
    QString imageStem() const;
    void about();
    void buildHistoryBar();
    void rebuildHistoryList();
    void addRunToHistory();
    void selectHistoryItem(int id);  // without the click's effects
    // Redraws the grid for the mode, the shown run and the form (out-of-date marks, placeholders).
    void refreshGrid();
    void showRunTiles(const HistoryRun& run);
    void showPlaceholders();
    void showComparison();
    bool matchesCurrentInputs(const HistoryRun& run) const;
    // The run whose unchanged maps the next Run takes over (same image and model), or null.
    std::shared_ptr<const HistoryRun> baseRun() const;
    std::vector<std::shared_ptr<const HistoryRun>> comparedRuns(const std::string& method) const;
    RunRecord shownRecord() const;
    bool hasShownResults() const;
    void rememberExportFolder(const QString& dir);
    // After a successful export: the status bar, the notice and the folder for the next dialog.
    void exported(const QString& text, const QString& dir);
    // The AUC (and sanity) lines under each map of a run's metrics.
    void showMetricLines(const RunMetrics& metrics);
    void fillGridMethods();
    // Where the history is kept between sessions: beside the settings file.
    QString historyDir() const;

    std::unique_ptr<Ui::MainWindow> ui_;
    ExplanationSession* session_;
    std::unique_ptr<AppSettings> settings_;
    std::vector<MethodSection*> sections_;
    ParamForm* superpixelForm_ = nullptr;
    ParamForm* perturbationForm_ = nullptr;
    PerturbationPreview perturbationPreview_;
    QImage modelInput_;
    MethodSection* metricsSection_ = nullptr;
    ParamForm* agreementForm_ = nullptr;
    ParamForm* sanityForm_ = nullptr;
    QCheckBox* sanityCheck_ = nullptr;
    QLabel* metricsEstimate_ = nullptr;
    bool metricsTouched_ = false;  // the user switched metrics on/off: keep their choice
    QTimer previewTimer_;
    QStringList recent_;
    QStringList customModels_;
    nlohmann::json savedCamLayers_ = nlohmann::json::object();  // applied once the model's layers are known
    QString lastError_, lastNotice_;
    QString pendingModelSpec_;

    RunHistory* history_ = nullptr;
    int shownRun_ = 0;
    bool liveView_ = false;  // the grid follows the session's running (or just finished) run
    QString reuseBase_;      // the run the live run's kept maps come from
    GridMode gridMode_ = GridMode::Run;
    std::vector<int> ticked_;
    QListWidget* historyList_ = nullptr;
    QComboBox* gridModeCombo_ = nullptr;
    QComboBox* gridMethodCombo_ = nullptr;
    QToolButton* pinButton_ = nullptr;
    QToolButton* renameButton_ = nullptr;
    QToolButton* deleteButton_ = nullptr;
    QToolButton* exportRunsButton_ = nullptr;
    QTimer refreshTimer_;
    QString lastExportDir_;
    BatchView* batchView_ = nullptr;
    ElidedLabel* errorLine_ = nullptr;
    QToolButton* errorDetailsButton_ = nullptr;
    QAction* panelAction_ = nullptr;
};

}  // namespace mirada::gui
