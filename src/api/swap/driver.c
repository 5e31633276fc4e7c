/* The QMP steps of a swap, per host driver. Both drivers end in the same
 * graph change -- the mirror's completion replaces the old node by the new
 * one under every parent (the NBD export, and for a real QEMU the guest's
 * virtio-blk device) -- but they open the target the way each peer is
 * normally driven:
 *   volswapd  blockdev-add the new volume, then blockdev-mirror onto it
 *             (our daemon's native form, the one libvirt uses today);
 *   qemu      drive-mirror mode=existing format=raw with a node-name, the
 *             libvirt blockRebase(REUSE_EXT|COPY) path of the trace, so the
 *             real QEMU opens the target itself.
 * A new volume on another storage host is that host's NBD export, opened
 * as an nbd node by either driver (blockdev-add, blockdev-mirror).
 * The queries recovery relies on (query-block-exports, query-jobs) and the
 * forced cancel are shared.
 *
 * QEMU's mirror (a real QEMU, or qemu-storage-daemon behind the volswapd
 * driver) is given buf-size QEMU_MIRROR_BUF_SIZE: by default it keeps 16
 * MiB of copies in flight, which run in the same AioContext and thread
 * pool as the consumer's requests, and a consumer's write waited behind
 * them (bench/swap on a qemu-storage-daemon host, 9 swaps a run: its
 * longest write during a swap 158-182 ms with the default, 30-41 ms with 2
 * MiB, and the mirror no slower: 716-976 ms against 474-641 ms). volswapd
 * paces its own copies (src/jobs/mirror-pace.c) and keeps its default: its
 * buffer also bounds copies to a remote NBD target, which need many in
 * flight. */
#define QEMU_MIRROR_BUF_SIZE (2 * 1024 * 1024)
#include "swap.h"

#include <string.h>
#include <sys/stat.h>

int swap_qmp_simple(struct host_session *s, const char *cmd, json_t *args, const char *ignore,
                    struct api_error *e)
{
    struct qmp_error qe;
    int rc = host_session_execute(s, cmd, args, NULL, HOST_QMP_TIMEOUT_MS, &qe);
    if (rc < 0 && ignore && strstr(qe.desc, ignore))
        return 1;
    if (rc < 0)
        return api_err(e, 500, "%s failed: %s: %s", cmd, qe.cls, qe.desc);
    return 0;
}

static json_t *mirror_common(const struct swap_rec *r, int64_t speed)
{
    json_t *a =
        json_pack("{s:s, s:s, s:s}", "job-id", r->id, "device", r->old_node, "sync", "full");
    if (speed > 0)
        json_object_set_new(a, "speed", json_integer(speed));
    return a;
}

/* Whether the daemon behind S is QEMU's (qemu-storage-daemon answers the
 * volswapd driver too): volswapd's query-version names its package. */
static bool runs_qemu_mirror(struct host_session *s)
{
    struct qmp_error qe;
    json_t *v = NULL;
    bool qemu = false;

    if (host_session_execute(s, "query-version", NULL, &v, HOST_QMP_TIMEOUT_MS, &qe) == 0) {
        const char *pkg = json_string_value(json_object_get(v, "package"));
        qemu = !pkg || strncmp(pkg, "volswap", 7) != 0;
    }
    json_decref(v);
    return qemu;
}

/* The new volume's storage host when it is not the server's (a move
 * between storage hosts: the target is that host's NBD export), else NULL. */
const struct cfg_host *swap_remote_host(const struct swap_rec *r, const char *volume_host)
{
    /* no service (a unit test of the records): no hosts to look at */
    if (!swap_svc || !swap_svc->ctx || !swap_svc->ctx->cfg)
        return NULL;
    const struct api_config *cfg = swap_svc->ctx->cfg;
    const struct cfg_host *ch = config_host(cfg, r->host), *sh = config_host(cfg, volume_host);
    return ch && sh && sh != ch ? sh : NULL;
}

/* blockdev-add and blockdev-mirror: the target opened by name, a local
 * file or another host's export (which the storage host exports first). */
static int open_and_mirror(struct host_session *s, const struct swap_rec *r,
                           const struct reg_volume *nv, int64_t speed, struct api_error *e)
{
    const struct cfg_host *sh = swap_remote_host(r, nv->host);
    json_t *add;
    if (sh) {
        const struct cfg_host *ch = config_host(swap_svc->ctx->cfg, r->host);
        if (host_storage_check(ch, sh, e) < 0 ||
            host_storage_export(sh, nv->path, r->new_node, e) < 0)
            return -1;
        add = host_remote_blockdev(ch, sh, r->new_node);
    } else {
        struct stat st;
        bool is_blk = stat(nv->path, &st) == 0 && S_ISBLK(st.st_mode);
        add = json_pack("{s:s, s:s, s:s, s:s}", "driver", is_blk ? "host_device" : "file",
                        "filename", nv->path, "node-name", r->new_node, "discard", "unmap");
    }
    /* a node left by an interrupted attempt is reused */
    int rc = swap_qmp_simple(s, "blockdev-add", add, "Duplicate", e);
    json_decref(add);
    if (rc < 0)
        return -1;
    json_t *m = mirror_common(r, speed);
    json_object_set_new(m, "target", json_string(r->new_node));
    if (runs_qemu_mirror(s))
        json_object_set_new(m, "buf-size", json_integer(QEMU_MIRROR_BUF_SIZE));
    rc = swap_qmp_simple(s, "blockdev-mirror", m, NULL, e);
    json_decref(m);
    return rc < 0 ? -1 : 0;
}

static int volswapd_start(struct host_session *s, const struct swap_rec *r,
                          const struct reg_volume *nv, int64_t speed, struct api_error *e)
{
    return open_and_mirror(s, r, nv, speed, e);
}

static int qemu_start(struct host_session *s, const struct swap_rec *r, const struct reg_volume *nv,
                      int64_t speed, struct api_error *e)
{
    /* another host's export: QEMU opens it as an nbd node, as volswapd does */
    if (swap_remote_host(r, nv->host))
        return open_and_mirror(s, r, nv, speed, e);
    json_t *m = mirror_common(r, speed);
    json_object_set_new(m, "target", json_string(nv->path));
    json_object_set_new(m, "format", json_string("raw"));
    json_object_set_new(m, "mode", json_string("existing"));
    json_object_set_new(m, "node-name", json_string(r->new_node));
    json_object_set_new(m, "buf-size", json_integer(QEMU_MIRROR_BUF_SIZE));
    int rc = swap_qmp_simple(s, "drive-mirror", m, NULL, e);
    json_decref(m);
    return rc < 0 ? -1 : 0;
}

static int close_new(struct host_session *s, const struct swap_rec *r, struct api_error *e)
{
    json_t *a = json_pack("{s:s}", "node-name", r->new_node);
    int rc = swap_qmp_simple(s, "blockdev-del", a, "Failed to find node", e);
    json_decref(a);
    return rc < 0 ? -1 : 0;
}

/* libvirt hosts have no QMP session: their whole swap is libvirt.c's
 * (swap_libvirt_run), and the worker never calls these. */
static int libvirt_no_qmp(struct host_session *s, const struct swap_rec *r,
                          const struct reg_volume *nv, int64_t speed, struct api_error *e)
{
    (void)s;
    (void)r;
    (void)nv;
    (void)speed;
    return api_err(e, 500, "libvirt hosts are not driven over QMP");
}

static int libvirt_no_close(struct host_session *s, const struct swap_rec *r, struct api_error *e)
{
    (void)s;
    (void)r;
    (void)e;
    return 0;
}

static const struct swap_driver drivers[] = {
    { "volswapd", volswapd_start, close_new },
    { "qemu", qemu_start, close_new },
    { "libvirt", libvirt_no_qmp, libvirt_no_close },
};

const struct swap_driver *swap_driver_find(const char *name)
{
    for (size_t i = 0; i < sizeof drivers / sizeof drivers[0]; i++)
        if (strcmp(drivers[i].name, name) == 0)
            return &drivers[i];
    return NULL;
}

/* Runs a query command whose answer is an array of objects with an "id"
 * (query-block-exports, query-jobs) and finds the one named `id`: -1 with
 * `e` set when the command failed, else 0 with *found the member (NULL when
 * there is none; it points into *ret, which the caller releases). */
static int query_by_id(struct host_session *s, const char *cmd, const char *id, json_t **ret,
                       json_t **found, struct api_error *e)
{
    struct qmp_error qe;
    *ret = NULL;
    *found = NULL;
    if (host_session_execute(s, cmd, NULL, ret, HOST_QMP_TIMEOUT_MS, &qe) < 0)
        return api_err(e, 500, "%s failed: %s: %s", cmd, qe.cls, qe.desc);
    size_t i;
    json_t *x;
    json_array_foreach(*ret, i, x) {
        const char *xid = json_string_value(json_object_get(x, "id"));
        if (xid && strcmp(xid, id) == 0) {
            *found = x;
            break;
        }
    }
    return 0;
}

int swap_export_node(struct host_session *s, const char *export_id, char node[32],
                     struct api_error *e)
{
    json_t *ret, *x;
    if (query_by_id(s, "query-block-exports", export_id, &ret, &x, e) < 0)
        return -1;
    const char *nn = json_string_value(json_object_get(x, "node-name"));
    if (nn)
        snprintf(node, 32, "%s", nn);
    json_decref(ret);
    return nn ? 0 : 1;
}

int swap_job_status(struct host_session *s, const char *job_id, char status[32], int64_t *done,
                    int64_t *total, struct api_error *e)
{
    json_t *ret, *j;
    if (query_by_id(s, "query-jobs", job_id, &ret, &j, e) < 0)
        return -1;
    if (j) {
        const char *st = json_string_value(json_object_get(j, "status"));
        snprintf(status, 32, "%s", st ? st : "");
        if (done)
            *done = json_integer_value(json_object_get(j, "current-progress"));
        if (total)
            *total = json_integer_value(json_object_get(j, "total-progress"));
    }
    json_decref(ret);
    return j ? 0 : 1;
}

int swap_job_abort(struct host_session *s, const char *job_id, struct api_error *e)
{
    char st[32];
    int rc = swap_job_status(s, job_id, st, NULL, NULL, e);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    if (strcmp(st, "concluded") == 0) {
        json_t *a = json_pack("{s:s}", "id", job_id);
        rc = swap_qmp_simple(s, "job-dismiss", a, "not found", e);
        json_decref(a);
        return rc < 0 ? -1 : 0;
    }
    json_t *a = json_pack("{s:s, s:b}", "device", job_id, "force", 1);
    rc = swap_qmp_simple(s, "block-job-cancel", a, "not found", e);
    json_decref(a);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    /* the target stays open until the job is gone: wait for its end */
    for (int i = 0; i < 50; i++) {
        struct qmp_error qe;
        json_t *ev = host_session_next_event(s, job_id, 200, &qe);
        if (ev) {
            const char *name = json_string_value(json_object_get(ev, "event"));
            bool end = name && (!strcmp(name, "BLOCK_JOB_CANCELLED") ||
                                !strcmp(name, "BLOCK_JOB_COMPLETED"));
            json_decref(ev);
            if (end)
                return 0;
            continue;
        }
        if (strcmp(qe.cls, "Timeout") != 0)
            return api_err(e, 500, "cancel of %s: %s", job_id, qe.desc);
        /* the event may have gone to a session of the past: ask */
        if (swap_job_status(s, job_id, st, NULL, NULL, e) == 1)
            return 0;
    }
    return api_err(e, 500, "job %s did not end after block-job-cancel", job_id);
}

void swap_release_storage(const struct swap_rec *r, const char *volume_host, const char *node)
{
    const struct cfg_host *sh = volume_host ? swap_remote_host(r, volume_host) : NULL;
    struct api_error e = { 0 };
    if (sh && host_storage_unexport(sh, node, &e) < 0) {
        swap_log("%s: the export of %s stays on host %s: %s", r->id, node, sh->name, e.msg);
        swap_reconcile_mark(sh->name); /* swept when the host answers again */
    }
}
