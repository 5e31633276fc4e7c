/* An image service with no images (Glance v2, under /image). volswap's
 * servers are registered consumers, never booted from an image, so there is
 * nothing to list; but operators' tools look the image service up in the
 * catalog before anything else (`openstack server list` stops with "public
 * endpoint for image service not found" without one). This answers what
 * they ask of it: the version document, an empty image list, and 404 for
 * any image. */
#include "image.h"

static int glance_versions(struct api_request *rq)
{
    char self[400];
    snprintf(self, sizeof self, "%s/image/v2/", rq->ctx->base_url);
    return api_reply(rq, 300,
                     json_pack("{s:[{s:s, s:s, s:[{s:s, s:s}]}]}", "versions", "id", "v2.16",
                               "status", "CURRENT", "links", "rel", "self", "href", self));
}

static int images_index(struct api_request *rq)
{
    return api_reply(rq, 200,
                     json_pack("{s:[], s:s, s:s}", "images", "first", "/v2/images", "schema",
                               "/v2/schemas/images"));
}

static int images_show(struct api_request *rq)
{
    return api_err(&rq->err, 404, "No image found with ID %.64s", api_param(rq, "image_id"));
}

/* The image routes, each declared once (served under /image). */
#define GLANCE(m, p, auth, fn, doc)                                             \
    {                                                                           \
        m, p, SVC_IMAGE, auth, NULL, API_POLICY_NONE, NULL, NULL, 0, 0, fn, doc \
    }

const struct api_route glance_routes[] = {
    GLANCE("GET", "/", false, glance_versions, "the version document (300, v2.16)"),
    GLANCE("GET", "/versions", false, glance_versions, "the same"),
    GLANCE("GET", "/v2/images", true, images_index, "an empty list"),
    GLANCE("GET", "/v2/images/{image_id}", true, images_show, "404: there are no images"),
    { NULL, NULL, SVC_NONE, false, NULL, API_POLICY_NONE, NULL, NULL, 0, 0, NULL, NULL },
};
