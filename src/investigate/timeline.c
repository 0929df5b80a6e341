/*
 * investigate: the timeline of a principal, a resource or an address.
 *
 * A principal is matched as the caller (principal_arn) or, for a role, as the
 * issuer of the session (session_issuer_arn); an access key id (AKIA/ASIA) is
 * matched as the key. An address brings CloudTrail calls from it, VPC flows
 * from or to it and Resolver queries from it, merged in time order.
 */
#include "investigate/investigate_int.h"

#include <stdio.h>
#include <string.h>

static const char ct_cols[] =
    "SELECT event_time_ms AS ms, 'cloudtrail' AS src,"
    " ifnull(event_source,'') || ':' || ifnull(event_name,'') AS what,"
    " coalesce(principal_arn, user_name, '') AS who, ifnull(source_ip,'') AS ip,"
    " ifnull(error_code,'') AS err, event_id AS id FROM cloudtrail WHERE ";

int investigate_timeline(struct store *st, const struct investigate_timeline_opts *o,
                         struct investigate_report **out, struct err *err)
{
    int given = (o->principal != NULL) + (o->resource != NULL) + (o->ip != NULL);
    if (given != 1)
        return err_set(err, ERR_USAGE, "give one of a principal, a resource or an address");
    const char *subject = o->principal ? o->principal : o->resource ? o->resource : o->ip;
    bool key = o->principal && (strncmp(o->principal, "AKIA", 4) == 0 ||
                                strncmp(o->principal, "ASIA", 4) == 0);
    struct buf sql;
    buf_init(&sql, 0);
    buf_append_cstr(&sql, ct_cols);
    if (key)
        buf_append_cstr(&sql, "access_key_id = ?1");
    else if (o->principal)
        buf_append_cstr(&sql, "(principal_arn = ?1 OR session_issuer_arn = ?1)");
    else if (o->resource)
        buf_append_cstr(&sql, "id IN (SELECT event FROM resources WHERE resource_name = ?1)");
    else
        buf_append_cstr(&sql, "source_ip = ?1");
    buf_append_cstr(&sql, " AND event_time_ms BETWEEN ?2 AND ?3");
    if (o->ip) {
        /* Flow start/end are epoch seconds. */
        buf_append_cstr(
            &sql,
            " UNION ALL SELECT start * 1000, 'vpcflow', ifnull(action,'') || ' ' || ifnull(srcaddr,'')"
            " || ':' || ifnull(srcport,'') || ' -> ' || ifnull(dstaddr,'') || ':' || ifnull(dstport,'')"
            " || ' proto ' || ifnull(protocol,'') || ' ' || ifnull(bytes,0) || ' bytes',"
            " ifnull(interface_id,''), ?1, '', 'flow-' || id FROM main.vpcflow"
            " WHERE (srcaddr = ?1 OR dstaddr = ?1) AND start * 1000 BETWEEN ?2 AND ?3"
            " UNION ALL SELECT query_time_ms, 'dns', ifnull(query_type,'') || ' ' ||"
            " ifnull(query_name,'') || ' ' || ifnull(rcode,''), ifnull(srcids_instance,''), ?1, '',"
            " 'dns-' || id FROM main.dns WHERE srcaddr = ?1 AND query_time_ms BETWEEN ?2 AND ?3");
    }
    size_t limit = o->limit ? o->limit : 10000;
    buf_printf(&sql, " ORDER BY 1, 7 LIMIT %zu", limit + 1);
    sqlite3 *db = store_db(st);
    sqlite3_stmt *s = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(db, sql.p, (int)sql.len, &s, NULL) != SQLITE_OK)
        rc = investigate__db_err(db, err, "timeline query");
    buf_free(&sql);
    if (rc != 0)
        return rc;
    sqlite3_bind_text(s, 1, subject, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, o->since_ms);
    sqlite3_bind_int64(s, 3, o->until_ms);
    char title[600];
    snprintf(title, sizeof(title), "Timeline: %s", subject);
    struct investigate_report *r = investigate__report_new("timeline", title);
    struct investigate_table *t = investigate__table(
        r, "Events", NULL, "time", "source", "what", "who", "source ip", "error", "id",
        (const char *)NULL);
    size_t n = 0, failed = 0;
    int step;
    int64_t first = 0, last = 0;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == limit) {
            investigate__summary(r, "truncated", "only the first %zu events are listed", limit);
            break;
        }
        int64_t ms = sqlite3_column_int64(s, 0);
        char ts[32];
        investigate__time(ms, ts);
        const char *src = investigate__col(s, 1), *what = investigate__col(s, 2);
        const char *error = investigate__col(s, 5);
        investigate__row(t, ts, src, what, investigate__col(s, 3), investigate__col(s, 4), error,
                         investigate__col(s, 6));
        /* One lane per service keeps the chart readable. */
        char lane[128];
        const char *colon = strchr(what, ':');
        snprintf(lane, sizeof(lane), "%.*s", strcmp(src, "cloudtrail") == 0 && colon
                                                 ? (int)(colon - what) : (int)strlen(src),
                 strcmp(src, "cloudtrail") == 0 ? what : src);
        investigate__point(r, ms, lane, what, error[0] != '\0');
        if (n == 0)
            first = ms;
        last = ms;
        failed += error[0] != '\0';
        n++;
    }
    if (step != SQLITE_DONE && step != SQLITE_ROW)
        rc = investigate__db_err(db, err, "timeline query");
    sqlite3_finalize(s);
    investigate__summary(r, "subject", "%s", subject);
    investigate__summary(r, "events", "%zu", n);
    investigate__summary(r, "failed calls", "%zu", failed);
    if (n) {
        char a[32], b[32];
        investigate__time(first, a);
        investigate__time(last, b);
        investigate__summary(r, "from", "%s", a);
        investigate__summary(r, "to", "%s", b);
    }
    if (rc == 0)
        *out = r;
    else
        investigate_report_free(r);
    return rc;
}
