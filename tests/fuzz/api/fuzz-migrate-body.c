/* libFuzzer target: the body of Cinder's os-migrate_volume action
 * (swap-api.c), which is checked by hand rather than by a json-body.c
 * schema. Whatever the input, the check must either name a pool that fits
 * its buffer or answer 400, and never crash, hang or leak. */
#include "rest/rest.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct api_request rq;
    char host[65], pool[65];
    json_t *doc = NULL;

    memset(&rq, 0, sizeof rq);
    rq.body = malloc(size + 1);
    if (!rq.body)
        return 0;
    memcpy(rq.body, data, size);
    rq.body[size] = '\0';
    rq.body_len = size;
    memset(pool, 0x5a, sizeof pool);
    memset(host, 0x5a, sizeof host);
    if (cinder_migrate_args(&rq, host, pool, &doc) == 0) {
        size_t n = strnlen(pool, sizeof pool);
        if (n == 0 || n == sizeof pool || strnlen(host, sizeof host) == sizeof host)
            abort();
    } else if (rq.err.status != 400) {
        abort();
    }
    json_decref(doc);
    free(rq.body);
    return 0;
}
