#pragma once
// The "Metrics" tab: how far each map can be believed. Deletion and insertion
// curves of every method in one chart each (QtCharts) with the random ranking
// as the floor, a table of their AUCs, and the agreement matrix between
// methods as a coloured grid (Spearman rank correlation or top-k% IoU).
#include <QWidget>
#include <memory>
#include <vector>

#include "explanation_session.hpp"

class QChart;
class QChartView;
class QComboBox;
class QLabel;
class QTableWidget;

namespace mirada::gui {

class MetricsView : public QWidget {
    Q_OBJECT
public:
    explicit MetricsView(QWidget* parent = nullptr);

    void showMetrics(std::shared_ptr<const RunMetrics> metrics);
    void showMessage(const QString& text);  // no metrics: why (off, running, cancelled, failed)
    const RunMetrics* metrics() const { return metrics_.get(); }
    QTableWidget* aucTable() const { return aucTable_; }
    QTableWidget* agreementTable() const { return agreementTable_; }
    QTableWidget* sanityTable() const { return sanityTable_; }
    int seriesCount() const;
    QString messageText() const;
    QString warningText() const;  // lines in both charts together

private:
    void fillAgreement();
    void fillSanity();

    std::shared_ptr<const RunMetrics> metrics_;
    QLabel* message_;
    QLabel* warning_;  // the faithfulness guard and the low-target caution
    QTableWidget* aucTable_;
    QChartView* deletionView_;
    QChartView* insertionView_;
    QComboBox* agreementKind_;
    QTableWidget* agreementTable_;
    QLabel* sanityTitle_;
    QTableWidget* sanityTable_;
};

}  // namespace mirada::gui
