/* The `memory` driver: a volume in RAM, for unit tests, fuzzing and
 * benchmarks of the layers above. It tracks allocation in 64 KiB chunks so
 * sparse behaviour can be tested, can be told to fail chosen operations on
 * chosen ranges, and can hold requests so a test decides the interleaving
 * of completions (or answer block status at once and deliver it later: a
 * stale answer). Requests otherwise complete immediately (the block layer
 * still defers the issuer's callback). */
#include "block.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MEM_CHUNK (64u * 1024)
#define MEM_MAX_SIZE (64ull << 30)

/* Requests a test holds back: run when released, or already answered
 * (ret) and only delivered then. */
struct pending {
    struct pending_req {
        struct block_req *req;
        int ret;
        bool answered;
    } *v;
    size_t n, cap;
};

struct mem_state {
    uint8_t *data;
    uint8_t *alloc;          /* one byte per chunk: 1 = allocated */
    uint64_t nchunks;
    unsigned err_mask;
    uint64_t err_off, err_len;
    int err;
    bool hold;
    bool copy_range;         /* takes COPY_RANGE from memory nodes */
    bool delay_status;       /* BLOCK_STATUS answered now, delivered later */
    struct pending held, delayed;
    uint64_t completed;
};

static int mem_open(struct block_node *node, const struct block_node_opts *opts,
                    struct vs_error *err)
{
    if (opts->size == 0 || opts->size > MEM_MAX_SIZE) {
        vs_error_set(err, VS_ERR_GENERIC, "memory node size must be in (0, 64 GiB]");
        return -1;
    }
    struct mem_state *s = vs_zalloc(sizeof(*s));
    /* mmap so that untouched pages cost nothing, like a sparse file. */
    void *p = mmap(NULL, opts->size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        vs_error_set_errno(err, errno, "Cannot allocate %llu bytes",
                           (unsigned long long)opts->size);
        free(s);
        return -1;
    }
    s->data = p;
    s->nchunks = (opts->size + MEM_CHUNK - 1) / MEM_CHUNK;
    s->alloc = vs_zalloc(s->nchunks);
    node->opaque = s;
    node->size = opts->size;
    return 0;
}

static void mem_close(struct block_node *node)
{
    struct mem_state *s = node->opaque;
    munmap(s->data, node->size);
    free(s->alloc);
    free(s->held.v);
    free(s->delayed.v);
    free(s);
}

static void mark(struct mem_state *s, uint64_t off, uint64_t len, bool allocated,
                 uint64_t size)
{
    if (len == 0)
        return;
    uint64_t first = off / MEM_CHUNK, last = (off + len - 1) / MEM_CHUNK;
    for (uint64_t c = first; c <= last; c++) {
        if (allocated) {
            s->alloc[c] = 1;
            continue;
        }
        /* Deallocate only whole chunks, like a file system with 64 KiB
         * blocks; partial chunks stay allocated (and are zeroed). */
        uint64_t cs = c * MEM_CHUNK, ce = VS_MIN(cs + MEM_CHUNK, size);
        if (cs >= off && ce <= off + len)
            s->alloc[c] = 0;
    }
}

static bool mem_can_copy_range(const struct block_node *dst, const struct block_node *src)
{
    return ((struct mem_state *)dst->opaque)->copy_range && src->drv == dst->drv;
}

static int mem_do(struct block_node *node, struct block_req *req)
{
    struct mem_state *s = node->opaque;
    if (s->err && (s->err_mask & (1u << req->op)) &&
        (req->op == BLOCK_OP_FLUSH ||
         (req->offset < s->err_off + s->err_len && s->err_off < req->offset + req->len)))
        return -s->err;
    switch (req->op) {
    case BLOCK_OP_READ:
        memcpy(req->buf, s->data + req->offset, req->len);
        return 0;
    case BLOCK_OP_WRITE:
        memcpy(s->data + req->offset, req->buf, req->len);
        mark(s, req->offset, req->len, true, node->size);
        return 0;
    case BLOCK_OP_FLUSH:
        return 0;
    case BLOCK_OP_DISCARD:
        if (!node->unmap)
            return 0;
        /* a discarded range reads as zeroes here */
        __attribute__((fallthrough));
    case BLOCK_OP_WRITE_ZEROES:
        memset(s->data + req->offset, 0, req->len);
        if (req->op == BLOCK_OP_DISCARD ||
            ((req->flags & BLOCK_REQ_MAY_UNMAP) && node->unmap))
            mark(s, req->offset, req->len, false, node->size);
        else
            mark(s, req->offset, req->len, true, node->size);
        return 0;
    case BLOCK_OP_COPY_RANGE:
        if (!mem_can_copy_range(node, req->copy_src))
            return -ENOTSUP;
        memcpy(s->data + req->offset,
               ((struct mem_state *)req->copy_src->opaque)->data + req->offset, req->len);
        mark(s, req->offset, req->len, true, node->size);
        return 0;
    case BLOCK_OP_BLOCK_STATUS: {
        /* Runs of chunks with the same allocation, as many as the issuer
         * has room for. */
        struct block_extent *ext = req->extents;
        unsigned max = req->max_extents, n = 0;
        uint64_t pos = req->offset, end = req->offset + req->len;
        while (pos < end && n < max) {
            uint8_t a = s->alloc[pos / MEM_CHUNK];
            uint64_t e = VS_MIN((pos / MEM_CHUNK + 1) * MEM_CHUNK, end);
            while (e < end && s->alloc[e / MEM_CHUNK] == a)
                e = VS_MIN(e + MEM_CHUNK, end);
            ext[n].len = e - pos;
            ext[n].flags = a ? 0 : (BLOCK_STATUS_HOLE | BLOCK_STATUS_ZERO);
            n++;
            pos = e;
        }
        req->n_extents = n;
        return 0;
    }
    }
    return -EINVAL;
}

static void pending_push(struct pending *p, struct block_req *req, int ret, bool answered)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 16;
        p->v = vs_realloc(p->v, p->cap * sizeof(*p->v));
    }
    p->v[p->n++] = (struct pending_req){ req, ret, answered };
}

/* Delivers what p holds, in order; p is empty before the first callback
 * (which may submit again). */
static void pending_release(struct block_node *node, struct pending *p)
{
    struct mem_state *s = node->opaque;
    struct pending out = *p;

    memset(p, 0, sizeof(*p));
    for (size_t i = 0; i < out.n; i++) {
        int r = out.v[i].answered ? out.v[i].ret : mem_do(node, out.v[i].req);
        s->completed++;
        block_req_driver_done(out.v[i].req, r);
    }
    free(out.v);
}

static void mem_submit(struct block_node *node, struct block_req *req)
{
    struct mem_state *s = node->opaque;
    if (s->delay_status && req->op == BLOCK_OP_BLOCK_STATUS) {
        pending_push(&s->delayed, req, mem_do(node, req), true);
        return;
    }
    if (s->hold && req->op != BLOCK_OP_BLOCK_STATUS) {
        pending_push(&s->held, req, 0, false);
        return;
    }
    int r = mem_do(node, req);
    s->completed++;
    block_req_driver_done(req, r);
}

static int mem_truncate(struct block_node *node, uint64_t size, struct vs_error *err)
{
    vs_error_set(err, VS_ERR_GENERIC, "memory nodes cannot be resized");
    return -1;
}

void block_memory_set_error(struct block_node *node, unsigned op_mask,
                            uint64_t offset, uint64_t len, int err)
{
    struct mem_state *s = node->opaque;
    s->err_mask = op_mask;
    s->err_off = offset;
    s->err_len = len;
    s->err = err;
}

void block_memory_hold(struct block_node *node, bool hold)
{
    struct mem_state *s = node->opaque;
    s->hold = hold;
    if (!hold)
        pending_release(node, &s->held);
}

void block_memory_delay_status(struct block_node *node, bool delay)
{
    struct mem_state *s = node->opaque;
    s->delay_status = delay;
    if (!delay)
        pending_release(node, &s->delayed);
}

void block_memory_set_copy_range(struct block_node *node, bool on)
{
    ((struct mem_state *)node->opaque)->copy_range = on;
}

uint64_t block_memory_completed(struct block_node *node)
{
    return ((struct mem_state *)node->opaque)->completed;
}

uint8_t *block_memory_data(struct block_node *node)
{
    return ((struct mem_state *)node->opaque)->data;
}

uint64_t block_memory_allocated(struct block_node *node)
{
    struct mem_state *s = node->opaque;
    uint64_t n = 0;
    for (uint64_t c = 0; c < s->nchunks; c++)
        n += s->alloc[c];
    return n * MEM_CHUNK;
}

const struct block_driver block_driver_memory = {
    .name = "memory",
    .open = mem_open,
    .close = mem_close,
    .submit = mem_submit,
    .truncate = mem_truncate,
    .multi_conn = true,
    .can_copy_range = mem_can_copy_range,
};
