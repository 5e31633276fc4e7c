/* Crash recovery: at start, before the API answers, every swap the store
 * says is unfinished is settled against what its host actually does, so
 * the registry never disagrees with what the daemon serves (the root of
 * Nova bug 2112187 is exactly that disagreement). By last persisted phase:
 *   ACCEPTED            nothing was done on the host: run the swap again;
 *   TARGET_OPEN..PIVOTED  the export's node decides: the new node means
 *                       the pivot happened (finish: registry, old node,
 *                       event) whoever completed the job; the old node
 *                       means it did not: cancel the job if the host still
 *                       runs it, close the new node, roll the volume
 *                       states back. Before COMPLETING a host without the
 *                       export is rolled back too (the pivot was never
 *                       asked for);
 *   RECORDED            the registry is done: close the old node, finish.
 * A host that cannot be reached leaves pre-pivot swaps rolled back in the
 * registry (the host lost the job with its process) and post-pivot ones
 * untouched, for the next start, rather than guessing.
 * Which swaps are recovered is lease.c's: at start those this node may
 * take, and afterwards, on every node, those whose node stopped renewing
 * its lease; each is recovered under the lease it was taken with. A swap
 * taken over from another node while the host still runs its mirror job
 * (that node died or lost the database mid-copy) is not rolled back but
 * adopted: a worker carries it on from the job's state to the pivot. A
 * restart of the one node keeps the rollback, which returns the server to
 * its old volume before the API answers. */
#include "swap.h"

#include <stdlib.h>
#include <string.h>

/* Takeover of a swap whose node died before the pivot: the host's mirror
 * job outlives the QMP session that started it, so a job still running or
 * ready is adopted (a worker carries the swap on from there: READY,
 * block-job-complete, finish) instead of being cancelled. Only a job that
 * is gone, failed or concluded leaves the rollback. */
static bool job_adoptable(struct host_session *hs, const struct swap_rec *r)
{
    char st[32] = "";
    struct api_error e = { 0 };
    if (swap_job_status(hs, r->id, st, NULL, NULL, &e) != 0)
        return false;
    return strcmp(st, "running") == 0 || strcmp(st, "ready") == 0;
}

/* Settles R, past ACCEPTED and before RECORDED, by the node the host's
 * export serves (RC and NODE: swap_export_node's answer for A). */
static void settle_by_export(struct host_session *hs, struct swap_rec *r,
                             const struct reg_attachment *a, int rc, char node[32])
{
    struct api_error e = { 0 };
    /* On QEMU the export names the mirror's filter node for as long as
     * the job exists: a job still ready never took block-job-complete
     * (the API died before the host read it), so it has not pivoted.
     * Cancelling it puts the export back on the old node, which the
     * check below then rolls back; left alone it would wait for ever. */
    char st[32] = "";
    if (rc == 0 && strcmp(node, r->new_node) != 0 && strcmp(node, r->old_node) != 0 &&
        swap_job_status(hs, r->id, st, NULL, NULL, &e) == 0 && strcmp(st, "ready") == 0) {
        if (swap_job_abort(hs, r->id, &e) < 0)
            swap_log("%s: %s", r->id, e.msg);
        rc = swap_export_node(hs, a->export_id, node, &e);
    }
    if (rc == 0 && strcmp(node, r->new_node) == 0) {
        /* whoever completed the job, the host serves the new volume: a job
         * concluded but not dismissed would still hold the old node */
        swap_job_abort(hs, r->id, &e);
        if (swap_finish(hs, r, &e) < 0)
            swap_log("%s: %s", r->id, e.msg);
    } else if ((rc == 0 && strcmp(node, r->old_node) == 0) || r->phase < SP_COMPLETING) {
        swap_rollback(hs, r,
                      r->phase < SP_COMPLETING
                          ? "volswap-api restarted before the pivot"
                          : "volswap-api restarted during the pivot; the host serves the old "
                            "volume");
    } else {
        swap_log("%s: the host does not export the attachment; left for the next start", r->id);
    }
}

/* Settles R; true when it was handed to a worker, which holds its lease
 * from then on. ADOPT: a takeover, which carries on a live mirror job. */
static bool recover_one(struct swap_rec *r, bool adopt)
{
    struct api_error e = { 0 };
    const struct cfg_host *h = config_host(swap_svc->ctx->cfg, r->host);
    swap_log("%s: recovering a swap left in phase %s (lease epoch %lld)", r->id,
             swap_phase_name(r->phase), (long long)r->epoch);
    if (r->phase == SP_ACCEPTED) {
        if (swap_launch(r, &e) < 0) {
            swap_log("%s: cannot restart: %s", r->id, e.msg);
            swap_lease_release(r); /* lapses: retried by whoever takes it */
        }
        return true;
    }
    if (h && strcmp(h->driver, "libvirt") == 0) {
        swap_libvirt_recover(r);
        return false;
    }
    struct host_session *hs = h ? host_session_get(h, &e) : NULL;
    if (!hs) {
        if (r->phase < SP_COMPLETING)
            swap_rollback(NULL, r, h ? e.msg : "the server's host is not configured");
        else
            swap_log("%s: host unreachable after block-job-complete; left for the next start",
                     r->id);
        return false;
    }
    bool handed_over = false;
    host_session_watch(hs, r->id, true);
    if (r->phase == SP_RECORDED) {
        if (swap_finish(hs, r, &e) < 0)
            swap_log("%s: %s", r->id, e.msg);
    } else {
        struct registry *reg = swap_svc->ctx->reg;
        struct reg_attachment a;
        char node[32] = "";
        int rc = -1;
        /* Nova swaps move the attachment row when they record; a missing row
         * with the new volume attached means the registry is already done */
        if (reg->ops->attachment_get_by_id(reg, r->attachment_id, &a) == 0 ||
            reg->ops->attachment_get(reg, r->server_id, r->new_volume_id, &a) == 0)
            rc = swap_export_node(hs, a.export_id, node, &e);
        if (adopt && rc == 0 && strcmp(node, r->new_node) != 0 && job_adoptable(hs, r)) {
            swap_log("%s: the host still runs its mirror job: carrying the swap on", r->id);
            /* a completing swap whose job is still there never pivoted: the
             * adopting worker asks block-job-complete again once READY */
            swap_mark(r, SP_MIRRORING);
            handed_over = swap_launch(r, &e) == 0;
            if (!handed_over)
                swap_log("%s: cannot adopt the job: %s", r->id, e.msg);
        }
        if (!handed_over)
            settle_by_export(hs, r, &a, rc, node);
    }
    host_session_watch(hs, r->id, false);
    host_session_put(hs);
    return handed_over;
}

int swap_recover_all(enum reg_lease_take which, struct api_error *e)
{
    struct swap_rec *recs = NULL;
    size_t n = 0;
    if (swap_lease_take(which, &recs, &n, e) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        /* an accepted swap is handed to a worker, which holds its lease;
         * any other is settled here, and a swap left unsettled (its host
         * unreachable) is let go, so that its lease lapses and it is tried
         * again by whichever node takes it next */
        bool handed_over = recover_one(&recs[i], which == REG_TAKE_EXPIRED);
        if (!handed_over)
            swap_lease_release(&recs[i]);
    }
    free(recs);
    swap_power_recover();
    return 0;
}
