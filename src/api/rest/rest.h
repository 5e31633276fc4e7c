/* The REST layer of volswap-api: one folder per service (identity,
 * compute, volume, image), each with its routes and views, and here what
 * the services share: the server and volume lookups every scoped handler
 * does first, the handlers that Nova and Cinder serve in the same shape
 * (metadata, quotas, limits), the swap doors (Nova's PUT on an attachment,
 * the progress endpoint, Cinder's os-migrate_volume) and the request body
 * schemas. A service folder includes this header and the layers below
 * (http, swap, domain, hosts, config, registry, base), never another
 * service's folder. */
#ifndef VOLSWAP_API_REST_H
#define VOLSWAP_API_REST_H

#include "base/base.h"
#include "config/config.h"
#include "domain/domain.h"
#include "hosts/hosts.h"
#include "http/http.h"
#include "registry/registry.h"
#include "swap/swap.h"

/* ---- schemas.c ---- */
/* GET /metrics (metrics.c), mounted at the root. */
extern const struct api_route metrics_routes[];

extern const struct body_schema schema_volume_create, schema_server_create, schema_server_update,
    schema_volume_update, schema_attachment_create, schema_attachment_update, schema_auth_tokens,
    schema_volume_extend;
/* Cinder's volume actions with arguments: os-set_bootable,
 * os-update_readonly_flag, os-attach, os-detach. */
extern const struct body_schema schema_volume_bootable, schema_volume_readonly,
    schema_volume_attach, schema_volume_detach, schema_volume_upload_image,
    schema_volume_force_detach;
/* Nova's os-keypairs create. */
extern const struct body_schema schema_keypair_create;
/* {"metadata": {...}} and {"meta": {KEY: VALUE}} of Nova's server metadata
 * and Cinder's volume metadata APIs. */
extern const struct body_schema schema_server_metadata, schema_server_meta_item,
    schema_volume_metadata, schema_volume_meta_item;
/* {"quota_set": {...}} of Nova's and Cinder's os-quota-sets PUT. */
extern const struct body_schema schema_nova_quota_set, schema_cinder_quota_set;
/* {"quota_class_set": {...}} of Nova's os-quota-class-sets PUT. */
extern const struct body_schema schema_nova_quota_class_set;
/* All schemas, for the fuzzer and its corpus test. */
extern const struct body_schema *const body_schemas[];

/* ---- servers.c: what every server-scoped handler does first ---- */
/* Instance actions of the request (its id, caller). */
int action_start(struct api_request *rq, const char *server_id, const char *action,
                 struct reg_action *out);
int action_event(struct api_request *rq, struct reg_action *a, const char *event, const char *host,
                 const char *start_time, bool ok, const char *details);
/* The server ID in the caller's project (admin: any), or 404 as Nova
 * answers; a deleted server is 404 too. load_server_any also finds a
 * deleted one, for what Nova still shows of it (instance actions, 2.21). */
int load_server(struct api_request *rq, const char *id, struct reg_server *s);
int load_server_any(struct api_request *rq, const char *id, struct reg_server *s);
/* load_server, and the server's attachments' views with it, in one read
 * (VOLUME_ID's alone when not NULL; the caller frees *ATTS). */
int load_server_view(struct api_request *rq, const char *id, const char *volume_id,
                     struct reg_server *s, struct reg_attachment_view **atts, size_t *n);
/* 409 unless the server is in a state that allows ACTION (Nova's
 * check_instance_state), or when it is locked. */
int nova_check_server_state(struct api_request *rq, const struct reg_server *s, const char *action);
/* A deleted server stays as a record (vm_state "deleted"), as Nova's
 * soft-deleted rows do, so its instance actions remain readable. */
bool nova_server_deleted(const struct reg_server *s);
/* Sets server ID's task_state (""; "deleting") in one transaction. */
int nova_set_task_state(struct api_request *rq, const char *server_id, const char *task);
/* Sets server ID's task_state and, when VM_STATE is given, its vm_state
 * and status, in one transaction. */
int nova_set_server_states(struct api_request *rq, const char *server_id, const char *vm_state,
                           const char *status, const char *task);

/* ---- paging.c: limit, marker, offset and sort of the lists ---- */
#define PAGE_MAX_LIMIT 1000 /* Nova's and Cinder's max_limit */
#define PAGE_MAX_SORT  8
struct page_req {
    long limit, offset; /* -1: not given */
    const char *marker;
    struct {
        char key[32];
        bool desc;
    } sort[PAGE_MAX_SORT];
    size_t n_sort;
};
/* Reads limit, offset, marker and sort (or sort_key and sort_dir) with
 * Cinder's rules and messages (400); KEYS (NULL-terminated) are the sort
 * keys allowed, DEFAULT_SORT the order without one ("key:dir,..."). The
 * order always ends with id. */
int page_req_read(struct api_request *rq, const char *const *keys, const char *default_sort,
                  struct page_req *p);
/* Sorts N items of SIZE bytes; CMP_KEY compares two items by one key. */
void page_sort(void *items, size_t n, size_t size,
               int (*cmp_key)(const void *a, const void *b, const char *key),
               const struct page_req *p);
/* The page of sorted items: *FIRST and *COUNT; 404 "Marker X could not be
 * found." when no item has the marker's id (ID_OF). */
int page_window(struct api_request *rq, const void *items, size_t n, size_t size,
                const char *(*id_of)(const void *item), const struct page_req *p, size_t *first,
                size_t *count);
/* A page's body, {KEY: ITEMS} (stolen), and for a full page "KEY_links",
 * the link to the next: the request's URL with the CARRY arguments it had
 * (NULL-terminated names), its limit and sort, and marker LAST_ID, the id
 * of the page's last item (NULL for an empty page). */
json_t *page_body(struct api_request *rq, const struct page_req *p, const char *key, json_t *items,
                  const char *last_id, const char *const *carry);

/* ---- volumes.c ---- */
/* Loads volume ID of the URL's project (rq->params[0]), or Cinder's 404
 * "Volume X could not be found." */
int cinder_load_volume(struct api_request *rq, const char *id, struct reg_volume *v);
/* ---- metadata.c: servers' and volumes' key/value metadata ---- */
/* OWNER's items as a JSON object (empty when it has none). */
json_t *api_meta_json(struct registry *r, enum reg_meta_kind kind, const char *owner);
/* Merges MAP (checked by a metadata body schema) into OWNER's items, or
 * replaces them; 403 past the item bound. One transaction (nested in the
 * caller's when one is open: a new record and its metadata land together). */
int api_meta_store(struct registry *r, enum reg_meta_kind kind, const char *owner, json_t *map,
                   bool replace, struct api_error *e);
/* The handler of every metadata route, Nova's and Cinder's: the route
 * says whose and which verb. */
int api_metadata(struct api_request *rq);

/* ---- limits.c, quotas.c: both services' views of the same limits ---- */
int nova_limits(struct api_request *rq);
int cinder_limits(struct api_request *rq);

/* The default flavor's vCPU and memory, when the configuration names no
 * flavors (servers.c). */
#define FLAVOR_VCPUS  1
#define FLAVOR_RAM_MB 512
/* The configured flavors (never none: N gets at least 1). */
const struct cfg_flavor *rest_flavors(const struct api_config *c, size_t *n);
/* The flavor REF names (an id, or a URL ending with one), or NULL. */
const struct cfg_flavor *rest_flavor(const struct api_config *c, const char *ref);
/* The flavor server SERVER_ID was created with (its attribute flavor_ref);
 * the first configured one for a server that has none recorded or whose
 * flavor left the configuration. What it counts for in quotas and limits. */
const struct cfg_flavor *rest_server_flavor(struct registry *r, const struct api_config *c,
                                            const char *server_id);
/* The metadata items a server or volume may hold (metadata.c enforces it;
 * limits and quota sets show it). */
#define META_MAX_ITEMS 128
/* Nova's and Cinder's spelling of "no limit". */
#define QUOTA_UNLIMITED (-1)

/* What PROJECT uses: servers not deleted (with their flavors' vCPUs and
 * memory), volumes and their gigabytes. */
struct project_usage {
    json_int_t servers, cores, ram_mb, volumes, gigabytes;
    json_int_t gigabytes_reserved; /* by extends under way */
};
int project_usage(struct api_request *rq, const char *project, struct project_usage *u);
/* The enforced limits of a project: what an admin set for it, else for
 * the default quota class, else -1 (metadata_items: META_MAX_ITEMS). */
struct quota_limits {
    json_int_t instances, cores, ram, volumes, gigabytes, per_volume_gigabytes;
    json_int_t metadata_items, key_pairs;
};
/* The registry owner of the default quota class's limits (kind quota). */
#define QUOTA_CLASS_OWNER "quota-class:default"
int quota_load(struct api_request *rq, const char *project, struct quota_limits *l);
/* One limit NAME of PROJECT (its own, the class's, else DFLT), for the
 * checks made where no request is at hand (metadata.c). */
int quota_limit(struct registry *r, const char *project, const char *name, json_int_t dflt,
                json_int_t *out, struct api_error *e);
/* Whether PROJECT may have COUNT more servers of flavor FL (instances,
 * cores, ram): 0, or -1 with Nova's 403 "Quota exceeded for ...". Call it
 * inside the transaction that inserts a server (and before a multiple
 * create, for its count). */
int quota_check_servers(struct api_request *rq, const char *project, long long count,
                        const struct cfg_flavor *fl);
/* Whether PROJECT may have ADD_VOLUMES more volumes and ADD_GB more
 * gigabytes, with one volume of SIZE_GB: 0, or -1 with Cinder's 413. */
int quota_check_volume(struct api_request *rq, const char *project, int add_volumes, int64_t add_gb,
                       int64_t size_gb);
int nova_quotas_show(struct api_request *rq);
int nova_quotas_detail(struct api_request *rq);
int nova_quotas_defaults(struct api_request *rq);
int nova_quotas_update(struct api_request *rq);
int nova_quotas_delete(struct api_request *rq);
int nova_quota_class_show(struct api_request *rq);
int nova_quota_class_update(struct api_request *rq);
int cinder_quotas_show(struct api_request *rq);
int cinder_quotas_defaults(struct api_request *rq);
int cinder_quotas_update(struct api_request *rq);
int cinder_quotas_delete(struct api_request *rq);

/* ---- swap.c: the doors of the swap workflow ---- */
/* PUT /v2.1/servers/{id}/os-volume_attachments/{volume_id} */
int nova_attachments_update(struct api_request *rq);
/* GET /v2.1/servers/{id}/os-volume_attachments/{volume_id}/swap-progress */
int nova_swap_progress(struct api_request *rq);
int nova_swap_report(struct api_request *rq);
/* POST /v3/{project}/volumes/{id}/action {"os-migrate_volume": {...}};
 * volume/volumes.c's action dispatcher hands the request over when it sees the key. */
int cinder_migrate_volume(struct api_request *rq);
/* A server's delete (compute/servers.c) claims the server: 409 while a swap
 * of it runs or is unfinished, or while another delete of it runs; else it
 * sets task_state "deleting", which a swap's checks then refuse. The
 * delete releases its claim when it ends, whatever the outcome. */
int swap_claim_for_delete(struct api_request *rq, const char *server_id);
void swap_release_delete(const char *server_id);
/* Its body check alone (the fuzz target's door): on success 0, the pool
 * named by "host" in POOL and the host part of "host@backend#pool" in
 * HOST_NAME ("" for a bare pool name); otherwise rq->err holds the 400.
 * *doc is the parsed document either way (may be NULL), for the caller to
 * release. */
int cinder_migrate_args(struct api_request *rq, char host_name[65], char pool[65], json_t **doc);

#endif
