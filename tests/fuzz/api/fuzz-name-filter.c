/* libFuzzer target: the servers name filter (regex.c), which compiles a
 * pattern from any reader's query string. The input is a pattern, a NUL,
 * and a name to search (without a NUL, the input is searched against
 * itself). A pattern is either refused with a message or searched in
 * bounded time; never a crash, never a hang. */
#include "base/base.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    size_t plen = strlen(text);
    const char *subject = plen < size ? text + plen + 1 : text;
    struct api_error e = { 0 };
    struct api_regex *re = api_regex_compile(text, &e);
    if (re) {
        api_regex_search(re, subject);
        api_regex_search(re, "");
        api_regex_free(re);
    } else if (e.status != 400 || !e.msg[0]) {
        abort();
    }
    free(text);
    return 0;
}
