/* Job commands: drive-mirror and blockdev-mirror, the block-job-* and job-*
 * verbs, query-block-jobs and query-jobs — QEMU's schemas (DriveMirror,
 * BlockdevMirror, ...) over the job layer's API (src/jobs/jobs.h), which
 * does the finding, the state checks and QEMU's error texts and classes.
 * This file only declares the arguments and converts them. */
#include "monitor.h"
#include "../jobs/jobs.h"

#include <string.h>

static const char *const on_error_values[] = { "report", "ignore", "enospc", "stop", "auto", NULL };
static const char *const copy_mode_values[] = { "background", "write-blocking", NULL };
static const char *const job_type_values[] = { "commit", "stream", "mirror", "backup", "create",
                                               "amend", "snapshot-load", "snapshot-save",
                                               "snapshot-delete", NULL };

static const char *get_str(json_t *args, const char *key)
{
    return json_string_value(json_object_get(args, key));
}

static const char *const sync_values[] = { "top", "full", "none", "incremental", "bitmap", NULL };
static const char *const new_image_mode_values[] = { "existing", "absolute-paths", NULL };

#define MIRROR_COMMON_MEMBERS                                                            \
    { "job-id", QT_STR, true, .doc = "job identifier (default: the device name)" },      \
    { "device", QT_STR, false, .doc = "the source node" },                               \
    { "replaces", QT_STR, true, .doc = "node switched to the target at completion" },    \
    { "sync", QT_ENUM, false, .enum_values = sync_values,                                \
      .doc = "what to copy; top without a backing file is full" },                       \
    { "speed", QT_INT, true, .doc = "bytes per second, 0 (default) unlimited" },         \
    { "granularity", QT_INT, true,                                                       \
      .doc = "dirty bitmap granularity: a power of two in [512, 64 MiB], default 64 KiB" }, \
    { "buf-size", QT_INT, true, .doc = "copy buffer, default 16 MiB" },                  \
    { "on-source-error", QT_ENUM, true, .enum_values = on_error_values,                  \
      .doc = "default report" },                                                         \
    { "on-target-error", QT_ENUM, true, .enum_values = on_error_values,                  \
      .doc = "default report" },                                                         \
    { "copy-mode", QT_ENUM, true, .enum_values = copy_mode_values,                       \
      .doc = "default background" },                                                     \
    { "auto-finalize", QT_BOOL, true, .doc = "default true" },                           \
    { "auto-dismiss", QT_BOOL, true, .doc = "default true" }

static const struct qmp_arg drive_mirror_members[] = {
    MIRROR_COMMON_MEMBERS,
    { "target", QT_STR, false, .doc = "the target file" },
    { "format", QT_STR, true, .doc = "target format: raw" },
    { "node-name", QT_STR, true, .doc = "node name of the target" },
    { "mode", QT_ENUM, true, .enum_values = new_image_mode_values,
      .doc = "existing, or absolute-paths (default: create the target)" },
    { "unmap", QT_BOOL, true, .doc = "unmap the target where the source has holes (default true)" },
    { 0 },
};
static const struct qmp_schema drive_mirror_schema = { drive_mirror_members };

static const struct qmp_arg blockdev_mirror_members[] = {
    MIRROR_COMMON_MEMBERS,
    { "target", QT_STR, false, .doc = "the target node" },
    { "filter-node-name", QT_STR, true, .doc = "accepted; no filter node is inserted" },
    { 0 },
};
static const struct qmp_schema blockdev_mirror_schema = { blockdev_mirror_members };

static void mirror_args_from(json_t *a, struct mirror_args *m)
{
    memset(m, 0, sizeof(*m));
    m->job_id = get_str(a, "job-id");
    m->device = get_str(a, "device");
    m->target = get_str(a, "target");
    m->format = get_str(a, "format");
    m->node_name = get_str(a, "node-name");
    m->replaces = get_str(a, "replaces");
    m->sync = get_str(a, "sync");
    m->mode = get_str(a, "mode");
    m->speed = json_integer_value(json_object_get(a, "speed"));
    m->granularity = json_integer_value(json_object_get(a, "granularity"));
    m->buf_size = json_integer_value(json_object_get(a, "buf-size"));
    m->on_source_error = get_str(a, "on-source-error");
    m->on_target_error = get_str(a, "on-target-error");
    m->copy_mode = get_str(a, "copy-mode");
    json_t *v;
    if ((v = json_object_get(a, "unmap")))
        m->has_unmap = true, m->unmap = json_is_true(v);
    if ((v = json_object_get(a, "auto-finalize")))
        m->has_auto_finalize = true, m->auto_finalize = json_is_true(v);
    if ((v = json_object_get(a, "auto-dismiss")))
        m->has_auto_dismiss = true, m->auto_dismiss = json_is_true(v);
}

/* A client's drive-mirror: the file work runs on the worker pool, the
 * reply waits for the job to start. */
struct dm_wait {
    struct qmp_pending *p;
    json_t *args;              /* keeps the strings of m valid */
    struct mirror_args m;
};

static void drive_mirror_started(struct block_node *tgt, const struct vs_error *err,
                                 void *opaque)
{
    struct dm_wait *w = opaque;

    if (tgt)
        qmp_node_options_set(tgt, json_pack("{s:s,s:s,s:s}", "driver", tgt->drv->name,
                                            "node-name", tgt->name, "filename", w->m.target));
    qmp_pending_finish(w->p, tgt ? json_object() : NULL, err);
    json_decref(w->args);
    free(w);
}

/* drive-mirror's target is a path the job opens, or creates. */
static int check_target(json_t *args, struct vs_error *err)
{
    const char *target = get_str(args, "target");
    if (qmp_pool_wiping_in(json_object_get(args, "target"))) {
        vs_error_set(err, VS_ERR_GENERIC, "Could not open '%s': the pool device is being wiped",
                     target);
        return -1;
    }
    return target ? qmp_pool_confine_check(target, true, "drive-mirror", err) : 0;
}

static json_t *cmd_drive_mirror(struct qmp_ctx *ctx, json_t *args, struct vs_error *err)
{
    if (check_target(args, err) < 0)
        return NULL;
    if (ctx->pending && !qmp_sandbox) {
        struct dm_wait *w = vs_zalloc(sizeof(*w));
        w->args = json_incref(args);
        mirror_args_from(w->args, &w->m);
        if (jobs_drive_mirror_async(ctx->loop, &w->m, drive_mirror_started, w, err) < 0) {
            json_decref(w->args);
            free(w);
            return NULL;
        }
        w->p = qmp_defer(ctx);
        return NULL;
    }
    struct mirror_args m;
    mirror_args_from(args, &m);
    if (qmp_sandbox) {
        vs_error_set(err, VS_ERR_GENERIC, "drive-mirror creates files: not in this sandbox");
        return NULL;
    }
    /* Nodes before the call: the one the job opens for the target is the
     * new one, and its options are recorded for the state file. */
    struct block_node *last = NULL;
    for (struct block_node *n = block_node_next(NULL); n; n = block_node_next(n))
        last = n;
    if (jobs_drive_mirror(ctx->loop, &m, err) < 0)
        return NULL;
    for (struct block_node *n = last ? block_node_next(last) : block_node_next(NULL); n;
         n = block_node_next(n))
        qmp_node_options_set(n, json_pack("{s:s,s:s,s:s}", "driver", n->drv->name,
                                          "node-name", n->name, "filename", m.target));
    return json_object();
}

static json_t *cmd_blockdev_mirror(struct qmp_ctx *ctx, json_t *args, struct vs_error *err)
{
    struct mirror_args m;
    mirror_args_from(args, &m);
    return jobs_blockdev_mirror(ctx->loop, &m, err) < 0 ? NULL : json_object();
}

/* ---- verbs ------------------------------------------------------------- */

static const struct qmp_arg device_members[] = {
    { "device", QT_STR, false, .doc = "the job's id" },
    { 0 },
};
static const struct qmp_schema device_schema = { device_members };

static const struct qmp_arg cancel_members[] = {
    { "device", QT_STR, false, .doc = "the job's id" },
    { "force", QT_BOOL, true,
      .doc = "after READY: abandon the job instead of completing it without pivot" },
    { 0 },
};
static const struct qmp_schema cancel_schema = { cancel_members };

static const struct qmp_arg set_speed_members[] = {
    { "device", QT_STR, false, .doc = "the job's id" },
    { "speed", QT_INT, false, .doc = "bytes per second, 0 unlimited" },
    { 0 },
};
static const struct qmp_schema set_speed_schema = { set_speed_members };

static const struct qmp_arg id_members[] = {
    { "id", QT_STR, false, .doc = "the job's id" },
    { 0 },
};
static const struct qmp_schema id_schema = { id_members };

static const struct qmp_arg change_members[] = {
    { "id", QT_STR, false, .doc = "the job's id" },
    { "type", QT_ENUM, false, .enum_values = job_type_values, .doc = "the job's type: mirror" },
    { "copy-mode", QT_ENUM, true, .enum_values = copy_mode_values,
      .doc = "background to write-blocking" },
    { 0 },
};
static const struct qmp_schema change_schema = { change_members };

static json_t *done(int r)
{
    return r < 0 ? NULL : json_object();
}

static json_t *cmd_block_job_cancel(struct qmp_ctx *ctx, json_t *a, struct vs_error *err)
{
    return done(jobs_block_job_cancel(get_str(a, "device"),
                                      json_is_true(json_object_get(a, "force")), err));
}

static json_t *cmd_block_job_pause(struct qmp_ctx *ctx, json_t *a, struct vs_error *err)
{
    return done(jobs_block_job_pause(get_str(a, "device"), err));
}

static json_t *cmd_block_job_resume(struct qmp_ctx *ctx, json_t *a, struct vs_error *err)
{
    return done(jobs_block_job_resume(get_str(a, "device"), err));
}

static json_t *cmd_block_job_complete(struct qmp_ctx *ctx, json_t *a, struct vs_error *err)
{
    return done(jobs_block_job_complete(get_str(a, "device"), err));
}

static json_t *cmd_block_job_set_speed(struct qmp_ctx *ctx, json_t *a, struct vs_error *err)
{
    return done(jobs_block_job_set_speed(get_str(a, "device"),
                                         json_integer_value(json_object_get(a, "speed")), err));
}

static json_t *cmd_block_job_finalize(struct qmp_ctx *ctx, json_t *a, struct vs_error *err)
{
    return done(jobs_block_job_finalize(get_str(a, "id"), err));
}

static json_t *cmd_block_job_dismiss(struct qmp_ctx *ctx, json_t *a, struct vs_error *err)
{
    return done(jobs_block_job_dismiss(get_str(a, "id"), err));
}

static json_t *cmd_block_job_change(struct qmp_ctx *ctx, json_t *a, struct vs_error *err)
{
    return done(jobs_block_job_change(get_str(a, "id"), get_str(a, "type"),
                                      get_str(a, "copy-mode"), err));
}

static json_t *cmd_job_cancel(struct qmp_ctx *ctx, json_t *a, struct vs_error *err)
{
    return done(jobs_job_cancel(get_str(a, "id"), err));
}

static json_t *cmd_job_pause(struct qmp_ctx *ctx, json_t *a, struct vs_error *err)
{
    return done(jobs_job_pause(get_str(a, "id"), err));
}

static json_t *cmd_job_resume(struct qmp_ctx *ctx, json_t *a, struct vs_error *err)
{
    return done(jobs_job_resume(get_str(a, "id"), err));
}

static json_t *cmd_job_complete(struct qmp_ctx *ctx, json_t *a, struct vs_error *err)
{
    return done(jobs_job_complete(get_str(a, "id"), err));
}

static json_t *cmd_job_finalize(struct qmp_ctx *ctx, json_t *a, struct vs_error *err)
{
    return done(jobs_job_finalize(get_str(a, "id"), err));
}

static json_t *cmd_job_dismiss(struct qmp_ctx *ctx, json_t *a, struct vs_error *err)
{
    return done(jobs_job_dismiss(get_str(a, "id"), err));
}

static json_t *cmd_query_block_jobs(struct qmp_ctx *ctx, json_t *a, struct vs_error *err)
{
    return jobs_query_block_jobs();
}

static json_t *cmd_query_jobs(struct qmp_ctx *ctx, json_t *a, struct vs_error *err)
{
    return jobs_query_jobs();
}

/* ---- blockdev-create ------------------------------------------------------ */

static const char *const create_driver_values[] = { "file", NULL };
static const char *const prealloc_values[] = { "off", "metadata", "falloc", "full", NULL };

static const struct qmp_arg create_file_members[] = {
    { "filename", QT_STR, false, .doc = "the image file (created, or reused and cleared)" },
    { "size", QT_INT, false, .doc = "bytes" },
    { "preallocation", QT_ENUM, true, .enum_values = prealloc_values,
      .doc = "off (default, sparse), falloc, full; metadata is for formats" },
    { "nocow", QT_BOOL, true, .doc = "set FS_NOCOW_FL where the file system has it" },
    { "extent-size-hint", QT_SIZE, true, .doc = "accepted and ignored (an XFS hint)" },
    { 0 },
};
static const struct qmp_branch create_branches[] = {
    { "file", create_file_members },
    { 0 },
};
static const struct qmp_arg create_options_members[] = {
    { "driver", QT_ENUM, false, .enum_values = create_driver_values,
      .doc = "file: volswapd creates raw image files only" },
    { 0 },
};
static const struct qmp_schema create_options_schema = { create_options_members, "driver",
                                                         create_branches };
static const struct qmp_arg create_members[] = {
    { "job-id", QT_STR, false, .doc = "the job's id" },
    { "options", QT_OBJ, false, .schema = &create_options_schema,
      .doc = "{\"driver\": \"file\", \"filename\", \"size\", ...}" },
    { 0 },
};
static const struct qmp_schema create_schema = { create_members };

static json_t *cmd_blockdev_create(struct qmp_ctx *ctx, json_t *args, struct vs_error *err)
{
    json_t *o = json_object_get(args, "options");
    const char *pre = json_string_value(json_object_get(o, "preallocation"));
    enum create_prealloc p = CREATE_PREALLOC_OFF;
    if (pre && strcmp(pre, "metadata") == 0) {
        vs_error_set(err, VS_ERR_GENERIC, "Unsupported preallocation mode 'metadata'");
        return NULL;
    }
    if (pre && strcmp(pre, "falloc") == 0)
        p = CREATE_PREALLOC_FALLOC;
    else if (pre && strcmp(pre, "full") == 0)
        p = CREATE_PREALLOC_FULL;
    if (qmp_sandbox) {
        vs_error_set(err, VS_ERR_GENERIC, "blockdev-create creates files: not in this sandbox");
        return NULL;
    }
    const char *filename = json_string_value(json_object_get(o, "filename"));
    if (qmp_pool_wiping_in(json_object_get(o, "filename"))) {
        vs_error_set(err, VS_ERR_GENERIC, "Could not create '%s': the pool device is being wiped",
                     filename);
        return NULL;
    }
    if (qmp_pool_confine_check(filename, false, "blockdev-create", err) < 0)
        return NULL;
    /* QEMU's size is a uint64: a negative one wraps and fails at the resize */
    uint64_t size = (uint64_t)json_integer_value(json_object_get(o, "size"));
    if (jobs_blockdev_create(ctx->loop, json_string_value(json_object_get(args, "job-id")),
                             json_string_value(json_object_get(o, "filename")), size, p,
                             json_is_true(json_object_get(o, "nocow")), err) < 0)
        return NULL;
    return json_object();
}

const struct qmp_command qmp_job_commands[] = {
    { "blockdev-create", &create_schema, cmd_blockdev_create,
      "Create a raw image file as a job of type create (JOB_STATUS_CHANGE events only; "
      "dismiss it with job-dismiss), e.g. a mirror target for blockdev-add and "
      "blockdev-mirror.", .mutates = true },
    { "drive-mirror", &drive_mirror_schema, cmd_drive_mirror,
      "Mirror a node to a file, live; the target node is opened by the job.",
      .mutates = true },
    { "blockdev-mirror", &blockdev_mirror_schema, cmd_blockdev_mirror,
      "Mirror a node to another node added with blockdev-add, live." },
    { "block-job-cancel", &cancel_schema, cmd_block_job_cancel,
      "Cancel a block job. Unknown job: DeviceNotActive." },
    { "block-job-pause", &device_schema, cmd_block_job_pause, "Pause a block job." },
    { "block-job-resume", &device_schema, cmd_block_job_resume, "Resume a paused block job." },
    { "block-job-complete", &device_schema, cmd_block_job_complete,
      "Complete a READY mirror: pivot every export of the source to the target." },
    { "block-job-set-speed", &set_speed_schema, cmd_block_job_set_speed,
      "Change a block job's speed limit." },
    { "block-job-finalize", &id_schema, cmd_block_job_finalize,
      "Finalize a PENDING job (auto-finalize false)." },
    { "block-job-dismiss", &id_schema, cmd_block_job_dismiss,
      "Dismiss a CONCLUDED job (auto-dismiss false)." },
    { "block-job-change", &change_schema, cmd_block_job_change,
      "Change a running job's options: a mirror's copy-mode." },
    { "job-cancel", &id_schema, cmd_job_cancel, "Cancel a job (always forced). Unknown job: GenericError." },
    { "job-pause", &id_schema, cmd_job_pause, "Pause a job." },
    { "job-resume", &id_schema, cmd_job_resume, "Resume a job." },
    { "job-complete", &id_schema, cmd_job_complete, "Complete a READY job." },
    { "job-finalize", &id_schema, cmd_job_finalize, "Finalize a PENDING job." },
    { "job-dismiss", &id_schema, cmd_job_dismiss, "Dismiss a CONCLUDED job." },
    { "query-block-jobs", NULL, cmd_query_block_jobs, "Every block job.",
      .returns = "`[{\"type\", \"device\", \"len\", \"offset\", \"busy\", \"paused\", \"speed\", "
                 "\"io-status\", \"ready\", \"status\", \"auto-finalize\", \"auto-dismiss\", "
                 "\"error\"?}, ...]`" },
    { "query-jobs", NULL, cmd_query_jobs, "Every job.",
      .returns = "`[{\"id\", \"type\", \"status\", \"current-progress\", \"total-progress\", "
                 "\"error\"?}, ...]`" },
    { 0 },
};
