/* Internal to the mirror job: its state and the split between its files.
 *
 *   mirror.c       arguments (drive-mirror / blockdev-mirror), setup, the job
 *                  driver callbacks, the pivot and the clean-up
 *   mirror-run.c   the engine: the step function, the initial block-status
 *                  scan, copy / zero operations, rate limit, convergence and
 *                  the exit sequence (quiesce, drain, final sync, flush)
 *   mirror-hook.c  the write hooks on the source: dirty tracking and the
 *                  write-blocking (active) path
 *   mirror-pace.c  copy pacing: copies give way while the consumer would
 *                  feel them, within a bound on READY's delay
 *   mirror-pivot.c the pivot (prepare): the switch, and the guests' writes
 *                  and flushes on the target applied to the source too
 *                  until the target is flushed and the state file names it
 *
 * Where the six invariants of DESIGN.md live:
 *   1 dirty on completion       mirror-hook.c  mirror_hook_after()
 *   2 clear before read         mirror-run.c   mirror_issue_one()
 *   3 no overlap in flight      mirror-run.c   mirror_op_register() (asserted)
 *   4 hold/drain/sync/switch    mirror-run.c   exit phases + mirror-pivot.c
 *   5 cancel semantics          mirror.c       mirror_cancel / prepare
 *   6 target errors stay ours   mirror-run.c / mirror-hook.c error paths
 */
#ifndef VOLSWAP_JOBS_MIRROR_H
#define VOLSWAP_JOBS_MIRROR_H

#include "../block/block.h"
#include "../common/hbitmap.h"
#include "job.h"
#include "jobs.h"

#define MIRROR_MAX_OPS 16                 /* copy/zero operations in flight */
#define MIRROR_MAX_CHUNK (1ull << 20)     /* bytes per copy (QEMU's MAX_IO_BYTES) */
#define MIRROR_MAX_ZERO (1ull << 30)      /* bytes per write-zeroes */
#define MIRROR_BUSY_CHUNK (256ull << 10) /* bytes per copy while guests write */
#define MIRROR_OFFLOAD_CHUNK (2ull << 20) /* bytes per offloaded copy nobody waits on */
#define MIRROR_SCAN_EXTENTS 256           /* extents per block-status answer */
#define MIRROR_PROBE_EXTENTS 64  /* per block-status answer of the target probe */
#define MIRROR_BUSY_ISSUE 8               /* new copies per loop turn, ditto */
#define MIRROR_GUEST_ACTIVE_NS 100000000ull /* "guests write": one in 100 ms */
#define MIRROR_SLICE_NS 100000000ull      /* rate-limit slice: 100 ms */
#define MIRROR_WINDOW_NS 50000000ull      /* convergence window */
#define MIRROR_NONCONV_WINDOWS 2          /* windows without progress before
                                           * switching to write-blocking */
#define MIRROR_SAVE_RETRY_MIN_NS 50000000ull   /* a pivot not saved: again in */
#define MIRROR_SAVE_RETRY_MAX_NS 2000000000ull  /* ... doubling up to */
#define MIRROR_PACE_TICK_NS 1000000ull      /* pacing: the loop's lag is sampled */
#define MIRROR_PACE_WINDOW_NS 5000000ull    /* ... and judged over this long */
#define MIRROR_PACE_LAG_HIGH_NS 1000000ull  /* a window over this: copies pause */
#define MIRROR_PACE_LAG_LOW_NS 300000ull    /* ... under this: the pause halves */
#define MIRROR_PACE_PAUSE_MIN_NS 2000000ull
#define MIRROR_PACE_PAUSE_MAX_NS 16000000ull

enum mirror_sync { MIRROR_SYNC_FULL, MIRROR_SYNC_TOP, MIRROR_SYNC_NONE };

enum mirror_phase {
    MIRROR_RUN,          /* copying, READY or not */
    MIRROR_EXIT_OPS,     /* exit: waiting for our own operations */
    MIRROR_EXIT_DRAIN,   /* exit: source quiesced, draining guest requests */
    MIRROR_EXIT_SYNC,    /* exit: copying what is still dirty */
    MIRROR_EXIT_FLUSH,   /* exit: flushing the target */
    MIRROR_EXIT_DONE,    /* job_finished() called */
};

/* ASK: a range a guest zeroed or discarded; the source is asked what it
 * reads there now, what reads as zeroes is zeroed on the target, the rest
 * is handed back to the copy (mirror-run.c). */
enum mirror_op_kind { MIRROR_OP_COPY, MIRROR_OP_ZERO, MIRROR_OP_ASK, MIRROR_OP_ACTIVE };

struct mirror;

/* One operation that owns a granule-aligned range [start, end) of the
 * target until it finishes: a background copy, a write-zeroes, or a guest
 * write being written through (write-blocking). Invariant 3 is that owned
 * ranges never overlap. */
struct mirror_op {
    struct mirror *m;
    struct vs_list link;
    enum mirror_op_kind kind;
    uint64_t start, end;       /* owned range, granule aligned (end may be size) */
    uint64_t off, len;         /* bytes read/written */
    struct block_req req;      /* our request (read then write, or zeroes) */
    void *buf;
    /* MIRROR_OP_ACTIVE */
    struct block_req *guest;
    int src_ret, tgt_ret;
    bool src_done, tgt_done;
    bool taken;                /* the after hook holds the guest request */
    bool write_through;        /* WRITE / WRITE_ZEROES: also written to target */
    bool no_reset;             /* bits set meanwhile by others: keep them */
    bool head_was_dirty, tail_was_dirty;
    /* MIRROR_OP_ZERO and _ASK: how far the target has been checked or
     * zeroed, up to zend; ASK: how far the source has been asked, and
     * how many bytes went back to the copy. */
    uint64_t zpos, zend;
    uint64_t apos, given_back;
};

/* A guest write or flush on the target after the pivot, applied to the
 * source too while the pivot is not durable (mirror-pivot.c). */
struct mirror_rop {
    struct mirror *m;
    struct vs_list link;
    struct block_req *guest;
    struct block_req req;      /* the same on the source */
    uint64_t seq;              /* mirror.rop_seq when it came */
    int src_ret, tgt_ret;
    bool src_done, tgt_done;
    bool taken;                /* the after hook holds the guest request */
};

/* A guest write waiting in the before hook for an owned range to free up;
 * also one let through to the source alone (mirror->skipped). */
struct mirror_waiter {
    struct vs_list link;
    struct block_req *req;
};

struct mirror {
    struct job *job;
    struct vs_loop *loop;
    struct block_node *src, *tgt, *replaces;
    bool tgt_ours;             /* drive-mirror opened it: close it unless pivoted */
    uint64_t size;
    uint64_t gran, buf_size, chunk;
    uint64_t max_chunk;        /* a copy through a buffer: the buffer's size */
    uint64_t offload_chunk;    /* an offloaded copy (mirror-run.c, issue_copies) */
    enum mirror_sync sync;
    enum job_on_error on_src, on_tgt;
    bool unmap;
    bool copy_offload;         /* copies via BLOCK_OP_COPY_RANGE (file to file) */
    bool zero_target;          /* target known to read as zeroes */
    bool write_blocking;       /* copy-mode write-blocking */
    bool auto_active;          /* background mode switched itself (convergence) */
    bool actively_synced;
    bool should_complete;
    bool size_mismatch;

    struct hbitmap *dirty;     /* granules that differ (or may) */
    struct hbitmap *zero;      /* dirty granules the scan saw as holes/zeroes */
    struct hbitmap *zask;      /* dirty granules a guest zeroed or discarded */

    /* The initial scan (sync full/top). */
    bool scanning;
    uint64_t scan_off;
    bool status_inflight;
    bool status_raced;         /* a guest write completed during the query */
    uint64_t raced_lo, raced_hi;  /* ... covering at most this range */
    struct block_req status_req;
    struct block_extent scan_ext[MIRROR_SCAN_EXTENTS]; /* its answer */
    /* Before the scan, the target is asked whether it reads as zeroes
     * throughout (a new blank volume: the usual swap). Then the scan's
     * holes need no zero operation each (mirror-run.c, issue_scan). */
    bool tgt_probed, tgt_probe_inflight;
    uint64_t tgt_probe_off;
    struct block_req tgt_probe_req;
    struct block_extent tgt_probe_ext[MIRROR_PROBE_EXTENTS];

    struct vs_list ops;        /* struct mirror_op, all kinds */
    unsigned n_bg_ops;         /* copy + zero + ask */
    uint64_t bytes_in_flight;  /* copy buffers */
    /* Copy buffers (m->chunk bytes each) kept for reuse: a fresh 1 MiB
     * allocation is a fresh mmap, and faulting its pages in for every
     * copy cost as much as the copy itself. */
    void *pool[MIRROR_MAX_OPS];
    unsigned pool_n;
    struct vs_list waiters;
    /* User-asked write-blocking: the guest writes into still-dirty granules
     * that went to the source alone and have not reached the after hook.
     * READY waits for none to be left, so that every write acknowledged
     * from READY on is on both sides (mirror-hook.c). */
    struct vs_list skipped;
    uint64_t cursor;

    /* Rate limit. */
    uint64_t slice_start_ns, slice_bytes;
    struct vs_timer timer;

    uint64_t last_guest_ns;    /* last guest write seen by the hook */
    bool yield;                /* offloaded copies give way to any thread that
                                * wakes (BLOCK_REQ_YIELD); VOLSWAP_MIRROR_YIELD=off
                                * turns it off (mirror.c) */

    /* Pacing (mirror-pace.c). */
    bool pace_on;              /* VOLSWAP_MIRROR_PACE is not off */
    struct vs_timer pace_timer;
    uint64_t pace_start_ns;    /* the first copy's issue */
    uint64_t pace_win_start_ns, pace_lag_max_ns;
    uint64_t pace_pause_ns;    /* the next pause's length, 0: none */
    uint64_t pace_until_ns;    /* no new copy before this (0: no pause) */
    uint64_t pace_from_ns;     /* the pause counted up to here */
    uint64_t pace_held_ns;     /* pauses so far */
    uint64_t pace_lag_seen_ns; /* the longest lag seen */
    unsigned pace_pauses;

    /* Convergence. */
    uint64_t win_start_ns, win_dirty;
    uint64_t win_progress;     /* job progress at the window's start */
    uint64_t win_redirtied;    /* clean bytes guest writes dirtied since */
    uint64_t win_held_ns;      /* the pacer's pauses at the window's start */
    bool win_failed;           /* a copy failed in the window: it does not count */
    unsigned nonconv;

    bool flush_inflight;
    struct block_req flush_req;

    /* The pivot (mirror-pivot.c). */
    struct block_hook rhook;
    bool rhooked;
    bool forwarding;           /* guest writes on the target reach the source too */
    bool src_stale;            /* one of those failed on the source */
    bool pivot_settled;        /* durable (or undone): finish once rops are done */
    struct vs_list rops;       /* struct mirror_rop */
    struct vs_list parked;     /* ... done on the target alone: answered once
                                * the pivot is durable */
    struct vs_timer retry_timer; /* flush and save again (the source is stale) */
    uint64_t retry_ns;         /* ... after this long (doubles) */
    uint64_t rop_seq;          /* rops so far */
    uint64_t flush_after_seq;  /* the target's flush waits for these rops */
    bool flush_started;
    struct block_req pivot_flush_req;
    struct vs_bh pivot_bh;
    int pivot_ret;
    char *pivot_msg;

    enum mirror_phase phase;
    bool completing;           /* exit ends with source and target in sync */
    bool pivot;                /* ... and then switches (complete, not cancel) */
    uint64_t pivot_stamp;      /* block_node_replace's, to undo an unsaved pivot */
    bool quiesced;
    struct vs_bh drain_bh;
    int ret;                   /* first error to report */
    char *errmsg;

    struct block_hook hook;
    bool hooked;
};

/* mirror-run.c */
void mirror_step(struct job *job);
void mirror_timer_fired(struct vs_timer *t);
void mirror_drain_done(struct vs_bh *bh);
void mirror_op_register(struct mirror *m, struct mirror_op *op);
void mirror_op_done(struct mirror *m, struct mirror_op *op);
bool mirror_range_busy(struct mirror *m, uint64_t start, uint64_t end);
void mirror_keep_dirty(struct mirror *m, uint64_t start, uint64_t end);
void mirror_expand(struct mirror *m, uint64_t off, uint64_t len,
                   uint64_t *start, uint64_t *end);
void mirror_inner(struct mirror *m, uint64_t off, uint64_t len,
                  uint64_t *start, uint64_t *end);
/* The convergence rule for one window (mirror-run.c): true when the
 * window counts against convergence. */
bool mirror_window_diverges(uint64_t dirty_before, uint64_t dirty_after,
                            uint64_t copied, uint64_t redirtied, bool ready);
void mirror_fail(struct mirror *m, int ret);
bool mirror_active(const struct mirror *m);

/* mirror-pace.c */
void mirror_pace_init(struct mirror *m, bool on);
bool mirror_pace_allows(struct mirror *m);
void mirror_pace_stop(struct mirror *m);
void mirror_pace_report(struct mirror *m);
/* The pacer's rules as tested functions: the next pause after a window
 * whose longest loop lag was lag_max_ns, and whether a pause fits the
 * budget after elapsed_ns of which held_ns were pauses. */
uint64_t mirror_pace_next_pause(uint64_t pause_ns, uint64_t lag_max_ns);
bool mirror_pace_budget_allows(uint64_t held_ns, uint64_t pause_ns, uint64_t elapsed_ns);

/* mirror-pivot.c */
int mirror_prepare(struct job *job, struct vs_error *err);

/* mirror-hook.c */
void mirror_hook_install(struct mirror *m);
void mirror_hook_uninstall(struct mirror *m);
void mirror_wake_waiters(struct mirror *m);

#endif
