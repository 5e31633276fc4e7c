/* The monitor's sandbox for the QMP-side fuzz targets (fuzz-qmp,
 * fuzz-state): one loop for the process, qmp_sandbox on (no host files, no
 * TCP, no files created; memory nodes only), and everything an input made
 * (jobs, exports, the NBD server, nodes) torn down after it, so that
 * inputs do not depend on each other. It also defines
 * LLVMFuzzerInitialize, which makes the corpus paths absolute (the
 * sandbox changes directory). */
#ifndef VOLSWAP_FUZZ_SANDBOX_H
#define VOLSWAP_FUZZ_SANDBOX_H

#include "../../../src/monitor/monitor.h"

/* Sets the sandbox up on the first call; returns its loop. */
struct vs_loop *fuzz_sandbox_setup(void);
void fuzz_sandbox_teardown(void);

#endif
