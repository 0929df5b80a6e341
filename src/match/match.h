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

#endif
