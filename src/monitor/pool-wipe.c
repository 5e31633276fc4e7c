/* Wiping pool devices: a block device (--pool-device) that volswap-api
 * hands back holds its last tenant's data, and the next volume claimed on
 * it would read that data. So x-volswap-pool-delete zeroes the device
 * before it can be claimed again (Cinder's volume_clear = zero), unless
 * the operator said --pool-clear none (thin or self-encrypting devices
 * that read zeroes after a discard or a key change).
 *
 * The zeroing (vs_wipe_chunk: BLKZEROOUT, WRITE ZEROES offload where
 * the device has it) runs one chunk at a time on the worker pool: no
 * worker is held for longer than one chunk takes, other blocking work
 * interleaves, and at shutdown the wipe just stops after the chunk in
 * flight. While a wipe runs the device is "wiping": query-pools says so, and the pool commands, blockdev-add, blockdev-create and
 * drive-mirror refuse it, so it cannot be claimed half-wiped.
 *
 * A wipe is durable through the state file: the snapshot holds an
 * x-volswap-pool-wipe command for every device whose wipe has not ended,
 * and a restart replays it, so a crash mid-wipe resumes the wipe (from
 * the start; zeroing again is harmless) before any client can connect.
 * A finished wipe frees the device only once a snapshot without it is
 * on disk: freed earlier, a device claimed and written by a new tenant
 * could be wiped again by a restart that still read the old snapshot.
 *
 * Loop thread only, except chunk_run (a worker, touching only its own
 * record's fd, offsets and error). */
#include "monitor.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WIPE_RETRY_SAVE_NS (1000ull * 1000 * 1000)

enum qmp_pool_clear qmp_pool_clear = QMP_POOL_CLEAR_ZERO;

enum wipe_phase {
    WIPE_RUNNING, /* chunks still to zero */
    WIPE_FAILED,  /* a chunk failed: stays unclaimable, a delete retries */
    WIPE_SAVING,  /* zeroed; waits for a snapshot without it on disk */
};

struct wipe {
    struct vs_work work;
    struct vs_timer retry;
    struct vs_loop *loop;
    char *path;
    enum wipe_phase phase;
    bool in_flight;           /* a chunk on the worker pool */
    uint64_t progress, total; /* the loop's copy of done and size */
    /* the worker's, between offload and done */
    int fd;
    uint64_t size, done;
    int error;
    struct wipe *next;
};

static struct wipe *wipes;
static bool stopping;

static struct wipe *wipe_find(const char *path)
{
    for (struct wipe *w = wipes; w; w = w->next)
        if (strcmp(w->path, path) == 0)
            return w;
    return NULL;
}

static void wipe_free(struct wipe *w)
{
    for (struct wipe **p = &wipes; *p; p = &(*p)->next)
        if (*p == w) {
            *p = w->next;
            break;
        }
    /* the retry timer is never armed here but at exit, with the loop gone */
    if (w->fd >= 0)
        close(w->fd);
    free(w->path);
    free(w);
}

/* Worker: the next chunk (and the open before the first, the flush after
 * the last). */
static void chunk_run(struct vs_work *work)
{
    struct wipe *w = (struct wipe *)work;
    int rc = 0;
    if (w->fd < 0)
        rc = vs_wipe_open(w->path, &w->fd, &w->size);
    if (rc == 0)
        rc = vs_wipe_chunk(w->fd, &w->done, w->size);
    w->error = -rc;
}

static void chunk_done(struct vs_work *work);

static void chunk_submit(struct wipe *w)
{
    w->in_flight = true;
    w->work.run = chunk_run;
    w->work.done = chunk_done;
    vs_loop_offload(w->loop, &w->work);
}

static void saved(void *opaque, const struct vs_error *err);

static void save_retry(struct vs_timer *t)
{
    struct wipe *w = vs_container_of(t, struct wipe, retry);
    if (!stopping && qmp_state_save_async)
        qmp_state_save_async(saved, w);
}

/* A snapshot taken after the wipe ended is on disk (or could not be
 * written: the device stays unclaimable, and the save is tried again). */
static void saved(void *opaque, const struct vs_error *err)
{
    struct wipe *w = opaque;
    if (err && err->set) {
        vs_warn("pool: device %s is zeroed but the state file is not written (%s); "
                "it stays unclaimable until it is",
                w->path, err->msg);
        w->retry.fn = save_retry;
        vs_timer_arm(w->loop, &w->retry, WIPE_RETRY_SAVE_NS);
        return;
    }
    vs_info("pool: device %s is zeroed and free", w->path);
    wipe_free(w);
}

static void chunk_done(struct vs_work *work)
{
    struct wipe *w = (struct wipe *)work;
    w->in_flight = false;
    w->progress = w->done;
    w->total = w->size;
    if (w->error) {
        vs_warn("pool: cannot zero device %s at %llu: %s; it stays unclaimable "
                "(x-volswap-pool-delete or x-volswap-pool-wipe it again to retry)",
                w->path, (unsigned long long)w->done, strerror(w->error));
        w->phase = WIPE_FAILED;
        if (w->fd >= 0)
            close(w->fd);
        w->fd = -1;
        return;
    }
    if (w->done < w->size) {
        if (!stopping)
            chunk_submit(w);
        return;
    }
    close(w->fd);
    w->fd = -1;
    w->phase = WIPE_SAVING;
    if (stopping)
        return;
    if (qmp_state_save_async)
        qmp_state_save_async(saved, w);
    else
        saved(w, NULL);
}

int qmp_pool_wipe_start(struct vs_loop *loop, const char *device, struct vs_error *err)
{
    if (qmp_sandbox) {
        vs_error_set(err, VS_ERR_GENERIC, "pool commands touch files: not in this sandbox");
        return -1;
    }
    const char *node = qmp_node_using_file(device);
    if (node) {
        vs_error_set(err, VS_ERR_GENERIC, "device %s is open as node '%s': not wiped", device,
                     node);
        return -1;
    }
    struct wipe *w = wipe_find(device);
    if (w) {
        if (w->phase == WIPE_FAILED && !stopping) { /* a retry, from the start */
            w->phase = WIPE_RUNNING;
            w->done = w->size = w->progress = w->total = 0;
            w->error = 0;
            chunk_submit(w);
        }
        return 0; /* running or ending already */
    }
    w = vs_zalloc(sizeof *w);
    w->loop = loop;
    w->path = vs_strdup(device);
    w->fd = -1;
    w->phase = WIPE_RUNNING;
    w->next = wipes;
    wipes = w;
    vs_info("pool: zeroing device %s", device);
    if (!stopping)
        chunk_submit(w);
    return 0;
}

const char *qmp_pool_device_state(const char *device, uint64_t *done, uint64_t *size)
{
    struct wipe *w = wipe_find(device);
    *done = w ? w->progress : 0;
    *size = w ? w->total : 0;
    if (!w)
        return "ready";
    return w->phase == WIPE_FAILED ? "wipe-failed" : "wiping";
}

/* Whether any string in V names a device being wiped (a blockdev-add's
 * "filename", at any depth of its children). */
const char *qmp_pool_wiping_in(json_t *v)
{
    if (!wipes)
        return NULL;
    if (json_is_string(v))
        return wipe_find(json_string_value(v)) ? json_string_value(v) : NULL;
    const char *k;
    json_t *m;
    if (json_is_object(v))
        json_object_foreach(v, k, m) {
            const char *d = qmp_pool_wiping_in(m);
            if (d)
                return d;
        }
    return NULL;
}

void qmp_pool_wipes_foreach(void (*f)(const char *device, void *opaque), void *opaque)
{
    for (struct wipe *w = wipes; w; w = w->next)
        if (w->phase != WIPE_SAVING)
            f(w->path, opaque);
}

void qmp_pool_wipes_stop(void)
{
    stopping = true;
}

void qmp_pool_wipes_free(void)
{
    while (wipes)
        wipe_free(wipes);
    stopping = false;
}
