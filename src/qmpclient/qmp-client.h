/* qmp-client: a small blocking client for QEMU's QMP protocol over a unix
 * socket, or TCP with or without TLS (the monitor of a daemon on another
 * machine: QEMU's socket chardev with tls-creds). It is a library of its
 * own (libvolswap_qmp) because both
 * volswap-api's host drivers and the volswap CLI speak QMP: connect, read the
 * greeting, negotiate with qmp_capabilities, then execute commands with an id
 * and match replies by that id. Events that arrive in between are queued so a
 * caller waiting for BLOCK_JOB_READY (the swap worker) never loses one.
 * Every wait is bounded by a timeout and every line by a size cap, because the
 * peer is another process that may die or misbehave. */
#ifndef VOLSWAP_QMP_CLIENT_H
#define VOLSWAP_QMP_CLIENT_H

#include <jansson.h>
#include <stddef.h>

/* An error from the QMP layer: either the peer's {"error": {"class","desc"}}
 * or a local one (class "ConnectionError", "ProtocolError", "Timeout"). */
struct qmp_error {
    char cls[64];
    char desc[512];
};

struct qmp_client;

/* Longest QMP line we accept from the peer; query replies are small. */
#define QMP_MAX_LINE (4u << 20)

/* Connects to the QMP monitor at ADDR, reads the greeting and negotiates
 * capabilities. ADDR is "unix:PATH", "tcp:HOST:PORT" ("tcp:[::1]:PORT")
 * or a unix socket path. Returns NULL and fills ERR on failure. */
struct qmp_client *qmp_connect(const char *addr, int timeout_ms, struct qmp_error *err);

/* A client's TLS settings for a TCP monitor, as QEMU's tls-creds-x509
 * with endpoint=client: DIR holds ca-cert.pem (the CA the server's
 * certificate must chain to), and client-cert.pem with client-key.pem
 * (the certificate presented to the server, when the files exist);
 * ca-crl.pem is used when present. The server's certificate must name
 * HOSTNAME (NULL: the host of the address). */
struct qmp_tls {
    const char *dir;
    const char *hostname;
};

/* qmp_connect, over TLS when TLS is not NULL (TCP addresses only). The
 * handshake is bounded by the same timeout as the greeting. */
struct qmp_client *qmp_connect_tls(const char *addr, const struct qmp_tls *tls, int timeout_ms,
                                   struct qmp_error *err);
/* The same over an already connected stream socket FD (owned by the client
 * from then on, closed even on failure): other transports, and the fuzzer. */
struct qmp_client *qmp_attach_fd(int fd, int timeout_ms, struct qmp_error *err);
void qmp_close(struct qmp_client *c);

/* The greeting's "QMP" object (borrowed reference, valid until close). */
json_t *qmp_greeting(struct qmp_client *c);

/* Runs COMMAND with ARGS (borrowed, may be NULL). On success returns 0 and
 * stores the "return" value (new reference) in *RET if RET is not NULL.
 * On failure returns -1 and fills ERR (the peer's class/desc for a command
 * error). */
int qmp_execute(struct qmp_client *c, const char *command, json_t *args, json_t **ret,
                int timeout_ms, struct qmp_error *err);

/* Tags the commands this thread sends from now on: their QMP ids become
 * TAG-N instead of volswap-N (NULL or "": back to volswap-N). volswapd
 * logs each command with its id, so a control plane that tags with its
 * request id (req-<uuid>) can follow a request into the host's log. */
void qmp_set_request_tag(const char *tag);

/* Returns the next event (new reference), waiting up to TIMEOUT_MS (-1 for
 * ever). Returns NULL on timeout (err->cls "Timeout") or error. */
json_t *qmp_next_event(struct qmp_client *c, int timeout_ms, struct qmp_error *err);

/* Waits for the first event named NAME whose "data" member KEY equals VALUE
 * (KEY may be NULL to match any; NAME NULL matches every event, which is
 * qmp_next_event). Other events stay queued in order. */
json_t *qmp_wait_event(struct qmp_client *c, const char *name, const char *key, const char *value,
                       int timeout_ms, struct qmp_error *err);

/* The socket, for callers that multiplex several monitors with poll().
 * With TLS, bytes may already be waiting in the client: check
 * qmp_pending() before polling. */
int qmp_fd(struct qmp_client *c);
/* True when input is buffered (a message may be complete) and poll()
 * on the socket would not say so. */
int qmp_pending(struct qmp_client *c);

#endif
