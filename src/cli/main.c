/* volswap: the command-line client of volswap-api (REST over libcurl) and a
 * QMP tool for the host daemons. Global options come before the command:
 *   volswap [--json] [--debug] [--compute-version 2.N] [--os-cacert FILE]
 *           COMMAND [ARGS]
 * Exit status: 0 success, 1 API or transport error (one line on stderr),
 * 2 usage error. */
#include "cli.h"

#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "debug", no_argument, NULL, 'd' },
        { "compute-version", required_argument, NULL, 'V' },
        { "os-cacert", required_argument, NULL, 'C' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct cli c;
    memset(&c, 0, sizeof c);
    int o;
    c.cacert = getenv("OS_CACERT") && *getenv("OS_CACERT") ? getenv("OS_CACERT") : NULL;
    while ((o = getopt_long(argc, argv, "+jdV:C:h", opts, NULL)) != -1) {
        switch (o) {
        case 'j': c.json = true; break;
        case 'd': c.debug = true; break;
        case 'V': c.compute_version = optarg; break;
        case 'C': c.cacert = optarg; break;
        case 'h': cli_usage(stdout); return 0;
        default: cli_usage(stderr); return 2;
        }
    }
    if (optind >= argc) {
        cli_usage(stderr);
        return 2;
    }
    argc -= optind;
    argv += optind;
    if (strcmp(argv[0], "qmp") == 0)
        return cli_qmp(argc, argv, c.json);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cli_dispatch(&c, argc, argv);
    curl_global_cleanup();
    return rc;
}
