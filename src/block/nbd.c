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
 * Connecting happens at open, synchronously, bounded by libnbd's connect
 * (a unix socket or loopback here); a lost connection fails every request
 * in flight and later ones with EIO — the mirror's error policy decides. */
#include "block.h"

#include <errno.h>
#include <libnbd.h>
#include <liburing.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

struct nbd_state {
    struct nbd_handle *h;
    struct block_node *node;
    /* One poll for reading (always, while open) and one for writing (while
     * libnbd has bytes queued): each its own completion, so neither has to
     * be cancelled and re-armed when the other direction is needed. */
    struct vs_completion read_c, write_c;
    bool read_armed, write_armed;
    bool dead;
    bool closing;
    bool can_trim, can_zero, can_fast_zero, can_fua, can_flush, can_status;
};

static void nbd_state_pump(struct nbd_state *s);

static void finish_bh(struct vs_bh *bh)
{
    struct block_req *req = vs_container_of(bh, struct block_req, bh);
    block_req_driver_done(req, req->ret);
}

static int completion_cb(void *user_data, int *error)
{
    struct block_req *req = user_data;
    req->ret = *error ? -*error : 0;
    req->bh.fn = finish_bh;
    vs_loop_defer(req->node->loop, &req->bh);
    return 1; /* retire the command: we never look it up again */
}

/* base:allocation extents: as many as the issuer has room for (one when it
 * gave none; then the request also carried REQ_ONE). */
static int extent_cb(void *user_data, const char *metacontext, uint64_t offset,
                     uint32_t *entries, size_t nr_entries, int *error)
{
    struct block_req *req = user_data;
    struct block_extent one, *ext = req->extents ? req->extents : &one;
    unsigned max = req->extents ? req->max_extents : 1, n = 0;
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
    req->status_len = ext[0].len;
    req->status_flags = ext[0].flags;
    if (req->extents)
        req->n_extents = n;
    return 0;
}

static void maybe_free(struct nbd_state *s)
{
    if (s->closing && !s->read_armed && !s->write_armed)
        free(s);
}

static void poll_done(struct nbd_state *s, int res, bool writing)
{
    if (s->closing) {
        maybe_free(s);
        return;
    }
    if (res < 0 && res != -ECANCELED && res != -EINTR) {
        s->dead = true;
        return;
    }
    if (res > 0) {
        int r = writing ? nbd_aio_notify_write(s->h) : nbd_aio_notify_read(s->h);
        if (r < 0)
            vs_debug("nbd node '%s': %s", s->node->name, nbd_get_error());
    }
    nbd_state_pump(s);
}

static void read_cb(struct vs_completion *c, int res, unsigned flags)
{
    struct nbd_state *s = vs_container_of(c, struct nbd_state, read_c);
    s->read_armed = false;
    poll_done(s, res, false);
}

static void write_cb(struct vs_completion *c, int res, unsigned flags)
{
    struct nbd_state *s = vs_container_of(c, struct nbd_state, write_c);
    s->write_armed = false;
    poll_done(s, res, true);
}

/* Keeps a poll in the ring for each direction libnbd waits on. The read
 * side is watched even when idle, so a server's hang-up is seen. */
static void nbd_state_pump(struct nbd_state *s)
{
    if (s->closing || s->dead)
        return;
    if (nbd_aio_is_dead(s->h) || nbd_aio_is_closed(s->h)) {
        s->dead = true;
        return;
    }
    int fd = nbd_aio_get_fd(s->h);
    unsigned dir = nbd_aio_get_direction(s->h);
    if (!s->read_armed) {
        s->read_c.cb = read_cb;
        io_uring_prep_poll_add(vs_loop_sqe(s->node->loop, &s->read_c), fd, POLLIN);
        s->read_armed = true;
    }
    if ((dir & LIBNBD_AIO_DIRECTION_WRITE) && !s->write_armed) {
        s->write_c.cb = write_cb;
        io_uring_prep_poll_add(vs_loop_sqe(s->node->loop, &s->write_c), fd, POLLOUT);
        s->write_armed = true;
    }
}

static int nbd_drv_open(struct block_node *node, const struct block_node_opts *opts,
                        struct vs_error *err)
{
    if (!opts->nbd_path && !(opts->nbd_host && opts->nbd_port)) {
        vs_error_set(err, VS_ERR_GENERIC, "Parameter 'server' is missing");
        return -1;
    }
    struct nbd_handle *h = nbd_create();
    if (!h) {
        vs_error_set(err, VS_ERR_GENERIC, "nbd: %s", nbd_get_error());
        return -1;
    }
    int r = nbd_set_export_name(h, opts->nbd_export ? opts->nbd_export : "");
    if (r == 0)
        r = nbd_add_meta_context(h, LIBNBD_CONTEXT_BASE_ALLOCATION);
    if (r == 0)
        r = opts->nbd_path ? nbd_connect_unix(h, opts->nbd_path)
                           : nbd_connect_tcp(h, opts->nbd_host, opts->nbd_port);
    if (r < 0) {
        vs_error_set(err, VS_ERR_GENERIC, "Failed to connect to NBD server: %s",
                     nbd_get_error());
        nbd_close(h);
        return -1;
    }
    int64_t size = nbd_get_size(h);
    if (size < 0) {
        vs_error_set(err, VS_ERR_GENERIC, "nbd: %s", nbd_get_error());
        nbd_close(h);
        return -1;
    }
    if (!opts->read_only && nbd_is_read_only(h) == 1) {
        vs_error_set(err, VS_ERR_GENERIC, "NBD export '%s' is read-only",
                     opts->nbd_export ? opts->nbd_export : "");
        nbd_close(h);
        return -1;
    }
    struct nbd_state *s = vs_zalloc(sizeof(*s));
    s->h = h;
    s->node = node;
    s->can_trim = nbd_can_trim(h) == 1;
    s->can_zero = nbd_can_zero(h) == 1;
    s->can_fast_zero = nbd_can_fast_zero(h) == 1;
    s->can_fua = nbd_can_fua(h) == 1;
    s->can_flush = nbd_can_flush(h) == 1;
    s->can_status = nbd_can_meta_context(h, LIBNBD_CONTEXT_BASE_ALLOCATION) == 1;
    node->opaque = s;
    node->size = (uint64_t)size;
    int64_t minb = nbd_get_block_size(h, LIBNBD_SIZE_MINIMUM);
    node->align = minb > 0 ? (uint32_t)minb : 1;
    nbd_state_pump(s);
    return 0;
}

static void nbd_drv_close(struct block_node *node)
{
    struct nbd_state *s = node->opaque;
    s->closing = true;
    /* Armed polls still complete once (cancelled); the state lives until
     * they have, and maybe_free() releases it then. */
    if (s->read_armed)
        io_uring_prep_poll_remove(vs_loop_sqe(node->loop, NULL), (__u64)(uintptr_t)&s->read_c);
    if (s->write_armed)
        io_uring_prep_poll_remove(vs_loop_sqe(node->loop, NULL), (__u64)(uintptr_t)&s->write_c);
    if (!s->dead)
        nbd_shutdown(s->h, 0);
    nbd_close(s->h);
    s->h = NULL;
    maybe_free(s);
}

static void nbd_drv_submit(struct block_node *node, struct block_req *req)
{
    struct nbd_state *s = node->opaque;
    nbd_completion_callback cc = { .callback = completion_cb, .user_data = req };
    uint32_t fua = (req->flags & BLOCK_REQ_FUA) && s->can_fua ? LIBNBD_CMD_FLAG_FUA : 0;
    int64_t cookie = -1;
    if (s->dead) {
        block_req_driver_done(req, -EIO);
        return;
    }
    switch (req->op) {
    case BLOCK_OP_READ:
        cookie = nbd_aio_pread(s->h, req->buf, req->len, req->offset, cc, 0);
        break;
    case BLOCK_OP_WRITE:
        cookie = nbd_aio_pwrite(s->h, req->buf, req->len, req->offset, cc, fua);
        break;
    case BLOCK_OP_FLUSH:
        if (!s->can_flush) {
            block_req_driver_done(req, 0);
            return;
        }
        cookie = nbd_aio_flush(s->h, cc, 0);
        break;
    case BLOCK_OP_DISCARD:
        if (!s->can_trim || !node->unmap || req->len == 0) {
            block_req_driver_done(req, 0);
            return;
        }
        cookie = nbd_aio_trim(s->h, req->len, req->offset, cc, fua);
        break;
    case BLOCK_OP_WRITE_ZEROES: {
        if (!s->can_zero || ((req->flags & BLOCK_REQ_NO_FALLBACK) && !s->can_fast_zero)) {
            block_req_driver_done(req, -ENOTSUP);
            return;
        }
        uint32_t f = fua;
        if (!(req->flags & BLOCK_REQ_MAY_UNMAP) || !node->unmap)
            f |= LIBNBD_CMD_FLAG_NO_HOLE;
        if (req->flags & BLOCK_REQ_NO_FALLBACK)
            f |= LIBNBD_CMD_FLAG_FAST_ZERO;
        cookie = nbd_aio_zero(s->h, req->len, req->offset, cc, f);
        break;
    }
    case BLOCK_OP_COPY_RANGE:
        block_req_driver_done(req, -ENOTSUP);
        return;
    case BLOCK_OP_BLOCK_STATUS: {
        if (!s->can_status) {
            req->status_len = req->len;
            req->status_flags = 0;
            block_req_driver_done(req, 0);
            return;
        }
        /* Preset "all data" in case the server sends no extent. */
        req->status_len = req->len;
        req->status_flags = 0;
        nbd_extent_callback ec = { .callback = extent_cb, .user_data = req };
        uint64_t len = VS_MIN(req->len, (uint64_t)UINT32_MAX);
        uint32_t f = req->extents && req->max_extents > 1 ? 0 : LIBNBD_CMD_FLAG_REQ_ONE;
        cookie = nbd_aio_block_status(s->h, len, req->offset, ec, cc, f);
        break;
    }
    }
    if (cookie < 0) {
        int e = nbd_get_errno();
        vs_debug("nbd node '%s': %s", node->name, nbd_get_error());
        /* Inside submit: the block layer defers the issuer's callback. */
        block_req_driver_done(req, e ? -e : -EIO);
        return;
    }
    nbd_state_pump(s);
}

const struct block_driver block_driver_nbd = {
    .name = "nbd",
    .open = nbd_drv_open,
    .close = nbd_drv_close,
    .submit = nbd_drv_submit,
    .multi_conn = false,
};
