/* Logging for every program of the tree (volswapd, volswap-api, volswap):
 * one line per event on stderr, as text or as one JSON object, with the
 * request the thread works for. The JSON keys are the same in every
 * program so one collector reads them all; docs/man/volswapd.8 and
 * volswap-api.8 list them. */
#include "common.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum vs_log_level vs_log_level = VS_LOG_INFO;
bool vs_log_json;
const char *vs_log_program = "volswap";

static const char *const level_names[] = { "error", "warning", "info", "debug" };
/* syslog's priorities, which journald reads from a "<N>" prefix */
static const char level_priority[] = { '3', '4', '6', '7' };

static __thread char request_id[64], global_request_id[64];

bool vs_log_set_format(const char *name)
{
    if (strcmp(name, "json") == 0)
        vs_log_json = true;
    else if (strcmp(name, "text") == 0)
        vs_log_json = false;
    else
        return false;
    return true;
}

void vs_log_set_request(const char *id, const char *global_id)
{
    snprintf(request_id, sizeof request_id, "%s", id ? id : "");
    snprintf(global_request_id, sizeof global_request_id, "%s", id && global_id ? global_id : "");
}

/* Whether stderr is the journal's stream: systemd sets JOURNAL_STREAM to
 * its device and inode, which a redirection elsewhere no longer matches. */
static bool to_journal;
static void journal_check(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    to_journal = js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(2, &st) == 0 &&
                 (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

static void put_field(struct vs_buf *b, const char *key, const char *str)
{
    vs_buf_add(b, ",", 1);
    vs_buf_json_string(b, key, strlen(key));
    vs_buf_add(b, ":", 1);
    vs_buf_json_string(b, str, strlen(str));
}

static void vlog(enum vs_log_level level, const struct vs_log_field *fields, size_t n_fields,
                 const char *fmt, va_list ap)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, journal_check);
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct vs_buf b = { 0 };
    if (!vs_log_json) {
        if (to_journal)
            vs_buf_printf(&b, "<%c>", level_priority[level]);
        else
            vs_buf_printf(&b, "%s[%ld.%03ld] %s: ", vs_log_program, (long)ts.tv_sec,
                          ts.tv_nsec / 1000000, level_names[level]);
        if (request_id[0])
            vs_buf_printf(&b, "%s ", request_id);
        vs_buf_puts(&b, msg);
    } else {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        char when[32];
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
        vs_buf_printf(&b, "{\"time\":\"%s.%03ldZ\",\"level\":\"%s\",", when, ts.tv_nsec / 1000000,
                      level_names[level]);
        vs_buf_puts(&b, "\"program\":");
        vs_buf_json_string(&b, vs_log_program, strlen(vs_log_program));
        vs_buf_printf(&b, ",\"pid\":%d", (int)getpid());
        put_field(&b, "msg", msg);
        if (request_id[0])
            put_field(&b, "request_id", request_id);
        if (global_request_id[0])
            put_field(&b, "global_request_id", global_request_id);
        for (size_t i = 0; i < n_fields; i++) {
            if (fields[i].str) {
                put_field(&b, fields[i].key, fields[i].str);
            } else {
                vs_buf_add(&b, ",", 1);
                vs_buf_json_string(&b, fields[i].key, strlen(fields[i].key));
                vs_buf_printf(&b, ":%lld", fields[i].num);
            }
        }
        vs_buf_add(&b, "}", 1);
    }
    vs_buf_add(&b, "\n", 1);
    /* one write per line: threads' lines never interleave */
    for (size_t off = 0; off < b.len;) {
        ssize_t w = write(2, b.data + off, b.len - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    vs_buf_free(&b);
}

void vs_log(enum vs_log_level level, const char *fmt, ...)
{
    if (level > vs_log_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(level, NULL, 0, fmt, ap);
    va_end(ap);
}

void vs_log_fields(enum vs_log_level level, const struct vs_log_field *fields, size_t n_fields,
                   const char *fmt, ...)
{
    if (level > vs_log_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(level, fields, n_fields, fmt, ap);
    va_end(ap);
}
