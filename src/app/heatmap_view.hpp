#pragma once
// Shows one image (an overlay or the original) with zoom, pan and a crosshair.
// The view does not own its zoom/pan/hover: it asks for changes with signals,
// and the results grid hands the same ViewState to every tile, so all tiles
// stay synchronised.
#include <QImage>
#include <QPointF>
#include <QRegion>
#include <QWidget>

namespace mirada::gui {

struct ViewState {
    double zoom = 1.0;         // 1 = whole image fits the view
    QPointF center{0.5, 0.5};  // image point at the view's centre, as fractions of width/height
    bool hovering = false;
    QPointF hover;  // image pixel coordinates under the cursor (any tile)
};

class HeatmapView : public QWidget {
    Q_OBJECT
public:
    explicit HeatmapView(QWidget* parent = nullptr);

    void setImage(const QImage& image);
    const QImage& image() const { return image_; }
    void setPlaceholder(const QString& text);
    // Pixels (image coordinates) drawn with diagonal hatching over the image, at
    // screen resolution whatever the zoom; a null mask (Grayscale8, != 0 = hatch) clears it.
    void setHatchMask(const QImage& mask);
    bool hasHatch() const { return !hatch_.isEmpty(); }
    void setViewState(const ViewState& state);
    const ViewState& viewState() const { return state_; }

    // Widget <-> image pixel coordinates under the current view state.
    QPointF toImage(const QPointF& widgetPos) const;
    QPointF toWidget(const QPointF& imagePos) const;

    QSize sizeHint() const override { return {280, 240}; }
    QSize minimumSizeHint() const override { return {120, 100}; }

Q_SIGNALS:
    void viewChangeRequested(const mirada::gui::ViewState& state);
    void hoverChanged(bool inside, const QPointF& imagePos);

protected:
    void paintEvent(QPaintEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    void mouseDoubleClickEvent(QMouseEvent* event) override;
    void leaveEvent(QEvent* event) override;

private:
    double scale() const;  // widget pixels per image pixel
    ViewState clamped(ViewState s) const;

    QImage image_;
    QString placeholder_;
    QRegion hatch_;
    ViewState state_;
    bool dragging_ = false;
    QPointF dragStart_;
    QPointF dragCenter_;
};

}  // namespace mirada::gui
