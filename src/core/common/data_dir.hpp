#pragma once
// Where Mirada's read-only data is: the bundled models, the sample images and
// the helper scripts. An installed Mirada (cmake/MiradaInstall.cmake, the
// .deb) keeps it in <prefix>/share/mirada, and its programs in <prefix>/bin
// (the launchers) and <prefix>/libexec/mirada (mirada.bin, mirada-cli.bin).
// A program run from the build tree uses the source tree's folders instead.
#include <filesystem>
#include <string>

namespace mirada {

// The folder of the running program (/proc/self/exe); empty when unknown.
std::filesystem::path executableDir();

// <prefix>/share/mirada when the running program is installed: it is in
// <prefix>/libexec/mirada or <prefix>/bin, and that folder exists. Empty
// otherwise (a build tree).
std::filesystem::path installedDataDir();

// A folder of data: `installed` under installedDataDir() for an installed
// program (even when missing: an installed program never falls back to the
// tree it was built from), else `source` under the source tree
// (MIRADA_SOURCE_DIR). For example dataPath("samples", "resources/samples").
std::filesystem::path dataPath(const std::string& installed, const std::string& source);

}  // namespace mirada
