// `mirada`: the desktop application.
#include <QApplication>
#include <QCommandLineParser>
#include <QTabWidget>
#include <QTimer>

#include <cstdio>

#include "main_window.hpp"

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("Mirada"));
    QApplication::setOrganizationName(QStringLiteral("Mirada"));
    QApplication::setApplicationVersion(QStringLiteral(MIRADA_VERSION));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Mirada: compare where an image classifier looks."));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(QStringLiteral("image"),
                                 QStringLiteral("Image to open (default: the last one, else a bundled sample)."));
    const QCommandLineOption modelOpt(
        QStringLiteral("model"), QStringLiteral("Zoo name or model file (default: the last one, else fashion-cnn)."),
        QStringLiteral("model"));
    const QCommandLineOption settingsOpt(QStringLiteral("settings"),
                                         QStringLiteral("Settings file to use (default: ~/.config/Mirada/mirada.ini)."),
                                         QStringLiteral("file"));
    const QCommandLineOption runOpt(QStringLiteral("run"),
                                    QStringLiteral("Run the enabled methods as soon as model and image are ready."));
    const QCommandLineOption shotOpt(QStringLiteral("screenshot"),
                                     QStringLiteral("After --run finishes, save a PNG of the window and quit."),
                                     QStringLiteral("png"));
    const QCommandLineOption tabOpt(
        QStringLiteral("tab"), QStringLiteral("With --screenshot: the results tab to show, maps (default) or metrics."),
        QStringLiteral("tab"), QStringLiteral("maps"));
    parser.addOptions({modelOpt, settingsOpt, runOpt, shotOpt, tabOpt});
    parser.process(app);

    mirada::gui::StartOptions options;
    options.model = parser.value(modelOpt);
    options.settingsFile = parser.value(settingsOpt);
    if (!parser.positionalArguments().isEmpty()) options.image = parser.positionalArguments().first();

    mirada::gui::MainWindow window(options);
    window.show();

    if (parser.isSet(runOpt) || parser.isSet(shotOpt)) {
        // Start as soon as the prediction is shown (model and image both ready).
        QObject::connect(
            window.session(), &mirada::gui::ExplanationSession::predictionReady, &window,
            [&window]() { QTimer::singleShot(100, &window, &mirada::gui::MainWindow::startRun); },
            Qt::SingleShotConnection);
        if (parser.isSet(shotOpt)) {
            const QString file = parser.value(shotOpt);
            const QString tab = parser.value(tabOpt);
            if (tab != QStringLiteral("maps") && tab != QStringLiteral("metrics")) {
                std::fprintf(stderr, "mirada: --tab '%s' is not known; use maps or metrics\n", qPrintable(tab));
                return 2;
            }
            QObject::connect(&window, &mirada::gui::MainWindow::runFinished, &window, [&window, file, tab]() {
                if (tab == QStringLiteral("metrics"))
                    if (auto* tabs = window.findChild<QTabWidget*>(QStringLiteral("resultsTabs")))
                        if (auto* page = window.findChild<QWidget*>(QStringLiteral("metricsPage")))
                            tabs->setCurrentWidget(page);
                QTimer::singleShot(300, &window, [&window, file]() {
                    const bool ok = window.grab().save(file);
                    if (!ok) qWarning("could not write the screenshot %s", qPrintable(file));
                    QApplication::exit(ok ? 0 : 1);
                });
            });
        }
    }
    return app.exec();
}
