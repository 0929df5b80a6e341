/*
 * nats_cli: NATS JetStream in and out for vigil detect and vigil publish
 * (README "Scaling out").
 *
 *   records in    a JetStream stream (default VIGIL_RECORDS, subjects
 *                 vigil.records.>) read through a durable pull consumer:
 *                 every vigil with the same --nats-durable shares the work (a
 *                 consumer group). A message is one record in any supported
 *                 format, or a batch of lines (JSON lines, flow log lines with
 *                 or without their header), or a whole log file. Records are
 *                 partitioned by account in the subject,
 *                 vigil.records.<account>; a worker reads the partitions its
 *                 --nats-subject filter names (vigil.records.> for all).
 *   acks          a message is acknowledged once the findings of its records
 *                 have been written and published (at least once: a worker
 *                 killed before that leaves the message to be redelivered to
 *                 another after --nats-ack-wait; stable finding ids make the
 *                 redelivery harmless).
 *   findings out  --findings-subject: each finding, the first time a worker
 *                 emits it, as GuardDuty JSON with its id as Nats-Msg-Id, so
 *                 JetStream's duplicate window drops what a redelivery or
 *                 another worker publishes again. The stream capturing the
 *                 subject (--findings-stream, default VIGIL_FINDINGS) is made
 *                 when absent.
 *
 * Built without libnats (meson found none), every entry point says so and
 * fails. Private to src/cli.
 */
#ifndef VIGIL_NATS_CLI_H
#define VIGIL_NATS_CLI_H

#include "core/core.h"

#include <stdio.h>

struct input_options;
struct live;
struct finding;

struct nats_args {
    const char *url;              /* --nats nats://127.0.0.1:4222 */
    const char *stream;           /* --nats-stream: consume records from it */
    const char *subject;          /* --nats-subject: the consumer's filter */
    const char *durable;          /* --nats-durable: the group (default "vigil") */
    const char *findings_subject; /* --findings-subject */
    const char *findings_stream;  /* --findings-stream (default VIGIL_FINDINGS) */
    int64_t ack_wait_ms;          /* --nats-ack-wait (default 30s) */
    int64_t idle_exit_ms;         /* --nats-idle-exit: stop after so long without records; 0 = never */
    bool bad;                     /* a value was rejected (message printed) */
};

/* True when the library was built with libnats. */
bool nats_cli_available(void);

void nats_cli_usage(FILE *out);

/* Takes opt with its value val if it is one of the --nats... options above
 * (true), else false. A bad value sets a->bad. */
bool nats_cli_parse_arg(const char *opt, const char *val, struct nats_args *a);

/* Checks the combination; prints why and returns 1 when it is wrong
 * (n_paths: the PATHs also given). */
int nats_cli_check(const struct nats_args *a, size_t n_paths);

struct nats_cli;

/* Connects to a->url and sets up the findings stream when asked. Prints the
 * reason and returns 1 on failure. */
int nats_cli_open(const struct nats_args *a, struct nats_cli **out);
void nats_cli_close(struct nats_cli *n); /* NULL is fine */

/* live_publish_fn for --findings-subject; ctx is the nats_cli. */
int nats_cli_publish_finding(void *ctx, const struct finding *f, const char *json, size_t len,
                             struct err *err);

/* Consumes a->stream through the durable pull consumer until SIGINT/SIGTERM
 * or --nats-idle-exit, feeding every record to l. Returns the exit status. */
int nats_cli_consume(struct nats_cli *n, const struct nats_args *a,
                     const struct input_options *iopt, struct live *l, bool stats);

/* vigil publish --nats URL [--stream NAME] [--subject S] PATH... */
int cmd_publish(int argc, char **argv);

#endif
