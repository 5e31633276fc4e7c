/* Unit tests of the mirror job on `memory` nodes, one scenario per
 * invocation ("test-mirror NAME"). A guest is a backend attached like an
 * NBD export (it follows the pivot); the memory driver's hold switch lets a
 * test decide which requests are still in flight. Each invariant test is
 * built so that it fails when its invariant is broken (the comment before
 * each says how). White-box where that is the only way to observe a rule:
 * the tests look at the mirror's dirty bitmap through mirror.h. */
#include "../../../src/jobs/mirror.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"

#define MiB (1024 * 1024ull)
#define SIZE (8 * MiB)
#define OP_BIT(op) (1u << (op))

static struct vs_loop *loop;
static struct block_node *src, *tgt;
static struct block_backend guest = {
    .owner = "guest", .follows_replace = true, .writable = true,
};
static char events[16384];
/* Called from the event sink on JOB_STATUS_CHANGE, to act at an exact
 * point of the job's life. */
static void (*on_status)(const char *status);

static void sink(const char *name, void *data, uint64_t ns)
{
    json_t *d = data;
    const char *st = json_string_value(json_object_get(d, "status"));
    char one[300];

    (void)ns;
    if (st && on_status)
        on_status(st);
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

static bool saw(const char *ev)
{
    return strstr(events, ev) != NULL;
}

static void run(int n)
{
    for (int i = 0; i < n; i++)
        vs_loop_run_once(loop, 0);
}

/* Runs until the condition holds (bounded; a hang is a failure). */
#define RUN_UNTIL(cond)                                                   \
    do {                                                                  \
        int i_;                                                           \
        for (i_ = 0; i_ < 20000 && !(cond); i_++)                        \
            vs_loop_run_once(loop, 1000000);                              \
        if (!(cond)) {                                                    \
            fprintf(stderr, "%s:%d: never: %s\nevents: %s\n", __FILE__,  \
                    __LINE__, #cond, events);                             \
            exit(1);                                                      \
        }                                                                 \
    } while (0)

static struct block_node *mem_node(const char *name)
{
    struct vs_error err = { 0 };
    struct block_node_opts o = {
        .driver = "memory", .node_name = name, .size = SIZE, .unmap = true,
    };
    struct block_node *n = block_node_open(loop, &o, &err);

    if (!n)
        fprintf(stderr, "open %s: %s\n", name, err.msg);
    CHECK(n);
    return n;
}

/* ---- guest I/O --------------------------------------------------------- */

struct gio {
    struct block_req req;
    uint8_t *buf;
    int ret;
    bool done;
    void (*then)(struct gio *g);
};

static void gio_cb(struct block_req *req, int ret)
{
    struct gio *g = vs_container_of(req, struct gio, req);

    g->ret = ret;
    g->done = true;
    if (g->then)
        g->then(g);
}

static struct gio *gsubmit_flags(enum block_op op, uint64_t off, uint64_t len,
                                 uint8_t fill, unsigned flags)
{
    struct gio *g = vs_zalloc(sizeof(*g));

    g->req.op = op;
    g->req.flags = flags;
    g->req.offset = off;
    g->req.len = len;
    if (op == BLOCK_OP_WRITE || op == BLOCK_OP_READ) {
        g->buf = vs_malloc(len);
        memset(g->buf, fill, len);
        g->req.buf = g->buf;
    }
    g->req.cb = gio_cb;
    blk_submit(&guest, &g->req);
    return g;
}

static struct gio *gsubmit(enum block_op op, uint64_t off, uint64_t len,
                           uint8_t fill)
{
    return gsubmit_flags(op, off, len, fill, 0);
}

static void gfree(struct gio *g)
{
    free(g->buf);
    free(g);
}

/* A guest request run to completion; checks it succeeded. */
static void greq(enum block_op op, uint64_t off, uint64_t len, uint8_t fill,
                 unsigned flags)
{
    struct gio *g = gsubmit_flags(op, off, len, fill, flags);

    RUN_UNTIL(g->done);
    CHECK(g->ret == 0);
    gfree(g);
}

static void gwrite(uint64_t off, uint64_t len, uint8_t fill)
{
    greq(BLOCK_OP_WRITE, off, len, fill, 0);
}

/* Fills the whole target with garbage through the driver, so that it is
 * allocated data (what a reused volume looks like). */
static void tgt_garbage(void)
{
    struct gio g = { 0 };

    g.buf = vs_malloc(SIZE);
    memset(g.buf, 0x55, SIZE);
    g.req.op = BLOCK_OP_WRITE;
    g.req.offset = 0;
    g.req.len = SIZE;
    g.req.buf = g.buf;
    g.req.cb = gio_cb;
    block_node_submit(tgt, &g.req);
    RUN_UNTIL(g.done);
    CHECK(g.ret == 0 && block_memory_allocated(tgt) == SIZE);
    free(g.buf);
}

static bool same(uint64_t off, uint64_t len)
{
    return memcmp(block_memory_data(src) + off, block_memory_data(tgt) + off,
                  len) == 0;
}

/* ---- the job ------------------------------------------------------------ */

static struct mirror_args args(const char *sync)
{
    struct mirror_args a = {
        .job_id = "m0", .device = "src", .target = "tgt", .sync = sync,
    };
    return a;
}

static struct job *start(const struct mirror_args *a)
{
    struct vs_error err = { 0 };

    if (jobs_blockdev_mirror(loop, a, &err) < 0)
        fprintf(stderr, "blockdev-mirror: %s\n", err.msg);
    CHECK(!err.set);
    return job_get(a->job_id);
}

static struct mirror *mir(struct job *job)
{
    return job->opaque;
}

static struct job *start_ready(const struct mirror_args *a)
{
    struct job *job = start(a);

    RUN_UNTIL(job->status == JOB_STATUS_READY);
    return job;
}

/* Starts the job and pauses it after its first copies: nothing in flight,
 * data left to copy (the target is held until the pause, so the copies
 * cannot all finish first). */
static struct job *start_paused_midway(const struct mirror_args *a)
{
    struct vs_error err = { 0 };
    struct job *job;

    block_memory_hold(tgt, true);
    job = start(a);
    RUN_UNTIL(!mir(job)->scanning && mir(job)->n_bg_ops > 0);
    CHECK(jobs_block_job_pause(a->job_id, &err) == 0);
    block_memory_hold(tgt, false);
    RUN_UNTIL(job->status == JOB_STATUS_PAUSED && mir(job)->n_bg_ops == 0);
    CHECK(!hbitmap_empty(mir(job)->dirty));
    return job;
}

static void setup(void)
{
    loop = vs_loop_new(256, 0);
    vs_event_set_sink(sink);
    src = mem_node("src");
    tgt = mem_node("tgt");
    block_backend_attach(&guest, src);
}

static void teardown(void)
{
    CHECK(jobs_count() == 0);
    block_backend_detach(&guest);
    block_node_close_all();
    run(10);
    vs_loop_free(loop);
}

/* ---- scenarios --------------------------------------------------------- */

/* Data copied, holes zeroed by unmapping: the target ends up exactly as
 * sparse as the source, whatever it held before (mode existing). */
static void test_sparse_initial_copy(void)
{
    struct mirror_args a = args("full");
    struct vs_error err = { 0 };

    gwrite(0, 64 * 1024, 0xa1);
    gwrite(3 * MiB + 4096, 100 * 1024, 0xa2);
    gwrite(SIZE - 64 * 1024, 64 * 1024, 0xa3);
    tgt_garbage();
    start_ready(&a);
    CHECK(same(0, SIZE));
    CHECK(block_memory_allocated(tgt) == block_memory_allocated(src));
    CHECK(jobs_block_job_cancel("m0", false, &err) == 0);
    RUN_UNTIL(jobs_count() == 0);
    CHECK(saw("BLOCK_JOB_COMPLETED concluded null"));
}

/* A blank (sparse) target: holes of the source are neither written nor
 * allocated on it, and the data is copied. */
static void test_blank_target_stays_sparse(void)
{
    struct mirror_args a = args("full");
    struct vs_error err = { 0 };

    gwrite(2 * MiB, 128 * 1024, 0xa4);
    start_ready(&a);
    CHECK(same(0, SIZE));
    CHECK(block_memory_allocated(tgt) == block_memory_allocated(src));
    jobs_job_cancel("m0", &err);
    RUN_UNTIL(jobs_count() == 0);
}

/* A blank target is asked once whether it reads as zeroes throughout, and
 * then the source's holes cost it nothing: the target sees the probe, one
 * write per data extent and the flush before READY — no status query or
 * write per hole. */
static void test_blank_target_probed_once_holes_untouched(void)
{
    struct mirror_args a = args("full");
    struct vs_error err = { 0 };
    struct job *job;

    for (int i = 0; i < 4; i++)
        gwrite((uint64_t)(2 * i + 1) * MiB, 64 * 1024, 0xa5);
    uint64_t before = block_memory_completed(tgt);
    job = start_ready(&a);
    CHECK(mir(job)->zero_target);
    CHECK(block_memory_completed(tgt) - before == 1 + 4 + 1);
    CHECK(same(0, SIZE));
    jobs_job_cancel("m0", &err);
    RUN_UNTIL(jobs_count() == 0);
}

/* unmap=false: holes are written as zeroes without deallocating. */
static void test_unmap_false_writes_zeroes(void)
{
    struct mirror_args a = args("full");
    struct vs_error err = { 0 };

    a.has_unmap = true;
    a.unmap = false;
    gwrite(MiB, 64 * 1024, 0xb1);
    tgt_garbage();
    start_ready(&a);
    CHECK(same(0, SIZE));
    CHECK(block_memory_allocated(tgt) == SIZE);
    jobs_job_cancel("m0", &err);
    RUN_UNTIL(jobs_count() == 0);
}

/* Events of a full run to a pivot, in QEMU's order. */
static void test_complete_events(void)
{
    struct mirror_args a = args("full");
    struct vs_error err = { 0 };

    gwrite(0, MiB, 0x11);
    start_ready(&a);
    CHECK(jobs_block_job_complete("m0", &err) == 0);
    RUN_UNTIL(jobs_count() == 0);
    CHECK_STR(events, "created running ready BLOCK_JOB_READY waiting pending "
                      "BLOCK_JOB_COMPLETED concluded null");
    CHECK(guest.node == tgt);
}

/* Invariant 1. While a guest write is still in flight on the source the
 * bitmap must not show it (marking at submission fails the first check);
 * when the guest hears of completion it must (marking later, or never,
 * fails the second). */
static bool inv1_marked;
static struct job *inv1_job;
static void inv1_then(struct gio *g)
{
    inv1_marked = hbitmap_any(mir(inv1_job)->dirty, g->req.offset, g->req.len);
}

static void test_dirty_on_completion(void)
{
    struct mirror_args a = args("full");
    struct vs_error err = { 0 };
    struct job *job = start_ready(&a);
    struct gio *g;

    inv1_job = job;
    block_memory_hold(src, true);
    g = gsubmit(BLOCK_OP_WRITE, 2 * MiB + 512, 4096, 0xc1);
    g->then = inv1_then;
    run(20);
    CHECK(!g->done);
    CHECK(hbitmap_empty(mir(job)->dirty));
    block_memory_hold(src, false);
    RUN_UNTIL(g->done);
    CHECK(g->ret == 0 && inv1_marked);
    gfree(g);
    CHECK(jobs_block_job_complete("m0", &err) == 0);
    RUN_UNTIL(jobs_count() == 0);
    CHECK(memcmp(block_memory_data(tgt) + 2 * MiB + 512,
                 (uint8_t[4096]){ [0 ... 4095] = 0xc1 }, 4096) == 0);
}

/* Invariant 2. A copy whose source read is in flight must already have
 * cleared its bits; a guest write that completes after that read dirties
 * the range again, so the newer data reaches the target. Clearing the bits
 * when the copy finishes instead loses the second write (content check). */
static struct gio *inv2_w2;
static void inv2_then(struct gio *g)
{
    (void)g;
    /* The mirror will read this range next turn: hold the source now. */
    block_memory_hold(src, true);
}

static void test_clear_before_read(void)
{
    struct mirror_args a = args("full");
    struct vs_error err = { 0 };
    struct job *job = start_ready(&a);
    struct mirror *m = mir(job);
    struct gio *w1;

    w1 = gsubmit(BLOCK_OP_WRITE, MiB, 64 * 1024, 0xd1);
    w1->then = inv2_then;
    RUN_UNTIL(w1->done && m->n_bg_ops > 0);
    /* The copy's read is held at the source: its bits are already clear. */
    CHECK(!hbitmap_any(m->dirty, MiB, 64 * 1024));
    inv2_w2 = gsubmit(BLOCK_OP_WRITE, MiB, 64 * 1024, 0xd2);
    block_memory_hold(src, false);   /* read (old data) first, then w2 */
    RUN_UNTIL(inv2_w2->done);
    CHECK(inv2_w2->ret == 0);
    CHECK(jobs_block_job_complete("m0", &err) == 0);
    RUN_UNTIL(jobs_count() == 0);
    CHECK(block_memory_data(tgt)[MiB] == 0xd2);
    CHECK(same(0, SIZE));
    gfree(w1);
    gfree(inv2_w2);
}

/* Invariant 3. In write-blocking mode a guest write to a range whose copy
 * is in flight waits in the before hook: it must not reach the source
 * driver until the copy is done (a hook that lets it through fails the
 * completed-count check), and the target ends with the guest's data. */
static void test_write_blocking_waits_for_copy(void)
{
    struct mirror_args a = args("full");
    struct vs_error err = { 0 };
    struct job *job;
    struct gio *w;

    gwrite(0, SIZE, 0xe0);
    a.copy_mode = "write-blocking";
    block_memory_hold(tgt, true);        /* copies stall at the target write */
    job = start(&a);
    RUN_UNTIL(mir(job)->n_bg_ops > 0 &&
              mirror_range_busy(mir(job), 0, 64 * 1024) && !mir(job)->scanning);
    w = gsubmit(BLOCK_OP_WRITE, 4096, 4096, 0xe1);
    run(50);
    CHECK(!w->done);
    CHECK(block_memory_data(src)[4096] == 0xe0);   /* never reached the driver */
    CHECK(!vs_list_empty(&mir(job)->waiters));
    block_memory_hold(tgt, false);
    RUN_UNTIL(w->done);
    CHECK(w->ret == 0);
    RUN_UNTIL(job->status == JOB_STATUS_READY);
    CHECK(same(0, SIZE));
    CHECK(block_memory_data(tgt)[4096] == 0xe1);
    CHECK(jobs_block_job_complete("m0", &err) == 0);
    RUN_UNTIL(jobs_count() == 0);
    gfree(w);
}

/* Write-blocking after READY: a guest write is acknowledged only once it
 * is on the target too, and leaves nothing dirty. */
static void test_write_blocking_acks_after_target(void)
{
    struct mirror_args a = args("full");
    struct vs_error err = { 0 };
    struct job *job;
    struct gio *w;

    a.copy_mode = "write-blocking";
    job = start_ready(&a);
    block_memory_hold(tgt, true);
    w = gsubmit(BLOCK_OP_WRITE, 3 * MiB + 100, 5000, 0xf1);
    run(50);
    CHECK(!w->done);                 /* source done, target held */
    block_memory_hold(tgt, false);
    RUN_UNTIL(w->done);
    CHECK(w->ret == 0);
    CHECK(same(3 * MiB, 64 * 1024));
    CHECK(hbitmap_empty(mir(job)->dirty));
    json_t *q = jobs_query_block_jobs();
    CHECK(json_is_true(json_object_get(json_array_get(q, 0), "actively-synced")));
    json_decref(q);
    CHECK(jobs_block_job_complete("m0", &err) == 0);
    RUN_UNTIL(jobs_count() == 0);
    gfree(w);
}

/* Invariant 4. Complete while guest writes keep coming: none fails, the
 * ones that arrive during the switch are held and then land on the target,
 * the target holds every acknowledged write, and the guest ends up on the
 * target (a write after the pivot changes the target, not the source).
 * The write submitted at "waiting" — after the final sync, before the
 * switch — must reach the target: without the quiesce it would go to the
 * source alone. (Until the target is flushed after the switch, writes are
 * applied to the source as well, so the source is no proof either way.) */
static struct gio *inv4_late;
static void inv4_on_status(const char *status)
{
    if (strcmp(status, "waiting") == 0 && !inv4_late)
        inv4_late = gsubmit(BLOCK_OP_WRITE, 7 * MiB, 4096, 0x7e);
}

static void test_pivot_holds_not_fails(void)
{
    struct mirror_args a = args("full");
    struct vs_error err = { 0 };
    struct gio *ws[64];
    int n = 0;

    start_ready(&a);
    on_status = inv4_on_status;
    for (int i = 0; i < 16; i++)
        ws[n++] = gsubmit(BLOCK_OP_WRITE, (uint64_t)i * 256 * 1024, 8192,
                          (uint8_t)(0x20 + i));
    CHECK(jobs_block_job_complete("m0", &err) == 0);
    for (int i = 0; i < 16; i++)
        ws[n++] = gsubmit(BLOCK_OP_WRITE, (uint64_t)i * 256 * 1024 + 8192,
                          8192, (uint8_t)(0x40 + i));
    run(3);
    for (int i = 0; i < 16; i++)
        ws[n++] = gsubmit(BLOCK_OP_WRITE, (uint64_t)i * 256 * 1024 + 16384,
                          8192, (uint8_t)(0x60 + i));
    RUN_UNTIL(jobs_count() == 0);
    on_status = NULL;
    for (int i = 0; i < n; i++) {
        RUN_UNTIL(ws[i]->done);
        CHECK(ws[i]->ret == 0);
    }
    CHECK(inv4_late);
    RUN_UNTIL(inv4_late->done);
    CHECK(inv4_late->ret == 0);
    CHECK(block_memory_data(tgt)[7 * MiB] == 0x7e);
    CHECK(guest.node == tgt);
    for (int i = 0; i < 16; i++) {
        uint8_t *t = block_memory_data(tgt) + (uint64_t)i * 256 * 1024;
        CHECK(t[0] == 0x20 + i && t[8192] == 0x40 + i && t[16384] == 0x60 + i);
    }
    uint8_t before = block_memory_data(src)[5 * MiB];
    gwrite(5 * MiB, 4096, 0x99);
    CHECK(block_memory_data(tgt)[5 * MiB] == 0x99);
    CHECK(block_memory_data(src)[5 * MiB] == before);
    for (int i = 0; i < n; i++)
        gfree(ws[i]);
    gfree(inv4_late);
    CHECK(saw("BLOCK_JOB_COMPLETED concluded null"));
}

/* The daemon's state save at a pivot, played by the test: it answers when
 * the test says, with or without an error. */
static vs_saved_fn *save_done;
static void *save_opaque;
static unsigned saves;

static void fake_save(vs_saved_fn *done, void *opaque)
{
    save_done = done;
    save_opaque = opaque;
    saves++;
}

static void finish_save(const char *error)
{
    struct vs_error err = { 0 };
    vs_saved_fn *done = save_done;

    CHECK(done);
    save_done = NULL;
    if (error)
        vs_error_set(&err, VS_ERR_GENERIC, "%s", error);
    done(save_opaque, error ? &err : NULL);
}

/* Starts a job to READY, completes it, and returns with the pivot's state
 * save under way and a guest write sent after the switch. The guests are
 * not held for the save: the write is done, on the target and on the
 * source (a crash now restarts on the source, which must have it), and no
 * completion event is out. */
static struct gio *pivot_saving(void)
{
    struct mirror_args a = args("full");
    struct vs_error err = { 0 };

    jobs_state_save_async = fake_save;
    gwrite(0, MiB, 0x12);
    start_ready(&a);
    CHECK(jobs_block_job_complete("m0", &err) == 0);
    RUN_UNTIL(save_done);
    CHECK(saves == 1);
    CHECK(guest.node == tgt);
    struct gio *g = gsubmit(BLOCK_OP_WRITE, 2 * MiB, 4096, 0x5a);
    RUN_UNTIL(g->done);
    CHECK(g->ret == 0);
    CHECK(!saw("BLOCK_JOB_COMPLETED"));
    CHECK(job_get("m0")->status == JOB_STATUS_PENDING);
    CHECK(block_memory_data(src)[2 * MiB] == 0x5a && block_memory_data(tgt)[2 * MiB] == 0x5a);
    return g;
}

/* Once the state naming the target is on disk the job completes, and
 * guest writes go to the target alone. */
static void test_pivot_writes_both_until_saved(void)
{
    struct gio *g = pivot_saving();

    finish_save(NULL);
    RUN_UNTIL(jobs_count() == 0);
    CHECK_STR(events, "created running ready BLOCK_JOB_READY waiting pending "
                      "BLOCK_JOB_COMPLETED concluded null");
    CHECK(guest.node == tgt);
    gwrite(3 * MiB, 4096, 0x5b);
    CHECK(block_memory_data(tgt)[3 * MiB] == 0x5b);
    CHECK(block_memory_data(src)[3 * MiB] == 0);
    gfree(g);
    jobs_state_save_async = NULL;
}

/* A guest flush during the save flushes the source too: a crash then
 * restarts there, and what the guest flushed must be on its disk. */
static void test_pivot_saving_flush_reaches_source(void)
{
    struct gio *g = pivot_saving();
    uint64_t before = src->stats.ops[BLOCK_ACCT_FLUSH];
    struct gio *f = gsubmit(BLOCK_OP_FLUSH, 0, 0, 0);

    RUN_UNTIL(f->done);
    CHECK(f->ret == 0 && src->stats.ops[BLOCK_ACCT_FLUSH] == before + 1);
    finish_save(NULL);
    RUN_UNTIL(jobs_count() == 0);
    gfree(f);
    gfree(g);
    jobs_state_save_async = NULL;
}

/* A pivot whose state cannot be saved is undone: the guests go on on the
 * source, which has every write (the held one too), and the job fails with
 * the reason. Without the undo the write lands in the target while the
 * state file still names the source, and a crash loses it. */
static void test_pivot_not_saved_stays_on_source(void)
{
    struct gio *g = pivot_saving();

    finish_save("cannot write 'state.json.tmp.3': No space left on device");
    RUN_UNTIL(jobs_count() == 0);
    CHECK_STR(events, "created running ready BLOCK_JOB_READY waiting pending "
                      "aborting BLOCK_JOB_COMPLETED{pivot not saved, the source "
                      "stays in use: cannot write 'state.json.tmp.3': No space "
                      "left on device} concluded null");
    CHECK(guest.node == src);
    CHECK(block_memory_data(src)[2 * MiB] == 0x5a);
    gwrite(3 * MiB, 4096, 0x5b);            /* and goes on there */
    CHECK(block_memory_data(src)[3 * MiB] == 0x5b);
    CHECK(block_memory_data(tgt)[3 * MiB] == 0);
    gfree(g);
    jobs_state_save_async = NULL;
}

/* A write the target did and the source failed while the pivot is being
 * saved is answered only once the save is done: until then a crash
 * restarts on the source, which does not have it. Answered at once (the
 * target's success), it is an acknowledged write a crash loses. */
static void test_pivot_source_write_failure_answered_once_saved(void)
{
    struct gio *g = pivot_saving();

    block_memory_set_error(src, OP_BIT(BLOCK_OP_WRITE), 4 * MiB, 4096, EIO);
    struct gio *w = gsubmit(BLOCK_OP_WRITE, 4 * MiB, 4096, 0x66);
    RUN_UNTIL(block_memory_data(tgt)[4 * MiB] == 0x66);
    run(20);
    CHECK(!w->done);
    finish_save(NULL);
    RUN_UNTIL(w->done && jobs_count() == 0);
    CHECK(w->ret == 0);
    CHECK(saw("pending BLOCK_JOB_COMPLETED concluded null"));
    CHECK(guest.node == tgt);
    block_memory_set_error(src, 0, 0, 0, 0);
    gfree(w);
    gfree(g);
    jobs_state_save_async = NULL;
}

/* The save fails after the source failed a write: going back to the
 * source would lose that write, so the target stays in use and the pivot
 * is saved again until it is on disk; the parked write waits for it, the
 * other guests go on on the target meanwhile. Before, the job ended
 * "pivot not saved" with the state file still naming the stale source. */
static void test_pivot_not_saved_after_source_write_failure_saves_again(void)
{
    struct gio *g = pivot_saving();

    block_memory_set_error(src, OP_BIT(BLOCK_OP_WRITE), 4 * MiB, 4096, EIO);
    struct gio *w = gsubmit(BLOCK_OP_WRITE, 4 * MiB, 4096, 0x66);
    RUN_UNTIL(block_memory_data(tgt)[4 * MiB] == 0x66);
    run(20);
    CHECK(!w->done);
    finish_save("cannot write 'state.json.tmp.3': No space left on device");
    run(20);
    CHECK(!w->done && jobs_count() == 1 && !saw("BLOCK_JOB_COMPLETED"));
    CHECK(guest.node == tgt);
    block_memory_set_error(src, 0, 0, 0, 0);
    gwrite(5 * MiB, 4096, 0x67);            /* others go on */
    CHECK(block_memory_data(tgt)[5 * MiB] == 0x67);
    RUN_UNTIL(save_done);                   /* saved again */
    CHECK(saves == 2 && !w->done);
    finish_save(NULL);
    RUN_UNTIL(w->done && jobs_count() == 0);
    CHECK(w->ret == 0);
    CHECK(saw("pending BLOCK_JOB_COMPLETED concluded null"));
    CHECK(guest.node == tgt);
    CHECK(block_memory_data(tgt)[4 * MiB] == 0x66);
    gfree(w);
    gfree(g);
    jobs_state_save_async = NULL;
}

/* The pacer's rules: a window whose loop lag passed the mark starts or
 * doubles a pause (up to the cap), a quiet one halves it down to none, and
 * all pauses together stay within half the time copied without one, so a
 * paced job reaches READY at most 1.5 times as late. */
static void test_pacing_rules_and_budget(void)
{
    const uint64_t ms = 1000000;
    uint64_t p = 0;

    CHECK(mirror_pace_next_pause(0, MIRROR_PACE_LAG_LOW_NS / 2) == 0);
    CHECK(mirror_pace_next_pause(0, MIRROR_PACE_LAG_HIGH_NS) == 0);   /* not over */
    p = mirror_pace_next_pause(0, 5 * ms);
    CHECK(p == MIRROR_PACE_PAUSE_MIN_NS);
    for (int i = 0; i < 10; i++)
        p = mirror_pace_next_pause(p, 5 * ms);
    CHECK(p == MIRROR_PACE_PAUSE_MAX_NS);
    CHECK(mirror_pace_next_pause(p, (MIRROR_PACE_LAG_LOW_NS + MIRROR_PACE_LAG_HIGH_NS) / 2) == p);
    CHECK(mirror_pace_next_pause(p, 0) == p / 2);
    CHECK(mirror_pace_next_pause(MIRROR_PACE_PAUSE_MIN_NS, 0) == 0);
    /* 30 ms in, none held: a 10 ms pause fits (10 <= 30/2), 16 does not. */
    CHECK(mirror_pace_budget_allows(0, 10 * ms, 30 * ms));
    CHECK(!mirror_pace_budget_allows(0, 16 * ms, 30 * ms));
    /* Pauses whenever the budget allows: held time never passes a third. */
    uint64_t held = 0;
    for (uint64_t t = 0; t < 2000 * ms; t += MIRROR_PACE_WINDOW_NS) {
        if (mirror_pace_budget_allows(held, MIRROR_PACE_PAUSE_MAX_NS, t)) {
            held += MIRROR_PACE_PAUSE_MAX_NS;
            t += MIRROR_PACE_PAUSE_MAX_NS;
        }
        CHECK(held * 3 <= t + 1);
    }
    CHECK(held * 4 >= 2000 * ms);       /* and it does use it */
}

/* While the pivot is being saved its outcome is being decided: cancel and
 * finalize change nothing, and the save's answer still decides. */
static void test_cancel_while_pivot_saving_changes_nothing(void)
{
    struct vs_error err = { 0 };
    struct gio *g = pivot_saving();

    CHECK(jobs_block_job_cancel("m0", true, &err) == 0);
    run(10);
    CHECK(!saw("BLOCK_JOB_CANCELLED") && !saw("aborting"));
    finish_save(NULL);
    RUN_UNTIL(g->done && jobs_count() == 0);
    CHECK(saw("pending BLOCK_JOB_COMPLETED concluded null"));
    CHECK(guest.node == tgt);
    CHECK(block_memory_data(tgt)[2 * MiB] == 0x5a);
    gfree(g);
    jobs_state_save_async = NULL;
}

/* Invariant 5, before READY: the cancel is forced, the guest stays on the
 * source and the source holds exactly what the guest wrote. */
static void test_cancel_before_ready(void)
{
    struct mirror_args a = args("full");
    struct vs_error err = { 0 };
    uint8_t *model = vs_zalloc(SIZE);
    struct job *job;

    gwrite(0, SIZE, 0x31);
    memset(model, 0x31, SIZE);
    a.speed = 1 * MiB;               /* stays before READY */
    job = start(&a);
    run(5);
    gwrite(MiB, 4096, 0x32);
    memset(model + MiB, 0x32, 4096);
    CHECK(job->status == JOB_STATUS_RUNNING);
    CHECK(jobs_block_job_cancel("m0", false, &err) == 0);
    gwrite(2 * MiB, 4096, 0x33);
    memset(model + 2 * MiB, 0x33, 4096);
    RUN_UNTIL(jobs_count() == 0);
    CHECK(saw("aborting BLOCK_JOB_CANCELLED concluded null"));
    CHECK(guest.node == src);
    CHECK(memcmp(block_memory_data(src), model, SIZE) == 0);
    gwrite(3 * MiB, 4096, 0x34);     /* the guest goes on, on the source */
    CHECK(block_memory_data(src)[3 * MiB] == 0x34);
    free(model);
}

/* Invariant 5, after READY: a soft cancel completes without a pivot and
 * leaves a consistent target; the guest stays on the source. */
static void test_soft_cancel_after_ready(void)
{
    struct mirror_args a = args("full");
    struct vs_error err = { 0 };

    start_ready(&a);
    gwrite(MiB, 8192, 0x41);
    CHECK(jobs_block_job_cancel("m0", false, &err) == 0);
    RUN_UNTIL(jobs_count() == 0);
    CHECK(saw("waiting pending BLOCK_JOB_COMPLETED concluded null"));
    CHECK(guest.node == src);
    CHECK(same(0, SIZE));
}

static void test_force_cancel_after_ready(void)
{
    struct mirror_args a = args("full");
    struct vs_error err = { 0 };

    start_ready(&a);
    CHECK(jobs_block_job_cancel("m0", true, &err) == 0);
    RUN_UNTIL(jobs_count() == 0);
    CHECK(saw("aborting BLOCK_JOB_CANCELLED concluded null"));
    CHECK(guest.node == src);
}

/* Invariant 6, report: a write-through that fails on the target fails the
 * job (report), while the guest's write — on the source — succeeds: the
 * guest never sees a target error. */
static bool held_target;
static void test_target_error_report(void)
{
    struct mirror_args a = args("full");
    struct gio *w;

    gwrite(0, SIZE, 0x51);
    a.copy_mode = "write-blocking";
    start_ready(&a);
    block_memory_set_error(tgt, OP_BIT(BLOCK_OP_WRITE), 6 * MiB, MiB, EIO);
    /* The target answers after the source ("slow target" path)... */
    block_memory_hold(tgt, held_target);
    w = gsubmit(BLOCK_OP_WRITE, 6 * MiB + 4096, 4096, 0x52);
    run(20);
    block_memory_hold(tgt, false);
    RUN_UNTIL(w->done);
    CHECK(w->ret == 0);
    RUN_UNTIL(jobs_count() == 0);
    CHECK(saw("BLOCK_JOB_ERROR{write,report}"));
    CHECK(saw("aborting BLOCK_JOB_COMPLETED{Input/output error} concluded null"));
    CHECK(guest.node == src);
    CHECK(block_memory_data(src)[6 * MiB + 4096] == 0x52);
    gfree(w);
}

static void test_target_error_report_slow(void)
{
    held_target = true;
    test_target_error_report();
}

/* The same with copies failing in background mode. */
static void test_target_error_report_copy(void)
{
    struct mirror_args a = args("full");

    gwrite(0, SIZE, 0x53);
    block_memory_set_error(tgt, OP_BIT(BLOCK_OP_WRITE), 6 * MiB, MiB, EIO);
    start(&a);
    gwrite(6 * MiB, 4096, 0x54);
    RUN_UNTIL(jobs_count() == 0);
    CHECK(saw("BLOCK_JOB_ERROR{write,report}"));
    CHECK(saw("aborting BLOCK_JOB_COMPLETED{Input/output error} concluded null"));
    CHECK(guest.node == src);
}

/* Invariant 6, stop: the job pauses with io-status failed; once the target
 * is healthy a resume finishes the copy. */
static void test_target_error_stop_resume(void)
{
    struct mirror_args a = args("full");
    struct vs_error err = { 0 };
    struct job *job;

    gwrite(0, SIZE, 0x61);
    a.on_target_error = "stop";
    block_memory_set_error(tgt, OP_BIT(BLOCK_OP_WRITE), 0, SIZE, EIO);
    job = start(&a);
    RUN_UNTIL(job->status == JOB_STATUS_PAUSED && mir(job)->n_bg_ops == 0);
    CHECK(saw("BLOCK_JOB_ERROR{write,stop}"));
    CHECK(job->iostatus == JOB_IOSTATUS_FAILED);
    gwrite(MiB, 4096, 0x62);         /* the guest does not notice */
    block_memory_set_error(tgt, 0, 0, 0, 0);
    CHECK(jobs_block_job_resume("m0", &err) == 0);
    RUN_UNTIL(job->status == JOB_STATUS_READY);
    CHECK(job->iostatus == JOB_IOSTATUS_OK);
    CHECK(same(0, SIZE));
    CHECK(jobs_block_job_complete("m0", &err) == 0);
    RUN_UNTIL(jobs_count() == 0);
    CHECK(guest.node == tgt);
}

/* enospc: ENOSPC stops, any other error reports. */
static void test_target_error_enospc(void)
{
    struct mirror_args a = args("full");
    struct vs_error err = { 0 };
    struct job *job;

    gwrite(0, SIZE, 0x71);
    a.on_target_error = "enospc";
    block_memory_set_error(tgt, OP_BIT(BLOCK_OP_WRITE), 0, SIZE, ENOSPC);
    job = start(&a);
    /* Copies already in flight fail (and stop) too: let them land first. */
    RUN_UNTIL(job->status == JOB_STATUS_PAUSED && mir(job)->n_bg_ops == 0);
    CHECK(job->iostatus == JOB_IOSTATUS_NOSPACE);
    block_memory_set_error(tgt, OP_BIT(BLOCK_OP_WRITE), 0, SIZE, EIO);
    CHECK(jobs_block_job_resume("m0", &err) == 0);
    RUN_UNTIL(jobs_count() == 0);
    CHECK(saw("BLOCK_JOB_ERROR{write,stop}"));
    CHECK(saw("BLOCK_JOB_ERROR{write,report}"));
}

/* ignore: failed ranges are retried until they go through. */
static void test_target_error_ignore_retries(void)
{
    struct mirror_args a = args("full");
    struct vs_error err = { 0 };
    struct job *job;

    gwrite(0, SIZE, 0x81);
    a.on_target_error = "ignore";
    block_memory_set_error(tgt, OP_BIT(BLOCK_OP_WRITE), 2 * MiB, MiB, EIO);
    job = start(&a);
    RUN_UNTIL(saw("BLOCK_JOB_ERROR{write,ignore}"));
    CHECK(job->status == JOB_STATUS_RUNNING);
    block_memory_set_error(tgt, 0, 0, 0, 0);
    RUN_UNTIL(job->status == JOB_STATUS_READY);
    CHECK(same(0, SIZE));
    jobs_job_cancel("m0", &err);
    RUN_UNTIL(jobs_count() == 0);
}

/* Copies that keep failing (policy ignore: retried) over several
 * convergence windows, with no guest writing, are not guests dirtying
 * faster than the job copies: the job does not switch to write-through. */
static void test_failing_copies_are_not_divergence(void)
{
    struct mirror_args a = args("full");
    struct vs_error err = { 0 };
    struct job *job;

    gwrite(0, SIZE, 0x82);
    a.on_target_error = "ignore";
    block_memory_set_error(tgt, OP_BIT(BLOCK_OP_WRITE), 2 * MiB, MiB, EIO);
    job = start(&a);
    /* The windows count from the first failure: on a loaded host (or with
     * the pacer's pauses) the copy may take a while to reach the range. */
    RUN_UNTIL(saw("BLOCK_JOB_ERROR{write,ignore}"));
    uint64_t t0 = vs_now_ns();
    while (vs_now_ns() - t0 < 5 * MIRROR_WINDOW_NS)
        vs_loop_run_once(loop, 1000000);
    CHECK(!mir(job)->auto_active);
    block_memory_set_error(tgt, 0, 0, 0, 0);
    RUN_UNTIL(job->status == JOB_STATUS_READY);
    CHECK(same(0, SIZE));
    jobs_job_cancel("m0", &err);
    RUN_UNTIL(jobs_count() == 0);
}

/* A source read error follows on-source-error (report). */
static void test_source_error_report(void)
{
    struct mirror_args a = args("full");

    gwrite(0, SIZE, 0x91);
    block_memory_set_error(src, OP_BIT(BLOCK_OP_READ), MiB, 4096, EIO);
    start(&a);
    RUN_UNTIL(jobs_count() == 0);
    CHECK(saw("BLOCK_JOB_ERROR{read,report}"));
    CHECK(saw("BLOCK_JOB_COMPLETED{Input/output error}"));
    block_memory_set_error(src, 0, 0, 0, 0);
}

/* sync=none copies only what the guest writes after the start. */
static void test_sync_none(void)
{
    struct mirror_args a = args("none");
    struct vs_error err = { 0 };
    struct job *job;

    gwrite(0, MiB, 0xa1);
    job = start_ready(&a);
    CHECK(block_memory_data(tgt)[0] == 0);
    gwrite(4 * MiB, 4096, 0xa2);
    CHECK(jobs_block_job_complete("m0", &err) == 0);
    RUN_UNTIL(jobs_count() == 0);
    CHECK(block_memory_data(tgt)[4 * MiB] == 0xa2);
    CHECK(block_memory_data(tgt)[0] == 0);
    (void)job;
}

/* Different sizes fail the job as QEMU does, after it started. */
static void test_size_mismatch(void)
{
    struct vs_error err = { 0 };
    struct block_node_opts o = {
        .driver = "memory", .node_name = "small", .size = SIZE / 2,
    };
    struct mirror_args a = args("full");

    CHECK(block_node_open(loop, &o, &err));
    a.target = "small";
    start(&a);
    RUN_UNTIL(jobs_count() == 0);
    CHECK_STR(events, "created running aborting BLOCK_JOB_COMPLETED{Source and "
                      "target image have different sizes} concluded null");
}

/* Argument errors with QEMU's texts, before any job exists. */
static void test_argument_errors(void)
{
    struct mirror_args a;
    struct vs_error err = { 0 };

#define EXPECT(setup_, msg_)                                              \
    do {                                                                  \
        a = args("full");                                                 \
        setup_;                                                           \
        memset(&err, 0, sizeof(err));                                     \
        CHECK(jobs_blockdev_mirror(loop, &a, &err) < 0);                  \
        CHECK_STR(err.msg, msg_);                                         \
    } while (0)
    EXPECT(a.granularity = 1000, "Parameter 'granularity' expects a power of 2");
    EXPECT(a.granularity = 256,
           "Parameter 'granularity' expects a value in range [512B, 64MB]");
    EXPECT(a.granularity = 128 << 20,
           "Parameter 'granularity' expects a value in range [512B, 64MB]");
    EXPECT(a.buf_size = -1, "Invalid parameter 'buf-size'");
    EXPECT(a.target = "src", "Can't mirror node into itself");
    EXPECT(a.sync = "incremental", "Sync mode 'incremental' not supported");
    EXPECT(a.sync = "foo", "Parameter 'sync' does not accept value 'foo'");
    EXPECT(a.copy_mode = "foo", "Parameter 'copy-mode' does not accept value 'foo'");
    EXPECT(a.on_target_error = "x",
           "Parameter 'on-target-error' does not accept value 'x'");
    EXPECT(a.device = "nope", "Cannot find device='nope' nor node-name='nope'");
    EXPECT(a.target = "nope", "Cannot find device='nope' nor node-name='nope'");
    EXPECT(a.replaces = "nope", "Failed to find node with node-name='nope'");
    EXPECT(a.job_id = "a b", "Invalid job ID 'a b'");
    EXPECT(a.speed = -1, "Parameter 'speed' expects a non-negative value");
#undef EXPECT
    CHECK(jobs_count() == 0);
    CHECK(src->jobs == 0 && tgt->jobs == 0);
    /* A second job on a busy node. */
    a = args("full");
    a.speed = 1;
    start(&a);
    a.job_id = "m1";
    memset(&err, 0, sizeof(err));
    CHECK(jobs_blockdev_mirror(loop, &a, &err) < 0);
    CHECK_STR(err.msg, "Node 'src' is busy: block device is in use by block job: mirror");
    memset(&err, 0, sizeof(err));
    jobs_job_cancel("m0", &err);
    RUN_UNTIL(jobs_count() == 0);
}

/* block-job-change to write-blocking: later writes are written through. */
static void test_change_to_write_blocking(void)
{
    struct mirror_args a = args("full");
    struct vs_error err = { 0 };
    struct job *job = start_ready(&a);

    CHECK(jobs_block_job_change("m0", "mirror", "background", &err) == 0);
    CHECK(jobs_block_job_change("m0", "mirror", "write-blocking", &err) == 0);
    CHECK(jobs_block_job_change("m0", "mirror", "background", &err) < 0);
    CHECK_STR(err.msg, "Change to copy mode 'background' is not implemented");
    memset(&err, 0, sizeof(err));
    block_memory_hold(tgt, true);
    struct gio *w = gsubmit(BLOCK_OP_WRITE, MiB, 4096, 0xb1);
    run(30);
    CHECK(!w->done);
    block_memory_hold(tgt, false);
    RUN_UNTIL(w->done);
    CHECK(hbitmap_empty(mir(job)->dirty));
    gfree(w);
    jobs_job_cancel("m0", &err);
    RUN_UNTIL(jobs_count() == 0);
}

/* Pause holds back copying; resume finishes it. */
static void test_pause_resume_copies(void)
{
    struct mirror_args a = args("full");
    struct vs_error err = { 0 };
    struct job *job;

    gwrite(0, SIZE, 0xc1);
    job = start(&a);
    CHECK(jobs_block_job_pause("m0", &err) == 0);
    RUN_UNTIL(job->status == JOB_STATUS_PAUSED && mir(job)->n_bg_ops == 0);
    uint64_t done = job->progress_current;
    run(100);
    CHECK(job->progress_current == done);
    CHECK(jobs_block_job_resume("m0", &err) == 0);
    RUN_UNTIL(job->status == JOB_STATUS_READY);
    CHECK(same(0, SIZE));
    jobs_job_cancel("m0", &err);
    RUN_UNTIL(jobs_count() == 0);
}

/* drive-mirror, mode absolute-paths (the default): creates the target file
 * sparse at the source's size, copies, pivots onto the new node. */
static void test_drive_mirror_creates_target(void)
{
    char dir[] = "/tmp/vs-drive-mirror.XXXXXX", path[64];
    struct mirror_args a = args("full");
    struct vs_error err = { 0 };
    struct stat st;

    CHECK(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/new.img", dir);
    gwrite(MiB, 64 * 1024, 0xd7);
    a.target = path;
    a.format = "raw";
    a.node_name = "newtgt";
    CHECK(jobs_drive_mirror(loop, &a, &err) == 0);
    CHECK(block_node_find("newtgt"));
    RUN_UNTIL(job_get("m0") && job_get("m0")->status == JOB_STATUS_READY);
    CHECK(jobs_block_job_complete("m0", &err) == 0);
    RUN_UNTIL(jobs_count() == 0);
    CHECK(guest.node == block_node_find("newtgt"));
    CHECK(stat(path, &st) == 0 && (uint64_t)st.st_size == SIZE);
    CHECK((uint64_t)st.st_blocks * 512 < SIZE / 4);   /* stayed sparse */
    FILE *f = fopen(path, "rb");
    uint8_t b[4];
    CHECK(f && fseek(f, (long)MiB, SEEK_SET) == 0 && fread(b, 1, 4, f) == 4);
    fclose(f);
    CHECK(b[0] == 0xd7 && b[3] == 0xd7);
    block_backend_detach(&guest);
    block_backend_attach(&guest, src);
    unlink(path);
    rmdir(dir);
}

/* drive-mirror errors: missing file in mode existing, unsupported format;
 * a cancelled drive-mirror closes the node it opened. */
static void test_drive_mirror_errors(void)
{
    char dir[] = "/tmp/vs-drive-mirror.XXXXXX", path[64];
    struct mirror_args a = args("full");
    struct vs_error err = { 0 };

    CHECK(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/missing.img", dir);
    a.target = path;
    a.mode = "existing";
    CHECK(jobs_drive_mirror(loop, &a, &err) < 0);
    CHECK(strstr(err.msg, "Could not open") != NULL);
    memset(&err, 0, sizeof(err));
    a.mode = NULL;
    a.format = "qcow2";
    CHECK(jobs_drive_mirror(loop, &a, &err) < 0);
    CHECK(strstr(err.msg, "qcow2") != NULL);
    memset(&err, 0, sizeof(err));
    a.format = NULL;
    a.speed = 1;
    CHECK(jobs_drive_mirror(loop, &a, &err) == 0);
    CHECK(block_node_find("#mirror-m0"));
    CHECK(jobs_job_cancel("m0", &err) == 0);
    RUN_UNTIL(jobs_count() == 0);
    CHECK(!block_node_find("#mirror-m0"));
    CHECK(guest.node == src);
    unlink(path);
    rmdir(dir);
}

/* replaces: the guest is on a raw node over the mirrored node; the pivot
 * switches the raw node's users to the target, with writes through the raw
 * node during the job copied (the hook sits on the node below). */
static void test_replaces_raw_parent(void)
{
    struct vs_error err = { 0 };
    struct block_node_opts o = { .driver = "raw", .node_name = "vol", .file = "src" };
    struct block_node *vol = block_node_open(loop, &o, &err);
    struct mirror_args a = args("full");

    CHECK(vol);
    block_backend_detach(&guest);
    block_backend_attach(&guest, vol);
    gwrite(MiB, 4096, 0x5a);
    a.replaces = "vol";
    struct job *job = start_ready(&a);
    gwrite(2 * MiB, 4096, 0x5b);
    CHECK(jobs_block_job_complete("m0", &err) == 0);
    struct gio *late = gsubmit(BLOCK_OP_WRITE, 3 * MiB, 4096, 0x5c);
    RUN_UNTIL(jobs_count() == 0);
    RUN_UNTIL(late->done);
    CHECK(late->ret == 0);
    CHECK(guest.node == tgt);
    CHECK(block_memory_data(tgt)[MiB] == 0x5a && block_memory_data(tgt)[2 * MiB] == 0x5b &&
          block_memory_data(tgt)[3 * MiB] == 0x5c);
    (void)job;
    gfree(late);
    block_backend_detach(&guest);
    block_backend_attach(&guest, src);
    CHECK(block_node_close(vol, &err) == 0);
}

/* speed: with 1 byte/s only one copy starts per 100 ms slice, so a burst
 * of loop turns moves little; block-job-set-speed 0 lifts the limit and
 * wakes the sleeping job. (The bound holds unless a single burst of loop
 * turns takes over a second.) */
static void test_speed_limit_and_set_speed(void)
{
    struct mirror_args a = args("full");
    struct vs_error err = { 0 };
    struct job *job;

    gwrite(0, SIZE, 0x77);
    a.speed = 1;
    job = start(&a);
    run(200);
    CHECK(job->progress_current < SIZE / 2);
    CHECK(job->status == JOB_STATUS_RUNNING);
    CHECK(jobs_block_job_set_speed("m0", 0, &err) == 0);
    RUN_UNTIL(job->status == JOB_STATUS_READY);
    CHECK(same(0, SIZE));
    jobs_job_cancel("m0", &err);
    RUN_UNTIL(jobs_count() == 0);
}

/* The write-through the convergence rule switches on: a write into a clean
 * granule is written through (acknowledged after the target, bits stay
 * clean); a write into a still-dirty granule goes to the source only (the
 * copy will take it). White-box: the rule is forced on. */
static void test_auto_write_through_clean_only(void)
{
    struct mirror_args a = args("full");
    struct vs_error err = { 0 };
    struct job *job = start_ready(&a);
    struct mirror *m = mir(job);
    struct gio *w;

    m->auto_active = true;
    block_memory_hold(tgt, true);
    w = gsubmit(BLOCK_OP_WRITE, MiB, 4096, 0x91);      /* clean granule */
    run(30);
    CHECK(!w->done);                                   /* waits for the target */
    block_memory_hold(tgt, false);
    RUN_UNTIL(w->done);
    CHECK(w->ret == 0 && !hbitmap_any(m->dirty, MiB, 4096));
    CHECK(block_memory_data(tgt)[MiB] == 0x91);
    gfree(w);
    /* Make a granule dirty without copying it: pause the job first. */
    CHECK(jobs_block_job_pause("m0", &err) == 0);
    RUN_UNTIL(job->status == JOB_STATUS_STANDBY);
    gwrite(3 * MiB, 4096, 0x92);                       /* clean: written through */
    hbitmap_set(m->dirty, 5 * MiB, 4096);              /* pretend not yet copied */
    block_memory_hold(tgt, true);
    w = gsubmit(BLOCK_OP_WRITE, 5 * MiB, 4096, 0x93);  /* dirty granule */
    RUN_UNTIL(w->done);                                /* not held by the target */
    CHECK(w->ret == 0 && block_memory_data(tgt)[5 * MiB] != 0x93);
    block_memory_hold(tgt, false);
    gfree(w);
    CHECK(jobs_block_job_resume("m0", &err) == 0);
    RUN_UNTIL(hbitmap_empty(m->dirty) && m->n_bg_ops == 0);
    CHECK(block_memory_data(tgt)[5 * MiB] == 0x93);
    CHECK(jobs_block_job_complete("m0", &err) == 0);
    RUN_UNTIL(jobs_count() == 0);
    CHECK(block_memory_data(tgt)[3 * MiB] == 0x92);
}

/* User-asked write-blocking, before READY: a write into granules the copy
 * has yet to take goes to the source alone (the copy takes it later; the
 * target is held and the write still completes), and the target ends with
 * it. From READY on the same write is written through whatever the dirty
 * set says: it waits for the held target. */
static void test_write_blocking_skips_uncopied_until_ready(void)
{
    struct mirror_args a = args("full");
    struct vs_error err = { 0 };
    struct job *job;
    struct mirror *m;
    struct gio *w;

    gwrite(0, SIZE, 0x61);
    a.copy_mode = "write-blocking";
    job = start_paused_midway(&a);
    m = mir(job);
    CHECK(!hbitmap_empty(m->dirty));
    uint64_t off = (uint64_t)hbitmap_next_dirty(m->dirty, 0, SIZE);
    block_memory_hold(tgt, true);
    w = gsubmit(BLOCK_OP_WRITE, off, 4096, 0x62);
    run(30);
    CHECK(w->done);                              /* not held by the target */
    CHECK(w->ret == 0 && block_memory_data(tgt)[off] != 0x62);
    gfree(w);
    block_memory_hold(tgt, false);
    CHECK(jobs_block_job_resume("m0", &err) == 0);
    RUN_UNTIL(job->status == JOB_STATUS_READY);
    CHECK(same(0, SIZE) && block_memory_data(tgt)[off] == 0x62);
    /* READY: a dirty granule (pretend) no longer excuses the target. */
    hbitmap_set(m->dirty, 5 * MiB, 4096);
    block_memory_hold(tgt, true);
    w = gsubmit(BLOCK_OP_WRITE, 5 * MiB, 4096, 0x63);
    run(30);
    CHECK(!w->done);
    block_memory_hold(tgt, false);
    RUN_UNTIL(w->done);
    CHECK(w->ret == 0 && block_memory_data(tgt)[5 * MiB] == 0x63);
    gfree(w);
    CHECK(jobs_block_job_complete("m0", &err) == 0);
    RUN_UNTIL(jobs_count() == 0);
}

/* A paused job with data left to copy over a full source; the guest then
 * unmaps [0, 4 MiB) with write-zeroes and discards [4 MiB, 8 MiB), and the
 * target refuses every data write from then on (on-target-error report).
 * The job reaches READY all the same, and the target reads as zeroes and
 * is as sparse as the source: the zeroed and discarded ranges were asked
 * about, not copied. Copied, they would fail the job. */
static void zeroed_ranges_asked(const char *mode, int64_t speed)
{
    struct mirror_args a = args("full");
    struct vs_error err = { 0 };
    struct job *job;

    gwrite(0, SIZE, 0x5d);
    a.copy_mode = mode;
    a.speed = speed;
    job = start_paused_midway(&a);
    greq(BLOCK_OP_WRITE_ZEROES, 0, 4 * MiB, 0, BLOCK_REQ_MAY_UNMAP);
    greq(BLOCK_OP_DISCARD, 4 * MiB, 4 * MiB, 0, 0);
    CHECK(block_memory_allocated(src) == 0);
    block_memory_set_error(tgt, OP_BIT(BLOCK_OP_WRITE), 0, SIZE, EIO);
    CHECK(jobs_block_job_resume("m0", &err) == 0);
    RUN_UNTIL(job->status == JOB_STATUS_READY || jobs_count() == 0);
    CHECK(job->status == JOB_STATUS_READY);
    CHECK(same(0, SIZE) && block_memory_allocated(tgt) == 0);
    jobs_job_cancel("m0", &err);
    RUN_UNTIL(jobs_count() == 0);
}

static void test_guest_zeroes_and_discards_asked_not_copied(void)
{
    zeroed_ranges_asked("background", 0);
}

/* The same under write-blocking with a speed limit that lets one copy out
 * per 16 s: the zero operations owe the limit nothing, so a guest that
 * discards keeps the job from READY no longer. */
static void test_write_blocking_discards_zeroed_at_speed_limit(void)
{
    zeroed_ranges_asked("write-blocking", 64 * 1024);
}

/* Where the source still holds bytes after a guest's zeroes (written as
 * allocated zeroes, without unmap) the ask gives the range back and it is
 * copied: the target holds the same bytes, allocated. */
static void test_ask_hands_back_what_the_source_holds(void)
{
    struct mirror_args a = args("full");
    struct vs_error err = { 0 };
    struct job *job;

    gwrite(0, SIZE, 0x5e);
    job = start_paused_midway(&a);
    greq(BLOCK_OP_WRITE_ZEROES, 2 * MiB, 2 * MiB, 0, 0);
    CHECK(block_memory_allocated(src) == SIZE);
    CHECK(hbitmap_get(mir(job)->zask, 2 * MiB));
    CHECK(jobs_block_job_resume("m0", &err) == 0);
    RUN_UNTIL(job->status == JOB_STATUS_READY);
    CHECK(same(0, SIZE) && block_memory_allocated(tgt) == SIZE);
    jobs_job_cancel("m0", &err);
    RUN_UNTIL(jobs_count() == 0);
}

/* User-asked write-blocking: READY waits for a write that went to the
 * source alone (into a granule still to be copied) to reach the after
 * hook, so no write acknowledged from READY on is on the source only. The
 * write is held at the source driver while the dirty set is emptied by
 * hand (as if the copy had just taken it): without the wait the job is
 * READY at once. */
static void test_write_blocking_ready_waits_for_source_only_write(void)
{
    struct mirror_args a = args("full");
    struct vs_error err = { 0 };
    struct job *job;
    struct mirror *m;
    struct gio *w;

    gwrite(0, SIZE, 0x71);
    a.copy_mode = "write-blocking";
    job = start_paused_midway(&a);
    m = mir(job);
    uint64_t off = (uint64_t)hbitmap_next_dirty(m->dirty, 0, SIZE);
    block_memory_hold(src, true);
    w = gsubmit(BLOCK_OP_WRITE, off, 4096, 0x72);
    run(10);
    CHECK(!w->done && !vs_list_empty(&m->skipped));
    /* The rest copied meanwhile (pretend: the target already matches). */
    memcpy(block_memory_data(tgt), block_memory_data(src), SIZE);
    hbitmap_reset(m->dirty, 0, SIZE);
    CHECK(jobs_block_job_resume("m0", &err) == 0);
    run(50);
    CHECK(job->status == JOB_STATUS_RUNNING && !saw("BLOCK_JOB_READY"));
    block_memory_hold(src, false);
    RUN_UNTIL(job->status == JOB_STATUS_READY);
    CHECK(w->done && w->ret == 0);
    CHECK(same(0, SIZE) && block_memory_data(tgt)[off] == 0x72);
    gfree(w);
    CHECK(jobs_block_job_complete("m0", &err) == 0);
    RUN_UNTIL(jobs_count() == 0);
}

/* A granule a write-through owns reads as dirty from the moment the
 * source has the write until the target has it too; a second write to
 * that granule then must wait and be written through, not go to the
 * source alone: that would leave the granule to be copied again, and
 * under a steady load (with a speed limit) the job would never get to
 * READY. Afterwards the granule is clean. */
static void test_write_into_owned_granule_waits_not_skips(void)
{
    struct mirror_args a = args("full");
    struct vs_error err = { 0 };
    struct job *job;
    struct mirror *m;
    struct gio *v, *w;

    gwrite(0, SIZE, 0xd1);
    a.copy_mode = "write-blocking";
    job = start_paused_midway(&a);
    m = mir(job);
    uint64_t g = (uint64_t)hbitmap_next_zero(m->dirty, 0, SIZE);   /* copied */
    block_memory_hold(tgt, true);
    v = gsubmit(BLOCK_OP_WRITE, g, 4096, 0xd2);
    run(10);
    CHECK(!v->done && hbitmap_get(m->dirty, g));   /* source half done */
    w = gsubmit(BLOCK_OP_WRITE, g + 8192, 4096, 0xd3);
    run(10);
    CHECK(!w->done && vs_list_empty(&m->skipped));
    block_memory_hold(tgt, false);
    RUN_UNTIL(v->done && w->done);
    CHECK(!hbitmap_get(m->dirty, g));
    CHECK(block_memory_data(tgt)[g + 8192] == 0xd3);
    gfree(v);
    gfree(w);
    CHECK(jobs_block_job_resume("m0", &err) == 0);
    RUN_UNTIL(job->status == JOB_STATUS_READY);
    CHECK(same(0, SIZE));
    CHECK(jobs_block_job_complete("m0", &err) == 0);
    RUN_UNTIL(jobs_count() == 0);
}

/* Write-blocking: a guest write-through that starts before the scan has
 * reached its granule must not, when it finishes, clear what the scan
 * marked there meanwhile. The granule holds data the guest wrote before
 * the job; a second write lands in the same granule while the scan's
 * answer is held back and the target holds the write-through; the scan's
 * answer arrives, then the write-through finishes. Without the care the
 * granule counts as clean and its older data never reaches the target. */
static void test_scan_marks_outlive_write_through(void)
{
    struct mirror_args a = args("full");
    struct vs_error err = { 0 };
    struct job *job;
    struct mirror *m;
    struct gio *w;

    gwrite(5 * MiB, 4096, 0xc1);                 /* before the job */
    a.copy_mode = "write-blocking";
    block_memory_delay_status(src, true);
    job = start(&a);
    m = mir(job);
    RUN_UNTIL(m->status_inflight);               /* probe done, scan asked */
    block_memory_hold(tgt, true);
    w = gsubmit(BLOCK_OP_WRITE, 5 * MiB + 8192, 4096, 0xc2);
    RUN_UNTIL(mirror_range_busy(m, 5 * MiB, 5 * MiB + 64 * 1024));
    run(10);
    block_memory_delay_status(src, false);       /* the scan marks 5 MiB */
    RUN_UNTIL(!m->scanning);
    block_memory_hold(tgt, false);               /* the write-through ends */
    RUN_UNTIL(w->done);
    RUN_UNTIL(job->status == JOB_STATUS_READY);
    CHECK(block_memory_data(tgt)[5 * MiB] == 0xc1);
    CHECK(same(0, SIZE));
    gfree(w);
    CHECK(jobs_block_job_complete("m0", &err) == 0);
    RUN_UNTIL(jobs_count() == 0);
}

/* A write that could go to the source alone (its granule still to be
 * copied) does not overtake an earlier write to the same bytes that waits
 * for the granule's copy: the source ends with the later write. The setup:
 * Y goes to the source alone and is held there; the copy of its granule
 * starts (clean, owned) and is held at the target; W1 comes and waits for
 * the copy; Y completes, making the granule dirty again; W2, to W1's
 * bytes, would now skip the wait. */
static void test_source_only_write_keeps_order_behind_waiter(void)
{
    struct mirror_args a = args("full");
    struct vs_error err = { 0 };
    struct job *job;
    struct mirror *m;
    struct gio *y, *w1, *w2;

    gwrite(0, SIZE, 0x81);
    a.copy_mode = "write-blocking";
    a.buf_size = 64 * 1024;            /* one granule copied at a time */
    job = start_paused_midway(&a);
    m = mir(job);
    uint64_t g = (uint64_t)hbitmap_next_dirty(m->dirty, 0, SIZE);
    m->cursor = g;                     /* the next copy takes g's granule */
    block_memory_hold(src, true);
    block_memory_hold(tgt, true);
    y = gsubmit(BLOCK_OP_WRITE, g, 4096, 0x82);
    run(10);
    CHECK(!y->done && !vs_list_empty(&m->skipped));
    CHECK(jobs_block_job_resume("m0", &err) == 0);
    RUN_UNTIL(mirror_range_busy(m, g, g + 64 * 1024));
    w1 = gsubmit(BLOCK_OP_WRITE, g + 8192, 4096, 0x83);
    run(10);
    CHECK(!w1->done && !vs_list_empty(&m->waiters));
    block_memory_hold(src, false);     /* y done (dirty again), copy read done */
    RUN_UNTIL(y->done);
    CHECK(hbitmap_get(m->dirty, g) && mirror_range_busy(m, g, g + 64 * 1024));
    w2 = gsubmit(BLOCK_OP_WRITE, g + 8192, 4096, 0x84);
    run(10);
    block_memory_hold(tgt, false);
    RUN_UNTIL(w1->done && w2->done);
    CHECK(block_memory_data(src)[g + 8192] == 0x84);
    RUN_UNTIL(job->status == JOB_STATUS_READY);
    CHECK(same(0, SIZE));
    gfree(y);
    gfree(w1);
    gfree(w2);
    CHECK(jobs_block_job_complete("m0", &err) == 0);
    RUN_UNTIL(jobs_count() == 0);
}

/* A write that comes after the job stopped writing through (here: a
 * cancel) still does not overtake an earlier write to the same bytes that
 * waits for a copy: the source ends with the later write. */
static void test_write_after_cancel_keeps_order_behind_waiter(void)
{
    struct mirror_args a = args("full");
    struct vs_error err = { 0 };
    struct job *job;
    struct mirror *m;
    struct gio *w1, *w2;

    gwrite(0, SIZE, 0x91);
    a.copy_mode = "write-blocking";
    block_memory_hold(tgt, true);
    job = start(&a);
    m = mir(job);
    RUN_UNTIL(!m->scanning && mirror_range_busy(m, 0, 64 * 1024));
    w1 = gsubmit(BLOCK_OP_WRITE, 4096, 4096, 0x92);
    run(10);
    CHECK(!w1->done && !vs_list_empty(&m->waiters));
    CHECK(jobs_block_job_cancel("m0", false, &err) == 0);
    CHECK(!mirror_active(m));
    w2 = gsubmit(BLOCK_OP_WRITE, 4096, 4096, 0x93);
    run(10);
    block_memory_hold(tgt, false);
    RUN_UNTIL(w1->done && w2->done && jobs_count() == 0);
    CHECK(w1->ret == 0 && w2->ret == 0);
    CHECK(block_memory_data(src)[4096] == 0x93);
    gfree(w1);
    gfree(w2);
}

/* The convergence rule's window: a backlog that does not shrink counts
 * against convergence at any time; before READY so does a window in which
 * guests dirtied again at least half of what was copied (at that rate the
 * job already takes twice its idle time); an empty backlog never does. */
static void test_convergence_window_rule(void)
{
    /* dirty before, after, copied, re-dirtied, ready */
    CHECK(mirror_window_diverges(10 * MiB, 10 * MiB, 0, 0, false));
    CHECK(mirror_window_diverges(10 * MiB, 12 * MiB, 8 * MiB, 10 * MiB, true));
    CHECK(!mirror_window_diverges(10 * MiB, 0, 10 * MiB, 0, false));
    CHECK(!mirror_window_diverges(0, 0, 0, 0, false));
    /* shrinking, but half of the copy was undone by guests */
    CHECK(mirror_window_diverges(100 * MiB, 96 * MiB, 8 * MiB, 4 * MiB, false));
    CHECK(!mirror_window_diverges(100 * MiB, 93 * MiB, 8 * MiB, 1 * MiB, false));
    /* after READY copying what guests dirty is the steady state */
    CHECK(!mirror_window_diverges(100 * MiB, 96 * MiB, 8 * MiB, 4 * MiB, true));
}

/* Offloaded copies, file to file on the worker pool, end to end: the target
 * gets every byte, and never more copies are in flight than the pool has
 * threads plus one queued (a queued copy owns its range without making
 * progress). Files in /dev/shm, 8 MiB of data. */
static void test_offloaded_file_copies_bounded(void)
{
    char sp[] = "/dev/shm/vs-test-mirror-src-XXXXXX";
    char tp[] = "/dev/shm/vs-test-mirror-tgt-XXXXXX";
    int sfd = mkstemp(sp), tfd = mkstemp(tp);
    struct vs_error err = { 0 };
    unsigned max_ops = 0;

    if (sfd < 0 || tfd < 0) {
        fprintf(stderr, "no /dev/shm: skipped\n");
        exit(77);
    }
    uint8_t *b = vs_malloc(SIZE);
    for (uint64_t i = 0; i < SIZE; i++)
        b[i] = (uint8_t)(i * 7 + i / 4096);
    CHECK(pwrite(sfd, b, SIZE, 0) == (ssize_t)SIZE);
    CHECK(ftruncate(tfd, SIZE) == 0);
    struct block_node_opts so = { .driver = "file", .node_name = "fsrc", .filename = sp };
    struct block_node_opts to = { .driver = "file", .node_name = "ftgt", .filename = tp };
    struct block_node *fs = block_node_open(loop, &so, &err);
    struct block_node *ft = block_node_open(loop, &to, &err);
    unlink(sp);
    unlink(tp);
    CHECK(fs && ft && block_node_can_copy_range(ft, fs));
    struct mirror_args a = { .job_id = "m0", .device = "fsrc", .target = "ftgt",
                             .sync = "full" };
    struct job *job = start(&a);
    CHECK(mir(job)->copy_offload);
    for (int i = 0; i < 20000 && job->status != JOB_STATUS_READY; i++) {
        vs_loop_run_once(loop, 1000000);
        if (mir(job)->n_bg_ops > max_ops)
            max_ops = mir(job)->n_bg_ops;
    }
    CHECK(job->status == JOB_STATUS_READY);
    /* (A sample may miss a copy that was issued and finished within one
     * turn, so only the upper bound is checked; the data below proves the
     * copies ran.) */
    if (max_ops > vs_loop_workers(loop) + 1)
        fprintf(stderr, "%u copies in flight, %u workers\n", max_ops, vs_loop_workers(loop));
    CHECK(max_ops <= vs_loop_workers(loop) + 1);
    uint8_t *c = vs_malloc(SIZE);
    CHECK(pread(tfd, c, SIZE, 0) == (ssize_t)SIZE && memcmp(b, c, SIZE) == 0);
    CHECK(jobs_block_job_cancel("m0", false, &err) == 0);
    RUN_UNTIL(jobs_count() == 0);
    free(b);
    free(c);
    close(sfd);
    close(tfd);
}

/* The pivot flushes the target after the switch, with the guests going
 * on; if that flush fails the switch is undone and the guests stay on the
 * source, which has every write (those made meanwhile too). */
static void test_pivot_target_flush_fails_stays_on_source(void)
{
    struct mirror_args a = args("full");
    struct vs_error err = { 0 };

    gwrite(0, SIZE, 0x71);
    start_ready(&a);
    block_memory_set_error(tgt, 1u << BLOCK_OP_FLUSH, 0, 0, EIO);
    CHECK(jobs_block_job_complete("m0", &err) == 0);
    RUN_UNTIL(jobs_count() == 0);
    CHECK(saw("BLOCK_JOB_COMPLETED{pivot not saved, the source stays in use: "
              "cannot flush the target"));
    CHECK(guest.node == src);
    gwrite(2 * MiB, 4096, 0x72);
    CHECK(block_memory_data(src)[2 * MiB] == 0x72);
    block_memory_set_error(tgt, 0, 0, 0, 0);
}

/* The scan's answer is stale where a guest write completed while it was
 * asked: there it counts as data, whatever it said. The answer (several
 * extents: data, hole, data, hole) is computed before the write into the
 * second hole and delivered after it; zeroing that hole on the target
 * would lose the write. */
static void test_scan_answer_stale_where_guest_wrote(void)
{
    struct mirror_args a = args("full");
    struct vs_error err = { 0 };
    struct job *job;

    gwrite(0, 64 * 1024, 0x61);
    gwrite(2 * MiB, 64 * 1024, 0x62);
    tgt_garbage();
    block_memory_delay_status(src, true);
    job = start(&a);
    RUN_UNTIL(mir(job)->status_inflight);
    gwrite(5 * MiB + 4096, 4096, 0x63);
    block_memory_delay_status(src, false);
    RUN_UNTIL(job->status == JOB_STATUS_READY);
    CHECK(same(0, SIZE));
    CHECK(block_memory_data(tgt)[5 * MiB + 4096] == 0x63);
    CHECK(jobs_block_job_cancel("m0", false, &err) == 0);
    RUN_UNTIL(jobs_count() == 0);
}

/* The copies in flight, when each is an offloaded copy held at the target
 * (memory nodes told to take COPY_RANGE): their count and largest length. */
static unsigned held_copies(struct mirror *m, uint64_t *max_len)
{
    unsigned n = 0;

    *max_len = 0;
    vs_list_for_each(pos, &m->ops) {
        struct mirror_op *op = vs_list_entry(pos, struct mirror_op, link);
        if (op->kind != MIRROR_OP_COPY)
            continue;
        n++;
        *max_len = VS_MAX(*max_len, op->len);
    }
    return n;
}

/* Nobody waits for a copy (background mode): the pool gets one offloaded
 * copy more than it has workers, of 2 MiB, so a worker never idles between
 * two copies while the loop issues the next. */
static void test_offloaded_copies_one_queued_when_nobody_waits(void)
{
    struct mirror_args a = args("full");
    struct vs_error err = { 0 };
    struct job *job;
    uint64_t len;

    gwrite(0, SIZE, 0x3c);
    block_memory_set_copy_range(tgt, true);
    block_memory_hold(tgt, true);
    job = start(&a);
    CHECK(mir(job)->copy_offload);
    RUN_UNTIL(!mir(job)->scanning && held_copies(mir(job), &len) > 0);
    run(20);
    CHECK(held_copies(mir(job), &len) == vs_loop_workers(loop) + 1);
    CHECK(len == MIRROR_OFFLOAD_CHUNK);
    block_memory_hold(tgt, false);
    RUN_UNTIL(job->status == JOB_STATUS_READY);
    CHECK(same(0, SIZE));
    CHECK(jobs_block_job_cancel("m0", false, &err) == 0);
    RUN_UNTIL(jobs_count() == 0);
}

/* Write-blocking while guests write: a guest write to a range a copy owns
 * waits for it, and a queued copy already owns its range, so no more
 * offloaded copies than workers, of 1 MiB, to bound that wait. */
static void test_offloaded_copies_one_per_worker_when_guests_wait(void)
{
    struct mirror_args a = args("full");
    struct vs_error err = { 0 };
    struct job *job;
    uint64_t len;

    gwrite(0, SIZE, 0x3d);
    block_memory_set_copy_range(tgt, true);
    a.copy_mode = "write-blocking";
    block_memory_hold(tgt, true);
    job = start(&a);
    /* The first copies held, the job paused with nothing in flight and
     * data left to copy; then a guest writes. */
    RUN_UNTIL(!mir(job)->scanning && held_copies(mir(job), &len) > 0);
    CHECK(jobs_block_job_pause("m0", &err) == 0);
    block_memory_hold(tgt, false);
    RUN_UNTIL(job->status == JOB_STATUS_PAUSED && mir(job)->n_bg_ops == 0);
    CHECK(!hbitmap_empty(mir(job)->dirty));
    gwrite(SIZE - 4096, 4096, 0x3e);
    block_memory_hold(tgt, true);
    CHECK(jobs_block_job_resume("m0", &err) == 0);
    RUN_UNTIL(held_copies(mir(job), &len) > 0);
    run(20);
    CHECK(held_copies(mir(job), &len) == vs_loop_workers(loop));
    CHECK(len == MIRROR_MAX_CHUNK);
    block_memory_hold(tgt, false);
    RUN_UNTIL(job->status == JOB_STATUS_READY);
    CHECK(same(0, SIZE));
    CHECK(jobs_block_job_cancel("m0", false, &err) == 0);
    RUN_UNTIL(jobs_count() == 0);
}

/* Whether every offloaded copy in flight yields the CPU (BLOCK_REQ_YIELD). */
static bool copies_yield(struct mirror *m, bool want)
{
    vs_list_for_each(pos, &m->ops) {
        struct mirror_op *op = vs_list_entry(pos, struct mirror_op, link);
        if (op->kind == MIRROR_OP_COPY && !!(op->req.flags & BLOCK_REQ_YIELD) != want)
            return false;
    }
    return true;
}

/* Offloaded copies give way to every thread that wakes up
 * (BLOCK_REQ_YIELD: a long scheduler slice in the file driver), from the
 * first copy to the last and whether guests write or not: it costs the
 * copy none of its CPU share. VOLSWAP_MIRROR_YIELD=off turns it off. */
static void test_offloaded_copies_yield(void)
{
    struct mirror_args a = args("full");
    struct vs_error err = { 0 };
    struct job *job;
    uint64_t len;

    for (int off = 0; off < 2; off++) {
        gwrite(0, SIZE, (uint8_t)(0x3f + off));
        block_memory_set_copy_range(tgt, true);
        block_memory_hold(tgt, true);
        if (off)
            setenv("VOLSWAP_MIRROR_YIELD", "off", 1);
        job = start(&a);
        unsetenv("VOLSWAP_MIRROR_YIELD");
        RUN_UNTIL(held_copies(mir(job), &len) > 0);
        CHECK(copies_yield(mir(job), !off));
        block_memory_hold(tgt, false);
        RUN_UNTIL(job->status == JOB_STATUS_READY);
        CHECK(same(0, SIZE));
        CHECK(jobs_block_job_cancel("m0", false, &err) == 0);
        RUN_UNTIL(jobs_count() == 0);
    }
}

/* An offloaded copy that fails (not "cannot": a real error) is retried
 * through a buffer, and a buffer holds 1 MiB while the copy was 2 MiB: the
 * retry copies the first 1 MiB and leaves the rest dirty. Without that the
 * retry reads 2 MiB into the 1 MiB buffer (the sanitizer build sees the
 * overflow). The job reaches READY with the target equal to the source. */
static void test_offload_failure_retried_through_buffer(void)
{
    struct mirror_args a = args("full");
    struct vs_error err = { 0 };
    struct job *job;

    for (uint64_t off = 0; off < SIZE; off += MiB)
        gwrite(off, MiB, (uint8_t)(0x40 + off / MiB));
    block_memory_set_copy_range(tgt, true);
    block_memory_set_error(tgt, OP_BIT(BLOCK_OP_COPY_RANGE), 2 * MiB, MiB, EIO);
    job = start_ready(&a);
    CHECK(mir(job)->copy_offload);
    CHECK(same(0, SIZE));
    CHECK(!saw("BLOCK_JOB_ERROR"));
    CHECK(jobs_block_job_cancel("m0", false, &err) == 0);
    RUN_UNTIL(jobs_count() == 0);
}

static const struct {
    const char *name;
    void (*fn)(void);
} tests[] = {
    { "convergence-window-rule", test_convergence_window_rule },
    { "offloaded-file-copies-bounded", test_offloaded_file_copies_bounded },
    { "scan-answer-stale-where-guest-wrote", test_scan_answer_stale_where_guest_wrote },
    { "pivot-target-flush-fails-stays-on-source", test_pivot_target_flush_fails_stays_on_source },
    { "pivot-saving-flush-reaches-source", test_pivot_saving_flush_reaches_source },
    { "offloaded-copies-yield", test_offloaded_copies_yield },
    { "offloaded-copies-one-queued-when-nobody-waits", test_offloaded_copies_one_queued_when_nobody_waits },
    { "offloaded-copies-one-per-worker-when-guests-wait", test_offloaded_copies_one_per_worker_when_guests_wait },
    { "offload-failure-retried-through-buffer", test_offload_failure_retried_through_buffer },
    { "auto-write-through-clean-only", test_auto_write_through_clean_only },
    { "speed-limit-and-set-speed", test_speed_limit_and_set_speed },
    { "replaces-raw-parent", test_replaces_raw_parent },
    { "drive-mirror-creates-target", test_drive_mirror_creates_target },
    { "drive-mirror-errors", test_drive_mirror_errors },
    { "sparse-initial-copy", test_sparse_initial_copy },
    { "blank-target-stays-sparse", test_blank_target_stays_sparse },
    { "blank-target-probed-once-holes-untouched",
      test_blank_target_probed_once_holes_untouched },
    { "unmap-false-writes-zeroes", test_unmap_false_writes_zeroes },
    { "complete-events", test_complete_events },
    { "inv1-dirty-on-completion", test_dirty_on_completion },
    { "inv2-clear-before-read", test_clear_before_read },
    { "inv3-write-blocking-waits-for-copy", test_write_blocking_waits_for_copy },
    { "write-blocking-acks-after-target", test_write_blocking_acks_after_target },
    { "write-blocking-skips-uncopied-until-ready",
      test_write_blocking_skips_uncopied_until_ready },
    { "write-blocking-ready-waits-for-source-only-write",
      test_write_blocking_ready_waits_for_source_only_write },
    { "scan-marks-outlive-write-through", test_scan_marks_outlive_write_through },
    { "write-into-owned-granule-waits-not-skips",
      test_write_into_owned_granule_waits_not_skips },
    { "source-only-write-keeps-order-behind-waiter",
      test_source_only_write_keeps_order_behind_waiter },
    { "write-after-cancel-keeps-order-behind-waiter",
      test_write_after_cancel_keeps_order_behind_waiter },
    { "inv4-pivot-holds-not-fails", test_pivot_holds_not_fails },
    { "guest-zeroes-and-discards-asked-not-copied",
      test_guest_zeroes_and_discards_asked_not_copied },
    { "write-blocking-discards-zeroed-at-speed-limit",
      test_write_blocking_discards_zeroed_at_speed_limit },
    { "ask-hands-back-what-the-source-holds", test_ask_hands_back_what_the_source_holds },
    { "pivot-writes-both-until-saved", test_pivot_writes_both_until_saved },
    { "pivot-not-saved-stays-on-source", test_pivot_not_saved_stays_on_source },
    { "pacing-rules-and-budget", test_pacing_rules_and_budget },
    { "pivot-source-write-failure-answered-once-saved",
      test_pivot_source_write_failure_answered_once_saved },
    { "pivot-not-saved-after-source-write-failure-saves-again",
      test_pivot_not_saved_after_source_write_failure_saves_again },
    { "cancel-while-pivot-saving-changes-nothing",
      test_cancel_while_pivot_saving_changes_nothing },
    { "inv5-cancel-before-ready", test_cancel_before_ready },
    { "inv5-soft-cancel-after-ready", test_soft_cancel_after_ready },
    { "force-cancel-after-ready", test_force_cancel_after_ready },
    { "inv6-target-error-report", test_target_error_report },
    { "inv6-target-error-report-slow", test_target_error_report_slow },
    { "target-error-report-copy", test_target_error_report_copy },
    { "inv6-target-error-stop-resume", test_target_error_stop_resume },
    { "target-error-enospc", test_target_error_enospc },
    { "target-error-ignore-retries", test_target_error_ignore_retries },
    { "failing-copies-are-not-divergence", test_failing_copies_are_not_divergence },
    { "source-error-report", test_source_error_report },
    { "sync-none", test_sync_none },
    { "size-mismatch", test_size_mismatch },
    { "argument-errors", test_argument_errors },
    { "change-to-write-blocking", test_change_to_write_blocking },
    { "pause-resume-copies", test_pause_resume_copies },
};

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test-mirror NAME\n");
        return 1;
    }
    for (size_t i = 0; i < VS_ARRAY_SIZE(tests); i++) {
        if (strcmp(argv[1], tests[i].name) != 0)
            continue;
        setup();
        tests[i].fn();
        teardown();
        return 0;
    }
    fprintf(stderr, "no test named %s\n", argv[1]);
    return 1;
}
