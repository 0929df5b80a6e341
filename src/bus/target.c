/*
 * Remote-ish targets: a command (exec:) and a webhook (http://, https://).
 *
 * exec: the program runs with the argv of its ARN, never through a shell; the
 * payload is its standard input, its exit status decides (0 = delivered);
 * standard output and error are captured (the last 4 KiB) for the error
 * message. It runs in its own process group, killed (TERM, then KILL after a
 * second) when the timeout passes. Environment: the parent's, plus
 * VIGIL_RULE_NAME, VIGIL_TARGET_ID, VIGIL_EVENT_ID, VIGIL_ATTEMPT. A program
 * that cannot be started is not retried (EventBridge does not retry a target
 * that does not exist); any other failure is.
 *
 * http(s): a POST of the payload (Content-Type: application/json) through
 * libcurl with HttpParameters' headers and query string, and, when a secret
 * is set, X-Vigil-Timestamp and a signature header
 * "sha256=" HEX(HMAC-SHA256(secret, timestamp + "." + body)). 2xx is
 * success; as EventBridge API destinations do, 401, 407, 409, 429, 5xx and
 * network errors or timeouts are retried, other statuses are not.
 */
#include "bus/bus_int.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define CAPTURE_MAX 4096

struct bus_sender {
    CURL *curl;
};

struct bus_sender *bus__sender_new(void)
{
    struct bus_sender *s = xcalloc(1, sizeof(*s));
    return s;
}

void bus__sender_free(struct bus_sender *s)
{
    if (!s)
        return;
    if (s->curl)
        curl_easy_cleanup(s->curl);
    free(s);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* msg is truncated to fit ERROR_MESSAGE. */
static void fail(struct bus_result *res, bool retriable, const char *code, const char *what,
                 const char *detail)
{
    res->ok = false;
    res->retriable = retriable;
    snprintf(res->code, sizeof(res->code), "%s", code);
    size_t n = strlen(what) < sizeof(res->msg) - 1 ? strlen(what) : sizeof(res->msg) - 1;
    memcpy(res->msg, what, n);
    size_t m = detail ? strlen(detail) : 0;
    if (m > sizeof(res->msg) - 1 - n)
        m = sizeof(res->msg) - 1 - n;
    if (m)
        memcpy(res->msg + n, detail, m);
    res->msg[n + m] = '\0';
}

/* Keeps the last CAPTURE_MAX bytes of output. */
static void capture(struct buf *cap, const char *p, size_t n)
{
    if (n >= CAPTURE_MAX) {
        buf_reset(cap);
        buf_append(cap, p + n - CAPTURE_MAX, CAPTURE_MAX);
        return;
    }
    if (cap->len + n > CAPTURE_MAX) {
        size_t drop = cap->len + n - CAPTURE_MAX;
        memmove(cap->p, cap->p + drop, cap->len - drop);
        cap->len -= drop;
    }
    buf_append(cap, p, n);
}

/* The last non-empty line of the captured output, for ERROR_MESSAGE. */
static const char *last_line(struct buf *cap)
{
    if (!cap->p)
        return "";
    while (cap->len && (cap->p[cap->len - 1] == '\n' || cap->p[cap->len - 1] == '\r'))
        cap->len--;
    cap->p[cap->len] = '\0';
    char *nl = strrchr(cap->p, '\n');
    return nl ? nl + 1 : cap->p;
}

static void send_exec(const struct bus_target *t, const char *rule, const char *event_id,
                      int attempt, const char *payload, size_t len, struct bus_result *res)
{
    int sv[2] = { -1, -1 }, out[2] = { -1, -1 };
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 || pipe2(out, O_CLOEXEC) != 0) {
        fail(res, true, "EXEC_FAILED", "cannot create pipes: ", strerror(errno));
        goto close_fds;
    }
    /* The environment: the parent's plus the delivery's identity. */
    size_t ne = 0;
    while (environ[ne])
        ne++;
    char **envp = xcalloc(ne + 5, sizeof(*envp));
    struct buf vars[4];
    const char *names[] = { "VIGIL_RULE_NAME", "VIGIL_TARGET_ID", "VIGIL_EVENT_ID", "VIGIL_ATTEMPT" };
    char att[16];
    snprintf(att, sizeof(att), "%d", attempt);
    const char *vals[] = { rule, t->id, event_id, att };
    size_t k = 0;
    for (size_t i = 0; i < ne; i++) {
        bool ours = false;
        for (int v = 0; v < 4; v++)
            ours |= strncmp(environ[i], names[v], strlen(names[v])) == 0 &&
                    environ[i][strlen(names[v])] == '=';
        if (!ours)
            envp[k++] = environ[i];
    }
    for (int v = 0; v < 4; v++) {
        buf_init(&vars[v], 0);
        buf_printf(&vars[v], "%s=%s", names[v], vals[v]);
        envp[k++] = vars[v].p;
    }
    envp[k] = NULL;

    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, out[1], 2);
    sigset_t none, def;
    sigemptyset(&none);
    sigemptyset(&def);
    sigaddset(&def, SIGPIPE);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &def);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    int src = strchr(t->argv[0], '/')
                  ? posix_spawn(&pid, t->argv[0], &fa, &at, t->argv, envp)
                  : posix_spawnp(&pid, t->argv[0], &fa, &at, t->argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    for (int v = 0; v < 4; v++)
        buf_free(&vars[v]);
    free(envp);
    close(sv[1]);
    close(out[1]);
    sv[1] = out[1] = -1;
    if (src != 0) {
        /* The program is missing or not executable: retrying cannot help. */
        char d[300];
        snprintf(d, sizeof(d), "%s: %s", t->argv[0], strerror(src));
        fail(res, false, "EXEC_FAILED", "cannot run ", d);
        goto close_fds;
    }
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    struct buf cap;
    buf_init(&cap, 0);
    size_t sent = 0;
    int64_t deadline = mono_ms() + (int64_t)(t->timeout_s * 1000);
    bool timed_out = false, in_open = true, out_open = true;
    if (len == 0) {
        shutdown(sv[0], SHUT_WR);
        in_open = false;
    }
    while (out_open) {
        struct pollfd p[2];
        int np = 0;
        p[np++] = (struct pollfd){ out[0], POLLIN, 0 };
        if (in_open)
            p[np++] = (struct pollfd){ sv[0], POLLOUT, 0 };
        int64_t left = deadline - mono_ms();
        if (left <= 0) {
            timed_out = true;
            break;
        }
        if (poll(p, (nfds_t)np, (int)(left > 1000 ? 1000 : left)) < 0 && errno != EINTR)
            break;
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            char chunk[4096];
            ssize_t r = read(out[0], chunk, sizeof(chunk));
            if (r > 0)
                capture(&cap, chunk, (size_t)r);
            else if (r == 0 || (errno != EAGAIN && errno != EINTR))
                out_open = false;
        }
        if (in_open && np > 1 && (p[1].revents & (POLLOUT | POLLHUP | POLLERR))) {
            ssize_t w = send(sv[0], payload + sent, len - sent, MSG_NOSIGNAL);
            if (w > 0)
                sent += (size_t)w;
            if (w < 0 && errno != EAGAIN && errno != EINTR)
                sent = len; /* the program stopped reading: that is its choice */
            if (sent == len) {
                shutdown(sv[0], SHUT_WR);
                in_open = false;
            }
        }
    }
    int status = 0;
    if (timed_out) {
        kill(-pid, SIGTERM);
        int64_t grace = mono_ms() + 1000;
        while (waitpid(pid, &status, WNOHANG) == 0) {
            if (mono_ms() > grace) {
                kill(-pid, SIGKILL);
                waitpid(pid, &status, 0);
                break;
            }
            struct timespec ts = { 0, 10 * 1000000 };
            nanosleep(&ts, NULL);
        }
        char m2[96];
        snprintf(m2, sizeof(m2), "the command ran longer than %.3g seconds", t->timeout_s);
        fail(res, true, "TIMEOUT", m2, NULL);
    } else {
        /* Output closed: the program is done (or closed its output). */
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            res->ok = true;
        } else if (WIFEXITED(status)) {
            char code[32];
            snprintf(code, sizeof(code), "EXIT_%d", WEXITSTATUS(status));
            fail(res, true, code, "", last_line(&cap));
            if (!res->msg[0])
                snprintf(res->msg, sizeof(res->msg), "exit status %d", WEXITSTATUS(status));
        } else {
            char code[32];
            snprintf(code, sizeof(code), "SIGNAL_%d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
            fail(res, true, code, "killed by a signal: ", last_line(&cap));
        }
        /* A program that left children behind owns the group: clean it up. */
        kill(-pid, SIGKILL);
    }
    buf_free(&cap);
close_fds:
    for (int i = 0; i < 2; i++) {
        if (sv[i] >= 0)
            close(sv[i]);
        if (out[i] >= 0)
            close(out[i]);
    }
}

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    struct buf *b = ctx;
    size_t len = size * n;
    if (b->len < 1024)
        buf_append(b, p, len < 1024 - b->len ? len : 1024 - b->len);
    return len;
}

static void send_http(struct bus_sender *s, const struct bus_target *t, const char *rule,
                      const char *event_id, int attempt, const char *payload, size_t len,
                      int64_t now_ms, struct bus_result *res)
{
    if (!s->curl)
        s->curl = curl_easy_init();
    CURL *c = s->curl;
    if (!c) {
        fail(res, true, "CONNECTION_ERROR", "cannot initialise libcurl", NULL);
        return;
    }
    curl_easy_reset(c);
    struct buf url, body, h;
    buf_init(&url, 0);
    buf_init(&body, 0);
    buf_init(&h, 0);
    buf_append_cstr(&url, t->path);
    if (t->query)
        buf_append_cstr(&url, t->query);
    struct curl_slist *hdrs = NULL;
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "User-Agent: vigil-bus/0.1");
    hdrs = curl_slist_append(hdrs, "Expect:");
    buf_printf(&h, "X-Vigil-Event-Id: %s", event_id);
    hdrs = curl_slist_append(hdrs, h.p);
    buf_reset(&h);
    buf_printf(&h, "X-Vigil-Rule: %s", rule);
    hdrs = curl_slist_append(hdrs, h.p);
    buf_reset(&h);
    buf_printf(&h, "X-Vigil-Attempt: %d", attempt);
    hdrs = curl_slist_append(hdrs, h.p);
    for (size_t i = 0; i < t->n_headers; i++)
        hdrs = curl_slist_append(hdrs, t->headers[i]);
    if (t->hmac_secret) {
        char ts[24];
        snprintf(ts, sizeof(ts), "%lld", (long long)(now_ms / 1000));
        struct buf msg;
        buf_init(&msg, 0);
        buf_printf(&msg, "%s.", ts);
        buf_append(&msg, payload, len);
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int mlen = 0;
        HMAC(EVP_sha256(), t->hmac_secret, (int)strlen(t->hmac_secret),
             (const unsigned char *)msg.p, msg.len, mac, &mlen);
        buf_free(&msg);
        buf_reset(&h);
        buf_printf(&h, "X-Vigil-Timestamp: %s", ts);
        hdrs = curl_slist_append(hdrs, h.p);
        buf_reset(&h);
        buf_printf(&h, "%s: sha256=", t->sig_header);
        for (unsigned i = 0; i < mlen; i++)
            buf_printf(&h, "%02x", mac[i]);
        hdrs = curl_slist_append(hdrs, h.p);
    }
    curl_easy_setopt(c, CURLOPT_URL, url.p);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(t->timeout_s * 1000));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    CURLcode cc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (cc == CURLE_OPERATION_TIMEDOUT) {
        char m2[112];
        snprintf(m2, sizeof(m2), "no response within %.3g seconds", t->timeout_s);
        fail(res, true, "TIMEOUT", m2, NULL);
    } else if (cc != CURLE_OK) {
        fail(res, true, "CONNECTION_ERROR", curl_easy_strerror(cc), NULL);
    } else if (status >= 200 && status < 300) {
        res->ok = true;
    } else {
        bool retry = status == 401 || status == 407 || status == 409 || status == 429 ||
                     status >= 500;
        char code[32], d[1100];
        snprintf(code, sizeof(code), "HTTP_%ld", status);
        snprintf(d, sizeof(d), "HTTP %ld: %.*s", status, (int)(body.len > 1024 ? 1024 : body.len),
                 body.p ? body.p : "");
        fail(res, retry, code, d, NULL);
    }
    curl_slist_free_all(hdrs);
    buf_free(&url);
    buf_free(&body);
    buf_free(&h);
}

void bus__send(struct bus_sender *s, const struct bus_target *t, const char *rule_name,
               const char *event_id, int attempt, const char *payload, size_t len,
               int64_t now_ms, struct bus_result *res)
{
    memset(res, 0, sizeof(*res));
    if (t->kind == BUS_T_EXEC)
        send_exec(t, rule_name, event_id, attempt, payload, len, res);
    else
        send_http(s, t, rule_name, event_id, attempt, payload, len, now_ms, res);
}
