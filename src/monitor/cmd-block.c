/* Block node commands: blockdev-add (file, host_device, raw, memory). The
 * argument schema is QEMU's BlockdevOptions for these drivers, so
 * qemu-storage-daemon scripts run unchanged; options QEMU accepts but that
 * change nothing here (aio, locking, ...) are accepted and ignored. */
#include "monitor.h"

#include <stdlib.h>
#include <string.h>

static const char *const driver_values[] = { "file", "host_device", "raw", "memory", NULL };
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

static const struct qmp_branch blockdev_branches[] = {
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

/* Opens the node described by a checked BlockdevOptions object. Nested
 * children (raw's "file" given as an object) are opened first under a
 * generated name, as QEMU does ("#blockNNN"). */
static struct block_node *open_blockdev(struct qmp_ctx *ctx, json_t *args, bool top,
                                        struct vs_error *err)
{
    struct block_node_opts o = { 0 };
    o.driver = json_string_value(json_object_get(args, "driver"));
    o.node_name = json_string_value(json_object_get(args, "node-name"));
    char generated[32];
    if (!o.node_name) {
        if (top) {
            vs_error_set(err, VS_ERR_GENERIC, "'node-name' must be specified for the root node");
            return NULL;
        }
        snprintf(generated, sizeof(generated), "#block%03u", implicit_counter++);
        o.node_name = generated;
        o.implicit_name = true;
    }
    o.read_only = get_bool(args, "read-only", false);
    o.direct = get_bool(json_object_get(args, "cache"), "direct", false);
    const char *discard = json_string_value(json_object_get(args, "discard"));
    o.unmap = discard && strcmp(discard, "unmap") == 0;
    o.filename = json_string_value(json_object_get(args, "filename"));
    json_t *size = json_object_get(args, "size");
    o.size = size ? (uint64_t)json_integer_value(size) : 0;

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
    if (!node && child)
        block_node_close(child, NULL);
    return node;
}

static json_t *cmd_blockdev_add(struct qmp_ctx *ctx, json_t *args, struct vs_error *err)
{
    return open_blockdev(ctx, args, true, err) ? json_object() : NULL;
}

const struct qmp_command qmp_block_commands[] = {
    { "blockdev-add", &qmp_blockdev_schema, cmd_blockdev_add,
      "Open a block node (drivers file, host_device, raw, memory).", .mutates = true },
    { 0 },
};
