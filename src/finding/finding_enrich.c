/*
 * Enrichment: GuardDuty's remoteIpDetails (country, city, geoLocation,
 * organization) from the geo module's databases. It runs once over the
 * aggregated findings, not per event: a finding keeps one remote address
 * (its representative event's), so this costs one lookup per finding.
 */
#include "finding/finding_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_nonempty(const char *s) { return s[0] ? xstrdup(s) : NULL; }

/* One finding: true when its address got something. */
static bool enrich_one(struct finding *f, const struct geo_db *g)
{
    struct ipaddr a;
    struct geo_info gi;
    struct finding_geo *fg = &f->d.remote_geo;
    if (f->d.remote_ip == NULL || !ip_parse(sv_cstr(f->d.remote_ip), &a))
        return false;
    finding__geo_free(fg);
    if (!geo_lookup(g, &a, &gi))
        return false;
    fg->country_code = dup_nonempty(gi.country_code);
    fg->country_name = dup_nonempty(gi.country_name);
    fg->city = dup_nonempty(gi.city);
    fg->has_location = gi.has_location;
    fg->lat = gi.lat;
    fg->lon = gi.lon;
    if (gi.asn != 0) {
        char num[16];
        snprintf(num, sizeof(num), "%u", (unsigned)gi.asn);
        fg->asn = xstrdup(num);
    }
    fg->asn_org = dup_nonempty(gi.asn_org);
    /* GuardDuty always names an isp and an org; free ASN databases only
     * have the AS organization, which is the best stand-in for both. */
    fg->isp = dup_nonempty(gi.isp[0] ? gi.isp : gi.asn_org);
    fg->org = dup_nonempty(gi.org[0] ? gi.org : gi.isp[0] ? gi.isp : gi.asn_org);
    return true;
}

size_t finding_agg_enrich(struct finding_agg *agg, const struct geo_db *g)
{
    size_t n = 0, i = 0;
    struct sv k;
    void *v;
    if (g == NULL)
        return 0;
    while (hmap_next(&agg->map, &i, &k, &v))
        n += enrich_one(v, g);
    return n;
}

size_t finding_agg_enrich_ids(struct finding_agg *agg, const struct geo_db *g,
                              const char (*ids)[33], size_t n_ids)
{
    size_t n = 0;
    if (g == NULL)
        return 0;
    for (size_t i = 0; i < n_ids; i++) {
        struct finding *f = hmap_get(&agg->map, ids[i], strlen(ids[i]));
        if (f != NULL)
            n += enrich_one(f, g);
    }
    return n;
}
