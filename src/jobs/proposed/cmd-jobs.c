/* PROPOSED for src/monitor/cmd-jobs.c (owned by the monitor; kept here by
 * the jobs layer until it is moved, not built from here).
 *
 * Job and mirror commands: drive-mirror, blockdev-mirror, the block-job-*
 * and job-* verbs and the two queries, with QEMU's argument schemas
 * (qapi/block-core.json, qapi/job.json). Handlers only unpack the checked
 * arguments and call src/jobs/jobs.h, which words the errors as QEMU. */
#include "monitor.h"
#include "../jobs/jobs.h"

#include <string.h>

static const char *const sync_values[] = { "top", "full", "none", "incremental",
                                           "bitmap", NULL };
static const char *const mode_values[] = { "existing", "absolute-paths", NULL };
static const char *const on_error_values[] = { "report", "ignore", "enospc",
                                               "stop", "auto", NULL };
static const char *const copy_mode_values[] = { "background", "write-blocking",
                                                NULL };
static const char *const job_type_values[] = { "mirror", NULL };

#define MIRROR_COMMON_MEMBERS                                                  \
    { "job-id", QT_STR, true, .doc = "job id (default: the device name)" },   \
    { "device", QT_STR, false, .doc = "the source node" },                    \
    { "replaces", QT_STR, true, .doc = "node switched to the target at the pivot" }, \
    { "sync", QT_ENUM, false, .enum_values = sync_values,                     \
      .doc = "full, top (= full: raw volumes have no backing) or none" },     \
    { "speed", QT_INT, true, .doc = "bytes per second, 0 = unlimited" },      \
    { "granularity", QT_INT, true, .doc = "power of two in [512, 64M], default 64K" }, \
    { "buf-size", QT_INT, true, .doc = "bytes in flight, default 16M" },      \
    { "on-source-error", QT_ENUM, true, .enum_values = on_error_values,       \
      .doc = "report (default), ignore, enospc, stop" },                      \
    { "on-target-error", QT_ENUM, true, .enum_values = on_error_values,       \
      .doc = "report (default), ignore, enospc, stop" },                      \
    { "filter-node-name", QT_STR, true, .doc = "accepted and ignored" },      \
    { "copy-mode", QT_ENUM, true, .enum_values = copy_mode_values,            \
      .doc = "background (default) or write-blocking" },                      \
    { "auto-finalize", QT_BOOL, true, .doc = "default true" },                \
    { "auto-dismiss", QT_BOOL, true, .doc = "default true" }

static const struct qmp_arg drive_mirror_members[] = {
    MIRROR_COMMON_MEMBERS,
    { "target", QT_STR, false, .doc = "target file name" },
    { "format", QT_STR, true, .doc = "raw (the only format)" },
    { "node-name", QT_STR, true, .doc = "node-name of the new target node" },
    { "mode", QT_ENUM, true, .enum_values = mode_values,
      .doc = "absolute-paths (default: create the file) or existing" },
    { "unmap", QT_BOOL, true, .doc = "unmap holes on the target (default true)" },
    { 0 },
};
static const struct qmp_schema drive_mirror_schema = { drive_mirror_members };

static const struct qmp_arg blockdev_mirror_members[] = {
    MIRROR_COMMON_MEMBERS,
    { "target", QT_STR, false, .doc = "the target node" },
    { 0 },
};
static const struct qmp_schema blockdev_mirror_schema = { blockdev_mirror_members };

static const char *str(json_t *a, const char *k)
{
    return json_string_value(json_object_get(a, k));
}

static void get_args(json_t *a, struct mirror_args *m)
{
    json_t *v;

    memset(m, 0, sizeof(*m));
    m->job_id = str(a, "job-id");
    m->device = str(a, "device");
    m->target = str(a, "target");
    m->format = str(a, "format");
    m->node_name = str(a, "node-name");
    m->replaces = str(a, "replaces");
    m->sync = str(a, "sync");
    m->mode = str(a, "mode");
    m->speed = json_integer_value(json_object_get(a, "speed"));
    m->granularity = json_integer_value(json_object_get(a, "granularity"));
    m->buf_size = json_integer_value(json_object_get(a, "buf-size"));
    m->on_source_error = str(a, "on-source-error");
    m->on_target_error = str(a, "on-target-error");
    m->copy_mode = str(a, "copy-mode");
    if ((v = json_object_get(a, "unmap"))) {
        m->has_unmap = true;
        m->unmap = json_is_true(v);
    }
    if ((v = json_object_get(a, "auto-finalize"))) {
        m->has_auto_finalize = true;
        m->auto_finalize = json_is_true(v);
    }
    if ((v = json_object_get(a, "auto-dismiss"))) {
        m->has_auto_dismiss = true;
        m->auto_dismiss = json_is_true(v);
    }
}

static json_t *ok_or_null(int rc)
{
    return rc < 0 ? NULL : json_object();
}

static json_t *cmd_drive_mirror(struct qmp_ctx *ctx, json_t *args, struct vs_error *err)
{
    struct mirror_args m;

    get_args(args, &m);
    return ok_or_null(jobs_drive_mirror(ctx->loop, &m, err));
}

static json_t *cmd_blockdev_mirror(struct qmp_ctx *ctx, json_t *args, struct vs_error *err)
{
    struct mirror_args m;

    get_args(args, &m);
    return ok_or_null(jobs_blockdev_mirror(ctx->loop, &m, err));
}

/* ---- verbs ------------------------------------------------------------- */

static const struct qmp_arg device_members[] = {
    { "device", QT_STR, false, .doc = "the job id" }, { 0 },
};
static const struct qmp_schema device_schema = { device_members };
static const struct qmp_arg cancel_members[] = {
    { "device", QT_STR, false, .doc = "the job id" },
    { "force", QT_BOOL, true, .doc = "abandon a READY job without syncing (default false)" },
    { 0 },
};
static const struct qmp_schema cancel_schema = { cancel_members };
static const struct qmp_arg speed_members[] = {
    { "device", QT_STR, false, .doc = "the job id" },
    { "speed", QT_INT, false, .doc = "bytes per second, 0 = unlimited" },
    { 0 },
};
static const struct qmp_schema speed_schema = { speed_members };
static const struct qmp_arg id_members[] = {
    { "id", QT_STR, false, .doc = "the job id" }, { 0 },
};
static const struct qmp_schema id_schema = { id_members };
static const struct qmp_arg change_members[] = {
    { "id", QT_STR, false, .doc = "the job id" },
    { "type", QT_ENUM, false, .enum_values = job_type_values, .doc = "mirror" },
    { "copy-mode", QT_ENUM, true, .enum_values = copy_mode_values,
      .doc = "write-blocking (the only change implemented, as QEMU)" },
    { 0 },
};
static const struct qmp_schema change_schema = { change_members };

static json_t *cmd_block_job_cancel(struct qmp_ctx *c, json_t *a, struct vs_error *e)
{
    return ok_or_null(jobs_block_job_cancel(str(a, "device"),
                                            json_is_true(json_object_get(a, "force")), e));
}
static json_t *cmd_block_job_pause(struct qmp_ctx *c, json_t *a, struct vs_error *e)
{
    return ok_or_null(jobs_block_job_pause(str(a, "device"), e));
}
static json_t *cmd_block_job_resume(struct qmp_ctx *c, json_t *a, struct vs_error *e)
{
    return ok_or_null(jobs_block_job_resume(str(a, "device"), e));
}
static json_t *cmd_block_job_complete(struct qmp_ctx *c, json_t *a, struct vs_error *e)
{
    return ok_or_null(jobs_block_job_complete(str(a, "device"), e));
}
static json_t *cmd_block_job_set_speed(struct qmp_ctx *c, json_t *a, struct vs_error *e)
{
    return ok_or_null(jobs_block_job_set_speed(str(a, "device"),
                                               json_integer_value(json_object_get(a, "speed")), e));
}
static json_t *cmd_block_job_finalize(struct qmp_ctx *c, json_t *a, struct vs_error *e)
{
    return ok_or_null(jobs_block_job_finalize(str(a, "id"), e));
}
static json_t *cmd_block_job_dismiss(struct qmp_ctx *c, json_t *a, struct vs_error *e)
{
    return ok_or_null(jobs_block_job_dismiss(str(a, "id"), e));
}
static json_t *cmd_block_job_change(struct qmp_ctx *c, json_t *a, struct vs_error *e)
{
    return ok_or_null(jobs_block_job_change(str(a, "id"), str(a, "type"),
                                            str(a, "copy-mode"), e));
}
static json_t *cmd_job_cancel(struct qmp_ctx *c, json_t *a, struct vs_error *e)
{
    return ok_or_null(jobs_job_cancel(str(a, "id"), e));
}
static json_t *cmd_job_pause(struct qmp_ctx *c, json_t *a, struct vs_error *e)
{
    return ok_or_null(jobs_job_pause(str(a, "id"), e));
}
static json_t *cmd_job_resume(struct qmp_ctx *c, json_t *a, struct vs_error *e)
{
    return ok_or_null(jobs_job_resume(str(a, "id"), e));
}
static json_t *cmd_job_complete(struct qmp_ctx *c, json_t *a, struct vs_error *e)
{
    return ok_or_null(jobs_job_complete(str(a, "id"), e));
}
static json_t *cmd_job_finalize(struct qmp_ctx *c, json_t *a, struct vs_error *e)
{
    return ok_or_null(jobs_job_finalize(str(a, "id"), e));
}
static json_t *cmd_job_dismiss(struct qmp_ctx *c, json_t *a, struct vs_error *e)
{
    return ok_or_null(jobs_job_dismiss(str(a, "id"), e));
}
static json_t *cmd_query_block_jobs(struct qmp_ctx *c, json_t *a, struct vs_error *e)
{
    return jobs_query_block_jobs();
}
static json_t *cmd_query_jobs(struct qmp_ctx *c, json_t *a, struct vs_error *e)
{
    return jobs_query_jobs();
}

const struct qmp_command qmp_job_commands[] = {
    { "drive-mirror", &drive_mirror_schema, cmd_drive_mirror,
      "Mirror a node to a file (created unless mode is existing)." },
    { "blockdev-mirror", &blockdev_mirror_schema, cmd_blockdev_mirror,
      "Mirror a node to another node." },
    { "block-job-cancel", &cancel_schema, cmd_block_job_cancel,
      "Cancel a block job (after READY without force: sync, no pivot)." },
    { "block-job-pause", &device_schema, cmd_block_job_pause, "Pause a block job." },
    { "block-job-resume", &device_schema, cmd_block_job_resume, "Resume a block job." },
    { "block-job-complete", &device_schema, cmd_block_job_complete,
      "Complete a READY mirror: pivot to the target." },
    { "block-job-set-speed", &speed_schema, cmd_block_job_set_speed,
      "Change a block job's speed limit." },
    { "block-job-finalize", &id_schema, cmd_block_job_finalize,
      "Finalize a PENDING job (auto-finalize false)." },
    { "block-job-dismiss", &id_schema, cmd_block_job_dismiss,
      "Dismiss a CONCLUDED job (auto-dismiss false)." },
    { "block-job-change", &change_schema, cmd_block_job_change,
      "Change a running mirror's copy mode (background to write-blocking)." },
    { "job-cancel", &id_schema, cmd_job_cancel, "Cancel a job (forced)." },
    { "job-pause", &id_schema, cmd_job_pause, "Pause a job." },
    { "job-resume", &id_schema, cmd_job_resume, "Resume a job." },
    { "job-complete", &id_schema, cmd_job_complete, "Complete a READY job." },
    { "job-finalize", &id_schema, cmd_job_finalize, "Finalize a PENDING job." },
    { "job-dismiss", &id_schema, cmd_job_dismiss, "Dismiss a CONCLUDED job." },
    { "query-block-jobs", NULL, cmd_query_block_jobs, "List block jobs." },
    { "query-jobs", NULL, cmd_query_jobs, "List jobs." },
    { 0 },
};
