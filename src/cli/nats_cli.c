/*
 * nats_cli: JetStream in and out (nats_cli.h), and vigil publish.
 */
#include "cli/nats_cli.h"

#include "cli/live.h"
#include "detect/detect.h"
#include "finding/finding.h"
#include "input/input.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef VIGIL_HAVE_NATS
#include <nats/nats.h>
#endif

#define DEFAULT_RECORDS_STREAM "VIGIL_RECORDS"
#define DEFAULT_FINDINGS_STREAM "VIGIL_FINDINGS"
#define DEFAULT_SUBJECT_PREFIX "vigil.records"
#define FETCH_BATCH 256

bool nats_cli_available(void)
{
#ifdef VIGIL_HAVE_NATS
    return true;
#else
    return false;
#endif
}

void nats_cli_usage(FILE *out)
{
    fputs("\n"
          "  NATS JetStream (README \"Scaling out\"):\n"
          "  --nats URL            the NATS server, e.g. nats://127.0.0.1:4222\n"
          "  --nats-stream NAME    read records from this JetStream stream (made when absent,\n"
          "                        capturing vigil.records.>) instead of PATHs\n"
          "  --nats-subject SUBJ   the subjects this worker reads, e.g. vigil.records.> or\n"
          "                        vigil.records.123456789012 (default vigil.records.>)\n"
          "  --nats-durable NAME   consumer group: workers with the same name share the\n"
          "                        records (default vigil)\n"
          "  --nats-ack-wait DUR   redelivery delay of unacknowledged records (default 30s)\n"
          "  --nats-idle-exit DUR  stop after so long without records (default: never)\n"
          "  --findings-subject S  publish each finding (GuardDuty JSON, Nats-Msg-Id = its id)\n"
          "  --findings-stream N   the stream capturing it, made when absent (VIGIL_FINDINGS)\n",
          out);
    if (!nats_cli_available())
        fputs("  (this vigil was built without NATS support: libnats-dev was missing)\n", out);
}

bool nats_cli_parse_arg(const char *opt, const char *val, struct nats_args *a)
{
    if (strcmp(opt, "--nats") == 0)
        a->url = val;
    else if (strcmp(opt, "--nats-stream") == 0)
        a->stream = val;
    else if (strcmp(opt, "--nats-subject") == 0)
        a->subject = val;
    else if (strcmp(opt, "--nats-durable") == 0)
        a->durable = val;
    else if (strcmp(opt, "--findings-subject") == 0)
        a->findings_subject = val;
    else if (strcmp(opt, "--findings-stream") == 0)
        a->findings_stream = val;
    else if (strcmp(opt, "--nats-ack-wait") == 0 || strcmp(opt, "--nats-idle-exit") == 0) {
        int64_t *dst = opt[7] == 'a' ? &a->ack_wait_ms : &a->idle_exit_ms;
        if (!detect_parse_duration(val, dst)) {
            fprintf(stderr, "vigil: %s wants a duration like 500ms, 30s, 5m\n", opt);
            a->bad = true;
        }
    } else
        return false;
    return true;
}

int nats_cli_check(const struct nats_args *a, size_t n_paths)
{
    if (a->bad)
        return 1;
    bool any = a->stream || a->subject || a->durable || a->findings_subject ||
               a->findings_stream || a->ack_wait_ms || a->idle_exit_ms;
    if (!a->url && !any)
        return 0;
    if (!nats_cli_available()) {
        fprintf(stderr, "vigil: this vigil was built without NATS support (libnats-dev was "
                        "missing at build time)\n");
        return 1;
    }
    if (!a->url) {
        fprintf(stderr, "vigil: the --nats... options need --nats URL\n");
        return 1;
    }
    if (a->stream && n_paths > 0) {
        fprintf(stderr, "vigil: --nats-stream reads records from JetStream: give no PATH\n");
        return 1;
    }
    if (!a->stream && (a->subject || a->durable || a->idle_exit_ms || a->ack_wait_ms)) {
        fprintf(stderr, "vigil: --nats-subject, --nats-durable, --nats-ack-wait and "
                        "--nats-idle-exit go with --nats-stream\n");
        return 1;
    }
    if (!a->stream && !a->findings_subject) {
        fprintf(stderr, "vigil: --nats wants --nats-stream (records in) or --findings-subject "
                        "(findings out)\n");
        return 1;
    }
    if (!a->stream && !(n_paths == 1)) {
        fprintf(stderr, "vigil: --findings-subject publishes a stream's findings: give - "
                        "(standard input) or --nats-stream\n");
        return 1;
    }
    return 0;
}

#ifdef VIGIL_HAVE_NATS

struct nats_cli {
    natsConnection *nc;
    jsCtx *js;
    const char *findings_subject;
};

/* Makes the stream if it does not exist; an existing one is used as it is. */
static natsStatus ensure_stream(jsCtx *js, const char *name, const char *subject)
{
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo(&si, js, name, NULL, &jerr);
    if (s == NATS_OK) {
        jsStreamInfo_Destroy(si);
        return s;
    }
    if (s != NATS_NOT_FOUND)
        return s;
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = name;
    const char *subjects[1] = { subject };
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    s = js_AddStream(&si, js, &cfg, NULL, &jerr);
    if (s == NATS_OK)
        jsStreamInfo_Destroy(si);
    return s;
}

static void print_nats(const char *what, natsStatus s)
{
    const char *last = nats_GetLastError(NULL);
    fprintf(stderr, "vigil: NATS: %s: %s%s%s\n", what, natsStatus_GetText(s), last ? ": " : "",
            last ? last : "");
}

static int connect_js(const char *url, struct nats_cli **out)
{
    struct nats_cli *n = xcalloc(1, sizeof(*n));
    natsStatus s = natsConnection_ConnectTo(&n->nc, url);
    if (s == NATS_OK)
        s = natsConnection_JetStream(&n->js, n->nc, NULL);
    if (s != NATS_OK) {
        print_nats(url, s);
        nats_cli_close(n);
        return 1;
    }
    *out = n;
    return 0;
}

int nats_cli_open(const struct nats_args *a, struct nats_cli **out)
{
    struct nats_cli *n = NULL;
    if (connect_js(a->url, &n) != 0)
        return 1;
    n->findings_subject = a->findings_subject;
    if (a->findings_subject) {
        const char *name = a->findings_stream ? a->findings_stream : DEFAULT_FINDINGS_STREAM;
        natsStatus s = ensure_stream(n->js, name, a->findings_subject);
        if (s != NATS_OK) {
            print_nats(name, s);
            nats_cli_close(n);
            return 1;
        }
    }
    *out = n;
    return 0;
}

void nats_cli_close(struct nats_cli *n)
{
    if (!n)
        return;
    jsCtx_Destroy(n->js);
    natsConnection_Destroy(n->nc);
    free(n);
}

int nats_cli_publish_finding(void *ctx, const struct finding *f, const char *json, size_t len,
                             struct err *err)
{
    struct nats_cli *n = ctx;
    natsMsg *m = NULL;
    jsPubAck *pa = NULL;
    jsErrCode jerr = 0;
    natsStatus s = natsMsg_Create(&m, n->findings_subject, NULL, json, (int)len);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, "Nats-Msg-Id", f->id);
    if (s == NATS_OK)
        s = js_PublishMsg(&pa, n->js, m, NULL, &jerr);
    jsPubAck_Destroy(pa);
    natsMsg_Destroy(m);
    if (s != NATS_OK)
        return err_set(err, ERR_IO, "%s (%s)", natsStatus_GetText(s),
                       nats_GetLastError(NULL) ? nats_GetLastError(NULL) : "");
    return 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void print_err(const struct err *e)
{
    char line[1200];
    err_format(e, line, sizeof(line));
    fprintf(stderr, "vigil: %s\n", line);
}

int nats_cli_consume(struct nats_cli *n, const struct nats_args *a,
                     const struct input_options *iopt, struct live *l, bool stats)
{
    const char *subject = a->subject ? a->subject : DEFAULT_SUBJECT_PREFIX ".>";
    const char *durable = a->durable ? a->durable : "vigil";
    int64_t ack_wait = a->ack_wait_ms ? a->ack_wait_ms : 30000;
    natsStatus s = ensure_stream(n->js, a->stream, DEFAULT_SUBJECT_PREFIX ".>");
    if (s != NATS_OK) {
        print_nats(a->stream, s);
        return 1;
    }
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = a->stream;
    so.Config.Durable = durable;
    so.Config.AckPolicy = js_AckExplicit;
    so.Config.AckWait = ack_wait * 1000000; /* nanoseconds */
    so.Config.MaxAckPending = 4 * FETCH_BATCH;
    natsSubscription *sub = NULL;
    jsErrCode jerr = 0;
    s = js_PullSubscribe(&sub, n->js, subject, durable, NULL, &so, &jerr);
    if (s != NATS_OK) {
        print_nats("pull consumer", s);
        return 1;
    }
    /* SIGINT and SIGTERM are taken between fetches, so a stop acknowledges
     * nothing that was not fully handled. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    struct input_reader *r = NULL;
    struct err e;
    err_clear(&e);
    input_open_mem("nats", "", 0, iopt, &r, &e);
    int status = 0;
    uint64_t msgs = 0, errors = 0;
    int64_t last = now_ms();
    char name[300];
    for (;;) {
        struct timespec zero = { 0, 0 };
        if (sigtimedwait(&mask, NULL, &zero) > 0)
            break;
        natsMsgList list = { 0 };
        s = natsSubscription_Fetch(&list, sub, FETCH_BATCH, 1000, &jerr);
        if (s == NATS_TIMEOUT || (s == NATS_OK && list.Count == 0)) {
            natsMsgList_Destroy(&list);
            /* Nothing acknowledged is at stake: what comes out was read. */
            int ls = live_idle(l, now_ms());
            if (ls > status)
                status = ls;
            if (ls == 2)
                break;
            if (a->idle_exit_ms && now_ms() - last >= a->idle_exit_ms)
                break;
            continue;
        }
        if (s != NATS_OK) {
            print_nats("fetch", s);
            status = 2;
            break;
        }
        last = now_ms();
        for (int i = 0; i < list.Count; i++) {
            natsMsg *m = list.Msgs[i];
            uint64_t seq = 0;
            jsMsgMetaData *md = NULL;
            if (natsMsg_GetMetaData(&md, m) == NATS_OK) {
                seq = md->Sequence.Stream;
                jsMsgMetaData_Destroy(md);
            }
            /* Errors name the message: its subject and stream sequence. */
            snprintf(name, sizeof(name), "%s#%llu", natsMsg_GetSubject(m), (unsigned long long)seq);
            input_reset_mem(r, name, natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
            msgs++;
            for (;;) {
                struct event ev;
                err_clear(&e);
                int rc = input_next(r, &ev, &e);
                if (rc == INPUT_END)
                    break;
                if (rc == 0)
                    live_event(l, &ev);
                else if (rc == INPUT_NOTE)
                    continue;
                else {
                    print_err(&e);
                    errors++;
                }
            }
        }
        int ls = live_emit(l);
        if (ls == 2) {
            status = 2;
            natsMsgList_Destroy(&list);
            break;
        }
        /* Findings out first, then the acknowledgements: at least once. A
         * failed publication leaves the batch to be redelivered. Acks are not
         * waited for one by one (a round trip each): a lost one only means a
         * redelivery, which the stable finding ids make harmless. */
        for (int i = 0; i < list.Count && ls == 0; i++)
            natsMsg_Ack(list.Msgs[i], NULL);
        natsMsgList_Destroy(&list);
        natsConnection_FlushTimeout(n->nc, 5000);
    }
    int fs = live_finish(l);
    if (fs > status)
        status = fs;
    if (stats) {
        uint64_t records, late;
        size_t findings;
        live_counts(l, &records, &findings, &late);
        fprintf(stderr,
                "vigil detect: nats: %llu messages, %llu records, %llu bad, %zu findings, %llu "
                "late for the stateful rules\n",
                (unsigned long long)msgs, (unsigned long long)records,
                (unsigned long long)errors, findings, (unsigned long long)late);
    }
    input_close(r);
    natsSubscription_Destroy(sub);
    if (errors > 0 && status == 0)
        status = 1;
    return status;
}

/* ---- vigil publish ------------------------------------------------------------- */

static void publish_usage(FILE *out)
{
    fputs("usage: vigil publish --nats URL [--stream NAME] [--subject PREFIX] [--per-file] PATH...\n"
          "  loads log files into a JetStream stream (default VIGIL_RECORDS, made when absent):\n"
          "  each record becomes one message on PREFIX.<account> (default vigil.records), the\n"
          "  partitioning vigil detect --nats-stream workers filter on; records without an\n"
          "  account go to PREFIX.unknown (flow lines of a custom format travel with their\n"
          "  header line). --per-file sends each file whole as one message on\n"
          "  PREFIX.<account of its S3 key>.\n",
          out);
}

/* Subject tokens cannot hold '.', '*', '>' or white space. */
static void subject_for(struct buf *b, const char *prefix, struct sv account)
{
    buf_reset(b);
    buf_printf(b, "%s.", prefix);
    bool ok = account.len > 0 && account.len < 64;
    for (size_t i = 0; ok && i < account.len; i++) {
        char c = account.p[i];
        ok = c > ' ' && c != '.' && c != '*' && c != '>' && c < 0x7f;
    }
    if (ok)
        buf_append(b, account.p, account.len);
    else
        buf_append_cstr(b, "unknown");
}

int cmd_publish(int argc, char **argv)
{
    const char *url = NULL, *stream = DEFAULT_RECORDS_STREAM, *prefix = DEFAULT_SUBJECT_PREFIX;
    bool per_file = false;
    const char **paths = xcalloc((size_t)argc, sizeof(*paths));
    size_t n_paths = 0;
    int status = 0;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
            publish_usage(stdout);
            free(paths);
            return 0;
        } else if (strcmp(o, "--per-file") == 0) {
            per_file = true;
            continue;
        } else if (o[0] != '-' || o[1] == '\0') {
            paths[n_paths++] = o;
            continue;
        } else if (!v) {
            fprintf(stderr, "vigil publish: %s needs a value\n", o);
            status = 1;
        } else if (strcmp(o, "--nats") == 0) {
            url = v;
        } else if (strcmp(o, "--stream") == 0) {
            stream = v;
        } else if (strcmp(o, "--subject") == 0) {
            prefix = v;
        } else {
            fprintf(stderr, "vigil publish: unknown option '%s'\n", o);
            status = 1;
        }
        i++;
    }
    struct nats_cli *n = NULL;
    struct input_list files;
    struct input_reader *r = NULL;
    struct buf subj, data;
    uint64_t records = 0, errors = 0;
    input_list_init(&files);
    buf_init(&subj, 0);
    buf_init(&data, 0);
    struct err e;
    err_clear(&e);
    if (status == 0 && (!url || n_paths == 0)) {
        publish_usage(stderr);
        status = 1;
    }
    if (status != 0 || connect_js(url, &n) != 0) {
        status = 1;
        goto out;
    }
    char *tree = NULL;
    struct buf t;
    buf_init(&t, 0);
    buf_printf(&t, "%s.>", prefix);
    tree = buf_steal(&t);
    natsStatus s = ensure_stream(n->js, stream, tree);
    free(tree);
    if (s != NATS_OK) {
        print_nats(stream, s);
        status = 1;
        goto out;
    }
    if (input_collect(paths, n_paths, &files, &e) != 0) {
        print_err(&e);
        status = 1;
    }
    if (per_file) {
        for (size_t i = 0; i < files.n; i++) {
            FILE *f = fopen(files.files[i].path, "rb");
            if (!f) {
                fprintf(stderr, "vigil publish: %s: %s\n", files.files[i].path, strerror(errno));
                status = 1;
                continue;
            }
            buf_reset(&data);
            char chunk[65536];
            size_t k;
            while ((k = fread(chunk, 1, sizeof(chunk), f)) > 0)
                buf_append(&data, chunk, k);
            fclose(f);
            subject_for(&subj, prefix, sv_cstr(files.files[i].account));
            s = js_PublishAsync(n->js, subj.p, data.p ? data.p : "", (int)data.len, NULL);
            if (s != NATS_OK) {
                print_nats(files.files[i].path, s);
                status = 2;
                break;
            }
            records++;
        }
    } else {
        struct input_options iopt = { 0 };
        input_open(&files, &iopt, &r, &e);
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
                errors++;
                continue;
            }
            struct sv acct = ev.account;
            if (acct.len == 0 && (ev.flags & EVENT_F_ENVELOPE))
                acct = ev.envelope.account;
            subject_for(&subj, prefix, acct);
            /* A flow line of a custom format travels with its header line. */
            buf_reset(&data);
            const char *msg = ev.raw.p;
            size_t len = ev.raw.len;
            if (ev.source == EVENT_VPCFLOW && input_flow_header(r, &data)) {
                buf_putc(&data, '\n');
                buf_append(&data, ev.raw.p, ev.raw.len);
                msg = data.p;
                len = data.len;
            }
            s = js_PublishAsync(n->js, subj.p, msg, (int)len, NULL);
            if (s != NATS_OK) {
                print_nats("publish", s);
                status = 2;
                break;
            }
            records++;
        }
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 60000;
    s = js_PublishAsyncComplete(n->js, &po);
    if (s != NATS_OK) {
        print_nats("waiting for the stream's acknowledgements", s);
        status = 2;
    }
    fprintf(stderr, "vigil publish: %llu %s published to %s, %llu bad\n",
            (unsigned long long)records, per_file ? "files" : "records", stream,
            (unsigned long long)errors);
    if (errors > 0 && status == 0)
        status = 1;
out:
    input_close(r);
    input_list_free(&files);
    buf_free(&subj);
    buf_free(&data);
    nats_cli_close(n);
    free(paths);
    return status;
}

#else /* without libnats */

struct nats_cli {
    int unused;
};

int nats_cli_open(const struct nats_args *a, struct nats_cli **out)
{
    (void)a;
    *out = NULL;
    fprintf(stderr, "vigil: this vigil was built without NATS support\n");
    return 1;
}

void nats_cli_close(struct nats_cli *n)
{
    (void)n;
}

int nats_cli_publish_finding(void *ctx, const struct finding *f, const char *json, size_t len,
                             struct err *err)
{
    return err_set(err, ERR_USAGE, "built without NATS support");
}

int nats_cli_consume(struct nats_cli *n, const struct nats_args *a,
                     const struct input_options *iopt, struct live *l, bool stats)
{
    fprintf(stderr, "vigil: this vigil was built without NATS support\n");
    return 1;
}

int cmd_publish(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "vigil publish: this vigil was built without NATS support (install "
                    "libnats-dev and rebuild)\n");
    return 1;
}

#endif
