/*
 * The stateful stage: from candidates selected on worker threads to the
 * kinds (kinds.c), in event-time order.
 *
 * Capture. detect_event hands each event that a stateful unit selected to
 * detect__capture with the event's derived fields. The candidate is reduced
 * to what the kinds need (key, value, number, masks) plus a snapshot of the
 * event (snap.c), shared by every unit the event feeds.
 *
 * Reductions (archive mode only; every one is order-independent, so per-
 * thread results merge into the same whole):
 *   new_value  only the events that can change a key's history matter: per
 *              retention period (the rule's `retention`, counted from the
 *              epoch), the earliest and the latest (time, id) event of the
 *              key, of each (key, value) and of each (key, unusual field,
 *              value). Within a period two sightings are less than the
 *              retention apart, so nothing expires between them; across
 *              periods the latest of one and the earliest of the next are
 *              kept, so every gap long enough to expire a value is seen
 *              exactly. The kind then runs on a subset of the events that
 *              holds those (more, when several threads each keep their own)
 *              and decides exactly what it would have decided on every
 *              event.
 *   rate       events fold into per-(key, bucket) aggregates: count, sum, the
 *              representative (earliest event, or the largest when summing)
 *              and the RB_EV earliest event ids.
 * Threshold, distinct and sequence candidates are kept one by one; their
 * patterns and `where` filters are narrow by design (docs/rules.md).
 *
 * Finish (archive). The collectors of all threads are merged unit by unit,
 * the items sorted by (time, event id, ...) with every tie broken, and fed to
 * a fresh kind; nothing depends on which thread saw what.
 *
 * Stream. The same capture without reductions; items wait in a min-heap
 * until the watermark (latest time seen minus the lateness) passes them.
 */
#include "detect/detect_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ID_MAX 48

/* ---- tables ------------------------------------------------------------------------ */

/* A created item (a copy of the candidate, owning its texts and a snapshot
 * reference), shared by the table entries that point at it and freed with
 * the last of them. */
struct citem {
    struct sitem it; /* first: a chunked archive holds &it and frees it as the citem */
    uint32_t refs;
    bool listed; /* taken into the finish list already */
    bool moved;  /* a chunked archive holds it now */
};

struct nvent {
    uint64_t h;      /* table hash of (k1, k2, field, period); 0 = empty slot */
    uint64_t k1, k2;
    uint32_t field;  /* 0 = the key, 1 = the value, 2 + i = unusual field i */
    int64_t period;  /* retention period of the events */
    struct citem *ci, *last; /* the earliest and the latest event */
    /* Their times, so that comparing a candidate with them stays in the
     * entry (the items are two more cache misses); the items' ids are read
     * only on a tie. */
    int64_t ci_ms, last_ms;
};

/* A (key, bucket) aggregate: a few words, the key text and the
 * representative's snapshot (a reference when files can be read again). The
 * bucket's evidence is its representative. */
struct rbent {
    uint64_t khash;
    int64_t bucket;
    uint64_t n;
    double sum;
    double rep_num;
    int64_t rep_ms; /* rep's time, kept here so comparisons stay in the entry */
    struct snap *rep;
    char *key;          /* a text (text_new), key_len bytes */
    struct rattr *attr; /* `insight` rules: the bucket's callers */
    uint32_t key_len;
    uint32_t rep_size;  /* rep's size and id prefix (as in struct sitem) */
    uint64_t rep_idp;
};

/* Open addressing over pointers, keyed by a 64-bit mix of the entry's key.
 * A slot holds the hash beside the pointer: a probe reads one cache line
 * for both, then the entry (separate hash and pointer arrays were two
 * misses before the entry once the rate tables outgrew the cache). */
struct pslot {
    uint64_t h; /* 0 = empty */
    void *v;
};

struct ptab {
    struct pslot *s;
    size_t cap, n;
};

static uint64_t mix2(uint64_t a, uint64_t b)
{
    uint64_t x = a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 29;
    return x ? x : 1;
}

/* A new_value entry's table hash: its four parts mixed once (three
 * chained mix2s cost twice as much on every candidate). k1 and k2 are
 * hash64 values already; the multipliers keep f and the period, small
 * numbers, from cancelling them. Which slot an entry takes never shows:
 * the finish sorts what it gathers with every tie broken (cmp_item). */
static uint64_t nv_hash(uint64_t k1, uint64_t k2, uint32_t f, int64_t period)
{
    uint64_t x = k1 ^ ((k2 << 29 | k2 >> 35) * 0x9e3779b97f4a7c15ULL) ^
                 ((uint64_t)f * 0xc2b2ae3d27d4eb4fULL) ^ ((uint64_t)period * 0x165667b19e3779f9ULL);
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 29;
    return x ? x : 1;
}

static void pt_grow(struct ptab *t)
{
    size_t cap = t->cap ? t->cap * 2 : 64;
    struct pslot *ns = xcalloc(cap, sizeof(*ns));
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->s[i].h)
            continue;
        size_t j = (size_t)t->s[i].h & (cap - 1);
        while (ns[j].h)
            j = (j + 1) & (cap - 1);
        ns[j] = t->s[i];
    }
    free(t->s);
    t->s = ns;
    t->cap = cap;
}

/* Slot for hash h whose entry satisfies eq (or the empty slot to fill). */
static size_t pt_find(struct ptab *t, uint64_t h, bool (*eq)(const void *, const void *),
                      const void *probe)
{
    if (2 * (t->n + 1) > t->cap)
        pt_grow(t);
    size_t i = (size_t)h & (t->cap - 1);
    while (t->s[i].h) {
        if (t->s[i].h == h && eq(t->s[i].v, probe))
            return i;
        i = (i + 1) & (t->cap - 1);
    }
    return i;
}

static void pt_free(struct ptab *t)
{
    free(t->s);
    memset(t, 0, sizeof(*t));
}

/* The new_value entries live in their table's slots (open addressing): a
 * lookup reads one entry, not a hash array, a pointer array and the entry
 * (the lookups of every flow were mostly those cache misses). Entries move
 * when the table grows: nvtab_reserve first, then take pointers. */
struct nvtab {
    struct nvent *v;
    size_t cap, n;
};

static void nvtab_reserve(struct nvtab *t, size_t more)
{
    if (2 * (t->n + more) <= t->cap)
        return;
    size_t cap = t->cap ? t->cap : 64;
    while (2 * (t->n + more) > cap)
        cap *= 2;
    struct nvent *v = xcalloc(cap, sizeof(*v));
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->v[i].h)
            continue;
        size_t j = (size_t)t->v[i].h & (cap - 1);
        while (v[j].h)
            j = (j + 1) & (cap - 1);
        v[j] = t->v[i];
    }
    free(t->v);
    t->v = v;
    t->cap = cap;
}

/* The entry equal to probe (whose h is set), or the empty slot for it;
 * room must have been reserved. */
static struct nvent *nvtab_find(struct nvtab *t, const struct nvent *probe)
{
    size_t i = (size_t)probe->h & (t->cap - 1);
    for (;;) {
        struct nvent *e = &t->v[i];
        if (!e->h || (e->h == probe->h && e->k1 == probe->k1 && e->k2 == probe->k2 &&
                      e->field == probe->field && e->period == probe->period))
            return e;
        i = (i + 1) & (t->cap - 1);
    }
}

static bool rb_eq(const void *a, const void *b)
{
    const struct rbent *x = a, *y = b;
    return x->khash == y->khash && x->bucket == y->bucket;
}

/* ---- collectors ---------------------------------------------------------------- */

struct ucoll {
    struct sitem *raw;
    size_t n_raw, cap_raw;
    struct nvtab nv;
    struct ptab rb;
    struct pcache nvp, rbp; /* new_value's retention periods, rate's buckets */
};

struct collector {
    struct detect_pool *pool; /* the scratch's: items, texts, buckets and snapshots */
    bool stream;
    struct ucoll *u;
    size_t n_u;
    size_t bytes, peak;
    uint64_t candidates;
};

struct collector *detect__collector_new(struct detect_pool *pool)
{
    struct collector *c = xcalloc(1, sizeof(struct collector));
    c->pool = pool;
    return c;
}

/* Item texts are at least TEXT_MIN bytes (what malloc gives for less
 * anyway), so that a refill can overwrite a text up to that size in place:
 * the value of a new_value sighting (a port, an address) changes on most
 * refills. The allocation of a text of length len is at least
 * text_cap(len), however it was refilled since. Texts of at most
 * DETECT_POOL_MAX bytes come from the collector's pool, longer ones from
 * malloc: a text is only ever overwritten in place by one that goes back
 * the same way (text_pooled of both lengths is the same). */
#define TEXT_MIN 24u

static size_t text_cap(size_t len) { return len + 1 > TEXT_MIN ? len + 1 : TEXT_MIN; }
static bool text_pooled(size_t len) { return text_cap(len) <= DETECT_POOL_MAX; }

static char *text_new(struct detect_pool *pool, struct sv s)
{
    size_t cap = text_cap(s.len);
    char *p = text_pooled(s.len) ? detect__pool_alloc(pool, cap) : xmalloc(cap);
    if (s.len)
        memcpy(p, s.p, s.len);
    p[s.len] = '\0';
    return p;
}

/* Gives back text t of length len (as last set). me: see detect__pool_put. */
static void text_put(struct detect_pool *me, const char *t, size_t len)
{
    if (!t)
        return;
    if (text_pooled(len))
        detect__pool_put(me, (void *)t);
    else
        free((void *)t);
}

static void item_release(struct detect_pool *me, struct sitem *it)
{
    detect__snap_unref_in(me, it->sn);
    text_put(me, it->key, it->key_len);
    text_put(me, it->val, it->val_len);
    detect__pool_put(me, it->uhash);
    detect__rattr_free(it->attr);
    memset(it, 0, sizeof(*it));
}

static void rb_free(struct detect_pool *me, struct rbent *b)
{
    detect__snap_unref_in(me, b->rep);
    text_put(me, b->key, b->key_len);
    detect__rattr_free(b->attr);
    detect__pool_put(me, b);
}

static void ci_unref(struct detect_pool *me, struct collector *col, struct citem *ci);

/* me: as for detect__pool_put (the collectors are cleared on whichever
 * thread runs the kinds). */
static void ucoll_clear(struct detect_pool *me, struct collector *col, struct ucoll *u)
{
    for (size_t i = 0; i < u->n_raw; i++)
        item_release(me, &u->raw[i]);
    u->n_raw = 0;
    for (size_t i = 0; i < u->nv.cap; i++)
        if (u->nv.v[i].h) {
            ci_unref(me, col, u->nv.v[i].ci);
            ci_unref(me, col, u->nv.v[i].last);
        }
    free(u->nv.v);
    memset(&u->nv, 0, sizeof(u->nv));
    for (size_t i = 0; i < u->rb.cap; i++)
        if (u->rb.s[i].h)
            rb_free(me, u->rb.s[i].v);
    pt_free(&u->rb);
}

static void collector_clear(struct collector *c)
{
    for (size_t i = 0; i < c->n_u; i++)
        ucoll_clear(NULL, c, &c->u[i]);
    c->bytes = 0;
}

void detect__collector_free(struct collector *c)
{
    if (!c)
        return;
    collector_clear(c);
    for (size_t i = 0; i < c->n_u; i++)
        free(c->u[i].raw);
    free(c->u);
    free(c);
}

static struct ucoll *ucoll_of(struct collector *c, uint32_t ui)
{
    if (ui >= c->n_u) {
        size_t n = ui + 1;
        c->u = xrealloc(c->u, n * sizeof(*c->u));
        memset(c->u + c->n_u, 0, (n - c->n_u) * sizeof(*c->u));
        c->n_u = n;
    }
    return &c->u[ui];
}

size_t detect_scratch_pending(const struct detect_scratch *s, size_t *bytes_out)
{
    struct collector *c = detect__scratch_collector((struct detect_scratch *)s);
    size_t n = 0;
    for (size_t i = 0; c && i < c->n_u; i++)
        n += c->u[i].n_raw + c->u[i].nv.n + c->u[i].rb.n;
    if (bytes_out)
        *bytes_out = c ? c->bytes : 0;
    return n;
}

/* ---- capture ---------------------------------------------------------------------- */

/* What the scan in ref_text would give for a CloudTrail reference that
 * event_fill_common has read (f->ct), from the event's field; false when
 * the field cannot say it, and the scan must: an Insights record (its
 * eventName and eventSource may come from insightDetails), a path also
 * found inside an array (the event holds the first leaf outside arrays),
 * a value taken from the envelope (region, account), absent or null (the
 * scan may find a later leaf of the path), "-" (which the scan skips).
 * Otherwise the event's field is the first leaf of the path, a string
 * (a number or a boolean there fails the record in event_fill_common),
 * decoded as the scan would decode it. */
static bool ct_ref_text(int ct, const struct event *ev, struct sv *out)
{
    if (ev->flags & (EVENT_F_INSIGHT | EVENT_F_CT_ARRAYED))
        return false;
    struct sv v;
    switch (ct) {
    case FCT_EVENT_NAME: v = ev->event_name; break;
    case FCT_EVENT_SOURCE: v = ev->event_source; break;
    case FCT_REGION:
        v = ev->region.p != ev->envelope.region.p ? ev->region : SV_NULL;
        break;
    case FCT_SRC_IP: v = ev->src_ip; break;
    case FCT_ERROR_CODE: v = ev->error_code; break;
    case FCT_USER_AGENT: v = ev->user_agent; break;
    case FCT_EVENT_ID: v = ev->id; break;
    case FCT_ARN: v = ev->principal_arn; break;
    case FCT_TYPE: v = ev->principal_type; break;
    case FCT_PRINCIPAL_ID: v = ev->principal_id; break;
    case FCT_ACCESS_KEY: v = ev->access_key; break;
    case FCT_CATEGORY: v = ev->event_category; break;
    case FCT_ACCOUNT:
        v = ev->account.p != ev->envelope.account.p ? ev->account : SV_NULL;
        break;
    default: return false;
    }
    if (v.p == NULL || (v.len == 1 && v.p[0] == '-'))
        return false;
    *out = v;
    return true;
}

/* The value of one field reference as text (first alternative present). */
static bool ref_text(const struct fref *f, const struct event *ev, const struct derived *dv,
                     struct arena *tmp, struct sv *out)
{
    if (f->dv >= 0) {
        const struct dval *v = &dv->v[f->dv];
        if (v->type == DV_NONE)
            return false;
        *out = v->s;
        return true;
    }
    if (f->ct != FCT_NONE && ev->source == EVENT_CLOUDTRAIL && ct_ref_text(f->ct, ev, out))
        return true;
    if (f->raw >= 0 && ev->source == EVENT_VPCFLOW && dv && dv->facts_done) {
        /* What the loop below would find: the one leaf of that name. */
        const struct json_leaf *l = dv->raw[f->raw];
        if (!l)
            return false;
        if (l->type == JSON_STRING) {
            *out = json_leaf_str(l, tmp);
            return out->p != NULL && !(out->len == 1 && out->p[0] == '-');
        }
        if (l->type == JSON_NUMBER || l->type == JSON_TRUE || l->type == JSON_FALSE) {
            *out = sv_make(l->val, l->val_len);
            return true;
        }
        return false;
    }
    for (unsigned k = 0; k < f->n_alt; k++)
        for (size_t i = 0; i < ev->flat.n; i++) {
            const struct json_leaf *l = &ev->flat.leaves[i];
            if (l->path_hash != f->hash[k] || l->path_len != f->len[k] ||
                memcmp(l->path, f->alt[k], f->len[k]) != 0)
                continue;
            if (l->type == JSON_STRING) {
                *out = json_leaf_str(l, tmp);
                if (out->len == 1 && out->p[0] == '-')
                    continue; /* flow logs' "no value" */
                return out->p != NULL;
            }
            if (l->type == JSON_NUMBER || l->type == JSON_TRUE || l->type == JSON_FALSE) {
                *out = sv_make(l->val, l->val_len);
                return true;
            }
        }
    return false;
}

static bool ref_num(const struct fref *f, const struct event *ev, const struct derived *dv,
                    struct arena *tmp, double *out)
{
    if (f->dv >= 0) {
        const struct dval *v = &dv->v[f->dv];
        if (v->type != DV_NUM)
            return false;
        *out = v->num;
        return true;
    }
    uint64_t fv;
    if (f->raw >= 0 && ev->source == EVENT_VPCFLOW && dv && dv->facts_done &&
        detect__flow_raw_num(dv, f->raw, &fv)) {
        /* A flow's bytes or packets, read already for the gate. */
        *out = (double)fv;
        return true;
    }
    struct sv s;
    if (!ref_text(f, ev, dv, tmp, &s) || s.len == 0 || s.len > 30)
        return false;
    if (s.len <= 15) {
        /* Plain digits (flow logs' bytes and packets): what strtod would
         * say, exactly, without its cost on every flow. */
        uint64_t v = 0;
        size_t i = 0;
        while (i < s.len && (unsigned)(s.p[i] - '0') < 10u)
            v = v * 10 + (uint64_t)(s.p[i++] - '0');
        if (i == s.len) {
            *out = (double)v;
            return true;
        }
    }
    char b[32];
    memcpy(b, s.p, s.len);
    b[s.len] = '\0';
    char *end = NULL;
    double d = strtod(b, &end);
    if (end != b + s.len || !(d >= -1e300 && d <= 1e300))
        return false;
    *out = d;
    return true;
}

/* Joins refs into one text ("a | b"); false when one is missing. One ref
 * is its own text: *out points at it (valid for the event), no copy. */
static inline __attribute__((always_inline)) bool
join_refs_sv(const struct fref *f, size_t n, const struct event *ev, const struct derived *dv,
             struct arena *tmp, struct buf *b, struct sv *out)
{
    if (n == 1 && f->dv >= 0) {
        /* One derived field (flows' $instance, $remote_port, ...): its own
         * text, as ref_text gives it, without the call. */
        const struct dval *v = &dv->v[f->dv];
        if (v->type == DV_NONE)
            return false;
        *out = v->s.p ? v->s : sv_make("", 0);
        return true;
    }
    if (n == 1) {
        if (!ref_text(f, ev, dv, tmp, out))
            return false;
        if (!out->p)
            *out = sv_make("", 0);
        return true;
    }
    buf_reset(b);
    for (size_t i = 0; i < n; i++) {
        struct sv v;
        if (!ref_text(&f[i], ev, dv, tmp, &v))
            return false;
        if (i && buf_append(b, " | ", 3) != 0)
            return false;
        if (buf_append(b, v.p ? v.p : "", v.len) != 0)
            return false;
    }
    *out = sv_make(b->p ? b->p : "", b->len);
    return true;
}

static struct snap *cap_snap(struct capev *c)
{
    if (!c->sn) {
        const char *extra = NULL;
        struct sv val = SV_NULL;
        /* A flow without instance-id whose ENI the map knows: the finding
         * should name the instance (a by-reference snapshot reads the
         * record again, and derives it again). */
        if (!c->by_ref && c->ev->source == EVENT_VPCFLOW && c->dv->v[DVF_INSTANCE].type == DV_STR &&
            sv_starts_with(c->dv->v[DVF_INSTANCE].s, SV("i-")) &&
            !json_flat_get(&c->ev->flat, "instance-id")) {
            extra = "instance-id";
            val = c->dv->v[DVF_INSTANCE].s;
        }
        c->sn = c->by_ref
                    ? detect__snap_new_ref(c->pool, c->ev)
                    : detect__snap_new(c->pool, c->ev, detect__engine_snapf(c->e), extra, val);
        if (c->bytes)
            *c->bytes += detect__snap_size(c->sn);
    }
    return c->sn;
}

/* Sets *t (length *len, made by text_new) to s, in place when it fits.
 * Worker side: pool is the caller's own. */
static void set_text(struct detect_pool *pool, const char **t, uint32_t *len, struct sv s)
{
    if (*t && s.len < text_cap(*len) && text_pooled(s.len) == text_pooled(*len)) {
        char *p = (char *)*t;
        if (s.len)
            memmove(p, s.p, s.len);
        p[s.len] = '\0';
    } else {
        text_put(pool, *t, *len);
        *t = text_new(pool, s);
    }
    *len = (uint32_t)s.len;
}

uint64_t detect__id_prefix(struct sv id)
{
    uint64_t x = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (id.len >= 8) {
        /* Most ids (a flow's 16 hex digits, CloudTrail's UUIDs): one load. */
        memcpy(&x, id.p, 8);
        return __builtin_bswap64(x);
    }
#endif
    for (size_t i = 0; i < 8; i++)
        x = x << 8 | (i < id.len ? (uint8_t)id.p[i] : 0);
    return x;
}

/* Sets it->sn (taking the reference) with the figures kept beside it. */
static void item_set_snap(struct sitem *it, struct snap *sn)
{
    it->sn = sn;
    it->sn_size = sn ? (uint32_t)detect__snap_size(sn) : 0;
    it->idp = sn ? detect__id_prefix(detect__snap_id(sn)) : 0;
}

static void fill_item(struct detect_pool *pool, struct sitem *it, struct capev *c, uint64_t khash,
                      struct sv key, uint64_t vhash, struct sv val, const uint64_t *uhash,
                      size_t n_uhash, double num, uint32_t mask)
{
    memset(it, 0, sizeof(*it));
    it->ms = c->ev->time_ms;
    item_set_snap(it, detect__snap_ref(cap_snap(c)));
    it->khash = khash;
    it->key = text_new(pool, key);
    it->key_len = (uint32_t)key.len;
    it->vhash = vhash;
    it->val = val.p ? text_new(pool, val) : NULL;
    it->val_len = val.p ? (uint32_t)val.len : 0;
    if (n_uhash) {
        it->uhash = detect__pool_zalloc(pool, UNUSUAL_MAX * sizeof(*it->uhash));
        memcpy(it->uhash, uhash, n_uhash * sizeof(*uhash));
    }
    it->num = num;
    it->mask = mask;
    it->n = 1;
}

static size_t item_bytes(const struct sitem *it)
{
    return sizeof(*it) + (it->key ? it->key_len + 1 : 0) + (it->val ? it->val_len + 1 : 0) +
           (it->uhash ? UNUSUAL_MAX * sizeof(uint64_t) : 0);
}

static struct citem *new_citem(struct collector *col, struct capev *c, uint64_t khash,
                               struct sv key, uint64_t vhash, struct sv val,
                               const uint64_t *uhash, size_t n_uhash, double num, uint32_t mask)
{
    struct citem *ci = detect__pool_zalloc(col->pool, sizeof(*ci));
    fill_item(col->pool, &ci->it, c, khash, key, vhash, val, uhash, n_uhash, num, mask);
    col->bytes += item_bytes(&ci->it) + sizeof(*ci);
    return ci;
}

static void ci_unref(struct detect_pool *me, struct collector *col, struct citem *ci)
{
    if (ci && --ci->refs == 0) {
        col->bytes -= item_bytes(&ci->it) + sizeof(*ci);
        if (detect__snap_last(ci->it.sn)) /* counted when the snapshot was made */
            col->bytes -= detect__snap_size(ci->it.sn);
        item_release(me, &ci->it);
        detect__pool_put(me, ci);
    }
}

static bool before(const struct sitem *a, int64_t ms, struct sv id)
{
    /* Times differ for nearly every pair: the snapshot (another cache
     * line) is read only on a tie. */
    if (ms != a->ms)
        return ms < a->ms;
    return detect__cmp_at(ms, id, a->ms, detect__snap_id(a->sn)) < 0;
}

static bool after(const struct sitem *a, int64_t ms, struct sv id)
{
    return detect__cmp_at(ms, id, a->ms, detect__snap_id(a->sn)) > 0;
}

static int64_t period_of(int64_t ms, int64_t p)
{
    if (p <= 0)
        return 0;
    return ms >= 0 ? ms / p : -((-ms + p - 1) / p);
}

int64_t detect__period_cached(struct pcache *c, int64_t ms, int64_t p)
{
    if (ms >= c->lo && ms < c->hi)
        return c->k;
    int64_t k = period_of(ms, p), lo, hi;
    if (p > 0 && !__builtin_mul_overflow(k, p, &lo) && !__builtin_add_overflow(lo, p, &hi)) {
        c->lo = lo;
        c->hi = hi;
        c->k = k;
    } else {
        c->lo = c->hi = 0;
    }
    return k;
}

/* Refills ci, whose only references are entries about to point at the
 * event, with the event's candidate: what new_citem would make, without the
 * allocations. Texts equal to the old ones (the same key, mostly the same
 * value) are kept. */
static void refill_citem(struct collector *col, struct citem *ci, struct capev *c, uint64_t khash,
                         struct sv key, uint64_t vhash, struct sv val, const uint64_t *uhash,
                         size_t n_uhash, double num, uint32_t mask)
{
    struct sitem *it = &ci->it;
    col->bytes -= item_bytes(it) + sizeof(*ci);
    struct snap *sn = detect__snap_ref(cap_snap(c));
    if (detect__snap_last(it->sn)) /* counted when the snapshot was made */
        col->bytes -= detect__snap_size(it->sn);
    detect__snap_unref_in(col->pool, it->sn);
    item_set_snap(it, sn);
    it->ms = c->ev->time_ms;
    it->khash = khash;
    if (it->key_len != key.len || (key.len && memcmp(it->key, key.p, key.len) != 0))
        set_text(col->pool, &it->key, &it->key_len, key);
    it->vhash = vhash;
    if (!val.p) {
        text_put(col->pool, it->val, it->val_len);
        it->val = NULL;
        it->val_len = 0;
    } else if (!it->val || it->val_len != val.len ||
               (val.len && memcmp(it->val, val.p, val.len) != 0)) {
        if (!it->val)
            it->val_len = 0;
        set_text(col->pool, &it->val, &it->val_len, val);
    }
    if (n_uhash) {
        if (!it->uhash)
            it->uhash = detect__pool_alloc(col->pool, UNUSUAL_MAX * sizeof(*it->uhash));
        memset(it->uhash, 0, UNUSUAL_MAX * sizeof(*it->uhash));
        memcpy(it->uhash, uhash, n_uhash * sizeof(*uhash));
    } else {
        detect__pool_put(col->pool, it->uhash);
        it->uhash = NULL;
    }
    it->num = num;
    it->mask = mask;
    it->n = 1;
    col->bytes += item_bytes(it) + sizeof(*ci);
}

static void reduce_new_value(struct collector *col, struct ucoll *u, struct capev *c,
                             const struct srule *cfg, uint64_t khash, struct sv key,
                             uint64_t vhash, struct sv val, const uint64_t *uhash, uint32_t mask)
{
    int64_t ms = c->ev->time_ms;
    int64_t period = detect__period_cached(&u->nvp, ms, cfg->r->retention_ms);
    /* The entries the event becomes the earliest (bit 0) or latest (bit 1)
     * sighting of. */
    struct nvent *ents[UNUSUAL_MAX + 2];
    uint8_t how[UNUSUAL_MAX + 2];
    size_t ne = 0;
    nvtab_reserve(&u->nv, cfg->n_unusual + 2);
    /* Entry 0 dates the key (any event); the value and unusual entries only
     * count events some rule may fire on. */
    for (uint32_t f = 0; f <= cfg->n_unusual + 1; f++) {
        uint64_t k2 = f == 0 ? 0 : f == 1 ? vhash : uhash[f - 2];
        if (f > 0 && mask == 0)
            break;
        if (f > 1 && k2 == 0)
            continue;
        uint64_t h = nv_hash(khash, k2, f, period);
        struct nvent probe = { h, khash, k2, f, period, NULL, NULL, 0, 0 };
        struct nvent *slot = nvtab_find(&u->nv, &probe);
        struct nvent *e = slot->h ? slot : NULL;
        bool first = !e || (ms != e->ci_ms ? ms < e->ci_ms : before(&e->ci->it, ms, c->ev->id));
        bool last = !e || (ms != e->last_ms ? ms > e->last_ms : after(&e->last->it, ms, c->ev->id));
        if (!first && !last)
            continue;
        if (!e) {
            e = slot;
            *e = probe;
            u->nv.n++;
            /* As when entries were allocated one by one and pointed at. */
            col->bytes += sizeof(*e) + 2 * sizeof(void *);
        }
        ents[ne] = e;
        how[ne++] = (uint8_t)(first | last << 1);
    }
    if (ne == 0)
        return;
    /* In time order nearly every event is its key's latest: the sighting it
     * replaces is usually held by nothing else, and is reused. */
    struct citem *old = NULL;
    uint32_t drops = 0;
    for (size_t k = 0; k < ne && !old; k++)
        old = (how[k] & 1) && ents[k]->ci ? ents[k]->ci : (how[k] & 2) ? ents[k]->last : NULL;
    for (size_t k = 0; old && k < ne; k++)
        drops += ((how[k] & 1) && ents[k]->ci == old) + ((how[k] & 2) && ents[k]->last == old);
    struct citem *mine;
    if (old && drops == old->refs && !old->listed) {
        refill_citem(col, old, c, khash, key, vhash, val, uhash, cfg->n_unusual, 1, mask);
        mine = old;
    } else {
        mine = new_citem(col, c, khash, key, vhash, val, uhash, cfg->n_unusual, 1, mask);
    }
    for (size_t k = 0; k < ne; k++) {
        struct nvent *e = ents[k];
        if ((how[k] & 1) && e->ci != mine) {
            ci_unref(col->pool, col, e->ci);
            e->ci = mine;
            mine->refs++;
        }
        if (how[k] & 1)
            e->ci_ms = ms;
        if ((how[k] & 2) && e->last != mine) {
            ci_unref(col->pool, col, e->last);
            e->last = mine;
            mine->refs++;
        }
        if (how[k] & 2)
            e->last_ms = ms;
    }
}

/* Does (num, ms, id) beat the bucket's representative? Summing rules show
 * the largest contribution, counting rules the earliest event. */
static bool rep_better(bool by_num, double num, int64_t ms, struct sv id, const struct rbent *b)
{
    if (!b->rep)
        return true;
    if (by_num && num != b->rep_num)
        return num > b->rep_num;
    if (ms != b->rep_ms)
        return ms < b->rep_ms;
    return detect__cmp_at(ms, id, detect__snap_ms(b->rep), detect__snap_id(b->rep)) < 0;
}

/* The same for the representative of e: its snapshot (cold when the
 * archive folds the workers' buckets) is read only on a tie. */
static bool rep_better_of(bool by_num, const struct rbent *e, const struct rbent *b)
{
    if (b->rep && by_num && e->rep_num != b->rep_num)
        return e->rep_num > b->rep_num;
    if (b->rep && e->rep_ms != b->rep_ms)
        return e->rep_ms < b->rep_ms;
    return rep_better(by_num, e->rep_num, e->rep_ms, detect__snap_id(e->rep), b);
}

struct unit_rate_cfg {
    int64_t bucket_ms;
    bool by_num;
    bool attr; /* `insight`: count the callers */
};

static struct rbent *rb_get(struct detect_pool *pool, struct ptab *t, uint64_t khash, int64_t b,
                            struct sv key, size_t *bytes)
{
    struct rbent probe = { .khash = khash, .bucket = b };
    uint64_t h = mix2(khash, (uint64_t)b);
    size_t i = pt_find(t, h, rb_eq, &probe);
    if (t->s[i].h)
        return t->s[i].v;
    struct rbent *e = detect__pool_zalloc(pool, sizeof(*e));
    e->khash = khash;
    e->bucket = b;
    e->key = text_new(pool, key);
    e->key_len = (uint32_t)key.len;
    t->s[i].h = h;
    t->s[i].v = e;
    t->n++;
    if (bytes)
        *bytes += sizeof(*e) + 2 * sizeof(void *) + key.len + 1;
    return e;
}

static int64_t bucket_of(int64_t ms, int64_t bms)
{
    return ms >= 0 ? ms / bms : -((-ms + bms - 1) / bms);
}

static void reduce_rate(struct collector *col, struct ucoll *u, struct capev *c,
                        const struct unit_rate_cfg *rc, uint64_t khash, struct sv key,
                        double num)
{
    int64_t ms = c->ev->time_ms;
    struct rbent *e =
        rb_get(col->pool, &u->rb, khash, detect__period_cached(&u->rbp, ms, rc->bucket_ms), key,
               &col->bytes);
    e->n++;
    e->sum += num;
    if (rc->attr) {
        col->bytes -= detect__rattr_bytes(e->attr);
        detect__rattr_add_event(&e->attr, c->ev);
        col->bytes += detect__rattr_bytes(e->attr);
    }
    if (rep_better(rc->by_num, num, ms, c->ev->id, e)) {
        if (e->rep)
            col->bytes -= detect__snap_size(e->rep);
        detect__snap_unref_in(col->pool, e->rep);
        e->rep = detect__snap_ref(cap_snap(c));
        e->rep_num = num;
        e->rep_ms = ms;
        e->rep_size = (uint32_t)detect__snap_size(e->rep);
        e->rep_idp = detect__id_prefix(detect__snap_id(e->rep));
        col->bytes += e->rep_size;
    }
}

void detect__capture(struct collector *col, const struct sunit *u, uint32_t ui, struct capev *c,
                     uint32_t mask, struct arena *tmp, struct buf *kb, struct buf *vb)
{
    const struct srule *cfg = u->first;
    const struct event *ev = c->ev;
    const struct derived *dv = c->dv;
    struct sv key;
    if (!join_refs_sv(cfg->group, cfg->n_group, ev, dv, tmp, kb, &key))
        return;
    uint64_t khash;
    int kdv = cfg->n_group == 1 ? cfg->group[0].dv : -1;
    /* Units that group by the same derived field ($instance) hash it once. */
    if (kdv >= 0 && (c->kvalid >> kdv & 1)) {
        khash = c->khash[kdv];
    } else {
        khash = hash64(key.p, key.len, 0x6b6579);
        if (kdv >= 0) {
            c->khash[kdv] = khash;
            c->kvalid |= 1u << kdv;
        }
    }
    /* A new_value event no rule of the unit may fire on only dates its key
     * (the kind reads nothing else of it): its value must be there, as for
     * any candidate, but is neither hashed nor kept. */
    bool dates_only = mask == 0 && !col->stream && u->kind == DETECT_KIND_NEW_VALUE;
    struct sv val = SV_NULL;
    uint64_t vhash = 0;
    if (cfg->has_distinct || cfg->n_value) {
        bool ok = cfg->has_distinct ? join_refs_sv(&cfg->distinct, 1, ev, dv, tmp, vb, &val)
                                    : join_refs_sv(cfg->value, cfg->n_value, ev, dv, tmp, vb, &val);
        if (!ok)
            return;
        if (dates_only)
            val = SV_NULL;
        else
            vhash = hash64(val.p, val.len, 0x76616c);
    }
    double num = 1;
    if (cfg->has_sum && !ref_num(&cfg->sum, ev, dv, tmp, &num))
        return;
    uint64_t uhash[UNUSUAL_MAX] = { 0 };
    for (size_t i = 0; i < cfg->n_unusual && !dates_only; i++) {
        struct sv uv;
        if (ref_text(&cfg->unusual[i], ev, dv, tmp, &uv)) {
            uhash[i] = hash64(uv.p ? uv.p : "", uv.len, 0x756e75 + i);
            if (!uhash[i])
                uhash[i] = 1;
        }
    }
    struct ucoll *uc = ucoll_of(col, ui);
    col->candidates++;
    if (u->kind == DETECT_KIND_DISTINCT && cfg->distinct.dv < 0) {
        /* A field inside an array (GetParameters' names): every value the
         * event carries counts, as separate items of the same event. */
        const struct fref *f = &cfg->distinct;
        for (unsigned k = 0; k < f->n_alt; k++) {
            size_t seen = 0;
            uint64_t done[64];
            for (size_t i = 0; i < ev->flat.n && seen < 64; i++) {
                const struct json_leaf *l = &ev->flat.leaves[i];
                if (l->path_hash != f->hash[k] || l->path_len != f->len[k] ||
                    memcmp(l->path, f->alt[k], f->len[k]) != 0)
                    continue;
                struct sv v = l->type == JSON_STRING ? json_leaf_str(l, tmp)
                                                     : sv_make(l->val, l->val_len);
                if (l->type != JSON_STRING && l->type != JSON_NUMBER)
                    continue;
                uint64_t h = hash64(v.p ? v.p : "", v.len, 0x76616c);
                bool dup = false;
                for (size_t d = 0; d < seen && !dup; d++)
                    dup = done[d] == h;
                if (dup)
                    continue;
                done[seen++] = h;
                if (uc->n_raw == uc->cap_raw) {
                    uc->cap_raw = uc->cap_raw ? 2 * uc->cap_raw : 64;
                    uc->raw = xrealloc(uc->raw, uc->cap_raw * sizeof(*uc->raw));
                }
                struct sitem *it = &uc->raw[uc->n_raw++];
                fill_item(col->pool, it, c, khash, key, h, v, uhash, cfg->n_unusual, num, mask);
                col->bytes += item_bytes(it);
            }
            if (seen)
                break;
        }
    } else if (!col->stream && u->kind == DETECT_KIND_NEW_VALUE) {
        reduce_new_value(col, uc, c, cfg, khash, key, vhash, val, uhash, mask);
    } else if (!col->stream && u->kind == DETECT_KIND_RATE) {
        struct unit_rate_cfg rc = { cfg->r->bucket_ms, cfg->has_sum, u->insight };
        reduce_rate(col, uc, c, &rc, khash, key, num);
    } else {
        if (uc->n_raw == uc->cap_raw) {
            uc->cap_raw = uc->cap_raw ? 2 * uc->cap_raw : 64;
            uc->raw = xrealloc(uc->raw, uc->cap_raw * sizeof(*uc->raw));
        }
        struct sitem *it = &uc->raw[uc->n_raw++];
        fill_item(col->pool, it, c, khash, key, vhash, val, uhash, cfg->n_unusual, num, mask);
        if (u->insight)
            detect__rattr_add_event(&it->attr, ev); /* streams fold it into the bucket */
        col->bytes += item_bytes(it);
    }
    if (col->bytes > col->peak)
        col->peak = col->bytes;
}

void detect__capev_done(struct capev *ce)
{
    detect__snap_unref_in(ce->pool, ce->sn);
    ce->sn = NULL;
}

void detect__collector_set_stream(struct collector *c) { c->stream = true; }
bool detect__collector_is_stream(const struct collector *c) { return c->stream; }
size_t *detect__collector_bytes(struct collector *c) { return &c->bytes; }
size_t detect__collector_units(const struct collector *c) { return c->n_u; }

struct sitem *detect__collector_take_raw(struct collector *c, uint32_t unit, size_t *n)
{
    *n = 0;
    if (unit >= c->n_u || c->u[unit].n_raw == 0)
        return NULL;
    struct ucoll *u = &c->u[unit];
    struct sitem *v = xmalloc(u->n_raw * sizeof(*v));
    memcpy(v, u->raw, u->n_raw * sizeof(*v));
    for (size_t i = 0; i < u->n_raw; i++)
        c->bytes -= item_bytes(&u->raw[i]);
    *n = u->n_raw;
    u->n_raw = 0;
    return v;
}

/* ---- ordering ---------------------------------------------------------------------- */

static int cmp_u64(uint64_t a, uint64_t b) { return a < b ? -1 : a > b; }

static int cmp_item(const struct sitem *a, const struct sitem *b)
{
    /* Time, then the id prefixes the items carry: the snapshots (two
     * cache misses: the drain's merge compares every held item so) are
     * read only when both agree. */
    if (a->ms != b->ms)
        return a->ms < b->ms ? -1 : 1;
    if (a->idp != b->idp)
        return a->idp < b->idp ? -1 : 1;
    int c = detect__cmp_at(a->ms, detect__snap_id(a->sn), b->ms, detect__snap_id(b->sn));
    if (!c)
        c = cmp_u64(a->khash, b->khash);
    if (!c)
        c = cmp_u64(a->vhash, b->vhash);
    if (!c)
        c = cmp_u64(a->mask, b->mask);
    if (!c && a->num != b->num)
        c = a->num < b->num ? -1 : 1;
    if (!c)
        c = strcmp(a->key ? a->key : "", b->key ? b->key : "");
    return c;
}

/* Sorting in cmp_item's order with the time and the id's first 8 bytes
 * beside each item: rate buckets share their start time, so most
 * comparisons fall to the ids, and reading them from the snapshots was a
 * cache miss per comparison (the prefix comes with the item: see struct
 * sitem). Equal prefixes go to cmp_item. */
struct skey {
    int64_t ms;
    uint64_t idp;
    struct sitem *it;
};

static int cmp_skey(const void *a, const void *b)
{
    const struct skey *x = a, *y = b;
    if (x->ms != y->ms)
        return x->ms < y->ms ? -1 : 1;
    if (x->idp != y->idp)
        return x->idp < y->idp ? -1 : 1;
    return cmp_item(x->it, y->it);
}

static void sort_items(struct sitem **v, size_t n)
{
    if (n < 2) /* v is NULL when empty */
        return;
    struct skey *k = xmalloc(n * sizeof(*k));
    for (size_t i = 0; i < n; i++)
        k[i] = (struct skey){ v[i]->ms, v[i]->idp, v[i] };
    qsort(k, n, sizeof(*k), cmp_skey);
    for (size_t i = 0; i < n; i++)
        v[i] = k[i].it;
    free(k);
}

/* ---- archive finish ---------------------------------------------------------------- */

struct itemvec {
    struct sitem **v;
    size_t n, cap;
    struct sitem *block; /* rate items: one allocation for all of them */
};

static void iv_push(struct itemvec *iv, struct sitem *it)
{
    if (iv->n == iv->cap) {
        iv->cap = iv->cap ? 2 * iv->cap : 256;
        iv->v = xrealloc(iv->v, iv->cap * sizeof(*iv->v));
    }
    iv->v[iv->n++] = it;
}

/* New-value: every collector's earliest and latest events per entry (a
 * superset of the whole's, which decides the same: see the top). */
static void gather_new_value(struct collector *const *cs, size_t nc, uint32_t ui,
                             struct itemvec *out)
{
    for (size_t c = 0; c < nc; c++) {
        if (ui >= cs[c]->n_u)
            continue;
        struct nvtab *t = &cs[c]->u[ui].nv;
        for (size_t i = 0; i < t->cap; i++) {
            if (!t->v[i].h)
                continue;
            struct nvent *e = &t->v[i];
            struct citem *two[2] = { e->ci, e->last };
            for (int k = 0; k < 2; k++)
                if (!two[k]->listed) {
                    two[k]->listed = true;
                    iv_push(out, &two[k]->it);
                }
        }
    }
}

/* Folds e (table hash h) into m: moved in when its (key, bucket) is new
 * there, else added to the entry there and freed. me: the calling thread's
 * pool or NULL (detect__pool_put), here and below. */
static bool rb_fold(struct detect_pool *me, struct ptab *m, uint64_t h, struct rbent *e,
                    bool by_num)
{
    size_t j = pt_find(m, h, rb_eq, e);
    if (!m->s[j].h) {
        m->s[j].h = h;
        m->s[j].v = e;
        m->n++;
        return true;
    }
    struct rbent *have = m->s[j].v;
    have->n += e->n;
    have->sum += e->sum;
    detect__rattr_merge(&have->attr, e->attr);
    e->attr = NULL;
    if (e->rep && rep_better_of(by_num, e, have)) {
        detect__snap_unref_in(me, have->rep);
        have->rep = e->rep;
        have->rep_num = e->rep_num;
        have->rep_ms = e->rep_ms;
        have->rep_size = e->rep_size;
        have->rep_idp = e->rep_idp;
        e->rep = NULL;
    }
    rb_free(me, e);
    return false;
}

/* The (key, bucket) aggregates of m as items the caller owns; m is consumed
 * (the snapshots move into the items). */
static void rate_items(struct detect_pool *me, struct ptab *m, bool by_num, int64_t bucket_ms,
                       struct itemvec *out)
{
    /* One block for the drain's items, not a calloc and a free per bucket:
     * a drain makes ~100k of them at once (the archive's last one runs alone
     * after the reading). */
    struct sitem *block = out->block = xcalloc(m->n ? m->n : 1, sizeof(*block));
    size_t used = 0;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->s[i].h)
            continue;
        struct rbent *b = m->s[i].v;
        struct sitem *it = &block[used++];
        it->ms = b->bucket * bucket_ms;
        it->sn = b->rep; /* takes the reference */
        it->sn_size = b->rep_size;
        it->idp = b->rep_idp;
        b->rep = NULL;
        it->khash = b->khash;
        it->key = b->key;
        it->key_len = b->key_len; /* how the text goes back */
        b->key = NULL;
        it->n = b->n;
        it->num = by_num ? b->sum : (double)b->n;
        it->attr = b->attr;
        b->attr = NULL;
        iv_push(out, it);
        rb_free(me, b);
    }
    pt_free(m);
}

/* Rate: per (key, bucket) totals over the tables, as items the caller owns.
 * The tables' entries are consumed (their snapshots move into the items). */
static void gather_rate_tabs(struct detect_pool *me, struct ptab *const *tabs, size_t nt,
                             bool by_num, int64_t bucket_ms, struct itemvec *out)
{
    struct ptab m = { 0 };
    for (size_t c = 0; c < nt; c++) {
        struct ptab *t = tabs[c];
        for (size_t i = 0; i < t->cap; i++) {
            if (!t->s[i].h)
                continue;
            uint64_t h = t->s[i].h;
            t->s[i].h = 0; /* moved */
            t->n--;
            rb_fold(me, &m, h, t->s[i].v, by_num);
        }
    }
    rate_items(me, &m, by_num, bucket_ms, out);
}

static void gather_rate(struct collector *const *cs, size_t nc, uint32_t ui, bool by_num,
                        int64_t bucket_ms, struct itemvec *out)
{
    struct ptab **tabs = xcalloc(nc ? nc : 1, sizeof(*tabs));
    size_t nt = 0;
    for (size_t c = 0; c < nc; c++)
        if (ui < cs[c]->n_u)
            tabs[nt++] = &cs[c]->u[ui].rb;
    gather_rate_tabs(NULL, tabs, nt, by_num, bucket_ms, out);
    free(tabs);
}

static void free_rate_items(struct detect_pool *me, struct itemvec *iv)
{
    for (size_t i = 0; i < iv->n; i++)
        item_release(me, iv->v[i]);
    free(iv->block);
    iv->block = NULL;
}

size_t detect_finish(const struct detect_engine *e, struct detect_scratch *const *s, size_t n,
                     detect_emit_fn emit, void *ctx, struct detect_state_stats *stats)
{
    const struct sunit *units = NULL;
    size_t n_units = detect__engine_units(e, &units);
    struct collector **cs = xcalloc(n ? n : 1, sizeof(*cs));
    size_t nc = 0;
    struct detect_state_stats st = { 0 };
    for (size_t i = 0; i < n; i++) {
        struct collector *c = detect__scratch_collector(s[i]);
        if (c) {
            cs[nc++] = c;
            st.candidates += c->candidates;
            st.bytes += c->peak;
            c->candidates = 0;
            c->peak = 0;
        }
    }
    struct semit em = { e, n ? s[0] : NULL, emit, ctx, 0 };
    for (uint32_t ui = 0; ui < n_units && nc > 0; ui++) {
        const struct sunit *u = &units[ui];
        struct itemvec iv = { 0 };
        bool rate = u->kind == DETECT_KIND_RATE;
        if (u->kind == DETECT_KIND_NEW_VALUE) {
            gather_new_value(cs, nc, ui, &iv);
            for (size_t c = 0; c < nc; c++)
                for (size_t i = 0; ui < cs[c]->n_u && i < cs[c]->u[ui].n_raw; i++)
                    iv_push(&iv, &cs[c]->u[ui].raw[i]);
        } else if (rate) {
            gather_rate(cs, nc, ui, u->first->has_sum, u->first->r->bucket_ms, &iv);
        } else {
            for (size_t c = 0; c < nc; c++)
                for (size_t i = 0; ui < cs[c]->n_u && i < cs[c]->u[ui].n_raw; i++)
                    iv_push(&iv, &cs[c]->u[ui].raw[i]);
        }
        sort_items(iv.v, iv.n);
        st.items += iv.n;
        struct kstate *k = detect__kind_new(u);
        for (size_t i = 0; i < iv.n; i++)
            detect__kind_feed(k, iv.v[i], &em);
        detect__kind_finish(k, &em);
        detect__kind_stats(k, &st);
        detect__kind_free(k);
        if (rate)
            free_rate_items(NULL, &iv);
        free(iv.v);
        for (size_t c = 0; c < nc; c++)
            if (ui < cs[c]->n_u)
                ucoll_clear(NULL, cs[c], &cs[c]->u[ui]);
    }
    detect__semit_resolve(&em);
    for (size_t c = 0; c < nc; c++)
        collector_clear(cs[c]);
    free(cs);
    st.detections = em.n;
    if (stats)
        *stats = st;
    return em.n;
}

/* ---- archives in time order --------------------------------------------------------- */

/*
 * A chunked archive: the caller reads the files in slices, in the order of
 * their delivery time, takes each slice's candidates out of the scratches
 * (detect_scratch_take) and hands them over with the watermark no later
 * slice can go behind. Per unit, the held items (and open rate buckets)
 * before the watermark run through the kinds at once and are freed; the
 * kinds see the items in the same global order as a whole-archive run, so
 * they decide the same, and memory is what the slices in flight hold.
 *
 * new_value's reduction is per slice here: each slice keeps the earliest and
 * latest of its own events per entry, and the union over slices holds the
 * whole's earliest and latest (the superset argument at the top).
 */
static void free_open(struct detect_pool *me, struct ptab *t);

struct detect_batch {
    struct collector *c;
};

struct detect_batch *detect_scratch_take(struct detect_scratch *s)
{
    struct collector *c = detect__scratch_take_collector(s);
    if (!c)
        return NULL;
    struct detect_batch *b = xcalloc(1, sizeof(*b));
    b->c = c;
    return b;
}

void detect_batch_free(struct detect_batch *b)
{
    if (!b)
        return;
    detect__collector_free(b->c);
    free(b);
}

/* Items waiting for the watermark: v[0, sorted) in run order (what the last
 * drain left), then the newcomers. */
struct heldvec {
    struct sitem **v; /* each allocated: draining moves pointers, not items */
    size_t n, cap, sorted;
    size_t bytes; /* held_item_bytes over v */
};

static size_t held_item_bytes(const struct sitem *it)
{
    return item_bytes(it) + it->sn_size + detect__rattr_bytes(it->attr);
}

/* Takes x, a pool object of its own (given back with detect__pool_put). */
static void hv_push_owned(struct heldvec *h, struct sitem *x)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? 2 * h->cap : 64;
        h->v = xrealloc(h->v, h->cap * sizeof(*h->v));
    }
    h->v[h->n++] = x;
    h->bytes += held_item_bytes(x);
}

static void hv_push(struct detect_pool *pool, struct heldvec *h, const struct sitem *it)
{
    struct sitem *x = detect__pool_alloc(pool, sizeof(*x));
    *x = *it;
    hv_push_owned(h, x);
}

struct detect_archive {
    const struct detect_engine *e;
    struct detect_scratch *s; /* the kinds' rendering: the workers keep theirs */
    struct detect_pool *pool; /* s's: the held copies of the collectors' raw items */
    struct semit em;
    const struct sunit *units;
    size_t n_units;
    struct kstate **k;
    struct heldvec *held;     /* per unit (not rate): items at or after the watermark */
    struct ptab *open;        /* per rate unit: buckets not yet closed */
    size_t *open_bytes;       /* per rate unit: rb_bytes of the open buckets when they came */
    int64_t wm;               /* everything before it has run */
    int threads;              /* threads a drain may use (detect_archive_set_threads) */
    bool finished;
    size_t bytes, peak;
    struct detect_state_stats st;
};

struct detect_archive *detect_archive_new(const struct detect_engine *e, detect_emit_fn emit,
                                          void *ctx)
{
    struct detect_archive *a = xcalloc(1, sizeof(*a));
    a->e = e;
    a->s = detect_scratch_new();
    a->pool = detect__scratch_pool(a->s);
    a->em = (struct semit){ e, a->s, emit, ctx, 0, NULL, 0, 0 };
    a->n_units = detect__engine_units(e, &a->units);
    size_t nu = a->n_units ? a->n_units : 1;
    a->k = xcalloc(nu, sizeof(*a->k));
    a->held = xcalloc(nu, sizeof(*a->held));
    a->open = xcalloc(nu, sizeof(*a->open));
    a->open_bytes = xcalloc(nu, sizeof(*a->open_bytes));
    for (size_t i = 0; i < a->n_units; i++)
        a->k[i] = detect__kind_new(&a->units[i]);
    a->wm = INT64_MIN;
    return a;
}

/* An open bucket's size as it came (merges into it are not counted: their
 * callers' tables may grow a little). */
static size_t rb_bytes(const struct rbent *r)
{
    return sizeof(*r) + (r->key ? r->key_len + 1 : 0) + detect__rattr_bytes(r->attr) +
           (r->rep ? r->rep_size : 0);
}

/* What the archive holds now, from the running counts (snapshots shared by
 * items count once per item: an upper bound). */
static size_t archive_bytes(const struct detect_archive *a)
{
    size_t b = 0;
    for (size_t u = 0; u < a->n_units; u++) {
        const struct heldvec *h = &a->held[u];
        b += h->cap * sizeof(*h->v) + h->bytes;
        b += a->open[u].cap * (sizeof(void *) + sizeof(uint64_t)) + a->open_bytes[u];
    }
    return b;
}

/* Moves unit ui's candidates of collector c into the archive; those behind
 * the watermark are late. */
static void archive_take(struct detect_archive *a, struct collector *c, uint32_t ui)
{
    if (ui >= c->n_u)
        return;
    const struct sunit *un = &a->units[ui];
    struct ucoll *u = &c->u[ui];
    struct heldvec *h = &a->held[ui];
    if (un->kind == DETECT_KIND_RATE) {
        int64_t bms = un->first->r->bucket_ms;
        for (size_t i = 0; i < u->rb.cap; i++) {
            if (!u->rb.s[i].h)
                continue;
            struct rbent *e = u->rb.s[i].v;
            uint64_t hh = u->rb.s[i].h;
            u->rb.s[i].h = 0;
            u->rb.n--;
            if (a->wm != INT64_MIN && (e->bucket + 1) * bms <= a->wm) {
                a->st.late += e->n; /* its bucket has run already */
                rb_free(a->pool, e);
                continue;
            }
            size_t eb = rb_bytes(e);
            if (rb_fold(a->pool, &a->open[ui], hh, e, un->first->has_sum))
                a->open_bytes[ui] += eb;
        }
    }
    for (size_t i = 0; i < u->nv.cap; i++) {
        struct nvent *e = &u->nv.v[i];
        if (!e->h)
            continue;
        struct citem *two[2] = { e->ci, e->last };
        for (int k = 0; k < 2; k++) {
            struct citem *ci = two[k];
            if (!ci->listed) {
                ci->listed = true;
                if (ci->it.ms < a->wm) {
                    a->st.late++;
                    item_release(a->pool, &ci->it);
                } else {
                    hv_push_owned(h, &ci->it); /* the citem itself: no copy */
                    ci->moved = true;
                }
            }
            if (--ci->refs == 0 && !ci->moved)
                detect__pool_put(a->pool, ci);
        }
    }
    free(u->nv.v);
    memset(&u->nv, 0, sizeof(u->nv));
    for (size_t i = 0; i < u->n_raw; i++) {
        if (u->raw[i].ms < a->wm) {
            a->st.late++;
            item_release(a->pool, &u->raw[i]);
        } else {
            hv_push(a->pool, h, &u->raw[i]);
        }
    }
    u->n_raw = 0;
}

/* Moves the open rate buckets of t into done (those the watermark wm has
 * closed: their bucket of bms ms ends at or before it) or keep; t's own
 * table is left for the caller to free. */
static void split_closed(const struct ptab *t, int64_t wm, int64_t bms, struct ptab *keep,
                         struct ptab *done)
{
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->s[i].h)
            continue;
        struct rbent *b = t->s[i].v;
        bool closed = wm == INT64_MAX || (b->bucket + 1) * bms <= wm;
        struct ptab *dst = closed ? done : keep;
        size_t j = pt_find(dst, t->s[i].h, rb_eq, b);
        dst->s[j].h = t->s[i].h;
        dst->s[j].v = b;
        dst->n++;
    }
}

/* Draining a unit is three steps: prepare (the closed buckets made into
 * items, or the newcomers sorted and merged with what waited), feed (the
 * kind, in run order: the emitting thread) and give back (what was fed is
 * freed, what waits stays). A serial drain runs the three in a row on the
 * archive's thread; a parallel one (drain_par) prepares and gives back on
 * any thread while the archive's thread feeds unit after unit, so a unit's
 * steps touch only that unit's state. me: the calling thread's pool, or
 * NULL with shared snapshot counts (another thread may be counting them). */
struct djob {
    struct itemvec iv; /* rate: the closed buckets' items, in run order */
    struct sitem **p;  /* held: everything held, in run order */
    size_t n, fed;     /* items in iv or p; the first fed of them ran */
    bool ready;        /* prepared (the parallel drain's flag, under its lock) */
};

static void drain_prepare(struct detect_archive *a, uint32_t ui, int64_t wm,
                          struct detect_pool *me, struct djob *j)
{
    const struct sunit *un = &a->units[ui];
    if (un->kind == DETECT_KIND_RATE) {
        int64_t bms = un->first->r->bucket_ms;
        struct ptab *t = &a->open[ui];
        struct ptab keep = { 0 }, done = { 0 };
        split_closed(t, wm, bms, &keep, &done);
        /* The closed buckets' share of the bytes goes with them (no need to
         * read every closed entry's key and snapshot for a figure). */
        if (t->n)
            a->open_bytes[ui] = (size_t)((double)a->open_bytes[ui] * (double)keep.n / (double)t->n);
        pt_free(t);
        *t = keep;
        rate_items(me, &done, un->first->has_sum, bms, &j->iv);
        sort_items(j->iv.v, j->iv.n);
        j->n = j->fed = j->iv.n;
        return;
    }
    struct heldvec *h = &a->held[ui];
    if (h->n == 0)
        return;
    /* What waited is in order already: sort the newcomers, merge. */
    size_t old = h->sorted, nn = h->n - old;
    struct sitem **q = h->v + old;
    sort_items(q, nn);
    struct sitem **p = xmalloc(h->n * sizeof(*p));
    for (size_t i = 0, k = 0, o = 0; o < h->n; o++)
        p[o] = k >= nn || (i < old && cmp_item(h->v[i], q[k]) <= 0) ? h->v[i++] : q[k++];
    size_t fed = 0;
    while (fed < h->n && p[fed]->ms < wm) /* time orders first: the runnable come first */
        fed++;
    j->p = p;
    j->n = h->n;
    j->fed = fed;
}

static void drain_feed(struct detect_archive *a, uint32_t ui, const struct djob *j)
{
    struct kstate *k = a->k[ui];
    struct sitem **v = j->p ? j->p : j->iv.v;
    size_t n = j->fed;
    /* Held items are scattered and their snapshots were written on other
     * cores: the item two strides ahead is fetched, then what the kind will
     * read of the one a stride ahead. */
    enum { AHEAD = 6 };
    for (size_t i = 0; i < n; i++) {
        if (i + 2 * AHEAD < n)
            __builtin_prefetch(v[i + 2 * AHEAD]);
        if (i + AHEAD < n)
            detect__kind_prefetch(k, v[i + AHEAD]);
        detect__kind_feed(k, v[i], &a->em);
    }
    a->st.items += n;
}

/* item_release with shared snapshot counts and every pool given back from afar. */
static void item_release_shared(struct sitem *it)
{
    detect__snap_unref_shared(it->sn);
    it->sn = NULL;
    item_release(NULL, it);
}

static void drain_give_back(struct detect_archive *a, uint32_t ui, struct detect_pool *me,
                            struct djob *j)
{
    if (a->units[ui].kind == DETECT_KIND_RATE) {
        for (size_t i = 0; i < j->iv.n; i++) {
            if (me)
                item_release(me, j->iv.v[i]);
            else
                item_release_shared(j->iv.v[i]);
        }
        free(j->iv.block);
        free(j->iv.v);
        return;
    }
    if (!j->p)
        return;
    struct heldvec *h = &a->held[ui];
    struct sitem **p = j->p;
    size_t fed = j->fed;
    for (size_t i = 0; i < fed; i++) {
        h->bytes -= held_item_bytes(p[i]);
        if (me)
            item_release(me, p[i]);
        else
            item_release_shared(p[i]);
        detect__pool_put(me, p[i]);
    }
    memcpy(h->v, p + fed, (h->n - fed) * sizeof(*p));
    h->n -= fed;
    h->sorted = h->n;
    free(p);
    if (h->n == 0) {
        /* A burst's array goes with it. */
        free(h->v);
        h->v = NULL;
        h->cap = 0;
    }
}

/* Runs unit ui's held items (and closed buckets) before wm through its kind. */
static void archive_drain(struct detect_archive *a, uint32_t ui, int64_t wm)
{
    struct djob j = { 0 };
    drain_prepare(a, ui, wm, a->pool, &j);
    drain_feed(a, ui, &j);
    drain_give_back(a, ui, a->pool, &j);
}

/* A parallel drain: the helpers and the archive's thread take units to
 * prepare in unit order; the archive's thread feeds them in that order as
 * each is ready, and the fed ones are given back by whichever thread is
 * free. The kinds see exactly what a serial drain feeds them, in the same
 * order, so the detections are the same. mu guards the counters and the
 * jobs' ready flags. */
#define PDRAIN_MAX_THREADS 8

struct pdrain {
    struct detect_archive *a;
    int64_t wm;
    struct djob *j;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint32_t next_prep; /* next unit to prepare */
    uint32_t fed;       /* units fed so far */
    uint32_t next_back; /* next fed unit to give back */
};

/* One step of a helper's work, mu held: a unit to prepare, else a fed one
 * to give back. Returns false when there is nothing to take now. */
static bool pd_step(struct pdrain *d, bool *all_done)
{
    uint32_t nu = (uint32_t)d->a->n_units;
    *all_done = false;
    if (d->next_prep < nu) {
        uint32_t ui = d->next_prep++;
        pthread_mutex_unlock(&d->mu);
        drain_prepare(d->a, ui, d->wm, NULL, &d->j[ui]);
        pthread_mutex_lock(&d->mu);
        d->j[ui].ready = true;
        pthread_cond_broadcast(&d->cv);
        return true;
    }
    if (d->next_back < d->fed) {
        uint32_t ui = d->next_back++;
        pthread_mutex_unlock(&d->mu);
        drain_give_back(d->a, ui, NULL, &d->j[ui]);
        pthread_mutex_lock(&d->mu);
        return true;
    }
    *all_done = d->next_back >= nu;
    return false;
}

static void *pd_helper(void *arg)
{
    struct pdrain *d = arg;
    bool all_done = false;
    pthread_mutex_lock(&d->mu);
    while (!all_done)
        if (!pd_step(d, &all_done) && !all_done)
            pthread_cond_wait(&d->cv, &d->mu);
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

static void drain_par(struct detect_archive *a, int64_t wm)
{
    uint32_t nu = (uint32_t)a->n_units;
    struct pdrain d = { .a = a, .wm = wm };
    d.j = xcalloc(nu ? nu : 1, sizeof(*d.j));
    pthread_mutex_init(&d.mu, NULL);
    pthread_cond_init(&d.cv, NULL);
    pthread_t tid[PDRAIN_MAX_THREADS];
    int nh = 0;
    while (nh + 1 < a->threads && pthread_create(&tid[nh], NULL, pd_helper, &d) == 0)
        nh++; /* no helper started: this thread does it all, as it would alone */
    pthread_mutex_lock(&d.mu);
    for (uint32_t ui = 0; ui < nu; ui++) {
        /* Rather than wait, prepare the next unit nobody took (ui itself
         * when no helper got to it yet) or give one back. */
        bool all_done;
        while (!d.j[ui].ready)
            if (!pd_step(&d, &all_done))
                pthread_cond_wait(&d.cv, &d.mu);
        pthread_mutex_unlock(&d.mu);
        drain_feed(a, ui, &d.j[ui]);
        pthread_mutex_lock(&d.mu);
        d.fed = ui + 1;
        pthread_cond_broadcast(&d.cv);
    }
    bool all_done = false;
    while (!all_done)
        if (!pd_step(&d, &all_done) && !all_done)
            pthread_cond_wait(&d.cv, &d.mu);
    pthread_mutex_unlock(&d.mu);
    for (int i = 0; i < nh; i++)
        pthread_join(tid[i], NULL);
    pthread_mutex_destroy(&d.mu);
    pthread_cond_destroy(&d.cv);
    free(d.j);
}

size_t detect_archive_run(struct detect_archive *a, struct detect_batch *const *b, size_t n,
                          int64_t wm)
{
    uint64_t before = a->em.n;
    size_t inflight = 0;
    for (size_t i = 0; i < n; i++)
        if (b[i]) {
            a->st.candidates += b[i]->c->candidates;
            inflight += b[i]->c->peak;
        }
    if (a->bytes + inflight > a->peak)
        a->peak = a->bytes + inflight;
    for (uint32_t ui = 0; ui < a->n_units; ui++)
        for (size_t i = 0; i < n; i++)
            if (b[i])
                archive_take(a, b[i]->c, ui);
    for (size_t i = 0; i < n; i++)
        detect_batch_free(b[i]);
    a->bytes = archive_bytes(a);
    if (a->bytes > a->peak)
        a->peak = a->bytes;
    if (wm > a->wm) {
        a->wm = wm;
        if (a->threads > 1)
            drain_par(a, wm);
        else
            for (uint32_t ui = 0; ui < a->n_units; ui++)
                archive_drain(a, ui, wm);
        a->bytes = archive_bytes(a);
    }
    return (size_t)(a->em.n - before);
}

size_t detect_archive_finish(struct detect_archive *a, struct detect_state_stats *stats)
{
    uint64_t before = a->em.n;
    if (!a->finished) {
        a->finished = true;
        detect_archive_run(a, NULL, 0, INT64_MAX);
        for (size_t ui = 0; ui < a->n_units; ui++) {
            detect__kind_finish(a->k[ui], &a->em);
            detect__kind_stats(a->k[ui], &a->st);
        }
        detect__semit_resolve(&a->em);
        a->st.detections = a->em.n;
        a->st.bytes = a->peak;
    }
    if (stats)
        *stats = a->st;
    return (size_t)(a->em.n - before);
}

int64_t detect_archive_watermark(const struct detect_archive *a) { return a->wm; }

void detect_archive_set_threads(struct detect_archive *a, int n)
{
    a->threads = n < 1 ? 1 : n > PDRAIN_MAX_THREADS ? PDRAIN_MAX_THREADS : n;
}

void detect_archive_free(struct detect_archive *a)
{
    if (!a)
        return;
    detect__semit_resolve(&a->em); /* what ran but was not finished still goes out */
    for (size_t ui = 0; ui < a->n_units; ui++) {
        detect__kind_free(a->k[ui]);
        for (size_t i = 0; i < a->held[ui].n; i++) {
            item_release(a->pool, a->held[ui].v[i]);
            detect__pool_put(a->pool, a->held[ui].v[i]);
        }
        free(a->held[ui].v);
        free_open(a->pool, &a->open[ui]);
    }
    free(a->k);
    free(a->held);
    free(a->open);
    free(a->open_bytes);
    detect_scratch_free(a->s);
    free(a);
}

/* ---- streams ---------------------------------------------------------------------- */

struct hitem {
    struct sitem it;
    uint32_t unit;
};

struct detect_stream {
    const struct detect_engine *e;
    struct detect_scratch *s;
    struct detect_pool *pool; /* s's: the stream's thread owns it */
    int64_t lateness, max_seen, wm;
    bool started;
    struct hitem *h;
    size_t n, cap;
    const struct sunit *units;
    size_t n_units;
    struct kstate **k;
    struct ptab *open;    /* per unit: open rate buckets */
    int64_t *open_scan;   /* per unit: bucket index of the last close scan */
    struct detect_state_stats st;
    struct detect_state_stats flushed; /* the kinds' figures before each flush */
};

static int hcmp(const struct hitem *a, const struct hitem *b)
{
    int c = cmp_item(&a->it, &b->it);
    return c ? c : cmp_u64(a->unit, b->unit);
}

static void h_push(struct detect_stream *st, const struct hitem *x)
{
    if (st->n == st->cap) {
        st->cap = st->cap ? 2 * st->cap : 256;
        st->h = xrealloc(st->h, st->cap * sizeof(*st->h));
    }
    size_t i = st->n++;
    st->h[i] = *x;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (hcmp(&st->h[i], &st->h[p]) >= 0)
            break;
        struct hitem t = st->h[i];
        st->h[i] = st->h[p];
        st->h[p] = t;
        i = p;
    }
}

static struct hitem h_pop(struct detect_stream *st)
{
    struct hitem top = st->h[0];
    st->h[0] = st->h[--st->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < st->n && hcmp(&st->h[l], &st->h[m]) < 0)
            m = l;
        if (r < st->n && hcmp(&st->h[r], &st->h[m]) < 0)
            m = r;
        if (m == i)
            break;
        struct hitem t = st->h[i];
        st->h[i] = st->h[m];
        st->h[m] = t;
        i = m;
    }
    return top;
}

struct detect_stream *detect_stream_new(const struct detect_engine *e, int64_t lateness_ms)
{
    struct detect_stream *st = xcalloc(1, sizeof(*st));
    st->e = e;
    st->s = detect_scratch_new();
    st->pool = detect__scratch_pool(st->s);
    detect__collector_set_stream(detect__scratch_collector(st->s));
    st->lateness = lateness_ms < 0 ? 0 : lateness_ms;
    st->wm = INT64_MIN;
    st->n_units = detect__engine_units(e, &st->units);
    st->k = xcalloc(st->n_units ? st->n_units : 1, sizeof(*st->k));
    st->open = xcalloc(st->n_units ? st->n_units : 1, sizeof(*st->open));
    st->open_scan = xcalloc(st->n_units ? st->n_units : 1, sizeof(*st->open_scan));
    for (size_t i = 0; i < st->n_units; i++) {
        st->k[i] = detect__kind_new(&st->units[i]);
        st->open_scan[i] = INT64_MIN;
    }
    return st;
}

static void free_open(struct detect_pool *me, struct ptab *t)
{
    for (size_t i = 0; i < t->cap; i++)
        if (t->s[i].h)
            rb_free(me, t->s[i].v);
    pt_free(t);
}

void detect_stream_free(struct detect_stream *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->n; i++)
        item_release(st->pool, &st->h[i].it);
    free(st->h);
    for (size_t i = 0; i < st->n_units; i++) {
        detect__kind_free(st->k[i]);
        free_open(st->pool, &st->open[i]);
    }
    free(st->k);
    free(st->open);
    free(st->open_scan);
    detect_scratch_free(st->s);
    free(st);
}

/* Folds a streamed item into its open (key, bucket) aggregate; takes the item. */
static void open_fold(struct detect_pool *pool, struct ptab *t, struct sitem *it, bool by_num,
                      int64_t bucket_ms)
{
    int64_t ms = it->ms;
    struct rbent *e = rb_get(pool, t, it->khash, bucket_of(ms, bucket_ms),
                             sv_make(it->key ? it->key : "", it->key ? it->key_len : 0), NULL);
    e->n++;
    e->sum += it->num;
    detect__rattr_merge(&e->attr, it->attr);
    it->attr = NULL;
    if (rep_better(by_num, it->num, ms, detect__snap_id(it->sn), e)) {
        detect__snap_unref_in(pool, e->rep);
        e->rep = detect__snap_ref(it->sn);
        e->rep_num = it->num;
        e->rep_ms = ms;
        e->rep_size = it->sn_size;
        e->rep_idp = it->idp;
    }
    item_release(pool, it);
}

/* Feeds the rate buckets of unit ui that end at or before wm. */
static void close_buckets(struct detect_stream *st, uint32_t ui, int64_t wm, struct semit *em)
{
    const struct sunit *u = &st->units[ui];
    int64_t bms = u->first->r->bucket_ms;
    int64_t cur = wm == INT64_MAX ? INT64_MAX : bucket_of(wm, bms);
    if (cur == st->open_scan[ui] || st->open[ui].n == 0)
        return;
    st->open_scan[ui] = cur;
    struct ptab *t = &st->open[ui];
    struct ptab keep = { 0 };
    struct ptab done = { 0 };
    split_closed(t, wm, bms, &keep, &done);
    pt_free(t);
    *t = keep;
    if (done.n == 0) {
        pt_free(&done);
        return;
    }
    struct ptab *one = &done;
    struct itemvec iv = { 0 };
    gather_rate_tabs(st->pool, &one, 1, u->first->has_sum, bms, &iv);
    sort_items(iv.v, iv.n);
    for (size_t i = 0; i < iv.n; i++)
        detect__kind_feed(st->k[ui], iv.v[i], em);
    st->st.items += iv.n;
    free_rate_items(st->pool, &iv);
    free(iv.v);
    free_open(st->pool, &done);
}

static void release(struct detect_stream *st, int64_t wm, struct semit *em)
{
    while (st->n > 0 && (wm == INT64_MAX || st->h[0].it.ms < wm)) {
        struct hitem x = h_pop(st);
        const struct sunit *u = &st->units[x.unit];
        if (u->kind == DETECT_KIND_RATE) {
            open_fold(st->pool, &st->open[x.unit], &x.it, u->first->has_sum,
                      u->first->r->bucket_ms);
            continue;
        }
        st->st.items++;
        detect__kind_feed(st->k[x.unit], &x.it, em);
        item_release(st->pool, &x.it);
    }
    for (uint32_t ui = 0; ui < st->n_units; ui++) {
        if (st->units[ui].kind == DETECT_KIND_RATE)
            close_buckets(st, ui, wm, em);
        if (wm != INT64_MAX)
            detect__kind_advance(st->k[ui], wm, em);
    }
    if (wm > st->wm)
        st->wm = wm;
}

size_t detect_stream_event(struct detect_stream *st, const struct event *ev, detect_emit_fn emit,
                           void *ctx)
{
    size_t n = detect_event(st->e, st->s, ev, emit, ctx);
    struct collector *c = detect__scratch_collector(st->s);
    for (uint32_t ui = 0; ui < detect__collector_units(c); ui++) {
        size_t k;
        struct sitem *v = detect__collector_take_raw(c, ui, &k);
        for (size_t i = 0; i < k; i++) {
            st->st.candidates++;
            if (st->wm != INT64_MIN && v[i].ms < st->wm) {
                st->st.late++;
                item_release(st->pool, &v[i]);
                continue;
            }
            struct hitem x = { v[i], ui };
            h_push(st, &x);
        }
        free(v);
    }
    if (!st->started || ev->time_ms > st->max_seen) {
        st->max_seen = ev->time_ms;
        st->started = true;
    }
    struct semit em = { st->e, st->s, emit, ctx, 0 };
    release(st, st->max_seen - st->lateness, &em);
    st->st.detections += em.n;
    return n + em.n;
}

size_t detect_stream_advance(struct detect_stream *st, int64_t now_ms, detect_emit_fn emit,
                             void *ctx)
{
    struct semit em = { st->e, st->s, emit, ctx, 0 };
    int64_t wm = now_ms - st->lateness;
    if (st->wm != INT64_MIN && wm <= st->wm)
        return 0;
    release(st, wm, &em);
    st->st.detections += em.n;
    return em.n;
}

size_t detect_stream_flush(struct detect_stream *st, detect_emit_fn emit, void *ctx)
{
    struct semit em = { st->e, st->s, emit, ctx, 0 };
    release(st, INT64_MAX, &em);
    for (size_t i = 0; i < st->n_units; i++) {
        detect__kind_finish(st->k[i], &em);
        detect__kind_stats(st->k[i], &st->flushed);
        detect__kind_free(st->k[i]);
        st->k[i] = detect__kind_new(&st->units[i]);
    }
    st->wm = INT64_MIN;
    st->started = false;
    st->st.detections += em.n;
    return em.n;
}

void detect_stream_stats(const struct detect_stream *st, struct detect_state_stats *out)
{
    *out = st->st;
    const struct detect_state_stats *f = &st->flushed;
    out->state_keys = f->state_keys;
    out->state_values = f->state_values;
    out->state_bytes = f->state_bytes;
    out->expired_keys = f->expired_keys;
    out->expired_values = f->expired_values;
    out->refused_keys = f->refused_keys;
    out->refused_values = f->refused_values;
    for (size_t i = 0; i < st->n_units; i++)
        detect__kind_stats(st->k[i], out);
}
