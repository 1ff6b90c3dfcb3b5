#!/bin/sh
# Mirada's evaluation path against plain PyTorch eval on this machine, in one run:
# images/s of ResNet50, VGG16, the bundled fashion-cnn and a TorchScript CNN with a
# skip connection, then LIME with 200 samples on ResNet50 end to end against the
# same evaluations in plain PyTorch. Weights: the random-weight test fixtures
# (ctest generates them into BUILD/tests/fixtures). Run it on a quiet machine.
#
#   scripts/bench_vs_pytorch.sh [BUILD]      (default BUILD: build)
set -eu
BUILD=${1:-build}
CLI=$BUILD/src/cli/mirada-cli
FX=$BUILD/tests/fixtures
IMG=resources/samples/photo-cat.jpg
for f in "$CLI" "$FX/resnet50-zip.pth" "$FX/vgg16-zip.pth" "$FX/residual-cnn.json"; do
    [ -e "$f" ] || { echo "missing $f: build, then run ctest once to generate the fixtures" >&2; exit 1; }
done
echo "== $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== resnet50, batch 32"
"$CLI" bench --device cpu --compare-pytorch --model "$FX/resnet50-zip.pth" --image "$IMG" \
    --method gradcam --repeat 1 --batch-size 32 --images 64 | sed -n '/side by side/,$p'
echo "== vgg16, batch 16"
"$CLI" bench --device cpu --compare-pytorch --model "$FX/vgg16-zip.pth" --image "$IMG" \
    --method gradcam --repeat 1 --batch-size 16 --images 16 | sed -n '/side by side/,$p'
echo "== fashion-cnn, batch 64"
"$CLI" bench --device cpu --compare-pytorch --model fashion-cnn --image resources/samples/fashion-sneaker.png \
    --method gradcam --repeat 1 --batch-size 64 --images 4096 | sed -n '/side by side/,$p'
echo "== residual-cnn (TorchScript, skip connections), batch 64"
"$CLI" bench --device cpu --compare-pytorch --model "$FX/residual-cnn.json" --image "$FX/residual-cnn.image.png" \
    --method gradcam --repeat 1 --batch-size 64 --images 4096 | sed -n '/side by side/,$p'
echo "== LIME, 200 samples, resnet50, batch auto"
"$CLI" bench --device cpu --compare-pytorch --model "$FX/resnet50-zip.pth" --image "$IMG" \
    --method lime --samples 200 --repeat 1 --images 32
