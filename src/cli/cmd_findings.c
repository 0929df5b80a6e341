/*
 * vigil findings: what Vigil can find, and sample findings of it.
 *
 *   vigil findings sample [--types T,...] [--output table|json|jsonl|asff|ocsf]
 *                         [--account ID] [--region R] [--time ISO8601]
 *                         [--rules PATH]... [--no-builtin]
 *   vigil findings types  [--output table|json] [--rules PATH]... [--no-builtin]
 *   vigil findings list|get|update|archive|unarchive|purge ...  (cmd_findings_store.c)
 *
 * "sample" is GuardDuty's CreateSampleFindings: one finding per supported type
 * (every type a loaded rule or a list detector raises), marked
 * "sample": true in service.additionalInfo and "[SAMPLE]" in the title, for
 * testing suppression rules, EventBridge patterns and whatever reads findings.
 * "types" lists those types with their severity, resource and source.
 */
#include "cli/cli.h"
#include "core/core.h"
#include "detect/detect.h"
#include "finding/finding.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

enum out_format { OUT_TABLE, OUT_JSON, OUT_JSONL, OUT_ASFF, OUT_OCSF };

struct args {
    bool sample; /* else types */
    enum out_format format;
    bool format_set;
    const char **rules;
    size_t n_rules;
    bool no_builtin;
    const char *types; /* comma-separated, or NULL for all */
    const char *account, *region;
    int64_t ms;
};

/* One supported type: the first rule or list detector that raises it. */
struct ftype {
    const char *type;
    double severity;
    enum detect_resource resource;
    enum event_source source;
    const char *rule_id;
    char *api, *service; /* from the rule's pattern, owned */
};

static void usage(FILE *out)
{
    fputs("usage: vigil findings sample [options]   one sample finding per supported type\n"
          "       vigil findings types  [options]   the finding types Vigil can raise\n"
          "       vigil findings list|get|update|archive|unarchive|purge --db FILE ...\n"
          "                                         findings stored by vigil detect --db\n"
          "\n"
          "  --types T1,T2,...     only these finding types (sample)\n"
          "  --output FORMAT       table (default on a terminal), json (default otherwise),\n"
          "                        jsonl, asff or ocsf (sample); table or json (types)\n"
          "  --account ID          account of the samples (default 123456789012)\n"
          "  --region R            region of the samples (default us-east-1)\n"
          "  --time ISO8601        time of the samples (default now)\n"
          "  --rules PATH          also load rules from a YAML file or directory (repeatable)\n"
          "  --no-builtin          do not load the built-in rule pack\n",
          out);
}

static int parse_args(int argc, char **argv, struct args *a)
{
    a->account = "123456789012";
    a->region = "us-east-1";
    a->ms = (int64_t)time(NULL) * 1000;
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 1 : -1;
    }
    if (strcmp(argv[1], "sample") == 0) {
        a->sample = true;
    } else if (strcmp(argv[1], "types") != 0) {
        fprintf(stderr, "vigil findings: unknown operation '%s'\n", argv[1]);
        usage(stderr);
        return 1;
    }
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
            usage(stdout);
            return -1;
        }
        if (strcmp(o, "--no-builtin") == 0) {
            a->no_builtin = true;
            continue;
        }
        if (val == NULL) {
            fprintf(stderr, "vigil findings: %s needs a value\n", o);
            return 1;
        }
        if (strcmp(o, "--output") == 0) {
            static const char *const names[] = { "table", "json", "jsonl", "asff", "ocsf" };
            size_t k = 0, nk = a->sample ? 5 : 2;
            while (k < nk && strcmp(val, names[k]) != 0)
                k++;
            if (k == nk) {
                fprintf(stderr, "vigil findings: unknown --output '%s'\n", val);
                return 1;
            }
            a->format = (enum out_format)k;
            a->format_set = true;
        } else if (strcmp(o, "--rules") == 0) {
            a->rules = xrealloc(a->rules, (a->n_rules + 1) * sizeof(*a->rules));
            a->rules[a->n_rules++] = val;
        } else if (strcmp(o, "--types") == 0 && a->sample) {
            a->types = val;
        } else if (strcmp(o, "--account") == 0 && a->sample) {
            a->account = val;
        } else if (strcmp(o, "--region") == 0 && a->sample) {
            a->region = val;
        } else if (strcmp(o, "--time") == 0 && a->sample) {
            if (!time_parse_iso8601(sv_cstr(val), &a->ms)) {
                fprintf(stderr, "vigil findings: --time wants an ISO 8601 time, got '%s'\n", val);
                return 1;
            }
        } else {
            fprintf(stderr, "vigil findings: unknown option '%s'\n", o);
            usage(stderr);
            return 1;
        }
        i++;
    }
    if (!a->format_set)
        a->format = isatty(STDOUT_FILENO) ? OUT_TABLE : OUT_JSON;
    return 0;
}

static void print_err(const struct err *e)
{
    char line[1200];
    err_format(e, line, sizeof(line));
    fprintf(stderr, "vigil findings: %s\n", line);
}

static int load_rules(const struct args *a, struct detect_rules *rs)
{
    struct err e;
    err_clear(&e);
    if (!a->no_builtin) {
        char dir[4096];
        if (detect_rules_builtin_dir("/proc/self/exe", dir, sizeof(dir), &e) != 0 ||
            detect_rules_load(rs, dir, &e) != 0) {
            print_err(&e);
            return 1;
        }
    }
    for (size_t i = 0; i < a->n_rules; i++) {
        err_clear(&e);
        if (detect_rules_load(rs, a->rules[i], &e) != 0) {
            print_err(&e);
            return 1;
        }
    }
    return 0;
}

/* The first value a pattern gives for key, wherever it sits ($or branches,
 * nested objects): a plain string, or the text of a {"prefix": ...}. */
static char *pattern_first(const struct json_value *v, const char *key, int depth)
{
    if (v == NULL || depth > 16)
        return NULL;
    if (v->type == JSON_OBJECT) {
        const struct json_value *k = json_get(v, key);
        if (k != NULL && k->type == JSON_ARRAY) {
            for (size_t i = 0; i < k->n; i++) {
                const struct json_value *it = &k->items[i];
                if (it->type == JSON_STRING)
                    return xstrndup(it->str, it->len);
                const struct json_value *pre = it->type == JSON_OBJECT ? json_get(it, "prefix") : NULL;
                if (pre != NULL && pre->type == JSON_STRING && pre->len > 0)
                    return xstrndup(pre->str, pre->len);
            }
        }
    }
    if (v->type == JSON_OBJECT || v->type == JSON_ARRAY)
        for (size_t i = 0; i < v->n; i++) {
            char *r = pattern_first(&v->items[i], key, depth + 1);
            if (r != NULL)
                return r;
        }
    return NULL;
}

static bool have_type(const struct ftype *t, size_t n, const char *type)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].type, type) == 0)
            return true;
    return false;
}

/* Every type the enabled rules and the list detectors raise, first source wins. */
static struct ftype *collect_types(const struct detect_rules *rs, size_t *n_out)
{
    size_t nl, n = 0, nr = detect_rules_count(rs);
    const struct detect_list_type *lt = detect_list_types(&nl);
    struct ftype *t = xcalloc(nr + nl + 1, sizeof(*t));
    for (size_t i = 0; i < nr; i++) {
        const struct detect_rule *r = detect_rules_get(rs, i);
        if (!r->enabled || have_type(t, n, r->type))
            continue;
        struct ftype *f = &t[n++];
        f->type = r->type;
        f->severity = r->severity;
        f->resource = r->resource;
        f->source = r->source;
        f->rule_id = r->id;
        if (r->source == EVENT_CLOUDTRAIL && r->pattern != NULL) {
            struct arena ar;
            struct json_value *root = NULL;
            arena_init(&ar, 0);
            if (json_parse(r->pattern, strlen(r->pattern), &ar, &root, NULL) == 0) {
                f->api = pattern_first(root, "eventName", 0);
                f->service = pattern_first(root, "eventSource", 0);
            }
            arena_free(&ar);
        }
    }
    for (size_t i = 0; i < nl; i++) {
        if (have_type(t, n, lt[i].type))
            continue;
        struct ftype *f = &t[n++];
        f->type = lt[i].type;
        f->severity = lt[i].severity;
        f->resource = lt[i].resource;
        f->source = lt[i].source;
        f->rule_id = lt[i].rule_id;
    }
    *n_out = n;
    return t;
}

static void free_types(struct ftype *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(t[i].api);
        free(t[i].service);
    }
    free(t);
}

static int cmp_type(const void *x, const void *y)
{
    return strcmp(((const struct ftype *)x)->type, ((const struct ftype *)y)->type);
}

static int write_out(const struct buf *out)
{
    int rc = 0;
    if (out->len > 0 && fwrite(out->p, 1, out->len, stdout) != out->len)
        rc = ERR_IO;
    if (fflush(stdout) != 0)
        rc = ERR_IO;
    return rc;
}

static int print_types(const struct args *a, const struct ftype *t, size_t n)
{
    struct buf out;
    buf_init(&out, 0);
    if (a->format == OUT_JSON) {
        struct json_writer w;
        jw_init(&w, &out, 2);
        jw_object_begin(&w);
        jw_key(&w, "FindingTypes");
        jw_array_begin(&w);
        for (size_t i = 0; i < n; i++) {
            jw_object_begin(&w);
            jw_key(&w, "type");
            jw_str(&w, t[i].type);
            jw_key(&w, "severity");
            jw_double(&w, t[i].severity);
            jw_key(&w, "resourceType");
            jw_str(&w, detect_resource_name(t[i].resource));
            jw_key(&w, "source");
            jw_str(&w, event_source_name(t[i].source));
            jw_key(&w, "ruleId");
            jw_str(&w, t[i].rule_id);
            jw_object_end(&w);
        }
        jw_array_end(&w);
        jw_object_end(&w);
        buf_putc(&out, '\n');
    } else {
        size_t wt = 4;
        for (size_t i = 0; i < n; i++)
            if (strlen(t[i].type) > wt)
                wt = strlen(t[i].type);
        buf_printf(&out, "%-*s  %-12s  %-10s  %-10s  %s\n", (int)wt, "TYPE", "SEVERITY", "RESOURCE",
                   "SOURCE", "RULE");
        for (size_t i = 0; i < n; i++)
            buf_printf(&out, "%-*s  %-8s %.1f  %-10s  %-10s  %s\n", (int)wt, t[i].type,
                       detect_severity_label(t[i].severity), t[i].severity,
                       detect_resource_name(t[i].resource), event_source_name(t[i].source),
                       t[i].rule_id);
        buf_printf(&out, "%zu finding types\n", n);
    }
    int rc = write_out(&out);
    buf_free(&out);
    return rc;
}

/* Picks the types named in list (comma-separated) out of t; 1 on an unknown one. */
static int select_types(const char *list, const struct ftype *t, size_t n, bool *want)
{
    const char *p = list;
    int status = 0;
    while (*p) {
        size_t len = strcspn(p, ",");
        bool found = false;
        for (size_t i = 0; i < n; i++)
            if (strlen(t[i].type) == len && memcmp(t[i].type, p, len) == 0) {
                want[i] = true;
                found = true;
            }
        if (!found && len > 0) {
            fprintf(stderr, "vigil findings: unknown finding type '%.*s' (vigil findings types lists them)\n",
                    (int)len, p);
            status = 1;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    return status;
}

static int print_samples(const struct args *a, const struct ftype *t, size_t n)
{
    bool *want = xcalloc(n + 1, sizeof(*want));
    int status = 0;
    if (a->types != NULL)
        status = select_types(a->types, t, n, want);
    else
        for (size_t i = 0; i < n; i++)
            want[i] = true;
    if (status != 0) {
        free(want);
        return status;
    }
    struct finding_agg *agg = finding_agg_new();
    for (size_t i = 0; i < n; i++) {
        if (!want[i])
            continue;
        struct finding_sample_spec spec = { t[i].type,   t[i].severity, t[i].resource, t[i].source,
                                            t[i].rule_id, t[i].api,     t[i].service,  NULL };
        finding_sample_add(agg, &spec, a->account, a->region, a->ms);
    }
    free(want);
    size_t nf;
    const struct finding **fs = finding_agg_sorted(agg, &nf);
    struct buf out;
    int rc = 0;
    buf_init(&out, 0);
    switch (a->format) {
    case OUT_TABLE: {
        struct winsize ws;
        struct finding_table_opts topts = { isatty(STDOUT_FILENO) != 0, 0 };
        if (topts.color && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
            topts.width = ws.ws_col;
        rc = finding_write_table(&out, fs, nf, &topts);
        break;
    }
    case OUT_JSON: rc = finding_write_json(&out, fs, nf, 2); break;
    case OUT_JSONL: rc = finding_write_jsonl(&out, fs, nf); break;
    case OUT_ASFF: rc = finding_write_asff(&out, fs, nf, 2); break;
    case OUT_OCSF: rc = finding_write_ocsf(&out, fs, nf); break;
    }
    if (rc == 0)
        rc = write_out(&out);
    if (rc != 0) {
        fprintf(stderr, "vigil findings: cannot write the findings\n");
        status = 2;
    }
    buf_free(&out);
    free(fs);
    finding_agg_free(agg);
    return status;
}

int cmd_findings(int argc, char **argv)
{
    static const char *const stored[] = { "list", "get", "update", "archive", "unarchive", "purge" };
    for (size_t i = 0; argc >= 2 && i < sizeof(stored) / sizeof(stored[0]); i++)
        if (strcmp(argv[1], stored[i]) == 0)
            return cmd_findings_store(argc, argv);
    struct args a;
    memset(&a, 0, sizeof(a));
    int status = parse_args(argc, argv, &a);
    if (status != 0) {
        free(a.rules);
        return status < 0 ? 0 : status;
    }
    struct detect_rules *rs = detect_rules_new();
    status = load_rules(&a, rs);
    if (status == 0) {
        size_t n;
        struct ftype *t = collect_types(rs, &n);
        qsort(t, n, sizeof(*t), cmp_type);
        status = a.sample ? print_samples(&a, t, n) : print_types(&a, t, n) != 0 ? 2 : 0;
        free_types(t, n);
    }
    detect_rules_free(rs);
    free(a.rules);
    return status;
}
