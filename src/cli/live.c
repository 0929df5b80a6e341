/*
 * live: the stream runner behind `vigil detect -` on a pipe and
 * `vigil detect --nats` (live.h).
 */
#include "cli/live.h"

#include "bus/bus.h"
#include "detect/detect.h"
#include "finding/finding.h"
#include "json/json.h"

#include <stdlib.h>
#include <string.h>

struct live {
    struct live_opts o;
    struct detect_stream *ds;
    struct finding_agg *total; /* every finding so far */
    struct finding_agg *burst; /* detections since the last emit */
    struct bus_worker *bw;
    struct buf bev, line;
    uint64_t records;
    size_t emitted;
    int64_t max_ms;         /* latest event time seen */
    uint64_t idle_records;  /* records as of idle_since */
    int64_t idle_since;     /* monotonic ms when records last changed, as live_idle saw it */
    bool caught_up;         /* the watermark is past max_ms already */
};

struct live *live_new(const struct live_opts *o)
{
    struct live *l = xcalloc(1, sizeof(*l));
    l->o = *o;
    l->ds = detect_stream_new(o->engine, o->lateness_ms);
    l->total = finding_agg_new();
    l->burst = finding_agg_new();
    l->bw = o->bus ? bus_worker_new(o->bus) : NULL;
    buf_init(&l->bev, 0);
    buf_init(&l->line, 0);
    return l;
}

void live_free(struct live *l)
{
    if (!l)
        return;
    detect_stream_free(l->ds);
    finding_agg_free(l->total);
    finding_agg_free(l->burst);
    bus_worker_free(l->bw);
    buf_free(&l->bev);
    buf_free(&l->line);
    free(l);
}

static void on_detection(void *ctx, const struct detection *d)
{
    finding_agg_add(ctx, d);
}

void live_event(struct live *l, const struct event *ev)
{
    if (l->records == 0 || ev->time_ms > l->max_ms) {
        l->max_ms = ev->time_ms;
        l->caught_up = false;
    }
    l->records++;
    detect_stream_event(l->ds, ev, on_detection, l->burst);
    if (!l->bw)
        return;
    struct err e;
    err_clear(&e);
    buf_reset(&l->bev);
    if (bus_envelope_event(ev, &l->bev, &e) == 0 && bus_put(l->bw, l->bev.p, l->bev.len, &e) >= 0)
        return;
    err_where(&e, ev->file, ev->record_no, 0);
    char msg[1200];
    err_format(&e, msg, sizeof(msg));
    fprintf(stderr, "vigil %s: bus: %s\n", l->o.cmd, msg);
}

int live_emit(struct live *l)
{
    size_t n = finding_agg_count(l->burst);
    const struct finding **fs = n ? finding_agg_sorted(l->burst, &n) : NULL;
    /* Ids and counts before the merge: the burst's finding objects move into
     * the total, whose own objects are what gets written. */
    char(*ids)[33] = xcalloc(n ? n : 1, sizeof(*ids));
    uint64_t *before = xcalloc(n ? n : 1, sizeof(*before));
    for (size_t i = 0; i < n; i++) {
        memcpy(ids[i], fs[i]->id, 33);
        const struct finding *old = finding_agg_get(l->total, fs[i]->id);
        before[i] = old ? old->count : 0;
    }
    free(fs);
    if (n > 0) {
        finding_agg_merge(l->total, l->burst);
        /* Only what this burst touched: a finding's address and count
         * change only when it grows. */
        if (l->o.geo)
            finding_agg_enrich_ids(l->total, l->o.geo, (const char(*)[33])ids, n);
        if (l->o.filters)
            finding_agg_archive_ids(l->total, l->o.filters, (const char(*)[33])ids, n);
    }
    int status = 0;
    for (size_t i = 0; i < n; i++) {
        const struct finding *f = finding_agg_get(l->total, ids[i]);
        if (!f || f->count == before[i])
            continue;
        if (f->archived && !l->o.show_archived)
            continue;
        if (before[i] == 0)
            l->emitted++;
        struct err e;
        err_clear(&e);
        buf_reset(&l->line);
        if (l->o.publish && before[i] == 0) {
            /* The GuardDuty JSON, compact: what subscribers of the subject get. */
            finding_write_jsonl(&l->line, &f, 1);
            size_t len = l->line.len > 0 ? l->line.len - 1 : 0; /* without the newline */
            if (l->o.publish(l->o.publish_ctx, f, l->line.p, len, &e) != 0) {
                fprintf(stderr, "vigil %s: publishing finding %s: %s\n", l->o.cmd, f->id, e.msg);
                status = 1;
            }
            buf_reset(&l->line);
        }
        if (l->bw) {
            buf_reset(&l->bev);
            bus_envelope_finding(f, &l->bev);
            err_clear(&e);
            if (bus_put(l->bw, l->bev.p, l->bev.len, &e) < 0) {
                fprintf(stderr, "vigil %s: bus: finding %s: %s\n", l->o.cmd, f->id, e.msg);
                status = 1;
            }
        }
        if (l->o.out) {
            if (l->o.ocsf)
                finding_write_ocsf(&l->line, &f, 1);
            else
                finding_write_jsonl(&l->line, &f, 1);
            /* One line per finding, flushed: a reader of the pipe sees it now. */
            if (fwrite(l->line.p, 1, l->line.len, l->o.out) != l->line.len ||
                fflush(l->o.out) != 0)
                status = 2;
        }
    }
    if (l->bw) {
        struct err e;
        err_clear(&e);
        if (bus_worker_flush(l->bw, &e) != 0) {
            fprintf(stderr, "vigil %s: bus: %s\n", l->o.cmd, e.msg);
            if (status == 0)
                status = 1;
        }
    }
    free(ids);
    free(before);
    return status;
}

int live_idle(struct live *l, int64_t now_ms)
{
    if (l->records != l->idle_records) {
        l->idle_records = l->records;
        l->idle_since = now_ms;
        return 0;
    }
    if (l->o.idle_ms <= 0 || l->records == 0 || l->caught_up ||
        now_ms - l->idle_since < l->o.idle_ms)
        return 0;
    /* detect_stream_advance subtracts the lateness: what is held is every
     * candidate with a time up to max_ms. */
    l->caught_up = true;
    if (l->max_ms >= INT64_MAX - l->o.lateness_ms)
        return 0;
    detect_stream_advance(l->ds, l->max_ms + 1 + l->o.lateness_ms, on_detection, l->burst);
    return live_emit(l);
}

int live_finish(struct live *l)
{
    detect_stream_flush(l->ds, on_detection, l->burst);
    return live_emit(l);
}

void live_counts(const struct live *l, uint64_t *records, size_t *findings, uint64_t *late)
{
    struct detect_state_stats st;
    detect_stream_stats(l->ds, &st);
    *records = l->records;
    *findings = l->emitted;
    *late = st.late;
}
