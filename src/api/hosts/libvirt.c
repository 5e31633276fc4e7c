/* The libvirt host driver: hosts whose VMs libvirt runs. libvirt owns each
 * domain's QMP monitor, so volswap speaks libvirt's C API instead:
 *   - one connection per host (the host's "uri": qemu:///system, or
 *     qemu+tls://HOST/system), shared by every thread (libvirt connections
 *     are thread-safe), with keepalive, and reopened when libvirtd went
 *     away (restart, network) -- the close callback marks it dead, the next
 *     caller reconnects;
 *   - one libvirt event loop thread for the whole process (keepalive and
 *     the block-job events the swap worker waits for run on it);
 *   - a server is a domain: the server's id is the domain's UUID, as a Nova
 *     instance's UUID is its libvirt domain's;
 *   - a volume is a disk of the domain, attached live and in the persistent
 *     definition, and found again by its user alias "ua-<export id>";
 *   - libvirt's errors become Nova fault statuses (hlv_fail).
 * Threads: any (HTTP workers, swap workers); the connection table has its
 * own lock, held only to look up or replace a connection. */
#include "hosts.h"

#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* Keepalive: a probe every 5 s, the connection is dead after 3 missed. */
#define HLV_KEEPALIVE_INTERVAL 5
#define HLV_KEEPALIVE_COUNT    3
/* How long a live detach may wait for the guest to release the disk. */
#define HLV_DETACH_WAIT_MS 10000

#define hlv_log(fmt, ...) vs_info("libvirt: " fmt, ##__VA_ARGS__)

/* ---- event loop ---- */

static pthread_once_t loop_once = PTHREAD_ONCE_INIT;
static int loop_ok;

static void *loop_main(void *arg)
{
    (void)arg;
    for (;;)
        if (virEventRunDefaultImpl() < 0)
            hlv_log("libvirt event loop: %s", virGetLastErrorMessage());
    return NULL;
}

/* libvirt prints every error to stderr unless told otherwise; ours are
 * reported once, by whoever called. */
static void quiet(void *opaque, virErrorPtr err)
{
    (void)opaque;
    (void)err;
}

static void loop_start(void)
{
    virSetErrorFunc(NULL, quiet);
    if (virInitialize() < 0 || virEventRegisterDefaultImpl() < 0)
        return;
    pthread_t t;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    loop_ok = pthread_create(&t, &at, loop_main, NULL) == 0;
    pthread_attr_destroy(&at);
}

/* ---- errors ---- */

int hlv_fail(struct api_error *e, const char *host, const char *what)
{
    virErrorPtr err = virGetLastError();
    int code = err ? err->code : VIR_ERR_INTERNAL_ERROR;
    const char *msg = err && err->message ? err->message : "unknown libvirt error";
    int status = 500;
    switch (code) {
    case VIR_ERR_NO_DOMAIN:
        status = 404; /* InstanceNotFound */
        break;
    case VIR_ERR_OPERATION_INVALID: /* domain not running, already running */
    case VIR_ERR_OPERATION_FAILED:
    case VIR_ERR_BLOCK_COPY_ACTIVE: status = 409; break;
    case VIR_ERR_INVALID_ARG:
    case VIR_ERR_CONFIG_UNSUPPORTED:
    case VIR_ERR_XML_ERROR: status = 400; break;
    case VIR_ERR_NO_CONNECT:
    case VIR_ERR_RPC:
    case VIR_ERR_SYSTEM_ERROR:
    case VIR_ERR_AUTH_FAILED:
    case VIR_ERR_AUTH_UNAVAILABLE:
    case VIR_ERR_OPERATION_TIMEOUT:
        status = 503; /* compute host unreachable */
        break;
    default: break;
    }
    return api_err(e, status, "Host %s: %s: %s", host, what, msg);
}

/* ---- connections ---- */

struct hlv_conn {
    char host[65];
    char uri[1024];
    virConnectPtr conn;
    bool dead;
    struct hlv_conn *next;
};
static pthread_mutex_t conns_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hlv_conn *conns;

/* Runs on the event loop thread when libvirt closes the connection. It
 * takes no lock of ours: libvirt calls it holding its own close-callback
 * lock, which hlv_connect's unregister takes under the table's lock. */
static void on_close(virConnectPtr conn, int reason, void *opaque)
{
    (void)conn;
    struct hlv_conn *c = opaque;
    __atomic_store_n(&c->dead, true, __ATOMIC_RELEASE);
    hlv_log("libvirt connection to %s closed (reason %d); reconnecting on next use", c->host,
            reason);
}

virConnectPtr hlv_connect(const struct cfg_host *h, struct api_error *e)
{
    pthread_once(&loop_once, loop_start);
    if (!loop_ok) {
        api_err(e, 500, "libvirt: cannot start the event loop");
        return NULL;
    }
    pthread_mutex_lock(&conns_lock);
    struct hlv_conn *c = conns;
    while (c && strcmp(c->host, h->name) != 0)
        c = c->next;
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c) {
            pthread_mutex_unlock(&conns_lock);
            api_err(e, 500, "out of memory");
            return NULL;
        }
        snprintf(c->host, sizeof c->host, "%s", h->name);
        snprintf(c->uri, sizeof c->uri, "%s", h->uri);
        c->next = conns;
        conns = c;
    }
    if (c->conn &&
        (__atomic_load_n(&c->dead, __ATOMIC_ACQUIRE) || virConnectIsAlive(c->conn) != 1)) {
        virConnectUnregisterCloseCallback(c->conn, on_close);
        virConnectClose(c->conn);
        c->conn = NULL;
    }
    virConnectPtr spare = NULL;
    if (!c->conn) {
        /* opening may wait on the network (qemu+tls://): not under the
         * table's lock, so other hosts' calls go on meanwhile */
        pthread_mutex_unlock(&conns_lock);
        virConnectPtr conn = virConnectOpen(h->uri);
        if (!conn) {
            hlv_fail(e, h->name, "cannot connect to libvirt");
            return NULL;
        }
        if (virConnectSetKeepAlive(conn, HLV_KEEPALIVE_INTERVAL, HLV_KEEPALIVE_COUNT) < 0)
            hlv_log("%s: no keepalive: %s", h->name, virGetLastErrorMessage());
        pthread_mutex_lock(&conns_lock);
        if (c->conn) { /* another thread opened one first: use it */
            spare = conn;
        } else {
            __atomic_store_n(&c->dead, false, __ATOMIC_RELEASE);
            virConnectRegisterCloseCallback(conn, on_close, c, NULL);
            c->conn = conn;
        }
    }
    virConnectPtr ret = c->conn;
    virConnectRef(ret);
    pthread_mutex_unlock(&conns_lock);
    if (spare)
        virConnectClose(spare);
    return ret;
}

virDomainPtr hlv_domain(const struct cfg_host *h, const char *server_id, struct api_error *e)
{
    virConnectPtr conn = hlv_connect(h, e);
    if (!conn)
        return NULL;
    virDomainPtr d = virDomainLookupByUUIDString(conn, server_id);
    if (!d)
        hlv_fail(e, h->name, "no domain for the server");
    virConnectClose(conn);
    return d;
}

int hlv_adopt(const struct cfg_host *h, const char *name_or_uuid, char uuid[37],
              struct api_error *e)
{
    virConnectPtr conn = hlv_connect(h, e);
    if (!conn)
        return -1;
    virDomainPtr d = virDomainLookupByName(conn, name_or_uuid);
    if (!d && api_is_uuid(name_or_uuid))
        d = virDomainLookupByUUIDString(conn, name_or_uuid);
    int rc = -1;
    if (!d) {
        virErrorPtr err = virGetLastError();
        if (err && err->code == VIR_ERR_NO_DOMAIN)
            api_err(e, 400, "Host %s has no libvirt domain named %.64s", h->name, name_or_uuid);
        else
            hlv_fail(e, h->name, "domain lookup");
    } else if (virDomainGetUUIDString(d, uuid) < 0) {
        hlv_fail(e, h->name, "domain UUID");
    } else {
        rc = 0;
    }
    if (d)
        virDomainFree(d);
    virConnectClose(conn);
    return rc;
}

int hlv_power_state(const struct cfg_host *h, const char *server_id)
{
    struct api_error e;
    virDomainPtr d = hlv_domain(h, server_id, &e);
    if (!d)
        return 0; /* NOSTATE */
    int state = 0, reason = 0;
    int rc = virDomainGetState(d, &state, &reason, 0);
    virDomainFree(d);
    if (rc < 0)
        return 0;
    /* Nova's power_state values */
    switch (state) {
    case VIR_DOMAIN_RUNNING: return 1;
    case VIR_DOMAIN_BLOCKED: return 1;
    case VIR_DOMAIN_PAUSED: return 3;
    case VIR_DOMAIN_SHUTDOWN:
    case VIR_DOMAIN_SHUTOFF: return 4;
    case VIR_DOMAIN_CRASHED: return 6;
    case VIR_DOMAIN_PMSUSPENDED: return 7;
    default: return 0;
    }
}

int hlv_probe(const struct cfg_host *h, int *version)
{
    struct api_error e;
    virConnectPtr conn = hlv_connect(h, &e);
    unsigned long v = 0;
    int rc = conn && virConnectGetVersion(conn, &v) == 0 ? 0 : -1;
    if (conn)
        virConnectClose(conn);
    /* libvirt encodes QEMU 7.2.0 as 7002000, as Nova does */
    if (version)
        *version = rc == 0 ? (int)v : 0;
    return rc;
}

/* ---- disks in domain XML ---- */

/* Finds the <disk> element of XML whose KEY (e.g. "<target dev='vdb'" or
 * "<alias name='ua-...'") matches, and copies its source path (file= or
 * dev=) into SRC when given. 0 found, 1 none. libvirt writes its XML in one
 * canonical form (single quotes, attribute order), which the search
 * relies on. */
int hlv_disk_find(const char *xml, const char *key, char *src, size_t srclen)
{
    const char *p = xml;
    while ((p = strstr(p, "<disk ")) != NULL) {
        const char *end = strstr(p, "</disk>");
        if (!end)
            return 1;
        const char *k = strstr(p, key);
        if (k && k < end) {
            if (src && srclen) {
                src[0] = '\0';
                const char *s = strstr(p, "<source ");
                const char *tag_end = s ? strchr(s, '>') : NULL;
                if (s && s < end && tag_end) {
                    /* file= (file), dev= (block), name= (network: the
                     * NBD export); only inside the <source> tag itself */
                    static const char *const attrs[] = { " file='", " dev='", " name='" };
                    const char *v = NULL;
                    for (size_t i = 0; !v && i < 3; i++) {
                        const char *a = strstr(s, attrs[i]);
                        if (a && a < tag_end)
                            v = a + strlen(attrs[i]);
                    }
                    const char *q = v ? strchr(v, '\'') : NULL;
                    if (q && (size_t)(q - v) < srclen) {
                        memcpy(src, v, (size_t)(q - v));
                        src[q - v] = '\0';
                    }
                }
            }
            return 0;
        }
        p = end;
    }
    return 1;
}

/* Copies the value of attribute ATTR (e.g. " dev='") found in [FROM, LIMIT)
 * into OUT; "" when absent or too long. */
static void attr_in(const char *from, const char *limit, const char *attr, char *out, size_t outlen)
{
    out[0] = '\0';
    const char *a = strstr(from, attr);
    if (!a || a >= limit)
        return;
    a += strlen(attr);
    const char *q = strchr(a, '\'');
    if (q && q <= limit && (size_t)(q - a) < outlen) {
        memcpy(out, a, (size_t)(q - a));
        out[q - a] = '\0';
    }
}

int hlv_disk_next(const char **cursor, struct hlv_disk *d)
{
    memset(d, 0, sizeof *d);
    const char *p = *cursor ? strstr(*cursor, "<disk ") : NULL;
    const char *end = p ? strstr(p, "</disk>") : NULL;
    if (!p || !end)
        return 1;
    const char *tag_end = strchr(p, '>');
    if (tag_end && tag_end < end)
        attr_in(p, tag_end, " type='", d->type, sizeof d->type);
    attr_in(p, end, "<target dev='", d->target, sizeof d->target);
    attr_in(p, end, "<alias name='", d->alias, sizeof d->alias);
    /* the disk's own <source> comes before a copy's <mirror> one */
    if (hlv_disk_find(p, "<disk ", d->source, sizeof d->source) != 0)
        d->source[0] = '\0';
    *cursor = end + strlen("</disk>");
    return 0;
}

/* The <disk> of the persistent definition whose alias is ALIAS, with its
 * <source> (and the disk's type) replaced by those of LIVE_XML's disk of
 * the same alias: the argument of virDomainUpdateDeviceFlags. */
char *hlv_disk_with_live_source(const char *inactive, const char *live_xml, const char *alias)
{
    char key[96];
    snprintf(key, sizeof key, "<alias name='%s'", alias);
    const char *segs[2] = { inactive, live_xml }, *start[2] = { NULL, NULL }, *stop[2];
    for (int k = 0; k < 2; k++) {
        for (const char *q = segs[k]; (q = strstr(q, "<disk ")) != NULL;) {
            const char *end = strstr(q, "</disk>");
            if (!end)
                return NULL;
            const char *a = strstr(q, key);
            if (a && a < end) {
                start[k] = q;
                stop[k] = end + strlen("</disk>");
                break;
            }
            q = end;
        }
        if (!start[k])
            return NULL;
    }
    /* the live <source> element: "<source .../>" or "<source ...>...</source>" */
    const char *ls = strstr(start[1], "<source ");
    const char *is = strstr(start[0], "<source ");
    if (!ls || ls > stop[1] || !is || is > stop[0])
        return NULL;
    const char *lt = strchr(ls, '>'), *it = strchr(is, '>');
    if (!lt || !it)
        return NULL;
    const char *le = lt[-1] == '/' ? lt + 1 : strstr(ls, "</source>");
    const char *ie = it[-1] == '/' ? it + 1 : strstr(is, "</source>");
    if (!le || !ie || le > stop[1] || ie > stop[0])
        return NULL;
    if (lt[-1] != '/')
        le += strlen("</source>");
    if (it[-1] != '/')
        ie += strlen("</source>");
    char ltype[16] = "", itype[16] = "";
    const char *ltag = strchr(start[1], '>'), *itag = strchr(start[0], '>');
    /* the disk's type: <disk type='X' ...> */
    for (int k = 0; k < 2; k++) {
        const char *from = k ? start[1] : start[0], *lim = k ? ltag : itag;
        char *out = k ? ltype : itype;
        const char *a = strstr(from, " type='");
        const char *q = a ? strchr(a + 7, '\'') : NULL;
        if (a && q && q < lim && q - a - 7 < 16) {
            memcpy(out, a + 7, (size_t)(q - a - 7));
            out[q - a - 7] = '\0';
        }
    }
    if (!ltype[0] || !itype[0])
        return NULL;
    size_t n = (size_t)(stop[0] - start[0]) + (size_t)(le - ls) + 64;
    char *out = malloc(n);
    if (!out)
        return NULL;
    /* "<disk type='" + live type + rest of the inactive disk up to its
     * <source>, the live <source> without its runtime index, the rest */
    const char *after_type = strstr(start[0], " type='") + 7 + strlen(itype);
    size_t len =
        (size_t)snprintf(out, n, "<disk type='%s%.*s", ltype, (int)(is - after_type), after_type);
    /* the live source's attributes, less index='N' (a runtime number) */
    const char *idx = strstr(ls, " index='");
    if (idx && idx < lt) {
        const char *iq = strchr(idx + 8, '\'');
        len += (size_t)snprintf(out + len, n - len, "%.*s%.*s", (int)(idx - ls), ls,
                                (int)(le - iq - 1), iq + 1);
    } else {
        len += (size_t)snprintf(out + len, n - len, "%.*s", (int)(le - ls), ls);
    }
    snprintf(out + len, n - len, "%.*s", (int)(stop[0] - ie), ie);
    return out;
}

int hlv_disk_source(virDomainPtr d, const char *target, bool persistent, char *src, size_t srclen,
                    struct api_error *e)
{
    char *xml = virDomainGetXMLDesc(d, persistent ? VIR_DOMAIN_XML_INACTIVE : 0);
    if (!xml)
        return hlv_fail(e, "libvirt", "domain XML");
    char key[64];
    snprintf(key, sizeof key, "<target dev='%s'", target);
    int rc = hlv_disk_find(xml, key, src, srclen);
    free(xml);
    return rc;
}

/* An attribute value for XML: paths come from our pools (the config), but
 * are escaped anyway so no path can change the document's shape. */
static void xml_escape(const char *in, char *out, size_t outlen)
{
    size_t n = 0;
    for (; *in && n + 7 < outlen; in++) {
        const char *r = NULL;
        switch (*in) {
        case '&': r = "&amp;"; break;
        case '<': r = "&lt;"; break;
        case '>': r = "&gt;"; break;
        case '\'': r = "&apos;"; break;
        case '"': r = "&quot;"; break;
        default: break;
        }
        if (r) {
            n += (size_t)snprintf(out + n, outlen - n, "%s", r);
        } else {
            out[n++] = *in;
        }
    }
    out[n] = '\0';
}

bool hlv_nbd_mode(const struct cfg_host *h)
{
    return h->qmp[0] && (h->nbd_socket[0] || h->nbd_host[0]);
}

void hlv_nbd_export_id(const char *node, char out[40])
{
    snprintf(out, 40, "lv-%.30s", node);
}

/* The <source> of a network disk on the host's NBD export NODE: a unix
 * socket, or TCP; tls='yes' when the host's NBD server requires TLS (QEMU
 * then uses the host's qemu.conf nbd_tls_x509_cert_dir), with tlsHostname
 * the name the server's certificate must carry when the config gives one
 * (over a unix socket QEMU has no other). */
static int nbd_source(const struct cfg_host *h, const char *node, char *out, size_t outlen)
{
    char name[256], where[3 * 1024 + 64], tls[3 * 256 + 32] = "";
    xml_escape(node, name, sizeof name);
    if (h->nbd_tls_creds[0]) {
        char hostname[3 * 256];
        xml_escape(h->nbd_tls_hostname, hostname, sizeof hostname);
        snprintf(tls, sizeof tls, " tls='yes'%s%s%s", hostname[0] ? " tlsHostname='" : "", hostname,
                 hostname[0] ? "'" : "");
    }
    int n;
    if (h->nbd_socket[0]) {
        char sock[3 * 1024];
        xml_escape(h->nbd_socket, sock, sizeof sock);
        n = snprintf(where, sizeof where, "<host transport='unix' socket='%s'/>", sock);
    } else {
        char host[3 * 256];
        xml_escape(h->nbd_host, host, sizeof host);
        n = snprintf(where, sizeof where, "<host name='%s' port='%d'/>", host, h->nbd_port);
    }
    if (n < 0 || (size_t)n >= sizeof where)
        return -1;
    n = snprintf(out, outlen, "<source protocol='nbd' name='%s'%s>%s</source>", name, tls, where);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int hlv_nbd_open(const struct cfg_host *h, const struct reg_volume *v, const char *node,
                 json_t **conn, struct api_error *e)
{
    const struct host_driver *qd = host_driver_find("volswapd");
    char id[40];
    hlv_nbd_export_id(node, id);
    json_t *ignore = NULL;
    int rc = qd->attach(h, v, node, id, node, conn ? conn : &ignore, e);
    json_decref(ignore);
    return rc;
}

int hlv_nbd_close(const struct cfg_host *h, const char *node, struct api_error *e)
{
    const struct host_driver *qd = host_driver_find("volswapd");
    char id[40];
    hlv_nbd_export_id(node, id);
    return qd->detach(h, node, id, e);
}

int hlv_network_dest_xml(const struct cfg_host *nh, const char *node, char *out, size_t outlen)
{
    char src[4096];
    if (nbd_source(nh, node, src, sizeof src) < 0)
        return -1;
    int n = snprintf(out, outlen,
                     "<disk type='network' device='disk'><driver name='qemu' type='raw'/>%s</disk>",
                     src);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int hlv_copy_dest_xml(const struct cfg_host *h, const char *path, const char *node, char *out,
                      size_t outlen)
{
    if (!hlv_nbd_mode(h))
        return hlv_source_xml(path, out, outlen);
    return hlv_network_dest_xml(h, node, out, outlen);
}

json_t *hlv_nbd_data(const struct cfg_host *h, const char *node)
{
    json_t *d = json_pack("{s:s, s:s}", "export_name", node, "name", node);
    host_nbd_address(h, node, false, d);
    return d;
}

int hlv_source_xml(const char *path, char *out, size_t outlen)
{
    struct stat st;
    bool is_blk = stat(path, &st) == 0 && S_ISBLK(st.st_mode);
    char esc[3 * 1024];
    xml_escape(path, esc, sizeof esc);
    int n = snprintf(out, outlen,
                     "<disk type='%s' device='disk'><driver name='qemu' type='raw'/>"
                     "<source %s='%s'/></disk>",
                     is_blk ? "block" : "file", is_blk ? "dev" : "file", esc);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* ---- the host driver ---- */

/* The attachment's export name is "<server id>-<device without /dev/>"
 * (rest/compute/attachments.c): for libvirt, the domain and the disk's
 * target. */
static int split_export_name(const char *export_name, char server[37], char target[32])
{
    if (strlen(export_name) < 38 || export_name[36] != '-')
        return -1;
    memcpy(server, export_name, 36);
    server[36] = '\0';
    snprintf(target, 32, "%s", export_name + 37);
    return target[0] ? 0 : -1;
}

static unsigned int live_flags(virDomainPtr d)
{
    return VIR_DOMAIN_AFFECT_CONFIG | (virDomainIsActive(d) == 1 ? VIR_DOMAIN_AFFECT_LIVE : 0);
}

/* Attaches a disk of TYPE (file, block, network) reading SRC (its
 * <source>) to SERVER's domain as TARGET, live and in the definition,
 * with the volume's id as serial and the alias ua-EXPORT_ID it is found
 * again by. */
static int attach_disk(const struct cfg_host *h, const char *server, const char *target,
                       const char *type, const char *src, const struct reg_volume *v,
                       const char *export_id, struct api_error *e)
{
    /* sdX is a SCSI disk (virtio-scsi: hot-unplug needs no guest help),
     * anything else virtio-blk, as Nova picks the bus */
    const char *bus = strncmp(target, "sd", 2) == 0 ? "scsi" : "virtio";
    char xml[8192];
    int n = snprintf(xml, sizeof xml,
                     "<disk type='%s' device='disk'><driver name='qemu' type='raw' "
                     "discard='unmap'/>%s<target dev='%s' bus='%s'/>%s<serial>%s</serial>"
                     "<alias name='ua-%s'/></disk>",
                     type, src, target, bus, v->readonly == 1 ? "<readonly/>" : "", v->id,
                     export_id);
    if (n < 0 || (size_t)n >= sizeof xml)
        return api_err(e, 500, "libvirt: the disk of %s does not fit its XML", v->id);
    virDomainPtr d = hlv_domain(h, server, e);
    int rc = d ? virDomainAttachDeviceFlags(d, xml, live_flags(d)) : -1;
    if (d && rc < 0)
        hlv_fail(e, h->name, "attach");
    if (d)
        virDomainFree(d);
    return rc < 0 ? -1 : 0;
}

/* A disk is either the volume's file or block device, opened by QEMU
 * itself, or -- on a host whose volumes its volswapd serves ("qmp" and
 * "nbd" in the host's config) -- a network disk on the volswapd's NBD
 * export of the volume (named after its node, so a swap's new volume has
 * an export of its own). connection_info says which: driver_volume_type
 * "local" with device_path, or "nbd" with the export's name, socket or
 * host and port, uri and tls. */
static int lv_attach(const struct cfg_host *h, const struct reg_volume *v, const char *node,
                     const char *export_id, const char *export_name, json_t **conn,
                     struct api_error *e)
{
    *conn = NULL;
    char server[37], target[32];
    if (split_export_name(export_name, server, target) < 0)
        return api_err(e, 500, "libvirt: cannot tell the disk from %s", export_name);
    bool nbd = hlv_nbd_mode(h);
    struct stat st;
    bool is_blk = !nbd && stat(v->path, &st) == 0 && S_ISBLK(st.st_mode);
    char src[4096];
    json_t *ci = NULL;
    if (nbd) {
        if (hlv_nbd_open(h, v, node, &ci, e) < 0)
            return -1;
        if (nbd_source(h, node, src, sizeof src) < 0) {
            struct api_error ignore;
            hlv_nbd_close(h, node, &ignore);
            json_decref(ci);
            return api_err(e, 500, "libvirt: the NBD source of %s is too long", node);
        }
    } else {
        char esc[3 * 1024];
        xml_escape(v->path, esc, sizeof esc);
        snprintf(src, sizeof src, "<source %s='%s'/>", is_blk ? "dev" : "file", esc);
    }
    int rc = attach_disk(h, server, target,
                         nbd      ? "network"
                         : is_blk ? "block"
                                  : "file",
                         src, v, export_id, e);
    if (rc < 0) {
        struct api_error ignore;
        if (nbd)
            hlv_nbd_close(h, node, &ignore);
        json_decref(ci);
        return -1;
    }
    if (nbd) {
        json_t *data = json_object_get(ci, "data");
        json_object_set_new(data, "target", json_string(target));
        json_object_set_new(data, "alias", json_string(export_id));
        *conn = ci;
        return 0;
    }
    *conn = json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s}, s:s, s:s}", "driver_volume_type",
                      "local", "data", "device_path", v->path, "host_name", h->name, "target",
                      target, "alias", export_id, "export_name", export_name, "node_name", node,
                      "serial", v->id, "access_mode", v->readonly == 1 ? "ro" : "rw");
    return 0;
}

int hlv_attach_remote(const struct cfg_host *ch, const struct cfg_host *sh,
                      const struct reg_volume *v, const char *node, const char *export_id,
                      const char *export_name, json_t **conn, struct api_error *e)
{
    *conn = NULL;
    char server[37], target[32], src[4096];
    if (split_export_name(export_name, server, target) < 0)
        return api_err(e, 500, "libvirt: cannot tell the disk from %s", export_name);
    if (nbd_source(sh, node, src, sizeof src) < 0)
        return api_err(e, 500, "libvirt: the NBD source of %s is too long", node);
    if (attach_disk(ch, server, target, "network", src, v, export_id, e) < 0)
        return -1;
    /* QEMU reads the storage host's export itself: what it connects to is
     * that export, which data.storage names too (detach removes it) */
    const char *mode = v->readonly == 1 ? "ro" : "rw";
    json_t *data = hlv_nbd_data(sh, node);
    json_object_set_new(data, "node_name", json_string(node));
    json_object_set_new(data, "export_id", json_string(export_id));
    json_object_set_new(data, "host_name", json_string(ch->name));
    json_object_set_new(data, "target", json_string(target));
    json_object_set_new(data, "alias", json_string(export_id));
    json_object_set_new(data, "access_mode", json_string(mode));
    json_object_set_new(data, "storage", host_storage_info(sh, node));
    *conn = json_pack("{s:s, s:o, s:s, s:s}", "driver_volume_type", "nbd", "data", data, "serial",
                      v->id, "access_mode", mode);
    return 0;
}

int hlv_list_domains(const struct cfg_host *h, virDomainPtr **doms, struct api_error *e)
{
    virConnectPtr conn = hlv_connect(h, e);
    if (!conn)
        return -1;
    int n = virConnectListAllDomains(conn, doms, 0);
    virConnectClose(conn);
    return n < 0 ? hlv_fail(e, h->name, "list domains") : n;
}

/* The domain that has the disk with ALIAS, live or in its definition. */
static virDomainPtr find_by_alias(virConnectPtr conn, const char *alias)
{
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(conn, &doms, 0);
    virDomainPtr found = NULL;
    char key[128];
    snprintf(key, sizeof key, "<alias name='%s'", alias);
    for (int i = 0; i < n; i++) {
        char *x = found ? NULL : virDomainGetXMLDesc(doms[i], 0);
        char *y = found || (x && hlv_disk_find(x, key, NULL, 0) == 0)
                      ? NULL
                      : virDomainGetXMLDesc(doms[i], VIR_DOMAIN_XML_INACTIVE);
        if (!found && ((x && hlv_disk_find(x, key, NULL, 0) == 0) ||
                       (y && hlv_disk_find(y, key, NULL, 0) == 0))) {
            found = doms[i];
            doms[i] = NULL;
        }
        free(x);
        free(y);
        if (doms[i])
            virDomainFree(doms[i]);
    }
    free(doms);
    return found;
}

static int detach_disk(const struct cfg_host *h, const char *export_id, struct api_error *e);

static int lv_detach(const struct cfg_host *h, const char *node, const char *export_id,
                     struct api_error *e)
{
    if (detach_disk(h, export_id, e) < 0)
        return -1;
    /* the volswapd's export and node go once no domain uses them */
    return hlv_nbd_mode(h) ? hlv_nbd_close(h, node, e) : 0;
}

static int detach_disk(const struct cfg_host *h, const char *export_id, struct api_error *e)
{
    virConnectPtr conn = hlv_connect(h, e);
    if (!conn)
        return -1;
    char alias[64];
    snprintf(alias, sizeof alias, "ua-%s", export_id);
    virDomainPtr d = find_by_alias(conn, alias);
    virConnectClose(conn);
    if (!d)
        return 0; /* gone already: a retried detach converges */
    char key[128];
    snprintf(key, sizeof key, "<alias name='%s'", alias);
    int rc = 0;
    /* the definition first, then the live domain: a disk the guest will
     * not let go of is at least gone at the next boot */
    char *px = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE);
    if (px && hlv_disk_find(px, key, NULL, 0) == 0 &&
        virDomainDetachDeviceAlias(d, alias, VIR_DOMAIN_AFFECT_CONFIG) < 0)
        rc = hlv_fail(e, h->name, "detach from the definition");
    free(px);
    if (rc == 0 && virDomainIsActive(d) == 1) {
        char *lx = virDomainGetXMLDesc(d, 0);
        bool live = lx && hlv_disk_find(lx, key, NULL, 0) == 0;
        free(lx);
        if (live && virDomainDetachDeviceAlias(d, alias, VIR_DOMAIN_AFFECT_LIVE) < 0)
            rc = hlv_fail(e, h->name, "detach");
        /* an unplug the guest must acknowledge completes later: wait */
        for (int64_t t0 = api_now_ms(); rc == 0 && live;) {
            lx = virDomainGetXMLDesc(d, 0);
            live = lx && hlv_disk_find(lx, key, NULL, 0) == 0;
            free(lx);
            if (live && api_now_ms() - t0 > HLV_DETACH_WAIT_MS)
                rc = api_err(e, 500, "Host %s: the guest did not release disk %s", h->name, alias);
            struct timespec ts = { 0, 50 * 1000 * 1000 };
            if (live)
                nanosleep(&ts, NULL);
        }
    }
    virDomainFree(d);
    return rc;
}

/* The disk of XML whose <serial> (the volume's id) gives NODE as its
 * node name: its target into TARGET and its source into SRC. 0, 1 none. */
static int disk_by_node(const char *xml, const char *node, char target[32], char *src,
                        size_t srclen)
{
    for (const char *p = xml; (p = strstr(p, "<disk ")) != NULL;) {
        const char *end = strstr(p, "</disk>");
        if (!end)
            return 1;
        const char *ser = strstr(p, "<serial>"), *t = strstr(p, "<target dev='");
        if (ser && ser < end && t && t < end) {
            char serial[64] = "", mine[32];
            const char *q = strchr(ser + 8, '<');
            if (q && (size_t)(q - ser - 8) < sizeof serial)
                memcpy(serial, ser + 8, (size_t)(q - ser - 8));
            host_node_name(serial, mine);
            const char *tq = strchr(t + 13, '\'');
            if (serial[0] && strcmp(mine, node) == 0 && tq && tq - t - 13 < 32) {
                memcpy(target, t + 13, (size_t)(tq - t - 13));
                target[tq - t - 13] = '\0';
                char key[48];
                snprintf(key, sizeof key, "<target dev='%s'", target);
                return hlv_disk_find(p, key, src, srclen);
            }
        }
        p = end;
    }
    return 1;
}

/* Extend of an in-use volume, as Nova's extend_volume: the running
 * domain's disk grows through virDomainBlockResize (QEMU's block_resize
 * grows the file and tells the guest); a domain that is shut off has its
 * file grown, which it reads at the next boot. */
static int lv_resize(const struct cfg_host *h, const char *node, uint64_t size, struct api_error *e)
{
    /* QEMU's NBD client learns an export's size only when it connects:
     * the guest could not see the new size, so refuse, as Nova does when
     * its driver cannot extend (the volume stays as it was) */
    if (hlv_nbd_mode(h))
        return api_err(
            e, 409, "Host %s: a volume attached over NBD cannot be extended while in use", h->name);
    virDomainPtr *doms = NULL;
    int n = hlv_list_domains(h, &doms, e);
    if (n < 0)
        return -1;
    int rc = 1;
    for (int i = 0; i < n; i++) {
        char target[32], src[1024] = "";
        if (rc == 1) {
            bool live = virDomainIsActive(doms[i]) == 1;
            char *xml = virDomainGetXMLDesc(doms[i], live ? 0 : VIR_DOMAIN_XML_INACTIVE);
            if (xml && disk_by_node(xml, node, target, src, sizeof src) == 0) {
                if (live)
                    rc = virDomainBlockResize(doms[i], target, (unsigned long long)size,
                                              VIR_DOMAIN_BLOCK_RESIZE_BYTES) < 0
                             ? hlv_fail(e, h->name, "blockResize")
                             : 0;
                else
                    rc = pool_grow_volume(NULL, src, size, e); /* a file, or a device */
            }
            free(xml);
        }
        virDomainFree(doms[i]);
    }
    free(doms);
    if (rc == 1)
        return api_err(e, 409, "Host %s: no domain has the disk of %s", h->name, node);
    return rc;
}

/* ---- power ---- */

/* Nova resends the shutdown request this often while it waits (a guest
 * may miss an ACPI event it gets while still booting). */
#define HLV_SHUTDOWN_RETRY_MS 10000

static bool domain_off(virDomainPtr d)
{
    int state = 0, reason = 0;
    /* a domain libvirt cannot read is treated as still on: the wait goes
     * on until the timeout, then the hard path reports the error */
    return virDomainGetState(d, &state, &reason, 0) == 0 &&
           (state == VIR_DOMAIN_SHUTOFF || state == VIR_DOMAIN_CRASHED);
}

/* Nova's clean shutdown: ask the guest (ACPI power button, which needs
 * <features><acpi/></features>), wait up to TIMEOUT_S for the domain to
 * end, asking again every HLV_SHUTDOWN_RETRY_MS. 0 off, 1 still on after
 * the timeout, -1 given up or E. */
static int clean_shutdown(const struct cfg_host *h, virDomainPtr d, int timeout_s,
                          bool (*give_up)(void), struct api_error *e)
{
    if (domain_off(d))
        return 0;
    int64_t t0 = api_now_ms(), asked = 0;
    while (api_now_ms() - t0 < (int64_t)timeout_s * 1000) {
        if (asked == 0 || api_now_ms() - asked >= HLV_SHUTDOWN_RETRY_MS) {
            /* a guest that cannot take the request (no ACPI) is waited for
             * all the same and then forced, as Nova does */
            if (virDomainShutdown(d) < 0 && !domain_off(d))
                hlv_log("%s: shutdown request: %s", h->name, virGetLastErrorMessage());
            asked = api_now_ms();
        }
        if (domain_off(d))
            return 0;
        if (give_up && give_up())
            return api_err(e, 503, "Host %s: volswap-api is stopping", h->name);
        struct timespec ts = { 0, 100 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    return domain_off(d) ? 0 : 1;
}

static int hard_off(const struct cfg_host *h, virDomainPtr d, struct api_error *e)
{
    if (domain_off(d))
        return 0;
    if (virDomainDestroy(d) < 0 && !domain_off(d))
        return hlv_fail(e, h->name, "power off");
    return 0;
}

static int boot(const struct cfg_host *h, virDomainPtr d, struct api_error *e)
{
    if (virDomainIsActive(d) == 1)
        return 0; /* already running: a retried start converges */
    if (virDomainCreate(d) < 0)
        return hlv_fail(e, h->name, "start");
    return 0;
}

/* The domain is never undefined or redefined here: a start boots the
 * persistent definition, which a swap has already pointed at the new
 * volume. A soft reboot is Nova's libvirt one (a clean shutdown, then a
 * start), not virDomainReboot: only a domain seen to end proves the guest
 * did reboot, and a guest that ignores the request is rebooted hard. */
static int lv_power(const struct cfg_host *h, const char *server_id, enum host_power op,
                    bool (*give_up)(void), struct api_error *e)
{
    virDomainPtr d = hlv_domain(h, server_id, e);
    if (!d)
        return -1;
    int rc = 0;
    switch (op) {
    case HOST_POWER_STOP:
    case HOST_POWER_REBOOT_SOFT:
        rc = clean_shutdown(h, d, h->shutdown_timeout, give_up, e);
        if (rc == 1) {
            hlv_log("%s: domain %s did not power off within %d s: forcing it", h->name, server_id,
                    h->shutdown_timeout);
            rc = hard_off(h, d, e);
        }
        if (rc == 0 && op == HOST_POWER_REBOOT_SOFT)
            rc = boot(h, d, e);
        break;
    case HOST_POWER_REBOOT_HARD:
        rc = hard_off(h, d, e);
        if (rc == 0)
            rc = boot(h, d, e);
        break;
    case HOST_POWER_START: rc = boot(h, d, e); break;
    }
    virDomainFree(d);
    return rc;
}

const struct host_driver hlv_driver = { "libvirt", lv_attach, lv_detach,
                                        lv_resize, lv_power,  hlv_power_state };
