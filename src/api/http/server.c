/* The HTTP server of volswap-api, on libmicrohttpd with a small thread pool
 * (each request runs on the worker thread that received it). This file is
 * the transport only, and the one place that knows libmicrohttpd: request
 * bodies are accumulated under a hard cap (413 past API_MAX_BODY, checked
 * against Content-Length before any byte is read), URLs unescaped without
 * letting a %00 cut them short, then router.c dispatches the request and
 * builds the answer this file sends. */
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

static const char *mhd_lookup(void *opaque, bool header, const char *name)
{
    return MHD_lookup_connection_value(opaque, header ? MHD_HEADER_KIND : MHD_GET_ARGUMENT_KIND,
                                       name);
}

static enum MHD_Result send_reply(struct api_server *srv, struct MHD_Connection *conn,
                                  struct api_request *rq)
{
    struct api_response out;
    if (api_response_build(rq, &out) < 0) {
        api_response_free(&out);
        return MHD_NO;
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(out.body_len, out.body ? out.body : (char *)"",
                                        out.body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        api_response_free(&out);
        return MHD_NO;
    }
    for (size_t i = 0; i < out.n_headers; i++)
        MHD_add_response_header(resp, out.headers[i].name, out.headers[i].value);
    if (srv->verbose || out.status >= 500)
        fprintf(stderr, "volswap-api: %s %s %s -> %d%s%s\n", rq->request_id, rq->method, rq->url,
                out.status, rq->err.status ? ": " : "", rq->err.status ? rq->err.msg : "");
    enum MHD_Result r = MHD_queue_response(conn, (unsigned)out.status, resp);
    MHD_destroy_response(resp);
    return r;
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
        api_request_init(rq, srv->ctx, method, url);
        rq->lookup = mhd_lookup;
        rq->lookup_opaque = conn;
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
    api_dispatch(srv->mounts, rq);
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
    api_request_release(rq);
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
