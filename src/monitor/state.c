/* The daemon's state as a list of QMP commands: what it takes to serve
 * again, after a restart, what is served now.
 *
 * The snapshot is built from the live objects every time — the nodes with
 * the options they were opened with, the NBD server's address, every
 * export with the node it serves *now* — never from a log of the commands
 * that were run. That is what makes a mirror's pivot durable without the
 * job layer knowing about the state file: once block_node_replace has moved
 * an export to the target node, the next snapshot names the target.
 *
 * Restoring checks the whole document before it changes anything (a
 * damaged file is refused, not half-applied), then replays it through
 * qmp_dispatch, the same path as a QMP client or the command line. */
#include "monitor.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#define STATE_VERSION 1

static const char *const replayable[] = {
    "object-add",       "blockdev-add",        "nbd-server-start",
    "block-export-add", "x-volswap-pool-wipe",
};

static json_t *command(const char *name, json_t *args)
{
    return json_pack("{s:s,s:o}", "execute", name, "arguments", args);
}

static json_t *server_args(void)
{
    const struct nbd_server_addr *a = nbd_server_address();
    json_t *data = a->type == NBD_ADDR_UNIX
        ? json_pack("{s:s}", "path", a->path)
        : json_pack("{s:s,s:s}", "host", a->host ? a->host : "", "port", a->port);
    json_t *args = json_pack("{s:{s:s,s:o}}", "addr", "type",
                             a->type == NBD_ADDR_UNIX ? "unix" : "inet", "data", data);
    if (nbd_server_handshake_max_seconds() != NBD_HANDSHAKE_MAX_SECONDS_DEFAULT)
        json_object_set_new(args, "handshake-max-seconds",
                            json_integer(nbd_server_handshake_max_seconds()));
    struct nbd_server_tls tls = nbd_server_tls();
    if (tls.creds)
        json_object_set_new(args, "tls-creds", json_string(tls.creds->id));
    if (tls.authz)
        json_object_set_new(args, "tls-authz", json_string(tls.authz));
    if (nbd_server_max_connections())
        json_object_set_new(args, "max-connections",
                            json_integer(nbd_server_max_connections()));
    return args;
}

/* A node the job layer opened under a generated name ("#mirror-job0",
 * drive-mirror's target) is saved under a valid name derived from it,
 * since blockdev-add accepts no '#' names; exports that serve it follow. */
static char *saved_name(const struct block_node *n)
{
    if (n->name[0] != '#')
        return vs_strdup(n->name);
    char base[32];
    size_t k = (size_t)snprintf(base, sizeof(base), "restored-");
    for (const char *p = n->name + 1; *p && k < 24; p++)
        base[k++] = (char)((*p == '-' || *p == '.' || *p == '_' ||
                           (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                           (*p >= '0' && *p <= '9')) ? *p : '_');
    base[k] = '\0';
    char *name = vs_strdup(base);
    for (unsigned i = 2; block_node_find(name); i++) {
        free(name);
        name = vs_strdup_printf("%s%u", base, i);
    }
    return name;
}

struct saved_objects {
    json_t *cmds;
    json_t *ids;       /* ids of deleted objects saved so far */
};

/* Credentials the server or an nbd node still uses after an object-del
 * are saved too: without them a restart could not start the server or
 * open the node. Unless a new object took the id meanwhile: the saved
 * commands then name the new one, which is what a client would get. */
static void save_deleted_object(struct vs_object *o, void *opaque)
{
    struct saved_objects *so = opaque;
    struct vs_object *now = vs_object_find(o->id);
    if (now == o || json_object_get(so->ids, o->id))
        return;
    if (now) {
        vs_warn("state: TLS credentials '%s' in use were deleted and their id reused; "
                "a restart uses the new object", o->id);
        return;
    }
    json_object_set_new(so->ids, o->id, json_true());
    json_array_append_new(so->cmds, command("object-add", qmp_object_args(o)));
}

/* Last in the snapshot: a wipe resumed at start never meets a node of
 * its device (a device a node has open is not wiped). */
static void add_wipe_command(const char *device, void *cmds)
{
    json_array_append_new(cmds, command("x-volswap-pool-wipe",
                                        json_pack("{s:s}", "filename", device)));
}

static void add_object_command(json_t *args, void *cmds)
{
    json_array_append_new(cmds, command("object-add", args));
}

json_t *qmp_state_snapshot(void)
{
    json_t *cmds = json_array();
    json_t *renamed = json_object();   /* live name -> saved name */
    /* Objects first: the server and nbd nodes name them. */
    for (struct vs_object *o = vs_object_next(NULL); o; o = vs_object_next(o))
        json_array_append_new(cmds, command("object-add", qmp_object_args(o)));
    qmp_iothread_foreach_args(add_object_command, cmds);
    struct saved_objects so = { cmds, json_object() };
    if (nbd_server_running() && nbd_server_tls().creds)
        save_deleted_object(nbd_server_tls().creds, &so);
    qmp_node_tls_objects(save_deleted_object, &so);
    json_decref(so.ids);
    for (struct block_node *n = block_node_next(NULL); n; n = block_node_next(n)) {
        json_t *opts = qmp_node_options(n);
        if (opts) {
            json_t *args = json_deep_copy(opts);
            if (n->name[0] == '#') {
                char *name = saved_name(n);
                json_object_set_new(args, "node-name", json_string(name));
                json_object_set_new(renamed, n->name, json_string(name));
                free(name);
            }
            json_array_append_new(cmds, command("blockdev-add", args));
        } else if (n->name[0] != '#') {
            /* Opened by something that did not record how (a layer below
             * the monitor): it cannot be recreated, and saying so beats a
             * state file that silently lacks it. */
            vs_warn("state: node '%s' has no recorded options; it is not saved", n->name);
        }
    }
    if (nbd_server_running())
        json_array_append_new(cmds, command("nbd-server-start", server_args()));
    for (struct nbd_export *e = nbd_export_next(NULL); e; e = nbd_export_next(e)) {
        if (e->deleting)
            continue;
        /* A pivot that is not durable yet still names its source. */
        const struct block_node *node = e->blk.node->saved_as ? e->blk.node->saved_as
                                                              : e->blk.node;
        json_t *alias = json_object_get(renamed, node->name);
        json_t *args = json_pack("{s:s,s:s,s:s,s:s,s:b}", "type", "nbd", "id", e->id,
                                 "node-name", alias ? json_string_value(alias)
                                                    : node->name,
                                 "name", e->name, "writable", e->writable);
        if (e->description)
            json_object_set_new(args, "description", json_string(e->description));
        if (e->iothread)
            json_object_set_new(args, "iothread", json_string(e->iothread));
        json_array_append_new(cmds, command("block-export-add", args));
    }
    json_decref(renamed);
    qmp_pool_wipes_foreach(add_wipe_command, cmds);
    return json_pack("{s:i,s:o}", "volswap-state", STATE_VERSION, "commands", cmds);
}

int qmp_state_check(json_t *state, struct vs_error *err)
{
    if (!json_is_object(state)) {
        vs_error_set(err, VS_ERR_GENERIC, "not a JSON object");
        return -1;
    }
    json_t *ver = json_object_get(state, "volswap-state");
    if (!json_is_integer(ver) || json_integer_value(ver) != STATE_VERSION) {
        vs_error_set(err, VS_ERR_GENERIC, "'volswap-state' must be %d", STATE_VERSION);
        return -1;
    }
    json_t *cmds = json_object_get(state, "commands");
    if (!json_is_array(cmds) || json_object_size(state) != 2) {
        vs_error_set(err, VS_ERR_GENERIC,
                     "expected exactly the members 'volswap-state' and 'commands' (an array)");
        return -1;
    }
    size_t i;
    json_t *c;
    json_array_foreach(cmds, i, c) {
        const char *name = json_string_value(json_object_get(c, "execute"));
        bool known = false;
        for (size_t k = 0; name && k < VS_ARRAY_SIZE(replayable); k++)
            known |= strcmp(name, replayable[k]) == 0;
        if (!json_is_object(c) || json_object_size(c) != 2 || !known ||
            !json_is_object(json_object_get(c, "arguments"))) {
            vs_error_set(err, VS_ERR_GENERIC,
                         "commands[%zu]: expected {\"execute\": object-add | blockdev-add | "
                         "nbd-server-start | block-export-add | x-volswap-pool-wipe, "
                         "\"arguments\": {...}}", i);
            return -1;
        }
        /* Schema errors are found now, before anything is opened. */
        struct vs_error e = { 0 };
        json_t *checked = qmp_schema_check(qmp_command_find(name)->args,
                                           json_object_get(c, "arguments"), false, &e);
        if (!checked) {
            vs_error_set(err, VS_ERR_GENERIC, "commands[%zu] (%s): %s", i, name, e.msg);
            return -1;
        }
        json_decref(checked);
    }
    return 0;
}

/* Whether any string inside V is NAME: a reference to the node, by
 * whatever member names it. */
static bool mentions(json_t *v, const char *name)
{
    if (json_is_string(v))
        return strcmp(json_string_value(v), name) == 0;
    const char *k;
    json_t *m;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach(v, k, m)
            if (mentions(m, name))
                return true;
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, m)
            if (mentions(m, name))
                return true;
    }
    return false;
}

/* A file node whose file is gone, and that no other saved command uses, is
 * not restored: it can only be a volume the control plane deleted while
 * this daemon was down with the node still open (the target of a mirror
 * that died with the daemon, say). Refusing to start over it would take
 * every other volume of the host offline. A node something still uses
 * (an export, a raw node over it) keeps failing the restore: serving
 * anything else than what was served is worse than not starting. */
static bool gone_and_unused(json_t *cmds, size_t at)
{
    json_t *c = json_array_get(cmds, at);
    json_t *args = json_object_get(c, "arguments");
    const char *driver = json_string_value(json_object_get(args, "driver"));
    const char *file = json_string_value(json_object_get(args, "filename"));
    const char *node = json_string_value(json_object_get(args, "node-name"));
    if (strcmp(json_string_value(json_object_get(c, "execute")), "blockdev-add") != 0 ||
        !driver || (strcmp(driver, "file") != 0 && strcmp(driver, "host_device") != 0) ||
        !file || !node)
        return false;
    struct stat st;
    if (stat(file, &st) == 0 || errno != ENOENT)
        return false;
    size_t i;
    json_t *o;
    json_array_foreach(cmds, i, o)
        if (i != at && mentions(json_object_get(o, "arguments"), node))
            return false;
    vs_warn("state: node '%s' is not restored: its file '%s' is gone and nothing uses it",
            node, file);
    return true;
}

int qmp_state_restore(struct qmp_ctx *ctx, json_t *state, struct vs_error *err)
{
    if (qmp_state_check(state, err) < 0)
        return -1;
    size_t i;
    json_t *c;
    json_t *cmds = json_object_get(state, "commands");
    json_array_foreach(cmds, i, c) {
        const char *name = json_string_value(json_object_get(c, "execute"));
        if (gone_and_unused(cmds, i))
            continue;
        struct vs_error e = { 0 };
        json_t *ret = qmp_dispatch(ctx, name, json_object_get(c, "arguments"), false, &e);
        if (!ret) {
            vs_error_set(err, VS_ERR_GENERIC, "commands[%zu] (%s): %s", i, name, e.msg);
            return -1;
        }
        json_decref(ret);
    }
    return 0;
}
