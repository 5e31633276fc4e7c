/* libFuzzer target: a whole request through volswap-api's router, as the
 * HTTP server hands it over (the in-process harness of tests/unit/api,
 * with a temporary registry and a fake host daemon): the path is split
 * and matched against every route, named parameters and the query are
 * read, the microversion headers negotiated, the token checked, the
 * policy and the body's schema applied, and the handler run. Input:
 *   byte 0      the method (GET HEAD POST PUT PATCH DELETE, else an odd one)
 *   byte 1      the token (none, admin, member, reader, other project's
 *               member, a forged one)
 *   then        the URL (path and query; $P and $O stand for the two
 *               projects' ids) up to the first newline, header lines up
 *               to an empty line, and the body.
 * Whatever the input, the answer is a well-formed reply with a status in
 * 200..599 whose JSON body (when it says JSON) parses; never a crash,
 * hang or leak. */
#include "../../unit/api/harness.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct th t;
static bool ready;

static void teardown(void)
{
    th_teardown(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *methods[] = { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS" };
    if (size < 2 || size > 65536)
        return 0;
    if (!ready) {
        vs_log_level = VS_LOG_ERROR;
        th_setup(&t, true, false);
        ready = true;
        atexit(teardown);
    }
    const char *method = methods[data[0] % (sizeof methods / sizeof methods[0])];
    const char *tokens[] = { NULL, t.admin, t.alice, t.reader, t.bob, "gAAAAAforged" };
    const char *token = tokens[data[1] % (sizeof tokens / sizeof tokens[0])];

    /* the rest as text: NULs would end the strings early, so they become
     * spaces (the HTTP server never hands over a NUL in a URL or header) */
    char *text = malloc(size - 1);
    if (!text)
        abort();
    for (size_t i = 2; i < size; i++)
        text[i - 2] = data[i] ? (char)data[i] : ' ';
    text[size - 2] = '\0';
    char *url = text, *headers = NULL, *body = NULL;
    char *nl = strchr(text, '\n');
    if (nl) {
        *nl = '\0';
        headers = nl + 1;
        char *end = headers[0] == '\n' ? headers - 1 : strstr(headers, "\n\n");
        if (end) {
            *end = '\0';
            body = end + 2;
            if (end < headers)
                headers = NULL;
        }
    }
    /* $P and $O in the URL stand for the two projects' ids, which are
     * made at setup: seeds can then reach the project-scoped routes */
    char full[4096];
    size_t n = 0;
    if (url[0] != '/') /* as libmicrohttpd: a request target is a path */
        full[n++] = '/';
    for (const char *p = url; *p && n < sizeof full - 40; p++) {
        if (p[0] == '$' && (p[1] == 'P' || p[1] == 'O')) {
            n += (size_t)snprintf(full + n, sizeof full - n, "%s", p[1] == 'P' ? t.demo : t.other);
            p++;
        } else {
            full[n++] = *p;
        }
    }
    full[n] = '\0';

    struct th_reply r = { 0 };
    int st = th_call(&t, &r, method, token, headers, body, "%s", full);
    if (getenv("FUZZ_ROUTER_SHOW"))
        fprintf(stderr, "%s %s -> %d %.120s\n", method, full, st, th_body(&r));
    if (st < 200 || st > 599)
        abort();
    const char *type = th_header(&r, "Content-Type");
    if (type && strstr(type, "json") && strcmp(method, "HEAD") != 0 && th_body(&r)[0] && !r.json)
        abort(); /* said JSON, was not */
    th_reply_free(&r);
    free(text);
    return 0;
}
