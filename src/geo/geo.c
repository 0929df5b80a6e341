/*
 * GeoIP/ASN lookups over libmaxminddb. See geo.h for the record layouts read.
 */
#include "geo/geo.h"

#include <errno.h>
#include <math.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#define GEO_MAX_DBS 16

struct geo_db {
    MMDB_s db[GEO_MAX_DBS];
    size_t n;
};

static int open_one(MMDB_s *db, const char *path, struct err *err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        err_where(err, path, 0, 0);
        return err_set(err, ERR_IO, "cannot open: %s", strerror(errno));
    }
    int rc = MMDB_open(path, MMDB_MODE_MMAP, db);
    if (rc == MMDB_SUCCESS)
        return 0;
    err_where(err, path, 0, 0);
    if (rc == MMDB_FILE_OPEN_ERROR || rc == MMDB_IO_ERROR)
        return err_set(err, ERR_IO, "cannot read: %s", MMDB_strerror(rc));
    return err_set(err, ERR_FORMAT, "not a MaxMind DB: %s", MMDB_strerror(rc));
}

int geo_open_all(const char *const *paths, size_t n, struct geo_db **out, struct err *err)
{
    *out = NULL;
    if (n == 0)
        return err_set(err, ERR_USAGE, "no GeoIP database given");
    if (n > GEO_MAX_DBS)
        return err_set(err, ERR_LIMIT, "more than %d GeoIP databases", GEO_MAX_DBS);
    struct geo_db *g = xcalloc(1, sizeof(*g));
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = open_one(&g->db[g->n], paths[i], err);
        if (rc == 0)
            g->n++;
    }
    if (rc != 0) {
        geo_close(g);
        return rc;
    }
    *out = g;
    return 0;
}

int geo_open(const char *city_path, const char *asn_path, struct geo_db **out, struct err *err)
{
    const char *paths[2];
    size_t n = 0;
    if (city_path != NULL)
        paths[n++] = city_path;
    if (asn_path != NULL)
        paths[n++] = asn_path;
    return geo_open_all(paths, n, out, err);
}

void geo_close(struct geo_db *g)
{
    if (g == NULL)
        return;
    for (size_t i = 0; i < g->n; i++)
        MMDB_close(&g->db[i]);
    free(g);
}

/* Copies at most cap-1 bytes, backing off to a UTF-8 character boundary. */
static void copy_text(char *dst, size_t cap, const char *src, size_t len)
{
    if (len >= cap) {
        len = cap - 1;
        while (len > 0 && ((unsigned char)src[len] & 0xc0) == 0x80)
            len--;
    }
    memcpy(dst, src, len);
    dst[len] = '\0';
}

/* The string at path, into dst, unless dst is already set. */
static void get_str(MMDB_entry_s *entry, const char *const *path, char *dst, size_t cap)
{
    MMDB_entry_data_s d;
    if (dst[0] != '\0')
        return;
    if (MMDB_aget_value(entry, &d, path) != MMDB_SUCCESS || !d.has_data ||
        d.type != MMDB_DATA_TYPE_UTF8_STRING)
        return;
    copy_text(dst, cap, d.utf8_string, d.data_size);
}

/* A number at path as a double; databases store coordinates as doubles and
 * some writers as floats or strings. */
static bool get_num(MMDB_entry_s *entry, const char *const *path, double *out)
{
    MMDB_entry_data_s d;
    if (MMDB_aget_value(entry, &d, path) != MMDB_SUCCESS || !d.has_data)
        return false;
    switch (d.type) {
    case MMDB_DATA_TYPE_DOUBLE: *out = d.double_value; return true;
    case MMDB_DATA_TYPE_FLOAT: *out = d.float_value; return true;
    case MMDB_DATA_TYPE_UINT16: *out = d.uint16; return true;
    case MMDB_DATA_TYPE_UINT32: *out = d.uint32; return true;
    case MMDB_DATA_TYPE_INT32: *out = d.int32; return true;
    case MMDB_DATA_TYPE_UINT64: *out = (double)d.uint64; return true;
    case MMDB_DATA_TYPE_UTF8_STRING: {
        char tmp[48], *end;
        copy_text(tmp, sizeof(tmp), d.utf8_string, d.data_size);
        errno = 0;
        double v = strtod(tmp, &end);
        if (end == tmp || *end != '\0' || errno != 0)
            return false;
        *out = v;
        return true;
    }
    default: return false;
    }
}

static void get_asn(MMDB_entry_s *entry, const char *const *path, uint32_t *out)
{
    double v;
    if (*out == 0 && get_num(entry, path, &v) && v >= 1 && v <= 4294967295.0)
        *out = (uint32_t)v;
}

static void read_entry(MMDB_entry_s *e, struct geo_info *gi)
{
    static const char *const cc1[] = { "country", "iso_code", NULL };
    static const char *const cc2[] = { "country_code", NULL };
    static const char *const cc3[] = { "registered_country", "iso_code", NULL };
    static const char *const cn1[] = { "country", "names", "en", NULL };
    static const char *const city1[] = { "city", "names", "en", NULL };
    static const char *const city2[] = { "city", NULL };
    static const char *const lat1[] = { "location", "latitude", NULL };
    static const char *const lon1[] = { "location", "longitude", NULL };
    static const char *const lat2[] = { "latitude", NULL };
    static const char *const lon2[] = { "longitude", NULL };
    static const char *const asn1[] = { "autonomous_system_number", NULL };
    static const char *const asn2[] = { "traits", "autonomous_system_number", NULL };
    static const char *const ao1[] = { "autonomous_system_organization", NULL };
    static const char *const ao2[] = { "traits", "autonomous_system_organization", NULL };
    static const char *const isp1[] = { "isp", NULL };
    static const char *const isp2[] = { "traits", "isp", NULL };
    static const char *const org1[] = { "organization", NULL };
    static const char *const org2[] = { "traits", "organization", NULL };

    get_str(e, cc1, gi->country_code, sizeof(gi->country_code));
    get_str(e, cc2, gi->country_code, sizeof(gi->country_code));
    get_str(e, cc3, gi->country_code, sizeof(gi->country_code));
    get_str(e, cn1, gi->country_name, sizeof(gi->country_name));
    /* "city" is a map in MaxMind's layout and a string in the flat one;
     * get_str only takes strings, so trying both is safe. */
    get_str(e, city1, gi->city, sizeof(gi->city));
    get_str(e, city2, gi->city, sizeof(gi->city));
    if (!gi->has_location) {
        double la, lo;
        if ((get_num(e, lat1, &la) && get_num(e, lon1, &lo)) ||
            (get_num(e, lat2, &la) && get_num(e, lon2, &lo))) {
            if (la >= -90 && la <= 90 && lo >= -180 && lo <= 180) {
                gi->lat = la;
                gi->lon = lo;
                gi->has_location = true;
            }
        }
    }
    get_asn(e, asn1, &gi->asn);
    get_asn(e, asn2, &gi->asn);
    get_str(e, ao1, gi->asn_org, sizeof(gi->asn_org));
    get_str(e, ao2, gi->asn_org, sizeof(gi->asn_org));
    get_str(e, isp1, gi->isp, sizeof(gi->isp));
    get_str(e, isp2, gi->isp, sizeof(gi->isp));
    get_str(e, org1, gi->org, sizeof(gi->org));
    get_str(e, org2, gi->org, sizeof(gi->org));
}

static bool lookup_one(const MMDB_s *db, const struct ipaddr *ip, struct geo_info *gi)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (ip->v4) {
        struct sockaddr_in *sa = (struct sockaddr_in *)&ss;
        sa->sin_family = AF_INET;
        memcpy(&sa->sin_addr, ip->b + 12, 4);
    } else {
        struct sockaddr_in6 *sa = (struct sockaddr_in6 *)&ss;
        sa->sin6_family = AF_INET6;
        memcpy(&sa->sin6_addr, ip->b, 16);
    }
    int mmerr = 0;
    MMDB_lookup_result_s r = MMDB_lookup_sockaddr(db, (const struct sockaddr *)&ss, &mmerr);
    if (mmerr != MMDB_SUCCESS || !r.found_entry)
        return false;
    read_entry(&r.entry, gi);
    return true;
}

bool geo_lookup(const struct geo_db *g, const struct ipaddr *ip, struct geo_info *out)
{
    memset(out, 0, sizeof(*out));
    if (g == NULL)
        return false;
    bool any = false;
    for (size_t i = 0; i < g->n; i++)
        if (lookup_one(&g->db[i], ip, out))
            any = true;
    if (!any)
        return false;
    /* Codes are upper case in every layout seen; normalise anyway so the name
     * table and filters see one spelling. */
    for (char *c = out->country_code; *c; c++)
        if (*c >= 'a' && *c <= 'z')
            *c = (char)(*c - 'a' + 'A');
    if (out->country_name[0] == '\0' && out->country_code[0] != '\0') {
        const char *n = geo_country_name(out->country_code);
        if (n != NULL)
            copy_text(out->country_name, sizeof(out->country_name), n, strlen(n));
    }
    return out->country_code[0] || out->country_name[0] || out->city[0] || out->has_location ||
           out->asn || out->asn_org[0] || out->isp[0] || out->org[0];
}

double geo_distance_km(double lat1, double lon1, double lat2, double lon2)
{
    const double r = 6371.0088, rad = 3.14159265358979323846 / 180.0;
    double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
    double a = sin(dlat / 2) * sin(dlat / 2) +
               cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
    if (a > 1)
        a = 1;
    return 2 * r * asin(sqrt(a));
}
