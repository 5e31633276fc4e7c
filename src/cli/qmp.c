/* `volswap qmp --socket ADDR COMMAND [JSON-ARGS] [--events]`: runs one QMP
 * command against a monitor (volswapd, qemu-storage-daemon or QEMU) with
 * the shared QMP client library and pretty-prints the reply; with
 * --events it then prints every event until interrupted (or until
 * --timeout seconds pass without one). ADDR is a unix socket path or
 * tcp:HOST:PORT; --tls DIR connects with TLS, DIR holding QEMU's client
 * file names (ca-cert.pem, client-cert.pem, client-key.pem), and
 * --tls-hostname the name the server's certificate must carry when it is
 * not HOST. */
#include "cli.h"
#include "qmp-client.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_qmp(int argc, char **argv, bool json)
{
    static const struct option opts[] = {
        { "socket", required_argument, NULL, 's' },
        { "events", no_argument, NULL, 'e' },
        { "timeout", required_argument, NULL, 't' },
        { "tls", required_argument, NULL, 'T' },
        { "tls-hostname", required_argument, NULL, 'H' },
        { NULL, 0, NULL, 0 },
    };
    const char *sock = NULL;
    struct qmp_tls tls = { 0 };
    bool events = false;
    int timeout_s = -1;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+s:et:T:H:", opts, NULL)) != -1) {
        switch (c) {
        case 's': sock = optarg; break;
        case 'e': events = true; break;
        case 't': timeout_s = atoi(optarg); break;
        case 'T': tls.dir = optarg; break;
        case 'H': tls.hostname = optarg; break;
        default: return 2;
        }
    }
    if (!sock || optind >= argc || argc - optind > 2) {
        fprintf(stderr, "usage: volswap qmp --socket PATH|tcp:HOST:PORT [--tls DIR] "
                        "[--tls-hostname NAME] [--events] [--timeout S] COMMAND [JSON-ARGS]\n");
        return 2;
    }
    const char *cmd = argv[optind];
    json_t *args = NULL;
    if (optind + 1 < argc) {
        json_error_t jerr;
        args = json_loads(argv[optind + 1], 0, &jerr);
        if (!json_is_object(args)) {
            fprintf(stderr, "ERROR: JSON-ARGS must be a JSON object%s%s\n", args ? "" : ": ",
                    args ? "" : jerr.text);
            json_decref(args);
            return 2;
        }
    }
    struct qmp_error err;
    struct qmp_client *q = qmp_connect_tls(sock, tls.dir ? &tls : NULL, 10000, &err);
    if (!q) {
        json_decref(args);
        fprintf(stderr, "ERROR (%s): %s\n", err.cls, err.desc);
        return 1;
    }
    json_t *ret = NULL;
    int rc = qmp_execute(q, cmd, args, &ret, 60000, &err);
    json_decref(args);
    if (rc < 0) {
        fprintf(stderr, "ERROR (%s): %s\n", err.cls, err.desc);
        qmp_close(q);
        return 1;
    }
    size_t flags = json ? JSON_COMPACT : JSON_INDENT(2);
    json_dumpf(ret, stdout, flags | JSON_ENCODE_ANY);
    putchar('\n');
    fflush(stdout);
    json_decref(ret);
    while (events) {
        json_t *ev = qmp_next_event(q, timeout_s < 0 ? -1 : timeout_s * 1000, &err);
        if (!ev) {
            if (strcmp(err.cls, "Timeout") != 0) {
                fprintf(stderr, "ERROR (%s): %s\n", err.cls, err.desc);
                rc = 1;
            }
            break;
        }
        json_dumpf(ev, stdout, flags);
        putchar('\n');
        fflush(stdout);
        json_decref(ev);
    }
    qmp_close(q);
    return rc < 0 ? 1 : 0;
}
