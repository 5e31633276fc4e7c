/* Host drivers: what volswap-api asks of the daemon on a host, over QMP.
 * Both drivers, `volswapd` (our daemon) and `qemu` (a real QEMU or
 * qemu-storage-daemon owning the disk), speak QEMU's QMP, so they share the
 * command sequences here; the table keeps them apart so a driver can diverge
 * (issue 6 gives each its own mirror details) without touching the handlers.
 *   attach: blockdev-add (file or host_device) -> block-export-add (nbd)
 *   detach: block-export-del (hard) -> BLOCK_EXPORT_DELETED -> blockdev-del
 * Undoing a half-done attach, and tolerating "already gone" on detach, keeps
 * the host and the registry converging after a failure. The pools, which
 * hold the storage a volume lives on, are pools.c's. */
#include "hosts.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

/* PREFIX and the first MAX characters of ID that are not dashes */
static void id_name(const char *prefix, const char *id, size_t max, char *out, size_t outlen)
{
    char hex[33];
    size_t n = 0;
    for (const char *p = id; *p && n < max && n < sizeof hex - 1; p++)
        if (*p != '-')
            hex[n++] = *p;
    hex[n] = '\0';
    snprintf(out, outlen, "%s%s", prefix, hex);
}

void host_node_name(const char *volume_id, char out[32])
{
    /* QEMU node names: at most 31 characters, starting with a letter */
    id_name("vol-", volume_id, 26, out, 32);
}

void host_export_id(const char *attachment_id, char out[40])
{
    id_name("exp-", attachment_id, 32, out, 40);
}

/* A connection to the host's monitor for one driver call: its own QMP
 * client, or -- while a swap holds the host's session -- that session,
 * borrowed, because QEMU's and qemu-storage-daemon's socket monitors serve
 * one client at a time (a second one would wait for a greeting until the
 * swap ends). */
struct host_conn {
    struct qmp_client *c;
    struct host_session *s;
    struct host_gate *gate;
    int timeout_ms; /* for the greeting and for each command */
    bool timed_out; /* the host did not answer in time */
};

/* The gate in front of each host's monitor, for the calls HTTP workers
 * make (attach, detach, resize, probes). A host daemon that hangs (stopped,
 * swapping, deadlocked) answers nothing until a timeout, and a QEMU-style
 * monitor serves one client at a time anyway, so the calls to one host are
 * taken one at a time, and few may queue: past HOST_GATE_WAITERS waiting
 * workers a call fails at once with 503, so a hung host can hold at most
 * 1 + HOST_GATE_WAITERS HTTP workers, for at most its timeout, and the
 * others keep serving every other request. A call that timed out marks the
 * host unresponsive for HOST_GATE_COOLDOWN_MS: calls in that window fail at
 * once with 503 instead of waiting out the timeout again. The swap worker
 * does not pass here (its own thread, its own session and deadlines). */
struct host_gate {
    char name[65];
    bool busy;
    int waiting;
    int64_t unresponsive_until; /* api_now_ms() */
    struct host_gate *next;
};
#define HOST_GATE_WAITERS     2
#define HOST_GATE_COOLDOWN_MS 5000

static pthread_mutex_t gates_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gates_cond = PTHREAD_COND_INITIALIZER;
static struct host_gate *gates;

static int unresponsive_error(const char *host, struct api_error *e)
{
    return api_err(e, 503, "Host %s is not responding; try again later.", host);
}

static struct host_gate *gate_enter(const struct cfg_host *h, int timeout_ms, struct api_error *e)
{
    pthread_mutex_lock(&gates_lock);
    struct host_gate *g = gates;
    while (g && strcmp(g->name, h->name) != 0)
        g = g->next;
    if (!g) {
        g = calloc(1, sizeof *g);
        if (!g) {
            pthread_mutex_unlock(&gates_lock);
            api_err(e, 500, "out of memory");
            return NULL;
        }
        snprintf(g->name, sizeof g->name, "%s", h->name);
        g->next = gates;
        gates = g;
    }
    int64_t deadline = api_now_ms() + timeout_ms;
    for (;;) {
        int64_t now = api_now_ms();
        if (now < g->unresponsive_until) {
            pthread_mutex_unlock(&gates_lock);
            unresponsive_error(h->name, e);
            return NULL;
        }
        if (!g->busy) {
            g->busy = true;
            pthread_mutex_unlock(&gates_lock);
            return g;
        }
        if (g->waiting >= HOST_GATE_WAITERS || now >= deadline) {
            pthread_mutex_unlock(&gates_lock);
            api_err(e, 503, "Host %s is busy with other requests; try again later.", h->name);
            return NULL;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + (deadline - now) * 1000000;
        ts.tv_sec += ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        g->waiting++;
        pthread_cond_timedwait(&gates_cond, &gates_lock, &ts);
        g->waiting--;
    }
}

static void gate_leave(struct host_gate *g, bool timed_out)
{
    pthread_mutex_lock(&gates_lock);
    g->busy = false;
    if (timed_out)
        g->unresponsive_until = api_now_ms() + HOST_GATE_COOLDOWN_MS;
    pthread_cond_broadcast(&gates_cond);
    pthread_mutex_unlock(&gates_lock);
}

static struct host_conn *host_connect(const struct cfg_host *h, int timeout_ms, struct api_error *e)
{
    struct host_conn *hc = calloc(1, sizeof *hc);
    if (!hc) {
        api_err(e, 500, "out of memory");
        return NULL;
    }
    hc->timeout_ms = timeout_ms;
    hc->gate = gate_enter(h, timeout_ms, e);
    if (!hc->gate) {
        free(hc);
        return NULL;
    }
    hc->s = host_session_borrow(h->name);
    if (hc->s)
        return hc;
    struct qmp_error qe;
    hc->c = host_qmp_connect(h, timeout_ms, &qe);
    if (!hc->c) {
        bool timed_out = strcmp(qe.cls, "Timeout") == 0;
        vs_error("host %s: QMP: %s", h->name, qe.desc);
        if (timed_out)
            unresponsive_error(h->name, e);
        else
            api_err(e, 500, "Host %s is not reachable over QMP: %s", h->name, qe.desc);
        gate_leave(hc->gate, timed_out);
        free(hc);
        return NULL;
    }
    return hc;
}

static void host_close(struct host_conn *hc)
{
    if (!hc)
        return;
    if (hc->s)
        host_session_put(hc->s);
    else
        qmp_close(hc->c);
    gate_leave(hc->gate, hc->timed_out);
    free(hc);
}

static void host_watch(struct host_conn *hc, const char *key, bool on)
{
    if (hc->s)
        host_session_watch(hc->s, key, on);
}

static json_t *host_wait_event(struct host_conn *hc, const char *name, const char *key,
                               const char *value, int timeout_ms, struct qmp_error *qe)
{
    if (!hc->s)
        return qmp_wait_event(hc->c, name, key, value, timeout_ms, qe);
    int64_t deadline = api_now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - api_now_ms();
        json_t *ev = host_session_next_event(hc->s, value, left > 0 ? (int)left : 0, qe);
        if (!ev)
            return NULL;
        const char *n = json_string_value(json_object_get(ev, "event"));
        if (n && strcmp(n, name) == 0)
            return ev;
        json_decref(ev);
    }
}

static int run_ret(struct host_conn *c, const struct cfg_host *h, const char *cmd, json_t *args,
                   json_t **ret, struct qmp_error *qe, struct api_error *e)
{
    int rc = c->s ? host_session_execute(c->s, cmd, args, ret, c->timeout_ms, qe)
                  : qmp_execute(c->c, cmd, args, ret, c->timeout_ms, qe);
    if (rc < 0 && strcmp(qe->cls, "Timeout") == 0) {
        c->timed_out = true;
        vs_error("host %s: %s timed out", h->name, cmd);
        if (e)
            unresponsive_error(h->name, e);
        return rc;
    }
    if (rc < 0 && e)
        api_err(e, 500, "Host %s: %s failed: %s: %s", h->name, cmd, qe->cls, qe->desc);
    return rc;
}

static int run(struct host_conn *c, const struct cfg_host *h, const char *cmd, json_t *args,
               struct qmp_error *qe, struct api_error *e)
{
    return run_ret(c, h, cmd, args, NULL, qe, e);
}

/* One command on a session of its own, opened with the probe's timeout and
 * closed again; *connected says whether the host answered at all. */
static int query_once(const struct cfg_host *h, const char *cmd, json_t **ret,
                      struct qmp_error *qe, bool *connected)
{
    struct api_error e;
    struct host_conn *c = host_connect(h, HOST_PROBE_TIMEOUT_MS, &e);
    *ret = NULL;
    *connected = c != NULL;
    int rc = c ? run_ret(c, h, cmd, NULL, ret, qe, NULL) : -1;
    host_close(c);
    return rc;
}

int host_probe(const struct cfg_host *h, int *version)
{
    if (strcmp(h->driver, "libvirt") == 0)
        return hlv_probe(h, version);
    struct qmp_error qe;
    json_t *ret;
    bool connected;
    int rc = query_once(h, "query-version", &ret, &qe, &connected);
    if (version) {
        /* Nova's encoding of a hypervisor version: 7.2.0 is 7002000. */
        json_t *q = json_object_get(ret, "qemu");
        *version = rc < 0 ? 0
                          : (int)(json_integer_value(json_object_get(q, "major")) * 1000000 +
                                  json_integer_value(json_object_get(q, "minor")) * 1000 +
                                  json_integer_value(json_object_get(q, "micro")));
    }
    json_decref(ret);
    return rc < 0 ? -1 : 0;
}

int host_uptime(const struct cfg_host *h, char *out, size_t outlen)
{
    /* QEMU and libvirt have no command that tells a host's uptime */
    if (strcmp(h->driver, "volswapd") != 0)
        return 1;
    struct qmp_error qe;
    json_t *ret;
    bool connected;
    int rc = query_once(h, "x-volswap-query-uptime", &ret, &qe, &connected);
    if (rc < 0) {
        /* an older daemon without the command cannot tell either */
        bool unknown = connected && strcmp(qe.cls, "CommandNotFound") == 0;
        json_decref(ret);
        return unknown ? 1 : -1;
    }
    json_int_t up = json_integer_value(json_object_get(ret, "seconds"));
    time_t now = (time_t)json_integer_value(json_object_get(ret, "time"));
    struct tm tm;
    gmtime_r(&now, &tm);
    /* uptime(1)'s line: " 08:32:11 up 93 days, 18:25,  load average: ..." */
    char days[32] = "", hm[32];
    if (up >= 86400)
        snprintf(days, sizeof days, "%lld day%s, ", (long long)(up / 86400),
                 up / 86400 == 1 ? "" : "s");
    if (up % 86400 >= 3600)
        snprintf(hm, sizeof hm, "%2lld:%02lld", (long long)(up % 86400 / 3600),
                 (long long)(up % 3600 / 60));
    else
        snprintf(hm, sizeof hm, "%lld min", (long long)(up % 3600 / 60));
    int n = snprintf(out, outlen, " %02d:%02d:%02d up %s%s", tm.tm_hour, tm.tm_min, tm.tm_sec, days,
                     hm);
    json_t *avg = json_object_get(ret, "load-average");
    if (n > 0 && (size_t)n < outlen && json_array_size(avg) == 3)
        snprintf(out + n, outlen - (size_t)n, ",  load average: %.2f, %.2f, %.2f",
                 json_number_value(json_array_get(avg, 0)),
                 json_number_value(json_array_get(avg, 1)),
                 json_number_value(json_array_get(avg, 2)));
    json_decref(ret);
    return 0;
}

struct probe_job {
    const struct cfg_host *h;
    int rc, version;
    pthread_t thread;
    bool started;
};

static void *probe_thread(void *arg)
{
    struct probe_job *j = arg;
    j->rc = host_probe(j->h, &j->version);
    return NULL;
}

void host_probe_all(const struct api_config *cfg, const bool *want, bool *up, int *version)
{
    struct probe_job *jobs = calloc(cfg->n_hosts + 1, sizeof *jobs);
    for (size_t i = 0; i < cfg->n_hosts; i++) {
        up[i] = false;
        if (version)
            version[i] = 0;
        if (!jobs || (want && !want[i]))
            continue;
        jobs[i].h = &cfg->hosts[i];
        jobs[i].rc = -1;
        /* a host whose thread cannot start is probed here */
        jobs[i].started = pthread_create(&jobs[i].thread, NULL, probe_thread, &jobs[i]) == 0;
        if (!jobs[i].started)
            probe_thread(&jobs[i]);
    }
    for (size_t i = 0; jobs && i < cfg->n_hosts; i++) {
        if (jobs[i].started)
            pthread_join(jobs[i].thread, NULL);
        up[i] = jobs[i].h && jobs[i].rc == 0;
        if (version)
            version[i] = jobs[i].version;
    }
    free(jobs);
}

void host_nbd_address(const struct cfg_host *h, const char *name, bool as_lists, json_t *o)
{
    /* A host whose NBD server requires TLS: the URI says so (nbds), as
     * libnbd and qemu-img spell it, and "tls" tells a client that builds
     * its own connection. The credentials are the consumer's own. */
    bool tls = h->nbd_tls_creds[0] != '\0';
    const char *scheme = tls ? "nbds" : "nbd";
    char uri[1400];
    json_object_set_new(o, "tls", json_boolean(tls));
    if (h->nbd_socket[0]) {
        snprintf(uri, sizeof uri, "%s+unix:///%s?socket=%s", scheme, name, h->nbd_socket);
        json_object_set_new(o, "socket", json_string(h->nbd_socket));
    } else {
        snprintf(uri, sizeof uri, "%s://%s:%d/%s", scheme, h->nbd_host, h->nbd_port, name);
        if (as_lists) {
            char port[16];
            snprintf(port, sizeof port, "%d", h->nbd_port);
            json_object_set_new(o, "hosts", json_pack("[s]", h->nbd_host));
            json_object_set_new(o, "ports", json_pack("[s]", port));
        } else {
            json_object_set_new(o, "host", json_string(h->nbd_host));
            json_object_set_new(o, "port", json_integer(h->nbd_port));
        }
    }
    json_object_set_new(o, "uri", json_string(uri));
}

static json_t *connection_info(const struct cfg_host *h, const struct reg_volume *v,
                               const char *node, const char *export_id, const char *name)
{
    json_t *data = json_pack("{s:s, s:s, s:s, s:s}", "export_name", name, "node_name", node,
                             "export_id", export_id, "host_name", h->name);
    host_nbd_address(h, name, false, data);
    /* Cinder's readonly flag: the export refuses writes (attach) */
    const char *mode = v->readonly == 1 ? "ro" : "rw";
    json_object_set_new(data, "access_mode", json_string(mode));
    return json_pack("{s:s, s:o, s:s, s:s}", "driver_volume_type", "nbd", "data", data, "serial",
                     v->id, "access_mode", mode);
}

/* Starts the host's NBD server when the config asks us to (a real QEMU has
 * none until nbd-server-start); "already running" is fine. */
static int ensure_nbd_server(struct host_conn *c, const struct cfg_host *h, struct api_error *e)
{
    if (!h->start_nbd_server)
        return 0;
    json_t *data = json_object();
    if (h->nbd_socket[0]) {
        json_object_set_new(data, "path", json_string(h->nbd_socket));
    } else {
        char port[16];
        snprintf(port, sizeof port, "%d", h->nbd_port);
        json_object_set_new(data, "host", json_string(h->nbd_host));
        json_object_set_new(data, "port", json_string(port));
    }
    json_t *addr =
        json_pack("{s:s, s:o}", "type", h->nbd_socket[0] ? "unix" : "inet", "data", data);
    json_t *args = json_pack("{s:o}", "addr", addr);
    if (h->nbd_tls_creds[0])
        json_object_set_new(args, "tls-creds", json_string(h->nbd_tls_creds));
    struct qmp_error qe;
    int rc = run(c, h, "nbd-server-start", args, &qe, NULL);
    json_decref(args);
    if (rc < 0 && !strstr(qe.desc, "already"))
        return api_err(e, 500, "Host %s: nbd-server-start failed: %s", h->name, qe.desc);
    return 0;
}

/* Opens a node with blockdev-add ARGS (a node left behind by an
 * interrupted call is reused) and exports it as EXPORT_NAME, read-only
 * unless WRITABLE; the node is closed again when the export fails. */
static int open_and_export(struct host_conn *c, const struct cfg_host *h, json_t *args,
                           const char *node, const char *export_id, const char *export_name,
                           bool writable, struct api_error *e)
{
    struct qmp_error qe;
    int rc = run(c, h, "blockdev-add", args, &qe, e);
    if (rc < 0 && strstr(qe.desc, "Duplicate"))
        rc = 0;
    if (rc < 0)
        return -1;
    json_t *x = json_pack("{s:s, s:s, s:s, s:s, s:b}", "type", "nbd", "id", export_id, "node-name",
                          node, "name", export_name, "writable", writable);
    rc = run(c, h, "block-export-add", x, &qe, e);
    json_decref(x);
    if (rc < 0 && strstr(qe.desc, "already in use"))
        rc = 0;
    if (rc < 0) {
        json_t *del = json_pack("{s:s}", "node-name", node);
        struct qmp_error qe2;
        run(c, h, "blockdev-del", del, &qe2, NULL);
        json_decref(del);
    }
    return rc;
}

static json_t *file_blockdev(const char *path, const char *node)
{
    struct stat st;
    bool is_blk = stat(path, &st) == 0 && S_ISBLK(st.st_mode);
    return json_pack("{s:s, s:s, s:s, s:s}", "driver", is_blk ? "host_device" : "file", "filename",
                     path, "node-name", node, "discard", "unmap");
}

/* Opens ARGS as NODE on host H and exports it for its consumer. */
static int attach_node(const struct cfg_host *h, json_t *args, const char *node,
                       const char *export_id, const char *export_name, bool writable,
                       struct api_error *e)
{
    struct host_conn *c = host_connect(h, HOST_QMP_TIMEOUT_MS, e);
    if (!c)
        return -1;
    int rc = ensure_nbd_server(c, h, e) < 0
                 ? -1
                 : open_and_export(c, h, args, node, export_id, export_name, writable, e);
    host_close(c);
    return rc;
}

static int qmp_attach(const struct cfg_host *h, const struct reg_volume *v, const char *node,
                      const char *export_id, const char *export_name, json_t **conn,
                      struct api_error *e)
{
    *conn = NULL;
    json_t *args = file_blockdev(v->path, node);
    /* Cinder's readonly flag: the consumer's export refuses writes */
    int rc = attach_node(h, args, node, export_id, export_name, v->readonly != 1, e);
    json_decref(args);
    if (rc == 0)
        *conn = connection_info(h, v, node, export_id, export_name);
    return rc;
}

static int qmp_detach(const struct cfg_host *h, const char *node, const char *export_id,
                      struct api_error *e)
{
    struct host_conn *c = host_connect(h, HOST_QMP_TIMEOUT_MS, e);
    if (!c)
        return -1;
    int rc = -1;
    struct qmp_error qe;
    json_t *args = json_pack("{s:s, s:s}", "id", export_id, "mode", "hard");
    host_watch(c, export_id, true); /* the event may come with the reply */
    int xrc = run(c, h, "block-export-del", args, &qe, NULL);
    json_decref(args);
    if (xrc < 0 && !strstr(qe.desc, "not found")) {
        api_err(e, 500, "Host %s: block-export-del failed: %s", h->name, qe.desc);
        goto out;
    }
    if (xrc == 0) {
        /* the node stays busy until the export is really gone */
        json_t *ev =
            host_wait_event(c, "BLOCK_EXPORT_DELETED", "id", export_id, HOST_QMP_TIMEOUT_MS, &qe);
        if (!ev) {
            api_err(e, 500, "Host %s: export %s was not deleted: %s", h->name, export_id, qe.desc);
            goto out;
        }
        json_decref(ev);
    }
    args = json_pack("{s:s}", "node-name", node);
    int brc = run(c, h, "blockdev-del", args, &qe, NULL);
    json_decref(args);
    if (brc < 0 && !strstr(qe.desc, "Failed to find node")) {
        api_err(e, 500, "Host %s: blockdev-del failed: %s", h->name, qe.desc);
        goto out;
    }
    rc = 0;
out:
    host_watch(c, export_id, false);
    host_close(c);
    return rc;
}

static int qmp_resize(const struct cfg_host *h, const char *node, uint64_t size,
                      struct api_error *e)
{
    struct host_conn *c = host_connect(h, HOST_QMP_TIMEOUT_MS, e);
    if (!c)
        return -1;
    struct qmp_error qe;
    json_t *args = json_pack("{s:s, s:I}", "node-name", node, "size", (json_int_t)size);
    int rc = run(c, h, "block_resize", args, &qe, e);
    json_decref(args);
    host_close(c);
    return rc;
}

struct host_conn *host_call_open(const struct cfg_host *h, int timeout_ms, struct api_error *e)
{
    return host_connect(h, timeout_ms, e);
}

void host_call_close(struct host_conn *c)
{
    host_close(c);
}

int host_call(struct host_conn *c, const struct cfg_host *h, const char *cmd, json_t *args,
              json_t **ret, struct qmp_error *qe)
{
    if (ret)
        *ret = NULL;
    return run_ret(c, h, cmd, args, ret, qe, NULL);
}

/* ---- volumes on another host ---- */

static void storage_export_id(const char *node, char out[40])
{
    snprintf(out, 40, "sx-%.31s", node);
}

int host_storage_check(const struct cfg_host *ch, const struct cfg_host *sh, struct api_error *e)
{
    if (strcmp(sh->driver, "libvirt") == 0)
        return api_err(e, 400,
                       "Invalid volume: storage host %s (libvirt) does not export volumes to "
                       "other hosts.",
                       sh->name);
    if (!sh->nbd_socket[0] && !sh->nbd_host[0])
        return api_err(e, 400, "Invalid volume: storage host %s has no NBD address.", sh->name);
    if (sh->nbd_tls_creds[0] && !ch->nbd_client_tls_creds[0] && strcmp(ch->driver, "libvirt") != 0)
        return api_err(e, 400,
                       "Invalid volume: storage host %s requires TLS and compute host %s has no "
                       "nbd.client_tls_creds.",
                       sh->name, ch->name);
    return 0;
}

int host_storage_export(const struct cfg_host *sh, const char *path, const char *node,
                        struct api_error *e)
{
    char id[40];
    storage_export_id(node, id);
    json_t *args = file_blockdev(path, node);
    /* the compute host's export to the consumer is the read-only one (a
     * swap's copy writes to a new volume's storage export) */
    int rc = attach_node(sh, args, node, id, node, true, e);
    json_decref(args);
    return rc;
}

int host_storage_unexport(const struct cfg_host *sh, const char *node, struct api_error *e)
{
    char id[40];
    storage_export_id(node, id);
    return qmp_detach(sh, node, id, e);
}

static json_t *storage_addr(const struct cfg_host *sh)
{
    if (sh->nbd_socket[0])
        return json_pack("{s:s, s:s}", "type", "unix", "path", sh->nbd_socket);
    char port[16];
    snprintf(port, sizeof port, "%d", sh->nbd_port);
    return json_pack("{s:s, s:s, s:s}", "type", "inet", "host", sh->nbd_host, "port", port);
}

json_t *host_remote_blockdev(const struct cfg_host *ch, const struct cfg_host *sh, const char *node)
{
    json_t *a = json_pack("{s:s, s:s, s:o, s:s, s:i}", "driver", "nbd", "node-name", node, "server",
                          storage_addr(sh), "export", node, "reconnect-delay",
                          ch->nbd_reconnect_delay);
    if (sh->nbd_tls_creds[0])
        json_object_set_new(a, "tls-creds", json_string(ch->nbd_client_tls_creds));
    return a;
}

json_t *host_storage_info(const struct cfg_host *sh, const char *node)
{
    char id[40];
    storage_export_id(node, id);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "host", sh->name, "node_name", node, "export_id",
                          id, "name", node);
    host_nbd_address(sh, node, true, o);
    return o;
}

int host_attach_volume(const struct api_config *cfg, const struct cfg_host *ch,
                       const struct reg_volume *v, const char *node_name, const char *export_id,
                       const char *export_name, json_t **conn, struct api_error *e)
{
    const struct host_driver *drv = host_driver_find(ch->driver);
    const struct cfg_host *sh = config_host(cfg, v->host);
    *conn = NULL;
    if (!drv)
        return api_err(e, 500, "host %s: unknown driver %s", ch->name, ch->driver);
    if (!sh || sh == ch)
        return drv->attach(ch, v, node_name, export_id, export_name, conn, e);
    if (host_storage_check(ch, sh, e) < 0 || host_storage_export(sh, v->path, node_name, e) < 0)
        return -1;
    int rc;
    if (drv == &hlv_driver) {
        /* a libvirt host's QEMU opens the export itself (a network disk) */
        rc = hlv_attach_remote(ch, sh, v, node_name, export_id, export_name, conn, e);
    } else {
        json_t *args = host_remote_blockdev(ch, sh, node_name);
        rc = attach_node(ch, args, node_name, export_id, export_name, v->readonly != 1, e);
        json_decref(args);
    }
    if (rc < 0) {
        struct api_error ignore = { 0 };
        if (host_storage_unexport(sh, node_name, &ignore) < 0)
            vs_warn("host %s: export of %s stays: %s", sh->name, node_name, ignore.msg);
        return -1;
    }
    if (drv == &hlv_driver)
        return 0;
    *conn = connection_info(ch, v, node_name, export_id, export_name);
    json_object_set_new(json_object_get(*conn, "data"), "storage",
                        host_storage_info(sh, node_name));
    return 0;
}

static void (*storage_left)(const char *host);

void host_on_storage_left(void (*fn)(const char *host))
{
    __atomic_store_n(&storage_left, fn, __ATOMIC_RELEASE);
}

int host_detach_volume(const struct api_config *cfg, const struct cfg_host *ch,
                       const struct reg_attachment *a, struct api_error *e)
{
    const struct host_driver *drv = host_driver_find(ch->driver);
    if (!drv)
        return api_err(e, 500, "host %s: unknown driver %s", ch->name, ch->driver);
    if (drv->detach(ch, a->node_name, a->export_id, e) < 0)
        return -1;
    json_error_t jerr;
    json_t *ci = json_loads(a->connection_info, 0, &jerr);
    json_t *st = json_object_get(json_object_get(ci, "data"), "storage");
    const char *sname = json_string_value(json_object_get(st, "host"));
    const char *snode = json_string_value(json_object_get(st, "node_name"));
    const struct cfg_host *sh = sname ? config_host(cfg, sname) : NULL;
    struct api_error serr = { 0 };
    if (sh && sh != ch && snode && snode[0] && host_storage_unexport(sh, snode, &serr) < 0) {
        vs_warn("detach of attachment %s: storage host %s keeps its export of %s until it "
                "answers again: %s",
                a->id, sh->name, snode, serr.msg);
        void (*left)(const char *) = __atomic_load_n(&storage_left, __ATOMIC_ACQUIRE);
        if (left)
            left(sh->name);
    } else if (sname && !sh) {
        vs_warn("storage host %s of attachment %s is not configured", sname, a->id);
    }
    json_decref(ci);
    return 0;
}

const struct cfg_host *host_of_path(const struct api_config *cfg, const char *path,
                                    const struct cfg_pool **pool)
{
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) : 0;
    for (size_t h = 0; h < cfg->n_hosts; h++)
        for (size_t i = 0; i < cfg->hosts[h].n_pools; i++) {
            const struct cfg_pool *p = &cfg->hosts[h].pools[i];
            bool match = false;
            if (p->is_dir) {
                size_t pl = strlen(p->path);
                while (pl > 1 && p->path[pl - 1] == '/')
                    pl--;
                match = slash && dirlen == pl && strncmp(path, p->path, pl) == 0;
            }
            for (size_t j = 0; !match && j < p->n_devices; j++)
                match = strcmp(p->devices[j], path) == 0;
            if (match) {
                if (pool)
                    *pool = p;
                return &cfg->hosts[h];
            }
        }
    return NULL;
}

static const struct host_driver drivers[] = {
    { "volswapd", qmp_attach, qmp_detach, qmp_resize },
    { "qemu", qmp_attach, qmp_detach, qmp_resize },
};

const struct host_driver *host_driver_find(const char *name)
{
    if (strcmp(name, hlv_driver.name) == 0)
        return &hlv_driver;
    for (size_t i = 0; i < sizeof drivers / sizeof drivers[0]; i++)
        if (strcmp(drivers[i].name, name) == 0)
            return &drivers[i];
    return NULL;
}
