#include "app_settings.hpp"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QStandardPaths>

namespace mirada::gui {

namespace {
constexpr int kSettingsVersion = 1;
}

QString AppSettings::defaultFile() {
    const QString env = qEnvironmentVariable("MIRADA_SETTINGS");
    if (!env.isEmpty()) return env;
    return QDir(QStandardPaths::writableLocation(QStandardPaths::AppConfigLocation))
        .filePath(QStringLiteral("mirada.ini"));
}

AppSettings::AppSettings(const QString& file) {
    const QString path = file.isEmpty() ? defaultFile() : file;
    settings_ = std::make_unique<QSettings>(path, QSettings::IniFormat);
    const auto status = settings_->status();
    const QVariant version = settings_->value(QStringLiteral("mirada/settingsVersion"));
    const bool exists = QFileInfo::exists(path) && QFileInfo(path).size() > 0;
    QString problem;
    if (status == QSettings::AccessError)
        problem = QObject::tr("it cannot be read");
    else if (status == QSettings::FormatError)
        problem = QObject::tr("it is not a valid settings file");
    else if (exists && (!version.isValid() || version.toInt() != kSettingsVersion))
        problem = QObject::tr("it was not written by this version of Mirada");
    if (!problem.isEmpty()) {
        keepCopy();
        settings_ = std::make_unique<QSettings>(path, QSettings::IniFormat);
        settings_->clear();
        notice_ =
            QObject::tr("The settings file %1 was not used because %2; Mirada started with default settings%3.")
                .arg(QDir::toNativeSeparators(path), problem,
                     copied_ ? QObject::tr(" (the old file was kept as %1.corrupt)").arg(QFileInfo(path).fileName())
                             : QString());
    }
    settings_->setValue(QStringLiteral("mirada/settingsVersion"), kSettingsVersion);
}

void AppSettings::keepCopy() {
    if (copied_) return;
    const QString path = settings_->fileName();
    if (!QFileInfo::exists(path)) return;
    const QString backup = path + QStringLiteral(".corrupt");
    QFile::remove(backup);
    copied_ = QFile::copy(path, backup);
}

void AppSettings::reportBadValue(const QString& key, const QString& why) {
    keepCopy();
    const QString sentence =
        QObject::tr("The saved setting '%1' was not used (%2); its default applies.").arg(key, why);
    notice_ = notice_.isEmpty() ? sentence : notice_ + QLatin1Char(' ') + sentence;
}

}  // namespace mirada::gui
