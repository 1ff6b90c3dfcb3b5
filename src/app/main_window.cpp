#include "main_window.hpp"
#include "batch_view.hpp"
#include "wheel_guard.hpp"

#include <QApplication>
#include <QCloseEvent>
#include <QCompleter>
#include <QDir>
#include <QDragEnterEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QListWidget>
#include <QRegularExpression>
#include <QMenu>
#include <QScreen>
#include <QMessageBox>
#include <QMimeData>
#include <QStandardItemModel>
#include <QStatusBar>
#include <cstdio>
#include <filesystem>

#include "common/data_dir.hpp"
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
#include "heatmap_tile.hpp"
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
QString samplesDir() { return QString::fromStdString(dataPath("samples", "resources/samples").string()); }

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

// A probability for people: "99.0%", "1.94%", "0.11%", "<0.01%".
QString percentText(double p) {
    const double v = 100.0 * p;
    if (v >= 10) return QString::number(v, 'f', 1) + QLatin1Char('%');
    if (v >= 0.01) return QString::number(v, 'f', 2) + QLatin1Char('%');
    return QStringLiteral("<0.01%");
}

QString colourText(int channels) { return channels == 1 ? QObject::tr("grey") : QObject::tr("colour"); }

QString shapeText(const std::vector<int64_t>& shape) {
    QStringList parts;
    for (size_t i = 1; i < shape.size(); ++i) parts << QString::number(shape[i]);
    return parts.join(QStringLiteral("×"));
}

}  // namespace

MainWindow::MainWindow(const StartOptions& options, QWidget* parent)
    : QMainWindow(parent),
      ui_(std::make_unique<Ui::MainWindow>()),
      session_(new ExplanationSession(this)),
      history_(new RunHistory(this)) {
    ui_->setupUi(this);
    setWindowIcon(QIcon(QStringLiteral(":/mirada/icons/mirada.svg")));
    // A first start fits the screen (a saved geometry replaces this).
    if (const QScreen* screen = QGuiApplication::primaryScreen()) {
        const QSize avail = screen->availableGeometry().size();
        resize(std::min(width(), avail.width()), std::min(height(), avail.height()));
    }
    // The error bar is one line; Details shows the whole message.
    ui_->errorBanner->hide();
    ui_->errorBanner->setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Maximum);
    ui_->errorLabel->hide();
    errorLine_ = new ElidedLabel(ui_->errorBanner);
    errorLine_->setObjectName(QStringLiteral("errorLine"));
    errorLine_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Fixed);
    qobject_cast<QHBoxLayout*>(ui_->errorBanner->layout())->insertWidget(0, errorLine_, 1);
    errorDetailsButton_ = new QToolButton(ui_->errorBanner);
    errorDetailsButton_->setObjectName(QStringLiteral("errorDetailsButton"));
    errorDetailsButton_->setText(tr("Details"));
    errorDetailsButton_->setCheckable(true);
    errorDetailsButton_->setAutoRaise(true);
    qobject_cast<QHBoxLayout*>(ui_->errorBanner->layout())
        ->insertWidget(ui_->errorBanner->layout()->indexOf(ui_->dismissErrorButton), errorDetailsButton_);
    connect(errorDetailsButton_, &QToolButton::toggled, this, [this](bool on) {
        ui_->errorLabel->setVisible(on);
        errorLine_->setVisible(!on);
    });
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
    // The run summary never widens the window: cut at its edge, whole in its tooltip.
    {
        QSizePolicy summary(QSizePolicy::Ignored, QSizePolicy::Preferred);
        summary.setHorizontalStretch(1);
        ui_->runSummaryLabel->setSizePolicy(summary);
    }
    ui_->runSummaryLabel->setMinimumWidth(80);
    ui_->targetCombo->completer()->setFilterMode(Qt::MatchContains);
    ui_->targetCombo->completer()->setCaseSensitivity(Qt::CaseInsensitive);
    ui_->targetCombo->completer()->setCompletionMode(QCompleter::PopupCompletion);
    ui_->predictionList->header()->setStretchLastSection(false);
    ui_->predictionList->header()->setSectionResizeMode(0, QHeaderView::Stretch);
    ui_->predictionList->header()->setSectionResizeMode(1, QHeaderView::ResizeToContents);
    ui_->predictionList->header()->setSectionResizeMode(2, QHeaderView::ResizeToContents);

    buildMethodSections();
    buildHistoryBar();
    batchView_ = new BatchView(ui_->resultsTabs);
    batchView_->setObjectName(QStringLiteral("batchView"));
    ui_->resultsTabs->addTab(batchView_, tr("Batch"));
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
    refreshTimer_.setSingleShot(true);
    refreshTimer_.setInterval(0);
    connect(&refreshTimer_, &QTimer::timeout, this, &MainWindow::refreshGrid);
    panelAction_ = ui_->menuView->addAction(tr("&Settings panel"));
    panelAction_->setObjectName(QStringLiteral("actionSettingsPanel"));
    panelAction_->setCheckable(true);
    panelAction_->setChecked(true);
    panelAction_->setShortcut(QKeySequence(QStringLiteral("Ctrl+L")));
    panelAction_->setToolTip(tr("Hide the settings to give the maps the whole window (Ctrl+L)"));
    connect(panelAction_, &QAction::toggled, this, &MainWindow::setSettingsPanelVisible);
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
    auto* sectionLayout = metricsSection_->bodyLayout();
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
    // The batch runs the form's plan on the session's model (its own copy of it).
    batchView_->setRequestProvider([this]() {
        if (!session_->hasModel()) throw Error("no model is loaded yet; pick one on the left");
        BatchRequest request;
        request.plan = buildRunPlan();
        request.overlay = overlayOptions();
        request.modelSpec = session_->modelSpec();
        request.device = deviceChoiceFromString(ss(ui_->deviceCombo->currentData().toString()));
        return request;
    });
    batchView_->setMetricsOn(metricsSection_->isChecked());
    connect(metricsSection_, &QGroupBox::toggled, batchView_, &BatchView::setMetricsOn);
    connect(batchView_, &BatchView::runningChanged, this, [this](bool running) {
        if (running) saveSettings();
        updateActions();
    });
    connect(batchView_, &BatchView::runOpened, this, &MainWindow::openFinishedRun);
    connect(metricsSection_->form(), &ParamForm::changed, this, &MainWindow::updateMetricsEstimate);
    connect(metricsSection_, &QGroupBox::toggled, this, &MainWindow::updateMetricsEstimate);
    for (auto* sec : sections_) connect(sec, &QGroupBox::toggled, this, &MainWindow::updateMetricsEstimate);
    // The Metrics tab's exports share the last export folder; its files are named after the image.
    connect(metricsView(), &MetricsView::exportFolderChanged, this,
            [this](const QString& dir) { lastExportDir_ = QFileInfo(dir).absoluteFilePath(); });
    connect(metricsView(), &MetricsView::exported, this, [this](const QString& file) {
        statusBar()->showMessage(tr("Saved %1").arg(QDir::toNativeSeparators(file)), 6000);
    });
    // Tiles whose inputs the form changes are marked out of date; newly ticked methods get placeholders.
    auto later = [this]() { refreshTimer_.start(); };
    for (auto* sec : sections_) {
        connect(sec->form(), &ParamForm::changed, this, later);
        connect(sec, &QGroupBox::toggled, this, later);
    }
    connect(superpixelForm_, &ParamForm::changed, this, later);
    connect(perturbationForm_, &ParamForm::changed, this, later);
    connect(ui_->seedSpin, &QSpinBox::valueChanged, this, later);
    connect(ui_->precisionCombo, &QComboBox::currentIndexChanged, this, later);
    connect(ui_->targetCombo, &QComboBox::currentIndexChanged, this, later);
    connect(ui_->targetCombo, &QComboBox::editTextChanged, this, later);
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
            QDir(exportFolder())
                .filePath(imageStem() + QLatin1Char('.') + qs(e->method) + QStringLiteral(".overlay.png"));
        const QString file = QFileDialog::getSaveFileName(this, tr("Save overlay"), suggested, tr("PNG image (*.png)"));
        if (!file.isEmpty() && saveTileOverlay(index, file)) rememberExportFolder(QFileInfo(file).absolutePath());
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
        // The grid follows the new run; earlier ones stay in the history.
        liveView_ = true;
        shownRun_ = 0;
        if (gridMode_ != GridMode::Run) setGridMode(GridMode::Run);
        if (session_->hasImage())
            grid()->showImage(session_->image()->rgb, QFileInfo(session_->imagePath()).fileName(),
                              tr("%1×%2 px").arg(session_->image()->rgb.cols).arg(session_->image()->rgb.rows));
        showModelInput();
        std::vector<MethodSlot> slots = session_->slots();
        grid()->showSlots(slots);
        grid()->clearExtraLines();
        if (historyList_) historyList_->clearSelection();
        updateActions();
    });
    connect(s, &ExplanationSession::methodChanged, this, &MainWindow::showMethod);
    connect(s, &ExplanationSession::runFinished, this, &MainWindow::finishRun);
    connect(s, &ExplanationSession::metricsChanged, this, &MainWindow::showMetricsState);
    connect(s, &ExplanationSession::resultsCleared, this, [this]() {
        // A new image or model: a new run begins; the earlier ones stay in the history.
        liveView_ = false;
        shownRun_ = 0;
        if (historyList_) historyList_->clearSelection();
        metricsView()->showMetrics(nullptr);
        metricsView()->showMessage(history_->count() > 0
                                       ? tr("No run yet for this image and model; earlier runs are in the history.")
                                       : tr("No run yet for this image and model."));
        ui_->runSummaryLabel->clear();
        if (gridMode_ == GridMode::Run) showPlaceholders();
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
    lastExportDir_ = q.value(QStringLiteral("export/folder")).toString();
    if (!lastExportDir_.isEmpty()) {
        const QSignalBlocker block(metricsView());
        metricsView()->setExportFolder(lastExportDir_);
    }
    // Sections start collapsed to their summary line; the ones the user opened stay open.
    const QStringList expanded = q.value(QStringLiteral("methods/expanded")).toStringList();
    for (auto* sec : sections_) sec->setExpanded(expanded.contains(qs(sec->method())));
    metricsSection_->setExpanded(expanded.contains(QStringLiteral("metrics")));
    if (!q.value(QStringLiteral("window/settingsPanel"), true).toBool()) panelAction_->setChecked(false);
    customModels_ = q.value(QStringLiteral("input/customModels")).toStringList();
    fillModelList();
    batchView_->restoreSettings(q);
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
    // The runs of the last session, as far as their images are still there.
    QStringList skipped;
    for (auto& run : loadHistory(historyDir(), &skipped)) history_->restore(std::move(run));
    if (!skipped.isEmpty())
        showNotice(tr("%n earlier run(s) not restored: %1", nullptr, static_cast<int>(skipped.size()))
                       .arg(skipped.join(QStringLiteral("; "))));
}

QString MainWindow::historyDir() const {
    const QFileInfo f(settings_->fileName());
    return f.absoluteDir().filePath(f.completeBaseName() + QStringLiteral("-history"));
}

void MainWindow::saveSettings() {
    QSettings& q = settings_->values();
    q.setValue(QStringLiteral("window/geometry"), saveGeometry());
    q.setValue(QStringLiteral("window/state"), saveState());
    q.setValue(QStringLiteral("window/splitter"), ui_->splitter->saveState());
    q.setValue(QStringLiteral("input/recent"), recent_);
    if (!lastExportDir_.isEmpty()) q.setValue(QStringLiteral("export/folder"), lastExportDir_);
    QStringList expanded;
    for (auto* sec : sections_)
        if (sec->isExpanded()) expanded << qs(sec->method());
    if (metricsSection_->isExpanded()) expanded << QStringLiteral("metrics");
    q.setValue(QStringLiteral("methods/expanded"), expanded);
    q.setValue(QStringLiteral("window/settingsPanel"), settingsPanelVisible());
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
    batchView_->saveSettings(q);
    q.sync();
}

void MainWindow::closeEvent(QCloseEvent* event) {
    session_->cancel();
    saveSettings();
    try {
        saveHistory(history_->runs(), historyDir());
    } catch (const std::exception& e) {
        // The window closes anyway; the runs of this session are then not kept.
        std::fprintf(stderr, "mirada: the history could not be saved: %s\n", e.what());
    }
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
    if (gridMode_ == GridMode::Run && !liveView_ && shownRun_ == 0) showPlaceholders();
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
        item->setText(2, percentText(c.probability));
        item->setData(2, Qt::UserRole, static_cast<double>(c.probability));
        item->setToolTip(2, QString::number(c.probability, 'g', 6));
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
    if (session_->running() || batchView_->running()) return;
    if (!session_->hasModel() || !session_->hasImage()) {
        showError(tr("Choose a model and an image first"));
        return;
    }
    try {
        RunPlan plan = buildRunPlan();
        ui_->errorBanner->hide();
        // Maps whose inputs did not change since the shown (or last) run on this
        // image and model are taken over instead of computed again.
        int kept = 0;
        reuseBase_.clear();
        const auto base = baseRun();
        int target = plan.target_index;
        if (target < 0 && !session_->prediction().empty()) target = session_->prediction().front().index;
        if (base && target >= 0) {
            for (auto& m : plan.methods) {
                const auto it = base->inputs.find(m.method);
                const auto map = base->map(m.method);
                if (it != base->inputs.end() && map && it->second == methodInputs(plan, m, target)) {
                    m.reuse = map;
                    ++kept;
                }
            }
            if (kept > 0) reuseBase_ = base->name;
        }
        if (session_->run(plan)) {
            const int computed = static_cast<int>(plan.methods.size()) - kept;
            ui_->runSummaryLabel->setText(
                kept > 0 ? tr("Running %n method(s), %1 kept from %2…", nullptr, computed).arg(kept).arg(reuseBase_)
                         : tr("Running %n method(s)…", nullptr, computed));
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
    if (!liveView_ || gridMode_ != GridMode::Run) return;
    MethodSlot shown = slots[slot];
    shown.reusedFrom = reuseBase_;
    grid()->showSlot(slot, shown);
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
    int kept = 0;
    for (const auto& s : session_->slots()) kept += s.reused;
    QString text = tr("%n map(s) in %1 s", nullptr, done).arg(QString::number(seconds, 'f', 2));
    if (kept) text += tr(" · %1 kept from %2 (unchanged)").arg(kept).arg(reuseBase_);
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
    if (session_->hasResults()) {
        addRunToHistory();
        // The run's own summary (showing it as a history run wrote another), and why its precision.
        ui_->runSummaryLabel->setText(text + QStringLiteral(" · ") + history_->runs().back()->name);
        ui_->runSummaryLabel->setToolTip(precisionNote.isEmpty() ? ui_->runSummaryLabel->text() : precisionNote);
    } else if (liveView_ && !session_->slots().empty()) {
        liveView_ = true;  // nothing finished (all failed or cancelled): the tiles say why
    } else {
        liveView_ = false;
        refreshGrid();
    }
    updateActions();
    Q_EMIT runFinished();
}

void MainWindow::showMetricsState() {
    const MethodSlot& m = session_->metricsSlot();
    const int tab = ui_->resultsTabs->indexOf(ui_->metricsPage);
    switch (m.state) {
        case MethodState::NotRun:
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
            metricsView()->setExportBaseName(imageStem());
            metricsView()->showMetrics(metrics);
            if (liveView_ && gridMode_ == GridMode::Run) {
                showMetricLines(*metrics);
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
    // One thing at a time on the CPU: a single-image run and a batch wait for each other.
    const bool batch = batchView_->running();
    ui_->runButton->setEnabled(ready && !running && !batch);
    ui_->actionRun->setEnabled(ready && !running && !batch);
    ui_->runButton->setToolTip(batch ? tr("A batch is running (Batch tab): cancel it or wait to run this image")
                                     : tr("Compute every enabled method (F5)"));
    batchView_->setSessionBusy(running || session_->busyLoading() || !session_->hasModel(),
                               running                   ? tr("Waiting: a single-image run is in progress")
                               : session_->busyLoading() ? tr("Waiting: the model is loading")
                                                         : tr("No model loaded"));
    ui_->cancelButton->setEnabled(running);
    ui_->actionCancel->setEnabled(running);
    const bool results = hasShownResults() && !running;
    for (QAction* a :
         {ui_->actionExportAll, ui_->actionExportSheet, ui_->actionExportHeatmaps, ui_->actionExportReport})
        a->setEnabled(results);
    ui_->exportButton->setEnabled(results);
    if (exportRunsButton_) exportRunsButton_->setEnabled(history_->count() > 0 && !running);
    const bool picked = historyList_ && historyList_->currentItem();
    for (QToolButton* b : {pinButton_, renameButton_, deleteButton_})
        if (b) b->setEnabled(picked && !running);
    if (pinButton_ && picked) {
        const auto run = history_->find(historyList_->currentItem()->data(Qt::UserRole).toInt());
        pinButton_->setText(run && run->pinned ? tr("Unpin") : tr("Pin"));
    }
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
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Export %1 into folder").arg(what), exportFolder());
    if (!dir.isEmpty() && exportTo(dir, options)) rememberExportFolder(dir);
}

bool MainWindow::exportTo(const QString& dir, const ExportOptions& options) {
    if (!hasShownResults() || session_->running()) {
        showError(tr("Nothing to export yet: run the methods first"));
        return false;
    }
    try {
        const RunRecord run = shownRecord();
        const QString stem = run.image_file.empty() ? imageStem() : QFileInfo(qs(run.image_file)).completeBaseName();
        const auto files = exportRun(std::filesystem::path(ss(dir)), ss(stem), run, options);
        exported(
            tr("Wrote %n file(s) to %1", nullptr, static_cast<int>(files.size())).arg(QDir::toNativeSeparators(dir)),
            dir);
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
        writeImageAtomic(
            std::filesystem::path(ss(file)),
            renderOverlay(grid()->tileImage(index), e->heatmap, grid()->tile(index)->colourScale(), overlayOptions()));
        statusBar()->showMessage(tr("Saved %1").arg(QDir::toNativeSeparators(file)), 6000);
        return true;
    } catch (const std::exception& ex) {
        showError(tr("Could not save the overlay: %1").arg(qs(ex.what())));
        return false;
    }
}

// ----------------------------------------------------------------- history

void MainWindow::buildHistoryBar() {
    auto* bar = new QWidget(ui_->mapsPage);
    bar->setObjectName(QStringLiteral("historyBar"));
    auto* row = new QHBoxLayout(bar);
    row->setContentsMargins(0, 0, 0, 0);
    row->setSpacing(6);
    historyList_ = new QListWidget(bar);
    historyList_->setObjectName(QStringLiteral("historyList"));
    historyList_->setFlow(QListView::LeftToRight);
    historyList_->setWrapping(false);
    // One row: the newest run is scrolled into view; the wheel and the arrow keys scroll.
    historyList_->setIconSize(QSize(28, 28));
    historyList_->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    historyList_->setHorizontalScrollMode(QAbstractItemView::ScrollPerPixel);  // the newest at the right edge
    historyList_->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    historyList_->setFixedHeight(historyList_->iconSize().height() + 8);
    historyList_->setMinimumWidth(160);
    historyList_->setSpacing(1);
    historyList_->setContextMenuPolicy(Qt::CustomContextMenu);
    historyList_->setToolTip(
        tr("Every finished run of this session. Click one to show it; tick runs to compare one method across "
           "them (Show: one method across runs, or their difference). Right-click to pin, rename, delete or "
           "export. The oldest unpinned runs are dropped after %1.")
            .arg(RunHistory::kMaxUnpinned));
    row->addWidget(historyList_, 1);

    auto* side = new QHBoxLayout;
    side->setSpacing(2);
    gridModeCombo_ = new QComboBox(bar);
    gridModeCombo_->setObjectName(QStringLiteral("gridModeCombo"));
    gridModeCombo_->addItem(tr("Every method of a run"), static_cast<int>(GridMode::Run));
    gridModeCombo_->addItem(tr("One method across runs"), static_cast<int>(GridMode::MethodAcrossRuns));
    gridModeCombo_->addItem(tr("Difference of two runs"), static_cast<int>(GridMode::Difference));
    gridModeCombo_->setToolTip(
        tr("Every method of a run: the run picked in the history (the newest by default). One method across "
           "runs: the chosen method's map in every ticked run (all runs when none is ticked). Difference: the "
           "two newest ticked runs and their difference (newer − older, same image size)."));
    gridMethodCombo_ = new QComboBox(bar);
    gridMethodCombo_->setObjectName(QStringLiteral("gridMethodCombo"));
    gridMethodCombo_->setToolTip(tr("The method to compare across runs"));
    gridMethodCombo_->setEnabled(false);
    gridMethodCombo_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    gridMethodCombo_->setMinimumContentsLength(10);
    side->addWidget(gridModeCombo_);
    side->addWidget(gridMethodCombo_);
    // The history's commands in one menu (the strip keeps the width): the
    // buttons below are their targets, not shown themselves.
    auto button = [&](QToolButton*& b, const QString& name, const QString& text, const QString& tip) {
        b = new QToolButton(bar);
        b->setObjectName(name);
        b->setText(text);
        b->setToolTip(tip);
        b->hide();
    };
    button(pinButton_, QStringLiteral("pinRunButton"), tr("Pin"),
           tr("Keep this run however many runs follow (pinned runs are never dropped)"));
    button(renameButton_, QStringLiteral("renameRunButton"), tr("Rename…"), tr("Give this run a name"));
    button(deleteButton_, QStringLiteral("deleteRunButton"), tr("Delete"), tr("Remove this run from the history"));
    button(exportRunsButton_, QStringLiteral("exportRunsButton"), tr("Export runs…"),
           tr("Write every run of the history into a folder, one sub-folder per run with the files Export all "
              "writes"));
    auto* runs = new QToolButton(bar);
    runs->setObjectName(QStringLiteral("runsMenuButton"));
    runs->setText(tr("Runs"));
    runs->setToolTip(tr("Pin, rename, delete or export the runs of the history"));
    runs->setPopupMode(QToolButton::InstantPopup);
    runs->setAutoRaise(true);
    auto* runsMenu = new QMenu(runs);
    runs->setMenu(runsMenu);
    connect(runsMenu, &QMenu::aboutToShow, this, [this, runsMenu]() {
        runsMenu->clear();
        for (QToolButton* b : {pinButton_, renameButton_, deleteButton_, exportRunsButton_}) {
            if (b == exportRunsButton_) runsMenu->addSeparator();
            QAction* a = runsMenu->addAction(b->text(), b, &QToolButton::click);
            a->setEnabled(b->isEnabled());
            a->setToolTip(b->toolTip());
        }
    });
    side->addWidget(runs);
    row->addLayout(side);
    bar->setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Fixed);
    ui_->mapsLayout->insertWidget(0, bar);
    ui_->mapsLayout->setStretchFactor(ui_->resultsScroll, 1);

    connect(history_, &RunHistory::changed, this, &MainWindow::rebuildHistoryList);
    connect(historyList_, &QListWidget::itemClicked, this, [this](QListWidgetItem* item) {
        if (gridMode_ == GridMode::Run) showHistoryRun(item->data(Qt::UserRole).toInt());
        updateActions();
    });
    connect(historyList_, &QListWidget::itemChanged, this, [this](QListWidgetItem* item) {
        const int id = item->data(Qt::UserRole).toInt();
        const bool on = item->checkState() == Qt::Checked;
        const bool was = std::find(ticked_.begin(), ticked_.end(), id) != ticked_.end();
        if (on == was) return;
        setRunTicked(id, on);
    });
    connect(gridModeCombo_, &QComboBox::activated, this,
            [this](int i) { setGridMode(static_cast<GridMode>(gridModeCombo_->itemData(i).toInt())); });
    connect(gridMethodCombo_, &QComboBox::activated, this, [this](int) { refreshGrid(); });
    auto currentId = [this]() {
        auto* item = historyList_->currentItem();
        return item ? item->data(Qt::UserRole).toInt() : 0;
    };
    connect(pinButton_, &QToolButton::clicked, this, [this, currentId]() {
        if (const auto run = history_->find(currentId())) history_->setPinned(run->id, !run->pinned);
    });
    connect(renameButton_, &QToolButton::clicked, this, [this, currentId]() {
        const auto run = history_->find(currentId());
        if (!run) return;
        bool ok = false;
        const QString name = QInputDialog::getText(this, tr("Rename run"), tr("Name of %1:").arg(run->summary()),
                                                   QLineEdit::Normal, run->name, &ok);
        if (ok) history_->rename(run->id, name);
    });
    connect(deleteButton_, &QToolButton::clicked, this, [this, currentId]() {
        const int id = currentId();
        if (id == 0) return;
        history_->remove(id);
        if (shownRun_ == id) {
            shownRun_ = 0;
            refreshGrid();
        }
    });
    connect(exportRunsButton_, &QToolButton::clicked, this, [this]() {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Export every run into folder"), exportFolder());
        if (!dir.isEmpty() && exportAllRuns(dir)) rememberExportFolder(dir);
    });
    connect(historyList_, &QWidget::customContextMenuRequested, this, [this](const QPoint& pos) {
        QListWidgetItem* item = historyList_->itemAt(pos);
        if (!item) return;
        historyList_->setCurrentItem(item);
        updateActions();
        QMenu menu(this);
        const auto run = history_->find(item->data(Qt::UserRole).toInt());
        menu.addAction(tr("Show"), this, [this, id = run->id]() {
            setGridMode(GridMode::Run);
            showHistoryRun(id);
        });
        menu.addAction(run->pinned ? tr("Unpin") : tr("Pin"), pinButton_, &QToolButton::click);
        menu.addAction(tr("Rename…"), renameButton_, &QToolButton::click);
        menu.addAction(tr("Delete"), deleteButton_, &QToolButton::click);
        menu.exec(historyList_->viewport()->mapToGlobal(pos));
    });
}

void MainWindow::rebuildHistoryList() {
    const QSignalBlocker block(historyList_);
    const int current = historyList_->currentItem() ? historyList_->currentItem()->data(Qt::UserRole).toInt() : 0;
    historyList_->clear();
    // Ticks of deleted runs go.
    ticked_.erase(std::remove_if(ticked_.begin(), ticked_.end(), [this](int id) { return !history_->find(id); }),
                  ticked_.end());
    for (const auto& run : history_->runs()) {
        auto* item = new QListWidgetItem(historyList_);
        item->setData(Qt::UserRole, run->id);
        item->setIcon(QIcon(QPixmap::fromImage(run->thumbnail)));
        int maps = 0;
        for (const auto& s : run->slots) maps += static_cast<bool>(s.explanation);
        item->setText(QStringLiteral("%1%2").arg(run->pinned ? QStringLiteral("★ ") : QString(), run->name));
        item->setToolTip(tr("<b>%1</b>%2<br>%3<br>%n map(s), finished %4", nullptr, maps)
                             .arg(run->name.toHtmlEscaped(), run->pinned ? tr(" (pinned)") : QString(),
                                  run->summary().toHtmlEscaped(),
                                  QLocale().toString(run->finished.time(), QLocale::ShortFormat)));
        item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
        item->setCheckState(std::find(ticked_.begin(), ticked_.end(), run->id) != ticked_.end() ? Qt::Checked
                                                                                                : Qt::Unchecked);
        if (run->id == current) historyList_->setCurrentItem(item);
    }
    if (historyList_->count() > 0) historyList_->scrollToItem(historyList_->item(historyList_->count() - 1));
    fillGridMethods();
    updateActions();
}

void MainWindow::fillGridMethods() {
    const QString current = gridMethodCombo_->currentData().toString();
    const QSignalBlocker block(gridMethodCombo_);
    gridMethodCombo_->clear();
    for (const auto& entry : methodRegistry()) {
        bool any = false;
        for (const auto& run : history_->runs()) any = any || static_cast<bool>(run->map(entry.name));
        if (any) gridMethodCombo_->addItem(qs(entry.title), qs(entry.name));
    }
    const int i = gridMethodCombo_->findData(current);
    gridMethodCombo_->setCurrentIndex(i >= 0 ? i : 0);
}

void MainWindow::addRunToHistory() {
    HistoryRun run;
    run.finished = QDateTime::currentDateTime();
    run.plan = session_->lastPlan();
    run.record = session_->record(overlayOptions());
    run.imagePath = qs(run.record.image_file);
    run.modelSpec = session_->modelSpec();
    run.deviceName = session_->deviceName();
    run.slots = session_->slots();
    for (auto& s : run.slots) s.reusedFrom = reuseBase_;
    run.metrics = session_->metrics();
    for (const auto& m : run.plan.methods) {
        const auto map = run.map(m.method);
        // A map's own settings record tells its target; inputs are kept only for finished maps.
        if (map) run.inputs[m.method] = methodInputs(run.plan, m, map->target_index);
    }
    const QImage q = toQImage(run.record.image);
    run.thumbnail =
        q.scaled(36, 36, Qt::KeepAspectRatio, q.width() < 72 ? Qt::FastTransformation : Qt::SmoothTransformation);
    const int id = history_->add(std::move(run));
    liveView_ = false;
    shownRun_ = id;
    selectHistoryItem(id);
    refreshGrid();
}

void MainWindow::selectHistoryItem(int id) {
    const QSignalBlocker block(historyList_);
    for (int i = 0; i < historyList_->count(); ++i)
        if (historyList_->item(i)->data(Qt::UserRole).toInt() == id) historyList_->setCurrentRow(i);
}

bool MainWindow::matchesCurrentInputs(const HistoryRun& run) const {
    return session_->hasImage() && session_->hasModel() && run.record.image_sha256 == session_->image()->sha256 &&
           run.modelSpec == session_->modelSpec() && run.deviceName == session_->deviceName();
}

std::shared_ptr<const HistoryRun> MainWindow::baseRun() const {
    if (const auto shown = history_->find(shownRun_); shown && matchesCurrentInputs(*shown)) return shown;
    const auto& runs = history_->runs();
    for (auto it = runs.rbegin(); it != runs.rend(); ++it)
        if (matchesCurrentInputs(**it)) return *it;
    return nullptr;
}

int MainWindow::openFinishedRun(const HistoryRun& run) {
    const int id = history_->add(run);
    if (gridMode_ != GridMode::Run) setGridMode(GridMode::Run);
    showHistoryRun(id);
    ui_->resultsTabs->setCurrentWidget(ui_->mapsPage);
    statusBar()->showMessage(tr("Opened %1 as %2").arg(QFileInfo(run.imagePath).fileName(), run.name), 6000);
    return id;
}

void MainWindow::showHistoryRun(int id) {
    if (!history_->find(id)) return;
    shownRun_ = id;
    liveView_ = false;
    selectHistoryItem(id);
    refreshGrid();
    updateActions();
}

std::vector<int> MainWindow::tickedRuns() const {
    std::vector<int> ids = ticked_;
    std::sort(ids.begin(), ids.end());
    return ids;
}

void MainWindow::setRunTicked(int id, bool ticked) {
    if (!history_->find(id)) return;
    const auto it = std::find(ticked_.begin(), ticked_.end(), id);
    if (ticked && it == ticked_.end()) ticked_.push_back(id);
    if (!ticked && it != ticked_.end()) ticked_.erase(it);
    for (int i = 0; i < historyList_->count(); ++i) {
        auto* item = historyList_->item(i);
        if (item->data(Qt::UserRole).toInt() != id) continue;
        const QSignalBlocker block(historyList_);
        item->setCheckState(ticked ? Qt::Checked : Qt::Unchecked);
    }
    if (gridMode_ != GridMode::Run) refreshGrid();
}

void MainWindow::setGridMode(GridMode mode, const std::string& method) {
    gridMode_ = mode;
    {
        const QSignalBlocker block(gridModeCombo_);
        gridModeCombo_->setCurrentIndex(gridModeCombo_->findData(static_cast<int>(mode)));
    }
    if (!method.empty()) {
        const int i = gridMethodCombo_->findData(qs(method));
        if (i >= 0) gridMethodCombo_->setCurrentIndex(i);
    }
    gridMethodCombo_->setEnabled(mode != GridMode::Run);
    if (mode != GridMode::Run) liveView_ = false;
    refreshGrid();
}

std::string MainWindow::gridMethod() const { return ss(gridMethodCombo_->currentData().toString()); }

std::vector<std::shared_ptr<const HistoryRun>> MainWindow::comparedRuns(const std::string& method) const {
    std::vector<std::shared_ptr<const HistoryRun>> runs;
    const auto ticked = tickedRuns();
    for (const auto& run : history_->runs()) {
        if (!run->map(method)) continue;
        if (!ticked.empty() && std::find(ticked.begin(), ticked.end(), run->id) == ticked.end()) continue;
        runs.push_back(run);
    }
    constexpr size_t kMaxTiles = 8;  // all runs when none is ticked: the newest eight
    if (ticked.empty() && runs.size() > kMaxTiles) runs.erase(runs.begin(), runs.end() - kMaxTiles);
    return runs;
}

void MainWindow::refreshGrid() {
    if (gridMode_ != GridMode::Run) {
        showComparison();
        return;
    }
    if (liveView_) return;  // the session's run draws itself
    if (const auto run = history_->find(shownRun_))
        showRunTiles(*run);
    else
        showPlaceholders();
    updateActions();
}

void MainWindow::showPlaceholders() {
    std::vector<MethodSlot> slots;
    for (auto* sec : sections_) {
        if (!sec->isChecked()) continue;
        MethodSlot slot;
        slot.method = sec->method();
        slot.title = sec->title();
        slot.state = MethodState::NotRun;
        slots.push_back(slot);
    }
    if (session_->hasImage() && grid()->image().data != session_->image()->rgb.data) {
        const cv::Mat& rgb = session_->image()->rgb;
        grid()->showImage(rgb, QFileInfo(session_->imagePath()).fileName(), tr("%1×%2 px").arg(rgb.cols).arg(rgb.rows));
        showModelInput();
    }
    grid()->showTiles(slots, {}, true);
    grid()->clearExtraLines();
}

void MainWindow::showRunTiles(const HistoryRun& run) {
    std::vector<MethodSlot> slots = run.slots;
    const bool current = matchesCurrentInputs(run);
    if (current) {
        // Out of date: the form would now give another map.
        try {
            const RunPlan plan = buildRunPlan();
            int target = plan.target_index;
            if (target < 0 && !session_->prediction().empty()) target = session_->prediction().front().index;
            for (auto& slot : slots) {
                if (!slot.explanation) continue;
                const auto then = run.inputs.find(slot.method);
                if (then == run.inputs.end()) continue;
                PlannedMethod now{slot.method, {}, nullptr};
                bool planned = false;
                for (const auto& m : plan.methods)
                    if (m.method == slot.method) {
                        now = m;
                        planned = true;
                    }
                if (!planned)
                    if (auto* sec = section(slot.method)) now.params = sec->form()->values();
                const QStringList why = inputChanges(then->second, methodInputs(plan, now, target));
                slot.outOfDate = !why.isEmpty();
                slot.outOfDateWhy = why.join(QStringLiteral(", "));
            }
            // Methods ticked since: placeholders to come.
            for (const auto& m : plan.methods) {
                const bool present =
                    std::any_of(slots.begin(), slots.end(), [&](const MethodSlot& s) { return s.method == m.method; });
                if (present) continue;
                MethodSlot slot;
                slot.method = m.method;
                slot.title = qs(makeExplainer(m.method)->title());
                slot.state = MethodState::NotRun;
                slots.push_back(slot);
            }
        } catch (const std::exception&) {
            // No plan (no method ticked, unknown target): nothing to compare with.
        }
    }
    const cv::Mat& rgb = run.record.image;
    if (grid()->image().data != rgb.data) {
        grid()->showImage(rgb, QFileInfo(run.imagePath).fileName(),
                          tr("%1×%2 px · %3").arg(rgb.cols).arg(rgb.rows).arg(run.name));
        if (current) showModelInput();
    }
    grid()->showTiles(slots, {}, true);
    grid()->clearExtraLines();
    if (run.metrics) {
        showMetricLines(*run.metrics);
        metricsView()->setExportBaseName(QFileInfo(run.imagePath).completeBaseName());
        metricsView()->showMetrics(run.metrics);
    } else if (run.restored && run.record.extra.contains("sheet_lines")) {
        // From an earlier session: the AUC lines are kept, the curves are not.
        const auto& lines = run.record.extra["sheet_lines"];
        for (size_t i = 0; i < run.record.explanations.size() && i < lines.size(); ++i) {
            QStringList l;
            for (const auto& line : lines[i]) l << qs(line.get<std::string>());
            grid()->setExtraLines(run.record.explanations[i].method, l);
        }
        metricsView()->showMetrics(nullptr);
        metricsView()->showMessage(tr("%1 is from an earlier session: its AUCs are under the tiles, its curves were "
                                      "not kept. Run again (F5) to see them.")
                                       .arg(run.name));
    } else {
        metricsView()->showMetrics(nullptr);
        metricsView()->showMessage(tr("Metrics were off for %1 (left: Metrics).").arg(run.name));
    }
    int stale = 0;
    for (const auto& s : slots) stale += s.outOfDate;
    QString text = tr("Showing %1: %2").arg(run.name, run.summary());
    if (stale) text += tr(" · %n map(s) out of date: Run (F5) recomputes only those", nullptr, stale);
    ui_->runSummaryLabel->setText(text);
    ui_->runSummaryLabel->setToolTip(text);
}

void MainWindow::showComparison() {
    const std::string method = gridMethod();
    const auto runs = comparedRuns(method);
    std::vector<MethodSlot> slots;
    std::vector<cv::Mat> images;
    auto add = [&](const HistoryRun& run) {
        MethodSlot slot;
        slot.method = method;
        slot.explanation = run.map(method);
        slot.state = MethodState::Done;
        slot.title = QStringLiteral("%1: %2").arg(run.name, qs(slot.explanation->method_title));
        slots.push_back(slot);
        images.push_back(run.record.image);
    };
    QString text;
    QStringList diffLines;
    if (gridMode_ == GridMode::MethodAcrossRuns) {
        for (const auto& run : runs) add(*run);
        text = runs.empty() ? tr("No run has a %1 map yet.").arg(gridMethodCombo_->currentText())
                            : tr("%1 in %n run(s)%2", nullptr, static_cast<int>(runs.size()))
                                  .arg(gridMethodCombo_->currentText(),
                                       tickedRuns().empty() ? tr(" (tick runs in the history to choose)") : QString());
    } else if (runs.size() < 2) {
        for (const auto& run : runs) add(*run);
        text = tr("Tick two runs with a %1 map to see their difference.").arg(gridMethodCombo_->currentText());
    } else {
        const auto& older = *runs[runs.size() - 2];
        const auto& newer = *runs.back();
        add(newer);
        add(older);
        const Explanation& a = *newer.map(method);
        const Explanation& b = *older.map(method);
        MethodSlot diff;
        diff.method = "difference";
        diff.title = tr("%1 − %2").arg(newer.name, older.name);
        if (a.heatmap.size() != b.heatmap.size()) {
            diff.state = MethodState::Failed;
            diff.message = tr("The maps differ in size (%1×%2 and %3×%4): a difference needs two maps of the same "
                              "image size")
                               .arg(a.heatmap.cols)
                               .arg(a.heatmap.rows)
                               .arg(b.heatmap.cols)
                               .arg(b.heatmap.rows);
        } else {
            auto d = std::make_shared<Explanation>();
            d->method = "difference";
            d->method_title = ss(diff.title);
            d->heatmap = a.heatmap - b.heatmap;
            d->signed_map = true;  // red: larger in the newer run, blue: larger in the older
            d->target_index = a.target_index;
            d->target_label = a.target_label;
            d->target_probability = a.target_probability;
            if (newer.record.image_sha256 != older.record.image_sha256)
                d->warnings.push_back(
                    "The two maps are of different images: their difference compares places in the picture, not "
                    "the same content");
            if (a.target_index != b.target_index)
                d->warnings.push_back("The two maps explain different classes (" + std::to_string(a.target_index) +
                                      " and " + std::to_string(b.target_index) + ")");
            diff.explanation = d;
            diff.state = MethodState::Done;
            cv::Scalar meanA, sdA, meanB, sdB;
            cv::meanStdDev(a.heatmap, meanA, sdA);
            cv::meanStdDev(b.heatmap, meanB, sdB);
            const double cov = cv::mean((a.heatmap - meanA[0]).mul(b.heatmap - meanB[0]))[0];
            const double r = sdA[0] > 0 && sdB[0] > 0 ? cov / (sdA[0] * sdB[0]) : 0.0;
            double maxAbs = 0;
            cv::minMaxLoc(cv::abs(d->heatmap), nullptr, &maxAbs);
            diffLines << tr("largest |difference| %1").arg(QString::number(maxAbs, 'g', 3))
                      << tr("correlation of the two maps %1").arg(QString::number(r, 'f', 2));
            text = tr("%1: %2 − %3 (red: larger in %2, blue: larger in %3) · largest |difference| %4 · "
                      "correlation %5")
                       .arg(gridMethodCombo_->currentText(), newer.name, older.name)
                       .arg(QString::number(maxAbs, 'g', 3))
                       .arg(QString::number(r, 'f', 2));
        }
        slots.push_back(diff);
        images.push_back(newer.record.image);
    }
    grid()->showTiles(slots, images, false);
    grid()->clearExtraLines();
    if (!diffLines.isEmpty()) grid()->setExtraLines("difference", diffLines);
    ui_->runSummaryLabel->setText(text);
    ui_->runSummaryLabel->setToolTip(text);
}

RunRecord MainWindow::shownRecord() const {
    if (const auto run = history_->find(shownRun_); run && !liveView_ && gridMode_ == GridMode::Run) {
        RunRecord r = run->record;
        r.overlay = overlayOptions();
        return r;
    }
    return session_->record(overlayOptions());
}

bool MainWindow::hasShownResults() const {
    if (!liveView_ && gridMode_ == GridMode::Run && history_->find(shownRun_)) return true;
    return session_->hasResults();
}

bool MainWindow::exportAllRuns(const QString& dir) {
    if (history_->count() == 0) {
        showError(tr("No run to export yet: run the methods first"));
        return false;
    }
    try {
        size_t files = 0;
        for (const auto& run : history_->runs()) {
            QString folder = QStringLiteral("%1-%2").arg(run->id, 2, 10, QLatin1Char('0')).arg(run->name);
            folder.replace(QRegularExpression(QStringLiteral("[^A-Za-z0-9._ -]")), QStringLiteral("_"));
            RunRecord r = run->record;
            r.overlay = overlayOptions();
            r.extra["run"] = {{"name", ss(run->name)},
                              {"pinned", run->pinned},
                              {"finished", ss(run->finished.toString(Qt::ISODate))}};
            files += exportRun(std::filesystem::path(ss(dir)) / ss(folder),
                               ss(QFileInfo(run->imagePath).completeBaseName()), r)
                         .size();
        }
        exported(tr("Wrote %n run(s), %1 files, to %2", nullptr, history_->count())
                     .arg(files)
                     .arg(QDir::toNativeSeparators(dir)),
                 dir);
        return true;
    } catch (const std::exception& e) {
        showError(tr("Export failed, existing files were left as they were: %1").arg(qs(e.what())));
        return false;
    }
}

QString MainWindow::exportFolder() const {
    if (!lastExportDir_.isEmpty() && QFileInfo(lastExportDir_).isDir()) return lastExportDir_;
    return QDir::currentPath();
}

void MainWindow::exported(const QString& text, const QString& dir) {
    statusBar()->showMessage(text, 8000);
    lastNotice_ = text;
    rememberExportFolder(dir);
}

void MainWindow::showMetricLines(const RunMetrics& metrics) {
    const auto lines = faithfulnessSheetLines(metrics.faithfulness);
    for (size_t i = 0; i < metrics.methods.size() && i < lines.size(); ++i) {
        QStringList l;
        for (const auto& line : lines[i]) l << qs(line);
        if (metrics.has_sanity && i < metrics.sanity.methods.size())
            l << qs(sanitySheetLine(metrics.sanity.methods[i]));
        grid()->setExtraLines(metrics.methods[i], l);
    }
}

void MainWindow::rememberExportFolder(const QString& dir) {
    lastExportDir_ = QFileInfo(dir).absoluteFilePath();
    const QSignalBlocker block(metricsView());
    metricsView()->setExportFolder(lastExportDir_);
}

void MainWindow::setSettingsPanelVisible(bool visible) {
    ui_->formScroll->setVisible(visible);
    if (panelAction_->isChecked() != visible) panelAction_->setChecked(visible);
}

bool MainWindow::settingsPanelVisible() const { return !ui_->formScroll->isHidden(); }

// -------------------------------------------------------------- messages

void MainWindow::showError(const QString& message) {
    lastError_ = message;
    ui_->errorLabel->setText(message);
    errorLine_->setFullText(QString(message).replace(QLatin1Char('\n'), QLatin1Char(' ')));
    errorLine_->setToolTip(message);
    errorDetailsButton_->setChecked(false);
    ui_->errorLabel->hide();
    errorLine_->show();
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
