#!/usr/bin/env bash
# Sets up and builds Mirada, then starts the desktop application. On its first
# start it opens the bundled default model (fashion-cnn) with a bundled sample
# image, ready to press Run; later starts reopen the last model and image.
# Arguments are passed to `mirada` (see `mirada --help`), e.g.
#   ./scripts/run.sh --model fashion-cnn resources/samples/fashion-bag.png
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
BUILD_DIR="${MIRADA_BUILD_DIR:-$ROOT/build}"
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && [ -z "${QT_QPA_PLATFORM:-}" ]; then
  echo "run: no display found (DISPLAY is not set); starting Mirada under a virtual X server (xvfb-run)." >&2
  echo "     On a desktop, run this from a graphical session instead." >&2
  exec xvfb-run -a -s "-screen 0 1600x1000x24" "$BUILD_DIR/src/app/mirada" "$@"
fi
exec "$BUILD_DIR/src/app/mirada" "$@"
