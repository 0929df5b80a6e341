/*
 * The bus configuration: PutRule / PutTargets / CreateQueue / CreateArchive
 * shaped items in one JSON or YAML document (docs/bus.md).
 *
 * YAML is converted to JSON first (plain scalars typed as YAML 1.2's core
 * schema: null, true/false, numbers; everything else a string), so both
 * spellings go through one validator. Fields EventBridge accepts but Vigil
 * has no use for (RoleArn, SqsParameters, EcsParameters, Tags, ...) are kept
 * verbatim so that put-rule/put-targets rewrite the file without losing them.
 */
#include "bus/bus_int.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#define CFG_MAX_FILE ((size_t)16 << 20)
#define CFG_MAX_RULES 10000
#define CFG_MAX_PATTERN 4096   /* PutRule EventPattern */
#define CFG_MAX_DESCRIPTION 512
#define CFG_MAX_INPUT 8192     /* Target.Input */
#define YAML_MAX_DEPTH 64
#define YAML_MAX_NODES 1000000

/* ---- small helpers ------------------------------------------------------------ */

static char *dup_or_null(const char *s) { return s ? xstrdup(s) : NULL; }

static void kv_free(struct bus_kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kv[i].key);
        free(kv[i].json);
    }
    free(kv);
}

static void strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

static void target_free(struct bus_target *t)
{
    free(t->id);
    free(t->arn);
    free(t->input);
    free(t->input_path);
    free(t->paths_map);
    free(t->input_template);
    free(t->dlq_arn);
    free(t->http_params);
    free(t->vigil_params);
    kv_free(t->extra, t->n_extra);
    match_xform_free(t->xf);
    strv_free(t->argv);
    free(t->path);
    free(t->dlq);
    free(t->hmac_secret);
    free(t->sig_header);
    for (size_t i = 0; i < t->n_headers; i++)
        free(t->headers[i]);
    free(t->headers);
    free(t->query);
    memset(t, 0, sizeof(*t));
}

static void rule_free(struct bus_rule *r)
{
    free(r->name);
    free(r->arn);
    free(r->pattern);
    free(r->schedule);
    free(r->state);
    free(r->description);
    free(r->bus_name);
    free(r->role_arn);
    kv_free(r->extra, r->n_extra);
    for (size_t i = 0; i < r->n_targets; i++)
        target_free(&r->targets[i]);
    free(r->targets);
    memset(r, 0, sizeof(*r));
}

void bus_config_free(struct bus_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n_rules; i++)
        rule_free(&cfg->rules[i]);
    free(cfg->rules);
    for (size_t i = 0; i < cfg->n_queues; i++) {
        free(cfg->queues[i].name);
        free(cfg->queues[i].dlq);
        free(cfg->queues[i].attrs_json);
    }
    free(cfg->queues);
    for (size_t i = 0; i < cfg->n_archives; i++) {
        free(cfg->archives[i].name);
        free(cfg->archives[i].pattern);
        free(cfg->archives[i].description);
    }
    free(cfg->archives);
    free(cfg->name);
    free(cfg->base_dir);
    free(cfg->state_path);
    free(cfg->region);
    free(cfg->account);
    free(cfg->vigil_json);
    free(cfg);
}

static char *to_json_text(const struct json_value *v)
{
    struct buf b;
    buf_init(&b, 0);
    json_write_value(&b, v);
    if (!b.p)
        buf_putc(&b, '\0');
    return buf_steal(&b);
}

static bool name_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_'))
            return false;
    }
    return true;
}

bool bus__valid_queue_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 80)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

char *bus__queue_name(const char *arn)
{
    const char *n = arn;
    if (strncmp(arn, "queue:", 6) == 0) {
        n = arn + 6;
    } else if (strncmp(arn, "arn:", 4) == 0) {
        /* arn:PARTITION:sqs:REGION:ACCOUNT:NAME */
        const char *p = arn;
        int colons = 0;
        for (; *p && colons < 5; p++)
            colons += *p == ':';
        if (colons < 5 || strncmp(strchr(arn + 4, ':') + 1, "sqs:", 4) != 0)
            return NULL;
        n = p;
    }
    return bus__valid_queue_name(n) ? xstrdup(n) : NULL;
}

/* ---- YAML -> JSON ----------------------------------------------------------------- */

static bool is_number(const char *s, size_t len)
{
    size_t i = 0;
    if (i < len && s[i] == '-')
        i++;
    if (i >= len || s[i] < '0' || s[i] > '9')
        return false;
    if (s[i] == '0')
        i++;
    else
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
    if (i < len && s[i] == '.') {
        i++;
        if (i >= len || s[i] < '0' || s[i] > '9')
            return false;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= len || s[i] < '0' || s[i] > '9')
            return false;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    return i == len;
}

struct yconv {
    yaml_document_t *doc;
    size_t nodes;
    struct err *err;
    const char *name;
};

static int yaml_node_json(struct yconv *y, yaml_node_t *n, struct buf *out, int depth)
{
    if (!n)
        return err_set(y->err, ERR_FORMAT, "%s: empty YAML node", y->name);
    if (++y->nodes > YAML_MAX_NODES || depth > YAML_MAX_DEPTH)
        return err_set(y->err, ERR_LIMIT, "%s: line %zu: YAML nested too deep or too large",
                       y->name, (size_t)n->start_mark.line + 1);
    int rc = 0;
    if (n->type == YAML_SCALAR_NODE) {
        const char *s = (const char *)n->data.scalar.value;
        size_t len = n->data.scalar.length;
        bool plain = n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        if (plain && (len == 0 || (len == 1 && s[0] == '~') || (len == 4 && !memcmp(s, "null", 4))))
            rc = buf_append_cstr(out, "null");
        else if (plain && ((len == 4 && !memcmp(s, "true", 4)) ||
                           (len == 5 && !memcmp(s, "false", 5)) || is_number(s, len)))
            rc = buf_append(out, s, len);
        else {
            buf_putc(out, '"');
            json_escape(out, s, len);
            rc = buf_putc(out, '"');
        }
    } else if (n->type == YAML_SEQUENCE_NODE) {
        buf_putc(out, '[');
        for (yaml_node_item_t *it = n->data.sequence.items.start;
             rc == 0 && it < n->data.sequence.items.top; it++) {
            if (it != n->data.sequence.items.start)
                buf_putc(out, ',');
            rc = yaml_node_json(y, yaml_document_get_node(y->doc, *it), out, depth + 1);
        }
        if (rc == 0)
            rc = buf_putc(out, ']');
    } else if (n->type == YAML_MAPPING_NODE) {
        buf_putc(out, '{');
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
             rc == 0 && p < n->data.mapping.pairs.top; p++) {
            yaml_node_t *k = yaml_document_get_node(y->doc, p->key);
            if (!k || k->type != YAML_SCALAR_NODE)
                return err_set(y->err, ERR_FORMAT, "%s: line %zu: a key must be a scalar",
                               y->name, (size_t)n->start_mark.line + 1);
            if (p != n->data.mapping.pairs.start)
                buf_putc(out, ',');
            buf_putc(out, '"');
            json_escape(out, (const char *)k->data.scalar.value, k->data.scalar.length);
            buf_append(out, "\":", 2);
            rc = yaml_node_json(y, yaml_document_get_node(y->doc, p->value), out, depth + 1);
        }
        if (rc == 0)
            rc = buf_putc(out, '}');
    } else {
        rc = err_set(y->err, ERR_FORMAT, "%s: empty YAML node", y->name);
    }
    return rc;
}

static int yaml_to_json(const char *text, size_t len, const char *name, struct buf *out,
                        struct err *err)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser))
        return err_set(err, ERR_INTERNAL, "cannot initialise the YAML parser");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    int rc = 0;
    if (!yaml_parser_load(&parser, &doc)) {
        rc = err_set(err, ERR_FORMAT, "%s: line %zu: %s", name, (size_t)parser.problem_mark.line + 1,
                     parser.problem ? parser.problem : "invalid YAML");
        yaml_parser_delete(&parser);
        return rc;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        rc = err_set(err, ERR_FORMAT, "%s: empty document", name);
    } else {
        struct yconv y = { &doc, 0, err, name };
        rc = yaml_node_json(&y, root, out, 0);
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return rc;
}

/* ---- validation of one target ---------------------------------------------------------- */

static char *resolve_path(const char *base, const char *p)
{
    if (p[0] == '/' || !base)
        return xstrdup(p);
    struct buf b;
    buf_init(&b, 0);
    buf_printf(&b, "%s/%s", base, p);
    return buf_steal(&b);
}

/* exec:PROGRAM ARG... split at blanks; %XX decodes (%20 for a blank in an argument). */
static int parse_exec(struct bus_target *t, const char *spec, const char *base, struct err *err)
{
    size_t n = 0, cap = 4;
    char **argv = xcalloc(cap, sizeof(*argv));
    const char *p = spec;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        struct buf a;
        buf_init(&a, 0);
        while (*p && *p != ' ' && *p != '\t') {
            if (*p == '%' && core_hexval(p[1]) >= 0 && core_hexval(p[2]) >= 0) {
                buf_putc(&a, (char)(core_hexval(p[1]) * 16 + core_hexval(p[2])));
                p += 3;
            } else {
                buf_putc(&a, *p++);
            }
        }
        if (!a.p)
            buf_putc(&a, '\0');
        if (n + 2 > cap) {
            cap *= 2;
            argv = xrealloc(argv, cap * sizeof(*argv));
        }
        argv[n++] = buf_steal(&a);
        argv[n] = NULL;
    }
    if (n == 0) {
        free(argv);
        return err_set(err, ERR_USAGE, "exec: names no program");
    }
    /* A relative program path is relative to the configuration file. */
    if (strchr(argv[0], '/') && argv[0][0] != '/') {
        char *abs = resolve_path(base, argv[0]);
        free(argv[0]);
        argv[0] = abs;
    }
    t->argv = argv;
    return 0;
}

static int get_int_member(const struct json_value *o, const char *key, long lo, long hi,
                          const char *what, int *out, struct err *err)
{
    const struct json_value *v = json_get(o, key);
    if (!v)
        return 0;
    if (v->type != JSON_NUMBER || v->num != (double)(long)v->num || v->num < (double)lo ||
        v->num > (double)hi)
        return err_set(err, ERR_USAGE, "%s.%s must be an integer from %ld to %ld", what, key, lo,
                       hi);
    *out = (int)v->num;
    return 0;
}

static const char *str_member(const struct json_value *o, const char *key)
{
    const struct json_value *v = json_get(o, key);
    return v && v->type == JSON_STRING ? v->str : NULL;
}

static int finish_target(struct bus_config *cfg, struct bus_target *t, struct err *err)
{
    const char *arn = t->arn;
    if (strncmp(arn, "exec:", 5) == 0) {
        t->kind = BUS_T_EXEC;
        if (parse_exec(t, arn + 5, cfg->base_dir, err) != 0)
            return ERR_USAGE;
        t->timeout_s = 30;
    } else if (strncmp(arn, "http://", 7) == 0 || strncmp(arn, "https://", 8) == 0) {
        t->kind = BUS_T_HTTP;
        t->path = xstrdup(arn);
        t->timeout_s = 5; /* API destinations' timeout */
    } else if (strncmp(arn, "file:", 5) == 0) {
        t->kind = BUS_T_FILE;
        const char *p = arn + 5;
        if (strncmp(p, "//", 2) == 0)
            p += 2;
        if (!*p)
            return err_set(err, ERR_USAGE, "file: names no file");
        t->path = resolve_path(cfg->base_dir, p);
    } else if (strncmp(arn, "queue:", 6) == 0 || strncmp(arn, "arn:aws:sqs:", 12) == 0) {
        t->kind = BUS_T_QUEUE;
        t->path = bus__queue_name(arn);
        if (!t->path)
            return err_set(err, ERR_USAGE, "Arn %s: bad queue name ([A-Za-z0-9_-]{1,80})", arn);
    } else {
        return err_set(err, ERR_USAGE,
                       "Arn %s is not a local target (exec:, http://, https://, file:, queue: or "
                       "an SQS queue ARN)",
                       arn);
    }
    int n_in = (t->input != NULL) + (t->input_path != NULL) + (t->input_template != NULL);
    if (n_in > 1)
        return err_set(err, ERR_USAGE,
                       "Only one of Input, InputPath, or InputTransformer must be provided");
    if (t->input) {
        if (strlen(t->input) > CFG_MAX_INPUT)
            return err_set(err, ERR_LIMIT, "Input longer than %d characters", CFG_MAX_INPUT);
        struct arena a;
        arena_init(&a, 0);
        struct json_value *v;
        int rc = json_parse(t->input, strlen(t->input), &a, &v, NULL);
        arena_free(&a);
        if (rc != 0)
            return err_set(err, ERR_USAGE, "Input is not valid JSON");
    }
    if (t->input_path && match_path_check(t->input_path, strlen(t->input_path), err) != 0)
        return ERR_USAGE;
    if (t->input_template) {
        int rc = match_xform_new(t->paths_map, t->paths_map ? strlen(t->paths_map) : 0,
                                 t->input_template, strlen(t->input_template), &t->xf, err);
        if (rc != 0)
            return rc;
    }
    const char *dlq = t->dlq_arn ? t->dlq_arn : "queue:" BUS_DEFAULT_DLQ;
    t->dlq = bus__queue_name(dlq);
    if (!t->dlq)
        return err_set(err, ERR_USAGE,
                       "DeadLetterConfig.Arn %s must name a local queue (queue:NAME or an SQS ARN)",
                       dlq);
    /* HttpParameters: headers and query string are honoured for webhooks. */
    if (t->http_params) {
        struct arena a;
        arena_init(&a, 0);
        struct json_value *hp;
        json_parse(t->http_params, strlen(t->http_params), &a, &hp, NULL);
        const struct json_value *h = json_get(hp, "HeaderParameters");
        for (size_t i = 0; h && h->type == JSON_OBJECT && i < h->n; i++) {
            if (h->items[i].type != JSON_STRING)
                continue;
            if (strpbrk(h->items[i].key, "\r\n:") || strpbrk(h->items[i].str, "\r\n")) {
                arena_free(&a);
                return err_set(err, ERR_USAGE, "HttpParameters.HeaderParameters: bad header %s",
                               h->items[i].key);
            }
            struct buf line;
            buf_init(&line, 0);
            buf_printf(&line, "%s: %s", h->items[i].key, h->items[i].str);
            t->headers = xrealloc(t->headers, (t->n_headers + 1) * sizeof(*t->headers));
            t->headers[t->n_headers++] = buf_steal(&line);
        }
        const struct json_value *q = json_get(hp, "QueryStringParameters");
        if (q && q->type == JSON_OBJECT && q->n > 0) {
            struct buf qs;
            buf_init(&qs, 0);
            for (size_t i = 0; i < q->n; i++) {
                if (q->items[i].type != JSON_STRING)
                    continue;
                buf_putc(&qs, qs.len ? '&' : (strchr(t->arn, '?') ? '&' : '?'));
                for (int pass = 0; pass < 2; pass++) {
                    const char *s = pass ? q->items[i].str : q->items[i].key;
                    for (; *s; s++) {
                        unsigned char c = (unsigned char)*s;
                        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~')
                            buf_putc(&qs, (char)c);
                        else
                            buf_printf(&qs, "%%%02X", c);
                    }
                    if (!pass)
                        buf_putc(&qs, '=');
                }
            }
            if (qs.len)
                t->query = buf_steal(&qs);
            buf_free(&qs);
        }
        arena_free(&a);
    }
    /* VigilParameters: the local extensions (timeout, signature). */
    if (t->vigil_params) {
        struct arena a;
        arena_init(&a, 0);
        struct json_value *vp;
        json_parse(t->vigil_params, strlen(t->vigil_params), &a, &vp, NULL);
        int rc = 0;
        if (vp->type != JSON_OBJECT)
            rc = err_set(err, ERR_USAGE, "VigilParameters must be an object");
        for (size_t i = 0; rc == 0 && i < vp->n; i++) {
            const char *k = vp->items[i].key;
            if (strcmp(k, "TimeoutSeconds") && strcmp(k, "HmacSecret") &&
                strcmp(k, "HmacSecretEnv") && strcmp(k, "SignatureHeader"))
                rc = err_set(err, ERR_USAGE,
                             "VigilParameters: unknown field %s (TimeoutSeconds, HmacSecret, "
                             "HmacSecretEnv, SignatureHeader)",
                             k);
        }
        const struct json_value *to = rc == 0 ? json_get(vp, "TimeoutSeconds") : NULL;
        if (to && (to->type != JSON_NUMBER || to->num <= 0 || to->num > 3600))
            rc = err_set(err, ERR_USAGE, "VigilParameters.TimeoutSeconds must be in (0, 3600]");
        else if (to)
            t->timeout_s = to->num;
        const char *sec = str_member(vp, "HmacSecret");
        const char *env = str_member(vp, "HmacSecretEnv");
        if (rc == 0 && env) {
            const char *v = getenv(env);
            if (!v || !*v)
                rc = err_set(err, ERR_USAGE, "VigilParameters.HmacSecretEnv: $%s is not set", env);
            else
                t->hmac_secret = xstrdup(v);
        } else if (rc == 0 && sec) {
            t->hmac_secret = xstrdup(sec);
        }
        const char *hdr = str_member(vp, "SignatureHeader");
        if (rc == 0 && hdr && strpbrk(hdr, "\r\n: "))
            rc = err_set(err, ERR_USAGE, "VigilParameters.SignatureHeader: bad header name");
        t->sig_header = xstrdup(hdr ? hdr : "X-Vigil-Signature");
        arena_free(&a);
        if (rc != 0)
            return rc;
    }
    if (!t->sig_header)
        t->sig_header = xstrdup("X-Vigil-Signature");
    return 0;
}

static const char *const target_known[] = { "Id", "Arn", "Input", "InputPath", "InputTransformer",
                                            "RetryPolicy", "DeadLetterConfig", "HttpParameters",
                                            "VigilParameters", NULL };
static const char *const target_kept[] = { "RoleArn", "KinesisParameters", "RunCommandParameters",
                                           "EcsParameters", "BatchParameters", "SqsParameters",
                                           "RedshiftDataParameters", "SageMakerPipelineParameters",
                                           "AppSyncParameters", NULL };

static bool in_list(const char *k, const char *const *l)
{
    for (; *l; l++)
        if (strcmp(k, *l) == 0)
            return true;
    return false;
}

static int parse_target(struct bus_config *cfg, const struct json_value *o, struct bus_target *t,
                        struct err *err)
{
    memset(t, 0, sizeof(*t));
    t->max_retries = -1;
    t->max_age_s = -1;
    if (o->type != JSON_OBJECT)
        return err_set(err, ERR_USAGE, "a target must be an object");
    for (size_t i = 0; i < o->n; i++) {
        const struct json_value *m = &o->items[i];
        if (in_list(m->key, target_known))
            continue;
        if (!in_list(m->key, target_kept))
            return err_set(err, ERR_USAGE, "unknown target field %s", m->key);
        t->extra = xrealloc(t->extra, (t->n_extra + 1) * sizeof(*t->extra));
        t->extra[t->n_extra].key = xstrdup(m->key);
        t->extra[t->n_extra++].json = to_json_text(m);
    }
    const char *id = str_member(o, "Id"), *arn = str_member(o, "Arn");
    if (!id || !name_ok(id, 64))
        return err_set(err, ERR_USAGE, "target Id must be 1-64 characters of [.-_A-Za-z0-9]");
    t->id = xstrdup(id);
    if (!arn || !*arn || strlen(arn) > 1600)
        return err_set(err, ERR_USAGE, "target %s: Arn is required (1-1600 characters)", id);
    t->arn = xstrdup(arn);
    const struct json_value *v = json_get(o, "Input");
    if (v && v->type != JSON_NULL) {
        if (v->type != JSON_STRING)
            return err_set(err, ERR_USAGE, "target %s: Input must be a string of JSON text", id);
        t->input = xstrdup(v->str);
    }
    v = json_get(o, "InputPath");
    if (v && v->type != JSON_NULL) {
        if (v->type != JSON_STRING)
            return err_set(err, ERR_USAGE, "target %s: InputPath must be a string", id);
        t->input_path = xstrdup(v->str);
    }
    v = json_get(o, "InputTransformer");
    if (v && v->type != JSON_NULL) {
        const char *tmpl = v->type == JSON_OBJECT ? str_member(v, "InputTemplate") : NULL;
        if (!tmpl)
            return err_set(err, ERR_USAGE, "target %s: InputTransformer needs an InputTemplate",
                           id);
        t->input_template = xstrdup(tmpl);
        const struct json_value *pm = json_get(v, "InputPathsMap");
        if (pm && pm->type != JSON_NULL)
            t->paths_map = to_json_text(pm);
        for (size_t i = 0; i < v->n; i++)
            if (strcmp(v->items[i].key, "InputTemplate") && strcmp(v->items[i].key, "InputPathsMap"))
                return err_set(err, ERR_USAGE, "target %s: unknown InputTransformer field %s", id,
                               v->items[i].key);
    }
    v = json_get(o, "RetryPolicy");
    if (v && v->type != JSON_NULL) {
        if (v->type != JSON_OBJECT)
            return err_set(err, ERR_USAGE, "target %s: RetryPolicy must be an object", id);
        char what[100];
        snprintf(what, sizeof(what), "target %s: RetryPolicy", id);
        if (get_int_member(v, "MaximumRetryAttempts", 0, 185, what, &t->max_retries, err) ||
            get_int_member(v, "MaximumEventAgeInSeconds", 60, 86400, what, &t->max_age_s, err))
            return ERR_USAGE;
    }
    v = json_get(o, "DeadLetterConfig");
    if (v && v->type == JSON_OBJECT && str_member(v, "Arn"))
        t->dlq_arn = xstrdup(str_member(v, "Arn"));
    v = json_get(o, "HttpParameters");
    if (v && v->type == JSON_OBJECT)
        t->http_params = to_json_text(v);
    v = json_get(o, "VigilParameters");
    if (v && v->type != JSON_NULL)
        t->vigil_params = to_json_text(v);
    int rc = finish_target(cfg, t, err);
    if (rc != 0 && err) {
        char inner[ERR_MSG_MAX];
        memcpy(inner, err->msg, sizeof(inner));
        if (strncmp(inner, "target ", 7) != 0)
            err_set(err, rc, "target %s: %s", id, inner);
    }
    return rc;
}

/* ---- rules --------------------------------------------------------------------------- */

static void make_arn(const struct bus_config *cfg, struct bus_rule *r)
{
    struct buf b;
    buf_init(&b, 0);
    if (r->bus_name && strcmp(r->bus_name, "default") != 0)
        buf_printf(&b, "arn:aws:events:%s:%s:rule/%s/%s", cfg->region, cfg->account, r->bus_name,
                   r->name);
    else
        buf_printf(&b, "arn:aws:events:%s:%s:rule/%s", cfg->region, cfg->account, r->name);
    free(r->arn);
    r->arn = buf_steal(&b);
}

static bool valid_state(const char *s)
{
    return strcmp(s, "ENABLED") == 0 || strcmp(s, "DISABLED") == 0 ||
           strcmp(s, "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS") == 0;
}

static int check_pattern(const char *what, const char *p, struct err *err)
{
    if (strlen(p) > CFG_MAX_PATTERN)
        return err_set(err, ERR_LIMIT, "%s: EventPattern longer than %d characters", what,
                       CFG_MAX_PATTERN);
    bool r;
    struct err e2;
    err_clear(&e2);
    /* An empty object as the event checks the pattern's syntax only. */
    int rc = match_test(p, strlen(p), "{}", 2, &r, &e2);
    if (rc == ERR_USAGE || rc == ERR_LIMIT)
        return err_set(err, ERR_USAGE, "%s: Event pattern is not valid. Reason: %s", what, e2.msg);
    return 0;
}

static int pattern_text(const struct json_value *v, char **out)
{
    *out = NULL;
    if (!v || v->type == JSON_NULL)
        return 0;
    if (v->type == JSON_STRING) {
        /* As the API takes it: JSON text in a string; stored compact. */
        struct arena a;
        arena_init(&a, 0);
        struct json_value *pv;
        int rc = json_parse(v->str, v->len, &a, &pv, NULL);
        if (rc == 0)
            *out = to_json_text(pv);
        arena_free(&a);
        return rc == 0 ? 0 : ERR_USAGE;
    }
    if (v->type == JSON_OBJECT) {
        *out = to_json_text(v);
        return 0;
    }
    return ERR_USAGE;
}

static const char *const rule_known[] = { "Name", "EventPattern", "ScheduleExpression", "State",
                                          "Description", "EventBusName", "RoleArn", "Targets",
                                          NULL };

static int validate_rule(struct bus_config *cfg, struct bus_rule *r, struct err *err)
{
    char what[100];
    snprintf(what, sizeof(what), "rule %s", r->name);
    if (!r->pattern && !r->schedule)
        return err_set(err, ERR_USAGE, "%s: needs an EventPattern or a ScheduleExpression", what);
    if (r->pattern && check_pattern(what, r->pattern, err) != 0)
        return ERR_USAGE;
    if (r->schedule) {
        struct err e2;
        err_clear(&e2);
        if (bus_schedule_check(r->schedule, &e2) != 0)
            return err_set(err, ERR_USAGE, "%s: ScheduleExpression: %s", what, e2.msg);
    }
    if (!valid_state(r->state))
        return err_set(err, ERR_USAGE,
                       "%s: State must be ENABLED, DISABLED or "
                       "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
                       what);
    if (r->description && strlen(r->description) > CFG_MAX_DESCRIPTION)
        return err_set(err, ERR_LIMIT, "%s: Description longer than %d characters", what,
                       CFG_MAX_DESCRIPTION);
    make_arn(cfg, r);
    return 0;
}

static int parse_rule(struct bus_config *cfg, const struct json_value *o, struct bus_rule *r,
                      size_t idx, struct err *err)
{
    memset(r, 0, sizeof(*r));
    if (o->type != JSON_OBJECT)
        return err_set(err, ERR_USAGE, "rule %zu: must be an object", idx + 1);
    const char *name = str_member(o, "Name");
    if (!name || !name_ok(name, 64))
        return err_set(err, ERR_USAGE, "rule %zu: Name must be 1-64 characters of [.-_A-Za-z0-9]",
                       idx + 1);
    r->name = xstrdup(name);
    for (size_t i = 0; i < o->n; i++) {
        const struct json_value *m = &o->items[i];
        if (in_list(m->key, rule_known))
            continue;
        if (strcmp(m->key, "Tags") != 0)
            return err_set(err, ERR_USAGE, "rule %s: unknown field %s", name, m->key);
        r->extra = xrealloc(r->extra, (r->n_extra + 1) * sizeof(*r->extra));
        r->extra[r->n_extra].key = xstrdup(m->key);
        r->extra[r->n_extra++].json = to_json_text(m);
    }
    if (pattern_text(json_get(o, "EventPattern"), &r->pattern) != 0)
        return err_set(err, ERR_USAGE,
                       "rule %s: EventPattern must be a JSON object or a string of JSON text",
                       name);
    r->schedule = dup_or_null(str_member(o, "ScheduleExpression"));
    r->state = xstrdup(str_member(o, "State") ? str_member(o, "State") : "ENABLED");
    r->description = dup_or_null(str_member(o, "Description"));
    r->bus_name = xstrdup(str_member(o, "EventBusName") ? str_member(o, "EventBusName") : "default");
    r->role_arn = dup_or_null(str_member(o, "RoleArn"));
    int rc = validate_rule(cfg, r, err);
    if (rc != 0)
        return rc;
    const struct json_value *ts = json_get(o, "Targets");
    if (ts && ts->type != JSON_NULL) {
        if (ts->type != JSON_ARRAY)
            return err_set(err, ERR_USAGE, "rule %s: Targets must be a list", name);
        if (ts->n > BUS_MAX_TARGETS_PER_RULE)
            return err_set(err, ERR_LIMIT, "rule %s: %zu targets; a rule can have at most %d",
                           name, ts->n, BUS_MAX_TARGETS_PER_RULE);
        r->targets = xcalloc(ts->n ? ts->n : 1, sizeof(*r->targets));
        for (size_t i = 0; i < ts->n; i++) {
            rc = parse_target(cfg, &ts->items[i], &r->targets[i], err);
            r->n_targets = i + 1;
            if (rc == 0)
                for (size_t k = 0; k < i; k++)
                    if (strcmp(r->targets[k].id, r->targets[i].id) == 0)
                        rc = err_set(err, ERR_USAGE, "target Id %s appears twice",
                                     r->targets[i].id);
            if (rc != 0) {
                char inner[ERR_MSG_MAX];
                memcpy(inner, err ? err->msg : "", err ? sizeof(inner) : 1);
                if (err)
                    err_set(err, rc, "rule %s: %s", name, inner);
                return rc;
            }
        }
    }
    return 0;
}

/* ---- queues and archives ----------------------------------------------------------------- */

static int attr_int(const struct json_value *attrs, const char *key, long lo, long hi, int *out,
                    const char *q, struct err *err)
{
    const struct json_value *v = json_get(attrs, key);
    if (!v)
        return 0;
    int64_t n;
    bool ok = v->type == JSON_STRING ? sv_to_i64(sv_make(v->str, v->len), &n)
                                     : (v->type == JSON_NUMBER && (n = (int64_t)v->num) == v->num);
    if (!ok || n < lo || n > hi)
        return err_set(err, ERR_USAGE, "queue %s: %s must be an integer from %ld to %ld", q, key,
                       lo, hi);
    *out = (int)n;
    return 0;
}

static int parse_queue(const struct json_value *o, struct bus_queue_cfg *q, struct err *err)
{
    memset(q, 0, sizeof(*q));
    q->visibility_s = BUS_DEFAULT_VISIBILITY;
    q->retention_s = BUS_DEFAULT_RETENTION;
    const char *name = o->type == JSON_OBJECT ? str_member(o, "QueueName") : NULL;
    if (!name || !bus__valid_queue_name(name))
        return err_set(err, ERR_USAGE, "a queue needs a QueueName of [A-Za-z0-9_-]{1,80}");
    q->name = xstrdup(name);
    const struct json_value *attrs = json_get(o, "Attributes");
    if (!attrs || attrs->type == JSON_NULL)
        return 0;
    if (attrs->type != JSON_OBJECT)
        return err_set(err, ERR_USAGE, "queue %s: Attributes must be an object", name);
    q->attrs_json = to_json_text(attrs);
    if (attr_int(attrs, "VisibilityTimeout", 0, 43200, &q->visibility_s, name, err) ||
        attr_int(attrs, "MessageRetentionPeriod", 60, 1209600, &q->retention_s, name, err))
        return ERR_USAGE;
    const struct json_value *rp = json_get(attrs, "RedrivePolicy");
    if (!rp)
        return 0;
    /* RedrivePolicy is a JSON string in the API; an object is accepted too. */
    struct arena a;
    arena_init(&a, 0);
    const struct json_value *pol = rp;
    struct json_value *parsed = NULL;
    int rc = 0;
    if (rp->type == JSON_STRING) {
        if (json_parse(rp->str, rp->len, &a, &parsed, NULL) != 0)
            rc = err_set(err, ERR_USAGE, "queue %s: RedrivePolicy is not JSON", name);
        pol = parsed;
    }
    if (rc == 0 && (!pol || pol->type != JSON_OBJECT))
        rc = err_set(err, ERR_USAGE, "queue %s: RedrivePolicy must be an object", name);
    const char *dlq = rc == 0 ? str_member(pol, "deadLetterTargetArn") : NULL;
    if (rc == 0 && (!dlq || !(q->dlq = bus__queue_name(dlq))))
        rc = err_set(err, ERR_USAGE, "queue %s: RedrivePolicy.deadLetterTargetArn must name a "
                                     "local queue", name);
    if (rc == 0)
        rc = attr_int(pol, "maxReceiveCount", 1, 1000, &q->max_receive, name, err);
    if (rc == 0 && q->max_receive == 0)
        rc = err_set(err, ERR_USAGE, "queue %s: RedrivePolicy needs maxReceiveCount", name);
    arena_free(&a);
    return rc;
}

static int parse_archive(const struct json_value *o, struct bus_archive_cfg *ar, struct err *err)
{
    memset(ar, 0, sizeof(*ar));
    const char *name = o->type == JSON_OBJECT ? str_member(o, "ArchiveName") : NULL;
    if (!name || !name_ok(name, 48))
        return err_set(err, ERR_USAGE, "an archive needs an ArchiveName of [.-_A-Za-z0-9]{1,48}");
    ar->name = xstrdup(name);
    ar->description = dup_or_null(str_member(o, "Description"));
    if (pattern_text(json_get(o, "EventPattern"), &ar->pattern) != 0)
        return err_set(err, ERR_USAGE, "archive %s: EventPattern must be a JSON object", name);
    char what[80];
    snprintf(what, sizeof(what), "archive %s", name);
    if (ar->pattern && check_pattern(what, ar->pattern, err) != 0)
        return ERR_USAGE;
    const struct json_value *rd = json_get(o, "RetentionDays");
    if (rd && (rd->type != JSON_NUMBER || rd->num < 0 || rd->num > 1e6 ||
               rd->num != (double)(int)rd->num))
        return err_set(err, ERR_USAGE, "archive %s: RetentionDays must be a whole number >= 0",
                       name);
    ar->retention_days = rd ? (int)rd->num : 0;
    return 0;
}

static int parse_vigil(struct bus_config *cfg, const struct json_value *v, const char *cfg_path,
                       struct err *err)
{
    cfg->region = xstrdup("us-east-1");
    cfg->account = xstrdup("000000000000");
    cfg->retry_base_ms = 1000;
    cfg->retry_max_ms = 300000;
    cfg->delivery_threads = 4;
    if (v && v->type != JSON_NULL) {
        if (v->type != JSON_OBJECT)
            return err_set(err, ERR_USAGE, "Vigil must be an object");
        cfg->vigil_json = to_json_text(v);
        static const char *const known[] = { "Region", "Account", "StateFile", "DeliveryThreads",
                                             "RetryBaseMilliseconds", "RetryMaxDelayMilliseconds",
                                             NULL };
        for (size_t i = 0; i < v->n; i++)
            if (!in_list(v->items[i].key, known))
                return err_set(err, ERR_USAGE, "Vigil: unknown field %s", v->items[i].key);
        if (str_member(v, "Region")) {
            free(cfg->region);
            cfg->region = xstrdup(str_member(v, "Region"));
        }
        if (str_member(v, "Account")) {
            free(cfg->account);
            cfg->account = xstrdup(str_member(v, "Account"));
        }
        if (str_member(v, "StateFile"))
            cfg->state_path = resolve_path(cfg->base_dir, str_member(v, "StateFile"));
        int n = cfg->delivery_threads, base = 1000, mx = 300000;
        if (get_int_member(v, "DeliveryThreads", 1, 64, "Vigil", &n, err) ||
            get_int_member(v, "RetryBaseMilliseconds", 1, 3600000, "Vigil", &base, err) ||
            get_int_member(v, "RetryMaxDelayMilliseconds", 1, 86400000, "Vigil", &mx, err))
            return ERR_USAGE;
        cfg->delivery_threads = n;
        cfg->retry_base_ms = base;
        cfg->retry_max_ms = mx;
    }
    if (!cfg->state_path) {
        struct buf b;
        buf_init(&b, 0);
        buf_printf(&b, "%s.state.db", cfg_path ? cfg_path : "vigil-bus");
        cfg->state_path = buf_steal(&b);
    }
    return 0;
}

int bus_config_parse(const char *text, size_t len, const char *name, const char *base_dir,
                     struct bus_config **out, struct err *err)
{
    *out = NULL;
    struct bus_config *cfg = xcalloc(1, sizeof(*cfg));
    cfg->name = xstrdup(name ? name : "<config>");
    cfg->base_dir = base_dir ? xstrdup(base_dir) : NULL;
    struct buf js;
    struct arena a;
    buf_init(&js, CFG_MAX_FILE);
    arena_init(&a, 0);
    int rc = 0;
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
        i++;
    const char *jt = text;
    size_t jl = len;
    if (i == len || text[i] != '{') {
        if ((rc = yaml_to_json(text, len, cfg->name, &js, err)) != 0)
            goto fail;
        jt = js.p;
        jl = js.len;
    }
    struct json_value *root;
    if (json_parse(jt, jl, &a, &root, err) != 0) {
        char inner[ERR_MSG_MAX];
        memcpy(inner, err ? err->msg : "", err ? sizeof(inner) : 1);
        rc = err_set(err, ERR_FORMAT, "%s: %s", cfg->name, inner);
        goto fail;
    }
    if (root->type != JSON_OBJECT) {
        rc = err_set(err, ERR_FORMAT, "%s: the document must be an object with \"Rules\"",
                     cfg->name);
        goto fail;
    }
    static const char *const top[] = { "Rules", "Queues", "Archives", "Vigil", NULL };
    for (size_t k = 0; k < root->n; k++)
        if (!in_list(root->items[k].key, top)) {
            rc = err_set(err, ERR_USAGE, "%s: unknown top-level field %s (Rules, Queues, "
                                         "Archives, Vigil)", cfg->name, root->items[k].key);
            goto fail;
        }
    if ((rc = parse_vigil(cfg, json_get(root, "Vigil"), name, err)) != 0)
        goto fail;
    const struct json_value *rules = json_get(root, "Rules");
    if (rules && rules->type != JSON_ARRAY && rules->type != JSON_NULL) {
        rc = err_set(err, ERR_USAGE, "%s: Rules must be a list", cfg->name);
        goto fail;
    }
    if (rules && rules->type == JSON_ARRAY) {
        if (rules->n > CFG_MAX_RULES) {
            rc = err_set(err, ERR_LIMIT, "%s: more than %d rules", cfg->name, CFG_MAX_RULES);
            goto fail;
        }
        cfg->rules = xcalloc(rules->n ? rules->n : 1, sizeof(*cfg->rules));
        for (size_t k = 0; k < rules->n; k++) {
            rc = parse_rule(cfg, &rules->items[k], &cfg->rules[k], k, err);
            cfg->n_rules = k + 1;
            for (size_t j = 0; rc == 0 && j < k; j++)
                if (strcmp(cfg->rules[j].name, cfg->rules[k].name) == 0)
                    rc = err_set(err, ERR_USAGE, "rule %s appears twice", cfg->rules[k].name);
            if (rc != 0)
                goto fail;
        }
    }
    const struct json_value *qs = json_get(root, "Queues");
    if (qs && qs->type == JSON_ARRAY) {
        cfg->queues = xcalloc(qs->n ? qs->n : 1, sizeof(*cfg->queues));
        for (size_t k = 0; k < qs->n; k++) {
            rc = parse_queue(&qs->items[k], &cfg->queues[k], err);
            cfg->n_queues = k + 1;
            if (rc != 0)
                goto fail;
        }
    }
    const struct json_value *as = json_get(root, "Archives");
    if (as && as->type == JSON_ARRAY) {
        cfg->archives = xcalloc(as->n ? as->n : 1, sizeof(*cfg->archives));
        for (size_t k = 0; k < as->n; k++) {
            rc = parse_archive(&as->items[k], &cfg->archives[k], err);
            cfg->n_archives = k + 1;
            if (rc != 0)
                goto fail;
        }
    }
    buf_free(&js);
    arena_free(&a);
    *out = cfg;
    return 0;
fail:
    if (err && err->msg[0] && strncmp(err->msg, cfg->name, strlen(cfg->name)) != 0) {
        char inner[ERR_MSG_MAX];
        memcpy(inner, err->msg, sizeof(inner));
        err_set(err, rc, "%s: %s", cfg->name, inner);
    }
    buf_free(&js);
    arena_free(&a);
    bus_config_free(cfg);
    return rc;
}

int bus_config_load(const char *path, struct bus_config **out, struct err *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(err, ERR_IO, "%s: %s", path, strerror(errno));
    struct buf b;
    buf_init(&b, CFG_MAX_FILE);
    char chunk[65536];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        rc = buf_append(&b, chunk, n);
    bool bad = ferror(f);
    fclose(f);
    if (rc != 0 || bad) {
        buf_free(&b);
        return rc ? err_set(err, ERR_LIMIT, "%s: larger than 16 MiB", path)
                  : err_set(err, ERR_IO, "%s: read error", path);
    }
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else {
        free(dir);
        dir = NULL;
    }
    rc = bus_config_parse(b.p ? b.p : "", b.len, path, dir, out, err);
    free(dir);
    buf_free(&b);
    return rc;
}

/* ---- views ------------------------------------------------------------------------------- */

size_t bus_config_rule_count(const struct bus_config *cfg) { return cfg->n_rules; }

void bus_config_rule(const struct bus_config *cfg, size_t i, struct bus_rule_info *out)
{
    const struct bus_rule *r = &cfg->rules[i];
    out->name = r->name;
    out->arn = r->arn;
    out->event_pattern = r->pattern;
    out->schedule_expression = r->schedule;
    out->state = r->state;
    out->description = r->description;
    out->event_bus_name = r->bus_name;
    out->role_arn = r->role_arn;
    out->n_targets = r->n_targets;
}

long bus_config_find_rule(const struct bus_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_rules; i++)
        if (strcmp(cfg->rules[i].name, name) == 0)
            return (long)i;
    return -1;
}

const char *bus_config_state_path(const struct bus_config *cfg) { return cfg->state_path; }
const char *bus_config_account(const struct bus_config *cfg) { return cfg->account; }
const char *bus_config_region(const struct bus_config *cfg) { return cfg->region; }

void bus__queue_settings(const struct bus_config *cfg, const char *name, struct bus_queue_cfg *out)
{
    memset(out, 0, sizeof(*out));
    out->visibility_s = BUS_DEFAULT_VISIBILITY;
    out->retention_s = BUS_DEFAULT_RETENTION;
    for (size_t i = 0; cfg && i < cfg->n_queues; i++)
        if (strcmp(cfg->queues[i].name, name) == 0) {
            *out = cfg->queues[i];
            return;
        }
}

/* ---- writing ------------------------------------------------------------------------------ */

void bus__write_json_text(struct json_writer *w, const char *json)
{
    struct arena a;
    struct json_value *v;
    arena_init(&a, 0);
    if (json_parse(json, strlen(json), &a, &v, NULL) == 0)
        bus__write_tree(w, v);
    else
        jw_raw(w, sv_cstr(json));
    arena_free(&a);
}

static void raw_member(struct json_writer *w, const char *key, const char *json)
{
    jw_key(w, key);
    bus__write_json_text(w, json);
}

void bus_config_target_json(const struct bus_config *cfg, size_t r, size_t ti,
                            struct json_writer *w)
{
    const struct bus_target *t = &cfg->rules[r].targets[ti];
    jw_object_begin(w);
    jw_key(w, "Id");
    jw_str(w, t->id);
    jw_key(w, "Arn");
    jw_str(w, t->arn);
    if (t->input) {
        jw_key(w, "Input");
        jw_str(w, t->input);
    }
    if (t->input_path) {
        jw_key(w, "InputPath");
        jw_str(w, t->input_path);
    }
    if (t->input_template) {
        jw_key(w, "InputTransformer");
        jw_object_begin(w);
        if (t->paths_map)
            raw_member(w, "InputPathsMap", t->paths_map);
        jw_key(w, "InputTemplate");
        jw_str(w, t->input_template);
        jw_object_end(w);
    }
    if (t->max_retries >= 0 || t->max_age_s >= 0) {
        jw_key(w, "RetryPolicy");
        jw_object_begin(w);
        if (t->max_retries >= 0) {
            jw_key(w, "MaximumRetryAttempts");
            jw_int(w, t->max_retries);
        }
        if (t->max_age_s >= 0) {
            jw_key(w, "MaximumEventAgeInSeconds");
            jw_int(w, t->max_age_s);
        }
        jw_object_end(w);
    }
    if (t->dlq_arn) {
        jw_key(w, "DeadLetterConfig");
        jw_object_begin(w);
        jw_key(w, "Arn");
        jw_str(w, t->dlq_arn);
        jw_object_end(w);
    }
    if (t->http_params)
        raw_member(w, "HttpParameters", t->http_params);
    if (t->vigil_params)
        raw_member(w, "VigilParameters", t->vigil_params);
    for (size_t i = 0; i < t->n_extra; i++)
        raw_member(w, t->extra[i].key, t->extra[i].json);
    jw_object_end(w);
}

void bus_config_write(const struct bus_config *cfg, struct buf *out, int indent)
{
    struct json_writer w;
    jw_init(&w, out, indent);
    jw_object_begin(&w);
    jw_key(&w, "Rules");
    jw_array_begin(&w);
    for (size_t i = 0; i < cfg->n_rules; i++) {
        const struct bus_rule *r = &cfg->rules[i];
        jw_object_begin(&w);
        jw_key(&w, "Name");
        jw_str(&w, r->name);
        if (r->pattern) {
            /* Written as an object: easier to read and edit than a string. */
            raw_member(&w, "EventPattern", r->pattern);
        }
        if (r->schedule) {
            jw_key(&w, "ScheduleExpression");
            jw_str(&w, r->schedule);
        }
        jw_key(&w, "State");
        jw_str(&w, r->state);
        if (r->description) {
            jw_key(&w, "Description");
            jw_str(&w, r->description);
        }
        if (r->bus_name && strcmp(r->bus_name, "default") != 0) {
            jw_key(&w, "EventBusName");
            jw_str(&w, r->bus_name);
        }
        if (r->role_arn) {
            jw_key(&w, "RoleArn");
            jw_str(&w, r->role_arn);
        }
        for (size_t k = 0; k < r->n_extra; k++)
            raw_member(&w, r->extra[k].key, r->extra[k].json);
        jw_key(&w, "Targets");
        jw_array_begin(&w);
        for (size_t k = 0; k < r->n_targets; k++)
            bus_config_target_json(cfg, i, k, &w);
        jw_array_end(&w);
        jw_object_end(&w);
    }
    jw_array_end(&w);
    if (cfg->n_queues) {
        jw_key(&w, "Queues");
        jw_array_begin(&w);
        for (size_t i = 0; i < cfg->n_queues; i++) {
            jw_object_begin(&w);
            jw_key(&w, "QueueName");
            jw_str(&w, cfg->queues[i].name);
            if (cfg->queues[i].attrs_json)
                raw_member(&w, "Attributes", cfg->queues[i].attrs_json);
            jw_object_end(&w);
        }
        jw_array_end(&w);
    }
    if (cfg->n_archives) {
        jw_key(&w, "Archives");
        jw_array_begin(&w);
        for (size_t i = 0; i < cfg->n_archives; i++) {
            const struct bus_archive_cfg *ar = &cfg->archives[i];
            jw_object_begin(&w);
            jw_key(&w, "ArchiveName");
            jw_str(&w, ar->name);
            if (ar->description) {
                jw_key(&w, "Description");
                jw_str(&w, ar->description);
            }
            if (ar->pattern)
                raw_member(&w, "EventPattern", ar->pattern);
            jw_key(&w, "RetentionDays");
            jw_int(&w, ar->retention_days);
            jw_object_end(&w);
        }
        jw_array_end(&w);
    }
    if (cfg->vigil_json)
        raw_member(&w, "Vigil", cfg->vigil_json);
    jw_object_end(&w);
    buf_putc(out, '\n');
}

int bus_config_save(const struct bus_config *cfg, const char *path, struct err *err)
{
    struct buf b, tmp;
    buf_init(&b, 0);
    buf_init(&tmp, 0);
    bus_config_write(cfg, &b, 2);
    buf_printf(&tmp, "%s.tmp.%ld", path, (long)getpid());
    int rc = 0;
    FILE *f = fopen(tmp.p, "wb");
    if (!f) {
        rc = err_set(err, ERR_IO, "%s: %s", tmp.p, strerror(errno));
    } else {
        bool ok = fwrite(b.p, 1, b.len, f) == b.len;
        ok &= fflush(f) == 0 && fsync(fileno(f)) == 0;
        ok &= fclose(f) == 0;
        if (!ok || rename(tmp.p, path) != 0) {
            rc = err_set(err, ERR_IO, "%s: %s", path, strerror(errno));
            unlink(tmp.p);
        }
    }
    buf_free(&b);
    buf_free(&tmp);
    return rc;
}

/* ---- editing -------------------------------------------------------------------------------- */

int bus_config_put_rule(struct bus_config *cfg, const char *name, const char *event_pattern,
                        const char *schedule, const char *state, const char *description,
                        struct err *err)
{
    if (!name || !name_ok(name, 64))
        return err_set(err, ERR_USAGE, "Name must be 1-64 characters of [.-_A-Za-z0-9]");
    long idx = bus_config_find_rule(cfg, name);
    struct bus_rule nr;
    memset(&nr, 0, sizeof(nr));
    if (idx >= 0) {
        const struct bus_rule *old = &cfg->rules[idx];
        nr.pattern = dup_or_null(old->pattern);
        nr.schedule = dup_or_null(old->schedule);
        nr.state = xstrdup(old->state);
        nr.description = dup_or_null(old->description);
    } else {
        nr.state = xstrdup("ENABLED");
    }
    nr.name = xstrdup(name);
    nr.bus_name = xstrdup(idx >= 0 && cfg->rules[idx].bus_name ? cfg->rules[idx].bus_name : "default");
    if (event_pattern) {
        free(nr.pattern);
        struct json_value sv = { .type = JSON_STRING, .str = event_pattern,
                                 .len = strlen(event_pattern) };
        if (pattern_text(&sv, &nr.pattern) != 0) {
            rule_free(&nr);
            return err_set(err, ERR_USAGE, "Event pattern is not valid. Reason: not JSON");
        }
    }
    if (schedule) {
        free(nr.schedule);
        nr.schedule = *schedule ? xstrdup(schedule) : NULL;
    }
    if (state) {
        free(nr.state);
        nr.state = xstrdup(state);
    }
    if (description) {
        free(nr.description);
        nr.description = xstrdup(description);
    }
    int rc = validate_rule(cfg, &nr, err);
    if (rc != 0) {
        rule_free(&nr);
        return rc;
    }
    if (idx >= 0) {
        struct bus_rule *old = &cfg->rules[idx];
        /* Targets, tags and the role stay with the rule. */
        nr.targets = old->targets;
        nr.n_targets = old->n_targets;
        nr.extra = old->extra;
        nr.n_extra = old->n_extra;
        nr.role_arn = old->role_arn;
        old->targets = NULL;
        old->n_targets = 0;
        old->extra = NULL;
        old->n_extra = 0;
        old->role_arn = NULL;
        rule_free(old);
        *old = nr;
    } else {
        cfg->rules = xrealloc(cfg->rules, (cfg->n_rules + 1) * sizeof(*cfg->rules));
        cfg->rules[cfg->n_rules++] = nr;
    }
    return 0;
}

int bus_config_put_targets(struct bus_config *cfg, const char *rule, const char *targets_json,
                           size_t len, struct err *err)
{
    long idx = bus_config_find_rule(cfg, rule);
    if (idx < 0)
        return err_set(err, ERR_NOTFOUND, "Rule %s does not exist on EventBus default.", rule);
    struct arena a;
    arena_init(&a, 0);
    struct json_value *root;
    int rc = json_parse(targets_json, len, &a, &root, err);
    if (rc != 0 || root->type != JSON_ARRAY) {
        arena_free(&a);
        return err_set(err, ERR_USAGE, "--targets must be a JSON list of targets");
    }
    struct bus_rule *r = &cfg->rules[idx];
    size_t n_new = root->n;
    struct bus_target *nt = xcalloc(n_new ? n_new : 1, sizeof(*nt));
    size_t done = 0;
    for (; done < n_new; done++) {
        rc = parse_target(cfg, &root->items[done], &nt[done], err);
        if (rc != 0) {
            done++;
            break;
        }
    }
    size_t total = r->n_targets;
    for (size_t i = 0; rc == 0 && i < n_new; i++) {
        bool replace = false;
        for (size_t k = 0; k < r->n_targets; k++)
            replace |= strcmp(r->targets[k].id, nt[i].id) == 0;
        for (size_t k = 0; k < i; k++)
            if (strcmp(nt[k].id, nt[i].id) == 0)
                rc = err_set(err, ERR_USAGE, "target Id %s appears twice", nt[i].id);
        total += !replace;
    }
    if (rc == 0 && total > BUS_MAX_TARGETS_PER_RULE)
        rc = err_set(err, ERR_LIMIT, "The requested quota of targets per rule (%zu) exceeds the "
                                     "limit of %d", total, BUS_MAX_TARGETS_PER_RULE);
    if (rc != 0) {
        for (size_t i = 0; i < done; i++)
            target_free(&nt[i]);
        free(nt);
        arena_free(&a);
        return rc;
    }
    r->targets = xrealloc(r->targets, (total ? total : 1) * sizeof(*r->targets));
    for (size_t i = 0; i < n_new; i++) {
        size_t k = 0;
        while (k < r->n_targets && strcmp(r->targets[k].id, nt[i].id) != 0)
            k++;
        if (k < r->n_targets)
            target_free(&r->targets[k]);
        else
            r->n_targets++;
        r->targets[k] = nt[i];
    }
    free(nt);
    arena_free(&a);
    return 0;
}

int bus_config_remove_targets(struct bus_config *cfg, const char *rule, const char *const *ids,
                              size_t n, struct err *err)
{
    long idx = bus_config_find_rule(cfg, rule);
    if (idx < 0)
        return err_set(err, ERR_NOTFOUND, "Rule %s does not exist on EventBus default.", rule);
    struct bus_rule *r = &cfg->rules[idx];
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < r->n_targets; k++)
            if (strcmp(r->targets[k].id, ids[i]) == 0) {
                target_free(&r->targets[k]);
                memmove(&r->targets[k], &r->targets[k + 1],
                        (r->n_targets - k - 1) * sizeof(*r->targets));
                r->n_targets--;
                break;
            }
    return 0;
}

int bus_config_delete_rule(struct bus_config *cfg, const char *name, struct err *err)
{
    long idx = bus_config_find_rule(cfg, name);
    if (idx < 0)
        return 0; /* DeleteRule of an absent rule succeeds */
    if (cfg->rules[idx].n_targets > 0)
        return err_set(err, ERR_USAGE, "Rule can't be deleted since it has targets.");
    rule_free(&cfg->rules[idx]);
    memmove(&cfg->rules[idx], &cfg->rules[idx + 1],
            (cfg->n_rules - (size_t)idx - 1) * sizeof(*cfg->rules));
    cfg->n_rules--;
    return 0;
}
