/* An image's data: the upload (PUT /v2/images/{id}/file), streamed from
 * the HTTP connection into the image store as it arrives, and the download
 * (GET), streamed from the store's file. The upload opens at the request's
 * headers (the router's door passed, the image queued and the caller its
 * owner): the image goes to saving, each piece of the body is written and
 * hashed, and at the end the image is active with its size and checksums.
 * A client gone mid-upload, a quota or store error puts it back to queued
 * (the data is dropped); a store that cannot keep what it wrote kills it.
 * Runs on the HTTP worker of the request. An upload is recorded under this
 * node's name while it runs (an image-copy item, "put"): one that a stop
 * of volswap-api cut short finds its image queued again at the next start
 * (glance_uploads_recover), its partial data gone, as after a client that
 * went away. */
#include "image.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct upload_state {
    struct image_upload *up;
    char image_id[37];
    bool recorded; /* its image-copy item is written */
};

static void put_record(struct api_ctx *ctx, const char *image_id, bool on)
{
    struct registry *r = ctx->reg;
    struct reg_meta m = { .value = "put" };
    snprintf(m.key, sizeof m.key, "%s", image_id);
    int rc = on ? r->ops->meta_put(r, REG_META_IMAGE_COPY, ctx->cfg->node, &m)
                : r->ops->meta_delete(r, REG_META_IMAGE_COPY, ctx->cfg->node, image_id);
    if (rc < 0)
        vs_log(VS_LOG_ERROR, "upload of image %s: its record: %s", image_id, r->ops->last_error(r));
}

int glance_uploads_recover(struct api_ctx *ctx)
{
    struct registry *r = ctx->reg;
    struct reg_meta *m = NULL;
    size_t n = 0;
    if (r->ops->meta_list(r, REG_META_IMAGE_COPY, ctx->cfg->node, &m, &n) < 0)
        return -1;
    int settled = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(m[i].value, "put") != 0)
            continue;
        struct reg_image im;
        char part[1200];
        if (image_path(ctx->cfg, m[i].key, part, sizeof part - 5) == 0) {
            strcat(part, ".part");
            unlink(part);
        }
        if (r->ops->image_get(r, m[i].key, &im) == 0 && !strcmp(im.status, "saving")) {
            snprintf(im.status, sizeof im.status, "queued");
            api_time_z(time(NULL), im.updated_at);
            if (r->ops->image_update(r, &im) < 0)
                vs_log(VS_LOG_ERROR, "image %s: %s", im.id, r->ops->last_error(r));
            else
                vs_info("the upload of image %s was cut short by a stop: queued again", im.id);
            settled++;
        }
        r->ops->meta_delete(r, REG_META_IMAGE_COPY, ctx->cfg->node, m[i].key);
    }
    free(m);
    return settled;
}

static void back_to(struct api_request *rq, const char *image_id, const char *status)
{
    struct reg_image im;
    struct registry *r = rq->ctx->reg;
    if (r->ops->image_get(r, image_id, &im) != 0 || strcmp(im.status, "saving") != 0)
        return;
    snprintf(im.status, sizeof im.status, "%s", status);
    struct api_error keep = rq->err;
    glance_store(rq, &im);
    rq->err = keep;
}

static int upload_write(struct api_request *rq, const char *data, size_t len)
{
    struct upload_state *st = rq->stream_opaque;
    return image_upload_write(st->up, data, len, &rq->err);
}

static void upload_close(struct api_request *rq)
{
    struct upload_state *st = rq->stream_opaque;
    if (!st)
        return;
    /* never finished (the client went, or an error ended it): the data is
     * dropped and a saving image is queued again */
    image_upload_abort(st->up);
    back_to(rq, st->image_id, "queued");
    if (st->recorded)
        put_record(rq->ctx, st->image_id, false);
    free(st);
    rq->stream_opaque = NULL;
}

int glance_upload_open(struct api_request *rq)
{
    const char *ct = api_header(rq, "Content-Type");
    if (ct && strncmp(ct, "application/octet-stream", 24) != 0)
        return api_err(&rq->err, 415, "Unsupported Content-Type: %.64s", ct);
    struct reg_image im;
    if (glance_load(rq, api_param(rq, "image_id"), &im) < 0)
        return -1;
    if (!glance_owns(rq, &im))
        return api_err(&rq->err, 403, "You are not permitted to upload data for this image.");
    if (strcmp(im.status, "queued") != 0)
        return api_err(&rq->err, 409, "Image status transition from %s to saving is not allowed",
                       im.status);
    struct upload_state *st = calloc(1, sizeof *st);
    if (!st)
        return api_err(&rq->err, 500, "out of memory");
    snprintf(st->image_id, sizeof st->image_id, "%s", im.id);
    put_record(rq->ctx, im.id, true);
    st->recorded = true;
    snprintf(im.status, sizeof im.status, "saving");
    int rc = glance_store(rq, &im);
    if (rc != 0) {
        put_record(rq->ctx, st->image_id, false);
        free(st);
        return rc < 0 ? -1 : api_err(&rq->err, 404, "No image found with ID %s", im.id);
    }
    const char *cl = api_header(rq, "Content-Length");
    int64_t length = cl ? strtoll(cl, NULL, 10) : -1;
    st->up = image_upload_begin(rq->ctx, im.id, length, &rq->err);
    rq->stream_opaque = st;
    rq->stream_close = upload_close;
    if (!st->up)
        return -1; /* upload_close puts the image back to queued */
    rq->stream_write = upload_write;
    return 0;
}

int glance_upload_done(struct api_request *rq)
{
    struct upload_state *st = rq->stream_opaque;
    struct reg_image im;
    struct registry *r = rq->ctx->reg;
    int g = r->ops->image_get(r, st->image_id, &im);
    if (g < 0)
        return reg_fail(&rq->err, r);
    if (g == 1 || strcmp(im.status, "saving") != 0) {
        /* deleted (or changed) while its data arrived */
        image_upload_abort(st->up);
        st->up = NULL;
        return api_err(&rq->err, 410, "Image %s was deleted during the upload.", st->image_id);
    }
    struct image_upload *up = st->up;
    st->up = NULL;
    if (image_upload_finish(up, &im, &rq->err) < 0) {
        back_to(rq, st->image_id, "killed");
        return -1;
    }
    snprintf(im.status, sizeof im.status, "active");
    int rc = glance_store(rq, &im);
    /* the record has the size now (or the image is gone): the quota
     * counts it from there */
    image_upload_settle(im.id);
    if (rc < 0) {
        image_data_remove(rq->ctx->cfg, im.id);
        back_to(rq, im.id, "killed");
        return -1;
    }
    if (rc == 1) {
        image_data_remove(rq->ctx->cfg, im.id);
        return api_err(&rq->err, 410, "Image %s was deleted during the upload.", im.id);
    }
    return api_reply(rq, 204, NULL);
}

int glance_download(struct api_request *rq)
{
    struct reg_image im;
    if (glance_load(rq, api_param(rq, "image_id"), &im) < 0)
        return -1;
    if (!strcmp(im.status, "deactivated") && !auth_has_role(&rq->auth, "admin"))
        return api_err(&rq->err, 403,
                       "The requested image has been deactivated. Image data "
                       "download is forbidden.");
    if (strcmp(im.status, "active") != 0 && strcmp(im.status, "deactivated") != 0)
        return api_reply(rq, 204, NULL);
    int fd = -1;
    uint64_t size = 0;
    if (image_data_open(rq->ctx->cfg, im.id, &fd, &size, &rq->err) < 0)
        return -1;
    return api_reply_file(rq, 200, fd, size, im.checksum);
}
