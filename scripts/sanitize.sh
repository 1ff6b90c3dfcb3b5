#!/usr/bin/env bash
# Builds the unit tests (mirada_tests) and mirada-cli with AddressSanitizer +
# UndefinedBehaviorSanitizer (LeakSanitizer included) in a build folder of their
# own, runs them with ctest, prints a summary and exits nonzero when a test
# failed or a sanitizer reported anything.
#
#   scripts/sanitize.sh                      # everything
#   scripts/sanitize.sh -R HostileInputs     # extra arguments go to ctest (-R/-E/-j ...)
#
# Environment:
#   MIRADA_ASAN_BUILD_DIR   build folder (default: <repo>/build-asan)
#   MIRADA_ASAN_BUILD_JOBS  compile jobs (default 1: each instrumented LibTorch
#                           translation unit takes about a minute and ~1.5 GB)
#   MIRADA_ASAN_TEST_JOBS   ctest -j (default 1)
#
# Covered: Mirada's own code (mirada_core, mirada-cli, the tests), including
# every mirada-cli the tests start. Not covered: the Qt GUI and tests/gui
# (built with MIRADA_BUILD_GUI=OFF: Qt's headers and moc would double a build
# that takes over an hour from scratch on 2 shared cores), the GPU tests, and the insides of
# LibTorch/OpenCV/... (Debian's uninstrumented builds: ASan still sees their
# heap through its malloc/free/memcpy interceptors, but not their own
# out-of-bounds reads and writes).
#
# Build type: RelWithDebInfo (-O2 -g). Compile time is dominated by parsing
# LibTorch's headers (not measured at -O1, expected to save little), and -O2
# keeps the tests' run time, and so their time limits, close to Release's. NDEBUG is set,
# as in the Release build the project ships.
#
# Reports: every instrumented process, including each mirada-cli a test
# starts, writes its ASan/LSan reports to <build>/sanitizer-logs/ (log_path).
# A test's popen() of the CLI swallows the child's stderr and many tests expect
# the CLI to fail, so a report there would otherwise be invisible; the summary
# lists every report file, and any report makes this script fail. UBSan
# reports cannot be sent there with g++ (see summary()): they are counted from
# the ctest output, and any child that hits one exits with code 86.
#
# LeakSanitizer: no leak was reported in LibTorch/OpenCV globals, so nothing is
# suppressed; a scripts/sanitize.supp, if one is ever needed, is used as is.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${MIRADA_ASAN_BUILD_DIR:-$ROOT/build-asan}"
BUILD_JOBS="${MIRADA_ASAN_BUILD_JOBS:-1}"
TEST_JOBS="${MIRADA_ASAN_TEST_JOBS:-1}"
LOG_DIR="$BUILD_DIR/sanitizer-logs"
CTEST_LOG="$BUILD_DIR/sanitize-ctest.log"
SUPP="$ROOT/scripts/sanitize.supp"

# What the library and CLI need (scripts/setup.sh installs these and the GUI's).
PACKAGES=(
  g++ cmake ninja-build pkg-config
  libtorch-dev libopencv-dev libopencv-contrib-dev libeigen3-dev
  nlohmann-json3-dev libcli11-dev libssl-dev zlib1g-dev libgtest-dev libgmock-dev
  python3 python3-numpy python3-pil python3-torch python3-torchvision dataset-fashion-mnist
)
missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then missing+=("$p"); fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "sanitize: installing ${#missing[@]} Debian packages: ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" || exit 1
fi

# ---------------------------------------------------------------- options
# Exported before the build too: gtest_discover_tests runs mirada_tests
# (--gtest_list_tests) right after linking it, under the same sanitizers.
rm -rf "$LOG_DIR"
mkdir -p "$LOG_DIR"
# exitcode=86: a sanitizer's exit differs from the CLI's own error exit (1),
# so a test that expects "exit 1" also fails when the CLI child hit a report.
# halt_on_error / -fno-sanitize-recover: the first report ends the process.
# detect_stack_use_after_return stays off (default): it multiplies stack memory
# of LibTorch's deep call chains; check_initialization_order is cheap.
# allocator_may_return_null=1: a malloc() that cannot be served returns NULL as
# glibc's does, so LibTorch and OpenCV raise their usual errors (which Mirada
# turns into messages) instead of ASan ending the process. (ASan's operator new
# still never throws std::bad_alloc: it reports "out of memory" and exits.)
# detect_container_overflow: left on; g++'s libstdc++ only annotates
# std::vector when _GLIBCXX_SANITIZE_VECTOR is defined, which this build does
# not do, so vectors shared with uninstrumented LibTorch cannot give false reports.
export ASAN_OPTIONS="log_path=$LOG_DIR/asan:log_exe_name=1:exitcode=86:halt_on_error=1:abort_on_error=0:detect_leaks=1:check_initialization_order=1:detect_odr_violation=2:allocator_may_return_null=1:print_summary=1"
export UBSAN_OPTIONS="log_path=$LOG_DIR/ubsan:log_exe_name=1:exitcode=86:halt_on_error=1:print_stacktrace=1:report_error_type=1:print_summary=1"
LSAN_OPTIONS="exitcode=86:print_suppressions=0"
[ -f "$SUPP" ] && LSAN_OPTIONS="$LSAN_OPTIONS:suppressions=$SUPP"
export LSAN_OPTIONS

summary() {
  local ctest_rc="$1" stage="$2"
  echo
  echo "================================ sanitize.sh summary"
  echo "build folder: $BUILD_DIR"
  if [ "$stage" = test ] && [ -f "$CTEST_LOG" ]; then
    local line skipped
    line="$(grep -E '^[0-9]+% tests passed' "$CTEST_LOG" | tail -1)"
    skipped="$(grep -cE '\*\*\*Skipped|Not Run' "$CTEST_LOG")"
    echo "ctest: ${line:-no result line (see $CTEST_LOG)}; skipped: $skipped"
    grep -E '^\s+[0-9]+ - .*\((Failed|Timeout|SEGFAULT|Subprocess aborted|Child aborted|Exception|Not Run)' "$CTEST_LOG" | sed 's/^/  failed: /'
  else
    echo "stopped at: $stage (no tests run)"
  fi
  local reports=()
  while IFS= read -r -d '' f; do reports+=("$f"); done < <(find "$LOG_DIR" -type f -size +0 -print0 | sort -z)
  echo "sanitizer reports: ${#reports[@]}"
  for f in "${reports[@]}"; do
    echo "---- $f"
    # The kind of report, then the first frames in Mirada's own sources.
    grep -m3 -E 'ERROR: (Address|Leak|UndefinedBehavior)Sanitizer|runtime error:|SUMMARY:' "$f" | sed 's/^/  /'
    grep -E "^\s+#[0-9]+ .*($ROOT/(src|tests)|TestBody)" "$f" | head -6 | sed 's/^/  /'
  done
  # UBSan reports: g++ links libubsan beside libasan, and libubsan ignores
  # log_path there (its report path call resolves to libasan's), so they go to
  # stderr: in the ctest log for a test's own process, and for a mirada-cli
  # child only where the test prints the child's output (it does when it fails;
  # a child's report also exits 86, which every rc==0/rc==1 check catches).
  local inlog=0
  if [ "$stage" = test ] && [ -f "$CTEST_LOG" ]; then
    inlog="$(grep -cE 'runtime error:|ERROR: (Address|Leak)Sanitizer|SUMMARY: (Address|UndefinedBehavior)Sanitizer' "$CTEST_LOG")"
    echo "sanitizer lines in the ctest output: $inlog"
    grep -nE 'runtime error:|ERROR: (Address|Leak)Sanitizer' "$CTEST_LOG" | head -20 | sed 's/^/  /'
  fi
  local rc=0
  if [ "$ctest_rc" -ne 0 ] || [ "${#reports[@]}" -gt 0 ] || [ "$inlog" -gt 0 ]; then rc=1; fi
  if [ "$rc" -eq 0 ]; then echo "RESULT: clean"; else echo "RESULT: FAILED"; fi
  return "$rc"
}

# ---------------------------------------------------------------- build
SAN_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
build_start=$(date +%s)
cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja \
  -DCMAKE_CXX_COMPILER=g++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DMIRADA_BUILD_GUI=OFF \
  -DMIRADA_BUILD_TESTS=ON \
  "-DCMAKE_CXX_FLAGS=$SAN_FLAGS" \
  "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined" \
  "-DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=address,undefined" \
  || { summary 1 configure; exit 1; }
cmake --build "$BUILD_DIR" --parallel "$BUILD_JOBS" --target mirada-cli mirada_tests \
  || { summary 1 build; exit 1; }
echo "sanitize: build took $(( $(date +%s) - build_start )) s"

# ---------------------------------------------------------------- run
# The fuzz.* tests (tests/CMakeLists.txt, when clang++ is installed) link this
# build's libmirada_core.a into clang/libFuzzer binaries: g++'s ASan objects do
# not belong there, and scripts/fuzz.sh runs them under sanitizers already.
# A -E given to this script is merged with that exclusion.
exclude='^fuzz\.'
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    -E|--exclude-regex) exclude="$exclude|$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
test_start=$(date +%s)
(cd "$BUILD_DIR" && ctest --output-on-failure -j "$TEST_JOBS" -E "$exclude" ${args[@]+"${args[@]}"}) 2>&1 | tee "$CTEST_LOG"
ctest_rc=${PIPESTATUS[0]}
echo "sanitize: tests took $(( $(date +%s) - test_start )) s"
summary "$ctest_rc" test
