/* Pool commands: the files of volswap-api's volumes on a storage host,
 * made by the host's daemon rather than by the API's own file system, so
 * the API may run on another machine. The operator names the directories
 * (--pool-dir) and block devices (--pool-device) the daemon manages; the
 * x-volswap-pool-* commands act only on a plain file directly inside one
 * of those directories, or on one of those devices (pool-path.c checks
 * the path; here every file is opened relative to its directory with
 * O_NOFOLLOW, and a file with another hard link is not grown, so neither
 * a symbolic link nor a hard link planted in a pool reaches outside it).
 * Each command runs on the worker pool (a stat or an unlink on a hung
 * file system must not stop the loop); the reply waits for it. A device
 * handed back is zeroed before it can be claimed again (pool-wipe.c).
 * With --confine-to-pools the same boundary holds for blockdev-create,
 * drive-mirror's target and blockdev-add's file nodes. */
#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

struct pool_list {
    char **paths;
    size_t n;
};
static struct pool_list pool_dirs, pool_devices;

static int list_add(struct pool_list *l, const char *what, const char *path, struct vs_error *err)
{
    char norm[QMP_POOL_PATH_MAX + 1];
    if (qmp_pool_path_normalise(path, norm, sizeof norm, err) < 0)
        return -1;
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->paths[i], norm) == 0)
            return 0;
    if (l->n >= 256) {
        vs_error_set(err, VS_ERR_GENERIC, "at most 256 pool %ss", what);
        return -1;
    }
    char **p = realloc(l->paths, (l->n + 1) * sizeof *p);
    if (!p) {
        vs_error_set(err, VS_ERR_GENERIC, "out of memory");
        return -1;
    }
    l->paths = p;
    l->paths[l->n++] = vs_strdup(norm);
    return 0;
}

int qmp_pool_dir_add(const char *path, struct vs_error *err)
{
    return list_add(&pool_dirs, "directorie", path, err);
}

int qmp_pool_device_add(const char *path, struct vs_error *err)
{
    return list_add(&pool_devices, "device", path, err);
}

bool qmp_pool_confined;

bool qmp_pool_has_pools(void)
{
    return pool_dirs.n + pool_devices.n > 0;
}

bool qmp_pool_has_devices(void)
{
    return pool_devices.n > 0;
}

int qmp_pool_confine_check(const char *filename, bool device_ok, const char *what,
                           struct vs_error *err)
{
    if (!qmp_pool_confined)
        return 0;
    struct qmp_pool_path where;
    struct vs_error perr = { 0 };
    if (qmp_pool_path_parse((const char *const *)pool_dirs.paths, pool_dirs.n,
                            (const char *const *)pool_devices.paths, pool_devices.n, filename,
                            &where, &perr) < 0) {
        vs_error_set(err, VS_ERR_GENERIC, "%s is confined to the pools (--confine-to-pools): %s",
                     what, perr.msg);
        return -1;
    }
    if (where.is_device && !device_ok) {
        vs_error_set(err, VS_ERR_GENERIC,
                     "%s is confined to the pools (--confine-to-pools): %s is a pool device, "
                     "not a file to create",
                     what, filename);
        return -1;
    }
    return 0;
}

void qmp_pools_free(void)
{
    qmp_pool_wipes_free();
    struct pool_list *ls[] = { &pool_dirs, &pool_devices };
    for (size_t k = 0; k < 2; k++) {
        for (size_t i = 0; i < ls[k]->n; i++)
            free(ls[k]->paths[i]);
        free(ls[k]->paths);
        ls[k]->paths = NULL;
        ls[k]->n = 0;
    }
}

/* ---- the operations, on a worker thread ---- */

enum pool_op_kind { POOL_CREATE, POOL_GROW, POOL_DELETE, POOL_QUERY };

struct pool_op {
    struct vs_work work;
    struct qmp_pending *pending;
    enum pool_op_kind kind;
    struct qmp_pool_path where;
    char *dir;    /* the pool directory (a copy: the worker reads it) */
    char *device; /* or the device */
    uint64_t size;
    json_t *ret;
    struct vs_error err;
};

static void op_errno(struct pool_op *op, int e, const char *what)
{
    vs_error_set(&op->err, VS_ERR_GENERIC, "%s %s%s%s: %s", what, op->dir ? op->dir : op->device,
                 op->dir ? "/" : "", op->dir ? op->where.name : "", strerror(e));
}

static int open_dir(struct pool_op *op)
{
    int dfd = open(op->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        op_errno(op, errno, "pool directory of");
    return dfd;
}

static int device_size(const char *path, uint64_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc = fstat(fd, &st) < 0 ? -errno : 0;
    if (rc == 0 && S_ISBLK(st.st_mode))
        rc = ioctl(fd, BLKGETSIZE64, size) < 0 ? -errno : 0;
    else if (rc == 0 && S_ISREG(st.st_mode))
        *size = (uint64_t)st.st_size;
    else if (rc == 0)
        rc = -ENODEV;
    close(fd);
    return rc;
}

static void op_create(struct pool_op *op)
{
    if (op->device) {
        vs_error_set(&op->err, VS_ERR_GENERIC, "%s is a pool device: it is claimed, not created",
                     op->device);
        return;
    }
    int dfd = open_dir(op);
    if (dfd < 0)
        return;
    int fd =
        openat(dfd, op->where.name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        op_errno(op, errno, "cannot create");
    } else {
        /* sparse: a new volume reads as zeroes and takes no space */
        if (ftruncate(fd, (off_t)op->size) < 0) {
            op_errno(op, errno, "cannot size");
            unlinkat(dfd, op->where.name, 0);
        }
        close(fd);
    }
    close(dfd);
}

static void op_grow(struct pool_op *op)
{
    if (op->device) {
        uint64_t sz = 0;
        int rc = device_size(op->device, &sz);
        if (rc < 0)
            op_errno(op, -rc, "cannot measure");
        else if (sz < op->size)
            vs_error_set(&op->err, VS_ERR_GENERIC, "device %s holds %llu bytes, less than %llu",
                         op->device, (unsigned long long)sz, (unsigned long long)op->size);
        return;
    }
    int dfd = open_dir(op);
    if (dfd < 0)
        return;
    int fd = openat(dfd, op->where.name, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0) {
        op_errno(op, errno, "cannot open");
    } else if (fstat(fd, &st) < 0) {
        op_errno(op, errno, "cannot stat");
    } else if (!S_ISREG(st.st_mode) || st.st_nlink != 1) {
        vs_error_set(&op->err, VS_ERR_GENERIC,
                     "%s/%s is not a regular file with one link: not grown", op->dir,
                     op->where.name);
    } else if ((uint64_t)st.st_size > op->size) {
        vs_error_set(&op->err, VS_ERR_GENERIC, "%s/%s is larger than %llu bytes: not shrunk",
                     op->dir, op->where.name, (unsigned long long)op->size);
    } else if (ftruncate(fd, (off_t)op->size) < 0) {
        op_errno(op, errno, "cannot grow");
    }
    if (fd >= 0)
        close(fd);
    close(dfd);
}

static void op_delete(struct pool_op *op)
{
    int dfd = open_dir(op);
    if (dfd < 0)
        return;
    struct stat st;
    if (fstatat(dfd, op->where.name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT) /* a retried delete converges */
            op->ret = json_pack("{s:b}", "deleted", false);
        else
            op_errno(op, errno, "cannot stat");
    } else if (!S_ISREG(st.st_mode)) {
        vs_error_set(&op->err, VS_ERR_GENERIC, "%s/%s is not a regular file: not deleted", op->dir,
                     op->where.name);
    } else if (unlinkat(dfd, op->where.name, 0) < 0 && errno != ENOENT) {
        op_errno(op, errno, "cannot delete");
    } else {
        op->ret = json_pack("{s:b}", "deleted", true);
    }
    close(dfd);
}

/* Every pool as a path list copy: the worker must not read the lists. */
static void op_query(struct pool_op *op)
{
    json_t *a = json_array();
    json_t *dirs = json_object_get(op->ret, "dirs");
    json_t *devs = json_object_get(op->ret, "devices");
    size_t i;
    json_t *p;
    json_array_foreach(dirs, i, p) {
        const char *path = json_string_value(p);
        struct statvfs sv;
        json_t *o = json_pack("{s:s, s:s}", "type", "dir", "path", path);
        if (statvfs(path, &sv) == 0) {
            json_object_set_new(o, "total", json_integer((json_int_t)(sv.f_blocks * sv.f_frsize)));
            json_object_set_new(o, "free", json_integer((json_int_t)(sv.f_bavail * sv.f_frsize)));
        } else {
            json_object_set_new(o, "error", json_string(strerror(errno)));
        }
        json_array_append_new(a, o);
    }
    json_array_foreach(devs, i, p) {
        const char *path = json_string_value(json_object_get(p, "path"));
        uint64_t sz = 0;
        int rc = device_size(path, &sz);
        json_t *o = json_deep_copy(p);
        if (rc == 0)
            json_object_set_new(o, "size", json_integer((json_int_t)sz));
        else
            json_object_set_new(o, "error", json_string(strerror(-rc)));
        json_array_append_new(a, o);
    }
    json_decref(op->ret);
    op->ret = a;
}

static void op_run(struct vs_work *w)
{
    struct pool_op *op = (struct pool_op *)w;
    switch (op->kind) {
    case POOL_CREATE: op_create(op); break;
    case POOL_GROW: op_grow(op); break;
    case POOL_DELETE: op_delete(op); break;
    case POOL_QUERY: op_query(op); break;
    }
    if (!op->err.set && !op->ret)
        op->ret = json_object();
}

static void op_free(struct pool_op *op)
{
    free(op->dir);
    free(op->device);
    free(op);
}

static void op_done(struct vs_work *w)
{
    struct pool_op *op = (struct pool_op *)w;
    if (op->err.set) {
        vs_warn("pool: %s", op->err.msg);
        json_decref(op->ret);
        op->ret = NULL;
    }
    qmp_pending_finish(op->pending, op->ret, op->err.set ? &op->err : NULL);
    op_free(op);
}

/* Runs OP on the worker pool for a client (its reply waits), or at once
 * on the command line. */
static json_t *op_start(struct qmp_ctx *ctx, struct pool_op *op, struct vs_error *err)
{
    if (qmp_sandbox) {
        op_free(op);
        vs_error_set(err, VS_ERR_GENERIC, "pool commands touch files: not in this sandbox");
        return NULL;
    }
    op->work.run = op_run;
    op->work.done = op_done;
    if (ctx->pending) {
        op->pending = qmp_defer(ctx);
        vs_loop_offload(ctx->loop, &op->work);
        return NULL;
    }
    op_run(&op->work);
    json_t *ret = op->err.set ? NULL : op->ret;
    if (op->err.set) {
        *err = op->err;
        json_decref(op->ret);
    }
    op_free(op);
    return ret;
}

/* An operation on FILENAME, once its path passed the boundary. */
static struct pool_op *op_for(json_t *args, enum pool_op_kind kind, struct vs_error *err)
{
    const char *filename = json_string_value(json_object_get(args, "filename"));
    struct pool_op *op = vs_zalloc(sizeof *op);
    if (qmp_pool_path_parse((const char *const *)pool_dirs.paths, pool_dirs.n,
                            (const char *const *)pool_devices.paths, pool_devices.n, filename,
                            &op->where, err) < 0) {
        free(op);
        return NULL;
    }
    op->kind = kind;
    if (op->where.is_device)
        op->device = vs_strdup(pool_devices.paths[op->where.index]);
    else
        op->dir = vs_strdup(pool_dirs.paths[op->where.index]);
    json_t *size = json_object_get(args, "size");
    if (size) {
        json_int_t s = json_integer_value(size);
        if (s <= 0) {
            vs_error_set(err, VS_ERR_GENERIC, "Parameter 'size' expects a size above 0");
            op_free(op);
            return NULL;
        }
        op->size = (uint64_t)s;
    }
    return op;
}

static json_t *cmd_pool_file(struct qmp_ctx *ctx, json_t *args, enum pool_op_kind kind,
                             struct vs_error *err)
{
    struct pool_op *op = op_for(args, kind, err);
    return op ? op_start(ctx, op, err) : NULL;
}

static json_t *cmd_pool_create(struct qmp_ctx *ctx, json_t *args, struct vs_error *err)
{
    return cmd_pool_file(ctx, args, POOL_CREATE, err);
}

/* A device being wiped is nobody's: not measured for a claim, not handed
 * out. */
static bool refuse_wiping(const struct pool_op *op, struct vs_error *err)
{
    uint64_t done, size;
    if (!op->device || strcmp(qmp_pool_device_state(op->device, &done, &size), "ready") == 0)
        return false;
    vs_error_set(err, VS_ERR_GENERIC, "device %s is being wiped: it cannot be claimed yet",
                 op->device);
    return true;
}

static json_t *cmd_pool_grow(struct qmp_ctx *ctx, json_t *args, struct vs_error *err)
{
    struct pool_op *op = op_for(args, POOL_GROW, err);
    if (op && refuse_wiping(op, err)) {
        op_free(op);
        return NULL;
    }
    return op ? op_start(ctx, op, err) : NULL;
}

/* A device handed back is zeroed before anyone can claim it again (unless
 * --pool-clear none); the reply says the wipe started, and the state file
 * that resumes it after a crash is on disk before the reply goes. */
static json_t *wipe_device(struct qmp_ctx *ctx, struct pool_op *op, bool always,
                           struct vs_error *err)
{
    json_t *ret = NULL;
    if (!always && qmp_pool_clear == QMP_POOL_CLEAR_NONE)
        ret = json_pack("{s:b}", "deleted", false); /* handed back as it is */
    else if (qmp_pool_wipe_start(ctx->loop, op->device, err) == 0)
        ret = json_pack("{s:b, s:b}", "deleted", false, "wiping", true);
    op_free(op);
    return ret;
}

static json_t *cmd_pool_delete(struct qmp_ctx *ctx, json_t *args, struct vs_error *err)
{
    struct pool_op *op = op_for(args, POOL_DELETE, err);
    if (op && op->device)
        return wipe_device(ctx, op, false, err);
    return op ? op_start(ctx, op, err) : NULL;
}

static json_t *cmd_pool_wipe(struct qmp_ctx *ctx, json_t *args, struct vs_error *err)
{
    struct pool_op *op = op_for(args, POOL_DELETE, err);
    if (op && !op->device) {
        vs_error_set(err, VS_ERR_GENERIC, "%s/%s is a pool file: delete it instead", op->dir,
                     op->where.name);
        op_free(op);
        return NULL;
    }
    return op ? wipe_device(ctx, op, true, err) : NULL;
}

static json_t *cmd_query_pools(struct qmp_ctx *ctx, json_t *args, struct vs_error *err)
{
    struct pool_op *op = vs_zalloc(sizeof *op);
    op->kind = POOL_QUERY;
    json_t *dirs = json_array(), *devs = json_array();
    for (size_t i = 0; i < pool_dirs.n; i++)
        json_array_append_new(dirs, json_string(pool_dirs.paths[i]));
    for (size_t i = 0; i < pool_devices.n; i++) {
        uint64_t done = 0, size = 0;
        const char *state = qmp_pool_device_state(pool_devices.paths[i], &done, &size);
        json_t *o = json_pack("{s:s, s:s, s:s}", "type", "device", "path", pool_devices.paths[i],
                              "state", state);
        if (strcmp(state, "ready") != 0)
            json_object_set_new(o, "wiped", json_integer((json_int_t)done));
        json_array_append_new(devs, o);
    }
    op->ret = json_pack("{s:o, s:o}", "dirs", dirs, "devices", devs);
    return op_start(ctx, op, err);
}

static const struct qmp_arg sized_members[] = {
    { "filename", QT_STR, false,
      .doc = "a plain file name directly inside a --pool-dir directory, or a --pool-device" },
    { "size", QT_INT, false, .doc = "bytes, above 0" },
    { 0 },
};
static const struct qmp_schema sized_schema = { sized_members };
static const struct qmp_arg file_members[] = {
    { "filename", QT_STR, false,
      .doc = "a plain file name directly inside a --pool-dir directory, or a --pool-device" },
    { 0 },
};
static const struct qmp_schema file_schema = { file_members };

const struct qmp_command qmp_pool_commands[] = {
    { "x-volswap-pool-create", &sized_schema, cmd_pool_create,
      "Create a volume's sparse raw file of `size` bytes in a pool directory (fails if it "
      "exists). Any other path, a name with a slash, '.' or '..', or a hidden name is "
      "refused." },
    { "x-volswap-pool-grow", &sized_schema, cmd_pool_grow,
      "Grow a pool file to `size` bytes (never shrinks; a symbolic link or a file with "
      "another hard link is refused), or check that a pool device holds `size` bytes." },
    { "x-volswap-pool-delete", &file_schema, cmd_pool_delete,
      "Delete a pool file (a missing one is not an error: `deleted` false; a symbolic "
      "link is refused). A pool device is handed back: zeroed before it can be claimed "
      "again (state `wiping` in x-volswap-query-pools until then; resumed after a "
      "restart), or as it is with --pool-clear none. A device a node has open is refused.",
      .returns = "`{\"deleted\": bool, \"wiping\"?: true}`", .mutates = true },
    { "x-volswap-pool-wipe", &file_schema, cmd_pool_wipe,
      "Zero a pool device (whatever --pool-clear says), as x-volswap-pool-delete does; "
      "the reply comes once the wipe is recorded in the state file, the wipe goes on.",
      .returns = "`{\"deleted\": false, \"wiping\": true}`", .mutates = true },
    { "x-volswap-query-pools", NULL, cmd_query_pools,
      "The pool directories and devices this daemon manages, with their capacity.",
      .returns = "`[{\"type\": \"dir\", \"path\", \"total\", \"free\"} | {\"type\": "
                 "\"device\", \"path\", \"size\", \"state\": \"ready\" | \"wiping\" | "
                 "\"wipe-failed\", \"wiped\"?}, ...]` (`error` instead of a size when "
                 "unreadable)" },
    { 0 },
};
