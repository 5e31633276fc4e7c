/* UTF-8 as the control plane and the logs need it: lengths in characters
 * (Nova's and Cinder's maxLength count code points, not bytes), text cut
 * to a valid end (a message cut by a "%.64s" or by the size of a buffer
 * must not end inside a character, or a JSON encoder refuses the whole
 * document), and the check the JSON writers use to pass valid text through
 * and escape the rest. */
#include "common.h"

#include <string.h>

size_t vs_utf8_seq_len(const unsigned char *p, size_t left)
{
    unsigned c = p[0];
    size_t len = c < 0x80             ? 1
                 : (c & 0xe0) == 0xc0 ? 2
                 : (c & 0xf0) == 0xe0 ? 3
                 : (c & 0xf8) == 0xf0 ? 4
                                      : 0;
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

size_t vs_utf8_len(const char *s)
{
    size_t n = 0, left = strlen(s);
    const unsigned char *p = (const unsigned char *)s;
    while (left) {
        size_t l = vs_utf8_seq_len(p, left);
        if (l == 0)
            l = 1; /* a stray byte counts as one */
        p += l;
        left -= l;
        n++;
    }
    return n;
}

bool vs_utf8_valid(const char *s)
{
    size_t left = strlen(s);
    const unsigned char *p = (const unsigned char *)s;
    while (left) {
        size_t l = vs_utf8_seq_len(p, left);
        if (l == 0)
            return false;
        p += l;
        left -= l;
    }
    return true;
}

void vs_utf8_repair(char *s)
{
    size_t left = strlen(s);
    unsigned char *r = (unsigned char *)s, *w = r;
    while (left) {
        size_t l = vs_utf8_seq_len(r, left);
        if (l == 0) {
            r++, left--; /* dropped: half a character says nothing */
            continue;
        }
        memmove(w, r, l);
        w += l, r += l, left -= l;
    }
    *w = '\0';
}
