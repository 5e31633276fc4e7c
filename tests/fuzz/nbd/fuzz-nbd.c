/* libFuzzer target for the NBD server: the bytes are what a client sends,
 * from the first byte of the handshake through option haggling into the
 * transmission phase. They go through a socketpair into the real server
 * code on a real loop, serving a 1 MiB memory node, so every parser and
 * every state of a connection is reachable. Each input is sent twice: to
 * a plain connection, and to one that requires TLS (pre-shared key
 * credentials), where options before STARTTLS are refused and what
 * follows STARTTLS goes into the TLS handshake. The run ends when the server
 * has consumed the input and the connection is closed; a crash, a leak, a
 * hang (libFuzzer's -timeout) or a connection that never closes is a
 * finding. */
#include "nbd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct vs_loop *loop;
static struct nbd_server_tls tls;
static char psk_dir[] = "/tmp/fuzz-nbd-psk.XXXXXX";
static char psk_file[sizeof(psk_dir) + 16];

static void remove_psk(void)
{
    unlink(psk_file);
    rmdir(psk_dir);
}

static void setup_tls(void)
{
    struct vs_error err = { 0 };
    if (!mkdtemp(psk_dir))
        abort();
    snprintf(psk_file, sizeof(psk_file), "%s/keys.psk", psk_dir);
    FILE *f = fopen(psk_file, "w");
    if (!f)
        abort();
    fprintf(f, "alice:000102030405060708090a0b0c0d0e0f\n");
    fclose(f);
    atexit(remove_psk);
    struct vs_object_opts o = { .id = "tls0", .kind = VS_OBJ_TLS_PSK,
                                .endpoint = VS_TLS_SERVER, .dir = psk_dir };
    tls.creds = vs_object_add(&o, &err);
    if (!tls.creds)
        abort();
}

static void setup(void)
{
    struct vs_error err = { 0 };
    loop = vs_loop_new(256, 1);
    struct block_node_opts o = { .driver = "memory", .node_name = "mem0",
                                 .size = 1 << 20, .unmap = true };
    if (!block_node_open(loop, &o, &err))
        abort();
    struct nbd_export_opts e = { .node_name = "mem0", .name = "mem0",
                                 .description = "fuzz", .writable = true };
    if (!nbd_export_add(&e, &err))
        abort();
    struct nbd_export_opts r = { .id = "ro", .node_name = "mem0", .name = "ro" };
    if (!nbd_export_add(&r, &err))
        abort();
    setup_tls();
}

static void serve_one(const uint8_t *data, size_t size, const struct nbd_server_tls *t)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        abort();
    /* Large enough for any input libFuzzer makes by default (4 KiB) and
     * our corpus; the server reads while we write in any case. */
    int buf = 1 << 20;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
    nbd_server_add_client(loop, sv[0], t);
    size_t off = 0;
    /* Feed and run the loop in turns; then close our end (EOF) and let the
     * server finish and close its side. */
    for (int turns = 0; off < size && turns < 100000; turns++) {
        ssize_t n = send(sv[1], data + off, size - off, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0)
            off += (size_t)n;
        vs_loop_run_once(loop, 0);
    }
    shutdown(sv[1], SHUT_WR);
    char sink[65536];
    for (int turns = 0; nbd_server_client_count() > 0; turns++) {
        if (turns > 100000) {
            fprintf(stderr, "connection did not close\n");
            abort();
        }
        vs_loop_run_once(loop, 1000000);
        while (recv(sv[1], sink, sizeof(sink), MSG_DONTWAIT) > 0) {
        }
    }
    close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!loop)
        setup();
    serve_one(data, size, NULL);
    serve_one(data, size, &tls);
    return 0;
}
