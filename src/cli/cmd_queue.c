/*
 * vigil queue: the bus's local queues, with `aws sqs` flags and output.
 *
 *   vigil queue receive --queue-url Q [--max-number-of-messages N]
 *                       [--visibility-timeout S] [--wait-time-seconds S]
 *   vigil queue delete --queue-url Q --receipt-handle H
 *   vigil queue send --queue-url Q --message-body B [--message-attributes JSON]
 *   vigil queue purge --queue-url Q
 *   vigil queue redrive --source Q [--destination Q] [--wait S]
 *   vigil queue list
 *
 * Q is a queue name, queue:NAME, an SQS queue ARN or URL (the last part
 * names the local queue). Every command takes --bus FILE (or $VIGIL_BUS).
 * redrive moves dead-lettered messages back: events the bus dead-lettered are
 * delivered to their target again (this command waits --wait seconds, default
 * 30, for those deliveries), messages a queue moved after maxReceiveCount go
 * back to that queue.
 *
 *   vigil bus drain [--wait S]   deliver what waits in the store
 *   vigil bus status             counts of pending deliveries and queue messages
 */
#include "cli/bus_cli.h"
#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fputs("usage: vigil queue receive --queue-url Q [--max-number-of-messages N]\n"
          "                           [--visibility-timeout S] [--wait-time-seconds S]\n"
          "       vigil queue delete --queue-url Q --receipt-handle H\n"
          "       vigil queue send --queue-url Q --message-body B [--message-attributes JSON]\n"
          "       vigil queue purge --queue-url Q\n"
          "       vigil queue redrive --source Q [--destination Q] [--wait S]\n"
          "       vigil queue list\n"
          "  all take --bus FILE (or $VIGIL_BUS)\n",
          out);
}

struct qopts {
    const char *bus, *queue, *max, *vis, *wait_time, *receipt, *body, *attrs, *source, *dest,
        *wait;
};

static int qparse(const char *cmd, int argc, char **argv, struct qopts *o)
{
    memset(o, 0, sizeof(*o));
    static const struct { const char *name; size_t off; } map[] = {
        { "--bus", offsetof(struct qopts, bus) },
        { "--queue-url", offsetof(struct qopts, queue) },
        { "--queue", offsetof(struct qopts, queue) },
        { "--max-number-of-messages", offsetof(struct qopts, max) },
        { "--visibility-timeout", offsetof(struct qopts, vis) },
        { "--wait-time-seconds", offsetof(struct qopts, wait_time) },
        { "--receipt-handle", offsetof(struct qopts, receipt) },
        { "--message-body", offsetof(struct qopts, body) },
        { "--message-attributes", offsetof(struct qopts, attrs) },
        { "--source", offsetof(struct qopts, source) },
        { "--source-arn", offsetof(struct qopts, source) },
        { "--destination", offsetof(struct qopts, dest) },
        { "--destination-arn", offsetof(struct qopts, dest) },
        { "--wait", offsetof(struct qopts, wait) },
    };
    for (int i = 1; i < argc; i++) {
        size_t k = 0;
        while (k < sizeof(map) / sizeof(map[0]) && strcmp(argv[i], map[k].name) != 0)
            k++;
        if (k == sizeof(map) / sizeof(map[0]) || i + 1 >= argc) {
            fprintf(stderr, "vigil queue %s: %s '%s'\n", cmd,
                    k == sizeof(map) / sizeof(map[0]) ? "unknown option" : "no value for",
                    argv[i]);
            return 1;
        }
        *(const char **)((char *)o + map[k].off) = argv[++i];
    }
    return 0;
}

static int to_int(const char *cmd, const char *name, const char *v, int def, int *out)
{
    *out = def;
    if (!v)
        return 0;
    int64_t n;
    if (!sv_to_i64(sv_cstr(v), &n) || n < 0 || n > 43200) {
        fprintf(stderr, "vigil queue %s: %s must be a whole number\n", cmd, name);
        return 1;
    }
    *out = (int)n;
    return 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int run_queue(const char *cmd, const struct qopts *o, struct bus *b)
{
    struct err e;
    err_clear(&e);
    struct buf out;
    buf_init(&out, 0);
    int status = 0;
    if (strcmp(cmd, "receive") == 0) {
        int max, vis, wt;
        if (to_int(cmd, "--max-number-of-messages", o->max, 1, &max) ||
            to_int(cmd, "--visibility-timeout", o->vis, -1, &vis) ||
            to_int(cmd, "--wait-time-seconds", o->wait_time, 0, &wt))
            return 1;
        if (wt > 20) {
            bus_cli_aws_error("ReceiveMessage", "InvalidParameterValue",
                              "WaitTimeSeconds must be from 0 to 20");
            return 1;
        }
        /* Long polling: ask again until a message comes or the wait is over. */
        int64_t until = now_ms() + (int64_t)wt * 1000;
        size_t n = 0;
        for (;;) {
            if (bus_queue_receive(b, o->queue, max, o->vis ? vis : -1, &out, &n, &e) != 0) {
                bus_cli_aws_error("ReceiveMessage", "InvalidParameterValue", e.msg);
                status = 1;
                break;
            }
            if (n > 0 || now_ms() >= until)
                break;
            struct timespec ts = { 0, 200 * 1000000 };
            nanosleep(&ts, NULL);
        }
        if (status == 0 && n > 0)
            bus_cli_print(&out);
    } else if (strcmp(cmd, "delete") == 0) {
        if (!o->receipt) {
            fprintf(stderr, "vigil queue delete: the following arguments are required: "
                            "--receipt-handle\n");
            return 1;
        }
        if (bus_queue_delete(b, o->queue, o->receipt, &e) != 0) {
            bus_cli_aws_error("DeleteMessage", "ReceiptHandleIsInvalid", e.msg);
            status = 1;
        }
    } else if (strcmp(cmd, "send") == 0) {
        if (!o->body) {
            fprintf(stderr, "vigil queue send: the following arguments are required: "
                            "--message-body\n");
            return 1;
        }
        struct buf attrs;
        buf_init(&attrs, 0);
        char id[37];
        if (o->attrs && bus_cli_param("message-attributes", o->attrs, &attrs) != 0) {
            buf_free(&attrs);
            return 1;
        }
        if (bus_queue_send(b, o->queue, o->body, strlen(o->body), o->attrs ? attrs.p : NULL, id,
                           &e) != 0) {
            bus_cli_aws_error("SendMessage", "InvalidParameterValue", e.msg);
            status = 1;
        } else {
            struct json_writer w;
            jw_init(&w, &out, 4);
            jw_object_begin(&w);
            jw_key(&w, "MessageId");
            jw_str(&w, id);
            jw_object_end(&w);
            bus_cli_print(&out);
        }
        buf_free(&attrs);
    } else if (strcmp(cmd, "purge") == 0) {
        uint64_t n;
        if (bus_queue_purge(b, o->queue, &n, &e) != 0) {
            bus_cli_aws_error("PurgeQueue", "InvalidParameterValue", e.msg);
            status = 1;
        } else {
            fprintf(stderr, "vigil queue purge: %llu messages deleted\n", (unsigned long long)n);
        }
    } else if (strcmp(cmd, "redrive") == 0) {
        uint64_t n;
        if (bus_queue_redrive(b, o->source, o->dest, &n, &e) != 0) {
            bus_cli_aws_error("StartMessageMoveTask", "InvalidParameterValue", e.msg);
            status = 1;
        } else {
            struct json_writer w;
            jw_init(&w, &out, 4);
            jw_object_begin(&w);
            jw_key(&w, "ApproximateNumberOfMessagesMoved");
            jw_int(&w, (int64_t)n);
            jw_object_end(&w);
            bus_cli_print(&out);
            double wait = o->wait ? strtod(o->wait, NULL) : 30;
            status = bus_cli_drain("queue redrive", b, wait, true);
        }
    } else if (strcmp(cmd, "list") == 0) {
        struct json_writer w;
        jw_init(&w, &out, 4);
        if (bus_queue_list(b, &w, &e) != 0) {
            fprintf(stderr, "vigil queue list: %s\n", e.msg);
            status = 1;
        } else {
            bus_cli_print(&out);
        }
    }
    buf_free(&out);
    return status;
}

int cmd_queue(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2;
    }
    const char *cmd = argv[1];
    static const char *const cmds[] = { "receive", "delete", "send", "purge", "redrive", "list" };
    size_t k = 0;
    while (k < 6 && strcmp(cmd, cmds[k]) != 0)
        k++;
    if (k == 6) {
        fprintf(stderr, "vigil queue: unknown operation '%s'\n", cmd);
        usage(stderr);
        return 1;
    }
    struct qopts o;
    if (qparse(cmd, argc - 1, argv + 1, &o) != 0)
        return 1;
    const char *q = strcmp(cmd, "redrive") == 0 ? o.source : o.queue;
    if (!q && strcmp(cmd, "list") != 0) {
        fprintf(stderr, "vigil queue %s: the following arguments are required: %s\n", cmd,
                strcmp(cmd, "redrive") == 0 ? "--source" : "--queue-url");
        return 1;
    }
    struct bus_config *cfg = bus_cli_load("queue", bus_cli_config_path(o.bus));
    if (!cfg)
        return 1;
    /* Only redrive needs this process to deliver. */
    struct bus *b = bus_cli_open("queue", cfg, strcmp(cmd, "redrive") != 0);
    int status = b ? run_queue(cmd, &o, b) : 1;
    bus_close(b);
    bus_config_free(cfg);
    return status;
}

int cmd_bus(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "drain") != 0 && strcmp(argv[1], "status") != 0)) {
        fputs("usage: vigil bus drain [--bus FILE] [--wait SECONDS]\n"
              "       vigil bus status [--bus FILE]\n",
              argc < 2 ? stderr : stdout);
        return 1;
    }
    const char *path = NULL, *wait = NULL;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--bus") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strcmp(argv[i], "--wait") == 0 && i + 1 < argc)
            wait = argv[++i];
        else {
            fprintf(stderr, "vigil bus: unexpected argument '%s'\n", argv[i]);
            return 1;
        }
    }
    struct bus_config *cfg = bus_cli_load("bus", bus_cli_config_path(path));
    if (!cfg)
        return 1;
    bool drain = strcmp(argv[1], "drain") == 0;
    struct bus *b = bus_cli_open("bus", cfg, !drain);
    int status = 1;
    if (b && drain) {
        status = bus_cli_drain("bus drain", b, wait ? strtod(wait, NULL) : -1, true);
    } else if (b) {
        struct bus_stats st;
        bus_get_stats(b, &st);
        struct buf out;
        buf_init(&out, 0);
        struct json_writer w;
        jw_init(&w, &out, 4);
        jw_object_begin(&w);
        jw_key(&w, "PendingDeliveries");
        jw_int(&w, (int64_t)st.pending);
        jw_key(&w, "Queues");
        struct buf q;
        buf_init(&q, 0);
        struct json_writer qw;
        jw_init(&qw, &q, 0);
        struct err e;
        err_clear(&e);
        bus_queue_list(b, &qw, &e);
        jw_raw(&w, sv_make(q.p, q.len));
        buf_free(&q);
        jw_object_end(&w);
        bus_cli_print(&out);
        buf_free(&out);
        status = 0;
    }
    bus_close(b);
    bus_config_free(cfg);
    return status;
}
