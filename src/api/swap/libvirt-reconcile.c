/* Host reconciliation on a libvirt host: reconcile.c's pass for driver
 * "libvirt", bringing the disks of the host's domains back to what the
 * registry says. A swap or an attach interrupted where recovery cannot
 * settle it (volswap-api killed while libvirtd was away, a rollback that
 * could not reach the host) leaves libvirt's side undone: a block copy
 * still running (QEMU mirrors every guest write to a volume nobody will
 * pivot to), a disk on a domain that the registry says is detached, an
 * NBD export on the volswapd beside libvirtd that no disk reads. A pass,
 * for every domain that is a server of the host and that no swap or
 * power action is working on:
 *   - ends a block copy on any of our disks (alias "ua-") without a
 *     pivot: the guest stays on the volume it writes, which holds every
 *     write it was told had finished; the copy is only a partial
 *     duplicate;
 *   - detaches (definition and live) our disks that no attachment names
 *     and whose volume is detached, or gone: the registry could hand
 *     that volume to another server, and two writers would corrupt it;
 *     the volume's data stays in its storage;
 *   - makes the persistent definition name the volume the guest runs on
 *     when the live disk and the registry agree and the definition does
 *     not (a pivot whose definition update was lost): a stale definition
 *     would put the old volume back at the next boot, dropping every
 *     write made since the swap;
 *   - on an NBD host, removes the volswapd's exports ("lv-NODE") and
 *     closes the volume nodes that no domain's disk, no attachment and no
 *     unfinished swap names, and whose volume is detached or gone.
 * A disk that the registry names but whose source is another volume than
 * the registry's, a disk of a volume in a transition, or of a volume
 * attached elsewhere, is logged and left alone: it may hold writes the
 * registry does not know of, and only recovery (which knows the swap)
 * may decide which volume they belong to. Domains that are not servers,
 * and disks without our alias, are the operator's and never touched.
 * Threads: the reconciler's; libvirt calls need no lock of ours, and the
 * registry and the swap list are only read. */
#include "swap.h"

#include <libvirt/virterror.h>
#include <stdlib.h>
#include <string.h>

struct lvr_truth {
    struct reg_volume *vols;
    size_t n_vols;
    struct reg_server *srv;
    size_t n_srv;
    struct reg_attachment *atts; /* of every server */
    size_t n_atts;
    json_t *busy_servers, *busy_nodes;
};

struct lvr_pass {
    const struct cfg_host *h;
    struct lvr_truth t;
    json_t *disk_nodes; /* NBD export names our domains' disks read */
    bool nbd, unfinished;
    int changes;
};

static void truth_free(struct lvr_truth *t)
{
    free(t->vols);
    free(t->srv);
    free(t->atts);
    json_decref(t->busy_servers);
    json_decref(t->busy_nodes);
}

static int truth_read(struct lvr_truth *t, struct api_error *e)
{
    struct registry *reg = swap_svc->ctx->reg;
    memset(t, 0, sizeof *t);
    t->busy_servers = json_object();
    t->busy_nodes = json_object();
    if (reg->ops->volume_list(reg, NULL, &t->vols, &t->n_vols) < 0 ||
        reg->ops->server_list(reg, NULL, &t->srv, &t->n_srv) < 0)
        return reg_fail(e, reg);
    for (size_t i = 0; i < t->n_srv; i++) {
        struct reg_attachment *a = NULL;
        size_t n = 0;
        if (reg->ops->attachment_list(reg, t->srv[i].id, &a, &n) < 0)
            return reg_fail(e, reg);
        struct reg_attachment *all = realloc(t->atts, (t->n_atts + n + 1) * sizeof *all);
        if (!all) {
            free(a);
            return api_err(e, 500, "out of memory");
        }
        t->atts = all;
        if (n) /* a server without attachments may give NULL */
            memcpy(t->atts + t->n_atts, a, n * sizeof *a);
        t->n_atts += n;
        free(a);
        if (swap_power_busy(t->srv[i].id))
            json_object_set_new(t->busy_servers, t->srv[i].id, json_true());
    }
    return swap_busy_read(t->busy_servers, t->busy_nodes, e);
}

static const struct reg_server *server_here(const struct lvr_pass *p, const char *id)
{
    for (size_t i = 0; i < p->t.n_srv; i++)
        if (strcmp(p->t.srv[i].id, id) == 0 && strcmp(p->t.srv[i].host, p->h->name) == 0)
            return &p->t.srv[i];
    return NULL;
}

static const struct reg_volume *volume_by_id(const struct lvr_truth *t, const char *id)
{
    for (size_t i = 0; i < t->n_vols; i++)
        if (strcmp(t->vols[i].id, id) == 0)
            return &t->vols[i];
    return NULL;
}

/* The volume a disk's source names: its file or device, or the node its
 * export is named after (a network disk on this host's volswapd, or on
 * the export of the volume's storage host). */
static const struct reg_volume *volume_of_source(const struct lvr_pass *p, const char *src)
{
    char nn[32];
    for (size_t i = 0; src[0] && i < p->t.n_vols; i++) {
        host_node_name(p->t.vols[i].id, nn);
        if (strcmp(nn, src) == 0 || (!p->nbd && strcmp(p->t.vols[i].path, src) == 0))
            return &p->t.vols[i];
    }
    return NULL;
}

/* Whether attachment A's disk reads another host's export (data.storage). */
static bool attachment_remote(const struct reg_attachment *a)
{
    json_error_t jerr;
    json_t *ci = json_loads(a->connection_info, 0, &jerr);
    bool remote = json_is_object(json_object_get(json_object_get(ci, "data"), "storage"));
    json_decref(ci);
    return remote;
}

/* What the registry says the disk of attachment A reads. */
static void expected_source(const struct lvr_pass *p, const struct reg_attachment *a, char *out,
                            size_t outlen)
{
    const struct reg_volume *v = volume_by_id(&p->t, a->volume_id);
    snprintf(out, outlen, "%s", p->nbd || attachment_remote(a) ? a->node_name : v ? v->path : "");
}

static const struct reg_attachment *attachment_of_alias(const struct lvr_pass *p,
                                                        const char *server_id, const char *alias)
{
    if (strncmp(alias, "ua-", 3) != 0)
        return NULL;
    for (size_t i = 0; i < p->t.n_atts; i++)
        if (strcmp(p->t.atts[i].server_id, server_id) == 0 &&
            strcmp(p->t.atts[i].export_id, alias + 3) == 0)
            return &p->t.atts[i];
    return NULL;
}

static bool detached(const struct reg_volume *v)
{
    return strcmp(v->status, "available") == 0 && strcmp(v->attach_status, "detached") == 0;
}

static bool node_named(const struct lvr_pass *p, const char *node)
{
    if (json_object_get(p->t.busy_nodes, node) || json_object_get(p->disk_nodes, node))
        return true;
    for (size_t i = 0; i < p->t.n_atts; i++)
        if (strcmp(p->t.atts[i].node_name, node) == 0)
            return true;
    return false;
}

/* ---- one domain ---- */

/* Whether a swap or a power action works on SERVER_ID now: asked again
 * right before each change, so that one admitted since the registry was
 * read is left alone (its copy cannot have reached a pivot meanwhile). */
static bool busy_now(const char *server_id)
{
    bool busy = swap_power_busy(server_id);
    pthread_mutex_lock(&swap_svc->lock);
    for (struct swap_task *k = swap_svc->tasks; k && !busy; k = k->next)
        busy = !k->finished && strcmp(k->rec.server_id, server_id) == 0;
    pthread_mutex_unlock(&swap_svc->lock);
    return busy;
}

/* What the pass saw of one domain, read before the registry: a disk seen
 * here that the registry (read later) does not name was not an attach in
 * flight (its volume would be attaching, or attached). */
struct lvr_domain {
    virDomainPtr d;
    char uuid[VIR_UUID_STRING_BUFLEN];
    char *live, *inactive;
    bool ok; /* both read */
};

static void end_copy(struct lvr_pass *p, struct lvr_domain *v, const char *target)
{
    virDomainBlockJobInfo info;
    if (virDomainGetBlockJobInfo(v->d, target, &info, 0) != 1 ||
        info.type != VIR_DOMAIN_BLOCK_JOB_TYPE_COPY || busy_now(v->uuid))
        return;
    const char *dom = virDomainGetName(v->d);
    swap_log("reconcile: host %s: domain %s disk %s: a block copy no swap drives: ending it "
             "without a pivot",
             p->h->name, dom, target);
    p->changes++;
    if (virDomainBlockJobAbort(v->d, target, 0) < 0) {
        swap_log("reconcile: host %s: domain %s disk %s: abort: %s", p->h->name, dom, target,
                 virGetLastErrorMessage());
        p->unfinished = true;
    }
}

static void detach_stray(struct lvr_pass *p, struct lvr_domain *dv, const struct hlv_disk *k)
{
    const char *dom = virDomainGetName(dv->d);
    const struct reg_volume *v = volume_of_source(p, k->source);
    if (v && !detached(v)) {
        swap_log("reconcile: host %s: domain %s disk %s (%s) is no attachment's, but volume %s "
                 "is %s: left alone",
                 p->h->name, dom, k->target, k->source, v->id, v->status);
        return;
    }
    if (busy_now(dv->uuid))
        return;
    swap_log("reconcile: host %s: domain %s disk %s (%s) is no attachment's%s: detaching it",
             p->h->name, dom, k->target, k->source,
             v ? " and its volume is detached" : " and no volume's");
    p->changes++;
    struct api_error e = { 0 };
    char node[32] = "";
    if (p->nbd)
        snprintf(node, sizeof node, "%.31s", k->source);
    if (hlv_driver.detach(p->h, node, k->alias + 3, &e) < 0) {
        swap_log("reconcile: host %s: domain %s disk %s: %s", p->h->name, dom, k->target, e.msg);
        p->unfinished = true;
    } else if (p->nbd) {
        json_object_del(p->disk_nodes, node);
    }
}

/* The definition follows the live disk, read again now: the registry
 * names what the guest runs on, and no job is on the disk. */
static void fix_definition(struct lvr_pass *p, struct lvr_domain *v, const struct hlv_disk *k,
                           const char *want)
{
    const char *dom = virDomainGetName(v->d);
    char key[96], now_live[1024] = "", now_def[1024] = "";
    snprintf(key, sizeof key, "<alias name='%s'", k->alias);
    virDomainBlockJobInfo info;
    if (busy_now(v->uuid) || virDomainGetBlockJobInfo(v->d, k->target, &info, 0) != 0)
        return;
    char *live = virDomainGetXMLDesc(v->d, 0);
    char *inactive = virDomainGetXMLDesc(v->d, VIR_DOMAIN_XML_INACTIVE);
    if (!live || !inactive || hlv_disk_find(live, key, now_live, sizeof now_live) != 0 ||
        hlv_disk_find(inactive, key, now_def, sizeof now_def) != 0 || strcmp(now_live, want) != 0 ||
        strcmp(now_def, want) == 0) {
        free(live);
        free(inactive);
        return;
    }
    swap_log("reconcile: host %s: domain %s disk %s runs on %s, its definition names %s: "
             "pointing the definition at %s",
             p->h->name, dom, k->target, now_live, now_def, now_live);
    p->changes++;
    char *xml = hlv_disk_with_live_source(inactive, live, k->alias);
    if (!xml || virDomainUpdateDeviceFlags(v->d, xml, VIR_DOMAIN_AFFECT_CONFIG) < 0) {
        swap_log("reconcile: host %s: domain %s disk %s: updating the definition: %s", p->h->name,
                 dom, k->target, xml ? virGetLastErrorMessage() : "cannot build the disk");
        p->unfinished = true;
    }
    free(xml);
    free(live);
    free(inactive);
}

static void note_nodes(struct lvr_pass *p, const char *xml)
{
    struct hlv_disk k;
    for (const char *c = xml; c && hlv_disk_next(&c, &k) == 0;)
        if (strcmp(k.type, "network") == 0 && k.source[0])
            json_object_set_new(p->disk_nodes, k.source, json_true());
}

/* Reads domain D's XML (live when it runs, its definition when it has
 * one); false when libvirt did not give it. */
static bool domain_read(struct lvr_pass *p, virDomainPtr d, struct lvr_domain *v)
{
    memset(v, 0, sizeof *v);
    v->d = d;
    if (virDomainGetUUIDString(d, v->uuid) < 0)
        return false;
    int active = virDomainIsActive(d), persistent = virDomainIsPersistent(d);
    v->live = active == 1 ? virDomainGetXMLDesc(d, 0) : NULL;
    v->inactive = persistent == 1 ? virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE) : NULL;
    note_nodes(p, v->live);
    note_nodes(p, v->inactive);
    return v->ok = active >= 0 && persistent >= 0 && (active == 0 || v->live) &&
                   (persistent == 0 || v->inactive);
}

static void one_domain(struct lvr_pass *p, struct lvr_domain *v)
{
    if (!server_here(p, v->uuid) || json_object_get(p->t.busy_servers, v->uuid))
        return;
    const char *dom = virDomainGetName(v->d);
    for (size_t i = 0; i < p->t.n_atts; i++) {
        const struct reg_attachment *a = &p->t.atts[i];
        char key[96];
        snprintf(key, sizeof key, "<alias name='ua-%s'", a->export_id);
        if (strcmp(a->server_id, v->uuid) == 0 &&
            !(v->live && hlv_disk_find(v->live, key, NULL, 0) == 0) &&
            !(v->inactive && hlv_disk_find(v->inactive, key, NULL, 0) == 0))
            swap_log("reconcile: host %s: domain %s has no disk for attachment %s (volume %s on "
                     "%s): left to the operator (detach the volume, or attach it again)",
                     p->h->name, dom, a->id, a->volume_id, a->device);
    }
    struct hlv_disk k;
    /* the live disks, then those only the definition has */
    for (int pass = 0; pass < 2; pass++) {
        const char *xml = pass == 0 ? v->live : v->inactive;
        for (const char *c = xml; c && hlv_disk_next(&c, &k) == 0;) {
            if (strncmp(k.alias, "ua-", 3) != 0)
                continue; /* not a disk volswap attached */
            char key[96], def_src[1024] = "";
            snprintf(key, sizeof key, "<alias name='%s'", k.alias);
            if (pass == 1 && v->live && hlv_disk_find(v->live, key, NULL, 0) == 0)
                continue; /* seen live */
            if (pass == 0)
                end_copy(p, v, k.target);
            const struct reg_attachment *a = attachment_of_alias(p, v->uuid, k.alias);
            if (!a) {
                detach_stray(p, v, &k);
                continue;
            }
            char want[1024];
            expected_source(p, a, want, sizeof want);
            if (strcmp(k.source, want) != 0) {
                swap_log("reconcile: host %s: domain %s disk %s reads %s, the registry says %s: "
                         "left alone (it may hold writes the registry does not know of)",
                         p->h->name, dom, k.target, k.source, want);
                continue;
            }
            if (pass == 0 && v->inactive &&
                hlv_disk_find(v->inactive, key, def_src, sizeof def_src) == 0 &&
                strcmp(def_src, k.source) != 0)
                fix_definition(p, v, &k, want);
        }
    }
}

/* ---- the volswapd beside libvirtd ---- */

static json_t *query(const struct cfg_host *h, const char *cmd, struct api_error *e)
{
    struct host_conn *c = host_call_open(h, HOST_PROBE_TIMEOUT_MS, e);
    if (!c)
        return NULL;
    struct qmp_error qe;
    json_t *ret = NULL;
    if (host_call(c, h, cmd, NULL, &ret, &qe) < 0) {
        api_err(e, 503, "host %s: %s: %s", h->name, cmd, qe.desc);
        ret = NULL;
    }
    host_call_close(c);
    if (ret && !json_is_array(ret)) {
        json_decref(ret);
        ret = json_array();
    }
    return ret;
}

static bool closable(const struct lvr_pass *p, const char *node)
{
    if (strncmp(node, "vol-", 4) != 0 || node_named(p, node))
        return false;
    char nn[32];
    for (size_t i = 0; i < p->t.n_vols; i++) {
        host_node_name(p->t.vols[i].id, nn);
        if (strcmp(nn, node) == 0)
            return detached(&p->t.vols[i]);
    }
    return true; /* no volume's: a deleted one's, or a migration's temporary one */
}

static void nbd_side(struct lvr_pass *p)
{
    struct api_error e = { 0 };
    json_t *exports = query(p->h, "query-block-exports", &e);
    json_t *nodes = exports ? query(p->h, "query-named-block-nodes", &e) : NULL;
    if (!nodes) {
        swap_log("reconcile: host %s: %s", p->h->name, e.msg);
        p->unfinished = true;
        json_decref(exports);
        return;
    }
    json_t *done = json_object();
    size_t i;
    json_t *x;
    json_array_foreach(exports, i, x) {
        const char *id = json_string_value(json_object_get(x, "id"));
        const char *node = json_string_value(json_object_get(x, "node-name"));
        char mine[40];
        if (!id || !node)
            continue;
        hlv_nbd_export_id(node, mine);
        if (strcmp(id, mine) != 0 || !closable(p, node))
            continue;
        swap_log("reconcile: host %s: export %s (node %s) is no disk's: closing it", p->h->name, id,
                 node);
        p->changes++;
        if (hlv_nbd_close(p->h, node, &e) < 0) {
            swap_log("reconcile: host %s: %s", p->h->name, e.msg);
            p->unfinished = true;
        }
        json_object_set_new(done, node, json_true());
    }
    /* volume nodes no export serves (a close that stopped halfway) */
    json_array_foreach(nodes, i, x) {
        const char *node = json_string_value(json_object_get(x, "node-name"));
        bool served = false;
        size_t j;
        json_t *y;
        json_array_foreach(exports, j, y) {
            const char *n = json_string_value(json_object_get(y, "node-name"));
            if (n && node && strcmp(n, node) == 0)
                served = true;
        }
        if (!node || served || json_object_get(done, node) || !closable(p, node))
            continue;
        swap_log("reconcile: host %s: node %s is no disk's: closing it", p->h->name, node);
        p->changes++;
        if (hlv_nbd_close(p->h, node, &e) < 0) {
            swap_log("reconcile: host %s: %s", p->h->name, e.msg);
            p->unfinished = true;
        }
    }
    json_decref(done);
    json_decref(exports);
    json_decref(nodes);
}

int swap_libvirt_reconcile(const struct cfg_host *h, struct api_error *e)
{
    struct lvr_pass p = { .h = h, .nbd = hlv_nbd_mode(h) };
    virDomainPtr *doms = NULL;
    int n = hlv_list_domains(h, &doms, e);
    if (n < 0)
        return -1;
    p.disk_nodes = json_object();
    struct lvr_domain *views = calloc((size_t)n + 1, sizeof *views);
    int rc = views ? 0 : api_err(e, 500, "out of memory");
    /* the domains first, the registry after (see struct lvr_domain) */
    for (int i = 0; rc == 0 && i < n; i++)
        if (!domain_read(&p, doms[i], &views[i])) {
            /* a node no disk was seen to read may be this domain's */
            swap_log("reconcile: host %s: cannot read a domain: %s", h->name,
                     virGetLastErrorMessage());
            p.unfinished = true;
        }
    if (rc == 0)
        rc = truth_read(&p.t, e);
    for (int i = 0; rc == 0 && i < n; i++)
        if (views[i].ok)
            one_domain(&p, &views[i]);
    if (rc == 0 && p.nbd && !p.unfinished)
        nbd_side(&p);
    if (rc == 0 && p.unfinished)
        rc = api_err(e, 503, "host %s: the pass did not finish", h->name);
    if (p.changes)
        swap_log("reconcile: host %s: %d change(s)%s", h->name, p.changes,
                 p.unfinished ? ", unfinished" : "");
    for (int i = 0; i < n; i++) {
        if (views) {
            free(views[i].live);
            free(views[i].inactive);
        }
        virDomainFree(doms[i]);
    }
    free(views);
    free(doms);
    truth_free(&p.t);
    json_decref(p.disk_nodes);
    return rc;
}
