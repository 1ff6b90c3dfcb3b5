#!/usr/bin/env bash
# Installs what Mirada needs on Debian 12 (only packages that are missing),
# then configures and builds it incrementally in ./build.
# Used by scripts/run.sh and scripts/test.sh; safe to run again.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${MIRADA_BUILD_DIR:-$ROOT/build}"

PACKAGES=(
  g++ cmake ninja-build pkg-config git ca-certificates
  libtorch-dev libopencv-dev libopencv-contrib-dev libeigen3-dev
  qt6-base-dev qt6-charts-dev qt6-svg-dev nlohmann-json3-dev libcli11-dev libssl-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev clang-format
  python3 python3-numpy python3-pil python3-torch python3-torchvision dataset-fashion-mnist
  xvfb xauth fonts-dejavu-core librsvg2-bin desktop-file-utils
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "setup: not root and no sudo: install these packages as root: ${PACKAGES[*]}" >&2; exit 1
  fi
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then missing+=("$p"); fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

JOBS="$(nproc 2>/dev/null || echo 2)"
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release ${MIRADA_CMAKE_ARGS:-}
fi
cmake --build "$BUILD_DIR" --parallel "$JOBS"
