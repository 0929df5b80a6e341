/*
 * IAM checks: password policy weakening (graded), administrator policies,
 * credentials created for someone else, role trust opened to other accounts.
 */
#include "detect/detect_int.h"

#include <stdio.h>
#include <string.h>

static struct sv jsv(const struct json_value *v)
{
    return v && v->type == JSON_STRING ? sv_make(v->str, v->len) : SV_NULL;
}

static const struct json_value *req(const struct detect_check_ctx *cx)
{
    return detect__jpath(cx->rec, "requestParameters");
}

/* ---- password policy ----------------------------------------------------------- */

/*
 * A single record cannot show the policy before the change, so the new policy
 * is measured against CIS AWS Foundations (1.8, 1.9): minimum length 14 and
 * reuse prevention 24, plus the four character classes GuardDuty names
 * ("not require symbols and numbers"). A policy meeting all of them raises
 * nothing. Grading:
 *   High   7.0  length under 8 and no character class required: no real policy
 *   Medium 5.0  DeleteAccountPasswordPolicy (AWS then applies its default:
 *               8 characters, 3 of 4 classes), or 4+ weaknesses
 *   Low    2.0  1-3 weaknesses
 * Omitted settings take the API defaults (length 6, nothing required).
 */
bool detect__check_password_policy(struct detect_check_ctx *cx)
{
    struct sv name = jsv(detect__jpath(cx->rec, "eventName"));
    if (sv_starts_with(name, SV("Delete"))) {
        cx->severity = 5.0;
        cx->detail = "the account password policy was deleted";
        return true;
    }
    const struct json_value *rp = req(cx);
    int64_t minlen = 6, reuse = 0;
    detect__jint(detect__jget_nocase(rp, "minimumPasswordLength"), &minlen);
    detect__jint(detect__jget_nocase(rp, "passwordReusePrevention"), &reuse);
    static const char *const classes[] = { "requireSymbols", "requireNumbers",
                                           "requireUppercaseCharacters",
                                           "requireLowercaseCharacters" };
    static const char *const class_words[] = { "symbols", "numbers", "uppercase", "lowercase" };
    char what[256];
    size_t len = 0;
    int weak = 0, required = 0;
    what[0] = '\0';
#define NOTE(...)                                                                  \
    do {                                                                           \
        int n_ = snprintf(what + len, sizeof(what) - len, __VA_ARGS__);            \
        if (n_ > 0 && (size_t)n_ < sizeof(what) - len)                             \
            len += (size_t)n_;                                                     \
    } while (0)
    if (minlen < 14) {
        weak += minlen < 8 ? 2 : 1;
        NOTE("minimum length %lld", (long long)minlen);
    }
    for (size_t i = 0; i < 4; i++) {
        if (detect__jtrue(detect__jget_nocase(rp, classes[i]))) {
            required++;
            continue;
        }
        weak++;
        NOTE("%s%s not required", len ? ", " : "", class_words[i]);
    }
    if (reuse < 24) {
        weak++;
        NOTE("%sreuse prevention %lld", len ? ", " : "", (long long)reuse);
    }
#undef NOTE
    if (weak == 0)
        return false;
    if (minlen < 8 && required == 0)
        cx->severity = 7.0;
    else if (weak >= 4)
        cx->severity = 5.0;
    else
        cx->severity = 2.0;
    cx->detail = detect__afmt(cx->arena, "new policy: %s", what);
    return true;
}

/* ---- administrator policies ------------------------------------------------------ */

static bool is_star_action(void *ctx, const char *s, size_t len)
{
    (void)ctx;
    return (len == 1 && s[0] == '*') || (len == 3 && memcmp(s, "*:*", 3) == 0);
}

static bool is_star(void *ctx, const char *s, size_t len)
{
    (void)ctx;
    return len == 1 && s[0] == '*';
}

static bool admin_stmt(void *ctx, const struct json_value *st)
{
    (void)ctx;
    const struct json_value *eff = detect__jget_nocase(st, "Effect");
    if (!eff || !sv_eq_nocase(jsv(eff), SV("Allow")))
        return false;
    return detect__each_string(detect__jget_nocase(st, "Action"), is_star_action, NULL) &&
           detect__each_string(detect__jget_nocase(st, "Resource"), is_star, NULL);
}

bool detect__policy_is_admin(const struct json_value *doc)
{
    return doc && detect__each_statement(doc, admin_stmt, NULL);
}

/* "user x", "role y" or "group z": who the policy was given to. */
static const char *grantee(const struct json_value *rp, struct arena *a)
{
    static const char *const keys[] = { "userName", "roleName", "groupName" };
    static const char *const kinds[] = { "user", "role", "group" };
    for (size_t i = 0; i < 3; i++) {
        struct sv v = jsv(detect__jget_nocase(rp, keys[i]));
        if (v.len)
            return detect__afmt(a, "%s %.*s", kinds[i], (int)v.len, v.p);
    }
    return "an unnamed identity";
}

bool detect__check_admin_policy(struct detect_check_ctx *cx)
{
    const struct json_value *rp = req(cx);
    struct sv arn = jsv(detect__jget_nocase(rp, "policyArn"));
    if (arn.len) {
        if (!sv_ends_with(arn, SV(":policy/AdministratorAccess")))
            return false;
        cx->detail = detect__afmt(cx->arena, "managed policy AdministratorAccess attached to %s",
                                  grantee(rp, cx->arena));
        return true;
    }
    const struct json_value *doc =
        detect__policy_doc(detect__jget_nocase(rp, "policyDocument"), cx->arena);
    if (!detect__policy_is_admin(doc))
        return false;
    struct sv pname = jsv(detect__jget_nocase(rp, "policyName"));
    cx->detail = detect__afmt(cx->arena,
                              "inline policy %.*s allowing every action on every resource put on %s",
                              (int)pname.len, pname.p ? pname.p : "", grantee(rp, cx->arena));
    return true;
}

/* ---- credentials for another user ----------------------------------------------- */

bool detect__check_other_user(struct detect_check_ctx *cx)
{
    struct sv target = jsv(detect__jget_nocase(req(cx), "userName"));
    if (target.len == 0)
        return false; /* no userName: the caller acts on itself */
    struct sv type = jsv(detect__jpath(cx->rec, "userIdentity.type"));
    struct sv self = jsv(detect__jpath(cx->rec, "userIdentity.userName"));
    if (sv_eq_cstr(type, "IAMUser") && sv_eq(self, target))
        return false;
    if (sv_eq_cstr(type, "AWSService"))
        return false;
    cx->detail = detect__afmt(cx->arena, "IAM user %.*s", (int)target.len, target.p);
    return true;
}

/* ---- role trust -------------------------------------------------------------------- */

struct trust_scan {
    char own[13];
    bool have_own;
    bool wildcard, wildcard_cond;
    bool external, external_no_xid;
    char acct[13];
    bool stmt_has_xid;
    bool cur_wild; /* the statement being scanned names "*" */
};

static bool has_external_id(const struct json_value *cond)
{
    if (!cond || cond->type != JSON_OBJECT)
        return false;
    for (size_t i = 0; i < cond->n; i++)
        if (detect__jget_nocase(&cond->items[i], "sts:ExternalId"))
            return true;
    return false;
}

static bool trust_principal(void *ctx, const char *s, size_t len)
{
    struct trust_scan *ts = ctx;
    char acct[13];
    if (len == 1 && s[0] == '*') {
        ts->cur_wild = true;
        return false;
    }
    if (!detect__principal_account(s, len, acct))
        return false;
    if (ts->have_own && strcmp(acct, ts->own) == 0)
        return false;
    ts->external = true;
    if (!ts->stmt_has_xid)
        ts->external_no_xid = true;
    if (!ts->acct[0] || !ts->stmt_has_xid)
        memcpy(ts->acct, acct, sizeof(acct));
    return false;
}

static bool trust_stmt(void *ctx, const struct json_value *st)
{
    struct trust_scan *ts = ctx;
    const struct json_value *eff = detect__jget_nocase(st, "Effect");
    if (!eff || !sv_eq_nocase(jsv(eff), SV("Allow")))
        return false;
    const struct json_value *cond = detect__jget_nocase(st, "Condition");
    ts->stmt_has_xid = has_external_id(cond);
    const struct json_value *p = detect__jget_nocase(st, "Principal");
    ts->cur_wild = false;
    if (p && p->type == JSON_STRING)
        trust_principal(ts, p->str, p->len);
    else if (p && p->type == JSON_OBJECT)
        detect__each_string(detect__jget_nocase(p, "AWS"), trust_principal, ts);
    if (ts->cur_wild) {
        /* Any condition on a "*" trust (org id, source account, ...) narrows it. */
        if (cond && cond->type == JSON_OBJECT && cond->n > 0)
            ts->wildcard_cond = true;
        else
            ts->wildcard = true;
    }
    return false;
}

bool detect__check_role_trust_external(struct detect_check_ctx *cx)
{
    const struct json_value *rp = req(cx);
    const struct json_value *raw = detect__jget_nocase(rp, "policyDocument");
    if (!raw)
        raw = detect__jget_nocase(rp, "assumeRolePolicyDocument");
    const struct json_value *doc = detect__policy_doc(raw, cx->arena);
    if (!doc)
        return false;
    struct trust_scan ts;
    memset(&ts, 0, sizeof(ts));
    ts.have_own = detect__own_account(cx, ts.own);
    detect__each_statement(doc, trust_stmt, &ts);
    if (ts.wildcard) {
        cx->severity = 8.0;
        cx->detail = "the role trusts any AWS principal (\"*\")";
    } else if (ts.external && ts.external_no_xid) {
        /* Changing the trust of an existing role is the backdoor move; a new
         * cross-account role is also how multi-account setups are built. */
        struct sv name = jsv(detect__jpath(cx->rec, "eventName"));
        cx->severity = sv_eq_cstr(name, "CreateRole") ? 3.0 : 5.0;
        cx->detail = detect__afmt(cx->arena, "the role trusts account %s", ts.acct);
    } else if (ts.wildcard_cond) {
        cx->severity = 5.0;
        cx->detail = "the role trusts any AWS principal (\"*\") under conditions";
    } else if (ts.external) {
        cx->severity = 2.0;
        cx->detail = detect__afmt(cx->arena,
                                  "the role trusts account %s with an sts:ExternalId condition",
                                  ts.acct);
    } else {
        return false;
    }
    return true;
}
