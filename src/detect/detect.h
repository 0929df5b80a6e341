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

/* One loaded rule, read-only. Every string is owned by the rule set and lives
 * as long as it. */
struct detect_rule {
    const char *id;          /* unique within the set: [A-Za-z0-9._-]+ */
    const char *type;        /* GuardDuty finding type, e.g. "Stealth:IAMUser/CloudTrailLoggingDisabled" */
    double severity;         /* 1.0 - 8.9 */
    const char *title;       /* template text as written, with {{path}} placeholders */
    const char *description; /* template text; the title when the file gives none */
    enum event_source source;
    const char *pattern;     /* the EventBridge pattern as compact JSON text */
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

struct detect_options {
    const struct detect_lists *lists; /* may be NULL; borrowed, must outlive the engine */
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
};

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

/* Per-thread working memory; reused across events. */
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

#endif
