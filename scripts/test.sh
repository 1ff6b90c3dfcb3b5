#!/usr/bin/env bash
# Sets up and builds Mirada, then runs the whole test suite with ctest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
BUILD_DIR="${MIRADA_BUILD_DIR:-$ROOT/build}"
cd "$BUILD_DIR"
exec ctest --output-on-failure -j "$(nproc 2>/dev/null || echo 2)" "$@"
