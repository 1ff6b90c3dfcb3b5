#include "results_grid.hpp"

#include <QGridLayout>
#include <QResizeEvent>

#include "report/comparison_sheet.hpp"

namespace mirada::gui {

namespace {
constexpr int kTileWidth = 300;  // a column per this many pixels of width
}

ResultsGrid::ResultsGrid(QWidget* parent) : QWidget(parent) {
    layout_ = new QGridLayout(this);
    layout_->setContentsMargins(4, 4, 4, 4);
    layout_->setSpacing(8);
    original_ = new HeatmapTile(this);
    original_->showOriginal({}, tr("Image"), {});
    connectTile(original_);
    relayout();
}

void ResultsGrid::connectTile(HeatmapTile* tile) {
    tile->view()->setViewState(state_);
    connect(tile->view(), &HeatmapView::viewChangeRequested, this, &ResultsGrid::setViewState);
    connect(tile->view(), &HeatmapView::hoverChanged, this, &ResultsGrid::setHover);
}

void ResultsGrid::showImage(const cv::Mat& rgb, const QString& title, const QString& detail) {
    rgb_ = rgb;
    original_->showOriginal(rgb, title, detail);
    setViewState(ViewState{});
}

void ResultsGrid::showSlots(const std::vector<MethodSlot>& slots) {
    while (static_cast<int>(tiles_.size()) > static_cast<int>(slots.size())) {
        delete tiles_.back();
        tiles_.pop_back();
    }
    while (tiles_.size() < slots.size()) {
        auto* tile = new HeatmapTile(this);
        const int index = static_cast<int>(tiles_.size());
        connect(tile, &HeatmapTile::saveRequested, this, [this, index]() { Q_EMIT saveTileRequested(index); });
        connectTile(tile);
        tiles_.push_back(tile);
    }
    for (size_t i = 0; i < slots.size(); ++i) tiles_[i]->showSlot(slots[i], rgb_, overlay_);
    updateScales();
    columns_ = 0;  // force a new layout
    relayout();
}

void ResultsGrid::showSlot(int index, const MethodSlot& slot) {
    if (index < 0 || index >= tileCount()) return;
    tiles_[index]->showSlot(slot, rgb_, overlay_);
    updateScales();
}

void ResultsGrid::setOverlayOptions(const OverlayOptions& overlay) {
    overlay_ = overlay;
    updateScales();
}

void ResultsGrid::updateScales() {
    std::vector<const Explanation*> maps;
    for (auto* t : tiles_) maps.push_back(t->explanation());
    const auto scales = colourScalesFor(maps, overlay_);
    for (size_t i = 0; i < tiles_.size(); ++i) tiles_[i]->setOverlay(overlay_, scales[i]);
}

void ResultsGrid::setExtraLines(const std::string& method, const QStringList& lines) {
    for (auto* t : tiles_)
        if (t->method() == method) t->setExtraLines(lines);
}

void ResultsGrid::clearExtraLines() {
    for (auto* t : tiles_) t->setExtraLines({});
}

void ResultsGrid::setViewState(const ViewState& state) {
    const bool hovering = state_.hovering;
    const QPointF hover = state_.hover;
    state_ = state;
    state_.hovering = hovering;  // zoom/pan changes keep the hover point
    state_.hover = hover;
    original_->view()->setViewState(state_);
    for (auto* t : tiles_) t->view()->setViewState(state_);
}

void ResultsGrid::setHover(bool inside, const QPointF& imagePos) {
    state_.hovering = inside;
    state_.hover = imagePos;
    original_->view()->setViewState(state_);
    original_->showValueAt(inside, imagePos);
    for (auto* t : tiles_) {
        t->view()->setViewState(state_);
        t->showValueAt(inside, imagePos);
    }
}

void ResultsGrid::resizeEvent(QResizeEvent* event) {
    QWidget::resizeEvent(event);
    relayout();
}

void ResultsGrid::relayout() {
    const int total = 1 + tileCount();
    const int fit = std::max(1, width() / kTileWidth);
    const int columns = std::max(1, std::min(total, std::min(fit, total <= 4 ? total : (total + 1) / 2)));
    if (columns == columns_) return;
    columns_ = columns;
    while (layout_->count() > 0) delete layout_->takeAt(0);  // the layout items, not the tiles
    std::vector<HeatmapTile*> all{original_};
    all.insert(all.end(), tiles_.begin(), tiles_.end());
    for (int i = 0; i < static_cast<int>(all.size()); ++i) layout_->addWidget(all[i], i / columns, i % columns);
    for (int c = 0; c < layout_->columnCount(); ++c) layout_->setColumnStretch(c, c < columns ? 1 : 0);
    for (int r = 0; r < layout_->rowCount(); ++r) layout_->setRowStretch(r, 1);
}

}  // namespace mirada::gui
