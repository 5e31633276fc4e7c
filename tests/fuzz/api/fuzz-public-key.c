/* libFuzzer target: the public key of a key pair import (base/keys.c). The
 * first byte picks the type (even: ssh, odd: x509), the rest is the key.
 * Whatever the input, api_public_key_check must accept it with a
 * fingerprint or refuse it with a 400, and never crash, hang or leak. */
#include "base/base.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > API_PUBLIC_KEY_MAX + 1)
        return 0;
    char *key = strndup((const char *)data + 1, size - 1);
    if (!key)
        return 0;
    char fp[100];
    struct api_error e = { 0 };
    int rc = api_public_key_check(data[0] & 1 ? "x509" : "ssh", key, fp, sizeof fp, &e);
    if (rc == 0 ? strlen(fp) < 47 : e.status != 400)
        abort();
    free(key);
    return 0;
}
