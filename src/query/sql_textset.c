/*
 * vq_text_has(id, query): whether row id of cloudtrail is among the rows the
 * text index (store.h, STORE_TEXT_TABLE) gives for the FTS5 query, i.e.
 * "id IN (SELECT rowid FROM cloudtrail_text WHERE cloudtrail_text MATCH query)".
 *
 * Why: when another index drives a statement (a source and a week: 2.1 M
 * rows of S3 calls), SQLite tests that IN for every row it walks by a
 * search of the list's temporary B-tree, ~100 ns each (0.2 s of "S3 reads of
 * a bucket in a week"). This function builds the list once per statement
 * (auxiliary data on the constant query) as a bitmap over the ids' span, so
 * a test is one load. SQLite cannot drive a statement from a function, so
 * the rewriter uses it only when the plan it would get with the IN does not
 * read the rows through the list (query_sql_prepare).
 */
#include "query/query_int.h"

#include "store/store.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A bitmap over [lo, lo + span) when the span is at most this many ids
 * (32 MiB of bits); beyond it (ids not dense), a binary search. */
#define TEXTSET_MAX_SPAN ((int64_t)1 << 28)

struct textset {
    int64_t lo, span;
    uint64_t *bits; /* NULL: search ids */
    int64_t *ids;   /* ascending */
    size_t n;
};

static void textset_free(void *p)
{
    struct textset *s = p;
    if (s == NULL)
        return;
    free(s->bits);
    free(s->ids);
    free(s);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The ids of query's rows, or NULL with *msg set (sqlite3_malloc'd or NULL
 * for out of memory). */
static struct textset *textset_build(sqlite3 *db, sqlite3_value *query, char **msg)
{
    sqlite3_stmt *st = NULL;
    *msg = NULL;
    if (sqlite3_prepare_v2(db, "SELECT rowid FROM main." STORE_TEXT_TABLE " WHERE " STORE_TEXT_TABLE
                               " MATCH ?1", -1, &st, NULL) != SQLITE_OK) {
        *msg = sqlite3_mprintf("vq_text_has: %s", sqlite3_errmsg(db));
        return NULL;
    }
    sqlite3_bind_value(st, 1, query);
    struct textset *s = xcalloc(1, sizeof(*s));
    size_t cap = 0;
    bool sorted = true;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (s->n == cap) {
            cap = cap ? cap * 2 : 1024;
            s->ids = xrealloc(s->ids, cap * sizeof(*s->ids));
        }
        int64_t id = sqlite3_column_int64(st, 0);
        if (s->n > 0 && id < s->ids[s->n - 1])
            sorted = false;
        s->ids[s->n++] = id;
    }
    if (rc != SQLITE_DONE) {
        *msg = sqlite3_mprintf("vq_text_has: %s", sqlite3_errmsg(db));
        sqlite3_finalize(st);
        textset_free(s);
        return NULL;
    }
    sqlite3_finalize(st);
    if (!sorted)
        qsort(s->ids, s->n, sizeof(*s->ids), cmp_i64);
    if (s->n > 0 && s->ids[s->n - 1] - s->ids[0] < TEXTSET_MAX_SPAN) {
        s->lo = s->ids[0];
        s->span = s->ids[s->n - 1] - s->lo + 1;
        s->bits = xcalloc((size_t)(s->span + 63) / 64, sizeof(uint64_t));
        for (size_t i = 0; i < s->n; i++) {
            uint64_t off = (uint64_t)(s->ids[i] - s->lo);
            s->bits[off / 64] |= (uint64_t)1 << (off % 64);
        }
        free(s->ids);
        s->ids = NULL;
    }
    return s;
}

static bool textset_has(const struct textset *s, int64_t id)
{
    if (s->bits != NULL) {
        if (id < s->lo || id - s->lo >= s->span)
            return false;
        uint64_t off = (uint64_t)(id - s->lo);
        return (s->bits[off / 64] >> (off % 64)) & 1;
    }
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->n && s->ids[lo] == id;
}

static void fn_text_has(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL || sqlite3_value_type(argv[1]) == SQLITE_NULL) {
        sqlite3_result_null(ctx); /* as NULL IN (...) */
        return;
    }
    int64_t id = sqlite3_value_int64(argv[0]);
    struct textset *s = sqlite3_get_auxdata(ctx, 1);
    if (s != NULL) {
        sqlite3_result_int(ctx, textset_has(s, id));
        return;
    }
    char *msg;
    s = textset_build(sqlite3_context_db_handle(ctx), argv[1], &msg);
    if (s == NULL) {
        if (msg != NULL)
            sqlite3_result_error(ctx, msg, -1);
        else
            sqlite3_result_error_nomem(ctx);
        sqlite3_free(msg);
        return;
    }
    sqlite3_result_int(ctx, textset_has(s, id));
    /* Kept for the statement's next rows while the query is a constant;
     * SQLite may free it at once otherwise (then it is built again). */
    sqlite3_set_auxdata(ctx, 1, s, textset_free);
}

int query__sql_text_set(sqlite3 *db, struct err *err)
{
    /* Not deterministic: the answer depends on the table's rows. */
    if (sqlite3_create_function(db, "vq_text_has", 2, SQLITE_UTF8, NULL, fn_text_has, NULL, NULL) !=
        SQLITE_OK)
        return err_set(err, ERR_DB, "registering vq_text_has: %s", sqlite3_errmsg(db));
    return 0;
}
