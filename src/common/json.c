/* Compact JSON text from a jansson document, for the API's replies and the
 * JSON log lines. jansson's own json_dumps guards every object and array
 * against reference loops with a formatted pointer in a hash table, which
 * made it a third of the cost of a small reply; a document built by its
 * caller cannot loop, so this writer goes straight through it. The output
 * is jansson's to the byte (tests/unit/common compares them). */
#include "common.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* A real as jansson writes it: %.17g, never without a '.' or an 'e' (it
 * would read back as an integer), and an exponent without '+' or leading
 * zeros. */
static void put_real(struct vs_buf *b, double v)
{
    char s[40];
    int n = snprintf(s, sizeof s, "%.17g", v);
    if (n < 0 || (size_t)n >= sizeof s - 3)
        return;
    if (!strchr(s, '.') && !strchr(s, 'e')) {
        memcpy(s + n, ".0", 3);
        n += 2;
    }
    char *e = strchr(s, 'e');
    if (e) {
        char *start = e + 1, *end = start + 1;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, (size_t)n - (size_t)(end - s) + 1);
            n -= (int)(end - start);
        }
    }
    vs_buf_add(b, s, (size_t)n);
}

static int dump(struct vs_buf *b, const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_NULL: vs_buf_add(b, "null", 4); return 0;
    case JSON_TRUE: vs_buf_add(b, "true", 4); return 0;
    case JSON_FALSE: vs_buf_add(b, "false", 5); return 0;
    case JSON_INTEGER: {
        char s[24];
        int n = snprintf(s, sizeof s, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
        vs_buf_add(b, s, (size_t)n);
        return 0;
    }
    case JSON_REAL: put_real(b, json_real_value(j)); return 0;
    case JSON_STRING:
        return vs_buf_json_string(b, json_string_value(j), json_string_length(j)) ? 0 : -1;
    case JSON_ARRAY: {
        vs_buf_add(b, "[", 1);
        size_t n = json_array_size(j);
        for (size_t i = 0; i < n; i++) {
            if (i)
                vs_buf_add(b, ",", 1);
            if (dump(b, json_array_get(j, i)) < 0)
                return -1;
        }
        vs_buf_add(b, "]", 1);
        return 0;
    }
    case JSON_OBJECT: {
        vs_buf_add(b, "{", 1);
        bool first = true;
        /* insertion order, as json_dumps without JSON_SORT_KEYS */
        for (void *it = json_object_iter((json_t *)j); it;
             it = json_object_iter_next((json_t *)j, it)) {
            if (!first)
                vs_buf_add(b, ",", 1);
            first = false;
            if (!vs_buf_json_string(b, json_object_iter_key(it), json_object_iter_key_len(it)))
                return -1;
            vs_buf_add(b, ":", 1);
            if (dump(b, json_object_iter_value(it)) < 0)
                return -1;
        }
        vs_buf_add(b, "}", 1);
        return 0;
    }
    }
    return -1;
}

int vs_json_dump(struct vs_buf *b, const void *json)
{
    size_t mark = b->len;
    if (json && dump(b, json) == 0)
        return 0;
    b->len = mark;
    if (b->data)
        b->data[mark] = '\0';
    return -1;
}
