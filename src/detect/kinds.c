/*
 * The stateful detector kinds: ordered-input state machines, one per rule
 * unit (state.c feeds them). Every kind sees its items in (time, event id)
 * order and nothing else: whether the items came from an archive sorted at
 * the end or from a stream behind a watermark, the same items give the same
 * detections.
 *
 *   threshold  per key, the events of the last `window` (a ring of at most
 *              RING_MAX entries; when full the two oldest merge, so totals stay
 *              exact and only their expiry coarsens); fires when the count (or
 *              the sum) reaches the threshold, then starts over.
 *   distinct   per key, the distinct values seen within `window`, each with
 *              the time it was last seen; fires at `threshold` values, then
 *              starts over. At most threshold values are held per key.
 *   sequence   per key, how far the steps got since the first step and when
 *              that was; a step past `window` from the first starts over.
 *   new_value  per key, the first time the key was seen and the set of values
 *              (and `unusual` values) seen; fires on a value never seen once
 *              the key has `learning` of history. Sets are capped (VALUES_MAX,
 *              UNUSUAL_VALUES_MAX): past the cap nothing counts as new.
 *   rate       per key, a ring of baseline slots (sum and sum of squares of
 *              bucket values) covering `baseline`; a bucket is anomalous when
 *              it reaches the floor and lies `sigma` standard deviations above
 *              the mean (the deviation at least the Poisson one, sqrt(mean)).
 *              Anomalous buckets stay out of the baseline; `quiet` normal
 *              buckets in a row end the anomaly, which is then emitted with
 *              its start, end and totals (CloudTrail Insights' start/end pair).
 *
 * Keys idle longer than their window (threshold, distinct, sequence) or their
 * baseline (rate) are dropped by a sweep that runs at most once per window of
 * event time, so memory follows the number of keys active in a window.
 */
#include "detect/detect_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RING_MAX 1024
#define VALUES_MAX 4096
#define UNUSUAL_VALUES_MAX 1024
#define ID_MAX 48
#define KEYS_MAX (4u << 20)
#define SLOTS_MAX 168
#define VALUE_TEXT_MAX 64

/* ---- a u64-keyed map with deletion ------------------------------------------------ */

struct kslot {
    uint64_t k; /* 0 = empty */
    void *v;
};

struct kmap {
    struct kslot *s;
    size_t cap, n;
};

static uint64_t nz(uint64_t h) { return h ? h : 0x9e3779b97f4a7c15ULL; }

static void *km_get(const struct kmap *m, uint64_t k)
{
    if (m->n == 0)
        return NULL;
    k = nz(k);
    size_t i = (size_t)(k * 0x9e3779b97f4a7c15ULL >> 20) & (m->cap - 1);
    while (m->s[i].k) {
        if (m->s[i].k == k)
            return m->s[i].v;
        i = (i + 1) & (m->cap - 1);
    }
    return NULL;
}

static void km_put_raw(struct kslot *s, size_t cap, uint64_t k, void *v)
{
    size_t i = (size_t)(k * 0x9e3779b97f4a7c15ULL >> 20) & (cap - 1);
    while (s[i].k && s[i].k != k)
        i = (i + 1) & (cap - 1);
    s[i].k = k;
    s[i].v = v;
}

static void km_put(struct kmap *m, uint64_t k, void *v)
{
    k = nz(k);
    if (2 * (m->n + 1) > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        struct kslot *s = xcalloc(cap, sizeof(*s));
        for (size_t i = 0; i < m->cap; i++)
            if (m->s[i].k)
                km_put_raw(s, cap, m->s[i].k, m->s[i].v);
        free(m->s);
        m->s = s;
        m->cap = cap;
    }
    m->n++;
    km_put_raw(m->s, m->cap, k, v);
}

/* Backward-shift deletion keeps probe chains intact without tombstones. */
static void km_del(struct kmap *m, uint64_t k)
{
    k = nz(k);
    size_t mask = m->cap - 1;
    size_t i = (size_t)(k * 0x9e3779b97f4a7c15ULL >> 20) & mask;
    while (m->s[i].k && m->s[i].k != k)
        i = (i + 1) & mask;
    if (!m->s[i].k)
        return;
    m->n--;
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!m->s[j].k)
            break;
        size_t h = (size_t)(m->s[j].k * 0x9e3779b97f4a7c15ULL >> 20) & mask;
        /* Move j back to i unless its home lies cyclically in (i, j]. */
        bool in = i <= j ? (h > i && h <= j) : (h > i || h <= j);
        if (!in) {
            m->s[i] = m->s[j];
            i = j;
        }
    }
    m->s[i].k = 0;
    m->s[i].v = NULL;
}

static void km_free(struct kmap *m)
{
    free(m->s);
    m->s = NULL;
    m->cap = m->n = 0;
}

/* ---- shared ----------------------------------------------------------------------- */

struct evrec {
    int64_t ms;
    char id[ID_MAX];
};

static void evrec_set(struct evrec *r, int64_t ms, struct sv id)
{
    r->ms = ms;
    size_t n = id.len < ID_MAX - 1 ? id.len : ID_MAX - 1;
    if (n)
        memcpy(r->id, id.p, n);
    r->id[n] = '\0';
}

static struct sv item_id(const struct sitem *it) { return detect__snap_id(it->sn); }

struct kstate {
    const struct sunit *u;
    enum detect_kind kind;
    struct kmap keys;
    int64_t last_sweep;
    int64_t sweep_every;
    uint64_t dropped_keys; /* keys refused past KEYS_MAX */
};

/* The rule that speaks for a unit of one rule. */
static const struct srule *rule0(const struct kstate *k) { return k->u->rules[0]; }

static struct detect_evidence *to_evidence(const struct evrec *r, size_t n, size_t skip_to_max)
{
    (void)skip_to_max;
    struct detect_evidence *e = xcalloc(n ? n : 1, sizeof(*e));
    for (size_t i = 0; i < n; i++) {
        e[i].ms = r[i].ms;
        e[i].id = sv_cstr(r[i].id);
    }
    return e;
}

/* ---- threshold ------------------------------------------------------------------- */

struct tentry {
    double num;
    uint64_t n;
    struct evrec ev;
};

struct tkey {
    char *key;
    struct tentry *ring;
    size_t head, len, cap;
    double total;
    uint64_t events;
    int64_t last_ms;
};

static struct tentry *tk_at(struct tkey *t, size_t i) { return &t->ring[(t->head + i) % t->cap]; }

static void tk_pop(struct tkey *t)
{
    struct tentry *e = tk_at(t, 0);
    t->total -= e->num;
    t->events -= e->n;
    t->head = (t->head + 1) % t->cap;
    t->len--;
}

static void tk_push(struct tkey *t, double num, uint64_t n, int64_t ms, struct sv id)
{
    if (t->len == t->cap && t->cap < RING_MAX) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        struct tentry *r = xcalloc(cap, sizeof(*r));
        for (size_t i = 0; i < t->len; i++)
            r[i] = *tk_at(t, i);
        free(t->ring);
        t->ring = r;
        t->head = 0;
        t->cap = cap;
    }
    if (t->len == t->cap) {
        /* Full: fold the oldest into the next one, keeping the older time. */
        struct tentry *a = tk_at(t, 0), *b = tk_at(t, 1);
        b->num += a->num;
        b->n += a->n;
        b->ev = a->ev;
        t->head = (t->head + 1) % t->cap;
        t->len--;
    }
    struct tentry *e = &t->ring[(t->head + t->len) % t->cap];
    e->num = num;
    e->n = n;
    evrec_set(&e->ev, ms, id);
    t->len++;
    t->total += num;
    t->events += n;
}

static void tk_free(struct tkey *t)
{
    free(t->key);
    free(t->ring);
    free(t);
}

static void threshold_feed(struct kstate *k, const struct sitem *it, struct semit *em)
{
    const struct srule *sr = rule0(k);
    const struct detect_rule *r = sr->r;
    struct tkey *t = km_get(&k->keys, it->khash);
    if (!t) {
        if (k->keys.n >= KEYS_MAX) {
            k->dropped_keys++;
            return;
        }
        t = xcalloc(1, sizeof(*t));
        t->key = xstrdup(it->key ? it->key : "");
        km_put(&k->keys, it->khash, t);
    }
    while (t->len > 0 && tk_at(t, 0)->ev.ms <= it->ms - r->window_ms)
        tk_pop(t);
    tk_push(t, it->num, it->n ? it->n : 1, it->ms, item_id(it));
    t->last_ms = it->ms;
    if (t->total + 1e-9 < r->threshold)
        return;
    struct evrec *recs = xcalloc(t->len, sizeof(*recs));
    for (size_t i = 0; i < t->len; i++)
        recs[i] = tk_at(t, i)->ev;
    struct detect_evidence *ev = to_evidence(recs, t->len, 0);
    struct svars v = { .it = it, .key = t->key, .count = t->events, .sum = t->total,
                       .window_ms = r->window_ms, .first_ms = recs[0].ms, .last_ms = it->ms,
                       .evidence = ev, .n_evidence = t->len };
    detect__semit(em, sr, &v);
    free(ev);
    free(recs);
    while (t->len)
        tk_pop(t);
    t->total = 0;
    t->events = 0;
}

/* ---- distinct ----------------------------------------------------------------------- */

struct dentry {
    uint64_t vhash;
    int64_t last_ms;
    struct evrec first; /* the event that brought the value into the window */
    char val[VALUE_TEXT_MAX];
};

struct dkey {
    char *key;
    struct dentry *v;
    size_t n, cap;
    uint64_t events;
    int64_t last_ms;
};

static void dk_free(struct dkey *d)
{
    free(d->key);
    free(d->v);
    free(d);
}

static int cmp_dentry(const void *a, const void *b)
{
    const struct dentry *x = a, *y = b;
    return detect__cmp_at(x->first.ms, sv_cstr(x->first.id), y->first.ms, sv_cstr(y->first.id));
}

static void distinct_feed(struct kstate *k, const struct sitem *it, struct semit *em)
{
    const struct srule *sr = rule0(k);
    const struct detect_rule *r = sr->r;
    struct dkey *d = km_get(&k->keys, it->khash);
    if (!d) {
        if (k->keys.n >= KEYS_MAX) {
            k->dropped_keys++;
            return;
        }
        d = xcalloc(1, sizeof(*d));
        d->key = xstrdup(it->key ? it->key : "");
        km_put(&k->keys, it->khash, d);
    }
    /* Values not seen within the window leave it. */
    size_t w = 0;
    for (size_t i = 0; i < d->n; i++)
        if (d->v[i].last_ms > it->ms - r->window_ms)
            d->v[w++] = d->v[i];
    d->n = w;
    if (d->n == 0)
        d->events = 0;
    d->events += it->n ? it->n : 1;
    d->last_ms = it->ms;
    for (size_t i = 0; i < d->n; i++)
        if (d->v[i].vhash == it->vhash) {
            d->v[i].last_ms = it->ms;
            return;
        }
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 8;
        d->v = xrealloc(d->v, d->cap * sizeof(*d->v));
    }
    struct dentry *e = &d->v[d->n++];
    memset(e, 0, sizeof(*e));
    e->vhash = it->vhash;
    e->last_ms = it->ms;
    evrec_set(&e->first, it->ms, item_id(it));
    size_t vl = it->val ? strlen(it->val) : 0;
    if (vl >= VALUE_TEXT_MAX)
        vl = VALUE_TEXT_MAX - 1;
    if (vl)
        memcpy(e->val, it->val, vl);
    e->val[vl] = '\0';
    if ((double)d->n < r->threshold)
        return;
    qsort(d->v, d->n, sizeof(*d->v), cmp_dentry);
    struct evrec *recs = xcalloc(d->n, sizeof(*recs));
    struct buf vals;
    buf_init(&vals, 1024);
    /* The values' text is capped (the buffer's 1 KiB); the evidence is not:
     * every value's first event goes in whatever the text holds. */
    bool full = false;
    for (size_t i = 0; i < d->n; i++) {
        recs[i] = d->v[i].first;
        if (i < 20 && !full) {
            full = (i && buf_append(&vals, ", ", 2) != 0) ||
                   buf_append_cstr(&vals, d->v[i].val) != 0;
        } else if (i == 20 && !full) {
            buf_printf(&vals, " and %zu more", d->n - 20);
        }
    }
    struct detect_evidence *ev = to_evidence(recs, d->n, 0);
    struct svars v = { .it = it, .key = d->key, .value = vals.p ? vals.p : "",
                       .count = d->events, .sum = (double)d->n, .window_ms = r->window_ms,
                       .first_ms = recs[0].ms, .last_ms = it->ms, .evidence = ev,
                       .n_evidence = d->n };
    detect__semit(em, sr, &v);
    free(ev);
    free(recs);
    buf_free(&vals);
    d->n = 0;
    d->events = 0;
}

/* ---- sequence ---------------------------------------------------------------------- */

#define STEPS_MAX 8

struct qkey {
    char *key;
    unsigned step; /* steps done; 0 = idle */
    int64_t start_ms, last_ms;
    struct evrec ev[STEPS_MAX];
};

static void sequence_feed(struct kstate *k, const struct sitem *it, struct semit *em)
{
    const struct srule *sr = rule0(k);
    const struct detect_rule *r = sr->r;
    unsigned steps = 1 + (unsigned)r->n_then;
    struct qkey *q = km_get(&k->keys, it->khash);
    if (!q) {
        if (!(it->mask & 1u))
            return; /* a later step with nothing started: no state to keep */
        if (k->keys.n >= KEYS_MAX) {
            k->dropped_keys++;
            return;
        }
        q = xcalloc(1, sizeof(*q));
        q->key = xstrdup(it->key ? it->key : "");
        km_put(&k->keys, it->khash, q);
    }
    q->last_ms = it->ms;
    if (q->step > 0 && it->ms - q->start_ms > r->window_ms)
        q->step = 0;
    if (q->step > 0 && (it->mask & (1u << q->step))) {
        evrec_set(&q->ev[q->step], it->ms, item_id(it));
        q->step++;
        if (q->step == steps) {
            struct detect_evidence *ev = to_evidence(q->ev, steps, 0);
            struct svars v = { .it = it, .key = q->key, .count = steps, .sum = steps,
                               .window_ms = r->window_ms, .first_ms = q->start_ms,
                               .last_ms = it->ms, .evidence = ev, .n_evidence = steps };
            detect__semit(em, sr, &v);
            free(ev);
            q->step = 0;
        }
        return;
    }
    if (q->step == 0 && (it->mask & 1u)) {
        q->step = 1;
        q->start_ms = it->ms;
        evrec_set(&q->ev[0], it->ms, item_id(it));
    }
}

/* ---- new_value ------------------------------------------------------------------- */

struct hset {
    uint64_t *h;
    size_t cap, n, max;
};

/* Adds h; true when it was not there. Full sets add nothing and say "seen". */
static bool hs_add(struct hset *s, uint64_t h)
{
    h = nz(h);
    if (s->cap) {
        size_t i = (size_t)(h * 0x9e3779b97f4a7c15ULL >> 20) & (s->cap - 1);
        while (s->h[i]) {
            if (s->h[i] == h)
                return false;
            i = (i + 1) & (s->cap - 1);
        }
    }
    if (s->n >= s->max)
        return false;
    if (2 * (s->n + 1) > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        uint64_t *t = xcalloc(cap, sizeof(*t));
        for (size_t i = 0; i < s->cap; i++)
            if (s->h[i]) {
                size_t j = (size_t)(s->h[i] * 0x9e3779b97f4a7c15ULL >> 20) & (cap - 1);
                while (t[j])
                    j = (j + 1) & (cap - 1);
                t[j] = s->h[i];
            }
        free(s->h);
        s->h = t;
        s->cap = cap;
    }
    size_t i = (size_t)(h * 0x9e3779b97f4a7c15ULL >> 20) & (s->cap - 1);
    while (s->h[i])
        i = (i + 1) & (s->cap - 1);
    s->h[i] = h;
    s->n++;
    return true;
}

/* A set that remembers when each member was first seen. */
struct tset {
    uint64_t *h;
    int64_t *t;
    size_t cap, n, max;
};

/* First-seen time of h, adding it at t if absent (and the set is not full). */
static int64_t ts_seen(struct tset *s, uint64_t h, int64_t t)
{
    h = nz(h);
    if (s->cap) {
        size_t i = (size_t)(h * 0x9e3779b97f4a7c15ULL >> 20) & (s->cap - 1);
        while (s->h[i]) {
            if (s->h[i] == h)
                return s->t[i];
            i = (i + 1) & (s->cap - 1);
        }
    }
    if (s->n >= s->max)
        return INT64_MIN; /* full: treated as long known */
    if (2 * (s->n + 1) > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        uint64_t *nh = xcalloc(cap, sizeof(*nh));
        int64_t *nt = xcalloc(cap, sizeof(*nt));
        for (size_t i = 0; i < s->cap; i++)
            if (s->h[i]) {
                size_t j = (size_t)(s->h[i] * 0x9e3779b97f4a7c15ULL >> 20) & (cap - 1);
                while (nh[j])
                    j = (j + 1) & (cap - 1);
                nh[j] = s->h[i];
                nt[j] = s->t[i];
            }
        free(s->h);
        free(s->t);
        s->h = nh;
        s->t = nt;
        s->cap = cap;
    }
    size_t i = (size_t)(h * 0x9e3779b97f4a7c15ULL >> 20) & (s->cap - 1);
    while (s->h[i])
        i = (i + 1) & (s->cap - 1);
    s->h[i] = h;
    s->t[i] = t;
    s->n++;
    return t;
}

/* A value of an `unusual` field is unusual when it was first seen after the
 * key's learning period, and stays so for an hour after its first sighting:
 * an intruder's new tool or network is new for the session, not only for its
 * first call, while a value in use for longer has become part of the
 * baseline. */
#define UNUSUAL_RECENT_MS (3600LL * 1000)

struct nkey {
    char *key;
    int64_t first_ms;
    struct hset values;
    struct tset unusual[UNUSUAL_MAX];
};

static void nk_free(struct nkey *n)
{
    free(n->key);
    free(n->values.h);
    for (int i = 0; i < UNUSUAL_MAX; i++) {
        free(n->unusual[i].h);
        free(n->unusual[i].t);
    }
    free(n);
}

static void new_value_feed(struct kstate *k, const struct sitem *it, struct semit *em)
{
    const struct sunit *u = k->u;
    const struct srule *cfg = u->first;
    struct nkey *n = km_get(&k->keys, it->khash);
    if (!n) {
        if (k->keys.n >= KEYS_MAX) {
            k->dropped_keys++;
            return;
        }
        n = xcalloc(1, sizeof(*n));
        n->key = xstrdup(it->key ? it->key : "");
        n->first_ms = it->ms;
        n->values.max = VALUES_MAX;
        for (int i = 0; i < UNUSUAL_MAX; i++)
            n->unusual[i].max = UNUSUAL_VALUES_MAX;
        km_put(&k->keys, it->khash, n);
    }
    /* An event no rule of the unit may fire on only dates the key's history
     * (new_value rules with `when`: docs/rules.md). */
    if (it->mask == 0)
        return;
    bool fresh = hs_add(&n->values, it->vhash);
    bool any_unusual = cfg->n_unusual == 0;
    for (size_t i = 0; i < cfg->n_unusual; i++)
        if (it->uhash && it->uhash[i]) {
            int64_t seen = ts_seen(&n->unusual[i], it->uhash[i], it->ms);
            if (seen != INT64_MIN && seen - n->first_ms >= u->learning_ms &&
                seen > it->ms - UNUSUAL_RECENT_MS)
                any_unusual = true;
        }
    if (!fresh || !any_unusual || it->ms - n->first_ms < u->learning_ms)
        return;
    struct detect_evidence ev = { it->ms, item_id(it) };
    for (size_t i = 0; i < u->n_rules; i++) {
        const struct srule *sr = u->rules[i];
        if (!(it->mask & (1u << sr->bit)))
            continue;
        struct svars v = { .it = it, .key = n->key, .value = it->val ? it->val : "",
                           .count = 1, .sum = 1, .first_ms = it->ms, .last_ms = it->ms,
                           .evidence = &ev, .n_evidence = 1, .window_ms = u->learning_ms };
        detect__semit(em, sr, &v);
        break; /* one finding per event: the first rule (in load order) that wants it */
    }
}

/* ---- rate ---------------------------------------------------------------------------- */

struct rkey {
    char *key;
    int64_t first_ms;
    int64_t last_bucket;       /* index of the latest bucket fed */
    int64_t slot0;             /* slot index held in ring[0]'s position: ring covers (cur-n, cur] */
    int64_t cur_slot;
    double sum[SLOTS_MAX], sq[SLOTS_MAX];
    /* the anomaly in progress */
    bool active;
    int64_t a_first_ms, a_last_ms, a_last_bucket;
    uint64_t a_events;
    double a_sum, a_peak, a_baseline;
    unsigned a_buckets;
    struct sitem a_rep;        /* holds a snapshot reference while active */
    struct evrec *a_ev;
    size_t a_nev;
};

struct rcfg {
    int64_t bucket_ms, slot_ms;
    int64_t slots; /* ring length in slots */
};

static struct rcfg rate_cfg(const struct detect_rule *r)
{
    struct rcfg c;
    c.bucket_ms = r->bucket_ms;
    int64_t per = (r->baseline_ms + SLOTS_MAX - 1) / SLOTS_MAX;
    int64_t b = (per + c.bucket_ms - 1) / c.bucket_ms;
    c.slot_ms = (b < 1 ? 1 : b) * c.bucket_ms;
    c.slots = (r->baseline_ms + c.slot_ms - 1) / c.slot_ms;
    if (c.slots > SLOTS_MAX)
        c.slots = SLOTS_MAX;
    if (c.slots < 1)
        c.slots = 1;
    return c;
}

static int64_t floordiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

static void rk_free(struct rkey *rk)
{
    free(rk->key);
    detect__snap_unref(rk->a_rep.sn);
    free((void *)rk->a_rep.key);
    free((void *)rk->a_rep.val);
    free(rk->a_ev);
    free(rk);
}

/* Moves the ring forward to slot s, clearing the slots that fall out. */
static void rk_roll(struct rkey *rk, const struct rcfg *c, int64_t s)
{
    if (s <= rk->cur_slot)
        return;
    int64_t steps = s - rk->cur_slot;
    if (steps >= c->slots) {
        memset(rk->sum, 0, sizeof(rk->sum));
        memset(rk->sq, 0, sizeof(rk->sq));
    } else {
        for (int64_t i = 1; i <= steps; i++) {
            int64_t idx = (rk->cur_slot + i) % c->slots;
            rk->sum[idx] = 0;
            rk->sq[idx] = 0;
        }
    }
    rk->cur_slot = s;
}

static void rate_end(struct kstate *k, struct rkey *rk, struct semit *em)
{
    const struct srule *sr = rule0(k);
    if (!rk->active)
        return;
    struct detect_evidence *ev = to_evidence(rk->a_ev, rk->a_nev, 0);
    struct svars v = { .it = &rk->a_rep, .key = rk->key, .count = rk->a_events,
                       .sum = rk->a_sum, .baseline = rk->a_baseline,
                       .window_ms = sr->r->bucket_ms, .first_ms = rk->a_first_ms,
                       .last_ms = rk->a_last_ms, .evidence = ev, .n_evidence = rk->a_nev };
    detect__semit(em, sr, &v);
    free(ev);
    rk->active = false;
    detect__snap_unref(rk->a_rep.sn);
    free((void *)rk->a_rep.key);
    free((void *)rk->a_rep.val);
    memset(&rk->a_rep, 0, sizeof(rk->a_rep));
    free(rk->a_ev);
    rk->a_ev = NULL;
    rk->a_nev = 0;
}

static void rate_add_evidence(struct rkey *rk, const struct sitem *it)
{
    size_t add = it->n_ev ? it->n_ev : 1;
    if (rk->a_nev + add > DETECT_EVIDENCE_MAX)
        add = rk->a_nev < DETECT_EVIDENCE_MAX ? DETECT_EVIDENCE_MAX - rk->a_nev : 0;
    if (add == 0)
        return;
    rk->a_ev = xrealloc(rk->a_ev, (rk->a_nev + add) * sizeof(*rk->a_ev));
    for (size_t i = 0; i < add; i++) {
        if (it->n_ev)
            evrec_set(&rk->a_ev[rk->a_nev++], it->ev[i].ms, it->ev[i].id);
        else
            evrec_set(&rk->a_ev[rk->a_nev++], detect__snap_ms(it->sn), item_id(it));
    }
}

static void rate_feed(struct kstate *k, const struct sitem *it, struct semit *em)
{
    const struct srule *sr = rule0(k);
    const struct detect_rule *r = sr->r;
    struct rcfg c = rate_cfg(r);
    int64_t b = floordiv(it->ms, c.bucket_ms);
    struct rkey *rk = km_get(&k->keys, it->khash);
    if (rk && b < rk->last_bucket)
        return; /* out of order: a bucket already judged */
    if (rk && rk->active && b - rk->a_last_bucket - 1 >= (int64_t)r->quiet)
        rate_end(k, rk, em);
    /* A key idle for longer than its baseline starts over, learning again
     * (the sweep drops such keys with the same test, so when it runs does
     * not matter). */
    if (rk && !rk->active && it->ms - (rk->last_bucket + 1) * c.bucket_ms > r->baseline_ms) {
        km_del(&k->keys, it->khash);
        rk_free(rk);
        rk = NULL;
    }
    if (!rk) {
        if (k->keys.n >= KEYS_MAX) {
            k->dropped_keys++;
            return;
        }
        rk = xcalloc(1, sizeof(*rk));
        rk->key = xstrdup(it->key ? it->key : "");
        rk->first_ms = it->ms;
        rk->last_bucket = b - 1;
        rk->cur_slot = floordiv(b * c.bucket_ms, c.slot_ms);
        km_put(&k->keys, it->khash, rk);
    }
    int64_t slot = floordiv(b * c.bucket_ms, c.slot_ms);
    rk_roll(rk, &c, slot);
    double x = it->num;
    /* Buckets of baseline: since the key was first seen, at most the baseline. */
    int64_t first_b = floordiv(rk->first_ms, c.bucket_ms);
    int64_t nb = b - first_b;
    int64_t cap_b = c.slots * (c.slot_ms / c.bucket_ms);
    if (nb > cap_b)
        nb = cap_b;
    double s = 0, q = 0;
    for (int64_t i = 0; i < c.slots; i++) {
        s += rk->sum[i];
        q += rk->sq[i];
    }
    bool learned = it->ms - rk->first_ms >= k->u->learning_ms && nb > 0;
    bool anomalous = false;
    double mean = 0;
    if (learned && x >= r->threshold) {
        mean = s / (double)nb;
        double var = q / (double)nb - mean * mean;
        if (var < mean)
            var = mean;
        if (var < 1.0 / (double)nb)
            var = 1.0 / (double)nb;
        anomalous = x - mean >= r->sigma * sqrt(var);
    }
    rk->last_bucket = b;
    if (anomalous) {
        if (!rk->active) {
            rk->active = true;
            rk->a_first_ms = it->ms;
            rk->a_events = 0;
            rk->a_sum = 0;
            rk->a_peak = 0;
            rk->a_buckets = 0;
            rk->a_baseline = mean;
            rk->a_rep = *it;
            rk->a_rep.sn = detect__snap_ref(it->sn);
            rk->a_rep.key = xstrdup(it->key ? it->key : "");
            rk->a_rep.val = it->val ? xstrdup(it->val) : NULL;
            rk->a_rep.uhash = NULL;
            rk->a_rep.ev = NULL;
            rk->a_rep.n_ev = 0;
        }
        rk->a_last_bucket = b;
        rk->a_last_ms = it->ms + c.bucket_ms - 1;
        rk->a_events += it->n ? it->n : 1;
        rk->a_sum += x;
        rk->a_buckets++;
        if (x > rk->a_peak)
            rk->a_peak = x;
        rate_add_evidence(rk, it);
        return; /* an anomaly is no part of the baseline */
    }
    int64_t idx = ((slot % c.slots) + c.slots) % c.slots;
    rk->sum[idx] += x;
    rk->sq[idx] += x * x;
    if (rk->active && b - rk->a_last_bucket >= (int64_t)r->quiet)
        rate_end(k, rk, em);
}

/* ---- dispatch ---------------------------------------------------------------------- */

struct kstate *detect__kind_new(const struct sunit *u)
{
    struct kstate *k = xcalloc(1, sizeof(*k));
    k->u = u;
    k->kind = u->kind;
    const struct detect_rule *r = u->first->r;
    switch (u->kind) {
    case DETECT_KIND_RATE: k->sweep_every = r->bucket_ms * 60; break;
    case DETECT_KIND_NEW_VALUE: k->sweep_every = 0; break;
    default: k->sweep_every = r->window_ms; break;
    }
    k->last_sweep = INT64_MIN;
    return k;
}

static void free_key(enum detect_kind kind, void *v)
{
    switch (kind) {
    case DETECT_KIND_THRESHOLD: tk_free(v); break;
    case DETECT_KIND_DISTINCT: dk_free(v); break;
    case DETECT_KIND_SEQUENCE:
        free(((struct qkey *)v)->key);
        free(v);
        break;
    case DETECT_KIND_NEW_VALUE: nk_free(v); break;
    case DETECT_KIND_RATE: rk_free(v); break;
    default: break;
    }
}

/* Keys idle past their horizon go; rate keys first end their anomaly. */
static void sweep(struct kstate *k, int64_t now, struct semit *em)
{
    const struct detect_rule *r = k->u->first->r;
    for (size_t i = 0; i < k->keys.cap;) {
        struct kslot *s = &k->keys.s[i];
        if (!s->k) {
            i++;
            continue;
        }
        bool drop = false;
        switch (k->kind) {
        case DETECT_KIND_THRESHOLD:
            drop = ((struct tkey *)s->v)->last_ms <= now - r->window_ms;
            break;
        case DETECT_KIND_DISTINCT:
            drop = ((struct dkey *)s->v)->last_ms <= now - r->window_ms;
            break;
        case DETECT_KIND_SEQUENCE: {
            struct qkey *q = s->v;
            drop = q->step == 0 ? q->last_ms <= now - r->window_ms
                                : q->start_ms < now - r->window_ms;
            break;
        }
        case DETECT_KIND_RATE: {
            struct rkey *rk = s->v;
            struct rcfg c = rate_cfg(r);
            if (rk->active && floordiv(now, c.bucket_ms) - rk->a_last_bucket > (int64_t)r->quiet)
                rate_end(k, rk, em);
            drop = !rk->active && now - (rk->last_bucket + 1) * c.bucket_ms > r->baseline_ms;
            break;
        }
        default:
            break;
        }
        if (drop) {
            void *v = s->v;
            km_del(&k->keys, s->k); /* shifts a later entry into slot i: look again */
            free_key(k->kind, v);
            continue;
        }
        i++;
    }
}

void detect__kind_advance(struct kstate *k, int64_t now, struct semit *em)
{
    if (k->sweep_every <= 0)
        return;
    if (k->last_sweep != INT64_MIN && now - k->last_sweep < k->sweep_every)
        return;
    k->last_sweep = now;
    sweep(k, now, em);
}

void detect__kind_feed(struct kstate *k, const struct sitem *it, struct semit *em)
{
    detect__kind_advance(k, it->ms, em);
    switch (k->kind) {
    case DETECT_KIND_THRESHOLD: threshold_feed(k, it, em); break;
    case DETECT_KIND_DISTINCT: distinct_feed(k, it, em); break;
    case DETECT_KIND_SEQUENCE: sequence_feed(k, it, em); break;
    case DETECT_KIND_NEW_VALUE: new_value_feed(k, it, em); break;
    case DETECT_KIND_RATE: rate_feed(k, it, em); break;
    default: break;
    }
}

static int cmp_rkey(const void *a, const void *b)
{
    const struct rkey *x = *(const struct rkey *const *)a, *y = *(const struct rkey *const *)b;
    int c = detect__cmp_at(x->a_first_ms, detect__snap_id(x->a_rep.sn), y->a_first_ms,
                           detect__snap_id(y->a_rep.sn));
    return c ? c : strcmp(x->key, y->key);
}

void detect__kind_finish(struct kstate *k, struct semit *em)
{
    if (k->kind != DETECT_KIND_RATE)
        return;
    /* Anomalies still open at the end: emit them in a fixed order. */
    struct rkey **open = xcalloc(k->keys.n ? k->keys.n : 1, sizeof(*open));
    size_t n = 0;
    for (size_t i = 0; i < k->keys.cap; i++)
        if (k->keys.s[i].k && ((struct rkey *)k->keys.s[i].v)->active)
            open[n++] = k->keys.s[i].v;
    qsort(open, n, sizeof(*open), cmp_rkey);
    for (size_t i = 0; i < n; i++)
        rate_end(k, open[i], em);
    free(open);
}

void detect__kind_free(struct kstate *k)
{
    if (!k)
        return;
    for (size_t i = 0; i < k->keys.cap; i++)
        if (k->keys.s[i].k)
            free_key(k->kind, k->keys.s[i].v);
    km_free(&k->keys);
    free(k);
}

size_t detect__kind_keys(const struct kstate *k) { return k->keys.n; }
