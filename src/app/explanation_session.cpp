#include "explanation_session.hpp"

#include <QFileInfo>
#include <QPromise>
#include <QtConcurrent>
#include <exception>

#include "common/error.hpp"
#include "models/batch_size.hpp"
#include "models/failure_text.hpp"
#include "models/model_zoo.hpp"
#include "qt_image.hpp"
#include "explain/baseline_setting.hpp"
#include "segment/perturbation.hpp"
#include "segment/superpixels.hpp"

#include <algorithm>
#include <numeric>
#include <random>

#include <opencv2/imgproc.hpp>

namespace mirada::gui {

QString toText(MethodState state) {
    switch (state) {
        case MethodState::NotRun: return QObject::tr("Not run yet");
        case MethodState::Queued: return QObject::tr("Queued");
        case MethodState::Running: return QObject::tr("Running");
        case MethodState::Done: return QObject::tr("Done");
        case MethodState::Failed: return QObject::tr("Failed");
        case MethodState::Cancelled: return QObject::tr("Cancelled");
    }
    return {};
}

namespace {

// A value or the message of the exception that prevented it.
template <class T>
struct Attempt {
    T value{};
    QString error;
};

// Runs `work` on `pool`, then `done(Attempt<T>)` on the GUI thread. Exceptions
// become Attempt::error, so no exception ever crosses into Qt.
template <class T, class Work, class Done>
void runAsync(QObject* owner, QThreadPool* pool, Work work, Done done) {
    auto* watcher = new QFutureWatcher<Attempt<T>>(owner);
    QObject::connect(watcher, &QFutureWatcherBase::finished, owner, [watcher, done]() {
        done(watcher->result());
        watcher->deleteLater();
    });
    watcher->setFuture(QtConcurrent::run(pool, [work]() {
        Attempt<T> a;
        try {
            a.value = work();
        } catch (const std::exception& e) {
            a.error = qs(userMessage(e));
        } catch (...) {
            a.error = QObject::tr("unknown error");
        }
        return a;
    }));
}

struct LoadedModelResult {
    std::shared_ptr<Model> model;
    std::vector<LayerInfo> layers;
    std::vector<std::string> notices;
};

}  // namespace

ExplanationSession::ExplanationSession(QObject* parent) : QObject(parent) {
    modelPool_.setMaxThreadCount(1);
    modelPool_.setExpiryTimeout(-1);  // keep the model thread (LibTorch keeps per-thread state)
}

ExplanationSession::~ExplanationSession() {
    if (cancel_) cancel_->store(true);
    modelPool_.waitForDone();
    QThreadPool::globalInstance()->waitForDone();
}

bool ExplanationSession::cudaAvailable() { return torch::cuda::is_available(); }

void ExplanationSession::loadModel(const QString& spec, DeviceChoice device) {
    if (running()) cancel();
    const uint64_t generation = ++modelGeneration_;
    ++pendingModel_;
    Q_EMIT modelLoading(spec);
    const std::string s = ss(spec);
    runAsync<LoadedModelResult>(
        this, &modelPool_,
        [s, device]() {
            ModelLoadOptions options;
            options.device = device;
            auto loaded = mirada::loadModel(s, options);
            LoadedModelResult r;
            r.model = std::shared_ptr<Model>(std::move(loaded.model));
            r.layers = r.model->layers();
            r.notices = loaded.notices;
            return r;
        },
        [this, spec, generation](const Attempt<LoadedModelResult>& a) {
            --pendingModel_;
            if (generation != modelGeneration_) return;  // another model was chosen meanwhile
            if (!a.error.isEmpty()) {
                Q_EMIT modelFailed(a.error);
                return;
            }
            clearResults();
            model_ = a.value.model;
            info_ = model_->info();
            layers_ = a.value.layers;
            modelSpec_ = spec;
            deviceName_ = qs(model_->device().str());
            prediction_.clear();
            probabilities_.clear();
            inputCheck_ = {};
            inputCheckDone_ = false;
            for (const auto& n : a.value.notices) Q_EMIT notice(qs(n));
            Q_EMIT modelReady();
            predict();
        });
}

void ExplanationSession::loadImage(const QString& path) {
    const uint64_t generation = ++imageGeneration_;
    const std::string p = ss(path);
    runAsync<std::shared_ptr<const LoadedImage>>(
        this, QThreadPool::globalInstance(),
        [p]() { return std::make_shared<const LoadedImage>(mirada::loadImage(p)); },
        [this, path, generation](const Attempt<std::shared_ptr<const LoadedImage>>& a) {
            if (generation != imageGeneration_) return;
            if (!a.error.isEmpty()) {
                Q_EMIT imageFailed(a.error);  // the current image stays
                return;
            }
            if (running()) cancel();
            clearResults();
            image_ = a.value;
            imagePath_ = QFileInfo(path).absoluteFilePath();
            prediction_.clear();
            probabilities_.clear();
            inputCheck_ = {};
            inputCheckDone_ = false;
            Q_EMIT imageReady();
            predict();
        });
}

void ExplanationSession::predict() {
    if (!model_ || !image_) return;
    const uint64_t generation = ++predictGeneration_;
    auto model = model_;
    auto image = image_;
    struct Prediction {
        std::vector<ClassScore> top;
        std::vector<float> probabilities;
        InputCheck check;
        QString checkError;
    };
    runAsync<Prediction>(
        this, &modelPool_,
        [model, image]() {
            Prediction p;
            const int classes = static_cast<int>(model->info().labels.size());
            const auto all = predictTopK(*model, image->rgb, classes);
            p.probabilities.assign(classes, 0.0f);
            for (const auto& c : all)
                if (c.index >= 0 && c.index < classes) p.probabilities[c.index] = c.probability;
            p.top.assign(all.begin(), all.begin() + std::min<size_t>(5, all.size()));
            try {
                p.check = checkInput(*model, image->rgb);
            } catch (const std::exception& e) {
                p.checkError = qs(e.what());  // the prediction stands; the hints are only missing
            }
            return p;
        },
        [this, generation](const Attempt<Prediction>& a) {
            if (generation != predictGeneration_) return;
            if (!a.error.isEmpty()) {
                Q_EMIT predictionFailed(a.error);
                return;
            }
            prediction_ = a.value.top;
            probabilities_ = a.value.probabilities;
            inputCheck_ = a.value.check;
            inputCheckDone_ = a.value.checkError.isEmpty();
            if (!a.value.checkError.isEmpty()) Q_EMIT notice(tr("The input check failed: %1").arg(a.value.checkError));
            Q_EMIT predictionReady();
        });
}

void ExplanationSession::requestSuperpixelPreview(const ParamSet& superpixels) {
    if (!model_ || !image_) return;
    const uint64_t generation = ++previewGeneration_;
    const InputSpec spec = info_.input;
    auto image = image_;
    struct Preview {
        QImage image;
        int segments = 0;
    };
    runAsync<Preview>(
        this, QThreadPool::globalInstance(),
        [spec, image, superpixels]() {
            cv::Mat labels = superpixelsForImage(image->rgb, spec, superpixelSettingsFrom(superpixels));
            Preview p;
            p.segments = countSegments(labels);
            // Small images are enlarged first (nearest) so one-pixel borders do not hide them.
            cv::Mat rgb = image->rgb;
            const int shorter = std::min(rgb.rows, rgb.cols);
            const int factor = std::clamp(256 / std::max(shorter, 1), 1, 16);
            if (factor > 1) {
                cv::resize(rgb, rgb, {}, factor, factor, cv::INTER_NEAREST);
                cv::resize(labels, labels, {}, factor, factor, cv::INTER_NEAREST);
            }
            p.image = toQImage(drawSegmentBoundaries(rgb, labels));
            return p;
        },
        [this, generation](const Attempt<Preview>& a) {
            if (generation != previewGeneration_) return;
            if (!a.error.isEmpty())
                Q_EMIT superpixelPreviewFailed(a.error);
            else
                Q_EMIT superpixelPreviewReady(a.value.image, a.value.segments);
        });
}

void ExplanationSession::requestPerturbationPreview(const ParamSet& superpixels, const ParamSet& perturbation,
                                                    uint64_t seed) {
    if (!model_ || !image_) return;
    const uint64_t generation = ++perturbationGeneration_;
    const ModelInfo info = info_;
    auto image = image_;
    runAsync<PerturbationPreview>(
        this, QThreadPool::globalInstance(),
        [info, image, superpixels, perturbation, seed]() {
            // Exactly what LIME and KernelSHAP build (surrogate_engine.cpp): the
            // model-sized input, superpixels on it, the shared baseline.
            const InputSpec& spec = info.input;
            const cv::Mat input8 = resizeForModel(image->rgb, spec);
            const cv::Mat labels = computeSuperpixels(input8, superpixelSettingsFrom(superpixels));
            const ResolvedBaseline baseline = resolveBaseline(info, perturbation, "shared", "");
            PerturbationPreview p;
            p.segments = countSegments(labels);
            p.baseline_name = toString(baseline.baseline);
            p.source = baseline.source;
            p.seed = seed;
            p.baseline = toQImage(baselineImage8(input8, labels, baseline.baseline, spec));
            // One coalition: a random half of the superpixels removed, drawn from the seed.
            std::vector<int> order(static_cast<size_t>(p.segments));
            std::iota(order.begin(), order.end(), 0);
            std::mt19937_64 rng(seed);
            std::shuffle(order.begin(), order.end(), rng);
            std::vector<bool> keep(static_cast<size_t>(p.segments), true);
            p.removed = p.segments / 2;
            for (int i = 0; i < p.removed; ++i) keep[static_cast<size_t>(order[i])] = false;
            p.coalition = toQImage(renderCoalition8(input8, labels, keep, baseline.baseline, spec));
            return p;
        },
        [this, generation](const Attempt<PerturbationPreview>& a) {
            if (generation != perturbationGeneration_) return;
            if (!a.error.isEmpty())
                Q_EMIT perturbationPreviewFailed(a.error);
            else
                Q_EMIT perturbationPreviewReady(a.value);
        });
}

bool ExplanationSession::run(const RunPlan& plan) {
    if (running() || !model_ || !image_ || plan.methods.empty()) return false;
    plan_ = plan;
    slots_.clear();
    for (const auto& m : plan.methods) {
        MethodSlot slot;
        slot.method = m.method;
        slot.title = qs(makeExplainer(m.method)->title());
        slots_.push_back(slot);
    }
    metricsSlot_ = MethodSlot{};
    metricsSlot_.method = "metrics";
    metricsSlot_.title = tr("Metrics");
    metricsPlanned_ = plan.metrics;
    resolvedBatch_ = 0;
    resolvedPrecision_ = "fp32";
    precisionNote_.clear();
    metrics_.reset();
    cancel_ = std::make_shared<std::atomic<bool>>(false);
    runImage_ = image_;
    runImagePath_ = imagePath_;
    runModelInfo_ = info_;
    runDevice_ = deviceName_;
    runModel_ = model_.get();

    runWatcher_ = new QFutureWatcher<MethodOutcome>(this);
    connect(runWatcher_, &QFutureWatcherBase::resultReadyAt, this, &ExplanationSession::takeOutcome);
    connect(runWatcher_, &QFutureWatcherBase::finished, this, &ExplanationSession::finishRun);
    auto model = model_;
    auto image = image_;
    auto flag = cancel_;
    runWatcher_->setFuture(
        QtConcurrent::run(&modelPool_, [this, plan, model, image, flag](QPromise<MethodOutcome>& promise) {
            // Every step of the core's run becomes an outcome; the faithfulness and
            // sanity steps together are the one metrics slot (-1) of the GUI.
            RunObserver observer;
            observer.progress = [this](int step, double fraction, const std::string& message) {
                const int slot = step < 0 ? -1 : step;
                const QString text = qs(message);
                QMetaObject::invokeMethod(
                    this, [this, slot, fraction, text]() { takeProgress(slot, fraction, text); }, Qt::QueuedConnection);
            };
            observer.step = [&promise, &plan](const StepEvent& e) {
                MethodOutcome outcome;
                outcome.slot = e.step < 0 ? -1 : e.step;
                outcome.batch_size = e.results->batch_size;
                outcome.precision = toString(e.results->precision);
                outcome.precision_note = e.results->precision_note;
                outcome.message = qs(e.message);
                switch (e.state) {
                    case StepState::Running:
                        if (e.step == kSanityStep) return;  // the metrics slot is already running
                        outcome.state = MethodState::Running;
                        break;
                    case StepState::Done:
                        if (e.step == kFaithfulnessStep && plan.sanity) return;  // the sanity check follows
                        outcome.state = MethodState::Done;
                        break;
                    case StepState::Failed: outcome.state = MethodState::Failed; break;
                    case StepState::Cancelled: outcome.state = MethodState::Cancelled; break;
                }
                if (e.step >= 0 && e.explanation)
                    outcome.explanation = std::make_shared<const Explanation>(*e.explanation);
                if (e.step < 0 && e.state == StepState::Done) {
                    const RunResults& r = *e.results;
                    RunMetrics metrics;
                    for (const auto& ex : r.explanations) {
                        metrics.methods.push_back(ex.method);
                        metrics.titles.push_back(qs(ex.method_title));
                        if (metrics.target_label.isEmpty()) metrics.target_label = qs(ex.target_label);
                    }
                    metrics.faithfulness = r.faithfulness;
                    metrics.agreement = r.agreement;
                    metrics.has_sanity = r.has_sanity;
                    metrics.sanity = r.sanity;
                    outcome.metrics = std::make_shared<const RunMetrics>(std::move(metrics));
                }
                promise.addResult(outcome);
            };
            try {
                runPlan(*model, image->rgb, plan, observer, flag.get(), OnFailure::Continue);
            } catch (const std::exception& e) {  // a plan the core refuses as a whole (no method)
                MethodOutcome outcome;
                outcome.slot = 0;
                outcome.state = MethodState::Failed;
                outcome.message = qs(userMessage(e));
                promise.addResult(outcome);
            }
        }));
    Q_EMIT runStarted();
    for (int i = 0; i < static_cast<int>(slots_.size()); ++i) Q_EMIT methodChanged(i);
    Q_EMIT metricsChanged();
    return true;
}

void ExplanationSession::takeProgress(int slot, double fraction, const QString& text) {
    MethodSlot* s = slot < 0 ? &metricsSlot_ : (slot < static_cast<int>(slots_.size()) ? &slots_[slot] : nullptr);
    if (!s || s->state != MethodState::Running) return;  // late news of a finished step
    s->progress = fraction;
    s->message = text;
    if (slot < 0)
        Q_EMIT metricsChanged();
    else
        Q_EMIT methodChanged(slot);
}

void ExplanationSession::takeOutcome(int index) {
    if (!runWatcher_) return;
    const MethodOutcome o = runWatcher_->resultAt(index);
    if (o.slot >= static_cast<int>(slots_.size())) return;
    MethodSlot& slot = o.slot < 0 ? metricsSlot_ : slots_[o.slot];
    slot.state = o.state;
    if (o.batch_size > 0) resolvedBatch_ = o.batch_size;
    if (o.precision == "bf16" || !o.precision_note.empty()) {
        resolvedPrecision_ = o.precision;
        precisionNote_ = o.precision_note;
    }
    if (o.state == MethodState::Running) {
        slot.progress = 0;
        slot.message.clear();
    } else {
        slot.progress = o.state == MethodState::Done ? 1.0 : slot.progress;
        slot.message = o.message;
        slot.explanation = o.explanation;
        // A map the plan handed in (unchanged since an earlier run) stays the very same object.
        if (o.slot >= 0 && o.state == MethodState::Done && plan_.methods[o.slot].reuse) {
            slot.explanation = plan_.methods[o.slot].reuse;
            slot.reused = true;
        }
        if (o.slot < 0) metrics_ = o.metrics;
    }
    if (o.slot < 0)
        Q_EMIT metricsChanged();
    else
        Q_EMIT methodChanged(o.slot);
}

void ExplanationSession::finishRun() {
    if (!runWatcher_) return;
    runWatcher_->deleteLater();
    runWatcher_ = nullptr;
    for (int i = 0; i < static_cast<int>(slots_.size()); ++i) {
        if (slots_[i].state == MethodState::Queued || slots_[i].state == MethodState::Running) {
            slots_[i].state = MethodState::Cancelled;
            Q_EMIT methodChanged(i);
        }
    }
    if (metricsPlanned_ && (metricsSlot_.state == MethodState::Queued || metricsSlot_.state == MethodState::Running)) {
        metricsSlot_.state = MethodState::Cancelled;
        Q_EMIT metricsChanged();
    }
    if (runImage_ != image_ || runModel_ != model_.get()) {
        slots_.clear();
        metrics_.reset();
        metricsPlanned_ = false;  // the image or model changed during the run: its results no longer apply
        Q_EMIT resultsCleared();
    }
    Q_EMIT runFinished();
}

void ExplanationSession::cancel() {
    if (cancel_) cancel_->store(true);
}

bool ExplanationSession::hasResults() const {
    for (const auto& s : slots_)
        if (s.explanation) return true;
    return false;
}

void ExplanationSession::clearResults() {
    if (running()) return;
    slots_.clear();
    metrics_.reset();
    metricsPlanned_ = false;
    Q_EMIT resultsCleared();
}

RunRecord ExplanationSession::record(const OverlayOptions& overlay) const {
    RunRecord run;
    run.model = runModelInfo_;
    run.device = ss(runDevice_);
    if (runImage_) {
        run.image = runImage_->rgb;
        run.image_sha256 = runImage_->sha256;
    }
    run.image_file = ss(runImagePath_);
    run.target_request = plan_.target_request;
    run.seed = plan_.seed;
    run.batch_size = resolvedBatch_ > 0 ? resolvedBatch_ : plan_.batch_size;  // the batch size actually used
    run.precision_asked = toString(plan_.precision);
    run.precision = resolvedPrecision_;
    run.precision_note = precisionNote_;
    run.overlay = overlay;
    // The input check of the current image and model; results exist only while
    // they are the run's (a new image or model clears them).
    if (inputCheckDone_ && runImage_ == image_ && runModel_ == model_.get()) {
        run.input_check = inputCheck_;
        run.has_input_check = true;
    }
    for (const auto& s : slots_)
        if (s.explanation) run.explanations.push_back(*s.explanation);
    if (metrics_) {
        run.extra["metrics"] = {{"faithfulness", toJson(metrics_->faithfulness)},
                                {"agreement", toJson(metrics_->agreement)}};
        auto lines = faithfulnessSheetLines(metrics_->faithfulness);
        if (metrics_->has_sanity) {
            run.extra["metrics"]["sanity"] = toJson(metrics_->sanity);
            for (size_t i = 0; i < lines.size() && i < metrics_->sanity.methods.size(); ++i)
                lines[i].push_back(sanitySheetLine(metrics_->sanity.methods[i]));
        }
        run.extra["sheet_lines"] = lines;
    }
    return run;
}

}  // namespace mirada::gui
