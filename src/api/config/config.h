/* volswap-api's configuration: the JSON file that names the listen address,
 * the database, the Keystone projects and users, and the hosts with their
 * pools. Parsed once at start-up (and by the fuzzer); read-only afterwards,
 * so every thread may read it without a lock. */
#ifndef VOLSWAP_API_CONFIG_H
#define VOLSWAP_API_CONFIG_H

#include "base/base.h"

/* ---- config.c ---- */
struct cfg_project {
    char id[33];
    char name[65];
    char domain[65];
};
/* A Nova flavor servers are registered with: what each server counts for
 * in quotas and limits (a registered consumer has no CPUs or memory of
 * volswap's to give; the flavor says what it is taken to use). */
struct cfg_flavor {
    char id[65];
    char name[65];
    int vcpus, ram_mb, disk_gb;
};
/* The most flavors "flavors" may name. */
#define CFG_MAX_FLAVORS 64

/* The most roles one user may hold (in one project); auth contexts carry
 * as many. */
#define AUTH_MAX_ROLES 8

struct cfg_role_assignment {
    char project[65];
    char role[33];
};
struct cfg_user {
    char id[33];
    char name[65];
    char domain[65];
    char password_hash[200];
    struct cfg_role_assignment *roles;
    size_t n_roles;
    bool enabled; /* false: no login, and its tokens stop working */
};
struct cfg_pool {
    char name[65];
    bool is_dir;     /* directory of sparse raw files, or block devices */
    char path[1024]; /* directory (is_dir) */
    char **devices;
    size_t n_devices;
    int max_swaps; /* swaps (and migrations) to or from it at once; 0: no bound */
    /* "managed_by": "host": the host's daemon creates, grows, deletes and
     * measures the pool's files (volswapd's --pool-dir, QMP), so the API
     * need not see them; "api" (the default): the API's own file system
     * does, which must then be the host's (one machine, or a shared
     * mount). */
    bool on_host;
    /* "volume_clear": "none": a block device handed back is not zeroed
     * (thin or self-encrypting devices); "zero" (the default): it is, by
     * the API, or by the host for a pool the host manages (whose own
     * --pool-clear then decides). */
    bool clear_none;
    const struct cfg_host *host; /* the host whose pool it is */
};
struct cfg_host {
    char name[65];
    char driver[16]; /* "volswapd", "qemu" or "libvirt" */
    char qmp[1024];  /* QMP monitor: unix socket path, or tcp:HOST:PORT */
    /* "tls": the API's own client credentials for a TCP monitor that
     * requires TLS (QEMU's client file names: ca-cert.pem, client-cert.pem,
     * client-key.pem), and the name the host's certificate must carry
     * when it is not HOST. Empty dir: no TLS. */
    char qmp_tls_dir[1024];
    char qmp_tls_hostname[256];
    char uri[1024];        /* libvirt connection URI (driver "libvirt") */
    int shutdown_timeout;  /* s a guest gets to power off before it is forced */
    char nbd_socket[1024]; /* where the host's NBD exports are reachable (unix) */
    char nbd_host[256];
    int nbd_port;            /* or TCP */
    bool start_nbd_server;   /* issue nbd-server-start before the first export */
    char nbd_tls_creds[128]; /* the host's server TLS credentials: clients need TLS */
    /* The name QEMU checks the NBD server's certificate against on a
     * libvirt host's network disks (libvirt's tlsHostname): required over
     * a unix socket, which has no host name; over TCP, nbd_host when empty. */
    char nbd_tls_hostname[256];
    /* Opening another host's export (a volume whose pool is on another
     * host): the id of this daemon's client TLS credentials
     * (tls-creds-x509,endpoint=client) for storage hosts that require
     * TLS, and the nbd node's reconnect-delay in seconds. */
    char nbd_client_tls_creds[128];
    int nbd_reconnect_delay;
    /* Swaps that may run at once with this host as compute host or as
     * the storage host of either volume; 0: no bound. */
    int max_swaps;
    struct cfg_pool *pools;
    size_t n_pools;
};
struct api_config {
    char listen_address[64];
    int port;
    char database[1024];
    char public_url[256]; /* base URL in the catalog; derived if empty */
    int token_ttl;        /* seconds */
    /* this node's name among the API nodes sharing the database (default:
     * the host name), and how long a node's hold of a swap lasts without a
     * heartbeat before another node takes the swap over */
    char node[65];
    int swap_lease_seconds;
    /* Keystone's Fernet key repository the nodes share ("" = tokens are
     * random ids recorded in the registry) */
    char fernet_keys[1024];
    char **admin_tokens;
    size_t n_admin_tokens;
    char admin_project[65]; /* project admin tokens act in */
    struct cfg_project *projects;
    size_t n_projects;
    /* "flavors", in the order given; without the key the one flavor
     * "volswap" (1 vCPU, 512 MB, no disk). Never empty. */
    struct cfg_flavor *flavors;
    size_t n_flavors;
    struct cfg_user *users;
    size_t n_users;
    struct cfg_host *hosts;
    size_t n_hosts;
    int threads;
    /* "limits": connections in all, per client address, the seconds a
     * client has to send a whole request (headers and body), and the
     * bytes a second a streamed upload (an image's data) must average
     * over each such span once it passed the door */
    int max_connections, max_per_address, request_seconds, upload_bytes_per_second;
    /* "images": the directory holding the image service's image files
     * ("" = no store: uploads are refused) and the bytes all images may
     * hold together (0: no bound but the file system's) */
    char image_dir[1024];
    int64_t image_quota_bytes;
    /* "tls": HTTPS with this certificate (chain) and key, PEM files */
    char tls_cert[1024], tls_key[1024];
};
int config_load(const char *path, struct api_config *cfg, struct api_error *e);
/* Parses a config document already in memory (for the fuzzer/tests). */
int config_parse(const char *text, size_t len, struct api_config *cfg, struct api_error *e);
void config_free(struct api_config *cfg);
const struct cfg_project *config_project_by_id(const struct api_config *c, const char *id);
const struct cfg_project *config_project_by_name(const struct api_config *c, const char *name,
                                                 const char *domain);
const struct cfg_host *config_host(const struct api_config *c, const char *name);
/* The flavor whose id is ID, or NULL. */
const struct cfg_flavor *config_flavor(const struct api_config *c, const char *id);
const struct cfg_pool *config_pool(const struct api_config *c, const char *name,
                                   const struct cfg_host **host);

#endif
