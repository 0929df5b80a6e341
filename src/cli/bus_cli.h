/* Helpers shared by the CLI commands that use the bus (events, queue, bus,
 * detect --bus, watch). Private to src/cli. */
#ifndef VIGIL_BUS_CLI_H
#define VIGIL_BUS_CLI_H

#include "bus/bus.h"
#include "core/core.h"

#include <stdio.h>

/* The --bus file: the value given, else $VIGIL_BUS, else NULL. */
const char *bus_cli_config_path(const char *given);

/* Loads the configuration; on error prints "vigil <cmd>: message" and returns NULL. */
struct bus_config *bus_cli_load(const char *cmd, const char *path);

/* Opens the bus over cfg; NULL (message printed) on error. */
struct bus *bus_cli_open(const char *cmd, const struct bus_config *cfg, bool no_delivery);

/* Drains deliveries for up to wait_s seconds (< 0: all) and says on stderr
 * what is left, if anything. Returns 0, or 1 when deliveries are left
 * pending or were dead-lettered in this process. */
int bus_cli_drain(const char *cmd, struct bus *b, double wait_s, bool quiet);

/* Prints a JSON document from a writer's buffer with a newline. */
void bus_cli_print(struct buf *out);

/* Parses a time the AWS CLI accepts (ISO 8601 or seconds since the epoch). */
bool bus_cli_time(const char *s, int64_t *ms_out);

/* The AWS CLI's parameter value: text, or file://PATH's content. 0 or 1 (printed). */
int bus_cli_param(const char *name, const char *v, struct buf *out);

/* An AWS CLI style error on stderr. */
void bus_cli_aws_error(const char *op, const char *code, const char *msg);

#endif
