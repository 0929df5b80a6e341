/*
 * vigil simulate: game days.
 *
 *   vigil simulate --list [--output table|json]
 *   vigil simulate SCENARIO --out DIR [--date YYYY-MM-DD] [--days N] [--seed N]
 *
 * Writes the scenario's logs (AWS formats and S3 layout, gzip), its lists and
 * GeoIP databases, and DIR/ground-truth.json, the findings the logs should
 * raise; then says how to run detection over them.
 */
#include "cli/cli.h"
#include "core/core.h"
#include "json/json.h"
#include "sim/sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fputs("usage: vigil simulate --list [--output table|json]\n"
          "       vigil simulate SCENARIO --out DIR [options]\n"
          "\n"
          "  --list            the scenarios, what each rehearses and what it waits for\n"
          "  --out DIR         where to write (a new or empty directory)\n"
          "  --date DAY        the attack's day, YYYY-MM-DD (default 2026-11-20)\n"
          "  --days N          benign days of history before it (default: the scenario's)\n"
          "  --seed N          another attack with the same shape (default: fixed)\n",
          out);
}

static int list(bool json)
{
    struct buf out;
    buf_init(&out, 0);
    size_t n = sim_scenario_count();
    if (json) {
        struct json_writer w;
        jw_init(&w, &out, 2);
        jw_object_begin(&w);
        jw_key(&w, "Scenarios");
        jw_array_begin(&w);
        for (size_t i = 0; i < n; i++) {
            const struct sim_scenario *s = sim_scenario_at(i);
            jw_object_begin(&w);
            jw_key(&w, "name");
            jw_str(&w, s->name);
            jw_key(&w, "title");
            jw_str(&w, s->title);
            jw_key(&w, "playbook");
            jw_str(&w, s->playbook);
            jw_key(&w, "pending");
            if (s->pending)
                jw_str(&w, s->pending);
            else
                jw_null(&w);
            jw_object_end(&w);
        }
        jw_array_end(&w);
        jw_object_end(&w);
        buf_putc(&out, '\n');
    } else {
        size_t wn = 8;
        for (size_t i = 0; i < n; i++)
            if (strlen(sim_scenario_at(i)->name) > wn)
                wn = strlen(sim_scenario_at(i)->name);
        buf_printf(&out, "%-*s  %s\n", (int)wn, "SCENARIO", "WHAT HAPPENS");
        for (size_t i = 0; i < n; i++) {
            const struct sim_scenario *s = sim_scenario_at(i);
            buf_printf(&out, "%-*s  %s\n", (int)wn, s->name, s->title);
            buf_printf(&out, "%-*s  playbook: %s\n", (int)wn, "", s->playbook);
            if (s->pending)
                buf_printf(&out, "%-*s  pending: %s\n", (int)wn, "", s->pending);
        }
        buf_printf(&out, "%zu scenarios\n", n);
    }
    int rc = fwrite(out.p, 1, out.len, stdout) == out.len && fflush(stdout) == 0 ? 0 : 2;
    buf_free(&out);
    return rc;
}

int cmd_simulate(int argc, char **argv)
{
    const char *name = NULL, *out = NULL, *date = NULL, *output = NULL;
    bool want_list = false;
    struct sim_options opt;
    memset(&opt, 0, sizeof(opt));
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(o, "--list") == 0) {
            want_list = true;
            continue;
        }
        if (o[0] != '-') {
            if (name != NULL) {
                fprintf(stderr, "vigil simulate: one scenario at a time ('%s' and '%s')\n", name, o);
                return 1;
            }
            name = o;
            continue;
        }
        if (val == NULL) {
            fprintf(stderr, "vigil simulate: %s needs a value\n", o);
            return 1;
        }
        i++;
        if (strcmp(o, "--out") == 0) {
            out = val;
        } else if (strcmp(o, "--date") == 0) {
            date = val;
        } else if (strcmp(o, "--output") == 0) {
            output = val;
        } else if (strcmp(o, "--days") == 0) {
            int64_t d;
            if (!sv_to_i64(sv_cstr(val), &d) || d < 0 || d > 90) {
                fprintf(stderr, "vigil simulate: --days wants 0..90\n");
                return 1;
            }
            opt.history_days = (int)d;
        } else if (strcmp(o, "--seed") == 0) {
            uint64_t s;
            if (!sv_to_u64(sv_cstr(val), &s)) {
                fprintf(stderr, "vigil simulate: --seed wants a number\n");
                return 1;
            }
            opt.seed = s;
        } else {
            fprintf(stderr, "vigil simulate: unknown option '%s'\n", o);
            usage(stderr);
            return 1;
        }
    }
    if (want_list) {
        if (output && strcmp(output, "json") != 0 && strcmp(output, "table") != 0) {
            fprintf(stderr, "vigil simulate: unknown --output '%s' (table, json)\n", output);
            return 1;
        }
        return list(output != NULL && strcmp(output, "json") == 0);
    }
    if (name == NULL || out == NULL) {
        usage(stderr);
        return 1;
    }
    const struct sim_scenario *s = sim_scenario_find(name);
    if (s == NULL) {
        fprintf(stderr, "vigil simulate: unknown scenario '%s' (vigil simulate --list shows them)\n", name);
        return 1;
    }
    if (date != NULL) {
        int64_t ms;
        if (strlen(date) != 10 || !time_parse_iso8601(sv_cstr(date), &ms)) {
            fprintf(stderr, "vigil simulate: --date wants YYYY-MM-DD, got '%s'\n", date);
            return 1;
        }
        opt.attack_day_ms = ms;
    }
    opt.out_dir = out;
    struct sim_result res;
    struct err e;
    err_clear(&e);
    if (sim_run(s, &opt, &res, &e) != 0) {
        char line[1200];
        err_format(&e, line, sizeof(line));
        fprintf(stderr, "vigil simulate: %s\n", line);
        return e.code == ERR_INTERNAL ? 2 : 1;
    }
    fprintf(stderr,
            "vigil simulate: %s: %zu files, %zu CloudTrail records, %zu flow records, %zu DNS queries "
            "in %s\n"
            "vigil simulate: %zu expected findings (%zu pending a detector) in %s/ground-truth.json\n"
            "vigil simulate: detect with: cd %s && vigil detect $(jq -r '.detect.args + "
            "[.detect.optionalArgs[].args[]] | join(\" \")' ground-truth.json) AWSLogs\n",
            s->name, res.files, res.records[0], res.records[1], res.records[2], out, res.expected,
            res.pending, out, out);
    return 0;
}
