/* NBD server and export commands: nbd-server-start / nbd-server-stop,
 * block-export-add / block-export-del and query-block-exports, with QEMU's
 * argument schemas (SocketAddressLegacy for the server's address;
 * BlockExportOptions for exports) and QEMU 7.2's behaviour: exports need a
 * running server, and stopping the server deletes every NBD export
 * (BLOCK_EXPORT_DELETED for each, before the reply). */
#include "monitor.h"

#include <stdlib.h>
#include <string.h>

static const char *const addr_type_values[] = { "unix", "inet", "vsock", "fd", NULL };
static const char *const export_type_values[] = { "nbd", "vhost-user-blk", "fuse", "vduse-blk", NULL };

static const struct qmp_arg addr_data_members[] = {
    { "path", QT_STR, true, .doc = "unix: socket path" },
    { "abstract", QT_BOOL, true, .doc = "unix: accepted, must be false" },
    { "host", QT_STR, true, .doc = "inet: host" },
    { "port", QT_STR, true, .doc = "inet: port" },
    { "numeric", QT_BOOL, true, .doc = "inet: accepted and ignored" },
    { "to", QT_INT, true, .doc = "inet: accepted and ignored" },
    { "ipv4", QT_BOOL, true, .doc = "inet: accepted and ignored" },
    { "ipv6", QT_BOOL, true, .doc = "inet: accepted and ignored" },
    { "keep-alive", QT_BOOL, true, .doc = "inet: accepted and ignored" },
    { 0 },
};
static const struct qmp_schema addr_data_schema = { addr_data_members };

static const struct qmp_arg addr_members[] = {
    { "type", QT_ENUM, false, .enum_values = addr_type_values, .doc = "unix or inet" },
    { "data", QT_OBJ, false, .schema = &addr_data_schema, .doc = "the address" },
    { 0 },
};
static const struct qmp_schema addr_schema = { addr_members };

static const struct qmp_arg server_start_members[] = {
    { "addr", QT_OBJ, false, .schema = &addr_schema, .doc = "address to listen on" },
    { "tls-creds", QT_STR, true,
      .doc = "id of TLS credentials (tls-creds-x509 or tls-creds-psk, endpoint server): "
             "clients must then STARTTLS before anything else" },
    { "tls-authz", QT_STR, true,
      .doc = "id of an authz-simple object that must allow each client's identity, "
             "looked up per connection (as QEMU, only checked with verify-peer)" },
    { "max-connections", QT_INT, true, .doc = "limit of clients (0: unlimited)" },
    { "handshake-max-seconds", QT_INT, true,
      .doc = "seconds a client may take to finish the handshake (TLS included) before it "
             "is disconnected; 0: no limit (default 10, as QEMU 9.2)" },
    { 0 },
};
static const struct qmp_schema server_start_schema = { server_start_members };

/* Builds the server address from a checked SocketAddressLegacy. */
static int parse_addr(json_t *addr, struct nbd_server_addr *out, struct vs_error *err)
{
    const char *type = json_string_value(json_object_get(addr, "type"));
    json_t *data = json_object_get(addr, "data");
    memset(out, 0, sizeof(*out));
    if (strcmp(type, "unix") == 0) {
        const char *path = json_string_value(json_object_get(data, "path"));
        if (!path) {
            vs_error_set(err, VS_ERR_GENERIC, "Parameter 'addr.data.path' is missing");
            return -1;
        }
        if (json_is_true(json_object_get(data, "abstract"))) {
            vs_error_set(err, VS_ERR_GENERIC, "Abstract unix sockets are not supported");
            return -1;
        }
        if (qmp_sandbox && (path[0] == '/' || strchr(path, '/'))) {
            vs_error_set(err, VS_ERR_GENERIC, "Only relative socket paths in this sandbox");
            return -1;
        }
        out->type = NBD_ADDR_UNIX;
        out->path = vs_strdup(path);
        return 0;
    }
    if (strcmp(type, "inet") == 0 && !qmp_sandbox) {
        const char *host = json_string_value(json_object_get(data, "host"));
        const char *port = json_string_value(json_object_get(data, "port"));
        if (!host || !port) {
            vs_error_set(err, VS_ERR_GENERIC, "Parameter 'addr.data.%s' is missing",
                         host ? "port" : "host");
            return -1;
        }
        out->type = NBD_ADDR_INET;
        out->host = vs_strdup(host);
        out->port = vs_strdup(port);
        return 0;
    }
    vs_error_set(err, VS_ERR_GENERIC, "Socket address type '%s' is not supported", type);
    return -1;
}

/* ARGS' integer member NAME into *OUT when present (*OUT keeps its
 * default otherwise), refused outside QAPI's uint32. */
static int uint32_member(json_t *args, const char *name, unsigned *out, struct vs_error *err)
{
    json_t *v = json_object_get(args, name);
    if (!v)
        return 0;
    json_int_t i = json_integer_value(v);
    if (i < 0 || i > UINT32_MAX) {
        vs_error_set(err, VS_ERR_GENERIC, "Parameter '%s' expects uint32", name);
        return -1;
    }
    *out = (unsigned)i;
    return 0;
}

static json_t *cmd_nbd_server_start(struct qmp_ctx *ctx, json_t *args, struct vs_error *err)
{
    if (nbd_server_running()) {
        vs_error_set(err, VS_ERR_GENERIC, "NBD server already running");
        return NULL;
    }
    struct nbd_server_config cfg = {
        .handshake_max_seconds = NBD_HANDSHAKE_MAX_SECONDS_DEFAULT,
        .tls.authz = json_string_value(json_object_get(args, "tls-authz")),
    };
    const char *creds = json_string_value(json_object_get(args, "tls-creds"));
    if (creds && !(cfg.tls.creds = vs_tls_creds_lookup(creds, VS_TLS_SERVER, err)))
        return NULL;
    if (uint32_member(args, "max-connections", &cfg.max_connections, err) < 0 ||
        uint32_member(args, "handshake-max-seconds", &cfg.handshake_max_seconds, err) < 0)
        return NULL;
    struct nbd_server_addr addr;
    if (parse_addr(json_object_get(args, "addr"), &addr, err) < 0)
        return NULL;
    /* binding a unix socket replaces whatever file has its path: under
     * --confine-to-pools only the operator (--nbd-server, and the state
     * file it leads to) names one */
    if (qmp_pool_confined && ctx->session && addr.type == NBD_ADDR_UNIX) {
        vs_error_set(err, VS_ERR_GENERIC,
                     "nbd-server-start on a unix socket is refused under --confine-to-pools "
                     "(give it as --nbd-server)");
        nbd_server_addr_clear(&addr);
        return NULL;
    }
    int r = nbd_server_start(ctx->loop, &addr, &cfg, err);
    nbd_server_addr_clear(&addr);
    return r < 0 ? NULL : json_object();
}

static const struct qmp_arg export_nbd_members[] = {
    { "name", QT_STR, true, .doc = "NBD export name (default: the node name)" },
    { "description", QT_STR, true, .doc = "free text shown to clients" },
    { "bitmaps", QT_ANY, true, .doc = "not supported: must be absent or empty" },
    { "allocation-depth", QT_BOOL, true, .doc = "not supported: must be false" },
    { 0 },
};

static const struct qmp_branch export_branches[] = {
    { "nbd", export_nbd_members },
    { 0 },
};

static const struct qmp_arg export_members[] = {
    { "type", QT_ENUM, false, .enum_values = export_type_values, .doc = "only nbd" },
    { "id", QT_STR, false, .doc = "unique export id" },
    { "node-name", QT_STR, false, .doc = "node to export" },
    { "writable", QT_BOOL, true, .doc = "allow writes (default false)" },
    { "writethrough", QT_BOOL, true, .doc = "accepted and ignored" },
    { "fixed-iothread", QT_BOOL, true,
      .doc = "accepted: an export always runs in the iothread it names" },
    { "iothread", QT_STR, true,
      .doc = "an iothread object (object-add): the export's clients are served on its "
             "loop rather than the pool's" },
    { 0 },
};
static const struct qmp_schema export_schema = { export_members, "type", export_branches };

static json_t *cmd_block_export_add(struct qmp_ctx *ctx, json_t *args, struct vs_error *err)
{
    const char *type = json_string_value(json_object_get(args, "type"));
    if (strcmp(type, "nbd") != 0) {
        vs_error_set(err, VS_ERR_GENERIC, "Export type '%s' is not supported", type);
        return NULL;
    }
    json_t *bitmaps = json_object_get(args, "bitmaps");
    if ((bitmaps && !(json_is_array(bitmaps) && json_array_size(bitmaps) == 0)) ||
        json_is_true(json_object_get(args, "allocation-depth"))) {
        vs_error_set(err, VS_ERR_GENERIC, "bitmaps and allocation-depth are not supported");
        return NULL;
    }
    if (!nbd_server_running()) {
        vs_error_set(err, VS_ERR_GENERIC, "NBD server not running");
        return NULL;
    }
    struct nbd_export_opts o = {
        .id = json_string_value(json_object_get(args, "id")),
        .node_name = json_string_value(json_object_get(args, "node-name")),
        .name = json_string_value(json_object_get(args, "name")),
        .description = json_string_value(json_object_get(args, "description")),
        .writable = json_is_true(json_object_get(args, "writable")),
        .iothread = json_string_value(json_object_get(args, "iothread")),
    };
    if (o.iothread && !(o.loop = qmp_iothread_loop(o.iothread))) {
        vs_error_set(err, VS_ERR_GENERIC, "iothread \"%s\" not found", o.iothread);
        return NULL;
    }
    return nbd_export_add(&o, err) ? json_object() : NULL;
}

static json_t *cmd_nbd_server_stop(struct qmp_ctx *ctx, json_t *args, struct vs_error *err)
{
    if (!nbd_server_running()) {
        vs_error_set(err, VS_ERR_GENERIC, "NBD server not running");
        return NULL;
    }
    /* QEMU 7.2 closes every NBD export with the server. A hard delete of
     * an export closes its connections at once, so each is gone (and its
     * event sent) before the reply, as there. */
    struct nbd_export *exp = nbd_export_next(NULL);
    while (exp) {
        struct nbd_export *next = nbd_export_next(exp);
        if (!exp->deleting)
            nbd_export_del(exp, true, NULL);
        exp = next;
    }
    nbd_server_stop();
    return json_object();
}

static const char *const export_del_mode_values[] = { "safe", "hard", NULL };

static const struct qmp_arg export_del_members[] = {
    { "id", QT_STR, false, .doc = "the export's id" },
    { "mode", QT_ENUM, true, .enum_values = export_del_mode_values,
      .doc = "safe (default): fail while clients are connected; hard: disconnect them" },
    { 0 },
};
static const struct qmp_schema export_del_schema = { export_del_members };

static json_t *cmd_block_export_del(struct qmp_ctx *ctx, json_t *args, struct vs_error *err)
{
    const char *id = json_string_value(json_object_get(args, "id"));
    const char *mode = json_string_value(json_object_get(args, "mode"));
    struct nbd_export *exp = nbd_export_find_id(id);
    if (!exp) {
        vs_error_set(err, VS_ERR_GENERIC, "Export '%s' is not found", id);
        return NULL;
    }
    bool hard = mode && strcmp(mode, "hard") == 0;
    return nbd_export_del(exp, hard, err) < 0 ? NULL : json_object();
}

/* nbd-server-add / nbd-server-remove: QEMU's older export commands, which
 * scripts still use (deprecated there in 5.2, present in 7.2). They are
 * block-export-add / block-export-del with the export's id equal to its
 * name, as QEMU maps them, and two differences kept: the name defaults to
 * the device, and a read-only node is exported read-only even when
 * writable is asked, where block-export-add refuses. */
static const struct qmp_arg server_add_members[] = {
    { "device", QT_STR, false, .doc = "the node to export" },
    { "name", QT_STR, true, .doc = "export name, also the export's id (default: device)" },
    { "description", QT_STR, true, .doc = "free text shown to clients" },
    { "writable", QT_BOOL, true,
      .doc = "allow writes (default false); a read-only node stays read-only" },
    { "bitmap", QT_STR, true, .doc = "a dirty bitmap to export: volswapd has none" },
    { 0 },
};
static const struct qmp_schema server_add_schema = { server_add_members };

static json_t *cmd_nbd_server_add(struct qmp_ctx *ctx, json_t *args, struct vs_error *err)
{
    const char *device = json_string_value(json_object_get(args, "device"));
    const char *name = json_string_value(json_object_get(args, "name"));
    const char *bitmap = json_string_value(json_object_get(args, "bitmap"));
    struct block_node *node = block_node_lookup(device, device, err);
    if (!node)
        return NULL;
    if (!nbd_server_running()) {
        vs_error_set(err, VS_ERR_GENERIC, "NBD server not running");
        return NULL;
    }
    if (bitmap) {
        vs_error_set(err, VS_ERR_GENERIC, "Bitmap '%s' is not found", bitmap);
        return NULL;
    }
    struct nbd_export_opts o = {
        .id = name ? name : device,
        .node_name = device,
        .name = name ? name : device,
        .description = json_string_value(json_object_get(args, "description")),
        .writable = json_is_true(json_object_get(args, "writable")) && !node->read_only,
    };
    return nbd_export_add(&o, err) ? json_object() : NULL;
}

static const struct qmp_arg server_remove_members[] = {
    { "name", QT_STR, false, .doc = "the export's name (its id)" },
    { "mode", QT_ENUM, true, .enum_values = export_del_mode_values,
      .doc = "safe (default): fail while clients are connected; hard: disconnect them" },
    { 0 },
};
static const struct qmp_schema server_remove_schema = { server_remove_members };

static json_t *cmd_nbd_server_remove(struct qmp_ctx *ctx, json_t *args, struct vs_error *err)
{
    json_t *del = json_pack("{s:O}", "id", json_object_get(args, "name"));
    json_t *mode = json_object_get(args, "mode");
    if (mode)
        json_object_set(del, "mode", mode);
    json_t *r = cmd_block_export_del(ctx, del, err);
    json_decref(del);
    return r;
}

static json_t *cmd_query_block_exports(struct qmp_ctx *ctx, json_t *args, struct vs_error *err)
{
    json_t *list = json_array();
    for (struct nbd_export *e = nbd_export_next(NULL); e; e = nbd_export_next(e))
        /* The node served now: after a mirror's pivot, the target. */
        json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:b}", "type", "nbd",
                                              "id", e->id, "node-name", e->blk.node->name,
                                              "shutting-down", e->deleting));
    return list;
}

const struct qmp_command qmp_nbd_commands[] = {
    { "nbd-server-start", &server_start_schema, cmd_nbd_server_start,
      "Start the NBD server on a unix or inet address.", .mutates = true },
    { "nbd-server-stop", NULL, cmd_nbd_server_stop,
      "Stop the NBD server: its clients are disconnected and every NBD export is "
      "deleted (BLOCK_EXPORT_DELETED for each).", .mutates = true },
    { "block-export-add", &export_schema, cmd_block_export_add,
      "Export a block node over NBD (the NBD server must be running).", .mutates = true },
    { "block-export-del", &export_del_schema, cmd_block_export_del,
      "Delete an export. BLOCK_EXPORT_DELETED is sent once its last client is gone "
      "and the requests its clients sent into the node have finished (at once when "
      "there are none); the node is free from then on.", .mutates = true },
    { "nbd-server-add", &server_add_schema, cmd_nbd_server_add,
      "Export a block node over NBD under NAME (default: the device), which is also the "
      "export's id; QEMU's older form of block-export-add.", .mutates = true },
    { "nbd-server-remove", &server_remove_schema, cmd_nbd_server_remove,
      "Delete the export NAME; QEMU's older form of block-export-del.", .mutates = true },
    { "query-block-exports", NULL, cmd_query_block_exports,
      "Every export, including those shutting down.",
      .returns = "`[{\"type\": \"nbd\", \"id\", \"node-name\", \"shutting-down\"}, ...]`" },
    { 0 },
};
