/* Backends and the pivot primitives: quiesce, drain, replace, release.
 *
 * Requests from exports and jobs enter through a backend. While a node is
 * quiesced, requests arriving through its backends wait on node->held
 * instead of reaching the driver; drain tells when the ones already inside
 * have finished. block_node_replace then moves the backends (and whatever
 * they are holding) to another node, and release resubmits the held
 * requests through their backends, which now point at the new node. The
 * issuer sees a delay, never an error. */
#include "block.h"

#include <assert.h>
#include <errno.h>

/* ---- direct reads ------------------------------------------------------
 *
 * The handshake between an issuer on another loop and the node's loop is
 * Dekker's: the issuer raises direct_in, then reads the gate; the node's
 * loop closes the gate, then reads direct_in (all sequentially
 * consistent). So either the issuer sees the gate closed and goes the
 * posted way, or the node's loop sees its read counted and waits for it.
 * blk->node is written only with the gate closed and direct_in at 0, so an
 * issuer that found the gate open reads it safely. */
#define SC __ATOMIC_SEQ_CST

static void blk_gate_update(struct block_backend *blk)
{
    struct block_node *node = blk->node;
    int open = node && !blk->direct_shut && node->quiesce == 0 && node->drv->read_direct &&
               node->loop == blk->loop;
    __atomic_store_n(&blk->direct_open, open, SC);
}

/* The node's loop, from direct_msg: an issuer brought direct_in to 0 with
 * the gate closed. */
static void blk_direct_settled_msg(struct vs_msg *m)
{
    struct block_backend *blk = vs_container_of(m, struct block_backend, direct_msg);
    __atomic_store_n(&blk->direct_msg_posted, 0, SC);
    if (__atomic_load_n(&blk->direct_in, SC) != 0)
        return; /* the issuer that ends at 0 again posts again */
    struct block_node *node = blk->node;
    if (node && node->drain_waiter && block_node_drained(node)) {
        struct vs_bh *w = node->drain_waiter;
        node->drain_waiter = NULL;
        vs_loop_defer(node->loop, w);
    }
    /* Last: on_idle may free the backend. */
    if (blk->direct_shut && blk->n_reqs == 0 && blk->on_idle)
        blk->on_idle(blk);
}

/* The issuer's loop: one direct read of blk's is over (or never began). */
static void blk_direct_put(struct block_backend *blk)
{
    if (__atomic_sub_fetch(&blk->direct_in, 1, SC) != 0 || __atomic_load_n(&blk->direct_open, SC))
        return;
    /* The backend outlives this: its owner lets it go only after hearing
     * from this loop later than this message (exports: the connection's
     * "gone" waits for its direct reads, and messages from one loop to
     * another arrive in order). */
    if (__atomic_exchange_n(&blk->direct_msg_posted, 1, SC))
        return;
    blk->direct_msg.fn = blk_direct_settled_msg;
    vs_loop_post(blk->loop, &blk->direct_msg);
}

bool block_node_direct_idle(struct block_node *node)
{
    vs_list_for_each(l, &node->backends) {
        struct block_backend *blk = vs_list_entry(l, struct block_backend, link);
        if (__atomic_load_n(&blk->direct_in, SC) != 0)
            return false;
    }
    return true;
}

bool block_node_drained(struct block_node *node)
{
    /* Without a quiesce the gates are open and new direct reads may start
     * at any time: such a drain waits for the node's own requests, as it
     * always did, and only a quiesced node's drain covers the reads of
     * other loops (whose last one then reports, the gate being closed). */
    return node->n_in_flight == 0 && (node->quiesce == 0 || block_node_direct_idle(node));
}

bool blk_direct_shut(struct block_backend *blk)
{
    blk->direct_shut = true;
    blk_gate_update(blk);
    return __atomic_load_n(&blk->direct_in, SC) == 0;
}

/* The issuer's loop: reads REQ directly if the gate is open. */
static bool blk_read_direct(struct block_backend *blk, struct block_req *req, struct vs_loop *cur)
{
    __atomic_add_fetch(&blk->direct_in, 1, SC);
    if (!__atomic_load_n(&blk->direct_open, SC)) {
        blk_direct_put(blk);
        return false;
    }
    struct block_node *node = blk->node;
    if (req->offset > blk_size(blk) || req->len > blk_size(blk) - req->offset) {
        blk_direct_put(blk);
        return false; /* the node's loop refuses it, with the accounting */
    }
    req->direct = true;
    req->direct_loop = cur;
    req->blk = blk;
    req->node = node;
    req->ret = 0;
    req->done = 0;
    req->at_driver = true;
    req->start_ns = block_now_ns();
    node->drv->read_direct(node, req, cur);
    return true;
}

static void direct_account(struct block_stats *st, const struct block_req *req, int ret,
                           uint64_t now)
{
#define ADD(field, v) __atomic_fetch_add(&(field), (v), __ATOMIC_RELAXED)
    __atomic_store_n(&st->last_io_ns, now, __ATOMIC_RELAXED);
    if (ret < 0) {
        ADD(st->failed[BLOCK_ACCT_READ], 1);
        return;
    }
    ADD(st->ops[BLOCK_ACCT_READ], 1);
    ADD(st->bytes[BLOCK_ACCT_READ], req->len);
    ADD(st->total_time_ns[BLOCK_ACCT_READ], now - req->start_ns);
#undef ADD
}

void block_req_direct_done(struct block_req *req, int ret)
{
    struct block_backend *blk = req->blk;
    uint64_t now = block_now_ns();
    /* Not in vs_trace_request's maximum: that is one thread's, and what it
     * watches (the pause of a pivot) is met by reads held on the node's
     * loop, which count there. */
    direct_account(&req->node->direct_stats, req, ret, now);
    direct_account(&blk->direct_stats, req, ret, now);
    req->blk = NULL;
    req->ret = ret;
    blk_direct_put(blk);
    req->cb(req, ret);
}

static struct block_stats stats_merged(const struct block_stats *st,
                                       const struct block_stats *direct)
{
    struct block_stats out = *st;
    const uint64_t *d = (const uint64_t *)direct;
    uint64_t *o = (uint64_t *)&out;
    _Static_assert(sizeof(out) % sizeof(uint64_t) == 0, "block_stats is all uint64_t");
    for (size_t i = 0; i < sizeof(out) / sizeof(uint64_t); i++) {
        uint64_t v = __atomic_load_n(&d[i], __ATOMIC_RELAXED);
        if (&o[i] == &out.last_io_ns || &o[i] == &out.wr_highest_offset)
            o[i] = v > o[i] ? v : o[i];
        else
            o[i] += v;
    }
    return out;
}

struct block_stats block_node_stats(const struct block_node *node)
{
    return stats_merged(&node->stats, &node->direct_stats);
}

struct block_stats blk_stats(const struct block_backend *blk)
{
    return stats_merged(&blk->stats, &blk->direct_stats);
}

void block_backend_attach(struct block_backend *blk, struct block_node *node)
{
    blk->node = node;
    blk->loop = node->loop;
    blk->n_in_flight = 0;
    __atomic_store_n(&blk->size_seen, node->size, __ATOMIC_RELAXED);
    vs_list_append(&node->backends, &blk->link);
    blk_gate_update(blk);
}

uint64_t blk_size(const struct block_backend *blk)
{
    return __atomic_load_n(&blk->size_seen, __ATOMIC_RELAXED);
}

void block_node_size_changed(struct block_node *node)
{
    vs_list_for_each(l, &node->backends) {
        struct block_backend *blk = vs_list_entry(l, struct block_backend, link);
        __atomic_store_n(&blk->size_seen, node->size, __ATOMIC_RELAXED);
    }
}

void block_backend_detach(struct block_backend *blk)
{
    if (!blk->node)
        return;
    /* Held requests belong to their issuer, who detaches only after it has
     * stopped issuing and its requests have finished (its direct reads
     * too: blk_direct_shut). */
    blk->node = NULL;
    blk_gate_update(blk);
    vs_list_remove(&blk->link);
}

static void blk_reject_bh(struct vs_bh *bh)
{
    struct block_req *req = vs_container_of(bh, struct block_req, bh);
    req->cb(req, req->ret);
}

static void blk_submit_here(struct block_backend *blk, struct block_req *req);

/* Back on the issuer's loop: the request is finished. */
static void fwd_done_msg(struct vs_msg *m)
{
    struct block_req *req = vs_container_of(m, struct block_req, fwd_msg);
    req->cb = req->fwd_cb;
    req->fwd_cb = NULL;
    req->cb(req, req->ret);
}

/* On the node's loop: the request finished there; send it home. */
static void fwd_complete(struct block_req *req, int ret)
{
    req->ret = ret;
    req->fwd_msg.fn = fwd_done_msg;
    vs_loop_post(req->fwd_loop, &req->fwd_msg);
}

/* On the node's loop: the request arrives. */
static void fwd_submit_msg(struct vs_msg *m)
{
    struct block_req *req = vs_container_of(m, struct block_req, fwd_msg);
    blk_submit_here(req->fwd_blk, req);
}

void blk_submit(struct block_backend *blk, struct block_req *req)
{
    struct vs_loop *cur = vs_loop_current();
    if (blk->loop && cur && cur != blk->loop) {
        /* Only here, on the issuer's thread before anything is posted:
         * the node's loop never writes it (a held request resubmitted
         * there comes back through blk_submit on that loop). */
        req->direct = false;
        if (req->op == BLOCK_OP_READ && blk_read_direct(blk, req, cur))
            return;
        req->fwd_loop = cur;
        req->fwd_blk = blk;
        req->fwd_cb = req->cb;
        req->cb = fwd_complete;
        req->fwd_msg.fn = fwd_submit_msg;
        vs_loop_post(blk->loop, &req->fwd_msg);
        return;
    }
    blk_submit_here(blk, req);
}

static void blk_submit_here(struct block_backend *blk, struct block_req *req)
{
    struct block_node *node = blk->node;
    if (!node || (!blk->writable && block_op_is_write(req->op))) {
        req->ret = node ? -EPERM : -EIO;
        req->bh.fn = blk_reject_bh;
        /* Without a node we have no loop; a detached backend's issuer is a
         * bug, but it must not crash the daemon. */
        if (node)
            vs_loop_defer(node->loop, &req->bh);
        else
            req->cb(req, req->ret);
        return;
    }
    req->blk = blk;
    req->start_ns = block_now_ns();
    blk->n_reqs++;
    if (node->quiesce > 0) {
        vs_list_append(&node->held, &req->link);
        return;
    }
    blk->n_in_flight++;
    block_node_submit(node, req);
}

void block_node_quiesce(struct block_node *node)
{
    /* Closes every backend's gate: from now on reads come through this
     * loop (and are held) too; those already running are waited for by
     * the drain. */
    if (node->quiesce++ == 0) {
        vs_list_for_each(l, &node->backends)
            blk_gate_update(vs_list_entry(l, struct block_backend, link));
    }
}

void block_node_drain(struct block_node *node, struct vs_bh *done)
{
    /* The direct reads of other loops count as in flight: the last to end
     * with the gate closed tells this loop (blk_direct_settled_msg). */
    if (block_node_drained(node)) {
        vs_loop_defer(node->loop, done);
        return;
    }
    node->drain_waiter = done;
}

static void resubmit_held(struct block_node *node)
{
    struct vs_list held;
    vs_list_init(&held);
    /* Take the whole list first: a resubmitted request may be held again
     * (another quiesce begun from a callback) and must not loop here. */
    if (!vs_list_empty(&node->held)) {
        held.next = node->held.next;
        held.prev = node->held.prev;
        held.next->prev = &held;
        held.prev->next = &held;
        vs_list_init(&node->held);
    }
    vs_list_for_each_safe(l, &held) {
        struct block_req *req = vs_list_entry(l, struct block_req, link);
        vs_list_remove(&req->link);
        struct block_backend *blk = req->blk;
        req->blk = NULL;
        /* Counted when it first came; blk_submit counts it again (it
         * cannot be refused now: the backend is still attached and as
         * writable as it was). */
        blk->n_reqs--;
        blk_submit(blk, req);
    }
}

void block_node_release(struct block_node *node)
{
    if (node->quiesce == 0)
        return;
    if (--node->quiesce == 0) {
        vs_list_for_each(l, &node->backends)
            blk_gate_update(vs_list_entry(l, struct block_backend, link));
        resubmit_held(node);
    }
}

/* Moves the backends of `from` that `pick` accepts, and the requests they
 * hold there, to `to`; stamps them. */
static void move_backends(struct block_node *from, struct block_node *to,
                          bool (*pick)(const struct block_backend *, uint64_t),
                          uint64_t stamp)
{
    vs_list_for_each_safe(l, &from->backends) {
        struct block_backend *blk = vs_list_entry(l, struct block_backend, link);
        if (!pick(blk, stamp))
            continue;
        /* Issuers on other loops send to blk->loop, which cannot change
         * under them. */
        assert(to->loop == blk->loop);
        /* Its gate was closed by from's quiesce and its direct reads
         * drained: none uses blk->node now. */
        assert(!__atomic_load_n(&blk->direct_open, SC));
        vs_list_remove(&blk->link);
        blk->node = to;
        __atomic_store_n(&blk->size_seen, to->size, __ATOMIC_RELAXED);
        blk->replace_stamp = stamp;
        vs_list_append(&to->backends, &blk->link);
        blk_gate_update(blk);
    }
    vs_list_for_each_safe(l, &from->held) {
        struct block_req *req = vs_list_entry(l, struct block_req, link);
        if (req->blk->node != to)
            continue;                       /* its backend stayed */
        vs_list_remove(&req->link);
        vs_list_append(&to->held, &req->link);
    }
    from->generation++;
    to->generation++;
    if (to->quiesce == 0)
        resubmit_held(to);
}

static bool follows(const struct block_backend *blk, uint64_t stamp)
{
    return blk->follows_replace;
}

static bool moved_by(const struct block_backend *blk, uint64_t stamp)
{
    return blk->replace_stamp == stamp;
}

uint64_t block_node_replace(struct block_node *from, struct block_node *to)
{
    static uint64_t stamps;

    assert(from != to);
    move_backends(from, to, follows, ++stamps);
    return stamps;
}

void block_node_replace_undo(struct block_node *to, struct block_node *from,
                             uint64_t stamp)
{
    move_backends(to, from, moved_by, stamp);
}
