/* The QMP server's sockets: unix and TCP listeners, and for every client a
 * connection that moves bytes between its socket and its qmp_session —
 * all on the io_uring loop, with one recv and at most one send in flight
 * per client, and no blocking call anywhere.
 *
 * A TCP listener may require TLS (QEMU's chardev tls-creds and
 * tls-authz): the client's connection then has a TLS session on memory
 * buffers (src/crypto). Ciphertext is received into the session and
 * decrypted into the same input buffer plain bytes go to; the output
 * queue stays plaintext, and is encrypted a batch at a time just before
 * a send, its chunks retired once all of that batch's ciphertext has
 * gone, so the bounds below count the same bytes with and without TLS.
 * The greeting waits in the queue until the handshake (and the client's
 * certificate and authz check) is done; a refused client gets the TLS
 * alert, then is closed.
 *
 * Output is a queue of chunks, so appending (a reply, an event) never
 * moves memory the kernel may be sending from. The queue is bounded twice:
 * above QMP_OUT_HIGH the connection stops reading (a client that sends
 * commands without reading replies slows itself down, nobody else), and
 * above QMP_OUT_MAX — only events can push it there, since they are not
 * paced by the client's own requests — the client is dropped rather than
 * allowed to grow the daemon without bound.
 *
 * A connection is freed from a bottom half once neither a recv nor a send
 * is in the ring, never inside a callback that may still use it (the
 * session's input loop can decide to drop its own client). */
#include "monitor.h"

#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define QMP_RECV_SIZE (64u * 1024)
#define QMP_OUT_HIGH (256u * 1024)
#define QMP_OUT_MAX (8u * 1024 * 1024)
#define QMP_IOV_MAX 16
/* Plaintext encrypted per TLS send, at most. */
#define QMP_TLS_BATCH (256u * 1024)
/* Bound on how long shutdown waits for clients to take their last replies
 * (the `quit` reply): a client that does not read must not stop the exit. */
#define QMP_DRAIN_NS (2ull * 1000 * 1000 * 1000)

struct out_chunk {
    struct out_chunk *next;
    size_t len;
    char data[];
};

struct qmp_conn {
    struct vs_loop *loop;
    int fd;
    struct qmp_session *sess;
    struct vs_list link;

    struct vs_completion recv_c, send_c, cancel_c;
    bool recv_armed, send_armed, cancel_armed;
    char in[QMP_RECV_SIZE];
    size_t in_len;

    struct out_chunk *head, *tail;
    size_t head_off;       /* bytes of head already sent */
    size_t out_bytes;      /* queued, not yet sent */
    struct iovec iov[QMP_IOV_MAX];
    struct msghdr mh;

    struct vs_tls_session *tls; /* NULL: plain */
    size_t tls_plain;      /* plaintext bytes in the ciphertext flight */
    bool send_tls;         /* the send in flight is ciphertext */

    bool closing;          /* socket shut down; waiting for the ring */
    bool draining;         /* send what is queued, then close (shutdown, refused client) */
    struct vs_bh free_bh;
};

/* A monitor socket: the shared listener, its TLS settings, and its place
 * in our list. */
struct qmp_listener {
    struct vs_loop *loop;
    struct vs_listener *l;
    struct vs_object *creds; /* NULL: plain */
    char *authz;             /* authz object id, looked up per client */
    struct vs_list link;
};

static struct vs_list conns = VS_LIST_INIT(conns);
static struct vs_list listeners = VS_LIST_INIT(listeners);
static unsigned nconns, nlisteners;
static struct vs_bh *shutdown_done;
static struct vs_loop *shutdown_loop;
static struct vs_timer drain_timer;

static void conn_arm_recv(struct qmp_conn *c);
static void conn_arm_send(struct qmp_conn *c);
static void conn_close(struct qmp_conn *c);

static void check_shutdown_done(void)
{
    if (shutdown_done && nconns == 0 && nlisteners == 0) {
        struct vs_bh *bh = shutdown_done;
        shutdown_done = NULL;
        vs_timer_cancel(shutdown_loop, &drain_timer);
        vs_loop_defer(shutdown_loop, bh);
    }
}

unsigned qmp_server_client_count(void)
{
    return nconns;
}

/* ---- connections ------------------------------------------------------ */

static void free_chunks(struct qmp_conn *c)
{
    while (c->head) {
        struct out_chunk *n = c->head->next;
        free(c->head);
        c->head = n;
    }
    c->tail = NULL;
    c->head_off = 0;
    c->out_bytes = 0;
}

static void conn_free_bh(struct vs_bh *bh)
{
    struct qmp_conn *c = vs_container_of(bh, struct qmp_conn, free_bh);
    if (c->recv_armed || c->send_armed || c->cancel_armed)
        return; /* the last completion queues us again */
    vs_list_remove(&c->link);
    nconns--;
    qmp_session_free(c->sess);
    vs_tls_session_free(c->tls);
    free_chunks(c);
    close(c->fd);
    free(c);
    check_shutdown_done();
}

static void conn_maybe_free(struct qmp_conn *c)
{
    if (c->closing && !c->recv_armed && !c->send_armed && !c->cancel_armed)
        vs_loop_defer(c->loop, &c->free_bh);
}

static void conn_close(struct qmp_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    /* Completes the pending recv (with 0) and fails a pending send. */
    shutdown(c->fd, SHUT_RDWR);
    if (!c->send_armed)
        free_chunks(c);
    conn_maybe_free(c);
}

static bool conn_congested(struct qmp_session *s)
{
    struct qmp_conn *c = qmp_session_opaque(s);
    return c->closing || c->out_bytes > QMP_OUT_HIGH;
}

/* No receive is armed while input waits in the buffer for a deferred
 * reply: the receive would land after the bytes still there, and feeding
 * them (which moves the rest to the front) would leave it writing past
 * the data it reports. conn_resume arms it again. */
static bool conn_paused(struct qmp_conn *c)
{
    return conn_congested(c->sess) || qmp_session_waiting(c->sess);
}

static void conn_write(struct qmp_session *s, const char *data, size_t len)
{
    struct qmp_conn *c = qmp_session_opaque(s);
    if (c->closing)
        return;
    if (c->out_bytes + len > QMP_OUT_MAX) {
        vs_warn("QMP client not reading its output (%zu bytes queued): disconnected",
                c->out_bytes);
        conn_close(c);
        return;
    }
    struct out_chunk *ch = vs_malloc(sizeof(*ch) + len);
    ch->next = NULL;
    ch->len = len;
    memcpy(ch->data, data, len);
    if (c->tail)
        c->tail->next = ch;
    else
        c->head = ch;
    c->tail = ch;
    c->out_bytes += len;
    conn_arm_send(c);
}

static void conn_process(struct qmp_conn *c);

/* A deferred reply went out: feed what the client sent meanwhile. */
static void conn_resume(struct qmp_session *s)
{
    conn_process(qmp_session_opaque(s));
}

static const struct qmp_session_ops conn_ops = {
    .write = conn_write,
    .congested = conn_congested,
    .resume = conn_resume,
};

/* Feeds what is buffered to the session — with TLS, decrypting what has
 * arrived for as long as the session takes it — then reads more unless
 * the client is behind on its output. */
static void conn_process(struct qmp_conn *c)
{
    for (;;) {
        if (c->in_len > 0 && !c->closing && !c->draining) {
            size_t used = qmp_session_input(c->sess, c->in, c->in_len);
            memmove(c->in, c->in + used, c->in_len - used);
            c->in_len -= used;
        }
        if (!c->tls || !vs_tls_established(c->tls) || c->closing || c->draining ||
            conn_paused(c) || c->in_len == sizeof(c->in))
            break;
        ssize_t n = vs_tls_read(c->tls, c->in + c->in_len, sizeof(c->in) - c->in_len);
        if (n == -EAGAIN)
            break;
        if (n <= 0) {
            /* close_notify, or a record that fails authentication */
            conn_close(c);
            return;
        }
        c->in_len += (size_t)n;
    }
    if (c->tls)
        conn_arm_send(c); /* a read may have made output (a TLS 1.3 key update) */
    if (!c->closing && !c->draining && !conn_paused(c))
        conn_arm_recv(c);
}

/* One step of the TLS handshake with what has arrived. A refused client
 * gets its alert, then is closed. False once the connection is done for. */
static bool conn_tls_handshake(struct qmp_conn *c)
{
    struct vs_error err = { 0 };
    int r = vs_tls_handshake(c->tls, &err);
    if (r < 0) {
        vs_warn("QMP client refused: %s", err.msg);
        c->draining = true;
        conn_arm_send(c);
        if (!c->send_armed)
            conn_close(c);
        return false;
    }
    if (r > 0) {
        const char *who = vs_tls_peer_identity(c->tls);
        vs_debug("QMP client over TLS: %s", who ? who : "(no certificate)");
    }
    conn_arm_send(c); /* the handshake's output, and once done the greeting */
    return true;
}

static void recv_cb(struct vs_completion *comp, int res, unsigned flags)
{
    struct qmp_conn *c = vs_container_of(comp, struct qmp_conn, recv_c);
    c->recv_armed = false;
    if (c->closing || c->draining) {
        conn_maybe_free(c);
        return;
    }
    if (res == -EINTR || res == -EAGAIN) {
        conn_arm_recv(c);
        return;
    }
    if (res <= 0) {
        /* The client went away, maybe in the middle of a command whose
         * reply is still queued: that only concerns this connection. */
        conn_close(c);
        return;
    }
    if (c->tls) {
        vs_tls_in_added(c->tls, (size_t)res);
        if (!vs_tls_established(c->tls) && !conn_tls_handshake(c))
            return;
    } else {
        c->in_len += (size_t)res;
    }
    conn_process(c);
}

static void conn_arm_recv(struct qmp_conn *c)
{
    if (c->recv_armed)
        return;
    uint8_t *p;
    size_t space;
    if (c->tls) {
        p = vs_tls_in_space(c->tls, &space); /* 0: decrypt what is there first */
    } else {
        p = (uint8_t *)c->in + c->in_len;
        space = sizeof(c->in) - c->in_len;
    }
    if (space == 0)
        return;
    c->recv_armed = true;
    c->recv_c.cb = recv_cb;
    struct io_uring_sqe *sqe = vs_loop_sqe(c->loop, &c->recv_c);
    io_uring_prep_recv(sqe, c->fd, p, space, 0);
}

static void send_cb(struct vs_completion *comp, int res, unsigned flags)
{
    struct qmp_conn *c = vs_container_of(comp, struct qmp_conn, send_c);
    c->send_armed = false;
    if (c->closing) {
        free_chunks(c);
        conn_maybe_free(c);
        return;
    }
    if (res == -EINTR || res == -EAGAIN) {
        conn_arm_send(c);
        return;
    }
    if (res < 0) {
        conn_close(c);
        return;
    }
    bool was_congested = c->out_bytes > QMP_OUT_HIGH;
    size_t done = (size_t)res;
    if (c->send_tls) {
        /* Ciphertext: the batch's chunks are retired once all of it has
         * gone. */
        vs_tls_out_sent(c->tls, done);
        if (vs_tls_out_in_flight(c->tls) > 0) {
            conn_arm_send(c);
            return;
        }
        done = c->tls_plain;
        c->tls_plain = 0;
    }
    c->out_bytes -= done;
    while (done > 0 && c->head) {
        size_t left = c->head->len - c->head_off;
        if (done < left) {
            c->head_off += done;
            break;
        }
        done -= left;
        struct out_chunk *n = c->head->next;
        free(c->head);
        c->head = n;
        c->head_off = 0;
        if (!n)
            c->tail = NULL;
    }
    conn_arm_send(c);
    if (c->draining && !c->send_armed) {
        conn_close(c);
        return;
    }
    if (was_congested && c->out_bytes <= QMP_OUT_HIGH)
        conn_process(c);
}

static void conn_submit_send(struct qmp_conn *c, int n, bool tls)
{
    memset(&c->mh, 0, sizeof(c->mh));
    c->mh.msg_iov = c->iov;
    c->mh.msg_iovlen = (size_t)n;
    c->send_armed = true;
    c->send_tls = tls;
    c->send_c.cb = send_cb;
    struct io_uring_sqe *sqe = vs_loop_sqe(c->loop, &c->send_c);
    io_uring_prep_sendmsg(sqe, c->fd, &c->mh, MSG_NOSIGNAL);
}

/* A new flight of ciphertext once the last one has gone: what the session
 * output on its own (handshake messages, alerts) and, once the handshake
 * is done, the next batch of queued chunks, corked into shared records. */
static void conn_arm_send_tls(struct qmp_conn *c)
{
    if (vs_tls_out_in_flight(c->tls) == 0 && vs_tls_established(c->tls) && c->head) {
        size_t plain = 0;
        vs_tls_cork(c->tls);
        for (struct out_chunk *ch = c->head; ch && plain < QMP_TLS_BATCH; ch = ch->next) {
            size_t off = ch == c->head ? c->head_off : 0;
            if (vs_tls_write(c->tls, ch->data + off, ch->len - off) < 0) {
                conn_close(c);
                return;
            }
            plain += ch->len - off;
        }
        if (vs_tls_uncork(c->tls) < 0) {
            conn_close(c);
            return;
        }
        c->tls_plain = plain;
    }
    size_t len;
    const uint8_t *p = vs_tls_out(c->tls, &len);
    if (len == 0)
        return;
    c->iov[0].iov_base = (void *)p;
    c->iov[0].iov_len = len;
    conn_submit_send(c, 1, true);
}

static void conn_arm_send(struct qmp_conn *c)
{
    if (c->send_armed || c->closing)
        return;
    if (c->tls) {
        conn_arm_send_tls(c);
        return;
    }
    if (!c->head)
        return;
    int n = 0;
    for (struct out_chunk *ch = c->head; ch && n < QMP_IOV_MAX; ch = ch->next, n++) {
        size_t off = ch == c->head ? c->head_off : 0;
        c->iov[n].iov_base = ch->data + off;
        c->iov[n].iov_len = ch->len - off;
    }
    conn_submit_send(c, n, false);
}

static void conn_new(struct vs_loop *loop, int fd, struct qmp_listener *ql)
{
    struct vs_tls_session *tls = NULL;
    if (ql->creds) {
        struct vs_error err = { 0 };
        tls = vs_tls_session_new(ql->creds, ql->authz, &err);
        if (!tls) {
            vs_warn("QMP client: %s", err.msg);
            close(fd);
            return;
        }
    }
    struct qmp_conn *c = vs_zalloc(sizeof(*c));
    c->loop = loop;
    c->fd = fd;
    c->tls = tls;
    c->free_bh.fn = conn_free_bh;
    vs_list_append(&conns, &c->link);
    nconns++;
    c->sess = qmp_session_new(loop, &conn_ops, c);
    qmp_session_greet(c->sess); /* with TLS, queued until the handshake is done */
    conn_arm_recv(c);
}

/* ---- listeners -------------------------------------------------------- */

static void listener_accept(void *opaque, int fd)
{
    struct qmp_listener *ql = opaque;
    conn_new(ql->loop, fd, ql);
}

/* The shared listener has freed itself: forget it, maybe finish shutdown. */
static void listener_gone(void *opaque)
{
    struct qmp_listener *ql = opaque;
    vs_list_remove(&ql->link);
    nlisteners--;
    vs_object_unref(ql->creds);
    free(ql->authz);
    free(ql);
    check_shutdown_done();
}

static void listener_add(struct vs_loop *loop, int fd, const char *unix_path,
                         struct vs_object *creds, const char *authz)
{
    struct qmp_listener *ql = vs_zalloc(sizeof(*ql));
    ql->loop = loop;
    ql->creds = creds ? vs_object_ref(creds) : NULL;
    ql->authz = authz ? vs_strdup(authz) : NULL;
    vs_list_append(&listeners, &ql->link);
    nlisteners++;
    ql->l = vs_listener_start(loop, fd, unix_path, "QMP server", listener_accept, listener_gone,
                              ql);
}

int qmp_server_listen(struct vs_loop *loop, const char *path, struct vs_error *err)
{
    int fd = vs_listen_unix(path, err);
    if (fd < 0)
        return -1;
    listener_add(loop, fd, path, NULL, NULL);
    return 0;
}

int qmp_server_listen_inet(struct vs_loop *loop, const char *host, const char *port,
                           const char *tls_creds, const char *tls_authz, struct vs_error *err)
{
    if (tls_authz && !tls_creds) {
        vs_error_set(err, VS_ERR_GENERIC, "'tls_authz' option requires 'tls_creds' option");
        return -1;
    }
    struct vs_object *creds = NULL;
    if (tls_creds) {
        creds = vs_tls_creds_lookup(tls_creds, VS_TLS_SERVER, err);
        if (!creds)
            return -1;
    }
    int fd = vs_listen_inet(host, port, err);
    if (fd < 0)
        return -1;
    listener_add(loop, fd, NULL, creds, tls_authz);
    return 0;
}

static void conn_cancel_cb(struct vs_completion *comp, int res, unsigned flags)
{
    struct qmp_conn *c = vs_container_of(comp, struct qmp_conn, cancel_c);
    c->cancel_armed = false;
    conn_maybe_free(c);
}

static void drain_timeout(struct vs_timer *t)
{
    vs_list_for_each_safe(pos, &conns)
        conn_close(vs_list_entry(pos, struct qmp_conn, link));
}

void qmp_server_shutdown(struct vs_loop *loop, struct vs_bh *done)
{
    vs_list_for_each(pos, &listeners) {
        struct qmp_listener *ql = vs_list_entry(pos, struct qmp_listener, link);
        vs_listener_stop(ql->l); /* a second call does nothing */
    }
    /* Clients stop being read, get what is queued for them (the reply to
     * `quit`), then are closed; a client that does not read is closed
     * when the drain timer fires. */
    vs_list_for_each_safe(pos, &conns) {
        struct qmp_conn *c = vs_list_entry(pos, struct qmp_conn, link);
        if (c->closing)
            continue;
        c->draining = true;
        if (c->recv_armed && !c->cancel_armed) {
            c->cancel_armed = true;
            c->cancel_c.cb = conn_cancel_cb;
            struct io_uring_sqe *sqe = vs_loop_sqe(loop, &c->cancel_c);
            io_uring_prep_cancel(sqe, &c->recv_c, 0);
        }
        conn_arm_send(c); /* nothing, or a send already in flight */
        if (!c->send_armed)
            conn_close(c);
    }
    shutdown_done = done;
    shutdown_loop = loop;
    drain_timer.fn = drain_timeout;
    vs_timer_arm(loop, &drain_timer, QMP_DRAIN_NS);
    check_shutdown_done();
}
