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

/* Where key k (nz'd) starts probing in a table of cap slots. */
static size_t km_home(uint64_t k, size_t cap) { return (size_t)(k * 0x9e3779b97f4a7c15ULL >> 20) & (cap - 1); }

static void *km_get(const struct kmap *m, uint64_t k)
{
    if (m->n == 0)
        return NULL;
    k = nz(k);
    size_t i = km_home(k, m->cap);
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
    /* What bounds the state (detect_state_stats): measured at each sweep and
     * at the end, and what was let go. */
    uint64_t peak_keys, peak_values;
    size_t peak_bytes;
    uint64_t expired_keys, expired_values, refused_values;
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
    size_t key_len; /* strlen(key): measure() reads no key text */
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
        t->key_len = strlen(t->key);
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
    size_t key_len; /* strlen(key) */
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
        d->key_len = strlen(d->key);
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
    uint32_t key_len; /* strlen(key) */
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
        q->key_len = (uint32_t)strlen(q->key);
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

/*
 * A key's values, each with the time it was first seen (since it last came
 * back after the retention period) and last seen. A value unused for the
 * rule's `retention` is forgotten: when it comes back it is new again. Every
 * test compares times, so when the sweep actually drops expired values never
 * changes a decision.
 */
struct vmap {
    uint64_t *h;
    int64_t *first, *last;
    size_t cap, n, max;
};

static void vm_free(struct vmap *m)
{
    free(m->h);
    free(m->first);
    free(m->last);
    m->h = NULL;
    m->first = m->last = NULL;
    m->cap = m->n = 0;
}

static size_t vm_slot(const struct vmap *m, uint64_t h)
{
    size_t i = (size_t)(h * 0x9e3779b97f4a7c15ULL >> 20) & (m->cap - 1);
    while (m->h[i] && m->h[i] != h)
        i = (i + 1) & (m->cap - 1);
    return i;
}

static void vm_resize(struct vmap *m, size_t cap)
{
    struct vmap t = { xcalloc(cap, sizeof(uint64_t)), xcalloc(cap, sizeof(int64_t)),
                      xcalloc(cap, sizeof(int64_t)), cap, 0, m->max };
    for (size_t i = 0; i < m->cap; i++)
        if (m->h[i]) {
            size_t j = vm_slot(&t, m->h[i]);
            t.h[j] = m->h[i];
            t.first[j] = m->first[i];
            t.last[j] = m->last[i];
            t.n++;
        }
    vm_free(m);
    *m = t;
}

static bool expired(int64_t last, int64_t now, int64_t retention)
{
    return retention > 0 && now - last >= retention;
}

/*
 * Value h used at t: returns when it was first seen (t itself when it is
 * new, including back after expiring) and sets *fresh for a new value. A
 * full map adds nothing: the value counts as long known (INT64_MIN) and
 * *refused is counted.
 */
static int64_t vm_touch(struct vmap *m, uint64_t h, int64_t t, int64_t retention, bool *fresh,
                        uint64_t *refused)
{
    h = nz(h);
    *fresh = false;
    if (m->cap) {
        size_t i = vm_slot(m, h);
        if (m->h[i]) {
            if (expired(m->last[i], t, retention)) {
                m->first[i] = t;
                *fresh = true;
            }
            m->last[i] = t;
            return m->first[i];
        }
    }
    if (m->n >= m->max) {
        (*refused)++;
        return INT64_MIN;
    }
    if (2 * (m->n + 1) > m->cap)
        vm_resize(m, m->cap ? 2 * m->cap : 8);
    size_t i = vm_slot(m, h);
    m->h[i] = h;
    m->first[i] = m->last[i] = t;
    m->n++;
    *fresh = true;
    return t;
}

/* Drops the values unused for the retention period; returns how many. */
static size_t vm_purge(struct vmap *m, int64_t now, int64_t retention)
{
    size_t gone = 0;
    for (size_t i = 0; i < m->cap; i++)
        if (m->h[i] && expired(m->last[i], now, retention)) {
            m->h[i] = 0;
            gone++;
        }
    if (gone) {
        m->n -= gone;
        size_t cap = 8;
        while (cap < 2 * m->n)
            cap *= 2;
        if (m->n == 0)
            vm_free(m);
        else
            vm_resize(m, cap); /* re-inserting also closes the holes the probes need */
    }
    return gone;
}

/* A value of an `unusual` field is unusual when it was first seen after the
 * key's learning period, and stays so for an hour after its first sighting:
 * an intruder's new tool or network is new for the session, not only for its
 * first call, while a value in use for longer has become part of the
 * baseline. */
#define UNUSUAL_RECENT_MS (3600LL * 1000)

struct nkey {
    char *key;
    size_t key_len; /* strlen(key) */
    int64_t first_ms, last_ms;
    struct vmap values;
    struct vmap unusual[UNUSUAL_MAX];
};

static size_t nk_values(const struct nkey *n)
{
    size_t v = n->values.n;
    for (int i = 0; i < UNUSUAL_MAX; i++)
        v += n->unusual[i].n;
    return v;
}

static size_t nk_bytes(const struct nkey *n)
{
    size_t b = sizeof(*n) + n->key_len + 1 + n->values.cap * 24;
    for (int i = 0; i < UNUSUAL_MAX; i++)
        b += n->unusual[i].cap * 24;
    return b;
}

static void nk_free(struct nkey *n)
{
    free(n->key);
    vm_free(&n->values);
    for (int i = 0; i < UNUSUAL_MAX; i++)
        vm_free(&n->unusual[i]);
    free(n);
}

static void new_value_feed(struct kstate *k, const struct sitem *it, struct semit *em)
{
    const struct sunit *u = k->u;
    const struct srule *cfg = u->first;
    int64_t ret = cfg->r->retention_ms;
    struct nkey *n = km_get(&k->keys, it->khash);
    /* A key unused for the retention period starts over, learning again. */
    if (n && expired(n->last_ms, it->ms, ret)) {
        k->expired_keys++;
        k->expired_values += nk_values(n);
        km_del(&k->keys, it->khash);
        nk_free(n);
        n = NULL;
    }
    if (!n) {
        if (k->keys.n >= KEYS_MAX) {
            k->dropped_keys++;
            return;
        }
        n = xcalloc(1, sizeof(*n));
        n->key = xstrdup(it->key ? it->key : "");
        n->key_len = strlen(n->key);
        n->first_ms = it->ms;
        n->values.max = VALUES_MAX;
        for (int i = 0; i < UNUSUAL_MAX; i++)
            n->unusual[i].max = UNUSUAL_VALUES_MAX;
        km_put(&k->keys, it->khash, n);
    }
    n->last_ms = it->ms;
    /* An event no rule of the unit may fire on only dates the key's history
     * (new_value rules with `when`: docs/rules.md). */
    if (it->mask == 0)
        return;
    bool fresh, dummy;
    vm_touch(&n->values, it->vhash, it->ms, ret, &fresh, &k->refused_values);
    bool any_unusual = cfg->n_unusual == 0;
    for (size_t i = 0; i < cfg->n_unusual; i++)
        if (it->uhash && it->uhash[i]) {
            int64_t seen = vm_touch(&n->unusual[i], it->uhash[i], it->ms, ret, &dummy,
                                    &k->refused_values);
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

/*
 * Rules with `insight` also count who made the calls (struct rattr per
 * bucket): per key, over the baseline in CT_SLOTS coarse slots of a seventh
 * of the baseline each (so the baseline's attributions cover between 7 and 8
 * sevenths of it), and over the anomaly in progress. A table keeps CT_MAX
 * values; a newcomer to a full table replaces the least counted one if it
 * has at least as many calls.
 */
#define CT_SLOTS 8
#define CT_MAX 32

struct centry {
    uint64_t h;
    char *s;
    uint64_t c[CT_SLOTS];
};

struct ctab {
    struct centry *v;
    size_t n, cap;
};

static uint64_t ce_total(const struct centry *e)
{
    uint64_t t = 0;
    for (int i = 0; i < CT_SLOTS; i++)
        t += e->c[i];
    return t;
}

static void ct_add(struct ctab *t, int slot, const struct rattr_val *v)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].h == v->h) {
            t->v[i].c[slot] += v->n;
            return;
        }
    struct centry *e = NULL;
    if (t->n < CT_MAX) {
        if (t->n == t->cap) {
            t->cap = t->cap ? 2 * t->cap : 4;
            t->v = xrealloc(t->v, t->cap * sizeof(*t->v));
        }
        e = &t->v[t->n++];
    } else {
        size_t m = 0;
        for (size_t i = 1; i < t->n; i++) {
            uint64_t a = ce_total(&t->v[i]), b = ce_total(&t->v[m]);
            if (a < b || (a == b && t->v[i].h > t->v[m].h))
                m = i;
        }
        if (ce_total(&t->v[m]) > v->n)
            return;
        e = &t->v[m];
        free(e->s);
    }
    memset(e, 0, sizeof(*e));
    e->h = v->h;
    e->s = xstrdup(v->s);
    e->c[slot] = v->n;
}

static void ct_add_attr(struct ctab *t, int slot, const struct rattr *r, int a)
{
    for (size_t i = 0; r && i < r->n[a]; i++)
        ct_add(t, slot, &r->v[a][i]);
}

/* Clears the coarse slots after `from` up to `to` and drops emptied values. */
static void ct_roll(struct ctab *t, int64_t from, int64_t to)
{
    if (to <= from)
        return;
    for (int64_t s = from + 1; s <= to && s - from <= CT_SLOTS; s++)
        for (size_t i = 0; i < t->n; i++)
            t->v[i].c[((s % CT_SLOTS) + CT_SLOTS) % CT_SLOTS] = 0;
    size_t w = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (ce_total(&t->v[i]) == 0) {
            free(t->v[i].s);
            continue;
        }
        t->v[w++] = t->v[i];
    }
    t->n = w;
}

static void ct_free(struct ctab *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].s);
    free(t->v);
    memset(t, 0, sizeof(*t));
}

static size_t ct_bytes(const struct ctab *t)
{
    size_t b = t->cap * sizeof(struct centry);
    for (size_t i = 0; i < t->n; i++)
        b += strlen(t->v[i].s) + 1;
    return b;
}

/* The table's top contributors, per minute over `minutes`. */
static size_t ct_top(const struct ctab *t, double minutes, struct detect_insight_contrib *out)
{
    size_t idx[CT_MAX];
    for (size_t i = 0; i < t->n; i++)
        idx[i] = i;
    /* Largest first, ties by value; at most CT_MAX entries. */
    for (size_t i = 1; i < t->n; i++)
        for (size_t j = i; j > 0; j--) {
            const struct centry *x = &t->v[idx[j]], *y = &t->v[idx[j - 1]];
            uint64_t tx = ce_total(x), ty = ce_total(y);
            if (tx > ty || (tx == ty && strcmp(x->s, y->s) < 0)) {
                size_t tmp = idx[j];
                idx[j] = idx[j - 1];
                idx[j - 1] = tmp;
            } else {
                break;
            }
        }
    size_t n = t->n < DETECT_INSIGHT_TOP ? t->n : DETECT_INSIGHT_TOP;
    for (size_t i = 0; i < n; i++) {
        out[i].value = xstrdup(t->v[idx[i]].s);
        out[i].average = minutes > 0 ? (double)ce_total(&t->v[idx[i]]) / minutes : 0;
    }
    return n;
}

static const char *const attr_names[RATTR_N] = { "userIdentityArn", "userAgent", "errorCode" };

struct rkey {
    char *key;
    size_t key_len; /* strlen(key) */
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
    /* `insight` rules */
    struct ctab base[RATTR_N]; /* callers over the baseline, in coarse slots */
    int64_t base_slot;         /* the coarse slot last counted */
    struct ctab a_all[RATTR_N]; /* callers during the anomaly */
    struct detect_insight *a_ins;
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

/* The coarse slot of baseline attributions: a seventh of the baseline. */
static int64_t coarse_ms(const struct detect_rule *r)
{
    int64_t c = r->baseline_ms / 7;
    return c < r->bucket_ms ? r->bucket_ms : c;
}

static void rk_free(struct rkey *rk)
{
    free(rk->key);
    detect__snap_unref_shared(rk->a_rep.sn);
    free((void *)rk->a_rep.key);
    free((void *)rk->a_rep.val);
    free(rk->a_ev);
    for (int a = 0; a < RATTR_N; a++) {
        ct_free(&rk->base[a]);
        ct_free(&rk->a_all[a]);
    }
    detect_insight_free(rk->a_ins);
    free(rk);
}

static size_t rk_bytes(const struct rkey *rk)
{
    size_t b = sizeof(*rk) + rk->key_len + 1 + rk->a_nev * sizeof(struct evrec);
    for (int a = 0; a < RATTR_N; a++)
        b += ct_bytes(&rk->base[a]) + ct_bytes(&rk->a_all[a]);
    return b;
}

/* Attributes an insight of type t reports: the error code is the subject of
 * an error-rate insight, not an attribution. */
static int insight_attrs(enum detect_insight_type t)
{
    return t == DETECT_INSIGHT_ERROR_RATE ? 2 : RATTR_N;
}

/* The start of an anomaly: the baseline it is measured against and its
 * first bucket. */
static struct detect_insight *insight_start(const struct detect_rule *r, const struct rkey *rk,
                                            const struct sitem *it, double mean, int64_t nb)
{
    struct detect_insight *in = xcalloc(1, sizeof(*in));
    double bmin = (double)r->bucket_ms / 60000.0;
    in->type = r->insight;
    in->rule_id = xstrdup(r->id);
    in->start_ms = it->ms;
    in->baseline_average = mean / bmin;
    in->baseline_duration_min = (int64_t)((double)nb * bmin + 0.5);
    in->start.insight_average = it->num / bmin;
    int na = insight_attrs(r->insight);
    for (int a = 0; a < na; a++) {
        struct ctab first = { 0 };
        ct_add_attr(&first, 0, it->attr, a);
        struct detect_insight_attr *at = &in->start.attr[a];
        at->attribute = attr_names[a];
        at->n_insight = ct_top(&first, bmin, at->insight);
        /* Shares of the baseline's average, so that an attribute's values add
         * up to it as CloudTrail's do (the coarse slots cover a little more
         * than the baseline itself). */
        uint64_t total = 0;
        for (size_t i = 0; i < rk->base[a].n; i++)
            total += ce_total(&rk->base[a].v[i]);
        double per = total && in->baseline_average > 0 ? (double)total / in->baseline_average : 0;
        at->n_baseline = ct_top(&rk->base[a], per, at->baseline);
        ct_free(&first);
        struct detect_insight_attr *et = &in->end.attr[a];
        et->attribute = attr_names[a];
        et->n_baseline = ct_top(&rk->base[a], per, et->baseline);
    }
    in->start.n_attr = in->end.n_attr = (size_t)na;
    return in;
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
    struct detect_insight *in = rk->a_ins;
    if (in) {
        in->end_ms = rk->a_last_ms + 1;
        in->insight_duration_min = (in->end_ms - in->start_ms + 30000) / 60000;
        if (in->insight_duration_min < 1)
            in->insight_duration_min = 1;
        double mins = (double)(in->end_ms - in->start_ms) / 60000.0;
        in->end.insight_average = mins > 0 ? rk->a_sum / mins : 0;
        for (size_t a = 0; a < in->end.n_attr; a++)
            in->end.attr[a].n_insight = ct_top(&rk->a_all[a], mins, in->end.attr[a].insight);
    }
    struct detect_evidence *ev = to_evidence(rk->a_ev, rk->a_nev, 0);
    struct svars v = { .it = &rk->a_rep, .key = rk->key, .count = rk->a_events,
                       .sum = rk->a_sum, .baseline = rk->a_baseline,
                       .window_ms = sr->r->bucket_ms, .first_ms = rk->a_first_ms,
                       .last_ms = rk->a_last_ms, .evidence = ev, .n_evidence = rk->a_nev,
                       .insight = in };
    detect__semit(em, sr, &v);
    free(ev);
    detect_insight_free(in);
    rk->a_ins = NULL;
    for (int a = 0; a < RATTR_N; a++)
        ct_free(&rk->a_all[a]);
    rk->active = false;
    detect__snap_unref_shared(rk->a_rep.sn);
    free((void *)rk->a_rep.key);
    free((void *)rk->a_rep.val);
    memset(&rk->a_rep, 0, sizeof(rk->a_rep));
    free(rk->a_ev);
    rk->a_ev = NULL;
    rk->a_nev = 0;
}

static void rate_add_evidence(struct rkey *rk, const struct sitem *it)
{
    if (rk->a_nev >= DETECT_EVIDENCE_MAX)
        return;
    rk->a_ev = xrealloc(rk->a_ev, (rk->a_nev + 1) * sizeof(*rk->a_ev));
    evrec_set(&rk->a_ev[rk->a_nev++], detect__snap_ms(it->sn), item_id(it));
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
        k->expired_keys++;
    }
    if (!rk) {
        if (k->keys.n >= KEYS_MAX) {
            k->dropped_keys++;
            return;
        }
        rk = xcalloc(1, sizeof(*rk));
        rk->key = xstrdup(it->key ? it->key : "");
        rk->key_len = strlen(rk->key);
        rk->first_ms = it->ms;
        rk->last_bucket = b - 1;
        rk->cur_slot = floordiv(b * c.bucket_ms, c.slot_ms);
        rk->base_slot = floordiv(it->ms, coarse_ms(r));
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
    bool learned = it->ms - rk->first_ms >= k->u->learning_ms && nb > 0;
    bool anomalous = false;
    double mean = 0;
    if (learned && x >= r->threshold) {
        /* The baseline's totals only for a bucket that could be anomalous:
         * summing the ring (168 slots of 7 days, 2.7 KB) is most of a feed,
         * and most buckets are under the threshold. Summed in the same order
         * as always, so the same doubles. */
        double s = 0, q = 0;
        for (int64_t i = 0; i < c.slots; i++) {
            s += rk->sum[i];
            q += rk->sq[i];
        }
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
            rk->a_rep.sn = detect__snap_ref_shared(it->sn);
            rk->a_rep.key = xstrdup(it->key ? it->key : "");
            rk->a_rep.val = it->val ? xstrdup(it->val) : NULL;
            rk->a_rep.uhash = NULL;
            rk->a_rep.attr = NULL;
            if (k->u->insight)
                rk->a_ins = insight_start(r, rk, it, mean, nb);
        }
        for (int a = 0; k->u->insight && a < RATTR_N; a++)
            ct_add_attr(&rk->a_all[a], 0, it->attr, a);
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
    if (k->u->insight) {
        int64_t cs = floordiv(it->ms, coarse_ms(r));
        for (int a = 0; a < RATTR_N; a++) {
            ct_roll(&rk->base[a], rk->base_slot, cs);
            ct_add_attr(&rk->base[a], (int)(((cs % CT_SLOTS) + CT_SLOTS) % CT_SLOTS), it->attr, a);
        }
        if (cs > rk->base_slot)
            rk->base_slot = cs;
    }
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
    case DETECT_KIND_NEW_VALUE: k->sweep_every = r->retention_ms / 4; break;
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
        case DETECT_KIND_NEW_VALUE: {
            struct nkey *n = s->v;
            int64_t ret = r->retention_ms;
            drop = expired(n->last_ms, now, ret);
            if (drop) {
                k->expired_values += nk_values(n);
            } else {
                k->expired_values += vm_purge(&n->values, now, ret);
                for (int u = 0; u < UNUSUAL_MAX; u++)
                    k->expired_values += vm_purge(&n->unusual[u], now, ret);
            }
            break;
        }
        default:
            break;
        }
        if (drop) {
            void *v = s->v;
            km_del(&k->keys, s->k); /* shifts a later entry into slot i: look again */
            free_key(k->kind, v);
            k->expired_keys++;
            continue;
        }
        i++;
    }
}

/* The state's size now, for the peak figures (walks every key). */
static void measure(struct kstate *k)
{
    uint64_t values = 0;
    size_t bytes = k->keys.cap * sizeof(struct kslot);
    for (size_t i = 0; i < k->keys.cap; i++) {
        const void *v = k->keys.s[i].v;
        if (!k->keys.s[i].k)
            continue;
        switch (k->kind) {
        case DETECT_KIND_THRESHOLD: {
            const struct tkey *t = v;
            bytes += sizeof(*t) + t->key_len + 1 + t->cap * sizeof(struct tentry);
            break;
        }
        case DETECT_KIND_DISTINCT: {
            const struct dkey *d = v;
            bytes += sizeof(*d) + d->key_len + 1 + d->cap * sizeof(struct dentry);
            values += d->n;
            break;
        }
        case DETECT_KIND_SEQUENCE: {
            const struct qkey *q = v;
            bytes += sizeof(*q) + q->key_len + 1;
            break;
        }
        case DETECT_KIND_NEW_VALUE:
            bytes += nk_bytes(v);
            values += nk_values(v);
            break;
        case DETECT_KIND_RATE: bytes += rk_bytes(v); break;
        default: break;
        }
    }
    if (k->keys.n > k->peak_keys)
        k->peak_keys = k->keys.n;
    if (values > k->peak_values)
        k->peak_values = values;
    if (bytes > k->peak_bytes)
        k->peak_bytes = bytes;
}

void detect__kind_stats(struct kstate *k, struct detect_state_stats *st)
{
    measure(k);
    st->state_keys += k->peak_keys;
    st->state_values += k->peak_values;
    st->state_bytes += k->peak_bytes;
    st->expired_keys += k->expired_keys;
    st->expired_values += k->expired_values;
    st->refused_keys += k->dropped_keys;
    st->refused_values += k->refused_values;
}

void detect__kind_advance(struct kstate *k, int64_t now, struct semit *em)
{
    if (k->sweep_every <= 0)
        return;
    if (k->last_sweep != INT64_MIN && now - k->last_sweep < k->sweep_every)
        return;
    k->last_sweep = now;
    measure(k); /* before the sweep: the peak of what the window held */
    sweep(k, now, em);
}

void detect__kind_prefetch(const struct kstate *k, const struct sitem *it)
{
    const struct kmap *m = &k->keys;
    if (m->cap)
        __builtin_prefetch(&m->s[km_home(nz(it->khash), m->cap)]);
    /* The rate kind reads the snapshot only when a bucket is anomalous; the
     * others take every item's id (the header, the offsets, the text: the
     * first 256 bytes at most). */
    if (k->kind != DETECT_KIND_RATE && it->sn) {
        const char *p = (const char *)it->sn;
        size_t n = it->sn_size < 256 ? it->sn_size : 256;
        for (size_t o = 0; o < n; o += 64)
            __builtin_prefetch(p + o);
    }
    /* distinct copies the value's text of a value new to the key. */
    if (k->kind == DETECT_KIND_DISTINCT && it->val)
        __builtin_prefetch(it->val);
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
