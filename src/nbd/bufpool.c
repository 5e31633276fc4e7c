/* Payload buffers for NBD requests, recycled by power-of-two size class.
 * A 1 MiB malloc is an mmap and a munmap, and the page faults between,
 * on every request: keeping a few freed buffers per class removes that
 * from the data path. Buffers are 4 KiB aligned so O_DIRECT nodes can use
 * them as they are. Each loop thread has a pool of its own (no locks): a
 * connection's buffers are taken and given back on its loop. */
#include "internal.h"

#include <pthread.h>
#include <stdlib.h>

#define POOL_MIN_SHIFT 12  /* 4 KiB */
#define POOL_MAX_SHIFT 25  /* 32 MiB */
#define POOL_KEEP_BYTES (64u * 1024 * 1024) /* all classes together */
#define POOL_KEEP_MAX 256                    /* buffers per class */

struct pool_class {
    void **free;
    unsigned n, cap;
};

static __thread struct pool_class classes[POOL_MAX_SHIFT - POOL_MIN_SHIFT + 1];
static __thread size_t pool_bytes;

/* A loop thread that ends gives its pool back (the pool of the main
 * thread stays reachable until exit, as it always has). */
static pthread_key_t pool_key;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

static void pool_free_thread(void *unused)
{
    (void)unused;
    for (unsigned c = 0; c < VS_ARRAY_SIZE(classes); c++) {
        while (classes[c].n > 0)
            free(classes[c].free[--classes[c].n]);
        free(classes[c].free);
        classes[c].free = NULL;
        classes[c].cap = 0;
    }
    pool_bytes = 0;
}

static void pool_key_make(void)
{
    pthread_key_create(&pool_key, pool_free_thread);
}

static unsigned class_of(size_t len, size_t *size)
{
    unsigned shift = POOL_MIN_SHIFT;
    while (((size_t)1 << shift) < len)
        shift++;
    *size = (size_t)1 << shift;
    return shift - POOL_MIN_SHIFT;
}

void *nbd_buf_get(size_t len, size_t *size_out)
{
    size_t size;
    if (len == 0)
        len = 1;
    unsigned c = class_of(len, &size);
    *size_out = size;
    if (c < VS_ARRAY_SIZE(classes) && classes[c].n > 0) {
        pool_bytes -= size;
        return classes[c].free[--classes[c].n];
    }
    void *p = NULL;
    if (posix_memalign(&p, 4096, size) != 0)
        p = NULL;
    if (!p)
        vs_malloc((size_t)-1 / 2); /* reports and aborts like any OOM */
    return p;
}

void nbd_buf_put(void *buf, size_t size)
{
    if (!buf)
        return;
    size_t s;
    unsigned c = class_of(size, &s);
    if (c < VS_ARRAY_SIZE(classes)) {
        struct pool_class *pc = &classes[c];
        if (pc->n < POOL_KEEP_MAX && pool_bytes + s <= POOL_KEEP_BYTES) {
            if (pc->cap == 0) {
                /* This thread's first: have its pool freed when it ends. */
                pthread_once(&pool_once, pool_key_make);
                pthread_setspecific(pool_key, classes);
            }
            if (pc->n == pc->cap) {
                pc->cap = pc->cap ? pc->cap * 2 : 8;
                pc->free = vs_realloc(pc->free, pc->cap * sizeof(void *));
            }
            pc->free[pc->n++] = buf;
            pool_bytes += s;
            return;
        }
    }
    free(buf);
}
