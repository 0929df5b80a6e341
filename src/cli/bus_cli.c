/* Helpers for the bus commands (bus_cli.h). */
#include "cli/bus_cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *bus_cli_config_path(const char *given)
{
    if (given)
        return given;
    const char *e = getenv("VIGIL_BUS");
    return e && *e ? e : NULL;
}

struct bus_config *bus_cli_load(const char *cmd, const char *path)
{
    if (!path) {
        fprintf(stderr, "vigil %s: no bus configuration (--bus FILE or $VIGIL_BUS)\n", cmd);
        return NULL;
    }
    struct bus_config *cfg = NULL;
    struct err e;
    err_clear(&e);
    if (bus_config_load(path, &cfg, &e) != 0) {
        fprintf(stderr, "vigil %s: %s\n", cmd, e.msg);
        return NULL;
    }
    return cfg;
}

struct bus *bus_cli_open(const char *cmd, const struct bus_config *cfg, bool no_delivery)
{
    struct bus *b = NULL;
    struct err e;
    err_clear(&e);
    struct bus_options opt = { .no_delivery = no_delivery };
    if (bus_open(cfg, &opt, &b, &e) != 0) {
        fprintf(stderr, "vigil %s: %s\n", cmd, e.msg);
        return NULL;
    }
    return b;
}

int bus_cli_drain(const char *cmd, struct bus *b, double wait_s, bool quiet)
{
    struct err e;
    err_clear(&e);
    int status = 0;
    if (bus_drain(b, wait_s < 0 ? -1 : (int64_t)(wait_s * 1000), &e) != 0) {
        fprintf(stderr, "vigil %s: %s\n", cmd, e.msg);
        return 1;
    }
    struct bus_stats st;
    bus_get_stats(b, &st);
    if (st.pending > 0) {
        fprintf(stderr,
                "vigil %s: %llu deliveries are waiting to be retried; they stay in the store "
                "(vigil bus drain, or the next run, delivers them)\n",
                cmd, (unsigned long long)st.pending);
        status = 1;
    }
    if (st.dead_lettered > 0) {
        fprintf(stderr, "vigil %s: %llu deliveries failed for good and went to dead-letter queues "
                        "(vigil queue receive / redrive)\n",
                cmd, (unsigned long long)st.dead_lettered);
        status = 1;
    }
    if (!quiet && st.events > 0)
        fprintf(stderr, "vigil %s: bus: %llu events, %llu rule matches, %llu deliveries, "
                        "%llu retries, %llu archived\n",
                cmd, (unsigned long long)st.events, (unsigned long long)st.matched,
                (unsigned long long)st.delivered, (unsigned long long)st.retried,
                (unsigned long long)st.archived);
    return status;
}

void bus_cli_print(struct buf *out)
{
    if (out->len)
        fwrite(out->p, 1, out->len, stdout);
    fputc('\n', stdout);
    fflush(stdout);
}

bool bus_cli_time(const char *s, int64_t *ms_out)
{
    if (time_parse_iso8601(sv_cstr(s), ms_out))
        return true;
    int64_t v;
    if (sv_to_i64(sv_cstr(s), &v)) {
        *ms_out = v * 1000;
        return true;
    }
    return false;
}

int bus_cli_param(const char *name, const char *v, struct buf *out)
{
    buf_reset(out);
    if (strncmp(v, "file://", 7) != 0) {
        buf_append_cstr(out, v);
        if (!out->p)
            buf_putc(out, '\0');
        return 0;
    }
    FILE *f = fopen(v + 7, "rb");
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
    fclose(f);
    if (rc != 0) {
        fprintf(stderr, "\nError parsing parameter '%s': %s is too large\n", name, v);
        return 1;
    }
    if (!out->p)
        buf_putc(out, '\0');
    return 0;
}

void bus_cli_aws_error(const char *op, const char *code, const char *msg)
{
    fprintf(stderr, "\nAn error occurred (%s) when calling the %s operation: %s\n", code, op, msg);
}
