/* Pools: the storage volumes live on, as sparse raw files in a directory
 * or whole block devices handed out once each, behind one interface with
 * two implementations. "local": the API's own file system, which works
 * when the API and the pool's host share one machine (or a mount). "on
 * host": the host's volswapd makes, grows, deletes and measures the files
 * in the directories its --pool-dir names (x-volswap-pool-*, confined
 * there by the daemon), and reports the sizes of the block devices its
 * --pool-device names, so the API may run on another machine; a QEMU or
 * qemu-storage-daemon has no such commands (it cannot delete a file), so
 * its pools are local (config.c refuses "managed_by": "host" there).
 * Errors here reach tenants (a create's fault body): they name the pool
 * and the host, never a path; the operator finds the path in the log. */
#include "hosts.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* Cinder's default max_over_subscription_ratio: a thin pool promises at
 * most this many times its size. */
#define POOL_OVERSUBSCRIPTION 20

static int too_large(const struct cfg_pool *p, uint64_t size_bytes, struct api_error *e)
{
    return api_err(e, 400,
                   "Invalid input received: a volume of %llu GiB is larger than pool %s can "
                   "hold.",
                   (unsigned long long)(size_bytes >> 30), p->name);
}

bool pool_on_host(const struct cfg_pool *p)
{
    return p && p->on_host && p->host;
}

bool pool_creates_on_host(const struct cfg_pool *p)
{
    return pool_on_host(p) && p->is_dir;
}

/* Whether block device PATH is claimed: a volume names it, or an
 * unfinished migration still has it as the storage it left (the record
 * moved the volume off it, and the device is zeroed before the migration
 * ends: until then nobody may claim it). */
static int device_claimed(struct registry *r, const char *path, bool *used)
{
    if (r->ops->volume_path_used(r, path, used) < 0)
        return -1;
    if (*used)
        return 0;
    struct reg_swap *swaps = NULL;
    size_t n = 0;
    if (r->ops->swap_unfinished(r, &swaps, &n) < 0)
        return -1;
    for (size_t i = 0; i < n && !*used; i++)
        *used = strcmp(swaps[i].old_path, path) == 0;
    free(swaps);
    return 0;
}

/* The device sizes pool_prepare asked a host for, for this thread's next
 * claim (the host call before the transaction, the claim inside it). */
#define POOL_PREPARED_DEVICES 256
static __thread const struct cfg_pool *prepared_pool;
static __thread uint64_t prepared_size[POOL_PREPARED_DEVICES]; /* 0: the host has none */

int pool_volume_path(const struct cfg_pool *p, const char *volume_id, char *path, size_t pathlen,
                     struct api_error *e)
{
    size_t pl = strlen(p->path);
    while (pl > 1 && p->path[pl - 1] == '/')
        pl--;
    if ((size_t)snprintf(path, pathlen, "%.*s/volume-%s", (int)pl, p->path, volume_id) >= pathlen)
        return api_err(e, 500, "pool %s: path too long", p->name);
    return 0;
}

/* ---- on the host, over QMP ---- */

/* One pool command on P's host: 0 and *RET (may be NULL), or -1 and E:
 * 503 when the host did not answer, else 500 (QEMU's words in the log). */
static int host_pool_call(const struct cfg_pool *p, const char *cmd, json_t *args, json_t **ret,
                          struct qmp_error *qe, struct api_error *e)
{
    const struct cfg_host *h = p->host;
    struct api_error ce = { 0 };
    struct host_conn *c = host_call_open(h, HOST_QMP_TIMEOUT_MS, &ce);
    if (!c) {
        json_decref(args);
        snprintf(qe->cls, sizeof qe->cls, "ConnectionError");
        snprintf(qe->desc, sizeof qe->desc, "%s", ce.msg);
        return api_err(e, 503, "Host %s of pool %s is not reachable; try again later.", h->name,
                       p->name);
    }
    int rc = host_call(c, h, cmd, args, ret, qe);
    host_call_close(c);
    json_decref(args);
    if (rc < 0) {
        vs_error("pool %s: host %s: %s: %s: %s", p->name, h->name, cmd, qe->cls, qe->desc);
        if (strcmp(qe->cls, "Timeout") == 0 || strcmp(qe->cls, "ConnectionError") == 0)
            return api_err(e, 503, "Host %s of pool %s is not responding; try again later.",
                           h->name, p->name);
        return api_err(e, 500, "Host %s of pool %s refused the volume's storage: %s", h->name,
                       p->name, qe->desc);
    }
    return 0;
}

/* The sizes of block pool P's devices as its host reports them (0: a
 * device the host does not manage or cannot read), and (WIPING, may be
 * NULL) which of them the host is still zeroing: those are claimed for no
 * volume, whatever the registry says. */
static int host_device_sizes(const struct cfg_pool *p, uint64_t *sizes, bool *wiping, size_t n,
                             struct api_error *e)
{
    json_t *ret = NULL;
    struct qmp_error qe;
    if (host_pool_call(p, "x-volswap-query-pools", NULL, &ret, &qe, e) < 0)
        return -1;
    for (size_t d = 0; d < n; d++) {
        sizes[d] = 0;
        if (wiping)
            wiping[d] = false;
        size_t i;
        json_t *x;
        json_array_foreach(ret, i, x) {
            const char *path = json_string_value(json_object_get(x, "path"));
            if (!path || strcmp(path, p->devices[d]) != 0)
                continue;
            if (json_object_get(x, "size"))
                sizes[d] = (uint64_t)json_integer_value(json_object_get(x, "size"));
            const char *state = json_string_value(json_object_get(x, "state"));
            bool busy = state && strcmp(state, "ready") != 0;
            if (wiping)
                wiping[d] = busy;
            else if (busy)
                sizes[d] = 0; /* not claimable until the host has zeroed it */
        }
    }
    json_decref(ret);
    return 0;
}

int pool_prepare(const struct cfg_pool *p, struct api_error *e)
{
    prepared_pool = NULL;
    if (!pool_on_host(p) || p->is_dir)
        return 0;
    size_t n = p->n_devices < POOL_PREPARED_DEVICES ? p->n_devices : POOL_PREPARED_DEVICES;
    if (host_device_sizes(p, prepared_size, NULL, n, e) < 0)
        return -1;
    prepared_pool = p;
    return 0;
}

/* The host's capacity report of P: its directory's entry, or its
 * devices' sizes (the free ones: those no volume names). */
static int host_capacity(const struct cfg_pool *p, struct registry *r, uint64_t *total,
                         uint64_t *free_bytes, struct api_error *e)
{
    if (!p->is_dir) {
        uint64_t *sizes = calloc(p->n_devices + 1, sizeof *sizes);
        bool *wiping = calloc(p->n_devices + 1, sizeof *wiping);
        if (!sizes || !wiping) {
            free(sizes);
            free(wiping);
            return api_err(e, 500, "out of memory");
        }
        int rc = host_device_sizes(p, sizes, wiping, p->n_devices, e);
        for (size_t d = 0; rc == 0 && d < p->n_devices; d++) {
            bool used = true;
            if (device_claimed(r, p->devices[d], &used) < 0)
                rc = reg_fail(e, r);
            *total += sizes[d];
            if (!used && !wiping[d])
                *free_bytes += sizes[d];
        }
        free(sizes);
        free(wiping);
        return rc;
    }
    json_t *ret = NULL;
    struct qmp_error qe;
    if (host_pool_call(p, "x-volswap-query-pools", NULL, &ret, &qe, e) < 0)
        return -1;
    char want[1100];
    size_t pl = strlen(p->path);
    while (pl > 1 && p->path[pl - 1] == '/')
        pl--;
    snprintf(want, sizeof want, "%.*s", (int)pl, p->path);
    int rc = api_err(e, 500, "Host %s does not manage pool %s's directory (--pool-dir)",
                     p->host->name, p->name);
    size_t i;
    json_t *x;
    json_array_foreach(ret, i, x) {
        const char *path = json_string_value(json_object_get(x, "path"));
        if (!path || strcmp(path, want) != 0)
            continue;
        if (json_object_get(x, "error")) {
            rc = api_err(e, 500, "Host %s cannot read pool %s: %s", p->host->name, p->name,
                         json_string_value(json_object_get(x, "error")));
            break;
        }
        *total = (uint64_t)json_integer_value(json_object_get(x, "total"));
        *free_bytes = (uint64_t)json_integer_value(json_object_get(x, "free"));
        rc = 0;
        break;
    }
    json_decref(ret);
    return rc;
}

static int host_create(const struct cfg_pool *p, const char *path, uint64_t size_bytes,
                       struct api_error *e)
{
    uint64_t total = 0, avail = 0;
    if (host_capacity(p, NULL, &total, &avail, e) < 0)
        return -1;
    if (size_bytes / POOL_OVERSUBSCRIPTION > total)
        return too_large(p, size_bytes, e);
    struct qmp_error qe;
    if (host_pool_call(p, "x-volswap-pool-create",
                       json_pack("{s:s, s:I}", "filename", path, "size", (json_int_t)size_bytes),
                       NULL, &qe, e) < 0) {
        if (e->status == 500 && (strstr(qe.desc, "File too large") ||
                                 strstr(qe.desc, "No space left") || strstr(qe.desc, "Invalid")))
            return too_large(p, size_bytes, e);
        return -1;
    }
    return 0;
}

/* ---- the API's own file system ---- */

static int device_size(const char *path, uint64_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    int rc = fstat(fd, &st);
    if (rc == 0 && S_ISBLK(st.st_mode))
        rc = ioctl(fd, BLKGETSIZE64, size);
    else if (rc == 0)
        *size = (uint64_t)st.st_size;
    close(fd);
    return rc;
}

int pool_check(const struct cfg_pool *p, struct api_error *e)
{
    struct stat st;
    if (pool_on_host(p))
        return 0; /* the host's daemon refuses what it does not manage */
    if (p->is_dir) {
        if (stat(p->path, &st) < 0)
            return api_err(e, 500, "pool %s: directory %s: %s", p->name, p->path, strerror(errno));
        if (!S_ISDIR(st.st_mode))
            return api_err(e, 500, "pool %s: %s is not a directory", p->name, p->path);
        if (access(p->path, W_OK | X_OK) < 0)
            return api_err(e, 500, "pool %s: directory %s is not writable: %s", p->name, p->path,
                           strerror(errno));
        return 0;
    }
    for (size_t i = 0; i < p->n_devices; i++) {
        if (stat(p->devices[i], &st) < 0)
            return api_err(e, 500, "pool %s: device %s: %s", p->name, p->devices[i],
                           strerror(errno));
        if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode))
            return api_err(e, 500, "pool %s: %s is neither a block device nor a file", p->name,
                           p->devices[i]);
    }
    return 0;
}

static int local_create_file(const struct cfg_pool *p, const char *path, uint64_t size_bytes,
                             struct api_error *e)
{
    struct statvfs sv;
    if (statvfs(p->path, &sv) == 0 &&
        size_bytes / POOL_OVERSUBSCRIPTION > (uint64_t)sv.f_blocks * sv.f_frsize)
        return too_large(p, size_bytes, e);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        vs_error("pool %s: cannot create %s: %s", p->name, path, strerror(errno));
        return api_err(e, 500, "Pool %s cannot create the volume's storage: %s", p->name,
                       strerror(errno));
    }
    /* sparse: a new volume reads as zeroes and takes no space */
    if (ftruncate(fd, (off_t)size_bytes) < 0) {
        int err = errno;
        close(fd);
        unlink(path);
        vs_error("pool %s: cannot size %s: %s", p->name, path, strerror(err));
        if (err == EFBIG || err == EINVAL || err == ENOSPC)
            return too_large(p, size_bytes, e);
        return api_err(e, 500, "Pool %s cannot size the volume's storage: %s", p->name,
                       strerror(err));
    }
    close(fd);
    return 0;
}

int pool_create_volume(const struct cfg_pool *p, const char *volume_id, uint64_t size_bytes,
                       struct registry *r, char *path, size_t pathlen, struct api_error *e)
{
    if (p->is_dir) {
        if (pool_volume_path(p, volume_id, path, pathlen, e) < 0)
            return -1;
        return pool_on_host(p) ? host_create(p, path, size_bytes, e)
                               : local_create_file(p, path, size_bytes, e);
    }
    bool on_host = pool_on_host(p);
    if (on_host && prepared_pool != p)
        return api_err(e, 500, "pool %s: its devices' sizes were not asked of host %s", p->name,
                       p->host->name);
    for (size_t i = 0; i < p->n_devices; i++) {
        bool used = true;
        if (device_claimed(r, p->devices[i], &used) < 0)
            return reg_fail(e, r);
        uint64_t sz = 0;
        if (on_host)
            sz = i < POOL_PREPARED_DEVICES ? prepared_size[i] : 0;
        else if (!used && device_size(p->devices[i], &sz) < 0)
            continue;
        if (used || sz < size_bytes)
            continue;
        snprintf(path, pathlen, "%s", p->devices[i]);
        return 0;
    }
    return api_err(e, 500, "pool %s has no free device of %llu bytes", p->name,
                   (unsigned long long)size_bytes);
}

int pool_capacity(const struct cfg_pool *p, struct registry *r, uint64_t *total,
                  uint64_t *free_bytes, struct api_error *e)
{
    *total = *free_bytes = 0;
    if (pool_on_host(p))
        return host_capacity(p, r, total, free_bytes, e);
    if (p->is_dir) {
        struct statvfs sv;
        if (statvfs(p->path, &sv) < 0)
            return api_err(e, 500, "pool %s: %s: %s", p->name, p->path, strerror(errno));
        *total = (uint64_t)sv.f_blocks * sv.f_frsize;
        *free_bytes = (uint64_t)sv.f_bavail * sv.f_frsize;
        return 0;
    }
    for (size_t i = 0; i < p->n_devices; i++) {
        uint64_t sz = 0;
        bool used = true;
        if (device_size(p->devices[i], &sz) < 0)
            continue; /* a device that is gone holds nothing */
        if (device_claimed(r, p->devices[i], &used) < 0)
            return reg_fail(e, r);
        *total += sz;
        if (!used)
            *free_bytes += sz;
    }
    return 0;
}

int pool_grow_volume(const struct cfg_pool *p, const char *path, uint64_t size_bytes,
                     struct api_error *e)
{
    if (pool_on_host(p)) {
        struct qmp_error qe;
        return host_pool_call(
            p, "x-volswap-pool-grow",
            json_pack("{s:s, s:I}", "filename", path, "size", (json_int_t)size_bytes), NULL, &qe,
            e);
    }
    struct stat st;
    bool is_file = p ? p->is_dir : stat(path, &st) == 0 && S_ISREG(st.st_mode);
    if (!is_file) {
        uint64_t sz = 0;
        if (device_size(path, &sz) < 0 || sz < size_bytes)
            return api_err(e, 500, "device %s is smaller than %llu bytes", path,
                           (unsigned long long)size_bytes);
        return 0;
    }
    if (truncate(path, (off_t)size_bytes) < 0)
        return api_err(e, 500, "cannot grow %s: %s", path, strerror(errno));
    return 0;
}

/* A block device handed back holds its last tenant's data: it is zeroed
 * before the registry lets it go (the caller deletes the volume's record
 * only once this returns, so until then the record, "deleting", keeps
 * the device claimed, also across a crash: a delete again, or a force
 * delete, zeroes it again). Here, in the caller's thread, chunk by
 * chunk: a pool the API manages itself shares its machine with the API,
 * and a device with WRITE ZEROES offload is zeroed in seconds. */
static int local_wipe_device(const struct cfg_pool *p, const char *path, struct api_error *e)
{
    if (p && p->clear_none)
        return 0;
    int rc = vs_wipe_all(path);
    if (rc == -ENOENT)
        return 0; /* a device that is gone holds nothing */
    if (rc < 0) {
        vs_error("pool %s: cannot zero device %s: %s", p ? p->name : "-", path, strerror(-rc));
        return api_err(e, 500, "Pool %s cannot clear the volume's storage: %s", p ? p->name : "-",
                       strerror(-rc));
    }
    vs_info("pool %s: device %s zeroed", p ? p->name : "-", path);
    return 0;
}

int pool_delete_volume(const struct cfg_pool *p, const char *path, struct api_error *e)
{
    if (!path[0])
        return 0;
    if (pool_on_host(p)) {
        /* a file is removed; a device is zeroed by its host before the host
         * lets it be claimed again ("wiping" in x-volswap-query-pools) */
        struct qmp_error qe;
        return host_pool_call(p, "x-volswap-pool-delete", json_pack("{s:s}", "filename", path),
                              NULL, &qe, e);
    }
    /* block devices are zeroed and handed back, files are removed */
    struct stat st;
    bool is_file = p ? p->is_dir : lstat(path, &st) == 0 && S_ISREG(st.st_mode);
    if (!is_file)
        return p ? local_wipe_device(p, path, e) : 0;
    if (unlink(path) < 0 && errno != ENOENT)
        return api_err(e, 500, "cannot remove %s: %s", path, strerror(errno));
    return 0;
}
