/* A minimal Keystone v3, enough for keystoneauth (novaclient, openstackclient)
 * to log in: the version document at /v3, password authentication scoped to
 * a project (POST /v3/auth/tokens -> 201 + X-Subject-Token), token
 * validation (GET) and revocation (DELETE). The token body carries what
 * clients read: expires_at, user, project, roles and a catalog whose compute
 * and volumev3 endpoints point back at this same service. */
#include "identity.h"

#include <string.h>

static json_t *link_self(const char *href)
{
    return json_pack("[{s:s, s:s}]", "rel", "self", "href", href);
}

static int ks_version(struct api_request *rq)
{
    char href[400];
    snprintf(href, sizeof href, "%s/v3/", rq->ctx->base_url);
    return api_reply(rq, 200,
                     json_pack("{s:{s:s, s:s, s:s, s:o, s:[{s:s, s:s}]}}", "version", "id", "v3.14",
                               "status", "stable", "updated", "2020-04-07T00:00:00Z", "links",
                               link_self(href), "media-types", "base", "application/json", "type",
                               "application/vnd.openstack.identity-v3+json"));
}

/* GET /identity/: Keystone's list of its versions, 300 Multiple Choices
 * (the one service answers Nova's at "/", so Keystone's root is served
 * under /identity, where the catalog's identity endpoint lives). */
static int ks_versions(struct api_request *rq)
{
    char href[400];
    snprintf(href, sizeof href, "%s/identity/v3/", rq->ctx->base_url);
    return api_reply(rq, 300,
                     json_pack("{s:{s:[{s:s, s:s, s:s, s:o, s:[{s:s, s:s}]}]}}", "versions",
                               "values", "id", "v3.14", "status", "stable", "updated",
                               "2020-04-07T00:00:00Z", "links", link_self(href), "media-types",
                               "base", "application/json", "type",
                               "application/vnd.openstack.identity-v3+json"));
}

static json_t *endpoint(const char *url, const char *iface)
{
    char id[33];
    api_random_hex(id, 16);
    return json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", id, "interface", iface, "region",
                     "RegionOne", "region_id", "RegionOne", "url", url);
}

static json_t *catalog_entry(const char *type, const char *name, const char *url)
{
    char id[33];
    api_random_hex(id, 16);
    return json_pack("{s:s, s:s, s:s, s:[o,o,o]}", "type", type, "name", name, "id", id,
                     "endpoints", endpoint(url, "public"), endpoint(url, "internal"),
                     endpoint(url, "admin"));
}

/* The service catalog of a token scoped to PROJECT_ID. */
static json_t *service_catalog(struct api_request *rq, const char *project_id)
{
    char compute[400], volume[400], identity[400], image[400];
    snprintf(image, sizeof image, "%s/image", rq->ctx->base_url);
    /* each service under its own prefix, as devstack lays them out; the
     * unprefixed paths keep working for what was configured with them */
    snprintf(compute, sizeof compute, "%s/compute/v2.1", rq->ctx->base_url);
    snprintf(identity, sizeof identity, "%s/identity/v3", rq->ctx->base_url);
    snprintf(volume, sizeof volume, "%s/volume/v3/%s", rq->ctx->base_url, project_id);
    return json_pack(
        "[o,o,o,o,o]", catalog_entry("identity", "keystone", identity),
        catalog_entry("compute", "nova", compute), catalog_entry("volumev3", "cinderv3", volume),
        catalog_entry("block-storage", "cinder", volume), catalog_entry("image", "glance", image));
}

static json_t *token_body(struct api_request *rq, const struct auth_ctx *a)
{
    char exp[32], issued[32];
    api_time_z(a->expires, exp);
    api_time_z(a->issued ? a->issued : time(NULL), issued);
    /* Keystone prints microseconds; keystoneauth parses either */
    char exp_us[40], iss_us[40];
    snprintf(exp_us, sizeof exp_us, "%.19s.000000Z", exp);
    snprintf(iss_us, sizeof iss_us, "%.19s.000000Z", issued);
    json_t *roles = json_array();
    for (size_t i = 0; i < a->n_roles; i++)
        json_array_append_new(roles,
                              json_pack("{s:s, s:s}", "id", a->roles[i], "name", a->roles[i]));
    json_t *audit = json_array();
    for (size_t i = 0; i < a->n_audit_ids; i++)
        json_array_append_new(audit, json_string(a->audit_ids[i]));
    /* a token got with the token method lists it before the parent's */
    json_t *methods = a->by_token ? json_pack("[s,s]", "token", "password")
                                  : json_pack("[s]", "password");
    json_t *tok = json_pack("{s:o, s:{s:s, s:s, s:{s:s, s:s}, s:n}, s:o, s:s, s:s, s:o}", "methods",
                            methods, "user", "id", a->user_id, "name", a->user_name, "domain", "id",
                            "default", "name", "Default", "password_expires_at", "audit_ids", audit,
                            "expires_at", exp_us, "issued_at", iss_us, "roles", roles);
    if (a->project_id[0]) {
        json_object_set_new(tok, "project",
                            json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", a->project_id, "name",
                                      a->project_name, "domain", "id", "default", "name",
                                      "Default"));
        json_object_set_new(tok, "is_domain", json_false());
        json_object_set_new(tok, "catalog", service_catalog(rq, a->project_id));
    }
    return json_pack("{s:o}", "token", tok);
}

/* Reads {"name"|"id", "domain": {"name"|"id"}} into NAME/DOMAIN. */
static int name_and_domain(json_t *obj, const char *what, const char **name, const char **id,
                           const char **domain, struct api_error *e)
{
    if (!json_is_object(obj))
        return api_err(e, 400, "Invalid input for field '%s': not an object", what);
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        if (strcmp(k, "name") && strcmp(k, "id") && strcmp(k, "domain") && strcmp(k, "password"))
            return api_err(e, 400, "Invalid input for field '%s': additional property '%.64s'",
                           what, k);
    }
    *name = json_string_value(json_object_get(obj, "name"));
    *id = json_string_value(json_object_get(obj, "id"));
    *domain = NULL;
    json_t *d = json_object_get(obj, "domain");
    if (d) {
        if (!json_is_object(d))
            return api_err(e, 400, "Invalid input for field '%s.domain'", what);
        *domain = json_string_value(json_object_get(d, "name"));
        const char *did = json_string_value(json_object_get(d, "id"));
        if (!*domain && did)
            *domain = strcmp(did, "default") == 0 ? "Default" : did;
    }
    if ((json_object_get(obj, "name") && !*name) || (json_object_get(obj, "id") && !*id) ||
        (!*name && !*id))
        return api_err(e, 400, "Invalid input for field '%s': a name or id string is required",
                       what);
    return 0;
}

/* The scope of an auth request: a project by id, or by name and domain;
 * none asks for an unscoped token. */
static int read_scope(json_t *auth, const char **pname, const char **pid, const char **pdomain,
                      struct api_error *e)
{
    *pname = *pid = *pdomain = NULL;
    json_t *scope = json_object_get(auth, "scope");
    if (!scope)
        return 0;
    json_t *proj = json_object_get(scope, "project");
    if (!proj)
        return api_err(e, 400, "Only project scope is supported");
    return name_and_domain(proj, "project", pname, pid, pdomain, e);
}

/* identity.password: {"user": {name or id, domain, password}}. */
static int password_login(struct api_request *rq, json_t *pw, json_t *auth, struct auth_ctx *a,
                          char token[AUTH_TOKEN_MAX])
{
    json_t *user = json_object_get(pw, "user");
    const char *uname, *uid, *udomain, *pname, *pid, *pdomain;
    if (name_and_domain(user, "user", &uname, &uid, &udomain, &rq->err) < 0)
        return -1;
    const char *password = json_string_value(json_object_get(user, "password"));
    if (!password)
        return api_err(&rq->err, 400, "Invalid input for field 'password': a string is required");
    if (read_scope(auth, &pname, &pid, &pdomain, &rq->err) < 0)
        return -1;
    if (!uname) {
        /* look the user up by id */
        for (size_t i = 0; i < rq->ctx->cfg->n_users; i++)
            if (strcmp(rq->ctx->cfg->users[i].id, uid) == 0)
                uname = rq->ctx->cfg->users[i].name;
        if (!uname)
            return api_err(&rq->err, 401, "The request you have made requires authentication.");
    }
    return auth_login(rq->ctx->auth, uname, udomain, password, pname, pid, pdomain, a, token,
                      &rq->err);
}

/* identity.token: {"id": TOKEN}, Keystone's re-scoping of a token. */
static int token_login(struct api_request *rq, json_t *tk, json_t *auth, struct auth_ctx *a,
                       char token[AUTH_TOKEN_MAX])
{
    const char *k;
    json_t *v;
    if (!json_is_object(tk))
        return api_err(&rq->err, 400, "Invalid input for field 'token': not an object");
    json_object_foreach(tk, k, v) {
        if (strcmp(k, "id") != 0)
            return api_err(&rq->err, 400,
                           "Invalid input for field 'token': additional property '%.64s'", k);
    }
    const char *parent = json_string_value(json_object_get(tk, "id"));
    if (!parent)
        return api_err(&rq->err, 400, "Invalid input for field 'token': an id string is required");
    const char *pname, *pid, *pdomain;
    if (read_scope(auth, &pname, &pid, &pdomain, &rq->err) < 0)
        return -1;
    return auth_rescope(rq->ctx->auth, parent, pname, pid, pdomain, a, token, &rq->err);
}

static int ks_tokens_create(struct api_request *rq)
{
    json_t *auth = rq->body_obj; /* schema_auth_tokens, checked by the router */
    json_t *ident = json_object_get(auth, "identity");
    json_t *methods = json_object_get(ident, "methods");
    if (!json_is_array(methods) || json_array_size(methods) != 1 ||
        !json_is_string(json_array_get(methods, 0)))
        return api_err(&rq->err, 400,
                       "Expecting to find methods in identity. The server could not comply with "
                       "the request since it is either malformed or otherwise incorrect.");
    const char *method = json_string_value(json_array_get(methods, 0));
    json_t *proof = json_object_get(ident, method);
    struct auth_ctx a;
    char token[AUTH_TOKEN_MAX];
    int rc = -1;
    if (proof && strcmp(method, "password") == 0)
        rc = password_login(rq, proof, auth, &a, token);
    else if (proof && strcmp(method, "token") == 0)
        rc = token_login(rq, proof, auth, &a, token);
    else
        api_err(&rq->err, 401, "The request you have made requires authentication.");
    if (rc < 0)
        return -1;
    snprintf(rq->subject_token, sizeof rq->subject_token, "%s", token);
    return api_reply(rq, 201, token_body(rq, &a));
}

/* Keystone's identity:validate_token and identity:revoke_token: the
 * token's own user, or an admin. Anyone else learns only that it is not
 * theirs to see (403, after the lookup, as Keystone's token_subject rule). */
static int token_policy(struct api_request *rq, const struct auth_ctx *subject, const char *action)
{
    if (auth_has_role(&rq->auth, "admin") ||
        (rq->auth.user_id[0] && strcmp(rq->auth.user_id, subject->user_id) == 0))
        return 0;
    return api_err(&rq->err, 403, "You are not authorized to perform the requested action: %s.",
                   action);
}

/* Keystone's 404 names the token the caller sent: the body may, the log
 * may not. */
static int token_not_found(struct api_request *rq, const char *subject)
{
    api_err(&rq->err, 404, "Could not find token: %.80s.", subject ? subject : "");
    rq->err.msg_secret = true;
    return -1;
}

static int ks_tokens_get(struct api_request *rq)
{
    const char *subject = api_header(rq, "X-Subject-Token");
    struct auth_ctx a;
    struct api_error e;
    if (auth_validate(rq->ctx->auth, subject, &a, &e) < 0)
        return token_not_found(rq, subject);
    if (token_policy(rq, &a, "identity:validate_token") < 0)
        return -1;
    if (a.is_admin_token)
        a.expires = time(NULL) + rq->ctx->cfg->token_ttl;
    snprintf(rq->subject_token, sizeof rq->subject_token, "%s", subject);
    return api_reply(rq, 200, token_body(rq, &a));
}

static int ks_tokens_delete(struct api_request *rq)
{
    const char *subject = api_header(rq, "X-Subject-Token");
    struct auth_ctx a;
    struct api_error e;
    if (auth_validate(rq->ctx->auth, subject, &a, &e) < 0 || a.is_admin_token)
        return token_not_found(rq, subject);
    if (token_policy(rq, &a, "identity:revoke_token") < 0)
        return -1;
    auth_revoke(rq->ctx->auth, subject);
    return api_reply(rq, 204, NULL);
}

/* ---- projects: what the openstack client looks up by name ---- */

static json_t *project_view(struct api_request *rq, const struct cfg_project *p)
{
    char self[600];
    snprintf(self, sizeof self, "%s/v3/projects/%s", rq->ctx->base_url, p->id);
    const char *did = strcmp(p->domain, "Default") == 0 ? "default" : p->domain;
    return json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:s, s:{s:s}, s:[], s:{}}", "id", p->id,
                     "name", p->name, "domain_id", did, "description", "", "enabled", 1,
                     "is_domain", 0, "parent_id", did, "links", "self", self, "tags", "options");
}

/* GET /v3/projects (admin, as Keystone's identity:list_projects), with
 * Keystone's name and domain_id filters. */
static int ks_projects_list(struct api_request *rq)
{
    if (!auth_has_role(&rq->auth, "admin"))
        return api_err(&rq->err, 403,
                       "You are not authorized to perform the requested action: "
                       "identity:list_projects.");
    const char *name = api_query(rq, "name"), *domain = api_query(rq, "domain_id");
    json_t *arr = json_array();
    for (size_t i = 0; i < rq->ctx->cfg->n_projects; i++) {
        const struct cfg_project *p = &rq->ctx->cfg->projects[i];
        const char *did = strcmp(p->domain, "Default") == 0 ? "default" : p->domain;
        if ((name && strcmp(name, p->name) != 0) || (domain && strcmp(domain, did) != 0))
            continue;
        json_array_append_new(arr, project_view(rq, p));
    }
    char self[600];
    snprintf(self, sizeof self, "%s/v3/projects", rq->ctx->base_url);
    return api_reply(rq, 200,
                     json_pack("{s:o, s:{s:s, s:n, s:n}}", "projects", arr, "links", "self", self,
                               "previous", "next"));
}

/* GET /v3/projects/{id}: an admin's any project, anyone's own. */
static int ks_projects_show(struct api_request *rq)
{
    const struct cfg_project *p = config_project_by_id(rq->ctx->cfg, api_param(rq, "project_id"));
    if (!p)
        return api_err(&rq->err, 404, "Could not find project: %.64s.",
                       api_param(rq, "project_id"));
    if (strcmp(p->id, rq->auth.project_id) != 0 && !auth_has_role(&rq->auth, "admin"))
        return api_err(&rq->err, 403,
                       "You are not authorized to perform the requested action: "
                       "identity:get_project.");
    return api_reply(rq, 200, json_pack("{s:o}", "project", project_view(rq, p)));
}

/* GET /v3/auth/catalog: the catalog of the caller's token, which must be
 * scoped to a project (Keystone's 403 otherwise). */
static int ks_auth_catalog(struct api_request *rq)
{
    if (!rq->auth.project_id[0])
        return api_err(&rq->err, 403,
                       "A project-scoped token is required to produce a service catalog.");
    char self[600];
    snprintf(self, sizeof self, "%s/v3/auth/catalog", rq->ctx->base_url);
    return api_reply(rq, 200,
                     json_pack("{s:o, s:{s:s, s:n, s:n}}", "catalog",
                               service_catalog(rq, rq->auth.project_id), "links", "self", self,
                               "previous", "next"));
}

/* GET /v3/users/{user_id}/projects: the projects the user has a role in;
 * the user's own list, or any user's for an admin
 * (identity:list_user_projects). */
static int ks_user_projects(struct api_request *rq)
{
    const char *uid = api_param(rq, "user_id");
    if (strcmp(uid, rq->auth.user_id) != 0 && !auth_has_role(&rq->auth, "admin"))
        return api_err(&rq->err, 403,
                       "You are not authorized to perform the requested action: "
                       "identity:list_user_projects.");
    const struct api_config *cfg = rq->ctx->cfg;
    const struct cfg_user *u = NULL;
    for (size_t i = 0; i < cfg->n_users && !u; i++)
        if (strcmp(cfg->users[i].id, uid) == 0)
            u = &cfg->users[i];
    if (!u)
        return api_err(&rq->err, 404, "Could not find user: %.64s.", uid);
    json_t *arr = json_array();
    for (size_t i = 0; i < cfg->n_projects; i++) {
        const struct cfg_project *p = &cfg->projects[i];
        bool member = false;
        for (size_t j = 0; j < u->n_roles && !member; j++)
            member = strcmp(u->roles[j].project, p->name) == 0;
        if (member)
            json_array_append_new(arr, project_view(rq, p));
    }
    char self[600];
    snprintf(self, sizeof self, "%s/v3/users/%s/projects", rq->ctx->base_url, u->id);
    return api_reply(rq, 200,
                     json_pack("{s:o, s:{s:s, s:n, s:n}}", "projects", arr, "links", "self", self,
                               "previous", "next"));
}

/* ---- domains: the ones the configured projects live in ---- */

/* A domain's id: "default" for Default (Keystone's), else its name. */
static const char *domain_id(const char *name)
{
    return strcmp(name, "Default") == 0 ? "default" : name;
}

static json_t *domain_view(struct api_request *rq, const char *name)
{
    char self[600];
    snprintf(self, sizeof self, "%s/v3/domains/%s", rq->ctx->base_url, domain_id(name));
    return json_pack("{s:s, s:s, s:s, s:b, s:{s:s}, s:[], s:{}}", "id", domain_id(name), "name",
                     name, "description", strcmp(name, "Default") == 0 ? "The default domain" : "",
                     "enabled", 1, "links", "self", self, "tags", "options");
}

/* The domains of the configured projects and users, each once, into
 * NAMES (at most MAX); returns how many. */
static size_t domain_names(const struct api_config *cfg, const char **names, size_t max)
{
    size_t n = 0;
    names[n++] = "Default";
    for (size_t i = 0; i < cfg->n_projects + cfg->n_users; i++) {
        const char *d = i < cfg->n_projects ? cfg->projects[i].domain
                                            : cfg->users[i - cfg->n_projects].domain;
        bool seen = false;
        for (size_t j = 0; j < n; j++)
            seen |= strcmp(names[j], d) == 0;
        if (!seen && n < max)
            names[n++] = d;
    }
    return n;
}

/* GET /v3/domains (admin, Keystone's identity:list_domains), with its name
 * and enabled filters. */
static int ks_domains_list(struct api_request *rq)
{
    if (!auth_has_role(&rq->auth, "admin"))
        return api_err(&rq->err, 403,
                       "You are not authorized to perform the requested action: "
                       "identity:list_domains.");
    const char *names[64];
    size_t n = domain_names(rq->ctx->cfg, names, 64);
    const char *name = api_query(rq, "name"), *enabled = api_query(rq, "enabled");
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        if ((!name || strcmp(name, names[i]) == 0) && (!enabled || api_truthy(enabled)))
            json_array_append_new(arr, domain_view(rq, names[i]));
    char self[600];
    snprintf(self, sizeof self, "%s/v3/domains", rq->ctx->base_url);
    return api_reply(rq, 200,
                     json_pack("{s:o, s:{s:s, s:n, s:n}}", "domains", arr, "links", "self", self,
                               "previous", "next"));
}

/* GET /v3/domains/{id}: an admin's any domain; anyone's the domain their
 * token's project lives in (Keystone's identity:get_domain). */
static int ks_domains_show(struct api_request *rq)
{
    const char *id = api_param(rq, "domain_id");
    const char *names[64];
    size_t n = domain_names(rq->ctx->cfg, names, 64);
    const char *found = NULL;
    for (size_t i = 0; i < n && !found; i++)
        if (strcmp(domain_id(names[i]), id) == 0)
            found = names[i];
    if (!found)
        return api_err(&rq->err, 404, "Could not find domain: %.64s.", id);
    const struct cfg_project *p =
        rq->auth.project_id[0] ? config_project_by_id(rq->ctx->cfg, rq->auth.project_id) : NULL;
    if (!auth_has_role(&rq->auth, "admin") && !(p && strcmp(p->domain, found) == 0))
        return api_err(&rq->err, 403,
                       "You are not authorized to perform the requested action: "
                       "identity:get_domain.");
    return api_reply(rq, 200, json_pack("{s:o}", "domain", domain_view(rq, found)));
}

/* Keystone's root, served under /identity only. */
const struct api_route keystone_root_routes[] = {
    { "GET", "/", SVC_IDENTITY, false, NULL, API_POLICY_NONE, NULL, NULL, 0, 0, ks_versions,
      "at `/identity/`: Keystone's version list, 300 Multiple Choices" },
    { NULL, NULL, SVC_NONE, false, NULL, API_POLICY_NONE, NULL, NULL, 0, 0, NULL, NULL },
};

/* The identity routes, each declared once. */
#define KS(m, p, auth, fn, rule, doc)                                                            \
    {                                                                                            \
        m, p, SVC_IDENTITY, auth, rule, rule ? API_POLICY_HANDLER : API_POLICY_NONE, NULL, NULL, \
            0, 0, fn, doc                                                                        \
    }
#define KS_BODY(m, p, fn, schema, doc)                                                \
    {                                                                                 \
        m, p, SVC_IDENTITY, false, NULL, API_POLICY_NONE, NULL, schema, 0, 0, fn, doc \
    }

const struct api_route keystone_routes[] = {
    KS("GET", "/v3", false, ks_version, NULL, "version document (v3.14)"),
    KS_BODY(
        "POST", "/v3/auth/tokens", ks_tokens_create, &schema_auth_tokens,
        "password auth, scoped to a project: 201, `X-Subject-Token`, body with `expires_at`, user, "
        "project, roles and a catalog (`identity` = `BASE/identity/v3`, `compute` = "
        "`BASE/compute/v2.1`, "
        "`volumev3` and `block-storage` = `BASE/volume/v3/{project_id}`, `image` = `BASE/image`; "
        "the unprefixed `BASE/v3` and `BASE/v2.1` keep working); "
        "or Keystone's token method, `{\"methods\": [\"token\"], \"token\": {\"id\": T}}`: a new "
        "token for T's user (not for an admin token), scoped to a project the user has a role in "
        "or unscoped, expiring with T, `methods` `[\"token\", \"password\"]`, `audit_ids` its own "
        "and the first of T's chain (`openstack --os-auth-type v3token`)"),
    KS("GET", "/v3/auth/tokens", true, ks_tokens_get, NULL,
       "validate `X-Subject-Token`; 404 when invalid; 403 unless the caller is the token's user "
       "or an admin (Keystone's `identity:validate_token`); a token's `audit_ids` and "
       "`issued_at` are fixed when it is issued"),
    KS("HEAD", "/v3/auth/tokens", true, ks_tokens_get, NULL, "as GET, without the body"),
    KS("DELETE", "/v3/auth/tokens", true, ks_tokens_delete, NULL,
       "revoke `X-Subject-Token` (204); 403 unless the caller is the token's user or an admin"),
    KS("GET", "/v3/auth/catalog", true, ks_auth_catalog, NULL,
       "the catalog of the caller's project-scoped token (403 for another), as in the token "
       "body"),
    KS("GET", "/v3/users/{user_id}/projects", true, ks_user_projects, NULL,
       "the projects the user has a role in; one's own, or any user's for an admin (403 "
       "otherwise, as `identity:list_user_projects`); 404 \"Could not find user\""),
    KS("GET", "/v3/domains", true, ks_domains_list, "identity:list_domains",
       "`?name&enabled`; admin only; the domains of the configured projects and users "
       "(`default` is Default)"),
    KS("GET", "/v3/domains/{domain_id}", true, ks_domains_show, "identity:get_domain",
       "the domain of one's project, or any for an admin; 404 \"Could not find domain\""),
    KS("GET", "/v3/projects", true, ks_projects_list, "identity:list_projects",
       "`?name&domain_id`; admin only; the configured projects, as the openstack client looks a "
       "project up by name"),
    KS("GET", "/v3/projects/{project_id}", true, ks_projects_show, "identity:get_project",
       "one's own project, or any for an admin; 404 \"Could not find project\""),
    { NULL, NULL, SVC_NONE, false, NULL, API_POLICY_NONE, NULL, NULL, 0, 0, NULL, NULL },
};
