/*
 * vigil findings list|get|update|archive|unarchive|purge: the findings
 * `vigil detect --db` stored, with Security Hub's workflow.
 *
 *   vigil findings list --db FILE [--severity-min N] [--type T] [--status S]
 *                       [--record-state ACTIVE|ARCHIVED|ALL] [--sort severity|time]
 *                       [--limit N] [--output table|json]
 *   vigil findings get ID --db FILE
 *   vigil findings update ID --db FILE --status NEW|NOTIFIED|RESOLVED|SUPPRESSED [--note TEXT]
 *   vigil findings archive ID --db FILE      (unarchive ID: back to ACTIVE)
 *   vigil findings purge --db FILE --older-than DAYS
 */
#include "cli/cli.h"
#include "core/core.h"
#include "investigate/investigate.h"
#include "json/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct fargs {
    const char *op, *id, *db, *type, *status, *state, *note;
    double severity_min;
    bool time_sort, json, json_set;
    size_t limit;
    int64_t older_days;
};

static void fusage(FILE *out)
{
    fputs("usage: vigil findings list --db FILE [--severity-min N] [--type T] [--status S]\n"
          "                           [--record-state ACTIVE|ARCHIVED|ALL] [--sort severity|time]\n"
          "                           [--limit N] [--output table|json]\n"
          "       vigil findings get ID --db FILE\n"
          "       vigil findings update ID --db FILE --status NEW|NOTIFIED|RESOLVED|SUPPRESSED\n"
          "                             [--note TEXT]\n"
          "       vigil findings archive ID --db FILE     (unarchive ID to reactivate)\n"
          "       vigil findings purge --db FILE --older-than DAYS\n",
          out);
}

static int fparse(int argc, char **argv, struct fargs *a)
{
    a->op = argv[1];
    a->older_days = -1;
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (o[0] != '-' && a->id == NULL) {
            a->id = o;
            continue;
        }
        if (v == NULL) {
            fprintf(stderr, "vigil findings %s: %s needs a value\n", a->op, o);
            return 1;
        }
        i++;
        if (strcmp(o, "--db") == 0) {
            a->db = v;
        } else if (strcmp(o, "--type") == 0) {
            a->type = v;
        } else if (strcmp(o, "--status") == 0) {
            a->status = v;
        } else if (strcmp(o, "--record-state") == 0) {
            a->state = v;
        } else if (strcmp(o, "--note") == 0) {
            a->note = v;
        } else if (strcmp(o, "--severity-min") == 0) {
            char *end;
            a->severity_min = strtod(v, &end);
            if (*end || a->severity_min < 0) {
                fprintf(stderr, "vigil findings: --severity-min wants a number\n");
                return 1;
            }
        } else if (strcmp(o, "--sort") == 0) {
            if (strcmp(v, "time") != 0 && strcmp(v, "severity") != 0) {
                fprintf(stderr, "vigil findings: --sort wants severity or time\n");
                return 1;
            }
            a->time_sort = strcmp(v, "time") == 0;
        } else if (strcmp(o, "--output") == 0) {
            if (strcmp(v, "json") != 0 && strcmp(v, "table") != 0) {
                fprintf(stderr, "vigil findings: --output wants table or json\n");
                return 1;
            }
            a->json = strcmp(v, "json") == 0;
            a->json_set = true;
        } else if (strcmp(o, "--limit") == 0 || strcmp(o, "--older-than") == 0) {
            uint64_t n;
            if (!sv_to_u64(sv_cstr(v), &n) || n > (uint64_t)INT32_MAX) {
                fprintf(stderr, "vigil findings: %s wants a whole number\n", o);
                return 1;
            }
            if (o[2] == 'l')
                a->limit = (size_t)n;
            else
                a->older_days = (int64_t)n;
        } else {
            fprintf(stderr, "vigil findings %s: unknown option '%s'\n", a->op, o);
            fusage(stderr);
            return 1;
        }
    }
    if (a->db == NULL) {
        fprintf(stderr, "vigil findings %s: --db FILE is required\n", a->op);
        return 1;
    }
    bool needs_id = strcmp(a->op, "list") != 0 && strcmp(a->op, "purge") != 0;
    if (needs_id && a->id == NULL) {
        fprintf(stderr, "vigil findings %s: give the finding id\n", a->op);
        return 1;
    }
    if (strcmp(a->op, "update") == 0 && a->status == NULL) {
        fprintf(stderr, "vigil findings update: --status is required\n");
        return 1;
    }
    if (strcmp(a->op, "purge") == 0 && a->older_days < 0) {
        fprintf(stderr, "vigil findings purge: --older-than DAYS is required\n");
        return 1;
    }
    if (!a->json_set)
        a->json = !isatty(STDOUT_FILENO) || strcmp(a->op, "get") == 0;
    return 0;
}

struct lister {
    struct json_writer w;
    struct buf out;
    bool json;
    size_t n;
};

static int emit(void *ctx, const struct investigate_finding_row *row)
{
    struct lister *l = ctx;
    char first[32], last[32], upd[32];
    time_format_iso8601(row->first_ms, true, first);
    time_format_iso8601(row->last_ms, true, last);
    time_format_iso8601(row->updated_ms, true, upd);
    l->n++;
    if (!l->json) {
        if (l->n == 1)
            buf_printf(&l->out, "%-32s %4s %-9s %-10s %-8s %6s  %-20s  %s  %s\n", "ID", "SEV", "",
                       "WORKFLOW", "STATE", "COUNT", "LAST SEEN", "TYPE", "RESOURCE");
        buf_printf(&l->out, "%-32s %4.1f %-9s %-10s %-8s %6lld  %-20s  %s  %s\n", row->id,
                   row->severity, finding_severity_label(row->severity), row->workflow_status,
                   row->record_state, (long long)row->count, last, row->type, row->resource);
        return 0;
    }
    struct json_writer *w = &l->w;
    jw_object_begin(w);
    jw_key(w, "Id");
    jw_str(w, row->id);
    jw_key(w, "Type");
    jw_str(w, row->type);
    jw_key(w, "Severity");
    jw_double(w, row->severity);
    jw_key(w, "Resource");
    jw_str(w, row->resource);
    jw_key(w, "Count");
    jw_int(w, row->count);
    jw_key(w, "FirstSeen");
    jw_str(w, first);
    jw_key(w, "LastSeen");
    jw_str(w, last);
    jw_key(w, "Workflow");
    jw_object_begin(w);
    jw_key(w, "Status");
    jw_str(w, row->workflow_status);
    jw_object_end(w);
    jw_key(w, "RecordState");
    jw_str(w, row->record_state);
    if (row->note) {
        jw_key(w, "Note");
        jw_object_begin(w);
        jw_key(w, "Text");
        jw_str(w, row->note);
        jw_key(w, "UpdatedAt");
        jw_str(w, upd);
        jw_object_end(w);
    }
    jw_key(w, "UpdatedAt");
    jw_str(w, upd);
    jw_key(w, "Finding");
    jw_raw(w, sv_cstr(row->json));
    jw_object_end(w);
    return 0;
}

int cmd_findings_store(int argc, char **argv)
{
    struct fargs a;
    memset(&a, 0, sizeof(a));
    if (argc > 2 && (strcmp(argv[2], "-h") == 0 || strcmp(argv[2], "--help") == 0)) {
        fusage(stdout);
        return 0;
    }
    int status = fparse(argc, argv, &a);
    if (status != 0)
        return status;
    struct err e;
    err_clear(&e);
    struct store *st = NULL;
    int64_t now = (int64_t)time(NULL) * 1000;
    int rc = store_open_flags(a.db, STORE_OPEN_NOCREATE, &st, &e);
    struct lister l;
    memset(&l, 0, sizeof(l));
    buf_init(&l.out, 0);
    l.json = a.json;
    jw_init(&l.w, &l.out, 2);
    if (rc == 0 && (strcmp(a.op, "list") == 0 || strcmp(a.op, "get") == 0)) {
        if (l.json) {
            jw_object_begin(&l.w);
            jw_key(&l.w, "Findings");
            jw_array_begin(&l.w);
        }
        if (strcmp(a.op, "list") == 0) {
            struct investigate_findings_query q = {
                .severity_min = a.severity_min,
                .type = a.type,
                .status = a.status,
                .record_state = a.state,
                .sort = a.time_sort ? INVESTIGATE_SORT_TIME : INVESTIGATE_SORT_SEVERITY,
                .limit = a.limit,
            };
            rc = investigate_findings_list(st, &q, emit, &l, &e);
        } else {
            rc = investigate_findings_get(st, a.id, emit, &l, &e);
        }
        if (l.json) {
            jw_array_end(&l.w);
            jw_object_end(&l.w);
            buf_putc(&l.out, '\n');
        }
        if (rc == 0)
            fwrite(l.out.p ? l.out.p : "", 1, l.out.len, stdout);
    } else if (rc == 0 && strcmp(a.op, "update") == 0) {
        rc = investigate_findings_update(st, a.id, a.status, a.note, now, &e);
    } else if (rc == 0 && strcmp(a.op, "archive") == 0) {
        rc = investigate_findings_archive(st, a.id, true, now, &e);
    } else if (rc == 0 && strcmp(a.op, "unarchive") == 0) {
        rc = investigate_findings_archive(st, a.id, false, now, &e);
    } else if (rc == 0) {
        int64_t n = 0;
        rc = investigate_findings_purge(st, now - a.older_days * 86400000LL, &n, &e);
        if (rc == 0)
            fprintf(stderr, "vigil findings purge: %lld finding(s) deleted\n", (long long)n);
    }
    if (rc != 0) {
        char line[1200];
        err_format(&e, line, sizeof(line));
        fprintf(stderr, "vigil findings %s: %s\n", a.op, line);
        status = rc == ERR_NOTFOUND || rc == ERR_USAGE ? 1 : 2;
    }
    buf_free(&l.out);
    store_close(st);
    return status;
}
