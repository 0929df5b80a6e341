/*
 * json: the zero-copy scanner that flattens a record into leaves, a small tree
 * parser for configuration (patterns, rules, bus files), and a JSON writer.
 *
 * Flattening follows EventBridge's view of an event: a leaf's path is the
 * dotted list of object keys from the root ("userIdentity.sessionContext.
 * sessionIssuer.arn"); arrays add no path segment, but every leaf records which
 * element of each enclosing array it came from, so a matcher can require that
 * fields matched inside arrays come from the same element (event-ruler's
 * rulesForJSONEvent). Values point into the input buffer: nothing is copied
 * except the path strings, which live in the caller's arena.
 *
 * All functions are reentrant; the scanner keeps no state between calls.
 */
#ifndef VIGIL_JSON_H
#define VIGIL_JSON_H

#include "core/core.h"

enum json_type {
    JSON_NULL = 0,
    JSON_FALSE,
    JSON_TRUE,
    JSON_NUMBER,
    JSON_STRING,
    JSON_OBJECT, /* as a leaf: only the empty object {} */
    JSON_ARRAY   /* as a leaf: only the empty array [] */
};

/* Maximum nesting depth; deeper input fails with ERR_LIMIT. */
#define JSON_MAX_DEPTH 128

/* Maximum length of a flattened path in bytes; a longer one fails with
 * ERR_LIMIT (only when the leaf is wanted: skipped subtrees are not limited). */
#define JSON_MAX_PATH 4096

/* One enclosing array on the way from the root to a leaf. */
struct json_arrpos {
    uint32_t array; /* id of the array occurrence, unique within one record */
    uint32_t index; /* 0-based element index */
};

struct json_leaf {
    const char *path;   /* dotted key path, NUL-terminated, in the arena */
    uint64_t path_hash; /* json_path_hash(path, path_len) */
    const char *val;    /* raw text in the input; strings without their quotes */
    uint32_t path_len;
    uint32_t val_len;
    uint8_t type;    /* enum json_type */
    uint8_t escaped; /* string holds backslash escapes: decode with json_unescape */
    uint16_t n_arr;  /* number of enclosing arrays */
    const struct json_arrpos *arr; /* n_arr entries, outermost first, in the arena */
};

/* The leaves of one record. Reuse one across records: json_flatten resets n
 * and keeps the storage. */
struct json_flat {
    struct json_leaf *leaves;
    size_t n;
    size_t cap;
};

void json_flat_init(struct json_flat *f);
void json_flat_free(struct json_flat *f);

/* The set of paths some consumer needs. Subtrees whose path is neither a
 * wanted path nor a prefix of one are skipped without producing leaves.
 * A NULL set means "everything". Paths are split at every '.', so a key that
 * itself contains a dot cannot be selected (it still appears with a NULL set).
 * Once filled, a set is only read by json_flatten and may be shared by any
 * number of threads; adding is not thread-safe. */
struct json_pathset;

struct json_pathset *json_pathset_new(void);
void json_pathset_free(struct json_pathset *ps);
/* Adds a dotted path (copied). Adding "a.b" also keeps "a" so it is descended. */
void json_pathset_add(struct json_pathset *ps, const char *path, size_t len);
/* Adds every path below prefix too ("requestParameters" keeps the whole subtree). */
void json_pathset_add_subtree(struct json_pathset *ps, const char *path, size_t len);

uint64_t json_path_hash(const char *path, size_t len);

/*
 * Flattens the single JSON value at p[0..len) (leading/trailing whitespace
 * allowed, nothing else after it) into out. Paths are allocated in arena.
 * Returns 0, or ERR_FORMAT (with the byte offset in err->offset) for invalid
 * JSON, ERR_LIMIT for nesting deeper than JSON_MAX_DEPTH or a wanted path
 * longer than JSON_MAX_PATH. Strings are validated (escapes, control
 * characters) even when their subtree is skipped; UTF-8 is not validated.
 * On error out->n is 0.
 *
 * Leaves come in document order. Paths hold the decoded keys (a key written
 * "a\u002eb" gives the path "a.b"); a scalar root has the empty path "".
 * Leaves share path and arr storage when they can (the elements of an array
 * of scalars share one path string): treat both as read-only.
 * Array ids count only the arrays that were walked, in document order from 0.
 * Positions live in arena; a path lives in arena, or, when it is itself a
 * path added to want (not one below a subtree), in want, which stores each
 * such path once; val points into p: the leaves are valid while arena, want
 * and p are.
 */
int json_flatten(const char *p, size_t len, const struct json_pathset *want, struct arena *arena,
                 struct json_flat *out, struct err *err);

/* Validates one JSON value starting at p[*pos] (after optional whitespace) and
 * moves *pos just past it (trailing whitespace is not consumed). Used to split
 * concatenated or line-delimited input and to walk {"Records":[...]} without
 * building anything. On error *pos is unchanged and err->offset is relative to
 * p (not to *pos); ERR_USAGE if *pos > len. Same validation as json_flatten. */
int json_skip_value(const char *p, size_t len, size_t *pos, struct err *err);

/* json_skip_value and json_flatten in one pass: flattens the one JSON value
 * starting at p[*pos] (after optional whitespace) into out and moves *pos just
 * past it; what follows the value is not looked at. A reader splitting
 * {"Records":[...]} walks each record once instead of twice. Leaves, paths and
 * limits are exactly those json_flatten gives for the value's own bytes
 * (including the path budget, computed on the value's length). On error *pos
 * is unchanged, out->n is 0 and err->offset is relative to p; ERR_USAGE if
 * *pos > len. */
int json_flatten_next(const char *p, size_t len, size_t *pos, const struct json_pathset *want,
                      struct arena *arena, struct json_flat *out, struct err *err);

/* Decodes a JSON string body (without quotes) into out (appended, UTF-8).
 * Surrogate pairs become one code point; a lone surrogate becomes U+FFFD (not
 * an error: one odd character in user-supplied text must not cost a record).
 * \u0000 becomes a NUL byte; other bytes are copied as they are.
 * Returns ERR_FORMAT on a bad escape, ERR_LIMIT if out's cap is hit. */
int json_unescape(const char *s, size_t len, struct buf *out);

/* A leaf's string value decoded: the raw view when not escaped, otherwise a
 * copy decoded into the arena. */
struct sv json_leaf_str(const struct json_leaf *leaf, struct arena *arena);

/* Finds the first leaf with this exact path; NULL if none. Linear. */
const struct json_leaf *json_flat_get(const struct json_flat *f, const char *path);

/* ---- tree parser (configuration, patterns; not the hot path) ------------- */

struct json_value {
    uint8_t type;       /* enum json_type */
    const char *str;    /* STRING: decoded, NUL-terminated; NUMBER: the text as written */
    size_t len;         /* bytes in str */
    double num;         /* NUMBER: value as a double */
    const char *key;    /* member of an object: its decoded key, NUL-terminated */
    size_t key_len;
    struct json_value *items; /* ARRAY elements or OBJECT members, in input order */
    size_t n;                 /* duplicate object keys are kept, in order */
    size_t offset;            /* byte offset of the value in the input */
};

/* Parses p[0..len) into a tree allocated entirely in arena (freed with it).
 * Same validation, limits (JSON_MAX_DEPTH) and error messages as json_flatten.
 * Strings and keys are decoded (may hold NUL bytes: use len/key_len). */
int json_parse(const char *p, size_t len, struct arena *arena, struct json_value **out,
               struct err *err);

/* Last member of obj named key (JSON parsers keep the last duplicate), or NULL. */
const struct json_value *json_get(const struct json_value *obj, const char *key);

/* Writes v as compact JSON (numbers as written, strings re-escaped). */
int json_write_value(struct buf *out, const struct json_value *v);

/* ---- writer ---------------------------------------------------------------- */

/* Streams JSON into a buf, handling commas, escaping and optional indentation.
 * Nesting deeper than JSON_MAX_DEPTH is a programming error (aborts), as is
 * closing more than was opened. Non-finite doubles are written as null (JSON
 * has no NaN/Infinity). Bytes >= 0x80 in strings are copied as they are.
 * If the buf has a cap and fills up, rc becomes ERR_LIMIT and stays so: later
 * calls write nothing; check w->rc once at the end. */
struct json_writer {
    struct buf *out;
    int indent;  /* spaces per level; 0 = compact ("a":1,"b":2) */
    int depth;
    bool first[JSON_MAX_DEPTH]; /* no member written yet at this depth */
    bool after_key;
    int rc; /* 0, or the first buf error (ERR_LIMIT) */
};

void jw_init(struct json_writer *w, struct buf *out, int indent);
void jw_object_begin(struct json_writer *w);
void jw_object_end(struct json_writer *w);
void jw_array_begin(struct json_writer *w);
void jw_array_end(struct json_writer *w);
void jw_key(struct json_writer *w, const char *key);
void jw_key_sv(struct json_writer *w, struct sv key);
void jw_str(struct json_writer *w, const char *s);
void jw_str_sv(struct json_writer *w, struct sv s);
void jw_int(struct json_writer *w, int64_t v);
void jw_double(struct json_writer *w, double v);
void jw_bool(struct json_writer *w, bool v);
void jw_null(struct json_writer *w);
/* Inserts already-encoded JSON text as one value. */
void jw_raw(struct json_writer *w, struct sv json);
/* Appends s JSON-escaped (no quotes) to out: '"', '\\' and control characters
 * (\b \f \n \r \t, others as \u00XX); everything else as is. On a capped buf
 * that fills up, out holds a truncated text: check buf space beforehand or use
 * a jw writer, whose rc records it. */
void json_escape(struct buf *out, const char *s, size_t len);

/* Formats v as jw_double does: integers below 2^53 without a fraction ("3"),
 * others in the shortest of %.15g/%.16g/%.17g that reads back to v, non-finite
 * values as "null". out holds 32 bytes; returns the length. */
size_t json_format_double(double v, char out[32]);

#endif
