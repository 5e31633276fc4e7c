/* Request body parsing: the one place untrusted JSON enters volswap-api.
 * Order matters: the size cap and a nesting-depth scan run before jansson
 * allocates anything, then the document must be one object with exactly the
 * schema's root key, whose fields are checked by a declarative schema
 * (type, required, length, bounds). Unknown fields are rejected, as Nova's
 * jsonschema validation with additionalProperties=false does, and messages
 * follow Nova's "Invalid input for field/attribute ..." wording. */
#include "base.h"

#include <stdint.h>

#include <ctype.h>
#include <string.h>
#include <strings.h>

int body_json_depth(const char *text, size_t len, int limit)
{
    int depth = 0, max = 0;
    bool in_str = false, esc = false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_str) {
            if (esc)
                esc = false;
            else if (c == '\\')
                esc = true;
            else if (c == '"')
                in_str = false;
            continue;
        }
        if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max) {
                max = depth;
                if (max > limit)
                    return max;
            }
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return max;
}

static const char *type_name(enum body_type t)
{
    switch (t) {
    case BT_STRING: return "string";
    case BT_INT: return "integer";
    case BT_BOOL: return "boolean";
    case BT_OBJECT: return "object";
    case BT_STRING_OR_NULL: return "string, null";
    case BT_BOOL_OR_STRING: return "boolean, string";
    case BT_META_NOVA: return "object";
    case BT_META_CINDER: return "object";
    case BT_META_CINDER_OR_NULL: return "object, null";
    case BT_ARRAY: return "array";
    case BT_STRING_OR_ARRAY: return "string, array";
    case BT_OBJECT_OR_NULL: return "object, null";
    }
    return "?";
}

/* Nova accepts "true"/"false"-like strings where it allows boolean strings
 * (parameter_types.boolean); we accept the same spellings. */
static bool bool_string_ok(const char *s)
{
    static const char *const ok[] = { "true", "True", "TRUE", "false", "False", "FALSE", "1", "0",
                                      "yes",  "no",   "on",   "off",   "y",     "n",     "t", "f" };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strcmp(s, ok[i]) == 0)
            return true;
    return false;
}

bool api_truthy(const char *s)
{
    static const char *const yes[] = { "1", "true", "yes", "t", "on", "y" };
    for (size_t i = 0; s && i < sizeof yes / sizeof yes[0]; i++)
        if (strcasecmp(s, yes[i]) == 0)
            return true;
    return false;
}

bool body_bool(json_t *v)
{
    return json_is_boolean(v) ? json_is_true(v) : api_truthy(json_string_value(v));
}

static bool meta_key_ok(const char *k, bool slash)
{
    size_t n = strlen(k);
    if (n == 0 || n > 255)
        return false;
    for (const char *p = k; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("-_:. ", *p) && !(slash && *p == '/'))
            return false;
    return true;
}

/* Nova's words for a body that breaks its schema, where NAME is the field
 * (or the schema's root) they concern */
static int unexpected_key(struct api_error *e, const char *name, const char *key)
{
    return api_err(e, 400,
                   "Invalid input for field/attribute %s. "
                   "Additional properties are not allowed ('%.64s' was unexpected)",
                   name, key);
}

static int missing_key(struct api_error *e, const char *root, const char *key)
{
    return api_err(e, 400,
                   "Invalid input for field/attribute %s. "
                   "'%s' is a required property",
                   root, key);
}

static int not_an_object(struct api_error *e, const char *name)
{
    return api_err(e, 400, "Invalid input for field/attribute %s. %s is not of type 'object'", name,
                   name);
}

static int nul_in_value(struct api_error *e, const char *name)
{
    return api_err(e, 400, "Invalid input for field/attribute %s. Value contains a NUL character",
                   name);
}

/* A metadata map: every key and value as Nova's or Cinder's schema wants. */
static int check_meta(const struct body_field *f, json_t *map, struct api_error *e)
{
    const char *k;
    json_t *v;
    json_object_foreach(map, k, v) {
        if (!meta_key_ok(k, f->type != BT_META_NOVA))
            return unexpected_key(e, f->name, k);
        if (!json_is_string(v))
            return api_err(e, 400,
                           "Invalid input for field/attribute %s. Value: (non-string). "
                           "'%.64s' is not of type 'string'",
                           f->name, k);
        if (vs_utf8_len(json_string_value(v)) > 255)
            return api_err(e, 400,
                           "Invalid input for field/attribute %s. Value: %.64s... is too "
                           "long (max 255)",
                           f->name, json_string_value(v));
        if (strlen(json_string_value(v)) != json_string_length(v))
            return nul_in_value(e, f->name);
    }
    return 0;
}

static int check_field(const struct body_field *f, json_t *v, const char *root, struct api_error *e)
{
    bool ok = false;
    switch (f->type) {
    case BT_STRING: ok = json_is_string(v); break;
    case BT_STRING_OR_NULL: ok = json_is_string(v) || json_is_null(v); break;
    case BT_INT:
        /* Cinder and Nova accept integer-looking strings for sizes */
        ok = json_is_integer(v);
        break;
    case BT_BOOL: ok = json_is_boolean(v); break;
    case BT_BOOL_OR_STRING:
        ok = json_is_boolean(v) || (json_is_string(v) && bool_string_ok(json_string_value(v)));
        break;
    case BT_OBJECT: ok = json_is_object(v); break;
    case BT_OBJECT_OR_NULL: ok = json_is_object(v) || json_is_null(v); break;
    case BT_ARRAY: ok = json_is_array(v) && json_array_size(v) <= f->max_len; break;
    case BT_STRING_OR_ARRAY:
        ok = json_is_string(v) || (json_is_array(v) && json_array_size(v) <= f->max_len);
        break;
    case BT_META_CINDER_OR_NULL:
        if (json_is_null(v))
            return 0;
        /* fall through */
    case BT_META_NOVA:
    case BT_META_CINDER:
        if (!json_is_object(v))
            break;
        return check_meta(f, v, e);
    }
    if (!ok)
        return api_err(e, 400,
                       "Invalid input for field/attribute %s. Value: %.64s. "
                       "%s is not of type '%s'",
                       f->name, json_is_string(v) ? json_string_value(v) : "(non-string)", f->name,
                       type_name(f->type));
    /* lengths are characters, as jsonschema's maxLength/minLength count */
    if (json_is_string(v) && f->max_len && vs_utf8_len(json_string_value(v)) > f->max_len)
        return api_err(e, 400,
                       "Invalid input for field/attribute %s. Value: %.64s... "
                       "is too long (max %zu)",
                       f->name, json_string_value(v), f->max_len);
    if (json_is_string(v) && strlen(json_string_value(v)) != json_string_length(v))
        return nul_in_value(e, f->name);
    if (json_is_string(v) && f->type == BT_STRING && f->min > 0 &&
        vs_utf8_len(json_string_value(v)) < (size_t)f->min)
        return api_err(e, 400, "Invalid input for field/attribute %s. Value: %s. '%s' is too short",
                       f->name, json_string_value(v), json_string_value(v));
    if (f->type == BT_INT && (json_integer_value(v) < f->min || json_integer_value(v) > f->max))
        return api_err(e, 400,
                       "Invalid input for field/attribute %s. Value: %lld. "
                       "%lld is %s the %s of %lld",
                       f->name, (long long)json_integer_value(v), (long long)json_integer_value(v),
                       json_integer_value(v) < f->min ? "less than" : "greater than",
                       json_integer_value(v) < f->min ? "minimum" : "maximum",
                       json_integer_value(v) < f->min ? f->min : f->max);
    (void)root;
    return 0;
}

/* Checks DOC, a JSON object, against SCHEMA: 0 and its root's value in
 * *INNER, or -1 with the first fault in E. */
static int check_body(json_t *doc, const struct body_schema *schema, json_t **inner,
                      struct api_error *e)
{
    const char *k;
    json_t *v;
    json_object_foreach(doc, k, v) {
        if (schema->sibling && strcmp(k, schema->sibling) == 0) {
            if (json_is_object(v))
                continue;
            return not_an_object(e, schema->sibling);
        }
        if (strcmp(k, schema->root) != 0)
            return unexpected_key(e, schema->root, k);
    }
    *inner = json_object_get(doc, schema->root);
    if (!*inner)
        return missing_key(e, schema->root, schema->root);
    if (!json_is_object(*inner))
        return not_an_object(e, schema->root);
    if (!schema->fields) {
        const struct body_field whole = { schema->root, schema->root_type, true, 0, 0, 0 };
        return check_field(&whole, *inner, schema->root, e);
    }
    json_object_foreach(*inner, k, v) {
        const struct body_field *f = schema->fields;
        while (f->name && strcmp(f->name, k) != 0)
            f++;
        if (!f->name)
            return unexpected_key(e, schema->root, k);
        if (check_field(f, v, schema->root, e) < 0)
            return -1;
    }
    for (const struct body_field *f = schema->fields; f->name; f++)
        if (f->required && !json_object_get(*inner, f->name))
            return missing_key(e, schema->root, f->name);
    return 0;
}

json_t *body_parse(const char *body, size_t len, const struct body_schema *schema, json_t **doc,
                   struct api_error *e)
{
    *doc = NULL;
    if (len > API_MAX_BODY) {
        api_err(e, 413, "Request is too large.");
        return NULL;
    }
    if (len == 0 || !body) {
        api_err(e, 400, "Malformed request body");
        return NULL;
    }
    if (body_json_depth(body, len, API_MAX_DEPTH) > API_MAX_DEPTH) {
        api_err(e, 400, "Malformed request body: JSON nested deeper than %d levels", API_MAX_DEPTH);
        return NULL;
    }
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        api_err(e, 400, "Malformed request body: %s", jerr.text);
        return NULL;
    }
    json_t *inner = NULL;
    if (!json_is_object(root)) {
        api_err(e, 400, "Malformed request body: not a JSON object");
    } else if (check_body(root, schema, &inner, e) == 0) {
        *doc = root;
        return inner;
    }
    json_decref(root);
    return NULL;
}
