/* The Nova compute subset, part one: version documents (GET / and /v2.1),
 * servers (list, detail with the name filter novaclient uses, show, and
 * POST, which registers a consumer on a host and launches nothing), the
 * and the compute route table. */
#include "compute.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static json_t *version_v21(struct api_request *rq)
{
    char maxv[16];
    snprintf(maxv, sizeof maxv, "2.%d", NOVA_MV_MAX);
    return api_version_doc(rq, "v2.1", maxv, "2.1", "2013-07-23T11:33:21Z", "/v2.1/",
                           "application/vnd.openstack.compute+json;version=2.1");
}

/* Nova's v2.0 entry: the legacy API without microversions, which Nova
 * still lists first; volswap serves its version document at /v2 (the
 * calls themselves answer under /v2.1). */
static json_t *version_v20(struct api_request *rq)
{
    return api_version_doc(rq, "v2.0", "", "", "2011-01-21T11:33:21Z", "/v2/",
                           "application/vnd.openstack.compute+json;version=2");
}

static int nova_versions(struct api_request *rq)
{
    json_t *v2 = version_v20(rq), *v21 = version_v21(rq);
    json_object_set_new(v2, "status", json_string("SUPPORTED"));
    return api_reply(rq, 200, json_pack("{s:[o,o]}", "versions", v2, v21));
}

static int nova_version_v20(struct api_request *rq)
{
    json_t *v2 = version_v20(rq);
    json_object_set_new(v2, "status", json_string("SUPPORTED"));
    return api_reply(rq, 200, json_pack("{s:o}", "version", v2));
}

static int nova_version(struct api_request *rq)
{
    return api_reply(rq, 200, json_pack("{s:o}", "version", version_v21(rq)));
}

/* ---- servers ---- */

static json_t *server_links(struct api_request *rq, const char *id)
{
    char self[400], book[400];
    snprintf(self, sizeof self, "%s/v2.1/servers/%s", rq->ctx->base_url, id);
    snprintf(book, sizeof book, "%s/servers/%s", rq->ctx->base_url, id);
    return json_pack("[{s:s, s:s}, {s:s, s:s}]", "rel", "self", "href", self, "rel", "bookmark",
                     "href", book);
}

static json_t *server_summary(struct api_request *rq, const struct reg_server *s)
{
    return json_pack("{s:s, s:s, s:o}", "id", s->id, "name", s->name, "links",
                     server_links(rq, s->id));
}

/* Nova's accessIPv4 / accessIPv6: an address of that family, kept in the
 * form inet_ntop writes (Nova keeps it normalised too). */
static int access_ip_arg(struct api_request *rq, json_t *body, const char *field, char out[64])
{
    out[0] = '\0';
    json_t *v = json_object_get(body, field);
    if (!v)
        return 0;
    const char *text = json_string_value(v);
    int af = strcmp(field, "accessIPv4") == 0 ? AF_INET : AF_INET6;
    unsigned char addr[16];
    if (!text || inet_pton(af, text, addr) != 1 || !inet_ntop(af, addr, out, 64))
        return api_err(&rq->err, 400,
                       "Invalid input for field/attribute %s. Value: %.64s. '%.64s' is not a "
                       "'%s'",
                       field, text ? text : "", text ? text : "", af == AF_INET ? "ipv4" : "ipv6");
    return 0;
}

/* Stores the access addresses given (an empty one is left as it is). */
static int store_access_ips(struct registry *r, const char *server_id, const char *v4,
                            const char *v6)
{
    const char *vals[2] = { v4, v6 }, *keys[2] = { "accessIPv4", "accessIPv6" };
    for (int i = 0; i < 2; i++) {
        if (!vals[i][0])
            continue;
        struct reg_meta m;
        snprintf(m.key, sizeof m.key, "%s", keys[i]);
        snprintf(m.value, sizeof m.value, "%s", vals[i]);
        if (r->ops->meta_put(r, REG_META_SERVER_ATTR, server_id, &m) < 0)
            return -1;
    }
    return 0;
}

/* Nova's server name: 1 to 255 characters, no white space at either end. */
static int server_name_arg(struct api_request *rq, json_t *body)
{
    const char *name = json_string_value(json_object_get(body, "name"));
    if (!name)
        return 0;
    size_t n = strlen(name);
    if (n == 0)
        return api_err(&rq->err, 400,
                       "Invalid input for field/attribute name. Value: . '' is too short");
    if (isspace((unsigned char)name[0]) || isspace((unsigned char)name[n - 1]))
        return api_err(&rq->err, 400,
                       "Invalid input for field/attribute name. Value: %.64s. '%.64s' does not "
                       "match the name format (leading or trailing white space)",
                       name, name);
    return 0;
}

/* description is Nova's from 2.19; before, it is an unknown field. */
static int description_arg(struct api_request *rq, json_t *body)
{
    if (json_object_get(body, "description") && !nova_mv(rq, 19))
        return api_err(&rq->err, 400,
                       "Invalid input for field/attribute server. Additional properties are not "
                       "allowed ('description' was unexpected)");
    return 0;
}

/* Keeps a server's description (NULL or "" clears it). */
static int store_description(struct registry *r, const char *server_id, const char *desc)
{
    if (r->ops->meta_delete(r, REG_META_SERVER_ATTR, server_id, "description") < 0)
        return -1;
    if (!desc || !desc[0])
        return 0;
    struct reg_meta m;
    snprintf(m.key, sizeof m.key, "description");
    snprintf(m.value, sizeof m.value, "%s", desc);
    return r->ops->meta_put(r, REG_META_SERVER_ATTR, server_id, &m);
}

/* The access addresses and description given to a server into VIEW
 * (which has "" and null for those never given). */
static void access_ips(struct registry *r, const char *server_id, json_t *view)
{
    struct reg_meta *m = NULL;
    size_t n = 0;
    if (r->ops->meta_list(r, REG_META_SERVER_ATTR, server_id, &m, &n) < 0)
        return;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(m[i].key, "accessIPv4") || !strcmp(m[i].key, "accessIPv6") ||
            (!strcmp(m[i].key, "key_name") && json_object_get(view, "key_name")) ||
            (!strcmp(m[i].key, "OS-DCF:diskConfig") && json_object_get(view, m[i].key)) ||
            (!strcmp(m[i].key, "description") && json_object_get(view, "description")))
            json_object_set_new(view, m[i].key, json_string(m[i].value));
    free(m);
}

/* The image a server was created or last rebuilt from (its attribute
 * image_ref), into OUT ("" for none: a server booted from volumes). */
static void server_image_ref(struct registry *r, const char *server_id, char out[37])
{
    struct reg_meta *m = NULL;
    size_t n = 0;
    out[0] = '\0';
    if (r->ops->meta_list(r, REG_META_SERVER_ATTR, server_id, &m, &n) < 0)
        return;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(m[i].key, "image_ref"))
            snprintf(out, 37, "%.36s", m[i].value);
    free(m);
}

/* Nova's image of a server view: {"id", "links"} or "" without one. */
static json_t *server_image(struct api_request *rq, const char *server_id)
{
    char id[37], book[400];
    server_image_ref(rq->ctx->reg, server_id, id);
    if (!id[0])
        return json_string("");
    snprintf(book, sizeof book, "%s/images/%s", rq->ctx->base_url, id);
    return json_pack("{s:s, s:[{s:s, s:s}]}", "id", id, "links", "rel", "bookmark", "href", book);
}

static int store_image_ref(struct registry *r, const char *server_id, const char *image_id)
{
    struct reg_meta m;
    snprintf(m.key, sizeof m.key, "image_ref");
    snprintf(m.value, sizeof m.value, "%s", image_id);
    return r->ops->meta_put(r, REG_META_SERVER_ATTR, server_id, &m);
}

static json_t *server_detail(struct api_request *rq, const struct reg_server *s)
{
    char created[32], updated[32], host_id[57];
    snprintf(created, sizeof created, "%.19sZ", s->created_at);
    snprintf(updated, sizeof updated, "%.19sZ", s->updated_at);
    nova_host_id(s->project_id, s->host, host_id);
    const struct cfg_host *h = config_host(rq->ctx->cfg, s->host);
    int power = h && strcmp(h->driver, "libvirt") == 0 ? hlv_power_state(h, s->id)
                : strcmp(s->vm_state, "stopped") == 0 ? 4
                                                      : 1;
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:{}, s:s, s:s,"
        " s:s, s:s, s:i, s:s, s:s, s:n, s:i, s:n, s:s, s:[{s:s}]}",
        "id", s->id, "name", s->name, "status", s->status, "tenant_id", s->project_id, "user_id",
        s->user_id, "created", created, "updated", updated, "links", server_links(rq, s->id),
        "metadata", api_meta_json(rq->ctx->reg, REG_META_SERVER, s->id), "addresses", "hostId",
        host_id, "accessIPv4", "", "accessIPv6", "", "OS-EXT-STS:vm_state", s->vm_state,
        /* a libvirt host's domain says its own power state; otherwise Nova's
         * 4 SHUTDOWN for a stopped server, 1 RUNNING */
        "OS-EXT-STS:power_state", power,
        "OS-EXT-AZ:availability_zone", "nova", "OS-DCF:diskConfig", "MANUAL",
        "OS-EXT-STS:task_state", "progress", 0, "key_name", "OS-SRV-USG:launched_at", created,
        "security_groups", "name", "default");
    /* Nova shows progress only while a server is active or building */
    if (strcmp(s->status, "ACTIVE") != 0)
        json_object_del(o, "progress");
    json_object_set_new(o, "image", server_image(rq, s->id));
    const struct cfg_flavor *fl = rest_server_flavor(rq->ctx->reg, rq->ctx->cfg, s->id);
    json_object_set_new(o, "flavor",
                        nova_mv(rq, 47)
                            ? json_pack("{s:i, s:i, s:i, s:i, s:i, s:s, s:{}}", "vcpus", fl->vcpus,
                                        "ram", fl->ram_mb, "disk", fl->disk_gb, "ephemeral", 0,
                                        "swap", 0, "original_name", fl->name, "extra_specs")
                            : json_pack("{s:s, s:[]}", "id", fl->id, "links"));
    if (s->task_state[0])
        json_object_set_new(o, "OS-EXT-STS:task_state", json_string(s->task_state));
    json_object_set_new(o, "OS-SRV-USG:terminated_at",
                        nova_server_deleted(s) ? json_string(updated) : json_null());
    if (auth_has_role(&rq->auth, "admin")) {
        json_object_set_new(o, "OS-EXT-SRV-ATTR:host", json_string(s->host));
        json_object_set_new(o, "OS-EXT-SRV-ATTR:hypervisor_hostname", json_string(s->host));
        json_object_set_new(o, "OS-EXT-SRV-ATTR:instance_name", json_string(s->id));
    }
    if (nova_mv(rq, 9))
        json_object_set_new(o, "locked", json_boolean(s->locked));
    if (nova_mv(rq, 19))
        json_object_set_new(o, "description", json_null());
    access_ips(rq->ctx->reg, s->id, o);
    if (nova_mv(rq, 26))
        json_object_set_new(o, "tags", json_array());
    if (nova_mv(rq, 63))
        json_object_set_new(o, "trusted_image_certificates", json_null());
    if (nova_mv(rq, 71))
        json_object_set_new(o, "server_groups", json_array());
    if (nova_mv(rq, 73))
        json_object_set_new(o, "locked_reason", json_null());
    /* os-extended-volumes: the attached volumes */
    json_t *vols = json_array();
    struct reg_attachment *atts = NULL;
    size_t n = 0;
    struct registry *r = rq->ctx->reg;
    if (r->ops->attachment_list(r, s->id, &atts, &n) == 0) {
        for (size_t i = 0; i < n; i++) {
            json_t *v = json_pack("{s:s}", "id", atts[i].volume_id);
            if (nova_mv(rq, 3))
                json_object_set_new(v, "delete_on_termination",
                                    json_boolean(atts[i].delete_on_termination));
            json_array_append_new(vols, v);
        }
    }
    free(atts);
    json_object_set_new(o, "os-extended-volumes:volumes_attached", vols);
    return o;
}

/* Nova's changes-since (and changes-before) value, an ISO 8601 time
 * ("2026-12-07T21:50:06Z", fractions and an offset allowed, or a date
 * alone), as "YYYY-MM-DDTHH:MM:SS" in UTC, comparable with the registry's
 * times; -1 when it is not one. */
static int iso_time_arg(const char *in, char out[20])
{
    int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
    if (sscanf(in, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
        return -1;
    const char *p = in + n;
    if (*p == 'T' || *p == ' ') {
        int m = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &h, &mi, &m) != 2 || m != 5)
            return -1;
        p += 1 + m;
        if (*p == ':') {
            if (sscanf(p + 1, "%2d%n", &sec, &m) != 1 || m != 2)
                return -1;
            p += 1 + m;
        }
        if (*p == '.')
            for (p++; isdigit((unsigned char)*p); p++)
                ;
    }
    long off = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om, m = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &m) != 2 || m != 5)
            return -1;
        off = (*p == '-' ? -1 : 1) * (oh * 3600L + om * 60L);
        p += 1 + m;
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || y < 1900)
        return -1;
    struct tm tm = { .tm_year = y - 1900,
                     .tm_mon = mo - 1,
                     .tm_mday = d,
                     .tm_hour = h,
                     .tm_min = mi,
                     .tm_sec = sec };
    time_t t = timegm(&tm) - off;
    struct tm utc;
    gmtime_r(&t, &utc);
    strftime(out, 20, "%Y-%m-%dT%H:%M:%S", &utc);
    return 0;
}

/* Nova's server statuses, the values its status filter takes. */
static bool nova_status_known(const char *st)
{
    static const char *const known[] = {
        "ACTIVE",    "BUILD",        "DELETED",       "ERROR",   "HARD_REBOOT",
        "MIGRATING", "PASSWORD",     "PAUSED",        "REBOOT",  "REBUILD",
        "RESCUE",    "RESIZE",       "REVERT_RESIZE", "SHELVED", "SHELVED_OFFLOADED",
        "SHUTOFF",   "SOFT_DELETED", "SUSPENDED",     "UNKNOWN", "VERIFY_RESIZE",
        NULL,
    };
    for (size_t i = 0; known[i]; i++)
        if (strcasecmp(st, known[i]) == 0)
            return true;
    return false;
}

static int server_cmp_key(const void *a, const void *b, const char *key)
{
    const struct reg_server *x = a, *y = b;
    if (!strcmp(key, "display_name") || !strcmp(key, "name"))
        return strcmp(x->name, y->name);
    if (!strcmp(key, "created_at"))
        return strcmp(x->created_at, y->created_at);
    if (!strcmp(key, "updated_at"))
        return strcmp(x->updated_at, y->updated_at);
    if (!strcmp(key, "vm_state"))
        return strcmp(x->vm_state, y->vm_state);
    if (!strcmp(key, "task_state"))
        return strcmp(x->task_state, y->task_state);
    if (!strcmp(key, "host") || !strcmp(key, "node"))
        return strcmp(x->host, y->host);
    if (!strcmp(key, "project_id"))
        return strcmp(x->project_id, y->project_id);
    if (!strcmp(key, "user_id"))
        return strcmp(x->user_id, y->user_id);
    return strcmp(x->id, y->id); /* id, uuid */
}

static const char *server_id_of(const void *s)
{
    return ((const struct reg_server *)s)->id;
}

/* Whether server S passes the list's filters (Nova's: an admin's host,
 * status, flavor, image, changes-since; name is the caller's regex). */
struct server_filter {
    const struct api_config *cfg;
    const char *status, *flavor, *image, *host;
    char since[20];
    bool want_deleted;
    struct api_regex *re;
};

static bool server_listed(struct registry *r, const struct server_filter *f,
                          const struct reg_server *s)
{
    /* changes-since lists deleted servers too, as Nova's */
    if (nova_server_deleted(s) != f->want_deleted && !(f->since[0] && nova_server_deleted(s)))
        return false;
    if (f->re && !api_regex_search(f->re, s->name))
        return false;
    if (f->status && strcasecmp(f->status, s->status) != 0)
        return false;
    if (f->host && strcmp(f->host, s->host) != 0)
        return false;
    if (f->since[0] && strncmp(s->updated_at, f->since, 19) < 0)
        return false;
    if (f->flavor) {
        const char *slash = strrchr(f->flavor, '/');
        if (strcmp(slash ? slash + 1 : f->flavor, rest_server_flavor(r, f->cfg, s->id)->id) != 0)
            return false;
    }
    if (f->image) {
        char ref[37];
        const char *slash = strrchr(f->image, '/');
        server_image_ref(r, s->id, ref);
        if (strcmp(slash ? slash + 1 : f->image, ref) != 0)
            return false;
    }
    return true;
}

/* Whether the route matched is a list's /detail twin, which one handler
 * serves with the list. */
static bool detail_route(const struct api_request *rq)
{
    static const char suffix[] = "/detail";
    size_t n = strlen(rq->route->pattern), k = sizeof suffix - 1;
    return n >= k && strcmp(rq->route->pattern + n - k, suffix) == 0;
}

/* GET /servers[/detail]: the caller's project's servers (an admin's
 * all_tenants: every project's, or tenant_id's / project_id's), Nova's
 * filters, newest first, paged by limit and marker (an unknown marker is
 * 400, as Nova). */
static int servers_list(struct api_request *rq)
{
    bool detail = detail_route(rq);
    static const char *const sort_keys[] = {
        "created_at", "updated_at", "display_name", "name",       "id",      "uuid", "vm_state",
        "task_state", "host",       "node",         "project_id", "user_id", NULL
    };
    const char *rule = rq->route->policy; /* index or detail, checked at the door */
    const char *all = api_query(rq, "all_tenants");
    bool all_tenants = all && (all[0] == '\0' || api_truthy(all));
    if (all_tenants) {
        char r2[80];
        snprintf(r2, sizeof r2, "%s:get_all_tenants", rule);
        if (policy_check(&rq->auth, r2, NULL, &rq->err) < 0)
            return -1;
    }
    bool admin = auth_has_role(&rq->auth, "admin");
    struct server_filter f = { 0 };
    f.status = api_query(rq, "status");
    f.cfg = rq->ctx->cfg;
    f.flavor = api_query(rq, "flavor");
    f.image = api_query(rq, "image");
    /* the host is an admin's filter; Nova drops it for others */
    f.host = admin ? api_query(rq, "host") : NULL;
    /* an unknown status lists nothing until 2.37, and is 400 from 2.38, as
     * Nova */
    bool no_status = f.status && !nova_status_known(f.status);
    if (no_status && nova_mv(rq, 38))
        return api_err(&rq->err, 400, "Invalid status value");
    const char *since = api_query(rq, "changes-since");
    if (since && iso_time_arg(since, f.since) < 0)
        return api_err(&rq->err, 400,
                       "Invalid input for query parameters changes-since. Value: %.64s. "
                       "'%.64s' is not a 'date-time'",
                       since, since);
    /* tenant_id (or project_id) picks a project only with all_tenants */
    const char *tenant = api_query(rq, "tenant_id");
    if (!tenant)
        tenant = api_query(rq, "project_id");
    const char *project = all_tenants ? tenant : rq->auth.project_id;
    struct page_req page;
    if (page_req_read(rq, sort_keys, "created_at:desc", &page) < 0)
        return -1;
    const char *name = api_query(rq, "name");
    /* Nova matches names as a regular expression (re.search); ours runs in
     * time linear in the name, and a pattern it cannot bound is a 400 */
    if (name && !(f.re = api_regex_compile(name, &rq->err)))
        return -1;
    struct reg_server *list = NULL;
    size_t n = 0;
    struct registry *r = rq->ctx->reg;
    if (r->ops->server_list(r, project, &list, &n) < 0) {
        api_regex_free(f.re);
        return reg_fail(&rq->err, r);
    }
    /* deleted servers are listed only for an admin who asks (?deleted=true),
     * and then alone, as Nova's "deleted" filter does */
    const char *del = api_query(rq, "deleted");
    f.want_deleted = del && api_truthy(del) && admin;
    size_t kept = 0;
    for (size_t i = 0; i < n && !no_status; i++)
        if (server_listed(r, &f, &list[i]))
            list[kept++] = list[i];
    api_regex_free(f.re);
    page_sort(list, kept, sizeof *list, server_cmp_key, &page);
    if (page.marker) {
        size_t i = 0;
        while (i < kept && strcmp(list[i].id, page.marker) != 0)
            i++;
        if (i == kept) {
            free(list);
            return api_err(&rq->err, 400, "marker [%.64s] not found", page.marker);
        }
    }
    size_t first = 0, count = 0;
    if (page_window(rq, list, kept, sizeof *list, server_id_of, &page, &first, &count) < 0) {
        free(list);
        return -1;
    }
    json_t *arr = json_array();
    for (size_t i = first; i < first + count; i++)
        json_array_append_new(arr,
                              detail ? server_detail(rq, &list[i]) : server_summary(rq, &list[i]));
    static const char *const carry[] = { "all_tenants",   "tenant_id", "project_id", "name",
                                         "status",        "flavor",    "image",      "host",
                                         "changes-since", "deleted",   NULL };
    json_t *out =
        page_body(rq, &page, "servers", arr, count ? list[first + count - 1].id : NULL, carry);
    free(list);
    return api_reply(rq, 200, out);
}


static int servers_show(struct api_request *rq)
{
    struct reg_server s;
    if (load_server(rq, api_param(rq, "server_id"), &s) < 0 || api_authorize(rq, s.project_id) < 0)
        return -1;
    return api_reply(rq, 200, json_pack("{s:o}", "server", server_detail(rq, &s)));
}

/* PUT /servers/{id}: Nova's update of a server's name, access addresses
 * and (2.19) description; the answer is the server's detail view. */
static int servers_update(struct api_request *rq)
{
    struct reg_server s;
    if (load_server(rq, api_param(rq, "server_id"), &s) < 0 || api_authorize(rq, s.project_id) < 0)
        return -1;
    json_t *b = rq->body_obj;
    char ip4[64], ip6[64];
    if (server_name_arg(rq, b) < 0 || description_arg(rq, b) < 0 ||
        access_ip_arg(rq, b, "accessIPv4", ip4) < 0 || access_ip_arg(rq, b, "accessIPv6", ip6) < 0)
        return -1;
    struct registry *r = rq->ctx->reg;
    REG_TXN(txn, r);
    if (reg_begin(&txn, &rq->err) < 0)
        return -1;
    int rc = r->ops->server_get(r, s.id, &s);
    const char *name = json_string_value(json_object_get(b, "name"));
    if (rc == 0 && name) {
        snprintf(s.name, sizeof s.name, "%s", name);
        api_time_micro(time(NULL), s.updated_at);
        rc = r->ops->server_update(r, &s);
    }
    if (rc == 0)
        rc = store_access_ips(r, s.id, ip4, ip6);
    if (rc == 0 && json_object_get(b, "description"))
        rc = store_description(r, s.id, json_string_value(json_object_get(b, "description")));
    if (rc != 0)
        return rc == 1 ? api_err(&rq->err, 404, "Instance %s could not be found.", s.id)
                       : reg_fail(&rq->err, r);
    if (reg_commit(&txn, &rq->err) < 0)
        return -1;
    json_t *view = server_detail(rq, &s);
    if (!nova_mv(rq, 75)) {
        /* until 2.75 Nova answers an update with the server's own fields,
         * without the extensions' (status, usage, host, volumes, groups) */
        static const char *const ext[] = { "os-extended-volumes:volumes_attached",
                                           "security_groups", "key_name", NULL };
        const char *k;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(view, tmp, k, v) {
            bool drop = !strncmp(k, "OS-EXT-", 7) || !strncmp(k, "OS-SRV-USG:", 11);
            for (size_t i = 0; !drop && ext[i]; i++)
                drop = strcmp(k, ext[i]) == 0;
            if (drop)
                json_object_del(view, k);
        }
    }
    return api_reply(rq, 200, json_pack("{s:o}", "server", view));
}

/* GET /servers/{id}/ips[/{network}]: a registered consumer has no ports
 * (there is no network service), so no network has its addresses. */
static int servers_ips(struct api_request *rq)
{
    struct reg_server s;
    if (load_server(rq, api_param(rq, "server_id"), &s) < 0 || api_authorize(rq, s.project_id) < 0)
        return -1;
    return api_reply(rq, 200, json_pack("{s:{}}", "addresses"));
}

static int servers_ips_show(struct api_request *rq)
{
    struct reg_server s;
    if (load_server(rq, api_param(rq, "server_id"), &s) < 0 || api_authorize(rq, s.project_id) < 0)
        return -1;
    return api_err(&rq->err, 404, "Instance is not a member of specified network");
}

static int detach_all(struct api_request *rq, const struct reg_server *s, const struct cfg_host *h,
                      bool destroy_dot);
static int mark_deleted(struct api_request *rq, const char *server_id);

/* Whether block device mapping BD is the boot disk (boot_index 0). */
static bool is_boot_bdm(json_t *bd)
{
    json_t *bi = json_object_get(bd, "boot_index");
    return (json_is_integer(bi) && json_integer_value(bi) == 0) ||
           (json_is_string(bi) && !strcmp(json_string_value(bi), "0"));
}

/* What a create asks, checked before anything is made: a configured
 * flavor (the first one when none is named), an image it fits, "none" or
 * "auto" networks (volswap gives its consumers none), and each block device an existing volume the
 * caller may use, available, on the server's host; the boot volume
 * (boot_index 0) bootable. */
static int check_boot_args(struct api_request *rq, json_t *b, const struct cfg_host *h)
{
    const char *flavor = json_string_value(json_object_get(b, "flavorRef"));
    size_t nf;
    const struct cfg_flavor *fl = flavor ? rest_flavor(rq->ctx->cfg, flavor)
                                         : rest_flavors(rq->ctx->cfg, &nf);
    if (!fl)
        return api_err(&rq->err, 400, "Flavor %.64s could not be found.", flavor);
    /* an image is recorded and shown (a registered consumer boots nothing
     * from it); it must be one the caller may use, and active */
    const char *image = json_string_value(json_object_get(b, "imageRef"));
    struct reg_image im;
    if (image && image[0] && image_usable(rq->ctx->reg, &rq->auth, image, &im, &rq->err) < 0)
        return -1;
    if (image && image[0] && im.min_ram > fl->ram_mb)
        return api_err(&rq->err, 400, "Flavor's memory is too small for requested image.");
    const char *dcf = json_string_value(json_object_get(b, "OS-DCF:diskConfig"));
    if (dcf && strcmp(dcf, "AUTO") != 0 && strcmp(dcf, "MANUAL") != 0)
        return api_err(&rq->err, 400,
                       "Invalid input for field/attribute OS-DCF:diskConfig. Value: %s. '%s' is "
                       "not one of ['AUTO', 'MANUAL']",
                       dcf, dcf);
    json_t *nets = json_object_get(b, "networks");
    if (nets &&
        !(json_is_string(nets) &&
          (!strcmp(json_string_value(nets), "none") || !strcmp(json_string_value(nets), "auto"))) &&
        !(json_is_array(nets) && json_array_size(nets) == 0))
        return api_err(&rq->err, 400,
                       "volswap servers have no networks: networks must be "
                       "\"none\" or \"auto\".");
    json_t *bdms = json_object_get(b, "block_device_mapping_v2");
    size_t i;
    json_t *bd;
    int boot = 0;
    json_array_foreach(bdms, i, bd) {
        const char *uuid = json_string_value(json_object_get(bd, "uuid"));
        const char *src = json_string_value(json_object_get(bd, "source_type"));
        const char *dst = json_string_value(json_object_get(bd, "destination_type"));
        if (!json_is_object(bd) || !src || strcmp(src, "volume") != 0 ||
            (dst && strcmp(dst, "volume") != 0))
            return api_err(&rq->err, 400,
                           "Block Device Mapping is Invalid: volswap boots from "
                           "existing volumes only (source_type and destination_type volume).");
        if (!api_is_uuid(uuid))
            return api_err(&rq->err, 400,
                           "Block Device Mapping is Invalid: uuid must be a "
                           "volume id.");
        if (is_boot_bdm(bd))
            boot++;
        struct reg_volume v;
        struct registry *r = rq->ctx->reg;
        int vrc = r->ops->volume_get(r, uuid, &v);
        if (vrc < 0)
            return reg_fail(&rq->err, r);
        if (vrc == 1 ||
            (!auth_has_role(&rq->auth, "admin") && strcmp(v.project_id, rq->auth.project_id) != 0))
            return api_err(&rq->err, 400,
                           "Block Device Mapping is Invalid: failed to get volume "
                           "%s.",
                           uuid);
        if (strcmp(v.status, "available") != 0)
            return api_err(&rq->err, 400, "Invalid volume: volume %s is %s, not available.", uuid,
                           v.status);
        if (strcmp(v.host, h->name) != 0)
            return api_err(&rq->err, 400,
                           "Invalid volume: volume %s lives on host %s, the server "
                           "on %s.",
                           uuid, v.host, h->name);
        /* Nova boots only from a volume Cinder calls bootable (made from an
         * image, or marked with os-set_bootable); a blank one is not */
        if (is_boot_bdm(bd) && !v.bootable)
            return api_err(&rq->err, 400, "Block Device %s is not bootable.", uuid);
    }
    if (boot > 1)
        return api_err(&rq->err, 400,
                       "Block Device Mapping is Invalid: Boot sequence for the "
                       "instance and image/block device mapping combination is not valid.");
    return 0;
}

/* Attaches a boot's volumes: the boot volume (boot_index 0) as /dev/vda,
 * the others at the next free names. A failure detaches what was attached,
 * marks the server deleted and leaves the error in rq->err: the request
 * failed and nothing of it stays in use. */
static int boot_volumes(struct api_request *rq, struct reg_server *s, json_t *bdms)
{
    size_t i, done = 0;
    json_t *bd;
    struct reg_attachment a;
    const struct cfg_host *h = config_host(rq->ctx->cfg, s->host);
    for (int pass = 0; pass < 2; pass++) { /* the boot volume first */
        json_array_foreach(bdms, i, bd) {
            bool is_boot = is_boot_bdm(bd);
            if (is_boot != (pass == 0))
                continue;
            json_t *dot = json_object_get(bd, "delete_on_termination");
            if (nova_attach_volume(rq, s, json_string_value(json_object_get(bd, "uuid")),
                                   is_boot ? "/dev/vda" : NULL,
                                   json_string_value(json_object_get(bd, "tag")), json_is_true(dot),
                                   false, &a) < 0)
                goto undo;
            done++;
        }
    }
    return 0;
undo:;
    struct api_error keep = rq->err;
    if (done > 0 && h)
        detach_all(rq, s, h, false); /* a failed boot deletes no volume */
    mark_deleted(rq, s->id);
    rq->err = keep;
    return -1;
}

/* The server's record, its quota check, its metadata and its access
 * addresses, in one transaction. */
static int insert_server(struct api_request *rq, const struct reg_server *s, json_t *md,
                         const char *ip4, const char *ip6, const char *description,
                         const char *key_name, const char *image, const char *disk_config,
                         const struct cfg_flavor *fl)
{
    struct registry *r = rq->ctx->reg;
    REG_TXN(txn, r);
    if (reg_begin(&txn, &rq->err) < 0 || quota_check_servers(rq, s->project_id, 1, fl) < 0)
        return -1;
    if (r->ops->server_insert(r, s) < 0)
        return reg_fail(&rq->err, r);
    if (md && api_meta_store(r, REG_META_SERVER, s->id, md, false, &rq->err) < 0)
        return -1;
    if (store_access_ips(r, s->id, ip4, ip6) < 0 || store_description(r, s->id, description) < 0 ||
        (image && image[0] && store_image_ref(r, s->id, image) < 0))
        return reg_fail(&rq->err, r);
    const char *attrs[][2] = { { "key_name", key_name },
                               { "OS-DCF:diskConfig", disk_config },
                               { "flavor_ref", fl->id } };
    for (size_t i = 0; i < 3; i++) {
        if (!attrs[i][1])
            continue;
        struct reg_meta m;
        snprintf(m.key, sizeof m.key, "%s", attrs[i][0]);
        snprintf(m.value, sizeof m.value, "%s", attrs[i][1]);
        if (r->ops->meta_put(r, REG_META_SERVER_ATTR, s->id, &m) < 0)
            return reg_fail(&rq->err, r);
    }
    return reg_commit(&txn, &rq->err);
}

/* Whether HOST holds one of the servers ARG names (a server id or a list
 * of them), and whether it named any that exist. */
static bool hint_hosts_match(struct registry *r, json_t *arg, const char *host, bool *named)
{
    json_t *one = json_is_string(arg) ? json_pack("[O]", arg) : json_incref(arg);
    bool hit = false;
    size_t i;
    json_t *id;
    json_array_foreach(one, i, id) {
        struct reg_server s;
        if (json_is_string(id) && r->ops->server_get(r, json_string_value(id), &s) == 0 &&
            !nova_server_deleted(&s)) {
            *named = true;
            hit |= strcmp(s.host, host) == 0;
        }
    }
    json_decref(one);
    return hit;
}

/* Nova's scheduler hints that volswap's one choice, the host, can honour:
 * same_host (on a host of those servers) and different_host (on none of
 * theirs), among the configured hosts in order, or checked against the
 * one asked for (FORCED). No host left is Nova's "No valid host". Other
 * hints belong to filters volswap has not (groups, cells, networks), and
 * Nova ignores a hint whose filter is not enabled; so does volswap. */
static int server_hints_host(struct api_request *rq, json_t *hints, bool forced,
                             const struct cfg_host **h)
{
    json_t *same = json_object_get(hints, "same_host"),
           *diff = json_object_get(hints, "different_host");
    for (json_t *arg = same; arg; arg = arg == same ? diff : NULL)
        if (!json_is_string(arg) && !json_is_array(arg))
            return api_err(&rq->err, 400,
                           "Invalid input for field/attribute os:scheduler_hints. same_host and "
                           "different_host are a server id or a list of them");
    if (!same && !diff)
        return 0;
    const struct api_config *cfg = rq->ctx->cfg;
    struct registry *r = rq->ctx->reg;
    for (size_t i = 0; i < cfg->n_hosts; i++) {
        const struct cfg_host *c = forced ? *h : &cfg->hosts[i];
        bool named = false, ok = true;
        if (same)
            ok = hint_hosts_match(r, same, c->name, &named) || !named;
        if (ok && diff)
            ok = !hint_hosts_match(r, diff, c->name, &named);
        if (ok) {
            *h = c;
            return 0;
        }
        if (forced)
            break;
    }
    return api_err(&rq->err, 400,
                   "No valid host was found. The scheduler hints leave no host for the server.");
}

/* One server of a create, named NAME, on host H, with its instance action
 * and boot volumes: 0 with OUT, or -1 with rq->err (a boot that failed has
 * marked its server deleted). */
static int create_one(struct api_request *rq, json_t *b, const struct cfg_host *h, const char *name,
                      const char *ip4, const char *ip6, const char *key_name,
                      const struct cfg_flavor *fl, struct reg_server *out)
{
    json_t *bdms = json_object_get(b, "block_device_mapping_v2");
    memset(out, 0, sizeof *out);
    api_uuid(out->id);
    /* on a libvirt host the server is an existing domain, adopted by name
     * or UUID: the server's id is the domain's UUID, as in Nova */
    if (strcmp(h->driver, "libvirt") == 0) {
        struct reg_server old;
        if (hlv_adopt(h, json_string_value(json_object_get(b, "name")), out->id, &rq->err) < 0)
            return -1;
        if (rq->ctx->reg->ops->server_get(rq->ctx->reg, out->id, &old) == 0) {
            api_err(&rq->err, 409, "Domain %s is already server %s.", out->id, old.id);
            return -1;
        }
    }
    snprintf(out->name, sizeof out->name, "%s", name);
    snprintf(out->project_id, sizeof out->project_id, "%s", rq->auth.project_id);
    snprintf(out->user_id, sizeof out->user_id, "%s", rq->auth.user_id);
    snprintf(out->host, sizeof out->host, "%s", h->name);
    strcpy(out->status, "ACTIVE");
    strcpy(out->vm_state, "active");
    api_time_micro(time(NULL), out->created_at);
    memcpy(out->updated_at, out->created_at, sizeof out->updated_at);
    /* the server and its metadata land together */
    json_t *md = json_object_get(b, "metadata");
    if (insert_server(rq, out, md, ip4, ip6, json_string_value(json_object_get(b, "description")),
                      key_name, json_string_value(json_object_get(b, "imageRef")),
                      json_string_value(json_object_get(b, "OS-DCF:diskConfig")), fl) < 0)
        return -1;
    struct reg_action a;
    if (action_start(rq, out->id, "create", &a) < 0)
        return -1;
    if (bdms && boot_volumes(rq, out, bdms) < 0) {
        action_event(rq, &a, "compute__do_build_and_run_instance", h->name, a.start_time, false,
                     rq->err.msg);
        return -1;
    }
    action_event(rq, &a, "compute__do_build_and_run_instance", h->name, a.start_time, true, NULL);
    return 0;
}

static int servers_create(struct api_request *rq)
{
    json_t *b = rq->body_obj; /* schema_server_create, checked by the router */
    int rc = -1;
    const struct api_config *cfg = rq->ctx->cfg;
    const char *host = json_string_value(json_object_get(b, "host"));
    const char *az = json_string_value(json_object_get(b, "availability_zone"));
    if (host && !nova_mv(rq, 74)) {
        api_err(&rq->err, 400,
                "Invalid input for field/attribute server. Additional "
                "properties are not allowed ('host' was unexpected)");
        goto out;
    }
    if (host && !auth_has_role(&rq->auth, "admin")) {
        api_err(&rq->err, 403,
                "Policy doesn't allow compute:servers:create:requested_destination "
                "to be performed.");
        goto out;
    }
    /* "zone:host" names a host the way Nova's forced-host syntax does */
    if (!host && az && strchr(az, ':'))
        host = strchr(az, ':') + 1;
    if (!rq->auth.project_id[0]) {
        api_err(&rq->err, 400, "A project-scoped token is required to create a server.");
        goto out;
    }
    if (cfg->n_hosts == 0) {
        api_err(&rq->err, 409, "No valid host was found. There are no hosts configured.");
        goto out;
    }
    const struct cfg_host *h = host ? config_host(cfg, host) : &cfg->hosts[0];
    if (!h) {
        api_err(&rq->err, 400, "Compute host %.64s could not be found.", host);
        goto out;
    }
    json_t *hints = json_object_get(rq->body_doc, "os:scheduler_hints");
    if (hints && server_hints_host(rq, hints, host != NULL, &h) < 0)
        goto out;
    if (check_boot_args(rq, b, h) < 0)
        goto out;
    char ip4[64], ip6[64];
    if (server_name_arg(rq, b) < 0 || description_arg(rq, b) < 0 ||
        access_ip_arg(rq, b, "accessIPv4", ip4) < 0 || access_ip_arg(rq, b, "accessIPv6", ip6) < 0)
        goto out;
    /* Nova's key_name: one of the caller's key pairs, recorded and shown
     * (a registered consumer has no guest to inject it into) */
    const char *key_name = json_string_value(json_object_get(b, "key_name"));
    if (key_name) {
        struct reg_keypair kp;
        int krc = rq->ctx->reg->ops->keypair_get(rq->ctx->reg, rq->auth.user_id, key_name, &kp);
        if (krc < 0) {
            reg_fail(&rq->err, rq->ctx->reg);
            goto out;
        }
        if (krc == 1) {
            api_err(&rq->err, 400, "Invalid key_name provided.");
            goto out;
        }
    }
    /* Nova's multiple create: max_count servers (at least min_count within
     * the quota), named NAME-1, NAME-2, ... when more than one; the answer
     * is the first one's */
    json_t *minc = json_object_get(b, "min_count"), *maxc = json_object_get(b, "max_count");
    json_int_t min_count = minc ? json_integer_value(minc) : 1;
    json_int_t max_count = maxc ? json_integer_value(maxc) : min_count;
    if (max_count < min_count) {
        api_err(&rq->err, 400, "min_count must be <= max_count");
        goto out;
    }
    if (max_count > 1 &&
        (json_object_get(b, "block_device_mapping_v2") || strcmp(h->driver, "libvirt") == 0)) {
        api_err(&rq->err, 400,
                "Cannot create several servers at once with boot volumes or on a libvirt host "
                "(each is one volume or one existing domain).");
        goto out;
    }
    /* as many as the quota lets, not fewer than min_count (each insert
     * checks its own one again, against concurrent creates) */
    size_t nf;
    const char *flavor_ref = json_string_value(json_object_get(b, "flavorRef"));
    const struct cfg_flavor *fl = flavor_ref ? rest_flavor(cfg, flavor_ref)
                                             : rest_flavors(cfg, &nf); /* checked above */
    while (max_count > min_count && quota_check_servers(rq, rq->auth.project_id, max_count, fl) < 0)
        max_count--;
    if (quota_check_servers(rq, rq->auth.project_id, min_count, fl) < 0)
        goto out;
    memset(&rq->err, 0, sizeof rq->err);
    const char *name = json_string_value(json_object_get(b, "name"));
    struct reg_server s, first;
    for (json_int_t i = 1; i <= max_count; i++) {
        char nm[API_NAME_BYTES];
        if (max_count > 1)
            snprintf(nm, sizeof nm, "%.*s-%lld", API_NAME_BYTES - 24, name, (long long)i);
        else
            snprintf(nm, sizeof nm, "%s", name);
        if (create_one(rq, b, h, nm, ip4, ip6, key_name, fl, &s) < 0) {
            /* past min_count the quota only stops the count short */
            if (i > min_count && rq->err.status == 403) {
                memset(&rq->err, 0, sizeof rq->err);
                break;
            }
            goto out;
        }
        if (i == 1)
            first = s;
    }
    s = first;
    /* return_reservation_id: Nova answers the id of the request's servers
     * instead of the first one */
    if (body_bool(json_object_get(b, "return_reservation_id"))) {
        char res[12] = "r-";
        api_random_hex(res + 2, 4);
        rc = api_reply(rq, 202, json_pack("{s:s}", "reservation_id", res));
        goto out;
    }
    char loc[400];
    snprintf(loc, sizeof loc, "%s/v2.1/servers/%s", rq->ctx->base_url, s.id);
    snprintf(rq->location, sizeof rq->location, "%s", loc);
    rc = api_reply(rq, 202,
                   json_pack("{s:{s:s, s:o, s:s, s:[{s:s}]}}", "server", "id", s.id, "links",
                             server_links(rq, s.id), "OS-DCF:diskConfig",
                             json_object_get(b, "OS-DCF:diskConfig")
                                 ? json_string_value(json_object_get(b, "OS-DCF:diskConfig"))
                                 : "MANUAL",
                             "security_groups", "name", "default"));
out:
    return rc;
}

/* POST /servers/{id}/action: lock and unlock (Nova's os-lock-server). A
 * locked server refuses attach, detach and swap from non-admins (409). */
/* Nova's power actions: the states Nova keeps and the instance action it
 * records. On a host whose driver acts on the guest (libvirt) the API's
 * task_state is set and the action carried out after the 202 (swap layer,
 * power.c), as Nova's compute manager does after its RPC cast; a
 * registered consumer has no guest, and takes the end states at once.
 * FROM lists the vm_states each one starts from (Nova's
 * check_instance_state); a hard reboot starts from more of them. */
static const struct power_action {
    const char *name, *rule, *action, *event, *to_vm_state, *to_status;
    const char *from[3];
} power_actions[] = {
    { "os-stop",
      "os_compute_api:servers:stop",
      "stop",
      "compute_stop_instance",
      "stopped",
      "SHUTOFF",
      { "active", "error", NULL } },
    { "os-start",
      "os_compute_api:servers:start",
      "start",
      "compute_start_instance",
      "active",
      "ACTIVE",
      { "stopped", NULL } },
    { "reboot",
      "os_compute_api:servers:reboot",
      "reboot",
      "compute_reboot_instance",
      "active",
      "ACTIVE",
      { "active", NULL } },
};

static int power_action(struct api_request *rq, struct reg_server *s, const struct power_action *p,
                        json_t *arg)
{
    bool hard = false;
    if (strcmp(p->name, "reboot") == 0) {
        const char *type = json_string_value(json_object_get(arg, "type"));
        if (!json_is_object(arg) || json_object_size(arg) != 1 || !type ||
            (strcasecmp(type, "SOFT") && strcasecmp(type, "HARD")))
            return api_err(&rq->err, 400,
                           "Invalid input for field/attribute reboot. Value: %.64s. 'type' must "
                           "be one of ['HARD', 'Hard', 'SOFT', 'Soft']",
                           type ? type : "(none)");
        hard = strcasecmp(type, "HARD") == 0;
    } else if (!json_is_null(arg) && !json_is_object(arg)) {
        /* Nova reads nothing of os-stop's and os-start's argument */
        return api_err(&rq->err, 400, "Invalid input for field/attribute %s.", p->name);
    }
    if (policy_check(&rq->auth, p->rule, s->project_id, &rq->err) < 0)
        return -1;
    if (s->locked && !auth_has_role(&rq->auth, "admin"))
        return api_err(&rq->err, 409, "Instance %s is locked", s->id);
    if (s->task_state[0])
        return api_err(&rq->err, 409, "Cannot '%s' instance %s while it is in task_state %s",
                       p->action, s->id, s->task_state);
    bool ok = hard && (!strcmp(s->vm_state, "stopped") || !strcmp(s->vm_state, "error"));
    for (size_t i = 0; !ok && p->from[i]; i++)
        ok = strcmp(s->vm_state, p->from[i]) == 0;
    if (!ok)
        return api_err(&rq->err, 409, "Cannot '%s' instance %s while it is in vm_state %s",
                       p->action, s->id, s->vm_state);
    const struct cfg_host *h = config_host(rq->ctx->cfg, s->host);
    const struct host_driver *drv = h ? host_driver_find(h->driver) : NULL;
    struct reg_action a;
    if (drv && drv->power) {
        enum host_power op = p->name[0] == 'r' ? (hard ? HOST_POWER_REBOOT_HARD
                                                       : HOST_POWER_REBOOT_SOFT)
                             : strcmp(p->name, "os-stop") == 0 ? HOST_POWER_STOP
                                                               : HOST_POWER_START;
        /* the guest's disks are being copied (a shutdown would end the
         * copy), or another power action is still under way */
        if (swap_server_busy(s->id) || swap_power_busy(s->id))
            return api_err(&rq->err, 409,
                           "Cannot '%s' instance %s while a volume swap or another power "
                           "action runs on it",
                           p->action, s->id);
        const char *status = op == HOST_POWER_REBOOT_SOFT   ? "REBOOT"
                             : op == HOST_POWER_REBOOT_HARD ? "HARD_REBOOT"
                                                            : s->status;
        char vm_state[sizeof s->vm_state], st[sizeof s->status];
        snprintf(vm_state, sizeof vm_state, "%s", s->vm_state);
        snprintf(st, sizeof st, "%s", status);
        if (action_start(rq, s->id, p->action, &a) < 0 ||
            nova_set_server_states(rq, s->id, vm_state, st, swap_power_task_state(op)) < 0)
            return -1;
        if (swap_power_launch(s->id, s->host, a.request_id, op, &rq->err) < 0) {
            struct api_error keep = rq->err;
            nova_set_server_states(rq, s->id, vm_state, s->status, "");
            rq->err = keep;
            return -1;
        }
        return api_reply(rq, 202, NULL);
    }
    if (action_start(rq, s->id, p->action, &a) < 0 ||
        nova_set_server_states(rq, s->id, p->to_vm_state, p->to_status, "") < 0)
        return -1;
    action_event(rq, &a, p->event, s->host, a.start_time, true, NULL);
    return api_reply(rq, 202, NULL);
}

/* Nova's rebuild, as volswap models a server: a registered consumer has
 * no root disk of an image to rewrite, so a rebuild records the new image
 * (which the caller must be able to use, and active), the name and
 * metadata it may bring, and the instance action; the server is ACTIVE
 * again at once (Nova's REBUILD state lasts as long as the guest's
 * re-creation, which here is nothing). 202 with the server's view. */
static int server_rebuild(struct api_request *rq, struct reg_server *s, json_t *arg)
{
    const char *image = json_string_value(json_object_get(arg, "imageRef"));
    if (!json_is_object(arg) || !image)
        return api_err(&rq->err, 400,
                       "Invalid input for field/attribute rebuild. 'imageRef' is a required "
                       "property");
    json_t *name = json_object_get(arg, "name"), *md = json_object_get(arg, "metadata");
    if (name && (!json_is_string(name) || json_string_length(name) == 0 ||
                 vs_utf8_len(json_string_value(name)) > 255))
        return api_err(&rq->err, 400, "Invalid input for field/attribute name.");
    /* Nova rebuilds an active, stopped or errored server; an errored one
     * is active again after it */
    bool errored = strcmp(s->vm_state, "error") == 0 && !s->task_state[0] &&
                   !(s->locked && !auth_has_role(&rq->auth, "admin"));
    if (policy_check(&rq->auth, "os_compute_api:servers:rebuild", s->project_id, &rq->err) < 0 ||
        (!errored && nova_check_server_state(rq, s, "rebuild") < 0))
        return -1;
    if (errored) {
        snprintf(s->vm_state, sizeof s->vm_state, "active");
        snprintf(s->status, sizeof s->status, "ACTIVE");
    }
    struct reg_image im;
    if (image_usable(rq->ctx->reg, &rq->auth, image, &im, &rq->err) < 0)
        return -1;
    struct registry *r = rq->ctx->reg;
    {
        REG_TXN(txn, r);
        if (reg_begin(&txn, &rq->err) < 0)
            return -1;
        if (name)
            snprintf(s->name, sizeof s->name, "%s", json_string_value(name));
        api_time_micro(time(NULL), s->updated_at);
        if (r->ops->server_update(r, s) < 0 || store_image_ref(r, s->id, im.id) < 0)
            return reg_fail(&rq->err, r);
        if (json_is_object(md) && api_meta_store(r, REG_META_SERVER, s->id, md, true, &rq->err) < 0)
            return -1;
        if (reg_commit(&txn, &rq->err) < 0)
            return -1;
    }
    struct reg_action a;
    if (action_start(rq, s->id, "rebuild", &a) < 0)
        return -1;
    action_event(rq, &a, "compute_rebuild_instance", s->host, a.start_time, true, NULL);
    json_t *view = server_detail(rq, s);
    if (!nova_mv(rq, 75)) {
        /* until 2.75 Nova answers a rebuild as an update: the server's own
         * fields, without the extensions' */
        const char *k;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(view, tmp, k, v) {
            if (!strncmp(k, "OS-EXT-", 7) || !strncmp(k, "OS-SRV-USG:", 11) ||
                !strcmp(k, "os-extended-volumes:volumes_attached") ||
                !strcmp(k, "security_groups") || (!strcmp(k, "key_name") && !nova_mv(rq, 54)))
                json_object_del(view, k);
        }
    }
    /* 2.57 answers the user data too: none, as a registered consumer has
     * no guest to hand it to */
    if (nova_mv(rq, 57))
        json_object_set_new(view, "user_data", json_null());
    return api_reply(rq, 202, json_pack("{s:o}", "server", view));
}

static int servers_action(struct api_request *rq)
{
    struct reg_server s;
    if (load_server(rq, api_param(rq, "server_id"), &s) < 0)
        return -1;
    if (!rq->body || body_json_depth(rq->body, rq->body_len, API_MAX_DEPTH) > API_MAX_DEPTH)
        return api_err(&rq->err, 400, "Malformed request body");
    json_error_t jerr;
    json_t *doc = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(doc) || json_object_size(doc) != 1) {
        json_decref(doc);
        return api_err(&rq->err, 400, "Malformed request body");
    }
    const char *name = json_object_iter_key(json_object_iter(doc));
    json_t *arg = json_object_iter_value(json_object_iter(doc));
    bool lock = strcmp(name, "lock") == 0, unlock = strcmp(name, "unlock") == 0;
    int rc = -1;
    if (!strcmp(name, "rebuild")) {
        rc = server_rebuild(rq, &s, arg);
        goto out;
    }
    for (size_t i = 0; i < sizeof power_actions / sizeof power_actions[0]; i++) {
        if (strcmp(name, power_actions[i].name) == 0) {
            rc = power_action(rq, &s, &power_actions[i], arg);
            goto out;
        }
    }
    /* os-resetState (admin): Nova's repair of a server's recorded state,
     * active or error, its task cleared; nothing on the host changes */
    if (!strcmp(name, "os-resetState")) {
        const char *st = json_string_value(json_object_get(arg, "state"));
        if (!json_is_object(arg) || json_object_size(arg) != 1 || !st ||
            (strcmp(st, "active") != 0 && strcmp(st, "error") != 0)) {
            api_err(&rq->err, 400,
                    "Invalid input for field/attribute os-resetState. 'state' must be one of "
                    "['active', 'error']");
            goto out;
        }
        if (policy_check(&rq->auth, "os_compute_api:os-admin-actions:reset_state", s.project_id,
                         &rq->err) < 0 ||
            nova_set_server_states(rq, s.id, st, !strcmp(st, "active") ? "ACTIVE" : "ERROR", "") <
                0)
            goto out;
        rc = api_reply(rq, 202, NULL);
        goto out;
    }
    /* restore and forceDelete act on a soft-deleted server: volswap deletes
     * at once (Nova's reclaim_instance_interval 0), so no server is ever
     * SOFT_DELETED and both answer Nova's conflict for the state it is in */
    if (!strcmp(name, "restore") || !strcmp(name, "forceDelete")) {
        if (policy_check(&rq->auth,
                         !strcmp(name, "restore") ? "os_compute_api:os-deferred-delete:restore"
                                                  : "os_compute_api:os-deferred-delete:force",
                         s.project_id, &rq->err) < 0)
            goto out;
        api_err(&rq->err, 409, "Cannot '%s' instance %s while it is in vm_state %s",
                !strcmp(name, "restore") ? "restore" : "force_delete", s.id, s.vm_state);
        goto out;
    }
    if (!lock && !unlock) {
        api_err(&rq->err, 400, "There is no such action: %.64s", name);
        goto out;
    }
    /* lock takes null, or {} / {"locked_reason": "..."} from 2.73; before
     * 2.73 Nova reads nothing of lock's argument, nor ever of unlock's */
    bool arg_ok =
        json_is_null(arg) || unlock || (lock && !nova_mv(rq, 73)) ||
        (lock && json_is_object(arg) &&
         (json_object_size(arg) == 0 ||
          (json_object_size(arg) == 1 && json_is_string(json_object_get(arg, "locked_reason")) &&
           json_string_length(json_object_get(arg, "locked_reason")) <= 255)));
    if (!arg_ok) {
        api_err(&rq->err, 400, "Invalid input for field/attribute %s.", name);
        goto out;
    }
    if (policy_check(&rq->auth,
                     lock ? "os_compute_api:os-lock-server:lock"
                          : "os_compute_api:os-lock-server:unlock",
                     s.project_id, &rq->err) < 0)
        goto out;
    s.locked = lock;
    api_time_micro(time(NULL), s.updated_at);
    struct registry *r = rq->ctx->reg;
    if (r->ops->server_update(r, &s) < 0) {
        reg_fail(&rq->err, r);
        goto out;
    }
    struct reg_action a;
    if (action_start(rq, s.id, lock ? "lock" : "unlock", &a) < 0)
        goto out;
    rc = api_reply(rq, 202, NULL);
out:
    json_decref(doc);
    return rc;
}

/* ---- flavors ---- */

/* The configured flavors (config "flavors"; without it the one flavor
 * "volswap"): a registered consumer has no CPUs or memory here, but the
 * openstack client looks a flavor up before it creates a server, and a
 * server counts its flavor's vCPUs and memory in quotas and limits. */

static json_t *flavor_links(struct api_request *rq, const struct cfg_flavor *f)
{
    char self[400], book[400];
    snprintf(self, sizeof self, "%s/v2.1/flavors/%s", rq->ctx->base_url, f->id);
    snprintf(book, sizeof book, "%s/flavors/%s", rq->ctx->base_url, f->id);
    return json_pack("[{s:s, s:s}, {s:s, s:s}]", "rel", "self", "href", self, "rel", "bookmark",
                     "href", book);
}

static json_t *flavor_view(struct api_request *rq, const struct cfg_flavor *f, bool detail)
{
    json_t *o =
        json_pack("{s:s, s:s, s:o}", "id", f->id, "name", f->name, "links", flavor_links(rq, f));
    if (nova_mv(rq, 55))
        json_object_set_new(o, "description", json_string("a volswap consumer"));
    if (!detail)
        return o;
    json_object_update_new(
        o, json_pack("{s:i, s:i, s:i, s:f, s:b, s:i, s:b}", "vcpus", f->vcpus, "ram", f->ram_mb,
                     "disk", f->disk_gb, "rxtx_factor", 1.0, "os-flavor-access:is_public", 1,
                     "OS-FLV-EXT-DATA:ephemeral", 0, "OS-FLV-DISABLED:disabled", 0));
    /* no swap: Nova says "" until 2.75 and 0 from it */
    json_object_set_new(o, "swap", nova_mv(rq, 75) ? json_integer(0) : json_string(""));
    if (nova_mv(rq, 61))
        json_object_set_new(o, "extra_specs", json_object());
    return o;
}

/* Reads a flavor list's integer argument NAME (minDisk, minRam, limit);
 * -1 when absent, 400 as Nova when it is not a non-negative integer. */
static int flavor_int_arg(struct api_request *rq, const char *name, long *out)
{
    const char *v = api_query(rq, name);
    *out = -1;
    if (!v)
        return 0;
    char *end = NULL;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (!*v || *end || errno || n < 0)
        return api_err(&rq->err, 400, "Invalid input for query parameters %s. Value: %.64s.", name,
                       v);
    *out = n;
    return 0;
}

/* GET /flavors[/detail] with Nova's filters and paging over the
 * configured flavors, in their order: minDisk and minRam (the least disk
 * and memory asked for), is_public (false: private flavors only, of which
 * there are none), marker (the flavors after it; an unknown one is 400)
 * and limit. */
static int flavors_list(struct api_request *rq)
{
    bool detail = detail_route(rq);
    long min_disk, min_ram, limit;
    if (flavor_int_arg(rq, "minDisk", &min_disk) < 0 ||
        flavor_int_arg(rq, "minRam", &min_ram) < 0 || flavor_int_arg(rq, "limit", &limit) < 0)
        return -1;
    size_t n, start = 0;
    const struct cfg_flavor *fl = rest_flavors(rq->ctx->cfg, &n);
    const char *marker = api_query(rq, "marker");
    if (marker) {
        while (start < n && strcmp(fl[start].id, marker) != 0)
            start++;
        if (start == n)
            return api_err(&rq->err, 400, "marker [%.64s] not found", marker);
        start++;
    }
    const char *pub = api_query(rq, "is_public");
    bool private_only = pub && strcasecmp(pub, "none") != 0 && !api_truthy(pub);
    json_t *arr = json_array();
    const struct cfg_flavor *last = NULL;
    for (size_t i = start; i < n && !private_only; i++) {
        if (limit >= 0 && json_array_size(arr) >= (size_t)limit)
            break;
        if ((min_disk > 0 && fl[i].disk_gb < min_disk) || (min_ram > 0 && fl[i].ram_mb < min_ram))
            continue;
        json_array_append_new(arr, flavor_view(rq, &fl[i], detail));
        last = &fl[i];
    }
    json_t *out = json_pack("{s:o}", "flavors", arr);
    /* a full page links to the next, as Nova's */
    if (last && limit > 0 && json_array_size(arr) == (size_t)limit) {
        char href[700];
        snprintf(href, sizeof href, "%s/v2.1/flavors%s?limit=%ld&marker=%s", rq->ctx->base_url,
                 detail ? "/detail" : "", limit, last->id);
        json_object_set_new(out, "flavors_links",
                            json_pack("[{s:s, s:s}]", "rel", "next", "href", href));
    }
    return api_reply(rq, 200, out);
}

static int flavors_show(struct api_request *rq)
{
    const struct cfg_flavor *f = rest_flavor(rq->ctx->cfg, api_param(rq, "flavor_id"));
    if (!f)
        return api_err(&rq->err, 404, "Flavor %.64s could not be found.",
                       api_param(rq, "flavor_id"));
    return api_reply(rq, 200, json_pack("{s:o}", "flavor", flavor_view(rq, f, true)));
}

static int flavors_extra_specs(struct api_request *rq)
{
    if (!rest_flavor(rq->ctx->cfg, api_param(rq, "flavor_id")))
        return api_err(&rq->err, 404, "Flavor %.64s could not be found.",
                       api_param(rq, "flavor_id"));
    return api_reply(rq, 200, json_pack("{s:{}}", "extra_specs"));
}

/* GET /os-availability-zone: servers are all in "nova" (a host is picked
 * with "nova:HOST" at create). */
static int nova_zones(struct api_request *rq)
{
    return api_reply(rq, 200,
                     json_pack("{s:[{s:s, s:{s:b}, s:n}]}", "availabilityZoneInfo", "zoneName",
                               "nova", "zoneState", "available", 1, "hosts"));
}

/* The admin's detail adds each host with its compute service. */
static int nova_zones_detail(struct api_request *rq)
{
    const struct api_config *cfg = rq->ctx->cfg;
    json_t *hosts = json_object();
    char now[32];
    api_time_micro(time(NULL), now);
    for (size_t h = 0; h < cfg->n_hosts; h++)
        json_object_set_new(hosts, cfg->hosts[h].name,
                            json_pack("{s:{s:b, s:b, s:s}}", "nova-compute", "available", 1,
                                      "active", 1, "updated_at", now));
    return api_reply(rq, 200,
                     json_pack("{s:[{s:s, s:{s:b}, s:o}]}", "availabilityZoneInfo", "zoneName",
                               "nova", "zoneState", "available", 1, "hosts", hosts));
}

/* GET /os-services (admin): a nova-compute service per configured host,
 * up when the host's daemon answers query-version on its monitor now
 * (within 2 s), down otherwise. The check is made at each request, so
 * updated_at is its time. */
static int nova_services(struct api_request *rq)
{
    const struct api_config *cfg = rq->ctx->cfg;
    const char *want_host = api_query(rq, "host"), *want_bin = api_query(rq, "binary");
    json_t *arr = json_array();
    char now[32];
    bool *want = calloc(cfg->n_hosts + 1, sizeof *want), *ups = calloc(cfg->n_hosts + 1, 1);
    for (size_t h = 0; want && h < cfg->n_hosts; h++)
        want[h] = !(want_host && strcmp(want_host, cfg->hosts[h].name) != 0) &&
                  !(want_bin && strcmp(want_bin, "nova-compute") != 0);
    /* every host at once: a list with hosts down takes one probe timeout */
    if (want && ups)
        host_probe_all(cfg, want, ups, NULL);
    for (size_t h = 0; h < cfg->n_hosts; h++) {
        if (!want || !want[h])
            continue;
        bool up = ups ? ups[h] : host_probe(&cfg->hosts[h], NULL) == 0;
        api_time_micro(time(NULL), now);
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:n}", "binary", "nova-compute", "host",
                              cfg->hosts[h].name, "zone", "nova", "status", "enabled", "state",
                              up ? "up" : "down", "disabled_reason");
        json_object_set_new(o, "updated_at", json_string(now));
        if (nova_mv(rq, 53)) {
            char id[37];
            nova_service_uuid(cfg->hosts[h].name, id);
            json_object_set_new(o, "id", json_string(id));
        } else {
            json_object_set_new(o, "id", json_integer((json_int_t)h + 1));
        }
        if (nova_mv(rq, 11))
            json_object_set_new(o, "forced_down", json_false());
        json_array_append_new(arr, o);
    }
    free(want);
    free(ups);
    return api_reply(rq, 200, json_pack("{s:o}", "services", arr));
}

/* A server's end, as Nova's soft delete: the row stays, vm_state deleted. */
static int mark_deleted(struct api_request *rq, const char *server_id)
{
    return nova_set_server_states(rq, server_id, "deleted", "DELETED", "");
}

/* Detaches every disk of server S for its delete; with DESTROY_DOT a volume
 * attached with delete_on_termination is then deleted, and a failure to delete it is
 * logged and leaves it, as Nova's _cleanup_volumes does. An attachment a
 * user's own detach holds meanwhile is left to it, and looked at again in
 * the next round; an attach cannot add one, because S is "deleting". */
static int detach_all(struct api_request *rq, const struct reg_server *s, const struct cfg_host *h,
                      bool destroy_dot)
{
    struct registry *r = rq->ctx->reg;
    for (int round = 0; round < 50; round++) {
        struct reg_attachment *atts = NULL;
        size_t n = 0;
        if (r->ops->attachment_list(r, s->id, &atts, &n) < 0)
            return reg_fail(&rq->err, r);
        if (n == 0)
            return 0;
        if (!h || !host_driver_find(h->driver)) {
            free(atts);
            return api_err(&rq->err, 409, "Compute host %s of instance %s is not configured.",
                           s->host, s->id);
        }
        bool held = false;
        for (size_t i = 0; i < n; i++) {
            struct api_error terr = { 0 };
            if (vol_transition_apply(r, atts[i].volume_id, VT_BEGIN_DETACHING, false, NULL, &terr) <
                0) {
                held = true; /* a detach of it is under way */
                continue;
            }
            if (nova_detach_detaching(rq, h, &atts[i]) < 0) {
                free(atts);
                return -1;
            }
            struct api_error derr = { 0 };
            if (destroy_dot && atts[i].delete_on_termination &&
                volume_destroy(rq->ctx, atts[i].volume_id, &derr) < 0)
                vs_warn("delete of server %s: volume %s (delete_on_termination) not deleted: %s",
                        s->id, atts[i].volume_id, derr.msg);
        }
        free(atts);
        if (held)
            usleep(100 * 1000);
    }
    return api_err(&rq->err, 409,
                   "Cannot 'delete' instance %s while a volume of it is being "
                   "detached",
                   s->id);
}

/* DELETE /servers/{id}: Nova's delete, done before the answer. Nova's API
 * answers 204 and its compute manager tears the instance down afterwards;
 * here nothing runs but the server's disks, so they are detached first:
 * each export is removed and its node closed on the host, each volume goes
 * back to available, and one attached with delete_on_termination is
 * deleted. The record stays, as Nova's soft-deleted row does (vm_state
 * "deleted"): GET answers 404, the instance actions stay readable from
 * 2.21, and an admin lists it with ?deleted=true.
 *   A swap of the server that runs or is unfinished refuses the delete
 * (409): the mirror's target is not the server's disk yet. A failed detach
 * keeps the server, with the disks not yet detached, and clears its
 * task_state, so the delete can be asked again. */
static int servers_delete(struct api_request *rq)
{
    struct reg_server s;
    if (load_server(rq, api_param(rq, "server_id"), &s) < 0 || api_authorize(rq, s.project_id) < 0)
        return -1;
    if (s.locked && !auth_has_role(&rq->auth, "admin"))
        return api_err(&rq->err, 409, "Instance %s is locked", s.id);
    if (swap_claim_for_delete(rq, s.id) < 0)
        return -1;
    struct reg_action act;
    if (action_start(rq, s.id, "delete", &act) < 0)
        goto undo;
    char ev_start[32];
    api_time_micro(time(NULL), ev_start);
    if (detach_all(rq, &s, config_host(rq->ctx->cfg, s.host), true) < 0 ||
        mark_deleted(rq, s.id) < 0) {
        action_event(rq, &act, "compute_terminate_instance", s.host, ev_start, false, rq->err.msg);
        goto undo;
    }
    action_event(rq, &act, "compute_terminate_instance", s.host, ev_start, true, NULL);
    swap_release_delete(s.id);
    return api_reply(rq, 204, NULL);
undo : {
    struct api_error keep = rq->err;
    nova_set_task_state(rq, s.id, "");
    rq->err = keep;
}
    swap_release_delete(s.id);
    return -1;
}

/* The compute routes, each declared once. Nova answers at the root and
 * under /v2.1; every call but the version documents needs a token. */
#define NOVA(m, p, fn, rule, at, target, schema, lo, hi, doc)              \
    {                                                                      \
        m, p, SVC_COMPUTE, true, rule, at, target, schema, lo, hi, fn, doc \
    }
#define NOVA_OPEN(m, p, fn, doc)                                                   \
    {                                                                              \
        m, p, SVC_COMPUTE, false, NULL, API_POLICY_NONE, NULL, NULL, 0, 0, fn, doc \
    }
#define DOOR     API_POLICY_DOOR
#define RESOURCE API_POLICY_RESOURCE
#define HANDLER  API_POLICY_HANDLER
#define CMP      "os_compute_api:"
#define ATT      CMP "os-volumes-attachments:"
#define META     CMP "server-metadata:"
#define QUOTA    CMP "os-quota-sets:"
#define HYP      CMP "os-hypervisors:"

const struct api_route nova_routes[] = {
    NOVA_OPEN("GET", "/", nova_versions,
              "version documents with `min_version` and `version` (no token)"),
    NOVA_OPEN("GET", "/v2.1", nova_version, "the v2.1 version document (no token)"),
    NOVA_OPEN("GET", "/v2", nova_version_v20,
              "the v2.0 version document that `GET /` lists first, as Nova's (no token)"),
    NOVA(
        "GET", "/v2.1/servers", servers_list, CMP "servers:index", DOOR, NULL, NULL, 0, 0,
        "`?name=REGEX` (Nova's regex filter: a subset of Python's `re`, linear in time, see below), `?all_tenants=1` (admin), "
        "`?deleted=true` (admin: the deleted servers only, status `DELETED`); Nova's filters "
        "`status` (an unknown one: an empty list, 400 from 2.38), `flavor`, `image`, "
        "`changes-since` (ISO 8601; deleted servers included), `host` (admin), `tenant_id` or "
        "`project_id` (with `all_tenants`); newest first, `sort_key`/`sort_dir`, `limit` and "
        "`marker` (unknown: 400), a full page ending with `servers_links` `next`"),
    NOVA(
        "POST", "/v2.1/servers", servers_create, CMP "servers:create", DOOR, "@caller",
        &schema_server_create, 0, 0,
        "`{\"server\": {\"name\", \"availability_zone\": \"zone:host\"?, \"host\"? (2.74, admin), "
        "\"imageRef\"?, \"flavorRef\"?, \"metadata\"?, \"min_count\"?, \"max_count\"?, "
        "\"networks\"?, \"block_device_mapping_v2\"?, \"accessIPv4\"?, \"accessIPv6\"?, "
        "\"adminPass\"?, \"key_name\"?, \"OS-DCF:diskConfig\"?}, \"os:scheduler_hints\"?}` "
        "registers a consumer on a host (202, `Location`); `min_count`/`max_count` register "
        "up to max_count servers named NAME-1… (as many as the quota lets, at least "
        "min_count, else 403; not with boot volumes or on a libvirt host) and answer the "
        "first (`return_reservation_id`: a `reservation_id`); `OS-DCF:diskConfig` (AUTO or MANUAL) is recorded and shown; the hints "
        "`same_host` and `different_host` choose the host (none left: 400), other hints are "
        "ignored as Nova ignores a hint whose filter is off; `flavorRef` one of the configured "
        "flavors (the first when absent; another is 400), recorded and shown, the server counting "
        "its vCPUs and memory in quotas; an image whose `min_ram` exceeds the flavor's memory is "
        "400; "
        "`key_name` names one of the caller's key pairs, recorded and shown; `imageRef` an "
        "active image the caller may use, recorded and shown as the server's image; nothing is "
        "launched, the server is ACTIVE at once. The access addresses (an address of their "
        "family) are shown by the server's views (`\"\"` when not given); `adminPass` is taken "
        "and neither used nor shown, as Nova with `enable_instance_password` off: there is no "
        "guest to set it in. Booting from volumes, "
        "as `openstack server create --flavor volswap --volume V` sends it: one server, `networks` \"none\"/\"auto\" "
        "(or absent); each `block_device_mapping_v2` entry an existing available volume of the "
        "caller on the server's host (`source_type` and `destination_type` volume), the boot "
        "volume (`boot_index` 0) bootable as Cinder says (made from an image, or marked with "
        "`os-set_bootable`: a blank volume is not, 400 \"Block Device V is not bootable.\" as "
        "Nova). They are "
        "checked before anything is made (400 otherwise), then attached: the boot volume "
        "(`boot_index` 0) as `/dev/vda`, the rest at the next free names. A failed attach "
        "detaches the others, leaves no server and deletes no volume"),
    NOVA("GET", "/v2.1/servers/detail", servers_list, CMP "servers:detail", DOOR, NULL, NULL, 0,
         0, "the detail view of every server, with the filters of `GET /v2.1/servers`"),
    NOVA("GET", "/v2.1/servers/{server_id}", servers_show, CMP "servers:show", RESOURCE, NULL, NULL,
         0, 0,
         "detail view; `locked` (2.9), `description` (2.19), `tags` (2.26), flavor (2.47), "
         "`locked_reason` (2.73); host attributes for admin"),
    NOVA("GET", "/v2.1/os-keypairs", nova_keypairs_index, CMP "os-keypairs:index", DOOR, NULL, NULL,
         0, 0,
         "the caller's key pairs (`name`, `public_key`, `fingerprint`, `type` from 2.2); an "
         "admin's `?user_id=` another user's (2.10); `limit` and `marker` (a name) from 2.35"),
    NOVA(
        "POST", "/v2.1/os-keypairs", nova_keypairs_create, CMP "os-keypairs:create", DOOR, NULL,
        &schema_keypair_create, 0, 0,
        "`{\"keypair\": {\"name\", \"public_key\"?, \"type\"? (2.2: `ssh`, `x509`), "
        "\"user_id\"? (2.10, admin)}}` → 200 (201 from 2.2): an OpenSSH public key or a PEM "
        "certificate is checked and fingerprinted (MD5 of the key, SHA-1 of the certificate); "
        "without one an RSA 2048 pair is generated and its `private_key` answered once, never "
        "kept (until 2.92; for x509 a self-signed certificate is made); a name the user has is 409"),
    NOVA("GET", "/v2.1/os-keypairs/{keypair_name}", nova_keypairs_show, CMP "os-keypairs:show",
         DOOR, NULL, NULL, 0, 0, "with `user_id`, `id`, `created_at`; 404 for another user's"),
    NOVA("DELETE", "/v2.1/os-keypairs/{keypair_name}", nova_keypairs_delete,
         CMP "os-keypairs:delete", DOOR, NULL, NULL, 0, 0, "202 (204 from 2.2)"),
    NOVA("PUT", "/v2.1/servers/{server_id}", servers_update, CMP "servers:update", RESOURCE, NULL,
         &schema_server_update, 0, 0,
         "`{\"server\": {\"name\"?, \"accessIPv4\"?, \"accessIPv6\"?, \"description\"? (2.19)}}` "
         "→ 200 with the detail view; a name is 1 to 255 characters without white space at "
         "either end (also in `POST /servers`)"),
    NOVA("GET", "/v2.1/servers/{server_id}/ips", servers_ips, CMP "ips:index", RESOURCE, NULL, NULL,
         0, 0, "`{\"addresses\": {}}`: a registered consumer has no ports (no network service)"),
    NOVA("GET", "/v2.1/servers/{server_id}/ips/{network_label}", servers_ips_show, CMP "ips:show",
         RESOURCE, NULL, NULL, 0, 0,
         "404 \"Instance is not a member of specified network\": the server is on none"),
    NOVA("DELETE", "/v2.1/servers/{server_id}", servers_delete, CMP "servers:delete", RESOURCE,
         NULL, NULL, 0, 0,
         "Nova's delete, finished before the answer (204, no body): every disk is detached on the "
         "host (export removed, node closed) and its volume is available again; a volume attached "
         "with `delete_on_termination` is then deleted. 409 while the server is locked "
         "(non-admins), while a swap of it runs or is unfinished, or while another delete of it "
         "runs. The record stays, as Nova's soft-deleted row does: `GET` is 404, its instance "
         "actions stay readable from 2.21. A delete cut short by a crash leaves task_state "
         "`deleting` (attach, detach and swap refuse with 409); asking again finishes it"),
    NOVA("POST", "/v2.1/servers/{server_id}/action", servers_action, CMP "os-lock-server:lock",
         HANDLER, NULL, NULL, 0, 0,
         "`{\"lock\": null}` (or `{\"locked_reason\": …}` from 2.73, rule `lock`) and "
         "`{\"unlock\": null}` (rule `unlock`) → 202; a locked server refuses attach, detach and "
         "swap from non-admins (409 \"Instance X is locked\"). `{\"rebuild\": {\"imageRef\", "
         "\"name\"?, \"metadata\"?}}` (rule `servers:rebuild`) → 202 with the server: the new "
         "image (active, usable by the caller) recorded and shown, the action `rebuild`; a "
         "registered consumer has no disk made from it. `{\"os-stop\": null}`, "
         "`{\"os-start\": null}`, `{\"reboot\": {\"type\": \"SOFT\"|\"HARD\"}}` (rules "
         "`servers:stop`, `start`, `reboot`) → 202: the states Nova keeps (stopped: `SHUTOFF`, "
         "power state 4) and the instance actions it records, from the states Nova allows (409 "
         "otherwise). On a libvirt host the domain is acted on after the 202: task_state "
         "`powering-off`, `powering-on`, `rebooting` or `rebooting_hard` until it is done, a "
         "clean shutdown (ACPI) forced after the host's `shutdown_timeout`, the event "
         "`compute_stop_instance`, `compute_start_instance` or `compute_reboot_instance` "
         "(Error and the guest's real power state when it fails); 409 while a swap of it runs. "
         "A registered consumer has no guest: it takes the end states at once. "
         "`{\"os-resetState\": {\"state\": \"active\"|\"error\"}}` (admin) → 202: the states "
         "set, the task cleared; a rebuild takes an errored server back to ACTIVE. "
         "`{\"restore\"|\"forceDelete\": null}` → 409: volswap deletes at once (Nova's "
         "`reclaim_instance_interval` 0), so no server is ever soft-deleted"),
    NOVA("GET", "/v2.1/servers/{server_id}/metadata", api_metadata, META "index", RESOURCE, NULL,
         NULL, 0, 0, "`{\"metadata\": {…}}`"),
    NOVA("POST", "/v2.1/servers/{server_id}/metadata", api_metadata, META "create", RESOURCE,
         NULL, &schema_server_metadata, 0, 0,
         "`{\"metadata\": {…}}` merged into the items → 200 with them all; keys are 1–255 of "
         "`[A-Za-z0-9-_:. ]`, values strings of at most 255; more than 128 items is 403 "
         "\"Maximum number of metadata items exceeds 128\"; a locked server refuses non-admins "
         "(409)"),
    NOVA("PUT", "/v2.1/servers/{server_id}/metadata", api_metadata, META "update_all",
         RESOURCE, NULL, &schema_server_metadata, 0, 0,
         "`{\"metadata\": {…}}` replacing the items, with the rules of the POST"),
    NOVA("GET", "/v2.1/servers/{server_id}/metadata/{key}", api_metadata, META "show", RESOURCE,
         NULL, NULL, 0, 0, "`{\"meta\": {key: value}}`, or 404 \"Metadata item was not found\""),
    NOVA("PUT", "/v2.1/servers/{server_id}/metadata/{key}", api_metadata, META "update",
         RESOURCE, NULL, &schema_server_meta_item, 0, 0,
         "`{\"meta\": {key: value}}` → 200; 400 \"Request body and URI mismatch\" or \"Request "
         "body contains too many items\""),
    NOVA("DELETE", "/v2.1/servers/{server_id}/metadata/{key}", api_metadata, META "delete",
         RESOURCE, NULL, NULL, 0, 0, "204"),
    NOVA("GET", "/v2.1/servers/{server_id}/os-volume_attachments", nova_attachments_index,
         ATT "index", RESOURCE, NULL, NULL, 0, 0, "list; `?limit&offset`"),
    NOVA("POST", "/v2.1/servers/{server_id}/os-volume_attachments", nova_attachments_create,
         ATT "create", RESOURCE, NULL, &schema_attachment_create, 0, 0,
         "`{\"volumeAttachment\": {\"volumeId\", \"device\"?, \"tag\"? (2.49), "
         "\"delete_on_termination\"? (2.79)}}` → 200"),
    NOVA("GET", "/v2.1/servers/{server_id}/os-volume_attachments/{volume_id}",
         nova_attachments_show, ATT "show", RESOURCE, NULL, NULL, 0, 0, "show"),
    NOVA("PUT", "/v2.1/servers/{server_id}/os-volume_attachments/{volume_id}",
         nova_attachments_update, ATT "swap", HANDLER, NULL, &schema_attachment_update, 0, 0,
         "`{\"volumeAttachment\": {\"volumeId\": NEW}}`: the live swap (202, no body; rule "
         "`swap`), or from 2.85 with the same id a `delete_on_termination` update (rule "
         "`update`); see docs/swap.md"),
    NOVA("DELETE", "/v2.1/servers/{server_id}/os-volume_attachments/{volume_id}",
         nova_attachments_delete, ATT "delete", RESOURCE, NULL, NULL, 0, 0, "202"),
    NOVA("GET", "/v2.1/servers/{server_id}/os-volume_attachments/{volume_id}/swap-progress",
         nova_swap_progress, ATT "show", RESOURCE, NULL, NULL, 0, 0,
         "volswap extension: phase, bytes, rate, ETA, pivot pause of the running (or last) swap; "
         "see docs/swap.md"),
    NOVA("GET", "/v2.1/os-volume-swaps/{swap_id}/report", nova_swap_report, ATT "show", HANDLER,
         NULL, NULL, 0, 0,
         "volswap extension: a swap's record and the series its worker sampled every 100 ms "
         "(`columns` `t_ms`, `copied_bytes`, `dirty_bytes`, `rate_bytes_per_second`, "
         "`consumer_latency_us`; `ready_ms`, `pivot_start_ms`, `pivot_end_ms`), what `volswap "
         "swap-report` draws; the swap id is the request id of its PUT; 404 for another "
         "project's"),
    NOVA("GET", "/v2.1/os-services", nova_services, CMP "os-services:list", DOOR, NULL, NULL, 0, 0,
         "`?host&binary`; a `nova-compute` service per host, `up` when the host's daemon answers "
         "`query-version` on its monitor at the time of the request (within 2 s, through a "
         "running swap's session when one holds it), `down` otherwise; ids are UUIDs from 2.53, "
         "`forced_down` from 2.11"),
    NOVA("GET", "/v2.1/limits", nova_limits, CMP "limits", HANDLER, NULL, NULL, 0, 0,
         "`?tenant_id` (another project's: rule `limits:other_project`); absolute limits of the "
         "project: its instance, core and RAM quotas (-1 when unset), the 128 metadata items "
         "(`maxServerMeta`, `maxImageMeta`), -1 for the rest; `totalInstancesUsed` counts the "
         "project's servers, `totalCoresUsed`/`totalRAMUsed` their flavors' vCPUs and memory "
         "each; network fields until 2.35, personality until 2.56 (`nova limits`, `openstack "
         "limits show --absolute`)"),
    NOVA("GET", "/v2.1/os-quota-sets/{project_id}", nova_quotas_show, QUOTA "show", DOOR,
         "project_id", NULL, 0, 0,
         "quotas, enforced: `instances`, `cores` and `ram` (a server counts its flavor's vCPUs "
         "and memory) are checked when a server is created (Nova's 403 \"Quota exceeded for "
         "instances: Requested 1, but already used N of L instances\"), inside the transaction "
         "that inserts it; `metadata_items` bounds a server's metadata (403 beyond it), "
         "`key_pairs` each user's key pairs (403 \"Quota exceeded, too many key pairs.\"); "
         "each is the class `default`'s until an admin sets one (-1, unlimited, and 128 metadata "
         "items until then). The other names (server groups, fixed IPs, file injection, …) count "
         "what volswap never holds: stored and shown, they cannot bind (`nova quota-show`, "
         "`openstack quota show`)"),
    NOVA("GET", "/v2.1/os-quota-sets/{project_id}/detail", nova_quotas_detail, QUOTA "detail", DOOR,
         "project_id", NULL, 0, 0, "the quotas with `in_use`"),
    NOVA("GET", "/v2.1/os-quota-sets/{project_id}/defaults", nova_quotas_defaults, QUOTA "defaults",
         DOOR, "project_id", NULL, 0, 0, "the default quotas"),
    NOVA("PUT", "/v2.1/os-quota-sets/{project_id}", nova_quotas_update, QUOTA "update", DOOR,
         "project_id", &schema_nova_quota_set, 0, 0,
         "sets limits (below what is used only with `force`); a name this microversion does not "
         "show (the network ones from 2.36, file injection from 2.57) is 400 (`openstack quota "
         "set`)"),
    NOVA("DELETE", "/v2.1/os-quota-sets/{project_id}", nova_quotas_delete, QUOTA "delete", DOOR,
         "project_id", NULL, 0, 0, "202: back to the defaults (the class `default`'s)"),
    NOVA("GET", "/v2.1/os-quota-class-sets/{id}", nova_quota_class_show,
         CMP "os-quota-class-sets:show", DOOR, NULL, NULL, 0, 0,
         "the class `default` (another name: 404): the limits a project has until an admin sets "
         "its own, -1 (unlimited) and `metadata_items` 128 until set; the network names until "
         "2.49, the server group ones from 2.50, file injection until 2.56"),
    NOVA("PUT", "/v2.1/os-quota-class-sets/{id}", nova_quota_class_update,
         CMP "os-quota-class-sets:update", DOOR, NULL, &schema_nova_quota_class_set, 0, 0,
         "`{\"quota_class_set\": {…}}`: new defaults for every project (what a project set "
         "itself stays), enforced as a project's own limits; a name this microversion does not "
         "show is 400 (`nova quota-class-update`, `openstack quota set --class default`)"),
    NOVA("GET", "/v2.1/os-hypervisors", nova_hypervisors_index, HYP "list", DOOR, NULL, NULL, 0, 0,
         "`?hypervisor_hostname_pattern`; each host is a hypervisor (`hypervisor_type` "
         "`volswapd` or `QEMU`), `up` as in os-services; ids integers, UUIDs from 2.53"),
    NOVA("GET", "/v2.1/os-hypervisors/detail", nova_hypervisors_detail, HYP "list-detail", DOOR,
         NULL, NULL, 0, 0,
         "`hypervisor_version` is its daemon's `query-version` in Nova's encoding (7.2.0: "
         "7002000), `running_vms` its servers; before 2.88 `local_gb`/`free_disk_gb` from its "
         "pools and `local_gb_used` from its volumes, vCPUs and memory the flavor's per server, "
         "`cpu_info` `\"{}\"` (a string) until 2.28 and `{}` from it"),
    NOVA("GET", "/v2.1/os-hypervisors/statistics", nova_hypervisors_statistics, HYP "statistics",
         DOOR, NULL, NULL, 0, 87,
         "the detail views' figures summed over the hosts, and their `count`"),
    NOVA("GET", "/v2.1/os-hypervisors/{pattern}/servers", nova_hypervisors_servers, HYP "servers",
         DOOR, NULL, NULL, 0, 52,
         "the hypervisors whose name contains the pattern, each with its servers (`name`, "
         "`uuid`; the key absent when none); 404 when no name matches"),
    NOVA("GET", "/v2.1/os-hypervisors/{hypervisor_id}", nova_hypervisors_show, HYP "show", DOOR,
         NULL, NULL, 0, 0, "one hypervisor, the detail view"),
    NOVA("GET", "/v2.1/os-hypervisors/{pattern}/search", nova_hypervisors_search, HYP "search",
         DOOR, NULL, NULL, 0, 52, "the hypervisors whose name contains the pattern"),
    NOVA("GET", "/v2.1/os-hypervisors/{hypervisor_id}/uptime", nova_hypervisors_uptime,
         HYP "uptime", DOOR, NULL, NULL, 0, 87,
         "the hypervisor with `uptime`, uptime(1)'s line for a volswapd host (\" 08:32:11 up 3 "
         "days,  2:05,  load average: 0.20, 0.12, 0.14\": the host's clock, how long its "
         "volswapd has run, the host's load); from 2.88 the detail views carry it (null when "
         "unknown). Nova's 501 for a driver that cannot tell (QEMU, libvirt), 400 when the "
         "host's daemon does not answer"),
    NOVA("GET", "/v2.1/os-aggregates", nova_aggregates_index, CMP "os-aggregates:index", DOOR, NULL,
         NULL, 0, 0, "empty: no host aggregates"),
    NOVA("GET", "/v2.1/os-availability-zone", nova_zones, NULL, API_POLICY_NONE, NULL, NULL, 0, 0,
         "the one zone, `nova`; `openstack availability zone list` needs `--compute --volume`, "
         "as there is no network service"),
    NOVA("GET", "/v2.1/os-availability-zone/detail", nova_zones_detail,
         CMP "os-availability-zone:detail", DOOR, NULL, NULL, 0, 0,
         "the zone with its hosts and their compute services"),
    NOVA("GET", "/v2.1/flavors", flavors_list, CMP "flavors:list", DOOR, NULL, NULL, 0, 0,
         "the configured flavors (config `flavors`; without it the one flavor `volswap`: 1 "
         "vCPU, 512 MiB, no disk), in their order: a consumer has none of these here, but "
         "clients look a flavor up before they create a server, and a server counts its "
         "flavor's vCPUs and memory in quotas and limits; `minDisk`, `minRam`, `is_public`, "
         "`limit` and `marker` (an unknown one: 400) as Nova's"),
    NOVA("GET", "/v2.1/flavors/detail", flavors_list, CMP "flavors:list", DOOR, NULL, NULL, 0, 0,
         "the flavors, detail view"),
    NOVA("GET", "/v2.1/flavors/{flavor_id}", flavors_show, CMP "flavors:show", DOOR, NULL, NULL, 0,
         0, "one flavor, or 404"),
    NOVA("GET", "/v2.1/flavors/{flavor_id}/os-extra_specs", flavors_extra_specs,
         CMP "os-flavor-extra-specs:index", DOOR, NULL, NULL, 0, 0, "none"),
    NOVA("GET", "/v2.1/servers/{server_id}/os-instance-actions", nova_actions_index,
         CMP "os-instance-actions:list", RESOURCE, NULL, NULL, 0, 0,
         "actions `create`, `attach_volume`, `detach_volume`, `lock`, `unlock`, `delete`, "
         "`swap_volume` and `extend_volume` (an in-use volume extended, event "
         "`compute_extend_volume`, as Nova records Cinder's volume-extended event); from 2.21 "
         "also of a deleted server; `updated_at` from 2.58"),
    NOVA("GET", "/v2.1/servers/{server_id}/os-instance-actions/{request_id}", nova_actions_show,
         CMP "os-instance-actions:show", RESOURCE, NULL, NULL, 0, 0,
         "one action with its events: from 2.51 for everyone (before, only for admin; rule "
         "`events`); event `hostId` from 2.62, `host` and `traceback` for admin only, `details` "
         "from 2.84 for admin (rule `events:details`)"),
    { NULL, NULL, SVC_NONE, false, NULL, API_POLICY_NONE, NULL, NULL, 0, 0, NULL, NULL },
};
