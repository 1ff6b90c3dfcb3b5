// `mirada`: the desktop application.
#include <QApplication>
#include <QCoreApplication>
#include <QCommandLineParser>
#include <QTabWidget>
#include <QTimer>

#include <cstdio>
#include <functional>
#include <string>

#include "common/allocator.hpp"
#include "batch_view.hpp"
#include "main_window.hpp"

namespace {

struct CommandLine {
    QCommandLineParser parser;
    QCommandLineOption model{QStringLiteral("model"),
                             QStringLiteral("Zoo name or model file (default: the last one, else fashion-cnn)."),
                             QStringLiteral("model")};
    QCommandLineOption settings{QStringLiteral("settings"),
                                QStringLiteral("Settings file to use (default: ~/.config/Mirada/mirada.ini)."),
                                QStringLiteral("file")};
    QCommandLineOption run{QStringLiteral("run"),
                           QStringLiteral("Run the enabled methods as soon as model and image are ready.")};
    QCommandLineOption shot{QStringLiteral("screenshot"),
                            QStringLiteral("After --run finishes, save a PNG of the window and quit."),
                            QStringLiteral("png")};
    QCommandLineOption size{QStringLiteral("size"),
                            QStringLiteral("Window size, e.g. 1280x720 (default: the last one, else fit the screen)."),
                            QStringLiteral("WxH")};
    QCommandLineOption tab{QStringLiteral("tab"),
                           QStringLiteral("With --screenshot: the results tab to show, maps (default), metrics or "
                                          "batch."),
                           QStringLiteral("tab"), QStringLiteral("maps")};
    QCommandLineOption batchFolder{QStringLiteral("batch-folder"),
                                   QStringLiteral("Run the Batch tab on this folder of images once the model is "
                                                  "ready (with --screenshot: taken when the batch ends)."),
                                   QStringLiteral("dir")};

    CommandLine() {
        parser.setApplicationDescription(QStringLiteral("Mirada: compare where an image classifier looks."));
        parser.addHelpOption();
        parser.addVersionOption();
        parser.addPositionalArgument(QStringLiteral("image"),
                                     QStringLiteral("Image to open (default: the last one, else a bundled sample)."));
        parser.addOptions({model, settings, run, shot, tab, size, batchFolder});
    }
};

void nameApplication() {
    QCoreApplication::setApplicationName(QStringLiteral("Mirada"));
    QCoreApplication::setOrganizationName(QStringLiteral("Mirada"));
    QCoreApplication::setApplicationVersion(QStringLiteral(MIRADA_VERSION));
    // Wayland matches the window to share/applications/mirada.desktop (its icon in the dock) by this name.
    QGuiApplication::setDesktopFileName(QStringLiteral("mirada"));
}

// --help and --version need no window: answered before a display is opened,
// so they work over ssh, in a terminal without X or Wayland, and in scripts.
bool wantsOnlyText(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--") break;
        if (a == "-h" || a == "--help" || a == "-?" || a == "--help-all" || a == "-v" || a == "--version") return true;
    }
    return false;
}

}  // namespace

int main(int argc, char** argv) {
    mirada::keepFreedMemoryForReuse();  // common/allocator.hpp says why
    if (wantsOnlyText(argc, argv)) {
        QCoreApplication core(argc, argv);
        nameApplication();
        CommandLine cl;
        cl.parser.process(core);  // prints the help or the version and exits
        return 0;
    }
    QApplication app(argc, argv);
    Q_INIT_RESOURCE(mirada);  // the icon: resources of a static library are not registered by themselves
    nameApplication();
    CommandLine cl;
    QCommandLineParser& parser = cl.parser;
    const QCommandLineOption& modelOpt = cl.model;
    const QCommandLineOption& settingsOpt = cl.settings;
    const QCommandLineOption& runOpt = cl.run;
    const QCommandLineOption& shotOpt = cl.shot;
    const QCommandLineOption& tabOpt = cl.tab;
    parser.process(app);

    mirada::gui::StartOptions options;
    options.model = parser.value(modelOpt);
    options.settingsFile = parser.value(settingsOpt);
    if (!parser.positionalArguments().isEmpty()) options.image = parser.positionalArguments().first();

    mirada::gui::MainWindow window(options);
    if (parser.isSet(cl.size)) {
        const QStringList wh = parser.value(cl.size).split(QLatin1Char('x'));
        bool okW = false, okH = false;
        const int w = wh.size() == 2 ? wh[0].toInt(&okW) : 0;
        const int h = wh.size() == 2 ? wh[1].toInt(&okH) : 0;
        if (!okW || !okH || w < 400 || h < 300 || w > 16384 || h > 16384) {
            std::fprintf(stderr, "mirada: --size '%s' is not a window size; use WIDTHxHEIGHT, e.g. 1280x720\n",
                         qPrintable(parser.value(cl.size)));
            return 2;
        }
        window.resize(w, h);
    }
    window.show();

    const bool batch = parser.isSet(cl.batchFolder);
    std::function<void()> shoot = [] {};
    if (parser.isSet(shotOpt)) {
        const QString file = parser.value(shotOpt);
        const QString tab = parser.value(tabOpt);
        const QStringList tabs = {QStringLiteral("maps"), QStringLiteral("metrics"), QStringLiteral("batch")};
        if (!tabs.contains(tab)) {
            std::fprintf(stderr, "mirada: --tab '%s' is not known; use maps, metrics or batch\n", qPrintable(tab));
            return 2;
        }
        shoot = [&window, file, tab]() {
            auto* tabs = window.findChild<QTabWidget*>(QStringLiteral("resultsTabs"));
            const QString page = tab == QStringLiteral("metrics") ? QStringLiteral("metricsPage")
                                 : tab == QStringLiteral("batch") ? QStringLiteral("batchView")
                                                                  : QStringLiteral("mapsPage");
            if (auto* widget = window.findChild<QWidget*>(page); tabs && widget) tabs->setCurrentWidget(widget);
            QTimer::singleShot(300, &window, [&window, file]() {
                const bool ok = window.grab().save(file);
                if (!ok) qWarning("could not write the screenshot %s", qPrintable(file));
                QApplication::exit(ok ? 0 : 1);
            });
        };
        if (batch)
            QObject::connect(window.batchView(), &mirada::gui::BatchView::finished, &window, shoot);
        else
            QObject::connect(&window, &mirada::gui::MainWindow::runFinished, &window, shoot);
    }
    if (batch) {
        window.batchView()->setFolder(parser.value(cl.batchFolder));
        // Started once the model is ready (the prediction shows it is); a batch
        // that cannot start says why in its tab, which the screenshot then shows.
        QObject::connect(
            window.session(), &mirada::gui::ExplanationSession::predictionReady, &window,
            [&window, shoot]() {
                QTimer::singleShot(100, &window, [&window, shoot]() {
                    if (!window.batchView()->start()) shoot();
                });
            },
            Qt::SingleShotConnection);
    } else if (parser.isSet(runOpt) || parser.isSet(shotOpt)) {
        // Start as soon as the prediction is shown (model and image both ready).
        QObject::connect(
            window.session(), &mirada::gui::ExplanationSession::predictionReady, &window,
            [&window]() { QTimer::singleShot(100, &window, &mirada::gui::MainWindow::startRun); },
            Qt::SingleShotConnection);
    }
    return app.exec();
}
