/*
 * A minimal MaxMind DB (MMDB 2.0) writer for tests: no real database is
 * downloaded; tests write the few networks they need.
 *
 * Records are given as JSON text and encoded with the MMDB types readers
 * expect: objects -> map, arrays -> array, strings -> UTF-8 string, true /
 * false -> boolean, integers -> uint32 (uint64 above 2^32), numbers with a
 * fraction or exponent -> double. The tree is IPv6 (ip_version 6) with IPv4
 * networks at ::a.b.c.d/96+n, as MaxMind stores them (no ::ffff:0:0/96 alias:
 * libmaxminddb looks IPv4 up from the ::/96 node); 24-, 28- or 32-bit records
 * as the size requires.
 */
#ifndef VIGIL_TEST_MMDB_WRITER_H
#define VIGIL_TEST_MMDB_WRITER_H

#include "core/core.h"

struct mmdbw;

struct mmdbw *mmdbw_new(const char *database_type);
void mmdbw_free(struct mmdbw *w);

/* Adds a network ("203.0.113.0/24", "2001:db8::/32", or a bare address) with
 * its record. A later, more specific network overrides within an earlier one.
 * ERR_FORMAT for a bad CIDR or JSON. */
int mmdbw_insert(struct mmdbw *w, const char *cidr, const char *json, struct err *err);

/* Writes the database to path. ERR_IO on failure. */
int mmdbw_write(const struct mmdbw *w, const char *path, struct err *err);

/* The file's bytes, for tests that corrupt them; the caller frees *out. */
void mmdbw_build(const struct mmdbw *w, uint8_t **out, size_t *len);

#endif
