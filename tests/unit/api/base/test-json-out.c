/* The JSON writer of the hot replies (json-out.c): what it writes is what
 * vs_json_dump writes for the same document, every string escaped so a
 * client can read it back, and misuse or a string that is not UTF-8 fails
 * the whole reply rather than sending broken text. */
#include "base/base.h"
#include "../unit.h"

static char *finish(struct jw *w)
{
    size_t len = 0;
    char *text = jw_finish(w, &len);
    CHECK(!text || strlen(text) == len);
    return text;
}

/* Nova's attachment list, as the handler writes it and as jansson would. */
static void same_bytes_as_jansson(void)
{
    struct jw w;
    jw_init(&w, 16); /* grows past the hint */
    jw_object_open(&w);
    jw_key(&w, "volumeAttachments");
    jw_array_open(&w);
    for (int i = 0; i < 2; i++) {
        jw_object_open(&w);
        jw_key_string(&w, "device", i ? "/dev/vdc" : "/dev/vdb");
        jw_key(&w, "tag");
        jw_null(&w);
        jw_key(&w, "delete_on_termination");
        jw_bool(&w, i == 1);
        jw_key(&w, "size");
        jw_int(&w, -9223372036854775807LL - 1);
        jw_key(&w, "empty");
        jw_array_open(&w);
        jw_array_close(&w);
        jw_object_close(&w);
    }
    jw_array_close(&w);
    jw_object_close(&w);
    char *text = finish(&w);
    CHECK(text);
    json_t *doc = json_object();
    json_t *arr = json_array();
    for (int i = 0; i < 2; i++)
        json_array_append_new(arr, json_pack("{s:s, s:n, s:b, s:I, s:[]}", "device",
                                             i ? "/dev/vdc" : "/dev/vdb", "tag",
                                             "delete_on_termination", i == 1, "size",
                                             (json_int_t)(-9223372036854775807LL - 1), "empty"));
    json_object_set_new(doc, "volumeAttachments", arr);
    struct vs_buf b = { 0 };
    CHECK(vs_json_dump(&b, doc) == 0);
    CHECK(strcmp(b.data, text) == 0);
    vs_buf_free(&b);
    json_decref(doc);
    free(text);
}

/* Plain text is copied eight bytes at a time: every byte value, at every
 * place of strings around those words' sizes, as a value and as a key,
 * writes what the byte-by-byte escaper writes (and fails where it fails). */
static void every_byte_at_every_place(void)
{
    for (size_t len = 1; len <= 24; len++)
        for (size_t at = 0; at < len; at++)
            for (int c = 0; c < 256; c++)
                for (int as_key = 0; as_key < 2; as_key++) {
                    char s[32];
                    memset(s, 'a', len);
                    s[at] = (char)c;
                    if (at + 3 < len)
                        s[len - 1] = '~';
                    struct vs_buf want = { 0 };
                    vs_buf_add(&want, as_key ? "{" : "[", 1);
                    bool ok = vs_buf_json_string(&want, s, len);
                    vs_buf_add(&want, as_key ? ":null}" : "]", as_key ? 6 : 1);
                    struct jw w;
                    jw_init(&w, c & 1 ? 4 : 64); /* in place, and growing */
                    if (as_key) {
                        char key[32];
                        memcpy(key, s, len);
                        key[len] = '\0';
                        jw_object_open(&w);
                        jw_key(&w, key);
                        jw_null(&w);
                        jw_object_close(&w);
                    } else {
                        jw_array_open(&w);
                        jw_stringn(&w, s, len);
                        jw_array_close(&w);
                    }
                    char *text = finish(&w);
                    /* a key is a C string: one cut by a NUL is not compared */
                    if (!(as_key && c == 0)) {
                        CHECK(ok == (text != NULL));
                        CHECK(!text || strcmp(text, want.data) == 0);
                    }
                    free(text);
                    vs_buf_free(&want);
                }
}

/* Quotes, backslashes and control characters are escaped, UTF-8 passes as
 * it is, and the text parses back to the strings written. */
static void strings_escaped(void)
{
    static const char *const s[] = { "say \"hi\"\\", "tab\there\nnl\r\b\f", "\x01\x1f\x7f",
                                     "caf\xc3\xa9 \xe2\x98\x83 \xf0\x9f\x98\x80", "" };
    struct jw w;
    jw_init(&w, 0);
    jw_array_open(&w);
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        jw_string(&w, s[i]);
    jw_stringn(&w, "nul\0inside", 10);
    jw_array_close(&w);
    char *text = finish(&w);
    CHECK(text);
    CHECK_CONTAINS(text, "\"say \\\"hi\\\"\\\\\"");
    CHECK_CONTAINS(text, "\\u0001\\u001F");
    CHECK_CONTAINS(text, "nul\\u0000inside");
    json_t *back = json_loads(text, JSON_ALLOW_NUL, NULL);
    CHECK(back && json_array_size(back) == 6);
    for (size_t i = 0; i < 5; i++)
        CHECK(strcmp(json_string_value(json_array_get(back, i)), s[i]) == 0);
    CHECK(json_string_length(json_array_get(back, 5)) == 10);
    json_decref(back);
    free(text);
}

/* A string jansson would refuse (not UTF-8) fails the reply, as a key too. */
static void invalid_utf8_fails(void)
{
    static const char *const bad[] = { "\xc3\x28", "\xed\xa0\x80", "\xc0\xaf", "\xff", "ab\x80" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct jw w;
        jw_init(&w, 0);
        jw_object_open(&w);
        jw_key_string(&w, "k", bad[i]);
        jw_object_close(&w);
        CHECK(!finish(&w));
        jw_init(&w, 0);
        jw_object_open(&w);
        jw_key_string(&w, bad[i], "v");
        jw_object_close(&w);
        CHECK(!finish(&w));
    }
}

/* What would make broken JSON fails instead: a value where a key belongs,
 * a key outside an object, a key without its value, a close without its
 * open, an open without its close, nesting too deep, nothing at all. */
static void misuse_fails(void)
{
    struct jw w;
    jw_init(&w, 0);
    jw_object_open(&w);
    jw_key(&w, "a");
    jw_key(&w, "b");
    CHECK(!finish(&w));
    jw_init(&w, 0);
    jw_key(&w, "a");
    CHECK(!finish(&w));
    jw_init(&w, 0);
    jw_object_open(&w);
    jw_key(&w, "a");
    jw_object_close(&w);
    CHECK(!finish(&w));
    jw_init(&w, 0);
    jw_array_close(&w);
    CHECK(!finish(&w));
    jw_init(&w, 0);
    jw_array_open(&w);
    CHECK(!finish(&w));
    jw_init(&w, 0);
    for (int i = 0; i <= JW_MAX_DEPTH; i++)
        jw_array_open(&w);
    for (int i = 0; i <= JW_MAX_DEPTH; i++)
        jw_array_close(&w);
    CHECK(!finish(&w));
    jw_init(&w, 0);
    CHECK(!finish(&w));
    /* as deep as allowed is fine */
    jw_init(&w, 0);
    for (int i = 0; i < JW_MAX_DEPTH; i++)
        jw_array_open(&w);
    for (int i = 0; i < JW_MAX_DEPTH; i++)
        jw_array_close(&w);
    char *text = finish(&w);
    CHECK(text && strlen(text) == 2 * JW_MAX_DEPTH);
    free(text);
}

int main(int argc, char **argv)
{
    static const struct unit_case cases[] = {
        { "same-bytes-as-jansson", same_bytes_as_jansson },
        { "strings-escaped", strings_escaped },
        { "every-byte-at-every-place", every_byte_at_every_place },
        { "invalid-utf8-fails", invalid_utf8_fails },
        { "misuse-fails", misuse_fails },
        { NULL, NULL },
    };
    return unit_main(argc, argv, cases);
}
