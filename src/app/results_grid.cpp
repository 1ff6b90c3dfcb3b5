#include "results_grid.hpp"

#include <QGridLayout>
#include <QResizeEvent>

#include "report/comparison_sheet.hpp"

namespace mirada::gui {

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

const cv::Mat& ResultsGrid::imageOf(size_t index) const {
    return index < images_.size() && !images_[index].empty() ? images_[index] : rgb_;
}

void ResultsGrid::showSlots(const std::vector<MethodSlot>& slots) { showTiles(slots, {}, true); }

void ResultsGrid::showTiles(const std::vector<MethodSlot>& slots, const std::vector<cv::Mat>& images,
                            bool withOriginal) {
    images_ = images;
    if (withOriginal != withOriginal_) {
        withOriginal_ = withOriginal;
        original_->setVisible(withOriginal);
        columns_ = 0;
    }
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
    for (size_t i = 0; i < slots.size(); ++i) tiles_[i]->showSlot(slots[i], imageOf(i), overlay_);
    updateScales();
    columns_ = 0;  // force a new layout
    relayout();
    equalizeNumbers();
}

void ResultsGrid::showSlot(int index, const MethodSlot& slot) {
    if (index < 0 || index >= tileCount()) return;
    tiles_[index]->showSlot(slot, imageOf(static_cast<size_t>(index)), overlay_);
    updateScales();
    equalizeNumbers();
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
    equalizeNumbers();
}

void ResultsGrid::clearExtraLines() {
    for (auto* t : tiles_) t->setExtraLines({});
    equalizeNumbers();
}

void ResultsGrid::equalizeNumbers() {
    // Every tile shows the same number of lines (the most any tile has, as far
    // as the row's height leaves a map of at least kMinMap pixels).
    constexpr int kMinMap = 90;
    int most = 0;
    for (auto* t : tiles_) most = std::max(most, t->numberLineCount());
    int lines = most;
    if (!tiles_.empty() && columns_ > 0) {
        const QSize area = parentWidget() ? parentWidget()->size() : size();
        const int total = (withOriginal_ ? 1 : 0) + tileCount();
        const int rows = (total + columns_ - 1) / columns_;
        const int rowHeight = (area.height() - layout_->spacing() * (rows - 1) - 8) / rows;
        int fixed = 0;
        for (auto* t : tiles_) fixed = std::max(fixed, t->heightWithoutMapAndNumbers());
        const int budget = (rowHeight - fixed - kMinMap) / std::max(1, tiles_.front()->lineHeight());
        lines = std::max(2, std::min(most, budget));
    }
    for (auto* t : tiles_) t->setShownLines(lines);
    original_->setShownLines(lines);
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
    const int before = columns_;
    relayout();
    if (columns_ == before) equalizeNumbers();  // the row height changed
}

void ResultsGrid::relayout() {
    const int total = (withOriginal_ ? 1 : 0) + tileCount();
    // The area on screen: the scroll area's viewport when the grid sits in one.
    const QSize area = parentWidget() ? parentWidget()->size() : size();
    // As many columns as give the largest maps with every tile on screen:
    // a tile's map is at most its width and its height less the text around it.
    constexpr int kText = 120;  // title, detail, warning, legend and two number lines
    int columns = 1;
    double best = -1;
    // Never narrower than a tile can be (its minimum width): then a vertical scroll bar instead.
    const int widest = std::max(1, (area.width() + 8) / (original_->minimumWidth() + 8));
    for (int c = 1; c <= std::max(1, std::min(total, widest)); ++c) {
        const int rows = (total + c - 1) / c;
        const double w = (area.width() - 8.0 * c) / c;
        const double h = (area.height() - 8.0 * rows) / rows - kText;
        const double side = std::min(w, h);
        if (side > best + 1) {
            best = side;
            columns = c;
        }
    }
    columns = std::max(1, std::min(columns, std::max(1, total)));
    if (columns == columns_) return;
    columns_ = columns;
    while (layout_->count() > 0) delete layout_->takeAt(0);  // the layout items, not the tiles
    std::vector<HeatmapTile*> all;
    if (withOriginal_) all.push_back(original_);
    all.insert(all.end(), tiles_.begin(), tiles_.end());
    for (int i = 0; i < static_cast<int>(all.size()); ++i) layout_->addWidget(all[i], i / columns, i % columns);
    for (int c = 0; c < layout_->columnCount(); ++c) layout_->setColumnStretch(c, c < columns ? 1 : 0);
    const int rows = (static_cast<int>(all.size()) + columns - 1) / columns;
    // Rows left from an earlier layout keep no share of the height.
    for (int r = 0; r < layout_->rowCount(); ++r) layout_->setRowStretch(r, r < rows ? 1 : 0);
    equalizeNumbers();
}

}  // namespace mirada::gui
