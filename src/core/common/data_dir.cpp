#include "common/data_dir.hpp"

namespace fs = std::filesystem;

namespace mirada {

fs::path executableDir() {
    std::error_code ec;
    const auto exe = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::path() : exe.parent_path();
}

namespace {

// The install prefix of the program in `dir`, or empty when `dir` is not an
// installed layout's program folder.
fs::path prefixOf(const fs::path& dir) {
    if (dir.filename() == "mirada" && dir.parent_path().filename() == "libexec") return dir.parent_path().parent_path();
    if (dir.filename() == "bin") return dir.parent_path();
    return {};
}

}  // namespace

fs::path installedDataDir() {
    const fs::path prefix = prefixOf(executableDir());
    if (prefix.empty()) return {};
    const fs::path data = prefix / "share" / "mirada";
    std::error_code ec;
    return fs::is_directory(data, ec) ? data : fs::path();
}

fs::path dataPath(const std::string& installed, const std::string& source) {
    const fs::path data = installedDataDir();
    if (!data.empty()) return data / installed;
    return fs::path(MIRADA_SOURCE_DIR) / source;
}

}  // namespace mirada
