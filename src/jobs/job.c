/* The job core: state machine, registry, pause counter, cancellation and the
 * finalisation sequence with its events (see job.h for the model). The
 * tables and error texts are QEMU's, because QMP clients (libvirt, nova's
 * driver, our own volswap-api) match on them; the code is event-loop code:
 * no coroutines, the driver is entered through a bottom half. */
#include "job.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static struct vs_list jobs = VS_LIST_INIT(jobs);

/* Rows: from; columns: to. Order U C R P Y S W D X E N, as job_status. */
const bool job_stt[JOB_STATUS__MAX][JOB_STATUS__MAX] = {
    /*                         U  C  R  P  Y  S  W  D  X  E  N */
    [JOB_STATUS_UNDEFINED] = { 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0 },
    [JOB_STATUS_CREATED]   = { 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1 },
    [JOB_STATUS_RUNNING]   = { 0, 0, 0, 1, 1, 0, 1, 0, 1, 0, 0 },
    [JOB_STATUS_PAUSED]    = { 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0 },
    [JOB_STATUS_READY]     = { 0, 0, 0, 0, 0, 1, 1, 0, 1, 0, 0 },
    [JOB_STATUS_STANDBY]   = { 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0 },
    [JOB_STATUS_WAITING]   = { 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0 },
    [JOB_STATUS_PENDING]   = { 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0 },
    [JOB_STATUS_ABORTING]  = { 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0 },
    [JOB_STATUS_CONCLUDED] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 },
    [JOB_STATUS_NULL]      = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 },
};

/* Which states accept which verb (current QEMU: complete also in standby,
 * change from created to standby). */
const bool job_verb_table[JOB_VERB__MAX][JOB_STATUS__MAX] = {
    /*                        U  C  R  P  Y  S  W  D  X  E  N */
    [JOB_VERB_CANCEL]    = { 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0 },
    [JOB_VERB_PAUSE]     = { 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0 },
    [JOB_VERB_RESUME]    = { 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0 },
    [JOB_VERB_SET_SPEED] = { 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0 },
    [JOB_VERB_COMPLETE]  = { 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0 },
    [JOB_VERB_FINALIZE]  = { 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0 },
    [JOB_VERB_DISMISS]   = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0 },
    [JOB_VERB_CHANGE]    = { 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0 },
};

static const char *const status_names[JOB_STATUS__MAX] = {
    "undefined", "created", "running", "paused", "ready", "standby",
    "waiting", "pending", "aborting", "concluded", "null",
};
static const char *const verb_names[JOB_VERB__MAX] = {
    "cancel", "pause", "resume", "set-speed", "complete", "finalize",
    "dismiss", "change",
};
static const char *const on_error_names[] = {
    "report", "ignore", "enospc", "stop",
};

const char *job_status_str(enum job_status s) { return status_names[s]; }
const char *job_verb_str(enum job_verb v) { return verb_names[v]; }
const char *job_on_error_str(enum job_on_error e) { return on_error_names[e]; }

int job_on_error_parse(const char *s, enum job_on_error *out)
{
    for (size_t i = 0; i < VS_ARRAY_SIZE(on_error_names); i++) {
        if (strcmp(s, on_error_names[i]) == 0) {
            *out = (enum job_on_error)i;
            return 0;
        }
    }
    /* QEMU also has "auto"; it means enospc for a block job. */
    if (strcmp(s, "auto") == 0) {
        *out = JOB_ON_ERROR_ENOSPC;
        return 0;
    }
    return -1;
}

/* ---- registry -------------------------------------------------------- */

struct job *job_get(const char *id)
{
    vs_list_for_each(pos, &jobs) {
        struct job *job = vs_list_entry(pos, struct job, link);
        if (strcmp(job->id, id) == 0)
            return job;
    }
    return NULL;
}

struct job *job_next(struct job *prev)
{
    struct vs_list *n = prev ? prev->link.next : jobs.next;
    return n == &jobs ? NULL : vs_list_entry(n, struct job, link);
}

bool job_id_wellformed(const char *id)
{
    if (!((id[0] >= 'a' && id[0] <= 'z') || (id[0] >= 'A' && id[0] <= 'Z')))
        return false;
    for (const char *p = id + 1; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'))
            return false;
    }
    return true;
}

/* ---- state ----------------------------------------------------------- */

static void job_transition(struct job *job, enum job_status to)
{
    enum job_status from = job->status;
    json_t *data;

    assert(job_stt[from][to]);
    job->status = to;
    if (from == to)
        return;
    char subject[64];
    snprintf(subject, sizeof(subject), "%s %s", job->id, status_names[to]);
    vs_trace("job-status", subject);
    data = json_pack("{s:s, s:s}", "id", job->id, "status", status_names[to]);
    vs_event_emit("JOB_STATUS_CHANGE", data);
}

int job_apply_verb(struct job *job, enum job_verb verb, struct vs_error *err)
{
    if (job_verb_table[verb][job->status])
        return 0;
    vs_error_set(err, VS_ERR_GENERIC,
                 "Job '%s' in state '%s' cannot accept command verb '%s'",
                 job->id, status_names[job->status], verb_names[verb]);
    return -1;
}

bool job_is_cancelled(const struct job *job) { return job->force_cancel; }
bool job_cancel_requested(const struct job *job) { return job->cancelled; }
bool job_should_pause(const struct job *job) { return job->pause_count > 0; }

bool job_is_ready(const struct job *job)
{
    return job->status == JOB_STATUS_READY || job->status == JOB_STATUS_STANDBY;
}

bool job_is_completed(const struct job *job)
{
    switch (job->status) {
    case JOB_STATUS_WAITING:
    case JOB_STATUS_PENDING:
    case JOB_STATUS_ABORTING:
    case JOB_STATUS_CONCLUDED:
    case JOB_STATUS_NULL:
        return true;
    default:
        return false;
    }
}

/* ---- lifetime -------------------------------------------------------- */

void job_ref(struct job *job)
{
    job->refcnt++;
}

void job_unref(struct job *job)
{
    assert(job->refcnt > 0);
    if (--job->refcnt)
        return;
    assert(job->status == JOB_STATUS_NULL);
    if (job->drv->free)
        job->drv->free(job);
    free(job->err);
    free(job->id);
    free(job);
}

static void step_bh(struct vs_bh *bh)
{
    struct job *job = vs_container_of(bh, struct job, step_bh);

    job->step_queued = false;
    if (!job->deferred)
        job->drv->step(job);
    job_unref(job);
}

void job_enter(struct job *job)
{
    if (!job->started || job->deferred || job->step_queued)
        return;
    job->step_queued = true;
    job_ref(job);
    vs_loop_defer(job->loop, &job->step_bh);
}

static void emit_block_job_event(struct job *job, const char *name,
                                 bool with_error)
{
    json_t *data = json_pack("{s:s, s:s, s:I, s:I, s:I}",
                             "type", job->drv->type, "device", job->id,
                             "len", (json_int_t)job->progress_total,
                             "offset", (json_int_t)job->progress_current,
                             "speed", (json_int_t)job->speed);
    if (with_error && job->ret < 0)
        json_object_set_new(data, "error",
                            json_string(job->err ? job->err : strerror(-job->ret)));
    vs_event_emit(name, data);
}

struct job *job_create(const char *id, const struct job_driver *drv,
                       struct vs_loop *loop, int64_t speed,
                       bool auto_finalize, bool auto_dismiss,
                       struct vs_error *err)
{
    struct job *job;

    if (!id) {
        vs_error_set(err, VS_ERR_GENERIC, "An explicit job ID is required");
        return NULL;
    }
    if (!job_id_wellformed(id)) {
        vs_error_set(err, VS_ERR_GENERIC, "Invalid job ID '%s'", id);
        return NULL;
    }
    if (job_get(id)) {
        vs_error_set(err, VS_ERR_GENERIC, "Job ID '%s' already in use", id);
        return NULL;
    }
    job = vs_zalloc(sizeof(*job));
    job->id = vs_strdup(id);
    job->drv = drv;
    job->loop = loop;
    job->refcnt = 1;
    job->status = JOB_STATUS_UNDEFINED;
    /* Not yet started counts as one pause, as in QEMU. */
    job->paused = true;
    job->pause_count = 1;
    job->auto_finalize = auto_finalize;
    job->auto_dismiss = auto_dismiss;
    job->step_bh.fn = step_bh;
    vs_list_init(&job->link);
    job_transition(job, JOB_STATUS_CREATED);
    /* Newest first, as QEMU lists them. */
    vs_list_insert_after(&jobs, &job->link);
    if (speed < 0) {
        vs_error_set(err, VS_ERR_GENERIC,
                     "Parameter 'speed' expects a non-negative value");
        job_early_fail(job);
        return NULL;
    }
    job->speed = speed;
    return job;
}

void job_start(struct job *job)
{
    assert(job->status == JOB_STATUS_CREATED && !job->started);
    job->started = true;
    job->pause_count--;
    job->paused = false;
    job->busy = true;
    job_transition(job, JOB_STATUS_RUNNING);
    job_enter(job);
}

static void job_do_dismiss(struct job *job)
{
    job->busy = false;
    job->paused = false;
    job->deferred = true;
    job_transition(job, JOB_STATUS_NULL);
    /* Out of the registry now, so the id can be used again at once. */
    vs_list_remove(&job->link);
    job_unref(job);
}

void job_early_fail(struct job *job)
{
    assert(job->status == JOB_STATUS_CREATED && !job->started);
    job_do_dismiss(job);
}

/* ---- pause ----------------------------------------------------------- */

bool job_pause_point(struct job *job)
{
    if (job->pause_count > 0 && !job_is_cancelled(job)) {
        if (!job->paused) {
            job->paused_from = job->status;
            job_transition(job, job->status == JOB_STATUS_READY
                                ? JOB_STATUS_STANDBY : JOB_STATUS_PAUSED);
            job->paused = true;
            job->busy = false;
        }
        return true;
    }
    if (job->paused) {
        job->paused = false;
        job_transition(job, job->paused_from);
    }
    return false;
}

void job_pause(struct job *job)
{
    job->pause_count++;
    if (!job->paused)
        job_enter(job);
}

void job_resume(struct job *job)
{
    assert(job->pause_count > 0);
    if (--job->pause_count)
        return;
    job_enter(job);
}

int job_user_pause(struct job *job, struct vs_error *err)
{
    if (job_apply_verb(job, JOB_VERB_PAUSE, err) < 0)
        return -1;
    if (job->user_paused) {
        vs_error_set(err, VS_ERR_GENERIC, "Job is already paused");
        return -1;
    }
    job->user_paused = true;
    job_pause(job);
    return 0;
}

int job_user_resume(struct job *job, struct vs_error *err)
{
    if (!job->user_paused || job->pause_count <= 0) {
        vs_error_set(err, VS_ERR_GENERIC, "Can't resume a job that was not paused");
        return -1;
    }
    if (job_apply_verb(job, JOB_VERB_RESUME, err) < 0)
        return -1;
    /* A block job's user resume clears the error status a stop set. */
    job->iostatus = JOB_IOSTATUS_OK;
    job->user_paused = false;
    job_resume(job);
    return 0;
}

/* ---- finishing ------------------------------------------------------- */

static void job_update_rc(struct job *job)
{
    if (!job->ret && job_is_cancelled(job))
        job->ret = -ECANCELED;
    if (job->ret) {
        if (!job->err)
            job->err = vs_strdup(strerror(-job->ret));
        job_transition(job, JOB_STATUS_ABORTING);
    }
}

static void job_conclude(struct job *job)
{
    job_transition(job, JOB_STATUS_CONCLUDED);
    if (job->auto_dismiss || !job->started)
        job_do_dismiss(job);
}

static void job_finalize_single(struct job *job)
{
    assert(job_is_completed(job));
    job_ref(job);
    job_update_rc(job);
    if (!job->ret) {
        if (job->drv->commit)
            job->drv->commit(job);
    } else if (job->drv->abort) {
        job->drv->abort(job);
    }
    if (job->drv->clean)
        job->drv->clean(job);
    if (job->on_concluded)
        job->on_concluded(job, job->on_concluded_opaque);
    if (job->started && !job->drv->not_block_job) {
        if (job_is_cancelled(job))
            emit_block_job_event(job, "BLOCK_JOB_CANCELLED", false);
        else
            emit_block_job_event(job, "BLOCK_JOB_COMPLETED", true);
    }
    job_conclude(job);
    job_unref(job);
}

static void job_do_finalize(struct job *job)
{
    if (job->ret == 0 && job->drv->prepare) {
        struct vs_error err = { 0 };
        int rc = job->drv->prepare(job, &err);

        if (rc == JOB_PREPARE_UNDER_WAY) {
            job->preparing = true;
            job_ref(job);                /* until job_prepared */
            return;
        }
        if (rc < 0) {
            job->ret = rc;
            if (err.set && !job->err)
                job->err = vs_strdup(err.msg);
        }
    }
    job_finalize_single(job);
}

void job_prepared(struct job *job, int ret, const char *msg)
{
    assert(job->preparing);
    job->preparing = false;
    if (ret < 0) {
        job->ret = ret;
        if (msg && !job->err)
            job->err = vs_strdup(msg);
    }
    job_finalize_single(job);
    job_unref(job);
}

static void job_completed(struct job *job)
{
    assert(!job_is_completed(job));
    job_update_rc(job);
    if (job->ret) {
        job_finalize_single(job);
        return;
    }
    job_transition(job, JOB_STATUS_WAITING);
    job_transition(job, JOB_STATUS_PENDING);
    if (!job->auto_finalize) {
        if (!job->drv->not_block_job)
            vs_event_emit("BLOCK_JOB_PENDING", json_pack("{s:s, s:s}", "type",
                                                         job->drv->type, "id", job->id));
        return;
    }
    job_do_finalize(job);
}

static void exit_bh(struct vs_bh *bh)
{
    struct job *job = vs_container_of(bh, struct job, exit_bh);

    job->exit_queued = false;
    job_completed(job);
    job_unref(job);
}

void job_finished(struct job *job, int ret, const char *msg)
{
    assert(job->started && !job->deferred);
    job->ret = ret;
    if (ret < 0 && msg && !job->err)
        job->err = vs_strdup(msg);
    /* A driver finishing from a paused state (a forced cancel) leaves the
     * pause first, as QEMU's coroutine does on its way out. */
    if (job->paused) {
        job->paused = false;
        job_transition(job, job->paused_from);
    }
    job->deferred = true;
    job->busy = false;
    /* Like QEMU's job_exit, the rest runs from the loop, never inside the
     * driver callback that finished the work. */
    job->exit_bh.fn = exit_bh;
    job->exit_queued = true;
    job_ref(job);
    vs_loop_defer(job->loop, &job->exit_bh);
}

void job_transition_to_ready(struct job *job)
{
    job_transition(job, JOB_STATUS_READY);
    emit_block_job_event(job, "BLOCK_JOB_READY", false);
}

/* ---- cancel, complete, finalize, dismiss ---------------------------- */

static void job_cancel_async(struct job *job, bool force)
{
    force = job->drv->cancel ? job->drv->cancel(job, force) : true;
    if (job->user_paused) {
        job->iostatus = JOB_IOSTATUS_OK;
        job->user_paused = false;
        assert(job->pause_count > 0);
        job->pause_count--;
    }
    /* A soft cancel of a job whose work is already over means nothing. */
    if (force || !job->deferred) {
        job->cancelled = true;
        job->force_cancel |= force;
    }
}

static void job_cancel(struct job *job, bool force)
{
    if (job->status == JOB_STATUS_CONCLUDED) {
        job_do_dismiss(job);
        return;
    }
    /* The outcome is being made final (a pivot being saved): a cancel now
     * comes too late, as one after QEMU's synchronous prepare would. */
    if (job->preparing)
        return;
    job_cancel_async(job, force);
    if (!job->started) {
        job_completed(job);
    } else if (job->deferred) {
        /* Still on its way to job_completed: that will see the flags. */
        if (job->exit_queued)
            return;
        if (job_is_cancelled(job))
            job_finalize_single(job);
    } else {
        job_enter(job);
    }
}

int job_user_cancel(struct job *job, bool force, struct vs_error *err)
{
    if (job_apply_verb(job, JOB_VERB_CANCEL, err) < 0)
        return -1;
    job_cancel(job, force);
    return 0;
}

int job_complete(struct job *job, struct vs_error *err)
{
    if (job_apply_verb(job, JOB_VERB_COMPLETE, err) < 0)
        return -1;
    if (job_cancel_requested(job) || !job->drv->complete) {
        vs_error_set(err, VS_ERR_GENERIC,
                     "The active block job '%s' cannot be completed", job->id);
        return -1;
    }
    return job->drv->complete(job, err);
}

int job_finalize(struct job *job, struct vs_error *err)
{
    if (job_apply_verb(job, JOB_VERB_FINALIZE, err) < 0)
        return -1;
    if (!job->preparing)             /* a second finalize while under way */
        job_do_finalize(job);
    return 0;
}

int job_dismiss(struct job *job, struct vs_error *err)
{
    if (job_apply_verb(job, JOB_VERB_DISMISS, err) < 0)
        return -1;
    job_do_dismiss(job);
    return 0;
}

int job_set_speed(struct job *job, int64_t speed, struct vs_error *err)
{
    if (job_apply_verb(job, JOB_VERB_SET_SPEED, err) < 0)
        return -1;
    if (speed < 0) {
        vs_error_set(err, VS_ERR_GENERIC,
                     "Parameter 'speed' expects a non-negative value");
        return -1;
    }
    job->speed = speed;
    if (job->drv->set_speed)
        job->drv->set_speed(job);
    /* A job sleeping on the old limit re-evaluates it now. */
    job_enter(job);
    return 0;
}

int job_change(struct job *job, json_t *opts, struct vs_error *err)
{
    if (job_apply_verb(job, JOB_VERB_CHANGE, err) < 0)
        return -1;
    if (job->drv->change)
        return job->drv->change(job, opts, err);
    return 0;
}

void job_cancel_all(void)
{
    struct job *job = job_next(NULL);

    while (job) {
        struct job *next = job_next(job);

        if (job->status == JOB_STATUS_CONCLUDED)
            job_do_dismiss(job);
        else if (job_verb_table[JOB_VERB_CANCEL][job->status])
            job_cancel(job, true);
        job = next;
    }
}

/* ---- errors and progress --------------------------------------------- */

enum job_error_action job_error_action(struct job *job,
                                       enum job_on_error on_err,
                                       bool is_read, int error)
{
    static const char *const action_names[] = { "report", "ignore", "stop" };
    enum job_error_action action;
    json_t *data;

    switch (on_err) {
    case JOB_ON_ERROR_ENOSPC:
        action = error == ENOSPC ? JOB_ERROR_ACTION_STOP : JOB_ERROR_ACTION_REPORT;
        break;
    case JOB_ON_ERROR_STOP:
        action = JOB_ERROR_ACTION_STOP;
        break;
    case JOB_ON_ERROR_IGNORE:
        action = JOB_ERROR_ACTION_IGNORE;
        break;
    default:
        action = JOB_ERROR_ACTION_REPORT;
        break;
    }
    data = json_pack("{s:s, s:s, s:s}", "device", job->id,
                     "operation", is_read ? "read" : "write",
                     "action", action_names[action]);
    vs_event_emit("BLOCK_JOB_ERROR", data);
    if (action == JOB_ERROR_ACTION_STOP) {
        /* The pause is the user's to lift: block-job-resume. */
        if (!job->user_paused) {
            job_pause(job);
            job->user_paused = true;
        }
        if (job->iostatus == JOB_IOSTATUS_OK)
            job->iostatus = error == ENOSPC ? JOB_IOSTATUS_NOSPACE
                                            : JOB_IOSTATUS_FAILED;
    }
    return action;
}

void job_progress_update(struct job *job, uint64_t done)
{
    job->progress_current += done;
}

void job_progress_set_remaining(struct job *job, uint64_t remaining)
{
    job->progress_total = job->progress_current + remaining;
}

/* ---- queries --------------------------------------------------------- */

static const char *iostatus_str(enum job_iostatus s)
{
    return s == JOB_IOSTATUS_OK ? "ok" : s == JOB_IOSTATUS_NOSPACE ? "nospace"
                                                                   : "failed";
}

json_t *job_query_block(struct job *job)
{
    json_t *info = json_pack(
        "{s:s, s:s, s:I, s:I, s:b, s:b, s:I, s:s, s:b, s:s, s:b, s:b}",
        "type", job->drv->type, "device", job->id,
        "len", (json_int_t)job->progress_total,
        "offset", (json_int_t)job->progress_current,
        "busy", job->busy, "paused", job->pause_count > 0,
        "speed", (json_int_t)job->speed,
        "io-status", iostatus_str(job->iostatus),
        "ready", job_is_ready(job),
        "status", status_names[job->status],
        "auto-finalize", job->auto_finalize,
        "auto-dismiss", job->auto_dismiss);

    if (job->ret)
        json_object_set_new(info, "error",
                            json_string(job->err ? job->err : strerror(-job->ret)));
    if (job->drv->query)
        job->drv->query(job, info);
    return info;
}

json_t *job_query(struct job *job)
{
    json_t *info = json_pack("{s:s, s:s, s:s, s:I, s:I}",
                             "id", job->id, "type", job->drv->type,
                             "status", status_names[job->status],
                             "current-progress", (json_int_t)job->progress_current,
                             "total-progress", (json_int_t)job->progress_total);

    if (job->ret)
        json_object_set_new(info, "error",
                            json_string(job->err ? job->err : strerror(-job->ret)));
    return info;
}
