/* The mirror's invariants with guests on other loops ("test-mirror-loops
 * NAME"): the nodes and the job run on the test's loop (loop 0, the node's
 * loop, as in volswapd), and three writers, each a backend of the source
 * on a loop of its own thread, write through blk_submit from there, as an
 * NBD client moved to another loop does. Each writer writes one request
 * at a time into its own stripe of the volume and records, per slot, the
 * pattern of the last write it was told had finished; a scenario then
 * checks the volumes against those records. Run under ThreadSanitizer
 * (scripts/test-tsan) they also show that the writers touch no state of
 * loop 0 except through messages. */
#include "../../../src/jobs/mirror.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"

#define MiB (1024 * 1024ull)
#define SIZE (8 * MiB)
#define NWRITERS 3
#define STRIPE (2 * MiB)     /* writer i writes [i * STRIPE, (i + 1) * STRIPE) */
#define SLOTS 32             /* slots of a stripe, 64 KiB apart: one granule each */
#define WLEN 4096

static struct vs_loop *loop;
static struct block_node *src, *tgt;

struct writer {
    struct block_backend blk;   /* attached on loop 0; follows the pivot */
    struct vs_loop *loop;
    unsigned index;
    struct block_req req;
    uint8_t buf[WLEN];
    /* The writer's loop only, read by the test once `finished` is set. */
    unsigned seq;
    uint8_t last[SLOTS];        /* pattern of the last acknowledged write per slot */
    bool wrote[SLOTS];
    unsigned limit;             /* stop after this many writes; 0: when told */
    bool fresh;                 /* each write to a new offset, never rewritten */
    atomic_uint acked;
    atomic_int failed;
    atomic_bool stop;
    atomic_bool finished;
    struct vs_msg kick;
};

static struct writer writers[NWRITERS];

/* Checks posted to loop 0 when a write is acknowledged (write-blocking):
 * loop 0's own counters. */
struct ack_check {
    struct vs_msg m;
    uint64_t offset;
    uint8_t pattern;
};
static unsigned checks_run, checks_failed;

static void sink(const char *name, void *data, uint64_t ns)
{
    json_decref(data);
}

#define RUN_UNTIL(cond)                                                         \
    do {                                                                        \
        int i_;                                                                 \
        for (i_ = 0; i_ < 60000 && !(cond); i_++)                               \
            vs_loop_run_once(loop, 1000000);                                    \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: never: %s\n", __FILE__, __LINE__, #cond);  \
            exit(1);                                                            \
        }                                                                       \
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

/* ---- writers (each on its own loop) ------------------------------------ */

static uint64_t slot_offset(const struct writer *w, unsigned seq)
{
    uint64_t base = (uint64_t)w->index * STRIPE;
    if (w->fresh)
        return base + (uint64_t)seq * WLEN; /* seq < STRIPE / WLEN */
    /* A different place inside the slot's granule each time round. */
    return base + (uint64_t)(seq % SLOTS) * 64 * 1024 + (seq / SLOTS % 8) * WLEN;
}

static uint8_t pattern(const struct writer *w, unsigned seq)
{
    return (uint8_t)(1 + w->index * 80 + seq % 79);
}

static void writer_submit(struct writer *w);

static void check_msg(struct vs_msg *m)
{
    struct ack_check *c = vs_container_of(m, struct ack_check, m);
    const uint8_t *t = block_memory_data(tgt) + c->offset;
    for (unsigned i = 0; i < WLEN; i++) {
        if (t[i] != c->pattern) {
            checks_failed++;
            break;
        }
    }
    checks_run++;
    free(c);
}

static void writer_cb(struct block_req *req, int ret)
{
    struct writer *w = vs_container_of(req, struct writer, req);
    CHECK(vs_loop_current() == w->loop);
    if (ret != 0) {
        atomic_fetch_add(&w->failed, 1);
    } else if (w->fresh) {
        struct ack_check *c = vs_zalloc(sizeof(*c));
        c->m.fn = check_msg;
        c->offset = req->offset;
        c->pattern = w->buf[0];
        vs_loop_post(loop, &c->m);
    } else {
        unsigned slot = w->seq % SLOTS;
        w->last[slot] = w->buf[0];
        w->wrote[slot] = true;
    }
    w->seq++;
    atomic_fetch_add_explicit(&w->acked, 1, memory_order_release);
    if (atomic_load(&w->stop) || (w->limit && w->seq >= w->limit)) {
        atomic_store_explicit(&w->finished, true, memory_order_release);
        return;
    }
    writer_submit(w);
}

static void writer_submit(struct writer *w)
{
    memset(w->buf, pattern(w, w->seq), WLEN);
    memset(&w->req, 0, sizeof(w->req));
    w->req.op = BLOCK_OP_WRITE;
    w->req.offset = slot_offset(w, w->seq);
    w->req.len = WLEN;
    w->req.buf = w->buf;
    w->req.cb = writer_cb;
    blk_submit(&w->blk, &w->req);
}

static void kick_msg(struct vs_msg *m)
{
    writer_submit(vs_container_of(m, struct writer, kick));
}

/* Starts (or restarts, once finished) every writer. */
static void writers_start(unsigned limit, bool fresh)
{
    for (unsigned i = 0; i < NWRITERS; i++) {
        struct writer *w = &writers[i];
        atomic_store(&w->stop, false);
        atomic_store(&w->finished, false);
        w->limit = limit;
        w->fresh = fresh;
        w->kick.fn = kick_msg;
        vs_loop_post(w->loop, &w->kick);
    }
}

static bool all_acked(unsigned n)
{
    for (unsigned i = 0; i < NWRITERS; i++)
        if (atomic_load_explicit(&writers[i].acked, memory_order_acquire) < n)
            return false;
    return true;
}

static bool all_finished(void)
{
    for (unsigned i = 0; i < NWRITERS; i++)
        if (!atomic_load_explicit(&writers[i].finished, memory_order_acquire))
            return false;
    return true;
}

static void writers_stop(void)
{
    for (unsigned i = 0; i < NWRITERS; i++)
        atomic_store(&writers[i].stop, true);
    RUN_UNTIL(all_finished());
    for (unsigned i = 0; i < NWRITERS; i++)
        CHECK_EQ(atomic_load(&writers[i].failed), 0);
}

/* Every slot's last acknowledged write is what NODE holds there. */
static void check_last_writes_on(struct block_node *node)
{
    for (unsigned i = 0; i < NWRITERS; i++) {
        const struct writer *w = &writers[i];
        for (unsigned s = 0; s < SLOTS; s++) {
            if (!w->wrote[s])
                continue;
            /* The last write to slot s was write number seq - k for the
             * largest k with (seq - k) % SLOTS == s. */
            unsigned last_seq = w->seq - 1 - ((w->seq - 1 - s) % SLOTS);
            const uint8_t *p = block_memory_data(node) + slot_offset(w, last_seq);
            for (unsigned b = 0; b < WLEN; b++) {
                if (p[b] != w->last[s]) {
                    fprintf(stderr, "%s: writer %u slot %u: byte %u is 0x%02x, acknowledged 0x%02x\n",
                            node->name, i, s, b, p[b], w->last[s]);
                    exit(1);
                }
            }
        }
    }
}

/* Fills the source with data through its driver, so the copy has work. */
static bool filled;
static void fill_cb(struct block_req *req, int ret)
{
    CHECK(ret == 0);
    filled = true;
}

static void fill_src(void)
{
    static struct block_req req;
    uint8_t *buf = vs_malloc(SIZE);
    memset(buf, 0x33, SIZE);
    req.op = BLOCK_OP_WRITE;
    req.len = SIZE;
    req.buf = buf;
    req.cb = fill_cb;
    block_node_submit(src, &req);
    RUN_UNTIL(filled);
    free(buf);
}

/* ---- the job ------------------------------------------------------------ */

static struct job *start(const char *copy_mode, int64_t speed)
{
    struct mirror_args a = {
        .job_id = "m0", .device = "src", .target = "tgt", .sync = "full",
        .copy_mode = copy_mode, .speed = speed,
    };
    struct vs_error err = { 0 };
    if (jobs_blockdev_mirror(loop, &a, &err) < 0)
        fprintf(stderr, "blockdev-mirror: %s\n", err.msg);
    CHECK(!err.set);
    return job_get("m0");
}

static struct mirror *mir(struct job *job)
{
    return job->opaque;
}

static void setup(void)
{
    loop = vs_loop_new(256, 0);
    vs_event_set_sink(sink);
    src = mem_node("src");
    tgt = mem_node("tgt");
    for (unsigned i = 0; i < NWRITERS; i++) {
        struct writer *w = &writers[i];
        w->index = i;
        w->blk.owner = "writer";
        w->blk.follows_replace = true;
        w->blk.writable = true;
        block_backend_attach(&w->blk, src);
        w->loop = vs_loop_spawn(64, 0, i + 1);
        CHECK(w->loop);
    }
}

static void teardown(void)
{
    CHECK(jobs_count() == 0);
    for (unsigned i = 0; i < NWRITERS; i++) {
        vs_loop_join(writers[i].loop);
        block_backend_detach(&writers[i].blk);
    }
    /* What the writers' loops posted on their way out. */
    vs_loop_run_once(loop, 0);
    block_node_close_all();
    for (int i = 0; i < 10; i++)
        vs_loop_run_once(loop, 0);
    vs_loop_free(loop);
}

/* ---- scenarios --------------------------------------------------------- */

/* Invariants 1 and 2 across loops: writes from three loops while the
 * copy is under way (a speed limit of 4 MiB/s keeps the 8 MiB copy going
 * for two seconds, and is lifted once they are done) each mark their
 * range dirty when they complete on the source, wherever they came from;
 * at READY, with nothing left dirty, the target is the source byte for
 * byte and both hold every acknowledged write. A write from another loop
 * marked at submission, or never, leaves the target behind. */
static void test_writes_during_copy_land_on_both(void)
{
    struct vs_error err = { 0 };
    fill_src();
    struct job *job = start(NULL, 4 * MiB);
    RUN_UNTIL(mir(job)->job->progress_current > 0);
    writers_start(96, false);
    RUN_UNTIL(all_finished());
    CHECK(job->status == JOB_STATUS_RUNNING); /* the copy is not done */
    CHECK(jobs_block_job_set_speed("m0", 0, &err) == 0);
    RUN_UNTIL(job->status == JOB_STATUS_READY && hbitmap_empty(mir(job)->dirty) &&
              mir(job)->n_bg_ops == 0);
    writers_stop();
    CHECK(memcmp(block_memory_data(src), block_memory_data(tgt), SIZE) == 0);
    check_last_writes_on(src);
    check_last_writes_on(tgt);
    CHECK(jobs_block_job_cancel("m0", false, &err) == 0);
    RUN_UNTIL(jobs_count() == 0);
    for (unsigned i = 0; i < NWRITERS; i++)
        CHECK(writers[i].blk.node == src);
}

/* Invariant 4 across loops: complete while three loops keep writing, a
 * write of each in flight on the source (held there). The pivot waits
 * for them: while they are held nothing switches. Once they finish, the
 * job completes, every writer's backend is on the target, no write failed
 * and the target holds every acknowledged write, including those the
 * writers made after the switch. A pivot that drained only loop 0's
 * requests switches with the held writes still owed to the source. */
static void test_pivot_drains_writes_of_every_loop(void)
{
    struct vs_error err = { 0 };
    struct job *job = start(NULL, 0);
    RUN_UNTIL(job->status == JOB_STATUS_READY);
    writers_start(0, false);
    RUN_UNTIL(all_acked(16));
    /* Writers idle, the source held, then each writes again: its write
     * reaches the source and stays there, in flight. */
    writers_stop();
    block_memory_hold(src, true);
    writers_start(0, false);
    RUN_UNTIL(writers[0].blk.n_in_flight == 1 && writers[1].blk.n_in_flight == 1 &&
              writers[2].blk.n_in_flight == 1);
    unsigned before[NWRITERS];
    for (unsigned i = 0; i < NWRITERS; i++)
        before[i] = atomic_load(&writers[i].acked);
    CHECK(jobs_block_job_complete("m0", &err) == 0);
    for (int i = 0; i < 200; i++)
        vs_loop_run_once(loop, 100000);
    CHECK(jobs_count() == 1);
    for (unsigned i = 0; i < NWRITERS; i++) {
        CHECK(writers[i].blk.node == src);
        CHECK(atomic_load(&writers[i].acked) == before[i]);
    }
    block_memory_hold(src, false);
    RUN_UNTIL(jobs_count() == 0);
    for (unsigned i = 0; i < NWRITERS; i++)
        CHECK(writers[i].blk.node == tgt);
    unsigned now = 0;
    for (unsigned i = 0; i < NWRITERS; i++)
        now = now > atomic_load(&writers[i].acked) ? now : atomic_load(&writers[i].acked);
    RUN_UNTIL(all_acked(now + 8)); /* writes after the switch */
    writers_stop();
    check_last_writes_on(tgt);
}

/* Invariant 3's write-blocking mode across loops: once READY, a write from
 * any loop is on the target when its writer is told it finished. The
 * writer's acknowledgement posts a check to loop 0, which finds the
 * write's bytes on the target (each write goes to a fresh place, so
 * nothing later can have put them there). */
static void test_write_blocking_acked_writes_are_on_target(void)
{
    struct vs_error err = { 0 };
    struct job *job = start("write-blocking", 0);
    RUN_UNTIL(job->status == JOB_STATUS_READY);
    writers_start(200, true);
    RUN_UNTIL(all_finished());
    RUN_UNTIL(checks_run == NWRITERS * 200u);
    CHECK_EQ(checks_failed, 0);
    writers_stop();
    CHECK(jobs_block_job_cancel("m0", false, &err) == 0);
    RUN_UNTIL(jobs_count() == 0);
}

static const struct {
    const char *name;
    void (*fn)(void);
} tests[] = {
    { "loops-writes-during-copy-land-on-both", test_writes_during_copy_land_on_both },
    { "loops-pivot-drains-writes-of-every-loop", test_pivot_drains_writes_of_every_loop },
    { "loops-write-blocking-acked-writes-are-on-target",
      test_write_blocking_acked_writes_are_on_target },
};

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test-mirror-loops NAME\n");
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
