/*
 * finding: detections become GuardDuty findings.
 *
 * A detection (detect.h) says "rule R saw activity of type T about key K in
 * event E". The aggregator folds every detection with the same account,
 * region, type and key into one finding, as GuardDuty folds repeated activity
 * into one finding id: service.count grows, eventFirstSeen/eventLastSeen
 * widen, and the evidence (the ids of the events behind it) accumulates.
 *
 * Determinism: results never depend on the order detections arrive, so
 * several threads may each fill an aggregator and merge them in any order.
 *   - the id is a hash of (account, region, type, key): re-running over the
 *     same logs gives the same ids;
 *   - first/last seen are the min/max event times; severity is the max;
 *   - the representative detection, whose event fills the details (resource,
 *     action, title, description, rule id), is the earliest by (event time,
 *     event id, rule id);
 *   - the evidence keeps the FINDING_EVIDENCE_MAX earliest events by (time, id).
 *
 * Output follows the GuardDuty finding JSON (schemaVersion 2.0, the camelCase
 * names of the finding as EventBridge and the S3 export carry it), plus Vigil's
 * additions under service.additionalInfo.vigil {ruleId, key, eventIds, eventCount}
 * (eventCount: the events behind the finding, which for stateful detections
 * exceeds service.count).
 * Everything a finding holds is copied out of the detection: events are
 * transient, findings outlive them.
 *
 * Threading: an aggregator belongs to one thread at a time; findings are
 * read-only once aggregation is over.
 */
#ifndef VIGIL_FINDING_H
#define VIGIL_FINDING_H

#include "core/core.h"
#include "detect/detect.h"
#include "geo/geo.h"
#include "json/json.h"

/* Event ids kept per finding (the earliest ones); the total is always counted. */
#define FINDING_EVIDENCE_MAX 100

/* GuardDuty's service.action.actionType. */
enum finding_action {
    FINDING_ACTION_API_CALL = 0, /* "AWS_API_CALL": a CloudTrail record */
    FINDING_ACTION_NETWORK,      /* "NETWORK_CONNECTION": a flow */
    FINDING_ACTION_DNS,          /* "DNS_REQUEST": a Resolver query */
    FINDING_ACTION_PORT_PROBE    /* "PORT_PROBE": a flow probing an open port */
};

/* GuardDuty's remoteIpDetails beyond the address: country, city, geoLocation
 * and organization, filled by finding_agg_enrich (or by a sample). Strings
 * owned, NULL when unknown. */
struct finding_geo {
    char *country_code, *country_name, *city;
    bool has_location;
    double lat, lon;
    char *asn; /* GuardDuty writes the number as a string */
    char *asn_org, *isp, *org;
};

/* Details taken from the representative event. Every string is owned by the
 * finding (NUL-terminated) or NULL when the event did not carry it. */
struct finding_detail {
    enum event_source source;
    enum finding_action action;
    /* accessKeyDetails (CloudTrail) */
    char *access_key_id, *principal_id, *user_name, *user_type;
    /* awsApiCallAction */
    char *api, *service_name, *error_code, *user_agent;
    char *caller_domain; /* sourceIPAddress when it is a service name, not an IP */
    /* remote end: the caller's IP, the flow's far end, the resolver client */
    char *remote_ip;
    struct finding_geo remote_geo; /* where remote_ip is, when enriched */
    /* instanceDetails and the network side */
    char *instance_id, *eni_id, *vpc_id, *subnet_id, *local_ip;
    int remote_port, local_port; /* -1 when unknown */
    char *protocol;              /* "TCP", "UDP", "ICMP", ... */
    char *direction;             /* "INBOUND", "OUTBOUND", "UNKNOWN" */
    bool blocked;                /* flow REJECT, DNS firewall BLOCK */
    /* dnsRequestAction */
    char *domain;
    /* s3BucketDetails */
    char *bucket_name;
};

struct finding {
    char id[33];           /* 32 lowercase hex digits */
    char detector_id[33];  /* stable per (account, region) */
    char *account, *region, *type, *key;
    enum detect_resource resource;
    double severity;       /* max over the detections */
    uint64_t count;        /* detections folded in (GuardDuty's service.count) */
    uint64_t events;       /* events behind them (a stateful detection stands on many) */
    int64_t first_ms, last_ms;
    /* Representative detection (see above). */
    char *rule_id, *title, *description;
    int64_t rep_ms;
    char *rep_event_id;
    struct finding_detail d;
    /* The earliest detection that named an indicator list, if any. */
    char *threat_list, *indicator;
    int64_t list_ms;
    char *list_event_id;
    /* Noise control (finding_agg_archive) and sample findings. */
    bool archived;     /* service.archived: a suppression rule matched */
    char *archived_by; /* the name of that rule, owned */
    bool sample;       /* service.additionalInfo.sample: made by finding_sample_add */
    /* Evidence: the earliest event ids, sorted by (time, id), no repeats. */
    size_t n_evidence;
    int64_t evidence_ms[FINDING_EVIDENCE_MAX];
    char *evidence[FINDING_EVIDENCE_MAX];
};

/* The id of the finding for (account, region, type, key): 32 hex digits and a
 * NUL in out. Stable across runs, machines and versions. */
void finding_id(struct sv account, struct sv region, struct sv type, struct sv key, char out[33]);

/* "Low", "Medium", "High" or "Critical" for a GuardDuty severity. */
const char *finding_severity_label(double severity);

/* "AWS_API_CALL", "NETWORK_CONNECTION", "DNS_REQUEST", "PORT_PROBE". */
const char *finding_action_name(enum finding_action a);

/* Adds to ps the record paths whose leaves the details of a finding about an
 * event of source src read (resource and action details beyond the event's
 * common fields), so a reader with a path set keeps them:
 *   CloudTrail: requestParameters.bucketName, requestParameters.instanceId,
 *     requestParameters.instancesSet.items.instanceId;
 *   VPC flow: srcaddr, dstaddr, srcport, dstport, protocol, action,
 *     instance-id, interface-id, vpc-id, subnet-id, flow-direction;
 *   DNS: query_name, transport, srcaddr, srcport, srcids.instance, vpc_id,
 *     firewall_rule_action.
 * A detail whose leaf was not flattened is left out of the finding. */
void finding_add_paths(struct json_pathset *ps, enum event_source src);

/* ---- aggregation ---------------------------------------------------------- */

struct finding_agg;

struct finding_agg *finding_agg_new(void);
/* Frees the aggregator and every finding in it. NULL is fine. */
void finding_agg_free(struct finding_agg *agg);

/* Folds d into its finding, creating it on first sight. Copies what it keeps;
 * d and its event may go away on return. A stateful detection (n_events > 0
 * with evidence) brings its own time span and evidence ids; one built without
 * them (n_events == 0) counts as one event at ev's time. */
void finding_agg_add(struct finding_agg *agg, const struct detection *d);

/* Moves every finding of src into dst, folding those with the same id; src is
 * left empty (still to be freed by its owner). The result is the same as if
 * all detections had been added to dst, whatever the order. */
void finding_agg_merge(struct finding_agg *dst, struct finding_agg *src);

size_t finding_agg_count(const struct finding_agg *agg);

/* The finding with this id, or NULL. Borrowed: valid until the aggregator is
 * next changed or freed. */
const struct finding *finding_agg_get(const struct finding_agg *agg, const char *id);

/* All findings in output order: severity descending, then eventFirstSeen,
 * then id. Returns an array the caller frees (the findings stay borrowed as
 * above); *n_out is its length. NULL when empty. */
const struct finding **finding_agg_sorted(const struct finding_agg *agg, size_t *n_out);

/* ---- enrichment ------------------------------------------------------------- */

/* Looks up the remote address of every finding of agg in g and fills
 * d.remote_geo (replacing what was there). Returns how many findings got
 * something. g is borrowed. Call it after aggregation and merging are over. */
size_t finding_agg_enrich(struct finding_agg *agg, const struct geo_db *g);

/* The same for the findings of agg named by ids[0..n_ids) (ids not in agg
 * are skipped): a stream enriches what a burst touched, not every finding
 * so far. */
size_t finding_agg_enrich_ids(struct finding_agg *agg, const struct geo_db *g,
                              const char (*ids)[33], size_t n_ids);

/* ---- suppression rules (GuardDuty filters with action ARCHIVE) --------------- */

/*
 * A set of GuardDuty filters. Each is a FindingCriteria, a map from a finding
 * field (its JSON path in the GuardDuty finding: "type", "severity",
 * "resource.accessKeyDetails.userName",
 * "service.action.awsApiCallAction.remoteIpDetails.ipAddressV4", ...) to a
 * condition: Eq/Equals and Neq/NotEquals (lists of strings), Gt/GreaterThan,
 * Gte/GreaterThanOrEqual, Lt/LessThan, Lte/LessThanOrEqual (numbers;
 * timestamps such as updatedAt compare as epoch milliseconds). Fields are
 * ANDed, values of one Eq are ORed, operators of one field are ANDed, as in
 * GuardDuty. A field inside arrays (networkInterfaces, tags) matches when any
 * element does; Neq holds when no element equals a listed value, including when
 * the field is absent; the other operators need the field.
 *
 * Read-only once loaded; may be shared by threads.
 */
struct finding_filters;

struct finding_filters *finding_filters_new(void);
void finding_filters_free(struct finding_filters *fs);

/*
 * Loads filters from a JSON or YAML file (one or more YAML documents). Each
 * document is one of:
 *   {"Criterion": {...}}                            a FindingCriteria
 *   {"Name": "...", "Action": "ARCHIVE"|"NOOP", "FindingCriteria": {"Criterion": {...}},
 *    "Description": "...", "Rank": n}                GuardDuty's CreateFilter input
 *   [ ...either of the above... ] or {"Filters": [...]}
 * Filters with Action NOOP are saved views, not suppression rules: they are
 * loaded (counted by finding_filters_noop) but never archive anything.
 * All or nothing per file: ERR_FORMAT with "line N: what" (YAML) or the byte
 * offset (JSON) for unknown operators, wrong value types, empty criteria;
 * ERR_LIMIT past GuardDuty's limits (50 fields per filter, 50 values per
 * list) or 1 MiB per file; ERR_IO when unreadable. err->file is set.
 */
int finding_filters_load(struct finding_filters *fs, const char *path, struct err *err);
/* The same from text in memory; name names the filters that have no Name. */
int finding_filters_load_text(struct finding_filters *fs, const char *name, const char *text,
                              size_t len, struct err *err);

/* Suppression rules loaded (Action ARCHIVE). */
size_t finding_filters_count(const struct finding_filters *fs);
/* Saved filters with Action NOOP, loaded and ignored. */
size_t finding_filters_noop(const struct finding_filters *fs);

/* The name of the first suppression rule that matches f, or NULL. Borrowed
 * from fs. */
const char *finding_filters_match(const struct finding_filters *fs, const struct finding *f);

/* Archives (archived = true, archived_by = the rule's name) every finding of
 * agg that a rule of fs matches; returns how many. Findings already archived
 * are re-evaluated. */
size_t finding_agg_archive(struct finding_agg *agg, const struct finding_filters *fs);

/* The same for the findings of agg named by ids[0..n_ids) only. */
size_t finding_agg_archive_ids(struct finding_agg *agg, const struct finding_filters *fs,
                               const char (*ids)[33], size_t n_ids);

/* Removes the archived findings from fs[0..n) in place, keeping the order;
 * returns the new count. */
size_t finding_drop_archived(const struct finding **fs, size_t n);

/* ---- sample findings (GuardDuty's CreateSampleFindings) ---------------------- */

/* What a sample is made from: a finding type as a rule or detector produces it. */
struct finding_sample_spec {
    const char *type;     /* GuardDuty finding type */
    double severity;
    enum detect_resource resource;
    enum event_source source; /* what the detector reads: picks the action */
    const char *rule_id;  /* may be NULL */
    const char *api;      /* CloudTrail: the eventName to show, NULL for a default */
    const char *service;  /* CloudTrail: the eventSource, NULL for a default */
    const char *title;    /* NULL: "<type> on <resource>" */
};

/*
 * Adds one sample finding of spec's type to agg, dated at ms in account and
 * region: realistic placeholder details for its resource and action (an
 * access key and a caller from a documentation address, an instance with its
 * network interface, a bucket, a DNS query, a port probe), remoteIpDetails
 * with a location and organization, "[SAMPLE] " before the title and
 * service.additionalInfo.sample = true, as GuardDuty's CreateSampleFindings
 * marks them. The id is derived from the type, so samples are stable.
 */
void finding_sample_add(struct finding_agg *agg, const struct finding_sample_spec *spec,
                        const char *account, const char *region, int64_t ms);

/* ---- output ----------------------------------------------------------------- */

/* One finding as a GuardDuty finding JSON object, written as the next value of w. */
void finding_to_json(struct json_writer *w, const struct finding *f);

/* {"Findings":[...]} as `aws guardduty get-findings` returns it; indent 0 =
 * compact. Appends to out; ERR_LIMIT when out's cap is hit. */
int finding_write_json(struct buf *out, const struct finding *const *f, size_t n, int indent);

/* One compact finding object per line. */
int finding_write_jsonl(struct buf *out, const struct finding *const *f, size_t n);

/* The same findings in the AWS Security Finding Format (Security Hub's
 * BatchImportFindings input, {"Findings":[...]}), one object per finding. */
void finding_to_asff(struct json_writer *w, const struct finding *f);
int finding_write_asff(struct buf *out, const struct finding *const *f, size_t n, int indent);

/* OCSF 1.1 Detection Finding (class_uid 2004) events, one compact object per
 * line (OCSF has no list envelope). */
void finding_to_ocsf(struct json_writer *w, const struct finding *f);
int finding_write_ocsf(struct buf *out, const struct finding *const *f, size_t n);

struct finding_table_opts {
    bool color;   /* ANSI colours for the severity column (the caller checks isatty) */
    int width;    /* terminal width to fit by shortening titles; 0 = no limit */
};

/* A readable table: severity, type, resource, count, first and last seen, title.
 * Column widths adapt to the content. opts may be NULL. */
int finding_write_table(struct buf *out, const struct finding *const *f, size_t n,
                        const struct finding_table_opts *opts);

/* The resource as one short text, e.g. "AccessKey AKIA... (alice)", "Instance i-0abc",
 * "S3Bucket my-bucket", into out (cap bytes, NUL-terminated). */
void finding_resource_text(const struct finding *f, char *out, size_t cap);

#endif
