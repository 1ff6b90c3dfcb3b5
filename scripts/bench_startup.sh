#!/bin/sh
# Whole-process LIME with 200 samples on ResNet50 (the random-weight test
# fixture, photo-cat.jpg, default settings, batch size auto), as a user runs it:
# the first run with an empty measurement cache, then two with the cache warm
# (bf16 and fp32); then, in the same run, plain PyTorch eval of the same 201
# images at the batch size Mirada measured (scripts/bench_pytorch.py: the model
# work lime_image would do, without its segmentation and Python overhead, so a
# lower bound of lime_image's time).
#
#   scripts/bench_startup.sh [BUILD]      (default BUILD: build)
set -eu
BUILD=${1:-build}
CLI=$BUILD/src/cli/mirada-cli
FX=$BUILD/tests/fixtures
M=$FX/resnet50-zip.pth
IMG=resources/samples/photo-cat.jpg
[ -e "$M" ] || { echo "missing $M: run ctest once to generate the fixtures" >&2; exit 1; }
CACHE=$(mktemp -d)
OUT=$(mktemp -d)
trap 'rm -rf "$CACHE" "$OUT"' EXIT
run() {  # precision -> seconds of the whole process
    s=$(date +%s.%N)
    MIRADA_CACHE_DIR=$CACHE "$CLI" explain --model "$M" --image "$IMG" --methods lime --set lime.samples=200 \
        --precision "$1" --out "$OUT" --quiet >/dev/null 2>&1
    e=$(date +%s.%N)
    awk "BEGIN { printf \"%.2f\", $e - $s }"
}
echo "== $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
batchOf() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['batch_size'])" "$OUT/photo-cat.report.json"; }
cold=$(run bf16)
warm=$(run bf16)
batch=$(batchOf)
cold32=$(run fp32)
warm32=$(run fp32)
batch32=$(batchOf)
echo "mirada-cli explain --methods lime (200 samples), whole process, batch size auto:"
echo "  bf16, empty cache   $cold s"
echo "  bf16, cache warm    $warm s   (batch $batch)"
echo "  fp32, no fp32 entry $cold32 s"
echo "  fp32, cache warm    $warm32 s   (batch $batch32)"
py=$("$CLI" bench --device cpu --compare-pytorch --precision fp32 --model "$M" --image "$IMG" --method lime \
    --samples 200 --batch-size "$batch" --images "$batch" --repeat 1 2>/dev/null | awk '/PyTorch evals/ { print $3 }')
echo "plain PyTorch eval of the same 201 images, batch $batch: $py s"
echo "ratio (whole process / PyTorch evaluations alone): bf16 warm $(awk "BEGIN { printf \"%.2f\", $warm / $py }"), fp32 warm $(awk "BEGIN { printf \"%.2f\", $warm32 / $py }")"
