/* libFuzzer target: the paging arguments of the list calls (rest/paging.c):
 * limit, offset, marker, sort, sort_key and sort_dir from a query string
 * ("k=v&k=v", taken raw). Whatever the input, the arguments are either
 * refused with 400 (an unknown marker: 404) or give an order of at most
 * PAGE_MAX_SORT known keys and a window inside the list; the next link is
 * built without overflowing; never a crash, hang or leak. */
#include "rest/rest.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 16
struct args {
    char buf[2048];
    const char *key[MAX_ARGS], *val[MAX_ARGS];
    size_t n;
};

static const char *lookup(void *opaque, bool header, const char *name)
{
    struct args *a = opaque;
    if (header)
        return NULL;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->key[i], name) == 0)
            return a->val[i];
    return NULL;
}

struct item {
    char id[8];
    int size;
};

static int cmp_key(const void *x, const void *y, const char *key)
{
    const struct item *a = x, *b = y;
    if (strcmp(key, "size") == 0)
        return (a->size > b->size) - (a->size < b->size);
    return strcmp(a->id, b->id);
}

static const char *id_of(const void *x)
{
    return ((const struct item *)x)->id;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct args a;
    static struct api_ctx ctx = { .base_url = "http://127.0.0.1:8776" };
    static struct api_request rq;
    memset(&a, 0, sizeof a);
    memset(&rq, 0, sizeof rq);
    if (size >= sizeof a.buf)
        return 0;
    memcpy(a.buf, data, size);
    a.buf[size] = '\0';
    if (strlen(a.buf) != size)
        return 0;
    char *save = NULL;
    for (char *kv = strtok_r(a.buf, "&", &save); kv && a.n < MAX_ARGS;
         kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        a.key[a.n] = kv;
        a.val[a.n] = eq ? eq + 1 : "";
        if (eq)
            *eq = '\0';
        a.n++;
    }
    rq.ctx = &ctx;
    rq.lookup = lookup;
    rq.lookup_opaque = &a;
    snprintf(rq.url, sizeof rq.url, "/volume/v3/p/volumes/detail");
    static const char *const keys[] = { "id", "size", "name", NULL };
    struct page_req p;
    if (page_req_read(&rq, keys, "size:desc", &p) < 0) {
        if (rq.err.status != 400)
            abort();
        return 0;
    }
    if (p.n_sort == 0 || p.n_sort > PAGE_MAX_SORT)
        abort();
    /* an empty list comes without an array */
    page_sort(NULL, 0, sizeof(struct item), cmp_key, &p);
    struct item items[5] = { { "a", 3 }, { "b", 1 }, { "c", 3 }, { "d", 2 }, { "e", 0 } };
    page_sort(items, 5, sizeof items[0], cmp_key, &p);
    size_t first = 0, count = 0;
    if (page_window(&rq, items, 5, sizeof items[0], id_of, &p, &first, &count) < 0) {
        if (rq.err.status != 404)
            abort();
        return 0;
    }
    if (first > 5 || count > 5 - first)
        abort();
    static const char *const carry[] = { "name", "status", NULL };
    json_t *page = json_array();
    for (size_t i = first; i < first + count; i++)
        json_array_append_new(page, json_string(items[i].id));
    json_decref(
        page_body(&rq, &p, "items", page, count ? items[first + count - 1].id : NULL, carry));
    return 0;
}
