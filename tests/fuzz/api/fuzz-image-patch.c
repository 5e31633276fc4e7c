/* libFuzzer target: the body of Glance's PATCH /v2/images/{id}
 * (rest/image/patch.c), a JSON-patch document. Whatever the input, it is
 * either refused with a 400 or 413 and a message, or gives at most
 * IMAGE_PATCH_MAX operations, each with a known kind, a non-empty
 * attribute name that fits, and a value exactly when the kind takes one;
 * never a crash, hang or leak. */
#include "rest/image/image.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct image_patch_op ops[IMAGE_PATCH_MAX];
    size_t n = 0;
    struct api_error e = { 0 };
    json_t *doc = image_patch_parse((const char *)data, size, ops, IMAGE_PATCH_MAX, &n, &e);
    if (!doc) {
        assert(n == 0 && (e.status == 400 || e.status == 413) && e.msg[0]);
        return 0;
    }
    assert(n <= IMAGE_PATCH_MAX);
    for (size_t i = 0; i < n; i++) {
        assert(ops[i].kind <= IMAGE_PATCH_REMOVE);
        assert(ops[i].attr[0] && strlen(ops[i].attr) < sizeof ops[i].attr);
        assert((ops[i].kind == IMAGE_PATCH_REMOVE) == (ops[i].value == NULL));
    }
    json_decref(doc);
    return 0;
}
