/* The public face of src/jobs: what the QMP monitor wraps into commands.
 * Every function takes typed arguments (already schema-checked by the
 * monitor's command table) and a struct vs_error *, and returns -1 / NULL
 * with the error filled exactly as QEMU words and classes it:
 *
 *  - block-job-* commands find the job by "device" (its id) and answer
 *    DeviceNotActive "Block job 'x' not found";
 *  - job-* commands answer GenericError "Job not found" (QEMU's job-qmp.c);
 *  - a verb the job's state does not accept answers GenericError
 *    "Job 'x' in state 'y' cannot accept command verb 'z'".
 *
 * Events (JOB_STATUS_CHANGE, BLOCK_JOB_*) go out through vs_event_emit(). */
#ifndef VOLSWAP_JOBS_H
#define VOLSWAP_JOBS_H

#include "../block/block.h"
#include <jansson.h>

/* ---- job verbs (jobs-qmp.c) ------------------------------------------ */

/* block-job-cancel: force is false when absent. */
int jobs_block_job_cancel(const char *device, bool force, struct vs_error *err);
int jobs_block_job_pause(const char *device, struct vs_error *err);
int jobs_block_job_resume(const char *device, struct vs_error *err);
int jobs_block_job_complete(const char *device, struct vs_error *err);
int jobs_block_job_set_speed(const char *device, int64_t speed,
                             struct vs_error *err);
int jobs_block_job_finalize(const char *id, struct vs_error *err);
int jobs_block_job_dismiss(const char *id, struct vs_error *err);
/* block-job-change {id, type: "mirror", copy-mode}. */
int jobs_block_job_change(const char *id, const char *type,
                          const char *copy_mode, struct vs_error *err);

/* job-cancel (always forced, as QEMU), job-pause, job-resume,
 * job-complete, job-finalize, job-dismiss. */
int jobs_job_cancel(const char *id, struct vs_error *err);
int jobs_job_pause(const char *id, struct vs_error *err);
int jobs_job_resume(const char *id, struct vs_error *err);
int jobs_job_complete(const char *id, struct vs_error *err);
int jobs_job_finalize(const char *id, struct vs_error *err);
int jobs_job_dismiss(const char *id, struct vs_error *err);

/* query-block-jobs / query-jobs: new JSON arrays (caller owns them). */
json_t *jobs_query_block_jobs(void);
json_t *jobs_query_jobs(void);

/* Whether a node is used by a running job (blockdev-del refuses then). */
bool jobs_node_busy(const struct block_node *node);
/* Called by a pivot once the target is flushed, when the daemon keeps a
 * state file: it saves the state on the worker pool. The guests are not
 * held meanwhile: they write to the target, and every write and flush is
 * also applied to the source until the save is done (mirror-pivot.c), so a
 * restart before it serves the source with every acknowledged write, one
 * after it the target. Until the target is flushed, saves name the source
 * (block_node.saved_as). A failed save undoes the pivot (the job fails).
 * `done` must run after every callback of an earlier save, and before the
 * next save takes its snapshot: the undo must be in it. NULL: nothing to
 * save. */
extern void (*jobs_state_save_async)(vs_saved_fn *done, void *opaque);

/* Daemon exit: force-cancels every job; run the loop until jobs_count()
 * is 0. */
void jobs_cancel_all(void);
unsigned jobs_count(void);

/* ---- mirror (mirror.c) ----------------------------------------------- */

/* Arguments of drive-mirror and blockdev-mirror, QEMU's names in comments.
 * Strings are the QMP enum values; NULL means absent (QEMU's default). */
struct mirror_args {
    const char *job_id;          /* job-id; absent: the device name */
    const char *device;          /* device: the source node */
    const char *target;          /* target: node name (blockdev-mirror) or
                                  * file name (drive-mirror) */
    const char *format;          /* drive-mirror format: "raw" only */
    const char *node_name;       /* drive-mirror node-name for the target */
    const char *replaces;        /* replaces: node switched at the pivot */
    const char *sync;            /* sync: "full" | "top" | "none" (required) */
    const char *mode;            /* drive-mirror mode: "absolute-paths"
                                  * (default, creates the file) | "existing" */
    int64_t speed;               /* speed, bytes/s; 0 unlimited */
    int64_t granularity;         /* granularity; 0: 64 KiB */
    int64_t buf_size;            /* buf-size; 0: 16 MiB */
    const char *on_source_error; /* "report" (default) | "ignore" | "enospc" | "stop" */
    const char *on_target_error;
    bool has_unmap, unmap;       /* unmap, default true */
    const char *copy_mode;       /* copy-mode: "background" (default) | "write-blocking" */
    bool has_auto_finalize, auto_finalize; /* default true */
    bool has_auto_dismiss, auto_dismiss;   /* default true */
};

int jobs_drive_mirror(struct vs_loop *loop, const struct mirror_args *args,
                      struct vs_error *err);
/* drive-mirror with the target file created and opened on the worker pool
 * (a path on a dead NFS server must not stop the loop). Refusals found
 * before any file is touched: -1 and err. Otherwise 0, and `done` is
 * called later on the loop, never inside, with the target node the job
 * opened or NULL and the error. The strings of `args` must stay valid
 * until then. */
typedef void jobs_mirror_started_fn(struct block_node *tgt, const struct vs_error *err,
                                    void *opaque);
int jobs_drive_mirror_async(struct vs_loop *loop, const struct mirror_args *args,
                            jobs_mirror_started_fn *done, void *opaque,
                            struct vs_error *err);
/* blockdev-create of a raw image file (create.c): starts job JOB_ID, which
 * creates FILENAME of SIZE bytes on the worker pool with the preallocation
 * asked. Fails only for the job id (ill-formed or in use). */
enum create_prealloc { CREATE_PREALLOC_OFF, CREATE_PREALLOC_FALLOC, CREATE_PREALLOC_FULL };
int jobs_blockdev_create(struct vs_loop *loop, const char *job_id, const char *filename,
                         uint64_t size, enum create_prealloc prealloc, bool nocow,
                         struct vs_error *err);

int jobs_blockdev_mirror(struct vs_loop *loop, const struct mirror_args *args,
                         struct vs_error *err);

#endif
