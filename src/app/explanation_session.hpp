#pragma once
// The GUI's link to the core: holds the chosen model and image, and runs every
// piece of long work off the GUI thread. Model work (loading, prediction,
// explanations) goes through one single-thread pool, so it is serialised in
// the order asked and a model is never used by two threads at once. A run is a
// QtConcurrent task reporting each method's outcome through a QPromise, watched
// by a QFutureWatcher; progress comes back as queued calls. Nothing here
// computes: it calls the same core functions as mirada-cli.
#include <QFutureWatcher>
#include <QImage>
#include <QObject>
#include <QString>
#include <QThreadPool>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "explain/explainer.hpp"
#include "image/image_io.hpp"
#include "metrics/agreement.hpp"
#include "metrics/faithfulness.hpp"
#include "metrics/metrics_summary.hpp"
#include "metrics/sanity_check.hpp"
#include "models/input_check.hpp"
#include "models/model.hpp"
#include "models/predict.hpp"
#include "report/run_export.hpp"
#include "run/run_plan.hpp"

namespace mirada::gui {

// The plan of a run (methods, shared settings, metrics) is the core's: the GUI,
// `explain` and `evaluate` run it through the same runPlan().
using mirada::PlannedMethod;
using mirada::RunPlan;

// What a run's metrics step produced (methods in tile order, finished maps only).
struct RunMetrics {
    std::vector<std::string> methods;  // Explanation::method
    std::vector<QString> titles;       // "Grad-CAM", ...
    QString target_label;              // the target class's name ("Sneaker"), empty when unknown
    FaithfulnessReport faithfulness;
    AgreementMatrix agreement;
    bool has_sanity = false;
    SanityCheckResult sanity;
};

// What a removed part looks like, as the model sees it (input size, 8-bit).
struct PerturbationPreview {
    QImage baseline;            // everything removed
    QImage coalition;           // a random half of the superpixels removed
    std::string baseline_name;  // "black", "blur", ...
    std::string source;         // where it came from (resolveBaseline)
    int segments = 0;           // superpixels on the input grid
    int removed = 0;            // of them removed in `coalition`
    uint64_t seed = 0;
};

// NotRun: a placeholder for an enabled method before its first run on this image and model.
enum class MethodState { NotRun, Queued, Running, Done, Failed, Cancelled };
QString toText(MethodState state);

// One event of a run. slot -1 is the metrics step.
struct MethodOutcome {
    int slot = 0;
    MethodState state = MethodState::Queued;
    std::shared_ptr<const Explanation> explanation;  // Done only
    QString message;                                 // Failed: the reason
    std::shared_ptr<const RunMetrics> metrics;       // metrics step, Done only
    int batch_size = 0;                              // the batch size the run resolved (auto -> measured)
    std::string precision = "fp32";                  // the precision the run's image-batch steps resolved
    std::string precision_note;                      // why, when not simply as asked (RunResults)
};

struct MethodSlot {
    std::string method;
    QString title;
    MethodState state = MethodState::Queued;
    double progress = 0;
    QString message;  // progress text or failure reason
    std::shared_ptr<const Explanation> explanation;
    bool reused = false;     // taken unchanged from an earlier run, not recomputed
    QString reusedFrom;      // that run's name
    bool outOfDate = false;  // the form's settings would now give another map
    QString outOfDateWhy;    // what changed ("lime.num_samples, target")
};

class ExplanationSession : public QObject {
    Q_OBJECT
public:
    explicit ExplanationSession(QObject* parent = nullptr);
    ~ExplanationSession() override;  // cancels and waits for running work

    // ---- inputs (asynchronous; results arrive as signals) ----
    void loadModel(const QString& spec, DeviceChoice device);
    void loadImage(const QString& path);
    void requestSuperpixelPreview(const ParamSet& superpixels);
    // The baseline image and one random coalition (about half the superpixels
    // removed, drawn from `seed`) as the model sees them; off the GUI thread.
    void requestPerturbationPreview(const ParamSet& superpixels, const ParamSet& perturbation, uint64_t seed);

    bool hasModel() const { return static_cast<bool>(model_); }
    bool hasImage() const { return static_cast<bool>(image_); }
    bool busyLoading() const { return pendingModel_ > 0; }
    const ModelInfo& modelInfo() const { return info_; }
    const std::vector<LayerInfo>& layers() const { return layers_; }
    QString modelSpec() const { return modelSpec_; }
    QString deviceName() const { return deviceName_; }
    Model* model() const { return model_.get(); }
    const LoadedImage* image() const { return image_.get(); }
    QString imagePath() const { return imagePath_; }
    const std::vector<ClassScore>& prediction() const { return prediction_; }
    // Every class's probability on the current image (index = class), with the prediction.
    const std::vector<float>& probabilities() const { return probabilities_; }
    // Out-of-domain hints for the current image and model (checkInput), with the prediction.
    const InputCheck& inputCheck() const { return inputCheck_; }

    // ---- runs ----
    bool running() const { return runWatcher_ != nullptr; }
    // Starts the plan (ignored while running or without model and image).
    bool run(const RunPlan& plan);
    // Stops within one batch; methods not yet finished become Cancelled.
    void cancel();
    const std::vector<MethodSlot>& slots() const { return slots_; }
    // The metrics step of the last run (state Queued and no result when not asked for).
    const MethodSlot& metricsSlot() const { return metricsSlot_; }
    bool metricsPlanned() const { return metricsPlanned_; }
    std::shared_ptr<const RunMetrics> metrics() const { return metrics_; }
    const RunPlan& lastPlan() const { return plan_; }
    // The finished explanations of the last run in one record, for export.
    RunRecord record(const OverlayOptions& overlay) const;
    // The precision the last run's image batches used ("fp32"/"bf16") and why,
    // when that was not simply what was asked (auto's decision, no native bf16).
    QString runPrecision() const { return QString::fromStdString(resolvedPrecision_); }
    QString runPrecisionNote() const { return QString::fromStdString(precisionNote_); }
    bool hasResults() const;
    void clearResults();

    static bool cudaAvailable();

Q_SIGNALS:
    void modelLoading(const QString& spec);
    void modelReady();
    void modelFailed(const QString& message);
    void imageReady();
    void imageFailed(const QString& message);
    void predictionReady();
    void predictionFailed(const QString& message);
    void superpixelPreviewReady(const QImage& preview, int segments);
    void superpixelPreviewFailed(const QString& message);
    void perturbationPreviewReady(const mirada::gui::PerturbationPreview& preview);
    void perturbationPreviewFailed(const QString& message);
    void notice(const QString& message);
    void runStarted();
    void methodChanged(int slot);  // state, progress or result of one slot changed
    void metricsChanged();         // state, progress or result of the metrics step changed
    void runFinished();
    void resultsCleared();

private:
    void predict();
    void takeOutcome(int index);
    void takeProgress(int slot, double fraction, const QString& text);
    void finishRun();

    QThreadPool modelPool_;
    std::shared_ptr<Model> model_;
    ModelInfo info_;
    std::vector<LayerInfo> layers_;
    QString modelSpec_, deviceName_;
    int pendingModel_ = 0;
    uint64_t modelGeneration_ = 0, imageGeneration_ = 0, predictGeneration_ = 0, previewGeneration_ = 0,
             perturbationGeneration_ = 0;

    std::shared_ptr<const LoadedImage> image_;
    QString imagePath_;
    std::vector<ClassScore> prediction_;
    std::vector<float> probabilities_;
    InputCheck inputCheck_;
    bool inputCheckDone_ = false;  // inputCheck_ belongs to the current image and model

    RunPlan plan_;
    std::vector<MethodSlot> slots_;
    MethodSlot metricsSlot_;
    bool metricsPlanned_ = false;
    int resolvedBatch_ = 0;
    std::string resolvedPrecision_ = "fp32";
    std::string precisionNote_;
    std::shared_ptr<const RunMetrics> metrics_;
    std::shared_ptr<std::atomic<bool>> cancel_;
    QFutureWatcher<MethodOutcome>* runWatcher_ = nullptr;
    std::shared_ptr<const LoadedImage> runImage_;
    QString runImagePath_;
    ModelInfo runModelInfo_;
    QString runDevice_;
    const Model* runModel_ = nullptr;
};

}  // namespace mirada::gui
