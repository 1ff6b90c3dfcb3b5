#include "metrics_view.hpp"

#include <QComboBox>
#include <QCursor>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QGraphicsLayout>
#include <QGraphicsScene>
#include <QGuiApplication>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QImage>
#include <QLabel>
#include <QMenu>
#include <QMessageBox>
#include <QPainter>
#include <QSaveFile>
#include <QScreen>
#include <QScrollBar>
#include <QSvgGenerator>
#include <QTableWidget>
#include <QToolButton>
#include <QToolTip>
#include <QVBoxLayout>
#include <QtCharts/QLineSeries>
#include <algorithm>
#include <cmath>
#include <functional>

#include "metrics/metrics_summary.hpp"
#include "qt_image.hpp"

namespace mirada::gui {

namespace {

// One colour per method, the same in both charts (Tableau 10).
const QColor kColours[] = {QColor(0x4e79a7), QColor(0xf28e2b), QColor(0xe15759), QColor(0x76b7b2), QColor(0x59a14f),
                           QColor(0xedc948), QColor(0xb07aa1), QColor(0xff9da7), QColor(0x9c755f), QColor(0xbab0ac)};
const QColor kBetter(0xe3, 0xf2, 0xe1), kWorse(0xfb, 0xe3, 0xe0);

// A number for people: 3 significant digits, trailing zeros kept so a column
// reads evenly ("0.161", "0.0803", "12.3"); a true minus sign.
QString sig3(double v) {
    if (!std::isfinite(v)) return QStringLiteral("–");
    if (v == 0) return QStringLiteral("0");
    const int magnitude = static_cast<int>(std::floor(std::log10(std::abs(v))));
    int decimals = std::max(0, 2 - magnitude);
    const double rounded = std::round(std::abs(v) * std::pow(10.0, decimals));
    if (rounded >= 1000 && decimals > 0) --decimals;  // 0.9996 -> "1.00", not "1.000"
    return QString::number(v, 'f', decimals).replace(QLatin1Char('-'), QChar(0x2212));
}
QString signedSig3(double v) { return v > 0 ? QStringLiteral("+") + sig3(v) : sig3(v); }
// A probability as a percentage, 3 significant digits ("99.0%", "0.446%").
QString percent(double p) { return sig3(p * 100) + QLatin1Char('%'); }

QString chartName(MetricsView::Chart which) {
    return which == MetricsView::Chart::Deletion ? QObject::tr("Deletion") : QObject::tr("Insertion");
}
QString betterText(MetricsView::Chart which) {
    return which == MetricsView::Chart::Deletion ? QObject::tr("lower AUC is better")
                                                 : QObject::tr("higher AUC is better");
}

// The axes of both charts: 0..1 with ticks at every 0.2, so "%.1f" shows every
// tick exactly (ticks at 0.25 would read "0.3").
// `wide`: the exported figure, with room for longer axis titles.
QChart* makeChart(MetricsView::Chart which, bool wide = false) {
    auto* chart = new QChart;
    chart->setTitle(QStringLiteral("%1: %2").arg(chartName(which), betterText(which)));
    chart->legend()->setAlignment(Qt::AlignRight);  // one name a line: full names, however many methods
    chart->legend()->setMarkerShape(QLegend::MarkerShapeFromSeries);  // the random floor shows dashed
    chart->setMargins(QMargins(2, 2, 2, 2));
    chart->setBackgroundRoundness(0);
    auto* x = new QValueAxis;
    x->setRange(0, 1);
    x->setTickType(QValueAxis::TicksFixed);
    x->setTickCount(6);
    x->setLabelFormat(QStringLiteral("%.1f"));
    const bool deletion = which == MetricsView::Chart::Deletion;
    x->setTitleText(wide ? (deletion ? QObject::tr("fraction of pixels deleted, highest-ranked first")
                                     : QObject::tr("fraction of pixels revealed, highest-ranked first"))
                         : (deletion ? QObject::tr("fraction deleted") : QObject::tr("fraction revealed")));
    auto* y = new QValueAxis;
    y->setRange(0, 1);
    y->setTickType(QValueAxis::TicksFixed);
    y->setTickCount(6);
    y->setLabelFormat(QStringLiteral("%.1f"));
    y->setTitleText(QObject::tr("target probability"));
    chart->addAxis(x, Qt::AlignBottom);
    chart->addAxis(y, Qt::AlignLeft);
    return chart;
}

QLineSeries* addCurve(QChart* chart, const Curve& curve, const QString& name, const QColor& colour, bool dashed) {
    if (curve.fraction.empty()) return nullptr;
    auto* s = new QLineSeries;
    s->setName(name);
    QList<QPointF> points;
    points.reserve(static_cast<qsizetype>(curve.fraction.size()));
    for (size_t i = 0; i < curve.fraction.size() && i < curve.score.size(); ++i)
        points.append(QPointF(curve.fraction[i], curve.score[i]));
    s->replace(points);
    QPen pen(colour, dashed ? 1.5 : 2.0);
    if (dashed) pen.setStyle(Qt::DashLine);
    s->setPen(pen);
    chart->addSeries(s);
    for (auto* axis : chart->axes()) s->attachAxis(axis);
    return s;
}

QString methodTitle(const RunMetrics& m, size_t i) {
    if (i < m.titles.size() && !m.titles[i].isEmpty()) return m.titles[i];
    return i < m.faithfulness.methods.size() ? qs(m.faithfulness.methods[i]) : QString();
}
QString floorTitle() { return QObject::tr("random ranking"); }

// Every method's curve (and the floor) of one kind; withAuc adds "(AUC 0.161)" to
// the names, for a chart that leaves the window without the table beside it.
void fillChart(QChart* chart, const RunMetrics& m, MetricsView::Chart which, bool withAuc,
               const std::function<void(QLineSeries*, const QString&)>& onSeries = {}) {
    const auto& f = m.faithfulness;
    auto pick = [&](const FaithfulnessCurves& c) -> const Curve& {
        return which == MetricsView::Chart::Deletion ? c.deletion : c.insertion;
    };
    auto name = [&](const QString& title, const Curve& c) {
        return withAuc ? QObject::tr("%1 (AUC %2)").arg(title, sig3(c.auc)) : title;
    };
    for (size_t i = 0; i < f.curves.size(); ++i) {
        const QString title = methodTitle(m, i);
        const Curve& c = pick(f.curves[i]);
        if (auto* s = addCurve(chart, c, name(title, c), kColours[i % std::size(kColours)], false); s && onSeries)
            onSeries(s, title);
    }
    if (!f.random.insertion.fraction.empty()) {
        const Curve& c = pick(f.random);
        if (auto* s = addCurve(chart, c, name(floorTitle(), c), Qt::darkGray, true); s && onSeries)
            onSeries(s, floorTitle());
    }
}

QTableWidgetItem* cell(const QString& text, Qt::Alignment align = Qt::AlignRight | Qt::AlignVCenter) {
    auto* item = new QTableWidgetItem(text);
    item->setTextAlignment(align);
    item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
    return item;
}

// A table exactly as tall as its rows (no empty band under them).
void fitHeight(QTableWidget* t) {
    t->setWordWrap(false);
    t->resizeRowsToContents();
    int h = t->horizontalHeader()->sizeHint().height();
    for (int r = 0; r < t->rowCount(); ++r) h += t->rowHeight(r);
    if (t->horizontalScrollBarPolicy() != Qt::ScrollBarAlwaysOff) h += t->horizontalScrollBar()->sizeHint().height();
    t->setFixedHeight(h + 2 * t->frameWidth() + 2);
}

// -1 blue .. 0 white .. 1 red (the same diverging scale as signed maps).
QColor divergingColour(double v) {
    v = std::clamp(v, -1.0, 1.0);
    const QColor lo(0x3b, 0x4c, 0xc0), mid(0xf7, 0xf7, 0xf7), hi(0xb4, 0x04, 0x26);
    const QColor& end = v < 0 ? lo : hi;
    const double t = std::abs(v);
    return QColor::fromRgbF(mid.redF() + (end.redF() - mid.redF()) * t,
                            mid.greenF() + (end.greenF() - mid.greenF()) * t,
                            mid.blueF() + (end.blueF() - mid.blueF()) * t);
}

QString cannotWrite(const QString& file, const QString& why) {
    return QObject::tr(
               "Could not save \"%1\": %2. Check that the folder exists and that you may write to it, "
               "or choose another place.")
        .arg(QDir::toNativeSeparators(file), why);
}

}  // namespace

MetricsView::MetricsView(QWidget* parent) : QWidget(parent), exportFolder_(QDir::currentPath()) {
    auto* v = new QVBoxLayout(this);
    auto* top = new QHBoxLayout;
    message_ = new QLabel(this);
    message_->setWordWrap(true);
    message_->setObjectName(QStringLiteral("metricsMessage"));
    message_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    top->addWidget(message_, 1);
    auto* exportColumn = new QVBoxLayout;
    exportButton_ = new QToolButton(this);
    exportButton_->setObjectName(QStringLiteral("metricsExport"));
    exportButton_->setText(tr("Export"));
    exportButton_->setToolTip(
        tr("Save the curves as CSV (as the command line's <stem>.metrics.csv) or a chart as "
           "an image"));
    exportButton_->setPopupMode(QToolButton::InstantPopup);
    auto* menu = new QMenu(exportButton_);
    auto add = [&](const QString& text, Export kind) {
        menu->addAction(text, this, [this, kind]() { exportInteractively(kind); });
    };
    add(tr("Curves as CSV…"), Export::Csv);
    menu->addSeparator();
    add(tr("Deletion chart as PNG…"), Export::DeletionPng);
    add(tr("Deletion chart as SVG…"), Export::DeletionSvg);
    menu->addSeparator();
    add(tr("Insertion chart as PNG…"), Export::InsertionPng);
    add(tr("Insertion chart as SVG…"), Export::InsertionSvg);
    exportButton_->setMenu(menu);
    exportButton_->setEnabled(false);
    exportColumn->addWidget(exportButton_, 0, Qt::AlignRight);
    exportNote_ = new QLabel(this);
    exportNote_->setObjectName(QStringLiteral("metricsExportNote"));
    exportNote_->setStyleSheet(QStringLiteral("QLabel { color: #555; }"));
    exportNote_->hide();
    exportColumn->addWidget(exportNote_, 0, Qt::AlignRight);
    exportColumn->addStretch();
    top->addLayout(exportColumn);
    v->addLayout(top);

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
    const QString deletionHelp =
        tr("Deletion AUC: the target's mean probability while the map's highest-ranked pixels are deleted, "
           "step by step (the area under the deletion curve, 0 to 1). A faithful map makes the probability "
           "drop fast: lower is better. It should be below the random ranking's.");
    const QString insertionHelp =
        tr("Insertion AUC: the target's mean probability while the map's highest-ranked pixels are revealed "
           "on the baseline, step by step (the area under the insertion curve, 0 to 1). A faithful map makes "
           "the probability rise fast: higher is better. It should be above the random ranking's.");
    const QString marginHelp =
        tr("Insertion AUC minus the random ranking's: how far the map beats chance on insertion. Above 0 = "
           "better than random; the larger, the better.");
    const QString verdictHelp =
        tr("Against the random ranking: \"beats random on both\" = deletion AUC below and insertion AUC above "
           "the floor; \"on one curve only\" = one of the two; \"no better than random\" = the map ranks the "
           "pixels no better than chance.");
    const QStringList headers = {tr("Method"), tr("Deletion AUC\nlower is better"),
                                 tr("Insertion AUC\nhigher is better"), tr("Insertion\nminus random"), tr("Verdict")};
    const QStringList headerHelp = {
        tr("The explanation method; the last row is the random ranking, the floor every map must beat."), deletionHelp,
        insertionHelp, marginHelp, verdictHelp};
    for (int c = 0; c < headers.size(); ++c) {
        auto* h = new QTableWidgetItem(headers[c]);
        h->setToolTip(headerHelp[c]);
        aucTable_->setHorizontalHeaderItem(c, h);
    }
    aucTable_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    aucTable_->horizontalHeader()->setStretchLastSection(true);
    aucTable_->verticalHeader()->hide();
    aucTable_->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);  // no empty band under the rows
    v->addWidget(aucTable_);
    aucHelp_ = new QLabel(
        tr("Each map ranks the pixels. <i>Deletion</i> removes them from the image in that order, "
           "<i>insertion</i> reveals them on the baseline; the score is the target's probability. "
           "Deletion AUC: lower is better. Insertion AUC: higher is better. The <i>random ranking</i> is the "
           "floor: a map that does not beat it tells no more than chance. Hover over a heading or number for "
           "more."),
        this);
    aucHelp_->setObjectName(QStringLiteral("aucHelp"));
    aucHelp_->setWordWrap(true);
    aucHelp_->setStyleSheet(QStringLiteral("QLabel { color: #555; }"));
    v->addWidget(aucHelp_);

    auto* charts = new QHBoxLayout;
    deletionView_ = new QChartView(makeChart(Chart::Deletion), this);
    insertionView_ = new QChartView(makeChart(Chart::Insertion), this);
    deletionView_->setObjectName(QStringLiteral("deletionChart"));
    insertionView_->setObjectName(QStringLiteral("insertionChart"));
    deletionView_->setToolTip(deletionHelp + tr(" Dashed: the random ranking."));
    insertionView_->setToolTip(insertionHelp + tr(" Dashed: the random ranking."));
    for (auto* view : {deletionView_, insertionView_}) {
        view->setRenderHint(QPainter::Antialiasing);
        view->setMinimumHeight(300);
        // Half the width each: a chart view's size hint is its current size, which
        // would otherwise keep whatever split the first layout made.
        view->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Expanding);
        charts->addWidget(view, 1);
    }
    v->addLayout(charts, 1);

    auto* agreementRow = new QHBoxLayout;
    auto* agreementLabel = new QLabel(tr("<b>Agreement between methods</b>"), this);
    agreementKind_ = new QComboBox(this);
    agreementKind_->setObjectName(QStringLiteral("agreementKind"));
    agreementKind_->addItem(tr("Spearman rank correlation"));
    agreementKind_->addItem(tr("IoU of the top pixels"));
    agreementHelp_ = new QLabel(this);
    agreementHelp_->setObjectName(QStringLiteral("agreementHelp"));
    agreementHelp_->setStyleSheet(QStringLiteral("QLabel { color: #555; }"));
    agreementHelp_->setWordWrap(true);
    agreementRow->addWidget(agreementLabel);
    agreementRow->addWidget(agreementKind_);
    agreementRow->addWidget(agreementHelp_, 1);
    v->addLayout(agreementRow);
    agreementTable_ = new QTableWidget(this);
    agreementTable_->setObjectName(QStringLiteral("agreementTable"));
    agreementTable_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    agreementTable_->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);  // the columns stretch to fit
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

    showMetrics(nullptr);
    showMessage(tr("Metrics are computed after the maps when \"Compute metrics\" is on (left, Run and display)."));
}

QChart* MetricsView::chart(Chart which) const {
    return (which == Chart::Deletion ? deletionView_ : insertionView_)->chart();
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

QString MetricsView::targetText() const {
    if (!metrics_) return {};
    const auto& f = metrics_->faithfulness;
    const QString p = percent(f.guard.image_probability);
    if (metrics_->target_label.isEmpty()) return tr("Target class %1 (p = %2)").arg(f.target_index).arg(p);
    return tr("Target '%1' (class %2, p = %3)").arg(metrics_->target_label).arg(f.target_index).arg(p);
}

void MetricsView::showMetrics(std::shared_ptr<const RunMetrics> metrics) {
    metrics_ = std::move(metrics);
    deletionView_->chart()->removeAllSeries();
    insertionView_->chart()->removeAllSeries();
    aucTable_->setRowCount(0);
    warning_->clear();
    warning_->hide();
    exportNote_->hide();
    exportButton_->setEnabled(static_cast<bool>(metrics_));
    const bool any = static_cast<bool>(metrics_);
    for (QWidget* w : std::initializer_list<QWidget*>{aucTable_, aucHelp_, deletionView_, insertionView_})
        w->setVisible(any);
    if (!metrics_) {
        agreementTable_->clear();
        agreementTable_->setRowCount(0);
        agreementTable_->setColumnCount(0);
        agreementHelp_->clear();
        fillSanity();
        return;
    }
    const auto& f = metrics_->faithfulness;
    const auto& random = f.random;
    const bool haveFloor = !random.insertion.fraction.empty();
    // Hovering a curve names it and the point under the mouse.
    auto hover = [this](Chart which) {
        return [this, which](QLineSeries* s, const QString& title) {
            connect(s, &QLineSeries::hovered, this, [which, title](const QPointF& point, bool state) {
                if (!state) return QToolTip::hideText();
                QToolTip::showText(QCursor::pos(), tr("%1: %2 of the pixels %3, target probability %4")
                                                       .arg(title, percent(std::clamp(point.x(), 0.0, 1.0)),
                                                            which == Chart::Deletion ? tr("deleted") : tr("revealed"),
                                                            percent(std::clamp(point.y(), 0.0, 1.0))));
            });
        };
    };
    fillChart(deletionView_->chart(), *metrics_, Chart::Deletion, false, hover(Chart::Deletion));
    fillChart(insertionView_->chart(), *metrics_, Chart::Insertion, false, hover(Chart::Insertion));

    auto compared = [&](QTableWidgetItem* item, double value, double floor, bool lowerIsBetter) {
        if (!haveFloor) return item;
        const bool better = lowerIsBetter ? value < floor : value > floor;
        item->setBackground(better ? kBetter : kWorse);
        item->setToolTip(tr("%1: %2 than the random ranking's %3 (%4)")
                             .arg(sig3(value), better ? tr("better") : tr("not better"), sig3(floor),
                                  lowerIsBetter ? tr("lower is better") : tr("higher is better")));
        return item;
    };
    for (size_t i = 0; i < f.curves.size(); ++i) {
        const QString title = methodTitle(*metrics_, i);
        const int row = aucTable_->rowCount();
        aucTable_->insertRow(row);
        auto* name = cell(title, Qt::AlignLeft | Qt::AlignVCenter);
        name->setForeground(kColours[i % std::size(kColours)].darker(130));
        aucTable_->setItem(row, 0, name);
        aucTable_->setItem(
            row, 1,
            compared(cell(sig3(f.curves[i].deletion.auc)), f.curves[i].deletion.auc, random.deletion.auc, true));
        aucTable_->setItem(
            row, 2,
            compared(cell(sig3(f.curves[i].insertion.auc)), f.curves[i].insertion.auc, random.insertion.auc, false));
        if (haveFloor) {
            const double margin = f.curves[i].insertion.auc - random.insertion.auc;
            auto* m = cell(signedSig3(margin));
            m->setToolTip(tr("Insertion AUC %1 minus the random ranking's %2: %3 chance")
                              .arg(sig3(f.curves[i].insertion.auc), sig3(random.insertion.auc),
                                   margin > 0 ? tr("better than") : tr("no better than")));
            aucTable_->setItem(row, 3, m);
            // The core's words, so the GUI, the CLI and the sheet agree.
            const QString verdict = qs(faithfulnessVerdict(f, i));
            auto* item = cell(verdict, Qt::AlignLeft | Qt::AlignVCenter);
            item->setToolTip(verdict);
            const bool both =
                f.curves[i].insertion.auc > random.insertion.auc && f.curves[i].deletion.auc < random.deletion.auc;
            const bool none =
                f.curves[i].insertion.auc <= random.insertion.auc && f.curves[i].deletion.auc >= random.deletion.auc;
            item->setForeground(both   ? QColor(0x1e, 0x7b, 0x34)
                                : none ? QColor(0xc0, 0x39, 0x2b)
                                       : QColor(0x9a, 0x5b, 0x00));
            aucTable_->setItem(row, 4, item);
        }
    }
    if (haveFloor) {
        const int row = aucTable_->rowCount();
        aucTable_->insertRow(row);
        auto* name = cell(tr("random ranking (floor, mean of %1)").arg(f.settings.random_repeats),
                          Qt::AlignLeft | Qt::AlignVCenter);
        name->setToolTip(tr("Pixels deleted or revealed in a random order, averaged over %1 orders: what a map "
                            "that knows nothing gets. A useful map must beat it.")
                             .arg(f.settings.random_repeats));
        aucTable_->setItem(row, 0, name);
        aucTable_->setItem(row, 1, cell(sig3(random.deletion.auc)));
        aucTable_->setItem(row, 2, cell(sig3(random.insertion.auc)));
        auto* floor = cell(tr("the floor a useful map must beat"), Qt::AlignLeft | Qt::AlignVCenter);
        floor->setToolTip(name->toolTip());
        aucTable_->setItem(row, 4, floor);
        for (int c : {0, 1, 2, 4}) aucTable_->item(row, c)->setForeground(QColor(0x55, 0x55, 0x55));
    }
    fitHeight(aucTable_);
    const QString insertionStart =
        f.settings.insertion_start == "blur" ? tr("a blurred copy (RISE)") : tr("the same baseline");
    showMessage(tr("<b>%1</b> · %2 input pixels, %3 per step · %4 model evaluations in %5 s<br>"
                   "Deleted pixels become <b>%6</b>, as set by %7; insertion starts from %8.")
                    .arg(targetText().toHtmlEscaped())
                    .arg(f.pixels)
                    .arg(f.pixels_per_step)
                    .arg(f.model_evaluations)
                    .arg(sig3(f.seconds))
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
    for (int i = 0; i < steps; ++i) {
        auto* h = new QTableWidgetItem(QStringLiteral("+ %1").arg(qs(r.layers[i])));
        h->setToolTip(tr("Correlation with the original map after randomising the weights of every layer from "
                         "the top down to %1. 1 = the map did not change; near 0 = it changed completely, as it "
                         "should when it follows the model.")
                          .arg(qs(r.layers[i])));
        sanityTable_->setHorizontalHeaderItem(i, h);
    }
    auto* verdictHeader =
        new QTableWidgetItem(tr("verdict (threshold %1)").arg(QString::number(r.settings.threshold, 'g', 3)));
    verdictHeader->setToolTip(tr("Flagged when the correlation after the last step is still %1 or more: the map "
                                 "hardly depends on the model's weights.")
                                  .arg(QString::number(r.settings.threshold, 'g', 3)));
    sanityTable_->setHorizontalHeaderItem(steps, verdictHeader);
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
                item->setToolTip(tr("%1 after randomising down to %2: Spearman %3 with the original map")
                                     .arg(qs(m.title), qs(r.layers[c]), QString::number(m.spearman[c], 'f', 2)));
            }
            sanityTable_->setItem(row, c, item);
        }
        const QString text = qs(sanityVerdict(m, r.target_probability));
        auto* verdict = cell(text, Qt::AlignLeft | Qt::AlignVCenter);
        verdict->setToolTip(text);
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
    const QString topPercent = QString::number(a.top_percent, 'g', 3);
    for (int r = 0; r < n && r < static_cast<int>(m.size()); ++r)
        for (int c = 0; c < n && c < static_cast<int>(m[r].size()); ++c) {
            const double v = m[r][c];
            auto* item = cell(QString::number(v, 'f', 2), Qt::AlignCenter);
            item->setBackground(divergingColour(v));
            item->setForeground(std::abs(v) > 0.6 ? Qt::white : Qt::black);
            item->setToolTip(
                iou ? tr("%1 and %2 share %3 of their top %4% pixels").arg(names[r], names[c], percent(v), topPercent)
                    : tr("%1 and %2 order the pixels with a Spearman correlation of %3")
                          .arg(names[r], names[c], QString::number(v, 'f', 2)));
            agreementTable_->setItem(r, c, item);
        }
    fitHeight(agreementTable_);
    const QString help = iou ? tr("Share of the top %1% pixels two maps have in common: 1 = the same pixels, "
                                  "0 = none in common.")
                                   .arg(topPercent)
                             : tr("Do two maps order the pixels alike? 1 = the same order, 0 = unrelated, "
                                  "−1 = reversed.");
    agreementTable_->setToolTip(help);
    agreementHelp_->setText(help);
}

// ---- export ----

void MetricsView::setExportFolder(const QString& folder) {
    const QString f = folder.isEmpty() ? QDir::currentPath() : folder;
    if (f == exportFolder_) return;
    exportFolder_ = f;
    Q_EMIT exportFolderChanged(f);
}

void MetricsView::setExportBaseName(const QString& base) {
    exportBase_ = base.isEmpty() ? QStringLiteral("mirada") : base;
}

bool MetricsView::exportCurvesCsv(const QString& file, QString* error) const {
    auto fail = [&](const QString& why) {
        if (error) *error = why;
        return false;
    };
    if (!metrics_) return fail(tr("There are no metrics to export: run with \"Compute metrics\" on first."));
    const std::string csv = curvesCsv(metrics_->faithfulness);  // the CLI's writer: the same columns and numbers
    QSaveFile out(file);
    if (!out.open(QIODevice::WriteOnly)) return fail(cannotWrite(file, out.errorString()));
    if (out.write(csv.data(), static_cast<qint64>(csv.size())) != static_cast<qint64>(csv.size()) || !out.commit())
        return fail(cannotWrite(file, out.errorString()));
    return true;
}

bool MetricsView::exportChart(Chart which, const QString& file, QString* error) const {
    auto fail = [&](const QString& why) {
        if (error) *error = why;
        return false;
    };
    if (!metrics_) return fail(tr("There are no metrics to export: run with \"Compute metrics\" on first."));
    const QString suffix = QFileInfo(file).suffix().toLower();
    if (suffix != QStringLiteral("png") && suffix != QStringLiteral("svg"))
        return fail(tr("Cannot tell the image format of \"%1\": use a name ending in .png or .svg.")
                        .arg(QDir::toNativeSeparators(file)));

    // A chart of its own at a fixed size, not a grab of the one on screen: the
    // same figure whatever the window's size, names with their AUCs, the target named.
    const QSize size = chartExportSize();
    QGraphicsScene scene;
    QChart* chart = makeChart(which, true);
    chart->setTitle(QStringLiteral("%1 · %2 · %3").arg(chartName(which), targetText(), betterText(which)));
    fillChart(chart, *metrics_, which, true);
    scene.addItem(chart);  // owns it
    chart->setGeometry(QRectF(QPointF(0, 0), QSizeF(size)));
    chart->layout()->activate();
    const QRectF area(QPointF(0, 0), QSizeF(size));
    scene.setSceneRect(area);

    QSaveFile out(file);
    if (!out.open(QIODevice::WriteOnly)) return fail(cannotWrite(file, out.errorString()));
    if (suffix == QStringLiteral("png")) {
        QImage image(size * 2, QImage::Format_ARGB32_Premultiplied);
        image.setDevicePixelRatio(2);
        image.fill(Qt::white);
        QPainter painter(&image);
        painter.setRenderHint(QPainter::Antialiasing);
        painter.setRenderHint(QPainter::TextAntialiasing);
        scene.render(&painter, area, area);
        painter.end();
        if (!image.save(&out, "PNG")) return fail(cannotWrite(file, tr("the PNG could not be written")));
    } else {
        QSvgGenerator svg;
        svg.setOutputDevice(&out);
        svg.setSize(size);
        // Fonts sized as on screen, where the chart was laid out (the generator's default is 72 dpi).
        const QScreen* screen = QGuiApplication::primaryScreen();
        svg.setResolution(screen ? qRound(screen->logicalDotsPerInch()) : 96);
        svg.setViewBox(QRect(QPoint(0, 0), size));
        svg.setTitle(chart->title());
        svg.setDescription(tr("Mirada %1 curves").arg(chartName(which).toLower()));
        QPainter painter;
        if (!painter.begin(&svg)) return fail(cannotWrite(file, tr("the SVG could not be started")));
        painter.setRenderHint(QPainter::Antialiasing);
        scene.render(&painter, area, area);
        painter.end();
    }
    if (!out.commit()) return fail(cannotWrite(file, out.errorString()));
    return true;
}

void MetricsView::exportInteractively(Export kind) {
    const bool csv = kind == Export::Csv;
    const bool svg = kind == Export::DeletionSvg || kind == Export::InsertionSvg;
    const Chart which =
        kind == Export::InsertionPng || kind == Export::InsertionSvg ? Chart::Insertion : Chart::Deletion;
    const QString suffix = csv ? QStringLiteral("csv") : svg ? QStringLiteral("svg") : QStringLiteral("png");
    const QString name = csv ? QStringLiteral("%1.metrics.csv").arg(exportBase_)
                             : QStringLiteral("%1.%2.%3").arg(exportBase_, chartName(which).toLower(), suffix);
    const QString filter = csv ? tr("CSV (*.csv)") : svg ? tr("SVG image (*.svg)") : tr("PNG image (*.png)");
    const QString title = csv ? tr("Export the curves") : tr("Export the %1 chart").arg(chartName(which).toLower());
    QString file = QFileDialog::getSaveFileName(this, title, QDir(exportFolder_).filePath(name), filter);
    if (file.isEmpty()) return;
    if (QFileInfo(file).suffix().compare(suffix, Qt::CaseInsensitive) != 0) {
        file += QLatin1Char('.') + suffix;
        if (QFileInfo::exists(file) &&
            QMessageBox::question(this, title, tr("\"%1\" exists. Replace it?").arg(QDir::toNativeSeparators(file))) !=
                QMessageBox::Yes)
            return;
    }
    QString error;
    const bool ok = csv ? exportCurvesCsv(file, &error) : exportChart(which, file, &error);
    if (!ok) {
        QMessageBox::warning(this, tr("Export failed"), error);
        return;
    }
    setExportFolder(QFileInfo(file).absolutePath());
    exportNote_->setText(tr("Saved %1").arg(QFileInfo(file).fileName()));
    exportNote_->setToolTip(QDir::toNativeSeparators(QFileInfo(file).absoluteFilePath()));
    exportNote_->show();
    Q_EMIT exported(file);
}

}  // namespace mirada::gui
