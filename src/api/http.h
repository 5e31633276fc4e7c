/* The HTTP layer's view for the REST handlers: one struct api_request per
 * HTTP request, with the parsed microversion, the caller's auth context and
 * the reply under construction, and the route table entry type. Handlers
 * never touch libmicrohttpd; they read rq fields, call the registry, and set
 * either a reply (api_reply) or an error (returning -1 with rq->err). */
#ifndef VOLSWAP_API_HTTP_H
#define VOLSWAP_API_HTTP_H

#include "internal.h"

enum api_service { SVC_NONE, SVC_IDENTITY, SVC_COMPUTE, SVC_VOLUME, SVC_IMAGE };

/* Supported microversion ranges (Nova 2.1..2.96, Cinder 3.0..3.70). */
#define NOVA_MV_MAX   96
#define CINDER_MV_MAX 70

struct api_server;

/* Everything a handler may use that lives as long as the service. */
struct api_ctx {
    struct api_config *cfg;
    struct registry *reg;
    struct auth_store *auth;
    char base_url[300];
};

#define API_MAX_PARAMS 4
struct api_request {
    struct api_ctx *ctx;
    struct MHD_Connection *conn;
    const char *method;
    char url[2048];
    char *body;
    size_t body_len, body_cap;
    bool too_large;
    enum api_service service;
    int mv; /* minor microversion: 2.N for Nova, 3.N for Cinder */
    bool mv_requested;
    char request_id[48];
    struct auth_ctx auth;
    const char *params[API_MAX_PARAMS];
    char param_buf[API_MAX_PARAMS][256];
    /* reply */
    int status;
    json_t *reply;
    char subject_token[80]; /* X-Subject-Token for Keystone */
    char location[512];
    struct api_error err;
};

typedef int (*api_handler)(struct api_request *rq);

struct api_route {
    const char *method;
    const char *pattern; /* "/v2.1/servers/ * /os-volume_attachments" with '*' */
    enum api_service service;
    bool needs_auth;
    api_handler fn;
};

/* Sets the reply (steals BODY, may be NULL for an empty 202/204). */
int api_reply(struct api_request *rq, int status, json_t *body);
/* A query-string argument, or NULL. */
const char *api_query(struct api_request *rq, const char *name);
/* A request header, or NULL. */
const char *api_header(struct api_request *rq, const char *name);
/* Is the caller's Nova microversion at least 2.MINOR? */
static inline bool nova_mv(const struct api_request *rq, int minor)
{
    return rq->mv >= minor;
}

/* A version document entry as Nova and Cinder print them: ID ("v2.1"),
 * the microversion range, the date, a self link to BASE_URL + PATH and the
 * service's media type. */
json_t *api_version_doc(struct api_request *rq, const char *id, const char *max, const char *min,
                        const char *updated, const char *path, const char *media_type);

/* Routes, one table per service (keystone.c, nova-*.c, cinder.c). */
extern const struct api_route keystone_routes[], nova_routes[], cinder_routes[], glance_routes[];

/* Starts the service: listening socket bound, threads running. */
struct api_server *api_server_start(struct api_ctx *ctx, int *port, const char *static_file,
                                    bool verbose, struct api_error *e);
void api_server_stop(struct api_server *s);

/* Shared by the handlers (nova-common.c): instance actions. */
int action_start(struct api_request *rq, const char *server_id, const char *action,
                 struct reg_action *out);
int action_event(struct api_request *rq, struct reg_action *a, const char *event, const char *host,
                 const char *start_time, bool ok, const char *details);
/* The server ID in the caller's project (admin: any), or 404 as Nova
 * answers; a deleted server is 404 too. load_server_any also finds a
 * deleted one, for what Nova still shows of it (instance actions, 2.21). */
int load_server(struct api_request *rq, const char *id, struct reg_server *s);
int load_server_any(struct api_request *rq, const char *id, struct reg_server *s);
/* Loads volume ID of the URL's project (rq->params[0]), or Cinder's 404
 * "Volume X could not be found." (cinder.c). */
int cinder_load_volume(struct api_request *rq, const char *id, struct reg_volume *v);
/* Cinder's delete of an available volume (cinder.c): its storage on the
 * pool, then its record; a pool that cannot remove it leaves the volume in
 * error_deleting. */
int cinder_volume_destroy(struct api_ctx *ctx, const char *volume_id, struct api_error *e);

/* metadata.c: servers' and volumes' key/value metadata. */
/* OWNER's items as a JSON object (empty when it has none). */
json_t *api_meta_json(struct registry *r, enum reg_meta_kind kind, const char *owner);
/* Merges MAP (checked by a metadata body schema) into OWNER's items, or
 * replaces them; 403 past the item bound. Run it inside a transaction. */
int api_meta_store(struct registry *r, enum reg_meta_kind kind, const char *owner, json_t *map,
                   bool replace, struct api_error *e);
int nova_meta_index(struct api_request *rq);
int nova_meta_show(struct api_request *rq);
int nova_meta_create(struct api_request *rq);
int nova_meta_update_all(struct api_request *rq);
int nova_meta_update(struct api_request *rq);
int nova_meta_delete(struct api_request *rq);
int cinder_meta_index(struct api_request *rq);
int cinder_meta_show(struct api_request *rq);
int cinder_meta_create(struct api_request *rq);
int cinder_meta_update_all(struct api_request *rq);
int cinder_meta_update(struct api_request *rq);
int cinder_meta_delete(struct api_request *rq);

#endif
