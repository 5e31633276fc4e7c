/* The HTTP layer's view for the REST handlers: one struct api_request per
 * HTTP request, with the parsed microversion, the caller's auth context and
 * the reply under construction, and the route table entry type. Handlers
 * never touch libmicrohttpd; they read rq fields, call the registry, and set
 * either a reply (api_reply) or an error (returning -1 with rq->err). */
#ifndef VOLSWAP_API_HTTP_H
#define VOLSWAP_API_HTTP_H

#include "base/base.h"
#include "domain/domain.h"

enum api_service { SVC_NONE, SVC_IDENTITY, SVC_COMPUTE, SVC_VOLUME, SVC_IMAGE };

/* Supported microversion ranges (Nova 2.1..2.96, Cinder 3.0..3.70). */
#define NOVA_MV_MAX   96
#define CINDER_MV_MAX 70

struct api_server;

#define API_MAX_PARAMS 4
struct api_request {
    struct api_ctx *ctx;
    /* Where headers and query arguments come from (the HTTP server's
     * connection, or a test's table): HEADER true for a header, false for a
     * query argument; NULL when absent. */
    const char *(*lookup)(void *opaque, bool header, const char *name);
    void *lookup_opaque;
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

/* A mount of route tables: requests whose path begins with PREFIX ("" for
 * the root) are matched against TABLES (NULL-terminated), the prefix
 * removed. A list of mounts ends with a NULL prefix. */
struct api_mount {
    const char *prefix;
    const struct api_route *const *tables;
};

/* Starts the service: listening socket bound, threads running. */
struct api_server *api_server_start(struct api_ctx *ctx, const struct api_mount *mounts, int *port,
                                    const char *static_file, bool verbose, struct api_error *e);
void api_server_stop(struct api_server *s);

#endif
