/*
 * vigil investigate / vigil timeline: the incident playbooks over the store.
 *
 *   vigil investigate credentials --db FILE (--access-key AKIA... | --principal ARN)
 *                                 [--since T] [--output markdown|json|html] [--max-events N]
 *   vigil investigate bucket NAME --db FILE [--since T] [--output ...]
 *   vigil timeline --db FILE (--principal ARN | --resource NAME | --ip ADDR)
 *                  [--since T] [--until T] [--limit N] [--output ...]
 *
 * T is epoch seconds or ISO 8601 (as lookup-events takes it). Markdown goes to
 * the terminal by default; html writes one self-contained page.
 */
#include "cli/cli.h"
#include "core/core.h"
#include "investigate/investigate.h"
#include "query/query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum fmt { FMT_MD, FMT_JSON, FMT_HTML };

struct args {
    const char *db, *access_key, *principal, *resource, *ip, *bucket;
    int64_t since_ms, until_ms;
    size_t limit;
    enum fmt fmt;
};

static void usage(FILE *out)
{
    fputs("usage: vigil investigate credentials --db FILE (--access-key ID | --principal ARN)\n"
          "                                   [--since T] [--max-events N] [--output FORMAT]\n"
          "       vigil investigate bucket NAME --db FILE [--since T] [--output FORMAT]\n"
          "       vigil timeline --db FILE (--principal ARN|KEY | --resource NAME | --ip ADDR)\n"
          "                      [--since T] [--until T] [--limit N] [--output FORMAT]\n"
          "\n"
          "  credentials   playbook #1: every action of a compromised key or principal after T,\n"
          "                grouped; the credentials it obtained, followed transitively; source\n"
          "                IPs and user agents; containment steps as AWS CLI commands (not run)\n"
          "  bucket        playbook #2: changes to a bucket's policy, ACL, Block Public Access and\n"
          "                logging; who read or wrote objects from where; whether it is exposed\n"
          "  timeline      the events of a principal, resource or address in time order\n"
          "  T             epoch seconds or ISO 8601\n"
          "  --output F    markdown (default), json or html (a self-contained page)\n",
          out);
}

static int parse(int argc, char **argv, int first, const char *cmd, struct args *a)
{
    a->since_ms = INT64_MIN;
    a->until_ms = INT64_MAX;
    for (int i = first; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
            usage(stdout);
            return -1;
        }
        if (o[0] != '-' && a->bucket == NULL && strcmp(cmd, "investigate bucket") == 0) {
            a->bucket = o;
            continue;
        }
        if (v == NULL || o[0] != '-') {
            fprintf(stderr, "vigil %s: %s %s\n", cmd, o, o[0] == '-' ? "needs a value" : "unexpected");
            return 1;
        }
        i++;
        if (strcmp(o, "--db") == 0) {
            a->db = v;
        } else if (strcmp(o, "--access-key") == 0) {
            a->access_key = v;
        } else if (strcmp(o, "--principal") == 0) {
            a->principal = v;
        } else if (strcmp(o, "--resource") == 0) {
            a->resource = v;
        } else if (strcmp(o, "--ip") == 0) {
            a->ip = v;
        } else if (strcmp(o, "--since") == 0 || strcmp(o, "--until") == 0) {
            if (!query_parse_cli_time(v, o[2] == 's' ? &a->since_ms : &a->until_ms)) {
                fprintf(stderr, "vigil %s: %s: '%s' is not a time (epoch seconds or ISO 8601)\n",
                        cmd, o, v);
                return 1;
            }
        } else if (strcmp(o, "--limit") == 0 || strcmp(o, "--max-events") == 0) {
            uint64_t n;
            if (!sv_to_u64(sv_cstr(v), &n) || n == 0) {
                fprintf(stderr, "vigil %s: %s wants a positive number\n", cmd, o);
                return 1;
            }
            a->limit = (size_t)n;
        } else if (strcmp(o, "--output") == 0) {
            if (strcmp(v, "markdown") == 0 || strcmp(v, "md") == 0 || strcmp(v, "text") == 0)
                a->fmt = FMT_MD;
            else if (strcmp(v, "json") == 0)
                a->fmt = FMT_JSON;
            else if (strcmp(v, "html") == 0)
                a->fmt = FMT_HTML;
            else {
                fprintf(stderr, "vigil %s: unknown --output '%s' (markdown, json, html)\n", cmd, v);
                return 1;
            }
        } else {
            fprintf(stderr, "vigil %s: unknown option '%s'\n", cmd, o);
            usage(stderr);
            return 1;
        }
    }
    if (a->db == NULL) {
        fprintf(stderr, "vigil %s: --db FILE is required\n", cmd);
        return 1;
    }
    return 0;
}

static int print_report(const struct investigate_report *r, enum fmt fmt)
{
    struct buf out;
    buf_init(&out, 0);
    int rc = fmt == FMT_JSON   ? investigate_write_json(&out, r)
             : fmt == FMT_HTML ? investigate_write_html(&out, r)
                               : investigate_write_markdown(&out, r);
    if (rc == 0 && out.len && fwrite(out.p, 1, out.len, stdout) != out.len)
        rc = ERR_IO;
    buf_free(&out);
    if (fflush(stdout) != 0)
        rc = ERR_IO;
    return rc == 0 ? 0 : 2;
}

static int open_store(const char *cmd, const char *db, struct store **st)
{
    struct err e;
    err_clear(&e);
    if (store_open_flags(db, STORE_OPEN_READONLY, st, &e) != 0) {
        char line[1200];
        err_format(&e, line, sizeof(line));
        fprintf(stderr, "vigil %s: %s\n", cmd, line);
        return 1;
    }
    return 0;
}

static int finish(const char *cmd, int rc, const struct err *e, struct investigate_report *r,
                  enum fmt fmt)
{
    int status;
    if (rc != 0) {
        char line[1200];
        err_format(e, line, sizeof(line));
        fprintf(stderr, "vigil %s: %s\n", cmd, line);
        status = rc == ERR_USAGE || rc == ERR_NOTFOUND ? 1 : 2;
    } else {
        status = print_report(r, fmt);
    }
    investigate_report_free(r);
    return status;
}

int cmd_investigate(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 1 : 0;
    }
    const char *what = argv[1];
    if (strcmp(what, "credentials") != 0 && strcmp(what, "bucket") != 0) {
        fprintf(stderr, "vigil investigate: unknown playbook '%s' (credentials, bucket)\n", what);
        return 1;
    }
    struct args a;
    memset(&a, 0, sizeof(a));
    char name[64];
    snprintf(name, sizeof(name), "investigate %s", what);
    int status = parse(argc, argv, 2, name, &a);
    if (status != 0)
        return status < 0 ? 0 : status;
    struct store *st = NULL;
    if (open_store(name, a.db, &st) != 0)
        return 1;
    struct err e;
    err_clear(&e);
    struct investigate_report *r = NULL;
    int rc;
    if (strcmp(what, "credentials") == 0) {
        struct investigate_cred_opts o = {
            .access_key = a.access_key,
            .principal = a.principal,
            .since_ms = a.since_ms,
            .now_ms = (int64_t)time(NULL) * 1000,
            .max_events = a.limit,
        };
        rc = investigate_credentials(st, &o, &r, &e);
    } else if (a.bucket == NULL) {
        rc = err_set(&e, ERR_USAGE, "give the bucket name");
    } else {
        rc = investigate_bucket(st, a.bucket, a.since_ms, &r, &e);
    }
    status = finish(name, rc, &e, r, a.fmt);
    store_close(st);
    return status;
}

int cmd_timeline(int argc, char **argv)
{
    struct args a;
    memset(&a, 0, sizeof(a));
    int status = parse(argc, argv, 1, "timeline", &a);
    if (status != 0)
        return status < 0 ? 0 : status;
    struct store *st = NULL;
    if (open_store("timeline", a.db, &st) != 0)
        return 1;
    struct err e;
    err_clear(&e);
    struct investigate_report *r = NULL;
    struct investigate_timeline_opts o = {
        .principal = a.principal ? a.principal : a.access_key,
        .resource = a.resource,
        .ip = a.ip,
        .since_ms = a.since_ms,
        .until_ms = a.until_ms,
        .limit = a.limit,
    };
    int rc = investigate_timeline(st, &o, &r, &e);
    status = finish("timeline", rc, &e, r, a.fmt);
    store_close(st);
    return status;
}
