/* Requests: validation at the door, in-flight accounting, the write hooks
 * and completion. Every request of every node passes through here, which
 * is why drain and the mirror's hooks can rely on seeing all of them.
 *
 * A request's life: block_node_submit -> (write-class) each hook's
 * `before` -> drv->submit -> block_req_driver_done -> (write-class) each
 * hook's `after` -> finish: leave the in-flight list, wake a drain waiter,
 * call the issuer's cb. A hook that takes the request resumes the walk
 * with block_req_hook_resume. The issuer's cb never runs inside the call
 * that submitted the request. */
#include "block.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <time.h>

static void req_finish(struct block_req *req);
static void driver_done_bh(struct vs_bh *bh);

static void req_finish_bh(struct vs_bh *bh)
{
    req_finish(vs_container_of(bh, struct block_req, bh));
}

static void req_fail_later(struct block_node *node, struct block_req *req, int ret)
{
    /* Never complete inside the submit call: the issuer may not be ready. */
    req->ret = ret;
    req->bh.fn = req_finish_bh;
    vs_loop_defer(node->loop, &req->bh);
}

static struct block_hook *hook_at(struct block_node *node, int pos)
{
    int i = 0;
    vs_list_for_each(l, &node->hooks) {
        if (i++ == pos)
            return vs_list_entry(l, struct block_hook, link);
    }
    return NULL;
}

static void run_driver(struct block_req *req)
{
    struct block_node *node = req->node;
    req->at_driver = true;
    req->submitting = true;
    req->completed_early = false;
    node->drv->submit(node, req);
    req->submitting = false;
    if (req->completed_early) {
        /* Finished inside submit: continue from a bottom half so the
         * issuer's cb cannot run inside its own submit call. */
        req->completed_early = false;
        req->bh.fn = driver_done_bh;
        vs_loop_defer(node->loop, &req->bh);
    }
}

/* Walks the `before` hooks from req->hook_pos; returns true if one took it. */
static bool walk_before(struct block_req *req)
{
    struct block_hook *h;
    while ((h = hook_at(req->node, req->hook_pos)) != NULL) {
        req->hook_pos++;
        if (h->before && h->before(h, req))
            return true;
    }
    return false;
}

static bool walk_after(struct block_req *req)
{
    struct block_hook *h;
    while ((h = hook_at(req->node, req->hook_pos)) != NULL) {
        req->hook_pos++;
        if (h->after && h->after(h, req, req->ret))
            return true;
    }
    return false;
}

static int check_request(struct block_node *node, struct block_req *req)
{
    switch (req->op) {
    case BLOCK_OP_FLUSH:
        return 0;
    case BLOCK_OP_COPY_RANGE:
        if (node->read_only)
            return -EPERM;
        if (!req->copy_src || req->offset > req->copy_src->size ||
            req->len > req->copy_src->size - req->offset ||
            req->offset > node->size || req->len > node->size - req->offset)
            return -EINVAL;
        return 0;
    case BLOCK_OP_WRITE:
    case BLOCK_OP_WRITE_ZEROES:
    case BLOCK_OP_DISCARD:
        if (node->read_only)
            return -EPERM;
        __attribute__((fallthrough));
    case BLOCK_OP_READ:
    case BLOCK_OP_BLOCK_STATUS:
        if (req->offset > node->size || req->len > node->size - req->offset)
            return -EINVAL;
        if (req->op == BLOCK_OP_BLOCK_STATUS && req->len == 0)
            return -EINVAL;
        return 0;
    }
    return -EINVAL;
}

uint64_t block_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Adds a finished request to STATS (block status is not I/O). */
static void account(struct block_stats *st, const struct block_req *req, uint64_t now)
{
    enum block_acct k;
    switch (req->op) {
    case BLOCK_OP_READ: k = BLOCK_ACCT_READ; break;
    case BLOCK_OP_WRITE:
    case BLOCK_OP_WRITE_ZEROES:
    case BLOCK_OP_COPY_RANGE: k = BLOCK_ACCT_WRITE; break;
    case BLOCK_OP_FLUSH: k = BLOCK_ACCT_FLUSH; break;
    case BLOCK_OP_DISCARD: k = BLOCK_ACCT_UNMAP; break;
    default: return;
    }
    st->last_io_ns = now;
    if (req->ret < 0) {
        if (req->at_driver)
            st->failed[k]++;
        else
            st->invalid[k]++;
        return;
    }
    st->ops[k]++;
    st->bytes[k] += req->op == BLOCK_OP_FLUSH ? 0 : req->len;
    st->total_time_ns[k] += now - req->start_ns;
    if (k == BLOCK_ACCT_WRITE && req->offset + req->len > st->wr_highest_offset)
        st->wr_highest_offset = req->offset + req->len;
}

/* QEMU's write threshold: one event, the first time a write to NODE ends
 * past it (discards do not count there either), and it is off again. */
static void check_write_threshold(struct block_node *node, const struct block_req *req)
{
    uint64_t t = node->write_threshold, end = req->offset + req->len;
    if (t == 0 || end <= t || req->op == BLOCK_OP_DISCARD || !block_op_is_write(req->op))
        return;
    node->write_threshold = 0;
    vs_event_emit("BLOCK_WRITE_THRESHOLD",
                  json_pack("{s:s, s:I, s:I}", "node-name", node->name, "write-threshold",
                            (json_int_t)t, "amount-exceeded", (json_int_t)(end - t)));
}

void block_node_submit(struct block_node *node, struct block_req *req)
{
    if (!req->blk)      /* a backend's request is timed from its submission, hold included */
        req->start_ns = block_now_ns();
    req->node = node;
    req->ret = 0;
    req->done = 0;
    req->hook_pos = 0;
    req->at_driver = false;
    req->status_len = 0;
    req->status_flags = 0;
    req->n_extents = 0;
    if (req->max_extents == 0 || !req->extents) {
        req->extents = &req->one_extent;
        req->max_extents = 1;
    }
    vs_list_init(&req->link);

    int r = check_request(node, req);
    if (r < 0) {
        req->in_flight = false;
        req_fail_later(node, req, r);
        return;
    }
    req->in_flight = true;
    vs_list_append(&node->in_flight, &req->link);
    node->n_in_flight++;
    check_write_threshold(node, req);

    if (block_op_is_hooked(req->op) && walk_before(req))
        return;
    run_driver(req);
}

static void after_driver(struct block_req *req)
{
    req->hook_pos = 0;
    if (block_op_is_hooked(req->op) && walk_after(req))
        return;
    req_finish(req);
}

static void driver_done_bh(struct vs_bh *bh)
{
    after_driver(vs_container_of(bh, struct block_req, bh));
}

void block_req_driver_done(struct block_req *req, int ret)
{
    req->ret = ret;
    if (req->submitting) {
        req->completed_early = true;
        return;
    }
    after_driver(req);
}

void block_req_hook_resume(struct block_req *req, int ret)
{
    if (!req->at_driver) {
        /* A `before` hook let it go: on to the next hook, then the driver. */
        if (walk_before(req))
            return;
        run_driver(req);
        return;
    }
    req->ret = ret;
    if (walk_after(req))
        return;
    req_finish(req);
}

static void req_finish(struct block_req *req)
{
    struct block_node *node = req->node;
    if (req->op == BLOCK_OP_BLOCK_STATUS && req->ret == 0) {
        if (req->n_extents == 0) {
            req->extents[0].len = req->status_len;
            req->extents[0].flags = req->status_flags;
            req->n_extents = 1;
        } else {
            req->status_len = req->extents[0].len;
            req->status_flags = req->extents[0].flags;
        }
    }
    if (req->op != BLOCK_OP_BLOCK_STATUS) {
        uint64_t now = block_now_ns();
        account(&node->stats, req, now);
        if (req->blk) {
            account(&req->blk->stats, req, now);
            vs_trace_request(block_op_is_write(req->op), now - req->start_ns);
            if (node->trace_first_write && block_op_is_write(req->op)) {
                node->trace_first_write = false;
                vs_trace("first-guest-write", node->name);
            }
        }
    }
    if (req->in_flight) {
        req->in_flight = false;
        vs_list_remove(&req->link);
        node->n_in_flight--;
    }
    struct block_backend *blk = req->blk;
    if (blk) {
        blk->n_in_flight--;
        req->blk = NULL;
    }
    if (node->drain_waiter && block_node_drained(node)) {
        struct vs_bh *w = node->drain_waiter;
        node->drain_waiter = NULL;
        vs_loop_defer(node->loop, w);
    }
    req->cb(req, req->ret);
    /* After the cb: an issuer resubmitting from it keeps the backend busy. */
    if (blk && --blk->n_reqs == 0 && blk->on_idle)
        blk->on_idle(blk);
}

void block_hook_add(struct block_node *node, struct block_hook *h)
{
    vs_list_append(&node->hooks, &h->link);
}

void block_hook_remove(struct block_node *node, struct block_hook *h)
{
    (void)node;
    vs_list_remove(&h->link);
}

bool block_node_can_copy_range(const struct block_node *dst, const struct block_node *src)
{
    return dst->drv->can_copy_range && dst->drv->can_copy_range(dst, src);
}
