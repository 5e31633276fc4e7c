/* NBD exports: a name, a description and a writable flag over a block
 * node, reached through a backend that follows pivots. Deleting an export
 * with clients connected either fails (safe) or closes them (hard); the
 * export disappears, and BLOCK_EXPORT_DELETED is emitted, when its last
 * connection has ended — QEMU's behaviour, which scripts wait on. */
#include "internal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static struct vs_list exports = VS_LIST_INIT(exports);

struct nbd_export *nbd_export_find_id(const char *id)
{
    vs_list_for_each(l, &exports) {
        struct nbd_export *e = vs_list_entry(l, struct nbd_export, link);
        if (strcmp(e->id, id) == 0)
            return e;
    }
    return NULL;
}

struct nbd_export *nbd_export_find_name(const char *name)
{
    vs_list_for_each(l, &exports) {
        struct nbd_export *e = vs_list_entry(l, struct nbd_export, link);
        if (strcmp(e->name, name) == 0 && !e->deleting)
            return e;
    }
    return NULL;
}

struct nbd_export *nbd_export_next(struct nbd_export *prev)
{
    struct vs_list *l = prev ? prev->link.next : exports.next;
    return l == &exports ? NULL : vs_list_entry(l, struct nbd_export, link);
}

static void export_blk_idle(struct block_backend *blk);

struct nbd_export *nbd_export_add(const struct nbd_export_opts *opts, struct vs_error *err)
{
    struct block_node *node = block_node_lookup(NULL, opts->node_name ? opts->node_name : "",
                                                err);
    if (!node)
        return NULL;
    const char *id = opts->id ? opts->id : node->name;
    const char *name = opts->name ? opts->name : node->name;
    if (nbd_export_find_id(id)) {
        vs_error_set(err, VS_ERR_GENERIC, "Block export id '%s' is already in use", id);
        return NULL;
    }
    /* QEMU's block layer refuses this before its NBD export looks at names */
    if (opts->writable && node->read_only) {
        vs_error_set(err, VS_ERR_GENERIC, "Cannot export read-only node as writable");
        return NULL;
    }
    if (strlen(name) > 4096) {
        vs_error_set(err, VS_ERR_GENERIC, "export name '%.64s...' too long", name);
        return NULL;
    }
    if (opts->description && strlen(opts->description) > 4096) {
        vs_error_set(err, VS_ERR_GENERIC, "description '%.64s...' too long", opts->description);
        return NULL;
    }
    if (nbd_export_find_name(name)) {
        vs_error_set(err, VS_ERR_GENERIC, "NBD server already has export named '%s'", name);
        return NULL;
    }
    struct nbd_export *exp = vs_zalloc(sizeof(*exp));
    exp->id = vs_strdup(id);
    exp->name = vs_strdup(name);
    exp->description = opts->description ? vs_strdup(opts->description) : NULL;
    exp->writable = opts->writable;
    if (opts->loop) {
        exp->loop = opts->loop;
        exp->iothread = vs_strdup(opts->iothread);
    }
    exp->blk.owner = exp->name;
    exp->blk.follows_replace = true;
    exp->blk.writable = opts->writable;
    exp->blk.on_idle = export_blk_idle;
    block_backend_attach(&exp->blk, node);
    vs_list_append(&exports, &exp->link);
    return exp;
}

static void export_free(struct nbd_export *exp)
{
    if (!exp->released) {
        vs_list_remove(&exp->link);
        block_backend_detach(&exp->blk);
    }
    free(exp->id);
    free(exp->name);
    free(exp->description);
    free(exp->iothread);
    free(exp);
}

/* A deleted export goes once no client is connected and no request of
 * theirs is still inside the node: a hard delete closes the clients at
 * once, but a write at the driver (or held by a pivot's quiesce) still
 * goes through the export's backend when it finishes. BLOCK_EXPORT_DELETED
 * then says the node is free, as QEMU's does after its drain.
 *
 * Clients on other loops are closed by their loops, later than the
 * delete: the export does not wait for them to be released (leave the
 * namespace and its node, with the event, before the reply of a hard
 * delete as in QEMU), only to be freed. Until then a request of theirs
 * still on its way finds the backend detached and fails, to a client
 * about to be cut, never acknowledged. */
static void maybe_finish_delete(struct nbd_export *exp)
{
    if (!exp->deleting)
        return;
    if (!exp->released) {
        if (exp->connections > exp->remote_connections || exp->blk.n_reqs > 0)
            return;
        /* Reads of clients on other loops may be running there, straight
         * through the driver: the backend stays until they are done (the
         * last one's loop then calls export_blk_idle). */
        if (!blk_direct_shut(&exp->blk))
            return;
        exp->released = true;
        vs_list_remove(&exp->link);
        vs_list_init(&exp->link);
        block_backend_detach(&exp->blk);
        vs_event_emit("BLOCK_EXPORT_DELETED", json_pack("{s:s}", "id", exp->id));
    }
    if (exp->connections == 0)
        export_free(exp);
}

static void export_blk_idle(struct block_backend *blk)
{
    maybe_finish_delete(vs_container_of(blk, struct nbd_export, blk));
}

void nbd_export_conn_gone(struct nbd_export *exp)
{
    exp->connections--;
    maybe_finish_delete(exp);
}

void nbd_export_stats_get(const struct nbd_export *exp, struct nbd_export_stats *out)
{
    /* Clients on other loops add to the counters as their replies go. */
    const uint64_t *in = (const uint64_t *)&exp->stats;
    uint64_t *o = (uint64_t *)out;
    for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
        o[i] = __atomic_load_n(&in[i], __ATOMIC_RELAXED);
}

struct nbd_export_stats nbd_export_stats_now(const struct nbd_export *exp)
{
    struct nbd_export_stats st;
    nbd_export_stats_get(exp, &st);
    return st;
}

int nbd_export_del(struct nbd_export *exp, bool hard, struct vs_error *err)
{
    if (exp->deleting) {
        vs_error_set(err, VS_ERR_GENERIC, "Export '%s' is already shutting down", exp->id);
        return -1;
    }
    if (exp->connections > 0 && !hard) {
        vs_error_set(err, VS_ERR_GENERIC, "export '%s' still in use", exp->id);
        return -1;
    }
    exp->deleting = true;
    if (exp->connections > 0) {
        /* The last one gone ends it; with clients on other loops (which
         * keep it alive until theirs say so) it is released at once
         * unless a request is inside the node. */
        bool remote = exp->remote_connections > 0;
        nbd_server_close_export_clients(exp);
        if (remote)
            maybe_finish_delete(exp);
    } else {
        maybe_finish_delete(exp);
    }
    return 0;
}

void nbd_export_del_all(void)
{
    /* As a hard delete of each: an export whose clients' requests are
     * still inside its node (a hung driver at exit) stays until they are
     * done, rather than be freed under them. */
    vs_list_for_each_safe(pos, &exports) {
        struct nbd_export *exp = vs_list_entry(pos, struct nbd_export, link);
        if (!exp->deleting)
            nbd_export_del(exp, true, NULL);
    }
}
