#!/usr/bin/env bash
# libFuzzer targets for Mirada's file readers (tests/fuzz/).
#
#   scripts/fuzz.sh build [BUILD_DIR]          configure + build them into BUILD_DIR/fuzz with clang++,
#                                              against BUILD_DIR/src/core/libmirada_core.a (build that first)
#   scripts/fuzz.sh run TARGET [SECONDS] [BUILD_DIR]   fuzz one target (default 60 s)
#   scripts/fuzz.sh all [SECONDS] [BUILD_DIR]          fuzz every target in turn (default 300 s each)
#   scripts/fuzz.sh list                       the targets
#
# BUILD_DIR defaults to $MIRADA_BUILD_DIR, else ./build. Targets: state_dict,
# image_header, descriptor, idx, label_map (the fuzz_ prefix may be given).
# Each run starts from the seeds in tests/fuzz/corpus/TARGET (read, never written)
# plus the inputs earlier runs found, kept in BUILD_DIR/fuzz/corpus/TARGET;
# MIRADA_FUZZ_FRESH=1 empties that folder first (ctest does). Crashing inputs go
# to BUILD_DIR/fuzz/findings/TARGET/. Exit status: 0 when nothing was found,
# 1 on a finding (crash, sanitizer report, timeout, out of memory) and a message
# naming the saved input, 2 on a usage or setup problem.
# Extra libFuzzer flags: MIRADA_FUZZ_FLAGS="-max_len=65536" scripts/fuzz.sh run state_dict 600
# Needs clang++ and libFuzzer's runtime (Debian 12: clang, libclang-rt-14-dev).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGETS=(state_dict image_header descriptor idx label_map)
INSTALL_HINT="On Debian 12: apt-get install clang libclang-rt-14-dev (or run ./scripts/setup.sh)"

die() { echo "fuzz: $*" >&2; exit 2; }
abspath() { mkdir -p "$1" && (cd "$1" && pwd); }

find_clang() {
  local cxx
  for cxx in "${CXX_FUZZ:-}" clang++ clang++-14; do
    [ -n "$cxx" ] && command -v "$cxx" >/dev/null 2>&1 && { command -v "$cxx"; return 0; }
  done
  die "clang++ was not found; the fuzz targets need it (libFuzzer is part of clang). $INSTALL_HINT."
}

# libFuzzer's runtime ships apart from the compiler (libclang-rt-14-dev on Debian 12).
check_fuzzer_runtime() {
  local cxx="$1" probe
  probe="$(mktemp -d)"
  printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' \
    > "$probe/probe.cpp"
  if ! "$cxx" -fsanitize=fuzzer,address,undefined "$probe/probe.cpp" -o "$probe/probe" \
      >"$probe/log" 2>&1; then
    cat "$probe/log" >&2
    rm -rf "$probe"
    die "$cxx cannot link a libFuzzer program (-fsanitize=fuzzer,address,undefined): the fuzzer or \
sanitizer runtime (libclang_rt.fuzzer-x86_64.a) is missing. $INSTALL_HINT."
  fi
  rm -rf "$probe"
}

build_dir_arg() { abspath "${1:-${MIRADA_BUILD_DIR:-$ROOT/build}}"; }

cmd_build() {
  local build core cxx gen=() jobs
  build="$(build_dir_arg "${1:-}")"
  core="${MIRADA_CORE_LIBRARY:-$build/src/core/libmirada_core.a}"
  [ -f "$core" ] || die "$core does not exist: build Mirada first (cmake --build $build), \
or set MIRADA_CORE_LIBRARY to its libmirada_core.a."
  cxx="$(find_clang)"
  check_fuzzer_runtime "$cxx"
  command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)
  jobs="${MIRADA_FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}"
  [ "$jobs" -gt 2 ] && jobs=2   # the clang compiles are large; two at a time is plenty
  if [ ! -f "$build/fuzz/CMakeCache.txt" ]; then
    cmake -S "$ROOT/tests/fuzz" -B "$build/fuzz" "${gen[@]}" -DCMAKE_BUILD_TYPE= \
      -DCMAKE_CXX_COMPILER="$cxx" -DMIRADA_CORE_LIBRARY="$core"
  elif ! grep -qxF "MIRADA_CORE_LIBRARY:FILEPATH=$core" "$build/fuzz/CMakeCache.txt"; then
    cmake "$build/fuzz" -DMIRADA_CORE_LIBRARY="$core" >/dev/null
  fi
  cmake --build "$build/fuzz" --parallel "$jobs"
  echo "fuzz: targets built in $build/fuzz: ${TARGETS[*]/#/fuzz_}"
}

target_name() {
  local t="${1#fuzz_}" k
  for k in "${TARGETS[@]}"; do [ "$k" = "$t" ] && { echo "$t"; return 0; }; done
  die "unknown target '$1'; targets: ${TARGETS[*]}"
}

cmd_run() {
  [ $# -ge 1 ] || die "usage: scripts/fuzz.sh run TARGET [SECONDS] [BUILD_DIR]"
  local target seconds build exe corpus seeds findings dict log status
  target="$(target_name "$1")"
  seconds="${2:-60}"
  [[ "$seconds" =~ ^[0-9]+$ ]] && [ "$seconds" -ge 1 ] || die "SECONDS must be a whole number >= 1, not '$seconds'"
  build="$(build_dir_arg "${3:-}")"
  exe="$build/fuzz/fuzz_$target"
  [ -x "$exe" ] || die "$exe does not exist: run scripts/fuzz.sh build $build first"
  seeds="$ROOT/tests/fuzz/corpus/$target"
  corpus="$build/fuzz/corpus/$target"
  findings="$build/fuzz/findings/$target"
  [ "${MIRADA_FUZZ_FRESH:-0}" = 1 ] && rm -rf "$corpus"
  mkdir -p "$corpus" "$findings"
  log="$build/fuzz/fuzz_$target.log"
  dict=()
  [ -f "$ROOT/tests/fuzz/dict/$target.dict" ] && dict=(-dict="$ROOT/tests/fuzz/dict/$target.dict")
  # One thread for LibTorch and OpenMP: runs share the machine with other tests.
  export MIRADA_THREADS="${MIRADA_THREADS:-1}" OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
  # Leak detection stays on; tests/fuzz/lsan.supp names the one LibTorch leak it skips.
  export LSAN_OPTIONS="suppressions=$ROOT/tests/fuzz/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
  echo "fuzz: $target for ${seconds}s (seeds $seeds, corpus $corpus, log $log)"
  # The first folder receives new inputs; the seed folder is only read.
  status=0
  # shellcheck disable=SC2086
  "$exe" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$findings/" "${dict[@]}" ${MIRADA_FUZZ_FLAGS:-} "$corpus" "$seeds" \
    >"$log" 2>&1 || status=$?
  grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' \
    "$log" | sed 's/^/  /' || true
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$log" >&2
    local saved
    saved="$(grep -oE "Test unit written to .*" "$log" | sed 's/^Test unit written to //' | tail -n 1 || true)"
    if [ -z "$saved" ]; then
      echo "fuzz: fuzz_$target stopped with exit status $status before fuzzing or without saving an" \
        "input (see the lines above and $log)" >&2
      exit 2
    fi
    echo "fuzz: FINDING in $target (exit status $status). The input is saved as: $saved" >&2
    echo "fuzz: full log: $log" >&2
    echo "fuzz: reproduce with: LSAN_OPTIONS=$LSAN_OPTIONS $exe $saved" >&2
    exit 1
  fi
  echo "fuzz: $target: no finding in ${seconds}s"
}

cmd_all() {
  local seconds="${1:-300}" build t failed=()
  build="$(build_dir_arg "${2:-}")"
  for t in "${TARGETS[@]}"; do
    ( cmd_run "$t" "$seconds" "$build" ) || failed+=("$t")
  done
  if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz: targets that failed: ${failed[*]} (saved inputs under $build/fuzz/findings/, logs in $build/fuzz/)" >&2
    exit 1
  fi
  echo "fuzz: all ${#TARGETS[@]} targets ran ${seconds}s each without a finding"
}

case "${1:-}" in
  build) shift; cmd_build "$@" ;;
  run) shift; cmd_run "$@" ;;
  all) shift; cmd_all "$@" ;;
  list) printf '%s\n' "${TARGETS[@]}" ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
