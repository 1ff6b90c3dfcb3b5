#include "common/settings.hpp"

#include <cmath>
#include <sstream>

#include "common/error.hpp"

namespace mirada {

ParamSpec intParam(std::string name, int64_t def, int64_t min, int64_t max, std::string help, std::string unit) {
    ParamSpec s;
    s.name = std::move(name);
    s.type = ParamType::Int;
    s.default_value = def;
    s.min = static_cast<double>(min);
    s.max = static_cast<double>(max);
    s.help = std::move(help);
    s.unit = std::move(unit);
    return s;
}

ParamSpec floatParam(std::string name, double def, double min, double max, std::string help, std::string unit) {
    ParamSpec s;
    s.name = std::move(name);
    s.type = ParamType::Float;
    s.default_value = def;
    s.min = min;
    s.max = max;
    s.help = std::move(help);
    s.unit = std::move(unit);
    return s;
}

ParamSpec boolParam(std::string name, bool def, std::string help) {
    ParamSpec s;
    s.name = std::move(name);
    s.type = ParamType::Bool;
    s.default_value = def;
    s.help = std::move(help);
    return s;
}

ParamSpec choiceParam(std::string name, std::string def, std::vector<std::string> choices, std::string help) {
    ParamSpec s;
    s.name = std::move(name);
    s.type = ParamType::Choice;
    s.default_value = std::move(def);
    s.choices = std::move(choices);
    s.help = std::move(help);
    return s;
}

std::string toString(const ParamValue& v) {
    if (std::holds_alternative<bool>(v)) return std::get<bool>(v) ? "true" : "false";
    if (std::holds_alternative<int64_t>(v)) return std::to_string(std::get<int64_t>(v));
    if (std::holds_alternative<double>(v)) {
        std::ostringstream ss;
        ss << std::get<double>(v);
        return ss.str();
    }
    return std::get<std::string>(v);
}

ParamSet::ParamSet(std::string group, std::vector<ParamSpec> specs)
    : group_(std::move(group)), specs_(std::move(specs)) {
    resetToDefaults();
}

void ParamSet::resetToDefaults() {
    values_.clear();
    for (const auto& s : specs_) values_[s.name] = s.default_value;
}

bool ParamSet::has(const std::string& name) const { return values_.count(name) > 0; }

const ParamSpec& ParamSet::spec(const std::string& name) const {
    for (const auto& s : specs_)
        if (s.name == name) return s;
    std::string names;
    for (const auto& s : specs_) names += (names.empty() ? "" : ", ") + s.name;
    throw Error("unknown setting '" + group_ + "." + name + "'; " + group_ + " has: " + names);
}

namespace {
std::string rangeText(const ParamSpec& s) {
    std::ostringstream ss;
    if (s.type == ParamType::Int)
        ss << static_cast<int64_t>(s.min) << " to " << static_cast<int64_t>(s.max);
    else
        ss << s.min << " to " << s.max;
    return ss.str();
}
}  // namespace

void ParamSet::set(const std::string& name, const ParamValue& value) {
    const auto& s = spec(name);
    const std::string full = group_ + "." + name;
    switch (s.type) {
        case ParamType::Int: {
            int64_t v;
            if (std::holds_alternative<int64_t>(value)) {
                v = std::get<int64_t>(value);
            } else if (std::holds_alternative<double>(value) &&
                       std::floor(std::get<double>(value)) == std::get<double>(value)) {
                v = static_cast<int64_t>(std::get<double>(value));
            } else {
                throw Error(full + " must be a whole number, got " + toString(value));
            }
            if (v < s.min || v > s.max)
                throw Error(full + " = " + std::to_string(v) + " is out of range; allowed: " + rangeText(s));
            values_[name] = v;
            break;
        }
        case ParamType::Float: {
            double v;
            if (std::holds_alternative<double>(value))
                v = std::get<double>(value);
            else if (std::holds_alternative<int64_t>(value))
                v = static_cast<double>(std::get<int64_t>(value));
            else
                throw Error(full + " must be a number, got " + toString(value));
            if (!std::isfinite(v) || v < s.min || v > s.max)
                throw Error(full + " = " + toString(value) + " is out of range; allowed: " + rangeText(s));
            values_[name] = v;
            break;
        }
        case ParamType::Bool:
            if (!std::holds_alternative<bool>(value))
                throw Error(full + " must be true or false, got " + toString(value));
            values_[name] = value;
            break;
        case ParamType::Choice: {
            if (!std::holds_alternative<std::string>(value)) throw Error(full + " must be one of its choices");
            const auto& v = std::get<std::string>(value);
            bool ok = false;
            for (const auto& c : s.choices) ok = ok || c == v;
            if (!ok) {
                std::string list;
                for (const auto& c : s.choices) list += (list.empty() ? "" : ", ") + c;
                throw Error(full + " = '" + v + "' is not a valid choice; use one of: " + list);
            }
            values_[name] = value;
            break;
        }
    }
}

void ParamSet::setFromString(const std::string& name, const std::string& text) {
    const auto& s = spec(name);
    const std::string full = group_ + "." + name;
    switch (s.type) {
        case ParamType::Int: {
            size_t used = 0;
            long long v = 0;
            try {
                v = std::stoll(text, &used);
            } catch (const std::exception&) {
                used = 0;
            }
            if (used == 0 || used != text.size()) throw Error(full + " must be a whole number, got '" + text + "'");
            set(name, static_cast<int64_t>(v));
            break;
        }
        case ParamType::Float: {
            size_t used = 0;
            double v = 0;
            try {
                v = std::stod(text, &used);
            } catch (const std::exception&) {
                used = 0;
            }
            if (used == 0 || used != text.size()) throw Error(full + " must be a number, got '" + text + "'");
            set(name, v);
            break;
        }
        case ParamType::Bool:
            if (text == "true" || text == "1" || text == "on" || text == "yes")
                set(name, true);
            else if (text == "false" || text == "0" || text == "off" || text == "no")
                set(name, false);
            else
                throw Error(full + " must be true or false, got '" + text + "'");
            break;
        case ParamType::Choice: set(name, text); break;
    }
}

const ParamValue& ParamSet::get(const std::string& name) const {
    spec(name);
    return values_.at(name);
}
int64_t ParamSet::getInt(const std::string& name) const { return std::get<int64_t>(get(name)); }
double ParamSet::getFloat(const std::string& name) const { return std::get<double>(get(name)); }
bool ParamSet::getBool(const std::string& name) const { return std::get<bool>(get(name)); }
const std::string& ParamSet::getChoice(const std::string& name) const { return std::get<std::string>(get(name)); }

namespace {
nlohmann::json toJsonValue(const ParamValue& v) {
    if (std::holds_alternative<bool>(v)) return std::get<bool>(v);
    if (std::holds_alternative<int64_t>(v)) return std::get<int64_t>(v);
    if (std::holds_alternative<double>(v)) return std::get<double>(v);
    return std::get<std::string>(v);
}
const char* typeName(ParamType t) {
    switch (t) {
        case ParamType::Int: return "int";
        case ParamType::Float: return "float";
        case ParamType::Bool: return "bool";
        case ParamType::Choice: return "choice";
    }
    return "?";
}
}  // namespace

nlohmann::json ParamSet::toJson() const {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& s : specs_) j[s.name] = toJsonValue(values_.at(s.name));
    return j;
}

nlohmann::json ParamSet::describe() const {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& s : specs_) {
        nlohmann::json e{
            {"name", s.name}, {"type", typeName(s.type)}, {"default", toJsonValue(s.default_value)}, {"help", s.help}};
        if (s.type == ParamType::Int || s.type == ParamType::Float) {
            e["min"] = s.min;
            e["max"] = s.max;
        }
        if (s.type == ParamType::Choice) e["choices"] = s.choices;
        if (!s.unit.empty()) e["unit"] = s.unit;
        arr.push_back(e);
    }
    return arr;
}

}  // namespace mirada
