/* qmp-client: blocking QMP client over a unix socket (see qmp-client.h).
 * Reads are buffered line by line (QMP messages are one JSON object per
 * line, CRLF or LF terminated); a line longer than QMP_MAX_LINE is a protocol
 * error rather than an unbounded allocation. Events seen while waiting for a
 * reply are appended to a queue that qmp_next_event drains first. */
#include "qmp-client.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct qmp_client {
    int fd;
    char *buf; /* received bytes not yet consumed */
    size_t len, cap;
    json_t *greeting;
    json_t *events; /* queued events, oldest first */
    unsigned long next_id;
};

__attribute__((format(printf, 3, 4))) static void qmp_set_error(struct qmp_error *err,
                                                                const char *cls, const char *fmt,
                                                                ...)
{
    if (!err)
        return;
    snprintf(err->cls, sizeof err->cls, "%s", cls);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->desc, sizeof err->desc, fmt, ap);
    va_end(ap);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Remaining time until DEADLINE (-1 = none) in poll() units. */
static int remaining(long long deadline)
{
    if (deadline < 0)
        return -1;
    long long r = deadline - now_ms();
    return r < 0 ? 0 : (int)r;
}

/* Reads one line into a new JSON object. Returns NULL with ERR filled. */
static json_t *qmp_read_message(struct qmp_client *c, long long deadline, struct qmp_error *err)
{
    for (;;) {
        char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
        if (nl) {
            size_t linelen = (size_t)(nl - c->buf);
            json_error_t jerr;
            json_t *msg = json_loadb(c->buf, linelen, JSON_REJECT_DUPLICATES, &jerr);
            memmove(c->buf, nl + 1, c->len - linelen - 1);
            c->len -= linelen + 1;
            if (linelen == 0 || (linelen == 1 && c->buf[0] == '\r'))
                continue;
            if (!msg || !json_is_object(msg)) {
                json_decref(msg);
                qmp_set_error(err, "ProtocolError", "malformed QMP message: %s",
                              msg ? "not an object" : jerr.text);
                return NULL;
            }
            return msg;
        }
        if (c->len >= QMP_MAX_LINE) {
            qmp_set_error(err, "ProtocolError", "QMP message longer than %u bytes", QMP_MAX_LINE);
            return NULL;
        }
        if (c->cap - c->len < 4096) {
            size_t ncap = c->cap ? c->cap * 2 : 8192;
            if (ncap > QMP_MAX_LINE + 4096)
                ncap = QMP_MAX_LINE + 4096;
            char *nb = realloc(c->buf, ncap);
            if (!nb) {
                qmp_set_error(err, "ProtocolError", "out of memory");
                return NULL;
            }
            c->buf = nb;
            c->cap = ncap;
        }
        struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
        int pr = poll(&pfd, 1, remaining(deadline));
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0) {
            qmp_set_error(err, "ConnectionError", "poll: %s", strerror(errno));
            return NULL;
        }
        if (pr == 0) {
            qmp_set_error(err, "Timeout", "timed out waiting for the QMP peer");
            return NULL;
        }
        ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0) {
            qmp_set_error(err, "ConnectionError", "QMP connection closed%s%s", n < 0 ? ": " : "",
                          n < 0 ? strerror(errno) : "");
            return NULL;
        }
        c->len += (size_t)n;
    }
}

static int qmp_send(struct qmp_client *c, json_t *msg, struct qmp_error *err)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    if (!text) {
        qmp_set_error(err, "ProtocolError", "cannot encode command");
        return -1;
    }
    size_t len = strlen(text), off = 0;
    int rc = 0;
    while (off <= len) {
        /* the terminating newline goes out as the last byte */
        const char *p = off < len ? text + off : "\n";
        size_t want = off < len ? len - off : 1;
        ssize_t n = send(c->fd, p, want, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            qmp_set_error(err, "ConnectionError", "send: %s", strerror(errno));
            rc = -1;
            break;
        }
        off += (size_t)n;
    }
    free(text);
    return rc;
}

struct qmp_client *qmp_connect(const char *path, int timeout_ms, struct qmp_error *err)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (!path || strlen(path) >= sizeof sa.sun_path) {
        qmp_set_error(err, "ConnectionError", "QMP socket path too long or empty");
        return NULL;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        qmp_set_error(err, "ConnectionError", "socket: %s", strerror(errno));
        return NULL;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        qmp_set_error(err, "ConnectionError", "cannot connect to QMP socket %s: %s", path,
                      strerror(errno));
        close(fd);
        return NULL;
    }
    return qmp_attach_fd(fd, timeout_ms, err);
}

struct qmp_client *qmp_attach_fd(int fd, int timeout_ms, struct qmp_error *err)
{
    struct qmp_client *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        qmp_set_error(err, "ConnectionError", "out of memory");
        return NULL;
    }
    c->fd = fd;
    c->events = json_array();
    c->next_id = 1;
    long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    json_t *greet = qmp_read_message(c, deadline, err);
    if (!greet)
        goto fail;
    json_t *qmp = json_object_get(greet, "QMP");
    if (!json_is_object(qmp)) {
        json_decref(greet);
        qmp_set_error(err, "ProtocolError", "peer did not send a QMP greeting");
        goto fail;
    }
    c->greeting = json_incref(qmp);
    json_decref(greet);
    if (qmp_execute(c, "qmp_capabilities", NULL, NULL, remaining(deadline), err) < 0)
        goto fail;
    return c;
fail:
    qmp_close(c);
    return NULL;
}

void qmp_close(struct qmp_client *c)
{
    if (!c)
        return;
    close(c->fd);
    free(c->buf);
    json_decref(c->greeting);
    json_decref(c->events);
    free(c);
}

json_t *qmp_greeting(struct qmp_client *c)
{
    return c->greeting;
}

int qmp_fd(struct qmp_client *c)
{
    return c->fd;
}

/* Per thread: an HTTP worker serves one request at a time, a swap worker
 * one swap. */
static __thread char request_tag[64];

void qmp_set_request_tag(const char *tag)
{
    snprintf(request_tag, sizeof request_tag, "%s", tag ? tag : "");
}

int qmp_execute(struct qmp_client *c, const char *command, json_t *args, json_t **ret,
                int timeout_ms, struct qmp_error *err)
{
    if (ret)
        *ret = NULL;
    char idbuf[96];
    snprintf(idbuf, sizeof idbuf, "%s-%lu", request_tag[0] ? request_tag : "volswap", c->next_id++);
    json_t *msg = json_pack("{s:s, s:s}", "execute", command, "id", idbuf);
    if (args)
        json_object_set(msg, "arguments", args);
    int rc = qmp_send(c, msg, err);
    json_decref(msg);
    if (rc < 0)
        return -1;
    long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    for (;;) {
        json_t *reply = qmp_read_message(c, deadline, err);
        if (!reply)
            return -1;
        if (json_object_get(reply, "event")) {
            json_array_append_new(c->events, reply);
            continue;
        }
        const char *rid = json_string_value(json_object_get(reply, "id"));
        if (!rid || strcmp(rid, idbuf) != 0) {
            /* a reply to someone else's id cannot happen on our own connection */
            json_decref(reply);
            qmp_set_error(err, "ProtocolError", "QMP reply with unexpected id");
            return -1;
        }
        json_t *e = json_object_get(reply, "error");
        if (e) {
            const char *cls = json_string_value(json_object_get(e, "class"));
            const char *desc = json_string_value(json_object_get(e, "desc"));
            qmp_set_error(err, cls ? cls : "GenericError", "%s", desc ? desc : "unknown error");
            json_decref(reply);
            return -1;
        }
        json_t *r = json_object_get(reply, "return");
        if (!r) {
            json_decref(reply);
            qmp_set_error(err, "ProtocolError", "QMP reply has neither return nor error");
            return -1;
        }
        if (ret)
            *ret = json_incref(r);
        json_decref(reply);
        return 0;
    }
}

json_t *qmp_next_event(struct qmp_client *c, int timeout_ms, struct qmp_error *err)
{
    if (json_array_size(c->events) > 0) {
        json_t *ev = json_incref(json_array_get(c->events, 0));
        json_array_remove(c->events, 0);
        return ev;
    }
    long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    for (;;) {
        json_t *msg = qmp_read_message(c, deadline, err);
        if (!msg)
            return NULL;
        if (json_object_get(msg, "event"))
            return msg;
        /* a stray reply (no command pending) is dropped */
        json_decref(msg);
    }
}

static int event_matches(json_t *ev, const char *name, const char *key, const char *value)
{
    const char *n = json_string_value(json_object_get(ev, "event"));
    if (!n || strcmp(n, name) != 0)
        return 0;
    if (!key)
        return 1;
    const char *v = json_string_value(json_object_get(json_object_get(ev, "data"), key));
    return v && value && strcmp(v, value) == 0;
}

json_t *qmp_wait_event(struct qmp_client *c, const char *name, const char *key, const char *value,
                       int timeout_ms, struct qmp_error *err)
{
    size_t i;
    json_t *ev;
    json_array_foreach(c->events, i, ev) {
        if (event_matches(ev, name, key, value)) {
            json_incref(ev);
            json_array_remove(c->events, i);
            return ev;
        }
    }
    long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    for (;;) {
        json_t *msg = qmp_read_message(c, deadline, err);
        if (!msg)
            return NULL;
        if (!json_object_get(msg, "event")) {
            json_decref(msg);
            continue;
        }
        if (event_matches(msg, name, key, value))
            return msg;
        json_array_append_new(c->events, msg);
    }
}
