#pragma once
// Conversions between the core's OpenCV images and Qt's. The core is RGB
// everywhere, so an RGB cv::Mat maps onto QImage::Format_RGB888 directly.
#include <QImage>
#include <QString>
#include <opencv2/core.hpp>
#include <string>

namespace mirada::gui {

// Deep copy of a CV_8UC3 RGB (or CV_8UC1 grey) image.
QImage toQImage(const cv::Mat& image);

// UTF-8 conversions used at the Qt/core boundary (paths, messages).
inline QString qs(const std::string& s) { return QString::fromStdString(s); }
inline std::string ss(const QString& s) { return s.toStdString(); }

}  // namespace mirada::gui
