#pragma once
// One table of parameter descriptions per method (name, type, range, default,
// help) feeds the CLI's --set, the GUI form and the JSON report, so they never
// disagree. Each method keeps its settings in a plain struct whose member
// initialisers are the defaults; its table takes the defaults from that struct.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace mirada {

enum class ParamType { Int, Float, Bool, Choice };
using ParamValue = std::variant<bool, int64_t, double, std::string>;

struct ParamSpec {
    std::string name;  // "samples"
    ParamType type = ParamType::Int;
    ParamValue default_value;          // taken from the settings struct's default
    double min = 0, max = 0;           // Int / Float: inclusive range
    std::vector<std::string> choices;  // Choice: allowed values
    std::string unit;                  // "samples", "px", "" ...
    std::string help;                  // one line, shown as tooltip and in --help
};

// Helpers to write tables briefly.
ParamSpec intParam(std::string name, int64_t def, int64_t min, int64_t max, std::string help, std::string unit = "");
ParamSpec floatParam(std::string name, double def, double min, double max, std::string help, std::string unit = "");
ParamSpec boolParam(std::string name, bool def, std::string help);
ParamSpec choiceParam(std::string name, std::string def, std::vector<std::string> choices, std::string help);

// The values of one group of parameters (a method, or "superpixels"),
// validated against its table.
class ParamSet {
public:
    ParamSet() = default;
    ParamSet(std::string group, std::vector<ParamSpec> specs);  // every value at its default

    const std::string& group() const { return group_; }
    const std::vector<ParamSpec>& specs() const { return specs_; }
    bool has(const std::string& name) const;

    // Parses text for the parameter's type and checks the range/choices. Throws
    // mirada::Error naming "group.name", the value and what is allowed.
    void setFromString(const std::string& name, const std::string& text);
    void set(const std::string& name, const ParamValue& value);
    void resetToDefaults();

    int64_t getInt(const std::string& name) const;
    double getFloat(const std::string& name) const;
    bool getBool(const std::string& name) const;
    const std::string& getChoice(const std::string& name) const;
    const ParamValue& get(const std::string& name) const;

    nlohmann::json toJson() const;  // {"samples": 1000, ...}
    // Table for documentation / GUI: [{"name", "type", "default", "min", "max", "choices", "help"}...]
    nlohmann::json describe() const;

private:
    const ParamSpec& spec(const std::string& name) const;
    std::string group_;
    std::vector<ParamSpec> specs_;
    std::map<std::string, ParamValue> values_;
};

std::string toString(const ParamValue& v);

}  // namespace mirada
