#include "common/file_checks.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "common/error.hpp"

namespace mirada {

std::uintmax_t requireRegularFile(const std::filesystem::path& path, const std::string& what) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        const int err = errno;
        if (err == ELOOP)
            throw Error("the " + what + " '" + path.string() +
                        "' is a symbolic link that loops (too many levels of links); point it at a real file");
        if (err == ENOENT || err == ENOTDIR) {
            struct stat lst {};
            if (::lstat(path.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode))
                throw Error("the " + what + " '" + path.string() +
                            "' is a symbolic link to a file that does not exist; point it at a real file");
            throw Error("the " + what + " '" + path.string() + "' does not exist; check the path");
        }
        throw Error("cannot read the " + what + " '" + path.string() + "': " + std::strerror(err));
    }
    if (!S_ISREG(st.st_mode)) {
        const char* kind = S_ISDIR(st.st_mode)    ? "a folder"
                           : S_ISFIFO(st.st_mode) ? "a named pipe (FIFO)"
                           : S_ISCHR(st.st_mode)  ? "a character device"
                           : S_ISBLK(st.st_mode)  ? "a block device"
                           : S_ISSOCK(st.st_mode) ? "a socket"
                                                  : "not a regular file";
        throw Error("the " + what + " '" + path.string() + "' is " + kind +
                    ", not a regular file; give the path of a file on disk");
    }
    return static_cast<std::uintmax_t>(st.st_size);
}

std::string clipForMessage(const std::string& text, std::size_t maxChars) {
    if (text.size() <= maxChars) return text;
    return text.substr(0, maxChars) + "...";
}

nlohmann::json parseJsonBounded(const std::string& text, const std::string& source, int maxDepth) {
    nlohmann::json::parser_callback_t cb = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
        if ((event == nlohmann::json::parse_event_t::object_start ||
             event == nlohmann::json::parse_event_t::array_start) &&
            depth >= maxDepth) {
            throw Error(source + " nests arrays/objects more than " + std::to_string(maxDepth) +
                        " levels deep, the most Mirada reads; flatten the JSON");
        }
        return true;
    };
    try {
        return nlohmann::json::parse(text, cb);
    } catch (const Error&) {
        throw;
    } catch (const nlohmann::json::exception& e) {
        throw Error(source + " is not valid JSON (" + clipForMessage(e.what(), 160) + "); fix or rewrite it");
    }
}

}  // namespace mirada
