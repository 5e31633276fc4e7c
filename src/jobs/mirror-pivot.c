/* The pivot: what a completing mirror does in prepare, once the exit
 * sequence has left the source quiesced and drained and the target in
 * sync (invariant 4).
 *
 * The guests are held only for the switch itself. Making the switch
 * durable — flushing the target, then writing the state file that names
 * it — happens with the guests going on, on the target. Until it is done,
 * a crash must restart on the source (the state file still names it, see
 * block_node.saved_as), so every guest write and flush on the target is
 * also applied to the source and acknowledged only when both are done:
 * the source keeps every acknowledged write, and what a guest flushed is
 * on disk in both. Once the target is flushed (everything acknowledged is
 * then in it) and the state naming it is on disk, the source is let go.
 *
 *   quiesce, drain, final sync         mirror-run.c, guests held
 *   replace, forward to the source,    here, guests held (microseconds)
 *   release
 *   flush the target, save the state   guests go on, on the target and
 *                                      the source
 *   stop forwarding, finish            BLOCK_JOB_COMPLETED
 *
 * If the flush or the save fails, the switch is undone: the guests are
 * held again, drained (their source halves done too), moved back to the
 * source and released; the job fails ("pivot not saved") and the source,
 * which has every acknowledged write, stays in use. Without a state file
 * the same happens with the flush alone.
 *
 * A guest write (or flush) that the target did but the source failed is
 * not acknowledged until the pivot is durable: the source, which a crash
 * would restart on, does not have it. It is parked; once the state naming
 * the target is on disk it is answered with the target's result. After
 * such a failure the switch can no longer be undone (the source is
 * stale), so a failing flush or save is retried, with a growing delay,
 * until it succeeds; the other guests go on on the target meanwhile, and
 * only the parked ones wait. */
#include "mirror.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

void (*jobs_state_save_async)(vs_saved_fn *done, void *opaque);

static void maybe_start_target_flush(struct mirror *m);

static void pivot_finish(struct mirror *m)
{
    if (m->rhooked) {
        block_hook_remove(m->tgt, &m->rhook);
        m->rhooked = false;
    }
    job_prepared(m->job, m->pivot_ret, m->pivot_ret ? m->pivot_msg : NULL);
}

static struct mirror_rop *find_rop(struct mirror *m, struct block_req *guest)
{
    vs_list_for_each(pos, &m->rops) {
        struct mirror_rop *r = vs_list_entry(pos, struct mirror_rop, link);
        if (r->guest == guest)
            return r;
    }
    return NULL;
}

/* The target did it and the source did not: answering the guest now would
 * acknowledge what a crash before the save loses. */
static bool rop_must_park(const struct mirror_rop *r)
{
    return r->src_ret < 0 && r->tgt_ret == 0;
}

static void rop_finish(struct mirror *m, struct mirror_rop *r, bool resume)
{
    struct block_req *guest = r->guest;
    int ret = r->tgt_ret;

    if (r->src_ret < 0 && !m->src_stale) {
        vs_warn("mirror %s: the source failed a guest %s after the pivot: %s; it is "
                "answered once the pivot is saved", m->job->id,
                guest->op == BLOCK_OP_FLUSH ? "flush" : "write", strerror(-r->src_ret));
        m->src_stale = true;
    }
    vs_list_remove(&r->link);
    if (rop_must_park(r)) {
        assert(resume);         /* rhook_after took it */
        vs_list_append(&m->parked, &r->link);
    } else {
        free(r);
        if (resume)
            block_req_hook_resume(guest, ret);
    }
    maybe_start_target_flush(m);
    if (m->pivot_settled && !m->forwarding && vs_list_empty(&m->rops))
        pivot_finish(m);
}

static void rop_src_done(struct block_req *req, int ret)
{
    struct mirror_rop *r = req->opaque;

    r->src_done = true;
    r->src_ret = ret;
    if (r->tgt_done)
        rop_finish(r->m, r, r->taken);
}

/* Guest requests on the target: writes and flushes also go to the source,
 * in parallel; the guest hears the target's result once both are done. */
static bool rhook_before(struct block_hook *h, struct block_req *req)
{
    struct mirror *m = h->opaque;
    struct mirror_rop *r;

    /* Requests without a backend are a job's own, not a guest's. */
    if (!m->forwarding || !req->blk || (req->len == 0 && req->op != BLOCK_OP_FLUSH))
        return false;
    r = vs_zalloc(sizeof(*r));
    r->m = m;
    r->guest = req;
    r->req.op = req->op;
    r->req.flags = req->flags & ~BLOCK_REQ_NO_FALLBACK;
    r->req.offset = req->offset;
    r->req.len = req->len;
    r->req.buf = req->buf;
    r->req.cb = rop_src_done;
    r->req.opaque = r;
    r->seq = ++m->rop_seq;
    vs_list_append(&m->rops, &r->link);
    block_node_submit(m->src, &r->req);
    return false;
}

static bool rhook_after(struct block_hook *h, struct block_req *req, int ret)
{
    struct mirror *m = h->opaque;
    struct mirror_rop *r = find_rop(m, req);

    if (!r)
        return false;
    r->tgt_done = true;
    r->tgt_ret = ret;
    if (r->src_done && !rop_must_park(r)) {
        rop_finish(m, r, false);
        return false;
    }
    if (r->src_done) {
        r->taken = true;
        rop_finish(m, r, true);
        return true;
    }
    r->taken = true;
    return true;
}

/* The pivot is durable (or undone): forward no more, and finish once the
 * guest requests still being applied to the source are done. */
static void pivot_settle(struct mirror *m, int ret, const char *msg)
{
    if (m->retry_timer.armed)
        vs_timer_cancel(m->loop, &m->retry_timer);
    /* Parked guest requests: on the target, which the state now names
     * (only a durable pivot settles with any parked). */
    while (!vs_list_empty(&m->parked)) {
        struct mirror_rop *r = vs_list_entry(m->parked.next, struct mirror_rop, link);
        struct block_req *guest = r->guest;
        int tret = r->tgt_ret;
        vs_list_remove(&r->link);
        free(r);
        block_req_hook_resume(guest, tret);
    }
    m->forwarding = false;
    m->pivot_settled = true;
    m->pivot_ret = ret;
    if (msg && msg != m->pivot_msg) {
        free(m->pivot_msg);
        m->pivot_msg = vs_strdup(msg);
    }
    if (vs_list_empty(&m->rops))
        pivot_finish(m);
}

static void pivot_failed(struct mirror *m, const char *why);

static void undo_drained(struct vs_bh *bh)
{
    struct mirror *m = vs_container_of(bh, struct mirror, pivot_bh);

    /* Every guest request on the target finished, and with it its source
     * half: nothing is forwarded any more. */
    assert(vs_list_empty(&m->rops));
    if (m->src_stale) {
        /* One of those failed on the source while draining: going back
         * would lose it. Stay on the target and make the pivot durable. */
        block_node_release(m->tgt);
        pivot_failed(m, "the source failed a guest write while the pivot was undone");
        return;
    }
    block_node_replace_undo(m->tgt, m->replaces, m->pivot_stamp);
    m->tgt->saved_as = NULL;
    m->pivot = false;
    vs_trace("mirror-pivot-undone", m->job->id);
    /* The held requests went back with their backends to the source, which
     * is still quiesced: the clean-up releases them there. */
    block_node_release(m->tgt);
    pivot_settle(m, -EIO, m->pivot_msg);
}

static void pivot_failed(struct mirror *m, const char *why)
{
    char *msg;

    if (m->src_stale) {
        /* The source missed a guest write the target has: going back would
         * lose it, and so would a crash while the state names the source.
         * Make the pivot durable again, later; the guests whose writes
         * only the target has wait for it (parked), the others go on. */
        m->retry_ns = m->retry_ns ? VS_MIN(2 * m->retry_ns, MIRROR_SAVE_RETRY_MAX_NS)
                                  : MIRROR_SAVE_RETRY_MIN_NS;
        vs_error("mirror %s: pivot not saved, the source failed a guest write: %s; "
                 "the target stays in use, saving again in %llu ms", m->job->id, why,
                 (unsigned long long)(m->retry_ns / 1000000));
        vs_trace("mirror-pivot-save-retry", m->job->id);
        m->flush_started = false;
        vs_timer_arm(m->loop, &m->retry_timer, m->retry_ns);
        return;
    }
    msg = vs_strdup_printf("pivot not saved, the source stays in use: %s", why);
    vs_error("mirror %s: %s", m->job->id, msg);
    m->pivot_msg = msg;
    block_node_quiesce(m->tgt);
    m->pivot_bh.fn = undo_drained;
    block_node_drain(m->tgt, &m->pivot_bh);
}

static void pivot_saved(void *opaque, const struct vs_error *save_err)
{
    struct mirror *m = opaque;

    vs_trace(save_err ? "mirror-state-save-failed" : "mirror-state-saved", m->job->id);
    if (save_err) {
        pivot_failed(m, save_err->msg);
        return;
    }
    pivot_settle(m, 0, NULL);
}

static void target_flushed(struct block_req *req, int ret)
{
    struct mirror *m = vs_container_of(req, struct mirror, pivot_flush_req);

    vs_trace("mirror-target-flushed", m->job->id);
    if (ret < 0) {
        char *why = vs_strdup_printf("cannot flush the target: %s", strerror(-ret));
        job_error_action(m->job, m->on_tgt, false, -ret);
        pivot_failed(m, why);
        free(why);
        return;
    }
    /* Everything acknowledged is in the target and on its disk: from now
     * on the state may name it. */
    m->tgt->saved_as = NULL;
    if (jobs_state_save_async) {
        vs_trace("mirror-state-save", m->job->id);
        jobs_state_save_async(pivot_saved, m);
        return;
    }
    pivot_settle(m, 0, NULL);
}

static void retry_durable(struct vs_timer *t)
{
    struct mirror *m = vs_container_of(t, struct mirror, retry_timer);

    maybe_start_target_flush(m);
}

/* The flush waits until the writes and flushes the switch held are done:
 * on a disk they would otherwise queue behind it (bench/swap saw the first
 * write on the target take a millisecond more). Only those: under a steady
 * load the target may never be idle. */
static void maybe_start_target_flush(struct mirror *m)
{
    if (m->flush_started || m->pivot_settled)
        return;
    vs_list_for_each(pos, &m->rops) {
        if (vs_list_entry(pos, struct mirror_rop, link)->seq <= m->flush_after_seq)
            return;
    }
    m->flush_started = true;
    memset(&m->pivot_flush_req, 0, sizeof(m->pivot_flush_req));
    m->pivot_flush_req.op = BLOCK_OP_FLUSH;
    m->pivot_flush_req.cb = target_flushed;
    block_node_submit(m->tgt, &m->pivot_flush_req);
}

int mirror_prepare(struct job *job, struct vs_error *err)
{
    struct mirror *m = job->opaque;

    if (!m->pivot)
        return 0;
    /* Invariant 4: guests held, nothing in flight on the source, nothing
     * left to copy, none of our operations running. */
    assert(m->quiesced && m->replaces->quiesce > 0);
    assert(m->replaces->n_in_flight == 0 && m->src->n_in_flight == 0);
    assert(hbitmap_empty(m->dirty) && vs_list_empty(&m->ops));
    mirror_hook_uninstall(m);
    block_node_quiesce(m->tgt);
    m->pivot_stamp = block_node_replace(m->replaces, m->tgt);
    /* Saves from now until the target is flushed (another client's
     * command) still name the source. */
    m->tgt->saved_as = m->replaces;
    m->rhook.before = rhook_before;
    m->rhook.after = rhook_after;
    m->rhook.opaque = m;
    block_hook_add(m->tgt, &m->rhook);
    m->rhooked = true;
    m->forwarding = true;
    m->retry_timer.fn = retry_durable;
    vs_info("mirror %s: switched '%s' to '%s'", job->id, m->replaces->name, m->tgt->name);
    m->tgt->trace_first_write = true;
    vs_trace("mirror-replace", m->tgt->name);
    vs_trace("mirror-release-target", job->id);
    block_node_release(m->tgt);
    m->flush_after_seq = m->rop_seq;
    maybe_start_target_flush(m);
    return JOB_PREPARE_UNDER_WAY;
}
