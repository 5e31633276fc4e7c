/* The event loop: one io_uring, bottom halves, user-space timers and a
 * worker pool, all driven from one thread (see common.h for the design).
 *
 * One turn of the loop: run the bottom halves queued so far, fire expired
 * timers, submit what was prepared and wait — for at least one completion
 * if there is nothing else to do, up to the nearest timer — then dispatch
 * every completion that is ready. Callbacks may prepare more SQEs; they go
 * out on the next submit, which batches the syscalls under load. */
#include "common.h"

#include <errno.h>
#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct vs_loop {
    struct io_uring ring;
    bool defer_taskrun;
    bool stop;
    unsigned inflight;
    struct vs_bh *bh_head, *bh_tail;
    struct vs_list timers;          /* sorted by deadline */

    /* Worker pool. Workers take from `todo`, put on `done` and poke the
     * eventfd; the loop keeps a read on the eventfd in the ring. */
    pthread_t *threads;
    unsigned nthreads;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct vs_work *todo_head, *todo_tail;
    struct vs_work *done_head, *done_tail;
    unsigned running;               /* works inside run(), under lock */
    unsigned work_outstanding;      /* loop thread only */
    bool pool_stop;
    int efd;
    uint64_t efd_value;
    struct vs_completion efd_c;
    bool efd_armed;

    /* Messages from other threads (vs_loop_post): a stack pushed with
     * compare-and-swap and taken whole with one exchange, so a poster
     * never waits for the loop and the loop never waits for a poster. The
     * poster that finds it empty pokes the eventfd, whose read is always
     * in the ring once the loop has run (efd_msgs). */
    _Atomic(struct vs_msg *) msgs;
    bool efd_msgs;
    bool in_turn;               /* inside vs_loop_run_once: its ring submits soon */
    bool wake_queued;           /* a wake-up of another loop waits in the SQ */
    uint64_t turns;             /* vs_loop_turn */

    /* A loop of its own thread (vs_loop_spawn): the thread, and the
     * creator's wait for the ring to exist. */
    unsigned index;
    bool spawned;
    pthread_t thread;
    int tid;                    /* the kernel's id of the loop's thread */
};

/* The loop this thread runs (or, before it runs, created). */
static __thread struct vs_loop *current_loop;

struct vs_loop *vs_loop_current(void)
{
    return current_loop;
}

unsigned vs_loop_index(const struct vs_loop *loop)
{
    return loop->index;
}

int vs_loop_thread_id(const struct vs_loop *loop)
{
    return loop->tid;
}

static void *worker_main(void *opaque)
{
    struct vs_loop *loop = opaque;
    pthread_setname_np(pthread_self(), "vs-worker");
    pthread_mutex_lock(&loop->lock);
    for (;;) {
        while (!loop->todo_head && !loop->pool_stop)
            pthread_cond_wait(&loop->cond, &loop->lock);
        if (!loop->todo_head)
            break;
        struct vs_work *w = loop->todo_head;
        loop->todo_head = w->next;
        if (!loop->todo_head)
            loop->todo_tail = NULL;
        loop->running++;
        pthread_mutex_unlock(&loop->lock);

        w->run(w);

        pthread_mutex_lock(&loop->lock);
        loop->running--;
        w->next = NULL;
        if (loop->done_tail)
            loop->done_tail->next = w;
        else
            loop->done_head = w;
        loop->done_tail = w;
        uint64_t one = 1;
        /* The eventfd counter cannot overflow in practice (2^64-1). */
        if (write(loop->efd, &one, sizeof(one)) < 0) {
            /* Nothing useful to do: the loop will still find the work on
             * its next wake-up. */
        }
    }
    pthread_mutex_unlock(&loop->lock);
    return NULL;
}

static void efd_arm(struct vs_loop *loop);
static void run_msgs(struct vs_loop *loop);

static void efd_complete(struct vs_completion *c, int res, unsigned flags)
{
    struct vs_loop *loop = vs_container_of(c, struct vs_loop, efd_c);
    loop->efd_armed = false;
    run_msgs(loop);
    pthread_mutex_lock(&loop->lock);
    struct vs_work *w = loop->done_head;
    loop->done_head = loop->done_tail = NULL;
    pthread_mutex_unlock(&loop->lock);
    while (w) {
        struct vs_work *next = w->next;
        loop->work_outstanding--;
        w->done(w);
        w = next;
    }
    if (loop->work_outstanding > 0 || loop->efd_msgs)
        efd_arm(loop);
}

static void efd_arm(struct vs_loop *loop)
{
    if (loop->efd_armed)
        return;
    loop->efd_armed = true;
    struct io_uring_sqe *sqe = vs_loop_sqe(loop, &loop->efd_c);
    io_uring_prep_read(sqe, loop->efd, &loop->efd_value, sizeof(loop->efd_value), 0);
}

struct vs_loop *vs_loop_new(unsigned entries, unsigned workers)
{
    struct vs_loop *loop = vs_zalloc(sizeof(*loop));
    struct io_uring_params p;

    /* DEFER_TASKRUN runs completion work only when we ask for events, on
     * our own thread: fewer interrupts, better batching. Older kernels
     * refuse it; fall back to the plain ring. */
    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    int r = io_uring_queue_init_params(entries, &loop->ring, &p);
    if (r == 0) {
        loop->defer_taskrun = true;
    } else {
        memset(&p, 0, sizeof(p));
        r = io_uring_queue_init_params(entries, &loop->ring, &p);
        if (r < 0) {
            vs_error("io_uring_queue_init: %s", strerror(-r));
            free(loop);
            return NULL;
        }
    }
    loop->tid = (int)gettid();
    vs_list_init(&loop->timers);
    pthread_mutex_init(&loop->lock, NULL);
    pthread_cond_init(&loop->cond, NULL);
    loop->efd = eventfd(0, EFD_CLOEXEC);
    if (loop->efd < 0) {
        vs_error("eventfd: %s", strerror(errno));
        io_uring_queue_exit(&loop->ring);
        free(loop);
        return NULL;
    }
    loop->efd_c.cb = efd_complete;
    atomic_init(&loop->msgs, NULL);
    current_loop = loop;
    loop->nthreads = workers ? workers : 1;
    loop->threads = vs_zalloc(sizeof(pthread_t) * loop->nthreads);
    for (unsigned i = 0; i < loop->nthreads; i++)
        pthread_create(&loop->threads[i], NULL, worker_main, loop);
    return loop;
}

void vs_loop_free(struct vs_loop *loop)
{
    if (!loop)
        return;
    pthread_mutex_lock(&loop->lock);
    loop->pool_stop = true;
    pthread_cond_broadcast(&loop->cond);
    /* A work can hang for good (open(2) on a dead NFS server): after a
     * grace period the process goes without it. The threads are left
     * running and the loop is not freed (they still use it); this only
     * happens at exit. */
    for (int i = 0; i < 200 && loop->running > 0; i++) {
        pthread_mutex_unlock(&loop->lock);
        usleep(10000);
        pthread_mutex_lock(&loop->lock);
    }
    if (loop->running > 0) {
        unsigned n = loop->running;
        pthread_mutex_unlock(&loop->lock);
        vs_warn("%u blocking operation%s still running (a hung open?): not waiting",
                n, n == 1 ? "" : "s");
        for (unsigned i = 0; i < loop->nthreads; i++)
            pthread_detach(loop->threads[i]);
        return;
    }
    pthread_mutex_unlock(&loop->lock);
    for (unsigned i = 0; i < loop->nthreads; i++)
        pthread_join(loop->threads[i], NULL);
    free(loop->threads);
    io_uring_queue_exit(&loop->ring);
    close(loop->efd);
    pthread_mutex_destroy(&loop->lock);
    pthread_cond_destroy(&loop->cond);
    if (current_loop == loop)
        current_loop = NULL;
    free(loop);
}

struct io_uring_sqe *vs_loop_sqe(struct vs_loop *loop, struct vs_completion *c)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&loop->ring);
    while (!sqe) {
        io_uring_submit(&loop->ring);
        sqe = io_uring_get_sqe(&loop->ring);
    }
    io_uring_sqe_set_data(sqe, c);
    if (c)
        loop->inflight++;
    return sqe;
}

unsigned vs_loop_inflight(const struct vs_loop *loop)
{
    /* The eventfd's read is the loop's own, not an operation anybody
     * waits for; the work it brings back is counted in work_outstanding. */
    return loop->inflight - (loop->efd_armed ? 1u : 0u) + loop->work_outstanding +
           (loop->bh_head ? 1 : 0);
}

/* user_data no completion can have (they are pointers, 8-aligned): the
 * wake-up another loop sent, and on the sender's ring a wake-up that
 * failed (the target loop's address | 2), which then goes by eventfd. */
#define WAKE_TAG 1u
#define WAKE_FAILED_TAG 2u

static void loop_poke(struct vs_loop *loop)
{
    uint64_t one = 1;
    if (write(loop->efd, &one, sizeof(one)) < 0) {
        /* Cannot fail short of a counter at 2^64-1. */
    }
}

void vs_loop_post(struct vs_loop *loop, struct vs_msg *m)
{
    struct vs_msg *old = atomic_load_explicit(&loop->msgs, memory_order_relaxed);
    do {
        m->next = old;
    } while (!atomic_compare_exchange_weak_explicit(&loop->msgs, &old, m, memory_order_release,
                                                    memory_order_relaxed));
    if (old == NULL) {
        /* The first since the loop last took them: wake it. The ones
         * after ride along with this one. From another loop's turn the
         * wake-up is a message between rings, submitted with that loop's
         * next batch (no system call of its own); from anywhere else (a
         * worker, a thread outside a turn) the eventfd. */
        struct vs_loop *cur = current_loop;
        if (cur && cur != loop && cur->in_turn) {
            struct io_uring_sqe *sqe = vs_loop_sqe(cur, NULL);
            io_uring_prep_msg_ring(sqe, loop->ring.ring_fd, 0, WAKE_TAG, 0);
            io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)loop | WAKE_FAILED_TAG);
            sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
            cur->wake_queued = true;
            return;
        }
        loop_poke(loop);
    }
}

static void run_msgs(struct vs_loop *loop)
{
    struct vs_msg *m = atomic_exchange_explicit(&loop->msgs, NULL, memory_order_acquire);
    /* The stack holds them newest first: reversed, each poster's messages
     * run in the order it posted them. */
    struct vs_msg *fifo = NULL;
    while (m) {
        struct vs_msg *next = m->next;
        m->next = fifo;
        fifo = m;
        m = next;
    }
    while (fifo) {
        struct vs_msg *next = fifo->next;
        fifo->fn(fifo);
        fifo = next;
    }
}

void vs_loop_defer(struct vs_loop *loop, struct vs_bh *bh)
{
    if (bh->queued)
        return;
    bh->queued = true;
    bh->next = NULL;
    if (loop->bh_tail)
        loop->bh_tail->next = bh;
    else
        loop->bh_head = bh;
    loop->bh_tail = bh;
}

void vs_timer_arm(struct vs_loop *loop, struct vs_timer *t, uint64_t delay_ns)
{
    if (t->armed)
        vs_list_remove(&t->link);
    t->deadline_ns = vs_now_ns() + delay_ns;
    t->armed = true;
    /* Few timers exist at once (job throttles, retries): a sorted list is
     * simpler than a heap and just as fast at this size. */
    struct vs_list *pos = loop->timers.prev;
    while (pos != &loop->timers &&
           vs_list_entry(pos, struct vs_timer, link)->deadline_ns > t->deadline_ns)
        pos = pos->prev;
    vs_list_insert_after(pos, &t->link);
}

void vs_timer_cancel(struct vs_loop *loop, struct vs_timer *t)
{
    (void)loop;
    if (!t->armed)
        return;
    vs_list_remove(&t->link);
    t->armed = false;
}

unsigned vs_loop_workers(const struct vs_loop *loop)
{
    return loop->nthreads;
}

void vs_loop_offload(struct vs_loop *loop, struct vs_work *w)
{
    w->next = NULL;
    loop->work_outstanding++;
    pthread_mutex_lock(&loop->lock);
    if (loop->todo_tail)
        loop->todo_tail->next = w;
    else
        loop->todo_head = w;
    loop->todo_tail = w;
    pthread_cond_signal(&loop->cond);
    pthread_mutex_unlock(&loop->lock);
    efd_arm(loop);
}

static void run_bhs(struct vs_loop *loop)
{
    /* Only the ones queued before we started: a bottom half that queues
     * another must not starve the ring. */
    struct vs_bh *bh = loop->bh_head;
    struct vs_bh *last = loop->bh_tail;
    loop->bh_head = loop->bh_tail = NULL;
    while (bh) {
        struct vs_bh *next = bh == last ? NULL : bh->next;
        bh->queued = false;
        bh->fn(bh);
        bh = next;
    }
}

static void run_timers(struct vs_loop *loop)
{
    uint64_t now = vs_now_ns();
    while (!vs_list_empty(&loop->timers)) {
        struct vs_timer *t = vs_list_first(&loop->timers, struct vs_timer, link);
        if (t->deadline_ns > now)
            break;
        vs_list_remove(&t->link);
        t->armed = false;
        t->fn(t);
    }
}

static void dispatch(struct vs_loop *loop)
{
    struct io_uring_cqe *cqes[64];
    unsigned n;
    while ((n = io_uring_peek_batch_cqe(&loop->ring, cqes, VS_ARRAY_SIZE(cqes))) > 0) {
        for (unsigned i = 0; i < n; i++) {
            struct vs_completion *c = io_uring_cqe_get_data(cqes[i]);
            uint64_t tag = cqes[i]->user_data;
            int res = cqes[i]->res;
            unsigned flags = cqes[i]->flags;
            if (tag & (WAKE_TAG | WAKE_FAILED_TAG)) {
                io_uring_cqe_seen(&loop->ring, cqes[i]);
                if (tag == WAKE_TAG)
                    run_msgs(loop);
                else
                    loop_poke((struct vs_loop *)(uintptr_t)(tag & ~(uint64_t)3));
                continue;
            }
            /* Mark the CQE seen before the callback: the callback may
             * submit, and the ring must have room for the results. */
            io_uring_cqe_seen(&loop->ring, cqes[i]);
            if (!c)
                continue;
            if (!(flags & IORING_CQE_F_MORE))
                loop->inflight--;
            c->cb(c, res, flags);
        }
    }
}

uint64_t vs_loop_turn(const struct vs_loop *loop)
{
    return loop->turns;
}

int vs_loop_run_once(struct vs_loop *loop, uint64_t timeout_ns)
{
    current_loop = loop;
    loop->in_turn = true;
    loop->turns++;
    if (!loop->efd_msgs) {
        loop->efd_msgs = true;
        efd_arm(loop);
    }
    if (atomic_load_explicit(&loop->msgs, memory_order_relaxed))
        run_msgs(loop);
    run_bhs(loop);
    run_timers(loop);

    /* A bottom half or timer may have asked the loop to stop: then only
     * collect what is ready, never block. */
    bool busy = loop->bh_head != NULL || loop->stop ||
                atomic_load_explicit(&loop->msgs, memory_order_relaxed) != NULL;
    uint64_t wait_ns = timeout_ns;
    if (!vs_list_empty(&loop->timers)) {
        uint64_t dl = vs_list_first(&loop->timers, struct vs_timer, link)->deadline_ns;
        uint64_t now = vs_now_ns();
        uint64_t until = dl > now ? dl - now : 0;
        if (until < wait_ns)
            wait_ns = until;
    }
    int r;
    if (busy || wait_ns == 0) {
        r = io_uring_submit(&loop->ring);
        if (r >= 0 && loop->defer_taskrun)
            r = io_uring_get_events(&loop->ring);
    } else {
        struct io_uring_cqe *cqe;
        struct __kernel_timespec ts = {
            .tv_sec = (long long)(wait_ns / 1000000000u),
            .tv_nsec = (long long)(wait_ns % 1000000000u),
        };
        r = io_uring_submit_and_wait_timeout(&loop->ring, &cqe, 1,
                                             wait_ns == UINT64_MAX ? NULL : &ts,
                                             NULL);
    }
    if (r < 0 && r != -ETIME && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
        loop->in_turn = false;
        return r;
    }
    dispatch(loop);
    /* A wait that ended by timeout did so for a timer: fire it now, not on
     * the next turn (which might wait for I/O first). */
    run_timers(loop);
    /* What the callbacks posted to other loops: their wake-ups go with
     * this ring's next submit, which a caller that stops turning it (a
     * test, a drain at exit) may never make. */
    if (loop->wake_queued) {
        loop->wake_queued = false;
        io_uring_submit(&loop->ring);
    }
    loop->in_turn = false;
    return 0;
}

int vs_loop_run(struct vs_loop *loop)
{
    loop->stop = false;
    while (!loop->stop) {
        int r = vs_loop_run_once(loop, UINT64_MAX);
        if (r < 0) {
            vs_error("event loop: %s", strerror(-r));
            return r;
        }
    }
    /* Stopped: the turns a caller runs from now on (the drains at exit)
     * wait for completions again, instead of spinning through their
     * bounds in no time. */
    loop->stop = false;
    return 0;
}

void vs_loop_stop(struct vs_loop *loop)
{
    loop->stop = true;
}

/* ---- loops on threads of their own ------------------------------------ */

struct spawn_ctx {
    unsigned entries, workers, index;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool ready;
    struct vs_loop *loop;
};

static void *loop_thread_main(void *opaque)
{
    struct spawn_ctx *sc = opaque;
    char name[16];
    snprintf(name, sizeof(name), "vs-loop-%u", sc->index);
    pthread_setname_np(pthread_self(), name); /* for top -H and the benchmarks */
    /* The ring is made here: with SINGLE_ISSUER only the thread that made
     * it may submit to it. */
    struct vs_loop *loop = vs_loop_new(sc->entries, sc->workers);
    if (loop)
        loop->index = sc->index;
    pthread_mutex_lock(&sc->lock);
    sc->loop = loop;
    sc->ready = true;
    pthread_cond_signal(&sc->cond);
    pthread_mutex_unlock(&sc->lock);
    if (!loop)
        return NULL;
    vs_loop_run(loop);
    /* What was posted after the stop still runs (a message may free what
     * it carries). */
    for (int i = 0; i < 100 && (vs_loop_inflight(loop) > 0 ||
                                atomic_load_explicit(&loop->msgs, memory_order_relaxed));
         i++)
        vs_loop_run_once(loop, 10 * 1000 * 1000);
    return NULL;
}

struct vs_loop *vs_loop_spawn(unsigned entries, unsigned workers, unsigned index)
{
    struct spawn_ctx sc = { .entries = entries, .workers = workers, .index = index };
    pthread_mutex_init(&sc.lock, NULL);
    pthread_cond_init(&sc.cond, NULL);
    pthread_t t;
    if (pthread_create(&t, NULL, loop_thread_main, &sc) != 0) {
        vs_error("cannot start a loop thread: %s", strerror(errno));
        return NULL;
    }
    pthread_mutex_lock(&sc.lock);
    while (!sc.ready)
        pthread_cond_wait(&sc.cond, &sc.lock);
    pthread_mutex_unlock(&sc.lock);
    pthread_mutex_destroy(&sc.lock);
    pthread_cond_destroy(&sc.cond);
    if (!sc.loop) {
        pthread_join(t, NULL);
        return NULL;
    }
    sc.loop->spawned = true;
    sc.loop->thread = t;
    return sc.loop;
}

static void stop_msg(struct vs_msg *m)
{
    vs_loop_stop(vs_loop_current());
    free(m);
}

void vs_loop_join(struct vs_loop *loop)
{
    if (!loop)
        return;
    struct vs_msg *m = vs_zalloc(sizeof(*m));
    m->fn = stop_msg;
    vs_loop_post(loop, m);
    /* From a loop's turn the post's wake-up (a message between rings)
     * waits in this loop's SQ for its next submit, which the join below
     * would hold back; and submitted after the join it would name a ring
     * that is gone, and come back failed with a pointer to freed memory.
     * So it goes now. */
    struct vs_loop *cur = current_loop;
    if (cur && cur != loop && cur->wake_queued) {
        cur->wake_queued = false;
        io_uring_submit(&cur->ring);
    }
    pthread_join(loop->thread, NULL);
    vs_loop_free(loop);
}
