/* The node registry: opening nodes through their driver, naming them,
 * finding them, and refusing to close one that something still uses. */
#include "block.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

extern const struct block_driver block_driver_file;
extern const struct block_driver block_driver_host_device;
extern const struct block_driver block_driver_raw;
extern const struct block_driver block_driver_memory;
extern const struct block_driver block_driver_nbd;

static const struct block_driver *const drivers[] = {
    &block_driver_file,
    &block_driver_host_device,
    &block_driver_raw,
    &block_driver_memory,
    &block_driver_nbd,
};

static struct vs_list nodes = VS_LIST_INIT(nodes);

const struct block_driver *block_driver_find(const char *name)
{
    for (size_t i = 0; i < VS_ARRAY_SIZE(drivers); i++)
        if (strcmp(drivers[i]->name, name) == 0)
            return drivers[i];
    return NULL;
}

/* QEMU's rule for node names (id_wellformed): a letter first, then
 * letters, digits, '-', '.', '_'; at most 31 characters. */
bool block_node_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 31 || !isalpha((unsigned char)name[0]))
        return false;
    for (size_t i = 1; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!isalnum(c) && c != '-' && c != '.' && c != '_')
            return false;
    }
    return true;
}

struct block_node *block_node_find(const char *name)
{
    vs_list_for_each(l, &nodes) {
        struct block_node *n = vs_list_entry(l, struct block_node, link);
        if (strcmp(n->name, name) == 0)
            return n;
    }
    return NULL;
}

struct block_node *block_node_next(struct block_node *prev)
{
    struct vs_list *l = prev ? prev->link.next : nodes.next;
    return l == &nodes ? NULL : vs_list_entry(l, struct block_node, link);
}

struct block_node *block_node_open(struct vs_loop *loop,
                                   const struct block_node_opts *opts,
                                   struct vs_error *err)
{
    const struct block_driver *drv = block_driver_find(opts->driver ? opts->driver : "");
    if (!drv) {
        vs_error_set(err, VS_ERR_GENERIC, "Unknown driver '%s'",
                     opts->driver ? opts->driver : "");
        return NULL;
    }
    if (!opts->node_name ||
        (!opts->implicit_name && !block_node_name_valid(opts->node_name))) {
        vs_error_set(err, VS_ERR_GENERIC, "Invalid node-name: '%s'",
                     opts->node_name ? opts->node_name : "");
        return NULL;
    }
    if (block_node_find(opts->node_name)) {
        vs_error_set(err, VS_ERR_GENERIC, "Duplicate nodes with node-name='%s'",
                     opts->node_name);
        return NULL;
    }
    struct block_node *node = vs_zalloc(sizeof(*node));
    node->name = vs_strdup(opts->node_name);
    node->drv = drv;
    node->loop = loop;
    node->align = 1;
    node->read_only = opts->read_only;
    node->unmap = opts->unmap;
    vs_list_init(&node->backends);
    vs_list_init(&node->in_flight);
    vs_list_init(&node->held);
    vs_list_init(&node->hooks);
    if (drv->open(node, opts, err) < 0) {
        free(node->name);
        free(node);
        return NULL;
    }
    if (opts->filename && (drv == &block_driver_file || drv == &block_driver_host_device))
        node->filename = vs_strdup(opts->filename);
    vs_list_append(&nodes, &node->link);
    return node;
}

bool block_node_in_use(const struct block_node *node)
{
    return !vs_list_empty(&node->backends) || node->parents > 0 || node->jobs > 0;
}

static void node_destroy(struct block_node *node)
{
    vs_list_remove(&node->link);
    node->drv->close(node);
    if (node->child)
        node->child->parents--;
    free(node->name);
    free(node->filename);
    free(node);
}

int block_node_close(struct block_node *node, struct vs_error *err)
{
    if (block_node_in_use(node) || node->n_in_flight > 0) {
        vs_error_set(err, VS_ERR_GENERIC, "Node '%s' is busy: %s", node->name,
                     node->jobs ? "block device is in use by a job" :
                     node->parents ? "node is used as a child of another node" :
                     "node is in use by an export");
        return -1;
    }
    node_destroy(node);
    return 0;
}

void block_node_close_all(void)
{
    /* Parents first: close from the newest, since a filter is always
     * opened after its child. */
    while (!vs_list_empty(&nodes))
        node_destroy(vs_list_entry(nodes.prev, struct block_node, link));
}

int block_node_truncate(struct block_node *node, uint64_t size, struct vs_error *err)
{
    if (!node->drv->truncate) {
        vs_error_set(err, VS_ERR_GENERIC, "Cannot resize node '%s' (driver %s)",
                     node->name, node->drv->name);
        return -1;
    }
    if (node->read_only) {
        vs_error_set(err, VS_ERR_GENERIC, "Cannot resize read-only node '%s'", node->name);
        return -1;
    }
    /* A mirror's bitmap and copy loop are sized at its start: resizing
     * either end under it would lose data (QEMU refuses it the same way). */
    if (node->jobs > 0) {
        vs_error_set(err, VS_ERR_GENERIC,
                     "Node '%s' is busy: block device is in use by block job: mirror",
                     node->name);
        return -1;
    }
    return node->drv->truncate(node, size, err);
}
