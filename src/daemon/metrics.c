/* volswapd's Prometheus endpoint (--metrics): a small HTTP/1.x server on
 * the event loop that answers GET /metrics with the text exposition format
 * and closes. It reads what the layers already keep — the NBD exports'
 * counters (src/nbd), the jobs' progress (query-block-jobs), the nodes —
 * and adds one thing of its own: each mirror's copy rate, sampled once a
 * second, because a scraper's rate() over a 15 s scrape interval cannot
 * show the rate a pivot is waiting on.
 *
 * A scraper is untrusted: its head is bounded (METRICS_HEAD_MAX), each
 * connection has a deadline, and there are at most METRICS_MAX_CONNS at
 * once; beyond that a connection is closed at once. */
#include "daemon.h"
#include "../jobs/jobs.h"

#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define METRICS_MAX_CONNS 16
#define METRICS_CONN_DEADLINE_NS (10ull * 1000 * 1000 * 1000)
#define RATE_SAMPLE_NS (1000ull * 1000 * 1000)
#define RATE_MAX_JOBS 64

struct mconn {
    struct vs_loop *loop;
    int fd;
    char in[METRICS_HEAD_MAX];
    size_t in_len;
    char *out;
    size_t out_len, out_sent;
    struct vs_completion recv_c, send_c;
    bool busy;                 /* a recv or send is in the ring */
    bool lingering;            /* answered: reading what is left, to EOF */
    size_t drained;
    bool done;                 /* finished or given up: close when idle */
    struct vs_timer deadline;
    struct vs_list link;
};

/* A mirror's copy rate: bytes per second over the last sample. */
struct rate {
    char *job;
    uint64_t offset, at_ns;
    double bytes_per_s;
    bool seen;
};

static struct {
    struct vs_loop *loop;
    struct vs_listener *listener;
    struct vs_list conns;
    unsigned nconns;
    struct vs_timer sampler;
    struct rate rates[RATE_MAX_JOBS];
    uint64_t scrapes;
} M = { .conns = VS_LIST_INIT(M.conns) };

/* ---- copy-rate sampler ------------------------------------------------ */

static struct rate *rate_find(const char *job, bool create)
{
    struct rate *free_slot = NULL;
    for (size_t i = 0; i < RATE_MAX_JOBS; i++) {
        if (M.rates[i].job && strcmp(M.rates[i].job, job) == 0)
            return &M.rates[i];
        if (!M.rates[i].job && !free_slot)
            free_slot = &M.rates[i];
    }
    if (!create || !free_slot)
        return NULL;
    free_slot->job = vs_strdup(job);
    return free_slot;
}

static void sample_rates(struct vs_timer *t)
{
    uint64_t now = vs_now_ns();
    json_t *jobs = jobs_query_block_jobs();
    for (size_t i = 0; i < RATE_MAX_JOBS; i++)
        M.rates[i].seen = false;
    size_t idx;
    json_t *j;
    json_array_foreach(jobs, idx, j) {
        const char *id = json_string_value(json_object_get(j, "device"));
        uint64_t off = (uint64_t)json_integer_value(json_object_get(j, "offset"));
        struct rate *r = id ? rate_find(id, true) : NULL;
        if (!r)
            continue;
        if (r->at_ns && now > r->at_ns && off >= r->offset)
            r->bytes_per_s = (double)(off - r->offset) * 1e9 / (double)(now - r->at_ns);
        r->offset = off;
        r->at_ns = now;
        r->seen = true;
    }
    json_decref(jobs);
    for (size_t i = 0; i < RATE_MAX_JOBS; i++) {
        if (M.rates[i].job && !M.rates[i].seen) {
            free(M.rates[i].job);
            memset(&M.rates[i], 0, sizeof(M.rates[i]));
        }
    }
    vs_timer_arm(M.loop, &M.sampler, RATE_SAMPLE_NS);
}

/* ---- rendering -------------------------------------------------------- */

/* A label value: backslash, quote and newline escaped. */
static void put_label(FILE *f, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            fprintf(f, "\\%c", *v);
        else if (*v == '\n')
            fputs("\\n", f);
        else
            fputc(*v, f);
    }
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void put_export_value(FILE *f, const char *name, const struct nbd_export *e,
                             uint64_t v)
{
    fprintf(f, "%s{export=\"", name);
    put_label(f, e->id);
    fprintf(f, "\"} %llu\n", (unsigned long long)v);
}

static void render_nbd(FILE *f)
{
    family(f, "volswap_nbd_server_listening", "gauge",
           "Whether the NBD server is listening (1) or not (0).");
    fprintf(f, "volswap_nbd_server_listening %d\n", nbd_server_running() ? 1 : 0);
    family(f, "volswap_nbd_clients", "gauge", "NBD client connections open now.");
    fprintf(f, "volswap_nbd_clients %u\n", nbd_server_client_count());
    family(f, "volswap_nbd_accepted_connections_total", "counter",
           "NBD client connections accepted.");
    fprintf(f, "volswap_nbd_accepted_connections_total %llu\n",
            (unsigned long long)nbd_server_accepted_total());

    family(f, "volswap_nbd_export_clients", "gauge",
           "NBD clients connected to the export now.");
    for (struct nbd_export *e = nbd_export_next(NULL); e; e = nbd_export_next(e))
        put_export_value(f, "volswap_nbd_export_clients", e, e->connections);
    family(f, "volswap_nbd_export_connections_total", "counter",
           "NBD clients that chose the export.");
    for (struct nbd_export *e = nbd_export_next(NULL); e; e = nbd_export_next(e))
        put_export_value(f, "volswap_nbd_export_connections_total", e,
                         nbd_export_stats_now(e).connections_total);
    family(f, "volswap_nbd_export_size_bytes", "gauge", "Size of the export's node.");
    for (struct nbd_export *e = nbd_export_next(NULL); e; e = nbd_export_next(e))
        put_export_value(f, "volswap_nbd_export_size_bytes", e,
                         blk_size(&e->blk));

    family(f, "volswap_nbd_requests_total", "counter",
           "NBD requests answered, by export and command.");
    for (struct nbd_export *e = nbd_export_next(NULL); e; e = nbd_export_next(e)) {
        for (unsigned c = 0; c < NBD_STATS_NCMDS; c++) {
            if (c == 2) /* NBD_CMD_DISC has no reply */
                continue;
            fputs("volswap_nbd_requests_total{export=\"", f);
            put_label(f, e->id);
            fprintf(f, "\",command=\"%s\"} %llu\n", nbd_cmd_name(c),
                    (unsigned long long)nbd_export_stats_now(e).ops[c]);
        }
    }
    family(f, "volswap_nbd_request_errors_total", "counter",
           "NBD requests answered with an error, by export and command.");
    for (struct nbd_export *e = nbd_export_next(NULL); e; e = nbd_export_next(e)) {
        for (unsigned c = 0; c < NBD_STATS_NCMDS; c++) {
            if (c == 2)
                continue;
            fputs("volswap_nbd_request_errors_total{export=\"", f);
            put_label(f, e->id);
            fprintf(f, "\",command=\"%s\"} %llu\n", nbd_cmd_name(c),
                    (unsigned long long)nbd_export_stats_now(e).errors[c]);
        }
    }
    family(f, "volswap_nbd_read_bytes_total", "counter", "Bytes read by NBD clients.");
    for (struct nbd_export *e = nbd_export_next(NULL); e; e = nbd_export_next(e))
        put_export_value(f, "volswap_nbd_read_bytes_total", e, nbd_export_stats_now(e).bytes_read);
    family(f, "volswap_nbd_written_bytes_total", "counter", "Bytes written by NBD clients.");
    for (struct nbd_export *e = nbd_export_next(NULL); e; e = nbd_export_next(e))
        put_export_value(f, "volswap_nbd_written_bytes_total", e, nbd_export_stats_now(e).bytes_written);

    static const uint32_t bounds_us[] = { NBD_LATENCY_BUCKETS_US };
    family(f, "volswap_nbd_request_duration_seconds", "histogram",
           "Time from an NBD request's header to its reply being queued.");
    for (struct nbd_export *e = nbd_export_next(NULL); e; e = nbd_export_next(e)) {
        uint64_t cum = 0;
        for (unsigned b = 0; b < NBD_LATENCY_NBUCKETS; b++) {
            cum += nbd_export_stats_now(e).latency[b];
            fputs("volswap_nbd_request_duration_seconds_bucket{export=\"", f);
            put_label(f, e->id);
            if (b < VS_ARRAY_SIZE(bounds_us))
                fprintf(f, "\",le=\"%g\"} %llu\n", bounds_us[b] / 1e6, (unsigned long long)cum);
            else
                fprintf(f, "\",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
        }
        fputs("volswap_nbd_request_duration_seconds_sum{export=\"", f);
        put_label(f, e->id);
        fprintf(f, "\"} %.9f\n", nbd_export_stats_now(e).latency_sum_ns / 1e9);
        fputs("volswap_nbd_request_duration_seconds_count{export=\"", f);
        put_label(f, e->id);
        fprintf(f, "\"} %llu\n", (unsigned long long)cum);
    }
}

static void put_job_value(FILE *f, const char *name, const char *job, const char *fmt_value)
{
    fprintf(f, "%s{job=\"", name);
    put_label(f, job);
    fprintf(f, "\"} %s\n", fmt_value);
}

/* The mirror job's families: one value a job, from its query-block-jobs
 * entry J (ID its device). */
static void copied_bytes(json_t *j, const char *id, char *v, size_t len)
{
    (void)id;
    snprintf(v, len, "%lld", (long long)json_integer_value(json_object_get(j, "offset")));
}

static void dirty_bytes(json_t *j, const char *id, char *v, size_t len)
{
    (void)id;
    long long total = json_integer_value(json_object_get(j, "len"));
    long long off = json_integer_value(json_object_get(j, "offset"));
    snprintf(v, len, "%lld", total > off ? total - off : 0);
}

static void copy_rate(json_t *j, const char *id, char *v, size_t len)
{
    (void)j;
    struct rate *r = rate_find(id, false);
    snprintf(v, len, "%.0f", r ? r->bytes_per_s : 0.0);
}

static void speed_limit(json_t *j, const char *id, char *v, size_t len)
{
    (void)id;
    snprintf(v, len, "%lld", (long long)json_integer_value(json_object_get(j, "speed")));
}

static void ready(json_t *j, const char *id, char *v, size_t len)
{
    (void)id;
    snprintf(v, len, "%d", json_is_true(json_object_get(j, "ready")));
}

struct mirror_family {
    const char *name, *type, *help;
    void (*value)(json_t *j, const char *id, char *v, size_t len);
};

static const struct mirror_family mirror_families[] = {
    { "volswap_mirror_copied_bytes_total", "counter",
      "Bytes the mirror job has copied to its target.", copied_bytes },
    { "volswap_mirror_dirty_bytes", "gauge",
      "Bytes the mirror job still has to copy (dirty or in flight).", dirty_bytes },
    { "volswap_mirror_copy_rate_bytes_per_second", "gauge",
      "The mirror job's copy rate over the last second.", copy_rate },
    { "volswap_mirror_speed_limit_bytes_per_second", "gauge",
      "The job's speed limit (0: unlimited).", speed_limit },
    { "volswap_mirror_ready", "gauge",
      "Whether the mirror job is READY (source and target in sync).", ready },
};

static void render_jobs(FILE *f)
{
    static const char *states[] = {
        "undefined", "created", "running", "paused", "ready", "standby", "waiting",
        "pending", "aborting", "concluded", "null",
    };
    json_t *jobs = jobs_query_jobs();
    json_t *bjobs = jobs_query_block_jobs();
    size_t i;
    json_t *j;

    family(f, "volswap_jobs", "gauge", "Jobs that exist now (any state).");
    fprintf(f, "volswap_jobs %zu\n", json_array_size(jobs));
    family(f, "volswap_job_state", "gauge",
           "1 for the state a job is in, 0 for the others (QEMU's job states).");
    json_array_foreach(jobs, i, j) {
        const char *id = json_string_value(json_object_get(j, "id"));
        const char *type = json_string_value(json_object_get(j, "type"));
        const char *status = json_string_value(json_object_get(j, "status"));
        if (!id || !type || !status)
            continue;
        for (size_t s = 0; s < VS_ARRAY_SIZE(states); s++) {
            fputs("volswap_job_state{job=\"", f);
            put_label(f, id);
            fprintf(f, "\",type=\"%s\",state=\"%s\"} %d\n", type, states[s],
                    strcmp(states[s], status) == 0);
        }
    }

    for (size_t k = 0; k < VS_ARRAY_SIZE(mirror_families); k++) {
        const struct mirror_family *fam = &mirror_families[k];
        family(f, fam->name, fam->type, fam->help);
        json_array_foreach(bjobs, i, j) {
            const char *id = json_string_value(json_object_get(j, "device"));
            if (!id)
                continue;
            char v[64];
            fam->value(j, id, v, sizeof v);
            put_job_value(f, fam->name, id, v);
        }
    }
    json_decref(jobs);
    json_decref(bjobs);
}

char *metrics_render(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    family(f, "volswap_build_info", "gauge", "volswapd's version, as a label.");
    fprintf(f, "volswap_build_info{version=\"%s\"} 1\n", VOLSWAP_VERSION);
    family(f, "volswap_metrics_scrapes_total", "counter", "Scrapes of this endpoint.");
    fprintf(f, "volswap_metrics_scrapes_total %llu\n", (unsigned long long)M.scrapes);

    unsigned nodes = 0;
    for (struct block_node *n = block_node_next(NULL); n; n = block_node_next(n))
        nodes++;
    family(f, "volswap_block_nodes", "gauge", "Block nodes open.");
    fprintf(f, "volswap_block_nodes %u\n", nodes);
    family(f, "volswap_block_node_size_bytes", "gauge", "Size of each block node.");
    for (struct block_node *n = block_node_next(NULL); n; n = block_node_next(n)) {
        fputs("volswap_block_node_size_bytes{node=\"", f);
        put_label(f, n->name);
        fprintf(f, "\"} %llu\n", (unsigned long long)n->size);
    }
    render_nbd(f);
    render_jobs(f);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* ---- connections ------------------------------------------------------ */

static void conn_arm_recv(struct mconn *c);
static void conn_arm_send(struct mconn *c);

static void conn_maybe_free(struct mconn *c)
{
    if (c->busy || !c->done)
        return;
    vs_timer_cancel(c->loop, &c->deadline);
    vs_list_remove(&c->link);
    M.nconns--;
    close(c->fd);
    free(c->out);
    free(c);
}

static void conn_give_up(struct mconn *c)
{
    c->done = true;
    /* Ends a recv or send in the ring with 0 or an error. */
    shutdown(c->fd, SHUT_RDWR);
    conn_maybe_free(c);
}

static void conn_deadline(struct vs_timer *t)
{
    conn_give_up(vs_container_of(t, struct mconn, deadline));
}

static void respond(struct mconn *c, const char *status, const char *ctype, const char *body,
                    bool head_only)
{
    size_t blen = body ? strlen(body) : 0;
    char *out = NULL;
    size_t olen = 0;
    FILE *f = open_memstream(&out, &olen);
    if (!f) {
        conn_give_up(c);
        return;
    }
    fprintf(f, "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
               "Connection: close\r\n\r\n", status, ctype, blen);
    if (body && !head_only)
        fwrite(body, 1, blen, f);
    fclose(f);
    c->out = out;
    c->out_len = olen;
    conn_arm_send(c);
}

static void handle(struct mconn *c, enum metrics_parse p, const struct metrics_request *req)
{
    const char *plain = "text/plain; charset=utf-8";
    if (p == METRICS_PARSE_TOO_LARGE) {
        respond(c, "431 Request Header Fields Too Large", plain, "request head too large\n", false);
        return;
    }
    if (p == METRICS_PARSE_BAD) {
        respond(c, "400 Bad Request", plain, "bad request\n", false);
        return;
    }
    bool head = strcmp(req->method, "HEAD") == 0;
    if (!head && strcmp(req->method, "GET") != 0) {
        respond(c, "405 Method Not Allowed", plain, "only GET and HEAD\n", false);
        return;
    }
    if (strcmp(req->path, "/metrics") != 0) {
        respond(c, "404 Not Found", plain, "not found: try /metrics\n", head);
        return;
    }
    M.scrapes++;
    char *body = metrics_render();
    if (!body) {
        respond(c, "500 Internal Server Error", plain, "cannot render\n", head);
        return;
    }
    respond(c, "200 OK", "text/plain; version=0.0.4; charset=utf-8", body, head);
    free(body);
}

/* Bytes of an over-long request read and dropped after the answer, at
 * most; past that the peer is a flood, not a client. */
#define METRICS_LINGER_MAX (1u << 20)

static void recv_cb(struct vs_completion *comp, int res, unsigned flags)
{
    struct mconn *c = vs_container_of(comp, struct mconn, recv_c);
    c->busy = false;
    if (c->done || res <= 0) {
        c->done = true;
        conn_maybe_free(c);
        return;
    }
    if (c->lingering) {
        c->drained += (size_t)res;
        c->in_len = 0;
        if (c->drained > METRICS_LINGER_MAX) {
            conn_give_up(c);
            return;
        }
        conn_arm_recv(c);
        return;
    }
    c->in_len += (size_t)res;
    struct metrics_request req;
    enum metrics_parse p = metrics_http_parse(c->in, c->in_len, &req);
    if (p == METRICS_PARSE_MORE && c->in_len < sizeof(c->in)) {
        conn_arm_recv(c);
        return;
    }
    if (p == METRICS_PARSE_MORE)
        p = METRICS_PARSE_TOO_LARGE;
    handle(c, p, &req);
}

static void conn_arm_recv(struct mconn *c)
{
    c->busy = true;
    struct io_uring_sqe *sqe = vs_loop_sqe(c->loop, &c->recv_c);
    io_uring_prep_recv(sqe, c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
}

static void send_cb(struct vs_completion *comp, int res, unsigned flags)
{
    struct mconn *c = vs_container_of(comp, struct mconn, send_c);
    c->busy = false;
    if (c->done || res <= 0) {
        c->done = true;
        conn_maybe_free(c);
        return;
    }
    c->out_sent += (size_t)res;
    if (c->out_sent < c->out_len) {
        conn_arm_send(c);
        return;
    }
    /* Closing with unread input would reset the connection, and the peer
     * could lose the answer: say we are done, then read to its EOF
     * (bounded by the deadline and METRICS_LINGER_MAX). */
    shutdown(c->fd, SHUT_WR);
    c->lingering = true;
    c->in_len = 0;
    conn_arm_recv(c);
}

static void conn_arm_send(struct mconn *c)
{
    c->busy = true;
    struct io_uring_sqe *sqe = vs_loop_sqe(c->loop, &c->send_c);
    io_uring_prep_send(sqe, c->fd, c->out + c->out_sent, c->out_len - c->out_sent, MSG_NOSIGNAL);
}

static void on_accept(void *opaque, int fd)
{
    if (M.nconns >= METRICS_MAX_CONNS) {
        close(fd);
        return;
    }
    struct mconn *c = vs_zalloc(sizeof(*c));
    c->loop = M.loop;
    c->fd = fd;
    c->recv_c.cb = recv_cb;
    c->send_c.cb = send_cb;
    c->deadline.fn = conn_deadline;
    vs_list_append(&M.conns, &c->link);
    M.nconns++;
    vs_timer_arm(c->loop, &c->deadline, METRICS_CONN_DEADLINE_NS);
    conn_arm_recv(c);
}

/* ---- listener --------------------------------------------------------- */

int metrics_listen(struct vs_loop *loop, const char *spec, struct vs_error *err)
{
    int fd = -1;
    const char *unix_path = NULL;
    if (strncmp(spec, "unix:", 5) == 0 && spec[5]) {
        unix_path = spec + 5;
        fd = vs_listen_unix(unix_path, err);
    } else if (strncmp(spec, "tcp:", 4) == 0) {
        const char *hp = spec + 4;
        const char *colon = strrchr(hp, ':');
        if (!colon || !colon[1]) {
            vs_error_set(err, VS_ERR_GENERIC, "expected unix:PATH or tcp:HOST:PORT, got '%s'", spec);
            return -1;
        }
        char *host = strndup(hp, (size_t)(colon - hp));
        size_t hl = strlen(host);
        if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
            memmove(host, host + 1, hl - 2);
            host[hl - 2] = '\0';
        }
        fd = vs_listen_inet(host, colon + 1, err);
        free(host);
    } else {
        vs_error_set(err, VS_ERR_GENERIC, "expected unix:PATH or tcp:HOST:PORT, got '%s'", spec);
        return -1;
    }
    if (fd < 0)
        return -1;
    M.loop = loop;
    M.listener = vs_listener_start(loop, fd, unix_path, "metrics", on_accept, NULL, NULL);
    M.sampler.fn = sample_rates;
    vs_timer_arm(loop, &M.sampler, RATE_SAMPLE_NS);
    return 0;
}

void metrics_stop(void)
{
    if (!M.loop)
        return;
    if (M.listener)
        vs_listener_stop(M.listener);
    M.listener = NULL;
    vs_timer_cancel(M.loop, &M.sampler);
    vs_list_for_each_safe(pos, &M.conns)
        conn_give_up(vs_list_entry(pos, struct mconn, link));
    for (size_t i = 0; i < RATE_MAX_JOBS; i++) {
        free(M.rates[i].job);
        M.rates[i].job = NULL;
    }
}
