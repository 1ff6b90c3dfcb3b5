#include "param_form.hpp"

#include <QLabel>
#include <QToolButton>
#include <QVBoxLayout>
#include "wheel_guard.hpp"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QStandardItemModel>
#include <QVBoxLayout>
#include <cmath>
#include <limits>

#include "common/error.hpp"
#include "qt_image.hpp"

namespace mirada::gui {

QString prettyName(const std::string& name) {
    QString s = qs(name);
    s.replace('_', ' ');
    if (!s.isEmpty()) s[0] = s[0].toUpper();
    return s;
}

namespace {

QString rangeText(const ParamSpec& spec) {
    switch (spec.type) {
        case ParamType::Int:
            return QStringLiteral("%1 to %2")
                .arg(static_cast<qlonglong>(spec.min))
                .arg(static_cast<qlonglong>(spec.max));
        case ParamType::Float: return QStringLiteral("%1 to %2").arg(spec.min).arg(spec.max);
        case ParamType::Bool: return QStringLiteral("on or off");
        case ParamType::Choice: {
            QStringList c;
            for (const auto& v : spec.choices) c << (v.empty() ? QStringLiteral("(default)") : qs(v));
            return c.size() > 8 ? QStringLiteral("%1 choices").arg(c.size()) : c.join(QStringLiteral(", "));
        }
    }
    return {};
}

QString tooltipFor(const ParamSpec& spec) {
    QString def = qs(toString(spec.default_value));
    if (spec.type == ParamType::Choice && def.isEmpty()) def = QStringLiteral("(model default)");
    return QStringLiteral("<p>%1</p><p><i>%2 &middot; default %3</i></p>")
        .arg(qs(spec.help).toHtmlEscaped(), rangeText(spec).toHtmlEscaped(), def.toHtmlEscaped());
}

// Float spin boxes get enough decimals for their range and a step of about 1/100 of it.
void configureDouble(QDoubleSpinBox* box, const ParamSpec& spec) {
    const double span = spec.max - spec.min;
    const int decimals = spec.min > 0 && spec.min < 0.01 ? 6 : (span <= 10 ? 3 : 2);
    box->setDecimals(decimals);
    box->setRange(spec.min, spec.max);
    double step = std::pow(10.0, std::floor(std::log10(std::max(span, 1e-9) / 50)));
    box->setSingleStep(std::max(step, std::pow(10.0, -decimals)));
}

}  // namespace

ParamForm::ParamForm(const ParamSet& table, QWidget* parent) : QWidget(parent), params_(table) {
    layout_ = new QFormLayout(this);
    layout_->setContentsMargins(0, 0, 0, 0);
    layout_->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    build();
}

void ParamForm::build() {
    while (layout_->rowCount() > 0) layout_->removeRow(0);
    editors_.clear();
    for (const auto& spec : params_.specs()) {
        QWidget* editor = nullptr;
        const std::string name = spec.name;
        switch (spec.type) {
            case ParamType::Int: {
                auto* box = new QSpinBox(this);
                const double lo = std::max(spec.min, double(std::numeric_limits<int>::min()));
                const double hi = std::min(spec.max, double(std::numeric_limits<int>::max()));
                box->setRange(static_cast<int>(lo), static_cast<int>(hi));
                if (!spec.unit.empty()) box->setSuffix(QStringLiteral(" ") + qs(spec.unit));
                // Tables say "0 = auto: ..." where zero picks a value itself; show that word.
                if (spec.min == 0 && spec.help.find("0 = auto") != std::string::npos)
                    box->setSpecialValueText(tr("auto"));
                // "0 = all" (the sanity check's layers): say "all", not "0 layers".
                if (spec.min == 0 && spec.help.find("0 = all") != std::string::npos)
                    box->setSpecialValueText(tr("all"));
                // Large sample counts step by 50; the superpixel count (2..2000) by 5; every other count by 1.
                box->setSingleStep(hi - lo > 1000 && spec.unit == "samples"       ? 50
                                   : hi - lo > 1000 && spec.unit == "superpixels" ? 5
                                                                                  : 1);
                box->setAccelerated(true);
                connect(box, &QSpinBox::valueChanged, this,
                        [this, name](int v) { takeValue(name, static_cast<int64_t>(v)); });
                editor = box;
                break;
            }
            case ParamType::Float: {
                auto* box = new QDoubleSpinBox(this);
                configureDouble(box, spec);
                if (!spec.unit.empty()) box->setSuffix(QStringLiteral(" ") + qs(spec.unit));
                connect(box, &QDoubleSpinBox::valueChanged, this, [this, name](double v) { takeValue(name, v); });
                editor = box;
                break;
            }
            case ParamType::Bool: {
                auto* box = new QCheckBox(this);
                connect(box, &QCheckBox::toggled, this, [this, name](bool v) { takeValue(name, v); });
                editor = box;
                break;
            }
            case ParamType::Choice: {
                auto* box = new QComboBox(this);
                box->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
                box->setMinimumContentsLength(12);
                const auto custom = choiceItems_.find(name);
                if (custom != choiceItems_.end()) {
                    auto* model = new QStandardItemModel(box);
                    for (const auto& item : custom->second) {
                        auto* it = new QStandardItem(item.text);
                        it->setData(qs(item.value), Qt::UserRole);
                        it->setEnabled(item.enabled);
                        if (!item.tooltip.isEmpty()) it->setToolTip(item.tooltip);
                        model->appendRow(it);
                    }
                    box->setModel(model);
                } else {
                    for (const auto& c : spec.choices) box->addItem(c.empty() ? tr("(default)") : qs(c), qs(c));
                }
                connect(box, &QComboBox::currentIndexChanged, this, [this, name, box](int i) {
                    if (i >= 0) takeValue(name, ss(box->itemData(i, Qt::UserRole).toString()));
                });
                editor = box;
                break;
            }
        }
        editor->setObjectName(qs(params_.group() + "." + name));
        WheelGuard::guard(editor);  // the wheel changes a value only after a click or Tab into it
        editor->setToolTip(tooltipFor(spec));
        auto* label = new QLabel(prettyName(name), this);
        label->setToolTip(editor->toolTip());
        label->setBuddy(editor);
        layout_->addRow(label, editor);
        editors_[name] = editor;
        showValue(name);
    }
}

void ParamForm::showValue(const std::string& name) {
    QWidget* w = editors_.at(name);
    const ParamValue& v = params_.get(name);
    updating_ = true;
    if (auto* box = qobject_cast<QSpinBox*>(w))
        box->setValue(static_cast<int>(std::get<int64_t>(v)));
    else if (auto* box = qobject_cast<QDoubleSpinBox*>(w))
        box->setValue(std::get<double>(v));
    else if (auto* box = qobject_cast<QCheckBox*>(w))
        box->setChecked(std::get<bool>(v));
    else if (auto* box = qobject_cast<QComboBox*>(w))
        box->setCurrentIndex(box->findData(qs(std::get<std::string>(v)), Qt::UserRole));
    updating_ = false;
}

void ParamForm::takeValue(const std::string& name, const ParamValue& value) {
    if (updating_) return;
    try {
        params_.set(name, value);
    } catch (const Error&) {
        showValue(name);  // editors keep to the table's range; anything else is put back
        return;
    }
    Q_EMIT changed();
}

std::vector<std::string> ParamForm::setValues(const ParamSet& values) {
    std::vector<std::string> refused;
    for (const auto& spec : values.specs()) {
        if (!params_.has(spec.name)) continue;
        try {
            params_.set(spec.name, values.get(spec.name));
            showValue(spec.name);
        } catch (const Error&) {
            refused.push_back(spec.name);
        }
    }
    Q_EMIT changed();
    return refused;
}

std::vector<std::string> ParamForm::setValuesFromJson(const nlohmann::json& values) {
    std::vector<std::string> refused;
    if (!values.is_object()) return refused;
    for (const auto& [name, v] : values.items()) {
        if (!params_.has(name)) {
            refused.push_back(name);
            continue;
        }
        try {
            params_.setFromString(name, v.is_string() ? v.get<std::string>() : v.dump());
            showValue(name);
        } catch (const Error&) {
            refused.push_back(name);
        }
    }
    Q_EMIT changed();
    return refused;
}

void ParamForm::setTable(const ParamSet& table) {
    const ParamSet old = params_;
    params_ = table;
    for (const auto& spec : old.specs()) {
        if (!params_.has(spec.name)) continue;
        try {
            params_.set(spec.name, old.get(spec.name));
        } catch (const Error&) {
        }
    }
    build();
    Q_EMIT changed();
}

void ParamForm::resetToDefaults() {
    params_.resetToDefaults();
    for (const auto& spec : params_.specs()) showValue(spec.name);
    Q_EMIT changed();
}

void ParamForm::setChoiceItems(const std::string& name, const std::vector<ChoiceItem>& items) {
    choiceItems_[name] = items;
    build();
}

QString ParamForm::summary() const {
    QStringList parts;
    const nlohmann::json now = params_.toJson();
    for (const auto& d : params_.describe()) {
        const std::string name = d.value("name", std::string());
        if (!now.contains(name) || !d.contains("default") || now[name] == d["default"]) continue;
        const auto& v = now[name];
        QString value;
        if (v.is_number_float())
            value = QString::number(v.get<double>(), 'g', 3);
        else if (v.is_string())
            value = v.get<std::string>().empty() ? tr("(default)") : qs(v.get<std::string>());
        else
            value = qs(v.dump());
        if (v.is_number_integer() && v.get<int64_t>() == 0) {
            // Zero often means "choose for me": say what the editor says.
            if (const auto* box = qobject_cast<const QSpinBox*>(editor(name));
                box && !box->specialValueText().isEmpty())
                value = box->specialValueText();
        }
        parts << QStringLiteral("%1 %2").arg(prettyName(name).toLower(), value);
    }
    return parts.isEmpty() ? tr("defaults") : parts.join(QStringLiteral(" · "));
}

QWidget* ParamForm::editor(const std::string& name) const {
    const auto it = editors_.find(name);
    return it == editors_.end() ? nullptr : it->second;
}

MethodSection::MethodSection(const std::string& method, const QString& title, const ParamSet& table, QWidget* parent)
    : QGroupBox(title, parent), method_(method) {
    setObjectName(qs("section." + method));
    setCheckable(true);
    auto* v = new QVBoxLayout(this);
    // The header line: the arrow and, collapsed, what is not at its default.
    auto* header = new QHBoxLayout;
    arrow_ = new QToolButton(this);
    arrow_->setObjectName(qs("expand." + method));
    arrow_->setAutoRaise(true);
    arrow_->setArrowType(Qt::DownArrow);
    arrow_->setToolTip(tr("Show or hide the %1 settings").arg(title));
    header->addWidget(arrow_);
    summary_ = new QLabel(this);
    summary_->setObjectName(qs("summary." + method));
    summary_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    summary_->setStyleSheet(QStringLiteral("color: #444444;"));
    header->addWidget(summary_, 1);
    v->addLayout(header);
    body_ = new QWidget(this);
    bodyLayout_ = new QVBoxLayout(body_);
    bodyLayout_->setContentsMargins(0, 0, 0, 0);
    form_ = new ParamForm(table, body_);
    bodyLayout_->addWidget(form_);
    reset_ = new QPushButton(tr("Reset to defaults"), body_);
    reset_->setObjectName(qs("reset." + method));
    reset_->setToolTip(tr("Put every %1 setting back to its default").arg(title));
    auto* row = new QHBoxLayout;
    row->addStretch();
    row->addWidget(reset_);
    bodyLayout_->addLayout(row);
    v->addWidget(body_);
    connect(reset_, &QPushButton::clicked, form_, &ParamForm::resetToDefaults);
    connect(arrow_, &QToolButton::clicked, this, [this]() { setExpanded(!expanded_); });
    connect(form_, &ParamForm::changed, this, &MethodSection::updateSummary);
    updateSummary();
}

void MethodSection::setExpanded(bool expanded) {
    expanded_ = expanded;
    body_->setVisible(expanded);
    arrow_->setArrowType(expanded ? Qt::DownArrow : Qt::RightArrow);
    updateSummary();
}

QString MethodSection::summaryText() const { return form_->summary(); }

void MethodSection::updateSummary() {
    const QString text = form_->summary();
    summary_->setText(expanded_ ? QString() : text);
    summary_->setToolTip(text);
}

}  // namespace mirada::gui
