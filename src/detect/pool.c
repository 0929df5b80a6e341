/*
 * The stateful candidates' small objects (items, their texts, rate buckets,
 * snapshots by reference) come from a pool per scratch, not from malloc.
 *
 * Why: a worker thread makes them and the thread that runs the kinds frees
 * them, slices later. With malloc those frees went into the worker's arena
 * (its lock, its fastbins), and the worker's next large allocation (a table
 * doubling) consolidated every one of them: on the bench corpus glibc's
 * free, unlink and consolidation were ~3% of the stateful run, half of it on
 * the workers for frees they did not make. Here a free from another thread
 * is one push onto a lock-free list of the owning pool, which the owner
 * takes whole (one exchange) the next time the class's own list is empty:
 * the owner reuses the memory the kinds gave back, nothing coalesces, and
 * memory stays what the live objects need, per size class.
 *
 * Layout: chunks of CHUNK bytes aligned on CHUNK, each of one size class
 * (multiples of GRAIN up to DETECT_POOL_MAX); a header at the chunk's start
 * names the pool and the class, so a free needs only the pointer. Free
 * objects link through their first word.
 *
 * Threads: the owner allocates and frees locally (plain fields); any thread
 * may free into it (the atomic `remote` lists, multi-producer, emptied by
 * the owner with an exchange, so there is no ABA). The pool must outlive
 * every object it gave out (detect_int.h states it for the scratch).
 */
#include "detect/detect_int.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
/* A free object stays poisoned but for its link word, so that ASan still
 * catches most uses after a free. */
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define CHUNK ((size_t)256 * 1024)
#define GRAIN 16u
#define NCLS (DETECT_POOL_MAX / GRAIN)
#define HEAD 16u /* the chunk header, rounded to GRAIN */

struct pchunk {
    struct detect_pool *pool;
    uint32_t cls;
};

struct detect_pool {
    /* The owner's. */
    void *free[NCLS];
    char *next[NCLS], *end[NCLS]; /* unused room in the class's newest chunk */
    void **chunks;
    size_t n_chunks, cap_chunks;
    char pad[64]; /* keeps the owner's fields off the lines other threads write */
    /* Other threads' frees, per class. */
    _Atomic(uintptr_t) remote[NCLS];
};

struct detect_pool *detect__pool_new(void)
{
    struct detect_pool *p = xcalloc(1, sizeof(*p));
    for (size_t c = 0; c < NCLS; c++)
        atomic_init(&p->remote[c], 0);
    return p;
}

void detect__pool_free(struct detect_pool *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_chunks; i++) {
        UNPOISON(p->chunks[i], CHUNK);
        free(p->chunks[i]);
    }
    free(p->chunks);
    free(p);
}

static size_t cls_size(size_t c) { return (c + 1) * GRAIN; }

static void new_chunk(struct detect_pool *p, size_t c)
{
    char *ch = aligned_alloc(CHUNK, CHUNK);
    if (!ch)
        abort(); /* OOM is not an error path (core.h) */
    struct pchunk *h = (struct pchunk *)(void *)ch;
    h->pool = p;
    h->cls = (uint32_t)c;
    if (p->n_chunks == p->cap_chunks) {
        p->cap_chunks = p->cap_chunks ? 2 * p->cap_chunks : 16;
        p->chunks = xrealloc(p->chunks, p->cap_chunks * sizeof(*p->chunks));
    }
    p->chunks[p->n_chunks++] = ch;
    size_t sz = cls_size(c);
    p->next[c] = ch + HEAD;
    p->end[c] = ch + HEAD + (CHUNK - HEAD) / sz * sz;
}

void *detect__pool_alloc(struct detect_pool *p, size_t size)
{
    size_t c = size ? (size - 1) / GRAIN : 0;
    void *o = p->free[c];
    if (!o && atomic_load_explicit(&p->remote[c], memory_order_relaxed))
        o = (void *)atomic_exchange_explicit(&p->remote[c], 0, memory_order_acquire);
    if (o) {
        UNPOISON(o, cls_size(c));
        void *next;
        memcpy(&next, o, sizeof(next));
        p->free[c] = next;
        /* Free objects are cold: most were freed by the thread that ran the
         * kinds, so their lines sit in another core's cache, and reading
         * the link above was the pool's whole cost (perf: 3.8% of a
         * CloudTrail-only run on that one load). Fetch the next one now,
         * for writing, so that the class's next allocation finds it here. */
        if (next)
            __builtin_prefetch(next, 1, 3);
        return o;
    }
    if (p->next[c] == p->end[c])
        new_chunk(p, c);
    o = p->next[c];
    p->next[c] += cls_size(c);
    return o;
}

void *detect__pool_zalloc(struct detect_pool *p, size_t size)
{
    void *o = detect__pool_alloc(p, size);
    memset(o, 0, size);
    return o;
}

void detect__pool_put(struct detect_pool *me, void *o)
{
    if (!o)
        return;
    const struct pchunk *h = (const struct pchunk *)((uintptr_t)o & ~(uintptr_t)(CHUNK - 1));
    struct detect_pool *p = h->pool;
    size_t c = h->cls;
    POISON((char *)o + sizeof(void *), cls_size(c) - sizeof(void *));
    if (p == me) {
        memcpy(o, &p->free[c], sizeof(void *));
        p->free[c] = o;
        return;
    }
    uintptr_t head = atomic_load_explicit(&p->remote[c], memory_order_relaxed);
    do
        memcpy(o, &head, sizeof(head));
    while (!atomic_compare_exchange_weak_explicit(&p->remote[c], &head, (uintptr_t)o,
                                                  memory_order_release, memory_order_relaxed));
}

size_t detect__pool_bytes(const struct detect_pool *p) { return p ? p->n_chunks * CHUNK : 0; }
