/*
 * Fuzz target for core's address parsers and the indicator list loader.
 * The input is the text of a list; it also goes, cut at each newline, through
 * ip_parse and cidr_parse, whose results must round-trip through ip_format.
 */
#include "core/core.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

static void check_piece(struct sv s)
{
    struct ipaddr a, b;
    char out[46];
    if (ip_parse(s, &a)) {
        size_t len = ip_format(&a, out);
        /* The canonical text parses back to the same address. */
        if (len >= 46 || !ip_parse(sv_make(out, len), &b) || memcmp(a.b, b.b, 16) != 0 ||
            a.v4 != b.v4)
            abort();
        (void)ip_is_private(&a);
    }
    unsigned bits;
    if (cidr_parse(s, &a, &bits)) {
        if (bits > (a.v4 ? 32u : 128u) || !ip_in_cidr(&a, &a, bits))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    const char *text = (const char *)d;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || text[i] == '\n') {
            check_piece(sv_make(text + start, i - start));
            start = i + 1;
        }
    }

    struct iplist *ips = iplist_new();
    struct domlist *doms = domlist_new();
    struct err e;
    err_clear(&e);
    size_t bad = 0;
    int rc = indicators_parse(text, n, "fuzz", "tag", ips, doms, &bad, &e);
    if ((rc == 0) != (bad == 0))
        abort();
    /* Everything loaded must be found again by its own text. */
    start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || text[i] == '\n') {
            struct ipaddr a;
            unsigned bits;
            if (cidr_parse(sv_make(text + start, i - start), &a, &bits) &&
                iplist_lookup(ips, &a) == NULL)
                abort();
            (void)domlist_lookup(doms, sv_make(text + start, i - start));
            start = i + 1;
        }
    }
    iplist_free(ips);
    domlist_free(doms);
    return 0;
}
