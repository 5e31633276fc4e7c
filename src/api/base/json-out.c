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

/* Appends N bytes: in place when they fit (the common case, as jw_init
 * reserves the reply's size), else through vs_buf_add, which grows. */
static inline void put(struct jw *w, const char *s, size_t n)
{
    struct vs_buf *b = &w->b;
    if (b->len + n + 1 > b->cap) {
        vs_buf_add(b, s, n);
        return;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static inline void put_char(struct jw *w, char c)
{
    put(w, &c, 1);
}

/* Is S[0, N) text JSON takes as it is: printable ASCII without '"' or
 * '\\'? Eight bytes at a time: in a word whose bytes are all below 0x80
 * (else it fails on x's own high bits), a byte below 0x20, or equal to '"'
 * or '\\' (zero after the XOR), is the first to borrow in the subtraction
 * and sets its high bit; a borrow from a byte below it needs that byte to
 * be one of those already. Most of what the views write (ids, device
 * names, keys) is such text, which is then copied at once. */
static bool json_plain(const char *s, size_t n)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, s + i, 8);
        uint64_t bad = x | (x - ones * 0x20) | ((x ^ (ones * '"')) - ones) |
                       ((x ^ (ones * '\\')) - ones);
        if (bad & highs)
            return false;
    }
    for (; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\')
            return false;
    }
    return true;
}

/* S as a JSON string, and SUFFIX (a ':' after a key) after it. */
static void put_string(struct jw *w, const char *s, size_t n, const char *suffix, size_t sn)
{
    struct vs_buf *b = &w->b;
    if (json_plain(s, n)) {
        if (b->len + n + 2 + sn + 1 > b->cap) { /* the writer grows */
            put_char(w, '"');
            put(w, s, n);
            put_char(w, '"');
            put(w, suffix, sn);
            return;
        }
        char *d = b->data + b->len;
        d[0] = '"';
        memcpy(d + 1, s, n);
        d[n + 1] = '"';
        memcpy(d + n + 2, suffix, sn);
        b->len += n + 2 + sn;
        b->data[b->len] = '\0';
        return;
    }
    if (!vs_buf_json_string(b, s, n))
        w->failed = true;
    put(w, suffix, sn);
}

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
            put_char(w, ',');
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
    put_char(w, c);
    w->depth++;
    w->has_items &= ~(1u << (w->depth - 1));
}

static void close_container(struct jw *w, char c)
{
    if (w->depth == 0 || w->after_key) {
        w->failed = true;
        return;
    }
    put_char(w, c);
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
    put_string(w, key, strlen(key), ":", 1);
    w->after_key = true;
}

void jw_stringn(struct jw *w, const char *s, size_t n)
{
    item_start(w);
    put_string(w, s, n, "", 0);
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
    put(w, s, (size_t)n);
}

void jw_bool(struct jw *w, bool v)
{
    item_start(w);
    put(w, v ? "true" : "false", v ? 4 : 5);
}

void jw_null(struct jw *w)
{
    item_start(w);
    put(w, "null", 4);
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
