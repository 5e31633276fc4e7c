/* libFuzzer target for the QMP monitor: bytes from a client, through the
 * session's streamer, the request envelope, negotiation, schema checking
 * and the real command handlers, in a sandbox (qmp_sandbox: no host files,
 * no TCP, no files created; memory nodes only). Every line the server
 * writes must be one valid JSON object ending in CRLF, and the daemon state
 * is torn down after each input so that inputs do not depend on each other.
 *
 * The first byte of the input picks how the rest is cut into reads, so
 * the streamer sees messages split at every possible place. */
#include "../../../src/monitor/monitor.h"
#include "sandbox.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void check_output(struct qmp_session *s, const char *data, size_t len)
{
    if (len < 3 || data[len - 2] != '\r' || data[len - 1] != '\n')
        abort();
    json_error_t jerr;
    json_t *msg = json_loadb(data, len - 2, 0, &jerr);
    if (!json_is_object(msg) || memchr(data, '\n', len - 1))
        abort();
    json_decref(msg);
}

static const struct qmp_session_ops ops = { .write = check_output };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vs_loop *loop = fuzz_sandbox_setup();
    if (size == 0)
        return 0;
    size_t chunk = data[0] ? data[0] : size;
    data++;
    size--;
    struct qmp_session *s = qmp_session_new(loop, &ops, NULL);
    qmp_session_greet(s);
    for (size_t off = 0; off < size; off += chunk) {
        size_t n = VS_MIN(chunk, size - off), used = 0;
        /* Never congested here: less is consumed only after quit, or while
         * a command's reply is deferred (block_resize): then the loop runs
         * until the reply is out and the rest is fed. */
        for (int spins = 0; used < n && spins < 1000; spins++) {
            used += qmp_session_input(s, (const char *)data + off + used, n - used);
            if (used < n && !qmp_session_waiting(s))
                break;
            if (used < n)
                vs_loop_run_once(loop, 1000 * 1000);
        }
        if (used < n)
            break;
        /* Let what the commands started (bottom halves) run between reads. */
        vs_loop_run_once(loop, 0);
    }
    qmp_session_free(s);
    fuzz_sandbox_teardown();
    return 0;
}
