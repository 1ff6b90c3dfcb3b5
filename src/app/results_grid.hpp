#pragma once
// The right side: the original image plus one tile per method, laid out in as
// many columns as fit. It owns the one ViewState (zoom, pan, hover point) that
// every tile shows, and the overlay options applied to all tiles at once
// (with the colour scales, shared across tiles of one kind when asked).
#include <QWidget>
#include <vector>

#include "explanation_session.hpp"
#include "heatmap_tile.hpp"

class QGridLayout;

namespace mirada::gui {

class ResultsGrid : public QWidget {
    Q_OBJECT
public:
    explicit ResultsGrid(QWidget* parent = nullptr);

    void showImage(const cv::Mat& rgb, const QString& title, const QString& detail);
    // One tile per slot; existing tiles are reused.
    void showSlots(const std::vector<MethodSlot>& slots);
    // Tiles over their own images (one method across runs of several images):
    // `images[i]` under slot i (the grid's image where empty); the original's
    // tile is hidden when `withOriginal` is false.
    void showTiles(const std::vector<MethodSlot>& slots, const std::vector<cv::Mat>& images, bool withOriginal);
    bool showsOriginal() const { return withOriginal_; }
    // The image under tile `index` (the grid's own unless the tile has its own).
    const cv::Mat& tileImage(int index) const { return imageOf(static_cast<size_t>(index)); }
    void showSlot(int index, const MethodSlot& slot);
    void setOverlayOptions(const OverlayOptions& overlay);
    // Extra lines under the tile of `method` ("" lines clear every tile).
    void setExtraLines(const std::string& method, const QStringList& lines);
    void clearExtraLines();
    const OverlayOptions& overlayOptions() const { return overlay_; }

    HeatmapTile* originalTile() const { return original_; }
    const cv::Mat& image() const { return rgb_; }
    int tileCount() const { return static_cast<int>(tiles_.size()); }
    HeatmapTile* tile(int index) const { return tiles_.at(index); }
    const ViewState& viewState() const { return state_; }
    void setViewState(const ViewState& state);

Q_SIGNALS:
    void saveTileRequested(int index);

protected:
    void resizeEvent(QResizeEvent* event) override;

private:
    void connectTile(HeatmapTile* tile);
    void relayout();
    // Every tile's number lines get the height of the tallest, so the maps are the same size.
    void equalizeNumbers();
    const cv::Mat& imageOf(size_t index) const;
    void setHover(bool inside, const QPointF& imagePos);
    // Hands every tile its colour scale (shared per kind when the range is "shared").
    void updateScales();

    QGridLayout* layout_;
    HeatmapTile* original_;
    std::vector<HeatmapTile*> tiles_;
    cv::Mat rgb_;
    OverlayOptions overlay_;
    ViewState state_;
    int columns_ = 0;
    bool withOriginal_ = true;
    std::vector<cv::Mat> images_;  // per tile; empty = rgb_
};

}  // namespace mirada::gui
