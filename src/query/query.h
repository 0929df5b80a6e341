/*
 * query: the investigation side of Vigil. For now: CloudWatch Logs filter
 * patterns, the language of metric filters, subscription filters,
 * FilterLogEvents and Live Tail (not the Logs Insights query language).
 * lookup-events (below) answers CloudTrail's LookupEvents over the store;
 * the timeline will live here too.
 *
 * A pattern is compiled once into an immutable struct query_filter that any
 * number of threads may share; each thread matches with its own
 * struct query_filter_scratch. The pattern kinds, dispatched on the trimmed
 * text exactly as CloudWatch Logs does:
 *
 *   ""  or  " "                     every event
 *   ERROR ?WARN -DEBUG "a phrase"   terms: substrings of the raw message
 *   %regex%                         CloudWatch's regex subset, searched
 *   { $.a.b = "x" && $.c > 5 }      JSON: the message must be a JSON object
 *   [ip, user, ..., status=4*]      space-delimited fields
 *
 * Everything is case sensitive. The full syntax and the choices made where
 * AWS documentation is silent are in docs/filter-patterns.md.
 */
#ifndef VIGIL_QUERY_H
#define VIGIL_QUERY_H

#include "core/core.h"
#include "json/json.h"
#include "store/store.h"

/* filterPattern's API length limit (characters; we count bytes). */
#define QUERY_FILTER_MAX_LEN 1024
/* AWS quotas checked at compile time. */
#define QUERY_FILTER_MAX_REGEX 2     /* per JSON or space-delimited pattern */
#define QUERY_FILTER_MAX_WILDCARDS 3 /* wildcard selectors per JSON pattern */

enum query_filter_kind {
    QUERY_FILTER_ALL = 0,   /* empty pattern: matches every event */
    QUERY_FILTER_TERMS,     /* unstructured terms */
    QUERY_FILTER_REGEX,     /* standalone %regex% */
    QUERY_FILTER_JSON,      /* { ... } */
    QUERY_FILTER_DELIMITED  /* [ ... ] */
};

struct query_filter;
struct query_filter_scratch;

/*
 * Compiles pattern[0..len). On success *out is an owned filter for
 * query_filter_free. An invalid pattern returns ERR_USAGE with err->msg saying
 * what is wrong and where (1-based column), e.g. "column 10: '!' is not
 * allowed in a regular expression"; a pattern over QUERY_FILTER_MAX_LEN bytes
 * or a regex too large to compile returns ERR_LIMIT. *out is untouched on
 * failure.
 */
int query_filter_compile(const char *pattern, size_t len, struct query_filter **out,
                         struct err *err);
void query_filter_free(struct query_filter *f); /* NULL is fine */

enum query_filter_kind query_filter_kind(const struct query_filter *f);

/* Per-thread working memory, reused across events to avoid malloc per event. */
struct query_filter_scratch *query_filter_scratch_new(void);
void query_filter_scratch_free(struct query_filter_scratch *s); /* NULL is fine */

/*
 * True when the log event message msg[0..len) matches. Never fails: an event
 * that is not JSON simply does not match a JSON pattern. Reads nothing beyond
 * len (msg need not be NUL-terminated). The scratch then holds the extracted
 * values and the parsed JSON event, valid until the next call with the same
 * scratch and while msg is alive.
 */
bool query_filter_match(const struct query_filter *f, const char *msg, size_t len,
                        struct query_filter_scratch *s);

/* One extracted value, as TestMetricFilter's extractedValues map shows it. */
struct query_filter_field {
    struct sv name;  /* "$ip" for a named field, "$3" for the 3rd field when unnamed */
    struct sv value; /* the field without its enclosing quotes or brackets */
};

/*
 * The values extracted by the last successful query_filter_match on s, in
 * field order: one per event field for space-delimited patterns, none for
 * the other kinds (as AWS does). Views point into msg and s; same lifetime
 * as the match.
 */
size_t query_filter_extracted(const struct query_filter_scratch *s,
                              const struct query_filter_field **out);

/*
 * A metric value or dimension reference of a metric filter: "$.latency" (a
 * JSON selector without wildcards, for JSON patterns), "$size" (a named field,
 * for space-delimited patterns) or a number ("1"). Compiled against f, which
 * must outlive it; an expression that does not fit f returns ERR_USAGE.
 */
struct query_filter_ref;
int query_filter_ref_compile(const struct query_filter *f, const char *expr, size_t len,
                             struct query_filter_ref **out, struct err *err);
void query_filter_ref_free(struct query_filter_ref *r); /* NULL is fine */

/*
 * The referenced value for the event of the last successful match on s: the
 * field text, the JSON scalar's text (strings decoded, numbers as written,
 * true/false/null spelled out) or the number literal. False when the event has
 * no such value (missing property, an object or array). Same lifetime as the
 * match.
 */
bool query_filter_ref_value(const struct query_filter_ref *r, const struct query_filter_scratch *s,
                            struct sv *out);


/* ---- lookup-events: CloudTrail LookupEvents over the store -------------------
 *
 * The request and its validation follow the LookupEvents API: the eight
 * attribute keys (exact, case-sensitive, one per call), inclusive time bounds,
 * MaxResults 1-50, EventCategory "insight", a NextToken bound to the request's
 * parameters. Errors are AWS exceptions (code and message) so the CLI can
 * print what `aws` prints and a future HTTP endpoint can return them as they
 * are. Unlike the service there is no 90-day horizon (archives are older), and
 * no Region is implied: region selects one only when given.
 */

#define QUERY_LOOKUP_MAX_RESULTS 50
#define QUERY_LOOKUP_MAX_VALUE 2000
#define QUERY_LOOKUP_TOKEN_MAX 600

struct query_lookup_attr {
    const char *key;   /* "EventName", ... */
    const char *value;
};

struct query_lookup_req {
    const struct query_lookup_attr *attrs; /* 0 or 1 element (more is an error) */
    size_t n_attrs;
    bool has_start, has_end;
    int64_t start_ms, end_ms;     /* inclusive */
    const char *event_category;   /* NULL, or "insight" */
    size_t max_results;           /* 0 = not given: every event (the CLI paginates) */
    const char *next_token;       /* NULL, or NextToken from an earlier call */
    const char *region;           /* NULL = every region */
};

/* What LookupEvents would answer instead of events: the exception name
 * ("InvalidLookupAttributesException", ...), or "ParamValidation" for what
 * the AWS CLI rejects before sending (botocore's parameter validation). */
struct query_aws_error {
    char code[64];
    char message[256];
};

/* Parses an attribute key name; false for anything but the eight keys. */
bool query_lookup_key_parse(const char *name, enum store_attr *out);

/*
 * Runs a lookup: validates req (ERR_USAGE with aerr filled when LookupEvents
 * would refuse it), then calls fn for each event, newest first. When
 * max_results cut the list short, next_token receives a token for the rest
 * (else it is ""). ERR_DB for store errors (err). fn's non-zero return stops
 * the lookup and is returned.
 */
int query_lookup_events(struct store *st, const struct query_lookup_req *req, store_lookup_fn fn,
                        void *ctx, char next_token[QUERY_LOOKUP_TOKEN_MAX],
                        struct query_aws_error *aerr, struct err *err);

/* Writes one event as the LookupEvents response shows it (EventId, EventName,
 * ReadOnly, AccessKeyId, EventTime, EventSource, Username, Resources,
 * CloudTrailEvent; absent values left out), EventTime as the AWS CLI v2 prints
 * it (query_format_cli_time). */
void query_lookup_write_event(struct json_writer *w, const struct store_lookup_row *row,
                              bool local_time);

/* Formats a time as AWS CLI v2 prints timestamps: ISO 8601 with the UTC offset
 * of local time (local) or of UTC ("2021-11-18T09:41:02-08:00",
 * "2023-07-10T11:42:18+00:00"), with microseconds only when the time has a
 * fraction. out holds 48 bytes; returns the length. */
size_t query_format_cli_time(int64_t ms, bool local, char out[48]);

/* Parses a time as the AWS CLI accepts it for timestamp parameters: epoch
 * seconds ("1422317782", "1422317782.5"), ISO 8601 ("2015-01-27",
 * "2015-01-27T01:16:00Z", offsets), and the forms of the CloudTrail guide
 * ("01-27-2015", "01/27/2015, 01:16 PM", "2015-01-27, 01:16 PM"). Times
 * without an offset are UTC, as botocore takes them. */
bool query_parse_cli_time(const char *s, int64_t *ms_out);


/* ---- SQL: the Athena (Trino) dialect over the store --------------------------
 *
 * query_sql_rewrite turns one Athena statement into SQLite SQL over the views
 * query_sql_setup creates (cloudtrail_logs, vpc_flow_logs, vpcflow, vpc_flow_json,
 * r53_rlogs, s3_access_logs, cloudfront_logs, waf_logs, the OCSF tables;
 * docs/sql.md lists them and what is supported). It is a tokenizer and
 * targeted rewrites, not a parser: what it does not know it passes through,
 * and SQLite's error is then translated back to the line of the input.
 */

struct sqlite3_stmt;

#define QUERY_SQL_MAX_INPUT (1u << 20) /* bytes of one statement */

enum query_sql_kind {
    QUERY_SQL_SELECT = 0, /* sql holds the statement to run */
    QUERY_SQL_NOOP        /* DDL with nothing to do locally; note says why */
};

struct query_sql {
    enum query_sql_kind kind;
    char *sql;          /* owned, NUL-terminated; NULL for NOOP */
    size_t len;
    char note[256];     /* NOOP: the message to show */
    /* A plain CloudTrail statement whose WHERE bounds the event time to
     * [span_lo, span_hi) (epoch ms), with no LIMIT and no ORDER BY but
     * eventtime: it may run as slices of that window (query_sql_rewrite_slice),
     * their rows concatenated in time order (newest first when slice_desc). */
    bool sliceable, slice_desc;
    int64_t span_lo, span_hi;
    /* Input line of each emitted token, by output offset (ascending). */
    uint32_t *map_off, *map_line;
    size_t n_map;
};

/* Rewrites in[0..len). On success *out is filled (query_sql_free). ERR_USAGE
 * when the statement uses something unsupported or is not a query; err says
 * what and at which line ("unsupported: MAP_AGG at line 3"). ERR_LIMIT past
 * QUERY_SQL_MAX_INPUT. */
int query_sql_rewrite(const char *in, size_t len, struct query_sql *out, struct err *err);

/* query_sql_rewrite with options. QUERY_SQL_TEXT_INDEX: the store has the
 * text index of requestParameters (store.h, STORE_TEXT_TABLE), which
 * requestparameters LIKE '%lit%' may then read (query_sql_prepare sets it
 * when the store has the index). */
#define QUERY_SQL_TEXT_INDEX 0x1u
/* QUERY_SQL_TIME_ORDER: every CloudTrail row's eventtime is the canonical
 * form of its epoch (store_db_ct_times_canonical), so a plain statement's
 * ORDER BY eventtime may order by the epoch column and its indexes. */
#define QUERY_SQL_TIME_ORDER 0x2u
/* QUERY_SQL_TEXT_PROBE: with QUERY_SQL_TEXT_INDEX, test the text index's
 * rows per row with vq_text_has(id, query) instead of an IN list SQLite may
 * read rows through (query_sql_prepare picks it from the plan). */
#define QUERY_SQL_TEXT_PROBE 0x4u
int query_sql_rewrite_flags(const char *in, size_t len, unsigned flags, struct query_sql *out,
                            struct err *err);
void query_sql_free(struct query_sql *q); /* zeroed or half-built is fine */

/* query_sql_rewrite_flags restricted to the rows whose event time is in
 * [lo, hi) (epoch ms): one slice of a sliceable statement. ERR_USAGE when
 * the statement is not of a shape that can be sliced. */
int query_sql_rewrite_slice(const char *in, size_t len, unsigned flags, int64_t lo, int64_t hi,
                            struct query_sql *out, struct err *err);

/* The input line (1-based) of the output byte offset off, 0 when unknown. */
unsigned query_sql_line_at(const struct query_sql *q, size_t off);

/* Prepares db (a store connection) for rewritten SQL: the Athena functions,
 * case-sensitive LIKE, no double-quoted string literals, and the TEMP views.
 * ERR_DB when SQLite refuses. Call once per connection. */
int query_sql_setup(struct sqlite3 *db, struct err *err);

/* Rewrites and prepares one statement on a db set up by query_sql_setup.
 * *stmt_out is NULL for a NOOP statement (note_out, 256 bytes, says why).
 * Errors as query_sql_rewrite, plus ERR_USAGE with SQLite's complaint
 * translated to the input ("unknown column evenname at line 5"). */
int query_sql_prepare(struct sqlite3 *db, const char *in, size_t len, struct sqlite3_stmt **stmt_out,
                      char note_out[256], struct err *err);

/* SQLite's plan for sql on db (EXPLAIN QUERY PLAN): fn gets each node in
 * order, with its id, its parent's id and its text. ERR_DB with SQLite's
 * message when sql does not prepare. */
typedef void (*query_plan_fn)(void *ctx, int id, int parent, const char *detail);
int query_sql_plan(struct sqlite3 *db, const char *sql, query_plan_fn fn, void *ctx,
                   struct err *err);

/* Running one statement as slices of its time window, each on its own
 * connection (threads): ok when the statement is sliceable (struct
 * query_sql) and its plan reads the rows through an index bounded by the
 * event time, so each slice reads only its part. [lo, hi): the window;
 * desc: concatenate the slices newest first. The slices' rows, in order,
 * are the statement's rows (in its order when it has ORDER BY eventtime). */
struct query_sql_split {
    bool ok, desc;
    int64_t lo, hi;
    unsigned flags;  /* the store's rewrite flags, for every slice */
    bool setup_cost; /* each slice pays a setup (a text filter's set): few slices */
};
int query_sql_split(struct sqlite3 *db, const char *in, size_t len, struct query_sql_split *sp,
                    struct err *err);
/* Prepares the slice [lo, hi) of a statement query_sql_split said ok to, on
 * db (set up by query_sql_setup). */
int query_sql_prepare_slice(struct sqlite3 *db, const char *in, size_t len,
                            const struct query_sql_split *sp, int64_t lo, int64_t hi,
                            struct sqlite3_stmt **stmt_out, struct err *err);

#endif
