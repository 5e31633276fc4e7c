/* A growing string buffer: what log lines and JSON replies are written
 * into before they go out in one piece. Allocation failure aborts, as
 * everywhere in this layer (vs_malloc). */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void reserve(struct vs_buf *b, size_t more)
{
    if (b->len + more + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1)
        cap *= 2;
    b->data = vs_realloc(b->data, cap);
    b->cap = cap;
}

void vs_buf_add(struct vs_buf *b, const char *s, size_t n)
{
    reserve(b, n);
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void vs_buf_puts(struct vs_buf *b, const char *s)
{
    vs_buf_add(b, s, strlen(s));
}

void vs_buf_printf(struct vs_buf *b, const char *fmt, ...)
{
    va_list ap;
    reserve(b, 64);
    va_start(ap, fmt);
    int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->data[b->len] = '\0';
        return;
    }
    if ((size_t)n >= b->cap - b->len) {
        reserve(b, (size_t)n);
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

bool vs_buf_json_string(struct vs_buf *b, const char *s, size_t n)
{
    bool valid = true;
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    reserve(b, n + 2);
    b->data[b->len++] = '"';
    while (p < end) {
        /* the run of bytes that need nothing, copied at once */
        const unsigned char *run = p;
        while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
            p++;
        if (p > run)
            vs_buf_add(b, (const char *)run, (size_t)(p - run));
        if (p == end)
            break;
        if (*p >= 0x80) {
            size_t l = vs_utf8_seq_len(p, (size_t)(end - p));
            if (l) {
                vs_buf_add(b, (const char *)p, l);
                p += l;
                continue;
            }
            valid = false;
        }
        char esc[7] = { '\\', 0 };
        size_t el = 2;
        switch (*p) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u', esc[2] = '0', esc[3] = '0';
            esc[4] = hex[*p >> 4], esc[5] = hex[*p & 15];
            el = 6;
        }
        vs_buf_add(b, esc, el);
        p++;
    }
    vs_buf_add(b, "\"", 1);
    return valid;
}

char *vs_buf_steal(struct vs_buf *b, size_t *len)
{
    char *s = b->data ? b->data : vs_strdup("");
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}

void vs_buf_free(struct vs_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
