/* The body of Glance's PATCH /v2/images/{id}: a JSON-patch document
 * (RFC 6902) restricted as Glance restricts it: an array of operations
 * "add", "replace" and "remove" ({"op": "replace", "path": "/name", ...}
 * or Glance's own {"replace": "/name", ...}), each naming one top-level
 * attribute by a
 * JSON pointer of one segment ("/name", "/tags", "/my~1prop"), with a
 * value for add and replace. Untrusted input: the document is bounded
 * (size, depth, number of operations, the attribute's length) before
 * anything is applied, and every malformed piece is a 400 naming it. */
#include "image.h"

#include <string.h>

/* Decodes a JSON pointer of one segment into OUT: "~1" is '/', "~0" is '~'. */
static int pointer_segment(const char *path, char *out, size_t outlen, struct api_error *e)
{
    if (path[0] != '/')
        return api_err(e, 400, "Pointer `%.64s` does not start with \"/\".", path);
    size_t n = 0;
    for (const char *p = path + 1; *p; p++) {
        char c = *p;
        if (c == '/')
            return api_err(e, 400, "Nested paths are not allowed");
        if (c == '~') {
            if (p[1] == '0')
                c = '~';
            else if (p[1] == '1')
                c = '/';
            else
                return api_err(e, 400,
                               "Invalid JSON pointer `%.64s`: ~ must be followed by 0 or 1.", path);
            p++;
        }
        if (n + 1 >= outlen)
            return api_err(e, 400, "Attribute name `%.64s...` is longer than 255 characters.",
                           path + 1);
        out[n++] = c;
    }
    out[n] = '\0';
    if (n == 0)
        return api_err(e, 400, "Pointer `%s` contains adjacent \"/\".", path);
    return 0;
}

json_t *image_patch_parse(const char *body, size_t len, struct image_patch_op *ops, size_t max,
                          size_t *n, struct api_error *e)
{
    *n = 0;
    if (!body || len == 0) {
        api_err(e, 400, "Malformed JSON in request body.");
        return NULL;
    }
    if (body_json_depth(body, len, 8) > 8) {
        api_err(e, 400, "Malformed JSON in request body: nested too deeply.");
        return NULL;
    }
    json_error_t jerr;
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        api_err(e, 400, "Malformed JSON in request body.");
        return NULL;
    }
    if (!json_is_array(doc)) {
        api_err(e, 400, "Request body must be a JSON array of operation objects.");
        goto fail;
    }
    if (json_array_size(doc) > max) {
        api_err(e, 413, "Too many operations: at most %zu in one request.", max);
        goto fail;
    }
    size_t i;
    json_t *o;
    json_array_foreach(doc, i, o) {
        if (!json_is_object(o)) {
            api_err(e, 400, "Operations must be JSON objects.");
            goto fail;
        }
        struct image_patch_op *op = &ops[i];
        memset(op, 0, sizeof *op);
        const char *name = json_string_value(json_object_get(o, "op"));
        const char *path = json_string_value(json_object_get(o, "path"));
        /* Glance's own media type (v2.1) also spells an operation
         * {"replace": "/name", "value": ...}: the op as the key, its path
         * as the value */
        static const char *const short_ops[] = { "add", "replace", "remove" };
        for (size_t k = 0; !json_object_get(o, "op") && k < 3; k++) {
            json_t *pv = json_object_get(o, short_ops[k]);
            if (!pv)
                continue;
            if (name || !json_is_string(pv)) {
                api_err(e, 400,
                        "Operation objects must contain exactly one member named an "
                        "operation.");
                goto fail;
            }
            name = short_ops[k];
            path = json_string_value(pv);
        }
        if (!name) {
            api_err(e, 400, "Operation objects must contain exactly one member named \"op\".");
            goto fail;
        }
        if (!strcmp(name, "add"))
            op->kind = IMAGE_PATCH_ADD;
        else if (!strcmp(name, "replace"))
            op->kind = IMAGE_PATCH_REPLACE;
        else if (!strcmp(name, "remove"))
            op->kind = IMAGE_PATCH_REMOVE;
        else {
            api_err(e, 400, "Invalid operation: `%.32s`", name);
            goto fail;
        }
        if (!path) {
            api_err(e, 400, "Unable to find `path` in JSON Schema change");
            goto fail;
        }
        if (pointer_segment(path, op->attr, sizeof op->attr, e) < 0)
            goto fail;
        const char *k;
        json_t *v;
        json_object_foreach(o, k, v) {
            bool shorthand = !json_object_get(o, "op") && !strcmp(k, name);
            if (strcmp(k, "op") && strcmp(k, "path") && strcmp(k, "value") && !shorthand) {
                api_err(e, 400, "Operation objects contain an unknown member `%.32s`.", k);
                goto fail;
            }
        }
        op->value = json_object_get(o, "value");
        if (op->kind != IMAGE_PATCH_REMOVE && !op->value) {
            api_err(e, 400, "Operation \"%s\" requires a member named \"value\".", name);
            goto fail;
        }
        if (op->kind == IMAGE_PATCH_REMOVE && op->value) {
            api_err(e, 400, "Operation \"remove\" takes no member named \"value\".");
            goto fail;
        }
        (*n)++;
    }
    return doc;
fail:
    json_decref(doc);
    *n = 0;
    return NULL;
}
