/* The mirror's write hooks on the source node.
 *
 * `after` runs when a guest write has completed on the source, before the
 * guest hears of it: that is where its range becomes dirty (invariant 1 —
 * marking at submission would let a copy that reads the old data clear the
 * bits before the new data exists).
 *
 * In write-blocking mode (asked for, or switched on by the convergence
 * rule) `before` also takes a lock on the write's granules: it waits while
 * a copy or another write-through owns any of them (invariant 3: a copy
 * never overtakes a guest write on the target, nor the reverse), then
 * starts the same write on the target in parallel with the source write.
 * The guest is answered when both are done, with the *source's* result
 * (invariant 6: a target failure goes to the job's policy, never to the
 * guest). Once both sides hold the same bytes, the granules the write
 * covered fully — and its partial edge granules if they were clean before —
 * are clean again, which is what makes the dirty set shrink under load.
 * Writes that only touch still-dirty granules skip the write-through: the
 * copy takes them later anyway (before READY when the user asked for
 * write-blocking, always when the convergence rule turned it on; see
 * hook_before). */
#include "mirror.h"

#include <assert.h>
#include <stdlib.h>

static struct mirror_op *find_active(struct mirror *m, struct block_req *req)
{
    vs_list_for_each(pos, &m->ops) {
        struct mirror_op *op = vs_list_entry(pos, struct mirror_op, link);
        if (op->kind == MIRROR_OP_ACTIVE && op->guest == req)
            return op;
    }
    return NULL;
}

static void finish_active(struct mirror *m, struct mirror_op *op, bool resume)
{
    struct block_req *guest = op->guest;
    int src_ret = op->src_ret;

    if (op->write_through && src_ret == 0 && op->tgt_ret == 0 && !op->no_reset) {
        uint64_t lo, hi, gs, ge;

        mirror_expand(m, op->off, op->len, &gs, &ge);
        /* Whole granules inside the write... */
        mirror_inner(m, op->off, op->len, &lo, &hi);
        /* ...plus partial edges that were clean before the write. */
        if (!op->head_was_dirty)
            lo = gs;
        if (!op->tail_was_dirty)
            hi = ge;
        if (lo < hi)
            hbitmap_reset(m->dirty, lo, hi - lo);
    } else if (op->write_through && op->tgt_ret < 0) {
        m->actively_synced = false;
        if (job_error_action(m->job, m->on_tgt, false, -op->tgt_ret) ==
            JOB_ERROR_ACTION_REPORT)
            mirror_fail(m, op->tgt_ret);
    }
    mirror_op_done(m, op);
    if (resume)
        block_req_hook_resume(guest, src_ret);
}

static void active_tgt_done(struct block_req *req, int ret)
{
    struct mirror_op *op = req->opaque;

    op->tgt_done = true;
    op->tgt_ret = ret;
    if (op->src_done)
        finish_active(op->m, op, op->taken);
}

/* Locks [start, end) for the guest request and, for data writes, starts
 * the write-through. */
static void start_active(struct mirror *m, struct block_req *guest)
{
    struct mirror_op *op = vs_zalloc(sizeof(*op));

    op->kind = MIRROR_OP_ACTIVE;
    op->guest = guest;
    op->off = guest->offset;
    op->len = guest->len;
    mirror_expand(m, guest->offset, guest->len, &op->start, &op->end);
    op->head_was_dirty = hbitmap_get(m->dirty, op->start);
    op->tail_was_dirty = op->end > op->start && hbitmap_get(m->dirty, op->end - 1);
    op->write_through = guest->op == BLOCK_OP_WRITE ||
                        guest->op == BLOCK_OP_WRITE_ZEROES;
    mirror_op_register(m, op);
    if (!op->write_through) {
        /* A discard only takes the lock: it is advisory, so the source
         * may not read back zeroes after it. The range is left dirty and
         * asked about (hook_after, and the ask operation in mirror-run.c):
         * zeroed on the target where the source reads zeroes, copied
         * elsewhere. */
        op->tgt_done = true;
        return;
    }
    op->req.op = guest->op;
    /* The guest's "fast zero or fail" concerns the source it asked; the
     * target may well have to write its zeroes slowly. */
    op->req.flags = guest->flags & ~BLOCK_REQ_NO_FALLBACK;
    op->req.offset = guest->offset;
    op->req.len = guest->len;
    op->req.buf = guest->buf;
    op->req.cb = active_tgt_done;
    op->req.opaque = op;
    block_node_submit(m->tgt, &op->req);
}

static bool waiter_blocks(struct mirror *m, uint64_t start, uint64_t end,
                          struct mirror_waiter *upto)
{
    vs_list_for_each(pos, &m->waiters) {
        struct mirror_waiter *w = vs_list_entry(pos, struct mirror_waiter, link);
        uint64_t s, e;

        if (w == upto)
            break;
        mirror_expand(m, w->req->offset, w->req->len, &s, &e);
        if (s < end && start < e)
            return true;
    }
    return false;
}

void mirror_wake_waiters(struct mirror *m)
{
    vs_list_for_each_safe(pos, &m->waiters) {
        struct mirror_waiter *w = vs_list_entry(pos, struct mirror_waiter, link);
        struct block_req *req = w->req;
        uint64_t s, e;

        mirror_expand(m, req->offset, req->len, &s, &e);
        if (mirror_range_busy(m, s, e) || waiter_blocks(m, s, e, w))
            continue;
        vs_list_remove(&w->link);
        free(w);
        if (mirror_active(m))
            start_active(m, req);
        block_req_hook_resume(req, 0);
    }
}

/* Notes a guest request on one of the mirror's lists (waiters, skipped). */
static void park(struct vs_list *list, struct block_req *req)
{
    struct mirror_waiter *w = vs_zalloc(sizeof(*w));
    w->req = req;
    vs_list_append(list, &w->link);
}

static bool hook_before(struct block_hook *h, struct block_req *req)
{
    struct mirror *m = h->opaque;
    uint64_t s, e;

    if (req->len == 0 || req->op == BLOCK_OP_FLUSH)
        return false;
    mirror_expand(m, req->offset, req->len, &s, &e);
    if (!mirror_active(m)) {
        /* Nothing to write through (background mode, or the job is
         * ending), but an earlier write to the same granules may still be
         * waiting here from when it was active: not past it. */
        if (!waiter_blocks(m, s, e, NULL))
            return false;
        park(&m->waiters, req);
        return true;
    }
    /* A write whose granules are all still dirty adds nothing to copy —
     * the background copy will take them anyway — so it goes to the source
     * alone: writing it through would spend target bandwidth on bytes that
     * are copied again. Only writes into clean granules pay the
     * write-through, which is what keeps the dirty set from growing. This
     * holds until READY when the user asked for write-blocking (QEMU's
     * promise is that from READY on every acknowledged write is on both
     * sides, whatever the dirty set says), and always when the convergence
     * rule switched it on. Only granules nobody owns, though: a granule
     * is also dirty while a write-through's source half is done and its
     * target half is not, and a write let by there would make it dirty
     * again for good — under a steady load (and a speed limit) the job
     * would never run out of granules to copy. And not past an earlier
     * write that waits on the same granules: overlapping writes reach the
     * source in the order they came (fio's verification counts on it). */
    if ((!m->write_blocking || !job_is_ready(m->job)) &&
        hbitmap_next_zero(m->dirty, s, e - s) < 0 && !mirror_range_busy(m, s, e) &&
        !waiter_blocks(m, s, e, NULL)) {
        if (m->write_blocking)
            park(&m->skipped, req);
        return false;
    }
    if (mirror_range_busy(m, s, e) || waiter_blocks(m, s, e, NULL)) {
        park(&m->waiters, req);
        return true;
    }
    start_active(m, req);
    return false;
}

static bool hook_after(struct block_hook *h, struct block_req *req, int ret)
{
    struct mirror *m = h->opaque;
    struct mirror_op *op;
    uint64_t s, e;

    if (req->len == 0 || req->op == BLOCK_OP_FLUSH)
        return false;
    /* Invariant 1: dirty now that the write is on the source (also when
     * it failed: a failed write may have changed part of the range). The
     * bytes that were clean feed the convergence rule (mirror-run.c). */
    uint64_t dirty_before = hbitmap_count(m->dirty);
    hbitmap_set(m->dirty, req->offset, req->len);
    m->win_redirtied += hbitmap_count(m->dirty) - dirty_before;
    m->last_guest_ns = vs_now_ns();
    mirror_expand(m, req->offset, req->len, &s, &e);
    /* New data where the scan saw a hole: copy it, do not zero it. Zeroes
     * or a discard over whole granules: ask the source what it reads there
     * before copying (mirror-run.c, the ask operation); partial granules
     * hold other bytes too and are copied. */
    hbitmap_reset(m->zero, s, e - s);
    hbitmap_reset(m->zask, s, e - s);
    if (req->op == BLOCK_OP_WRITE_ZEROES || req->op == BLOCK_OP_DISCARD) {
        uint64_t lo, hi;
        mirror_inner(m, req->offset, req->len, &lo, &hi);
        if (lo < hi)
            hbitmap_set(m->zask, lo, hi - lo);
    }
    if (m->status_inflight) {
        if (!m->status_raced || s < m->raced_lo)
            m->raced_lo = s;
        if (!m->status_raced || e > m->raced_hi)
            m->raced_hi = e;
        m->status_raced = true;
    }
    /* Wake the engine: it has something to copy (a no-op when a step is
     * already queued). */
    job_enter(m->job);
    vs_list_for_each(pos, &m->skipped) {
        struct mirror_waiter *w = vs_list_entry(pos, struct mirror_waiter, link);
        if (w->req == req) {
            vs_list_remove(&w->link);
            free(w);
            break;
        }
    }
    op = find_active(m, req);
    if (!op) {
        /* A write that passed `before` without the lock (it went to the
         * source alone, or the mode changed meanwhile): a write-through
         * over the same granules must not declare them clean. */
        mirror_keep_dirty(m, s, e);
        return false;
    }
    op->src_done = true;
    op->src_ret = ret;
    if (op->tgt_done) {
        finish_active(m, op, false);
        return false;
    }
    op->taken = true;
    return true;
}

void mirror_hook_install(struct mirror *m)
{
    m->hook.before = hook_before;
    m->hook.after = hook_after;
    m->hook.opaque = m;
    block_hook_add(m->src, &m->hook);
    m->hooked = true;
}

void mirror_hook_uninstall(struct mirror *m)
{
    if (!m->hooked)
        return;
    /* Only called with the source drained: no request is between our
     * `before` and `after`, and no guest write waits on us. */
    assert(vs_list_empty(&m->waiters) && vs_list_empty(&m->skipped));
    block_hook_remove(m->src, &m->hook);
    m->hooked = false;
}
