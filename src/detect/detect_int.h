/*
 * detect internals shared by rules.c, engine.c, lists.c and the check_*.c files.
 */
#ifndef VIGIL_DETECT_INT_H
#define VIGIL_DETECT_INT_H

#include "detect/detect.h"
#include "json/json.h"

/* ---- templates ----------------------------------------------------------------- */

enum tmpl_kind {
    TMPL_TEXT = 0, /* literal text */
    TMPL_PATH,     /* {{a.b.c}}: the event's leaves at that path */
    TMPL_DETAIL    /* {{$detail}}: what the rule's check found */
};

#define TMPL_ALTS_MAX 4

/* {{a|b}} renders the first of a, b that the event has; {{a|'none'}} renders
 * "none" when a is absent. */
struct tmpl_seg {
    uint8_t kind;  /* enum tmpl_kind */
    uint8_t n_alt; /* PATH: number of alternatives */
    const char *text; /* TEXT: the literal */
    size_t len;
    struct {
        const char *p; /* not NUL-terminated, points into the template source */
        size_t len;
        uint64_t hash; /* json_path_hash */
        bool literal;  /* 'text' (last alternative only): p/len include the quotes */
    } alt[TMPL_ALTS_MAX];
};

struct tmpl {
    struct tmpl_seg *segs;
    size_t n;
};

/* Compiles src into t (segments point into src, which must outlive t).
 * ERR_FORMAT with a message in err for an unterminated or empty placeholder or
 * an unknown $name. */
int detect__tmpl_compile(const char *src, struct tmpl *t, struct err *err);
void detect__tmpl_free(struct tmpl *t);

/* Rule internals for the engine. */
const struct tmpl *detect__rule_title(const struct detect_rule *r);
const struct tmpl *detect__rule_desc(const struct detect_rule *r);
const struct detect_check *detect__rule_check(const struct detect_rule *r);
/* A dotted record path as rules may write it. */
bool detect__valid_path(const char *s, size_t len);

/* The sets behind a list kind (NULL when l is NULL). */
const struct iplist *detect__lists_ips(const struct detect_lists *l, enum detect_list_kind k);
const struct domlist *detect__lists_doms(const struct detect_lists *l, enum detect_list_kind k);

/* ---- checks --------------------------------------------------------------------- */

/* What a check sees and may set. */
struct detect_check_ctx {
    const struct event *ev;
    const struct json_value *rec; /* the record parsed from ev->raw */
    struct arena *arena;          /* per-event scratch memory */
    double severity;              /* out: 0 = the rule's own */
    const char *detail;           /* out: a short explanation, or NULL */
};

typedef bool (*detect_check_fn)(struct detect_check_ctx *cx);

/* A check reads the record through cx->rec (ev->raw parsed on demand) and the
 * event's common fields, never its leaves: it needs nothing from the path set,
 * so the subtrees it looks at (requestParameters, userIdentity) are not
 * flattened for every record. */
struct detect_check {
    const char *name;
    detect_check_fn fn;
};

/* The check named name, or NULL. */
const struct detect_check *detect__check_find(const char *name, size_t len);

/* The checks, one group per file. */
bool detect__check_s3_anonymous(struct detect_check_ctx *cx);
bool detect__check_s3_authenticated(struct detect_check_ctx *cx);
bool detect__check_s3_external_account(struct detect_check_ctx *cx);
bool detect__check_s3_bpa_disabled(struct detect_check_ctx *cx);
bool detect__check_password_policy(struct detect_check_ctx *cx);
bool detect__check_admin_policy(struct detect_check_ctx *cx);
bool detect__check_other_user(struct detect_check_ctx *cx);
bool detect__check_role_trust_external(struct detect_check_ctx *cx);
bool detect__check_sg_admin_open(struct detect_check_ctx *cx);
bool detect__check_resource_shared(struct detect_check_ctx *cx);
bool detect__check_trail_mgmt_excluded(struct detect_check_ctx *cx);

/* ---- helpers over parsed JSON (check_util.c) ------------------------------------ */

/* obj.key, following dotted segments ("requestParameters.bucketName"); NULL if
 * any step is missing or not an object. */
const struct json_value *detect__jpath(const struct json_value *obj, const char *path);
/* Member by key, ASCII case-insensitive; last one wins. */
const struct json_value *detect__jget_nocase(const struct json_value *obj, const char *key);
/* True for JSON true or the string "true" (any case). */
bool detect__jtrue(const struct json_value *v);
/* True for JSON false or the string "false" (any case). */
bool detect__jfalse(const struct json_value *v);
/* Integer value of a number or a numeric string; false otherwise. */
bool detect__jint(const struct json_value *v, int64_t *out);
/* String value equals s (exact). */
bool detect__jstr_eq(const struct json_value *v, const char *s);

/* A policy document given as an object, a JSON string or a URL-encoded JSON
 * string (IAM writes all three into CloudTrail); NULL if none parses. */
const struct json_value *detect__policy_doc(const struct json_value *v, struct arena *arena);

/* Calls fn for each statement (Statement may be one object or an array).
 * Stops early and returns true when fn does. */
typedef bool (*detect_stmt_fn)(void *ctx, const struct json_value *stmt);
bool detect__each_statement(const struct json_value *doc, detect_stmt_fn fn, void *ctx);

/* Calls fn for each string in v (a string or an array of strings). */
typedef bool (*detect_str_fn)(void *ctx, const char *s, size_t len);
bool detect__each_string(const struct json_value *v, detect_str_fn fn, void *ctx);

/* Account id in an AWS principal: a 12-digit id or an arn:aws:iam::<id>:...
 * ARN. Writes 12 digits + NUL; false for "*" and anything else. */
bool detect__principal_account(const char *s, size_t len, char out[13]);

/* The account that owns what the event touched (recipientAccountId, else the
 * caller's account): 12 digits + NUL; false if unknown. */
bool detect__own_account(const struct detect_check_ctx *cx, char out[13]);

/* True when the policy document allows every action on every resource. */
bool detect__policy_is_admin(const struct json_value *doc);

/* printf into the arena. */
const char *detect__afmt(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
