/* The mirror job: drive-mirror / blockdev-mirror argument handling (QEMU's
 * defaults, checks and error texts), setup of the job, and the job driver
 * callbacks — cancel, complete, change, the pivot in prepare, and clean-up.
 * The copying itself is mirror-run.c, the guest-write hooks mirror-hook.c.
 *
 * Cancel follows QEMU: before READY every cancel is a forced one and the
 * job ends with BLOCK_JOB_CANCELLED, the source untouched (the mirror never
 * writes to its source) and still in use by the consumer (invariant 5).
 * After READY a soft cancel brings the target in sync like a complete, then
 * ends with BLOCK_JOB_COMPLETED and no pivot; a forced one abandons the job.
 * Complete pivots: the exit sequence leaves the source quiesced and drained
 * with the target in sync, and prepare (mirror-pivot.c) moves every backend
 * that follows its node (NBD exports and their held requests) to the target
 * and releases them there (invariant 4). */
#include "mirror.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_GRANULARITY (64 * 1024)

#define DEFAULT_BUF_SIZE (16 * 1024 * 1024)

/* ---- job driver ------------------------------------------------------ */

static bool mirror_cancel(struct job *job, bool force)
{
    /* Before READY any cancel is forced, as QEMU. */
    return force || !job_is_ready(job);
}

static int mirror_complete(struct job *job, struct vs_error *err)
{
    struct mirror *m = job->opaque;

    if (!job_is_ready(job)) {
        vs_error_set(err, VS_ERR_GENERIC,
                     "The active block job '%s' cannot be completed", job->id);
        return -1;
    }
    m->should_complete = true;
    /* A paused job completes when it is resumed, as in QEMU. */
    job_enter(job);
    return 0;
}

static int mirror_change(struct job *job, json_t *opts, struct vs_error *err)
{
    struct mirror *m = job->opaque;
    const char *mode = json_string_value(json_object_get(opts, "copy-mode"));

    if (!mode)
        return 0;
    if (strcmp(mode, m->write_blocking ? "write-blocking" : "background") == 0)
        return 0;
    if (strcmp(mode, "write-blocking") != 0) {
        vs_error_set(err, VS_ERR_GENERIC,
                     "Change to copy mode '%s' is not implemented", mode);
        return -1;
    }
    m->write_blocking = true;
    job_enter(job);
    return 0;
}

static void mirror_set_speed(struct job *job)
{
    struct mirror *m = job->opaque;

    /* A new limit starts a new slice. */
    m->slice_start_ns = 0;
    m->slice_bytes = 0;
}

static void mirror_clean(struct job *job)
{
    struct mirror *m = job->opaque;

    if (m->timer.armed)
        vs_timer_cancel(m->loop, &m->timer);
    mirror_pace_stop(m);
    if (m->retry_timer.armed)
        vs_timer_cancel(m->loop, &m->retry_timer);
    mirror_hook_uninstall(m);
    if (m->quiesced) {
        /* Held guest requests go on — to the target after a pivot (they
         * were moved), to the source otherwise. */
        block_node_release(m->replaces);
        m->quiesced = false;
        vs_trace("mirror-release-source", job->id);
        job_resume(job);
    }
    m->src->jobs--;
    m->tgt->jobs--;
    if (m->tgt_ours && !m->pivot) {
        struct vs_error err = { 0 };
        if (block_node_close(m->tgt, &err) < 0)
            vs_warn("mirror %s: %s", job->id, err.msg);
    }
}

static void mirror_query(struct job *job, json_t *info)
{
    struct mirror *m = job->opaque;

    json_object_set_new(info, "actively-synced", json_boolean(m->actively_synced));
}

static void mirror_free_state(struct mirror *m)
{
    while (m->pool_n > 0)
        free(m->pool[--m->pool_n]);
    hbitmap_free(m->dirty);
    hbitmap_free(m->zero);
    hbitmap_free(m->zask);
    free(m->errmsg);
    free(m->pivot_msg);
    free(m);
}

static void mirror_free(struct job *job)
{
    /* NULL when job_create itself failed (negative speed). */
    if (job->opaque)
        mirror_free_state(job->opaque);
}

static const struct job_driver mirror_driver = {
    .type = "mirror",
    .step = mirror_step,
    .cancel = mirror_cancel,
    .complete = mirror_complete,
    .change = mirror_change,
    .set_speed = mirror_set_speed,
    .prepare = mirror_prepare,
    .clean = mirror_clean,
    .query = mirror_query,
    .free = mirror_free,
};

/* ---- arguments ------------------------------------------------------- */

static int parse_enum(const char *param, const char *val,
                      const char *const *names, size_t n, int *out,
                      struct vs_error *err)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(val, names[i]) == 0) {
            *out = (int)i;
            return 0;
        }
    }
    vs_error_set(err, VS_ERR_GENERIC, "Parameter '%s' does not accept value '%s'",
                 param, val);
    return -1;
}

struct parsed {
    enum mirror_sync sync;
    enum job_on_error on_src, on_tgt;
    bool write_blocking;
    bool absolute_paths;
};

static int parse_args(const struct mirror_args *a, struct parsed *p,
                      struct vs_error *err)
{
    static const char *const syncs[] = { "full", "top", "none", "incremental",
                                         "bitmap" };
    static const char *const on_errs[] = { "report", "ignore", "enospc", "stop",
                                           "auto" };
    static const char *const modes[] = { "background", "write-blocking" };
    static const char *const nmodes[] = { "existing", "absolute-paths" };
    int v;

    if (!a->sync) {
        vs_error_set(err, VS_ERR_GENERIC, "Parameter 'sync' is missing");
        return -1;
    }
    if (parse_enum("sync", a->sync, syncs, 5, &v, err) < 0)
        return -1;
    if (v > MIRROR_SYNC_NONE) {
        vs_error_set(err, VS_ERR_GENERIC, "Sync mode '%s' not supported", a->sync);
        return -1;
    }
    p->sync = (enum mirror_sync)v;
    p->on_src = p->on_tgt = JOB_ON_ERROR_REPORT;
    if (a->on_source_error) {
        if (parse_enum("on-source-error", a->on_source_error, on_errs, 5, &v, err) < 0)
            return -1;
        job_on_error_parse(a->on_source_error, &p->on_src);
    }
    if (a->on_target_error) {
        if (parse_enum("on-target-error", a->on_target_error, on_errs, 5, &v, err) < 0)
            return -1;
        job_on_error_parse(a->on_target_error, &p->on_tgt);
    }
    p->write_blocking = false;
    if (a->copy_mode) {
        if (parse_enum("copy-mode", a->copy_mode, modes, 2, &v, err) < 0)
            return -1;
        p->write_blocking = v == 1;
    }
    p->absolute_paths = true;
    if (a->mode) {
        if (parse_enum("mode", a->mode, nmodes, 2, &v, err) < 0)
            return -1;
        p->absolute_paths = v == 1;
    }
    return 0;
}

static bool node_reaches(struct block_node *from, struct block_node *to)
{
    for (struct block_node *n = from; n; n = n->child)
        if (n == to)
            return true;
    return false;
}

/* Checks shared by both commands once source and target are known, then
 * creates and starts the job. */
static int mirror_start(struct vs_loop *loop, const struct mirror_args *a,
                        const struct parsed *p, struct block_node *src,
                        struct block_node *tgt, bool tgt_ours, bool tgt_zero,
                        struct vs_error *err)
{
    struct block_node *replaces = src;
    uint64_t gran = a->granularity ? (uint64_t)a->granularity : DEFAULT_GRANULARITY;
    int64_t buf_size = a->buf_size;
    struct mirror *m;
    struct job *job;

    /* The job sizes its bitmap from the nodes now. */
    if (src->resizing || tgt->resizing) {
        vs_error_set(err, VS_ERR_GENERIC, "Node '%s' is busy: it is being resized",
                     src->resizing ? src->name : tgt->name);
        return -1;
    }
    if (a->granularity != 0 && (a->granularity < 512 || a->granularity > 64 << 20)) {
        vs_error_set(err, VS_ERR_GENERIC,
                     "Parameter 'granularity' expects a value in range [512B, 64MB]");
        return -1;
    }
    if (!VS_IS_POW2(gran)) {
        vs_error_set(err, VS_ERR_GENERIC,
                     "Parameter 'granularity' expects a power of 2");
        return -1;
    }
    if (buf_size < 0) {
        vs_error_set(err, VS_ERR_GENERIC, "Invalid parameter 'buf-size'");
        return -1;
    }
    if (src == tgt) {
        vs_error_set(err, VS_ERR_GENERIC, "Can't mirror node into itself");
        return -1;
    }
    if (src->jobs > 0 || tgt->jobs > 0) {
        vs_error_set(err, VS_ERR_GENERIC,
                     "Node '%s' is busy: block device is in use by block job: mirror",
                     src->jobs > 0 ? src->name : tgt->name);
        return -1;
    }
    if (tgt->read_only) {
        vs_error_set(err, VS_ERR_GENERIC, "Block node is read-only");
        return -1;
    }
    if (a->replaces) {
        replaces = block_node_find(a->replaces);
        if (!replaces) {
            vs_error_set(err, VS_ERR_GENERIC,
                         "Failed to find node with node-name='%s'", a->replaces);
            return -1;
        }
        if (!node_reaches(replaces, src)) {
            vs_error_set(err, VS_ERR_GENERIC,
                         "Cannot replace '%s' by a node mirrored from '%s', because "
                         "it cannot be guaranteed that doing so would not lead to "
                         "an abrupt change of visible data", a->replaces, src->name);
            return -1;
        }
    }
    m = vs_zalloc(sizeof(*m));
    m->dirty = hbitmap_new(src->size, gran);
    m->zero = hbitmap_new(src->size, gran);
    m->zask = hbitmap_new(src->size, gran);
    if (!m->dirty || !m->zero || !m->zask) {
        vs_error_set(err, VS_ERR_GENERIC, "Cannot allocate the dirty bitmap");
        mirror_free_state(m);
        return -1;
    }
    job = job_create(a->job_id ? a->job_id : a->device, &mirror_driver, loop,
                     a->speed, a->has_auto_finalize ? a->auto_finalize : true,
                     a->has_auto_dismiss ? a->auto_dismiss : true, err);
    if (!job) {
        mirror_free_state(m);
        return -1;
    }
    m->job = job;
    m->loop = loop;
    m->src = src;
    m->tgt = tgt;
    m->replaces = replaces;
    m->tgt_ours = tgt_ours;
    m->size = src->size;
    m->gran = gran;
    if (buf_size == 0)
        buf_size = DEFAULT_BUF_SIZE;
    m->buf_size = ((uint64_t)buf_size + gran - 1) & ~(gran - 1);
    m->chunk = m->max_chunk = VS_MAX(gran, VS_MIN(MIRROR_MAX_CHUNK, m->buf_size));
    m->offload_chunk = VS_MAX(gran, VS_MIN(MIRROR_OFFLOAD_CHUNK, m->buf_size));
    m->sync = p->sync;
    m->on_src = p->on_src;
    m->on_tgt = p->on_tgt;
    m->unmap = a->has_unmap ? a->unmap : true;
    /* VOLSWAP_MIRROR_COPY=readwrite turns the offload off (for comparing). */
    const char *how = getenv("VOLSWAP_MIRROR_COPY");
    m->copy_offload = block_node_can_copy_range(tgt, src) &&
                      !(how && strcmp(how, "readwrite") == 0);
    /* Offloaded copies give way to every thread that wakes up: a loop with
     * a guest's request, the consumer (src/block/file.c, BLOCK_REQ_YIELD).
     * VOLSWAP_MIRROR_YIELD=off turns that off, for comparisons. */
    const char *yield = getenv("VOLSWAP_MIRROR_YIELD");
    m->yield = !(yield && strcmp(yield, "off") == 0);
    /* VOLSWAP_MIRROR_PACE=off: copies do not give way to guests
     * (mirror-pace.c), for comparisons. */
    const char *pace = getenv("VOLSWAP_MIRROR_PACE");
    mirror_pace_init(m, !(pace && strcmp(pace, "off") == 0));
    m->zero_target = tgt_zero;
    m->write_blocking = p->write_blocking;
    m->size_mismatch = src->size != tgt->size;
    m->timer.fn = mirror_timer_fired;
    m->drain_bh.fn = mirror_drain_done;
    vs_list_init(&m->ops);
    vs_list_init(&m->waiters);
    vs_list_init(&m->skipped);
    vs_list_init(&m->rops);
    vs_list_init(&m->parked);
    job->opaque = m;
    src->jobs++;
    tgt->jobs++;
    /* sync=top without a backing file is full (raw volumes have none). */
    m->scanning = m->sync != MIRROR_SYNC_NONE;
    if (!m->size_mismatch)
        mirror_hook_install(m);
    /* Start gently: until guests have been quiet for a while, assume they
     * are writing (the hook cannot have seen anything yet). */
    m->last_guest_ns = vs_now_ns();
    job_start(job);
    return 0;
}

int jobs_blockdev_mirror(struct vs_loop *loop, const struct mirror_args *a,
                         struct vs_error *err)
{
    struct parsed p;
    struct block_node *src, *tgt;

    if (parse_args(a, &p, err) < 0)
        return -1;
    if (!(src = block_node_lookup(a->device, a->device, err)) ||
        !(tgt = block_node_lookup(a->target, a->target, err)))
        return -1;
    return mirror_start(loop, a, &p, src, tgt, false, false, err);
}

/* drive-mirror: the target is a file name; absolute-paths (the default)
 * creates it (sparse, the source's size), existing opens it. The pieces
 * below serve both forms: jobs_drive_mirror does the file work here,
 * blocking (unit tests, and a dispatch with no client to defer to);
 * clients of the monitor get jobs_drive_mirror_async, which does it on the
 * worker pool. */

/* The checks made before any file is touched; returns the source. */
static struct block_node *dm_check(const struct mirror_args *a, struct parsed *p,
                                   struct vs_error *err)
{
    struct block_node *src;

    if (parse_args(a, p, err) < 0)
        return NULL;
    if (!(src = block_node_lookup(a->device, a->device, err)))
        return NULL;
    if (!a->target) {
        vs_error_set(err, VS_ERR_GENERIC, "Parameter 'target' is missing");
        return NULL;
    }
    if (a->format && strcmp(a->format, "raw") != 0) {
        vs_error_set(err, VS_ERR_GENERIC,
                     "Image format '%s' is not supported (only raw)", a->format);
        return NULL;
    }
    return src;
}

/* The file work, which may block: creates the target (absolute-paths,
 * unless it is a device) and says whether it is a block device. */
static int dm_make_target(const char *target, uint64_t size, bool *absolute_paths,
                          bool *is_blk, struct vs_error *err)
{
    struct stat st;

    if (*absolute_paths && stat(target, &st) == 0 && S_ISBLK(st.st_mode))
        *absolute_paths = false; /* a device cannot be created */
    if (*absolute_paths) {
        int fd = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
                               (block_files_nofollow ? O_NOFOLLOW : 0),
                      0644);
        if (fd < 0) {
            vs_error_set_errno(err, errno, "Could not create '%s'", target);
            return -1;
        }
        if (ftruncate(fd, (off_t)size) < 0) {
            vs_error_set_errno(err, errno, "Could not resize '%s'", target);
            close(fd);
            return -1;
        }
        close(fd);
    }
    *is_blk = stat(target, &st) == 0 && S_ISBLK(st.st_mode);
    return 0;
}

/* The target node's name: node-name, or one made from the job. */
static char *dm_node_name(const struct mirror_args *a)
{
    return a->node_name ? vs_strdup(a->node_name)
                        : vs_strdup_printf("#mirror-%s", a->job_id ? a->job_id : a->device);
}

static void dm_target_opts(const struct mirror_args *a, const char *name, bool is_blk,
                           struct block_node_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->driver = is_blk ? "host_device" : "file";
    o->filename = a->target;
    o->unmap = true;
    o->node_name = name;
    o->implicit_name = !a->node_name;
}

/* Starts the job on the opened target; closes the target when it fails. */
static int dm_start(struct vs_loop *loop, const struct mirror_args *a, const struct parsed *p,
                    struct block_node *src, struct block_node *tgt, struct vs_error *err)
{
    if (mirror_start(loop, a, p, src, tgt, true, p->absolute_paths, err) < 0) {
        struct vs_error ignored = { 0 };
        block_node_close(tgt, &ignored);
        return -1;
    }
    return 0;
}

int jobs_drive_mirror(struct vs_loop *loop, const struct mirror_args *a,
                      struct vs_error *err)
{
    struct parsed p;
    struct block_node *src, *tgt;
    struct block_node_opts o;
    bool is_blk;
    char *name;

    if (!(src = dm_check(a, &p, err)) ||
        dm_make_target(a->target, src->size, &p.absolute_paths, &is_blk, err) < 0)
        return -1;
    name = dm_node_name(a);
    dm_target_opts(a, name, is_blk, &o);
    tgt = block_node_open(loop, &o, err);
    free(name);
    return tgt ? dm_start(loop, a, &p, src, tgt, err) : -1;
}

/* ---- drive-mirror with its file work on the worker pool ---------------- */

struct dm_work {
    struct vs_work w;
    struct vs_loop *loop;
    struct mirror_args a;          /* strings: the caller's, kept valid */
    struct parsed p;
    uint64_t size;                 /* the source's, when the job was asked */
    bool is_blk;
    jobs_mirror_started_fn *done;
    void *opaque;
    char *name;                    /* the target node's */
    struct vs_error err;
    int ret;
};

static void dm_finish(struct dm_work *dw, struct block_node *tgt)
{
    dw->done(tgt, tgt ? NULL : &dw->err, dw->opaque);
    free(dw->name);
    free(dw);
}

/* Worker: create the file (absolute-paths) and learn what it is. */
static void dm_run(struct vs_work *w)
{
    struct dm_work *dw = vs_container_of(w, struct dm_work, w);

    dw->ret = dm_make_target(dw->a.target, dw->size, &dw->p.absolute_paths, &dw->is_blk,
                             &dw->err);
}

static void dm_opened(struct block_node *tgt, const struct vs_error *err, void *opaque)
{
    struct dm_work *dw = opaque;
    struct block_node *src;

    if (!tgt) {
        dw->err = *err;
        dm_finish(dw, NULL);
        return;
    }
    /* The source may have gone while the file was made. */
    if (!(src = block_node_lookup(dw->a.device, dw->a.device, &dw->err))) {
        struct vs_error ignored = { 0 };
        block_node_close(tgt, &ignored);
        dm_finish(dw, NULL);
        return;
    }
    dm_finish(dw, dm_start(dw->loop, &dw->a, &dw->p, src, tgt, &dw->err) < 0 ? NULL : tgt);
}

static void dm_file_done(struct vs_work *w)
{
    struct dm_work *dw = vs_container_of(w, struct dm_work, w);
    struct block_node_opts o;

    if (dw->ret < 0) {
        dm_finish(dw, NULL);
        return;
    }
    dm_target_opts(&dw->a, dw->name, dw->is_blk, &o);
    block_node_open_async(dw->loop, &o, dm_opened, dw);
}

int jobs_drive_mirror_async(struct vs_loop *loop, const struct mirror_args *a,
                            jobs_mirror_started_fn *done, void *opaque,
                            struct vs_error *err)
{
    struct parsed p;
    struct block_node *src = dm_check(a, &p, err);

    if (!src)
        return -1;
    struct dm_work *dw = vs_zalloc(sizeof(*dw));
    dw->loop = loop;
    dw->a = *a;
    dw->p = p;
    dw->size = src->size;
    dw->done = done;
    dw->opaque = opaque;
    dw->name = dm_node_name(a);
    dw->w.run = dm_run;
    dw->w.done = dm_file_done;
    vs_loop_offload(loop, &dw->w);
    return 0;
}
