/* The doors into the swap workflow:
 *   PUT /v2.1/servers/{id}/os-volume_attachments/{volume_id}
 *     Nova's VolumeAttachmentController.update and compute API swap_volume:
 *     the body schema per microversion (only volumeId before 2.85), the
 *     swap policy (admin or service) or, from 2.85 with an unchanged
 *     volumeId, the update policy and a delete_on_termination update; then
 *     Nova's checks in Nova's order with its codes and messages, Cinder's
 *     begin_detaching + reserve, the swap_volume instance action, a
 *     persisted swap record, a worker, and 202 with no body.
 *   GET  .../os-volume_attachments/{volume_id}/swap-progress
 *     volswap's extension: the live (or last) swap of that volume.
 *   POST /v3/{project}/volumes/{id}/action {"os-migrate_volume": {"host"}}
 *     Cinder's migrate_volume for an attached volume: a destination volume
 *     in the target pool, the same swap, and migrate_volume_completion.
 * Checks and the launch happen under one lock so that two requests cannot
 * both start a swap on one server, and so that a server's delete and a
 * swap of it are ordered: the delete marks the server (task_state
 * "deleting") under the lock only when no swap of it runs or is unfinished,
 * and a swap's checks under the lock read that mark. */
#include "rest.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static pthread_mutex_t accept_lock = PTHREAD_MUTEX_INITIALIZER;

/* Nova's swap rule defaults to admin or the service role. */
static int swap_policy(struct api_request *rq)
{
    if (auth_has_role(&rq->auth, "service"))
        return 0;
    return policy_check(&rq->auth, "os_compute_api:os-volumes-attachments:swap", NULL, &rq->err);
}

/* compute API's check_instance_lock + check_instance_state(ACTIVE, PAUSED,
 * RESIZED, task_state None). */
static int check_swap_state(struct api_request *rq, const struct reg_server *s)
{
    if (s->locked && !auth_has_role(&rq->auth, "admin"))
        return api_err(&rq->err, 409, "Instance %s is locked", s->id);
    bool ok = !strcmp(s->vm_state, "active") || !strcmp(s->vm_state, "paused") ||
              !strcmp(s->vm_state, "resized");
    if (ok && !s->task_state[0])
        return 0;
    if (ok)
        return api_err(&rq->err, 409,
                       "Cannot 'swap_volume' instance %s while it is in "
                       "task_state %s",
                       s->id, s->task_state);
    return api_err(&rq->err, 409, "Cannot 'swap_volume' instance %s while it is in vm_state %s",
                   s->id, s->vm_state);
}

/* A swap of the server that is still running, or unfinished in the store
 * (left for recovery), blocks another. */
static int check_not_swapping(struct api_request *rq, const struct reg_server *s,
                              const char *volume_id)
{
    /* read again under the lock: a delete may have marked it since */
    struct reg_server now;
    struct registry *r = rq->ctx->reg;
    int grc = r->ops->server_get(r, s->id, &now);
    if (grc < 0)
        return reg_fail(&rq->err, r);
    if (grc == 1 || nova_server_deleted(&now))
        return api_err(&rq->err, 404, "Instance %s could not be found.", s->id);
    if (strcmp(now.task_state, "deleting") == 0)
        return api_err(&rq->err, 409,
                       "Cannot 'swap_volume' instance %s while it is in "
                       "task_state deleting",
                       s->id);
    if (swap_server_busy(s->id))
        return api_err(&rq->err, 409,
                       "Cannot 'swap_volume' instance %s while another volume "
                       "swap is in progress on it",
                       s->id);
    struct swap_rec last;
    int rc = swap_store_latest(r, s->id, volume_id, &last, &rq->err);
    if (rc < 0)
        return -1;
    if (rc == 0 && last.phase != SP_DONE && last.phase != SP_ROLLED_BACK)
        return api_err(&rq->err, 409,
                       "Cannot 'swap_volume' instance %s while the volume swap "
                       "%s is unfinished (phase %s)",
                       s->id, last.id, swap_phase_name(last.phase));
    return 0;
}

/* The servers whose delete runs in this process (under accept_lock). A
 * server found "deleting" but not here was left so by a crash, and its
 * delete may be run again. */
struct deleting {
    char id[37];
    struct deleting *next;
};
static struct deleting *deleting;

/* Is a swap of SERVER_ID unfinished in the registry (left for recovery)?
 * 1 yes (ID and PHASE name it), 0 no, -1 error. */
static int unfinished_swap_of(struct api_request *rq, const char *server_id, char id[64],
                              enum swap_phase *phase)
{
    struct swap_rec *open_recs = NULL;
    size_t n = 0;
    if (swap_store_unfinished(rq->ctx->reg, &open_recs, &n, &rq->err) < 0)
        return -1;
    int found = 0;
    for (size_t i = 0; i < n && !found; i++)
        if (strcmp(open_recs[i].server_id, server_id) == 0) {
            memcpy(id, open_recs[i].id, 64);
            *phase = open_recs[i].phase;
            found = 1;
        }
    free(open_recs);
    return found;
}

int swap_claim_for_delete(struct api_request *rq, const char *server_id)
{
    API_LOCK_SCOPE(&accept_lock);
    for (struct deleting *d = deleting; d; d = d->next)
        if (strcmp(d->id, server_id) == 0)
            return api_err(&rq->err, 409,
                           "Cannot 'delete' instance %s while it is in task_state "
                           "deleting",
                           server_id);
    if (swap_server_busy(server_id))
        return api_err(&rq->err, 409,
                       "Cannot 'delete' instance %s while a volume swap is in "
                       "progress on it",
                       server_id);
    char open_id[64];
    enum swap_phase open_phase;
    int found = unfinished_swap_of(rq, server_id, open_id, &open_phase);
    if (found < 0)
        return -1;
    if (found)
        return api_err(&rq->err, 409,
                       "Cannot 'delete' instance %s while the volume swap %s is "
                       "unfinished (phase %s)",
                       server_id, open_id, swap_phase_name(open_phase));
    struct deleting *d = calloc(1, sizeof *d);
    if (!d)
        return api_err(&rq->err, 500, "out of memory");
    snprintf(d->id, sizeof d->id, "%s", server_id);
    if (nova_set_task_state(rq, server_id, "deleting") < 0) {
        free(d);
        return -1;
    }
    d->next = deleting;
    deleting = d;
    return 0;
}

void swap_release_delete(const char *server_id)
{
    API_LOCK_SCOPE(&accept_lock);
    for (struct deleting **p = &deleting; *p; p = &(*p)->next)
        if (strcmp((*p)->id, server_id) == 0) {
            struct deleting *d = *p;
            *p = d->next;
            free(d);
            return;
        }
}

static int load_volume(struct api_request *rq, const char *id, int status_if_missing,
                       struct reg_volume *v)
{
    struct registry *r = rq->ctx->reg;
    int rc = r->ops->volume_get(r, id, v);
    if (rc < 0)
        return reg_fail(&rq->err, r);
    if (rc == 1 ||
        (!auth_has_role(&rq->auth, "admin") && strcmp(v->project_id, rq->auth.project_id) != 0))
        return api_err(&rq->err, status_if_missing, "Volume %.64s could not be found.", id);
    return 0;
}

/* The registry side of accepting a swap, in one transaction: Cinder's
 * begin_detaching of the old volume and reserve of the new one, the
 * swap_volume instance action, and the swap record in ACCEPTED. A
 * migration (TV and POOL given) first marks the old volume's
 * migration_status "starting", creates the destination's storage on POOL
 * and adds its record TV (path filled in). All or nothing: storage whose
 * record did not commit is removed again, and a process killed half-way
 * leaves no state marked (the soak once found "starting" stranded when
 * the mark committed on its own). */
static int accept_swap_txn(struct api_request *rq, struct swap_rec *sr, struct reg_volume *tv,
                           const struct cfg_pool *pool)
{
    struct registry *r = rq->ctx->reg;
    struct reg_action act;
    api_time_micro(time(NULL), sr->started_at);
    memcpy(sr->updated_at, sr->started_at, sizeof sr->updated_at);
    sr->phase = SP_ACCEPTED;
    REG_TXN(txn, r);
    if (reg_begin(&txn, &rq->err) < 0)
        return -1;
    /* again inside the transaction, which every node's writers take in
     * turn: a swap of this server another node accepted meanwhile */
    char open_id[64];
    enum swap_phase open_phase;
    int busy = unfinished_swap_of(rq, sr->server_id, open_id, &open_phase);
    if (busy < 0)
        return -1;
    if (busy)
        return api_err(&rq->err, 409,
                       "Cannot 'swap_volume' instance %s while another volume swap is in "
                       "progress on it",
                       sr->server_id);
    int rc = 0;
    if (tv) {
        struct api_error pe = { 0 };
        if (vol_transition_apply(r, sr->old_volume_id, VT_MIGRATION_START, false, NULL, &rq->err) <
            0)
            rc = -1;
        else if (!pool_creates_on_host(pool) &&
                 pool_create_volume(pool, tv->id, (uint64_t)tv->size_gb << 30, r, tv->path,
                                    sizeof tv->path, &pe) < 0)
            return api_err(&rq->err, 500, "%s", pe.msg);
        else if (r->ops->volume_insert(r, tv) < 0)
            rc = reg_fail(&rq->err, r);
    }
    if (rc == 0 &&
        (vol_transition_apply(r, sr->old_volume_id, VT_BEGIN_DETACHING, false, NULL, &rq->err) <
             0 ||
         vol_transition_apply(r, sr->new_volume_id, VT_RESERVE, false, NULL, &rq->err) < 0 ||
         action_start(rq, sr->server_id, "swap_volume", &act) < 0 ||
         swap_store_insert(r, sr, &rq->err) < 0 || reg_commit(&txn, &rq->err) < 0))
        rc = -1;
    /* a device claimed in a transaction that did not commit was never
     * written: nothing to zero, and another volume may hold it by now */
    if (rc < 0 && tv && pool && pool->is_dir && !pool_creates_on_host(pool)) {
        struct api_error pe = { 0 };
        pool_delete_volume(pool, tv->path, &pe);
    }
    return rc;
}

/* A pool whose host makes its files makes the destination's before the
 * transaction (no host call inside one), and it goes again when the
 * transaction does not commit; a block pool its host manages has its
 * devices' sizes asked for before it. */
static int accept_swap(struct api_request *rq, struct swap_rec *sr, struct reg_volume *tv,
                       const struct cfg_pool *pool)
{
    if (!tv)
        return accept_swap_txn(rq, sr, tv, pool);
    if (!pool_creates_on_host(pool))
        return pool_prepare(pool, &rq->err) < 0 ? -1 : accept_swap_txn(rq, sr, tv, pool);
    struct api_error pe = { 0 };
    if (pool_create_volume(pool, tv->id, (uint64_t)tv->size_gb << 30, rq->ctx->reg, tv->path,
                           sizeof tv->path, &pe) < 0)
        return api_err(&rq->err, pe.status == 503 ? 503 : 500, "%s", pe.msg);
    if (accept_swap_txn(rq, sr, tv, pool) == 0)
        return 0;
    if (pool_delete_volume(pool, tv->path, &pe) < 0)
        vs_warn("migration %s: its destination's file stays on host %s: %s", sr->id,
                pool->host->name, pe.msg);
    return -1;
}

/* The bounds on swaps at once (max_swaps of hosts and pools). A swap
 * counts against its compute host, the hosts of both volumes and their
 * pools. A host at its bound is Nova's rate limit (429 overLimit: try
 * again later); a pool at its bound is a conflict with the migrations
 * already moving it (409), as Cinder answers for a busy backend. Called
 * under accept_lock, so two requests cannot both take the last place. */
struct swap_places {
    const char *host[3]; /* compute host, old and new volumes' hosts */
    const char *pool[2]; /* old and new volumes' pools */
};

static bool place_named(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (names[i] && strcmp(names[i], name) == 0)
            return true;
    return false;
}

/* How many of the N running swaps RUN count against place NAME: a host
 * (the compute host or either volume's) or, with POOLS, a pool (either
 * volume's). */
static int swaps_at(struct registry *r, const struct swap_rec *run, size_t n, const char *name,
                    bool pools)
{
    int busy = 0;
    for (size_t i = 0; i < n; i++) {
        struct reg_volume ov, nv;
        const char *places[3] = { pools ? NULL : run[i].host, NULL, NULL };
        if (r->ops->volume_get(r, run[i].old_volume_id, &ov) == 0)
            places[1] = pools ? ov.pool : ov.host;
        if (r->ops->volume_get(r, run[i].new_volume_id, &nv) == 0)
            places[2] = pools ? nv.pool : nv.host;
        busy += place_named(places, 3, name);
    }
    return busy;
}

static int check_capacity(struct api_request *rq, const struct swap_places *want)
{
    const struct api_config *cfg = rq->ctx->cfg;
    struct registry *r = rq->ctx->reg;
    struct swap_rec *run = NULL;
    size_t n = 0;
    if (swap_running(&run, &n) < 0)
        return api_err(&rq->err, 500, "out of memory");
    int rc = 0;
    for (size_t k = 0; k < 3 && rc == 0; k++) {
        const struct cfg_host *h = want->host[k] ? config_host(cfg, want->host[k]) : NULL;
        if (!h || h->max_swaps == 0 || place_named(want->host, k, h->name))
            continue;
        int busy = swaps_at(r, run, n, h->name, false);
        if (busy >= h->max_swaps)
            rc = api_err(&rq->err, 429,
                         "Host %s is running %d volume swaps, its limit (max_swaps); retry "
                         "later.",
                         h->name, busy);
    }
    for (size_t k = 0; k < 2 && rc == 0; k++) {
        const struct cfg_pool *p = want->pool[k] ? config_pool(cfg, want->pool[k], NULL) : NULL;
        if (!p || p->max_swaps == 0 || place_named(want->pool, k, p->name))
            continue;
        int busy = swaps_at(r, run, n, p->name, true);
        if (busy >= p->max_swaps)
            rc = api_err(&rq->err, 409,
                         "Pool %s is the source or destination of %d volume swaps or "
                         "migrations, its limit (max_swaps); retry later.",
                         p->name, busy);
    }
    free(run);
    return rc;
}

/* Starts the worker of an accepted swap; a worker that cannot start rolls
 * the swap back as any failed swap is (states, event, record). */
static int launch(struct api_request *rq, struct swap_rec *sr)
{
    struct api_error e = { 0 };
    if (swap_launch(sr, &e) == 0)
        return 0;
    /* the record was written a moment ago: its lease is this node's */
    swap_lease_hold(sr, api_now_ms());
    swap_rollback(NULL, sr, e.msg);
    swap_lease_release(sr);
    return api_err(&rq->err, e.status ? e.status : 500, "%s", e.msg);
}

static int do_swap(struct api_request *rq, const struct reg_server *s, const char *old_id,
                   const char *new_id)
{
    struct registry *r = rq->ctx->reg;
    struct reg_volume ov, nv;
    if (load_volume(rq, old_id, 404, &ov) < 0)
        return -1;
    /* a volume named in the body, not the URL: 400 (API-WG guideline) */
    if (load_volume(rq, new_id, 400, &nv) < 0)
        return -1;
    if (check_swap_state(rq, s) < 0)
        return -1;
    struct reg_attachment a;
    int arc = r->ops->attachment_get_by_volume(r, old_id, &a);
    if (arc < 0)
        return reg_fail(&rq->err, r);
    if (arc == 1 || strcmp(ov.attach_status, "detached") == 0)
        return api_err(&rq->err, 404,
                       "The volume was either invalid or not attached to the "
                       "instance.");
    if (strcmp(a.server_id, s->id) != 0)
        return api_err(&rq->err, 400,
                       "Invalid volume: Old volume is attached to a different "
                       "instance.");
    /* Cinder's os-attach records an attachment with nothing on the host:
     * there is no disk to mirror from under a consumer */
    if (!a.export_id[0])
        return api_err(&rq->err, 400,
                       "Invalid volume: volume %s is attached by Cinder's os-attach, with no "
                       "host export to swap.",
                       old_id);
    if (strcmp(nv.attach_status, "attached") == 0)
        return api_err(&rq->err, 400,
                       "Invalid volume: New volume must be detached in order to "
                       "swap.");
    if (nv.size_gb < ov.size_gb)
        return api_err(&rq->err, 400,
                       "Invalid volume: New volume must be the same size or "
                       "larger.");
    const struct cfg_host *h = config_host(rq->ctx->cfg, s->host);
    if (!h || !swap_driver_find(h->driver))
        return api_err(&rq->err, 409, "Compute host %s of instance %s is not configured.", s->host,
                       s->id);
    /* a new volume of another host's pool is mirrored to over NBD */
    const struct cfg_host *nh = config_host(rq->ctx->cfg, nv.host);
    if (nh && nh != h && host_storage_check(h, nh, &rq->err) < 0)
        return -1;
    API_LOCK_SCOPE(&accept_lock);
    if (check_not_swapping(rq, s, old_id) < 0)
        return -1;
    struct swap_places places = { { s->host, ov.host, nv.host }, { ov.pool, nv.pool } };
    if (check_capacity(rq, &places) < 0)
        return -1;
    struct swap_rec sr;
    memset(&sr, 0, sizeof sr);
    snprintf(sr.id, sizeof sr.id, "%s", rq->request_id);
    sr.kind = SWAP_NOVA;
    snprintf(sr.server_id, sizeof sr.server_id, "%s", s->id);
    snprintf(sr.project_id, sizeof sr.project_id, "%s", rq->auth.project_id);
    snprintf(sr.user_id, sizeof sr.user_id, "%s", rq->auth.user_id);
    snprintf(sr.host, sizeof sr.host, "%s", s->host);
    snprintf(sr.old_volume_id, sizeof sr.old_volume_id, "%s", old_id);
    snprintf(sr.new_volume_id, sizeof sr.new_volume_id, "%s", new_id);
    snprintf(sr.attachment_id, sizeof sr.attachment_id, "%s", a.id);
    snprintf(sr.old_node, sizeof sr.old_node, "%s", a.node_name);
    host_node_name(new_id, sr.new_node);
    sr.old_size_gb = ov.size_gb;
    sr.new_size_gb = nv.size_gb;
    if (accept_swap(rq, &sr, NULL, NULL) < 0 || launch(rq, &sr) < 0)
        return -1;
    return api_reply(rq, 202, NULL);
}

/* From 2.85 with volumeId equal to the path: Nova's _update_volume_regular. */
static int update_regular(struct api_request *rq, const struct reg_server *s, json_t *b)
{
    struct registry *r = rq->ctx->reg;
    const char *vol_id = api_param(rq, "volume_id");
    struct reg_attachment a;
    int rc = r->ops->attachment_get(r, s->id, vol_id, &a);
    if (rc < 0)
        return reg_fail(&rq->err, r);
    if (rc == 1)
        return api_err(&rq->err, 404, "No volume Block Device Mapping with id %.64s.", vol_id);
    /* the other fields may be repeated but not changed */
    const char *dev = json_string_value(json_object_get(b, "device"));
    const char *tag = json_string_value(json_object_get(b, "tag"));
    const char *sid = json_string_value(json_object_get(b, "serverId"));
    const char *id = json_string_value(json_object_get(b, "id"));
    if (dev && strcmp(dev, a.device) != 0)
        return api_err(&rq->err, 400, "Updating device is not supported.");
    if (tag && strcmp(tag, a.tag) != 0)
        return api_err(&rq->err, 400, "Updating tag is not supported.");
    if (sid && strcmp(sid, s->id) != 0)
        return api_err(&rq->err, 400, "Updating serverId is not supported.");
    if (id && strcmp(id, vol_id) != 0)
        return api_err(&rq->err, 400, "Updating id is not supported.");
    json_t *dot = json_object_get(b, "delete_on_termination");
    if (dot) {
        a.delete_on_termination = body_bool(dot);
        if (r->ops->attachment_update(r, &a) < 0)
            return reg_fail(&rq->err, r);
    }
    return 0;
}

int nova_attachments_update(struct api_request *rq)
{
    json_t *b = rq->body_obj; /* schema_attachment_update, checked by the router */
    int rc = -1;
    const char *new_id = json_string_value(json_object_get(b, "volumeId"));
    bool only_swap = !nova_mv(rq, 85);
    if (only_swap) {
        const char *k;
        json_t *v;
        json_object_foreach(b, k, v) {
            if (strcmp(k, "volumeId") != 0) {
                api_err(&rq->err, 400,
                        "Invalid input for field/attribute volumeAttachment. "
                        "Additional properties are not allowed ('%.40s' was unexpected)",
                        k);
                goto out;
            }
        }
    }
    if (!api_is_uuid(new_id)) {
        api_err(&rq->err, 400,
                "Invalid input for field/attribute volumeId. Value: %.64s. "
                "'%.64s' is not a 'uuid'",
                new_id, new_id);
        goto out;
    }
    struct reg_server s;
    if (load_server(rq, api_param(rq, "server_id"), &s) < 0)
        goto out;
    bool swap = only_swap || strcmp(api_param(rq, "volume_id"), new_id) != 0;
    if (swap ? swap_policy(rq) < 0
             : policy_check(&rq->auth, "os_compute_api:os-volumes-attachments:update", s.project_id,
                            &rq->err) < 0)
        goto out;
    if (!only_swap && update_regular(rq, &s, b) < 0)
        goto out;
    if (!swap) {
        rc = api_reply(rq, 202, NULL);
        goto out;
    }
    if (!swap_svc) {
        api_err(&rq->err, 503, "The volume swap service is not running.");
        goto out;
    }
    rc = do_swap(rq, &s, api_param(rq, "volume_id"), new_id);
out:
    return rc;
}

/* ---- progress ---- */

static json_t *progress_view(const struct swap_rec *r, const struct swap_progress *p, bool live)
{
    int64_t total = live ? p->bytes_total : r->bytes_total;
    int64_t done = live ? p->bytes_done : r->bytes_done;
    if (done > total)
        total = done;
    const char *state = live                         ? "running"
                        : r->phase == SP_DONE        ? "completed"
                        : r->phase == SP_ROLLED_BACK ? "rolled-back"
                                                     : "unfinished";
    enum swap_phase ph = live ? p->phase : r->phase;
    double pct = total > 0 ? 100.0 * (double)done / (double)total
                           : (ph >= SP_READY && ph != SP_ROLLED_BACK ? 100.0 : 0.0);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:f}", "request_id", r->id,
                          "kind", r->kind == SWAP_MIGRATE ? "migrate" : "swap", "old_volume_id",
                          r->old_volume_id, "new_volume_id", r->new_volume_id, "phase",
                          swap_phase_name(ph), "state", state, "bytes_total", (json_int_t)total,
                          "bytes_done", (json_int_t)done, "bytes_remaining",
                          (json_int_t)(total - done), "percent", pct);
    if (live) {
        json_object_set_new(o, "copy_mode",
                            json_string(p->write_blocking ? "write-blocking" : "background"));
        json_object_set_new(o, "rate_bytes_per_sec", json_integer((json_int_t)p->rate));
        json_object_set_new(o, "elapsed_ms", json_integer(api_now_ms() - p->started_ms));
        double eta = p->rate > 0 ? (double)(total - done) / p->rate : -1;
        json_object_set_new(o, "eta_seconds", eta >= 0 ? json_real(eta) : json_null());
        json_object_set_new(o, "pivot_pause_ms",
                            ph > SP_COMPLETING ? json_integer(p->pivot_ms) : json_null());
    } else {
        json_object_set_new(o, "rate_bytes_per_sec",
                            r->mirror_ms > 0 ? json_integer(total * 1000 / r->mirror_ms)
                                             : json_integer(0));
        json_object_set_new(o, "eta_seconds", json_integer(0));
        json_object_set_new(o, "pivot_pause_ms",
                            r->phase == SP_DONE ? json_integer(r->pivot_ms) : json_null());
        json_object_set_new(o, "mirror_ms", json_integer(r->mirror_ms));
        json_object_set_new(o, "total_ms", json_integer(r->total_ms));
    }
    json_object_set_new(o, "started_at", json_string(r->started_at));
    json_object_set_new(o, "updated_at", json_string(r->updated_at));
    json_object_set_new(o, "error", r->error[0] ? json_string(r->error) : json_null());
    return o;
}

int nova_swap_progress(struct api_request *rq)
{
    struct reg_server s;
    if (load_server(rq, api_param(rq, "server_id"), &s) < 0 || api_authorize(rq, s.project_id) < 0)
        return -1;
    if (!swap_svc)
        return api_err(&rq->err, 503, "The volume swap service is not running.");
    struct swap_rec r;
    struct swap_progress p;
    if (swap_progress_get(s.id, api_param(rq, "volume_id"), &r, &p))
        return api_reply(rq, 200, json_pack("{s:o}", "swap_progress", progress_view(&r, &p, true)));
    int rc = swap_store_latest(rq->ctx->reg, s.id, api_param(rq, "volume_id"), &r, &rq->err);
    if (rc < 0)
        return -1;
    if (rc == 1)
        return api_err(&rq->err, 404, "No volume swap of volume %.64s on instance %s.",
                       api_param(rq, "volume_id"), s.id);
    memset(&p, 0, sizeof p);
    return api_reply(rq, 200, json_pack("{s:o}", "swap_progress", progress_view(&r, &p, false)));
}

/* GET /v2.1/os-volume-swaps/{swap_id}/report: a swap's record and the
 * series its worker sampled (copied and dirty bytes, copy rate, the
 * consumer's latency; READY and the pivot), what `volswap swap-report`
 * draws. The swap id is the request id of the PUT (or migrate) that asked
 * for it. Seen by those who may see the server's attachments; for another
 * project's swap, 404 as for its server. */
int nova_swap_report(struct api_request *rq)
{
    if (!swap_svc)
        return api_err(&rq->err, 503, "The volume swap service is not running.");
    struct swap_rec r;
    struct api_error e = { 0 };
    const char *id = api_param(rq, "swap_id");
    int rc = swap_store_get(swap_svc->ctx->reg, id, &r, &e);
    if (rc < 0)
        return api_err(&rq->err, 500, "%s", e.msg);
    if (rc == 1 || api_authorize(rq, r.project_id) < 0) {
        memset(&rq->err, 0, sizeof rq->err);
        return api_err(&rq->err, 404, "No volume swap %.64s.", id);
    }
    struct swap_progress p;
    struct swap_rec now;
    bool live = swap_progress_get(r.server_id, r.old_volume_id, &now, &p) &&
                strcmp(now.id, r.id) == 0;
    if (!live)
        memset(&p, 0, sizeof p);
    json_t *view = progress_view(live ? &now : &r, &p, live);
    char *text = NULL;
    rc = swap_store_series_get(swap_svc->ctx->reg, r.id, &text, &e);
    if (rc < 0) {
        json_decref(view);
        return api_err(&rq->err, 500, "%s", e.msg);
    }
    json_error_t jerr;
    json_t *series = text ? json_loads(text, 0, &jerr) : NULL;
    free(text);
    json_object_set_new(view, "series", series ? series : json_null());
    return api_reply(rq, 200, json_pack("{s:o}", "swap_report", view));
}

/* ---- Cinder os-migrate_volume ---- */

int cinder_migrate_args(struct api_request *rq, char host_name[65], char pool[65], json_t **doc)
{
    *doc = NULL;
    if (!rq->body || body_json_depth(rq->body, rq->body_len, API_MAX_DEPTH) > API_MAX_DEPTH)
        return api_err(&rq->err, 400, "Malformed request body");
    json_error_t jerr;
    *doc = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!*doc)
        return api_err(&rq->err, 400, "Malformed request body");
    json_t *m = json_object_get(*doc, "os-migrate_volume");
    if (!json_is_object(m))
        return api_err(&rq->err, 400,
                       "Invalid input for field/attribute os-migrate_volume. "
                       "Value: %s. is not of type 'object'",
                       m ? "(not an object)" : "None");
    const char *k;
    json_t *v;
    json_object_foreach(m, k, v) {
        if (!strcmp(k, "host") && json_is_string(v))
            continue;
        if ((!strcmp(k, "force_host_copy") || !strcmp(k, "lock_volume")) &&
            (json_is_boolean(v) || json_is_string(v)))
            continue;
        if (!strcmp(k, "host") || !strcmp(k, "force_host_copy") || !strcmp(k, "lock_volume"))
            return api_err(&rq->err, 400, "Invalid input for field/attribute %.40s: wrong type", k);
        return api_err(&rq->err, 400,
                       "Invalid input for field/attribute os-migrate_volume. "
                       "Additional properties are not allowed ('%.40s' was unexpected)",
                       k);
    }
    const char *host = json_string_value(json_object_get(m, "host"));
    if (!host || !host[0] || strlen(host) > 255)
        return api_err(&rq->err, 400,
                       "Invalid input for field/attribute os-migrate_volume. "
                       "'host' is a required property");
    /* Cinder's "host@backend#pool" (as get_pools lists them), or a bare pool
   * name: the pool names a place, the host must be the pool's own; the
   * backend is not looked at */
    const char *hash = strrchr(host, '#');
    const char *name = hash ? hash + 1 : host;
    if (!name[0] || strlen(name) >= 65)
        return api_err(&rq->err, 400, "Invalid host: %.64s", host);
    memcpy(pool, name, strlen(name) + 1);
    host_name[0] = '\0';
    if (hash) {
        size_t hl = strcspn(host, "@#");
        if (hl == 0 || hl >= 65)
            return api_err(&rq->err, 400, "Invalid host: %.64s", host);
        memcpy(host_name, host, hl);
        host_name[hl] = '\0';
    }
    return 0;
}

int cinder_migrate_volume(struct api_request *rq)
{
    json_t *doc = NULL;
    char host_name[65], pool_name[65];
    struct registry *r = rq->ctx->reg;
    int arc = cinder_migrate_args(rq, host_name, pool_name, &doc);
    json_decref(doc); /* the names are copied out */
    if (arc < 0)
        return -1;
    if (policy_check(&rq->auth, "volume:migrate_volume", api_param(rq, "project_id"), &rq->err) < 0)
        return -1;
    if (!swap_svc)
        return api_err(&rq->err, 503, "The volume swap service is not running.");
    struct reg_volume ov;
    int vrc = r->ops->volume_get(r, api_param(rq, "volume_id"), &ov);
    if (vrc < 0)
        return reg_fail(&rq->err, r);
    if (vrc == 1 || strcmp(ov.project_id, api_param(rq, "project_id")) != 0)
        return api_err(&rq->err, 404, "Volume %.64s could not be found.",
                       api_param(rq, "volume_id"));
    if (strcmp(ov.status, "available") != 0 && strcmp(ov.status, "in-use") != 0)
        return api_err(&rq->err, 400,
                       "Invalid volume: Volume status must be available or in-use, but "
                       "current status is: %s.",
                       ov.status);
    if (ov.migration_status[0] && strcmp(ov.migration_status, "success") != 0 &&
        strcmp(ov.migration_status, "error") != 0)
        return api_err(&rq->err, 400,
                       "Invalid volume: Volume %s is already part of an active "
                       "migration.",
                       ov.id);
    const struct cfg_host *ph = NULL;
    const struct cfg_pool *pool = config_pool(rq->ctx->cfg, pool_name, &ph);
    if (!pool || (host_name[0] && strcmp(host_name, ph->name) != 0))
        return api_err(&rq->err, 400,
                       "Invalid host: No valid backend was found. No pool named %s%s%s.", pool_name,
                       host_name[0] ? " on host " : "", host_name);
    if (strcmp(pool->name, ov.pool) == 0 && strcmp(ph->name, ov.host) == 0)
        return api_err(&rq->err, 400,
                       "Invalid host: Destination host must be different than the "
                       "current host.");
    struct reg_attachment a;
    arc = r->ops->attachment_get_by_volume(r, ov.id, &a);
    if (arc < 0)
        return reg_fail(&rq->err, r);
    if (arc != 0 || strcmp(ov.status, "in-use") != 0)
        return api_err(&rq->err, 400,
                       "Invalid volume: volswap migrates in-use volumes (a live mirror "
                       "under the consumer); volume %s is %s.",
                       ov.id, ov.status);
    if (!a.export_id[0])
        return api_err(&rq->err, 400,
                       "Invalid volume: volume %s is attached by Cinder's os-attach, with no "
                       "host export to migrate under.",
                       ov.id);
    struct reg_server s;
    int src = r->ops->server_get(r, a.server_id, &s);
    if (src < 0)
        return reg_fail(&rq->err, r);
    if (src == 1)
        return api_err(&rq->err, 500, "registry: the attachment's server is gone");
    const struct cfg_host *h = config_host(rq->ctx->cfg, s.host);
    if (!h || !swap_driver_find(h->driver))
        return api_err(&rq->err, 409, "Compute host %s is not configured.", s.host);
    /* a pool on another host than the server's: the compute host mirrors
     * to that host's NBD export (Cinder's migration across backends) */
    if (ph != h && host_storage_check(h, ph, &rq->err) < 0) {
        rq->err.status = 400;
        return -1;
    }
    API_LOCK_SCOPE(&accept_lock);
    if (check_not_swapping(rq, &s, ov.id) < 0)
        return -1;
    struct swap_places places = { { s.host, ov.host, ph->name }, { ov.pool, pool->name } };
    if (check_capacity(rq, &places) < 0)
        return -1;
    /* the destination volume: Cinder's temporary record for the migration */
    struct reg_volume tv;
    memset(&tv, 0, sizeof tv);
    api_uuid(tv.id);
    snprintf(tv.project_id, sizeof tv.project_id, "%s", ov.project_id);
    snprintf(tv.user_id, sizeof tv.user_id, "%s", ov.user_id);
    snprintf(tv.name, sizeof tv.name, "%s", ov.name);
    snprintf(tv.description, sizeof tv.description, "migration target of %s", ov.id);
    tv.size_gb = ov.size_gb;
    snprintf(tv.host, sizeof tv.host, "%s", ph->name);
    snprintf(tv.pool, sizeof tv.pool, "%s", pool->name);
    strcpy(tv.status, "available");
    strcpy(tv.attach_status, "detached");
    api_time_micro(time(NULL), tv.created_at);
    tv.bootable = ov.bootable;
    tv.readonly = ov.readonly;
    memcpy(tv.updated_at, tv.created_at, sizeof tv.updated_at);
    struct swap_rec sr;
    memset(&sr, 0, sizeof sr);
    snprintf(sr.id, sizeof sr.id, "%s", rq->request_id);
    sr.kind = SWAP_MIGRATE;
    snprintf(sr.server_id, sizeof sr.server_id, "%s", s.id);
    snprintf(sr.project_id, sizeof sr.project_id, "%s", rq->auth.project_id);
    snprintf(sr.user_id, sizeof sr.user_id, "%s", rq->auth.user_id);
    snprintf(sr.host, sizeof sr.host, "%s", s.host);
    snprintf(sr.old_volume_id, sizeof sr.old_volume_id, "%s", ov.id);
    snprintf(sr.new_volume_id, sizeof sr.new_volume_id, "%s", tv.id);
    snprintf(sr.attachment_id, sizeof sr.attachment_id, "%s", a.id);
    snprintf(sr.old_node, sizeof sr.old_node, "%s", a.node_name);
    host_node_name(tv.id, sr.new_node);
    /* the old node may already carry the new record's name after an earlier
     * migration: keep the two apart */
    if (strcmp(sr.new_node, sr.old_node) == 0)
        sr.new_node[4] = sr.new_node[4] == 'x' ? 'y' : 'x';
    sr.old_size_gb = ov.size_gb;
    sr.new_size_gb = tv.size_gb;
    if (accept_swap(rq, &sr, &tv, pool) < 0)
        return -1;
    if (launch(rq, &sr) < 0)
        return -1;
    return api_reply(rq, 202, NULL);
}
