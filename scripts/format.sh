#!/usr/bin/env bash
# Formats Mirada's C++ sources with clang-format and the repository's .clang-format.
#   scripts/format.sh           rewrite the files in place
#   scripts/format.sh --check   change nothing; list the files that differ and exit 1 if any do
# Covers the tracked *.cpp/*.hpp/*.h under src/, tests/ and ui/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLANG_FORMAT="${CLANG_FORMAT:-$(command -v clang-format-14 || command -v clang-format || true)}"
if [ -z "$CLANG_FORMAT" ]; then
  echo "format: clang-format not found: install Debian's clang-format (scripts/setup.sh installs it)" >&2
  exit 2
fi
cd "$ROOT"
mapfile -t files < <(git ls-files -- 'src/*.cpp' 'src/*.hpp' 'src/*.h' 'tests/*.cpp' 'tests/*.hpp' 'tests/*.h' 'ui/*.cpp' 'ui/*.hpp' 2>/dev/null \
  || find src tests ui \( -name '*.cpp' -o -name '*.hpp' -o -name '*.h' \) 2>/dev/null)
if [ "${#files[@]}" -eq 0 ]; then echo "format: no C++ files found under $ROOT" >&2; exit 2; fi
if [ "${1:-}" = "--check" ]; then
  # One clang-format process for all files: it names every line that differs.
  if ! out="$("$CLANG_FORMAT" --style=file --dry-run -Werror "${files[@]}" 2>&1)"; then
    bad="$(printf '%s\n' "$out" | sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: error:.*/\1/p' | sort -u)"
    echo "format: these files differ from .clang-format; run scripts/format.sh to fix:" >&2
    printf '  %s\n' $bad >&2
    [ -n "$bad" ] || printf '%s\n' "$out" >&2
    exit 1
  fi
  echo "format: ${#files[@]} files follow .clang-format"
else
  "$CLANG_FORMAT" --style=file -i "${files[@]}"
  echo "format: formatted ${#files[@]} files"
fi
