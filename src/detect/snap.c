/*
 * Snapshots: what a stateful detection needs of an event after the event is
 * gone. Stateful rules fire on events read long before (a brute force is
 * proven by its twentieth attempt; the finding shows the attempts), so each
 * candidate keeps a compact copy: the common fields and the leaves whose
 * paths the engine's filter names. One allocation holds everything; the
 * restored struct event points into it.
 *
 * Reference counts are plain integers: a snapshot is only ever touched by the
 * thread that owns its collector, then by the one thread that runs the kinds,
 * except in an archive's parallel drain (state.c), where the kinds' thread
 * and the threads giving items back count with the _shared functions.
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

/* Layout: the header, then for each common field its bytes (NUL-terminated),
 * then each leaf as a packed record (path length, value length, type, escape
 * flag, path bytes + NUL, value bytes + NUL). A json_leaf costs ~56 bytes; the
 * packed form 8 plus the text, which is most of what candidates cost. */
struct snap {
    uint32_t refs;
    uint32_t size;
    uint32_t flags;
    uint16_t n_leaves;
    uint8_t source;
    bool ref;            /* only where the record is: file, record_no and the id */
    int64_t ms;
    const char *file;    /* ref: borrowed, see detect_options.input */
    uint64_t record_no;  /* ref */
    uint32_t id_len;     /* ref: the id's bytes start data */
    /* Full snapshots: data starts with struct ctab, then the texts. */
    char data[];
};

struct ctab {
    uint32_t off[S_N]; /* offset of each common field in data, 0 = absent */
    uint32_t len[S_N];
};

static struct ctab *ctab_of(struct snap *sn) { return (struct ctab *)(void *)sn->data; }
static const struct ctab *cctab_of(const struct snap *sn)
{
    return (const struct ctab *)(const void *)sn->data;
}

struct pleaf {
    uint16_t path_len;
    uint8_t type;
    uint8_t escaped;
    uint32_t val_len;
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

static bool keep(const struct snap_filter *f, const struct json_leaf *l)
{
    return l->path_len < 65535 && (!f || detect__snapf_has(f, l->path, l->path_len, l->path_hash));
}

static void put_bytes(char *base, size_t *at, const void *p, size_t len)
{
    if (len)
        memcpy(base + *at, p, len);
    *at += len;
}

static void put_leaf(char *base, size_t *at, const char *path, size_t plen, const char *val,
                     size_t vlen, uint8_t type, uint8_t esc)
{
    struct pleaf h = { (uint16_t)plen, type, esc, (uint32_t)vlen };
    put_bytes(base, at, &h, sizeof(h));
    put_bytes(base, at, path, plen);
    base[(*at)++] = '\0';
    put_bytes(base, at, val, vlen);
    base[(*at)++] = '\0';
}

/* Snapshots of at most DETECT_POOL_MAX bytes (by reference, and most flow
 * and DNS ones) come from the pool; the size says where one goes back. */
static struct snap *snap_alloc(struct detect_pool *pool, size_t size)
{
    return size <= DETECT_POOL_MAX ? detect__pool_alloc(pool, size) : xmalloc(size);
}

struct snap *detect__snap_new(struct detect_pool *pool, const struct event *ev,
                              const struct snap_filter *f, const char *extra_path,
                              struct sv extra_val)
{
    struct sv c[S_N];
    common(ev, c);
    size_t n = 0, bytes = sizeof(struct ctab) + 1; /* offset 0 means "absent" */
    for (size_t i = 0; i < ev->flat.n; i++) {
        const struct json_leaf *l = &ev->flat.leaves[i];
        if (!keep(f, l) || n == 65535)
            continue;
        n++;
        bytes += sizeof(struct pleaf) + l->path_len + 1 + l->val_len + 1;
    }
    if (extra_path) {
        n++;
        bytes += sizeof(struct pleaf) + strlen(extra_path) + 1 + extra_val.len + 1;
    }
    for (int i = 0; i < S_N; i++)
        bytes += c[i].p ? c[i].len + 1 : 0;
    size_t size = sizeof(struct snap) + bytes;
    struct snap *sn = snap_alloc(pool, size);
    memset(sn, 0, sizeof(*sn));
    sn->refs = 1;
    sn->size = (uint32_t)size;
    sn->ms = ev->time_ms;
    sn->source = (uint8_t)ev->source;
    sn->flags = ev->flags;
    struct ctab *t = ctab_of(sn);
    memset(t, 0, sizeof(*t));
    size_t at = sizeof(struct ctab) + 1;
    sn->data[at - 1] = '\0';
    for (int i = 0; i < S_N; i++) {
        if (c[i].p == NULL)
            continue;
        t->off[i] = (uint32_t)at;
        t->len[i] = (uint32_t)c[i].len;
        put_bytes(sn->data, &at, c[i].p, c[i].len);
        sn->data[at++] = '\0';
    }
    size_t k = 0;
    for (size_t i = 0; i < ev->flat.n && k < 65535; i++) {
        const struct json_leaf *l = &ev->flat.leaves[i];
        if (!keep(f, l))
            continue;
        put_leaf(sn->data, &at, l->path, l->path_len, l->val, l->val_len, l->type, l->escaped);
        k++;
    }
    if (extra_path) {
        put_leaf(sn->data, &at, extra_path, strlen(extra_path), extra_val.p ? extra_val.p : "",
                 extra_val.len, JSON_STRING, 0);
        k++;
    }
    sn->n_leaves = (uint16_t)k;
    return sn;
}

struct snap *detect__snap_ref(struct snap *sn)
{
    sn->refs++;
    return sn;
}

bool detect__snap_last(const struct snap *sn) { return sn && sn->refs == 1; }

void detect__snap_unref_in(struct detect_pool *me, struct snap *sn)
{
    if (sn && --sn->refs == 0) {
        if (sn->size <= DETECT_POOL_MAX)
            detect__pool_put(me, sn);
        else
            free(sn);
    }
}

void detect__snap_unref(struct snap *sn) { detect__snap_unref_in(NULL, sn); }

struct snap *detect__snap_ref_shared(struct snap *sn)
{
    __atomic_add_fetch(&sn->refs, 1, __ATOMIC_RELAXED);
    return sn;
}

void detect__snap_unref_shared(struct snap *sn)
{
    /* acq_rel: whichever thread frees sees every other's last use. */
    if (sn && __atomic_sub_fetch(&sn->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        if (sn->size <= DETECT_POOL_MAX)
            detect__pool_put(NULL, sn);
        else
            free(sn);
    }
}

static struct sv field(const struct snap *sn, int i)
{
    if (sn->ref)
        return i == S_ID && sn->id_len ? sv_make(sn->data, sn->id_len) : SV_NULL;
    const struct ctab *t = cctab_of(sn);
    return t->off[i] ? sv_make(sn->data + t->off[i], t->len[i]) : SV_NULL;
}

void detect__snap_event(const struct snap *sn, struct event *ev, struct arena *a)
{
    memset(ev, 0, sizeof(*ev));
    ev->source = (enum event_source)sn->source;
    ev->flags = sn->flags;
    ev->time_ms = sn->ms;
    ev->id = field(sn, S_ID);
    ev->account = field(sn, S_ACCOUNT);
    ev->region = field(sn, S_REGION);
    ev->src_ip = field(sn, S_SRC_IP);
    ev->event_source = field(sn, S_EVSRC);
    ev->event_name = field(sn, S_EVNAME);
    ev->principal_arn = field(sn, S_ARN);
    ev->principal_type = field(sn, S_PTYPE);
    ev->principal_id = field(sn, S_PID);
    ev->user_name = field(sn, S_USER);
    ev->access_key = field(sn, S_KEY);
    ev->user_agent = field(sn, S_UA);
    ev->error_code = field(sn, S_ERR);
    ev->event_category = field(sn, S_CAT);
    struct json_leaf *lv = arena_zalloc(a, (sn->n_leaves ? sn->n_leaves : 1) * sizeof(*lv));
    /* Leaves follow the common fields. */
    const struct ctab *t = cctab_of(sn);
    size_t at = sizeof(struct ctab) + 1;
    for (int i = 0; i < S_N; i++)
        if (t->off[i])
            at = t->off[i] + t->len[i] + 1;
    for (size_t k = 0; k < sn->n_leaves; k++) {
        struct pleaf h;
        memcpy(&h, sn->data + at, sizeof(h));
        at += sizeof(h);
        lv[k].path = sn->data + at;
        lv[k].path_len = h.path_len;
        lv[k].path_hash = json_path_hash(lv[k].path, h.path_len);
        at += h.path_len + 1u;
        lv[k].val = sn->data + at;
        lv[k].val_len = h.val_len;
        lv[k].type = h.type;
        lv[k].escaped = h.escaped;
        at += h.val_len + 1u;
    }
    ev->flat.leaves = lv;
    ev->flat.n = sn->n_leaves;
    ev->flat.cap = sn->n_leaves;
}

struct sv detect__snap_id(const struct snap *sn) { return field(sn, S_ID); }
int64_t detect__snap_ms(const struct snap *sn) { return sn->ms; }
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

struct snap *detect__snap_new_ref(struct detect_pool *pool, const struct event *ev)
{
    size_t size = sizeof(struct snap) + ev->id.len + 1;
    struct snap *sn = snap_alloc(pool, size);
    memset(sn, 0, sizeof(*sn));
    sn->refs = 1;
    sn->size = (uint32_t)size;
    sn->ms = ev->time_ms;
    sn->source = (uint8_t)ev->source;
    sn->flags = ev->flags;
    sn->ref = true;
    sn->file = ev->file;
    sn->record_no = ev->record_no;
    sn->id_len = (uint32_t)ev->id.len;
    if (ev->id.len)
        memcpy(sn->data, ev->id.p, ev->id.len);
    sn->data[ev->id.len] = '\0';
    return sn;
}

bool detect__snap_is_ref(const struct snap *sn, const char **file, uint64_t *record_no)
{
    if (!sn->ref)
        return false;
    *file = sn->file;
    *record_no = sn->record_no;
    return true;
}

enum event_source detect__snap_source(const struct snap *sn)
{
    return (enum event_source)sn->source;
}
