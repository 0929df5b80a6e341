/*
 * mkmmdb: writes a small MaxMind DB for tests and demos.
 *
 *   mkmmdb OUT.mmdb DATABASE_TYPE < SPEC
 *
 * SPEC has one network per line: a CIDR (or address), whitespace, and the
 * record as JSON, e.g.
 *   203.0.113.0/24 {"country":{"iso_code":"RU","names":{"en":"Russia"}}}
 * Blank lines and lines starting with '#' are ignored.
 */
#include "sim/sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: mkmmdb OUT.mmdb DATABASE_TYPE < SPEC\n");
        return 1;
    }
    struct sim_mmdb *w = sim_mmdb_new(argv[2]);
    char line[8192];
    unsigned no = 0;
    int status = 0;
    while (status == 0 && fgets(line, sizeof(line), stdin) != NULL) {
        no++;
        size_t n = strlen(line);
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0' || *p == '#')
            continue;
        char *sp = p + strcspn(p, " \t");
        if (*sp == '\0') {
            fprintf(stderr, "mkmmdb: line %u: no record\n", no);
            status = 1;
            break;
        }
        *sp++ = '\0';
        struct err e;
        err_clear(&e);
        if (sim_mmdb_insert(w, p, sp, &e) != 0) {
            fprintf(stderr, "mkmmdb: line %u: %s\n", no, e.msg);
            status = 1;
        }
    }
    if (status == 0) {
        struct err e;
        err_clear(&e);
        if (sim_mmdb_write(w, argv[1], &e) != 0) {
            fprintf(stderr, "mkmmdb: %s\n", e.msg);
            status = 1;
        }
    }
    sim_mmdb_free(w);
    return status;
}
