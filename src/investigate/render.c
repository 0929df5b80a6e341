/* investigate: reports as Markdown, JSON and a self-contained HTML page. */
#include "investigate/investigate_int.h"
#include "json/json.h"

#include <string.h>

/* ---- Markdown ------------------------------------------------------------------ */

/* A cell never breaks the table: pipes are escaped, line breaks become spaces. */
static void md_cell(struct buf *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            buf_append(out, "\\|", 2);
        else if (*s == '\n' || *s == '\r')
            buf_putc(out, ' ');
        else
            buf_putc(out, *s);
    }
}

int investigate_write_markdown(struct buf *out, const struct investigate_report *r)
{
    buf_printf(out, "# %s\n\n", r->title);
    for (size_t i = 0; i < r->n_summary; i++)
        buf_printf(out, "- **%s**: %s\n", r->summary_keys[i], r->summary_vals[i]);
    for (size_t i = 0; i < r->n_tables; i++) {
        const struct investigate_table *t = r->tables[i];
        buf_printf(out, "\n## %s\n\n", t->title);
        if (t->note)
            buf_printf(out, "%s\n\n", t->note);
        if (t->n_rows == 0) {
            buf_append_cstr(out, "(none)\n");
            continue;
        }
        /* Commands read better as a script than as a one-column table. */
        if (t->n_cols == 1 && strcmp(t->cols[0], "command") == 0) {
            buf_append_cstr(out, "```sh\n");
            for (size_t row = 0; row < t->n_rows; row++)
                buf_printf(out, "%s\n", t->cells[row]);
            buf_append_cstr(out, "```\n");
            continue;
        }
        buf_append_cstr(out, "|");
        for (size_t c = 0; c < t->n_cols; c++) {
            buf_putc(out, ' ');
            md_cell(out, t->cols[c]);
            buf_append_cstr(out, " |");
        }
        buf_append_cstr(out, "\n|");
        for (size_t c = 0; c < t->n_cols; c++)
            buf_append_cstr(out, "---|");
        buf_putc(out, '\n');
        for (size_t row = 0; row < t->n_rows; row++) {
            buf_append_cstr(out, "|");
            for (size_t c = 0; c < t->n_cols; c++) {
                buf_putc(out, ' ');
                md_cell(out, t->cells[row * t->n_cols + c]);
                buf_append_cstr(out, " |");
            }
            buf_putc(out, '\n');
        }
    }
    return buf_putc(out, '\n');
}

/* ---- JSON ---------------------------------------------------------------------- */

int investigate_write_json(struct buf *out, const struct investigate_report *r)
{
    struct json_writer w;
    jw_init(&w, out, 2);
    jw_object_begin(&w);
    jw_key(&w, "kind");
    jw_str(&w, r->kind);
    jw_key(&w, "title");
    jw_str(&w, r->title);
    jw_key(&w, "summary");
    jw_object_begin(&w);
    for (size_t i = 0; i < r->n_summary; i++) {
        jw_key(&w, r->summary_keys[i]);
        jw_str(&w, r->summary_vals[i]);
    }
    jw_object_end(&w);
    jw_key(&w, "tables");
    jw_array_begin(&w);
    for (size_t i = 0; i < r->n_tables; i++) {
        const struct investigate_table *t = r->tables[i];
        jw_object_begin(&w);
        jw_key(&w, "title");
        jw_str(&w, t->title);
        if (t->note) {
            jw_key(&w, "note");
            jw_str(&w, t->note);
        }
        jw_key(&w, "columns");
        jw_array_begin(&w);
        for (size_t c = 0; c < t->n_cols; c++)
            jw_str(&w, t->cols[c]);
        jw_array_end(&w);
        jw_key(&w, "rows");
        jw_array_begin(&w);
        for (size_t row = 0; row < t->n_rows; row++) {
            jw_object_begin(&w);
            for (size_t c = 0; c < t->n_cols; c++) {
                jw_key(&w, t->cols[c]);
                jw_str(&w, t->cells[row * t->n_cols + c]);
            }
            jw_object_end(&w);
        }
        jw_array_end(&w);
        jw_object_end(&w);
    }
    jw_array_end(&w);
    jw_object_end(&w);
    if (w.rc == 0)
        buf_putc(out, '\n');
    return w.rc;
}

/* ---- HTML ---------------------------------------------------------------------- */

static void html_text(struct buf *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': buf_append_cstr(out, "&lt;"); break;
        case '>': buf_append_cstr(out, "&gt;"); break;
        case '&': buf_append_cstr(out, "&amp;"); break;
        case '"': buf_append_cstr(out, "&quot;"); break;
        case '\'': buf_append_cstr(out, "&#39;"); break;
        default: buf_putc(out, *s);
        }
    }
}

#define CHART_W 960
#define CHART_LEFT 220
#define CHART_RIGHT 20
#define LANE_H 26
#define AXIS_H 30

/* The lanes in order of first appearance; returns their count (at most cap). */
static size_t chart_lanes(const struct investigate_report *r, const char **lanes, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_points; i++) {
        size_t k = 0;
        while (k < n && strcmp(lanes[k], r->points[i].lane) != 0)
            k++;
        if (k == n && n < cap)
            lanes[n++] = r->points[i].lane;
    }
    return n;
}

static void write_chart(struct buf *out, const struct investigate_report *r)
{
    const char *lanes[32];
    size_t n_lanes = chart_lanes(r, lanes, 32);
    if (n_lanes == 0)
        return;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = 0; i < r->n_points; i++) {
        if (r->points[i].ms < lo)
            lo = r->points[i].ms;
        if (r->points[i].ms > hi)
            hi = r->points[i].ms;
    }
    double span = hi > lo ? (double)(hi - lo) : 1.0;
    double plot_w = CHART_W - CHART_LEFT - CHART_RIGHT;
    int h = (int)n_lanes * LANE_H + AXIS_H;
    buf_printf(out,
               "<h2>Time chart</h2>\n<svg id=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" "
               "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">\n",
               CHART_W, h, CHART_W, h);
    for (size_t l = 0; l < n_lanes; l++) {
        int y = (int)l * LANE_H + LANE_H / 2;
        buf_printf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"lane\"/>", CHART_LEFT,
                   y, CHART_W - CHART_RIGHT, y);
        buf_printf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" class=\"lanelabel\">",
                   CHART_LEFT - 8, y + 4);
        html_text(out, lanes[l]);
        buf_append_cstr(out, "</text>\n");
    }
    int axis_y = (int)n_lanes * LANE_H + 4;
    for (int k = 0; k <= 4; k++) {
        double x = CHART_LEFT + plot_w * k / 4.0;
        char ts[32];
        investigate__time(lo + (int64_t)(span * k / 4.0), ts);
        buf_printf(out, "<line x1=\"%.1f\" y1=\"0\" x2=\"%.1f\" y2=\"%d\" class=\"tick\"/>", x, x,
                   axis_y);
        /* Three labels: five full timestamps do not fit side by side. */
        if (k % 2 == 0)
            buf_printf(out, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"%s\" class=\"axis\">%s</text>",
                       x, axis_y + 16, k == 0 ? "start" : k == 4 ? "end" : "middle", ts);
        buf_putc(out, '\n');
    }
    for (size_t i = 0; i < r->n_points; i++) {
        const struct investigate_point *p = &r->points[i];
        size_t l = 0;
        while (l < n_lanes && strcmp(lanes[l], p->lane) != 0)
            l++;
        if (l == n_lanes)
            continue; /* lanes past the cap are not drawn */
        double x = CHART_LEFT + plot_w * (double)(p->ms - lo) / span;
        char ts[32];
        investigate__time(p->ms, ts);
        buf_printf(out, "<circle cx=\"%.1f\" cy=\"%d\" r=\"4\" class=\"%s\"><title>%s ", x,
                   (int)l * LANE_H + LANE_H / 2, p->failed ? "pt fail" : "pt", ts);
        html_text(out, p->label);
        buf_append_cstr(out, "</title></circle>\n");
    }
    buf_append_cstr(out, "</svg>\n");
}

static const char html_css[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}"
    "h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 6px;"
    "text-align:left;vertical-align:top}th{background:#f2f2f2}"
    "td code,pre{font:12px ui-monospace,monospace}pre{background:#f6f6f6;padding:8px;"
    "white-space:pre-wrap}"
    ".lane{stroke:#ddd}.tick{stroke:#eee}.lanelabel,.axis{font-size:11px;fill:#444}"
    ".pt{fill:#2563eb;opacity:.75}.pt.fail{fill:#dc2626}dl{display:grid;"
    "grid-template-columns:max-content auto;gap:2px 12px}dt{font-weight:600}dd{margin:0}"
    "#filter{margin:1em 0;padding:4px;width:30em}.hidden{display:none}";

/* Filters table rows by text; marks the page ready so a headless check can
 * tell the script ran. */
static const char html_js[] =
    "(function(){var f=document.getElementById('filter');"
    "function apply(){var q=f.value.toLowerCase();"
    "document.querySelectorAll('table.data tbody tr').forEach(function(tr){"
    "tr.classList.toggle('hidden',q!==''&&tr.textContent.toLowerCase().indexOf(q)<0);});}"
    "f.addEventListener('input',apply);"
    "document.body.setAttribute('data-ready',String("
    "document.querySelectorAll('table.data tbody tr').length));})();";

int investigate_write_html(struct buf *out, const struct investigate_report *r)
{
    buf_append_cstr(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                         "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                         "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n<title>");
    html_text(out, r->title);
    buf_printf(out, "</title>\n<style>%s</style></head>\n<body>\n<h1>", html_css);
    html_text(out, r->title);
    buf_append_cstr(out, "</h1>\n<dl>\n");
    for (size_t i = 0; i < r->n_summary; i++) {
        buf_append_cstr(out, "<dt>");
        html_text(out, r->summary_keys[i]);
        buf_append_cstr(out, "</dt><dd>");
        html_text(out, r->summary_vals[i]);
        buf_append_cstr(out, "</dd>\n");
    }
    buf_append_cstr(out, "</dl>\n");
    write_chart(out, r);
    buf_append_cstr(out, "<input id=\"filter\" type=\"search\" placeholder=\"Filter rows\">\n");
    for (size_t i = 0; i < r->n_tables; i++) {
        const struct investigate_table *t = r->tables[i];
        buf_append_cstr(out, "<h2>");
        html_text(out, t->title);
        buf_append_cstr(out, "</h2>\n");
        if (t->note) {
            buf_append_cstr(out, "<p>");
            html_text(out, t->note);
            buf_append_cstr(out, "</p>\n");
        }
        if (t->n_rows == 0) {
            buf_append_cstr(out, "<p>(none)</p>\n");
            continue;
        }
        if (t->n_cols == 1 && strcmp(t->cols[0], "command") == 0) {
            buf_append_cstr(out, "<pre class=\"commands\">");
            for (size_t row = 0; row < t->n_rows; row++) {
                html_text(out, t->cells[row]);
                buf_putc(out, '\n');
            }
            buf_append_cstr(out, "</pre>\n");
            continue;
        }
        buf_append_cstr(out, "<table class=\"data\"><thead><tr>");
        for (size_t c = 0; c < t->n_cols; c++) {
            buf_append_cstr(out, "<th>");
            html_text(out, t->cols[c]);
            buf_append_cstr(out, "</th>");
        }
        buf_append_cstr(out, "</tr></thead><tbody>\n");
        for (size_t row = 0; row < t->n_rows; row++) {
            buf_append_cstr(out, "<tr>");
            for (size_t c = 0; c < t->n_cols; c++) {
                buf_append_cstr(out, "<td>");
                html_text(out, t->cells[row * t->n_cols + c]);
                buf_append_cstr(out, "</td>");
            }
            buf_append_cstr(out, "</tr>\n");
        }
        buf_append_cstr(out, "</tbody></table>\n");
    }
    buf_printf(out, "<script>%s</script>\n</body></html>\n", html_js);
    return out->max && out->len >= out->max ? ERR_LIMIT : 0;
}
