/* vigil: command-line entry point. Dispatches to one file per subcommand. */
#include "cli/cli.h"
#include "cli/nats_cli.h"
#include "core/core.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
    fputs("usage: vigil <command> [options]\n"
          "\n"
          "commands:\n"
          "  cloudtrail  CloudTrail operations over the store (lookup-events)\n"
          "  detect      read AWS logs and print GuardDuty-format findings\n"
          "  watch       follow directories as logs land: detect and route through the bus\n"
          "  publish     load log files into a NATS JetStream stream (vigil detect --nats-stream)\n"
          "  events      EventBridge operations (test-event-pattern, put-rule, list-rules,\n"
          "              describe-rule, put-targets, put-events, start-replay, ...)\n"
          "  ingest      load AWS logs into a SQLite store (idempotent, resumable)\n"
          "  queue       the bus's local queues (receive, delete, send, purge, redrive, list)\n"
          "  bus         deliver what the bus's store holds (drain), or show it (status)\n"
          "  findings    stored findings (list, get, update, archive, purge), samples, types\n"
          "  investigate incident playbooks over the store (credentials, bucket)\n"
          "  timeline    the events of a principal, resource or address in time order\n"
          "  query       Athena (Trino) SQL over the store's CloudTrail, VPC flow and DNS views\n"
          "  logs        CloudWatch Logs operations (test-metric-filter, filter-log-events)\n"
          "  simulate    write a game-day scenario's logs and the findings they should raise\n"
          "  version     print the version\n",
          out);
}

int main(int argc, char **argv)
{
    /* SQLite counts every allocation under one process-wide mutex unless
     * told not to; threads that each read the store (vigil query's slices)
     * then queue on it. Nothing here reads those counts. */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        puts("vigil 0.1.0");
        return 0;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "detect") == 0)
        return cmd_detect(argc - 1, argv + 1);
    if (strcmp(argv[1], "events") == 0)
        return cmd_events(argc - 1, argv + 1);
    if (strcmp(argv[1], "watch") == 0)
        return cmd_watch(argc - 1, argv + 1);
    if (strcmp(argv[1], "publish") == 0)
        return cmd_publish(argc - 1, argv + 1);
    if (strcmp(argv[1], "ingest") == 0)
        return cmd_ingest(argc - 1, argv + 1);
    if (strcmp(argv[1], "cloudtrail") == 0)
        return cmd_cloudtrail(argc - 1, argv + 1);
    if (strcmp(argv[1], "queue") == 0)
        return cmd_queue(argc - 1, argv + 1);
    if (strcmp(argv[1], "bus") == 0)
        return cmd_bus(argc - 1, argv + 1);
    if (strcmp(argv[1], "query") == 0)
        return cmd_query(argc - 1, argv + 1);
    if (strcmp(argv[1], "logs") == 0)
        return cmd_logs(argc - 1, argv + 1);
    if (strcmp(argv[1], "findings") == 0)
        return cmd_findings(argc - 1, argv + 1);
    if (strcmp(argv[1], "investigate") == 0)
        return cmd_investigate(argc - 1, argv + 1);
    if (strcmp(argv[1], "timeline") == 0)
        return cmd_timeline(argc - 1, argv + 1);
    if (strcmp(argv[1], "simulate") == 0)
        return cmd_simulate(argc - 1, argv + 1);
    fprintf(stderr, "vigil: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 1;
}
