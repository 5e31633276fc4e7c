/* Glance's metadata definitions catalog (/v2/metadefs): namespaces, and in
 * each its objects, properties, tags and the resource types it applies
 * to; the resource types themselves (Glance's own, seeded by the registry,
 * and any an association names). Glance's policies: anyone reads what
 * they may see (a public namespace, or a private one of their project),
 * only an administrator writes; a protected namespace, and what it holds,
 * cannot be deleted. Each definition is a registry record whose attributes
 * are a JSON document (metadef-body.c checks them); the views add the
 * name, times, self and schema as Glance shows them. */
#include "image.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS_KIND    "namespace"
#define OBJ_KIND   "object"
#define PROP_KIND  "property"
#define TAG_KIND   "tag"
#define RT_KIND    "resource_type"
#define ASSOC_KIND "association"

/* URL argument NAME, or NULL when the route has none (the same handler
 * serves a collection and its members). */
static const char *param_opt(const struct api_request *rq, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < rq->n_params; i++)
        if (rq->params[i].name_len == len && !memcmp(rq->params[i].name, name, len))
            return rq->params[i].value;
    return NULL;
}

static bool is_admin(struct api_request *rq)
{
    return auth_has_role(&rq->auth, "admin");
}

static int forbidden(struct api_request *rq, const char *action)
{
    return api_err(&rq->err, 403, "You are not authorized to complete %s action.", action);
}

static json_t *doc_of(const struct reg_metadef *d)
{
    json_error_t jerr;
    json_t *o = json_loads(d->body, 0, &jerr);
    return json_is_object(o) ? o : (json_decref(o), json_object());
}

/* Stores D with DOC as its attributes (keeps its created_at when it has
 * one), in the caller's transaction. */
static int put_def(struct api_request *rq, struct reg_metadef *d, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
        return api_err(&rq->err, 500, "out of memory");
    size_t len = strlen(text);
    if (len >= sizeof d->body) {
        free(text);
        return api_err(&rq->err, 400, "The definition is too large: at most %zu bytes of JSON.",
                       sizeof d->body - 1);
    }
    memcpy(d->body, text, len + 1);
    free(text);
    api_time_z(time(NULL), d->updated_at);
    if (!d->created_at[0])
        memcpy(d->created_at, d->updated_at, sizeof d->created_at);
    struct registry *r = rq->ctx->reg;
    return r->ops->metadef_put(r, d) < 0 ? reg_fail(&rq->err, r) : 0;
}

static void def_init(struct reg_metadef *d, const char *kind, const char *ns, const char *name)
{
    memset(d, 0, sizeof *d);
    snprintf(d->kind, sizeof d->kind, "%s", kind);
    snprintf(d->ns, sizeof d->ns, "%s", ns);
    snprintf(d->name, sizeof d->name, "%s", name);
}

/* Looks definition (KIND, NS, NAME) up: 0, 1 none, -1 registry error. */
static int get_def(struct api_request *rq, const char *kind, const char *ns, const char *name,
                   struct reg_metadef *d)
{
    struct registry *r = rq->ctx->reg;
    if (strlen(ns) >= sizeof d->ns || strlen(name) >= sizeof d->name)
        return 1;
    int rc = r->ops->metadef_get(r, kind, ns, name, d);
    return rc < 0 ? reg_fail(&rq->err, r) : rc;
}

static bool ns_visible(struct api_request *rq, json_t *doc)
{
    const char *vis = json_string_value(json_object_get(doc, "visibility"));
    const char *owner = json_string_value(json_object_get(doc, "owner"));
    return is_admin(rq) || (vis && !strcmp(vis, "public")) ||
           (owner && rq->auth.project_id[0] && !strcmp(owner, rq->auth.project_id));
}

/* The namespace NAME as the caller may see it (404 otherwise); *DOC its
 * attributes (caller decrefs). */
static int ns_load(struct api_request *rq, const char *name, struct reg_metadef *d, json_t **doc)
{
    int rc = get_def(rq, NS_KIND, name, "", d);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        *doc = doc_of(d);
        if (ns_visible(rq, *doc))
            return 0;
        json_decref(*doc);
    }
    *doc = NULL;
    return api_err(&rq->err, 404, "Metadata definition namespace=%.80s was not found.", name);
}

/* The namespace of the URL, for a write (visible, then the administrator's):
 * PROTECTED_ACTION non-NULL refuses a protected namespace with it. */
static int ns_for_write(struct api_request *rq, const char *action, const char *protected_what,
                        struct reg_metadef *d)
{
    json_t *doc = NULL;
    if (ns_load(rq, api_param(rq, "namespace"), d, &doc) < 0)
        return -1;
    bool prot = json_is_true(json_object_get(doc, "protected"));
    json_decref(doc);
    if (!is_admin(rq))
        return forbidden(rq, action);
    if (protected_what && prot)
        return api_err(&rq->err, 403, "%s is protected and cannot be deleted.", protected_what);
    return 0;
}

static void self_url(char *out, size_t len, const char *ns, const char *what, const char *name)
{
    if (what)
        snprintf(out, len, "/v2/metadefs/namespaces/%s/%s/%s", ns, what, name);
    else
        snprintf(out, len, "/v2/metadefs/namespaces/%s", ns);
}

/* ---- views ---- */

static json_t *assoc_view(const struct reg_metadef *d)
{
    json_t *o = doc_of(d);
    json_object_set_new(o, "name", json_string(d->name));
    json_object_set_new(o, "created_at", json_string(d->created_at));
    json_object_set_new(o, "updated_at", json_string(d->updated_at));
    return o;
}

static json_t *object_view(const struct reg_metadef *d)
{
    char self[400];
    self_url(self, sizeof self, d->ns, "objects", d->name);
    json_t *o = doc_of(d);
    json_object_set_new(o, "name", json_string(d->name));
    if (!json_object_get(o, "properties"))
        json_object_set_new(o, "properties", json_object());
    json_object_set_new(o, "created_at", json_string(d->created_at));
    json_object_set_new(o, "updated_at", json_string(d->updated_at));
    json_object_set_new(o, "self", json_string(self));
    json_object_set_new(o, "schema", json_string("/v2/schemas/metadefs/object"));
    return o;
}

static json_t *property_view(const struct reg_metadef *d)
{
    json_t *o = doc_of(d);
    json_object_set_new(o, "name", json_string(d->name));
    return o;
}

static json_t *tag_view(const struct reg_metadef *d)
{
    return json_pack("{s:s, s:s, s:s}", "name", d->name, "created_at", d->created_at, "updated_at",
                     d->updated_at);
}

/* Every definition of KIND in NS through VIEW, as a list (NULL on a
 * registry error, in rq->err). */
static json_t *list_of(struct api_request *rq, const char *kind, const char *ns,
                       json_t *(*view)(const struct reg_metadef *))
{
    struct registry *r = rq->ctx->reg;
    struct reg_metadef *all = NULL;
    size_t n = 0;
    if (r->ops->metadef_list(r, kind, ns, &all, &n) < 0) {
        reg_fail(&rq->err, r);
        return NULL;
    }
    json_t *l = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(l, view(&all[i]));
    free(all);
    return l;
}

/* Properties as Glance shows them: a map of name to definition. */
static json_t *property_map(struct api_request *rq, const char *ns)
{
    json_t *l = list_of(rq, PROP_KIND, ns, property_view);
    if (!l)
        return NULL;
    json_t *m = json_object();
    size_t i;
    json_t *p;
    json_array_foreach(l, i, p) {
        const char *name = json_string_value(json_object_get(p, "name"));
        json_t *copy = json_deep_copy(p);
        json_object_del(copy, "name");
        json_object_set_new(m, name, copy);
    }
    json_decref(l);
    return m;
}

/* The namespace D; FULL (show): with its properties, objects and tags. */
static json_t *ns_view(struct api_request *rq, const struct reg_metadef *d, bool full)
{
    char self[200];
    self_url(self, sizeof self, d->ns, NULL, NULL);
    json_t *o = doc_of(d);
    json_object_set_new(o, "namespace", json_string(d->ns));
    json_object_set_new(o, "created_at", json_string(d->created_at));
    json_object_set_new(o, "updated_at", json_string(d->updated_at));
    json_object_set_new(o, "self", json_string(self));
    json_object_set_new(o, "schema", json_string("/v2/schemas/metadefs/namespace"));
    json_t *l = list_of(rq, ASSOC_KIND, d->ns, assoc_view);
    if (l && json_array_size(l))
        json_object_set_new(o, "resource_type_associations", l);
    else
        json_decref(l);
    if (!full)
        return o;
    json_t *props = property_map(rq, d->ns);
    if (props && json_object_size(props))
        json_object_set_new(o, "properties", props);
    else
        json_decref(props);
    static const struct {
        const char *kind, *key;
        json_t *(*view)(const struct reg_metadef *);
    } parts[] = { { OBJ_KIND, "objects", object_view }, { TAG_KIND, "tags", tag_view } };
    for (size_t i = 0; i < 2; i++) {
        l = list_of(rq, parts[i].kind, d->ns, parts[i].view);
        if (l && json_array_size(l)) {
            if (parts[i].view == tag_view) {
                /* a namespace shows its tags' names only */
                size_t j;
                json_t *t;
                json_array_foreach(l, j, t) {
                    json_object_del(t, "created_at");
                    json_object_del(t, "updated_at");
                }
            }
            json_object_set_new(o, parts[i].key, l);
        } else {
            json_decref(l);
        }
    }
    return o;
}

/* ---- storing definitions ---- */

static int dup_name(struct api_request *rq, const char *kind, const char *ns, const char *name)
{
    if (!strcmp(kind, OBJ_KIND))
        return api_err(&rq->err, 409,
                       "A metadata definition object with name=%.80s already exists in "
                       "namespace=%.80s.",
                       name, ns);
    if (!strcmp(kind, PROP_KIND))
        return api_err(&rq->err, 409,
                       "A metadata definition property with name=%.80s already exists in "
                       "namespace=%.80s.",
                       name, ns);
    return api_err(&rq->err, 409,
                   "A metadata tag with name=%.80s already exists in namespace=%.80s. (Please "
                   "note that metadata tag names are case insensitive).",
                   name, ns);
}

/* Whether NS holds a definition of KIND named NAME (a tag: in any case). */
static int exists(struct api_request *rq, const char *kind, const char *ns, const char *name,
                  bool *found)
{
    *found = false;
    if (strcmp(kind, TAG_KIND) != 0) {
        struct reg_metadef d;
        int rc = get_def(rq, kind, ns, name, &d);
        *found = rc == 0;
        return rc < 0 ? -1 : 0;
    }
    struct registry *r = rq->ctx->reg;
    struct reg_metadef *all = NULL;
    size_t n = 0;
    if (r->ops->metadef_list(r, kind, ns, &all, &n) < 0)
        return reg_fail(&rq->err, r);
    for (size_t i = 0; i < n && !*found; i++)
        *found = !strcasecmp(all[i].name, name);
    free(all);
    return 0;
}

/* Adds definition NAME of KIND with attributes DOC to NS (409 when it has
 * one of that name), in the caller's transaction; D gets the record. */
static int add_def(struct api_request *rq, const char *kind, const char *ns, const char *name,
                   json_t *doc, struct reg_metadef *d)
{
    if (!name[0] || strlen(name) >= sizeof d->name)
        return api_err(&rq->err, 400, "Invalid name: 1 to %zu characters.", sizeof d->name - 1);
    bool found;
    if (exists(rq, kind, ns, name, &found) < 0)
        return -1;
    if (found)
        return dup_name(rq, kind, ns, name);
    def_init(d, kind, ns, name);
    return put_def(rq, d, doc);
}

/* Associates resource type NAME with NS (A: prefix, properties_target),
 * making the resource type when the catalog lacks it, as Glance does. */
static int add_assoc(struct api_request *rq, const char *ns, json_t *a, struct reg_metadef *d)
{
    const char *name = json_string_value(json_object_get(a, "name"));
    struct reg_metadef rt;
    int rc = get_def(rq, RT_KIND, "", name, &rt);
    if (rc < 0)
        return -1;
    if (rc == 1) {
        def_init(&rt, RT_KIND, "", name);
        json_t *empty = json_object();
        rc = put_def(rq, &rt, empty);
        json_decref(empty);
        if (rc < 0)
            return -1;
    }
    if ((rc = get_def(rq, ASSOC_KIND, ns, name, d)) < 0)
        return -1;
    if (rc == 0)
        return api_err(&rq->err, 409,
                       "The metadata definition resource-type association of "
                       "resource-type=%.80s to namespace=%.80s, already exists.",
                       name, ns);
    json_t *doc = json_deep_copy(a);
    json_object_del(doc, "name");
    def_init(d, ASSOC_KIND, ns, name);
    rc = put_def(rq, d, doc);
    json_decref(doc);
    return rc;
}

/* A namespace's definitions given inline (create): properties, objects,
 * tags, resource type associations. */
static int add_inline(struct api_request *rq, const char *ns, json_t *b)
{
    struct reg_metadef d;
    const char *k;
    json_t *v;
    size_t i;
    json_object_foreach(json_object_get(b, "properties"), k, v) {
        if (add_def(rq, PROP_KIND, ns, k, v, &d) < 0)
            return -1;
    }
    json_array_foreach(json_object_get(b, "objects"), i, v) {
        json_t *doc = json_deep_copy(v);
        json_object_del(doc, "name");
        int rc = add_def(rq, OBJ_KIND, ns, json_string_value(json_object_get(v, "name")), doc, &d);
        json_decref(doc);
        if (rc < 0)
            return -1;
    }
    json_t *empty = json_object();
    json_array_foreach(json_object_get(b, "tags"), i, v) {
        if (add_def(rq, TAG_KIND, ns, json_string_value(json_object_get(v, "name")), empty, &d) <
            0) {
            json_decref(empty);
            return -1;
        }
    }
    json_decref(empty);
    json_array_foreach(json_object_get(b, "resource_type_associations"), i, v) {
        if (add_assoc(rq, ns, v, &d) < 0)
            return -1;
    }
    return 0;
}

/* The namespace's own attributes from a checked body B (create or
 * update): defaults for what B lacks, as Glance's are. */
static json_t *ns_attrs(struct api_request *rq, json_t *b)
{
    json_t *o = json_object();
    json_t *v;
    if ((v = json_object_get(b, "display_name")))
        json_object_set(o, "display_name", v);
    if ((v = json_object_get(b, "description")))
        json_object_set(o, "description", v);
    v = json_object_get(b, "visibility");
    json_object_set_new(o, "visibility", v ? json_incref(v) : json_string("private"));
    v = json_object_get(b, "protected");
    json_object_set_new(o, "protected", json_boolean(v && json_is_true(v)));
    v = json_object_get(b, "owner");
    json_object_set_new(o, "owner", v ? json_incref(v) : json_string(rq->auth.project_id));
    return o;
}

/* ---- namespaces ---- */

static int ns_index(struct api_request *rq)
{
    const char *vis = api_query(rq, "visibility");
    char visb[16] = "";
    if (vis) {
        if (strcmp(vis, "public") != 0 && strcmp(vis, "private") != 0)
            return api_err(&rq->err, 400, "Invalid visibility value: %.16s", vis);
        snprintf(visb, sizeof visb, "%s", vis);
    }
    char rtb[512] = "", markerb[81] = "", sdb[8] = "desc";
    const char *q;
    if ((q = api_query(rq, "resource_types")))
        snprintf(rtb, sizeof rtb, ",%s,", q);
    if ((q = api_query(rq, "marker")))
        snprintf(markerb, sizeof markerb, "%s", q);
    if ((q = api_query(rq, "sort_dir"))) {
        if (strcmp(q, "asc") != 0 && strcmp(q, "desc") != 0)
            return api_err(&rq->err, 400, "Invalid sort direction: %.16s", q);
        snprintf(sdb, sizeof sdb, "%s", q);
    }
    if ((q = api_query(rq, "sort_key")) && strcmp(q, "created_at") != 0 &&
        strcmp(q, "updated_at") != 0 && strcmp(q, "namespace") != 0)
        return api_err(&rq->err, 400, "Invalid sort key: %.32s", q);
    long limit = 1000;
    if ((q = api_query(rq, "limit"))) {
        char *end = NULL;
        limit = strtol(q, &end, 10);
        if (!q[0] || *end || limit < 1)
            return api_err(&rq->err, 400, "limit param must be positive");
        if (limit > 1000)
            limit = 1000;
    }
    struct registry *r = rq->ctx->reg;
    struct reg_metadef *all = NULL;
    size_t n = 0;
    if (r->ops->metadef_list(r, NS_KIND, NULL, &all, &n) < 0)
        return reg_fail(&rq->err, r);
    bool desc = !strcmp(sdb, "desc");
    json_t *list = json_array();
    bool started = !markerb[0], more = false;
    for (size_t k = 0; k < n; k++) {
        const struct reg_metadef *d = &all[desc ? n - 1 - k : k];
        json_t *doc = doc_of(d);
        bool keep =
            ns_visible(rq, doc) &&
            (!visb[0] || !strcmp(json_string_value(json_object_get(doc, "visibility")), visb));
        json_decref(doc);
        if (!keep)
            continue;
        if (!started) {
            started = !strcmp(d->ns, markerb);
            continue;
        }
        json_t *v = ns_view(rq, d, false);
        if (rtb[0]) {
            /* only namespaces associated with one of the resource types */
            bool hit = false;
            size_t i;
            json_t *a;
            json_array_foreach(json_object_get(v, "resource_type_associations"), i, a) {
                char needle[100];
                snprintf(needle, sizeof needle, ",%s,",
                         json_string_value(json_object_get(a, "name")));
                hit = hit || strstr(rtb, needle);
            }
            if (!hit) {
                json_decref(v);
                continue;
            }
        }
        if (json_array_size(list) == (size_t)limit) {
            json_decref(v);
            more = true;
            break;
        }
        json_array_append_new(list, v);
    }
    free(all);
    if (!started) {
        json_decref(list);
        return api_err(&rq->err, 404, "Metadata definition namespace=%.80s was not found.",
                       markerb);
    }
    json_t *body = json_pack("{s:o, s:s, s:s}", "namespaces", list, "first",
                             "/v2/metadefs/namespaces", "schema",
                             "/v2/schemas/metadefs/namespaces");
    if (more) {
        char next[200];
        snprintf(next, sizeof next, "/v2/metadefs/namespaces?marker=%s&limit=%ld",
                 json_string_value(
                     json_object_get(json_array_get(list, json_array_size(list) - 1), "namespace")),
                 limit);
        json_object_set_new(body, "next", json_string(next));
    }
    return api_reply(rq, 200, body);
}

static int ns_create(struct api_request *rq)
{
    if (!is_admin(rq))
        return forbidden(rq, "add_metadef_namespace");
    API_JSON_SCOPED json_t *b =
        metadef_body_parse(METADEF_NAMESPACE, rq->body, rq->body_len, &rq->err);
    if (!b)
        return -1;
    const char *name = json_string_value(json_object_get(b, "namespace"));
    API_JSON_SCOPED json_t *attrs = ns_attrs(rq, b);
    struct reg_metadef d;
    struct registry *r = rq->ctx->reg;
    REG_TXN(txn, r);
    if (reg_begin(&txn, &rq->err) < 0)
        return -1;
    int g = get_def(rq, NS_KIND, name, "", &d);
    if (g < 0)
        return -1;
    if (g == 0)
        return api_err(&rq->err, 409, "Namespace %.80s already exists", name);
    def_init(&d, NS_KIND, name, "");
    if (put_def(rq, &d, attrs) < 0 || add_inline(rq, name, b) < 0 || reg_commit(&txn, &rq->err) < 0)
        return -1;
    snprintf(rq->location, sizeof rq->location, "%s/image/v2/metadefs/namespaces/%s",
             rq->ctx->base_url, name);
    return api_reply(rq, 201, ns_view(rq, &d, true));
}

static int ns_show(struct api_request *rq)
{
    struct reg_metadef d;
    json_t *doc = NULL;
    if (ns_load(rq, api_param(rq, "namespace"), &d, &doc) < 0)
        return -1;
    json_decref(doc);
    return api_reply(rq, 200, ns_view(rq, &d, true));
}

static int ns_update(struct api_request *rq)
{
    struct reg_metadef d;
    if (ns_for_write(rq, "modify_metadef_namespace", NULL, &d) < 0)
        return -1;
    API_JSON_SCOPED json_t *b =
        metadef_body_parse(METADEF_NAMESPACE_UPDATE, rq->body, rq->body_len, &rq->err);
    if (!b)
        return -1;
    const char *name = json_string_value(json_object_get(b, "namespace"));
    API_JSON_SCOPED json_t *attrs = ns_attrs(rq, b);
    struct registry *r = rq->ctx->reg;
    REG_TXN(txn, r);
    if (reg_begin(&txn, &rq->err) < 0)
        return -1;
    if (strcmp(name, d.ns) != 0) {
        struct reg_metadef other;
        int g = get_def(rq, NS_KIND, name, "", &other);
        if (g < 0)
            return -1;
        if (g == 0)
            return api_err(&rq->err, 409, "Namespace %.80s already exists", name);
        if (r->ops->metadef_rename(r, d.ns, name) < 0)
            return reg_fail(&rq->err, r);
        snprintf(d.ns, sizeof d.ns, "%s", name);
    }
    if (put_def(rq, &d, attrs) < 0 || reg_commit(&txn, &rq->err) < 0)
        return -1;
    return api_reply(rq, 200, ns_view(rq, &d, true));
}

static int ns_delete(struct api_request *rq)
{
    struct reg_metadef d;
    char what[120];
    snprintf(what, sizeof what, "Namespace %.80s", api_param(rq, "namespace"));
    if (ns_for_write(rq, "delete_metadef_namespace", what, &d) < 0)
        return -1;
    struct registry *r = rq->ctx->reg;
    REG_TXN(txn, r);
    if (reg_begin(&txn, &rq->err) < 0)
        return -1;
    if (r->ops->metadef_delete(r, NULL, d.ns, NULL) < 0)
        return reg_fail(&rq->err, r);
    if (reg_commit(&txn, &rq->err) < 0)
        return -1;
    return api_reply(rq, 204, NULL);
}

/* ---- objects, properties, tags: one set of handlers, a table each ---- */

struct part {
    const char *kind, *param, *list_key, *label, *verb;
    enum metadef_kind body;
    json_t *(*view)(const struct reg_metadef *);
};
static const struct part objects = { OBJ_KIND, "object_name",  "objects",  "object",
                                     "object", METADEF_OBJECT, object_view };
static const struct part properties = { PROP_KIND,  "property_name",  "properties", "property",
                                        "property", METADEF_PROPERTY, property_view };
static const struct part tags = {
    TAG_KIND, "tag_name", "tags", "tag", "tag", METADEF_TAG, tag_view
};

static int not_found(struct api_request *rq, const struct part *p, const char *name, const char *ns)
{
    return api_err(&rq->err, 404,
                   "The metadata definition %s with name=%.80s was not found in namespace=%.80s.",
                   p->label, name, ns);
}

static int part_index(struct api_request *rq, const struct part *p)
{
    struct reg_metadef ns;
    json_t *doc = NULL;
    if (ns_load(rq, api_param(rq, "namespace"), &ns, &doc) < 0)
        return -1;
    json_decref(doc);
    if (p == &properties) {
        json_t *m = property_map(rq, ns.ns);
        return m ? api_reply(rq, 200, json_pack("{s:o}", "properties", m)) : -1;
    }
    json_t *l = list_of(rq, p->kind, ns.ns, p->view);
    if (!l)
        return -1;
    json_t *body = json_pack("{s:o}", p->list_key, l);
    if (p == &objects)
        json_object_set_new(body, "schema", json_string("v2/schemas/metadefs/objects"));
    return api_reply(rq, 200, body);
}

/* The name and attributes of body B for P (a tag's name may come from the
 * URL alone). */
static const char *split_body(json_t *b, json_t **attrs)
{
    *attrs = json_deep_copy(b);
    json_object_del(*attrs, "name");
    return json_string_value(json_object_get(b, "name"));
}

static int part_create(struct api_request *rq, const struct part *p)
{
    char action[64];
    snprintf(action, sizeof action, "add_metadef_%s", p->verb);
    struct reg_metadef ns, d;
    if (ns_for_write(rq, action, NULL, &ns) < 0)
        return -1;
    API_JSON_SCOPED json_t *b = NULL;
    API_JSON_SCOPED json_t *attrs = NULL;
    const char *name;
    if (p == &tags && param_opt(rq, "tag_name")) {
        name = api_param(rq, "tag_name");
        attrs = json_object();
    } else {
        if (!(b = metadef_body_parse(p->body, rq->body, rq->body_len, &rq->err)))
            return -1;
        name = split_body(b, &attrs);
    }
    struct registry *r = rq->ctx->reg;
    REG_TXN(txn, r);
    if (reg_begin(&txn, &rq->err) < 0 || add_def(rq, p->kind, ns.ns, name, attrs, &d) < 0 ||
        reg_commit(&txn, &rq->err) < 0)
        return -1;
    return api_reply(rq, 201, p->view(&d));
}

static int part_show(struct api_request *rq, const struct part *p)
{
    struct reg_metadef ns, d;
    json_t *doc = NULL;
    if (ns_load(rq, api_param(rq, "namespace"), &ns, &doc) < 0)
        return -1;
    json_decref(doc);
    char name[256];
    snprintf(name, sizeof name, "%s", api_param(rq, p->param));
    if (p == &properties) {
        /* ?resource_type=T names the property with T's prefix */
        const char *rt = api_query(rq, "resource_type");
        if (rt) {
            struct reg_metadef a;
            int g = get_def(rq, ASSOC_KIND, ns.ns, rt, &a);
            if (g < 0)
                return -1;
            if (g == 1)
                return api_err(&rq->err, 404,
                               "The metadata definition resource-type association of "
                               "resource-type=%.80s to namespace=%.80s, was not found.",
                               rt, ns.ns);
            json_t *ad = doc_of(&a);
            const char *prefix = json_string_value(json_object_get(ad, "prefix"));
            size_t pl = prefix ? strlen(prefix) : 0;
            bool has = pl && !strncmp(name, prefix, pl);
            json_decref(ad);
            if (pl && !has)
                return not_found(rq, p, name, ns.ns);
            memmove(name, name + pl, strlen(name + pl) + 1);
        }
    }
    int g = get_def(rq, p->kind, ns.ns, name, &d);
    if (g < 0)
        return -1;
    if (g == 1)
        return not_found(rq, p, name, ns.ns);
    return api_reply(rq, 200, p->view(&d));
}

static int part_update(struct api_request *rq, const struct part *p)
{
    char action[64];
    snprintf(action, sizeof action, "modify_metadef_%s", p->verb);
    struct reg_metadef ns, d;
    if (ns_for_write(rq, action, NULL, &ns) < 0)
        return -1;
    const char *old = api_param(rq, p->param);
    API_JSON_SCOPED json_t *b = metadef_body_parse(p->body, rq->body, rq->body_len, &rq->err);
    if (!b)
        return -1;
    API_JSON_SCOPED json_t *attrs = NULL;
    const char *name = split_body(b, &attrs);
    struct registry *r = rq->ctx->reg;
    REG_TXN(txn, r);
    if (reg_begin(&txn, &rq->err) < 0)
        return -1;
    int g = get_def(rq, p->kind, ns.ns, old, &d);
    if (g < 0)
        return -1;
    if (g == 1)
        return not_found(rq, p, old, ns.ns);
    if (strcmp(name, old) != 0) {
        bool found;
        if (exists(rq, p->kind, ns.ns, name, &found) < 0)
            return -1;
        if (found && strcasecmp(name, old) != 0)
            return dup_name(rq, p->kind, ns.ns, name);
        if (r->ops->metadef_delete(r, p->kind, ns.ns, old) < 0)
            return reg_fail(&rq->err, r);
        if (strlen(name) >= sizeof d.name)
            return api_err(&rq->err, 400, "Invalid name: at most %zu characters.",
                           sizeof d.name - 1);
        snprintf(d.name, sizeof d.name, "%s", name);
    }
    if (put_def(rq, &d, attrs) < 0 || reg_commit(&txn, &rq->err) < 0)
        return -1;
    return api_reply(rq, 200, p->view(&d));
}

static int part_delete(struct api_request *rq, const struct part *p)
{
    char action[64], what[400];
    snprintf(action, sizeof action, "delete_metadef_%s", p->verb);
    const char *name = param_opt(rq, p->param);
    snprintf(what, sizeof what, "Metadata definition %s %.80s", p->label,
             name ? name : api_param(rq, "namespace"));
    struct reg_metadef ns;
    if (ns_for_write(rq, action, what, &ns) < 0)
        return -1;
    struct registry *r = rq->ctx->reg;
    REG_TXN(txn, r);
    if (reg_begin(&txn, &rq->err) < 0)
        return -1;
    int d = r->ops->metadef_delete(r, p->kind, ns.ns, name);
    if (d < 0)
        return reg_fail(&rq->err, r);
    if (d == 1)
        return not_found(rq, p, name, ns.ns);
    if (reg_commit(&txn, &rq->err) < 0)
        return -1;
    return api_reply(rq, 204, NULL);
}

/* POST .../tags: the tags of the body replace the namespace's (or, with
 * X-Openstack-Append: true, join them); 201 with their names. */
static int tags_create_many(struct api_request *rq)
{
    struct reg_metadef ns, d;
    if (ns_for_write(rq, "add_metadef_tags", NULL, &ns) < 0)
        return -1;
    API_JSON_SCOPED json_t *b = metadef_body_parse(METADEF_TAGS, rq->body, rq->body_len, &rq->err);
    if (!b)
        return -1;
    const char *append = api_header(rq, "X-Openstack-Append");
    bool add = append && api_truthy(append);
    json_t *list = json_object_get(b, "tags");
    API_JSON_SCOPED json_t *out = json_array();
    API_JSON_SCOPED json_t *empty = json_object();
    struct registry *r = rq->ctx->reg;
    REG_TXN(txn, r);
    if (reg_begin(&txn, &rq->err) < 0)
        return -1;
    if (!add && r->ops->metadef_delete(r, TAG_KIND, ns.ns, NULL) < 0)
        return reg_fail(&rq->err, r);
    size_t i;
    json_t *t;
    json_array_foreach(list, i, t) {
        const char *name = json_string_value(json_object_get(t, "name"));
        if (add_def(rq, TAG_KIND, ns.ns, name, empty, &d) < 0)
            return -1;
        json_array_append_new(out, json_pack("{s:s}", "name", name));
    }
    if (reg_commit(&txn, &rq->err) < 0)
        return -1;
    return api_reply(rq, 201, json_pack("{s:O}", "tags", out));
}

#define PART_HANDLERS(p)                          \
    static int p##_index(struct api_request *rq)  \
    {                                             \
        return part_index(rq, &p);                \
    }                                             \
    static int p##_create(struct api_request *rq) \
    {                                             \
        return part_create(rq, &p);               \
    }                                             \
    static int p##_show(struct api_request *rq)   \
    {                                             \
        return part_show(rq, &p);                 \
    }                                             \
    static int p##_update(struct api_request *rq) \
    {                                             \
        return part_update(rq, &p);               \
    }                                             \
    static int p##_delete(struct api_request *rq) \
    {                                             \
        return part_delete(rq, &p);               \
    }
PART_HANDLERS(objects)
PART_HANDLERS(properties)
PART_HANDLERS(tags)

/* ---- resource types ---- */

static json_t *rt_view(const struct reg_metadef *d)
{
    return json_pack("{s:s, s:s, s:s}", "name", d->name, "created_at", d->created_at, "updated_at",
                     d->updated_at);
}

static int rt_index(struct api_request *rq)
{
    json_t *l = list_of(rq, RT_KIND, "", rt_view);
    return l ? api_reply(rq, 200, json_pack("{s:o}", "resource_types", l)) : -1;
}

static int assoc_index(struct api_request *rq)
{
    struct reg_metadef ns;
    json_t *doc = NULL;
    if (ns_load(rq, api_param(rq, "namespace"), &ns, &doc) < 0)
        return -1;
    json_decref(doc);
    json_t *l = list_of(rq, ASSOC_KIND, ns.ns, assoc_view);
    return l ? api_reply(rq, 200, json_pack("{s:o}", "resource_type_associations", l)) : -1;
}

static int assoc_create(struct api_request *rq)
{
    struct reg_metadef ns, d;
    if (ns_for_write(rq, "add_metadef_resource_type_association", NULL, &ns) < 0)
        return -1;
    API_JSON_SCOPED json_t *b =
        metadef_body_parse(METADEF_ASSOCIATION, rq->body, rq->body_len, &rq->err);
    if (!b)
        return -1;
    struct registry *r = rq->ctx->reg;
    REG_TXN(txn, r);
    if (reg_begin(&txn, &rq->err) < 0 || add_assoc(rq, ns.ns, b, &d) < 0 ||
        reg_commit(&txn, &rq->err) < 0)
        return -1;
    return api_reply(rq, 201, assoc_view(&d));
}

static int assoc_delete(struct api_request *rq)
{
    const char *name = api_param(rq, "resource_type");
    char what[200];
    snprintf(what, sizeof what, "Metadata definition resource-type-association %.80s", name);
    struct reg_metadef ns;
    if (ns_for_write(rq, "remove_metadef_resource_type_association", what, &ns) < 0)
        return -1;
    struct registry *r = rq->ctx->reg;
    REG_TXN(txn, r);
    if (reg_begin(&txn, &rq->err) < 0)
        return -1;
    int d = strlen(name) < 256 ? r->ops->metadef_delete(r, ASSOC_KIND, ns.ns, name) : 1;
    if (d < 0)
        return reg_fail(&rq->err, r);
    if (d == 1)
        return api_err(&rq->err, 404,
                       "The metadata definition resource-type association of "
                       "resource-type=%.80s to namespace=%.80s, was not found.",
                       name, ns.ns);
    if (reg_commit(&txn, &rq->err) < 0)
        return -1;
    return api_reply(rq, 204, NULL);
}

/* ---- schemas ---- */

static json_t *property_schema(void)
{
    return json_pack(
        "{s:s, s:[s,s], s:{s:{s:s, s:i}, s:{s:s}, s:{s:s}, s:{s:s, s:[s,s,s,s,s,s]},"
        " s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s, s:i},"
        " s:{s:s, s:i}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s, s:{s:s}}}}",
        "type", "object", "required", "title", "type", "properties", "name", "type", "string",
        "maxLength", 80, "title", "type", "string", "description", "type", "string", "type", "type",
        "string", "enum", "array", "boolean", "integer", "number", "object", "string", "enum",
        "type", "array", "default", "type", "string", "pattern", "type", "string", "minimum",
        "type", "number", "maximum", "type", "number", "readonly", "type", "boolean", "uniqueItems",
        "type", "boolean", "minLength", "type", "integer", "minimum", 0, "maxLength", "type",
        "integer", "minimum", 0, "minItems", "type", "integer", "maxItems", "type", "integer",
        "items", "type", "object", "operators", "type", "array", "items", "type", "string");
}

static json_t *named(const char *name, json_t *props, json_t *required)
{
    json_t *o =
        json_pack("{s:s, s:o, s:b}", "name", name, "properties", props, "additionalProperties", 0);
    if (required)
        json_object_set_new(o, "required", required);
    return o;
}

static json_t *times_self_schema(json_t *props)
{
    json_object_set_new(
        props, "created_at",
        json_pack("{s:s, s:s, s:b}", "type", "string", "format", "date-time", "readOnly", 1));
    json_object_set_new(
        props, "updated_at",
        json_pack("{s:s, s:s, s:b}", "type", "string", "format", "date-time", "readOnly", 1));
    json_object_set_new(props, "self", json_pack("{s:s}", "type", "string"));
    json_object_set_new(props, "schema", json_pack("{s:s}", "type", "string"));
    return props;
}

static json_t *schema_of(const char *which)
{
    if (!strcmp(which, "property")) {
        json_t *p = property_schema();
        json_object_set_new(p, "name", json_string("property"));
        return p;
    }
    if (!strcmp(which, "properties"))
        return json_pack("{s:s, s:{s:{s:s, s:o}}}", "name", "properties", "properties",
                         "properties", "type", "object", "additionalProperties", property_schema());
    if (!strcmp(which, "tag"))
        return named("tag",
                     times_self_schema(
                         json_pack("{s:{s:s, s:i}}", "name", "type", "string", "maxLength", 255)),
                     json_pack("[s]", "name"));
    if (!strcmp(which, "resource_type"))
        return named("resource_type_association",
                     times_self_schema(json_pack(
                         "{s:{s:s, s:i}, s:{s:s, s:i}, s:{s:s, s:i}}", "name", "type", "string",
                         "maxLength", 80, "prefix", "type", "string", "maxLength", 80,
                         "properties_target", "type", "string", "maxLength", 80)),
                     json_pack("[s]", "name"));
    if (!strcmp(which, "object"))
        return named("object",
                     times_self_schema(json_pack(
                         "{s:{s:s, s:i}, s:{s:s}, s:{s:s, s:{s:s}}, s:{s:s, s:o}}", "name", "type",
                         "string", "maxLength", 80, "description", "type", "string", "required",
                         "type", "array", "items", "type", "string", "properties", "type", "object",
                         "additionalProperties", property_schema())),
                     json_pack("[s]", "name"));
    if (!strcmp(which, "namespace"))
        return named("namespace",
                     times_self_schema(json_pack(
                         "{s:{s:s, s:i}, s:{s:s, s:i}, s:{s:s, s:i}, s:{s:s, s:[s,s]}, s:{s:s},"
                         " s:{s:s, s:i}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}}",
                         "namespace", "type", "string", "maxLength", 80, "display_name", "type",
                         "string", "maxLength", 80, "description", "type", "string", "maxLength",
                         500, "visibility", "type", "string", "enum", "public", "private",
                         "protected", "type", "boolean", "owner", "type", "string", "maxLength",
                         255, "properties", "type", "object", "objects", "type", "array", "tags",
                         "type", "array", "resource_type_associations", "type", "array")),
                     json_pack("[s]", "namespace"));
    return NULL;
}

/* The list schemas: NAME holds an array of ITEM's. */
static json_t *list_schema(const char *name, const char *item_key, const char *item)
{
    json_t *s = json_pack("{s:s, s:{s:{s:s, s:o}, s:{s:s}, s:{s:s}, s:{s:s}},"
                          " s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}]}",
                          "name", name, "properties", item_key, "type", "array", "items",
                          schema_of(item), "first", "type", "string", "next", "type", "string",
                          "schema", "type", "string", "links", "rel", "first", "href", "{first}",
                          "rel", "next", "href", "{next}", "rel", "describedby", "href",
                          "{schema}");
    return s;
}

static int schema_route(struct api_request *rq)
{
    const char *which = api_param(rq, "which");
    json_t *s = NULL;
    if (!strcmp(which, "namespaces"))
        s = list_schema("namespaces", "namespaces", "namespace");
    else if (!strcmp(which, "objects"))
        s = list_schema("objects", "objects", "object");
    else if (!strcmp(which, "tags"))
        s = list_schema("tags", "tags", "tag");
    else if (!strcmp(which, "resource_types"))
        s = list_schema("resource_type_associations", "resource_type_associations",
                        "resource_type");
    else
        s = schema_of(which);
    if (!s)
        return api_err(&rq->err, 404, "The resource could not be found.");
    return api_reply(rq, 200, s);
}

#define MD(m, p, fn, doc)                                                       \
    {                                                                           \
        m, p, SVC_IMAGE, true, NULL, API_POLICY_NONE, NULL, NULL, 0, 0, fn, doc \
    }
#define NS "/v2/metadefs/namespaces/{namespace}"

const struct api_route glance_metadef_routes[] = {
    MD("GET", "/v2/metadefs/namespaces", ns_index,
       "the namespaces the caller may see (public ones, its project's; all for an admin) with "
       "their resource type associations; `visibility`, `resource_types` (comma-separated), "
       "`limit`, `marker`, `sort_key`, `sort_dir`"),
    MD("POST", "/v2/metadefs/namespaces", ns_create,
       "a namespace (admin; 201): `namespace`, `display_name`, `description`, `visibility` "
       "(private by default), `protected`, `owner`, and inline `properties`, `objects`, "
       "`tags`, `resource_type_associations`; 409 when the name is taken"),
    MD("GET", NS, ns_show, "one namespace with its properties, objects, tags and associations"),
    MD("PUT", NS, ns_update,
       "replaces a namespace's attributes (admin), renaming it when `namespace` differs"),
    MD("DELETE", NS, ns_delete,
       "deletes a namespace and everything in it (admin; 204); a protected one is 403"),
    MD("GET", NS "/objects", objects_index, "the namespace's objects"),
    MD("POST", NS "/objects", objects_create,
       "an object (admin; 201): `name`, `description`, `required`, `properties`"),
    MD("DELETE", NS "/objects", objects_delete, "deletes every object of the namespace (admin)"),
    MD("GET", NS "/objects/{object_name}", objects_show, "one object"),
    MD("PUT", NS "/objects/{object_name}", objects_update,
       "replaces an object (admin), renaming it when `name` differs"),
    MD("DELETE", NS "/objects/{object_name}", objects_delete,
       "deletes an object (admin; 204; 403 in a protected namespace)"),
    MD("GET", NS "/properties", properties_index, "the namespace's properties, by name"),
    MD("POST", NS "/properties", properties_create,
       "a property (admin; 201): `name`, `title`, `type` and the JSON-schema constraints Glance "
       "takes (`enum`, `minimum`, `maxLength`, `items`, ...)"),
    MD("DELETE", NS "/properties", properties_delete,
       "deletes every property of the namespace (admin)"),
    MD("GET", NS "/properties/{property_name}", properties_show,
       "one property (`resource_type`: the name carries that association's prefix)"),
    MD("PUT", NS "/properties/{property_name}", properties_update,
       "replaces a property (admin), renaming it when `name` differs"),
    MD("DELETE", NS "/properties/{property_name}", properties_delete,
       "deletes a property (admin; 204)"),
    MD("GET", NS "/tags", tags_index, "the namespace's tags"),
    MD("POST", NS "/tags", tags_create_many,
       "replaces the namespace's tags with `tags` (admin; 201; `X-Openstack-Append: true` adds "
       "them instead); names are unique in any case (409)"),
    MD("DELETE", NS "/tags", tags_delete, "deletes every tag of the namespace (admin; 204)"),
    MD("POST", NS "/tags/{tag_name}", tags_create, "one tag (admin; 201)"),
    MD("GET", NS "/tags/{tag_name}", tags_show, "one tag"),
    MD("PUT", NS "/tags/{tag_name}", tags_update, "renames a tag (`name`; admin)"),
    MD("DELETE", NS "/tags/{tag_name}", tags_delete, "deletes a tag (admin; 204)"),
    MD("GET", "/v2/metadefs/resource_types", rt_index,
       "the resource types (Glance's own and any an association named)"),
    MD("GET", NS "/resource_types", assoc_index, "the namespace's resource type associations"),
    MD("POST", NS "/resource_types", assoc_create,
       "associates a resource type (`name`, `prefix`, `properties_target`; admin; 201)"),
    MD("DELETE", NS "/resource_types/{resource_type}", assoc_delete,
       "removes an association (admin; 204)"),
    MD("GET", "/v2/schemas/metadefs/{which}", schema_route,
       "the schemas of `namespace`, `namespaces`, `object`, `objects`, `property`, "
       "`properties`, `tag`, `tags`, `resource_type` and `resource_types` (404 for others)"),
    { NULL, NULL, SVC_NONE, false, NULL, API_POLICY_NONE, NULL, NULL, 0, 0, NULL, NULL, NULL },
};
