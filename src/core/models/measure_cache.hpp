#pragma once
// What Mirada measures per model and machine (the automatic batch size, the
// evaluation form of a small model) is kept between runs in the user's cache
// folder, so that a second run starts at once. The key names everything the
// measurement depends on: the model's SHA-256, the device, the evaluation path
// and precision, the CPU model and the thread count (measurementKey).
//
// File: <cache folder>/measurements.json, {"version": 1, "entries": {key:
// {"value": ..., "saved": unix seconds}}}, written atomically, at most 256
// entries (the oldest go). A file that cannot be read or parsed, or an entry of
// the wrong shape, is ignored (measured again and overwritten), never an error;
// a cache folder that cannot be written only costs the next run a measurement.
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace mirada {

// $MIRADA_CACHE_DIR, else $XDG_CACHE_HOME/mirada, else $HOME/.cache/mirada; empty when none is known.
std::filesystem::path measurementCacheDir();

// "<what>|<identity>|cpu=<CPU model>|threads=<n>": identity names the model and path.
std::string measurementKey(const std::string& what, const std::string& identity);

// The value stored under key, or nothing (no file, unreadable, no such entry).
std::optional<nlohmann::json> cachedMeasurement(const std::string& key);
// Stores value under key; failures to write are ignored (returns false).
bool storeMeasurement(const std::string& key, const nlohmann::json& value);

}  // namespace mirada
