/* The HTTP layer: the route table entry type, one struct api_request per
 * HTTP request (the parsed microversion, the caller's auth context, the URL's
 * named parameters, the checked body, and the reply under construction), the
 * router (router.c) that checks everything a route declares before its
 * handler runs, and the server (server.c, libmicrohttpd, which stays inside
 * it). Handlers read rq, call the layers below, and set either a reply
 * (api_reply) or an error (returning -1 with rq->err). The router runs on
 * the HTTP worker thread that received the request. */
#ifndef VOLSWAP_API_HTTP_H
#define VOLSWAP_API_HTTP_H

#include "base/base.h"
#include "domain/domain.h"

#include <stdio.h>

enum api_service { SVC_NONE, SVC_IDENTITY, SVC_COMPUTE, SVC_VOLUME, SVC_IMAGE };

/* Supported microversion ranges (Nova 2.1..2.96, Cinder 3.0..3.70). */
#define NOVA_MV_MAX   96
#define CINDER_MV_MAX 70

struct api_server;
struct api_route;

/* One named URL argument ("{server_id}" in a route's pattern). */
#define API_MAX_PARAMS 4
struct api_param {
    const char *name; /* points into the route's pattern */
    size_t name_len;
    char value[256];
};

/* One request, from the transport (the HTTP server, or a unit test) through
 * the router to a handler and back. Owned by one HTTP worker thread. */
struct api_request {
    struct api_ctx *ctx;
    const struct api_route *route; /* the route matched, set by the router */
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
    bool refused; /* answered before its body, the connection closing */
    enum api_service service;
    int mv; /* minor microversion: 2.N for Nova, 3.N for Cinder */
    bool mv_requested;
    char request_id[48];
    struct auth_ctx auth;
    struct api_param params[API_MAX_PARAMS];
    size_t n_params;
    /* The body, checked against the route's schema by the router: the whole
     * document and the schema root's value inside it (NULL without one). */
    json_t *body_doc, *body_obj;
    /* reply */
    int status;
    json_t *reply;
    char subject_token[AUTH_TOKEN_MAX]; /* X-Subject-Token for Keystone */
    /* A reply that is not JSON (GET /metrics): owned, sent as TEXT_TYPE. */
    char *text_body;
    const char *text_type;
    /* For the metrics: the mount the route was found under, and when the
     * request's first byte came (monotonic). */
    const char *route_prefix;
    int64_t start_ns;
    char location[512];
    struct api_error err;
    /* A body streamed to the handler (a route with stream_open): the sink
     * stream_open set, fed piece by piece as the body arrives and never
     * held whole; -1 with err set ends the feeding (the rest is read and
     * dropped, the error answered at the end). stream_close, when set,
     * runs once as the request is released, whether or not fn ran (a
     * client gone mid-upload). */
    bool streaming;
    /* The router's path look-up, done once: api_dispatch_stream_open's
     * for a route without a stream is api_dispatch's too. */
    bool looked_up, path_known;
    const struct api_route *found;
    int (*stream_write)(struct api_request *rq, const char *data, size_t len);
    void (*stream_close)(struct api_request *rq);
    void *stream_opaque;
    /* A reply read from a file (api_reply_file): owned until sent. */
    int reply_fd;
    uint64_t reply_fd_size;
    char reply_md5[40];
};

typedef int (*api_handler)(struct api_request *rq);

/* Where a route's policy rule is checked. At the door, the router checks it
 * before the handler runs, against the project POLICY_TARGET names (see
 * struct api_route). For a resource, the target is the owner of what the
 * URL names, known once the handler loaded it: the handler calls
 * api_authorize right after the load, so a missing resource stays 404. The
 * handler's own: the rule depends on the request (another project's limits,
 * the detail view); the table names the main one. */
enum api_policy_at { API_POLICY_NONE, API_POLICY_DOOR, API_POLICY_RESOURCE, API_POLICY_HANDLER };

/* A route, declared once: the router matches, checks and dispatches by it,
 * and `volswap-api --print-routes` documents it (docs/api.md). */
struct api_route {
    const char *method;
    /* "/v2.1/servers/{server_id}/os-volume_attachments": a {name} is one
     * non-empty segment, handed to the handler by api_param. */
    const char *pattern;
    enum api_service service;
    bool needs_auth; /* a valid X-Auth-Token, checked before anything else */
    const char *policy;
    enum api_policy_at policy_at;
    /* At the door: NULL (no owner), "@caller" (the caller's project), or
     * the name of the URL parameter that holds the project. */
    const char *policy_target;
    /* The body, checked at the door (after the policy): 400 with Nova's
     * message before the handler sees a byte of it. */
    const struct body_schema *schema;
    int mv_min, mv_max; /* the service's minor versions; 0: unbounded */
    api_handler fn;
    const char *doc; /* one line for docs/api.md */
    /* A route whose body is streamed (an image upload): the router runs
     * the door's checks (no size cap, no schema) and STREAM_OPEN as soon
     * as the headers are in, the body goes to rq->stream_write, and FN
     * runs once it has all arrived. */
    api_handler stream_open;
};

/* The URL argument NAME of the route matched (a name the pattern lacks is
 * a bug in the route table: assertion). */
const char *api_param(const struct api_request *rq, const char *name);
/* Checks the route's policy rule against TARGET_PROJECT (the owner of the
 * resource the handler loaded): 0, or -1 with Nova's 403 in rq->err. */
int api_authorize(struct api_request *rq, const char *target_project);

/* Sets the reply (steals BODY, may be NULL for an empty 202/204). */
int api_reply(struct api_request *rq, int status, json_t *body);
/* Sets a JSON reply written with W (base/json-out.c), which is emptied;
 * a writer that failed is a 500. */
int api_reply_written(struct api_request *rq, int status, struct jw *w);
/* Sets a reply that is not JSON: STATUS, the Content-Type TYPE and
 * TEXT (the request owns it from here). */
int api_reply_text(struct api_request *rq, int status, const char *type, char *text);
/* Sets a reply streamed from FD (the request owns it from here): SIZE
 * bytes of application/octet-stream, MD5 (may be NULL) as Content-MD5. */
int api_reply_file(struct api_request *rq, int status, int fd, uint64_t size, const char *md5);
/* A query-string argument, or NULL. */
const char *api_query(struct api_request *rq, const char *name);
/* A request header, or NULL. */
const char *api_header(struct api_request *rq, const char *name);
/* The caller's own request id (X-Openstack-Request-Id, "req-" and a UUID,
 * as Nova takes it for global_request_id), or NULL when absent or not of
 * that form. The log lines the request causes carry it beside our id. */
const char *api_global_request_id(struct api_request *rq);
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

/* ---- metrics.c: what the HTTP layer counts ---- */

/* Upper bounds of the request latency buckets, in seconds. */
#define API_LATENCY_BUCKETS_S 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30
/* Counts a request answered with STATUS after SECONDS. */
void api_metrics_observe(const struct api_request *rq, int status, double seconds);
/* Writes the HTTP families (requests by method, route and status; the
 * latency histogram) in Prometheus's text format. */
void api_metrics_write_http(FILE *f);

/* A mount of route tables: requests whose path begins with PREFIX ("" for
 * the root) are matched against TABLES (NULL-terminated), the prefix
 * removed. A list of mounts ends with a NULL prefix. */
struct api_mount {
    const char *prefix;
    const struct api_route *const *tables;
};

/* ---- router.c ---- */

/* Prepares RQ for a request: context, method, URL (too long: too_large),
 * a fresh request id. */
void api_request_init(struct api_request *rq, struct api_ctx *ctx, const char *method,
                      const char *url);
/* Frees what the router and the handler left in RQ (not RQ itself). */
void api_request_release(struct api_request *rq);
/* Routes RQ through MOUNTS: match (404, 405), microversion (400, 406, and
 * the route's range: 404), size (413), token (401), policy at the door
 * (403), body (400), then the handler. Afterwards rq->status and rq->reply,
 * or rq->err, hold the answer. */
void api_dispatch(const struct api_mount *mounts, struct api_request *rq);
/* For a request whose headers are in: when its route streams its body,
 * runs the door's checks and the route's stream_open and answers true
 * (rq->streaming; an error is in rq->err, answered by api_dispatch at the
 * end); false otherwise, RQ as it was. */
bool api_dispatch_stream_open(const struct api_mount *mounts, struct api_request *rq);
/* Hands one piece of a streamed body to the route's sink (nothing once
 * an error is set). */
void api_stream_feed(struct api_request *rq, const char *data, size_t len);

/* The answer to a dispatched request, as the transport sends it. */
#define API_MAX_HEADERS 10
struct api_response {
    int status;
    char *body; /* JSON text, or the text reply (malloc'd), or NULL for none */
    size_t body_len;
    int fd; /* a reply streamed from a file (owned), or -1 */
    uint64_t fd_size;
    struct {
        const char *name;
        char value[600];
    } headers[API_MAX_HEADERS];
    size_t n_headers;
};
/* Builds RQ's answer: the reply, or one fault body in the style of the
 * service (Keystone's or Nova/Cinder's), and the headers every answer
 * carries (request ids, microversions, Location, X-Subject-Token,
 * WWW-Authenticate on 401). Free with api_response_free. */
int api_response_build(struct api_request *rq, struct api_response *out);
void api_response_free(struct api_response *r);

/* Every route of MOUNTS' tables of SERVICE, once each, as the markdown
 * table of docs/api.md. */
void api_routes_markdown(FILE *f, const struct api_route *const *tables, enum api_service service);

/* ---- server.c ---- */

/* Starts the service: listening socket bound, threads running. */
struct api_server *api_server_start(struct api_ctx *ctx, const struct api_mount *mounts, int *port,
                                    const char *static_file, bool verbose, struct api_error *e);
void api_server_stop(struct api_server *s);

#endif
