/* A scripted fake QMP monitor for unit tests of QMP clients (the client
 * library, the swap's shared host session): a unix socket under /tmp, and
 * the few steps scripts are written in — write a line, read a command's
 * id, answer it. Each test runs its script on a thread of its own. */
#ifndef VOLSWAP_TEST_FAKE_QMP_H
#define VOLSWAP_TEST_FAKE_QMP_H

#include "unit.h"

#include <jansson.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void say(int fd, const char *text)
{
    size_t len = strlen(text);
    CHECK(write(fd, text, len) == (ssize_t)len);
}

/* Reads one line from FD and returns the "id" of the command in it. */
static void read_id(int fd, char *id, size_t idlen)
{
    char line[4096];
    size_t n = 0;
    while (n < sizeof line - 1 && read(fd, line + n, 1) == 1)
        if (line[n++] == '\n')
            break;
    line[n] = '\0';
    json_t *j = json_loads(line, 0, NULL);
    const char *id0 = json_string_value(json_object_get(j, "id"));
    snprintf(id, idlen, "%s", id0 ? id0 : "");
    json_decref(j);
}

/* Reads the next command and answers it with `ret` (a JSON text). */
static void reply_ok(int fd, const char *ret)
{
    char id[64], buf[8192];
    read_id(fd, id, sizeof id);
    snprintf(buf, sizeof buf, "{\"return\": %s, \"id\": \"%s\"}\r\n", ret, id);
    say(fd, buf);
}

/* Listens on /tmp/<tag>-<pid>.sock, whose path goes to `path`. */
static int fake_qmp_listen(char path[108], const char *tag)
{
    snprintf(path, 108, "/tmp/%s-%d.sock", tag, (int)getpid());
    unlink(path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    CHECK(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    CHECK(listen(fd, 4) == 0);
    return fd;
}

#endif
