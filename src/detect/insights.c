/*
 * CloudTrail Insights records for rate rules with `insight` (detect.h,
 * docs/rules.md "Insights records").
 *
 * The record is the trail format of the CloudTrail User Guide ("CloudTrail
 * record contents for Insights events for trails"): the fields of an ordinary
 * record that apply (eventVersion, eventTime, awsRegion, eventID,
 * recipientAccountId, eventCategory "Insight"), eventType
 * "AwsCloudTrailInsight", sharedEventID joining the Start and End records,
 * and insightDetails with the API, the insight type, the statistics
 * (baseline.average and insight.average in calls per minute, insightDuration
 * and baselineDuration in minutes) and the attributions (top contributors
 * during the insight and over the baseline). Vigil's input reader takes such
 * records back as CloudTrail Insights events.
 */
#include "detect/detect_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void side_free(struct detect_insight_side *s)
{
    for (size_t a = 0; a < s->n_attr; a++) {
        for (size_t i = 0; i < s->attr[a].n_insight; i++)
            free(s->attr[a].insight[i].value);
        for (size_t i = 0; i < s->attr[a].n_baseline; i++)
            free(s->attr[a].baseline[i].value);
    }
    memset(s, 0, sizeof(*s));
}

void detect_insight_free(struct detect_insight *in)
{
    if (!in)
        return;
    side_free(&in->start);
    side_free(&in->end);
    free(in->rule_id);
    free(in);
}

static void side_dup(struct detect_insight_side *dst, const struct detect_insight_side *src)
{
    *dst = *src;
    for (size_t a = 0; a < src->n_attr; a++) {
        for (size_t i = 0; i < src->attr[a].n_insight; i++)
            dst->attr[a].insight[i].value = xstrdup(src->attr[a].insight[i].value);
        for (size_t i = 0; i < src->attr[a].n_baseline; i++)
            dst->attr[a].baseline[i].value = xstrdup(src->attr[a].baseline[i].value);
    }
}

struct detect_insight *detect_insight_dup(const struct detect_insight *in)
{
    if (!in)
        return NULL;
    struct detect_insight *c = xcalloc(1, sizeof(*c));
    *c = *in;
    c->rule_id = in->rule_id ? xstrdup(in->rule_id) : NULL;
    side_dup(&c->start, &in->start);
    side_dup(&c->end, &in->end);
    return c;
}

/* A GUID-shaped id (8-4-4-4-12 hex) from two hashes. */
static void guid(uint64_t a, uint64_t b, char out[37])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t by[16];
    for (int i = 0; i < 8; i++) {
        by[i] = (uint8_t)(a >> (56 - 8 * i));
        by[8 + i] = (uint8_t)(b >> (56 - 8 * i));
    }
    /* Version 4 and the RFC 4122 variant bits, as CloudTrail's ids carry. */
    by[6] = (uint8_t)((by[6] & 0x0f) | 0x40);
    by[8] = (uint8_t)((by[8] & 0x3f) | 0x80);
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[by[i] >> 4];
        out[o++] = hex[by[i] & 15];
    }
    out[o] = '\0';
}

/* Averages with ten significant digits: enough for a baseline of a few
 * calls a week, without the binary noise of 1/60. */
static double tidy(double v)
{
    char b[32];
    snprintf(b, sizeof(b), "%.10g", v);
    return strtod(b, NULL);
}

static void contribs(struct json_writer *w, const struct detect_insight_contrib *c, size_t n)
{
    jw_array_begin(w);
    for (size_t i = 0; i < n; i++) {
        jw_object_begin(w);
        jw_key(w, "value");
        jw_str(w, c[i].value);
        jw_key(w, "average");
        jw_double(w, tidy(c[i].average));
        jw_object_end(w);
    }
    jw_array_end(w);
}

int detect_insight_write(const struct detection *d, bool end, struct buf *out, int64_t *time_ms_out)
{
    const struct detect_insight *in = d->insight;
    const struct event *ev = d->ev;
    if (!in || !ev)
        return ERR_USAGE;
    const struct detect_insight_side *side = end ? &in->end : &in->start;
    /* The insight's identity: rule, what it is about, where and when it began. */
    uint64_t h = hash64(in->rule_id ? in->rule_id : "", in->rule_id ? strlen(in->rule_id) : 0, 17);
    h = hash64_more(h, d->key.p ? d->key.p : "", d->key.len);
    h = hash64_more(h, ev->account.p ? ev->account.p : "", ev->account.len);
    h = hash64_more(h, ev->region.p ? ev->region.p : "", ev->region.len);
    h = hash64_more(h, &in->start_ms, sizeof(in->start_ms));
    char shared[37], id[37], when[32];
    guid(h, hash64(&h, sizeof(h), 0x5348), shared);
    guid(hash64(&h, sizeof(h), end ? 0x454e44 : 0x535452), hash64(&h, sizeof(h), end ? 2 : 1), id);
    int64_t t = end ? in->end_ms : in->start_ms;
    time_format_iso8601(t, false, when);
    if (time_ms_out)
        *time_ms_out = t;

    struct json_writer w;
    jw_init(&w, out, 0);
    jw_object_begin(&w);
    jw_key(&w, "eventVersion");
    jw_str(&w, "1.08");
    jw_key(&w, "eventTime");
    jw_str(&w, when);
    jw_key(&w, "awsRegion");
    jw_str_sv(&w, ev->region);
    jw_key(&w, "eventID");
    jw_str(&w, id);
    jw_key(&w, "eventType");
    jw_str(&w, "AwsCloudTrailInsight");
    jw_key(&w, "recipientAccountId");
    jw_str_sv(&w, ev->account);
    jw_key(&w, "sharedEventID");
    jw_str(&w, shared);
    jw_key(&w, "insightDetails");
    jw_object_begin(&w);
    jw_key(&w, "state");
    jw_str(&w, end ? "End" : "Start");
    jw_key(&w, "eventSource");
    jw_str_sv(&w, ev->event_source);
    jw_key(&w, "eventName");
    jw_str_sv(&w, ev->event_name);
    jw_key(&w, "insightType");
    jw_str(&w, in->type == DETECT_INSIGHT_ERROR_RATE ? "ApiErrorRateInsight" : "ApiCallRateInsight");
    if (in->type == DETECT_INSIGHT_ERROR_RATE) {
        jw_key(&w, "errorCode");
        jw_str_sv(&w, ev->error_code);
    }
    jw_key(&w, "insightContext");
    jw_object_begin(&w);
    jw_key(&w, "statistics");
    jw_object_begin(&w);
    jw_key(&w, "baseline");
    jw_object_begin(&w);
    jw_key(&w, "average");
    jw_double(&w, tidy(in->baseline_average));
    jw_object_end(&w);
    jw_key(&w, "insight");
    jw_object_begin(&w);
    jw_key(&w, "average");
    jw_double(&w, tidy(side->insight_average));
    jw_object_end(&w);
    jw_key(&w, "insightDuration");
    jw_int(&w, in->insight_duration_min);
    jw_key(&w, "baselineDuration");
    jw_int(&w, in->baseline_duration_min);
    jw_object_end(&w);
    jw_key(&w, "attributions");
    jw_array_begin(&w);
    for (size_t a = 0; a < side->n_attr; a++) {
        const struct detect_insight_attr *at = &side->attr[a];
        jw_object_begin(&w);
        jw_key(&w, "attribute");
        jw_str(&w, at->attribute);
        jw_key(&w, "insight");
        contribs(&w, at->insight, at->n_insight);
        jw_key(&w, "baseline");
        contribs(&w, at->baseline, at->n_baseline);
        jw_object_end(&w);
    }
    jw_array_end(&w);
    jw_object_end(&w); /* insightContext */
    jw_object_end(&w); /* insightDetails */
    jw_key(&w, "eventCategory");
    jw_str(&w, "Insight");
    jw_object_end(&w);
    return w.rc;
}

/* ---- bucket attributions (rattr) ------------------------------------------------ */

static uint64_t val_hash(struct sv s)
{
    uint64_t h = hash64(s.p ? s.p : "", s.len, 0x617474);
    return h ? h : 1;
}

/* Inserts (h, s, n) into attribute a, keeping the RATTR_K smallest hashes;
 * takes s (freed when not kept). */
static void put(struct rattr *t, int a, uint64_t h, char *s, uint64_t n)
{
    struct rattr_val *v = t->v[a];
    size_t lo = 0, hi = t->n[a];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v[mid].h < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < t->n[a] && v[lo].h == h) {
        v[lo].n += n;
        free(s);
        return;
    }
    if (lo >= RATTR_K) {
        free(s);
        return;
    }
    if (t->n[a] == RATTR_K) {
        free(v[RATTR_K - 1].s); /* the largest hash leaves the sample */
        t->n[a]--;
    }
    if (t->n[a] == t->cap[a]) {
        t->cap[a] = (uint8_t)(t->cap[a] ? 2 * t->cap[a] : 2);
        t->v[a] = v = xrealloc(v, t->cap[a] * sizeof(*v));
    }
    memmove(&v[lo + 1], &v[lo], (t->n[a] - lo) * sizeof(*v));
    v[lo] = (struct rattr_val){ h, s, n };
    t->n[a]++;
}

void detect__rattr_add(struct rattr **t, int a, struct sv s, uint64_t n)
{
    if (s.len == 0)
        s = SV("null");
    if (s.len > RATTR_TEXT_MAX)
        s.len = RATTR_TEXT_MAX;
    if (!*t)
        *t = xcalloc(1, sizeof(**t));
    uint64_t h = val_hash(s);
    struct rattr *r = *t;
    /* Skip the copy when the value cannot enter a full sample. */
    if (r->n[a] == RATTR_K && h > r->v[a][RATTR_K - 1].h)
        return;
    put(r, a, h, xstrndup(s.p, s.len), n);
}

void detect__rattr_add_event(struct rattr **t, const struct event *ev)
{
    detect__rattr_add(t, RATTR_ARN, ev->principal_arn, 1);
    detect__rattr_add(t, RATTR_UA, ev->user_agent, 1);
    detect__rattr_add(t, RATTR_ERR, ev->error_code, 1);
}

void detect__rattr_free(struct rattr *t)
{
    if (!t)
        return;
    for (int a = 0; a < RATTR_N; a++) {
        for (size_t i = 0; i < t->n[a]; i++)
            free(t->v[a][i].s);
        free(t->v[a]);
    }
    free(t);
}

void detect__rattr_merge(struct rattr **dst, struct rattr *src)
{
    if (!src)
        return;
    if (!*dst) {
        *dst = src;
        return;
    }
    for (int a = 0; a < RATTR_N; a++) {
        for (size_t i = 0; i < src->n[a]; i++)
            put(*dst, a, src->v[a][i].h, src->v[a][i].s, src->v[a][i].n);
        src->n[a] = 0;
    }
    detect__rattr_free(src);
}

size_t detect__rattr_bytes(const struct rattr *t)
{
    if (!t)
        return 0;
    size_t b = sizeof(*t);
    for (int a = 0; a < RATTR_N; a++) {
        b += t->cap[a] * sizeof(struct rattr_val);
        for (size_t i = 0; i < t->n[a]; i++)
            b += strlen(t->v[a][i].s) + 1;
    }
    return b;
}
