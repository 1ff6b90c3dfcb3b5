#pragma once
// Checks on files from outside before Mirada opens or parses them: only
// regular files (a FIFO or device would block or never end), bounded sizes,
// bounded JSON nesting (a deeply nested document would overflow the stack).
#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace mirada {

// Throws mirada::Error unless `path` is a regular file or a symlink to one.
// `what` names the file's role in the message ("model file", "image", ...).
// Returns the file's size in bytes.
std::uintmax_t requireRegularFile(const std::filesystem::path& path, const std::string& what);

// The first `maxChars` characters of `text`, with "..." when it was longer:
// for values quoted in error messages.
std::string clipForMessage(const std::string& text, std::size_t maxChars = 80);

constexpr int kMaxJsonDepth = 64;

// nlohmann::json::parse with a nesting limit: a document nested deeper than
// `maxDepth` arrays/objects throws mirada::Error naming `source` and the
// limit. Syntax errors throw mirada::Error naming `source` too.
nlohmann::json parseJsonBounded(const std::string& text, const std::string& source, int maxDepth = kMaxJsonDepth);

}  // namespace mirada
