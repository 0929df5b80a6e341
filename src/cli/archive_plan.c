/*
 * archive_plan.c: the reading order and slices of an archive (archive_plan.h).
 */
#include "cli/archive_plan.h"

#include "core/core.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Files of one delivery hour (by name) make a slice: the kinds run between
 * slices, so memory follows the slices in flight, not the archive's span. */
#define SLICE_MS (3600LL * 1000)

/* {size, file index} pairs: largest first, then by index. */
static int cmp_size_desc(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    if (x[0] != y[0])
        return x[0] < y[0] ? 1 : -1;
    return x[1] < y[1] ? -1 : x[1] > y[1];
}

struct ftime {
    int64_t ms;
    const char *path;
    const char *base;
    size_t plen;
    size_t idx;
};

static int cmp_ftime(const void *a, const void *b)
{
    const struct ftime *x = a, *y = b;
    if (x->ms != y->ms)
        return x->ms < y->ms ? -1 : 1;
    return strcmp(x->path, y->path);
}

/* By delivery stream, then time. */
static int cmp_fstream(const void *a, const void *b)
{
    const struct ftime *x = a, *y = b;
    size_t m = x->plen < y->plen ? x->plen : y->plen;
    int c = memcmp(x->base, y->base, m);
    if (c == 0 && x->plen != y->plen)
        c = x->plen < y->plen ? -1 : 1;
    if (c == 0)
        c = cmp_ftime(a, b);
    return c;
}

/*
 * Files sort by the time in their name (ties by path). A file delivered at T
 * holds the records since its stream's previous delivery (the stream's first
 * file: as long a span as the gap to its next one), give or take the
 * lateness: that start, minus the lateness, is the earliest record a file can
 * bring, and a slice's watermark is the earliest over every later slice's
 * files. All of it depends only on the set of paths.
 */
void archive_plan_build(const struct input_list *files, int64_t lateness_ms, struct archive_plan *p)
{
    size_t n = files->n;
    memset(p, 0, sizeof(*p));
    p->n = n;
    p->order = xcalloc(n + 1, sizeof(*p->order));
    p->slice = xcalloc(n + 1, sizeof(*p->slice));
    p->cum = xcalloc(n + 1, sizeof(*p->cum));
    struct ftime *ft = xcalloc(n + 1, sizeof(*ft));
    p->timed = n > 0;
    for (size_t i = 0; i < n; i++) {
        ft[i].path = files->files[i].path;
        ft[i].idx = i;
        size_t off = 0;
        if (p->timed && !input_name_time(ft[i].path, &ft[i].ms, &off, &ft[i].plen)) {
            p->timed = false;
            p->untimed = ft[i].path;
        }
        ft[i].base = ft[i].path + off;
    }
    if (!p->timed) {
        for (size_t i = 0; i < n; i++)
            p->order[i] = i;
        p->n_slices = 1;
        p->end = xcalloc(1, sizeof(*p->end));
        p->wm = xcalloc(1, sizeof(*p->wm));
        p->end[0] = n;
        p->wm[0] = INT64_MAX;
    } else {
        /* Earliest record of each file, through its stream. */
        int64_t *early = xcalloc(n, sizeof(*early));
        qsort(ft, n, sizeof(*ft), cmp_fstream);
        for (size_t i = 0; i < n;) {
            size_t j = i;
            while (j < n && ft[j].plen == ft[i].plen && memcmp(ft[j].base, ft[i].base, ft[i].plen) == 0)
                j++;
            for (size_t k = i; k < j; k++) {
                size_t prev = k, next = k;
                while (prev > i && ft[prev].ms == ft[k].ms)
                    prev--;
                while (next + 1 < j && ft[next].ms == ft[k].ms)
                    next++;
                int64_t start = ft[k].ms;
                if (ft[prev].ms < ft[k].ms)
                    start = ft[prev].ms;
                else if (ft[next].ms > ft[k].ms)
                    start = ft[k].ms - (ft[next].ms - ft[k].ms);
                early[ft[k].idx] = start - lateness_ms;
            }
            i = j;
        }
        qsort(ft, n, sizeof(*ft), cmp_ftime);
        p->end = xcalloc(n, sizeof(*p->end));
        p->wm = xcalloc(n, sizeof(*p->wm));
        int64_t t0 = 0;
        for (size_t i = 0; i < n; i++) {
            p->order[i] = ft[i].idx;
            if (i == 0 || ft[i].ms >= t0 + SLICE_MS) {
                if (i > 0)
                    p->end[p->n_slices++] = i;
                t0 = ft[i].ms;
            }
            p->slice[i] = p->n_slices;
        }
        p->end[p->n_slices++] = n;
        int64_t min = INT64_MAX;
        size_t pos = n;
        for (size_t s = p->n_slices; s-- > 0;) {
            p->wm[s] = min; /* the earliest of the later slices' files */
            size_t start = s ? p->end[s - 1] : 0;
            while (pos > start) {
                pos--;
                if (early[p->order[pos]] < min)
                    min = early[p->order[pos]];
            }
        }
        free(early);
        /* A slice after which the watermark would not move runs nothing a
         * later one would not: join it to the next (long files of a stream
         * hold the watermark back, and fewer runs reduce better). */
        size_t k = 0;
        for (size_t s = 0; s < p->n_slices; s++) {
            if (s + 1 < p->n_slices && p->wm[s] == p->wm[s + 1])
                continue;
            p->end[k] = p->end[s];
            p->wm[k++] = p->wm[s];
        }
        p->n_slices = k;
        for (size_t s = 0, i = 0; s < k; s++)
            for (; i < p->end[s]; i++)
                p->slice[i] = s;
    }
    /* Inside a slice the order does not matter to the results: largest
     * first, so that the workers finish a slice together. */
    uint64_t (*sz)[2] = xcalloc(n + 1, sizeof(*sz));
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        sz[i][0] = stat(files->files[p->order[i]].path, &st) == 0 ? (uint64_t)st.st_size : 0;
        sz[i][1] = p->order[i];
    }
    for (size_t s = 0, from = 0; s < p->n_slices; from = p->end[s++])
        qsort(sz + from, p->end[s] - from, sizeof(*sz), cmp_size_desc);
    for (size_t i = 0; i < n; i++) {
        p->order[i] = (size_t)sz[i][1];
        p->cum[i + 1] = p->cum[i] + sz[i][0];
    }
    free(sz);
    free(ft);
}

void archive_plan_free(struct archive_plan *p)
{
    free(p->order);
    free(p->slice);
    free(p->cum);
    free(p->end);
    free(p->wm);
}
