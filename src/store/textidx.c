/*
 * store: the opt-in text index of CloudTrail's requestParameters.
 *
 * A contentless FTS5 table with the trigram tokenizer, case-sensitive (the
 * query module's LIKE is: PRAGMA case_sensitive_like, as Athena's), one row
 * per cloudtrail row id holding exactly the text cloudtrail_logs'
 * requestparameters column shows: SQLite's raw -> '$.requestParameters',
 * 'null' as NULL (sql_ctrec.c answers that column with SQLite's own JSON by
 * construction). A phrase query on it ("contains this run of at least three
 * characters") narrows a LIKE '%...%' to the rows that can match; the query
 * keeps the LIKE for exactness (sql_rewrite.c).
 *
 * Invariant: while the table exists it holds every cloudtrail_raw row, and
 * only those, in the transaction of each change, so a killed ingest resumes
 * exact; store_text_index_enable creates the table, its triggers and the rows
 * already there in one transaction, so the table exists only once complete.
 * The table's existence is the setting: no schema change, and a store without
 * it is untouched.
 *
 * Inserts: the ingest indexes a batch's new records with one INSERT ...
 * SELECT before its COMMIT (their ids are above every id there was when the
 * batch began). An insert trigger, one row at a time, cost 4x the ingest's
 * CPU (200k records: 5 -> 19 user-s; the same rows in one statement: +3.4 s):
 * FTS5 flushes its pending terms at every statement's savepoint, so each row
 * became a segment to merge. A BEFORE INSERT trigger instead refuses inserts
 * from any connection that does not maintain the index (an older Vigil, the
 * sqlite3 shell: "no such function", or a process that did not see the index
 * appear), rather than let the index miss rows. Deletes (retention) and
 * updates are rare: triggers, which need nothing of the writer.
 *
 * Contentless FTS5 (SQLite 3.40) forgets the text, so a delete must give it
 * the text that was indexed: the delete trigger computes it again from the
 * record being deleted, with the same expression. An invalid JSON record
 * (which cloudtrail_logs cannot show either) is indexed as NULL.
 */
#include "store/store_int.h"

#include <stdio.h>
#include <string.h>

/* The text of record r, as the view shows requestparameters. */
#define CT_TEXT(r)                                                                          \
    "CASE WHEN json_valid(" r ") THEN nullif(" r " -> '$.requestParameters', 'null') END"

/* columnsize=0: no per-row token counts (only ranking uses them). */
static const char create_sql[] =
    "CREATE VIRTUAL TABLE main." STORE_TEXT_TABLE " USING fts5(t, content='',"
    " columnsize=0, tokenize='trigram case_sensitive 1');"
    "CREATE TRIGGER main.cloudtrail_text_ins BEFORE INSERT ON cloudtrail_raw"
    " WHEN NOT vigil_text_maintained() BEGIN SELECT RAISE(ABORT, 'the store has a text index"
    " of requestParameters (cloudtrail_text) that this writer does not maintain: ingest with a"
    " Vigil that does, or drop the index first (docs/store.md)'); END;"
    "CREATE TRIGGER main.cloudtrail_text_del AFTER DELETE ON cloudtrail_raw BEGIN"
    " INSERT INTO " STORE_TEXT_TABLE "(" STORE_TEXT_TABLE ", rowid, t)"
    " VALUES('delete', OLD.id, " CT_TEXT("OLD.raw") ");"
    " END;"
    "CREATE TRIGGER main.cloudtrail_text_upd AFTER UPDATE OF id, raw ON cloudtrail_raw BEGIN"
    " INSERT INTO " STORE_TEXT_TABLE "(" STORE_TEXT_TABLE ", rowid, t)"
    " VALUES('delete', OLD.id, " CT_TEXT("OLD.raw") ");"
    " INSERT INTO " STORE_TEXT_TABLE "(rowid, t) VALUES(NEW.id, " CT_TEXT("NEW.raw") ");"
    " END;";

/* vigil_text_maintained(): whether this connection indexes the records it
 * inserts (the guard trigger's test). */
static void fn_maintained(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    (void)argv;
    const struct store *st = sqlite3_user_data(ctx);
    sqlite3_result_int(ctx, st->text_on == 1);
}

int store__text_register(struct store *st, struct err *err)
{
    if (sqlite3_create_function_v2(st->db, "vigil_text_maintained", 0, SQLITE_UTF8, st,
                                   fn_maintained, NULL, NULL, NULL) != SQLITE_OK)
        return store__db_err(st, err, "registering vigil_text_maintained");
    return 0;
}

int store__text_add(struct store *st, int64_t id, struct err *err)
{
    if (st->text_on < 0) {
        bool have;
        int rc = store_text_index_exists(st, &have, err);
        if (rc != 0)
            return rc;
        st->text_on = have;
    }
    if (st->text_on == 1 && !st->text_pending) {
        st->text_pending = true;
        st->text_lo = id;
    }
    return 0;
}

int store__text_flush(struct store *st, struct err *err)
{
    if (!st->text_pending)
        return 0;
    st->text_pending = false;
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO main." STORE_TEXT_TABLE "(rowid, t) SELECT id, "
                           CT_TEXT("raw") " FROM main.cloudtrail_raw WHERE id >= ?1",
                           -1, &s, NULL) != SQLITE_OK)
        return store__db_err(st, err, "preparing the text index");
    sqlite3_bind_int64(s, 1, st->text_lo);
    int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : store__db_err(st, err, "indexing the text");
    sqlite3_finalize(s);
    return rc;
}

/* Rows indexed per step of the build, between two progress calls. */
#define BUILD_STEP 50000

int store_text_index_exists(struct store *st, bool *out, struct err *err)
{
    int rc = store_db_has_table(st->db, STORE_TEXT_TABLE);
    *out = rc == 1;
    return rc < 0 ? store__db_err(st, err, "reading the schema") : 0;
}

static int id_range(struct store *st, int64_t *lo, int64_t *hi, int64_t *n, struct err *err)
{
    sqlite3_stmt *s;
    /* The count from cloudtrail's smallest index: counting cloudtrail_raw
     * would read every record (16 GB on 10 million events). The two tables
     * have the same rows; the count only scales the progress. */
    if (sqlite3_prepare_v2(st->db,
                           "SELECT (SELECT min(id) FROM main.cloudtrail_raw),"
                           " (SELECT max(id) FROM main.cloudtrail_raw),"
                           " (SELECT count(*) FROM main.cloudtrail)",
                           -1, &s, NULL) != SQLITE_OK)
        return store__db_err(st, err, "reading the records");
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        bool empty = sqlite3_column_type(s, 0) == SQLITE_NULL;
        *lo = empty ? 1 : sqlite3_column_int64(s, 0);
        *hi = empty ? 0 : sqlite3_column_int64(s, 1);
        *n = sqlite3_column_int64(s, 2);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? 0 : store__db_err(st, err, "reading the records");
}

static int fill(struct store *st, store_text_progress_fn progress, void *ctx, struct err *err)
{
    int64_t lo = 0, hi = 0, total = 0;
    int rc = id_range(st, &lo, &hi, &total, err);
    if (rc != 0 || hi < lo)
        return rc;
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO main." STORE_TEXT_TABLE "(rowid, t) SELECT id, "
                           CT_TEXT("raw") " FROM main.cloudtrail_raw WHERE id BETWEEN ?1 AND ?2",
                           -1, &s, NULL) != SQLITE_OK)
        return store__db_err(st, err, "preparing the text index");
    int64_t done = 0;
    if (progress != NULL)
        progress(ctx, 0, total);
    /* Unsigned distances: ids may be anywhere in the int64 range. */
    for (int64_t a = lo; rc == 0;) {
        int64_t b = (uint64_t)hi - (uint64_t)a < BUILD_STEP ? hi : a + BUILD_STEP - 1;
        sqlite3_bind_int64(s, 1, a);
        sqlite3_bind_int64(s, 2, b);
        if (sqlite3_step(s) != SQLITE_DONE)
            rc = store__db_err(st, err, "building the text index");
        else
            done += sqlite3_changes64(st->db);
        sqlite3_reset(s);
        if (rc == 0 && progress != NULL)
            progress(ctx, done, total);
        if (b == hi)
            break;
        a = b + 1;
    }
    sqlite3_finalize(s);
    return rc;
}

int store_text_index_enable(struct store *st, store_text_progress_fn progress, void *ctx,
                            bool *built_out, struct err *err)
{
    bool have;
    if (built_out != NULL)
        *built_out = false;
    if (st->readonly)
        return err_set(err, ERR_USAGE, "the store is open read-only");
    int rc = store_begin(st, err);
    if (rc != 0)
        return rc;
    /* Checked inside the (IMMEDIATE) transaction: two ingests enabling it
     * at once must not both build it. */
    rc = store_text_index_exists(st, &have, err);
    if (rc == 0 && !have) {
        rc = store__exec(st, create_sql, err);
        if (rc == 0)
            rc = fill(st, progress, ctx, err);
        if (rc == 0)
            st->text_on = 1;
        if (rc == 0 && built_out != NULL)
            *built_out = true;
    }
    if (rc == 0)
        rc = store_commit(st, err);
    else
        store_rollback(st);
    st->text_on = -1; /* read again: a failed build left none */
    return rc;
}
