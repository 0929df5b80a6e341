/*
 * store: opening the database, the schema and its migrations, transactions.
 *
 * The schema is a list of migrations, each taking the file from version N-1 to
 * N inside one transaction; schema_version holds the last one applied. A file
 * from a newer Vigil is refused rather than misread.
 *
 * Settings: WAL (readers never block the writer; a killed writer loses only its
 * open transaction), synchronous=NORMAL (durable against a process crash,
 * which is what resumable ingest needs; an OS crash may lose the last commits,
 * never consistency), for writers a 256 MiB page cache so index pages stay in
 * memory during bulk loads (readers keep the default, see open_db), and a busy
 * timeout so a lookup during an ingest waits instead of
 * failing.
 */
#include "store/store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Indexes (the secondary ones below) serve the lookups (LookupEvents keys, each
 * with time for the newest-first order, then the category, since lookups want
 * management events only: tested in the index entry, before the row is read;
 * resources repeats its event's time and category for the same reason) and the
 * filters analysts write most (athena.md §3: event name, source, principal
 * ARN or id, access key, source IP, error code, each with a time window). The
 * category comes after the time so that an analyst's "this key between T1 and
 * T2", which says nothing of the category, is still one index range.
 * The unique index on vpcflow/dns covers absent (NULL) fields through ifnull,
 * since NULLs never collide in a UNIQUE index and NODATA flow records are mostly
 * NULLs. */
/* The rollup's triggers (migration 7): row r's day and key, a row added to
 * and taken from its count. Inserts are counted by the ingest itself
 * (store__daily_add): an insert trigger, even one upsert, doubled the CPU
 * time of a CloudTrail ingest (200k records: 6 -> 13.6 user-s). A NULL
 * account or Region never conflicts, so such keys may have several rows
 * (readers sum n); a delete takes one from any row of the key. */
#define CT_DAILY_DAY(r) r ".event_time_ms - (" r ".event_time_ms % 86400000 + 86400000) % 86400000"
#define CT_DAILY_KEY(r)                                                                    \
    "day_ms = " CT_DAILY_DAY(r) " AND account IS " r ".account AND region IS " r ".region"
#define CT_DAILY_ADD(r)                                                                    \
    " INSERT INTO cloudtrail_daily(day_ms, account, region, n) VALUES(" CT_DAILY_DAY(r) ", " \
    r ".account, " r ".region, 1) ON CONFLICT(day_ms, account, region) DO UPDATE SET n = n + 1;"
#define CT_DAILY_SUB(r)                                                                    \
    " UPDATE cloudtrail_daily SET n = n - 1 WHERE rowid = (SELECT rowid FROM cloudtrail_daily" \
    " WHERE " CT_DAILY_KEY(r) " LIMIT 1);"                                                 \
    " DELETE FROM cloudtrail_daily WHERE " CT_DAILY_KEY(r) " AND n <= 0;"
#define CT_DAILY_TRIGGER(name, what, body)                                                 \
    "CREATE TRIGGER " name " AFTER " what " ON cloudtrail BEGIN" body " END;"

static const char *const migrations[] = {
    /* 1 */
    "CREATE TABLE schema_version(version INTEGER NOT NULL, applied_at TEXT NOT NULL);"
    "CREATE TABLE ingest_ledger("
    " id INTEGER PRIMARY KEY,"
    " path TEXT NOT NULL,"
    " size INTEGER NOT NULL,"
    " mtime_ns INTEGER NOT NULL,"
    " sha256 TEXT NOT NULL,"
    " records INTEGER NOT NULL DEFAULT 0,"
    " inserted INTEGER NOT NULL DEFAULT 0,"
    " bad INTEGER NOT NULL DEFAULT 0,"
    " started_at TEXT NOT NULL,"
    " finished_at TEXT);"
    "CREATE INDEX ingest_ledger_path ON ingest_ledger(path);"
    "CREATE INDEX ingest_ledger_sha256 ON ingest_ledger(sha256);"
    "CREATE TABLE cloudtrail("
    " id INTEGER PRIMARY KEY,"
    " event_id TEXT NOT NULL UNIQUE,"
    " event_time_ms INTEGER NOT NULL,"
    " event_time TEXT NOT NULL,"
    " account TEXT,"
    " region TEXT,"
    " event_source TEXT,"
    " event_name TEXT,"
    " event_type TEXT,"
    " event_category TEXT NOT NULL,"
    " principal_arn TEXT,"
    " principal_type TEXT,"
    " principal_id TEXT,"
    " user_name TEXT,"
    " access_key_id TEXT,"
    " session_issuer_arn TEXT,"
    " session_issuer_name TEXT,"
    " source_ip TEXT,"
    " user_agent TEXT,"
    " error_code TEXT,"
    " error_message TEXT,"
    " read_only INTEGER,"
    " file_id INTEGER,"
    " raw TEXT NOT NULL);"
    "CREATE TABLE resources("
    " event INTEGER NOT NULL,"
    " seq INTEGER NOT NULL,"
    " resource_type TEXT,"
    " resource_name TEXT NOT NULL,"
    " event_time_ms INTEGER NOT NULL,"
    " mgmt INTEGER NOT NULL,"
    " PRIMARY KEY(event, seq)) WITHOUT ROWID;"
    "CREATE TABLE vpcflow("
    " id INTEGER PRIMARY KEY,"
    " version INTEGER, account_id TEXT, interface_id TEXT, srcaddr TEXT, dstaddr TEXT,"
    " srcport INTEGER, dstport INTEGER, protocol INTEGER, packets INTEGER, bytes INTEGER,"
    " start INTEGER, \"end\" INTEGER, action TEXT, log_status TEXT,"
    " vpc_id TEXT, subnet_id TEXT, instance_id TEXT, tcp_flags INTEGER, type TEXT,"
    " pkt_srcaddr TEXT, pkt_dstaddr TEXT, region TEXT, az_id TEXT, sublocation_type TEXT,"
    " sublocation_id TEXT, pkt_src_aws_service TEXT, pkt_dst_aws_service TEXT,"
    " flow_direction TEXT, traffic_path INTEGER,"
    " ecs_cluster_arn TEXT, ecs_cluster_name TEXT, ecs_container_instance_arn TEXT,"
    " ecs_container_instance_id TEXT, ecs_container_id TEXT, ecs_second_container_id TEXT,"
    " ecs_service_name TEXT, ecs_task_definition_arn TEXT, ecs_task_arn TEXT, ecs_task_id TEXT,"
    " reject_reason TEXT,"
    " file_id INTEGER);"
    "CREATE UNIQUE INDEX vpcflow_key ON vpcflow(ifnull(start,-1), ifnull(interface_id,''),"
    " ifnull(srcaddr,''), ifnull(dstaddr,''), ifnull(srcport,-1), ifnull(dstport,-1),"
    " ifnull(protocol,-1), ifnull(\"end\",-1), ifnull(action,''), ifnull(log_status,''),"
    " ifnull(packets,-1), ifnull(bytes,-1), ifnull(account_id,''));"
    "CREATE TABLE dns("
    " id INTEGER PRIMARY KEY,"
    " version TEXT, account_id TEXT, region TEXT, vpc_id TEXT,"
    " query_time_ms INTEGER NOT NULL, query_timestamp TEXT,"
    " query_name TEXT, query_type TEXT, query_class TEXT, rcode TEXT, answers TEXT,"
    " srcaddr TEXT, srcport INTEGER, transport TEXT,"
    " srcids_instance TEXT, srcids_resolver_endpoint TEXT,"
    " firewall_rule_action TEXT, firewall_rule_group_id TEXT, firewall_domain_list_id TEXT,"
    " file_id INTEGER);"
    "CREATE UNIQUE INDEX dns_key ON dns(query_time_ms, ifnull(srcaddr,''), ifnull(srcport,-1),"
    " ifnull(query_name,''), ifnull(query_type,''), ifnull(rcode,''), ifnull(transport,''),"
    " ifnull(vpc_id,''), ifnull(srcids_instance,''), ifnull(account_id,''));",
    /* 2: web access logs, one table each: S3 server access logs (the Athena
     * DDL's column names), CloudFront standard logs (the W3C field names with
     * '_' for '-' and cs(X) as cs_x), WAF logs (the record as JSON). rec_id is
     * the record's hash (event.id): a line read twice is stored once. */
    "CREATE TABLE s3access("
    " id INTEGER PRIMARY KEY, rec_id TEXT NOT NULL UNIQUE, time_ms INTEGER NOT NULL,"
    " bucketowner TEXT,"
    " bucket_name TEXT,"
    " requestdatetime TEXT,"
    " remoteip TEXT,"
    " requester TEXT,"
    " requestid TEXT,"
    " operation TEXT,"
    " \"key\" TEXT,"
    " request_uri TEXT,"
    " httpstatus INTEGER,"
    " errorcode TEXT,"
    " bytessent INTEGER,"
    " objectsize INTEGER,"
    " totaltime INTEGER,"
    " turnaroundtime INTEGER,"
    " referrer TEXT,"
    " useragent TEXT,"
    " versionid TEXT,"
    " hostid TEXT,"
    " sigv TEXT,"
    " ciphersuite TEXT,"
    " authtype TEXT,"
    " endpoint TEXT,"
    " tlsversion TEXT,"
    " accesspointarn TEXT,"
    " aclrequired TEXT,"
    " file_id INTEGER);"
    "CREATE TABLE cloudfront("
    " id INTEGER PRIMARY KEY, rec_id TEXT NOT NULL UNIQUE, time_ms INTEGER NOT NULL,"
    " \"date\" TEXT,"
    " \"time\" TEXT,"
    " x_edge_location TEXT,"
    " sc_bytes INTEGER,"
    " c_ip TEXT,"
    " cs_method TEXT,"
    " cs_host TEXT,"
    " cs_uri_stem TEXT,"
    " sc_status INTEGER,"
    " cs_referer TEXT,"
    " cs_user_agent TEXT,"
    " cs_uri_query TEXT,"
    " cs_cookie TEXT,"
    " x_edge_result_type TEXT,"
    " x_edge_request_id TEXT,"
    " x_host_header TEXT,"
    " cs_protocol TEXT,"
    " cs_bytes INTEGER,"
    " time_taken REAL,"
    " x_forwarded_for TEXT,"
    " ssl_protocol TEXT,"
    " ssl_cipher TEXT,"
    " x_edge_response_result_type TEXT,"
    " cs_protocol_version TEXT,"
    " fle_status TEXT,"
    " fle_encrypted_fields INTEGER,"
    " c_port INTEGER,"
    " time_to_first_byte REAL,"
    " x_edge_detailed_result_type TEXT,"
    " sc_content_type TEXT,"
    " sc_content_len INTEGER,"
    " sc_range_start INTEGER,"
    " sc_range_end INTEGER,"
    " file_id INTEGER);"
    "CREATE TABLE waf("
    " id INTEGER PRIMARY KEY, rec_id TEXT NOT NULL UNIQUE, time_ms INTEGER NOT NULL,"
    " action TEXT, client_ip TEXT, raw TEXT NOT NULL, file_id INTEGER);",

    /* 3: findings (vigil detect --db, vigil findings), with Security Hub's
     * workflow status and record state. Stores from before this migration
     * may already hold the table, made on first use by the investigate
     * module with this very definition: IF NOT EXISTS keeps their rows. */
    "CREATE TABLE IF NOT EXISTS findings("
    " id TEXT PRIMARY KEY,"
    " type TEXT NOT NULL,"
    " severity REAL NOT NULL,"
    " account TEXT, region TEXT, resource TEXT, title TEXT,"
    " first_seen_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL,"
    " count INTEGER NOT NULL,"
    " json TEXT NOT NULL,"
    " workflow_status TEXT NOT NULL DEFAULT 'NEW',"
    " record_state TEXT NOT NULL DEFAULT 'ACTIVE',"
    " note TEXT,"
    " created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS findings_severity ON findings(severity, last_seen_ms);"
    "CREATE INDEX IF NOT EXISTS findings_last ON findings(last_seen_ms);"
    "CREATE INDEX IF NOT EXISTS findings_updated ON findings(updated_ms);",

    /* 4: the record itself moves to a table of its own, keyed by the row id.
     * A CloudTrail row was ~1.6 KB with it and ~250 bytes without: scans,
     * index builds and the row reads behind every index lookup touch a
     * sixth of the pages, so a 10-million-event store's working set fits in
     * memory; the record is read only for the rows that show it. On a
     * large older store this copies every record once (minutes); the file
     * keeps its size until a VACUUM. */
    "CREATE TABLE cloudtrail_raw(id INTEGER PRIMARY KEY, raw TEXT NOT NULL);"
    "INSERT INTO cloudtrail_raw(id, raw) SELECT id, raw FROM cloudtrail;"
    "ALTER TABLE cloudtrail DROP COLUMN raw;"
    /* Time before the category in these four, and the time index with the
     * event name (see the secondary indexes):
     * dropped here, made again in their new shape after the migration. */
    "DROP INDEX IF EXISTS cloudtrail_name; DROP INDEX IF EXISTS cloudtrail_source;"
    "DROP INDEX IF EXISTS cloudtrail_user; DROP INDEX IF EXISTS cloudtrail_key;"
    "DROP INDEX IF EXISTS cloudtrail_time;",

    /* 5: the time index carries the account and the Region too, so counts
     * by account or Region over a time range (the partition columns of
     * the Athena tables) read the index alone: made again in its new shape
     * after the migration (a minute on 10 million events). */
    "DROP INDEX IF EXISTS cloudtrail_time;",

    /* 6: the name index carries the account, Region, principal and source
     * address too, so "who called these APIs from where in a month" (logins,
     * role assumptions) reads the index alone: made again in its new shape
     * after the migration. */
    "DROP INDEX IF EXISTS cloudtrail_name;",

    /* 7: the count of events per UTC day, account and Region, kept by the
     * ingest (the events it inserts, in their transaction) and by triggers
     * for deletes and updates (retention, an external tool), so "events by
     * Region in a month" reads a few dozen rows instead of 10 million index
     * entries (sql_rewrite.c, rollup). Rows inserted by another program are
     * not counted: Vigil writes this table.
     * The day is the epoch millisecond of its midnight (floored, also before
     * 1970); a NULL account or Region is a key of its own, as GROUP BY has
     * it (readers sum n over a key's rows). The partial index of root's
     * calls is made after the migration. */
    "CREATE TABLE cloudtrail_daily(day_ms INTEGER NOT NULL, account TEXT, region TEXT,"
    " n INTEGER NOT NULL);"
    "CREATE UNIQUE INDEX cloudtrail_daily_key ON cloudtrail_daily(day_ms, account, region);"
    "INSERT INTO cloudtrail_daily(day_ms, account, region, n)"
    " SELECT event_time_ms - (event_time_ms % 86400000 + 86400000) % 86400000 AS d, account,"
    " region, count(*) FROM cloudtrail GROUP BY d, account, region;"
    CT_DAILY_TRIGGER("cloudtrail_daily_del", "DELETE", CT_DAILY_SUB("OLD"))
    CT_DAILY_TRIGGER("cloudtrail_daily_upd", "UPDATE OF event_time_ms, account, region",
                     CT_DAILY_SUB("OLD") CT_DAILY_ADD("NEW")),

    /* 8: nothing in the tables; the partial index cloudtrail_odd_time
     * (secondary[] below) is made after it, one pass over the rows (~15 s on
     * 10 million events). */
    "SELECT 1;",
};

/* The secondary indexes, kept apart from the tables so a bulk load can build
 * them once at the end (sorted, ~2x faster than maintaining nine B-trees row
 * by row, and far faster once they outgrow the page cache). The unique keys
 * stay in place: deduplication needs them during the load. */
static const char *const secondary[][2] = {
    /* With the name, account and Region: "what happened that day, by API"
     * and "events by Region in a month" read the index only. */
    { "cloudtrail_time", "cloudtrail(event_time_ms, event_name, account, region)" },
    /* Principal and source address: "who called it from where" reads the
     * index only. */
    { "cloudtrail_name", "cloudtrail(event_name, event_time_ms, event_category, account, region, "
                         "principal_arn, source_ip)" },
    { "cloudtrail_source", "cloudtrail(event_source, event_time_ms, event_category)" },
    { "cloudtrail_principal", "cloudtrail(principal_arn, event_time_ms)" },
    { "cloudtrail_principal_id", "cloudtrail(principal_id, event_time_ms)" },
    { "cloudtrail_user", "cloudtrail(user_name, event_time_ms, event_category)" },
    { "cloudtrail_key", "cloudtrail(access_key_id, event_time_ms, event_category)" },
    { "cloudtrail_issuer", "cloudtrail(session_issuer_arn, event_time_ms)" },
    { "cloudtrail_ip", "cloudtrail(source_ip, event_time_ms)" },
    { "cloudtrail_error", "cloudtrail(error_code, event_time_ms) WHERE error_code IS NOT NULL" },
    /* Root's calls (Q-ROOT: "root credential use in a month"): rare, so a
     * small index, where a month of the time index is the whole table. */
    { "cloudtrail_root", "cloudtrail(event_time_ms) WHERE principal_type = 'Root'" },
    /* Rows whose eventTime text is not the canonical form of its epoch: none
     * in CloudTrail's own files, so an empty index, which lets ORDER BY
     * eventtime use the time-ordered indexes (sql_rewrite.c, time_order). */
    { "cloudtrail_odd_time", "cloudtrail(id) WHERE " STORE_CT_ODD_TIME },
    { "resources_name", "resources(resource_name, mgmt, event_time_ms)" },
    { "resources_type", "resources(resource_type, mgmt, event_time_ms)" },
    { "vpcflow_start", "vpcflow(start)" },
    { "vpcflow_src", "vpcflow(srcaddr, start)" },
    { "vpcflow_dst", "vpcflow(dstaddr, start)" },
    { "dns_name", "dns(query_name, query_time_ms)" },
    { "dns_src", "dns(srcaddr, query_time_ms)" },
    { "s3access_bucket", "s3access(bucket_name, time_ms)" },
    { "s3access_time", "s3access(time_ms)" },
    { "cloudfront_time", "cloudfront(time_ms)" },
    { "cloudfront_ip", "cloudfront(c_ip, time_ms)" },
    { "waf_time", "waf(time_ms)" },
};

#define N_SECONDARY (sizeof(secondary) / sizeof(secondary[0]))

#define N_MIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))

const char *store__migration_sql(int version)
{
    return version >= 1 && version <= (int)N_MIGRATIONS ? migrations[version - 1] : NULL;
}

/* migrate()'s answer for a read-only connection to an older store: not an
 * enum err_code (store_open_flags turns it into a migration or ERR_DB). */
#define ERR_AGAIN_MIGRATE 1000

static const char *const stmt_sql[STMT_N] = {
    [STMT_INS_CT] =
        "INSERT OR IGNORE INTO main.cloudtrail(event_id, event_time_ms, event_time, account, region,"
        " event_source, event_name, event_type, event_category, principal_arn, principal_type,"
        " principal_id, user_name, access_key_id, session_issuer_arn, session_issuer_name,"
        " source_ip, user_agent, error_code, error_message, read_only, file_id)"
        " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22)",
    [STMT_INS_RAW] = "INSERT INTO main.cloudtrail_raw(id, raw) VALUES(?1,?2)",
    [STMT_RAW_OF_EVENT] = "SELECT raw FROM main.cloudtrail_raw WHERE id=?1",
    [STMT_INS_RES] =
        "INSERT OR IGNORE INTO main.resources(event, seq, resource_type, resource_name,"
        " event_time_ms, mgmt) VALUES(?1,?2,?3,?4,?5,?6)",
    [STMT_INS_FLOW] =
        "INSERT OR IGNORE INTO main.vpcflow(version, account_id, interface_id, srcaddr, dstaddr,"
        " srcport, dstport, protocol, packets, bytes, start, \"end\", action, log_status,"
        " vpc_id, subnet_id, instance_id, tcp_flags, type, pkt_srcaddr, pkt_dstaddr, region,"
        " az_id, sublocation_type, sublocation_id, pkt_src_aws_service, pkt_dst_aws_service,"
        " flow_direction, traffic_path, ecs_cluster_arn, ecs_cluster_name,"
        " ecs_container_instance_arn, ecs_container_instance_id, ecs_container_id,"
        " ecs_second_container_id, ecs_service_name, ecs_task_definition_arn, ecs_task_arn,"
        " ecs_task_id, reject_reason, file_id)"
        " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,"
        "?22,?23,?24,?25,?26,?27,?28,?29,?30,?31,?32,?33,?34,?35,?36,?37,?38,?39,?40,?41)",
    [STMT_INS_DNS] =
        "INSERT OR IGNORE INTO main.dns(version, account_id, region, vpc_id, query_time_ms,"
        " query_timestamp, query_name, query_type, query_class, rcode, answers, srcaddr, srcport,"
        " transport, srcids_instance, srcids_resolver_endpoint, firewall_rule_action,"
        " firewall_rule_group_id, firewall_domain_list_id, file_id)"
        " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20)",
    [STMT_INS_S3] =
        "INSERT OR IGNORE INTO main.s3access(rec_id, time_ms, file_id, bucketowner, bucket_name, "
        "requestdatetime, remoteip, requester, requestid, operation, \"key\", request_uri, "
        "httpstatus, errorcode, bytessent, objectsize, totaltime, turnaroundtime, referrer, "
        "useragent, versionid, hostid, sigv, ciphersuite, authtype, endpoint, tlsversion, "
        "accesspointarn, "
        "aclrequired) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24,?25,?26,?27,?28,?29)",
    [STMT_INS_CF] =
        "INSERT OR IGNORE INTO main.cloudfront(rec_id, time_ms, file_id, \"date\", \"time\", "
        "x_edge_location, sc_bytes, c_ip, cs_method, cs_host, cs_uri_stem, sc_status, "
        "cs_referer, cs_user_agent, cs_uri_query, cs_cookie, x_edge_result_type, "
        "x_edge_request_id, x_host_header, cs_protocol, cs_bytes, time_taken, x_forwarded_for, "
        "ssl_protocol, ssl_cipher, x_edge_response_result_type, cs_protocol_version, fle_status, "
        "fle_encrypted_fields, c_port, time_to_first_byte, x_edge_detailed_result_type, "
        "sc_content_type, sc_content_len, sc_range_start, "
        "sc_range_end) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24,?25,?26,?27,?28,?29,?30,?31,?32,?33,?34,?35,?36)",
    [STMT_INS_WAF] =
        "INSERT OR IGNORE INTO main.waf(rec_id, time_ms, file_id, action, client_ip, raw)"
        " VALUES(?1,?2,?3,?4,?5,?6)",
    [STMT_LEDGER_DONE_PATH] =
        "SELECT id FROM main.ingest_ledger WHERE path=?1 AND size=?2 AND mtime_ns=?3"
        " AND finished_at IS NOT NULL LIMIT 1",
    [STMT_LEDGER_DONE_HASH] =
        "SELECT path FROM main.ingest_ledger WHERE sha256=?1 AND size=?2"
        " AND finished_at IS NOT NULL LIMIT 1",
    [STMT_LEDGER_OPEN] =
        "SELECT id FROM main.ingest_ledger WHERE path=?1 AND sha256=?2"
        " ORDER BY finished_at IS NOT NULL, id LIMIT 1",
    [STMT_LEDGER_INSERT] =
        "INSERT INTO main.ingest_ledger(path, size, mtime_ns, sha256, started_at)"
        " VALUES(?1,?2,?3,?4,strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
    [STMT_LEDGER_FINISH] =
        "UPDATE main.ingest_ledger SET records=?2, inserted=?3, bad=?4, size=?5, mtime_ns=?6,"
        " finished_at=strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id=?1",
    [STMT_DAILY_ADD] =
        "INSERT INTO main.cloudtrail_daily(day_ms, account, region, n) VALUES(?1,?2,?3,?4)"
        " ON CONFLICT(day_ms, account, region) DO UPDATE SET n = n + excluded.n",
    [STMT_RES_OF_EVENT] =
        "SELECT resource_type, resource_name FROM main.resources WHERE event=?1 ORDER BY seq",
};

int store__db_err(struct store *st, struct err *err, const char *what)
{
    const char *msg = st->db ? sqlite3_errmsg(st->db) : "out of memory";
    return err_set(err, ERR_DB, "%s: %s", what, msg);
}

int store__exec(struct store *st, const char *sql, struct err *err)
{
    char *msg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = err_set(err, ERR_DB, "%s", msg ? msg : sqlite3_errmsg(st->db));
        sqlite3_free(msg);
        return rc;
    }
    return 0;
}

int store__stmt(struct store *st, enum store_stmt id, sqlite3_stmt **out, struct err *err)
{
    sqlite3_stmt *s = st->stmt[id];
    if (s == NULL) {
        if (sqlite3_prepare_v3(st->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) !=
            SQLITE_OK)
            return store__db_err(st, err, "preparing a statement");
        st->stmt[id] = s;
    } else {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
    }
    *out = s;
    return 0;
}

static int read_version(struct store *st, int *out, struct err *err)
{
    sqlite3_stmt *s = NULL;
    *out = 0;
    int rc = store_db_has_table(st->db, "schema_version");
    if (rc == 0)
        return 0; /* an empty file: version 0 */
    if (rc < 0)
        return store__db_err(st, err, "reading the schema");
    if (sqlite3_prepare_v2(st->db, "SELECT max(version) FROM schema_version", -1, &s, NULL) !=
        SQLITE_OK)
        return store__db_err(st, err, "reading the schema version");
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW)
        return store__db_err(st, err, "reading the schema version");
    return 0;
}

int store__ensure_indexes(struct store *st, struct err *err)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < N_SECONDARY; i++) {
        char sql[512];
        snprintf(sql, sizeof(sql), "CREATE INDEX IF NOT EXISTS %s ON %s", secondary[i][0],
                 secondary[i][1]);
        rc = store__exec(st, sql, err);
    }
    return rc;
}

int store__drop_indexes(struct store *st, struct err *err)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < N_SECONDARY; i++) {
        char sql[128];
        snprintf(sql, sizeof(sql), "DROP INDEX IF EXISTS %s", secondary[i][0]);
        rc = store__exec(st, sql, err);
    }
    return rc;
}

int store__missing_indexes(struct store *st, int *out, struct err *err)
{
    sqlite3_stmt *s;
    *out = 0;
    if (sqlite3_prepare_v2(st->db, "SELECT 1 FROM sqlite_master WHERE type='index' AND name=?1",
                           -1, &s, NULL) != SQLITE_OK)
        return store__db_err(st, err, "reading the schema");
    for (size_t i = 0; i < N_SECONDARY; i++) {
        sqlite3_reset(s);
        sqlite3_bind_text(s, 1, secondary[i][0], -1, SQLITE_STATIC);
        if (sqlite3_step(s) != SQLITE_ROW)
            (*out)++;
    }
    sqlite3_finalize(s);
    return 0;
}

static int migrate(struct store *st, struct err *err)
{
    int v;
    int rc = read_version(st, &v, err);
    if (rc != 0)
        return rc;
    if (v > (int)N_MIGRATIONS)
        return err_set(err, ERR_DB,
                       "the store has schema version %d; this Vigil knows up to %d (upgrade Vigil)",
                       v, (int)N_MIGRATIONS);
    if (v == (int)N_MIGRATIONS)
        return 0;
    if (st->readonly)
        return err_set(err, v > 0 ? ERR_AGAIN_MIGRATE : ERR_DB,
                       "the store has schema version %d and needs migrating to %d: run an ingest "
                       "first",
                       v, (int)N_MIGRATIONS);
    /* IMMEDIATE: two processes opening a fresh file at once must not both
     * migrate it. */
    rc = store__exec(st, "BEGIN IMMEDIATE", err);
    if (rc != 0)
        return rc;
    rc = read_version(st, &v, err);
    for (; rc == 0 && v < (int)N_MIGRATIONS; v++) {
        rc = store__exec(st, migrations[v], err);
        if (rc == 0) {
            char sql[160];
            snprintf(sql, sizeof(sql),
                     "INSERT INTO schema_version VALUES(%d, strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ','now'))",
                     v + 1);
            rc = store__exec(st, sql, err);
        }
    }
    if (rc == 0)
        rc = store__ensure_indexes(st, err);
    if (rc == 0)
        rc = store__exec(st, "COMMIT", err);
    if (rc != 0)
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static int open_db(struct store *st, const char *path, unsigned flags, struct err *err)
{
    struct stat sb;
    if ((flags & (STORE_OPEN_READONLY | STORE_OPEN_NOCREATE)) && stat(path, &sb) != 0)
        return err_set(err, errno == ENOENT ? ERR_NOTFOUND : ERR_IO, "%s: %s", path,
                       errno == ENOENT ? "no such store (run vigil ingest --db first)"
                                       : strerror(errno));
    int oflags = st->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(path, &st->db, oflags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        int rc = err_set(err, ERR_DB, "%s: %s", path,
                         st->db ? sqlite3_errmsg(st->db) : "cannot open");
        return rc;
    }
    sqlite3_busy_timeout(st->db, 10000);
    sqlite3_extended_result_codes(st->db, 1);
    /* A writer gets a big page cache (the indexes' pages stay in it during
     * bulk loads); a reader keeps SQLite's 2 MB and its temp files: measured
     * on 10 million events, a GROUP BY over a day (1.4 million index
     * entries) took 0.32 s so, 0.69 s with 256 MB of cache and 0.94 s with the
     * temp B-trees in memory too (filling and freeing the big cache costs
     * more than the OS page cache it duplicates). */
    int rc = store__exec(st,
                         st->readonly ? "PRAGMA foreign_keys=OFF"
                                      : "PRAGMA cache_size=-262144; PRAGMA temp_store=MEMORY;"
                                        " PRAGMA foreign_keys=OFF",
                         err);
    /* 16 KiB pages: a CloudTrail row is ~1.5 KB, and bigger pages mean fewer
     * page splits and shallower indexes (measured 25% faster ingest than the
     * 4 KiB default). Only takes effect on a new file, before WAL is set. */
    if (rc == 0 && !st->readonly)
        rc = store__exec(st, "PRAGMA page_size=16384; PRAGMA journal_mode=WAL;"
                             " PRAGMA synchronous=NORMAL", err);
    if (rc == 0)
        rc = store__text_register(st, err);
    if (rc != 0 && err != NULL) {
        char msg[ERR_MSG_MAX];
        snprintf(msg, sizeof(msg), "%s", err->msg);
        err_set(err, ERR_DB, "%s: %s", path, msg);
    }
    return rc;
}

int store_open_flags(const char *path, unsigned flags, struct store **out, struct err *err)
{
    struct store *st = xcalloc(1, sizeof(*st));
    st->readonly = (flags & STORE_OPEN_READONLY) != 0;
    st->text_on = -1;
    buf_init(&st->raw, STORE_MAX_RAW);
    buf_init(&st->answers, 1 << 20);
    arena_init(&st->arena, 0);
    int rc = open_db(st, path, flags, err);
    if (rc == 0)
        rc = migrate(st, err);
    if (rc == ERR_AGAIN_MIGRATE) {
        /* A store written by an older Vigil: readers migrate it once through
         * a writable connection (the migrations are small: tables, and
         * indexes made from sorted scans), then read it as asked. A file
         * they cannot write stays refused. */
        store_close(st);
        st = NULL;
        struct store *w = NULL;
        struct err e2;
        err_clear(&e2);
        rc = store_open_flags(path, flags & ~STORE_OPEN_READONLY, &w, &e2);
        store_close(w);
        if (rc != 0) {
            char msg[ERR_MSG_MAX];
            snprintf(msg, sizeof(msg), "%s", err ? err->msg : "");
            return err_set(err, ERR_DB, "%s (migrating: %s)", msg, e2.msg);
        }
        return store_open_flags(path, flags, out, err);
    }
    if (rc != 0) {
        store_close(st);
        return rc;
    }
    *out = st;
    return 0;
}

int store_open(const char *path, struct store **out, struct err *err)
{
    return store_open_flags(path, 0, out, err);
}

void store_close(struct store *st)
{
    if (st == NULL)
        return;
    store_rollback(st);
    for (int i = 0; i < STMT_N; i++)
        sqlite3_finalize(st->stmt[i]);
    if (st->db != NULL) {
        /* Leave a compact file behind (the WAL is folded back in). */
        if (!st->readonly)
            sqlite3_exec(st->db, "PRAGMA optimize", NULL, NULL, NULL);
        sqlite3_close_v2(st->db);
    }
    store__daily_clear(st);
    free(st->daily);
    buf_free(&st->raw);
    buf_free(&st->answers);
    arena_free(&st->arena);
    free(st);
}

int store_schema_version(struct store *st, int *out, struct err *err)
{
    return read_version(st, out, err);
}

struct sqlite3 *store_db(struct store *st)
{
    return st->db;
}

int store_db_has_table(struct sqlite3 *db, const char *name)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM main.sqlite_master WHERE type='table' AND name=?1",
                           -1, &s, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int store_db_ct_times_canonical(struct sqlite3 *db)
{
    sqlite3_stmt *s;
    /* INDEXED BY: the answer comes from the (empty) index or not at all */
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM main.cloudtrail INDEXED BY cloudtrail_odd_time"
                               " WHERE " STORE_CT_ODD_TIME " LIMIT 1",
                           -1, &s, NULL) != SQLITE_OK) {
        const char *msg = sqlite3_errmsg(db);
        return strncmp(msg, "no such index", 13) == 0 || strncmp(msg, "no such table", 13) == 0
                   ? 0
                   : -1;
    }
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 1 : rc == SQLITE_ROW ? 0 : -1;
}

int store_begin(struct store *st, struct err *err)
{
    if (st->in_tx)
        return err_set(err, ERR_INTERNAL, "a transaction is already open");
    int rc = store__exec(st, "BEGIN IMMEDIATE", err);
    if (rc == 0)
        st->in_tx = true;
    st->text_on = -1; /* another process may have turned it on */
    st->text_pending = false;
    return rc;
}

int store_commit(struct store *st, struct err *err)
{
    if (!st->in_tx)
        return 0;
    int rc = store__daily_flush(st, err);
    if (rc == 0)
        rc = store__text_flush(st, err);
    if (rc != 0) {
        store_rollback(st);
        return rc;
    }
    rc = store__exec(st, "COMMIT", err);
    if (rc != 0) {
        store_rollback(st);
        return rc;
    }
    st->in_tx = false;
    return 0;
}

void store_rollback(struct store *st)
{
    if (st->in_tx && st->db != NULL)
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    st->in_tx = false;
    st->text_pending = false;
    store__daily_clear(st);
}

void store__daily_clear(struct store *st)
{
    for (size_t i = 0; i < st->n_daily; i++) {
        free(st->daily[i].account);
        free(st->daily[i].region);
    }
    st->n_daily = 0;
}

static char *dup_sv(struct sv v, size_t *len)
{
    *len = v.len;
    if (v.p == NULL)
        return NULL;
    char *p = xmalloc(v.len + 1);
    memcpy(p, v.p, v.len);
    p[v.len] = '\0';
    return p;
}

static bool same_sv(const char *p, size_t len, struct sv v)
{
    if (p == NULL || v.p == NULL)
        return p == NULL && v.p == NULL;
    return len == v.len && memcmp(p, v.p, len) == 0;
}

/* A batch spans a few days, accounts and Regions: a short list does. */
#define DAILY_MAX_KEYS 4096

int store__daily_add(struct store *st, int64_t time_ms, struct sv account, struct sv region,
                     struct err *err)
{
    int64_t day = time_ms - ((time_ms % 86400000) + 86400000) % 86400000;
    struct store_daily *d = NULL;
    for (size_t i = st->n_daily; i > 0 && d == NULL; i--) {
        struct store_daily *k = &st->daily[i - 1];
        if (k->day_ms == day && same_sv(k->account, k->account_len, account) &&
            same_sv(k->region, k->region_len, region))
            d = k;
    }
    if (d == NULL) {
        if (st->n_daily == DAILY_MAX_KEYS) {
            int rc = store__daily_flush(st, err);
            if (rc != 0)
                return rc;
        }
        if (st->n_daily == st->cap_daily) {
            st->cap_daily = st->cap_daily ? st->cap_daily * 2 : 32;
            st->daily = xrealloc(st->daily, st->cap_daily * sizeof(*st->daily));
        }
        d = &st->daily[st->n_daily++];
        d->day_ms = day;
        d->account = dup_sv(account, &d->account_len);
        d->region = dup_sv(region, &d->region_len);
        d->n = 0;
    }
    d->n++;
    return st->in_tx ? 0 : store__daily_flush(st, err);
}

int store__daily_flush(struct store *st, struct err *err)
{
    sqlite3_stmt *s;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < st->n_daily; i++) {
        const struct store_daily *d = &st->daily[i];
        rc = store__stmt(st, STMT_DAILY_ADD, &s, err);
        if (rc != 0)
            break;
        sqlite3_bind_int64(s, 1, d->day_ms);
        if (d->account != NULL)
            sqlite3_bind_text(s, 2, d->account, (int)d->account_len, SQLITE_STATIC);
        if (d->region != NULL)
            sqlite3_bind_text(s, 3, d->region, (int)d->region_len, SQLITE_STATIC);
        sqlite3_bind_int64(s, 4, d->n);
        if (sqlite3_step(s) != SQLITE_DONE)
            rc = store__db_err(st, err, "counting events by day");
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
    }
    store__daily_clear(st);
    return rc;
}

static int count_of(struct store *st, const char *sql, int64_t *out, struct err *err)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return store__db_err(st, err, "counting rows");
    int rc = sqlite3_step(s);
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? 0 : store__db_err(st, err, "counting rows");
}

int store_counts(struct store *st, struct store_counts *out, struct err *err)
{
    int rc = count_of(st, "SELECT count(*) FROM main.cloudtrail", &out->cloudtrail, err);
    if (rc == 0)
        rc = count_of(st, "SELECT count(*) FROM main.resources", &out->resources, err);
    if (rc == 0)
        rc = count_of(st, "SELECT count(*) FROM main.vpcflow", &out->vpcflow, err);
    if (rc == 0)
        rc = count_of(st, "SELECT count(*) FROM main.dns", &out->dns, err);
    if (rc == 0)
        rc = count_of(st, "SELECT count(*) FROM main.ingest_ledger WHERE finished_at IS NOT NULL",
                      &out->files, err);
    return rc;
}
