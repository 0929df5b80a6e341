/* Unit tests for src/geo: lookups over MMDB files written by the test writer. */
#include "geo/geo.h"
#include "harness.h"
#include "sim/sim.h"

#include <math.h>
#include <stdlib.h>
#include <unistd.h>

static char tmpdir[256];
static char made[16][300];
static size_t n_made;

static void tmp_path(char *out, size_t cap, const char *name)
{
    if (tmpdir[0] == '\0') {
        const char *t = getenv("TMPDIR");
        snprintf(tmpdir, sizeof(tmpdir), "%s/vigil-geo-XXXXXX", t && *t ? t : "/tmp");
        if (mkdtemp(tmpdir) == NULL)
            abort();
    }
    snprintf(out, cap, "%s/%s", tmpdir, name);
    if (n_made < 16)
        snprintf(made[n_made++], sizeof(made[0]), "%s", out);
}

static void test_cleanup(void)
{
    for (size_t i = 0; i < n_made; i++)
        unlink(made[i]);
    if (tmpdir[0])
        CHECK_INT(rmdir(tmpdir), 0);
}

static void write_db(const char *path, const char *type, const char *const *spec)
{
    struct sim_mmdb *w = sim_mmdb_new(type);
    struct err e;
    for (size_t i = 0; spec[i] != NULL; i += 2) {
        err_clear(&e);
        int rc = sim_mmdb_insert(w, spec[i], spec[i + 1], &e);
        CHECK_INT(rc, 0);
        if (rc != 0)
            printf("#   insert %s: %s\n", spec[i], e.msg);
    }
    err_clear(&e);
    CHECK_INT(sim_mmdb_write(w, path, &e), 0);
    sim_mmdb_free(w);
}

static struct ipaddr ip(const char *s)
{
    struct ipaddr a;
    if (!ip_parse(sv_cstr(s), &a))
        abort();
    return a;
}

/* MaxMind's GeoLite2-City layout. */
static const char *const CITY[] = {
    "203.0.113.0/24",
    "{\"city\":{\"geoname_id\":524901,\"names\":{\"en\":\"Moscow\",\"ru\":\"Москва\"}},"
    "\"country\":{\"geoname_id\":2017370,\"iso_code\":\"RU\",\"names\":{\"en\":\"Russia\"}},"
    "\"location\":{\"accuracy_radius\":20,\"latitude\":55.7522,\"longitude\":37.6156}}",
    /* a more specific network inside the one above */
    "203.0.113.128/25",
    "{\"country\":{\"iso_code\":\"NL\",\"names\":{\"en\":\"Netherlands\"}},"
    "\"location\":{\"latitude\":52.3824,\"longitude\":4.8995}}",
    "2001:db8:bad::/48",
    "{\"country\":{\"iso_code\":\"KP\",\"names\":{\"en\":\"North Korea\"}}}",
    NULL,
};

/* MaxMind's GeoLite2-ASN layout. */
static const char *const ASN[] = {
    "203.0.113.0/24",
    "{\"autonomous_system_number\":64500,\"autonomous_system_organization\":\"Example Hosting LLC\"}",
    "198.51.100.0/24",
    "{\"autonomous_system_number\":4200000000,\"autonomous_system_organization\":\"Big ASN\"}",
    NULL,
};

static void test_maxmind_layout(void)
{
    char city[300], asn[300];
    tmp_path(city, sizeof(city), "city.mmdb");
    tmp_path(asn, sizeof(asn), "asn.mmdb");
    write_db(city, "GeoLite2-City", CITY);
    write_db(asn, "GeoLite2-ASN", ASN);

    struct geo_db *g = NULL;
    struct err e;
    err_clear(&e);
    CHECK_INT(geo_open(city, asn, &g, &e), 0);
    if (g == NULL)
        return;
    struct geo_info gi;
    struct ipaddr a = ip("203.0.113.7");
    CHECK(geo_lookup(g, &a, &gi));
    CHECK_STR(gi.country_code, "RU");
    CHECK_STR(gi.country_name, "Russia");
    CHECK_STR(gi.city, "Moscow");
    CHECK(gi.has_location);
    CHECK(fabs(gi.lat - 55.7522) < 1e-9 && fabs(gi.lon - 37.6156) < 1e-9);
    CHECK_INT(gi.asn, 64500);
    CHECK_STR(gi.asn_org, "Example Hosting LLC");
    CHECK_STR(gi.isp, "");

    a = ip("203.0.113.200"); /* the /25 overrides the /24 */
    CHECK(geo_lookup(g, &a, &gi));
    CHECK_STR(gi.country_code, "NL");
    CHECK_STR(gi.city, "");
    CHECK_INT(gi.asn, 64500); /* the ASN database still has the /24 */

    a = ip("198.51.100.1"); /* only in the ASN database */
    CHECK(geo_lookup(g, &a, &gi));
    CHECK_STR(gi.country_code, "");
    CHECK_INT(gi.asn, 4200000000u);

    a = ip("2001:db8:bad:1::5");
    CHECK(geo_lookup(g, &a, &gi));
    CHECK_STR(gi.country_name, "North Korea");

    a = ip("192.0.2.1"); /* in neither */
    CHECK(!geo_lookup(g, &a, &gi));
    CHECK_STR(gi.country_code, "");
    CHECK_INT(gi.asn, 0);
    a = ip("2001:db8::1");
    CHECK(!geo_lookup(g, &a, &gi));
    geo_close(g);
}

/* ip-location-db's flat layout: a code but no name, coordinates as doubles
 * at the top level. */
static void test_flat_layout(void)
{
    static const char *const FLAT[] = {
        "192.0.2.0/24",
        "{\"city\":\"S\\u00e3o Paulo\",\"country_code\":\"br\",\"latitude\":-23.5475,"
        "\"longitude\":-46.6361,\"postcode\":\"01000\",\"state1\":\"Sao Paulo\"}",
        NULL,
    };
    char path[300];
    tmp_path(path, sizeof(path), "flat.mmdb");
    write_db(path, "geolite2-city", FLAT);
    struct geo_db *g = NULL;
    struct err e;
    err_clear(&e);
    CHECK_INT(geo_open(path, NULL, &g, &e), 0);
    if (g == NULL)
        return;
    struct geo_info gi;
    struct ipaddr a = ip("192.0.2.99");
    CHECK(geo_lookup(g, &a, &gi));
    CHECK_STR(gi.country_code, "BR");
    CHECK_STR(gi.country_name, "Brazil");
    CHECK_STR(gi.city, "São Paulo");
    CHECK(gi.has_location && fabs(gi.lat + 23.5475) < 1e-9);
    geo_close(g);
}

/* DB-IP / GeoIP2 ISP layout: traits.*. */
static void test_traits_layout(void)
{
    static const char *const ISP[] = {
        "100.64.0.0/10",
        "{\"traits\":{\"autonomous_system_number\":65010,\"autonomous_system_organization\":\"AS Org\","
        "\"isp\":\"Example ISP\",\"organization\":\"Example Org\"}}",
        NULL,
    };
    char path[300];
    tmp_path(path, sizeof(path), "isp.mmdb");
    write_db(path, "DBIP-ISP", ISP);
    struct geo_db *g = NULL;
    struct err e;
    err_clear(&e);
    CHECK_INT(geo_open(NULL, path, &g, &e), 0);
    if (g == NULL)
        return;
    struct geo_info gi;
    struct ipaddr a = ip("100.100.1.1");
    CHECK(geo_lookup(g, &a, &gi));
    CHECK_INT(gi.asn, 65010);
    CHECK_STR(gi.asn_org, "AS Org");
    CHECK_STR(gi.isp, "Example ISP");
    CHECK_STR(gi.org, "Example Org");
    geo_close(g);
}

static void test_large_tree(void)
{
    /* Enough networks to need 28-bit records is too slow for a unit test;
     * a few thousand still exercise deep trees and many data records. */
    struct sim_mmdb *w = sim_mmdb_new("Test");
    struct err e;
    char cidr[32], rec[64];
    for (int i = 0; i < 4000; i++) {
        snprintf(cidr, sizeof(cidr), "10.%d.%d.0/24", i / 256, i % 256);
        snprintf(rec, sizeof(rec), "{\"autonomous_system_number\":%d}", 1000 + i);
        CHECK_INT(sim_mmdb_insert(w, cidr, rec, &e), 0);
    }
    char path[300];
    tmp_path(path, sizeof(path), "large.mmdb");
    CHECK_INT(sim_mmdb_write(w, path, &e), 0);
    sim_mmdb_free(w);
    struct geo_db *g = NULL;
    CHECK_INT(geo_open(NULL, path, &g, &e), 0);
    if (g == NULL)
        return;
    struct geo_info gi;
    for (int i = 0; i < 4000; i += 397) {
        snprintf(cidr, sizeof(cidr), "10.%d.%d.77", i / 256, i % 256);
        struct ipaddr a = ip(cidr);
        CHECK(geo_lookup(g, &a, &gi));
        CHECK_INT(gi.asn, 1000 + i);
    }
    geo_close(g);
}

/* Several databases: each field comes from the first one that has it. */
static void test_open_all(void)
{
    static const char *const V4[] = {
        "192.0.2.0/24", "{\"country_code\":\"FR\",\"city\":\"Lyon\"}", NULL,
    };
    static const char *const V6[] = {
        "2001:db8::/32", "{\"country_code\":\"DE\",\"city\":\"Berlin\"}", NULL,
    };
    static const char *const AS[] = {
        "192.0.2.0/24", "{\"autonomous_system_number\":64496,\"country_code\":\"ZZ\"}",
        "2001:db8::/32", "{\"autonomous_system_number\":64497}", NULL,
    };
    char p4[300], p6[300], pa[300];
    tmp_path(p4, sizeof(p4), "v4.mmdb");
    tmp_path(p6, sizeof(p6), "v6.mmdb");
    tmp_path(pa, sizeof(pa), "as.mmdb");
    write_db(p4, "dbip-city-ipv4", V4);
    write_db(p6, "dbip-city-ipv6", V6);
    write_db(pa, "asn", AS);
    const char *paths[] = { p4, p6, pa };
    struct geo_db *g = NULL;
    struct err e;
    err_clear(&e);
    CHECK_INT(geo_open_all(paths, 3, &g, &e), 0);
    if (g == NULL)
        return;
    struct geo_info gi;
    struct ipaddr a = ip("192.0.2.1");
    CHECK(geo_lookup(g, &a, &gi));
    CHECK_STR(gi.city, "Lyon");
    CHECK_STR(gi.country_code, "FR"); /* not the later database's ZZ */
    CHECK_INT(gi.asn, 64496);
    a = ip("2001:db8::1");
    CHECK(geo_lookup(g, &a, &gi));
    CHECK_STR(gi.city, "Berlin");
    CHECK_STR(gi.country_name, "Germany");
    CHECK_INT(gi.asn, 64497);
    geo_close(g);
    const char *many[17];
    for (int i = 0; i < 17; i++)
        many[i] = p4;
    CHECK_INT(geo_open_all(many, 17, &g, &e), ERR_LIMIT);
    CHECK_INT(geo_open_all(many, 0, &g, &e), ERR_USAGE);
    /* a bad one among good ones: nothing stays open (ASan checks the rest) */
    const char *bad[] = { p4, "/nonexistent.mmdb" };
    CHECK_INT(geo_open_all(bad, 2, &g, &e), ERR_IO);
    CHECK(g == NULL);
}

static void test_open_errors(void)
{
    struct geo_db *g = (struct geo_db *)1;
    struct err e;
    err_clear(&e);
    CHECK_INT(geo_open(NULL, NULL, &g, &e), ERR_USAGE);
    CHECK(g == NULL);
    err_clear(&e);
    CHECK_INT(geo_open("/nonexistent/x.mmdb", NULL, &g, &e), ERR_IO);
    CHECK_STR(e.file, "/nonexistent/x.mmdb");

    char path[300];
    tmp_path(path, sizeof(path), "junk.mmdb");
    FILE *f = fopen(path, "wb");
    fputs("this is not a database\n", f);
    fclose(f);
    err_clear(&e);
    CHECK_INT(geo_open(path, NULL, &g, &e), ERR_FORMAT);
    CHECK(strstr(e.msg, "MaxMind") != NULL);

    /* A truncated real database: the metadata marker is gone. */
    struct sim_mmdb *w = sim_mmdb_new("Test");
    CHECK_INT(sim_mmdb_insert(w, "192.0.2.0/24", "{\"city\":\"x\"}", &e), 0);
    uint8_t *p;
    size_t n;
    sim_mmdb_build(w, &p, &n);
    sim_mmdb_free(w);
    f = fopen(path, "wb");
    fwrite(p, 1, n / 2, f);
    fclose(f);
    free(p);
    err_clear(&e);
    CHECK_INT(geo_open(path, NULL, &g, &e), ERR_FORMAT);
    /* the good one stays closed too when the other fails */
    CHECK(g == NULL);
}

static void test_country_names(void)
{
    CHECK_STR(geo_country_name("US"), "United States");
    CHECK_STR(geo_country_name("gb"), "United Kingdom");
    CHECK_STR(geo_country_name("AD"), "Andorra");
    CHECK_STR(geo_country_name("ZW"), "Zimbabwe");
    CHECK(geo_country_name("ZZ") == NULL);
    CHECK(geo_country_name("USA") == NULL);
    CHECK(geo_country_name("") == NULL);
    CHECK(geo_country_name(NULL) == NULL);
}

static void test_distance(void)
{
    /* Paris - New York, about 5837 km */
    double d = geo_distance_km(48.8566, 2.3522, 40.7128, -74.0060);
    CHECK(d > 5800 && d < 5880);
    CHECK(geo_distance_km(10, 10, 10, 10) < 1e-9);
    /* antipodes: half the circumference */
    d = geo_distance_km(0, 0, 0, 180);
    CHECK(d > 20000 && d < 20040);
}

static const struct harness_test tests[] = {
    { "maxmind_layout", test_maxmind_layout },
    { "flat_layout", test_flat_layout },
    { "traits_layout", test_traits_layout },
    { "large_tree", test_large_tree },
    { "open_all", test_open_all },
    { "open_errors", test_open_errors },
    { "country_names", test_country_names },
    { "distance", test_distance },
    { "cleanup", test_cleanup },
};

HARNESS_MAIN(tests)
