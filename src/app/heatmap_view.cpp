#include "heatmap_view.hpp"

#include <QMouseEvent>
#include <QPainter>
#include <QWheelEvent>
#include <algorithm>
#include <cmath>

namespace mirada::gui {

namespace {
constexpr double kMaxZoom = 64.0;
}

HeatmapView::HeatmapView(QWidget* parent) : QWidget(parent) {
    setMouseTracking(true);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
    // In the status bar, not a tooltip: a tooltip would cover the tiles on every hover.
    setStatusTip(tr("Wheel: zoom · drag: pan · double-click: fit (all tiles follow)"));
}

void HeatmapView::setImage(const QImage& image) {
    image_ = image;
    update();
}

void HeatmapView::setHatchMask(const QImage& mask) {
    QRegion region;
    if (!mask.isNull()) {
        // One rectangle per run of set pixels, row by row (the y-x banded order setRects wants).
        const QImage grey = mask.convertToFormat(QImage::Format_Grayscale8);
        std::vector<QRect> runs;
        for (int y = 0; y < grey.height(); ++y) {
            const uchar* row = grey.constScanLine(y);
            for (int x = 0; x < grey.width();) {
                if (!row[x]) {
                    ++x;
                    continue;
                }
                const int start = x;
                while (x < grey.width() && row[x]) ++x;
                runs.emplace_back(start, y, x - start, 1);
            }
        }
        if (!runs.empty()) region.setRects(runs.data(), static_cast<int>(runs.size()));
    }
    hatch_ = region;
    update();
}

void HeatmapView::setPlaceholder(const QString& text) {
    placeholder_ = text;
    update();
}

void HeatmapView::setViewState(const ViewState& state) {
    state_ = state;
    update();
}

double HeatmapView::scale() const {
    if (image_.isNull()) return 1.0;
    const double fit = std::min(width() / double(image_.width()), height() / double(image_.height()));
    return fit * state_.zoom;
}

QPointF HeatmapView::toImage(const QPointF& p) const {
    const double s = scale();
    const QPointF c(state_.center.x() * image_.width(), state_.center.y() * image_.height());
    return c + (p - QPointF(width() / 2.0, height() / 2.0)) / s;
}

QPointF HeatmapView::toWidget(const QPointF& p) const {
    const double s = scale();
    const QPointF c(state_.center.x() * image_.width(), state_.center.y() * image_.height());
    return QPointF(width() / 2.0, height() / 2.0) + (p - c) * s;
}

ViewState HeatmapView::clamped(ViewState s) const {
    s.zoom = std::clamp(s.zoom, 1.0, kMaxZoom);
    // Keep the centre where the image still covers the middle of the view.
    const double half = 0.5 / s.zoom;
    s.center.setX(std::clamp(s.center.x(), std::min(half, 0.5), std::max(1.0 - half, 0.5)));
    s.center.setY(std::clamp(s.center.y(), std::min(half, 0.5), std::max(1.0 - half, 0.5)));
    return s;
}

void HeatmapView::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.fillRect(rect(), palette().color(QPalette::Base).darker(104));
    if (image_.isNull()) {
        p.setPen(palette().color(QPalette::PlaceholderText));
        p.drawText(rect(), Qt::AlignCenter | Qt::TextWordWrap, placeholder_);
        return;
    }
    const double s = scale();
    // Enlarged pixels stay sharp (a 28x28 input should look like pixels, not blur).
    p.setRenderHint(QPainter::SmoothPixmapTransform, s < 1.0);
    const QPointF topLeft = toWidget(QPointF(0, 0));
    p.drawImage(QRectF(topLeft, QSizeF(image_.width() * s, image_.height() * s)), image_);
    if (!hatch_.isEmpty()) {
        p.save();
        QTransform t;
        t.translate(topLeft.x(), topLeft.y());
        t.scale(s, s);
        p.setClipRegion(t.map(hatch_));
        p.fillRect(rect(), QBrush(QColor(30, 30, 30, 170), Qt::BDiagPattern));
        p.restore();
    }
    if (state_.hovering) {
        const QPointF w = toWidget(state_.hover);
        p.setRenderHint(QPainter::Antialiasing, false);
        QPen dark(QColor(0, 0, 0, 160), 3);
        QPen light(QColor(255, 255, 255, 230), 1);
        for (const QPen& pen : {dark, light}) {
            p.setPen(pen);
            p.drawLine(QPointF(w.x(), 0), QPointF(w.x(), height()));
            p.drawLine(QPointF(0, w.y()), QPointF(width(), w.y()));
        }
    }
    if (!placeholder_.isEmpty()) {
        // A state note over an image (e.g. "stale"): bottom band.
        QRect band(0, height() - 22, width(), 22);
        p.fillRect(band, QColor(0, 0, 0, 140));
        p.setPen(Qt::white);
        p.drawText(band, Qt::AlignCenter, placeholder_);
    }
}

void HeatmapView::wheelEvent(QWheelEvent* event) {
    if (image_.isNull()) return;
    const double steps = event->angleDelta().y() / 120.0;
    if (steps == 0) return;
    const QPointF pos = event->position();
    const QPointF before = toImage(pos);
    ViewState s = state_;
    s.zoom = std::clamp(state_.zoom * std::pow(1.25, steps), 1.0, kMaxZoom);
    // Zoom about the cursor: the image point under it stays under it.
    const double fit = std::min(width() / double(image_.width()), height() / double(image_.height()));
    const double newScale = fit * s.zoom;
    const QPointF c = before - (pos - QPointF(width() / 2.0, height() / 2.0)) / newScale;
    s.center = QPointF(c.x() / image_.width(), c.y() / image_.height());
    Q_EMIT viewChangeRequested(clamped(s));
    event->accept();
}

void HeatmapView::mousePressEvent(QMouseEvent* event) {
    if (event->button() == Qt::LeftButton && !image_.isNull()) {
        dragging_ = true;
        dragStart_ = event->position();
        dragCenter_ = state_.center;
        setCursor(Qt::ClosedHandCursor);
    }
}

void HeatmapView::mouseMoveEvent(QMouseEvent* event) {
    if (image_.isNull()) return;
    if (dragging_) {
        const double s = scale();
        const QPointF delta = (event->position() - dragStart_) / s;
        ViewState v = state_;
        v.center = QPointF(dragCenter_.x() - delta.x() / image_.width(), dragCenter_.y() - delta.y() / image_.height());
        Q_EMIT viewChangeRequested(clamped(v));
    }
    const QPointF ip = toImage(event->position());
    const bool inside = ip.x() >= 0 && ip.y() >= 0 && ip.x() < image_.width() && ip.y() < image_.height();
    Q_EMIT hoverChanged(inside, ip);
}

void HeatmapView::mouseReleaseEvent(QMouseEvent*) {
    dragging_ = false;
    unsetCursor();
}

void HeatmapView::mouseDoubleClickEvent(QMouseEvent*) { Q_EMIT viewChangeRequested(ViewState{}); }

void HeatmapView::leaveEvent(QEvent*) { Q_EMIT hoverChanged(false, {}); }

}  // namespace mirada::gui
