/*
 * query: the investigation side of Vigil. For now: CloudWatch Logs filter
 * patterns, the language of metric filters, subscription filters,
 * FilterLogEvents and Live Tail (not the Logs Insights query language).
 * lookup-events and the timeline will live here too.
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

#endif
