/*
 * Trino's regular expression functions for `vigil query`, on PCRE2.
 *
 * Athena (Trino) uses Java's pattern syntax: \d \w \s and their negations,
 * (?i) and the other inline flags, lazy quantifiers (.*?), look-ahead and
 * look-behind, non-capturing and named groups, \b, \Q..\E, possessive
 * quantifiers. PCRE2 accepts all of these with the same meaning; POSIX ERE,
 * which this file replaces, had none of them. Patterns are compiled in UTF
 * mode without PCRE2_UCP, so \d and \w stay ASCII as in Java, while (?i)
 * folds case for any Unicode letter as Trino does. Subjects that are not
 * valid UTF-8 still match (PCRE2_MATCH_INVALID_UTF): a broken byte is never
 * part of a match.
 *
 * Functions (Trino's signatures):
 *   regexp_like(s, p)                  true when p matches anywhere in s
 *   regexp_extract(s, p[, group])      first match (or its group), NULL if none
 *   regexp_extract_all(s, p[, group])  every match as an array (JSON text)
 *   regexp_replace(s, p[, repl])       every match replaced ($1, ${name}, \$)
 *   regexp_count(s, p)                 number of matches
 *   regexp_position(s, p[, start[, occurrence]])  1-based character index, -1
 *   regexp_split(s, p)                 the pieces between matches (array)
 * A group beyond the pattern's count is an error, as in Trino ("Pattern has
 * N groups. Cannot access group G"). A pattern that does not compile is an
 * error naming the offset; one that backtracks past the match limit is an
 * error rather than a hang.
 *
 * The compiled pattern is cached on the statement by SQLite's auxdata while
 * the pattern argument is a constant.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "query/query_int.h"

#include <pcre2.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RE_MAX_PATTERN 65536        /* longer patterns are refused */
#define RE_MAX_OUTPUT (16u << 20)    /* results larger than this are an error */
#define RE_MATCH_LIMIT 10000000u     /* backtracking steps per match attempt */
#define RE_DEPTH_LIMIT 100000u

struct re {
    pcre2_code *code;
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    uint32_t groups; /* capturing groups in the pattern */
};

static void re_free(void *p)
{
    struct re *re = p;
    if (re == NULL)
        return;
    pcre2_match_data_free(re->md);
    pcre2_match_context_free(re->mctx);
    pcre2_code_free(re->code);
    free(re);
}

/* The compiled pattern of argument i, cached while the argument is constant.
 * NULL after reporting an error on ctx. */
static struct re *get_re(sqlite3_context *ctx, sqlite3_value **argv, int i)
{
    struct re *re = sqlite3_get_auxdata(ctx, i);
    if (re != NULL)
        return re;
    const char *p = (const char *)sqlite3_value_text(argv[i]);
    size_t len = (size_t)sqlite3_value_bytes(argv[i]);
    if (p == NULL)
        return NULL;
    if (len > RE_MAX_PATTERN) {
        sqlite3_result_error(ctx, "regular expression too long", -1);
        return NULL;
    }
    int ecode = 0;
    PCRE2_SIZE eoff = 0;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)p, len, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF,
                                     &ecode, &eoff, NULL);
    if (code == NULL) {
        PCRE2_UCHAR why[160];
        pcre2_get_error_message(ecode, why, sizeof(why));
        char *msg = sqlite3_mprintf("invalid regular expression '%.200s': %s at offset %d", p,
                                    (const char *)why, (int)eoff);
        sqlite3_result_error(ctx, msg ? msg : "invalid regular expression", -1);
        sqlite3_free(msg);
        return NULL;
    }
    (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE); /* interpreted when JIT is unavailable */
    re = xcalloc(1, sizeof(*re));
    re->code = code;
    re->md = pcre2_match_data_create_from_pattern(code, NULL);
    re->mctx = pcre2_match_context_create(NULL);
    if (re->md == NULL || re->mctx == NULL) {
        re_free(re);
        sqlite3_result_error_nomem(ctx);
        return NULL;
    }
    pcre2_set_match_limit(re->mctx, RE_MATCH_LIMIT);
    pcre2_set_depth_limit(re->mctx, RE_DEPTH_LIMIT);
    pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &re->groups);
    sqlite3_set_auxdata(ctx, i, re, re_free);
    /* A non-constant pattern is kept until the call returns; only a failed
     * allocation inside SQLite drops it at once. */
    re = sqlite3_get_auxdata(ctx, i);
    if (re == NULL)
        sqlite3_result_error_nomem(ctx);
    return re;
}

/* One match of re in s[0..len) at or after start. 1 = found (offsets in
 * re->md), 0 = none, -1 = error reported on ctx. */
static int re_match(sqlite3_context *ctx, struct re *re, const char *s, size_t len, size_t start,
                    uint32_t opts)
{
    int rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, start, opts, re->md, re->mctx);
    if (rc >= 0)
        return 1;
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT) {
        sqlite3_result_error(ctx, "regular expression too complex (match limit exceeded)", -1);
        return -1;
    }
    PCRE2_UCHAR why[160];
    pcre2_get_error_message(rc, why, sizeof(why));
    sqlite3_result_error(ctx, (const char *)why, -1);
    return -1;
}

/* The next search start after a match [so, eo): an empty match steps over one
 * UTF-8 character so the loop advances. */
static size_t next_start(const char *s, size_t len, size_t so, size_t eo)
{
    if (eo > so)
        return eo;
    size_t i = eo + 1;
    while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
        i++;
    return i;
}

static bool bad_group(sqlite3_context *ctx, const struct re *re, sqlite3_int64 g)
{
    if (g >= 0 && (uint64_t)g <= re->groups)
        return false;
    char msg[96];
    snprintf(msg, sizeof(msg), "Pattern has %u groups. Cannot access group %lld", re->groups,
             (long long)g);
    sqlite3_result_error(ctx, msg, -1);
    return true;
}

/* One call's text and pattern, and where the next search starts. */
struct call {
    const char *s;
    size_t len;
    struct re *re;
    size_t at;
};

/* Fills c from the call's arguments; false (result NULL set) when either is NULL. */
static bool args(sqlite3_context *ctx, sqlite3_value **argv, struct call *c)
{
    c->at = 0;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL || sqlite3_value_type(argv[1]) == SQLITE_NULL) {
        sqlite3_result_null(ctx);
        return false;
    }
    c->re = get_re(ctx, argv, 1);
    if (c->re == NULL)
        return false;
    c->s = (const char *)sqlite3_value_text(argv[0]);
    c->len = (size_t)sqlite3_value_bytes(argv[0]);
    if (c->s == NULL) {
        sqlite3_result_null(ctx);
        return false;
    }
    return true;
}

/* The next match from c->at: 1 with *ov set and c->at moved past it, 0 when
 * there is none, -1 after an error was set as the result. */
static int next_match(sqlite3_context *ctx, struct call *c, PCRE2_SIZE **ov)
{
    if (c->at > c->len)
        return 0;
    int m = re_match(ctx, c->re, c->s, c->len, c->at, 0);
    if (m != 1)
        return m;
    *ov = pcre2_get_ovector_pointer(c->re->md);
    c->at = next_start(c->s, c->len, (*ov)[0], (*ov)[1]);
    return 1;
}

static void fn_regexp_like(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct call c;
    if (!args(ctx, argv, &c))
        return;
    const char *s = c.s;
    size_t len = c.len;
    struct re *re = c.re;
    int m = re_match(ctx, re, s, len, 0, 0);
    if (m >= 0)
        sqlite3_result_int(ctx, m);
}

static void fn_regexp_extract(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct call c;
    if (!args(ctx, argv, &c))
        return;
    const char *s = c.s;
    size_t len = c.len;
    struct re *re = c.re;
    sqlite3_int64 g = argc > 2 ? sqlite3_value_int64(argv[2]) : 0;
    if (bad_group(ctx, re, g))
        return;
    int m = re_match(ctx, re, s, len, 0, 0);
    if (m <= 0) {
        if (m == 0)
            sqlite3_result_null(ctx);
        return;
    }
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(re->md);
    if (ov[2 * g] == PCRE2_UNSET) {
        sqlite3_result_null(ctx); /* the group took no part in the match */
        return;
    }
    sqlite3_result_text(ctx, s + ov[2 * g], (int)(ov[2 * g + 1] - ov[2 * g]), SQLITE_TRANSIENT);
}

/* Writes an array of strings (JSON text) and sets it as the result. */
static void result_array(sqlite3_context *ctx, struct buf *b, struct json_writer *w)
{
    jw_array_end(w);
    if (w->rc == 0)
        sqlite3_result_text(ctx, b->p, (int)b->len, SQLITE_TRANSIENT);
    else
        sqlite3_result_error_toobig(ctx);
}

static void fn_regexp_extract_all(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct call c;
    if (!args(ctx, argv, &c))
        return;
    const char *s = c.s;
    struct re *re = c.re;
    sqlite3_int64 g = argc > 2 ? sqlite3_value_int64(argv[2]) : 0;
    if (bad_group(ctx, re, g))
        return;
    struct buf b;
    struct json_writer w;
    buf_init(&b, RE_MAX_OUTPUT);
    jw_init(&w, &b, 0);
    jw_array_begin(&w);
    PCRE2_SIZE *ov;
    int m;
    while ((m = next_match(ctx, &c, &ov)) == 1) {
        if (ov[2 * g] == PCRE2_UNSET)
            jw_null(&w);
        else
            jw_str_sv(&w, sv_make(s + ov[2 * g], ov[2 * g + 1] - ov[2 * g]));
    }
    if (m >= 0)
        result_array(ctx, &b, &w);
    buf_free(&b);
}

static void fn_regexp_split(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct call c;
    if (!args(ctx, argv, &c))
        return;
    const char *s = c.s;
    size_t len = c.len;
    struct buf b;
    struct json_writer w;
    buf_init(&b, RE_MAX_OUTPUT);
    jw_init(&w, &b, 0);
    jw_array_begin(&w);
    size_t piece = 0;
    PCRE2_SIZE *ov;
    int m;
    while ((m = next_match(ctx, &c, &ov)) == 1) {
        jw_str_sv(&w, sv_make(s + piece, ov[0] - piece));
        piece = ov[1];
    }
    if (m >= 0) {
        jw_str_sv(&w, sv_make(s + piece, len - piece));
        result_array(ctx, &b, &w);
    }
    buf_free(&b);
}

static void fn_regexp_count(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct call c;
    if (!args(ctx, argv, &c))
        return;
    sqlite3_int64 n = 0;
    PCRE2_SIZE *ov;
    int m;
    while ((m = next_match(ctx, &c, &ov)) == 1)
        n++;
    if (m >= 0)
        sqlite3_result_int64(ctx, n);
}

/* Characters (UTF-8 lead bytes) in s[0..end). */
static size_t chars_before(const char *s, size_t end)
{
    size_t n = 0;
    for (size_t i = 0; i < end; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

/* Byte offset of the 1-based character position pos (len when past the end). */
static size_t byte_of_char(const char *s, size_t len, sqlite3_int64 pos)
{
    size_t i = 0;
    for (sqlite3_int64 c = 1; c < pos && i < len; c++) {
        i++;
        while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
    }
    return i;
}

static void fn_regexp_position(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct call c;
    if (!args(ctx, argv, &c))
        return;
    const char *s = c.s;
    size_t len = c.len;
    sqlite3_int64 start = argc > 2 ? sqlite3_value_int64(argv[2]) : 1;
    sqlite3_int64 occ = argc > 3 ? sqlite3_value_int64(argv[3]) : 1;
    if (start < 1 || occ < 1) {
        sqlite3_result_error(ctx, "regexp_position: start and occurrence must be positive", -1);
        return;
    }
    c.at = byte_of_char(s, len, start);
    PCRE2_SIZE *ov;
    int m;
    while ((m = next_match(ctx, &c, &ov)) == 1) {
        if (--occ == 0) {
            sqlite3_result_int64(ctx, (sqlite3_int64)chars_before(s, ov[0]) + 1);
            return;
        }
    }
    if (m >= 0)
        sqlite3_result_int64(ctx, -1);
}

/* Appends the replacement for the current match, Java's syntax: $n and
 * ${name} insert a group (an unset group inserts nothing), \c inserts c
 * literally (so \$ is a dollar). A reference to a group the pattern lacks,
 * or a trailing lone $ or \, is an error (0 returned after reporting it). */
static bool put_replacement(sqlite3_context *ctx, const struct re *re, const char *s,
                            struct sv repl, struct buf *out)
{
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(re->md);
    for (size_t i = 0; i < repl.len; i++) {
        char c = repl.p[i];
        if (c == '\\') {
            if (i + 1 >= repl.len) {
                sqlite3_result_error(ctx, "regexp_replace: character to be escaped is missing", -1);
                return false;
            }
            buf_putc(out, repl.p[++i]);
            continue;
        }
        if (c != '$') {
            buf_putc(out, c);
            continue;
        }
        long g = -1;
        if (i + 1 < repl.len && repl.p[i + 1] == '{') {
            const char *close = memchr(repl.p + i + 2, '}', repl.len - i - 2);
            if (close == NULL) {
                sqlite3_result_error(ctx, "regexp_replace: named capturing group is missing "
                                          "trailing '}'", -1);
                return false;
            }
            size_t nl = (size_t)(close - (repl.p + i + 2));
            char name[64];
            if (nl == 0 || nl >= sizeof(name)) {
                sqlite3_result_error(ctx, "regexp_replace: bad named group reference", -1);
                return false;
            }
            memcpy(name, repl.p + i + 2, nl);
            name[nl] = '\0';
            int n = pcre2_substring_number_from_name(re->code, (PCRE2_SPTR)name);
            if (n < 0) {
                char msg[120];
                snprintf(msg, sizeof(msg), "regexp_replace: no group with name {%s}", name);
                sqlite3_result_error(ctx, msg, -1);
                return false;
            }
            g = n;
            i += 2 + nl;
        } else if (i + 1 < repl.len && repl.p[i + 1] >= '0' && repl.p[i + 1] <= '9') {
            /* Java reads digits while the number stays a valid group. */
            g = repl.p[++i] - '0';
            while (i + 1 < repl.len && repl.p[i + 1] >= '0' && repl.p[i + 1] <= '9') {
                long ng = g * 10 + (repl.p[i + 1] - '0');
                if ((unsigned long)ng > re->groups)
                    break;
                g = ng;
                i++;
            }
            if ((unsigned long)g > re->groups) {
                char msg[96];
                snprintf(msg, sizeof(msg), "regexp_replace: no group %ld", g);
                sqlite3_result_error(ctx, msg, -1);
                return false;
            }
        } else {
            sqlite3_result_error(ctx, "regexp_replace: illegal group reference", -1);
            return false;
        }
        if (ov[2 * g] != PCRE2_UNSET)
            buf_append(out, s + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
    }
    return true;
}

static void fn_regexp_replace(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct call c;
    if (!args(ctx, argv, &c))
        return;
    const char *s = c.s;
    size_t len = c.len;
    struct re *re = c.re;
    struct sv repl = SV("");
    if (argc > 2) {
        if (sqlite3_value_type(argv[2]) == SQLITE_NULL) {
            sqlite3_result_null(ctx);
            return;
        }
        const char *p = (const char *)sqlite3_value_text(argv[2]);
        repl = sv_make(p ? p : "", p ? (size_t)sqlite3_value_bytes(argv[2]) : 0);
    }
    struct buf out;
    buf_init(&out, RE_MAX_OUTPUT);
    size_t copied = 0;
    PCRE2_SIZE *ov;
    int m = 0;
    bool ok = true;
    while (ok && (m = next_match(ctx, &c, &ov)) == 1) {
        buf_append(&out, s + copied, ov[0] - copied);
        ok = put_replacement(ctx, re, s, repl, &out);
        copied = ov[1];
        if (c.at > ov[1] && c.at <= len) { /* an empty match: the stepped-over character stays */
            buf_append(&out, s + ov[1], c.at - ov[1]);
            copied = c.at;
        }
    }
    if (ok && m >= 0) {
        if (copied < len)
            buf_append(&out, s + copied, len - copied);
        if (out.len >= RE_MAX_OUTPUT)
            sqlite3_result_error_toobig(ctx);
        else
            sqlite3_result_text(ctx, out.p ? out.p : "", (int)out.len, SQLITE_TRANSIENT);
    }
    buf_free(&out);
}

static const struct {
    const char *name;
    int nargs;
    void (*fn)(sqlite3_context *, int, sqlite3_value **);
} re_fns[] = {
    { "regexp_like", 2, fn_regexp_like },
    { "regexp_extract", 2, fn_regexp_extract },
    { "regexp_extract", 3, fn_regexp_extract },
    { "regexp_extract_all", 2, fn_regexp_extract_all },
    { "regexp_extract_all", 3, fn_regexp_extract_all },
    { "regexp_replace", 2, fn_regexp_replace },
    { "regexp_replace", 3, fn_regexp_replace },
    { "regexp_count", 2, fn_regexp_count },
    { "regexp_position", 2, fn_regexp_position },
    { "regexp_position", 3, fn_regexp_position },
    { "regexp_position", 4, fn_regexp_position },
    { "regexp_split", 2, fn_regexp_split },
};

int query__sql_regex_functions(struct sqlite3 *db, struct err *err)
{
    for (size_t i = 0; i < sizeof(re_fns) / sizeof(re_fns[0]); i++)
        if (sqlite3_create_function(db, re_fns[i].name, re_fns[i].nargs,
                                    SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, re_fns[i].fn, NULL,
                                    NULL) != SQLITE_OK)
            return err_set(err, ERR_DB, "registering %s: %s", re_fns[i].name, sqlite3_errmsg(db));
    return 0;
}
