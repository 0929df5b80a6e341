/*
 * bus: an EventBridge-compatible event bus, local.
 *
 * Events (CloudTrail records, flows, DNS queries, findings) are put on the bus
 * as EventBridge events (the envelope AWS builds: version, id, detail-type,
 * source, account, time, region, resources, detail). Rules with EventBridge
 * patterns select them; each matching rule hands the event to its targets,
 * optionally reshaped by Input, InputPath or an InputTransformer. Targets are
 * local: a command (exec:), a webhook (http://, https://), a JSON-lines file
 * (file:), a durable queue (queue:, or an SQS ARN naming a local queue).
 *
 * Configuration is a JSON or YAML document shaped like the AWS API:
 *   {"Rules": [ <PutRule request> + "Targets": [ <PutTargets target> ... ] ],
 *    "Queues": [ <CreateQueue request> ... ],
 *    "Archives": [ <CreateArchive request> ... ],
 *    "Vigil": { local options } }
 * so a user's rule JSON and PutTargets JSON work unchanged, ARNs aside
 * (docs/bus.md lists every field).
 *
 * Delivery is at least once. Every delivery is committed to a SQLite store
 * (WAL) before it is attempted, except file targets, which are appended at
 * once and only stored when the append fails. A failed delivery is retried
 * with exponential backoff and jitter until the target's RetryPolicy gives up,
 * then the event goes to its dead-letter queue with the error attached (to
 * vigil-bus-dlq when the target names none: nothing is dropped silently). A
 * kill at any moment loses nothing that was committed; what was read but not
 * yet committed is read again from its log files by the next run.
 *
 * Threading: a config is immutable once loaded. A bus is shared by threads;
 * each producing thread brings its own bus_worker. Delivery runs on the bus's
 * own threads. The store is guarded by one mutex (taken for short critical
 * sections, never across a delivery).
 */
#ifndef VIGIL_BUS_H
#define VIGIL_BUS_H

#include "core/core.h"
#include "event/event.h"
#include "finding/finding.h"
#include "json/json.h"

/* ---- envelopes ---------------------------------------------------------------- */

/* EventBridge's limit on one event (PutEvents entry); larger events are refused. */
#define BUS_MAX_EVENT ((size_t)256 * 1024)

/* Vigil's own events (documented in docs/bus.md). */
#define BUS_SOURCE_VPCFLOW "vigil.vpcflow"
#define BUS_DETAIL_TYPE_VPCFLOW "VPC Flow Log Record"
#define BUS_SOURCE_DNS "vigil.dns"
#define BUS_DETAIL_TYPE_DNS "Route 53 Resolver Query Log"
#define BUS_SOURCE_S3ACCESS "vigil.s3access"
#define BUS_DETAIL_TYPE_S3ACCESS "S3 Server Access Log Record"
#define BUS_SOURCE_CLOUDFRONT "vigil.cloudfront"
#define BUS_DETAIL_TYPE_CLOUDFRONT "CloudFront Access Log Record"
#define BUS_SOURCE_WAF "vigil.waf"
#define BUS_DETAIL_TYPE_WAF "AWS WAF Log Record"

/*
 * Appends to out the EventBridge event for one record:
 *   CloudTrail: as AWS builds it. detail-type from eventType: "AWS API Call
 *     via CloudTrail" (AwsApiCall), "AWS Console Sign In via CloudTrail"
 *     (AwsConsoleSignIn), "AWS Console Action via CloudTrail"
 *     (AwsConsoleAction), "AWS Service Event via CloudTrail"
 *     (AwsServiceEvent), "AWS Insight via CloudTrail" (Insights); source
 *     "aws." + eventSource without ".amazonaws.com" ("aws.cloudtrail" for
 *     Insights); account recipientAccountId; time eventTime as written;
 *     region awsRegion; resources []; detail the record as it is. A record
 *     that arrived inside an EventBridge envelope is put back as it came.
 *   VPC flow: source vigil.vpcflow, detail-type "VPC Flow Log Record",
 *     detail the record's fields with numbers typed.
 *   DNS: source vigil.dns, detail-type "Route 53 Resolver Query Log", detail
 *     the query log record.
 *   S3 server access: source vigil.s3access, detail-type "S3 Server Access
 *     Log Record", resources the bucket's ARN, account and region empty,
 *     detail the record's fields by their Athena column names (bucket_name,
 *     remoteip, requester, operation, key, httpstatus, ...), numbers typed,
 *     "-" fields left out.
 *   CloudFront: source vigil.cloudfront, detail-type "CloudFront Access Log
 *     Record", account and region empty, detail the fields by their #Fields
 *     names ("c-ip", "sc-status", ...).
 *   WAF: source vigil.waf, detail-type "AWS WAF Log Record", resources the
 *     webaclId ARN, account and region from it, detail the record.
 * The id is a name-based UUID (RFC 4122 version 5) of the record's identity,
 * so the same record always gets the same event id (archives and retried
 * runs deduplicate on it). ERR_LIMIT when out's cap is hit.
 */
int bus_envelope_event(const struct event *ev, struct buf *out, struct err *err);

/* The "GuardDuty Finding" event for a finding (source aws.guardduty, time the
 * finding's updatedAt, detail the GuardDuty finding JSON), as GuardDuty
 * publishes it; the id is a UUID v5 of the finding id and its updatedAt. */
void bus_envelope_finding(const struct finding *f, struct buf *out);

/* Writes a version-5 UUID of name (in Vigil's namespace) as 36 characters + NUL. */
void bus_uuid5(const void *name, size_t len, char out[37]);
/* Writes a random (version-4) UUID. */
void bus_uuid4(char out[37]);

/* ---- configuration ---------------------------------------------------------------- */

struct bus_config;

/*
 * Loads a configuration file (JSON when its first non-blank character is '{',
 * YAML otherwise). Validates what PutRule, PutTargets, CreateQueue and
 * CreateArchive validate (names, states, pattern syntax, schedule
 * expressions, ARNs, RetryPolicy ranges 0-185 and 60-86400, at most 5
 * targets per rule, exclusive Input/InputPath/InputTransformer, transformer
 * placeholders, the 100-variable limit), plus that every target ARN is a
 * local one. Errors name the rule and target: ERR_IO, ERR_FORMAT (syntax),
 * ERR_USAGE (a bad value), ERR_LIMIT. *out is NULL on error.
 */
int bus_config_load(const char *path, struct bus_config **out, struct err *err);
/* The same over text; name is used in messages, base_dir resolves relative
 * file:/exec:/state paths (NULL = the current directory). */
int bus_config_parse(const char *text, size_t len, const char *name, const char *base_dir,
                     struct bus_config **out, struct err *err);
void bus_config_free(struct bus_config *cfg); /* NULL is fine */

/* A read-only view of a rule or target; strings live as long as the config. */
struct bus_rule_info {
    const char *name, *arn;
    const char *event_pattern;       /* compact JSON text, or NULL */
    const char *schedule_expression; /* or NULL */
    const char *state;               /* ENABLED, DISABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS */
    const char *description;         /* or NULL */
    const char *event_bus_name;
    const char *role_arn;            /* or NULL (kept, not used) */
    size_t n_targets;
};

size_t bus_config_rule_count(const struct bus_config *cfg);
void bus_config_rule(const struct bus_config *cfg, size_t i, struct bus_rule_info *out);
/* Index of the rule named name, or -1. */
long bus_config_find_rule(const struct bus_config *cfg, const char *name);
/* Writes target t of rule r as PutTargets/ListTargetsByRule shows it. */
void bus_config_target_json(const struct bus_config *cfg, size_t r, size_t t,
                            struct json_writer *w);

/* PutRule on a loaded config: creates or updates rule name (NULL arguments
 * keep the current values of an existing rule; state NULL means ENABLED for
 * a new one). Validated as at load. */
int bus_config_put_rule(struct bus_config *cfg, const char *name, const char *event_pattern,
                        const char *schedule, const char *state, const char *description,
                        struct err *err);
/* PutTargets: targets_json is the --targets JSON array; targets with an
 * existing Id are replaced. On error nothing changes. */
int bus_config_put_targets(struct bus_config *cfg, const char *rule, const char *targets_json,
                           size_t len, struct err *err);
/* RemoveTargets / DeleteRule (a rule must have no targets, as in AWS). */
int bus_config_remove_targets(struct bus_config *cfg, const char *rule, const char *const *ids,
                              size_t n, struct err *err);
int bus_config_delete_rule(struct bus_config *cfg, const char *name, struct err *err);

/* The whole configuration as a JSON document (indent spaces per level). */
void bus_config_write(const struct bus_config *cfg, struct buf *out, int indent);
/* Writes it to path atomically (temporary file + rename). */
int bus_config_save(const struct bus_config *cfg, const char *path, struct err *err);
/* Vigil.Account and Vigil.Region (defaults 000000000000, us-east-1): the
 * account and region of rule ARNs and of events put with put-events. */
const char *bus_config_account(const struct bus_config *cfg);
const char *bus_config_region(const struct bus_config *cfg);
/* Where the store lives: Vigil.StateFile, else "<config path>.state.db". */
const char *bus_config_state_path(const struct bus_config *cfg);

/* ---- schedules ---------------------------------------------------------------------- */

/* Validates rate(N unit) and cron(min hour dom month dow year) as EventBridge
 * does (one of day-of-month and day-of-week must be "?"). */
int bus_schedule_check(const char *expr, struct err *err);
/* First firing time strictly after after_ms (UTC); -1 if none (a cron whose
 * years are past). For rate(), firings are after_ms + period. */
int64_t bus_schedule_next(const char *expr, int64_t after_ms);

/* ---- the runtime ------------------------------------------------------------------------ */

struct bus;
struct bus_worker;

typedef int64_t (*bus_clock_fn)(void *ctx); /* milliseconds since the epoch */

struct bus_options {
    const char *state_path;  /* NULL: bus_config_state_path */
    int delivery_threads;    /* 0: Vigil.DeliveryThreads or 4 */
    bool no_delivery;        /* stage only; nothing is sent by this process */
    bus_clock_fn clock;      /* NULL: the real clock */
    void *clock_ctx;
};

/* Opens the bus over cfg (borrowed: must outlive the bus) and its store;
 * starts the delivery threads. Only one process delivers from a store at a
 * time (an advisory lock); another one stages deliveries for it. */
int bus_open(const struct bus_config *cfg, const struct bus_options *opt, struct bus **out,
             struct err *err);
/* Stops delivery (in-flight attempts finish; what is left stays stored) and
 * closes the store. NULL is fine. */
void bus_close(struct bus *b);

struct bus_worker *bus_worker_new(struct bus *b);
/* Frees the worker; staged but unflushed deliveries are discarded (flush first). */
void bus_worker_free(struct bus_worker *w);

/*
 * Puts one EventBridge event (JSON text) on the bus: archives it, matches it
 * against every enabled rule (read-only CloudTrail management events only
 * reach ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS rules), renders each
 * target's input and stages the deliveries in the worker, which commits them
 * in batches. Returns the number of (rule, target) deliveries staged, or a
 * negative err code: -ERR_FORMAT (not a JSON object / no id), -ERR_LIMIT
 * (larger than BUS_MAX_EVENT), -ERR_DB / -ERR_IO (a batch could not be
 * committed). A target whose input cannot be rendered gets the event in its
 * dead-letter queue with the reason, as EventBridge does.
 */
long bus_put(struct bus_worker *w, const char *event, size_t len, struct err *err);
/* Commits what the worker staged (files flushed, store transaction committed). */
int bus_worker_flush(struct bus_worker *w, struct err *err);

struct bus_stats {
    uint64_t events;        /* put on the bus */
    uint64_t matched;       /* (rule, event) matches */
    uint64_t staged;        /* deliveries staged */
    uint64_t delivered;     /* successful attempts */
    uint64_t retried;       /* failed attempts that will be retried */
    uint64_t dead_lettered; /* gave up: moved to a dead-letter queue */
    uint64_t archived;      /* events newly archived */
    uint64_t pending;       /* deliveries waiting in the store (at the time of the call) */
};

/* Waits until nothing is pending, or nothing is due before the deadline
 * (max_wait_ms from now; < 0 waits for everything), whichever comes first.
 * Returns 0, or ERR_USAGE when this process is not the deliverer (another one
 * holds the store's lock; the deliveries are left for it). */
int bus_drain(struct bus *b, int64_t max_wait_ms, struct err *err);
void bus_get_stats(struct bus *b, struct bus_stats *out);

/* Replays archived events whose time is in [from_ms, to_ms) through the
 * rules (only those named in rules[0..n_rules) when n_rules > 0), adding
 * "replay-name" to each event as EventBridge does; archives do not take
 * replayed events again. *n_out counts the events replayed. */
int bus_replay(struct bus *b, const char *archive, int64_t from_ms, int64_t to_ms,
               const char *replay_name, const char *const *rules, size_t n_rules,
               uint64_t *n_out, struct err *err);

/* Fires the scheduled rules that are due at now (a "Scheduled Event" to the
 * rule's targets per firing; missed firings collapse into one). Returns the
 * number fired; *next_ms_out (may be NULL) is the next firing time or -1. */
long bus_tick(struct bus *b, struct bus_worker *w, int64_t *next_ms_out, struct err *err);

/* The ingest ledger (vigil watch): whether path with this size and mtime was
 * completed, and marking it so (in the store, committed with the batch). */
bool bus_file_done(struct bus *b, const char *path, int64_t size, int64_t mtime);
int bus_mark_file_done(struct bus *b, const char *path, int64_t size, int64_t mtime,
                       struct err *err);

/* ---- queues (SQS semantics) -------------------------------------------------------------- */

/* Queue names: [A-Za-z0-9_-]{1,80}; "queue:NAME" and "arn:aws:sqs:R:A:NAME"
 * name the same local queue. Attributes come from the config's Queues
 * (VisibilityTimeout, MessageRetentionPeriod, RedrivePolicy
 * {deadLetterTargetArn, maxReceiveCount}); unknown queues get SQS defaults. */

/* SendMessage: body (any bytes) with message attributes (JSON object text
 * of {"Name":{"DataType":"String","StringValue":...}} or NULL). */
int bus_queue_send(struct bus *b, const char *queue, const char *body, size_t len,
                   const char *attrs_json, char msg_id_out[37], struct err *err);

/* ReceiveMessage: up to max (1-10) visible messages become invisible for the
 * visibility timeout (-1: the queue's); each receive makes a new receipt
 * handle and increments ApproximateReceiveCount. A message already received
 * maxReceiveCount times moves to the RedrivePolicy's dead-letter queue
 * instead of being returned. Appends {"Messages":[...]} to out as
 * `aws sqs receive-message` prints it (nothing at all when none, as the CLI). */
int bus_queue_receive(struct bus *b, const char *queue, int max, int visibility_s,
                      struct buf *out, size_t *n_out, struct err *err);

/* DeleteMessage: a stale receipt handle (the message was received again since)
 * succeeds and deletes nothing, as in SQS; an unknown one is ERR_NOTFOUND. */
int bus_queue_delete(struct bus *b, const char *queue, const char *receipt, struct err *err);
/* PurgeQueue. */
int bus_queue_purge(struct bus *b, const char *queue, uint64_t *n_out, struct err *err);
/*
 * Redrive (StartMessageMoveTask) from a dead-letter queue: a message the bus
 * dead-lettered goes back to its rule's target (delivered again, with a fresh
 * retry budget); a message a queue moved here after maxReceiveCount goes back
 * to that queue; others go to dest (NULL: they stay). *n_out counts moved.
 */
int bus_queue_redrive(struct bus *b, const char *dlq, const char *dest, uint64_t *n_out,
                      struct err *err);
/* ListQueues with counts: {"Queues":[{"QueueName","Visible","InFlight"}...]}. */
int bus_queue_list(struct bus *b, struct json_writer *w, struct err *err);

#endif
