#pragma once
// The "Metrics" tab: how far each map can be believed. Deletion and insertion
// curves of every method in one chart each (QtCharts) with the random ranking
// as the floor, a table of their AUCs, and the agreement matrix between
// methods as a coloured grid (Spearman rank correlation or top-k% IoU).
// Every number carries a tooltip saying what it is and which way is better;
// the curves export as CSV (the CLI's <stem>.metrics.csv) and the charts as
// PNG or SVG, each written atomically.
#include <QSize>
#include <QString>
#include <QWidget>
#include <QtCharts/QChart>
#include <QtCharts/QChartView>
#include <QtCharts/QLegend>
#include <QtCharts/QLegendMarker>
#include <QtCharts/QValueAxis>
#include <memory>
#include <vector>

#include "explanation_session.hpp"

class QComboBox;
class QLabel;
class QTableWidget;
class QToolButton;

namespace mirada::gui {

class MetricsView : public QWidget {
    Q_OBJECT
public:
    enum class Chart { Deletion, Insertion };

    explicit MetricsView(QWidget* parent = nullptr);

    void showMetrics(std::shared_ptr<const RunMetrics> metrics);
    void showMessage(const QString& text);  // no metrics: why (off, running, cancelled, failed)
    const RunMetrics* metrics() const { return metrics_.get(); }
    QTableWidget* aucTable() const { return aucTable_; }
    QTableWidget* agreementTable() const { return agreementTable_; }
    QTableWidget* sanityTable() const { return sanityTable_; }
    QChart* chart(Chart which) const;  // as shown
    QToolButton* exportButton() const { return exportButton_; }
    int seriesCount() const;
    QString messageText() const;
    QString warningText() const;  // lines in both charts together

    // ---- export (no dialogs; the Export button's menu asks for a file and calls these) ----
    // One row per curve point: method,curve,step,fraction,score (the core's curvesCsv, as the CLI writes).
    bool exportCurvesCsv(const QString& file, QString* error = nullptr) const;
    // The chart as a standalone figure (method names with their AUCs, the target in the title), at
    // chartExportSize(): ".png" at twice that in pixels, ".svg" at that size. Written atomically: a
    // failed export leaves no file behind and an existing one as it was. Errors name the file.
    bool exportChart(Chart which, const QString& file, QString* error = nullptr) const;
    static QSize chartExportSize() { return {960, 600}; }

    // Where the export dialogs start (default: the current folder); a successful export moves it
    // to the file's folder and emits exportFolderChanged.
    QString exportFolder() const { return exportFolder_; }
    void setExportFolder(const QString& folder);
    // File names the dialogs suggest: "<base>.metrics.csv", "<base>.deletion.png", ... (default "mirada").
    void setExportBaseName(const QString& base);

Q_SIGNALS:
    void exportFolderChanged(const QString& folder);
    void exported(const QString& file);  // after a successful export from the menu

private:
    enum class Export { Csv, DeletionPng, DeletionSvg, InsertionPng, InsertionSvg };
    void exportInteractively(Export kind);
    void fillAgreement();
    void fillSanity();
    QString targetText() const;  // "Target 'Sneaker' (class 7, p = 99.0%)"

    std::shared_ptr<const RunMetrics> metrics_;
    QLabel* message_;
    QToolButton* exportButton_;
    QLabel* exportNote_;
    QLabel* warning_;  // the faithfulness guard and the low-target caution
    QTableWidget* aucTable_;
    QLabel* aucHelp_;
    QChartView* deletionView_;
    QChartView* insertionView_;
    QComboBox* agreementKind_;
    QLabel* agreementHelp_;
    QTableWidget* agreementTable_;
    QLabel* sanityTitle_;
    QTableWidget* sanityTable_;
    QString exportFolder_;
    QString exportBase_ = QStringLiteral("mirada");
};

}  // namespace mirada::gui
