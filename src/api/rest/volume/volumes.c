/* The Cinder block-storage subset under /v3/{project_id}: volumes (create,
 * list, detail, show, delete, and the os-extend action) and the read side of
 * the attachments API (3.27+), which is where a volume's connection_info is
 * visible. Volume states only move through volume-state.c; creating a
 * volume makes a sparse raw file in a directory pool (or claims a block
 * device) on the chosen host. Pools are chosen with volume_type (the pool
 * name) or availability_zone (a host name); the default is the first pool. */
#include "volume.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define GiB (1024ull * 1024 * 1024)

static void pool_type_id(const char *host, const char *pool, char out[37]);

/* The id of a host's cinder-volume service (a volume's service_uuid): a
 * UUID derived from the host's name, stable across restarts. */
static void cinder_service_uuid(const char *host, char out[37])
{
    char seed[100];
    snprintf(seed, sizeof seed, "volswap-cinder-volume:%s", host);
    api_uuid_of(seed, out);
}

static json_t *volume_links(struct api_request *rq, const struct reg_volume *v)
{
    char self[500], book[500];
    snprintf(self, sizeof self, "%s/v3/%s/volumes/%s", rq->ctx->base_url, v->project_id, v->id);
    snprintf(book, sizeof book, "%s/%s/volumes/%s", rq->ctx->base_url, v->project_id, v->id);
    return json_pack("[{s:s, s:s}, {s:s, s:s}]", "rel", "self", "href", self, "rel", "bookmark",
                     "href", book);
}

/* The mode an attachment was made in: its connection_info's access_mode
 * ("ro" for a read-only volume's export or an os-attach in mode ro). */
static const char *attachment_mode(const struct reg_attachment *a)
{
    json_t *ci = json_loads(a->connection_info, 0, NULL);
    json_t *m = json_object_get(ci, "access_mode");
    const char *mode = json_is_string(m) && strcmp(json_string_value(m), "ro") == 0 ? "ro" : "rw";
    json_decref(ci);
    return mode;
}

/* The volume's metadata as Cinder shows it in the volume's views: the
 * user's items, and the admin metadata everyone may see, "readonly" once
 * the flag was set ("True"/"False") and "attached_mode" while attached. */
static json_t *volume_view_metadata(struct api_request *rq, const struct reg_volume *v)
{
    struct registry *r = rq->ctx->reg;
    json_t *md = api_meta_json(r, REG_META_VOLUME, v->id);
    if (v->readonly >= 0)
        json_object_set_new(md, "readonly", json_string(v->readonly ? "True" : "False"));
    struct reg_attachment a;
    if (strcmp(v->attach_status, "attached") == 0 &&
        r->ops->attachment_get_by_volume(r, v->id, &a) == 0)
        json_object_set_new(md, "attached_mode", json_string(attachment_mode(&a)));
    return md;
}

static json_t *volume_attachments(struct api_request *rq, const struct reg_volume *v)
{
    json_t *arr = json_array();
    struct reg_attachment a;
    struct registry *r = rq->ctx->reg;
    if (r->ops->attachment_get_by_volume(r, v->id, &a) == 0) {
        char at[40];
        snprintf(at, sizeof at, "%.19s.000000", a.created_at);
        /* Cinder's host_name is where the volume is attached: the
         * server's host, which is not the volume's when it crosses hosts */
        struct reg_server s;
        const char *host = r->ops->server_get(r, a.server_id, &s) == 0 ? s.host : v->host;
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "server_id",
                                             a.server_id, "attachment_id", a.id, "attached_at", at,
                                             "host_name", host, "volume_id", v->id, "device",
                                             a.device, "id", v->id));
    }
    return arr;
}

/* Cinder's detail view, field for field as the microversion asked for:
 * the core fields of 3.0, group_id from 3.13, service_uuid and
 * shared_targets from 3.48, volume_type_id from 3.63, encryption_key_id
 * from 3.64, consumes_quota from 3.65; for admins also provider_id (3.21),
 * cluster_name (3.61), the host and migration attributes. The tenant
 * attribute is an extension of show and the lists only (WITH_TENANT):
 * Cinder's create reply does not carry it. Cinder's attach_status is
 * internal; a volume shows it through status and attachments. */
static json_t *volume_detail(struct api_request *rq, const struct reg_volume *v, bool with_tenant)
{
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:n, s:n, s:o, s:o,"
        " s:s, s:s, s:b, s:n, s:n, s:b, s:o}",
        "id", v->id, "name", v->name, "status", v->status, "size", (json_int_t)v->size_gb,
        "availability_zone", "nova", "created_at", v->created_at, "description", v->description,
        "volume_type", v->pool, "snapshot_id", "source_volid", "metadata",
        volume_view_metadata(rq, v), "links", volume_links(rq, v), "user_id", v->user_id,
        "bootable", v->bootable ? "true" : "false", "encrypted", 0, "replication_status",
        "consistencygroup_id", "multiattach", 0, "attachments", volume_attachments(rq, v));
    json_object_set_new(o, "updated_at", json_string(v->updated_at));
    struct api_error ignore;
    bool admin = auth_has_role(&rq->auth, "admin");
    /* as Cinder's: shown once the volume is made (show and lists), not in
     * the create or update reply */
    json_t *vim = with_tenant ? cinder_volume_image_metadata(rq, v) : NULL;
    if (vim)
        json_object_set_new(o, "volume_image_metadata", vim);
    if (rq->mv >= 13)
        json_object_set_new(o, "group_id", json_null());
    if (rq->mv >= 21 && admin)
        json_object_set_new(o, "provider_id", json_null());
    if (rq->mv >= 48) {
        char svc[37];
        cinder_service_uuid(v->host, svc);
        json_object_set_new(o, "service_uuid", json_string(svc));
        /* each volume is its own NBD export: no target is shared */
        json_object_set_new(o, "shared_targets", json_false());
    }
    if (rq->mv >= 61 && admin)
        json_object_set_new(o, "cluster_name", json_null());
    if (rq->mv >= 63) {
        char tid[37];
        pool_type_id(v->host, v->pool, tid);
        json_object_set_new(o, "volume_type_id", json_string(tid));
    }
    if (rq->mv >= 64)
        json_object_set_new(o, "encryption_key_id", json_null());
    if (rq->mv >= 65)
        json_object_set_new(o, "consumes_quota", json_true());
    if (with_tenant && policy_check(&rq->auth, "volume_extension:volume_tenant_attribute",
                                    v->project_id, &ignore) == 0)
        json_object_set_new(o, "os-vol-tenant-attr:tenant_id", json_string(v->project_id));
    if (with_tenant &&
        policy_check(&rq->auth, "volume_extension:volume_host_attribute", NULL, &ignore) == 0) {
        char host[200];
        snprintf(host, sizeof host, "%s@volswap#%s", v->host, v->pool);
        json_object_set_new(o, "os-vol-host-attr:host", json_string(host));
    }
    if (admin) {
        json_t *m = v->migration_status[0] ? json_string(v->migration_status) : json_null();
        json_object_set_new(o, "migration_status", m);
        if (with_tenant && policy_check(&rq->auth, "volume_extension:volume_mig_status_attribute",
                                        NULL, &ignore) == 0) {
            json_object_set_new(o, "os-vol-mig-status-attr:migstat", json_incref(m));
            json_object_set_new(o, "os-vol-mig-status-attr:name_id", json_null());
        }
    }
    return o;
}

static json_t *volume_summary(struct api_request *rq, const struct reg_volume *v)
{
    return json_pack("{s:s, s:s, s:o}", "id", v->id, "name", v->name, "links", volume_links(rq, v));
}

/* Cinder's sort keys for volumes. */
static int volume_cmp_key(const void *a, const void *b, const char *key)
{
    const struct reg_volume *x = a, *y = b;
    if (strcmp(key, "size") == 0)
        return (x->size_gb > y->size_gb) - (x->size_gb < y->size_gb);
    if (strcmp(key, "name") == 0 || strcmp(key, "display_name") == 0)
        return strcmp(x->name, y->name);
    if (strcmp(key, "status") == 0)
        return strcmp(x->status, y->status);
    if (strcmp(key, "created_at") == 0)
        return strcmp(x->created_at, y->created_at);
    if (strcmp(key, "updated_at") == 0)
        return strcmp(x->updated_at, y->updated_at);
    if (strcmp(key, "volume_type") == 0)
        return strcmp(x->pool, y->pool);
    return strcmp(x->id, y->id);
}

static const char *volume_id_of(const void *v)
{
    return ((const struct reg_volume *)v)->id;
}

/* GET /volumes[/detail]: the caller's project (an admin's all_tenants: every
 * project, or project_id's), filtered by name and status, sorted and paged
 * as Cinder (newest first by default). */
static int volumes_list(struct api_request *rq, bool detail)
{
    static const char *const sort_keys[] = { "id",         "name",        "display_name",
                                             "status",     "size",        "created_at",
                                             "updated_at", "volume_type", NULL };
    struct page_req page;
    if (page_req_read(rq, sort_keys, "created_at:desc", &page) < 0)
        return -1;
    struct registry *r = rq->ctx->reg;
    struct reg_volume *vols = NULL;
    size_t n = 0;
    /* as Cinder: all_tenants is an admin's (and ignored for others), and
     * project_id then picks one project */
    const char *all = api_query(rq, "all_tenants");
    bool all_tenants = all && (all[0] == '\0' || api_truthy(all)) &&
                       auth_has_role(&rq->auth, "admin");
    const char *project = all_tenants ? api_query(rq, "project_id") : NULL;
    if (r->ops->volume_list(r, all_tenants ? NULL : api_param(rq, "project_id"), &vols, &n) < 0)
        return reg_fail(&rq->err, r);
    const char *name = api_query(rq, "name"), *status = api_query(rq, "status");
    const char *bootable = api_query(rq, "bootable");
    /* Cinder's metadata filter is a Python dict literal, {'k': 'v'}: read
     * as JSON once its quotes are JSON's */
    json_t *want_md = NULL;
    const char *mdq = api_query(rq, "metadata");
    if (mdq && strlen(mdq) < 4096) {
        char buf[4096];
        snprintf(buf, sizeof buf, "%s", mdq);
        for (char *c = buf; *c; c++)
            if (*c == '\'')
                *c = '"';
        want_md = json_loads(buf, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(want_md)) {
            json_decref(want_md);
            free(vols);
            return api_err(&rq->err, 400, "Invalid metadata filter: %.64s", mdq);
        }
    }
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if ((name && strcmp(name, vols[i].name) != 0) ||
            (status && strcmp(status, vols[i].status)) ||
            (bootable && api_truthy(bootable) != vols[i].bootable) ||
            (project && strcmp(project, vols[i].project_id) != 0))
            continue;
        if (want_md) {
            json_t *have = api_meta_json(r, REG_META_VOLUME, vols[i].id);
            const char *k;
            json_t *val;
            bool match = true;
            json_object_foreach(want_md, k, val) {
                const char *h = json_string_value(json_object_get(have, k));
                if (!h || !json_is_string(val) || strcmp(h, json_string_value(val)) != 0)
                    match = false;
            }
            json_decref(have);
            if (!match)
                continue;
        }
        vols[kept++] = vols[i];
    }
    json_decref(want_md);
    page_sort(vols, kept, sizeof *vols, volume_cmp_key, &page);
    size_t first, count;
    if (page_window(rq, vols, kept, sizeof *vols, volume_id_of, &page, &first, &count) < 0) {
        free(vols);
        return -1;
    }
    json_t *arr = json_array();
    for (size_t i = first; i < first + count; i++)
        json_array_append_new(arr, detail ? volume_detail(rq, &vols[i], true)
                                          : volume_summary(rq, &vols[i]));
    static const char *const carry[] = { "all_tenants", "project_id", "name", "status", NULL };
    json_t *out =
        page_body(rq, &page, "volumes", arr, count ? vols[first + count - 1].id : NULL, carry);
    free(vols);
    return api_reply(rq, 200, out);
}

/* ".../volumes/" names a volume whose id is empty, as Cinder's router
 * reads it: none such (404), where our router would take it for the
 * collection. */
static bool empty_volume_id(const struct api_request *rq)
{
    size_t n = strlen(rq->url);
    return n > 0 && rq->url[n - 1] == '/';
}

static int volumes_index(struct api_request *rq)
{
    if (empty_volume_id(rq))
        return api_err(&rq->err, 404, "Volume  could not be found.");
    return volumes_list(rq, false);
}

/* PUT and DELETE on the collection: 405, or 404 for an empty id. */
static int volumes_collection_other(struct api_request *rq)
{
    if (empty_volume_id(rq))
        return api_err(&rq->err, 404, "Volume  could not be found.");
    return api_err(&rq->err, 405, "The method %s is not allowed for this resource.", rq->method);
}
static int volumes_detail(struct api_request *rq)
{
    return volumes_list(rq, true);
}

static int volumes_show(struct api_request *rq)
{
    struct reg_volume v;
    if (cinder_load_volume(rq, api_param(rq, "volume_id"), &v) < 0)
        return -1;
    return api_reply(rq, 200, json_pack("{s:o}", "volume", volume_detail(rq, &v, true)));
}

/* ---- volume types: one per pool ---- */

/* A pool's volume type id: a UUID derived from the host and pool names, so
 * it is the same on every start and on every volswap-api of one config. */
static void pool_type_id(const char *host, const char *pool, char out[37])
{
    char seed[160];
    snprintf(seed, sizeof seed, "volswap-volume-type:%s#%s", host, pool);
    api_uuid_of(seed, out);
}

/* The pool a volume type names, by name or by id. */
static const struct cfg_pool *pool_of_type(const struct api_config *cfg, const char *type,
                                           const struct cfg_host **host)
{
    const struct cfg_pool *p = config_pool(cfg, type, host);
    if (p)
        return p;
    for (size_t h = 0; h < cfg->n_hosts; h++)
        for (size_t i = 0; i < cfg->hosts[h].n_pools; i++) {
            char id[37];
            pool_type_id(cfg->hosts[h].name, cfg->hosts[h].pools[i].name, id);
            if (strcmp(id, type) == 0) {
                *host = &cfg->hosts[h];
                return &cfg->hosts[h].pools[i];
            }
        }
    return NULL;
}

static json_t *type_view(const struct cfg_host *h, const struct cfg_pool *p)
{
    char id[37], desc[200];
    pool_type_id(h->name, p->name, id);
    snprintf(desc, sizeof desc, "volumes in pool %s of host %s (%s)", p->name, h->name,
             p->is_dir ? "sparse files" : "block devices");
    return json_pack("{s:s, s:s, s:s, s:b, s:n, s:{s:s, s:s}, s:b}", "id", id, "name", p->name,
                     "description", desc, "is_public", 1, "qos_specs_id", "extra_specs",
                     "volume_backend_name", "volswap", "pool_name", p->name,
                     "os-volume-type-access:is_public", 1);
}

static int types_index(struct api_request *rq)
{
    const struct api_config *cfg = rq->ctx->cfg;
    json_t *arr = json_array();
    for (size_t h = 0; h < cfg->n_hosts; h++)
        for (size_t i = 0; i < cfg->hosts[h].n_pools; i++)
            json_array_append_new(arr, type_view(&cfg->hosts[h], &cfg->hosts[h].pools[i]));
    return api_reply(rq, 200, json_pack("{s:o}", "volume_types", arr));
}

static int types_show(struct api_request *rq)
{
    const struct cfg_host *h = NULL;
    const struct cfg_pool *p = pool_of_type(rq->ctx->cfg, api_param(rq, "type_id"), &h);
    if (!p)
        return api_err(&rq->err, 404, "Volume type %.64s could not be found.",
                       api_param(rq, "type_id"));
    return api_reply(rq, 200, json_pack("{s:o}", "volume_type", type_view(h, p)));
}

/* GET /os-services (admin): a cinder-volume service per configured host
 * ("host@volswap"), up when its daemon answers on its monitor now. */
/* Availability zones: "nova" and each host's name (a volume create takes
 * either; a host's name puts it on that host). */
static int cinder_zones(struct api_request *rq)
{
    const struct api_config *cfg = rq->ctx->cfg;
    json_t *arr = json_array();
    json_array_append_new(
        arr, json_pack("{s:s, s:{s:b}}", "zoneName", "nova", "zoneState", "available", 1));
    for (size_t h = 0; h < cfg->n_hosts; h++)
        json_array_append_new(arr, json_pack("{s:s, s:{s:b}}", "zoneName", cfg->hosts[h].name,
                                             "zoneState", "available", 1));
    return api_reply(rq, 200, json_pack("{s:o}", "availabilityZoneInfo", arr));
}

/* Picks the pool: volume_type names it; availability_zone may name a host;
 * otherwise the first pool of the first host that has one and whose
 * service is not disabled. */
static const struct cfg_pool *choose_pool(struct api_request *rq, const char *type, const char *az,
                                          const struct cfg_host **host)
{
    const struct api_config *cfg = rq->ctx->cfg;
    const struct cfg_host *want_host = NULL;
    if (az && strcmp(az, "nova") != 0) {
        want_host = config_host(cfg, az);
        if (!want_host) {
            api_err(&rq->err, 400, "Invalid input received: Availability zone '%.64s' is invalid.",
                    az);
            return NULL;
        }
    }
    struct registry *r = rq->ctx->reg;
    if (type) {
        const struct cfg_pool *p = pool_of_type(cfg, type, host);
        if (!p || (want_host && *host != want_host)) {
            api_err(&rq->err, 404, "Volume type with name %.64s could not be found.", type);
            return NULL;
        }
        want_host = *host;
    }
    /* a disabled service takes no new volume (os-services, services.c) */
    bool any = false;
    for (size_t i = 0; i < cfg->n_hosts; i++) {
        if (!cfg->hosts[i].n_pools || (want_host && want_host != &cfg->hosts[i]))
            continue;
        any = true;
        int off = cinder_service_disabled(r, cfg->hosts[i].name, NULL, 0, &rq->err);
        if (off < 0)
            return NULL;
        if (off)
            continue;
        *host = &cfg->hosts[i];
        return type ? pool_of_type(cfg, type, host) : &cfg->hosts[i].pools[0];
    }
    if (any)
        api_err(&rq->err, 400,
                "No valid backend was found. The volume service of every host it could go to "
                "is disabled.");
    else
        api_err(&rq->err, 500, "No valid backend was found. No pool is configured.");
    return NULL;
}

/* The quota check, the storage on the pool and the record with its
 * metadata, in one transaction; storage whose record did not commit is
 * removed again. A pool whose host makes its files is asked after the
 * record commits (no host call inside a transaction): a host that fails
 * the create leaves the volume in error, as Cinder's backend would. */
static int insert_volume(struct api_request *rq, const struct cfg_pool *p, struct reg_volume *v,
                         json_t *md)
{
    struct registry *r = rq->ctx->reg;
    struct api_error perr = { 0 };
    bool on_host = pool_creates_on_host(p);
    if ((on_host && pool_volume_path(p, v->id, v->path, sizeof v->path, &rq->err) < 0) ||
        pool_prepare(p, &rq->err) < 0)
        return -1;
    REG_TXN(txn, r);
    if (reg_begin(&txn, &rq->err) < 0 ||
        quota_check_volume(rq, v->project_id, 1, v->size_gb, v->size_gb) < 0)
        return -1;
    if (!on_host && pool_create_volume(p, v->id, (uint64_t)v->size_gb * GiB, r, v->path,
                                       sizeof v->path, &perr) < 0)
        return api_err(&rq->err, perr.status ? perr.status : 500, "%s", perr.msg);
    if (r->ops->volume_insert(r, v) < 0)
        reg_fail(&rq->err, r);
    else if ((!md || api_meta_store(r, REG_META_VOLUME, v->id, md, false, &rq->err) == 0) &&
             reg_commit(&txn, &rq->err) == 0) {
        if (!on_host || pool_create_volume(p, v->id, (uint64_t)v->size_gb * GiB, r, v->path,
                                           sizeof v->path, &perr) == 0)
            return 0;
        vol_transition_apply(r, v->id, VT_ERROR, false, v, NULL);
        return api_err(&rq->err, perr.status ? perr.status : 500, "%s", perr.msg);
    }
    /* a device claimed in a transaction that did not commit was never
     * written: nothing to zero, and another volume may hold it by now */
    if (!on_host && p->is_dir)
        pool_delete_volume(p, v->path, &perr);
    return -1;
}

static int volumes_create(struct api_request *rq)
{
    json_t *b = rq->body_obj; /* schema_volume_create, checked by the router */
    int rc = -1;
    struct registry *r = rq->ctx->reg;
    json_t *md = json_object_get(b, "metadata");
    if (json_is_null(md))
        md = NULL;
    static const struct {
        const char *field, *what;
    } sources[] = {
        { "snapshot_id", "from a snapshot" }, { "source_volid", "from another volume" },
        { "backup_id", "from a backup" },     { "consistencygroup_id", "in a consistency group" },
        { "group_id", "in a group" },
    };
    for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++) {
        const char *val = json_string_value(json_object_get(b, sources[i].field));
        /* volswap keeps no snapshots or backups, so any named is not found,
         * as Cinder answers for one it does not have; so is a source volume
         * the caller cannot see */
        struct reg_volume src;
        if (val && val[0] && (i == 0 || i == 2)) {
            api_err(&rq->err, 404, "%s %.36s could not be found.", i == 0 ? "Snapshot" : "Backup",
                    val);
            goto out;
        }
        if (val && val[0] && i == 1 && cinder_load_volume(rq, val, &src) < 0)
            goto out;
        if (val && val[0]) {
            api_err(&rq->err, 400,
                    "Invalid input received: volswap cannot create a volume %s "
                    "(%s).",
                    sources[i].what, sources[i].field);
            goto out;
        }
    }
    json_t *multi = json_object_get(b, "multiattach");
    if (multi && body_bool(multi)) {
        api_err(&rq->err, 400, "Invalid input received: volswap volumes are not multiattach.");
        goto out;
    }
    const char *image_id = json_string_value(json_object_get(b, "imageRef"));
    if (!image_id || !image_id[0])
        image_id = json_string_value(json_object_get(b, "image_id"));
    struct reg_image im;
    if (image_id && image_id[0] &&
        cinder_image_for_volume(rq, image_id, json_integer_value(json_object_get(b, "size")),
                                &im) < 0)
        goto out;
    const struct cfg_host *h = NULL;
    const struct cfg_pool *p =
        choose_pool(rq, json_string_value(json_object_get(b, "volume_type")),
                    json_string_value(json_object_get(b, "availability_zone")), &h);
    if (!p)
        goto out;
    struct reg_volume v;
    memset(&v, 0, sizeof v);
    api_uuid(v.id);
    snprintf(v.project_id, sizeof v.project_id, "%s", api_param(rq, "project_id"));
    snprintf(v.user_id, sizeof v.user_id, "%s", rq->auth.user_id);
    /* as Cinder: name and description win over display_name and
     * display_description when a request has both */
    const char *name = json_string_value(json_object_get(b, "name"));
    const char *desc = json_string_value(json_object_get(b, "description"));
    if (!json_object_get(b, "name"))
        name = json_string_value(json_object_get(b, "display_name"));
    if (!json_object_get(b, "description"))
        desc = json_string_value(json_object_get(b, "display_description"));
    snprintf(v.name, sizeof v.name, "%s", name ? name : "");
    snprintf(v.description, sizeof v.description, "%s", desc ? desc : "");
    v.size_gb = json_integer_value(json_object_get(b, "size"));
    snprintf(v.host, sizeof v.host, "%s", h->name);
    snprintf(v.pool, sizeof v.pool, "%s", p->name);
    strcpy(v.status, "creating");
    strcpy(v.attach_status, "detached");
    v.readonly = -1;
    api_time_micro(time(NULL), v.created_at);
    memcpy(v.updated_at, v.created_at, sizeof v.updated_at);
    /* the record exists (status creating) before the storage does, so a crash
   * in between leaves a visible volume to clean up, never a leaked file */
    if (insert_volume(rq, p, &v, md) < 0)
        goto out;
    if (image_id && image_id[0]) { /* available once the image's bytes are in */
        if (cinder_fill_from_image(rq, &v, &im) < 0) {
            struct api_error keep = rq->err;
            vol_transition_apply(r, v.id, VT_ERROR, false, &v, &rq->err);
            rq->err = keep;
            goto out;
        }
    } else if (vol_transition_apply(r, v.id, VT_CREATED, false, &v, &rq->err) < 0) {
        goto out;
    }
    rc = api_reply(rq, 202, json_pack("{s:o}", "volume", volume_detail(rq, &v, false)));
out:
    return rc;
}

/* PUT /volumes/{id}: name and description (or their display_ spellings,
 * which lose to them) and the metadata, replaced; 200 with the view. From
 * 3.53 an update must name one of them. */
static int volumes_update(struct api_request *rq)
{
    struct reg_volume v;
    if (cinder_load_volume(rq, api_param(rq, "volume_id"), &v) < 0 ||
        api_authorize(rq, v.project_id) < 0)
        return -1;
    json_t *b = rq->body_obj;
    if (rq->mv >= 53 && json_object_size(b) == 0)
        return api_err(&rq->err, 400,
                       "Invalid input for field/attribute volume. Value: {}. {} is not valid under "
                       "any of the given schemas");
    json_t *name = json_object_get(b, "name"), *desc = json_object_get(b, "description");
    if (!name)
        name = json_object_get(b, "display_name");
    if (!desc)
        desc = json_object_get(b, "display_description");
    struct registry *r = rq->ctx->reg;
    REG_TXN(txn, r);
    if (reg_begin(&txn, &rq->err) < 0)
        return -1;
    int rc = r->ops->volume_get(r, v.id, &v);
    if (rc == 0) {
        if (name)
            snprintf(v.name, sizeof v.name, "%s",
                     json_is_null(name) ? "" : json_string_value(name));
        if (desc)
            snprintf(v.description, sizeof v.description, "%s",
                     json_is_null(desc) ? "" : json_string_value(desc));
        api_time_micro(time(NULL), v.updated_at);
        rc = r->ops->volume_update(r, &v);
    }
    json_t *md = json_object_get(b, "metadata");
    if (rc == 1)
        return api_err(&rq->err, 404, "Volume %s could not be found.", v.id);
    if (rc != 0)
        return reg_fail(&rq->err, r);
    if (md && api_meta_store(r, REG_META_VOLUME, v.id, md, true, &rq->err) < 0)
        return -1;
    if (reg_commit(&txn, &rq->err) < 0)
        return -1;
    return api_reply(rq, 200, json_pack("{s:o}", "volume", volume_detail(rq, &v, false)));
}

/* GET /volumes/summary (3.12): how many volumes and gigabytes the
 * project has (an admin's all_tenants: every project), and from 3.36 the
 * values each metadata key takes among them. */
static int volumes_summary(struct api_request *rq)
{
    const char *all = api_query(rq, "all_tenants");
    bool all_tenants = all && (all[0] == '\0' || api_truthy(all)) &&
                       auth_has_role(&rq->auth, "admin");
    struct registry *r = rq->ctx->reg;
    struct reg_volume *vols = NULL;
    size_t n = 0;
    if (r->ops->volume_list(r, all_tenants ? NULL : api_param(rq, "project_id"), &vols, &n) < 0)
        return reg_fail(&rq->err, r);
    json_int_t size = 0;
    json_t *meta = json_object();
    for (size_t i = 0; i < n; i++) {
        size += (json_int_t)vols[i].size_gb;
        json_t *m = api_meta_json(r, REG_META_VOLUME, vols[i].id);
        const char *k;
        json_t *val;
        json_object_foreach(m, k, val) {
            json_t *vals = json_object_get(meta, k);
            if (!vals) {
                vals = json_array();
                json_object_set_new(meta, k, vals);
            }
            bool seen = false;
            for (size_t j = 0; j < json_array_size(vals); j++)
                seen |= json_equal(json_array_get(vals, j), val);
            if (!seen)
                json_array_append(vals, val);
        }
        json_decref(m);
    }
    json_t *sum = json_pack("{s:I, s:I}", "total_size", size, "total_count", (json_int_t)n);
    free(vols);
    if (rq->mv >= 36)
        json_object_set_new(sum, "metadata", meta);
    else
        json_decref(meta);
    return api_reply(rq, 200, json_pack("{s:o}", "volume-summary", sum));
}

static int volumes_delete(struct api_request *rq)
{
    struct reg_volume v;
    if (cinder_load_volume(rq, api_param(rq, "volume_id"), &v) < 0 ||
        api_authorize(rq, v.project_id) < 0)
        return -1;
    if (volume_destroy(rq->ctx, v.id, &rq->err) < 0)
        return -1;
    return api_reply(rq, 202, NULL);
}

/* The start of an extend, in one transaction: the gigabytes quota checked
 * with every other extend's reservation counted, the volume marked
 * extending and the gigabytes it adds reserved until it has grown, so two
 * extends racing for the last gigabytes (on any nodes) cannot both pass. */
static int extend_begin(struct api_request *rq, struct reg_volume *v, int64_t new_size,
                        bool in_use_ok)
{
    struct registry *r = rq->ctx->reg;
    struct reg_meta res;
    memset(&res, 0, sizeof res);
    snprintf(res.key, sizeof res.key, "%s", v->id);
    snprintf(res.value, sizeof res.value, "%lld", (long long)(new_size - v->size_gb));
    REG_TXN(txn, r);
    if (reg_begin(&txn, &rq->err) < 0 ||
        quota_check_volume(rq, v->project_id, 0, new_size - v->size_gb, new_size) < 0 ||
        vol_transition_apply(r, v->id, VT_BEGIN_EXTEND, in_use_ok, v, &rq->err) < 0)
        return -1;
    if (r->ops->meta_put(r, REG_META_RESERVATION, v->project_id, &res) < 0)
        return reg_fail(&rq->err, r);
    return reg_commit(&txn, &rq->err);
}

/* An extend that did not happen: the volume's state T and the reservation
 * given back together (best effort: the caller reports the first error). */
static void extend_end(struct registry *r, const struct reg_volume *v, enum vol_transition t)
{
    struct api_error e = { 0 };
    REG_TXN(txn, r);
    if (reg_begin(&txn, &e) < 0 || vol_transition_apply(r, v->id, t, false, NULL, &e) < 0 ||
        r->ops->meta_delete(r, REG_META_RESERVATION, v->project_id, v->id) < 0 ||
        reg_commit(&txn, &e) < 0)
        vs_error("extend of %s: cannot undo: %s", v->id,
                e.msg[0] ? e.msg : r->ops->last_error(r));
}

static int volume_extend(struct api_request *rq, json_t *args)
{
    struct reg_volume v;
    if (cinder_load_volume(rq, api_param(rq, "volume_id"), &v) < 0)
        return -1;
    bool in_use_ok = rq->mv >= 42;
    if (policy_check(&rq->auth,
                     strcmp(v.status, "in-use") == 0 ? "volume:extend_attached_volume"
                                                     : "volume:extend",
                     v.project_id, &rq->err) < 0)
        return -1;
    json_t *ns = json_object_get(args, "new_size");
    if (!json_is_integer(ns))
        return api_err(&rq->err, 400,
                       "Invalid input for field/attribute new_size. Value: "
                       "(non-integer). new_size is not of type 'integer'");
    json_int_t new_size = json_integer_value(ns);
    if (new_size <= v.size_gb || new_size > (1 << 20))
        return api_err(&rq->err, 400,
                       "Invalid input received: New size for extend must be "
                       "greater than current size. (current: %lld, extended: %lld).",
                       (long long)v.size_gb, (long long)new_size);
    struct registry *r = rq->ctx->reg;
    if (extend_begin(rq, &v, new_size, in_use_ok) < 0)
        return -1;
    const struct cfg_host *h = NULL;
    const struct cfg_pool *p = config_pool(rq->ctx->cfg, v.pool, &h);
    struct api_error perr = { 0 };
    struct reg_attachment a;
    int rc;
    if (!p) {
        rc = api_err(&perr, 500, "pool %s is no longer configured", v.pool);
    } else if (strcmp(v.attach_status, "attached") == 0 &&
               r->ops->attachment_get_by_volume(r, v.id, &a) == 0) {
        /* an open volume is grown by the host (block_resize), so the node and
     * its export learn the size; a host that cannot resize an exported
     * node refuses, and the volume stays as it was. The server records it
     * as Nova does on Cinder's volume-extended event: instance action
     * extend_volume, event compute_extend_volume. */
        struct reg_action act;
        if (action_start(rq, a.server_id, "extend_volume", &act) < 0) {
            extend_end(r, &v, VT_FINISH_EXTEND);
            return -1;
        }
        const struct host_driver *drv = host_driver_find(h->driver);
        rc = p->is_dir || pool_grow_volume(p, v.path, (uint64_t)new_size * GiB, &perr) == 0
                 ? drv->resize(h, a.node_name, (uint64_t)new_size * GiB, &perr)
                 : -1;
        action_event(rq, &act, "compute_extend_volume", h->name, act.start_time, rc == 0,
                     rc < 0 ? perr.msg : NULL);
        if (rc < 0) {
            extend_end(r, &v, VT_FINISH_EXTEND);
            return api_err(&rq->err, 400,
                           "Invalid volume: volume %s cannot be extended while "
                           "attached: %s",
                           v.id, perr.msg);
        }
    } else {
        rc = pool_grow_volume(p, v.path, (uint64_t)new_size * GiB, &perr);
    }
    if (rc < 0) {
        extend_end(r, &v, VT_ERROR_EXTENDING);
        return api_err(&rq->err, 500, "%s", perr.msg);
    }
    REG_TXN(txn, r);
    if (reg_begin(&txn, &rq->err) < 0)
        return -1;
    int grc = r->ops->volume_get(r, v.id, &v);
    if (grc != 0)
        return grc < 0 ? reg_fail(&rq->err, r)
                       : api_err(&rq->err, 404, "Volume %s could not be found.", v.id);
    if (vol_transition_check(&v, VT_FINISH_EXTEND, false, &rq->err) < 0)
        return -1;
    v.size_gb = new_size;
    api_time_micro(time(NULL), v.updated_at);
    if (r->ops->volume_update(r, &v) < 0 ||
        r->ops->meta_delete(r, REG_META_RESERVATION, v.project_id, v.id) < 0)
        return reg_fail(&rq->err, r);
    if (reg_commit(&txn, &rq->err) < 0)
        return -1;
    return api_reply(rq, 202, NULL);
}

/* Cinder's state-only volume actions (what Nova calls through cinderclient
 * around attach, detach and swap): each is one transition of
 * volume-state.c, applied atomically. Their argument is null or {}. */
static const struct {
    const char *name, *rule;
    enum vol_transition t;
} state_actions[] = {
    { "os-reserve", "volume_extension:volume_actions:reserve", VT_RESERVE },
    { "os-unreserve", "volume_extension:volume_actions:unreserve", VT_UNRESERVE },
    { "os-begin_detaching", "volume_extension:volume_actions:begin_detaching", VT_BEGIN_DETACHING },
    { "os-roll_detaching", "volume_extension:volume_actions:roll_detaching", VT_ROLL_DETACHING },
};

static int volume_state_action(struct api_request *rq, size_t i, json_t *arg)
{
    if (!json_is_null(arg) && !(json_is_object(arg) && json_object_size(arg) == 0))
        return api_err(&rq->err, 400,
                       "Invalid input for field/attribute %s. Value: "
                       "(non-null). %s takes no arguments",
                       state_actions[i].name, state_actions[i].name);
    struct reg_volume v;
    if (cinder_load_volume(rq, api_param(rq, "volume_id"), &v) < 0 ||
        policy_check(&rq->auth, state_actions[i].rule, v.project_id, &rq->err) < 0)
        return -1;
    if (vol_transition_apply(rq->ctx->reg, v.id, state_actions[i].t, false, NULL, &rq->err) < 0)
        return -1;
    return api_reply(rq, 202, NULL);
}

static bool one_of(const char *v, const char *const *set)
{
    for (; *set; set++)
        if (strcmp(v, *set) == 0)
            return true;
    return false;
}

/* os-reset_status (admin): sets status, attach_status and migration_status
 * directly, for an operator repairing a volume left in a transient state. */
static int volume_reset_status(struct api_request *rq, json_t *arg)
{
    static const char *const statuses[] = { "creating",  "available",       "reserved",
                                            "attaching", "in-use",          "detaching",
                                            "deleting",  "error",           "error_deleting",
                                            "extending", "error_extending", "maintenance",
                                            NULL };
    static const char *const attach[] = { "attached",  "detached",        "attaching",
                                          "detaching", "error_attaching", "error_detaching",
                                          NULL };
    static const char *const migration[] = { "",        "starting", "migrating", "completing",
                                             "success", "error",    NULL };
    struct reg_volume v;
    if (cinder_load_volume(rq, api_param(rq, "volume_id"), &v) < 0 ||
        policy_check(&rq->auth, "volume_extension:volume_admin_actions:reset_status", v.project_id,
                     &rq->err) < 0)
        return -1;
    if (!json_is_object(arg) || json_object_size(arg) == 0)
        return api_err(&rq->err, 400,
                       "Must specify 'status', 'attach_status' or "
                       "'migration_status' for update.");
    const char *k;
    json_t *val;
    json_object_foreach(arg, k, val) {
        const char *s = json_is_null(val) ? "" : json_string_value(val);
        const char *const *set = !strcmp(k, "status")             ? statuses
                                 : !strcmp(k, "attach_status")    ? attach
                                 : !strcmp(k, "migration_status") ? migration
                                                                  : NULL;
        if (!set)
            return api_err(&rq->err, 400,
                           "Invalid input for field/attribute os-reset_status. "
                           "Additional properties are not allowed ('%.64s' was unexpected)",
                           k);
        if (!s || !one_of(s, set))
            return api_err(&rq->err, 400, "Invalid input for field/attribute %s.", k);
    }
    struct registry *r = rq->ctx->reg;
    REG_TXN(txn, r);
    if (reg_begin(&txn, &rq->err) < 0)
        return -1;
    int grc = r->ops->volume_get(r, v.id, &v);
    if (grc < 0)
        return reg_fail(&rq->err, r);
    if (grc == 1)
        return api_err(&rq->err, 404, "Volume %s could not be found.", api_param(rq, "volume_id"));
    json_object_foreach(arg, k, val) {
        const char *s = json_is_null(val) ? "" : json_string_value(val);
        char *dst = !strcmp(k, "status")          ? v.status
                    : !strcmp(k, "attach_status") ? v.attach_status
                                                  : v.migration_status;
        snprintf(dst, sizeof v.status, "%s", s);
    }
    api_time_micro(time(NULL), v.updated_at);
    if (r->ops->volume_update(r, &v) < 0)
        return reg_fail(&rq->err, r);
    if (reg_commit(&txn, &rq->err) < 0)
        return -1;
    return api_reply(rq, 202, NULL);
}

/* Reads volume ID, changes it with SET (which may refuse with E) and
 * writes it back, in one transaction. */
static int volume_change(struct api_request *rq, const char *id,
                         int (*set)(struct reg_volume *v, json_t *args, struct api_error *e),
                         json_t *args)
{
    struct registry *r = rq->ctx->reg;
    REG_TXN(txn, r);
    if (reg_begin(&txn, &rq->err) < 0)
        return -1;
    struct reg_volume v;
    int rc = r->ops->volume_get(r, id, &v);
    if (rc < 0)
        return reg_fail(&rq->err, r);
    if (rc == 1)
        return api_err(&rq->err, 404, "Volume %s could not be found.", id);
    if (set(&v, args, &rq->err) < 0)
        return -1;
    api_time_micro(time(NULL), v.updated_at);
    if (r->ops->volume_update(r, &v) < 0)
        return reg_fail(&rq->err, r);
    return reg_commit(&txn, &rq->err);
}

static int set_bootable(struct reg_volume *v, json_t *args, struct api_error *e)
{
    (void)e;
    v->bootable = body_bool(json_object_get(args, "bootable"));
    return 0;
}

/* os-set_bootable: the flag Cinder keeps and shows ("bootable": "true").
 * volswap boots nothing from it: a server is a registered consumer whose
 * root disk is not a volswap volume, so the flag is recorded and shown. */
static int volume_set_bootable(struct api_request *rq, json_t *args)
{
    struct reg_volume v;
    if (cinder_load_volume(rq, api_param(rq, "volume_id"), &v) < 0 ||
        policy_check(&rq->auth, "volume:update", v.project_id, &rq->err) < 0)
        return -1;
    if (volume_change(rq, v.id, set_bootable, args) < 0)
        return -1;
    return api_reply(rq, 200, NULL);
}

static int set_readonly(struct reg_volume *v, json_t *args, struct api_error *e)
{
    /* as Cinder: only while nothing has the volume open */
    if (strcmp(v->status, "available") != 0)
        return api_err(e, 400,
                       "Invalid volume: Volume %s status must be available to update readonly "
                       "flag, but current status is: %s.",
                       v->id, v->status);
    v->readonly = body_bool(json_object_get(args, "readonly")) ? 1 : 0;
    return 0;
}

/* os-update_readonly_flag: Cinder's "readonly" admin metadata. Every
 * attachment made while it is True exports the volume read-only (the
 * host's NBD export refuses writes; connection_info says access_mode ro). */
static int volume_update_readonly(struct api_request *rq, json_t *args)
{
    struct reg_volume v;
    if (cinder_load_volume(rq, api_param(rq, "volume_id"), &v) < 0 ||
        policy_check(&rq->auth, "volume:update_readonly_flag", v.project_id, &rq->err) < 0)
        return -1;
    if (volume_change(rq, v.id, set_readonly, args) < 0)
        return -1;
    return api_reply(rq, 202, NULL);
}

/* os-attach, as Cinder's: the record that the volume is in use by an
 * instance at a mountpoint, made by whoever attached it themselves. No
 * host export is made (Nova's os-volume_attachments does that); the
 * volume goes from available or reserved to in-use, with an attachment
 * the volume's views and the attachments API show. volswap records
 * attachments of its own servers only, so instance_uuid must name one. */
static int volume_os_attach(struct api_request *rq, json_t *args)
{
    struct reg_volume v;
    if (cinder_load_volume(rq, api_param(rq, "volume_id"), &v) < 0 ||
        policy_check(&rq->auth, "volume_extension:volume_actions:attach", v.project_id, &rq->err) <
            0)
        return -1;
    const char *server_id = json_string_value(json_object_get(args, "instance_uuid"));
    const char *mountpoint = json_string_value(json_object_get(args, "mountpoint"));
    const char *mode = json_string_value(json_object_get(args, "mode"));
    if (!mode)
        mode = "rw";
    if (strcmp(mode, "rw") != 0 && strcmp(mode, "ro") != 0)
        return api_err(&rq->err, 400,
                       "Invalid request to attach volume with an invalid mode. "
                       "Attaching mode should be 'rw' or 'ro'");
    if (!server_id)
        return api_err(&rq->err, 400,
                       "Invalid request to attach volume to an invalid target: volswap records "
                       "attachments to its servers, give instance_uuid");
    if (v.readonly == 1 && strcmp(mode, "rw") == 0)
        return api_err(&rq->err, 400, "Invalid attaching mode '%s' for volume %s.", mode, v.id);
    struct registry *r = rq->ctx->reg;
    REG_TXN(txn, r);
    if (reg_begin(&txn, &rq->err) < 0)
        return -1;
    struct reg_server s;
    int rc = r->ops->server_get(r, server_id, &s);
    if (rc < 0)
        return reg_fail(&rq->err, r);
    if (rc == 1 || nova_server_deleted(&s) ||
        (!auth_has_role(&rq->auth, "admin") && strcmp(s.project_id, v.project_id) != 0))
        return api_err(&rq->err, 404, "Instance %.36s could not be found.", server_id);
    if ((rc = r->ops->volume_get(r, v.id, &v)) != 0)
        return rc < 0 ? reg_fail(&rq->err, r)
                      : api_err(&rq->err, 404, "Volume %s could not be found.", v.id);
    /* an available volume is reserved and attached in one step */
    if (strcmp(v.status, "available") == 0 &&
        vol_transition_check(&v, VT_RESERVE, false, &rq->err) < 0)
        return -1;
    if (vol_transition_check(&v, VT_ATTACH, false, &rq->err) < 0)
        return -1;
    struct reg_attachment a, other;
    memset(&a, 0, sizeof a);
    api_uuid(a.id);
    api_uuid(a.bdm_uuid);
    snprintf(a.server_id, sizeof a.server_id, "%s", s.id);
    snprintf(a.volume_id, sizeof a.volume_id, "%s", v.id);
    snprintf(a.device, sizeof a.device, "%s", mountpoint);
    snprintf(a.connection_info, sizeof a.connection_info, "{\"access_mode\": \"%s\"}", mode);
    api_time_micro(time(NULL), a.created_at);
    struct reg_attachment *atts = NULL;
    size_t n = 0;
    if (r->ops->attachment_list(r, s.id, &atts, &n) < 0)
        return reg_fail(&rq->err, r);
    bool busy = false;
    for (size_t i = 0; i < n; i++)
        busy |= strcmp(atts[i].device, a.device) == 0;
    free(atts);
    if (busy)
        return api_err(&rq->err, 400,
                       "Invalid input received: mountpoint %s of instance %s is in "
                       "use.",
                       a.device, s.id);
    if (r->ops->attachment_get_by_volume(r, v.id, &other) == 0)
        return api_err(&rq->err, 400, "Invalid volume: volume %s is already attached.", v.id);
    api_time_micro(time(NULL), v.updated_at);
    if (r->ops->attachment_insert(r, &a) < 0 || r->ops->volume_update(r, &v) < 0)
        return reg_fail(&rq->err, r);
    if (reg_commit(&txn, &rq->err) < 0)
        return -1;
    return api_reply(rq, 202, NULL);
}

/* os-detach, as Cinder's: the attachment record goes and the volume is
 * available again. An attachment that Nova's os-volume_attachments made
 * has a host export serving the server's disk: that one is refused (400),
 * so that no export outlives its record; the compute API detaches it.
 * FORCE (os-force_detach) skips the detach transition's status check. */
static int detach_recorded(struct api_request *rq, json_t *args, const char *rule, bool force)
{
    struct reg_volume v;
    if (cinder_load_volume(rq, api_param(rq, "volume_id"), &v) < 0 ||
        policy_check(&rq->auth, rule, v.project_id, &rq->err) < 0)
        return -1;
    const char *want = json_string_value(json_object_get(args, "attachment_id"));
    struct registry *r = rq->ctx->reg;
    REG_TXN(txn, r);
    if (reg_begin(&txn, &rq->err) < 0)
        return -1;
    struct reg_attachment a;
    int rc = r->ops->attachment_get_by_volume(r, v.id, &a);
    if (rc < 0)
        return reg_fail(&rq->err, r);
    /* Cinder's detach of a volume with no attachment at all finishes as
     * one already done (202); volswap's attaching and detaching volumes
     * are in its workflows' hands, so only an available one is taken so */
    if (rc == 1 && strcmp(v.status, "available") == 0 && strcmp(v.attach_status, "detached") == 0)
        return api_reply(rq, 202, NULL);
    if (rc == 1 || (want && strcmp(want, a.id) != 0))
        return api_err(&rq->err, 404, "VolumeAttachment %s could not be found.",
                       want ? want : v.id);
    if (a.export_id[0])
        return api_err(&rq->err, 400,
                       "Invalid volume: volume %s is the disk %s of server %s, served by its "
                       "host; detach it through the compute API (DELETE "
                       "/servers/%s/os-volume_attachments/%s).",
                       v.id, a.device, a.server_id, a.server_id, v.id);
    if ((rc = r->ops->volume_get(r, v.id, &v)) != 0)
        return rc < 0 ? reg_fail(&rq->err, r)
                      : api_err(&rq->err, 404, "Volume %s could not be found.", v.id);
    if (force) {
        snprintf(v.status, sizeof v.status, "available");
        snprintf(v.attach_status, sizeof v.attach_status, "detached");
    } else if (vol_transition_check(&v, VT_DETACH, false, &rq->err) < 0) {
        return -1;
    }
    api_time_micro(time(NULL), v.updated_at);
    if (r->ops->attachment_delete(r, a.id) < 0 || r->ops->volume_update(r, &v) < 0)
        return reg_fail(&rq->err, r);
    if (reg_commit(&txn, &rq->err) < 0)
        return -1;
    return api_reply(rq, 202, NULL);
}

static int volume_os_detach(struct api_request *rq, json_t *args)
{
    return detach_recorded(rq, args, "volume_extension:volume_actions:detach", false);
}

/* os-force_delete (admin): Cinder's delete without its status condition,
 * for a volume an operator finds stuck (creating, attaching, error,
 * maintenance); an attached or migrating volume is still refused. Its
 * argument is null or {}. */
static int volume_force_delete(struct api_request *rq, json_t *arg)
{
    if (!json_is_null(arg) && !(json_is_object(arg) && json_object_size(arg) == 0))
        return api_err(&rq->err, 400,
                       "Invalid input for field/attribute os-force_delete. Value: "
                       "(non-null). os-force_delete takes no arguments");
    struct reg_volume v;
    if (cinder_load_volume(rq, api_param(rq, "volume_id"), &v) < 0 ||
        policy_check(&rq->auth, "volume_extension:volume_admin_actions:force_delete", v.project_id,
                     &rq->err) < 0)
        return -1;
    if (volume_force_destroy(rq->ctx, v.id, &rq->err) < 0)
        return -1;
    return api_reply(rq, 202, NULL);
}

/* os-force_detach (admin): Cinder's detach whatever the volume's status,
 * for an attachment left behind. As os-detach, only a record os-attach
 * made goes this way: a disk Nova's attach exported is served by its host
 * and is detached through the compute API, so no export outlives its
 * record. The volume is available and detached afterwards. */
static int volume_force_detach(struct api_request *rq, json_t *args)
{
    return detach_recorded(rq, args, "volume_extension:volume_admin_actions:force_detach", true);
}

/* The actions whose argument is an object checked by a schema. */
static const struct {
    const char *name;
    const struct body_schema *schema;
    int (*fn)(struct api_request *rq, json_t *args);
} arg_actions[] = {
    { "os-set_bootable", &schema_volume_bootable, volume_set_bootable },
    { "os-update_readonly_flag", &schema_volume_readonly, volume_update_readonly },
    { "os-attach", &schema_volume_attach, volume_os_attach },
    { "os-detach", &schema_volume_detach, volume_os_detach },
    { "os-force_detach", &schema_volume_force_detach, volume_force_detach },
    { "os-volume_upload_image", &schema_volume_upload_image, cinder_upload_image },
};

static int volumes_action(struct api_request *rq)
{
    if (rq->body_len > API_MAX_BODY)
        return api_err(&rq->err, 413, "Request is too large.");
    json_t *doc = NULL;
    /* actions are {"os-NAME": {...}}: peek at the key, then validate strictly */
    if (!rq->body || body_json_depth(rq->body, rq->body_len, API_MAX_DEPTH) > API_MAX_DEPTH)
        return api_err(&rq->err, 400, "Malformed request body");
    json_t *peek = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, NULL);
    bool is_extend = json_is_object(peek) && json_object_size(peek) == 1 &&
                     json_object_get(peek, "os-extend");
    const char *first = NULL;
    if (json_is_object(peek) && json_object_size(peek) == 1)
        first = json_object_iter_key(json_object_iter(peek));
    char name[64] = "";
    if (first)
        snprintf(name, sizeof name, "%s", first);
    for (size_t i = 0; first && i < sizeof state_actions / sizeof state_actions[0]; i++) {
        if (strcmp(name, state_actions[i].name) == 0) {
            int rc = volume_state_action(rq, i, json_object_get(peek, name));
            json_decref(peek);
            return rc;
        }
    }
    if (strcmp(name, "os-reset_status") == 0) {
        int rc = volume_reset_status(rq, json_object_get(peek, name));
        json_decref(peek);
        return rc;
    }
    if (strcmp(name, "os-force_delete") == 0) {
        int rc = volume_force_delete(rq, json_object_get(peek, name));
        json_decref(peek);
        return rc;
    }
    bool null_arg = first && json_is_null(json_object_get(peek, name));
    json_decref(peek);
    if (strcmp(name, "os-migrate_volume") == 0)
        return cinder_migrate_volume(rq);
    for (size_t i = 0; i < sizeof arg_actions / sizeof arg_actions[0]; i++) {
        if (strcmp(name, arg_actions[i].name) != 0)
            continue;
        /* os-detach's argument may be null (no attachment named) */
        if (null_arg &&
            (arg_actions[i].fn == volume_os_detach || arg_actions[i].fn == volume_force_detach)) {
            json_t *none = json_object();
            int rc = arg_actions[i].fn(rq, none);
            json_decref(none);
            return rc;
        }
        json_t *args = body_parse(rq->body, rq->body_len, arg_actions[i].schema, &doc, &rq->err);
        if (!args)
            return -1;
        int rc = arg_actions[i].fn(rq, args);
        json_decref(doc);
        return rc;
    }
    if (!is_extend) {
        if (name[0])
            return api_err(&rq->err, 400, "There is no such action: %s", name);
        return api_err(&rq->err, 400, "Malformed request body");
    }
    json_t *args = body_parse(rq->body, rq->body_len, &schema_volume_extend, &doc, &rq->err);
    if (!args)
        return -1;
    int rc = volume_extend(rq, args);
    json_decref(doc);
    return rc;
}

/* ---- attachments API (read side) ---- */

static int attachments_list(struct api_request *rq, bool detail);

static json_t *attachment_view(struct api_request *rq, const struct reg_attachment *a, bool detail)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "id", a->id, "status", "attached", "instance",
                          a->server_id, "volume_id", a->volume_id);
    if (detail) {
        char at[40];
        snprintf(at, sizeof at, "%.19s.000000", a->created_at);
        json_error_t jerr;
        json_t *ci = json_loads(a->connection_info, 0, &jerr);
        json_object_set_new(o, "attached_at", json_string(at));
        json_object_set_new(o, "detached_at", json_string(""));
        json_object_set_new(o, "attach_mode", json_string(attachment_mode(a)));
        json_object_set_new(o, "connection_info", ci ? ci : json_object());
    }
    return o;
}

static int attachments_list(struct api_request *rq, bool detail)
{
    struct registry *r = rq->ctx->reg;
    struct reg_attachment *atts = NULL;
    size_t n = 0;
    if (r->ops->attachment_list(r, NULL, &atts, &n) < 0)
        return reg_fail(&rq->err, r);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        struct reg_volume v;
        if (r->ops->volume_get(r, atts[i].volume_id, &v) == 0 &&
            strcmp(v.project_id, api_param(rq, "project_id")) == 0)
            json_array_append_new(arr, attachment_view(rq, &atts[i], detail));
    }
    free(atts);
    return api_reply(rq, 200, json_pack("{s:o}", "attachments", arr));
}

static int attachments_index(struct api_request *rq)
{
    return attachments_list(rq, false);
}
static int attachments_detail(struct api_request *rq)
{
    return attachments_list(rq, true);
}

static int attachments_show(struct api_request *rq)
{
    struct registry *r = rq->ctx->reg;
    struct reg_attachment a;
    struct reg_volume v;
    int rc = r->ops->attachment_get_by_id(r, api_param(rq, "attachment_id"), &a);
    if (rc < 0)
        return reg_fail(&rq->err, r);
    if (rc == 1 || r->ops->volume_get(r, a.volume_id, &v) != 0 ||
        strcmp(v.project_id, api_param(rq, "project_id")) != 0)
        return api_err(&rq->err, 404, "VolumeAttachment %.64s could not be found.",
                       api_param(rq, "attachment_id"));
    return api_reply(rq, 200, json_pack("{s:o}", "attachment", attachment_view(rq, &a, true)));
}

/* Cinder's version documents: GET /volume/ (300, as Cinder's root) and
 * GET /volume/v3. cinderclient reads "version" and "min_version" from the
 * first to pick its microversion. */
static json_t *cinder_v3(struct api_request *rq)
{
    char maxv[16];
    snprintf(maxv, sizeof maxv, "3.%d", CINDER_MV_MAX);
    return api_version_doc(rq, "v3.0", maxv, "3.0", "2022-08-31T00:00:00Z", "/volume/v3/",
                           "application/vnd.openstack.volume+json;version=3");
}

static int cinder_versions(struct api_request *rq)
{
    return api_reply(rq, 300, json_pack("{s:[o]}", "versions", cinder_v3(rq)));
}

static int cinder_version(struct api_request *rq)
{
    return api_reply(rq, 200, json_pack("{s:[o]}", "versions", cinder_v3(rq)));
}

/* GET /scheduler-stats/get_pools[?detail=true]: Cinder's pool list, one
 * "host@volswap#pool" per configured pool; the names are what
 * os-migrate_volume takes as its "host". The detail carries the pool's
 * capacity (see pool_capacity) and what volswap provisioned in it. */
static int get_pools(struct api_request *rq)
{
    const char *d = api_query(rq, "detail");
    bool detail = d && (!strcasecmp(d, "true") || !strcmp(d, "1") || !strcasecmp(d, "yes"));
    const char *want = api_query(rq, "name");
    struct registry *r = rq->ctx->reg;
    struct reg_volume *vols = NULL;
    size_t nv = 0;
    if (detail && r->ops->volume_list(r, NULL, &vols, &nv) < 0)
        return reg_fail(&rq->err, r);
    const struct api_config *cfg = rq->ctx->cfg;
    json_t *pools = json_array();
    int rc = 0;
    char ts[32];
    api_time_micro(time(NULL), ts);
    for (size_t h = 0; h < cfg->n_hosts && rc == 0; h++) {
        for (size_t i = 0; i < cfg->hosts[h].n_pools; i++) {
            const struct cfg_pool *p = &cfg->hosts[h].pools[i];
            char name[200];
            snprintf(name, sizeof name, "%s@volswap#%s", cfg->hosts[h].name, p->name);
            if (want && strcmp(want, name) != 0)
                continue;
            json_t *o = json_pack("{s:s}", "name", name);
            if (detail) {
                uint64_t total = 0, avail = 0;
                if (pool_capacity(p, r, &total, &avail, &rq->err) < 0) {
                    json_decref(o);
                    rc = -1;
                    break;
                }
                json_int_t alloc = 0;
                for (size_t k = 0; k < nv; k++)
                    if (!strcmp(vols[k].host, cfg->hosts[h].name) && !strcmp(vols[k].pool, p->name))
                        alloc += vols[k].size_gb;
                json_object_set_new(
                    o, "capabilities",
                    json_pack(
                        "{s:s, s:s, s:s, s:s, s:s, s:f, s:f, s:I, s:I, s:i, s:f, s:b, s:b, s:b, s:b, s:s}",
                        "pool_name", p->name, "volume_backend_name", "volswap", "vendor_name",
                        "volswap", "driver_version", "1.0", "storage_protocol", "nbd",
                        "total_capacity_gb", (double)total / GiB, "free_capacity_gb",
                        (double)avail / GiB, "allocated_capacity_gb", alloc,
                        "provisioned_capacity_gb", alloc, "reserved_percentage", 0,
                        "max_over_subscription_ratio", p->is_dir ? 20.0 : 1.0,
                        "thin_provisioning_support", p->is_dir, "thick_provisioning_support",
                        !p->is_dir, "QoS_support", 0, "multiattach", 0, "timestamp", ts));
            }
            json_array_append_new(pools, o);
        }
    }
    free(vols);
    if (rc < 0) {
        json_decref(pools);
        return -1;
    }
    return api_reply(rq, 200, json_pack("{s:o}", "pools", pools));
}

/* The volume routes, each declared once, under /v3/{project_id} (and the
 * same under /volume, the endpoint the catalog names). */
#define CINDER(m, p, fn, rule, at, schema, lo, doc)                                                \
    {                                                                                              \
        m, p, SVC_VOLUME, true, rule, at, at == API_POLICY_DOOR ? "project_id" : NULL, schema, lo, \
            0, fn, doc                                                                             \
    }
#define CINDER_OPEN(m, p, fn, doc)                                                \
    {                                                                             \
        m, p, SVC_VOLUME, false, NULL, API_POLICY_NONE, NULL, NULL, 0, 0, fn, doc \
    }
#define QUOTAS(m, p, fn, rule, schema, doc)                                                       \
    {                                                                                             \
        m, p, SVC_VOLUME, true, rule, API_POLICY_DOOR, "target_project_id", schema, 0, 0, fn, doc \
    }
#define DOOR     API_POLICY_DOOR
#define RESOURCE API_POLICY_RESOURCE
#define HANDLER  API_POLICY_HANDLER
#define VOL      "/v3/{project_id}"
#define META     "volume:"

const struct api_route cinder_routes[] = {
    CINDER_OPEN("GET", "/", cinder_versions,
                "Cinder's version document (300), which cinderclient reads to pick its "
                "microversion; served at `/volume/` (the service's root `/` stays Nova's)"),
    CINDER_OPEN("GET", "/v3", cinder_version, "the v3 version document"),
    CINDER("GET", VOL "/volumes", volumes_index, "volume:get_all", DOOR, NULL, 0,
           "`?name=`, `?status=` filters; an admin's `?all_tenants=1` lists every project's "
           "volumes (`&project_id=` one project's; ignored for others); Cinder's paging: "
           "`limit` (at most 1000, also without one), `marker`, `offset`, `sort=key[:dir],…` or "
           "`sort_key`/`sort_dir` (keys `id`, `name`, `status`, `size`, `created_at`, "
           "`updated_at`, `volume_type`; newest first by default); a full page ends with "
           "`volumes_links` `next` (the same request with the marker of its last volume); an "
           "unknown marker is 404, a bad argument 400"),
    CINDER("PUT", VOL "/volumes", volumes_collection_other, "volume:update", DOOR, NULL, 0,
           "405; `/volumes/` (an empty volume id) 404, as Cinder"),
    CINDER("DELETE", VOL "/volumes", volumes_collection_other, "volume:delete", DOOR, NULL, 0,
           "405; `/volumes/` (an empty volume id) 404, as Cinder"),
    CINDER(
        "POST", VOL "/volumes", volumes_create, "volume:create", DOOR, &schema_volume_create, 0,
        "`{\"volume\": {\"size\" (GiB), \"name\"?, \"description\"?, \"volume_type\"? (= pool "
        "name), \"availability_zone\"? (\"nova\" or a host name), \"metadata\"?}}` → 202 with "
        "the detail view; Cinder's older `display_name` and `display_description` are taken "
        "too (`name` and `description` win when both are given). What cinderclient always sends is accepted when null "
        "(`snapshot_id`, `source_volid`, `backup_id`, "
        "`consistencygroup_id`, `group_id`, `multiattach` false); a volume from a snapshot, a "
        "volume or a backup, in a group, or multiattach, is refused (400, naming the "
        "field)"),
    CINDER("GET", VOL "/volumes/detail", volumes_detail, "volume:get_all", DOOR, NULL, 0,
           "the detail view, with the filters of the list; admin also sees "
           "`os-vol-host-attr:host` (`host@volswap#pool`), `migration_status`"),
    CINDER("GET", VOL "/volumes/summary", volumes_summary, "volume:get_volume_summary", DOOR, NULL,
           12,
           "`{\"volume-summary\": {\"total_size\", \"total_count\"}}` of the project's volumes (an "
           "admin's `?all_tenants=1`: every project's), with `metadata` (each key's values) from "
           "3.36"),
    CINDER("PUT", VOL "/volumes/{volume_id}", volumes_update, "volume:update", RESOURCE,
           &schema_volume_update, 0,
           "`{\"volume\": {\"name\"?, \"description\"?, \"metadata\"?}}` (or `display_name`, "
           "`display_description`) → 200 with the view; the metadata given replaces the volume's; "
           "from 3.53 one of them is required"),
    CINDER("GET", VOL "/volumes/{volume_id}", volumes_show, "volume:get", DOOR, NULL, 0,
           "the detail view (its fields per microversion: see below); an admin reaches any "
           "project's volume through any project's URL"),
    CINDER("DELETE", VOL "/volumes/{volume_id}", volumes_delete, "volume:delete", RESOURCE, NULL, 0,
           "202; refused (400) unless available/error… and detached, as Cinder. A block "
           "pool's device is zeroed before another volume may claim it: by the API before "
           "the answer (the volume `deleting` until then; `error_deleting`, keeping the "
           "device, when it cannot be), or by the pool's host after it"),
    CINDER(
        "POST", VOL "/volumes/{volume_id}/action", volumes_action, "volume:extend", HANDLER, NULL,
        0,
        "`{\"os-extend\": {\"new_size\"}}` → 202, an in-use volume from 3.42, through the "
        "host's `block_resize`; `{\"os-reserve\" \\| \"os-unreserve\" \\| "
        "\"os-begin_detaching\" \\| \"os-roll_detaching\": null}` → 202, one Cinder state "
        "transition each (what Nova calls around attach, detach and swap); "
        "`{\"os-set_bootable\": {\"bootable\"}}` → 200, the flag shown as `bootable` "
        "(rule `volume:update`; nothing boots from it); `{\"os-update_readonly_flag\": "
        "{\"readonly\"}}` → 202, an available volume only, shown as `metadata.readonly`; every "
        "later attachment of a read-only volume is exported read-only (`access_mode` `ro`); "
        "`{\"os-attach\": {\"instance_uuid\", \"mountpoint\", \"mode\"?}}` → 202: "
        "Cinder's attachment record alone (no host export), available or reserved → in-use, "
        "`ro` only on a read-only volume; `{\"os-detach\": {\"attachment_id\"?}}` → 202, "
        "the record gone and the volume available (a disk Nova's attach exported is refused: "
        "detach it through the compute API); "
        "`{\"os-reset_status\": {\"status\"?, \"attach_status\"?, \"migration_status\"?}}` → "
        "202, admin only; `{\"os-force_delete\": null}` → 202, admin only: a delete in any "
        "status (an attached or migrating volume is still refused); "
        "`{\"os-force_detach\": {\"attachment_id\"?, \"connector\"?}}` → 202, admin only: "
        "os-detach in any status, the volume available (a disk Nova's attach exported is "
        "refused, as for os-detach); `{\"os-migrate_volume\": {\"host\": POOL}}` → 202, admin only: live "
        "migration of an in-use volume to another pool, of its host or of another (the "
        "server's host mirrors to that host's NBD export), keeping its ID (docs/swap.md); "
        "`host` is a pool name or Cinder's `host@backend#pool`, whose host must be the "
        "pool's. `{\"os-volume_upload_image\": {\"image_name\", \"disk_format\"? (raw), "
        "\"container_format\"?, \"visibility\"?, \"protected\"?}}` → 202: an available "
        "volume goes uploading, a new image of its project gets its bytes (queued, saving, "
        "active), the volume available again. Each action has its own rule"),
    CINDER("GET", VOL "/volumes/{volume_id}/metadata", api_metadata,
           META "get_volume_metadata", RESOURCE, NULL, 0,
           "Cinder's volume metadata, with the server metadata's rules; the items leave with the "
           "volume"),
    CINDER("POST", VOL "/volumes/{volume_id}/metadata", api_metadata,
           META "create_volume_metadata", RESOURCE, &schema_volume_metadata, 0,
           "merged into the items; keys may also hold `/`"),
    CINDER("PUT", VOL "/volumes/{volume_id}/metadata", api_metadata,
           META "update_volume_metadata", RESOURCE, &schema_volume_metadata, 0,
           "replacing the items"),
    CINDER("GET", VOL "/volumes/{volume_id}/metadata/{key}", api_metadata,
           META "get_volume_metadata", RESOURCE, NULL, 0, "one item"),
    CINDER("PUT", VOL "/volumes/{volume_id}/metadata/{key}", api_metadata,
           META "update_volume_metadata", RESOURCE, &schema_volume_meta_item, 0, "one item"),
    CINDER("DELETE", VOL "/volumes/{volume_id}/metadata/{key}", api_metadata,
           META "delete_volume_metadata", RESOURCE, NULL, 0, "200"),
    CINDER("GET", VOL "/scheduler-stats/get_pools", get_pools,
           "scheduler_extension:scheduler_stats:get_pools", DOOR, NULL, 0,
           "`?detail=true&name=…`; one `host@volswap#pool` per configured pool (the names "
           "`os-migrate_volume` takes); the detail's capabilities carry `total_capacity_gb` and "
           "`free_capacity_gb` (the file system of a directory pool, the devices of a block pool) "
           "and `allocated_capacity_gb` (what volumes take)"),
    CINDER("GET", VOL "/types", types_index, "volume_extension:type_get_all", DOOR, NULL, 0,
           "each pool is a volume type, named as the pool, with an id derived from host and pool "
           "(stable across restarts); a create takes the type's name or id"),
    CINDER("GET", VOL "/limits", cinder_limits, "limits_extension:used_limits", DOOR, NULL, 0,
           "the project's absolute limits: its volume and gigabyte quotas (-1 when unset), -1 for "
           "snapshots and backups, `totalVolumesUsed` and `totalGigabytesUsed` counted (`cinder "
           "absolute-limits`)"),
    QUOTAS("GET", VOL "/os-quota-sets/{target_project_id}", cinder_quotas_show,
           "volume_extension:quotas:show", NULL,
           "`?usage=true`; quotas, enforced: `volumes`, `gigabytes` and `per_volume_gigabytes` "
           "are checked when a volume is created (inside the transaction that inserts it) or "
           "extended (before it grows), with Cinder's 413 `VolumeLimitExceeded`, "
           "`VolumeSizeExceedsAvailableQuota`, `VolumeSizeExceedsLimit` messages; -1 (unlimited) "
           "until set. `snapshots`, `backups`, `backup_gigabytes` and `groups` count what volswap "
           "never holds: an admin's value is stored and shown, as Cinder takes one for every "
           "resource it knows, and cannot bind (usage 0). The per-type `volumes_TYPE`, "
           "`gigabytes_TYPE`, `snapshots_TYPE` (one type per pool, usage counted) are -1 "
           "(`cinder quota-show`, `quota-usage`)"),
    QUOTAS("GET", VOL "/os-quota-sets/{target_project_id}/defaults", cinder_quotas_defaults,
           "volume_extension:quotas:show", NULL, "the default quotas"),
    QUOTAS("PUT", VOL "/os-quota-sets/{target_project_id}", cinder_quotas_update,
           "volume_extension:quotas:update", &schema_cinder_quota_set,
           "as Nova's (`cinder quota-update`)"),
    QUOTAS("DELETE", VOL "/os-quota-sets/{target_project_id}", cinder_quotas_delete,
           "volume_extension:quotas:delete", NULL, "200: back to unlimited"),
    CINDER("GET", VOL "/types/{type_id}", types_show, "volume_extension:type_get", DOOR, NULL, 0,
           "one type, by id or name"),
    CINDER("GET", VOL "/os-availability-zone", cinder_zones, NULL, API_POLICY_NONE, NULL, 0,
           "`nova` and each host's name (a volume create takes either)"),
    CINDER("GET", VOL "/os-services", cinder_services, "volume_extension:services:index", DOOR,
           NULL, 0,
           "a `cinder-volume` service per host (`host@volswap`), up or down as Nova's; `status` "
           "`disabled` and its `disabled_reason` once an admin disabled it"),
    CINDER("PUT", VOL "/os-services/{action}", cinder_services_update,
           "volume_extension:services:update", DOOR, NULL, 0,
           "`enable`, `disable` or `disable-log-reason` with `{\"host\": \"H@volswap\", "
           "\"binary\": \"cinder-volume\", \"disabled_reason\"}` (the reason 1 to 255 "
           "characters, for the last only; 400 otherwise) → 200 `{disabled, status, host, "
           "service, binary, disabled_reason}`; another host or binary is 404 \"Unknown "
           "service\". A disabled host takes no new volume: a create that names its pool or "
           "zone is 400 \"No valid backend was found\" (Cinder's scheduler error, where Cinder "
           "would answer 202 and leave the volume in `error`), one that names none goes to "
           "another host; its volumes keep working. `freeze` and `thaw` (replication failover) "
           "are not offered"),
    CINDER("GET", VOL "/attachments", attachments_index, "volume:attachment_get_all", DOOR, NULL,
           27, "the project's attachments"),
    CINDER("GET", VOL "/attachments/detail", attachments_detail, "volume:attachment_get_all", DOOR,
           NULL, 27, "the detail carries the `connection_info`"),
    CINDER("GET", VOL "/attachments/{attachment_id}", attachments_show, "volume:attachment_get_all",
           DOOR, NULL, 27, "one attachment, detail view"),
    { NULL, NULL, SVC_NONE, false, NULL, API_POLICY_NONE, NULL, NULL, 0, 0, NULL, NULL },
};
