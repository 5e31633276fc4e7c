/* The image store: where the image service's bytes live. Each image's data
 * is one file named after its id in the configured directory ("images":
 * {"dir"}); an upload streams into a temporary file beside it, hashing as
 * it goes (Glance's checksum, MD5, and its os_hash, SHA-512), under the
 * store's quota on the bytes of all images, and is renamed into place only
 * once whole and on disk. Nothing here holds an image in memory: uploads,
 * downloads and the copies between images and volumes go through a
 * bounded buffer. Runs on the HTTP worker thread of an upload, or on the
 * thread of a copy (volume from image, volume to image).
 *
 * The quota holds however many uploads run at once: an upload reserves
 * room before it writes (its whole length when known, else in steps),
 * under one lock that sums what the registry's images hold and what every
 * reservation holds, and a reservation stays until the image's record
 * carries its size (image_upload_settle) or the upload failed. The sum
 * leaves out the registry's size of an image that has a reservation, so
 * nothing counts twice. The reservations are this process's: API nodes
 * sharing a database each keep their own. */
#include "domain.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_BUF (1 << 20)
/* what an upload of unknown length reserves at a time */
#define RESERVE_STEP ((int64_t)16 << 20)

/* Room an upload holds of the store's quota. */
struct reservation {
    char image_id[37];
    int64_t bytes;
    bool finished; /* the data is in place, the record not yet updated */
    struct vs_list link;
};
static pthread_mutex_t quota_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vs_list reservations = VS_LIST_INIT(reservations);

struct image_upload {
    int fd;
    char part[1110], final[1100];
    gnutls_hash_hd_t md5, sha512;
    int64_t written;
    struct api_ctx *ctx;
    struct reservation *res; /* NULL: no quota */
};

bool image_owned_by(const struct auth_ctx *a, const struct reg_image *im)
{
    return auth_has_role(a, "admin") || !strcmp(im->owner, a->project_id);
}

bool image_visible_to(const struct auth_ctx *a, const struct reg_image *im)
{
    return image_owned_by(a, im) || !strcmp(im->visibility, "public") ||
           !strcmp(im->visibility, "community");
}

bool image_shared_with(struct registry *r, const struct reg_image *im, const char *project)
{
    struct reg_image_member m;
    return !strcmp(im->visibility, "shared") && project[0] &&
           r->ops->member_get(r, im->id, project, &m) == 0;
}

int image_usable(struct registry *r, const struct auth_ctx *a, const char *id, struct reg_image *im,
                 struct api_error *e)
{
    int rc = api_is_uuid(id) ? r->ops->image_get(r, id, im) : 1;
    if (rc < 0)
        return reg_fail(e, r);
    if (rc == 1 || (!image_visible_to(a, im) && !image_shared_with(r, im, a->project_id)))
        return api_err(e, 400, "Image %.64s could not be found.", id);
    if (strcmp(im->status, "active") != 0)
        return api_err(e, 400, "Image %s is not active.", im->id);
    return 0;
}

int image_path(const struct api_config *cfg, const char *image_id, char *out, size_t outlen)
{
    if (!cfg->image_dir[0] || !api_is_uuid(image_id))
        return -1;
    int n = snprintf(out, outlen, "%s/%s", cfg->image_dir, image_id);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static int store_ready(const struct api_config *cfg, struct api_error *e)
{
    if (!cfg->image_dir[0])
        return api_err(e, 503, "The image store is not configured (\"images\": {\"dir\"}).");
    if (mkdir(cfg->image_dir, 0750) < 0 && errno != EEXIST)
        return api_err(e, 503, "The image store cannot be made: %s", strerror(errno));
    return 0;
}

static bool reserved_l(const char *image_id)
{
    vs_list_for_each(pos, &reservations) {
        if (!strcmp(vs_list_entry(pos, struct reservation, link)->image_id, image_id))
            return true;
    }
    return false;
}

/* Bytes the store holds and has promised (under quota_lock): the images'
 * sizes in the registry, but for those with a reservation, whose
 * reservations count instead. */
static int store_used_l(struct registry *r, int64_t *used, struct api_error *e)
{
    struct reg_image *list = NULL;
    size_t n = 0;
    if (r->ops->image_list(r, &list, &n) < 0)
        return reg_fail(e, r);
    *used = 0;
    for (size_t i = 0; i < n; i++)
        if (list[i].size > 0 && !reserved_l(list[i].id))
            *used += list[i].size;
    free(list);
    vs_list_for_each(pos, &reservations) {
        *used += vs_list_entry(pos, struct reservation, link)->bytes;
    }
    return 0;
}

static int quota_error(struct api_error *e, int64_t quota)
{
    return api_err(e, 413,
                   "Denying attempt to upload image because it exceeds the quota: the image "
                   "store holds at most %lld bytes.",
                   (long long)quota);
}

/* Reserves NEED more bytes for U (at least; up to WANT when there is
 * room): 413 when the quota has not NEED left. */
static int reserve(struct image_upload *u, int64_t need, int64_t want, struct api_error *e)
{
    int64_t quota = u->ctx->cfg->image_quota_bytes;
    pthread_mutex_lock(&quota_lock);
    int64_t used = 0;
    int rc = store_used_l(u->ctx->reg, &used, e);
    if (rc == 0) {
        int64_t room = quota > used ? quota - used : 0;
        if (room < need)
            rc = quota_error(e, quota);
        else
            u->res->bytes += want < room ? (want > need ? want : need) : room;
    }
    pthread_mutex_unlock(&quota_lock);
    return rc;
}

static void reservation_drop(struct reservation *res)
{
    if (!res)
        return;
    pthread_mutex_lock(&quota_lock);
    vs_list_remove(&res->link);
    pthread_mutex_unlock(&quota_lock);
    free(res);
}

void image_upload_settle(const char *image_id)
{
    pthread_mutex_lock(&quota_lock);
    vs_list_for_each_safe(pos, &reservations) {
        struct reservation *res = vs_list_entry(pos, struct reservation, link);
        if (res->finished && !strcmp(res->image_id, image_id)) {
            vs_list_remove(&res->link);
            free(res);
        }
    }
    pthread_mutex_unlock(&quota_lock);
}

struct image_upload *image_upload_begin(struct api_ctx *ctx, const char *image_id, int64_t length,
                                        struct api_error *e)
{
    const struct api_config *cfg = ctx->cfg;
    if (store_ready(cfg, e) < 0)
        return NULL;
    struct image_upload *u = calloc(1, sizeof *u);
    if (!u) {
        api_err(e, 500, "out of memory");
        return NULL;
    }
    u->ctx = ctx;
    u->fd = -1;
    if (image_path(cfg, image_id, u->final, sizeof u->final) < 0) {
        free(u);
        api_err(e, 400, "bad image id");
        return NULL;
    }
    if (cfg->image_quota_bytes > 0) {
        u->res = calloc(1, sizeof *u->res);
        if (!u->res) {
            free(u);
            api_err(e, 500, "out of memory");
            return NULL;
        }
        snprintf(u->res->image_id, sizeof u->res->image_id, "%s", image_id);
        pthread_mutex_lock(&quota_lock);
        vs_list_append(&reservations, &u->res->link);
        pthread_mutex_unlock(&quota_lock);
        /* a known length is reserved whole before a byte is written */
        if (length > 0 && reserve(u, length, length, e) < 0) {
            reservation_drop(u->res);
            free(u);
            return NULL;
        }
    }
    snprintf(u->part, sizeof u->part, "%s.part", u->final);
    u->fd = open(u->part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (u->fd < 0) {
        api_err(e, 503, "The image store cannot write %s: %s", image_id, strerror(errno));
        reservation_drop(u->res);
        free(u);
        return NULL;
    }
    if (gnutls_hash_init(&u->md5, GNUTLS_DIG_MD5) < 0 ||
        gnutls_hash_init(&u->sha512, GNUTLS_DIG_SHA512) < 0) {
        close(u->fd);
        unlink(u->part);
        reservation_drop(u->res);
        free(u);
        api_err(e, 500, "cannot start the image's checksums");
        return NULL;
    }
    return u;
}

int image_upload_write(struct image_upload *u, const void *data, size_t len, struct api_error *e)
{
    if (u->res) {
        int64_t need = u->written + (int64_t)len - u->res->bytes;
        if (need > 0 && reserve(u, need, RESERVE_STEP, e) < 0)
            return -1;
    }
    const char *p = data;
    size_t left = len;
    while (left) {
        ssize_t w = write(u->fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return api_err(e, errno == ENOSPC ? 413 : 500, "The image store cannot write: %s",
                           strerror(errno));
        p += w;
        left -= (size_t)w;
    }
    gnutls_hash(u->md5, data, len);
    gnutls_hash(u->sha512, data, len);
    u->written += (int64_t)len;
    return 0;
}

static void hex(const unsigned char *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

/* FINISHED: the data is the image's, and its reservation, cut to what
 * was written, stays until image_upload_settle; otherwise it goes. */
static void upload_free(struct image_upload *u, bool finished)
{
    unsigned char d[64];
    gnutls_hash_deinit(u->md5, d);
    gnutls_hash_deinit(u->sha512, d);
    if (u->fd >= 0)
        close(u->fd);
    if (!finished) {
        unlink(u->part);
        reservation_drop(u->res);
    } else if (u->res) {
        pthread_mutex_lock(&quota_lock);
        u->res->bytes = u->written;
        u->res->finished = true;
        pthread_mutex_unlock(&quota_lock);
    }
    free(u);
}

int image_upload_finish(struct image_upload *u, struct reg_image *im, struct api_error *e)
{
    unsigned char md5[16], sha[64];
    if (fsync(u->fd) < 0) {
        api_err(e, 500, "The image store cannot flush: %s", strerror(errno));
        image_upload_abort(u);
        return -1;
    }
    close(u->fd);
    u->fd = -1;
    if (rename(u->part, u->final) < 0) {
        api_err(e, 500, "The image store cannot keep the image: %s", strerror(errno));
        image_upload_abort(u);
        return -1;
    }
    gnutls_hash_output(u->md5, md5);
    gnutls_hash_output(u->sha512, sha);
    hex(md5, sizeof md5, im->checksum);
    hex(sha, sizeof sha, im->os_hash_value);
    snprintf(im->os_hash_algo, sizeof im->os_hash_algo, "sha512");
    im->size = u->written;
    upload_free(u, true);
    return 0;
}

void image_upload_abort(struct image_upload *u)
{
    if (u)
        upload_free(u, false);
}

int64_t image_upload_bytes(const struct image_upload *u)
{
    return u->written;
}

int image_data_open(const struct api_config *cfg, const char *image_id, int *fd, uint64_t *size,
                    struct api_error *e)
{
    char path[1100];
    if (image_path(cfg, image_id, path, sizeof path) < 0)
        return api_err(e, 404, "Image %.64s has no data.", image_id);
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (*fd < 0 || fstat(*fd, &st) < 0) {
        if (*fd >= 0)
            close(*fd);
        *fd = -1;
        return api_err(e, errno == ENOENT ? 404 : 500, "Image %.64s has no data: %s", image_id,
                       strerror(errno));
    }
    *size = (uint64_t)st.st_size;
    return 0;
}

void image_data_remove(const struct api_config *cfg, const char *image_id)
{
    char path[1100];
    if (image_path(cfg, image_id, path, sizeof path) == 0)
        unlink(path);
    image_upload_settle(image_id);
}

/* Copies LEN bytes of IN to OUT in a bounded buffer, handing each piece to
 * SINK when given (an upload that hashes and bounds it). */
static int copy_fd(int in, int out, uint64_t len, struct image_upload *sink, struct api_error *e)
{
    char *buf = malloc(COPY_BUF);
    if (!buf)
        return api_err(e, 500, "out of memory");
    uint64_t done = 0;
    int rc = 0;
    while (done < len) {
        size_t want = len - done < COPY_BUF ? (size_t)(len - done) : COPY_BUF;
        ssize_t n = pread(in, buf, want, (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = api_err(e, 500, "cannot read: %s", n < 0 ? strerror(errno) : "short file");
            break;
        }
        if (sink) {
            if (image_upload_write(sink, buf, (size_t)n, e) < 0) {
                rc = -1;
                break;
            }
        } else {
            for (ssize_t off = 0; off < n;) {
                ssize_t w = pwrite(out, buf + off, (size_t)(n - off), (off_t)done + off);
                if (w < 0 && errno == EINTR)
                    continue;
                if (w < 0) {
                    rc = api_err(e, 500, "cannot write: %s", strerror(errno));
                    goto out;
                }
                off += w;
            }
        }
        done += (uint64_t)n;
    }
out:
    free(buf);
    return rc;
}

int image_copy_to_path(const struct api_config *cfg, const char *image_id, const char *dst,
                       struct api_error *e)
{
    int in = -1;
    uint64_t size = 0;
    if (image_data_open(cfg, image_id, &in, &size, e) < 0)
        return -1;
    int out = open(dst, O_WRONLY | O_CLOEXEC);
    if (out < 0) {
        close(in);
        return api_err(e, 500, "cannot open the volume's storage: %s", strerror(errno));
    }
    int rc = copy_fd(in, out, size, NULL, e);
    if (rc == 0 && fsync(out) < 0)
        rc = api_err(e, 500, "cannot flush the volume's storage: %s", strerror(errno));
    close(in);
    close(out);
    return rc;
}

int image_import_path(struct api_ctx *ctx, const char *src, uint64_t len, struct reg_image *im,
                      struct api_error *e)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return api_err(e, 500, "cannot open the volume's storage: %s", strerror(errno));
    struct image_upload *u = image_upload_begin(ctx, im->id, (int64_t)len, e);
    if (!u) {
        close(in);
        return -1;
    }
    int rc = copy_fd(in, -1, len, u, e);
    close(in);
    if (rc < 0) {
        image_upload_abort(u);
        return -1;
    }
    return image_upload_finish(u, im, e);
}
