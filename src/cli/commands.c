/* The volswap CLI's subcommands over the REST API. Servers are named by name
 * or id (resolved with Nova's name filter, then an exact match, as novaclient
 * does); volumes by id. Every command prints a table, or the API's own JSON
 * with --json, and returns non-zero after a one-line error. */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cli_print_json(json_t *v)
{
    json_dumpf(v, stdout, JSON_INDENT(2));
    putchar('\n');
}

static bool looks_like_uuid(const char *s)
{
    return strlen(s) == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-';
}

/* Resolves NAME_OR_ID to a server id in OUT. */
static int find_server(struct cli *c, const char *name_or_id, char out[64])
{
    int rc;
    char path[2048];
    if (looks_like_uuid(name_or_id)) {
        snprintf(path, sizeof path, "/servers/%s", name_or_id);
        json_t *r = cli_compute(c, "GET", path, NULL, 200, &rc);
        if (!r)
            return -1;
        snprintf(out, 64, "%s", name_or_id);
        json_decref(r);
        return 0;
    }
    /* Nova's name filter is a regular expression: anchor it, escape the
   * name's metacharacters, then percent-encode the whole for the URL */
    char re[600] = "^", enc[1800] = "";
    size_t n = 1;
    for (const char *p = name_or_id; *p && n < sizeof re - 4; p++) {
        if (strchr(".[]{}()\\*+?^$|", *p))
            re[n++] = '\\';
        re[n++] = *p;
    }
    re[n++] = '$';
    re[n] = '\0';
    size_t e = 0;
    for (const unsigned char *p = (const unsigned char *)re; *p && e < sizeof enc - 4; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-_.~", *p))
            enc[e++] = (char)*p;
        else
            e += (size_t)sprintf(enc + e, "%%%02X", *p);
    }
    enc[e] = '\0';
    snprintf(path, sizeof path, "/servers?name=%s", enc);
    json_t *r = cli_compute(c, "GET", path, NULL, 200, &rc);
    if (!r)
        return -1;
    size_t i, found = 0;
    json_t *s;
    json_array_foreach(json_object_get(r, "servers"), i, s) {
        if (strcmp(json_string_value(json_object_get(s, "name")) ?: "", name_or_id) == 0) {
            snprintf(out, 64, "%s", json_string_value(json_object_get(s, "id")));
            found++;
        }
    }
    json_decref(r);
    if (found == 1)
        return 0;
    fprintf(stderr,
            found ? "ERROR: Multiple servers match '%s', use an ID to be more "
                    "specific.\n"
                  : "ERROR: No server with a name or ID of '%s' exists.\n",
            name_or_id);
    return -1;
}

static int finish(struct cli *c, json_t *reply, const char *key, const char *const *cols,
                  const char *const *heads)
{
    if (c->json)
        cli_print_json(reply);
    else if (cols)
        table_print(json_object_get(reply, key), cols, heads);
    else
        table_print_object(json_object_get(reply, key));
    json_decref(reply);
    return 0;
}

static int cmd_volume_create(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = { { "name", required_argument, NULL, 'n' },
                                          { "pool", required_argument, NULL, 'p' },
                                          { "host", required_argument, NULL, 'H' },
                                          { "description", required_argument, NULL, 'd' },
                                          { NULL, 0, NULL, 0 } };
    const char *name = NULL, *pool = NULL, *host = NULL, *desc = NULL;
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "+n:p:H:d:", opts, NULL)) != -1) {
        switch (o) {
        case 'n': name = optarg; break;
        case 'p': pool = optarg; break;
        case 'H': host = optarg; break;
        case 'd': desc = optarg; break;
        default: return 2;
        }
    }
    if (argc - optind != 1)
        return cli_usage_error(argv[0]);
    char *end;
    long long size = strtoll(argv[optind], &end, 10);
    if (*end || size < 1) {
        fprintf(stderr, "ERROR: SIZE_GB must be a positive integer\n");
        return 2;
    }
    json_t *vol = json_pack("{s:I}", "size", (json_int_t)size);
    if (name)
        json_object_set_new(vol, "name", json_string(name));
    if (desc)
        json_object_set_new(vol, "description", json_string(desc));
    if (pool)
        json_object_set_new(vol, "volume_type", json_string(pool));
    if (host)
        json_object_set_new(vol, "availability_zone", json_string(host));
    json_t *body = json_pack("{s:o}", "volume", vol);
    int rc;
    json_t *r = cli_volume(c, "POST", "/volumes", body, 202, &rc);
    json_decref(body);
    return r ? finish(c, r, "volume", NULL, NULL) : rc;
}

static int cmd_volume_list(struct cli *c, int argc, char **argv)
{
    int rc;
    json_t *r = cli_volume(c, "GET", "/volumes/detail", NULL, 200, &rc);
    static const char *const cols[] = { "id", "name", "status", "size", "volume_type", NULL };
    static const char *const heads[] = { "ID", "Name", "Status", "Size", "Pool", NULL };
    return r ? finish(c, r, "volumes", cols, heads) : rc;
}

static int cmd_volume_show(struct cli *c, int argc, char **argv)
{
    if (argc != 2)
        return cli_usage_error(argv[0]);
    int rc;
    json_t *r = cli_volume_request(c, argv[1], "GET", "", NULL, 200, &rc);
    return r ? finish(c, r, "volume", NULL, NULL) : rc;
}

static int cmd_volume_delete(struct cli *c, int argc, char **argv)
{
    if (argc != 2)
        return cli_usage_error(argv[0]);
    int rc;
    json_decref(cli_volume_request(c, argv[1], "DELETE", "", NULL, 202, &rc));
    return rc;
}

static int cmd_volume_extend(struct cli *c, int argc, char **argv)
{
    if (argc != 3)
        return cli_usage_error(argv[0]);
    json_t *body =
        json_pack("{s:{s:I}}", "os-extend", "new_size", (json_int_t)strtoll(argv[2], NULL, 10));
    int rc;
    json_t *r = cli_volume_request(c, argv[1], "POST", "/action", body, 202, &rc);
    json_decref(body);
    json_decref(r);
    return rc;
}

static int cmd_server_create(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = { { "host", required_argument, NULL, 'H' },
                                          { NULL, 0, NULL, 0 } };
    const char *host = NULL;
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "+H:", opts, NULL)) != -1) {
        if (o != 'H')
            return 2;
        host = optarg;
    }
    if (argc - optind != 1)
        return cli_usage_error(argv[0]);
    json_t *srv = json_pack("{s:s}", "name", argv[optind]);
    if (host)
        json_object_set_new(srv, "host", json_string(host));
    json_t *body = json_pack("{s:o}", "server", srv);
    int rc;
    json_t *r = cli_compute(c, "POST", "/servers", body, 202, &rc);
    json_decref(body);
    return r ? finish(c, r, "server", NULL, NULL) : rc;
}

static int cmd_server_list(struct cli *c, int argc, char **argv)
{
    int rc;
    json_t *r = cli_compute(c, "GET", "/servers/detail", NULL, 200, &rc);
    if (!r)
        return rc;
    /* flatten the host attribute for the table */
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(r, "servers"), i, s) {
        json_t *h = json_object_get(s, "OS-EXT-SRV-ATTR:host");
        if (h)
            json_object_set(s, "host", h);
    }
    static const char *const cols[] = { "id", "name", "status", "host", NULL };
    static const char *const heads[] = { "ID", "Name", "Status", "Host", NULL };
    return finish(c, r, "servers", cols, heads);
}

json_t *cli_server_request(struct cli *c, const char *server, const char *method, const char *sub,
                           json_t *body, int want, char sid[64], int *rc)
{
    char id[64];
    if (find_server(c, server, id) < 0) {
        *rc = 1;
        return NULL;
    }
    if (sid)
        memcpy(sid, id, sizeof id);
    char path[700];
    snprintf(path, sizeof path, "/servers/%s%s", id, sub);
    return cli_compute(c, method, path, body, want, rc);
}

json_t *cli_volume_request(struct cli *c, const char *volume_id, const char *method,
                           const char *sub, json_t *body, int want, int *rc)
{
    char path[700];
    snprintf(path, sizeof path, "/volumes/%s%s", volume_id, sub);
    return cli_volume(c, method, path, body, want, rc);
}

/* DELETE of /servers/{id}SUB, the server found by name or id. */
static int delete_on_server(struct cli *c, const char *server, const char *sub, int want)
{
    int rc;
    json_decref(cli_server_request(c, server, "DELETE", sub, NULL, want, NULL, &rc));
    return rc;
}

/* Nova's delete: the server's disks are detached (volumes attached with
 * delete_on_termination are deleted) and the server is gone. */
static int cmd_server_delete(struct cli *c, int argc, char **argv)
{
    if (argc != 2)
        return cli_usage_error(argv[0]);
    return delete_on_server(c, argv[1], "", 204);
}

static int cmd_volume_attach(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = { { "device", required_argument, NULL, 'd' },
                                          { NULL, 0, NULL, 0 } };
    const char *device = NULL;
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "+d:", opts, NULL)) != -1) {
        if (o != 'd')
            return 2;
        device = optarg;
    }
    if (argc - optind != 2)
        return cli_usage_error(argv[0]);
    json_t *att = json_pack("{s:s}", "volumeId", argv[optind + 1]);
    if (device)
        json_object_set_new(att, "device", json_string(device));
    json_t *body = json_pack("{s:o}", "volumeAttachment", att);
    int rc;
    json_t *r =
        cli_server_request(c, argv[optind], "POST", "/os-volume_attachments", body, 200, NULL, &rc);
    json_decref(body);
    return r ? finish(c, r, "volumeAttachment", NULL, NULL) : rc;
}

static int cmd_volume_detach(struct cli *c, int argc, char **argv)
{
    if (argc != 3)
        return cli_usage_error(argv[0]);
    char sub[600];
    snprintf(sub, sizeof sub, "/os-volume_attachments/%s", argv[2]);
    return delete_on_server(c, argv[1], sub, 202);
}

/* Lists a server's attachments with where each is exported (the NBD URI
 * from the Cinder attachment's connection_info). */
static int cmd_volume_attachments(struct cli *c, int argc, char **argv)
{
    if (argc != 2)
        return cli_usage_error(argv[0]);
    int rc;
    json_t *r =
        cli_server_request(c, argv[1], "GET", "/os-volume_attachments", NULL, 200, NULL, &rc);
    if (!r)
        return rc;
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(r, "volumeAttachments"), i, a) {
        const char *aid = json_string_value(json_object_get(a, "attachment_id"));
        if (!aid)
            continue;
        char apath[600];
        snprintf(apath, sizeof apath, "/attachments/%s", aid);
        int arc;
        json_t *ar = cli_volume(c, "GET", apath, NULL, 200, &arc);
        if (!ar) {
            json_decref(r);
            return arc;
        }
        json_t *ci = json_object_get(json_object_get(ar, "attachment"), "connection_info");
        json_object_set(a, "connection_info", ci ? ci : json_null());
        json_t *uri = json_object_get(json_object_get(ci, "data"), "uri");
        json_object_set(a, "export", uri ? uri : json_null());
        json_decref(ar);
    }
    static const char *const cols[] = { "attachment_id", "device", "volumeId", "export", NULL };
    static const char *const heads[] = { "Attachment ID", "Device", "Volume ID", "Export", NULL };
    return finish(c, r, "volumeAttachments", cols, heads);
}

static int cmd_instance_action_list(struct cli *c, int argc, char **argv)
{
    if (argc != 2)
        return cli_usage_error(argv[0]);
    int rc;
    json_t *r = cli_server_request(c, argv[1], "GET", "/os-instance-actions", NULL, 200, NULL, &rc);
    static const char *const cols[] = { "action",     "request_id", "message",
                                        "start_time", "updated_at", NULL };
    static const char *const heads[] = { "Action",     "Request_ID", "Message",
                                         "Start_Time", "Updated_At", NULL };
    return r ? finish(c, r, "instanceActions", cols, heads) : rc;
}

static const struct {
    const char *name;
    int (*fn)(struct cli *c, int argc, char **argv);
    const char *help;
} commands[] = {
    { "volume-create", cmd_volume_create, "[--name N] [--pool P] [--host H] SIZE_GB" },
    { "volume-list", cmd_volume_list, "" },
    { "volume-show", cmd_volume_show, "VOLUME_ID" },
    { "volume-delete", cmd_volume_delete, "VOLUME_ID" },
    { "volume-extend", cmd_volume_extend, "VOLUME_ID NEW_SIZE_GB" },
    { "server-create", cmd_server_create, "[--host H] NAME" },
    { "server-list", cmd_server_list, "" },
    { "server-delete", cmd_server_delete, "SERVER" },
    { "volume-attach", cmd_volume_attach, "[--device /dev/vdX] SERVER VOLUME_ID" },
    { "volume-detach", cmd_volume_detach, "SERVER VOLUME_ID" },
    { "volume-attachments", cmd_volume_attachments, "SERVER" },
    { "instance-action-list", cmd_instance_action_list, "SERVER" },
    { "volume-update", cmd_volume_update, "[--wait] SERVER OLD_VOLUME NEW_VOLUME" },
    { "volume-migrate", cmd_volume_migrate, "[--wait] VOLUME_ID POOL" },
    { "swap-report", cmd_swap_report, "SWAP_ID [--svg FILE]" },
};

int cli_usage_error(const char *command)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, command) == 0)
            fprintf(stderr, "usage: volswap %s %s\n", commands[i].name, commands[i].help);
    return 2;
}

void cli_usage(FILE *f)
{
    fprintf(f, "usage: volswap [--json] [--debug] [--os-cacert FILE] COMMAND [ARGS]\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-22s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "  %-22s %s\n", "qmp", "--socket PATH [--events] COMMAND [JSON-ARGS]");
    fprintf(f, "\nAuthentication comes from OS_AUTH_URL, OS_USERNAME, OS_PASSWORD,\n"
               "OS_PROJECT_NAME, OS_USER_DOMAIN_NAME, OS_PROJECT_DOMAIN_NAME, or from\n"
               "OS_AUTH_TYPE=admin_token with OS_TOKEN and OS_ENDPOINT. Over HTTPS,\n"
               "OS_CACERT (or --os-cacert) names the CA that signed the API's certificate.\n");
}

int cli_dispatch(struct cli *c, int argc, char **argv)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(commands[i].name, argv[0]) != 0)
            continue;
        if (cli_auth(c) < 0)
            return 1;
        return commands[i].fn(c, argc, argv);
    }
    fprintf(stderr, "ERROR: unknown command '%s' (see volswap --help)\n", argv[0]);
    return 2;
}
