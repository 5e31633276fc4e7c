/* What a volume's end takes: the delete transition, its storage removed
 * from the pool, then its record. Shared by Cinder's DELETE and a server's
 * delete with delete_on_termination volumes. */
#include "domain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A volume in "deleting": its storage removed from the pool, then its
 * record. */
static int destroy_deleting(struct api_ctx *ctx, struct reg_volume *v, struct api_error *e)
{
    struct registry *r = ctx->reg;
    const struct cfg_host *h = NULL;
    const struct cfg_pool *p = config_pool(ctx->cfg, v->pool, &h);
    struct api_error perr = { 0 };
    if (p && pool_delete_volume(p, v->path, &perr) < 0) {
        /* Cinder's state for a delete its backend did not carry out; a
         * delete again retries it */
        strcpy(v->status, "error_deleting");
        r->ops->volume_update(r, v);
        return api_err(e, perr.status == 503 ? 503 : 500, "%s", perr.msg);
    }
    if (r->ops->volume_delete(r, v->id) < 0)
        return reg_fail(e, r);
    return 0;
}

int volume_destroy(struct api_ctx *ctx, const char *volume_id, struct api_error *e)
{
    struct reg_volume v;
    if (vol_transition_apply(ctx->reg, volume_id, VT_BEGIN_DELETE, false, &v, e) < 0)
        return -1;
    return destroy_deleting(ctx, &v, e);
}

/* The force delete's check and its move to deleting, in one transaction
 * (Cinder's conditional update without the status condition). */
static int force_delete_begin(struct registry *r, const char *volume_id, struct reg_volume *v,
                              struct api_error *e)
{
    REG_TXN(txn, r);
    if (reg_begin(&txn, e) < 0)
        return -1;
    int rc = r->ops->volume_get(r, volume_id, v);
    if (rc != 0)
        return rc < 0 ? reg_fail(e, r)
                      : api_err(e, 404, "Volume %s could not be found.", volume_id);
    struct reg_attachment a;
    bool attached = strcmp(v->attach_status, "attached") == 0 ||
                    r->ops->attachment_get_by_volume(r, v->id, &a) == 0;
    bool migrating = v->migration_status[0] && strcmp(v->migration_status, "success") != 0 &&
                     strcmp(v->migration_status, "error") != 0;
    struct reg_swap *swaps = NULL;
    size_t n = 0;
    if (r->ops->swap_unfinished(r, &swaps, &n) < 0)
        return reg_fail(e, r);
    for (size_t i = 0; i < n; i++)
        migrating |= strcmp(swaps[i].old_volume_id, v->id) == 0 ||
                     strcmp(swaps[i].new_volume_id, v->id) == 0;
    free(swaps);
    if (attached || migrating)
        return api_err(e, 400,
                       "Invalid volume: Volume must not be migrating, attached, belong to a "
                       "group, have snapshots, awaiting a transfer, or be disassociated from "
                       "snapshots after volume transfer.");
    snprintf(v->status, sizeof v->status, "deleting");
    if (r->ops->volume_update(r, v) < 0)
        return reg_fail(e, r);
    return reg_commit(&txn, e);
}

int volume_force_destroy(struct api_ctx *ctx, const char *volume_id, struct api_error *e)
{
    struct reg_volume v;
    if (force_delete_begin(ctx->reg, volume_id, &v, e) < 0)
        return -1;
    return destroy_deleting(ctx, &v, e);
}
