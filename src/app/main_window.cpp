#include "main_window.hpp"
#include "wheel_guard.hpp"

#include <QApplication>
#include <QCloseEvent>
#include <QCompleter>
#include <QDir>
#include <QDragEnterEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QMessageBox>
#include <QMimeData>
#include <QStandardItemModel>
#include <QStatusBar>
#include <filesystem>

#include "common/error.hpp"
#include "common/file_checks.hpp"
#include "explain/baseline_setting.hpp"
#include "explain/methods.hpp"
#include "image/image_io.hpp"
#include "image/overlay.hpp"
#include "metrics/agreement.hpp"
#include "metrics/faithfulness.hpp"
#include "metrics/metrics_summary.hpp"
#include "metrics/sanity_check.hpp"
#include "models/input_check.hpp"
#include "models/model_zoo.hpp"
#include "qt_image.hpp"
#include "metrics_view.hpp"
#include "results_grid.hpp"
#include "ui_main_window.h"

namespace mirada::gui {

namespace {

constexpr int kMaxRecent = 8;
const char* kDefaultModel = "fashion-cnn";
const char* kDefaultSample = "fashion-sneaker.png";

// A method whose settings name a layer of the model (the CAM family): its
// form's layer list is filled once the model's layers are known.
bool hasLayerSetting(const std::string& m) { return makeExplainer(m)->defaultParams().has("layer"); }

// Bundled sample images: installed share/mirada/samples, else the source tree's.
QString samplesDir() {
    const QString installed =
        QDir(QCoreApplication::applicationDirPath()).filePath(QStringLiteral("../share/mirada/samples"));
    if (QFileInfo(installed).isDir()) return QDir(installed).canonicalPath();
    return QStringLiteral(MIRADA_SOURCE_DIR "/resources/samples");
}

bool looksLikeModel(const QString& path) {
    const QString s = QFileInfo(path).suffix().toLower();
    return s == QLatin1String("pt") || s == QLatin1String("pth") || s == QLatin1String("json") ||
           s == QLatin1String("torchscript");
}

// An image of the model's input size for a preview: enlarged by a whole factor
// without smoothing (each input pixel stays a sharp square) when it is small,
// shrunk smoothly when it is larger than `box`.
QPixmap inputPixmap(const QImage& image, int box) {
    if (image.isNull()) return {};
    const int side = std::max(image.width(), image.height());
    if (side <= box) {
        const int factor = std::max(1, box / side);
        return QPixmap::fromImage(image.scaled(image.width() * factor, image.height() * factor, Qt::IgnoreAspectRatio,
                                               Qt::FastTransformation));
    }
    return QPixmap::fromImage(image.scaled(box, box, Qt::KeepAspectRatio, Qt::SmoothTransformation));
}

// Every pixel has R = G = B (RGB CV_8UC3).
bool isGreyImage(const cv::Mat& rgb) {
    for (int y = 0; y < rgb.rows; ++y) {
        const auto* p = rgb.ptr<cv::Vec3b>(y);
        for (int x = 0; x < rgb.cols; ++x)
            if (p[x][0] != p[x][1] || p[x][1] != p[x][2]) return false;
    }
    return true;
}

QString colourText(int channels) { return channels == 1 ? QObject::tr("grey") : QObject::tr("colour"); }

QString shapeText(const std::vector<int64_t>& shape) {
    QStringList parts;
    for (size_t i = 1; i < shape.size(); ++i) parts << QString::number(shape[i]);
    return parts.join(QStringLiteral("×"));
}

}  // namespace

MainWindow::MainWindow(const StartOptions& options, QWidget* parent)
    : QMainWindow(parent), ui_(std::make_unique<Ui::MainWindow>()), session_(new ExplanationSession(this)) {
    ui_->setupUi(this);
    setWindowIcon(QIcon(QStringLiteral(":/mirada/icons/mirada.svg")));
    ui_->errorBanner->hide();
    ui_->splitter->setStretchFactor(0, 0);
    ui_->splitter->setStretchFactor(1, 1);
    ui_->splitter->setSizes({400, 1040});
    for (const auto& c : colormapNames()) ui_->colormapCombo->addItem(qs(c));
    ui_->precisionCombo->addItem(tr("fp32 (same numbers everywhere)"), QStringLiteral("fp32"));
    ui_->precisionCombo->addItem(tr("bf16 (faster)"), QStringLiteral("bf16"));
    ui_->precisionCombo->addItem(tr("auto (bf16 when it agrees)"), QStringLiteral("auto"));
    if (!cpuHasNativeBf16()) {
        // Emulated bfloat16 is slower than float32: not offered on such a CPU.
        for (int i = 1; i <= 2; ++i) {
            if (auto* model = qobject_cast<QStandardItemModel*>(ui_->precisionCombo->model()))
                if (auto* item = model->item(i)) {
                    item->setEnabled(false);
                    item->setToolTip(tr("This CPU has no native bfloat16 (AVX512-BF16 or AMX-BF16)"));
                }
        }
    }
    ui_->scaleCombo->addItem(tr("per map"), QStringLiteral("per-map"));
    ui_->scaleCombo->addItem(tr("shared by kind"), QStringLiteral("shared"));
    ui_->deviceCombo->addItem(tr("Auto"), QStringLiteral("auto"));
    ui_->deviceCombo->addItem(tr("CPU"), QStringLiteral("cpu"));
    ui_->deviceCombo->addItem(tr("CUDA"), QStringLiteral("cuda"));
    if (!ExplanationSession::cudaAvailable()) {
        auto* item = qobject_cast<QStandardItemModel*>(ui_->deviceCombo->model())->item(2);
        item->setEnabled(false);
        item->setText(tr("CUDA (not available)"));
        item->setToolTip(
            tr("LibTorch sees no CUDA device: this build of LibTorch is CPU-only or no NVIDIA GPU/driver "
               "is present. Build Mirada against a CUDA LibTorch to use a GPU."));
    }
    ui_->targetCombo->completer()->setFilterMode(Qt::MatchContains);
    ui_->targetCombo->completer()->setCaseSensitivity(Qt::CaseInsensitive);
    ui_->targetCombo->completer()->setCompletionMode(QCompleter::PopupCompletion);
    ui_->predictionList->header()->setStretchLastSection(false);
    ui_->predictionList->header()->setSectionResizeMode(0, QHeaderView::Stretch);
    ui_->predictionList->header()->setSectionResizeMode(1, QHeaderView::ResizeToContents);
    ui_->predictionList->header()->setSectionResizeMode(2, QHeaderView::ResizeToContents);

    buildMethodSections();
    fillModelList();
    fillSamples();
    previewTimer_.setSingleShot(true);
    previewTimer_.setInterval(250);
    // The previews are framed at their own size, so a black or white baseline still reads as an image.
    for (QLabel* l : {ui_->baselinePreview, ui_->coalitionPreview}) {
        l->setStyleSheet(QStringLiteral("QLabel { border: 1px solid #8c8c8c; }"));
        l->setSizePolicy(QSizePolicy::Fixed, QSizePolicy::Fixed);
        ui_->perturbationPreviewGrid->setAlignment(l, Qt::AlignHCenter | Qt::AlignBottom);
    }
    connectSignals();
    restoreSettings(options);
    updateActions();
    updateTitle();
}

MainWindow::~MainWindow() = default;

ResultsGrid* MainWindow::grid() const { return ui_->resultsGrid; }
MetricsView* MainWindow::metricsView() const { return ui_->metricsView; }

MethodSection* MainWindow::section(const std::string& method) const {
    for (auto* s : sections_)
        if (s->method() == method) return s;
    return nullptr;
}

void MainWindow::buildMethodSections() {
    for (const auto& entry : methodRegistry()) {
        const auto explainer = entry.make();
        auto* s = new MethodSection(entry.name, qs(explainer->title()), explainer->defaultParams(), ui_->methodsHost);
        s->setToolTip(qs(entry.summary));
        s->setChecked(entry.default_on);  // the default run; the others are one click away
        ui_->methodsLayout->addWidget(s);
        sections_.push_back(s);
    }
    superpixelForm_ = new ParamForm(superpixelParams(), ui_->superpixelBox);
    ui_->superpixelLayout->insertWidget(0, superpixelForm_);
    auto* reset = new QPushButton(tr("Reset to defaults"), ui_->superpixelBox);
    reset->setObjectName(QStringLiteral("reset.superpixels"));
    connect(reset, &QPushButton::clicked, superpixelForm_, &ParamForm::resetToDefaults);
    auto* row = new QHBoxLayout;
    row->addStretch();
    row->addWidget(reset);
    ui_->superpixelLayout->insertLayout(1, row);

    // Baseline: the shared "perturbation" table, the model's own, and what the model sees.
    perturbationForm_ = new ParamForm(perturbationParams(), ui_->perturbationBox);
    ui_->perturbationLayout->insertWidget(0, perturbationForm_);
    auto* resetBaseline = new QPushButton(tr("Reset to defaults"), ui_->perturbationBox);
    resetBaseline->setObjectName(QStringLiteral("reset.perturbation"));
    resetBaseline->setToolTip(tr("Back to the model's own baseline and the default guard"));
    connect(resetBaseline, &QPushButton::clicked, perturbationForm_, &ParamForm::resetToDefaults);
    auto* baselineRow = new QHBoxLayout;
    baselineRow->addStretch();
    baselineRow->addWidget(resetBaseline);
    ui_->perturbationLayout->addLayout(baselineRow);

    // Metrics: one switch, the faithfulness table and the agreement table.
    metricsSection_ =
        new MethodSection("faithfulness", tr("Metrics (after the maps)"), faithfulnessParams(), ui_->formWidget);
    metricsSection_->setObjectName(QStringLiteral("section.metrics"));
    metricsSection_->setChecked(false);
    metricsSection_->setToolTip(
        tr("Deletion/insertion curves and their AUC against a random ranking, and the agreement "
           "between methods, computed for the maps of each run and shown in the Metrics tab"));
    auto* sectionLayout = qobject_cast<QVBoxLayout*>(metricsSection_->layout());
    agreementForm_ = new ParamForm(agreementParams(), metricsSection_);
    sectionLayout->insertWidget(1, agreementForm_);
    sanityCheck_ = new QCheckBox(tr("Sanity check (randomise layers)"), metricsSection_);
    sanityCheck_->setObjectName(QStringLiteral("sanityCheck"));
    sanityCheck_->setToolTip(
        tr("Adebayo et al. 2018, cascading randomisation: a map that hardly changes when the weights "
           "are destroyed does not reflect the model. Costs one recomputation of every map per layer."));
    sectionLayout->insertWidget(2, sanityCheck_);
    sanityForm_ = new ParamForm(sanityParams(), metricsSection_);
    sanityForm_->setEnabled(false);
    sectionLayout->insertWidget(3, sanityForm_);
    connect(sanityCheck_, &QCheckBox::toggled, sanityForm_, &QWidget::setEnabled);
    connect(metricsSection_->resetButton(), &QPushButton::clicked, sanityForm_, &ParamForm::resetToDefaults);
    metricsEstimate_ = new QLabel(metricsSection_);
    metricsEstimate_->setObjectName(QStringLiteral("metricsEstimate"));
    metricsEstimate_->setWordWrap(true);
    sectionLayout->insertWidget(4, metricsEstimate_);
    connect(metricsSection_->resetButton(), &QPushButton::clicked, agreementForm_, &ParamForm::resetToDefaults);
    ui_->formLayout->insertWidget(ui_->formLayout->indexOf(ui_->perturbationBox) + 1, metricsSection_);
}

void MainWindow::fillModelList() {
    const QSignalBlocker block(ui_->modelCombo);
    ui_->modelCombo->clear();
    auto* model = qobject_cast<QStandardItemModel*>(ui_->modelCombo->model());
    QStringList missing;
    for (const auto& entry : modelZoo()) {
        const auto where = locateZooModel(entry.name);
        // torchvision's other architectures appear when their weights are in the hub cache.
        if (!where.found && !entry.listed_when_missing) continue;
        ui_->modelCombo->addItem(qs(entry.name), qs(entry.name));
        auto* item = model->item(ui_->modelCombo->count() - 1);
        item->setToolTip(qs(entry.description));
        if (!where.found) {
            item->setEnabled(false);
            item->setText(tr("%1 (weights missing)").arg(qs(entry.name)));
            item->setToolTip(qs(where.message));
            QStringList dirs;
            for (const auto& d : modelSearchDirs()) dirs << QDir::toNativeSeparators(qs(d.string()));
            missing << tr("<b>%1</b> needs <tt>%2</tt> from %3 in one of: %4")
                           .arg(qs(entry.name),
                                qs(entry.weight_files.empty() ? std::string() : entry.weight_files.front()),
                                qs(entry.download_url), dirs.join(QStringLiteral(", ")));
        }
    }
    for (const auto& path : customModels_)
        ui_->modelCombo->addItem(tr("%1 (custom)").arg(QFileInfo(path).fileName()), path);
    ui_->missingModelsLabel->setText(missing.join(QStringLiteral("<br>")));
    ui_->missingModelsLabel->setVisible(!missing.isEmpty());
}

void MainWindow::fillSamples() {
    const QSignalBlocker block(ui_->sampleCombo);
    ui_->sampleCombo->clear();
    ui_->sampleCombo->addItem(tr("Samples…"));
    ui_->menuSamples->clear();
    const QDir dir(samplesDir());
    for (const auto& f : dir.entryInfoList({"*.png", "*.jpg", "*.jpeg"}, QDir::Files, QDir::Name)) {
        ui_->sampleCombo->addItem(f.fileName(), f.absoluteFilePath());
        const QString path = f.absoluteFilePath();
        ui_->menuSamples->addAction(f.fileName(), this, [this, path]() { openImage(path); });
    }
}

void MainWindow::connectSignals() {
    auto* s = session_;
    connect(ui_->actionOpenImage, &QAction::triggered, this, &MainWindow::chooseImage);
    connect(ui_->openImageButton, &QPushButton::clicked, this, &MainWindow::chooseImage);
    connect(ui_->actionOpenModel, &QAction::triggered, this, &MainWindow::chooseCustomModel);
    connect(ui_->customModelButton, &QToolButton::clicked, this, &MainWindow::chooseCustomModel);
    connect(ui_->sampleCombo, &QComboBox::activated, this, [this](int i) {
        if (i > 0) openImage(ui_->sampleCombo->itemData(i).toString());
        ui_->sampleCombo->setCurrentIndex(0);
    });
    connect(ui_->modelCombo, &QComboBox::activated, this,
            [this](int i) { selectModel(ui_->modelCombo->itemData(i).toString()); });
    connect(ui_->deviceCombo, &QComboBox::activated, this, [this](int) {
        if (!session_->modelSpec().isEmpty()) selectModel(session_->modelSpec());
    });
    connect(ui_->actionRun, &QAction::triggered, this, &MainWindow::startRun);
    connect(ui_->runButton, &QPushButton::clicked, this, &MainWindow::startRun);
    connect(ui_->actionCancel, &QAction::triggered, this, &MainWindow::cancelRun);
    connect(ui_->cancelButton, &QPushButton::clicked, this, &MainWindow::cancelRun);
    connect(ui_->actionExportAll, &QAction::triggered, this, [this]() { chooseExport({}, tr("all files")); });
    connect(ui_->exportButton, &QPushButton::clicked, ui_->actionExportAll, &QAction::trigger);
    connect(ui_->actionExportSheet, &QAction::triggered, this, [this]() {
        ExportOptions o;
        o.overlays = o.heatmaps = o.segments = o.report = o.model_input = false;
        chooseExport(o, tr("the comparison sheet"));
    });
    connect(ui_->actionExportHeatmaps, &QAction::triggered, this, [this]() {
        ExportOptions o;
        o.overlays = o.comparison = o.report = o.model_input = false;
        chooseExport(o, tr("the raw heatmaps"));
    });
    connect(ui_->actionExportReport, &QAction::triggered, this, [this]() {
        ExportOptions o;
        o.overlays = o.heatmaps = o.segments = o.comparison = o.model_input = false;
        chooseExport(o, tr("the report"));
    });
    connect(ui_->actionQuit, &QAction::triggered, this, &QWidget::close);
    connect(ui_->actionResetAll, &QAction::triggered, this, [this]() {
        for (auto* sec : sections_) sec->form()->resetToDefaults();
        superpixelForm_->resetToDefaults();
        perturbationForm_->resetToDefaults();
    });
    connect(ui_->actionFit, &QAction::triggered, this, [this]() { grid()->setViewState(ViewState{}); });
    connect(ui_->actionAbout, &QAction::triggered, this, &MainWindow::about);
    connect(ui_->actionAboutQt, &QAction::triggered, qApp, &QApplication::aboutQt);
    connect(ui_->dismissErrorButton, &QToolButton::clicked, ui_->errorBanner, &QWidget::hide);

    connect(ui_->opacitySlider, &QSlider::valueChanged, this, [this](int v) {
        ui_->opacityValueLabel->setText(QString::number(v / 100.0, 'f', 2));
        applyOverlayOptions();
    });
    connect(ui_->colormapCombo, &QComboBox::currentIndexChanged, this, &MainWindow::applyOverlayOptions);
    connect(ui_->scaleCombo, &QComboBox::currentIndexChanged, this, &MainWindow::applyOverlayOptions);
    connect(ui_->clipSpin, &QDoubleSpinBox::valueChanged, this, &MainWindow::applyOverlayOptions);
    connect(ui_->predictionList, &QTreeWidget::itemClicked, this, [this](QTreeWidgetItem* item) {
        const int index = ui_->targetCombo->findData(item->data(0, Qt::UserRole));
        if (index >= 0) ui_->targetCombo->setCurrentIndex(index);
    });
    connect(superpixelForm_, &ParamForm::changed, this, &MainWindow::schedulePreview);
    connect(perturbationForm_, &ParamForm::changed, this, &MainWindow::schedulePreview);
    connect(perturbationForm_, &ParamForm::changed, this, &MainWindow::showFillOverrides);
    connect(ui_->seedSpin, &QSpinBox::valueChanged, this, &MainWindow::schedulePreview);
    connect(ui_->targetCombo, &QComboBox::currentIndexChanged, this, &MainWindow::showTargetCaution);
    connect(ui_->targetCombo, &QComboBox::editTextChanged, this, &MainWindow::showTargetCaution);
    connect(metricsSection_->form(), &ParamForm::changed, this, &MainWindow::showFillOverrides);
    for (auto* sec : sections_)
        if (sec->form()->values().has("fill"))
            connect(sec->form(), &ParamForm::changed, this, &MainWindow::showFillOverrides);
    connect(metricsSection_, &QGroupBox::clicked, this, [this]() { metricsTouched_ = true; });
    connect(metricsSection_->form(), &ParamForm::changed, this, &MainWindow::updateMetricsEstimate);
    connect(metricsSection_, &QGroupBox::toggled, this, &MainWindow::updateMetricsEstimate);
    for (auto* sec : sections_) connect(sec, &QGroupBox::toggled, this, &MainWindow::updateMetricsEstimate);
    // Scrolling the settings panel never changes a setting (forms rebuilt later guard their own editors).
    WheelGuard::install(ui_->formScroll->widget());
    connect(&previewTimer_, &QTimer::timeout, this, [this]() {
        session_->requestSuperpixelPreview(superpixelForm_->values());
        session_->requestPerturbationPreview(superpixelForm_->values(), perturbationForm_->values(),
                                             static_cast<uint64_t>(ui_->seedSpin->value()));
    });
    connect(ui_->resultsGrid, &ResultsGrid::saveTileRequested, this, [this](int index) {
        const auto* e = grid()->tile(index)->explanation();
        if (!e) return;
        const QString suggested =
            QDir(QFileInfo(session_->imagePath()).absolutePath())
                .filePath(imageStem() + QLatin1Char('.') + qs(e->method) + QStringLiteral(".overlay.png"));
        const QString file = QFileDialog::getSaveFileName(this, tr("Save overlay"), suggested, tr("PNG image (*.png)"));
        if (!file.isEmpty()) saveTileOverlay(index, file);
    });

    connect(s, &ExplanationSession::modelLoading, this, [this](const QString& spec) {
        statusBar()->showMessage(tr("Loading model %1…").arg(spec));
        updateActions();
    });
    connect(s, &ExplanationSession::modelReady, this, &MainWindow::showModel);
    connect(s, &ExplanationSession::modelFailed, this, [this](const QString& m) {
        showError(tr("The model could not be loaded: %1").arg(m));
        // A custom file that failed is not offered again; the list shows the model still loaded.
        if (customModels_.removeAll(pendingModelSpec_) > 0) fillModelList();
        const int i = ui_->modelCombo->findData(session_->modelSpec());
        if (i >= 0) ui_->modelCombo->setCurrentIndex(i);
        updateActions();
    });
    connect(s, &ExplanationSession::imageReady, this, &MainWindow::showImage);
    connect(s, &ExplanationSession::imageFailed, this,
            [this](const QString& m) { showError(tr("The image could not be opened: %1").arg(m)); });
    connect(s, &ExplanationSession::predictionReady, this, &MainWindow::showPrediction);
    connect(s, &ExplanationSession::predictionFailed, this,
            [this](const QString& m) { showError(tr("The model could not classify this image: %1").arg(m)); });
    connect(s, &ExplanationSession::superpixelPreviewReady, this, &MainWindow::showPreview);
    connect(s, &ExplanationSession::superpixelPreviewFailed, this, [this](const QString& m) {
        ui_->superpixelPreview->setPixmap({});
        ui_->superpixelPreview->setText(m);
        ui_->superpixelCountLabel->clear();
    });
    connect(s, &ExplanationSession::perturbationPreviewReady, this, &MainWindow::showPerturbationPreview);
    connect(s, &ExplanationSession::perturbationPreviewFailed, this, [this](const QString& m) {
        perturbationPreview_ = {};
        ui_->baselinePreview->clear();
        ui_->coalitionPreview->clear();
        ui_->baselineCaption->clear();
        ui_->coalitionCaption->clear();
        ui_->perturbationNote->setText(tr("No preview: %1").arg(m));
    });
    connect(s, &ExplanationSession::notice, this, &MainWindow::showNotice);
    connect(s, &ExplanationSession::runStarted, this, [this]() {
        grid()->showSlots(session_->slots());
        grid()->clearExtraLines();
        updateActions();
    });
    connect(s, &ExplanationSession::methodChanged, this, &MainWindow::showMethod);
    connect(s, &ExplanationSession::runFinished, this, &MainWindow::finishRun);
    connect(s, &ExplanationSession::metricsChanged, this, &MainWindow::showMetricsState);
    connect(s, &ExplanationSession::resultsCleared, this, [this]() {
        grid()->showSlots({});
        metricsView()->showMetrics(nullptr);
        metricsView()->showMessage(tr("No run yet for this image and model."));
        ui_->runSummaryLabel->clear();
        updateActions();
    });
}

// ---------------------------------------------------------------- settings

void MainWindow::restoreSettings(const StartOptions& options) {
    settings_ = std::make_unique<AppSettings>(options.settingsFile);
    QSettings& q = settings_->values();
    restoreGeometry(q.value(QStringLiteral("window/geometry")).toByteArray());
    restoreState(q.value(QStringLiteral("window/state")).toByteArray());
    if (q.contains(QStringLiteral("window/splitter")))
        ui_->splitter->restoreState(q.value(QStringLiteral("window/splitter")).toByteArray());
    recent_ = q.value(QStringLiteral("input/recent")).toStringList();
    customModels_ = q.value(QStringLiteral("input/customModels")).toStringList();
    fillModelList();
    rebuildRecentMenu();

    ui_->seedSpin->setValue(q.value(QStringLiteral("run/seed"), 0).toInt());
    ui_->batchSpin->setValue(q.value(QStringLiteral("run/batch"), 0).toInt());
    {
        const int p = ui_->precisionCombo->findData(q.value(QStringLiteral("run/precision"), QStringLiteral("fp32")));
        // A stored bf16/auto on a CPU without it (settings copied from another machine): fp32 here, the setting kept.
        const bool usable = p > 0 && cpuHasNativeBf16();
        ui_->precisionCombo->setCurrentIndex(usable ? p : 0);
    }
    const int cm =
        ui_->colormapCombo->findText(q.value(QStringLiteral("display/colormap"), QStringLiteral("jet")).toString());
    ui_->colormapCombo->setCurrentIndex(cm >= 0 ? cm : 0);
    // "display/range": per-map | shared. Older versions stored "display/scale"
    // (auto | positive | symmetric), which has no equivalent: per map.
    const int sc =
        ui_->scaleCombo->findData(q.value(QStringLiteral("display/range"), QStringLiteral("per-map")).toString());
    ui_->scaleCombo->setCurrentIndex(sc >= 0 ? sc : 0);
    bool clipOk = false;
    const double clip = q.value(QStringLiteral("display/clip"), 100.0).toDouble(&clipOk);
    ui_->clipSpin->setValue(clipOk && clip >= 50 && clip <= 100 ? clip : 100.0);
    ui_->opacitySlider->setValue(q.value(QStringLiteral("display/opacity"), 50).toInt());
    const int dev = ui_->deviceCombo->findData(q.value(QStringLiteral("input/device"), QStringLiteral("auto")));
    ui_->deviceCombo->setCurrentIndex(dev >= 0 ? dev : 0);

    // Method settings: one JSON object {method: {"enabled": bool, "params": {...}}, "superpixels": {...}}.
    const QString methodsText = q.value(QStringLiteral("methods/json")).toString();
    if (!methodsText.isEmpty()) {
        nlohmann::json j;
        try {
            // Bounded nesting: a deeply nested value would overflow the stack at every start.
            j = parseJsonBounded(ss(methodsText), "the saved setting 'methods/json'");
        } catch (const std::exception& e) {
            const std::string why = e.what();
            settings_->reportBadValue(QStringLiteral("methods/json"),
                                      why.find("levels deep") != std::string::npos
                                          ? tr("nested more than %1 levels deep").arg(kMaxJsonDepth)
                                          : tr("not valid JSON"));
            j = nlohmann::json();
        }
        if (j.is_object()) {
            QStringList refused;
            for (auto* sec : sections_) {
                if (!j.contains(sec->method())) continue;
                const auto& m = j[sec->method()];
                if (m.contains("enabled") && m["enabled"].is_boolean()) sec->setChecked(m["enabled"].get<bool>());
                if (!m.contains("params")) continue;
                nlohmann::json params = m["params"];
                if (hasLayerSetting(sec->method()) && params.contains("layer")) {
                    savedCamLayers_[sec->method()] = params["layer"];  // valid only once the model's layers are known
                    params.erase("layer");
                }
                for (const auto& n : sec->form()->setValuesFromJson(params)) refused << qs(sec->method() + "." + n);
            }
            if (j.contains("metrics") && j["metrics"].is_object()) {
                const auto& m = j["metrics"];
                if (m.contains("params"))
                    for (const auto& n : metricsSection_->form()->setValuesFromJson(m["params"]))
                        refused << qs("faithfulness." + n);
                if (m.contains("agreement"))
                    for (const auto& n : agreementForm_->setValuesFromJson(m["agreement"]))
                        refused << qs("agreement." + n);
                if (m.contains("sanity"))
                    for (const auto& n : sanityForm_->setValuesFromJson(m["sanity"])) refused << qs("sanity." + n);
            }
            if (j.contains("superpixels"))
                for (const auto& n : superpixelForm_->setValuesFromJson(j["superpixels"]))
                    refused << qs("superpixels." + n);
            if (j.contains("perturbation"))
                for (const auto& n : perturbationForm_->setValuesFromJson(j["perturbation"]))
                    refused << qs("perturbation." + n);
            if (!refused.isEmpty())
                settings_->reportBadValue(QStringLiteral("methods/json"),
                                          tr("out of range or unknown: %1").arg(refused.join(QStringLiteral(", "))));
        }
    }
    if (!settings_->notice().isEmpty()) showNotice(settings_->notice());

    QString model = options.model;
    if (model.isEmpty()) model = q.value(QStringLiteral("input/model"), QString::fromLatin1(kDefaultModel)).toString();
    QString image = options.image;
    if (image.isEmpty()) {
        image = q.value(QStringLiteral("input/image")).toString();
        if (image.isEmpty() || !QFileInfo::exists(image))
            image = QDir(samplesDir()).filePath(QString::fromLatin1(kDefaultSample));
    }
    applyOverlayOptions();
    selectModel(model);
    openImage(image);
}

void MainWindow::saveSettings() {
    QSettings& q = settings_->values();
    q.setValue(QStringLiteral("window/geometry"), saveGeometry());
    q.setValue(QStringLiteral("window/state"), saveState());
    q.setValue(QStringLiteral("window/splitter"), ui_->splitter->saveState());
    q.setValue(QStringLiteral("input/recent"), recent_);
    q.setValue(QStringLiteral("input/customModels"), customModels_);
    if (!session_->modelSpec().isEmpty()) q.setValue(QStringLiteral("input/model"), session_->modelSpec());
    if (!session_->imagePath().isEmpty()) q.setValue(QStringLiteral("input/image"), session_->imagePath());
    q.setValue(QStringLiteral("input/device"), ui_->deviceCombo->currentData());
    q.setValue(QStringLiteral("run/seed"), ui_->seedSpin->value());
    q.setValue(QStringLiteral("run/batch"), ui_->batchSpin->value());
    if (cpuHasNativeBf16() || ui_->precisionCombo->currentIndex() > 0)
        q.setValue(QStringLiteral("run/precision"), ui_->precisionCombo->currentData());
    q.setValue(QStringLiteral("display/colormap"), ui_->colormapCombo->currentText());
    q.setValue(QStringLiteral("display/range"), ui_->scaleCombo->currentData());
    q.setValue(QStringLiteral("display/clip"), ui_->clipSpin->value());
    q.remove(QStringLiteral("display/scale"));
    q.setValue(QStringLiteral("display/opacity"), ui_->opacitySlider->value());
    nlohmann::json j = nlohmann::json::object();
    for (auto* sec : sections_)
        j[sec->method()] = {{"enabled", sec->isChecked()}, {"params", sec->form()->values().toJson()}};
    j["superpixels"] = superpixelForm_->values().toJson();
    j["perturbation"] = perturbationForm_->values().toJson();
    // Whether metrics run is not kept: it follows the model's size unless switched by hand.
    j["metrics"] = {{"params", metricsSection_->form()->values().toJson()},
                    {"agreement", agreementForm_->values().toJson()},
                    {"sanity", sanityForm_->values().toJson()}};
    q.setValue(QStringLiteral("methods/json"), qs(j.dump()));
    q.sync();
}

void MainWindow::closeEvent(QCloseEvent* event) {
    session_->cancel();
    saveSettings();
    event->accept();
}

void MainWindow::rebuildRecentMenu() {
    ui_->menuRecent->clear();
    for (const auto& path : recent_)
        ui_->menuRecent->addAction(QFileInfo(path).fileName(), this, [this, path]() { openImage(path); })
            ->setToolTip(path);
    ui_->menuRecent->setEnabled(!recent_.isEmpty());
}

void MainWindow::addRecent(const QString& path) {
    recent_.removeAll(path);
    recent_.prepend(path);
    while (recent_.size() > kMaxRecent) recent_.removeLast();
    rebuildRecentMenu();
}

// ------------------------------------------------------------------ inputs

void MainWindow::openImage(const QString& path) {
    if (path.isEmpty()) return;
    statusBar()->showMessage(tr("Opening %1…").arg(QFileInfo(path).fileName()));
    session_->loadImage(path);
}

void MainWindow::selectModel(const QString& spec) {
    if (spec.isEmpty()) return;
    int index = ui_->modelCombo->findData(spec);
    if (index < 0 && QFileInfo::exists(spec)) {
        const QString path = QFileInfo(spec).absoluteFilePath();
        if (!customModels_.contains(path)) customModels_.prepend(path);
        fillModelList();
        index = ui_->modelCombo->findData(path);
    }
    if (index >= 0) ui_->modelCombo->setCurrentIndex(index);
    pendingModelSpec_ = index >= 0 ? ui_->modelCombo->itemData(index).toString() : spec;
    session_->loadModel(pendingModelSpec_, deviceChoiceFromString(ss(ui_->deviceCombo->currentData().toString())));
}

void MainWindow::chooseImage() {
    const QString start =
        session_->imagePath().isEmpty() ? samplesDir() : QFileInfo(session_->imagePath()).absolutePath();
    const QString file = QFileDialog::getOpenFileName(
        this, tr("Open image"), start,
        tr("Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp *.pgm *.ppm);;All files (*)"));
    if (!file.isEmpty()) openImage(file);
}

void MainWindow::chooseCustomModel() {
    const QString file =
        QFileDialog::getOpenFileName(this, tr("Open model"), QString(),
                                     tr("Models (*.json *.pt *.pth *.torchscript);;Descriptors (*.json);;TorchScript "
                                        "(*.pt *.torchscript);;State dicts (*.pth)"));
    if (!file.isEmpty()) selectModel(file);
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
    if (event->mimeData()->hasUrls() && !event->mimeData()->urls().isEmpty() &&
        event->mimeData()->urls().first().isLocalFile())
        event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
    const QString path = event->mimeData()->urls().first().toLocalFile();
    if (looksLikeModel(path))
        selectModel(path);
    else
        openImage(path);
    event->acceptProposedAction();
}

void MainWindow::showModel() {
    const ModelInfo& info = session_->modelInfo();
    const int index = ui_->modelCombo->findData(session_->modelSpec());
    if (index >= 0) ui_->modelCombo->setCurrentIndex(index);
    const auto& in = info.input;
    ui_->modelInfoLabel->setText(
        tr("%1 · %2 classes · %3 parameters<br>input %4×%5×%6 (%7) · runs on <b>%8</b>")
            .arg(qs(info.architecture))
            .arg(info.labels.size())
            .arg(QLocale().toString(static_cast<qlonglong>(session_->model()->parameterCount())))
            .arg(in.channels)
            .arg(in.height)
            .arg(in.width)
            .arg(qs(toString(in.resize)))
            .arg(session_->deviceName()));
    ui_->modelInfoLabel->setToolTip(qs(info.weights_file));
    // CAM sections: the layer chooser lists this model's modules as a tree.
    std::vector<ChoiceItem> items;
    items.push_back({"", tr("model default (%1)").arg(qs(info.default_target_layer)), true,
                     tr("The layer the model's descriptor names for CAM methods")});
    for (const auto& l : session_->layers()) {
        const int depth = static_cast<int>(std::count(l.path.begin(), l.path.end(), '.'));
        const bool spatial = l.output_shape.size() == 4;
        items.push_back({l.path,
                         QString(depth * 3, QChar(' ')) + qs(l.path) + QStringLiteral("  ·  ") + qs(l.kind) +
                             (l.output_shape.empty() ? QString() : QStringLiteral("  ·  ") + shapeText(l.output_shape)),
                         spatial, spatial ? QString() : tr("Not usable for CAM: its output has no spatial grid")});
    }
    for (auto* sec : sections_) {
        if (!hasLayerSetting(sec->method())) continue;
        sec->form()->setTable(makeExplainer(sec->method())->paramsForLayers(session_->layers()));
        sec->form()->setChoiceItems("layer", items);
        if (savedCamLayers_.contains(sec->method())) {
            nlohmann::json one = {{"layer", savedCamLayers_[sec->method()]}};
            sec->form()->setValuesFromJson(one);  // a layer of another model is simply not taken
            savedCamLayers_.erase(sec->method());
        }
    }
    // Target list: every class of this model, searchable.
    {
        const QSignalBlocker block(ui_->targetCombo);
        ui_->targetCombo->clear();
        ui_->targetCombo->addItem(tr("Top-1 prediction"), -1);
        for (size_t i = 0; i < info.labels.size(); ++i)
            ui_->targetCombo->addItem(QStringLiteral("%1 (%2)").arg(qs(info.labels[i])).arg(i), static_cast<int>(i));
        ui_->targetCombo->setCurrentIndex(0);
    }
    // Metrics cost hundreds of model evaluations per map: on by default only for
    // small inputs (up to 64x64, e.g. fashion-cnn), unless the user chose.
    if (!metricsTouched_) metricsSection_->setChecked(static_cast<int64_t>(in.width) * in.height <= 64 * 64);
    updateMetricsEstimate();
    // Baseline: "model" names this model's own, and where it comes from.
    {
        std::vector<ChoiceItem> items;
        std::vector<std::string> choices;
        const ParamSet table = perturbationParams();
        for (const auto& spec : table.specs())
            if (spec.name == "baseline") choices = spec.choices;
        for (const auto& c : choices)
            items.push_back({c, c == "model" ? tr("model's own (%1)").arg(qs(toString(info.baseline))) : qs(c), true,
                             c == "model"
                                 ? tr("%1's own baseline: %2, from %3")
                                       .arg(qs(info.name), qs(toString(info.baseline)), qs(info.baseline_source))
                                 : QString()});
        perturbationForm_->setChoiceItems("baseline", items);
        ui_->ownBaselineLabel->setText(tr("%1's own: <b>%2</b> (%3)")
                                           .arg(qs(info.name).toHtmlEscaped(),
                                                qs(toString(info.baseline)).toHtmlEscaped(),
                                                qs(info.baseline_source).toHtmlEscaped()));
    }
    showFillOverrides();
    showModelInput();
    ui_->predictionList->clear();
    showInputHints();
    showTargetCaution();
    statusBar()->showMessage(tr("Model %1 ready on %2").arg(qs(info.name), session_->deviceName()), 5000);
    schedulePreview();
    updateActions();
    updateTitle();
}

void MainWindow::showImage() {
    const LoadedImage* image = session_->image();
    const QString path = session_->imagePath();
    const QFileInfo fi(path);
    addRecent(path);
    const QImage q = toQImage(image->rgb);
    const Qt::TransformationMode mode = q.width() < 72 ? Qt::FastTransformation : Qt::SmoothTransformation;
    ui_->thumbnailLabel->setPixmap(QPixmap::fromImage(q.scaled(72, 72, Qt::KeepAspectRatio, mode)));
    const QString detail = tr("%1×%2 px").arg(image->rgb.cols).arg(image->rgb.rows);
    ui_->imagePathLabel->setText(QStringLiteral("<b>%1</b><br>%2").arg(fi.fileName().toHtmlEscaped(), detail));
    ui_->imagePathLabel->setToolTip(path);
    grid()->showImage(image->rgb, fi.fileName(), detail);
    ui_->predictionList->clear();
    showModelInput();
    showInputHints();
    showTargetCaution();
    statusBar()->showMessage(tr("Opened %1").arg(fi.fileName()), 4000);
    schedulePreview();
    updateActions();
    updateTitle();
}

void MainWindow::showPrediction() {
    ui_->predictionList->clear();
    for (const auto& c : session_->prediction()) {
        auto* item = new QTreeWidgetItem(ui_->predictionList);
        item->setText(0, qs(c.label));
        item->setText(1, QString::number(c.index));
        item->setText(2, QString::number(c.probability, 'f', 4));
        item->setData(0, Qt::UserRole, c.index);
        item->setTextAlignment(2, Qt::AlignRight | Qt::AlignVCenter);
    }
    showInputHints();
    showTargetCaution();
    updateActions();
}

void MainWindow::showModelInput() {
    modelInput_ = {};
    ui_->modelInputLabel->clear();
    ui_->modelInputCaption->clear();
    if (!session_->hasModel() || !session_->hasImage()) return;
    const InputSpec& in = session_->modelInfo().input;
    const cv::Mat& rgb = session_->image()->rgb;
    try {
        modelInput_ = toQImage(mirada::modelInputImage(rgb, in));
    } catch (const std::exception& e) {
        ui_->modelInputCaption->setText(tr("The model cannot take this image: %1").arg(qs(e.what())));
        return;
    }
    ui_->modelInputLabel->setPixmap(inputPixmap(modelInput_, 68));
    QString how;
    switch (in.resize) {
        case InputSpec::Resize::Stretch:
            how = rgb.cols * in.height == rgb.rows * in.width ? tr("resized") : tr("stretched (aspect ratio not kept)");
            break;
        case InputSpec::Resize::CenterCrop: how = tr("centre-cropped"); break;
        case InputSpec::Resize::Letterbox: how = tr("letterboxed (padded)"); break;
    }
    const bool same = rgb.cols == in.width && rgb.rows == in.height;
    // On the original's tile too, where the maps are compared: the maps explain this smaller image.
    const bool differs = !same || (in.channels == 1 && !isGreyImage(rgb));
    grid()->originalTile()->setDetail(tr("%1×%2 px").arg(rgb.cols).arg(rgb.rows) +
                                      (differs ? tr(" · the model sees it as %1×%2 %3 (left: What the model sees)")
                                                     .arg(in.width)
                                                     .arg(in.height)
                                                     .arg(colourText(in.channels))
                                               : QString()));
    ui_->modelInputCaption->setText(
        tr("<b>What the model sees</b><br>%1×%2 %3%4")
            .arg(in.width)
            .arg(in.height)
            .arg(colourText(in.channels))
            .arg(same ? QString() : tr(", %1 from %2×%3").arg(how).arg(rgb.cols).arg(rgb.rows)));
}

void MainWindow::showInputHints() {
    const auto& hints = session_->inputCheck().hints;
    if (hints.empty() || session_->prediction().empty()) {
        ui_->inputHintsLabel->clear();
        ui_->inputHintsLabel->hide();
        return;
    }
    QStringList parts;
    for (const auto& h : hints) parts << QStringLiteral("⚠ ") + qs(h).toHtmlEscaped();
    ui_->inputHintsLabel->setText(parts.join(QStringLiteral("<br>")));
    ui_->inputHintsLabel->show();
}

void MainWindow::showTargetCaution() {
    const auto& p = session_->probabilities();
    bool valid = false;
    const int target = session_->prediction().empty() ? -1 : currentTarget(&valid);
    const int index =
        target >= 0 ? target : (session_->prediction().empty() ? -1 : session_->prediction().front().index);
    QString text;
    if (valid && index >= 0 && index < static_cast<int>(p.size())) {
        QString caution = qs(targetCaution(p[static_cast<size_t>(index)]));
        if (!caution.isEmpty()) {
            caution[0] = caution[0].toUpper();
            text = QStringLiteral("⚠ ") + caution.toHtmlEscaped() +
                   tr(". Its maps and metrics say little about this image; every verdict will carry this caution.");
        }
    }
    ui_->targetCautionLabel->setText(text);
    ui_->targetCautionLabel->setVisible(!text.isEmpty());
}

void MainWindow::showFillOverrides() {
    // A method's own "fill" other than "shared" does not follow this setting: say so here.
    QStringList overrides;
    for (auto* sec : sections_) {
        const ParamSet& v = sec->form()->values();
        if (v.has("fill") && v.getChoice("fill") != "shared")
            overrides << tr("%1 uses %2 (%3.fill)").arg(sec->title(), qs(v.getChoice("fill")), qs(sec->method()));
    }
    const ParamSet& f = metricsSection_->form()->values();
    if (f.has("fill") && f.getChoice("fill") != "shared")
        overrides << tr("deletion/insertion uses %1 (faithfulness.fill)").arg(qs(f.getChoice("fill")));
    ui_->fillOverrideLabel->setText(
        overrides.isEmpty() ? QString()
                            : tr("Not following this setting: %1.").arg(overrides.join(QStringLiteral("; "))));
    ui_->fillOverrideLabel->setVisible(!overrides.isEmpty());
}

void MainWindow::showPerturbationPreview(const PerturbationPreview& preview) {
    perturbationPreview_ = preview;
    constexpr int kBox = 140;
    ui_->baselinePreview->setPixmap(inputPixmap(preview.baseline, kBox));
    ui_->coalitionPreview->setPixmap(inputPixmap(preview.coalition, kBox));
    ui_->baselinePreview->setToolTip(tr("What the model sees when every part is removed: %1, from %2")
                                         .arg(qs(preview.baseline_name), qs(preview.source)));
    ui_->baselineCaption->setText(tr("Everything removed (%1)").arg(qs(preview.baseline_name)));
    ui_->coalitionCaption->setText(
        tr("%1 of %2 superpixels removed (seed %3)").arg(preview.removed).arg(preview.segments).arg(preview.seed));
    const int side = std::max(preview.baseline.width(), preview.baseline.height());
    const bool enlarged = side > 0 && side <= kBox / 2;
    ui_->perturbationNote->setText(
        tr("Both as the model sees them: %1×%2 %3%4.")
            .arg(preview.baseline.width())
            .arg(preview.baseline.height())
            .arg(colourText(session_->modelInfo().input.channels))
            .arg(enlarged ? tr(", enlarged %1× without smoothing").arg(kBox / side) : QString()));
}

void MainWindow::schedulePreview() {
    if (session_->hasModel() && session_->hasImage()) previewTimer_.start();
}

void MainWindow::showPreview(const QImage& preview, int segments) {
    const int h = 170;
    const int w = std::max(1, ui_->superpixelPreview->width() - 4);
    const Qt::TransformationMode mode = preview.height() < h ? Qt::FastTransformation : Qt::SmoothTransformation;
    ui_->superpixelPreview->setPixmap(QPixmap::fromImage(preview.scaled(w, h, Qt::KeepAspectRatio, mode)));
    ui_->superpixelCountLabel->setText(tr("%1 superpixels on the model's input grid").arg(segments));
}

// -------------------------------------------------------------------- runs

int MainWindow::currentTarget(bool* valid) const {
    *valid = true;
    const QString text = ui_->targetCombo->currentText().trimmed();
    const int byText = ui_->targetCombo->findText(text, Qt::MatchFixedString);
    if (byText >= 0) return ui_->targetCombo->itemData(byText).toInt();
    // A bare class number or an exact label also work.
    bool isNumber = false;
    const int n = text.toInt(&isNumber);
    const auto& labels = session_->modelInfo().labels;
    if (isNumber && n >= 0 && n < static_cast<int>(labels.size())) return n;
    for (size_t i = 0; i < labels.size(); ++i)
        if (text.compare(qs(labels[i]), Qt::CaseInsensitive) == 0) return static_cast<int>(i);
    *valid = false;
    return -1;
}

RunPlan MainWindow::buildRunPlan() const {
    RunPlan plan;
    for (auto* sec : sections_)
        if (sec->isChecked()) plan.methods.push_back({sec->method(), sec->form()->values()});
    if (plan.methods.empty()) throw Error("No method is switched on: tick at least one method's box on the left");
    plan.superpixels = superpixelForm_->values();
    plan.perturbation = perturbationForm_->values();
    bool valid = false;
    plan.target_index = currentTarget(&valid);
    if (!valid)
        throw Error("Target class '" + ss(ui_->targetCombo->currentText()) + "' is not a class of " +
                    session_->modelInfo().name + "; pick one from the list (type to search)");
    plan.target_request = plan.target_index < 0 ? "top1" : std::to_string(plan.target_index);
    plan.seed = static_cast<uint64_t>(ui_->seedSpin->value());
    plan.batch_size = ui_->batchSpin->value();
    plan.precision = precisionFromString(ss(ui_->precisionCombo->currentData().toString()));
    plan.metrics = metricsSection_->isChecked();
    plan.faithfulness = metricsSection_->form()->values();
    plan.agreement = agreementForm_->values();
    plan.sanity = plan.metrics && sanityCheck_->isChecked();
    plan.sanity_params = sanityForm_->values();
    return plan;
}

void MainWindow::startRun() {
    if (session_->running()) return;
    if (!session_->hasModel() || !session_->hasImage()) {
        showError(tr("Choose a model and an image first"));
        return;
    }
    try {
        const RunPlan plan = buildRunPlan();
        ui_->errorBanner->hide();
        if (session_->run(plan)) {
            ui_->runSummaryLabel->setText(tr("Running %1 methods…").arg(plan.methods.size()));
            saveSettings();
        }
    } catch (const std::exception& e) {
        showError(qs(e.what()));
    }
    updateActions();
}

void MainWindow::cancelRun() {
    if (!session_->running()) return;
    session_->cancel();
    ui_->runSummaryLabel->setText(tr("Cancelling after the current batch…"));
}

void MainWindow::showMethod(int slot) {
    const auto& slots = session_->slots();
    if (slot < 0 || slot >= static_cast<int>(slots.size())) return;
    grid()->showSlot(slot, slots[slot]);
    if (slots[slot].state == MethodState::Running)
        ui_->runSummaryLabel->setText(tr("%1 (%2 of %3): %4")
                                          .arg(slots[slot].title)
                                          .arg(slot + 1)
                                          .arg(slots.size())
                                          .arg(slots[slot].message.isEmpty() ? tr("starting") : slots[slot].message));
}

void MainWindow::finishRun() {
    int done = 0, failed = 0, cancelled = 0;
    double seconds = 0;
    for (const auto& s : session_->slots()) {
        if (s.state == MethodState::Done) {
            ++done;
            seconds += s.explanation->seconds;
        }
        failed += s.state == MethodState::Failed;
        cancelled += s.state == MethodState::Cancelled;
    }
    QString text = tr("%n map(s) in %1 s", nullptr, done).arg(QString::number(seconds, 'f', 2));
    if (failed) text += tr(" · %n failed", nullptr, failed);
    if (cancelled) text += tr(" · %n cancelled", nullptr, cancelled);
    int warned = 0;
    for (int i = 0; i < grid()->tileCount(); ++i) warned += grid()->tile(i)->warningVisible();
    if (warned) text += tr(" · ⚠ %n map(s) with a warning (hover the ⚠ line)", nullptr, warned);
    // Precision: said when the run did not simply take what was asked (auto's
    // decision, bf16 unavailable); the sentence with its figures is the tooltip.
    const QString precisionNote = session_->runPrecisionNote();
    if (!precisionNote.isEmpty()) text += tr(" · evaluations in %1 (hover for why)").arg(session_->runPrecision());
    ui_->runSummaryLabel->setToolTip(precisionNote);
    ui_->runSummaryLabel->setText(text);
    statusBar()->showMessage(text, 8000);
    updateActions();
    Q_EMIT runFinished();
}

void MainWindow::showMetricsState() {
    const MethodSlot& m = session_->metricsSlot();
    const int tab = ui_->resultsTabs->indexOf(ui_->metricsPage);
    switch (m.state) {
        case MethodState::Queued:
            ui_->resultsTabs->setTabText(tab, tr("Metrics"));
            metricsView()->showMetrics(nullptr);
            metricsView()->showMessage(session_->metricsPlanned()
                                           ? tr("Metrics are computed when the maps are done.")
                                           : tr("Metrics were off for this run (left: Metrics)."));
            break;
        case MethodState::Running:
            ui_->resultsTabs->setTabText(tab, tr("Metrics %1%").arg(std::lround(m.progress * 100)));
            metricsView()->showMessage(tr("Measuring the maps: %1").arg(m.message));
            ui_->runSummaryLabel->setText(tr("Metrics: %1").arg(m.message.isEmpty() ? tr("starting") : m.message));
            break;
        case MethodState::Done: {
            ui_->resultsTabs->setTabText(tab, tr("Metrics"));
            const auto metrics = session_->metrics();
            metricsView()->showMetrics(metrics);
            const auto lines = faithfulnessSheetLines(metrics->faithfulness);
            for (size_t i = 0; i < metrics->methods.size() && i < lines.size(); ++i) {
                QStringList l;
                for (const auto& line : lines[i]) l << qs(line);
                if (metrics->has_sanity && i < metrics->sanity.methods.size())
                    l << qs(sanitySheetLine(metrics->sanity.methods[i]));
                grid()->setExtraLines(metrics->methods[i], l);
            }
            break;
        }
        case MethodState::Failed:
            ui_->resultsTabs->setTabText(tab, tr("Metrics"));
            metricsView()->showMessage(tr("The metrics failed: %1").arg(m.message));
            break;
        case MethodState::Cancelled:
            ui_->resultsTabs->setTabText(tab, tr("Metrics"));
            metricsView()->showMessage(tr("The metrics were cancelled."));
            break;
    }
}

void MainWindow::updateMetricsEstimate() {
    if (!metricsEstimate_) return;
    int maps = 0;
    for (auto* sec : sections_) maps += sec->isChecked();
    FaithfulnessSettings settings;
    try {
        settings = faithfulnessSettingsFrom(metricsSection_->form()->values());
    } catch (const std::exception& e) {
        metricsEstimate_->setText(qs(e.what()));  // e.g. an even blur kernel: the run would say the same
        return;
    }
    const int64_t steps = static_cast<int64_t>(std::ceil(1.0 / settings.step_fraction)) + 1;
    const int64_t evaluations = 2 * steps * (maps + settings.random_repeats);
    metricsEstimate_->setText(tr("About %1 model evaluations per run (%2 steps × 2 curves × %3 maps incl. random).")
                                  .arg(QLocale().toString(static_cast<qlonglong>(evaluations)))
                                  .arg(steps)
                                  .arg(maps + settings.random_repeats));
}

void MainWindow::applyOverlayOptions() { grid()->setOverlayOptions(overlayOptions()); }

OverlayOptions MainWindow::overlayOptions() const {
    OverlayOptions o;
    o.colormap = ss(ui_->colormapCombo->currentText());
    o.opacity = ui_->opacitySlider->value() / 100.0;
    o.range = ss(ui_->scaleCombo->currentData().toString());
    o.clip_percentile = ui_->clipSpin->value();
    return o;
}

void MainWindow::updateActions() {
    const bool running = session_->running();
    const bool ready = session_->hasModel() && session_->hasImage() && !session_->busyLoading();
    ui_->runButton->setEnabled(ready && !running);
    ui_->actionRun->setEnabled(ready && !running);
    ui_->cancelButton->setEnabled(running);
    ui_->actionCancel->setEnabled(running);
    const bool results = session_->hasResults() && !running;
    for (QAction* a :
         {ui_->actionExportAll, ui_->actionExportSheet, ui_->actionExportHeatmaps, ui_->actionExportReport})
        a->setEnabled(results);
    ui_->exportButton->setEnabled(results);
}

void MainWindow::updateTitle() {
    QStringList parts;
    if (session_->hasImage()) parts << QFileInfo(session_->imagePath()).fileName();
    if (session_->hasModel())
        parts << QStringLiteral("%1 (%2)").arg(qs(session_->modelInfo().name), session_->deviceName());
    parts << QStringLiteral("Mirada");
    setWindowTitle(parts.join(QStringLiteral(" — ")));
}

// ------------------------------------------------------------------ export

QString MainWindow::imageStem() const {
    const QString path = session_->imagePath();
    return path.isEmpty() ? QStringLiteral("mirada") : QFileInfo(path).completeBaseName();
}

void MainWindow::chooseExport(const ExportOptions& options, const QString& what) {
    const QString start = QFileInfo(session_->imagePath()).absolutePath();
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Export %1 into folder").arg(what), start);
    if (!dir.isEmpty()) exportTo(dir, options);
}

bool MainWindow::exportTo(const QString& dir, const ExportOptions& options) {
    if (!session_->hasResults() || session_->running()) {
        showError(tr("Nothing to export yet: run the methods first"));
        return false;
    }
    try {
        const RunRecord run = session_->record(overlayOptions());
        const auto files = exportRun(std::filesystem::path(ss(dir)), ss(imageStem()), run, options);
        const QString text =
            tr("Wrote %n file(s) to %1", nullptr, static_cast<int>(files.size())).arg(QDir::toNativeSeparators(dir));
        statusBar()->showMessage(text, 8000);
        lastNotice_ = text;
        return true;
    } catch (const std::exception& e) {
        showError(tr("Export failed, existing files were left as they were: %1").arg(qs(e.what())));
        return false;
    }
}

bool MainWindow::saveTileOverlay(int index, const QString& file) {
    if (index < 0 || index >= grid()->tileCount() || !grid()->tile(index)->explanation()) return false;
    try {
        const auto* e = grid()->tile(index)->explanation();
        // The scale the tile shows (shared with the other tiles when the range is "shared").
        writeImageAtomic(std::filesystem::path(ss(file)),
                         renderOverlay(session_->record(overlayOptions()).image, e->heatmap,
                                       grid()->tile(index)->colourScale(), overlayOptions()));
        statusBar()->showMessage(tr("Saved %1").arg(QDir::toNativeSeparators(file)), 6000);
        return true;
    } catch (const std::exception& ex) {
        showError(tr("Could not save the overlay: %1").arg(qs(ex.what())));
        return false;
    }
}

// -------------------------------------------------------------- messages

void MainWindow::showError(const QString& message) {
    lastError_ = message;
    ui_->errorLabel->setText(message);
    ui_->errorBanner->show();
    statusBar()->showMessage(message, 10000);
}

void MainWindow::showNotice(const QString& message) {
    lastNotice_ = message;
    statusBar()->showMessage(message, 15000);
}

void MainWindow::about() {
    const auto v = libraryVersions();
    QString versions;
    for (const auto& [name, version] : v.items())
        versions += QStringLiteral("<tr><td>%1</td><td>%2</td></tr>")
                        .arg(qs(name), qs(version.is_string() ? version.get<std::string>() : version.dump()));
    versions += QStringLiteral("<tr><td>qt</td><td>%1 (built with %2)</td></tr>")
                    .arg(qs(qVersion()), QStringLiteral(QT_VERSION_STR));
    QMessageBox::about(
        this, tr("About Mirada"),
        tr("<h3>Mirada %1</h3><p>Shows where an image classifier looks: Grad-CAM, Grad-CAM++, CAM, LIME and "
           "KernelSHAP side by side, computed natively with LibTorch.</p><table>%2</table><p>MIT licence.</p>")
            .arg(QStringLiteral(MIRADA_VERSION), versions));
}

}  // namespace mirada::gui
