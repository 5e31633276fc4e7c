/* The public face of src/nbd: the NBD server (listening sockets and client
 * connections) and the exports it serves. An export is a named view of a
 * block node through a backend that follows pivots, so a mirror's
 * block_node_replace moves every open connection to the new node.
 *
 * Exports exist independently of the server, as in qemu-storage-daemon:
 * block-export-add works before nbd-server-start, and nbd-server-stop
 * leaves the exports defined (their connections are closed). */
#ifndef VOLSWAP_NBD_H
#define VOLSWAP_NBD_H

#include "../block/block.h"

/* Largest READ/WRITE payload we accept (and advertise as max block size). */
#define NBD_MAX_PAYLOAD (32u * 1024 * 1024)

/* What clients did through an export, for the daemon's metrics: counted
 * when a request's reply is queued, so a request is counted once, with
 * the latency from its header being read to its reply being queued.
 * Upper bounds of the latency buckets, in microseconds; the last bucket
 * is everything slower. */
#define NBD_LATENCY_BUCKETS_US \
    50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000
#define NBD_LATENCY_NBUCKETS 14
#define NBD_STATS_NCMDS 8         /* NBD_CMD_READ .. NBD_CMD_BLOCK_STATUS */

/* Clients on every loop add to these (relaxed atomic adds); read them
 * with nbd_export_stats_get. */
struct nbd_export_stats {
    uint64_t ops[NBD_STATS_NCMDS];
    uint64_t errors[NBD_STATS_NCMDS];
    uint64_t bytes_read, bytes_written;
    uint64_t latency[NBD_LATENCY_NBUCKETS]; /* per bucket, not cumulative */
    uint64_t latency_sum_ns;
    uint64_t connections_total;   /* clients that chose this export */
};

struct nbd_export {
    char *id;            /* QMP id; defaults to the node name */
    char *name;          /* NBD export name; defaults to the node name */
    char *description;   /* may be NULL */
    bool writable;
    /* An iothread's loop its clients run on (block-export-add's
     * iothread), and that object's id; NULL: the pool of loops. */
    struct vs_loop *loop;
    char *iothread;
    struct block_backend blk;
    unsigned connections;
    /* Of them, on other loops than the server's (server.c): a deletion
     * does not wait for their loops to close them (see export.c). */
    unsigned remote_connections;
    bool released;       /* deleted: out of the namespace, off its node */
    /* The export, whose backend its clients' requests go through, also
     * outlives the ones still inside the node (at the driver, or held by a
     * quiesce) once deleted and its clients gone: blk.n_reqs counts them. */
    bool deleting;       /* being removed: refuses new clients */
    struct nbd_export_stats stats;
    struct vs_list link;
};

struct nbd_export_opts {
    const char *id;
    const char *node_name;
    const char *name;
    const char *description;
    bool writable;
    struct vs_loop *loop;       /* NULL, or an iothread's loop (nbd_server_add_loop) */
    const char *iothread;       /* its id, with loop */
};

struct nbd_server_addr {
    enum { NBD_ADDR_UNIX, NBD_ADDR_INET } type;
    char *path;          /* unix */
    char *host, *port;   /* inet */
};

/* ---- export.c --------------------------------------------------------- */

struct nbd_export *nbd_export_add(const struct nbd_export_opts *opts,
                                  struct vs_error *err);
/* Removes an export. With hard=false it fails while clients are
 * connected; with hard=true their connections are closed first. The
 * export is gone (and BLOCK_EXPORT_DELETED emitted) once the last
 * connection has ended, possibly later than the call. */
int nbd_export_del(struct nbd_export *exp, bool hard, struct vs_error *err);
/* A copy of the export's counters. */
void nbd_export_stats_get(const struct nbd_export *exp, struct nbd_export_stats *out);
struct nbd_export_stats nbd_export_stats_now(const struct nbd_export *exp);
struct nbd_export *nbd_export_find_id(const char *id);
struct nbd_export *nbd_export_find_name(const char *name);
struct nbd_export *nbd_export_next(struct nbd_export *prev);
/* Removes every export, for shutdown and tests: a hard delete of each
 * (BLOCK_EXPORT_DELETED for each; one whose clients' requests are still
 * inside its node goes when they are done). */
void nbd_export_del_all(void);

/* ---- server.c ---------------------------------------------------------- */

/* TLS for the server's clients: with creds set (a server endpoint), a
 * client must negotiate STARTTLS before anything else, as with QEMU's
 * tls-creds; with authz set too, the authz object of that id, looked up
 * per connection, must allow the client's identity (certificate DN or PSK
 * username). */
struct nbd_server_tls {
    struct vs_object *creds;
    const char *authz;
};

/* QEMU's default handshake-max-seconds (9.2 and later). */
#define NBD_HANDSHAKE_MAX_SECONDS_DEFAULT 10

struct nbd_server_config {
    unsigned max_connections;        /* 0: unlimited */
    /* A client that has not finished the handshake (TLS included) this
     * many seconds after it connected is disconnected, so that clients
     * which connect and stall cannot use up max-connections or memory.
     * 0: no limit. */
    unsigned handshake_max_seconds;
    struct nbd_server_tls tls;       /* creds NULL: no TLS */
};

/* Listens on addr. The server holds a reference to the TLS credentials
 * until it stops. */
int nbd_server_start(struct vs_loop *loop, const struct nbd_server_addr *addr,
                     const struct nbd_server_config *cfg, struct vs_error *err);
/* The loops that serve connections: loops[0] is the server's (where it
 * listens, runs handshakes and keeps its exports); a connection that has
 * chosen its export moves to the least loaded of loops[1 .. n-1] for its
 * transmission phase. n <= 1 (or never called): every connection stays
 * on the loop it was accepted on. The server's loop only; the loops must
 * outlive every connection (nbd_server_client_count() == 0). */
void nbd_server_set_loops(struct vs_loop *const *loops, unsigned n);
void nbd_server_clear_loops(void);
/* Loops of iothread objects: vs_loop_index in [NBD_POOL_LOOPS,
 * NBD_MAX_LOOPS). Such a loop serves only the clients of the exports
 * bound to it (nbd_export_opts.loop), none of the pool's. Remove a loop
 * only once nbd_server_loop_clients is 0 and no export names it. The
 * server's loop only. */
#define NBD_POOL_LOOPS 256u
#define NBD_MAX_LOOPS (NBD_POOL_LOOPS + 64u)
void nbd_server_add_loop(struct vs_loop *loop);
void nbd_server_remove_loop(struct vs_loop *loop);
/* Connections serving on that loop, or on their way there. */
unsigned nbd_server_loop_clients(const struct vs_loop *loop);
/* Stops listening and closes every connection. */
void nbd_server_stop(void);
bool nbd_server_running(void);
const struct nbd_server_addr *nbd_server_address(void);
unsigned nbd_server_max_connections(void);
unsigned nbd_server_handshake_max_seconds(void);
/* The running server's TLS objects (both NULL without TLS). */
struct nbd_server_tls nbd_server_tls(void);
/* Serves an already connected socket (socketpair in tests and fuzzing,
 * or a descriptor passed in), with TLS when tls names credentials. Takes
 * ownership of fd. */
void nbd_server_add_client(struct vs_loop *loop, int fd, const struct nbd_server_tls *tls);
/* Closes every client connection after its requests in flight finish;
 * done->fn runs when none is left. */
void nbd_server_close_clients(struct vs_loop *loop, struct vs_bh *done);
unsigned nbd_server_client_count(void);
/* Connections accepted since the server started, for the metrics. */
uint64_t nbd_server_accepted_total(void);
/* The NBD command name of a stats index ("read", "write", ...). */
const char *nbd_cmd_name(unsigned cmd);

/* Address helpers shared with the command line and the monitor. */
void nbd_server_addr_clear(struct nbd_server_addr *addr);
void nbd_server_addr_copy(struct nbd_server_addr *dst, const struct nbd_server_addr *src);

#endif
