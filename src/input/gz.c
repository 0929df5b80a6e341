/*
 * gz: whole-buffer gzip decompression with libdeflate (RFC 1952, any number
 * of concatenated members, as `gzip -c a b > c` and Firehose write them).
 *
 * libdeflate has no streaming API, so a member is inflated in one call into
 * an output buffer large enough for it. The size comes from the ISIZE trailer
 * (the uncompressed size mod 2^32 of the last member); when that is wrong or
 * the file has several members, the buffer doubles and the member is retried.
 * The buffer belongs to the reader and only grows: reallocating per file costs
 * a page fault per 4 KiB, as much as inflating it.
 *
 * A damaged member cannot be partly recovered with libdeflate, so the bad
 * member and everything after it are reported and left out.
 */
#include "input/input_int.h"

#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>

/* DEFLATE cannot expand a byte into more than 258 bytes per 2 bits of input:
 * a little over 1032:1. More output than that from a member means the member
 * is not what it claims. */
#define DEFLATE_MAX_RATIO 1033u
#define GZ_MIN_CAP (64u * 1024u)

void input__gz_init(struct input_gz *g)
{
    memset(g, 0, sizeof(*g));
}

void input__gz_free(struct input_gz *g)
{
    if (g == NULL)
        return;
    if (g->d != NULL)
        libdeflate_free_decompressor(g->d);
    free(g->out);
    memset(g, 0, sizeof(*g));
}

bool input__is_gzip(const void *p, size_t len)
{
    const unsigned char *b = p;
    return len >= 2 && b[0] == 0x1f && b[1] == 0x8b;
}

static int grow(struct input_gz *g, size_t need, size_t max, struct err *err)
{
    (void)err;
    if (need > max)
        need = max;
    if (need <= g->cap)
        return 0;
    size_t cap = g->cap ? g->cap : GZ_MIN_CAP;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
    if (cap > max)
        cap = max;
    /* One extra byte so callers may NUL-terminate the data. */
    g->out = xrealloc(g->out, cap + 1);
    g->cap = cap;
    return 0;
}

static bool all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return false;
    return true;
}

int input__gunzip(struct input_gz *g, const void *in, size_t len, size_t max, size_t *out_len,
                  struct err *err)
{
    const unsigned char *b = in;
    size_t off = 0, total = 0;
    unsigned member = 0;
    *out_len = 0;
    if (g->d == NULL)
        g->d = libdeflate_alloc_decompressor();
    if (g->d == NULL)
        return err_set(err, ERR_INTERNAL, "libdeflate_alloc_decompressor failed");

    while (off < len) {
        size_t left = len - off;
        if (member > 0 && all_zero(b + off, left))
            break; /* zero padding after the last member (tape-style writers) */
        if (left < 18 || !input__is_gzip(b + off, left)) {
            err_where(err, NULL, 0, off);
            if (member == 0)
                return err_set(err, ERR_FORMAT, "truncated gzip data (%zu bytes)", left);
            return err_set(err, ERR_FORMAT,
                           "junk after gzip member %u at compressed byte %zu: ignored", member, off);
        }
        /* First guess: the ISIZE trailer when it is plausible for this much
         * input (it is the last member's size, and garbage in a truncated
         * file), otherwise 8x the compressed size; doubling covers the rest. */
        size_t isize = (size_t)b[len - 4] | (size_t)b[len - 3] << 8 | (size_t)b[len - 2] << 16 |
                       (size_t)b[len - 1] << 24;
        size_t bound = left > SIZE_MAX / DEFLATE_MAX_RATIO ? SIZE_MAX : left * DEFLATE_MAX_RATIO;
        size_t guess = (left < SIZE_MAX / 32 && isize <= left * 32 + GZ_MIN_CAP) ? isize : left * 8;
        if (guess > max - total)
            guess = max - total;
        int rc = grow(g, total + guess, max, err);
        if (rc != 0)
            return rc;
        for (;;) {
            size_t used_in = 0, used_out = 0;
            enum libdeflate_result res = libdeflate_gzip_decompress_ex(
                g->d, b + off, left, g->out + total, g->cap - total, &used_in, &used_out);
            if (res == LIBDEFLATE_SUCCESS) {
                off += used_in;
                total += used_out;
                *out_len = total;
                break;
            }
            err_where(err, NULL, 0, off);
            if (res != LIBDEFLATE_INSUFFICIENT_SPACE || g->cap - total >= bound)
                return err_set(err, ERR_FORMAT,
                               "corrupt or truncated gzip data (member %u at compressed byte %zu)",
                               member + 1, off);
            if (g->cap >= max)
                return err_set(err, ERR_LIMIT, "decompressed size exceeds the cap of %zu bytes",
                               max);
            rc = grow(g, g->cap * 2 > g->cap ? g->cap * 2 : SIZE_MAX, max, err);
            if (rc != 0)
                return rc;
        }
        member++;
    }
    if (g->out != NULL)
        g->out[total] = '\0';
    return 0;
}
