/* investigate: findings kept in the store, with Security Hub's workflow. */
#include "investigate/investigate_int.h"
#include "json/json.h"

#include <stdlib.h>
#include <string.h>

/* The findings table is part of the store's schema (src/store/store.c,
 * migration 3): every store opened through store_open has it. */

/* A re-run over the same logs reports the same counts: keep the larger. Only
 * activity wholly after what is stored is new, and adds up. Security Hub
 * reopens a RESOLVED finding that gets new activity. */
static const char upsert_sql[] =
    "INSERT INTO findings(id, type, severity, account, region, resource, title, first_seen_ms,"
    " last_seen_ms, count, json, workflow_status, record_state, created_ms, updated_ms)"
    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'NEW', ?12, ?13, ?13)"
    " ON CONFLICT(id) DO UPDATE SET"
    "  severity = excluded.severity, resource = excluded.resource, title = excluded.title,"
    "  json = excluded.json,"
    "  count = CASE WHEN excluded.first_seen_ms > findings.last_seen_ms"
    "   THEN findings.count + excluded.count ELSE max(findings.count, excluded.count) END,"
    "  workflow_status = CASE WHEN findings.workflow_status = 'RESOLVED'"
    "   AND excluded.last_seen_ms > findings.last_seen_ms THEN 'NEW' ELSE findings.workflow_status END,"
    "  first_seen_ms = min(findings.first_seen_ms, excluded.first_seen_ms),"
    "  last_seen_ms = max(findings.last_seen_ms, excluded.last_seen_ms),"
    "  updated_ms = excluded.updated_ms";

int investigate_findings_put(struct store *st, const struct finding *const *fs, size_t n,
                             int64_t now_ms, size_t *added_out, struct err *err)
{
    sqlite3 *db = store_db(st);
    sqlite3_stmt *ins = NULL, *probe = NULL;
    struct buf js;
    buf_init(&js, 0);
    size_t added = 0;
    int rc = store_begin(st, err);
    if (rc == 0 && (sqlite3_prepare_v2(db, upsert_sql, -1, &ins, NULL) != SQLITE_OK ||
                    sqlite3_prepare_v2(db, "SELECT 1 FROM findings WHERE id = ?1", -1, &probe,
                                       NULL) != SQLITE_OK))
        rc = investigate__db_err(db, err, "findings");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct finding *f = fs[i];
        char res[512];
        finding_resource_text(f, res, sizeof(res));
        buf_reset(&js);
        struct json_writer w;
        jw_init(&w, &js, 0);
        finding_to_json(&w, f);
        sqlite3_bind_text(probe, 1, f->id, -1, SQLITE_STATIC);
        bool known = sqlite3_step(probe) == SQLITE_ROW;
        sqlite3_reset(probe);
        sqlite3_bind_text(ins, 1, f->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 2, f->type, -1, SQLITE_STATIC);
        sqlite3_bind_double(ins, 3, f->severity);
        sqlite3_bind_text(ins, 4, f->account, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 5, f->region, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 6, res, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 7, f->title, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 8, f->first_ms);
        sqlite3_bind_int64(ins, 9, f->last_ms);
        sqlite3_bind_int64(ins, 10, (int64_t)f->count);
        sqlite3_bind_text(ins, 11, js.p ? js.p : "{}", (int)js.len, SQLITE_STATIC);
        sqlite3_bind_text(ins, 12, f->archived ? "ARCHIVED" : "ACTIVE", -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 13, now_ms);
        if (sqlite3_step(ins) != SQLITE_DONE)
            rc = investigate__db_err(db, err, "storing a finding");
        sqlite3_reset(ins);
        if (!known)
            added++;
    }
    sqlite3_finalize(ins);
    sqlite3_finalize(probe);
    buf_free(&js);
    if (rc == 0)
        rc = store_commit(st, err);
    else
        store_rollback(st);
    if (rc == 0 && added_out)
        *added_out = added;
    return rc;
}

int investigate_findings_save(const char *db_path, const struct finding_agg *agg, int64_t now_ms,
                              size_t *added_out, struct err *err)
{
    struct store *st = NULL;
    int rc = store_open(db_path, &st, err);
    if (rc == 0) {
        size_t n = 0;
        const struct finding **fs = finding_agg_sorted(agg, &n);
        rc = investigate_findings_put(st, fs, n, now_ms, added_out, err);
        free(fs);
    }
    store_close(st);
    return rc;
}

#define ROW_COLS                                                                              \
    "id, type, account, region, resource, title, severity, first_seen_ms, last_seen_ms, count," \
    " updated_ms, workflow_status, record_state, note, json"

static int emit_rows(sqlite3 *db, sqlite3_stmt *s, investigate_finding_fn fn, void *ctx,
                     size_t *n_out, struct err *err)
{
    int rc = 0, step;
    size_t n = 0;
    while (rc == 0 && (step = sqlite3_step(s)) == SQLITE_ROW) {
        struct investigate_finding_row row = {
            .id = investigate__col(s, 0),
            .type = investigate__col(s, 1),
            .account = investigate__col(s, 2),
            .region = investigate__col(s, 3),
            .resource = investigate__col(s, 4),
            .title = investigate__col(s, 5),
            .severity = sqlite3_column_double(s, 6),
            .first_ms = sqlite3_column_int64(s, 7),
            .last_ms = sqlite3_column_int64(s, 8),
            .count = sqlite3_column_int64(s, 9),
            .updated_ms = sqlite3_column_int64(s, 10),
            .workflow_status = investigate__col(s, 11),
            .record_state = investigate__col(s, 12),
            .note = sqlite3_column_type(s, 13) == SQLITE_NULL ? NULL : investigate__col(s, 13),
            .json = investigate__col(s, 14),
        };
        n++;
        rc = fn(ctx, &row);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = investigate__db_err(db, err, "reading findings");
    *n_out = n;
    return rc;
}

int investigate_findings_list(struct store *st, const struct investigate_findings_query *q,
                              investigate_finding_fn fn, void *ctx, struct err *err)
{
    sqlite3 *db = store_db(st);
    int rc = 0;
    const char *state = q->record_state ? q->record_state : "ACTIVE";
    struct buf sql;
    buf_init(&sql, 0);
    buf_append_cstr(&sql, "SELECT " ROW_COLS " FROM findings WHERE severity >= ?1"
                          " AND (?2 IS NULL OR type = ?2) AND (?3 IS NULL OR workflow_status = ?3)"
                          " AND (?4 = 'ALL' OR record_state = ?4)");
    buf_append_cstr(&sql, q->sort == INVESTIGATE_SORT_TIME
                              ? " ORDER BY last_seen_ms DESC, id"
                              : " ORDER BY severity DESC, last_seen_ms DESC, id");
    if (q->limit)
        buf_printf(&sql, " LIMIT %zu", q->limit);
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db, sql.p, (int)sql.len, &s, NULL) != SQLITE_OK) {
        rc = investigate__db_err(db, err, "listing findings");
    } else {
        sqlite3_bind_double(s, 1, q->severity_min);
        if (q->type)
            sqlite3_bind_text(s, 2, q->type, -1, SQLITE_STATIC);
        if (q->status)
            sqlite3_bind_text(s, 3, q->status, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, state, -1, SQLITE_STATIC);
        size_t n;
        rc = emit_rows(db, s, fn, ctx, &n, err);
    }
    sqlite3_finalize(s);
    buf_free(&sql);
    return rc;
}

int investigate_findings_get(struct store *st, const char *id, investigate_finding_fn fn,
                             void *ctx, struct err *err)
{
    sqlite3 *db = store_db(st);
    int rc = 0;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db, "SELECT " ROW_COLS " FROM findings WHERE id = ?1", -1, &s, NULL) !=
        SQLITE_OK)
        return investigate__db_err(db, err, "reading a finding");
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    size_t n = 0;
    rc = emit_rows(db, s, fn, ctx, &n, err);
    sqlite3_finalize(s);
    if (rc == 0 && n == 0)
        rc = err_set(err, ERR_NOTFOUND, "no finding with id %s", id);
    return rc;
}

/* Runs one UPDATE/DELETE with up to three text binds and a time; *changed_out gets the row count. */
static int exec_change(struct store *st, const char *sql, const char *a, const char *b,
                       const char *c, int64_t ms, int64_t *changed_out, struct err *err)
{
    sqlite3 *db = store_db(st);
    int rc = 0;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return investigate__db_err(db, err, "findings");
    const char *v[3] = { a, b, c };
    for (int i = 0; i < 3; i++)
        if (v[i])
            sqlite3_bind_text(s, i + 1, v[i], -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, ms);
    if (sqlite3_step(s) != SQLITE_DONE)
        rc = investigate__db_err(db, err, "findings");
    else
        *changed_out = sqlite3_changes(db);
    sqlite3_finalize(s);
    return rc;
}

int investigate_findings_update(struct store *st, const char *id, const char *status,
                                const char *note, int64_t now_ms, struct err *err)
{
    static const char *const ok[] = { "NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED" };
    bool valid = false;
    for (size_t i = 0; i < 4 && status; i++)
        valid = valid || strcmp(status, ok[i]) == 0;
    if (!valid)
        return err_set(err, ERR_USAGE, "workflow status '%s': want NEW, NOTIFIED, RESOLVED or "
                                       "SUPPRESSED", status ? status : "");
    int64_t changed = 0;
    int rc = exec_change(st,
                         "UPDATE findings SET workflow_status = ?2, note = coalesce(?3, note),"
                         " updated_ms = ?4 WHERE id = ?1",
                         id, status, note, now_ms, &changed, err);
    if (rc == 0 && changed == 0)
        rc = err_set(err, ERR_NOTFOUND, "no finding with id %s", id);
    return rc;
}

int investigate_findings_archive(struct store *st, const char *id, bool archived, int64_t now_ms,
                                 struct err *err)
{
    int64_t changed = 0;
    int rc = exec_change(st, "UPDATE findings SET record_state = ?2, updated_ms = ?4 WHERE id = ?1",
                         id, archived ? "ARCHIVED" : "ACTIVE", NULL, now_ms, &changed, err);
    if (rc == 0 && changed == 0)
        rc = err_set(err, ERR_NOTFOUND, "no finding with id %s", id);
    return rc;
}

int investigate_findings_purge(struct store *st, int64_t before_ms, int64_t *n_out,
                               struct err *err)
{
    int64_t changed = 0;
    int rc = exec_change(st, "DELETE FROM findings WHERE updated_ms < ?4", NULL, NULL, NULL,
                         before_ms, &changed, err);
    if (rc == 0 && n_out)
        *n_out = changed;
    return rc;
}
