/*
 * vigil-inflate-probe: the reference "inflate-only" run for the benchmarks.
 *
 * It reads every .gz file given (files, or directories walked recursively, in
 * sorted order) into one reused input buffer and inflates it with libdeflate
 * into one reused output buffer sized from the gzip ISIZE trailer, on the
 * calling thread, and does nothing else with the bytes. This is the floor any
 * reader of the same files pays on one core (perf-limits.md §2.1), so
 * "vigil time / probe time" says how much the rest of the pipeline costs.
 *
 * Records: --records N takes the count from the caller (bench/run.sh reads it
 * from the corpus MANIFEST) so the timed work stays pure inflate. Without it the
 * probe counts them itself, which adds a cheap scan: newlines for line formats
 * (minus the VPC flow header line), "eventVersion" keys for CloudTrail JSON.
 *
 * Output (stdout, one line each, key=value for scripts):
 *   files=… gz_bytes=… raw_bytes=… records=… count_source=…
 *   wall_s=… read_s=… inflate_s=… raw_MBps=… gz_MBps=… records_per_s=…
 * Rates use wall_s (the whole run after startup: reading plus inflating).
 */
#include "core/core.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libdeflate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_FILE (4ULL << 30) /* libdeflate needs whole members in memory; ISIZE is 32-bit */

struct paths {
    char **v;
    size_t n, cap;
};

static void paths_add(struct paths *p, const char *s)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 256;
        p->v = xrealloc(p->v, p->cap * sizeof(*p->v));
    }
    p->v[p->n++] = xstrdup(s);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

static int walk(const char *path, struct paths *out, int depth)
{
    struct stat st;
    if (depth > 32)
        return 0;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "vigil-inflate-probe: %s: %s\n", path, strerror(errno));
        return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
        if (depth == 0 || ends_with(path, ".gz"))
            paths_add(out, path);
        return 0;
    }
    DIR *d = opendir(path);
    if (d == NULL) {
        fprintf(stderr, "vigil-inflate-probe: %s: %s\n", path, strerror(errno));
        return 1;
    }
    int rc = 0;
    struct dirent *e;
    struct buf child;
    buf_init(&child, 4096);
    while ((e = readdir(d)) != NULL && rc == 0) {
        if (e->d_name[0] == '.')
            continue;
        buf_reset(&child);
        if (buf_printf(&child, "%s/%s", path, e->d_name) != 0) {
            fprintf(stderr, "vigil-inflate-probe: path too long under %s\n", path);
            rc = 1;
            break;
        }
        rc = walk(child.p, out, depth + 1);
    }
    buf_free(&child);
    closedir(d);
    return rc;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Grows a buffer and touches every page once, so the page faults (expensive on
 * this VM: perf-limits.md §2.6) are paid at growth, not spread over the run. */
static void grow(char **p, size_t *cap, size_t need)
{
    if (need <= *cap)
        return;
    size_t c = *cap ? *cap : (1u << 20);
    while (c < need)
        c *= 2;
    free(*p);
    *p = xmalloc(c);
    memset(*p, 0, c);
    *cap = c;
}

static uint64_t count_records(const char *path, const char *p, size_t n)
{
    uint64_t k = 0;
    if (ends_with(path, ".json.gz") || ends_with(path, ".json")) {
        static const char needle[] = "\"eventVersion\"";
        const char *s = p, *end = p + n;
        while (s < end && (s = memmem(s, (size_t)(end - s), needle, sizeof(needle) - 1)) != NULL) {
            k++;
            s += sizeof(needle) - 1;
        }
        return k;
    }
    const char *s = p, *end = p + n;
    while (s < end && (s = memchr(s, '\n', (size_t)(end - s))) != NULL) {
        k++;
        s++;
    }
    if (n > 0 && p[n - 1] != '\n')
        k++;
    if (n >= 8 && memcmp(p, "version ", 8) == 0 && k > 0)
        k--; /* the VPC flow log header line */
    return k;
}

static void usage(FILE *f)
{
    fputs("usage: vigil-inflate-probe [--records N] [--quiet] PATH...\n"
          "  PATH        .gz files, or directories searched for *.gz\n"
          "  --records N record count to report (skips counting)\n",
          f);
}

int main(int argc, char **argv)
{
    struct paths files = { 0 };
    uint64_t records = 0;
    bool have_records = false;
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--records") == 0 && i + 1 < argc) {
            if (!sv_to_u64(sv_cstr(argv[++i]), &records)) {
                fprintf(stderr, "vigil-inflate-probe: bad --records '%s'\n", argv[i]);
                return 1;
            }
            have_records = true;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-') {
            usage(stderr);
            return 1;
        } else if (walk(argv[i], &files, 0) != 0) {
            return 1;
        }
    }
    if (files.n == 0) {
        usage(stderr);
        return 1;
    }
    qsort(files.v, files.n, sizeof(*files.v), cmp_str);

    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    if (d == NULL) {
        fprintf(stderr, "vigil-inflate-probe: libdeflate_alloc_decompressor failed\n");
        return 2;
    }
    char *in = NULL, *out = NULL;
    size_t in_cap = 0, out_cap = 0;
    uint64_t gz_bytes = 0, raw_bytes = 0, counted = 0;
    double t_read = 0, t_inflate = 0;
    double t0 = now_s();
    for (size_t i = 0; i < files.n && rc == 0; i++) {
        const char *path = files.v[i];
        double a = now_s();
        int fd = open(path, O_RDONLY);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0) {
            fprintf(stderr, "vigil-inflate-probe: %s: %s\n", path, strerror(errno));
            rc = 1;
            if (fd >= 0)
                close(fd);
            break;
        }
        size_t n = (size_t)st.st_size;
        if ((uint64_t)st.st_size > MAX_FILE || n < 18) {
            fprintf(stderr, "vigil-inflate-probe: %s: %s\n", path, n < 18 ? "too short for gzip" : "too large");
            close(fd);
            rc = 1;
            break;
        }
        grow(&in, &in_cap, n);
        size_t got = 0;
        while (got < n) {
            ssize_t k = read(fd, in + got, n - got);
            if (k <= 0) {
                if (k < 0 && errno == EINTR)
                    continue;
                break;
            }
            got += (size_t)k;
        }
        close(fd);
        if (got != n) {
            fprintf(stderr, "vigil-inflate-probe: %s: short read\n", path);
            rc = 1;
            break;
        }
        double b = now_s();
        t_read += b - a;
        /* ISIZE: the uncompressed size mod 2^32, little-endian, in the last 4 bytes. */
        const unsigned char *tail = (const unsigned char *)in + n - 4;
        size_t isize = (size_t)tail[0] | (size_t)tail[1] << 8 | (size_t)tail[2] << 16 | (size_t)tail[3] << 24;
        grow(&out, &out_cap, isize + 1);
        size_t actual = 0;
        enum libdeflate_result res;
        for (;;) {
            res = libdeflate_gzip_decompress(d, in, n, out, out_cap, &actual);
            if (res != LIBDEFLATE_INSUFFICIENT_SPACE || out_cap >= MAX_FILE)
                break;
            grow(&out, &out_cap, out_cap * 2); /* ISIZE wrapped: the member is over 4 GiB */
        }
        t_inflate += now_s() - b;
        if (res != LIBDEFLATE_SUCCESS) {
            fprintf(stderr, "vigil-inflate-probe: %s: not a valid gzip member (libdeflate result %d)\n", path,
                    (int)res);
            rc = 1;
            break;
        }
        gz_bytes += n;
        raw_bytes += actual;
        if (!have_records)
            counted += count_records(path, out, actual);
    }
    double wall = now_s() - t0;
    if (rc == 0) {
        uint64_t recs = have_records ? records : counted;
        double w = wall > 0 ? wall : 1e-9;
        printf("files=%zu gz_bytes=%llu raw_bytes=%llu records=%llu count_source=%s\n", files.n,
               (unsigned long long)gz_bytes, (unsigned long long)raw_bytes, (unsigned long long)recs,
               have_records ? "caller" : "counted");
        printf("wall_s=%.3f read_s=%.3f inflate_s=%.3f raw_MBps=%.1f gz_MBps=%.1f records_per_s=%.0f\n", wall,
               t_read, t_inflate, (double)raw_bytes / w / 1e6, (double)gz_bytes / w / 1e6, (double)recs / w);
    }
    libdeflate_free_decompressor(d);
    free(in);
    free(out);
    for (size_t i = 0; i < files.n; i++)
        free(files.v[i]);
    free(files.v);
    return rc;
}
