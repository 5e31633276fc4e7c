/* The volswap-api configuration file: one JSON document (format documented
 * in docs/api.md) naming where to listen, the database, the Keystone users,
 * projects and roles (passwords stored as PBKDF2 hashes), the fixed admin
 * tokens, and the hosts with their driver, QMP socket, NBD address and volume
 * pools. The file is trusted more than a request but is still parsed
 * defensively: every string is length-checked into its fixed buffer and
 * every unknown key is an error, so a typo never silently drops a setting. */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>

#define MAX_CONFIG (4u << 20)

/* Copies string member KEY of OBJ into OUT; -1 with a message if it has the
 * wrong type or does not fit. Missing is fine unless REQUIRED. */
static int get_str(json_t *obj, const char *key, char *out, size_t outlen, bool required,
                   const char *where, struct api_error *e)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        if (required)
            return api_err(e, 400, "config: %s: missing \"%s\"", where, key);
        return 0;
    }
    if (!json_is_string(v))
        return api_err(e, 400, "config: %s: \"%s\" must be a string", where, key);
    if (json_string_length(v) >= outlen || strlen(json_string_value(v)) != json_string_length(v))
        return api_err(e, 400, "config: %s: \"%s\" is too long or contains NUL", where, key);
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static int check_keys(json_t *obj, const char *const *allowed, const char *where,
                      struct api_error *e)
{
    if (!json_is_object(obj))
        return api_err(e, 400, "config: %s must be an object", where);
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        const char *const *a = allowed;
        while (*a && strcmp(*a, k) != 0)
            a++;
        if (!*a)
            return api_err(e, 400, "config: %s: unknown key \"%.64s\"", where, k);
    }
    return 0;
}

static int get_array(json_t *obj, const char *key, json_t **out, const char *where,
                     struct api_error *e)
{
    *out = json_object_get(obj, key);
    if (*out && (!json_is_array(*out) || json_array_size(*out) > 1024))
        return api_err(e, 400, "config: %s: \"%s\" must be an array (max 1024)", where, key);
    return 0;
}

/* "max_swaps": how many swaps may run at once on a host or a pool. */
static int get_int(json_t *obj, const char *key, int dflt, int min, int max, int *out,
                   const char *where, struct api_error *e)
{
    json_t *v = json_object_get(obj, key);
    if (v && (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max))
        return api_err(e, 400, "config: %s.%s must be an integer %d..%d", where, key, min, max);
    *out = v ? (int)json_integer_value(v) : dflt;
    return 0;
}

/* "flavors": [{"id", "name"?, "vcpus"?, "ram"? (MB), "disk"? (GB)}], ids
 * unique; without the key the one flavor "volswap". */
static int parse_flavors(json_t *root, struct api_config *cfg, struct api_error *e)
{
    json_t *arr, *v;
    size_t i;
    if (get_array(root, "flavors", &arr, "top level", e) < 0)
        return -1;
    if (json_object_get(root, "flavors") &&
        (json_array_size(arr) == 0 || json_array_size(arr) > CFG_MAX_FLAVORS))
        return api_err(e, 400, "config: flavors must hold 1 to %d flavors", CFG_MAX_FLAVORS);
    cfg->flavors = calloc(json_array_size(arr) + 1, sizeof *cfg->flavors);
    if (!cfg->flavors)
        return api_err(e, 500, "config: out of memory");
    json_array_foreach(arr, i, v) {
        static const char *const fkeys[] = { "id", "name", "vcpus", "ram", "disk", NULL };
        struct cfg_flavor *f = &cfg->flavors[cfg->n_flavors];
        if (check_keys(v, fkeys, "flavor", e) < 0 ||
            get_str(v, "id", f->id, sizeof f->id, true, "flavor", e) < 0 ||
            get_str(v, "name", f->name, sizeof f->name, false, "flavor", e) < 0 ||
            get_int(v, "vcpus", 1, 1, 4096, &f->vcpus, "flavor", e) < 0 ||
            get_int(v, "ram", 512, 1, 16777216, &f->ram_mb, "flavor", e) < 0 ||
            get_int(v, "disk", 0, 0, 1048576, &f->disk_gb, "flavor", e) < 0)
            return -1;
        if (!f->id[0] || strchr(f->id, '/'))
            return api_err(e, 400, "config: a flavor id is 1 to 64 characters without '/'");
        if (config_flavor(cfg, f->id))
            return api_err(e, 400, "config: flavor %s is named twice", f->id);
        if (!f->name[0])
            snprintf(f->name, sizeof f->name, "%s", f->id);
        cfg->n_flavors++;
    }
    if (cfg->n_flavors == 0) {
        cfg->flavors[0] = (struct cfg_flavor){ "volswap", "volswap", 1, 512, 0 };
        cfg->n_flavors = 1;
    }
    return 0;
}

const struct cfg_flavor *config_flavor(const struct api_config *c, const char *id)
{
    for (size_t i = 0; id && i < c->n_flavors; i++)
        if (strcmp(c->flavors[i].id, id) == 0)
            return &c->flavors[i];
    return NULL;
}

static int get_max_swaps(json_t *j, int *out, const char *what, struct api_error *e)
{
    json_t *m = json_object_get(j, "max_swaps");
    if (m && (!json_is_integer(m) || json_integer_value(m) < 0 || json_integer_value(m) > 4096))
        return api_err(e, 400, "config: %s: max_swaps must be 0..4096", what);
    *out = m ? (int)json_integer_value(m) : 0;
    return 0;
}

static int parse_pool(json_t *j, struct cfg_pool *p, struct api_error *e)
{
    static const char *const keys[] = { "name",      "type",       "path",         "devices",
                                        "max_swaps", "managed_by", "volume_clear", NULL };
    char type[16] = "", managed_by[16] = "", clear[16] = "";
    if (check_keys(j, keys, "pool", e) < 0 ||
        get_str(j, "name", p->name, sizeof p->name, true, "pool", e) < 0 ||
        get_str(j, "type", type, sizeof type, true, "pool", e) < 0 ||
        get_str(j, "managed_by", managed_by, sizeof managed_by, false, "pool", e) < 0 ||
        get_str(j, "volume_clear", clear, sizeof clear, false, "pool", e) < 0 ||
        get_max_swaps(j, &p->max_swaps, p->name, e) < 0)
        return -1;
    if (managed_by[0] && strcmp(managed_by, "api") != 0 && strcmp(managed_by, "host") != 0)
        return api_err(e, 400, "config: pool %s: managed_by must be \"api\" or \"host\"", p->name);
    p->on_host = strcmp(managed_by, "host") == 0;
    if (clear[0] && strcmp(clear, "zero") != 0 && strcmp(clear, "none") != 0)
        return api_err(e, 400, "config: pool %s: volume_clear must be \"zero\" or \"none\"",
                       p->name);
    p->clear_none = strcmp(clear, "none") == 0;
    if (strcmp(type, "dir") == 0) {
        p->is_dir = true;
        return get_str(j, "path", p->path, sizeof p->path, true, "pool", e);
    }
    if (strcmp(type, "block") != 0)
        return api_err(e, 400, "config: pool %s: type must be \"dir\" or \"block\"", p->name);
    json_t *devs;
    if (get_array(j, "devices", &devs, "pool", e) < 0)
        return -1;
    if (!devs || json_array_size(devs) == 0)
        return api_err(e, 400, "config: pool %s: block pool needs \"devices\"", p->name);
    p->devices = calloc(json_array_size(devs), sizeof *p->devices);
    size_t i;
    json_t *d;
    json_array_foreach(devs, i, d) {
        if (!json_is_string(d) || json_string_length(d) >= 1024 || json_string_length(d) == 0)
            return api_err(e, 400, "config: pool %s: devices must be paths", p->name);
        p->devices[p->n_devices++] = strdup(json_string_value(d));
    }
    return 0;
}

static int parse_host(json_t *j, struct cfg_host *h, struct api_error *e)
{
    static const char *const keys[] = { "name",      "driver", "qmp",   "uri",
                                        "tls",       "nbd",    "pools", "shutdown_timeout",
                                        "max_swaps", NULL };
    static const char *const tls_keys[] = { "dir", "hostname", NULL };
    static const char *const nbd_keys[] = { "type",
                                            "path",
                                            "host",
                                            "port",
                                            "start_server",
                                            "tls_creds",
                                            "client_tls_creds",
                                            "reconnect_delay",
                                            "tls_hostname",
                                            NULL };
    if (check_keys(j, keys, "host", e) < 0 ||
        get_str(j, "name", h->name, sizeof h->name, true, "host", e) < 0 ||
        get_str(j, "driver", h->driver, sizeof h->driver, true, "host", e) < 0 ||
        get_max_swaps(j, &h->max_swaps, h->name, e) < 0)
        return -1;
    /* a libvirt host is reached through libvirt's URI, never a QMP socket
     * (libvirt owns each domain's monitor), and needs no NBD server for
     * disks in its own pools */
    bool is_libvirt = strcmp(h->driver, "libvirt") == 0;
    if (get_str(j, "qmp", h->qmp, sizeof h->qmp, !is_libvirt, "host", e) < 0 ||
        get_str(j, "uri", h->uri, sizeof h->uri, is_libvirt, "host", e) < 0)
        return -1;
    /* Nova's shutdown_timeout: how long a clean shutdown may take */
    json_t *st = json_object_get(j, "shutdown_timeout");
    if (st &&
        (!json_is_integer(st) || json_integer_value(st) < 0 || json_integer_value(st) > 86400))
        return api_err(e, 400, "config: host %s: shutdown_timeout must be 0..86400 seconds",
                       h->name);
    h->shutdown_timeout = st ? (int)json_integer_value(st) : 60;
    if (strcmp(h->driver, "volswapd") != 0 && strcmp(h->driver, "qemu") != 0 && !is_libvirt)
        return api_err(e, 400,
                       "config: host %s: driver must be \"volswapd\", \"qemu\" or \"libvirt\"",
                       h->name);
    bool tcp = strncmp(h->qmp, "tcp:", 4) == 0;
    if (tcp) {
        const char *colon = strrchr(h->qmp + 4, ':');
        if (!colon || !colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1))
            return api_err(e, 400, "config: host %s: qmp must be a socket path or tcp:HOST:PORT",
                           h->name);
    }
    json_t *tls = json_object_get(j, "tls");
    if (tls) {
        if (!json_is_object(tls))
            return api_err(e, 400,
                           "config: host %s: tls must be {\"dir\": DIR[, \"hostname\": NAME]}",
                           h->name);
        if (check_keys(tls, tls_keys, "host tls", e) < 0 ||
            get_str(tls, "dir", h->qmp_tls_dir, sizeof h->qmp_tls_dir, true, "host tls", e) < 0 ||
            get_str(tls, "hostname", h->qmp_tls_hostname, sizeof h->qmp_tls_hostname, false,
                    "host tls", e) < 0)
            return -1;
        if (!tcp)
            return api_err(e, 400, "config: host %s: tls needs a tcp:HOST:PORT qmp address",
                           h->name);
    }
    json_t *nbd = json_object_get(j, "nbd");
    if (!nbd && is_libvirt)
        goto pools;
    if (!nbd)
        return api_err(e, 400, "config: host %s: missing \"nbd\"", h->name);
    if (check_keys(nbd, nbd_keys, "host nbd", e) < 0)
        return -1;
    char type[16] = "";
    if (get_str(nbd, "type", type, sizeof type, true, "host nbd", e) < 0)
        return -1;
    json_t *ss = json_object_get(nbd, "start_server");
    if (ss && !json_is_boolean(ss))
        return api_err(e, 400, "config: host %s: nbd.start_server must be a boolean", h->name);
    h->start_nbd_server = json_is_true(ss);
    if (get_str(nbd, "tls_creds", h->nbd_tls_creds, sizeof h->nbd_tls_creds, false, "host nbd", e) <
            0 ||
        get_str(nbd, "client_tls_creds", h->nbd_client_tls_creds, sizeof h->nbd_client_tls_creds,
                false, "host nbd", e) < 0 ||
        get_str(nbd, "tls_hostname", h->nbd_tls_hostname, sizeof h->nbd_tls_hostname, false,
                "host nbd", e) < 0)
        return -1;
    json_t *rd = json_object_get(nbd, "reconnect_delay");
    if (rd && (!json_is_integer(rd) || json_integer_value(rd) < 0 || json_integer_value(rd) > 3600))
        return api_err(e, 400, "config: host %s: nbd.reconnect_delay must be 0..3600 seconds",
                       h->name);
    h->nbd_reconnect_delay = rd ? (int)json_integer_value(rd) : 5;
    if (strcmp(type, "unix") == 0) {
        if (get_str(nbd, "path", h->nbd_socket, sizeof h->nbd_socket, true, "host nbd", e) < 0)
            return -1;
    } else if (strcmp(type, "inet") == 0) {
        if (get_str(nbd, "host", h->nbd_host, sizeof h->nbd_host, true, "host nbd", e) < 0)
            return -1;
        json_t *port = json_object_get(nbd, "port");
        if (!json_is_integer(port) || json_integer_value(port) < 1 ||
            json_integer_value(port) > 65535)
            return api_err(e, 400, "config: host %s: nbd.port must be 1..65535", h->name);
        h->nbd_port = (int)json_integer_value(port);
    } else {
        return api_err(e, 400, "config: host %s: nbd.type must be \"unix\" or \"inet\"", h->name);
    }
    /* QEMU refuses a TLS connection over a unix socket without a name to
     * check the server's certificate against */
    if (is_libvirt && h->qmp[0] && h->nbd_tls_creds[0] && h->nbd_socket[0] &&
        !h->nbd_tls_hostname[0])
        return api_err(e, 400,
                       "config: host %s: nbd.tls_hostname is needed with tls_creds on a unix "
                       "socket (the name the NBD server's certificate carries)",
                       h->name);
pools:;
    json_t *pools;
    if (get_array(j, "pools", &pools, "host", e) < 0)
        return -1;
    if (pools) {
        h->pools = calloc(json_array_size(pools) + 1, sizeof *h->pools);
        size_t i;
        json_t *pj;
        json_array_foreach(pools, i, pj) {
            struct cfg_pool *p = &h->pools[h->n_pools++];
            p->host = h;
            if (parse_pool(pj, p, e) < 0)
                return -1;
            /* only volswapd has the pool commands (a QEMU cannot delete
             * a file) */
            if (p->on_host && strcmp(h->driver, "volswapd") != 0)
                return api_err(e, 400,
                               "config: pool %s: managed_by \"host\" needs a volswapd host, "
                               "not %s",
                               p->name, h->driver);
        }
    }
    return 0;
}

/* "limits": what one client may hold of the HTTP service. */
static int parse_limits(json_t *j, struct api_config *cfg, struct api_error *e)
{
    static const struct {
        const char *key;
        int min, max;
        size_t off;
    } fields[] = {
        { "connections", 1, 65536, offsetof(struct api_config, max_connections) },
        { "connections_per_address", 1, 65536, offsetof(struct api_config, max_per_address) },
        { "request_seconds", 1, 3600, offsetof(struct api_config, request_seconds) },
        { "upload_bytes_per_second", 1, 1 << 30,
          offsetof(struct api_config, upload_bytes_per_second) },
    };
    static const char *const keys[] = { "connections", "connections_per_address", "request_seconds",
                                        "upload_bytes_per_second", NULL };
    if (!j)
        return 0;
    if (check_keys(j, keys, "limits", e) < 0)
        return -1;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        json_t *v = json_object_get(j, fields[i].key);
        if (!v)
            continue;
        if (!json_is_integer(v) || json_integer_value(v) < fields[i].min ||
            json_integer_value(v) > fields[i].max)
            return api_err(e, 400, "config: limits.%s must be %d..%d", fields[i].key, fields[i].min,
                           fields[i].max);
        *(int *)((char *)cfg + fields[i].off) = (int)json_integer_value(v);
    }
    return 0;
}

static int parse_user(json_t *j, struct cfg_user *u, struct api_error *e)
{
    static const char *const keys[] = { "id",    "name",    "domain", "password_hash",
                                        "roles", "enabled", NULL };
    if (check_keys(j, keys, "user", e) < 0 ||
        get_str(j, "name", u->name, sizeof u->name, true, "user", e) < 0 ||
        get_str(j, "id", u->id, sizeof u->id, false, "user", e) < 0 ||
        get_str(j, "domain", u->domain, sizeof u->domain, false, "user", e) < 0 ||
        get_str(j, "password_hash", u->password_hash, sizeof u->password_hash, true, "user", e) < 0)
        return -1;
    if (!u->domain[0])
        strcpy(u->domain, "Default");
    json_t *enabled = json_object_get(j, "enabled");
    if (enabled && !json_is_boolean(enabled))
        return api_err(e, 400, "config: user %s: enabled must be true or false", u->name);
    u->enabled = !enabled || json_is_true(enabled);
    if (strncmp(u->password_hash, "pbkdf2-sha256$", 14) != 0)
        return api_err(e, 400,
                       "config: user %s: password_hash must come from "
                       "volswap-api --hash-password",
                       u->name);
    json_t *roles = json_object_get(j, "roles");
    if (roles && (!json_is_object(roles) || json_object_size(roles) > 256))
        return api_err(e, 400, "config: user %s: roles must map project names to role lists",
                       u->name);
    const char *proj;
    json_t *list;
    json_object_foreach(roles, proj, list) {
        if (!json_is_array(list) || json_array_size(list) > AUTH_MAX_ROLES)
            return api_err(e, 400, "config: user %s: roles of %s must be a list (max %d)", u->name,
                           proj, AUTH_MAX_ROLES);
        size_t i;
        json_t *r;
        json_array_foreach(list, i, r) {
            if (!json_is_string(r) || json_string_length(r) >= 33 || strlen(proj) >= 65)
                return api_err(e, 400, "config: user %s: bad role name", u->name);
            struct cfg_role_assignment *na = realloc(u->roles, (u->n_roles + 1) * sizeof *na);
            if (!na)
                return api_err(e, 500, "out of memory");
            u->roles = na;
            snprintf(na[u->n_roles].project, sizeof na->project, "%s", proj);
            snprintf(na[u->n_roles].role, sizeof na->role, "%s", json_string_value(r));
            u->n_roles++;
        }
    }
    return 0;
}

/* Ids not given in the file are derived from the name so they are stable
 * across restarts (records keep pointing at the same project). */
static void derive_id(const char *kind, const char *name, char out[33])
{
    /* FNV-1a over kind/name, printed twice with different seeds: not secret,
   * only stable and well spread. */
    unsigned long long h1 = 1469598103934665603ULL, h2 = 1099511628211ULL * 7;
    for (const char *p = kind; *p; p++) {
        h1 = (h1 ^ (unsigned char)*p) * 1099511628211ULL;
    }
    for (const char *p = name; *p; p++) {
        h1 = (h1 ^ (unsigned char)*p) * 1099511628211ULL;
        h2 = (h2 ^ (unsigned char)*p) * 1469598103934665603ULL;
    }
    snprintf(out, 33, "%016llx%016llx", h1, h2);
}

int config_parse(const char *text, size_t len, struct api_config *cfg, struct api_error *e)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->listen_address, sizeof cfg->listen_address, "127.0.0.1");
    cfg->port = 8774;
    cfg->token_ttl = 3600;
    cfg->swap_lease_seconds = 8;
    cfg->threads = 4;
    cfg->max_connections = 1024;
    cfg->max_per_address = 64;
    cfg->request_seconds = 30;
    cfg->upload_bytes_per_second = 16384;
    if (len > MAX_CONFIG)
        return api_err(e, 400, "config: file larger than %u bytes", MAX_CONFIG);
    if (body_json_depth(text, len, 16) > 16)
        return api_err(e, 400, "config: nested too deeply");
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return api_err(e, 400, "config: line %d: %s", jerr.line, jerr.text);
    static const char *const keys[] = { "listen",      "database",     "public_url",
                                        "token_ttl",   "admin_tokens", "admin_project",
                                        "projects",    "flavors",      "users",
                                        "hosts",       "threads",      "limits",
                                        "tls",         "node",         "swap_lease_seconds",
                                        "fernet_keys", "images",       NULL };
    int rc = -1;
    if (check_keys(root, keys, "top level", e) < 0)
        goto out;
    json_t *listen = json_object_get(root, "listen");
    if (listen) {
        static const char *const lkeys[] = { "address", "port", NULL };
        if (check_keys(listen, lkeys, "listen", e) < 0 ||
            get_str(listen, "address", cfg->listen_address, sizeof cfg->listen_address, false,
                    "listen", e) < 0)
            goto out;
        json_t *port = json_object_get(listen, "port");
        if (port && (!json_is_integer(port) || json_integer_value(port) < 0 ||
                     json_integer_value(port) > 65535)) {
            api_err(e, 400, "config: listen.port must be 0..65535");
            goto out;
        }
        if (port)
            cfg->port = (int)json_integer_value(port);
    }
    if (get_str(root, "database", cfg->database, sizeof cfg->database, true, "top level", e) < 0 ||
        get_str(root, "public_url", cfg->public_url, sizeof cfg->public_url, false, "top level",
                e) < 0 ||
        get_str(root, "admin_project", cfg->admin_project, sizeof cfg->admin_project, false,
                "top level", e) < 0)
        goto out;
    if (!cfg->database[0]) {
        api_err(e, 400, "config: \"database\" must not be empty");
        goto out;
    }
    json_t *ttl = json_object_get(root, "token_ttl");
    if (ttl && (!json_is_integer(ttl) || json_integer_value(ttl) < 1 ||
                json_integer_value(ttl) > 7 * 86400)) {
        api_err(e, 400, "config: token_ttl must be 1..604800 seconds");
        goto out;
    }
    if (ttl)
        cfg->token_ttl = (int)json_integer_value(ttl);
    if (get_str(root, "node", cfg->node, sizeof cfg->node, false, "top level", e) < 0 ||
        get_str(root, "fernet_keys", cfg->fernet_keys, sizeof cfg->fernet_keys, false, "top level",
                e) < 0)
        goto out;
    if (!cfg->node[0] && gethostname(cfg->node, sizeof cfg->node - 1) < 0)
        snprintf(cfg->node, sizeof cfg->node, "volswap-api");
    json_t *lease = json_object_get(root, "swap_lease_seconds");
    if (lease && (!json_is_integer(lease) || json_integer_value(lease) < 2 ||
                  json_integer_value(lease) > 3600)) {
        api_err(e, 400, "config: swap_lease_seconds must be 2..3600");
        goto out;
    }
    if (lease)
        cfg->swap_lease_seconds = (int)json_integer_value(lease);
    json_t *threads = json_object_get(root, "threads");
    if (threads && (!json_is_integer(threads) || json_integer_value(threads) < 1 ||
                    json_integer_value(threads) > 64)) {
        api_err(e, 400, "config: threads must be 1..64");
        goto out;
    }
    if (threads)
        cfg->threads = (int)json_integer_value(threads);
    if (parse_limits(json_object_get(root, "limits"), cfg, e) < 0)
        goto out;
    json_t *images = json_object_get(root, "images");
    if (images) {
        static const char *const ikeys[] = { "dir", "quota_bytes", NULL };
        if (check_keys(images, ikeys, "images", e) < 0 ||
            get_str(images, "dir", cfg->image_dir, sizeof cfg->image_dir, true, "images", e) < 0)
            goto out;
        json_t *q = json_object_get(images, "quota_bytes");
        if (q && (!json_is_integer(q) || json_integer_value(q) < 0)) {
            api_err(e, 400, "config: images.quota_bytes must be an integer >= 0");
            goto out;
        }
        cfg->image_quota_bytes = q ? json_integer_value(q) : 0;
    }
    json_t *tls = json_object_get(root, "tls");
    if (tls) {
        static const char *const tkeys[] = { "cert", "key", NULL };
        if (check_keys(tls, tkeys, "tls", e) < 0 ||
            get_str(tls, "cert", cfg->tls_cert, sizeof cfg->tls_cert, true, "tls", e) < 0 ||
            get_str(tls, "key", cfg->tls_key, sizeof cfg->tls_key, true, "tls", e) < 0)
            goto out;
    }

    json_t *arr;
    size_t i;
    json_t *v;
    if (get_array(root, "admin_tokens", &arr, "top level", e) < 0)
        goto out;
    cfg->admin_tokens = calloc(json_array_size(arr) + 1, sizeof(char *));
    json_array_foreach(arr, i, v) {
        if (!json_is_string(v) || json_string_length(v) < 8 || json_string_length(v) > 256) {
            api_err(e, 400, "config: admin_tokens must be strings of 8..256 characters");
            goto out;
        }
        cfg->admin_tokens[cfg->n_admin_tokens++] = strdup(json_string_value(v));
    }
    if (get_array(root, "projects", &arr, "top level", e) < 0)
        goto out;
    cfg->projects = calloc(json_array_size(arr) + 1, sizeof *cfg->projects);
    json_array_foreach(arr, i, v) {
        static const char *const pkeys[] = { "id", "name", "domain", NULL };
        struct cfg_project *p = &cfg->projects[cfg->n_projects++];
        if (check_keys(v, pkeys, "project", e) < 0 ||
            get_str(v, "name", p->name, sizeof p->name, true, "project", e) < 0 ||
            get_str(v, "id", p->id, sizeof p->id, false, "project", e) < 0 ||
            get_str(v, "domain", p->domain, sizeof p->domain, false, "project", e) < 0)
            goto out;
        if (!p->domain[0])
            strcpy(p->domain, "Default");
        if (!p->id[0])
            derive_id("project", p->name, p->id);
    }
    if (parse_flavors(root, cfg, e) < 0)
        goto out;
    if (get_array(root, "users", &arr, "top level", e) < 0)
        goto out;
    cfg->users = calloc(json_array_size(arr) + 1, sizeof *cfg->users);
    json_array_foreach(arr, i, v) {
        struct cfg_user *u = &cfg->users[cfg->n_users++];
        if (parse_user(v, u, e) < 0)
            goto out;
        if (!u->id[0])
            derive_id("user", u->name, u->id);
        for (size_t r = 0; r < u->n_roles; r++) {
            if (!config_project_by_name(cfg, u->roles[r].project, NULL)) {
                api_err(e, 400, "config: user %s: unknown project %s", u->name,
                        u->roles[r].project);
                goto out;
            }
        }
    }
    if (get_array(root, "hosts", &arr, "top level", e) < 0)
        goto out;
    cfg->hosts = calloc(json_array_size(arr) + 1, sizeof *cfg->hosts);
    json_array_foreach(arr, i, v) {
        if (parse_host(v, &cfg->hosts[cfg->n_hosts++], e) < 0)
            goto out;
    }
    if (cfg->admin_project[0] && !config_project_by_name(cfg, cfg->admin_project, NULL)) {
        api_err(e, 400, "config: admin_project %s is not a project", cfg->admin_project);
        goto out;
    }
    if (!cfg->admin_project[0] && cfg->n_projects)
        snprintf(cfg->admin_project, sizeof cfg->admin_project, "%s", cfg->projects[0].name);
    rc = 0;
out:
    json_decref(root);
    if (rc < 0)
        config_free(cfg);
    return rc;
}

int config_load(const char *path, struct api_config *cfg, struct api_error *e)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return api_err(e, 400, "config: cannot open %s", path);
    char *buf = malloc(MAX_CONFIG + 1);
    size_t n = buf ? fread(buf, 1, MAX_CONFIG + 1, f) : 0;
    fclose(f);
    if (!buf)
        return api_err(e, 500, "out of memory");
    int rc = config_parse(buf, n, cfg, e);
    free(buf);
    return rc;
}

void config_free(struct api_config *cfg)
{
    for (size_t i = 0; i < cfg->n_admin_tokens; i++)
        free(cfg->admin_tokens[i]);
    free(cfg->admin_tokens);
    for (size_t i = 0; i < cfg->n_users; i++)
        free(cfg->users[i].roles);
    free(cfg->users);
    free(cfg->projects);
    free(cfg->flavors);
    for (size_t i = 0; i < cfg->n_hosts; i++) {
        for (size_t p = 0; p < cfg->hosts[i].n_pools; p++) {
            for (size_t d = 0; d < cfg->hosts[i].pools[p].n_devices; d++)
                free(cfg->hosts[i].pools[p].devices[d]);
            free(cfg->hosts[i].pools[p].devices);
        }
        free(cfg->hosts[i].pools);
    }
    free(cfg->hosts);
    memset(cfg, 0, sizeof *cfg);
}

const struct cfg_project *config_project_by_id(const struct api_config *c, const char *id)
{
    for (size_t i = 0; i < c->n_projects; i++)
        if (strcmp(c->projects[i].id, id) == 0)
            return &c->projects[i];
    return NULL;
}

const struct cfg_project *config_project_by_name(const struct api_config *c, const char *name,
                                                 const char *domain)
{
    for (size_t i = 0; i < c->n_projects; i++)
        if (strcmp(c->projects[i].name, name) == 0 &&
            (!domain || strcasecmp(c->projects[i].domain, domain) == 0 ||
             (strcasecmp(domain, "default") == 0 &&
              strcasecmp(c->projects[i].domain, "Default") == 0)))
            return &c->projects[i];
    return NULL;
}

const struct cfg_host *config_host(const struct api_config *c, const char *name)
{
    for (size_t i = 0; i < c->n_hosts; i++)
        if (strcmp(c->hosts[i].name, name) == 0)
            return &c->hosts[i];
    return NULL;
}

const struct cfg_pool *config_pool(const struct api_config *c, const char *name,
                                   const struct cfg_host **host)
{
    for (size_t i = 0; i < c->n_hosts; i++)
        for (size_t p = 0; p < c->hosts[i].n_pools; p++)
            if (strcmp(c->hosts[i].pools[p].name, name) == 0) {
                if (host)
                    *host = &c->hosts[i];
                return &c->hosts[i].pools[p];
            }
    return NULL;
}
