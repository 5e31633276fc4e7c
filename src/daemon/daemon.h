/* volswapd's internal pieces beside main.c. */
#ifndef VOLSWAP_DAEMON_H
#define VOLSWAP_DAEMON_H

#include "../monitor/monitor.h"

/* ---- state-file.c ---- */

/* Reads and parses the state file; *out is NULL when it does not exist
 * (first start). A file that cannot be read or parsed is an error. */
int state_file_load(const char *path, json_t **out, struct vs_error *err);
/* The text of a state file (len bytes at buf) as a JSON document; `path`
 * names it in the error. The document's shape is qmp_state_restore's to
 * check. */
int state_file_parse(const char *path, const char *buf, size_t len, json_t **out,
                     struct vs_error *err);
/* Writes the monitor's snapshot atomically and durably. */
int state_file_save(const char *path, struct vs_error *err);
/* The same in two halves, so that the slow half (write, fsync, rename,
 * fsync the directory) can run on the worker pool: the snapshot is taken
 * on the loop, numbered; a write never replaces a newer snapshot on
 * disk, whatever order overlapping writes finish in. */
struct state_text {
    char *text;
    uint64_t gen;
};
struct state_text *state_file_snapshot(struct vs_error *err);
int state_file_write(const char *path, const struct state_text *t, struct vs_error *err);
void state_text_free(struct state_text *t);

#endif
