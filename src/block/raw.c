/* The `raw` format driver: a pass-through filter over a child node, so
 * that qemu-storage-daemon scripts that stack `raw` on `file` work as
 * they do there. Each request becomes one request on the child. */
#include "block.h"

#include <errno.h>
#include <stdlib.h>

struct raw_child_req {
    struct block_req req;
    struct block_req *parent;
};

static int raw_open(struct block_node *node, const struct block_node_opts *opts,
                    struct vs_error *err)
{
    if (!opts->file) {
        vs_error_set(err, VS_ERR_GENERIC, "Parameter 'file' is missing");
        return -1;
    }
    struct block_node *child = block_node_lookup(NULL, opts->file, err);
    if (!child)
        return -1;
    if (!opts->read_only && child->read_only) {
        vs_error_set(err, VS_ERR_GENERIC, "Block node '%s' is read-only", child->name);
        return -1;
    }
    node->child = child;
    child->parents++;
    node->size = child->size;
    node->align = child->align;
    node->unmap = child->unmap;
    return 0;
}

static void raw_close(struct block_node *node)
{
    (void)node;
}

static void raw_child_done(struct block_req *creq, int ret)
{
    struct raw_child_req *c = vs_container_of(creq, struct raw_child_req, req);
    struct block_req *parent = c->parent;
    parent->status_len = creq->status_len;
    parent->status_flags = creq->status_flags;
    parent->n_extents = creq->n_extents;   /* the child filled parent's array */
    free(c);
    block_req_driver_done(parent, ret);
}

static void raw_submit(struct block_node *node, struct block_req *req)
{
    struct raw_child_req *c = vs_zalloc(sizeof(*c));
    c->parent = req;
    c->req.op = req->op;
    c->req.flags = req->flags;
    c->req.offset = req->offset;
    c->req.len = req->len;
    c->req.buf = req->buf;
    c->req.copy_src = req->copy_src;
    c->req.extents = req->extents;
    c->req.max_extents = req->max_extents;
    c->req.cb = raw_child_done;
    block_node_submit(node->child, &c->req);
}

static int raw_truncate(struct block_node *node, uint64_t size, struct vs_error *err)
{
    if (block_node_truncate(node->child, size, err) < 0)
        return -1;
    node->size = node->child->size;
    return 0;
}

const struct block_driver block_driver_raw = {
    .name = "raw",
    .open = raw_open,
    .close = raw_close,
    .submit = raw_submit,
    .truncate = raw_truncate,
    .multi_conn = true,
};
