/*
 * CloudWatch Logs' regular-expression subset, implemented here rather than
 * with PCRE2 because the subset is small and CloudWatch rejects much of what
 * PCRE accepts: we must validate every character ourselves anyway, and without
 * groups the language compiles to a chain of states per alternative, which we
 * run as a Thompson simulation: linear in (text length x states), no
 * backtracking, so no pattern can make a match take exponential time.
 *
 * Accepted (CloudWatch's documentation, regex-expressions.html):
 *   literals     letters, digits, space and  : _ # = @ / ; , -
 *   operators    ^ $ . ? * + {m,n} [...] [^...] | \
 *   escapes      \d \D \s \S \w \W, \xhh (ASCII), \ before any ASCII symbol
 *   lone ] and } are literals (as in PCRE)
 * Rejected: ( ) (no groups), ! and other symbols, bytes >= 0x80 (multi-byte
 * characters), escapes of letters other than the classes above, a quantifier
 * with nothing to repeat, empty alternatives.
 *
 * '|' separates whole alternatives (no groups to scope it), '^' and '$' are
 * assertions usable anywhere, '.' matches any byte. Matching is bytewise.
 */
#include "query/query_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum slot_kind { SLOT_SET, SLOT_BOL, SLOT_EOL, SLOT_ACCEPT };

struct slot {
    uint8_t kind;
    uint8_t opt;  /* may be skipped */
    uint8_t loop; /* stays after consuming (x*) */
    uint32_t set; /* SLOT_SET: index into sets */
};

struct byteset {
    uint64_t w[4];
};

struct query__re {
    struct slot *slots;
    uint32_t nslots;
    uint32_t *starts; /* first slot of each alternative */
    uint32_t nalts;
    struct byteset *sets;
    bool anchored; /* every alternative starts with ^ */
    /* Bytes that can begin a match; lets the search skip ahead with memchr
     * while no match is in progress. Off when some alternative can match the
     * empty string. */
    bool prefilter;
    int first_byte; /* the only such byte, or -1 */
    struct byteset first;
};

/* A parsed atom with its repetition, before expansion into slots. */
struct piece {
    uint8_t kind; /* SLOT_SET, SLOT_BOL, SLOT_EOL */
    bool quantified;
    uint32_t min, max; /* max == UINT32_MAX: unbounded */
    struct byteset set;
    size_t pos; /* for messages */
};

struct parser {
    const char *p;
    size_t len;
    size_t pos;
    size_t col; /* column of p[0] in the filter pattern */
    struct err *err;
    struct piece *pieces;
    size_t n, cap;
    uint32_t *alt_end; /* index in pieces where each alternative ends */
    size_t nalts, alts_cap;
};

static inline void set_add(struct byteset *s, unsigned c) { s->w[c >> 6] |= (uint64_t)1 << (c & 63); }
static inline bool set_has(const struct byteset *s, unsigned c)
{
    return (s->w[c >> 6] >> (c & 63)) & 1;
}

static void set_range(struct byteset *s, unsigned lo, unsigned hi)
{
    for (unsigned c = lo; c <= hi; c++)
        set_add(s, c);
}

static void set_union(struct byteset *a, const struct byteset *b)
{
    for (int i = 0; i < 4; i++)
        a->w[i] |= b->w[i];
}

static void set_invert(struct byteset *s)
{
    for (int i = 0; i < 4; i++)
        s->w[i] = ~s->w[i];
}

static int fail(struct parser *ps, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Every message names the column in the whole filter pattern. */
static int fail(struct parser *ps, size_t pos, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return err_set(ps->err, ERR_USAGE, "column %zu: %s", ps->col + pos, msg);
}

/* A printable name for a byte in messages. */
static const char *char_name(unsigned char c, char buf[8])
{
    if (c >= 0x21 && c < 0x7f)
        snprintf(buf, 8, "'%c'", c);
    else if (c == ' ')
        snprintf(buf, 8, "space");
    else
        snprintf(buf, 8, "0x%02X", c);
    return buf;
}

static bool is_literal_char(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    /* The documented symbol list, plus space: the documented example
     * %^starting|^initializing|^shutting down% contains one. */
    return c != 0 && strchr(":_#=@/;,- ", c) != NULL;
}

static bool is_operator_char(unsigned char c) { return c != 0 && strchr("^$?[]{}|\\*+.", c) != NULL; }

static void class_escape(char e, struct byteset *s)
{
    struct byteset t = { { 0, 0, 0, 0 } };
    switch (e) {
    case 'd': case 'D':
        set_range(&t, '0', '9');
        break;
    case 's': case 'S':
        set_add(&t, ' ');
        set_range(&t, '\t', '\r'); /* \t \n \v \f \r */
        break;
    default: /* w W */
        set_range(&t, '0', '9');
        set_range(&t, 'a', 'z');
        set_range(&t, 'A', 'Z');
        set_add(&t, '_');
        break;
    }
    if (e == 'D' || e == 'S' || e == 'W')
        set_invert(&t);
    set_union(s, &t);
}

/*
 * Parses an escape at ps->pos (the backslash). A class escape is added to
 * *cls and *lit set to -1; otherwise *lit is the literal byte.
 */
static int parse_escape(struct parser *ps, struct byteset *cls, int *lit)
{
    size_t at = ps->pos;
    char buf[8];
    if (ps->pos + 1 >= ps->len)
        return fail(ps, at, "a regular expression cannot end with a backslash");
    unsigned char e = (unsigned char)ps->p[ps->pos + 1];
    ps->pos += 2;
    if (e && strchr("dDsSwW", e)) {
        class_escape((char)e, cls);
        *lit = -1;
        return 0;
    }
    if (e == 'x') {
        int h1 = ps->pos < ps->len ? core_hexval(ps->p[ps->pos]) : -1;
        int h2 = ps->pos + 1 < ps->len ? core_hexval(ps->p[ps->pos + 1]) : -1;
        if (h1 < 0 || h2 < 0)
            return fail(ps, at, "\\x needs two hexadecimal digits");
        int v = h1 * 16 + h2;
        if (v >= 0x80)
            return fail(ps, at, "\\x%02X is not an ASCII character", (unsigned)v);
        ps->pos += 2;
        *lit = v;
        return 0;
    }
    if (e >= 0x21 && e < 0x7f && !((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') ||
                                    (e >= '0' && e <= '9'))) {
        *lit = e;
        return 0;
    }
    if (e == ' ') {
        *lit = ' ';
        return 0;
    }
    return fail(ps, at, "unsupported escape \\ before %s (supported: \\d \\D \\s \\S \\w "
                        "\\W \\xhh and \\ before a symbol)", char_name(e, buf));
}

static int check_class_char(struct parser *ps, unsigned char c)
{
    char buf[8];
    if (c >= 0x80)
        return fail(ps, ps->pos, "multi-byte characters are not supported in a regular "
                                 "expression");
    if (c == '(' || c == ')')
        return fail(ps, ps->pos, "%s is not supported in a regular expression (use \\x28 or "
                                 "\\x29 for a literal parenthesis)", char_name(c, buf));
    if (!is_literal_char(c) && !is_operator_char(c))
        return fail(ps, ps->pos, "%s is not allowed in a regular expression (use \\xhh)",
                    char_name(c, buf));
    return 0;
}

/* One class member: a literal byte (returned in *lit) or a class escape (*lit = -1). */
static int class_item(struct parser *ps, struct byteset *s, int *lit)
{
    if (ps->p[ps->pos] == '\\')
        return parse_escape(ps, s, lit);
    unsigned char c = (unsigned char)ps->p[ps->pos];
    int rc = check_class_char(ps, c);
    if (rc)
        return rc;
    ps->pos++;
    *lit = c;
    return 0;
}

static int parse_class(struct parser *ps, struct byteset *out)
{
    size_t open = ps->pos;
    bool neg = false;
    memset(out, 0, sizeof(*out));
    ps->pos++;
    if (ps->pos < ps->len && ps->p[ps->pos] == '^') {
        neg = true;
        ps->pos++;
    }
    bool first = true;
    for (;;) {
        if (ps->pos >= ps->len)
            return fail(ps, open, "'[' is not closed by ']'");
        if (ps->p[ps->pos] == ']' && !first)
            break;
        first = false;
        int lo, hi, rc;
        if (ps->p[ps->pos] == ']') { /* a leading ']' is a member */
            lo = ']';
            ps->pos++;
        } else if ((rc = class_item(ps, out, &lo)) != 0) {
            return rc;
        }
        if (lo < 0)
            continue;
        if (ps->pos + 1 < ps->len && ps->p[ps->pos] == '-' && ps->p[ps->pos + 1] != ']') {
            size_t dash = ps->pos;
            ps->pos++;
            struct byteset dummy = { { 0, 0, 0, 0 } };
            if ((rc = class_item(ps, &dummy, &hi)) != 0)
                return rc;
            if (hi < 0)
                return fail(ps, dash, "a range cannot end with a class escape");
            if (hi < lo)
                return fail(ps, dash, "range out of order in character class");
            set_range(out, (unsigned)lo, (unsigned)hi);
        } else {
            set_add(out, (unsigned)lo);
        }
    }
    ps->pos++; /* ']' */
    if (neg)
        set_invert(out);
    return 0;
}

static bool read_count(struct parser *ps, uint32_t *out)
{
    size_t start = ps->pos;
    uint64_t v = 0;
    while (ps->pos < ps->len && ps->p[ps->pos] >= '0' && ps->p[ps->pos] <= '9') {
        v = v * 10 + (uint64_t)(ps->p[ps->pos] - '0');
        if (v > 1000000)
            v = 1000000; /* saturate; checked against the repeat cap below */
        ps->pos++;
    }
    *out = (uint32_t)v;
    return ps->pos > start;
}

/* {m}, {m,}, {,n}, {m,n} at ps->pos. */
static int parse_braces(struct parser *ps, uint32_t *min, uint32_t *max)
{
    size_t open = ps->pos;
    ps->pos++;
    bool has_min = read_count(ps, min);
    if (!has_min)
        *min = 0;
    if (ps->pos < ps->len && ps->p[ps->pos] == ',') {
        ps->pos++;
        if (!read_count(ps, max))
            *max = UINT32_MAX;
        else if (!has_min && *max == 0)
            return fail(ps, open, "{,0} repeats nothing");
    } else {
        if (!has_min)
            return fail(ps, open, "'{' must start a repetition {m,n}; use \\{ for a literal "
                                  "brace");
        *max = *min;
    }
    if (ps->pos >= ps->len || ps->p[ps->pos] != '}')
        return fail(ps, open, "repetition {m,n} is not closed by '}'");
    ps->pos++;
    if ((*min > QUERY__RE_MAX_REPEAT) || (*max != UINT32_MAX && *max > QUERY__RE_MAX_REPEAT))
        return fail(ps, open, "repetition count over 1000");
    if (*max < *min)
        return fail(ps, open, "repetition {m,n} has m greater than n");
    return 0;
}

static struct piece *new_piece(struct parser *ps, uint8_t kind, size_t pos)
{
    if (ps->n == ps->cap) {
        ps->cap = ps->cap ? ps->cap * 2 : 16;
        ps->pieces = xrealloc(ps->pieces, ps->cap * sizeof(*ps->pieces));
    }
    struct piece *pc = &ps->pieces[ps->n++];
    memset(pc, 0, sizeof(*pc));
    pc->kind = kind;
    pc->min = pc->max = 1;
    pc->pos = pos;
    return pc;
}

static void end_alt(struct parser *ps)
{
    if (ps->nalts == ps->alts_cap) {
        ps->alts_cap = ps->alts_cap ? ps->alts_cap * 2 : 4;
        ps->alt_end = xrealloc(ps->alt_end, ps->alts_cap * sizeof(*ps->alt_end));
    }
    ps->alt_end[ps->nalts++] = (uint32_t)ps->n;
}

static int quantify(struct parser *ps, size_t alt_first)
{
    size_t at = ps->pos;
    char q = ps->p[at];
    char buf[8];
    char qs[2] = { q, 0 };
    if (ps->n == alt_first)
        return fail(ps, at, "'%s' has nothing to repeat", qs);
    struct piece *pc = &ps->pieces[ps->n - 1];
    if (pc->kind != SLOT_SET)
        return fail(ps, at, "'%s' cannot repeat an anchor", qs);
    if (pc->quantified)
        return fail(ps, at, "%s follows another repetition operator", char_name((unsigned char)q, buf));
    uint32_t min = 0, max = UINT32_MAX;
    if (q == '?') {
        max = 1;
        ps->pos++;
    } else if (q == '*') {
        ps->pos++;
    } else if (q == '+') {
        min = 1;
        ps->pos++;
    } else {
        int rc = parse_braces(ps, &min, &max);
        if (rc)
            return rc;
    }
    pc->min = min;
    pc->max = max;
    pc->quantified = true;
    return 0;
}

static int parse(struct parser *ps)
{
    size_t alt_first = 0;
    char buf[8];
    while (ps->pos < ps->len) {
        unsigned char c = (unsigned char)ps->p[ps->pos];
        size_t at = ps->pos;
        struct piece *pc;
        int rc = 0, lit;
        switch (c) {
        case '|':
            if (ps->n == alt_first)
                return fail(ps, at, "empty alternative before '|'");
            end_alt(ps);
            alt_first = ps->n;
            ps->pos++;
            break;
        case '^':
            new_piece(ps, SLOT_BOL, at);
            ps->pos++;
            break;
        case '$':
            new_piece(ps, SLOT_EOL, at);
            ps->pos++;
            break;
        case '.':
            pc = new_piece(ps, SLOT_SET, at);
            memset(&pc->set, 0xff, sizeof(pc->set));
            ps->pos++;
            break;
        case '[':
            pc = new_piece(ps, SLOT_SET, at);
            rc = parse_class(ps, &pc->set);
            break;
        case '\\':
            pc = new_piece(ps, SLOT_SET, at);
            rc = parse_escape(ps, &pc->set, &lit);
            if (rc == 0 && lit >= 0)
                set_add(&pc->set, (unsigned)lit);
            break;
        case '?': case '*': case '+': case '{':
            rc = quantify(ps, alt_first);
            break;
        case '(': case ')':
            return fail(ps, at, "%s is not supported: CloudWatch regular expressions have no "
                                "groups (use \\x28 or \\x29 for a literal parenthesis)",
                        char_name(c, buf));
        default:
            if (c >= 0x80)
                return fail(ps, at, "multi-byte characters are not supported in a regular "
                                    "expression");
            if (!is_literal_char(c) && c != ']' && c != '}')
                return fail(ps, at, "%s is not allowed in a regular expression (use \\xhh, e.g. "
                                    "\\x21 for '!')", char_name(c, buf));
            pc = new_piece(ps, SLOT_SET, at);
            set_add(&pc->set, c);
            ps->pos++;
            break;
        }
        if (rc)
            return rc;
    }
    if (ps->n == alt_first)
        return ps->nalts ? fail(ps, ps->len, "empty alternative after '|'")
                         : fail(ps, ps->len, "empty regular expression");
    end_alt(ps);
    return 0;
}

/* The set of bytes a match can start with. Anchors are treated as passable,
 * which only makes the set larger, never wrong. */
static void compute_first(struct query__re *re)
{
    memset(&re->first, 0, sizeof(re->first));
    re->prefilter = true;
    for (uint32_t a = 0; a < re->nalts && re->prefilter; a++) {
        for (uint32_t q = re->starts[a];; q++) {
            const struct slot *sl = &re->slots[q];
            if (sl->kind == SLOT_ACCEPT) {
                re->prefilter = false;
                break;
            }
            if (sl->kind != SLOT_SET)
                continue;
            set_union(&re->first, &re->sets[sl->set]);
            if (!sl->opt)
                break;
        }
    }
    re->first_byte = -1;
    int count = 0;
    for (unsigned c = 0; c < 256; c++)
        if (set_has(&re->first, c)) {
            count++;
            re->first_byte = (int)c;
        }
    if (count != 1)
        re->first_byte = -1;
}

int query__re_compile(const char *p, size_t len, size_t col, struct arena *arena,
                      struct query__re **out, struct err *err)
{
    struct parser ps = { .p = p, .len = len, .col = col, .err = err };
    int rc = parse(&ps);
    uint64_t nslots = 0;
    if (rc == 0) {
        for (size_t i = 0; i < ps.n; i++) {
            const struct piece *pc = &ps.pieces[i];
            if (pc->kind != SLOT_SET)
                nslots += 1;
            else
                nslots += pc->max == UINT32_MAX ? (uint64_t)pc->min + 1 : pc->max;
        }
        nslots += ps.nalts; /* one accept per alternative */
        if (nslots > QUERY__RE_MAX_STATES)
            rc = err_set(err, ERR_LIMIT, "column %zu: regular expression too large (%llu states, "
                                         "at most %d)",
                         col, (unsigned long long)nslots, QUERY__RE_MAX_STATES);
    }
    if (rc) {
        free(ps.pieces);
        free(ps.alt_end);
        return rc;
    }
    struct query__re *re = arena_zalloc(arena, sizeof(*re));
    re->slots = arena_zalloc(arena, nslots * sizeof(*re->slots));
    re->sets = arena_alloc(arena, (ps.n ? ps.n : 1) * sizeof(*re->sets));
    re->starts = arena_alloc(arena, ps.nalts * sizeof(*re->starts));
    re->nalts = (uint32_t)ps.nalts;
    re->anchored = true;
    uint32_t s = 0;
    size_t pi = 0;
    for (size_t a = 0; a < ps.nalts; a++) {
        re->starts[a] = s;
        if (pi >= ps.alt_end[a] || ps.pieces[pi].kind != SLOT_BOL)
            re->anchored = false;
        for (; pi < ps.alt_end[a]; pi++) {
            const struct piece *pc = &ps.pieces[pi];
            if (pc->kind != SLOT_SET) {
                re->slots[s++] = (struct slot){ .kind = pc->kind };
                continue;
            }
            re->sets[pi] = pc->set;
            for (uint32_t k = 0; k < pc->min; k++)
                re->slots[s++] = (struct slot){ .kind = SLOT_SET, .set = (uint32_t)pi };
            if (pc->max == UINT32_MAX)
                re->slots[s++] = (struct slot){ .kind = SLOT_SET, .opt = 1, .loop = 1,
                                                .set = (uint32_t)pi };
            else
                for (uint32_t k = pc->min; k < pc->max; k++)
                    re->slots[s++] = (struct slot){ .kind = SLOT_SET, .opt = 1,
                                                    .set = (uint32_t)pi };
        }
        re->slots[s++] = (struct slot){ .kind = SLOT_ACCEPT };
    }
    re->nslots = s;
    compute_first(re);
    free(ps.pieces);
    free(ps.alt_end);
    *out = re;
    return 0;
}

/* Adds q and the states reachable from it without input at position pos.
 * Epsilon edges only go forward to q+1, so the closure is a short walk.
 * Returns true when an accepting state was reached. */
static bool add_closure(const struct query__re *re, struct query__re_work *w, uint32_t *list,
                        size_t *n, uint32_t q, size_t pos, size_t len)
{
    for (;;) {
        uint64_t bit = (uint64_t)1 << (q & 63);
        if (w->member[q >> 6] & bit)
            return false;
        w->member[q >> 6] |= bit;
        list[(*n)++] = q;
        const struct slot *sl = &re->slots[q];
        switch (sl->kind) {
        case SLOT_ACCEPT:
            return true;
        case SLOT_BOL:
            if (pos != 0)
                return false;
            break;
        case SLOT_EOL:
            if (pos != len)
                return false;
            break;
        default:
            if (!sl->opt)
                return false;
            break;
        }
        q++;
    }
}

bool query__re_search(const struct query__re *re, const char *s, size_t len,
                      struct query__re_work *w)
{
    if (w->cap < re->nslots) {
        size_t cap = re->nslots;
        w->cur = xrealloc(w->cur, cap * sizeof(*w->cur));
        w->next = xrealloc(w->next, cap * sizeof(*w->next));
        w->member = xrealloc(w->member, ((cap + 63) / 64) * sizeof(*w->member));
        w->cap = cap;
    }
    size_t words = (re->nslots + 63) / 64;
    size_t ncur = 0, nnext;
    memset(w->member, 0, words * sizeof(*w->member));
    for (size_t i = 0;; i++) {
        if (ncur == 0 && re->prefilter) {
            /* Nothing in progress: jump to the next byte that can start a match. */
            if (re->first_byte >= 0) {
                const char *hit = i < len ? memchr(s + i, re->first_byte, len - i) : NULL;
                i = hit ? (size_t)(hit - s) : len;
            } else {
                while (i < len && !set_has(&re->first, (unsigned char)s[i]))
                    i++;
            }
            if (i == len || (re->anchored && i > 0))
                return false;
        }
        if (i == 0 || !re->anchored)
            for (uint32_t a = 0; a < re->nalts; a++)
                if (add_closure(re, w, w->cur, &ncur, re->starts[a], i, len))
                    return true;
        if (i == len || (ncur == 0 && re->anchored))
            return false;
        unsigned char c = (unsigned char)s[i];
        memset(w->member, 0, words * sizeof(*w->member));
        nnext = 0;
        for (size_t k = 0; k < ncur; k++) {
            uint32_t q = w->cur[k];
            const struct slot *sl = &re->slots[q];
            if (sl->kind != SLOT_SET || !set_has(&re->sets[sl->set], c))
                continue;
            if (add_closure(re, w, w->next, &nnext, sl->loop ? q : q + 1, i + 1, len))
                return true;
        }
        uint32_t *t = w->cur;
        w->cur = w->next;
        w->next = t;
        ncur = nnext;
    }
}

void query__re_work_free(struct query__re_work *w)
{
    if (!w)
        return;
    free(w->cur);
    free(w->next);
    free(w->member);
    memset(w, 0, sizeof(*w));
}
