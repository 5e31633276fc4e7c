/* Cinder's volumes and images: a volume created from an image (imageRef)
 * gets the image's bytes, and os-volume_upload_image makes a new image of
 * a volume's bytes. Both copies run on a thread of their own after the
 * reply (the volume stays creating, or uploading, until it is done), and
 * read and write the volume's storage in its pool (a new volume is not yet
 * exported; an uploading one is detached) and the image store's file,
 * through a bounded buffer. A volume made from an image is bootable and
 * shows volume_image_metadata (the image's id, name, formats, sizes,
 * checksum and custom properties), as Cinder's does.
 *
 * Each copy is recorded under this node's name in the registry (an
 * image-copy item) from before its thread starts until it ends, so a copy
 * that a stop of volswap-api cut short is started again at the next start
 * (cinder_image_copies_resume), from the beginning: the volume is still
 * creating or uploading, the image still saving. */
#include "volume.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct image_copy {
    struct api_ctx *ctx;
    char volume_id[37], image_id[37], path[1024];
    uint64_t bytes;
};

static void copy_log_error(const char *what, const char *id, const struct api_error *e)
{
    vs_log(VS_LOG_ERROR, "%s %s: %s", what, id, e->msg);
}

/* The copy's record: written before its thread starts, gone when it ends. */
static int copy_record(struct api_ctx *ctx, const char *volume_id, const char *what,
                       const char *image_id)
{
    struct reg_meta m;
    snprintf(m.key, sizeof m.key, "%s", volume_id);
    snprintf(m.value, sizeof m.value, "%s %s", what, image_id);
    return ctx->reg->ops->meta_put(ctx->reg, REG_META_IMAGE_COPY, ctx->cfg->node, &m);
}

static void copy_done(struct image_copy *c)
{
    if (c->ctx->reg->ops->meta_delete(c->ctx->reg, REG_META_IMAGE_COPY, c->ctx->cfg->node,
                                      c->volume_id) < 0)
        vs_log(VS_LOG_ERROR, "image copy of volume %s: its record stays: %s", c->volume_id,
               c->ctx->reg->ops->last_error(c->ctx->reg));
    free(c);
}

static void *fill_volume(void *arg)
{
    struct image_copy *c = arg;
    struct api_error e = { 0 };
    struct registry *r = c->ctx->reg;
    struct reg_volume v;
    if (image_copy_to_path(c->ctx->cfg, c->image_id, c->path, &e) < 0) {
        copy_log_error("volume from image", c->volume_id, &e);
        vol_transition_apply(r, c->volume_id, VT_ERROR, false, &v, &e);
    } else if (vol_transition_apply(r, c->volume_id, VT_CREATED, false, &v, &e) < 0) {
        copy_log_error("volume from image", c->volume_id, &e);
    }
    copy_done(c);
    return NULL;
}

static void *upload_volume(void *arg)
{
    struct image_copy *c = arg;
    struct api_error e = { 0 };
    struct registry *r = c->ctx->reg;
    struct reg_image im;
    struct reg_volume v;
    bool ok = false;
    if (r->ops->image_get(r, c->image_id, &im) == 0) {
        snprintf(im.status, sizeof im.status, "saving");
        api_time_z(time(NULL), im.updated_at);
        r->ops->image_update(r, &im);
        if (image_import_path(c->ctx, c->path, c->bytes, &im, &e) == 0) {
            snprintf(im.status, sizeof im.status, "active");
            ok = true;
        } else {
            snprintf(im.status, sizeof im.status, "killed");
            copy_log_error("upload of volume", c->volume_id, &e);
        }
        api_time_z(time(NULL), im.updated_at);
        if (r->ops->image_update(r, &im) == 1 && ok) /* deleted meanwhile */
            image_data_remove(c->ctx->cfg, im.id);
        image_upload_settle(im.id);
    }
    if (vol_transition_apply(r, c->volume_id, VT_FINISH_UPLOAD, false, &v, &e) < 0)
        copy_log_error("upload of volume", c->volume_id, &e);
    copy_done(c);
    return NULL;
}

static int start_copy_ctx(struct api_ctx *ctx, struct api_error *e, void *(*fn)(void *),
                          const char *volume_id, const char *image_id, const char *path,
                          uint64_t bytes)
{
    struct image_copy *c = calloc(1, sizeof *c);
    if (!c)
        return api_err(e, 500, "out of memory");
    if (copy_record(ctx, volume_id, fn == fill_volume ? "fill" : "upload", image_id) < 0) {
        free(c);
        return reg_fail(e, ctx->reg);
    }
    c->ctx = ctx;
    snprintf(c->volume_id, sizeof c->volume_id, "%s", volume_id);
    snprintf(c->image_id, sizeof c->image_id, "%s", image_id);
    snprintf(c->path, sizeof c->path, "%s", path);
    c->bytes = bytes;
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &attr, fn, c);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        copy_done(c);
        return api_err(e, 500, "cannot start the copy: %s", strerror(rc));
    }
    return 0;
}

static int start_copy(struct api_request *rq, void *(*fn)(void *), const char *volume_id,
                      const char *image_id, const char *path, uint64_t bytes)
{
    return start_copy_ctx(rq->ctx, &rq->err, fn, volume_id, image_id, path, bytes);
}

int cinder_image_copies_resume(struct api_ctx *ctx)
{
    struct registry *r = ctx->reg;
    struct reg_meta *m = NULL;
    size_t n = 0;
    if (r->ops->meta_list(r, REG_META_IMAGE_COPY, ctx->cfg->node, &m, &n) < 0)
        return -1;
    int resumed = 0;
    for (size_t i = 0; i < n; i++) {
        char what[16] = "", image_id[64] = "";
        if (sscanf(m[i].value, "%15s %63s", what, image_id) != 2)
            continue; /* an upload's ("put"), glance_uploads_recover's */
        struct reg_volume v;
        struct reg_image im;
        struct api_error e = { 0 };
        bool fill = !strcmp(what, "fill");
        bool go = r->ops->volume_get(r, m[i].key, &v) == 0 &&
                  !strcmp(v.status, fill ? "creating" : "uploading") &&
                  r->ops->image_get(r, image_id, &im) == 0;
        if (!go) { /* it ended, or its volume or image went: nothing to do */
            r->ops->meta_delete(r, REG_META_IMAGE_COPY, ctx->cfg->node, m[i].key);
            continue;
        }
        vs_info("%s of volume %s and image %s was cut short by a stop: starting it again",
                fill ? "the copy" : "the upload", v.id, im.id);
        if (start_copy_ctx(ctx, &e, fill ? fill_volume : upload_volume, v.id, im.id, v.path,
                           fill ? 0 : (uint64_t)v.size_gb << 30) < 0)
            copy_log_error("resuming the image copy of volume", v.id, &e);
        else
            resumed++;
    }
    free(m);
    return resumed;
}

int cinder_image_for_volume(struct api_request *rq, const char *image_id, int64_t size_gb,
                            struct reg_image *im)
{
    if (image_usable(rq->ctx->reg, &rq->auth, image_id, im, &rq->err) < 0)
        return -1;
    int64_t gib = (int64_t)1 << 30;
    if (im->size > size_gb * gib)
        return api_err(&rq->err, 400,
                       "Invalid input received: Size of specified image %lld GiB is larger than "
                       "volume size %lld GiB.",
                       (long long)((im->size + gib - 1) / gib), (long long)size_gb);
    if (im->min_disk > size_gb)
        return api_err(&rq->err, 400,
                       "Invalid input received: Volume size %lld GiB cannot be smaller than the "
                       "image minDisk size %lld GiB.",
                       (long long)size_gb, (long long)im->min_disk);
    return 0;
}

int cinder_fill_from_image(struct api_request *rq, struct reg_volume *v, const struct reg_image *im)
{
    struct registry *r = rq->ctx->reg;
    {
        REG_TXN(txn, r);
        if (reg_begin(&txn, &rq->err) < 0)
            return -1;
        struct reg_meta m;
        char num[32];
#define PUT(k, val)                                                    \
    do {                                                               \
        snprintf(m.key, sizeof m.key, "%s", k);                        \
        snprintf(m.value, sizeof m.value, "%s", val);                  \
        if (r->ops->meta_put(r, REG_META_VOLUME_IMAGE, v->id, &m) < 0) \
            return reg_fail(&rq->err, r);                              \
    } while (0)
        struct reg_meta *props = NULL;
        size_t n = 0;
        if (r->ops->meta_list(r, REG_META_IMAGE, im->id, &props, &n) < 0)
            return reg_fail(&rq->err, r);
        for (size_t i = 0; i < n; i++) {
            snprintf(m.key, sizeof m.key, "%s", props[i].key);
            snprintf(m.value, sizeof m.value, "%s", props[i].value);
            if (r->ops->meta_put(r, REG_META_VOLUME_IMAGE, v->id, &m) < 0) {
                free(props);
                return reg_fail(&rq->err, r);
            }
        }
        free(props);
        PUT("image_id", im->id);
        PUT("image_name", im->name);
        PUT("checksum", im->checksum);
        PUT("container_format", im->container_format);
        PUT("disk_format", im->disk_format);
        snprintf(num, sizeof num, "%lld", (long long)im->size);
        PUT("size", num);
        snprintf(num, sizeof num, "%lld", (long long)im->min_disk);
        PUT("min_disk", num);
        snprintf(num, sizeof num, "%lld", (long long)im->min_ram);
        PUT("min_ram", num);
#undef PUT
        struct reg_volume cur;
        if (r->ops->volume_get(r, v->id, &cur) != 0)
            return reg_fail(&rq->err, r);
        cur.bootable = true;
        if (r->ops->volume_update(r, &cur) < 0)
            return reg_fail(&rq->err, r);
        if (reg_commit(&txn, &rq->err) < 0)
            return -1;
        v->bootable = true;
    }
    return start_copy(rq, fill_volume, v->id, im->id, v->path, 0);
}

json_t *cinder_volume_image_metadata(struct api_request *rq, const struct reg_volume *v)
{
    struct registry *r = rq->ctx->reg;
    struct reg_meta *m = NULL;
    size_t n = 0;
    if (r->ops->meta_list(r, REG_META_VOLUME_IMAGE, v->id, &m, &n) < 0 || n == 0) {
        free(m);
        return NULL;
    }
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++)
        json_object_set_new(o, m[i].key, json_string(m[i].value));
    free(m);
    return o;
}

int cinder_upload_image(struct api_request *rq, json_t *args)
{
    struct reg_volume v;
    if (cinder_load_volume(rq, api_param(rq, "volume_id"), &v) < 0 ||
        policy_check(&rq->auth, "volume_extension:volume_actions:upload_image", v.project_id,
                     &rq->err) < 0)
        return -1;
    const char *name = json_string_value(json_object_get(args, "image_name"));
    const char *disk = json_string_value(json_object_get(args, "disk_format"));
    const char *container = json_string_value(json_object_get(args, "container_format"));
    const char *vis = json_string_value(json_object_get(args, "visibility"));
    json_t *prot = json_object_get(args, "protected");
    if (!disk)
        disk = "raw";
    if (!container)
        container = "bare";
    if (!vis)
        vis = "private";
    if (strcmp(disk, "raw") != 0)
        return api_err(&rq->err, 400,
                       "Invalid input received: volswap uploads volumes as raw images "
                       "(disk_format %.32s).",
                       disk);
    if (strcmp(vis, "public") && strcmp(vis, "private") && strcmp(vis, "shared") &&
        strcmp(vis, "community"))
        return api_err(&rq->err, 400, "Invalid input received: visibility %.32s.", vis);
    if (!strcmp(vis, "public") && !auth_has_role(&rq->auth, "admin"))
        return api_err(&rq->err, 403,
                       "Policy doesn't allow volume_extension:volume_actions:upload_public to be "
                       "performed.");
    if (!rq->ctx->cfg->image_dir[0])
        return api_err(&rq->err, 503, "The image store is not configured.");
    struct reg_image im = { .size = -1, .virtual_size = -1 };
    api_uuid(im.id);
    snprintf(im.owner, sizeof im.owner, "%s", v.project_id);
    snprintf(im.name, sizeof im.name, "%s", name);
    snprintf(im.status, sizeof im.status, "queued");
    snprintf(im.visibility, sizeof im.visibility, "%s", vis);
    snprintf(im.disk_format, sizeof im.disk_format, "%s", disk);
    snprintf(im.container_format, sizeof im.container_format, "%s", container);
    im.protected_ = prot && body_bool(prot);
    api_time_z(time(NULL), im.created_at);
    memcpy(im.updated_at, im.created_at, sizeof im.updated_at);
    struct registry *r = rq->ctx->reg;
    {
        REG_TXN(txn, r);
        if (reg_begin(&txn, &rq->err) < 0 ||
            vol_transition_apply(r, v.id, VT_BEGIN_UPLOAD, false, &v, &rq->err) < 0)
            return -1;
        if (r->ops->image_insert(r, &im) < 0)
            return reg_fail(&rq->err, r);
        if (reg_commit(&txn, &rq->err) < 0)
            return -1;
    }
    if (start_copy(rq, upload_volume, v.id, im.id, v.path, (uint64_t)v.size_gb << 30) < 0) {
        struct api_error keep = rq->err;
        vol_transition_apply(r, v.id, VT_FINISH_UPLOAD, false, &v, &rq->err);
        rq->err = keep;
        return -1;
    }
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:b, s:s, s:n, s:s}", "id", v.id, "updated_at",
        v.updated_at, "status", "uploading", "display_description", v.description, "image_id",
        im.id, "container_format", container, "disk_format", disk, "size", (json_int_t)v.size_gb,
        "protected", im.protected_, "visibility", vis, "volume_type", "image_name", im.name);
    return api_reply(rq, 202, json_pack("{s:o}", "os-volume_upload_image", o));
}
