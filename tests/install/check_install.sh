#!/usr/bin/env bash
# ctest install.layout: installs this build into a fresh temporary prefix
# (cmake --install BUILD --prefix TMP --component mirada; the component keeps
# BUILD/install_manifest.txt, a user's uninstall list, untouched) and checks
# the installed program works from there: the files of cmake/MiradaInstall.cmake
# are present, the launchers start the programs in libexec/mirada, and the
# installed mirada-cli finds the bundled model in TMP/share/mirada/models, not
# in the source tree, and classifies the installed sample with it.
#   check_install.sh SOURCE_DIR BUILD_DIR VERSION GUI(0|1) "PNG SIZES" [DESKTOP_FILE_VALIDATE]
set -euo pipefail
source_dir="$1" build="$2" version="$3" gui="$4" sizes="$5" validate="${6:-}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/mirada-install-check.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
prefix="$tmp/prefix"
fail() { echo "install check: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" --component mirada >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log" >&2; fail "cmake --install failed"; }
echo "installed $(grep -c 'Installing:' "$tmp/install.log") entries into $prefix"

need() { [ -f "$prefix/$1" ] || fail "missing $1"; }
need_exe() { [ -x "$prefix/$1" ] || fail "missing or not executable: $1"; }
need_exe bin/mirada-cli
need_exe libexec/mirada/mirada-cli.bin
need share/mirada/models/fashion-cnn/fashion-cnn.json
need share/mirada/models/fashion-cnn/fashion-cnn.pt
need share/mirada/samples/fashion-sneaker.png
need share/mirada/scripts/bench_pytorch.py
need share/doc/mirada/copyright
[ ! -e "$prefix/bin/mirada-cli.bin" ] || fail "mirada-cli.bin belongs in libexec/mirada, not bin"

if [ "$gui" = 1 ]; then
  need_exe bin/mirada
  need_exe libexec/mirada/mirada.bin
  need share/applications/mirada.desktop
  need share/icons/hicolor/scalable/apps/mirada.svg
  grep -qx 'Exec=mirada %f' "$prefix/share/applications/mirada.desktop" || fail "the desktop entry does not run mirada"
  grep -qx 'Icon=mirada' "$prefix/share/applications/mirada.desktop" || fail "the desktop entry's icon is not mirada"
  if [ -n "$validate" ]; then
    "$validate" "$prefix/share/applications/mirada.desktop" || fail "desktop-file-validate rejects mirada.desktop"
  fi
  for s in $sizes; do
    png="share/icons/hicolor/${s}x${s}/apps/mirada.png"
    need "$png"
    # PNG signature, then the IHDR chunk's width and height (big-endian, bytes 16-23).
    head -c 8 "$prefix/$png" | od -An -tx1 | tr -d ' \n' | grep -qx '89504e470d0a1a0a' || fail "$png is not a PNG"
    read -r w h < <(od -An -tu1 -j16 -N8 "$prefix/$png" |
      awk '{print $1*16777216+$2*65536+$3*256+$4, $5*16777216+$6*65536+$7*256+$8}')
    [ "$w" = "$s" ] && [ "$h" = "$s" ] || fail "$png is ${w}x${h}, not ${s}x${s}"
  done
  # The launcher in bin starts libexec/mirada/mirada.bin; --version needs no display.
  out="$(cd "$tmp" && env -u DISPLAY -u WAYLAND_DISPLAY -u QT_QPA_PLATFORM "$prefix/bin/mirada" --version)" ||
    fail "installed mirada --version failed"
  [ "$out" = "Mirada $version" ] || fail "installed mirada --version printed '$out'"
fi

cli="$prefix/bin/mirada-cli"
out="$(cd "$tmp" && "$cli" --version)" || fail "installed mirada-cli --version failed"
[ "$out" = "mirada-cli $version" ] || fail "installed mirada-cli --version printed '$out'"
# The bundled model is found in the installed share folder (not the source tree's models/).
models="$(cd "$tmp" && env -u MIRADA_MODELS_DIR "$cli" models)" || fail "installed mirada-cli models failed"
grep -qxF "    weights: $prefix/share/mirada/models/fashion-cnn/fashion-cnn.json" <<<"$models" ||
  { echo "$models" | head -4 >&2; fail "installed mirada-cli does not use $prefix/share/mirada/models"; }
grep -qxF "  $source_dir/models" <<<"$models" && fail "installed mirada-cli searches the source tree's models/"
# ... and works: the installed sample is a sneaker to the installed model.
pred="$(cd "$tmp" && env -u MIRADA_MODELS_DIR "$cli" predict -m fashion-cnn -i "$prefix/share/mirada/samples/fashion-sneaker.png" --top 1)" ||
  fail "installed mirada-cli predict failed"
grep -qE '^ *1\. .* Sneaker$' <<<"$pred" || { echo "$pred" >&2; fail "installed fashion-cnn did not call the sneaker a Sneaker"; }
echo "install check: ok"
