/* Unit tests of the job core (src/jobs/job.c, jobs-qmp.c): every verb in
 * every state, every transition the core makes, with the exact event
 * sequences and error texts qemu-storage-daemon 7.2 produced for the same
 * steps (recorded by hand against a real blockdev-mirror). A scripted driver
 * stands in for the mirror: it works for a few steps, becomes ready, and
 * finishes on complete or cancel like the mirror does.
 * One scenario per invocation: "test-job NAME". */
#include "../../../src/jobs/job.h"
#include "../../../src/jobs/jobs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"

/* ---- event capture --------------------------------------------------- */

static char events[8192];

/* Records "NAME" or "NAME:status" for JOB_STATUS_CHANGE, "NAME{error}" for
 * a completion with an error, separated by spaces. */
static void sink(const char *name, void *data, uint64_t ns)
{
    json_t *d = data;
    const char *st = json_string_value(json_object_get(d, "status"));
    char one[256];

    (void)ns;
    if (strcmp(name, "JOB_STATUS_CHANGE") == 0)
        snprintf(one, sizeof(one), "%s", st);
    else if (json_object_get(d, "error"))
        snprintf(one, sizeof(one), "%s{%s}", name,
                 json_string_value(json_object_get(d, "error")));
    else if (strcmp(name, "BLOCK_JOB_ERROR") == 0)
        snprintf(one, sizeof(one), "%s{%s,%s}", name,
                 json_string_value(json_object_get(d, "operation")),
                 json_string_value(json_object_get(d, "action")));
    else
        snprintf(one, sizeof(one), "%s", name);
    if (events[0])
        strncat(events, " ", sizeof(events) - strlen(events) - 1);
    strncat(events, one, sizeof(events) - strlen(events) - 1);
    json_decref(d);
}

static const char *take_events(void)
{
    static char copy[sizeof(events)];
    strcpy(copy, events);
    events[0] = 0;
    return copy;
}

/* ---- the scripted driver --------------------------------------------- */

struct fake {
    int work;              /* steps until ready */
    bool should_complete;
    int finish_ret;        /* result when finishing (0 or -errno) */
    int prepare_ret;
    int commits, aborts, cleans, frees;
};

static struct fake fk;
static struct vs_loop *loop;

static void fake_step(struct job *job)
{
    if (job_is_cancelled(job)) {
        job_finished(job, 0, NULL);
        return;
    }
    if (job_pause_point(job))
        return;
    if (fk.finish_ret) {
        job_finished(job, fk.finish_ret, "injected failure");
        return;
    }
    if (fk.work > 0) {
        fk.work--;
        job_progress_update(job, 100);
        job_progress_set_remaining(job, (uint64_t)fk.work * 100);
        job_enter(job);
        return;
    }
    if (!job_is_ready(job)) {
        job_transition_to_ready(job);
        return;
    }
    if (fk.should_complete || job_cancel_requested(job))
        job_finished(job, 0, NULL);
}

/* Like the mirror: any cancel before READY is forced. */
static bool fake_cancel(struct job *job, bool force)
{
    return force || !job_is_ready(job);
}

static int fake_complete(struct job *job, struct vs_error *err)
{
    fk.should_complete = true;
    job_enter(job);
    return 0;
}

static int fake_prepare(struct job *job, struct vs_error *err)
{
    if (fk.prepare_ret)
        vs_error_set(err, VS_ERR_GENERIC, "pivot failed");
    return fk.prepare_ret;
}

static void fake_commit(struct job *job) { fk.commits++; }
static void fake_abort(struct job *job) { fk.aborts++; }
static void fake_clean(struct job *job) { fk.cleans++; }
static void fake_free(struct job *job) { fk.frees++; }

static const struct job_driver fake_drv = {
    .type = "mirror",
    .step = fake_step,
    .cancel = fake_cancel,
    .complete = fake_complete,
    .prepare = fake_prepare,
    .commit = fake_commit,
    .abort = fake_abort,
    .clean = fake_clean,
    .free = fake_free,
};

static void run(void)
{
    for (int i = 0; i < 50; i++)
        vs_loop_run_once(loop, 0);
}

static struct job *new_job(const char *id, bool af, bool ad)
{
    struct vs_error err = { 0 };
    struct job *job = job_create(id, &fake_drv, loop, 0, af, ad, &err);

    CHECK(job && !err.set);
    return job;
}

/* A started job, run until READY. */
static struct job *ready_job(const char *id, bool af, bool ad)
{
    struct job *job = new_job(id, af, ad);

    fk.work = 3;
    job_start(job);
    run();
    CHECK(job->status == JOB_STATUS_READY);
    take_events();
    return job;
}

static void expect_err(int rc, struct vs_error *err, enum vs_errclass cls,
                       const char *msg)
{
    CHECK(rc < 0);
    CHECK(err->set);
    CHECK(err->cls == cls);
    CHECK_STR(err->msg, msg);
    memset(err, 0, sizeof(*err));
}

/* ---- the tables themselves ------------------------------------------- */

/* Every (from, to) pair of the transition table against QEMU's list. */
static void test_transition_table(void)
{
    static const char *const allowed[] = {
        "undefined>created",
        "created>running", "created>aborting", "created>null",
        "running>paused", "running>ready", "running>waiting", "running>aborting",
        "paused>running",
        "ready>standby", "ready>waiting", "ready>aborting",
        "standby>ready",
        "waiting>pending", "waiting>aborting",
        "pending>aborting", "pending>concluded",
        "aborting>aborting", "aborting>concluded",
        "concluded>null",
    };
    int n = 0;

    for (int a = 0; a < JOB_STATUS__MAX; a++) {
        for (int b = 0; b < JOB_STATUS__MAX; b++) {
            char name[64];
            bool want = false;

            snprintf(name, sizeof(name), "%s>%s", job_status_str(a), job_status_str(b));
            for (size_t i = 0; i < VS_ARRAY_SIZE(allowed); i++)
                want |= strcmp(allowed[i], name) == 0;
            if (job_stt[a][b] != want) {
                fprintf(stderr, "transition %s: table %d, QEMU %d\n", name,
                        job_stt[a][b], want);
                exit(1);
            }
            n += want;
        }
    }
    CHECK(n == (int)VS_ARRAY_SIZE(allowed));
}

/* Every verb in every state: accepted exactly where QEMU's verb table says,
 * refused with QEMU's text elsewhere. */
static void test_verb_table(void)
{
    static const char *const accepts[JOB_VERB__MAX] = {
        [JOB_VERB_CANCEL] = "created running paused ready standby waiting pending",
        [JOB_VERB_PAUSE] = "created running paused ready standby",
        [JOB_VERB_RESUME] = "created running paused ready standby",
        [JOB_VERB_SET_SPEED] = "created running paused ready standby",
        [JOB_VERB_COMPLETE] = "ready standby",
        [JOB_VERB_FINALIZE] = "pending",
        [JOB_VERB_DISMISS] = "concluded",
        [JOB_VERB_CHANGE] = "created running paused ready standby",
    };
    struct job job = { .id = (char *)"j0" };

    for (int v = 0; v < JOB_VERB__MAX; v++) {
        for (int s = 0; s < JOB_STATUS__MAX; s++) {
            struct vs_error err = { 0 };
            char want_msg[256], padded[128];
            bool want;
            int rc;

            snprintf(padded, sizeof(padded), " %s ", accepts[v]);
            snprintf(want_msg, sizeof(want_msg), " %s ", job_status_str(s));
            want = strstr(padded, want_msg) != NULL;
            job.status = s;
            rc = job_apply_verb(&job, v, &err);
            if (want) {
                CHECK(rc == 0 && !err.set);
            } else {
                snprintf(want_msg, sizeof(want_msg),
                         "Job 'j0' in state '%s' cannot accept command verb '%s'",
                         job_status_str(s), job_verb_str(v));
                expect_err(rc, &err, VS_ERR_GENERIC, want_msg);
            }
        }
    }
}

/* ---- flows ----------------------------------------------------------- */

static void test_complete_auto(void)
{
    struct vs_error err = { 0 };
    struct job *job = new_job("j1", true, true);

    CHECK_STR(take_events(), "created");
    fk.work = 3;
    job_start(job);
    run();
    CHECK_STR(take_events(), "running ready BLOCK_JOB_READY");
    CHECK(job->progress_current == 300 && job->progress_total == 300);
    CHECK(jobs_block_job_complete("j1", &err) == 0);
    run();
    CHECK_STR(take_events(),
              "waiting pending BLOCK_JOB_COMPLETED concluded null");
    CHECK(fk.commits == 1 && fk.aborts == 0 && fk.cleans == 1 && fk.frees == 1);
    CHECK(job_get("j1") == NULL);
}

static void test_complete_manual_finalize_dismiss(void)
{
    struct vs_error err = { 0 };
    struct job *job = ready_job("j1", false, false);

    CHECK(jobs_block_job_complete("j1", &err) == 0);
    run();
    CHECK_STR(take_events(), "waiting pending BLOCK_JOB_PENDING");
    CHECK(job->status == JOB_STATUS_PENDING && fk.commits == 0);
    expect_err(jobs_block_job_dismiss("j1", &err), &err, VS_ERR_GENERIC,
               "Job 'j1' in state 'pending' cannot accept command verb 'dismiss'");
    CHECK(jobs_block_job_finalize("j1", &err) == 0);
    CHECK_STR(take_events(), "BLOCK_JOB_COMPLETED concluded");
    CHECK(fk.commits == 1);
    CHECK(job_get("j1") == job && job->status == JOB_STATUS_CONCLUDED);
    CHECK(jobs_job_dismiss("j1", &err) == 0);
    CHECK_STR(take_events(), "null");
    CHECK(job_get("j1") == NULL && fk.frees == 1);
}

static void test_cancel_before_ready(void)
{
    struct vs_error err = { 0 };
    struct job *job = new_job("j1", true, true);

    fk.work = 1000;
    job_start(job);
    vs_loop_run_once(loop, 0);
    CHECK(job->status == JOB_STATUS_RUNNING);
    /* Soft cancel before READY is forced (the driver says so). */
    CHECK(jobs_block_job_cancel("j1", false, &err) == 0);
    run();
    CHECK_STR(take_events(),
              "created running aborting BLOCK_JOB_CANCELLED concluded null");
    CHECK(fk.aborts == 1 && fk.commits == 0);
}

static void test_soft_cancel_after_ready(void)
{
    struct vs_error err = { 0 };

    ready_job("j1", true, true);
    CHECK(jobs_block_job_cancel("j1", false, &err) == 0);
    run();
    /* QEMU: a soft cancel of a READY mirror completes, without pivot. */
    CHECK_STR(take_events(),
              "waiting pending BLOCK_JOB_COMPLETED concluded null");
    CHECK(fk.commits == 1);
}

static void test_force_cancel_after_ready(void)
{
    struct vs_error err = { 0 };

    ready_job("j1", true, true);
    CHECK(jobs_block_job_cancel("j1", true, &err) == 0);
    run();
    CHECK_STR(take_events(), "aborting BLOCK_JOB_CANCELLED concluded null");
    CHECK(fk.aborts == 1);
}

static void test_job_cancel_is_forced(void)
{
    struct vs_error err = { 0 };

    ready_job("j1", true, true);
    CHECK(jobs_job_cancel("j1", &err) == 0);
    run();
    CHECK_STR(take_events(), "aborting BLOCK_JOB_CANCELLED concluded null");
}

static void test_pause_resume_running(void)
{
    struct vs_error err = { 0 };
    struct job *job = new_job("j1", true, true);

    fk.work = 1000;
    job_start(job);
    vs_loop_run_once(loop, 0);
    take_events();
    CHECK(jobs_block_job_pause("j1", &err) == 0);
    run();
    CHECK_STR(take_events(), "paused");
    CHECK(job->paused && !job->busy);
    int left = fk.work;
    run();
    CHECK(fk.work == left); /* no work while paused */
    expect_err(jobs_block_job_pause("j1", &err), &err, VS_ERR_GENERIC,
               "Job is already paused");
    expect_err(jobs_block_job_cancel("j1", false, &err), &err, VS_ERR_GENERIC,
               "The block job for device 'j1' is currently paused");
    CHECK(jobs_block_job_resume("j1", &err) == 0);
    vs_loop_run_once(loop, 0);
    CHECK_STR(take_events(), "running");
    expect_err(jobs_block_job_resume("j1", &err), &err, VS_ERR_GENERIC,
               "Can't resume a job that was not paused");
    CHECK(jobs_job_cancel("j1", &err) == 0);
    run();
    take_events();
}

static void test_pause_resume_ready_is_standby(void)
{
    struct vs_error err = { 0 };
    struct job *job = ready_job("j1", true, true);

    CHECK(jobs_job_pause("j1", &err) == 0);
    run();
    CHECK_STR(take_events(), "standby");
    CHECK(job_is_ready(job));
    /* Complete is accepted in standby (QEMU since 6.0). */
    CHECK(jobs_block_job_complete("j1", &err) == 0);
    run();
    CHECK_STR(take_events(), "");
    CHECK(jobs_job_resume("j1", &err) == 0);
    run();
    CHECK_STR(take_events(),
              "ready waiting pending BLOCK_JOB_COMPLETED concluded null");
}

/* A forced cancel of a paused job resumes it first, as QEMU. */
static void test_force_cancel_paused(void)
{
    struct vs_error err = { 0 };
    struct job *job = new_job("j1", true, true);

    fk.work = 1000;
    job_start(job);
    vs_loop_run_once(loop, 0);
    CHECK(jobs_block_job_pause("j1", &err) == 0);
    run();
    take_events();
    CHECK(jobs_block_job_cancel("j1", true, &err) == 0);
    run();
    CHECK_STR(take_events(),
              "running aborting BLOCK_JOB_CANCELLED concluded null");
}

static void test_error_finish(void)
{
    struct vs_error err = { 0 };
    struct job *job = new_job("j1", true, false);

    fk.work = 2;
    job_start(job);
    run();
    take_events();
    fk.finish_ret = -EIO;
    job_enter(job);
    run();
    CHECK_STR(take_events(),
              "aborting BLOCK_JOB_COMPLETED{injected failure} concluded");
    json_t *q = jobs_query_jobs();
    CHECK_STR(json_string_value(json_object_get(json_array_get(q, 0), "error")),
              "injected failure");
    json_decref(q);
    CHECK(jobs_block_job_dismiss("j1", &err) == 0);
    CHECK_STR(take_events(), "null");
}

static void test_prepare_failure_aborts(void)
{
    struct vs_error err = { 0 };

    ready_job("j1", true, true);
    fk.prepare_ret = -EIO;
    CHECK(jobs_block_job_complete("j1", &err) == 0);
    run();
    CHECK_STR(take_events(),
              "waiting pending aborting BLOCK_JOB_COMPLETED{pivot failed} concluded null");
    CHECK(fk.aborts == 1 && fk.commits == 0);
}

static void test_cancel_pending(void)
{
    struct vs_error err = { 0 };

    ready_job("j1", false, true);
    CHECK(jobs_block_job_complete("j1", &err) == 0);
    run();
    take_events();
    CHECK(jobs_block_job_cancel("j1", false, &err) == 0);
    run();
    CHECK_STR(take_events(), "aborting BLOCK_JOB_CANCELLED concluded null");
}

/* A job that never started leaves no BLOCK_JOB_* event. */
static void test_cancel_created(void)
{
    struct vs_error err = { 0 };

    new_job("j1", true, true);
    CHECK(jobs_block_job_cancel("j1", false, &err) == 0);
    CHECK_STR(take_events(), "created aborting concluded null");
    CHECK(job_get("j1") == NULL);
}

static void test_create_errors(void)
{
    struct vs_error err = { 0 };

    CHECK(!job_create("a b", &fake_drv, loop, 0, true, true, &err));
    CHECK_STR(err.msg, "Invalid job ID 'a b'");
    memset(&err, 0, sizeof(err));
    CHECK(!job_create("", &fake_drv, loop, 0, true, true, &err));
    CHECK_STR(err.msg, "Invalid job ID ''");
    memset(&err, 0, sizeof(err));
    CHECK(!job_create("1a", &fake_drv, loop, 0, true, true, &err));
    memset(&err, 0, sizeof(err));
    CHECK_STR(take_events(), "");
    /* Negative speed: created then null, as qemu-storage-daemon does. */
    CHECK(!job_create("j1", &fake_drv, loop, -1, true, true, &err));
    CHECK_STR(err.msg, "Parameter 'speed' expects a non-negative value");
    CHECK_STR(take_events(), "created null");
    memset(&err, 0, sizeof(err));
    struct job *job = new_job("j1", true, true);
    CHECK(!job_create("j1", &fake_drv, loop, 0, true, true, &err));
    CHECK_STR(err.msg, "Job ID 'j1' already in use");
    job_early_fail(job);
    CHECK(job_get("j1") == NULL);
}

static void test_not_found(void)
{
    struct vs_error err = { 0 };

    expect_err(jobs_block_job_pause("nope", &err), &err,
               VS_ERR_DEVICE_NOT_ACTIVE, "Block job 'nope' not found");
    expect_err(jobs_block_job_cancel("nope", true, &err), &err,
               VS_ERR_DEVICE_NOT_ACTIVE, "Block job 'nope' not found");
    expect_err(jobs_block_job_complete("nope", &err), &err,
               VS_ERR_DEVICE_NOT_ACTIVE, "Block job 'nope' not found");
    expect_err(jobs_block_job_set_speed("nope", 1, &err), &err,
               VS_ERR_DEVICE_NOT_ACTIVE, "Block job 'nope' not found");
    expect_err(jobs_block_job_resume("nope", &err), &err,
               VS_ERR_DEVICE_NOT_ACTIVE, "Block job 'nope' not found");
    expect_err(jobs_block_job_finalize("nope", &err), &err,
               VS_ERR_DEVICE_NOT_ACTIVE, "Block job 'nope' not found");
    expect_err(jobs_block_job_dismiss("nope", &err), &err,
               VS_ERR_DEVICE_NOT_ACTIVE, "Block job 'nope' not found");
    expect_err(jobs_block_job_change("nope", "mirror", "write-blocking", &err),
               &err, VS_ERR_DEVICE_NOT_ACTIVE, "Block job 'nope' not found");
    expect_err(jobs_job_pause("nope", &err), &err, VS_ERR_GENERIC, "Job not found");
    expect_err(jobs_job_resume("nope", &err), &err, VS_ERR_GENERIC, "Job not found");
    expect_err(jobs_job_cancel("nope", &err), &err, VS_ERR_GENERIC, "Job not found");
    expect_err(jobs_job_complete("nope", &err), &err, VS_ERR_GENERIC, "Job not found");
    expect_err(jobs_job_finalize("nope", &err), &err, VS_ERR_GENERIC, "Job not found");
    expect_err(jobs_job_dismiss("nope", &err), &err, VS_ERR_GENERIC, "Job not found");
}

static void test_set_speed(void)
{
    struct vs_error err = { 0 };
    struct job *job = ready_job("j1", false, true);

    expect_err(jobs_block_job_set_speed("j1", -5, &err), &err, VS_ERR_GENERIC,
               "Parameter 'speed' expects a non-negative value");
    CHECK(jobs_block_job_set_speed("j1", 1 << 20, &err) == 0);
    CHECK(job->speed == 1 << 20);
    CHECK(jobs_block_job_complete("j1", &err) == 0);
    run();
    expect_err(jobs_block_job_set_speed("j1", 0, &err), &err, VS_ERR_GENERIC,
               "Job 'j1' in state 'pending' cannot accept command verb 'set-speed'");
    CHECK(jobs_block_job_finalize("j1", &err) == 0);
    take_events();
}

static void test_complete_refused_before_ready(void)
{
    struct vs_error err = { 0 };
    struct job *job = new_job("j1", true, true);

    fk.work = 1000;
    job_start(job);
    vs_loop_run_once(loop, 0);
    expect_err(jobs_block_job_complete("j1", &err), &err, VS_ERR_GENERIC,
               "Job 'j1' in state 'running' cannot accept command verb 'complete'");
    expect_err(jobs_block_job_finalize("j1", &err), &err, VS_ERR_GENERIC,
               "Job 'j1' in state 'running' cannot accept command verb 'finalize'");
    jobs_job_cancel("j1", &err);
    run();
    take_events();
}

/* on-error policies: stop pauses with io-status, resume clears it. */
static void test_error_action_stop(void)
{
    struct vs_error err = { 0 };
    struct job *job = ready_job("j1", true, true);

    CHECK(job_error_action(job, JOB_ON_ERROR_STOP, false, EIO) == JOB_ERROR_ACTION_STOP);
    run();
    CHECK_STR(take_events(), "BLOCK_JOB_ERROR{write,stop} standby");
    CHECK(job->user_paused && job->iostatus == JOB_IOSTATUS_FAILED);
    json_t *q = jobs_query_block_jobs();
    CHECK_STR(json_string_value(json_object_get(json_array_get(q, 0), "io-status")), "failed");
    CHECK(json_is_true(json_object_get(json_array_get(q, 0), "paused")));
    json_decref(q);
    CHECK(jobs_block_job_resume("j1", &err) == 0);
    run();
    CHECK(job->iostatus == JOB_IOSTATUS_OK);
    CHECK_STR(take_events(), "ready");
    CHECK(job_error_action(job, JOB_ON_ERROR_ENOSPC, true, EIO) == JOB_ERROR_ACTION_REPORT);
    CHECK(job_error_action(job, JOB_ON_ERROR_IGNORE, true, EIO) == JOB_ERROR_ACTION_IGNORE);
    CHECK(job_error_action(job, JOB_ON_ERROR_REPORT, true, ENOSPC) == JOB_ERROR_ACTION_REPORT);
    CHECK_STR(take_events(), "BLOCK_JOB_ERROR{read,report} BLOCK_JOB_ERROR{read,ignore} "
              "BLOCK_JOB_ERROR{read,report}");
    CHECK(job_error_action(job, JOB_ON_ERROR_ENOSPC, false, ENOSPC) == JOB_ERROR_ACTION_STOP);
    CHECK(job->iostatus == JOB_IOSTATUS_NOSPACE);
    run();
    jobs_job_cancel("j1", &err);
    run();
    take_events();
}

/* query-block-jobs and query-jobs carry QEMU's fields. */
static void test_query_fields(void)
{
    struct vs_error err = { 0 };
    static const char *const block_fields[] = {
        "type", "device", "len", "offset", "busy", "paused", "speed",
        "io-status", "ready", "status", "auto-finalize", "auto-dismiss",
    };
    static const char *const job_fields[] = {
        "id", "type", "status", "current-progress", "total-progress",
    };

    ready_job("j1", false, true);
    json_t *b = jobs_query_block_jobs(), *j = jobs_query_jobs();
    CHECK(json_array_size(b) == 1 && json_array_size(j) == 1);
    json_t *bi = json_array_get(b, 0), *ji = json_array_get(j, 0);
    for (size_t i = 0; i < VS_ARRAY_SIZE(block_fields); i++)
        CHECK(json_object_get(bi, block_fields[i]));
    for (size_t i = 0; i < VS_ARRAY_SIZE(job_fields); i++)
        CHECK(json_object_get(ji, job_fields[i]));
    CHECK(!json_object_get(bi, "error"));
    CHECK_STR(json_string_value(json_object_get(bi, "status")), "ready");
    CHECK(json_is_true(json_object_get(bi, "ready")));
    CHECK(json_integer_value(json_object_get(bi, "len")) == 300);
    CHECK(json_is_false(json_object_get(bi, "auto-finalize")));
    json_decref(b);
    json_decref(j);
    jobs_job_cancel("j1", &err);
    run();
    take_events();
}

/* Dismissed ids can be reused at once; several jobs list newest first. */
static void test_registry(void)
{
    struct vs_error err = { 0 };

    ready_job("j1", true, true);
    ready_job("j2", true, true);
    json_t *q = jobs_query_jobs();
    CHECK_STR(json_string_value(json_object_get(json_array_get(q, 0), "id")), "j2");
    json_decref(q);
    CHECK(jobs_count() == 2);
    jobs_cancel_all();
    run();
    CHECK(jobs_count() == 0);
    take_events();
    ready_job("j1", true, true);
    jobs_job_cancel("j1", &err);
    run();
    take_events();
}

static const struct {
    const char *name;
    void (*fn)(void);
} tests[] = {
    { "transition-table", test_transition_table },
    { "verb-table", test_verb_table },
    { "complete-auto", test_complete_auto },
    { "complete-manual-finalize-dismiss", test_complete_manual_finalize_dismiss },
    { "cancel-before-ready", test_cancel_before_ready },
    { "soft-cancel-after-ready", test_soft_cancel_after_ready },
    { "force-cancel-after-ready", test_force_cancel_after_ready },
    { "job-cancel-is-forced", test_job_cancel_is_forced },
    { "pause-resume-running", test_pause_resume_running },
    { "pause-resume-ready-is-standby", test_pause_resume_ready_is_standby },
    { "force-cancel-paused", test_force_cancel_paused },
    { "error-finish", test_error_finish },
    { "prepare-failure-aborts", test_prepare_failure_aborts },
    { "cancel-pending", test_cancel_pending },
    { "cancel-created", test_cancel_created },
    { "create-errors", test_create_errors },
    { "not-found", test_not_found },
    { "set-speed", test_set_speed },
    { "complete-refused-before-ready", test_complete_refused_before_ready },
    { "error-action-stop", test_error_action_stop },
    { "query-fields", test_query_fields },
    { "registry", test_registry },
};

int main(int argc, char **argv)
{
    int ran = 0;

    loop = vs_loop_new(64, 0);
    CHECK(loop);
    vs_event_set_sink(sink);
    for (size_t i = 0; i < VS_ARRAY_SIZE(tests); i++) {
        if (argc > 1 && strcmp(argv[1], tests[i].name) != 0)
            continue;
        memset(&fk, 0, sizeof(fk));
        tests[i].fn();
        CHECK(jobs_count() == 0);
        ran++;
    }
    vs_loop_free(loop);
    if (!ran) {
        fprintf(stderr, "no test named %s\n", argc > 1 ? argv[1] : "");
        return 1;
    }
    return 0;
}
