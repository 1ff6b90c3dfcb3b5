#include "common/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <string>

#include "common/error.hpp"

namespace mirada {
namespace {
// Removes the temporary file unless released (RAII, so every exit path cleans up).
struct TempFileGuard {
    std::filesystem::path path;
    bool armed = true;
    ~TempFileGuard() {
        if (armed) {
            std::error_code ec;
            std::filesystem::remove(path, ec);
        }
    }
};
}  // namespace

void writeFileAtomic(const std::filesystem::path& file, std::string_view bytes) {
    const auto dir = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
    std::random_device rd;
    const auto tmp = dir / ("." + file.filename().string() + ".tmp-" + std::to_string(rd()));
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        throw Error("cannot write '" + file.string() + "': " + std::strerror(errno) +
                    " (check that the folder exists and is writable)");
    TempFileGuard guard{tmp};
    const char* p = bytes.data();
    std::size_t left = bytes.size();
    while (left > 0) {
        ssize_t n = ::write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            ::close(fd);
            throw Error("cannot write '" + file.string() + "': " + std::strerror(e) +
                        " (is the disk full?); the existing file, if any, is unchanged");
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0)
        throw Error("cannot finish writing '" + file.string() + "': " + std::strerror(errno));
    if (::rename(tmp.c_str(), file.c_str()) != 0)
        throw Error("cannot replace '" + file.string() + "': " + std::strerror(errno));
    guard.armed = false;
}
}  // namespace mirada
