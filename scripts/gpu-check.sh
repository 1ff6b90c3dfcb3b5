#!/usr/bin/env bash
# Builds Mirada's core, CLI and tests against the CUDA LibTorch of this
# machine's PyTorch, runs the GPU-labelled tests and the CUDA benchmark, and
# prints the figures. For the H100/H200 machine described in shared/gpu-machine.md
# or any machine with a CUDA PyTorch (python3 -c 'import torch' must work).
#
# Needs, besides LibTorch: a C++17 compiler, CMake, Ninja, Eigen, OpenCV 4 with
# the contrib module ximgproc (core, imgproc, imgcodecs, ximgproc), nlohmann-json,
# CLI11, OpenSSL, zlib and GoogleTest. Set MIRADA_DEPS_PREFIX to a folder with
# any of them unpacked (e.g. Debian packages extracted with `dpkg -x`).
# Writes its log to ${OUT:-.}/gpu-check.log.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT_DIR="${OUT:-$ROOT}"
LOG="$OUT_DIR/gpu-check.log"
BUILD_DIR="${MIRADA_GPU_BUILD_DIR:-$ROOT/build-gpu}"
PY="${PYTHON:-python3}"
exec > >(tee "$LOG") 2>&1

TORCH_PREFIX="$("$PY" -c 'import torch; print(torch.utils.cmake_prefix_path)')"
"$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "device", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none")'
PREFIX="$TORCH_PREFIX${MIRADA_DEPS_PREFIX:+;$MIRADA_DEPS_PREFIX}"
if [ -n "${MIRADA_DEPS_PREFIX:-}" ]; then export LD_LIBRARY_PATH="$MIRADA_DEPS_PREFIX/lib:$MIRADA_DEPS_PREFIX/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"; fi

cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$PREFIX" \
  -DMIRADA_BUILD_GUI=OFF -DMIRADA_BUILD_GPU_TESTS=ON -DMIRADA_PYTHON="$(command -v "$PY")"
cmake --build "$BUILD_DIR" --parallel "$(nproc)" --target mirada-cli mirada_gpu_tests

echo "== GPU-labelled tests"
(cd "$BUILD_DIR" && ctest -L gpu --output-on-failure)

echo "== Benchmark (random torchvision weights, 224x224, 50 superpixels, device cuda)"
W="$BUILD_DIR/gpu-weights"
mkdir -p "$W"
"$PY" - "$W" <<'PYEOF'
import sys, torch, torchvision
torch.manual_seed(0)
for name in ("resnet50", "vgg16"):
    torch.save(getattr(torchvision.models, name)().state_dict(), f"{sys.argv[1]}/{name}-random.pth")
PYEOF
CLI="$BUILD_DIR/src/cli/mirada-cli"
IMG="$ROOT/resources/samples/photo-cat.jpg"
for model in resnet50 vgg16; do
  for spec in "gradcam 0 20" "lime 1000 3" "kernelshap 2048 3"; do
    set -- $spec
    echo "-- $model $1 samples=$2"
    "$CLI" bench --device cuda --model "$W/$model-random.pth" --image "$IMG" --method "$1" \
      --samples "$2" --repeat "$3" --set superpixels.count=50
  done
done
