/* volswapd's QMP monitors as the command line gives them: `--monitor
 * PATH`, or qemu-storage-daemon's pair `--chardev socket,id=ID,...` and
 * `--monitor chardev=ID`. A socket chardev is a unix path or a TCP
 * host and port; a TCP one may require TLS (`tls-creds=` naming server
 * credentials, `tls-authz=` an authz object that must allow the client).
 * Only what a QMP monitor on a listening socket needs is accepted; any
 * other option is refused by name, and the errors for TLS on the wrong
 * kind of socket or without credentials are QEMU's. The options are
 * checked as they come (credentials must be defined before the chardev
 * that names them, as in QEMU); the sockets are opened by
 * monitors_listen, once the whole command line has run. */
#include "daemon.h"

#include <stdlib.h>
#include <string.h>

struct chardev {
    char *id;
    char *path;       /* unix socket, or NULL */
    char *host, *port; /* TCP */
    char *tls_creds, *tls_authz;
};

#define MAX_CHARDEVS 16
static struct chardev chardevs[MAX_CHARDEVS];
static size_t n_chardevs;
/* Each monitor is a chardev; `--monitor PATH` makes an anonymous one. */
static struct chardev monitors[MAX_CHARDEVS];
static size_t n_monitors;

static bool is_on(const char *v)
{
    return strcmp(v, "on") == 0 || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0;
}

static bool is_off(const char *v)
{
    return strcmp(v, "off") == 0 || strcmp(v, "false") == 0 || strcmp(v, "no") == 0;
}

static char *dup_or_null(const char *s)
{
    return s ? vs_strdup(s) : NULL;
}

static void chardev_copy(struct chardev *dst, const struct chardev *src)
{
    dst->id = dup_or_null(src->id);
    dst->path = dup_or_null(src->path);
    dst->host = dup_or_null(src->host);
    dst->port = dup_or_null(src->port);
    dst->tls_creds = dup_or_null(src->tls_creds);
    dst->tls_authz = dup_or_null(src->tls_authz);
}

static void chardev_clear(struct chardev *c)
{
    free(c->id);
    free(c->path);
    free(c->host);
    free(c->port);
    free(c->tls_creds);
    free(c->tls_authz);
    memset(c, 0, sizeof(*c));
}

static const char *const chardev_keys[] = {
    "backend", "id", "path", "host", "port", "server", "wait", "tls-creds", "tls-authz", NULL,
};

/* Checks a parsed --chardev and fills `out` (borrowing kv's strings). */
static int chardev_check(json_t *kv, struct chardev *out, struct vs_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach(kv, key, v) {
        bool known = false;
        for (size_t i = 0; chardev_keys[i] && !known; i++)
            known = strcmp(key, chardev_keys[i]) == 0;
        if (!known) {
            vs_error_set(err, VS_ERR_GENERIC,
                         "option '%s' is not supported (socket,id=,path= or host=,port=,"
                         "server=on,wait=off,tls-creds=,tls-authz=)", key);
            return -1;
        }
        if (!json_is_string(v)) {
            vs_error_set(err, VS_ERR_GENERIC, "option '%s' takes a value", key);
            return -1;
        }
    }
#define GET(k) json_string_value(json_object_get(kv, k))
    const char *backend = GET("backend"), *server = GET("server"), *wait = GET("wait");
    out->id = (char *)GET("id");
    out->path = (char *)GET("path");
    out->host = (char *)GET("host");
    out->port = (char *)GET("port");
    out->tls_creds = (char *)GET("tls-creds");
    out->tls_authz = (char *)GET("tls-authz");
#undef GET
    if (!backend || strcmp(backend, "socket") != 0) {
        vs_error_set(err, VS_ERR_GENERIC, "only the 'socket' backend is supported");
        return -1;
    }
    if (!out->id) {
        vs_error_set(err, VS_ERR_GENERIC, "'id' is required");
        return -1;
    }
    if (out->path && (out->host || out->port)) {
        vs_error_set(err, VS_ERR_GENERIC, "None or one of 'path', 'fd' or 'host' option required.");
        return -1;
    }
    if (!out->path && !out->host && !out->port) {
        vs_error_set(err, VS_ERR_GENERIC, "'path', or 'host' and 'port', is required");
        return -1;
    }
    if (!out->path && !out->port) {
        vs_error_set(err, VS_ERR_GENERIC, "chardev: socket: no port given");
        return -1;
    }
    if (!server || !is_on(server)) {
        vs_error_set(err, VS_ERR_GENERIC, "only server=on is supported");
        return -1;
    }
    if (wait && !is_off(wait)) {
        vs_error_set(err, VS_ERR_GENERIC, "only wait=off is supported");
        return -1;
    }
    if (out->tls_creds && out->path) {
        vs_error_set(err, VS_ERR_GENERIC,
                     "'tls_creds' option is incompatible with 'unix' address type");
        return -1;
    }
    if (out->tls_authz && !out->tls_creds) {
        vs_error_set(err, VS_ERR_GENERIC, "'tls_authz' option requires 'tls_creds' option");
        return -1;
    }
    if (out->tls_creds && !vs_tls_creds_lookup(out->tls_creds, VS_TLS_SERVER, err))
        return -1;
    for (size_t i = 0; i < n_chardevs; i++) {
        if (strcmp(chardevs[i].id, out->id) == 0) {
            vs_error_set(err, VS_ERR_GENERIC, "duplicate chardev id '%s'", out->id);
            return -1;
        }
    }
    if (n_chardevs == MAX_CHARDEVS) {
        vs_error_set(err, VS_ERR_GENERIC, "too many chardevs");
        return -1;
    }
    return 0;
}

int monitors_chardev_option(const char *value, struct vs_error *err)
{
    json_t *kv = vs_keyval_parse(value, "backend", err);
    if (!kv)
        return -1;
    struct chardev c = { 0 };
    int r = chardev_check(kv, &c, err);
    if (r == 0)
        chardev_copy(&chardevs[n_chardevs++], &c);
    json_decref(kv);
    return r;
}

static const struct chardev *chardev_find(const char *id)
{
    for (size_t i = 0; i < n_chardevs; i++)
        if (strcmp(chardevs[i].id, id) == 0)
            return &chardevs[i];
    return NULL;
}

/* Checks qsd's --monitor [chardev=]ID[,mode=control][,pretty=off] and
 * returns the chardev it names, or NULL with err set. */
static const struct chardev *monitor_chardev(json_t *kv, struct vs_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach(kv, key, v) {
        const char *s = json_string_value(v);
        if (strcmp(key, "chardev") == 0 || strcmp(key, "id") == 0)
            continue;
        if (strcmp(key, "mode") == 0 && s && strcmp(s, "control") == 0)
            continue;
        if (strcmp(key, "pretty") == 0 && s && strcmp(s, "off") == 0)
            continue;
        vs_error_set(err, VS_ERR_GENERIC, "option '%s=%s' is not supported", key, s ? s : "");
        return NULL;
    }
    const char *id = json_string_value(json_object_get(kv, "chardev"));
    if (!id) {
        vs_error_set(err, VS_ERR_GENERIC, "'chardev' is required");
        return NULL;
    }
    const struct chardev *c = chardev_find(id);
    if (!c)
        vs_error_set(err, VS_ERR_GENERIC, "chardev '%s' not found", id);
    return c;
}

int monitors_monitor_option(const char *value, struct vs_error *err)
{
    if (n_monitors == MAX_CHARDEVS) {
        vs_error_set(err, VS_ERR_GENERIC, "too many monitors");
        return -1;
    }
    if (strchr(value, '=')) {
        json_t *kv = vs_keyval_parse(value, "chardev", err);
        if (!kv)
            return -1;
        const struct chardev *c = monitor_chardev(kv, err);
        if (c)
            chardev_copy(&monitors[n_monitors++], c);
        json_decref(kv);
        return c ? 0 : -1;
    }
    /* A bare chardev id, or else a socket path. */
    const struct chardev *c = chardev_find(value);
    if (c) {
        chardev_copy(&monitors[n_monitors++], c);
    } else {
        struct chardev path = { .path = (char *)value };
        chardev_copy(&monitors[n_monitors++], &path);
    }
    return 0;
}

int monitors_listen(struct vs_loop *loop, struct vs_error *err)
{
    for (size_t i = 0; i < n_monitors; i++) {
        const struct chardev *c = &monitors[i];
        int r = c->path ? qmp_server_listen(loop, c->path, err)
                        : qmp_server_listen_inet(loop, c->host, c->port, c->tls_creds,
                                                 c->tls_authz, err);
        if (r < 0)
            return -1;
    }
    return 0;
}

void monitors_free(void)
{
    for (size_t i = 0; i < n_chardevs; i++)
        chardev_clear(&chardevs[i]);
    for (size_t i = 0; i < n_monitors; i++)
        chardev_clear(&monitors[i]);
    n_chardevs = n_monitors = 0;
}
