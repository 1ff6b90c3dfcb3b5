#pragma once
// Writes that never leave a half-written file: write to a temporary file in
// the same folder, flush, then rename over the destination.
#include <filesystem>
#include <string_view>

namespace mirada {
// Throws mirada::Error naming the path on failure; the destination is untouched then.
void writeFileAtomic(const std::filesystem::path& file, std::string_view bytes);
}  // namespace mirada
