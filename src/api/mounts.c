/* Where each service's routes are served, for the HTTP server and the unit
 * tests that run requests through the router in-process. */
#include "api.h"

/* One service answers for Keystone, Nova and Cinder, so their roots share
 * "/". Cinder is also served under "/volume" (its WSGI layout), which is
 * what the catalog names: cinderclient asks the root above the endpoint's
 * "/v3" for Cinder's version document, and finds it at "/volume/". The
 * image service lives under "/image" only. */
static const struct api_route *const root_tables[] = { keystone_routes, nova_routes, cinder_routes,
                                                       metrics_routes, NULL };
static const struct api_route *const volume_tables[] = { cinder_routes, NULL };
/* Keystone and Nova also have prefixes of their own, as devstack lays the
 * services out, which is what the catalog names: Keystone's root
 * ("/identity/") answers its own version list there. */
static const struct api_route *const identity_tables[] = { keystone_root_routes, keystone_routes,
                                                           NULL };
static const struct api_route *const compute_tables[] = { nova_routes, NULL };
static const struct api_route *const image_tables[] = { glance_routes, glance_member_routes,
                                                        glance_metadef_routes, NULL };
const struct api_mount api_mounts[] = {
    { "/identity", identity_tables },
    { "/compute", compute_tables },
    { "/volume", volume_tables },
    { "/image", image_tables },
    { "", root_tables },
    { NULL, NULL },
};

const struct api_route *const api_all_tables[] = { keystone_root_routes,  keystone_routes,
                                                   nova_routes,           cinder_routes,
                                                   glance_routes,         glance_member_routes,
                                                   glance_metadef_routes, NULL };
