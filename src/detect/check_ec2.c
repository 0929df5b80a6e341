/*
 * EC2/RDS checks: security groups opened to the world on admin ports, and
 * snapshots/images shared publicly or with another account.
 *
 * AuthorizeSecurityGroupIngress reaches CloudTrail in several shapes: the
 * flat form (ipProtocol/fromPort/toPort/cidrIp at the top of
 * requestParameters), ipPermissions.items[].ipRanges.items[].cidrIp (and
 * ipv6Ranges ... cidrIpv6), ports as numbers or strings. The walker below finds
 * every CIDR and takes protocol and ports from the nearest enclosing object
 * that names a protocol, which covers all of them.
 *
 * "Open to the world" is judged by prefix length /0, not by the address:
 * anonymised datasets rewrite 0.0.0.0/0 to e.g. 208.236.235.254/0, and
 * AWS accepts any address with /0 as the whole space.
 */
#include "detect/detect_int.h"

#include <stdio.h>
#include <string.h>

#define WALK_DEPTH_MAX 32

static struct sv jsv(const struct json_value *v)
{
    return v && v->type == JSON_STRING ? sv_make(v->str, v->len) : SV_NULL;
}

static const struct json_value *req(const struct detect_check_ctx *cx)
{
    return detect__jpath(cx->rec, "requestParameters");
}

/* ---- security groups --------------------------------------------------------------- */

static const int admin_ports[] = { 22, 3389 };

struct sg_scan {
    struct arena *a;
    const char *detail;
};

static bool proto_is(const struct json_value *p, const char *name, const char *num)
{
    if (!p)
        return false;
    struct sv s = p->type == JSON_STRING || p->type == JSON_NUMBER ? sv_make(p->str, p->len)
                                                                    : SV_NULL;
    return sv_eq_nocase(s, sv_cstr(name)) || sv_eq_cstr(s, num);
}

static void judge(struct sg_scan *sc, const struct json_value *perm, struct sv cidr)
{
    const struct json_value *proto = detect__jget_nocase(perm, "ipProtocol");
    int64_t from = -1, to = -1;
    detect__jint(detect__jget_nocase(perm, "fromPort"), &from);
    detect__jint(detect__jget_nocase(perm, "toPort"), &to);
    if (proto_is(proto, "all", "-1")) {
        sc->detail = detect__afmt(sc->a, "all traffic open to %.*s", (int)cidr.len, cidr.p);
        return;
    }
    if (!proto_is(proto, "tcp", "6"))
        return;
    bool all_ports = from < 0 || to < 0;
    for (size_t i = 0; i < sizeof(admin_ports) / sizeof(admin_ports[0]); i++) {
        int p = admin_ports[i];
        if (!all_ports && !(from <= p && p <= to))
            continue;
        if (from == to && from == p)
            sc->detail = detect__afmt(sc->a, "tcp port %d open to %.*s", p, (int)cidr.len, cidr.p);
        else
            sc->detail = detect__afmt(sc->a, "tcp ports %lld-%lld (including %d) open to %.*s",
                                      (long long)(all_ports ? 0 : from),
                                      (long long)(all_ports ? 65535 : to), p, (int)cidr.len,
                                      cidr.p);
        return;
    }
}

static bool cidr_key(const char *k, size_t len)
{
    struct sv s = sv_make(k, len);
    return sv_eq_nocase(s, SV("cidrIp")) || sv_eq_nocase(s, SV("cidrIpv6")) ||
           sv_eq_nocase(s, SV("cidrIpv4"));
}

static void sg_walk(struct sg_scan *sc, const struct json_value *v, const struct json_value *perm,
                    int depth)
{
    if (sc->detail || depth > WALK_DEPTH_MAX)
        return;
    if (v->type == JSON_ARRAY) {
        for (size_t i = 0; i < v->n && !sc->detail; i++)
            sg_walk(sc, &v->items[i], perm, depth + 1);
        return;
    }
    if (v->type != JSON_OBJECT)
        return;
    if (detect__jget_nocase(v, "ipProtocol"))
        perm = v;
    for (size_t i = 0; i < v->n && !sc->detail; i++) {
        const struct json_value *m = &v->items[i];
        if (cidr_key(m->key, m->key_len)) {
            struct sv c = jsv(m);
            if (perm && sv_ends_with(c, SV("/0")))
                judge(sc, perm, c);
        } else {
            sg_walk(sc, m, perm, depth + 1);
        }
    }
}

bool detect__check_sg_admin_open(struct detect_check_ctx *cx)
{
    const struct json_value *rp = req(cx);
    if (!rp)
        return false;
    struct sg_scan sc = { cx->arena, NULL };
    sg_walk(&sc, rp, NULL, 0);
    if (!sc.detail)
        return false;
    cx->detail = sc.detail;
    return true;
}

/* ---- sharing ----------------------------------------------------------------------- */

struct share_scan {
    char own[13];
    bool have_own;
    bool public_;
    char acct[13];
};

static void share_value(struct share_scan *ss, struct sv v, bool is_group)
{
    if (is_group) {
        if (sv_eq_nocase(v, SV("all")))
            ss->public_ = true;
        return;
    }
    if (sv_eq_nocase(v, SV("all"))) {
        ss->public_ = true;
        return;
    }
    char acct[13];
    if (!detect__principal_account(v.p, v.len, acct))
        return;
    if (ss->have_own && strcmp(acct, ss->own) == 0)
        return;
    if (!ss->acct[0])
        memcpy(ss->acct, acct, sizeof(acct));
}

static void share_item(struct share_scan *ss, const struct json_value *it)
{
    struct sv g = jsv(detect__jget_nocase(it, "group"));
    if (g.len)
        share_value(ss, g, true);
    struct sv u = jsv(detect__jget_nocase(it, "userId"));
    if (u.len)
        share_value(ss, u, false);
}

/* EC2: <attribute>.add.items[] of {group: all} or {userId}. */
static void scan_ec2_add(struct share_scan *ss, const struct json_value *rp)
{
    for (size_t i = 0; i < rp->n; i++) {
        const struct json_value *add = detect__jget_nocase(&rp->items[i], "add");
        const struct json_value *items = detect__jget_nocase(add, "items");
        if (!items)
            continue;
        if (items->type == JSON_OBJECT)
            share_item(ss, items);
        else if (items->type == JSON_ARRAY)
            for (size_t k = 0; k < items->n; k++)
                share_item(ss, &items->items[k]);
    }
}

static bool rds_value(void *ctx, const char *s, size_t len)
{
    share_value(ctx, sv_make(s, len), false);
    return false;
}

bool detect__check_resource_shared(struct detect_check_ctx *cx)
{
    const struct json_value *rp = req(cx);
    if (!rp || rp->type != JSON_OBJECT)
        return false;
    struct share_scan ss;
    memset(&ss, 0, sizeof(ss));
    ss.have_own = detect__own_account(cx, ss.own);
    scan_ec2_add(&ss, rp);
    /* RDS: ModifyDB(Cluster)SnapshotAttribute attributeName=restore, valuesToAdd. */
    detect__each_string(detect__jget_nocase(rp, "valuesToAdd"), rds_value, &ss);
    if (ss.public_) {
        cx->severity = 8.0;
        cx->detail = "shared publicly (all AWS accounts)";
        return true;
    }
    if (ss.acct[0]) {
        cx->detail = detect__afmt(cx->arena, "shared with account %s", ss.acct);
        return true;
    }
    return false;
}
