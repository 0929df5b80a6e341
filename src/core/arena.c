/* Bump allocator whose blocks survive resets; see core.h. */
#include "core.h"

#include <stdlib.h>
#include <string.h>

struct arena_block {
    struct arena_block *next;
    size_t size; /* usable bytes in data[] */
    size_t used;
    _Alignas(16) unsigned char data[];
};

void arena_init(struct arena *a, size_t block_size)
{
    a->head = NULL;
    a->free = NULL;
    a->block_size = block_size ? block_size : 64 * 1024;
}

static struct arena_block *new_block(struct arena *a, size_t n)
{
    /* Reuse a kept block when the request fits one of the standard size. */
    if (n <= a->block_size && a->free != NULL) {
        struct arena_block *b = a->free;
        a->free = b->next;
        b->used = 0;
        return b;
    }
    size_t size = n > a->block_size ? n : a->block_size;
    struct arena_block *b = xmalloc(sizeof(*b) + size);
    b->size = size;
    b->used = 0;
    return b;
}

void *arena_alloc(struct arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    struct arena_block *b = a->head;
    if (b == NULL || b->size - b->used < n) {
        b = new_block(a, n);
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

void *arena_zalloc(struct arena *a, size_t n)
{
    void *p = arena_alloc(a, n);
    memset(p, 0, n);
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void arena_reset(struct arena *a)
{
    struct arena_block *b = a->head;
    while (b != NULL) {
        struct arena_block *next = b->next;
        if (b->size == a->block_size) {
            b->next = a->free;
            a->free = b;
        } else {
            free(b); /* oversized blocks are not worth keeping */
        }
        b = next;
    }
    a->head = NULL;
}

void arena_free(struct arena *a)
{
    arena_reset(a);
    for (struct arena_block *b = a->free; b != NULL;) {
        struct arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->free = NULL;
}
