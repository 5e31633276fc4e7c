/* The domain of volswap-api: who the caller is (auth.c: passwords, tokens),
 * what they may do (policy.c), the volume state table every status change
 * goes through (volume-state.c), instance actions and their events, and the
 * service context every handler and the swap worker share. Nothing here
 * speaks HTTP. */
#ifndef VOLSWAP_API_DOMAIN_H
#define VOLSWAP_API_DOMAIN_H

#include "base/base.h"
#include "config/config.h"
#include "hosts/hosts.h"
#include "registry/registry.h"

/* Everything a handler or the swap worker may use that lives as long as
 * the service. Read-only once the service runs. */
struct api_ctx {
    struct api_config *cfg;
    struct registry *reg;
    struct auth_store *auth;
    char base_url[300];
};

/* ---- fernet.c: Keystone's Fernet tokens and key repository ---- */
#define FERNET_MAX_KEYS    16
#define FERNET_MAX_PAYLOAD 240 /* bytes before encryption */
#define FERNET_MAX_TOKEN   420 /* characters: the longest such payload's token */
/* The keys of a repository, the primary first (index: its file's number). */
struct fernet_keys {
    unsigned char key[FERNET_MAX_KEYS][32];
    int index[FERNET_MAX_KEYS];
    size_t n;
};
int fernet_keys_load(const char *dir, struct fernet_keys *k, struct api_error *e);
/* keystone-manage fernet_rotate (and fernet_setup on an empty DIR): the
 * staged key becomes the primary, a new staged key is made, and keys
 * beyond MAX_ACTIVE (the oldest secondaries) are removed. */
int fernet_rotate(const char *dir, int max_active, char *report, size_t reportlen,
                  struct api_error *e);
/* MSG (at most FERNET_MAX_PAYLOAD bytes) as a token under the primary key,
 * issued at NOW. */
int fernet_encrypt(const struct fernet_keys *k, const void *msg, size_t len, time_t now, char *out,
                   size_t outlen);
/* TOKEN (untrusted) checked and opened with any key: 0 with the payload in
 * OUT (FERNET_MAX_PAYLOAD bytes at least), its length and issue time; -1
 * for anything else. */
int fernet_decrypt(const struct fernet_keys *k, const char *token, void *out, size_t *outlen,
                   time_t *issued);

/* ---- auth.c ---- */
/* Room for any token volswap-api issues, with its terminating NUL. */
#define AUTH_TOKEN_MAX (FERNET_MAX_TOKEN + 1)
struct auth_ctx {
    bool authenticated;
    bool is_admin_token;
    char user_id[33], user_name[65];
    char project_id[33], project_name[65];
    char roles[AUTH_MAX_ROLES][33];
    size_t n_roles;
    time_t expires;
    /* Keystone's token attributes, fixed when the token is issued: its
     * audit id and, for a token re-scoped from another, the audit id of
     * the chain's first token; the methods that proved who the user is;
     * when it was issued. */
    char audit_ids[2][23];
    size_t n_audit_ids;
    bool by_token; /* methods ["token", "password"], else ["password"] */
    time_t issued;
};
int auth_hash_password(const char *password, char *out, size_t outlen);
bool auth_check_password(const char *password, const char *stored);
struct auth_store;
/* reg may be NULL: tokens then live in memory only (a restart loses them). */
struct auth_store *auth_store_new(const struct api_config *cfg, struct registry *reg);
void auth_store_free(struct auth_store *s);
/* Password login: fills CTX and a new token id. */
int auth_login(struct auth_store *s, const char *user, const char *user_domain,
               const char *password, const char *project, const char *project_id,
               const char *project_domain, struct auth_ctx *ctx, char token[AUTH_TOKEN_MAX],
               struct api_error *e);
/* Keystone's token method: a new token for the user of PARENT (a token
 * from auth_login or auth_rescope, not an admin token), scoped to the
 * project named or unscoped, expiring with PARENT and carrying its audit
 * chain. */
int auth_rescope(struct auth_store *s, const char *parent, const char *project,
                 const char *project_id, const char *project_domain, struct auth_ctx *ctx,
                 char token[AUTH_TOKEN_MAX], struct api_error *e);
/* Validates a token (admin tokens included). Returns 0 and fills CTX, or -1
 * with a 401. */
int auth_validate(struct auth_store *s, const char *token, struct auth_ctx *ctx,
                  struct api_error *e);
void auth_revoke(struct auth_store *s, const char *token);
bool auth_has_role(const struct auth_ctx *ctx, const char *role);

/* ---- policy.c ---- */
/* Checks RULE (Nova/Cinder policy name) for CTX against a resource owned by
 * TARGET_PROJECT (NULL for collection-level checks). -1 with 403 + Nova's
 * message when denied. */
int policy_check(const struct auth_ctx *ctx, const char *rule, const char *target_project,
                 struct api_error *e);

/* ---- volume-state.c ---- */
enum vol_transition {
    VT_RESERVE,
    VT_UNRESERVE,
    VT_ATTACH,
    VT_BEGIN_DETACHING,
    VT_ROLL_DETACHING,
    VT_DETACH,
    VT_BEGIN_DELETE,
    VT_BEGIN_EXTEND,
    VT_FINISH_EXTEND,
    VT_ERROR_EXTENDING,
    VT_CREATED,
    VT_ERROR,
    VT_MIGRATION_START,
    VT_MIGRATION_MIGRATING,
    VT_MIGRATION_COMPLETING,
    VT_MIGRATION_SUCCESS,
    VT_MIGRATION_ERROR,
    VT_BEGIN_UPLOAD,  /* os-volume_upload_image: available -> uploading */
    VT_FINISH_UPLOAD, /* uploading -> available, whether the image came or not */
    VT__COUNT
};
const char *vol_transition_name(enum vol_transition t);
/* Checks whether T applies to V; if so updates V's status fields in memory
 * and returns 0, else -1 with Cinder's 400 "Invalid volume: ..." message. */
int vol_transition_check(struct reg_volume *v, enum vol_transition t, bool in_use_extend,
                         struct api_error *e);
/* Applies T atomically in the registry (read, check, write in one
 * transaction). V receives the updated record when not NULL. */
int vol_transition_apply(struct registry *r, const char *volume_id, enum vol_transition t,
                         bool in_use_extend, struct reg_volume *v, struct api_error *e);

/* ---- instance-actions.c ---- */
int instance_action_start(struct registry *r, const char *request_id, const char *server_id,
                          const char *action, const char *project_id, const char *user_id,
                          struct reg_action *out);
/* Records EVENT (started at START_TIME, finished now) of action A. */
int instance_action_event(struct registry *r, struct reg_action *a, const char *event,
                          const char *host, const char *start_time, bool ok, const char *details);

/* ---- volumes.c ---- */
/* Cinder's delete of an available volume: its storage on the pool, then its
 * record; a pool that cannot remove it leaves the volume in error_deleting. */
int volume_destroy(struct api_ctx *ctx, const char *volume_id, struct api_error *e);
/* Cinder's force delete (os-force_delete, admin): the same end for a
 * volume in any status, unless it is attached (attach_status or an
 * attachment record), migrating, or one side of an unfinished swap. */
int volume_force_destroy(struct api_ctx *ctx, const char *volume_id, struct api_error *e);

/* ---- images.c: the image store (the image service's bytes) ---- */
/* Glance's visibility: whether caller A may use image IM (its project's,
 * public or community, or A is an administrator), and whether A may change
 * it (its project's, or an administrator). */
bool image_visible_to(const struct auth_ctx *a, const struct reg_image *im);
bool image_owned_by(const struct auth_ctx *a, const struct reg_image *im);
/* Whether shared image IM has PROJECT among its members (whatever the
 * member made of it: a member may use the image, its status only decides
 * whether the image shows in the member's lists). */
bool image_shared_with(struct registry *r, const struct reg_image *im, const char *project);
/* Image ID for a caller that boots or fills a volume from it (its own,
 * public, community or shared with its project): 0 with IM, or a 400 in Nova's and Cinder's words (unknown or invisible: "Image X
 * could not be found.", not active). */
int image_usable(struct registry *r, const struct auth_ctx *a, const char *id, struct reg_image *im,
                 struct api_error *e);
/* The file of IMAGE_ID's data in the store: 0, or -1 (no store, bad id). */
int image_path(const struct api_config *cfg, const char *image_id, char *out, size_t outlen);
/* An upload of IMAGE_ID's data, streamed to a temporary file of the store
 * and hashed on the way, bounded by the store's quota (413 past it) with
 * whatever other uploads run: LENGTH bytes (when known, > 0) are reserved
 * before it starts, an unknown length as it goes. */
struct image_upload;
struct image_upload *image_upload_begin(struct api_ctx *ctx, const char *image_id, int64_t length,
                                        struct api_error *e);
int image_upload_write(struct image_upload *u, const void *data, size_t len, struct api_error *e);
int64_t image_upload_bytes(const struct image_upload *u);
/* Makes the data the image's (flushed, renamed into place) and fills IM's
 * size, checksum, os_hash_algo and os_hash_value; frees U either way. The
 * bytes stay reserved until image_upload_settle, which the caller calls
 * once the image's record has its size (or is gone). */
int image_upload_finish(struct image_upload *u, struct reg_image *im, struct api_error *e);
void image_upload_settle(const char *image_id);
/* Drops what was written; frees U (NULL: nothing). */
void image_upload_abort(struct image_upload *u);
/* IMAGE_ID's data for reading (404 when it has none). */
int image_data_open(const struct api_config *cfg, const char *image_id, int *fd, uint64_t *size,
                    struct api_error *e);
void image_data_remove(const struct api_config *cfg, const char *image_id);
/* The image's data written at the start of the existing file or device
 * DST (a new volume's storage). */
int image_copy_to_path(const struct api_config *cfg, const char *image_id, const char *dst,
                       struct api_error *e);
/* LEN bytes of SRC (a volume's storage) as the data of image IM, as an
 * upload (quota, checksums); fills IM like image_upload_finish (settle
 * it the same way). */
int image_import_path(struct api_ctx *ctx, const char *src, uint64_t len, struct reg_image *im,
                      struct api_error *e);

#endif
