/*
 * vigil watch: follow directories as log files land, detect and route
 * continuously through the bus.
 *
 *   vigil watch --bus FILE [--rules PATH]... [--no-builtin] [--threat-list FILE]...
 *               [--tor-list FILE]... [--trusted-list FILE]... [--vpcflow-format F]
 *               [--once] DIR...
 *
 * Files already in DIR are read first, then every file that is closed after
 * writing or moved in (inotify IN_CLOSE_WRITE / IN_MOVED_TO; new
 * subdirectories are followed). Each record goes through the bus as its
 * EventBridge event; each finding that is new or grew (count) goes through
 * as a "GuardDuty Finding" event and is printed as one JSON line on stdout,
 * as GuardDuty publishes new findings and their updates. Scheduled rules fire
 * while watching.
 *
 * Stateful rules (brute force, scans, baselines, rates) run over the files
 * as one stream behind a watermark: the latest event time read minus
 * --lateness (default 1h, as for archives: a file's records are unordered
 * and span its delivery interval, and streams land out of step).
 * Files already there are read in the order of the delivery time in their
 * names, as AWS writes them, so the watermark does not race ahead of the
 * backlog. After --idle without a new record (default: the lateness) the
 * stream is caught up and the findings it held back come out; stopping, and
 * the end of --once, flush the rest.
 *
 * The ingest ledger in the bus store remembers which files (path, size,
 * mtime) are done, so a restart skips them; a file is marked done only after
 * its deliveries are committed, so a kill at any moment re-reads at most the
 * file it was in (at least once). Finding counts and the stateful rules'
 * state start afresh on restart (a kill loses what the watermark held back).
 * --once reads what is there and exits (after the deliveries). SIGINT and
 * SIGTERM stop it cleanly.
 */
#include "cli/bus_cli.h"
#include "cli/cli.h"
#include "cli/detect_opts.h"
#include "cli/live.h"
#include "detect/detect.h"
#include "finding/finding.h"
#include "geo/geo.h"
#include "input/input.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ONLYDIR)

struct wopts {
    const char *bus;
    bool once;
    struct detect_opts d; /* rules, lists, GeoIP, suppression: as detect's */
    const char **dirs;
    size_t n_dirs;
};

struct watcher {
    const struct wopts *o;
    const struct detect_engine *engine;
    struct input_options iopt;
    struct bus *bus;
    struct bus_worker *bw; /* the scheduled rules' */
    struct live *live;     /* every rule over every record read, as one stream */
    int ifd;
    char **wdirs; /* watch descriptor -> directory */
    size_t n_wdirs;
    uint64_t files, records, errors;
    int status;
};

static void push(const char ***v, size_t *n, const char *s)
{
    *v = xrealloc(*v, (*n + 1) * sizeof(**v));
    (*v)[(*n)++] = s;
}

static void usage(FILE *out)
{
    fputs("usage: vigil watch --bus FILE [options] [--lateness DURATION] [--idle DURATION]\n"
          "                   [--once] DIR...\n"
          "  follows DIR (recursively) as log files land: every record and every new or\n"
          "  updated finding goes through the bus of FILE; findings are printed as JSON lines\n"
          "  --lateness DURATION   disorder allowed between the files' records for the\n"
          "                        stateful rules (default 1h); older records are late\n"
          "  --idle DURATION       after so long without a new record (default: the lateness)\n"
          "                        the stateful findings held back come out (0 = never)\n"
          "  --once                read what is there, then stop\n"
          "  the detection options, as vigil detect's:\n",
          out);
    detect_opts_usage(out);
}

static int parse(int argc, char **argv, struct wopts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(a, "--once") == 0) {
            o->once = true;
            continue;
        } else if (a[0] != '-') {
            push(&o->dirs, &o->n_dirs, a);
            continue;
        }
        int taken = detect_opts_parse(&o->d, "watch", a, v);
        if (taken < 0)
            return 1;
        if (taken > 0) {
            i += taken - 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "vigil watch: %s needs a value\n", a);
            return 1;
        } else if (strcmp(a, "--bus") == 0) {
            o->bus = v;
        } else {
            fprintf(stderr, "vigil watch: unknown option '%s'\n", a);
            usage(stderr);
            return 1;
        }
        i++;
    }
    if (o->n_dirs == 0) {
        fprintf(stderr, "vigil watch: no directory to watch\n");
        usage(stderr);
        return 1;
    }
    if (o->d.lateness_ms == 0)
        o->d.lateness_ms = 3600LL * 1000;
    if (o->d.idle_ms == 0)
        o->d.idle_ms = o->d.lateness_ms;
    return 0;
}

static void print_err(const struct err *e)
{
    char line[1200];
    err_format(e, line, sizeof(line));
    fprintf(stderr, "vigil watch: %s\n", line);
}

static void add_watch(struct watcher *w, const char *dir)
{
    int wd = inotify_add_watch(w->ifd, dir, WATCH_MASK);
    if (wd < 0) {
        fprintf(stderr, "vigil watch: cannot watch %s: %s\n", dir, strerror(errno));
        return;
    }
    if ((size_t)wd >= w->n_wdirs) {
        w->wdirs = xrealloc(w->wdirs, ((size_t)wd + 1) * sizeof(*w->wdirs));
        memset(w->wdirs + w->n_wdirs, 0, ((size_t)wd + 1 - w->n_wdirs) * sizeof(*w->wdirs));
        w->n_wdirs = (size_t)wd + 1;
    }
    free(w->wdirs[wd]);
    w->wdirs[wd] = xstrdup(dir);
    /* Subdirectories too (S3 layouts are deep); a race with a directory made
     * meanwhile is covered by the scan that follows every new directory. */
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        struct buf p;
        buf_init(&p, 0);
        buf_printf(&p, "%s/%s", dir, de->d_name);
        struct stat st;
        if (stat(p.p, &st) == 0 && S_ISDIR(st.st_mode))
            add_watch(w, p.p);
        buf_free(&p);
    }
    if (d)
        closedir(d);
}

static void process_file(struct watcher *w, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return;
    if (bus_file_done(w->bus, path, (int64_t)st.st_size, (int64_t)st.st_mtime))
        return;
    struct input_list files;
    struct input_reader *r = NULL;
    struct err e;
    err_clear(&e);
    input_list_init(&files);
    const char *one[1] = { path };
    if (input_collect(one, 1, &files, &e) != 0 || input_open(&files, &w->iopt, &r, &e) != 0) {
        print_err(&e);
        input_list_free(&files);
        return;
    }
    for (;;) {
        struct event ev;
        err_clear(&e);
        int rc = input_next(r, &ev, &e);
        if (rc == INPUT_END)
            break;
        if (rc == INPUT_NOTE)
            continue;
        if (rc != 0) {
            print_err(&e);
            w->errors++;
            continue;
        }
        w->records++;
        live_event(w->live, &ev); /* onto the bus, and through the rules */
    }
    input_close(r);
    input_list_free(&files);
    /* The file's findings out; done only once its deliveries are committed
     * (live_emit flushes them). */
    if (live_emit(w->live) == 2) {
        w->status = 2;
        return;
    }
    err_clear(&e);
    if (bus_mark_file_done(w->bus, path, (int64_t)st.st_size, (int64_t)st.st_mtime, &e) != 0) {
        print_err(&e);
        w->status = 2;
        return;
    }
    w->files++;
}

struct named_file {
    const char *path;
    int64_t ms;
    bool timed;
};

/* Delivery time first (files without one after, by path). */
static int cmp_named(const void *a, const void *b)
{
    const struct named_file *x = a, *y = b;
    if (x->timed != y->timed)
        return x->timed ? -1 : 1;
    if (x->timed && x->ms != y->ms)
        return x->ms < y->ms ? -1 : 1;
    return strcmp(x->path, y->path);
}

/* The files already under dir, in the order AWS delivered them. */
static void scan(struct watcher *w, const char *dir)
{
    struct input_list files;
    struct err e;
    err_clear(&e);
    input_list_init(&files);
    const char *one[1] = { dir };
    if (input_collect(one, 1, &files, &e) != 0)
        print_err(&e);
    struct named_file *nf = xcalloc(files.n + 1, sizeof(*nf));
    for (size_t i = 0; i < files.n; i++) {
        size_t off, plen;
        nf[i].path = files.files[i].path;
        nf[i].timed = input_name_time(nf[i].path, &nf[i].ms, &off, &plen);
    }
    qsort(nf, files.n, sizeof(*nf), cmp_named);
    for (size_t i = 0; i < files.n; i++)
        process_file(w, nf[i].path);
    free(nf);
    input_list_free(&files);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int run(struct watcher *w)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    int sfd = -1;
    if (!w->o->once) {
        /* Signals arrive as readable data, so stopping is an ordinary event
         * (blocked in cmd_watch before any thread started). */
        sfd = signalfd(-1, &mask, SFD_CLOEXEC);
        w->ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (w->ifd < 0 || sfd < 0) {
            fprintf(stderr, "vigil watch: inotify: %s\n", strerror(errno));
            return 2;
        }
        for (size_t i = 0; i < w->o->n_dirs; i++)
            add_watch(w, w->o->dirs[i]);
    }
    for (size_t i = 0; i < w->o->n_dirs; i++)
        scan(w, w->o->dirs[i]);
    struct err e;
    err_clear(&e);
    int64_t next_tick = -1;
    bus_tick(w->bus, w->bw, &next_tick, &e);
    if (w->o->once) {
        live_finish(w->live);
        bus_cli_drain("watch", w->bus, 60, true);
        return w->status;
    }
    fprintf(stderr, "vigil watch: watching %zu director%s (%llu files read)\n", w->o->n_dirs,
            w->o->n_dirs == 1 ? "y" : "ies", (unsigned long long)w->files);
    char evbuf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        struct pollfd p[2] = { { w->ifd, POLLIN, 0 }, { sfd, POLLIN, 0 } };
        int timeout = 1000;
        if (poll(p, 2, timeout) < 0 && errno != EINTR)
            break;
        if (p[1].revents & POLLIN)
            break; /* SIGINT or SIGTERM */
        if (p[0].revents & POLLIN) {
            ssize_t n;
            while ((n = read(w->ifd, evbuf, sizeof(evbuf))) > 0) {
                for (char *q = evbuf; q < evbuf + n;) {
                    struct inotify_event *ie = (struct inotify_event *)q;
                    q += sizeof(*ie) + ie->len;
                    if (ie->wd < 0 || (size_t)ie->wd >= w->n_wdirs || !w->wdirs[ie->wd] || !ie->len)
                        continue;
                    struct buf path;
                    buf_init(&path, 0);
                    buf_printf(&path, "%s/%s", w->wdirs[ie->wd], ie->name);
                    if (ie->name[0] == '.') {
                        /* temporary files of copy tools: wait for the rename */
                    } else if (ie->mask & IN_ISDIR) {
                        add_watch(w, path.p);
                        scan(w, path.p); /* files that landed before the watch */
                    } else if (ie->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) {
                        process_file(w, path.p);
                    }
                    buf_free(&path);
                }
            }
        }
        if (live_idle(w->live, mono_ms()) == 2)
            break;
        err_clear(&e);
        if (bus_tick(w->bus, w->bw, &next_tick, &e) < 0)
            print_err(&e);
    }
    close(sfd);
    live_finish(w->live); /* what the watermark still holds */
    fprintf(stderr, "vigil watch: stopping (%llu files, %llu records read)\n",
            (unsigned long long)w->files, (unsigned long long)w->records);
    bus_cli_drain("watch", w->bus, 5, true);
    return w->status;
}

int cmd_watch(int argc, char **argv)
{
    struct wopts o;
    memset(&o, 0, sizeof(o));
    int status = parse(argc, argv, &o);
    struct detect_rules *rules = detect_rules_new();
    struct detect_lists *lists = detect_lists_new();
    struct detect_engine *engine = NULL;
    struct json_pathset *want = json_pathset_new();
    struct finding_filters *filters = finding_filters_new();
    struct geo_db *geo = NULL;
    struct bus_config *cfg = NULL;
    struct watcher w;
    memset(&w, 0, sizeof(w));
    w.ifd = -1;
    struct err e;
    err_clear(&e);
    if (status != 0)
        goto out;
    if (!o.once) {
        /* Before the bus starts its threads, which inherit the mask. */
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &mask, NULL);
    }
    status = 1;
    if (detect_opts_load(&o.d, "watch", "/proc/self/exe", rules, lists, &geo, filters) != 0)
        goto out;
    /* Streams keep what a finding needs with each candidate (no file to read
     * again): detect_options.input stays NULL. */
    struct detect_options dopt = { lists, o.d.learning_ms, NULL, geo, false };
    if (detect_engine_new(rules, &dopt, &engine, &e) != 0) {
        print_err(&e);
        goto out;
    }
    if (!(cfg = bus_cli_load("watch", bus_cli_config_path(o.bus))) ||
        !(w.bus = bus_cli_open("watch", cfg, false)))
        goto out;
    detect_engine_paths(engine, want);
    event_add_common_paths(want);
    w.o = &o;
    w.engine = engine;
    w.iopt = (struct input_options){ .want = want, .vpcflow_fields = o.d.vpcflow_fields };
    w.bw = bus_worker_new(w.bus);
    struct live_opts lo = {
        .cmd = "watch",
        .engine = engine,
        .lateness_ms = o.d.lateness_ms,
        .idle_ms = o.d.idle_ms > 0 ? o.d.idle_ms : 0,
        .geo = geo,
        .filters = filters,
        .out = stdout,
        .bus = w.bus,
    };
    w.live = live_new(&lo);
    status = run(&w);
out:
    live_free(w.live);
    bus_worker_free(w.bw);
    bus_close(w.bus);
    for (size_t i = 0; i < w.n_wdirs; i++)
        free(w.wdirs[i]);
    free(w.wdirs);
    if (w.ifd >= 0)
        close(w.ifd);
    bus_config_free(cfg);
    json_pathset_free(want);
    detect_engine_free(engine);
    geo_close(geo);
    finding_filters_free(filters);
    detect_lists_free(lists);
    detect_rules_free(rules);
    detect_opts_free(&o.d);
    free(o.dirs);
    return status;
}
