/* The hosts layer: what volswap-api does to a host daemon over QMP. One
 * shared QMP session per host (session.c: commands serialised, job events
 * dispatched to whoever watches the job), the host drivers that open,
 * export, close and resize volumes through it (drivers.c), and the pools
 * that hold the volumes' storage. Callers above are the REST handlers
 * (attach, detach, create) and the swap worker. */
#ifndef VOLSWAP_API_HOSTS_H
#define VOLSWAP_API_HOSTS_H

#include "base/base.h"
#include "config/config.h"
#include "registry/registry.h"
#include "qmp-client.h"

#include <libvirt/libvirt.h>

/* ---- drivers.c ---- */
/* Nova's power actions, as a driver carries them out on the server's guest. */
enum host_power {
    HOST_POWER_STOP,        /* clean shutdown, hard after the host's shutdown_timeout */
    HOST_POWER_START,       /* boot from the persistent definition */
    HOST_POWER_REBOOT_SOFT, /* clean shutdown and start; hard when the guest ignores it */
    HOST_POWER_REBOOT_HARD, /* power off and start */
};
struct host_driver {
    const char *name;
    /* Opens the volume's storage on the host as a block node and exports it
   * over NBD as EXPORT_NAME. Fills *CONN with Nova-style connection_info. */
    int (*attach)(const struct cfg_host *h, const struct reg_volume *v, const char *node_name,
                  const char *export_id, const char *export_name, json_t **conn,
                  struct api_error *e);
    /* Removes the export and closes the node (missing ones are not errors, so
   * a retried detach converges). */
    int (*detach)(const struct cfg_host *h, const char *node_name, const char *export_id,
                  struct api_error *e);
    /* Grows an open node to SIZE bytes (extend of an in-use volume). */
    int (*resize)(const struct cfg_host *h, const char *node_name, uint64_t size,
                  struct api_error *e);
    /* Carries out OP on SERVER_ID's guest and returns once it is done
     * (seconds: a clean shutdown waits for the guest). GIVE_UP, polled
     * while waiting, ends the wait early (volswap-api stopping): -1.
     * NULL: the driver has no guest to act on (a registered consumer),
     * and a power action only changes the states Nova keeps. */
    int (*power)(const struct cfg_host *h, const char *server_id, enum host_power op,
                 bool (*give_up)(void), struct api_error *e);
    /* Nova's power_state of SERVER_ID's guest as the host sees it (1
     * running, 4 shut down, 0 unknown); NULL with power. */
    int (*power_state)(const struct cfg_host *h, const char *server_id);
};
const struct host_driver *host_driver_find(const char *name);
/* QMP timeout for driver calls, ms. */
#define HOST_QMP_TIMEOUT_MS 10000
/* Whether host H's daemon answers on its monitor (query-version within
 * HOST_PROBE_TIMEOUT_MS; through a swap's session when one holds it).
 * 0: up. VERSION (may be NULL) gets its QEMU version as Nova encodes
 * hypervisor versions (7.2.0: 7002000), 0 when down. */
#define HOST_PROBE_TIMEOUT_MS 2000
int host_probe(const struct cfg_host *h, int *version);
/* Host H's uptime as Nova's hypervisor uptime shows it (uptime(1)'s line:
 * the host's time, how long its volswapd has run, the load averages)
 * into OUT: 0; 1 when its driver cannot tell (QEMU and libvirt have no
 * such query); -1 when its daemon does not answer. */
int host_uptime(const struct cfg_host *h, char *out, size_t outlen);
/* host_probe for every configured host at once (those WANT marks, or all
 * when WANT is NULL), in parallel, so a list of N hosts of which some are
 * down takes one probe timeout, not N. UP and VERSION (may be NULL) have
 * one entry per host of CFG. */
void host_probe_all(const struct api_config *cfg, const bool *want, bool *up, int *version);
void host_node_name(const char *volume_id, char out[32]);
void host_export_id(const char *attachment_id, char out[40]);
/* ---- pools (pools.c) ----
 * The storage a volume lives on: sparse raw files in directory pools, or
 * whole block devices handed out once each. A pool's files are made by
 * one of two implementations: the API's own file system ("managed_by"
 * "api", the default: the API and the host share it), or the host's
 * volswapd over QMP ("managed_by" "host": x-volswap-pool-* in the
 * directories its --pool-dir names), so the API may run elsewhere. The
 * second is a QMP call: never made inside a registry transaction. */

/* Whether P's storage is its host daemon's to make and measure. */
bool pool_on_host(const struct cfg_pool *p);
/* Whether creating a volume on P is a host call (a file the host makes):
 * then the volume is recorded first and its file made after the commit,
 * or made before the transaction and removed if it does not commit. */
bool pool_creates_on_host(const struct cfg_pool *p);
/* Before a transaction that creates a volume on P, on the same thread:
 * for a block pool its host manages, asks the host how large each device
 * is, for pool_create_volume to claim one inside the transaction (the
 * claim itself is the registry's: a device no volume names is free).
 * Nothing for other pools. */
int pool_prepare(const struct cfg_pool *p, struct api_error *e);
/* Whether pool P can be used: its directory exists and is writable, its
 * devices exist (checked at start; the message names the path, for the
 * operator). A pool its host manages is checked by the host. */
int pool_check(const struct cfg_pool *p, struct api_error *e);
/* Where VOLUME_ID's file goes in directory pool P. */
int pool_volume_path(const struct cfg_pool *p, const char *volume_id, char *path, size_t pathlen,
                     struct api_error *e);
/* Volume storage on a pool: create (sparse file / claim device), grow,
 * remove. A size the pool cannot hold is a 400; a host that does not
 * answer a 503. P NULL for grow and delete: a path in no configured pool,
 * on the API's own file system (a file, or a device that must be large
 * enough). Delete of a missing file succeeds. */
int pool_create_volume(const struct cfg_pool *p, const char *volume_id, uint64_t size_bytes,
                       struct registry *r, char *path, size_t pathlen, struct api_error *e);
int pool_grow_volume(const struct cfg_pool *p, const char *path, uint64_t size_bytes,
                     struct api_error *e);
int pool_delete_volume(const struct cfg_pool *p, const char *path, struct api_error *e);
/* What pool P holds, in bytes: its size (the file system of a directory
 * pool, the sum of a block pool's devices) and what is free there (space
 * left on the file system; the devices no volume uses). */
int pool_capacity(const struct cfg_pool *p, struct registry *r, uint64_t *total,
                  uint64_t *free_bytes, struct api_error *e);
/* A run of QMP commands to host H through its gate, as a driver call
 * makes them (drivers.c): while it is open, no HTTP worker's call to H
 * runs, so a caller that reads the registry after opening it sees every
 * attach and detach on H either done or not yet begun on the host. NULL
 * and E (503 when H did not answer within TIMEOUT_MS) when H cannot be
 * reached. host_call: one command, QEMU's error in QE. */
struct host_conn;
struct host_conn *host_call_open(const struct cfg_host *h, int timeout_ms, struct api_error *e);
void host_call_close(struct host_conn *c);
int host_call(struct host_conn *c, const struct cfg_host *h, const char *cmd, json_t *args,
              json_t **ret, struct qmp_error *qe);
/* ---- volumes on another host (drivers.c) ----
 * A volume lives on its pool's host (the storage host); its consumer on
 * the server's host (the compute host). When they differ, the storage host
 * opens the volume's file as a node and exports it over NBD (with TLS when
 * its NBD server requires it), and the compute host opens that export as
 * an `nbd` node (its client credentials, reconnect-delay) and exports it
 * to its consumer as it would a local volume. The storage side's node and
 * export are named after the compute side's node (export id "sx-NODE",
 * export name NODE), so either side finds the other's from the attachment
 * or a swap record alone. */

/* Whether compute host CH can open storage host SH's exports: 0, or -1
 * and a 400 naming what is missing (SH a libvirt host, no NBD address on
 * SH, no client credentials on a volswapd or QEMU CH for SH's TLS; a
 * libvirt CH's QEMU has its own, from libvirt's qemu.conf). */
int host_storage_check(const struct cfg_host *ch, const struct cfg_host *sh, struct api_error *e);
/* Opens PATH on SH as NODE and exports it (writable) for another host;
 * what an interrupted call left behind is reused. */
int host_storage_export(const struct cfg_host *sh, const char *path, const char *node,
                        struct api_error *e);
/* Removes that export and closes NODE on SH (missing ones are not errors). */
int host_storage_unexport(const struct cfg_host *sh, const char *node, struct api_error *e);
/* The blockdev-add arguments for CH opening SH's export of NODE as NODE. */
json_t *host_remote_blockdev(const struct cfg_host *ch, const struct cfg_host *sh,
                             const char *node);
/* The address of host H's NBD export NAME for a client that connects
 * itself, set in O: "tls", then "socket" or the server ("host" and "port",
 * or with AS_LISTS "hosts" and "ports", lists of one string each), then
 * "uri" (nbd:// or nbd+unix://, nbds when H's NBD server requires TLS). */
void host_nbd_address(const struct cfg_host *h, const char *name, bool as_lists, json_t *o);
/* What connection_info's data.storage says of SH's export of NODE: host,
 * node_name, export_id, and for consumers that open it themselves (a
 * libvirt host's <disk type='network'>) name, hosts, ports, tls, uri. */
json_t *host_storage_info(const struct cfg_host *sh, const char *node);
/* Attach and detach of volume V on compute host CH, wherever V lives: the
 * host driver's own attach when V's host is CH, else the storage export,
 * the remote node and the consumer's export, undone in reverse on failure.
 * Detach removes what connection_info names on both hosts. */
int host_attach_volume(const struct api_config *cfg, const struct cfg_host *ch,
                       const struct reg_volume *v, const char *node_name, const char *export_id,
                       const char *export_name, json_t **conn, struct api_error *e);
int host_detach_volume(const struct api_config *cfg, const struct cfg_host *ch,
                       const struct reg_attachment *a, struct api_error *e);
/* As Nova and Cinder do, a detach whose storage host does not answer (or
 * fails to remove its export) still succeeds once the compute host let go:
 * the storage host's export stays, and FN (the host reconciler's mark, set
 * by the layer above) is told the host, whose stale export then goes once
 * it answers again. */
void host_on_storage_left(void (*fn)(const char *host));
/* The host whose pool holds storage PATH (a file in a directory pool, or
 * one of a block pool's devices), or NULL. */
const struct cfg_host *host_of_path(const struct api_config *cfg, const char *path,
                                    const struct cfg_pool **pool);

/* ---- libvirt hosts (libvirt.c) ---- */

/* Driver "libvirt": hosts whose domains libvirt runs, reached by the
 * host's URI. A server there is the domain whose UUID is the server's id. */
extern const struct host_driver hlv_driver;
/* The host's connection (opened, or reopened after libvirtd went away),
 * with a reference the caller drops with virConnectClose. */
virConnectPtr hlv_connect(const struct cfg_host *h, struct api_error *e);
/* Every domain of the host, defined or running: their number (each to
 * virDomainFree, the array to free), or -1 and E. */
int hlv_list_domains(const struct cfg_host *h, virDomainPtr **doms, struct api_error *e);
/* The domain of SERVER_ID (virDomainFree it), or NULL and E. */
virDomainPtr hlv_domain(const struct cfg_host *h, const char *server_id, struct api_error *e);
/* Registering a server: the UUID of the domain named NAME_OR_UUID. */
int hlv_adopt(const struct cfg_host *h, const char *name_or_uuid, char uuid[37],
              struct api_error *e);
/* Nova's power_state of the server's domain (0 NOSTATE when unknown). */
int hlv_power_state(const struct cfg_host *h, const char *server_id);
int hlv_probe(const struct cfg_host *h, int *version);
/* Fills E from libvirt's last error, its status as Nova's fault would have
 * it (404 no domain, 409 invalid operation, 503 host unreachable...). -1. */
int hlv_fail(struct api_error *e, const char *host, const char *what);
/* The source path of disk TARGET (live, or PERSISTENT definition): 0, or
 * 1 no such disk, -1 and E. */
int hlv_disk_source(virDomainPtr d, const char *target, bool persistent, char *src, size_t srclen,
                    struct api_error *e);
/* Pure: the <disk> of XML holding KEY, and its source path. 0 / 1 none. */
int hlv_disk_find(const char *xml, const char *key, char *src, size_t srclen);
/* Pure: the disks of a domain's XML one by one. *CURSOR starts at the
 * document and moves past each disk found: 0 and D filled (fields ""
 * when absent), 1 when no disk is left. SOURCE is file=, dev= or a
 * network disk's export name, as hlv_disk_find gives it. */
struct hlv_disk {
    char type[16]; /* file, block, network */
    char target[32];
    char alias[64];
    char source[1024];
};
int hlv_disk_next(const char **cursor, struct hlv_disk *d);
/* Pure: the <disk> of INACTIVE (a persistent definition) whose alias is
 * ALIAS, with its <source> and disk type those of LIVE's disk of that
 * alias (less the runtime index=): what virDomainUpdateDeviceFlags takes
 * to make the definition name what the guest runs on. NULL when either
 * lacks the disk; free() it. */
char *hlv_disk_with_live_source(const char *inactive, const char *live, const char *alias);
/* A block copy destination (<disk>) for PATH: file or block device. */
int hlv_source_xml(const char *path, char *out, size_t outlen);
/* Whether host H's volumes are served by a volswapd beside libvirtd
 * (its config has "qmp" and "nbd"): its domains' disks are then network
 * disks on NBD exports, one per node, opened and closed with these. */
bool hlv_nbd_mode(const struct cfg_host *h);
void hlv_nbd_export_id(const char *node, char out[40]);
int hlv_nbd_open(const struct cfg_host *h, const struct reg_volume *v, const char *node,
                 json_t **conn, struct api_error *e);
int hlv_nbd_close(const struct cfg_host *h, const char *node, struct api_error *e);
/* The block copy destination for a volume: PATH's file or block device,
 * or on an NBD host the export of NODE. */
int hlv_copy_dest_xml(const struct cfg_host *h, const char *path, const char *node, char *out,
                      size_t outlen);
/* A block copy destination on host NH's NBD export NODE: a network disk
 * (TCP or unix socket, tls='yes' when NH's NBD server requires TLS). */
int hlv_network_dest_xml(const struct cfg_host *nh, const char *node, char *out, size_t outlen);
/* What a consumer connecting to host H's NBD export NODE itself is told
 * (connection_info's data): export_name, name, tls, uri, socket or host
 * and port. */
json_t *hlv_nbd_data(const struct cfg_host *h, const char *node);
/* Attach of volume V, which storage host SH exports as NODE
 * (host_storage_export), to a domain of libvirt host CH: a network disk
 * that QEMU opens on SH's export itself, with tls='yes' when SH requires
 * TLS (QEMU's client certificate is the compute host's, from qemu.conf's
 * nbd_tls_x509_cert_dir or the default x509 directory). connection_info
 * "nbd", its data.storage naming SH's export. */
int hlv_attach_remote(const struct cfg_host *ch, const struct cfg_host *sh,
                      const struct reg_volume *v, const char *node, const char *export_id,
                      const char *export_name, json_t **conn, struct api_error *e);

/* ---- the shared QMP session per host (session.c) ---- */

/* A new QMP connection to host H's monitor, over TLS with the API's
 * client credentials when the host's config has "tls". */
struct qmp_client *host_qmp_connect(const struct cfg_host *h, int timeout_ms, struct qmp_error *qe);

struct host_session;
/* Gets (connecting when needed) the session for host H; refcounted. */
struct host_session *host_session_get(const struct cfg_host *h, struct api_error *e);
void host_session_put(struct host_session *s);
/* The live session of HOST_NAME if a swap holds one (refcounted), else
 * NULL: host driver calls borrow it, since a QEMU-style monitor serves one
 * client at a time. */
struct host_session *host_session_borrow(const char *host_name);
/* Registers interest in the events of JOB_ID -- or of an export id, for
 * BLOCK_EXPORT_DELETED (events nobody watches are dropped, so the mailbox
 * stays bounded). */
void host_session_watch(struct host_session *s, const char *job_id, bool on);
int host_session_execute(struct host_session *s, const char *cmd, json_t *args, json_t **ret,
                         int timeout_ms, struct qmp_error *qe);
/* Waits up to TIMEOUT_MS for the next event of JOB_ID. NULL with
 * qe->cls "Timeout" when none came, or another class when the session
 * died (then every later call fails fast with ConnectionError). */
json_t *host_session_next_event(struct host_session *s, const char *job_id, int timeout_ms,
                                struct qmp_error *qe);
bool host_session_dead(struct host_session *s);

#endif
