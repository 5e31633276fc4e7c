/* blockdev-create's job for the file driver: makes (or remakes) a raw image
 * file of a given size, as QEMU's file-posix create does, so that a script
 * can create a mirror target and then blockdev-add and blockdev-mirror into
 * it (libvirt's block copy does this).
 *
 * QEMU's sequence, kept here: open with O_CREAT (an existing file is
 * reused), clear it to 0 bytes, then size it with the preallocation asked:
 * off (sparse), falloc (posix_fallocate) or full (zeroes written). nocow
 * sets FS_NOCOW_FL where the file system has it and is ignored elsewhere;
 * extent-size-hint is accepted and ignored (it is an XFS hint).
 *
 * The work is open(2), ftruncate and possibly gigabytes of writes, so it
 * runs on the worker pool; the loop goes on. It is a job of type "create",
 * not a block job: JOB_STATUS_CHANGE only (created, running before the
 * reply; then waiting, pending, concluded, or aborting, concluded), never
 * listed by query-block-jobs, and it waits for job-dismiss (QEMU creates it
 * with auto-dismiss off). Its progress is 0/1, then 1/1. */
#include "jobs.h"
#include "job.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct create_job {
    struct vs_work w;
    struct job *job;
    char *filename;
    uint64_t size;
    enum create_prealloc prealloc;
    bool nocow;
    bool running;          /* the work is on the pool */
    int ret;
    char msg[512];
};

static int write_zeroes(int fd, uint64_t size, char *msg, size_t msglen)
{
    enum { CHUNK = 1 << 20 };
    char *buf = calloc(1, CHUNK);
    if (!buf) {
        snprintf(msg, msglen, "Could not write zeros for preallocation: out of memory");
        return -ENOMEM;
    }
    int ret = 0;
    for (uint64_t off = 0; off < size && ret == 0;) {
        size_t n = (size_t)VS_MIN((uint64_t)CHUNK, size - off);
        ssize_t w = pwrite(fd, buf, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            ret = w < 0 ? -errno : -EIO;
            snprintf(msg, msglen, "Could not write zeros for preallocation: %s",
                     strerror(-ret));
        }
        off += w > 0 ? (uint64_t)w : 0;
    }
    free(buf);
    if (ret == 0 && fsync(fd) < 0) {
        ret = -errno;
        snprintf(msg, msglen, "Could not flush file: %s", strerror(errno));
    }
    return ret;
}

static void create_run(struct vs_work *w)
{
    struct create_job *c = vs_container_of(w, struct create_job, w);
    int fd = open(c->filename,
                  O_RDWR | O_CREAT | O_CLOEXEC | (block_files_nofollow ? O_NOFOLLOW : 0), 0644);
    if (fd < 0) {
        c->ret = -errno;
        snprintf(c->msg, sizeof(c->msg), "Could not create '%s': %s", c->filename,
                 strerror(errno));
        return;
    }
    if (c->nocow) {
        int attr = 0;
        /* best effort, as QEMU: only some file systems know the flag */
        if (ioctl(fd, FS_IOC_GETFLAGS, &attr) == 0) {
            attr |= FS_NOCOW_FL;
            (void)ioctl(fd, FS_IOC_SETFLAGS, &attr);
        }
    }
    c->ret = 0;
    if (ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t)c->size) < 0) {
        c->ret = -errno;
        snprintf(c->msg, sizeof(c->msg), "Could not resize file: %s", strerror(-c->ret));
    } else if (c->prealloc == CREATE_PREALLOC_FALLOC && c->size > 0) {
        int e = posix_fallocate(fd, 0, (off_t)c->size);
        if (e) {
            c->ret = -e;
            snprintf(c->msg, sizeof(c->msg), "Could not preallocate new data: %s", strerror(e));
        }
    } else if (c->prealloc == CREATE_PREALLOC_FULL) {
        c->ret = write_zeroes(fd, c->size, c->msg, sizeof(c->msg));
    }
    close(fd);
}

static void create_done(struct vs_work *w)
{
    struct create_job *c = vs_container_of(w, struct create_job, w);
    c->running = false;
    job_progress_update(c->job, 1);
    job_finished(c->job, c->ret, c->ret < 0 ? c->msg : NULL);
    job_unref(c->job);
}

static void create_step(struct job *job)
{
    struct create_job *c = job->opaque;
    if (c->running || job_is_completed(job) || job->deferred)
        return;
    if (job_cancel_requested(job)) {     /* before the work began */
        job_finished(job, -ECANCELED, NULL);
        return;
    }
    c->running = true;
    job_ref(job);            /* until create_done */
    c->w.run = create_run;
    c->w.done = create_done;
    vs_loop_offload(job->loop, &c->w);
}

/* A cancel takes effect when the file work is done (it cannot be stopped
 * half-way without leaving a half-sized file); the job then ends cancelled. */
static bool create_cancel(struct job *job, bool force)
{
    return true;
}

static void create_free(struct job *job)
{
    struct create_job *c = job->opaque;
    free(c->filename);
    free(c);
}

static const struct job_driver create_driver = {
    .type = "create",
    .not_block_job = true,
    .step = create_step,
    .cancel = create_cancel,
    .free = create_free,
};

int jobs_blockdev_create(struct vs_loop *loop, const char *job_id, const char *filename,
                         uint64_t size, enum create_prealloc prealloc, bool nocow,
                         struct vs_error *err)
{
    struct job *job = job_create(job_id, &create_driver, loop, 0, true, false, err);
    if (!job)
        return -1;
    struct create_job *c = vs_zalloc(sizeof(*c));
    c->job = job;
    c->filename = vs_strdup(filename);
    c->size = size;
    c->prealloc = prealloc;
    c->nocow = nocow;
    job->opaque = c;
    job->progress_total = 1;
    job_start(job);
    return 0;
}
