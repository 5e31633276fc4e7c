/* Host reconciliation: brings what a host serves back to what the registry
 * says, for the volumes volswap-api owns there. A rollback or a finish
 * that cannot reach its host (killed, stopped, restarting) still records
 * its outcome, so its host steps stay undone: the new volume's node open,
 * its mirror job running on a daemon that was only stopped, the old node
 * of a finished swap; and a daemon restarted from its state file serves
 * them again. Such a host is marked here, and a thread of its own (also
 * once for every host at start) waits until the host answers and then:
 *   - cancels the jobs of swaps the registry says are over (forced: no
 *     pivot, the source stays as its consumer wrote it);
 *   - removes exports (exp-*) that no attachment names and that serve a
 *     node of a volume not attached, or of no volume;
 *   - removes a storage host's exports to other hosts (sx-*) that no
 *     attachment's connection_info and no unfinished swap names, unless
 *     their volume lives here and is in a transition, and closes their
 *     nodes: what a detach, rollback or finish left when this host did not
 *     answer (those mark the host, so the pass runs once it answers);
 *   - closes volume nodes (vol-*) that no attachment or unfinished swap
 *     names, no export serves and no job holds, and whose volume is
 *     detached (or gone, or attached here through another node);
 *   - reopens the node and the export of an attachment the host lost.
 * A node an export serves is never closed and never moved: an export that
 * serves another node than the registry's may hold writes the registry
 * does not know of (only recovery, which asks the host, settles a pivot),
 * so that is logged and left alone. A volume in a transition (reserved,
 * attaching, detaching, extending...) belongs to the attach, detach or
 * swap under way, and its nodes and exports are not touched.
 * A pass holds the host's gate (hosts.h), so every attach and detach on
 * the host is either finished or not yet begun on it when the pass reads
 * the registry. A swap worker does not pass the gate, but its volumes are
 * in a transition from its acceptance to its end. */
#include "swap.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* A host that did not answer is tried again after RETRY_MS, then twice
 * as long each time up to RETRY_MAX_MS (a host down for good is not
 * knocked on every second). */
#define RETRY_MS     1000
#define RETRY_MAX_MS 10000
/* How long a cancelled job may take to go away. */
#define JOB_END_MS 10000

struct reconciler {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    bool started, stop;
    /* per configured host: passes asked for and the last one done, and
     * when a host that did not answer is tried next */
    unsigned *want, *done;
    int64_t *next_ms, *backoff_ms;
};
static struct reconciler rc_state = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .cond = PTHREAD_COND_INITIALIZER,
};

static const struct api_config *cfg(void)
{
    return swap_svc->ctx->cfg;
}

void swap_reconcile_mark(const char *host)
{
    pthread_mutex_lock(&rc_state.lock);
    /* the service's context lives as long as the arrays (stop frees them
     * first, under this lock) */
    const struct api_config *c = rc_state.want ? cfg() : NULL;
    for (size_t i = 0; c && i < c->n_hosts; i++)
        if (strcmp(c->hosts[i].name, host) == 0) {
            rc_state.want[i]++;
            pthread_cond_signal(&rc_state.cond);
        }
    pthread_mutex_unlock(&rc_state.lock);
}

/* ---- what the registry says ---- */

struct truth {
    struct reg_volume *vols;
    size_t n_vols;
    struct reg_attachment *atts; /* every attachment, of every server */
    size_t n_atts;
    bool *att_here;     /* atts[i]'s server is on the host */
    json_t *busy_nodes; /* node -> true: named by an unfinished or running swap */
    json_t *busy_servers;
};

static void truth_free(struct truth *t)
{
    free(t->vols);
    free(t->atts);
    free(t->att_here);
    json_decref(t->busy_nodes);
    json_decref(t->busy_servers);
}

static void busy_add(json_t *servers, json_t *nodes, const struct swap_rec *r)
{
    if (r->old_node[0])
        json_object_set_new(nodes, r->old_node, json_true());
    if (r->new_node[0])
        json_object_set_new(nodes, r->new_node, json_true());
    json_object_set_new(servers, r->server_id, json_true());
}

int swap_busy_read(json_t *servers, json_t *nodes, struct api_error *e)
{
    struct swap_rec *open_recs = NULL;
    size_t n_open = 0;
    if (swap_store_unfinished(swap_svc->ctx->reg, &open_recs, &n_open, e) < 0)
        return -1;
    for (size_t i = 0; i < n_open; i++)
        busy_add(servers, nodes, &open_recs[i]);
    free(open_recs);
    pthread_mutex_lock(&swap_svc->lock);
    for (struct swap_task *k = swap_svc->tasks; k; k = k->next)
        if (!k->finished)
            busy_add(servers, nodes, &k->rec);
    pthread_mutex_unlock(&swap_svc->lock);
    return 0;
}

static int truth_read(const char *host, struct truth *t, struct api_error *e)
{
    struct registry *reg = swap_svc->ctx->reg;
    memset(t, 0, sizeof *t);
    t->busy_nodes = json_object();
    t->busy_servers = json_object();
    struct reg_server *srv = NULL;
    size_t n_srv = 0;
    if (reg->ops->volume_list(reg, NULL, &t->vols, &t->n_vols) < 0 ||
        reg->ops->server_list(reg, NULL, &srv, &n_srv) < 0)
        return reg_fail(e, reg);
    for (size_t i = 0; i < n_srv; i++) {
        struct reg_attachment *a = NULL;
        size_t n = 0;
        if (reg->ops->attachment_list(reg, srv[i].id, &a, &n) < 0) {
            free(srv);
            return reg_fail(e, reg);
        }
        struct reg_attachment *all = realloc(t->atts, (t->n_atts + n + 1) * sizeof *all);
        bool *here = realloc(t->att_here, (t->n_atts + n + 1) * sizeof *here);
        if (all)
            t->atts = all;
        if (here)
            t->att_here = here;
        if (!all || !here) {
            free(a);
            free(srv);
            return api_err(e, 500, "out of memory");
        }
        for (size_t j = 0; j < n; j++) {
            t->atts[t->n_atts] = a[j];
            t->att_here[t->n_atts++] = strcmp(srv[i].host, host) == 0;
        }
        free(a);
    }
    free(srv);
    return swap_busy_read(t->busy_servers, t->busy_nodes, e);
}

static const struct reg_volume *volume_of_node(const struct truth *t, const char *node)
{
    char nn[32];
    for (size_t i = 0; i < t->n_vols; i++) {
        host_node_name(t->vols[i].id, nn);
        if (strcmp(nn, node) == 0)
            return &t->vols[i];
    }
    return NULL;
}

static bool detached(const struct reg_volume *v)
{
    return strcmp(v->status, "available") == 0 && strcmp(v->attach_status, "detached") == 0;
}

static bool in_use(const struct reg_volume *v)
{
    return strcmp(v->status, "in-use") == 0 && strcmp(v->attach_status, "attached") == 0;
}

static const struct reg_attachment *attachment_of_export(const struct truth *t, const char *id)
{
    for (size_t i = 0; i < t->n_atts; i++)
        if (strcmp(t->atts[i].export_id, id) == 0)
            return &t->atts[i];
    return NULL;
}

static bool node_named(const struct truth *t, const char *node)
{
    if (json_object_get(t->busy_nodes, node))
        return true;
    for (size_t i = 0; i < t->n_atts; i++)
        if (strcmp(t->atts[i].node_name, node) == 0)
            return true;
    return false;
}

/* May the node NODE, which nothing on the host uses, be closed? */
static bool node_closable(const struct truth *t, const char *node)
{
    if (strncmp(node, "vol-", 4) != 0 || node_named(t, node))
        return false;
    const struct reg_volume *v = volume_of_node(t, node);
    if (!v || detached(v))
        return true; /* a volume gone (a migration's temporary one), or detached */
    if (!in_use(v))
        return false; /* in a transition: its attach, detach or swap decides */
    /* attached here through another node: the old node of a migration */
    for (size_t i = 0; i < t->n_atts; i++)
        if (t->att_here[i] && strcmp(t->atts[i].volume_id, v->id) == 0)
            return true;
    return false;
}

/* ---- what the host serves ---- */

struct pass {
    const struct cfg_host *h;
    struct host_conn *hc;
    bool unfinished; /* a command failed the way a hung or gone host does */
    int changes;
};

static json_t *query(struct pass *p, const char *cmd)
{
    struct qmp_error qe;
    json_t *ret = NULL;
    if (host_call(p->hc, p->h, cmd, NULL, &ret, &qe) < 0) {
        swap_log("reconcile: host %s: %s: %s", p->h->name, cmd, qe.desc);
        p->unfinished = true;
        return NULL;
    }
    if (!json_is_array(ret)) {
        json_decref(ret);
        return json_array();
    }
    return ret;
}

/* Runs CMD; an error that IGNORE names is success. */
static int command(struct pass *p, const char *cmd, json_t *args, const char *ignore)
{
    struct qmp_error qe;
    int rc = host_call(p->hc, p->h, cmd, args, NULL, &qe);
    json_decref(args);
    if (rc == 0 || (ignore && strstr(qe.desc, ignore)))
        return 0;
    swap_log("reconcile: host %s: %s: %s: %s", p->h->name, cmd, qe.cls, qe.desc);
    if (strcmp(qe.cls, "GenericError") != 0 && strcmp(qe.cls, "DeviceNotFound") != 0)
        p->unfinished = true;
    return -1;
}

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* Whether ID is still among the host's jobs; -1 when the host did not say. */
static int job_listed(struct pass *p, const char *id)
{
    json_t *jobs = query(p, "query-jobs");
    if (!jobs)
        return -1;
    size_t i;
    json_t *j;
    int found = 0;
    json_array_foreach(jobs, i, j) {
        if (strcmp(str(j, "id"), id) == 0)
            found = 1;
    }
    json_decref(jobs);
    return found;
}

/* Jobs of swaps that are over: a rollback that could not reach the host
 * left its mirror running (the daemon was stopped, not killed). */
static void end_jobs(struct pass *p)
{
    struct registry *reg = swap_svc->ctx->reg;
    json_t *jobs = query(p, "query-jobs");
    size_t i;
    json_t *j;
    json_array_foreach(jobs, i, j) {
        const char *id = str(j, "id"), *status = str(j, "status");
        struct swap_rec r;
        struct api_error e = { 0 };
        if (swap_store_get(reg, id, &r, &e) != 0 ||
            (r.phase != SP_DONE && r.phase != SP_ROLLED_BACK) || strcmp(r.host, p->h->name) != 0)
            continue;
        swap_log("reconcile: host %s: job %s of a swap %s is %s: ending it", p->h->name, id,
                 swap_phase_name(r.phase), status);
        int rc = strcmp(status, "concluded") == 0
                     ? command(p, "job-dismiss", json_pack("{s:s}", "id", id), "not found")
                     : command(p, "block-job-cancel",
                               json_pack("{s:s, s:b}", "device", id, "force", 1), "not found");
        p->changes++;
        /* its target stays open until it is gone; one that outlives the
         * wait is looked at again in the next pass */
        for (int waited = 0; rc == 0; waited += 100) {
            int listed = job_listed(p, id);
            if (listed <= 0)
                break;
            if (waited >= JOB_END_MS) {
                p->unfinished = true;
                break;
            }
            struct timespec ts = { 0, 100 * 1000 * 1000 };
            nanosleep(&ts, NULL);
        }
    }
    json_decref(jobs);
}

static bool exported(json_t *exports, const char *node)
{
    size_t i;
    json_t *x;
    json_array_foreach(exports, i, x) {
        if (strcmp(str(x, "node-name"), node) == 0)
            return true;
    }
    return false;
}

/* Whether an attachment's connection_info names HOST's storage export of
 * NODE (data.storage: the compute host reads the volume through it). */
static bool storage_export_named(const struct truth *t, const char *host, const char *node)
{
    for (size_t i = 0; i < t->n_atts; i++) {
        json_t *ci = json_loads(t->atts[i].connection_info, 0, NULL);
        json_t *st = json_object_get(json_object_get(ci, "data"), "storage");
        bool named = strcmp(str(st, "host"), host) == 0 && strcmp(str(st, "node_name"), node) == 0;
        json_decref(ci);
        if (named)
            return true;
    }
    return false;
}

/* May the storage export ID of NODE (sx-*) on the pass's host go? */
static bool storage_export_stale(struct pass *p, const struct truth *t, const char *node)
{
    if (json_object_get(t->busy_nodes, node) || storage_export_named(t, p->h->name, node))
        return false;
    const struct reg_volume *v = volume_of_node(t, node);
    /* a volume of this host in a transition: its attach, detach or swap
     * decides */
    return !v || detached(v) || in_use(v) || strcmp(v->host, p->h->name) != 0;
}

static void drop_exports(struct pass *p, const struct truth *t, json_t *exports)
{
    json_t *gone = json_array();
    json_t *sx_nodes = json_array(); /* nodes of the sx-* exports removed */
    size_t i;
    json_t *x;
    json_array_foreach(exports, i, x) {
        const char *id = str(x, "id"), *node = str(x, "node-name");
        if (strncmp(id, "sx-", 3) == 0) {
            if (!storage_export_stale(p, t, node))
                continue;
            swap_log("reconcile: host %s: storage export %s (node %s) is no attachment's or "
                     "swap's: removing it",
                     p->h->name, id, node);
            p->changes++;
            if (command(p, "block-export-del", json_pack("{s:s, s:s}", "id", id, "mode", "hard"),
                        "not found") == 0) {
                json_array_append_new(gone, json_string(id));
                json_array_append_new(sx_nodes, json_string(node));
            }
            continue;
        }
        if (strncmp(id, "exp-", 4) != 0)
            continue;
        const struct reg_attachment *a = attachment_of_export(t, id);
        if (a) {
            if (strcmp(a->node_name, node) != 0 && !json_object_get(t->busy_servers, a->server_id))
                swap_log("reconcile: host %s: export %s serves node %s, the registry says %s; "
                         "left alone (the node may hold writes the registry does not know of)",
                         p->h->name, id, node, a->node_name);
            continue;
        }
        const struct reg_volume *v = volume_of_node(t, node);
        if ((v && !detached(v)) || json_object_get(t->busy_nodes, node))
            continue;
        swap_log("reconcile: host %s: export %s (node %s) is no attachment's: removing it",
                 p->h->name, id, node);
        p->changes++;
        if (command(p, "block-export-del", json_pack("{s:s, s:s}", "id", id, "mode", "hard"),
                    "not found") == 0)
            json_array_append_new(gone, json_string(id));
    }
    /* the node stays busy until its export is really gone */
    for (int waited = 0; json_array_size(gone) && waited < JOB_END_MS; waited += 100) {
        json_t *now = query(p, "query-block-exports");
        if (!now)
            break;
        bool left = false;
        json_array_foreach(now, i, x) {
            size_t k;
            json_t *g;
            json_array_foreach(gone, k, g) {
                if (strcmp(str(x, "id"), json_string_value(g)) == 0)
                    left = true;
            }
        }
        json_decref(now);
        if (!left)
            break;
        struct timespec ts = { 0, 100 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    json_decref(gone);
    /* A storage export's node has the compute side's name, which an
     * attachment names, so close_nodes leaves it: it goes here, unless
     * another export serves it (blockdev-del refuses then). */
    json_array_foreach(sx_nodes, i, x) {
        command(p, "blockdev-del", json_pack("{s:s}", "node-name", json_string_value(x)),
                "Failed to find node");
    }
    json_decref(sx_nodes);
}

static void close_nodes(struct pass *p, const struct truth *t)
{
    json_t *exports = query(p, "query-block-exports");
    json_t *nodes = exports ? query(p, "query-named-block-nodes") : NULL;
    size_t i;
    json_t *n;
    json_array_foreach(nodes, i, n) {
        const char *node = str(n, "node-name");
        if (exported(exports, node) || !node_closable(t, node))
            continue;
        swap_log("reconcile: host %s: node %s (%s) is no attachment's: closing it", p->h->name,
                 node, str(n, "file"));
        p->changes++;
        /* a node a job still holds refuses, and stays for the next pass */
        command(p, "blockdev-del", json_pack("{s:s}", "node-name", node), "Failed to find node");
    }
    json_decref(exports);
    json_decref(nodes);
}

static bool node_listed(json_t *nodes, const char *node)
{
    size_t i;
    json_t *n;
    json_array_foreach(nodes, i, n) {
        if (strcmp(str(n, "node-name"), node) == 0)
            return true;
    }
    return false;
}

/* The attachments of servers on the host whose export the host lost (a
 * daemon that keeps no state, or lost it): open and export them again. */
static void reopen(struct pass *p, const struct truth *t)
{
    json_t *exports = query(p, "query-block-exports");
    json_t *nodes = exports ? query(p, "query-named-block-nodes") : NULL;
    for (size_t i = 0; nodes && i < t->n_atts; i++) {
        const struct reg_attachment *a = &t->atts[i];
        const struct reg_volume *v = NULL;
        for (size_t k = 0; k < t->n_vols && !v; k++)
            if (strcmp(t->vols[k].id, a->volume_id) == 0)
                v = &t->vols[k];
        if (!t->att_here[i] || !v || !in_use(v) || strcmp(v->host, p->h->name) != 0 ||
            json_object_get(t->busy_servers, a->server_id) || !a->export_id[0])
            continue;
        bool have = false;
        size_t j;
        json_t *x;
        json_array_foreach(exports, j, x) {
            if (strcmp(str(x, "id"), a->export_id) == 0)
                have = true;
        }
        if (have)
            continue;
        swap_log("reconcile: host %s: the export %s of volume %s is gone: opening it again",
                 p->h->name, a->export_id, v->id);
        p->changes++;
        if (!node_listed(nodes, a->node_name)) {
            struct stat st;
            bool is_blk = stat(v->path, &st) == 0 && S_ISBLK(st.st_mode);
            if (command(p, "blockdev-add",
                        json_pack("{s:s, s:s, s:s, s:s}", "driver", is_blk ? "host_device" : "file",
                                  "filename", v->path, "node-name", a->node_name, "discard",
                                  "unmap"),
                        "Duplicate") < 0)
                continue;
        }
        command(p, "block-export-add",
                json_pack("{s:s, s:s, s:s, s:s, s:b}", "type", "nbd", "id", a->export_id,
                          "node-name", a->node_name, "name", a->export_name, "writable",
                          v->readonly != 1),
                NULL);
    }
    json_decref(exports);
    json_decref(nodes);
}

int swap_reconcile_host(const struct cfg_host *h, struct api_error *e)
{
    if (strcmp(h->driver, "libvirt") == 0)
        return swap_libvirt_reconcile(h, e);
    struct pass p = { .h = h };
    p.hc = host_call_open(h, HOST_PROBE_TIMEOUT_MS, e);
    if (!p.hc)
        return -1;
    end_jobs(&p);
    struct truth t;
    int rc = -1;
    json_t *exports = NULL;
    if (truth_read(h->name, &t, e) < 0)
        goto out;
    exports = query(&p, "query-block-exports");
    if (exports)
        drop_exports(&p, &t, exports);
    close_nodes(&p, &t);
    reopen(&p, &t);
    if (p.unfinished)
        api_err(e, 503, "host %s stopped answering during the pass", h->name);
    else
        rc = 0;
    if (p.changes)
        swap_log("reconcile: host %s: %d change(s)%s", h->name, p.changes,
                 p.unfinished ? ", unfinished" : "");
out:
    json_decref(exports);
    truth_free(&t);
    host_call_close(p.hc);
    return rc;
}

/* ---- the thread ---- */

static void *reconciler_main(void *arg)
{
    (void)arg;
    const struct api_config *c = cfg();
    pthread_mutex_lock(&rc_state.lock);
    while (!rc_state.stop) {
        int64_t wake = 0; /* the earliest retry due, 0: none */
        for (size_t i = 0; i < c->n_hosts && !rc_state.stop; i++) {
            if (rc_state.want[i] == rc_state.done[i])
                continue;
            if (api_now_ms() < rc_state.next_ms[i]) {
                if (!wake || rc_state.next_ms[i] < wake)
                    wake = rc_state.next_ms[i];
                continue;
            }
            unsigned asked = rc_state.want[i];
            pthread_mutex_unlock(&rc_state.lock);
            struct api_error e = { 0 };
            int rc = swap_reconcile_host(&c->hosts[i], &e);
            pthread_mutex_lock(&rc_state.lock);
            if (rc == 0) {
                rc_state.done[i] = asked;
                rc_state.backoff_ms[i] = 0;
                rc_state.next_ms[i] = 0;
            } else {
                int64_t b = rc_state.backoff_ms[i] ? rc_state.backoff_ms[i] * 2 : RETRY_MS;
                rc_state.backoff_ms[i] = b < RETRY_MAX_MS ? b : RETRY_MAX_MS;
                rc_state.next_ms[i] = api_now_ms() + rc_state.backoff_ms[i];
            }
            if (rc_state.want[i] != rc_state.done[i] && (!wake || rc_state.next_ms[i] < wake))
                wake = rc_state.next_ms[i] ? rc_state.next_ms[i] : api_now_ms();
        }
        if (rc_state.stop)
            break;
        if (wake) {
            int64_t left = wake - api_now_ms();
            if (left <= 0)
                continue;
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            int64_t ns = ts.tv_nsec + left * 1000000L;
            ts.tv_sec += ns / 1000000000L;
            ts.tv_nsec = ns % 1000000000L;
            pthread_cond_timedwait(&rc_state.cond, &rc_state.lock, &ts);
        } else {
            pthread_cond_wait(&rc_state.cond, &rc_state.lock);
        }
    }
    pthread_mutex_unlock(&rc_state.lock);
    return NULL;
}

int swap_reconcile_init(struct api_error *e)
{
    size_t n = cfg()->n_hosts;
    /* a detach that left a storage export behind marks its host */
    host_on_storage_left(swap_reconcile_mark);
    pthread_mutex_lock(&rc_state.lock);
    rc_state.want = calloc(n + 1, sizeof *rc_state.want);
    rc_state.done = calloc(n + 1, sizeof *rc_state.done);
    rc_state.next_ms = calloc(n + 1, sizeof *rc_state.next_ms);
    rc_state.backoff_ms = calloc(n + 1, sizeof *rc_state.backoff_ms);
    rc_state.stop = false;
    bool ok = rc_state.want && rc_state.done && rc_state.next_ms && rc_state.backoff_ms;
    /* every host once: what the last run left undone is not known */
    for (size_t i = 0; ok && i < n; i++)
        rc_state.want[i] = 1;
    pthread_mutex_unlock(&rc_state.lock);
    if (!ok) {
        swap_reconcile_stop();
        return api_err(e, 500, "out of memory");
    }
    return 0;
}

int swap_reconcile_start(struct api_error *e)
{
    if (pthread_create(&rc_state.thread, NULL, reconciler_main, NULL) != 0)
        return api_err(e, 500, "cannot start the host reconciler");
    rc_state.started = true;
    return 0;
}

void swap_reconcile_stop(void)
{
    pthread_mutex_lock(&rc_state.lock);
    rc_state.stop = true;
    pthread_cond_signal(&rc_state.cond);
    pthread_mutex_unlock(&rc_state.lock);
    if (rc_state.started)
        pthread_join(rc_state.thread, NULL);
    rc_state.started = false;
    pthread_mutex_lock(&rc_state.lock);
    free(rc_state.want);
    free(rc_state.done);
    free(rc_state.next_ms);
    free(rc_state.backoff_ms);
    rc_state.want = rc_state.done = NULL;
    rc_state.next_ms = rc_state.backoff_ms = NULL;
    pthread_mutex_unlock(&rc_state.lock);
}
