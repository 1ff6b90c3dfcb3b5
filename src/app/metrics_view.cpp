#include "metrics_view.hpp"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QScrollBar>
#include <QTableWidget>
#include <QVBoxLayout>
#include <QtCharts/QChart>
#include <QtCharts/QChartView>
#include <QtCharts/QLegend>
#include <QtCharts/QLineSeries>
#include <QtCharts/QValueAxis>
#include <cmath>

#include "metrics/metrics_summary.hpp"
#include "qt_image.hpp"

namespace mirada::gui {

namespace {

// One colour per method, the same in both charts (Tableau 10).
const QColor kColours[] = {QColor(0x4e79a7), QColor(0xf28e2b), QColor(0xe15759), QColor(0x76b7b2), QColor(0x59a14f),
                           QColor(0xedc948), QColor(0xb07aa1), QColor(0xff9da7), QColor(0x9c755f), QColor(0xbab0ac)};

QChart* makeChart(const QString& title, const QString& yHint) {
    auto* chart = new QChart;
    chart->setTitle(title);
    chart->legend()->setAlignment(Qt::AlignBottom);
    chart->setMargins(QMargins(4, 4, 4, 4));
    auto* x = new QValueAxis;
    x->setRange(0, 1);
    x->setTitleText(QObject::tr("fraction of pixels changed"));
    x->setLabelFormat(QStringLiteral("%.1f"));
    auto* y = new QValueAxis;
    y->setRange(0, 1);
    y->setTitleText(yHint);
    y->setLabelFormat(QStringLiteral("%.1f"));
    chart->addAxis(x, Qt::AlignBottom);
    chart->addAxis(y, Qt::AlignLeft);
    return chart;
}

void addCurve(QChart* chart, const Curve& curve, const QString& name, const QColor& colour, bool dashed) {
    if (curve.fraction.empty()) return;
    auto* s = new QLineSeries;
    s->setName(QStringLiteral("%1 (AUC %2)").arg(name).arg(curve.auc, 0, 'f', 3));
    for (size_t i = 0; i < curve.fraction.size(); ++i) s->append(curve.fraction[i], curve.score[i]);
    QPen pen(colour, dashed ? 1.5 : 2.0);
    if (dashed) pen.setStyle(Qt::DashLine);
    s->setPen(pen);
    chart->addSeries(s);
    for (auto* axis : chart->axes()) s->attachAxis(axis);
}

QTableWidgetItem* cell(const QString& text, Qt::Alignment align = Qt::AlignRight | Qt::AlignVCenter) {
    auto* item = new QTableWidgetItem(text);
    item->setTextAlignment(align);
    item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
    return item;
}

// -1 blue .. 0 white .. 1 red (the same diverging scale as signed maps).
// A table exactly as tall as its rows (no empty band under them).
void fitHeight(QTableWidget* t) {
    t->setWordWrap(false);
    t->resizeRowsToContents();
    int h = t->horizontalHeader()->sizeHint().height();
    for (int r = 0; r < t->rowCount(); ++r) h += t->rowHeight(r);
    if (t->horizontalScrollBarPolicy() != Qt::ScrollBarAlwaysOff) h += t->horizontalScrollBar()->sizeHint().height();
    t->setFixedHeight(h + 2 * t->frameWidth() + 2);
}

QColor divergingColour(double v) {
    v = std::clamp(v, -1.0, 1.0);
    const QColor lo(0x3b, 0x4c, 0xc0), mid(0xf7, 0xf7, 0xf7), hi(0xb4, 0x04, 0x26);
    const QColor& end = v < 0 ? lo : hi;
    const double t = std::abs(v);
    return QColor::fromRgbF(mid.redF() + (end.redF() - mid.redF()) * t,
                            mid.greenF() + (end.greenF() - mid.greenF()) * t,
                            mid.blueF() + (end.blueF() - mid.blueF()) * t);
}

}  // namespace

MetricsView::MetricsView(QWidget* parent) : QWidget(parent) {
    auto* v = new QVBoxLayout(this);
    message_ = new QLabel(this);
    message_->setWordWrap(true);
    message_->setObjectName(QStringLiteral("metricsMessage"));
    v->addWidget(message_);
    warning_ = new QLabel(this);
    warning_->setWordWrap(true);
    warning_->setObjectName(QStringLiteral("metricsWarning"));
    warning_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    warning_->setStyleSheet(
        QStringLiteral("QLabel { color: #6b4400; background: #fff5dc; border: 1px solid #e8c274; border-radius: 3px; "
                       "padding: 3px 5px; }"));
    warning_->hide();
    v->addWidget(warning_);

    aucTable_ = new QTableWidget(0, 5, this);
    aucTable_->setObjectName(QStringLiteral("aucTable"));
    aucTable_->setHorizontalHeaderLabels({tr("Method"), tr("Deletion AUC (lower is better)"),
                                          tr("Insertion AUC (higher is better)"), tr("Insertion − random"),
                                          tr("Verdict")});
    aucTable_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    aucTable_->horizontalHeader()->setStretchLastSection(true);
    aucTable_->verticalHeader()->hide();
    aucTable_->setToolTip(
        tr("Deletion: the target's probability as the highest-ranked pixels are removed; a faithful map "
           "makes it drop fast (low area). Insertion: pixels revealed on a blurred copy; a faithful map "
           "makes it rise fast (high area). A random ranking is the floor a useful map must beat."));
    v->addWidget(aucTable_);

    auto* charts = new QHBoxLayout;
    deletionView_ = new QChartView(makeChart(tr("Deletion"), tr("target probability")), this);
    insertionView_ = new QChartView(makeChart(tr("Insertion"), tr("target probability")), this);
    for (auto* view : {deletionView_, insertionView_}) {
        view->setRenderHint(QPainter::Antialiasing);
        view->setMinimumHeight(300);
        charts->addWidget(view);
    }
    v->addLayout(charts, 1);

    auto* agreementRow = new QHBoxLayout;
    auto* agreementLabel = new QLabel(tr("<b>Agreement between methods</b>"), this);
    agreementKind_ = new QComboBox(this);
    agreementKind_->setObjectName(QStringLiteral("agreementKind"));
    agreementKind_->addItem(tr("Spearman rank correlation"));
    agreementKind_->addItem(tr("IoU of the top pixels"));
    agreementRow->addWidget(agreementLabel);
    agreementRow->addWidget(agreementKind_);
    agreementRow->addStretch();
    v->addLayout(agreementRow);
    agreementTable_ = new QTableWidget(this);
    agreementTable_->setObjectName(QStringLiteral("agreementTable"));
    agreementTable_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    v->addWidget(agreementTable_);
    connect(agreementKind_, &QComboBox::currentIndexChanged, this, &MetricsView::fillAgreement);

    sanityTitle_ = new QLabel(tr("<b>Sanity check</b>: Spearman correlation with the original map as layers are "
                                 "randomised from the top down (low = the map follows the model)"),
                              this);
    sanityTitle_->setWordWrap(true);
    v->addWidget(sanityTitle_);
    sanityTable_ = new QTableWidget(this);
    sanityTable_->setObjectName(QStringLiteral("sanityTable"));
    sanityTable_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    v->addWidget(sanityTable_);
    sanityTitle_->hide();
    sanityTable_->hide();

    showMessage(tr("Metrics are computed after the maps when \"Compute metrics\" is on (left, Run and display)."));
}

int MetricsView::seriesCount() const {
    return static_cast<int>(deletionView_->chart()->series().size() + insertionView_->chart()->series().size());
}

QString MetricsView::messageText() const { return message_->text(); }
QString MetricsView::warningText() const { return warning_->text(); }

void MetricsView::showMessage(const QString& text) {
    message_->setText(text);
    message_->setVisible(!text.isEmpty());
}

void MetricsView::showMetrics(std::shared_ptr<const RunMetrics> metrics) {
    metrics_ = std::move(metrics);
    deletionView_->chart()->removeAllSeries();
    insertionView_->chart()->removeAllSeries();
    aucTable_->setRowCount(0);
    warning_->clear();
    warning_->hide();
    if (!metrics_) {
        agreementTable_->clear();
        agreementTable_->setRowCount(0);
        agreementTable_->setColumnCount(0);
        return;
    }
    const auto& f = metrics_->faithfulness;
    const auto& random = f.random;
    const bool haveFloor = !random.insertion.fraction.empty();
    for (size_t i = 0; i < f.curves.size(); ++i) {
        const QString title = i < metrics_->titles.size() ? metrics_->titles[i] : qs(f.methods[i]);
        const QColor colour = kColours[i % std::size(kColours)];
        addCurve(deletionView_->chart(), f.curves[i].deletion, title, colour, false);
        addCurve(insertionView_->chart(), f.curves[i].insertion, title, colour, false);
        const int row = aucTable_->rowCount();
        aucTable_->insertRow(row);
        aucTable_->setItem(row, 0, cell(title, Qt::AlignLeft | Qt::AlignVCenter));
        aucTable_->setItem(row, 1, cell(QString::number(f.curves[i].deletion.auc, 'f', 3)));
        aucTable_->setItem(row, 2, cell(QString::number(f.curves[i].insertion.auc, 'f', 3)));
        if (haveFloor) {
            const double margin = f.curves[i].insertion.auc - random.insertion.auc;
            aucTable_->setItem(row, 3, cell(QString::number(margin, 'f', 3)));
            // The core's words, so the GUI, the CLI and the sheet agree.
            aucTable_->setItem(row, 4, cell(qs(faithfulnessVerdict(f, i)), Qt::AlignLeft | Qt::AlignVCenter));
        }
    }
    if (haveFloor) {
        addCurve(deletionView_->chart(), random.deletion, tr("random"), Qt::darkGray, true);
        addCurve(insertionView_->chart(), random.insertion, tr("random"), Qt::darkGray, true);
        const int row = aucTable_->rowCount();
        aucTable_->insertRow(row);
        aucTable_->setItem(row, 0,
                           cell(tr("random ranking (floor, %n repeat(s))", nullptr, f.settings.random_repeats),
                                Qt::AlignLeft | Qt::AlignVCenter));
        aucTable_->setItem(row, 1, cell(QString::number(random.deletion.auc, 'f', 3)));
        aucTable_->setItem(row, 2, cell(QString::number(random.insertion.auc, 'f', 3)));
    }
    fitHeight(aucTable_);
    const QString insertionStart =
        f.settings.insertion_start == "blur" ? tr("a blurred copy (RISE)") : tr("the same baseline");
    showMessage(tr("Target %1 (p = %2) · %3 input pixels, %4 per step · %5 model evaluations in %6 s<br>"
                   "Deleted pixels become <b>%7</b>, as set by %8; insertion starts from %9.")
                    .arg(f.target_index)
                    .arg(QString::number(f.guard.image_probability, 'g', 3))
                    .arg(f.pixels)
                    .arg(f.pixels_per_step)
                    .arg(f.model_evaluations)
                    .arg(QString::number(f.seconds, 'f', 2))
                    .arg(qs(toString(f.baseline.baseline)).toHtmlEscaped(), qs(f.baseline.source).toHtmlEscaped(),
                         insertionStart));
    QStringList warnings;
    if (f.guard.fired && !f.guard.warning.empty())
        warnings << QStringLiteral("⚠ ") + qs(f.guard.warning).toHtmlEscaped();
    const std::string caution = targetCaution(f.guard.image_probability);
    if (!caution.empty()) {
        QString c = qs(caution);
        c[0] = c[0].toUpper();
        warnings << QStringLiteral("⚠ ") + c.toHtmlEscaped() + tr(": every verdict below carries this caution.");
    }
    warning_->setText(warnings.join(QStringLiteral("<br>")));
    warning_->setVisible(!warnings.isEmpty());
    fillAgreement();
    fillSanity();
}

void MetricsView::fillSanity() {
    const bool show = metrics_ && metrics_->has_sanity;
    sanityTitle_->setVisible(show);
    sanityTable_->setVisible(show);
    sanityTable_->clear();
    if (!show) return;
    const auto& r = metrics_->sanity;
    const int steps = static_cast<int>(r.layers.size());
    sanityTable_->setRowCount(static_cast<int>(r.methods.size()));
    sanityTable_->setColumnCount(steps + 1);
    QStringList header;
    for (int i = 0; i < steps; ++i) header << QStringLiteral("+ %1").arg(qs(r.layers[i]));
    header << tr("verdict (threshold %1)").arg(r.settings.threshold);
    sanityTable_->setHorizontalHeaderLabels(header);
    QStringList rows;
    for (const auto& m : r.methods) rows << qs(m.title);
    sanityTable_->setVerticalHeaderLabels(rows);
    for (int row = 0; row < static_cast<int>(r.methods.size()); ++row) {
        const auto& m = r.methods[row];
        for (int c = 0; c < steps && c < static_cast<int>(m.spearman.size()); ++c) {
            const bool blank = c < static_cast<int>(m.blank.size()) && m.blank[c];
            QTableWidgetItem* item;
            if (blank) {
                // A constant map has no ranking: its "correlation" is not a number to read.
                item = cell(tr("blank"), Qt::AlignCenter);
                item->setBackground(QColor(0xd5, 0xd5, 0xd5));
                item->setForeground(QColor(0x55, 0x55, 0x55));
                item->setToolTip(tr("The recomputed map is constant at this step: there is no ranking to compare"));
            } else {
                item = cell(QString::number(m.spearman[c], 'f', 2), Qt::AlignCenter);
                item->setBackground(divergingColour(m.spearman[c]));
                item->setForeground(std::abs(m.spearman[c]) > 0.6 ? Qt::white : Qt::black);
            }
            sanityTable_->setItem(row, c, item);
        }
        auto* verdict = cell(qs(sanityVerdict(m, r.target_probability)), Qt::AlignLeft | Qt::AlignVCenter);
        if (m.verdict == "flagged")
            verdict->setForeground(QColor(0xc0392b));
        else if (m.verdict == "blank")
            verdict->setForeground(QColor(0x55, 0x55, 0x55));
        sanityTable_->setItem(row, steps, verdict);
    }
    fitHeight(sanityTable_);
}

void MetricsView::fillAgreement() {
    agreementTable_->clear();
    if (!metrics_) return;
    const auto& a = metrics_->agreement;
    const bool iou = agreementKind_->currentIndex() == 1;
    const auto& m = iou ? a.top_iou : a.spearman;
    const int n = static_cast<int>(a.methods.size());
    agreementTable_->setRowCount(n);
    agreementTable_->setColumnCount(n);
    QStringList names;
    for (int i = 0; i < n; ++i)
        names << (i < static_cast<int>(metrics_->titles.size()) ? metrics_->titles[i] : qs(a.methods[i]));
    agreementTable_->setHorizontalHeaderLabels(names);
    agreementTable_->setVerticalHeaderLabels(names);
    for (int r = 0; r < n; ++r)
        for (int c = 0; c < n; ++c) {
            const double v = m[r][c];
            auto* item = cell(QString::number(v, 'f', 2), Qt::AlignCenter);
            item->setBackground(divergingColour(v));
            item->setForeground(std::abs(v) > 0.6 ? Qt::white : Qt::black);
            agreementTable_->setItem(r, c, item);
        }
    fitHeight(agreementTable_);
    agreementTable_->setToolTip(
        iou ? tr("Share of the top %1% pixels two maps have in common (1 = the same pixels)").arg(a.top_percent)
            : tr("Do two maps order the pixels alike? 1 = same order, 0 = unrelated, -1 = reversed"));
}

}  // namespace mirada::gui
