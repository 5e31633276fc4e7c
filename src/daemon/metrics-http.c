/* The request side of the metrics listener's HTTP: one request head, read
 * from an untrusted peer, turned into a method and a path or refused. Kept
 * apart from the I/O so that libFuzzer can drive it (tests/fuzz/daemon).
 * Only what a scraper sends is understood: a request line, headers that
 * are skipped, no body. */
#include "daemon.h"

#include <string.h>

/* RFC 9110 token characters, for the method. */
static bool is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

enum metrics_parse metrics_http_parse(const char *buf, size_t len, struct metrics_request *req)
{
    memset(req, 0, sizeof(*req));
    /* The head ends at the first empty line (CRLF CRLF, or bare LFs). */
    const char *end = NULL;
    for (size_t i = 0; i + 1 < len && !end; i++) {
        if (buf[i] == '\n' && buf[i + 1] == '\n')
            end = buf + i + 2;
        else if (i + 3 < len && memcmp(buf + i, "\r\n\r\n", 4) == 0)
            end = buf + i + 4;
    }
    if (!end)
        return len >= METRICS_HEAD_MAX ? METRICS_PARSE_TOO_LARGE : METRICS_PARSE_MORE;
    req->head_len = (size_t)(end - buf);

    const char *line_end = memchr(buf, '\n', req->head_len);
    size_t line_len = (size_t)(line_end - buf);
    if (line_len > 0 && buf[line_len - 1] == '\r')
        line_len--;

    /* METHOD SP TARGET SP HTTP/1.x */
    size_t m = 0;
    while (m < line_len && is_tchar((unsigned char)buf[m]))
        m++;
    if (m == 0 || m >= sizeof(req->method) || m >= line_len || buf[m] != ' ')
        return METRICS_PARSE_BAD;
    memcpy(req->method, buf, m);
    const char *target = buf + m + 1;
    const char *sp = memchr(target, ' ', line_len - m - 1);
    if (!sp || sp == target)
        return METRICS_PARSE_BAD;
    size_t tlen = (size_t)(sp - target);
    const char *version = sp + 1;
    size_t vlen = line_len - (size_t)(version - buf);
    if (vlen != 8 || memcmp(version, "HTTP/1.", 7) != 0 ||
        (version[7] != '0' && version[7] != '1'))
        return METRICS_PARSE_BAD;
    if (target[0] != '/')
        return METRICS_PARSE_BAD;
    /* The query string means nothing here. */
    const char *q = memchr(target, '?', tlen);
    if (q)
        tlen = (size_t)(q - target);
    if (tlen >= sizeof(req->path))
        return METRICS_PARSE_BAD;
    for (size_t i = 0; i < tlen; i++)
        if ((unsigned char)target[i] <= 0x20 || (unsigned char)target[i] >= 0x7f)
            return METRICS_PARSE_BAD;
    memcpy(req->path, target, tlen);
    return METRICS_PARSE_OK;
}
