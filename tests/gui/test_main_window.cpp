// GUI tests (QtTest, offscreen platform): the main window on the bundled
// fashion-cnn model and a bundled sample, driven as a user would.
#include <QCheckBox>
#include <QDoubleSpinBox>
#include <QHeaderView>
#include <QLineEdit>
#include <QPushButton>
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
#include <QScrollArea>
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

#include "batch_view.hpp"
#include "image/idx_dataset.hpp"
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

    // An ImageFolder of Fashion-MNIST test images: `perClass` PNGs in a
    // sub-folder per class, named like the model's labels ("T-shirt_top").
    QString makeFashionFolder(const QString& name, int perClass) const {
        const QString root = dir_.filePath(name);
        QDir(root).removeRecursively();
        const std::filesystem::path set = "/usr/share/datasets/fashion-mnist";
        const auto images = readIdxImages(set, 0, 100);
        const auto labels = readIdxLabels(set, 0, 100);
        const QStringList folders = {QStringLiteral("T-shirt_top"), QStringLiteral("Trouser"),
                                     QStringLiteral("Pullover"),    QStringLiteral("Dress"),
                                     QStringLiteral("Coat"),        QStringLiteral("Sandal"),
                                     QStringLiteral("Shirt"),       QStringLiteral("Sneaker"),
                                     QStringLiteral("Bag"),         QStringLiteral("Ankle_boot")};
        std::vector<int> count(10, 0);
        for (size_t i = 0; i < images.size(); ++i) {
            const int label = labels[i];
            if (count[label] >= perClass) continue;
            ++count[label];
            const QString folder = QDir(root).filePath(folders[label]);
            QDir().mkpath(folder);
            const QString file = QDir(folder).filePath(QStringLiteral("%1.png").arg(i, 5, 10, QLatin1Char('0')));
            if (!cv::imwrite(file.toStdString(), images[i])) qFatal("cannot write %s", qPrintable(file));
        }
        for (int c : count)
            if (c < perClass) qFatal("the first 100 test images lack a class");
        return root;
    }

    static void runAndWait(MainWindow& w) {
        QSignalSpy finished(&w, &MainWindow::runFinished);
        w.startRun();
        QVERIFY2(w.session()->running(), qPrintable(w.lastError()));
        QVERIFY(finished.wait(kRunTimeout));
    }

private Q_SLOTS:
    void init() {
        QDir(dir_.filePath(QStringLiteral("settings-history"))).removeRecursively();
        QFile::remove(settingsFile());
        QFile::remove(settingsFile() + QStringLiteral(".corrupt"));
    }

    void loadingModelAndSampleFillsPrediction() {
        auto w = openWindow();
        auto* list = child<QTreeWidget>(w.get(), QStringLiteral("predictionList"));
        QCOMPARE(list->topLevelItem(0)->text(0), QStringLiteral("Sneaker"));
        QCOMPARE(list->topLevelItem(0)->text(2), QStringLiteral("99.0%"));  // for people: a percentage
        QVERIFY(list->topLevelItem(0)->data(2, Qt::UserRole).toDouble() > 0.9);
        // Probabilities are in decreasing order.
        for (int i = 1; i < 5; ++i)
            QVERIFY(list->topLevelItem(i)->data(2, Qt::UserRole).toDouble() <=
                    list->topLevelItem(i - 1)->data(2, Qt::UserRole).toDouble());
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
            const QString camText = grid->tile(0)->detailText();
            const QString limeText = grid->tile(1)->detailText();
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

    void secondImageKeepsTheFirstRunAndComparesAcrossRuns() {
        auto w = openWindow();
        onlyMethods(*w, {"gradcam", "lime"});
        runAndWait(*w);
        QCOMPARE(w->history()->count(), 1);
        const auto first = w->history()->runs().front();
        QVERIFY(first->map("lime"));

        // Opening another image starts a new run: placeholders, the first run kept.
        QSignalSpy predicted(w->session(), &ExplanationSession::predictionReady);
        w->openImage(kBag);
        QVERIFY(predicted.wait(kLoadTimeout));
        QCOMPARE(w->history()->count(), 1);
        QCOMPARE(w->shownRunId(), 0);
        QCOMPARE(w->grid()->tileCount(), 2);
        QCOMPARE(w->grid()->tile(1)->state(), MethodState::NotRun);
        QVERIFY(!w->grid()->tile(1)->hasExplanation());
        QCOMPARE(w->historyList()->count(), 1);
        runAndWait(*w);
        QCOMPARE(w->history()->count(), 2);
        const auto second = w->history()->runs().back();
        QVERIFY(second->imagePath.endsWith(QStringLiteral("fashion-bag.png")));

        // LIME of both runs side by side, each over its own image.
        w->setGridMode(GridMode::MethodAcrossRuns, "lime");
        QCOMPARE(w->grid()->tileCount(), 2);
        QVERIFY(!w->grid()->showsOriginal());
        QCOMPARE(w->grid()->tile(0)->explanation(), first->map("lime").get());
        QCOMPARE(w->grid()->tile(1)->explanation(), second->map("lime").get());
        QVERIFY(w->grid()->tile(0)->explanation()->target_label != w->grid()->tile(1)->explanation()->target_label);
        QVERIFY(w->grid()->tileImage(0).data == first->record.image.data);
        QVERIFY(w->grid()->tileImage(1).data == second->record.image.data);
        // Ticking chooses the runs: only the first.
        w->setRunTicked(first->id, true);
        QCOMPARE(w->grid()->tileCount(), 1);
        QCOMPARE(w->grid()->tile(0)->explanation(), first->map("lime").get());

        // The difference of two runs' maps of the same size: newer - older, signed.
        w->setRunTicked(second->id, true);
        w->setGridMode(GridMode::Difference, "lime");
        QCOMPARE(w->grid()->tileCount(), 3);
        const Explanation* diff = w->grid()->tile(2)->explanation();
        QVERIFY(diff);
        QVERIFY(diff->signed_map);
        const cv::Mat expected = second->map("lime")->heatmap - first->map("lime")->heatmap;
        QCOMPARE(cv::norm(diff->heatmap, expected, cv::NORM_INF), 0.0);
        QVERIFY(cv::norm(diff->heatmap, cv::NORM_INF) > 0);

        // Back to one run: the first one, with its own image and metrics.
        w->setGridMode(GridMode::Run);
        w->showHistoryRun(first->id);
        QCOMPARE(w->shownRunId(), first->id);
        QCOMPARE(w->grid()->tile(1)->explanation(), first->map("lime").get());
        QVERIFY(w->grid()->image().data == first->record.image.data);
        // Pin, rename, delete.
        QVERIFY(w->history()->rename(first->id, QStringLiteral("sneaker, 2 methods")));
        QVERIFY(w->history()->setPinned(first->id, true));
        QVERIFY(w->historyList()->item(0)->text().contains(QStringLiteral("sneaker, 2 methods")));
        QVERIFY(w->historyList()->item(0)->text().startsWith(QStringLiteral("★")));
        QVERIFY(w->history()->remove(second->id));
        QCOMPARE(w->historyList()->count(), 1);
        QVERIFY(w->tickedRuns() == std::vector<int>{first->id});

        // For the README: MIRADA_GUI_SHOTS=<folder> saves LIME at 30 and at 80 superpixels
        // on the bag, side by side and as a difference, at 1280x720.
        const QString shots = qEnvironmentVariable("MIRADA_GUI_SHOTS");
        if (!shots.isEmpty()) {
            w->resize(1280, 720);
            w->setRunTicked(first->id, false);
            child<QSpinBox>(w.get(), QStringLiteral("superpixels.count"))->setValue(30);
            runAndWait(*w);
            w->history()->rename(w->history()->runs().back()->id, QStringLiteral("bag, 30 superpixels"));
            w->setRunTicked(w->history()->runs().back()->id, true);
            child<QSpinBox>(w.get(), QStringLiteral("superpixels.count"))->setValue(80);
            runAndWait(*w);
            w->history()->rename(w->history()->runs().back()->id, QStringLiteral("bag, 80 superpixels"));
            w->setRunTicked(w->history()->runs().back()->id, true);
            w->setGridMode(GridMode::MethodAcrossRuns, "lime");
            QTest::qWait(200);
            w->grab().save(QDir(shots).filePath(QStringLiteral("history-across-runs.png")));
            w->setGridMode(GridMode::Difference, "lime");
            QTest::qWait(200);
            w->grab().save(QDir(shots).filePath(QStringLiteral("history-difference.png")));
        }
    }

    void changedSettingMarksTilesOutOfDateAndRunRecomputesOnlyThose() {
        auto w = openWindow();
        onlyMethods(*w, {"gradcam", "cam", "lime"});
        runAndWait(*w);
        const auto before = w->history()->runs().back();
        for (int i = 0; i < w->grid()->tileCount(); ++i) QVERIFY(!w->grid()->tile(i)->outOfDate());

        child<QSpinBox>(w.get(), QStringLiteral("lime.samples"))->setValue(150);
        QTRY_VERIFY(w->grid()->tile(2)->outOfDate());
        QVERIFY(!w->grid()->tile(0)->outOfDate());
        QVERIFY(!w->grid()->tile(1)->outOfDate());
        QVERIFY(w->grid()->tile(2)->statusText().contains(QStringLiteral("Out of date")));
        // Changing it back: up to date again.
        child<QSpinBox>(w.get(), QStringLiteral("lime.samples"))->setValue(200);
        QTRY_VERIFY(!w->grid()->tile(2)->outOfDate());
        child<QSpinBox>(w.get(), QStringLiteral("lime.samples"))->setValue(150);
        QTRY_VERIFY(w->grid()->tile(2)->outOfDate());

        runAndWait(*w);
        QCOMPARE(w->history()->count(), 2);
        const auto after = w->history()->runs().back();
        const auto& slots = w->session()->slots();
        QCOMPARE(slots.size(), size_t(3));
        // Grad-CAM and CAM were taken over (the very same maps), LIME computed again.
        QVERIFY(slots[0].reused && slots[1].reused && !slots[2].reused);
        QCOMPARE(after->map("gradcam").get(), before->map("gradcam").get());
        QCOMPARE(after->map("cam").get(), before->map("cam").get());
        QVERIFY(after->map("lime").get() != before->map("lime").get());
        QCOMPARE(after->map("lime")->settings["params"]["samples"].get<int>(), 150);
        QVERIFY(w->grid()->tile(0)->statusText().contains(QStringLiteral("kept")));
        for (int i = 0; i < w->grid()->tileCount(); ++i) QVERIFY(!w->grid()->tile(i)->outOfDate());

        // The target is an input of every map: all out of date.
        auto* target = child<QComboBox>(w.get(), QStringLiteral("targetCombo"));
        target->setCurrentIndex(target->findData(4));
        QTRY_VERIFY(w->grid()->tile(0)->outOfDate());
        QVERIFY(w->grid()->tile(1)->outOfDate() && w->grid()->tile(2)->outOfDate());
        // A newly ticked method gets a placeholder until it runs.
        w->section("gradcampp")->setChecked(true);
        QTRY_COMPARE(w->grid()->tileCount(), 4);
        QCOMPARE(w->grid()->tile(3)->state(), MethodState::NotRun);
    }

    void historyIsKeptBetweenSessions() {
        std::shared_ptr<const HistoryRun> before;
        {
            auto w = openWindow();
            onlyMethods(*w, {"gradcam", "lime"});
            runAndWait(*w);
            QVERIFY(w->history()->rename(w->history()->runs().back()->id, QStringLiteral("kept run")));
            QVERIFY(w->history()->setPinned(w->history()->runs().back()->id, true));
            before = w->history()->runs().back();
            w->close();
        }
        auto w = openWindow();
        QCOMPARE(w->history()->count(), 1);
        const auto restored = w->history()->runs().front();
        QCOMPARE(restored->name, QStringLiteral("kept run"));
        QVERIFY(restored->pinned);
        QVERIFY(restored->restored);
        QCOMPARE(cv::norm(restored->map("lime")->heatmap, before->map("lime")->heatmap, cv::NORM_INF), 0.0);
        QCOMPARE(cv::norm(restored->map("lime")->segments, before->map("lime")->segments, cv::NORM_INF), 0.0);
        QCOMPARE(restored->map("lime")->numbers, before->map("lime")->numbers);
        QCOMPARE(restored->record.model.labels, before->record.model.labels);
        // Nothing changed since: the next run keeps both restored maps.
        onlyMethods(*w, {"gradcam", "lime"});
        runAndWait(*w);
        QVERIFY(w->session()->slots()[0].reused && w->session()->slots()[1].reused);
        QCOMPARE(w->history()->runs().back()->map("lime").get(), restored->map("lime").get());
    }

    void methodSectionsCollapseToASummary() {
        auto w = openWindow();
        MethodSection* lime = w->section("lime");
        QVERIFY(!lime->isExpanded());  // a first start: every section folded to one line
        QCOMPARE(lime->summaryText(), QStringLiteral("defaults"));
        child<QSpinBox>(w.get(), QStringLiteral("lime.samples"))->setValue(150);
        QVERIFY2(lime->summaryText().contains(QStringLiteral("samples 150")), qPrintable(lime->summaryText()));
        auto* summary = child<QLabel>(w.get(), QStringLiteral("summary.lime"));
        QVERIFY(summary->text().contains(QStringLiteral("samples 150")));
        child<QToolButton>(w.get(), QStringLiteral("expand.lime"))->click();
        QVERIFY(lime->isExpanded());
        QVERIFY(child<QSpinBox>(w.get(), QStringLiteral("lime.samples"))->isVisible());
        // "0 layers" reads "all"; counts of layers step by 1.
        auto* layers = child<QSpinBox>(w.get(), QStringLiteral("sanity.layers"));
        QCOMPARE(layers->specialValueText(), QStringLiteral("all"));
        QCOMPARE(layers->singleStep(), 1);
        w->close();
        auto again = openWindow();
        QVERIFY(again->section("lime")->isExpanded());  // the sections the user opened stay open
        QVERIFY(!again->section("gradcam")->isExpanded());
    }

    void errorBarIsOneLineHigh() {
        auto w = openWindow();
        w->resize(1280, 720);
        const QString message = QStringLiteral(
            "The model could not be loaded: /some/very/long/path/to/a/model/file/that/does/not/exist.pt cannot be "
            "read (No such file or directory); check the path, or pick a model from the list. A second sentence "
            "that makes the message long enough to wrap several times in a narrow window.\nAnd a second line.");
        w->showError(message);
        auto* banner = child<QWidget>(w.get(), QStringLiteral("errorBanner"));
        QTRY_VERIFY(banner->isVisible());
        QCoreApplication::processEvents();
        const int line = banner->fontMetrics().height();
        QVERIFY2(banner->height() <= 2 * line + 16, qPrintable(QString::number(banner->height())));
        QCOMPARE(w->lastError(), message);
        // Details shows the whole message.
        auto* details = child<QToolButton>(w.get(), QStringLiteral("errorDetailsButton"));
        details->click();
        auto* full = child<QLabel>(w.get(), QStringLiteral("errorLabel"));
        QVERIFY(full->isVisible());
        QCOMPARE(full->text(), message);
    }

    void sixTilesAreVisibleAt1280x720() {
        auto w = openWindow();
        w->resize(1280, 720);
        // The default methods: five maps and the original.
        for (const auto& m : explainerNames()) w->section(m)->setChecked(false);
        for (const char* m : {"gradcam", "gradcampp", "cam", "lime", "kernelshap"}) w->section(m)->setChecked(true);
        runAndWait(*w);
        QCoreApplication::processEvents();
        auto* scroll = child<QScrollArea>(w.get(), QStringLiteral("resultsScroll"));
        const QRect viewport = scroll->viewport()->rect();
        QCOMPARE(w->grid()->tileCount(), 5);
        std::vector<QWidget*> tiles{w->grid()->originalTile()};
        for (int i = 0; i < 5; ++i) tiles.push_back(w->grid()->tile(i));
        for (QWidget* t : tiles) {
            const QRect r(t->mapTo(scroll->viewport(), QPoint(0, 0)), t->size());
            QVERIFY2(viewport.contains(r), qPrintable(QStringLiteral("%1 at %2,%3 %4x%5 outside %6x%7")
                                                          .arg(t->objectName())
                                                          .arg(r.x())
                                                          .arg(r.y())
                                                          .arg(r.width())
                                                          .arg(r.height())
                                                          .arg(viewport.width())
                                                          .arg(viewport.height())));
        }
        // Every map gets the same area, whatever its number of text lines.
        // (the layout shares out odd pixels between rows and columns: within 2 px).
        const QSize map = w->grid()->tile(0)->view()->size();
        QVERIFY(map.width() >= 90 && map.height() >= 90);
        for (QWidget* t : tiles) {
            const QSize size = static_cast<HeatmapTile*>(t)->view()->size();
            QVERIFY2(std::abs(size.width() - map.width()) <= 2 && std::abs(size.height() - map.height()) <= 2,
                     qPrintable(QStringLiteral("%1: %2x%3, tile 0: %4x%5")
                                    .arg(t->objectName())
                                    .arg(size.width())
                                    .arg(size.height())
                                    .arg(map.width())
                                    .arg(map.height())));
        }
        // Hiding the settings panel gives the grid the whole width.
        const int before = scroll->width();
        w->setSettingsPanelVisible(false);
        QCoreApplication::processEvents();
        QVERIFY(scroll->width() > before + 200);
        w->setSettingsPanelVisible(true);
        QVERIFY(w->settingsPanelVisible());
    }

    void exportAllRunsWritesOneFolderPerRun() {
        auto w = openWindow();
        onlyMethods(*w, {"gradcam"});
        runAndWait(*w);
        child<QSpinBox>(w.get(), QStringLiteral("seedSpin"))->setValue(3);
        onlyMethods(*w, {"gradcam", "cam"});
        runAndWait(*w);
        QCOMPARE(w->history()->count(), 2);
        QTemporaryDir out;
        QVERIFY(w->exportAllRuns(out.path()));
        const QStringList folders = QDir(out.path()).entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name);
        QCOMPARE(folders, (QStringList{QStringLiteral("01-Run 1"), QStringLiteral("02-Run 2")}));
        QVERIFY(QFile::exists(out.filePath(QStringLiteral("01-Run 1/fashion-sneaker.gradcam.overlay.png"))));
        QVERIFY(!QFile::exists(out.filePath(QStringLiteral("01-Run 1/fashion-sneaker.cam.overlay.png"))));
        QVERIFY(QFile::exists(out.filePath(QStringLiteral("02-Run 2/fashion-sneaker.cam.overlay.png"))));
        const auto report = nlohmann::json::parse(
            readAll(out.filePath(QStringLiteral("02-Run 2/fashion-sneaker.report.json"))).toStdString());
        QCOMPARE(report["extra"]["run"]["name"].get<std::string>(), std::string("Run 2"));
        // The next save dialog starts in the folder of the last export.
        QCOMPARE(w->exportFolder(), QFileInfo(out.path()).absoluteFilePath());
        QTemporaryDir other;
        QVERIFY(w->exportTo(other.path(), {}));
        QCOMPARE(w->exportFolder(), QFileInfo(other.path()).absoluteFilePath());
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

private:
    // Metrics as a run on fashion-cnn gives them: five maps (Grad-CAM and Grad-CAM++ among
    // them), curves of 50 steps, the random floor, the target named.
    static std::shared_ptr<RunMetrics> tabMetrics() {
        auto curve = [](double rate, bool falling) {
            Curve c;
            for (int i = 0; i < 50; ++i) {
                const double x = i / 49.0;
                c.fraction.push_back(x);
                c.score.push_back(falling ? 0.91 * std::exp(-rate * x) : 0.05 + 0.86 * (1 - std::exp(-rate * x)));
            }
            c.auc = curveAuc(c.fraction, c.score);
            return c;
        };
        auto m = std::make_shared<RunMetrics>();
        m->methods = {"gradcam", "gradcampp", "cam", "lime", "kernelshap"};
        m->titles = {QStringLiteral("Grad-CAM"), QStringLiteral("Grad-CAM++"), QStringLiteral("CAM"),
                     QStringLiteral("LIME"), QStringLiteral("KernelSHAP")};
        m->target_label = QStringLiteral("Sneaker");
        FaithfulnessReport& f = m->faithfulness;
        f.methods = m->methods;
        f.target_index = 7;
        f.pixels = 784;
        f.pixels_per_step = 16;
        f.model_evaluations = 1234;
        f.seconds = 0.8912;
        f.guard.image_probability = 0.9103;
        f.baseline = {baselineFromName("black"), "model 'fashion-cnn' (the model descriptor)"};
        for (int i = 0; i < 5; ++i) {
            FaithfulnessCurves c;
            c.deletion = curve(3.0 + i, true);
            c.insertion = curve(2.0 + i, false);
            f.curves.push_back(c);
        }
        f.curves[3].deletion.auc = 0.004464;  // a small number, as people should read it: 0.00446
        f.random.deletion = curve(1.0, true);
        f.random.insertion = curve(1.0, false);
        m->agreement.methods = m->methods;
        m->agreement.spearman = m->agreement.top_iou = std::vector<std::vector<double>>(5, std::vector<double>(5, 0.5));
        return m;
    }

    // The text items drawn under a chart item (legend labels, axis labels), as shown.
    static QStringList drawnTexts(QGraphicsItem* item) {
        QStringList texts;
        if (auto* t = qgraphicsitem_cast<QGraphicsTextItem*>(item); t && t->isVisible()) texts << t->toPlainText();
        for (QGraphicsItem* c : item->childItems()) texts << drawnTexts(c);
        return texts;
    }

private Q_SLOTS:
    void metricsLegendsShowFullNamesAt1280x720() {
        // The tab's size in the main window at 1280x720: about 800x600, in its scroll area.
        QScrollArea area;
        auto* view = new MetricsView;
        area.setWidgetResizable(true);
        area.setWidget(view);
        area.resize(800, 600);
        area.show();
        QVERIFY(QTest::qWaitForWindowExposed(&area));
        view->showMetrics(tabMetrics());
        const QStringList expected = {QStringLiteral("Grad-CAM"),   QStringLiteral("Grad-CAM++"),
                                      QStringLiteral("CAM"),        QStringLiteral("LIME"),
                                      QStringLiteral("KernelSHAP"), QStringLiteral("random ranking")};
        QVERIFY(view->width() <= 800);
        for (auto which : {MetricsView::Chart::Deletion, MetricsView::Chart::Insertion}) {
            QChart* chart = view->chart(which);
            QLegend* legend = chart->legend();
            QTRY_VERIFY(legend->geometry().width() > 0 && chart->plotArea().width() > 100);
            QCoreApplication::processEvents();
            QStringList labels;
            for (QLegendMarker* marker : legend->markers()) labels << marker->label();
            QCOMPARE(labels, expected);
            // What is drawn: every name whole ("Grad-..." twice told Grad-CAM and Grad-CAM++ apart from nothing).
            const QStringList drawn = drawnTexts(legend);
            for (const QString& name : expected)
                QVERIFY2(drawn.contains(name), qPrintable(drawn.join(QStringLiteral(" | "))));
            // Nothing in the chart is cut short: not the names, not the title, not the axis titles.
            const QStringList all = drawnTexts(chart);
            QVERIFY2(!all.join(QString()).contains(QStringLiteral("...")), qPrintable(all.join(QStringLiteral(" | "))));
            // ... with room for it, inside the chart and beside the plot, not over it.
            const QRectF box = legend->geometry();
            QVERIFY2(chart->rect().adjusted(-1, -1, 1, 1).contains(box),
                     qPrintable(QStringLiteral("%1 %2").arg(box.width()).arg(chart->rect().width())));
            QVERIFY(box.left() >= chart->plotArea().right());
            const QFontMetricsF metrics(legend->font());
            for (const QString& name : expected)
                QVERIFY2(metrics.horizontalAdvance(name) < box.width(), qPrintable(name));
        }
        const QString shots = qEnvironmentVariable("MIRADA_GUI_SHOTS");
        if (!shots.isEmpty()) {
            area.grab().save(QDir(shots).filePath(QStringLiteral("metrics-tab-800x600.png")));
            view->grab().save(QDir(shots).filePath(QStringLiteral("metrics-view-full.png")));
            QVERIFY(
                view->exportChart(MetricsView::Chart::Deletion, QDir(shots).filePath(QStringLiteral("deletion.png"))));
            QVERIFY(view->exportChart(MetricsView::Chart::Insertion,
                                      QDir(shots).filePath(QStringLiteral("insertion.svg"))));
        }
    }

    void metricsAxisTicksReadExactly() {
        MetricsView view;
        view.resize(800, 700);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        view.showMetrics(tabMetrics());
        for (auto which : {MetricsView::Chart::Deletion, MetricsView::Chart::Insertion}) {
            QChart* chart = view.chart(which);
            QCOMPARE(chart->axes().size(), 2);
            for (QAbstractAxis* axis : chart->axes()) {
                auto* a = qobject_cast<QValueAxis*>(axis);
                QVERIFY(a);
                QCOMPARE(a->min(), 0.0);
                QCOMPARE(a->max(), 1.0);
                std::vector<double> ticks;
                if (a->tickType() == QValueAxis::TicksFixed)
                    for (int i = 0; i < a->tickCount(); ++i)
                        ticks.push_back(a->min() + i * (a->max() - a->min()) / (a->tickCount() - 1));
                else
                    for (double t = a->tickAnchor(); t <= a->max() + 1e-9; t += a->tickInterval()) ticks.push_back(t);
                QVERIFY(ticks.size() >= 5);
                for (double t : ticks) {
                    // Each label says its tick's value: no "0.3" under 0.25.
                    const QString label = QString::asprintf(qPrintable(a->labelFormat()), t);
                    QVERIFY2(std::abs(label.toDouble() - t) < 1e-9, qPrintable(label));
                }
            }
            // As drawn.
            QTRY_VERIFY(chart->plotArea().width() > 100);
            const QStringList drawn = drawnTexts(chart);
            for (const char* tick : {"0.0", "0.2", "0.4", "0.6", "0.8", "1.0"})
                QVERIFY2(drawn.contains(QLatin1String(tick)), qPrintable(drawn.join(QStringLiteral(" | "))));
            QVERIFY(!drawn.contains(QStringLiteral("0.3")) && !drawn.contains(QStringLiteral("0.25")));
        }
    }

    void metricsHeaderNamesTheClassAndExplainsTheNumbers() {
        MetricsView view;
        QVERIFY(!view.exportButton()->isEnabled());  // nothing to export yet
        auto m = tabMetrics();
        view.showMetrics(m);
        QVERIFY(view.exportButton()->isEnabled());
        QVERIFY2(view.messageText().contains(QStringLiteral("Target 'Sneaker' (class 7, p = 91.0%)")),
                 qPrintable(view.messageText()));
        QVERIFY2(!view.messageText().contains(QStringLiteral("Target 7")), qPrintable(view.messageText()));
        // Numbers for people: 3 significant digits, no "0.004464" nor "0.250000".
        QTableWidget* auc = view.aucTable();
        QCOMPARE(auc->rowCount(), 6);
        QCOMPARE(auc->item(3, 1)->text(), QStringLiteral("0.00446"));
        const auto& f = m->faithfulness;
        QCOMPARE(auc->item(0, 2)->text(), QString::number(f.curves[0].insertion.auc, 'f', 3));
        const double margin = f.curves[0].insertion.auc - f.random.insertion.auc;
        QVERIFY(margin > 0);
        QCOMPARE(auc->item(0, 3)->text(), QStringLiteral("+") + QString::number(margin, 'f', margin < 0.1 ? 4 : 3));
        QCOMPARE(auc->item(0, 4)->text(), QStringLiteral("beats random on both"));
        // Which way is better, and what the random floor is, in words.
        QVERIFY(auc->horizontalHeaderItem(1)->text().contains(QStringLiteral("lower is better")));
        QVERIFY(auc->horizontalHeaderItem(2)->text().contains(QStringLiteral("higher is better")));
        for (int c = 0; c < auc->columnCount(); ++c) QVERIFY(!auc->horizontalHeaderItem(c)->toolTip().isEmpty());
        QVERIFY(auc->horizontalHeaderItem(1)->toolTip().contains(QStringLiteral("lower is better")));
        QVERIFY(auc->horizontalHeaderItem(2)->toolTip().contains(QStringLiteral("higher is better")));
        QVERIFY(auc->item(5, 0)->text().startsWith(QStringLiteral("random ranking (floor")));
        QVERIFY(auc->item(5, 0)->toolTip().contains(QStringLiteral("must beat")));
        QVERIFY(auc->item(0, 1)->toolTip().contains(QStringLiteral("random")));
        QVERIFY(!view.agreementTable()->item(0, 1)->toolTip().isEmpty());
        auto* help = view.findChild<QLabel*>(QStringLiteral("aucHelp"));
        QVERIFY(help && help->text().contains(QStringLiteral("floor")));
        // Without the class name: the index.
        auto unnamed = std::make_shared<RunMetrics>(*m);
        unnamed->target_label.clear();
        view.showMetrics(unnamed);
        QVERIFY2(view.messageText().contains(QStringLiteral("Target class 7 (p = 91.0%)")),
                 qPrintable(view.messageText()));
        view.showMetrics(nullptr);
        QVERIFY(!view.exportButton()->isEnabled());
    }

    void metricsExportCurvesAsCsv() {
        MetricsView view;
        QTemporaryDir dir;
        const QString file = dir.filePath(QStringLiteral("sneaker.metrics.csv"));
        QString error;
        QVERIFY(!view.exportCurvesCsv(file, &error));  // no metrics yet
        QVERIFY(!error.isEmpty());
        QVERIFY(!QFileInfo::exists(file));
        const auto m = tabMetrics();
        view.showMetrics(m);
        QVERIFY2(view.exportCurvesCsv(file, &error), qPrintable(error));
        const QStringList lines = QString::fromUtf8(readAll(file)).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
        QCOMPARE(lines.value(0), QStringLiteral("method,curve,step,fraction,score"));
        const auto& f = m->faithfulness;
        int row = 1;
        auto check = [&](const QString& method, const QString& kind, const Curve& c) {
            for (size_t k = 0; k < c.fraction.size(); ++k, ++row) {
                const QStringList cells = lines.value(row).split(QLatin1Char(','));
                if (cells.size() != 5 || cells[0] != method || cells[1] != kind || cells[2].toInt() != int(k) ||
                    std::abs(cells[3].toDouble() - c.fraction[k]) > 1e-8 ||
                    std::abs(cells[4].toDouble() - c.score[k]) > 1e-8)
                    return false;
            }
            return true;
        };
        for (size_t i = 0; i < f.curves.size(); ++i) {
            QVERIFY2(check(qs(f.methods[i]), QStringLiteral("deletion"), f.curves[i].deletion),
                     qPrintable(lines.value(row)));
            QVERIFY2(check(qs(f.methods[i]), QStringLiteral("insertion"), f.curves[i].insertion),
                     qPrintable(lines.value(row)));
        }
        QVERIFY2(check(QStringLiteral("random"), QStringLiteral("deletion"), f.random.deletion),
                 qPrintable(lines.value(row)));
        QVERIFY2(check(QStringLiteral("random"), QStringLiteral("insertion"), f.random.insertion),
                 qPrintable(lines.value(row)));
        QCOMPARE(lines.size(), row);  // one row per point, nothing else: (5 maps + floor) x 2 curves x 50 points
        QCOMPARE(lines.size(), 1 + 6 * 2 * 50);
        QCOMPARE(readAll(file).toStdString(), curvesCsv(f));  // the CLI's writer, the same bytes
    }

    void metricsExportChartsAsPngAndSvg() {
        MetricsView view;
        view.showMetrics(tabMetrics());
        QTemporaryDir dir;
        QString error;
        const QString png = dir.filePath(QStringLiteral("deletion.png"));
        QVERIFY2(view.exportChart(MetricsView::Chart::Deletion, png, &error), qPrintable(error));
        const QImage image(png);
        QVERIFY(!image.isNull());
        QCOMPARE(image.size(), MetricsView::chartExportSize() * 2);
        // The curves are drawn: Grad-CAM's blue and Grad-CAM++'s orange are there, not a blank frame.
        int blue = 0, orange = 0;
        for (int y = 0; y < image.height(); y += 2)
            for (int x = 0; x < image.width(); x += 2) {
                const QRgb p = image.pixel(x, y);
                blue += std::abs(qRed(p) - 0x4e) + std::abs(qGreen(p) - 0x79) + std::abs(qBlue(p) - 0xa7) < 30;
                orange += std::abs(qRed(p) - 0xf2) + std::abs(qGreen(p) - 0x8e) + std::abs(qBlue(p) - 0x2b) < 30;
            }
        QVERIFY2(blue > 100 && orange > 100, qPrintable(QStringLiteral("%1 %2").arg(blue).arg(orange)));
        const QString svg = dir.filePath(QStringLiteral("insertion.svg"));
        QVERIFY2(view.exportChart(MetricsView::Chart::Insertion, svg, &error), qPrintable(error));
        const QByteArray text = readAll(svg);
        QVERIFY(text.startsWith("<?xml"));
        QVERIFY(text.contains("<svg"));
        QVERIFY(text.contains("Grad-CAM++ (AUC "));  // names whole, with their AUCs
        QVERIFY(text.contains("Sneaker"));
        // Exporting again replaces the file whole.
        QVERIFY2(view.exportChart(MetricsView::Chart::Insertion, png, &error), qPrintable(error));
        QCOMPARE(QImage(png).size(), MetricsView::chartExportSize() * 2);
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files).size(), 2);  // no temporary files left
    }

    void metricsExportToAnUnwritablePlaceLeavesNothing() {
        MetricsView view;
        view.showMetrics(tabMetrics());
        QTemporaryDir dir;
        QString error;
        const QString folder = dir.filePath(QStringLiteral("no-such-folder"));
        for (const QString& name :
             {QStringLiteral("curves.csv"), QStringLiteral("chart.png"), QStringLiteral("chart.svg")}) {
            const QString file = QDir(folder).filePath(name);
            error.clear();
            const bool ok = name.endsWith(QStringLiteral(".csv"))
                                ? view.exportCurvesCsv(file, &error)
                                : view.exportChart(MetricsView::Chart::Deletion, file, &error);
            QVERIFY(!ok);
            QVERIFY2(error.contains(QDir::toNativeSeparators(file)), qPrintable(error));
        }
        QVERIFY(!QFileInfo::exists(folder));
        QVERIFY(QDir(dir.path()).entryList(QDir::AllEntries | QDir::NoDotAndDotDot).isEmpty());
        // A file that is there stays as it was when the export cannot go ahead.
        const QString kept = dir.filePath(QStringLiteral("chart.gif"));
        {
            QFile f(kept);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("keep me");
        }
        QVERIFY(!view.exportChart(MetricsView::Chart::Deletion, kept, &error));
        QVERIFY2(error.contains(QDir::toNativeSeparators(kept)) && error.contains(QStringLiteral(".png")),
                 qPrintable(error));
        QCOMPARE(readAll(kept), QByteArray("keep me"));
        // A folder in the file's place.
        QVERIFY(QDir(dir.path()).mkdir(QStringLiteral("taken.csv")));
        QVERIFY(!view.exportCurvesCsv(dir.filePath(QStringLiteral("taken.csv")), &error));
        QVERIFY(QFileInfo(dir.filePath(QStringLiteral("taken.csv"))).isDir());
        QCOMPARE(QDir(dir.path()).entryList(QDir::AllEntries | QDir::NoDotAndDotDot).size(), 2);
        // The folder the dialogs start in: shared with the main window.
        QCOMPARE(view.exportFolder(), QDir::currentPath());
        QSignalSpy changed(&view, &MetricsView::exportFolderChanged);
        view.setExportFolder(dir.path());
        view.setExportFolder(dir.path());
        QCOMPARE(changed.size(), 1);
        QCOMPARE(changed.at(0).at(0).toString(), dir.path());
        QCOMPARE(view.exportFolder(), dir.path());
    }

    // ---- Metrics tab tests (legends, ticks, exports): add them above this line ----

    // ---- Batch tab ----

    void batchTabRunsAFolderAndOpensAnImageAsARun() {
        const QString images = makeFashionFolder(QStringLiteral("batch-images"), 2);
        auto w = openWindow();
        onlyMethods(*w, {"gradcam"});
        w->metricsSection()->setChecked(true);
        BatchView* batch = w->batchView();
        child<QTabWidget>(w.get(), QStringLiteral("resultsTabs"))->setCurrentWidget(batch);
        batch->setFolder(images);
        const QString out = dir_.filePath(QStringLiteral("batch-out"));
        QDir(out).removeRecursively();
        child<QLineEdit>(w.get(), QStringLiteral("batchOutputEdit"))->setText(out);

        QSignalSpy finished(batch, &BatchView::finished);
        QVERIFY2(batch->start(), qPrintable(batch->messageText()));
        // One thing at a time: the single-image Run waits for the batch.
        QVERIFY(!child<QPushButton>(w.get(), QStringLiteral("runButton"))->isEnabled());
        QVERIFY(finished.wait(kRunTimeout));
        QVERIFY2(batch->summary(), qPrintable(batch->messageText()));
        QVERIFY(child<QPushButton>(w.get(), QStringLiteral("runButton"))->isEnabled());
        const BatchSummary& s = *batch->summary();
        QCOMPARE(s.found, 20);
        QCOMPARE(s.done, 20);
        QVERIFY(!s.cancelled);
        QVERIFY(s.labelled);
        for (const char* file :
             {"batch.json", "results.csv", "summary.json", "summary.md", "curves.csv", "report.html"})
            QVERIFY2(QFileInfo::exists(QDir(out).filePath(QLatin1String(file))), file);
        QTableWidget* gallery = batch->gallery();
        QCOMPARE(gallery->rowCount(), 20);
        QVERIFY(batch->progressText().startsWith(QStringLiteral("20 of 20 images")));
        // Every row: the input and the Grad-CAM overlay as thumbnails, the AUCs as numbers.
        for (int r = 0; r < gallery->rowCount(); ++r) {
            for (const QString& key : {QStringLiteral("image"), QStringLiteral("overlay:gradcam")})
                QVERIFY(!gallery->item(r, batch->column(key))->data(Qt::DecorationRole).value<QPixmap>().isNull());
            QVERIFY(!gallery->item(r, batch->column(QStringLiteral("gradcam.deletion")))->text().isEmpty());
        }
        // Sorting by a header orders the numbers as numbers ("100%" after "9.5%").
        const int probability = batch->column(QStringLiteral("probability"));
        auto values = [&](int column) {
            std::vector<double> v;
            for (int r = 0; r < gallery->rowCount(); ++r)
                v.push_back(gallery->item(r, column)->text().remove(QLatin1Char('%')).toDouble());
            return v;
        };
        gallery->scrollToItem(gallery->item(0, probability));
        QHeaderView* header = gallery->horizontalHeader();
        const QPoint headerCentre(header->sectionViewportPosition(probability) + header->sectionSize(probability) / 2,
                                  header->height() / 2);
        QTest::mouseClick(header->viewport(), Qt::LeftButton, {}, headerCentre);
        if (header->sortIndicatorOrder() == Qt::AscendingOrder)
            QTest::mouseClick(header->viewport(), Qt::LeftButton, {}, headerCentre);
        QCOMPARE(header->sortIndicatorSection(), probability);
        const auto descending = values(probability);
        QVERIFY(std::is_sorted(descending.rbegin(), descending.rend()));
        QVERIFY(descending.front() > descending.back());
        const int deletion = batch->column(QStringLiteral("gradcam.deletion"));
        gallery->sortByColumn(deletion, Qt::AscendingOrder);
        const auto ascending = values(deletion);
        QVERIFY(std::is_sorted(ascending.begin(), ascending.end()));
        // The aggregated table and the mean curves (Grad-CAM and the random floor).
        QVERIFY(batch->summaryTable()->rowCount() >= 3);  // all, correct, wrong, per class
        QCOMPARE(batch->summaryTable()->item(0, 1)->text(), QStringLiteral("Grad-CAM"));
        QCOMPARE(batch->curveChart(true)->series().size(), 2);
        QCOMPARE(batch->curveChart(false)->series().size(), 2);

        // Double-click: the image opens as a run in the Maps tab.
        const QString id = gallery->item(0, batch->column(QStringLiteral("id")))->text();
        const int runs = w->history()->count();
        gallery->scrollToItem(gallery->item(0, batch->column(QStringLiteral("id"))));
        const QRect cell = gallery->visualItemRect(gallery->item(0, batch->column(QStringLiteral("id"))));
        // A real double-click: a click, then the second press arrives as a double-click.
        QTest::mouseClick(gallery->viewport(), Qt::LeftButton, {}, cell.center());
        QTest::mouseDClick(gallery->viewport(), Qt::LeftButton, {}, cell.center());
        QVERIFY2(w->history()->count() == runs + 1, qPrintable(batch->messageText()));
        const auto run = w->history()->runs().back();
        QCOMPARE(w->shownRunId(), run->id);
        QVERIFY(run->imagePath.endsWith(id));
        QCOMPARE(child<QTabWidget>(w.get(), QStringLiteral("resultsTabs"))->currentWidget(),
                 child<QWidget>(w.get(), QStringLiteral("mapsPage")));
        QCOMPARE(w->grid()->image().cols, 28);
        QCOMPARE(w->grid()->image().data, run->record.image.data);
        QVERIFY(run->map("gradcam"));
        QCOMPARE(run->map("gradcam")->heatmap.size(), cv::Size(28, 28));
        QVERIFY(run->metrics);
        QVERIFY(w->metricsView()->seriesCount() > 0);  // the image's own curves
        // Enter on a selected row opens that one.
        child<QTabWidget>(w.get(), QStringLiteral("resultsTabs"))->setCurrentWidget(batch);
        gallery->setCurrentCell(1, batch->column(QStringLiteral("id")));
        gallery->setFocus();
        QTest::keyClick(gallery, Qt::Key_Return);
        QCOMPARE(w->history()->count(), runs + 2);

        // Export: the same files, in a new folder; nothing half-copied beside it.
        const QString exported = dir_.filePath(QStringLiteral("batch-export"));
        QDir(exported).removeRecursively();
        QVERIFY2(batch->exportTo(exported), qPrintable(batch->messageText()));
        QVERIFY(QFileInfo::exists(QDir(exported).filePath(QStringLiteral("report.html"))));
        QCOMPARE(QDir(exported).entryList({QStringLiteral("*.csv")}, QDir::Files).size(), 2);
        // "Bag/00018.png" -> images/Bag/00018/result.json
        QVERIFY(QFileInfo::exists(QDir(exported).filePath(QStringLiteral("images/%1/result.json").arg(id.chopped(4)))));
        const QStringList partial =
            QDir(dir_.path()).entryList({QStringLiteral(".batch-export*")}, QDir::AllEntries | QDir::Hidden);
        QVERIFY2(partial.isEmpty(), qPrintable(partial.join(QLatin1Char(' '))));

        // The tab's settings are kept.
        w->close();
        w.reset();
        auto again = openWindow();
        QCOMPARE(child<QLineEdit>(again.get(), QStringLiteral("batchFolderEdit"))->text(),
                 QDir::toNativeSeparators(images));
    }

    void batchTabCancelKeepsCompleteImagesAndRunContinues() {
        const QString images = makeFashionFolder(QStringLiteral("batch-images"), 2);
        auto w = openWindow();
        onlyMethods(*w, {"gradcam", "lime"});
        w->metricsSection()->setChecked(true);
        BatchView* batch = w->batchView();
        batch->setFolder(images);
        const QString out = dir_.filePath(QStringLiteral("batch-cancel"));
        QDir(out).removeRecursively();
        child<QLineEdit>(w.get(), QStringLiteral("batchOutputEdit"))->setText(out);
        QSignalSpy finished(batch, &BatchView::finished);
        QVERIFY(batch->start());
        QVERIFY(QTest::qWaitFor([&]() { return batch->gallery()->rowCount() >= 1; }, kRunTimeout));
        child<QPushButton>(w.get(), QStringLiteral("batchCancelButton"))->click();
        QVERIFY(finished.wait(kRunTimeout));
        QVERIFY(batch->summary());
        const BatchSummary& s = *batch->summary();
        QVERIFY2(s.cancelled, "the batch finished before Cancel reached it");
        QVERIFY(s.done < 20);
        QCOMPARE(s.not_run, 20 - s.done - s.failed);
        QVERIFY(batch->messageText().startsWith(QStringLiteral("Cancelled")));
        // The rows shown are the complete images, each with its files.
        QCOMPARE(batch->gallery()->rowCount(), static_cast<int>(s.images.size()));
        for (const auto& image : s.images)
            QVERIFY(QFileInfo::exists(QDir(out).filePath(qs(image.folder) + QStringLiteral("/result.json"))));
        // Run again: the images done are skipped, the rest are run.
        const int before = s.done;
        QVERIFY(batch->start());
        QVERIFY(finished.wait(kRunTimeout));
        QCOMPARE(batch->summary()->done, 20);
        QCOMPARE(batch->summary()->skipped, before);
        QVERIFY(batch->progressText().contains(QStringLiteral("skipped (done before)")));
    }

    void batchTabShowsWhyAFolderCannotRun() {
        auto w = openWindow();
        BatchView* batch = w->batchView();
        const QString missing = dir_.filePath(QStringLiteral("no-such-folder"));
        batch->setFolder(missing);
        child<QLineEdit>(w.get(), QStringLiteral("batchOutputEdit"))->setText(dir_.filePath(QStringLiteral("x-out")));
        QSignalSpy finished(batch, &BatchView::finished);
        QVERIFY(batch->start());
        QVERIFY(finished.wait(kRunTimeout));
        QVERIFY(!batch->summary());
        QVERIFY2(batch->messageText().contains(QStringLiteral("no-such-folder")), qPrintable(batch->messageText()));
        QCOMPARE(batch->gallery()->rowCount(), 0);
        QVERIFY(child<QPushButton>(w.get(), QStringLiteral("batchRunButton"))->isEnabled());
    }
};

QTEST_MAIN(MainWindowTest)
#include "test_main_window.moc"
