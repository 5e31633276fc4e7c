/* The public face of src/monitor: the command table, and the QMP server
 * that speaks QEMU's wire protocol over it.
 *
 * Every command is declared once, as a struct qmp_command: its name, the
 * schema of its arguments and its handler. The same declaration
 *  - validates arguments before the handler runs (unknown keys, wrong
 *    types, missing required members and bad enum values are errors with
 *    no side effect — the handler only ever sees well-typed input);
 *  - converts command-line option strings ("file,node-name=x,read-only=on")
 *    to the typed object a QMP client would have sent, so `--blockdev` and
 *    `blockdev-add` run one code path;
 *  - answers query-commands and generates docs/qmp-reference.md.
 *
 * Handlers return a new JSON reference (the "return" value; {} when there
 * is nothing to return) or NULL with the error set. */
#ifndef VOLSWAP_MONITOR_H
#define VOLSWAP_MONITOR_H

#include "../nbd/nbd.h"

#include <jansson.h>
#include <stdio.h>

enum qmp_type {
    QT_NONE = 0,   /* ends an argument list */
    QT_STR,
    QT_INT,        /* int64 */
    QT_SIZE,       /* uint64; keyval accepts k/M/G/T suffixes */
    QT_BOOL,
    QT_ENUM,       /* a string from enum_values */
    QT_OBJ,        /* an object following `schema` */
    QT_STR_OR_OBJ, /* QEMU's alternates (BlockdevRef): a string, or an object */
    QT_ANY,        /* any JSON value, passed through */
};

struct qmp_schema;

struct qmp_arg {
    const char *name;
    enum qmp_type type;
    bool optional;
    const struct qmp_schema *schema;      /* QT_OBJ, QT_STR_OR_OBJ */
    const char *const *enum_values;       /* QT_ENUM, NULL terminated */
    const char *doc;
};

/* A flat union, as QAPI has them: base members, and the member named
 * `discriminator` (an enum among the base) picks extra members. */
struct qmp_branch {
    const char *value;
    const struct qmp_arg *members;
};

struct qmp_schema {
    const struct qmp_arg *members;        /* QT_NONE terminated */
    const char *discriminator;            /* NULL: no branches */
    const struct qmp_branch *branches;    /* NULL-value terminated */
};

struct qmp_session;

/* A command's reply still to come (see qmp_defer). */
struct qmp_pending;

struct qmp_ctx {
    struct vs_loop *loop;
    struct qmp_session *session;          /* NULL for the command line */
    /* Set for a command from a client: a handler that has to wait (an
     * open on the worker pool) calls qmp_defer(), returns NULL, and
     * answers later with qmp_pending_finish(). The session reads no
     * further command from that client meanwhile, so its replies stay in
     * order; other clients, NBD and jobs go on. NULL on the command line,
     * where handlers answer at once. */
    struct qmp_pending *pending;
    bool deferred;
};

struct qmp_command {
    const char *name;
    const struct qmp_schema *args;        /* NULL: takes no arguments */
    json_t *(*handler)(struct qmp_ctx *ctx, json_t *args, struct vs_error *err);
    const char *doc;
    bool before_negotiation;              /* only qmp_capabilities */
    bool mutates;                         /* success changes saved state */
    const char *returns;                  /* doc: shape of the return value */
};

/* ---- schema.c ---------------------------------------------------------- */

/* Checks `in` against `schema` and returns a new, typed copy (or NULL with
 * err set). With keyval, string values are converted to the declared
 * types (on/off, numbers with suffixes) as the command line needs. */
json_t *qmp_schema_check(const struct qmp_schema *schema, json_t *in, bool keyval,
                         struct vs_error *err);

/* ---- commands.c -------------------------------------------------------- */

const struct qmp_command *qmp_command_find(const char *name);
/* Calls f for every command, in table order. */
void qmp_command_foreach(void (*f)(const struct qmp_command *c, void *opaque), void *opaque);
/* Validates args (may be NULL) and runs the command. */
json_t *qmp_dispatch(struct qmp_ctx *ctx, const char *name, json_t *args, bool keyval,
                     struct vs_error *err);
/* Marks the command as answered later; returns the handle to answer with
 * (only valid when ctx->pending was set). */
struct qmp_pending *qmp_defer(struct qmp_ctx *ctx);
/* The deferred reply: `ret` (a reference that is taken) or, when NULL, the
 * error. Runs the state hook first for a command that mutates, as
 * qmp_dispatch does, so a client that has the reply has the state on disk.
 * Harmless when the client is gone. Call it on the loop, never from inside
 * the handler. */
void qmp_pending_finish(struct qmp_pending *p, json_t *ret, const struct vs_error *err);

/* Command tables, one per file that defines commands. */
extern const struct qmp_command qmp_session_commands[];
extern const struct qmp_command qmp_block_commands[];
extern const struct qmp_command qmp_nbd_commands[];
extern const struct qmp_command qmp_job_commands[];
extern const struct qmp_command qmp_object_commands[];
extern const struct qmp_command qmp_iothread_commands[];
extern const struct qmp_command qmp_pool_commands[];

/* iothread.c: iothread objects, an event loop each (object-add qom-type
 * iothread), which exports bind their clients to. */
int qmp_iothread_add(const char *id, json_t *args, struct vs_error *err);
int qmp_iothread_del(const char *id, struct vs_error *err);
bool qmp_iothread_exists(const char *id);
/* The loop of iothread ID, NULL if there is none. */
struct vs_loop *qmp_iothread_loop(const char *id);
/* Calls f with the object-add arguments of every iothread (f owns them). */
void qmp_iothread_foreach_args(void (*f)(json_t *args, void *opaque), void *opaque);
/* At exit, once no NBD client is left: stops every iothread's loop. */
void qmp_iothreads_stop(void);

/* pool.c: the pool directories and devices this daemon manages for
 * volswap-api (--pool-dir, --pool-device), whose files the x-volswap-pool-*
 * commands create, grow, delete and measure, and nothing outside them. */
int qmp_pool_dir_add(const char *path, struct vs_error *err);
int qmp_pool_device_add(const char *path, struct vs_error *err);
void qmp_pools_free(void);
bool qmp_pool_has_pools(void);
bool qmp_pool_has_devices(void);
/* --confine-to-pools: blockdev-create, drive-mirror's target and
 * blockdev-add's file and host_device nodes reach only files directly
 * inside a pool directory and the pool devices. */
extern bool qmp_pool_confined;
/* With qmp_pool_confined, whether FILENAME may be opened (DEVICE_OK: a
 * pool device too) or created; -1 and a GenericError when not. Without,
 * always 0 (qemu-storage-daemon's behaviour). */
int qmp_pool_confine_check(const char *filename, bool device_ok, const char *what,
                           struct vs_error *err);

/* pool-wipe.c: zeroing a pool device handed back, on the worker pool one
 * chunk at a time (--pool-clear: zero, the default, or none). */
enum qmp_pool_clear { QMP_POOL_CLEAR_ZERO, QMP_POOL_CLEAR_NONE };
extern enum qmp_pool_clear qmp_pool_clear;
/* Starts zeroing DEVICE (a pool device; refused while a node has it
 * open); a wipe already running goes on, a failed one starts again. */
int qmp_pool_wipe_start(struct vs_loop *loop, const char *device, struct vs_error *err);
/* "ready", "wiping" or "wipe-failed", with the wipe's progress. */
const char *qmp_pool_device_state(const char *device, uint64_t *done, uint64_t *size);
/* The device being wiped that a string anywhere in V names, or NULL. */
const char *qmp_pool_wiping_in(json_t *v);
/* Every device whose wipe has not ended (for the state file). */
void qmp_pool_wipes_foreach(void (*f)(const char *device, void *opaque), void *opaque);
/* At shutdown: no further chunk starts. */
void qmp_pool_wipes_stop(void);
void qmp_pool_wipes_free(void);

/* pool-path.c: the check every pool command's path passes (pure). */
#define QMP_POOL_PATH_MAX 4095
#define QMP_POOL_NAME_MAX 255
/* An operator's pool path, absolute, with no empty, "." or ".."
 * component, trailing slashes dropped; / itself is refused. */
int qmp_pool_path_normalise(const char *in, char *out, size_t outlen, struct vs_error *err);
/* What FILENAME names: a plain file NAME directly inside DIRS[INDEX], or
 * (IS_DEVICE) exactly DEVICES[INDEX]. Anything else is refused. */
struct qmp_pool_path {
    bool is_device;
    size_t index;
    char name[QMP_POOL_NAME_MAX + 1];
};
int qmp_pool_path_parse(const char *const *dirs, size_t n_dirs, const char *const *devices,
                        size_t n_devices, const char *filename, struct qmp_pool_path *out,
                        struct vs_error *err);

/* cmd-object.c: the object-add arguments that recreate an object. */
json_t *qmp_object_args(const struct vs_object *o);

/* Writes the monitor's reference (docs/qmp-reference.md) from the table. */
void qmp_write_reference(FILE *out);

/* ---- daemon hooks ------------------------------------------------------ */

/* Set when the daemon keeps a state file: saves it on the worker pool and
 * calls `done` once the state is on disk. Called after every command that
 * changed what the daemon serves (nodes, exports, server) — a client's
 * reply waits for `done`, so a client that has seen the reply knows the
 * change is on disk — and after events that change it without a command
 * (an export gone, a job's pivot). An fsync stalled behind other disk
 * traffic delays those replies, not the loop with every NBD client and
 * other monitor. */
extern void (*qmp_state_save_async)(vs_saved_fn *done, void *opaque);
/* A `done` for saves nobody waits for. */
void qmp_nobody_waits(void *opaque, const struct vs_error *err);
/* Called by `quit` after its reply is queued: the daemon shuts down as on
 * SIGTERM. */
extern void (*qmp_quit_requested)(void);
/* For the fuzzer: blockdev-add opens no host file or device, and
 * nbd-server-start listens only on relative unix paths, so random input
 * can touch nothing outside the fuzzer's directory. */
extern bool qmp_sandbox;

/* ---- cmd-block.c: what blockdev-add was given, per node ----------------- */

/* The checked blockdev-add arguments a node was opened with (a borrowed
 * reference), or NULL for a node the monitor did not open. */
json_t *qmp_node_options(const struct block_node *node);
/* Records them for a node opened elsewhere (drive-mirror's target), so
 * that the state file and query-named-block-nodes know it. Steals opts. */
void qmp_node_options_set(struct block_node *node, json_t *opts);
/* Calls f for the TLS credentials of every recorded nbd node (held since
 * its open, also after an object-del). */
void qmp_node_tls_objects(void (*f)(struct vs_object *o, void *opaque), void *opaque);
/* The name of a node that has PATH open (its file or host device), or
 * NULL. */
const char *qmp_node_using_file(const char *path);

/* ---- state.c: the daemon's state as commands to replay ------------------- */

/* What the daemon serves now, as {"volswap-state": 1, "commands": [...]}:
 * blockdev-add for every node, nbd-server-start, block-export-add for
 * every export, each with the arguments that recreate it. Derived from the
 * live objects (an export names the node it serves now, after any pivot),
 * never from a log of the commands run. */
json_t *qmp_state_snapshot(void);
/* Checks the whole document first (a damaged one changes nothing), then
 * replays its commands in order. */
int qmp_state_restore(struct qmp_ctx *ctx, json_t *state, struct vs_error *err);
/* The check qmp_state_restore makes first, alone: the document's shape
 * and every command's arguments against its schema. Opens nothing. */
int qmp_state_check(json_t *state, struct vs_error *err);

/* ---- qmp-session.c: one QMP conversation, independent of its transport --- */

/* Limits on untrusted input. */
#define QMP_MAX_MESSAGE (1u << 20)   /* bytes in one JSON message */
#define QMP_MAX_NESTING 64           /* depth of {} and [] */

struct qmp_session_ops {
    /* Queues bytes for the client; never frees the session. */
    void (*write)(struct qmp_session *s, const char *data, size_t len);
    /* True while the client is behind on reading: input processing pauses
     * (the transport calls qmp_session_input again when it has caught up). */
    bool (*congested)(struct qmp_session *s);
    /* A deferred reply went out: input may be fed again. May be NULL. */
    void (*resume)(struct qmp_session *s);
};

struct qmp_session *qmp_session_new(struct vs_loop *loop,
                                    const struct qmp_session_ops *ops, void *opaque);
void *qmp_session_opaque(struct qmp_session *s);
/* Sends the greeting. */
void qmp_session_greet(struct qmp_session *s);
/* Feeds received bytes; returns how many were consumed (fewer than len
 * when the transport became congested, after `quit`, or while a command's
 * reply is deferred — ops->resume says when to feed again). */
size_t qmp_session_input(struct qmp_session *s, const char *buf, size_t len);
void qmp_session_free(struct qmp_session *s);
void qmp_session_set_negotiated(struct qmp_session *s);
bool qmp_session_negotiated(const struct qmp_session *s);
/* True while a command's reply is deferred (no input is taken). */
bool qmp_session_waiting(const struct qmp_session *s);
/* query-version's answer (also in the greeting): a new reference. */
json_t *qmp_version_info(void);
/* Registers the sink that delivers events to every negotiated session. */
void qmp_events_init(void);

/* ---- qmp-server.c: unix and TCP listeners on the event loop -------------- */

int qmp_server_listen(struct vs_loop *loop, const char *path, struct vs_error *err);
/* A TCP listener (QEMU's chardev host=,port=). With tls_creds (the id of
 * server-endpoint credentials, looked up now and held) every client must
 * complete a TLS handshake before it is greeted; with tls_authz too, the
 * client's identity must be that authz object's (looked up per client).
 * Errors are QEMU's. */
int qmp_server_listen_inet(struct vs_loop *loop, const char *host, const char *port,
                           const char *tls_creds, const char *tls_authz, struct vs_error *err);
/* Stops listening; sends each client what is queued for it, as far as the
 * socket takes it without blocking, and closes it. done->fn runs once
 * every connection is freed. */
void qmp_server_shutdown(struct vs_loop *loop, struct vs_bh *done);
unsigned qmp_server_client_count(void);

#endif
