// batchHtml: the batch's report as one self-contained HTML page. Everything it
// shows is inside the file: thumbnails as data: URIs (read one at a time from
// the per-image files under summary.out, so memory stays flat), the curves as
// inline SVG, the style and the small sorting/filtering script inline. It
// opens from disk in any browser, without a server and without network.
//
// Numbers are formatted with std::to_chars, which ignores the C locale (the
// GUI's setlocale would otherwise put decimal commas into SVG coordinates and
// into the sort keys).
#include "batch/batch.hpp"

#include "image/image_io.hpp"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <exception>
#include <string>
#include <system_error>
#include <vector>

namespace mirada {
namespace {

namespace fs = std::filesystem;

constexpr int kThumbMax = 96;  // longer side of a thumbnail at most
constexpr int kThumbMin = 64;  // tiny images (28x28) are enlarged to at least this
const char* const kDash = "\u2013";

// ---------------------------------------------------------------- text

void appendEscaped(std::string& out, const std::string& text) {
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
}

std::string esc(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    appendEscaped(out, text);
    return out;
}

// `value` with `decimals` digits after the point; a dash when not finite.
std::string fixed(double value, int decimals) {
    if (!std::isfinite(value)) return kDash;
    char buf[128];
    auto r = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed, decimals);
    if (r.ec != std::errc()) r = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific, decimals);
    if (r.ec != std::errc()) return kDash;
    std::string s(buf, r.ptr);
    // "-0.000" reads as a sign that is not there.
    if (s[0] == '-' && s.find_first_not_of("-0.") == std::string::npos) s.erase(0, 1);
    return s;
}

// A sort key: the shortest exact form; "" when not finite (sorted last).
std::string sortKey(double value) {
    if (!std::isfinite(value)) return "";
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, value);
    return r.ec == std::errc() ? std::string(buf, r.ptr) : std::string();
}

std::string percent(double p) { return std::isfinite(p) ? fixed(100.0 * p, 1) + "%" : std::string(kDash); }
std::string auc(double v) { return fixed(v, 3); }

// "0.123 ± 0.045 (50)"; a dash when there are no values.
std::string spreadText(const Spread& s, int decimals) {
    if (s.n == 0 || !std::isfinite(s.mean)) return kDash;
    std::string out = fixed(s.mean, decimals);
    if (std::isfinite(s.sd)) out += " \u00b1 " + fixed(s.sd, decimals);
    return out + " (" + std::to_string(s.n) + ")";
}

// ---------------------------------------------------------------- thumbnails

void appendBase64(std::string& out, const unsigned char* data, size_t size) {
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    out.reserve(out.size() + (size + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 3 <= size; i += 3) {
        const uint32_t v = uint32_t(data[i]) << 16 | uint32_t(data[i + 1]) << 8 | data[i + 2];
        out += alphabet[v >> 18 & 63];
        out += alphabet[v >> 12 & 63];
        out += alphabet[v >> 6 & 63];
        out += alphabet[v & 63];
    }
    const size_t rest = size - i;
    if (rest == 0) return;
    uint32_t v = uint32_t(data[i]) << 16;
    if (rest == 2) v |= uint32_t(data[i + 1]) << 8;
    out += alphabet[v >> 18 & 63];
    out += alphabet[v >> 12 & 63];
    out += rest == 2 ? alphabet[v >> 6 & 63] : '=';
    out += '=';
}

// A file named relative to `base` (absolute names are kept); empty stays empty.
fs::path under(const fs::path& base, const std::string& name) {
    if (name.empty()) return {};
    fs::path p(name);
    return p.is_absolute() || base.empty() ? p : base / p;
}

// Appends an <img> with the thumbnail of `file`; false (nothing appended)
// when the file is missing or cannot be read.
bool appendThumbnail(std::string& out, const fs::path& file, const std::string& alt) {
    if (file.empty()) return false;
    cv::Mat bgr;
    try {
        std::error_code ec;
        if (!fs::is_regular_file(file, ec)) return false;
        const cv::Mat rgb = loadImage(file).rgb;
        if (rgb.empty()) return false;
        cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
    } catch (const std::exception&) {
        return false;
    }
    const int longer = std::max(bgr.cols, bgr.rows);
    cv::Mat thumb;
    bool png = true;
    if (longer > kThumbMax) {
        const double scale = double(kThumbMax) / longer;
        const cv::Size size(std::max(1, int(std::lround(bgr.cols * scale))),
                            std::max(1, int(std::lround(bgr.rows * scale))));
        cv::resize(bgr, thumb, size, 0, 0, cv::INTER_AREA);
        png = false;
    } else if (longer < kThumbMin) {
        // Whole multiples keep the pixels square; otherwise just large enough.
        const int whole = kThumbMax / longer;
        const double scale = whole * longer >= kThumbMin ? double(whole) : double(kThumbMin) / longer;
        const cv::Size size(std::max(1, int(std::lround(bgr.cols * scale))),
                            std::max(1, int(std::lround(bgr.rows * scale))));
        cv::resize(bgr, thumb, size, 0, 0, cv::INTER_NEAREST);
    } else {
        thumb = bgr;
    }
    std::vector<unsigned char> bytes;
    try {
        const std::vector<int> params =
            png ? std::vector<int>{cv::IMWRITE_PNG_COMPRESSION, 9} : std::vector<int>{cv::IMWRITE_JPEG_QUALITY, 85};
        if (!cv::imencode(png ? ".png" : ".jpg", thumb, bytes, params)) return false;
    } catch (const std::exception&) {
        return false;
    }
    out += "<img class=\"thumb\" width=\"" + std::to_string(thumb.cols) + "\" height=\"" + std::to_string(thumb.rows) +
           "\" alt=\"";
    appendEscaped(out, alt);
    out += png ? "\" src=\"data:image/png;base64," : "\" src=\"data:image/jpeg;base64,";
    appendBase64(out, bytes.data(), bytes.size());
    out += "\">";
    return true;
}

void appendPlaceholder(std::string& out, const std::string& text, const std::string& tooltip = "") {
    out += "<span class=\"nofile\"";
    if (!tooltip.empty()) out += " title=\"" + esc(tooltip) + "\"";
    out += ">" + esc(text) + "</span>";
}

// ---------------------------------------------------------------- page parts

const char* const kStyle = R"CSS(
:root { --fg: #1d2329; --muted: #5f6b76; --line: #d9dee3; --zebra: #f5f7f9; --head: #eceff3;
        --accent: #2860b8; --good: #1b7f3b; --bad: #b3261e; }
* { box-sizing: border-box; }
body { margin: 0; padding: 20px 24px 48px; color: var(--fg); background: #fff;
       font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 8px; }
a { color: var(--accent); }
.sub { color: var(--muted); margin: 0 0 14px; }
nav { margin: 0 0 16px; display: flex; gap: 14px; flex-wrap: wrap; }
nav a { text-decoration: none; }
.banner { background: #fff4d6; border: 1px solid #e8c66a; border-radius: 6px; padding: 10px 14px; margin: 10px 0 16px; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 8px 0 14px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 8px 14px; min-width: 110px; }
.card .v { font-size: 20px; font-weight: 600; }
.card .k { color: var(--muted); font-size: 12px; }
.card.bad .v { color: var(--bad); }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0 0 12px; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; word-break: break-all; }
details { margin: 8px 0; }
details > summary { cursor: pointer; color: var(--accent); }
pre { background: var(--zebra); border: 1px solid var(--line); border-radius: 6px; padding: 10px; overflow: auto;
      max-height: 420px; font-size: 12px; }
.note { color: var(--muted); max-width: 980px; }
ul.notes { margin: 4px 0 12px; padding-left: 20px; color: var(--muted); }
table { border-collapse: collapse; font-size: 13px; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: middle; }
th { background: var(--head); font-weight: 600; white-space: nowrap; vertical-align: bottom; }
th small { font-weight: 400; color: var(--muted); }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.zebra tbody tr:nth-child(even) td { background: var(--zebra); }
tr.floor td { color: var(--muted); font-style: italic; }
td.group { font-weight: 600; background: #fff !important; }
td.method { white-space: nowrap; }
.scroll { overflow: auto; max-width: 100%; }
.gallery-wrap { max-height: 85vh; overflow: auto; border: 1px solid var(--line); border-radius: 6px; }
#gallery thead th { position: sticky; top: 0; z-index: 1; box-shadow: 0 1px 0 var(--line); }
#gallery th.sort { cursor: pointer; user-select: none; }
#gallery th.sort:hover { background: #dfe4ea; }
#gallery .arrow { display: inline-block; width: 1em; color: var(--accent); }
#gallery tbody tr td { background: #fff; }
#gallery tbody tr.odd td { background: var(--zebra); }
#gallery th, #gallery td { padding: 4px 6px; }
#gallery td.img { padding: 3px 4px; text-align: center; }
#gallery td.c, #gallery th.c { text-align: center; }
#gallery td.lp .p { color: var(--muted); font-size: 12px; font-variant-numeric: tabular-nums; }
img.thumb { display: block; margin: 0 auto; image-rendering: auto; border-radius: 2px; }
.nofile { display: inline-flex; align-items: center; justify-content: center; width: 72px; height: 72px;
          background: #e3e6ea; color: #6b747d; font-size: 11px; border-radius: 3px; }
.ok { color: var(--good); font-weight: 700; }
.no { color: var(--bad); font-weight: 700; }
.filters { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin: 6px 0 10px; }
.filters button { border: 1px solid var(--line); background: #fff; border-radius: 14px; padding: 3px 12px;
                  cursor: pointer; font: inherit; }
.filters button.on { background: var(--accent); border-color: var(--accent); color: #fff; }
.filters input { border: 1px solid var(--line); border-radius: 4px; padding: 4px 8px; font: inherit; width: 240px; }
.filters .count { color: var(--muted); }
.charts { display: flex; flex-wrap: wrap; gap: 18px; }
svg.chart { flex: 1 1 460px; min-width: 0; max-width: 600px; height: auto; border: 1px solid var(--line); border-radius: 6px; background: #fff; }
svg.chart text { font: 12px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: var(--fg); }
svg.chart .title { font-size: 14px; font-weight: 600; }
svg.chart .grid { stroke: #e6e9ed; }
svg.chart .axis { stroke: #8a949e; }
table.confusion td { text-align: right; min-width: 30px; font-variant-numeric: tabular-nums; }
table.confusion th.col { writing-mode: vertical-rl; transform: rotate(180deg); text-align: left; padding: 6px 3px;
                         max-height: 160px; overflow: hidden; }
table.confusion td.zero { color: #c3c9cf; }
td.empty { color: var(--muted); padding: 14px 10px; }
td.err { color: var(--bad); white-space: pre-wrap; word-break: break-word; max-width: 640px; }
td.file { word-break: break-all; max-width: 420px; color: var(--muted); }
)CSS";

const char* const kScript = R"JS(
(function () {
  var table = document.getElementById('gallery');
  if (table) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.querySelectorAll('tr.img-row'));
    rows.forEach(function (r) { r.searchText = (r.getAttribute('data-text') || '').toLowerCase(); });
    var heads = table.tHead.rows[0].cells;
    var collator = new Intl.Collator(void 0, { numeric: true, sensitivity: 'base' });
    var sortCol = -1, sortDir = 1;
    var stripe = function () {
      var k = 0;
      Array.prototype.forEach.call(body.querySelectorAll('tr.img-row'), function (r) {
        if (r.hidden) return;
        r.classList.toggle('odd', k % 2 === 1);
        k++;
      });
    };
    var keyOf = function (row, col, numeric) {
      var cell = row.cells[col];
      var v = cell.hasAttribute('data-v') ? cell.getAttribute('data-v') : cell.textContent.trim();
      if (!numeric) return v === '' ? null : v;
      if (v === '') return null;
      var x = parseFloat(v);
      return isFinite(x) ? x : null;
    };
    Array.prototype.forEach.call(heads, function (th, col) {
      if (!th.classList.contains('sort')) return;
      if (!th.title) th.title = 'Sort by this column (click again to reverse)';
      th.addEventListener('click', function () {
        var numeric = th.getAttribute('data-type') === 'num';
        sortDir = sortCol === col ? -sortDir : (numeric ? -1 : 1);
        if (th.hasAttribute('data-asc')) sortDir = sortCol === col ? sortDir : 1;
        sortCol = col;
        var sorted = rows.slice().sort(function (a, b) {
          var x = keyOf(a, col, numeric), y = keyOf(b, col, numeric);
          if (x === null || y === null) {
            if (x === null && y === null) return a.rowIndex - b.rowIndex;
            return x === null ? 1 : -1;  // empty cells last either way
          }
          var c = numeric ? (x < y ? -1 : x > y ? 1 : 0) : collator.compare(x, y);
          return c * sortDir || (+a.getAttribute('data-i')) - (+b.getAttribute('data-i'));
        });
        sorted.forEach(function (r) { body.appendChild(r); });
        Array.prototype.forEach.call(heads, function (h) {
          var a = h.querySelector('.arrow');
          if (a) a.textContent = h === th ? (sortDir > 0 ? '\u25b2' : '\u25bc') : '';
        });
        stripe();
      });
    });
    var mode = 'all';
    var query = document.getElementById('gallery-query');
    var count = document.getElementById('gallery-count');
    var apply = function () {
      var q = query ? query.value.trim().toLowerCase() : '';
      var shown = 0;
      rows.forEach(function (r) {
        var c = r.getAttribute('data-correct');
        var keep = (mode === 'all' || (mode === 'correct' && c === '1') || (mode === 'wrong' && c === '0')) &&
                   (q === '' || r.searchText.indexOf(q) >= 0);
        r.hidden = !keep;
        if (keep) shown++;
      });
      if (count) count.textContent = shown + ' of ' + rows.length + ' images shown';
      stripe();
    };
    Array.prototype.forEach.call(document.querySelectorAll('.filters button[data-filter]'), function (b) {
      b.addEventListener('click', function () {
        mode = b.getAttribute('data-filter');
        Array.prototype.forEach.call(document.querySelectorAll('.filters button[data-filter]'), function (o) {
          o.classList.toggle('on', o === b);
        });
        apply();
      });
    });
    if (query) query.addEventListener('input', apply);
    apply();
  }
  document.body.setAttribute('data-ready', '1');
})();
)JS";

const char* const kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#393b79"};
constexpr int kPaletteSize = int(sizeof kPalette / sizeof kPalette[0]);

void appendCard(std::string& out, const std::string& value, const std::string& key, bool bad = false) {
    out += bad ? "<div class=\"card bad\">" : "<div class=\"card\">";
    out += "<div class=\"v\">" + esc(value) + "</div><div class=\"k\">" + esc(key) + "</div></div>";
}

void appendHeader(std::string& out, const BatchSummary& s, int failedCount) {
    out += "<h1>Mirada batch report</h1>\n<p class=\"sub\">";
    appendEscaped(out, s.model_name.empty() ? std::string("(model without a name)") : s.model_name);
    out += " &middot; ";
    appendEscaped(out, s.root.string());
    out += "</p>\n";

    out += "<nav><a href=\"#overview\">Overview</a>";
    if (!s.curves.empty()) out += "<a href=\"#curves\">Curves</a>";
    out += "<a href=\"#images\">Images</a>";
    if (failedCount > 0) out += "<a href=\"#failed\">Failed</a>";
    if (!s.per_class.empty()) out += "<a href=\"#per-class\">Per class</a>";
    if (s.labelled && !s.confusion.empty()) out += "<a href=\"#confusion\">Confusion matrix</a>";
    out += "</nav>\n";

    if (s.cancelled) {
        out += "<div class=\"banner\"><strong>Cancelled.</strong> The run was stopped before the end; " +
               std::to_string(s.not_run) + " of " + std::to_string(s.found) +
               " images not run. This report covers the images that are complete on disk.</div>\n";
    }

    out += "<div class=\"cards\">";
    appendCard(out, std::to_string(s.found), "images found");
    appendCard(out, std::to_string(s.done), "done");
    appendCard(out, std::to_string(s.skipped), "skipped (done before)");
    appendCard(out, std::to_string(s.failed), "failed", s.failed > 0);
    appendCard(out, std::to_string(s.not_run), "not run", s.not_run > 0);
    if (s.labelled) {
        appendCard(out, percent(s.accuracy), "accuracy");
    }
    if (s.seconds > 0) appendCard(out, fixed(s.seconds, 1) + " s", "this run");
    out += "</div>\n";

    out += "<dl class=\"meta\"><dt>Model</dt><dd>" + (s.model_name.empty() ? std::string(kDash) : esc(s.model_name)) +
           "</dd>";
    out += "<dt>Folder</dt><dd>" + esc(s.root.string()) + "</dd>";
    out += "<dt>Output</dt><dd>" + esc(s.out.string()) + "</dd>";
    if (s.labelled) {
        out += "<dt>Accuracy</dt><dd>Accuracy " + percent(s.accuracy) + " (" + std::to_string(s.correct_images) +
               " of " + std::to_string(s.labelled_images) + " labelled images)</dd>";
    } else {
        out += "<dt>Accuracy</dt><dd>not known: the images are not sorted into class folders</dd>";
    }
    if (!s.methods.empty()) {
        out += "<dt>Methods</dt><dd>";
        for (size_t i = 0; i < s.methods.size(); ++i) {
            if (i) out += ", ";
            appendEscaped(out, i < s.titles.size() && !s.titles[i].empty() ? s.titles[i] : s.methods[i]);
        }
        out += "</dd>";
    }
    if (!s.key.empty()) out += "<dt>Settings key</dt><dd><code>" + esc(s.key) + "</code></dd>";
    out += "</dl>\n";

    if (!s.notes.empty()) {
        out += "<ul class=\"notes\">";
        for (const auto& n : s.notes) out += "<li>" + esc(n) + "</li>";
        out += "</ul>\n";
    }
    if (!s.settings.is_null()) {
        out += "<details><summary>Settings</summary><pre>";
        appendEscaped(out, s.settings.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
        out += "</pre></details>\n";
    }
}

void appendMetricNote(std::string& out) {
    out +=
        "<p class=\"note\"><strong>Deletion AUC</strong> (lower is better): the image's most important pixels, "
        "as the heatmap ranks them, are removed step by step and the area under the target probability curve "
        "is taken &ndash; a faithful map makes the probability drop fast. <strong>Insertion AUC</strong> "
        "(higher is better): starting from the baseline, the most important pixels are revealed step by step "
        "&ndash; a faithful map makes the probability rise fast. The <strong>random floor</strong> is the same "
        "measurement with a random pixel order: a useful map beats it on both.</p>\n";
}

// One group's rows of an aggregate table: one per method, then the random floor.
void appendGroupRows(std::string& out, const GroupAggregate& g, bool metrics, const std::string& name) {
    const size_t rows = g.methods.size() + (metrics ? 1 : 0);
    const std::string span = rows > 1 ? " rowspan=\"" + std::to_string(rows) + "\"" : "";
    bool first = true;
    auto lead = [&]() {
        if (!first) return;
        first = false;
        out += "<td class=\"group\"" + span + ">" + esc(name) + "</td><td class=\"n group\"" + span + ">" +
               std::to_string(g.images) + "</td>";
        if (metrics) out += "<td class=\"n group\"" + span + ">" + percent(g.target_probability.mean) + "</td>";
    };
    for (const auto& m : g.methods) {
        out += "<tr>";
        lead();
        out += "<td class=\"method\">" + esc(m.title.empty() ? m.method : m.title) + "</td>";
        if (metrics) {
            out += "<td class=\"n\">" + spreadText(m.deletion, 3) + "</td>";
            out += "<td class=\"n\">" + spreadText(m.insertion, 3) + "</td>";
            const int n = std::min(m.deletion.n, m.insertion.n);
            out += "<td class=\"n\">";
            if (n > 0) {
                out += std::to_string(m.beats_random_both) + " of " + std::to_string(n) + " (" +
                       fixed(100.0 * m.beats_random_both / n, 0) + "%)";
            } else {
                out += kDash;
            }
            out += "</td>";
        }
        out += "<td class=\"n\">" + std::to_string(m.failed) + "</td>";
        out += "<td class=\"n\">" + (m.seconds.n > 0 ? fixed(m.seconds.mean, 2) + " s" : std::string(kDash)) + "</td>";
        out += "</tr>\n";
    }
    if (metrics) {
        out += "<tr class=\"floor\">";
        lead();
        out += "<td class=\"method\">random floor</td><td class=\"n\">" + spreadText(g.random_deletion, 3) +
               "</td><td class=\"n\">" + spreadText(g.random_insertion, 3) + "</td><td class=\"n\">" + kDash +
               "</td><td class=\"n\">" + kDash + "</td><td class=\"n\">" + kDash + "</td></tr>\n";
    }
    if (g.methods.empty() && !metrics) {
        out += "<tr>";
        lead();
        out += "<td>" + std::string(kDash) + "</td><td class=\"n\">" + kDash + "</td><td class=\"n\">" + kDash +
               "</td></tr>\n";
    }
}

void appendAggregateTable(std::string& out, const std::vector<const GroupAggregate*>& groups, bool metrics,
                          const std::string& groupHead) {
    out += "<div class=\"scroll\"><table class=\"aggregate\"><thead><tr><th>" + esc(groupHead) +
           "</th><th class=\"n\">Images</th>";
    if (metrics) out += "<th class=\"n\">Target prob.<br><small>mean</small></th>";
    out += "<th>Method</th>";
    if (metrics) {
        out +=
            "<th class=\"n\">Deletion AUC &darr;<br><small>mean &plusmn; sd (n)</small></th>"
            "<th class=\"n\">Insertion AUC &uarr;<br><small>mean &plusmn; sd (n)</small></th>"
            "<th class=\"n\">Beats random<br><small>on both</small></th>";
    }
    out += "<th class=\"n\">Failed</th><th class=\"n\">Seconds<br><small>mean</small></th></tr></thead>\n<tbody>\n";
    for (const GroupAggregate* g : groups) appendGroupRows(out, *g, metrics, g->name.empty() ? kDash : g->name);
    out += "</tbody></table></div>\n";
}

// ---------------------------------------------------------------- curves

double meanCurveAuc(const std::vector<double>& x, const std::vector<double>& y) {
    double area = 0, span = 0;
    for (size_t i = 1; i < x.size() && i < y.size(); ++i) {
        if (!std::isfinite(x[i - 1]) || !std::isfinite(x[i]) || !std::isfinite(y[i - 1]) || !std::isfinite(y[i]))
            continue;
        area += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2;
        span += x[i] - x[i - 1];
    }
    return span > 0 ? area / span : NAN;
}

void appendChart(std::string& out, const BatchSummary& s, bool deletion) {
    const double W = 620, H = 380, left = 54, right = 190, top = 40, bottom = 50;
    const double pw = W - left - right, ph = H - top - bottom;
    auto px = [&](double f) { return fixed(left + std::clamp(f, 0.0, 1.0) * pw, 1); };
    auto py = [&](double p) { return fixed(top + (1.0 - std::clamp(p, 0.0, 1.0)) * ph, 1); };

    out += "<svg class=\"chart\" viewBox=\"0 0 620 380\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\">";
    out += "<text class=\"title\" x=\"" + fixed(left, 0) + "\" y=\"22\">";
    out += deletion ? "Deletion (lower is better)" : "Insertion (higher is better)";
    out += "</text>";
    // grid, ticks and labels
    for (int i = 0; i <= 5; ++i) {
        const double v = i / 5.0;
        const std::string label = fixed(v, 1);
        out += "<line class=\"grid\" x1=\"" + px(v) + "\" y1=\"" + py(0) + "\" x2=\"" + px(v) + "\" y2=\"" + py(1) +
               "\"/>";
        out += "<line class=\"grid\" x1=\"" + px(0) + "\" y1=\"" + py(v) + "\" x2=\"" + px(1) + "\" y2=\"" + py(v) +
               "\"/>";
        out += "<line class=\"axis\" x1=\"" + px(v) + "\" y1=\"" + py(0) + "\" x2=\"" + px(v) + "\" y2=\"" +
               fixed(top + ph + 5, 1) + "\"/>";
        out += "<line class=\"axis\" x1=\"" + fixed(left - 5, 1) + "\" y1=\"" + py(v) + "\" x2=\"" + px(0) +
               "\" y2=\"" + py(v) + "\"/>";
        out += "<text x=\"" + px(v) + "\" y=\"" + fixed(top + ph + 19, 1) + "\" text-anchor=\"middle\">" + label +
               "</text>";
        out += "<text x=\"" + fixed(left - 8, 1) + "\" y=\"" + py(v) + "\" dy=\"4\" text-anchor=\"end\">" + label +
               "</text>";
    }
    out += "<rect x=\"" + px(0) + "\" y=\"" + py(1) + "\" width=\"" + fixed(pw, 1) + "\" height=\"" + fixed(ph, 1) +
           "\" fill=\"none\" class=\"axis\" stroke=\"#8a949e\"/>";
    out += "<text x=\"" + fixed(left + pw / 2, 1) + "\" y=\"" + fixed(H - 10, 1) +
           "\" text-anchor=\"middle\">fraction of pixels " + (deletion ? "removed" : "revealed") + "</text>";
    out += "<text transform=\"translate(14 " + fixed(top + ph / 2, 1) +
           ") rotate(-90)\" text-anchor=\"middle\">target probability</text>";

    int colour = 0, legendRow = 0;
    // The random floor first, so that the methods are drawn over it.
    std::vector<const MeanCurves*> order;
    for (const auto& c : s.curves)
        if (c.method == "random") order.push_back(&c);
    for (const auto& c : s.curves)
        if (c.method != "random") order.push_back(&c);
    std::vector<std::string> legend;
    std::string floorEntry;
    for (const MeanCurves* c : order) {
        const bool floor = c->method == "random";
        const std::vector<double>& y = deletion ? c->deletion : c->insertion;
        const size_t n = std::min(c->fraction.size(), y.size());
        std::string d;
        bool pen = false;
        for (size_t i = 0; i < n; ++i) {
            if (!std::isfinite(c->fraction[i]) || !std::isfinite(y[i])) {
                pen = false;
                continue;
            }
            d += pen ? " L" : " M";
            d += px(c->fraction[i]) + " " + py(y[i]);
            pen = true;
        }
        const std::string stroke = floor ? std::string("#8c8c8c") : std::string(kPalette[colour++ % kPaletteSize]);
        std::string title = floor ? std::string("random floor") : (c->title.empty() ? c->method : c->title);
        const double area = meanCurveAuc(c->fraction, y);
        if (!d.empty()) {
            out += "<path fill=\"none\" stroke=\"" + stroke + "\" stroke-width=\"" + (floor ? "1.6" : "2") + "\"";
            if (floor) out += " stroke-dasharray=\"6 4\"";
            out += " d=\"" + d.substr(1) + "\"><title>" + esc(title) + " (" + std::to_string(c->images) +
                   " images)</title></path>";
        }
        // the legend entry
        const std::string shown = title.size() > 22 ? title.substr(0, 21) + "\u2026" : title;
        std::string entry;
        entry += "<line x1=\"0\" y1=\"0\" x2=\"22\" y2=\"0\" stroke=\"" + stroke + "\" stroke-width=\"2.5\"";
        if (floor) entry += " stroke-dasharray=\"6 4\"";
        entry += "/><text x=\"28\" y=\"4\">" + esc(shown) + "<title>" + esc(title) + "</title></text>";
        entry += "<text x=\"28\" y=\"19\" fill=\"#5f6b76\" style=\"fill:#5f6b76;font-size:11px\">AUC " + auc(area) +
                 "</text>";
        if (floor)
            floorEntry = entry;
        else
            legend.push_back(entry);
    }
    if (!floorEntry.empty()) legend.push_back(floorEntry);  // the floor last
    for (const auto& entry : legend) {
        out += "<g transform=\"translate(" + fixed(left + pw + 18, 1) + " " + fixed(top + 8 + 38 * legendRow, 1) +
               ")\">" + entry + "</g>";
        ++legendRow;
    }
    out += "</svg>\n";
}

// ---------------------------------------------------------------- confusion matrix

void appendConfusion(std::string& out, const BatchSummary& s) {
    const size_t k = s.confusion.size();
    std::vector<int> rowSum(k, 0), colSum(k, 0);
    for (size_t t = 0; t < k; ++t)
        for (size_t p = 0; p < s.confusion[t].size() && p < k; ++p) {
            rowSum[t] += s.confusion[t][p];
            colSum[p] += s.confusion[t][p];
        }
    std::vector<size_t> used;
    for (size_t c = 0; c < k; ++c)
        if (rowSum[c] > 0 || colSum[c] > 0) used.push_back(c);
    auto label = [&](size_t c) {
        return c < s.confusion_labels.size() && !s.confusion_labels[c].empty() ? s.confusion_labels[c]
                                                                               : std::to_string(c);
    };
    out += "<h2 id=\"confusion\">Confusion matrix</h2>\n";
    if (used.empty()) {
        out += "<p class=\"note\">No labelled image was classified.</p>\n";
        return;
    }
    out += "<p class=\"note\">Rows: the true class; columns: the predicted class. Only the " +
           std::to_string(used.size()) + " classes that occur are shown.</p>\n";
    const bool big = used.size() > 40;
    if (big) out += "<details><summary>Show the matrix (" + std::to_string(used.size()) + " classes)</summary>";
    out += "<div class=\"scroll\"><table class=\"confusion\"><thead><tr><th>true \\ predicted</th>";
    for (size_t c : used) out += "<th class=\"col\" title=\"" + esc(label(c)) + "\">" + esc(label(c)) + "</th>";
    out += "<th class=\"n\">Total</th><th class=\"n\">Correct</th></tr></thead>\n<tbody>\n";
    for (size_t t : used) {
        if (rowSum[t] == 0) continue;
        out += "<tr><th>" + esc(label(t)) + "</th>";
        for (size_t p : used) {
            const int v = p < s.confusion[t].size() ? s.confusion[t][p] : 0;
            if (v == 0) {
                out += "<td class=\"zero\">0</td>";
                continue;
            }
            const double share = double(v) / rowSum[t];
            const double alpha = 0.12 + 0.6 * share;
            const std::string rgb = p == t ? "27,127,59" : "179,38,30";
            out += "<td style=\"background:rgba(" + rgb + "," + fixed(alpha, 2) + ")" +
                   (share > 0.55 ? ";color:#fff" : "") + "\" title=\"" + esc(label(t)) + " \u2192 " + esc(label(p)) +
                   "\">" + std::to_string(v) + "</td>";
        }
        const int diag = t < s.confusion[t].size() ? s.confusion[t][t] : 0;
        out += "<td class=\"n\">" + std::to_string(rowSum[t]) + "</td><td class=\"n\">" +
               percent(double(diag) / rowSum[t]) + "</td></tr>\n";
    }
    out += "</tbody></table></div>\n";
    if (big) out += "</details>\n";
}

// ---------------------------------------------------------------- gallery

const BatchMethodResult* findMethod(const BatchImageResult& r, const std::string& method, size_t index) {
    for (const auto& m : r.methods)
        if (m.method == method) return &m;
    return index < r.methods.size() && r.methods[index].method.empty() ? &r.methods[index] : nullptr;
}

void appendNumCell(std::string& out, double value, const std::string& text, const std::string& tooltip = "") {
    out += "<td class=\"n\" data-v=\"" + sortKey(value) + "\"";
    if (!tooltip.empty()) out += " title=\"" + esc(tooltip) + "\"";
    out += ">" + text + "</td>";
}

// A label with its probability below; sorted by the probability.
void appendLabelCell(std::string& out, const std::string& label, double probability) {
    out += "<td class=\"lp\" data-v=\"" + sortKey(probability) + "\">" +
           (label.empty() ? std::string(kDash) : esc(label)) + "<div class=\"p\">" + percent(probability) +
           "</div></td>";
}

void appendGallery(std::string& out, const BatchSummary& s, const std::vector<const BatchImageResult*>& done) {
    const bool metrics = s.has_metrics;
    const bool labelled = s.labelled;
    auto title = [&](size_t i) { return i < s.titles.size() && !s.titles[i].empty() ? s.titles[i] : s.methods[i]; };

    out += "<h2 id=\"images\">Images (" + std::to_string(done.size()) + ")</h2>\n";
    out +=
        "<p class=\"note\">Click a column header to sort by it (click again to reverse; Predicted and Target sort by "
        "the probability). Thumbnails: what the model saw, then each method's overlay.";
    if (metrics) out += " AUCs: lower deletion and higher insertion are better.";
    out += "</p>\n";
    out += "<div class=\"filters\">";
    if (labelled) {
        out +=
            "<button type=\"button\" data-filter=\"all\" class=\"on\">All</button>"
            "<button type=\"button\" data-filter=\"correct\">Correct</button>"
            "<button type=\"button\" data-filter=\"wrong\">Wrong</button>";
    }
    out +=
        "<input id=\"gallery-query\" type=\"search\" placeholder=\"Filter by id or label\">"
        "<span id=\"gallery-count\" class=\"count\">" +
        std::to_string(done.size()) + " images</span></div>\n";

    out += "<div class=\"gallery-wrap\"><table id=\"gallery\" data-rows=\"" + std::to_string(done.size()) +
           "\"><thead><tr><th>Image</th>";
    for (size_t i = 0; i < s.methods.size(); ++i) out += "<th>" + esc(title(i)) + "</th>";
    auto sortable = [&](const std::string& text, bool numeric, bool ascFirst = false, bool centre = false) {
        out += std::string("<th class=\"sort") +
               (centre    ? " c"
                : numeric ? " n"
                          : "") +
               "\" data-type=\"" + (numeric ? "num" : "text") + "\"" + (ascFirst ? " data-asc=\"1\"" : "") + ">" +
               text + "<span class=\"arrow\"></span></th>";
    };
    sortable("Id", false);
    if (labelled) sortable("True", false);
    sortable("Predicted", true);
    if (labelled) sortable("Correct", true, false, true);
    sortable("Target", true);
    if (metrics) {
        for (size_t i = 0; i < s.methods.size(); ++i) {
            sortable(esc(title(i)) + "<br><small>deletion &darr;</small>", true, true);
            sortable(esc(title(i)) + "<br><small>insertion &uarr;</small>", true);
        }
        sortable("Random<br><small>deletion</small>", true, true);
        sortable("Random<br><small>insertion</small>", true);
    }
    out += "</tr></thead>\n<tbody>\n";

    if (done.empty()) {
        const size_t columns = 1 + s.methods.size() + (labelled ? 5 : 3) + (metrics ? 2 * s.methods.size() + 2 : 0);
        out += "<tr><td class=\"empty\" colspan=\"" + std::to_string(columns) + "\">No image finished.</td></tr>\n";
    }
    for (size_t row = 0; row < done.size(); ++row) {
        const BatchImageResult& r = *done[row];
        out += "<tr class=\"img-row";
        if (row % 2 == 1) out += " odd";
        out += "\" data-i=\"" + std::to_string(row) + "\" data-correct=\"" +
               (r.labelled() ? (r.correct() ? "1" : "0") : "") + "\" data-text=\"";
        appendEscaped(out, r.id + " " + r.true_label + " " + r.predicted_label + " " + r.target_label);
        out += "\">";

        // what the model saw, else the original file
        out += "<td class=\"img\">";
        bool shown = appendThumbnail(out, under(s.out, r.input_file), r.id);
        if (!shown) {
            fs::path original(r.file);
            shown = appendThumbnail(out, original, r.id);
            if (!shown && !original.empty() && original.is_relative() && !s.root.empty())
                shown = appendThumbnail(out, s.root / original, r.id);
        }
        if (!shown) appendPlaceholder(out, "no file", r.input_file.empty() ? r.file : r.input_file);
        out += "</td>";
        for (size_t i = 0; i < s.methods.size(); ++i) {
            out += "<td class=\"img\">";
            const BatchMethodResult* m = findMethod(r, s.methods[i], i);
            if (m && !m->ok) {
                appendPlaceholder(out, "failed", m->error);
            } else if (!m || !appendThumbnail(out, under(s.out, m->overlay_file), r.id + " " + title(i))) {
                appendPlaceholder(out, "no file", m ? m->overlay_file : std::string());
            }
            out += "</td>";
        }

        out += "<td>" + esc(r.id) + "</td>";
        if (labelled) out += "<td>" + (r.true_label.empty() ? std::string(kDash) : esc(r.true_label)) + "</td>";
        appendLabelCell(out, r.predicted_label, r.predicted_probability);
        if (labelled) {
            if (!r.labelled())
                out += "<td class=\"c\" data-v=\"\">" + std::string(kDash) + "</td>";
            else if (r.correct())
                out += "<td class=\"c\" data-v=\"1\"><span class=\"ok\" title=\"correct\">\u2713</span></td>";
            else
                out += "<td class=\"c\" data-v=\"0\"><span class=\"no\" title=\"wrong\">\u2717</span></td>";
        }
        appendLabelCell(out, r.target_label, r.target_probability);
        if (metrics) {
            for (size_t i = 0; i < s.methods.size(); ++i) {
                const BatchMethodResult* m = findMethod(r, s.methods[i], i);
                const bool has = m && m->ok && m->has_metrics;
                const double del = has ? m->deletion_auc : NAN, ins = has ? m->insertion_auc : NAN;
                const std::string why = m && !m->ok ? m->error : std::string();
                appendNumCell(out, del, auc(del), why);
                appendNumCell(out, ins, auc(ins), why);
            }
            const double rd = r.has_metrics ? r.random_deletion_auc : NAN;
            const double ri = r.has_metrics ? r.random_insertion_auc : NAN;
            appendNumCell(out, rd, auc(rd));
            appendNumCell(out, ri, auc(ri));
        }
        out += "</tr>\n";
    }
    out += "</tbody></table></div>\n";
}

void appendFailed(std::string& out, const std::vector<const BatchImageResult*>& failed) {
    if (failed.empty()) return;
    out += "<h2 id=\"failed\">Failed images (" + std::to_string(failed.size()) + ")</h2>\n";
    out += "<div class=\"scroll\"><table id=\"failed-table\" class=\"zebra\" data-rows=\"" +
           std::to_string(failed.size()) +
           "\"><thead><tr><th>Id</th><th>File</th><th>Error</th></tr></thead>\n<tbody>\n";
    for (const BatchImageResult* r : failed) {
        out += "<tr><td>" + esc(r->id) + "</td><td class=\"file\">" + esc(r->file) + "</td><td class=\"err\">" +
               esc(r->error.empty() ? std::string("(no message)") : r->error) + "</td></tr>\n";
    }
    out += "</tbody></table></div>\n";
}

}  // namespace

std::string batchHtml(const BatchSummary& summary) {
    const BatchSummary& s = summary;
    std::vector<const BatchImageResult*> done, failed;
    for (const auto& r : s.images) {
        if (r.status == "done")
            done.push_back(&r);
        else if (r.status == "failed")
            failed.push_back(&r);
    }

    std::string out;
    out.reserve(64 * 1024 + done.size() * (1 + s.methods.size()) * 8 * 1024);
    out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
    out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
    out += "<meta name=\"generator\" content=\"Mirada\">\n<title>Mirada batch: ";
    appendEscaped(out, s.model_name);
    out += " &middot; ";
    appendEscaped(out, s.root.filename().empty() ? s.root.string() : s.root.filename().string());
    out += "</title>\n<style>";
    out += kStyle;
    out += "</style>\n</head>\n<body>\n";

    appendHeader(out, s, int(failed.size()));

    out += "<h2 id=\"overview\">Overview</h2>\n";
    if (s.has_metrics) appendMetricNote(out);
    GroupAggregate all = s.all;
    if (all.name.empty()) all.name = "all images";
    std::vector<const GroupAggregate*> groups{&all};
    if (s.labelled) {
        groups.push_back(&s.correct);
        groups.push_back(&s.wrong);
    }
    appendAggregateTable(out, groups, s.has_metrics, "Group");

    if (!s.curves.empty()) {
        out += "<h2 id=\"curves\">Mean curves</h2>\n";
        out +=
            "<p class=\"note\">The target probability averaged over the images at each fraction of changed "
            "pixels; the dashed grey line is the random floor. The legend gives each mean curve's area.</p>\n";
        out += "<div class=\"charts\">";
        appendChart(out, s, true);
        appendChart(out, s, false);
        out += "</div>\n";
    }

    appendGallery(out, s, done);
    appendFailed(out, failed);

    if (!s.per_class.empty()) {
        out += "<h2 id=\"per-class\">Per class</h2>\n";
        out += std::string("<p class=\"note\">Grouped by the ") + (s.labelled ? "true" : "predicted") + " class.</p>\n";
        const bool big = s.per_class.size() > 30;
        if (big) out += "<details><summary>Show " + std::to_string(s.per_class.size()) + " classes</summary>\n";
        std::vector<const GroupAggregate*> classes;
        for (const auto& g : s.per_class) classes.push_back(&g);
        appendAggregateTable(out, classes, s.has_metrics, s.labelled ? "True class" : "Predicted class");
        if (big) out += "</details>\n";
    }
    if (s.labelled && !s.confusion.empty()) appendConfusion(out, s);

    out += "<script>";
    out += kScript;
    out += "</script>\n</body>\n</html>\n";
    return out;
}

}  // namespace mirada
