/*
 * The automaton: every sub-rule of every pattern is a path in one trie whose
 * edges are (event path, field condition). A node's outgoing edges are grouped
 * by path; each group holds the distinct value patterns of its edges, indexed
 * (hash tables for exact values, by length for prefixes/suffixes, fold keys
 * for equals-ignore-case) so that one event value finds the edges it satisfies
 * without looking at the others. Matching walks the trie from the root in the
 * order event-ruler's StructuredFinder does (fields sorted by path), carrying
 * the array-element constraints of the values chosen so far.
 * See docs/internals/match.md.
 */
#include "match/match_int.h"

#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX
#define MULTI (UINT32_MAX - 1)
/* groups with more patterns than this get hash indexes */
#define SMALL_GROUP 6

struct bedge {
    uint32_t parent, path, child;
    uint32_t n_pat;
    bool absent;
    const struct match_pat **pats;
};

struct bterm {
    uint32_t node, slot;
};

struct mnode {
    uint32_t g_first, g_n; /* groups */
    uint32_t t_first, t_n; /* terminal rule slots */
    uint32_t sole;         /* the one slot reachable below, NONE, or MULTI */
};

struct mpred {
    const struct match_pat *pat;
    uint32_t k_first, k_n; /* children in kids[] */
};

struct hslot {
    uint64_t h;
    uint32_t pred; /* NONE = empty */
};

struct mgroup {
    uint32_t path;
    uint32_t p_first, p_n;   /* preds */
    uint32_t a_first, a_n;   /* children reached when the path is absent */
    uint32_t l_first, l_n;   /* preds evaluated one by one (lin[]) */
    uint32_t h_first, h_cap; /* hash slots; h_cap 0 = no index */
    uint32_t len_first;      /* lengths for prefix, suffix, prefix/suffix-eic */
    uint16_t n_len[4];
    uint16_t hkinds;         /* bit per hashed kind present */
    uint8_t need;            /* MV_* bits any pattern of the group needs */
};

struct match_set {
    struct arena *arenas; /* one per added pattern: a failed add frees its own */
    size_t n_arenas, cap_arenas;
    bool built;

    /* paths */
    struct hmap path_ids; /* path -> id + 1 */
    char **paths;
    uint32_t *path_lens;
    size_t n_paths, cap_paths;
    struct hslot *path_tab; /* by json_path_hash, after build */
    uint32_t path_mask;

    /* rule ids */
    struct hmap slot_ids; /* 4-byte id -> slot + 1 */
    uint32_t *slot_id;
    size_t n_slots, cap_slots;

    /* trie while adding */
    struct hmap edge_map; /* parent, path, condition key -> child + 1 */
    struct bedge *edges;
    size_t n_edges, cap_edges;
    struct bterm *terms;
    size_t n_terms, cap_terms;
    uint32_t n_nodes;

    /* frozen */
    struct mnode *nodes;
    struct mgroup *groups;
    size_t n_groups;
    struct mpred *preds;
    size_t n_preds;
    uint32_t *kids, *akids, *lin, *term_slots, *lens;
    struct hslot *hslots;
};

/* ---- scratch --------------------------------------------------------------- */

struct memo {
    uint64_t h;
    uint32_t node, epoch;
    uint32_t off, n; /* constraint copy in memo_cs */
};

struct match_scratch {
    struct arena arena;
    struct buf tmp;
    uint32_t epoch;
    struct match_val *vals;
    size_t cap_vals;
    uint32_t *order, *vpid, *touched;
    /* per path id */
    uint32_t *path_epoch, *path_start, *path_cnt, *path_fill;
    size_t cap_paths;
    /* per node and slot */
    uint32_t *node_epoch, *slot_epoch;
    size_t cap_nodes, cap_slots;
    /* constraint stack */
    struct json_arrpos *cs;
    size_t n_cs, cap_cs;
    /* children to visit, a stack shared by the recursion */
    uint32_t *hits;
    size_t n_hits, cap_hits;
    struct memo *memo;
    size_t memo_cap, memo_n;
    struct json_arrpos *memo_cs;
    size_t n_memo_cs, cap_memo_cs;
    uint32_t *out;
    size_t n_out, cap_out;
};

/* ---- building ------------------------------------------------------------------ */

struct match_set *match_set_new(void)
{
    struct match_set *ms = xcalloc(1, sizeof(*ms));
    hmap_init(&ms->path_ids);
    hmap_init(&ms->slot_ids);
    hmap_init(&ms->edge_map);
    ms->n_nodes = 1; /* the root */
    return ms;
}

void match_set_free(struct match_set *ms)
{
    if (!ms)
        return;
    for (size_t i = 0; i < ms->n_arenas; i++)
        arena_free(&ms->arenas[i]);
    free(ms->arenas);
    hmap_free(&ms->path_ids);
    hmap_free(&ms->slot_ids);
    hmap_free(&ms->edge_map);
    for (size_t i = 0; i < ms->n_paths; i++)
        free(ms->paths[i]);
    free(ms->paths);
    free(ms->path_lens);
    free(ms->path_tab);
    free(ms->slot_id);
    for (size_t i = 0; i < ms->n_edges; i++)
        free(ms->edges[i].pats);
    free(ms->edges);
    free(ms->terms);
    free(ms->nodes);
    free(ms->groups);
    free(ms->preds);
    free(ms->kids);
    free(ms->akids);
    free(ms->lin);
    free(ms->term_slots);
    free(ms->lens);
    free(ms->hslots);
    free(ms);
}

#define GROW(arr, n, cap)                                                   \
    do {                                                                    \
        if ((n) == (cap)) {                                                 \
            (cap) = (cap) ? (cap) * 2 : 16;                                 \
            (arr) = xrealloc((arr), (cap) * sizeof(*(arr)));                \
        }                                                                   \
    } while (0)

static uint32_t path_id(struct match_set *ms, const char *path, size_t len)
{
    void *v = hmap_get(&ms->path_ids, path, len);
    if (v)
        return (uint32_t)((uintptr_t)v - 1);
    GROW(ms->paths, ms->n_paths, ms->cap_paths);
    ms->path_lens = xrealloc(ms->path_lens, ms->cap_paths * sizeof(*ms->path_lens));
    ms->paths[ms->n_paths] = xstrndup(path, len);
    ms->path_lens[ms->n_paths] = (uint32_t)len;
    hmap_put(&ms->path_ids, path, len, (void *)(uintptr_t)(ms->n_paths + 1));
    return (uint32_t)ms->n_paths++;
}

static uint32_t slot_for(struct match_set *ms, uint32_t id)
{
    void *v = hmap_get(&ms->slot_ids, (const char *)&id, sizeof(id));
    if (v)
        return (uint32_t)((uintptr_t)v - 1);
    GROW(ms->slot_id, ms->n_slots, ms->cap_slots);
    ms->slot_id[ms->n_slots] = id;
    hmap_put(&ms->slot_ids, (const char *)&id, sizeof(id), (void *)(uintptr_t)(ms->n_slots + 1));
    return (uint32_t)ms->n_slots++;
}

struct keyed {
    const struct match_pat *p;
    size_t off, len; /* key bytes in a shared buf */
    const char *k;   /* set once the buf stops growing */
};

static int keyed_cmp(const void *a, const void *b)
{
    const struct keyed *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = n ? memcmp(x->k, y->k, n) : 0;
    if (c)
        return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

/* Adds one field edge below parent, or finds the existing identical one. The
 * condition key is the sorted set of its pattern keys plus the absent flag, so
 * fields that accept the same values share a child. */
static uint32_t add_edge(struct match_set *ms, uint32_t parent, const struct match_field *f,
                         struct buf *kb, struct buf *ek)
{
    uint32_t path = path_id(ms, f->path, f->path_len);
    struct keyed *ks = xmalloc((f->n_pat + 1) * sizeof(*ks));
    buf_reset(kb);
    for (uint32_t i = 0; i < f->n_pat; i++) {
        ks[i].p = f->pats[i];
        ks[i].off = kb->len;
        match__pat_key(f->pats[i], kb);
        ks[i].len = kb->len - ks[i].off;
    }
    for (uint32_t i = 0; i < f->n_pat; i++)
        ks[i].k = kb->p + ks[i].off;
    qsort(ks, f->n_pat, sizeof(*ks), keyed_cmp);
    buf_reset(ek);
    buf_append(ek, &parent, sizeof(parent));
    buf_append(ek, &path, sizeof(path));
    buf_putc(ek, f->absent ? 1 : 0);
    uint32_t n = 0;
    for (uint32_t i = 0; i < f->n_pat; i++) {
        if (i > 0 && ks[i].len == ks[n - 1].len && memcmp(ks[i].k, ks[n - 1].k, ks[i].len) == 0)
            continue;
        ks[n++] = ks[i];
        uint32_t l = (uint32_t)ks[i].len;
        buf_append(ek, &l, sizeof(l));
        buf_append(ek, kb->p + ks[i].off, ks[i].len);
    }
    void *v = hmap_get(&ms->edge_map, ek->p, ek->len);
    if (v) {
        free(ks);
        return (uint32_t)((uintptr_t)v - 1);
    }
    uint32_t child = ms->n_nodes++;
    GROW(ms->edges, ms->n_edges, ms->cap_edges);
    struct bedge *e = &ms->edges[ms->n_edges++];
    e->parent = parent;
    e->path = path;
    e->child = child;
    e->absent = f->absent;
    e->n_pat = n;
    e->pats = xmalloc((n + 1) * sizeof(*e->pats));
    for (uint32_t i = 0; i < n; i++)
        e->pats[i] = ks[i].p;
    free(ks);
    hmap_put(&ms->edge_map, ek->p, ek->len, (void *)(uintptr_t)(child + 1));
    return child;
}

int match_set_add(struct match_set *ms, const char *pattern, size_t len, uint32_t id,
                  struct err *err)
{
    if (ms->built)
        return err_set(err, ERR_USAGE, "match set already built");
    struct arena a;
    arena_init(&a, 4096);
    struct match_rule rule;
    int rc = match__compile(&a, pattern, len, &rule, err);
    if (rc != 0) {
        arena_free(&a);
        return rc;
    }
    GROW(ms->arenas, ms->n_arenas, ms->cap_arenas);
    ms->arenas[ms->n_arenas++] = a;
    uint32_t slot = slot_for(ms, id);
    struct buf kb, ek;
    buf_init(&kb, 0);
    buf_init(&ek, 0);
    for (uint32_t s = 0; s < rule.n_sub; s++) {
        const struct match_subrule *sr = &rule.subs[s];
        uint32_t node = 0;
        for (uint32_t f = 0; f < sr->n_field; f++)
            node = add_edge(ms, node, &sr->fields[f], &kb, &ek);
        GROW(ms->terms, ms->n_terms, ms->cap_terms);
        ms->terms[ms->n_terms++] = (struct bterm){ node, slot };
    }
    buf_free(&kb);
    buf_free(&ek);
    return 0;
}

static int edge_cmp(const void *a, const void *b)
{
    const struct bedge *x = a, *y = b;
    if (x->parent != y->parent)
        return x->parent < y->parent ? -1 : 1;
    if (x->path != y->path)
        return x->path < y->path ? -1 : 1;
    return x->child < y->child ? -1 : x->child > y->child;
}

static int term_cmp(const void *a, const void *b)
{
    const struct bterm *x = a, *y = b;
    if (x->node != y->node)
        return x->node < y->node ? -1 : 1;
    return x->slot < y->slot ? -1 : x->slot > y->slot;
}

struct pk {
    uint32_t pred, kid;
};

static int pk_cmp(const void *a, const void *b)
{
    const struct pk *x = a, *y = b;
    if (x->pred != y->pred)
        return x->pred < y->pred ? -1 : 1;
    return x->kid < y->kid ? -1 : x->kid > y->kid;
}

enum { HK_STR, HK_LIT, HK_NUMLIT, HK_NUMEQ, HK_IP, HK_PFX, HK_SFX, HK_EIC, HK_PEIC, HK_SEIC };

static int hashed_kind(int kind)
{
    switch (kind) {
    case MP_EXACT_STR: return HK_STR;
    case MP_LIT: return HK_LIT;
    case MP_NUM_LIT: return HK_NUMLIT;
    case MP_NUM_EQ: return HK_NUMEQ;
    case MP_IP_EQ: return HK_IP;
    case MP_PREFIX: return HK_PFX;
    case MP_SUFFIX: return HK_SFX;
    case MP_EIC: return HK_EIC;
    case MP_PREFIX_EIC: return HK_PEIC;
    case MP_SUFFIX_EIC: return HK_SEIC;
    default: return -1;
    }
}

static uint64_t hkey(int hk, const void *p, size_t len)
{
    return hash64(p, len, 0x9e3779b97f4a7c15ULL * (uint64_t)(hk + 1));
}

/* The hash key of a hashable pattern, and for the affix kinds its length. */
static uint64_t pat_hash(const struct match_pat *p, int hk, struct buf *tmp, uint32_t *len_out)
{
    *len_out = 0;
    switch (hk) {
    case HK_NUMEQ:
        return hkey(hk, &p->lo, sizeof(p->lo));
    case HK_IP:
        return hkey(hk, p->ip_lo, p->ip_len);
    case HK_EIC:
    case HK_PEIC:
    case HK_SEIC:
        buf_reset(tmp);
        match__eic_key(p->eic, tmp);
        *len_out = (uint32_t)tmp->len;
        return hkey(hk, tmp->p, tmp->len);
    default:
        *len_out = p->len;
        return hkey(hk, p->s, p->len);
    }
}

static void hash_insert(struct hslot *tab, uint32_t cap, uint64_t h, uint32_t pred)
{
    for (uint32_t i = (uint32_t)h & (cap - 1);; i = (i + 1) & (cap - 1))
        if (tab[i].pred == NONE) {
            tab[i].h = h;
            tab[i].pred = pred;
            return;
        }
}

static int u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Builds the group of edges e[0..n) (same parent, same path). */
static void build_group(struct match_set *ms, struct mgroup *g, const struct bedge *e, size_t n,
                        struct hmap *pk_map, struct buf *kb, size_t *cap_preds, size_t *n_kids,
                        size_t *cap_kids, size_t *n_akids, size_t *cap_akids, size_t *n_lin,
                        size_t *cap_lin, size_t *n_lens, size_t *cap_lens, size_t *n_hslots)
{
    memset(g, 0, sizeof(*g));
    g->path = e[0].path;
    g->p_first = (uint32_t)ms->n_preds;
    g->a_first = (uint32_t)*n_akids;
    hmap_free(pk_map);
    hmap_init(pk_map);
    struct pk *pks = NULL;
    size_t n_pk = 0, cap_pk = 0;
    for (size_t i = 0; i < n; i++) {
        if (e[i].absent) {
            GROW(ms->akids, *n_akids, *cap_akids);
            ms->akids[(*n_akids)++] = e[i].child;
        }
        for (uint32_t k = 0; k < e[i].n_pat; k++) {
            buf_reset(kb);
            match__pat_key(e[i].pats[k], kb);
            void *v = hmap_get(pk_map, kb->p, kb->len);
            uint32_t pred;
            if (v) {
                pred = (uint32_t)((uintptr_t)v - 1);
            } else {
                GROW(ms->preds, ms->n_preds, *cap_preds);
                pred = (uint32_t)ms->n_preds++;
                ms->preds[pred] = (struct mpred){ e[i].pats[k], 0, 0 };
                hmap_put(pk_map, kb->p, kb->len, (void *)(uintptr_t)(pred + 1));
            }
            GROW(pks, n_pk, cap_pk);
            pks[n_pk++] = (struct pk){ pred, e[i].child };
        }
    }
    g->a_n = (uint32_t)(*n_akids - g->a_first);
    g->p_n = (uint32_t)(ms->n_preds - g->p_first);
    if (n_pk)
        qsort(pks, n_pk, sizeof(*pks), pk_cmp);
    for (size_t i = 0; i < n_pk; i++) {
        if (i > 0 && pks[i].pred == pks[i - 1].pred && pks[i].kid == pks[i - 1].kid)
            continue;
        struct mpred *p = &ms->preds[pks[i].pred];
        if (p->k_n == 0)
            p->k_first = (uint32_t)*n_kids;
        GROW(ms->kids, *n_kids, *cap_kids);
        ms->kids[(*n_kids)++] = pks[i].kid;
        p->k_n++;
    }
    free(pks);

    for (uint32_t i = 0; i < g->p_n; i++)
        g->need |= (uint8_t)match__pat_needs(ms->preds[g->p_first + i].pat);
    g->l_first = (uint32_t)*n_lin;
    if (g->p_n <= SMALL_GROUP) {
        for (uint32_t i = 0; i < g->p_n; i++) {
            GROW(ms->lin, *n_lin, *cap_lin);
            ms->lin[(*n_lin)++] = g->p_first + i;
        }
        g->l_n = g->p_n;
        return;
    }
    /* hash index for the hashable kinds, plus the distinct affix lengths */
    uint32_t n_hashed = 0;
    for (uint32_t i = 0; i < g->p_n; i++) {
        int hk = hashed_kind(ms->preds[g->p_first + i].pat->kind);
        if (hk < 0) {
            GROW(ms->lin, *n_lin, *cap_lin);
            ms->lin[(*n_lin)++] = g->p_first + i;
        } else {
            n_hashed++;
            g->hkinds |= (uint16_t)(1u << hk);
        }
    }
    g->l_n = (uint32_t)(*n_lin - g->l_first);
    if (g->hkinds & ((1u << HK_EIC) | (1u << HK_PEIC) | (1u << HK_SEIC)))
        g->need |= MV_FOLD_DONE;
    if (g->hkinds & ((1u << HK_NUMEQ)))
        g->need |= MV_NUM_DONE;
    if (g->hkinds & ((1u << HK_IP)))
        g->need |= MV_IP_DONE;
    if (g->hkinds & ((1u << HK_PFX) | (1u << HK_SFX)))
        g->need |= MV_Q_DONE;
    g->need |= MV_STR_DONE;
    uint32_t cap = 16;
    while (cap < n_hashed * 2)
        cap *= 2;
    g->h_first = (uint32_t)*n_hslots;
    g->h_cap = cap;
    ms->hslots = xrealloc(ms->hslots, (*n_hslots + cap) * sizeof(*ms->hslots));
    for (uint32_t i = 0; i < cap; i++)
        ms->hslots[*n_hslots + i].pred = NONE;
    *n_hslots += cap;
    uint32_t *lens[4] = { NULL, NULL, NULL, NULL };
    size_t nl[4] = { 0, 0, 0, 0 };
    struct buf tmp;
    buf_init(&tmp, 0);
    for (uint32_t i = 0; i < g->p_n; i++) {
        uint32_t pred = g->p_first + i;
        int hk = hashed_kind(ms->preds[pred].pat->kind);
        if (hk < 0)
            continue;
        uint32_t l;
        uint64_t h = pat_hash(ms->preds[pred].pat, hk, &tmp, &l);
        hash_insert(ms->hslots + g->h_first, cap, h, pred);
        int which = hk == HK_PFX ? 0 : hk == HK_SFX ? 1 : hk == HK_PEIC ? 2 : hk == HK_SEIC ? 3 : -1;
        if (which >= 0) {
            lens[which] = xrealloc(lens[which], (nl[which] + 1) * sizeof(uint32_t));
            lens[which][nl[which]++] = l;
        }
    }
    buf_free(&tmp);
    g->len_first = (uint32_t)*n_lens;
    for (int w = 0; w < 4; w++) {
        if (nl[w])
            qsort(lens[w], nl[w], sizeof(uint32_t), u32_cmp);
        uint16_t k = 0;
        for (size_t i = 0; i < nl[w]; i++) {
            if (i > 0 && lens[w][i] == lens[w][i - 1])
                continue;
            GROW(ms->lens, *n_lens, *cap_lens);
            ms->lens[(*n_lens)++] = lens[w][i];
            k++;
        }
        g->n_len[w] = k;
        free(lens[w]);
    }
}

static void build_path_table(struct match_set *ms)
{
    uint32_t cap = 16;
    while (cap < ms->n_paths * 2)
        cap *= 2;
    ms->path_tab = xmalloc(cap * sizeof(*ms->path_tab));
    for (uint32_t i = 0; i < cap; i++)
        ms->path_tab[i].pred = NONE;
    ms->path_mask = cap - 1;
    for (size_t i = 0; i < ms->n_paths; i++)
        hash_insert(ms->path_tab, cap, json_path_hash(ms->paths[i], ms->path_lens[i]),
                    (uint32_t)i);
}

void match_set_build(struct match_set *ms)
{
    if (ms->built)
        return;
    ms->built = true;
    build_path_table(ms);
    ms->nodes = xcalloc(ms->n_nodes, sizeof(*ms->nodes));
    if (ms->n_edges)
        qsort(ms->edges, ms->n_edges, sizeof(*ms->edges), edge_cmp);
    size_t cap_groups = 0, cap_preds = 0, n_kids = 0, cap_kids = 0, n_akids = 0, cap_akids = 0;
    size_t n_lin = 0, cap_lin = 0, n_lens = 0, cap_lens = 0, n_hslots = 0;
    struct hmap pk_map;
    hmap_init(&pk_map);
    struct buf kb;
    buf_init(&kb, 0);
    uint32_t *parent = xmalloc(ms->n_nodes * sizeof(uint32_t));
    parent[0] = NONE;
    for (size_t i = 0; i < ms->n_edges;) {
        size_t j = i;
        while (j < ms->n_edges && ms->edges[j].parent == ms->edges[i].parent &&
               ms->edges[j].path == ms->edges[i].path)
            j++;
        GROW(ms->groups, ms->n_groups, cap_groups);
        struct mnode *nd = &ms->nodes[ms->edges[i].parent];
        if (nd->g_n == 0)
            nd->g_first = (uint32_t)ms->n_groups;
        nd->g_n++;
        build_group(ms, &ms->groups[ms->n_groups++], ms->edges + i, j - i, &pk_map, &kb,
                    &cap_preds, &n_kids, &cap_kids, &n_akids, &cap_akids, &n_lin, &cap_lin,
                    &n_lens, &cap_lens, &n_hslots);
        for (size_t k = i; k < j; k++)
            parent[ms->edges[k].child] = ms->edges[k].parent;
        i = j;
    }
    hmap_free(&pk_map);
    buf_free(&kb);

    if (ms->n_terms)
        qsort(ms->terms, ms->n_terms, sizeof(*ms->terms), term_cmp);
    ms->term_slots = xmalloc((ms->n_terms + 1) * sizeof(uint32_t));
    size_t nt = 0;
    for (uint32_t i = 0; i < ms->n_nodes; i++)
        ms->nodes[i].sole = NONE;
    for (size_t i = 0; i < ms->n_terms; i++) {
        if (i > 0 && ms->terms[i].node == ms->terms[i - 1].node &&
            ms->terms[i].slot == ms->terms[i - 1].slot)
            continue;
        struct mnode *nd = &ms->nodes[ms->terms[i].node];
        if (nd->t_n == 0)
            nd->t_first = (uint32_t)nt;
        nd->t_n++;
        ms->term_slots[nt++] = ms->terms[i].slot;
        nd->sole = nd->sole == NONE || nd->sole == ms->terms[i].slot ? ms->terms[i].slot : MULTI;
    }
    /* children are always numbered after their parent */
    for (uint32_t i = ms->n_nodes; i-- > 1;) {
        uint32_t s = ms->nodes[i].sole, p = parent[i];
        if (s == NONE)
            continue;
        uint32_t *ps = &ms->nodes[p].sole;
        *ps = *ps == NONE || *ps == s ? s : MULTI;
    }
    free(parent);
    /* the build-time structures are no longer needed */
    for (size_t i = 0; i < ms->n_edges; i++)
        ms->edges[i].pats = (free(ms->edges[i].pats), NULL);
    hmap_free(&ms->edge_map);
}

void match_set_paths(const struct match_set *ms, struct json_pathset *ps)
{
    for (size_t i = 0; i < ms->n_paths; i++)
        json_pathset_add(ps, ms->paths[i], ms->path_lens[i]);
}

/* ---- scratch ------------------------------------------------------------------------ */

struct match_scratch *match_scratch_new(void)
{
    struct match_scratch *s = xcalloc(1, sizeof(*s));
    arena_init(&s->arena, 0);
    buf_init(&s->tmp, 0);
    return s;
}

void match_scratch_free(struct match_scratch *s)
{
    if (!s)
        return;
    arena_free(&s->arena);
    buf_free(&s->tmp);
    free(s->vals);
    free(s->order);
    free(s->vpid);
    free(s->touched);
    free(s->path_epoch);
    free(s->path_start);
    free(s->path_cnt);
    free(s->path_fill);
    free(s->node_epoch);
    free(s->slot_epoch);
    free(s->cs);
    free(s->hits);
    free(s->memo);
    free(s->memo_cs);
    free(s->out);
    free(s);
}

static void scratch_fit(struct match_scratch *s, const struct match_set *ms, size_t n_leaves)
{
    if (s->cap_vals < n_leaves) {
        s->cap_vals = n_leaves + 16;
        s->vals = xrealloc(s->vals, s->cap_vals * sizeof(*s->vals));
        s->order = xrealloc(s->order, s->cap_vals * sizeof(*s->order));
        s->vpid = xrealloc(s->vpid, s->cap_vals * sizeof(*s->vpid));
        s->touched = xrealloc(s->touched, s->cap_vals * sizeof(*s->touched));
    }
    if (s->cap_paths < ms->n_paths) {
        size_t n = ms->n_paths;
        s->path_epoch = xrealloc(s->path_epoch, n * sizeof(uint32_t));
        memset(s->path_epoch, 0, n * sizeof(uint32_t));
        s->path_start = xrealloc(s->path_start, n * sizeof(uint32_t));
        s->path_cnt = xrealloc(s->path_cnt, n * sizeof(uint32_t));
        s->path_fill = xrealloc(s->path_fill, n * sizeof(uint32_t));
        s->cap_paths = n;
        s->epoch = 0;
    }
    if (s->cap_nodes < ms->n_nodes) {
        s->node_epoch = xrealloc(s->node_epoch, ms->n_nodes * sizeof(uint32_t));
        memset(s->node_epoch, 0, ms->n_nodes * sizeof(uint32_t));
        s->cap_nodes = ms->n_nodes;
        s->epoch = 0;
    }
    if (s->cap_slots < ms->n_slots) {
        s->slot_epoch = xrealloc(s->slot_epoch, ms->n_slots * sizeof(uint32_t));
        memset(s->slot_epoch, 0, ms->n_slots * sizeof(uint32_t));
        s->cap_slots = ms->n_slots;
        s->epoch = 0;
    }
    if (s->epoch == 0 || s->epoch == UINT32_MAX) {
        /* a scratch moved between sets, or the counter wrapped: clear stamps */
        if (s->cap_paths)
            memset(s->path_epoch, 0, s->cap_paths * sizeof(uint32_t));
        if (s->cap_nodes)
            memset(s->node_epoch, 0, s->cap_nodes * sizeof(uint32_t));
        if (s->cap_slots)
            memset(s->slot_epoch, 0, s->cap_slots * sizeof(uint32_t));
        for (size_t i = 0; i < s->memo_cap; i++)
            s->memo[i].epoch = 0;
        s->epoch = 0;
    }
    s->epoch++;
}

/* ---- matching -------------------------------------------------------------------------- */

struct walk {
    const struct match_set *ms;
    struct match_scratch *s;
};

static uint32_t find_path(const struct match_set *ms, const struct json_leaf *l)
{
    for (uint32_t i = (uint32_t)l->path_hash & ms->path_mask;; i = (i + 1) & ms->path_mask) {
        const struct hslot *h = &ms->path_tab[i];
        if (h->pred == NONE)
            return NONE;
        if (h->h == l->path_hash && ms->path_lens[h->pred] == l->path_len &&
            match__eq(ms->paths[h->pred], l->path, l->path_len))
            return h->pred;
    }
}

/* event-ruler records an array element position only for elements that are
 * objects or arrays: a scalar directly inside an array carries no position for
 * that array (Event.traverseArray). The leaf's innermost position is dropped
 * when the byte before the value is the array's '[' or ','. */
static bool direct_element(const struct json_leaf *l)
{
    const char *p = l->val;
    if (l->type == JSON_STRING && p[-1] == '"')
        p--;
    do
        p--;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r');
    return *p == '[' || *p == ',';
}

static bool consistent(const struct match_scratch *s, size_t off, size_t n,
                       const struct match_val *v)
{
    for (uint16_t i = 0; i < v->n_mem; i++)
        for (size_t k = 0; k < n; k++)
            if (s->cs[off + k].array == v->mem[i].array && s->cs[off + k].index != v->mem[i].index)
                return false;
    return true;
}

static uint64_t cs_hash(const struct json_arrpos *c, size_t n)
{
    uint64_t h = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t x = ((uint64_t)c[i].array << 32 | c[i].index) * 0x9e3779b97f4a7c15ULL;
        h += x ^ (x >> 29);
    }
    return h;
}

static bool cs_same(const struct json_arrpos *a, const struct json_arrpos *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < n && (b[k].array != a[i].array || b[k].index != a[i].index))
            k++;
        if (k == n)
            return false;
    }
    return true;
}

/* Records (node, constraints) as visited; false if it already was. */
static bool memo_first(struct match_scratch *s, uint32_t node, size_t off, size_t n)
{
    if (n == 0) {
        if (s->node_epoch[node] == s->epoch)
            return false;
        s->node_epoch[node] = s->epoch;
        return true;
    }
    if (s->memo_n * 2 >= s->memo_cap) {
        size_t old_cap = s->memo_cap;
        struct memo *old = s->memo;
        s->memo_cap = old_cap ? old_cap * 2 : 64;
        s->memo = xcalloc(s->memo_cap, sizeof(*s->memo));
        s->memo_n = 0;
        for (size_t i = 0; i < old_cap; i++) {
            if (old[i].epoch != s->epoch)
                continue;
            size_t k = old[i].h & (s->memo_cap - 1);
            while (s->memo[k].epoch == s->epoch)
                k = (k + 1) & (s->memo_cap - 1);
            s->memo[k] = old[i];
            s->memo_n++;
        }
        free(old);
    }
    const struct json_arrpos *c = s->cs + off;
    uint64_t h = cs_hash(c, n) ^ ((uint64_t)node * 0xff51afd7ed558ccdULL);
    size_t k = h & (s->memo_cap - 1);
    for (; s->memo[k].epoch == s->epoch; k = (k + 1) & (s->memo_cap - 1)) {
        const struct memo *m = &s->memo[k];
        if (m->h == h && m->node == node && m->n == n && cs_same(s->memo_cs + m->off, c, n))
            return false;
    }
    if (s->n_memo_cs + n > s->cap_memo_cs) {
        s->cap_memo_cs = (s->n_memo_cs + n) * 2;
        s->memo_cs = xrealloc(s->memo_cs, s->cap_memo_cs * sizeof(*s->memo_cs));
    }
    memcpy(s->memo_cs + s->n_memo_cs, c, n * sizeof(*c));
    s->memo[k] = (struct memo){ h, node, s->epoch, (uint32_t)s->n_memo_cs, (uint32_t)n };
    s->n_memo_cs += n;
    s->memo_n++;
    return true;
}

static void push_hit(struct match_scratch *s, uint32_t kid)
{
    GROW(s->hits, s->n_hits, s->cap_hits);
    s->hits[s->n_hits++] = kid;
}

static void push_kids(const struct match_set *ms, struct match_scratch *s, const struct mpred *p)
{
    for (uint32_t i = 0; i < p->k_n; i++)
        push_hit(s, ms->kids[p->k_first + i]);
}

/* Looks up every pattern of hashed kind hk whose key hashes to h and keeps the
 * ones that really accept v. */
static void probe(const struct match_set *ms, struct match_scratch *s, const struct mgroup *g,
                  int hk, uint64_t h, const struct match_val *v)
{
    const struct hslot *tab = ms->hslots + g->h_first;
    uint32_t mask = g->h_cap - 1;
    for (uint32_t i = (uint32_t)h & mask; tab[i].pred != NONE; i = (i + 1) & mask) {
        if (tab[i].h != h)
            continue;
        const struct mpred *p = &ms->preds[tab[i].pred];
        if (hashed_kind(p->pat->kind) == hk && match__pat_match(p->pat, v))
            push_kids(ms, s, p);
    }
}

static void probe_lengths(const struct match_set *ms, struct match_scratch *s,
                          const struct mgroup *g, int which, int hk, const char *str, size_t len,
                          bool from_end, const struct match_val *v)
{
    const uint32_t *lens = ms->lens + g->len_first;
    for (int w = 0; w < which; w++)
        lens += g->n_len[w];
    for (uint16_t i = 0; i < g->n_len[which]; i++) {
        size_t l = lens[i];
        if (l > len)
            break;
        probe(ms, s, g, hk, hkey(hk, from_end ? str + len - l : str, l), v);
    }
}

static void eval_group(const struct match_set *ms, struct match_scratch *s, const struct mgroup *g,
                       struct match_val *v)
{
    match__val_need(v, g->need, &s->arena, &s->tmp);
    for (uint32_t i = 0; i < g->l_n; i++) {
        const struct mpred *p = &ms->preds[ms->lin[g->l_first + i]];
        if (match__pat_match(p->pat, v))
            push_kids(ms, s, p);
    }
    if (g->h_cap == 0)
        return;
    uint16_t hk = g->hkinds;
    if (v->type == JSON_STRING) {
        if (hk & (1u << HK_STR))
            probe(ms, s, g, HK_STR, hkey(HK_STR, v->s, v->len), v);
        if ((hk & (1u << HK_IP)) && v->ip_len > 0)
            probe(ms, s, g, HK_IP, hkey(HK_IP, v->ip, (size_t)v->ip_len), v);
        if (hk & (1u << HK_PFX))
            probe_lengths(ms, s, g, 0, HK_PFX, v->q, v->qlen, false, v);
        if (hk & (1u << HK_SFX))
            probe_lengths(ms, s, g, 1, HK_SFX, v->q, v->qlen, true, v);
        if (hk & (1u << HK_EIC))
            probe(ms, s, g, HK_EIC, hkey(HK_EIC, v->f + 1, v->flen - 2), v);
        if (hk & (1u << HK_PEIC))
            probe_lengths(ms, s, g, 2, HK_PEIC, v->f, v->flen, false, v);
        if (hk & (1u << HK_SEIC))
            probe_lengths(ms, s, g, 3, HK_SEIC, v->f, v->flen, true, v);
    } else if (v->type == JSON_NUMBER) {
        if (hk & (1u << HK_NUMLIT))
            probe(ms, s, g, HK_NUMLIT, hkey(HK_NUMLIT, v->s, v->len), v);
        if ((hk & (1u << HK_NUMEQ)) && v->comparable)
            probe(ms, s, g, HK_NUMEQ, hkey(HK_NUMEQ, &v->num, sizeof(v->num)), v);
    } else if (hk & (1u << HK_LIT)) {
        probe(ms, s, g, HK_LIT, hkey(HK_LIT, v->s, v->len), v);
    }
}

static void walk(struct walk *w, uint32_t node, size_t off, size_t n);

static void visit(struct walk *w, uint32_t node, size_t off, size_t n)
{
    const struct mnode *nd = &w->ms->nodes[node];
    if (nd->sole < MULTI && w->s->slot_epoch[nd->sole] == w->s->epoch)
        return; /* everything below already matched */
    if (!memo_first(w->s, node, off, n))
        return;
    walk(w, node, off, n);
}

static void walk(struct walk *w, uint32_t node, size_t off, size_t n)
{
    const struct match_set *ms = w->ms;
    struct match_scratch *s = w->s;
    const struct mnode *nd = &ms->nodes[node];
    for (uint32_t i = 0; i < nd->t_n; i++) {
        uint32_t slot = ms->term_slots[nd->t_first + i];
        if (s->slot_epoch[slot] != s->epoch) {
            s->slot_epoch[slot] = s->epoch;
            GROW(s->out, s->n_out, s->cap_out);
            s->out[s->n_out++] = slot;
        }
    }
    for (uint32_t gi = 0; gi < nd->g_n; gi++) {
        const struct mgroup *g = &ms->groups[nd->g_first + gi];
        uint32_t first = 0, cnt = 0;
        if (s->path_epoch[g->path] == s->epoch) {
            first = s->path_start[g->path];
            cnt = s->path_cnt[g->path];
        }
        if (g->a_n) {
            /* exists:false holds when no value of the path fits the array
             * elements chosen so far (NameState.getNameTransitions) */
            bool present = false;
            for (uint32_t i = 0; i < cnt && !present; i++)
                present = consistent(s, off, n, &s->vals[s->order[first + i]]);
            if (!present)
                for (uint32_t i = 0; i < g->a_n; i++)
                    visit(w, ms->akids[g->a_first + i], off, n);
        }
        if (g->p_n == 0)
            continue;
        for (uint32_t i = 0; i < cnt; i++) {
            struct match_val *v = &s->vals[s->order[first + i]];
            if (!consistent(s, off, n, v))
                continue;
            size_t base = s->n_hits;
            eval_group(ms, s, g, v);
            if (s->n_hits == base)
                continue;
            /* the constraints below: the current ones plus v's positions */
            size_t noff = s->n_cs, nn = n;
            if (s->n_cs + n + v->n_mem > s->cap_cs) {
                s->cap_cs = (s->n_cs + n + v->n_mem) * 2 + 16;
                s->cs = xrealloc(s->cs, s->cap_cs * sizeof(*s->cs));
            }
            if (n > 0) /* cs may still be NULL */
                memmove(s->cs + noff, s->cs + off, n * sizeof(*s->cs));
            for (uint16_t k = 0; k < v->n_mem; k++) {
                bool have = false;
                for (size_t j = 0; j < n && !have; j++)
                    have = s->cs[noff + j].array == v->mem[k].array;
                if (!have)
                    s->cs[noff + nn++] = v->mem[k];
            }
            s->n_cs = noff + nn;
            for (size_t h = base; h < s->n_hits; h++)
                visit(w, s->hits[h], noff, nn);
            s->n_cs = noff;
            s->n_hits = base;
        }
    }
}

size_t match_event(const struct match_set *ms, const struct json_flat *ev,
                   struct match_scratch *s, const uint32_t **ids_out)
{
    *ids_out = NULL;
    if (!ms->built)
        return 0;
    scratch_fit(s, ms, ev->n);
    arena_reset(&s->arena);
    s->n_out = 0;
    s->n_cs = 0;
    s->n_hits = 0;
    s->memo_n = 0;
    s->n_memo_cs = 0;

    /* index the leaves some pattern reads by path id */
    size_t nv = 0, n_touched = 0;
    for (size_t i = 0; i < ev->n; i++) {
        const struct json_leaf *l = &ev->leaves[i];
        if (l->type == JSON_OBJECT || l->type == JSON_ARRAY)
            continue; /* [] and {} are not leaves to event-ruler */
        uint32_t pid = find_path(ms, l);
        if (pid == NONE)
            continue;
        if (s->path_epoch[pid] != s->epoch) {
            s->path_epoch[pid] = s->epoch;
            s->path_cnt[pid] = 0;
        }
        s->path_cnt[pid]++;
        struct match_val *v = &s->vals[nv++];
        /* Field by field: a memset of the whole value compiled to rep stos,
         * whose start-up cost showed in every leaf. ip[] is read only once
         * MV_IP_DONE has set ip_len. */
        v->leaf = l;
        v->type = l->type;
        v->done = 0;
        v->comparable = false;
        v->ip_len = 0;
        v->mem = l->arr;
        v->n_mem = l->n_arr;
        v->s = v->q = v->f = NULL;
        v->len = v->qlen = v->flen = 0;
        v->num = 0;
        if (l->n_arr && direct_element(l))
            v->n_mem--;
        s->vpid[nv - 1] = pid;
        if (s->path_cnt[pid] == 1)
            s->touched[n_touched++] = pid;
    }
    uint32_t sum = 0;
    for (size_t i = 0; i < n_touched; i++) {
        uint32_t pid = s->touched[i];
        s->path_start[pid] = s->path_fill[pid] = sum;
        sum += s->path_cnt[pid];
    }
    for (size_t i = 0; i < nv; i++)
        s->order[s->path_fill[s->vpid[i]]++] = (uint32_t)i;
    struct walk w = { ms, s };
    visit(&w, 0, 0, 0);

    for (size_t i = 0; i < s->n_out; i++)
        s->out[i] = ms->slot_id[s->out[i]];
    if (s->n_out > 1) {
        qsort(s->out, s->n_out, sizeof(uint32_t), u32_cmp);
        size_t k = 1;
        for (size_t i = 1; i < s->n_out; i++)
            if (s->out[i] != s->out[k - 1])
                s->out[k++] = s->out[i];
        s->n_out = k;
    }
    *ids_out = s->out;
    return s->n_out;
}

int match_test(const char *pattern, size_t plen, const char *event, size_t elen, bool *result,
               struct err *err)
{
    struct match_set *ms = match_set_new();
    int rc = match_set_add(ms, pattern, plen, 0, err);
    if (rc != 0) {
        match_set_free(ms);
        return rc;
    }
    match_set_build(ms);
    size_t i = 0;
    while (i < elen && (event[i] == ' ' || event[i] == '\t' || event[i] == '\n' ||
                        event[i] == '\r'))
        i++;
    struct arena a;
    arena_init(&a, 0);
    struct json_flat f;
    json_flat_init(&f);
    if (i == elen || event[i] != '{') {
        rc = err_set(err, ERR_FORMAT, "Event must be a JSON object");
    } else if ((rc = json_flatten(event, elen, NULL, &a, &f, err)) != 0) {
        rc = ERR_FORMAT;
    } else {
        struct match_scratch *s = match_scratch_new();
        const uint32_t *ids;
        *result = match_event(ms, &f, s, &ids) > 0;
        match_scratch_free(s);
    }
    json_flat_free(&f);
    arena_free(&a);
    match_set_free(ms);
    return rc;
}
