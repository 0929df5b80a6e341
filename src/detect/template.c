/*
 * Title and description templates: literal text with {{path}} placeholders
 * filled from the event's leaves ({{a|b}}: the first of a, b present;
 * {{a|'text'}}: text when a is absent), and
 * {{$detail}} filled by the rule's check.
 * Compiled once at load; rendering never fails (a missing leaf renders as
 * "unknown").
 */
#include "detect/detect_int.h"

#include <stdlib.h>
#include <string.h>

#define TMPL_SEGS_MAX 64

static void push(struct tmpl *t, size_t *cap, struct tmpl_seg seg)
{
    if (t->n == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        t->segs = xrealloc(t->segs, *cap * sizeof(*t->segs));
    }
    t->segs[t->n++] = seg;
}

int detect__tmpl_compile(const char *src, struct tmpl *t, struct err *err)
{
    size_t cap = 0;
    t->segs = NULL;
    t->n = 0;
    const char *p = src;
    while (*p) {
        const char *open = strstr(p, "{{");
        if (!open) {
            push(t, &cap, (struct tmpl_seg){ .kind = TMPL_TEXT, .text = p, .len = strlen(p) });
            break;
        }
        if (open > p)
            push(t, &cap, (struct tmpl_seg){ .kind = TMPL_TEXT, .text = p, .len = (size_t)(open - p) });
        const char *close = strstr(open + 2, "}}");
        if (!close) {
            detect__tmpl_free(t);
            return err_set(err, ERR_FORMAT, "\"{{\" without \"}}\"");
        }
        const char *a = open + 2, *b = close;
        while (a < b && *a == ' ')
            a++;
        while (b > a && b[-1] == ' ')
            b--;
        size_t len = (size_t)(b - a);
        if (len == 0) {
            detect__tmpl_free(t);
            return err_set(err, ERR_FORMAT, "empty placeholder \"{{}}\"");
        }
        if (a[0] == '$') {
            if (len == 7 && memcmp(a, "$detail", 7) == 0) {
                push(t, &cap, (struct tmpl_seg){ .kind = TMPL_DETAIL, .text = a, .len = len });
            } else if (detect__tmpl_var_find(a + 1, len - 1) >= 0 ||
                       detect__derived_find(EVENT_CLOUDTRAIL, a + 1, len - 1) >= 0 ||
                       detect__derived_find(EVENT_VPCFLOW, a + 1, len - 1) >= 0 ||
                       detect__derived_find(EVENT_DNS, a + 1, len - 1) >= 0) {
                /* Whether the rule's kind and source have it is checked with
                 * the rule (rules.c). */
                push(t, &cap, (struct tmpl_seg){ .kind = TMPL_VAR, .text = a + 1, .len = len - 1 });
            } else {
                detect__tmpl_free(t);
                return err_set(err, ERR_FORMAT,
                               "unknown placeholder \"{{%.*s}}\" ($detail, a stateful variable "
                               "or a derived field)", (int)(len > 40 ? 40 : len), a);
            }
        } else {
            struct tmpl_seg seg = { .kind = TMPL_PATH, .text = a, .len = len };
            const char *q = a;
            while (q <= b) {
                const char *bar = memchr(q, '|', (size_t)(b - q));
                const char *end = bar ? bar : b;
                const char *x = q, *y = end;
                while (x < y && *x == ' ')
                    x++;
                while (y > x && y[-1] == ' ')
                    y--;
                bool literal = y - x >= 2 && x[0] == '\'' && y[-1] == '\'' && !bar;
                if (seg.n_alt == TMPL_ALTS_MAX ||
                    (!literal && !detect__valid_path(x, (size_t)(y - x)))) {
                    detect__tmpl_free(t);
                    return err_set(err, ERR_FORMAT,
                                   seg.n_alt == TMPL_ALTS_MAX
                                       ? "placeholder \"{{%.*s}}\" has more than 4 alternatives"
                                       : "placeholder \"{{%.*s}}\" is not a field path",
                                   (int)(len > 40 ? 40 : len), a);
                }
                seg.alt[seg.n_alt].p = x;
                seg.alt[seg.n_alt].len = (size_t)(y - x);
                seg.alt[seg.n_alt].hash = literal ? 0 : json_path_hash(x, (size_t)(y - x));
                seg.alt[seg.n_alt].literal = literal;
                seg.n_alt++;
                if (!bar)
                    break;
                q = bar + 1;
            }
            push(t, &cap, seg);
        }
        if (t->n > TMPL_SEGS_MAX) {
            detect__tmpl_free(t);
            return err_set(err, ERR_LIMIT, "more than %d template pieces", TMPL_SEGS_MAX);
        }
        p = close + 2;
    }
    return 0;
}

void detect__tmpl_free(struct tmpl *t)
{
    free(t->segs);
    t->segs = NULL;
    t->n = 0;
}

static const char *const var_names[TV_N] = { "count", "sum", "value", "key", "window",
                                             "baseline", "first_seen", "last_seen" };

int detect__tmpl_var_find(const char *name, size_t len)
{
    for (int i = 0; i < TV_N; i++)
        if (strlen(var_names[i]) == len && memcmp(var_names[i], name, len) == 0)
            return i;
    return -1;
}
