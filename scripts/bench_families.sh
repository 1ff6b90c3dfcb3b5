#!/usr/bin/env bash
# Images/s of one size of every torchvision family Mirada builds, at batch 16,
# beside plain PyTorch eval of the same weights file (bench --compare-pytorch:
# same input, threads and batch; median of 3 rounds of 32 images each side).
#   scripts/bench_families.sh [FOLDER]   (default build/families-bench)
# Random weights with 1000 classes (tests/fixtures/gen_torchvision_families.py);
# prints a Markdown table for README "Performance".
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${MIRADA_BUILD_DIR:-$ROOT/build}"
DIR="${1:-$BUILD_DIR/families-bench}"
CLI="$BUILD_DIR/src/cli/mirada-cli"
if [ ! -x "$CLI" ]; then
  echo "bench_families: $CLI is missing: run scripts/setup.sh first" >&2
  exit 2
fi
ARCHS=(resnet50 vgg16 densenet121 mobilenet_v2 mobilenet_v3_large efficientnet_b0 convnext_tiny regnet_y_400mf
       alexnet squeezenet1_1 googlenet)
"${MIRADA_PYTHON:-/usr/bin/python3}" "$ROOT/tests/fixtures/gen_torchvision_families.py" "$DIR" --all "${ARCHS[@]}" >&2
echo "| network | Mirada images/s | plain PyTorch eval images/s | ratio | evaluation form |"
echo "|---|---|---|---|---|"
for arch in "${ARCHS[@]}"; do
  out="$("$CLI" bench --device cpu --compare-pytorch --model "$DIR/family-$arch.pth" \
      --image "$ROOT/resources/samples/photo-cat.jpg" --method gradcam --repeat 1 --batch-size 16 --images 32 2>&1)" || {
    echo "bench_families: $arch failed:" >&2
    echo "$out" >&2
    exit 1
  }
  mirada="$(sed -n 's/^  Mirada *\([0-9.]*\) images\/s.*/\1/p' <<<"$out")"
  pytorch="$(sed -n 's/^  PyTorch *\([0-9.]*\) images\/s.*/\1/p' <<<"$out")"
  ratio="$(sed -n 's/^  ratio *\([0-9.]*x\).*/\1/p' <<<"$out")"
  form="$(sed -n 's/^  Mirada *[0-9.]* images\/s *(\([a-z]*\) TorchScript.*/\1/p' <<<"$out")"
  echo "| $arch | $mirada | $pytorch | $ratio | $form |"
done
