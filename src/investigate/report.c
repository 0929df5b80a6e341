/* investigate: the report model shared by every playbook. */
#include "investigate/investigate_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct investigate_report *investigate__report_new(const char *kind, const char *title)
{
    struct investigate_report *r = xcalloc(1, sizeof(*r));
    r->kind = xstrdup(kind);
    r->title = xstrdup(title);
    /* one allocation per point was a tenth of a 163 k-event playbook's
     * user time, with the frees */
    arena_init(&r->point_text, 0);
    return r;
}

void investigate__summary(struct investigate_report *r, const char *key, const char *fmt, ...)
{
    struct buf b;
    buf_init(&b, 0);
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    r->summary_keys = xrealloc(r->summary_keys, (r->n_summary + 1) * sizeof(char *));
    r->summary_vals = xrealloc(r->summary_vals, (r->n_summary + 1) * sizeof(char *));
    r->summary_keys[r->n_summary] = xstrdup(key);
    r->summary_vals[r->n_summary] = b.p ? buf_steal(&b) : xstrdup("");
    r->n_summary++;
    buf_free(&b);
}

struct investigate_table *investigate__table(struct investigate_report *r, const char *title,
                                             const char *note, ...)
{
    struct investigate_table *t = xcalloc(1, sizeof(*t));
    t->title = xstrdup(title);
    t->note = note ? xstrdup(note) : NULL;
    va_list ap;
    va_start(ap, note);
    for (const char *c = va_arg(ap, const char *); c; c = va_arg(ap, const char *)) {
        t->cols = xrealloc(t->cols, (t->n_cols + 1) * sizeof(char *));
        t->cols[t->n_cols++] = xstrdup(c);
    }
    va_end(ap);
    r->tables = xrealloc(r->tables, (r->n_tables + 1) * sizeof(*r->tables));
    r->tables[r->n_tables++] = t;
    return t;
}

void investigate__row(struct investigate_table *t, ...)
{
    if (t->n_rows == t->cap_rows) {
        t->cap_rows = t->cap_rows ? t->cap_rows * 2 : 16;
        t->cells = xrealloc(t->cells, t->cap_rows * t->n_cols * sizeof(char *));
    }
    va_list ap;
    va_start(ap, t);
    for (size_t i = 0; i < t->n_cols; i++) {
        const char *c = va_arg(ap, const char *);
        t->cells[t->n_rows * t->n_cols + i] = xstrdup(c ? c : "");
    }
    va_end(ap);
    t->n_rows++;
}

void investigate__point(struct investigate_report *r, int64_t ms, const char *lane,
                        const char *label, bool failed)
{
    if (r->n_points == r->cap_points) {
        r->cap_points = r->cap_points ? r->cap_points * 2 : 64;
        r->points = xrealloc(r->points, r->cap_points * sizeof(*r->points));
    }
    struct investigate_point *p = &r->points[r->n_points++];
    p->ms = ms;
    p->lane = arena_strndup(&r->point_text, lane, strlen(lane));
    p->label = arena_strndup(&r->point_text, label, strlen(label));
    p->failed = failed;
}

void investigate__time(int64_t ms, char out[32])
{
    if (ms == INT64_MIN || ms == INT64_MAX) {
        out[0] = '\0';
        return;
    }
    time_format_iso8601(ms, false, out);
}

const char *investigate__col(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    return t ? (const char *)t : "";
}

int investigate__db_err(sqlite3 *db, struct err *err, const char *what)
{
    return err_set(err, ERR_DB, "%s: %s", what, sqlite3_errmsg(db));
}

void investigate_report_free(struct investigate_report *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n_summary; i++) {
        free(r->summary_keys[i]);
        free(r->summary_vals[i]);
    }
    free(r->summary_keys);
    free(r->summary_vals);
    for (size_t i = 0; i < r->n_tables; i++) {
        struct investigate_table *t = r->tables[i];
        for (size_t c = 0; c < t->n_cols; c++)
            free(t->cols[c]);
        for (size_t c = 0; c < t->n_rows * t->n_cols; c++)
            free(t->cells[c]);
        free(t->cols);
        free(t->cells);
        free(t->title);
        free(t->note);
        free(t);
    }
    free(r->tables);
    free(r->points);
    arena_free(&r->point_text);
    free(r->kind);
    free(r->title);
    free(r);
}

const struct investigate_table *investigate_report_table(const struct investigate_report *r,
                                                         const char *title)
{
    for (size_t i = 0; i < r->n_tables; i++)
        if (strcmp(r->tables[i]->title, title) == 0)
            return r->tables[i];
    return NULL;
}

const char *investigate_report_summary(const struct investigate_report *r, const char *key)
{
    for (size_t i = 0; i < r->n_summary; i++)
        if (strcmp(r->summary_keys[i], key) == 0)
            return r->summary_vals[i];
    return NULL;
}

static long col_index(const struct investigate_table *t, const char *col)
{
    for (size_t c = 0; c < t->n_cols; c++)
        if (strcmp(t->cols[c], col) == 0)
            return (long)c;
    return -1;
}

long investigate_table_find(const struct investigate_table *t, const char *col, const char *value)
{
    long c = t ? col_index(t, col) : -1;
    if (c < 0)
        return -1;
    for (size_t r = 0; r < t->n_rows; r++)
        if (strcmp(t->cells[r * t->n_cols + (size_t)c], value) == 0)
            return (long)r;
    return -1;
}

const char *investigate_table_cell(const struct investigate_table *t, size_t row, const char *col)
{
    long c = t ? col_index(t, col) : -1;
    if (c < 0 || row >= t->n_rows)
        return NULL;
    return t->cells[row * t->n_cols + (size_t)c];
}
