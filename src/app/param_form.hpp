#pragma once
// A form built from one of the core's settings tables (ParamSet): one editor
// per parameter with its range, default and help (as tooltip), so the form,
// the CLI's --set and the report can never disagree. MethodSection wraps a
// form in a checkable group box (the method's on/off switch) with a
// "Reset to defaults" button.
#include <QGroupBox>
#include <QWidget>
#include <map>
#include <string>
#include <vector>

#include "common/settings.hpp"

class QFormLayout;
class QLabel;
class QPushButton;
class QToolButton;
class QVBoxLayout;

namespace mirada::gui {

// One entry of a Choice parameter as shown: the stored value, the text in the
// list, whether it can be picked, and its tooltip.
struct ChoiceItem {
    std::string value;
    QString text;
    bool enabled = true;
    QString tooltip;
};

class ParamForm : public QWidget {
    Q_OBJECT
public:
    explicit ParamForm(const ParamSet& table, QWidget* parent = nullptr);

    const ParamSet& values() const { return params_; }
    // Takes every value of `values` whose name exists here and is valid; the
    // names of values that were refused are returned (they keep the current value).
    std::vector<std::string> setValues(const ParamSet& values);
    std::vector<std::string> setValuesFromJson(const nlohmann::json& values);
    // A new table (e.g. the CAM layer list of another model); values still
    // valid in it are kept, the others return to the new defaults.
    void setTable(const ParamSet& table);
    void resetToDefaults();
    // Replaces how a Choice parameter's entries are shown (e.g. the layer tree).
    void setChoiceItems(const std::string& name, const std::vector<ChoiceItem>& items);

    QWidget* editor(const std::string& name) const;  // for tests and focus
    // The settings that differ from their defaults, "samples 150 · kernel width 0.5";
    // "defaults" when none does.
    QString summary() const;

Q_SIGNALS:
    void changed();

private:
    void build();
    void showValue(const std::string& name);
    void takeValue(const std::string& name, const ParamValue& value);

    ParamSet params_;
    QFormLayout* layout_ = nullptr;
    std::map<std::string, QWidget*> editors_;
    std::map<std::string, std::vector<ChoiceItem>> choiceItems_;
    bool updating_ = false;
};

// Collapsed, a section shows one line: its settings that differ from the
// defaults; the arrow (or a click on that line) opens the form.
class MethodSection : public QGroupBox {
    Q_OBJECT
public:
    MethodSection(const std::string& method, const QString& title, const ParamSet& table, QWidget* parent = nullptr);
    const std::string& method() const { return method_; }
    ParamForm* form() const { return form_; }
    QPushButton* resetButton() const { return reset_; }
    // Where more editors go (under the form, above Reset).
    QVBoxLayout* bodyLayout() const { return bodyLayout_; }
    void setExpanded(bool expanded);
    bool isExpanded() const { return expanded_; }
    QString summaryText() const;

private:
    void updateSummary();

    std::string method_;
    ParamForm* form_;
    QPushButton* reset_;
    QWidget* body_ = nullptr;
    QVBoxLayout* bodyLayout_ = nullptr;
    QToolButton* arrow_ = nullptr;
    QLabel* summary_ = nullptr;
    bool expanded_ = true;
};

// "min_size_percent" -> "Min size percent".
QString prettyName(const std::string& name);

}  // namespace mirada::gui
