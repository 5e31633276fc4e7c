/* The Cinder-side lookup every volume-scoped handler does first: the volume
 * in the URL's project, or Cinder's 404. An admin reaches any project's
 * volume, through any project's URL (Cinder looks an admin's volumes up
 * without a project filter). */
#include "rest.h"

#include <string.h>

int cinder_load_volume(struct api_request *rq, const char *id, struct reg_volume *v)
{
    struct registry *r = rq->ctx->reg;
    int rc = r->ops->volume_get(r, id, v);
    if (rc < 0)
        return reg_fail(&rq->err, r);
    if (rc == 1 || (strcmp(v->project_id, api_param(rq, "project_id")) != 0 &&
                    !auth_has_role(&rq->auth, "admin")))
        return api_err(&rq->err, 404, "Volume %.64s could not be found.", id);
    return 0;
}
