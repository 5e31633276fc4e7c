/* The swap worker: the compute manager's swap_volume and the libvirt
 * driver's _swap_volume as one state machine per swap, on a thread of its
 * own. The phases:
 *   ACCEPTED -> TARGET_OPEN (open the new volume) -> MIRRORING (mirror,
 *   mode existing, sync full, job id = the action's request id) -> READY
 *   (BLOCK_JOB_READY, from the event stream) -> COMPLETING
 *   (block-job-complete) -> PIVOTED (BLOCK_JOB_COMPLETED without error)
 *   -> RECORDED (resize if larger; attachment and both volumes in one
 *   registry transaction) -> DONE (old node closed, event recorded).
 * ACCEPTED, MIRRORING, COMPLETING, RECORDED and the two ends are persisted
 * before their effect can be seen; TARGET_OPEN, READY and PIVOTED live in
 * memory only (for the progress endpoint), because recovery treats each
 * like the persisted phase before it (a relaunch reuses an open target;
 * after COMPLETING the host's export decides), and every fsync saved is
 * milliseconds off the swap.
 * Before COMPLETING every failure rolls back: cancel the job, close the new
 * node, roll_detaching + unreserve, an Error event, and the server stays on
 * the old volume. From COMPLETING on, only the host knows whether the pivot
 * happened, so the worker asks it (which node does the export serve?) and
 * finishes or rolls back accordingly; if it cannot ask (the daemon is gone)
 * it leaves the record for recovery rather than guess. While waiting for
 * READY it samples query-jobs for the progress figures only. */
#include "swap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* How long the pivot may take once block-job-complete was accepted. */
#define PIVOT_TIMEOUT_MS 60000
/* How long a rollback waits for a host whose daemon died under the swap. */
#define ROLLBACK_REACH_MS 10000
/* Progress sampling period while the mirror runs. */
#define SAMPLE_MS 100

static const struct cfg_host *rec_host(const struct swap_rec *r)
{
    return config_host(swap_svc->ctx->cfg, r->host);
}

static bool stopping(void)
{
    pthread_mutex_lock(&swap_svc->lock);
    bool s = swap_svc->stopping;
    pthread_mutex_unlock(&swap_svc->lock);
    return s;
}

/* ---- registry updates ---- */

/* The attachment's connection_info after a swap: the serial, the node, a
 * libvirt host's device path, and the storage host's export the compute
 * host's node opens (data.storage) when the new volume lives on another
 * host (none when it is local). */
static void set_ci_node(char *ci, size_t cilen, const struct swap_rec *r, const char *volume_id,
                        const char *node, const char *path, const char *volume_host)
{
    json_error_t jerr;
    json_t *o = json_loads(ci, 0, &jerr);
    if (!o)
        return;
    json_object_set_new(o, "serial", json_string(volume_id));
    json_t *d = json_object_get(o, "data");
    if (json_is_object(d))
        json_object_set_new(d, "node_name", json_string(node));
    /* a local disk (libvirt host) names its storage */
    if (json_is_object(d) && json_object_get(d, "device_path"))
        json_object_set_new(d, "device_path", json_string(path));
    const struct cfg_host *sh = swap_remote_host(r, volume_host);
    if (json_is_object(d) && sh)
        json_object_set_new(d, "storage", host_storage_info(sh, node));
    else if (json_is_object(d))
        json_object_del(d, "storage");
    char *s = json_dumps(o, JSON_COMPACT);
    if (s && strlen(s) < cilen)
        snprintf(ci, cilen, "%s", s);
    free(s);
    json_decref(o);
}

static int vol_apply(struct registry *reg, struct reg_volume *v, enum vol_transition t,
                     struct api_error *e)
{
    if (vol_transition_check(v, t, false, e) < 0)
        return -1;
    api_time_micro(time(NULL), v->updated_at);
    if (reg->ops->volume_update(reg, v) < 0)
        return reg_fail(e, reg);
    return 0;
}

/* Nova: the BDM now names the new volume (delete_on_termination false);
 * Cinder: old available/detached, new in-use/attached. In the caller's
 * transaction. */
static int record_nova(struct registry *reg, struct swap_rec *r, struct api_error *e)
{
    struct reg_attachment a, na;
    struct reg_volume ov, nv;
    int rc = reg->ops->attachment_get(reg, r->server_id, r->new_volume_id, &na);
    if (rc < 0)
        return reg_fail(e, reg);
    if (rc == 0) /* recorded by an earlier run */
        return 0;
    if (reg->ops->attachment_get_by_id(reg, r->attachment_id, &a) != 0 ||
        reg->ops->volume_get(reg, r->old_volume_id, &ov) != 0 ||
        reg->ops->volume_get(reg, r->new_volume_id, &nv) != 0)
        return api_err(e, 500, "registry: the swap's records are gone");
    na = a;
    api_uuid(na.id);
    snprintf(na.volume_id, sizeof na.volume_id, "%s", r->new_volume_id);
    snprintf(na.node_name, sizeof na.node_name, "%s", r->new_node);
    na.delete_on_termination = false;
    api_time_micro(time(NULL), na.created_at);
    set_ci_node(na.connection_info, sizeof na.connection_info, r, r->new_volume_id, r->new_node,
                nv.path, nv.host);
    if (reg->ops->attachment_delete(reg, a.id) < 0 || reg->ops->attachment_insert(reg, &na) < 0)
        return reg_fail(e, reg);
    if (vol_apply(reg, &ov, VT_DETACH, e) < 0 || vol_apply(reg, &nv, VT_ATTACH, e) < 0)
        return -1;
    snprintf(r->attachment_id, sizeof r->attachment_id, "%s", na.id);
    return 0;
}

/* Cinder's migrate_volume_completion: the original volume ID takes the new
 * storage, the temporary record (and with it the old storage) goes away.
 * In the caller's transaction. */
static int record_migrate(struct registry *reg, struct swap_rec *r, struct api_error *e)
{
    struct reg_attachment a;
    struct reg_volume ov, tv;
    if (reg->ops->volume_get(reg, r->old_volume_id, &ov) != 0 ||
        reg->ops->attachment_get_by_id(reg, r->attachment_id, &a) != 0)
        return api_err(e, 500, "registry: the migration's records are gone");
    int rc = reg->ops->volume_get(reg, r->new_volume_id, &tv);
    if (rc < 0)
        return reg_fail(e, reg);
    if (rc == 1) /* recorded by an earlier run */
        return 0;
    snprintf(r->old_path, sizeof r->old_path, "%s", ov.path);
    snprintf(ov.path, sizeof ov.path, "%s", tv.path);
    snprintf(ov.pool, sizeof ov.pool, "%s", tv.pool);
    snprintf(ov.host, sizeof ov.host, "%s", tv.host);
    snprintf(a.node_name, sizeof a.node_name, "%s", r->new_node);
    set_ci_node(a.connection_info, sizeof a.connection_info, r, ov.id, r->new_node, tv.path,
                tv.host);
    if (vol_apply(reg, &ov, VT_ROLL_DETACHING, e) < 0 ||
        vol_apply(reg, &ov, VT_MIGRATION_COMPLETING, e) < 0 ||
        vol_apply(reg, &ov, VT_MIGRATION_SUCCESS, e) < 0)
        return -1;
    if (reg->ops->attachment_update(reg, &a) < 0 || reg->ops->volume_delete(reg, tv.id) < 0)
        return reg_fail(e, reg);
    return 0;
}

int swap_record(struct registry *reg, struct swap_rec *r, struct api_error *e)
{
    struct swap_rec next = *r;
    REG_TXN(txn, reg);
    if (reg_begin(&txn, e) < 0)
        return -1;
    if ((next.kind == SWAP_MIGRATE ? record_migrate(reg, &next, e) : record_nova(reg, &next, e)) <
            0 ||
        swap_persist_in(reg, &next, SP_RECORDED, e) < 0 || reg_commit(&txn, e) < 0)
        return -1;
    next.phase = SP_RECORDED;
    *r = next;
    return 0;
}

/* Removes the storage at PATH: a file goes, a block device is zeroed
 * (by the API or its host) and handed back; the pool that holds the path
 * says which (it may be another host's). A device must be zeroed while
 * the registry still holds it (a record names it, or an unfinished
 * migration left it): once free, another volume may claim it. FILES
 * and DEVICES say which of the two to remove. */
static void pool_remove(const char *path, bool files, bool devices)
{
    const struct cfg_pool *p = NULL;
    host_of_path(swap_svc->ctx->cfg, path, &p);
    struct stat st;
    bool is_file = p ? p->is_dir : lstat(path, &st) == 0 && S_ISREG(st.st_mode);
    struct api_error e = { 0 };
    if (path[0] && (is_file ? files : devices) && pool_delete_volume(p, path, &e) < 0)
        swap_log("cannot remove %s: %s", path, e.msg);
}

/* ---- finish and rollback (shared with recovery) ---- */

/* When the host refuses to grow the open node (QEMU's NBD exports do not
 * share the resize permission), the file still takes the volume's size, so
 * storage and record agree and the next open sees it. */
static void grow_file(const struct swap_rec *r)
{
    struct reg_volume nv;
    struct stat st;
    struct registry *reg = swap_svc->ctx->reg;
    if (reg->ops->volume_get(reg, r->new_volume_id, &nv) == 0 && stat(nv.path, &st) == 0 &&
        S_ISREG(st.st_mode) && st.st_size < (off_t)(r->new_size_gb << 30) &&
        truncate(nv.path, (off_t)(r->new_size_gb << 30)) < 0)
        swap_log("%s: cannot grow %s: %s", r->id, nv.path, strerror(errno));
}

/* Logs that R is no longer this node's to drive; the node that took it
 * over settles it. */
static bool lease_gone(const struct swap_rec *r)
{
    if (swap_lease_valid(r))
        return false;
    swap_log("%s: this node lost the swap's lease in phase %s: it stops driving it (the node "
             "that takes it over settles it)",
             r->id, swap_phase_name(r->phase));
    return true;
}

int swap_finish(struct host_session *hs, struct swap_rec *r, struct api_error *e)
{
    char warn[256] = "";
    if (lease_gone(r))
        return api_err(e, 409, "the swap %s is no longer this node's", r->id);
    /* HS NULL: a host without QMP (libvirt), whose driver resized and
     * closes the old volume itself */
    if (r->phase < SP_RECORDED) {
        if (hs && r->new_size_gb > r->old_size_gb) {
            json_t *a = json_pack("{s:s, s:I}", "node-name", r->new_node, "size",
                                  (json_int_t)(r->new_size_gb << 30));
            struct api_error re = { 0 };
            /* after the pivot there is no way back: a failed resize is reported,
       * the volume keeps working at the old size */
            if (swap_qmp_simple(hs, "block_resize", a, NULL, &re) < 0) {
                snprintf(warn, sizeof warn, "resize: %.240s", re.msg);
                grow_file(r);
            }
            json_decref(a);
        }
        /* the host already serves the new volume: a busy database is waited
     * for rather than leaving the registry behind until a restart */
        int rc = -1;
        for (int i = 0; i < 5 && rc < 0; i++) {
            if (i) {
                struct timespec ts = { 0, 200 * 1000 * 1000 };
                nanosleep(&ts, NULL);
            }
            rc = swap_record(swap_svc->ctx->reg, r, e);
        }
        if (rc < 0)
            return -1;
    }
    if (hs) {
        json_t *a = json_pack("{s:s}", "node-name", r->old_node);
        struct api_error de = { 0 };
        if (swap_qmp_simple(hs, "blockdev-del", a, "Failed to find node", &de) < 0) {
            swap_log("%s: old node %s stays open: %s", r->id, r->old_node, de.msg);
            swap_reconcile_mark(r->host);
        }
        json_decref(a);
        /* the old volume's storage host (a migration's old storage is
         * found by its path: the record already names the new host) */
        const struct cfg_host *oh = NULL;
        struct reg_volume ov;
        if (r->kind == SWAP_MIGRATE)
            oh = r->old_path[0] ? host_of_path(swap_svc->ctx->cfg, r->old_path, NULL) : NULL;
        else if (swap_svc->ctx->reg->ops->volume_get(swap_svc->ctx->reg, r->old_volume_id, &ov) ==
                 0)
            oh = config_host(swap_svc->ctx->cfg, ov.host);
        swap_release_storage(r, oh ? oh->name : NULL, r->old_node);
    }
    if (r->kind == SWAP_MIGRATE) /* before SP_DONE: the swap holds a device */
        pool_remove(r->old_path, true, true);
    if (r->started_mono_ms)
        r->total_ms = api_now_ms() - r->started_mono_ms;
    /* the event and the phase that ends the swap, together */
    struct registry *reg = swap_svc->ctx->reg;
    REG_TXN(txn, reg);
    if (reg_begin(&txn, e) < 0 || swap_event_finish(reg, r, true, warn[0] ? warn : NULL, e) < 0 ||
        swap_persist_in(reg, r, SP_DONE, e) < 0 || reg_commit(&txn, e) < 0)
        return -1;
    swap_mark(r, SP_DONE);
    swap_log("%s: %s -> %s done", r->id, r->old_volume_id, r->new_volume_id);
    return 0;
}

/* Applies T to VOLUME_ID in the caller's transaction. A transition that no
 * longer applies (an earlier run made it) is logged and passed over; only a
 * storage error fails. */
static int transition_in(struct registry *reg, const struct swap_rec *r, const char *volume_id,
                         enum vol_transition t, struct api_error *e)
{
    struct api_error te = { 0 };
    if (vol_transition_apply(reg, volume_id, t, false, NULL, &te) == 0)
        return 0;
    if (te.status >= 500)
        return api_err(e, te.status, "%s", te.msg);
    swap_log("%s: %s %s: %s", r->id, vol_transition_name(t), volume_id, te.msg);
    return 0;
}

/* The registry side of a rollback, in the caller's transaction: the old
 * volume back to in-use, the new one unreserved (Nova) or the migration's
 * temporary record removed (Cinder), whose storage TV_PATH names for the
 * caller to remove once this commits. */
static int roll_states(struct registry *reg, struct swap_rec *r, char tv_path[1024],
                       struct api_error *e)
{
    tv_path[0] = '\0';
    if (transition_in(reg, r, r->old_volume_id, VT_ROLL_DETACHING, e) < 0)
        return -1;
    if (r->kind != SWAP_MIGRATE)
        return transition_in(reg, r, r->new_volume_id, VT_UNRESERVE, e);
    if (transition_in(reg, r, r->old_volume_id, VT_MIGRATION_ERROR, e) < 0)
        return -1;
    struct reg_volume tv;
    int rc = reg->ops->volume_get(reg, r->new_volume_id, &tv);
    if (rc < 0 || (rc == 0 && reg->ops->volume_delete(reg, tv.id) < 0))
        return reg_fail(e, reg);
    if (rc == 0) {
        snprintf(tv_path, 1024, "%s", tv.path);
    }
    return 0;
}

/* Gives back the size match_sizes took away from a Nova swap's new volume. */
static void restore_new_size(const struct swap_rec *r)
{
    struct registry *reg = swap_svc->ctx->reg;
    struct reg_volume nv;
    struct stat st;
    if (r->kind != SWAP_MIGRATE && reg->ops->volume_get(reg, r->new_volume_id, &nv) == 0 &&
        stat(nv.path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size < (off_t)(nv.size_gb << 30) &&
        truncate(nv.path, (off_t)(nv.size_gb << 30)) < 0)
        swap_log("%s: cannot restore the size of %s: %s", r->id, nv.path, strerror(errno));
}

int swap_rollback(struct host_session *hs, struct swap_rec *r, const char *why)
{
    if (lease_gone(r))
        return -1;
    swap_log("%s: rolling back (%s): %s", r->id, swap_phase_name(r->phase), why);
    snprintf(r->error, sizeof r->error, "%s", why);
    const struct cfg_host *h = rec_host(r);
    const struct swap_driver *drv = h ? swap_driver_find(h->driver) : NULL;
    bool host_undone = r->phase >= SP_TARGET_OPEN;
    /* A session that died under the swap (the daemon was killed) gets a
     * while to come back: a daemon restarted from its state file has the
     * new volume open again (over NBD from another host, too), and only
     * this rollback knows to close it. */
    struct host_session *fresh = NULL;
    if (hs && host_session_dead(hs) && h && drv && r->phase >= SP_TARGET_OPEN) {
        int64_t until = api_now_ms() + ROLLBACK_REACH_MS;
        while (!fresh && api_now_ms() < until && !stopping()) {
            struct timespec ts = { 0, 500 * 1000 * 1000 };
            nanosleep(&ts, NULL);
            struct api_error ge = { 0 };
            fresh = host_session_get(h, &ge);
        }
        if (fresh) {
            swap_log("%s: host %s is back: closing what the swap opened there", r->id, h->name);
            host_session_watch(fresh, r->id, true);
            hs = fresh;
        }
    }
    if (hs && !host_session_dead(hs)) {
        struct api_error e = { 0 };
        host_undone = false;
        if (r->phase >= SP_MIRRORING && swap_job_abort(hs, r->id, &e) < 0) {
            swap_log("%s: %s", r->id, e.msg);
            host_undone = true;
        }
        if (r->phase >= SP_TARGET_OPEN && drv && drv->close_new(hs, r, &e) < 0) {
            swap_log("%s: %s", r->id, e.msg);
            host_undone = true;
        }
    }
    if (fresh) {
        host_session_watch(fresh, r->id, false);
        host_session_put(fresh);
    }
    /* the new volume's export on its storage host goes even when the
     * compute host is gone: nothing of the swap stays on any host */
    struct reg_volume nv;
    if (r->phase >= SP_TARGET_OPEN &&
        swap_svc->ctx->reg->ops->volume_get(swap_svc->ctx->reg, r->new_volume_id, &nv) == 0)
        swap_release_storage(r, nv.host, r->new_node);
    /* a migration's target device is zeroed while its record still holds
     * it (it has the volume's data); a file goes once the record does */
    struct registry *reg = swap_svc->ctx->reg;
    struct reg_volume tv;
    if (r->kind == SWAP_MIGRATE && reg->ops->volume_get(reg, r->new_volume_id, &tv) == 0)
        pool_remove(tv.path, false, true);
    /* the volume states, the event and the phase commit together: a
     * registry that fails here leaves the record in its phase for the next
     * start to roll back again */
    struct api_error e = { 0 };
    char tv_path[1024];
    REG_TXN(txn, reg);
    if (reg_begin(&txn, &e) < 0 || roll_states(reg, r, tv_path, &e) < 0 ||
        swap_event_finish(reg, r, false, why, &e) < 0 ||
        swap_persist_in(reg, r, SP_ROLLED_BACK, &e) < 0 || reg_commit(&txn, &e) < 0) {
        swap_log("%s: cannot record the rollback: %s (left for the next start)", r->id, e.msg);
        return -1;
    }
    swap_mark(r, SP_ROLLED_BACK);
    /* the host may hold the new node (its state file, a daemon that was
     * only stopped) and the job: closed once it answers again */
    if (host_undone && h && strcmp(h->driver, "libvirt") != 0)
        swap_reconcile_mark(r->host);
    if (tv_path[0])
        pool_remove(tv_path, true, false);
    restore_new_size(r);
    return 0;
}

/* ---- the run ---- */

struct run {
    struct swap_task *t;
    struct swap_rec *r;
    struct host_session *hs;
    struct swap_progress p;
    int64_t last_sample_ms, last_done;
    /* the convergence watch (converge): since when the remaining bytes
   * have not gone down, from what, and the copy's position then */
    int64_t calm_since_ms, calm_remaining, calm_done;
    bool change_tried;
    /* the series kept for the swap report (series_add) */
    json_t *samples;
    int64_t series_every_ms, last_series_ms;
    uint64_t lat_ops, lat_ns; /* the consumer's totals at the last sample */
    bool lat_seen;
    int64_t pivot_start_ms, pivot_end_ms; /* since the start; 0: none */
};

/* ---- the series of a swap, for its report ---- */

#define SERIES_EVERY_MS 100
#define SERIES_MAX 2000 /* then every other sample goes, and the step doubles */

/* The consumer's mean I/O latency since the last sample, in microseconds,
 * from the host's query-blockstats (the export that serves the swapped
 * volume, whichever node it is on); -1 when the host cannot say or the
 * consumer did nothing. */
static double consumer_latency_us(struct run *x)
{
    json_t *ret = NULL;
    struct qmp_error qe;
    if (host_session_execute(x->hs, "query-blockstats", NULL, &ret, HOST_QMP_TIMEOUT_MS, &qe) < 0)
        return -1;
    double lat = -1;
    size_t i;
    json_t *dev;
    json_array_foreach(ret, i, dev) {
        const char *node = json_string_value(json_object_get(dev, "node-name"));
        if (!node || (strcmp(node, x->r->old_node) != 0 && strcmp(node, x->r->new_node) != 0))
            continue;
        json_t *st = json_object_get(dev, "stats");
        uint64_t ops = (uint64_t)json_integer_value(json_object_get(st, "rd_operations")) +
                       (uint64_t)json_integer_value(json_object_get(st, "wr_operations"));
        uint64_t ns = (uint64_t)json_integer_value(json_object_get(st, "rd_total_time_ns")) +
                      (uint64_t)json_integer_value(json_object_get(st, "wr_total_time_ns"));
        if (x->lat_seen && ops > x->lat_ops && ns >= x->lat_ns)
            lat = (double)(ns - x->lat_ns) / (double)(ops - x->lat_ops) / 1000.0;
        x->lat_ops = ops;
        x->lat_ns = ns;
        x->lat_seen = true;
        break;
    }
    json_decref(ret);
    return lat;
}

/* One point of the series: time since the start, bytes copied, bytes the
 * job still has to copy (dirty), the copy rate and the consumer's latency.
 * FORCE: a moment the report marks (READY, the pivot), whatever the step. */
static void series_add(struct run *x, bool force)
{
    int64_t now = api_now_ms();
    if (!x->samples) {
        x->samples = json_array();
        x->series_every_ms = SERIES_EVERY_MS;
    }
    if (!force && x->last_series_ms && now - x->last_series_ms < x->series_every_ms)
        return;
    x->last_series_ms = now;
    double lat = x->hs ? consumer_latency_us(x) : -1;
    int64_t left = x->p.bytes_total > x->p.bytes_done ? x->p.bytes_total - x->p.bytes_done : 0;
    json_t *pt = json_pack("[I, I, I, f]", (json_int_t)(now - x->p.started_ms),
                           (json_int_t)x->p.bytes_done, (json_int_t)left, x->p.rate);
    json_array_append_new(pt, lat >= 0 ? json_real(lat) : json_null());
    json_array_append_new(x->samples, pt);
    if (json_array_size(x->samples) >= SERIES_MAX) {
        for (size_t i = 1; i < json_array_size(x->samples); i++)
            json_array_remove(x->samples, i);
        x->series_every_ms *= 2;
    }
}

/* What the report draws, kept with the swap's record. */
static void series_save(struct run *x)
{
    if (!x->samples)
        return;
    json_t *doc = json_pack("{s:[s,s,s,s,s], s:I, s:o}", "columns", "t_ms", "copied_bytes",
                            "dirty_bytes", "rate_bytes_per_second", "consumer_latency_us",
                            "step_ms", (json_int_t)x->series_every_ms, "samples", x->samples);
    x->samples = NULL;
    json_object_set_new(doc, "ready_ms", x->p.ready_ms ? json_integer(x->p.ready_ms) : json_null());
    json_object_set_new(doc, "pivot_start_ms",
                        x->pivot_start_ms ? json_integer(x->pivot_start_ms) : json_null());
    json_object_set_new(doc, "pivot_end_ms",
                        x->pivot_end_ms ? json_integer(x->pivot_end_ms) : json_null());
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    struct api_error e = { 0 };
    if (text && swap_store_series_put(swap_svc->ctx->reg, x->r->id, text, &e) < 0)
        swap_log("%s: the series for the report is not kept: %s", x->r->id, e.msg);
    free(text);
}

static void publish(struct run *x, enum swap_phase ph)
{
    x->p.phase = ph;
    x->r->bytes_done = x->p.bytes_done;
    x->r->bytes_total = x->p.bytes_total;
    swap_progress_set(x->t, &x->p);
}

/* Convergence under a rate limit. With VOLSWAP_SWAP_SPEED the host's
 * mirror copies at most that many bytes a second in background mode, and
 * a consumer that dirties faster keeps it from READY for ever (QEMU's
 * semantics, and volswapd's: its own convergence rule stands back under a
 * limit). A swap should finish all the same. The worker watches windows of
 * VOLSWAP_SWAP_CONVERGE_WINDOW seconds: one in which the copy moved on by
 * at least a tenth of what the limit allows while the bytes left to copy
 * went down by less than that is outpaced, and the worker switches the job
 * to write-blocking (block-job-change): guest writes then go to both
 * volumes and add nothing left to copy, so the rest shrinks at the limit's
 * rate. A job that copies little (paused, stopped by an error, a slow
 * target) is not outpaced; a long first pass goes down steadily and is not
 * either. Asked once; a host without the command (QEMU before 9.1) keeps
 * the old behaviour, and the worker says so in its log. */
static void converge(struct run *x, const char *st, int64_t done, int64_t total)
{
    int64_t window = swap_svc->converge_window_ms;
    if (x->change_tried || swap_svc->speed <= 0 || window <= 0 || strcmp(st, "running") != 0)
        return;
    int64_t now = api_now_ms(), remaining = total - done;
    int64_t enough = swap_svc->speed / 10 * window / 1000; /* bytes a window */
    if (!x->calm_since_ms || remaining <= x->calm_remaining - enough ||
        (now - x->calm_since_ms >= window && done - x->calm_done < enough)) {
        x->calm_since_ms = now; /* going down, or hardly copying: a new window */
        x->calm_remaining = remaining;
        x->calm_done = done;
        return;
    }
    if (now - x->calm_since_ms < window)
        return;
    x->change_tried = true;
    json_t *a = json_pack("{s:s, s:s, s:s}", "id", x->r->id, "type", "mirror", "copy-mode",
                          "write-blocking");
    struct api_error e = { 0 };
    int rc = swap_qmp_simple(x->hs, "block-job-change", a, NULL, &e);
    json_decref(a);
    if (rc < 0) {
        swap_log("%s: the mirror is outpaced at %lld bytes/s and cannot be switched to "
                 "write-blocking: %s",
                 x->r->id, (long long)swap_svc->speed, e.msg);
        return;
    }
    swap_log("%s: the mirror is outpaced at %lld bytes/s (%lld bytes left): switched to "
             "write-blocking",
             x->r->id, (long long)swap_svc->speed, (long long)remaining);
    x->p.write_blocking = true;
}

static void sample(struct run *x)
{
    char st[32];
    int64_t done = 0, total = 0;
    struct api_error e = { 0 };
    if (swap_job_status(x->hs, x->r->id, st, &done, &total, &e) != 0)
        return;
    converge(x, st, done, total);
    int64_t now = api_now_ms();
    /* the first sample has no earlier one: its rate is the average since
     * the swap started, so the progress never shows bytes copied at 0 B/s */
    int64_t since = x->last_sample_ms ? x->last_sample_ms : x->p.started_ms;
    int64_t base = x->last_sample_ms ? x->last_done : 0;
    if (since && now > since && done >= base) {
        double inst = (double)(done - base) * 1000.0 / (double)(now - since);
        x->p.rate = x->p.rate > 0 ? 0.7 * x->p.rate + 0.3 * inst : inst;
    }
    x->last_sample_ms = now;
    x->last_done = done;
    x->p.bytes_done = done;
    x->p.bytes_total = total;
    publish(x, x->p.phase);
    series_add(x, false);
}

enum wait_result { WAIT_OK, WAIT_FAILED, WAIT_INTERRUPTED, WAIT_LEASE_LOST };

/* Waits for BLOCK_JOB_READY. Fills WHY on failure. */
static enum wait_result wait_ready(struct run *x, char *why, size_t whylen)
{
    int64_t deadline = api_now_ms() + swap_svc->ready_timeout_ms;
    for (;;) {
        struct qmp_error qe;
        json_t *ev = host_session_next_event(x->hs, x->r->id, SAMPLE_MS, &qe);
        if (ev) {
            const char *name = json_string_value(json_object_get(ev, "event"));
            json_t *d = json_object_get(ev, "data");
            enum wait_result res = WAIT_OK;
            bool done = true;
            if (name && !strcmp(name, "BLOCK_JOB_READY")) {
                x->p.bytes_done = json_integer_value(json_object_get(d, "offset"));
                x->p.bytes_total = json_integer_value(json_object_get(d, "len"));
            } else if (name && (!strcmp(name, "BLOCK_JOB_COMPLETED") ||
                                !strcmp(name, "BLOCK_JOB_CANCELLED"))) {
                const char *err = json_string_value(json_object_get(d, "error"));
                snprintf(why, whylen, "mirror ended before READY (%s)%s%s", name, err ? ": " : "",
                         err ? err : "");
                res = WAIT_FAILED;
            } else if (name && !strcmp(name, "BLOCK_JOB_ERROR")) {
                /* the job's policy decides; with "report" a COMPLETED follows */
                done = false;
            } else {
                done = false;
            }
            json_decref(ev);
            if (done)
                return res;
            continue;
        }
        if (strcmp(qe.cls, "Timeout") != 0) {
            snprintf(why, whylen, "host daemon lost during the mirror: %.400s", qe.desc);
            return WAIT_FAILED;
        }
        if (stopping())
            return WAIT_INTERRUPTED;
        if (!swap_lease_valid(x->r))
            return WAIT_LEASE_LOST;
        if (api_now_ms() > deadline) {
            snprintf(why, whylen, "mirror did not reach READY within %d s",
                     swap_svc->ready_timeout_ms / 1000);
            return WAIT_FAILED;
        }
        sample(x);
    }
}

/* Waits for the end of the job after block-job-complete. 1 = pivoted,
 * 0 = ended without pivot, -1 = failed, -2 = the service is stopping. */
static int wait_pivot(struct run *x, char *why, size_t whylen)
{
    int64_t deadline = api_now_ms() + PIVOT_TIMEOUT_MS;
    while (api_now_ms() < deadline) {
        struct qmp_error qe;
        json_t *ev = host_session_next_event(x->hs, x->r->id, 200, &qe);
        if (!ev) {
            if (strcmp(qe.cls, "Timeout") != 0) {
                snprintf(why, whylen, "host daemon lost during the pivot: %.400s", qe.desc);
                return -1;
            }
            if (stopping())
                return -2;
            continue;
        }
        const char *name = json_string_value(json_object_get(ev, "event"));
        json_t *d = json_object_get(ev, "data");
        int rc = 2;
        if (name && !strcmp(name, "BLOCK_JOB_COMPLETED")) {
            const char *err = json_string_value(json_object_get(d, "error"));
            if (err)
                snprintf(why, whylen, "pivot failed: %s", err);
            rc = err ? 0 : 1;
        } else if (name && !strcmp(name, "BLOCK_JOB_CANCELLED")) {
            snprintf(why, whylen, "mirror cancelled during the pivot");
            rc = 0;
        }
        json_decref(ev);
        if (rc != 2)
            return rc;
    }
    snprintf(why, whylen, "no BLOCK_JOB_COMPLETED within %d s of block-job-complete",
             PIVOT_TIMEOUT_MS / 1000);
    return -1;
}

/* After a failure from COMPLETING on: the export's node says which side of
 * the pivot the host is on. */
/* How long a worker keeps trying to reach a host that went away after
 * block-job-complete (a daemon restarted from its state file answers). */
#define SETTLE_RETRY_MS 30000

static void settle_after_complete(struct run *x, const char *why)
{
    struct swap_rec *r = x->r;
    struct registry *reg = swap_svc->ctx->reg;
    const struct cfg_host *h = rec_host(r);
    int64_t deadline = api_now_ms() + SETTLE_RETRY_MS;
    for (;;) {
        struct api_error e = { 0 };
        char node[32] = "";
        struct reg_attachment a;
        int rc = -1;
        if (!host_session_dead(x->hs) &&
            reg->ops->attachment_get_by_id(reg, r->attachment_id, &a) == 0)
            rc = swap_export_node(x->hs, a.export_id, node, &e);
        if (rc == 0 && strcmp(node, r->new_node) == 0) {
            swap_mark(r, SP_PIVOTED);
            if (swap_finish(x->hs, r, &e) < 0)
                swap_log("%s: finishing after the pivot failed: %s (left for recovery)", r->id,
                         e.msg);
            return;
        }
        if (rc == 0 && strcmp(node, r->old_node) == 0) {
            swap_rollback(x->hs, r, why);
            return;
        }
        if (rc != -1 || api_now_ms() > deadline || stopping() || !h)
            break;
        if (lease_gone(r))
            return;
        /* the host is gone: wait for it to come back rather than guess */
        struct timespec ts = { 0, 500 * 1000 * 1000 };
        nanosleep(&ts, NULL);
        struct host_session *nh = host_session_get(h, &e);
        if (nh) {
            host_session_watch(x->hs, r->id, false);
            host_session_put(x->hs);
            x->hs = nh;
            host_session_watch(x->hs, r->id, true);
        }
    }
    snprintf(r->error, sizeof r->error, "%.400s (undecided: left for recovery)", why);
    swap_persist(r, r->phase);
    swap_log("%s: cannot tell which node the host serves: %s; left for recovery", r->id, why);
}

/* QEMU's mirror refuses a target whose size differs from the source's
 * ("Source and target image have different sizes"), so a larger new volume
 * is mirrored at the old size and grown after the pivot (Nova's resize_to).
 * The file is a fresh target: what lies past the old size is not data the
 * swap keeps. Block devices keep their size (they are at least as large). */
int swap_match_sizes(const struct swap_rec *r, const struct reg_volume *nv, struct api_error *e)
{
    struct stat so, sn;
    struct reg_volume ov;
    struct registry *reg = swap_svc->ctx->reg;
    if (r->new_size_gb <= r->old_size_gb || reg->ops->volume_get(reg, r->old_volume_id, &ov) != 0)
        return 0;
    if (stat(ov.path, &so) < 0 || stat(nv->path, &sn) < 0 || !S_ISREG(so.st_mode) ||
        !S_ISREG(sn.st_mode) || sn.st_size <= so.st_size)
        return 0;
    if (truncate(nv->path, so.st_size) < 0)
        return api_err(e, 500, "cannot size %s for the mirror: %s", nv->path, strerror(errno));
    return 0;
}

static void run_swap(struct run *x)
{
    struct swap_rec *r = x->r;
    char why[512] = "";
    struct api_error e = { 0 };
    const struct cfg_host *h = rec_host(r);
    const struct swap_driver *drv = h ? swap_driver_find(h->driver) : NULL;
    struct reg_volume nv;
    struct registry *reg = swap_svc->ctx->reg;
    r->started_mono_ms = x->p.started_ms;
    /* The swap's id is the request id of the PUT that asked for it. */
    qmp_set_request_tag(r->id);
    swap_event_start(r);
    if (h && strcmp(h->driver, "libvirt") == 0) {
        swap_libvirt_run(x->t, r, &x->p);
        return;
    }
    if (!drv) {
        swap_rollback(NULL, r, "the server's host is not configured");
        return;
    }
    if (reg->ops->volume_get(reg, r->new_volume_id, &nv) != 0) {
        swap_rollback(NULL, r, "the new volume's record is gone");
        return;
    }
    x->hs = host_session_get(h, &e);
    if (!x->hs) {
        swap_rollback(NULL, r, e.msg);
        return;
    }
    host_session_watch(x->hs, r->id, true);
    /* a swap recovery handed over in MIRRORING is a takeover of a job the
     * host still runs (recover.c): carried on, not started again */
    bool adopted = r->phase == SP_MIRRORING;
    if (adopted) {
        swap_log("%s: adopting the host's mirror job", r->id);
    } else {
        swap_mark(r, SP_TARGET_OPEN);
        if (swap_match_sizes(r, &nv, &e) < 0) {
            swap_rollback(x->hs, r, e.msg);
            return;
        }
        publish(x, SP_TARGET_OPEN);
        /* the job may start at once: be in MIRRORING before it can be seen (a
         * migration's status says so in the same transaction) */
        if (r->kind == SWAP_MIGRATE) {
            REG_TXN(txn, reg);
            if (reg_begin(&txn, &e) < 0 ||
                transition_in(reg, r, r->old_volume_id, VT_MIGRATION_MIGRATING, &e) < 0 ||
                swap_persist_in(reg, r, SP_MIRRORING, &e) < 0 || reg_commit(&txn, &e) < 0) {
                swap_rollback(x->hs, r, e.msg);
                return;
            }
            swap_mark(r, SP_MIRRORING);
        } else {
            swap_persist(r, SP_MIRRORING);
        }
        if (lease_gone(r))
            return;
        if (drv->start(x->hs, r, &nv, swap_svc->speed, &e) < 0) {
            swap_rollback(x->hs, r, e.msg);
            return;
        }
    }
    int64_t mirror_start = api_now_ms();
    publish(x, SP_MIRRORING);
    enum wait_result w = WAIT_OK;
    if (adopted) {
        /* the watch is on before the question: a READY after it arrives
         * as an event, one before it shows in the job's status */
        char st[32] = "";
        int64_t done = 0, total = 0;
        int jrc = swap_job_status(x->hs, r->id, st, &done, &total, &e);
        if (jrc != 0) {
            settle_after_complete(x, jrc < 0 ? e.msg : "the adopted mirror job is gone");
            return;
        }
        x->p.bytes_done = done;
        x->p.bytes_total = total;
        if (strcmp(st, "ready") != 0)
            w = wait_ready(x, why, sizeof why);
    } else {
        w = wait_ready(x, why, sizeof why);
    }
    if (w == WAIT_LEASE_LOST) {
        lease_gone(r);
        return;
    }
    if (w == WAIT_INTERRUPTED) {
        swap_log("%s: interrupted in %s; the next start recovers it", r->id,
                 swap_phase_name(r->phase));
        return;
    }
    if (w == WAIT_FAILED) {
        swap_rollback(x->hs, r, why);
        return;
    }
    x->p.ready_ms = api_now_ms() - x->p.started_ms;
    series_add(x, true);
    swap_mark(r, SP_READY);
    publish(x, SP_READY);
    swap_persist(r, SP_COMPLETING);
    if (lease_gone(r))
        return;
    publish(x, SP_COMPLETING);
    int64_t t0 = api_now_ms();
    x->pivot_start_ms = t0 - x->p.started_ms;
    json_t *a = json_pack("{s:s}", "device", r->id);
    int rc = swap_qmp_simple(x->hs, "block-job-complete", a, NULL, &e);
    json_decref(a);
    if (rc < 0) {
        settle_after_complete(x, e.msg);
        return;
    }
    rc = wait_pivot(x, why, sizeof why);
    if (rc == -2) {
        swap_log("%s: interrupted at the pivot; the next start recovers it", r->id);
        return;
    }
    int64_t t1 = api_now_ms();
    x->pivot_end_ms = t1 - x->p.started_ms;
    r->pivot_ms = t1 - t0;
    r->mirror_ms = t1 - mirror_start;
    x->p.pivot_ms = r->pivot_ms;
    x->p.bytes_done = x->p.bytes_total;
    series_add(x, true);
    if (rc != 1) {
        settle_after_complete(x, why);
        return;
    }
    swap_mark(r, SP_PIVOTED);
    publish(x, SP_PIVOTED);
    if (swap_finish(x->hs, r, &e) < 0)
        swap_log("%s: finishing after the pivot failed: %s (left for recovery)", r->id, e.msg);
}

void *swap_worker_main(void *arg)
{
    struct swap_task *t = arg;
    struct run x;
    memset(&x, 0, sizeof x);
    x.t = t;
    x.r = &t->rec;
    /* the swap's id is the request id of the PUT that started it */
    vs_log_set_request(t->rec.id, NULL);
    pthread_mutex_lock(&swap_svc->lock);
    x.p = t->prog;
    pthread_mutex_unlock(&swap_svc->lock);
    swap_lease_hold(&t->rec, x.p.started_ms);
    run_swap(&x);
    if (swap_lease_valid(&t->rec))
        series_save(&x);
    else
        json_decref(x.samples);
    if (x.hs) {
        host_session_watch(x.hs, t->rec.id, false);
        host_session_put(x.hs);
    }
    /* finished, or left unsettled: either way no longer driven here */
    swap_lease_release(&t->rec);
    pthread_mutex_lock(&swap_svc->lock);
    t->prog.phase = t->rec.phase;
    t->finished = true;
    pthread_mutex_unlock(&swap_svc->lock);
    return NULL;
}
