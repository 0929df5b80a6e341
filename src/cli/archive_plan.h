/*
 * archive_plan: in what order `vigil detect` reads an archive's files, cut
 * into slices by the delivery time AWS writes into their names, and the
 * event-time watermark the stateful rules may run up to after each slice.
 * Everything depends only on the set of paths (and the files' sizes, which
 * order the files inside a slice), so results do not depend on the order the
 * user gave them in.
 */
#ifndef VIGIL_CLI_ARCHIVE_PLAN_H
#define VIGIL_CLI_ARCHIVE_PLAN_H

#include "input/input.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct archive_plan {
    size_t n;            /* files */
    size_t *order;       /* file index per reading position */
    size_t *slice;       /* slice per position */
    uint64_t *cum;       /* bytes of the files before each position (n + 1) */
    size_t n_slices;
    size_t *end;         /* per slice: the position after its last file */
    int64_t *wm;         /* per slice: the watermark once it is read */
    bool timed;          /* false: some file has no time in its name, one slice */
    const char *untimed; /* the first such file (borrowed from files) */
};

/* Fills p for files (borrowed: p->untimed points into it); lateness_ms is
 * the disorder allowed between a file's name time and its records. Free the
 * arrays with archive_plan_free. */
void archive_plan_build(const struct input_list *files, int64_t lateness_ms,
                        struct archive_plan *p);
void archive_plan_free(struct archive_plan *p);

#endif
