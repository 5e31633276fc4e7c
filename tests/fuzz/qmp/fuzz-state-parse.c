/* libFuzzer target for volswapd's state file, parser and checks only: the
 * bytes of a file given to --state through state_file_parse and
 * qmp_state_check (the document's shape and each command's arguments
 * against its schema), with nothing opened or replayed. fuzz-state runs
 * the same inputs on through the real handlers in the monitor's sandbox;
 * that one spends most of its time waiting for what the commands open, so
 * this one is where the parser's CPU time goes. A damaged file is refused
 * with a message; it never crashes, hangs or leaks. */
#include "../../../src/daemon/daemon.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vs_error err = { 0 };
    json_t *doc = NULL;

    if (state_file_parse("fuzz", (const char *)data, size, &doc, &err) == 0) {
        if (!doc)
            abort();
        if (qmp_state_check(doc, &err) < 0 && !err.set)
            abort(); /* refused without saying why */
        json_decref(doc);
    } else if (!err.set || doc) {
        abort();
    }
    return 0;
}
