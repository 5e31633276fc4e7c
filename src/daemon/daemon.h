/* volswapd's internal pieces beside main.c. */
#ifndef VOLSWAP_DAEMON_H
#define VOLSWAP_DAEMON_H

#include "../monitor/monitor.h"

/* ---- state-file.c ---- */

/* Reads and parses the state file; *out is NULL when it does not exist
 * (first start). A file that cannot be read or parsed is an error. */
int state_file_load(const char *path, json_t **out, struct vs_error *err);
/* Writes the monitor's snapshot atomically and durably. */
int state_file_save(const char *path, struct vs_error *err);

#endif
