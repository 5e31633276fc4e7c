/* libFuzzer target: the bodies of Glance's metadata definitions
 * (rest/image/metadef-body.c). The first byte picks the kind (namespace,
 * object, property, tag, tags, resource type association, namespace
 * update), the rest is
 * the body. Whatever the input, it is refused with a 400 or 403 and a
 * message, or gives a JSON object whose required name is a non-empty
 * string; never a crash, hang or leak. */
#include "rest/image/image.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    enum metadef_kind kind = (enum metadef_kind)(data[0] % (METADEF_NAMESPACE_UPDATE + 1));
    struct api_error e = { 0 };
    json_t *doc = metadef_body_parse(kind, (const char *)data + 1, size - 1, &e);
    if (!doc) {
        assert((e.status == 400 || e.status == 403) && e.msg[0]);
        return 0;
    }
    assert(json_is_object(doc));
    const char *key = kind == METADEF_NAMESPACE || kind == METADEF_NAMESPACE_UPDATE ? "namespace"
                      : kind == METADEF_TAGS                                        ? "tags"
                                                                                    : "name";
    json_t *v = json_object_get(doc, key);
    if (kind == METADEF_TAGS)
        assert(json_is_array(v));
    else
        assert(json_string_value(v) && json_string_value(v)[0]);
    json_decref(doc);
    return 0;
}
