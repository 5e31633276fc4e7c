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

void block_backend_attach(struct block_backend *blk, struct block_node *node)
{
    blk->node = node;
    blk->loop = node->loop;
    blk->n_in_flight = 0;
    __atomic_store_n(&blk->size_seen, node->size, __ATOMIC_RELAXED);
    vs_list_append(&node->backends, &blk->link);
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
     * stopped issuing and its requests have finished. */
    vs_list_remove(&blk->link);
    blk->node = NULL;
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
    node->quiesce++;
}

void block_node_drain(struct block_node *node, struct vs_bh *done)
{
    if (node->n_in_flight == 0) {
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
    if (--node->quiesce == 0)
        resubmit_held(node);
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
        vs_list_remove(&blk->link);
        blk->node = to;
        __atomic_store_n(&blk->size_seen, to->size, __ATOMIC_RELAXED);
        blk->replace_stamp = stamp;
        vs_list_append(&to->backends, &blk->link);
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
