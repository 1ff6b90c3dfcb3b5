#include "batch_view.hpp"

#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QCryptographicHash>
#include <QDesktopServices>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QRegularExpression>
#include <QSettings>
#include <QSpinBox>
#include <QSplitter>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTableWidget>
#include <QUrl>
#include <QVBoxLayout>
#include <QtCharts/QChartView>
#include <QtCharts/QLineSeries>
#include <QtCharts/QValueAxis>
#include <QtConcurrent>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <opencv2/imgcodecs.hpp>

#include "common/error.hpp"
#include "explain/methods.hpp"
#include "image/image_io.hpp"
#include "models/baseline.hpp"
#include "models/failure_text.hpp"
#include "models/model_zoo.hpp"
#include "qt_image.hpp"
#include "report/npy.hpp"

namespace fs = std::filesystem;

namespace mirada::gui {

namespace {

// The method colours of the Metrics tab (Tableau 10), so a method looks the same in both.
const QColor kColours[] = {QColor(0x4e79a7), QColor(0xf28e2b), QColor(0xe15759), QColor(0x76b7b2), QColor(0x59a14f),
                           QColor(0xedc948), QColor(0xb07aa1), QColor(0xff9da7), QColor(0x9c755f), QColor(0xbab0ac)};

// The value a gallery or table cell sorts by (a number, whatever its text says).
constexpr int kSortRole = Qt::UserRole + 1;
// The image id a gallery row stands for (on the id column's item).
constexpr int kIdRole = Qt::UserRole + 2;

// A cell that sorts by kSortRole as a number; cells without a number (NaN:
// a failed image, no metrics) sort before every number.
class NumberItem : public QTableWidgetItem {
public:
    NumberItem(const QString& text, double key) : QTableWidgetItem(text) {
        setData(kSortRole, key);
        setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    }
    bool operator<(const QTableWidgetItem& other) const override {
        const double a = data(kSortRole).toDouble(), b = other.data(kSortRole).toDouble();
        if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && !std::isnan(b);
        return a < b;
    }
};

QString fixed(double v, int decimals) {
    return std::isfinite(v) ? QString::number(v, 'f', decimals).replace(QLatin1Char('-'), QChar(0x2212))
                            : QStringLiteral("–");
}
// "37 of 200 images".
QString imagesOf(int done, int total) {
    return total == 1 ? QObject::tr("%1 of 1 image").arg(done) : QObject::tr("%1 of %2 images").arg(done).arg(total);
}
QString imageCount(int n) { return n == 1 ? QObject::tr("1 image") : QObject::tr("%1 images").arg(n); }
QString percentText(double p) { return std::isfinite(p) ? fixed(100 * p, 1) + QLatin1Char('%') : QStringLiteral("–"); }

// "45 s", "1 min 5 s", "2 h 3 min".
QString durationText(double seconds) {
    const long s = std::lround(std::max(0.0, seconds));
    if (s < 60) return QObject::tr("%1 s").arg(s);
    if (s < 3600) return QObject::tr("%1 min %2 s").arg(s / 60).arg(s % 60);
    return QObject::tr("%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60);
}

// "0.161 ± 0.045" (n, median and range in the tooltip).
QTableWidgetItem* spreadItem(const Spread& s, int decimals) {
    auto* item = new NumberItem(
        s.n > 0 ? fixed(s.mean, decimals) + QStringLiteral(" ± ") + fixed(s.sd, decimals) : QStringLiteral("–"),
        s.n > 0 ? s.mean : NAN);
    if (s.n > 0)
        item->setToolTip(QObject::tr("mean %1, standard deviation %2 over %3; median %4, from %5 to %6")
                             .arg(fixed(s.mean, 4), fixed(s.sd, 4), imageCount(s.n), fixed(s.median, 4),
                                  fixed(s.min, 4), fixed(s.max, 4)));
    return item;
}

// A small image for the gallery: a tiny one (Fashion-MNIST's 28 px) enlarged
// by a whole factor without smoothing so its pixels stay sharp squares.
QImage thumbnail(const QImage& image) {
    if (image.isNull()) return {};
    const int side = std::max(image.width(), image.height());
    if (side <= BatchView::kThumbnail) {
        const int factor = std::max(1, BatchView::kThumbnail / side);
        return image.scaled(image.width() * factor, image.height() * factor, Qt::IgnoreAspectRatio,
                            Qt::FastTransformation);
    }
    return image.scaled(BatchView::kThumbnail, BatchView::kThumbnail, Qt::KeepAspectRatio, Qt::SmoothTransformation);
}

QImage thumbnailOf(const fs::path& file) { return thumbnail(QImage(qs(file.string()))); }

// The gallery's row for one image: its thumbnails are read here, on the batch's thread.
BatchGalleryRow galleryRow(BatchImageResult result, int order, const fs::path& out,
                           const std::vector<std::string>& methods) {
    BatchGalleryRow row;
    row.order = order;
    row.input = result.input_file.empty() ? thumbnailOf(result.file) : thumbnailOf(out / result.input_file);
    for (const auto& m : methods) {
        QImage overlay;
        for (const auto& mr : result.methods)
            if (mr.method == m && !mr.overlay_file.empty()) overlay = thumbnailOf(out / mr.overlay_file);
        row.overlays.push_back(overlay);
    }
    result.random_deletion = result.random_insertion = {};
    for (auto& mr : result.methods) mr.deletion = mr.insertion = {};
    row.result = std::move(result);
    return row;
}

nlohmann::json readJson(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw Error("'" + file.string() +
                    "' is missing: the batch's files for this image are gone; run the batch again");
    try {
        return nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        throw Error("'" + file.string() + "' is damaged (" + e.what() + "); run the batch again");
    }
}

// The chart style of the Metrics tab: 0..1 on both axes, ticks every 0.2, legend on the right.
QChart* makeChart(const QString& xTitle) {
    auto* chart = new QChart;
    chart->legend()->setAlignment(Qt::AlignRight);
    chart->legend()->setMarkerShape(QLegend::MarkerShapeFromSeries);
    chart->setMargins(QMargins(2, 2, 2, 2));
    chart->setBackgroundRoundness(0);
    // The tab is short at 1280x720: a smaller legend keeps every method and the floor in view.
    QFont legendFont = chart->legend()->font();
    legendFont.setPointSizeF(legendFont.pointSizeF() * 0.85);
    chart->legend()->setFont(legendFont);
    for (Qt::Alignment side : {Qt::AlignBottom, Qt::AlignLeft}) {
        auto* axis = new QValueAxis;
        axis->setRange(0, 1);
        axis->setTickType(QValueAxis::TicksFixed);
        axis->setTickCount(6);
        axis->setLabelFormat(QStringLiteral("%.1f"));
        axis->setTitleText(side == Qt::AlignBottom ? xTitle : QObject::tr("p(target)"));
        chart->addAxis(axis, side);
    }
    return chart;
}

void addCurve(QChart* chart, const std::vector<double>& x, const std::vector<double>& y, const QString& name,
              const QColor& colour, bool dashed) {
    if (x.empty()) return;
    auto* series = new QLineSeries;
    series->setName(name);
    QList<QPointF> points;
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) points.append(QPointF(x[i], y[i]));
    series->replace(points);
    QPen pen(dashed ? QColor(Qt::darkGray) : colour, dashed ? 1.5 : 2.0);
    if (dashed) pen.setStyle(Qt::DashLine);
    series->setPen(pen);
    chart->addSeries(series);
    for (auto* axis : chart->axes()) series->attachAxis(axis);
}

QStringList splitPatterns(const QString& text) {
    return text.split(QRegularExpression(QStringLiteral("[\\s,;]+")), Qt::SkipEmptyParts);
}

}  // namespace

struct BatchView::Shared {
    std::atomic<bool> cancel{false};
    std::mutex mutex;
    BatchProgress latest;  // the newest progress; the GUI is told once per batch of updates
    bool posted = false;
};

struct BatchView::Outcome {
    std::shared_ptr<BatchSummary> summary;  // null when the batch could not start
    QString error;
};

BatchView::BatchView(QWidget* parent) : QWidget(parent) {
    pool_.setMaxThreadCount(1);
    pool_.setExpiryTimeout(-1);  // one thread for the model's whole life (LibTorch keeps per-thread state)
    buildControls();
    buildResults();
    updateButtons();
}

BatchView::~BatchView() {
    if (shared_) shared_->cancel = true;
    pool_.waitForDone();
}

void BatchView::buildControls() {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->setSpacing(4);

    auto* grid = new QGridLayout;
    grid->setHorizontalSpacing(6);
    grid->setVerticalSpacing(4);
    auto browse = [this](const QString& name, const QString& tip) {
        auto* b = new QPushButton(tr("Browse…"), this);
        b->setObjectName(name);
        b->setToolTip(tip);
        return b;
    };
    folderEdit_ = new QLineEdit(this);
    folderEdit_->setObjectName(QStringLiteral("batchFolderEdit"));
    folderEdit_->setPlaceholderText(tr("a folder of images, e.g. one sub-folder per class"));
    folderEdit_->setToolTip(
        tr("Every image below this folder is explained. Sub-folders named like the model's classes "
           "(\"Sneaker\", \"Ankle_boot\", or the class number) give each image its true class."));
    folderBrowse_ = browse(QStringLiteral("batchFolderBrowse"), tr("Choose the folder of images"));
    outputEdit_ = new QLineEdit(this);
    outputEdit_->setObjectName(QStringLiteral("batchOutputEdit"));
    outputEdit_->setToolTip(
        tr("Where the batch writes its files (per image under images/, the summary and report.html). A rerun "
           "with the same settings skips the images already done there."));
    outputBrowse_ = browse(QStringLiteral("batchOutputBrowse"), tr("Choose where the results go"));
    grid->addWidget(new QLabel(tr("Folder"), this), 0, 0);
    grid->addWidget(folderEdit_, 0, 1);
    grid->addWidget(folderBrowse_, 0, 2);
    grid->addWidget(new QLabel(tr("Output"), this), 0, 3);
    grid->addWidget(outputEdit_, 0, 4);
    grid->addWidget(outputBrowse_, 0, 5);
    grid->setColumnStretch(1, 1);
    grid->setColumnStretch(4, 1);
    layout->addLayout(grid);

    auto* options = new QHBoxLayout;
    options->setSpacing(6);
    patternsEdit_ = new QLineEdit(this);
    patternsEdit_->setObjectName(QStringLiteral("batchPatternsEdit"));
    patternsEdit_->setPlaceholderText(tr("all images"));
    patternsEdit_->setToolTip(
        tr("File name patterns, e.g. \"*.png *.jpg\" or \"cat*\"; empty: every image Mirada "
           "reads (png, jpg, bmp, tif, webp)"));
    maxSpin_ = new QSpinBox(this);
    maxSpin_->setObjectName(QStringLiteral("batchMaxSpin"));
    maxSpin_->setRange(0, 1000000);
    maxSpin_->setSpecialValueText(tr("all"));
    maxSpin_->setToolTip(tr("At most this many images (the first ones by name, or a random sample); all: every one"));
    sampleCheck_ = new QCheckBox(tr("random sample, seed"), this);
    sampleCheck_->setObjectName(QStringLiteral("batchSampleCheck"));
    sampleCheck_->setToolTip(tr("With a maximum: a random sample of that size instead of the first images by name"));
    seedSpin_ = new QSpinBox(this);
    seedSpin_->setObjectName(QStringLiteral("batchSeedSpin"));
    seedSpin_->setRange(0, 999999);
    seedSpin_->setToolTip(tr("The same seed draws the same sample"));
    targetCombo_ = new QComboBox(this);
    targetCombo_->setObjectName(QStringLiteral("batchTargetCombo"));
    targetCombo_->addItem(tr("top-1 prediction"), QStringLiteral("top1"));
    targetCombo_->addItem(tr("true class"), QStringLiteral("true"));
    targetCombo_->setToolTip(
        tr("The class each map explains: the model's choice, or the true class from the "
           "sub-folder's name (needs class folders)"));
    options->addWidget(new QLabel(tr("Files"), this));
    options->addWidget(patternsEdit_, 1);
    options->addWidget(new QLabel(tr("At most"), this));
    options->addWidget(maxSpin_);
    options->addWidget(sampleCheck_);
    options->addWidget(seedSpin_);
    options->addWidget(new QLabel(tr("Explain"), this));
    options->addWidget(targetCombo_);
    layout->addLayout(options);

    auto* actions = new QHBoxLayout;
    actions->setSpacing(6);
    metricsLabel_ = new QLabel(this);
    metricsLabel_->setObjectName(QStringLiteral("batchMetricsLabel"));
    metricsLabel_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    busyLabel_ = new QLabel(this);
    busyLabel_->setObjectName(QStringLiteral("batchBusyLabel"));
    busyLabel_->setStyleSheet(QStringLiteral("QLabel { color: #8a5a00; }"));
    runButton_ = new QPushButton(tr("Run batch"), this);
    runButton_->setObjectName(QStringLiteral("batchRunButton"));
    runButton_->setToolTip(tr("Explain every image of the folder with the methods and settings on the left"));
    cancelButton_ = new QPushButton(tr("Cancel"), this);
    cancelButton_->setObjectName(QStringLiteral("batchCancelButton"));
    cancelButton_->setToolTip(
        tr("Stop after discarding the image in progress; the summary describes the images "
           "done, and Run continues where it stopped"));
    exportButton_ = new QPushButton(tr("Export…"), this);
    exportButton_->setObjectName(QStringLiteral("batchExportButton"));
    exportButton_->setToolTip(tr("Copy the batch's files (as mirada-cli batch writes them) into a folder"));
    reportButton_ = new QPushButton(tr("Open report"), this);
    reportButton_->setObjectName(QStringLiteral("batchReportButton"));
    reportButton_->setToolTip(tr("Open report.html of the batch in the web browser"));
    actions->addWidget(metricsLabel_, 1);
    actions->addWidget(busyLabel_);
    actions->addWidget(runButton_);
    actions->addWidget(cancelButton_);
    actions->addWidget(exportButton_);
    actions->addWidget(reportButton_);
    layout->addLayout(actions);

    auto* progressRow = new QHBoxLayout;
    progress_ = new QProgressBar(this);
    progress_->setObjectName(QStringLiteral("batchProgress"));
    progress_->setTextVisible(false);
    progress_->setFixedWidth(160);
    progress_->setRange(0, 1);
    progress_->setValue(0);
    progressLabel_ = new QLabel(tr("Choose a folder and press Run batch."), this);
    progressLabel_->setObjectName(QStringLiteral("batchProgressLabel"));
    progressLabel_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    progressRow->addWidget(progress_);
    progressRow->addWidget(progressLabel_, 1);
    layout->addLayout(progressRow);

    message_ = new QLabel(this);
    message_->setObjectName(QStringLiteral("batchMessage"));
    message_->setWordWrap(true);
    message_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    message_->hide();
    layout->addWidget(message_);

    connect(folderBrowse_, &QPushButton::clicked, this, [this]() {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Folder of images"), folderEdit_->text());
        if (!dir.isEmpty()) setFolder(dir);
    });
    connect(folderEdit_, &QLineEdit::editingFinished, this, [this]() { setFolder(folderEdit_->text()); });
    connect(folderEdit_, &QLineEdit::textChanged, this, [this]() { updateButtons(); });
    connect(outputBrowse_, &QPushButton::clicked, this, [this]() {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Output folder"), outputEdit_->text());
        if (dir.isEmpty()) return;
        outputEdit_->setText(QDir::toNativeSeparators(dir));
        outputFollowsFolder_ = false;
    });
    connect(outputEdit_, &QLineEdit::textEdited, this, [this]() { outputFollowsFolder_ = false; });
    connect(outputEdit_, &QLineEdit::editingFinished, this, [this]() {
        // Emptied: back to the folder's default.
        if (!outputEdit_->text().trimmed().isEmpty()) return;
        outputFollowsFolder_ = true;
        setFolder(folderEdit_->text());
    });
    connect(maxSpin_, &QSpinBox::valueChanged, this, [this]() { updateButtons(); });
    connect(sampleCheck_, &QCheckBox::toggled, this, [this]() { updateButtons(); });
    connect(runButton_, &QPushButton::clicked, this, &BatchView::start);
    connect(cancelButton_, &QPushButton::clicked, this, &BatchView::cancel);
    connect(exportButton_, &QPushButton::clicked, this, &BatchView::chooseExport);
    connect(reportButton_, &QPushButton::clicked, this, [this]() {
        QDesktopServices::openUrl(QUrl::fromLocalFile(QDir(out_).filePath(QStringLiteral("report.html"))));
    });
}

void BatchView::buildResults() {
    auto* splitter = new QSplitter(Qt::Vertical, this);
    splitter->setObjectName(QStringLiteral("batchSplitter"));
    splitter->setChildrenCollapsible(false);

    gallery_ = new QTableWidget(splitter);
    gallery_->setObjectName(QStringLiteral("batchGallery"));
    gallery_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    gallery_->setSelectionBehavior(QAbstractItemView::SelectRows);
    gallery_->setSelectionMode(QAbstractItemView::SingleSelection);
    gallery_->setIconSize(QSize(kThumbnail, kThumbnail));
    gallery_->verticalHeader()->setDefaultSectionSize(kThumbnail + 4);
    gallery_->verticalHeader()->hide();
    gallery_->setWordWrap(false);
    gallery_->setToolTip(
        tr("One row per image; click a header to sort, double-click a row (or press Enter) to "
           "open the image as a run in the Maps tab"));
    gallery_->setMinimumHeight(kThumbnail * 2);
    connect(gallery_, &QTableWidget::itemActivated, this, [this](QTableWidgetItem* item) { openRow(item->row()); });

    summaryTabs_ = new QTabWidget(splitter);
    summaryTabs_->setObjectName(QStringLiteral("batchSummaryTabs"));
    summaryTabs_->setDocumentMode(true);
    auto* tablePage = new QWidget(summaryTabs_);
    auto* tableLayout = new QVBoxLayout(tablePage);
    tableLayout->setContentsMargins(0, 2, 0, 0);
    summaryLabel_ = new QLabel(tablePage);
    summaryLabel_->setObjectName(QStringLiteral("batchSummaryLabel"));
    summaryLabel_->setWordWrap(true);
    summaryLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    summaryTable_ = new QTableWidget(tablePage);
    summaryTable_->setObjectName(QStringLiteral("batchSummaryTable"));
    summaryTable_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    summaryTable_->verticalHeader()->hide();
    summaryTable_->setColumnCount(9);
    summaryTable_->setHorizontalHeaderLabels({tr("Group"), tr("Method"), tr("n"), tr("Deletion AUC ↓"),
                                              tr("Insertion AUC ↑"), tr("Random floor del / ins"),
                                              tr("Beats random on both"), tr("Seconds per map"), tr("Failed")});
    summaryTable_->horizontalHeaderItem(3)->setToolTip(
        tr("Mean ± standard deviation over the images; lower is "
           "better (the target's probability falls fast)"));
    summaryTable_->horizontalHeaderItem(4)->setToolTip(
        tr("Mean ± standard deviation over the images; higher is "
           "better (the target's probability rises fast)"));
    summaryTable_->horizontalHeaderItem(5)->setToolTip(
        tr("Mean AUCs of a random pixel order: what a map that knows nothing gets"));
    summaryTable_->horizontalHeaderItem(6)->setToolTip(
        tr("Images where the map beats the random order on deletion and on insertion"));
    summaryTable_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    summaryTable_->horizontalHeader()->setStretchLastSection(true);
    tableLayout->addWidget(summaryLabel_);
    tableLayout->addWidget(summaryTable_, 1);
    summaryTabs_->addTab(tablePage, tr("Summary"));

    auto* curvesPage = new QWidget(summaryTabs_);
    auto* curvesLayout = new QHBoxLayout(curvesPage);
    curvesLayout->setContentsMargins(0, 0, 0, 0);
    deletionView_ = new QChartView(makeChart(tr("fraction deleted")), curvesPage);
    insertionView_ = new QChartView(makeChart(tr("fraction revealed")), curvesPage);
    for (QChartView* v : {deletionView_, insertionView_}) {
        v->setRenderHint(QPainter::Antialiasing);
        v->setMinimumHeight(160);
        curvesLayout->addWidget(v);
    }
    deletionView_->setObjectName(QStringLiteral("batchDeletionChart"));
    insertionView_->setObjectName(QStringLiteral("batchInsertionChart"));
    summaryTabs_->addTab(curvesPage, tr("Mean curves"));

    splitter->addWidget(gallery_);
    splitter->addWidget(summaryTabs_);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);
    splitter->setSizes({360, 240});  // the gallery first: it is what a batch is looked at for
    layout()->addWidget(splitter);
    qobject_cast<QVBoxLayout*>(layout())->setStretchFactor(splitter, 1);
    setGalleryColumns({}, {}, false);
    showSummary(BatchSummary{});
}

// ------------------------------------------------------------ settings

QString BatchView::defaultOutputFolder(const QString& folder) {
    const QString absolute = QFileInfo(folder.trimmed()).absoluteFilePath();
    QString name = QFileInfo(absolute).fileName();
    if (name.isEmpty()) name = QStringLiteral("images");
    const QString hash =
        QString::fromLatin1(QCryptographicHash::hash(absolute.toUtf8(), QCryptographicHash::Sha256).toHex().left(8));
    const QString base = QStandardPaths::writableLocation(QStandardPaths::AppLocalDataLocation);
    return QDir::toNativeSeparators(QDir(base).filePath(QStringLiteral("batches/%1-%2").arg(name, hash)));
}

void BatchView::setFolder(const QString& folder) {
    folderEdit_->setText(QDir::toNativeSeparators(folder.trimmed()));
    if (outputFollowsFolder_)
        outputEdit_->setText(folder.trimmed().isEmpty() ? QString() : defaultOutputFolder(folder));
    updateButtons();
}

QString BatchView::outputFolder() const {
    const QString typed = outputEdit_->text().trimmed();
    if (!typed.isEmpty()) return typed;
    return folderEdit_->text().trimmed().isEmpty() ? QString() : defaultOutputFolder(folderEdit_->text());
}

void BatchView::restoreSettings(QSettings& q) {
    q.beginGroup(QStringLiteral("batch"));
    const QString output = q.value(QStringLiteral("output")).toString();
    outputFollowsFolder_ = output.isEmpty();
    setFolder(q.value(QStringLiteral("folder")).toString());
    if (!outputFollowsFolder_) outputEdit_->setText(output);
    patternsEdit_->setText(q.value(QStringLiteral("patterns")).toString());
    maxSpin_->setValue(q.value(QStringLiteral("max"), 0).toInt());
    sampleCheck_->setChecked(q.value(QStringLiteral("sample"), false).toBool());
    seedSpin_->setValue(q.value(QStringLiteral("seed"), 0).toInt());
    const int target = targetCombo_->findData(q.value(QStringLiteral("target"), QStringLiteral("top1")));
    targetCombo_->setCurrentIndex(std::max(0, target));
    q.endGroup();
    updateButtons();
}

void BatchView::saveSettings(QSettings& q) const {
    q.beginGroup(QStringLiteral("batch"));
    q.setValue(QStringLiteral("folder"), folderEdit_->text().trimmed());
    // Empty: the folder's default, whatever folder comes next.
    q.setValue(QStringLiteral("output"), outputFollowsFolder_ ? QString() : outputEdit_->text().trimmed());
    q.setValue(QStringLiteral("patterns"), patternsEdit_->text().trimmed());
    q.setValue(QStringLiteral("max"), maxSpin_->value());
    q.setValue(QStringLiteral("sample"), sampleCheck_->isChecked());
    q.setValue(QStringLiteral("seed"), seedSpin_->value());
    q.setValue(QStringLiteral("target"), targetCombo_->currentData());
    q.endGroup();
}

void BatchView::setRequestProvider(std::function<BatchRequest()> provider) { provider_ = std::move(provider); }

void BatchView::setSessionBusy(bool busy, const QString& why) {
    sessionBusy_ = busy;
    busyLabel_->setText(busy && !running() ? why : QString());
    updateButtons();
}

void BatchView::setMetricsOn(bool on) {
    metricsLabel_->setText(on ? tr("Faithfulness (deletion/insertion AUCs): <b>on</b>, as Metrics on the left")
                              : tr("Faithfulness (deletion/insertion AUCs): <b>off</b>, as Metrics on the left; "
                                   "switch it on there to measure the maps"));
}

void BatchView::updateButtons() {
    const bool busy = running();
    runButton_->setEnabled(!busy && !sessionBusy_ && !folderEdit_->text().trimmed().isEmpty());
    cancelButton_->setEnabled(busy && shared_ && !shared_->cancel);
    exportButton_->setEnabled(!busy && summary_);
    reportButton_->setEnabled(!busy && summary_ &&
                              QFileInfo::exists(QDir(out_).filePath(QStringLiteral("report.html"))));
    seedSpin_->setEnabled(!busy && sampleCheck_->isChecked() && maxSpin_->value() > 0);
    sampleCheck_->setEnabled(!busy && maxSpin_->value() > 0);
    for (QWidget* w : std::initializer_list<QWidget*>{folderEdit_, folderBrowse_, outputEdit_, outputBrowse_,
                                                      patternsEdit_, maxSpin_, targetCombo_})
        w->setEnabled(!busy);
}

void BatchView::showMessage(const QString& text, bool error) {
    message_->setText(text);
    message_->setStyleSheet(error ? QStringLiteral("QLabel { color: #8b1a10; background: #fdecea; border: 1px solid "
                                                   "#e6a49c; border-radius: 3px; padding: 3px; }")
                                  : QStringLiteral("QLabel { color: #333; }"));
    message_->setVisible(!text.isEmpty());
}

QString BatchView::messageText() const { return message_->text(); }
QString BatchView::progressText() const { return progressLabel_->text(); }
QChart* BatchView::curveChart(bool deletion) const { return (deletion ? deletionView_ : insertionView_)->chart(); }

// ------------------------------------------------------------------ run

bool BatchView::start() {
    if (running()) return false;
    if (sessionBusy_) {
        showMessage(tr("%1. Run the batch when it is done.").arg(busyLabel_->text()), true);
        return false;
    }
    const QString folder = folderEdit_->text().trimmed();
    if (folder.isEmpty()) {
        showMessage(tr("Choose the folder of images first (Folder, Browse…)."), true);
        return false;
    }
    BatchRequest request;
    try {
        if (!provider_) throw Error("the batch has no model to run yet");
        request = provider_();
    } catch (const std::exception& e) {
        showMessage(tr("The batch cannot start: %1").arg(qs(e.what())), true);
        return false;
    }
    FolderScanOptions options;
    for (const auto& p : splitPatterns(patternsEdit_->text())) options.patterns.push_back(ss(p));
    options.max_count = maxSpin_->value();
    options.random_sample = sampleCheck_->isChecked() && options.max_count > 0;
    options.seed = static_cast<uint64_t>(seedSpin_->value());
    const std::string target = ss(targetCombo_->currentData().toString());

    request_ = request;
    out_ = QFileInfo(outputFolder()).absoluteFilePath();
    methods_.clear();
    std::vector<std::string> titles;
    for (const auto& m : request.plan.methods) {
        methods_.push_back(m.method);
        const MethodEntry* entry = findMethod(m.method);
        titles.push_back(entry ? entry->title : m.method);
    }
    rows_.clear();
    notices_.clear();
    summary_.reset();
    gallery_->setRowCount(0);
    setGalleryColumns(methods_, titles, request.plan.metrics);
    showSummary(BatchSummary{});
    showMessage({}, false);
    progress_->setRange(0, 0);  // busy until the first image is counted
    progressLabel_->setText(tr("Loading %1 and reading the folder…").arg(request.modelSpec));

    shared_ = std::make_shared<Shared>();
    auto shared = shared_;
    const fs::path root(ss(folder));
    const fs::path out(ss(out_));
    const std::vector<std::string> methods = methods_;
    watcher_ = new QFutureWatcher<Outcome>(this);
    connect(watcher_, &QFutureWatcherBase::finished, this, &BatchView::finishRun);
    watcher_->setFuture(QtConcurrent::run(&pool_, [this, shared, request, options, target, root, out, methods]() {
        Outcome o;
        try {
            // The batch's own model: the session's stays free for the single-image view.
            ModelLoadOptions load;
            load.device = request.device;
            LoadedModel loaded = loadModel(ss(request.modelSpec), load);
            Model& model = *loaded.model;
            // Known before the first row arrives: an image opened during the run is a run of this model.
            QMetaObject::invokeMethod(
                this, [this, info = model.info()]() { model_ = info; }, Qt::QueuedConnection);
            const FolderScan scan = scanImageFolder(root, options, model.info().labels);
            std::map<std::string, int> order;
            for (size_t i = 0; i < scan.items.size(); ++i) order[scan.items[i].id] = static_cast<int>(i);

            BatchSettings settings;
            settings.plan = request.plan;
            settings.target = target;
            settings.overlay = request.overlay;
            BatchObserver observer;
            observer.progress = [this, shared](const BatchProgress& p) {
                const std::lock_guard<std::mutex> lock(shared->mutex);
                shared->latest = p;
                if (shared->posted) return;  // the GUI has not taken the last one yet: it takes this one
                shared->posted = true;
                QMetaObject::invokeMethod(this, &BatchView::takeProgress, Qt::QueuedConnection);
            };
            observer.image_done = [this, &order, out, methods](const BatchImageResult& r) {
                const auto it = order.find(r.id);
                auto row =
                    std::make_shared<BatchGalleryRow>(galleryRow(r, it == order.end() ? 0 : it->second, out, methods));
                QMetaObject::invokeMethod(
                    this, [this, row]() { addRow(*row); }, Qt::QueuedConnection);
            };
            observer.notice = [this](const std::string& text) {
                const QString t = qs(text);
                QMetaObject::invokeMethod(
                    this,
                    [this, t]() {
                        notices_ << t;
                        showMessage(notices_.join(QLatin1Char('\n')), false);
                    },
                    Qt::QueuedConnection);
            };
            for (const auto& notice : loaded.notices) observer.notice(notice);
            o.summary = std::make_shared<BatchSummary>(runBatch(model, scan, settings, out, observer, &shared->cancel));
        } catch (const std::exception& e) {
            o.error = qs(userMessage(e));
        }
        return o;
    }));
    updateButtons();
    busyLabel_->clear();
    Q_EMIT runningChanged(true);
    return true;
}

void BatchView::cancel() {
    if (!running() || !shared_) return;
    shared_->cancel = true;
    progressLabel_->setText(progressLabel_->text() + tr(" · cancelling (the image in progress is discarded)…"));
    updateButtons();
}

void BatchView::takeProgress() {
    BatchProgress p;
    {
        const std::lock_guard<std::mutex> lock(shared_->mutex);
        p = shared_->latest;
        shared_->posted = false;
    }
    if (!running()) return;
    progress_->setRange(0, std::max(1, p.total) * 100);
    progress_->setValue(static_cast<int>(std::lround((p.done + (p.done < p.total ? p.image_fraction : 0)) * 100)));
    QString text = imagesOf(p.done, p.total);
    if (p.seconds_per_image > 0) text += tr(" · %1 s per image").arg(fixed(p.seconds_per_image, 2));
    if (p.seconds_per_image > 0 && p.done < p.total) text += tr(" · about %1 left").arg(durationText(p.seconds_left));
    if (p.skipped > 0) text += tr(" · %1 skipped (done before)").arg(p.skipped);
    if (p.failed > 0) text += tr(" · %1 failed").arg(p.failed);
    if (shared_->cancel) text += tr(" · cancelling (the image in progress is discarded)…");
    progressLabel_->setText(text);
    progressLabel_->setToolTip(p.current.empty() ? QString() : tr("Now: %1").arg(qs(p.current)));
}

void BatchView::finishRun() {
    const Outcome o = watcher_->result();
    watcher_->deleteLater();
    watcher_ = nullptr;
    progress_->setRange(0, 1);
    if (!o.summary) {
        progress_->setValue(0);
        progressLabel_->setText(tr("The batch did not run."));
        showMessage(tr("The batch could not run: %1").arg(o.error), true);
    } else {
        summary_ = std::make_unique<BatchSummary>(*o.summary);
        const BatchSummary& s = *summary_;
        progress_->setRange(0, std::max(1, s.found));
        progress_->setValue(static_cast<int>(s.images.size()));
        QString text = imagesOf(s.done + s.failed, s.found);
        if (s.skipped > 0) text += tr(" · %1 skipped (done before)").arg(s.skipped);
        if (s.failed > 0) text += tr(" · %1 failed").arg(s.failed);
        text += tr(" · %1").arg(durationText(s.seconds));
        progressLabel_->setText(s.cancelled ? tr("Cancelled: %1 · %2 not run").arg(text).arg(s.not_run) : text);
        progressLabel_->setToolTip({});
        const QString where = QDir::toNativeSeparators(out_);
        // What happened during the run (a result that could not be written, a device fallback) stays in view.
        const QStringList lines =
            QStringList{s.cancelled
                            ? tr("Cancelled: the summary describes the %1 complete; the files are in %2. Run "
                                 "batch again continues where it stopped.")
                                  .arg(imagesOf(static_cast<int>(s.images.size()), s.found), where)
                            : tr("Done: the files are in %1 (report.html, results.csv, summary.md).").arg(where)} +
            notices_;
        showMessage(lines.join(QLatin1Char('\n')), false);
        showSummary(s);
    }
    updateButtons();
    Q_EMIT runningChanged(false);
    Q_EMIT finished();
}

// -------------------------------------------------------------- gallery

void BatchView::setGalleryColumns(const std::vector<std::string>& methods, const std::vector<std::string>& titles,
                                  bool metrics) {
    columns_.clear();
    QStringList headers;
    auto add = [&](const QString& key, const QString& header) {
        columns_ << key;
        headers << header;
    };
    add(QStringLiteral("image"), tr("Image"));
    for (size_t i = 0; i < methods.size(); ++i) add(QStringLiteral("overlay:") + qs(methods[i]), qs(titles[i]));
    add(QStringLiteral("true"), tr("True class"));
    add(QStringLiteral("predicted"), tr("Predicted"));
    add(QStringLiteral("probability"), tr("p(predicted)"));
    add(QStringLiteral("correct"), tr("Correct"));
    if (metrics)
        for (size_t i = 0; i < methods.size(); ++i) {
            add(qs(methods[i]) + QStringLiteral(".deletion"), tr("%1\ndeletion ↓").arg(qs(titles[i])));
            add(qs(methods[i]) + QStringLiteral(".insertion"), tr("%1\ninsertion ↑").arg(qs(titles[i])));
        }
    add(QStringLiteral("seconds"), tr("Seconds"));
    add(QStringLiteral("id"), tr("Id"));  // last: long, and the image's tooltip names it too
    gallery_->setSortingEnabled(false);
    gallery_->setColumnCount(static_cast<int>(columns_.size()));
    gallery_->setHorizontalHeaderLabels(headers);
    for (int c = 0; c < gallery_->columnCount(); ++c) {
        const bool picture =
            columns_[c] == QStringLiteral("image") || columns_[c].startsWith(QStringLiteral("overlay:"));
        gallery_->horizontalHeader()->setSectionResizeMode(
            c, picture ? QHeaderView::Fixed : QHeaderView::ResizeToContents);
        // Wide enough for the picture and for the method's name above it.
        if (picture)
            gallery_->setColumnWidth(
                c, std::max(kThumbnail + 8, gallery_->fontMetrics().horizontalAdvance(headers[c]) + 16));
        if (columns_[c].endsWith(QStringLiteral(".deletion")))
            gallery_->horizontalHeaderItem(c)->setToolTip(
                tr("Deletion AUC of this image's map: lower is better (the probability falls fast)"));
        if (columns_[c].endsWith(QStringLiteral(".insertion")))
            gallery_->horizontalHeaderItem(c)->setToolTip(
                tr("Insertion AUC of this image's map: higher is better (the probability rises fast)"));
    }
    // The scan's name order until the user sorts by a column.
    gallery_->horizontalHeader()->setSortIndicator(0, Qt::AscendingOrder);
    gallery_->setSortingEnabled(true);
}

int BatchView::column(const QString& key) const { return static_cast<int>(columns_.indexOf(key)); }

void BatchView::addRow(const BatchGalleryRow& row) {
    if (!running()) return;  // late news of a batch that is over
    const BatchImageResult& r = row.result;
    const QString id = qs(r.id);
    rows_[r.id] = r;
    const bool done = r.status == "done";
    gallery_->setSortingEnabled(false);  // the row is filled where it was inserted, then sorted
    const int at = gallery_->rowCount();
    gallery_->insertRow(at);
    auto picture = [&](const QImage& image, const QString& tip) {
        auto* item = new NumberItem(QString(), row.order);
        if (!image.isNull()) item->setData(Qt::DecorationRole, QPixmap::fromImage(image));
        item->setTextAlignment(Qt::AlignCenter);
        item->setToolTip(tip);
        return item;
    };
    gallery_->setItem(at, column(QStringLiteral("image")),
                      picture(row.input, r.input_file.empty() ? id : tr("%1 as the model sees it").arg(id)));
    for (size_t i = 0; i < methods_.size(); ++i) {
        const QString title = qs(findMethod(methods_[i]) ? findMethod(methods_[i])->title : methods_[i]);
        QString tip = tr("%1 on %2").arg(title, id);
        for (const auto& mr : r.methods)
            if (mr.method == methods_[i] && !mr.ok) tip = tr("%1 failed on %2: %3").arg(title, id, qs(mr.error));
        gallery_->setItem(at, column(QStringLiteral("overlay:") + qs(methods_[i])),
                          picture(i < row.overlays.size() ? row.overlays[i] : QImage(), tip));
    }
    auto* idItem = new QTableWidgetItem(id);
    idItem->setData(kIdRole, id);
    idItem->setToolTip(done ? tr("%1\n%2").arg(qs(r.file), tr("Double-click or Enter: open as a run in Maps"))
                            : tr("%1\nFailed: %2").arg(qs(r.file), qs(r.error)));
    gallery_->setItem(at, column(QStringLiteral("id")), idItem);
    gallery_->setItem(at, column(QStringLiteral("true")),
                      new QTableWidgetItem(r.labelled() ? qs(r.true_label) : QStringLiteral("–")));
    auto* predicted = new QTableWidgetItem(done ? qs(r.predicted_label) : tr("failed"));
    if (!done) {
        predicted->setForeground(QColor(0xc0, 0x39, 0x2b));
        predicted->setToolTip(qs(r.error));
    }
    gallery_->setItem(at, column(QStringLiteral("predicted")), predicted);
    auto* probability = new NumberItem(done ? percentText(r.predicted_probability) : QStringLiteral("–"),
                                       done ? r.predicted_probability : NAN);
    if (done && r.target_index != r.predicted_index)
        probability->setToolTip(
            tr("The maps explain %1 (p = %2)").arg(qs(r.target_label), percentText(r.target_probability)));
    gallery_->setItem(at, column(QStringLiteral("probability")), probability);
    const bool known = done && r.labelled();
    auto* correct =
        new NumberItem(known ? (r.correct() ? QStringLiteral("✓") : QStringLiteral("✗")) : QStringLiteral("–"),
                       known ? (r.correct() ? 1.0 : 0.0) : NAN);
    correct->setTextAlignment(Qt::AlignCenter);
    if (known) correct->setForeground(r.correct() ? QColor(0x1e, 0x7b, 0x34) : QColor(0xc0, 0x39, 0x2b));
    gallery_->setItem(at, column(QStringLiteral("correct")), correct);
    for (const auto& m : methods_) {
        const BatchMethodResult* mr = nullptr;
        for (const auto& x : r.methods)
            if (x.method == m && x.has_metrics) mr = &x;
        for (const char* curve : {"deletion", "insertion"}) {
            const int c = column(qs(m) + QLatin1Char('.') + QLatin1String(curve));
            if (c < 0) continue;
            const bool deletion = std::strcmp(curve, "deletion") == 0;
            const double auc = mr ? (deletion ? mr->deletion_auc : mr->insertion_auc) : NAN;
            const double floor = deletion ? r.random_deletion_auc : r.random_insertion_auc;
            auto* item = new NumberItem(fixed(auc, 3), auc);
            if (std::isfinite(auc) && std::isfinite(floor)) {
                const bool better = deletion ? auc < floor : auc > floor;
                item->setBackground(better ? QColor(0xe3, 0xf2, 0xe1) : QColor(0xfb, 0xe3, 0xe0));
                item->setToolTip(tr("%1 (random order: %2): %3")
                                     .arg(fixed(auc, 3), fixed(floor, 3),
                                          better ? tr("better than random") : tr("not better than random")));
            }
            gallery_->setItem(at, c, item);
        }
    }
    gallery_->setItem(at, column(QStringLiteral("seconds")), new NumberItem(fixed(r.seconds, 2), r.seconds));
    gallery_->setSortingEnabled(true);
}

void BatchView::openRow(int row) {
    try {
        Q_EMIT runOpened(imageRun(row));
    } catch (const std::exception& e) {
        showMessage(tr("This image cannot be opened: %1").arg(qs(e.what())), true);
    }
}

HistoryRun BatchView::imageRun(int row) const {
    const QTableWidgetItem* idItem = gallery_->item(row, column(QStringLiteral("id")));
    if (!idItem) throw Error("there is no image in row " + std::to_string(row + 1));
    const auto found = rows_.find(ss(idItem->data(kIdRole).toString()));
    if (found == rows_.end()) throw Error("the image of row " + std::to_string(row + 1) + " is not in this batch");
    const BatchImageResult& brief = found->second;
    if (brief.status != "done")
        throw Error("image '" + brief.id + "' failed in the batch (" + brief.error + "); there are no maps to show");
    const fs::path dir = fs::path(ss(out_)) / brief.folder;
    const std::string stem = fs::path(brief.folder).filename().string();
    const BatchImageResult result = batchImageResultFromJson(readJson(dir / "result.json"));
    const nlohmann::json report = readJson(dir / (stem + ".report.json"));
    const LoadedImage image = loadImage(fs::path(result.file));
    if (image.sha256 != result.image_sha256)
        throw Error("the image '" + result.file + "' has changed since the batch; run the batch again");

    HistoryRun run;
    run.name = tr("%1 (batch)").arg(qs(result.id));
    run.finished = QDateTime::currentDateTime();
    run.imagePath = QFileInfo(qs(result.file)).absoluteFilePath();
    run.modelSpec = request_.modelSpec;
    run.deviceName = qs(report.value("device", std::string()));
    run.plan = request_.plan;
    run.plan.target_index = result.target_index;
    run.plan.target_request = report.value("target_request", std::string("top1"));
    RunRecord& r = run.record;
    r.model = model_;
    r.device = ss(run.deviceName);
    r.image = image.rgb;
    r.image_sha256 = image.sha256;
    r.image_file = ss(run.imagePath);
    r.target_request = run.plan.target_request;
    r.seed = report.value("seed", uint64_t{0});
    r.batch_size = report.value("batch_size", 0);
    if (report.contains("precision")) {
        r.precision_asked = report["precision"].value("asked", std::string("fp32"));
        r.precision = report["precision"].value("used", std::string("fp32"));
        r.precision_note = report["precision"].value("note", std::string());
    }
    r.overlay = request_.overlay;
    if (report.contains("extra")) r.extra = report["extra"];

    cv::Mat segments;  // the superpixels of the methods that use them (one set, shared)
    if (report.contains("segments_file")) {
        const fs::path file = dir / report["segments_file"].get<std::string>();
        const cv::Mat labels16 = cv::imread(file.string(), cv::IMREAD_UNCHANGED);
        if (labels16.empty()) throw Error("cannot read the superpixels '" + file.string() + "'; run the batch again");
        labels16.convertTo(segments, CV_32S, 1.0, -1.0);  // 0 = outside the model's view, v = segment v - 1
    }
    for (const auto& m : result.methods) {
        MethodSlot slot;
        slot.method = m.method;
        slot.title = qs(m.title);
        if (!m.ok) {
            slot.state = MethodState::Failed;
            slot.message = qs(m.error);
            run.slots.push_back(slot);
            continue;
        }
        nlohmann::json mj;
        for (const auto& x : report.value("methods", nlohmann::json::array()))
            if (x.value("method", std::string()) == m.method) mj = x;
        if (mj.is_null()) throw Error("the report of image '" + result.id + "' has no " + m.title + " map");
        auto e = std::make_shared<Explanation>();
        e->method = m.method;
        e->method_title = m.title;
        e->target_index = mj["target"].value("index", result.target_index);
        e->target_label = mj["target"].value("label", result.target_label);
        e->target_probability = mj["target"].value("probability", static_cast<float>(result.target_probability));
        e->settings = mj.value("settings", nlohmann::json::object());
        e->numbers = mj.value("numbers", nlohmann::json::object());
        e->flags = mj.value("flags", std::vector<std::string>{});
        e->warnings = mj.value("warnings", std::vector<std::string>{});
        e->signed_map = m.signed_map;
        e->seconds = mj["timings"].value("seconds", m.seconds);
        e->model_seconds = mj["timings"].value("model_seconds", 0.0);
        e->model_evaluations = mj["timings"].value("model_evaluations", int64_t{0});
        e->heatmap = readNpy(dir / (stem + "." + m.method + ".heatmap.npy"));
        if (!segments.empty() && makeExplainer(m.method)->usesSuperpixels()) e->segments = segments;
        r.explanations.push_back(*e);
        slot.state = MethodState::Done;
        slot.progress = 1;
        slot.explanation = e;
        run.slots.push_back(slot);
        for (const auto& planned : run.plan.methods)
            if (planned.method == m.method) run.inputs[m.method] = methodInputs(run.plan, planned, e->target_index);
    }

    // The Metrics tab's view of the image: AUCs and settings from the report, curves from result.json.
    if (result.has_metrics && r.extra.contains("metrics") && r.extra["metrics"].contains("faithfulness")) {
        const nlohmann::json& fj = r.extra["metrics"]["faithfulness"];
        auto metrics = std::make_shared<RunMetrics>();
        FaithfulnessReport& f = metrics->faithfulness;
        const nlohmann::json settings = fj.value("settings", nlohmann::json::object());
        f.settings.step_fraction = settings.value("step_fraction", f.settings.step_fraction);
        f.settings.fill = settings.value("fill", f.settings.fill);
        f.settings.insertion_start = settings.value("insertion_start", f.settings.insertion_start);
        f.settings.blur_sigma = settings.value("blur_sigma", f.settings.blur_sigma);
        f.settings.blur_kernel = settings.value("blur_kernel", f.settings.blur_kernel);
        f.settings.random_repeats = settings.value("random_repeats", f.settings.random_repeats);
        if (fj.contains("baseline")) {
            try {
                f.baseline.baseline = baselineFromName(fj["baseline"].value("baseline", std::string("black")));
            } catch (const std::exception&) {
                // A baseline this version cannot name: the Metrics tab shows the source only.
            }
            f.baseline.source = fj["baseline"].value("source", std::string());
        }
        const nlohmann::json guard = fj.value("baseline_guard", nlohmann::json::object());
        f.guard.image_probability = guard.value("image_probability", result.target_probability);
        f.guard.baseline_probability = guard.value("baseline_probability", 0.0);
        f.guard.threshold = guard.value("threshold", 0.5);
        f.guard.fired = guard.value("fired", false);
        f.guard.warning = fj.value("warning", std::string());
        f.target_index = fj.value("target_index", result.target_index);
        f.pixels = fj.value("pixels", 0);
        f.pixels_per_step = fj.value("pixels_per_step", 0);
        f.model_evaluations = fj.value("model_evaluations", int64_t{0});
        f.seconds = fj.value("seconds", 0.0);
        for (const auto& m : result.methods) {
            if (!m.has_metrics) continue;
            f.methods.push_back(m.method);
            FaithfulnessCurves c;
            c.deletion = m.deletion;
            c.insertion = m.insertion;
            f.curves.push_back(c);
            metrics->methods.push_back(m.method);
            metrics->titles.push_back(qs(m.title));
        }
        f.random.deletion = result.random_deletion;
        f.random.insertion = result.random_insertion;
        metrics->target_label = qs(result.target_label);
        if (r.extra["metrics"].contains("agreement")) {
            const nlohmann::json& aj = r.extra["metrics"]["agreement"];
            metrics->agreement.methods = aj.value("methods", std::vector<std::string>{});
            metrics->agreement.top_percent = aj.value("top_percent", 10.0);
            metrics->agreement.spearman = aj.value("spearman", std::vector<std::vector<double>>{});
            metrics->agreement.top_iou = aj.value("top_iou", std::vector<std::vector<double>>{});
        }
        run.metrics = metrics;
    }
    const QImage q = toQImage(r.image);
    run.thumbnail =
        q.scaled(36, 36, Qt::KeepAspectRatio, q.width() < 72 ? Qt::FastTransformation : Qt::SmoothTransformation);
    return run;
}

// -------------------------------------------------------------- summary

void BatchView::showSummary(const BatchSummary& s) {
    fillSummaryTable(s);
    fillCurves(s);
}

void BatchView::fillSummaryTable(const BatchSummary& s) {
    summaryTable_->clearSpans();
    summaryTable_->setRowCount(0);
    if (s.methods.empty()) {
        summaryLabel_->setText(tr("The summary of the images appears here when the batch ends."));
        return;
    }
    QStringList parts;
    parts << tr("<b>%1</b> · %2 found").arg(qs(s.model_name).toHtmlEscaped(), imageCount(s.found));
    parts << tr("%1 done").arg(s.done);
    if (s.skipped) parts << tr("%1 of them from before").arg(s.skipped);
    if (s.failed) parts << tr("<span style='color:#c0392b'>%1 failed</span>").arg(s.failed);
    if (s.cancelled) parts << tr("cancelled, %1 not run").arg(s.not_run);
    if (s.labelled && s.labelled_images > 0)
        parts << tr("accuracy <b>%1</b> (%2 of %3 labelled)")
                     .arg(percentText(s.accuracy))
                     .arg(s.correct_images)
                     .arg(s.labelled_images);
    if (!s.has_metrics) parts << tr("faithfulness was off: no AUCs");
    QString text = parts.join(QStringLiteral(" · "));
    if (!s.notes.empty()) {
        QStringList notes;
        for (const auto& n : s.notes) notes << qs(n).toHtmlEscaped();
        text += QStringLiteral("<br><span style='color:#555'>%1</span>").arg(notes.join(QStringLiteral("; ")));
    }
    summaryLabel_->setText(text);

    std::vector<std::pair<QString, const GroupAggregate*>> groups;
    groups.emplace_back(tr("all images"), &s.all);
    if (s.labelled) {
        groups.emplace_back(tr("correct"), &s.correct);
        groups.emplace_back(tr("wrong"), &s.wrong);
    }
    for (const auto& g : s.per_class)
        groups.emplace_back((s.labelled ? tr("true: %1") : tr("predicted: %1")).arg(qs(g.name)), &g);
    for (const auto& [name, g] : groups) {
        if (g->images == 0) continue;
        const int first = summaryTable_->rowCount();
        for (size_t i = 0; i < g->methods.size(); ++i) {
            const MethodAggregate& m = g->methods[i];
            const int row = summaryTable_->rowCount();
            summaryTable_->insertRow(row);
            if (i == 0) {
                auto* group = new QTableWidgetItem(tr("%1 (%2)").arg(name).arg(g->images));
                group->setTextAlignment(Qt::AlignLeft | Qt::AlignTop);  // readable while its rows scroll
                summaryTable_->setItem(row, 0, group);
            }
            auto* method = new QTableWidgetItem(qs(m.title));
            method->setForeground(kColours[i % std::size(kColours)].darker(130));
            summaryTable_->setItem(row, 1, method);
            summaryTable_->setItem(row, 2, new NumberItem(QString::number(m.deletion.n), m.deletion.n));
            summaryTable_->setItem(row, 3, spreadItem(m.deletion, 3));
            summaryTable_->setItem(row, 4, spreadItem(m.insertion, 3));
            summaryTable_->setItem(
                row, 5,
                new NumberItem(tr("%1 / %2").arg(fixed(g->random_deletion.mean, 3), fixed(g->random_insertion.mean, 3)),
                               g->random_deletion.mean));
            summaryTable_->setItem(
                row, 6, new NumberItem(tr("%1 of %2").arg(m.beats_random_both).arg(m.deletion.n), m.beats_random_both));
            summaryTable_->setItem(row, 7, spreadItem(m.seconds, 2));
            summaryTable_->setItem(row, 8, new NumberItem(QString::number(m.failed), m.failed));
        }
        if (g->methods.size() > 1) summaryTable_->setSpan(first, 0, static_cast<int>(g->methods.size()), 1);
    }
    for (int c = 2; c <= 6; ++c) summaryTable_->setColumnHidden(c, !s.has_metrics);
    // A spanning cell does not widen its column by itself: as wide as the longest group's name.
    int groupWidth = summaryTable_->horizontalHeader()->sectionSizeHint(0);
    for (int r = 0; r < summaryTable_->rowCount(); ++r)
        if (const auto* item = summaryTable_->item(r, 0))
            groupWidth = std::max(groupWidth, summaryTable_->fontMetrics().horizontalAdvance(item->text()) + 12);
    summaryTable_->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Interactive);
    summaryTable_->setColumnWidth(0, groupWidth);
}

void BatchView::fillCurves(const BatchSummary& s) {
    for (QChartView* view : {deletionView_, insertionView_}) {
        const bool deletion = view == deletionView_;
        QChart* chart = view->chart();
        chart->removeAllSeries();
        int images = 0;
        for (size_t i = 0; i < s.curves.size(); ++i) {
            const MeanCurves& c = s.curves[i];
            const bool random = c.method == "random";
            images = std::max(images, c.images);
            addCurve(chart, c.fraction, deletion ? c.deletion : c.insertion, random ? tr("random order") : qs(c.title),
                     kColours[i % std::size(kColours)], random);
        }
        const QString name = deletion ? tr("Mean deletion curve") : tr("Mean insertion curve");
        const QString better = deletion ? tr("lower is better") : tr("higher is better");
        if (s.methods.empty())
            chart->setTitle(tr("%1: shown when the batch ends").arg(name));
        else if (s.curves.empty())
            chart->setTitle(tr("%1: none (faithfulness was off, or no image is done)").arg(name));
        else
            chart->setTitle(tr("%1 over %2: %3").arg(name, imageCount(images), better));
    }
}

// --------------------------------------------------------------- export

void BatchView::chooseExport() {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Export the batch into folder"), QString());
    if (!dir.isEmpty()) exportTo(dir);
}

bool BatchView::exportTo(const QString& dirName) {
    if (!summary_ || running()) {
        showMessage(tr("Nothing to export yet: run a batch first."), true);
        return false;
    }
    std::error_code ec;
    const fs::path source = fs::weakly_canonical(fs::path(ss(out_)), ec);
    const fs::path chosen = fs::weakly_canonical(fs::absolute(fs::path(ss(dirName))), ec);
    const auto [end, _] = std::mismatch(source.begin(), source.end(), chosen.begin(), chosen.end());
    if (end == source.end()) {
        showMessage(tr("Export into %1 is not possible: it is inside the batch's own folder %2. Choose a folder "
                       "outside it.")
                        .arg(QDir::toNativeSeparators(dirName), QDir::toNativeSeparators(out_)),
                    true);
        return false;
    }
    // An empty (or new) folder receives the files; otherwise a new sub-folder named after the batch.
    fs::path target = chosen;
    if (fs::exists(chosen, ec) && !fs::is_empty(chosen, ec)) {
        target = chosen / source.filename();
        for (int n = 2; fs::exists(target, ec); ++n)
            target = chosen / (source.filename().string() + "-" + std::to_string(n));
    }
    QApplication::setOverrideCursor(Qt::WaitCursor);
    // Copied into a hidden sibling first and renamed when complete: a failure leaves nothing half-copied.
    std::string pattern = (target.parent_path() / ("." + target.filename().string() + ".partial-XXXXXX")).string();
    QString error;
    if (!mkdtemp(pattern.data())) {
        error = tr("cannot write into %1 (%2); check that it is writable and has free space")
                    .arg(QDir::toNativeSeparators(qs(target.parent_path().string())), qs(std::strerror(errno)));
    } else {
        const fs::path staging = pattern;
        fs::copy(source, staging, fs::copy_options::recursive | fs::copy_options::overwrite_existing, ec);
        if (!ec && fs::exists(target, ec)) fs::remove(target, ec);  // the chosen empty folder
        if (!ec) fs::rename(staging, target, ec);
        if (ec) {
            error = tr("copying %1 to %2 failed (%3); nothing was left there")
                        .arg(QDir::toNativeSeparators(out_), QDir::toNativeSeparators(qs(target.string())),
                             qs(ec.message()));
            std::error_code ignored;
            fs::remove_all(staging, ignored);
        }
    }
    QApplication::restoreOverrideCursor();
    if (!error.isEmpty()) {
        showMessage(tr("Export failed: %1.").arg(error), true);
        return false;
    }
    showMessage(tr("Exported the batch to %1.").arg(QDir::toNativeSeparators(qs(target.string()))), false);
    return true;
}

}  // namespace mirada::gui
