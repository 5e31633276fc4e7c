/* The bodies of Glance's metadata definitions (namespaces, objects,
 * properties, tags, resource type associations), checked as Glance's
 * schemas have them before anything is stored: known attributes only,
 * each of its type and within its length, the read-only ones (self,
 * schema, created_at, updated_at) refused. What passes is the document the
 * registry keeps, without the name, which the caller gets apart. A
 * namespace may carry its definitions inline (properties, objects, tags,
 * resource_type_associations): each is checked the same way and left in
 * the document for the caller to store apart. Pure: no registry, no
 * request, so the fuzz target runs it alone. */
#include "image.h"

#include <string.h>

#define MD_DEPTH 12

static const char *const read_only[] = { "self", "schema", "created_at", "updated_at", NULL };
static const char *const prop_types[] = { "array",  "boolean", "integer", "number",
                                          "object", "string",  NULL };

static bool in(const char *const *l, const char *s)
{
    for (; *l; l++)
        if (!strcmp(*l, s))
            return true;
    return false;
}

static int unexpected(struct api_error *e, const char *what, const char *k)
{
    if (in(read_only, k))
        return api_err(e, 403, "Attribute '%.64s' is read-only.", k);
    return api_err(e, 400,
                   "Provided object does not match schema '%s': Additional properties are not "
                   "allowed ('%.64s' was unexpected)",
                   what, k);
}

/* A string of at most MAX bytes (valid UTF-8); REQUIRED: present and not
 * empty. */
static int check_str(struct api_error *e, const char *what, json_t *o, const char *k, size_t max,
                     bool required)
{
    json_t *v = json_object_get(o, k);
    if (!v) {
        if (required)
            return api_err(e, 400,
                           "Provided object does not match schema '%s': '%s' is a required "
                           "property",
                           what, k);
        return 0;
    }
    const char *s = json_string_value(v);
    if (!s)
        return api_err(e, 400, "Provided object does not match schema '%s': %s is not a string",
                       what, k);
    if (required && !s[0])
        return api_err(e, 400, "Provided object does not match schema '%s': %s is empty", what, k);
    if (strlen(s) > max || !vs_utf8_valid(s))
        return api_err(e, 400, "Provided object does not match schema '%s': %s is longer than %zu",
                       what, k, max);
    return 0;
}

static int check_type(struct api_error *e, const char *what, json_t *o, const char *k,
                      json_type type)
{
    json_t *v = json_object_get(o, k);
    if (!v)
        return 0;
    bool ok = json_typeof(v) == type || (type == JSON_REAL && json_is_integer(v)) ||
              (type == JSON_TRUE && json_is_boolean(v));
    if (type == JSON_INTEGER && ok && json_integer_value(v) < 0)
        ok = false;
    if (!ok)
        return api_err(e, 400, "Provided object does not match schema '%s': %s has a wrong type",
                       what, k);
    return 0;
}

static int check_string_array(struct api_error *e, const char *what, json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    if (!v)
        return 0;
    size_t i;
    json_t *x;
    if (!json_is_array(v) || json_array_size(v) > 1000)
        return api_err(e, 400, "Provided object does not match schema '%s': %s is not an array",
                       what, k);
    json_array_foreach(v, i, x) {
        const char *s = json_string_value(x);
        if (!s || strlen(s) > 255 || !vs_utf8_valid(s))
            return api_err(e, 400,
                           "Provided object does not match schema '%s': %s holds a value that is "
                           "not a string",
                           what, k);
    }
    return 0;
}

/* A property definition (without its name, or with it when NAMED). */
static int check_property(json_t *p, bool named, struct api_error *e)
{
    static const char *const keys[] = {
        "name",        "title",     "description", "type",
        "default",     "enum",      "minimum",     "maximum",
        "minLength",   "maxLength", "pattern",     "items",
        "uniqueItems", "minItems",  "maxItems",    "additionalItems",
        "readonly",    "operators", NULL
    };
    const char *what = "property";
    if (!json_is_object(p))
        return api_err(e, 400, "Provided object does not match schema 'property': not an object");
    const char *k;
    json_t *v;
    json_object_foreach(p, k, v) {
        if (!in(keys, k) || (!named && !strcmp(k, "name")))
            return unexpected(e, what, k);
    }
    if ((named && check_str(e, what, p, "name", 80, true) < 0) ||
        check_str(e, what, p, "title", 255, true) < 0 ||
        check_str(e, what, p, "description", 500, false) < 0 ||
        check_str(e, what, p, "type", 16, true) < 0 ||
        check_str(e, what, p, "pattern", 255, false) < 0 ||
        check_type(e, what, p, "minimum", JSON_REAL) < 0 ||
        check_type(e, what, p, "maximum", JSON_REAL) < 0 ||
        check_type(e, what, p, "minLength", JSON_INTEGER) < 0 ||
        check_type(e, what, p, "maxLength", JSON_INTEGER) < 0 ||
        check_type(e, what, p, "minItems", JSON_INTEGER) < 0 ||
        check_type(e, what, p, "maxItems", JSON_INTEGER) < 0 ||
        check_type(e, what, p, "uniqueItems", JSON_TRUE) < 0 ||
        check_type(e, what, p, "additionalItems", JSON_TRUE) < 0 ||
        check_type(e, what, p, "readonly", JSON_TRUE) < 0 ||
        check_string_array(e, what, p, "operators") < 0)
        return -1;
    if (!in(prop_types, json_string_value(json_object_get(p, "type"))))
        return api_err(e, 400,
                       "Provided object does not match schema 'property': type is not one of "
                       "array, boolean, integer, number, object, string");
    json_t *en = json_object_get(p, "enum");
    if (en && (!json_is_array(en) || json_array_size(en) > 1000))
        return api_err(e, 400,
                       "Provided object does not match schema 'property': enum is not an "
                       "array");
    json_t *items = json_object_get(p, "items");
    if (items) {
        if (!json_is_object(items))
            return api_err(e, 400,
                           "Provided object does not match schema 'property': items is "
                           "not an object");
        json_object_foreach(items, k, v) {
            if (strcmp(k, "type") != 0 && strcmp(k, "enum") != 0)
                return unexpected(e, "property", k);
        }
        const char *t = json_string_value(json_object_get(items, "type"));
        json_t *ie = json_object_get(items, "enum");
        if ((json_object_get(items, "type") && !in(prop_types, t ? t : "")) ||
            (ie && !json_is_array(ie)))
            return api_err(e, 400,
                           "Provided object does not match schema 'property': items has "
                           "a wrong type or enum");
    }
    return 0;
}

/* A map of property definitions, name to definition. */
static int check_properties(json_t *ps, struct api_error *e)
{
    if (!json_is_object(ps) || json_object_size(ps) > 1000)
        return api_err(e, 400,
                       "Provided object does not match schema: properties is not an "
                       "object");
    const char *k;
    json_t *v;
    json_object_foreach(ps, k, v) {
        if (!k[0] || strlen(k) > 80 || !vs_utf8_valid(k))
            return api_err(e, 400, "Invalid property name: 1 to 80 characters.");
        if (check_property(v, false, e) < 0)
            return -1;
    }
    return 0;
}

static int check_object(json_t *o, struct api_error *e)
{
    static const char *const keys[] = { "name", "description", "required", "properties", NULL };
    if (!json_is_object(o))
        return api_err(e, 400, "Provided object does not match schema 'object': not an object");
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        if (!in(keys, k))
            return unexpected(e, "object", k);
    }
    if (check_str(e, "object", o, "name", 80, true) < 0 ||
        check_str(e, "object", o, "description", 500, false) < 0 ||
        check_string_array(e, "object", o, "required") < 0)
        return -1;
    json_t *ps = json_object_get(o, "properties");
    return ps ? check_properties(ps, e) : 0;
}

static int check_tag(json_t *t, struct api_error *e)
{
    if (!json_is_object(t))
        return api_err(e, 400, "Provided object does not match schema 'tag': not an object");
    const char *k;
    json_t *v;
    json_object_foreach(t, k, v) {
        if (strcmp(k, "name") != 0)
            return unexpected(e, "tag", k);
    }
    return check_str(e, "tag", t, "name", 255, true);
}

static int check_association(json_t *a, struct api_error *e)
{
    static const char *const keys[] = { "name", "prefix", "properties_target", NULL };
    const char *what = "resource_type_association";
    if (!json_is_object(a))
        return api_err(e, 400, "Provided object does not match schema '%s': not an object", what);
    const char *k;
    json_t *v;
    json_object_foreach(a, k, v) {
        if (!in(keys, k))
            return unexpected(e, what, k);
    }
    return check_str(e, what, a, "name", 80, true) < 0 ||
                   check_str(e, what, a, "prefix", 80, false) < 0 ||
                   check_str(e, what, a, "properties_target", 80, false) < 0
               ? -1
               : 0;
}

static int check_list(json_t *l, int (*check)(json_t *, struct api_error *), const char *what,
                      struct api_error *e)
{
    if (!json_is_array(l) || json_array_size(l) > 1000)
        return api_err(e, 400, "Provided object does not match schema: %s is not an array", what);
    size_t i;
    json_t *x;
    json_array_foreach(l, i, x) {
        if (check(x, e) < 0)
            return -1;
    }
    return 0;
}

static int check_namespace(json_t *n, struct api_error *e)
{
    static const char *const keys[] = {
        "namespace", "display_name", "description", "visibility", "protected",
        "owner",     "properties",   "objects",     "tags",       "resource_type_associations",
        NULL
    };
    const char *what = "namespace";
    const char *k;
    json_t *v;
    json_object_foreach(n, k, v) {
        if (!in(keys, k))
            return unexpected(e, what, k);
    }
    if (check_str(e, what, n, "namespace", 80, true) < 0 ||
        check_str(e, what, n, "display_name", 80, false) < 0 ||
        check_str(e, what, n, "description", 500, false) < 0 ||
        check_str(e, what, n, "owner", 32, false) < 0 ||
        check_type(e, what, n, "protected", JSON_TRUE) < 0)
        return -1;
    json_t *vis = json_object_get(n, "visibility");
    const char *vs = json_string_value(vis);
    if (vis && (!vs || (strcmp(vs, "public") != 0 && strcmp(vs, "private") != 0)))
        return api_err(e, 400,
                       "Provided object does not match schema 'namespace': visibility is not one "
                       "of public, private");
    if ((v = json_object_get(n, "properties")) && check_properties(v, e) < 0)
        return -1;
    if ((v = json_object_get(n, "objects")) && check_list(v, check_object, "objects", e) < 0)
        return -1;
    if ((v = json_object_get(n, "tags")) && check_list(v, check_tag, "tags", e) < 0)
        return -1;
    if ((v = json_object_get(n, "resource_type_associations")) &&
        check_list(v, check_association, "resource_type_associations", e) < 0)
        return -1;
    return 0;
}

static int check_tags(json_t *b, struct api_error *e)
{
    const char *k;
    json_t *v;
    json_object_foreach(b, k, v) {
        if (strcmp(k, "tags") != 0)
            return unexpected(e, "tags", k);
    }
    json_t *l = json_object_get(b, "tags");
    if (!l)
        return api_err(e, 400,
                       "Provided object does not match schema 'tags': 'tags' is a "
                       "required property");
    return check_list(l, check_tag, "tags", e);
}

json_t *metadef_body_parse(enum metadef_kind kind, const char *body, size_t len,
                           struct api_error *e)
{
    if (!body || !len || len > 1024 * 1024 || body_json_depth(body, len, MD_DEPTH) > MD_DEPTH) {
        api_err(e, 400, "Malformed JSON in request body.");
        return NULL;
    }
    json_error_t jerr;
    json_t *b = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(b)) {
        json_decref(b);
        api_err(e, 400, "Malformed JSON in request body.");
        return NULL;
    }
    int rc = -1;
    static const char *const held[] = { "properties", "objects", "tags",
                                        "resource_type_associations" };
    switch (kind) {
    case METADEF_NAMESPACE_UPDATE:
        for (size_t i = 0; i < sizeof held / sizeof held[0]; i++)
            json_object_del(b, held[i]);
        rc = check_namespace(b, e);
        break;
    case METADEF_NAMESPACE: rc = check_namespace(b, e); break;
    case METADEF_OBJECT: rc = check_object(b, e); break;
    case METADEF_PROPERTY: rc = check_property(b, true, e); break;
    case METADEF_TAG: rc = check_tag(b, e); break;
    case METADEF_TAGS: rc = check_tags(b, e); break;
    case METADEF_ASSOCIATION: rc = check_association(b, e); break;
    }
    if (rc < 0) {
        json_decref(b);
        return NULL;
    }
    return b;
}
