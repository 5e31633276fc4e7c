/* volswap CLI internals: the HTTP client (client.c), table output
 * (table.c), the subcommands (commands.c), the swap subcommands with their
 * progress bar (swap.c) and the QMP subcommand (qmp.c). */
#ifndef VOLSWAP_CLI_H
#define VOLSWAP_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* ---- client.c ---- */
struct cli {
    char auth_url[512];
    char token[300];
    char compute_url[512]; /* .../v2.1 */
    char volume_url[600];  /* .../v3/{project_id} */
    char project_id[64];
    bool json; /* print raw JSON instead of tables */
    bool debug;
    const char *compute_version; /* microversion sent to Nova */
    const char *cacert;          /* CA bundle for HTTPS (--os-cacert, OS_CACERT) */
};
/* Authenticates from the OS_* environment (password or admin_token). */
int cli_auth(struct cli *c);
/* Sends METHOD URL with BODY (may be NULL). Returns the HTTP status and the
 * parsed reply (NULL for an empty body) in *REPLY, or -1 on transport error
 * (message printed). An HTTP error status is turned into a one-line message
 * by cli_api_error. */
int cli_request(struct cli *c, const char *method, const char *url, const char *extra_header,
                json_t *body, json_t **reply);
/* Prints "ERROR (fault): message (HTTP N)" for an error reply; returns 1. */
int cli_api_error(int status, json_t *reply);
/* Convenience: compute/volume requests that fail with a message on error. */
json_t *cli_compute(struct cli *c, const char *method, const char *path, json_t *body,
                    int want_status, int *rc);
json_t *cli_volume(struct cli *c, const char *method, const char *path, json_t *body,
                   int want_status, int *rc);

/* ---- table.c ---- */
/* Prints ROWS (array of objects) with COLUMNS (keys), headers HEADS. */
void table_print(json_t *rows, const char *const *columns, const char *const *heads);
/* Prints one object as a Property/Value table. */
void table_print_object(json_t *obj);

/* ---- commands.c ---- */
int cli_dispatch(struct cli *c, int argc, char **argv);
/* Prints the global usage and the command list on F. */
void cli_usage(FILE *f);
/* Prints the usage line of COMMAND (its entry in the command table) on
 * stderr; returns 2, the exit status of a usage error. */
int cli_usage_error(const char *command);
/* Prints V on stdout as indented JSON (--json). */
void cli_print_json(json_t *v);
/* METHOD on /servers/{id}SUB, the server named by SERVER (a name or an id,
 * resolved as novaclient does: Nova's name filter, then an exact match),
 * its id left in SID unless SID is NULL: the reply, or NULL with the exit
 * status in *RC. */
json_t *cli_server_request(struct cli *c, const char *server, const char *method, const char *sub,
                           json_t *body, int want, char sid[64], int *rc);
/* METHOD on /volumes/{VOLUME_ID}SUB: as cli_volume. */
json_t *cli_volume_request(struct cli *c, const char *volume_id, const char *method,
                           const char *sub, json_t *body, int want, int *rc);

/* ---- swap.c ---- */
int cmd_volume_update(struct cli *c, int argc, char **argv);
int cmd_volume_migrate(struct cli *c, int argc, char **argv);

/* ---- report.c ---- */
int cmd_swap_report(struct cli *c, int argc, char **argv);

/* ---- qmp.c ---- */
int cli_qmp(int argc, char **argv, bool json);

#endif
