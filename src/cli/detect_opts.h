/*
 * detect_opts: the detection options `vigil detect` and `vigil watch` share
 * (rules, lists, the ENI map, AWS's ranges, the learning period, the flow log
 * format, GeoIP databases, suppression rules, --lateness and --idle), parsed
 * and loaded one way, so
 * a rule set behaves the same in an archive run and in a watched directory.
 * Private to src/cli.
 */
#ifndef VIGIL_CLI_DETECT_OPTS_H
#define VIGIL_CLI_DETECT_OPTS_H

#include "detect/detect.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct geo_db;
struct finding_filters;

/* The strings are borrowed from argv; the arrays are owned (detect_opts_free). */
struct detect_opts {
    const char **rules;
    size_t n_rules;
    bool no_builtin;
    const char **lists[3]; /* indexed by enum detect_list_kind */
    size_t n_lists[3];
    const char *eni_map, *aws_ranges;
    int64_t learning_ms;
    const char *vpcflow_fields;
    const char **geo_dbs; /* --geoip-db files first, then --asn-db ones */
    size_t n_geo_dbs, n_city_dbs;
    const char **suppress;
    size_t n_suppress;
    /* Event time: 0 = the command's default; idle < 0 = never. */
    int64_t lateness_ms, idle_ms;
};

/* Takes option o if it is one of these: 1 when it is a flag (--no-builtin),
 * 2 when it took val, 0 when it is not one of them, -1 when val is missing
 * or bad (the message, starting with "vigil <cmd>: ", is printed). */
int detect_opts_parse(struct detect_opts *d, const char *cmd, const char *o, const char *val);

/* Their lines of a usage message (not --lateness and --idle, whose defaults
 * each command says). */
void detect_opts_usage(FILE *out);

/* Loads what d names: the built-in pack (found from exe) and the rule files
 * into rs, the lists into ls, the GeoIP databases into *geo (NULL when
 * none), the suppression rules into fs. 0, or 1 after printing why. */
int detect_opts_load(const struct detect_opts *d, const char *cmd, const char *exe,
                     struct detect_rules *rs, struct detect_lists *ls, struct geo_db **geo,
                     struct finding_filters *fs);

void detect_opts_free(struct detect_opts *d);

#endif
