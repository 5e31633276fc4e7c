/* The HTTP server of volswap-api, on libmicrohttpd with a small thread pool.
 * This file owns everything about HTTP: request bodies are accumulated under
 * a hard cap (413 past API_MAX_BODY, checked against Content-Length before
 * any byte is read), routes are matched segment by segment, the token is
 * checked before any handler runs, microversion headers are parsed and
 * echoed, and every error becomes exactly one fault body in the style of the
 * service addressed (Keystone's {"error": ...} or Nova/Cinder's
 * {"itemNotFound": ...}). A request id is generated per request and returned
 * in the headers OpenStack clients log. */
#include "http.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct api_server {
    struct MHD_Daemon *daemon;
    struct api_ctx *ctx;
    const struct api_mount *mounts;
    char *static_body; /* bench baseline: serve this file for every GET */
    size_t static_len;
    bool verbose;
};

int api_reply(struct api_request *rq, int status, json_t *body)
{
    rq->status = status;
    json_decref(rq->reply);
    rq->reply = body;
    return 0;
}

json_t *api_version_doc(struct api_request *rq, const char *id, const char *max, const char *min,
                        const char *updated, const char *path, const char *media_type)
{
    char href[400];
    snprintf(href, sizeof href, "%s%s", rq->ctx->base_url, path);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:[{s:s, s:s}], s:[{s:s, s:s}]}", "id", id,
                     "status", "CURRENT", "version", max, "min_version", min, "updated", updated,
                     "links", "rel", "self", "href", href, "media-types", "base",
                     "application/json", "type", media_type);
}

const char *api_query(struct api_request *rq, const char *name)
{
    return rq->lookup ? rq->lookup(rq->lookup_opaque, false, name) : NULL;
}

const char *api_header(struct api_request *rq, const char *name)
{
    return rq->lookup ? rq->lookup(rq->lookup_opaque, true, name) : NULL;
}

static const char *mhd_lookup(void *opaque, bool header, const char *name)
{
    return MHD_lookup_connection_value(opaque, header ? MHD_HEADER_KIND : MHD_GET_ARGUMENT_KIND,
                                       name);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* ---- routing ---- */

/* Matches PATH against PATTERN ('*' = one non-empty segment, captured).
 * A trailing slash on the path is ignored, as Nova's router does. */
static bool route_match(const char *pattern, const char *path, struct api_request *rq, int *nparams)
{
    *nparams = 0;
    const char *p = pattern, *u = path;
    size_t ulen = strlen(u);
    while (ulen > 1 && u[ulen - 1] == '/')
        ulen--;
    const char *uend = u + ulen;
    while (*p && u < uend) {
        if (*p != '/' || *u != '/')
            return false;
        p++, u++;
        const char *pe = strchr(p, '/');
        size_t plen = pe ? (size_t)(pe - p) : strlen(p);
        const char *ue = memchr(u, '/', (size_t)(uend - u));
        size_t seglen = ue ? (size_t)(ue - u) : (size_t)(uend - u);
        if (plen == 1 && *p == '*') {
            if (seglen == 0 || seglen >= sizeof rq->param_buf[0] || *nparams >= API_MAX_PARAMS)
                return false;
            memcpy(rq->param_buf[*nparams], u, seglen);
            rq->param_buf[*nparams][seglen] = '\0';
            rq->params[*nparams] = rq->param_buf[*nparams];
            (*nparams)++;
        } else if (plen != seglen || memcmp(p, u, plen) != 0) {
            return false;
        }
        p += plen;
        u += seglen;
    }
    return *p == '\0' && (u == uend || (uend - u == 1 && *u == '/'));
}

static const struct api_route *route_find(const struct api_mount *mounts, struct api_request *rq,
                                          bool *path_known)
{
    const struct api_route *const *tables = NULL;
    const char *path = rq->url;
    for (const struct api_mount *m = mounts; m->prefix; m++) {
        size_t pl = strlen(m->prefix);
        if (strncmp(path, m->prefix, pl) == 0 && (pl == 0 || path[pl] == '\0' || path[pl] == '/')) {
            tables = m->tables;
            path = path[pl] ? path + pl : "/";
            break;
        }
    }
    *path_known = false;
    for (size_t t = 0; tables && tables[t]; t++) {
        for (const struct api_route *r = tables[t]; r->pattern; r++) {
            int n;
            if (!route_match(r->pattern, path, rq, &n))
                continue;
            *path_known = true;
            rq->service = r->service;
            if (strcmp(r->method, rq->method) == 0)
                return r;
        }
    }
    return NULL;
}

/* ---- microversions ---- */

/* Finds SERVICE's version in an "OpenStack-API-Version: compute 2.50,
 * volume 3.0" header. Returns a pointer into VAL or NULL. */
static const char *mv_from_header(const char *val, const char *service, char *out, size_t outlen)
{
    size_t sl = strlen(service);
    for (const char *p = val; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > sl && strncasecmp(p, service, sl) == 0 && p[sl] == ' ') {
            const char *v = p + sl;
            while (*v == ' ')
                v++;
            size_t vlen = len - (size_t)(v - p);
            while (vlen && v[vlen - 1] == ' ')
                vlen--;
            snprintf(out, outlen, "%.*s", (int)vlen, v);
            return out;
        }
        p = end;
    }
    return NULL;
}

/* Parses "MAJOR.MINOR" strictly (no leading zeros, as Nova's regex). */
static bool mv_parse(const char *s, int *major, int *minor)
{
    int ma = 0, mi = 0, n = 0;
    if (sscanf(s, "%4d.%4d%n", &ma, &mi, &n) != 2 || (size_t)n != strlen(s))
        return false;
    const char *dot = strchr(s, '.');
    if (s[0] == '0' || !dot || (dot[1] == '0' && dot[2] != '\0') || s[0] == '+' || s[0] == '-' ||
        dot[1] == '+' || dot[1] == '-' || dot[1] == ' ' || s[0] == ' ')
        return false;
    *major = ma;
    *minor = mi;
    return true;
}

static int negotiate_mv(struct api_request *rq)
{
    const char *service = rq->service == SVC_COMPUTE ? "compute" : "volume";
    int want_major = rq->service == SVC_COMPUTE ? 2 : 3;
    int min = rq->service == SVC_COMPUTE ? 1 : 0;
    int max = rq->service == SVC_COMPUTE ? NOVA_MV_MAX : CINDER_MV_MAX;
    char buf[64];
    const char *v = NULL;
    const char *h = api_header(rq, "OpenStack-API-Version");
    if (h)
        v = mv_from_header(h, service, buf, sizeof buf);
    if (!v && rq->service == SVC_COMPUTE)
        v = api_header(rq, "X-OpenStack-Nova-API-Version");
    if (!v && rq->service == SVC_VOLUME)
        v = api_header(rq, "OpenStack-Volume-microversion");
    rq->mv = min;
    if (!v)
        return 0;
    rq->mv_requested = true;
    if (strcasecmp(v, "latest") == 0) {
        rq->mv = max;
        return 0;
    }
    int ma, mi;
    if (!mv_parse(v, &ma, &mi))
        return api_err(&rq->err, 400,
                       "API Version String %.32s is of invalid format. Must be "
                       "of format MajorNum.MinorNum.",
                       v);
    if (ma != want_major || mi < min || mi > max)
        return api_err(&rq->err, 406,
                       "Version %.32s is not supported by the API. Minimum is "
                       "%d.%d and maximum is %d.%d.",
                       v, want_major, min, want_major, max);
    rq->mv = mi;
    return 0;
}

/* ---- replies ---- */

static void add_common_headers(struct api_request *rq, struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "x-openstack-request-id", rq->request_id);
    if (rq->service == SVC_COMPUTE) {
        char v[32];
        MHD_add_response_header(resp, "x-compute-request-id", rq->request_id);
        snprintf(v, sizeof v, "compute 2.%d", rq->mv);
        MHD_add_response_header(resp, "OpenStack-API-Version", v);
        snprintf(v, sizeof v, "2.%d", rq->mv);
        MHD_add_response_header(resp, "X-OpenStack-Nova-API-Version", v);
        MHD_add_response_header(resp, "Vary",
                                "OpenStack-API-Version, X-OpenStack-Nova-API-Version");
    } else if (rq->service == SVC_VOLUME) {
        char v[32];
        snprintf(v, sizeof v, "volume 3.%d", rq->mv);
        MHD_add_response_header(resp, "OpenStack-API-Version", v);
        MHD_add_response_header(resp, "Vary", "OpenStack-API-Version");
    }
    if (rq->subject_token[0])
        MHD_add_response_header(resp, "X-Subject-Token", rq->subject_token);
    if (rq->location[0])
        MHD_add_response_header(resp, "Location", rq->location);
}

static json_t *error_body(struct api_request *rq)
{
    const char *msg = rq->err.msg[0] ? rq->err.msg : "An unknown error occurred.";
    /* Keystone (and keystonemiddleware's 401 in front of any service) uses
   * {"error": {"code", "title", "message"}} */
    if (rq->service == SVC_IDENTITY || rq->err.status == 401) {
        const char *title = rq->err.status == 401   ? "Unauthorized"
                            : rq->err.status == 400 ? "Bad Request"
                            : rq->err.status == 403 ? "Forbidden"
                            : rq->err.status == 404 ? "Not Found"
                            : rq->err.status == 413 ? "Request Entity Too Large"
                                                    : "Internal Server Error";
        return json_pack("{s:{s:i, s:s, s:s}}", "error", "code", rq->err.status, "title", title,
                         "message", msg);
    }
    return api_fault_body(rq->err.status, msg);
}

static enum MHD_Result send_reply(struct api_server *srv, struct MHD_Connection *conn,
                                  struct api_request *rq)
{
    char *text = NULL;
    size_t len = 0;
    int status = rq->status;
    json_t *body = rq->reply;
    json_t *owned = NULL;
    if (rq->err.status) {
        status = rq->err.status;
        body = owned = error_body(rq);
    }
    if (body) {
        text = json_dumps(body, JSON_COMPACT);
        len = text ? strlen(text) : 0;
    }
    json_decref(owned);
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, text ? text : (char *)"", text ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    if (body)
        MHD_add_response_header(resp, "Content-Type", "application/json");
    add_common_headers(rq, resp);
    if (status == 401) {
        char h[400];
        snprintf(h, sizeof h, "Keystone uri=\"%s/v3\"", rq->ctx->base_url);
        MHD_add_response_header(resp, "WWW-Authenticate", h);
    }
    if (srv->verbose || status >= 500)
        fprintf(stderr, "volswap-api: %s %s %s -> %d%s%s\n", rq->request_id, rq->method, rq->url,
                status, rq->err.status ? ": " : "", rq->err.status ? rq->err.msg : "");
    enum MHD_Result r = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return r;
}

/* ---- dispatch ---- */

static void dispatch(const struct api_mount *mounts, struct api_request *rq)
{
    bool known = false;
    const struct api_route *r = route_find(mounts, rq, &known);
    if (!r) {
        if (known)
            api_err(&rq->err, 405, "The method %s is not allowed for this resource.", rq->method);
        else
            api_err(&rq->err, 404, "The resource could not be found.");
        return;
    }
    if ((rq->service == SVC_COMPUTE || rq->service == SVC_VOLUME) && negotiate_mv(rq) < 0)
        return;
    if (rq->too_large) {
        api_err(&rq->err, 413, "Request is too large.");
        return;
    }
    if (r->needs_auth) {
        const char *tok = api_header(rq, "X-Auth-Token");
        if (auth_validate(rq->ctx->auth, tok, &rq->auth, &rq->err) < 0)
            return;
    }
    rq->err.status = 0;
    if (r->fn(rq) < 0 && rq->err.status == 0)
        api_err(&rq->err, 500, "Unexpected API Error.");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct api_server *srv = cls;
    struct api_request *rq = *con_cls;
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        if (!rq)
            return MHD_NO;
        rq->ctx = srv->ctx;
        rq->lookup = mhd_lookup;
        rq->lookup_opaque = conn;
        rq->method = method;
        snprintf(rq->url, sizeof rq->url, "%s", url);
        if (strlen(url) >= sizeof rq->url)
            rq->too_large = true;
        char uuid[37];
        api_uuid(uuid);
        snprintf(rq->request_id, sizeof rq->request_id, "req-%s", uuid);
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > API_MAX_BODY)
            rq->too_large = true;
        *con_cls = rq;
        return MHD_YES;
    }
    if (*upload_data_size) {
        /* past the cap the rest is drained and dropped, then one 413 goes out */
        if (!rq->too_large && rq->body_len + *upload_data_size > API_MAX_BODY)
            rq->too_large = true;
        if (!rq->too_large) {
            if (rq->body_len + *upload_data_size + 1 > rq->body_cap) {
                size_t ncap = rq->body_cap ? rq->body_cap : 1024;
                while (ncap < rq->body_len + *upload_data_size + 1)
                    ncap *= 2;
                char *nb = realloc(rq->body, ncap);
                if (!nb)
                    return MHD_NO;
                rq->body = nb;
                rq->body_cap = ncap;
            }
            memcpy(rq->body + rq->body_len, upload_data, *upload_data_size);
            rq->body_len += *upload_data_size;
            rq->body[rq->body_len] = '\0';
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (srv->static_body) {
        struct MHD_Response *resp = MHD_create_response_from_buffer(
            srv->static_len, srv->static_body, MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(resp, "Content-Type", "application/json");
        enum MHD_Result res = MHD_queue_response(conn, MHD_HTTP_OK, resp);
        MHD_destroy_response(resp);
        return res;
    }
    dispatch(srv->mounts, rq);
    return send_reply(srv, conn, rq);
}

/* URL unescaping that keeps "%00" as it is: a decoded NUL would silently
 * cut the path short (".../servers/%00/x" must not become ".../servers/"). */
static size_t unescape_url(void *cls, struct MHD_Connection *c, char *s)
{
    char *w = s;
    for (const char *r = s; *r; r++) {
        int hi, lo;
        if (r[0] == '%' && (hi = hexval(r[1])) >= 0 && (lo = hexval(r[2])) >= 0 && (hi || lo)) {
            *w++ = (char)(hi * 16 + lo);
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct api_request *rq = *con_cls;
    if (!rq)
        return;
    json_decref(rq->reply);
    free(rq->body);
    free(rq);
    *con_cls = NULL;
}

struct api_server *api_server_start(struct api_ctx *ctx, const struct api_mount *mounts, int *port,
                                    const char *static_file, bool verbose, struct api_error *e)
{
    struct api_server *s = calloc(1, sizeof *s);
    if (!s) {
        api_err(e, 500, "out of memory");
        return NULL;
    }
    s->ctx = ctx;
    s->mounts = mounts;
    s->verbose = verbose;
    if (static_file) {
        FILE *f = fopen(static_file, "rb");
        if (!f) {
            free(s);
            api_err(e, 500, "cannot open %s", static_file);
            return NULL;
        }
        s->static_body = malloc(API_MAX_BODY);
        s->static_len = s->static_body ? fread(s->static_body, 1, API_MAX_BODY, f) : 0;
        fclose(f);
    }
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    if (inet_pton(AF_INET, ctx->cfg->listen_address, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)*port);
    } else if (inet_pton(AF_INET6, ctx->cfg->listen_address, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)*port);
        flags |= MHD_USE_IPv6;
    } else {
        free(s->static_body);
        free(s);
        api_err(e, 500, "listen address %s is not an IP address", ctx->cfg->listen_address);
        return NULL;
    }
    s->daemon = MHD_start_daemon(
        flags, (uint16_t)*port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)ctx->cfg->threads,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_CONNECTION_LIMIT, (unsigned)1024,
        /* headers and URL only (bodies are copied out): MHD
                                * clears the pool per connection, so small is fast */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(16 * 1024), MHD_OPTION_LISTEN_BACKLOG_SIZE,
        (unsigned)512, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_UNESCAPE_CALLBACK,
        unescape_url, s, MHD_OPTION_END);
    if (!s->daemon) {
        free(s->static_body);
        free(s);
        api_err(e, 500, "cannot listen on %s port %d", ctx->cfg->listen_address, *port);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    if (info)
        *port = info->port;
    return s;
}

void api_server_stop(struct api_server *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->daemon);
    free(s->static_body);
    free(s);
}
