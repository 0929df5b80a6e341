/*
 * match: EventBridge event patterns, compiled together into one automaton.
 *
 * The pattern language is EventBridge's, with aws/event-ruler as the oracle:
 * exact values, prefix, suffix, equals-ignore-case, anything-but (values,
 * prefix, suffix, wildcard, equals-ignore-case), numeric ranges, exists,
 * cidr, wildcard, $or, nested objects, and same-array-element consistency.
 * Every pattern added to a set is matched in one visit of the event's leaves,
 * so cost grows with the event's size, not with the number of patterns.
 *
 * A built set is immutable and may be shared by threads; each thread brings
 * its own match_scratch.
 */
#ifndef VIGIL_MATCH_H
#define VIGIL_MATCH_H

#include "core/core.h"
#include "json/json.h"

struct match_set;
struct match_scratch;

struct match_set *match_set_new(void);
void match_set_free(struct match_set *ms);

/* Compiles the pattern text and adds it under id (ids need not be dense; the
 * same id may be added more than once, meaning "either"). An invalid pattern
 * returns ERR_USAGE with event-ruler's message and the line/column it points
 * at (err->offset is the byte offset); a pattern past a cap (1 MiB of text,
 * 1,000 $or combinations) returns ERR_LIMIT. Either way the set is left as it
 * was. Must not be called after match_set_build (ERR_USAGE). The text is not
 * kept: the compiled form is copied into the set. */
int match_set_add(struct match_set *ms, const char *pattern, size_t len, uint32_t id,
                  struct err *err);

/* Freezes the set; required before matching. */
void match_set_build(struct match_set *ms);

/* Adds to ps every event path some pattern reads, so the scanner can skip
 * the rest. */
void match_set_paths(const struct match_set *ms, struct json_pathset *ps);

struct match_scratch *match_scratch_new(void);
void match_scratch_free(struct match_scratch *s);

/* Matches one flattened event. Returns the number of matching ids and points
 * *ids_out at them (ascending, each once), valid until the next call with the
 * same scratch. The event's leaves must come from json_flatten (values are
 * read in place, and the byte before an array element's value tells whether
 * it is a direct element). Returns 0 on a set not yet built. */
size_t match_event(const struct match_set *ms, const struct json_flat *ev,
                   struct match_scratch *s, const uint32_t **ids_out);

/* One pattern against one event, as `aws events test-event-pattern` does.
 * Returns ERR_USAGE (or ERR_LIMIT) for an invalid pattern, ERR_FORMAT for an
 * event that is not a JSON object. */
int match_test(const char *pattern, size_t plen, const char *event, size_t elen, bool *result,
               struct err *err);

/* ---- input transformers and input paths (EventBridge targets) -------------- */

/* InputPathsMap holds at most this many variables; InputTemplate this many bytes. */
#define MATCH_XFORM_MAX_VARS 100
#define MATCH_XFORM_MAX_TEMPLATE 8192

struct match_xform;

/*
 * Compiles an InputTransformer: paths_map is InputPathsMap as JSON object text
 * (NULL or empty for none), tmpl the InputTemplate. Validates what EventBridge
 * validates at PutTargets: keys of [A-Za-z0-9_-]{1,256}, at most 100 of them,
 * values JSON paths ($, .name, [n], [*], .*), every <placeholder> a key, a
 * predefined variable (aws.events.rule-name, .rule-arn, .event,
 * .event.json, .event.ingestion-time; the aws.pipes.* ones) or an inline
 * path (<$.detail.x>, as EventBridge Pipes writes it); aws.events.event and
 * aws.events.event.json only as the value of a JSON field. A '<' that does not
 * open a well-formed name is text. Returns ERR_USAGE / ERR_LIMIT with the
 * reason; *out is then NULL. The result is immutable and may be shared by
 * threads; free it with match_xform_free (NULL is fine).
 */
int match_xform_new(const char *paths_map, size_t map_len, const char *tmpl, size_t tmpl_len,
                    struct match_xform **out, struct err *err);
void match_xform_free(struct match_xform *x);
size_t match_xform_var_count(const struct match_xform *x);

/* Values of the predefined string variables for one delivery, by full name
 * ("aws.events.rule-name", "aws.events.rule-arn",
 * "aws.events.event.ingestion-time", "aws.pipes.pipe-arn", ...). A name
 * without a value renders like an unresolved path. Borrowed. */
struct match_xform_vars {
    const char *const *names;
    const char *const *values;
    size_t n;
};

/*
 * Renders the template for one event (JSON text, elen bytes) and appends it
 * to out (an uncapped buf; the result is capped at 1 MiB -> ERR_LIMIT).
 * Quoting follows EventBridge: in a JSON template (first non-blank character
 * '{' or '['), a placeholder outside string literals becomes a JSON value (a
 * string is quoted and escaped; unresolved -> null); inside a string literal
 * and in any other template the value goes in raw, not escaped (unresolved
 * -> nothing). A wildcard path gives a JSON array. ERR_FORMAT when the event
 * is not JSON. Thread-safe on a shared x.
 */
int match_xform_apply(const struct match_xform *x, const char *event, size_t elen,
                      const struct match_xform_vars *vars, struct buf *out, struct err *err);

/* Checks a Target.InputPath ("$.detail"); ERR_USAGE when malformed. */
int match_path_check(const char *path, size_t len, struct err *err);

/* Appends to out the JSON text at path in event (InputPath semantics): "$"
 * is the event as given, a wildcard path an array of the matches. *found is
 * false (and nothing is appended) when the path does not resolve. */
int match_path_extract(const char *path, size_t plen, const char *event, size_t elen,
                       struct buf *out, bool *found, struct err *err);

#endif
