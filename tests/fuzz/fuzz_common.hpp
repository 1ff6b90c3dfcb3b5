#pragma once
// Shared by the fuzz targets (tests/fuzz/fuzz_*.cpp).
//
// Most of Mirada's readers take a path, so the harness writes each input into a
// private folder made once per process with mkdtemp (mode 0700; several fuzzer
// processes never share one) and hands the reader that file. The folder is
// removed at a normal exit; after a crash it stays in $TMPDIR (or /tmp) as
// mirada-fuzz-XXXXXX, next to the crashing input that libFuzzer saved anyway.
//
// FUZZ_CHECK turns a broken promise of a reader (an invariant its header
// documents) into a finding: libFuzzer reports the abort and saves the input.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

#include <unistd.h>

#define FUZZ_CHECK(cond, what)                                                                              \
    do {                                                                                                    \
        if (!(cond)) {                                                                                      \
            std::fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s (%s)\n", __FILE__, __LINE__, #cond, what); \
            std::abort();                                                                                   \
        }                                                                                                   \
    } while (0)

namespace mirada_fuzz {

namespace detail {
inline std::string& dirString() {
    static std::string dir;
    return dir;
}
inline void removeDir() {
    std::error_code ec;  // best effort: never throw from atexit
    if (!dirString().empty()) std::filesystem::remove_all(dirString(), ec);
}
}  // namespace detail

// The process's private temporary folder (made on first use).
inline const std::filesystem::path& tempDir() {
    static const std::filesystem::path dir = [] {
        const char* base = std::getenv("TMPDIR");
        std::string tmpl = std::string(base && *base ? base : "/tmp") + "/mirada-fuzz-XXXXXX";
        if (!mkdtemp(tmpl.data())) {
            std::perror("fuzz harness: mkdtemp");
            std::_Exit(2);  // an environment problem, not a finding
        }
        detail::dirString() = tmpl;
        std::atexit(detail::removeDir);
        return std::filesystem::path(tmpl);
    }();
    return dir;
}

// Writes `size` bytes to tempDir()/name (replacing it) and returns its path.
inline std::filesystem::path writeFile(const char* name, const void* data, std::size_t size) {
    const std::filesystem::path p = tempDir() / name;
    std::FILE* f = std::fopen(p.c_str(), "wb");
    if (!f || (size > 0 && std::fwrite(data, 1, size, f) != size) || std::fclose(f) != 0) {
        std::perror(("fuzz harness: cannot write " + p.string()).c_str());
        std::_Exit(2);  // disk full or similar: not a finding
    }
    return p;
}

inline std::filesystem::path writeFile(const char* name, const std::string& text) {
    return writeFile(name, text.data(), text.size());
}

}  // namespace mirada_fuzz
