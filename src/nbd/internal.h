/* Internals of the NBD server shared by its files: protocol constants, the
 * connection and request structures.
 *
 * A connection reads into one input buffer and parses as many messages as
 * it holds (many small requests per recv under load); a WRITE payload that
 * is larger than what is buffered is received straight into the request's
 * own buffer. Replies go out through one send queue per connection, many
 * replies per sendmsg. The connection lives while anything refers to it:
 * the pending recv, the pending send, and every request in flight. */
#ifndef VOLSWAP_NBD_INTERNAL_H
#define VOLSWAP_NBD_INTERNAL_H

#include "nbd.h"

#include <endian.h>

/* ---- protocol constants (NetworkBlockDevice/nbd doc/proto.md) ---------- */
#define NBD_MAGIC            0x4e42444d41474943ull /* "NBDMAGIC" */
#define NBD_IHAVEOPT         0x49484156454f5054ull /* "IHAVEOPT" */
#define NBD_REP_MAGIC        0x0003e889045565a9ull
#define NBD_REQUEST_MAGIC    0x25609513u
#define NBD_SIMPLE_REPLY_MAGIC 0x67446698u
#define NBD_STRUCTURED_REPLY_MAGIC 0x668e33efu

#define NBD_FLAG_FIXED_NEWSTYLE 0x1
#define NBD_FLAG_NO_ZEROES      0x2
#define NBD_FLAG_C_FIXED_NEWSTYLE 0x1
#define NBD_FLAG_C_NO_ZEROES      0x2

#define NBD_OPT_EXPORT_NAME 1
#define NBD_OPT_ABORT       2
#define NBD_OPT_LIST        3
#define NBD_OPT_STARTTLS    5
#define NBD_OPT_INFO        6
#define NBD_OPT_GO          7
#define NBD_OPT_STRUCTURED_REPLY 8
#define NBD_OPT_LIST_META_CONTEXT 9
#define NBD_OPT_SET_META_CONTEXT 10

#define NBD_REP_ACK          1
#define NBD_REP_SERVER       2
#define NBD_REP_INFO         3
#define NBD_REP_META_CONTEXT 4
#define NBD_REP_ERR_UNSUP    0x80000001u
#define NBD_REP_ERR_POLICY   0x80000002u
#define NBD_REP_ERR_INVALID  0x80000003u
#define NBD_REP_ERR_TLS_REQD 0x80000005u
#define NBD_REP_ERR_UNKNOWN  0x80000006u
#define NBD_REP_ERR_SHUTDOWN 0x80000007u
#define NBD_REP_ERR_TOO_BIG  0x80000009u

#define NBD_INFO_EXPORT      0
#define NBD_INFO_NAME        1
#define NBD_INFO_DESCRIPTION 2
#define NBD_INFO_BLOCK_SIZE  3

#define NBD_FLAG_HAS_FLAGS   (1u << 0)
#define NBD_FLAG_READ_ONLY   (1u << 1)
#define NBD_FLAG_SEND_FLUSH  (1u << 2)
#define NBD_FLAG_SEND_FUA    (1u << 3)
#define NBD_FLAG_SEND_TRIM   (1u << 5)
#define NBD_FLAG_SEND_WRITE_ZEROES (1u << 6)
#define NBD_FLAG_SEND_DF     (1u << 7)
#define NBD_FLAG_CAN_MULTI_CONN (1u << 8)
#define NBD_FLAG_SEND_CACHE  (1u << 10)
#define NBD_FLAG_SEND_FAST_ZERO (1u << 11)

#define NBD_CMD_READ         0
#define NBD_CMD_WRITE        1
#define NBD_CMD_DISC         2
#define NBD_CMD_FLUSH        3
#define NBD_CMD_TRIM         4
#define NBD_CMD_CACHE        5
#define NBD_CMD_WRITE_ZEROES 6
#define NBD_CMD_BLOCK_STATUS 7

#define NBD_CMD_FLAG_FUA       (1u << 0)
#define NBD_CMD_FLAG_NO_HOLE   (1u << 1)
#define NBD_CMD_FLAG_DF        (1u << 2)
#define NBD_CMD_FLAG_REQ_ONE   (1u << 3)
#define NBD_CMD_FLAG_FAST_ZERO (1u << 4)

#define NBD_REPLY_FLAG_DONE    (1u << 0)
#define NBD_REPLY_TYPE_NONE    0
#define NBD_REPLY_TYPE_OFFSET_DATA 1
#define NBD_REPLY_TYPE_BLOCK_STATUS 5
#define NBD_REPLY_TYPE_ERROR   ((1u << 15) + 1)

#define NBD_STATE_HOLE 0x1u
#define NBD_STATE_ZERO 0x2u

#define NBD_EPERM     1
#define NBD_EIO       5
#define NBD_ENOMEM   12
#define NBD_EINVAL   22
#define NBD_ENOSPC   28
#define NBD_EOVERFLOW 75
#define NBD_ENOTSUP  95
#define NBD_ESHUTDOWN 108

/* The one metadata context we serve. */
#define NBD_META_BASE_ALLOCATION "base:allocation"
#define NBD_META_ID_BASE_ALLOCATION 1

#define NBD_REQUEST_SIZE 28
#define NBD_OPTION_MAX   (64u * 1024)        /* larger options: ERR_TOO_BIG */
#define NBD_INBUF_SIZE   (256u * 1024)
#define NBD_MAX_EXTENTS  1024                /* per BLOCK_STATUS reply */
#define NBD_BS_BATCH     128                 /* extents per block-layer query */
/* Back-pressure: stop reading a connection's requests past these, so a
 * client that does not read its replies pins at most about 16 MiB (plus
 * one maximal request). 16 MiB keeps 1 MiB requests at queue depth 16
 * flowing. */
#define NBD_MAX_INFLIGHT_REQS  256
#define NBD_MAX_INFLIGHT_BYTES (16u * 1024 * 1024)

enum nbd_conn_phase { PHASE_HANDSHAKE, PHASE_TRANSMISSION, PHASE_CLOSING };

struct nbd_conn;

struct nbd_req {
    struct nbd_conn *conn;
    struct nbd_export *exp;    /* set once it goes into the node (exp->reqs) */
    uint16_t type, flags;
    uint64_t cookie, offset;
    uint32_t len;
    void *buf;                 /* payload (READ, WRITE) */
    size_t buf_size;
    int error;                 /* NBD error code to send, 0 = success */
    uint64_t start_ns;         /* header parsed (metrics latency) */
    struct block_req breq;
    /* BLOCK_STATUS: extents gathered so far (length, flags pairs, BE). */
    uint32_t *extents;
    unsigned nextents;
    struct block_extent *bext; /* the block layer's answer, NBD_BS_BATCH */
    uint64_t bs_pos;
    /* Reply: header bytes and what to send after them. */
    uint8_t hdr[32];
    unsigned hdr_len;
    const void *tail;          /* data after the header */
    size_t tail_len;
    struct vs_list link;       /* connection's send queue */
};

struct nbd_conn {
    struct vs_loop *loop;      /* where it runs now (see server.c: loops) */
    int fd;
    enum nbd_conn_phase phase;
    unsigned refs;             /* recv + send + requests in flight */
    struct vs_list link;       /* server's connections */

    /* input */
    uint8_t *in;
    size_t in_len, in_pos;     /* bytes buffered, bytes consumed */
    struct vs_completion recv_c;
    bool recv_armed;
    bool read_eof;
    struct nbd_req *payload_req; /* receiving a WRITE payload into its buffer */
    uint64_t skip;             /* bytes to discard (oversized payload) */
    bool closing_after_drain;  /* DISC received */

    /* handshake */
    struct vs_timer hs_deadline; /* handshake-max-seconds */
    bool no_zeroes;
    bool fixed;
    bool got_client_flags;
    bool structured;
    bool meta_base_allocation;
    struct nbd_export *exp;
    uint8_t *opt_data;         /* an option's payload being gathered */

    /* TLS. With tls_cfg.creds set the client must STARTTLS first; tls is the
     * session from then on, and the socket carries only ciphertext. */
    struct nbd_server_tls tls_cfg; /* owned: see tls_cfg_copy */
    struct vs_tls_session *tls;
    bool send_tls;             /* the send in the ring is ciphertext ... */
    size_t tls_plain;          /* ... carrying this much of hs_out / sendq */

    /* transmission */
    unsigned inflight_reqs;
    /* Reads in flight, and the export this connection left while some
     * still ran: the server's loop hears of the leaving only after the
     * last of them, so the export and its backend outlive the reads done
     * directly on this loop (block.h: blk_submit). All reads count: which
     * went direct is not known before they end. */
    unsigned reads;
    struct nbd_export *gone_exp;
    uint64_t inflight_bytes;

    /* output */
    struct vs_list sendq;      /* struct nbd_req, or handshake messages */
    struct vs_completion send_c;
    bool send_armed;
    struct iovec *iov;
    unsigned iov_cap;
    uint8_t *hs_out;           /* handshake output buffer */
    size_t hs_out_len, hs_out_cap, hs_out_sent;

    /* Moving to another loop after the handshake (server.c). */
    struct vs_loop *move_to;   /* set: moves once its socket is idle */
    bool move_queued;          /* move_bh is queued (holds a reference) */
    bool remote;               /* runs on a loop other than the server's */
    unsigned loop_index;
    struct vs_bh move_bh;
    struct vs_msg move_msg;
};

/* server.c */
void nbd_conn_close(struct nbd_conn *conn);
void nbd_conn_unref(struct nbd_conn *conn);
/* A read of the connection's finished (its loop). */
void nbd_conn_read_done(struct nbd_conn *conn);
void nbd_conn_queue_reply(struct nbd_conn *conn, struct nbd_req *req);
void nbd_conn_flush_handshake(struct nbd_conn *conn);
void nbd_conn_kick_recv(struct nbd_conn *conn);
/* The handshake chose an export: the connection may move to another
 * loop for its transmission phase. */
void nbd_server_conn_transmission(struct nbd_conn *conn);
void nbd_server_close_export_clients(struct nbd_export *exp);
/* After STARTTLS was acknowledged: what follows on the socket is TLS. */
int nbd_conn_start_tls(struct nbd_conn *conn);

/* handshake.c: returns bytes consumed, 0 if more input is needed, -1 to
 * close the connection. */
void nbd_handshake_start(struct nbd_conn *conn);
ssize_t nbd_handshake_input(struct nbd_conn *conn, const uint8_t *p, size_t n);
void nbd_hs_put(struct nbd_conn *conn, const void *p, size_t n);

/* transmission.c */
ssize_t nbd_transmission_input(struct nbd_conn *conn, const uint8_t *p, size_t n);
void nbd_req_start(struct nbd_req *req);
void nbd_req_free(struct nbd_req *req);

/* export.c */
void nbd_export_conn_gone(struct nbd_export *exp);

/* bufpool.c: aligned payload buffers, recycled by power-of-two size */
void *nbd_buf_get(size_t len, size_t *size_out);
void nbd_buf_put(void *buf, size_t size);

static inline void put_be16(uint8_t *p, uint16_t v) { v = htobe16(v); __builtin_memcpy(p, &v, 2); }
static inline void put_be32(uint8_t *p, uint32_t v) { v = htobe32(v); __builtin_memcpy(p, &v, 4); }
static inline void put_be64(uint8_t *p, uint64_t v) { v = htobe64(v); __builtin_memcpy(p, &v, 8); }
static inline uint16_t get_be16(const uint8_t *p) { uint16_t v; __builtin_memcpy(&v, p, 2); return be16toh(v); }
static inline uint32_t get_be32(const uint8_t *p) { uint32_t v; __builtin_memcpy(&v, p, 4); return be32toh(v); }
static inline uint64_t get_be64(const uint8_t *p) { uint64_t v; __builtin_memcpy(&v, p, 8); return be64toh(v); }

#endif
