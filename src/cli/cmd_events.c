/*
 * vigil events: EventBridge operations over local data, with the AWS CLI's
 * flags and output shapes.
 *
 *   vigil events test-event-pattern --event-pattern P --event E [--output json|text]
 *       -> {"Result": true|false}
 *   vigil events put-rule --name N [--event-pattern P] [--schedule-expression S]
 *       [--state S] [--description D]                       -> {"RuleArn": ...}
 *   vigil events list-rules [--name-prefix P]               -> {"Rules": [...]}
 *   vigil events describe-rule --name N                     -> the rule
 *   vigil events delete-rule --name N
 *   vigil events put-targets --rule R --targets JSON        -> {"FailedEntryCount": 0, ...}
 *   vigil events list-targets-by-rule --rule R              -> {"Targets": [...]}
 *   vigil events remove-targets --rule R --ids ID...        -> {"FailedEntryCount": 0, ...}
 *   vigil events put-events --entries JSON [--wait S]       -> {"FailedEntryCount": 0, "Entries": [...]}
 *   vigil events start-replay --replay-name N --event-source-arn ARCHIVE
 *       --event-start-time T --event-end-time T [--destination JSON]   (also --from/--to)
 *
 * All but test-event-pattern work on a bus configuration file (--bus FILE or
 * $VIGIL_BUS, docs/bus.md) as the AWS CLI works on an account: put-rule,
 * put-targets, remove-targets and delete-rule rewrite a JSON configuration
 * file in place (YAML files are read-only here). put-events and start-replay
 * send the events through the bus and wait (--wait seconds, default 30) for
 * the deliveries.
 *
 * P and E are JSON text, or file://PATH to read it from a file, as the AWS CLI
 * accepts. The pattern language is EventBridge's (event-ruler's semantics;
 * docs/internals/match.md). An invalid pattern is reported on stderr the way
 * the AWS CLI reports InvalidEventPatternException, with exit status 1.
 * Unlike the service, the event's envelope fields (id, account, source, time,
 * region, resources, detail-type) are not required: any JSON object is tested.
 */
#include "cli/bus_cli.h"
#include "cli/cli.h"
#include "core/core.h"
#include "json/json.h"
#include "match/match.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EVENTS_MAX_FILE ((size_t)64 << 20)
/* TestEventPattern's EventPattern length constraint */
#define EVENTS_MAX_PATTERN 4096

static void usage(FILE *out)
{
    fputs("usage: vigil events test-event-pattern --event-pattern P --event E [--output json|text]\n"
          "       vigil events put-rule --name N [--event-pattern P] [--schedule-expression S]\n"
          "                              [--state S] [--description D]\n"
          "       vigil events list-rules [--name-prefix P]\n"
          "       vigil events describe-rule --name N\n"
          "       vigil events delete-rule --name N\n"
          "       vigil events put-targets --rule R --targets JSON\n"
          "       vigil events list-targets-by-rule --rule R\n"
          "       vigil events remove-targets --rule R --ids ID...\n"
          "       vigil events put-events --entries JSON [--wait SECONDS]\n"
          "       vigil events start-replay --event-source-arn ARCHIVE --event-start-time T\n"
          "                              --event-end-time T [--replay-name N] [--destination JSON]\n"
          "\n"
          "  P, E and JSON values are JSON text or file://PATH, as for the AWS CLI.\n"
          "  test-event-pattern prints {\"Result\": true|false}. The other operations work on\n"
          "  a bus configuration (--bus FILE or $VIGIL_BUS; docs/bus.md).\n",
          out);
}

__attribute__((format(printf, 2, 3))) static void aws_error(const char *code, const char *fmt,
                                                             ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "\nAn error occurred (%s) when calling the TestEventPattern operation: ", code);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* The AWS CLI's parameter value: the text itself, or a file's content. */
static int load_param(const char *name, const char *v, struct buf *out)
{
    buf_reset(out);
    if (strncmp(v, "file://", 7) != 0)
        return buf_append(out, v, strlen(v)) == 0 ? 0 : 1;
    const char *path = v + 7;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "\nError parsing parameter '%s': Unable to load paramfile %s: %s\n", name,
                v, strerror(errno));
        return 1;
    }
    char chunk[65536];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        rc = buf_append(out, chunk, n);
    bool bad = ferror(f);
    fclose(f);
    if (rc != 0 || bad) {
        fprintf(stderr, "\nError parsing parameter '%s': Unable to load paramfile %s: %s\n", name,
                v, rc ? "file too large" : "read error");
        return 1;
    }
    if (!out->p)
        buf_putc(out, '\0');
    return 0;
}

static size_t utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

static int test_event_pattern(int argc, char **argv)
{
    const char *pattern = NULL, *event = NULL, *output = "json";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--event-pattern") == 0 && i + 1 < argc)
            pattern = argv[++i];
        else if (strncmp(a, "--event-pattern=", 16) == 0)
            pattern = a + 16;
        else if (strcmp(a, "--event") == 0 && i + 1 < argc)
            event = argv[++i];
        else if (strncmp(a, "--event=", 8) == 0)
            event = a + 8;
        else if (strcmp(a, "--output") == 0 && i + 1 < argc)
            output = argv[++i];
        else if (strncmp(a, "--output=", 9) == 0)
            output = a + 9;
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "vigil events test-event-pattern: unexpected argument '%s'\n", a);
            usage(stderr);
            return 1;
        }
    }
    if (!pattern || !event) {
        fprintf(stderr, "vigil events test-event-pattern: the following arguments are required: "
                        "%s\n",
                !pattern && !event ? "--event-pattern, --event"
                : !pattern         ? "--event-pattern"
                                   : "--event");
        usage(stderr);
        return 1;
    }
    if (strcmp(output, "json") != 0 && strcmp(output, "text") != 0) {
        fprintf(stderr, "vigil events test-event-pattern: --output must be json or text\n");
        return 1;
    }
    struct buf p, e;
    buf_init(&p, EVENTS_MAX_FILE);
    buf_init(&e, EVENTS_MAX_FILE);
    int status = 1;
    if (load_param("event-pattern", pattern, &p) != 0 || load_param("event", event, &e) != 0)
        goto done;
    if (utf8_chars(p.p, p.len) > EVENTS_MAX_PATTERN) {
        aws_error("ValidationException",
                  "1 validation error detected: Value at 'eventPattern' failed to satisfy "
                  "constraint: Member must have length less than or equal to %d",
                  EVENTS_MAX_PATTERN);
        goto done;
    }
    bool result = false;
    struct err err;
    err_clear(&err);
    int rc = match_test(p.p, p.len, e.p, e.len, &result, &err);
    if (rc == ERR_USAGE || rc == ERR_LIMIT) {
        aws_error("InvalidEventPatternException", "Event pattern is not valid. Reason: %s",
                  err.msg);
        goto done;
    }
    if (rc != 0) {
        aws_error("InvalidEventPatternException", "Event is not valid. Reason: %s", err.msg);
        goto done;
    }
    if (strcmp(output, "text") == 0) {
        puts(result ? "True" : "False");
    } else {
        /* the AWS CLI prints JSON with 4-space indentation */
        struct buf out;
        buf_init(&out, 0);
        struct json_writer w;
        jw_init(&w, &out, 4);
        jw_object_begin(&w);
        jw_key(&w, "Result");
        jw_bool(&w, result);
        jw_object_end(&w);
        fwrite(out.p, 1, out.len, stdout);
        fputc('\n', stdout);
        buf_free(&out);
    }
    status = 0;
done:
    buf_free(&p);
    buf_free(&e);
    return status;
}

/* ---- bus operations -------------------------------------------------------------------- */

struct eopts {
    const char *names[16];
    const char *vals[16];
    size_t n;
    const char **ids; /* remove-targets --ids, repeated words */
    size_t n_ids;
};

/* Parses --name value pairs (and --name=value); allowed is a NULL-terminated
 * list of names without dashes. --ids takes every following word. */
static int eparse(const char *op, int argc, char **argv, const char *const *allowed,
                  struct eopts *o)
{
    memset(o, 0, sizeof(*o));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "vigil events %s: unexpected argument '%s'\n", op, a);
            return 1;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t nl = eq ? (size_t)(eq - name) : strlen(name);
        bool ok = false;
        for (const char *const *k = allowed; *k; k++)
            ok |= strlen(*k) == nl && strncmp(*k, name, nl) == 0;
        if (!ok) {
            fprintf(stderr, "vigil events %s: unknown option '%s'\n", op, a);
            return 1;
        }
        if (nl == 3 && strncmp(name, "ids", 3) == 0) {
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
                o->ids = xrealloc(o->ids, (o->n_ids + 1) * sizeof(*o->ids));
                o->ids[o->n_ids++] = argv[++i];
            }
            continue;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v || o->n == 16) {
            fprintf(stderr, "vigil events %s: %s needs a value\n", op, a);
            return 1;
        }
        o->names[o->n] = xstrndup(name, nl);
        o->vals[o->n++] = v;
    }
    return 0;
}

static void efree(struct eopts *o)
{
    for (size_t i = 0; i < o->n; i++)
        free((char *)o->names[i]);
    free(o->ids);
}

static const char *eget(const struct eopts *o, const char *name)
{
    const char *v = NULL;
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->names[i], name) == 0)
            v = o->vals[i];
    return v;
}

static int need(const char *op, const char *what, const char *v)
{
    if (v)
        return 0;
    fprintf(stderr, "vigil events %s: the following arguments are required: --%s\n", op, what);
    return 1;
}

static bool is_yaml_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    int c;
    while ((c = fgetc(f)) == ' ' || c == '\n' || c == '\r' || c == '\t')
        ;
    fclose(f);
    return c != '{';
}

static void print_rule(struct json_writer *w, const struct bus_config *cfg, size_t i, bool full)
{
    struct bus_rule_info r;
    bus_config_rule(cfg, i, &r);
    jw_object_begin(w);
    jw_key(w, "Name");
    jw_str(w, r.name);
    jw_key(w, "Arn");
    jw_str(w, r.arn);
    if (r.event_pattern) {
        jw_key(w, "EventPattern"); /* a string, as the API returns it */
        jw_str(w, r.event_pattern);
    }
    if (r.schedule_expression) {
        jw_key(w, "ScheduleExpression");
        jw_str(w, r.schedule_expression);
    }
    jw_key(w, "State");
    jw_str(w, r.state);
    if (r.description) {
        jw_key(w, "Description");
        jw_str(w, r.description);
    }
    if (r.role_arn) {
        jw_key(w, "RoleArn");
        jw_str(w, r.role_arn);
    }
    jw_key(w, "EventBusName");
    jw_str(w, r.event_bus_name);
    (void)full;
    jw_object_end(w);
}

static int save_config(const char *op, const char *path, struct bus_config *cfg)
{
    if (is_yaml_file(path)) {
        fprintf(stderr, "vigil events %s: %s is YAML; edit it by hand (only JSON configuration "
                        "files are rewritten)\n", op, path);
        return 1;
    }
    struct err e;
    err_clear(&e);
    if (bus_config_save(cfg, path, &e) != 0) {
        fprintf(stderr, "vigil events %s: %s\n", op, e.msg);
        return 1;
    }
    return 0;
}

static int op_put_rule(const char *path, const struct eopts *o)
{
    const char *name = eget(o, "name");
    if (need("put-rule", "name", name))
        return 1;
    struct bus_config *cfg = bus_cli_load("events put-rule", path);
    if (!cfg)
        return 1;
    struct buf pat;
    buf_init(&pat, 0);
    const char *pv = eget(o, "event-pattern");
    int status = 1;
    if (pv && bus_cli_param("event-pattern", pv, &pat) != 0)
        goto out;
    struct err e;
    err_clear(&e);
    if (bus_config_put_rule(cfg, name, pv ? pat.p : NULL, eget(o, "schedule-expression"),
                            eget(o, "state"), eget(o, "description"), &e) != 0) {
        bus_cli_aws_error("PutRule",
                          strstr(e.msg, "pattern") ? "InvalidEventPatternException"
                                                   : "ValidationException",
                          e.msg);
        goto out;
    }
    if (save_config("put-rule", path, cfg) != 0)
        goto out;
    struct bus_rule_info r;
    bus_config_rule(cfg, (size_t)bus_config_find_rule(cfg, name), &r);
    struct buf out;
    buf_init(&out, 0);
    struct json_writer w;
    jw_init(&w, &out, 4);
    jw_object_begin(&w);
    jw_key(&w, "RuleArn");
    jw_str(&w, r.arn);
    jw_object_end(&w);
    bus_cli_print(&out);
    buf_free(&out);
    status = 0;
out:
    buf_free(&pat);
    bus_config_free(cfg);
    return status;
}

static int op_list_rules(const char *path, const struct eopts *o)
{
    struct bus_config *cfg = bus_cli_load("events list-rules", path);
    if (!cfg)
        return 1;
    const char *prefix = eget(o, "name-prefix");
    struct buf out;
    buf_init(&out, 0);
    struct json_writer w;
    jw_init(&w, &out, 4);
    jw_object_begin(&w);
    jw_key(&w, "Rules");
    jw_array_begin(&w);
    for (size_t i = 0; i < bus_config_rule_count(cfg); i++) {
        struct bus_rule_info r;
        bus_config_rule(cfg, i, &r);
        if (prefix && strncmp(r.name, prefix, strlen(prefix)) != 0)
            continue;
        print_rule(&w, cfg, i, false);
    }
    jw_array_end(&w);
    jw_object_end(&w);
    bus_cli_print(&out);
    buf_free(&out);
    bus_config_free(cfg);
    return 0;
}

static int op_describe_rule(const char *path, const struct eopts *o)
{
    const char *name = eget(o, "name");
    if (need("describe-rule", "name", name))
        return 1;
    struct bus_config *cfg = bus_cli_load("events describe-rule", path);
    if (!cfg)
        return 1;
    long i = bus_config_find_rule(cfg, name);
    int status = 0;
    if (i < 0) {
        char msg[200];
        snprintf(msg, sizeof(msg), "Rule %s does not exist on EventBus default.", name);
        bus_cli_aws_error("DescribeRule", "ResourceNotFoundException", msg);
        status = 1;
    } else {
        struct buf out;
        buf_init(&out, 0);
        struct json_writer w;
        jw_init(&w, &out, 4);
        struct bus_rule_info r;
        bus_config_rule(cfg, (size_t)i, &r);
        jw_object_begin(&w);
        jw_key(&w, "Name");
        jw_str(&w, r.name);
        jw_key(&w, "Arn");
        jw_str(&w, r.arn);
        if (r.event_pattern) {
            jw_key(&w, "EventPattern");
            jw_str(&w, r.event_pattern);
        }
        if (r.schedule_expression) {
            jw_key(&w, "ScheduleExpression");
            jw_str(&w, r.schedule_expression);
        }
        jw_key(&w, "State");
        jw_str(&w, r.state);
        if (r.description) {
            jw_key(&w, "Description");
            jw_str(&w, r.description);
        }
        if (r.role_arn) {
            jw_key(&w, "RoleArn");
            jw_str(&w, r.role_arn);
        }
        jw_key(&w, "EventBusName");
        jw_str(&w, r.event_bus_name);
        jw_key(&w, "CreatedBy");
        jw_str(&w, bus_config_account(cfg));
        jw_object_end(&w);
        bus_cli_print(&out);
        buf_free(&out);
    }
    bus_config_free(cfg);
    return status;
}

static int op_delete_rule(const char *path, const struct eopts *o)
{
    const char *name = eget(o, "name");
    if (need("delete-rule", "name", name))
        return 1;
    struct bus_config *cfg = bus_cli_load("events delete-rule", path);
    if (!cfg)
        return 1;
    struct err e;
    err_clear(&e);
    int status = 0;
    if (bus_config_delete_rule(cfg, name, &e) != 0) {
        bus_cli_aws_error("DeleteRule", "ValidationException", e.msg);
        status = 1;
    } else {
        status = save_config("delete-rule", path, cfg);
    }
    bus_config_free(cfg);
    return status;
}

static void print_failed_none(void)
{
    struct buf out;
    buf_init(&out, 0);
    struct json_writer w;
    jw_init(&w, &out, 4);
    jw_object_begin(&w);
    jw_key(&w, "FailedEntryCount");
    jw_int(&w, 0);
    jw_key(&w, "FailedEntries");
    jw_array_begin(&w);
    jw_array_end(&w);
    jw_object_end(&w);
    bus_cli_print(&out);
    buf_free(&out);
}

static int op_put_targets(const char *path, const struct eopts *o)
{
    const char *rule = eget(o, "rule"), *tv = eget(o, "targets");
    if (need("put-targets", "rule", rule) || need("put-targets", "targets", tv))
        return 1;
    struct bus_config *cfg = bus_cli_load("events put-targets", path);
    if (!cfg)
        return 1;
    struct buf t;
    buf_init(&t, 0);
    int status = 1;
    if (bus_cli_param("targets", tv, &t) != 0)
        goto out;
    struct err e;
    err_clear(&e);
    if (bus_config_put_targets(cfg, rule, t.p, t.len, &e) != 0) {
        bus_cli_aws_error("PutTargets",
                          e.code == ERR_NOTFOUND ? "ResourceNotFoundException"
                          : e.code == ERR_LIMIT  ? "LimitExceededException"
                                                 : "ValidationException",
                          e.msg);
        goto out;
    }
    if (save_config("put-targets", path, cfg) != 0)
        goto out;
    print_failed_none();
    status = 0;
out:
    buf_free(&t);
    bus_config_free(cfg);
    return status;
}

static int op_list_targets(const char *path, const struct eopts *o)
{
    const char *rule = eget(o, "rule");
    if (need("list-targets-by-rule", "rule", rule))
        return 1;
    struct bus_config *cfg = bus_cli_load("events list-targets-by-rule", path);
    if (!cfg)
        return 1;
    long i = bus_config_find_rule(cfg, rule);
    int status = 0;
    if (i < 0) {
        char msg[200];
        snprintf(msg, sizeof(msg), "Rule %s does not exist on EventBus default.", rule);
        bus_cli_aws_error("ListTargetsByRule", "ResourceNotFoundException", msg);
        status = 1;
    } else {
        struct bus_rule_info r;
        bus_config_rule(cfg, (size_t)i, &r);
        struct buf out;
        buf_init(&out, 0);
        struct json_writer w;
        jw_init(&w, &out, 4);
        jw_object_begin(&w);
        jw_key(&w, "Targets");
        jw_array_begin(&w);
        for (size_t k = 0; k < r.n_targets; k++)
            bus_config_target_json(cfg, (size_t)i, k, &w);
        jw_array_end(&w);
        jw_object_end(&w);
        bus_cli_print(&out);
        buf_free(&out);
    }
    bus_config_free(cfg);
    return status;
}

static int op_remove_targets(const char *path, const struct eopts *o)
{
    const char *rule = eget(o, "rule");
    if (need("remove-targets", "rule", rule))
        return 1;
    if (o->n_ids == 0) {
        fprintf(stderr, "vigil events remove-targets: the following arguments are required: --ids\n");
        return 1;
    }
    struct bus_config *cfg = bus_cli_load("events remove-targets", path);
    if (!cfg)
        return 1;
    struct err e;
    err_clear(&e);
    int status = 1;
    if (bus_config_remove_targets(cfg, rule, o->ids, o->n_ids, &e) != 0)
        bus_cli_aws_error("RemoveTargets", "ResourceNotFoundException", e.msg);
    else if (save_config("remove-targets", path, cfg) == 0) {
        print_failed_none();
        status = 0;
    }
    bus_config_free(cfg);
    return status;
}

static double wait_opt(const struct eopts *o)
{
    const char *w = eget(o, "wait");
    if (!w)
        return 30;
    char *end;
    double v = strtod(w, &end);
    return *end == '\0' ? v : 30;
}

/* put-events: entries as PutEvents takes them ({Source, DetailType, Detail,
 * Resources, Time, EventBusName}) become events with a fresh id, the
 * configured account and region. */
static int op_put_events(const char *path, const struct eopts *o)
{
    const char *ev = eget(o, "entries");
    if (need("put-events", "entries", ev))
        return 1;
    struct bus_config *cfg = bus_cli_load("events put-events", path);
    if (!cfg)
        return 1;
    struct buf in, one, out;
    struct arena a;
    buf_init(&in, 0);
    buf_init(&one, 0);
    buf_init(&out, 0);
    arena_init(&a, 0);
    struct bus *b = NULL;
    struct bus_worker *bw = NULL;
    int status = 1;
    struct json_value *root;
    struct err e;
    err_clear(&e);
    if (bus_cli_param("entries", ev, &in) != 0)
        goto out;
    if (json_parse(in.p, in.len, &a, &root, &e) != 0 || root->type != JSON_ARRAY) {
        fprintf(stderr, "vigil events put-events: --entries must be a JSON list of entries\n");
        goto out;
    }
    if (!(b = bus_cli_open("events put-events", cfg, false)))
        goto out;
    bw = bus_worker_new(b);
    /* Entries are written at depth 1 into their own buffer, then placed after
     * FailedEntryCount, in the order the AWS CLI prints them. */
    struct buf entries;
    buf_init(&entries, 0);
    struct json_writer w;
    jw_init(&w, &entries, 4);
    w.depth = 1;
    w.after_key = true; /* as if "Entries": had just been written */
    int failed = 0;
    jw_array_begin(&w);
    const char *region = bus_config_region(cfg), *account = bus_config_account(cfg);
    for (size_t i = 0; i < root->n; i++) {
        const struct json_value *en = &root->items[i];
        const struct json_value *src = json_get(en, "Source"), *dt = json_get(en, "DetailType"),
                                *det = json_get(en, "Detail"), *res = json_get(en, "Resources"),
                                *tm = json_get(en, "Time");
        const char *why = NULL;
        struct json_value *dv = NULL;
        if (!src || src->type != JSON_STRING || !dt || dt->type != JSON_STRING)
            why = "Parameter(s) Source, DetailType must be specified.";
        else if (!det || det->type != JSON_STRING ||
                 json_parse(det->str, det->len, &a, &dv, NULL) != 0 || dv->type != JSON_OBJECT)
            why = "Detail is malformed.";
        int64_t tms = 0;
        if (!why && tm && (tm->type != JSON_STRING || !bus_cli_time(tm->str, &tms)))
            why = "Time is malformed.";
        jw_object_begin(&w);
        if (why) {
            failed++;
            jw_key(&w, "ErrorCode");
            jw_str(&w, strncmp(why, "Detail", 6) == 0 ? "MalformedDetail" : "InvalidArgument");
            jw_key(&w, "ErrorMessage");
            jw_str(&w, why);
            jw_object_end(&w);
            continue;
        }
        char id[37], ts[32];
        bus_uuid4(id); /* a fresh id per entry, as PutEvents assigns */
        if (!tm)
            tms = (int64_t)time(NULL) * 1000;
        time_format_iso8601(tms, false, ts);
        buf_reset(&one);
        struct json_writer ej;
        jw_init(&ej, &one, 0);
        jw_object_begin(&ej);
        jw_key(&ej, "version");
        jw_str(&ej, "0");
        jw_key(&ej, "id");
        jw_str(&ej, id);
        jw_key(&ej, "detail-type");
        jw_str(&ej, dt->str);
        jw_key(&ej, "source");
        jw_str(&ej, src->str);
        jw_key(&ej, "account");
        jw_str(&ej, account);
        jw_key(&ej, "time");
        jw_str(&ej, ts);
        jw_key(&ej, "region");
        jw_str(&ej, region);
        jw_key(&ej, "resources");
        jw_array_begin(&ej);
        for (size_t k = 0; res && res->type == JSON_ARRAY && k < res->n; k++)
            if (res->items[k].type == JSON_STRING)
                jw_str(&ej, res->items[k].str);
        jw_array_end(&ej);
        jw_key(&ej, "detail");
        jw_raw(&ej, sv_cstr(det->str));
        jw_object_end(&ej);
        err_clear(&e);
        long r = bus_put(bw, one.p, one.len, &e);
        if (r < 0) {
            failed++;
            jw_key(&w, "ErrorCode");
            jw_str(&w, r == -ERR_LIMIT ? "InvalidArgument" : "InternalFailure");
            jw_key(&w, "ErrorMessage");
            jw_str(&w, e.msg);
        } else {
            jw_key(&w, "EventId");
            jw_str(&w, id);
        }
        jw_object_end(&w);
    }
    jw_array_end(&w);
    buf_printf(&out, "{\n    \"FailedEntryCount\": %d,\n    \"Entries\": ", failed);
    buf_append(&out, entries.p, entries.len);
    buf_append_cstr(&out, "\n}");
    buf_free(&entries);
    err_clear(&e);
    if (bus_worker_flush(bw, &e) != 0) {
        fprintf(stderr, "vigil events put-events: %s\n", e.msg);
        goto out;
    }
    bus_cli_print(&out);
    status = bus_cli_drain("events put-events", b, wait_opt(o), true);
out:
    bus_worker_free(bw);
    bus_close(b);
    arena_free(&a);
    buf_free(&in);
    buf_free(&one);
    buf_free(&out);
    bus_config_free(cfg);
    return status;
}

static int op_start_replay(const char *path, const struct eopts *o)
{
    const char *name = eget(o, "replay-name");
    const char *src = eget(o, "event-source-arn") ? eget(o, "event-source-arn") : eget(o, "archive");
    const char *from = eget(o, "event-start-time") ? eget(o, "event-start-time") : eget(o, "from");
    const char *to = eget(o, "event-end-time") ? eget(o, "event-end-time") : eget(o, "to");
    if (need("start-replay", "event-source-arn (or --archive)", src) ||
        need("start-replay", "event-start-time (or --from)", from) ||
        need("start-replay", "event-end-time (or --to)", to))
        return 1;
    int64_t fms, tms;
    if (!bus_cli_time(from, &fms) || !bus_cli_time(to, &tms)) {
        bus_cli_aws_error("StartReplay", "ValidationException",
                          "EventStartTime and EventEndTime must be ISO 8601 times or epoch seconds");
        return 1;
    }
    if (fms >= tms) {
        bus_cli_aws_error("StartReplay", "ValidationException",
                          "EventStartTime must be before EventEndTime.");
        return 1;
    }
    /* An archive ARN ends with archive/NAME; a bare name is taken as is. */
    const char *archive = strrchr(src, '/') ? strrchr(src, '/') + 1 : src;
    struct bus_config *cfg = bus_cli_load("events start-replay", path);
    if (!cfg)
        return 1;
    struct buf dest;
    struct arena a;
    buf_init(&dest, 0);
    arena_init(&a, 0);
    const char **rules = NULL;
    size_t n_rules = 0;
    int status = 1;
    struct bus *b = NULL;
    const char *dv = eget(o, "destination");
    if (dv) {
        struct json_value *d;
        if (bus_cli_param("destination", dv, &dest) != 0)
            goto out;
        if (json_parse(dest.p, dest.len, &a, &d, NULL) != 0 || d->type != JSON_OBJECT) {
            fprintf(stderr, "vigil events start-replay: --destination must be JSON "
                            "{\"Arn\": ..., \"FilterArns\": [...]}\n");
            goto out;
        }
        const struct json_value *fa = json_get(d, "FilterArns");
        for (size_t i = 0; fa && fa->type == JSON_ARRAY && i < fa->n; i++)
            if (fa->items[i].type == JSON_STRING) {
                rules = xrealloc(rules, (n_rules + 1) * sizeof(*rules));
                rules[n_rules++] = fa->items[i].str;
            }
    }
    if (!(b = bus_cli_open("events start-replay", cfg, false)))
        goto out;
    char rname[80];
    if (name)
        snprintf(rname, sizeof(rname), "%s", name);
    else
        snprintf(rname, sizeof(rname), "replay-%lld", (long long)time(NULL));
    uint64_t n = 0;
    struct err e;
    err_clear(&e);
    time_t t0 = time(NULL);
    if (bus_replay(b, archive, fms, tms, rname, rules, n_rules, &n, &e) != 0) {
        bus_cli_aws_error("StartReplay",
                          e.code == ERR_NOTFOUND ? "ResourceNotFoundException" : "InternalException",
                          e.msg);
        goto out;
    }
    struct buf out;
    buf_init(&out, 0);
    struct json_writer w;
    jw_init(&w, &out, 4);
    char ts[32];
    time_format_iso8601((int64_t)t0 * 1000, false, ts);
    struct bus_rule_info ri;
    char arn[300] = "";
    if (bus_config_rule_count(cfg) > 0) {
        bus_config_rule(cfg, 0, &ri);
        const char *rs = strstr(ri.arn, ":rule/");
        snprintf(arn, sizeof(arn), "%.*s:replay/%s", rs ? (int)(rs - ri.arn) : 0, ri.arn, rname);
    }
    jw_object_begin(&w);
    jw_key(&w, "ReplayArn");
    jw_str(&w, arn);
    jw_key(&w, "State");
    jw_str(&w, "COMPLETED"); /* local replays run to the end before returning */
    jw_key(&w, "StateReason");
    char reason[64];
    snprintf(reason, sizeof(reason), "%llu events replayed", (unsigned long long)n);
    jw_str(&w, reason);
    jw_key(&w, "ReplayStartTime");
    jw_str(&w, ts);
    jw_object_end(&w);
    bus_cli_print(&out);
    buf_free(&out);
    status = bus_cli_drain("events start-replay", b, wait_opt(o), true);
out:
    bus_close(b);
    free(rules);
    arena_free(&a);
    buf_free(&dest);
    bus_config_free(cfg);
    return status;
}

static int bus_op(const char *op, int argc, char **argv)
{
    static const char *const common[] = { "bus", NULL };
    (void)common;
    static const struct {
        const char *name;
        int (*fn)(const char *, const struct eopts *);
        const char *const allowed[12];
    } ops[] = {
        { "put-rule", op_put_rule,
          { "bus", "name", "event-pattern", "schedule-expression", "state", "description",
            "event-bus-name", NULL } },
        { "list-rules", op_list_rules, { "bus", "name-prefix", "event-bus-name", NULL } },
        { "describe-rule", op_describe_rule, { "bus", "name", "event-bus-name", NULL } },
        { "delete-rule", op_delete_rule, { "bus", "name", "event-bus-name", NULL } },
        { "put-targets", op_put_targets, { "bus", "rule", "targets", "event-bus-name", NULL } },
        { "list-targets-by-rule", op_list_targets, { "bus", "rule", "event-bus-name", NULL } },
        { "remove-targets", op_remove_targets, { "bus", "rule", "ids", "event-bus-name", NULL } },
        { "put-events", op_put_events, { "bus", "entries", "wait", NULL } },
        { "start-replay", op_start_replay,
          { "bus", "replay-name", "event-source-arn", "archive", "event-start-time",
            "event-end-time", "from", "to", "destination", "wait", "description", NULL } },
    };
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        if (strcmp(op, ops[i].name) != 0)
            continue;
        struct eopts o;
        if (eparse(op, argc, argv, ops[i].allowed, &o) != 0) {
            efree(&o);
            return 1;
        }
        int st = ops[i].fn(bus_cli_config_path(eget(&o, "bus")), &o);
        efree(&o);
        return st;
    }
    return -1;
}

int cmd_events(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    if (strcmp(argv[1], "test-event-pattern") == 0)
        return test_event_pattern(argc - 1, argv + 1);
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return 0;
    }
    int st = bus_op(argv[1], argc - 1, argv + 1);
    if (st >= 0)
        return st;
    fprintf(stderr, "vigil events: unknown operation '%s'\n", argv[1]);
    usage(stderr);
    return 1;
}
