/* libFuzzer target: the JSON writer of the hot replies (base/json-out.c).
 * The input is read as a document (a type byte, then what that type needs:
 * a string's length and bytes, an integer's 8 bytes, a container's item
 * count and items), written both with the writer and as a jansson
 * document. The strings are any bytes: whenever jansson refuses one (not
 * UTF-8), the writer must fail too; otherwise its text must be byte for
 * byte vs_json_dump's of the document and parse back to an equal one.
 * Never a crash, a leak or text a client could not read. */
#include "base/base.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct input {
    const uint8_t *p;
    size_t left;
    bool refused; /* jansson refused a string: the writer must fail */
};

static uint8_t next_byte(struct input *in)
{
    if (!in->left)
        return 0;
    in->left--;
    return *in->p++;
}

/* Up to 63 bytes of input as a string (a key stops at a NUL). */
static size_t next_string(struct input *in, char *out, bool key)
{
    size_t n = next_byte(in) & 63;
    if (n > in->left)
        n = in->left;
    memcpy(out, in->p, n);
    in->p += n;
    in->left -= n;
    out[n] = '\0';
    return key ? strlen(out) : n;
}

static json_t *value(struct input *in, struct jw *w, int depth)
{
    uint8_t t = next_byte(in);
    char s[64];
    switch (depth >= 8 ? t % 5 : t % 7) {
    case 0: jw_null(w); return json_null();
    case 1: jw_bool(w, true); return json_true();
    case 2: jw_bool(w, false); return json_false();
    case 3: {
        uint64_t u = 0;
        for (int i = 0; i < 8; i++)
            u = u << 8 | next_byte(in);
        jw_int(w, (int64_t)u);
        return json_integer((json_int_t)u);
    }
    case 4: {
        size_t n = next_string(in, s, false);
        jw_stringn(w, s, n);
        json_t *j = json_stringn(s, n);
        if (!j) {
            in->refused = true;
            return json_null();
        }
        return j;
    }
    case 5: {
        json_t *a = json_array();
        jw_array_open(w);
        for (int n = next_byte(in) % 5; n > 0; n--)
            json_array_append_new(a, value(in, w, depth + 1));
        jw_array_close(w);
        return a;
    }
    default: {
        json_t *o = json_object();
        jw_object_open(w);
        for (int n = next_byte(in) % 5; n > 0; n--) {
            next_string(in, s, true);
            /* a repeated key: jansson keeps one, so the writer skips it */
            if (json_object_get(o, s))
                continue;
            jw_key(w, s);
            json_t *v = value(in, w, depth + 1);
            if (json_object_set_new(o, s, v) < 0)
                in->refused = true; /* the key is not UTF-8 */
        }
        jw_object_close(w);
        return o;
    }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = { .p = data, .left = size };
    struct jw w;
    jw_init(&w, size % 2 ? 0 : 64);
    json_t *doc = value(&in, &w, 0);
    size_t len = 0;
    char *text = jw_finish(&w, &len);
    if (in.refused) {
        if (text)
            abort();
        json_decref(doc);
        return 0;
    }
    if (!text || strlen(text) != len)
        abort();
    struct vs_buf b = { 0 };
    if (vs_json_dump(&b, doc) < 0 || b.len != len || memcmp(b.data, text, len) != 0)
        abort();
    json_t *back = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (!back || !json_equal(back, doc))
        abort();
    json_decref(back);
    vs_buf_free(&b);
    free(text);
    json_decref(doc);
    return 0;
}
