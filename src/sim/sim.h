/*
 * sim: game days. A scenario writes realistic AWS logs (CloudTrail, VPC Flow
 * Logs, Route 53 Resolver query logs) in AWS's exact formats and S3 key
 * layout, gzip-compressed: a benign background of one small company's account
 * (web servers, app servers, a bastion, batch jobs, people working office
 * hours, a CI pipeline) plus one attack. Beside the logs it writes
 *   ground-truth.json   the findings the logs should raise (type, resource,
 *                       remote address or domain) and how to run vigil detect;
 *   lists/              the threat, Tor and trusted lists the attack needs;
 *   geo/                MaxMind-format city and ASN databases for every
 *                       address used, so enrichment and geo-velocity work
 *                       offline;
 *   aws-ip-ranges.json  the AWS address ranges used, in ip-ranges.json form.
 *
 * Addresses on the internet side come from the documentation ranges
 * (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) and names
 * from example TLDs, so a game day never points at a real third party; AWS
 * addresses are from AWS's published us-east-1 ranges. Output depends only on
 * the scenario, the options and the seed: running twice gives identical bytes.
 *
 * The module depends on core and json only; nothing but the CLI (and tests)
 * includes it.
 */
#ifndef VIGIL_SIM_H
#define VIGIL_SIM_H

#include "core/core.h"

struct sim_scenario {
    const char *name;     /* "compromised-credential" */
    const char *title;    /* one line */
    const char *playbook; /* the incident class it rehearses */
    /* NULL when every finding the scenario expects has a detector on main;
     * otherwise which detector kind it waits for ("stateful: brute force"). The
     * findings concerned are marked "pending" in ground-truth.json. */
    const char *pending;
};

/* The scenarios in listing order. */
size_t sim_scenario_count(void);
const struct sim_scenario *sim_scenario_at(size_t i);
/* By name, or NULL. */
const struct sim_scenario *sim_scenario_find(const char *name);

struct sim_options {
    const char *out_dir;   /* created if missing; must be empty or absent */
    int64_t attack_day_ms; /* 00:00 UTC of the attack's day; 0 = 2026-11-20 */
    int history_days;      /* benign days before it; 0 = the scenario's default */
    uint64_t seed;         /* 0 = the default seed */
};

struct sim_result {
    size_t files;
    size_t records[3]; /* CloudTrail, flow, DNS */
    size_t expected;   /* findings in the ground truth */
    size_t pending;    /* ... of which wait for a detector */
};

/*
 * Writes scenario s into opt->out_dir. ERR_USAGE when the directory exists and
 * is not empty (a game day never mixes with other logs), ERR_IO when a file
 * cannot be written (err names it).
 */
int sim_run(const struct sim_scenario *s, const struct sim_options *opt, struct sim_result *res,
            struct err *err);

/* ---- MaxMind DB writer (used for geo/ and by tests) --------------------------- */

/*
 * Records are given as JSON text and encoded with the MMDB types readers
 * expect: objects -> map, arrays -> array, strings -> UTF-8 string, true /
 * false -> boolean, integers -> uint32 (uint64 above 2^32, int32 when
 * negative), numbers with a fraction or exponent -> double. The tree is IPv6
 * (ip_version 6) with IPv4 networks at ::a.b.c.d/96+n, as MaxMind stores them
 * (no ::ffff:0:0/96 alias: libmaxminddb looks IPv4 up from the ::/96 node);
 * 24-, 28- or 32-bit records as the size requires.
 */
struct sim_mmdb;

struct sim_mmdb *sim_mmdb_new(const char *database_type);
void sim_mmdb_free(struct sim_mmdb *w);

/* Adds a network ("203.0.113.0/24", "2001:db8::/32", or a bare address) with
 * its record. A later, more specific network overrides within an earlier one.
 * ERR_FORMAT for a bad CIDR, bad JSON or a null. */
int sim_mmdb_insert(struct sim_mmdb *w, const char *cidr, const char *json, struct err *err);

/* The file's bytes; the caller frees *out. */
void sim_mmdb_build(const struct sim_mmdb *w, uint8_t **out, size_t *len);

/* Writes the database to path. ERR_IO on failure. */
int sim_mmdb_write(const struct sim_mmdb *w, const char *path, struct err *err);

#endif
