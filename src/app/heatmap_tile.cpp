#include "heatmap_tile.hpp"

#include <QSignalBlocker>

#include "explain/surrogate/surrogate_engine.hpp"
#include "explain/surrogate/uncertainty.hpp"

#include <QPixmap>
#include <QResizeEvent>
#include <cmath>

#include "explain/baseline_setting.hpp"
#include "explain/surrogate/lime.hpp"
#include "metrics/metrics_summary.hpp"

#include "qt_image.hpp"
#include "report/comparison_sheet.hpp"
#include "ui_heatmap_tile.h"

namespace mirada::gui {

namespace {
QString number(double v) { return QString::number(v, 'g', 3); }

// What the metric lines under a map mean (they come from the Metrics step).
QString metricsHelp() {
    return QObject::tr(
        "<p><b>deletion AUC</b>: the target's probability as the map's most important pixels are removed "
        "first, averaged over the curve; <b>lower is better</b>. <b>insertion AUC</b>: the same as they are "
        "added to the baseline; <b>higher is better</b>. <b>rnd</b>: the same curve for a random ranking of "
        "the pixels, the floor a useful map must beat. The Metrics tab shows the curves.</p>");
}

bool hasFlag(const Explanation& e, const char* flag) {
    return std::find(e.flags.begin(), e.flags.end(), flag) != e.flags.end();
}
}  // namespace

ElidedLabel::ElidedLabel(QWidget* parent) : QLabel(parent) {
    setTextFormat(Qt::PlainText);
    setWordWrap(false);
    // Never wider than the tile gives it: the text is cut to fit instead.
    setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Fixed);
}

void ElidedLabel::setFullText(const QString& text) {
    full_ = text;
    elide();
}

void ElidedLabel::resizeEvent(QResizeEvent* event) {
    QLabel::resizeEvent(event);
    elide();
}

void ElidedLabel::elide() { setText(fontMetrics().elidedText(full_, Qt::ElideRight, std::max(0, width() - 2))); }

HeatmapTile::HeatmapTile(QWidget* parent) : QFrame(parent), ui_(std::make_unique<Ui::HeatmapTile>()) {
    ui_->setupUi(this);
    ui_->progressBar->hide();
    // The warning line sits between the target line and the map. Method tiles
    // keep its height even when empty, so every map of a run has the same size.
    warningLabel_ = new ElidedLabel(this);
    warningLabel_->setObjectName(QStringLiteral("warningLabel"));
    warningLabel_->setStyleSheet(QStringLiteral("color: #9a5b00; font-weight: bold;"));
    warningLabel_->setCursor(Qt::WhatsThisCursor);
    warningLabel_->setFixedHeight(warningLabel_->fontMetrics().height() + 2);
    ui_->tileLayout->insertWidget(ui_->tileLayout->indexOf(ui_->detailLabel) + 1, warningLabel_);
    // The detail line is one line too (cut with "…", whole in its tooltip): equal map sizes.
    detailLabel_ = new ElidedLabel(this);
    detailLabel_->setObjectName(QStringLiteral("detailLine"));
    ui_->tileLayout->insertWidget(ui_->tileLayout->indexOf(ui_->detailLabel), detailLabel_);
    ui_->detailLabel->hide();
    ui_->numbersLabel->setWordWrap(false);
    // A long title (a run's name) is cut at the tile's edge, whole in its tooltip.
    {
        QSizePolicy title(QSizePolicy::Ignored, ui_->titleLabel->sizePolicy().verticalPolicy());
        title.setHorizontalStretch(1);
        ui_->titleLabel->setSizePolicy(title);
        ui_->titleLabel->setWordWrap(false);
        ui_->titleLabel->setMinimumWidth(40);
    }
    warningLabel_->hide();
    connect(ui_->saveButton, &QToolButton::clicked, this, &HeatmapTile::saveRequested);
    ui_->uncertaintyButton->hide();
    connect(ui_->uncertaintyButton, &QToolButton::toggled, this, &HeatmapTile::setShowUncertainty);
}

bool HeatmapTile::uncertaintyAvailable() const { return explanation_ && hasIntervals(*explanation_); }

void HeatmapTile::setShowUncertainty(bool show) {
    show = show && uncertaintyAvailable();
    if (ui_->uncertaintyButton->isChecked() != show) {
        const QSignalBlocker block(ui_->uncertaintyButton);
        ui_->uncertaintyButton->setChecked(show);
    }
    if (show == showUncertainty_) return;
    showUncertainty_ = show;
    renderOverlay();
}

HeatmapTile::~HeatmapTile() = default;

HeatmapView* HeatmapTile::view() const { return ui_->view; }

void HeatmapTile::showOriginal(const cv::Mat& rgb, const QString& title, const QString& detail) {
    original_ = true;
    rgb_ = rgb;
    state_ = MethodState::Done;
    setObjectName(QStringLiteral("tile.original"));
    ui_->titleLabel->setText(title);
    ui_->titleLabel->setToolTip(title);
    setDetailLine(detail);
    ui_->statusLabel->clear();
    {
        QSizePolicy keep = ui_->saveButton->sizePolicy();
        keep.setRetainSizeWhenHidden(true);  // the header as high as a map tile's
        ui_->saveButton->setSizePolicy(keep);
    }
    ui_->saveButton->hide();
    ui_->progressBar->hide();
    ui_->colorbarLabel->hide();
    ui_->minLabel->setText(QStringLiteral(" "));  // an empty legend row: the image is as large as the maps
    ui_->minLabel->show();
    ui_->maxLabel->hide();
    ui_->numbersLabel->clear();
    numberLines_.clear();
    renderNumbers();
    showWarnings(nullptr);
    ui_->view->setPlaceholder(rgb.empty() ? tr("Open an image (Ctrl+O), drop one here, or pick a sample") : QString());
    ui_->view->setImage(toQImage(rgb));
}

void HeatmapTile::showSlot(const MethodSlot& slot, const cv::Mat& rgb, const OverlayOptions& overlay) {
    original_ = false;
    method_ = slot.method;
    setObjectName(qs("tile." + slot.method));
    state_ = slot.state;
    ui_->titleLabel->setText(slot.title);
    ui_->titleLabel->setToolTip(slot.title);
    QString status = toText(slot.state);
    QString statusStyle;
    switch (slot.state) {
        case MethodState::Running: status = tr("Running %1%").arg(std::lround(slot.progress * 100)); break;
        case MethodState::Failed: statusStyle = QStringLiteral("color: #c0392b; font-weight: bold;"); break;
        case MethodState::Cancelled: statusStyle = QStringLiteral("color: #b9770e;"); break;
        case MethodState::Done: statusStyle = QStringLiteral("color: #1e8449;"); break;
        case MethodState::NotRun: statusStyle = QStringLiteral("color: #555555;"); break;
        default: break;
    }
    QString statusTip;
    if (slot.state == MethodState::Done && slot.reused) {
        status = tr("Done · kept");
        statusTip = tr("Its inputs did not change since %1, so this map was taken from there, not computed again")
                        .arg(slot.reusedFrom.isEmpty() ? tr("the earlier run") : slot.reusedFrom);
    }
    if (slot.outOfDate && slot.explanation) {
        status = tr("Out of date");
        statusStyle = QStringLiteral("color: #ffffff; background: #b9770e; font-weight: bold; padding: 0 3px;");
        statusTip = tr("Changed since this map was computed: %1. Run (F5) recomputes this map (and only the maps "
                       "that changed).")
                        .arg(slot.outOfDateWhy);
    }
    ui_->statusLabel->setToolTip(statusTip);
    outOfDate_ = slot.outOfDate && slot.explanation;
    ui_->statusLabel->setText(status);
    ui_->statusLabel->setStyleSheet(statusStyle);
    ui_->progressBar->setVisible(slot.state == MethodState::Running);
    ui_->progressBar->setValue(static_cast<int>(slot.progress * 1000));
    ui_->progressBar->setToolTip(slot.message);

    const bool newResult = slot.explanation != explanation_;
    explanation_ = slot.explanation;
    showWarnings(explanation_.get());
    rgb_ = rgb;
    ui_->saveButton->setVisible(true);
    ui_->saveButton->setEnabled(static_cast<bool>(explanation_));
    ui_->uncertaintyButton->setVisible(uncertaintyAvailable());
    if (newResult && showUncertainty_ && !uncertaintyAvailable()) setShowUncertainty(false);
    if (explanation_) {
        const auto& e = *explanation_;
        // The precision of the map's model evaluations (models/precision.hpp); gradients are always fp32.
        const std::string precision =
            e.settings.is_object() && e.settings.contains("precision") && e.settings["precision"].is_string()
                ? e.settings["precision"].get<std::string>()
                : std::string();
        if (e.method == "difference")
            setDetailLine(tr("target: %1 (%2) · red: larger in the first run, blue: in the second")
                              .arg(qs(e.target_label))
                              .arg(e.target_index));
        else
            setDetailLine(tr("target: %1 (%2), p = %3 · %4 s%5")
                              .arg(qs(e.target_label))
                              .arg(e.target_index)
                              .arg(number(e.target_probability))
                              .arg(QString::number(e.seconds, 'f', e.seconds < 1 ? 3 : 2))
                              .arg(precision.empty() ? QString() : QStringLiteral(" · ") + qs(precision)));
        detailLabel_->setToolTip(
            detailLabel_->fullText() + QStringLiteral("\n") +
            tr("The class the map explains, its probability on the image (p), the time the map took") +
            (precision == "bf16" ? tr(", and the precision: model evaluations ran in bfloat16, faster, scores "
                                      "differ slightly from fp32")
             : precision.empty() ? QString()
                                 : tr(", and the precision: model evaluations ran in float32")));
        QStringList lines;
        for (const auto& l : keyNumbers(e)) lines << qs(l);
        for (const auto& f : e.flags)
            if (f == kFlagNoPositiveEvidence)
                lines << tr("<b>No positive evidence</b> for this class: the map is all zero or negative.");
        numbers_ = lines.join(QStringLiteral("<br>"));
        ui_->numbersLabel->setToolTip(
            hasIntervals(e) ? tr("<p><b>top-k stable</b>: how likely the k superpixels with the largest values stay "
                                 "the same with another random sample (100% minus the chance they change, from the "
                                 "95% intervals); higher is better.</p><p><b>unsure</b>: superpixels whose 95% "
                                 "interval holds 0, hatched on the map: the sample does not establish whether they "
                                 "speak for or against the class. <b>auto</b>: samples were added in rounds until "
                                 "the top-k was stable or max_samples was reached.</p><p>The ± button shows the "
                                 "interval widths as a map.</p>")
                            : tr("<p>The map's own numbers (hover the title for the method). "
                                 "<b>R²</b>: how well the surrogate fits the model on the samples, higher is "
                                 "better. <b>f(x)</b> and <b>base</b>: the model's score on the image and on the "
                                 "baseline.</p>"));
        ui_->numbersLabel->setWordWrap(false);  // one line each: the grid counts lines
        numbersTip_ = ui_->numbersLabel->toolTip() + metricsHelp();
        ui_->numbersLabel->setToolTip(numbersTip_);
        ui_->numbersLabel->setStyleSheet({});
        setExtraLines(extraLines_);
        if (newResult || overlay.range != overlay_.range || overlay.clip_percentile != overlay_.clip_percentile) {
            overlay_ = overlay;
            scale_ = colourScaleFor(e.heatmap, e.signed_map, overlay_);  // the map's own, until the grid shares one
            renderOverlay();
        } else if (overlay.colormap != overlay_.colormap || overlay.opacity != overlay_.opacity) {
            overlay_ = overlay;
            renderOverlay();
        }
        ui_->view->setPlaceholder({});
    } else {
        overlay_ = overlay;
        scale_ = ColourScale{};
        setDetailLine(slot.state == MethodState::Running ? slot.message : QString());
        ui_->numbersLabel->setWordWrap(true);  // a failure's reason is a sentence
        ui_->numbersLabel->setText(slot.state == MethodState::Failed ? slot.message : QString());
        ui_->numbersLabel->setStyleSheet(slot.state == MethodState::Failed ? QStringLiteral("color: #c0392b;")
                                                                           : QString());
        ui_->view->setImage({});
        ui_->view->setHatchMask({});
        ui_->view->setPlaceholder(slot.state == MethodState::Failed      ? tr("No map: the method failed")
                                  : slot.state == MethodState::Cancelled ? tr("Cancelled")
                                  : slot.state == MethodState::Running   ? tr("Computing…")
                                  : slot.state == MethodState::NotRun    ? tr("Not run yet: Run (F5) computes it")
                                                                         : tr("Waiting for its turn"));
        ui_->colorbarLabel->hide();
        ui_->minLabel->hide();
        ui_->maxLabel->hide();
    }
}

void HeatmapTile::setExtraLines(const QStringList& lines) {
    extraLines_ = lines;
    if (!explanation_) return;
    numberLines_.clear();
    if (!numbers_.isEmpty()) numberLines_ = numbers_.split(QStringLiteral("<br>"));
    for (const auto& l : lines) numberLines_ << l.toHtmlEscaped();
    renderNumbers();
}

void HeatmapTile::setShownLines(int lines) {
    if (lines == shownLines_) return;
    shownLines_ = lines;
    renderNumbers();
}

void HeatmapTile::renderNumbers() {
    if (!explanation_ && !original_) return;
    QStringList shown = numberLines_;
    if (shownLines_ >= 1 && shown.size() > shownLines_) {
        const int hidden = static_cast<int>(shown.size()) - (shownLines_ - 1);
        shown = shown.mid(0, shownLines_ - 1);
        shown << tr("<i>… %n more line(s): hover here</i>", nullptr, hidden);
    }
    // Padded to the lines every tile shows, so the maps above are the same size.
    while (shownLines_ >= 1 && shown.size() < shownLines_) shown << QStringLiteral("&nbsp;");
    ui_->numbersLabel->setText(shown.join(QStringLiteral("<br>")));
    numbersFull_ = numberLines_.join(QStringLiteral("<br>"));
    QString tip = numbersTip_;
    if (static_cast<int>(numberLines_.size()) > shownLines_ && shownLines_ >= 1)
        tip = QStringLiteral("<p>%1</p>").arg(numbersFull_) + tip;
    ui_->numbersLabel->setToolTip(tip);
}

void HeatmapTile::setOverlay(const OverlayOptions& overlay, const ColourScale& scale) {
    const bool same = overlay.colormap == overlay_.colormap && overlay.opacity == overlay_.opacity &&
                      overlay.range == overlay_.range && overlay.clip_percentile == overlay_.clip_percentile &&
                      scale.signed_map == scale_.signed_map && scale.end == scale_.end &&
                      scale.clipped == scale_.clipped;
    overlay_ = overlay;
    scale_ = scale;
    if (explanation_ && !same) renderOverlay();
}

void HeatmapTile::renderOverlay() {
    if (!explanation_ || rgb_.empty()) return;
    if (showUncertainty_ && uncertaintyAvailable()) {
        // The interval half-widths, on their own unsigned scale from 0.
        OverlayOptions own = overlay_;
        own.range = "per-map";
        const cv::Mat width = intervalHalfWidthMap(*explanation_);
        const ColourScale ws = colourScaleFor(width, false, own);
        ui_->view->setImage(toQImage(mirada::renderOverlay(rgb_, width, ws, own)));
        ui_->view->setHatchMask({});
        const auto labels = legendLabels(ws);
        ui_->colorbarLabel->setPixmap(QPixmap::fromImage(toQImage(renderColorbar(128, 8, own, false))));
        ui_->colorbarLabel->setVisible(ws.end > 0);
        ui_->minLabel->setText(ws.end > 0 ? QStringLiteral("± ") + qs(labels.front())
                                          : tr("no uncertainty: every value is exact"));
        ui_->maxLabel->setText(QStringLiteral("± ") + qs(labels.back()));
        ui_->maxLabel->setVisible(ws.end > 0);
        ui_->minLabel->show();
        const QString tip = tr("How unsure each superpixel's value is: the half-width of its 95% interval (%1), from "
                               "0 to %2. Click ± again for the values.")
                                .arg(qs(explanation_->numbers["uncertainty"].value("method", std::string())))
                                .arg(qs(labels.back()));
        for (auto* w : {static_cast<QWidget*>(ui_->colorbarLabel), static_cast<QWidget*>(ui_->minLabel),
                        static_cast<QWidget*>(ui_->maxLabel)})
            w->setToolTip(tip);
        return;
    }
    ui_->view->setImage(toQImage(mirada::renderOverlay(rgb_, explanation_->heatmap, scale_, overlay_)));
    const cv::Mat unsure = uncertainSegmentsMask(*explanation_);  // sign not established by the sample
    ui_->view->setHatchMask(unsure.empty() ? QImage()
                                           : QImage(unsure.data, unsure.cols, unsure.rows,
                                                    static_cast<qsizetype>(unsure.step), QImage::Format_Grayscale8)
                                                 .copy());
    // Legend: the colour scale the overlay was drawn with, the raw values at its ends.
    const bool colour = scale_.end > 0;
    const auto labels = legendLabels(scale_);
    ui_->colorbarLabel->setPixmap(QPixmap::fromImage(toQImage(renderColorbar(128, 8, overlay_, scale_.signed_map))));
    ui_->colorbarLabel->setVisible(colour);
    ui_->minLabel->setText(colour ? qs(labels.front()) : tr("no colour: the scale ends at 0"));
    ui_->maxLabel->setText(qs(labels.back()));
    ui_->maxLabel->setVisible(colour);
    ui_->minLabel->show();
    QString tip = scale_.signed_map
                      ? tr("Signed map: blue = against the target, white = 0, red = for it. Scale %1 … %2")
                            .arg(qs(labels.front()), qs(labels.back()))
                      : tr("Unsigned map: colours from 0 to %1").arg(qs(labels.back()));
    if (overlay_.range == "shared")
        tip += tr(", shared by every %1 map").arg(scale_.signed_map ? tr("signed") : tr("unsigned"));
    const std::string note = clipNote(scale_, overlay_);
    if (!note.empty()) tip += tr("; %1, larger values saturate").arg(qs(note));
    if (uncertaintyAvailable() && uncertainSegmentCount(*explanation_) > 0)
        tip +=
            tr(". Hatched: coloured superpixels whose 95% interval holds 0 (the sample does not establish "
               "their sign)");
    for (auto* w : {static_cast<QWidget*>(ui_->colorbarLabel), static_cast<QWidget*>(ui_->minLabel),
                    static_cast<QWidget*>(ui_->maxLabel)})
        w->setToolTip(tip);
    if (!note.empty())
        ui_->maxLabel->setText(qs(labels.back()) + QStringLiteral(" (") + qs(note) + QStringLiteral(")"));
}

void HeatmapTile::showWarnings(const Explanation* e) {
    // Tiles keep the line's height even without a warning (stable map sizes).
    QSizePolicy policy = warningLabel_->sizePolicy();
    policy.setRetainSizeWhenHidden(true);  // the original too: every image the same size
    warningLabel_->setSizePolicy(policy);
    QStringList shorts, full;
    if (e) {
        size_t known = 0;
        if (hasFlag(*e, kFlagBaselinePredictsTarget)) {
            shorts << tr("the baseline alone predicts the target");
            ++known;
        }
        if (hasFlag(*e, kFlagLowFit)) {
            shorts << (e->numbers.contains("r2") && e->numbers["r2"].is_number()
                           ? tr("poor surrogate fit (R² %1)").arg(e->numbers["r2"].get<double>(), 0, 'f', 2)
                           : tr("poor surrogate fit"));
            ++known;
        }
        if (hasFlag(*e, kFlagFewSuperpixels)) {
            shorts << tr("too few superpixels (%1)").arg(e->numbers.value("superpixels", 0));
            ++known;
        }
        if (hasFlag(*e, kFlagFewSamples)) {
            shorts << tr("fewer samples than superpixels");
            ++known;
        }
        if (hasFlag(*e, kFlagUnstableRanking)) {
            shorts << tr("unstable ranking");
            ++known;
        }
        if (e->warnings.size() > known)
            shorts << tr("%n more warning(s)", nullptr, static_cast<int>(e->warnings.size() - known));
        for (const auto& w : e->warnings) full << qs(w);
        const std::string caution = targetCaution(e->target_probability);
        if (!caution.empty()) {
            shorts << tr("low p for this class (%1)").arg(number(e->target_probability));
            QString c = qs(caution);
            c[0] = c[0].toUpper();
            full << c + tr(": the map and its metrics say little about this image.");
        }
    }
    if (shorts.isEmpty()) {
        warningLabel_->setFullText({});
        warningLabel_->setToolTip({});
        warningLabel_->hide();
        return;
    }
    QString first = shorts.join(QStringLiteral(" · "));
    first[0] = first[0].toUpper();
    warningLabel_->setFullText(QStringLiteral("⚠ ") + first);
    QStringList paragraphs;
    for (const auto& f : full) paragraphs << QStringLiteral("<p>%1</p>").arg(f.toHtmlEscaped());
    warningLabel_->setToolTip(paragraphs.join(QString()));
    warningLabel_->show();
}

void HeatmapTile::setDetail(const QString& detail) { setDetailLine(detail); }
QString HeatmapTile::detailText() const { return detailLabel_->fullText(); }

void HeatmapTile::setDetailLine(const QString& text) {
    detailLabel_->setFullText(text);
    detailLabel_->setToolTip(text);
}

QString HeatmapTile::warningText() const { return warningLabel_->fullText(); }
QString HeatmapTile::warningToolTip() const { return warningLabel_->toolTip(); }
bool HeatmapTile::warningVisible() const { return warningLabel_->isVisible(); }

QString HeatmapTile::legendMinText() const { return ui_->minLabel->text(); }
QString HeatmapTile::legendMaxText() const { return ui_->maxLabel->text(); }

void HeatmapTile::showValueAt(bool inside, const QPointF& p) {
    if (!inside || rgb_.empty()) {
        ui_->valueLabel->setText(QStringLiteral(" "));
        return;
    }
    const int x = std::clamp(static_cast<int>(p.x()), 0, rgb_.cols - 1);
    const int y = std::clamp(static_cast<int>(p.y()), 0, rgb_.rows - 1);
    if (original_) {
        const auto c = rgb_.at<cv::Vec3b>(y, x);
        ui_->valueLabel->setText(tr("(%1, %2)  RGB %3 %4 %5").arg(x).arg(y).arg(c[0]).arg(c[1]).arg(c[2]));
    } else if (explanation_) {
        QString text = tr("(%1, %2)  value %3").arg(x).arg(y).arg(number(explanation_->heatmap.at<float>(y, x)));
        if (hasIntervals(*explanation_)) {
            const int label = explanation_->segments.at<int>(y, x);
            const auto& iv = explanation_->numbers["interval"];
            if (label >= 0 && label < static_cast<int>(iv.size()))
                text += tr(" ± %1 (95%)").arg(number(0.5 * (iv[label][1].get<double>() - iv[label][0].get<double>())));
        }
        ui_->valueLabel->setText(text);
    } else {
        ui_->valueLabel->setText(QStringLiteral(" "));
    }
}

QString HeatmapTile::statusText() const { return ui_->statusLabel->text(); }
QString HeatmapTile::numbersText() const { return explanation_ ? numbersFull_ : ui_->numbersLabel->text(); }
QString HeatmapTile::valueText() const { return ui_->valueLabel->text(); }
double HeatmapTile::progress() const { return ui_->progressBar->value() / 1000.0; }

int HeatmapTile::numberLineCount() const {
    if (explanation_) return static_cast<int>(numberLines_.size());
    return ui_->numbersLabel->text().isEmpty() ? 0 : 1;
}

int HeatmapTile::lineHeight() const { return ui_->numbersLabel->fontMetrics().lineSpacing(); }

int HeatmapTile::heightWithoutMapAndNumbers() const {
    const QMargins m = layout()->contentsMargins();
    int h = m.top() + m.bottom();
    int items = 0;
    for (int i = 0; i < layout()->count(); ++i) {
        QLayoutItem* item = layout()->itemAt(i);
        QWidget* w = item->widget();
        if (w == ui_->view || w == ui_->numbersLabel) continue;
        if (w && w->isHidden() && !w->sizePolicy().retainSizeWhenHidden()) continue;
        if (item->isEmpty() && !w) continue;
        h += item->sizeHint().height();
        ++items;
    }
    return h + layout()->spacing() * (items + 1);
}

}  // namespace mirada::gui
