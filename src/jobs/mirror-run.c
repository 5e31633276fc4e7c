/* The mirror engine, entered through the job core's step bottom half
 * whenever something changed (an operation finished, a verb, a timer).
 *
 * Copying is driven by one dirty bitmap. The initial pass (sync full/top)
 * does not copy anything itself: it walks the source's allocation with
 * block-status and marks what must be copied — data granules as dirty,
 * hole/zero granules as dirty *and* "zero" (so they become write-zeroes,
 * with MAY_UNMAP when unmap is on), or nothing at all when the target is
 * known to read as zeroes (a file drive-mirror just created). A sparse
 * volume therefore costs time proportional to its data. From then on the
 * same loop copies whatever guest writes dirty again; granules a guest
 * zeroed or discarded whole are asked about first (the ask operation), so
 * they are zeroed on the target where the source reads as zeroes.
 *
 * Convergence (background mode). QEMU's background mode copies a granule,
 * the guest dirties it again, and under a sustained write load the dirty
 * set never shrinks. Here the engine watches 50 ms windows once the scan
 * is over, and counts a window against convergence when either
 *  - the dirty byte count did not shrink, or
 *  - guest writes dirtied again at least half as many bytes as the job
 *    copied (with a re-dirty rate r against a copy rate c the remaining
 *    work is the initial pass times 1 / (1 - r/c): at r = c/2 the job
 *    already takes twice its idle time, and at r >= c it never ends);
 *    this one only before READY: afterwards copying what guests dirty is
 *    the steady state, and only a growing backlog matters.
 * After two such windows in a row the job switches itself to write-through
 * for guest writes into clean granules (the write-blocking path,
 * mirror-hook.c). From then on a clean granule stays clean, so the dirty
 * set only shrinks and READY and the final sync are bounded. The second
 * rule fires during the first pass, before the copy work is wasted; the
 * first catches the rest. A job that converges on its own never pays the
 * write-through cost.
 *
 * Exit (complete, cancel, error) is one sequence: stop issuing, wait for our
 * own operations, quiesce the source (new guest requests are held, not
 * failed), drain it, then — when completing — copy what is still dirty,
 * flush the target unless the job pivots (the pivot flushes it once the
 * guests go on), and finally hand over to the job core, whose prepare step
 * does the pivot (mirror-pivot.c). That is invariant 4. */
#include "mirror.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static void mirror_continue(struct mirror *m)
{
    job_enter(m->job);
}

bool mirror_active(const struct mirror *m)
{
    return m->phase == MIRROR_RUN && m->ret == 0 &&
           !job_cancel_requested(m->job) && !m->size_mismatch &&
           (m->write_blocking || m->auto_active);
}

void mirror_fail(struct mirror *m, int ret)
{
    if (m->ret == 0)
        m->ret = ret;
}

/* The granule-aligned range covering [off, off + len). */
void mirror_expand(struct mirror *m, uint64_t off, uint64_t len,
                   uint64_t *start, uint64_t *end)
{
    uint64_t e = off + len;

    *start = off & ~(m->gran - 1);
    e = (e + m->gran - 1) & ~(m->gran - 1);
    *end = e > m->size ? m->size : e;
}

/* The whole granules inside [off, off + len) (the last one may end at the
 * volume's end); *start >= *end when there is none. */
void mirror_inner(struct mirror *m, uint64_t off, uint64_t len,
                  uint64_t *start, uint64_t *end)
{
    *start = (off + m->gran - 1) & ~(m->gran - 1);
    *end = off + len >= m->size ? m->size : (off + len) & ~(m->gran - 1);
}

bool mirror_range_busy(struct mirror *m, uint64_t start, uint64_t end)
{
    vs_list_for_each(pos, &m->ops) {
        struct mirror_op *op = vs_list_entry(pos, struct mirror_op, link);
        if (op->start < end && start < op->end)
            return true;
    }
    return false;
}

/* Dirty bits set in [start, end) by anyone but a write-through's own
 * guest (a write that went by without the lock, the initial scan) must
 * outlive the write-throughs in flight there: their finish clears the
 * granules they cover, which would also clear these. */
void mirror_keep_dirty(struct mirror *m, uint64_t start, uint64_t end)
{
    vs_list_for_each(pos, &m->ops) {
        struct mirror_op *o = vs_list_entry(pos, struct mirror_op, link);
        if (o->kind == MIRROR_OP_ACTIVE && o->start < end && start < o->end)
            o->no_reset = true;
    }
}

/* Invariant 3: no two operations own overlapping ranges at once. */
void mirror_op_register(struct mirror *m, struct mirror_op *op)
{
    assert(op->start < op->end || op->start == op->end);
    assert(!mirror_range_busy(m, op->start, op->end));
    op->m = m;
    vs_list_append(&m->ops, &op->link);
    if (op->kind != MIRROR_OP_ACTIVE)
        m->n_bg_ops++;
}

void mirror_op_done(struct mirror *m, struct mirror_op *op)
{
    vs_list_remove(&op->link);
    if (op->kind != MIRROR_OP_ACTIVE) {
        assert(m->n_bg_ops > 0);
        m->n_bg_ops--;
    }
    if (op->buf) {
        m->bytes_in_flight -= op->len;
        if (m->pool_n < MIRROR_MAX_OPS)
            m->pool[m->pool_n++] = op->buf;
        else
            free(op->buf);
    }
    free(op);
    /* A freed range may unblock guest writes waiting in the before hook. */
    mirror_wake_waiters(m);
    mirror_continue(m);
}

/* ---- progress, rate limit, convergence ------------------------------- */

static void update_progress(struct mirror *m)
{
    uint64_t unscanned = m->scanning ? m->size - m->scan_off : 0;
    job_progress_set_remaining(m->job, unscanned + hbitmap_count(m->dirty) +
                                       m->bytes_in_flight);
}

void mirror_timer_fired(struct vs_timer *t)
{
    struct mirror *m = vs_container_of(t, struct mirror, timer);
    mirror_continue(m);
}

/* True when `bytes` more may be copied now; otherwise arms the timer for
 * the start of the next slice. Only copied bytes count (as QEMU). */
static bool ratelimit_allows(struct mirror *m, uint64_t bytes)
{
    uint64_t now, quota;

    if (m->job->speed <= 0 || m->phase != MIRROR_RUN)
        return true;
    now = vs_now_ns();
    quota = (uint64_t)m->job->speed / (1000000000ull / MIRROR_SLICE_NS);
    if (quota == 0)
        quota = 1;
    if (now - m->slice_start_ns >= MIRROR_SLICE_NS) {
        /* Each elapsed slice pays off one quota of what was spent: an
         * operation larger than a slice's quota is a debt carried into the
         * following slices, so the average rate is the limit, not one
         * operation per slice. */
        uint64_t n = (now - m->slice_start_ns) / MIRROR_SLICE_NS;
        m->slice_start_ns += n * MIRROR_SLICE_NS;
        m->slice_bytes = (n < UINT64_MAX / quota && m->slice_bytes > n * quota)
                             ? m->slice_bytes - n * quota : 0;
    }
    /* One operation may exceed a small quota, or nothing would move. */
    if (m->slice_bytes == 0 || m->slice_bytes + bytes <= quota) {
        m->slice_bytes += bytes;
        return true;
    }
    if (!m->timer.armed)
        vs_timer_arm(m->loop, &m->timer,
                     m->slice_start_ns + MIRROR_SLICE_NS - now);
    return false;
}

bool mirror_window_diverges(uint64_t dirty_before, uint64_t dirty_after,
                            uint64_t copied, uint64_t redirtied, bool ready)
{
    if (dirty_after == 0)
        return false;
    if (dirty_after >= dirty_before)
        return true;
    return !ready && redirtied * 2 >= copied;
}

static void check_convergence(struct mirror *m)
{
    uint64_t now = vs_now_ns(), cnt, copied;

    if (m->write_blocking || m->auto_active || m->scanning)
        return;
    /* A paused job copies nothing, and a failing one copies and dirties
     * again: neither says anything about the guests. */
    if (m->win_start_ns == 0 || m->job->paused || m->win_failed) {
        m->win_failed = false;
        m->win_held_ns = m->pace_held_ns;
        m->win_start_ns = now;
        m->win_dirty = hbitmap_count(m->dirty);
        m->win_progress = m->job->progress_current;
        m->win_redirtied = 0;
        return;
    }
    if (now - m->win_start_ns < MIRROR_WINDOW_NS)
        return;
    cnt = hbitmap_count(m->dirty);
    copied = m->job->progress_current - m->win_progress;
    /* A speed limit makes slow progress the operator's choice, and so
     * does the pacer when it held copies back for half the window or more
     * (it never holds them for more than a third of the job's time, so
     * guests that outpace the copy still show in the other windows). */
    bool paced = (m->pace_held_ns - m->win_held_ns) * 2 >= now - m->win_start_ns;
    if (m->job->speed == 0 && !paced &&
        mirror_window_diverges(m->win_dirty, cnt, copied, m->win_redirtied,
                               job_is_ready(m->job)))
        m->nonconv++;
    else
        m->nonconv = 0;
    if (m->nonconv >= MIRROR_NONCONV_WINDOWS) {
        vs_info("mirror %s: guest writes dirty %" PRIu64 " of every %" PRIu64
                " bytes copied; switching to write-through", m->job->id,
                m->win_redirtied, copied);
        m->auto_active = true;
        vs_trace("mirror-write-through", m->job->id);
    }
    m->win_start_ns = now;
    m->win_held_ns = m->pace_held_ns;
    m->win_dirty = cnt;
    m->win_progress = m->job->progress_current;
    m->win_redirtied = 0;
}

/* ---- copy and zero operations --------------------------------------- */

static void error_on(struct mirror *m, struct mirror_op *op, bool is_read,
                     int ret)
{
    enum job_error_action a;

    /* The range goes back to dirty whatever the policy: for ignore and
     * stop it is retried later; for report the job ends anyway. */
    hbitmap_set(m->dirty, op->start, op->end - op->start);
    m->win_failed = true;
    a = job_error_action(m->job, is_read ? m->on_src : m->on_tgt, is_read,
                         -ret);
    if (a == JOB_ERROR_ACTION_REPORT)
        mirror_fail(m, ret);
}

/* The end of an op's last target write (a copy's, or a zero op's):
 * progress, or the target's error policy. */
static void target_written(struct mirror_op *op, int ret)
{
    struct mirror *m = op->m;

    if (ret < 0)
        error_on(m, op, false, ret);
    else
        job_progress_update(m->job, op->len - op->given_back);
    mirror_op_done(m, op);
}

static void copy_write_done(struct block_req *req, int ret)
{
    target_written(req->opaque, ret);
}

static void copy_read_done(struct block_req *req, int ret)
{
    struct mirror_op *op = req->opaque;
    struct mirror *m = op->m;

    if (ret < 0) {
        error_on(m, op, true, ret);
        mirror_op_done(m, op);
        return;
    }
    memset(&op->req, 0, sizeof(op->req));
    op->req.op = BLOCK_OP_WRITE;
    op->req.flags = BLOCK_REQ_BULK;
    op->req.offset = op->off;
    op->req.len = op->len;
    op->req.buf = op->buf;
    op->req.cb = copy_write_done;
    op->req.opaque = op;
    block_node_submit(m->tgt, &op->req);
}

/* The plain copy: read the source into a buffer, write it to the target. */
static void copy_by_read_write(struct mirror *m, struct mirror_op *op)
{
    if (m->pool_n > 0)
        op->buf = m->pool[--m->pool_n];
    else if (posix_memalign(&op->buf, 4096, m->max_chunk) != 0)
        op->buf = vs_malloc(m->max_chunk); /* aborts: no memory */
    m->bytes_in_flight += op->len;
    memset(&op->req, 0, sizeof(op->req));
    op->req.op = BLOCK_OP_READ;
    op->req.flags = BLOCK_REQ_BULK;
    op->req.offset = op->off;
    op->req.len = op->len;
    op->req.opaque = op;
    op->req.buf = op->buf;
    op->req.cb = copy_read_done;
    block_node_submit(m->src, &op->req);
}

/* Copy offload (file to file: copy_file_range in the kernel, on the worker
 * pool). It has the same shape as a read-then-write for the invariants:
 * the op owns its range and its bits were cleared before it started, so a
 * guest write that lands during the copy dirties them again. Any failure
 * is retried as a plain read and write, whose errors tell the source from
 * the target for the error policy; "cannot" turns offload off for good. */
static void copy_offload_done(struct block_req *req, int ret)
{
    struct mirror_op *op = req->opaque;
    struct mirror *m = op->m;

    if (ret == 0) {
        job_progress_update(m->job, op->len);
        mirror_op_done(m, op);
        return;
    }
    if (ret == -ENOTSUP)
        m->copy_offload = false;
    /* An offloaded copy may be longer than a buffer: copy a buffer's worth
     * and leave the rest dirty, to be copied again (always correct). Both
     * ends stay on granules: the op starts on one and max_chunk is a
     * multiple of the granularity. */
    if (op->len > m->max_chunk) {
        hbitmap_set(m->dirty, op->off + m->max_chunk, op->len - m->max_chunk);
        op->len = m->max_chunk;
        op->end = op->off + m->max_chunk;
    }
    copy_by_read_write(m, op);
}

/* A block-status query of [off, end) on node: the scan's and the target
 * probe's (with room for many extents), and the zero and ask operations'
 * (one extent at a time: ext NULL). */
static void submit_status(struct block_node *node, struct block_req *req, uint64_t off,
                          uint64_t end, struct block_extent *ext, unsigned max_ext,
                          void (*cb)(struct block_req *, int), void *opaque)
{
    memset(req, 0, sizeof(*req));
    req->op = BLOCK_OP_BLOCK_STATUS;
    req->offset = off;
    req->len = end - off;
    req->extents = ext;
    req->max_extents = max_ext;
    req->cb = cb;
    req->opaque = opaque;
    block_node_submit(node, req);
}

/* A zero operation first asks the target what it holds: ranges that
 * already read as zeroes (a new or sparse target) are left alone, so they
 * cost neither a write nor an allocation; the rest gets write-zeroes
 * (unmapping when `unmap` is on). The op owns its range throughout, so the
 * target cannot change under the answer. */
static void zero_next(struct mirror_op *op);

static void zero_write_done(struct block_req *req, int ret)
{
    struct mirror_op *op = req->opaque;

    if (ret < 0) {
        op->given_back = 0;          /* the whole range goes back dirty */
        target_written(op, ret);
        return;
    }
    op->zpos += req->len;
    zero_next(op);
}

static void zero_status_done(struct block_req *req, int ret)
{
    struct mirror_op *op = req->opaque;
    struct mirror *m = op->m;
    uint64_t n = ret < 0 ? req->len : req->status_len;

    if (ret == 0 && (req->status_flags & BLOCK_STATUS_ZERO)) {
        op->zpos += n;
        zero_next(op);
        return;
    }
    memset(&op->req, 0, sizeof(op->req));
    op->req.op = BLOCK_OP_WRITE_ZEROES;
    op->req.flags = m->unmap ? BLOCK_REQ_MAY_UNMAP : 0;
    op->req.offset = op->zpos;
    op->req.len = n;
    op->req.cb = zero_write_done;
    op->req.opaque = op;
    block_node_submit(m->tgt, &op->req);
}

static void ask_next(struct mirror_op *op);

static void zero_next(struct mirror_op *op)
{
    struct mirror *m = op->m;
    uint64_t end = op->zend;

    if (op->zpos >= end) {
        if (op->kind == MIRROR_OP_ASK)
            ask_next(op);
        else
            target_written(op, 0);
        return;
    }
    submit_status(m->tgt, &op->req, op->zpos, end, NULL, 0, zero_status_done, op);
}

/* An ask operation: a guest zeroed or discarded this range since it was
 * last copied (hook_after sets zask). Copying it would read zeroes and
 * write them as data, allocating the target and spending the speed limit;
 * and a discard is only advisory (a file system that cannot punch keeps
 * the old bytes), so the range cannot simply be taken as zero either. The
 * op owns the range and its dirty bits were cleared before it asks
 * (invariant 2), so the source's answer is good for the op: a guest write
 * landing meanwhile dirties the range again. Where the source reads as
 * zeroes the target gets the zero operation's treatment (nothing where it
 * reads as zeroes already, else write-zeroes, unmapping when `unmap` is
 * on), which costs no speed-limit budget, as in QEMU; the rest is handed
 * back as plain dirty granules for the copy. So a guest discarding at
 * will no longer keeps a speed-limited write-blocking job from READY. */
static void ask_status_done(struct block_req *req, int ret)
{
    struct mirror_op *op = req->opaque;
    struct mirror *m = op->m;
    uint64_t end = op->off + op->len;
    uint64_t n = ret < 0 ? end - op->apos : VS_MIN(req->status_len, end - op->apos);

    if (ret == 0 && n > 0 && (req->status_flags & BLOCK_STATUS_ZERO)) {
        op->zpos = op->apos;
        op->apos += n;
        op->zend = op->apos;
        zero_next(op);
        return;
    }
    /* Data (or no answer: copying is always right). */
    if (n == 0)
        n = end - op->apos;
    hbitmap_set(m->dirty, op->apos, n);
    op->given_back += n;
    op->apos += n;
    ask_next(op);
}

static void ask_next(struct mirror_op *op)
{
    struct mirror *m = op->m;
    uint64_t end = op->off + op->len;

    if (op->apos >= end) {
        target_written(op, 0);
        return;
    }
    submit_status(m->src, &op->req, op->apos, end, NULL, 0, ask_status_done, op);
}

/* Issues one operation for the next dirty area at or after the cursor.
 * Returns false when there is nothing (more) to issue now. */
static bool mirror_issue_one(struct mirror *m)
{
    uint64_t off = m->cursor, len = 0, start, end;
    struct mirror_op *op;
    bool zero, ask, wrapped = false;

    for (int tries = 0; ; tries++) {
        if (tries > 64)
            return false;
        if (!hbitmap_next_dirty_area(m->dirty, &off, &len, m->size,
                                     MIRROR_MAX_ZERO)) {
            /* Nothing after the cursor: once more from the start. */
            if (wrapped)
                return false;
            wrapped = true;
            off = 0;
            continue;
        }
        /* Skip ranges someone owns: re-dirtied while being copied, or a
         * guest write being written through. They are retried later. */
        mirror_expand(m, off, len, &start, &end);
        bool clipped = false;
        vs_list_for_each(pos, &m->ops) {
            struct mirror_op *o = vs_list_entry(pos, struct mirror_op, link);
            if (o->start < end && start < o->end) {
                if (o->start <= start) {
                    off = o->end;
                    clipped = true;
                    break;
                }
                end = o->start;
            }
        }
        if (clipped) {
            if (off >= m->size) {
                if (wrapped)
                    return false;
                wrapped = true;
                off = 0;
            }
            continue;
        }
        len = end - off;
        break;
    }
    /* Areas start on a granule (the cursor and every owned range do), so
     * clearing [start, end) below clears exactly what is copied. */
    assert((off & (m->gran - 1)) == 0);
    /* Split at the boundaries between zero-hinted (the scan's holes),
     * ask-hinted (zeroed or discarded by a guest) and data granules. */
    zero = hbitmap_get(m->zero, off);
    ask = !zero && hbitmap_get(m->zask, off);
    if (zero || ask) {
        struct hbitmap *hint = zero ? m->zero : m->zask;
        int64_t z = hbitmap_next_zero(hint, off, len);
        if (z > 0)
            len = (uint64_t)z - off;
        if (ask) {
            int64_t d = hbitmap_next_dirty(m->zero, off, len);
            if (d > 0)
                len = (uint64_t)d - off;
        }
    } else {
        int64_t d = hbitmap_next_dirty(m->zero, off, len);
        if (d > 0)
            len = (uint64_t)d - off;
        d = hbitmap_next_dirty(m->zask, off, len);
        if (d > 0)
            len = (uint64_t)d - off;
        if (len > m->chunk)
            len = m->chunk;
        if (m->n_bg_ops > 0 && m->bytes_in_flight + len > m->buf_size)
            return false;
        if (!ratelimit_allows(m, len))
            return false;
    }
    mirror_expand(m, off, len, &start, &end);

    op = vs_zalloc(sizeof(*op));
    op->kind = zero ? MIRROR_OP_ZERO : ask ? MIRROR_OP_ASK : MIRROR_OP_COPY;
    op->start = start;
    op->end = end;
    op->off = off;
    op->len = len;
    /* Invariant 2: the bits are cleared before the source is read, so a
     * guest write completing after this point dirties them again. */
    hbitmap_reset(m->dirty, start, end - start);
    hbitmap_reset(m->zero, start, end - start);
    hbitmap_reset(m->zask, start, end - start);
    mirror_op_register(m, op);
    m->cursor = end >= m->size ? 0 : end;

    op->req.offset = off;
    op->req.len = len;
    op->req.opaque = op;
    if (zero) {
        op->zpos = off;
        op->zend = off + len;
        zero_next(op);
        return true;
    }
    if (ask) {
        op->apos = off;
        ask_next(op);
        return true;
    }
    if (m->copy_offload) {
        op->req.op = BLOCK_OP_COPY_RANGE;
        op->req.flags = m->yield ? BLOCK_REQ_YIELD : 0;
        op->req.copy_src = m->src;
        op->req.cb = copy_offload_done;
        block_node_submit(m->tgt, &op->req);
        return true;
    }
    copy_by_read_write(m, op);
    return true;
}

/* Guest latency: on a local file system reads and writes are memcpy done
 * right on the loop, so a burst of sixteen 1 MiB copies is tens of
 * milliseconds during which no guest request is served. While guests are
 * writing, copies are smaller and only a couple start per loop turn (guest
 * completions are dispatched between turns); idle, the job goes full
 * speed. The final sync of a pivot is always full speed: guests are held. */
static bool guests_busy(struct mirror *m)
{
    return m->phase == MIRROR_RUN && m->last_guest_ns &&
           vs_now_ns() - m->last_guest_ns < MIRROR_GUEST_ACTIVE_NS;
}

static void issue_copies(struct mirror *m)
{
    /* Offloaded copies run on the worker pool, not the loop: they cannot
     * delay guest requests, so they need no pacing. How many and how big
     * depends on whether a guest write can be waiting for one:
     *  - In write-through (write-blocking, or switched on by the convergence
     *    rule) while guests write, a guest write to a range a copy owns
     *    waits for it (invariant 3), and a copy waiting in the pool's queue
     *    already owns its range. So no more copies than the pool has
     *    threads, of 1 MiB: sixteen queued 1 MiB copies made guest writes
     *    wait 20-35 ms, one per worker keeps the wait to a single copy
     *    (4-12 ms under full fio load, bench/mirror).
     *  - Otherwise nobody waits for a copy, and the pool gets one copy more
     *    than it has threads, of 2 MiB: a worker that finishes starts the
     *    queued copy at once instead of idling until the loop has heard of
     *    the completion and issued the next, and each copy pays that round
     *    trip for twice the bytes. On a tmpfs with huge pages, where the
     *    copy itself is cheap enough for this to show, time to READY of an
     *    idle 2 GiB mirror fell from 0.53 s to 0.45 s (7 rounds, medians;
     *    the plain-copy floor was 0.42 s); under fio in background mode,
     *    from 1.12-1.17 s to 0.77-1.06 s. */
    bool guests = guests_busy(m);
    bool busy = !m->copy_offload && guests;
    bool waited_on = guests && mirror_active(m);
    unsigned issued = 0, max_ops = MIRROR_MAX_OPS;

    if (m->copy_offload) {
        unsigned workers = vs_loop_workers(m->loop);
        max_ops = VS_MAX(1u, VS_MIN(max_ops, waited_on ? workers : workers + 1));
        m->chunk = waited_on ? m->max_chunk : m->offload_chunk;
    } else {
        m->chunk = busy ? VS_MAX(m->gran, VS_MIN(MIRROR_BUSY_CHUNK, m->max_chunk))
                        : m->max_chunk;
    }
    if (!mirror_pace_allows(m))
        return;
    while (m->n_bg_ops < max_ops && !hbitmap_empty(m->dirty)) {
        if (busy && issued == MIRROR_BUSY_ISSUE) {
            job_enter(m->job);     /* the rest next turn */
            break;
        }
        if (!mirror_issue_one(m))
            break;
        issued++;
    }
}

/* ---- the initial scan ------------------------------------------------ */

/* One extent of the scan's answer: what must be copied, zeroed or left. */
static void scan_extent(struct mirror *m, uint64_t off, uint64_t len, bool is_zero)
{
    /* A guest write that completed inside the extent while we asked makes
     * the answer stale there: treat it as data (always correct). */
    if (m->status_raced && m->raced_lo < off + len && off < m->raced_hi)
        is_zero = false;
    if (!is_zero || !m->zero_target) {
        uint64_t s, e;
        mirror_expand(m, off, len, &s, &e);
        mirror_keep_dirty(m, s, e);
    }
    if (!is_zero) {
        hbitmap_set(m->dirty, off, len);
    } else if (m->zero_target) {
        job_progress_update(m->job, len);
    } else {
        /* Only whole granules can become write-zeroes; the partial ones at
         * the edges are copied (they may share a granule with data). */
        uint64_t s, e;
        mirror_inner(m, off, len, &s, &e);
        hbitmap_set(m->dirty, off, len);
        if (s < e)
            hbitmap_set(m->zero, s, e - s);
    }
}

static void status_done(struct block_req *req, int ret)
{
    struct mirror *m = vs_container_of(req, struct mirror, status_req);
    uint64_t off = req->offset;

    m->status_inflight = false;
    if (ret < 0) {
        scan_extent(m, off, VS_MIN(req->len, m->chunk), false);
        off += VS_MIN(req->len, m->chunk);
    }
    for (unsigned i = 0; ret == 0 && i < req->n_extents; i++) {
        scan_extent(m, off, req->extents[i].len,
                    req->extents[i].flags & BLOCK_STATUS_ZERO);
        off += req->extents[i].len;
    }
    m->status_raced = false;
    m->scan_off = off;
    if (m->scan_off >= m->size) {
        m->scanning = false;
        vs_trace("mirror-scan-done", m->job->id);
    }
    mirror_continue(m);
}

/* The target probe: block status over the whole target, answer after
 * answer while everything it reports reads as zeroes. One extent that
 * does not ends it (the per-hole zero operations stay, and ask the target
 * about their own ranges); reaching the end sets zero_target. Guest
 * writes cannot make the answer wrong where it matters: until READY they
 * reach the target only through write-through, which writes the same
 * bytes to the source, where the scan sees them as data. */
static void issue_tgt_probe(struct mirror *m);

static void tgt_probe_done(struct block_req *req, int ret)
{
    struct mirror *m = vs_container_of(req, struct mirror, tgt_probe_req);
    bool zero = ret == 0;

    m->tgt_probe_inflight = false;
    for (unsigned i = 0; zero && i < req->n_extents; i++) {
        zero = req->extents[i].flags & BLOCK_STATUS_ZERO;
        m->tgt_probe_off += req->extents[i].len;
    }
    if (zero && m->tgt_probe_off >= m->size)
        m->zero_target = true;
    if (!zero || m->tgt_probe_off >= m->size)
        m->tgt_probed = true;
    mirror_continue(m);
}

static void issue_tgt_probe(struct mirror *m)
{
    m->tgt_probe_inflight = true;
    submit_status(m->tgt, &m->tgt_probe_req, m->tgt_probe_off, m->size, m->tgt_probe_ext,
                  MIRROR_PROBE_EXTENTS, tgt_probe_done, NULL);
}

static void issue_scan(struct mirror *m)
{
    if (!m->scanning || m->status_inflight || m->tgt_probe_inflight)
        return;
    if (!m->tgt_probed && !m->zero_target) {
        issue_tgt_probe(m);
        return;
    }
    m->status_inflight = true;
    m->status_raced = false;
    submit_status(m->src, &m->status_req, m->scan_off, m->size, m->scan_ext,
                  MIRROR_SCAN_EXTENTS, status_done, NULL);
}

/* ---- flush ----------------------------------------------------------- */

/* Nothing left to copy, and no guest write on its way that would leave
 * some: what READY needs (and, after it, the exit). */
static bool caught_up(struct mirror *m)
{
    return !m->scanning && m->n_bg_ops == 0 && hbitmap_empty(m->dirty) &&
           vs_list_empty(&m->skipped);
}

static void ready_flush_done(struct block_req *req, int ret)
{
    struct mirror *m = vs_container_of(req, struct mirror, flush_req);

    m->flush_inflight = false;
    if (ret < 0) {
        if (job_error_action(m->job, m->on_tgt, false, -ret) ==
            JOB_ERROR_ACTION_REPORT)
            mirror_fail(m, ret);
    } else if (m->phase == MIRROR_RUN && !job_is_ready(m->job) &&
               !job_cancel_requested(m->job) && m->ret == 0 && !m->job->paused &&
               caught_up(m)) {
        if (m->write_blocking || m->auto_active)
            m->actively_synced = true;
        mirror_pace_report(m);
        job_transition_to_ready(m->job);
    }
    mirror_continue(m);
}

static void submit_flush(struct mirror *m, void (*cb)(struct block_req *, int))
{
    memset(&m->flush_req, 0, sizeof(m->flush_req));
    m->flush_req.op = BLOCK_OP_FLUSH;
    m->flush_req.cb = cb;
    m->flush_inflight = true;
    block_node_submit(m->tgt, &m->flush_req);
}

/* ---- exit ------------------------------------------------------------ */

void mirror_drain_done(struct vs_bh *bh)
{
    struct mirror *m = vs_container_of(bh, struct mirror, drain_bh);

    if (m->replaces != m->src && m->src->n_in_flight > 0) {
        block_node_drain(m->src, &m->drain_bh);
        return;
    }
    vs_trace("mirror-drained", m->job->id);
    m->phase = MIRROR_EXIT_SYNC;
    mirror_continue(m);
}

static void final_flush_done(struct block_req *req, int ret)
{
    struct mirror *m = vs_container_of(req, struct mirror, flush_req);

    m->flush_inflight = false;
    vs_trace("mirror-final-flush-done", m->job->id);
    if (ret < 0) {
        job_error_action(m->job, m->on_tgt, false, -ret);
        /* Whatever the policy, a pivot onto an unflushed target is not an
         * option: the job fails and the consumer stays on the source. */
        mirror_fail(m, ret);
    }
    m->phase = MIRROR_EXIT_DONE;
    job_finished(m->job, m->ret, m->ret ? m->errmsg : NULL);
}

static void begin_exit(struct mirror *m)
{
    m->phase = MIRROR_EXIT_OPS;
    m->completing = m->ret == 0 && !job_is_cancelled(m->job) &&
                    !m->size_mismatch &&
                    (m->should_complete || job_cancel_requested(m->job));
    m->pivot = m->completing && m->should_complete;
    if (m->timer.armed)
        vs_timer_cancel(m->loop, &m->timer);
    mirror_pace_stop(m);
}

static void exit_step(struct mirror *m)
{
    switch (m->phase) {
    case MIRROR_EXIT_OPS:
        if (m->n_bg_ops > 0 || m->status_inflight || m->tgt_probe_inflight ||
            m->flush_inflight)
            return;
        /* Hold new guest requests (they wait, they do not fail), then wait
         * for those already inside — and with them their write-through. */
        block_node_quiesce(m->replaces);
        m->quiesced = true;
        vs_trace("mirror-quiesce", m->job->id);
        /* As in QEMU, where the drained section pauses the job: queries
         * show "paused" from here until the clean-up releases the source. */
        job_pause(m->job);
        m->phase = MIRROR_EXIT_DRAIN;
        block_node_drain(m->replaces, &m->drain_bh);
        return;
    case MIRROR_EXIT_DRAIN:
        return;
    case MIRROR_EXIT_SYNC:
        if (m->ret == 0 && job_is_cancelled(m->job))
            m->completing = m->pivot = false;
        if (m->completing && m->ret == 0) {
            issue_copies(m);
            if (m->n_bg_ops > 0 || !hbitmap_empty(m->dirty))
                return;
            if (m->pivot) {
                /* The target is flushed after the switch, with the guests
                 * going on (mirror-pivot.c): holding them through an fsync
                 * is what a consumer would feel. */
                vs_trace("mirror-synced", m->job->id);
                m->phase = MIRROR_EXIT_DONE;
                job_finished(m->job, 0, NULL);
                return;
            }
            m->phase = MIRROR_EXIT_FLUSH;
            vs_trace("mirror-final-flush", m->job->id);
            submit_flush(m, final_flush_done);
            return;
        }
        if (m->n_bg_ops > 0)
            return;
        m->phase = MIRROR_EXIT_DONE;
        job_finished(m->job, m->ret, m->ret ? m->errmsg : NULL);
        return;
    default:
        return;
    }
}

void mirror_step(struct job *job)
{
    struct mirror *m = job->opaque;

    if (m->phase == MIRROR_RUN) {
        if (m->size_mismatch && !m->errmsg) {
            m->errmsg = vs_strdup("Source and target image have different sizes");
            mirror_fail(m, -EINVAL);
        }
        if (m->ret < 0 || job_is_cancelled(job)) {
            begin_exit(m);
        } else {
            if (job_pause_point(job))
                return;
            update_progress(m);
            check_convergence(m);
            issue_scan(m);
            issue_copies(m);
            update_progress(m);
            if (!m->flush_inflight && caught_up(m)) {
                if (!job_is_ready(job)) {
                    /* On a disk this flush is the bulk of the copy's
                     * writeback: the trace tells it from the copy. */
                    vs_trace("mirror-ready-flush", job->id);
                    submit_flush(m, ready_flush_done);
                } else if (m->should_complete || job_cancel_requested(job))
                    begin_exit(m);
            }
            job->busy = m->n_bg_ops > 0 || m->status_inflight ||
                        m->tgt_probe_inflight || m->flush_inflight;
        }
    }
    if (m->phase != MIRROR_RUN)
        exit_step(m);
}
