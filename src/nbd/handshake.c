/* The fixed newstyle handshake: greeting, client flags, and the option
 * haggling (EXPORT_NAME, ABORT, LIST, STARTTLS, INFO, GO, STRUCTURED_REPLY,
 * LIST_META_CONTEXT, SET_META_CONTEXT) until the client picks an export.
 * With TLS, the haggling before STARTTLS is cut short (before_tls); after
 * it, the same options arrive decrypted and are answered the same way.
 *
 * The input is untrusted: every length is checked against what was
 * received before anything is read, options are capped at 64 KiB (larger
 * ones are skipped and answered NBD_REP_ERR_TOO_BIG), and anything that
 * breaks the framing closes this one connection. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NBD_STRING_MAX 4096

void nbd_hs_put(struct nbd_conn *conn, const void *p, size_t n)
{
    if (conn->hs_out_len + n > conn->hs_out_cap) {
        size_t cap = conn->hs_out_cap ? conn->hs_out_cap : 1024;
        while (cap < conn->hs_out_len + n)
            cap *= 2;
        conn->hs_out = vs_realloc(conn->hs_out, cap);
        conn->hs_out_cap = cap;
    }
    memcpy(conn->hs_out + conn->hs_out_len, p, n);
    conn->hs_out_len += n;
}

void nbd_handshake_start(struct nbd_conn *conn)
{
    uint8_t g[18];
    put_be64(g, NBD_MAGIC);
    put_be64(g + 8, NBD_IHAVEOPT);
    put_be16(g + 16, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
    nbd_hs_put(conn, g, sizeof(g));
}

static void reply_hdr(struct nbd_conn *conn, uint32_t opt, uint32_t type, uint32_t len)
{
    uint8_t h[20];
    put_be64(h, NBD_REP_MAGIC);
    put_be32(h + 8, opt);
    put_be32(h + 12, type);
    put_be32(h + 16, len);
    nbd_hs_put(conn, h, sizeof(h));
}

static void reply(struct nbd_conn *conn, uint32_t opt, uint32_t type,
                  const void *data, uint32_t len)
{
    reply_hdr(conn, opt, type, len);
    if (len)
        nbd_hs_put(conn, data, len);
}

static void VS_PRINTF(4, 5)
reply_err(struct nbd_conn *conn, uint32_t opt, uint32_t type, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof(msg))
        n = sizeof(msg) - 1;
    reply(conn, opt, type, msg, (uint32_t)n);
}

/* An export name from the wire: no NUL, at most 4096 bytes. */
static bool valid_string(const uint8_t *p, uint32_t len)
{
    return len <= NBD_STRING_MAX && memchr(p, '\0', len) == NULL;
}

static struct nbd_export *lookup(const uint8_t *name, uint32_t len)
{
    char buf[NBD_STRING_MAX + 1];
    memcpy(buf, name, len);
    buf[len] = '\0';
    struct nbd_export *exp = nbd_export_find_name(buf);
    /* The empty name is the default export: the first one, as with
     * qemu-nbd and nbdkit, so "nbd+unix:///?socket=..." just works. */
    if (!exp && len == 0)
        exp = nbd_export_next(NULL);
    if (exp && exp->deleting)
        exp = NULL;
    return exp;
}

static uint16_t transmission_flags(const struct nbd_conn *conn, const struct nbd_export *exp)
{
    uint16_t f = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_CACHE;
    if (exp->writable)
        f |= NBD_FLAG_SEND_FUA | NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES |
             NBD_FLAG_SEND_FAST_ZERO;
    else
        f |= NBD_FLAG_READ_ONLY;
    if (conn->structured)
        f |= NBD_FLAG_SEND_DF;
    /* Every connection to an export reaches the same node through the same
     * loop, so a flush on one covers writes acknowledged on another. */
    if (exp->blk.node && exp->blk.node->drv->multi_conn)
        f |= NBD_FLAG_CAN_MULTI_CONN;
    return f;
}

static void enter_transmission(struct nbd_conn *conn, struct nbd_export *exp)
{
    conn->exp = exp;
    exp->connections++;
    __atomic_fetch_add(&exp->stats.connections_total, 1, __ATOMIC_RELAXED);
    conn->phase = PHASE_TRANSMISSION;
    nbd_server_conn_transmission(conn);
}

static int opt_export_name(struct nbd_conn *conn, const uint8_t *d, uint32_t len)
{
    if (!valid_string(d, len))
        return -1;
    struct nbd_export *exp = lookup(d, len);
    if (!exp)
        return -1; /* the protocol offers no way to say no: hang up */
    uint8_t r[10 + 124];
    memset(r, 0, sizeof(r));
    put_be64(r, exp->blk.node->size);
    put_be16(r + 8, transmission_flags(conn, exp));
    nbd_hs_put(conn, r, conn->no_zeroes ? 10 : sizeof(r));
    enter_transmission(conn, exp);
    return 0;
}

static void opt_list(struct nbd_conn *conn, uint32_t opt, uint32_t len)
{
    if (len != 0) {
        reply_err(conn, opt, NBD_REP_ERR_INVALID, "NBD_OPT_LIST takes no data");
        return;
    }
    for (struct nbd_export *e = nbd_export_next(NULL); e; e = nbd_export_next(e)) {
        if (e->deleting)
            continue;
        uint32_t nl = (uint32_t)strlen(e->name);
        uint32_t dl = e->description ? (uint32_t)strlen(e->description) : 0;
        uint8_t l[4];
        put_be32(l, nl);
        reply_hdr(conn, opt, NBD_REP_SERVER, 4 + nl + dl);
        nbd_hs_put(conn, l, 4);
        nbd_hs_put(conn, e->name, nl);
        if (dl)
            nbd_hs_put(conn, e->description, dl);
    }
    reply(conn, opt, NBD_REP_ACK, NULL, 0);
}

static void info_reply(struct nbd_conn *conn, uint32_t opt, uint16_t type,
                       const void *data, uint32_t len)
{
    uint8_t t[2];
    put_be16(t, type);
    reply_hdr(conn, opt, NBD_REP_INFO, 2 + len);
    nbd_hs_put(conn, t, 2);
    if (len)
        nbd_hs_put(conn, data, len);
}

static void opt_info_go(struct nbd_conn *conn, uint32_t opt, const uint8_t *d, uint32_t len)
{
    if (len < 6) {
        reply_err(conn, opt, NBD_REP_ERR_INVALID, "option too short");
        return;
    }
    uint32_t nl = get_be32(d);
    if (nl > len - 6) {
        reply_err(conn, opt, NBD_REP_ERR_INVALID, "name length exceeds option length");
        return;
    }
    uint16_t nreq = get_be16(d + 4 + nl);
    if ((uint64_t)4 + nl + 2 + 2ull * nreq != len) {
        reply_err(conn, opt, NBD_REP_ERR_INVALID, "information request count mismatch");
        return;
    }
    if (!valid_string(d + 4, nl)) {
        reply_err(conn, opt, NBD_REP_ERR_INVALID, "invalid export name");
        return;
    }
    struct nbd_export *exp = lookup(d + 4, nl);
    if (!exp) {
        reply_err(conn, opt, NBD_REP_ERR_UNKNOWN, "export '%.*s' not present",
                  (int)VS_MIN(nl, 256u), (const char *)(d + 4));
        return;
    }
    bool want_name = false, want_desc = false;
    for (uint16_t i = 0; i < nreq; i++) {
        uint16_t t = get_be16(d + 4 + nl + 2 + 2 * i);
        if (t == NBD_INFO_NAME)
            want_name = true;
        else if (t == NBD_INFO_DESCRIPTION)
            want_desc = true;
    }
    uint8_t e[10];
    put_be64(e, exp->blk.node->size);
    put_be16(e + 8, transmission_flags(conn, exp));
    info_reply(conn, opt, NBD_INFO_EXPORT, e, sizeof(e));
    if (want_name)
        info_reply(conn, opt, NBD_INFO_NAME, exp->name, (uint32_t)strlen(exp->name));
    if (want_desc && exp->description)
        info_reply(conn, opt, NBD_INFO_DESCRIPTION, exp->description,
                   (uint32_t)strlen(exp->description));
    /* Any offset and length work (unaligned ones on an O_DIRECT node take
     * the buffered path), so the minimum is 1. */
    uint8_t b[12];
    put_be32(b, 1);
    put_be32(b + 4, VS_MAX(4096u, exp->blk.node->align));
    put_be32(b + 8, NBD_MAX_PAYLOAD);
    info_reply(conn, opt, NBD_INFO_BLOCK_SIZE, b, sizeof(b));
    reply(conn, opt, NBD_REP_ACK, NULL, 0);
    if (opt == NBD_OPT_GO)
        enter_transmission(conn, exp);
}

static void opt_meta_context(struct nbd_conn *conn, uint32_t opt, const uint8_t *d, uint32_t len)
{
    bool set = opt == NBD_OPT_SET_META_CONTEXT;
    if (set && !conn->structured) {
        reply_err(conn, opt, NBD_REP_ERR_INVALID,
                  "structured replies must be negotiated first");
        return;
    }
    if (len < 8) {
        reply_err(conn, opt, NBD_REP_ERR_INVALID, "option too short");
        return;
    }
    uint32_t nl = get_be32(d);
    if (nl > len - 8 || !valid_string(d + 4, nl)) {
        reply_err(conn, opt, NBD_REP_ERR_INVALID, "invalid export name");
        return;
    }
    uint32_t nq = get_be32(d + 4 + nl);
    /* Validate every query's framing before answering any of them. */
    uint32_t pos = 8 + nl;
    for (uint32_t i = 0; i < nq; i++) {
        if (len - pos < 4 || get_be32(d + pos) > len - pos - 4) {
            reply_err(conn, opt, NBD_REP_ERR_INVALID, "query %u overruns the option", i);
            return;
        }
        pos += 4 + get_be32(d + pos);
    }
    if (pos != len) {
        reply_err(conn, opt, NBD_REP_ERR_INVALID, "trailing bytes after the queries");
        return;
    }
    if (!lookup(d + 4, nl)) {
        reply_err(conn, opt, NBD_REP_ERR_UNKNOWN, "export '%.*s' not present",
                  (int)VS_MIN(nl, 256u), (const char *)(d + 4));
        return;
    }
    static const char ctx[] = NBD_META_BASE_ALLOCATION;
    const uint32_t ctx_len = sizeof(ctx) - 1;
    bool match = !set && nq == 0; /* LIST with no query: list everything */
    pos = 8 + nl;
    for (uint32_t i = 0; i < nq; i++) {
        uint32_t ql = get_be32(d + pos);
        const uint8_t *q = d + pos + 4;
        if ((ql == ctx_len && memcmp(q, ctx, ctx_len) == 0) ||
            (!set && ql == 5 && memcmp(q, "base:", 5) == 0))
            match = true;
        pos += 4 + ql;
    }
    if (set)
        conn->meta_base_allocation = match;
    if (match) {
        uint8_t id[4];
        put_be32(id, set ? NBD_META_ID_BASE_ALLOCATION : 0);
        reply_hdr(conn, opt, NBD_REP_META_CONTEXT, 4 + ctx_len);
        nbd_hs_put(conn, id, 4);
        nbd_hs_put(conn, ctx, ctx_len);
    }
    reply(conn, opt, NBD_REP_ACK, NULL, 0);
}

/* A server with TLS credentials takes nothing but STARTTLS before TLS is
 * up (NBD's TLS requirement "FORCEDTLS", as QEMU serves it): any other
 * option is answered NBD_REP_ERR_TLS_REQD, and EXPORT_NAME, which cannot
 * be refused, ends the connection. The option's data was received in
 * full: the caller skips it. */
static ssize_t before_tls(struct nbd_conn *conn, uint32_t opt, uint32_t len)
{
    if (!conn->fixed)
        return -1;
    switch (opt) {
    case NBD_OPT_STARTTLS:
        if (len != 0) {
            /* A client that cannot start TLS right is dropped. */
            reply_err(conn, opt, NBD_REP_ERR_INVALID, "option 'starttls' has unexpected length");
            conn->closing_after_drain = true;
            break;
        }
        reply(conn, opt, NBD_REP_ACK, NULL, 0);
        /* A session that cannot be set up (a priority string GnuTLS
         * refuses) fails the TLS handshake the client is starting. */
        if (nbd_conn_start_tls(conn) < 0)
            conn->closing_after_drain = true;
        break;
    case NBD_OPT_EXPORT_NAME:
        return -1;
    default:
        reply_err(conn, opt, NBD_REP_ERR_TLS_REQD, "Option 0x%x not permitted before TLS", opt);
        if (opt == NBD_OPT_ABORT)
            conn->closing_after_drain = true;
        break;
    }
    return 16 + (ssize_t)len;
}

ssize_t nbd_handshake_input(struct nbd_conn *conn, const uint8_t *p, size_t n)
{
    if (!conn->got_client_flags) {
        if (n < 4)
            return 0;
        uint32_t flags = get_be32(p);
        if (flags & ~(uint32_t)(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES))
            return -1; /* unknown client flags: the spec says disconnect */
        conn->fixed = flags & NBD_FLAG_C_FIXED_NEWSTYLE;
        conn->no_zeroes = flags & NBD_FLAG_C_NO_ZEROES;
        conn->got_client_flags = true;
        return 4;
    }
    if (n < 16)
        return 0;
    if (get_be64(p) != NBD_IHAVEOPT)
        return -1;
    uint32_t opt = get_be32(p + 8);
    uint32_t len = get_be32(p + 12);
    if (len > NBD_OPTION_MAX) {
        if (opt == NBD_OPT_EXPORT_NAME || !conn->fixed)
            return -1;
        conn->skip = len;
        reply_err(conn, opt, NBD_REP_ERR_TOO_BIG, "option of %u bytes is too large", len);
        return 16;
    }
    if (n - 16 < len)
        return 0;
    const uint8_t *d = p + 16;
    if (conn->tls_cfg.creds && !conn->tls)
        return before_tls(conn, opt, len);
    switch (opt) {
    case NBD_OPT_EXPORT_NAME:
        if (opt_export_name(conn, d, len) < 0)
            return -1;
        break;
    case NBD_OPT_ABORT:
        reply(conn, opt, NBD_REP_ACK, NULL, 0);
        conn->closing_after_drain = true;
        break;
    case NBD_OPT_LIST:
        opt_list(conn, opt, len);
        break;
    case NBD_OPT_INFO:
    case NBD_OPT_GO:
        opt_info_go(conn, opt, d, len);
        break;
    case NBD_OPT_STRUCTURED_REPLY:
        if (len != 0) {
            reply_err(conn, opt, NBD_REP_ERR_INVALID, "NBD_OPT_STRUCTURED_REPLY takes no data");
            break;
        }
        if (conn->structured) {
            /* As QEMU and nbdkit: a duplicate is refused (libnbd's
             * nbd_opt_structured_reply then returns false). */
            reply_err(conn, opt, NBD_REP_ERR_INVALID, "structured reply already negotiated");
            break;
        }
        conn->structured = true;
        reply(conn, opt, NBD_REP_ACK, NULL, 0);
        break;
    case NBD_OPT_LIST_META_CONTEXT:
    case NBD_OPT_SET_META_CONTEXT:
        opt_meta_context(conn, opt, d, len);
        break;
    case NBD_OPT_STARTTLS:
        if (len != 0)
            reply_err(conn, opt, NBD_REP_ERR_INVALID, "option 'starttls' has unexpected length");
        else if (conn->tls)
            reply_err(conn, opt, NBD_REP_ERR_INVALID, "TLS already enabled");
        else
            reply_err(conn, opt, NBD_REP_ERR_POLICY, "TLS not configured");
        break;
    default:
        if (!conn->fixed)
            return -1;
        reply_err(conn, opt, NBD_REP_ERR_UNSUP, "option %u not supported", opt);
        break;
    }
    return 16 + (ssize_t)len;
}
