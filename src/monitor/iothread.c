/* iothread objects, qemu-storage-daemon's spelling of "a loop of its
 * own": `--object iothread,id=ID` (object-add qom-type iothread) starts
 * an event loop on a thread of its own, and an export bound to it
 * (block-export-add iothread=ID) has its clients served there, apart from
 * the pool of loops that --loops makes. query-iothreads answers as QEMU's
 * does (qemu-storage-daemon 7.2 has no such command; the system
 * emulator's shape is the one clients know).
 *
 * The polling properties are QEMU's knobs for its AioContext's busy
 * polling; our loops wait in io_uring and never poll, so they are kept
 * and reported, and change nothing. */
#include "monitor.h"

#include <string.h>

struct qmp_iothread {
    char *id;
    struct vs_loop *loop;
    int64_t poll_max_ns, poll_grow, poll_shrink, aio_max_batch;
    int64_t pool_min, pool_max; /* thread-pool-min/max, -1: not given */
    struct vs_list link;
};

static struct vs_list iothreads = VS_LIST_INIT(iothreads);

/* QEMU's default poll-max-ns (IOThread's AIO_POLL_MAX_NS_DEFAULT). */
#define POLL_MAX_NS_DEFAULT 32768

static struct qmp_iothread *find(const char *id)
{
    vs_list_for_each(l, &iothreads) {
        struct qmp_iothread *t = vs_list_entry(l, struct qmp_iothread, link);
        if (strcmp(t->id, id) == 0)
            return t;
    }
    return NULL;
}

struct vs_loop *qmp_iothread_loop(const char *id)
{
    struct qmp_iothread *t = find(id);
    return t ? t->loop : NULL;
}

bool qmp_iothread_exists(const char *id)
{
    return find(id) != NULL;
}

/* A free loop index for the nbd server's table of dedicated loops. */
static unsigned free_index(void)
{
    for (unsigned i = NBD_POOL_LOOPS; i < NBD_MAX_LOOPS; i++) {
        bool used = false;
        vs_list_for_each(l, &iothreads) {
            if (vs_loop_index(vs_list_entry(l, struct qmp_iothread, link)->loop) == i)
                used = true;
        }
        if (!used)
            return i;
    }
    return 0;
}

static int int_prop(json_t *args, const char *name, int64_t dflt, int64_t max, int64_t *out,
                    struct vs_error *err)
{
    json_t *v = json_object_get(args, name);
    *out = v ? json_integer_value(v) : dflt;
    if (v && (*out < 0 || *out > max)) {
        vs_error_set(err, VS_ERR_GENERIC, "%s value must be in range [0, %lld]", name,
                     (long long)max);
        return -1;
    }
    return 0;
}

int qmp_iothread_add(const char *id, json_t *args, struct vs_error *err)
{
    struct qmp_iothread t = { 0 };
    if (int_prop(args, "poll-max-ns", POLL_MAX_NS_DEFAULT, INT64_MAX, &t.poll_max_ns, err) < 0 ||
        int_prop(args, "poll-grow", 0, INT64_MAX, &t.poll_grow, err) < 0 ||
        int_prop(args, "poll-shrink", 0, INT64_MAX, &t.poll_shrink, err) < 0 ||
        int_prop(args, "aio-max-batch", 0, INT64_MAX, &t.aio_max_batch, err) < 0 ||
        int_prop(args, "thread-pool-min", -1, INT32_MAX, &t.pool_min, err) < 0 ||
        int_prop(args, "thread-pool-max", -1, INT32_MAX, &t.pool_max, err) < 0)
        return -1;
    /* QEMU's defaults: 0 and 64. */
    if ((t.pool_min >= 0 ? t.pool_min : 0) > (t.pool_max >= 0 ? t.pool_max : 64)) {
        vs_error_set(err, VS_ERR_GENERIC, "bad thread-pool-min/thread-pool-max values");
        return -1;
    }
    if (find(id) || vs_object_find(id)) {
        vs_error_set(err, VS_ERR_GENERIC,
                     "attempt to add duplicate property '%s' to object (type 'container')", id);
        return -1;
    }
    unsigned index = free_index();
    if (index == 0) {
        vs_error_set(err, VS_ERR_GENERIC, "Too many iothreads (at most %u)",
                     NBD_MAX_LOOPS - NBD_POOL_LOOPS);
        return -1;
    }
    struct vs_loop *loop = vs_loop_spawn(1024, 1, index);
    if (!loop) {
        vs_error_set(err, VS_ERR_GENERIC, "Cannot start the thread of iothread '%s'", id);
        return -1;
    }
    struct qmp_iothread *n = vs_zalloc(sizeof(*n));
    *n = t;
    n->id = vs_strdup(id);
    n->loop = loop;
    vs_list_append(&iothreads, &n->link);
    nbd_server_add_loop(loop);
    vs_debug("iothread '%s': event loop %u", id, index);
    return 0;
}

static void iothread_free(struct qmp_iothread *t)
{
    vs_list_remove(&t->link);
    nbd_server_remove_loop(t->loop);
    vs_loop_join(t->loop);
    free(t->id);
    free(t);
}

int qmp_iothread_del(const char *id, struct vs_error *err)
{
    struct qmp_iothread *t = find(id);
    if (!t) {
        vs_error_set(err, VS_ERR_GENERIC, "object '%s' not found", id);
        return -1;
    }
    /* QEMU lets an iothread go while an export runs in it; here the loop
     * and its thread would go from under the export's clients. */
    for (struct nbd_export *e = nbd_export_next(NULL); e; e = nbd_export_next(e)) {
        if (e->loop == t->loop) {
            vs_error_set(err, VS_ERR_GENERIC, "iothread '%s' is in use by export '%s'", id,
                         e->id);
            return -1;
        }
    }
    if (nbd_server_loop_clients(t->loop) > 0) {
        vs_error_set(err, VS_ERR_GENERIC,
                     "iothread '%s' still has NBD clients of a deleted export", id);
        return -1;
    }
    iothread_free(t);
    return 0;
}

void qmp_iothreads_stop(void)
{
    while (!vs_list_empty(&iothreads))
        iothread_free(vs_list_entry(iothreads.next, struct qmp_iothread, link));
}

static json_t *args_of(const struct qmp_iothread *t)
{
    json_t *a = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I}", "qom-type", "iothread", "id", t->id,
                          "poll-max-ns", (json_int_t)t->poll_max_ns, "poll-grow",
                          (json_int_t)t->poll_grow, "poll-shrink", (json_int_t)t->poll_shrink,
                          "aio-max-batch", (json_int_t)t->aio_max_batch);
    if (t->pool_min >= 0)
        json_object_set_new(a, "thread-pool-min", json_integer(t->pool_min));
    if (t->pool_max >= 0)
        json_object_set_new(a, "thread-pool-max", json_integer(t->pool_max));
    return a;
}

void qmp_iothread_foreach_args(void (*f)(json_t *args, void *opaque), void *opaque)
{
    vs_list_for_each(l, &iothreads) {
        f(args_of(vs_list_entry(l, struct qmp_iothread, link)), opaque);
    }
}

static json_t *cmd_query_iothreads(struct qmp_ctx *ctx, json_t *args, struct vs_error *err)
{
    json_t *list = json_array();
    vs_list_for_each(l, &iothreads) {
        struct qmp_iothread *t = vs_list_entry(l, struct qmp_iothread, link);
        json_array_append_new(
            list, json_pack("{s:s,s:i,s:I,s:I,s:I,s:I}", "id", t->id, "thread-id",
                            vs_loop_thread_id(t->loop), "poll-max-ns",
                            (json_int_t)t->poll_max_ns, "poll-grow", (json_int_t)t->poll_grow,
                            "poll-shrink", (json_int_t)t->poll_shrink, "aio-max-batch",
                            (json_int_t)t->aio_max_batch));
    }
    return list;
}

const struct qmp_command qmp_iothread_commands[] = {
    { "query-iothreads", NULL, cmd_query_iothreads,
      "Every iothread object: its id, the kernel's id of its thread, and the polling "
      "properties it was given (kept and reported; volswapd's loops wait in io_uring "
      "and do not poll). As QEMU's system emulator answers it; qemu-storage-daemon "
      "7.2 has no such command.",
      .returns = "`[{\"id\", \"thread-id\", \"poll-max-ns\", \"poll-grow\", \"poll-shrink\", "
                 "\"aio-max-batch\"}, ...]`" },
    { 0 },
};
