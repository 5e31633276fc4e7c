/* libFuzzer target for the head of a request to volswapd's metrics
 * listener (metrics_http_parse): whatever a scraper sends, the parser
 * answers MORE, OK, BAD or TOO_LARGE, and an OK head has a method and a
 * path that fit their buffers and start where they should. */
#include "../../../src/daemon/daemon.h"

#include <assert.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct metrics_request req;
    /* Fed whole and byte by byte growing, as recv() may split it. */
    enum metrics_parse p = metrics_http_parse((const char *)data, size, &req);
    if (p == METRICS_PARSE_OK) {
        assert(req.head_len <= size);
        assert(strlen(req.method) > 0 && strlen(req.method) < sizeof(req.method));
        assert(req.path[0] == '/' && strlen(req.path) < sizeof(req.path));
    }
    for (size_t n = 0; n < size && n < 512; n++) {
        enum metrics_parse q = metrics_http_parse((const char *)data, n, &req);
        assert(q == METRICS_PARSE_MORE || q == METRICS_PARSE_OK || q == METRICS_PARSE_BAD ||
               q == METRICS_PARSE_TOO_LARGE);
    }
    return 0;
}
