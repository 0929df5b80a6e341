/*
 * live: detection over a record stream that never ends (vigil detect on a
 * pipe or on NATS JetStream). Stateless findings come out with the record
 * that raised them; stateful kinds run behind a watermark (detect_stream:
 * the latest event time seen minus the allowed lateness) and their findings
 * come out when the watermark passes their events; the end of the stream
 * flushes the rest.
 *
 * Output is by bursts: the caller feeds the records it has (live_event), then
 * calls live_emit, which writes every finding that is new or grew since the
 * last emit, one JSON line each (GuardDuty JSON, or OCSF), flushed, and sends
 * it through the bus and the publish callback. So a finding appears as soon as
 * the record completing it has been read, and a burst of records updating the
 * same finding gives one line, not one per record.
 *
 * Memory: the stream's held candidates and state (bounded by the kinds' caps)
 * and one aggregate per distinct finding seen; no record is kept.
 * A live belongs to one thread. Private to src/cli.
 */
#ifndef VIGIL_CLI_LIVE_H
#define VIGIL_CLI_LIVE_H

#include "core/core.h"
#include "event/event.h"

#include <stdio.h>

struct detect_engine;
struct geo_db;
struct finding_filters;
struct finding;
struct bus;

/* Called once per finding the first time this live emits it, with its
 * GuardDuty JSON (compact, no newline). Returns 0 or an enum err_code (err
 * filled); a failure is reported by live_emit. */
typedef int (*live_publish_fn)(void *ctx, const struct finding *f, const char *json, size_t len,
                               struct err *err);

struct live_opts {
    const char *cmd;                       /* "detect": messages start with "vigil <cmd>: " */
    const struct detect_engine *engine;    /* built with detect_options.input == NULL */
    int64_t lateness_ms;
    int64_t idle_ms;                       /* silence after which the stream is caught up; 0 = never */
    const struct geo_db *geo;              /* may be NULL */
    const struct finding_filters *filters; /* may be NULL */
    bool show_archived;
    bool ocsf;                             /* OCSF lines instead of GuardDuty JSON */
    FILE *out;                             /* where the lines go; NULL = nowhere */
    struct bus *bus;                       /* --bus, or NULL */
    live_publish_fn publish;               /* NULL = none */
    void *publish_ctx;
};

struct live;

/* Everything in o is borrowed and must outlive the live. */
struct live *live_new(const struct live_opts *o);
void live_free(struct live *l); /* NULL is fine */

/* Detects on one record (and puts it on the bus). ev is borrowed for the call. */
void live_event(struct live *l, const struct event *ev);

/* Writes, routes and publishes the findings that are new or grew since the
 * last call. 0, or 1 when some publication or bus put failed (reported on
 * stderr; the caller should not acknowledge its input), 2 when the output
 * cannot be written. */
int live_emit(struct live *l);

/* Called by the reading loop whenever it has waited (a poll or a fetch timed
 * out) with a monotonic clock in ms. When no record has arrived for
 * o->idle_ms, the stream is taken as caught up: the watermark moves just past
 * the latest event time seen, so the stateful findings held back for
 * lateness come out without waiting for more traffic (a record older than
 * that arriving later is late, as any record behind the watermark). Then
 * emits, returning live_emit's status; 0 when there was nothing to do. */
int live_idle(struct live *l, int64_t now_ms);

/* End of the stream: runs every held candidate, closes all state and emits. */
int live_finish(struct live *l);

/* Records seen, findings emitted (distinct) and stateful figures. */
void live_counts(const struct live *l, uint64_t *records, size_t *findings, uint64_t *late);

#endif
