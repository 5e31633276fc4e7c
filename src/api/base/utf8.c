/* UTF-8 text as Nova and Cinder see it: lengths in characters (their
 * schemas' maxLength counts code points, not bytes), and messages that are
 * always valid UTF-8 -- a message cut by a "%.64s" or by the size of an
 * error buffer must not end (or continue) inside a character, or the JSON
 * encoder refuses the whole fault body. */
#include "base.h"

#include <string.h>

/* Length of the valid sequence at P (at most LEFT bytes), 0 if invalid. */
static size_t seq_len(const unsigned char *p, size_t left)
{
    unsigned c = p[0];
    size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
    if (len == 0 || len > left)
        return 0;
    unsigned v = c & (0x7fu >> len);
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (p[i] & 0x3f);
    }
    if ((len == 2 && v < 0x80) || (len == 3 && v < 0x800) || (len == 4 && v < 0x10000) ||
        v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    return len;
}

size_t api_utf8_len(const char *s)
{
    size_t n = 0, left = strlen(s);
    const unsigned char *p = (const unsigned char *)s;
    while (left) {
        size_t l = seq_len(p, left);
        if (l == 0)
            l = 1; /* a stray byte counts as one */
        p += l;
        left -= l;
        n++;
    }
    return n;
}

bool api_utf8_valid(const char *s)
{
    size_t left = strlen(s);
    const unsigned char *p = (const unsigned char *)s;
    while (left) {
        size_t l = seq_len(p, left);
        if (l == 0)
            return false;
        p += l;
        left -= l;
    }
    return true;
}

void api_utf8_repair(char *s)
{
    size_t left = strlen(s);
    unsigned char *r = (unsigned char *)s, *w = r;
    while (left) {
        size_t l = seq_len(r, left);
        if (l == 0) {
            r++, left--; /* dropped: half a character says nothing */
            continue;
        }
        memmove(w, r, l);
        w += l, r += l, left -= l;
    }
    *w = '\0';
}
