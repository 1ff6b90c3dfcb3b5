#!/usr/bin/env bash
# Sets up and builds Mirada, then runs it on the bundled default model.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
BUILD_DIR="${MIRADA_BUILD_DIR:-$ROOT/build}"
exec "$BUILD_DIR/src/cli/mirada-cli" predict --model fashion-cnn --image "$ROOT/resources/samples/fashion-sneaker.png" "$@"
