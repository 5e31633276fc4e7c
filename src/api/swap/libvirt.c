/* The swap on a libvirt host: LibvirtDriver._swap_volume of the trace, on
 * the same persisted phases as the QMP drivers (worker.c), safely:
 *   MIRRORING   virDomainBlockCopy(REUSE_EXT | TRANSIENT_JOB) of the disk
 *               to the new volume: the persistent domain is never undefined
 *               (TRANSIENT_JOB is what lets libvirt copy a persistent
 *               domain's disk), and at the pivot libvirt itself rewrites the
 *               disk's source in the persistent definition -- no definition
 *               saved before the copy is ever written back;
 *   READY       from VIR_DOMAIN_EVENT_ID_BLOCK_JOB_2 on libvirt's event loop
 *               thread, not by polling; virDomainGetBlockJobInfo only feeds
 *               the progress figures;
 *   COMPLETING  virDomainBlockJobAbort(PIVOT | ASYNC), and the job's end
 *               from the same events: libvirt sends the end event once the
 *               guest runs on the new volume and the old nodes are gone,
 *               then still writes its status file and the persistent
 *               definition and answers; the synchronous call waits for all
 *               of that, the swap only for the event. The disk's live
 *               source then says which volume the guest runs on;
 *   then virDomainBlockResize when the new volume is larger, and the
 *   registry (swap_finish).
 * Rollback before the pivot is an abort without PIVOT. After a failed pivot
 * the disk's live source decides (new: finish; old: roll back), as after a
 * crash at recovery: libvirt's view (a job on the disk? which source?) is
 * the truth the persisted phase is reconciled with. */
#include "swap.h"

#include <errno.h>
#include <libvirt/virterror.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SAMPLE_MS 100
/* How long a pivot may take before the swap is left for recovery: QEMU's
 * last copy and libvirt's bookkeeping (old nodes deleted, status and
 * definition saved) take tens of milliseconds; a libvirtd restarted in
 * between takes seconds. */
#define PIVOT_WAIT_MS 60000

/* What the block-job events said about one disk: filled on libvirt's
 * event loop thread, read by the swap worker. */
struct mailbox {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    char target[32];
    int status; /* last virConnectDomainEventBlockJobStatus, -1 none */
    int end;    /* the first COMPLETED, FAILED or CANCELED since armed, -1 none */
};

static bool job_ended(int status)
{
    return status == VIR_DOMAIN_BLOCK_JOB_COMPLETED || status == VIR_DOMAIN_BLOCK_JOB_FAILED ||
           status == VIR_DOMAIN_BLOCK_JOB_CANCELED;
}

static void on_block_job(virConnectPtr conn, virDomainPtr dom, const char *disk, int type,
                         int status, void *opaque)
{
    (void)conn;
    (void)dom;
    (void)type;
    struct mailbox *mb = opaque;
    if (!disk || strcmp(disk, mb->target) != 0)
        return;
    pthread_mutex_lock(&mb->lock);
    mb->status = status;
    /* sticky: a READY after the end (libvirt re-reports states while it
     * pivots) must not hide it */
    if (mb->end < 0 && job_ended(status))
        mb->end = status;
    pthread_cond_broadcast(&mb->cond);
    pthread_mutex_unlock(&mb->lock);
}

/* Waits up to MS for an event; the last status seen (-1 none). */
static int mailbox_wait(struct mailbox *mb, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&mb->lock);
    if (mb->status < 0)
        pthread_cond_timedwait(&mb->cond, &mb->lock, &ts);
    int st = mb->status;
    mb->status = -1;
    pthread_mutex_unlock(&mb->lock);
    return st;
}

/* Forgets an earlier end before a pivot is asked for. */
static void mailbox_arm(struct mailbox *mb)
{
    pthread_mutex_lock(&mb->lock);
    mb->end = -1;
    mb->status = -1;
    pthread_mutex_unlock(&mb->lock);
}

/* Waits up to MS for the job's end: its status, or -1 when none came. */
static int mailbox_wait_end(struct mailbox *mb, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&mb->lock);
    while (mb->end < 0)
        if (pthread_cond_timedwait(&mb->cond, &mb->lock, &ts) == ETIMEDOUT)
            break;
    int st = mb->end;
    pthread_mutex_unlock(&mb->lock);
    return st;
}

/* The pieces of a swap on its host: domain, disk, and both volumes'
 * sources as the disk's <source> names them: paths, or on a host whose
 * volswapd serves the volumes (NBD) the export names, which are the
 * nodes' names. */
struct lvswap {
    const struct cfg_host *h;
    virDomainPtr dom;
    bool nbd;
    /* the storage hosts of the old and new volumes when not the domain's
     * (their disks are network disks on those hosts' exports), else NULL */
    const struct cfg_host *oh, *nh;
    char target[32];
    char old_path[1024], new_path[1024];
};

static int lvswap_open(struct lvswap *s, const struct swap_rec *r, struct api_error *e)
{
    struct registry *reg = swap_svc->ctx->reg;
    memset(s, 0, sizeof *s);
    s->h = config_host(swap_svc->ctx->cfg, r->host);
    if (!s->h)
        return api_err(e, 500, "the server's host is not configured");
    struct reg_attachment a;
    struct reg_volume ov, nv;
    if ((reg->ops->attachment_get_by_id(reg, r->attachment_id, &a) != 0 &&
         reg->ops->attachment_get(reg, r->server_id, r->new_volume_id, &a) != 0) ||
        reg->ops->volume_get(reg, r->old_volume_id, &ov) != 0)
        return api_err(e, 500, "registry: the swap's records are gone");
    /* a migration's temporary record goes once recorded: then the old
     * volume's record holds the new storage */
    const struct api_config *cfg = swap_svc->ctx->cfg;
    if (reg->ops->volume_get(reg, r->new_volume_id, &nv) == 0) {
        snprintf(s->new_path, sizeof s->new_path, "%s", nv.path);
        snprintf(s->old_path, sizeof s->old_path, "%s", ov.path);
        s->nh = swap_remote_host(r, nv.host);
        s->oh = swap_remote_host(r, ov.host);
    } else {
        snprintf(s->new_path, sizeof s->new_path, "%s", ov.path);
        snprintf(s->old_path, sizeof s->old_path, "%s", r->old_path);
        s->nh = swap_remote_host(r, ov.host);
        const struct cfg_host *o = r->old_path[0] ? host_of_path(cfg, r->old_path, NULL) : NULL;
        s->oh = o ? swap_remote_host(r, o->name) : NULL;
    }
    /* a network disk's source is the export's name, which is the node's */
    s->nbd = hlv_nbd_mode(s->h);
    if (s->nbd || s->nh)
        snprintf(s->new_path, sizeof s->new_path, "%s", r->new_node);
    if (s->nbd || s->oh)
        snprintf(s->old_path, sizeof s->old_path, "%s", r->old_node);
    if (strncmp(a.device, "/dev/", 5) != 0)
        return api_err(e, 500, "attachment %s has no device", a.id);
    snprintf(s->target, sizeof s->target, "%.31s", a.device + 5);
    s->dom = hlv_domain(s->h, r->server_id, e);
    return s->dom ? 0 : -1;
}

static void lvswap_close(struct lvswap *s)
{
    if (s->dom)
        virDomainFree(s->dom);
    s->dom = NULL;
}

/* Ends the copy without a pivot; no job is fine. */
static void abort_copy(struct lvswap *s, const struct swap_rec *r)
{
    virDomainBlockJobInfo info;
    if (virDomainGetBlockJobInfo(s->dom, s->target, &info, 0) != 1)
        return;
    if (virDomainBlockJobAbort(s->dom, s->target, 0) < 0) {
        swap_log("%s: abort of the copy of %s: %s (the host reconciler ends it)", r->id, s->target,
                 virGetLastErrorMessage());
        swap_reconcile_mark(r->host);
    }
}

/* A rollback: the registry's side, and on an NBD host the new volume's
 * export and node closed (nothing else uses them). */
static void rollback(struct lvswap *s, struct swap_rec *r, const char *why)
{
    struct api_error e = { 0 };
    /* (another host's export of it goes in swap_rollback) */
    if (s->h && s->nbd && !s->nh && hlv_nbd_close(s->h, r->new_node, &e) < 0) {
        swap_log("%s: closing the new volume's export: %s (the host reconciler closes it)", r->id,
                 e.msg);
        swap_reconcile_mark(r->host);
    }
    swap_rollback(NULL, r, why);
}

static void grow(struct lvswap *s, struct swap_rec *r)
{
    if (r->new_size_gb <= r->old_size_gb)
        return;
    if (s->nbd || s->nh) {
        /* QEMU's NBD client reads an export's size when it connects: the
         * export grows now, the guest sees it from its next boot */
        struct api_error e = { 0 };
        const struct cfg_host *eh = s->nh ? s->nh : s->h;
        const struct host_driver *qd = host_driver_find(s->nh ? s->nh->driver : "volswapd");
        if (!qd || qd->resize(eh, r->new_node, (uint64_t)r->new_size_gb << 30, &e) < 0)
            swap_log("%s: growing %s: %s (the volume keeps working at the old size)", r->id,
                     r->new_node, e.msg);
        return;
    }
    if (virDomainBlockResize(s->dom, s->target, (unsigned long long)r->new_size_gb << 30,
                             VIR_DOMAIN_BLOCK_RESIZE_BYTES) < 0)
        swap_log("%s: blockResize of %s: %s (the volume keeps working at the old size)", r->id,
                 s->target, virGetLastErrorMessage());
}

/* The pivot's outcome from the disk's live source: 1 new, 0 old, -1 neither
 * or unknown. */
static int which_side(struct lvswap *s)
{
    char src[1024];
    struct api_error e = { 0 };
    if (hlv_disk_source(s->dom, s->target, false, src, sizeof src, &e) != 0)
        return -1;
    if (strcmp(src, s->new_path) == 0)
        return 1;
    if (strcmp(src, s->old_path) == 0)
        return 0;
    return -1;
}

static void check_definition(struct lvswap *s, const struct swap_rec *r)
{
    char src[1024] = "";
    struct api_error e = { 0 };
    if (virDomainIsPersistent(s->dom) == 1 &&
        hlv_disk_source(s->dom, s->target, true, src, sizeof src, &e) == 0 &&
        strcmp(src, s->new_path) != 0)
        swap_log("%s: the persistent definition of %s still names %s", r->id, s->target, src);
}

static void publish(struct swap_task *t, struct swap_progress *p, struct swap_rec *r,
                    enum swap_phase ph)
{
    p->phase = ph;
    r->bytes_done = p->bytes_done;
    r->bytes_total = p->bytes_total;
    swap_progress_set(t, p);
}

static void sample(struct lvswap *s, struct swap_progress *p, int64_t *last_ms, int64_t *last_done)
{
    virDomainBlockJobInfo info;
    if (virDomainGetBlockJobInfo(s->dom, s->target, &info, 0) != 1)
        return;
    int64_t now = api_now_ms(), done = (int64_t)info.cur;
    /* the first sample has no earlier one: its rate is the average since
     * the swap started, never 0 B/s beside bytes already copied */
    int64_t since = *last_ms ? *last_ms : p->started_ms;
    int64_t base = *last_ms ? *last_done : 0;
    if (since && now > since && done >= base) {
        double inst = (double)(done - base) * 1000.0 / (double)(now - since);
        p->rate = p->rate > 0 ? 0.7 * p->rate + 0.3 * inst : inst;
    }
    *last_ms = now;
    *last_done = done;
    p->bytes_done = done;
    p->bytes_total = (int64_t)info.end;
}

static bool stopping(void)
{
    pthread_mutex_lock(&swap_svc->lock);
    bool st = swap_svc->stopping;
    pthread_mutex_unlock(&swap_svc->lock);
    return st;
}

/* The attachment's connection_info after the pivot: what a consumer of
 * the new volume connects to (its export on this host's volswapd or on
 * its storage host, or its file). swap_finish already named the new node
 * and storage host (data.storage). */
static void point_connection_info(const struct lvswap *s, json_t *ci,
                                  const struct reg_attachment *a, const struct swap_rec *r)
{
    static const char *const nbd_keys[] = { "uri", "socket", "host", "port", "tls", "name" };
    json_t *d = json_object_get(ci, "data");
    if (!json_is_object(d))
        return;
    for (size_t i = 0; i < sizeof nbd_keys / sizeof nbd_keys[0]; i++)
        json_object_del(d, nbd_keys[i]);
    if (s->nbd || s->nh) {
        json_t *nd = hlv_nbd_data(s->nh ? s->nh : s->h, r->new_node);
        json_object_update(d, nd);
        json_decref(nd);
        if (!s->nh) {
            char id[40];
            hlv_nbd_export_id(r->new_node, id);
            json_object_set_new(d, "export_id", json_string(id));
        }
        json_object_del(d, "device_path");
        json_object_set_new(ci, "driver_volume_type", json_string("nbd"));
    } else {
        json_object_set_new(d, "device_path", json_string(s->new_path));
        json_object_set_new(d, "export_name", json_string(a->export_name));
        json_object_set_new(ci, "driver_volume_type", json_string("local"));
    }
}

/* After the pivot: grow, record, done. */
static void finish(struct lvswap *s, struct swap_rec *r)
{
    struct api_error e = { 0 };
    grow(s, r);
    check_definition(s, r);
    if (swap_finish(NULL, r, &e) < 0) {
        swap_log("%s: finishing after the pivot failed: %s (left for recovery)", r->id, e.msg);
        return;
    }
    /* the guest is on the new volume: the old one's export goes, from
     * its storage host or from this host's volswapd, with its node */
    if (s->oh)
        swap_release_storage(r, s->oh->name, r->old_node);
    else if (s->nbd && hlv_nbd_close(s->h, r->old_node, &e) < 0)
        swap_log("%s: closing the old volume's export: %s", r->id, e.msg);
    if (!s->nbd && !s->oh && !s->nh)
        return; /* file to file: swap_finish named the new file */
    e.msg[0] = '\0';
    struct registry *reg = swap_svc->ctx->reg;
    REG_TXN(txn, reg);
    struct reg_attachment a;
    if (reg_begin(&txn, &e) < 0 ||
        (reg->ops->attachment_get_by_id(reg, r->attachment_id, &a) != 0 &&
         reg->ops->attachment_get(reg, r->server_id, r->new_volume_id, &a) != 0))
        return;
    json_error_t jerr;
    json_t *ci = json_loads(a.connection_info, 0, &jerr);
    point_connection_info(s, ci, &a, r);
    char *txt = ci ? json_dumps(ci, JSON_COMPACT) : NULL;
    if (txt && strlen(txt) < sizeof a.connection_info) {
        snprintf(a.connection_info, sizeof a.connection_info, "%s", txt);
        if (reg->ops->attachment_update(reg, &a) < 0)
            reg_fail(&e, reg);
        else
            reg_commit(&txn, &e);
    }
    free(txt);
    json_decref(ci);
    if (e.msg[0])
        swap_log("%s: the attachment's connection_info: %s", r->id, e.msg);
}

/* A failure from COMPLETING on: the disk's source says what happened. */
static void settle(struct lvswap *s, struct swap_rec *r, const char *why)
{
    int side = which_side(s);
    if (side == 1) {
        swap_mark(r, SP_PIVOTED);
        finish(s, r);
    } else if (side == 0) {
        abort_copy(s, r);
        rollback(s, r, why);
    } else {
        snprintf(r->error, sizeof r->error, "%.400s (undecided: left for recovery)", why);
        swap_persist(r, r->phase);
        swap_log("%s: cannot tell which volume %s runs on: %s; left for recovery", r->id, s->target,
                 why);
    }
}

/* A new connection to the host and the domain on it, with the block-job
 * events registered again: 0, or -1 while libvirtd is still away. */
static int reattach(struct lvswap *s, const struct swap_rec *r, struct mailbox *mb,
                    virConnectPtr *conn, int *cb)
{
    struct api_error e = { 0 };
    virDomainPtr d = hlv_domain(s->h, r->server_id, &e);
    if (!d)
        return -1;
    virConnectPtr nc = virDomainGetConnect(d);
    int ncb = virConnectDomainEventRegisterAny(nc, d, VIR_DOMAIN_EVENT_ID_BLOCK_JOB_2,
                                               VIR_DOMAIN_EVENT_CALLBACK(on_block_job), mb, NULL);
    if (ncb < 0) {
        virDomainFree(d);
        return -1;
    }
    virConnectDomainEventDeregisterAny(*conn, *cb); /* fails on the dead one: fine */
    virDomainFree(s->dom);
    s->dom = d;
    *conn = nc;
    *cb = ncb;
    swap_log("%s: reconnected to libvirt on %s during the copy", r->id, s->h->name);
    return 0;
}

/* After virDomainBlockJobAbort(PIVOT | ASYNC): waits for the copy job's
 * end event. Without it (lost, or libvirtd restarted meanwhile: then a
 * new connection), once a second libvirt is asked: the job gone and the
 * disk on the new volume is an end too. The job gone and the disk still
 * on the old volume is not: with ASYNC, QEMU's job can be gone before
 * libvirt's worker has switched the disk over, so that is waited out like
 * a job still running. 0 ended (the disk's live source tells how), -1
 * not within PIVOT_WAIT_MS (recovery decides, once libvirt has settled). */
static int wait_pivot(struct lvswap *s, const struct swap_rec *r, struct mailbox *mb,
                      virConnectPtr *conn, int *cb)
{
    int64_t start = api_now_ms(), asked = start;
    while (api_now_ms() - start < PIVOT_WAIT_MS) {
        if (mailbox_wait_end(mb, SAMPLE_MS) >= 0)
            return 0;
        bool alive = virConnectIsAlive(*conn) == 1;
        if (!alive && reattach(s, r, mb, conn, cb) < 0)
            continue;
        if (alive && api_now_ms() - asked < 1000)
            continue;
        asked = api_now_ms();
        virDomainBlockJobInfo info;
        if (virDomainGetBlockJobInfo(s->dom, s->target, &info, 0) == 0 && which_side(s) == 1)
            return 0;
    }
    return -1;
}

static void run(struct swap_task *t, struct swap_rec *r, struct swap_progress *p, struct lvswap *s,
                struct mailbox *mb)
{
    struct api_error e = { 0 };
    char why[512] = "";
    if (lvswap_open(s, r, &e) < 0) {
        rollback(s, r, e.msg);
        return;
    }
    memcpy(mb->target, s->target, sizeof mb->target);
    swap_mark(r, SP_TARGET_OPEN);
    struct reg_volume nv;
    if (swap_svc->ctx->reg->ops->volume_get(swap_svc->ctx->reg, r->new_volume_id, &nv) != 0 ||
        swap_match_sizes(r, &nv, &e) < 0) {
        rollback(s, r, e.msg[0] ? e.msg : "the new volume's record is gone");
        return;
    }
    /* on an NBD host the copy's destination is the new volume's export,
     * writable whatever its readonly flag (the copy writes to it) */
    nv.readonly = -1;
    if (s->nh ? host_storage_check(s->h, s->nh, &e) < 0 ||
                    host_storage_export(s->nh, nv.path, r->new_node, &e) < 0
              : s->nbd && hlv_nbd_open(s->h, &nv, r->new_node, NULL, &e) < 0) {
        rollback(s, r, e.msg);
        return;
    }
    publish(t, p, r, SP_TARGET_OPEN);
    virConnectPtr conn = virDomainGetConnect(s->dom);
    int cb = virConnectDomainEventRegisterAny(conn, s->dom, VIR_DOMAIN_EVENT_ID_BLOCK_JOB_2,
                                              VIR_DOMAIN_EVENT_CALLBACK(on_block_job), mb, NULL);
    if (cb < 0) {
        hlv_fail(&e, s->h->name, "block job events");
        rollback(s, r, e.msg);
        return;
    }
    if (r->kind == SWAP_MIGRATE)
        vol_transition_apply(swap_svc->ctx->reg, r->old_volume_id, VT_MIGRATION_MIGRATING, false,
                             NULL, NULL);
    swap_persist(r, SP_MIRRORING);
    char dest[4096];
    virTypedParameter par[1];
    int npar = 0;
    if (swap_svc->speed > 0) {
        memset(par, 0, sizeof par);
        snprintf(par[0].field, sizeof par[0].field, "%s", VIR_DOMAIN_BLOCK_COPY_BANDWIDTH);
        par[0].type = VIR_TYPED_PARAM_ULLONG;
        par[0].value.ul = (unsigned long long)swap_svc->speed;
        npar = 1;
    }
    int64_t mirror_start = api_now_ms();
    if ((s->nh ? hlv_network_dest_xml(s->nh, r->new_node, dest, sizeof dest)
               : hlv_copy_dest_xml(s->h, s->new_path, r->new_node, dest, sizeof dest)) < 0 ||
        virDomainBlockCopy(s->dom, s->target, dest, par, npar,
                           VIR_DOMAIN_BLOCK_COPY_REUSE_EXT | VIR_DOMAIN_BLOCK_COPY_TRANSIENT_JOB) <
            0) {
        hlv_fail(&e, s->h->name, "blockCopy");
        virConnectDomainEventDeregisterAny(conn, cb);
        rollback(s, r, e.msg);
        return;
    }
    publish(t, p, r, SP_MIRRORING);
    int64_t deadline = api_now_ms() + swap_svc->ready_timeout_ms, last_ms = 0, last_done = 0;
    bool ready = false, polled = false;
    while (!ready && !why[0]) {
        int st = mailbox_wait(mb, SAMPLE_MS);
        if (st == VIR_DOMAIN_BLOCK_JOB_READY) {
            ready = true;
        } else if (st == VIR_DOMAIN_BLOCK_JOB_FAILED || st == VIR_DOMAIN_BLOCK_JOB_CANCELED ||
                   st == VIR_DOMAIN_BLOCK_JOB_COMPLETED) {
            snprintf(why, sizeof why, "the block copy of %s ended before it was ready (%s)",
                     s->target, st == VIR_DOMAIN_BLOCK_JOB_FAILED ? "failed" : "cancelled");
        } else if (stopping()) {
            virConnectDomainEventDeregisterAny(conn, cb);
            swap_log("%s: interrupted in %s; the next start recovers it", r->id,
                     swap_phase_name(r->phase));
            return;
        } else if (api_now_ms() > deadline) {
            snprintf(why, sizeof why, "the block copy did not become ready within %d s",
                     swap_svc->ready_timeout_ms / 1000);
        } else if (virConnectIsAlive(conn) != 1) {
            /* libvirtd went away (restart): QEMU keeps copying; once
             * libvirtd is back, a new connection and new event registration,
             * and the job's figures stand in for a READY event that may have
             * come while nobody listened */
            if (reattach(s, r, mb, &conn, &cb) == 0) {
                polled = true;
                virDomainBlockJobInfo info;
                if (virDomainGetBlockJobInfo(s->dom, s->target, &info, 0) == 0)
                    snprintf(why, sizeof why,
                             "the block copy of %s is gone after libvirtd restarted", s->target);
            }
        } else {
            sample(s, p, &last_ms, &last_done);
            publish(t, p, r, SP_MIRRORING);
            if (polled && p->bytes_total > 0 && p->bytes_done == p->bytes_total)
                ready = true;
        }
    }
    if (!ready) {
        virConnectDomainEventDeregisterAny(conn, cb);
        abort_copy(s, r);
        rollback(s, r, why);
        return;
    }
    sample(s, p, &last_ms, &last_done);
    p->ready_ms = api_now_ms() - p->started_ms;
    swap_mark(r, SP_READY);
    publish(t, p, r, SP_READY);
    swap_persist(r, SP_COMPLETING);
    publish(t, p, r, SP_COMPLETING);
    mailbox_arm(mb);
    int64_t t0 = api_now_ms();
    int rc = virDomainBlockJobAbort(
        s->dom, s->target, VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT | VIR_DOMAIN_BLOCK_JOB_ABORT_ASYNC);
    if (rc < 0)
        hlv_fail(&e, s->h->name, "pivot");
    bool ended = rc < 0 || wait_pivot(s, r, mb, &conn, &cb) == 0;
    int64_t t1 = api_now_ms();
    virConnectDomainEventDeregisterAny(conn, cb);
    r->pivot_ms = t1 - t0;
    r->mirror_ms = t1 - mirror_start;
    p->pivot_ms = r->pivot_ms;
    if (!ended) {
        /* QEMU may still switch the guest over: neither a rollback nor a
         * finish is safe until libvirt says which it did */
        snprintf(r->error, sizeof r->error,
                 "the pivot of %s did not end within %d s (undecided: left for recovery)",
                 s->target, PIVOT_WAIT_MS / 1000);
        swap_persist(r, r->phase);
        swap_log("%s: %s", r->id, r->error);
        return;
    }
    if (rc < 0 || which_side(s) != 1) {
        settle(s, r, rc < 0 ? e.msg : "the disk is not on the new volume after the pivot");
        return;
    }
    swap_mark(r, SP_PIVOTED);
    publish(t, p, r, SP_PIVOTED);
    finish(s, r);
}

void swap_libvirt_run(struct swap_task *t, struct swap_rec *r, struct swap_progress *p)
{
    struct lvswap s;
    memset(&s, 0, sizeof s);
    struct mailbox mb;
    memset(&mb, 0, sizeof mb);
    pthread_mutex_init(&mb.lock, NULL);
    pthread_cond_init(&mb.cond, NULL);
    mb.status = -1;
    mb.end = -1;
    run(t, r, p, &s, &mb);
    lvswap_close(&s);
    pthread_cond_destroy(&mb.cond);
    pthread_mutex_destroy(&mb.lock);
}

void swap_libvirt_recover(struct swap_rec *r)
{
    struct lvswap s;
    struct api_error e = { 0 };
    if (lvswap_open(&s, r, &e) < 0) {
        lvswap_close(&s);
        if (r->phase < SP_COMPLETING) {
            /* libvirtd away: the copy may still run in QEMU; the host
             * reconciler ends it (no pivot) once libvirtd answers */
            rollback(&s, r, e.msg);
            swap_reconcile_mark(r->host);
        } else
            swap_log("%s: %s; left for the next start", r->id, e.msg);
        return;
    }
    if (r->phase == SP_RECORDED) {
        finish(&s, r);
        lvswap_close(&s);
        return;
    }
    virDomainBlockJobInfo info;
    int job = virDomainGetBlockJobInfo(s.dom, s.target, &info, 0);
    int side = which_side(&s);
    swap_log("%s: libvirt says: %s copy job on %s, disk on the %s volume", r->id,
             job == 1 ? "a" : "no", s.target,
             side == 1   ? "new"
             : side == 0 ? "old"
                         : "unknown");
    if (side == 1) {
        swap_mark(r, SP_PIVOTED);
        finish(&s, r);
    } else if (side == 0) {
        if (job == 1)
            abort_copy(&s, r);
        rollback(&s, r,
                 r->phase < SP_COMPLETING
                     ? "volswap-api restarted before the pivot"
                     : "volswap-api restarted during the pivot; the disk is on the old volume");
    } else {
        swap_log("%s: the domain's disk is on neither volume; left for the next start", r->id);
    }
    lvswap_close(&s);
}
