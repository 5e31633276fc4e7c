/* libFuzzer target for volswapd's state file: the bytes of a file given
 * to --state, through the parser (state_file_parse) and the restore
 * (qmp_state_restore: the document's shape and every command's schema
 * checked before anything is made, then the commands replayed through
 * the real handlers), in the monitor's sandbox. A damaged file must be
 * refused with a message, never crash, hang or leak; a document that is
 * refused must not have made anything. */
#include "sandbox.h"
#include "../../../src/daemon/daemon.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vs_loop *loop = fuzz_sandbox_setup();
    struct vs_error err = { 0 };
    json_t *doc = NULL;

    if (state_file_parse("fuzz", (const char *)data, size, &doc, &err) == 0) {
        struct qmp_ctx ctx = { .loop = loop };
        if (qmp_state_restore(&ctx, doc, &err) < 0 && !err.set)
            abort();                 /* refused without saying why */
        json_decref(doc);
    } else if (!err.set || doc) {
        abort();
    }
    fuzz_sandbox_teardown();
    return 0;
}
