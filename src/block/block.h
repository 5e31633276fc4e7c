/* The public face of src/block: block nodes, the requests they serve, the
 * backends that issue those requests, and the hooks a job uses to watch or
 * hold writes. Drivers (file, raw, memory, later nbd) live behind
 * struct block_driver and are never called directly from above.
 *
 * The shape, and why:
 *
 *  - A *node* is one opened volume (or a filter over one): driver, node-name,
 *    size, read-only. Every operation is an asynchronous struct block_req
 *    whose cb runs on the loop, always later than the submit call. One
 *    request type for every operation keeps the in-flight accounting, the
 *    drain and the hooks in one place instead of one per operation.
 *
 *  - A *backend* (QEMU's BlockBackend) is a user of a node: an NBD export, a
 *    job. Requests from above always go through a backend. That indirection
 *    is what makes a pivot cheap and safe: block_node_replace() re-points
 *    every backend that follows its node, including the requests it is
 *    holding, so an export's open connections continue on the new node
 *    without noticing.
 *
 *  - *Quiesce* holds new requests arriving through backends on a queue;
 *    *drain* reports when the node's in-flight requests reach zero;
 *    *release* resubmits the held requests through their backends (which may
 *    by then point at another node). Together they are invariant 4 of the
 *    mirror (DESIGN.md): hold, drain, switch, release — a pause, never an
 *    error.
 *
 *  - *Write hooks* let a job see every write-class request (WRITE,
 *    WRITE_ZEROES, DISCARD) and flush to a node: before it reaches the driver, and
 *    after it completes there but before its issuer hears of it. Either hook
 *    may take the request and resume it later. The mirror uses "after" to
 *    mark the dirty bitmap when a guest write completes on the source
 *    (invariant 1), "before" to keep a guest write from racing a copy of
 *    the same range (invariant 3), and, in write-blocking mode, "after" to
 *    copy the write to the target before it is acknowledged.
 */
#ifndef VOLSWAP_BLOCK_H
#define VOLSWAP_BLOCK_H

#include "../common/common.h"
#include "../crypto/crypto.h"

struct block_node;
struct block_backend;

enum block_op {
    BLOCK_OP_READ,
    BLOCK_OP_WRITE,
    BLOCK_OP_FLUSH,
    BLOCK_OP_DISCARD,
    BLOCK_OP_WRITE_ZEROES,
    BLOCK_OP_BLOCK_STATUS,
    /* Copy [offset, offset + len) of req->copy_src to the same place in the
     * node the request is submitted to, inside the kernel (copy_file_range:
     * one copy instead of read + write, a reflink where the file system
     * can). -ENOTSUP when the pair of nodes cannot do it. */
    BLOCK_OP_COPY_RANGE,
};

/* Request flags. */
#define BLOCK_REQ_FUA         0x1u /* WRITE/WRITE_ZEROES/DISCARD: durable on completion */
#define BLOCK_REQ_MAY_UNMAP   0x2u /* WRITE_ZEROES: may deallocate the range */
#define BLOCK_REQ_NO_FALLBACK 0x4u /* WRITE_ZEROES: fail -ENOTSUP rather than write zeroes slowly */
#define BLOCK_REQ_BULK        0x8u /* background copy: throughput over latency; the
                                    * driver may run it off the loop thread */
#define BLOCK_REQ_YIELD       0x10u /* COPY_RANGE: any thread that wakes up
                                     * preempts the copy (the driver's thread
                                     * runs it with a long scheduler slice) */

/* BLOCK_STATUS results. */
#define BLOCK_STATUS_HOLE 0x1u /* not allocated */
#define BLOCK_STATUS_ZERO 0x2u /* reads as zeroes */

/* One extent of a BLOCK_STATUS answer. */
struct block_extent {
    uint64_t len;
    unsigned flags;                      /* BLOCK_STATUS_* */
};

struct block_req {
    /* Filled by the issuer. */
    enum block_op op;
    unsigned flags;
    uint64_t offset;
    uint64_t len;
    void *buf;                           /* READ, WRITE: len bytes */
    struct block_node *copy_src;         /* COPY_RANGE: where the bytes come from */
    void (*cb)(struct block_req *req, int ret); /* ret: 0 or -errno */
    void *opaque;

    /* BLOCK_STATUS answer: [offset, offset + status_len) all has
     * status_flags; status_len is > 0 and <= len. */
    uint64_t status_len;
    unsigned status_flags;
    /* BLOCK_STATUS, optional: room for max_extents extents. A driver that
     * can tell several in one go (a round trip to the worker pool or a
     * server per extent is what made a sparse volume's scan slow) fills
     * extents[0 .. n_extents): consecutive from offset, each len > 0, in
     * all <= len. Drivers always find room for at least one (the block
     * layer lends one_extent to an issuer that gave none) and may answer
     * either way: with extents (status_len/status_flags then come from the
     * first) or with status_len/status_flags alone (they then become
     * extents[0]). After success both agree and n_extents >= 1. */
    struct block_extent *extents;
    unsigned max_extents;
    unsigned n_extents;

    /* Private to the block layer and its drivers. */
    struct block_node *node;      /* where it was submitted */
    struct block_backend *blk;    /* who issued it, if through a backend */
    struct vs_list link;          /* node's in-flight or held list */
    struct vs_completion c;       /* the driver's io_uring completion */
    struct vs_bh bh;              /* deferred completion */
    int ret;
    uint64_t done;                /* bytes transferred so far */
    int hook_pos;                 /* where the hook walk is */
    struct block_extent one_extent; /* BLOCK_STATUS room when the issuer gave none */
    bool in_flight;
    bool at_driver;               /* before hooks done, driver called */
    uint64_t start_ns;            /* submitted at (monotonic), for the accounting */
    bool submitting;              /* inside drv->submit: defer completion */
    bool completed_early;         /* driver finished inside submit */

    /* A request submitted through a backend from another loop than the
     * node's (backend.c): it travels to the node's loop and its result
     * back, each way as a message; cb runs on the issuer's loop. */
    struct vs_msg fwd_msg;
    struct vs_loop *fwd_loop;     /* the issuer's loop */
    struct block_backend *fwd_blk;
    void (*fwd_cb)(struct block_req *req, int ret);

    /* A READ that blk_submit sent straight to the driver from the issuer's
     * loop (a direct read, backend.c): it runs and completes there, and
     * never enters the node's lists. Set by blk_submit from another loop
     * than the node's (only there); the issuer may read it in its cb. */
    bool direct;
    struct vs_loop *direct_loop;
};

/* Driver interface: one per kind of node. */
struct block_node_opts {
    const char *driver;     /* "file", "host_device", "raw", "memory", "nbd" */
    const char *node_name;
    const char *filename;   /* file, host_device */
    const char *file;       /* raw: the child node's name */
    uint64_t size;          /* memory: size in bytes */
    bool read_only;
    bool direct;            /* cache.direct: O_DIRECT */
    bool unmap;             /* discard=unmap: honour discard requests */
    bool implicit_name;     /* generated "#blockNNN": skip the name rules */
    /* nbd: a unix socket path, or host and port; and the export name */
    const char *nbd_path, *nbd_host, *nbd_port, *nbd_export;
    uint64_t nbd_reconnect_delay;  /* seconds requests wait for a reconnect */
    uint64_t nbd_open_timeout;     /* seconds the first connect is retried */
    /* nbd: tls-creds, the id of client TLS credentials, and tls-hostname.
     * The open resolves the id on the loop into nbd_tls (a reference held
     * while the open runs): the driver reads the object on the worker pool,
     * where the namespace must not be touched. */
    const char *nbd_tls_creds, *nbd_tls_hostname;
    struct vs_object *nbd_tls;
};

struct block_driver {
    const char *name;
    /* Opens node->opaque from opts. May block (called at start-up or, when
     * open_waits, from the worker pool: then it must not touch the loop).
     * Sets node->size and node->align. */
    int (*open)(struct block_node *node, const struct block_node_opts *opts,
                struct vs_error *err);
    /* On the loop, once open succeeded: what open could not do off it (an
     * nbd node starts watching its socket). NULL: nothing. */
    void (*attach)(struct block_node *node);
    void (*close)(struct block_node *node);
    /* Starts req; calls block_req_driver_done(req, ret) when finished. */
    void (*submit)(struct block_node *node, struct block_req *req);
    /* Optional: starts a READ of req on LOOP, the issuer's, which is
     * another loop than the node's, and calls block_req_direct_done(req,
     * ret) on LOOP when finished, never inside this call. Only for drivers
     * whose reads are positional system calls that need nothing of the
     * node's loop and no ordering with any other request (a file's pread):
     * the backend's direct reads (backend.c). It may read the node's
     * constant state (its fds, its alignment), nothing else. */
    void (*read_direct)(struct block_node *node, struct block_req *req, struct vs_loop *loop);
    /* Grows or shrinks; may block. */
    int (*truncate)(struct block_node *node, uint64_t size, struct vs_error *err);
    /* The blocking part of truncate alone (the system call), safe on a
     * worker: it does not touch the node, whose size the caller sets on
     * the loop. NULL when truncate does not block. */
    int (*truncate_blocking)(struct block_node *node, uint64_t size, struct vs_error *err);
    /* Whether writes from several connections are coherent (NBD
     * CAN_MULTI_CONN). */
    bool multi_conn;
    /* open(2)s opts->filename: the node records the path. */
    bool opens_path;
    /* The open may wait (on storage, on a server): block_node_open_async
     * runs it on the worker pool. */
    bool open_waits;
    /* Whether BLOCK_OP_COPY_RANGE into dst (a node of this driver) from src
     * can work at all. NULL: never (the op fails -ENOTSUP). */
    bool (*can_copy_range)(const struct block_node *dst, const struct block_node *src);
};

struct block_hook {
    /* Either may be NULL. Return true to take the request; the hook then
     * calls block_req_hook_resume() exactly once, later. `before` sees the
     * request before the driver; `after` after the driver, with its result
     * (it may change the result with block_req_hook_resume's ret). */
    bool (*before)(struct block_hook *h, struct block_req *req);
    bool (*after)(struct block_hook *h, struct block_req *req, int ret);
    struct vs_list link;
    void *opaque;
};

/* I/O accounting, as QEMU's BlockDeviceStats counts it: operations, bytes
 * and time per kind (write-zeroes and copies count as writes), failures
 * (a request the node refused at the door is "invalid", one its driver
 * failed is "failed"), and the highest offset written. A node counts what
 * was submitted to it; an export's backend counts what its clients asked. */
enum block_acct { BLOCK_ACCT_READ, BLOCK_ACCT_WRITE, BLOCK_ACCT_FLUSH, BLOCK_ACCT_UNMAP,
                  BLOCK_ACCT__COUNT };
struct block_stats {
    uint64_t bytes[BLOCK_ACCT__COUNT];
    uint64_t ops[BLOCK_ACCT__COUNT];
    uint64_t failed[BLOCK_ACCT__COUNT];
    uint64_t invalid[BLOCK_ACCT__COUNT];
    uint64_t total_time_ns[BLOCK_ACCT__COUNT];
    uint64_t wr_highest_offset;
    uint64_t last_io_ns;          /* monotonic; 0: never */
};

/* CLOCK_MONOTONIC in nanoseconds, the accounting's clock. */
uint64_t block_now_ns(void);

struct block_node {
    char *name;
    char *filename;            /* file, host_device: the path opened; else NULL */
    const struct block_driver *drv;
    struct vs_loop *loop;
    void *opaque;              /* driver state */
    uint64_t size;
    uint32_t align;            /* minimum I/O alignment (1 unless O_DIRECT) */
    bool read_only;
    bool unmap;
    struct block_node *child;  /* filters (raw) */
    unsigned parents;          /* nodes that have this one as child */
    unsigned jobs;             /* jobs using this node */
    bool resizing;             /* a truncate runs on the worker pool */
    struct vs_list link;       /* global list of named nodes */
    struct vs_list backends;   /* struct block_backend */
    struct vs_list in_flight;  /* struct block_req */
    struct vs_list held;       /* quiesced requests, struct block_req */
    struct vs_list hooks;      /* struct block_hook */
    unsigned n_in_flight;      /* on its lists; its backends' direct reads apart */
    unsigned quiesce;          /* > 0: hold new backend requests */
    struct vs_bh *drain_waiter;
    uint64_t generation;       /* bumped when the node's content is replaced */
    struct block_stats stats;
    /* The reads its backends' issuers did directly on their loops
     * (backend.c), added there with atomic operations: read them with
     * block_node_stats. */
    struct block_stats direct_stats;
    /* block-set-write-threshold: the first write (or write-zeroes, or copy)
     * that ends past it sends BLOCK_WRITE_THRESHOLD and clears it; 0: off */
    uint64_t write_threshold;
    /* Trace the next guest write that completes here (set by a pivot). */
    bool trace_first_write;
    /* While set, the state file names this node instead, for every export
     * that serves this one: a pivot onto this node that is not durable yet
     * (mirror-pivot.c). */
    struct block_node *saved_as;
};

struct block_backend {
    struct block_node *node;
    /* The loop of its node (of every node it is moved to: a pivot moves it
     * only between nodes of one loop). Set at attach and never changed, so
     * an issuer on another loop may read it. */
    struct vs_loop *loop;
    /* The node's size, for issuers on other loops that check a request
     * before sending it (NBD's ENOSPC past the end): kept by the block
     * layer on the node's loop, read with an atomic load. */
    uint64_t size_seen;
    const char *owner;         /* for messages: "export vol0", "job mirror0" */
    bool follows_replace;      /* moved by block_node_replace (exports: yes) */
    uint64_t replace_stamp;    /* the last move that took it (0: none) */
    bool writable;
    struct vs_list link;       /* in node->backends */
    unsigned n_in_flight;
    /* Requests submitted through it and not yet finished, held ones
     * included; on_idle (may be NULL) runs on the node's loop when it
     * drops to 0, after the last one's cb. What lets an issuer on another
     * loop know when its backend is no longer used. */
    unsigned n_reqs;
    void (*on_idle)(struct block_backend *blk);
    struct block_stats stats;  /* what this backend's issuer asked, across pivots */

    /* Direct reads (backend.c). The gate is open while the node's driver
     * can read from any loop and nothing needs the node's reads in one
     * place: set on the node's loop, closed by a quiesce and before the
     * backend is detached or moved. direct_in counts the reads issuers on
     * other loops have started through it and not finished (and those
     * about to look at the gate); the node's loop waits for it to reach 0
     * after it closes the gate, and the issuer that brings it to 0 with
     * the gate closed tells the node's loop with direct_msg. */
    int direct_open;
    bool direct_shut;          /* closed for good: the backend is going */
    unsigned direct_in;
    int direct_msg_posted;
    struct vs_msg direct_msg;
    struct block_stats direct_stats; /* atomics, as the node's */
};

/* ---- node.c: the node registry --------------------------------------- */

/* Opens a node and registers it under opts->node_name (which must be a
 * unique, valid name). Blocks; call it at start-up or from a worker. */
struct block_node *block_node_open(struct vs_loop *loop,
                                   const struct block_node_opts *opts,
                                   struct vs_error *err);
/* The same, but a file or host_device is opened on the worker pool: open(2)
 * on a hung NFS mount or a dead multipath device must not stop the loop,
 * and with it every NBD client. The name is taken at once (a second open
 * of it fails as a duplicate) but the node is found by nobody until it is
 * open. `done` is always called later, on the loop, never inside this
 * call: with the node, or with NULL and the error. */
typedef void block_open_done_fn(struct block_node *node, const struct vs_error *err,
                                void *opaque);
void block_node_open_async(struct vs_loop *loop, const struct block_node_opts *opts,
                           block_open_done_fn *done, void *opaque);
/* Fails (DeviceNotFound style messages are the caller's) when the node is
 * exported, has a parent or is used by a job. */
int block_node_close(struct block_node *node, struct vs_error *err);
/* Closes every node, ignoring users: for process exit. */
void block_node_close_all(void);
struct block_node *block_node_find(const char *name);
/* QEMU's bdrv_lookup_bs: the node named DEVICE, else NODE_NAME (either may
 * be NULL), or NULL with QEMU's "Cannot find device='D' nor node-name='N'". */
struct block_node *block_node_lookup(const char *device, const char *node_name,
                                     struct vs_error *err);
/* Iterates over every named node in creation order. */
struct block_node *block_node_next(struct block_node *prev);
bool block_node_in_use(const struct block_node *node);
/* Set by volswapd's --confine-to-pools: file and host_device opens, and
 * the files jobs create, refuse a symbolic link as the last component
 * (the monitor has checked the path's directory already). */
extern bool block_files_nofollow;
int block_node_truncate(struct block_node *node, uint64_t size,
                        struct vs_error *err);
/* The same with the system call on the worker pool (ftruncate on a hung
 * NFS server must not stop the loop). Refusals (no such operation, read
 * only, used by a job, already resizing) are immediate: -1 and err.
 * Otherwise 0, and `done` is called later on the loop, never inside. The
 * node cannot be closed, resized again or mirrored meanwhile; I/O goes on
 * with the old size until the new one is set. */
typedef void block_resize_done_fn(struct block_node *node, const struct vs_error *err,
                                  void *opaque);
int block_node_truncate_async(struct block_node *node, uint64_t size,
                              block_resize_done_fn *done, void *opaque,
                              struct vs_error *err);
const struct block_driver *block_driver_find(const char *name);
bool block_node_name_valid(const char *name);

/* ---- io.c: requests -------------------------------------------------- */

/* Submits directly to the node (jobs' own I/O, filters). Validates the
 * range: a request past the end fails -EINVAL... via cb, never inline. */
void block_node_submit(struct block_node *node, struct block_req *req);
/* For drivers: the request is finished. */
void block_req_driver_done(struct block_req *req, int ret);
/* For hooks: continue a request taken by a hook. */
void block_req_hook_resume(struct block_req *req, int ret);
void block_hook_add(struct block_node *node, struct block_hook *h);
void block_hook_remove(struct block_node *node, struct block_hook *h);
static inline bool block_op_is_write(enum block_op op)
{
    return op == BLOCK_OP_WRITE || op == BLOCK_OP_WRITE_ZEROES ||
           op == BLOCK_OP_DISCARD;
}
/* What the hooks see: the write class, and flushes (a pivot that is not
 * yet durable makes a guest's flush flush the source too). */
static inline bool block_op_is_hooked(enum block_op op)
{
    return block_op_is_write(op) || op == BLOCK_OP_FLUSH;
}

/* Whether BLOCK_OP_COPY_RANGE from src to dst can work at all (dst's
 * driver says: file nodes on regular files, memory nodes told to); it may
 * still fail -ENOTSUP (another file system). */
bool block_node_can_copy_range(const struct block_node *dst, const struct block_node *src);

/* ---- backend.c ------------------------------------------------------- */

void block_backend_attach(struct block_backend *blk, struct block_node *node);
void block_backend_detach(struct block_backend *blk);
/* Any loop. From the node's loop the request goes straight in; from
 * another loop it is posted to the node's loop and its cb runs back on
 * the issuer's loop. So everything a node keeps (its in-flight list, its
 * held requests, the hooks of a job, the accounting) stays on one thread,
 * and quiesce, drain and a job's hooks see the requests of every loop:
 * a request is either still on its way (not yet submitted: it arrives
 * after a drain as any new request would, through the backend, which by
 * then may point at a pivot's target) or on the node's lists. The issuer
 * is told only after the node's loop finished the request.
 *
 * Except a READ while the backend's gate is open: the issuer's loop reads
 * directly through the driver (read_direct), which costs no message and
 * no wake-up of the node's loop. Reads need nothing the node's loop
 * keeps (the hooks and the dirty bitmap are for writes; a read may run
 * beside any other request), only to be counted by a drain, and they are
 * (direct_in): the rule is that a quiesce closes the gate of every
 * backend of the node and block_node_drain waits for the direct reads
 * already running too, so a pivot's drained section has no read of any
 * loop in flight, and the reads that come after it go through the node's
 * loop (held, then sent to the new node) until the release opens the
 * gate again. */
void blk_submit(struct block_backend *blk, struct block_req *req);
/* The issuer's loop: a direct read finished (drivers' read_direct). */
void block_req_direct_done(struct block_req *req, int ret);
/* The node's loop: closes the backend's gate for good (it is going) and
 * says whether none of its direct reads is still running; if one is,
 * on_idle runs once the last has finished. */
bool blk_direct_shut(struct block_backend *blk);
/* The node's loop: whether no backend of the node has a direct read
 * running. */
bool block_node_direct_idle(struct block_node *node);
/* The node's loop: no request in flight on it and, if it is quiesced, no
 * direct read of any loop either (what block_node_drain waits for). */
bool block_node_drained(struct block_node *node);
/* The node's loop: counters with the direct reads added in. */
struct block_stats block_node_stats(const struct block_node *node);
struct block_stats blk_stats(const struct block_backend *blk);
/* Any loop: the size of the backend's node as last seen on its loop. */
uint64_t blk_size(const struct block_backend *blk);
/* The node's loop: its size changed (truncate); its backends learn it. */
void block_node_size_changed(struct block_node *node);

/* ---- drain.c: quiesce, drain, replace, release ----------------------- */

void block_node_quiesce(struct block_node *node);
/* done->fn runs once the node has no request in flight (maybe at once,
 * but always from the loop). One waiter at a time. */
void block_node_drain(struct block_node *node, struct vs_bh *done);
void block_node_release(struct block_node *node);
/* Moves every backend of `from` that follows replaces, and every request
 * held on `from`, to `to`. Both must be quiesced and `from` drained.
 * Returns a stamp naming this move, for block_node_replace_undo. */
uint64_t block_node_replace(struct block_node *from, struct block_node *to);
/* Moves back to `from` exactly the backends the move `stamp` took to `to`
 * (and the requests they have held there); backends attached to `to` by
 * anything else stay. For a pivot that cannot be made durable. */
void block_node_replace_undo(struct block_node *to, struct block_node *from,
                             uint64_t stamp);

/* ---- memory.c: a RAM node for tests and fuzzing ----------------------- */

/* Every request whose op bit (1u << BLOCK_OP_x) is in op_mask and which
 * touches [offset, offset+len) fails with -err (0 clears the rule). */
void block_memory_set_error(struct block_node *node, unsigned op_mask,
                            uint64_t offset, uint64_t len, int err);
/* While held, I/O requests queue instead of completing; releasing
 * completes them in submission order. Lets tests decide the interleaving.
 * Block status is not held (block_memory_delay_status delays it). */
void block_memory_hold(struct block_node *node, bool hold);
/* Requests completed by the memory node since it was opened. */
uint64_t block_memory_completed(struct block_node *node);
/* Direct access to the node's bytes (tests check contents with it). */
uint8_t *block_memory_data(struct block_node *node);
/* Bytes allocated (written with data, not discarded or zero-punched). */
uint64_t block_memory_allocated(struct block_node *node);
/* Lets the node take BLOCK_OP_COPY_RANGE from another memory node (off by
 * default, so layers above use reads and writes): a test of the offloaded
 * path can then fail copies with block_memory_set_error. */
void block_memory_set_copy_range(struct block_node *node, bool on);
/* While on, BLOCK_STATUS is answered when submitted but delivered only when
 * it is turned off: what a status query that raced with a write sees. */
void block_memory_delay_status(struct block_node *node, bool delay);

#endif
