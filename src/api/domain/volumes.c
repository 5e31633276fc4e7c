/* What a volume's end takes: the delete transition, its storage removed
 * from the pool, then its record. Shared by Cinder's DELETE and a server's
 * delete with delete_on_termination volumes. */
#include "domain.h"

#include <string.h>

int volume_destroy(struct api_ctx *ctx, const char *volume_id, struct api_error *e)
{
    struct registry *r = ctx->reg;
    struct reg_volume v;
    if (vol_transition_apply(r, volume_id, VT_BEGIN_DELETE, false, &v, e) < 0)
        return -1;
    const struct cfg_host *h = NULL;
    const struct cfg_pool *p = config_pool(ctx->cfg, v.pool, &h);
    struct api_error perr = { 0 };
    if (p && pool_delete_volume(p, v.path, &perr) < 0) {
        /* Cinder's state for a delete its backend did not carry out; a
         * delete again retries it */
        strcpy(v.status, "error_deleting");
        r->ops->volume_update(r, &v);
        return api_err(e, perr.status == 503 ? 503 : 500, "%s", perr.msg);
    }
    if (r->ops->volume_delete(r, v.id) < 0)
        return reg_fail(e, r);
    return 0;
}
