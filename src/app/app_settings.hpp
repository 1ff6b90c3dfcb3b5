#pragma once
// Where Mirada keeps the user's settings between sessions (an INI file through
// QSettings). A file that cannot be read is never overwritten silently: it is
// kept beside the new one as "<name>.corrupt" and the notice says so.
#include <QSettings>
#include <QString>
#include <memory>

namespace mirada::gui {

class AppSettings {
public:
    // file: the INI file; empty = $MIRADA_SETTINGS, else the platform's config
    // folder (~/.config/Mirada/mirada.ini on Linux).
    explicit AppSettings(const QString& file = {});

    QSettings& values() { return *settings_; }
    QString fileName() const { return settings_->fileName(); }
    // Empty when the file was fine (or absent); else a sentence for the user.
    const QString& notice() const { return notice_; }
    // Called by whoever finds a stored value unusable (e.g. bad JSON): keeps
    // a copy of the file as .corrupt once and adds to the notice.
    void reportBadValue(const QString& key, const QString& why);

    static QString defaultFile();

private:
    void keepCopy();
    std::unique_ptr<QSettings> settings_;
    QString notice_;
    bool copied_ = false;
};

}  // namespace mirada::gui
