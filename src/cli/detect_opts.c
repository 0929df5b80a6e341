/*
 * detect_opts.c: the detection options of detect and watch (detect_opts.h).
 */
#include "cli/detect_opts.h"

#include "core/core.h"
#include "finding/finding.h"
#include "geo/geo.h"

#include <stdlib.h>
#include <string.h>

static void push(const char ***v, size_t *n, const char *s)
{
    *v = xrealloc(*v, (*n + 1) * sizeof(**v));
    (*v)[(*n)++] = s;
}

int detect_opts_parse(struct detect_opts *d, const char *cmd, const char *o, const char *val)
{
    static const char *const with_val[] = {
        "--rules",   "--threat-list", "--tor-list", "--trusted-list", "--vpcflow-format", "--eni-map",
        "--aws-ip-ranges", "--learning", "--geoip-db", "--asn-db", "--suppress", "--lateness",
        "--idle",
    };
    if (strcmp(o, "--no-builtin") == 0) {
        d->no_builtin = true;
        return 1;
    }
    size_t k = 0, n = sizeof(with_val) / sizeof(with_val[0]);
    while (k < n && strcmp(o, with_val[k]) != 0)
        k++;
    if (k == n)
        return 0;
    if (val == NULL) {
        fprintf(stderr, "vigil %s: %s needs a value\n", cmd, o);
        return -1;
    }
    if (strcmp(o, "--rules") == 0) {
        push(&d->rules, &d->n_rules, val);
    } else if (strcmp(o, "--threat-list") == 0) {
        push(&d->lists[DETECT_LIST_THREAT], &d->n_lists[DETECT_LIST_THREAT], val);
    } else if (strcmp(o, "--tor-list") == 0) {
        push(&d->lists[DETECT_LIST_TOR], &d->n_lists[DETECT_LIST_TOR], val);
    } else if (strcmp(o, "--trusted-list") == 0) {
        push(&d->lists[DETECT_LIST_TRUSTED], &d->n_lists[DETECT_LIST_TRUSTED], val);
    } else if (strcmp(o, "--vpcflow-format") == 0) {
        d->vpcflow_fields = val;
    } else if (strcmp(o, "--eni-map") == 0) {
        d->eni_map = val;
    } else if (strcmp(o, "--aws-ip-ranges") == 0) {
        d->aws_ranges = val;
    } else if (strcmp(o, "--learning") == 0) {
        if (!detect_parse_duration(val, &d->learning_ms)) {
            fprintf(stderr, "vigil %s: --learning wants a duration like 30m, 6h, 2d\n", cmd);
            return -1;
        }
    } else if (strcmp(o, "--suppress") == 0) {
        push(&d->suppress, &d->n_suppress, val);
    } else if (strcmp(o, "--idle") == 0 && (strcmp(val, "0") == 0 || strcmp(val, "never") == 0)) {
        d->idle_ms = -1;
    } else if (strcmp(o, "--lateness") == 0 || strcmp(o, "--idle") == 0) {
        int64_t *dst = o[2] == 'l' ? &d->lateness_ms : &d->idle_ms;
        if (!detect_parse_duration(val, dst) || *dst <= 0) {
            fprintf(stderr, "vigil %s: %s wants a duration like 30s, 5m, 1h\n", cmd, o);
            return -1;
        }
    } else {
        /* --geoip-db, --asn-db: city databases are asked first; the order
         * only matters when two databases answer the same field. */
        push(&d->geo_dbs, &d->n_geo_dbs, val);
        if (o[2] == 'g') {
            memmove(&d->geo_dbs[d->n_city_dbs + 1], &d->geo_dbs[d->n_city_dbs],
                    (d->n_geo_dbs - 1 - d->n_city_dbs) * sizeof(*d->geo_dbs));
            d->geo_dbs[d->n_city_dbs++] = val;
        }
    }
    return 2;
}

void detect_opts_usage(FILE *out)
{
    fputs("  --rules PATH          also load rules from a YAML file or directory (repeatable)\n"
          "  --no-builtin          do not load the built-in rule pack\n"
          "  --threat-list FILE    IPs, CIDRs and domains to flag (GuardDuty TXT format; repeatable)\n"
          "  --tor-list FILE       Tor exit node addresses (repeatable)\n"
          "  --trusted-list FILE   addresses whose activity never produces findings (repeatable)\n"
          "  --threat-list CATEGORY:FILE\n"
          "                        a list whose entries are bitcoin, c2, blackhole, droppoint,\n"
          "                        phishing, driveby or dga: GuardDuty's specific finding types\n"
          "  --eni-map FILE        ENI -> instance map for flow logs without instance-id\n"
          "                        (aws ec2 describe-network-interfaces JSON, or lines\n"
          "                        \"eni-id instance-id [address ...]\")\n"
          "  --aws-ip-ranges FILE  AWS's ip-ranges.json: tells calls from inside AWS from outside\n"
          "  --learning DURATION   baseline learning period for every stateful rule (e.g. 1h, 2d)\n"
          "  --vpcflow-format F    field list of header-less flow logs (default: the v2 format)\n"
          "  --geoip-db FILE       MaxMind-format city/country database: adds country, city and\n"
          "                        geoLocation to remoteIpDetails (repeatable: IPv4 and IPv6 files)\n"
          "  --asn-db FILE         MaxMind-format ASN/ISP database: adds organization (asn, asnOrg,\n"
          "                        isp, org) to remoteIpDetails (repeatable)\n"
          "  --suppress FILE       suppression rules: GuardDuty filters (FindingCriteria, JSON or\n"
          "                        YAML) whose matching findings are archived (repeatable)\n",
          out);
}

static void print_err(const char *cmd, const char *what, const struct err *e)
{
    char line[1200];
    err_format(e, line, sizeof(line));
    fprintf(stderr, "vigil %s: %s%s\n", cmd, what, line);
}

static int load_rules(const struct detect_opts *d, const char *cmd, const char *exe,
                      struct detect_rules *rs)
{
    struct err e;
    err_clear(&e);
    if (!d->no_builtin) {
        char dir[4096];
        if (detect_rules_builtin_dir(exe, dir, sizeof(dir), &e) != 0 ||
            detect_rules_load(rs, dir, &e) != 0) {
            print_err(cmd, "built-in rules: ", &e);
            return 1;
        }
    }
    for (size_t i = 0; i < d->n_rules; i++) {
        err_clear(&e);
        if (detect_rules_load(rs, d->rules[i], &e) != 0) {
            print_err(cmd, "", &e);
            return 1;
        }
    }
    return 0;
}

static int load_lists(const struct detect_opts *d, const char *cmd, struct detect_lists *l)
{
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < d->n_lists[k]; i++) {
            struct err e;
            size_t bad = 0;
            err_clear(&e);
            /* GuardDuty names a list by its name, not its location: use the file's base name. */
            const char *path = d->lists[k][i];
            enum detect_category cat = DETECT_CAT_CUSTOM;
            const char *colon = strchr(path, ':');
            bool has_cat = k == DETECT_LIST_THREAT && colon &&
                           detect_list_category_parse(sv_make(path, (size_t)(colon - path)), &cat);
            if (has_cat)
                path = colon + 1;
            const char *slash = strrchr(path, '/');
            const char *name = slash ? slash + 1 : path;
            int rc = has_cat ? detect_lists_load_category(l, cat, path, name, &bad, &e)
                             : detect_lists_load(l, (enum detect_list_kind)k, path, name, &bad, &e);
            if (rc == ERR_FORMAT) {
                /* Bad lines are reported; the good ones are loaded. */
                print_err(cmd, "", &e);
                fprintf(stderr, "vigil %s: %s: %zu bad line(s) skipped\n", cmd, path, bad);
            } else if (rc != 0) {
                print_err(cmd, "", &e);
                return 1;
            }
        }
    }
    struct err e;
    err_clear(&e);
    if (d->eni_map && detect_lists_load_eni_map(l, d->eni_map, &e) != 0) {
        print_err(cmd, "--eni-map: ", &e);
        return 1;
    }
    err_clear(&e);
    if (d->aws_ranges && detect_lists_load_aws_ranges(l, d->aws_ranges, &e) != 0) {
        print_err(cmd, "--aws-ip-ranges: ", &e);
        return 1;
    }
    return 0;
}

/* Opens the GeoIP databases and loads the suppression rules, if asked for. */
static int load_noise_control(const struct detect_opts *d, const char *cmd, struct geo_db **geo,
                              struct finding_filters *fs)
{
    struct err e;
    err_clear(&e);
    if (d->n_geo_dbs > 0 && geo_open_all(d->geo_dbs, d->n_geo_dbs, geo, &e) != 0) {
        print_err(cmd, "", &e);
        return 1;
    }
    for (size_t i = 0; i < d->n_suppress; i++) {
        err_clear(&e);
        size_t noop = finding_filters_noop(fs);
        if (finding_filters_load(fs, d->suppress[i], &e) != 0) {
            print_err(cmd, "", &e);
            return 1;
        }
        if (finding_filters_noop(fs) > noop)
            fprintf(stderr,
                    "vigil %s: note: %s: %zu filter(s) with Action NOOP are not suppression rules "
                    "and archive nothing\n",
                    cmd, d->suppress[i], finding_filters_noop(fs) - noop);
    }
    return 0;
}

int detect_opts_load(const struct detect_opts *d, const char *cmd, const char *exe,
                     struct detect_rules *rs, struct detect_lists *ls, struct geo_db **geo,
                     struct finding_filters *fs)
{
    *geo = NULL;
    if (load_rules(d, cmd, exe, rs) != 0 || load_lists(d, cmd, ls) != 0 ||
        load_noise_control(d, cmd, geo, fs) != 0)
        return 1;
    return 0;
}

void detect_opts_free(struct detect_opts *d)
{
    free(d->rules);
    free(d->suppress);
    free(d->geo_dbs);
    for (int k = 0; k < 3; k++)
        free(d->lists[k]);
    memset(d, 0, sizeof(*d));
}
