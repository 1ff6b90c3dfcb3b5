#!/usr/bin/env bash
# Checks a batch report (report.html, written by batchHtml) in a real browser:
# Debian's headless chromium renders it to a PNG and dumps the DOM after the
# page's script ran. Fails (non-zero, with a message) when chromium is missing
# or when a check does not hold:
#   * the page's script ran to its end (body data-ready="1")
#   * the gallery table is there and holds as many image rows as its data-rows
#     says (and as EXPECTED_ROWS, when given)
#   * the failed-images table, when there, holds as many rows as it says
#   * no "undefined" or "NaN" (or a bare nan/inf) in the page's text
#   * nothing is loaded from elsewhere (no http(s):// or protocol-relative
#     src/href, no <link>, no external <script src>)
#   * the screenshot was written and is a PNG
#
# Usage: check_report_html.sh REPORT.html OUT.png [EXPECTED_ROWS]
# The browser may be named with $CHROMIUM (default: chromium, then chromium-browser).
set -euo pipefail

fail() {
    echo "check_report_html: $*" >&2
    exit 1
}

if [[ $# -lt 2 || $# -gt 3 ]]; then
    echo "usage: $0 REPORT.html OUT.png [EXPECTED_ROWS]" >&2
    exit 2
fi
report=$1
png=$2
expected=${3:-}
[[ -f "$report" ]] || fail "no report at '$report'"
[[ -z "$expected" || "$expected" =~ ^[0-9]+$ ]] || fail "EXPECTED_ROWS must be a number, not '$expected'"

browser=${CHROMIUM:-}
if [[ -z "$browser" ]]; then
    for candidate in chromium chromium-browser; do
        if command -v "$candidate" >/dev/null 2>&1; then
            browser=$(command -v "$candidate")
            break
        fi
    done
fi
if [[ -z "$browser" ]] || ! command -v "$browser" >/dev/null 2>&1; then
    fail "chromium is not installed (Debian: apt-get install chromium; or set CHROMIUM=/path/to/chromium)"
fi

report_abs=$(realpath "$report")
mkdir -p "$(dirname "$png")"
png_abs=$(realpath -m "$png")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A file:// URL: percent-encode what would end or confuse the URL.
url="file://$(printf '%s' "$report_abs" | sed -e 's/%/%25/g' -e 's/ /%20/g' -e 's/#/%23/g' -e 's/?/%3F/g')"

# shellcheck disable=SC2054  # the comma in --window-size is chromium's, not an array separator
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run --no-default-browser-check
    --disable-extensions --disable-background-networking --user-data-dir="$work/profile"
    --virtual-time-budget=5000 --window-size=1280,1600)

rm -f "$png_abs"
if ! timeout 120 "$browser" "${flags[@]}" --screenshot="$png_abs" "$url" >"$work/shot.log" 2>&1; then
    tail -n 20 "$work/shot.log" >&2
    fail "chromium could not take the screenshot of $report_abs"
fi
[[ -s "$png_abs" ]] || { tail -n 20 "$work/shot.log" >&2; fail "chromium wrote no screenshot to $png_abs"; }
[[ "$(head -c 8 "$png_abs" | od -An -tx1 | tr -d ' \n')" == "89504e470d0a1a0a" ]] ||
    fail "the screenshot $png_abs is not a PNG"

if ! timeout 120 "$browser" "${flags[@]}" --dump-dom "$url" >"$work/dom.html" 2>"$work/dom.log"; then
    tail -n 20 "$work/dom.log" >&2
    fail "chromium could not dump the DOM of $report_abs"
fi
dom="$work/dom.html"
[[ -s "$dom" ]] || fail "chromium dumped an empty DOM for $report_abs"

# The page's script ran to its end (it sorts, filters and marks the body).
grep -q '<body[^>]*data-ready="1"' "$dom" || fail "the page's script did not run to its end (no data-ready on <body>)"

# The gallery and its rows.
gallery=$(grep -o '<table id="gallery"[^>]*>' "$dom" | head -n 1 || true)
[[ -n "$gallery" ]] || fail "no gallery table (<table id=\"gallery\">) in the page"
declared=$(printf '%s' "$gallery" | sed -n 's/.*data-rows="\([0-9]*\)".*/\1/p')
[[ -n "$declared" ]] || fail "the gallery table does not say how many rows it has (data-rows)"
rows=$({ grep -o '<tr class="img-row' "$dom" || true; } | wc -l)
[[ "$rows" -eq "$declared" ]] || fail "the gallery has $rows image rows, its data-rows says $declared"
if [[ -n "$expected" && "$rows" -ne "$expected" ]]; then
    fail "the gallery has $rows image rows, expected $expected"
fi
hidden=$({ grep -o -E '<tr class="img-row[^>]* hidden(="[^"]*")?[ >]' "$dom" || true; } | wc -l)
[[ "$hidden" -eq 0 ]] || fail "$hidden gallery rows are hidden before any filter was chosen"

# The failed-images table, when there.
failed=$(grep -o '<table id="failed-table"[^>]*>' "$dom" | head -n 1 || true)
if [[ -n "$failed" ]]; then
    declared_failed=$(printf '%s' "$failed" | sed -n 's/.*data-rows="\([0-9]*\)".*/\1/p')
    failed_rows=$(perl -0ne 'if (/<table id="failed-table".*?<tbody>(.*?)<\/tbody>/s) { my $n = () = $1 =~ /<tr>/g; print $n }' "$dom")
    [[ "$failed_rows" == "$declared_failed" ]] ||
        fail "the failed-images table has $failed_rows rows, its data-rows says $declared_failed"
fi

# The text of the page: without scripts, styles and the embedded image data
# (base64 can spell "NaN" by chance).
perl -0pe 's/<script\b.*?<\/script>//gis; s/<style\b.*?<\/style>//gis; s/data:[a-z\/+.-]+;base64,[A-Za-z0-9+\/=]*//g' \
    "$dom" >"$work/text.html"
grep -n -o -w -E 'undefined|NaN|-?nan|-?inf' "$work/text.html" >"$work/bad.txt" || true
if [[ -s "$work/bad.txt" ]]; then
    head -n 5 "$work/bad.txt" >&2
    fail "the page shows undefined/NaN/nan/inf (see above; line:word of the rendered DOM)"
fi

# Self-contained: nothing from elsewhere (scripts included this time).
perl -0pe 's/data:[a-z\/+.-]+;base64,[A-Za-z0-9+\/=]*//g' "$dom" >"$work/nodata.html"
grep -n -o -i -E '(src|href)="(https?:)?//[^"]*"|<link\b[^>]*>|<script\b[^>]*\bsrc=|@import|url\((https?:)?//' \
    "$work/nodata.html" >"$work/ext.txt" || true
if [[ -s "$work/ext.txt" ]]; then
    head -n 5 "$work/ext.txt" >&2
    fail "the page loads something from elsewhere (see above)"
fi

echo "check_report_html: OK: $rows gallery rows, screenshot $png_abs"
