/* Quota sets: Nova's /v2.1/os-quota-sets/{project} and Cinder's
 * /v3/{project}/os-quota-sets/{project} (show, detail/usage, defaults,
 * update, delete), and their enforcement, so that `openstack quota
 * show/set`, `nova quota-show/quota-update` and `cinder quota-show/
 * quota-update/quota-usage` work and mean what they say.
 *
 * Enforced, per project: Nova's instances, cores and ram (a server counts
 * its flavor's 1 vCPU and 512 MB), checked when a server is created; and
 * Cinder's volumes, gigabytes and per_volume_gigabytes, checked when a
 * volume is created or extended. The default for each is -1 (unlimited),
 * so nothing changes until an admin sets a limit. Limits live in the
 * registry beside metadata (kind "quota", owner the project). The checks
 * of a create run inside the transaction that inserts the row (SQLite's
 * BEGIN IMMEDIATE), so two creates cannot both take the last unit. An
 * extend is checked before the volume grows, outside that transaction: two
 * extends of one project racing for the last gigabytes could both pass.
 *
 * The other names Nova and Cinder show (key_pairs, snapshots, backups,
 * ...) guard nothing volswap has: they are -1, and metadata_items is the
 * 128 volswap always enforces. An update that asks for another value for
 * those is refused with 400 rather than stored and not enforced. Usage
 * beside the limits is counted from the registry. */

#include "rest.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define UNLIMITED QUOTA_UNLIMITED

struct quota {
    const char *name;
    json_int_t limit, in_use;
};

int project_usage(struct api_request *rq, const char *project, struct project_usage *u)
{
    struct registry *r = rq->ctx->reg;
    memset(u, 0, sizeof(*u));
    struct reg_server *servers = NULL;
    struct reg_volume *vols = NULL;
    size_t ns = 0, nv = 0;
    if (r->ops->server_list(r, project, &servers, &ns) < 0 ||
        r->ops->volume_list(r, project, &vols, &nv) < 0) {
        free(servers);
        return reg_fail(&rq->err, r);
    }
    for (size_t i = 0; i < ns; i++)
        u->servers += !nova_server_deleted(&servers[i]);
    for (size_t i = 0; i < nv; i++)
        u->gigabytes += vols[i].size_gb;
    u->volumes = (json_int_t)nv;
    free(servers);
    free(vols);
    struct reg_meta *res = NULL;
    size_t nr = 0;
    if (project && r->ops->meta_list(r, REG_META_RESERVATION, project, &res, &nr) < 0)
        return reg_fail(&rq->err, r);
    for (size_t i = 0; i < nr; i++)
        u->gigabytes_reserved += strtoll(res[i].value, NULL, 10);
    free(res);
    return 0;
}

static const struct {
    const char *name;
    size_t off;
} enforced[] = {
    { "instances", offsetof(struct quota_limits, instances) },
    { "cores", offsetof(struct quota_limits, cores) },
    { "ram", offsetof(struct quota_limits, ram) },
    { "volumes", offsetof(struct quota_limits, volumes) },
    { "gigabytes", offsetof(struct quota_limits, gigabytes) },
    { "per_volume_gigabytes", offsetof(struct quota_limits, per_volume_gigabytes) },
};

static json_int_t *limit_of(struct quota_limits *l, size_t i)
{
    return (json_int_t *)((char *)l + enforced[i].off);
}

int quota_load(struct api_request *rq, const char *project, struct quota_limits *l)
{
    for (size_t i = 0; i < sizeof enforced / sizeof enforced[0]; i++)
        *limit_of(l, i) = UNLIMITED;
    struct registry *r = rq->ctx->reg;
    struct reg_meta *m = NULL;
    size_t n = 0;
    if (r->ops->meta_list(r, REG_META_QUOTA, project, &m, &n) < 0)
        return reg_fail(&rq->err, r);
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < sizeof enforced / sizeof enforced[0]; i++)
            if (strcmp(m[k].key, enforced[i].name) == 0)
                *limit_of(l, i) = strtoll(m[k].value, NULL, 10);
    free(m);
    return 0;
}

/* Stores the enforced limits SET names (one transaction); the others
 * were checked by the caller. */
static int quota_store(struct api_request *rq, const char *project, json_t *set)
{
    struct registry *r = rq->ctx->reg;
    REG_TXN(txn, r);
    if (reg_begin(&txn, &rq->err) < 0)
        return -1;
    for (size_t i = 0; i < sizeof enforced / sizeof enforced[0]; i++) {
        json_t *v = json_object_get(set, enforced[i].name);
        if (!v)
            continue;
        struct reg_meta m;
        snprintf(m.key, sizeof m.key, "%s", enforced[i].name);
        snprintf(m.value, sizeof m.value, "%lld", (long long)json_integer_value(v));
        if (r->ops->meta_put(r, REG_META_QUOTA, project, &m) < 0)
            return reg_fail(&rq->err, r);
    }
    return reg_commit(&txn, &rq->err);
}

static bool is_enforced(const char *name)
{
    for (size_t i = 0; i < sizeof enforced / sizeof enforced[0]; i++)
        if (strcmp(enforced[i].name, name) == 0)
            return true;
    return false;
}

/* The quota set as an object: NAME: limit, or with usage NAME: {in_use,
 * limit, reserved} (Cinder adds allocated). */
static json_t *quota_set(const struct quota *q, size_t n, const char *id, bool usage, bool cinder)
{
    json_t *o = id ? json_pack("{s:s}", "id", id) : json_object();
    for (size_t i = 0; i < n; i++) {
        if (!usage) {
            json_object_set_new(o, q[i].name, json_integer(q[i].limit));
            continue;
        }
        json_t *u =
            json_pack("{s:I, s:I, s:i}", "in_use", q[i].in_use, "limit", q[i].limit, "reserved", 0);
        if (cinder)
            json_object_set_new(u, "allocated", json_integer(0));
        json_object_set_new(o, q[i].name, u);
    }
    return o;
}

/* An update: an enforced limit may be any value from -1 (unlimited), but
 * not below what is in use unless FORCE (as Nova's force); the others only
 * what volswap has. */
static int check_update(struct api_request *rq, const struct quota *q, size_t n, json_t *set,
                        bool force)
{
    const char *key;
    json_t *v;
    json_object_foreach(set, key, v) {
        if (strcmp(key, "force") == 0 || strcmp(key, "tenant_id") == 0)
            continue;
        json_int_t want = json_integer_value(v);
        for (size_t i = 0; i < n; i++) {
            if (strcmp(q[i].name, key) != 0)
                continue;
            if (!is_enforced(key) && want != q[i].limit)
                return api_err(&rq->err, 400,
                               "Quota %s cannot be set to %lld: volswap has nothing "
                               "it guards (%s is %lld)",
                               key, (long long)want, key, (long long)q[i].limit);
            if (is_enforced(key) && !force && want >= 0 && want < q[i].in_use)
                return api_err(&rq->err, 400,
                               "Quota limit %lld for %s must be greater than or equal "
                               "to already used and reserved %lld.",
                               (long long)want, key, (long long)q[i].in_use);
        }
    }
    return 0;
}

/* Back to the defaults: every limit the project had set goes. */
static int quota_reset(struct api_request *rq, const char *project)
{
    struct registry *r = rq->ctx->reg;
    if (r->ops->meta_delete(r, REG_META_QUOTA, project, NULL) < 0)
        return reg_fail(&rq->err, r);
    return 0;
}

/* ---- Nova ---- */

#define NOVA_MAX_QUOTAS 16

static size_t nova_quotas(struct api_request *rq, const struct project_usage *u,
                          const struct quota_limits *l, struct quota q[NOVA_MAX_QUOTAS])
{
    size_t n = 0;
    q[n++] = (struct quota){ "instances", l->instances, u->servers };
    q[n++] = (struct quota){ "cores", l->cores, u->servers * FLAVOR_VCPUS };
    q[n++] = (struct quota){ "ram", l->ram, u->servers * FLAVOR_RAM_MB };
    q[n++] = (struct quota){ "metadata_items", META_MAX_ITEMS, 0 };
    q[n++] = (struct quota){ "key_pairs", UNLIMITED, 0 };
    q[n++] = (struct quota){ "server_groups", UNLIMITED, 0 };
    q[n++] = (struct quota){ "server_group_members", UNLIMITED, 0 };
    if (!nova_mv(rq, 36)) {
        q[n++] = (struct quota){ "fixed_ips", UNLIMITED, 0 };
        q[n++] = (struct quota){ "floating_ips", UNLIMITED, 0 };
        q[n++] = (struct quota){ "security_group_rules", UNLIMITED, 0 };
        q[n++] = (struct quota){ "security_groups", UNLIMITED, 0 };
    }
    if (!nova_mv(rq, 57)) {
        q[n++] = (struct quota){ "injected_files", UNLIMITED, 0 };
        q[n++] = (struct quota){ "injected_file_content_bytes", UNLIMITED, 0 };
        q[n++] = (struct quota){ "injected_file_path_bytes", UNLIMITED, 0 };
    }
    return n;
}

static int nova_quota_reply(struct api_request *rq, bool usage, bool with_id)
{
    const char *project = api_param(rq, "project_id");
    struct project_usage u;
    struct quota_limits l;
    struct quota q[NOVA_MAX_QUOTAS];
    if (project_usage(rq, project, &u) < 0 || quota_load(rq, project, &l) < 0)
        return -1;
    size_t n = nova_quotas(rq, &u, &l, q);
    return api_reply(
        rq, 200,
        json_pack("{s:o}", "quota_set", quota_set(q, n, with_id ? project : NULL, usage, false)));
}

int nova_quotas_show(struct api_request *rq)
{
    return nova_quota_reply(rq, false, true);
}

int nova_quotas_detail(struct api_request *rq)
{
    return nova_quota_reply(rq, true, true);
}

int nova_quotas_defaults(struct api_request *rq)
{
    return nova_quota_reply(rq, false, true);
}

int nova_quotas_update(struct api_request *rq)
{
    json_t *set = rq->body_obj; /* schema_nova_quota_set, checked by the router */
    struct project_usage u;
    struct quota_limits l;
    struct quota q[NOVA_MAX_QUOTAS];
    json_t *force = json_object_get(set, "force");
    int rc = project_usage(rq, api_param(rq, "project_id"), &u);
    if (rc == 0)
        rc = quota_load(rq, api_param(rq, "project_id"), &l);
    if (rc == 0) {
        size_t n = nova_quotas(rq, &u, &l, q);
        rc = check_update(rq, q, n, set, force && body_bool(force));
    }
    if (rc == 0)
        rc = quota_store(rq, api_param(rq, "project_id"), set);
    if (rc < 0 || quota_load(rq, api_param(rq, "project_id"), &l) < 0)
        return -1;
    size_t n = nova_quotas(rq, &u, &l, q);
    return api_reply(rq, 200, json_pack("{s:o}", "quota_set", quota_set(q, n, NULL, false, false)));
}

int nova_quotas_delete(struct api_request *rq)
{
    if (quota_reset(rq, api_param(rq, "project_id")) < 0)
        return -1;
    return api_reply(rq, 202, NULL);
}

/* ---- Cinder ---- */

#define CINDER_QUOTAS 7

static void cinder_quotas(const struct project_usage *u, const struct quota_limits *l,
                          struct quota q[CINDER_QUOTAS])
{
    q[0] = (struct quota){ "volumes", l->volumes, u->volumes };
    q[1] = (struct quota){ "gigabytes", l->gigabytes, u->gigabytes };
    q[2] = (struct quota){ "snapshots", UNLIMITED, 0 };
    q[3] = (struct quota){ "backups", UNLIMITED, 0 };
    q[4] = (struct quota){ "backup_gigabytes", UNLIMITED, 0 };
    q[5] = (struct quota){ "per_volume_gigabytes", l->per_volume_gigabytes, 0 };
    q[6] = (struct quota){ "groups", UNLIMITED, 0 };
}

/* Cinder's per-type quotas are named after the type: volumes_TYPE,
 * gigabytes_TYPE, snapshots_TYPE; volswap's types are its pools. */
static json_t *cinder_quota_json(struct api_request *rq, const char *project, bool usage,
                                 bool with_id)
{
    struct project_usage u;
    struct quota_limits l;
    struct quota q[CINDER_QUOTAS];
    if (project_usage(rq, project, &u) < 0 || quota_load(rq, project, &l) < 0)
        return NULL;
    cinder_quotas(&u, &l, q);
    json_t *o = quota_set(q, CINDER_QUOTAS, with_id ? project : NULL, usage, true);
    struct registry *r = rq->ctx->reg;
    struct reg_volume *vols = NULL;
    size_t nv = 0;
    if (r->ops->volume_list(r, project, &vols, &nv) < 0)
        nv = 0;
    const struct api_config *cfg = rq->ctx->cfg;
    for (size_t h = 0; h < cfg->n_hosts; h++) {
        for (size_t p = 0; p < cfg->hosts[h].n_pools; p++) {
            const char *pool = cfg->hosts[h].pools[p].name;
            json_int_t count = 0, gb = 0;
            for (size_t i = 0; i < nv; i++)
                if (strcmp(vols[i].host, cfg->hosts[h].name) == 0 &&
                    strcmp(vols[i].pool, pool) == 0) {
                    count++;
                    gb += vols[i].size_gb;
                }
            char name[96];
            const struct quota t[] = { { name, UNLIMITED, count },
                                       { name, UNLIMITED, gb },
                                       { name, UNLIMITED, 0 } };
            const char *kinds[] = { "volumes", "gigabytes", "snapshots" };
            for (size_t k = 0; k < 3; k++) {
                snprintf(name, sizeof name, "%s_%s", kinds[k], pool);
                json_t *one = quota_set(&t[k], 1, NULL, usage, true);
                json_object_update(o, one);
                json_decref(one);
            }
        }
    }
    free(vols);
    return o;
}

static int cinder_quota_reply(struct api_request *rq, const char *project, bool usage)
{
    json_t *o = cinder_quota_json(rq, project, usage, true);
    return o ? api_reply(rq, 200, json_pack("{s:o}", "quota_set", o)) : -1;
}

int cinder_quotas_show(struct api_request *rq)
{
    const char *usage = api_query(rq, "usage");
    return cinder_quota_reply(rq, api_param(rq, "target_project_id"), usage && api_truthy(usage));
}

int cinder_quotas_defaults(struct api_request *rq)
{
    return cinder_quota_reply(rq, api_param(rq, "target_project_id"), false);
}

int cinder_quotas_update(struct api_request *rq)
{
    json_t *set = rq->body_obj; /* schema_cinder_quota_set, checked by the router */
    struct project_usage u;
    struct quota_limits l;
    struct quota q[CINDER_QUOTAS];
    int rc = project_usage(rq, api_param(rq, "target_project_id"), &u);
    if (rc == 0)
        rc = quota_load(rq, api_param(rq, "target_project_id"), &l);
    if (rc == 0) {
        cinder_quotas(&u, &l, q);
        rc = check_update(rq, q, CINDER_QUOTAS, set, false);
    }
    if (rc == 0)
        rc = quota_store(rq, api_param(rq, "target_project_id"), set);
    if (rc < 0)
        return -1;
    json_t *o = cinder_quota_json(rq, api_param(rq, "target_project_id"), false, false);
    return o ? api_reply(rq, 200, json_pack("{s:o}", "quota_set", o)) : -1;
}

int cinder_quotas_delete(struct api_request *rq)
{
    if (quota_reset(rq, api_param(rq, "target_project_id")) < 0)
        return -1;
    return api_reply(rq, 200, NULL);
}

/* ---- enforcement ---- */

int quota_check_server(struct api_request *rq, const char *project)
{
    return quota_check_servers(rq, project, 1);
}

int quota_check_servers(struct api_request *rq, const char *project, long long count)
{
    struct quota_limits l;
    struct project_usage u;
    if (quota_load(rq, project, &l) < 0 || project_usage(rq, project, &u) < 0)
        return -1;
    const struct {
        const char *name;
        json_int_t limit, used, want;
    } c[] = {
        { "instances", l.instances, u.servers, count },
        { "cores", l.cores, u.servers * FLAVOR_VCPUS, count * FLAVOR_VCPUS },
        { "ram", l.ram, u.servers * FLAVOR_RAM_MB, count * FLAVOR_RAM_MB },
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        if (c[i].limit >= 0 && c[i].used + c[i].want > c[i].limit)
            return api_err(&rq->err, 403,
                           "Quota exceeded for %s: Requested %lld, but already used "
                           "%lld of %lld %s",
                           c[i].name, (long long)c[i].want, (long long)c[i].used,
                           (long long)c[i].limit, c[i].name);
    return 0;
}

int quota_check_volume(struct api_request *rq, const char *project, int add_volumes, int64_t add_gb,
                       int64_t size_gb)
{
    struct quota_limits l;
    struct project_usage u;
    if (quota_load(rq, project, &l) < 0 || project_usage(rq, project, &u) < 0)
        return -1;
    if (l.per_volume_gigabytes >= 0 && size_gb > l.per_volume_gigabytes)
        return api_err(&rq->err, 413,
                       "VolumeSizeExceedsLimit: Requested volume size %lldG is "
                       "larger than maximum allowed limit %lldG.",
                       (long long)size_gb, (long long)l.per_volume_gigabytes);
    if (add_volumes && l.volumes >= 0 && u.volumes + add_volumes > l.volumes)
        return api_err(&rq->err, 413,
                       "VolumeLimitExceeded: Maximum number of volumes allowed "
                       "(%lld) exceeded for quota 'volumes'.",
                       (long long)l.volumes);
    if (l.gigabytes >= 0 && u.gigabytes + u.gigabytes_reserved + add_gb > l.gigabytes)
        return api_err(&rq->err, 413,
                       "VolumeSizeExceedsAvailableQuota: Requested volume or "
                       "snapshot exceeds allowed gigabytes quota. Requested %lldG, quota is %lldG "
                       "and %lldG has been consumed.",
                       (long long)add_gb, (long long)l.gigabytes,
                       (long long)(u.gigabytes + u.gigabytes_reserved));
    return 0;
}
