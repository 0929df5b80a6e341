/*
 * ScheduleExpression: EventBridge's rate() and cron() (user guide "Schedule
 * expressions for rules"), always UTC.
 *
 *   rate(VALUE UNIT)  VALUE a positive integer; UNIT minute(s), hour(s),
 *                     day(s), singular exactly when VALUE is 1.
 *   cron(MIN HOUR DOM MONTH DOW YEAR)
 *       MIN 0-59, HOUR 0-23, DOM 1-31, MONTH 1-12 or JAN-DEC, DOW 1-7 or
 *       SUN-SAT (1 = Sunday), YEAR 1970-2199; each field a list of values,
 *       ranges a-b and steps x/n, or *; DOM also ? L W (nearest weekday,
 *       "15W", "LW"), DOW also ? L ("6L": last Friday) and # ("3#2": second
 *       Tuesday). One of DOM and DOW must be ?, and not both.
 */
#include "bus/bus_int.h"

#include <string.h>
#include <strings.h>

#define YEAR_MIN 1970
#define YEAR_MAX 2199

struct cron {
    uint64_t min;   /* bit m */
    uint32_t hour;  /* bit h */
    uint32_t dom;   /* bit d (1-31) */
    uint16_t month; /* bit m (1-12) */
    uint8_t dow;    /* bit d (1-7) */
    uint8_t years[(YEAR_MAX - YEAR_MIN + 1 + 7) / 8];
    bool dom_any, dow_any; /* '?' */
    bool dom_last;         /* L */
    int dom_last_weekday;  /* LW */
    int dom_weekday;       /* NW: day N, 0 = none */
    int dow_last;          /* NL: last weekday N of the month, 0 = none */
    int dow_nth_day, dow_nth; /* D#N */
};

static const char *const MONTHS[] = { "JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                      "JUL", "AUG", "SEP", "OCT", "NOV", "DEC" };
static const char *const DAYS[] = { "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT" };

static bool read_num(const char **p, const char *end, const char *const *names, size_t n_names,
                     int base, int *out)
{
    const char *s = *p;
    if (s < end && *s >= '0' && *s <= '9') {
        int v = 0;
        while (s < end && *s >= '0' && *s <= '9' && v < 100000)
            v = v * 10 + (*s++ - '0');
        *p = s;
        *out = v;
        return true;
    }
    for (size_t i = 0; names && i < n_names; i++)
        if (end - s >= 3 && strncasecmp(s, names[i], 3) == 0) {
            *p = s + 3;
            *out = (int)i + base;
            return true;
        }
    return false;
}

/* A comma list of *, v, a-b, x/n over [lo, hi]; sets bits in a bool array. */
static int parse_list(const char *s, size_t len, int lo, int hi, const char *const *names,
                      size_t n_names, bool *set, struct err *err, const char *what)
{
    const char *p = s, *end = s + len;
    while (p < end) {
        const char *item_end = memchr(p, ',', (size_t)(end - p));
        if (!item_end)
            item_end = end;
        int a = lo, b = hi, step = 1;
        const char *q = p;
        if (q < item_end && *q == '*') {
            q++;
        } else {
            if (!read_num(&q, item_end, names, n_names, lo, &a))
                return err_set(err, ERR_USAGE, "%s: bad value \"%.*s\"", what, (int)(item_end - p), p);
            b = a;
            if (q < item_end && *q == '-') {
                q++;
                if (!read_num(&q, item_end, names, n_names, lo, &b))
                    return err_set(err, ERR_USAGE, "%s: bad range \"%.*s\"", what,
                                   (int)(item_end - p), p);
            }
        }
        if (q < item_end && *q == '/') {
            q++;
            if (!read_num(&q, item_end, NULL, 0, 0, &step) || step < 1)
                return err_set(err, ERR_USAGE, "%s: bad step \"%.*s\"", what, (int)(item_end - p), p);
            if (a == b && p[0] != '*')
                b = hi; /* "5/15" means from 5 every 15 */
        }
        if (q != item_end)
            return err_set(err, ERR_USAGE, "%s: bad item \"%.*s\"", what, (int)(item_end - p), p);
        if (a < lo || b > hi || a > b)
            return err_set(err, ERR_USAGE, "%s: \"%.*s\" outside %d-%d", what, (int)(item_end - p),
                           p, lo, hi);
        for (int v = a; v <= b; v += step)
            set[v] = true;
        p = item_end < end ? item_end + 1 : end;
        if (item_end < end && p == end)
            return err_set(err, ERR_USAGE, "%s: trailing comma", what);
    }
    return 0;
}

static int parse_cron(const char *body, size_t len, struct cron *c, struct err *err)
{
    memset(c, 0, sizeof(*c));
    const char *f[6];
    size_t fl[6];
    size_t n = 0, i = 0;
    while (i < len) {
        while (i < len && body[i] == ' ')
            i++;
        if (i == len)
            break;
        if (n == 6)
            return err_set(err, ERR_USAGE, "cron() takes 6 fields");
        f[n] = body + i;
        while (i < len && body[i] != ' ')
            i++;
        fl[n] = (size_t)(body + i - f[n]);
        n++;
    }
    if (n != 6)
        return err_set(err, ERR_USAGE, "cron() takes 6 fields: minutes hours day-of-month month "
                                       "day-of-week year");
    bool set[240];
    int rc;
    memset(set, 0, sizeof(set));
    if ((rc = parse_list(f[0], fl[0], 0, 59, NULL, 0, set, err, "minutes")) != 0)
        return rc;
    for (int v = 0; v < 60; v++)
        if (set[v])
            c->min |= 1ull << v;
    memset(set, 0, sizeof(set));
    if ((rc = parse_list(f[1], fl[1], 0, 23, NULL, 0, set, err, "hours")) != 0)
        return rc;
    for (int v = 0; v < 24; v++)
        if (set[v])
            c->hour |= 1u << v;
    memset(set, 0, sizeof(set));
    if ((rc = parse_list(f[3], fl[3], 1, 12, MONTHS, 12, set, err, "month")) != 0)
        return rc;
    for (int v = 1; v <= 12; v++)
        if (set[v])
            c->month |= (uint16_t)(1u << v);
    {
        bool ys[YEAR_MAX + 1]; /* indexed by the year itself */
        memset(ys, 0, sizeof(ys));
        if ((rc = parse_list(f[5], fl[5], YEAR_MIN, YEAR_MAX, NULL, 0, ys, err, "year")) != 0)
            return rc;
        for (int y = YEAR_MIN; y <= YEAR_MAX; y++)
            if (ys[y])
                c->years[(y - YEAR_MIN) / 8] |= (uint8_t)(1u << ((y - YEAR_MIN) % 8));
    }
    /* Day of month. */
    const char *d = f[2];
    size_t dl = fl[2];
    if (dl == 1 && d[0] == '?') {
        c->dom_any = true;
    } else if (dl == 1 && d[0] == 'L') {
        c->dom_last = true;
    } else if (dl == 2 && d[0] == 'L' && d[1] == 'W') {
        c->dom_last_weekday = 1;
    } else if (dl >= 2 && d[dl - 1] == 'W') {
        int v = 0;
        const char *q = d;
        if (!read_num(&q, d + dl - 1, NULL, 0, 0, &v) || q != d + dl - 1 || v < 1 || v > 31)
            return err_set(err, ERR_USAGE, "day-of-month: bad \"%.*s\"", (int)dl, d);
        c->dom_weekday = v;
    } else {
        memset(set, 0, sizeof(set));
        if ((rc = parse_list(d, dl, 1, 31, NULL, 0, set, err, "day-of-month")) != 0)
            return rc;
        for (int v = 1; v <= 31; v++)
            if (set[v])
                c->dom |= 1u << v;
    }
    /* Day of week. */
    d = f[4];
    dl = fl[4];
    if (dl == 1 && d[0] == '?') {
        c->dow_any = true;
    } else if (dl == 1 && d[0] == 'L') {
        c->dow = 1u << 7; /* L alone: Saturday, the last day of the week */
    } else if (dl >= 2 && d[dl - 1] == 'L') {
        int v = 0;
        const char *q = d;
        if (!read_num(&q, d + dl - 1, DAYS, 7, 1, &v) || q != d + dl - 1 || v < 1 || v > 7)
            return err_set(err, ERR_USAGE, "day-of-week: bad \"%.*s\"", (int)dl, d);
        c->dow_last = v;
    } else if (memchr(d, '#', dl)) {
        const char *h = memchr(d, '#', dl);
        int v = 0, k = 0;
        const char *q = d;
        if (!read_num(&q, h, DAYS, 7, 1, &v) || q != h || v < 1 || v > 7)
            return err_set(err, ERR_USAGE, "day-of-week: bad \"%.*s\"", (int)dl, d);
        q = h + 1;
        if (!read_num(&q, d + dl, NULL, 0, 0, &k) || q != d + dl || k < 1 || k > 5)
            return err_set(err, ERR_USAGE, "day-of-week: bad \"%.*s\"", (int)dl, d);
        c->dow_nth_day = v;
        c->dow_nth = k;
    } else {
        memset(set, 0, sizeof(set));
        if ((rc = parse_list(d, dl, 1, 7, DAYS, 7, set, err, "day-of-week")) != 0)
            return rc;
        for (int v = 1; v <= 7; v++)
            if (set[v])
                c->dow |= (uint8_t)(1u << v);
    }
    if (c->dom_any == c->dow_any)
        return err_set(err, ERR_USAGE, "exactly one of day-of-month and day-of-week must be ?");
    return 0;
}

static int parse_rate(const char *body, size_t len, int64_t *period_ms, struct err *err)
{
    const char *p = body, *end = body + len;
    while (p < end && *p == ' ')
        p++;
    int64_t v = 0;
    const char *ds = p;
    while (p < end && *p >= '0' && *p <= '9' && v < 100000000)
        v = v * 10 + (*p++ - '0');
    if (p == ds || v <= 0)
        return err_set(err, ERR_USAGE, "rate() needs a positive whole number");
    if (p == end || *p != ' ')
        return err_set(err, ERR_USAGE, "rate(): a unit must follow the number");
    while (p < end && *p == ' ')
        p++;
    const char *us = p;
    while (p < end && *p != ' ')
        p++;
    size_t ul = (size_t)(p - us);
    while (p < end && *p == ' ')
        p++;
    if (p != end)
        return err_set(err, ERR_USAGE, "rate(): unexpected text after the unit");
    static const struct { const char *one, *many; int64_t ms; } units[] = {
        { "minute", "minutes", 60000 }, { "hour", "hours", 3600000 }, { "day", "days", 86400000 } };
    for (size_t i = 0; i < 3; i++) {
        const char *want = v == 1 ? units[i].one : units[i].many;
        if (strlen(want) == ul && memcmp(want, us, ul) == 0) {
            *period_ms = v * units[i].ms;
            return 0;
        }
        const char *other = v == 1 ? units[i].many : units[i].one;
        if (strlen(other) == ul && memcmp(other, us, ul) == 0)
            return err_set(err, ERR_USAGE, "rate(): use \"%s\" with %lld", want, (long long)v);
    }
    return err_set(err, ERR_USAGE, "rate(): the unit must be minute(s), hour(s) or day(s)");
}

/* kind 1 = rate (period_ms), 2 = cron (c). */
static int parse_expr(const char *expr, int64_t *period_ms, struct cron *c, struct err *err)
{
    size_t len = strlen(expr);
    if (len > 256)
        return err_set(err, ERR_LIMIT, "schedule expression longer than 256 characters");
    if (len > 6 && memcmp(expr, "rate(", 5) == 0 && expr[len - 1] == ')')
        return parse_rate(expr + 5, len - 6, period_ms, err) == 0 ? 1 : -1;
    if (len > 6 && memcmp(expr, "cron(", 5) == 0 && expr[len - 1] == ')')
        return parse_cron(expr + 5, len - 6, c, err) == 0 ? 2 : -1;
    err_set(err, ERR_USAGE, "\"%s\" is not rate(...) or cron(...)", expr);
    return -1;
}

int bus_schedule_check(const char *expr, struct err *err)
{
    int64_t period;
    struct cron c;
    return parse_expr(expr, &period, &c, err) > 0 ? 0 : ERR_USAGE;
}

/* Civil date of a day count (Howard Hinnant's days_from_civil inverse). */
static void civil(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (*m <= 2));
}

static int month_days(int y, int m)
{
    static const int md[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : md[m - 1];
}

/* 1 = Sunday ... 7 = Saturday; 1970-01-01 was a Thursday. */
static int weekday(int64_t days) { return (int)(((days % 7) + 11) % 7) + 1; }

static bool day_matches(const struct cron *c, int64_t days)
{
    int y, m, d;
    civil(days, &y, &m, &d);
    if (y < YEAR_MIN || y > YEAR_MAX || !(c->years[(y - YEAR_MIN) / 8] & (1u << ((y - YEAR_MIN) % 8))))
        return false;
    if (!(c->month & (1u << m)))
        return false;
    int last = month_days(y, m);
    int wd = weekday(days);
    if (!c->dom_any) {
        if (c->dom_last)
            return d == last;
        if (c->dom_last_weekday || c->dom_weekday) {
            /* The weekday nearest to the target day, within the month. */
            int target = c->dom_last_weekday ? last : (c->dom_weekday > last ? last : c->dom_weekday);
            int64_t tdays = days - d + target;
            int twd = weekday(tdays);
            int pick = target;
            if (twd == 7) /* Saturday: Friday, or Monday when the 1st */
                pick = target == 1 ? target + 2 : target - 1;
            else if (twd == 1) /* Sunday: Monday, or Friday when the last */
                pick = target == last ? target - 2 : target + 1;
            return d == pick;
        }
        return (c->dom & (1u << d)) != 0;
    }
    if (c->dow_last)
        return wd == c->dow_last && d + 7 > last;
    if (c->dow_nth)
        return wd == c->dow_nth_day && (d - 1) / 7 + 1 == c->dow_nth;
    return (c->dow & (1u << wd)) != 0;
}

int64_t bus_schedule_next(const char *expr, int64_t after_ms)
{
    int64_t period = 0;
    struct cron c;
    int kind = parse_expr(expr, &period, &c, NULL);
    if (kind == 1)
        return after_ms + period;
    if (kind != 2)
        return -1;
    int64_t start = after_ms / 60000 + 1; /* first whole minute strictly after */
    int64_t day = start / 1440;
    int first_min = (int)(start % 1440);
    int64_t last_day = time_days_from_civil(YEAR_MAX, 12, 31);
    for (; day <= last_day; day++, first_min = 0) {
        if (!day_matches(&c, day))
            continue;
        for (int mm = first_min; mm < 1440; mm++)
            if ((c.hour & (1u << (mm / 60))) && (c.min & (1ull << (mm % 60))))
                return (day * 1440 + mm) * 60000;
    }
    return -1;
}
