/*
 * The JSON writer (jw_*), json_escape and json_write_value.
 *
 * Output is always valid JSON for any input bytes except that bytes >= 0x80
 * are copied as they are (the writer does not repair invalid UTF-8).
 * Buffer errors (a capped buf that is full) are sticky in w->rc: later calls
 * write nothing more, and the caller checks w->rc once at the end.
 */
#include "json_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* 0 = copy as is; otherwise the character after the backslash ('u' = \u00XX). */
static const char esc_tab[256] = {
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'b', 't', 'n', 'u', 'f', 'r', 'u', 'u',
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
    0,   0,   '"', 0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   '\\', 0,  0,   0,
};

static int escape(struct buf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t run = 0;
    int rc = 0;
    for (size_t i = 0; i < len; i++) {
        char e = esc_tab[p[i]];
        if (e == 0)
            continue;
        if (i > run)
            rc |= buf_append(out, s + run, i - run);
        char tmp[6] = { '\\', e, '0', '0', hex[p[i] >> 4], hex[p[i] & 15] };
        rc |= buf_append(out, tmp, e == 'u' ? 6 : 2);
        run = i + 1;
    }
    if (len > run)
        rc |= buf_append(out, s + run, len - run);
    return rc != 0 ? ERR_LIMIT : 0;
}

void json_escape(struct buf *out, const char *s, size_t len)
{
    (void)escape(out, s, len);
}

static int quoted(struct buf *out, const char *s, size_t len)
{
    int rc = buf_putc(out, '"');
    rc |= escape(out, s, len);
    rc |= buf_putc(out, '"');
    return rc != 0 ? ERR_LIMIT : 0;
}

/* ---- writer ---------------------------------------------------------------------- */

void jw_init(struct json_writer *w, struct buf *out, int indent)
{
    memset(w, 0, sizeof(*w));
    w->out = out;
    w->indent = indent;
}

static void put(struct json_writer *w, const char *s, size_t len)
{
    if (w->rc == 0)
        w->rc = buf_append(w->out, s, len);
}

static void newline(struct json_writer *w)
{
    static const char spaces[] = "                                ";
    put(w, "\n", 1);
    size_t n = (size_t)w->indent * (size_t)w->depth;
    while (n > 0) {
        size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;
        put(w, spaces, k);
        n -= k;
    }
}

/* Separator and indentation before a value or a key. */
static void before(struct json_writer *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->depth == 0)
        return;
    if (!w->first[w->depth - 1])
        put(w, ",", 1);
    w->first[w->depth - 1] = false;
    if (w->indent > 0)
        newline(w);
}

static void begin_(struct json_writer *w, char c)
{
    before(w);
    if (w->depth >= JSON_MAX_DEPTH)
        abort(); /* a programming error, see json.h */
    put(w, &c, 1);
    w->first[w->depth++] = true;
}

static void close_(struct json_writer *w, char c)
{
    if (w->depth == 0)
        abort();
    bool empty = w->first[--w->depth];
    if (!empty && w->indent > 0)
        newline(w);
    put(w, &c, 1);
}

void jw_object_begin(struct json_writer *w) { begin_(w, '{'); }
void jw_object_end(struct json_writer *w) { close_(w, '}'); }
void jw_array_begin(struct json_writer *w) { begin_(w, '['); }
void jw_array_end(struct json_writer *w) { close_(w, ']'); }

void jw_key_sv(struct json_writer *w, struct sv key)
{
    before(w);
    if (w->rc == 0)
        w->rc = quoted(w->out, key.p, key.len);
    put(w, ": ", w->indent > 0 ? 2 : 1);
    w->after_key = true;
}

void jw_key(struct json_writer *w, const char *key) { jw_key_sv(w, sv_cstr(key)); }

void jw_str_sv(struct json_writer *w, struct sv s)
{
    before(w);
    if (w->rc == 0)
        w->rc = quoted(w->out, s.p, s.len);
}

void jw_str(struct json_writer *w, const char *s) { jw_str_sv(w, sv_cstr(s)); }

void jw_int(struct json_writer *w, int64_t v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof(tmp), "%lld", (long long)v);
    before(w);
    put(w, tmp, (size_t)n);
}

size_t json_format_double(double v, char out[32])
{
    if (!isfinite(v)) {
        memcpy(out, "null", 5);
        return 4;
    }
    /* Integers (below 2^53, where every integer is exact) print without a
     * fraction; anything else gets the shortest %.{15,16,17}g that reads back
     * to the same double. */
    if (v == trunc(v) && fabs(v) < 9007199254740992.0) {
        return (size_t)snprintf(out, 32, "%lld", (long long)v);
    }
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(out, 32, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            break;
    }
    return (size_t)n;
}

void jw_double(struct json_writer *w, double v)
{
    char tmp[32];
    size_t n = json_format_double(v, tmp);
    before(w);
    put(w, tmp, n);
}

void jw_bool(struct json_writer *w, bool v)
{
    before(w);
    put(w, v ? "true" : "false", v ? 4 : 5);
}

void jw_null(struct json_writer *w)
{
    before(w);
    put(w, "null", 4);
}

void jw_raw(struct json_writer *w, struct sv json)
{
    before(w);
    put(w, json.p, json.len);
}

/* ---- tree writer ------------------------------------------------------------------- */

int json_write_value(struct buf *out, const struct json_value *v)
{
    int rc = 0;
    switch (v->type) {
    case JSON_NULL:
        return buf_append(out, "null", 4);
    case JSON_FALSE:
        return buf_append(out, "false", 5);
    case JSON_TRUE:
        return buf_append(out, "true", 4);
    case JSON_NUMBER:
        return buf_append(out, v->str, v->len);
    case JSON_STRING:
        return quoted(out, v->str, v->len);
    case JSON_OBJECT:
    case JSON_ARRAY: {
        bool obj = v->type == JSON_OBJECT;
        rc = buf_putc(out, obj ? '{' : '[');
        for (size_t i = 0; i < v->n && rc == 0; i++) {
            if (i > 0)
                rc = buf_putc(out, ',');
            if (obj && rc == 0) {
                rc = quoted(out, v->items[i].key, v->items[i].key_len);
                if (rc == 0)
                    rc = buf_putc(out, ':');
            }
            if (rc == 0)
                rc = json_write_value(out, &v->items[i]);
        }
        if (rc == 0)
            rc = buf_putc(out, obj ? '}' : ']');
        return rc;
    }
    default:
        return ERR_INTERNAL;
    }
}
