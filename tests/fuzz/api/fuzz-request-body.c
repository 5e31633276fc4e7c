/* libFuzzer target: request body parsing (json-body.c), the one door through
 * which untrusted JSON enters volswap-api. The first byte picks the schema
 * (volume create, server create, attachment, Keystone auth...), the rest is
 * the body. Whatever the input, body_parse must return either a document or
 * an error with a 4xx status, and never crash, hang or leak. */
#include "rest/rest.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t n = 0;
    while (body_schemas[n])
        n++;
    const struct body_schema *s = body_schemas[data[0] % n];
    struct api_error e = { 0 };
    json_t *doc = NULL;
    json_t *inner = body_parse((const char *)data + 1, size - 1, s, &doc, &e);
    if (inner) {
        if (!doc || !json_is_object(inner))
            abort();
    } else if (e.status < 400 || e.status > 413 || doc) {
        abort();
    }
    json_decref(doc);
    return 0;
}
