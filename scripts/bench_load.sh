#!/bin/sh
# Steadiness under load (issue 15): the bundled model's LIME + KernelSHAP
# (`explain --methods lime,kernelshap`, default settings), whole process, timed
# on an idle machine and next to one busy competing process (`yes > /dev/null`,
# one core), median of RUNS runs each, interleaved. With a second CLI (e.g. a
# build of an earlier commit) both are timed side by side in the same rounds.
#
#   scripts/bench_load.sh [CLI [OTHER_CLI]] [RUNS]     (default CLI: build/src/cli/mirada-cli, RUNS: 7)
set -eu
CLI=${1:-build/src/cli/mirada-cli}
OTHER=${2:-}
RUNS=${3:-7}
IMG=resources/samples/fashion-sneaker.png
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"; [ -n "${BUSY:-}" ] && kill "$BUSY" 2>/dev/null || true' EXIT
one() {  # seconds of one whole-process run
    s=$(date +%s.%N)
    "$1" explain --model fashion-cnn --image "$IMG" --methods lime,kernelshap --out "$OUT" --quiet >/dev/null
    e=$(date +%s.%N)
    awk "BEGIN { printf \"%.3f\\n\", $e - $s }"
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "== $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$CLI" explain --model fashion-cnn --image "$IMG" --methods lime,kernelshap --out "$OUT" --quiet >/dev/null  # warm caches
for mode in idle busy; do
    if [ "$mode" = busy ]; then yes > /dev/null & BUSY=$!; sleep 1; fi
    : > "$OUT/a"; : > "$OUT/b"
    i=0
    while [ $i -lt "$RUNS" ]; do
        one "$CLI" >> "$OUT/a"
        [ -n "$OTHER" ] && one "$OTHER" >> "$OUT/b"
        i=$((i + 1))
    done
    a=$(median < "$OUT/a")
    echo "$mode  $CLI  median $a s  (runs: $(tr '\n' ' ' < "$OUT/a"))"
    eval "a_$mode=$a"
    if [ -n "$OTHER" ]; then
        b=$(median < "$OUT/b")
        echo "$mode  $OTHER  median $b s  (runs: $(tr '\n' ' ' < "$OUT/b"))"
        eval "b_$mode=$b"
    fi
    if [ "$mode" = busy ]; then kill "$BUSY"; BUSY=; fi
done
echo "busy / idle: $(awk "BEGIN { printf \"%.3f\", $a_busy / $a_idle }")  ($CLI)"
if [ -n "$OTHER" ]; then
    echo "busy / idle: $(awk "BEGIN { printf \"%.3f\", $b_busy / $b_idle }")  ($OTHER)"
    echo "idle: $CLI / $OTHER = $(awk "BEGIN { printf \"%.3f\", $a_idle / $b_idle }")"
fi
