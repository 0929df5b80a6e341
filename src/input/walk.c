/*
 * walk: turns the paths a user gives into a deterministic list of files.
 *
 * Directories are walked depth-first with each directory's entries sorted
 * bytewise, so the order (and so every result that depends on it) is the
 * same on every machine and every run. The S3 key layouts AWS delivers to are
 * recognised to give each file a hint (what it probably holds, its account and
 * region); the content still decides the format when the file is read.
 *
 * Layouts (an optional bucket prefix may come before AWSLogs/):
 *   AWSLogs/[o-org/]<acct>/CloudTrail/<region>/YYYY/MM/DD/<acct>_CloudTrail_<region>_<ts>_<rand>.json.gz
 *   AWSLogs/[o-org/]<acct>/CloudTrail-Insight/<region>/YYYY/MM/DD/...
 *   AWSLogs/[o-org/]<acct>/CloudTrail-Digest/<region>/YYYY/MM/DD/<acct>_CloudTrail-Digest_<region>_<trail>_<region>_<ts>.json.gz
 *   AWSLogs/<acct>/vpcflowlogs/<region>/YYYY/MM/DD/[HH/]<acct>_vpcflowlogs_<region>_<fl-id>_<ts>_<hash>.log.gz
 *   AWSLogs/aws-account-id=<acct>/aws-service=vpcflowlogs/aws-region=<region>/year=YYYY/...  (Hive-compatible)
 *   AWSLogs/<acct>/vpcdnsquerylogs/<vpc-id>/YYYY/MM/DD/<acct>_vpcdnsquerylogs_<vpc-id>_<ts>_<hash>.log.gz
 */
#include "input/input_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define WALK_MAX_DEPTH 48

void input_list_init(struct input_list *l)
{
    memset(l, 0, sizeof(*l));
}

void input_list_free(struct input_list *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->files[i].path);
    free(l->files);
    memset(l, 0, sizeof(*l));
}

static void copy_field(char *dst, size_t cap, const char *s, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

static bool all_digits(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static bool seg_eq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* Strips a Hive-style "key=" from a segment. */
static void unhive(const char **s, size_t *n, const char *key)
{
    size_t k = strlen(key);
    if (*n > k && memcmp(*s, key, k) == 0) {
        *s += k;
        *n -= k;
    }
}

static enum input_hint service_hint(const char *s, size_t n)
{
    if (seg_eq(s, n, "CloudTrail"))
        return INPUT_HINT_CLOUDTRAIL;
    if (seg_eq(s, n, "CloudTrail-Insight"))
        return INPUT_HINT_CLOUDTRAIL_INSIGHT;
    if (seg_eq(s, n, "CloudTrail-Digest"))
        return INPUT_HINT_CLOUDTRAIL_DIGEST;
    if (seg_eq(s, n, "vpcflowlogs"))
        return INPUT_HINT_VPCFLOW;
    if (seg_eq(s, n, "vpcdnsquerylogs"))
        return INPUT_HINT_DNS;
    return INPUT_HINT_NONE;
}

/* The file name alone: <acct>_<service>_<region or vpc>_... */
static bool hint_from_name(const char *name, struct input_file *f)
{
    const char *u1 = strchr(name, '_');
    if (u1 == NULL || !all_digits(name, (size_t)(u1 - name)))
        return false;
    const char *u2 = strchr(u1 + 1, '_');
    if (u2 == NULL)
        return false;
    enum input_hint h = service_hint(u1 + 1, (size_t)(u2 - u1 - 1));
    if (h == INPUT_HINT_NONE)
        return false;
    const char *u3 = strchr(u2 + 1, '_');
    f->hint = h;
    copy_field(f->account, sizeof(f->account), name, (size_t)(u1 - name));
    if (u3 != NULL)
        copy_field(f->region, sizeof(f->region), u2 + 1, (size_t)(u3 - u2 - 1));
    return true;
}

bool input_hint_from_path(const char *path, struct input_file *f)
{
    f->hint = INPUT_HINT_NONE;
    f->account[0] = f->region[0] = '\0';
    /* Segments after the last "AWSLogs" directory. */
    const char *p = path, *seg[8];
    size_t segn[8], ns = 0;
    bool found = false;
    while (*p != '\0') {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (seg_eq(p, n, "AWSLogs")) {
            found = true;
            ns = 0;
        } else if (found && n > 0 && ns < 8) {
            seg[ns] = p;
            segn[ns++] = n;
        }
        if (e == NULL)
            break;
        p = e + 1;
    }
    size_t i = 0;
    if (found && ns >= 3) {
        if (segn[i] > 2 && memcmp(seg[i], "o-", 2) == 0)
            i++; /* organization trail */
        const char *acct = seg[i];
        size_t acctn = segn[i];
        unhive(&acct, &acctn, "aws-account-id=");
        const char *svc = seg[i + 1];
        size_t svcn = segn[i + 1];
        unhive(&svc, &svcn, "aws-service=");
        enum input_hint h = i + 2 < ns ? service_hint(svc, svcn) : INPUT_HINT_NONE;
        if (h != INPUT_HINT_NONE && all_digits(acct, acctn)) {
            const char *reg = seg[i + 2];
            size_t regn = segn[i + 2];
            unhive(&reg, &regn, "aws-region=");
            f->hint = h;
            copy_field(f->account, sizeof(f->account), acct, acctn);
            copy_field(f->region, sizeof(f->region), reg, regn);
            return true;
        }
    }
    const char *base = strrchr(path, '/');
    return hint_from_name(base ? base + 1 : path, f);
}

static void list_add(struct input_list *l, const char *path)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->files = xrealloc(l->files, l->cap * sizeof(*l->files));
    }
    struct input_file *f = &l->files[l->n++];
    memset(f, 0, sizeof(*f));
    f->path = xstrdup(path);
    input_hint_from_path(path, f);
}

/* Names a directory walk leaves out: hidden files and files that are plainly
 * documentation or scripts, which real log trees (and dataset folders) hold. */
static bool skip_name(const char *name)
{
    static const char *const exts[] = { ".md", ".txt", ".csv", ".tsv", ".yml", ".yaml", ".sh", ".py" };
    static const char *const prefixes[] = { "LICENSE", "NOTICE", "README", "MANIFEST" };
    if (name[0] == '.')
        return true;
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
        size_t k = strlen(exts[i]);
        if (n > k && strcmp(name + n - k, exts[i]) == 0)
            return true;
    }
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk_dir(const char *dir, int depth, struct input_list *out, struct err *err);

static int add_path(const char *path, int depth, bool explicit, struct input_list *out,
                    struct err *err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        err_where(err, path, 0, 0);
        return err_set(err, errno == ENOENT ? ERR_NOTFOUND : ERR_IO, "%s", strerror(errno));
    }
    if (S_ISDIR(st.st_mode))
        return walk_dir(path, depth, out, err);
    if (S_ISREG(st.st_mode) || (explicit && !S_ISDIR(st.st_mode)))
        list_add(out, path); /* explicit FIFOs and devices are read as streams */
    return 0;
}

static int walk_dir(const char *dir, int depth, struct input_list *out, struct err *err)
{
    if (depth >= WALK_MAX_DEPTH) {
        err_where(err, dir, 0, 0);
        return err_set(err, ERR_LIMIT, "directories nested deeper than %d (a symlink loop?)",
                       WALK_MAX_DEPTH);
    }
    DIR *d = opendir(dir);
    if (d == NULL) {
        err_where(err, dir, 0, 0);
        return err_set(err, ERR_IO, "%s", strerror(errno));
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (skip_name(de->d_name))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            names = xrealloc(names, cap * sizeof(*names));
        }
        names[n++] = xstrdup(de->d_name);
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof(*names), cmp_names);
    int first = 0;
    struct buf path;
    buf_init(&path, 0);
    for (size_t i = 0; i < n; i++) {
        buf_reset(&path);
        size_t dl = strlen(dir);
        (void)buf_append(&path, dir, dl);
        if (dl > 0 && dir[dl - 1] != '/')
            (void)buf_putc(&path, '/');
        (void)buf_append_cstr(&path, names[i]);
        struct err e2;
        err_clear(&e2);
        int rc = add_path(path.p, depth + 1, false, out, &e2);
        if (rc != 0 && first == 0) {
            first = rc;
            if (err != NULL)
                *err = e2;
        }
        free(names[i]);
    }
    buf_free(&path);
    free(names);
    return first;
}

int input_collect(const char *const *paths, size_t n, struct input_list *out, struct err *err)
{
    int first = 0;
    for (size_t i = 0; i < n; i++) {
        int rc;
        if (strcmp(paths[i], "-") == 0) {
            list_add(out, "-");
            continue;
        }
        struct err e2;
        err_clear(&e2);
        rc = add_path(paths[i], 0, true, out, &e2);
        if (rc != 0 && first == 0) {
            first = rc;
            if (err != NULL)
                *err = e2;
        }
    }
    return first;
}

static bool leap_year(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Two to four digits at t; false on anything else. */
static bool name_digits(const char *t, int n, int64_t *out)
{
    int64_t v = 0;
    for (int i = 0; i < n; i++) {
        if (t[i] < '0' || t[i] > '9')
            return false;
        v = v * 10 + (t[i] - '0');
    }
    *out = v;
    return true;
}

bool input_name_time(const char *path, int64_t *ms_out, size_t *base_off, size_t *prefix_len)
{
    static const unsigned char mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    const char *slash = strrchr(path, '/');
    const char *b = slash ? slash + 1 : path;
    size_t n = strlen(b);
    for (size_t i = 0; i + 16 <= n; i++) {
        const char *t = b + i + 1;
        if (b[i] != '_' || t[8] != 'T' || t[13] != 'Z' || (t[14] != '_' && t[14] != '.'))
            continue;
        int64_t y, mo, d, h, mi;
        if (!name_digits(t, 4, &y) || !name_digits(t + 4, 2, &mo) || !name_digits(t + 6, 2, &d) ||
            !name_digits(t + 9, 2, &h) || !name_digits(t + 11, 2, &mi))
            continue;
        if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap_year(y)) ||
            h > 23 || mi > 59)
            continue;
        int64_t days = time_days_from_civil(y, (unsigned)mo, (unsigned)d);
        *ms_out = ((days * 24 + h) * 60 + mi) * 60000;
        *base_off = (size_t)(b - path);
        *prefix_len = i;
        return true;
    }
    return false;
}
