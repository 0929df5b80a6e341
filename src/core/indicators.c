/*
 * Domain lists and the GuardDuty TXT list loader; see core.h.
 *
 * A GuardDuty threat or trusted IP list in TXT format holds one IPv4/IPv6
 * address, CIDR range or domain name per line. We also accept what the lists
 * people feed it carry in practice: '#' comment lines, text after " #" on a line,
 * CRLF line ends, surrounding blanks, a UTF-8 BOM, and "*.example.com" (read as
 * example.com and its subdomains). Anything else on a line makes it a bad line:
 * counted, the first one reported, the rest of the file still loaded.
 */
#include "core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOMAIN_MAX 253
#define LINE_MAX_LEN 4096

/* ---- domlist ---------------------------------------------------------------- */

struct domlist {
    struct hmap names; /* lowercase name without trailing dot -> tag */
};

struct domlist *domlist_new(void)
{
    struct domlist *l = xcalloc(1, sizeof(*l));
    hmap_init(&l->names);
    return l;
}

void domlist_free(struct domlist *l)
{
    if (l == NULL)
        return;
    hmap_free(&l->names);
    free(l);
}

size_t domlist_count(const struct domlist *l) { return l->names.n; }

static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c; }

/* Lowercases name without its trailing dot into out (cap DOMAIN_MAX + 1); when
 * longer, drops leading labels until it fits, since only a suffix that fits can
 * be listed. Returns the length, 0 when nothing is left. */
static size_t normalize(struct sv name, char *out)
{
    const char *p = name.p;
    size_t len = name.len;
    if (p == NULL)
        return 0;
    if (len > 0 && p[len - 1] == '.')
        len--;
    while (len > DOMAIN_MAX) {
        const char *dot = memchr(p, '.', len);
        if (dot == NULL)
            return 0;
        len -= (size_t)(dot + 1 - p);
        p = dot + 1;
    }
    for (size_t i = 0; i < len; i++)
        out[i] = lower(p[i]);
    out[len] = '\0';
    return len;
}

void domlist_add(struct domlist *l, struct sv name, const char *tag)
{
    char buf[DOMAIN_MAX + 1];
    if (name.p != NULL && name.len > DOMAIN_MAX + 1)
        return; /* no real name is this long; it could only ever match itself */
    size_t len = normalize(name, buf);
    if (len == 0 || hmap_get(&l->names, buf, len) != NULL)
        return; /* the first tag wins */
    hmap_put(&l->names, buf, len, (void *)(uintptr_t)tag);
}

const char *domlist_lookup(const struct domlist *l, struct sv name)
{
    char buf[DOMAIN_MAX + 1];
    if (l->names.n == 0)
        return NULL;
    size_t len = normalize(name, buf);
    /* The whole name first, then each parent: the first hit is the closest. */
    for (size_t off = 0; off < len;) {
        void *v = hmap_get(&l->names, buf + off, len - off);
        if (v != NULL)
            return v;
        const char *dot = memchr(buf + off, '.', len - off);
        if (dot == NULL)
            break;
        off = (size_t)(dot - buf) + 1;
    }
    return NULL;
}

/* ---- the TXT list loader ------------------------------------------------------- */

static bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

static bool is_hostname(struct sv s)
{
    if (s.len == 0 || s.len > DOMAIN_MAX)
        return false;
    size_t label = 0;
    bool alpha_last = false; /* the last label holds a non-digit: not an address */
    for (size_t i = 0; i <= s.len; i++) {
        char c = i < s.len ? s.p[i] : '.';
        if (c == '.') {
            if (label == 0 || label > 63 || s.p[i - 1] == '-' || s.p[i - label] == '-')
                return false;
            label = 0;
            continue;
        }
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
        if (!ok)
            return false;
        if (label == 0)
            alpha_last = false;
        if (!(c >= '0' && c <= '9'))
            alpha_last = true;
        label++;
    }
    return alpha_last;
}

/* One line, already stripped of its end of line. Returns true when it was
 * understood (including blank and comment lines). */
static bool parse_line(struct sv s, const char *tag, struct iplist *ips, struct domlist *doms)
{
    size_t b = 0, e = s.len;
    while (b < e && is_blank(s.p[b]))
        b++;
    if (b == e || s.p[b] == '#')
        return true;
    /* A trailing comment must be set off by a blank so a '#' never hides a typo. */
    for (size_t i = b + 1; i < e; i++) {
        if (s.p[i] == '#' && is_blank(s.p[i - 1])) {
            e = i;
            break;
        }
    }
    while (e > b && is_blank(s.p[e - 1]))
        e--;
    struct sv v = sv_make(s.p + b, e - b);

    struct ipaddr net;
    unsigned bits;
    if (cidr_parse(v, &net, &bits)) {
        iplist_add(ips, &net, bits, tag);
        return true;
    }
    if (v.len > 2 && v.p[0] == '*' && v.p[1] == '.') {
        v.p += 2;
        v.len -= 2;
    }
    if (v.len > 1 && v.p[v.len - 1] == '.')
        v.len--;
    if (is_hostname(v)) {
        domlist_add(doms, v, tag);
        return true;
    }
    return false;
}

struct loader {
    const char *name;
    const char *tag;
    struct iplist *ips;
    struct domlist *doms;
    size_t bad;
    struct err *err;
    uint64_t line;
};

static void line_done(struct loader *ld, struct sv s, uint64_t offset, bool too_long)
{
    ld->line++;
    if (ld->line == 1 && s.len >= 3 && memcmp(s.p, "\xEF\xBB\xBF", 3) == 0) {
        s.p += 3;
        s.len -= 3;
    }
    if (!too_long && parse_line(s, ld->tag, ld->ips, ld->doms))
        return;
    if (ld->bad++ == 0) {
        size_t show = s.len > 80 ? 80 : s.len;
        if (too_long)
            err_set(ld->err, ERR_FORMAT, "line longer than %d bytes", LINE_MAX_LEN);
        else
            err_set(ld->err, ERR_FORMAT, "not an IP address, CIDR or domain name: \"%.*s\"%s",
                    (int)show, s.p, show < s.len ? "..." : "");
        err_where(ld->err, ld->name, ld->line, offset);
    }
}

static int finish(struct loader *ld, size_t *bad_out)
{
    if (bad_out != NULL)
        *bad_out = ld->bad;
    if (ld->bad == 0)
        return 0;
    if (ld->bad > 1 && ld->err != NULL) {
        char more[64];
        int n = snprintf(more, sizeof(more), " (%zu bad lines in all)", ld->bad);
        size_t have = strlen(ld->err->msg);
        if (n > 0 && have + (size_t)n < sizeof(ld->err->msg))
            memcpy(ld->err->msg + have, more, (size_t)n + 1);
    }
    return ERR_FORMAT;
}

int indicators_parse(const char *text, size_t len, const char *name, const char *tag,
                     struct iplist *ips, struct domlist *doms, size_t *bad_out, struct err *err)
{
    struct loader ld = { name, tag, ips, doms, 0, err, 0 };
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        size_t llen = end - pos;
        line_done(&ld, sv_make(text + pos, llen > LINE_MAX_LEN ? LINE_MAX_LEN : llen), pos,
                  llen > LINE_MAX_LEN);
        pos = end + 1;
    }
    return finish(&ld, bad_out);
}

int indicators_load(const char *path, const char *tag, struct iplist *ips, struct domlist *doms,
                    size_t *bad_out, struct err *err)
{
    if (bad_out != NULL)
        *bad_out = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        int rc = err_set(err, ERR_IO, "cannot open: %s", strerror(errno));
        err_where(err, path, 0, 0);
        return rc;
    }
    /* Streamed by lines with a fixed buffer: a list may be large and a line
     * never needs more than LINE_MAX_LEN bytes. */
    struct loader ld = { path, tag, ips, doms, 0, err, 0 };
    char *line = xmalloc(LINE_MAX_LEN);
    char chunk[65536];
    size_t llen = 0;
    bool too_long = false;
    uint64_t off = 0, line_off = 0;
    size_t got;
    int rc = 0;
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        for (size_t i = 0; i < got; i++, off++) {
            char c = chunk[i];
            if (c == '\n') {
                line_done(&ld, sv_make(line, llen), line_off, too_long);
                llen = 0;
                too_long = false;
                line_off = off + 1;
            } else if (llen < LINE_MAX_LEN) {
                line[llen++] = c;
            } else {
                too_long = true;
            }
        }
    }
    if (ferror(f)) {
        rc = err_set(err, ERR_IO, "read failed: %s", strerror(errno));
        err_where(err, path, ld.line + 1, off);
    } else if (llen > 0 || too_long) {
        line_done(&ld, sv_make(line, llen), line_off, too_long);
    }
    free(line);
    fclose(f);
    if (rc != 0) {
        if (bad_out != NULL)
            *bad_out = ld.bad;
        return rc;
    }
    return finish(&ld, bad_out);
}
