/* Argument checking against a command's schema. The output is a fresh
 * object holding exactly the declared members with their declared types,
 * so a handler can json_object_get() without checking anything again.
 * Messages follow QEMU's wording, since scripts and people match on them. */
#include "monitor.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define QMP_MAX_DEPTH 32

static json_t *check_schema(const struct qmp_schema *schema, json_t *in, bool keyval,
                            const char *prefix, int depth, struct vs_error *err);

static const char *type_name(enum qmp_type t)
{
    switch (t) {
    case QT_STR: return "string";
    case QT_INT: return "integer";
    case QT_SIZE: return "size";
    case QT_BOOL: return "boolean";
    case QT_ENUM: return "string";
    case QT_OBJ: return "object";
    case QT_STR_OR_OBJ: return "string or object";
    default: return "value";
    }
}

static bool parse_size(const char *s, uint64_t *out)
{
    if (!*s || *s == '-')
        return false;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return false;
    unsigned shift = 0;
    switch (*end) {
    case '\0': break;
    case 'k': case 'K': shift = 10; end++; break;
    case 'M': shift = 20; end++; break;
    case 'G': shift = 30; end++; break;
    case 'T': shift = 40; end++; break;
    default: return false;
    }
    if (*end || (shift && v > (UINT64_MAX >> shift)))
        return false;
    *out = (uint64_t)v << shift;
    return true;
}

static json_t *check_value(const struct qmp_arg *a, json_t *v, bool keyval,
                           const char *path, int depth, struct vs_error *err)
{
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    switch (a->type) {
    case QT_STR:
        if (s)
            return json_incref(v);
        break;
    case QT_ENUM:
        if (s) {
            for (const char *const *e = a->enum_values; *e; e++)
                if (strcmp(*e, s) == 0)
                    return json_incref(v);
            vs_error_set(err, VS_ERR_GENERIC, "Parameter '%s' does not accept value '%s'",
                         path, s);
            return NULL;
        }
        break;
    case QT_BOOL:
        if (json_is_boolean(v))
            return json_incref(v);
        if (keyval && s) {
            if (!strcmp(s, "on") || !strcmp(s, "true") || !strcmp(s, "yes"))
                return json_true();
            if (!strcmp(s, "off") || !strcmp(s, "false") || !strcmp(s, "no"))
                return json_false();
            vs_error_set(err, VS_ERR_GENERIC, "Parameter '%s' expects 'on' or 'off'", path);
            return NULL;
        }
        break;
    case QT_INT:
        if (json_is_integer(v))
            return json_incref(v);
        if (keyval && s) {
            errno = 0;
            char *end = NULL;
            long long n = strtoll(s, &end, 10);
            if (!errno && end != s && !*end)
                return json_integer(n);
            vs_error_set(err, VS_ERR_GENERIC, "Parameter '%s' expects an integer", path);
            return NULL;
        }
        break;
    case QT_SIZE:
        if (json_is_integer(v)) {
            if (json_integer_value(v) < 0) {
                vs_error_set(err, VS_ERR_GENERIC,
                             "Parameter '%s' expects uint64", path);
                return NULL;
            }
            return json_incref(v);
        }
        if (keyval && s) {
            uint64_t n;
            if (parse_size(s, &n) && n <= INT64_MAX)
                return json_integer((json_int_t)n);
            vs_error_set(err, VS_ERR_GENERIC,
                         "Parameter '%s' expects a non-negative number below 2^63", path);
            return NULL;
        }
        break;
    case QT_OBJ:
        if (json_is_object(v))
            return check_schema(a->schema, v, keyval, path, depth + 1, err);
        break;
    case QT_STR_OR_OBJ:
        if (s)
            return json_incref(v);
        if (json_is_object(v))
            return check_schema(a->schema, v, keyval, path, depth + 1, err);
        break;
    case QT_ANY:
        return json_incref(v);
    case QT_NONE:
        break;
    }
    vs_error_set(err, VS_ERR_GENERIC, "Invalid parameter type for '%s', expected: %s",
                 path, type_name(a->type));
    return NULL;
}

static const struct qmp_arg *find_arg(const struct qmp_arg *list, const char *key)
{
    for (const struct qmp_arg *a = list; a && a->type != QT_NONE; a++)
        if (strcmp(a->name, key) == 0)
            return a;
    return NULL;
}

static void join_path(char *buf, size_t n, const char *prefix, const char *key)
{
    if (prefix && *prefix)
        snprintf(buf, n, "%s.%s", prefix, key);
    else
        snprintf(buf, n, "%s", key);
}

/* Checks the members of one list into `out`; `seen` collects the keys. */
static int check_members(const struct qmp_arg *list, json_t *in, json_t *out, bool keyval,
                         const char *prefix, int depth, struct vs_error *err)
{
    char path[256];
    for (const struct qmp_arg *a = list; a && a->type != QT_NONE; a++) {
        json_t *v = json_object_get(in, a->name);
        join_path(path, sizeof(path), prefix, a->name);
        if (!v || (json_is_null(v) && a->optional)) {
            if (!a->optional) {
                vs_error_set(err, VS_ERR_GENERIC, "Parameter '%s' is missing", path);
                return -1;
            }
            continue;
        }
        json_t *c = check_value(a, v, keyval, path, depth, err);
        if (!c)
            return -1;
        json_object_set_new(out, a->name, c);
    }
    return 0;
}

static json_t *check_schema(const struct qmp_schema *schema, json_t *in, bool keyval,
                            const char *prefix, int depth, struct vs_error *err)
{
    if (depth > QMP_MAX_DEPTH) {
        vs_error_set(err, VS_ERR_GENERIC, "Arguments nested too deeply");
        return NULL;
    }
    json_t *out = json_object();
    const struct qmp_arg *branch = NULL;
    if (check_members(schema->members, in, out, keyval, prefix, depth, err) < 0)
        goto fail;
    if (schema->discriminator) {
        const char *d = json_string_value(json_object_get(out, schema->discriminator));
        for (const struct qmp_branch *b = schema->branches; d && b && b->value; b++)
            if (strcmp(b->value, d) == 0)
                branch = b->members;
        if (branch && check_members(branch, in, out, keyval, prefix, depth, err) < 0)
            goto fail;
    }
    const char *key;
    json_t *v;
    json_object_foreach(in, key, v) {
        if (!find_arg(schema->members, key) && !find_arg(branch, key)) {
            char path[256];
            join_path(path, sizeof(path), prefix, key);
            vs_error_set(err, VS_ERR_GENERIC, "Parameter '%s' is unexpected", path);
            goto fail;
        }
    }
    return out;
fail:
    json_decref(out);
    return NULL;
}

json_t *qmp_schema_check(const struct qmp_schema *schema, json_t *in, bool keyval,
                         struct vs_error *err)
{
    if (!json_is_object(in)) {
        vs_error_set(err, VS_ERR_GENERIC, "Invalid parameter type for 'arguments', expected: object");
        return NULL;
    }
    return check_schema(schema, in, keyval, "", 0, err);
}
