/*
 * Helpers the checks share: walking parsed records and IAM policy documents,
 * and the table that maps check names (as rules write them) to predicates.
 *
 * CloudTrail carries policies in three shapes: S3 puts the bucket policy as a
 * JSON object, IAM puts documents as JSON text in a string, and older IAM
 * records URL-encode that text. detect__policy_doc accepts all three.
 */
#include "detect/detect_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define POLICY_MAX (1u << 20)

/* ---- the registry -------------------------------------------------------------- */

static const struct detect_check checks[] = {
    { "s3_anonymous_access", detect__check_s3_anonymous },
    { "s3_authenticated_access", detect__check_s3_authenticated },
    { "s3_external_account_access", detect__check_s3_external_account },
    { "s3_block_public_access_disabled", detect__check_s3_bpa_disabled },
    { "password_policy_weakened", detect__check_password_policy },
    { "admin_policy", detect__check_admin_policy },
    { "other_user", detect__check_other_user },
    { "role_trust_external", detect__check_role_trust_external },
    { "sg_admin_port_open", detect__check_sg_admin_open },
    { "resource_shared", detect__check_resource_shared },
    { "trail_management_events_excluded", detect__check_trail_mgmt_excluded },
};

#define N_CHECKS (sizeof(checks) / sizeof(checks[0]))

static const char *const check_names[N_CHECKS + 1] = {
    "s3_anonymous_access", "s3_authenticated_access", "s3_external_account_access",
    "s3_block_public_access_disabled", "password_policy_weakened", "admin_policy",
    "other_user", "role_trust_external", "sg_admin_port_open", "resource_shared",
    "trail_management_events_excluded", NULL
};

const char *const *detect_check_names(void) { return check_names; }

const struct detect_check *detect__check_find(const char *name, size_t len)
{
    for (size_t i = 0; i < N_CHECKS; i++)
        if (strlen(checks[i].name) == len && memcmp(checks[i].name, name, len) == 0)
            return &checks[i];
    return NULL;
}

/* ---- JSON helpers ----------------------------------------------------------------- */

static bool key_eq_nocase(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    return alen == blen && sv_eq_nocase(sv_make(a, alen), sv_make(b, blen));
}

const struct json_value *detect__jget_nocase(const struct json_value *obj, const char *key)
{
    if (!obj || obj->type != JSON_OBJECT)
        return NULL;
    const struct json_value *hit = NULL;
    for (size_t i = 0; i < obj->n; i++)
        if (key_eq_nocase(obj->items[i].key, obj->items[i].key_len, key))
            hit = &obj->items[i];
    return hit;
}

const struct json_value *detect__jpath(const struct json_value *obj, const char *path)
{
    const char *p = path;
    while (obj && *p) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (obj->type != JSON_OBJECT)
            return NULL;
        const struct json_value *hit = NULL;
        for (size_t i = 0; i < obj->n; i++)
            if (obj->items[i].key_len == len && memcmp(obj->items[i].key, p, len) == 0)
                hit = &obj->items[i];
        obj = hit;
        p += len;
        if (*p == '.')
            p++;
    }
    return obj;
}

bool detect__jtrue(const struct json_value *v)
{
    if (!v)
        return false;
    if (v->type == JSON_TRUE)
        return true;
    return v->type == JSON_STRING && sv_eq_nocase(sv_make(v->str, v->len), SV("true"));
}

bool detect__jfalse(const struct json_value *v)
{
    if (!v)
        return false;
    if (v->type == JSON_FALSE)
        return true;
    return v->type == JSON_STRING && sv_eq_nocase(sv_make(v->str, v->len), SV("false"));
}

bool detect__jint(const struct json_value *v, int64_t *out)
{
    if (!v || (v->type != JSON_NUMBER && v->type != JSON_STRING))
        return false;
    return sv_to_i64(sv_make(v->str, v->len), out);
}

bool detect__jstr_eq(const struct json_value *v, const char *s)
{
    return v && v->type == JSON_STRING && strlen(s) == v->len && memcmp(v->str, s, v->len) == 0;
}

const struct json_value *detect__policy_doc(const struct json_value *v, struct arena *arena)
{
    if (!v)
        return NULL;
    if (v->type == JSON_OBJECT)
        return v;
    if (v->type != JSON_STRING || v->len == 0 || v->len > POLICY_MAX)
        return NULL;
    const char *text = v->str;
    size_t len = v->len;
    if (text[0] == '%') {
        char *d = arena_alloc(arena, len + 1);
        size_t o = 0;
        for (size_t i = 0; i < len; i++) {
            int h1, h2;
            if (text[i] == '%' && i + 2 < len && (h1 = core_hexval(text[i + 1])) >= 0 &&
                (h2 = core_hexval(text[i + 2])) >= 0) {
                d[o++] = (char)(h1 * 16 + h2);
                i += 2;
            } else if (text[i] == '+') {
                d[o++] = ' ';
            } else {
                d[o++] = text[i];
            }
        }
        d[o] = '\0';
        text = d;
        len = o;
    }
    struct json_value *doc = NULL;
    struct err e;
    err_clear(&e);
    if (json_parse(text, len, arena, &doc, &e) != 0 || doc->type != JSON_OBJECT)
        return NULL;
    return doc;
}

bool detect__each_statement(const struct json_value *doc, detect_stmt_fn fn, void *ctx)
{
    const struct json_value *st = detect__jget_nocase(doc, "Statement");
    if (!st)
        return false;
    if (st->type == JSON_OBJECT)
        return fn(ctx, st);
    if (st->type != JSON_ARRAY)
        return false;
    for (size_t i = 0; i < st->n; i++)
        if (st->items[i].type == JSON_OBJECT && fn(ctx, &st->items[i]))
            return true;
    return false;
}

bool detect__each_string(const struct json_value *v, detect_str_fn fn, void *ctx)
{
    if (!v)
        return false;
    if (v->type == JSON_STRING)
        return fn(ctx, v->str, v->len);
    if (v->type != JSON_ARRAY)
        return false;
    for (size_t i = 0; i < v->n; i++)
        if (v->items[i].type == JSON_STRING && fn(ctx, v->items[i].str, v->items[i].len))
            return true;
    return false;
}

static bool all_digits(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return len > 0;
}

bool detect__principal_account(const char *s, size_t len, char out[13])
{
    if (len == 12 && all_digits(s, 12)) {
        memcpy(out, s, 12);
        out[12] = '\0';
        return true;
    }
    /* arn:<partition>:iam::<account>:<resource> (also sts) */
    struct sv v = sv_make(s, len);
    if (!sv_starts_with(v, SV("arn:")))
        return false;
    size_t colons = 0, start = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != ':')
            continue;
        colons++;
        if (colons == 4)
            start = i + 1;
        if (colons == 5) {
            if (i - start == 12 && all_digits(s + start, 12)) {
                memcpy(out, s + start, 12);
                out[12] = '\0';
                return true;
            }
            return false;
        }
    }
    return false;
}

const char *detect__afmt(struct arena *a, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    size_t len = (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1;
    return arena_strndup(a, tmp, len);
}
