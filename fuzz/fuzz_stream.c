/*
 * Fuzz target: the live stream reader (input_open_stream). The input is
 * written to a pipe in chunks whose sizes come from its first byte, and
 * records are read after each chunk, so lines split at every possible place,
 * partial lines at EOF, over-long lines (a small max_record) and the switch to
 * whole-document mode are all exercised.
 */
#include "input/input.h"

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

static void drain(struct input_reader *r, int until_end)
{
    for (int guard = 0; guard < 1 << 20; guard++) {
        struct event ev;
        struct err err;
        int rc = input_next(r, &ev, &err);
        if (rc == INPUT_END || (rc == INPUT_AGAIN && !until_end))
            return;
        if (rc == INPUT_AGAIN)
            abort(); /* the write end is closed: a stream must end */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    /* A pipe holds 64 KiB: the whole input fits without a reader thread. */
    if (n < 1 || n > 60000)
        return 0;
    size_t chunk = (size_t)d[0] % 61 + 1;
    d++;
    n--;
    int fds[2];
    if (pipe(fds) != 0)
        return 0;
    struct input_options opt = { .max_record = 256 };
    struct input_reader *r = NULL;
    struct err err;
    if (input_open_stream("fuzz", fds[0], &opt, &r, &err) != 0)
        abort();
    for (size_t off = 0; off < n; off += chunk) {
        size_t k = n - off < chunk ? n - off : chunk;
        if (write(fds[1], d + off, k) != (ssize_t)k)
            abort();
        drain(r, 0);
    }
    close(fds[1]);
    drain(r, 1);
    input_close(r);
    close(fds[0]);
    return 0;
}
