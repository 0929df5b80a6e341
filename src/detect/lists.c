/*
 * Threat, Tor and trusted lists: GuardDuty TXT files loaded through core's
 * indicator API into one IP set and one domain set per kind. The list names
 * (threatListName) are owned here because the sets borrow them as tags.
 */
#include "detect/detect_int.h"

#include <stdlib.h>
#include <string.h>

#define KINDS 3

struct detect_lists {
    struct iplist *ips[KINDS];
    struct domlist *doms[KINDS];
    char **names;
    size_t n_names;
};

const struct iplist *detect__lists_ips(const struct detect_lists *l, enum detect_list_kind k)
{
    return l ? l->ips[k] : NULL;
}

const struct domlist *detect__lists_doms(const struct detect_lists *l, enum detect_list_kind k)
{
    return l ? l->doms[k] : NULL;
}

struct detect_lists *detect_lists_new(void)
{
    struct detect_lists *l = xcalloc(1, sizeof(*l));
    for (int k = 0; k < KINDS; k++) {
        l->ips[k] = iplist_new();
        l->doms[k] = domlist_new();
    }
    return l;
}

void detect_lists_free(struct detect_lists *l)
{
    if (!l)
        return;
    for (int k = 0; k < KINDS; k++) {
        iplist_free(l->ips[k]);
        domlist_free(l->doms[k]);
    }
    for (size_t i = 0; i < l->n_names; i++)
        free(l->names[i]);
    free(l->names);
    free(l);
}

int detect_lists_load(struct detect_lists *l, enum detect_list_kind kind, const char *path,
                      const char *name, size_t *bad_out, struct err *err)
{
    if ((unsigned)kind >= KINDS)
        return err_set(err, ERR_USAGE, "unknown list kind %d", (int)kind);
    if (!name) {
        const char *slash = strrchr(path, '/');
        name = slash ? slash + 1 : path;
    }
    char *tag = xstrdup(name);
    l->names = xrealloc(l->names, (l->n_names + 1) * sizeof(*l->names));
    l->names[l->n_names++] = tag;
    size_t bad = 0;
    int rc = indicators_load(path, tag, l->ips[kind], l->doms[kind], &bad, err);
    if (bad_out)
        *bad_out = bad;
    return rc;
}

size_t detect_lists_count(const struct detect_lists *l, enum detect_list_kind kind)
{
    if (!l || (unsigned)kind >= KINDS)
        return 0;
    return iplist_count(l->ips[kind]) + domlist_count(l->doms[kind]);
}

/* Keep in step with engine.c's list detectors; test_detect checks that every
 * type they emit is here. */
static const struct detect_list_type LIST_TYPES[] = {
    { "threatlist-iam-recon", "Recon:IAMUser/MaliciousIPCaller.Custom", 5.0, DETECT_RES_ACCESS_KEY,
      EVENT_CLOUDTRAIL, DETECT_LIST_THREAT },
    { "threatlist-iam-api", "UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom", 5.0,
      DETECT_RES_ACCESS_KEY, EVENT_CLOUDTRAIL, DETECT_LIST_THREAT },
    { "threatlist-s3-discovery", "Discovery:S3/MaliciousIPCaller.Custom", 8.0,
      DETECT_RES_S3_BUCKET, EVENT_CLOUDTRAIL, DETECT_LIST_THREAT },
    { "threatlist-s3-access", "UnauthorizedAccess:S3/MaliciousIPCaller.Custom", 8.0,
      DETECT_RES_S3_BUCKET, EVENT_CLOUDTRAIL, DETECT_LIST_THREAT },
    { "torlist-iam-recon", "Recon:IAMUser/TorIPCaller", 5.0, DETECT_RES_ACCESS_KEY,
      EVENT_CLOUDTRAIL, DETECT_LIST_TOR },
    { "torlist-iam-api", "UnauthorizedAccess:IAMUser/TorIPCaller", 5.0, DETECT_RES_ACCESS_KEY,
      EVENT_CLOUDTRAIL, DETECT_LIST_TOR },
    { "torlist-s3-discovery", "Discovery:S3/TorIPCaller", 5.0, DETECT_RES_S3_BUCKET,
      EVENT_CLOUDTRAIL, DETECT_LIST_TOR },
    { "torlist-s3-access", "UnauthorizedAccess:S3/TorIPCaller", 8.0, DETECT_RES_S3_BUCKET,
      EVENT_CLOUDTRAIL, DETECT_LIST_TOR },
    { "threatlist-ec2-flow", "UnauthorizedAccess:EC2/MaliciousIPCaller.Custom", 5.0,
      DETECT_RES_INSTANCE, EVENT_VPCFLOW, DETECT_LIST_THREAT },
    { "threatlist-ec2-dns", "Impact:EC2/MaliciousDomainRequest.Custom", 5.0, DETECT_RES_INSTANCE,
      EVENT_DNS, DETECT_LIST_THREAT },
};

const struct detect_list_type *detect_list_types(size_t *n_out)
{
    *n_out = sizeof(LIST_TYPES) / sizeof(LIST_TYPES[0]);
    return LIST_TYPES;
}
