/* libFuzzer target: a Fernet token as a client sends it (X-Auth-Token,
 * X-Subject-Token, the token method's id), opened with a repository of two
 * fixed keys (domain/fernet.c). Whatever the input, it is refused or opens
 * into a payload no longer than FERNET_MAX_PAYLOAD; never a crash, hang or
 * leak. The input's first bytes are also sealed and opened again, which
 * must give them back. */
#include "domain/domain.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fernet_keys k;
    if (!k.n) {
        for (int i = 0; i < 32; i++) {
            k.key[0][i] = (unsigned char)(i + 1);
            k.key[1][i] = (unsigned char)(0xa0 + i);
        }
        k.index[0] = 2;
        k.index[1] = 1;
        k.n = 2;
    }
    char *token = malloc(size + 1);
    if (!token)
        return 0;
    memcpy(token, data, size);
    token[size] = '\0';
    char out[FERNET_MAX_PAYLOAD + 16];
    size_t n = 0;
    time_t issued;
    if (fernet_decrypt(&k, token, out, &n, &issued) == 0 && n > FERNET_MAX_PAYLOAD)
        abort();
    free(token);
    size_t len = size < FERNET_MAX_PAYLOAD ? size : FERNET_MAX_PAYLOAD;
    char sealed[AUTH_TOKEN_MAX];
    if (fernet_encrypt(&k, data, len, 1700000000, sealed, sizeof sealed) != 0)
        abort();
    if (fernet_decrypt(&k, sealed, out, &n, &issued) != 0 || n != len ||
        memcmp(out, data, len) != 0 || issued != 1700000000)
        abort();
    return 0;
}
