#pragma once
#include <cstddef>
#include <filesystem>
#include <string>

namespace mirada {
// Lower-case hex SHA-256 of a memory block / a whole file (OpenSSL).
std::string sha256Hex(const void* data, std::size_t size);
std::string sha256File(const std::filesystem::path& file);  // throws mirada::Error
}  // namespace mirada
