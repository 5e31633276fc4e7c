/* Key/value metadata of servers (Nova's server-metadata API) and volumes
 * (Cinder's volume metadata API). The two have the same six verbs:
 *   GET    .../metadata          all items            {"metadata": {...}}
 *   POST   .../metadata          merge into them      {"metadata": all after}
 *   PUT    .../metadata          replace them all     {"metadata": all after}
 *   GET    .../metadata/KEY      one item             {"meta": {KEY: VALUE}}
 *   PUT    .../metadata/KEY      set one item         {"meta": {KEY: VALUE}}
 *   DELETE .../metadata/KEY      remove one item      Nova 204, Cinder 200
 * and differ in paths, policies, the key alphabet (the body schemas in
 * schemas.c) and the answer to a delete. One handler serves the twelve
 * routes: the route's service picks the `struct meta_api` row, its method
 * and whether its path names a key pick the verb, as in the table above. A write is one registry
 * transaction, so a reader sees the items before or after it, never half.
 * A server holds at most its project's metadata_items quota (quotas.c;
 * META_MAX_ITEMS until an admin sets it), a volume META_MAX_ITEMS; more
 * is Nova's 403 "Maximum number of metadata items exceeds 128" (Cinder
 * has no such quota by default; volswap applies Nova's default to it). */

#include "rest.h"

#include <stdlib.h>
#include <string.h>

json_t *api_meta_json(struct registry *r, enum reg_meta_kind kind, const char *owner)
{
    json_t *o = json_object();
    struct reg_meta *items = NULL;
    size_t n = 0;
    if (r->ops->meta_list(r, kind, owner, &items, &n) == 0)
        for (size_t i = 0; i < n; i++)
            json_object_set_new(o, items[i].key, json_string(items[i].value));
    free(items);
    return o;
}

int api_meta_store(struct registry *r, enum reg_meta_kind kind, const char *owner, json_t *map,
                   bool replace, struct api_error *e)
{
    REG_TXN(txn, r);
    if (reg_begin(&txn, e) < 0)
        return -1;
    if (replace && r->ops->meta_delete(r, kind, owner, NULL) < 0)
        return reg_fail(e, r);
    const char *k;
    json_t *v;
    json_object_foreach(map, k, v) {
        struct reg_meta m;
        snprintf(m.key, sizeof m.key, "%s", k);
        snprintf(m.value, sizeof m.value, "%s", json_string_value(v));
        if (r->ops->meta_put(r, kind, owner, &m) < 0)
            return reg_fail(e, r);
    }
    struct reg_meta *items = NULL;
    size_t n = 0;
    if (r->ops->meta_list(r, kind, owner, &items, &n) < 0)
        return reg_fail(e, r);
    free(items);
    /* a server's bound is its project's metadata_items quota */
    json_int_t max = META_MAX_ITEMS;
    struct reg_server s;
    if (kind == REG_META_SERVER) {
        int rc = r->ops->server_get(r, owner, &s);
        if (rc < 0)
            return reg_fail(e, r);
        if (rc == 0 && quota_limit(r, s.project_id, "metadata_items", META_MAX_ITEMS, &max, e) < 0)
            return -1;
    }
    if (max >= 0 && (json_int_t)n > max)
        return api_err(e, 403, "Maximum number of metadata items exceeds %lld", (long long)max);
    return reg_commit(&txn, e);
}

enum meta_verb { MV_INDEX, MV_SHOW, MV_CREATE, MV_UPDATE_ALL, MV_UPDATE, MV_DELETE };

/* The route names each verb's policy rule and body schema; the key is the
 * URL's {key}. */
struct meta_api {
    enum reg_meta_kind kind;
    int delete_status;
    /* Finds the owner named by the URL, checks the route's rule against its
     * project and, for a write, that its state allows one; fills OWNER with
     * its id. */
    int (*load)(struct api_request *rq, enum meta_verb verb, char owner[37]);
};

static int load_server_meta(struct api_request *rq, enum meta_verb verb, char owner[37])
{
    struct reg_server s;
    if (load_server(rq, api_param(rq, "server_id"), &s) < 0 || api_authorize(rq, s.project_id) < 0)
        return -1;
    if (verb != MV_INDEX && verb != MV_SHOW &&
        nova_check_server_state(rq, &s, verb == MV_DELETE ? "delete_metadata" : "update_metadata") <
            0)
        return -1;
    snprintf(owner, 37, "%s", s.id);
    return 0;
}

static int load_volume_meta(struct api_request *rq, enum meta_verb verb, char owner[37])
{
    (void)verb;
    struct reg_volume v;
    if (cinder_load_volume(rq, api_param(rq, "volume_id"), &v) < 0)
        return -1;
    if (api_authorize(rq, v.project_id) < 0)
        return -1;
    snprintf(owner, 37, "%s", v.id);
    return 0;
}

static const struct meta_api nova_meta = { REG_META_SERVER, 204, load_server_meta };
static const struct meta_api cinder_meta = { REG_META_VOLUME, 200, load_volume_meta };

static int not_found(struct api_request *rq)
{
    return api_err(&rq->err, 404, "Metadata item was not found");
}

static int meta_read(struct api_request *rq, const struct meta_api *api, bool one)
{
    char owner[37];
    if (api->load(rq, one ? MV_SHOW : MV_INDEX, owner) < 0)
        return -1;
    json_t *all = api_meta_json(rq->ctx->reg, api->kind, owner);
    if (!one)
        return api_reply(rq, 200, json_pack("{s:o}", "metadata", all));
    const char *key = api_param(rq, "key");
    json_t *v = json_object_get(all, key);
    if (!v) {
        json_decref(all);
        return not_found(rq);
    }
    json_t *reply = json_pack("{s:{s:O}}", "meta", key, v);
    json_decref(all);
    return api_reply(rq, 200, reply);
}

/* POST and PUT of the whole map, and PUT of one item. */
static int meta_write(struct api_request *rq, const struct meta_api *api, enum meta_verb verb)
{
    json_t *map = rq->body_obj; /* checked by the router against the route's schema */
    const char *key = verb == MV_UPDATE ? api_param(rq, "key") : NULL;
    if (key && json_object_size(map) > 1)
        return api_err(&rq->err, 400, "Request body contains too many items");
    if (key && !json_object_get(map, key))
        return api_err(&rq->err, 400, "Request body and URI mismatch");
    char owner[37];
    if (api->load(rq, verb, owner) < 0)
        return -1;
    struct registry *r = rq->ctx->reg;
    if (api_meta_store(r, api->kind, owner, map, verb == MV_UPDATE_ALL, &rq->err) < 0)
        return -1;
    return key ? api_reply(rq, 200, json_pack("{s:O}", "meta", map))
               : api_reply(rq, 200,
                           json_pack("{s:o}", "metadata", api_meta_json(r, api->kind, owner)));
}

static int meta_delete(struct api_request *rq, const struct meta_api *api)
{
    char owner[37];
    if (api->load(rq, MV_DELETE, owner) < 0)
        return -1;
    struct registry *r = rq->ctx->reg;
    int rc = r->ops->meta_delete(r, api->kind, owner, api_param(rq, "key"));
    if (rc < 0)
        return reg_fail(&rq->err, r);
    if (rc == 1)
        return not_found(rq);
    return api_reply(rq, api->delete_status, NULL);
}

int api_metadata(struct api_request *rq)
{
    const struct meta_api *api = rq->route->service == SVC_COMPUTE ? &nova_meta : &cinder_meta;
    bool one = strstr(rq->route->pattern, "{key}") != NULL;
    const char *method = rq->route->method;
    if (strcmp(method, "GET") == 0)
        return meta_read(rq, api, one);
    if (strcmp(method, "DELETE") == 0)
        return meta_delete(rq, api);
    if (one)
        return meta_write(rq, api, MV_UPDATE);
    return meta_write(rq, api, strcmp(method, "POST") == 0 ? MV_CREATE : MV_UPDATE_ALL);
}
