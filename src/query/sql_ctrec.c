/*
 * ct_field(id, key, mode): a top-level field of the CloudTrail record of row
 * id (main.cloudtrail_raw), for the cloudtrail_logs view.
 *
 * Why: the view has some twenty columns cut out of the record. Written as
 * raw->'$.key' over a correlated subquery, SQLite seeks the record and parses
 * all of its ~1.6 KB once per column, twenty times a row. ct_field fetches a
 * record once, indexes its top-level members in one pass of the JSON scanner,
 * and answers every column of that row from the index.
 *
 * Modes, each giving exactly what SQLite 3.40's JSON gives for the same field:
 *   0  raw->>'$.key'  strings unescaped, numbers and booleans as SQL numbers,
 *                     null as NULL, objects and arrays as minified JSON text
 *                     (no subtype)
 *   1  raw->'$.key'   the value as minified JSON text (subtype JSON)
 *   2  raw            the record itself (key ignored)
 * A missing key (or record) is NULL; the first of duplicate keys wins, as in
 * SQLite. The common shapes (a string without escapes, a value without
 * whitespace) are answered from the record's bytes; anything else (escapes,
 * numbers, booleans, whitespace to remove) is handed to SQLite's own JSON
 * through a prepared `?1 ->> '$'` / `?1 -> '$'`, and so is a record that is
 * not one well-formed JSON object (with the view's path, '$.' || key: SQLite
 * then says NULL or "malformed JSON"), so the result is SQLite's by
 * construction, not an imitation of it (fuzz/fuzz_ctfield.c checks it).
 *
 * The cache: one record per session. A session is shared by every call site
 * of every statement running at once on the connection (they read the same
 * snapshot) and lives while one of them holds it as auxiliary data, so its
 * prepared statements are finalized when the last statement using it is
 * reset or finalized (never left behind to keep a closing connection alive).
 * The cached record is dropped whenever a call site runs for the first time
 * in a statement (a new statement may see a newer snapshot: ids are reused
 * after retention deletes) and whenever the connection has written since it
 * was read (sqlite3_total_changes64).
 *
 * Threading: a connection's functions run on the thread using it; nothing is
 * shared between connections.
 */
#include "query/query_int.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#define CT_JSON_SUBTYPE 74       /* 'J', the subtype SQLite's JSON functions set */
#define CT_RECORD_MAX (16u << 20) /* a longer record is not cached: NULL */

struct ct_member {
    size_t key, key_len; /* raw key bytes, between the quotes */
    size_t val, val_len; /* the value's bytes */
};

struct ct_holder;

struct ct_session {
    struct ct_holder *holder;
    sqlite3 *db;
    sqlite3_stmt *fetch;   /* the record of a row id */
    sqlite3_stmt *json[2]; /* SQLite's ->> and -> of a value, prepared on first need */
    sqlite3_stmt *path[2]; /* ... and of a record and '$.' || key, for records not indexed */
    int refs;
    bool have;            /* rec_* describe row id as of changes */
    bool found;           /* the row has a record */
    bool valid;           /* ... and it is a JSON object */
    sqlite3_int64 id, changes;
    struct buf rec;
    struct ct_member *m;
    size_t n, cap;
};

/* Per connection (the function's user data): the session running now.
 * Counted: SQLite drops it when the function is redefined or the connection
 * closes, and a session of a finished statement not yet reset may outlive it. */
struct ct_holder {
    struct ct_session *cur;
    int refs;
};

static void holder_unref(struct ct_holder *h)
{
    if (--h->refs == 0)
        free(h);
}

static void holder_free(void *p)
{
    struct ct_holder *h = p;
    h->cur = NULL;
    holder_unref(h);
}

static void session_unref(void *p)
{
    struct ct_session *s = p;
    if (--s->refs > 0)
        return;
    if (s->holder->cur == s)
        s->holder->cur = NULL;
    holder_unref(s->holder);
    sqlite3_finalize(s->fetch);
    sqlite3_finalize(s->json[0]);
    sqlite3_finalize(s->json[1]);
    sqlite3_finalize(s->path[0]);
    sqlite3_finalize(s->path[1]);
    buf_free(&s->rec);
    free(s->m);
    free(s);
}

static size_t skip_ws(const char *p, size_t len, size_t i)
{
    while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
        i++;
    return i;
}

/* Whitespace outside strings, and backslashes inside them, in p[0..len). */
static void value_shape(const char *p, size_t len, bool *ws, bool *esc)
{
    bool in = false;
    *ws = *esc = false;
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        if (in) {
            if (c == '\\') {
                *esc = true;
                i++;
            } else if (c == '"') {
                in = false;
            }
        } else if (c == '"') {
            in = true;
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            *ws = true;
        }
    }
}

/* Indexes the top-level members of the record in s->rec; false if it is not
 * one valid JSON object (SQLite would call it malformed). */
static bool index_record(struct ct_session *s)
{
    const char *p = s->rec.p;
    size_t len = s->rec.len, i = skip_ws(p, len, 0);
    struct err e;
    s->n = 0;
    if (i >= len || p[i] != '{')
        return false;
    /* One pass: each value is validated as it is skipped; the keys are
     * checked here (a string without raw control bytes). */
    i = skip_ws(p, len, i + 1);
    while (i < len && p[i] == '"') {
        size_t k = i + 1;
        while (k < len && p[k] != '"' && (unsigned char)p[k] >= 0x20)
            k += p[k] == '\\' ? 2 : 1;
        if (k >= len || p[k] != '"')
            return false;
        struct ct_member mem = { .key = i + 1, .key_len = k - i - 1 };
        i = skip_ws(p, len, k + 1);
        if (i >= len || p[i] != ':')
            return false;
        i = skip_ws(p, len, i + 1);
        size_t v = i;
        if (json_skip_value(p, len, &i, &e) != 0)
            return false;
        mem.val = v;
        mem.val_len = i - v;
        if (s->n == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 32;
            s->m = xrealloc(s->m, s->cap * sizeof(*s->m));
        }
        s->m[s->n++] = mem;
        i = skip_ws(p, len, i);
        if (i >= len || p[i] != ',')
            break;
        i = skip_ws(p, len, i + 1);
        if (i >= len || p[i] != '"')
            return false; /* a trailing comma */
    }
    return i < len && p[i] == '}' && skip_ws(p, len, i + 1) == len;
}

/* Makes s hold the record of row id; false on a database error (set on ctx). */
static bool load(sqlite3_context *ctx, struct ct_session *s, sqlite3_int64 id)
{
    sqlite3_int64 changes = sqlite3_total_changes64(s->db);
    if (s->have && s->id == id && s->changes == changes)
        return true;
    s->have = s->found = s->valid = false;
    if (s->fetch == NULL &&
        sqlite3_prepare_v3(s->db, "SELECT raw FROM main.cloudtrail_raw WHERE id = ?1",
                           -1, SQLITE_PREPARE_PERSISTENT, &s->fetch, NULL) != SQLITE_OK) {
        sqlite3_result_error(ctx, sqlite3_errmsg(s->db), -1);
        return false;
    }
    sqlite3_bind_int64(s->fetch, 1, id);
    int rc = sqlite3_step(s->fetch);
    if (rc == SQLITE_ROW) {
        const char *p = (const char *)sqlite3_column_text(s->fetch, 0);
        size_t len = (size_t)sqlite3_column_bytes(s->fetch, 0);
        buf_reset(&s->rec);
        if (p != NULL && buf_append(&s->rec, p, len) == 0) {
            s->found = true;
            s->valid = index_record(s);
        }
    } else if (rc != SQLITE_DONE) {
        sqlite3_result_error(ctx, sqlite3_errmsg(s->db), -1);
        sqlite3_reset(s->fetch);
        return false;
    }
    sqlite3_reset(s->fetch);
    s->have = true;
    s->id = id;
    s->changes = changes;
    return true;
}

/* Runs SQLite's own JSON operator in *st (prepared from sql on first need)
 * with ?1 = p[0..len) and, when key is not NULL, ?2 = key: its answer, value
 * or error, becomes the call's. */
static void via_sqlite(sqlite3_context *ctx, struct ct_session *s, sqlite3_stmt **st,
                       const char *sql, const char *p, size_t len, const char *key, size_t klen)
{
    if (*st == NULL &&
        sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
        sqlite3_result_error(ctx, sqlite3_errmsg(s->db), -1);
        return;
    }
    sqlite3_bind_text(*st, 1, p, (int)len, SQLITE_STATIC);
    if (key != NULL)
        sqlite3_bind_text(*st, 2, key, (int)klen, SQLITE_STATIC);
    if (sqlite3_step(*st) == SQLITE_ROW)
        sqlite3_result_value(ctx, sqlite3_column_value(*st, 0));
    else
        sqlite3_result_error(ctx, sqlite3_errmsg(s->db), -1);
    sqlite3_reset(*st);
    sqlite3_clear_bindings(*st);
}

/* A value of the record, p[0..len), through `?1 ->> '$'` (arrow 0) or
 * `?1 -> '$'` (arrow 1). */
static void via_sqlite_value(sqlite3_context *ctx, struct ct_session *s, int arrow, const char *p,
                             size_t len)
{
    via_sqlite(ctx, s, &s->json[arrow], arrow ? "SELECT ?1 -> '$'" : "SELECT ?1 ->> '$'", p, len,
               NULL, 0);
}

/* A record index_record could not index (not an object, malformed) goes
 * whole to SQLite with the view's own path: SQLite decides between NULL and
 * its "malformed JSON" error, as it would have without ct_field. */
static void via_sqlite_path(sqlite3_context *ctx, struct ct_session *s, int arrow, const char *key,
                            size_t klen)
{
    via_sqlite(ctx, s, &s->path[arrow],
               arrow ? "SELECT ?1 -> ('$.' || ?2)" : "SELECT ?1 ->> ('$.' || ?2)", s->rec.p,
               s->rec.len, key, klen);
}

static void answer(sqlite3_context *ctx, struct ct_session *s, const char *key, size_t klen,
                   int mode)
{
    if (!s->found) {
        sqlite3_result_null(ctx);
        return;
    }
    const char *p = s->rec.p;
    if (mode == 2) {
        sqlite3_result_text(ctx, p, (int)s->rec.len, SQLITE_TRANSIENT);
        return;
    }
    if (!s->valid) {
        via_sqlite_path(ctx, s, mode == 1, key, klen);
        return;
    }
    const struct ct_member *m = NULL;
    for (size_t i = 0; i < s->n && m == NULL; i++)
        if (s->m[i].key_len == klen && memcmp(p + s->m[i].key, key, klen) == 0)
            m = &s->m[i];
    if (m == NULL) {
        sqlite3_result_null(ctx);
        return;
    }
    const char *v = p + m->val;
    bool container = v[0] == '{' || v[0] == '[', ws, esc;
    /* found on demand: a record has twice as many members as most
     * statements read */
    value_shape(v, m->val_len, &ws, &esc);
    if (mode == 0 && v[0] == 'n') {
        sqlite3_result_null(ctx);
    } else if (mode == 0 && v[0] == '"' && !esc) {
        sqlite3_result_text(ctx, v + 1, (int)m->val_len - 2, SQLITE_TRANSIENT);
    } else if ((mode == 1 || container) && !ws) {
        sqlite3_result_text(ctx, v, (int)m->val_len, SQLITE_TRANSIENT);
        if (mode == 1) /* ->> of an object is plain text in SQLite 3.40 */
            sqlite3_result_subtype(ctx, CT_JSON_SUBTYPE);
    } else {
        via_sqlite_value(ctx, s, mode == 1, v, m->val_len);
    }
}

static void fn_ct_field(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    struct ct_holder *h = sqlite3_user_data(ctx);
    struct ct_session *s = sqlite3_get_auxdata(ctx, 1);
    bool first = s == NULL;
    if (first) {
        s = h->cur;
        if (s == NULL) {
            s = xcalloc(1, sizeof(*s));
            s->holder = h;
            h->refs++;
            s->db = sqlite3_context_db_handle(ctx);
            buf_init(&s->rec, CT_RECORD_MAX);
            h->cur = s;
        }
        s->have = false; /* a statement starting: its snapshot may be newer */
    }
    s->refs++; /* this call's own, so the session outlives a refused auxdata */
    if (first) {
        s->refs++;
        sqlite3_set_auxdata(ctx, 1, s, session_unref);
    }
    if (sqlite3_value_type(argv[0]) != SQLITE_NULL &&
        load(ctx, s, sqlite3_value_int64(argv[0]))) {
        const char *key = (const char *)sqlite3_value_text(argv[1]);
        size_t klen = (size_t)sqlite3_value_bytes(argv[1]);
        answer(ctx, s, key ? key : "", klen, sqlite3_value_int(argv[2]));
    } else if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
        sqlite3_result_null(ctx);
    }
    session_unref(s);
}

int query__sql_ct_record(sqlite3 *db, struct err *err)
{
    struct ct_holder *h = xcalloc(1, sizeof(*h));
    h->refs = 1;
    /* Not SQLITE_DETERMINISTIC: the answer depends on the table's content. */
    if (sqlite3_create_function_v2(db, "ct_field", 3, SQLITE_UTF8, h, fn_ct_field, NULL, NULL,
                                   holder_free) != SQLITE_OK)
        return err_set(err, ERR_DB, "registering ct_field: %s", sqlite3_errmsg(db));
    return 0;
}
