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
    return api_err(&rq->err, 404, "No image found with ID %.64s", rq->params[0]);
}

const struct api_route glance_routes[] = {
    { "GET", "/", SVC_IMAGE, false, glance_versions },
    { "GET", "/versions", SVC_IMAGE, false, glance_versions },
    { "GET", "/v2/images", SVC_IMAGE, true, images_index },
    { "GET", "/v2/images/*", SVC_IMAGE, true, images_show },
    { NULL, NULL, SVC_NONE, false, NULL },
};
