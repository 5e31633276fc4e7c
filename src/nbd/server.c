/* The NBD server's sockets: listening (unix or TCP), accepting, and the
 * life of a connection — its input buffer, its send queue and its
 * reference count. The protocol itself is in handshake.c and
 * transmission.c; this file only moves bytes and decides when a
 * connection may be freed.
 *
 * TLS (STARTTLS, when the server has tls-creds) changes only how bytes
 * move, never the protocol code: received ciphertext goes into the
 * session's input, and conn_tls_fill decrypts into the same places plain
 * bytes would have been received (the input buffer, or a WRITE's payload
 * buffer); replies are built as for a plain socket and encrypted in
 * batches just before the send (conn_arm_send_tls), and a batch's
 * replies are retired once all of its ciphertext has gone.
 *
 * A connection is freed when nothing refers to it: no recv or send in the
 * ring and no request in flight in the block layer. Closing therefore
 * means: stop parsing, shut the socket down (which completes the pending
 * recv), and let the last reference free it. A request that finishes on a
 * closed connection is dropped, never sent.
 *
 * Loops. The server, its listener, the handshake and everything the
 * handshake reads (exports, TLS objects, authz) belong to the server's
 * loop, the daemon's first. With more loops (nbd_server_set_loops), a
 * connection that has chosen its export moves, once its socket is idle,
 * to the loop serving the fewest connections; from then on its socket,
 * its requests, its buffers and its TLS session are that loop's alone.
 * Its requests reach the node through the export's backend, which sends
 * them to the node's loop and brings the results back (block.h). What a
 * moved connection still owes the server's loop — the export's client
 * count at close, the server's count and the TLS object reference at
 * free — goes there as a message; what the server's loop asks of it
 * (close the clients of an export, close all, close after the requests
 * in flight) comes to its loop as a message, never through a lock. */
#include "internal.h"

#include <assert.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The running server: its listener and the address it was started on. */
static struct vs_listener *listener;
static struct nbd_server_addr server_addr;
static struct vs_loop *server_loop;
static unsigned max_conns;
static unsigned handshake_max_s;
static struct nbd_server_tls server_tls;
static struct vs_list conns = VS_LIST_INIT(conns);
static unsigned nconns;
static uint64_t accepted_total;
static struct vs_bh *all_closed_waiter;
static struct vs_loop *waiter_loop;
static struct vs_timer grace_timer; /* bounds a graceful close */

/* The loops connections move to, by their index (vs_loop_index), and how
 * many connections each serves; the server's loop only. Indices 1 ..
 * n_loops-1 are the pool (--loops) that unbound exports' clients spread
 * over; NBD_POOL_LOOPS and up are dedicated loops (iothread objects),
 * which serve only the exports bound to them. lists[i] is loop i's
 * connections, touched only on loop i (lists[0] is unused: `conns` is
 * the server's). Fixed arrays, so that adding a loop never moves what
 * another loop is using. */
static struct vs_loop *home;
static struct vs_loop *io_loops[NBD_MAX_LOOPS];
static unsigned n_loops;
static unsigned io_load[NBD_MAX_LOOPS];
static unsigned io_next;
static struct vs_list lists[NBD_MAX_LOOPS];

static void conn_arm_recv(struct nbd_conn *conn);
static void conn_arm_send(struct nbd_conn *conn);
static void conn_process(struct nbd_conn *conn);
static void conn_maybe_finish_disc(struct nbd_conn *conn);

void nbd_server_addr_clear(struct nbd_server_addr *addr)
{
    free(addr->path);
    free(addr->host);
    free(addr->port);
    addr->path = addr->host = addr->port = NULL;
}

void nbd_server_addr_copy(struct nbd_server_addr *dst, const struct nbd_server_addr *src)
{
    dst->type = src->type;
    dst->path = src->path ? vs_strdup(src->path) : NULL;
    dst->host = src->host ? vs_strdup(src->host) : NULL;
    dst->port = src->port ? vs_strdup(src->port) : NULL;
}

/* A copy of TLS settings that owns what it points to: a reference to the
 * credentials and its own authz id (the server's, and each connection's,
 * so that an object-del or a server restart leaves them valid). */
static void tls_cfg_copy(struct nbd_server_tls *dst, const struct nbd_server_tls *src)
{
    memset(dst, 0, sizeof(*dst));
    if (src && src->creds) {
        dst->creds = vs_object_ref(src->creds);
        dst->authz = src->authz ? vs_strdup(src->authz) : NULL;
    }
}

static void tls_cfg_clear(struct nbd_server_tls *t)
{
    vs_object_unref(t->creds);
    free((char *)t->authz);
    memset(t, 0, sizeof(*t));
}

/* ---- connections ---------------------------------------------------- */

/* The server's loop: a connection is gone. */
static void conn_gone(unsigned loop_index)
{
    nconns--;
    if (loop_index > 0 && loop_index < NBD_MAX_LOOPS)
        io_load[loop_index]--;
    if (nconns == 0 && all_closed_waiter) {
        struct vs_bh *w = all_closed_waiter;
        all_closed_waiter = NULL;
        vs_timer_cancel(waiter_loop, &grace_timer);
        vs_loop_defer(waiter_loop, w);
    }
}

/* What a moved connection leaves to the server's loop when it goes. */
struct gone_msg {
    struct vs_msg m;
    struct nbd_server_tls tls;  /* the reference to drop (objects are the server loop's) */
    struct nbd_export *exp;     /* NULL: the connection is freed; else it left this export */
    unsigned loop_index;
};

static void gone_msg_fn(struct vs_msg *m)
{
    struct gone_msg *g = vs_container_of(m, struct gone_msg, m);
    if (g->exp) {
        g->exp->remote_connections--;
        nbd_export_conn_gone(g->exp);
    } else {
        tls_cfg_clear(&g->tls);
        conn_gone(g->loop_index);
    }
    free(g);
}

static void post_gone(struct nbd_export *exp, struct nbd_conn *conn)
{
    struct gone_msg *g = vs_zalloc(sizeof(*g));
    g->m.fn = gone_msg_fn;
    g->exp = exp;
    g->loop_index = conn->loop_index;
    if (!exp) {
        g->tls = conn->tls_cfg;
        memset(&conn->tls_cfg, 0, sizeof(conn->tls_cfg));
    }
    vs_loop_post(home, &g->m);
}

static void conn_free(struct nbd_conn *conn)
{
    vs_list_remove(&conn->link);
    vs_timer_cancel(conn->loop, &conn->hs_deadline);
    close(conn->fd);
    vs_tls_session_free(conn->tls);
    free(conn->in);
    free(conn->iov);
    free(conn->hs_out);
    free(conn->opt_data);
    if (conn->remote) {
        post_gone(NULL, conn);
        free(conn);
        return;
    }
    tls_cfg_clear(&conn->tls_cfg);
    unsigned chosen = conn->loop_index; /* > 0: closed before it could move */
    free(conn);
    conn_gone(chosen);
}

void nbd_conn_read_done(struct nbd_conn *conn)
{
    if (--conn->reads == 0 && conn->gone_exp) {
        post_gone(conn->gone_exp, conn);
        conn->gone_exp = NULL;
    }
}

void nbd_conn_unref(struct nbd_conn *conn)
{
    if (--conn->refs == 0)
        conn_free(conn);
}

void nbd_conn_close(struct nbd_conn *conn)
{
    if (conn->phase == PHASE_CLOSING)
        return;
    conn->phase = PHASE_CLOSING;
    if (conn->exp) {
        struct nbd_export *exp = conn->exp;
        conn->exp = NULL;
        /* After every request this connection sent to the node (messages
         * from one loop arrive in order), so the export outlives them. */
        if (conn->remote && conn->reads > 0)
            conn->gone_exp = exp; /* nbd_conn_read_done posts it */
        else if (conn->remote)
            post_gone(exp, conn);
        else
            nbd_export_conn_gone(exp);
    }
    /* Completes the pending recv (with 0) and fails any pending send. */
    shutdown(conn->fd, SHUT_RDWR);
    /* Replies nobody will read. While a send is in the ring its iovecs
     * point into the queued replies: send_cb frees them instead. */
    if (!conn->send_armed) {
        vs_list_for_each_safe(l, &conn->sendq) {
            struct nbd_req *req = vs_list_entry(l, struct nbd_req, link);
            vs_list_remove(&req->link);
            nbd_req_free(req);
        }
    }
    if (conn->payload_req) {
        nbd_req_free(conn->payload_req);
        conn->payload_req = NULL;
    }
    nbd_conn_unref(conn); /* the connection's own reference */
}

static void conn_maybe_finish_disc(struct nbd_conn *conn)
{
    if (conn->closing_after_drain && conn->inflight_reqs == 0 &&
        vs_list_empty(&conn->sendq) && !conn->send_armed)
        nbd_conn_close(conn);
}

/* Moves what is still unparsed to the start of the input buffer, making
 * room at its end for the next receive (plain) or decryption (TLS). */
static void conn_in_compact(struct nbd_conn *conn)
{
    if (conn->in_pos > 0) {
        memmove(conn->in, conn->in + conn->in_pos, conn->in_len - conn->in_pos);
        conn->in_len -= conn->in_pos;
        conn->in_pos = 0;
    }
}

static bool conn_backpressure(const struct nbd_conn *conn)
{
    return conn->inflight_reqs >= NBD_MAX_INFLIGHT_REQS ||
           conn->inflight_bytes >= NBD_MAX_INFLIGHT_BYTES;
}

/* ---- TLS --------------------------------------------------------------- */

int nbd_conn_start_tls(struct nbd_conn *conn)
{
    struct vs_error err = { 0 };
    conn->tls = vs_tls_session_new(conn->tls_cfg.creds, conn->tls_cfg.authz, &err);
    if (!conn->tls) {
        vs_warn("NBD client: %s", err.msg);
        return -1;
    }
    return 0;
}

/* One step of the TLS handshake with what has arrived. A failed one sends
 * its alert, then closes (-1). */
static int conn_tls_handshake(struct nbd_conn *conn)
{
    struct vs_error err = { 0 };
    int r = vs_tls_handshake(conn->tls, &err);
    if (r < 0) {
        vs_warn("NBD client refused: %s", err.msg);
        conn->closing_after_drain = true;
    }
    conn_arm_send(conn);
    conn_maybe_finish_disc(conn);
    return r < 0 ? -1 : 0;
}

/* Decrypts what has arrived to where plain bytes would have been received:
 * a WRITE's payload buffer, or the input buffer (unless the connection is
 * at its limit of requests in flight, as a plain recv would not be armed
 * then). True if it produced anything. */
static bool conn_tls_fill(struct nbd_conn *conn)
{
    if (!conn->tls || !vs_tls_established(conn->tls) || conn->phase == PHASE_CLOSING ||
        conn->closing_after_drain)
        return false;
    ssize_t n;
    if (conn->payload_req) {
        struct nbd_req *req = conn->payload_req;
        n = vs_tls_read(conn->tls, (uint8_t *)req->buf + req->breq.done,
                        req->len - req->breq.done);
        if (n > 0) {
            req->breq.done += (uint64_t)n;
            if (req->breq.done == req->len) {
                conn->payload_req = NULL;
                req->breq.done = 0;
                nbd_req_start(req);
            }
            return true;
        }
    } else {
        if (conn->phase == PHASE_TRANSMISSION && conn_backpressure(conn))
            return false;
        conn_in_compact(conn);
        if (conn->in_len == NBD_INBUF_SIZE)
            return false;
        n = vs_tls_read(conn->tls, conn->in + conn->in_len, NBD_INBUF_SIZE - conn->in_len);
        if (n > 0) {
            conn->in_len += (size_t)n;
            return true;
        }
    }
    if (n == -EAGAIN)
        return false;
    /* close_notify, or a record that fails authentication: either way
     * nothing more will be read from this client. */
    conn->read_eof = true;
    nbd_conn_close(conn);
    return false;
}

static void recv_cb(struct vs_completion *c, int res, unsigned flags)
{
    struct nbd_conn *conn = vs_container_of(c, struct nbd_conn, recv_c);
    conn->recv_armed = false;
    if (conn->phase == PHASE_CLOSING) {
        nbd_conn_unref(conn);
        return;
    }
    if (res == -EINTR || res == -EAGAIN) {
        nbd_conn_unref(conn);
        conn_arm_recv(conn);
        return;
    }
    if (res <= 0) {
        /* The client hung up (or the socket failed): nothing more will
         * arrive, and nobody reads what we would send. */
        conn->read_eof = true;
        nbd_conn_close(conn);
        nbd_conn_unref(conn);
        return;
    }
    if (conn->tls) {
        vs_tls_in_added(conn->tls, (size_t)res);
        if (!vs_tls_established(conn->tls) && conn_tls_handshake(conn) < 0) {
            nbd_conn_unref(conn);
            return;
        }
    } else if (conn->payload_req) {
        struct nbd_req *req = conn->payload_req;
        req->breq.done += (uint64_t)res;
        if (req->breq.done == req->len) {
            conn->payload_req = NULL;
            req->breq.done = 0;
            nbd_req_start(req);
        }
    } else {
        conn->in_len += (size_t)res;
    }
    conn_process(conn);
    nbd_conn_unref(conn);
}

static void conn_arm_recv(struct nbd_conn *conn)
{
    if (conn->recv_armed || conn->read_eof || conn->phase == PHASE_CLOSING ||
        conn->closing_after_drain || conn->move_to)
        return;
    struct io_uring_sqe *sqe;
    if (conn->tls) {
        if (!conn->payload_req && conn->phase == PHASE_TRANSMISSION && conn_backpressure(conn))
            return; /* a completing request re-arms us */
        size_t space;
        uint8_t *p = vs_tls_in_space(conn->tls, &space);
        if (space == 0)
            return; /* conn_tls_fill has to take from it first */
        conn->recv_c.cb = recv_cb;
        sqe = vs_loop_sqe(conn->loop, &conn->recv_c);
        io_uring_prep_recv(sqe, conn->fd, p, space, 0);
    } else if (conn->payload_req) {
        struct nbd_req *req = conn->payload_req;
        conn->recv_c.cb = recv_cb;
        sqe = vs_loop_sqe(conn->loop, &conn->recv_c);
        io_uring_prep_recv(sqe, conn->fd, (uint8_t *)req->buf + req->breq.done,
                           req->len - req->breq.done, MSG_WAITALL);
    } else {
        if (conn->phase == PHASE_TRANSMISSION && conn_backpressure(conn))
            return; /* a completing request re-arms us */
        conn_in_compact(conn);
        if (conn->in_len == NBD_INBUF_SIZE) {
            /* Cannot happen: no message we buffer is this large. */
            nbd_conn_close(conn);
            return;
        }
        conn->recv_c.cb = recv_cb;
        sqe = vs_loop_sqe(conn->loop, &conn->recv_c);
        io_uring_prep_recv(sqe, conn->fd, conn->in + conn->in_len,
                           NBD_INBUF_SIZE - conn->in_len, 0);
    }
    conn->recv_armed = true;
    conn->refs++;
}

void nbd_conn_kick_recv(struct nbd_conn *conn)
{
    /* A request finished: parse what is already buffered, then read. */
    if (conn->phase == PHASE_CLOSING)
        return;
    conn_maybe_finish_disc(conn);
    if (conn->phase == PHASE_CLOSING || conn->recv_armed)
        return;
    conn_process(conn);
}

static void conn_move(struct nbd_conn *conn);

static void conn_process(struct nbd_conn *conn)
{
  again:
    while (conn->phase != PHASE_CLOSING && !conn->payload_req &&
           !conn->closing_after_drain && !conn->move_to) {
        size_t avail = conn->in_len - conn->in_pos;
        if (conn->skip > 0) {
            size_t n = (size_t)VS_MIN((uint64_t)avail, conn->skip);
            conn->in_pos += n;
            conn->skip -= n;
            if (conn->skip > 0)
                break;
            continue;
        }
        if (avail == 0)
            break;
        if (conn->phase == PHASE_TRANSMISSION && conn_backpressure(conn))
            break;
        ssize_t r = conn->phase == PHASE_HANDSHAKE
                        ? nbd_handshake_input(conn, conn->in + conn->in_pos, avail)
                        : nbd_transmission_input(conn, conn->in + conn->in_pos, avail);
        if (r < 0) {
            nbd_conn_close(conn);
            return;
        }
        if (r == 0)
            break;
        conn->in_pos += (size_t)r;
        if (conn->tls && !vs_tls_established(conn->tls)) {
            /* STARTTLS was acknowledged: whatever the client sent after
             * it is already its TLS handshake. */
            if (!vs_tls_in_put(conn->tls, conn->in + conn->in_pos, conn->in_len - conn->in_pos)) {
                nbd_conn_close(conn);
                return;
            }
            conn->in_len = conn->in_pos = 0;
            if (conn_tls_handshake(conn) < 0)
                return;
            break;
        }
    }
    if (conn->move_to) {
        conn_move(conn);
        return;
    }
    if (conn_tls_fill(conn))
        goto again;
    conn_arm_send(conn); /* handshake replies, if any */
    conn_maybe_finish_disc(conn);
    conn_arm_recv(conn);
}

/* ---- output ---------------------------------------------------------- */

static void send_cb(struct vs_completion *c, int res, unsigned flags)
{
    struct nbd_conn *conn = vs_container_of(c, struct nbd_conn, send_c);
    conn->send_armed = false;
    if (res < 0 && (res == -EINTR || res == -EAGAIN))
        res = 0;
    if (res < 0 || conn->phase == PHASE_CLOSING) {
        /* Whatever is queued will never be read. */
        vs_list_for_each_safe(l, &conn->sendq) {
            struct nbd_req *req = vs_list_entry(l, struct nbd_req, link);
            vs_list_remove(&req->link);
            nbd_req_free(req);
        }
        if (conn->phase != PHASE_CLOSING)
            nbd_conn_close(conn);
        nbd_conn_unref(conn);
        return;
    }
    size_t sent = (size_t)res;
    if (conn->send_tls) {
        /* Ciphertext: the batch's replies are retired once all of it has
         * gone. */
        vs_tls_out_sent(conn->tls, sent);
        if (vs_tls_out_in_flight(conn->tls) > 0) {
            conn_arm_send(conn);
            nbd_conn_unref(conn);
            return;
        }
        sent = conn->tls_plain;
        conn->tls_plain = 0;
    }
    if (conn->hs_out_sent < conn->hs_out_len) {
        conn->hs_out_sent += sent;
        if (conn->hs_out_sent == conn->hs_out_len)
            conn->hs_out_sent = conn->hs_out_len = 0;
    } else {
        /* Retire fully sent replies; trim the first partly sent one. */
        while (sent > 0 && !vs_list_empty(&conn->sendq)) {
            struct nbd_req *req = vs_list_first(&conn->sendq, struct nbd_req, link);
            size_t total = req->hdr_len + req->tail_len;
            if (sent >= total) {
                sent -= total;
                vs_list_remove(&req->link);
                nbd_req_free(req);
                continue;
            }
            if (sent < req->hdr_len) {
                memmove(req->hdr, req->hdr + sent, req->hdr_len - sent);
                req->hdr_len -= (unsigned)sent;
            } else {
                size_t t = sent - req->hdr_len;
                req->hdr_len = 0;
                req->tail = (const uint8_t *)req->tail + t;
                req->tail_len -= t;
            }
            sent = 0;
        }
    }
    conn_arm_send(conn);
    conn_maybe_finish_disc(conn);
    if (conn->phase == PHASE_TRANSMISSION && !conn->recv_armed)
        conn_process(conn);
    nbd_conn_unref(conn);
}

static struct msghdr *conn_msghdr(struct nbd_conn *conn)
{
    /* Kept beside the iovec array, alive until the send completes. */
    return (struct msghdr *)(conn->iov + conn->iov_cap);
}

/* The next replies to send, as iovecs: handshake output, or replies from
 * the send queue. */
static unsigned conn_build_iov(struct nbd_conn *conn)
{
    unsigned n = 0;
    if (conn->hs_out_sent < conn->hs_out_len) {
        conn->iov[n].iov_base = conn->hs_out + conn->hs_out_sent;
        conn->iov[n].iov_len = conn->hs_out_len - conn->hs_out_sent;
        n++;
    } else {
        vs_list_for_each(l, &conn->sendq) {
            struct nbd_req *req = vs_list_entry(l, struct nbd_req, link);
            if (n + 2 > conn->iov_cap)
                break;
            if (req->hdr_len) {
                conn->iov[n].iov_base = req->hdr;
                conn->iov[n].iov_len = req->hdr_len;
                n++;
            }
            if (req->tail_len) {
                conn->iov[n].iov_base = (void *)req->tail;
                conn->iov[n].iov_len = req->tail_len;
                n++;
            }
        }
    }
    return n;
}

static void conn_submit_send(struct nbd_conn *conn, unsigned n, bool tls)
{
    struct msghdr *msg = conn_msghdr(conn);
    memset(msg, 0, sizeof(*msg));
    msg->msg_iov = conn->iov;
    msg->msg_iovlen = n;
    conn->send_tls = tls;
    conn->send_c.cb = send_cb;
    struct io_uring_sqe *sqe = vs_loop_sqe(conn->loop, &conn->send_c);
    io_uring_prep_sendmsg(sqe, conn->fd, msg, MSG_NOSIGNAL);
    conn->send_armed = true;
    conn->refs++;
}

/* Plaintext encrypted per send, at most: enough for large reads to leave
 * in big sends, small enough that replies are not held back long. */
#define TLS_BATCH (1u << 20)
/* Average piece size below which a batch is corked (a TLS record holds
 * 16 KiB). */
#define TLS_SMALL_PIECE (16u * 1024)

/* A new flight of ciphertext: whatever the session has output on its own
 * (handshake messages, alerts) and the next batch of replies, encrypted
 * with records shared between small replies. */
static void conn_arm_send_tls(struct nbd_conn *conn)
{
    if (vs_tls_out_in_flight(conn->tls) == 0 && vs_tls_established(conn->tls)) {
        unsigned n = conn_build_iov(conn);
        size_t plain = 0, total = 0;
        for (unsigned i = 0; i < n; i++)
            total += conn->iov[i].iov_len;
        /* Small pieces (reply headers, 4 KiB reads) would each become a
         * record of their own: corked, they share records. Large reads go
         * straight into records, without the copy corking costs. */
        if (total < (size_t)n * TLS_SMALL_PIECE)
            vs_tls_cork(conn->tls);
        for (unsigned i = 0; i < n && plain < TLS_BATCH; i++) {
            size_t take = VS_MIN(conn->iov[i].iov_len, TLS_BATCH - plain);
            if (vs_tls_write(conn->tls, conn->iov[i].iov_base, take) < 0) {
                nbd_conn_close(conn);
                return;
            }
            plain += take;
        }
        if (vs_tls_uncork(conn->tls) < 0) {
            nbd_conn_close(conn);
            return;
        }
        conn->tls_plain = plain;
    }
    size_t len;
    const uint8_t *p = vs_tls_out(conn->tls, &len);
    if (len == 0)
        return;
    conn->iov[0].iov_base = (void *)p;
    conn->iov[0].iov_len = len;
    conn_submit_send(conn, 1, true);
}

static void conn_arm_send(struct nbd_conn *conn)
{
    if (conn->send_armed || conn->phase == PHASE_CLOSING || conn->move_to)
        return;
    /* Before the TLS handshake is done, handshake output (the STARTTLS
     * acknowledgement) still goes out in the clear, ahead of any TLS
     * record; after it, everything is encrypted. */
    if (conn->tls && (vs_tls_established(conn->tls) || conn->hs_out_sent == conn->hs_out_len)) {
        conn_arm_send_tls(conn);
        return;
    }
    unsigned n = conn_build_iov(conn);
    if (n > 0)
        conn_submit_send(conn, n, false);
}

void nbd_conn_queue_reply(struct nbd_conn *conn, struct nbd_req *req)
{
    if (conn->phase == PHASE_CLOSING) {
        nbd_req_free(req);
        return;
    }
    vs_list_append(&conn->sendq, &req->link);
    conn_arm_send(conn);
}

void nbd_conn_flush_handshake(struct nbd_conn *conn)
{
    conn_arm_send(conn);
}

/* ---- accepting ------------------------------------------------------- */

#define CONN_IOV 256

static void handshake_expired(struct vs_timer *t)
{
    struct nbd_conn *conn = vs_container_of(t, struct nbd_conn, hs_deadline);
    if (conn->phase != PHASE_HANDSHAKE)
        return;
    vs_info("NBD client: handshake not finished within %u s, disconnected", handshake_max_s);
    nbd_conn_close(conn);
}

/* ---- moving to another loop -------------------------------------------- */

void nbd_server_conn_transmission(struct nbd_conn *conn)
{
    if (conn->remote || conn->loop != home)
        return;
    unsigned best = 0;
    struct vs_loop *bound = conn->exp ? conn->exp->loop : NULL;
    if (bound) {
        /* An export bound to an iothread: its clients run there. */
        best = vs_loop_index(bound);
        assert(best >= NBD_POOL_LOOPS && best < NBD_MAX_LOOPS && io_loops[best] == bound);
    } else {
        if (n_loops < 2)
            return;
        /* The least loaded, the next in turn among equals. */
        for (unsigned k = 0; k < n_loops - 1; k++) {
            unsigned i = 1 + (io_next + k) % (n_loops - 1);
            if (best == 0 || io_load[i] < io_load[best])
                best = i;
        }
        io_next = best % (n_loops - 1);
    }
    io_load[best]++;
    conn->loop_index = best;
    conn->move_to = io_loops[best];
}

/* On the new loop: the connection continues where it stopped, with what
 * the client sent after its option already buffered. */
static void conn_arrive_msg(struct vs_msg *m)
{
    struct nbd_conn *conn = vs_container_of(m, struct nbd_conn, move_msg);
    conn->loop = conn->move_to;
    conn->move_to = NULL;
    vs_list_append(&lists[conn->loop_index], &conn->link);
    vs_debug("NBD client of export '%s' on loop %u", conn->exp ? conn->exp->name : "?",
             conn->loop_index);
    conn_process(conn);
}

/* On the server's loop, with nothing of the connection's on the stack:
 * moves it once no recv or send of it is in the ring (a send still going
 * out calls conn_process, and so this, again when it is done). */
static void conn_move_bh(struct vs_bh *bh)
{
    struct nbd_conn *conn = vs_container_of(bh, struct nbd_conn, move_bh);
    conn->move_queued = false;
    if (conn->phase == PHASE_TRANSMISSION && !conn->send_armed && !conn->recv_armed &&
        conn->refs == 2) {
        conn->refs--;
        if (conn->exp)
            conn->exp->remote_connections++;
        vs_timer_cancel(conn->loop, &conn->hs_deadline);
        vs_list_remove(&conn->link);
        conn->remote = true;
        conn->move_msg.fn = conn_arrive_msg;
        vs_loop_post(conn->move_to, &conn->move_msg);
        return;
    }
    /* Closed before it could move, it ends here (conn_free gives back
     * the load it was counted for). */
    nbd_conn_unref(conn);
}

static void conn_move(struct nbd_conn *conn)
{
    if (conn->move_queued || conn->phase == PHASE_CLOSING)
        return;
    conn->move_queued = true;
    conn->refs++;
    conn->move_bh.fn = conn_move_bh;
    vs_loop_defer(conn->loop, &conn->move_bh);
}

void nbd_server_set_loops(struct vs_loop *const *loops, unsigned n)
{
    assert(n <= NBD_POOL_LOOPS);
    home = loops[0];
    n_loops = n;
    for (unsigned i = 0; i < n; i++) {
        io_loops[i] = loops[i];
        io_load[i] = 0;
        vs_list_init(&lists[i]);
    }
    io_next = 0;
}

void nbd_server_clear_loops(void)
{
    for (unsigned i = 0; i < n_loops; i++)
        io_loops[i] = NULL;
    n_loops = 0;
}

void nbd_server_add_loop(struct vs_loop *loop)
{
    unsigned i = vs_loop_index(loop);
    assert(i >= NBD_POOL_LOOPS && i < NBD_MAX_LOOPS && !io_loops[i]);
    io_loops[i] = loop;
    io_load[i] = 0;
    vs_list_init(&lists[i]);
}

void nbd_server_remove_loop(struct vs_loop *loop)
{
    unsigned i = vs_loop_index(loop);
    assert(i >= NBD_POOL_LOOPS && i < NBD_MAX_LOOPS && io_loops[i] == loop);
    io_loops[i] = NULL;
}

unsigned nbd_server_loop_clients(const struct vs_loop *loop)
{
    unsigned i = vs_loop_index(loop);
    return i < NBD_MAX_LOOPS && io_loops[i] == loop ? io_load[i] : 0;
}

void nbd_server_add_client(struct vs_loop *loop, int fd, const struct nbd_server_tls *tls)
{
    if (max_conns && nconns >= max_conns) {
        close(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* fails on unix: fine */
    struct nbd_conn *conn = vs_zalloc(sizeof(*conn));
    conn->loop = loop;
    conn->fd = fd;
    conn->phase = PHASE_HANDSHAKE;
    conn->refs = 1;
    tls_cfg_copy(&conn->tls_cfg, tls);
    conn->in = vs_malloc(NBD_INBUF_SIZE);
    conn->iov_cap = CONN_IOV;
    conn->iov = vs_malloc(sizeof(struct iovec) * CONN_IOV + sizeof(struct msghdr));
    vs_list_init(&conn->sendq);
    vs_list_append(&conns, &conn->link);
    nconns++;
    accepted_total++;
    if (listener && handshake_max_s) {
        conn->hs_deadline.fn = handshake_expired;
        vs_timer_arm(loop, &conn->hs_deadline, handshake_max_s * 1000000000ull);
    }
    nbd_handshake_start(conn);
    conn_arm_send(conn);
    conn_arm_recv(conn);
}

static void accept_client(void *opaque, int fd)
{
    nbd_server_add_client(server_loop, fd, &server_tls);
}

int nbd_server_start(struct vs_loop *loop, const struct nbd_server_addr *addr,
                     const struct nbd_server_config *cfg, struct vs_error *err)
{
    if (listener) {
        vs_error_set(err, VS_ERR_GENERIC, "NBD server already running");
        return -1;
    }
    int fd = addr->type == NBD_ADDR_UNIX ? vs_listen_unix(addr->path, err)
                                         : vs_listen_inet(addr->host, addr->port, err);
    if (fd < 0)
        return -1;
    server_loop = loop;
    nbd_server_addr_copy(&server_addr, addr);
    max_conns = cfg->max_connections;
    handshake_max_s = cfg->handshake_max_seconds;
    tls_cfg_copy(&server_tls, &cfg->tls);
    listener = vs_listener_start(loop, fd, addr->type == NBD_ADDR_UNIX ? addr->path : NULL,
                                 "NBD server", accept_client, NULL, NULL);
    return 0;
}


/* ---- closing clients on every loop ------------------------------------- */

enum close_kind { CLOSE_ALL, CLOSE_EXPORT, CLOSE_AFTER_DRAIN };

static void close_here(struct vs_list *list, enum close_kind kind, struct nbd_export *exp)
{
    vs_list_for_each_safe(pos, list) {
        struct nbd_conn *conn = vs_list_entry(pos, struct nbd_conn, link);
        switch (kind) {
        case CLOSE_ALL:
            nbd_conn_close(conn);
            break;
        case CLOSE_EXPORT:
            if (conn->exp == exp)
                nbd_conn_close(conn);
            break;
        case CLOSE_AFTER_DRAIN:
            /* Requests the node is working on get their replies; a WRITE
             * still waiting for its payload was never acknowledged and is
             * dropped with its connection, as is a handshake in progress. */
            if (conn->phase == PHASE_TRANSMISSION && conn->inflight_reqs > 0 &&
                !conn->payload_req) {
                conn->closing_after_drain = true;
                conn_maybe_finish_disc(conn);
            } else {
                nbd_conn_close(conn);
            }
            break;
        }
    }
}

struct close_msg {
    struct vs_msg m;
    enum close_kind kind;
    struct nbd_export *exp;    /* CLOSE_EXPORT: only its clients (it outlives them) */
    unsigned loop_index;
};

static void close_msg_fn(struct vs_msg *m)
{
    struct close_msg *cm = vs_container_of(m, struct close_msg, m);
    close_here(&lists[cm->loop_index], cm->kind, cm->exp);
    free(cm);
}

/* The server's loop: closes the clients it serves, and asks every other
 * loop to close its own. A connection on its way to a loop gets there
 * before the request does (messages from one loop keep their order). */
static void close_everywhere(enum close_kind kind, struct nbd_export *exp)
{
    close_here(&conns, kind, exp);
    for (unsigned i = 1; i < NBD_MAX_LOOPS; i++) {
        if (!io_loops[i])
            continue;
        struct close_msg *cm = vs_zalloc(sizeof(*cm));
        cm->m.fn = close_msg_fn;
        cm->kind = kind;
        cm->exp = exp;
        cm->loop_index = i;
        vs_loop_post(io_loops[i], &cm->m);
    }
}

void nbd_server_stop(void)
{
    if (!listener)
        return;
    vs_listener_stop(listener);
    listener = NULL;
    nbd_server_addr_clear(&server_addr);
    tls_cfg_clear(&server_tls);
    /* qemu-storage-daemon closes the clients with the server. */
    close_everywhere(CLOSE_ALL, NULL);
}

bool nbd_server_running(void)
{
    return listener != NULL;
}

const struct nbd_server_addr *nbd_server_address(void)
{
    return listener ? &server_addr : NULL;
}

unsigned nbd_server_max_connections(void)
{
    return max_conns;
}

unsigned nbd_server_handshake_max_seconds(void)
{
    return handshake_max_s;
}

struct nbd_server_tls nbd_server_tls(void)
{
    return server_tls;
}

unsigned nbd_server_client_count(void)
{
    return nconns;
}

uint64_t nbd_server_accepted_total(void)
{
    return accepted_total;
}

void nbd_server_close_export_clients(struct nbd_export *exp)
{
    close_everywhere(CLOSE_EXPORT, exp);
}

/* How long a graceful close waits for replies to reach clients that have
 * stopped reading them. */
#define CLOSE_GRACE_NS (3ull * 1000 * 1000 * 1000)

static void grace_expired(struct vs_timer *t)
{
    close_everywhere(CLOSE_ALL, NULL);
}

void nbd_server_close_clients(struct vs_loop *loop, struct vs_bh *done)
{
    close_everywhere(CLOSE_AFTER_DRAIN, NULL);
    if (nconns == 0) {
        vs_loop_defer(loop, done);
        return;
    }
    all_closed_waiter = done;
    waiter_loop = loop;
    /* A client that does not read its replies cannot hold us forever. */
    grace_timer.fn = grace_expired;
    vs_timer_arm(loop, &grace_timer, CLOSE_GRACE_NS);
}
