/*
 * S3 checks: who a bucket policy or ACL change lets in, and whether Block
 * Public Access was turned off.
 *
 * GuardDuty's two "granted" findings differ by audience:
 *   Policy:S3/BucketAnonymousAccessGranted  - anyone on the internet: a policy
 *     Allow to Principal "*" / {"AWS":"*"} (or NotPrincipal) whose conditions
 *     do not narrow who may call, an ACL grant to the AllUsers group, the canned
 *     ACLs public-read / public-read-write;
 *   Policy:S3/BucketPublicAccessGranted - any authenticated AWS principal: an
 *     ACL grant to AuthenticatedUsers, the canned ACL authenticated-read, or a
 *     wildcard policy whose only conditions require an authenticated caller
 *     (aws:PrincipalType, aws:userid, aws:PrincipalTag/..., MFA keys).
 * GuardDuty decides with Zelkova over the bucket's whole policy; this check
 * reads the one request, so a Deny elsewhere in the policy, or Block Public
 * Access, may still keep the bucket private (GuardDuty's note says the same of
 * its own finding).
 */
#include "detect/detect_int.h"

#include <stdio.h>
#include <string.h>

enum exposure { EXP_NONE = 0, EXP_AUTH, EXP_ANON };

static struct sv jsv(const struct json_value *v)
{
    return v && v->type == JSON_STRING ? sv_make(v->str, v->len) : SV_NULL;
}

static const struct json_value *req(const struct detect_check_ctx *cx)
{
    return detect__jpath(cx->rec, "requestParameters");
}

static struct sv event_name(const struct detect_check_ctx *cx)
{
    return jsv(detect__jpath(cx->rec, "eventName"));
}

/* ---- principals ------------------------------------------------------------ */

static bool star(void *ctx, const char *s, size_t len)
{
    (void)ctx;
    return len == 1 && s[0] == '*';
}

static bool principal_wildcard(const struct json_value *p)
{
    if (!p)
        return false;
    if (p->type == JSON_STRING)
        return star(NULL, p->str, p->len);
    if (p->type == JSON_OBJECT)
        return detect__each_string(detect__jget_nocase(p, "AWS"), star, NULL);
    return false;
}

/* ---- conditions ------------------------------------------------------------ */

enum cond_effect { COND_NONE = 0, COND_AUTH, COND_RESTRICT };

static bool has_prefix_nocase(struct sv s, const char *p)
{
    size_t n = strlen(p);
    return s.len >= n && sv_eq_nocase(sv_make(s.p, n), sv_make(p, n));
}

static bool key_is(struct sv k, const char *name) { return sv_eq_nocase(k, sv_cstr(name)); }

static bool all_values(const struct json_value *v, bool (*pred)(struct sv))
{
    if (v->type == JSON_STRING)
        return pred(sv_make(v->str, v->len));
    if (v->type != JSON_ARRAY || v->n == 0)
        return false;
    for (size_t i = 0; i < v->n; i++)
        if (v->items[i].type != JSON_STRING || !pred(sv_make(v->items[i].str, v->items[i].len)))
            return false;
    return true;
}

static bool is_slash0(struct sv s) { return sv_ends_with(s, SV("/0")); }
static bool is_star(struct sv s) { return s.len == 1 && s.p[0] == '*'; }

/* What one condition key does to the set of callers a wildcard principal
 * allows. */
static enum cond_effect classify_key(struct sv op, struct sv key, const struct json_value *val)
{
    /* Negated operators exclude a few callers and let the rest of the world in. */
    if (memmem(op.p, op.len, "Not", 3) || sv_eq_cstr(op, "Null"))
        return COND_NONE;
    if (memmem(op.p, op.len, "Like", 4) && all_values(val, is_star))
        return COND_NONE;
    if (key_is(key, "aws:SourceIp") && all_values(val, is_slash0))
        return COND_NONE;
    static const char *const open_keys[] = {
        "aws:SecureTransport", "aws:CurrentTime", "aws:EpochTime", "aws:UserAgent",
        "aws:Referer", "aws:RequestedRegion", "aws:TagKeys", NULL
    };
    for (size_t i = 0; open_keys[i]; i++)
        if (key_is(key, open_keys[i]))
            return COND_NONE;
    if (has_prefix_nocase(key, "aws:RequestTag/") || has_prefix_nocase(key, "aws:ResourceTag/"))
        return COND_NONE;
    if (has_prefix_nocase(key, "s3:")) {
        if (key_is(key, "s3:DataAccessPointAccount") || key_is(key, "s3:DataAccessPointArn") ||
            key_is(key, "s3:AccessPointNetworkOrigin"))
            return COND_RESTRICT;
        return COND_NONE;
    }
    static const char *const auth_keys[] = {
        "aws:PrincipalType", "aws:userid", "aws:username", "aws:MultiFactorAuthPresent",
        "aws:MultiFactorAuthAge", "aws:TokenIssueTime", NULL
    };
    for (size_t i = 0; auth_keys[i]; i++)
        if (key_is(key, auth_keys[i]))
            return COND_AUTH;
    if (has_prefix_nocase(key, "aws:PrincipalTag/"))
        return COND_AUTH;
    /* Source IP/VPC/endpoint, account, organization, ARN: who may call is narrowed. */
    return COND_RESTRICT;
}

static enum exposure statement_exposure(const struct json_value *st)
{
    const struct json_value *eff = detect__jget_nocase(st, "Effect");
    if (!eff || eff->type != JSON_STRING || !sv_eq_nocase(jsv(eff), SV("Allow")))
        return EXP_NONE;
    bool wild = principal_wildcard(detect__jget_nocase(st, "Principal")) ||
                detect__jget_nocase(st, "NotPrincipal") != NULL;
    if (!wild)
        return EXP_NONE;
    const struct json_value *cond = detect__jget_nocase(st, "Condition");
    enum cond_effect worst = COND_NONE;
    if (cond && cond->type == JSON_OBJECT) {
        for (size_t i = 0; i < cond->n; i++) {
            const struct json_value *op = &cond->items[i];
            if (op->type != JSON_OBJECT)
                continue;
            for (size_t k = 0; k < op->n; k++) {
                enum cond_effect ce = classify_key(sv_make(op->key, op->key_len),
                                                   sv_make(op->items[k].key, op->items[k].key_len),
                                                   &op->items[k]);
                if (ce > worst)
                    worst = ce;
            }
        }
    }
    if (worst == COND_RESTRICT)
        return EXP_NONE;
    return worst == COND_AUTH ? EXP_AUTH : EXP_ANON;
}

struct policy_scan {
    enum exposure level;
    const struct json_value *stmt;
};

static bool scan_stmt(void *ctx, const struct json_value *st)
{
    struct policy_scan *ps = ctx;
    enum exposure e = statement_exposure(st);
    if (e > ps->level) {
        ps->level = e;
        ps->stmt = st;
    }
    return false;
}

/* ---- ACLs ------------------------------------------------------------------ */

static enum exposure uri_exposure(struct sv s)
{
    if (memmem(s.p, s.len, "/global/AllUsers", 16))
        return EXP_ANON;
    if (memmem(s.p, s.len, "/global/AuthenticatedUsers", 26))
        return EXP_AUTH;
    return EXP_NONE;
}

struct acl_scan {
    enum exposure level;
    const char *what;
    struct arena *a;
};

static void acl_raise(struct acl_scan *as, enum exposure e, const char *what)
{
    if (e > as->level) {
        as->level = e;
        as->what = what;
    }
}

static bool canned(void *ctx, const char *s, size_t len)
{
    struct acl_scan *as = ctx;
    struct sv v = sv_make(s, len);
    if (sv_eq_cstr(v, "public-read") || sv_eq_cstr(v, "public-read-write"))
        acl_raise(as, EXP_ANON, detect__afmt(as->a, "canned ACL %.*s", (int)len, s));
    else if (sv_eq_cstr(v, "authenticated-read"))
        acl_raise(as, EXP_AUTH, "canned ACL authenticated-read");
    return false;
}

static bool grant_header(void *ctx, const char *s, size_t len)
{
    struct acl_scan *as = ctx;
    enum exposure e = uri_exposure(sv_make(s, len));
    if (e != EXP_NONE)
        acl_raise(as, e, e == EXP_ANON ? "ACL header grant to AllUsers"
                                       : "ACL header grant to AuthenticatedUsers");
    return false;
}

static void scan_grant(struct acl_scan *as, const struct json_value *g)
{
    const struct json_value *grantee = detect__jget_nocase(g, "Grantee");
    struct sv uri = jsv(detect__jget_nocase(grantee, "URI"));
    enum exposure e = uri.len ? uri_exposure(uri) : EXP_NONE;
    if (e == EXP_NONE)
        return;
    struct sv perm = jsv(detect__jget_nocase(g, "Permission"));
    acl_raise(as, e, detect__afmt(as->a, "ACL grants %.*s to %s", (int)perm.len,
                                  perm.p ? perm.p : "", e == EXP_ANON ? "AllUsers"
                                                                      : "AuthenticatedUsers"));
}

static void scan_acl(struct acl_scan *as, const struct json_value *rp)
{
    detect__each_string(detect__jget_nocase(rp, "x-amz-acl"), canned, as);
    static const char *const hdrs[] = { "x-amz-grant-read", "x-amz-grant-write",
                                        "x-amz-grant-read-acp", "x-amz-grant-write-acp",
                                        "x-amz-grant-full-control", NULL };
    for (size_t i = 0; hdrs[i]; i++)
        detect__each_string(detect__jget_nocase(rp, hdrs[i]), grant_header, as);
    const struct json_value *acp = detect__jget_nocase(rp, "AccessControlPolicy");
    const struct json_value *acl = detect__jget_nocase(acp, "AccessControlList");
    const struct json_value *g = detect__jget_nocase(acl, "Grant");
    if (g && g->type == JSON_OBJECT)
        scan_grant(as, g);
    else if (g && g->type == JSON_ARRAY)
        for (size_t i = 0; i < g->n; i++)
            if (g->items[i].type == JSON_OBJECT)
                scan_grant(as, &g->items[i]);
}

/* Exposure a bucket policy / ACL request grants, with a short explanation. */
static enum exposure request_exposure(struct detect_check_ctx *cx, const char **what)
{
    const struct json_value *rp = req(cx);
    if (!rp || rp->type != JSON_OBJECT)
        return EXP_NONE;
    struct acl_scan as = { EXP_NONE, NULL, cx->arena };
    scan_acl(&as, rp);
    struct policy_scan ps = { EXP_NONE, NULL };
    const struct json_value *doc =
        detect__policy_doc(detect__jget_nocase(rp, "bucketPolicy"), cx->arena);
    if (doc)
        detect__each_statement(doc, scan_stmt, &ps);
    if (ps.level >= as.level && ps.level != EXP_NONE) {
        struct sv sid = jsv(detect__jget_nocase(ps.stmt, "Sid"));
        const char *who = ps.level == EXP_ANON ? "Principal \"*\" (anyone)"
                                               : "any authenticated AWS principal";
        *what = sid.len ? detect__afmt(cx->arena, "bucket policy allows %s in statement %.*s",
                                       who, (int)sid.len, sid.p)
                        : detect__afmt(cx->arena, "bucket policy allows %s", who);
        return ps.level;
    }
    *what = as.what;
    return as.level;
}

bool detect__check_s3_anonymous(struct detect_check_ctx *cx)
{
    const char *what = NULL;
    if (request_exposure(cx, &what) != EXP_ANON)
        return false;
    cx->detail = what;
    return true;
}

bool detect__check_s3_authenticated(struct detect_check_ctx *cx)
{
    const char *what = NULL;
    if (request_exposure(cx, &what) != EXP_AUTH)
        return false;
    cx->detail = what;
    return true;
}

/* ---- cross-account bucket policy ------------------------------------------------ */

struct ext_scan {
    char own[13];
    char found[13];
};

static bool ext_principal(void *ctx, const char *s, size_t len)
{
    struct ext_scan *es = ctx;
    char acct[13];
    if (!detect__principal_account(s, len, acct))
        return false;
    if (strcmp(acct, es->own) == 0)
        return false;
    memcpy(es->found, acct, sizeof(acct));
    return true;
}

static bool ext_stmt(void *ctx, const struct json_value *st)
{
    const struct json_value *eff = detect__jget_nocase(st, "Effect");
    if (!eff || !sv_eq_nocase(jsv(eff), SV("Allow")))
        return false;
    const struct json_value *p = detect__jget_nocase(st, "Principal");
    if (!p || p->type != JSON_OBJECT)
        return false;
    return detect__each_string(detect__jget_nocase(p, "AWS"), ext_principal, ctx);
}

/* The account that owns the resources the event touched. */
static bool own_account(const struct detect_check_ctx *cx, char out[13])
{
    struct sv a = cx->ev->account;
    if (a.len != 12)
        a = jsv(detect__jpath(cx->rec, "recipientAccountId"));
    if (a.len != 12)
        a = jsv(detect__jpath(cx->rec, "userIdentity.accountId"));
    if (a.len != 12)
        return false;
    memcpy(out, a.p, 12);
    out[12] = '\0';
    return true;
}

bool detect__own_account(const struct detect_check_ctx *cx, char out[13])
{
    return own_account(cx, out);
}

bool detect__check_s3_external_account(struct detect_check_ctx *cx)
{
    struct ext_scan es;
    memset(&es, 0, sizeof(es));
    if (!own_account(cx, es.own))
        return false;
    const struct json_value *doc =
        detect__policy_doc(detect__jget_nocase(req(cx), "bucketPolicy"), cx->arena);
    if (!doc || !detect__each_statement(doc, ext_stmt, &es))
        return false;
    cx->detail = detect__afmt(cx->arena, "bucket policy grants access to account %s", es.found);
    return true;
}

/* ---- Block Public Access ---------------------------------------------------------- */

bool detect__check_s3_bpa_disabled(struct detect_check_ctx *cx)
{
    struct sv name = event_name(cx);
    if (sv_starts_with(name, SV("Delete"))) {
        cx->detail = "the Block Public Access configuration was deleted";
        return true;
    }
    const struct json_value *cfg = detect__jget_nocase(req(cx), "PublicAccessBlockConfiguration");
    if (!cfg || cfg->type != JSON_OBJECT)
        return false;
    static const char *const flags[] = { "BlockPublicAcls", "IgnorePublicAcls",
                                         "BlockPublicPolicy", "RestrictPublicBuckets" };
    char off[128];
    size_t len = 0;
    off[0] = '\0';
    for (size_t i = 0; i < 4; i++) {
        /* The API treats an omitted setting as false. */
        if (detect__jtrue(detect__jget_nocase(cfg, flags[i])))
            continue;
        int n = snprintf(off + len, sizeof(off) - len, "%s%s", len ? ", " : "", flags[i]);
        if (n > 0 && (size_t)n < sizeof(off) - len)
            len += (size_t)n;
    }
    if (len == 0)
        return false;
    cx->detail = detect__afmt(cx->arena, "%s turned off", off);
    return true;
}
