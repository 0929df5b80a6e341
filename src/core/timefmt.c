/* ISO 8601 parsing and formatting in UTC; see core.h. */
#include "core.h"

#include <stdio.h>

int64_t time_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    /* Howard Hinnant's days_from_civil: exact for the proleptic Gregorian calendar. */
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool digits(const char *p, size_t n, unsigned *out)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    *out = v;
    return true;
}

bool time_parse_iso8601(struct sv s, int64_t *ms_out)
{
    const char *p = s.p;
    size_t n = s.len;
    unsigned y, mo, d, h = 0, mi = 0, sec = 0, ms = 0;
    if (n < 10 || !digits(p, 4, &y) || p[4] != '-' || !digits(p + 5, 2, &mo) || p[7] != '-' ||
        !digits(p + 8, 2, &d))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > 31)
        return false;
    size_t i = 10;
    int64_t offset_min = 0;
    if (i < n) {
        if ((p[i] != 'T' && p[i] != 't' && p[i] != ' ') || n < i + 6)
            return false;
        if (!digits(p + i + 1, 2, &h) || p[i + 3] != ':' || !digits(p + i + 4, 2, &mi))
            return false;
        i += 6;
        if (i < n && p[i] == ':') {
            if (n < i + 3 || !digits(p + i + 1, 2, &sec))
                return false;
            i += 3;
        }
        if (i < n && (p[i] == '.' || p[i] == ',')) {
            unsigned scale = 100;
            i++;
            if (i >= n || p[i] < '0' || p[i] > '9')
                return false;
            for (; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
                ms += (unsigned)(p[i] - '0') * scale;
                scale /= 10;
            }
        }
        if (i < n && (p[i] == 'Z' || p[i] == 'z')) {
            i++;
        } else if (i < n && (p[i] == '+' || p[i] == '-')) {
            unsigned oh, om;
            if (n < i + 6 || !digits(p + i + 1, 2, &oh) || p[i + 3] != ':' ||
                !digits(p + i + 4, 2, &om))
                return false;
            offset_min = (int64_t)(oh * 60 + om) * (p[i] == '-' ? -1 : 1);
            i += 6;
        }
        if (i != n || h > 23 || mi > 59 || sec > 60)
            return false;
    }
    int64_t days = time_days_from_civil(y, mo, d);
    int64_t t = ((days * 24 + h) * 60 + mi - offset_min) * 60 + sec;
    *ms_out = t * 1000 + ms;
    return true;
}

size_t time_format_iso8601(int64_t ms, bool frac, char out[32])
{
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    unsigned milli = (unsigned)(ms - secs * 1000);
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    unsigned rem = (unsigned)(secs - days * 86400);
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    int n;
    if (frac && milli != 0)
        n = snprintf(out, 32, "%04lld-%02u-%02uT%02u:%02u:%02u.%03uZ", (long long)y, m, d, rem / 3600,
                     rem / 60 % 60, rem % 60, milli);
    else
        n = snprintf(out, 32, "%04lld-%02u-%02uT%02u:%02u:%02uZ", (long long)y, m, d, rem / 3600,
                     rem / 60 % 60, rem % 60);
    return n > 0 ? (size_t)n : 0;
}
