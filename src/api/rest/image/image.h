/* The Glance v2 image service under /image: its route tables (images.c
 * and data.c, members.c, metadefs.c), the JSON-patch body parser of its
 * PATCH (patch.c) and the checks of metadata definitions' bodies
 * (metadef-body.c). */
#ifndef VOLSWAP_API_REST_IMAGE_H
#define VOLSWAP_API_REST_IMAGE_H

#include "rest/rest.h"

extern const struct api_route glance_routes[];
extern const struct api_route glance_member_routes[];
extern const struct api_route glance_metadef_routes[];

/* ---- patch.c ---- */
enum image_patch_kind { IMAGE_PATCH_ADD, IMAGE_PATCH_REPLACE, IMAGE_PATCH_REMOVE };
struct image_patch_op {
    enum image_patch_kind kind;
    char attr[256]; /* the one attribute the path names, decoded */
    json_t *value;  /* borrowed from the document; NULL for remove */
};
/* The most operations one PATCH may carry. */
#define IMAGE_PATCH_MAX 64
/* Parses BODY into at most MAX operations (*N of OPS). Returns the
 * document OPS borrow from (json_decref it), or NULL and a 400 in E. */
json_t *image_patch_parse(const char *body, size_t len, struct image_patch_op *ops, size_t max,
                          size_t *n, struct api_error *e);

/* ---- metadef-body.c ---- */
enum metadef_kind {
    METADEF_NAMESPACE,
    METADEF_OBJECT,
    METADEF_PROPERTY,
    METADEF_TAG,
    METADEF_TAGS, /* {"tags": [{"name": ...}, ...]} */
    METADEF_ASSOCIATION,
    /* a namespace's update: what it holds, which clients send back as
     * they read it, is dropped unchecked (an update changes only the
     * namespace's own attributes, as Glance's) */
    METADEF_NAMESPACE_UPDATE,
};
/* BODY (LEN bytes) checked as a definition of KIND as Glance's schemas
 * have it: the document (new reference), or NULL and a 400 (403 for a
 * read-only attribute) in E. */
json_t *metadef_body_parse(enum metadef_kind kind, const char *body, size_t len,
                           struct api_error *e);

/* ---- images.c, shared with data.c ---- */
/* Loads image ID as the caller may see it (404 otherwise). */
int glance_load(struct api_request *rq, const char *id, struct reg_image *im);
/* Whether the caller may change it (owner or admin). */
bool glance_owns(struct api_request *rq, const struct reg_image *im);
/* Sets IM's status (and updated_at) in one transaction; 1 when gone. */
int glance_store(struct api_request *rq, struct reg_image *im);
/* ---- members.c, shared with images.c and metadefs.c ---- */
/* pending, accepted or rejected */
bool glance_member_status_valid(const char *s);
/* The request's body as a JSON object nested at most MAX_DEPTH deep
 * (Glance's bodies have no root key), or NULL and a 400. */
json_t *glance_body(struct api_request *rq, int max_depth);
/* The upload and download routes (data.c). */
int glance_upload_open(struct api_request *rq);
int glance_upload_done(struct api_request *rq);
int glance_download(struct api_request *rq);
/* At start, before the API answers: the images whose upload to this node a
 * stop cut short are queued again, their partial data removed. Returns how
 * many, or -1 on a registry error. */
int glance_uploads_recover(struct api_ctx *ctx);

#endif
