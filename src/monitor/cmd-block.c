/* Block node commands: blockdev-add (file, host_device, raw, memory),
 * blockdev-del, query-named-block-nodes and block_resize. The argument
 * schema is QEMU's BlockdevOptions for these drivers, so qemu-storage-daemon
 * scripts run unchanged; options QEMU accepts but that change nothing here
 * (aio, locking, ...) are accepted and ignored.
 *
 * The monitor remembers the checked arguments each node was opened with:
 * they are what the state file replays and what query-named-block-nodes
 * reports (file name, cache mode), and whether a node is the monitor's to
 * delete (QEMU's "owned by the monitor"). */
#include "monitor.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const driver_values[] = { "file", "host_device", "raw", "memory", "nbd", NULL };
static const char *const socket_type_values[] = { "unix", "inet", NULL };
static const char *const discard_values[] = { "ignore", "unmap", NULL };
static const char *const detect_zeroes_values[] = { "off", "on", "unmap", NULL };
static const char *const aio_values[] = { "threads", "native", "io_uring", NULL };
static const char *const onoffauto_values[] = { "auto", "on", "off", NULL };

static const struct qmp_arg cache_members[] = {
    { "direct", QT_BOOL, true, .doc = "use O_DIRECT (default false)" },
    { "no-flush", QT_BOOL, true, .doc = "ignore flush requests (default false)" },
    { 0 },
};
static const struct qmp_schema cache_schema = { cache_members };

static const struct qmp_arg file_members[] = {
    { "filename", QT_STR, false, .doc = "path of the file or block device" },
    { "aio", QT_ENUM, true, .enum_values = aio_values, .doc = "accepted; I/O always goes through io_uring" },
    { "locking", QT_ENUM, true, .enum_values = onoffauto_values, .doc = "accepted and ignored" },
    { "aio-max-batch", QT_INT, true, .doc = "accepted and ignored" },
    { "drop-cache", QT_BOOL, true, .doc = "accepted and ignored" },
    { 0 },
};

extern const struct qmp_schema qmp_blockdev_schema;

static const struct qmp_arg raw_members[] = {
    { "file", QT_STR_OR_OBJ, false, .schema = &qmp_blockdev_schema,
      .doc = "the child: a node-name, or the options of a new node" },
    { 0 },
};

static const struct qmp_arg memory_members[] = {
    { "size", QT_SIZE, false, .doc = "size in bytes (volswap extension, for tests)" },
    { 0 },
};

/* BlockdevOptionsNbd: server is a (flat) SocketAddress. */
static const struct qmp_arg nbd_server_members[] = {
    { "type", QT_ENUM, false, .enum_values = socket_type_values, .doc = "unix or inet" },
    { "path", QT_STR, true, .doc = "unix: socket path" },
    { "host", QT_STR, true, .doc = "inet: host" },
    { "port", QT_STR, true, .doc = "inet: port" },
    { 0 },
};
static const struct qmp_schema nbd_server_schema = { nbd_server_members };

static const struct qmp_arg nbd_members[] = {
    { "server", QT_OBJ, false, .schema = &nbd_server_schema, .doc = "the NBD server" },
    { "export", QT_STR, true, .doc = "export name (default: the empty name)" },
    { "reconnect-delay", QT_INT, true,
      .doc = "seconds after a lost connection during which requests wait for the "
             "reconnect (default 0: they fail at once; reconnecting goes on)" },
    { "open-timeout", QT_INT, true,
      .doc = "seconds the first connect is retried (default 0: once)" },
    { "tls-creds", QT_STR, true,
      .doc = "id of client TLS credentials (tls-creds-x509 or tls-creds-psk, endpoint "
             "client): the connection must negotiate TLS" },
    { "tls-hostname", QT_STR, true,
      .doc = "the name the server's certificate must carry; only server.host itself "
             "(libnbd checks the certificate against the host it connects to)" },
    { 0 },
};

static const struct qmp_branch blockdev_branches[] = {
    { "nbd", nbd_members },
    { "file", file_members },
    { "host_device", file_members },
    { "raw", raw_members },
    { "memory", memory_members },
    { 0 },
};

static const struct qmp_arg blockdev_members[] = {
    { "driver", QT_ENUM, false, .enum_values = driver_values, .doc = "block driver" },
    { "node-name", QT_STR, true, .doc = "name of the node (required at top level)" },
    { "discard", QT_ENUM, true, .enum_values = discard_values,
      .doc = "ignore (default) or unmap: whether discard requests free space" },
    { "cache", QT_OBJ, true, .schema = &cache_schema, .doc = "cache mode" },
    { "read-only", QT_BOOL, true, .doc = "open read-only (default false)" },
    { "auto-read-only", QT_BOOL, true, .doc = "accepted and ignored" },
    { "force-share", QT_BOOL, true, .doc = "accepted and ignored" },
    { "detect-zeroes", QT_ENUM, true, .enum_values = detect_zeroes_values,
      .doc = "accepted; only off is implemented" },
    { 0 },
};

const struct qmp_schema qmp_blockdev_schema = {
    blockdev_members, "driver", blockdev_branches,
};

static bool get_bool(json_t *o, const char *key, bool dflt)
{
    json_t *v = json_object_get(o, key);
    return v ? json_is_true(v) : dflt;
}

static unsigned implicit_counter;

/* ---- what each node was opened with ------------------------------------- */

struct node_rec {
    struct block_node *node;
    char *name;
    json_t *opts;
    bool implicit;       /* a child opened inline ("file": {...}) */
    /* The TLS credentials an nbd node (or its inline child) was opened
     * with, held so that the state file can recreate them after an
     * object-del: a restart must open the node again. */
    struct vs_object *tls;
    struct vs_list link;
};

static struct vs_list records = VS_LIST_INIT(records);

static void rec_free(struct node_rec *r)
{
    vs_list_remove(&r->link);
    json_decref(r->opts);
    vs_object_unref(r->tls);
    free(r->name);
    free(r);
}

/* A record is valid while its node is still registered under its name:
 * nodes closed behind the monitor's back (a job's target) leave stale ones,
 * dropped here. */
static struct node_rec *rec_find(const struct block_node *node)
{
    struct node_rec *found = NULL;
    vs_list_for_each_safe(l, &records) {
        struct node_rec *r = vs_list_entry(l, struct node_rec, link);
        if (block_node_find(r->name) != r->node)
            rec_free(r);
        else if (r->node == node)
            found = r;
    }
    return found;
}

static void rec_add(struct block_node *node, json_t *opts, bool implicit)
{
    struct node_rec *old = rec_find(node);
    if (old)
        rec_free(old);
    struct node_rec *r = vs_zalloc(sizeof(*r));
    r->node = node;
    r->name = vs_strdup(node->name);
    r->opts = opts;
    r->implicit = implicit;
    for (json_t *x = opts; json_is_object(x) && !r->tls; x = json_object_get(x, "file")) {
        const char *id = json_string_value(json_object_get(x, "tls-creds"));
        struct vs_object *o = id ? vs_object_find(id) : NULL;
        if (o)
            r->tls = vs_object_ref(o);
    }
    vs_list_append(&records, &r->link);
}

void qmp_node_tls_objects(void (*f)(struct vs_object *o, void *opaque), void *opaque)
{
    rec_find(NULL); /* drops stale records */
    vs_list_for_each(l, &records) {
        struct node_rec *r = vs_list_entry(l, struct node_rec, link);
        if (r->tls && !r->implicit)
            f(r->tls, opaque);
    }
}

json_t *qmp_node_options(const struct block_node *node)
{
    struct node_rec *r = rec_find(node);
    return r && !r->implicit ? r->opts : NULL;
}

void qmp_node_options_set(struct block_node *node, json_t *opts)
{
    rec_add(node, opts, false);
}

const char *qmp_node_using_file(const char *path)
{
    for (struct block_node *n = block_node_next(NULL); n; n = block_node_next(n))
        if (n->filename && strcmp(n->filename, path) == 0)
            return n->name;
    return NULL;
}

/* The file and host_device levels of a blockdev-add: none may name a
 * pool device being wiped (it would be claimed half-wiped), and under
 * --confine-to-pools none may lie outside the pools. */
static int check_paths(json_t *args, struct vs_error *err)
{
    for (json_t *x = args; json_is_object(x); x = json_object_get(x, "file")) {
        const char *driver = json_string_value(json_object_get(x, "driver"));
        const char *f = json_string_value(json_object_get(x, "filename"));
        if (!f || !driver || (strcmp(driver, "file") != 0 && strcmp(driver, "host_device") != 0))
            continue;
        if (qmp_pool_wiping_in(json_object_get(x, "filename"))) {
            vs_error_set(err, VS_ERR_GENERIC, "Could not open '%s': the pool device is being wiped",
                         f);
            return -1;
        }
        if (qmp_pool_confine_check(f, true, "blockdev-add", err) < 0)
            return -1;
    }
    return 0;
}

/* The file under a node: its own, or its child's for a filter. */
static const char *node_filename(const struct block_node *node)
{
    for (int depth = 0; node && depth < 16; depth++, node = node->child) {
        struct node_rec *r = rec_find(node);
        const char *f = r ? json_string_value(json_object_get(r->opts, "filename")) : NULL;
        if (f)
            return f;
    }
    return NULL;
}

/* The drivers whose open waits: on storage (open(2) of a path) or on a
 * server (nbd). Their blockdev-add opens on the worker pool, and a sandbox
 * refuses them. */
static bool open_waits(const char *driver)
{
    const struct block_driver *drv = driver ? block_driver_find(driver) : NULL;
    return drv && drv->open_waits;
}

/* A child opened inline gets QEMU's kind of generated name. */
static void implicit_name(struct block_node_opts *o, char buf[32])
{
    snprintf(buf, 32, "#block%03u", implicit_counter++);
    o->node_name = buf;
    o->implicit_name = true;
}

/* Undoes the inline child of a parent that failed to open. */
static void close_child(struct block_node *child)
{
    struct node_rec *cr = rec_find(child);
    if (cr)
        rec_free(cr);
    block_node_close(child, NULL);
}

/* The driver options of a checked BlockdevOptions object (strings point
 * into args). node_name is left as given (NULL when absent). */
static void fill_opts(json_t *args, struct block_node_opts *o)
{
    o->driver = json_string_value(json_object_get(args, "driver"));
    o->node_name = json_string_value(json_object_get(args, "node-name"));
    o->read_only = get_bool(args, "read-only", false);
    o->direct = get_bool(json_object_get(args, "cache"), "direct", false);
    const char *discard = json_string_value(json_object_get(args, "discard"));
    o->unmap = discard && strcmp(discard, "unmap") == 0;
    o->filename = json_string_value(json_object_get(args, "filename"));
    json_t *server = json_object_get(args, "server");
    o->nbd_path = json_string_value(json_object_get(server, "path"));
    o->nbd_host = json_string_value(json_object_get(server, "host"));
    o->nbd_port = json_string_value(json_object_get(server, "port"));
    o->nbd_export = json_string_value(json_object_get(args, "export"));
    o->nbd_reconnect_delay = (uint64_t)json_integer_value(json_object_get(args, "reconnect-delay"));
    o->nbd_open_timeout = (uint64_t)json_integer_value(json_object_get(args, "open-timeout"));
    o->nbd_tls_creds = json_string_value(json_object_get(args, "tls-creds"));
    o->nbd_tls_hostname = json_string_value(json_object_get(args, "tls-hostname"));
    json_t *size = json_object_get(args, "size");
    o->size = size ? (uint64_t)json_integer_value(size) : 0;
}

/* Opens the node described by a checked BlockdevOptions object. Nested
 * children (raw's "file" given as an object) are opened first under a
 * generated name, as QEMU does ("#blockNNN"). */
static struct block_node *open_blockdev(struct qmp_ctx *ctx, json_t *args, bool top,
                                        struct vs_error *err)
{
    struct block_node_opts o = { 0 };
    fill_opts(args, &o);
    if (qmp_sandbox && open_waits(o.driver)) {
        vs_error_set(err, VS_ERR_GENERIC, "Driver '%s' is not allowed in this sandbox",
                     o.driver);
        return NULL;
    }
    char generated[32];
    if (!o.node_name) {
        if (top) {
            vs_error_set(err, VS_ERR_GENERIC, "'node-name' must be specified for the root node");
            return NULL;
        }
        implicit_name(&o, generated);
    }
    if (qmp_sandbox && o.size > (64u << 20)) {
        vs_error_set(err, VS_ERR_GENERIC, "Memory nodes are at most 64 MiB in this sandbox");
        return NULL;
    }

    struct block_node *child = NULL;
    json_t *file = json_object_get(args, "file");
    if (json_is_object(file)) {
        child = open_blockdev(ctx, file, false, err);
        if (!child)
            return NULL;
        o.file = child->name;
    } else if (file) {
        o.file = json_string_value(file);
    }
    struct block_node *node = block_node_open(ctx->loop, &o, err);
    if (!node) {
        if (child)
            close_child(child);
        return NULL;
    }
    rec_add(node, json_incref(args), !top);
    return node;
}

/* blockdev-add from a client, when a node anywhere in the description
 * opens on the worker pool (a file, a host device, an nbd server: open(2)
 * on a hung NFS mount, a dead device or a silent server would otherwise
 * stop the loop and every NBD client with it). Inline children open first,
 * innermost first, each level once the one below it is open; the client's
 * reply waits for the top. A failure closes the levels already open. */
struct add_chain {
    struct qmp_pending *p;
    struct vs_loop *loop;
    json_t *args;             /* the command's arguments (a reference) */
    unsigned n, cur;          /* levels; the one opening now */
    json_t **level;           /* level[0] is args, level[i + 1] its "file" */
    struct block_node **node; /* what each level opened */
    char (*name)[32];         /* generated names of unnamed children */
};

static bool chain_waits(json_t *args)
{
    for (json_t *x = args; json_is_object(x); x = json_object_get(x, "file"))
        if (open_waits(json_string_value(json_object_get(x, "driver"))))
            return true;
    return false;
}

static void chain_free(struct add_chain *c)
{
    json_decref(c->args);
    free(c->level);
    free(c->node);
    free(c->name);
    free(c);
}

static void chain_open_level(struct add_chain *c);

static void chain_level_opened(struct block_node *node, const struct vs_error *err,
                               void *opaque)
{
    struct add_chain *c = opaque;

    if (!node) {
        for (unsigned i = c->cur + 1; i < c->n; i++)
            close_child(c->node[i]);
        qmp_pending_finish(c->p, NULL, err);
        chain_free(c);
        return;
    }
    rec_add(node, json_incref(c->level[c->cur]), c->cur > 0);
    c->node[c->cur] = node;
    if (c->cur == 0) {
        qmp_pending_finish(c->p, json_object(), NULL);
        chain_free(c);
        return;
    }
    c->cur--;
    chain_open_level(c);
}

static void chain_open_level(struct add_chain *c)
{
    struct block_node_opts o = { 0 };

    fill_opts(c->level[c->cur], &o);
    if (!o.node_name) {
        o.node_name = c->name[c->cur];
        o.implicit_name = true;
    }
    if (c->cur + 1 < c->n)
        o.file = c->node[c->cur + 1]->name;
    else
        o.file = json_string_value(json_object_get(c->level[c->cur], "file"));
    block_node_open_async(c->loop, &o, chain_level_opened, c);
}

static json_t *cmd_blockdev_add(struct qmp_ctx *ctx, json_t *args, struct vs_error *err)
{
    if (check_paths(args, err) < 0)
        return NULL;
    if (!ctx->pending || qmp_sandbox || !chain_waits(args))
        return open_blockdev(ctx, args, true, err) ? json_object() : NULL;
    const char *name = json_string_value(json_object_get(args, "node-name"));
    if (!name) {
        vs_error_set(err, VS_ERR_GENERIC, "'node-name' must be specified for the root node");
        return NULL;
    }
    if (block_node_find(name)) {
        vs_error_set(err, VS_ERR_GENERIC, "Duplicate nodes with node-name='%s'", name);
        return NULL;
    }
    struct add_chain *c = vs_zalloc(sizeof(*c));
    for (json_t *x = args; json_is_object(x); x = json_object_get(x, "file"))
        c->n++;
    c->level = vs_zalloc(c->n * sizeof(*c->level));
    c->node = vs_zalloc(c->n * sizeof(*c->node));
    c->name = vs_zalloc(c->n * sizeof(*c->name));
    c->level[0] = args;
    for (unsigned i = 1; i < c->n; i++)
        c->level[i] = json_object_get(c->level[i - 1], "file");
    /* Names in the order the inline open gives them: parents first. */
    for (unsigned i = 1; i < c->n; i++) {
        struct block_node_opts o = { 0 };
        if (!json_object_get(c->level[i], "node-name"))
            implicit_name(&o, c->name[i]);
    }
    c->args = json_incref(args);
    c->loop = ctx->loop;
    c->cur = c->n - 1;
    c->p = qmp_defer(ctx);
    chain_open_level(c);
    return NULL;
}

/* ---- blockdev-del ---------------------------------------------------------- */

static const struct qmp_arg del_members[] = {
    { "node-name", QT_STR, false, .doc = "the node to close" },
    { 0 },
};
static const struct qmp_schema del_schema = { del_members };

static json_t *cmd_blockdev_del(struct qmp_ctx *ctx, json_t *args, struct vs_error *err)
{
    const char *name = json_string_value(json_object_get(args, "node-name"));
    struct block_node *node = block_node_find(name);
    if (!node) {
        vs_error_set(err, VS_ERR_GENERIC, "Failed to find node with node-name='%s'", name);
        return NULL;
    }
    struct node_rec *r = rec_find(node);
    if (!r || r->implicit) {
        vs_error_set(err, VS_ERR_GENERIC, "Node %s is not owned by the monitor", name);
        return NULL;
    }
    struct block_node *child = node->child;
    /* block_node_close refuses an exported node, a child of another node
     * and a node a job uses, with the reason. */
    if (block_node_close(node, err) < 0)
        return NULL;
    rec_free(r);
    /* Children opened inline go with their parent, as in QEMU: down the
     * chain while each is implicit and nobody else uses it. */
    while (child) {
        struct node_rec *cr = rec_find(child);
        struct block_node *next = child->child;
        if (!cr || !cr->implicit || block_node_in_use(child) ||
            block_node_close(child, NULL) < 0)
            break;
        rec_free(cr);
        child = next;
    }
    return json_object();
}

/* ---- query-named-block-nodes ----------------------------------------------- */

static const struct qmp_arg query_nodes_members[] = {
    { "flat", QT_BOOL, true, .doc = "accepted; without backing chains the answer is flat anyway" },
    { 0 },
};
static const struct qmp_schema query_nodes_schema = { query_nodes_members };

/* QEMU's BlockDeviceInfo, with the members volswap can fill truthfully:
 * no throttling (all limits 0), no encryption, no write threshold, no
 * backing chain, detect-zeroes not implemented ("off"). */
static json_t *node_info(const struct block_node *node)
{
    struct node_rec *r = rec_find(node);
    const char *filename = node_filename(node);
    json_t *cache = r ? json_object_get(r->opts, "cache") : NULL;
    bool direct = json_is_true(json_object_get(cache, "direct"));
    if (!r && node->align > 1)
        direct = true;

    json_t *image = json_pack("{s:s,s:s,s:I,s:b}", "filename", filename ? filename : "",
                              "format", node->drv->name, "virtual-size", (json_int_t)node->size,
                              "dirty-flag", 0);
    struct stat st;
    if (filename && stat(filename, &st) == 0 && S_ISREG(st.st_mode))
        json_object_set_new(image, "actual-size", json_integer((json_int_t)st.st_blocks * 512));
    json_t *info = json_pack("{s:s,s:s,s:b,s:i,s:b,s:s}",
                             "node-name", node->name, "drv", node->drv->name,
                             "ro", node->read_only, "backing_file_depth", 0,
                             "encrypted", 0, "detect_zeroes", "off");
    json_object_set_new(info, "file", json_string(filename ? filename : ""));
    static const char *const limits[] = { "bps", "bps_rd", "bps_wr", "iops", "iops_rd",
                                          "iops_wr" };
    for (size_t i = 0; i < VS_ARRAY_SIZE(limits); i++)
        json_object_set_new(info, limits[i], json_integer(0));
    json_object_set_new(info, "write_threshold", json_integer((json_int_t)node->write_threshold));
    json_object_set_new(info, "image", image);
    json_object_set_new(info, "cache", json_pack("{s:b,s:b,s:b}", "writeback", 1,
                                                 "direct", direct, "no-flush", 0));
    return info;
}

static json_t *cmd_query_named_block_nodes(struct qmp_ctx *ctx, json_t *args,
                                           struct vs_error *err)
{
    json_t *list = json_array();
    for (struct block_node *n = block_node_next(NULL); n; n = block_node_next(n))
        json_array_append_new(list, node_info(n));
    return list;
}

/* ---- query-blockstats -------------------------------------------------------- */

static const struct qmp_arg blockstats_members[] = {
    { "query-nodes", QT_BOOL, true,
      .doc = "true: one entry per named node; false (default): one per export" },
    { 0 },
};
static const struct qmp_schema blockstats_schema = { blockstats_members };

/* QEMU's BlockDeviceStats from our counters. */
static json_t *device_stats(const struct block_stats *st)
{
    static const char *const kind[BLOCK_ACCT__COUNT] = { "rd", "wr", "flush", "unmap" };
    json_t *o = json_object();
    char key[64];
    for (int k = 0; k < BLOCK_ACCT__COUNT; k++) {
        if (k != BLOCK_ACCT_FLUSH) {
            snprintf(key, sizeof key, "%s_bytes", kind[k]);
            json_object_set_new(o, key, json_integer((json_int_t)st->bytes[k]));
            snprintf(key, sizeof key, "%s_merged", kind[k]);
            json_object_set_new(o, key, json_integer(0));
        }
        snprintf(key, sizeof key, "%s_operations", kind[k]);
        json_object_set_new(o, key, json_integer((json_int_t)st->ops[k]));
        snprintf(key, sizeof key, "%s_total_time_ns", kind[k]);
        json_object_set_new(o, key, json_integer((json_int_t)st->total_time_ns[k]));
        snprintf(key, sizeof key, "failed_%s_operations", kind[k]);
        json_object_set_new(o, key, json_integer((json_int_t)st->failed[k]));
        snprintf(key, sizeof key, "invalid_%s_operations", kind[k]);
        json_object_set_new(o, key, json_integer((json_int_t)st->invalid[k]));
    }
    json_object_set_new(o, "wr_highest_offset", json_integer((json_int_t)st->wr_highest_offset));
    if (st->last_io_ns)
        json_object_set_new(o, "idle_time_ns",
                            json_integer((json_int_t)(block_now_ns() - st->last_io_ns)));
    json_object_set_new(o, "account_invalid", json_true());
    json_object_set_new(o, "account_failed", json_true());
    json_object_set_new(o, "timed_stats", json_array());
    return o;
}

/* A node's BlockStats: its counters, the file driver's discard figures as
 * QEMU's "driver-specific", and its child's entry as "parent" (QEMU's
 * name for the protocol node under a format node). */
static json_t *node_stats(const struct block_node *n)
{
    struct block_stats merged = block_node_stats(n);
    json_t *o = json_pack("{s:s, s:o}", "node-name", n->name, "stats", device_stats(&merged));
    if (n->drv->opens_path) {   /* file, host_device */
        const struct block_stats *st = &merged;
        json_object_set_new(o, "driver-specific", json_pack(
            "{s:s, s:I, s:I, s:I}", "driver", n->drv->name,
            "discard-nb-ok", (json_int_t)st->ops[BLOCK_ACCT_UNMAP],
            "discard-nb-failed", (json_int_t)st->failed[BLOCK_ACCT_UNMAP],
            "discard-bytes-ok", (json_int_t)st->bytes[BLOCK_ACCT_UNMAP]));
    }
    if (n->child)
        json_object_set_new(o, "parent", node_stats(n->child));
    return o;
}

static json_t *cmd_query_blockstats(struct qmp_ctx *ctx, json_t *args, struct vs_error *err)
{
    json_t *list = json_array();
    if (json_is_true(json_object_get(args, "query-nodes"))) {
        for (struct block_node *n = block_node_next(NULL); n; n = block_node_next(n))
            json_array_append_new(list, node_stats(n));
        return list;
    }
    /* QEMU lists its named BlockBackends, the devices of a guest; here the
     * devices are the exports, named by their id, counted as their clients
     * saw them (across a mirror's pivot too) */
    for (struct nbd_export *e = nbd_export_next(NULL); e; e = nbd_export_next(e)) {
        struct block_stats st = blk_stats(&e->blk);
        json_t *o = json_pack("{s:s, s:s, s:o}", "device", e->id, "node-name", e->blk.node->name,
                              "stats", device_stats(&st));
        json_array_append_new(list, o);
    }
    return list;
}

/* ---- block-set-write-threshold ------------------------------------------------ */

static const struct qmp_arg threshold_members[] = {
    { "node-name", QT_STR, false, .doc = "the node" },
    { "write-threshold", QT_INT, false,
      .doc = "bytes; the first write ending past it sends BLOCK_WRITE_THRESHOLD "
             "(once: the threshold is then 0); 0 turns it off" },
    { 0 },
};
static const struct qmp_schema threshold_schema = { threshold_members };

static json_t *cmd_block_set_write_threshold(struct qmp_ctx *ctx, json_t *args,
                                             struct vs_error *err)
{
    const char *name = json_string_value(json_object_get(args, "node-name"));
    struct block_node *node = block_node_find(name);
    if (!node) {
        vs_error_set(err, VS_ERR_GENERIC, "Device '%s' not found", name);
        return NULL;
    }
    /* QEMU's uint64: a negative number wraps, as there */
    node->write_threshold = (uint64_t)json_integer_value(json_object_get(args, "write-threshold"));
    return json_object();
}

/* ---- block_resize ------------------------------------------------------------ */

static const struct qmp_arg resize_members[] = {
    { "device", QT_STR, true, .doc = "the node (volswap has no BlockBackend names)" },
    { "node-name", QT_STR, true, .doc = "the node" },
    { "size", QT_INT, false, .doc = "new size in bytes" },
    { 0 },
};
static const struct qmp_schema resize_schema = { resize_members };

/* A memory node's size lives only in its options. */
static void record_size(struct block_node *node)
{
    struct node_rec *r = rec_find(node);
    if (r && json_object_get(r->opts, "size"))
        json_object_set_new(r->opts, "size", json_integer((json_int_t)node->size));
}

static void resized(struct block_node *node, const struct vs_error *err, void *opaque)
{
    struct qmp_pending **w = opaque;
    struct qmp_pending *p = *w;

    free(w);
    if (!err)
        record_size(node);
    qmp_pending_finish(p, err ? NULL : json_object(), err);
}

static json_t *cmd_block_resize(struct qmp_ctx *ctx, json_t *args, struct vs_error *err)
{
    const char *device = json_string_value(json_object_get(args, "device"));
    const char *name = json_string_value(json_object_get(args, "node-name"));
    struct block_node *node = block_node_lookup(device, name, err);
    if (!node)
        return NULL;
    json_int_t size = json_integer_value(json_object_get(args, "size"));
    if (size < 0) {
        vs_error_set(err, VS_ERR_GENERIC, "Parameter 'size' expects a >0 size");
        return NULL;
    }
    if (ctx->pending) {
        /* A client's resize runs on the worker pool; its reply waits. */
        struct qmp_pending **w = vs_zalloc(sizeof(*w));
        if (block_node_truncate_async(node, (uint64_t)size, resized, w, err) < 0) {
            free(w);
            return NULL;
        }
        *w = qmp_defer(ctx);
        return NULL;
    }
    if (block_node_truncate(node, (uint64_t)size, err) < 0)
        return NULL;
    record_size(node);
    return json_object();
}

const struct qmp_command qmp_block_commands[] = {
    { "blockdev-add", &qmp_blockdev_schema, cmd_blockdev_add,
      "Open a block node: `file` (a regular file), `host_device` (a block device), "
      "`raw` (a pass-through over another node, named or given inline), `nbd` (an "
      "export of a remote NBD server) or `memory` (volswap's RAM node for tests).",
      .mutates = true },
    { "blockdev-del", &del_schema, cmd_blockdev_del,
      "Close a node added with blockdev-add. Fails while the node is exported, used "
      "as the child of another node or used by a job. Children given inline go with it.",
      .mutates = true },
    { "block-set-write-threshold", &threshold_schema, cmd_block_set_write_threshold,
      "Arm a node's write threshold (QEMU's thin-provisioning watermark): the first "
      "write, write-zeroes or copy into the node that ends past it sends "
      "BLOCK_WRITE_THRESHOLD {node-name, write-threshold, amount-exceeded} and disarms "
      "it. Not kept across a restart." },
    { "query-blockstats", &blockstats_schema, cmd_query_blockstats,
      "I/O accounting: operations, bytes, time and failures per kind (QEMU's "
      "BlockDeviceStats). With query-nodes, each named node (with its child as "
      "\"parent\"); without, each export as a device, counting what its clients asked.",
      .returns = "`[{\"device\"?, \"node-name\", \"stats\": {...}, \"parent\"?, "
                 "\"driver-specific\"?}, ...]`" },
    { "query-named-block-nodes", &query_nodes_schema, cmd_query_named_block_nodes,
      "Every node, as QEMU's BlockDeviceInfo.",
      .returns = "`[{\"node-name\", \"drv\", \"file\", \"ro\", \"encrypted\", "
                 "\"detect_zeroes\", \"bps\"..., \"image\": {\"filename\", \"format\", "
                 "\"virtual-size\", \"actual-size\", \"dirty-flag\"}, \"cache\": "
                 "{\"writeback\", \"direct\", \"no-flush\"}, \"write_threshold\"}, ...]`" },
    { "block_resize", &resize_schema, cmd_block_resize,
      "Resize a node (a block device can only shrink within its size). NBD clients "
      "connected before see the old size until they reconnect.", .mutates = true },
    { 0 },
};
