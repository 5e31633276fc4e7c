/* Unit tests of src/block: requests, hooks, quiesce/drain/replace/release
 * (the pivot primitives), and the file driver's block status and zeroing
 * on a real sparse file. One scenario per test; its name is argv[1]. */
#include "block.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../check.h"
#define MiB (1024u * 1024)

static struct vs_loop *loop;

struct treq {
    struct block_req r;
    bool done;
    int ret;
    int seq;
};
static int seq_counter;

static void treq_cb(struct block_req *r, int ret)
{
    struct treq *t = vs_container_of(r, struct treq, r);
    t->done = true;
    t->ret = ret;
    t->seq = ++seq_counter;
}

static void prep(struct treq *t, enum block_op op, uint64_t off, uint64_t len, void *buf)
{
    memset(t, 0, sizeof(*t));
    t->r.op = op;
    t->r.offset = off;
    t->r.len = len;
    t->r.buf = buf;
    t->r.cb = treq_cb;
}

static void wait_done(struct treq *t)
{
    for (int i = 0; i < 10000 && !t->done; i++)
        vs_loop_run_once(loop, 10 * 1000000);
    CHECK(t->done);
}

static struct block_node *mem_node(const char *name, uint64_t size)
{
    struct vs_error err = { 0 };
    struct block_node_opts o = { .driver = "memory", .node_name = name, .size = size,
                                 .unmap = true };
    struct block_node *n = block_node_open(loop, &o, &err);
    CHECK(n);
    return n;
}

static void memory_read_write_round_trip(void)
{
    struct block_node *n = mem_node("m0", MiB);
    char w[4096], r[4096];
    memset(w, 0x5a, sizeof(w));
    struct treq t;
    prep(&t, BLOCK_OP_WRITE, 8192, sizeof(w), w);
    block_node_submit(n, &t.r);
    wait_done(&t);
    CHECK(t.ret == 0);
    prep(&t, BLOCK_OP_READ, 8192, sizeof(r), r);
    block_node_submit(n, &t.r);
    wait_done(&t);
    CHECK(t.ret == 0 && memcmp(w, r, sizeof(r)) == 0);
}

static void callback_never_runs_inside_submit(void)
{
    struct block_node *n = mem_node("m0", MiB);
    char b[512];
    struct treq t;
    prep(&t, BLOCK_OP_READ, 0, sizeof(b), b);
    block_node_submit(n, &t.r);
    CHECK(!t.done); /* memory completes at once, yet the cb waits a turn */
    wait_done(&t);
    prep(&t, BLOCK_OP_READ, MiB, 1, b); /* invalid: also deferred */
    block_node_submit(n, &t.r);
    CHECK(!t.done);
    wait_done(&t);
    CHECK(t.ret == -EINVAL);
}

static void out_of_range_is_einval(void)
{
    struct block_node *n = mem_node("m0", MiB);
    char b[16];
    struct treq t;
    prep(&t, BLOCK_OP_WRITE, MiB - 8, 16, b);
    block_node_submit(n, &t.r);
    wait_done(&t);
    CHECK(t.ret == -EINVAL);
    prep(&t, BLOCK_OP_READ, UINT64_MAX - 4, 16, b); /* offset + len overflows */
    block_node_submit(n, &t.r);
    wait_done(&t);
    CHECK(t.ret == -EINVAL);
}

static void read_only_node_rejects_writes(void)
{
    struct vs_error err = { 0 };
    struct block_node_opts o = { .driver = "memory", .node_name = "ro", .size = MiB,
                                 .read_only = true };
    struct block_node *n = block_node_open(loop, &o, &err);
    CHECK(n);
    char b[16] = { 0 };
    struct treq t;
    prep(&t, BLOCK_OP_WRITE, 0, 16, b);
    block_node_submit(n, &t.r);
    wait_done(&t);
    CHECK(t.ret == -EPERM);
}

/* The mirror's invariant 1 rests on this: an `after` hook sees a write
 * only once the driver has completed it. */
static uint64_t after_seen_completed;
static bool after_hook(struct block_hook *h, struct block_req *req, int ret)
{
    after_seen_completed = block_memory_completed(req->node);
    return false;
}

static void after_hook_sees_write_completed(void)
{
    struct block_node *n = mem_node("m0", MiB);
    struct block_hook h = { .after = after_hook };
    block_hook_add(n, &h);
    block_memory_hold(n, true);
    char b[512] = { 1 };
    struct treq t;
    prep(&t, BLOCK_OP_WRITE, 0, sizeof(b), b);
    block_node_submit(n, &t.r);
    for (int i = 0; i < 5; i++)
        vs_loop_run_once(loop, 0);
    CHECK(after_seen_completed == 0 && !t.done);
    block_memory_hold(n, false);
    wait_done(&t);
    CHECK(after_seen_completed == 1);
    block_hook_remove(n, &h);
}

/* A backend's request from another loop (an NBD client's): it is the
 * node's once it arrives on the node's loop — held there by a quiesce, seen
 * by the node's hooks after the driver, counted in flight for a drain —
 * and its issuer hears of it on its own loop, after all of that. */
static struct block_backend xblk;
static struct treq xt;
static int x_done;
static pthread_t x_cb_thread;
static unsigned x_hook_seen;

static void x_cb(struct block_req *r, int ret)
{
    xt.ret = ret;
    x_cb_thread = pthread_self();
    __atomic_store_n(&x_done, 1, __ATOMIC_RELEASE);
}

static void x_submit_msg(struct vs_msg *m)
{
    blk_submit(&xblk, &xt.r);
    free(m);
}

static bool x_after_hook(struct block_hook *h, struct block_req *req, int ret)
{
    x_hook_seen++;
    return false;
}

static void request_from_another_loop_is_the_nodes_and_answered_on_its_own(void)
{
    struct block_node *n = mem_node("m0", MiB);
    struct block_hook h = { .after = x_after_hook };
    block_hook_add(n, &h);
    xblk.owner = "test";
    xblk.writable = true;
    block_backend_attach(&xblk, n);
    struct vs_loop *other = vs_loop_spawn(64, 1, 1);
    CHECK(other);
    static char b[4096];
    memset(b, 0x5a, sizeof(b));
    prep(&xt, BLOCK_OP_WRITE, 8192, sizeof(b), b);
    xt.r.cb = x_cb;
    block_node_quiesce(n);
    struct vs_msg *m = vs_zalloc(sizeof(*m));
    m->fn = x_submit_msg;
    vs_loop_post(other, m);
    for (int i = 0; i < 1000 && vs_list_empty(&n->held); i++)
        vs_loop_run_once(loop, 10 * 1000000);
    CHECK(!vs_list_empty(&n->held));      /* arrived, and held */
    CHECK(!__atomic_load_n(&x_done, __ATOMIC_ACQUIRE) && x_hook_seen == 0);
    block_node_release(n);
    for (int i = 0; i < 1000 && !__atomic_load_n(&x_done, __ATOMIC_ACQUIRE); i++)
        vs_loop_run_once(loop, 10 * 1000000);
    CHECK(__atomic_load_n(&x_done, __ATOMIC_ACQUIRE));
    CHECK(xt.ret == 0 && x_hook_seen == 1);
    CHECK(!pthread_equal(x_cb_thread, pthread_self()));
    CHECK(n->n_in_flight == 0 && xblk.n_reqs == 0);
    CHECK(memcmp(block_memory_data(n) + 8192, b, sizeof(b)) == 0);
    vs_loop_join(other);
    block_backend_detach(&xblk);
    block_hook_remove(n, &h);
}

static struct block_req *held_by_hook;
static bool before_hook(struct block_hook *h, struct block_req *req)
{
    held_by_hook = req;
    return true;
}

static void before_hook_can_hold_a_write(void)
{
    struct block_node *n = mem_node("m0", MiB);
    struct block_hook h = { .before = before_hook };
    block_hook_add(n, &h);
    char b[512];
    memset(b, 7, sizeof(b));
    struct treq t;
    prep(&t, BLOCK_OP_WRITE, 0, sizeof(b), b);
    block_node_submit(n, &t.r);
    for (int i = 0; i < 5; i++)
        vs_loop_run_once(loop, 0);
    CHECK(held_by_hook == &t.r && !t.done);
    CHECK(block_memory_completed(n) == 0);
    block_req_hook_resume(held_by_hook, 0);
    wait_done(&t);
    CHECK(t.ret == 0 && block_memory_data(n)[0] == 7);
    block_hook_remove(n, &h);
}

static void quiesce_holds_backend_requests_until_release(void)
{
    struct block_node *n = mem_node("m0", MiB);
    struct block_backend blk = { .owner = "test", .writable = true };
    block_backend_attach(&blk, n);
    block_node_quiesce(n);
    char b[512];
    struct treq t;
    prep(&t, BLOCK_OP_READ, 0, sizeof(b), b);
    blk_submit(&blk, &t.r);
    for (int i = 0; i < 5; i++)
        vs_loop_run_once(loop, 0);
    CHECK(!t.done && block_memory_completed(n) == 0);
    block_node_release(n);
    wait_done(&t);
    CHECK(t.ret == 0);
    block_backend_detach(&blk);
}

static bool drained;
static void drained_bh(struct vs_bh *bh) { drained = true; }

static void drain_waits_for_requests_in_flight(void)
{
    struct block_node *n = mem_node("m0", MiB);
    block_memory_hold(n, true);
    char b[512];
    struct treq t;
    prep(&t, BLOCK_OP_READ, 0, sizeof(b), b);
    block_node_submit(n, &t.r);
    struct vs_bh bh = { drained_bh };
    block_node_drain(n, &bh);
    for (int i = 0; i < 5; i++)
        vs_loop_run_once(loop, 0);
    CHECK(!drained);
    block_memory_hold(n, false);
    wait_done(&t);
    for (int i = 0; i < 5 && !drained; i++)
        vs_loop_run_once(loop, 0);
    CHECK(drained);
}

/* The pivot: a request held during the switch lands on the new node. */
static void replace_moves_backends_and_held_requests(void)
{
    struct block_node *a = mem_node("a", MiB), *b = mem_node("b", MiB);
    struct block_backend exp = { .owner = "export", .writable = true, .follows_replace = true };
    struct block_backend job = { .owner = "job", .writable = true };
    block_backend_attach(&exp, a);
    block_backend_attach(&job, a);
    block_node_quiesce(a);
    block_node_quiesce(b);
    char w[512];
    memset(w, 0x77, sizeof(w));
    struct treq t;
    prep(&t, BLOCK_OP_WRITE, 4096, sizeof(w), w);
    blk_submit(&exp, &t.r);
    block_node_replace(a, b);
    CHECK(exp.node == b && job.node == a);
    block_node_release(a);
    block_node_release(b);
    wait_done(&t);
    CHECK(t.ret == 0);
    CHECK(block_memory_data(b)[4096] == 0x77);
    CHECK(block_memory_data(a)[4096] == 0);
    block_backend_detach(&exp);
    block_backend_detach(&job);
}

/* An unsaved pivot is undone: the backends the move took go back with the
 * requests they hold, and one that was on the new node already stays. */
static void replace_undo_moves_back_only_what_it_moved(void)
{
    struct block_node *a = mem_node("a", MiB), *b = mem_node("b", MiB);
    struct block_backend exp = { .owner = "export", .writable = true, .follows_replace = true };
    struct block_backend other = { .owner = "export of b", .writable = true, .follows_replace = true };
    block_backend_attach(&exp, a);
    block_backend_attach(&other, b);
    block_node_quiesce(a);
    block_node_quiesce(b);
    uint64_t stamp = block_node_replace(a, b);
    CHECK(exp.node == b && other.node == b);
    char w[512], o[512];
    memset(w, 0x71, sizeof(w));
    memset(o, 0x72, sizeof(o));
    struct treq t, u;
    prep(&t, BLOCK_OP_WRITE, 4096, sizeof(w), w);
    prep(&u, BLOCK_OP_WRITE, 8192, sizeof(o), o);
    blk_submit(&exp, &t.r);                 /* held on b */
    blk_submit(&other, &u.r);               /* held on b */
    block_node_replace_undo(b, a, stamp);
    CHECK(exp.node == a && other.node == b);
    block_node_release(b);
    wait_done(&u);
    CHECK(u.ret == 0 && block_memory_data(b)[8192] == 0x72);
    for (int i = 0; i < 5; i++)
        vs_loop_run_once(loop, 0);
    CHECK(!t.done);                         /* a is still quiesced */
    block_node_release(a);
    wait_done(&t);
    CHECK(t.ret == 0);
    CHECK(block_memory_data(a)[4096] == 0x71);
    CHECK(block_memory_data(b)[4096] == 0);
    block_backend_detach(&exp);
    block_backend_detach(&other);
}

static void blockdev_close_refuses_node_in_use(void)
{
    struct block_node *n = mem_node("m0", MiB);
    struct block_backend blk = { .owner = "x" };
    block_backend_attach(&blk, n);
    struct vs_error err = { 0 };
    CHECK(block_node_close(n, &err) < 0 && err.set);
    block_backend_detach(&blk);
    CHECK(block_node_close(n, NULL) == 0);
    CHECK(block_node_find("m0") == NULL);
}

static char tmpfile_path[] = "/tmp/volswap-test-block-XXXXXX";

static struct block_node *file_node(bool unmap)
{
    int fd = mkstemp(tmpfile_path);
    CHECK(fd >= 0);
    CHECK(ftruncate(fd, 8 * MiB) == 0);
    char b[65536];
    memset(b, 0xee, sizeof(b));
    CHECK(pwrite(fd, b, sizeof(b), 2 * MiB) == (ssize_t)sizeof(b));
    close(fd);
    struct vs_error err = { 0 };
    struct block_node_opts o = { .driver = "file", .node_name = "f0",
                                 .filename = tmpfile_path, .unmap = unmap };
    struct block_node *n = block_node_open(loop, &o, &err);
    if (!n)
        fprintf(stderr, "%s\n", err.msg);
    CHECK(n);
    return n;
}

static void status_at(struct block_node *n, uint64_t off, uint64_t len, struct treq *t)
{
    prep(t, BLOCK_OP_BLOCK_STATUS, off, len, NULL);
    block_node_submit(n, &t->r);
    wait_done(t);
    CHECK(t->ret == 0);
}

/* COPY_RANGE of [off, off + len) from src into dst; its result. */
static int copy_range_at(struct block_node *dst, struct block_node *src,
                         uint64_t off, uint64_t len, struct treq *t)
{
    prep(t, BLOCK_OP_COPY_RANGE, off, len, NULL);
    t->r.copy_src = src;
    block_node_submit(dst, &t->r);
    wait_done(t);
    return t->ret;
}

static void file_block_status_follows_seek_data(void)
{
    struct block_node *n = file_node(false);
    struct treq t;
    status_at(n, 0, 8 * MiB, &t);
    CHECK(t.r.status_flags == (BLOCK_STATUS_HOLE | BLOCK_STATUS_ZERO));
    CHECK(t.r.status_len == 2 * MiB);
    status_at(n, 2 * MiB, 6 * MiB, &t);
    CHECK(t.r.status_flags == 0);
    CHECK(t.r.status_len >= 65536 && t.r.status_len < 6 * MiB);
    unlink(tmpfile_path);
}

static void file_write_zeroes_may_unmap_punches_a_hole(void)
{
    struct block_node *n = file_node(true);
    struct treq t;
    prep(&t, BLOCK_OP_WRITE_ZEROES, 2 * MiB, 65536, NULL);
    t.r.flags = BLOCK_REQ_MAY_UNMAP;
    block_node_submit(n, &t.r);
    wait_done(&t);
    CHECK(t.ret == 0);
    char b[65536];
    prep(&t, BLOCK_OP_READ, 2 * MiB, sizeof(b), b);
    block_node_submit(n, &t.r);
    wait_done(&t);
    for (size_t i = 0; i < sizeof(b); i++)
        CHECK(b[i] == 0);
    status_at(n, 0, 8 * MiB, &t);
    CHECK(t.r.status_len == 8 * MiB && (t.r.status_flags & BLOCK_STATUS_HOLE));
    unlink(tmpfile_path);
}

static void file_write_zeroes_no_hole_reads_zero(void)
{
    struct block_node *n = file_node(true);
    struct treq t;
    prep(&t, BLOCK_OP_WRITE_ZEROES, 2 * MiB + 512, 1000, NULL);
    block_node_submit(n, &t.r);
    wait_done(&t);
    CHECK(t.ret == 0);
    unsigned char b[2048];
    prep(&t, BLOCK_OP_READ, 2 * MiB, sizeof(b), b);
    block_node_submit(n, &t.r);
    wait_done(&t);
    for (size_t i = 0; i < sizeof(b); i++)
        CHECK(b[i] == ((i >= 512 && i < 1512) ? 0 : 0xee));
    unlink(tmpfile_path);
}

static void raw_passes_requests_to_its_child(void)
{
    struct block_node *m = mem_node("m0", MiB);
    struct vs_error err = { 0 };
    struct block_node_opts o = { .driver = "raw", .node_name = "r0", .file = "m0" };
    struct block_node *r = block_node_open(loop, &o, &err);
    CHECK(r && r->size == MiB && block_node_in_use(m));
    char w[8] = "abcdefg";
    struct treq t;
    prep(&t, BLOCK_OP_WRITE, 100, 8, w);
    block_node_submit(r, &t.r);
    wait_done(&t);
    CHECK(t.ret == 0 && memcmp(block_memory_data(m) + 100, w, 8) == 0);
    CHECK(block_node_close(m, NULL) < 0);
    CHECK(block_node_close(r, NULL) == 0);
    CHECK(!block_node_in_use(m));
}

/* Files in memory take the inline path; the bytes must be the same. */
static void file_in_memory_round_trip_and_zero_fill_past_eof(void)
{
    char path[] = "/dev/shm/volswap-test-block-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        fprintf(stderr, "no /dev/shm: skipped\n");
        exit(77);
    }
    CHECK(ftruncate(fd, 1 * MiB) == 0);
    struct vs_error err = { 0 };
    struct block_node_opts o = { .driver = "file", .node_name = "shm0", .filename = path };
    struct block_node *n = block_node_open(loop, &o, &err);
    unlink(path); /* nothing is left behind even when a check fails */
    CHECK(n);
    char w[5000], r[5000];
    for (size_t i = 0; i < sizeof(w); i++)
        w[i] = (char)(i * 7);
    struct treq t;
    prep(&t, BLOCK_OP_WRITE, 1001, sizeof(w), w);
    block_node_submit(n, &t.r);
    CHECK(!t.done);
    wait_done(&t);
    CHECK(t.ret == 0);
    prep(&t, BLOCK_OP_READ, 1001, sizeof(r), r);
    block_node_submit(n, &t.r);
    wait_done(&t);
    CHECK(t.ret == 0 && memcmp(w, r, sizeof(r)) == 0);
    /* The file shrinks behind the node's back: reads past its new end
     * return zeroes, not stale bytes or an error. */
    CHECK(ftruncate(fd, 2048) == 0);
    memset(r, 0x55, sizeof(r));
    prep(&t, BLOCK_OP_READ, 1001, sizeof(r), r);
    block_node_submit(n, &t.r);
    wait_done(&t);
    CHECK(t.ret == 0 && memcmp(w, r, 2048 - 1001) == 0);
    for (size_t i = 2048 - 1001; i < sizeof(r); i++)
        CHECK(r[i] == 0);
    close(fd);
}

/* An open node on a file in /dev/shm that is already unlinked, filled
 * with `fill(i)` bytes up to `len`. */
static struct block_node *shm_node(const char *name, uint64_t size, uint64_t len, int *fdp)
{
    char path[] = "/dev/shm/volswap-test-block-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        fprintf(stderr, "no /dev/shm: skipped\n");
        exit(77);
    }
    CHECK(ftruncate(fd, (off_t)size) == 0);
    for (uint64_t i = 0; i < len; i += 4096) {
        unsigned char b[4096];
        for (size_t j = 0; j < sizeof(b); j++)
            b[j] = (unsigned char)((i + j) * 13 + (i + j) / 4096);
        CHECK(pwrite(fd, b, sizeof(b), (off_t)i) == (ssize_t)sizeof(b));
    }
    struct vs_error err = { 0 };
    struct block_node_opts o = { .driver = "file", .node_name = name, .filename = path };
    struct block_node *n = block_node_open(loop, &o, &err);
    unlink(path);
    CHECK(n);
    *fdp = fd;
    return n;
}

/* Between files in memory the offload copies through a worker's 1 MiB
 * buffer: a range over two buffer loads, at odd edges, arrives intact and
 * touches nothing around it; a source that shrank is an error, not
 * zeroes. */
static void copy_range_in_memory_crosses_buffer_boundary(void)
{
    int sfd, dfd;
    struct block_node *src = shm_node("ms", 4 * MiB, 4 * MiB, &sfd);
    struct block_node *dst = shm_node("md", 4 * MiB, 0, &dfd);
    const uint64_t off = 4096 + 512, len = 2 * MiB + 12345;
    CHECK(block_node_can_copy_range(dst, src));
    struct treq t;
    CHECK(copy_range_at(dst, src, off, len, &t) == 0);
    unsigned char *a = malloc(4 * MiB), *b = malloc(4 * MiB);
    CHECK(a && b);
    CHECK(pread(sfd, a, 4 * MiB, 0) == (ssize_t)(4 * MiB));
    CHECK(pread(dfd, b, 4 * MiB, 0) == (ssize_t)(4 * MiB));
    CHECK(memcmp(a + off, b + off, len) == 0);
    for (uint64_t i = 0; i < 4 * MiB; i++)
        if (i < off || i >= off + len)
            CHECK(b[i] == 0);
    CHECK(ftruncate(sfd, 1 * MiB) == 0);
    CHECK(copy_range_at(dst, src, 0, 2 * MiB, &t) == -EIO);
    free(a);
    free(b);
    CHECK(block_node_close(src, NULL) == 0);
    CHECK(block_node_close(dst, NULL) == 0);
    close(sfd);
    close(dfd);
}

/* A tmpfs file of 160 MiB: data [0, 1 MiB), hole [1 MiB, 3 MiB), data
 * [3 MiB, 3 MiB + 4 KiB), hole up to 16 MiB, data [16 MiB, 160 MiB). */
static struct block_node *probe_layout_node(const char *name, int *fdp)
{
    struct block_node *n = shm_node(name, 160 * MiB, 1 * MiB, fdp);
    static char mb[1 << 20];
    char b[4096];

    memset(b, 1, sizeof(b));
    CHECK(pwrite(*fdp, b, sizeof(b), 3 * MiB) == (ssize_t)sizeof(b));
    memset(mb, 2, sizeof(mb));
    for (uint64_t o = 16 * MiB; o < 160 * MiB; o += 1 * MiB)
        CHECK(pwrite(*fdp, mb, sizeof(mb), (off_t)o) == (ssize_t)sizeof(mb));
    return n;
}

/* Block status of [off, off + len) with room for max extents in ext. */
static void status_into(struct block_node *n, uint64_t off, uint64_t len,
                        struct block_extent *ext, unsigned max, struct treq *t)
{
    prep(t, BLOCK_OP_BLOCK_STATUS, off, len, NULL);
    t->r.extents = ext;
    t->r.max_extents = max;
    block_node_submit(n, &t->r);
    wait_done(t);
    CHECK(t->ret == 0);
}

/* On tmpfs, block status follows data with SEEK_DATA probes 64 KiB apart
 * (SEEK_HOLE would hold the inode lock over the whole data run): extents
 * end at the first probe in a hole, and one answer probes at most 128 MiB
 * of data. */
static void file_in_memory_block_status_probes_in_bounded_steps(void)
{
    int fd;
    struct block_node *n = probe_layout_node("mp", &fd);
    struct treq t;

    status_at(n, 0, 160 * MiB, &t);
    CHECK(t.r.status_flags == 0 && t.r.status_len == 1 * MiB);
    status_at(n, 1 * MiB, 159 * MiB, &t);
    CHECK(t.r.status_flags == (BLOCK_STATUS_HOLE | BLOCK_STATUS_ZERO));
    CHECK(t.r.status_len == 2 * MiB);
    /* The 4 KiB extent is reported up to the next probe point. */
    status_at(n, 3 * MiB, 157 * MiB, &t);
    CHECK(t.r.status_flags == 0 && t.r.status_len == 64 * 1024);
    status_at(n, 3 * MiB + 64 * 1024, 157 * MiB - 64 * 1024, &t);
    CHECK(t.r.status_flags == (BLOCK_STATUS_HOLE | BLOCK_STATUS_ZERO));
    CHECK(t.r.status_len == 13 * MiB - 64 * 1024);
    /* A dense run: one answer covers 128 MiB, the next one goes on. */
    status_at(n, 16 * MiB, 144 * MiB, &t);
    CHECK(t.r.status_flags == 0 && t.r.status_len == 128 * MiB);
    status_at(n, 144 * MiB, 16 * MiB, &t);
    CHECK(t.r.status_flags == 0 && t.r.status_len == 16 * MiB);
    CHECK(block_node_close(n, NULL) == 0);
    close(fd);
}

/* Given room for several extents, one answer tells them all: consecutive,
 * alternating, the first one also in status_len/status_flags, within the
 * same 128 MiB probing bound; and no more than there is room for. Through
 * a raw node too (it lends its array to the file below). */
static void block_status_many_extents_in_one_answer(void)
{
    const unsigned hz = BLOCK_STATUS_HOLE | BLOCK_STATUS_ZERO;
    const struct block_extent want[] = {
        { 1 * MiB, 0 }, { 2 * MiB, hz }, { 64 * 1024, 0 },
        { 13 * MiB - 64 * 1024, hz }, { 128 * MiB, 0 },
    };
    struct block_extent ext[8];
    struct vs_error err = { 0 };
    int fd;
    struct block_node *n = probe_layout_node("me", &fd);
    struct block_node_opts o = { .driver = "raw", .node_name = "re", .file = "me" };
    struct block_node *r = block_node_open(loop, &o, &err);
    struct block_node *nodes[] = { n, r };
    struct treq t;

    CHECK(r != NULL);
    for (int k = 0; k < 2; k++) {
        status_into(nodes[k], 0, 160 * MiB, ext, 8, &t);
        CHECK(t.r.n_extents == 5);
        for (unsigned i = 0; i < 5; i++)
            CHECK(ext[i].len == want[i].len && ext[i].flags == want[i].flags);
        CHECK(t.r.status_len == 1 * MiB && t.r.status_flags == 0);

        status_into(nodes[k], 0, 160 * MiB, ext, 3, &t);
        CHECK(t.r.n_extents == 3);
        CHECK(ext[2].len == 64 * 1024 && ext[2].flags == 0);
    }
    CHECK(block_node_close(r, NULL) == 0);
    CHECK(block_node_close(n, NULL) == 0);
    close(fd);
}

/* Memory nodes tell runs of 64 KiB chunks, several in one answer. */
static void block_status_memory_runs_in_one_answer(void)
{
    struct block_node *m = mem_node("mx", 1 * MiB);
    struct block_extent ext[4];
    struct treq t;
    char b[4096];

    memset(b, 3, sizeof(b));
    prep(&t, BLOCK_OP_WRITE, 128 * 1024, sizeof(b), b);
    block_node_submit(m, &t.r);
    wait_done(&t);
    status_into(m, 0, 1 * MiB, ext, 4, &t);
    CHECK(t.r.n_extents == 3);
    CHECK(ext[0].len == 128 * 1024 && ext[1].len == 64 * 1024 && ext[2].len == 832 * 1024);
    CHECK(ext[1].flags == 0 && ext[2].flags == (BLOCK_STATUS_HOLE | BLOCK_STATUS_ZERO));
    CHECK(block_node_close(m, NULL) == 0);
}

static int resize_calls;
static bool resize_ok;
static void resize_cb(struct block_node *node, const struct vs_error *err, void *opaque)
{
    resize_calls++;
    resize_ok = err == NULL;
}

/* block_node_truncate_async: the answer comes later (never inside the
 * call), the size changes only then, and meanwhile the node can be
 * neither closed nor resized again. For a file (ftruncate on a worker)
 * and for memory (which refuses to resize: done at once, the failure
 * answered later). */
static void truncate_async_later_and_exclusive(void)
{
    int fd;
    struct block_node *f = shm_node("rs", 1 * MiB, 0, &fd);
    struct block_node *m = mem_node("rm", 1 * MiB);
    struct block_node *nodes[] = { f, m };
    for (size_t i = 0; i < 2; i++) {
        struct vs_error err = { 0 };
        resize_calls = 0;
        CHECK(block_node_truncate_async(nodes[i], 3 * MiB, resize_cb, NULL, &err) == 0);
        CHECK(resize_calls == 0);
        CHECK(block_node_close(nodes[i], &err) < 0 && strstr(err.msg, "being resized"));
        memset(&err, 0, sizeof(err));
        CHECK(block_node_truncate_async(nodes[i], 2 * MiB, resize_cb, NULL, &err) < 0);
        CHECK(strstr(err.msg, "being resized") != NULL);
        for (int k = 0; k < 10000 && resize_calls == 0; k++)
            vs_loop_run_once(loop, 10 * 1000000);
        bool is_file = nodes[i] == f;
        CHECK(resize_calls == 1 && resize_ok == is_file);
        CHECK(nodes[i]->size == (is_file ? 3 : 1) * MiB && !nodes[i]->resizing);
    }
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && st.st_size == (off_t)(3 * MiB));
    /* Refusals are immediate and leave the node as it was. */
    struct vs_error err = { 0 };
    f->jobs++;
    CHECK(block_node_truncate_async(f, 4 * MiB, resize_cb, NULL, &err) < 0);
    f->jobs--;
    CHECK(!f->resizing && f->size == 3 * MiB);
    CHECK(block_node_close(f, NULL) == 0);
    CHECK(block_node_close(m, NULL) == 0);
    close(fd);
}

/* The mirror's copy offload: file to file in the kernel; other pairs say
 * -ENOTSUP so the caller falls back to read and write. */
static void copy_range_file_to_file_and_enotsup_elsewhere(void)
{
    struct block_node *src = file_node(false);      /* 0xee at 2 MiB + 64 KiB */
    char dst_path[] = "/tmp/volswap-test-block-dst-XXXXXX";
    int fd = mkstemp(dst_path);
    CHECK(fd >= 0 && ftruncate(fd, 8 * MiB) == 0);
    close(fd);
    struct vs_error err = { 0 };
    struct block_node_opts o = { .driver = "file", .node_name = "d0", .filename = dst_path };
    struct block_node *dst = block_node_open(loop, &o, &err);
    CHECK(dst && block_node_can_copy_range(dst, src));
    struct treq t;
    CHECK(copy_range_at(dst, src, 2 * MiB - 4096, 65536 + 8192, &t) == 0);
    unsigned char b[65536 + 8192];
    prep(&t, BLOCK_OP_READ, 2 * MiB - 4096, sizeof(b), b);
    block_node_submit(dst, &t.r);
    wait_done(&t);
    for (size_t i = 0; i < sizeof(b); i++)
        CHECK(b[i] == ((i >= 4096 && i < 4096 + 65536) ? 0xee : 0));
    struct block_node *m = mem_node("m0", 8 * MiB);
    CHECK(!block_node_can_copy_range(m, src));
    CHECK(copy_range_at(m, src, 0, 4096, &t) == -ENOTSUP);
    CHECK(copy_range_at(dst, src, 8 * MiB - 10, 4096, &t) == -EINVAL); /* past the end */
    unlink(tmpfile_path);
    unlink(dst_path);
}

/* An nbd node loses its server and reconnects to one that accepted the
 * connection (in the listen backlog) but never answers: the connect waits
 * on the worker pool for a greeting that will not come. Closing the node
 * then must bring the connect back and free what the node had, so the
 * loop goes idle (nothing left on the pool) and ASan finds no leak at
 * exit, which is what a daemon stopping at that moment relies on. */
static void nbd_close_while_reconnect_waits_frees_everything(void)
{
    extern char **environ;
    char dir[] = "/tmp/volswap-test-nbd-XXXXXX";
    CHECK(mkdtemp(dir));
    char sock[sizeof(dir) + 16];
    snprintf(sock, sizeof(sock), "%s/nbd.sock", dir);
    char *argv[] = { "nbdkit", "-f", "-U", sock, "memory", "1M", NULL };
    pid_t kit;
    if (posix_spawnp(&kit, "nbdkit", NULL, NULL, argv, environ) != 0) {
        rmdir(dir);
        printf("nbdkit not installed\n");
        exit(77);
    }
    struct stat st;
    for (int i = 0; i < 3000 && stat(sock, &st) < 0; i++)
        usleep(10000);
    struct vs_error err = { 0 };
    struct block_node_opts o = { .driver = "nbd", .node_name = "n0", .nbd_path = sock,
                                 .nbd_open_timeout = 30 };
    struct block_node *n = block_node_open(loop, &o, &err);
    if (!n)
        fprintf(stderr, "%s\n", err.msg);
    CHECK(n);
    vs_loop_run_once(loop, 0);      /* the node watches its socket */

    /* The socket's path now leads to a listener that never accepts; the
     * established connection still reaches nbdkit until it dies. */
    CHECK(unlink(sock) == 0);
    int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
    CHECK(l >= 0 && bind(l, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(l, 4) == 0);
    CHECK(kill(kit, SIGKILL) == 0 && waitpid(kit, NULL, 0) == kit);

    /* The loss is seen and the reconnect's connect lands in the backlog:
     * from then on it waits for the greeting. */
    struct pollfd p = { .fd = l, .events = POLLIN };
    int i;
    for (i = 0; i < 3000 && poll(&p, 1, 0) == 0; i++)
        vs_loop_run_once(loop, 10 * 1000000);
    CHECK(p.revents & POLLIN);

    CHECK(block_node_close(n, &err) == 0);
    for (i = 0; i < 3000 && vs_loop_inflight(loop) > 0; i++)
        vs_loop_run_once(loop, 10 * 1000000);
    CHECK_EQ(vs_loop_inflight(loop), 0);
    close(l);
    unlink(sock);
    rmdir(dir);
}

/* ---- direct reads (block.h: blk_submit) ----------------------------------
 *
 * A read through a backend from another loop than its node's goes straight
 * to the file driver on the issuer's loop, while the gate is open; a
 * quiesce closes it, and the drain that follows waits for the direct reads
 * already running. The issuer here is a spawned loop; `d_gate` lets the
 * test stop that loop right after its submit, with the read in flight. */
static struct block_backend dblk;
static struct treq dt;
static int d_done, d_submitted, d_gate;
static pthread_t d_cb_thread;
static unsigned char d_buf[4096];

static void d_cb(struct block_req *r, int ret)
{
    dt.ret = ret;
    d_cb_thread = pthread_self();
    __atomic_store_n(&d_done, 1, __ATOMIC_RELEASE);
}

static void d_submit_msg(struct vs_msg *m)
{
    memset(d_buf, 0, sizeof(d_buf));
    prep(&dt, BLOCK_OP_READ, 8192, sizeof(d_buf), d_buf);
    dt.r.cb = d_cb;
    blk_submit(&dblk, &dt.r);
    __atomic_store_n(&d_submitted, 1 + (int)dt.r.direct, __ATOMIC_RELEASE);
    /* The completion is a bottom half of this loop: it waits for this. */
    while (!__atomic_load_n(&d_gate, __ATOMIC_ACQUIRE))
        usleep(1000);
    free(m);
}

static void d_post_read(struct vs_loop *other)
{
    __atomic_store_n(&d_done, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&d_submitted, 0, __ATOMIC_RELEASE);
    struct vs_msg *m = vs_zalloc(sizeof(*m));
    m->fn = d_submit_msg;
    vs_loop_post(other, m);
    for (int i = 0; i < 10000 && !__atomic_load_n(&d_submitted, __ATOMIC_ACQUIRE); i++)
        usleep(1000);
    CHECK(__atomic_load_n(&d_submitted, __ATOMIC_ACQUIRE));
}

static bool d_expected(void)
{
    for (size_t j = 0; j < sizeof(d_buf); j++)
        if (d_buf[j] != (unsigned char)((8192 + j) * 13 + (8192 + j) / 4096))
            return false;
    return true;
}

/* Without a quiesce, a read from another loop never needs the node's
 * loop: it completes, on its own loop, while the node's loop is not run,
 * and the node's and the backend's counters have it. */
static void direct_read_from_another_loop_needs_not_the_nodes_loop(void)
{
    int fd;
    struct block_node *n = shm_node("f0", MiB, MiB, &fd);
    dblk.owner = "test";
    block_backend_attach(&dblk, n);
    struct vs_loop *other = vs_loop_spawn(64, 1, 1);
    CHECK(other);
    __atomic_store_n(&d_gate, 1, __ATOMIC_RELEASE);
    d_post_read(other);
    CHECK(__atomic_load_n(&d_submitted, __ATOMIC_ACQUIRE) == 2); /* direct */
    for (int i = 0; i < 10000 && !__atomic_load_n(&d_done, __ATOMIC_ACQUIRE); i++)
        usleep(1000);
    CHECK(__atomic_load_n(&d_done, __ATOMIC_ACQUIRE) && dt.ret == 0 && d_expected());
    CHECK(!pthread_equal(d_cb_thread, pthread_self()));
    CHECK(n->n_in_flight == 0 && dblk.n_reqs == 0);
    vs_loop_join(other);
    struct block_stats ns = block_node_stats(n), bs = blk_stats(&dblk);
    CHECK(ns.ops[BLOCK_ACCT_READ] == 1 && ns.bytes[BLOCK_ACCT_READ] == sizeof(d_buf));
    CHECK(bs.ops[BLOCK_ACCT_READ] == 1 && bs.bytes[BLOCK_ACCT_READ] == sizeof(d_buf));
    block_backend_detach(&dblk);
    close(fd);
}

/* The rule a pivot rests on: a quiesced node's drain covers the reads of
 * other loops that are running on them, and while it is quiesced reads
 * from other loops come to the node's loop and are held there. */
static void quiesced_drain_waits_for_direct_reads_of_other_loops(void)
{
    int fd;
    struct block_node *n = shm_node("f0", MiB, MiB, &fd);
    dblk.owner = "test";
    block_backend_attach(&dblk, n);
    struct vs_loop *other = vs_loop_spawn(64, 1, 1);
    CHECK(other);
    __atomic_store_n(&d_gate, 0, __ATOMIC_RELEASE);
    d_post_read(other); /* in flight, and its loop stopped */
    CHECK(__atomic_load_n(&d_submitted, __ATOMIC_ACQUIRE) == 2);
    block_node_quiesce(n);
    drained = false;
    struct vs_bh bh = { drained_bh };
    block_node_drain(n, &bh);
    for (int i = 0; i < 20; i++)
        vs_loop_run_once(loop, 1000000);
    CHECK(!drained && !__atomic_load_n(&d_done, __ATOMIC_ACQUIRE));
    __atomic_store_n(&d_gate, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 1000 && !drained; i++)
        vs_loop_run_once(loop, 10 * 1000000);
    CHECK(drained && d_expected()); /* the read was done when the drain said so */
    for (int i = 0; i < 10000 && !__atomic_load_n(&d_done, __ATOMIC_ACQUIRE); i++)
        usleep(1000);
    CHECK(dt.ret == 0);

    /* Quiesced: the next read from the other loop is the node's, held. */
    d_post_read(other);
    CHECK(__atomic_load_n(&d_submitted, __ATOMIC_ACQUIRE) == 1); /* not direct */
    for (int i = 0; i < 1000 && vs_list_empty(&n->held); i++)
        vs_loop_run_once(loop, 10 * 1000000);
    CHECK(!vs_list_empty(&n->held) && !__atomic_load_n(&d_done, __ATOMIC_ACQUIRE));
    block_node_release(n);
    for (int i = 0; i < 1000 && !__atomic_load_n(&d_done, __ATOMIC_ACQUIRE); i++)
        vs_loop_run_once(loop, 10 * 1000000);
    CHECK(__atomic_load_n(&d_done, __ATOMIC_ACQUIRE) && dt.ret == 0 && d_expected());

    /* Released: direct again. */
    d_post_read(other);
    CHECK(__atomic_load_n(&d_submitted, __ATOMIC_ACQUIRE) == 2);
    for (int i = 0; i < 10000 && !__atomic_load_n(&d_done, __ATOMIC_ACQUIRE); i++)
        usleep(1000);
    CHECK(dt.ret == 0 && d_expected());
    vs_loop_join(other);
    CHECK(blk_direct_shut(&dblk));
    block_backend_detach(&dblk);
    close(fd);
}

static const struct { const char *name; void (*fn)(void);
} tests[] = {
    { "nbd-close-while-reconnect-waits-frees-everything",
      nbd_close_while_reconnect_waits_frees_everything },
    { "copy-range-file-to-file-and-enotsup-elsewhere",
      copy_range_file_to_file_and_enotsup_elsewhere },
    { "file-in-memory-block-status-probes-in-bounded-steps",
      file_in_memory_block_status_probes_in_bounded_steps },
    { "block-status-many-extents-in-one-answer", block_status_many_extents_in_one_answer },
    { "block-status-memory-runs-in-one-answer", block_status_memory_runs_in_one_answer },
    { "truncate-async-later-and-exclusive", truncate_async_later_and_exclusive },
    { "copy-range-in-memory-crosses-buffer-boundary",
      copy_range_in_memory_crosses_buffer_boundary },
    { "file-in-memory-round-trip-and-zero-fill-past-eof",
      file_in_memory_round_trip_and_zero_fill_past_eof },
    { "memory-read-write-round-trip", memory_read_write_round_trip },
    { "callback-never-runs-inside-submit", callback_never_runs_inside_submit },
    { "out-of-range-is-einval", out_of_range_is_einval },
    { "read-only-node-rejects-writes", read_only_node_rejects_writes },
    { "after-hook-sees-write-completed", after_hook_sees_write_completed },
    { "before-hook-can-hold-a-write", before_hook_can_hold_a_write },
    { "quiesce-holds-backend-requests-until-release",
      quiesce_holds_backend_requests_until_release },
    { "drain-waits-for-requests-in-flight", drain_waits_for_requests_in_flight },
    { "direct-read-from-another-loop-needs-not-the-nodes-loop",
      direct_read_from_another_loop_needs_not_the_nodes_loop },
    { "quiesced-drain-waits-for-direct-reads-of-other-loops",
      quiesced_drain_waits_for_direct_reads_of_other_loops },
    { "replace-moves-backends-and-held-requests", replace_moves_backends_and_held_requests },
    { "replace-undo-moves-back-only-what-it-moved", replace_undo_moves_back_only_what_it_moved },
    { "blockdev-close-refuses-node-in-use", blockdev_close_refuses_node_in_use },
    { "file-block-status-follows-seek-data", file_block_status_follows_seek_data },
    { "file-write-zeroes-may-unmap-punches-a-hole", file_write_zeroes_may_unmap_punches_a_hole },
    { "file-write-zeroes-no-hole-reads-zero", file_write_zeroes_no_hole_reads_zero },
    { "raw-passes-requests-to-its-child", raw_passes_requests_to_its_child },
    { "request-from-another-loop-is-the-nodes-and-answered-on-its-own",
      request_from_another_loop_is_the_nodes_and_answered_on_its_own },
};

int main(int argc, char **argv)
{
    loop = vs_loop_new(64, 1);
    for (size_t i = 0; i < VS_ARRAY_SIZE(tests); i++) {
        if (argc > 1 && !strcmp(argv[1], tests[i].name)) {
            tests[i].fn();
            block_node_close_all();
            vs_loop_free(loop);
            return 0;
        }
    }
    fprintf(stderr, "unknown test\n");
    return 2;
}
