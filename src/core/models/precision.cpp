#include "models/precision.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/error.hpp"

namespace mirada {

Precision precisionFromString(const std::string& s) {
    if (s == "fp32") return Precision::Fp32;
    if (s == "bf16") return Precision::Bf16;
    if (s == "auto") return Precision::Auto;
    throw Error("precision '" + s + "' is not known; use fp32, bf16 or auto");
}

std::string toString(Precision p) {
    switch (p) {
        case Precision::Bf16: return "bf16";
        case Precision::Auto: return "auto";
        default: return "fp32";
    }
}

namespace {

// The first "key : value" line of /proc/cpuinfo with this key.
std::string cpuinfoField(const std::string& key) {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string k = line.substr(0, colon);
        while (!k.empty() && (k.back() == ' ' || k.back() == '\t')) k.pop_back();
        if (k != key) continue;
        std::string v = line.substr(colon + 1);
        const auto start = v.find_first_not_of(' ');
        return start == std::string::npos ? std::string() : v.substr(start);
    }
    return {};
}

}  // namespace

bool cpuHasNativeBf16() {
    if (const char* e = std::getenv("MIRADA_CPU_BF16"); e && *e) return std::string(e) != "0";
    // The kernel lists a flag only when the CPU has it and the OS saves its
    // register state, so this is what oneDNN can use.
    static const bool native = [] {
        std::istringstream flags(" " + cpuinfoField("flags") + " ");
        std::string f;
        while (flags >> f)
            if (f == "avx512_bf16" || f == "amx_bf16") return true;
        return false;
    }();
    return native;
}

std::string cpuModelName() {
    static const std::string name = cpuinfoField("model name");
    return name;
}

}  // namespace mirada
