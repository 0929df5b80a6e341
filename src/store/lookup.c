/*
 * lookup: LookupEvents over the cloudtrail table.
 *
 * One SQL statement per lookup: the attribute picks the index (EventName ->
 * cloudtrail_name, ResourceName -> resources_name, ...), the time bounds are
 * inclusive, and the order is newest first with the event id breaking ties so
 * that pages are stable whatever order the files were ingested in. ReadOnly
 * has no index of its own: it walks the time index and filters, which finds a
 * page quickly since both values are common.
 */
#include "store/store_int.h"

#include <stdio.h>
#include <string.h>

/* The column an attribute compares, NULL for the resource attributes. */
static const char *attr_column(enum store_attr a)
{
    switch (a) {
    case STORE_ATTR_EVENT_ID: return "c.event_id";
    case STORE_ATTR_EVENT_NAME: return "c.event_name";
    case STORE_ATTR_READ_ONLY: return "c.read_only";
    case STORE_ATTR_USERNAME: return "c.user_name";
    case STORE_ATTR_EVENT_SOURCE: return "c.event_source";
    case STORE_ATTR_ACCESS_KEY_ID: return "c.access_key_id";
    default: return NULL;
    }
}

static const char *col_text(sqlite3_stmt *s, int i)
{
    return (const char *)sqlite3_column_text(s, i);
}

int store_lookup_events(struct store *st, const struct store_lookup *q, store_lookup_fn fn,
                        void *ctx, bool *more_out, struct err *err)
{
    if ((unsigned)q->attr > STORE_ATTR_ACCESS_KEY_ID)
        return err_set(err, ERR_USAGE, "unknown lookup attribute %d", (int)q->attr);
    if (more_out != NULL)
        *more_out = false;
    int ro = -1;
    if (q->attr == STORE_ATTR_READ_ONLY) {
        /* Anything but the two literal values matches nothing, as on AWS. */
        if (q->value != NULL && strcmp(q->value, "true") == 0)
            ro = 1;
        else if (q->value != NULL && strcmp(q->value, "false") == 0)
            ro = 0;
        else
            return 0;
    }
    /* Paging resumes after (after_time_ms, after_event_id): the time bound
     * becomes an index range, the event id settles ties within that second. */
    int64_t end = q->end_ms;
    if (q->after && q->after_time_ms < end)
        end = q->after_time_ms;
    const bool by_resource =
        q->attr == STORE_ATTR_RESOURCE_TYPE || q->attr == STORE_ATTR_RESOURCE_NAME;
    const char *tcol = by_resource ? "r.event_time_ms" : "c.event_time_ms";
    char where[512];
    if (by_resource)
        snprintf(where, sizeof(where),
                 "FROM resources r JOIN cloudtrail c ON c.id=r.event WHERE r.%s=?1 AND r.mgmt=%d"
                 " AND c.event_category=%s",
                 q->attr == STORE_ATTR_RESOURCE_TYPE ? "resource_type" : "resource_name",
                 q->insight ? 0 : 1, q->insight ? "'Insight'" : "'Management'");
    else
        snprintf(where, sizeof(where), "FROM cloudtrail c WHERE c.event_category=%s%s%s%s",
                 q->insight ? "'Insight'" : "'Management'", q->attr != STORE_ATTR_NONE ? " AND " : "",
                 q->attr != STORE_ATTR_NONE ? attr_column(q->attr) : "",
                 q->attr != STORE_ATTR_NONE ? "=?1" : "");
    /* Resource rows of one event are adjacent in this order (same time, same
     * id): the loop below skips the repeats instead of a DISTINCT that would
     * compare raw records. Rows stream in index order, so stopping at the
     * limit stops the scan. */
    char sql[1400];
    snprintf(sql, sizeof(sql),
             "SELECT c.id, c.event_id, c.event_name, c.read_only, c.access_key_id,"
             " c.event_time_ms, c.event_source, c.user_name %s"
             " AND %s BETWEEN ?2 AND ?3%s%s"
             " ORDER BY %s DESC, c.event_id DESC",
             where, tcol, q->region ? " AND c.region=?4" : "",
             q->after ? " AND (c.event_time_ms<?5 OR c.event_id<?6)" : "", tcol);
    sqlite3_stmt *s = NULL, *rs = NULL;
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return store__db_err(st, err, "preparing the lookup");
    if (ro >= 0)
        sqlite3_bind_int(s, 1, ro);
    else if (q->attr != STORE_ATTR_NONE)
        sqlite3_bind_text(s, 1, q->value ? q->value : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, q->start_ms);
    sqlite3_bind_int64(s, 3, end);
    if (q->region)
        sqlite3_bind_text(s, 4, q->region, -1, SQLITE_STATIC);
    if (q->after) {
        sqlite3_bind_int64(s, 5, q->after_time_ms);
        sqlite3_bind_text(s, 6, q->after_event_id ? q->after_event_id : "", -1, SQLITE_STATIC);
    }

    sqlite3_stmt *raw = NULL;
    int rc = store__stmt(st, STMT_RES_OF_EVENT, &rs, err);
    if (rc == 0)
        rc = store__stmt(st, STMT_RAW_OF_EVENT, &raw, err);
    size_t n = 0;
    int64_t prev_id = 0;
    struct store_resource res[STORE_MAX_RESOURCES];
    while (rc == 0) {
        int step = sqlite3_step(s);
        if (step == SQLITE_DONE)
            break;
        if (step != SQLITE_ROW) {
            rc = store__db_err(st, err, "looking up events");
            break;
        }
        int64_t id = sqlite3_column_int64(s, 0);
        if (n > 0 && id == prev_id)
            continue; /* the same event through another of its resources */
        prev_id = id;
        if (q->limit && n == q->limit) {
            if (more_out != NULL)
                *more_out = true;
            break;
        }
        n++;
        struct store_lookup_row row;
        memset(&row, 0, sizeof(row));
        row.event_id = col_text(s, 1);
        row.event_name = col_text(s, 2);
        if (sqlite3_column_type(s, 3) != SQLITE_NULL)
            row.read_only = sqlite3_column_int(s, 3) ? "true" : "false";
        row.access_key_id = col_text(s, 4);
        row.time_ms = sqlite3_column_int64(s, 5);
        row.event_source = col_text(s, 6);
        row.username = col_text(s, 7);
        /* The record is read only for the events returned. */
        sqlite3_reset(raw);
        sqlite3_bind_int64(raw, 1, id);
        int rawstep = sqlite3_step(raw);
        if (rawstep != SQLITE_ROW && rawstep != SQLITE_DONE) {
            rc = store__db_err(st, err, "reading a record");
            break;
        }
        row.cloudtrail_event = rawstep == SQLITE_ROW ? col_text(raw, 0) : "{}";
        row.cloudtrail_event_len = rawstep == SQLITE_ROW ? (size_t)sqlite3_column_bytes(raw, 0) : 2;

        sqlite3_reset(rs);
        sqlite3_bind_int64(rs, 1, id);
        size_t nres = 0;
        int rstep;
        while ((rstep = sqlite3_step(rs)) == SQLITE_ROW && nres < STORE_MAX_RESOURCES) {
            /* Column text is valid until the next step: the callback sees
             * copies in the store's arena. */
            const char *t = col_text(rs, 0), *nm = col_text(rs, 1);
            res[nres].type = t ? arena_strndup(&st->arena, t, strlen(t)) : NULL;
            res[nres].name = arena_strndup(&st->arena, nm ? nm : "", nm ? strlen(nm) : 0);
            nres++;
        }
        if (rstep != SQLITE_ROW && rstep != SQLITE_DONE) {
            rc = store__db_err(st, err, "reading resources");
            break;
        }
        sqlite3_reset(rs);
        row.resources = res;
        row.n_resources = nres;
        int cb = fn(ctx, &row);
        arena_reset(&st->arena);
        if (cb != 0) {
            rc = cb;
            break;
        }
    }
    sqlite3_finalize(s);
    if (rs != NULL)
        sqlite3_reset(rs);
    if (raw != NULL)
        sqlite3_reset(raw);
    return rc;
}
