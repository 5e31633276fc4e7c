/* libFuzzer target: what a QMP peer sends to our client (qmp-client.c). The
 * input is fed through a socketpair as the monitor's side of the
 * conversation: greeting, replies, events, in any shape. The client must
 * answer every input with a result or an error, without crashing, hanging
 * (each wait is bounded, and the peer side is closed) or leaking. */
#include "qmp-client.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the whole input must fit in the socket buffer, since nobody reads the
   * other end concurrently */
    if (size > 64 * 1024)
        return 0;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        return 0;
    int buf = 512 * 1024;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    size_t off = 0;
    while (off < size) {
        ssize_t n = write(sv[1], data + off, size - off);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    shutdown(sv[1], SHUT_WR);
    struct qmp_error err;
    struct qmp_client *c = qmp_attach_fd(sv[0], 1000, &err);
    if (c) {
        json_t *ret = NULL;
        if (qmp_execute(c, "query-block-exports", NULL, &ret, 1000, &err) == 0)
            json_decref(ret);
        json_t *ev = qmp_wait_event(c, "BLOCK_JOB_READY", "device", "j1", 100, &err);
        json_decref(ev);
        while ((ev = qmp_next_event(c, 100, &err)))
            json_decref(ev);
        qmp_close(c);
    }
    close(sv[1]);
    return 0;
}
