/*
 * Fuzz target for the Athena SQL rewriter (query_sql_rewrite) and the SQL
 * functions it relies on. The input is one statement. A rejection must carry
 * a message; a rewrite must be NUL-terminated at its length, map every output
 * offset to a line of the input, and prepare on a store connection or fail
 * with a message; a prepared statement is stepped (bounded) so the functions
 * see fuzzed arguments too.
 */
#include "query/query.h"
#include "store/store.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

static unsigned count_lines(const uint8_t *d, size_t n)
{
    unsigned lines = 1;
    for (size_t i = 0; i < n; i++)
        lines += d[i] == '\n';
    return lines;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    struct query_sql q;
    struct err e;
    err_clear(&e);
    /* With the text index's rewrite (its LIKE pattern parsing, as an IN
     * list or vq_text_has) and ORDER BY eventtime through the epoch too,
     * as the first byte says; the checks below hold either way. */
    unsigned flags = 0;
    if (n > 0 && (d[0] & 1))
        flags |= QUERY_SQL_TEXT_INDEX | ((d[0] & 4) ? QUERY_SQL_TEXT_PROBE : 0);
    if (n > 0 && (d[0] & 2))
        flags |= QUERY_SQL_TIME_ORDER;
    if (query_sql_rewrite_flags((const char *)d, n, flags, &q, &e) != 0) {
        if (e.msg[0] == 0)
            abort();
        return 0;
    }
    if (q.kind == QUERY_SQL_NOOP) {
        if (q.note[0] == 0)
            abort();
        query_sql_free(&q);
        return 0;
    }
    if (q.sql == NULL || q.sql[q.len] != '\0' || strlen(q.sql) != q.len)
        abort();
    unsigned lines = count_lines(d, n);
    for (size_t i = 0; i < q.n_map; i++)
        if (q.map_line[i] < 1 || q.map_line[i] > lines || q.map_off[i] > q.len ||
            (i > 0 && q.map_off[i] < q.map_off[i - 1]))
            abort();
    /* A statement said to be sliceable has a window and rewrites as a
     * slice of it. */
    if (q.sliceable) {
        if (q.span_lo >= q.span_hi)
            abort();
        struct query_sql sl;
        int64_t mid = q.span_lo + (q.span_hi - q.span_lo) / 2;
        if (query_sql_rewrite_slice((const char *)d, n, flags, q.span_lo, mid, &sl, &e) != 0 ||
            sl.sql == NULL || strstr(sl.sql, "\"eventtime.ms\" >= ") == NULL)
            abort();
        query_sql_free(&sl);
    }
    query_sql_free(&q);

    /* An empty in-memory store: views and functions exist, no rows, so
     * only constant expressions reach the functions. */
    struct store *st = NULL;
    if (store_open(":memory:", &st, &e) != 0 || query_sql_setup(store_db(st), &e) != 0) {
        store_close(st);
        abort();
    }
    sqlite3_stmt *stmt = NULL;
    char note[256];
    if (query_sql_prepare(store_db(st), (const char *)d, n, &stmt, note, &e) != 0) {
        if (e.msg[0] == 0)
            abort();
    } else if (stmt != NULL) {
        for (int i = 0; i < 100 && sqlite3_step(stmt) == SQLITE_ROW; i++)
            for (int c = 0; c < sqlite3_column_count(stmt); c++)
                (void)sqlite3_column_text(stmt, c);
    }
    sqlite3_finalize(stmt);
    store_close(st);
    return 0;
}
