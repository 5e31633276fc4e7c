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

struct block_node *block_node_lookup(const char *device, const char *node_name,
                                     struct vs_error *err)
{
    struct block_node *n = device ? block_node_find(device) : NULL;
    if (!n && node_name)
        n = block_node_find(node_name);
    if (!n)
        vs_error_set(err, VS_ERR_GENERIC, "Cannot find device='%s' nor node-name='%s'",
                     device ? device : "", node_name ? node_name : "");
    return n;
}

struct block_node *block_node_next(struct block_node *prev)
{
    struct vs_list *l = prev ? prev->link.next : nodes.next;
    return l == &nodes ? NULL : vs_list_entry(l, struct block_node, link);
}

/* Nodes whose driver is opening them on the worker pool: their names are
 * taken, but they are not in `nodes` yet (nobody may use them). */
static struct vs_list opening = VS_LIST_INIT(opening);

static bool name_taken(const char *name)
{
    if (block_node_find(name))
        return true;
    vs_list_for_each(l, &opening) {
        struct block_node *n = vs_list_entry(l, struct block_node, link);
        if (strcmp(n->name, name) == 0)
            return true;
    }
    return false;
}

/* Checks opts and makes the node, not yet opened nor registered. */
static struct block_node *node_prepare(struct vs_loop *loop,
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
    if (name_taken(opts->node_name)) {
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
    return node;
}

static void node_register(struct block_node *node, const char *filename)
{
    if (filename && node->drv->opens_path)
        node->filename = vs_strdup(filename);
    vs_list_append(&nodes, &node->link);
    if (node->drv->attach)
        node->drv->attach(node);
}

/* tls-creds of an nbd node: client credentials, looked up on the loop. */
static int resolve_tls(struct block_node_opts *o, struct vs_error *err)
{
    o->nbd_tls = NULL;
    if (!o->nbd_tls_creds)
        return 0;
    o->nbd_tls = vs_tls_creds_lookup(o->nbd_tls_creds, VS_TLS_CLIENT, err);
    if (!o->nbd_tls)
        return -1;
    vs_object_ref(o->nbd_tls);
    return 0;
}

struct block_node *block_node_open(struct vs_loop *loop,
                                   const struct block_node_opts *opts,
                                   struct vs_error *err)
{
    struct block_node_opts o = *opts;
    if (resolve_tls(&o, err) < 0)
        return NULL;
    struct block_node *node = node_prepare(loop, &o, err);
    if (node && node->drv->open(node, &o, err) < 0) {
        free(node->name);
        free(node);
        node = NULL;
    }
    vs_object_unref(o.nbd_tls);
    if (node)
        node_register(node, o.filename);
    return node;
}

/* ---- opening on the worker pool ---------------------------------------- */

struct open_work {
    struct vs_work w;
    struct vs_bh bh;                  /* failures found before the pool */
    struct block_node *node;          /* NULL when prepare failed */
    struct block_node_opts opts;      /* strings below are our copies */
    char *strs[10];
    block_open_done_fn *done;
    void *opaque;
    struct vs_error err;
    int ret;
};

static const char *keep(struct open_work *ow, unsigned i, const char *str)
{
    return str ? (ow->strs[i] = vs_strdup(str)) : NULL;
}

static void open_work_finish(struct open_work *ow)
{
    struct block_node *node = ow->node;

    if (node) {
        vs_list_remove(&node->link);
        if (ow->ret == 0) {
            node_register(node, ow->opts.filename);
        } else {
            free(node->name);
            free(node);
            node = NULL;
        }
    }
    ow->done(node, node ? NULL : &ow->err, ow->opaque);
    vs_object_unref(ow->opts.nbd_tls);
    for (size_t i = 0; i < VS_ARRAY_SIZE(ow->strs); i++)
        free(ow->strs[i]);
    free(ow);
}

static void open_run(struct vs_work *w)
{
    struct open_work *ow = vs_container_of(w, struct open_work, w);
    ow->ret = ow->node->drv->open(ow->node, &ow->opts, &ow->err);
}

static void open_done(struct vs_work *w)
{
    open_work_finish(vs_container_of(w, struct open_work, w));
}

static void open_failed_bh(struct vs_bh *bh)
{
    open_work_finish(vs_container_of(bh, struct open_work, bh));
}

void block_node_open_async(struct vs_loop *loop, const struct block_node_opts *opts,
                           block_open_done_fn *done, void *opaque)
{
    struct open_work *ow = vs_zalloc(sizeof(*ow));
    ow->done = done;
    ow->opaque = opaque;
    ow->opts = *opts;
    ow->opts.driver = keep(ow, 0, opts->driver);
    ow->opts.node_name = keep(ow, 1, opts->node_name);
    ow->opts.filename = keep(ow, 2, opts->filename);
    ow->opts.file = keep(ow, 3, opts->file);
    ow->opts.nbd_path = keep(ow, 4, opts->nbd_path);
    ow->opts.nbd_host = keep(ow, 5, opts->nbd_host);
    ow->opts.nbd_port = keep(ow, 6, opts->nbd_port);
    ow->opts.nbd_export = keep(ow, 7, opts->nbd_export);
    ow->opts.nbd_tls_creds = keep(ow, 8, opts->nbd_tls_creds);
    ow->opts.nbd_tls_hostname = keep(ow, 9, opts->nbd_tls_hostname);
    if (resolve_tls(&ow->opts, &ow->err) < 0) {
        ow->ret = -1;
        ow->bh.fn = open_failed_bh;
        vs_loop_defer(loop, &ow->bh);
        return;
    }
    ow->node = node_prepare(loop, &ow->opts, &ow->err);
    if (!ow->node) {
        ow->ret = -1;
        ow->bh.fn = open_failed_bh;
        vs_loop_defer(loop, &ow->bh);
        return;
    }
    const struct block_driver *drv = ow->node->drv;
    if (!drv->open_waits) {
        /* The other drivers' opens wait on nothing (raw looks its child
         * up, memory allocates) and some touch loop state: they open
         * here. */
        ow->ret = drv->open(ow->node, &ow->opts, &ow->err);
        vs_list_append(&opening, &ow->node->link);
        ow->bh.fn = open_failed_bh;
        vs_loop_defer(loop, &ow->bh);
        return;
    }
    vs_list_append(&opening, &ow->node->link);
    ow->w.run = open_run;
    ow->w.done = open_done;
    vs_loop_offload(loop, &ow->w);
}

bool block_node_in_use(const struct block_node *node)
{
    return !vs_list_empty(&node->backends) || node->parents > 0 || node->jobs > 0 ||
           node->resizing;
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
                     node->resizing ? "node is being resized" :
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

static int truncate_check(struct block_node *node, struct vs_error *err)
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
    if (node->resizing) {
        vs_error_set(err, VS_ERR_GENERIC, "Node '%s' is busy: it is being resized",
                     node->name);
        return -1;
    }
    return 0;
}

int block_node_truncate(struct block_node *node, uint64_t size, struct vs_error *err)
{
    if (truncate_check(node, err) < 0)
        return -1;
    int r = node->drv->truncate(node, size, err);
    if (r == 0)
        block_node_size_changed(node);
    return r;
}

struct resize_work {
    struct vs_work w;
    struct vs_bh bh;
    struct block_node *node;
    uint64_t size;
    block_resize_done_fn *done;
    void *opaque;
    struct vs_error err;
    int ret;
};

static void resize_finish(struct resize_work *rw)
{
    struct block_node *node = rw->node;

    node->resizing = false;
    if (rw->ret == 0) {
        node->size = rw->size;
        block_node_size_changed(node);
    }
    rw->done(node, rw->ret == 0 ? NULL : &rw->err, rw->opaque);
    free(rw);
}

static void resize_run(struct vs_work *w)
{
    struct resize_work *rw = vs_container_of(w, struct resize_work, w);
    rw->ret = rw->node->drv->truncate_blocking(rw->node, rw->size, &rw->err);
}

static void resize_done(struct vs_work *w)
{
    resize_finish(vs_container_of(w, struct resize_work, w));
}

static void resize_sync_bh(struct vs_bh *bh)
{
    struct resize_work *rw = vs_container_of(bh, struct resize_work, bh);
    /* resize_finish sets the size again: the same value. */
    rw->size = rw->node->size;
    resize_finish(rw);
}

int block_node_truncate_async(struct block_node *node, uint64_t size,
                              block_resize_done_fn *done, void *opaque,
                              struct vs_error *err)
{
    if (truncate_check(node, err) < 0)
        return -1;
    struct resize_work *rw = vs_zalloc(sizeof(*rw));
    rw->node = node;
    rw->size = size;
    rw->done = done;
    rw->opaque = opaque;
    node->resizing = true;
    if (!node->drv->truncate_blocking) {
        /* Quick (memory) or a filter over another node (raw): here, with
         * the answer delivered later as promised. */
        rw->ret = node->drv->truncate(node, size, &rw->err);
        rw->bh.fn = resize_sync_bh;
        vs_loop_defer(node->loop, &rw->bh);
        return 0;
    }
    rw->w.run = resize_run;
    rw->w.done = resize_done;
    vs_loop_offload(node->loop, &rw->w);
    return 0;
}
