#include "wheel_guard.hpp"

#include <QAbstractSlider>
#include <QAbstractSpinBox>
#include <QApplication>
#include <QComboBox>
#include <QWheelEvent>
#include <QWidget>

namespace mirada::gui {

WheelGuard* WheelGuard::instance() {
    static WheelGuard* guard = [] {
        auto* g = new WheelGuard;
        g->setParent(qApp);  // lives as long as the application
        return g;
    }();
    return guard;
}

void WheelGuard::guard(QWidget* editor) {
    if (!editor) return;
    editor->setFocusPolicy(Qt::StrongFocus);
    editor->installEventFilter(instance());
}

void WheelGuard::install(QWidget* root) {
    if (!root) return;
    const auto isEditor = [](QWidget* w) {
        return qobject_cast<QAbstractSpinBox*>(w) || qobject_cast<QComboBox*>(w) || qobject_cast<QAbstractSlider*>(w);
    };
    if (isEditor(root)) guard(root);
    for (QWidget* w : root->findChildren<QWidget*>())
        if (isEditor(w)) guard(w);
}

bool WheelGuard::eventFilter(QObject* watched, QEvent* event) {
    if (event->type() != QEvent::Wheel) return QObject::eventFilter(watched, event);
    auto* w = qobject_cast<QWidget*>(watched);
    if (!w || w->hasFocus()) return false;  // focused: the editor takes the wheel as usual
    // Not focused: hand the wheel to the parent (QApplication passes it on up to the scroll area).
    if (QWidget* parent = w->parentWidget()) QCoreApplication::sendEvent(parent, event);
    return true;
}

}  // namespace mirada::gui
