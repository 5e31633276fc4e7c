/* Quota sets: Nova's /v2.1/os-quota-sets/{project} and Cinder's
 * /v3/{project}/os-quota-sets/{project} (show, detail/usage, defaults,
 * update, delete), Nova's quota class `default`
 * (/v2.1/os-quota-class-sets/default: the limits every project starts
 * from), and their enforcement, so that `openstack quota show/set`, `nova
 * quota-show/quota-update/quota-class-update` and `cinder quota-show/
 * quota-update/quota-usage` work and mean what they say.
 *
 * Enforced, per project: Nova's instances, cores and ram (a server counts
 * its flavor's vCPUs and memory), checked when a server is created;
 * metadata_items, checked when a server's metadata is written; key_pairs,
 * checked per user when a key pair is created (as Nova counts them); and
 * Cinder's volumes, gigabytes and per_volume_gigabytes, checked when a
 * volume is created or extended. The default for each is the class
 * `default`'s value, else -1 (unlimited; metadata_items 128), so nothing
 * changes until an admin sets a limit. Limits live in the registry beside
 * metadata (kind "quota", owner the project, or QUOTA_CLASS_OWNER for the
 * class). The checks of a create run inside the transaction that inserts
 * the row (SQLite's BEGIN IMMEDIATE), so two creates cannot both take the
 * last unit. An extend is checked before the volume grows, outside that
 * transaction: two extends of one project racing for the last gigabytes
 * could both pass.
 *
 * The other names Nova and Cinder know (server_groups, fixed_ips,
 * injected_files, snapshots, backups, groups, ...) count what volswap
 * never holds: Nova and Cinder take a value for each of them, and so does
 * volswap; it is stored and shown, a limit that cannot bind because the
 * usage stays 0. Usage beside the limits is counted from the registry. */

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
    for (size_t i = 0; i < ns; i++) {
        if (nova_server_deleted(&servers[i]))
            continue;
        const struct cfg_flavor *f = rest_server_flavor(r, rq->ctx->cfg, servers[i].id);
        u->servers++;
        u->cores += f->vcpus;
        u->ram_mb += f->ram_mb;
    }
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

/* What is stored for a project: its own items and the default class's,
 * read once for all the names a reply shows. */
struct quota_stored {
    struct reg_meta *own, *cls;
    size_t n_own, n_cls;
};

static void stored_free(struct quota_stored *st)
{
    free(st->own);
    free(st->cls);
}

static int stored_read(struct registry *r, const char *project, struct quota_stored *st,
                       struct api_error *e)
{
    memset(st, 0, sizeof *st);
    if ((project && r->ops->meta_list(r, REG_META_QUOTA, project, &st->own, &st->n_own) < 0) ||
        r->ops->meta_list(r, REG_META_QUOTA, QUOTA_CLASS_OWNER, &st->cls, &st->n_cls) < 0) {
        stored_free(st);
        return reg_fail(e, r);
    }
    return 0;
}

static int stored_load(struct api_request *rq, const char *project, struct quota_stored *st)
{
    return stored_read(rq->ctx->reg, project, st, &rq->err);
}

static bool meta_find(const struct reg_meta *m, size_t n, const char *name, json_int_t *out)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(m[i].key, name) == 0) {
            *out = strtoll(m[i].value, NULL, 10);
            return true;
        }
    return false;
}

/* NAME's limit: the project's, else the class's, else DFLT. */
static json_int_t stored_get(const struct quota_stored *st, const char *name, json_int_t dflt)
{
    json_int_t v = dflt;
    if (!meta_find(st->own, st->n_own, name, &v))
        meta_find(st->cls, st->n_cls, name, &v);
    return v;
}

int quota_limit(struct registry *r, const char *project, const char *name, json_int_t dflt,
                json_int_t *out, struct api_error *e)
{
    struct quota_stored st;
    if (stored_read(r, project, &st, e) < 0)
        return -1;
    *out = stored_get(&st, name, dflt);
    stored_free(&st);
    return 0;
}

int quota_load(struct api_request *rq, const char *project, struct quota_limits *l)
{
    struct quota_stored st;
    if (stored_load(rq, project, &st) < 0)
        return -1;
    for (size_t i = 0; i < sizeof enforced / sizeof enforced[0]; i++)
        *limit_of(l, i) = stored_get(&st, enforced[i].name, UNLIMITED);
    l->metadata_items = stored_get(&st, "metadata_items", META_MAX_ITEMS);
    l->key_pairs = stored_get(&st, "key_pairs", UNLIMITED);
    stored_free(&st);
    return 0;
}

/* Stores every limit SET names under OWNER (one transaction); the values
 * were checked by the caller. */
static int quota_store(struct api_request *rq, const char *owner, json_t *set)
{
    struct registry *r = rq->ctx->reg;
    REG_TXN(txn, r);
    if (reg_begin(&txn, &rq->err) < 0)
        return -1;
    const char *key;
    json_t *v;
    json_object_foreach(set, key, v) {
        if (strcmp(key, "force") == 0 || strcmp(key, "tenant_id") == 0 || !json_is_integer(v))
            continue;
        struct reg_meta m;
        snprintf(m.key, sizeof m.key, "%s", key);
        snprintf(m.value, sizeof m.value, "%lld", (long long)json_integer_value(v));
        if (r->ops->meta_put(r, REG_META_QUOTA, owner, &m) < 0)
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

/* An update: a limit may be any value from -1 (unlimited), but a counted
 * one not below what is in use unless FORCE (as Nova's force). A name the
 * reply at this microversion does not show is refused, as Nova's schema
 * does. */
static int check_update(struct api_request *rq, const struct quota *q, size_t n, json_t *set,
                        bool force)
{
    const char *key;
    json_t *v;
    json_object_foreach(set, key, v) {
        if (strcmp(key, "force") == 0 || strcmp(key, "tenant_id") == 0)
            continue;
        json_int_t want = json_integer_value(v);
        size_t i = 0;
        while (i < n && strcmp(q[i].name, key) != 0)
            i++;
        if (i == n)
            return api_err(&rq->err, 400,
                           "Invalid input for field/attribute quota_set. Additional properties "
                           "are not allowed ('%.64s' was unexpected)",
                           key);
        if (is_enforced(key) && !force && want >= 0 && want < q[i].in_use)
            return api_err(&rq->err, 400,
                           "Quota limit %lld for %s must be greater than or equal "
                           "to already used and reserved %lld.",
                           (long long)want, key, (long long)q[i].in_use);
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

/* Nova's names at this microversion: the network ones go at 2.36 (2.50
 * for a class), file injection at 2.57; a class shows the server group
 * ones from 2.50. */
static size_t nova_quotas(struct api_request *rq, const struct project_usage *u,
                          const struct quota_stored *st, bool cls, struct quota q[NOVA_MAX_QUOTAS])
{
    static const char *const network[] = { "fixed_ips", "floating_ips", "security_group_rules",
                                           "security_groups" };
    static const char *const injected[] = { "injected_files", "injected_file_content_bytes",
                                            "injected_file_path_bytes" };
    size_t n = 0;
    q[n++] = (struct quota){ "instances", stored_get(st, "instances", UNLIMITED), u->servers };
    q[n++] = (struct quota){ "cores", stored_get(st, "cores", UNLIMITED), u->cores };
    q[n++] = (struct quota){ "ram", stored_get(st, "ram", UNLIMITED), u->ram_mb };
    q[n++] =
        (struct quota){ "metadata_items", stored_get(st, "metadata_items", META_MAX_ITEMS), 0 };
    q[n++] = (struct quota){ "key_pairs", stored_get(st, "key_pairs", UNLIMITED), 0 };
    if (!cls || nova_mv(rq, 50)) {
        q[n++] = (struct quota){ "server_groups", stored_get(st, "server_groups", UNLIMITED), 0 };
        q[n++] = (struct quota){ "server_group_members",
                                 stored_get(st, "server_group_members", UNLIMITED), 0 };
    }
    if (!nova_mv(rq, cls ? 50 : 36))
        for (size_t i = 0; i < sizeof network / sizeof network[0]; i++)
            q[n++] = (struct quota){ network[i], stored_get(st, network[i], UNLIMITED), 0 };
    if (!nova_mv(rq, 57))
        for (size_t i = 0; i < sizeof injected / sizeof injected[0]; i++)
            q[n++] = (struct quota){ injected[i], stored_get(st, injected[i], UNLIMITED), 0 };
    return n;
}

/* PROJECT's quota set, or with PROJECT NULL the defaults (the class's). */
static int nova_quota_reply(struct api_request *rq, const char *project, bool usage)
{
    struct project_usage u;
    struct quota_stored st;
    struct quota q[NOVA_MAX_QUOTAS];
    memset(&u, 0, sizeof u);
    if ((project && project_usage(rq, project, &u) < 0) || stored_load(rq, project, &st) < 0)
        return -1;
    size_t n = nova_quotas(rq, &u, &st, false, q);
    stored_free(&st);
    return api_reply(rq, 200,
                     json_pack("{s:o}", "quota_set",
                               quota_set(q, n, api_param(rq, "project_id"), usage, false)));
}

int nova_quotas_show(struct api_request *rq)
{
    return nova_quota_reply(rq, api_param(rq, "project_id"), false);
}

int nova_quotas_detail(struct api_request *rq)
{
    return nova_quota_reply(rq, api_param(rq, "project_id"), true);
}

int nova_quotas_defaults(struct api_request *rq)
{
    return nova_quota_reply(rq, NULL, false);
}

/* An update of PROJECT's limits, or with PROJECT NULL of the default
 * class's; the reply is the set without its id. */
static int nova_quota_update(struct api_request *rq, const char *project, const char *reply_key)
{
    json_t *set = rq->body_obj; /* schema_nova_quota_set, checked by the router */
    struct project_usage u;
    struct quota_stored st;
    struct quota q[NOVA_MAX_QUOTAS];
    json_t *force = json_object_get(set, "force");
    memset(&u, 0, sizeof u);
    if (!project && force)
        return api_err(&rq->err, 400,
                       "Invalid input for field/attribute quota_class_set. Additional properties "
                       "are not allowed ('force' was unexpected)");
    if ((project && project_usage(rq, project, &u) < 0) || stored_load(rq, project, &st) < 0)
        return -1;
    size_t n = nova_quotas(rq, &u, &st, !project, q);
    stored_free(&st);
    if (check_update(rq, q, n, set, force && body_bool(force)) < 0 ||
        quota_store(rq, project ? project : QUOTA_CLASS_OWNER, set) < 0 ||
        stored_load(rq, project, &st) < 0)
        return -1;
    n = nova_quotas(rq, &u, &st, !project, q);
    stored_free(&st);
    return api_reply(rq, 200, json_pack("{s:o}", reply_key, quota_set(q, n, NULL, false, false)));
}

int nova_quotas_update(struct api_request *rq)
{
    return nova_quota_update(rq, api_param(rq, "project_id"), "quota_set");
}

int nova_quotas_delete(struct api_request *rq)
{
    if (quota_reset(rq, api_param(rq, "project_id")) < 0)
        return -1;
    return api_reply(rq, 202, NULL);
}

/* GET /os-quota-class-sets/default: the limits a project has until an
 * admin sets its own. volswap keeps that one class (Nova's legacy quota
 * driver uses no other either); another name is 404. */
static int quota_class_name(struct api_request *rq)
{
    if (strcmp(api_param(rq, "id"), "default") != 0)
        return api_err(&rq->err, 404, "Quota class %.64s could not be found.", api_param(rq, "id"));
    return 0;
}

int nova_quota_class_show(struct api_request *rq)
{
    if (quota_class_name(rq) < 0)
        return -1;
    struct project_usage u;
    struct quota_stored st;
    struct quota q[NOVA_MAX_QUOTAS];
    memset(&u, 0, sizeof u);
    if (stored_load(rq, NULL, &st) < 0)
        return -1;
    size_t n = nova_quotas(rq, &u, &st, true, q);
    stored_free(&st);
    return api_reply(
        rq, 200, json_pack("{s:o}", "quota_class_set", quota_set(q, n, "default", false, false)));
}

int nova_quota_class_update(struct api_request *rq)
{
    if (quota_class_name(rq) < 0)
        return -1;
    return nova_quota_update(rq, NULL, "quota_class_set");
}

/* ---- Cinder ---- */

#define CINDER_QUOTAS 7

static void cinder_quotas(const struct project_usage *u, const struct quota_stored *st,
                          struct quota q[CINDER_QUOTAS])
{
    q[0] = (struct quota){ "volumes", stored_get(st, "volumes", UNLIMITED), u->volumes };
    q[1] = (struct quota){ "gigabytes", stored_get(st, "gigabytes", UNLIMITED), u->gigabytes };
    q[2] = (struct quota){ "snapshots", stored_get(st, "snapshots", UNLIMITED), 0 };
    q[3] = (struct quota){ "backups", stored_get(st, "backups", UNLIMITED), 0 };
    q[4] = (struct quota){ "backup_gigabytes", stored_get(st, "backup_gigabytes", UNLIMITED), 0 };
    q[5] = (struct quota){ "per_volume_gigabytes",
                           stored_get(st, "per_volume_gigabytes", UNLIMITED), 0 };
    q[6] = (struct quota){ "groups", stored_get(st, "groups", UNLIMITED), 0 };
}

/* Cinder's per-type quotas are named after the type: volumes_TYPE,
 * gigabytes_TYPE, snapshots_TYPE; volswap's types are its pools. */
static json_t *cinder_quota_json(struct api_request *rq, const char *project, bool usage,
                                 bool with_id, bool defaults)
{
    struct project_usage u;
    struct quota_stored st;
    struct quota q[CINDER_QUOTAS];
    if (project_usage(rq, project, &u) < 0 || stored_load(rq, defaults ? NULL : project, &st) < 0)
        return NULL;
    cinder_quotas(&u, &st, q);
    stored_free(&st);
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

/* PROJECT's quota set, or with DEFAULTS what a project has before an
 * admin sets its own. */
static int cinder_quota_reply(struct api_request *rq, const char *project, bool usage,
                              bool defaults)
{
    json_t *o = cinder_quota_json(rq, project, usage, true, defaults);
    return o ? api_reply(rq, 200, json_pack("{s:o}", "quota_set", o)) : -1;
}

int cinder_quotas_show(struct api_request *rq)
{
    const char *usage = api_query(rq, "usage");
    return cinder_quota_reply(rq, api_param(rq, "target_project_id"), usage && api_truthy(usage),
                              false);
}

int cinder_quotas_defaults(struct api_request *rq)
{
    return cinder_quota_reply(rq, api_param(rq, "target_project_id"), false, true);
}

int cinder_quotas_update(struct api_request *rq)
{
    json_t *set = rq->body_obj; /* schema_cinder_quota_set, checked by the router */
    struct project_usage u;
    struct quota_stored st;
    struct quota q[CINDER_QUOTAS];
    int rc = project_usage(rq, api_param(rq, "target_project_id"), &u);
    if (rc == 0)
        rc = stored_load(rq, api_param(rq, "target_project_id"), &st);
    if (rc == 0) {
        cinder_quotas(&u, &st, q);
        stored_free(&st);
        rc = check_update(rq, q, CINDER_QUOTAS, set, false);
    }
    if (rc == 0)
        rc = quota_store(rq, api_param(rq, "target_project_id"), set);
    if (rc < 0)
        return -1;
    json_t *o = cinder_quota_json(rq, api_param(rq, "target_project_id"), false, false, false);
    return o ? api_reply(rq, 200, json_pack("{s:o}", "quota_set", o)) : -1;
}

int cinder_quotas_delete(struct api_request *rq)
{
    if (quota_reset(rq, api_param(rq, "target_project_id")) < 0)
        return -1;
    return api_reply(rq, 200, NULL);
}

/* ---- enforcement ---- */

int quota_check_servers(struct api_request *rq, const char *project, long long count,
                        const struct cfg_flavor *fl)
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
        { "cores", l.cores, u.cores, count * fl->vcpus },
        { "ram", l.ram, u.ram_mb, count * fl->ram_mb },
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
