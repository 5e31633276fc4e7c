/* The Cinder block-storage subset under /v3/{project_id} (and /volume): its route table. */
#ifndef VOLSWAP_API_REST_VOLUME_H
#define VOLSWAP_API_REST_VOLUME_H

#include "rest/rest.h"

extern const struct api_route cinder_routes[];

/* ---- images.c: volumes from images, images of volumes ---- */
/* Image ID as a new volume of SIZE_GB may be filled from: 0 with IM, or
 * Cinder's 400 (unknown, not active, larger than the volume). */
int cinder_image_for_volume(struct api_request *rq, const char *image_id, int64_t size_gb,
                            struct reg_image *im);
/* Records V's volume_image_metadata and bootable flag, and starts writing
 * IM's bytes into V's storage; V (creating) becomes available when done,
 * error when the copy fails. */
int cinder_fill_from_image(struct api_request *rq, struct reg_volume *v,
                           const struct reg_image *im);
/* V's volume_image_metadata, or NULL when it was not made from an image. */
json_t *cinder_volume_image_metadata(struct api_request *rq, const struct reg_volume *v);
/* os-volume_upload_image (ARGS checked by schema_volume_upload_image). */
int cinder_upload_image(struct api_request *rq, json_t *args);
/* Starts again the copies between images and volumes that a stop of this
 * node cut short (at start, before the API answers): the number resumed,
 * or -1 on a registry error. */
int cinder_image_copies_resume(struct api_ctx *ctx);

/* ---- services.c: the cinder-volume service of each host ---- */
/* Whether HOST's service is disabled (1) or not (0), its reason into
 * REASON (may be NULL); -1 with E filled on a registry error. */
int cinder_service_disabled(struct registry *r, const char *host, char *reason, size_t len,
                            struct api_error *e);
int cinder_services(struct api_request *rq);
int cinder_services_update(struct api_request *rq);

#endif
