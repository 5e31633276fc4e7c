/* libFuzzer target: the volswap-api config file parser (config.c). A config
 * is read at start, so a bad one must be refused with a message, never
 * crash, and never leak what was parsed before the error. */
#include "config/config.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct api_config cfg;
    struct api_error e = { 0 };
    if (config_parse((const char *)data, size, &cfg, &e) == 0) {
        if (!cfg.database[0])
            abort();
        config_free(&cfg);
    } else if (!e.msg[0]) {
        abort();
    }
    return 0;
}
