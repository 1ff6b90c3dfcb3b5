#!/usr/bin/env bash
# The long check of issue 14's native architectures: every torchvision
# classification network Mirada builds (ResNet, ResNeXt, Wide ResNet, VGG with
# and without batch norm, DenseNet, MobileNet V2/V3, EfficientNet B0-B7,
# ConvNeXt, RegNet, AlexNet, SqueezeNet, GoogLeNet: `mirada-cli models`) as
# torchvision 0.14 has them, random weights with 1000 classes, against
# torchvision's logits on the fast and the plain evaluation path, and
# Grad-CAM at the default layer.
#   scripts/check_native_families.sh [FOLDER [NAME_PREFIX ...]]
# (default folder build/families-all; every architecture: ~15 GB of weight
# files; prefixes keep the architectures whose names start with one of them,
# e.g. "densenet regnet_x").
# Needs a build (scripts/setup.sh) and Debian's python3-torchvision.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${MIRADA_BUILD_DIR:-$ROOT/build}"
DIR="${1:-$BUILD_DIR/families-all}"
shift || true
if [ ! -x "$BUILD_DIR/tests/mirada_tests" ]; then
  echo "check_native_families: $BUILD_DIR/tests/mirada_tests is missing: run scripts/setup.sh first" >&2
  exit 2
fi
"${MIRADA_PYTHON:-/usr/bin/python3}" "$ROOT/tests/fixtures/gen_torchvision_families.py" "$DIR" --all "$@"
MIRADA_FAMILIES_DIR="$DIR" MIRADA_FIXTURE_DIR="$BUILD_DIR/tests/fixtures" \
  "$BUILD_DIR/tests/mirada_tests" --gtest_filter='NativeFamilies.TorchvisionFiles*'
