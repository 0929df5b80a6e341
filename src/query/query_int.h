/*
 * query internals shared by the filter-pattern files. Not a public header.
 *
 *   filter_regex.c   CloudWatch's regex subset: compile and unanchored search
 *   filter.c         dispatch, term patterns, values, refs, scratch
 *   filter_json.c    { ... } JSON patterns
 *   filter_delim.c   [ ... ] space-delimited patterns
 *
 * Everything a compiled filter owns lives in its arena, so freeing a filter is
 * one arena_free; nothing in a filter changes after compilation.
 */
#ifndef VIGIL_QUERY_INT_H
#define VIGIL_QUERY_INT_H

#include "query/query.h"
#include "json/json.h"

/* ---- regex --------------------------------------------------------------- */

/* Repetition counts above this are rejected; the expanded automaton grows with them. */
#define QUERY__RE_MAX_REPEAT 1000
/* States of one compiled regex; past it ERR_LIMIT. */
#define QUERY__RE_MAX_STATES 8192

struct query__re;

/* Per-thread state sets for query__re_search; grown on demand. */
struct query__re_work {
    uint32_t *cur;
    uint32_t *next;
    uint64_t *member;
    size_t cap; /* states the arrays hold */
};

/*
 * Compiles the regex body p[0..len) (without the enclosing '%'). col is the
 * 1-based column of p[0] in the whole filter pattern, for messages. The
 * result lives in arena. ERR_USAGE for syntax CloudWatch rejects, ERR_LIMIT
 * for an expansion beyond QUERY__RE_MAX_STATES.
 */
int query__re_compile(const char *p, size_t len, size_t col, struct arena *arena,
                      struct query__re **out, struct err *err);
/* True when the regex matches somewhere in s[0..len). Linear in len * states. */
bool query__re_search(const struct query__re *re, const char *s, size_t len,
                      struct query__re_work *w);
void query__re_work_free(struct query__re_work *w);

/* ---- values compared by JSON and space-delimited conditions --------------- */

enum query__op { QOP_EQ, QOP_NE, QOP_LT, QOP_LE, QOP_GT, QOP_GE };

enum query__val_kind {
    QVAL_STR,   /* text; lead/trail '*' are wildcards, a middle '*' is literal */
    QVAL_NUM,   /* a number literal; text kept for textual fallbacks */
    QVAL_REGEX  /* %regex%, searched in the value */
};

struct query__val {
    uint8_t kind;
    bool star_lead, star_trail; /* QVAL_STR: '*' at the start / end */
    const char *text;           /* QVAL_STR without the wildcard stars; QVAL_NUM as written */
    size_t len;
    double num;
    const struct query__re *re;
};

/* Cursor over the pattern being compiled; columns in messages are pos + 1. */
struct query__lex {
    const char *p;
    size_t len;
    size_t pos;
    struct arena *arena;
    struct err *err;
    unsigned n_regex; /* counted against QUERY_FILTER_MAX_REGEX */
};

void query__skip_ws(struct query__lex *lx);
/* Sets err to ERR_USAGE with "column N: <message>" and returns ERR_USAGE. */
int query__syntax(struct query__lex *lx, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * Parses a comparison value at lx->pos: "quoted" (with \" and \\ escapes),
 * %regex%, or a bare token ending at whitespace or at one of stop. Numbers
 * become QVAL_NUM unless quoted. numeric_op: the operator needs a number.
 */
int query__parse_value(struct query__lex *lx, const char *stop, bool numeric_op,
                       struct query__val *out);
/* Parses = != < <= > >= at lx->pos; false (nothing consumed) when absent. */
bool query__parse_op(struct query__lex *lx, enum query__op *out);
/* Strict number syntax: [+-]digits[.digits][(e|E)[+-]digits]. */
bool query__parse_number(const char *p, size_t len, double *out);
/*
 * Compares a value's text (and its number when is_num) with v under op.
 * Ordering operators need is_num; = and != on a number literal compare
 * numerically when the value is a number, textually otherwise.
 */
bool query__compare(const struct query__val *v, enum query__op op, const char *text, size_t len,
                    bool is_num, double num, struct query__re_work *w);

/* ---- JSON patterns ------------------------------------------------------- */

enum query__step_kind { QSTEP_KEY, QSTEP_INDEX, QSTEP_ANY_INDEX, QSTEP_ANY_KEY };

struct query__step {
    uint8_t kind;
    const char *key; /* QSTEP_KEY: NUL-terminated */
    size_t index;    /* QSTEP_INDEX */
};

struct query__selector {
    struct query__step *steps;
    size_t n;
    bool wildcard;
};

struct query__jnode;

/* Parses the whole { ... } pattern at lx (pos at '{'). */
int query__json_compile(struct query__lex *lx, struct query__jnode **out);
/* Parses "$..." at lx->pos into sel. */
int query__json_selector(struct query__lex *lx, struct query__selector *sel);
bool query__json_eval(const struct query__jnode *n, const struct json_value *root,
                      struct query__re_work *w);
/* The single value a wildcard-free selector points to, or NULL. */
const struct json_value *query__json_resolve(const struct query__selector *sel,
                                             const struct json_value *root);

/* ---- space-delimited patterns ------------------------------------------- */

struct query__delim;

int query__delim_compile(struct query__lex *lx, struct query__delim **out);
/* Index of the field named name (without '$'), or -1. */
int query__delim_field_index(const struct query__delim *d, const char *name, size_t len);

/* Event fields of one message, reused across events. */
struct query__fields {
    struct sv *v;      /* field text without quotes/brackets */
    int32_t *slot;     /* slot each field matched, -1 when absorbed or unnamed */
    size_t n;
    size_t cap;
};

void query__fields_free(struct query__fields *f);
bool query__delim_match(const struct query__delim *d, const char *msg, size_t len,
                        struct query__fields *fields, struct query__re_work *w);
/* Slot name ("$name", owned by d) of a field after a match, or SV_NULL if unnamed. */
struct sv query__delim_slot_name(const struct query__delim *d, int32_t slot);


/* ---- SQL (sql_funcs.c) ------------------------------------------------------ */

struct sqlite3;
int query__sql_functions(struct sqlite3 *db, struct err *err);
int query__sql_views(struct sqlite3 *db, struct err *err);
/* ct_field(id, key, mode), a top-level field of a stored CloudTrail record
 * read once per row (sql_ctrec.c), registered by query__sql_functions. */
int query__sql_ct_record(struct sqlite3 *db, struct err *err);
/* regexp_* on PCRE2 (sql_regex.c), registered by query__sql_functions. */
int query__sql_regex_functions(struct sqlite3 *db, struct err *err);
/* vq_text_has(id, query) (sql_textset.c). */
int query__sql_text_set(struct sqlite3 *db, struct err *err);

#endif
