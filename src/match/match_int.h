/*
 * match internals shared by the pattern compiler (compile.c), the value
 * primitives (value.c), the case tables (casemap.c) and the automaton (set.c).
 *
 * A pattern compiles to sub-rules ($or expanded), each a list of fields sorted
 * by path; a field is a path plus the alternatives its value may take (struct
 * match_pat) and whether absence also satisfies it (exists:false). All of it
 * lives in the arena of the set the pattern is added to.
 */
#ifndef VIGIL_MATCH_INT_H
#define VIGIL_MATCH_INT_H

#include "match/match.h"

#include <string.h>

/* a[0..n) == b[0..n), inline: the strings compared per event (paths, short
 * values, wildcard segments) are mostly a few bytes to a few dozen, where a
 * memcmp call costs more than the compare. The first and last words overlap,
 * so every byte is compared and nothing outside either range is read. */
static inline bool match__eq(const char *a, const char *b, size_t n)
{
    if (n >= 8) {
        for (size_t i = 0; i + 8 < n; i += 8) {
            uint64_t x, y;
            memcpy(&x, a + i, 8);
            memcpy(&y, b + i, 8);
            if (x != y)
                return false;
        }
        uint64_t x, y;
        memcpy(&x, a + n - 8, 8);
        memcpy(&y, b + n - 8, 8);
        return x == y;
    }
    if (n >= 4) {
        uint32_t x, y, u, v;
        memcpy(&x, a, 4);
        memcpy(&y, b, 4);
        memcpy(&u, a + n - 4, 4);
        memcpy(&v, b + n - 4, 4);
        return ((x ^ y) | (u ^ v)) == 0;
    }
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

/* ---- Unicode case tables (generated) ----------------------------------- */

/* Code points whose lower, upper or fold form differs from themselves. The
 * strings are UTF-8 in match__casemap_pool(). */
struct match_casemap {
    uint32_t cp;
    uint16_t lo_off, up_off, fo_off;
    uint8_t lo_len, up_len, fo_len;
};

const struct match_casemap *match__casemap(uint32_t cp);
const char *match__casemap_pool(void);

/* ---- value primitives (value.c) ------------------------------------------ */

/* Decodes one UTF-8 code point at s (len > 0); returns the bytes used. An
 * invalid byte decodes as itself (cp = 0xDC00 + byte) and uses one byte. */
size_t match__utf8_next(const char *s, size_t len, uint32_t *cp);

/* Appends the hash-key fold of s: per code point, Unicode full case folding
 * (dotless i folded to i). fold(lower(c)) == fold(upper(c)) for every c, so
 * two strings that equals-ignore-case can match always fold alike. */
void match__fold(const char *s, size_t len, struct buf *out);

/* A JSON number's text as event-ruler's ComparableNumber sees it: true when
 * it is finite as a double and that double's shortest decimal form has the
 * same value as the text (so 0.30000000000000001 and 2^53+1 are not). *out is
 * the double, with -0 turned into +0. */
bool match__num_comparable(const char *text, size_t len, double *out);

/* An IP address as event-ruler reads one (Java regexes, then InetAddress):
 * returns 4 or 16 (bytes written to out; IPv4-mapped IPv6 comes back as IPv4),
 * 0 when the text does not look like an address, -1 when it looks like one but
 * is not valid. */
int match__ip_parse(const char *s, size_t len, uint8_t out[16]);

/* Per character of a pattern, the two byte strings an equals-ignore-case match
 * accepts: Java's lower and upper case of that character. */
struct match_eic {
    uint32_t n;          /* characters */
    const uint32_t *off; /* 2n offsets into bytes */
    const uint8_t *len;  /* 2n lengths */
    const char *bytes;
};

struct match_eic *match__eic_compile(struct arena *a, const char *s, size_t len);
/* The fold of the first alternative of every character: equals the fold of any
 * string the pattern matches. */
void match__eic_key(const struct match_eic *e, struct buf *out);
bool match__eic_full(const struct match_eic *e, const char *s, size_t len);
bool match__eic_prefix(const struct match_eic *e, const char *s, size_t len);
bool match__eic_suffix(const struct match_eic *e, const char *s, size_t len);

/* A wildcard pattern over bytes: literal runs separated by '*'. */
struct match_wild {
    uint32_t n_seg;          /* literal segments: n_star + 1 */
    const char *const *seg;  /* segment bytes (escapes resolved) */
    const uint32_t *seg_len;
    /* "*...*": the first and last segments are exactly the quotes, which the
     * quoted value always has, so the middle segments can be searched in the
     * plain value (match__wild_match_bare) without building the quoted one. */
    bool bare;
};

/* Parses text (already wrapped in quotes, as event-ruler does) into *out;
 * on a bad pattern returns ERR_USAGE with event-ruler's message. */
int match__wild_compile(struct arena *a, const char *s, size_t len, struct match_wild **out,
                        struct err *err);
bool match__wild_match(const struct match_wild *w, const char *s, size_t len);
/* The same for a bare pattern (w->bare), on the value without its quotes. */
bool match__wild_match_bare(const struct match_wild *w, const char *s, size_t len);

/* ---- compiled patterns ---------------------------------------------------- */

enum match_pat_kind {
    /* hashable: equality on a key */
    MP_EXACT_STR = 1, /* string equal to s */
    MP_LIT,           /* true/false/null, s is the literal */
    MP_NUM_LIT,       /* number whose text is s */
    MP_NUM_EQ,        /* comparable number equal to lo */
    MP_IP_EQ,         /* string holding the address ip_lo (ip_len bytes) */
    MP_PREFIX,        /* quoted string starting with s ('"' + text) */
    MP_SUFFIX,        /* quoted string ending with s (text + '"') */
    MP_EIC,           /* string equal to text ignoring case */
    MP_PREFIX_EIC,
    MP_SUFFIX_EIC,
    /* evaluated one by one */
    MP_WILDCARD,
    MP_RANGE,         /* comparable number in lo..hi */
    MP_CIDR,          /* string address in ip_lo..ip_hi */
    MP_EXISTS,        /* any leaf value */
    MP_AB_STR,        /* anything but: not a string in the set */
    MP_AB_NUM,        /* not a comparable number in the set */
    MP_AB_PREFIX,
    MP_AB_SUFFIX,
    MP_AB_EIC,
    MP_AB_WILDCARD,
};

struct match_pat {
    uint8_t kind;
    uint8_t lo_open, hi_open;
    uint8_t ip_len;             /* 4 or 16 */
    uint32_t len;               /* bytes of s */
    const char *s;              /* see the kinds */
    double lo, hi;
    uint8_t ip_lo[16], ip_hi[16];
    const struct match_eic *eic;   /* EIC, PREFIX_EIC, SUFFIX_EIC */
    const struct match_wild *wild; /* WILDCARD */
    /* anything-but sets: strings sorted (AB_STR) or in order, numbers sorted */
    uint32_t n_set;
    const char *const *set;
    const uint32_t *set_len;
    const double *nums;
    const struct match_eic *const *eics;
    const struct match_wild *const *wilds;
};

struct match_field {
    const char *path; /* NUL-terminated, in the set's arena */
    uint32_t path_len;
    bool absent;      /* exists:false is one of the alternatives */
    uint32_t n_pat;
    const struct match_pat *const *pats;
};

struct match_subrule {
    uint32_t n_field;
    struct match_field *fields; /* sorted by path in Java String order */
};

struct match_rule {
    uint32_t n_sub;
    struct match_subrule *subs;
};

/* Caps: EventBridge's $or limit and event-ruler's MAXIMUM_RULE_SIZE. */
#define MATCH_MAX_SUBRULES 1000
#define MATCH_MAX_FIELDS 256
#define MATCH_MAX_PATTERN_LEN (1u << 20)

/* Compiles pattern text into *out (allocated in a). ERR_USAGE with an
 * event-ruler style message for an invalid pattern, ERR_LIMIT past a cap. */
int match__compile(struct arena *a, const char *text, size_t len, struct match_rule *out,
                   struct err *err);

/* Appends a canonical byte key of p (equal keys mean equal patterns). */
void match__pat_key(const struct match_pat *p, struct buf *out);

/* ---- one event value as the matcher sees it ------------------------------ */

enum {
    MV_STR_DONE = 1,  /* s/len decoded */
    MV_Q_DONE = 2,    /* q/qlen quoted form */
    MV_NUM_DONE = 4,  /* comparable/num */
    MV_IP_DONE = 8,   /* ip/ip_len */
    MV_FOLD_DONE = 16 /* fold of the quoted form */
};

struct match_val {
    const struct json_leaf *leaf;
    uint8_t type; /* enum json_type */
    uint8_t done;
    bool comparable;
    int8_t ip_len; /* 4, 16, or <= 0: not an address */
    uint16_t n_mem; /* array memberships that count (see set.c) */
    const struct json_arrpos *mem;
    const char *s; /* decoded string, or the raw text of other types */
    size_t len;
    const char *q; /* '"' + s + '"' */
    size_t qlen;
    const char *f; /* fold of q */
    size_t flen;
    double num;
    uint8_t ip[16];
};

/* Fills the lazily computed parts named by need (MV_* bits) using arena for
 * decoded copies. */
void match__val_need(struct match_val *v, unsigned need, struct arena *arena, struct buf *tmp);

/* Does p accept v? v must already hold what p's kind needs. */
bool match__pat_match(const struct match_pat *p, const struct match_val *v);

/* MV_* bits p needs from a value. */
unsigned match__pat_needs(const struct match_pat *p);

#endif
