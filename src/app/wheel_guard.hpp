#pragma once
// The mouse wheel changes a spin box, combo box or slider only while it has
// the keyboard focus (clicked or tabbed into). Over an unfocused one the wheel
// scrolls the panel it sits in, so scrolling a long settings panel never
// changes a setting by accident (one notch once turned 50 superpixels into 2).
#include <QObject>

class QWidget;

namespace mirada::gui {

class WheelGuard : public QObject {
public:
    // Guards every spin box, combo box and slider in `root` (and root itself),
    // and gives them Qt::StrongFocus (the wheel no longer focuses them).
    static void install(QWidget* root);
    // Guards one editor.
    static void guard(QWidget* editor);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    static WheelGuard* instance();
};

}  // namespace mirada::gui
