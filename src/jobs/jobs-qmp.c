/* The QMP face of the job core: one function per job command, doing what
 * QEMU's blockdev.c and job-qmp.c do around the core — find the job (with
 * the command family's own not-found error), the extra checks some commands
 * make (a soft block-job-cancel of a paused job is refused), then the verb. */
#include "jobs.h"
#include "job.h"

#include <string.h>

static struct job *find_block_job(const char *device, struct vs_error *err)
{
    struct job *job = job_get(device);

    if (!job || job->drv->not_block_job) {
        vs_error_set(err, VS_ERR_DEVICE_NOT_ACTIVE,
                     "Block job '%s' not found", device);
        return NULL;
    }
    return job;
}

static struct job *find_job(const char *id, struct vs_error *err)
{
    struct job *job = job_get(id);

    if (!job)
        vs_error_set(err, VS_ERR_GENERIC, "Job not found");
    return job;
}

int jobs_block_job_cancel(const char *device, bool force, struct vs_error *err)
{
    struct job *job = find_block_job(device, err);

    if (!job)
        return -1;
    if (job->user_paused && !force) {
        vs_error_set(err, VS_ERR_GENERIC,
                     "The block job for device '%s' is currently paused",
                     device);
        return -1;
    }
    return job_user_cancel(job, force, err);
}

int jobs_block_job_pause(const char *device, struct vs_error *err)
{
    struct job *job = find_block_job(device, err);
    return job ? job_user_pause(job, err) : -1;
}

int jobs_block_job_resume(const char *device, struct vs_error *err)
{
    struct job *job = find_block_job(device, err);
    return job ? job_user_resume(job, err) : -1;
}

int jobs_block_job_complete(const char *device, struct vs_error *err)
{
    struct job *job = find_block_job(device, err);
    return job ? job_complete(job, err) : -1;
}

int jobs_block_job_set_speed(const char *device, int64_t speed,
                             struct vs_error *err)
{
    struct job *job = find_block_job(device, err);
    return job ? job_set_speed(job, speed, err) : -1;
}

int jobs_block_job_finalize(const char *id, struct vs_error *err)
{
    struct job *job = find_block_job(id, err);
    return job ? job_finalize(job, err) : -1;
}

int jobs_block_job_dismiss(const char *id, struct vs_error *err)
{
    struct job *job = find_block_job(id, err);
    return job ? job_dismiss(job, err) : -1;
}

int jobs_block_job_change(const char *id, const char *type,
                          const char *copy_mode, struct vs_error *err)
{
    struct job *job = find_block_job(id, err);
    json_t *opts;
    int ret;

    if (!job)
        return -1;
    if (strcmp(type, job->drv->type) != 0) {
        vs_error_set(err, VS_ERR_GENERIC,
                     "Job '%s' is of type '%s', not '%s'", id, job->drv->type,
                     type);
        return -1;
    }
    opts = json_object();
    if (copy_mode)
        json_object_set_new(opts, "copy-mode", json_string(copy_mode));
    ret = job_change(job, opts, err);
    json_decref(opts);
    return ret;
}

int jobs_job_cancel(const char *id, struct vs_error *err)
{
    struct job *job = find_job(id, err);
    /* job-cancel is always a forced cancel. */
    return job ? job_user_cancel(job, true, err) : -1;
}

int jobs_job_pause(const char *id, struct vs_error *err)
{
    struct job *job = find_job(id, err);
    return job ? job_user_pause(job, err) : -1;
}

int jobs_job_resume(const char *id, struct vs_error *err)
{
    struct job *job = find_job(id, err);
    return job ? job_user_resume(job, err) : -1;
}

int jobs_job_complete(const char *id, struct vs_error *err)
{
    struct job *job = find_job(id, err);
    return job ? job_complete(job, err) : -1;
}

int jobs_job_finalize(const char *id, struct vs_error *err)
{
    struct job *job = find_job(id, err);
    return job ? job_finalize(job, err) : -1;
}

int jobs_job_dismiss(const char *id, struct vs_error *err)
{
    struct job *job = find_job(id, err);
    return job ? job_dismiss(job, err) : -1;
}

json_t *jobs_query_block_jobs(void)
{
    json_t *arr = json_array();

    for (struct job *job = job_next(NULL); job; job = job_next(job))
        if (!job->drv->not_block_job)
            json_array_append_new(arr, job_query_block(job));
    return arr;
}

json_t *jobs_query_jobs(void)
{
    json_t *arr = json_array();

    for (struct job *job = job_next(NULL); job; job = job_next(job))
        json_array_append_new(arr, job_query(job));
    return arr;
}

void jobs_cancel_all(void)
{
    job_cancel_all();
}

unsigned jobs_count(void)
{
    unsigned n = 0;

    for (struct job *job = job_next(NULL); job; job = job_next(job))
        n++;
    return n;
}

bool jobs_node_busy(const struct block_node *node)
{
    return node->jobs > 0;
}
