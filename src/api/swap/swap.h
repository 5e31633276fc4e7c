/* The swap workflow of volswap-api: Nova's `volume-update` (PUT on an
 * os-volume_attachments member), the compute manager's swap_volume and the
 * libvirt driver's mirror-and-pivot, rebuilt as a worker thread per swap
 * that drives the host daemon over QMP. Cinder's os-migrate_volume runs the
 * same worker and finishes the way migrate_volume_completion does.
 *
 * The pieces, one file each (the REST doors, Nova's PUT, the progress
 * endpoint and Cinder's os-migrate_volume, are in rest/swap.c; the shared
 * QMP session per host is hosts/session.c):
 *   store.c     the persisted swap records (the registry's reg_swap), so a
 *               restarted API knows what was in flight
 *   driver.c    the QMP steps per host driver (volswapd, qemu)
 *   worker.c    the state machine: open target, mirror, READY, complete,
 *               resize, record, close old; rollback on every failure
 *   recover.c   at start: ask each host what became of every unfinished
 *               swap and finish it or roll it back
 *   reconcile.c once a host that was out of reach answers again: close
 *               what the swaps it missed left open there
 *   service.c   the service: start/stop, the table of running swaps and
 *               their live progress
 * Nothing here speaks HTTP.
 * Control-path convention as in base/base.h: -1 and a struct api_error. */
#ifndef VOLSWAP_API_SWAP_H
#define VOLSWAP_API_SWAP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/base.h"
#include "domain/domain.h"
#include "hosts/hosts.h"
#include "qmp-client.h"

/* ---- the public face (called by main.c and the route tables) ---- */

/* Recovers every unfinished swap of CTX's registry against its host, and
 * gets ready to accept new ones. */
int swap_service_start(struct api_ctx *ctx, struct api_error *e);
/* Stops accepting swaps and joins the workers. A worker interrupted here
 * leaves its record as it is: the next start recovers it. */
void swap_service_stop(void);

/* ---- swap records (store.c) ---- */

/* Phases, in the order a swap goes through them. A record is finished once
 * it reaches DONE or ROLLED_BACK. */
enum swap_phase {
    SP_ACCEPTED,    /* states marked, 202 sent; nothing on the host yet */
    SP_TARGET_OPEN, /* the new volume may be open on the host */
    SP_MIRRORING,   /* the mirror job may exist */
    SP_READY,       /* BLOCK_JOB_READY seen */
    SP_COMPLETING,  /* block-job-complete sent: the pivot may have happened */
    SP_PIVOTED,     /* BLOCK_JOB_COMPLETED without error: the host serves new */
    SP_RECORDED,    /* registry updated: attachment on the new volume */
    SP_DONE,        /* old node closed, event recorded */
    SP_ROLLED_BACK, /* failed and undone: the server is on the old volume */
    SP__COUNT
};
const char *swap_phase_name(enum swap_phase p);
int swap_phase_parse(const char *name, enum swap_phase *out);

enum swap_kind { SWAP_NOVA, SWAP_MIGRATE };

struct swap_rec {
    char id[64]; /* the action's request id, also the job id */
    enum swap_kind kind;
    char server_id[37], project_id[33], user_id[33], host[65];
    char old_volume_id[37], new_volume_id[37], attachment_id[37];
    char old_node[32], new_node[32];
    char old_path[1024]; /* migrate: the storage to remove afterwards */
    int64_t old_size_gb, new_size_gb;
    enum swap_phase phase;
    char error[512];
    char started_at[32], updated_at[32];
    /* figures, kept for the progress endpoint once the swap is over */
    int64_t bytes_total, bytes_done;
    int64_t mirror_ms, pivot_ms, total_ms;
    int64_t started_mono_ms; /* worker start (not persisted): for total_ms */
    int64_t epoch;           /* this node's hold of the swap's lease (lease.c) */
};

/* The records in the registry REG; a write joins the caller's transaction
 * when one is open (a phase commits with the registry changes it implies). */
int swap_store_insert(struct registry *reg, struct swap_rec *r, struct api_error *e);
/* Writes every field of R (phase first among them), if this node still
 * holds R's lease at R's epoch (else 409, and the lease is lost). */
int swap_store_update(struct registry *reg, const struct swap_rec *r, struct api_error *e);
/* Unfinished records, oldest first (caller frees *OUT). */
int swap_store_unfinished(struct registry *reg, struct swap_rec **out, size_t *n,
                          struct api_error *e);
/* The newest record of SERVER that names VOLUME as old or new volume:
 * 0 found, 1 none, -1 error. */
int swap_store_latest(struct registry *reg, const char *server_id, const char *volume_id,
                      struct swap_rec *out, struct api_error *e);

/* What the store's records say, for GET /metrics: swaps (Nova's swap and
 * Cinder's migrate) by outcome, and the durations and pivot pauses of
 * those that completed. Bucket bounds in seconds. */
#define SWAP_DURATION_BUCKETS_S 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600
#define SWAP_PAUSE_BUCKETS_S    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5
#define SWAP_NBUCKETS           12 /* the bounds above, and +Inf */
enum swap_outcome {
    SWAP_OUT_COMPLETED,
    SWAP_OUT_ROLLED_BACK,
    SWAP_OUT_UNFINISHED,
    SWAP_OUT__COUNT
};
struct swap_figures {
    uint64_t count[2][SWAP_OUT__COUNT]; /* [enum swap_kind][outcome] */
    uint64_t duration[2][SWAP_NBUCKETS], pause[2][SWAP_NBUCKETS];
    double duration_sum[2], pause_sum[2];
};
int swap_store_figures(struct registry *reg, struct swap_figures *f, struct api_error *e);
/* The record of swap ID: 0 found, 1 none, -1 error. */
int swap_store_get(struct registry *reg, const char *id, struct swap_rec *out, struct api_error *e);
/* The series the worker sampled while swap ID ran (a JSON document, see
 * worker.c's series_json), kept beside its record: put replaces it; get
 * returns 0 with *SERIES (caller frees), 1 when there is none, -1. */
int swap_store_series_put(struct registry *reg, const char *id, const char *series,
                          struct api_error *e);
int swap_store_series_get(struct registry *reg, const char *id, char **series, struct api_error *e);

/* ---- driver steps (driver.c) ---- */

struct swap_driver {
    const char *name;
    /* Opens the new volume and starts the mirror from OLD_NODE to it. */
    int (*start)(struct host_session *s, const struct swap_rec *r, const struct reg_volume *nv,
                 int64_t speed, struct api_error *e);
    /* Closes the new volume after a rollback (missing is not an error). */
    int (*close_new)(struct host_session *s, const struct swap_rec *r, struct api_error *e);
};
const struct swap_driver *swap_driver_find(const char *name);
/* The storage host VOLUME_HOST when it is not R's compute host, else NULL. */
const struct cfg_host *swap_remote_host(const struct swap_rec *r, const char *volume_host);
/* Removes the export of NODE on the storage host VOLUME_HOST and closes it
 * there, when that host is not R's compute host (logged, never fatal). */
void swap_release_storage(const struct swap_rec *r, const char *volume_host, const char *node);
int swap_qmp_simple(struct host_session *s, const char *cmd, json_t *args, const char *ignore,
                    struct api_error *e);
/* Which node the export EXPORT_ID serves: 0 and NODE filled, 1 no such
 * export, -1 error. */
int swap_export_node(struct host_session *s, const char *export_id, char node[32],
                     struct api_error *e);
/* Status of job JOB_ID ("running", "ready", "concluded"...): 0 found,
 * 1 none, -1 error. */
int swap_job_status(struct host_session *s, const char *job_id, char status[32], int64_t *done,
                    int64_t *total, struct api_error *e);
/* Cancels JOB_ID (force) and waits for it to go away. */
int swap_job_abort(struct host_session *s, const char *job_id, struct api_error *e);

/* ---- the worker (worker.c) ---- */

/* Live figures of a running swap, updated by its worker under the
 * service lock and read by the progress endpoint. */
struct swap_progress {
    enum swap_phase phase;
    int64_t bytes_done, bytes_total;
    double rate;         /* bytes/s, smoothed */
    bool write_blocking; /* the worker switched the mirror's copy mode */
    int64_t started_ms, ready_ms, pivot_ms;
    bool failed;
};

struct swap_task {
    struct swap_rec rec;
    struct swap_progress prog;
    pthread_t thread;
    bool finished; /* the worker returned: join and free it */
    struct swap_task *next;
};

/* Runs TASK to DONE or ROLLED_BACK (thread entry point). */
void *swap_worker_main(void *task);
/* Finishes a swap whose host serves the new volume (registry, old node,
 * event); rolls back one that does not. Shared by worker and recovery. */
int swap_finish(struct host_session *hs, struct swap_rec *r, struct api_error *e);
int swap_rollback(struct host_session *hs, struct swap_rec *r, const char *why);
/* The registry side of a pivot, in one transaction of REG: the attachment
 * and the volume states move to the new volume (Nova) or the volume takes
 * the new storage (Cinder's migration), and R is persisted as RECORDED.
 * On failure neither is written and R is unchanged. A swap whose registry
 * is already done (an earlier run) is only marked RECORDED. */
int swap_record(struct registry *reg, struct swap_rec *r, struct api_error *e);

/* ---- the service (service.c) ---- */

struct swap_service {
    struct api_ctx *ctx;
    pthread_mutex_t lock; /* the task list and every task's progress */
    struct swap_task *tasks;
    bool stopping;
    int64_t speed;          /* mirror rate limit, bytes/s (0 = none) */
    int ready_timeout_ms;   /* how long the mirror may take to converge */
    int converge_window_ms; /* outpaced that long at a limit: write-blocking */
};
extern struct swap_service *swap_svc;

/* Persists R's phase (and figures); failures are logged and returned, but
 * the worker goes on while it holds the lease (swap_lease_valid), because
 * the host state decides at recovery. */
int swap_persist(struct swap_rec *r, enum swap_phase p);
/* Writes R at phase P inside REG's open transaction; R's phase changes
 * only when the caller has committed (swap_mark). */
int swap_persist_in(struct registry *reg, struct swap_rec *r, enum swap_phase p,
                    struct api_error *e);
/* Moves R to phase P in memory only: for phases recovery treats like the
 * last persisted one (each fsync is milliseconds on the swap's path). */
void swap_mark(struct swap_rec *r, enum swap_phase p);
/* Starts a worker for R (already persisted as ACCEPTED). */
int swap_launch(const struct swap_rec *r, struct api_error *e);
/* The records of the swaps running now (caller frees *OUT). */
int swap_running(struct swap_rec **out, size_t *n);
/* Is a swap of SERVER_ID still running? */
bool swap_server_busy(const char *server_id);
/* Copies the live progress of the running swap of (SERVER, VOLUME). */
bool swap_progress_get(const char *server_id, const char *volume_id, struct swap_rec *rec,
                       struct swap_progress *p);
void swap_progress_set(struct swap_task *t, const struct swap_progress *p);
/* A line of the swap workflow's log (src/common's vs_log); a worker's lines
 * carry its swap's request id. */
#define swap_log(fmt, ...) vs_info("swap: " fmt, ##__VA_ARGS__)

/* Instance action event compute_swap_volume (start, then finish). The
 * finish is written in REG's open transaction, with the phase that ends
 * the swap. */
void swap_event_start(const struct swap_rec *r);
int swap_event_finish(struct registry *reg, const struct swap_rec *r, bool ok, const char *details,
                      struct api_error *e);

/* Recovery (recover.c): takes over the swaps WHICH names (lease.c) and
 * settles each against its host; at start, and for swaps whose node died. */
int swap_recover_all(enum reg_lease_take which, struct api_error *e);

/* ---- leases (lease.c): which node drives which swap ---- */

/* This node's name and the lease length (before the service starts: "" and
 * the default, as the unit tests have them). */
const char *swap_lease_owner(void);
int64_t swap_lease_ms(void);
/* Does this node still hold R's lease at R's epoch? A worker asks before
 * every step that changes the host, and stops driving R when not. */
bool swap_lease_valid(const struct swap_rec *r);
/* A write of R was refused: R's epoch is no longer this node's. */
void swap_lease_lost(const struct swap_rec *r);
/* R is driven here from now on (a worker or a recovery runs for it): its
 * lease, written at SINCE_MS or later, is renewed until released. A swap
 * released unfinished lets its lease lapse, and is taken over again. */
void swap_lease_hold(const struct swap_rec *r, int64_t since_ms);
void swap_lease_release(const struct swap_rec *r);
/* Takes WHICH unfinished swaps over for this node (caller frees *OUT). */
int swap_lease_take(enum reg_lease_take which, struct swap_rec **out, size_t *n,
                    struct api_error *e);
/* Takes over at start (ALONE: every unfinished swap, as one process on
 * SQLite; else those lapsed or already this node's) and starts the
 * heartbeat and the takeover threads; stop joins them. */
int swap_lease_start(bool alone, struct api_error *e);
void swap_lease_stop(void);
void swap_store_from_reg(const struct reg_swap *w, struct swap_rec *r);

/* Host reconciliation (reconcile.c): HOST's steps of a swap were left
 * undone (it could not be reached), so a thread brings what HOST serves
 * back to the registry's truth once it answers. Every host gets one pass
 * at start. swap_reconcile_host runs one pass now: 0 done, -1 and E when
 * the host did not answer (all of it). */
void swap_reconcile_mark(const char *host);
int swap_reconcile_host(const struct cfg_host *h, struct api_error *e);
/* The pass on a libvirt host (libvirt-reconcile.c): the host's domains'
 * disks and copy jobs, and its volswapd's NBD exports, against the
 * registry. */
int swap_libvirt_reconcile(const struct cfg_host *h, struct api_error *e);
/* Marks in SERVERS and NODES (JSON objects used as sets) the server and
 * both nodes of every swap not finished: the registry's unfinished
 * records and this node's running tasks. 0, or -1 and E. */
int swap_busy_read(json_t *servers, json_t *nodes, struct api_error *e);
int swap_reconcile_init(struct api_error *e);
int swap_reconcile_start(struct api_error *e);
void swap_reconcile_stop(void);

/* A larger new file volume is cut to the old one's size for the copy
 * (worker.c: mirrors want equal sizes) and grown after the pivot. */
int swap_match_sizes(const struct swap_rec *r, const struct reg_volume *nv, struct api_error *e);

/* ---- libvirt hosts (libvirt.c): blockCopy instead of QMP ---- */

/* Runs the swap R of task T on a libvirt host to DONE or ROLLED_BACK. */
void swap_libvirt_run(struct swap_task *t, struct swap_rec *r, struct swap_progress *p);
/* Settles the unfinished swap R against libvirt's view at start. */
void swap_libvirt_recover(struct swap_rec *r);

/* ---- power actions on a guest (power.c) ---- */

/* Carries out OP on SERVER_ID's guest on HOST in a worker thread, then
 * records the states Nova ends with and the event of instance action
 * REQUEST_ID (already recorded, the server's task_state already set). */
int swap_power_launch(const char *server_id, const char *host, const char *request_id,
                      enum host_power op, struct api_error *e);
/* The task_state Nova's API sets for OP (powering-off, rebooting...). */
const char *swap_power_task_state(enum host_power op);
/* Is a power action of SERVER_ID running? */
bool swap_power_busy(const char *server_id);
/* At start: carries out again the actions servers' task_states say were
 * in flight. At stop: ends the waits, joins the workers. */
void swap_power_recover(void);
void swap_power_stop(void);

#endif
