#pragma once
// Small helpers shared by the unit tests.
#include <gtest/gtest.h>

#include "common/error.hpp"

#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace mirada::test {

inline std::filesystem::path fixtureDir() { return std::filesystem::path(MIRADA_FIXTURE_DIR); }
inline std::filesystem::path sourceDir() { return std::filesystem::path(MIRADA_SOURCE_DIR); }

// A fresh folder under the system temp dir, removed at the end of the test.
class TempDir {
public:
    TempDir() {
        std::random_device rd;
        path_ = std::filesystem::temp_directory_path() / ("mirada-test-" + std::to_string(rd()) + std::to_string(rd()));
        std::filesystem::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

inline void writeText(const std::filesystem::path& p, const std::string& text) {
    std::ofstream out(p, std::ios::binary);
    out << text;
}

// Reads a raw little-endian float32 file.
inline std::vector<float> readFloats(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<float> v(bytes.size() / sizeof(float));
    std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
    return v;
}

// Runs a command, returns its exit code and captures stdout+stderr.
inline int runCommand(const std::string& cmd, std::string* output) {
    std::string full = cmd + " 2>&1";
    FILE* pipe = popen(full.c_str(), "r");
    if (!pipe) return -1;
    char buf[4096];
    std::string out;
    while (size_t n = fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
    int status = pclose(pipe);
    if (output) *output = out;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The message of the mirada::Error that f throws, or "" when it throws none.
inline std::string errorOf(const std::function<void()>& f) {
    try {
        f();
    } catch (const mirada::Error& e) {
        return e.what();
    }
    return "";
}

// The whole file as bytes ("" when missing).
inline std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A sample image shipped in resources/samples/.
inline std::string samplePath(const std::string& name) {
    return (sourceDir() / "resources" / "samples" / name).string();
}

// Command-line cases that must fail: exit code != 0, a message naming
// `mustMention`, and no crash ("terminate").
struct CliErrorCase {
    std::string args;
    std::string mustMention;
};
inline void expectCliErrors(const std::string& base, const std::vector<CliErrorCase>& cases) {
    for (const auto& c : cases) {
        std::string log;
        const int rc = runCommand(base + c.args, &log);
        EXPECT_NE(rc, 0) << c.args;
        EXPECT_NE(log.find(c.mustMention), std::string::npos) << c.args << " -> " << log;
        EXPECT_EQ(log.find("terminate"), std::string::npos) << log;
    }
}

#define MIRADA_REQUIRE_FIXTURE(path)                                                                   \
    do {                                                                                               \
        ASSERT_TRUE(std::filesystem::exists(path)) << "fixture missing: " << (path) << " (run ctest)"; \
    } while (0)

}  // namespace mirada::test
