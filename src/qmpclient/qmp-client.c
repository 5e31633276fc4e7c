/* qmp-client: blocking QMP client over a unix socket or TCP, with or
 * without TLS (see qmp-client.h). Reads are buffered line by line (QMP
 * messages are one JSON object per line, CRLF or LF terminated); a line
 * longer than QMP_MAX_LINE is a protocol error rather than an unbounded
 * allocation. Events seen while waiting for a reply are appended to a
 * queue that qmp_next_event drains first.
 *
 * With TLS the socket is non-blocking and GnuTLS reads and writes it
 * directly: every wait is a poll() bounded by the caller's deadline (a
 * record that arrives in halves must not block past it), and decrypted
 * bytes GnuTLS still holds are taken before polling again. */
#include "qmp-client.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
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
    gnutls_session_t tls; /* NULL: plain */
    gnutls_certificate_credentials_t creds;
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

/* Waits until FD is ready for EVENTS or DEADLINE passes: 1 ready, 0 timed
 * out, -1 error (ERR filled). */
static int wait_fd(int fd, short events, long long deadline, struct qmp_error *err)
{
    for (;;) {
        struct pollfd pfd = { .fd = fd, .events = events };
        int pr = poll(&pfd, 1, remaining(deadline));
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0) {
            qmp_set_error(err, "ConnectionError", "poll: %s", strerror(errno));
            return -1;
        }
        return pr;
    }
}

/* Reads what has arrived: bytes (> 0), 0 at the peer's end, -EAGAIN when
 * nothing can be read without waiting, -1 with ERR filled on failure. */
static ssize_t recv_some(struct qmp_client *c, char *buf, size_t n, struct qmp_error *err)
{
    if (!c->tls) {
        ssize_t r = read(c->fd, buf, n);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            return -EAGAIN;
        if (r < 0) {
            qmp_set_error(err, "ConnectionError", "QMP connection closed: %s", strerror(errno));
            return -1;
        }
        return r;
    }
    ssize_t r = gnutls_record_recv(c->tls, buf, n);
    if (r >= 0)
        return r;
    if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
        return -EAGAIN;
    if (r == GNUTLS_E_PREMATURE_TERMINATION)
        return 0;
    /* A refused client learns it here under TLS 1.3 (the server checks
     * the certificate after its side of the handshake): say what came. */
    if (r == GNUTLS_E_FATAL_ALERT_RECEIVED)
        qmp_set_error(err, "ConnectionError", "TLS: the server refused us (alert: %s)",
                      gnutls_alert_get_name(gnutls_alert_get(c->tls)));
    else
        qmp_set_error(err, "ConnectionError", "TLS: %s", gnutls_strerror((int)r));
    return -1;
}

int qmp_pending(struct qmp_client *c)
{
    if (c->len && memchr(c->buf, '\n', c->len))
        return 1;
    return c->tls && gnutls_record_check_pending(c->tls) > 0;
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
        if (!(c->tls && gnutls_record_check_pending(c->tls) > 0)) {
            int pr = wait_fd(c->fd, POLLIN, deadline, err);
            if (pr < 0)
                return NULL;
            if (pr == 0) {
                qmp_set_error(err, "Timeout", "timed out waiting for the QMP peer");
                return NULL;
            }
        }
        ssize_t n = recv_some(c, c->buf + c->len, c->cap - c->len, err);
        if (n == -EAGAIN)
            continue;
        if (n < 0)
            return NULL;
        if (n == 0) {
            qmp_set_error(err, "ConnectionError", "QMP connection closed");
            return NULL;
        }
        c->len += (size_t)n;
    }
}

/* Bound on waiting for the socket to take a command (TLS, whose socket
 * does not block): a peer that reads nothing for this long is gone. */
#define SEND_TIMEOUT_MS 30000

static ssize_t send_some(struct qmp_client *c, const char *p, size_t n, struct qmp_error *err)
{
    if (!c->tls) {
        ssize_t r = send(c->fd, p, n, MSG_NOSIGNAL);
        if (r < 0 && errno == EINTR)
            return 0;
        if (r < 0)
            qmp_set_error(err, "ConnectionError", "send: %s", strerror(errno));
        return r;
    }
    long long deadline = now_ms() + SEND_TIMEOUT_MS;
    for (;;) {
        ssize_t r = gnutls_record_send(c->tls, p, n);
        if (r >= 0)
            return r;
        if (r != GNUTLS_E_AGAIN && r != GNUTLS_E_INTERRUPTED) {
            qmp_set_error(err, "ConnectionError", "TLS: %s", gnutls_strerror((int)r));
            return -1;
        }
        int pr = wait_fd(c->fd, POLLOUT, deadline, err);
        if (pr <= 0) {
            if (pr == 0)
                qmp_set_error(err, "ConnectionError", "the QMP peer takes no input");
            return -1;
        }
        /* GnuTLS wants the same call again after EAGAIN. */
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
        /* The terminating newline goes out apart, last: over TLS in a
         * record of its own, which qemu-storage-daemon 7.2 needs (it reads
         * a TLS chardev a byte per wakeup, and answers a command only when
         * more bytes arrive after it). */
        const char *p = off < len ? text + off : "\n";
        size_t want = off < len ? len - off : 1;
        ssize_t n = send_some(c, p, want, err);
        if (n < 0) {
            rc = -1;
            break;
        }
        off += (size_t)n;
    }
    free(text);
    return rc;
}

static int connect_unix(const char *path, struct qmp_error *err)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (!path || strlen(path) >= sizeof sa.sun_path) {
        qmp_set_error(err, "ConnectionError", "QMP socket path too long or empty");
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        qmp_set_error(err, "ConnectionError", "socket: %s", strerror(errno));
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        qmp_set_error(err, "ConnectionError", "cannot connect to QMP socket %s: %s", path,
                      strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* Splits "HOST:PORT" or "[V6]:PORT" into its parts (HOST may be empty). */
static int split_host_port(const char *hp, char *host, size_t hostlen, char *port, size_t portlen)
{
    const char *colon = strrchr(hp, ':');
    if (!colon || !colon[1])
        return -1;
    size_t hl = (size_t)(colon - hp);
    if (hl >= 2 && hp[0] == '[' && hp[hl - 1] == ']') {
        hp++;
        hl -= 2;
    }
    if (hl >= hostlen || strlen(colon + 1) >= portlen)
        return -1;
    memcpy(host, hp, hl);
    host[hl] = '\0';
    snprintf(port, portlen, "%s", colon + 1);
    return 0;
}

/* A TCP connection to HOST:PORT, bounded by DEADLINE (a host whose link
 * is down must not hold the caller for the kernel's minutes). */
static int connect_tcp(const char *host, const char *port, long long deadline,
                       struct qmp_error *err)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
    int r = getaddrinfo(host, port, &hints, &res);
    if (r != 0) {
        qmp_set_error(err, "ConnectionError", "cannot resolve %s:%s: %s", host, port,
                      gai_strerror(r));
        return -1;
    }
    int fd = -1, saved = 0;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        saved = errno;
        if (errno == EINPROGRESS) {
            struct qmp_error ignored;
            int pr = wait_fd(fd, POLLOUT, deadline, &ignored);
            socklen_t sl = sizeof saved;
            if (pr > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &saved, &sl) == 0 && saved == 0)
                break;
            if (pr == 0)
                saved = ETIMEDOUT;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        qmp_set_error(err, "ConnectionError", "cannot connect to QMP at %s:%s: %s", host, port,
                      strerror(saved));
        return -1;
    }
    return fd;
}

/* The TLS handshake on FD, bounded by DEADLINE, then the check of the
 * server's certificate (chain to the CA, validity, HOSTNAME). */
static int tls_start(struct qmp_client *c, const struct qmp_tls *tls, const char *hostname,
                     long long deadline, struct qmp_error *err)
{
    char ca[4096], crl[4096], cert[4096], key[4096];
    snprintf(ca, sizeof ca, "%s/ca-cert.pem", tls->dir);
    snprintf(crl, sizeof crl, "%s/ca-crl.pem", tls->dir);
    snprintf(cert, sizeof cert, "%s/client-cert.pem", tls->dir);
    snprintf(key, sizeof key, "%s/client-key.pem", tls->dir);
    int r = gnutls_certificate_allocate_credentials(&c->creds);
    if (r < 0) {
        c->creds = NULL;
        qmp_set_error(err, "ConnectionError", "TLS: %s", gnutls_strerror(r));
        return -1;
    }
    r = gnutls_certificate_set_x509_trust_file(c->creds, ca, GNUTLS_X509_FMT_PEM);
    if (r <= 0) {
        qmp_set_error(err, "ConnectionError", "TLS: cannot load the CA certificate %s: %s", ca,
                      r == 0 ? "no certificate in it" : gnutls_strerror(r));
        return -1;
    }
    if (access(crl, R_OK) == 0 &&
        (r = gnutls_certificate_set_x509_crl_file(c->creds, crl, GNUTLS_X509_FMT_PEM)) < 0) {
        qmp_set_error(err, "ConnectionError", "TLS: cannot load %s: %s", crl, gnutls_strerror(r));
        return -1;
    }
    if (access(cert, R_OK) == 0 &&
        (r = gnutls_certificate_set_x509_key_file(c->creds, cert, key, GNUTLS_X509_FMT_PEM)) < 0) {
        qmp_set_error(err, "ConnectionError", "TLS: cannot load %s and %s: %s", cert, key,
                      gnutls_strerror(r));
        return -1;
    }
    if ((r = gnutls_init(&c->tls, GNUTLS_CLIENT | GNUTLS_NONBLOCK)) < 0) {
        c->tls = NULL;
        qmp_set_error(err, "ConnectionError", "TLS: %s", gnutls_strerror(r));
        return -1;
    }
    if ((r = gnutls_set_default_priority(c->tls)) < 0 ||
        (r = gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, c->creds)) < 0) {
        qmp_set_error(err, "ConnectionError", "TLS: %s", gnutls_strerror(r));
        return -1;
    }
    /* Verified during the handshake: a server we cannot trust never sees
     * our certificate's use. */
    gnutls_session_set_verify_cert(c->tls, hostname, 0);
    gnutls_transport_set_int(c->tls, c->fd);
    for (;;) {
        r = gnutls_handshake(c->tls);
        if (r == 0)
            return 0;
        if (r != GNUTLS_E_AGAIN && r != GNUTLS_E_INTERRUPTED && gnutls_error_is_fatal(r))
            break;
        if (r == GNUTLS_E_AGAIN) {
            int pr = wait_fd(c->fd, gnutls_record_get_direction(c->tls) ? POLLOUT : POLLIN,
                             deadline, err);
            if (pr < 0)
                return -1;
            if (pr == 0) {
                qmp_set_error(err, "Timeout", "timed out in the TLS handshake");
                return -1;
            }
        }
    }
    if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
        gnutls_datum_t why = { 0 };
        unsigned status = gnutls_session_get_verify_cert_status(c->tls);
        gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &why, 0);
        qmp_set_error(err, "ConnectionError", "TLS: the server's certificate is refused: %s",
                      why.data ? (const char *)why.data : "not trusted");
        gnutls_free(why.data);
    } else if (r == GNUTLS_E_FATAL_ALERT_RECEIVED) {
        qmp_set_error(err, "ConnectionError", "TLS: the server refused us (alert: %s)",
                      gnutls_alert_get_name(gnutls_alert_get(c->tls)));
    } else {
        qmp_set_error(err, "ConnectionError", "TLS handshake failed: %s", gnutls_strerror(r));
    }
    return -1;
}

static struct qmp_client *client_new(int fd)
{
    struct qmp_client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->fd = fd;
    c->events = json_array();
    c->next_id = 1;
    return c;
}

/* Reads the greeting and negotiates: the part every transport shares. */
static struct qmp_client *client_greet(struct qmp_client *c, long long deadline,
                                       struct qmp_error *err);

struct qmp_client *qmp_connect_tls(const char *addr, const struct qmp_tls *tls, int timeout_ms,
                                   struct qmp_error *err)
{
    long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    if (!addr) {
        qmp_set_error(err, "ConnectionError", "no QMP address");
        return NULL;
    }
    bool tcp = strncmp(addr, "tcp:", 4) == 0;
    if (tls && !tcp) {
        qmp_set_error(err, "ConnectionError", "TLS needs a tcp:HOST:PORT address, not %s", addr);
        return NULL;
    }
    if (!tcp) {
        int fd = connect_unix(strncmp(addr, "unix:", 5) == 0 ? addr + 5 : addr, err);
        return fd < 0 ? NULL : qmp_attach_fd(fd, timeout_ms, err);
    }
    char host[256], port[32];
    if (split_host_port(addr + 4, host, sizeof host, port, sizeof port) < 0) {
        qmp_set_error(err, "ConnectionError", "expected tcp:HOST:PORT, got %s", addr);
        return NULL;
    }
    int fd = connect_tcp(host, port, deadline, err);
    if (fd < 0)
        return NULL;
    struct qmp_client *c = client_new(fd);
    if (!c) {
        close(fd);
        qmp_set_error(err, "ConnectionError", "out of memory");
        return NULL;
    }
    if (tls) {
        /* non-blocking, from connect_tcp: GnuTLS's waits are our polls */
        if (tls_start(c, tls, tls->hostname ? tls->hostname : host, deadline, err) < 0) {
            qmp_close(c);
            return NULL;
        }
    } else {
        int fl = fcntl(fd, F_GETFL);
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    }
    return client_greet(c, deadline, err);
}

struct qmp_client *qmp_connect(const char *addr, int timeout_ms, struct qmp_error *err)
{
    return qmp_connect_tls(addr, NULL, timeout_ms, err);
}

struct qmp_client *qmp_attach_fd(int fd, int timeout_ms, struct qmp_error *err)
{
    struct qmp_client *c = client_new(fd);
    if (!c) {
        close(fd);
        qmp_set_error(err, "ConnectionError", "out of memory");
        return NULL;
    }
    return client_greet(c, timeout_ms < 0 ? -1 : now_ms() + timeout_ms, err);
}

static struct qmp_client *client_greet(struct qmp_client *c, long long deadline,
                                       struct qmp_error *err)
{
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
    if (c->tls)
        gnutls_deinit(c->tls);
    if (c->creds)
        gnutls_certificate_free_credentials(c->creds);
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

/* NAME NULL: any event */
static int event_matches(json_t *ev, const char *name, const char *key, const char *value)
{
    if (!name)
        return 1;
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

json_t *qmp_next_event(struct qmp_client *c, int timeout_ms, struct qmp_error *err)
{
    return qmp_wait_event(c, NULL, NULL, NULL, timeout_ms, err);
}
