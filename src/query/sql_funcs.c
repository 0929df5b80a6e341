/*
 * The SQL functions and views `vigil query` adds to a store connection so the
 * Athena (Trino) dialect, once rewritten (sql_rewrite.c), runs on SQLite.
 *
 * Value model (Athena type -> SQLite value):
 *   VARCHAR, BIGINT, DOUBLE  as themselves
 *   TIMESTAMP                 text "YYYY-MM-DD HH:MM:SS.mmm" (UTC): sorts and compares
 *                             chronologically, prints as Trino prints it
 *   DATE                      text "YYYY-MM-DD"
 *   ROW / ARRAY / MAP / JSON  JSON text (struct fields looked up case-insensitively)
 *   IPADDRESS                 text "ip:" + 32 hex digits (IPv4 mapped to ::ffff:0:0/96),
 *                             so < and > order addresses; NULL for what is not an address
 *                             (TRY_CAST semantics: a '-' in a NODATA flow record is NULL,
 *                             whatever the evaluation order of the WHERE clause)
 *
 * Every function is deterministic except now()/current_timestamp. Functions
 * read their arguments and return copies (SQLITE_TRANSIENT); bad input gives
 * NULL, as Athena's try() would, except a bad regular expression, which is an
 * error that names it.
 */
#include "query/query_int.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define JSON_ARG_MAX (16u << 20) /* bigger JSON arguments are refused */

/* ---- helpers ------------------------------------------------------------- */

static struct sv arg_sv(sqlite3_value *v)
{
    const char *p = (const char *)sqlite3_value_text(v);
    if (p == NULL)
        return SV_NULL;
    return sv_make(p, (size_t)sqlite3_value_bytes(v));
}

static bool arg_null(sqlite3_value *v) { return sqlite3_value_type(v) == SQLITE_NULL; }

/* A JSON argument parsed into a tree; the arena lives until free_json. */
struct jarg {
    struct arena arena;
    struct json_value *v;
};

static bool parse_json(sqlite3_value *val, struct jarg *j)
{
    arena_init(&j->arena, 4096);
    j->v = NULL;
    struct sv s = arg_sv(val);
    if (s.p == NULL || s.len == 0 || s.len > JSON_ARG_MAX)
        return false;
    struct err e;
    return json_parse(s.p, s.len, &j->arena, &j->v, &e) == 0;
}

static void free_json(struct jarg *j) { arena_free(&j->arena); }

static const struct json_value *get_nocase(const struct json_value *obj, const char *key,
                                           size_t len)
{
    if (obj == NULL || obj->type != JSON_OBJECT)
        return NULL;
    const struct json_value *found = NULL;
    for (size_t i = 0; i < obj->n; i++) {
        const struct json_value *m = &obj->items[i];
        if (m->key_len == len && strncasecmp(m->key, key, len) == 0)
            found = m; /* the last duplicate wins, as JSON parsers do */
    }
    return found;
}

/* Returns a JSON value as SQL: strings as text, numbers as integer or real,
 * booleans as 'true'/'false' (Athena's VARCHAR of a boolean field), null as
 * NULL, objects and arrays as compact JSON text. */
static void result_json_value(sqlite3_context *ctx, const struct json_value *v, bool scalar_only)
{
    if (v == NULL) {
        sqlite3_result_null(ctx);
        return;
    }
    switch (v->type) {
    case JSON_STRING:
        sqlite3_result_text(ctx, v->str, (int)v->len, SQLITE_TRANSIENT);
        return;
    case JSON_NUMBER: {
        char *end = NULL;
        long long n = strtoll(v->str, &end, 10);
        if (end == v->str + v->len)
            sqlite3_result_int64(ctx, n);
        else
            sqlite3_result_double(ctx, v->num);
        return;
    }
    case JSON_TRUE:
        sqlite3_result_text(ctx, "true", 4, SQLITE_STATIC);
        return;
    case JSON_FALSE:
        sqlite3_result_text(ctx, "false", 5, SQLITE_STATIC);
        return;
    case JSON_NULL:
        sqlite3_result_null(ctx);
        return;
    default:
        if (scalar_only) {
            sqlite3_result_null(ctx);
            return;
        }
        break;
    }
    struct buf b;
    buf_init(&b, JSON_ARG_MAX);
    if (json_write_value(&b, v) == 0)
        sqlite3_result_text(ctx, b.p, (int)b.len, SQLITE_TRANSIENT);
    else
        sqlite3_result_error_toobig(ctx);
    buf_free(&b);
}

static void result_json_text(sqlite3_context *ctx, const struct json_value *v)
{
    if (v == NULL) {
        sqlite3_result_null(ctx);
        return;
    }
    struct buf b;
    buf_init(&b, JSON_ARG_MAX);
    if (json_write_value(&b, v) == 0)
        sqlite3_result_text(ctx, b.p, (int)b.len, SQLITE_TRANSIENT);
    else
        sqlite3_result_error_toobig(ctx);
    buf_free(&b);
}

/* ---- struct field access -------------------------------------------------- */

static size_t skip_ws(const char *p, size_t len, size_t i)
{
    while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
        i++;
    return i;
}

/* Finds the member named key[0..klen) (ASCII case-insensitive, raw key bytes)
 * of the object starting at p[*pos]; on success *pos is at its value. Walks
 * the text without building a tree: the stored records are large and a query
 * usually wants one field. */
static bool walk_member(const char *p, size_t len, size_t *pos, const char *key, size_t klen)
{
    struct err e;
    size_t i = skip_ws(p, len, *pos);
    if (i >= len || p[i] != '{')
        return false;
    i = skip_ws(p, len, i + 1);
    bool found = false;
    size_t found_at = 0;
    while (i < len && p[i] == '"') {
        size_t k = i + 1;
        while (k < len && p[k] != '"')
            k += p[k] == '\\' ? 2 : 1;
        if (k >= len)
            return false;
        bool match = k - i - 1 == klen && strncasecmp(p + i + 1, key, klen) == 0;
        i = skip_ws(p, len, k + 1);
        if (i >= len || p[i] != ':')
            return false;
        i = skip_ws(p, len, i + 1);
        if (match) { /* the last duplicate wins: keep walking */
            found = true;
            found_at = i;
        }
        if (json_skip_value(p, len, &i, &e) != 0)
            return false;
        i = skip_ws(p, len, i);
        if (i < len && p[i] == ',')
            i = skip_ws(p, len, i + 1);
    }
    if (found)
        *pos = found_at;
    return found;
}

/* vq_get(json, 'a.b.c'): the field at that dotted path, keys matched without
 * regard to case (Athena struct fields are case-insensitive). */
static void fn_vq_get(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct sv in = arg_sv(argv[0]), path = arg_sv(argv[1]);
    if (in.p == NULL || path.p == NULL || in.len > JSON_ARG_MAX) {
        sqlite3_result_null(ctx);
        return;
    }
    size_t pos = 0;
    for (size_t i = 0; i < path.len;) {
        size_t k = i;
        while (k < path.len && path.p[k] != '.')
            k++;
        if (!walk_member(in.p, in.len, &pos, path.p + i, k - i)) {
            sqlite3_result_null(ctx);
            return;
        }
        i = k + 1;
    }
    size_t end = pos;
    struct err e;
    if (json_skip_value(in.p, in.len, &end, &e) != 0) {
        sqlite3_result_null(ctx);
        return;
    }
    pos = skip_ws(in.p, in.len, pos);
    const char *v = in.p + pos;
    size_t vl = end - pos;
    if (v[0] == '"') {
        struct buf b;
        buf_init(&b, JSON_ARG_MAX);
        if (json_unescape(v + 1, vl - 2, &b) == 0)
            sqlite3_result_text(ctx, b.p ? b.p : "", (int)b.len, SQLITE_TRANSIENT);
        else
            sqlite3_result_null(ctx);
        buf_free(&b);
    } else if (v[0] == 'n') {
        sqlite3_result_null(ctx);
    } else if (v[0] == 't' || v[0] == 'f' || v[0] == '{' || v[0] == '[') {
        sqlite3_result_text(ctx, v, (int)vl, SQLITE_TRANSIENT);
    } else {
        char num[64];
        if (vl >= sizeof(num)) {
            sqlite3_result_text(ctx, v, (int)vl, SQLITE_TRANSIENT);
            return;
        }
        memcpy(num, v, vl);
        num[vl] = '\0';
        char *e2 = NULL;
        long long n = strtoll(num, &e2, 10);
        if (*e2 == '\0')
            sqlite3_result_int64(ctx, n);
        else
            sqlite3_result_double(ctx, strtod(num, NULL));
    }
}

/* The tree-building version, kept for reference by the tests (vq_get_tree). */
static void fn_vq_get_tree(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct jarg j;
    if (arg_null(argv[0]) || !parse_json(argv[0], &j)) {
        if (!arg_null(argv[0]))
            free_json(&j);
        sqlite3_result_null(ctx);
        return;
    }
    struct sv path = arg_sv(argv[1]);
    const struct json_value *v = j.v;
    size_t i = 0;
    while (v != NULL && path.p != NULL && i < path.len) {
        size_t k = i;
        while (k < path.len && path.p[k] != '.')
            k++;
        v = get_nocase(v, path.p + i, k - i);
        i = k + 1;
    }
    result_json_value(ctx, v, false);
    free_json(&j);
}

/* ---- JSONPath (json_extract, json_extract_scalar) -------------------------- */

/* Trino's JSONPath subset: $, .key, ["key"], [n]. Keys are case-sensitive.
 * Unquoted keys run to the next '.' or '[' (so $.x-amz-copy-source works). */
static const struct json_value *json_path(const struct json_value *v, struct sv p, bool *bad)
{
    size_t i = 0;
    *bad = false;
    if (p.len == 0 || p.p[0] != '$') {
        *bad = true;
        return NULL;
    }
    i = 1;
    while (v != NULL && i < p.len) {
        if (p.p[i] == '.') {
            size_t k = ++i;
            while (k < p.len && p.p[k] != '.' && p.p[k] != '[')
                k++;
            if (k == i) {
                *bad = true;
                return NULL;
            }
            const struct json_value *next = NULL;
            if (v->type == JSON_OBJECT)
                for (size_t m = 0; m < v->n; m++)
                    if (v->items[m].key_len == k - i &&
                        memcmp(v->items[m].key, p.p + i, k - i) == 0)
                        next = &v->items[m];
            v = next;
            i = k;
        } else if (p.p[i] == '[') {
            i++;
            if (i < p.len && (p.p[i] == '"' || p.p[i] == '\'')) {
                char q = p.p[i++];
                size_t k = i;
                while (k < p.len && p.p[k] != q)
                    k++;
                if (k + 1 >= p.len || p.p[k + 1] != ']') {
                    *bad = true;
                    return NULL;
                }
                const struct json_value *next = NULL;
                if (v->type == JSON_OBJECT)
                    for (size_t m = 0; m < v->n; m++)
                        if (v->items[m].key_len == k - i &&
                            memcmp(v->items[m].key, p.p + i, k - i) == 0)
                            next = &v->items[m];
                v = next;
                i = k + 2;
            } else {
                size_t idx = 0, k = i;
                while (k < p.len && p.p[k] >= '0' && p.p[k] <= '9' && idx < 100000000)
                    idx = idx * 10 + (size_t)(p.p[k++] - '0');
                if (k == i || k >= p.len || p.p[k] != ']') {
                    *bad = true;
                    return NULL;
                }
                v = (v->type == JSON_ARRAY && idx < v->n) ? &v->items[idx] : NULL;
                i = k + 1;
            }
        } else {
            *bad = true;
            return NULL;
        }
    }
    return v;
}

static void json_extract_common(sqlite3_context *ctx, sqlite3_value **argv, bool scalar)
{
    struct jarg j;
    if (arg_null(argv[0]) || arg_null(argv[1])) {
        sqlite3_result_null(ctx);
        return;
    }
    if (!parse_json(argv[0], &j)) {
        free_json(&j);
        sqlite3_result_null(ctx);
        return;
    }
    bool bad;
    const struct json_value *v = json_path(j.v, arg_sv(argv[1]), &bad);
    if (bad)
        sqlite3_result_error(ctx, "Invalid JSON path", -1);
    else if (scalar)
        result_json_value(ctx, v, true);
    else
        result_json_text(ctx, v);
    free_json(&j);
}

static void fn_json_extract_scalar(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    json_extract_common(ctx, argv, true);
}

static void fn_json_extract(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    json_extract_common(ctx, argv, false);
}

/* ---- arrays (JSON text) ------------------------------------------------------ */

static void fn_cardinality(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct jarg j;
    if (arg_null(argv[0])) {
        sqlite3_result_null(ctx);
        return;
    }
    if (parse_json(argv[0], &j) && (j.v->type == JSON_ARRAY || j.v->type == JSON_OBJECT))
        sqlite3_result_int64(ctx, (sqlite3_int64)j.v->n);
    else
        sqlite3_result_null(ctx);
    free_json(&j);
}

/* element_at(array, i): 1-based, negative from the end, NULL out of range;
 * element_at(map, key) for JSON objects. */
static void fn_element_at(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct jarg j;
    if (arg_null(argv[0]) || arg_null(argv[1])) {
        sqlite3_result_null(ctx);
        return;
    }
    const struct json_value *v = NULL;
    if (parse_json(argv[0], &j)) {
        if (j.v->type == JSON_ARRAY) {
            sqlite3_int64 i = sqlite3_value_int64(argv[1]);
            sqlite3_int64 n = (sqlite3_int64)j.v->n;
            if (i > 0 && i <= n)
                v = &j.v->items[i - 1];
            else if (i < 0 && -i <= n)
                v = &j.v->items[n + i];
        } else if (j.v->type == JSON_OBJECT) {
            struct sv k = arg_sv(argv[1]);
            for (size_t m = 0; m < j.v->n; m++)
                if (j.v->items[m].key_len == k.len && memcmp(j.v->items[m].key, k.p, k.len) == 0)
                    v = &j.v->items[m];
        }
    }
    result_json_value(ctx, v, false);
    free_json(&j);
}

static void fn_split(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct sv s = arg_sv(argv[0]), d = arg_sv(argv[1]);
    if (s.p == NULL || d.p == NULL || d.len == 0) {
        sqlite3_result_null(ctx);
        return;
    }
    struct buf b;
    struct json_writer w;
    buf_init(&b, JSON_ARG_MAX);
    jw_init(&w, &b, 0);
    jw_array_begin(&w);
    size_t i = 0;
    for (;;) {
        const char *hit = memmem(s.p + i, s.len - i, d.p, d.len);
        size_t end = hit ? (size_t)(hit - s.p) : s.len;
        jw_str_sv(&w, sv_make(s.p + i, end - i));
        if (hit == NULL)
            break;
        i = end + d.len;
    }
    jw_array_end(&w);
    if (w.rc == 0)
        sqlite3_result_text(ctx, b.p, (int)b.len, SQLITE_TRANSIENT);
    else
        sqlite3_result_error_toobig(ctx);
    buf_free(&b);
}

/* split_part(s, delim, n): 1-based field, NULL past the end. */
static void fn_split_part(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct sv s = arg_sv(argv[0]), d = arg_sv(argv[1]);
    sqlite3_int64 n = sqlite3_value_int64(argv[2]);
    if (s.p == NULL || d.p == NULL || d.len == 0 || n < 1) {
        sqlite3_result_null(ctx);
        return;
    }
    size_t i = 0;
    for (sqlite3_int64 k = 1;; k++) {
        const char *hit = memmem(s.p + i, s.len - i, d.p, d.len);
        size_t end = hit ? (size_t)(hit - s.p) : s.len;
        if (k == n) {
            sqlite3_result_text(ctx, s.p + i, (int)(end - i), SQLITE_TRANSIENT);
            return;
        }
        if (hit == NULL)
            break;
        i = end + d.len;
    }
    sqlite3_result_null(ctx);
}

static void fn_array_distinct(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct jarg j;
    if (arg_null(argv[0]) || !parse_json(argv[0], &j) || j.v->type != JSON_ARRAY) {
        if (!arg_null(argv[0]))
            free_json(&j);
        sqlite3_result_null(ctx);
        return;
    }
    struct buf b, one, prev;
    buf_init(&b, JSON_ARG_MAX);
    buf_init(&one, JSON_ARG_MAX);
    buf_init(&prev, 0);
    buf_putc(&b, '[');
    size_t kept = 0;
    /* Quadratic, but arrays here are small (array_agg of one group). */
    for (size_t i = 0; i < j.v->n; i++) {
        bool dup = false;
        buf_reset(&one);
        json_write_value(&one, &j.v->items[i]);
        for (size_t k = 0; k < i && !dup; k++) {
            buf_reset(&prev);
            json_write_value(&prev, &j.v->items[k]);
            dup = prev.len == one.len && memcmp(prev.p, one.p, one.len) == 0;
        }
        if (dup)
            continue;
        if (kept++ > 0)
            buf_putc(&b, ',');
        buf_append(&b, one.p, one.len);
    }
    buf_putc(&b, ']');
    sqlite3_result_text(ctx, b.p, (int)b.len, SQLITE_TRANSIENT);
    buf_free(&b);
    buf_free(&one);
    buf_free(&prev);
    free_json(&j);
}

/* array_join(array, sep): elements as text joined by sep; nulls skipped. */
static void fn_array_join(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct jarg j;
    if (arg_null(argv[0]) || !parse_json(argv[0], &j) || j.v->type != JSON_ARRAY) {
        if (!arg_null(argv[0]))
            free_json(&j);
        sqlite3_result_null(ctx);
        return;
    }
    struct sv sep = arg_sv(argv[1]);
    struct buf b;
    buf_init(&b, JSON_ARG_MAX);
    size_t k = 0;
    for (size_t i = 0; i < j.v->n; i++) {
        const struct json_value *e = &j.v->items[i];
        if (e->type == JSON_NULL)
            continue;
        if (k++ > 0 && sep.p)
            buf_append(&b, sep.p, sep.len);
        if (e->type == JSON_STRING || e->type == JSON_NUMBER)
            buf_append(&b, e->str, e->len);
        else
            json_write_value(&b, e);
    }
    sqlite3_result_text(ctx, b.p ? b.p : "", (int)b.len, SQLITE_TRANSIENT);
    buf_free(&b);
    free_json(&j);
}

/* ---- IP addresses --------------------------------------------------------- */

#define IPKEY_LEN 35 /* "ip:" + 32 hex */

static bool ip_from_value(sqlite3_value *v, struct ipaddr *out)
{
    struct sv s = arg_sv(v);
    if (s.p == NULL)
        return false;
    if (s.len == IPKEY_LEN && memcmp(s.p, "ip:", 3) == 0) {
        for (size_t i = 0; i < 16; i++) {
            unsigned hi, lo;
            char c = s.p[3 + 2 * i], d = s.p[4 + 2 * i];
            hi = (unsigned)(c <= '9' ? c - '0' : c - 'a' + 10);
            lo = (unsigned)(d <= '9' ? d - '0' : d - 'a' + 10);
            if (hi > 15 || lo > 15)
                return false;
            out->b[i] = (uint8_t)(hi << 4 | lo);
        }
        static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
        out->v4 = memcmp(out->b, mapped, 12) == 0;
        return true;
    }
    return ip_parse(s, out);
}

static void fn_vq_ip(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct ipaddr ip;
    if (!ip_from_value(argv[0], &ip)) {
        sqlite3_result_null(ctx);
        return;
    }
    char out[IPKEY_LEN + 1];
    static const char hex[] = "0123456789abcdef";
    memcpy(out, "ip:", 3);
    for (size_t i = 0; i < 16; i++) {
        out[3 + 2 * i] = hex[ip.b[i] >> 4];
        out[4 + 2 * i] = hex[ip.b[i] & 15];
    }
    sqlite3_result_text(ctx, out, IPKEY_LEN, SQLITE_TRANSIENT);
}

/* vq_private(addr): 1 for a private address (RFC 1918, unique-local, ...),
 * 0 for another address, NULL for what is not one. */
static void fn_vq_private(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct ipaddr ip;
    if (!ip_from_value(argv[0], &ip))
        sqlite3_result_null(ctx);
    else
        sqlite3_result_int(ctx, ip_is_private(&ip));
}

/* contains(array, value) on JSON arrays; contains('cidr', ip) for networks. */
static void fn_contains(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (arg_null(argv[0]) || arg_null(argv[1])) {
        sqlite3_result_null(ctx);
        return;
    }
    struct sv a = arg_sv(argv[0]);
    if (a.len > 0 && a.p[0] == '[') {
        struct jarg j;
        if (!parse_json(argv[0], &j) || j.v->type != JSON_ARRAY) {
            free_json(&j);
            sqlite3_result_null(ctx);
            return;
        }
        bool num = sqlite3_value_type(argv[1]) == SQLITE_INTEGER ||
                   sqlite3_value_type(argv[1]) == SQLITE_FLOAT;
        double d = sqlite3_value_double(argv[1]);
        struct sv s = arg_sv(argv[1]);
        bool hit = false;
        for (size_t i = 0; i < j.v->n && !hit; i++) {
            const struct json_value *e = &j.v->items[i];
            if (num && e->type == JSON_NUMBER)
                hit = e->num == d;
            else if (!num && e->type == JSON_STRING)
                hit = e->len == s.len && memcmp(e->str, s.p, s.len) == 0;
        }
        sqlite3_result_int(ctx, hit);
        free_json(&j);
        return;
    }
    struct ipaddr net, ip;
    unsigned bits;
    if (!cidr_parse(a, &net, &bits) || !ip_from_value(argv[1], &ip)) {
        sqlite3_result_null(ctx);
        return;
    }
    sqlite3_result_int(ctx, net.v4 == ip.v4 && ip_in_cidr(&ip, &net, bits));
}

/* ---- time ------------------------------------------------------------------ */

static bool ts_from_value(sqlite3_value *v, int64_t *ms)
{
    int t = sqlite3_value_type(v);
    if (t == SQLITE_INTEGER || t == SQLITE_FLOAT) {
        *ms = (int64_t)(sqlite3_value_double(v) * 1000.0);
        return true;
    }
    struct sv s = arg_sv(v);
    if (s.p == NULL)
        return false;
    /* Trino prints "2024-01-02 03:04:05.000 UTC"; accept it back. */
    if (s.len > 4 && memcmp(s.p + s.len - 4, " UTC", 4) == 0)
        s.len -= 4;
    return time_parse_iso8601(s, ms);
}

static void civil(int64_t ms, int *y, int *mo, int *d, int *h, int *mi, int *s, int *frac)
{
    int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
    int64_t rem = ms - days * 86400000;
    /* Howard Hinnant's civil_from_days */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t dd = doy - (153 * mp + 2) / 5 + 1;
    int64_t mm = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yy + (mm <= 2));
    *mo = (int)mm;
    *d = (int)dd;
    *h = (int)(rem / 3600000);
    *mi = (int)(rem / 60000 % 60);
    *s = (int)(rem / 1000 % 60);
    *frac = (int)(rem % 1000);
}

static void result_ts(sqlite3_context *ctx, int64_t ms)
{
    int y, mo, d, h, mi, s, f;
    civil(ms, &y, &mo, &d, &h, &mi, &s, &f);
    char out[40];
    int n = snprintf(out, sizeof(out), "%04d-%02d-%02d %02d:%02d:%02d.%03d", y, mo, d, h, mi, s, f);
    sqlite3_result_text(ctx, out, n, SQLITE_TRANSIENT);
}

static void fn_timestamp(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    int64_t ms;
    if (!ts_from_value(argv[0], &ms) ||
        sqlite3_value_type(argv[0]) == SQLITE_INTEGER) { /* CAST(1 AS TIMESTAMP) is an error in Trino */
        sqlite3_result_null(ctx);
        return;
    }
    result_ts(ctx, ms);
}

static void fn_date(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    int64_t ms;
    if (!ts_from_value(argv[0], &ms) || sqlite3_value_type(argv[0]) == SQLITE_INTEGER) {
        sqlite3_result_null(ctx);
        return;
    }
    int y, mo, d, h, mi, s, f;
    civil(ms, &y, &mo, &d, &h, &mi, &s, &f);
    char out[16];
    int n = snprintf(out, sizeof(out), "%04d-%02d-%02d", y, mo, d);
    sqlite3_result_text(ctx, out, n, SQLITE_TRANSIENT);
}

static void fn_from_unixtime(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (arg_null(argv[0])) {
        sqlite3_result_null(ctx);
        return;
    }
    result_ts(ctx, (int64_t)(sqlite3_value_double(argv[0]) * 1000.0));
}

static void fn_to_unixtime(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    int64_t ms;
    if (!ts_from_value(argv[0], &ms)) {
        sqlite3_result_null(ctx);
        return;
    }
    sqlite3_result_double(ctx, (double)ms / 1000.0);
}

static void fn_to_iso8601(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    int64_t ms;
    if (!ts_from_value(argv[0], &ms)) {
        sqlite3_result_null(ctx);
        return;
    }
    int y, mo, d, h, mi, s, f;
    civil(ms, &y, &mo, &d, &h, &mi, &s, &f);
    char out[40];
    int n = snprintf(out, sizeof(out), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, mo, d, h, mi, s, f);
    sqlite3_result_text(ctx, out, n, SQLITE_TRANSIENT);
}

static void fn_now(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    result_ts(ctx, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

enum unit { U_BAD, U_MS, U_SECOND, U_MINUTE, U_HOUR, U_DAY, U_WEEK, U_MONTH, U_QUARTER, U_YEAR };

static enum unit parse_unit(sqlite3_value *v)
{
    static const struct {
        const char *name;
        enum unit u;
    } units[] = { { "millisecond", U_MS }, { "second", U_SECOND }, { "minute", U_MINUTE },
                  { "hour", U_HOUR },      { "day", U_DAY },       { "week", U_WEEK },
                  { "month", U_MONTH },    { "quarter", U_QUARTER }, { "year", U_YEAR } };
    struct sv s = arg_sv(v);
    if (s.p == NULL)
        return U_BAD;
    if (s.len > 1 && (s.p[s.len - 1] == 's' || s.p[s.len - 1] == 'S'))
        s.len--; /* "days" */
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (sv_eq_nocase(s, sv_cstr(units[i].name)))
            return units[i].u;
    return U_BAD;
}

static int64_t unit_ms(enum unit u)
{
    switch (u) {
    case U_MS: return 1;
    case U_SECOND: return 1000;
    case U_MINUTE: return 60000;
    case U_HOUR: return 3600000;
    case U_DAY: return 86400000;
    case U_WEEK: return 7 * 86400000LL;
    default: return 0;
    }
}

static int64_t make_ms(int y, int mo, int d, int64_t day_ms)
{
    return time_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400000 + day_ms;
}

static int days_in_month(int y, int mo)
{
    static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return mo == 2 && leap ? 29 : dm[mo - 1];
}

static int64_t add_months(int64_t ms, int64_t n)
{
    int y, mo, d, h, mi, s, f;
    civil(ms, &y, &mo, &d, &h, &mi, &s, &f);
    int64_t total = (int64_t)y * 12 + (mo - 1) + n;
    int ny = (int)(total >= 0 ? total / 12 : (total - 11) / 12);
    int nm = (int)(total - (int64_t)ny * 12) + 1;
    if (d > days_in_month(ny, nm))
        d = days_in_month(ny, nm);
    return make_ms(ny, nm, d, ((int64_t)h * 3600 + mi * 60 + s) * 1000 + f);
}

/* date_add(unit, n, ts) */
static void fn_date_add(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    enum unit u = parse_unit(argv[0]);
    int64_t ms;
    if (u == U_BAD) {
        sqlite3_result_error(ctx, "date_add: unknown unit", -1);
        return;
    }
    if (arg_null(argv[1]) || !ts_from_value(argv[2], &ms)) {
        sqlite3_result_null(ctx);
        return;
    }
    int64_t n = sqlite3_value_int64(argv[1]);
    bool is_date = sqlite3_value_bytes(argv[2]) == 10;
    if (u == U_MONTH || u == U_QUARTER || u == U_YEAR)
        ms = add_months(ms, n * (u == U_MONTH ? 1 : u == U_QUARTER ? 3 : 12));
    else
        ms += n * unit_ms(u);
    if (is_date) {
        int y, mo, d, h, mi, s, f;
        civil(ms, &y, &mo, &d, &h, &mi, &s, &f);
        char out[16];
        int k = snprintf(out, sizeof(out), "%04d-%02d-%02d", y, mo, d);
        sqlite3_result_text(ctx, out, k, SQLITE_TRANSIENT);
        return;
    }
    result_ts(ctx, ms);
}

/* date_diff(unit, a, b): whole units from a to b (truncated toward zero). */
static void fn_date_diff(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    enum unit u = parse_unit(argv[0]);
    int64_t a, b;
    if (u == U_BAD) {
        sqlite3_result_error(ctx, "date_diff: unknown unit", -1);
        return;
    }
    if (!ts_from_value(argv[1], &a) || !ts_from_value(argv[2], &b)) {
        sqlite3_result_null(ctx);
        return;
    }
    if (u == U_MONTH || u == U_QUARTER || u == U_YEAR) {
        int y1, m1, d1, h, mi, s, f, y2, m2, d2;
        civil(a, &y1, &m1, &d1, &h, &mi, &s, &f);
        civil(b, &y2, &m2, &d2, &h, &mi, &s, &f);
        int64_t months = ((int64_t)y2 * 12 + m2) - ((int64_t)y1 * 12 + m1);
        if (months > 0 && add_months(a, months) > b)
            months--;
        else if (months < 0 && add_months(a, months) < b)
            months++;
        sqlite3_result_int64(ctx, months / (u == U_MONTH ? 1 : u == U_QUARTER ? 3 : 12));
        return;
    }
    sqlite3_result_int64(ctx, (b - a) / unit_ms(u));
}

static void fn_date_trunc(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    enum unit u = parse_unit(argv[0]);
    int64_t ms;
    if (u == U_BAD) {
        sqlite3_result_error(ctx, "date_trunc: unknown unit", -1);
        return;
    }
    if (!ts_from_value(argv[1], &ms)) {
        sqlite3_result_null(ctx);
        return;
    }
    int y, mo, d, h, mi, s, f;
    civil(ms, &y, &mo, &d, &h, &mi, &s, &f);
    int64_t day0 = make_ms(y, mo, d, 0);
    switch (u) {
    case U_MS: break;
    case U_SECOND: ms -= f; break;
    case U_MINUTE: ms -= f + s * 1000; break;
    case U_HOUR: ms -= f + s * 1000 + mi * 60000; break;
    case U_DAY: ms = day0; break;
    case U_WEEK: { /* ISO weeks start on Monday */
        int64_t days = day0 / 86400000;
        int64_t dow = ((days % 7) + 7 + 3) % 7; /* 1970-01-01 was a Thursday: 0 = Monday */
        ms = day0 - dow * 86400000;
        break;
    }
    case U_MONTH: ms = make_ms(y, mo, 1, 0); break;
    case U_QUARTER: ms = make_ms(y, (mo - 1) / 3 * 3 + 1, 1, 0); break;
    case U_YEAR: ms = make_ms(y, 1, 1, 0); break;
    default: break;
    }
    result_ts(ctx, ms);
}

/* day_of_week: ISO, 1 = Monday .. 7 = Sunday. */
static void fn_day_of_week(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    int64_t ms;
    if (!ts_from_value(argv[0], &ms)) {
        sqlite3_result_null(ctx);
        return;
    }
    int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
    sqlite3_result_int64(ctx, ((days % 7) + 7 + 3) % 7 + 1);
}

/* vq_utc_date(ms, fmt): exactly strftime(fmt, ms / 1000, 'unixepoch'), the
 * partition columns of cloudtrail_logs (CT_DATE below). Why: a `SELECT *`
 * computes five of them per row, and SQLite's strftime (a julian-day parse
 * and a printf per call) was a sixth of the user time of 195 k records. The
 * four formats the views use, for an integer ms from 1970 to 9999-12-31
 * (where SQLite's 'unixepoch' is exact integer arithmetic), are written here;
 * anything else (NULL, another type or format, a time out of that range)
 * goes to SQLite's strftime itself, so the answer is SQLite's by
 * construction. */
static void fn_utc_date(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *fmt = (const char *)sqlite3_value_text(argv[1]);
    int kind = fmt == NULL                    ? -1
               : strcmp(fmt, "%Y") == 0       ? 0
               : strcmp(fmt, "%m") == 0       ? 1
               : strcmp(fmt, "%d") == 0       ? 2
               : strcmp(fmt, "%Y/%m/%d") == 0 ? 3
                                              : -1;
    if (kind >= 0 && sqlite3_value_type(argv[0]) == SQLITE_INTEGER) {
        int64_t ms = sqlite3_value_int64(argv[0]);
        /* 253402300800 s is 10000-01-01, where strftime gives NULL */
        if (ms >= 0 && ms / 1000 < INT64_C(253402300800)) {
            int y, mo, d, h, mi, sec, f;
            civil(ms / 1000 * 1000, &y, &mo, &d, &h, &mi, &sec, &f);
            char out[10];
            size_t n = 0;
            if (kind == 0 || kind == 3) {
                out[n++] = (char)('0' + y / 1000);
                out[n++] = (char)('0' + y / 100 % 10);
                out[n++] = (char)('0' + y / 10 % 10);
                out[n++] = (char)('0' + y % 10);
            }
            if (kind == 3)
                out[n++] = '/';
            if (kind == 1 || kind == 3) {
                out[n++] = (char)('0' + mo / 10);
                out[n++] = (char)('0' + mo % 10);
            }
            if (kind == 3)
                out[n++] = '/';
            if (kind == 2 || kind == 3) {
                out[n++] = (char)('0' + d / 10);
                out[n++] = (char)('0' + d % 10);
            }
            sqlite3_result_text(ctx, out, (int)n, SQLITE_TRANSIENT);
            return;
        }
    }
    sqlite3 *db = sqlite3_context_db_handle(ctx);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT strftime(?2, ?1 / 1000, 'unixepoch')", -1, &st, NULL) !=
        SQLITE_OK) {
        sqlite3_result_error(ctx, sqlite3_errmsg(db), -1);
        return;
    }
    sqlite3_bind_value(st, 1, argv[0]);
    sqlite3_bind_value(st, 2, argv[1]);
    if (sqlite3_step(st) == SQLITE_ROW)
        sqlite3_result_value(ctx, sqlite3_column_value(st, 0));
    else
        sqlite3_result_error(ctx, sqlite3_errmsg(db), -1);
    sqlite3_finalize(st);
}

/* year(), month(), ... of a timestamp. */
static void fn_part(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    int64_t ms;
    if (!ts_from_value(argv[0], &ms)) {
        sqlite3_result_null(ctx);
        return;
    }
    int v[7];
    civil(ms, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]);
    sqlite3_result_int(ctx, v[(intptr_t)sqlite3_user_data(ctx)]);
}

/* date_format(ts, mysql_format) */
static void fn_date_format(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    int64_t ms;
    struct sv fmt = arg_sv(argv[1]);
    if (!ts_from_value(argv[0], &ms) || fmt.p == NULL) {
        sqlite3_result_null(ctx);
        return;
    }
    static const char *const mon[] = { "January", "February", "March",     "April",
                                       "May",     "June",     "July",      "August",
                                       "September", "October", "November", "December" };
    static const char *const wd[] = { "Monday", "Tuesday",  "Wednesday", "Thursday",
                                      "Friday", "Saturday", "Sunday" };
    int y, mo, d, h, mi, s, f;
    civil(ms, &y, &mo, &d, &h, &mi, &s, &f);
    int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
    int dow = (int)(((days % 7) + 7 + 3) % 7);
    struct buf b;
    buf_init(&b, 4096);
    for (size_t i = 0; i < fmt.len; i++) {
        if (fmt.p[i] != '%' || i + 1 == fmt.len) {
            buf_putc(&b, fmt.p[i]);
            continue;
        }
        char c = fmt.p[++i];
        switch (c) {
        case 'Y': buf_printf(&b, "%04d", y); break;
        case 'y': buf_printf(&b, "%02d", y % 100); break;
        case 'm': buf_printf(&b, "%02d", mo); break;
        case 'c': buf_printf(&b, "%d", mo); break;
        case 'd': buf_printf(&b, "%02d", d); break;
        case 'e': buf_printf(&b, "%d", d); break;
        case 'H': buf_printf(&b, "%02d", h); break;
        case 'k': buf_printf(&b, "%d", h); break;
        case 'h':
        case 'I': buf_printf(&b, "%02d", h % 12 == 0 ? 12 : h % 12); break;
        case 'l': buf_printf(&b, "%d", h % 12 == 0 ? 12 : h % 12); break;
        case 'i': buf_printf(&b, "%02d", mi); break;
        case 's':
        case 'S': buf_printf(&b, "%02d", s); break;
        case 'f': buf_printf(&b, "%03d000", f); break;
        case 'p': buf_append_cstr(&b, h < 12 ? "AM" : "PM"); break;
        case 'T': buf_printf(&b, "%02d:%02d:%02d", h, mi, s); break;
        case 'r':
            buf_printf(&b, "%02d:%02d:%02d %s", h % 12 == 0 ? 12 : h % 12, mi, s, h < 12 ? "AM" : "PM");
            break;
        case 'M': buf_append_cstr(&b, mon[mo - 1]); break;
        case 'b': buf_append(&b, mon[mo - 1], 3); break;
        case 'W': buf_append_cstr(&b, wd[dow]); break;
        case 'a': buf_append(&b, wd[dow], 3); break;
        case 'j': buf_printf(&b, "%03d", (int)(days - time_days_from_civil(y, 1, 1)) + 1); break;
        default: buf_putc(&b, c); break;
        }
    }
    sqlite3_result_text(ctx, b.p ? b.p : "", (int)b.len, SQLITE_TRANSIENT);
    buf_free(&b);
}

/* Reads n digits (n = 0: 1 or more, up to max) into *v. */
static bool take_num(struct sv s, size_t *i, size_t n, size_t max, int *v)
{
    size_t k = 0;
    *v = 0;
    while (*i < s.len && s.p[*i] >= '0' && s.p[*i] <= '9' && (n ? k < n : k < max)) {
        *v = *v * 10 + (s.p[*i] - '0');
        (*i)++;
        k++;
    }
    return n ? k == n : k > 0;
}

/* parse_datetime(s, joda) and date_parse(s, mysql): the numeric fields
 * (year, month, day, hour, minute, second, fraction) and literals. */
/* An English month name at s[*i]: 3 letters, or the whole name when full. */
static bool take_month_name(struct sv s, size_t *i, bool full, int *out)
{
    static const char *const names[] = { "January", "February", "March", "April", "May",
                                         "June", "July", "August", "September", "October",
                                         "November", "December" };
    for (int m = 0; m < 12; m++) {
        size_t n = full ? strlen(names[m]) : 3;
        if (*i + n <= s.len && strncasecmp(s.p + *i, names[m], n) == 0) {
            *i += n;
            *out = m + 1;
            return true;
        }
    }
    return false;
}

/* A zone offset at s[*i]: Z, +hhmm, +hh:mm (or -); *ms_out is the offset. */
static bool take_offset(struct sv s, size_t *i, int64_t *ms_out)
{
    *ms_out = 0;
    if (*i < s.len && (s.p[*i] == 'Z' || s.p[*i] == 'z')) {
        (*i)++;
        return true;
    }
    if (*i >= s.len || (s.p[*i] != '+' && s.p[*i] != '-'))
        return false;
    int sign = s.p[(*i)++] == '-' ? -1 : 1, hh = 0, mm = 0;
    if (!take_num(s, i, 2, 2, &hh))
        return false;
    if (*i < s.len && s.p[*i] == ':')
        (*i)++;
    if (!take_num(s, i, 2, 2, &mm) || hh > 23 || mm > 59)
        return false;
    *ms_out = sign * ((int64_t)hh * 3600 + mm * 60) * 1000;
    return true;
}

static void parse_time_common(sqlite3_context *ctx, sqlite3_value **argv, bool joda)
{
    int64_t zone_ms = 0;
    struct sv s = arg_sv(argv[0]), fmt = arg_sv(argv[1]);
    if (s.p == NULL || fmt.p == NULL) {
        sqlite3_result_null(ctx);
        return;
    }
    int y = 1970, mo = 1, d = 1, h = 0, mi = 0, sec = 0, ms = 0;
    size_t i = 0;
    bool ok = true;
    for (size_t k = 0; k < fmt.len && ok;) {
        char c = fmt.p[k];
        if (joda) {
            if (c == '\'') {
                size_t e = k + 1;
                while (e < fmt.len && fmt.p[e] != '\'')
                    e++;
                if (e == k + 1) { /* '' is a quote */
                    ok = i < s.len && s.p[i++] == '\'';
                } else {
                    size_t lit = e - k - 1;
                    ok = i + lit <= s.len && memcmp(s.p + i, fmt.p + k + 1, lit) == 0;
                    i += lit;
                }
                k = e + 1;
                continue;
            }
            size_t run = 1;
            while (k + run < fmt.len && fmt.p[k + run] == c)
                run++;
            int v = 0;
            switch (c) {
            case 'y': case 'Y': case 'x': ok = take_num(s, &i, run == 2 ? 2 : 0, 9, &v); y = v; break;
            case 'M':
                if (run >= 3)
                    ok = take_month_name(s, &i, run >= 4, &mo);
                else {
                    ok = take_num(s, &i, run >= 2 ? 2 : 0, 2, &v);
                    mo = v;
                }
                break;
            case 'd': ok = take_num(s, &i, run >= 2 ? 2 : 0, 2, &v); d = v; break;
            case 'H': case 'k': ok = take_num(s, &i, run >= 2 ? 2 : 0, 2, &v); h = v; break;
            case 'm': ok = take_num(s, &i, run >= 2 ? 2 : 0, 2, &v); mi = v; break;
            case 's': ok = take_num(s, &i, run >= 2 ? 2 : 0, 2, &v); sec = v; break;
            case 'S': ok = take_num(s, &i, 0, run, &v); for (size_t z = run; z < 3; z++) v *= 10; ms = v; break;
            case 'Z': ok = take_offset(s, &i, &zone_ms); break;
            default:
                if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
                    sqlite3_result_error(ctx, "parse_datetime: unsupported pattern letter", -1);
                    return;
                }
                for (size_t z = 0; z < run && ok; z++)
                    ok = i < s.len && s.p[i++] == c;
                break;
            }
            k += run;
        } else {
            if (c != '%' || k + 1 == fmt.len) {
                ok = i < s.len && s.p[i++] == c;
                k++;
                continue;
            }
            char f = fmt.p[k + 1];
            int v = 0;
            switch (f) {
            case 'Y': ok = take_num(s, &i, 0, 4, &v); y = v; break;
            case 'm': case 'c': ok = take_num(s, &i, 0, 2, &v); mo = v; break;
            case 'd': case 'e': ok = take_num(s, &i, 0, 2, &v); d = v; break;
            case 'H': case 'k': ok = take_num(s, &i, 0, 2, &v); h = v; break;
            case 'i': ok = take_num(s, &i, 0, 2, &v); mi = v; break;
            case 's': case 'S': ok = take_num(s, &i, 0, 2, &v); sec = v; break;
            case 'f': ok = take_num(s, &i, 0, 9, &v); while (v >= 1000) v /= 10; ms = v; break;
            case 'b': ok = take_month_name(s, &i, false, &mo); break;
            case 'M': ok = take_month_name(s, &i, true, &mo); break;
            case 'T':
                ok = take_num(s, &i, 0, 2, &h) && i < s.len && s.p[i++] == ':' &&
                     take_num(s, &i, 0, 2, &mi) && i < s.len && s.p[i++] == ':' &&
                     take_num(s, &i, 0, 2, &sec);
                break;
            default:
                sqlite3_result_error(ctx, "date_parse: unsupported format specifier", -1);
                return;
            }
            k += 2;
        }
    }
    if (!ok || i != s.len || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
        mi > 59 || sec > 60) {
        sqlite3_result_null(ctx);
        return;
    }
    result_ts(ctx, make_ms(y, mo, d, ((int64_t)h * 3600 + mi * 60 + sec) * 1000 + ms) - zone_ms);
}

static void fn_parse_datetime(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    parse_time_common(ctx, argv, true);
}

static void fn_date_parse(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    parse_time_common(ctx, argv, false);
}

/* strpos(s, sub): 1-based, 0 when absent. */
static void fn_strpos(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct sv s = arg_sv(argv[0]), sub = arg_sv(argv[1]);
    if (s.p == NULL || sub.p == NULL) {
        sqlite3_result_null(ctx);
        return;
    }
    const char *hit = sub.len == 0 ? s.p : memmem(s.p, s.len, sub.p, sub.len);
    sqlite3_result_int64(ctx, hit ? (hit - s.p) + 1 : 0);
}

/* ---- array_agg ---------------------------------------------------------------- */

struct agg {
    struct buf *items; /* each element as JSON text */
    size_t n, cap;
};

static void agg_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct agg *a = sqlite3_aggregate_context(ctx, sizeof(*a));
    if (a == NULL)
        return;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        if (cap > (1u << 24)) {
            sqlite3_result_error_toobig(ctx);
            return;
        }
        a->items = xrealloc(a->items, cap * sizeof(*a->items));
        a->cap = cap;
    }
    struct buf *b = &a->items[a->n++];
    buf_init(b, JSON_ARG_MAX);
    struct json_writer w;
    jw_init(&w, b, 0);
    switch (sqlite3_value_type(argv[0])) {
    case SQLITE_NULL: jw_null(&w); break;
    case SQLITE_INTEGER: jw_int(&w, sqlite3_value_int64(argv[0])); break;
    case SQLITE_FLOAT: jw_double(&w, sqlite3_value_double(argv[0])); break;
    default: {
        struct sv s = arg_sv(argv[0]);
        /* A struct or array value (JSON text) stays structured. */
        struct jarg j;
        if (s.len > 0 && (s.p[0] == '{' || s.p[0] == '[') && parse_json(argv[0], &j)) {
            json_write_value(b, j.v);
            free_json(&j);
        } else {
            if (s.len > 0 && (s.p[0] == '{' || s.p[0] == '['))
                free_json(&j);
            jw_str_sv(&w, s);
        }
        break;
    }
    }
}

static int cmp_items(const void *x, const void *y)
{
    const struct buf *a = x, *b = y;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->p, b->p, n);
    return c ? c : (a->len > b->len) - (a->len < b->len);
}

static void agg_final(sqlite3_context *ctx, bool sorted)
{
    struct agg *a = sqlite3_aggregate_context(ctx, 0);
    if (a == NULL || a->n == 0) {
        sqlite3_result_null(ctx); /* array_agg over no rows is NULL */
        return;
    }
    if (sorted) /* strings sort by their JSON text: the same order for plain text */
        qsort(a->items, a->n, sizeof(*a->items), cmp_items);
    struct buf out;
    buf_init(&out, 0);
    buf_putc(&out, '[');
    for (size_t i = 0; i < a->n; i++) {
        if (i)
            buf_putc(&out, ',');
        buf_append(&out, a->items[i].p, a->items[i].len);
        buf_free(&a->items[i]);
    }
    buf_putc(&out, ']');
    free(a->items);
    sqlite3_result_text(ctx, out.p, (int)out.len, SQLITE_TRANSIENT);
    buf_free(&out);
}

static void agg_final_plain(sqlite3_context *ctx) { agg_final(ctx, false); }
static void agg_final_sorted(sqlite3_context *ctx) { agg_final(ctx, true); }

/* ---- approx_percentile --------------------------------------------------------- */

/* approx_percentile(x, p), approx_percentile(x, w, p), and either with an
 * ARRAY of percentages (an array result). Computed exactly over the group's
 * values, nearest rank: the smallest value with at least p of the (weighted)
 * rows at or below it. Athena's digest answer lies within about 1% of rank
 * of this one. The result keeps x's type (BIGINT stays an integer). */

#define PCT_MAX_VALUES (1u << 26)
#define PCT_MAX_LIST 64

struct pct {
    double *v, *w;
    size_t n, cap;
    bool all_int, weighted, is_list, have_p, failed;
    double p[PCT_MAX_LIST];
    size_t np;
};

static bool pct_read_p(sqlite3_context *ctx, struct pct *a, sqlite3_value *arg)
{
    int t = sqlite3_value_type(arg);
    if (t == SQLITE_INTEGER || t == SQLITE_FLOAT) {
        a->p[0] = sqlite3_value_double(arg);
        a->np = 1;
    } else {
        struct jarg j;
        bool ok = parse_json(arg, &j) && j.v->type == JSON_ARRAY && j.v->n > 0 &&
                  j.v->n <= PCT_MAX_LIST;
        for (size_t i = 0; ok && i < j.v->n; i++) {
            const struct json_value *e = &j.v->items[i];
            ok = e->type == JSON_NUMBER;
            if (ok)
                a->p[i] = e->num;
        }
        if (ok)
            a->np = j.v->n;
        free_json(&j);
        if (!ok) {
            sqlite3_result_error(ctx, "approx_percentile: the percentage must be a number or "
                                      "an ARRAY of numbers", -1);
            return false;
        }
        a->is_list = true;
    }
    for (size_t i = 0; i < a->np; i++)
        if (!(a->p[i] >= 0 && a->p[i] <= 1)) {
            sqlite3_result_error(ctx, "approx_percentile: Percentile must be between 0 and 1", -1);
            return false;
        }
    a->have_p = true;
    return true;
}

static void pct_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct pct *a = sqlite3_aggregate_context(ctx, sizeof(*a));
    if (a == NULL || a->failed)
        return;
    if (a->n == 0 && a->cap == 0)
        a->all_int = true;
    sqlite3_value *pv = argv[argc - 1];
    if (!a->have_p && !arg_null(pv) && !pct_read_p(ctx, a, pv)) {
        a->failed = true;
        return;
    }
    if (arg_null(argv[0]))
        return;
    double w = 1;
    if (argc == 3) {
        if (arg_null(argv[1]))
            return;
        w = sqlite3_value_double(argv[1]);
        if (w <= 0)
            return;
        a->weighted = true;
    }
    int t = sqlite3_value_numeric_type(argv[0]);
    if (t != SQLITE_INTEGER && t != SQLITE_FLOAT)
        return; /* not a number: Athena would refuse the column's type */
    if (a->n == a->cap) {
        if (a->cap >= PCT_MAX_VALUES) {
            sqlite3_result_error(ctx, "approx_percentile: too many values in one group", -1);
            a->failed = true;
            return;
        }
        a->cap = a->cap ? a->cap * 2 : 64;
        a->v = xrealloc(a->v, a->cap * sizeof(*a->v));
        a->w = xrealloc(a->w, a->cap * sizeof(*a->w));
    }
    a->all_int &= t == SQLITE_INTEGER;
    a->v[a->n] = sqlite3_value_double(argv[0]);
    a->w[a->n] = w;
    a->n++;
}

struct vw {
    double v, w;
};

static int cmp_vw(const void *x, const void *y)
{
    double a = ((const struct vw *)x)->v, b = ((const struct vw *)y)->v;
    return (a > b) - (a < b);
}

static void pct_final(sqlite3_context *ctx)
{
    struct pct *a = sqlite3_aggregate_context(ctx, 0);
    if (a == NULL || a->failed || a->n == 0 || !a->have_p) {
        if (a != NULL) {
            free(a->v);
            free(a->w);
        }
        if (a == NULL || !a->failed)
            sqlite3_result_null(ctx);
        return;
    }
    struct vw *s = xmalloc(a->n * sizeof(*s));
    double total = 0;
    for (size_t i = 0; i < a->n; i++) {
        s[i].v = a->v[i];
        s[i].w = a->w[i];
        total += a->w[i];
    }
    qsort(s, a->n, sizeof(*s), cmp_vw);
    double res[PCT_MAX_LIST];
    for (size_t k = 0; k < a->np; k++) {
        double need = a->p[k] * total, cum = 0;
        size_t i = 0;
        for (; i + 1 < a->n; i++) {
            cum += s[i].w;
            if (cum >= need)
                break;
        }
        res[k] = s[i].v;
    }
    free(s);
    if (!a->is_list) {
        if (a->all_int)
            sqlite3_result_int64(ctx, (sqlite3_int64)res[0]);
        else
            sqlite3_result_double(ctx, res[0]);
    } else {
        struct buf b;
        struct json_writer w;
        buf_init(&b, 0);
        jw_init(&w, &b, 0);
        jw_array_begin(&w);
        for (size_t k = 0; k < a->np; k++) {
            if (a->all_int)
                jw_int(&w, (int64_t)res[k]);
            else
                jw_double(&w, res[k]);
        }
        jw_array_end(&w);
        sqlite3_result_text(ctx, b.p, (int)b.len, SQLITE_TRANSIENT);
        buf_free(&b);
    }
    free(a->v);
    free(a->w);
}

/* ---- views ------------------------------------------------------------------ */

/* Partition columns come from the data (the event time, region and account),
 * which is what the S3 layout they stand for is made of: the date is the
 * event's UTC date (the date of the S3 key CloudTrail delivers it under), from
 * the indexed epoch column, so the rewriter can turn a predicate on them into
 * an exact range of that index (sql_rewrite.c, emit_partition_filter). */
#define CT_DATE(fmt) "vq_utc_date(event_time_ms, '" fmt "')"
#define CT_PARTS                                                                            \
    " region AS region, " CT_DATE("%Y") " AS year, " CT_DATE("%m") " AS month,"            \
    " " CT_DATE("%d") " AS day, " CT_DATE("%Y/%m/%d") " AS \"timestamp\","               \
    " account AS account, account AS account_partition, region AS region_partition,"      \
    " " CT_DATE("%Y/%m/%d") " AS date_partition"

/* The CloudTrail rows with their record (cloudtrail_raw) as the column raw: a
 * correlated subquery, not a join, so SQLite (which flattens it into each
 * query) reads the record only for the rows and columns that use it. A LEFT
 * JOIN would be read for every row of an aggregate query, where SQLite does
 * not drop unused joins. */
#define CT_WITH_RAW                                                                       \
    "(SELECT c.*, (SELECT x.raw FROM main.cloudtrail_raw x WHERE x.id = c.id) AS raw"    \
    " FROM main.cloudtrail c)"

static const char *const views[] = {
    "CREATE TEMP VIEW cloudtrail_logs AS SELECT"
    " ct_field(id,'eventVersion',0) AS eventversion,"
    " ct_field(id,'userIdentity',1) AS useridentity,"
    " event_time AS eventtime,"
    " event_source AS eventsource,"
    " event_name AS eventname,"
    " region AS awsregion," /* the store's copy of awsRegion: no JSON walk */
    " source_ip AS sourceipaddress,"
    " user_agent AS useragent,"
    " error_code AS errorcode,"
    " error_message AS errormessage,"
    " nullif(ct_field(id,'requestParameters',1),'null') AS requestparameters,"
    " nullif(ct_field(id,'responseElements',1),'null') AS responseelements,"
    " nullif(ct_field(id,'additionalEventData',1),'null') AS additionaleventdata,"
    " ct_field(id,'requestID',0) AS requestid,"
    " event_id AS eventid,"
    " ct_field(id,'resources',1) AS resources,"
    " event_type AS eventtype,"
    " ct_field(id,'apiVersion',0) AS apiversion,"
    " CASE read_only WHEN 1 THEN 'true' WHEN 0 THEN 'false' END AS readonly,"
    " ct_field(id,'recipientAccountId',0) AS recipientaccountid,"
    " nullif(ct_field(id,'serviceEventDetails',1),'null') AS serviceeventdetails,"
    " ct_field(id,'sharedEventID',0) AS sharedeventid,"
    " ct_field(id,'vpcEndpointId',0) AS vpcendpointid,"
    " ct_field(id,'vpcEndpointAccountId',0) AS vpcendpointaccountid,"
    " event_category AS eventcategory,"
    " ct_field(id,'addendum',1) AS addendum,"
    " ct_field(id,'sessionCredentialFromConsole',0) AS sessioncredentialfromconsole,"
    " ct_field(id,'edgeDeviceDetails',1) AS edgedevicedetails,"
    " ct_field(id,'tlsDetails',1) AS tlsdetails,"
    CT_PARTS ", ct_field(id,'',2) AS \"$raw\","
    /* The indexed copies of struct fields, for the rewriter (sql_rewrite.c
     * maps useridentity.arn here; SELECT * lists the columns above only). */
    " principal_arn AS \"useridentity.arn\", principal_type AS \"useridentity.type\","
    " principal_id AS \"useridentity.principalid\","
    " access_key_id AS \"useridentity.accesskeyid\","
    " session_issuer_arn AS \"useridentity.sessioncontext.sessionissuer.arn\","
    " event_time_ms AS \"eventtime.ms\","
    /* the row id, for the rewriter's late materialization of top-n queries */
    " id AS \"$id\""
    " FROM main.cloudtrail",

    /* The daily counts (store.c, migration 7) under cloudtrail_logs' names
     * of the partition columns, the day as "eventtime.ms": what the
     * rewriter's rollup (sql_rewrite.c) reads for counts by partition. */
    "CREATE TEMP VIEW \"$cloudtrail_daily\" AS SELECT" CT_PARTS ","
    " region AS awsregion, event_time_ms AS \"eventtime.ms\", n"
    " FROM (SELECT day_ms AS event_time_ms, account, region, n FROM main.cloudtrail_daily)",

    /* AWS documentation naming (vpc-flow-logs.md). */
    "CREATE TEMP VIEW vpc_flow_logs AS SELECT"
    " version, account_id, interface_id, srcaddr, dstaddr, srcport, dstport, protocol,"
    " packets, bytes, start, \"end\", action, log_status, vpc_id, subnet_id, instance_id,"
    " tcp_flags, type, pkt_srcaddr, pkt_dstaddr, region, az_id, sublocation_type,"
    " sublocation_id, pkt_src_aws_service, pkt_dst_aws_service, flow_direction, traffic_path,"
    " date(start, 'unixepoch') AS \"date\","
    " strftime('%Y/%m/%d', start, 'unixepoch') AS day,"
    " account_id AS account_partition, region AS region_partition,"
    " strftime('%Y/%m/%d', start, 'unixepoch') AS date_partition"
    " FROM main.vpcflow",

    /* Bootstrap / easttimor / customer-playbook naming. */
    "CREATE TEMP VIEW vpcflow AS SELECT"
    " version, account_id AS account, interface_id AS interfaceid, srcaddr AS sourceaddress,"
    " dstaddr AS destinationaddress, srcport AS sourceport, dstport AS destinationport,"
    " protocol, packets AS numpackets, bytes AS numbytes, start AS starttime, \"end\" AS endtime,"
    " action, log_status AS logstatus, vpc_id AS vpcid, subnet_id AS subnetid,"
    " instance_id AS instanceid, tcp_flags AS tcpflags, type, pkt_srcaddr AS pktsrcaddr,"
    " pkt_dstaddr AS pktdstaddr, region, az_id AS azid, sublocation_type AS sublocationtype,"
    " sublocation_id AS sublocationid, pkt_src_aws_service AS pkt_src_aws_service,"
    " pkt_dst_aws_service AS pkt_dst_aws_service, flow_direction, traffic_path,"
    " flow_direction AS flowdirection, traffic_path AS trafficpath,"
    " date(start, 'unixepoch') AS \"date\","
    " date(start, 'unixepoch') AS event_date,"
    " account_id AS account_partition, region AS region_partition,"
    " strftime('%Y/%m/%d', start, 'unixepoch') AS date_partition"
    " FROM main.vpcflow",

    /* The customer-playbook framework's JSON flow layout (one row per flow
     * seen from the interface: the peer `ip`, local and remote ports, bytes
     * in and out), derived from the same records. The peer is the source of
     * an ingress flow and the destination of an egress one; records without
     * flow-direction (v2-v4) take the address that is not private, else the
     * source. */
    "CREATE TEMP VIEW vpc_flow_json AS SELECT"
    " CASE action WHEN 'REJECT' THEN 'true' WHEN 'ACCEPT' THEN 'false' END AS is_rejected_packet,"
    " CASE WHEN NOT egress AND packets > 0 THEN bytes / packets END AS avg_in_packet_size,"
    " vpc_id, CASE WHEN egress THEN srcport ELSE dstport END AS local_port,"
    " NULL AS source_dc, CASE WHEN egress THEN dstaddr ELSE srcaddr END AS ip,"
    " strftime('%Y-%m-%dT%H:%M:%SZ', \"end\", 'unixepoch') AS end_time,"
    " CASE WHEN egress THEN dstport ELSE srcport END AS remote_port,"
    " strftime('%Y-%m-%dT%H:%M:%SZ', start, 'unixepoch') AS start_time, protocol,"
    " CASE WHEN egress THEN 0 ELSE bytes END AS in_bytes, NULL AS source_tag, account_id,"
    " instance_id, NULL AS interface_public_ips, CASE WHEN egress THEN bytes ELSE 0 END AS out_bytes,"
    " CASE log_status WHEN 'SKIPDATA' THEN 'true' ELSE 'false' END AS is_skipped_rejected_packets,"
    " az_id AS source_az, region AS source_region,"
    " CASE WHEN egress AND packets > 0 THEN bytes / packets END AS avg_out_packet_size,"
    " NULL AS instance_type, CASE WHEN egress THEN srcaddr ELSE dstaddr END AS interface_local_ips"
    " FROM (SELECT *, CASE flow_direction WHEN 'egress' THEN 1 WHEN 'ingress' THEN 0"
    "  ELSE coalesce(vq_private(srcaddr) AND NOT vq_private(dstaddr), 0) END AS egress"
    "  FROM main.vpcflow WHERE srcaddr IS NOT NULL)",

    "CREATE TEMP VIEW r53_rlogs AS SELECT"
    " version, account_id, region, vpc_id, query_timestamp, query_name, query_type,"
    " query_class, rcode, answers, srcaddr, srcport, transport,"
    " json_object('instance', srcids_instance, 'resolver_endpoint', srcids_resolver_endpoint)"
    " AS srcids,"
    " firewall_rule_action, firewall_rule_group_id, firewall_domain_list_id,"
    " account_id AS account_partition, vpc_id AS vpc_partition,"
    " replace(substr(query_timestamp,1,10),'-','/') AS date_partition"
    " FROM main.dns",

    /* S3 server access logs: the Athena documentation's DDL columns (every
     * field, with requestdatetime as S3 writes it), then the names of the
     * incident-response playbooks' table (bucket, request_datetime as ISO
     * 8601 so text ranges work, remote_ip, http_status, ...), then the
     * date-projection partition "timestamp" (yyyy/MM/dd). */
    "CREATE TEMP VIEW s3_access_logs AS SELECT"
    " bucketowner, bucket_name, requestdatetime, remoteip, requester, requestid, operation,"
    " \"key\", request_uri, httpstatus, errorcode, bytessent, objectsize, totaltime,"
    " turnaroundtime, referrer, useragent, versionid, hostid, sigv, ciphersuite, authtype,"
    " endpoint, tlsversion, accesspointarn, aclrequired,"
    " bucketowner AS bucket_owner, bucket_name AS bucket,"
    " strftime('%Y-%m-%dT%H:%M:%SZ', time_ms / 1000, 'unixepoch') AS request_datetime,"
    " remoteip AS remote_ip, requestid AS request_id, httpstatus AS http_status,"
    " errorcode AS error_code, bytessent AS bytes_sent, objectsize AS object_size,"
    " totaltime AS total_time, turnaroundtime AS turn_around_time, useragent AS user_agent,"
    " versionid AS version_id, hostid AS host_id, sigv AS signature_version,"
    " ciphersuite AS cipher_suite, authtype AS auth_type, endpoint AS host_header,"
    " tlsversion AS tls_version, accesspointarn AS access_point_arn, aclrequired AS acl_required,"
    " strftime('%Y/%m/%d', time_ms / 1000, 'unixepoch') AS \"timestamp\""
    " FROM main.s3access",

    /* CloudFront standard logs: the Athena documentation's DDL columns, then
     * the W3C field names of the log file itself ("c-ip", "cs(User-Agent)",
     * "time-taken", ...), which the DDoS playbook queries use. */
    "CREATE TEMP VIEW cloudfront_logs AS SELECT"
    " \"date\", \"time\", x_edge_location AS location, sc_bytes AS bytes, c_ip AS request_ip,"
    " cs_method AS method, cs_host AS host, cs_uri_stem AS uri, sc_status AS status,"
    " cs_referer AS referrer, cs_user_agent AS user_agent, cs_uri_query AS query_string,"
    " cs_cookie AS cookie, x_edge_result_type AS result_type, x_edge_request_id AS request_id,"
    " x_host_header AS host_header, cs_protocol AS request_protocol, cs_bytes AS request_bytes,"
    " time_taken, x_forwarded_for AS xforwarded_for, ssl_protocol, ssl_cipher,"
    " x_edge_response_result_type AS response_result_type, cs_protocol_version AS http_version,"
    " fle_status, fle_encrypted_fields, c_port, time_to_first_byte, x_edge_detailed_result_type,"
    " sc_content_type, sc_content_len, sc_range_start, sc_range_end,"
    " x_edge_location AS \"x-edge-location\", sc_bytes AS \"sc-bytes\", c_ip AS \"c-ip\","
    " cs_method AS \"cs-method\", cs_host AS \"cs(Host)\", cs_uri_stem AS \"cs-uri-stem\","
    " sc_status AS \"sc-status\", cs_referer AS \"cs(Referer)\","
    " cs_user_agent AS \"cs(User-Agent)\", cs_uri_query AS \"cs-uri-query\","
    " cs_cookie AS \"cs(Cookie)\", x_edge_result_type AS \"x-edge-result-type\","
    " x_edge_request_id AS \"x-edge-request-id\", x_host_header AS \"x-host-header\","
    " cs_protocol AS \"cs-protocol\", cs_bytes AS \"cs-bytes\", time_taken AS \"time-taken\","
    " x_forwarded_for AS \"x-forwarded-for\", ssl_protocol AS \"ssl-protocol\","
    " ssl_cipher AS \"ssl-cipher\", x_edge_response_result_type AS \"x-edge-response-result-type\","
    " cs_protocol_version AS \"cs-protocol-version\", fle_status AS \"fle-status\","
    " fle_encrypted_fields AS \"fle-encrypted-fields\", c_port AS \"c-port\","
    " time_to_first_byte AS \"time-to-first-byte\","
    " x_edge_detailed_result_type AS \"x-edge-detailed-result-type\","
    " sc_content_type AS \"sc-content-type\", sc_content_len AS \"sc-content-len\","
    " sc_range_start AS \"sc-range-start\", sc_range_end AS \"sc-range-end\""
    " FROM main.cloudfront",

    /* WAF logs: the Athena documentation's DDL columns, read from the record
     * (httprequest, labels and the rule lists stay structured). */
    "CREATE TEMP VIEW waf_logs AS SELECT"
    " time_ms AS \"timestamp\", raw->>'$.formatVersion' AS formatversion,"
    " raw->>'$.webaclId' AS webaclid, raw->>'$.terminatingRuleId' AS terminatingruleid,"
    " raw->>'$.terminatingRuleType' AS terminatingruletype, action,"
    " raw->'$.terminatingRuleMatchDetails' AS terminatingrulematchdetails,"
    " raw->>'$.httpSourceName' AS httpsourcename, raw->>'$.httpSourceId' AS httpsourceid,"
    " raw->'$.ruleGroupList' AS rulegrouplist, raw->'$.rateBasedRuleList' AS ratebasedrulelist,"
    " raw->'$.nonTerminatingMatchingRules' AS nonterminatingmatchingrules,"
    " nullif(raw->'$.requestHeadersInserted','null') AS requestheadersinserted,"
    " raw->>'$.responseCodeSent' AS responsecodesent, raw->'$.httpRequest' AS httprequest,"
    " raw->'$.labels' AS labels, raw->'$.captchaResponse' AS captcharesponse,"
    " raw->'$.challengeResponse' AS challengeresponse, raw->>'$.ja3Fingerprint' AS ja3fingerprint,"
    " raw->>'$.ja4Fingerprint' AS ja4fingerprint, raw->'$.oversizeFields' AS oversizefields,"
    " raw->>'$.requestBodySize' AS requestbodysize,"
    " raw->>'$.requestBodySizeInspectedByWAF' AS requestbodysizeinspectedbywaf,"
    " strftime('%Y/%m/%d', time_ms / 1000, 'unixepoch') AS log_time"
    " FROM main.waf",

    /* Security Lake (OCSF 1.0.0-rc.2) tables, derived from the same rows: API
     * Activity for CloudTrail management events and Lambda data events,
     * Network Activity for flow logs, DNS Activity for Resolver queries. */
#define OCSF_API                                                                              \
    " json_object('product', json_object('name','CloudTrail','vendor_name','AWS'),"          \
    "  'uid', event_id, 'version', '1.0.0-rc.2') AS metadata,"                                 \
    " event_time_ms AS time,"                                                                  \
    " json_object('region', region, 'provider', 'AWS') AS cloud,"                             \
    " json_object('response', json_object('error', error_code, 'message', error_message),"    \
    "  'operation', event_name, 'version', raw->>'$.apiVersion',"                              \
    "  'service', json_object('name', event_source),"                                          \
    "  'request', json_object('uid', raw->>'$.requestID')) AS api,"                            \
    " json_object('svc_name', event_source) AS dst_endpoint,"                                  \
    " json_object('user', json_object('type', principal_type,"                                 \
    "   'name', raw->>'$.userIdentity.userName', 'uid', principal_id, 'uuid', principal_arn," \
    "   'account_uid', raw->>'$.userIdentity.accountId', 'credential_uid', access_key_id),"   \
    "  'session', json_object('issuer', session_issuer_arn,"                                   \
    "   'created_time', raw->>'$.userIdentity.sessionContext.attributes.creationDate',"        \
    "   'mfa', raw->>'$.userIdentity.sessionContext.attributes.mfaAuthenticated'),"            \
    "  'invoked_by', raw->>'$.userIdentity.invokedBy') AS actor,"                              \
    " json_object('user_agent', user_agent) AS http_request,"                                  \
    " json_object('uid', raw->>'$.vpcEndpointId',"                                             \
    "  'ip', CASE WHEN vq_ip(source_ip) IS NOT NULL THEN source_ip END,"                       \
    "  'domain', CASE WHEN vq_ip(source_ip) IS NULL THEN source_ip END) AS src_endpoint,"     \
    " (SELECT json_group_array(json_object('uid', r.value->>'$.ARN',"                          \
    "   'account_uid', r.value->>'$.accountId', 'type', r.value->>'$.type'))"                  \
    "  FROM json_each(raw, '$.resources') AS r) AS resources,"                                 \
    " 'API Activity' AS class_name, 3005 AS class_uid, 'Audit Activity' AS category_name,"    \
    " 3 AS category_uid, 'Informational' AS severity, 1 AS severity_id,"                       \
    " CASE WHEN event_name GLOB 'Create*' THEN 1"                                              \
    "  WHEN event_name GLOB 'Get*' OR event_name GLOB 'Describe*' OR event_name GLOB 'List*'" \
    "   OR event_name GLOB 'Head*' THEN 2"                                                     \
    "  WHEN event_name GLOB 'Update*' OR event_name GLOB 'Modify*' OR event_name GLOB 'Put*'" \
    "   OR event_name GLOB 'Set*' THEN 3"                                                      \
    "  WHEN event_name GLOB 'Delete*' OR event_name GLOB 'Remove*' THEN 4 ELSE 99 END"         \
    "  AS activity_id,"                                                                        \
    " CASE WHEN event_name GLOB 'Create*' THEN 'Create'"                                       \
    "  WHEN event_name GLOB 'Get*' OR event_name GLOB 'Describe*' OR event_name GLOB 'List*'" \
    "   OR event_name GLOB 'Head*' THEN 'Read'"                                                \
    "  WHEN event_name GLOB 'Update*' OR event_name GLOB 'Modify*' OR event_name GLOB 'Put*'" \
    "   OR event_name GLOB 'Set*' THEN 'Update'"                                               \
    "  WHEN event_name GLOB 'Delete*' OR event_name GLOB 'Remove*' THEN 'Delete'"              \
    "  ELSE 'Other' END AS activity_name,"                                                     \
    " CASE WHEN error_code IS NULL THEN 'Success' ELSE 'Failure' END AS status,"              \
    " error_code AS status_code,"                                                              \
    " json_object('name', raw->>'$.requestParameters.userName') AS user,"                     \
    " (SELECT json_group_object(substr(t.fullkey, 3), t.atom) FROM json_tree(raw) AS t"       \
    "  WHERE t.atom IS NOT NULL AND (t.fullkey GLOB '$.requestParameters.*'"                   \
    "   OR t.fullkey GLOB '$.responseElements.*' OR t.fullkey GLOB '$.additionalEventData.*'))" \
    "  AS unmapped,"                                                                           \
    " account AS accountid, region AS region,"                                                 \
    " replace(substr(event_time,1,10),'-','') AS eventday"

    "CREATE TEMP VIEW ocsf_cloudtrail AS SELECT" OCSF_API
    " FROM " CT_WITH_RAW
    " WHERE event_category NOT IN ('Data', 'NetworkActivity')",

    "CREATE TEMP VIEW ocsf_lambda_execution AS SELECT" OCSF_API
    " FROM " CT_WITH_RAW
    " WHERE event_category = 'Data' AND event_source = 'lambda.amazonaws.com'",

    "CREATE TEMP VIEW ocsf_vpc_flow AS SELECT"
    " json_object('product', json_object('name','Amazon VPC','vendor_name','AWS'),"
    "  'version', '1.0.0-rc.2') AS metadata,"
    " start * 1000 AS time, start * 1000 AS start_time, \"end\" * 1000 AS end_time,"
    " json_object('account_uid', account_id, 'region', region, 'zone', az_id,"
    "  'provider', 'AWS') AS cloud,"
    " json_object('ip', srcaddr, 'port', srcport, 'vpc_uid', vpc_id, 'instance_uid', instance_id,"
    "  'interface_uid', interface_id, 'subnet_uid', subnet_id, 'svc_name', pkt_src_aws_service,"
    "  'intermediate_ips', pkt_srcaddr) AS src_endpoint,"
    " json_object('ip', dstaddr, 'port', dstport, 'vpc_uid', vpc_id, 'instance_uid', instance_id,"
    "  'interface_uid', interface_id, 'subnet_uid', subnet_id, 'svc_name', pkt_dst_aws_service,"
    "  'intermediate_ips', pkt_dstaddr) AS dst_endpoint,"
    " json_object('protocol_num', protocol, 'tcp_flags', tcp_flags,"
    "  'direction', flow_direction, 'boundary', traffic_path) AS connection_info,"
    " json_object('packets', packets, 'bytes', bytes) AS traffic,"
    " CASE action WHEN 'ACCEPT' THEN 'Allowed' WHEN 'REJECT' THEN 'Blocked' END AS disposition,"
    " CASE action WHEN 'ACCEPT' THEN 1 WHEN 'REJECT' THEN 2 END AS disposition_id,"
    " log_status AS status_code, 'Network Activity' AS class_name, 4001 AS class_uid,"
    " 'Network Activity' AS category_name, 4 AS category_uid, 6 AS activity_id,"
    " 'Traffic' AS activity_name, 'Informational' AS severity, 1 AS severity_id,"
    " account_id AS accountid, region AS region,"
    " strftime('%Y%m%d', start, 'unixepoch') AS eventday"
    " FROM main.vpcflow",

    "CREATE TEMP VIEW ocsf_route53 AS SELECT"
    " json_object('product', json_object('name','Route 53','vendor_name','AWS'),"
    "  'version', '1.0.0-rc.2') AS metadata,"
    " query_time_ms AS time,"
    " json_object('account_uid', account_id, 'region', region, 'provider', 'AWS') AS cloud,"
    " json_object('hostname', query_name, 'type', query_type, 'class', query_class) AS query,"
    " answers, rcode,"
    " json_object('vpc_uid', vpc_id, 'ip', srcaddr, 'port', srcport,"
    "  'instance_uid', srcids_instance) AS src_endpoint,"
    " json_object('protocol_name', transport) AS connection_info,"
    " 'DNS Activity' AS class_name, 4003 AS class_uid, 'Network Activity' AS category_name,"
    " 4 AS category_uid, 6 AS activity_id, 'Traffic' AS activity_name,"
    " 'Informational' AS severity, 1 AS severity_id,"
    " account_id AS accountid, region AS region,"
    " replace(substr(query_timestamp,1,10),'-','') AS eventday"
    " FROM main.dns",
};

int query__sql_views(sqlite3 *db, struct err *err)
{
    for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++) {
        char *msg = NULL;
        if (sqlite3_exec(db, views[i], NULL, NULL, &msg) != SQLITE_OK) {
            int rc = err_set(err, ERR_DB, "creating the Athena views: %s", msg ? msg : "?");
            sqlite3_free(msg);
            return rc;
        }
    }
    return 0;
}

/* ---- registration -------------------------------------------------------- */

struct fn_def {
    const char *name;
    int nargs;
    void (*fn)(sqlite3_context *, int, sqlite3_value **);
    intptr_t data;
    bool volatile_;
};

static const struct fn_def fns[] = {
    { "vq_get", 2, fn_vq_get, 0, false },
    { "vq_get_tree", 2, fn_vq_get_tree, 0, false },
    { "json_extract_scalar", 2, fn_json_extract_scalar, 0, false },
    { "json_extract", 2, fn_json_extract, 0, false },
    { "cardinality", 1, fn_cardinality, 0, false },
    { "element_at", 2, fn_element_at, 0, false },
    { "split", 2, fn_split, 0, false },
    { "split_part", 3, fn_split_part, 0, false },
    { "array_distinct", 1, fn_array_distinct, 0, false },
    { "array_join", 2, fn_array_join, 0, false },
    { "vq_ip", 1, fn_vq_ip, 0, false },
    { "vq_private", 1, fn_vq_private, 0, false },
    { "contains", 2, fn_contains, 0, false },
    { "vq_timestamp", 1, fn_timestamp, 0, false },
    { "from_iso8601_timestamp", 1, fn_timestamp, 0, false },
    { "vq_date", 1, fn_date, 0, false },
    { "from_iso8601_date", 1, fn_date, 0, false },
    { "from_unixtime", 1, fn_from_unixtime, 0, false },
    { "to_unixtime", 1, fn_to_unixtime, 0, false },
    { "to_iso8601", 1, fn_to_iso8601, 0, false },
    { "vq_now", 0, fn_now, 0, true },
    { "date_add", 3, fn_date_add, 0, false },
    { "date_diff", 3, fn_date_diff, 0, false },
    { "date_trunc", 2, fn_date_trunc, 0, false },
    { "date_format", 2, fn_date_format, 0, false },
    { "format_datetime", 2, fn_date_format, 0, false },
    { "parse_datetime", 2, fn_parse_datetime, 0, false },
    { "date_parse", 2, fn_date_parse, 0, false },
    { "day_of_week", 1, fn_day_of_week, 0, false },
    { "dow", 1, fn_day_of_week, 0, false },
    { "year", 1, fn_part, 0, false },
    { "month", 1, fn_part, 1, false },
    { "day", 1, fn_part, 2, false },
    { "day_of_month", 1, fn_part, 2, false },
    { "hour", 1, fn_part, 3, false },
    { "minute", 1, fn_part, 4, false },
    { "second", 1, fn_part, 5, false },
    { "strpos", 2, fn_strpos, 0, false },
    { "vq_utc_date", 2, fn_utc_date, 0, false },
};

int query__sql_functions(sqlite3 *db, struct err *err)
{
    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
        int flags = SQLITE_UTF8 | (fns[i].volatile_ ? 0 : SQLITE_DETERMINISTIC);
        if (sqlite3_create_function(db, fns[i].name, fns[i].nargs, flags, (void *)fns[i].data,
                                    fns[i].fn, NULL, NULL) != SQLITE_OK)
            return err_set(err, ERR_DB, "registering %s: %s", fns[i].name, sqlite3_errmsg(db));
    }
    if (sqlite3_create_function(db, "array_agg", 1, SQLITE_UTF8, NULL, NULL, agg_step,
                                agg_final_plain) != SQLITE_OK ||
        sqlite3_create_function(db, "vq_array_agg_sorted", 1, SQLITE_UTF8, NULL, NULL, agg_step,
                                agg_final_sorted) != SQLITE_OK)
        return err_set(err, ERR_DB, "registering array_agg: %s", sqlite3_errmsg(db));
    for (int n = 2; n <= 3; n++)
        if (sqlite3_create_function(db, "approx_percentile", n, SQLITE_UTF8, NULL, NULL, pct_step,
                                    pct_final) != SQLITE_OK)
            return err_set(err, ERR_DB, "registering approx_percentile: %s", sqlite3_errmsg(db));
    int rc = query__sql_ct_record(db, err);
    if (rc == 0)
        rc = query__sql_text_set(db, err);
    return rc != 0 ? rc : query__sql_regex_functions(db, err);
}
