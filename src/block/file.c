/* The `file` and `host_device` drivers: a regular file or a host block
 * device, every read, write, sync and fallocate submitted to the loop's
 * io_uring. Block status comes from SEEK_DATA/SEEK_HOLE on regular files
 * (block devices report everything as data: the only answer that never
 * calls data a hole).
 *
 * With cache.direct=on the node opens the file with O_DIRECT and reports
 * its alignment; requests that are not aligned (an NBD client may send
 * them) go through a second, buffered descriptor, which the kernel keeps
 * coherent with direct I/O on the same file. */
#include "block.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <liburing.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif
#ifndef RAMFS_MAGIC
#define RAMFS_MAGIC 0x858458f6
#endif

#define ZERO_BUF_SIZE (1u << 20)

extern const struct block_driver block_driver_file;
#define INLINE_MAX (64u * 1024) /* in-memory files: larger writes go async */
/* Buffered writes larger than this are copied by the kernel's workers,
 * never inside the loop's submit (submit_rw). */
#define FILE_COPY_OFF_LOOP INLINE_MAX
/* In-memory copies a loop does inline in one turn; those past it in the
 * same turn go to io_uring's workers (IOSQE_ASYNC). Inline is the
 * cheapest way while the loop has a core to itself. A turn that finds
 * many is typically one after the loop waited for a CPU (a loaded
 * machine): its copies then run on several threads at once, and the
 * daemon gets more than one thread's share of the CPU, nearer what a
 * server with a thread per request (nbdkit) gets. Measured on 2 CPUs under load (bench/nbd-serve, 4k
 * randread qd16 against nbdkit, ratio of the median IOPS of 5 rounds):
 * all inline 0.56x, all to the workers 0.63x, four inline per turn
 * 1.06x. */
#define FILE_INLINE_PER_TURN 4

/* The calling loop's thread: whether one more copy fits in this turn's
 * budget (loops are threads, so the count is the thread's). */
static __thread uint64_t budget_turn;
static __thread unsigned budget_used;

static bool inline_budget(struct vs_loop *loop)
{
    uint64_t t = vs_loop_turn(loop);
    if (t != budget_turn) {
        budget_turn = t;
        budget_used = 0;
    }
    return budget_used++ < FILE_INLINE_PER_TURN;
}

struct file_state {
    int fd;          /* O_DIRECT when cache.direct=on */
    int fd_buffered; /* == fd unless O_DIRECT */
    bool is_bdev;
    bool in_memory;  /* tmpfs/ramfs: reads and writes are memcpy, done inline */
    char *filename;
};

/* Shared buffer of zeroes for the slow write-zeroes fallback. */
static const uint8_t *zero_buf(void)
{
    static uint8_t *buf;
    if (!buf) {
        void *p = NULL;
        if (posix_memalign(&p, 4096, ZERO_BUF_SIZE) != 0)
            abort();
        memset(p, 0, ZERO_BUF_SIZE);
        buf = p;
    }
    return buf;
}

bool block_files_nofollow;

static int file_open_common(struct block_node *node, const struct block_node_opts *opts,
                            struct vs_error *err, bool want_bdev)
{
    if (!opts->filename || !opts->filename[0]) {
        vs_error_set(err, VS_ERR_GENERIC, "Parameter 'filename' is missing");
        return -1;
    }
    int flags = (opts->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC |
                (block_files_nofollow ? O_NOFOLLOW : 0);
    int fd = open(opts->filename, flags | (opts->direct ? O_DIRECT : 0));
    if (fd < 0) {
        vs_error_set_errno(err, errno, "Could not open '%s'", opts->filename);
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        vs_error_set_errno(err, errno, "Could not stat '%s'", opts->filename);
        close(fd);
        return -1;
    }
    bool is_bdev = S_ISBLK(st.st_mode);
    if (!is_bdev && !S_ISREG(st.st_mode)) {
        vs_error_set(err, VS_ERR_GENERIC, "'%s' is not a regular file or block device",
                     opts->filename);
        close(fd);
        return -1;
    }
    if (want_bdev && !is_bdev) {
        vs_error_set(err, VS_ERR_GENERIC, "'%s' is not a block device", opts->filename);
        close(fd);
        return -1;
    }
    uint64_t size = (uint64_t)st.st_size;
    uint32_t align = 1;
    if (is_bdev) {
        if (ioctl(fd, BLKGETSIZE64, &size) < 0) {
            vs_error_set_errno(err, errno, "Could not get the size of '%s'", opts->filename);
            close(fd);
            return -1;
        }
        int ssz = 512;
        if (opts->direct && ioctl(fd, BLKSSZGET, &ssz) == 0 && ssz > 0)
            align = (uint32_t)ssz;
    } else if (opts->direct) {
        align = 4096;
    }
    int fd_buffered = fd;
    if (opts->direct) {
        fd_buffered = open(opts->filename, flags);
        if (fd_buffered < 0) {
            vs_error_set_errno(err, errno, "Could not open '%s'", opts->filename);
            close(fd);
            return -1;
        }
    }
    struct file_state *s = vs_zalloc(sizeof(*s));
    s->fd = fd;
    s->fd_buffered = fd_buffered;
    s->is_bdev = is_bdev;
    /* A file in memory never waits for a device: io_uring would hand its
     * buffered writes to a kernel worker thread (tmpfs cannot write
     * without blocking on its page lock), costing two context switches
     * for a memcpy. Doing the copy on the loop is cheaper and blocks
     * nothing that was not already a memcpy. */
    struct statfs sfs;
    s->in_memory = !is_bdev && fstatfs(fd, &sfs) == 0 &&
                   (sfs.f_type == TMPFS_MAGIC || sfs.f_type == RAMFS_MAGIC);
    s->filename = vs_strdup(opts->filename);
    node->opaque = s;
    node->size = size;
    node->align = align;
    return 0;
}

static int file_open(struct block_node *node, const struct block_node_opts *opts,
                     struct vs_error *err)
{
    return file_open_common(node, opts, err, false);
}

static int host_device_open(struct block_node *node, const struct block_node_opts *opts,
                            struct vs_error *err)
{
    return file_open_common(node, opts, err, true);
}

static void file_close(struct block_node *node)
{
    struct file_state *s = node->opaque;
    if (s->fd_buffered != s->fd)
        close(s->fd_buffered);
    close(s->fd);
    free(s->filename);
    free(s);
}

static bool aligned(const struct block_node *node, const struct block_req *req)
{
    uint64_t a = node->align;
    return a <= 1 || ((req->offset + req->done) % a == 0 &&
                      (req->len - req->done) % a == 0 &&
                      ((uintptr_t)req->buf + req->done) % a == 0);
}

/* Write-zeroes is a little state machine: each step is one fallocate (or
 * the slow path's writes) and the completion picks the next step. */
enum zero_step { ZS_PUNCH, ZS_ZERO_RANGE, ZS_PUNCH_THEN_ALLOC, ZS_ALLOC, ZS_WRITE };

static void file_rw_cb(struct vs_completion *c, int res, unsigned flags);
static void file_zero_cb(struct vs_completion *c, int res, unsigned flags);

static void rw_inline(struct block_node *node, struct block_req *req)
{
    struct file_state *s = node->opaque;
    while (req->done < req->len) {
        uint8_t *p = (uint8_t *)req->buf + req->done;
        size_t n = (size_t)(req->len - req->done);
        off_t off = (off_t)(req->offset + req->done);
        ssize_t r = req->op == BLOCK_OP_READ ? pread(s->fd_buffered, p, n, off)
                                             : pwrite(s->fd_buffered, p, n, off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            block_req_driver_done(req, -errno);
            return;
        }
        if (r == 0) {
            if (req->op != BLOCK_OP_READ) {
                block_req_driver_done(req, -EIO);
                return;
            }
            memset(p, 0, n); /* past the end of a file that shrank */
            r = (ssize_t)n;
        }
        req->done += (uint64_t)r;
    }
    block_req_driver_done(req, 0);
}

static void submit_rw(struct block_node *node, struct block_req *req)
{
    struct file_state *s = node->opaque;
    /* Large writes go to io_uring's workers: there the copy into the page
     * cache runs on another core while the loop receives the next payload.
     * Reads stay inline whatever their size (measured faster), except bulk
     * copies (a mirror's), which go to the kernel's workers so that they
     * use the other cores and never stall the loop's guest requests, and
     * the copies past the turn's budget (FILE_INLINE_PER_TURN). */
    bool small = req->op == BLOCK_OP_READ || req->len <= INLINE_MAX;
    bool over_budget = false;
    if (s->in_memory && !(req->flags & (BLOCK_REQ_FUA | BLOCK_REQ_BULK)) && small) {
        if (inline_budget(node->loop)) {
            rw_inline(node, req);
            return;
        }
        over_budget = true;
    }
    int fd = aligned(node, req) ? s->fd : s->fd_buffered;
    req->c.cb = file_rw_cb;
    struct io_uring_sqe *sqe = vs_loop_sqe(node->loop, &req->c);
    if (req->op == BLOCK_OP_READ) {
        io_uring_prep_read(sqe, fd, (uint8_t *)req->buf + req->done,
                           (unsigned)(req->len - req->done), req->offset + req->done);
    } else {
        io_uring_prep_write(sqe, fd, (uint8_t *)req->buf + req->done,
                            (unsigned)(req->len - req->done), req->offset + req->done);
        if (req->flags & BLOCK_REQ_FUA)
            sqe->rw_flags = RWF_DSYNC;
    }
    /* A page-cache copy that io_uring can do without waiting (tmpfs, or
     * cached pages of any file) it does inside the submit, on this loop:
     * for a large write or a bulk copy that is hundreds of microseconds
     * every other client's request waits behind. Sent straight to the
     * kernel's workers, the copy runs on another core and the loop goes
     * on. Direct I/O has no copy to move. */
    if (fd == s->fd_buffered &&
        ((req->flags & BLOCK_REQ_BULK) || over_budget ||
         (req->op != BLOCK_OP_READ && req->len - req->done > FILE_COPY_OFF_LOOP)))
        sqe->flags |= IOSQE_ASYNC;
}

static void file_rw_cb(struct vs_completion *c, int res, unsigned flags)
{
    struct block_req *req = vs_container_of(c, struct block_req, c);
    struct block_node *node = req->node;
    if (res == -EAGAIN || res == -EINTR) {
        submit_rw(node, req);
        return;
    }
    if (res < 0) {
        block_req_driver_done(req, res);
        return;
    }
    if (res == 0 && req->op == BLOCK_OP_READ) {
        /* The file shrank under us: what is past its end reads as zero. */
        memset((uint8_t *)req->buf + req->done, 0, req->len - req->done);
        req->done = req->len;
    } else if (res == 0) {
        block_req_driver_done(req, -EIO);
        return;
    }
    req->done += (uint64_t)res;
    if (req->done < req->len) {
        submit_rw(node, req);
        return;
    }
    block_req_driver_done(req, 0);
}

/* ---- direct reads: from an issuer's loop (backend.c) --------------------
 *
 * The same read as submit_rw's, on the issuer's loop's ring: a pread of
 * the node's fds, which never change while the node is open, and nothing
 * else of the node. On tmpfs it is a memcpy done inline, as on the node's
 * loop; the completion still comes from a bottom half, never inside the
 * submit. */
static void direct_read_submit(struct block_node *node, struct block_req *req);

static void direct_done_bh(struct vs_bh *bh)
{
    struct block_req *req = vs_container_of(bh, struct block_req, bh);
    block_req_direct_done(req, req->ret);
}

static void direct_finish(struct block_req *req, int ret)
{
    req->ret = ret;
    req->bh.fn = direct_done_bh;
    vs_loop_defer(req->direct_loop, &req->bh);
}

static void direct_read_cb(struct vs_completion *c, int res, unsigned flags)
{
    struct block_req *req = vs_container_of(c, struct block_req, c);
    if (res == -EAGAIN || res == -EINTR) {
        direct_read_submit(req->node, req);
        return;
    }
    if (res < 0) {
        block_req_direct_done(req, res);
        return;
    }
    if (res == 0) {
        /* The file shrank under us: what is past its end reads as zero. */
        memset((uint8_t *)req->buf + req->done, 0, req->len - req->done);
        req->done = req->len;
    }
    req->done += (uint64_t)res;
    if (req->done < req->len) {
        direct_read_submit(req->node, req);
        return;
    }
    block_req_direct_done(req, 0);
}

static void direct_read_submit(struct block_node *node, struct block_req *req)
{
    struct file_state *s = node->opaque;
    int fd = aligned(node, req) ? s->fd : s->fd_buffered;
    req->c.cb = direct_read_cb;
    struct io_uring_sqe *sqe = vs_loop_sqe(req->direct_loop, &req->c);
    io_uring_prep_read(sqe, fd, (uint8_t *)req->buf + req->done, (unsigned)(req->len - req->done),
                       req->offset + req->done);
    /* In memory, the copy is done here unless the kernel's workers take
     * it (what is past the turn's budget, and bulk copies). */
    if (fd == s->fd_buffered && s->in_memory)
        sqe->flags |= IOSQE_ASYNC;
}

static void file_read_direct(struct block_node *node, struct block_req *req, struct vs_loop *loop)
{
    struct file_state *s = node->opaque;
    (void)loop; /* req->direct_loop */
    if (s->in_memory && !(req->flags & BLOCK_REQ_BULK) && inline_budget(loop)) {
        while (req->done < req->len) {
            uint8_t *p = (uint8_t *)req->buf + req->done;
            size_t n = (size_t)(req->len - req->done);
            ssize_t r = pread(s->fd_buffered, p, n, (off_t)(req->offset + req->done));
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0) {
                direct_finish(req, -errno);
                return;
            }
            if (r == 0) {
                memset(p, 0, n); /* past the end of a file that shrank */
                r = (ssize_t)n;
            }
            req->done += (uint64_t)r;
        }
        direct_finish(req, 0);
        return;
    }
    direct_read_submit(node, req);
}

static void fsync_cb(struct vs_completion *c, int res, unsigned flags)
{
    struct block_req *req = vs_container_of(c, struct block_req, c);
    block_req_driver_done(req, res < 0 ? res : 0);
}

static void submit_flush(struct block_node *node, struct block_req *req)
{
    struct file_state *s = node->opaque;
    req->c.cb = fsync_cb;
    struct io_uring_sqe *sqe = vs_loop_sqe(node->loop, &req->c);
    io_uring_prep_fsync(sqe, s->fd, IORING_FSYNC_DATASYNC);
}

static void submit_fallocate(struct block_node *node, struct block_req *req, int mode)
{
    struct file_state *s = node->opaque;
    req->c.cb = file_zero_cb;
    struct io_uring_sqe *sqe = vs_loop_sqe(node->loop, &req->c);
    io_uring_prep_fallocate(sqe, s->fd, mode, req->offset, req->len);
}

/* req->done doubles as the step counter until the write fallback, whose
 * progress it then counts; req->status_flags holds the step. */
static void zero_step(struct block_node *node, struct block_req *req, enum zero_step step)
{
    req->status_flags = step;
    switch (step) {
    case ZS_PUNCH:
        submit_fallocate(node, req, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE);
        return;
    case ZS_ZERO_RANGE:
        submit_fallocate(node, req, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE);
        return;
    case ZS_PUNCH_THEN_ALLOC:
        submit_fallocate(node, req, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE);
        return;
    case ZS_ALLOC:
        submit_fallocate(node, req, 0);
        return;
    case ZS_WRITE: {
        struct file_state *s = node->opaque;
        req->c.cb = file_zero_cb;
        uint64_t n = VS_MIN(req->len - req->done, (uint64_t)ZERO_BUF_SIZE);
        struct io_uring_sqe *sqe = vs_loop_sqe(node->loop, &req->c);
        io_uring_prep_write(sqe, s->fd_buffered, zero_buf(), (unsigned)n,
                            req->offset + req->done);
        return;
    }
    }
}

static bool is_unsupported(int res)
{
    return res == -EOPNOTSUPP || res == -ENOTSUP || res == -EINVAL || res == -ENOSYS;
}

static void zero_finish(struct block_node *node, struct block_req *req, int res)
{
    req->status_flags = 0;
    if (res == 0 && (req->flags & BLOCK_REQ_FUA)) {
        req->c.cb = fsync_cb;
        struct file_state *s = node->opaque;
        struct io_uring_sqe *sqe = vs_loop_sqe(node->loop, &req->c);
        io_uring_prep_fsync(sqe, s->fd, IORING_FSYNC_DATASYNC);
        return;
    }
    block_req_driver_done(req, res);
}

static void file_zero_cb(struct vs_completion *c, int res, unsigned flags)
{
    struct block_req *req = vs_container_of(c, struct block_req, c);
    struct block_node *node = req->node;
    struct file_state *s = node->opaque;
    enum zero_step step = (enum zero_step)req->status_flags;

    if (req->op == BLOCK_OP_DISCARD) {
        /* Discard is advisory: a file system that cannot punch is not an
         * error the client needs to see. */
        zero_finish(node, req, is_unsupported(res) ? 0 : VS_MIN(res, 0));
        return;
    }
    switch (step) {
    case ZS_PUNCH:
        if (res == 0) {
            zero_finish(node, req, 0);
            return;
        }
        if (!is_unsupported(res)) {
            zero_finish(node, req, res);
            return;
        }
        zero_step(node, req, ZS_ZERO_RANGE);
        return;
    case ZS_ZERO_RANGE:
        if (res == 0 || !is_unsupported(res)) {
            zero_finish(node, req, res);
            return;
        }
        if (s->is_bdev) {
            goto slow;
        }
        zero_step(node, req, ZS_PUNCH_THEN_ALLOC);
        return;
    case ZS_PUNCH_THEN_ALLOC:
        if (res == 0) {
            zero_step(node, req, ZS_ALLOC);
            return;
        }
        if (!is_unsupported(res)) {
            zero_finish(node, req, res);
            return;
        }
        goto slow;
    case ZS_ALLOC:
        /* The range is zero already; an allocation failure (ENOSPC) is
         * the caller's to know, because they asked for no hole. */
        zero_finish(node, req, VS_MIN(res, 0));
        return;
    case ZS_WRITE:
        if (res == -EAGAIN || res == -EINTR) {
            zero_step(node, req, ZS_WRITE);
            return;
        }
        if (res <= 0) {
            zero_finish(node, req, res < 0 ? res : -EIO);
            return;
        }
        req->done += (uint64_t)res;
        if (req->done < req->len)
            zero_step(node, req, ZS_WRITE);
        else
            zero_finish(node, req, 0);
        return;
    }
    return;
slow:
    if (req->flags & BLOCK_REQ_NO_FALLBACK) {
        zero_finish(node, req, -ENOTSUP);
        return;
    }
    req->done = 0;
    zero_step(node, req, ZS_WRITE);
}

/* SEEK_DATA/SEEK_HOLE cost is not bounded by the range asked about: to find
 * the next hole the kernel walks every page (tmpfs) or extent from the
 * offset to that hole. So block status runs on the worker pool, where it
 * delays no guest request queued on the loop; the loop only pays the
 * hand-off.
 *
 * That is not enough on tmpfs: its llseek holds the inode lock for the
 * whole walk, and every write to the file waits for it — a SEEK_HOLE over
 * a dense 1 GiB file held guest writes for 32 ms (bench/mirror, the
 * mirror's scan under fio). There, data is followed by SEEK_DATA probes
 * one STATUS_PROBE_STEP apart instead, each answered from the page at the
 * probe (a lock hold of a microsecond), for at most STATUS_PROBE_SPAN per
 * request: the first probe that lands in a hole ends the data extent.
 * Holes shorter than a step may be reported as data, which block status
 * allows ("data" is always the safe answer) and which is the mirror's
 * default granularity anyway. */
#define STATUS_PROBE_STEP (64u << 10)
#define STATUS_PROBE_SPAN (64u << 20)
#define STATUS_REQ_SPAN (128ull << 20)  /* data probed per request, at most */

struct status_work {
    struct vs_work w;
    struct block_req *req;
    int fd;
    bool probe;      /* in memory: probe with SEEK_DATA, never SEEK_HOLE */
};

/* Where the data extent starting at `offset` ends, at most `limit`. */
static uint64_t probe_data_end(int fd, uint64_t offset, uint64_t limit)
{
    uint64_t p = (offset & ~(uint64_t)(STATUS_PROBE_STEP - 1)) + STATUS_PROBE_STEP;

    for (; p < limit; p += STATUS_PROBE_STEP) {
        off_t d = lseek(fd, (off_t)p, SEEK_DATA);
        if (d < 0 && errno == ENXIO)
            return p;               /* no data from p on */
        if (d < 0)
            return limit;           /* cannot tell: data */
        if ((uint64_t)d > p)
            return p;               /* p is in a hole */
    }
    return limit;
}

/* The extent at pos (< end): its length and flags. */
static void file_extent(const struct status_work *sw, uint64_t pos, uint64_t end,
                        struct block_extent *e)
{
    off_t data = lseek(sw->fd, (off_t)pos, SEEK_DATA);

    if (data < 0 && errno == ENXIO) {
        /* No data from here to the end of the file. */
        e->len = end - pos;
        e->flags = BLOCK_STATUS_HOLE | BLOCK_STATUS_ZERO;
    } else if (data < 0) {
        /* SEEK_DATA unsupported: everything is data (the safe answer). */
        e->len = end - pos;
        e->flags = 0;
    } else if ((uint64_t)data > pos) {
        e->len = VS_MIN((uint64_t)data, end) - pos;
        e->flags = BLOCK_STATUS_HOLE | BLOCK_STATUS_ZERO;
    } else if (sw->probe) {
        e->len = probe_data_end(sw->fd, pos, VS_MIN(end, pos + STATUS_PROBE_SPAN)) - pos;
        e->flags = 0;
    } else {
        off_t hole = lseek(sw->fd, (off_t)pos, SEEK_HOLE);
        if (hole < 0 || (uint64_t)hole <= pos)
            hole = (off_t)end;
        e->len = VS_MIN((uint64_t)hole, end) - pos;
        e->flags = 0;
    }
}

/* As many extents as the issuer has room for, each adjacent pair with
 * different flags (a data extent cut at STATUS_PROBE_SPAN continues in the
 * next), until STATUS_REQ_SPAN has been probed: one hand-off to the pool
 * answers for hundreds of extents of a sparse file. */
static void status_run(struct vs_work *w)
{
    struct status_work *sw = vs_container_of(w, struct status_work, w);
    struct block_req *req = sw->req;
    struct block_extent *ext = req->extents;
    unsigned max = req->max_extents, n = 0;
    uint64_t pos = req->offset, end = req->offset + req->len, probed = 0;

    while (pos < end && probed < STATUS_REQ_SPAN) {
        struct block_extent e;

        file_extent(sw, pos, end, &e);
        pos += e.len;
        if (sw->probe && e.flags == 0)
            probed += e.len;
        if (n > 0 && ext[n - 1].flags == e.flags) {
            ext[n - 1].len += e.len;
            continue;
        }
        if (n == max)
            break;
        ext[n++] = e;
    }
    req->n_extents = n;
}

static void status_done(struct vs_work *w)
{
    struct status_work *sw = vs_container_of(w, struct status_work, w);
    struct block_req *req = sw->req;

    free(sw);
    block_req_driver_done(req, 0);
}

static void submit_block_status(struct block_node *node, struct block_req *req)
{
    struct file_state *s = node->opaque;
    struct status_work *sw;

    if (s->is_bdev) {
        req->status_len = req->len;
        req->status_flags = 0;
        block_req_driver_done(req, 0);
        return;
    }
    sw = vs_zalloc(sizeof(*sw));
    sw->w.run = status_run;
    sw->w.done = status_done;
    sw->req = req;
    sw->fd = s->fd_buffered;
    sw->probe = s->in_memory;
    vs_loop_offload(node->loop, &sw->w);
}

/* ---- copy offload ---------------------------------------------------- */

struct copy_work {
    struct vs_work w;
    struct block_req *req;
    int src_fd, dst_fd;
    bool in_memory;  /* both files in memory: pread/pwrite through a buffer */
    bool yield;      /* BLOCK_REQ_YIELD */
    int ret;
};

/* A copy that yields asks the scheduler for its longest time slice while
 * it runs (EEVDF's custom slice, Linux 6.12 and later). Its share of the
 * CPU is unchanged, but a thread that wakes with the ordinary, shorter
 * slice -- a loop with a guest's request, the consumer's own thread, an
 * io-wq worker -- preempts it at once, where with equal slices it waited
 * for the copy's slice to run out: up to a scheduler tick (4 ms at
 * HZ=250) for each of the three or four wakeups a guest write takes, on a
 * host whose CPUs the copies keep busy. Lowering the copy's priority
 * instead (SCHED_IDLE, nice) starved it whenever other processes kept the
 * CPUs busy, and a starved copy_file_range can hold what a guest's write
 * waits for (ext4's journal). The policy and nice stay as they were; where
 * the kernel has no custom slices the field is ignored. */
struct copy_sched_attr { /* the kernel's struct sched_attr (glibc has none) */
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
    uint32_t util_min, util_max;
};
#define COPY_SLICE_NS 100000000ull /* the longest the kernel grants */

/* Sets the calling thread's slice (0: the default); false if it could not. */
static bool copy_set_slice(uint64_t slice_ns)
{
    struct copy_sched_attr a = { 0 };

    if (syscall(SYS_sched_getattr, 0, &a, sizeof(a), 0) != 0)
        return false;
    if (a.policy != SCHED_OTHER && a.policy != SCHED_BATCH)
        return false; /* real-time or idle: leave it as the admin set it */
    a.size = sizeof(a);
    a.flags = 0;
    a.runtime = slice_ns;
    return syscall(SYS_sched_setattr, 0, &a, 0) == 0;
}

/* A copy goes to the kernel in steps of COPY_STEP: on a kernel that
 * does not preempt its own code (PREEMPT_NONE, voluntary) a thread that
 * wakes up preempts the copy only when a system call returns. A read or
 * a write of 1 MiB in one call is a quarter of a millisecond (tmpfs, on
 * the project's test VM), a step a few tens of microseconds. Smaller
 * calls cost no measurable CPU (1 GiB through a buffer on tmpfs: 2.0-2.1
 * GB/s of CPU time with steps of 64 KiB to 1 MiB; copy_file_range on
 * ext4: 3.2-3.4 GB/s with steps of 128 KiB to 2 MiB), and a buffer that
 * size stays in the CPU's cache.
 *
 * Between two files in memory copy_file_range is a splice through a pipe,
 * page by page; a plain read into a per-worker buffer and a write out is
 * measurably quicker (bench/mirror: 2 GiB on tmpfs, ~10%). The buffer is
 * the worker thread's own and lives as long as the thread. */
#define COPY_STEP (128u << 10)
static pthread_key_t copy_buf_key;
static pthread_once_t copy_buf_once = PTHREAD_ONCE_INIT;

static void copy_buf_key_init(void)
{
    /* The destructor frees a worker's buffer when its thread exits. */
    if (pthread_key_create(&copy_buf_key, free) != 0)
        abort();
}

static int copy_through_buffer(struct copy_work *cw)
{
    struct block_req *req = cw->req;
    uint64_t off = req->offset, left = req->len;
    char *copy_buf;

    pthread_once(&copy_buf_once, copy_buf_key_init);
    copy_buf = pthread_getspecific(copy_buf_key);
    if (!copy_buf) {
        if (posix_memalign((void **)&copy_buf, 4096, COPY_STEP) != 0)
            return -ENOTSUP; /* the caller falls back to read and write */
        pthread_setspecific(copy_buf_key, copy_buf);
    }
    while (left > 0) {
        size_t want = (size_t)VS_MIN(left, (uint64_t)COPY_STEP);
        ssize_t n = pread(cw->src_fd, copy_buf, want, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EIO; /* the source ended early (shrank) */
        size_t done = 0;
        while (done < (size_t)n) {
            ssize_t w = pwrite(cw->dst_fd, copy_buf + done, (size_t)n - done,
                               (off_t)(off + done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                return w < 0 ? -errno : -EIO;
            done += (size_t)w;
        }
        off += (uint64_t)n;
        left -= (uint64_t)n;
    }
    return 0;
}

static void copy_run_inner(struct copy_work *cw);

static void copy_run(struct vs_work *w)
{
    struct copy_work *cw = vs_container_of(w, struct copy_work, w);
    bool long_slice = cw->yield && copy_set_slice(COPY_SLICE_NS);

    copy_run_inner(cw);
    /* The pool's next work (an open, a state save) runs as usual. */
    if (long_slice)
        copy_set_slice(0);
}

static void copy_run_inner(struct copy_work *cw)
{
    struct block_req *req = cw->req;
    loff_t in = (loff_t)req->offset, out = (loff_t)req->offset;
    uint64_t left = req->len;
    cw->ret = 0;
    if (cw->in_memory) {
        cw->ret = copy_through_buffer(cw);
        return;
    }
    while (left > 0) {
        ssize_t n = copy_file_range(cw->src_fd, &in, cw->dst_fd, &out,
                                    (size_t)VS_MIN(left, (uint64_t)COPY_STEP), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            cw->ret = (e == EXDEV || e == EINVAL || e == EOPNOTSUPP || e == ENOSYS)
                          ? -ENOTSUP : -e;
            return;
        }
        if (n == 0) {
            cw->ret = -EIO; /* the source ended early (shrank) */
            return;
        }
        left -= (uint64_t)n;
    }
}

static void copy_done(struct vs_work *w)
{
    struct copy_work *cw = vs_container_of(w, struct copy_work, w);
    struct block_req *req = cw->req;
    int ret = cw->ret;
    free(cw);
    block_req_driver_done(req, ret);
}

static bool file_can_copy_range(const struct block_node *dst, const struct block_node *src)
{
    if (dst->drv != &block_driver_file || src->drv != &block_driver_file)
        return false;
    const struct file_state *d = dst->opaque, *s = src->opaque;
    return !d->is_bdev && !s->is_bdev;
}

/* copy_file_range blocks (it is the copy), so it runs on the worker pool,
 * where two copies proceed on two cores while the loop serves guests. */
static void submit_copy_range(struct block_node *node, struct block_req *req)
{
    if (!file_can_copy_range(node, req->copy_src)) {
        block_req_driver_done(req, -ENOTSUP);
        return;
    }
    struct copy_work *cw = vs_zalloc(sizeof(*cw));
    cw->w.run = copy_run;
    cw->w.done = copy_done;
    cw->req = req;
    cw->src_fd = ((struct file_state *)req->copy_src->opaque)->fd_buffered;
    cw->dst_fd = ((struct file_state *)node->opaque)->fd_buffered;
    cw->in_memory = ((struct file_state *)req->copy_src->opaque)->in_memory &&
                    ((struct file_state *)node->opaque)->in_memory;
    cw->yield = req->flags & BLOCK_REQ_YIELD;
    vs_loop_offload(node->loop, &cw->w);
}

static void file_submit(struct block_node *node, struct block_req *req)
{
    switch (req->op) {
    case BLOCK_OP_READ:
    case BLOCK_OP_WRITE:
        if (req->len == 0) {
            if (req->op == BLOCK_OP_WRITE && (req->flags & BLOCK_REQ_FUA))
                submit_flush(node, req);
            else
                block_req_driver_done(req, 0);
            return;
        }
        submit_rw(node, req);
        return;
    case BLOCK_OP_FLUSH:
        submit_flush(node, req);
        return;
    case BLOCK_OP_DISCARD:
        if (!node->unmap || req->len == 0) {
            block_req_driver_done(req, 0);
            return;
        }
        req->status_flags = ZS_PUNCH;
        submit_fallocate(node, req, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE);
        return;
    case BLOCK_OP_WRITE_ZEROES:
        if (req->len == 0) {
            block_req_driver_done(req, 0);
            return;
        }
        /* A hole reads as zeroes and is the cheapest answer, when the
         * caller allows it and the node honours discards. */
        if ((req->flags & BLOCK_REQ_MAY_UNMAP) && node->unmap)
            zero_step(node, req, ZS_PUNCH);
        else
            zero_step(node, req, ZS_ZERO_RANGE);
        return;
    case BLOCK_OP_BLOCK_STATUS:
        submit_block_status(node, req);
        return;
    case BLOCK_OP_COPY_RANGE:
        if (req->len == 0) {
            block_req_driver_done(req, 0);
            return;
        }
        submit_copy_range(node, req);
        return;
    }
    block_req_driver_done(req, -EINVAL);
}

/* The system call alone: runs on a worker, so it reads only what never
 * changes after open (fd, is_bdev, filename). */
static int file_truncate_blocking(struct block_node *node, uint64_t size,
                                  struct vs_error *err)
{
    struct file_state *s = node->opaque;
    if (s->is_bdev) {
        uint64_t cur = 0;
        if (ioctl(s->fd, BLKGETSIZE64, &cur) < 0 || cur < size) {
            vs_error_set(err, VS_ERR_GENERIC,
                         "Cannot grow device files beyond their size");
            return -1;
        }
        return 0;
    }
    if (ftruncate(s->fd, (off_t)size) < 0) {
        vs_error_set_errno(err, errno, "Failed to resize '%s'", s->filename);
        return -1;
    }
    return 0;
}

static int file_truncate(struct block_node *node, uint64_t size, struct vs_error *err)
{
    if (file_truncate_blocking(node, size, err) < 0)
        return -1;
    node->size = size;
    return 0;
}

const struct block_driver block_driver_file = {
    .name = "file",
    .open = file_open,
    .close = file_close,
    .submit = file_submit,
    .read_direct = file_read_direct,
    .truncate = file_truncate,
    .truncate_blocking = file_truncate_blocking,
    .opens_path = true,
    .open_waits = true,
    .multi_conn = true,
    .can_copy_range = file_can_copy_range,
};

const struct block_driver block_driver_host_device = {
    .name = "host_device",
    .open = host_device_open,
    .close = file_close,
    .submit = file_submit,
    .read_direct = file_read_direct,
    .truncate = file_truncate,
    .truncate_blocking = file_truncate_blocking,
    .opens_path = true,
    .open_waits = true,
    .multi_conn = true,
};
