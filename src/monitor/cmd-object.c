/* object-add and object-del, for the objects TLS needs: tls-creds-x509,
 * tls-creds-psk and authz-simple, with QEMU's ObjectOptions members (a
 * flat union on qom-type). The objects themselves are src/crypto's; the
 * NBD server (tls-creds, tls-authz) and nbd block nodes (tls-creds) name
 * them by id. iothread objects (an event loop each) are iothread.c's. */
#include "monitor.h"

#include <string.h>

static const char *const qom_type_values[] = {
    "tls-creds-x509", "tls-creds-psk", "authz-simple", "iothread", NULL,
};
static const char *const endpoint_values[] = { "client", "server", NULL };

static const struct qmp_arg tls_x509_members[] = {
    { "dir", QT_STR, true,
      .doc = "directory with ca-cert.pem (and ca-crl.pem), server-cert.pem and "
             "server-key.pem (server) or client-cert.pem and client-key.pem (client), "
             "dh-params.pem (optional)" },
    { "endpoint", QT_ENUM, true, .enum_values = endpoint_values,
      .doc = "server or client (default client)" },
    { "verify-peer", QT_BOOL, true,
      .doc = "check the peer's certificate against the CA (default true; a server then "
             "requires a client certificate)" },
    { "priority", QT_STR, true, .doc = "GnuTLS priority string (default NORMAL)" },
    { "sanity-check", QT_BOOL, true,
      .doc = "check a server's own certificate against the CA now (default true)" },
    { "loaded", QT_BOOL, true, .doc = "accepted and ignored (deprecated in QEMU)" },
    { "passwordid", QT_STR, true, .doc = "not supported: keys must not be encrypted" },
    { 0 },
};

static const struct qmp_arg tls_psk_members[] = {
    { "dir", QT_STR, true, .doc = "directory with keys.psk (`username:hexkey` lines)" },
    { "endpoint", QT_ENUM, true, .enum_values = endpoint_values,
      .doc = "server or client (default client)" },
    { "verify-peer", QT_BOOL, true, .doc = "accepted (a PSK always authenticates both ends)" },
    { "priority", QT_STR, true,
      .doc = "GnuTLS priority string (default NORMAL; the PSK key exchanges are added)" },
    { "username", QT_STR, true, .doc = "client: the identity to use (default qemu)" },
    { "loaded", QT_BOOL, true, .doc = "accepted and ignored (deprecated in QEMU)" },
    { 0 },
};

static const struct qmp_arg authz_simple_members[] = {
    { "identity", QT_STR, false,
      .doc = "the one identity allowed: an x509 distinguished name as GnuTLS prints it, "
             "in certificate order (O=Org,CN=client), or a PSK username" },
    { 0 },
};

static const struct qmp_arg iothread_members[] = {
    { "poll-max-ns", QT_INT, true,
      .doc = "QEMU's longest busy poll (default 32768): kept and reported, volswapd's loops "
             "wait in io_uring" },
    { "poll-grow", QT_INT, true, .doc = "kept and reported (default 0)" },
    { "poll-shrink", QT_INT, true, .doc = "kept and reported (default 0)" },
    { "aio-max-batch", QT_INT, true, .doc = "kept and reported (default 0)" },
    { "thread-pool-min", QT_INT, true, .doc = "kept (the loop has one worker thread)" },
    { "thread-pool-max", QT_INT, true, .doc = "kept (the loop has one worker thread)" },
    { 0 },
};

static const struct qmp_branch object_branches[] = {
    { "tls-creds-x509", tls_x509_members },
    { "tls-creds-psk", tls_psk_members },
    { "authz-simple", authz_simple_members },
    { "iothread", iothread_members },
    { 0 },
};

static const struct qmp_arg object_add_members[] = {
    { "qom-type", QT_ENUM, false, .enum_values = qom_type_values, .doc = "the object's type" },
    { "id", QT_STR, false, .doc = "the object's id" },
    { 0 },
};
static const struct qmp_schema object_add_schema = {
    object_add_members, "qom-type", object_branches,
};

static const char *str_arg(json_t *args, const char *key)
{
    return json_string_value(json_object_get(args, key));
}

static json_t *cmd_object_add(struct qmp_ctx *ctx, json_t *args, struct vs_error *err)
{
    const char *type = str_arg(args, "qom-type");
    const char *id = str_arg(args, "id");
    if (strcmp(type, "iothread") == 0) {
        if (!vs_object_id_valid(id)) {
            vs_error_set(err, VS_ERR_GENERIC, "Parameter 'id' expects an identifier");
            return NULL;
        }
        return qmp_iothread_add(id, args, err) < 0 ? NULL : json_object();
    }
    if (qmp_iothread_exists(id)) {
        vs_error_set(err, VS_ERR_GENERIC,
                     "attempt to add duplicate property '%s' to object (type 'container')", id);
        return NULL;
    }
    struct vs_object_opts o = {
        .id = str_arg(args, "id"),
        .dir = str_arg(args, "dir"),
        .priority = str_arg(args, "priority"),
        .username = str_arg(args, "username"),
        .identity = str_arg(args, "identity"),
    };
    if (strcmp(type, "tls-creds-x509") == 0)
        o.kind = VS_OBJ_TLS_X509;
    else if (strcmp(type, "tls-creds-psk") == 0)
        o.kind = VS_OBJ_TLS_PSK;
    else
        o.kind = VS_OBJ_AUTHZ_SIMPLE;
    const char *endpoint = str_arg(args, "endpoint");
    o.endpoint = endpoint && strcmp(endpoint, "server") == 0 ? VS_TLS_SERVER : VS_TLS_CLIENT;
    json_t *verify = json_object_get(args, "verify-peer");
    o.verify_peer = verify ? json_is_true(verify) : true;
    json_t *sanity = json_object_get(args, "sanity-check");
    o.sanity_check = sanity ? json_is_true(sanity) : true;
    if (qmp_sandbox && o.dir && (o.dir[0] == '/' || strstr(o.dir, ".."))) {
        vs_error_set(err, VS_ERR_GENERIC, "Only relative directories in this sandbox");
        return NULL;
    }
    if (json_object_get(args, "passwordid")) {
        vs_error_set(err, VS_ERR_GENERIC,
                     "Encrypted private keys (passwordid) are not supported");
        return NULL;
    }
    return vs_object_add(&o, err) ? json_object() : NULL;
}

static const struct qmp_arg object_del_members[] = {
    { "id", QT_STR, false, .doc = "the object's id" },
    { 0 },
};
static const struct qmp_schema object_del_schema = { object_del_members };

static json_t *cmd_object_del(struct qmp_ctx *ctx, json_t *args, struct vs_error *err)
{
    const char *id = str_arg(args, "id");
    if (qmp_iothread_exists(id))
        return qmp_iothread_del(id, err) < 0 ? NULL : json_object();
    return vs_object_del(id, err) < 0 ? NULL : json_object();
}

/* The arguments that recreate an object (the state file). */
json_t *qmp_object_args(const struct vs_object *o)
{
    json_t *args = json_pack("{s:s,s:s}", "qom-type", vs_object_kind_name(o->kind), "id", o->id);
    if (o->kind == VS_OBJ_AUTHZ_SIMPLE) {
        json_object_set_new(args, "identity", json_string(o->identity));
        return args;
    }
    json_object_set_new(args, "dir", json_string(o->dir));
    json_object_set_new(args, "endpoint",
                        json_string(o->endpoint == VS_TLS_SERVER ? "server" : "client"));
    json_object_set_new(args, "verify-peer", json_boolean(o->verify_peer));
    if (o->kind == VS_OBJ_TLS_X509)
        json_object_set_new(args, "sanity-check", json_boolean(o->sanity_check));
    if (o->priority)
        json_object_set_new(args, "priority", json_string(o->priority));
    if (o->username)
        json_object_set_new(args, "username", json_string(o->username));
    return args;
}

const struct qmp_command qmp_object_commands[] = {
    { "object-add", &object_add_schema, cmd_object_add,
      "Create an object: TLS credentials for the NBD server or for nbd nodes "
      "(tls-creds-x509, tls-creds-psk, files in QEMU's layout, loaded now so that "
      "a broken directory is this command's error), an authz-simple that the "
      "NBD server's tls-authz names, or an iothread: an event loop on a thread of its "
      "own, which serves the clients of the exports bound to it (block-export-add's "
      "iothread). Other QEMU object types are not supported.",
      .mutates = true },
    { "object-del", &object_del_schema, cmd_object_del,
      "Delete an object. As in QEMU this succeeds also while the NBD server, a client "
      "connection or an nbd node uses TLS credentials: the id is free at once, and they "
      "keep the object until they are done (the state file keeps what they still use). "
      "An iothread is refused while an export is bound to it or clients of a deleted "
      "one still run there (QEMU lets it go).",
      .mutates = true },
    { 0 },
};
