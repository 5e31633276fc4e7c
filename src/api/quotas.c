/* Quota sets: Nova's /v2.1/os-quota-sets/{project} and Cinder's
 * /v3/{project}/os-quota-sets/{project} (show, detail/usage, defaults,
 * update, delete), so that `openstack quota show`, `nova quota-show` and
 * `cinder quota-show`/`quota-usage` work.
 *
 * volswap enforces no quota on servers, volumes or gigabytes: every such
 * limit is -1, Nova's and Cinder's "unlimited", and the usage beside it is
 * counted from the registry (as in limits.c). The one limit it enforces is
 * 128 metadata items. An update that asks for exactly these values is
 * accepted (and changes nothing); any other value is refused with 400
 * rather than stored and then silently not enforced. Delete (back to the
 * defaults) is accepted: the defaults are what there is. */
#include "nova.h"

#include <string.h>

#define UNLIMITED (-1)

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
    return api_err(&rq->err, 500, "registry: %s", r->ops->last_error(r));
  }
  for (size_t i = 0; i < ns; i++)
    u->servers += !nova_server_deleted(&servers[i]);
  for (size_t i = 0; i < nv; i++)
    u->gigabytes += vols[i].size_gb;
  u->volumes = (json_int_t)nv;
  free(servers);
  free(vols);
  return 0;
}

/* The quota set as an object: NAME: limit, or with usage NAME: {in_use,
 * limit, reserved} (Cinder adds allocated). */
static json_t *quota_set(const struct quota *q, size_t n, const char *id, bool usage,
                         bool cinder)
{
  json_t *o = id ? json_pack("{s:s}", "id", id) : json_object();
  for (size_t i = 0; i < n; i++) {
    if (!usage) {
      json_object_set_new(o, q[i].name, json_integer(q[i].limit));
      continue;
    }
    json_t *u = json_pack("{s:I, s:I, s:i}", "in_use", q[i].in_use, "limit", q[i].limit,
                          "reserved", 0);
    if (cinder)
      json_object_set_new(u, "allocated", json_integer(0));
    json_object_set_new(o, q[i].name, u);
  }
  return o;
}

/* An update must ask for what volswap has: -1, or the enforced value. */
static int check_update(struct api_request *rq, const struct quota *q, size_t n, json_t *set)
{
  const char *key;
  json_t *v;
  json_object_foreach(set, key, v) {
    if (strcmp(key, "force") == 0 || strcmp(key, "tenant_id") == 0)
      continue;
    for (size_t i = 0; i < n; i++)
      if (strcmp(q[i].name, key) == 0 && json_integer_value(v) != q[i].limit)
        return api_err(&rq->err, 400, "Quota %s cannot be set to %lld: volswap enforces no "
                       "quotas but its fixed limits (%s is %lld)", key,
                       (long long)json_integer_value(v), key, (long long)q[i].limit);
  }
  return 0;
}

/* ---- Nova ---- */

#define NOVA_MAX_QUOTAS 16

static size_t nova_quotas(struct api_request *rq, const struct project_usage *u,
                          struct quota q[NOVA_MAX_QUOTAS])
{
  size_t n = 0;
  q[n++] = (struct quota){ "instances", UNLIMITED, u->servers };
  q[n++] = (struct quota){ "cores", UNLIMITED, u->servers };
  q[n++] = (struct quota){ "ram", UNLIMITED, u->servers * 512 };
  q[n++] = (struct quota){ "metadata_items", 128, 0 };
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

static int nova_quota_reply(struct api_request *rq, const char *rule, bool usage, bool with_id)
{
  const char *project = rq->params[0];
  if (policy_check(&rq->auth, rule, project, &rq->err) < 0)
    return -1;
  struct project_usage u;
  struct quota q[NOVA_MAX_QUOTAS];
  if (project_usage(rq, project, &u) < 0)
    return -1;
  size_t n = nova_quotas(rq, &u, q);
  return api_reply(rq, 200, json_pack("{s:o}", "quota_set",
                                      quota_set(q, n, with_id ? project : NULL, usage, false)));
}

int nova_quotas_show(struct api_request *rq)
{
  return nova_quota_reply(rq, "os_compute_api:os-quota-sets:show", false, true);
}

int nova_quotas_detail(struct api_request *rq)
{
  return nova_quota_reply(rq, "os_compute_api:os-quota-sets:detail", true, true);
}

int nova_quotas_defaults(struct api_request *rq)
{
  return nova_quota_reply(rq, "os_compute_api:os-quota-sets:defaults", false, true);
}

int nova_quotas_update(struct api_request *rq)
{
  if (policy_check(&rq->auth, "os_compute_api:os-quota-sets:update", rq->params[0],
                   &rq->err) < 0)
    return -1;
  json_t *doc = NULL;
  json_t *set = body_parse(rq->body, rq->body_len, &schema_nova_quota_set, &doc, &rq->err);
  if (!set)
    return -1;
  struct project_usage u;
  struct quota q[NOVA_MAX_QUOTAS];
  int rc = project_usage(rq, rq->params[0], &u);
  size_t n = nova_quotas(rq, &u, q);
  if (rc == 0)
    rc = check_update(rq, q, n, set);
  json_decref(doc);
  if (rc < 0)
    return -1;
  return api_reply(rq, 200, json_pack("{s:o}", "quota_set", quota_set(q, n, NULL, false, false)));
}

int nova_quotas_delete(struct api_request *rq)
{
  if (policy_check(&rq->auth, "os_compute_api:os-quota-sets:delete", rq->params[0],
                   &rq->err) < 0)
    return -1;
  return api_reply(rq, 202, NULL);
}

/* ---- Cinder ---- */

/* Cinder's per-type quotas are named after the type: volumes_TYPE,
 * gigabytes_TYPE, snapshots_TYPE; volswap's types are its pools. */
static json_t *cinder_quota_json(struct api_request *rq, const char *project, bool usage,
                                 bool with_id)
{
  struct project_usage u;
  if (project_usage(rq, project, &u) < 0)
    return NULL;
  const struct quota q[] = {
    { "volumes", UNLIMITED, u.volumes },
    { "gigabytes", UNLIMITED, u.gigabytes },
    { "snapshots", UNLIMITED, 0 },
    { "backups", UNLIMITED, 0 },
    { "backup_gigabytes", UNLIMITED, 0 },
    { "per_volume_gigabytes", UNLIMITED, 0 },
    { "groups", UNLIMITED, 0 },
  };
  json_t *o = quota_set(q, sizeof q / sizeof q[0], with_id ? project : NULL, usage, true);
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
        if (strcmp(vols[i].host, cfg->hosts[h].name) == 0 && strcmp(vols[i].pool, pool) == 0) {
          count++;
          gb += vols[i].size_gb;
        }
      char name[96];
      const struct quota t[] = { { name, UNLIMITED, count }, { name, UNLIMITED, gb },
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
  if (policy_check(&rq->auth, "volume_extension:quotas:show", rq->params[1], &rq->err) < 0)
    return -1;
  const char *usage = api_query(rq, "usage");
  return cinder_quota_reply(rq, rq->params[1], usage && api_truthy(usage));
}

int cinder_quotas_defaults(struct api_request *rq)
{
  if (policy_check(&rq->auth, "volume_extension:quotas:show", rq->params[1], &rq->err) < 0)
    return -1;
  return cinder_quota_reply(rq, rq->params[1], false);
}

int cinder_quotas_update(struct api_request *rq)
{
  if (policy_check(&rq->auth, "volume_extension:quotas:update", rq->params[1], &rq->err) < 0)
    return -1;
  json_t *doc = NULL;
  json_t *set = body_parse(rq->body, rq->body_len, &schema_cinder_quota_set, &doc, &rq->err);
  if (!set)
    return -1;
  /* Every Cinder quota volswap names is -1. */
  const struct quota q[] = {
    { "volumes", UNLIMITED, 0 }, { "gigabytes", UNLIMITED, 0 }, { "snapshots", UNLIMITED, 0 },
    { "backups", UNLIMITED, 0 }, { "backup_gigabytes", UNLIMITED, 0 },
    { "per_volume_gigabytes", UNLIMITED, 0 }, { "groups", UNLIMITED, 0 },
  };
  int rc = check_update(rq, q, sizeof q / sizeof q[0], set);
  json_decref(doc);
  if (rc < 0)
    return -1;
  json_t *o = cinder_quota_json(rq, rq->params[1], false, false);
  return o ? api_reply(rq, 200, json_pack("{s:o}", "quota_set", o)) : -1;
}

int cinder_quotas_delete(struct api_request *rq)
{
  if (policy_check(&rq->auth, "volume_extension:quotas:delete", rq->params[1], &rq->err) < 0)
    return -1;
  return api_reply(rq, 200, NULL);
}
