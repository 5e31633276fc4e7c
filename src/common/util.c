/* Small process-wide utilities: the control-path error object, logging,
 * allocation that never returns NULL, and clocks. */
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum vs_log_level vs_log_level = VS_LOG_INFO;

void vs_error_set(struct vs_error *err, enum vs_errclass cls, const char *fmt, ...)
{
    if (!err || err->set)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    err->cls = cls;
    err->set = true;
}

void vs_error_set_errno(struct vs_error *err, int errnum, const char *fmt, ...)
{
    if (!err || err->set)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof(err->msg))
        snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(errnum < 0 ? -errnum : errnum));
    err->cls = VS_ERR_GENERIC;
    err->set = true;
}

const char *vs_errclass_name(enum vs_errclass cls)
{
    switch (cls) {
    case VS_ERR_COMMAND_NOT_FOUND: return "CommandNotFound";
    case VS_ERR_DEVICE_NOT_FOUND: return "DeviceNotFound";
    case VS_ERR_DEVICE_NOT_ACTIVE: return "DeviceNotActive";
    case VS_ERR_GENERIC: break;
    }
    return "GenericError";
}

bool vs_log_json;
const char *vs_log_program = "volswap";

/* Length of the UTF-8 sequence at p, or 0 if it is not a valid one. */
static size_t utf8_seq_len(const unsigned char *p)
{
    size_t n = *p >= 0xf0 && *p <= 0xf4 ? 4 : *p >= 0xe0 ? 3 : *p >= 0xc2 && *p < 0xe0 ? 2 : 0;
    if (*p >= 0xf5)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

/* msg as a JSON string body: quotes, backslashes and control characters
 * escaped, so a message can never break the line or the record. Valid
 * UTF-8 passes through; a stray byte (a file name in another encoding)
 * becomes \u00XX, so the line stays valid JSON. */
static void put_json_escaped(FILE *f, const char *msg)
{
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
        if (*p >= 0x80) {
            size_t n = utf8_seq_len(p);
            if (n == 0) {
                fprintf(f, "\\u%04x", *p);
            } else {
                fwrite(p, 1, n, f);
                p += n - 1;
            }
        } else if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
}

void vs_log(enum vs_log_level level, const char *fmt, ...)
{
    static const char *names[] = { "error", "warning", "info", "debug" };
    if (level > vs_log_level)
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (!vs_log_json) {
        fprintf(stderr, "volswap[%ld.%03ld] %s: %s\n", (long)ts.tv_sec,
                ts.tv_nsec / 1000000, names[level], buf);
        return;
    }
    /* One object per line, written with one stdio call sequence on an
     * unbuffered stream under its lock, so worker threads' lines never
     * interleave. */
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    flockfile(stderr);
    fprintf(stderr, "{\"time\":\"%s.%03ldZ\",\"level\":\"%s\",\"program\":\"%s\",\"pid\":%d,\"msg\":\"",
            when, ts.tv_nsec / 1000000, names[level], vs_log_program, (int)getpid());
    put_json_escaped(stderr, buf);
    fputs("\"}\n", stderr);
    funlockfile(stderr);
}

static void *check_alloc(void *p)
{
    if (!p) {
        fputs("volswap: out of memory\n", stderr);
        abort();
    }
    return p;
}

void *vs_malloc(size_t n) { return check_alloc(malloc(n ? n : 1)); }
void *vs_zalloc(size_t n) { return check_alloc(calloc(1, n ? n : 1)); }
void *vs_realloc(void *p, size_t n) { return check_alloc(realloc(p, n ? n : 1)); }
char *vs_strdup(const char *s) { return check_alloc(strdup(s)); }

char *vs_strdup_printf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        check_alloc(NULL);
    return s;
}

uint64_t vs_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t vs_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
