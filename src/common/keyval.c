/* Parses the option strings of the command line ("file,node-name=vol0,
 * filename=/x,cache.direct=on") into the same JSON object a QMP client
 * would send, so the command line and the monitor run one code path. The
 * syntax is qemu-storage-daemon's: comma separated key=value pairs, ",,"
 * for a literal comma, dotted keys for nested objects, and optionally one
 * leading bare word standing for an implied key. */
#include "common.h"

#include <jansson.h>
#include <string.h>

#define KEYVAL_MAX_LEN 65536

/* Reads one element up to an unescaped ',' (or '=' when stop_at_eq). */
static char *read_part(const char **p, bool stop_at_eq)
{
    size_t cap = strlen(*p) + 1, n = 0;
    char *out = vs_malloc(cap);
    const char *s = *p;
    while (*s) {
        if (*s == ',') {
            if (s[1] == ',') {
                out[n++] = ',';
                s += 2;
                continue;
            }
            break;
        }
        if (stop_at_eq && *s == '=')
            break;
        out[n++] = *s++;
    }
    out[n] = '\0';
    *p = s;
    return out;
}

static int keyval_store(json_t *root, const char *key, const char *value,
                        struct vs_error *err)
{
    json_t *obj = root;
    char *dup = vs_strdup(key);
    char *save = NULL;
    char *part = strtok_r(dup, ".", &save);
    int ret = -1;
    if (!part || key[0] == '.' || key[strlen(key) - 1] == '.' || strstr(key, "..")) {
        vs_error_set(err, VS_ERR_GENERIC, "Invalid parameter '%s'", key);
        goto out;
    }
    for (;;) {
        char *next = strtok_r(NULL, ".", &save);
        json_t *cur = json_object_get(obj, part);
        if (!next) {
            if (cur) {
                vs_error_set(err, VS_ERR_GENERIC, "Parameter '%s' is set more than once", key);
                goto out;
            }
            json_object_set_new(obj, part, json_string(value));
            break;
        }
        if (!cur) {
            cur = json_object();
            json_object_set_new(obj, part, cur);
        } else if (!json_is_object(cur)) {
            vs_error_set(err, VS_ERR_GENERIC, "Parameter '%s' conflicts with '%s'", key, part);
            goto out;
        }
        obj = cur;
        part = next;
    }
    ret = 0;
out:
    free(dup);
    return ret;
}

void *vs_keyval_parse(const char *str, const char *implied_key, struct vs_error *err)
{
    if (strlen(str) > KEYVAL_MAX_LEN) {
        vs_error_set(err, VS_ERR_GENERIC, "Option string too long");
        return NULL;
    }
    json_t *root = json_object();
    const char *p = str;
    bool first = true;
    while (*p) {
        char *key = read_part(&p, true);
        if (*p == '=') {
            p++;
            char *value = read_part(&p, false);
            int r = key[0] ? keyval_store(root, key, value, err) : -1;
            if (!key[0])
                vs_error_set(err, VS_ERR_GENERIC, "Expected parameter before '=%s'", value);
            free(value);
            if (r < 0) {
                free(key);
                json_decref(root);
                return NULL;
            }
        } else if (first && implied_key && key[0]) {
            if (keyval_store(root, implied_key, key, err) < 0) {
                free(key);
                json_decref(root);
                return NULL;
            }
        } else {
            vs_error_set(err, VS_ERR_GENERIC, "Expected '=' after parameter '%s'", key);
            free(key);
            json_decref(root);
            return NULL;
        }
        free(key);
        first = false;
        if (*p == ',')
            p++;
    }
    return root;
}
