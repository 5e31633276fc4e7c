/* The transmission phase: parse a request, check it against the spec,
 * turn it into a block request through the export's backend, and build
 * the reply (simple or structured) when it completes. Requests run
 * concurrently and their replies go out in completion order.
 *
 * Checks follow doc/proto.md: an unknown command or flag is EINVAL; a
 * write past the end is ENOSPC and a read, cache or block-status past it
 * EINVAL; a write to a read-only export EPERM; a READ or WRITE over 32 MiB
 * EINVAL (EOVERFLOW for a read the client asked not to fragment). A WRITE
 * that fails a check still has its payload consumed, so the connection
 * stays in step and goes on. */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void req_done(struct block_req *breq, int ret);

void nbd_req_free(struct nbd_req *req)
{
    struct nbd_conn *conn = req->conn;
    nbd_buf_put(req->buf, req->buf_size);
    free(req->extents);
    free(req->bext);
    conn->inflight_reqs--;
    conn->inflight_bytes -= req->buf_size;
    free(req);
    nbd_conn_unref(conn);
}

static uint32_t nbd_errno(int err)
{
    switch (-err) {
    case 0: return 0;
    case EPERM: case EROFS: return NBD_EPERM;
    case ENOMEM: return NBD_ENOMEM;
    case EINVAL: return NBD_EINVAL;
    case ENOSPC: case EDQUOT: case EFBIG: return NBD_ENOSPC;
    case EOVERFLOW: return NBD_EOVERFLOW;
    case ENOTSUP: return NBD_ENOTSUP;
    case ESHUTDOWN: return NBD_ESHUTDOWN;
    default: return NBD_EIO;
    }
}

static void simple_reply(struct nbd_req *req, uint32_t error)
{
    put_be32(req->hdr, NBD_SIMPLE_REPLY_MAGIC);
    put_be32(req->hdr + 4, error);
    put_be64(req->hdr + 8, req->cookie);
    req->hdr_len = 16;
    req->tail = NULL;
    req->tail_len = 0;
}

static void chunk_hdr(struct nbd_req *req, uint16_t type, uint32_t len)
{
    put_be32(req->hdr, NBD_STRUCTURED_REPLY_MAGIC);
    put_be16(req->hdr + 4, NBD_REPLY_FLAG_DONE);
    put_be16(req->hdr + 6, type);
    put_be64(req->hdr + 8, req->cookie);
    put_be32(req->hdr + 16, len);
}

static const uint32_t latency_bounds_us[] = { NBD_LATENCY_BUCKETS_US };
_Static_assert(VS_ARRAY_SIZE(latency_bounds_us) + 1 == NBD_LATENCY_NBUCKETS,
               "one bucket more than bounds");

const char *nbd_cmd_name(unsigned cmd)
{
    static const char *names[NBD_STATS_NCMDS] = {
        "read", "write", "disc", "flush", "trim", "cache", "write_zeroes", "block_status",
    };
    return cmd < NBD_STATS_NCMDS ? names[cmd] : "unknown";
}

/* Counts a request of a client that chose an export, at its reply. */
static void account(struct nbd_req *req, uint32_t error)
{
    struct nbd_export *exp = req->conn->exp;
    if (!exp || req->type >= NBD_STATS_NCMDS)
        return;
    /* Connections to one export may run on several loops. */
#define ADD(field, v) __atomic_fetch_add(&(field), (v), __ATOMIC_RELAXED)
    struct nbd_export_stats *st = &exp->stats;
    ADD(st->ops[req->type], 1);
    if (error) {
        ADD(st->errors[req->type], 1);
    } else if (req->type == NBD_CMD_READ) {
        ADD(st->bytes_read, req->len);
    } else if (req->type == NBD_CMD_WRITE) {
        ADD(st->bytes_written, req->len);
    }
    uint64_t ns = vs_now_ns() - req->start_ns;
    uint64_t us = ns / 1000;
    unsigned b = 0;
    while (b < VS_ARRAY_SIZE(latency_bounds_us) && us > latency_bounds_us[b])
        b++;
    ADD(st->latency[b], 1);
    ADD(st->latency_sum_ns, ns);
#undef ADD
}

static void send_reply(struct nbd_req *req, uint32_t error)
{
    struct nbd_conn *conn = req->conn;
    account(req, error);
    bool structured_cmd = conn->structured &&
        (req->type == NBD_CMD_READ || req->type == NBD_CMD_BLOCK_STATUS);
    if (!structured_cmd) {
        /* Simple replies: the only kind without structured replies, and
         * enough (and shorter) for commands that return no data. */
        simple_reply(req, error);
        if (error == 0 && req->type == NBD_CMD_READ) {
            req->tail = req->buf;
            req->tail_len = req->len;
        }
    } else if (error) {
        chunk_hdr(req, NBD_REPLY_TYPE_ERROR, 6);
        put_be32(req->hdr + 20, error);
        put_be16(req->hdr + 24, 0);
        req->hdr_len = 26;
        req->tail_len = 0;
    } else if (req->type == NBD_CMD_READ) {
        if (req->len == 0) {
            chunk_hdr(req, NBD_REPLY_TYPE_NONE, 0);
            req->hdr_len = 20;
            req->tail_len = 0;
        } else {
            chunk_hdr(req, NBD_REPLY_TYPE_OFFSET_DATA, 8 + req->len);
            put_be64(req->hdr + 20, req->offset);
            req->hdr_len = 28;
            req->tail = req->buf;
            req->tail_len = req->len;
        }
    } else {
        uint32_t n = req->nextents * 8;
        chunk_hdr(req, NBD_REPLY_TYPE_BLOCK_STATUS, 4 + n);
        put_be32(req->hdr + 20, NBD_META_ID_BASE_ALLOCATION);
        req->hdr_len = 24;
        req->tail = req->extents;
        req->tail_len = n;
    }
    nbd_conn_queue_reply(conn, req);
}

/* FUA is valid on every command once negotiated (proto.md: a server
 * "MUST accept all commands with this flag set", ignoring it where it
 * means nothing); the other flags belong to one command each. */
static uint32_t allowed_flags(const struct nbd_conn *conn, uint16_t type)
{
    uint32_t f = NBD_CMD_FLAG_FUA;
    switch (type) {
    case NBD_CMD_READ: return f | (conn->structured ? NBD_CMD_FLAG_DF : 0);
    case NBD_CMD_WRITE_ZEROES: return f | NBD_CMD_FLAG_NO_HOLE | NBD_CMD_FLAG_FAST_ZERO;
    case NBD_CMD_BLOCK_STATUS: return f | NBD_CMD_FLAG_REQ_ONE;
    default: return f;
    }
}

/* Returns the NBD error a request earns before it reaches the node. */
static uint32_t check(const struct nbd_conn *conn, const struct nbd_req *req)
{
    const struct nbd_export *exp = conn->exp;
    uint64_t size = blk_size(&exp->blk);
    bool is_write = req->type == NBD_CMD_WRITE || req->type == NBD_CMD_TRIM ||
                    req->type == NBD_CMD_WRITE_ZEROES;
    switch (req->type) {
    case NBD_CMD_READ: case NBD_CMD_WRITE: case NBD_CMD_FLUSH: case NBD_CMD_TRIM:
    case NBD_CMD_CACHE: case NBD_CMD_WRITE_ZEROES: case NBD_CMD_BLOCK_STATUS:
        break;
    default:
        return NBD_EINVAL;
    }
    if (req->flags & ~allowed_flags(conn, req->type))
        return NBD_EINVAL;
    if ((req->type == NBD_CMD_READ || req->type == NBD_CMD_WRITE) &&
        req->len > NBD_MAX_PAYLOAD)
        return (req->flags & NBD_CMD_FLAG_DF) ? NBD_EOVERFLOW : NBD_EINVAL;
    if (req->type == NBD_CMD_FLUSH)
        return (req->offset || req->len) ? NBD_EINVAL : 0;
    if (is_write && !exp->writable)
        return NBD_EPERM;
    if (req->type == NBD_CMD_BLOCK_STATUS &&
        (!conn->structured || !conn->meta_base_allocation || req->len == 0))
        return NBD_EINVAL;
    /* As QEMU: writing data or zeroes past the end is "no space", any
     * other out-of-range request (read, trim, cache, status) invalid. */
    if (req->offset > size || req->len > size - req->offset)
        return (req->type == NBD_CMD_WRITE || req->type == NBD_CMD_WRITE_ZEROES)
                   ? NBD_ENOSPC : NBD_EINVAL;
    return 0;
}

static void block_status_next(struct nbd_req *req)
{
    req->breq.op = BLOCK_OP_BLOCK_STATUS;
    req->breq.flags = 0;
    req->breq.offset = req->bs_pos;
    req->breq.len = req->offset + req->len - req->bs_pos;
    req->breq.buf = NULL;
    req->breq.extents = req->bext;
    req->breq.max_extents = (req->flags & NBD_CMD_FLAG_REQ_ONE) ? 1 : NBD_BS_BATCH;
    blk_submit(&req->exp->blk, &req->breq);
}

/* Appends one extent of the answer to the reply, merged into the last
 * descriptor when the flags are the same. */
static void add_extent(struct nbd_req *req, const struct block_extent *e)
{
    uint32_t flags = 0;
    if (e->flags & BLOCK_STATUS_HOLE)
        flags |= NBD_STATE_HOLE;
    if (e->flags & BLOCK_STATUS_ZERO)
        flags |= NBD_STATE_ZERO;
    if (req->nextents > 0 && be32toh(req->extents[2 * (req->nextents - 1) + 1]) == flags) {
        uint32_t prev = be32toh(req->extents[2 * (req->nextents - 1)]);
        req->extents[2 * (req->nextents - 1)] = htobe32(prev + (uint32_t)e->len);
    } else {
        req->extents[2 * req->nextents] = htobe32((uint32_t)e->len);
        req->extents[2 * req->nextents + 1] = htobe32(flags);
        req->nextents++;
    }
    req->bs_pos += e->len;
}

static void block_status_done(struct nbd_req *req, int ret)
{
    if (ret < 0) {
        /* Nothing was wrong with the request itself (check() passed), so
         * answer with what we know: "all data" is always a true status
         * (proto.md allows a single status-0 descriptor). */
        if (req->nextents == 0) {
            req->extents[0] = htobe32(req->len);
            req->extents[1] = 0;
            req->nextents = 1;
        }
        send_reply(req, 0);
        return;
    }
    for (unsigned i = 0; i < req->breq.n_extents && req->nextents < NBD_MAX_EXTENTS; i++)
        add_extent(req, &req->breq.extents[i]);
    bool one = req->flags & NBD_CMD_FLAG_REQ_ONE;
    if (req->bs_pos >= req->offset + req->len || one || req->nextents >= NBD_MAX_EXTENTS ||
        req->conn->phase != PHASE_TRANSMISSION) {
        send_reply(req, 0);
        return;
    }
    block_status_next(req);
}

static void req_done(struct block_req *breq, int ret)
{
    struct nbd_req *req = vs_container_of(breq, struct nbd_req, breq);
    struct nbd_conn *conn = req->conn;
    if (req->type == NBD_CMD_READ)
        nbd_conn_read_done(conn);
    if (conn->phase == PHASE_CLOSING) {
        nbd_req_free(req);
        return;
    }
    if (req->type == NBD_CMD_BLOCK_STATUS) {
        block_status_done(req, ret);
    } else {
        /* Nothing to give back but the status: drop a write's payload now
         * rather than after the reply is sent. */
        if (req->type != NBD_CMD_READ && req->buf) {
            nbd_buf_put(req->buf, req->buf_size);
            conn->inflight_bytes -= req->buf_size;
            req->buf = NULL;
            req->buf_size = 0;
        }
        send_reply(req, nbd_errno(ret));
    }
    nbd_conn_kick_recv(conn);
}

void nbd_req_start(struct nbd_req *req)
{
    struct nbd_conn *conn = req->conn;
    struct block_req *b = &req->breq;
    /* The export outlives what goes into its node (export.c). */
    req->exp = conn->exp;
    b->cb = req_done;
    b->offset = req->offset;
    b->len = req->len;
    b->buf = req->buf;
    b->flags = (req->flags & NBD_CMD_FLAG_FUA) ? BLOCK_REQ_FUA : 0;
    switch (req->type) {
    case NBD_CMD_READ:
        b->op = BLOCK_OP_READ;
        break;
    case NBD_CMD_WRITE:
        b->op = BLOCK_OP_WRITE;
        break;
    case NBD_CMD_FLUSH:
        b->op = BLOCK_OP_FLUSH;
        break;
    case NBD_CMD_TRIM:
        b->op = BLOCK_OP_DISCARD;
        break;
    case NBD_CMD_WRITE_ZEROES:
        b->op = BLOCK_OP_WRITE_ZEROES;
        if (!(req->flags & NBD_CMD_FLAG_NO_HOLE))
            b->flags |= BLOCK_REQ_MAY_UNMAP;
        if (req->flags & NBD_CMD_FLAG_FAST_ZERO)
            b->flags |= BLOCK_REQ_NO_FALLBACK;
        break;
    case NBD_CMD_BLOCK_STATUS:
        req->extents = vs_malloc(sizeof(uint32_t) * 2 * NBD_MAX_EXTENTS);
        req->bext = vs_malloc(sizeof(*req->bext) * NBD_BS_BATCH);
        req->bs_pos = req->offset;
        block_status_next(req);
        return;
    case NBD_CMD_CACHE:
        /* Advisory: the data is one io_uring read away in any case. */
        send_reply(req, 0);
        return;
    }
    if (req->type == NBD_CMD_READ)
        conn->reads++; /* before: the request is not ours to read after */
    blk_submit(&req->exp->blk, b);
}

ssize_t nbd_transmission_input(struct nbd_conn *conn, const uint8_t *p, size_t n)
{
    if (n < NBD_REQUEST_SIZE)
        return 0;
    if (get_be32(p) != NBD_REQUEST_MAGIC)
        return -1; /* out of step with the client: nothing can be trusted */
    uint16_t flags = get_be16(p + 4);
    uint16_t type = get_be16(p + 6);
    if (type == NBD_CMD_DISC) {
        conn->closing_after_drain = true;
        return NBD_REQUEST_SIZE;
    }
    struct nbd_req *req = vs_zalloc(sizeof(*req));
    req->conn = conn;
    req->flags = flags;
    req->type = type;
    req->cookie = get_be64(p + 8);
    req->offset = get_be64(p + 16);
    req->len = get_be32(p + 24);
    req->start_ns = vs_now_ns();
    conn->refs++;
    conn->inflight_reqs++;

    uint32_t error = check(conn, req);
    size_t consumed = NBD_REQUEST_SIZE;
    size_t avail = n - NBD_REQUEST_SIZE;
    if (type == NBD_CMD_WRITE && error) {
        /* Keep in step: the payload follows whatever we think of it. */
        size_t now = (size_t)VS_MIN((uint64_t)avail, (uint64_t)req->len);
        consumed += now;
        conn->skip = req->len - now;
        send_reply(req, error);
        return (ssize_t)consumed;
    }
    if (error) {
        send_reply(req, error);
        return (ssize_t)consumed;
    }
    if (type == NBD_CMD_READ || type == NBD_CMD_WRITE) {
        req->buf = nbd_buf_get(req->len, &req->buf_size);
        conn->inflight_bytes += req->buf_size;
    }
    if (type == NBD_CMD_WRITE) {
        size_t now = (size_t)VS_MIN((uint64_t)avail, (uint64_t)req->len);
        memcpy(req->buf, p + NBD_REQUEST_SIZE, now);
        consumed += now;
        if (now < req->len) {
            /* The rest goes straight into the request's buffer. */
            req->breq.done = now;
            conn->payload_req = req;
            return (ssize_t)consumed;
        }
    }
    nbd_req_start(req);
    return (ssize_t)consumed;
}
