#include "qt_image.hpp"

namespace mirada::gui {

QImage toQImage(const cv::Mat& image) {
    if (image.empty()) return {};
    if (image.type() == CV_8UC3) {
        QImage view(image.data, image.cols, image.rows, static_cast<qsizetype>(image.step), QImage::Format_RGB888);
        return view.copy();
    }
    if (image.type() == CV_8UC1) {
        QImage view(image.data, image.cols, image.rows, static_cast<qsizetype>(image.step), QImage::Format_Grayscale8);
        return view.copy();
    }
    return {};
}

}  // namespace mirada::gui
