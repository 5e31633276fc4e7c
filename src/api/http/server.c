/* The HTTP server of volswap-api, on libmicrohttpd with a small thread pool
 * (each request runs on the worker thread that received it). This file is
 * the transport only, and the one place that knows libmicrohttpd: request
 * bodies are accumulated under a hard cap (413 past API_MAX_BODY, checked
 * against Content-Length before any byte is read), URLs unescaped without
 * letting a %00 cut them short, then router.c dispatches the request and
 * builds the answer this file sends. */
#include "http.h"
#include "qmp-client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* What the server knows of one connection, for the whole-request
 * deadline: libmicrohttpd's own timeout is an idle timeout, which a client
 * that trickles a byte now and then restarts forever. A request has
 * request_seconds from its first byte (from the connection's start, or the
 * end of the previous answer on it) until it is complete; past that the
 * reaper shuts the socket down and libmicrohttpd closes the connection.
 * Listed under conns_lock: added and removed by libmicrohttpd's threads
 * (NOTIFY_CONNECTION), scanned by the reaper thread. The socket stays open
 * while its entry is listed (libmicrohttpd closes it after the CLOSED
 * notification, which waits for the lock), so the reaper never touches a
 * descriptor that was reused.
 *
 * A streamed body (an image upload) is past the door once its headers
 * arrived and may take as long as it needs, but not stall: each span of
 * request_seconds must bring upload_bytes_per_second times as many bytes,
 * or the reaper cuts it like a late request (the upload's close puts the
 * image back to queued). So a big image at a steady pace uploads, and a
 * client that stops sending holds its worker for at most one span. */
struct api_conn {
    int fd;
    int64_t since_ms;    /* when the request now arriving (or the span) began */
    bool handling;       /* complete, in a handler or being answered */
    bool streaming;      /* a streamed body arriving: measured by spans */
    uint64_t span_bytes; /* bytes of the body since since_ms */
    bool cut;
    struct vs_list link; /* in api_server.conns */
};

struct api_server {
    struct MHD_Daemon *daemon;
    struct api_ctx *ctx;
    const struct api_mount *mounts;
    char *static_body; /* bench baseline: serve this file for every GET */
    size_t static_len;
    bool verbose;
    char *tls_cert, *tls_key; /* PEM, for as long as the daemon runs */
    pthread_mutex_t conns_lock;
    pthread_cond_t reaper_wake;
    struct vs_list conns;
    pthread_t reaper;
    bool reaper_running, stopping;
    int64_t deadline_ms;
    uint64_t span_min_bytes; /* what a streamed body brings in a span at least */
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
    struct MHD_Response *resp = NULL;
    if (out.fd >= 0) { /* a file streamed out: libmicrohttpd owns and closes the descriptor */
        resp = MHD_create_response_from_fd64(out.fd_size, out.fd);
        if (resp)
            out.fd = -1;
    } else {
        resp = MHD_create_response_from_buffer(out.body_len, out.body ? out.body : (char *)"",
                                               out.body ? MHD_RESPMEM_MUST_FREE
                                                        : MHD_RESPMEM_PERSISTENT);
    }
    if (!resp) {
        api_response_free(&out);
        return MHD_NO;
    }
    for (size_t i = 0; i < out.n_headers; i++)
        MHD_add_response_header(resp, out.headers[i].name, out.headers[i].value);
    enum MHD_Result r = MHD_queue_response(conn, (unsigned)out.status, resp);
    int64_t took_ns = (int64_t)vs_now_ns() - rq->start_ns;
    if (srv->verbose || out.status >= 500)
        vs_log_fields(out.status >= 500 ? VS_LOG_ERROR : VS_LOG_INFO,
                      VS_LOG_FIELDS(VS_LOG_STR("method", rq->method), VS_LOG_STR("path", rq->url),
                                    VS_LOG_NUM("status", out.status),
                                    VS_LOG_NUM("duration_us", took_ns / 1000)),
                      "%s %s -> %d%s%s", rq->method, rq->url, out.status,
                      rq->err.status ? ": " : "",
                      !rq->err.status       ? ""
                      : rq->err.msg_secret ? "(the message names a credential: not logged)"
                                           : rq->err.msg);
    api_metrics_observe(rq, out.status, (double)took_ns / 1e9);
    MHD_destroy_response(resp);
    return r;
}

/* ---- connections and the request deadline ---- */

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct api_server *srv = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct api_conn *c = ci ? calloc(1, sizeof *c) : NULL;
        if (!c)
            return; /* untracked: only the idle timeout applies */
        c->fd = ci->connect_fd;
        c->since_ms = api_now_ms();
        pthread_mutex_lock(&srv->conns_lock);
        vs_list_append(&srv->conns, &c->link);
        pthread_mutex_unlock(&srv->conns_lock);
        *socket_context = c;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        struct api_conn *c = *socket_context;
        if (!c)
            return;
        pthread_mutex_lock(&srv->conns_lock);
        vs_list_remove(&c->link);
        pthread_mutex_unlock(&srv->conns_lock);
        free(c);
        *socket_context = NULL;
    }
}

static struct api_conn *conn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static void conn_set_handling(struct api_server *srv, struct MHD_Connection *conn, bool handling)
{
    struct api_conn *c = conn_of(conn);
    if (!c)
        return;
    pthread_mutex_lock(&srv->conns_lock);
    c->handling = handling;
    c->streaming = false;
    c->since_ms = api_now_ms();
    pthread_mutex_unlock(&srv->conns_lock);
}

/* The request's body is streamed from now on: spans instead of a deadline. */
static void conn_set_streaming(struct api_server *srv, struct MHD_Connection *conn)
{
    struct api_conn *c = conn_of(conn);
    if (!c)
        return;
    pthread_mutex_lock(&srv->conns_lock);
    c->handling = false;
    c->streaming = true;
    c->span_bytes = 0;
    c->since_ms = api_now_ms();
    pthread_mutex_unlock(&srv->conns_lock);
}

static void conn_stream_progress(struct api_server *srv, struct MHD_Connection *conn, size_t n)
{
    struct api_conn *c = conn_of(conn);
    if (!c)
        return;
    pthread_mutex_lock(&srv->conns_lock);
    c->span_bytes += n;
    pthread_mutex_unlock(&srv->conns_lock);
}

static void *reaper_main(void *arg)
{
    struct api_server *srv = arg;
    pthread_mutex_lock(&srv->conns_lock);
    while (!srv->stopping) {
        int64_t now = api_now_ms();
        vs_list_for_each(pos, &srv->conns) {
            struct api_conn *c = vs_list_entry(pos, struct api_conn, link);
            if (c->handling || c->cut || now - c->since_ms <= srv->deadline_ms)
                continue;
            if (c->streaming && c->span_bytes >= srv->span_min_bytes) {
                /* a streamed body still moving: a new span */
                c->since_ms = now;
                c->span_bytes = 0;
                continue;
            }
            /* libmicrohttpd sees the end of the stream and closes it */
            shutdown(c->fd, SHUT_RDWR);
            c->cut = true;
            if (srv->verbose)
                vs_info(c->streaming ? "closed a connection whose streamed body stalled (fewer "
                                       "than limits.upload_bytes_per_second)"
                                     : "closed a connection whose request took longer than the "
                                       "request deadline");
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 250 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&srv->reaper_wake, &srv->conns_lock, &ts);
    }
    pthread_mutex_unlock(&srv->conns_lock);
    return NULL;
}

/* ---- request framing ---- */

struct framing {
    int content_length;
    int transfer_encoding;
};

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    struct framing *f = cls;
    if (strcasecmp(key, "Content-Length") == 0)
        f->content_length++;
    else if (strcasecmp(key, "Transfer-Encoding") == 0)
        f->transfer_encoding++;
    return MHD_YES;
}

/* A request whose length two parts of a chain could read differently (two
 * Content-Length headers, or one beside Transfer-Encoding) is how requests
 * are smuggled: refused before its body is read, and its connection closed
 * so nothing after it on the wire is taken for a request. */
static bool framing_ambiguous(struct MHD_Connection *conn)
{
    struct framing f = { 0 };
    MHD_get_connection_values(conn, MHD_HEADER_KIND, count_framing, &f);
    return f.content_length > 1 || f.transfer_encoding > 1 ||
           (f.content_length && f.transfer_encoding);
}

static enum MHD_Result refuse_and_close(struct MHD_Connection *conn, struct api_request *rq)
{
    static const char body[] = "{\"badRequest\": {\"code\": 400, \"message\": "
                               "\"Conflicting or repeated Content-Length or "
                               "Transfer-Encoding headers.\"}}";
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(sizeof body - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, "Connection", "close");
    MHD_add_response_header(resp, "x-openstack-request-id", rq->request_id);
    enum MHD_Result r = MHD_queue_response(conn, MHD_HTTP_BAD_REQUEST, resp);
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
        *con_cls = rq;
        if (!framing_ambiguous(conn)) {
            /* a streamed body (an image upload) passes the door now, its
             * token and policy checked before a byte of it is read; the
             * request deadline then gives way to spans it must fill */
            vs_log_set_request(rq->request_id, api_global_request_id(rq));
            if (api_dispatch_stream_open(srv->mounts, rq) && !rq->err.status)
                conn_set_streaming(srv, conn);
            vs_log_set_request(NULL, NULL);
        }
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (!rq->streaming && cl && strtoull(cl, NULL, 10) > API_MAX_BODY)
            rq->too_large = true;
        if (framing_ambiguous(conn)) {
            rq->refused = true;
            if (srv->verbose) {
                vs_log_set_request(rq->request_id, NULL);
                vs_log_fields(VS_LOG_INFO,
                              VS_LOG_FIELDS(VS_LOG_STR("method", method),
                                            VS_LOG_STR("path", rq->url), VS_LOG_NUM("status", 400)),
                              "%s %s -> 400 (ambiguous framing), closing", method, rq->url);
                vs_log_set_request(NULL, NULL);
            }
            return refuse_and_close(conn, rq);
        }
        return MHD_YES;
    }
    if (rq->refused) {
        *upload_data_size = 0;
        return MHD_NO;
    }
    if (*upload_data_size && rq->streaming) {
        conn_stream_progress(srv, conn, *upload_data_size);
        api_stream_feed(rq, upload_data, *upload_data_size);
        *upload_data_size = 0;
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
    conn_set_handling(srv, conn, true);
    /* The host daemons' logs name the request that sent each command. */
    qmp_set_request_tag(rq->request_id);
    /* and so do ours: every line this request causes carries its id */
    vs_log_set_request(rq->request_id, api_global_request_id(rq));
    api_dispatch(srv->mounts, rq);
    qmp_set_request_tag(NULL);
    enum MHD_Result res = send_reply(srv, conn, rq);
    vs_log_set_request(NULL, NULL);
    return res;
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
    struct api_server *srv = cls;
    /* the next request on this connection starts its own deadline */
    conn_set_handling(srv, conn, false);
    struct api_request *rq = *con_cls;
    if (!rq)
        return;
    api_request_release(rq);
    free(rq);
    *con_cls = NULL;
}

/* Reads a PEM file whole (certificates and keys are small). */
static char *read_pem(const char *path, struct api_error *e)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        api_err(e, 500, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(256 * 1024);
    size_t n = buf ? fread(buf, 1, 256 * 1024 - 1, f) : 0;
    bool whole = buf && feof(f) && !ferror(f);
    fclose(f);
    if (!whole || n == 0) {
        free(buf);
        api_err(e, 500, "cannot read %s: empty, unreadable or larger than 256 KiB", path);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

static void server_free(struct api_server *s)
{
    free(s->static_body);
    free(s->tls_cert);
    if (s->tls_key) {
        explicit_bzero(s->tls_key, strlen(s->tls_key));
        free(s->tls_key);
    }
    pthread_mutex_destroy(&s->conns_lock);
    pthread_cond_destroy(&s->reaper_wake);
    free(s);
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
    pthread_mutex_init(&s->conns_lock, NULL);
    vs_list_init(&s->conns);
    pthread_cond_init(&s->reaper_wake, NULL);
    s->deadline_ms = (int64_t)ctx->cfg->request_seconds * 1000;
    s->span_min_bytes = (uint64_t)ctx->cfg->upload_bytes_per_second *
                        (uint64_t)ctx->cfg->request_seconds;
    if (static_file) {
        FILE *f = fopen(static_file, "rb");
        if (!f) {
            server_free(s);
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
        server_free(s);
        api_err(e, 500, "listen address %s is not an IP address", ctx->cfg->listen_address);
        return NULL;
    }
    if (ctx->cfg->tls_cert[0]) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            server_free(s);
            api_err(e, 500, "tls: this libmicrohttpd was built without TLS");
            return NULL;
        }
        if (!(s->tls_cert = read_pem(ctx->cfg->tls_cert, e)) ||
            !(s->tls_key = read_pem(ctx->cfg->tls_key, e))) {
            server_free(s);
            return NULL;
        }
        flags |= MHD_USE_TLS;
    }
    /* TLS options go last: MHD_OPTION_END in their place when plain */
    s->daemon = MHD_start_daemon(
        flags, (uint16_t)*port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)ctx->cfg->threads,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)ctx->cfg->max_connections,
        /* one address cannot take every connection slot */
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)ctx->cfg->max_per_address,
        /* headers and URL only (bodies are copied out): MHD
         * clears the pool per connection, so small is fast */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(16 * 1024), MHD_OPTION_LISTEN_BACKLOG_SIZE,
        (unsigned)512, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_NOTIFY_CONNECTION,
        on_connection, s, MHD_OPTION_UNESCAPE_CALLBACK, unescape_url, s,
        s->tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, s->tls_cert,
        MHD_OPTION_HTTPS_MEM_KEY, s->tls_key, MHD_OPTION_END);
    if (!s->daemon) {
        server_free(s);
        api_err(e, 500, "cannot listen on %s port %d%s", ctx->cfg->listen_address, *port,
                ctx->cfg->tls_cert[0] ? " (or the TLS certificate and key do not load)" : "");
        return NULL;
    }
    if (pthread_create(&s->reaper, NULL, reaper_main, s) == 0)
        s->reaper_running = true;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    if (info)
        *port = info->port;
    return s;
}

void api_server_stop(struct api_server *s)
{
    if (!s)
        return;
    if (s->reaper_running) {
        pthread_mutex_lock(&s->conns_lock);
        s->stopping = true;
        pthread_cond_signal(&s->reaper_wake);
        pthread_mutex_unlock(&s->conns_lock);
        pthread_join(s->reaper, NULL);
    }
    MHD_stop_daemon(s->daemon);
    server_free(s);
}
