/*
 * store: the SQLite store of ingested logs, and the lookups that read it.
 *
 * One database file (WAL mode) holds, per source, a table with the fields
 * analysts filter on as indexed columns:
 *
 *   cloudtrail     one row per CloudTrail record (management, data, Insights),
 *                  unique on event_id, with the record itself (compact JSON)
 *                  in raw; event_time_ms (epoch ms) and event_time (the ISO
 *                  text as written). user_name is the Event history "User
 *                  name" (see store_username below), not userIdentity.userName.
 *   resources      every resource an event touched: (event, seq) -> type, name,
 *                  from resources[] (type and ARN as given) and from the usual
 *                  requestParameters / responseElements fields (bucketName,
 *                  instanceId, roleName, ..., typed CloudFormation-style,
 *                  AWS::S3::Bucket). Only rows of cloudtrail events.
 *   vpcflow        one row per flow log record, every v2-v8 field as a column
 *                  ("-" stored as NULL), unique on the record's natural key
 *                  (account, interface, 5-tuple, start, end, action, status,
 *                  packets, bytes).
 *   dns            one row per Route 53 Resolver query, answers as JSON text,
 *                  unique on (time, source address and port, name, type,
 *                  rcode, transport, VPC, instance, account).
 *   s3access, cloudfront, waf
 *                  web access logs (schema 2): S3 server access log and
 *                  CloudFront records with a column per field, WAF records
 *                  as JSON (raw) with time, action and client IP; each
 *                  unique on rec_id, the record's hash (event.id).
 *   ingest_ledger  one row per input file ingested: path, size, mtime, SHA-256
 *                  of its bytes, records read / inserted / bad, finished_at.
 *   findings       findings of `vigil detect --db` (GuardDuty JSON, stable id
 *                  as key) with Security Hub's workflow status and record
 *                  state; written and read by the investigate module.
 *   schema_version the schema version, migrated forward on open (a read-only
 *                  open of an older store migrates it first when the file is
 *                  writable).
 *
 * Column names follow the Athena DDLs' spellings where they exist (vpcflow and
 * dns use the AWS documentation's account_id, srcaddr, log_status,
 * query_timestamp, ...), so Athena-style views can be laid over the tables.
 * Every row of the three event tables carries file_id (ingest_ledger.id) so a
 * view can derive the partition columns from the object key.
 *
 * Ingest is idempotent and resumable: rows are inserted with INSERT OR IGNORE
 * on the unique keys, in one transaction per batch, and a file is marked
 * finished in the ledger in the same transaction as its last rows. A process
 * killed at any moment leaves whole batches; the next run skips finished files
 * (same path, size and mtime, or the same content hash) and re-reads the
 * others, whose rows already present are ignored.
 *
 * Threading: a struct store is used by one thread at a time. SQLite stays off
 * the detection path: nothing in detect calls into this module per record.
 */
#ifndef VIGIL_STORE_H
#define VIGIL_STORE_H

#include "core/core.h"
#include "event/event.h"
#include "input/input.h"

#define STORE_SCHEMA_VERSION 8

struct store;
struct sqlite3;

/* store_open_flags flags */
#define STORE_OPEN_READONLY 0x1u /* no writes; the file must exist and be migrated */
#define STORE_OPEN_NOCREATE 0x2u /* the file must exist (ERR_NOTFOUND otherwise) */

/* Opens (creating it unless NOCREATE/READONLY) the store at path, sets WAL
 * mode, and migrates the schema to STORE_SCHEMA_VERSION. A database written by
 * a newer Vigil (higher version) is refused with ERR_DB. On success *out is
 * owned by the caller (store_close). ERR_NOTFOUND when the file must exist and
 * does not; ERR_DB for anything SQLite refuses (err says what). */
int store_open_flags(const char *path, unsigned flags, struct store **out, struct err *err);
int store_open(const char *path, struct store **out, struct err *err); /* flags 0 */
void store_close(struct store *st); /* NULL and half-built stores are fine */

/* The schema version recorded in the file. */
int store_schema_version(struct store *st, int *out, struct err *err);

/* The SQLite handle, borrowed (valid until store_close), for read-only SQL
 * front-ends. Do not change its settings or leave a transaction open. */
struct sqlite3 *store_db(struct store *st);

/* Whether db's main schema has the table name: 1 yes, 0 no, -1 a SQLite
 * error (sqlite3_errmsg(db) says which). */
int store_db_has_table(struct sqlite3 *db, const char *name);

/* The CloudTrail rows whose event_time text is not the canonical form of
 * event_time_ms ("YYYY-MM-DDTHH:MM:SSZ", whole seconds, years 0000-9999):
 * the predicate of the partial index cloudtrail_odd_time, so a store can say
 * at once whether it has any. */
#define STORE_CT_ODD_TIME                                                          \
    "event_time_ms % 1000 <> 0 OR event_time IS NOT"                               \
    " strftime('%Y-%m-%dT%H:%M:%SZ', event_time_ms / 1000, 'unixepoch')"

/* Whether every CloudTrail row of db's store has a canonical event_time, so
 * ordering by the text and by event_time_ms are the same order, ties
 * included: 1 yes, 0 no (or the store lacks the index that would say: an
 * older store, or a bulk load that deferred its indexes), -1 a SQLite error
 * other than the index's absence. */
int store_db_ct_times_canonical(struct sqlite3 *db);

/* ---- writing events ------------------------------------------------------- */

/* Explicit transactions around store_put_event; ingest manages its own. */
int store_begin(struct store *st, struct err *err);
int store_commit(struct store *st, struct err *err);
void store_rollback(struct store *st); /* no-op outside a transaction */

/* Inserts one event (any source) unless a row with its unique key exists;
 * *inserted_out (may be NULL) says which. file_id is the ledger row the event
 * came from, 0 for none. The event is only read. ERR_DB on SQLite errors,
 * ERR_FORMAT when a CloudTrail record has no usable time. */
int store_put_event(struct store *st, const struct event *ev, int64_t file_id, bool *inserted_out,
                    struct err *err);

/* The JSON paths store_put_event reads; add them to the reader's path set
 * (input_options.want) so they are flattened. */
void store_add_paths(struct json_pathset *ps);

/* The Event history "User name" of a CloudTrail event, from its leaves:
 * Root -> "root"; AssumedRole -> the role session name (last part of the
 * assumed-role ARN); FederatedUser -> the federated user's name (from the
 * ARN); otherwise userIdentity.userName; SV_NULL when there is none (AWS
 * service events). Views point into the event or arena. */
struct sv store_username(const struct event *ev, struct arena *arena);

/* One resource an event touched. type is NULL when unknown. */
struct store_resource {
    const char *type;
    const char *name;
};

/* Appends to out (up to cap entries, the rest dropped) the resources of a
 * CloudTrail event in the order the store records them, duplicates removed;
 * returns the count. Strings are in arena. */
size_t store_event_resources(const struct event *ev, struct arena *arena,
                             struct store_resource *out, size_t cap);

/* ---- ingest ----------------------------------------------------------------- */

struct store_ingest_stats {
    uint64_t files_total;   /* files found under the paths */
    uint64_t files_done;    /* files read to the end in this run */
    uint64_t files_skipped; /* files the ledger says are already ingested */
    uint64_t records;       /* records read in this run */
    uint64_t inserted;      /* of which new rows */
    uint64_t duplicates;    /* of which already in the store */
    uint64_t bad;           /* bad records and unreadable files */
    uint64_t notes;         /* things skipped on purpose (digest files, ...) */
    uint64_t bytes_done;    /* input bytes (as stored on disk) of files done or skipped */
    uint64_t bytes_total;   /* input bytes of all files */
    const char *current;    /* file being read (borrowed; during callbacks only) */
    bool indexing;          /* building the secondary indexes (deferred mode) */
    bool deferred;          /* this run dropped the secondary indexes to load faster */
};

/* How ingest treats the secondary (non-unique) indexes. Deferring drops them
 * for the load and builds them once at the end: much faster for a large load
 * into a small store, but lookups during the load run without them, and a
 * load killed half-way leaves them missing until the next ingest completes
 * (results stay correct, only slower). */
enum store_index_mode {
    STORE_INDEX_AUTO = 0, /* defer when the input is very large (>= 1 GiB) next to the store */
    STORE_INDEX_KEEP,     /* maintain them row by row */
    STORE_INDEX_DEFER     /* always defer */
};

struct store_ingest_opts {
    size_t batch_rows;  /* rows per transaction; 0 = 10000 */
    bool force;         /* read files even when the ledger has them */
    enum store_index_mode index_mode;
    const struct input_options *input; /* reader options; NULL = defaults */
    /* Called for each bad record or file (code = its enum err_code) and each
     * note (code = INPUT_NOTE); e has the file and record number. */
    void (*on_problem)(void *ctx, int code, const struct err *e);
    /* Called after each batch and each file. */
    void (*on_progress)(void *ctx, const struct store_ingest_stats *s);
    void *ctx;
    /* Test hook: called after each committed batch; a non-zero return stops
     * the ingest there (as a crash would, but cleanly). NULL = none. */
    int (*after_commit)(void *ctx, const struct store_ingest_stats *s);
};

/* Ingests every file under paths[0..n) (files, directories walked in sorted
 * order, "-" for standard input, which gets no ledger row). Bad records are
 * reported through on_problem and counted; the rest is ingested. Secondary
 * indexes missing at the end (a deferred load killed earlier) are rebuilt,
 * whatever the mode, when the run completes. Returns 0
 * when the run completed (bad records or not: see stats), ERR_DB when SQLite
 * failed (the current batch is rolled back; what was committed stays),
 * ERR_USAGE for bad options. stats_out may be NULL. */
int store_ingest(struct store *st, const char *const *paths, size_t n,
                 const struct store_ingest_opts *opt, struct store_ingest_stats *stats_out,
                 struct err *err);

/* ---- lookup (LookupEvents) -------------------------------------------------- */

enum store_attr {
    STORE_ATTR_NONE = 0,
    STORE_ATTR_EVENT_ID,
    STORE_ATTR_EVENT_NAME,
    STORE_ATTR_READ_ONLY,
    STORE_ATTR_USERNAME,
    STORE_ATTR_RESOURCE_TYPE,
    STORE_ATTR_RESOURCE_NAME,
    STORE_ATTR_EVENT_SOURCE,
    STORE_ATTR_ACCESS_KEY_ID
};

struct store_lookup {
    enum store_attr attr;  /* STORE_ATTR_NONE: every event */
    const char *value;     /* exact, case-sensitive; ReadOnly takes "true"/"false" */
    int64_t start_ms;      /* inclusive; INT64_MIN for none */
    int64_t end_ms;        /* inclusive; INT64_MAX for none */
    bool insight;          /* Insights events instead of management events */
    const char *region;    /* awsRegion to keep, NULL = every region */
    size_t limit;          /* events to return at most; 0 = all */
    /* Continue after this event (exclusive) in the newest-first order. */
    bool after;
    int64_t after_time_ms;
    const char *after_event_id;
};

/* One event found. Every pointer is borrowed and valid only during the
 * callback. read_only is "true", "false" or NULL when the record has no
 * readOnly; the others are NULL when absent. */
struct store_lookup_row {
    const char *event_id;
    const char *event_name;
    const char *read_only;
    const char *access_key_id;
    int64_t time_ms;
    const char *event_source;
    const char *username;
    const struct store_resource *resources;
    size_t n_resources;
    const char *cloudtrail_event; /* the record, compact JSON */
    size_t cloudtrail_event_len;
};

/* Returns non-zero to stop the lookup (that value is returned). */
typedef int (*store_lookup_fn)(void *ctx, const struct store_lookup_row *row);

/* Calls fn for each event matching q, newest first (time, then event id,
 * descending), management events only (or Insights events only with
 * q->insight), as LookupEvents does. *more_out (may be NULL) is set when the
 * limit cut the list short. ERR_DB on SQLite errors. */
int store_lookup_events(struct store *st, const struct store_lookup *q, store_lookup_fn fn,
                        void *ctx, bool *more_out, struct err *err);

/* ---- the text index of requestParameters (opt-in, textidx.c) ---------------
 *
 * A contentless FTS5 trigram table (case-sensitive) of the text
 * cloudtrail_logs.requestparameters shows, one row per CloudTrail row id, kept
 * in the transaction of every change of a record (store_commit indexes the
 * batch's new records; triggers the deletes and updates; writers that do not
 * maintain it are refused), so it always holds every record. It costs ~12%
 * more disk and about twice the CloudTrail ingest CPU; the SQL front-end uses
 * it for requestparameters LIKE '%literal%' (query_sql_prepare). Its
 * existence is the setting: once made, every later write maintains it. */
#define STORE_TEXT_TABLE "cloudtrail_text"

/* Called during the build with the rows done so far and the total. */
typedef void (*store_text_progress_fn)(void *ctx, int64_t done, int64_t total);

/* Whether the store has the text index. ERR_DB on SQLite errors. */
int store_text_index_exists(struct store *st, bool *out, struct err *err);

/* Turns the text index on: creates it, its triggers and its rows for the
 * records already there, in one transaction (a kill leaves no index, never
 * part of one). Nothing to do when it exists (*built_out false, else true;
 * built_out may be NULL). progress (may be NULL) is called every 50,000 rows.
 * Must be called outside a transaction. ERR_USAGE on a read-only store,
 * ERR_DB on SQLite errors (nothing changed). */
int store_text_index_enable(struct store *st, store_text_progress_fn progress, void *ctx,
                            bool *built_out, struct err *err);

/* Row counts of the event tables, for status output and tests. */
struct store_counts {
    int64_t cloudtrail, resources, vpcflow, dns, files;
};
int store_counts(struct store *st, struct store_counts *out, struct err *err);

#endif
