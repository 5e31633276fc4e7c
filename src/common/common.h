/* The public face of src/common: the pieces every other layer stands on —
 * intrusive lists, the control-path error object, logging, string buffers,
 * JSON serialisation, UTF-8 checks, the io_uring
 * event loop (with bottom halves, timers and a worker pool), and the
 * key=value option parser the command lines share.
 *
 * The one design decision that shapes everything above this layer is the
 * event loop, so it is explained here once:
 *
 *  - One thread runs one loop over one io_uring. Every socket and disk
 *    operation is an SQE whose user_data points at a `struct vs_completion`
 *    embedded in the caller's own state (a request, a connection). When the
 *    CQE arrives the loop calls completion->cb(completion, res, flags). So a
 *    callback is a small state-machine step that submits the next SQE and
 *    returns; nothing in the data path blocks and nothing takes a lock.
 *
 *  - A callback never runs inside the call that started the operation:
 *    completions come from the ring, and work that could finish at once is
 *    queued as a bottom half (vs_bh) and run on the next turn. This removes
 *    a whole class of re-entrancy bugs (a callee freeing its caller) and is
 *    what lets the block layer promise "cb is always called later".
 *
 *  - Timers are kept in user space and folded into the wait's timeout, so
 *    arming and cancelling one is a list operation, not an SQE race.
 *
 *  - Anything that must block (open(2) on a slow device, image creation,
 *    getaddrinfo) is a vs_work handed to a small pool of threads; its `done`
 *    half runs back on the loop thread. Workers never touch the ring.
 *
 *  - A daemon may run several loops, each on a thread of its own
 *    (vs_loop_spawn). An object belongs to the loop it records and is
 *    touched only there; other threads reach it by posting a vs_msg to
 *    its loop (vs_loop_post), which is the one thread-safe entry point.
 *    Messages from one thread to one loop run in the order posted.
 */
#ifndef VOLSWAP_COMMON_H
#define VOLSWAP_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct io_uring_sqe;

#define VS_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define VS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define vs_container_of(ptr, type, member) \
    ((type *)((char *)(ptr) - offsetof(type, member)))
#define VS_MIN(a, b) ((a) < (b) ? (a) : (b))
#define VS_MAX(a, b) ((a) > (b) ? (a) : (b))
#define VS_IS_POW2(x) ((x) != 0 && ((x) & ((x) - 1)) == 0)

/* ---- list.h: intrusive circular doubly linked list ------------------- */

struct vs_list {
    struct vs_list *next, *prev;
};

#define VS_LIST_INIT(name) { &(name), &(name) }
static inline void vs_list_init(struct vs_list *l) { l->next = l->prev = l; }
static inline bool vs_list_empty(const struct vs_list *l) { return l->next == l; }
static inline void vs_list_insert_after(struct vs_list *pos, struct vs_list *e)
{
    e->next = pos->next;
    e->prev = pos;
    pos->next->prev = e;
    pos->next = e;
}
static inline void vs_list_append(struct vs_list *head, struct vs_list *e)
{
    vs_list_insert_after(head->prev, e);
}
static inline void vs_list_remove(struct vs_list *e)
{
    e->prev->next = e->next;
    e->next->prev = e->prev;
    e->next = e->prev = e;
}
#define vs_list_entry(ptr, type, member) vs_container_of(ptr, type, member)
#define vs_list_first(head, type, member) \
    (vs_list_empty(head) ? NULL : vs_list_entry((head)->next, type, member))
#define vs_list_for_each(pos, head) \
    for (struct vs_list *pos = (head)->next; pos != (head); pos = pos->next)
/* Safe against removal of the current element. */
#define vs_list_for_each_safe(pos, head)                                   \
    for (struct vs_list *pos = (head)->next, *pos##_n = pos->next;        \
         pos != (head); pos = pos##_n, pos##_n = pos->next)

/* ---- error.c: the control-path error object ------------------------- */

/* The classes are QEMU's (qapi/error.json), because QMP clients match on
 * them. The data path does not use this: it returns negative errno. */
enum vs_errclass {
    VS_ERR_GENERIC = 0,      /* GenericError */
    VS_ERR_COMMAND_NOT_FOUND,/* CommandNotFound */
    VS_ERR_DEVICE_NOT_FOUND, /* DeviceNotFound */
    VS_ERR_DEVICE_NOT_ACTIVE,/* DeviceNotActive */
};

struct vs_error {
    bool set;
    enum vs_errclass cls;
    char msg[512];
};

/* The end of an asynchronous save (the daemon's state file): err is NULL
 * when the save is on disk. */
typedef void vs_saved_fn(void *opaque, const struct vs_error *err);

/* Sets the error unless one is already set (the first cause wins); err may
 * be NULL when the caller does not care. */
void vs_error_set(struct vs_error *err, enum vs_errclass cls,
                  const char *fmt, ...) VS_PRINTF(3, 4);
/* Same, appending ": strerror(-errnum)". */
void vs_error_set_errno(struct vs_error *err, int errnum,
                        const char *fmt, ...) VS_PRINTF(3, 4);
const char *vs_errclass_name(enum vs_errclass cls);

/* ---- log.c --------------------------------------------------------- */

/* One line per event on stderr. Text (the default):
 *     PROGRAM[SECONDS.MILLIS] LEVEL: [REQUEST_ID ]MSG
 * and, when stderr is a journald stream (systemd sets JOURNAL_STREAM),
 *     <PRIORITY>[REQUEST_ID ]MSG
 * since the journal stamps each line itself and reads the priority from
 * the prefix. --log-format json: one JSON object a line, the keys time,
 * level, program, pid and msg, then request_id (and global_request_id)
 * when the line was caused by a request, then the line's own fields. A
 * line is written with one write(2), so lines of several threads never
 * interleave. */
enum vs_log_level { VS_LOG_ERROR, VS_LOG_WARN, VS_LOG_INFO, VS_LOG_DEBUG };
extern enum vs_log_level vs_log_level;
extern bool vs_log_json;
extern const char *vs_log_program;
/* "text" or "json" into vs_log_json; false for anything else. */
bool vs_log_set_format(const char *name);
void vs_log(enum vs_log_level level, const char *fmt, ...) VS_PRINTF(2, 3);
#define vs_error(...) vs_log(VS_LOG_ERROR, __VA_ARGS__)
#define vs_warn(...)  vs_log(VS_LOG_WARN, __VA_ARGS__)
#define vs_info(...)  vs_log(VS_LOG_INFO, __VA_ARGS__)
#define vs_debug(...) \
    do { if (vs_log_level >= VS_LOG_DEBUG) vs_log(VS_LOG_DEBUG, __VA_ARGS__); } while (0)

/* A structured field of a JSON line: a string (str not NULL) or an
 * integer. The message stays complete on its own (text lines show only
 * it); fields repeat its parts for machines. */
struct vs_log_field {
    const char *key;
    const char *str;
    long long num;
};
#define VS_LOG_STR(k, v) ((struct vs_log_field){ .key = (k), .str = (v) })
#define VS_LOG_NUM(k, v) ((struct vs_log_field){ .key = (k), .num = (v) })
/* Expands to the two arguments (array, count) vs_log_fields takes:
 *     vs_log_fields(VS_LOG_INFO, VS_LOG_FIELDS(VS_LOG_NUM("status", 200)), "...") */
#define VS_LOG_FIELDS(...)                        \
    (const struct vs_log_field[]){ __VA_ARGS__ }, \
        sizeof((const struct vs_log_field[]){ __VA_ARGS__ }) / sizeof(struct vs_log_field)
void vs_log_fields(enum vs_log_level level, const struct vs_log_field *fields, size_t n_fields,
                   const char *fmt, ...) VS_PRINTF(4, 5);

/* The request the calling thread works for: every line it logs carries
 * request_id (and global_request_id, the caller's own id, when not NULL)
 * until it is cleared with NULL. Both are copied (at most 63 bytes). */
void vs_log_set_request(const char *request_id, const char *global_request_id);

/* ---- buf.c: a growing string buffer ----------------------------------- */

struct vs_buf {
    char *data; /* NUL-terminated once anything was added; NULL before */
    size_t len, cap;
};
void vs_buf_add(struct vs_buf *b, const char *s, size_t n);
void vs_buf_puts(struct vs_buf *b, const char *s);
void vs_buf_printf(struct vs_buf *b, const char *fmt, ...) VS_PRINTF(2, 3);
/* The string (N bytes) as a JSON string, quotes included: '"', '\\' and
 * control characters escaped, valid UTF-8 as it is, any other byte as
 * \u00XX, so the result is always valid JSON. False when there was such a
 * byte. */
bool vs_buf_json_string(struct vs_buf *b, const char *s, size_t n);
/* Hands the text over (the caller frees it; "" if nothing was added). */
char *vs_buf_steal(struct vs_buf *b, size_t *len);
void vs_buf_free(struct vs_buf *b);

/* ---- json.c: serialising jansson documents ---------------------------- */

/* Appends JSON (a jansson json_t *) as compact text, byte for byte what
 * json_dumps(JSON, JSON_COMPACT) writes, in about a fifth of its time (no
 * loop check: our documents are trees built by the caller). Returns -1,
 * leaving b as it was, for what jansson refuses too: a real that is NaN
 * or infinite, a string that is not valid UTF-8. */
int vs_json_dump(struct vs_buf *b, const void *json);

/* ---- utf8.c ------------------------------------------------------------ */

/* Bytes of the valid UTF-8 sequence at P (at most LEFT bytes), 0 when
 * there is none: overlong forms, surrogates and code points past U+10FFFF
 * are invalid, as the JSON encoders and OpenStack's schemas see it. */
size_t vs_utf8_seq_len(const unsigned char *p, size_t left);
/* Characters (code points) in S; a byte that is not valid UTF-8 counts as
 * one. */
size_t vs_utf8_len(const char *s);
/* Is all of S valid UTF-8? */
bool vs_utf8_valid(const char *s);
/* Drops, in place, every byte of S that is not part of a valid UTF-8
 * sequence (a character cut by truncation above all). */
void vs_utf8_repair(char *s);

/* Abort with a message on allocation failure: the daemon cannot serve
 * correctly without memory, and a half-allocated state machine is worse. */
void *vs_malloc(size_t n);
void *vs_zalloc(size_t n);
void *vs_realloc(void *p, size_t n);
char *vs_strdup(const char *s);
char *vs_strdup_printf(const char *fmt, ...) VS_PRINTF(1, 2);

/* Monotonic and wall clocks in nanoseconds; the monotonic one in
 * milliseconds. */
uint64_t vs_now_ns(void);
uint64_t vs_wall_ns(void);
static inline int64_t vs_now_ms(void)
{
    return (int64_t)(vs_now_ns() / 1000000u);
}

/* ---- loop.c: the event loop ------------------------------------------ */

struct vs_loop;

/* Embedded in the caller's state; one per operation in flight. `flags` is
 * the CQE's (IORING_CQE_F_MORE for multishot operations). */
struct vs_completion {
    void (*cb)(struct vs_completion *c, int res, unsigned flags);
};

/* A deferred callback, run once on the next turn of the loop. */
struct vs_bh {
    void (*fn)(struct vs_bh *bh);
    struct vs_bh *next;
    bool queued;
};

/* A one-shot timer (monotonic clock). */
struct vs_timer {
    void (*fn)(struct vs_timer *t);
    uint64_t deadline_ns;
    struct vs_list link;
    bool armed;
};

/* Blocking work for the pool: run() on a worker thread, done() back on the
 * loop thread. Neither may be NULL. */
struct vs_work {
    void (*run)(struct vs_work *w);
    void (*done)(struct vs_work *w);
    struct vs_work *next;
};

/* A message to another loop: fn runs on that loop's thread. The memory
 * is the poster's (usually embedded in the object it is about) until fn
 * runs; fn may free it. */
struct vs_msg {
    void (*fn)(struct vs_msg *m);
    struct vs_msg *next;
};

/* Makes a loop for the calling thread (which becomes its thread: it must
 * run it). */
struct vs_loop *vs_loop_new(unsigned entries, unsigned workers);
/* Starts a thread that makes a loop and runs it until vs_loop_join;
 * returns the loop once it exists, NULL if it could not be made. */
struct vs_loop *vs_loop_spawn(unsigned entries, unsigned workers, unsigned index);
/* Stops a spawned loop (after what was posted to it so far), waits for
 * its thread and frees it. From another thread. */
void vs_loop_join(struct vs_loop *loop);
/* Any thread: fn(m) runs on LOOP's thread, on its next turn. */
void vs_loop_post(struct vs_loop *loop, struct vs_msg *m);
/* The loop of the calling thread (the last made or run on it). */
struct vs_loop *vs_loop_current(void);
/* 0 for the first loop, as given to vs_loop_spawn for the others. */
unsigned vs_loop_index(const struct vs_loop *loop);
/* The kernel's id of the loop's thread (QEMU's thread-id). */
int vs_loop_thread_id(const struct vs_loop *loop);
void vs_loop_free(struct vs_loop *loop);
/* Runs until vs_loop_stop(); returns 0, or -errno if the ring failed. */
int vs_loop_run(struct vs_loop *loop);
void vs_loop_stop(struct vs_loop *loop);
/* Runs one turn: waits at most timeout_ns (0 = poll) for completions and
 * dispatches what is ready. For tests and for draining before exit. */
int vs_loop_run_once(struct vs_loop *loop, uint64_t timeout_ns);

/* Returns an SQE already pointing at c (c may be NULL for fire-and-forget
 * operations whose result nobody wants). Never NULL: when the submission
 * queue is full it is submitted first. */
struct io_uring_sqe *vs_loop_sqe(struct vs_loop *loop, struct vs_completion *c);

void vs_loop_defer(struct vs_loop *loop, struct vs_bh *bh);
void vs_timer_arm(struct vs_loop *loop, struct vs_timer *t, uint64_t delay_ns);
void vs_timer_cancel(struct vs_loop *loop, struct vs_timer *t);
void vs_loop_offload(struct vs_loop *loop, struct vs_work *w);
/* Threads in the worker pool: offloaded work beyond this many waits in the
 * pool's queue. */
unsigned vs_loop_workers(const struct vs_loop *loop);

/* Operations in flight (SQEs submitted, CQEs not yet seen); a loop is idle
 * when this, the bottom halves and the worker pool are all empty. */
unsigned vs_loop_inflight(const struct vs_loop *loop);
/* The loop's thread: which turn of vs_loop_run_once it is in (a count
 * that changes at every turn), for work that is budgeted per turn. */
uint64_t vs_loop_turn(const struct vs_loop *loop);

/* ---- listener.c: listening sockets ------------------------------------ */

/* Bind and listen; return the socket or -1 with err set. A unix socket is
 * made 0600 whatever the umask, or 0660 and owned by vs_unix_socket_gid
 * when that is set (>= 0). */
extern long vs_unix_socket_gid;
int vs_listen_unix(const char *path, struct vs_error *err);
int vs_listen_inet(const char *host, const char *port, struct vs_error *err);

struct vs_listener;
/* Accepts connections on fd (taking ownership) with a multishot accept;
 * on_accept gets each new socket. unix_path, if any, is unlinked at stop.
 * on_gone (may be NULL) runs once the listener has been freed. */
struct vs_listener *vs_listener_start(struct vs_loop *loop, int fd, const char *unix_path,
                                      const char *what,
                                      void (*on_accept)(void *opaque, int fd),
                                      void (*on_gone)(void *opaque), void *opaque);
/* Stops accepting; the listener frees itself when its accept is done. */
void vs_listener_stop(struct vs_listener *l);

/* ---- event.c: QMP events --------------------------------------------- */

/* Events (BLOCK_JOB_READY, BLOCK_EXPORT_DELETED, ...) are raised in the
 * layers that know of them (jobs, exports) and delivered by the monitor,
 * which sits above them; the sink is how the lower layer reaches up
 * without a dependency. `data` is a jansson json_t * object whose reference
 * the call steals. The timestamp is taken here, at the moment of the event. */
typedef void vs_event_sink_fn(const char *event, void *data,
                              uint64_t wall_ns);
void vs_event_set_sink(vs_event_sink_fn *fn);
void vs_event_emit(const char *event, void *data);

/* ---- trace.c: where a consumer's request waits ----------------------- */

/* A ring of timestamped marks (a phase of a job, a command received or
 * answered, a pivot's steps) that QMP's x-volswap-query-trace returns, so
 * that a benchmark can put them on the same time line as its consumer's
 * latency log. Each mark also carries the longest guest request that
 * completed since the mark before it: a phase that holds writes shows up
 * as a long one at its end. `event` must be a string constant; `subject`
 * (a node or job name, or NULL) is copied. Loop thread only. */
void vs_trace(const char *event, const char *subject);
/* A guest (backend) request finished after `ns` nanoseconds. */
void vs_trace_request(bool write, uint64_t ns);
/* Calls f for each mark, oldest first; then forgets them when clear. */
typedef void vs_trace_fn(const char *event, const char *subject, uint64_t wall_ns,
                         uint64_t mono_ns, uint64_t max_write_ns, uint64_t max_read_ns,
                         void *opaque);
void vs_trace_foreach(vs_trace_fn *f, void *opaque, bool clear);

/* ---- wipe.c: zeroing a device handed back ---------------------------- */

/* The most one vs_wipe_chunk zeroes: a fraction of a second with WRITE
 * ZEROES offload, a second or two where the kernel writes the zeroes. */
#define VS_WIPE_CHUNK (256ull << 20)
/* Opens PATH (a block device or a regular file, not through a symbolic
 * link) for zeroing: *fd and *size, or -errno. */
int vs_wipe_open(const char *path, int *fd, uint64_t *size);
/* Zeroes the next chunk from *done (advanced), and flushes the device
 * once *done reaches size: 0 or -errno. */
int vs_wipe_chunk(int fd, uint64_t *done, uint64_t size);
/* Zeroes all of PATH, chunk by chunk, in the calling thread. */
int vs_wipe_all(const char *path);

/* ---- keyval.c: "driver,key=value,key2.sub=value" option strings -------- */

/* Parses a qemu-storage-daemon style option string into a JSON object
 * (jansson json_t *, returned as void * so this header does not need
 * jansson.h). Dotted keys nest ("cache.direct=on" -> {"cache":{"direct":"on"}}).
 * A leading bare word is stored under implied_key (NULL: not allowed).
 * ",," is a literal comma. All values are strings; the command table's
 * keyval mode converts them to the declared types. */
void *vs_keyval_parse(const char *str, const char *implied_key,
                      struct vs_error *err);

#include "hbitmap.h"

#endif
