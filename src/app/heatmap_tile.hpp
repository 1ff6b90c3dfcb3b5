#pragma once
// One tile of the results grid: a method's overlay with its name, target,
// time, status (queued / running with progress / done / failed / cancelled),
// colour legend and key numbers. The first tile shows the original image.
// Overlays are rendered by the core (renderOverlay) from the raw heatmap, so
// opacity and colormap change without recomputing anything.
#include <QFrame>
#include <QLabel>
#include <memory>

#include "explain/explainer.hpp"
#include "explanation_session.hpp"
#include "heatmap_view.hpp"
#include "image/overlay.hpp"

namespace Ui {
class HeatmapTile;
}

namespace mirada::gui {

// A one-line label that shows as much of its text as fits, ending in "…".
class ElidedLabel : public QLabel {
public:
    explicit ElidedLabel(QWidget* parent = nullptr);
    void setFullText(const QString& text);
    const QString& fullText() const { return full_; }

protected:
    void resizeEvent(QResizeEvent* event) override;

private:
    void elide();
    QString full_;
};

class HeatmapTile : public QFrame {
    Q_OBJECT
public:
    explicit HeatmapTile(QWidget* parent = nullptr);
    ~HeatmapTile() override;

    // The original-image tile.
    void showOriginal(const cv::Mat& rgb, const QString& title, const QString& detail);
    // The line under the title (e.g. the original's size and what the model sees of it).
    void setDetail(const QString& detail);
    QString detailText() const;
    // A method's tile: state from the session, overlay rendered on `rgb` with
    // the map's own colour scale until setOverlay hands it another (shared range).
    void showSlot(const MethodSlot& slot, const cv::Mat& rgb, const OverlayOptions& overlay);
    // Options and the colour scale to draw with; redraws only when they change.
    void setOverlay(const OverlayOptions& overlay, const ColourScale& scale);
    // The scale the overlay and the legend show.
    const ColourScale& colourScale() const { return scale_; }
    // Legend texts: the raw values at the colour bar's ends ("0", "0.87"; "-0.031", "+0.031").
    QString legendMinText() const;
    QString legendMaxText() const;
    // Lines shown under the key numbers (e.g. deletion/insertion AUC); empty clears them.
    void setExtraLines(const QStringList& lines);
    // Shows the heatmap value (or the pixel colour on the original) at an image point.
    void showValueAt(bool inside, const QPointF& imagePos);

    // LIME / KernelSHAP maps with intervals: superpixels whose 95% interval
    // holds 0 are hatched; the ± button shows the interval half-widths instead
    // of the values (an unsigned map with its own scale).
    bool uncertaintyAvailable() const;
    void setShowUncertainty(bool show);
    bool showsUncertainty() const { return showUncertainty_; }

    HeatmapView* view() const;
    MethodState state() const { return state_; }
    bool hasExplanation() const { return static_cast<bool>(explanation_); }
    const Explanation* explanation() const { return explanation_.get(); }
    std::string method() const { return method_; }
    QString statusText() const;
    QString numbersText() const;
    QString valueText() const;
    // The warning line: short forms of Explanation::warnings (and the low-target
    // caution), "" when there is none; the full sentences are its tooltip.
    QString warningText() const;
    QString warningToolTip() const;
    bool warningVisible() const;
    double progress() const;
    bool outOfDate() const { return outOfDate_; }
    // The number lines under the map: how many there are, and how many to
    // show (the rest behind "… more", whole in the tooltip; fewer are padded).
    // The grid gives every tile the same count, so every map gets the same area.
    int numberLineCount() const;
    void setShownLines(int lines);
    int lineHeight() const;
    // The tile's height without the map and the number lines.
    int heightWithoutMapAndNumbers() const;

Q_SIGNALS:
    void saveRequested();

private:
    void renderOverlay();
    void showWarnings(const Explanation* e);
    void renderNumbers();
    void setDetailLine(const QString& text);

    std::unique_ptr<Ui::HeatmapTile> ui_;
    std::string method_;
    MethodState state_ = MethodState::Queued;
    std::shared_ptr<const Explanation> explanation_;
    cv::Mat rgb_;
    OverlayOptions overlay_;
    ColourScale scale_;
    bool original_ = false;
    QStringList extraLines_;
    bool showUncertainty_ = false;
    bool outOfDate_ = false;
    QStringList numberLines_;
    QString numbersFull_, numbersTip_;
    int shownLines_ = -1;  // -1: all
    ElidedLabel* detailLabel_ = nullptr;
    QString numbers_;
    ElidedLabel* warningLabel_ = nullptr;
};

}  // namespace mirada::gui
