/* A JSON writer straight into a buffer, for the replies read most (the
 * attachment list and show): building a jansson document only to walk it
 * once and free it cost more than the registry reads behind those replies.
 * The writer places the commas and colons itself, escapes every string as
 * vs_json_dump does, and writes the same bytes a jansson document of the
 * same shape would dump to (tests/unit/api/base and the json-writer fuzz
 * target compare the two). A string that is not valid UTF-8, or nesting
 * past JW_MAX_DEPTH, marks the writer failed instead of writing text a
 * client could not parse; jw_finish then answers NULL. */
#include "base.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jw_init(struct jw *w, size_t size_hint)
{
    memset(w, 0, sizeof *w);
    if (size_hint) {
        w->b.data = vs_malloc(size_hint + 1);
        w->b.cap = size_hint + 1;
        w->b.data[0] = '\0';
    }
}

/* Before a value or a key: the comma that separates it from the item
 * before it in its container. A value right after its key needs none. */
static void item_start(struct jw *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->depth > 0) {
        uint32_t bit = 1u << (w->depth - 1);
        if (w->has_items & bit)
            vs_buf_add(&w->b, ",", 1);
        w->has_items |= bit;
    }
}

static void open_container(struct jw *w, char c)
{
    item_start(w);
    if (w->depth >= JW_MAX_DEPTH) {
        w->failed = true;
        return;
    }
    vs_buf_add(&w->b, &c, 1);
    w->depth++;
    w->has_items &= ~(1u << (w->depth - 1));
}

static void close_container(struct jw *w, char c)
{
    if (w->depth == 0 || w->after_key) {
        w->failed = true;
        return;
    }
    vs_buf_add(&w->b, &c, 1);
    w->depth--;
}

void jw_object_open(struct jw *w)
{
    open_container(w, '{');
}

void jw_object_close(struct jw *w)
{
    close_container(w, '}');
}

void jw_array_open(struct jw *w)
{
    open_container(w, '[');
}

void jw_array_close(struct jw *w)
{
    close_container(w, ']');
}

void jw_key(struct jw *w, const char *key)
{
    if (w->after_key || w->depth == 0) {
        w->failed = true;
        return;
    }
    item_start(w);
    if (!vs_buf_json_string(&w->b, key, strlen(key)))
        w->failed = true;
    vs_buf_add(&w->b, ":", 1);
    w->after_key = true;
}

void jw_stringn(struct jw *w, const char *s, size_t n)
{
    item_start(w);
    if (!vs_buf_json_string(&w->b, s, n))
        w->failed = true;
}

void jw_string(struct jw *w, const char *s)
{
    jw_stringn(w, s, strlen(s));
}

void jw_int(struct jw *w, int64_t v)
{
    char s[24];
    int n = snprintf(s, sizeof s, "%" PRId64, v);
    item_start(w);
    vs_buf_add(&w->b, s, (size_t)n);
}

void jw_bool(struct jw *w, bool v)
{
    item_start(w);
    vs_buf_add(&w->b, v ? "true" : "false", v ? 4 : 5);
}

void jw_null(struct jw *w)
{
    item_start(w);
    vs_buf_add(&w->b, "null", 4);
}

void jw_key_string(struct jw *w, const char *key, const char *value)
{
    jw_key(w, key);
    jw_string(w, value);
}

char *jw_finish(struct jw *w, size_t *len)
{
    if (w->failed || w->depth != 0 || w->after_key || w->b.len == 0) {
        jw_free(w);
        return NULL;
    }
    return vs_buf_steal(&w->b, len);
}

void jw_free(struct jw *w)
{
    vs_buf_free(&w->b);
    w->depth = 0;
    w->after_key = false;
}
