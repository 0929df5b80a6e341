/* Private to src/bus: the configuration's internals, the store, the targets. */
#ifndef VIGIL_BUS_INT_H
#define VIGIL_BUS_INT_H

#include "bus/bus.h"
#include "match/match.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>

#define BUS_MAX_TARGETS_PER_RULE 5
#define BUS_DEFAULT_DLQ "vigil-bus-dlq"
#define BUS_DEFAULT_RETRIES 185
#define BUS_DEFAULT_MAX_AGE 86400
#define BUS_DEFAULT_VISIBILITY 30
#define BUS_DEFAULT_RETENTION 345600 /* SQS default: 4 days */

enum bus_target_kind { BUS_T_EXEC, BUS_T_HTTP, BUS_T_FILE, BUS_T_QUEUE };

/* A member kept verbatim for round-tripping (RoleArn, SqsParameters, ...). */
struct bus_kv {
    char *key;
    char *json;
};

struct bus_target {
    char *id, *arn;
    char *input;           /* Input: JSON text, or NULL */
    char *input_path;      /* InputPath, or NULL */
    char *paths_map;       /* InputTransformer.InputPathsMap as JSON text, or NULL */
    char *input_template;  /* InputTransformer.InputTemplate, or NULL */
    int max_retries;       /* RetryPolicy.MaximumRetryAttempts, -1 = unset */
    int max_age_s;         /* RetryPolicy.MaximumEventAgeInSeconds, -1 = unset */
    char *dlq_arn;         /* DeadLetterConfig.Arn, or NULL */
    char *http_params;     /* HttpParameters as JSON text, or NULL */
    char *vigil_params;    /* VigilParameters as JSON text, or NULL */
    struct bus_kv *extra;  /* other PutTargets members, kept */
    size_t n_extra;
    /* derived */
    enum bus_target_kind kind;
    struct match_xform *xf;
    char **argv;           /* exec: NULL-terminated */
    char *path;            /* file: resolved path; queue: queue name; http: URL */
    char *dlq;             /* dead-letter queue name */
    double timeout_s;
    char *hmac_secret;     /* resolved secret or NULL */
    char *sig_header;
    char **headers;        /* "Name: value" lines from HttpParameters.HeaderParameters */
    size_t n_headers;
    char *query;           /* "?a=b&c=d" from QueryStringParameters, or NULL */
};

struct bus_rule {
    char *name, *arn;
    char *pattern;         /* compact JSON or NULL */
    char *schedule;
    char *state;
    char *description;
    char *bus_name;
    char *role_arn;
    struct bus_kv *extra;
    size_t n_extra;
    struct bus_target *targets;
    size_t n_targets;
};

struct bus_queue_cfg {
    char *name;
    int visibility_s;
    int retention_s;
    int max_receive;       /* 0 = no redrive policy */
    char *dlq;             /* dead-letter queue name or NULL */
    char *attrs_json;      /* Attributes as given */
};

struct bus_archive_cfg {
    char *name;
    char *pattern;         /* compact JSON or NULL = every event */
    int retention_days;    /* 0 = forever */
    char *description;
};

struct bus_config {
    char *name;            /* file name, for messages */
    char *base_dir;
    char *state_path;
    char *region, *account;
    int delivery_threads;
    int64_t retry_base_ms, retry_max_ms;
    char *vigil_json;      /* the "Vigil" object as given, for round-tripping */
    struct bus_rule *rules;
    size_t n_rules;
    struct bus_queue_cfg *queues;
    size_t n_queues;
    struct bus_archive_cfg *archives;
    size_t n_archives;
};

/* A queue's settings (from the config or SQS's defaults). */
void bus__queue_settings(const struct bus_config *cfg, const char *name,
                         struct bus_queue_cfg *out);
/* Local queue name of "queue:NAME" / "arn:aws:sqs:...:NAME" / "NAME"; NULL if invalid. */
char *bus__queue_name(const char *arn);
bool bus__valid_queue_name(const char *s);

/* ---- targets ---------------------------------------------------------------------- */

/* The outcome of one delivery attempt. */
struct bus_result {
    bool ok;
    bool retriable;
    char code[32];     /* ERROR_CODE: TIMEOUT, CONNECTION_ERROR, HTTP_503, EXIT_1, ... */
    char msg[400];     /* ERROR_MESSAGE */
};

/* Per-delivery-thread state (a reusable HTTP handle). */
struct bus_sender;
struct bus_sender *bus__sender_new(void);
void bus__sender_free(struct bus_sender *s);

/* Sends payload to an exec or http target; blocks up to the target's timeout. */
void bus__send(struct bus_sender *s, const struct bus_target *t, const char *rule_name,
               const char *event_id, int attempt, const char *payload, size_t len,
               int64_t now_ms, struct bus_result *res);

/* Appends a payload as one JSON line (compact JSON, or a JSON string for text). */
void bus__jsonl(struct buf *out, const char *payload, size_t len);

/* Writes a parsed value through w, so nested JSON is indented like the rest. */
void bus__write_tree(struct json_writer *w, const struct json_value *v);
/* Writes JSON text through w the same way (as is when it does not parse). */
void bus__write_json_text(struct json_writer *w, const char *json);

/* ---- random ------------------------------------------------------------------------- */

void bus__random_hex(char *out, size_t n_hex); /* n_hex hex digits + NUL */
void bus__uuid4(char out[37]);

/* ---- the runtime (bus.c, queue.c) ---------------------------------------------------- */

/* One open file target, shared by the workers (under bus.mu). */
struct bus_file {
    char *path;
    FILE *f;
    bool dirty;
};

/*
 * Lock order: bus.mu only (SQLite and the files are used under it). Delivery
 * threads hold it to claim and to record an outcome, never while sending.
 */
struct bus {
    const struct bus_config *cfg;
    bus_clock_fn clock;
    void *clock_ctx;
    struct match_set *ms;        /* rules 0..n_rules-1, then archives */
    struct json_pathset *want;
    pthread_mutex_t mu;
    pthread_cond_t cv_work;      /* new or finished deliveries (guarded by mu) */
    sqlite3 *db;                 /* guarded by mu */
    int lock_fd;
    bool deliverer;              /* this process holds the store's delivery lock */
    struct bus_file *files;      /* guarded by mu */
    size_t n_files;
    pthread_t *threads;
    int n_threads;
    bool stop;                   /* guarded by mu */
    int64_t *inflight;           /* outbox ids being delivered (guarded by mu) */
    size_t n_inflight;
    uint64_t rng;                /* jitter (guarded by mu) */
    struct bus_stats st;         /* guarded by mu */
};

int64_t bus__now(const struct bus *b);
/* Runs one SQL statement without results (under mu). */
int bus__exec(struct bus *b, const char *sql, struct err *err);
/* Renders what target t of rule r receives for event (Input, InputPath,
 * InputTransformer or the event itself), appended to out. */
int bus__render(struct bus *b, const struct bus_rule *r, const struct bus_target *t,
                const char *event, size_t len, struct buf *out, struct err *err);
/* Inserts a message in a queue (under mu, inside the caller's transaction). */
int bus__queue_insert(struct bus *b, const char *queue, const char *body, size_t len,
                      const char *attrs, const char *src_queue, char id_out[37]);
/* Finds a rule and target by name and id; false when gone from the config. */
bool bus__find_target(const struct bus_config *cfg, const char *rule, const char *target,
                      const struct bus_rule **r_out, const struct bus_target **t_out);
/* Inserts an outbox row (under mu, inside a transaction). */
int bus__outbox_insert(struct bus *b, const char *event_id, const char *rule, const char *target,
                       const char *payload, size_t plen, const char *event, size_t elen,
                       int64_t first_ms);

#endif
