/* The `nbd` driver: a remote NBD export as a block node, through libnbd's
 * asynchronous API driven by our io_uring loop. A mirror can so copy to a
 * volume on another host (or read from one).
 *
 * libnbd owns the socket and its state machine; we own the waiting. After
 * every call that may have queued bytes, and after every readiness event,
 * we ask libnbd which direction it needs (nbd_aio_get_direction) and keep
 * one poll request in the ring for it. Completion callbacks only record
 * the result; the request finishes from a bottom half, outside libnbd,
 * so an issuer that submits again from its callback never re-enters
 * libnbd.
 *
 * Connecting (open, and every reconnect) runs on the worker pool: a
 * connect or handshake can wait on the network for long, and the loop
 * serves everybody else meanwhile. open-timeout retries the first connect.
 * A reconnect is cancellable: closing the node wakes the worker out of its
 * wait (an eventfd beside libnbd's socket in its poll), so the connect is
 * back on the loop at once and the state is freed there, even when the
 * server accepted and then never answered. Otherwise a node closed at exit
 * would leave its connect on the pool past the daemon's last loop turn,
 * and the connect's work and the node's state with it.
 *
 * Reconnecting, with QEMU's reconnect-delay semantics. When the connection
 * is lost (the server died, restarted, the network dropped) the driver
 * connects again in the background, at once and then with a backoff from
 * 100 ms doubling to 2 s, until it succeeds or meets a serious error (the
 * export changed size or became read-only: then the node stays failed).
 * During the first reconnect-delay seconds requests wait: those in flight
 * when the connection went and any submitted since are run again on the new
 * connection (NBD requests are idempotent: writes at an offset, reads,
 * flushes). After that time, and at once when reconnect-delay is 0 (the
 * default), waiting and new requests fail with EIO until the reconnect
 * succeeds; for a mirror target that is the job's on-target-error policy
 * (stop, then block-job-resume once the server is back).
 *
 * Several connections, when the server advertises CAN_MULTI_CONN (writes
 * acknowledged on one are seen, and flushed, through every other). The
 * first bulk request (a mirror's copy, BLOCK_REQ_BULK) opens the others on
 * the worker pool; from then on bulk requests go round-robin over them and
 * everything else (a consumer's reads and writes) keeps the first
 * connection to itself, so a guest's 4 KiB write is never queued behind
 * megabytes of copy traffic in one socket. A connection lost is the whole
 * link lost: every handle closes, the first reconnects as above, the others
 * open again with the next bulk request. */
#include "block.h"

#include <errno.h>
#include <libnbd.h>
#include <stdint.h>
#include <liburing.h>
#include <poll.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

enum nbd_link {
    LINK_UP,          /* h connected */
    LINK_DOWN,        /* lost; a connect is due (timer, or polls to finish) */
    LINK_CONNECTING,  /* a connect runs on the worker pool */
};

/* A request libnbd has (between nbd_aio_* and its completion callback).
 * They are listed so that a handle closed with commands in flight (which
 * libnbd then forgets without calling back) loses none of them. */
struct nbd_cmd {
    struct vs_list link;       /* nbd_state.cmds */
    struct block_req *req;
};

/* Connections per node when the server allows several: the first for
 * everything but bulk requests, the rest for bulk ones (nbdcopy's default
 * is four connections too). VOLSWAP_NBD_CONNECTIONS=1 keeps one. */
#define NBD_MAX_CONNS 8
#define NBD_DEFAULT_CONNS 4

struct nbd_state;

/* One connection: a libnbd handle and the polls on its socket. */
struct nbd_sock {
    struct nbd_state *s;
    struct nbd_handle *h;      /* NULL unless connected */
    /* One poll for reading (always, while open) and one for writing (while
     * libnbd has bytes queued): each its own completion, so neither has to
     * be cancelled and re-armed when the other direction is needed. */
    struct vs_completion read_c, write_c;
    bool read_armed, write_armed;
};

/* A request waiting for the reconnect. */
struct nbd_held {
    struct vs_list link;
    struct block_req *req;
};

struct nbd_state {
    struct nbd_handle *h;      /* socks[0].h: NULL unless LINK_UP */
    struct block_node *node;
    struct nbd_sock socks[NBD_MAX_CONNS];
    unsigned n_socks;          /* connected: socks[0 .. n_socks) */
    unsigned want_socks;       /* how many to open once the server allows */
    unsigned next_bulk;        /* round-robin over socks[1 .. n_socks) */
    bool multi_conn;           /* the server advertises CAN_MULTI_CONN */
    bool extra_connecting;     /* the other connections open on the pool */
    uint64_t link_gen;         /* bumped at every loss */
    bool closing;
    bool can_trim, can_zero, can_fast_zero, can_fua, can_flush, can_status;
    /* What a reconnect needs. */
    char *path, *host, *port, *export_name;
    bool read_only;
    /* TLS (tls-creds): copied from the credentials at open, so reconnects
     * keep them after an object-del, as QEMU's reference does. */
    bool tls, tls_psk, tls_verify;
    char *tls_dir, *tls_user;
    uint64_t reconnect_delay_ns;
    /* Reconnecting. */
    enum nbd_link link;
    bool lost_seen;            /* a command failed for want of a connection */
    bool failing;              /* past reconnect-delay: requests fail at once */
    bool fatal;                /* a serious error: no more reconnects */
    unsigned attempts;         /* failed connects since the loss */
    struct vs_list cmds;       /* struct nbd_cmd: at libnbd */
    struct vs_list held;       /* struct nbd_held, in submission order */
    struct vs_timer retry;     /* the next connect attempt */
    struct vs_timer deadline;  /* reconnect-delay after the loss */
    /* Readable once the node closes: a connect on the worker pool polls
     * it and gives up. */
    int cancel_fd;
};

/* A connect (or handshake) on the worker pool. */
struct nbd_connect_work {
    struct vs_work w;
    struct nbd_state *s;
    struct nbd_handle *h;      /* NULL on failure */
    struct vs_error err;
};

/* The other connections of a multi-conn link, opened on the worker pool. */
struct nbd_extra_work {
    struct vs_work w;
    struct nbd_state *s;
    uint64_t gen;              /* s->link_gen when started */
    unsigned n;                /* handles wanted, then opened */
    struct nbd_handle *h[NBD_MAX_CONNS];
};

#define RECONNECT_FIRST_NS (100ull * 1000 * 1000)
#define RECONNECT_MAX_NS (2000ull * 1000 * 1000)

static void nbd_state_pump(struct nbd_state *s);
static void link_lost(struct nbd_state *s);
static void nbd_drv_submit(struct block_node *node, struct block_req *req);

static void finish_bh(struct vs_bh *bh)
{
    struct block_req *req = vs_container_of(bh, struct block_req, bh);
    block_req_driver_done(req, req->ret);
}

/* Errors that mean "no connection", not "the server refused": the request
 * is run again after a reconnect. */
static bool connection_error(int e)
{
    return e == ENOTCONN || e == ECONNRESET || e == EPIPE || e == ESHUTDOWN ||
           e == ECONNABORTED || e == ETIMEDOUT;
}

/* Keeps req for the reconnect, or fails it when requests may not wait. */
static void hold_or_fail(struct nbd_state *s, struct block_req *req)
{
    if (s->failing || s->fatal || s->closing) {
        req->ret = -EIO;
        req->bh.fn = finish_bh;
        vs_loop_defer(s->node->loop, &req->bh);
        return;
    }
    struct nbd_held *hd = vs_zalloc(sizeof(*hd));
    hd->req = req;
    vs_list_append(&s->held, &hd->link);
}

/* Fails what waits for the reconnect (s->failing, fatal or closing is set). */
static void fail_held(struct nbd_state *s)
{
    while (!vs_list_empty(&s->held)) {
        struct nbd_held *hd = vs_list_entry(s->held.next, struct nbd_held, link);
        vs_list_remove(&hd->link);
        hold_or_fail(s, hd->req);
        free(hd);
    }
}

static int completion_cb(void *user_data, int *error)
{
    struct nbd_cmd *cmd = user_data;
    struct block_req *req = cmd->req;
    struct nbd_state *s = req->node->opaque;

    vs_list_remove(&cmd->link);
    free(cmd);

    if (*error && connection_error(*error)) {
        /* Called from inside libnbd: the handle is dealt with once libnbd
         * has returned (nbd_state_pump, link_lost). */
        s->lost_seen = true;
        hold_or_fail(s, req);
        return 1;
    }
    req->ret = *error ? -*error : 0;
    req->bh.fn = finish_bh;
    vs_loop_defer(req->node->loop, &req->bh);
    return 1; /* retire the command: we never look it up again */
}

/* base:allocation extents: as many as the issuer has room for (one when it
 * gave none: the block layer's slot; then the request carried REQ_ONE). */
static int extent_cb(void *user_data, const char *metacontext, uint64_t offset,
                     uint32_t *entries, size_t nr_entries, int *error)
{
    struct block_req *req = user_data;
    struct block_extent *ext = req->extents;
    unsigned max = req->max_extents, n = 0;
    uint64_t pos = 0;

    if (strcmp(metacontext, LIBNBD_CONTEXT_BASE_ALLOCATION) != 0 || nr_entries < 2)
        return 0;
    for (size_t i = 0; i + 1 < nr_entries && n < max && pos < req->len; i += 2) {
        uint64_t len = VS_MIN((uint64_t)entries[i], req->len - pos);
        unsigned flags = 0;
        if (len == 0)
            break;                  /* a zero-length extent tells nothing */
        if (entries[i + 1] & LIBNBD_STATE_HOLE)
            flags |= BLOCK_STATUS_HOLE;
        if (entries[i + 1] & LIBNBD_STATE_ZERO)
            flags |= BLOCK_STATUS_ZERO;
        ext[n].len = len;
        ext[n].flags = flags;
        n++;
        pos += len;
    }
    if (n == 0)
        return 0;                   /* keep the preset "all data" */
    req->n_extents = n;
    return 0;
}

static void nbd_state_free(struct nbd_state *s)
{
    if (s->cancel_fd >= 0)
        close(s->cancel_fd);
    free(s->path);
    free(s->host);
    free(s->port);
    free(s->export_name);
    free(s->tls_dir);
    free(s->tls_user);
    free(s);
}

/* Whether a poll of any connection is still in the ring. */
static bool polls_armed(const struct nbd_state *s)
{
    for (unsigned i = 0; i < NBD_MAX_CONNS; i++)
        if (s->socks[i].read_armed || s->socks[i].write_armed)
            return true;
    return false;
}

static void maybe_free(struct nbd_state *s)
{
    if (s->closing && !polls_armed(s) && s->link != LINK_CONNECTING && !s->extra_connecting)
        nbd_state_free(s);
}

/* Asks the ring to cancel the polls of every connection (each still
 * completes once) and closes the handles. */
static void close_socks(struct nbd_state *s, bool shutdown)
{
    struct vs_loop *loop = s->node->loop;
    for (unsigned i = 0; i < NBD_MAX_CONNS; i++) {
        struct nbd_sock *k = &s->socks[i];
        if (k->read_armed)
            io_uring_prep_poll_remove(vs_loop_sqe(loop, NULL), (__u64)(uintptr_t)&k->read_c);
        if (k->write_armed)
            io_uring_prep_poll_remove(vs_loop_sqe(loop, NULL), (__u64)(uintptr_t)&k->write_c);
        if (k->h) {
            /* NBD_CMD_DISC goes out if the socket takes it now; never
             * nbd_shutdown, which polls until the server closes: over a
             * link that drops packets that is the TCP timeout, with the
             * loop and every client stopped */
            if (shutdown && nbd_aio_is_ready(k->h))
                nbd_aio_disconnect(k->h, 0);
            nbd_close(k->h);
            k->h = NULL;
        }
    }
    s->n_socks = 0;
    s->h = NULL;
}

/* ---- connecting --------------------------------------------------------- */

/* Drives an nbd_aio_connect_* to its end as libnbd's blocking connect
 * does, but also wakes when cancel_fd is readable. 0 once connected, -1
 * with libnbd's error set, -2 when cancelled. */
static int connect_wait(struct nbd_handle *h, int cancel_fd)
{
    while (nbd_aio_is_connecting(h) == 1) {
        unsigned dir = nbd_aio_get_direction(h);
        struct pollfd p[2] = {
            { .fd = nbd_aio_get_fd(h), .events = 0 },
            { .fd = cancel_fd, .events = POLLIN },
        };
        if (p[0].fd < 0)
            return -1;              /* libnbd says why */
        if (dir & LIBNBD_AIO_DIRECTION_READ)
            p[0].events |= POLLIN;
        if (dir & LIBNBD_AIO_DIRECTION_WRITE)
            p[0].events |= POLLOUT;
        if (poll(p, cancel_fd >= 0 ? 2 : 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (cancel_fd >= 0 && p[1].revents)
            return -2;
        short ev = p[0].revents;
        int r = 0;
        if ((dir & LIBNBD_AIO_DIRECTION_READ) && (ev & (POLLIN | POLLHUP | POLLERR)))
            r = nbd_aio_notify_read(h);
        else if ((dir & LIBNBD_AIO_DIRECTION_WRITE) && (ev & (POLLOUT | POLLHUP | POLLERR)))
            r = nbd_aio_notify_write(h);
        if (r < 0)
            return -1;
    }
    /* Not connecting and not ready: dead, which the call that killed it
     * (above, or the nbd_aio_connect_*) reported. */
    return nbd_aio_is_ready(h) == 1 ? 0 : -1;
}

/* Creates a handle, connects and negotiates; blocks (worker pool or
 * start-up) until done or s->cancel_fd is readable. NULL with err set on
 * failure. */
static struct nbd_handle *connect_blocking(const struct nbd_state *s, struct vs_error *err)
{
    struct nbd_handle *h = nbd_create();
    if (!h) {
        vs_error_set(err, VS_ERR_GENERIC, "nbd: %s", nbd_get_error());
        return NULL;
    }
    int r = nbd_set_export_name(h, s->export_name ? s->export_name : "");
    if (r == 0)
        r = nbd_add_meta_context(h, LIBNBD_CONTEXT_BASE_ALLOCATION);
    if (r == 0 && s->tls) {
        /* The same directory layout QEMU reads: libnbd loads ca-cert.pem,
         * client-cert.pem and client-key.pem, or the PSK file. */
        r = nbd_set_tls(h, LIBNBD_TLS_REQUIRE);
        if (r == 0 && s->tls_psk) {
            char *file = vs_strdup_printf("%s/keys.psk", s->tls_dir);
            r = nbd_set_tls_psk_file(h, file);
            free(file);
            if (r == 0)
                r = nbd_set_tls_username(h, s->tls_user ? s->tls_user : "qemu");
        } else if (r == 0) {
            r = nbd_set_tls_certificates(h, s->tls_dir);
            if (r == 0)
                r = nbd_set_tls_verify_peer(h, s->tls_verify);
        }
    }
    if (r == 0)
        r = s->path ? nbd_aio_connect_unix(h, s->path) : nbd_aio_connect_tcp(h, s->host, s->port);
    if (r == 0)
        r = connect_wait(h, s->cancel_fd);
    if (r == -2) {
        vs_error_set(err, VS_ERR_GENERIC, "nbd: connect cancelled: the node is closing");
        nbd_close(h);
        return NULL;
    }
    if (r < 0) {
        /* QEMU's words when the socket does not connect; libnbd's when the
         * handshake failed. */
        int e = nbd_get_errno();
        const char *why = nbd_get_error() ? nbd_get_error() : "connection failed";
        if (strstr(why, ": connect: ") && e) {
            if (s->path)
                vs_error_set(err, VS_ERR_GENERIC, "Failed to connect to '%s': %s",
                             s->path, strerror(e));
            else
                vs_error_set(err, VS_ERR_GENERIC, "Failed to connect to '%s:%s': %s",
                             s->host, s->port, strerror(e));
        } else {
            vs_error_set(err, VS_ERR_GENERIC, "Failed to connect to NBD server: %s", why);
        }
        nbd_close(h);
        return NULL;
    }
    if (!s->read_only && nbd_is_read_only(h) == 1) {
        vs_error_set(err, VS_ERR_GENERIC, "NBD export '%s' is read-only",
                     s->export_name ? s->export_name : "");
        nbd_close(h);
        return NULL;
    }
    return h;
}

static void take_handle(struct nbd_state *s, struct nbd_handle *h)
{
    s->h = h;
    s->socks[0].h = h;
    s->n_socks = 1;
    s->next_bulk = 0;
    s->multi_conn = nbd_can_multi_conn(h) == 1;
    s->link = LINK_UP;
    s->can_trim = nbd_can_trim(h) == 1;
    s->can_zero = nbd_can_zero(h) == 1;
    s->can_fast_zero = nbd_can_fast_zero(h) == 1;
    s->can_fua = nbd_can_fua(h) == 1;
    s->can_flush = nbd_can_flush(h) == 1;
    s->can_status = nbd_can_meta_context(h, LIBNBD_CONTEXT_BASE_ALLOCATION) == 1;
}

static void connect_run(struct vs_work *w)
{
    struct nbd_connect_work *cw = vs_container_of(w, struct nbd_connect_work, w);
    cw->h = connect_blocking(cw->s, &cw->err);
}

static void schedule_connect(struct nbd_state *s);

static void connect_done(struct vs_work *w)
{
    struct nbd_connect_work *cw = vs_container_of(w, struct nbd_connect_work, w);
    struct nbd_state *s = cw->s;
    struct nbd_handle *h = cw->h;
    char why[sizeof(cw->err.msg)];

    snprintf(why, sizeof(why), "%s", cw->err.msg);
    free(cw);
    s->link = LINK_DOWN;
    if (s->closing) {
        if (h)
            nbd_close(h);
        maybe_free(s);
        return;
    }
    if (h && nbd_get_size(h) != (int64_t)s->node->size) {
        vs_error("nbd node '%s': the export changed size across the reconnect; "
                 "the node fails from now on", s->node->name);
        nbd_close(h);
        s->fatal = true;
        h = NULL;
    }
    if (!h) {
        if (s->fatal) {
            fail_held(s);
            return;
        }
        if (s->attempts++ == 0)
            vs_warn("nbd node '%s': reconnect failed (%s); retrying", s->node->name, why);
        uint64_t wait = RECONNECT_FIRST_NS << VS_MIN(s->attempts - 1, 5u);
        vs_timer_arm(s->node->loop, &s->retry, VS_MIN(wait, RECONNECT_MAX_NS));
        return;
    }
    vs_info("nbd node '%s': reconnected", s->node->name);
    take_handle(s, h);
    s->failing = false;
    s->lost_seen = false;
    s->attempts = 0;
    vs_timer_cancel(s->node->loop, &s->deadline);
    nbd_state_pump(s);
    /* Run again what waited, in order (a request that meets a lost
     * connection again is held or failed by nbd_drv_submit, as any other). */
    struct vs_list again;
    vs_list_init(&again);
    while (!vs_list_empty(&s->held)) {
        struct vs_list *l = s->held.next;
        vs_list_remove(l);
        vs_list_append(&again, l);
    }
    while (!vs_list_empty(&again)) {
        struct nbd_held *hd = vs_list_entry(again.next, struct nbd_held, link);
        vs_list_remove(&hd->link);
        struct block_req *req = hd->req;
        free(hd);
        nbd_drv_submit(s->node, req);
    }
}

/* Starts a connect on the worker pool, once no poll of the old socket is
 * left in the ring (read_c and write_c are reused for the new one). */
static void schedule_connect(struct nbd_state *s)
{
    if (s->closing || s->fatal || s->link != LINK_DOWN || polls_armed(s) || s->retry.armed)
        return;
    struct nbd_connect_work *cw = vs_zalloc(sizeof(*cw));
    cw->s = s;
    cw->w.run = connect_run;
    cw->w.done = connect_done;
    s->link = LINK_CONNECTING;
    vs_loop_offload(s->node->loop, &cw->w);
}

static void retry_fired(struct vs_timer *t)
{
    struct nbd_state *s = vs_container_of(t, struct nbd_state, retry);
    schedule_connect(s);
}

/* reconnect-delay is over: what waits fails, and so will new requests
 * until the reconnect succeeds. */
static void deadline_fired(struct vs_timer *t)
{
    struct nbd_state *s = vs_container_of(t, struct nbd_state, deadline);

    if (s->link == LINK_UP)
        return;
    vs_warn("nbd node '%s': not reconnected within reconnect-delay; requests fail "
            "until it is", s->node->name);
    s->failing = true;
    fail_held(s);
}

/* The connection is gone: retire the handle (its commands come back through
 * completion_cb as connection errors: held or failed) and reconnect. */
static void link_lost(struct nbd_state *s)
{
    if (s->link != LINK_UP)
        return;
    vs_warn("nbd node '%s': connection lost; reconnecting%s", s->node->name,
            s->reconnect_delay_ns ? "" : " (requests fail meanwhile: reconnect-delay is 0)");
    s->link = LINK_DOWN;
    s->link_gen++;
    s->failing = s->reconnect_delay_ns == 0;
    if (!s->failing)
        vs_timer_arm(s->node->loop, &s->deadline, s->reconnect_delay_ns);
    close_socks(s, false);
    /* What the closed handle still had never comes back: run it again. */
    while (!vs_list_empty(&s->cmds)) {
        struct nbd_cmd *cmd = vs_list_entry(s->cmds.next, struct nbd_cmd, link);
        vs_list_remove(&cmd->link);
        hold_or_fail(s, cmd->req);
        free(cmd);
    }
    /* Requests that failed for want of a connection before the loss was
     * seen here were kept: with reconnect-delay 0 they fail now. */
    if (s->failing)
        fail_held(s);
    schedule_connect(s);
}

/* ---- the socket --------------------------------------------------------- */

static void poll_done(struct nbd_sock *k, int res, bool writing)
{
    struct nbd_state *s = k->s;

    if (s->closing) {
        maybe_free(s);
        return;
    }
    if (s->link != LINK_UP) {
        /* A poll of the lost socket, cancelled: now it may be replaced. */
        schedule_connect(s);
        return;
    }
    if (res < 0 && res != -ECANCELED && res != -EINTR) {
        link_lost(s);
        return;
    }
    if (res > 0 && k->h) {
        int r = writing ? nbd_aio_notify_write(k->h) : nbd_aio_notify_read(k->h);
        if (r < 0)
            vs_debug("nbd node '%s': %s", s->node->name, nbd_get_error());
    }
    nbd_state_pump(s);
}

static void read_cb(struct vs_completion *c, int res, unsigned flags)
{
    struct nbd_sock *k = vs_container_of(c, struct nbd_sock, read_c);
    k->read_armed = false;
    poll_done(k, res, false);
}

static void write_cb(struct vs_completion *c, int res, unsigned flags)
{
    struct nbd_sock *k = vs_container_of(c, struct nbd_sock, write_c);
    k->write_armed = false;
    poll_done(k, res, true);
}

/* Keeps a poll in the ring for each direction libnbd waits on. The read
 * side is watched even when idle, so a server's hang-up is seen. */
static void nbd_state_pump(struct nbd_state *s)
{
    if (s->closing || s->link != LINK_UP)
        return;
    for (unsigned i = 0; i < s->n_socks; i++)
        if (s->lost_seen || nbd_aio_is_dead(s->socks[i].h) || nbd_aio_is_closed(s->socks[i].h)) {
            link_lost(s);
            return;
        }
    for (unsigned i = 0; i < s->n_socks; i++) {
        struct nbd_sock *k = &s->socks[i];
        int fd = nbd_aio_get_fd(k->h);
        unsigned dir = nbd_aio_get_direction(k->h);
        if (!k->read_armed) {
            k->read_c.cb = read_cb;
            io_uring_prep_poll_add(vs_loop_sqe(s->node->loop, &k->read_c), fd, POLLIN);
            k->read_armed = true;
        }
        if ((dir & LIBNBD_AIO_DIRECTION_WRITE) && !k->write_armed) {
            k->write_c.cb = write_cb;
            io_uring_prep_poll_add(vs_loop_sqe(s->node->loop, &k->write_c), fd, POLLOUT);
            k->write_armed = true;
        }
    }
}

/* ---- the other connections ------------------------------------------ */

static void extra_run(struct vs_work *w)
{
    struct nbd_extra_work *xw = vs_container_of(w, struct nbd_extra_work, w);
    unsigned got = 0;
    for (unsigned i = 0; i < xw->n; i++) {
        struct vs_error err = { 0 };
        struct nbd_handle *h = connect_blocking(xw->s, &err);
        if (!h) {
            vs_debug("nbd node '%s': another connection failed: %s", xw->s->node->name, err.msg);
            break;
        }
        xw->h[got++] = h;
    }
    xw->n = got;
}

static void extra_done(struct vs_work *w)
{
    struct nbd_extra_work *xw = vs_container_of(w, struct nbd_extra_work, w);
    struct nbd_state *s = xw->s;
    unsigned i = 0;

    s->extra_connecting = false;
    if (!s->closing && s->link == LINK_UP && xw->gen == s->link_gen) {
        for (; i < xw->n && s->n_socks < NBD_MAX_CONNS; i++) {
            struct nbd_handle *h = xw->h[i];
            /* the same export as the first (a restarted server may have
             * another behind the same name) */
            if (nbd_get_size(h) != (int64_t)s->node->size || nbd_can_multi_conn(h) != 1)
                break;
            s->socks[s->n_socks++].h = h;
        }
        if (s->n_socks > 1)
            vs_debug("nbd node '%s': %u connections", s->node->name, s->n_socks);
    }
    for (; i < xw->n; i++)
        nbd_close(xw->h[i]);
    free(xw);
    if (s->closing) {
        maybe_free(s);
        return;
    }
    nbd_state_pump(s);
}

/* The connection a request goes to: bulk ones round-robin over the others
 * once they are open (the first bulk request asks for them). */
static struct nbd_handle *pick_handle(struct nbd_state *s, const struct block_req *req)
{
    if (!(req->flags & BLOCK_REQ_BULK) || !s->multi_conn || s->want_socks < 2)
        return s->h;
    if (s->n_socks == 1 && !s->extra_connecting) {
        struct nbd_extra_work *xw = vs_zalloc(sizeof(*xw));
        xw->s = s;
        xw->gen = s->link_gen;
        xw->n = s->want_socks - 1;
        xw->w.run = extra_run;
        xw->w.done = extra_done;
        s->extra_connecting = true;
        vs_loop_offload(s->node->loop, &xw->w);
    }
    if (s->n_socks < 2)
        return s->h;
    s->next_bulk = s->next_bulk % (s->n_socks - 1) + 1;
    return s->socks[s->next_bulk].h;
}

/* ---- the driver --------------------------------------------------------- */

static bool u32_arg(uint64_t v, const char *name, struct vs_error *err)
{
    if (v <= UINT32_MAX)
        return true;
    vs_error_set(err, VS_ERR_GENERIC, "Parameter '%s' expects uint32_t", name);
    return false;
}

/* Runs on the worker pool (blockdev-add) or at start-up: touches no loop
 * state; nbd_drv_attach starts the polls. */
static int nbd_drv_open(struct block_node *node, const struct block_node_opts *opts,
                        struct vs_error *err)
{
    if (!opts->nbd_path && !(opts->nbd_host && opts->nbd_port)) {
        vs_error_set(err, VS_ERR_GENERIC, "Parameter 'server' is missing");
        return -1;
    }
    if (!u32_arg(opts->nbd_reconnect_delay, "reconnect-delay", err) ||
        !u32_arg(opts->nbd_open_timeout, "open-timeout", err))
        return -1;
    struct nbd_state *s = vs_zalloc(sizeof(*s));
    s->cancel_fd = -1;
    s->node = node;
    s->path = opts->nbd_path ? vs_strdup(opts->nbd_path) : NULL;
    s->host = opts->nbd_host ? vs_strdup(opts->nbd_host) : NULL;
    s->port = opts->nbd_port ? vs_strdup(opts->nbd_port) : NULL;
    s->export_name = opts->nbd_export ? vs_strdup(opts->nbd_export) : NULL;
    s->read_only = opts->read_only;
    if (opts->nbd_tls) {
        /* libnbd checks the certificate against the host it connects to
         * (a unix socket: the chain only) and cannot be given another
         * name. */
        if (opts->nbd_tls_hostname &&
            !(opts->nbd_host && strcmp(opts->nbd_tls_hostname, opts->nbd_host) == 0)) {
            vs_error_set(err, VS_ERR_GENERIC,
                         "tls-hostname other than server.host is not supported "
                         "(the certificate is checked against server.host)");
            nbd_state_free(s);
            return -1;
        }
        s->tls = true;
        s->tls_psk = opts->nbd_tls->kind == VS_OBJ_TLS_PSK;
        s->tls_verify = opts->nbd_tls->verify_peer;
        s->tls_dir = vs_strdup(opts->nbd_tls->dir);
        s->tls_user = opts->nbd_tls->username ? vs_strdup(opts->nbd_tls->username) : NULL;
    } else if (opts->nbd_tls_hostname) {
        vs_error_set(err, VS_ERR_GENERIC, "tls-hostname is only valid with tls-creds");
        nbd_state_free(s);
        return -1;
    }
    s->reconnect_delay_ns = opts->nbd_reconnect_delay * 1000000000ull;
    for (unsigned i = 0; i < NBD_MAX_CONNS; i++)
        s->socks[i].s = s;
    s->want_socks = NBD_DEFAULT_CONNS;
    const char *nc = getenv("VOLSWAP_NBD_CONNECTIONS");
    if (nc && atoi(nc) >= 1)
        s->want_socks = VS_MIN((unsigned)atoi(nc), (unsigned)NBD_MAX_CONNS);
    s->retry.fn = retry_fired;
    s->deadline.fn = deadline_fired;
    vs_list_init(&s->held);
    vs_list_init(&s->cmds);
    s->cancel_fd = eventfd(0, EFD_CLOEXEC);
    if (s->cancel_fd < 0) {
        vs_error_set(err, VS_ERR_GENERIC, "nbd: eventfd: %s", strerror(errno));
        nbd_state_free(s);
        return -1;
    }

    /* open-timeout: retry the first connect until it has passed (a server
     * that is still starting); 0 tries once. */
    uint64_t until = vs_now_ns() + opts->nbd_open_timeout * 1000000000ull;
    struct nbd_handle *h;
    for (;;) {
        memset(err, 0, sizeof(*err));
        h = connect_blocking(s, err);
        if (h || vs_now_ns() >= until)
            break;
        struct timespec ts = { 0, 100 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    int64_t size = h ? nbd_get_size(h) : -1;
    if (h && size < 0) {
        vs_error_set(err, VS_ERR_GENERIC, "nbd: %s", nbd_get_error());
        nbd_close(h);
        h = NULL;
    }
    if (!h) {
        nbd_state_free(s);
        return -1;
    }
    take_handle(s, h);
    node->opaque = s;
    node->size = (uint64_t)size;
    int64_t minb = nbd_get_block_size(h, LIBNBD_SIZE_MINIMUM);
    node->align = minb > 0 ? (uint32_t)minb : 1;
    return 0;
}

static void nbd_drv_attach(struct block_node *node)
{
    nbd_state_pump(node->opaque);
}

static void nbd_drv_close(struct block_node *node)
{
    struct nbd_state *s = node->opaque;
    s->closing = true;
    vs_timer_cancel(node->loop, &s->retry);
    vs_timer_cancel(node->loop, &s->deadline);
    fail_held(s);
    /* A connect on the pool gives up now rather than when its server
     * answers, if ever; its done() frees the state. */
    if (s->link == LINK_CONNECTING) {
        uint64_t one = 1;
        if (write(s->cancel_fd, &one, sizeof(one)) < 0)
            vs_debug("nbd node '%s': eventfd: %s", node->name, strerror(errno));
    }
    /* Armed polls still complete once (cancelled); the state lives until
     * they have, and until a connect on the pool is back: maybe_free()
     * releases it then. */
    close_socks(s, true);
    maybe_free(s);
}

static void nbd_drv_submit(struct block_node *node, struct block_req *req)
{
    struct nbd_state *s = node->opaque;
    if (s->link != LINK_UP) {
        hold_or_fail(s, req);
        return;
    }
    struct nbd_handle *h = pick_handle(s, req);
    struct nbd_cmd *cmd = vs_zalloc(sizeof(*cmd));
    cmd->req = req;
    vs_list_append(&s->cmds, &cmd->link);
    nbd_completion_callback cc = { .callback = completion_cb, .user_data = cmd };
    uint32_t fua = (req->flags & BLOCK_REQ_FUA) && s->can_fua ? LIBNBD_CMD_FLAG_FUA : 0;
    int64_t cookie = -1;
    int local_ret = 0;
    switch (req->op) {
    case BLOCK_OP_READ:
        cookie = nbd_aio_pread(h, req->buf, req->len, req->offset, cc, 0);
        break;
    case BLOCK_OP_WRITE:
        cookie = nbd_aio_pwrite(h, req->buf, req->len, req->offset, cc, fua);
        break;
    case BLOCK_OP_FLUSH:
        if (!s->can_flush) {
            local_ret = 0;
            goto answered_here;
        }
        cookie = nbd_aio_flush(h, cc, 0);
        break;
    case BLOCK_OP_DISCARD:
        if (!s->can_trim || !node->unmap || req->len == 0) {
            local_ret = 0;
            goto answered_here;
        }
        cookie = nbd_aio_trim(h, req->len, req->offset, cc, fua);
        break;
    case BLOCK_OP_WRITE_ZEROES: {
        if (!s->can_zero || ((req->flags & BLOCK_REQ_NO_FALLBACK) && !s->can_fast_zero)) {
            local_ret = -ENOTSUP;
            goto answered_here;
        }
        uint32_t f = fua;
        if (!(req->flags & BLOCK_REQ_MAY_UNMAP) || !node->unmap)
            f |= LIBNBD_CMD_FLAG_NO_HOLE;
        if (req->flags & BLOCK_REQ_NO_FALLBACK)
            f |= LIBNBD_CMD_FLAG_FAST_ZERO;
        cookie = nbd_aio_zero(h, req->len, req->offset, cc, f);
        break;
    }
    case BLOCK_OP_COPY_RANGE:
        local_ret = -ENOTSUP;
        goto answered_here;
    case BLOCK_OP_BLOCK_STATUS: {
        if (!s->can_status) {
            req->status_len = req->len;
            req->status_flags = 0;
            local_ret = 0;
            goto answered_here;
        }
        /* Preset "all data" in case the server sends no extent (also
         * when this is a resubmission after a reconnect). */
        req->status_len = req->len;
        req->status_flags = 0;
        req->n_extents = 0;
        nbd_extent_callback ec = { .callback = extent_cb, .user_data = req };
        uint64_t len = VS_MIN(req->len, (uint64_t)UINT32_MAX);
        uint32_t f = req->max_extents > 1 ? 0 : LIBNBD_CMD_FLAG_REQ_ONE;
        cookie = nbd_aio_block_status(h, len, req->offset, ec, cc, f);
        break;
    }
    }
    if (cookie < 0) {
        /* Not queued: libnbd does not call back. */
        vs_list_remove(&cmd->link);
        free(cmd);
        int e = nbd_get_errno();
        vs_debug("nbd node '%s': %s", node->name, nbd_get_error());
        if (connection_error(e) || nbd_aio_is_dead(h) || nbd_aio_is_closed(h)) {
            hold_or_fail(s, req);
            link_lost(s);
            return;
        }
        /* Inside submit: the block layer defers the issuer's callback. */
        block_req_driver_done(req, e ? -e : -EIO);
        return;
    }
    nbd_state_pump(s);
    return;

answered_here:
    /* Nothing to ask the server. */
    vs_list_remove(&cmd->link);
    free(cmd);
    block_req_driver_done(req, local_ret);
}

const struct block_driver block_driver_nbd = {
    .name = "nbd",
    .open = nbd_drv_open,
    .attach = nbd_drv_attach,
    .close = nbd_drv_close,
    .submit = nbd_drv_submit,
    .open_waits = true,
    .multi_conn = false,
};
