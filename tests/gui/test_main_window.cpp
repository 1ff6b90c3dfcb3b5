// GUI tests (QtTest, offscreen platform): the main window on the bundled
// fashion-cnn model and a bundled sample, driven as a user would.
#include <QCheckBox>
#include <QDoubleSpinBox>
#include <QTabWidget>
#include <QTableWidget>
#include <QComboBox>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QLabel>
#include <QMimeData>
#include <QSettings>
#include <QSignalSpy>
#include <QSlider>
#include <QSpinBox>
#include <QStandardItemModel>
#include <QTemporaryDir>
#include <QToolButton>
#include <QTreeWidget>
#include <QWheelEvent>
#include <QtTest>

#include "explain/surrogate/uncertainty.hpp"
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "image/overlay.hpp"
#include "metrics/metrics_summary.hpp"
#include "qt_image.hpp"
#include "main_window.hpp"
#include "metrics_view.hpp"
#include "results_grid.hpp"

using namespace mirada;
using namespace mirada::gui;

namespace {

const QString kSample = QStringLiteral(MIRADA_SOURCE_DIR "/resources/samples/fashion-sneaker.png");
const QString kBag = QStringLiteral(MIRADA_SOURCE_DIR "/resources/samples/fashion-bag.png");
const QString kCat = QStringLiteral(MIRADA_SOURCE_DIR "/resources/samples/photo-cat.jpg");
constexpr int kLoadTimeout = 60000;
constexpr int kRunTimeout = 180000;

template <class T>
T* child(QWidget* w, const QString& name) {
    T* c = w->findChild<T*>(name);
    if (!c) qFatal("no child widget named %s", qPrintable(name));
    return c;
}

QByteArray readAll(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

}  // namespace

class MainWindowTest : public QObject {
    Q_OBJECT

    QTemporaryDir dir_;
    QString settingsFile() const { return dir_.filePath(QStringLiteral("settings.ini")); }

    std::unique_ptr<MainWindow> openWindow(const QString& settings = {}, const QString& image = kSample) {
        StartOptions o;
        o.settingsFile = settings.isEmpty() ? settingsFile() : settings;
        o.model = QStringLiteral("fashion-cnn");
        o.image = image;
        auto w = std::make_unique<MainWindow>(o);
        w->show();
        auto* list = child<QTreeWidget>(w.get(), QStringLiteral("predictionList"));
        if (!QTest::qWaitFor([&]() { return list->topLevelItemCount() == 5; }, kLoadTimeout))
            qFatal("the prediction list was not filled: %s", qPrintable(w->lastError()));
        return w;
    }

    // Only the given methods on, with small sample counts so the run is quick.
    static void onlyMethods(MainWindow& w, const std::set<std::string>& methods) {
        for (const auto& m : explainerNames()) w.section(m)->setChecked(methods.count(m) > 0);
        child<QSpinBox>(&w, QStringLiteral("lime.samples"))->setValue(200);
        child<QSpinBox>(&w, QStringLiteral("kernelshap.samples"))->setValue(300);
    }

    // Picks a value of the shared "perturbation.baseline" setting in its combo box.
    static void chooseBaseline(MainWindow& w, const QString& name) {
        auto* box = child<QComboBox>(&w, QStringLiteral("perturbation.baseline"));
        const int i = box->findData(name, Qt::UserRole);
        if (i < 0) qFatal("no baseline named %s in the list", qPrintable(name));
        box->setCurrentIndex(i);
    }

    // Every pixel of a grey preview equals `value`.
    static bool allPixels(const QImage& image, int value) {
        if (image.isNull() || image.format() != QImage::Format_Grayscale8) return false;
        for (int y = 0; y < image.height(); ++y)
            for (int x = 0; x < image.width(); ++x)
                if (qGray(image.pixel(x, y)) != value) return false;
        return true;
    }

    static void runAndWait(MainWindow& w) {
        QSignalSpy finished(&w, &MainWindow::runFinished);
        w.startRun();
        QVERIFY2(w.session()->running(), qPrintable(w.lastError()));
        QVERIFY(finished.wait(kRunTimeout));
    }

private Q_SLOTS:
    void init() {
        QFile::remove(settingsFile());
        QFile::remove(settingsFile() + QStringLiteral(".corrupt"));
    }

    void loadingModelAndSampleFillsPrediction() {
        auto w = openWindow();
        auto* list = child<QTreeWidget>(w.get(), QStringLiteral("predictionList"));
        QCOMPARE(list->topLevelItem(0)->text(0), QStringLiteral("Sneaker"));
        QVERIFY(list->topLevelItem(0)->text(2).toDouble() > 0.9);
        // Probabilities are in decreasing order.
        for (int i = 1; i < 5; ++i)
            QVERIFY(list->topLevelItem(i)->text(2).toDouble() <= list->topLevelItem(i - 1)->text(2).toDouble());
        auto* target = child<QComboBox>(w.get(), QStringLiteral("targetCombo"));
        QCOMPARE(target->count(), 11);  // top-1 + 10 classes
        QVERIFY(w->windowTitle().contains(QStringLiteral("fashion-sneaker.png")));
        QVERIFY(w->windowTitle().contains(QStringLiteral("fashion-cnn")));
        // Zoo models without weights stay listed but cannot be picked.
        auto* models = child<QComboBox>(w.get(), QStringLiteral("modelCombo"));
        QCOMPARE(models->currentData().toString(), QStringLiteral("fashion-cnn"));
        QVERIFY(models->findData(QStringLiteral("vgg16")) >= 0);
    }

    void layerChooserListsTheModelsLayers() {
        auto w = openWindow();
        auto* layer = child<QComboBox>(w.get(), QStringLiteral("gradcam.layer"));
        QCOMPARE(layer->count(), static_cast<int>(w->session()->layers().size()) + 1);
        QVERIFY(layer->findData(QStringLiteral("block2"), Qt::UserRole) > 0);
        layer->setCurrentIndex(layer->findData(QStringLiteral("block2"), Qt::UserRole));
        QCOMPARE(w->section("gradcam")->form()->values().getChoice("layer"), std::string("block2"));
    }

    void formChangesReachTheCore() {
        auto w = openWindow();
        onlyMethods(*w, {"gradcam", "lime"});
        child<QSpinBox>(w.get(), QStringLiteral("lime.samples"))->setValue(123);
        child<QSpinBox>(w.get(), QStringLiteral("superpixels.count"))->setValue(20);
        child<QSpinBox>(w.get(), QStringLiteral("seedSpin"))->setValue(7);
        auto* layer = child<QComboBox>(w.get(), QStringLiteral("gradcam.layer"));
        layer->setCurrentIndex(layer->findData(QStringLiteral("block2"), Qt::UserRole));
        auto* target = child<QComboBox>(w.get(), QStringLiteral("targetCombo"));
        target->setCurrentIndex(target->findData(4));  // Coat

        const RunPlan plan = w->buildRunPlan();
        QCOMPARE(plan.methods.size(), size_t(2));
        QCOMPARE(plan.methods[1].method, std::string("lime"));
        QCOMPARE(plan.methods[1].params.getInt("samples"), int64_t(123));
        QCOMPARE(plan.superpixels.getInt("count"), int64_t(20));
        QCOMPARE(plan.target_index, 4);
        QCOMPARE(plan.seed, uint64_t(7));

        runAndWait(*w);
        const auto& slots = w->session()->slots();
        QCOMPARE(slots.size(), size_t(2));
        QVERIFY2(slots[0].state == MethodState::Done && slots[1].state == MethodState::Done,
                 qPrintable(slots[1].message));
        const Explanation& cam = *slots[0].explanation;
        const Explanation& lime = *slots[1].explanation;
        QCOMPARE(cam.settings["layer"].get<std::string>(), std::string("block2"));
        QCOMPARE(lime.settings["params"]["samples"].get<int>(), 123);
        QCOMPARE(lime.settings["superpixels"]["count"].get<int>(), 20);
        QCOMPARE(lime.settings["seed"].get<int>(), 7);
        QCOMPARE(lime.target_index, 4);
        QCOMPARE(lime.model_evaluations,
                 int64_t(124));  // the 123 samples (the first is the image) + the baseline for the guard
    }

    void unknownTargetTextIsRefused() {
        auto w = openWindow();
        auto* target = child<QComboBox>(w.get(), QStringLiteral("targetCombo"));
        target->setEditText(QStringLiteral("no such class"));
        w->startRun();
        QVERIFY(!w->session()->running());
        QVERIFY(w->lastError().contains(QStringLiteral("no such class")));
        target->setEditText(QStringLiteral("trouser"));  // a label typed in any case works
        QCOMPARE(w->buildRunPlan().target_index, 1);
    }

    void runWithAllMethodsFillsEveryTile() {
        auto w = openWindow();
        onlyMethods(*w, {"gradcam", "gradcampp", "cam", "lime", "kernelshap"});
        runAndWait(*w);
        auto* grid = w->grid();
        QCOMPARE(grid->tileCount(), 5);
        for (int i = 0; i < grid->tileCount(); ++i) {
            auto* tile = grid->tile(i);
            QVERIFY2(tile->state() == MethodState::Done, qPrintable(tile->statusText() + " " + tile->numbersText()));
            QVERIFY(tile->hasExplanation());
            QCOMPARE(tile->explanation()->heatmap.cols, 28);
            QVERIFY(!tile->view()->image().isNull());
            QCOMPARE(tile->statusText(), QStringLiteral("Done"));
        }
        QVERIFY(grid->tile(3)->numbersText().contains(QStringLiteral("R2")));    // LIME
        QVERIFY(grid->tile(4)->numbersText().contains(QStringLiteral("f(x)")));  // KernelSHAP
        QVERIFY(child<QPushButton>(w.get(), QStringLiteral("exportButton"))->isEnabled());
        // For looking at the screens: MIRADA_GUI_SHOTS=<folder> saves the window and the whole form.
        const QString shots = qEnvironmentVariable("MIRADA_GUI_SHOTS");
        if (!shots.isEmpty()) {
            QTest::mouseMove(grid->tile(0)->view(), grid->tile(0)->view()->rect().center() + QPoint(20, 10));
            w->grab().save(QDir(shots).filePath(QStringLiteral("window.png")));
            QWidget* form = child<QWidget>(w.get(), QStringLiteral("formWidget"));
            form->grab(QRect(QPoint(0, 0), form->sizeHint().expandedTo(form->size())))
                .save(QDir(shots).filePath(QStringLiteral("form.png")));
        }
    }

    void cancelDuringLimeKeepsFinishedTiles() {
        auto w = openWindow();
        onlyMethods(*w, {"gradcam", "lime", "kernelshap"});
        child<QSpinBox>(w.get(), QStringLiteral("lime.samples"))->setValue(100000);
        child<QSpinBox>(w.get(), QStringLiteral("batchSpin"))->setValue(8);
        QSignalSpy finished(w.get(), &MainWindow::runFinished);
        w->startRun();
        auto* grid = w->grid();
        QTRY_VERIFY_WITH_TIMEOUT(
            grid->tileCount() == 3 && grid->tile(1)->state() == MethodState::Running && grid->tile(1)->progress() > 0,
            kRunTimeout);
        QElapsedTimer clock;
        clock.start();
        w->cancelRun();
        QVERIFY(finished.wait(30000));
        qInfo("cancel took effect after %lld ms", static_cast<long long>(clock.elapsed()));
        QVERIFY(clock.elapsed() < 5000);  // one batch of 8 tiny images is milliseconds
        QVERIFY(grid->tile(0)->state() == MethodState::Done);
        QVERIFY(grid->tile(0)->hasExplanation());
        QVERIFY(!grid->tile(0)->view()->image().isNull());
        QVERIFY(grid->tile(1)->state() == MethodState::Cancelled);
        QVERIFY(grid->tile(2)->state() == MethodState::Cancelled);
        QVERIFY(grid->tile(1)->progress() < 0.5);
        QVERIFY(!w->session()->running());
    }

    void exportWritesTheCliFiles() {
        auto w = openWindow();
        onlyMethods(*w, {"gradcam", "lime"});
        runAndWait(*w);
        QTemporaryDir out;
        QVERIFY(w->exportTo(out.path(), {}));
        const QStringList expected{"fashion-sneaker.gradcam.overlay.png", "fashion-sneaker.gradcam.heatmap.npy",
                                   "fashion-sneaker.lime.overlay.png",    "fashion-sneaker.lime.heatmap.npy",
                                   "fashion-sneaker.segments.png",        "fashion-sneaker.comparison.png",
                                   "fashion-sneaker.report.json",         "fashion-sneaker.input.png"};
        for (const auto& f : expected) QVERIFY2(QFileInfo(out.filePath(f)).size() > 0, qPrintable(f));
        const auto report =
            nlohmann::json::parse(readAll(out.filePath(QStringLiteral("fashion-sneaker.report.json"))).toStdString());
        QCOMPARE(report["methods"].size(), size_t(2));
        QCOMPARE(report["methods"][1]["settings"]["params"]["samples"].get<int>(), 200);
        // The GUI's input check goes into the report like the CLI's (no hint for a fashion sample).
        QVERIFY(report.contains("input_check"));
        QCOMPARE(report["input_check"]["top1_label"].get<std::string>(), std::string("Sneaker"));
        QVERIFY(report["input_check"]["hints"].empty());
        // Only the report, in a second folder.
        QTemporaryDir out2;
        ExportOptions onlyReport;
        onlyReport.overlays = onlyReport.heatmaps = onlyReport.segments = onlyReport.comparison =
            onlyReport.model_input = false;
        QVERIFY(w->exportTo(out2.path(), onlyReport));
        QCOMPARE(QDir(out2.path()).entryList(QDir::Files), QStringList{QStringLiteral("fashion-sneaker.report.json")});
        // A tile's overlay on its own.
        QVERIFY(w->saveTileOverlay(0, out2.filePath(QStringLiteral("cam.png"))));
        QVERIFY(QFileInfo(out2.filePath(QStringLiteral("cam.png"))).size() > 0);
    }

    void failedExportIsReportedAndLeavesFilesIntact() {
        auto w = openWindow();
        onlyMethods(*w, {"gradcam"});
        runAndWait(*w);
        QTemporaryDir out;
        // An existing report must survive a failed export: the overlay's name is
        // taken by a folder, so writing stops there with an error.
        QFile old(out.filePath(QStringLiteral("fashion-sneaker.report.json")));
        QVERIFY(old.open(QIODevice::WriteOnly));
        old.write("old report");
        old.close();
        QVERIFY(QDir(out.path()).mkdir(QStringLiteral("fashion-sneaker.gradcam.overlay.png")));
        QVERIFY(!w->exportTo(out.path(), {}));
        QVERIFY(w->lastError().contains(QStringLiteral("fashion-sneaker.gradcam.overlay.png")));
        QVERIFY(child<QWidget>(w.get(), QStringLiteral("errorBanner"))->isVisible());
        QCOMPARE(readAll(out.filePath(QStringLiteral("fashion-sneaker.report.json"))), QByteArray("old report"));
        // A folder that cannot be created (its parent is a file).
        QVERIFY(!w->exportTo(out.filePath(QStringLiteral("fashion-sneaker.report.json/sub")), {}));
        QVERIFY(w->isVisible());
    }

    void unreadableImageShowsAnErrorAndKeepsTheImage() {
        auto w = openWindow();
        const QString bad = dir_.filePath(QStringLiteral("broken.png"));
        QFile f(bad);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("this is not a PNG file at all");
        f.close();
        w->openImage(bad);
        QTRY_VERIFY_WITH_TIMEOUT(w->lastError().contains(QStringLiteral("broken.png")), 10000);
        QVERIFY(child<QWidget>(w.get(), QStringLiteral("errorBanner"))->isVisible());
        QCOMPARE(QFileInfo(w->session()->imagePath()).fileName(), QStringLiteral("fashion-sneaker.png"));
        QVERIFY(child<QPushButton>(w.get(), QStringLiteral("runButton"))->isEnabled());
        w->openImage(dir_.filePath(QStringLiteral("missing.jpg")));
        QTRY_VERIFY_WITH_TIMEOUT(w->lastError().contains(QStringLiteral("missing.jpg")), 10000);
    }

    void unusableCustomModelShowsAnErrorAndKeepsTheModel() {
        auto w = openWindow();
        const QString bad = dir_.filePath(QStringLiteral("not-a-model.pt"));
        QFile f(bad);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("definitely not a TorchScript archive");
        f.close();
        w->selectModel(bad);
        QTRY_VERIFY_WITH_TIMEOUT(w->lastError().contains(QStringLiteral("not-a-model.pt")), 20000);
        QVERIFY(child<QWidget>(w.get(), QStringLiteral("errorBanner"))->isVisible());
        QCOMPARE(w->session()->modelInfo().name, std::string("fashion-cnn"));  // still usable
        QTRY_VERIFY_WITH_TIMEOUT(child<QPushButton>(w.get(), QStringLiteral("runButton"))->isEnabled(), 20000);
        QCOMPARE(child<QComboBox>(w.get(), QStringLiteral("modelCombo"))->currentData().toString(),
                 QStringLiteral("fashion-cnn"));
        onlyMethods(*w, {"gradcam"});
        runAndWait(*w);
        QCOMPARE(w->grid()->tile(0)->state(), MethodState::Done);
    }

    void droppingAnImageOpensIt() {
        auto w = openWindow();
        const QString bag = QStringLiteral(MIRADA_SOURCE_DIR "/resources/samples/fashion-bag.png");
        QMimeData data;
        data.setUrls({QUrl::fromLocalFile(bag)});
        QDragEnterEvent enter(QPoint(400, 300), Qt::CopyAction, &data, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(w.get(), &enter);
        QVERIFY(enter.isAccepted());
        QDropEvent drop(QPointF(400, 300), Qt::CopyAction, &data, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(w.get(), &drop);
        auto* list = child<QTreeWidget>(w.get(), QStringLiteral("predictionList"));
        QTRY_VERIFY_WITH_TIMEOUT(
            list->topLevelItemCount() == 5 && list->topLevelItem(0)->text(0) == QStringLiteral("Bag"), 20000);
        QCOMPARE(QFileInfo(w->session()->imagePath()).fileName(), QStringLiteral("fashion-bag.png"));
        QVERIFY(w->windowTitle().contains(QStringLiteral("fashion-bag.png")));
    }

    void metricsShowCurvesAgreementAndAucUnderTiles() {
        auto w = openWindow();
        QVERIFY(w->metricsSection()->isChecked());  // on by default for a 28x28 model
        onlyMethods(*w, {"gradcam", "lime"});
        child<QDoubleSpinBox>(w.get(), QStringLiteral("faithfulness.step_fraction"))->setValue(0.05);
        runAndWait(*w);
        QCOMPARE(w->session()->metricsSlot().state, MethodState::Done);
        MetricsView* view = w->metricsView();
        QVERIFY(view->metrics());
        QCOMPARE(view->aucTable()->rowCount(), 3);  // two maps + the random floor
        QCOMPARE(view->seriesCount(), 6);           // (2 maps + random) x (deletion, insertion)
        QCOMPARE(view->agreementTable()->rowCount(), 2);
        QCOMPARE(view->agreementTable()->item(0, 0)->text(), QStringLiteral("1.00"));
        QCOMPARE(view->agreementTable()->item(0, 1)->text(), view->agreementTable()->item(1, 0)->text());
        const auto& f = view->metrics()->faithfulness;
        QCOMPARE(f.curves.size(), size_t(2));
        for (const auto& c : f.curves) {
            QVERIFY(c.deletion.auc >= 0 && c.deletion.auc <= 1);
            QVERIFY(c.insertion.fraction.size() > 15 && c.insertion.fraction.size() < 30);  // steps of about 5%
            QCOMPARE(c.insertion.fraction.front(), 0.0);
            QCOMPARE(c.insertion.fraction.back(), 1.0);
        }
        // The AUC shown under a tile is the one computed.
        const QString expected = QStringLiteral("deletion AUC %1").arg(f.curves[0].deletion.auc, 0, 'f', 3);
        QVERIFY2(w->grid()->tile(0)->numbersText().contains(expected), qPrintable(w->grid()->tile(0)->numbersText()));
        // Exported with the run: numbers in the report.
        QTemporaryDir out;
        QVERIFY(w->exportTo(out.path(), {}));
        const auto report =
            nlohmann::json::parse(readAll(out.filePath(QStringLiteral("fashion-sneaker.report.json"))).toStdString());
        QVERIFY(report["extra"]["metrics"]["faithfulness"]["methods"].contains("gradcam"));
        QCOMPARE(report["extra"]["metrics"]["agreement"]["methods"].size(), size_t(2));
        const QString shots = qEnvironmentVariable("MIRADA_GUI_SHOTS");
        if (!shots.isEmpty()) {
            child<QTabWidget>(w.get(), QStringLiteral("resultsTabs"))->setCurrentIndex(1);
            w->grab().save(QDir(shots).filePath(QStringLiteral("metrics.png")));
        }
    }

    void sanityCheckShowsCorrelationsAndRestoresTheModel() {
        auto w = openWindow();
        onlyMethods(*w, {"gradcam", "lime"});
        w->metricsSection()->setChecked(true);
        child<QDoubleSpinBox>(w.get(), QStringLiteral("faithfulness.step_fraction"))->setValue(0.1);
        w->sanityCheck()->setChecked(true);
        child<QSpinBox>(w.get(), QStringLiteral("sanity.layers"))->setValue(2);
        const float before = w->session()->prediction().front().probability;
        runAndWait(*w);
        QCOMPARE(w->session()->metricsSlot().state, MethodState::Done);
        const RunMetrics* m = w->metricsView()->metrics();
        QVERIFY(m && m->has_sanity);
        QCOMPARE(m->sanity.layers.size(), size_t(2));
        QCOMPARE(w->metricsView()->sanityTable()->rowCount(), 2);
        QCOMPARE(w->metricsView()->sanityTable()->columnCount(), 3);
        QCOMPARE(w->metricsView()->sanityTable()->item(0, 1)->text(),
                 QString::number(m->sanity.methods[0].spearman[1], 'f', 2));
        QVERIFY(w->grid()->tile(0)->numbersText().contains(QStringLiteral("sanity rho")));
        // The weights were put back: the same image gets the same probability.
        const auto again = predictTopK(*w->session()->model(), w->session()->image()->rgb, 1);
        QCOMPARE(again.front().probability, before);
        QTemporaryDir out;
        QVERIFY(w->exportTo(out.path(), {}));
        const auto report =
            nlohmann::json::parse(readAll(out.filePath(QStringLiteral("fashion-sneaker.report.json"))).toStdString());
        QVERIFY(report["extra"]["metrics"]["sanity"]["methods"].contains("lime"));
        const QString shots = qEnvironmentVariable("MIRADA_GUI_SHOTS");
        if (!shots.isEmpty()) {
            child<QTabWidget>(w.get(), QStringLiteral("resultsTabs"))->setCurrentIndex(1);
            w->metricsView()->grab().save(QDir(shots).filePath(QStringLiteral("sanity.png")));
        }
    }

    void cancellingMetricsKeepsTheMaps() {
        auto w = openWindow();
        onlyMethods(*w, {"gradcam"});
        w->metricsSection()->setChecked(true);
        child<QDoubleSpinBox>(w.get(), QStringLiteral("faithfulness.step_fraction"))
            ->setValue(0.0013);  // one pixel a step
        child<QSpinBox>(w.get(), QStringLiteral("faithfulness.random_repeats"))->setValue(20);
        child<QSpinBox>(w.get(), QStringLiteral("batchSpin"))->setValue(4);
        QSignalSpy finished(w.get(), &MainWindow::runFinished);
        w->startRun();
        QTRY_VERIFY_WITH_TIMEOUT(
            w->session()->metricsSlot().state == MethodState::Running && w->session()->metricsSlot().progress > 0,
            kRunTimeout);
        w->cancelRun();
        QVERIFY(finished.wait(30000));
        QCOMPARE(w->session()->metricsSlot().state, MethodState::Cancelled);
        QVERIFY(w->grid()->tile(0)->state() == MethodState::Done);
        QVERIFY(!w->metricsView()->metrics());
        QVERIFY(w->exportTo(QTemporaryDir().path(), {}));  // the maps can still be exported
    }

    void opacityAndColormapApplyWithoutRecomputing() {
        auto w = openWindow();
        onlyMethods(*w, {"gradcam"});
        runAndWait(*w);
        auto* tile = w->grid()->tile(0);
        const Explanation* before = tile->explanation();
        const QImage at50 = tile->view()->image();
        child<QSlider>(w.get(), QStringLiteral("opacitySlider"))->setValue(100);
        const QImage at100 = tile->view()->image();
        QVERIFY(at50 != at100);
        auto* cmap = child<QComboBox>(w.get(), QStringLiteral("colormapCombo"));
        cmap->setCurrentIndex(cmap->findText(QStringLiteral("viridis")));
        QVERIFY(tile->view()->image() != at100);
        QCOMPARE(tile->explanation(), before);  // same result object: nothing was recomputed
        QVERIFY(!w->session()->running());
        QCOMPARE(w->overlayOptions().colormap, std::string("viridis"));
        QCOMPARE(w->overlayOptions().opacity, 1.0);
    }

    void colourScaleRangeClipAndLegend() {
        {
            QSettings old(settingsFile(), QSettings::IniFormat);  // a value stored by an older version
            old.setValue(QStringLiteral("display/scale"), QStringLiteral("symmetric"));
        }
        auto w = openWindow();
        QCOMPARE(w->overlayOptions().range, std::string("per-map"));
        onlyMethods(*w, {"gradcam", "gradcampp", "lime"});
        runAndWait(*w);
        auto* grid = w->grid();
        HeatmapTile* cams[] = {grid->tile(0), grid->tile(1)};
        HeatmapTile* lime = grid->tile(2);
        // The kind comes from the method; the legend shows the ends of the scale used.
        QVERIFY(!cams[0]->colourScale().signed_map);
        QVERIFY(lime->colourScale().signed_map);
        QCOMPARE(cams[0]->legendMinText(), QStringLiteral("0"));
        QVERIFY2(lime->legendMinText().startsWith(QLatin1Char('-')), qPrintable(lime->legendMinText()));
        QVERIFY2(lime->legendMaxText().startsWith(QLatin1Char('+')), qPrintable(lime->legendMaxText()));
        double mx = 0;
        cv::minMaxLoc(cams[1]->explanation()->heatmap, nullptr, &mx);
        QCOMPARE(cams[1]->colourScale().end, static_cast<float>(mx));
        const float ownEnd0 = cams[0]->colourScale().end, ownEnd1 = cams[1]->colourScale().end;
        const float limeEnd = lime->colourScale().end;
        // Shared by kind: both CAM tiles get the larger end, LIME keeps its own.
        auto* range = child<QComboBox>(w.get(), QStringLiteral("scaleCombo"));
        range->setCurrentIndex(range->findData(QStringLiteral("shared")));
        QCOMPARE(w->overlayOptions().range, std::string("shared"));
        QCOMPARE(cams[0]->colourScale().end, std::max(ownEnd0, ownEnd1));
        QCOMPARE(cams[1]->colourScale().end, std::max(ownEnd0, ownEnd1));
        QCOMPARE(lime->colourScale().end, limeEnd);
        // A tile saved on its own uses the scale the tile shows.
        QTemporaryDir out;
        const QString file = out.filePath(QStringLiteral("cam.png"));
        const int smaller = ownEnd0 < ownEnd1 ? 0 : 1;
        QVERIFY(w->saveTileOverlay(smaller, file));
        const cv::Mat saved = cv::imread(file.toStdString());
        const cv::Mat& rgb = w->session()->record(w->overlayOptions()).image;
        cv::Mat expected = renderOverlay(rgb, cams[smaller]->explanation()->heatmap, cams[smaller]->colourScale(),
                                         w->overlayOptions());
        cv::cvtColor(expected, expected, cv::COLOR_RGB2BGR);
        QCOMPARE(cv::norm(saved, expected, cv::NORM_INF), 0.0);
        // Clipping lowers the end and says so in the legend.
        range->setCurrentIndex(range->findData(QStringLiteral("per-map")));
        child<QDoubleSpinBox>(w.get(), QStringLiteral("clipSpin"))->setValue(90);
        QVERIFY(cams[1]->colourScale().end < ownEnd1);
        QVERIFY(cams[1]->colourScale().clipped);
        QVERIFY2(cams[1]->legendMaxText().contains(QStringLiteral("clipped at 90th pct")),
                 qPrintable(cams[1]->legendMaxText()));
        w->close();
        QSettings stored(settingsFile(), QSettings::IniFormat);
        QCOMPARE(stored.value(QStringLiteral("display/clip")).toDouble(), 90.0);
        QVERIFY(!stored.contains(QStringLiteral("display/scale")));
    }

    void hoverAndZoomAreSynchronised() {
        auto w = openWindow();
        onlyMethods(*w, {"gradcam", "lime"});
        runAndWait(*w);
        auto* grid = w->grid();
        HeatmapView* first = grid->tile(0)->view();
        const QPoint centre = first->rect().center();
        QTest::mouseMove(first, centre);
        QTRY_VERIFY(grid->viewState().hovering);
        const QPointF p = grid->viewState().hover;
        for (HeatmapView* v : {grid->originalTile()->view(), grid->tile(0)->view(), grid->tile(1)->view()}) {
            QVERIFY(v->viewState().hovering);
            QCOMPARE(v->viewState().hover, p);
        }
        QVERIFY(grid->tile(0)->valueText().contains(QStringLiteral("value")));
        QVERIFY(grid->tile(1)->valueText().contains(QStringLiteral("value")));
        QVERIFY(grid->originalTile()->valueText().contains(QStringLiteral("RGB")));
        // The value shown is the raw heatmap value under the cursor.
        const float raw =
            grid->tile(0)->explanation()->heatmap.at<float>(static_cast<int>(p.y()), static_cast<int>(p.x()));
        QVERIFY2(grid->tile(0)->valueText().contains(QString::number(raw, 'g', 3)),
                 qPrintable(grid->tile(0)->valueText()));
        // Wheel on one tile zooms every tile.
        QWheelEvent wheel(QPointF(centre), first->mapToGlobal(QPointF(centre)), QPoint(), QPoint(0, 240), Qt::NoButton,
                          Qt::NoModifier, Qt::NoScrollPhase, false);
        QApplication::sendEvent(first, &wheel);
        QVERIFY(grid->viewState().zoom > 1.4);
        QCOMPARE(grid->tile(1)->view()->viewState().zoom, grid->viewState().zoom);
        QCOMPARE(grid->originalTile()->view()->viewState().center, grid->viewState().center);
    }

    void settingsPersistBetweenSessions() {
        {
            auto w = openWindow();
            child<QSpinBox>(w.get(), QStringLiteral("lime.samples"))->setValue(321);
            child<QSpinBox>(w.get(), QStringLiteral("seedSpin"))->setValue(5);
            w->section("cam")->setChecked(false);
            child<QSlider>(w.get(), QStringLiteral("opacitySlider"))->setValue(70);
            w->close();
        }
        auto w = openWindow();
        QCOMPARE(child<QSpinBox>(w.get(), QStringLiteral("lime.samples"))->value(), 321);
        QCOMPARE(child<QSpinBox>(w.get(), QStringLiteral("seedSpin"))->value(), 5);
        QVERIFY(!w->section("cam")->isChecked());
        QVERIFY(w->section("gradcam")->isChecked());
        QCOMPARE(child<QSlider>(w.get(), QStringLiteral("opacitySlider"))->value(), 70);
        QVERIFY(w->lastNotice().isEmpty() || !w->lastNotice().contains(QStringLiteral("not used")));
    }

    // Precision (issue 15): fp32 by default; bf16 reaches the image-batch
    // methods only, each tile says which it used, the choice is kept between
    // sessions, and on a CPU without native bf16 it is greyed out, shown as
    // fp32, and the stored choice is not overwritten.
    void precisionChoiceReachesTheTilesAndPersists() {
        qputenv("MIRADA_CPU_BF16", "1");
        {
            auto w = openWindow();
            auto* box = child<QComboBox>(w.get(), QStringLiteral("precisionCombo"));
            QCOMPARE(box->count(), 3);
            QCOMPARE(box->currentData().toString(), QStringLiteral("fp32"));
            box->setCurrentIndex(box->findData(QStringLiteral("bf16")));
            onlyMethods(*w, {"gradcam", "lime"});
            runAndWait(*w);
            auto* grid = w->grid();
            QCOMPARE(grid->tileCount(), 2);
            const QString camText = child<QLabel>(grid->tile(0), QStringLiteral("detailLabel"))->text();
            const QString limeText = child<QLabel>(grid->tile(1), QStringLiteral("detailLabel"))->text();
            QVERIFY2(camText.endsWith(QStringLiteral("fp32")), qPrintable(camText));
            QVERIFY2(limeText.endsWith(QStringLiteral("bf16")), qPrintable(limeText));
            QCOMPARE(QString::fromStdString(grid->tile(1)->explanation()->settings.value("precision", "")),
                     QStringLiteral("bf16"));
            // auto says what it decided and why (the check's figures) beside the run summary.
            box->setCurrentIndex(box->findData(QStringLiteral("auto")));
            runAndWait(*w);
            auto* summary = child<QLabel>(w.get(), QStringLiteral("runSummaryLabel"));
            QVERIFY2(summary->text().contains(QStringLiteral("evaluations in")), qPrintable(summary->text()));
            QVERIFY2(summary->toolTip().contains(QStringLiteral("check batch")), qPrintable(summary->toolTip()));
            w->close();
        }
        {
            auto w = openWindow();
            QCOMPARE(child<QComboBox>(w.get(), QStringLiteral("precisionCombo"))->currentData().toString(),
                     QStringLiteral("auto"));
            w->close();
        }
        qputenv("MIRADA_CPU_BF16", "0");
        {
            auto w = openWindow();
            auto* box = child<QComboBox>(w.get(), QStringLiteral("precisionCombo"));
            QCOMPARE(box->currentData().toString(), QStringLiteral("fp32"));
            auto* model = qobject_cast<QStandardItemModel*>(box->model());
            QVERIFY(model && !model->item(1)->isEnabled() && !model->item(2)->isEnabled());
            w->close();
        }
        qunsetenv("MIRADA_CPU_BF16");
        QSettings stored(settingsFile(), QSettings::IniFormat);
        QCOMPARE(stored.value(QStringLiteral("run/precision")).toString(), QStringLiteral("auto"));
    }

    void surrogateTilesShowTheirUncertainty() {
        auto w = openWindow();
        onlyMethods(*w, {"gradcam", "lime", "kernelshap"});
        child<QSpinBox>(w.get(), QStringLiteral("lime.samples"))->setValue(0);  // auto, the default
        child<QSpinBox>(w.get(), QStringLiteral("kernelshap.samples"))->setValue(0);
        runAndWait(*w);
        auto* grid = w->grid();
        QCOMPARE(grid->tileCount(), 3);
        auto* cam = grid->tile(0);
        QVERIFY(!cam->uncertaintyAvailable());
        QVERIFY(!child<QToolButton>(cam, QStringLiteral("uncertaintyButton"))->isVisible());
        for (int i = 1; i < 3; ++i) {
            auto* tile = grid->tile(i);
            const Explanation* e = tile->explanation();
            QVERIFY(e);
            QVERIFY2(tile->uncertaintyAvailable(), e->method.c_str());
            auto* button = child<QToolButton>(tile, QStringLiteral("uncertaintyButton"));
            QVERIFY(button->isVisible());
            // The stability number under the map, with its explanation as tooltip.
            auto* numbers = child<QLabel>(tile, QStringLiteral("numbersLabel"));
            QVERIFY2(numbers->text().contains(QStringLiteral("top-3 stable")), qPrintable(numbers->text()));
            QVERIFY2(numbers->text().contains(QStringLiteral("converged")), qPrintable(numbers->text()));
            QVERIFY(numbers->toolTip().contains(QStringLiteral("unsure")));
            // Hatching where (and only where) the core says superpixels are unsure.
            QCOMPARE(tile->view()->hasHatch(), uncertainSegmentCount(*e) > 0);
            // The ± button swaps the values for the interval half-widths, and back.
            const QImage values = tile->view()->image();
            button->click();
            QVERIFY(tile->showsUncertainty());
            QVERIFY(tile->view()->image() != values);
            QVERIFY(!tile->view()->hasHatch());
            QVERIFY2(tile->legendMaxText().startsWith(QStringLiteral("± ")), qPrintable(tile->legendMaxText()));
            button->click();
            QVERIFY(!tile->showsUncertainty());
            QCOMPARE(tile->view()->image(), values);
            QCOMPARE(tile->view()->hasHatch(), uncertainSegmentCount(*e) > 0);
        }
        // The report numbers the tiles read.
        const Explanation* ks = grid->tile(2)->explanation();
        QCOMPARE(QString::fromStdString(ks->method), QStringLiteral("kernelshap"));
        QCOMPARE(ks->numbers["interval"].size(), ks->numbers["values"].size());
        QVERIFY(ks->numbers["uncertainty"]["top_k_change_probability"].is_number());
    }

    void wheelChangesASettingOnlyWhenItHasFocus() {
        auto w = openWindow();
        QApplication::setActiveWindow(w.get());
        auto wheelDown = [](QWidget* target) {
            const QPointF pos(target->width() / 2.0, target->height() / 2.0);
            QWheelEvent e(pos, target->mapToGlobal(pos), QPoint(), QPoint(0, -120), Qt::NoButton, Qt::NoModifier,
                          Qt::NoScrollPhase, false);
            QApplication::sendEvent(target, &e);
        };
        auto* count = child<QSpinBox>(w.get(), QStringLiteral("superpixels.count"));
        auto* samples = child<QSpinBox>(w.get(), QStringLiteral("lime.max_samples"));
        auto* precision = child<QComboBox>(w.get(), QStringLiteral("precisionCombo"));
        auto* seed = child<QSpinBox>(w.get(), QStringLiteral("seedSpin"));
        QCOMPARE(count->singleStep(), 5);  // 2..2000 superpixels: steps of 5, not 50
        QCOMPARE(samples->singleStep(), 50);
        for (QWidget* editor : std::initializer_list<QWidget*>{count, samples, seed, precision})
            QCOMPARE(editor->focusPolicy(), Qt::StrongFocus);
        const int countBefore = count->value(), samplesBefore = samples->value(), seedBefore = seed->value();
        const int precisionBefore = precision->currentIndex();
        w->setFocus();
        for (QWidget* editor : std::initializer_list<QWidget*>{count, samples, seed, precision}) {
            QVERIFY(!editor->hasFocus());
            wheelDown(editor);
        }
        QCOMPARE(count->value(), countBefore);
        QCOMPARE(samples->value(), samplesBefore);
        QCOMPARE(seed->value(), seedBefore);
        QCOMPARE(precision->currentIndex(), precisionBefore);
        // Clicked into (focused), the wheel steps the value as usual.
        count->setFocus(Qt::MouseFocusReason);
        QTRY_VERIFY(count->hasFocus());
        wheelDown(count);
        QCOMPARE(count->value(), countBefore - 5);
    }

    void corruptSettingsFallBackToDefaultsWithANotice() {
        const QByteArray garbage("[General\n\x01\x02 not = = an ini ]]]\n[methods]\njson={broken");
        {
            QFile f(settingsFile());
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(garbage);
        }
        auto w = openWindow();
        QVERIFY2(w->lastNotice().contains(QStringLiteral("settings")), qPrintable(w->lastNotice()));
        QCOMPARE(readAll(settingsFile() + QStringLiteral(".corrupt")), garbage);  // the user's file is kept
        QCOMPARE(child<QSpinBox>(w.get(), QStringLiteral("lime.samples"))->value(),
                 static_cast<int>(makeExplainer("lime")->defaultParams().getInt("samples")));
    }

    void outOfRangeSavedValueIsIgnoredWithANotice() {
        {
            QSettings s(settingsFile(), QSettings::IniFormat);
            s.setValue(QStringLiteral("mirada/settingsVersion"), 1);
            s.setValue(QStringLiteral("methods/json"),
                       QStringLiteral(R"({"lime":{"enabled":true,"params":{"samples":-5}}})"));
        }
        auto w = openWindow();
        QVERIFY2(w->lastNotice().contains(QStringLiteral("lime.samples")), qPrintable(w->lastNotice()));
        QCOMPARE(child<QSpinBox>(w.get(), QStringLiteral("lime.samples"))->value(),
                 static_cast<int>(makeExplainer("lime")->defaultParams().getInt("samples")));
    }

    // Issue 12 (D3): a 60,000-level nested methods/json crashed the GUI at every start.
    void deeplyNestedSavedJsonIsIgnoredWithANotice() {
        {
            QSettings s(settingsFile(), QSettings::IniFormat);
            s.setValue(QStringLiteral("mirada/settingsVersion"), 1);
            s.setValue(QStringLiteral("methods/json"),
                       QString(60000, QLatin1Char('[')) + QString(60000, QLatin1Char(']')));
        }
        auto w = openWindow();
        QVERIFY2(w->lastNotice().contains(QStringLiteral("methods/json")) &&
                     w->lastNotice().contains(QStringLiteral("64 levels")),
                 qPrintable(w->lastNotice()));
    }

    void resetToDefaultsRestoresTheTable() {
        auto w = openWindow();
        auto* samples = child<QSpinBox>(w.get(), QStringLiteral("lime.samples"));
        const int def = samples->value();
        samples->setValue(def + 17);
        QCOMPARE(w->section("lime")->form()->values().getInt("samples"), int64_t(def + 17));
        QTest::mouseClick(child<QPushButton>(w.get(), QStringLiteral("reset.lime")), Qt::LeftButton);
        QCOMPARE(samples->value(), def);
        QCOMPARE(w->section("lime")->form()->values().getInt("samples"), int64_t(def));
    }

    void baselineSettingReachesTheCore() {
        auto w = openWindow();
        onlyMethods(*w, {"lime"});
        child<QSpinBox>(w.get(), QStringLiteral("lime.samples"))->setValue(50);
        w->metricsSection()->setChecked(true);
        child<QDoubleSpinBox>(w.get(), QStringLiteral("faithfulness.step_fraction"))->setValue(0.1);
        child<QSpinBox>(w.get(), QStringLiteral("faithfulness.random_repeats"))->setValue(1);
        // The model's own baseline is named in the list and under it.
        auto* box = child<QComboBox>(w.get(), QStringLiteral("perturbation.baseline"));
        QCOMPARE(box->currentData(Qt::UserRole).toString(), QStringLiteral("model"));
        QVERIFY2(box->currentText().contains(QStringLiteral("black")), qPrintable(box->currentText()));
        const QString own = child<QLabel>(w.get(), QStringLiteral("ownBaselineLabel"))->text();
        QVERIFY2(own.contains(QStringLiteral("fashion-cnn")) && own.contains(QStringLiteral("black")) &&
                     own.contains(QStringLiteral("descriptor")),
                 qPrintable(own));
        QCOMPARE(w->buildRunPlan().perturbation.getChoice("baseline"), std::string("model"));

        // Default: fashion-cnn's own (black), for the map and for deletion/insertion.
        runAndWait(*w);
        const Explanation* lime = w->grid()->tile(0)->explanation();
        QVERIFY2(lime, qPrintable(w->grid()->tile(0)->numbersText()));
        QCOMPARE(lime->settings["baseline"]["baseline"].get<std::string>(), std::string("black"));
        QVERIFY(lime->settings["baseline"]["source"].get<std::string>().find("fashion-cnn") != std::string::npos);
        QCOMPARE(w->session()->metricsSlot().state, MethodState::Done);
        const RunMetrics* m = w->metricsView()->metrics();
        QVERIFY(m);
        QCOMPARE(toString(m->faithfulness.baseline.baseline), std::string("black"));
        QVERIFY2(w->metricsView()->messageText().contains(QStringLiteral("<b>black</b>")),
                 qPrintable(w->metricsView()->messageText()));
        // The verdict is the core's, word for word (GUI and CLI agree).
        QCOMPARE(w->metricsView()->aucTable()->item(0, 4)->text(), qs(faithfulnessVerdict(m->faithfulness, 0)));

        // The user picks blur: the plan, the map's settings and the metrics all say so.
        chooseBaseline(*w, QStringLiteral("blur"));
        QCOMPARE(w->buildRunPlan().perturbation.getChoice("baseline"), std::string("blur"));
        runAndWait(*w);
        lime = w->grid()->tile(0)->explanation();
        QVERIFY(lime);
        QCOMPARE(lime->settings["baseline"]["baseline"].get<std::string>(), std::string("blur"));
        QCOMPARE(lime->settings["baseline"]["source"].get<std::string>(), std::string("perturbation.baseline"));
        QCOMPARE(lime->settings["perturbation"]["baseline"].get<std::string>(), std::string("blur"));
        m = w->metricsView()->metrics();
        QVERIFY(m);
        QCOMPARE(toString(m->faithfulness.baseline.baseline), std::string("blur"));
        QVERIFY2(w->metricsView()->messageText().contains(QStringLiteral("<b>blur</b>")),
                 qPrintable(w->metricsView()->messageText()));
        // Kept between sessions, and "Reset to defaults" goes back to the model's own.
        w->close();
        w = openWindow();
        QCOMPARE(w->perturbationForm()->values().getChoice("baseline"), std::string("blur"));
        QTest::mouseClick(child<QPushButton>(w.get(), QStringLiteral("reset.perturbation")), Qt::LeftButton);
        QCOMPARE(w->perturbationForm()->values().getChoice("baseline"), std::string("model"));
        QCOMPARE(
            child<QComboBox>(w.get(), QStringLiteral("perturbation.baseline"))->currentData(Qt::UserRole).toString(),
            QStringLiteral("model"));
    }

    void baselinePreviewShowsWhatRemovedLooksLike() {
        auto w = openWindow();
        // fashion-cnn's own baseline is black: everything removed = a black 28x28 grey image.
        QTRY_VERIFY_WITH_TIMEOUT(!w->perturbationPreview().baseline.isNull(), 10000);
        const PerturbationPreview first = w->perturbationPreview();
        QCOMPARE(first.baseline_name, std::string("black"));
        QCOMPARE(first.baseline.size(), QSize(28, 28));
        QVERIFY(allPixels(first.baseline, 0));
        QVERIFY(!child<QLabel>(w.get(), QStringLiteral("baselinePreview"))->pixmap().isNull());
        QCOMPARE(child<QLabel>(w.get(), QStringLiteral("baselinePreview"))->pixmap().width(),
                 28 * 5);  // enlarged, whole pixels
        QVERIFY(child<QLabel>(w.get(), QStringLiteral("baselineCaption"))->text().contains(QStringLiteral("black")));
        // The coalition: about half the superpixels removed, each pixel either the model's input or the baseline.
        const QImage input = w->modelInputImage();
        QCOMPARE(input.size(), QSize(28, 28));
        QCOMPARE(first.coalition.size(), QSize(28, 28));
        QVERIFY(first.segments > 2);
        QCOMPARE(first.removed, first.segments / 2);
        int kept = 0, removed = 0;
        for (int y = 0; y < 28; ++y)
            for (int x = 0; x < 28; ++x) {
                const int c = qGray(first.coalition.pixel(x, y)), in = qGray(input.pixel(x, y));
                QVERIFY(c == in || c == 0);
                kept += c == in && in != 0;
                removed += c == 0 && in != 0;
            }
        QVERIFY2(kept > 0 && removed > 0, qPrintable(QStringLiteral("kept %1, removed %2").arg(kept).arg(removed)));
        QVERIFY(child<QLabel>(w.get(), QStringLiteral("coalitionCaption"))->text().contains(QStringLiteral("removed")));
        const QString shots = qEnvironmentVariable("MIRADA_GUI_SHOTS");
        if (!shots.isEmpty())
            child<QWidget>(w.get(), QStringLiteral("perturbationBox"))
                ->grab()
                .save(QDir(shots).filePath(QStringLiteral("baseline-default.png")));

        // Another choice: the previews follow.
        chooseBaseline(*w, QStringLiteral("grey"));
        QTRY_VERIFY_WITH_TIMEOUT(w->perturbationPreview().baseline_name == "grey", 10000);
        QVERIFY(allPixels(w->perturbationPreview().baseline, 128));
        QVERIFY(w->perturbationPreview().coalition != first.coalition);
        QVERIFY(child<QLabel>(w.get(), QStringLiteral("baselineCaption"))->text().contains(QStringLiteral("grey")));
        chooseBaseline(*w, QStringLiteral("blur"));
        QTRY_VERIFY_WITH_TIMEOUT(w->perturbationPreview().baseline_name == "blur", 10000);
        QVERIFY(!allPixels(w->perturbationPreview().baseline, 0));
        // A new seed draws another coalition.
        const QImage before = w->perturbationPreview().coalition;
        child<QSpinBox>(w.get(), QStringLiteral("seedSpin"))->setValue(3);
        QTRY_VERIFY_WITH_TIMEOUT(w->perturbationPreview().seed == 3, 10000);
        QVERIFY(w->perturbationPreview().coalition != before);
        // A method with its own fill is named as not following the setting.
        auto* fill = child<QComboBox>(w.get(), QStringLiteral("lime.fill"));
        fill->setCurrentIndex(fill->findData(QStringLiteral("segment-mean"), Qt::UserRole));
        auto* overrides = child<QLabel>(w.get(), QStringLiteral("fillOverrideLabel"));
        QVERIFY(overrides->isVisible());
        QVERIFY2(overrides->text().contains(QStringLiteral("lime.fill")), qPrintable(overrides->text()));
        if (!shots.isEmpty())
            child<QWidget>(w.get(), QStringLiteral("perturbationBox"))
                ->grab()
                .save(QDir(shots).filePath(QStringLiteral("baseline-blur.png")));
    }

    void colourPhotoOnGreyModelShowsHintsAndWhatTheModelSees() {
        auto w = openWindow();
        auto* hints = child<QLabel>(w.get(), QStringLiteral("inputHintsLabel"));
        auto* caution = child<QLabel>(w.get(), QStringLiteral("targetCautionLabel"));
        QVERIFY2(!hints->isVisible(),
                 qPrintable(hints->text()));  // a fashion sample on the fashion model: nothing to say
        QVERIFY(!caution->isVisible());
        QVERIFY(!w->grid()->originalTile()->detailText().contains(
            QStringLiteral("model sees")));  // it sees the image as is
        w->openImage(kCat);
        QTRY_VERIFY_WITH_TIMEOUT(hints->isVisible(), kLoadTimeout);
        QVERIFY2(hints->text().contains(QStringLiteral("colour")), qPrintable(hints->text()));
        QVERIFY(hints->text().contains(QStringLiteral("fashion-cnn")));
        // What the model sees: the cat as a 28x28 grey image.
        const QImage seen = w->modelInputImage();
        QCOMPARE(seen.size(), QSize(28, 28));
        QCOMPARE(seen.format(), QImage::Format_Grayscale8);
        QVERIFY(!child<QLabel>(w.get(), QStringLiteral("modelInputLabel"))->pixmap().isNull());
        const QString caption = child<QLabel>(w.get(), QStringLiteral("modelInputCaption"))->text();
        QVERIFY2(caption.contains(QStringLiteral("28×28 grey")), qPrintable(caption));
        QVERIFY2(caption.contains(QStringLiteral("451×300")), qPrintable(caption));
        // And on the original's tile, where the maps are compared.
        QVERIFY2(w->grid()->originalTile()->detailText().contains(QStringLiteral("28×28 grey")),
                 qPrintable(w->grid()->originalTile()->detailText()));
        // A class the model hardly gives: the caution appears, and goes with the top-1 again.
        const auto& p = w->session()->probabilities();
        QCOMPARE(p.size(), size_t(10));
        int lowest = 0;
        for (int i = 1; i < 10; ++i)
            if (p[i] < p[lowest]) lowest = i;
        QVERIFY(p[lowest] < kLowTargetProbability);
        auto* target = child<QComboBox>(w.get(), QStringLiteral("targetCombo"));
        target->setCurrentIndex(target->findData(lowest));
        QVERIFY(caution->isVisible());
        QVERIFY2(caution->text().contains(QStringLiteral("p = ")), qPrintable(caution->text()));
        target->setCurrentIndex(0);
        QCOMPARE(caution->isVisible(), p[w->session()->prediction().front().index] < kLowTargetProbability);
        const QString shots = qEnvironmentVariable("MIRADA_GUI_SHOTS");
        if (!shots.isEmpty()) {
            target->setCurrentIndex(target->findData(lowest));
            QWidget* form = child<QWidget>(w.get(), QStringLiteral("formWidget"));
            form->grab(QRect(QPoint(0, 0), QSize(form->width(), 700)))
                .save(QDir(shots).filePath(QStringLiteral("cat-form.png")));
        }
    }

    void tileShowsTheMapsWarnings() {
        // fashion-cnn reads a uniform dataset-mean image as "Bag": on the bag
        // sample, that baseline alone keeps the prediction and the guard fires.
        auto w = openWindow({}, kBag);
        onlyMethods(*w, {"gradcam", "lime"});
        child<QSpinBox>(w.get(), QStringLiteral("lime.samples"))->setValue(50);
        w->metricsSection()->setChecked(true);
        child<QDoubleSpinBox>(w.get(), QStringLiteral("faithfulness.step_fraction"))->setValue(0.1);
        child<QSpinBox>(w.get(), QStringLiteral("faithfulness.random_repeats"))->setValue(1);
        chooseBaseline(*w, QStringLiteral("dataset-mean"));
        runAndWait(*w);
        HeatmapTile* cam = w->grid()->tile(0);
        HeatmapTile* lime = w->grid()->tile(1);
        QVERIFY(lime->explanation());
        QVERIFY(!lime->explanation()->warnings.empty());
        QVERIFY(lime->warningVisible());
        QVERIFY2(lime->warningText().startsWith(QStringLiteral("⚠")), qPrintable(lime->warningText()));
        QVERIFY2(lime->warningText().contains(QStringLiteral("baseline alone predicts the target")),
                 qPrintable(lime->warningText()));
        QVERIFY2(lime->warningToolTip().contains(QStringLiteral("with every part removed")),
                 qPrintable(lime->warningToolTip()));
        // Grad-CAM removes nothing: no warning, but the line keeps its room, so both maps start at the same height.
        QVERIFY(!cam->warningVisible());
        QVERIFY(cam->warningText().isEmpty());
        QCOMPARE(cam->view()->geometry().top(), lime->view()->geometry().top());
        QVERIFY(child<QLabel>(w.get(), QStringLiteral("runSummaryLabel"))->text().contains(QStringLiteral("warning")));
        // Deletion/insertion removes to the same baseline: the Metrics tab says so, with the guard's sentence.
        QCOMPARE(w->session()->metricsSlot().state, MethodState::Done);
        QVERIFY(w->metricsView()->metrics()->faithfulness.guard.fired);
        QVERIFY2(w->metricsView()->warningText().contains(QStringLiteral("with every part removed")),
                 qPrintable(w->metricsView()->warningText()));
        QVERIFY(w->metricsView()->messageText().contains(QStringLiteral("<b>dataset-mean</b>")));
        const QString shots = qEnvironmentVariable("MIRADA_GUI_SHOTS");
        if (!shots.isEmpty()) {
            w->grab().save(QDir(shots).filePath(QStringLiteral("warning.png")));
            child<QTabWidget>(w.get(), QStringLiteral("resultsTabs"))->setCurrentIndex(1);
            w->grab().save(QDir(shots).filePath(QStringLiteral("warning-metrics.png")));
        }
    }

    void metricsViewUsesTheCoreVerdicts() {
        // Built by hand, so every case is there: a blank sanity step, a guard that fired, a low target p.
        auto curve = [](double auc) {
            Curve c;
            c.fraction = {0.0, 1.0};
            c.score = {auc, auc};
            c.auc = auc;
            return c;
        };
        auto m = std::make_shared<RunMetrics>();
        m->methods = {"gradcam", "lime"};
        m->titles = {QStringLiteral("Grad-CAM"), QStringLiteral("LIME")};
        FaithfulnessReport& f = m->faithfulness;
        f.methods = m->methods;
        f.curves.resize(2);
        f.curves[0].deletion = curve(0.1);
        f.curves[0].insertion = curve(0.9);
        f.curves[1].deletion = curve(0.6);
        f.curves[1].insertion = curve(0.3);
        f.random.deletion = curve(0.5);
        f.random.insertion = curve(0.5);
        f.baseline = {baselineFromName("blur"), "perturbation.baseline"};
        f.guard.image_probability = 0.9;
        f.guard.fired = true;
        f.guard.warning = "deletion/insertion: with every part removed (baseline 'blur') the model still gives it";
        m->agreement.methods = m->methods;
        m->agreement.spearman = m->agreement.top_iou = {{1.0, 0.2}, {0.2, 1.0}};
        m->has_sanity = true;
        m->sanity.layers = {"fc", "block3"};
        m->sanity.target_probability = 0.9;
        SanityMethodResult ok;
        ok.method = "gradcam";
        ok.title = "Grad-CAM";
        ok.spearman = {0.2, 0.1};
        ok.blank = {false, false};
        ok.verdict = "ok";
        SanityMethodResult blank = ok;
        blank.method = "lime";
        blank.title = "LIME";
        blank.spearman = {0.4, 0.0};
        blank.blank = {false, true};
        blank.verdict = "blank";
        m->sanity.methods = {ok, blank};

        MetricsView view;
        view.showMetrics(m);
        QCOMPARE(view.aucTable()->item(0, 4)->text(), qs(faithfulnessVerdict(f, 0)));
        QCOMPARE(view.aucTable()->item(0, 4)->text(), QStringLiteral("beats random on both"));
        QCOMPARE(view.aucTable()->item(1, 4)->text(), QStringLiteral("no better than random"));
        QVERIFY2(view.messageText().contains(QStringLiteral("<b>blur</b>")) &&
                     view.messageText().contains(QStringLiteral("perturbation.baseline")),
                 qPrintable(view.messageText()));
        QVERIFY2(view.warningText().contains(QStringLiteral("with every part removed")),
                 qPrintable(view.warningText()));
        QTableWidget* sanity = view.sanityTable();
        QCOMPARE(sanity->item(1, 0)->text(), QStringLiteral("0.40"));
        QCOMPARE(sanity->item(1, 1)->text(), QStringLiteral("blank"));  // not "0.00": a constant map has no ranking
        QCOMPARE(sanity->item(1, 1)->background().color(), QColor(0xd5, 0xd5, 0xd5));
        QCOMPARE(sanity->item(0, 1)->text(), QStringLiteral("0.10"));
        QCOMPARE(sanity->item(1, 2)->text(), qs(sanityVerdict(blank, 0.9)));
        QVERIFY(sanity->item(1, 2)->text().startsWith(QStringLiteral("blank:")));
        QVERIFY(sanity->item(0, 2)->text().startsWith(QStringLiteral("ok:")));
        // A class the model hardly gives: every verdict carries the caution, and the header says why.
        m->faithfulness.guard.image_probability = 0.05;
        m->sanity.target_probability = 0.05;
        view.showMetrics(m);
        QVERIFY2(view.aucTable()->item(0, 4)->text().contains(QStringLiteral("caution")),
                 qPrintable(view.aucTable()->item(0, 4)->text()));
        QVERIFY(view.sanityTable()->item(0, 2)->text().contains(QStringLiteral("caution")));
        QVERIFY(view.warningText().contains(QStringLiteral("Caution")));
        view.showMetrics(nullptr);
        QVERIFY(view.warningText().isEmpty());
    }

    void superpixelPreviewFollowsTheCount() {
        auto w = openWindow();
        auto* count = child<QLabel>(w.get(), QStringLiteral("superpixelCountLabel"));
        QTRY_VERIFY_WITH_TIMEOUT(!count->text().isEmpty(), 10000);
        child<QSpinBox>(w.get(), QStringLiteral("superpixels.count"))->setValue(9);
        QTRY_VERIFY_WITH_TIMEOUT(count->text().startsWith(QStringLiteral("9 ")) ||
                                     count->text().startsWith(QStringLiteral("8 ")) ||
                                     count->text().startsWith(QStringLiteral("10 ")),
                                 10000);
        QVERIFY(!child<QLabel>(w.get(), QStringLiteral("superpixelPreview"))->pixmap().isNull());
    }
};

QTEST_MAIN(MainWindowTest)
#include "test_main_window.moc"
