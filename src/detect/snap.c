/*
 * Snapshots: what a stateful detection needs of an event after the event is
 * gone. Stateful rules fire on events read long before (a brute force is
 * proven by its twentieth attempt; the finding shows the attempts), so each
 * candidate keeps a compact copy: the common fields and the leaves whose
 * paths the engine's filter names. One allocation holds everything; the
 * restored struct event points into it.
 *
 * Reference counts are plain integers: a snapshot is only ever touched by the
 * thread that owns its collector, then by the one thread that runs the kinds.
 */
#include "detect/detect_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- the path filter ----------------------------------------------------------- */

struct snap_filter {
    uint64_t *h; /* open addressing; 0 = empty (a zero hash is remapped) */
    size_t cap, n;
};

struct snap_filter *detect__snapf_new(void)
{
    struct snap_filter *f = xcalloc(1, sizeof(*f));
    f->cap = 64;
    f->h = xcalloc(f->cap, sizeof(*f->h));
    return f;
}

void detect__snapf_free(struct snap_filter *f)
{
    if (!f)
        return;
    free(f->h);
    free(f);
}

static uint64_t nz(uint64_t h) { return h ? h : 1; }

static void put_hash(uint64_t *t, size_t cap, uint64_t h)
{
    size_t i = (size_t)h & (cap - 1);
    while (t[i] && t[i] != h)
        i = (i + 1) & (cap - 1);
    t[i] = h;
}

void detect__snapf_add(struct snap_filter *f, const char *path, size_t len)
{
    uint64_t h = nz(json_path_hash(path, len));
    if (detect__snapf_has(f, path, len, h))
        return;
    if (2 * (f->n + 1) > f->cap) {
        size_t cap = f->cap * 2;
        uint64_t *t = xcalloc(cap, sizeof(*t));
        for (size_t i = 0; i < f->cap; i++)
            if (f->h[i])
                put_hash(t, cap, f->h[i]);
        free(f->h);
        f->h = t;
        f->cap = cap;
    }
    put_hash(f->h, f->cap, h);
    f->n++;
}

bool detect__snapf_has(const struct snap_filter *f, const char *path, size_t len, uint64_t hash)
{
    (void)path;
    (void)len;
    uint64_t h = nz(hash);
    size_t i = (size_t)h & (f->cap - 1);
    while (f->h[i]) {
        if (f->h[i] == h)
            return true;
        i = (i + 1) & (f->cap - 1);
    }
    return false;
}

/* ---- snapshots ------------------------------------------------------------------ */

enum { S_ID, S_ACCOUNT, S_REGION, S_SRC_IP, S_EVSRC, S_EVNAME, S_ARN, S_PTYPE, S_PID, S_USER,
       S_KEY, S_UA, S_ERR, S_CAT, S_N };

struct snap {
    uint32_t refs;
    uint32_t n_leaves;
    uint32_t size;
    uint32_t flags;
    int64_t ms;
    enum event_source source;
    struct sv f[S_N];
    struct json_leaf *leaves;
    /* leaves, then strings */
};

static void common(const struct event *ev, struct sv *f)
{
    f[S_ID] = ev->id;
    f[S_ACCOUNT] = ev->account;
    f[S_REGION] = ev->region;
    f[S_SRC_IP] = ev->src_ip;
    f[S_EVSRC] = ev->event_source;
    f[S_EVNAME] = ev->event_name;
    f[S_ARN] = ev->principal_arn;
    f[S_PTYPE] = ev->principal_type;
    f[S_PID] = ev->principal_id;
    f[S_USER] = ev->user_name;
    f[S_KEY] = ev->access_key;
    f[S_UA] = ev->user_agent;
    f[S_ERR] = ev->error_code;
    f[S_CAT] = ev->event_category;
}

static char *put_str(char **at, const char *p, size_t len)
{
    char *d = *at;
    if (len)
        memcpy(d, p, len);
    d[len] = '\0';
    *at += len + 1;
    return d;
}

struct snap *detect__snap_new(const struct event *ev, const struct snap_filter *f,
                              const char *extra_path, struct sv extra_val)
{
    struct sv c[S_N];
    common(ev, c);
    size_t n = 0, bytes = 0;
    for (size_t i = 0; i < ev->flat.n; i++) {
        const struct json_leaf *l = &ev->flat.leaves[i];
        if (f && !detect__snapf_has(f, l->path, l->path_len, l->path_hash))
            continue;
        n++;
        bytes += l->path_len + 1 + l->val_len + 1;
    }
    if (extra_path) {
        n++;
        bytes += strlen(extra_path) + 1 + extra_val.len + 1;
    }
    for (int i = 0; i < S_N; i++)
        bytes += c[i].len + 1;
    size_t size = sizeof(struct snap) + n * sizeof(struct json_leaf) + bytes;
    struct snap *sn = xmalloc(size);
    memset(sn, 0, sizeof(*sn));
    sn->refs = 1;
    sn->size = (uint32_t)size;
    sn->ms = ev->time_ms;
    sn->source = ev->source;
    sn->flags = ev->flags;
    sn->leaves = (struct json_leaf *)(void *)(sn + 1);
    char *at = (char *)(sn->leaves + n);
    for (int i = 0; i < S_N; i++) {
        if (c[i].p == NULL) {
            sn->f[i] = SV_NULL;
            continue;
        }
        char *d = put_str(&at, c[i].p, c[i].len);
        sn->f[i] = sv_make(d, c[i].len);
    }
    size_t k = 0;
    for (size_t i = 0; i < ev->flat.n; i++) {
        const struct json_leaf *l = &ev->flat.leaves[i];
        if (f && !detect__snapf_has(f, l->path, l->path_len, l->path_hash))
            continue;
        struct json_leaf *d = &sn->leaves[k++];
        memset(d, 0, sizeof(*d));
        d->path = put_str(&at, l->path, l->path_len);
        d->path_len = l->path_len;
        d->path_hash = l->path_hash;
        d->val = put_str(&at, l->val, l->val_len);
        d->val_len = l->val_len;
        d->type = l->type;
        d->escaped = l->escaped;
    }
    if (extra_path) {
        struct json_leaf *d = &sn->leaves[k++];
        memset(d, 0, sizeof(*d));
        size_t pl = strlen(extra_path);
        d->path = put_str(&at, extra_path, pl);
        d->path_len = (uint32_t)pl;
        d->path_hash = json_path_hash(extra_path, pl);
        d->val = put_str(&at, extra_val.p ? extra_val.p : "", extra_val.len);
        d->val_len = (uint32_t)extra_val.len;
        d->type = JSON_STRING;
    }
    sn->n_leaves = (uint32_t)k;
    return sn;
}

struct snap *detect__snap_ref(struct snap *sn)
{
    sn->refs++;
    return sn;
}

void detect__snap_unref(struct snap *sn)
{
    if (sn && --sn->refs == 0)
        free(sn);
}

void detect__snap_event(const struct snap *sn, struct event *ev)
{
    memset(ev, 0, sizeof(*ev));
    ev->source = sn->source;
    ev->flags = sn->flags;
    ev->time_ms = sn->ms;
    ev->id = sn->f[S_ID];
    ev->account = sn->f[S_ACCOUNT];
    ev->region = sn->f[S_REGION];
    ev->src_ip = sn->f[S_SRC_IP];
    ev->event_source = sn->f[S_EVSRC];
    ev->event_name = sn->f[S_EVNAME];
    ev->principal_arn = sn->f[S_ARN];
    ev->principal_type = sn->f[S_PTYPE];
    ev->principal_id = sn->f[S_PID];
    ev->user_name = sn->f[S_USER];
    ev->access_key = sn->f[S_KEY];
    ev->user_agent = sn->f[S_UA];
    ev->error_code = sn->f[S_ERR];
    ev->event_category = sn->f[S_CAT];
    ev->flat.leaves = sn->leaves;
    ev->flat.n = sn->n_leaves;
    ev->flat.cap = sn->n_leaves;
}

int64_t detect__snap_ms(const struct snap *sn) { return sn->ms; }
struct sv detect__snap_id(const struct snap *sn) { return sn->f[S_ID]; }
size_t detect__snap_size(const struct snap *sn) { return sn->size; }

int detect__cmp_at(int64_t ams, struct sv aid, int64_t bms, struct sv bid)
{
    if (ams != bms)
        return ams < bms ? -1 : 1;
    size_t n = aid.len < bid.len ? aid.len : bid.len;
    int c = n ? memcmp(aid.p, bid.p, n) : 0;
    if (c != 0)
        return c < 0 ? -1 : 1;
    return aid.len < bid.len ? -1 : aid.len > bid.len;
}
