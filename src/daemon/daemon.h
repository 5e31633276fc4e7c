/* volswapd's internal pieces beside main.c. */
#ifndef VOLSWAP_DAEMON_H
#define VOLSWAP_DAEMON_H

#include "../monitor/monitor.h"

/* --loops: at most this many event loops. */
#define VOLSWAPD_MAX_LOOPS NBD_POOL_LOOPS

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

/* ---- metrics.c, metrics-http.c ---- */

/* --metrics unix:PATH | tcp:HOST:PORT: a Prometheus text endpoint
 * (GET /metrics) served on the event loop. */
int metrics_listen(struct vs_loop *loop, const char *spec, struct vs_error *err);
/* Stops listening and ends the connections (at shutdown). */
void metrics_stop(void);
/* The exposition text of everything the daemon counts (caller frees). */
char *metrics_render(void);

/* A scraper's request head, parsed. */
#define METRICS_HEAD_MAX 8192
enum metrics_parse {
    METRICS_PARSE_MORE,      /* no end of head yet */
    METRICS_PARSE_OK,
    METRICS_PARSE_BAD,       /* 400 */
    METRICS_PARSE_TOO_LARGE, /* 431: no end within METRICS_HEAD_MAX */
};
struct metrics_request {
    char method[16];
    char path[256];          /* without the query string */
    size_t head_len;
};
enum metrics_parse metrics_http_parse(const char *buf, size_t len, struct metrics_request *req);

/* ---- monitors.c ---- */

/* --chardev and --monitor, checked as they come (QEMU's errors). */
int monitors_chardev_option(const char *value, struct vs_error *err);
int monitors_monitor_option(const char *value, struct vs_error *err);
/* Opens every monitor's socket, in the order given. */
int monitors_listen(struct vs_loop *loop, struct vs_error *err);
void monitors_free(void);

#endif
