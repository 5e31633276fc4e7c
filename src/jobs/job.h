/* The generic job core: the pieces every long-running block job shares — the
 * state machine (QEMU's job.c transition table and verb table, same states,
 * same verbs, same error texts), the registry by id, the pause counter, the
 * finalisation sequence (waiting, pending, prepare, commit/abort, concluded,
 * null) and the events it raises, the error policy and the progress numbers
 * that query-jobs / query-block-jobs report.
 *
 * A job driver (the mirror) is an event-loop state machine, not a coroutine.
 * The core enters it through driver->step() from a bottom half whenever
 * something may have changed (a verb, a completion, a timer); the driver
 * calls job_pause_point() where QEMU's coroutine would, and job_finished()
 * when its work is over (what returning from QEMU's run() means). Everything
 * after that — the transitions and the events in QEMU's order — is here, so
 * a driver cannot get the order wrong. */
#ifndef VOLSWAP_JOBS_JOB_H
#define VOLSWAP_JOBS_JOB_H

#include "../common/common.h"
#include <jansson.h>

enum job_status {
    JOB_STATUS_UNDEFINED,
    JOB_STATUS_CREATED,
    JOB_STATUS_RUNNING,
    JOB_STATUS_PAUSED,
    JOB_STATUS_READY,
    JOB_STATUS_STANDBY,
    JOB_STATUS_WAITING,
    JOB_STATUS_PENDING,
    JOB_STATUS_ABORTING,
    JOB_STATUS_CONCLUDED,
    JOB_STATUS_NULL,
    JOB_STATUS__MAX,
};

enum job_verb {
    JOB_VERB_CANCEL,
    JOB_VERB_PAUSE,
    JOB_VERB_RESUME,
    JOB_VERB_SET_SPEED,
    JOB_VERB_COMPLETE,
    JOB_VERB_FINALIZE,
    JOB_VERB_DISMISS,
    JOB_VERB_CHANGE,
    JOB_VERB__MAX,
};

/* BlockdevOnError and BlockErrorAction. */
enum job_on_error {
    JOB_ON_ERROR_REPORT,
    JOB_ON_ERROR_IGNORE,
    JOB_ON_ERROR_ENOSPC,
    JOB_ON_ERROR_STOP,
};
enum job_error_action {
    JOB_ERROR_ACTION_REPORT,
    JOB_ERROR_ACTION_IGNORE,
    JOB_ERROR_ACTION_STOP,
};
enum job_iostatus {
    JOB_IOSTATUS_OK,
    JOB_IOSTATUS_FAILED,
    JOB_IOSTATUS_NOSPACE,
};

extern const bool job_stt[JOB_STATUS__MAX][JOB_STATUS__MAX];
extern const bool job_verb_table[JOB_VERB__MAX][JOB_STATUS__MAX];

struct job;

struct job_driver {
    const char *type;   /* JobType: "mirror", "create" */
    /* Not a block job (blockdev-create's): no BLOCK_JOB_* events, not in
     * query-block-jobs, unknown to the block-job-* verbs. */
    bool not_block_job;
    /* Called from a bottom half whenever the job is entered. Required. */
    void (*step)(struct job *job);
    /* Cancel requested: returns the effective force (the mirror makes any
     * cancel before READY a forced one, as QEMU). NULL: always forced. */
    bool (*cancel)(struct job *job, bool force);
    /* block-job-complete in READY; NULL: the job cannot be completed. */
    int (*complete)(struct job *job, struct vs_error *err);
    /* block-job-change; `opts` is the driver's JSON options object. */
    int (*change)(struct job *job, json_t *opts, struct vs_error *err);
    /* The speed changed (already stored in job->speed). */
    void (*set_speed)(struct job *job);
    /* Finalisation, as QEMU: prepare may fail (the job then aborts);
     * then exactly one of commit / abort; then clean. All optional.
     * prepare may also answer JOB_PREPARE_UNDER_WAY: its outcome needs I/O
     * (the mirror's pivot is final only once the state file naming the
     * target is on disk), and the driver calls job_prepared() with it. The
     * job stays pending meanwhile; no event is sent before the outcome. */
    int (*prepare)(struct job *job, struct vs_error *err);
    void (*commit)(struct job *job);
    void (*abort)(struct job *job);
    void (*clean)(struct job *job);
    /* Adds driver fields to a query-block-jobs entry. */
    void (*query)(struct job *job, json_t *info);
    /* Frees the driver's state (the job is gone). */
    void (*free)(struct job *job);
};

struct job {
    char *id;
    const struct job_driver *drv;
    struct vs_loop *loop;
    enum job_status status;
    unsigned refcnt;
    /* "device" in the block-job events and queries: the job id, as QEMU
     * reports it. */

    int pause_count;       /* > 0: the job should pause */
    bool user_paused;      /* one of those pauses is the user's */
    bool paused;           /* actually paused at a pause point */
    bool busy;             /* the driver is doing work (query "busy") */
    bool started;
    bool cancelled;        /* cancel requested */
    bool force_cancel;     /* ... and forced */
    bool deferred;         /* work over, finalisation under way */
    bool preparing;        /* prepare answered JOB_PREPARE_UNDER_WAY */
    bool auto_finalize;
    bool auto_dismiss;
    enum job_status paused_from;

    int64_t speed;
    enum job_iostatus iostatus;
    uint64_t progress_current;
    uint64_t progress_total;

    int ret;               /* 0 or -errno once finished */
    char *err;             /* message when ret < 0 */

    struct vs_bh step_bh;
    bool step_queued;
    struct vs_bh exit_bh;
    bool exit_queued;
    struct vs_list link;   /* registry */

    /* Optional: called after the job concluded (events sent), before it is
     * dismissed; for internal users (tests, the daemon's state file). */
    void (*on_concluded)(struct job *job, void *opaque);
    void *on_concluded_opaque;
    void *opaque;          /* the driver's */
};

const char *job_status_str(enum job_status s);
const char *job_verb_str(enum job_verb v);
const char *job_on_error_str(enum job_on_error e);
int job_on_error_parse(const char *s, enum job_on_error *out);

/* Registry. */
struct job *job_get(const char *id);
struct job *job_next(struct job *prev);
/* QEMU's id_wellformed: a letter, then letters, digits, '-', '.', '_'. */
bool job_id_wellformed(const char *id);

/* Creates the job in CREATED (emits JOB_STATUS_CHANGE created). On a bad
 * id, an id in use or a negative speed returns NULL (for the speed, after
 * created and null, as QEMU). */
struct job *job_create(const char *id, const struct job_driver *drv,
                       struct vs_loop *loop, int64_t speed,
                       bool auto_finalize, bool auto_dismiss,
                       struct vs_error *err);
/* CREATED -> RUNNING and first entry of the driver. */
void job_start(struct job *job);
/* A job that never started is dropped (created -> null). */
void job_early_fail(struct job *job);
void job_ref(struct job *job);
void job_unref(struct job *job);

/* For drivers. */
void job_enter(struct job *job);
/* True when the job must stop issuing work now (it is paused); the driver
 * returns from step() and is entered again on resume. */
bool job_pause_point(struct job *job);
void job_transition_to_ready(struct job *job);
/* The driver's work is over: 0 or -errno, with an optional message. */
void job_finished(struct job *job, int ret, const char *msg);
#define JOB_PREPARE_UNDER_WAY 1
/* The outcome of a prepare that was under way: 0 or -errno with a message.
 * Finalisation goes on from here (commit or abort, clean, the events). */
void job_prepared(struct job *job, int ret, const char *msg);
bool job_is_cancelled(const struct job *job);      /* forced */
bool job_cancel_requested(const struct job *job);  /* any */
bool job_is_ready(const struct job *job);
bool job_is_completed(const struct job *job);
bool job_should_pause(const struct job *job);
void job_progress_update(struct job *job, uint64_t done);
void job_progress_set_remaining(struct job *job, uint64_t remaining);
/* Applies the error policy: emits BLOCK_JOB_ERROR, and for a stop pauses the
 * job as the user would and sets io-status. `error` is a positive errno. */
enum job_error_action job_error_action(struct job *job,
                                       enum job_on_error on_err,
                                       bool is_read, int error);

/* Verbs, with QEMU's checks and texts (the QMP wrappers are in jobs.h). */
int job_apply_verb(struct job *job, enum job_verb verb, struct vs_error *err);
int job_user_pause(struct job *job, struct vs_error *err);
int job_user_resume(struct job *job, struct vs_error *err);
int job_user_cancel(struct job *job, bool force, struct vs_error *err);
int job_complete(struct job *job, struct vs_error *err);
int job_finalize(struct job *job, struct vs_error *err);
int job_dismiss(struct job *job, struct vs_error *err);
int job_set_speed(struct job *job, int64_t speed, struct vs_error *err);
int job_change(struct job *job, json_t *opts, struct vs_error *err);
/* Internal (non-user) pause and resume, counted. */
void job_pause(struct job *job);
void job_resume(struct job *job);

/* query-block-jobs / query-jobs entries. */
json_t *job_query_block(struct job *job);
json_t *job_query(struct job *job);

/* Force-cancels every job (daemon exit); the caller runs the loop until
 * job_next(NULL) is NULL. */
void job_cancel_all(void);

#endif
