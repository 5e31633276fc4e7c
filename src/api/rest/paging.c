/* Pages of a list, as Nova and Cinder cut them: limit (at most
 * PAGE_MAX_LIMIT items, which is also what a list without one gets),
 * marker (the items after the one with that id), offset (Cinder), and
 * the sort order (Cinder's sort=key:dir,..., or sort_key/sort_dir, one or
 * more comma-separated, defaulting to descending). A full page carries a
 * "next" link: the request's own URL with its arguments and the marker of
 * its last item, which is what clients and Tempest follow. The list's
 * records stay the caller's; this file only orders and windows them. */
#include "rest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Reads a non-negative integer argument; -1 when absent. */
static int read_count(struct api_request *rq, const char *name, long *out)
{
    const char *s = api_query(rq, name);
    *out = -1;
    if (!s)
        return 0;
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < 0 || v > 1000000000)
        return api_err(&rq->err, 400, "Invalid input received: %s must be a non-negative integer.",
                       name);
    *out = v;
    return 0;
}

static bool key_allowed(const char *const *keys, const char *key)
{
    for (size_t i = 0; keys[i]; i++)
        if (strcmp(keys[i], key) == 0)
            return true;
    return false;
}

/* Adds "key[:dir]" items of the comma-separated LIST; DIRS, when given, is
 * sort_dir's comma-separated list matched by position. */
static int add_sort_keys(struct api_request *rq, const char *const *keys, const char *list,
                         const char *dirs, struct page_req *p)
{
    char buf[256], dbuf[256];
    if (strlen(list) >= sizeof buf || (dirs && strlen(dirs) >= sizeof dbuf))
        return api_err(&rq->err, 400, "Invalid input received: sort is too long.");
    snprintf(buf, sizeof buf, "%s", list);
    snprintf(dbuf, sizeof dbuf, "%s", dirs ? dirs : "");
    char *save = NULL, *dsave = NULL;
    char *d = dirs ? strtok_r(dbuf, ",", &dsave) : NULL;
    for (char *k = strtok_r(buf, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(k, ':');
        const char *dir = colon ? colon + 1 : d;
        if (colon)
            *colon = '\0';
        if (dir && strcmp(dir, "asc") != 0 && strcmp(dir, "desc") != 0)
            return api_err(&rq->err, 400,
                           "Invalid input received: Unknown sort direction, must "
                           "be 'desc' or 'asc'");
        if (!key_allowed(keys, k))
            return api_err(&rq->err, 400, "Invalid input received: Invalid sort key %.64s", k);
        if (p->n_sort == PAGE_MAX_SORT)
            return api_err(&rq->err, 400, "Invalid input received: too many sort keys.");
        snprintf(p->sort[p->n_sort].key, sizeof p->sort[0].key, "%s", k);
        p->sort[p->n_sort].desc = !dir || strcmp(dir, "desc") == 0;
        p->n_sort++;
        if (d)
            d = strtok_r(NULL, ",", &dsave);
    }
    return 0;
}

int page_req_read(struct api_request *rq, const char *const *keys, const char *default_sort,
                  struct page_req *p)
{
    memset(p, 0, sizeof *p);
    if (read_count(rq, "limit", &p->limit) < 0 || read_count(rq, "offset", &p->offset) < 0)
        return -1;
    p->marker = api_query(rq, "marker");
    const char *sort = api_query(rq, "sort"), *skey = api_query(rq, "sort_key"),
               *sdir = api_query(rq, "sort_dir");
    if (sort && (skey || sdir))
        return api_err(&rq->err, 400,
                       "Invalid input received: The 'sort_key' and 'sort_dir' parameters are "
                       "deprecated and cannot be used with the 'sort' parameter.");
    if (sort && add_sort_keys(rq, keys, sort, NULL, p) < 0)
        return -1;
    if (skey && add_sort_keys(rq, keys, skey, sdir, p) < 0)
        return -1;
    if (!sort && !skey && add_sort_keys(rq, keys, default_sort, NULL, p) < 0)
        return -1;
    /* id last, so that equal keys still give one order and markers work */
    bool has_id = false;
    for (size_t i = 0; i < p->n_sort; i++)
        has_id |= strcmp(p->sort[i].key, "id") == 0;
    if (!has_id && p->n_sort < PAGE_MAX_SORT) {
        snprintf(p->sort[p->n_sort].key, sizeof p->sort[0].key, "id");
        p->sort[p->n_sort].desc = p->n_sort ? p->sort[p->n_sort - 1].desc : true;
        p->n_sort++;
    }
    return 0;
}

struct sort_ctx {
    const struct page_req *p;
    int (*cmp_key)(const void *a, const void *b, const char *key);
};

static int cmp_items(const void *a, const void *b, void *opaque)
{
    const struct sort_ctx *c = opaque;
    for (size_t i = 0; i < c->p->n_sort; i++) {
        int r = c->cmp_key(a, b, c->p->sort[i].key);
        if (r)
            return c->p->sort[i].desc ? -r : r;
    }
    return 0;
}

void page_sort(void *items, size_t n, size_t size,
               int (*cmp_key)(const void *a, const void *b, const char *key),
               const struct page_req *p)
{
    struct sort_ctx c = { p, cmp_key };
    if (n > 1) /* an empty list may have no array at all */
        qsort_r(items, n, size, cmp_items, &c);
}

int page_window(struct api_request *rq, const void *items, size_t n, size_t size,
                const char *(*id_of)(const void *item), const struct page_req *p, size_t *first,
                size_t *count)
{
    size_t start = 0;
    if (p->marker) {
        size_t i = 0;
        while (i < n && strcmp(id_of((const char *)items + i * size), p->marker) != 0)
            i++;
        if (i == n)
            return api_err(&rq->err, 404, "Marker %.64s could not be found.", p->marker);
        start = i + 1;
    }
    if (p->offset > 0)
        start = (size_t)p->offset >= n - start ? n : start + (size_t)p->offset;
    size_t limit = p->limit >= 0 && p->limit < PAGE_MAX_LIMIT ? (size_t)p->limit : PAGE_MAX_LIMIT;
    *first = start;
    *count = n - start < limit ? n - start : limit;
    return 0;
}

/* Appends "&key=value" (the first without "&"), value percent-encoded. */
static void query_add(char *q, size_t cap, const char *key, const char *value)
{
    size_t len = strlen(q);
    len += (size_t)snprintf(q + len, len < cap ? cap - len : 0, "%s%s=", len ? "&" : "", key);
    for (const unsigned char *s = (const unsigned char *)value; *s && len + 4 < cap; s++) {
        if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
            strchr("-._~", *s))
            q[len++] = (char)*s;
        else
            len += (size_t)snprintf(q + len, cap - len, "%%%02X", *s);
    }
    q[len < cap ? len : cap - 1] = '\0';
}

static json_t *next_link(struct api_request *rq, const struct page_req *p, size_t count,
                         const char *last_id, const char *const *carry)
{
    size_t limit = p->limit >= 0 && p->limit < PAGE_MAX_LIMIT ? (size_t)p->limit : PAGE_MAX_LIMIT;
    if (count == 0 || count != limit)
        return NULL;
    char q[1500] = "";
    for (size_t i = 0; carry[i]; i++) {
        const char *v = api_query(rq, carry[i]);
        if (v)
            query_add(q, sizeof q, carry[i], v);
    }
    static const char *const own[] = { "limit", "sort", "sort_key", "sort_dir", NULL };
    for (size_t i = 0; own[i]; i++) {
        const char *v = api_query(rq, own[i]);
        if (v)
            query_add(q, sizeof q, own[i], v);
    }
    query_add(q, sizeof q, "marker", last_id);
    char href[4000];
    snprintf(href, sizeof href, "%s%s?%s", rq->ctx->base_url, rq->url, q);
    return json_pack("[{s:s, s:s}]", "rel", "next", "href", href);
}

json_t *page_body(struct api_request *rq, const struct page_req *p, const char *key, json_t *items,
                  const char *last_id, const char *const *carry)
{
    json_t *out = json_pack("{s:o}", key, items);
    size_t count = json_array_size(items);
    json_t *next = count && last_id ? next_link(rq, p, count, last_id, carry) : NULL;
    if (next) {
        char links[64];
        snprintf(links, sizeof links, "%s_links", key);
        json_object_set_new(out, links, next);
    }
    return out;
}
