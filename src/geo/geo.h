/*
 * geo: where an IP address is, from MaxMind-format (MMDB) databases.
 *
 * Several databases may be given, typically a city (or country) one and an
 * ASN (or ISP) one; each lookup asks them all and merges what they know. The record layouts
 * read are the ones the free databases ship:
 *   - MaxMind GeoLite2/GeoIP2 and DB-IP lite: country.iso_code,
 *     country.names.en, city.names.en, location.latitude/longitude;
 *     autonomous_system_number, autonomous_system_organization (GeoLite2-ASN)
 *     or traits.{autonomous_system_number, autonomous_system_organization,
 *     isp, organization} (GeoIP2 ISP/Enterprise, DB-IP ISP); isp, organization
 *     (GeoIP2-ISP);
 *   - ip-location-db (npm packages @ip-location-db/NAME-mmdb): flat country_code, city,
 *     latitude, longitude; autonomous_system_number,
 *     autonomous_system_organization.
 * When a database gives only a country code, the country name comes from the
 * ISO 3166-1 table in this module.
 *
 * geo depends on core only, so any module (detect for impossible travel,
 * finding for enrichment) may use it. A geo_db is read-only once open and may
 * be shared by any number of threads (libmaxminddb maps the file read-only).
 */
#ifndef VIGIL_GEO_H
#define VIGIL_GEO_H

#include "core/core.h"

struct geo_db;

/*
 * Opens the databases; either path may be NULL (not both). ERR_IO when a
 * file cannot be read, ERR_FORMAT when it is not a valid MMDB (err names the
 * file and says what libmaxminddb found), ERR_USAGE when both are NULL.
 * On failure nothing stays open.
 */
int geo_open(const char *city_path, const char *asn_path, struct geo_db **out, struct err *err);
/* The same for any number of databases (at most 16; ERR_LIMIT beyond), e.g.
 * the separate IPv4 and IPv6 files some providers ship. Every lookup asks
 * them in this order; for each field the first database that has it wins. */
int geo_open_all(const char *const *paths, size_t n, struct geo_db **out, struct err *err);
/* NULL is fine. */
void geo_close(struct geo_db *g);

/* What the databases know about one address. Strings are NUL-terminated and
 * empty when unknown; longer values are cut at a UTF-8 character boundary. */
struct geo_info {
    char country_code[4];  /* ISO 3166-1 alpha-2, e.g. "FR" */
    char country_name[64]; /* "France" */
    char city[96];         /* "Paris" */
    bool has_location;
    double lat, lon;
    uint32_t asn; /* 0 = unknown */
    char asn_org[128];
    char isp[128];
    char org[128];
};

/*
 * Looks ip up in every database. Returns true and fills out when any knows
 * anything about it; false (out cleared) when none does, including IPv6
 * addresses asked of an IPv4-only database. A corrupt record counts as
 * unknown: one bad entry must not stop a detection run.
 */
bool geo_lookup(const struct geo_db *g, const struct ipaddr *ip, struct geo_info *out);

/* The English short name of an ISO 3166-1 alpha-2 code (any case), as
 * MaxMind's names.en spells it ("US" -> "United States"), or NULL. */
const char *geo_country_name(const char *code);

/* Great-circle distance in kilometres between two points in degrees. */
double geo_distance_km(double lat1, double lon1, double lat2, double lon2);

#endif
