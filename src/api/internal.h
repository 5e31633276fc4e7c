/* volswap-api internal declarations, grouped by the file that defines them.
 * The service is split into layers that do not know about each other's
 * insides, so that the swap worker (issue 6) can drive the same pieces from a
 * thread of its own:
 *   http.c          the HTTP server (libmicrohttpd), request/response objects
 *   keystone.c nova-*.c cinder.c   the REST handlers
 *   policy.c auth.c config.c       who may do what
 *   storage.h storage-sqlite.c     the registry interface and its SQLite backend
 *   volume-state.c                 Cinder's volume state transitions
 *   host-driver.c                  what a host daemon does, over QMP
 * Control-path convention: functions return -1 (or NULL) and fill a struct
 * api_error, which the HTTP layer turns into exactly one fault reply. */
#ifndef VOLSWAP_API_INTERNAL_H
#define VOLSWAP_API_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "storage.h"

/* ---- error.c ---- */
struct api_error {
    int status;    /* HTTP status to answer with */
    char msg[512]; /* the fault's "message" */
};
__attribute__((format(printf, 3, 4))) int api_err(struct api_error *e, int status, const char *fmt,
                                                  ...);
/* Nova/Cinder fault name for a status ("itemNotFound", "badRequest"...). */
const char *api_fault_name(int status);
json_t *api_fault_body(int status, const char *msg);
void api_uuid(char out[37]);
/* A UUID derived from SEED (SHA-256): the same seed, the same UUID. */
void api_uuid_of(const char *seed, char out[37]);
void api_random_hex(char *out, size_t nbytes);
/* "2026-11-26T14:08:11Z" (Z) and "2026-11-26T14:08:11.000000" (micro) */
void api_time_z(time_t t, char out[32]);
void api_time_micro(time_t t, char out[32]);
bool api_is_uuid(const char *s);

/* ---- json-body.c ---- */
/* Caps on untrusted request bodies. */
#define API_MAX_BODY  (1u << 20)
#define API_MAX_DEPTH 32
/* BT_META_NOVA / BT_META_CINDER: a metadata map, {KEY: VALUE}, whose keys
 * are 1-255 of [A-Za-z0-9-_:. ] (Cinder also allows '/') and whose values
 * are strings of at most 255 characters, as Nova's and Cinder's schemas;
 * BT_META_CINDER_OR_NULL also takes null (Cinder's volume create). */
enum body_type {
    BT_STRING,
    BT_INT,
    BT_BOOL,
    BT_OBJECT,
    BT_STRING_OR_NULL,
    BT_BOOL_OR_STRING,
    BT_META_NOVA,
    BT_META_CINDER,
    BT_META_CINDER_OR_NULL,
    BT_ARRAY,
    BT_STRING_OR_ARRAY
};
struct body_field {
    const char *name;
    enum body_type type;
    bool required;
    size_t max_len;     /* strings: max length; ints: unused */
    long long min, max; /* ints: bounds */
};
struct body_schema {
    const char *root;                /* the one top-level key, e.g. "volume" */
    const struct body_field *fields; /* terminated by a NULL name */
    /* FIELDS NULL: the root's value is itself of this type (a metadata map) */
    enum body_type root_type;
};
/* Parses BODY (LEN bytes): size and depth caps, JSON syntax, one top-level
 * object holding exactly SCHEMA->root, then each field checked against the
 * schema (unknown fields and wrong types are 400). Returns the inner object
 * (new reference to the whole document in *DOC). */
json_t *body_parse(const char *body, size_t len, const struct body_schema *schema, json_t **doc,
                   struct api_error *e);
/* The spellings of true that Nova and Cinder accept in query strings and
 * boolean-or-string fields ("1", "true", "yes", "t", "on", "y", any case). */
bool api_truthy(const char *s);
/* A boolean, or a string api_truthy takes. */
bool body_bool(json_t *v);
/* Depth of nested arrays/objects in TEXT, stopping early past LIMIT. */
int body_json_depth(const char *text, size_t len, int limit);
extern const struct body_schema schema_volume_create, schema_server_create,
    schema_attachment_create, schema_attachment_update, schema_auth_tokens, schema_volume_extend;
/* {"metadata": {...}} and {"meta": {KEY: VALUE}} of Nova's server metadata
 * and Cinder's volume metadata APIs. */
extern const struct body_schema schema_server_metadata, schema_server_meta_item,
    schema_volume_metadata, schema_volume_meta_item;
/* {"quota_set": {...}} of Nova's and Cinder's os-quota-sets PUT. */
extern const struct body_schema schema_nova_quota_set, schema_cinder_quota_set;
/* All schemas, for the fuzzer and its corpus test. */
extern const struct body_schema *const body_schemas[];

/* ---- config.c ---- */
struct cfg_project {
    char id[33];
    char name[65];
    char domain[65];
};
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
};
struct cfg_pool {
    char name[65];
    bool is_dir;     /* directory of sparse raw files, or block devices */
    char path[1024]; /* directory (is_dir) */
    char **devices;
    size_t n_devices;
};
struct cfg_host {
    char name[65];
    char driver[16];       /* "volswapd" or "qemu" */
    char qmp[1024];        /* QMP unix socket */
    char nbd_socket[1024]; /* where the host's NBD exports are reachable (unix) */
    char nbd_host[256];
    int nbd_port;            /* or TCP */
    bool start_nbd_server;   /* issue nbd-server-start before the first export */
    char nbd_tls_creds[128]; /* the host's server TLS credentials: clients need TLS */
    struct cfg_pool *pools;
    size_t n_pools;
};
struct api_config {
    char listen_address[64];
    int port;
    char database[1024];
    char public_url[256]; /* base URL in the catalog; derived if empty */
    int token_ttl;        /* seconds */
    char **admin_tokens;
    size_t n_admin_tokens;
    char admin_project[65]; /* project admin tokens act in */
    struct cfg_project *projects;
    size_t n_projects;
    struct cfg_user *users;
    size_t n_users;
    struct cfg_host *hosts;
    size_t n_hosts;
    int threads;
};
int config_load(const char *path, struct api_config *cfg, struct api_error *e);
/* Parses a config document already in memory (for the fuzzer/tests). */
int config_parse(const char *text, size_t len, struct api_config *cfg, struct api_error *e);
void config_free(struct api_config *cfg);
const struct cfg_project *config_project_by_id(const struct api_config *c, const char *id);
const struct cfg_project *config_project_by_name(const struct api_config *c, const char *name,
                                                 const char *domain);
const struct cfg_host *config_host(const struct api_config *c, const char *name);
const struct cfg_pool *config_pool(const struct api_config *c, const char *name,
                                   const struct cfg_host **host);

/* ---- auth.c ---- */
#define AUTH_MAX_ROLES 8
struct auth_ctx {
    bool authenticated;
    bool is_admin_token;
    char user_id[33], user_name[65];
    char project_id[33], project_name[65];
    char roles[AUTH_MAX_ROLES][33];
    size_t n_roles;
    time_t expires;
};
int auth_hash_password(const char *password, char *out, size_t outlen);
bool auth_check_password(const char *password, const char *stored);
struct auth_store;
/* reg may be NULL: tokens then live in memory only (a restart loses them). */
struct auth_store *auth_store_new(const struct api_config *cfg, struct registry *reg);
void auth_store_free(struct auth_store *s);
/* Password login: fills CTX and a new token id. */
int auth_login(struct auth_store *s, const char *user, const char *user_domain,
               const char *password, const char *project, const char *project_id,
               const char *project_domain, struct auth_ctx *ctx, char token[65],
               struct api_error *e);
/* Validates a token (admin tokens included). Returns 0 and fills CTX, or -1
 * with a 401. */
int auth_validate(struct auth_store *s, const char *token, struct auth_ctx *ctx,
                  struct api_error *e);
void auth_revoke(struct auth_store *s, const char *token);
bool auth_has_role(const struct auth_ctx *ctx, const char *role);

/* ---- policy.c ---- */
/* Checks RULE (Nova/Cinder policy name) for CTX against a resource owned by
 * TARGET_PROJECT (NULL for collection-level checks). -1 with 403 + Nova's
 * message when denied. */
int policy_check(const struct auth_ctx *ctx, const char *rule, const char *target_project,
                 struct api_error *e);

/* ---- volume-state.c ---- */
enum vol_transition {
    VT_RESERVE,
    VT_UNRESERVE,
    VT_ATTACH,
    VT_BEGIN_DETACHING,
    VT_ROLL_DETACHING,
    VT_DETACH,
    VT_BEGIN_DELETE,
    VT_BEGIN_EXTEND,
    VT_FINISH_EXTEND,
    VT_ERROR_EXTENDING,
    VT_CREATED,
    VT_ERROR,
    VT_MIGRATION_START,
    VT_MIGRATION_MIGRATING,
    VT_MIGRATION_COMPLETING,
    VT_MIGRATION_SUCCESS,
    VT_MIGRATION_ERROR,
    VT__COUNT
};
const char *vol_transition_name(enum vol_transition t);
/* Checks whether T applies to V; if so updates V's status fields in memory
 * and returns 0, else -1 with Cinder's 400 "Invalid volume: ..." message. */
int vol_transition_check(struct reg_volume *v, enum vol_transition t, bool in_use_extend,
                         struct api_error *e);
/* Applies T atomically in the registry (read, check, write in one
 * transaction). V receives the updated record when not NULL. */
int vol_transition_apply(struct registry *r, const char *volume_id, enum vol_transition t,
                         bool in_use_extend, struct reg_volume *v, struct api_error *e);

/* ---- instance-actions.c ---- */
int instance_action_start(struct registry *r, const char *request_id, const char *server_id,
                          const char *action, const char *project_id, const char *user_id,
                          struct reg_action *out);
/* Records EVENT (started at START_TIME, finished now) of action A. */
int instance_action_event(struct registry *r, struct reg_action *a, const char *event,
                          const char *host, const char *start_time, bool ok, const char *details);

/* ---- host-driver.c ---- */
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
void host_node_name(const char *volume_id, char out[32]);
void host_export_id(const char *attachment_id, char out[40]);
/* Volume storage on a pool: create (sparse file / claim device), grow, remove. */
int pool_create_volume(const struct cfg_pool *p, const char *volume_id, uint64_t size_bytes,
                       struct registry *r, char *path, size_t pathlen, struct api_error *e);
int pool_grow_volume(const char *path, bool is_dir, uint64_t size_bytes, struct api_error *e);
int pool_delete_volume(const char *path, bool is_dir, struct api_error *e);
/* What pool P holds, in bytes: its size (the file system of a directory
 * pool, the sum of a block pool's devices) and what is free there (space
 * left on the file system; the devices no volume uses). */
int pool_capacity(const struct cfg_pool *p, struct registry *r, uint64_t *total,
                  uint64_t *free_bytes, struct api_error *e);

#endif
