/*
 * detect: rules as data and the stateless detector kinds that run them.
 *
 * A rule is a YAML document (docs/rules.md "Rule format"): an id, a GuardDuty
 * finding type, a severity, title/description templates, the source it reads,
 * an EventBridge pattern over the raw record, and optionally a named check (a C
 * predicate for what a pattern cannot say, e.g. "this bucket policy grants
 * access to everyone"). The enabled rules' patterns are compiled into one
 * match_set per event source, so an event visits one automaton once whatever
 * the rule count, and never the patterns of another source's rules.
 *
 * Beside the rules, the engine runs GuardDuty's list detectors: a threat list
 * (IPs, CIDRs, domains), a Tor exit list and a trusted list (which suppresses
 * every finding about a listed IP or domain).
 *
 * Threading: a rule set and an engine are immutable once built and may be
 * shared by any number of threads; each thread brings its own detect_scratch.
 *
 * The engine turns events into detections; the finding module turns
 * detections into GuardDuty findings (ids, aggregation, output).
 */
#ifndef VIGIL_DETECT_H
#define VIGIL_DETECT_H

#include "core/core.h"
#include "event/event.h"

/* What a finding is about, as GuardDuty's resource.resourceType says it. */
enum detect_resource {
    DETECT_RES_ACCESS_KEY = 0, /* "AccessKey": the principal's credentials */
    DETECT_RES_INSTANCE,       /* "Instance": an EC2 instance (flows, DNS) */
    DETECT_RES_S3_BUCKET       /* "S3Bucket" */
};

/* "AccessKey", "Instance", "S3Bucket". */
const char *detect_resource_name(enum detect_resource r);
/* Parses the names above (exact case); false if unknown. */
bool detect_resource_parse(struct sv name, enum detect_resource *out);

/* Severity words used in rule files map to GuardDuty's usual values. */
#define DETECT_SEV_LOW 2.0
#define DETECT_SEV_MEDIUM 5.0
#define DETECT_SEV_HIGH 8.0

/* "Low" (< 4), "Medium" (< 7) or "High", as GuardDuty labels severities. */
const char *detect_severity_label(double severity);

/* ---- rules ------------------------------------------------------------------ */

/* How a rule turns matching events into detections (docs/rules.md "Kinds").
 * MATCH rules fire on one event; the others keep state per key over event
 * time and fire on what no single record proves. */
enum detect_kind {
    DETECT_KIND_MATCH = 0,  /* every matching event */
    DETECT_KIND_THRESHOLD,  /* count (or sum) per key in a sliding window reaches a threshold */
    DETECT_KIND_DISTINCT,   /* distinct values of a field per key in a window reach a threshold */
    DETECT_KIND_NEW_VALUE,  /* a value never seen for the key, once the key's history is long enough */
    DETECT_KIND_RATE,       /* per-bucket count (or sum) far above the key's rolling baseline */
    DETECT_KIND_SEQUENCE    /* pattern, then each `then` step, by the same key within a window */
};

/* "match", "threshold", "distinct", "new_value", "rate", "sequence". */
const char *detect_kind_name(enum detect_kind k);

/* A rate rule that reproduces CloudTrail Insights (its `insight` field):
 * besides its finding, each anomaly gives a Start and an End Insights record
 * (detection.insight, detect_insight_write). */
enum detect_insight_type {
    DETECT_INSIGHT_NONE = 0,
    DETECT_INSIGHT_CALL_RATE, /* "ApiCallRateInsight" */
    DETECT_INSIGHT_ERROR_RATE /* "ApiErrorRateInsight" */
};

/* How long a new_value rule keeps a key's history, and each value of it,
 * after its last sighting unless the rule says otherwise (`retention`). */
#define DETECT_RETENTION_DEFAULT_MS (30LL * 86400 * 1000)

/* One loaded rule, read-only. Every string is owned by the rule set and lives
 * as long as it. */
struct detect_rule {
    const char *id;          /* unique within the set: [A-Za-z0-9._-]+ */
    const char *type;        /* GuardDuty finding type, e.g. "Stealth:IAMUser/CloudTrailLoggingDisabled" */
    double severity;         /* 1.0 - 8.9 */
    const char *title;       /* template text as written, with {{path}} placeholders */
    const char *description; /* template text; the title when the file gives none */
    enum event_source source;
    const char *pattern;     /* the EventBridge pattern as compact JSON text; NULL for a
                                stateful rule that selects with `where` alone */
    const char *check;       /* name of the C predicate, or NULL */
    enum detect_resource resource;
    const char *key;         /* leaf path the finding is about, or NULL for the resource's default */
    const char *const *mitre; /* ATT&CK technique ids */
    size_t n_mitre;
    const char *const *references; /* URLs */
    size_t n_references;
    bool enabled;
    const char *file; /* where the rule was defined */
    unsigned line;    /* 1-based line of the document's first key */

    /* Stateful kinds (docs/rules.md). A field reference is a record path,
     * alternatives "a|b" (the first present), or "$name", a derived field. */
    enum detect_kind kind;
    const char *where;            /* JSON pattern over the record's and the derived fields */
    const char *const *group_by;  /* the key; empty = the resource's default key */
    size_t n_group_by;
    int64_t window_ms;            /* threshold, distinct, sequence */
    double threshold;             /* threshold: count/sum; distinct: values; rate: floor */
    const char *sum;              /* threshold, rate: numeric field added instead of counting */
    const char *distinct;         /* distinct: the field whose values are counted */
    const char *const *value;     /* new_value: the value whose first sighting fires */
    size_t n_value;
    const char *when;             /* new_value: JSON pattern the firing event must match */
    const char *const *unusual;   /* new_value: fields of which one must be new too */
    size_t n_unusual;
    int64_t learning_ms;          /* new_value, rate: history a key needs before firing */
    const char *const *then;      /* sequence: the later steps' JSON patterns */
    size_t n_then;
    int64_t bucket_ms;            /* rate: bucket length */
    int64_t baseline_ms;          /* rate: rolling baseline length */
    double sigma;                 /* rate: standard deviations above the baseline */
    unsigned quiet;               /* rate: normal buckets that end an anomaly */
    enum detect_insight_type insight; /* rate: the Insights records it also gives */
    int64_t retention_ms;         /* new_value: history kept past a key's (value's) last use */
};

struct detect_rules;

struct detect_rules *detect_rules_new(void);
/* NULL is fine. Invalidates every detect_rule pointer taken from the set. */
void detect_rules_free(struct detect_rules *rs);

/*
 * Loads rules from path: a YAML file, or a directory whose *.yaml / *.yml files
 * are read in name order (not recursively). A file holds one or more
 * documents ("---"); each non-empty document is one rule.
 *
 * A file is all or nothing: on any error its rules are not added, err says
 * "line N: rule "id": what" with err->file set, and the function returns
 * ERR_FORMAT (bad YAML, bad field, unknown field, invalid pattern or template,
 * unknown check, duplicate id), ERR_IO (unreadable) or ERR_LIMIT (file over
 * 4 MiB, more than 10000 rules, a value or nesting beyond the caps).
 * Rules of files loaded before the failing one stay.
 */
int detect_rules_load(struct detect_rules *rs, const char *path, struct err *err);

/* Same as detect_rules_load for text already in memory; name is used in
 * messages and as detect_rule.file. */
int detect_rules_load_text(struct detect_rules *rs, const char *name, const char *text,
                           size_t len, struct err *err);

size_t detect_rules_count(const struct detect_rules *rs);
/* i < count; borrowed, valid as long as the set. */
const struct detect_rule *detect_rules_get(const struct detect_rules *rs, size_t i);
/* Rule by id, or NULL. */
const struct detect_rule *detect_rules_find(const struct detect_rules *rs, const char *id);

/*
 * Finds the built-in rule pack for a vigil binary at exe_path (e.g. from
 * /proc/self/exe): the first directory that exists of
 *   <dir of exe>/../rules      (a build directory inside the source tree)
 *   <dir of exe>/rules
 *   <dir of exe>/../share/vigil/rules and the configured install datadir.
 * Writes it to out (NUL-terminated). ERR_NOTFOUND when none exists,
 * ERR_LIMIT when cap is too small.
 */
int detect_rules_builtin_dir(const char *exe_path, char *out, size_t cap, struct err *err);

/* Parses a duration as rule files write it: "500ms", "30s", "10m", "6h", "7d"
 * (at most a year, more than zero). */
bool detect_parse_duration(const char *s, int64_t *ms_out);

/* Names of the built-in checks a rule may name, NULL-terminated. */
const char *const *detect_check_names(void);

/* ---- indicator lists -------------------------------------------------------- */

enum detect_list_kind {
    DETECT_LIST_THREAT = 0, /* --threat-list: IPs, CIDRs, domains */
    DETECT_LIST_TOR,        /* --tor-list: Tor exit node IPs */
    DETECT_LIST_TRUSTED     /* --trusted-list: suppresses findings for these IPs/domains */
};

struct detect_lists;

struct detect_lists *detect_lists_new(void);
void detect_lists_free(struct detect_lists *l);

/*
 * Adds a GuardDuty TXT list file of the given kind. name is the list's
 * threatListName (copied); NULL means the file's base name. Several files may
 * be added per kind. Bad lines are counted in *bad_out (may be NULL) and the
 * first is described in err; the return is then ERR_FORMAT but the good lines
 * were kept. ERR_IO when unreadable.
 */
int detect_lists_load(struct detect_lists *l, enum detect_list_kind kind, const char *path,
                      const char *name, size_t *bad_out, struct err *err);

/* Entries (IP ranges + domains) loaded for kind. */
size_t detect_lists_count(const struct detect_lists *l, enum detect_list_kind kind);

/*
 * Threat-list categories: a list that says what its entries are gives
 * GuardDuty's specific finding types (a "bitcoin" domain list raises
 * CryptoCurrency:EC2/BitcoinTool.B!DNS) instead of the .Custom ones.
 * detect_lists_load_category is detect_lists_load for DETECT_LIST_THREAT with
 * a category; detect_list_category_parse reads its name ("bitcoin", "c2",
 * "blackhole", "droppoint", "phishing", "driveby", "dga", "custom").
 */
enum detect_category {
    DETECT_CAT_CUSTOM = 0, DETECT_CAT_BITCOIN, DETECT_CAT_C2, DETECT_CAT_BLACKHOLE,
    DETECT_CAT_DROPPOINT, DETECT_CAT_PHISHING, DETECT_CAT_DRIVEBY, DETECT_CAT_DGA,
    DETECT_CAT_COUNT
};
bool detect_list_category_parse(struct sv name, enum detect_category *out);
int detect_lists_load_category(struct detect_lists *l, enum detect_category cat, const char *path,
                               const char *name, size_t *bad_out, struct err *err);

/*
 * Network interface map (--eni-map): which instance (and addresses) each ENI
 * belongs to, for flow logs without the instance-id field. Accepts the JSON
 * of `aws ec2 describe-network-interfaces` (NetworkInterfaces[].
 * {NetworkInterfaceId, Attachment.InstanceId, PrivateIpAddresses[].
 * PrivateIpAddress, Ipv6Addresses[].Ipv6Address, Association.PublicIp}) or
 * text lines "eni-id instance-id [address ...]" ('#' comments; "-" for no
 * instance). ERR_IO, ERR_FORMAT (err names the line), ERR_LIMIT (over 1M
 * entries or a 256 MiB file).
 */
int detect_lists_load_eni_map(struct detect_lists *l, const char *path, struct err *err);
size_t detect_lists_eni_count(const struct detect_lists *l);

/*
 * AWS's published address ranges (--aws-ip-ranges: ip-ranges.json from
 * https://ip-ranges.amazonaws.com/ip-ranges.json): prefixes[].ip_prefix and
 * ipv6_prefixes[].ipv6_prefix. Tells calls from inside AWS from calls from
 * outside (InstanceCredentialExfiltration.InsideAWS / .OutsideAWS).
 */
int detect_lists_load_aws_ranges(struct detect_lists *l, const char *path, struct err *err);
size_t detect_lists_aws_count(const struct detect_lists *l);
/* A finding type the list detectors raise (docs/rules.md, "Threat, Tor and
 * trusted lists"): for listings of what Vigil can find and for samples. */
struct detect_list_type {
    const char *rule_id;
    const char *type;
    double severity;
    enum detect_resource resource;
    enum event_source source;
    enum detect_list_kind kind;
};

/* Every list detection type, in a fixed order; *n_out is the count. Static. */
const struct detect_list_type *detect_list_types(size_t *n_out);

/* ---- engine ------------------------------------------------------------------ */

struct input_options;
struct geo_db;

struct detect_options {
    const struct detect_lists *lists; /* may be NULL; borrowed, must outlive the engine */
    /* > 0: replaces every stateful rule's learning period (baselines over
     * short archives, demos, game days); 0 = each rule's own. */
    int64_t learning_ms;
    /* Non-NULL: stateful candidates of events read from files (ev->file set
     * and not "-") keep only where the record is (file, record number); the
     * few that end up in a detection are read again, file by file, when
     * detect_finish emits. The files and the ev->file strings must stay as
     * they are until detect_finish returns. NULL: candidates keep a copy of
     * the fields a finding needs (streams, stdin, tests). Borrowed. */
    const struct input_options *input;
    /* MaxMind-format databases (geo.h): the derived fields $country and $asn
     * of CloudTrail callers, and $network by ASN instead of /16. NULL: none.
     * Borrowed; shared read-only by the threads. */
    const struct geo_db *geo;
    /* Rate rules with `insight` give their anomalies as Insights records
     * (detection.insight); counting who made every minute's calls costs
     * memory, so only when asked. */
    bool insights;
};

/* The id and time of one event behind a stateful detection. */
struct detect_evidence {
    int64_t ms;
    struct sv id;
};

#define DETECT_EVIDENCE_MAX 100

enum detect_direction {
    DETECT_DIR_DEFAULT = 0,
    DETECT_DIR_INBOUND,  /* the remote end opened the connection: our resource is the target */
    DETECT_DIR_OUTBOUND  /* our resource opened it: it is the actor */
};

/* One piece of evidence that a rule or list fired on an event. Everything is
 * borrowed: the rule and type from the rule set (or static text for list
 * detections), rendered strings and key from the scratch, the event from the
 * caller. Valid during the emit callback only. */
struct detection {
    const char *rule_id;
    const char *type;       /* GuardDuty finding type, e.g. "Stealth:IAMUser/CloudTrailLoggingDisabled" */
    double severity;        /* 1.0-8.9 as GuardDuty grades (Low < 4, Medium < 7, High) */
    const char *title;      /* rendered from the rule's template */
    const char *description;
    enum detect_resource resource;
    struct sv key;          /* what the finding is about: the same key aggregates */
    const char *threat_list;  /* threatListName when an indicator list fired, else NULL */
    struct sv indicator;      /* the listed IP or domain, when a list fired */
    const struct event *ev;
    const struct detect_rule *rule; /* NULL for list detections */
    const char *detail;     /* what a check found ("tcp 22 open to 0.0.0.0/0"), or NULL */

    /* Stateful detections, which stand on several events: ev is the
     * representative one (the event that completed the evidence), the
     * evidence lists every event kept as proof (at most
     * DETECT_EVIDENCE_MAX, the earliest by time then id), n_events counts
     * them all, and first_ms/last_ms bound them. For one-event detections
     * n_evidence is 0, n_events 1 and first_ms == last_ms == ev->time_ms. */
    const struct detect_evidence *evidence;
    size_t n_evidence;
    uint64_t n_events;
    int64_t first_ms, last_ms;
    /* For flows: who opened the connection, as the finding reports it
     * (connectionDirection); DETECT_DIR_DEFAULT lets the finding decide. */
    enum detect_direction direction;
    /* Rate rules with `insight`, when detect_options.insights: the anomaly as
     * CloudTrail Insights reports it (its API, errorCode, account and region
     * are ev's); else NULL. */
    const struct detect_insight *insight;
};

/* ---- CloudTrail Insights records ---------------------------------------------- */

#define DETECT_INSIGHT_TOP 5 /* contributors per attribute, as CloudTrail gives */

/* One contributor of an attribution: a value and its calls (or errors) per
 * minute. value is "null" for a missing one (a call without errorCode). */
struct detect_insight_contrib {
    char *value;
    double average;
};

/* attribute: "userIdentityArn", "userAgent" or "errorCode" (call-rate
 * insights only); the top contributors during the insight and over the
 * baseline, largest first (ties by value). */
struct detect_insight_attr {
    const char *attribute; /* static */
    struct detect_insight_contrib insight[DETECT_INSIGHT_TOP];
    size_t n_insight;
    struct detect_insight_contrib baseline[DETECT_INSIGHT_TOP];
    size_t n_baseline;
};

/* What the Start or the End record says: Start covers the first anomalous
 * minute, End the whole anomaly. */
struct detect_insight_side {
    double insight_average; /* calls (errors) per minute */
    struct detect_insight_attr attr[3];
    size_t n_attr;
};

/* An anomaly of a rate rule with `insight`. Owns its strings
 * (detect_insight_free). */
struct detect_insight {
    enum detect_insight_type type;
    char *rule_id;
    int64_t start_ms, end_ms;      /* the first anomalous minute's start, the last's end */
    double baseline_average;       /* per minute, over the baseline before the start */
    int64_t insight_duration_min;  /* end - start, in minutes */
    int64_t baseline_duration_min; /* history the baseline covers, in minutes */
    struct detect_insight_side start, end;
};

void detect_insight_free(struct detect_insight *in); /* NULL is fine */
/* A deep copy, for a caller that keeps an insight past the emit callback. */
struct detect_insight *detect_insight_dup(const struct detect_insight *in);

/*
 * Appends the Start (end = false) or End record of d's insight to out, as
 * CloudTrail writes Insights records to a trail (one compact JSON object, no
 * newline): eventVersion, eventTime, awsRegion, eventID, eventType
 * "AwsCloudTrailInsight", recipientAccountId, sharedEventID, insightDetails
 * {state, eventSource, eventName, insightType, errorCode (error rate),
 * insightContext {statistics {baseline, insight, insightDuration,
 * baselineDuration}, attributions[]}}, eventCategory "Insight". The ids are
 * GUID-shaped hashes of the rule, key and start, so a run over the same logs
 * writes the same records. *time_ms_out (may be NULL) gets the eventTime.
 * ERR_LIMIT when out's cap is reached.
 */
int detect_insight_write(const struct detection *d, bool end, struct buf *out,
                         int64_t *time_ms_out);

typedef void (*detect_emit_fn)(void *ctx, const struct detection *d);

struct detect_engine;
struct detect_scratch;

/*
 * Builds an engine from the enabled rules of rules (borrowed: the set must
 * outlive the engine) and opt (may be NULL). ERR_USAGE if a pattern does not
 * compile (err names the rule); the set was validated at load, so that only
 * happens for sets built by hand.
 */
int detect_engine_new(const struct detect_rules *rules, const struct detect_options *opt,
                      struct detect_engine **out, struct err *err);
void detect_engine_free(struct detect_engine *e);

/* Adds every record path the engine reads from leaves (patterns, templates,
 * keys, list detectors) to ps, so the scanner can skip the rest. Checks read
 * ev->raw instead (parsed only for events a checked rule's pattern matched),
 * which must hold the record's bytes. */
void detect_engine_paths(const struct detect_engine *e, struct json_pathset *ps);

/* Number of rules compiled (the enabled ones). */
size_t detect_engine_rule_count(const struct detect_engine *e);

/* Per-thread working memory; reused across events. The stateful candidates
 * a scratch collects are allocated from it (any thread may free them), so a
 * scratch must be freed after the batches taken from it, the archives that
 * ran them and detect_finish calls that read it. */
struct detect_scratch *detect_scratch_new(void);
void detect_scratch_free(struct detect_scratch *s);

/*
 * Runs every rule and list detector on ev and calls emit once per detection,
 * rules first in rule order, then lists. Nothing is emitted when the event's
 * address (or DNS query name) is on the trusted list. Strings handed to emit
 * live in s until the next detect_event call with s. Returns the number of
 * detections emitted.
 */
size_t detect_event(const struct detect_engine *e, struct detect_scratch *s,
                    const struct event *ev, detect_emit_fn emit, void *ctx);

/* ---- stateful rules ------------------------------------------------------------- */

/*
 * Rules of the stateful kinds see events in event-time order, whatever order
 * the records arrive in. detect_event only selects their candidates (the
 * rule's pattern, check and `where` held), keeping a compact copy of what the
 * finding will need in the scratch; the kinds run later:
 *
 *   archive   after all input is read, detect_finish merges the candidates of
 *             every scratch, orders them by (time, event id) and runs each
 *             stateful rule over them. The result depends only on the set of
 *             events read, never on the thread count or the order of files.
 *   chunked   a detect_archive does the same slice by slice: the candidates
 *             before a watermark run and are freed, so memory follows the
 *             slices in flight, not the span (below, "Chunked archives").
 *   stream    a detect_stream feeds the same kinds behind a watermark: the
 *             latest event time seen minus the allowed lateness. Candidates
 *             are held until the watermark passes them, then run in order;
 *             one that arrives behind the watermark is counted as late and
 *             ignored by the stateful rules (its stateless detections are
 *             emitted as usual).
 *
 * State per key expires with the rule's window (threshold, distinct,
 * sequence), its bucket and baseline (rate) or is kept for the run
 * (new_value: first sightings per key and value).
 */
struct detect_state_stats {
    uint64_t candidates;   /* events selected by some stateful rule */
    uint64_t items;        /* what the kinds ran on after the workers' reductions */
    uint64_t detections;   /* stateful detections emitted */
    uint64_t late;         /* stream, chunked archive: candidates behind the watermark, ignored */
    size_t bytes;          /* memory the candidates held at their peak */
    /* The kinds' own state (baselines, windows): at its peak over the run, and
     * what was let go to keep it bounded. */
    uint64_t state_keys;       /* keys held at the peak (sum over the rules) */
    uint64_t state_values;     /* new_value: values held at the peak */
    size_t state_bytes;        /* bytes the kinds held at the peak */
    uint64_t expired_keys;     /* keys idle past their window, baseline or retention */
    uint64_t expired_values;   /* new_value: values unused for the retention period */
    uint64_t refused_keys;     /* keys not created past the per-rule cap */
    uint64_t refused_values;   /* new_value: values not kept past the per-key cap */
};

/* Number of enabled stateful rules. */
size_t detect_engine_stateful_count(const struct detect_engine *e);

/*
 * Runs the stateful rules over the candidates collected by the n scratches
 * (each used by detect_event on its own thread; no thread may use them any
 * more) and emits their detections, rule by rule in rule order, each rule's
 * in event-time order. The scratches' candidates are consumed; the scratches
 * stay usable. stats may be NULL. Returns the number of detections.
 */
size_t detect_finish(const struct detect_engine *e, struct detect_scratch *const *s, size_t n,
                     detect_emit_fn emit, void *ctx, struct detect_state_stats *stats);

/*
 * Chunked archives: memory bounded by the slices in flight, not the span.
 *
 * The caller reads the files in slices in the order of their delivery time
 * (several threads, each detect_event-ing into its own scratch). After a
 * slice, it takes every scratch's candidates (detect_scratch_take; the
 * scratch's thread must not be in detect_event during the call, and may go
 * on with the next slice right after) and gives them to detect_archive_run
 * with the watermark: a time before which no record of a later slice can
 * be, the later slices' earliest start minus the allowed lateness. Every
 * candidate before the watermark then runs through the kinds, in the same
 * order as detect_finish would run it, and is freed; the rest waits. A
 * candidate that arrives behind the watermark already passed is counted as
 * late (detect_state_stats.late) and ignored by the stateful rules. With one
 * run at INT64_MAX (or only detect_archive_finish) it is detect_finish.
 *
 * Results depend only on which candidates each run gets and the watermarks,
 * never on which scratch (thread) collected them. Detections come out
 * through emit(ctx, ...) during the runs (events kept by reference: in
 * detect_archive_finish, once the files are read again), unit by unit per
 * run: a caller that needs an order sorts (finding aggregation does not).
 * The kinds run on the caller's thread: one thread at a time per archive.
 */
struct detect_archive;
struct detect_batch;

/* A new archive over e (borrowed). emit and ctx receive every detection and
 * must stay valid until detect_archive_free. */
struct detect_archive *detect_archive_new(const struct detect_engine *e, detect_emit_fn emit,
                                          void *ctx);
/* Emits what is still pending (see detect_archive_finish) and frees; NULL is fine. */
void detect_archive_free(struct detect_archive *a);

/* The candidates s collected since it was made or last taken, as a batch the
 * caller owns (detect_archive_run or detect_batch_free); NULL when s has
 * collected none. s collects afresh. */
struct detect_batch *detect_scratch_take(struct detect_scratch *s);
void detect_batch_free(struct detect_batch *b); /* NULL is fine */

/* Takes the n batches (ownership, NULL entries are skipped), then moves the
 * watermark to wm if that is later and runs what it passes. Returns the
 * number of detections emitted. */
size_t detect_archive_run(struct detect_archive *a, struct detect_batch *const *b, size_t n,
                          int64_t wm);

/* Runs everything held, closes the kinds, reads the files behind detections
 * kept by reference and emits them; fills stats (may be NULL; bytes: the
 * peak the archive and the batches given to one run held). Returns the
 * detections it emitted itself. Later calls only fill stats. */
size_t detect_archive_finish(struct detect_archive *a, struct detect_state_stats *stats);

/* The watermark reached (INT64_MIN before the first). */
int64_t detect_archive_watermark(const struct detect_archive *a);
/* From now on each drain (detect_archive_run, _finish) may use n threads
 * (1-8; default 1): the calling thread and helpers it starts for the drain,
 * which make the closed buckets into items, sort what is held and free what
 * ran while the calling thread runs the kinds, unit after unit, in the same
 * order as alone: the detections and their order do not depend on n. Worth
 * it when the cores are otherwise idle (vigil detect: the last slice, once
 * every file is read). */
void detect_archive_set_threads(struct detect_archive *a, int n);

/* Candidates held by s and the bytes they take (for stats and tests). */
size_t detect_scratch_pending(const struct detect_scratch *s, size_t *bytes_out);

struct detect_stream;

/* A stream over e (borrowed) allowing lateness_ms of disorder. */
struct detect_stream *detect_stream_new(const struct detect_engine *e, int64_t lateness_ms);
void detect_stream_free(struct detect_stream *st);

/* detect_event for one streamed event: stateless detections are emitted at
 * once; stateful ones when the watermark passes their events. */
size_t detect_stream_event(struct detect_stream *st, const struct event *ev, detect_emit_fn emit,
                           void *ctx);

/* Moves the watermark to now_ms - lateness if that is later (idle streams
 * still close windows), running what it passes. */
size_t detect_stream_advance(struct detect_stream *st, int64_t now_ms, detect_emit_fn emit,
                             void *ctx);

/* End of the stream: runs every held candidate and closes all state. */
size_t detect_stream_flush(struct detect_stream *st, detect_emit_fn emit, void *ctx);

void detect_stream_stats(const struct detect_stream *st, struct detect_state_stats *out);

#endif
