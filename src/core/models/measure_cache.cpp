#include "models/measure_cache.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <vector>

#include "common/atomic_file.hpp"
#include "models/precision.hpp"

namespace mirada {
namespace fs = std::filesystem;

namespace {

constexpr int kVersion = 1;
constexpr size_t kMaxEntries = 256;
constexpr uintmax_t kMaxFileBytes = 4u << 20;  // a bigger file is not ours (or is damaged): ignored
std::mutex g_mutex;                            // one writer per process

fs::path cacheFile() {
    const fs::path dir = measurementCacheDir();
    return dir.empty() ? fs::path() : dir / "measurements.json";
}

// The entries of the file, or an empty object for anything unexpected.
nlohmann::json readEntries(const fs::path& file) {
    try {
        std::error_code ec;
        if (file.empty() || !fs::is_regular_file(file, ec) || fs::file_size(file, ec) > kMaxFileBytes || ec)
            return nlohmann::json::object();
        std::ifstream in(file, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        const nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
        if (!j.is_object() || !j.contains("version") || j["version"] != kVersion || !j.contains("entries") ||
            !j["entries"].is_object())
            return nlohmann::json::object();
        return j["entries"];
    } catch (const std::exception&) {
        return nlohmann::json::object();
    }
}

}  // namespace

fs::path measurementCacheDir() {
    if (const char* d = std::getenv("MIRADA_CACHE_DIR"); d && *d) return fs::path(d);
    if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return fs::path(x) / "mirada";
    if (const char* h = std::getenv("HOME"); h && *h) return fs::path(h) / ".cache" / "mirada";
    return {};
}

std::string measurementKey(const std::string& what, const std::string& identity) {
    return what + "|" + identity + "|cpu=" + cpuModelName() + "|threads=" + std::to_string(torch::get_num_threads());
}

std::optional<nlohmann::json> cachedMeasurement(const std::string& key) {
    std::lock_guard<std::mutex> lock(g_mutex);
    const nlohmann::json entries = readEntries(cacheFile());
    const auto it = entries.find(key);
    if (it == entries.end() || !it->is_object() || !it->contains("value")) return std::nullopt;
    return (*it)["value"];
}

bool storeMeasurement(const std::string& key, const nlohmann::json& value) {
    std::lock_guard<std::mutex> lock(g_mutex);
    const fs::path file = cacheFile();
    if (file.empty()) return false;
    try {
        nlohmann::json entries = readEntries(file);
        const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
        entries[key] = {{"value", value}, {"saved", now}};
        if (entries.size() > kMaxEntries) {
            std::vector<std::pair<double, std::string>> byAge;
            for (auto it = entries.begin(); it != entries.end(); ++it)
                byAge.emplace_back(it->is_object() && it->contains("saved") && (*it)["saved"].is_number()
                                       ? (*it)["saved"].get<double>()
                                       : 0.0,
                                   it.key());
            std::sort(byAge.begin(), byAge.end());
            for (size_t i = 0; i + kMaxEntries < byAge.size(); ++i) entries.erase(byAge[i].second);
        }
        std::error_code ec;
        fs::create_directories(file.parent_path(), ec);
        const nlohmann::json doc = {{"version", kVersion}, {"entries", entries}};
        writeFileAtomic(file, doc.dump(1));
        return true;
    } catch (const std::exception&) {
        return false;  // a read-only or full cache folder: the next run measures again
    }
}

}  // namespace mirada
