/* The registry interface: every record volswap-api keeps (hosts, servers,
 * volumes, attachments, instance actions and their events, tokens, metadata
 * and the swap records) goes through this table of function pointers, in
 * domain terms and never SQL, so that a PostgreSQL backend is one more file
 * implementing the same ops. Records are plain structs with fixed-size
 * strings (bounded by the API's own input caps), which keeps ownership
 * trivial. All calls are thread-safe. Every call returns 0 on success, 1 for
 * "not found" where noted, -1 on a storage error whose message last_error
 * gives (and whose kind last_error_kind gives) on the calling thread.
 *
 * Transactions: begin/commit/rollback wrap several calls of one thread into
 * one transaction; other threads' writes wait until it ends, their reads
 * see the state before it. Callers do not
 * use them directly but through the scope guard below (REG_TXN), which
 * rolls back whatever was not committed when the scope is left. A begin
 * inside a transaction of the same thread opens a nested scope: its
 * rollback undoes only its own writes, its commit hands them to the outer
 * transaction, which alone makes them durable. When the backend had to give
 * up the whole transaction (SQLite does on a full disk), every later call in
 * it fails with that first error and the outermost commit fails too, so
 * nothing is ever half applied. */
#ifndef VOLSWAP_API_REGISTRY_H
#define VOLSWAP_API_REGISTRY_H

#include "base/base.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

struct reg_host {
    char name[65], driver[16], qmp[1024], nbd[1100];
};

struct reg_server {
    char id[37], name[API_NAME_BYTES], project_id[33], user_id[33], host[65];
    char status[16], vm_state[16], task_state[32];
    bool locked;
    char created_at[32], updated_at[32];
};

struct reg_volume {
    char id[37], project_id[33], user_id[33], name[API_NAME_BYTES], description[API_NAME_BYTES];
    int64_t size_gb;
    char host[65], pool[65], path[1024];
    char status[24], attach_status[24], migration_status[24]; /* "" = null */
    /* Cinder's bootable flag, and its "readonly" admin metadata: -1 never
     * set (a view shows no key), 0 False, 1 True; a read-only volume is
     * exported read-only to every new attachment. */
    bool bootable;
    int readonly;
    char created_at[32], updated_at[32];
};

struct reg_attachment {
    char id[37]; /* the Cinder attachment id (Nova 2.89 attachment_id) */
    char bdm_uuid[37];
    char server_id[37], volume_id[37];
    char device[32], tag[64];
    bool delete_on_termination;
    char node_name[32], export_id[40], export_name[80];
    char connection_info[4096]; /* JSON */
    char created_at[32];
};

/* What Nova's attachment views show of an attachment (the list and show
 * calls clients poll): the record without its connection details, read
 * with only the columns it has. */
struct reg_attachment_view {
    char id[37], bdm_uuid[37], server_id[37], volume_id[37];
    char device[32], tag[64];
    bool delete_on_termination;
};

struct reg_action {
    char request_id[64], server_id[37], action[32], project_id[33], user_id[33];
    char message[256], start_time[32], updated_at[32];
};

struct reg_event {
    char request_id[64], event[64], start_time[32], finish_time[32];
    char result[16], traceback[1024], host[65], details[256];
};

/* A Keystone token as stored: the SHA-256 of the bearer secret (a copy of
 * the database grants nothing), what it authorises (auth.c's JSON), and
 * its expiry in seconds since the epoch. */
struct reg_token {
    char id_hash[65];
    char auth[2048];
    int64_t expires;
};

/* One item of the key/value metadata of a volume (Cinder's) or a server
 * (Nova's); both sides are bounded by the API's 255-character limit. */
/* Metadata rows of a volume or a server; a project's quota limits are kept
 * the same way (owner: the project, key: the resource, value: the limit). */
/* REG_META_SERVER_ATTR holds a server's own attributes that Nova shows in
 * its views (accessIPv4, accessIPv6), apart from the user's metadata.
 * REG_META_RESERVATION holds the gigabytes a running extend has reserved
 * (owner: the project, key: the volume, value: the gigabytes added), so
 * that quota checks count them before the volume has grown. */
enum reg_meta_kind {
    REG_META_VOLUME,
    REG_META_SERVER,
    REG_META_QUOTA,
    REG_META_SERVER_ATTR,
    REG_META_RESERVATION,
    REG_META_IMAGE,        /* an image's custom properties (Glance's) */
    REG_META_IMAGE_TAG,    /* an image's tags (key: the tag, value "") */
    REG_META_VOLUME_IMAGE, /* volume_image_metadata of a volume made from an image */
    /* the image data this node is moving (owner: the node's name; key: the
     * volume of a copy or the image of an upload; value: "fill IMAGE",
     * "upload IMAGE" or "put"), so that a restart resumes or settles it */
    REG_META_IMAGE_COPY,
    /* a Cinder service's state (owner: its host, "NAME@volswap"; keys
     * "disabled" and "disabled_reason") */
    REG_META_SERVICE,
};
struct reg_meta {
    char key[256], value[256];
};

/* A swap's persisted record, written before each step's effect can be seen
 * (swap/swap.h drives it). KIND ("swap", "migrate") and PHASE are the swap
 * layer's names; a record whose phase is "done" or "rolled-back" is
 * finished, any other is unfinished. */
struct reg_swap {
    char id[64], kind[16];
    char server_id[37], project_id[33], user_id[33], host[65];
    char old_volume_id[37], new_volume_id[37], attachment_id[37];
    char old_node[32], new_node[32];
    char old_path[1024];
    int64_t old_size_gb, new_size_gb;
    char phase[24];
    char error[512];
    char started_at[32], updated_at[32];
    int64_t bytes_total, bytes_done;
    int64_t mirror_ms, pivot_ms, total_ms;
    /* The lease: the node driving the swap and the epoch of its hold, which
     * every takeover increments. Written records also get LEASE_MS (not
     * stored) as the lease's length from the write, on the database's
     * clock, so that every node measures expiry by one clock. */
    char owner[65];
    int64_t epoch, lease_ms;
};

/* Which unfinished swaps swap_lease_take takes: those whose lease expired;
 * those too that OWNER already held (a restarted node with the same name);
 * or all of them (one process alone on its database: SQLite). */
enum reg_lease_take { REG_TAKE_EXPIRED, REG_TAKE_EXPIRED_OR_MINE, REG_TAKE_ALL };

/* A Nova key pair: NAME is unique per user; ID is Nova's integer id. */
struct reg_keypair {
    int64_t id;
    char user_id[33], name[256], type[8];
    char fingerprint[100];
    char public_key[4096];
    char created_at[32];
};

/* A Glance image record. Its bytes live in the image store
 * (domain/images.c), named after ID; SIZE and VIRTUAL_SIZE are -1 while
 * unknown (Glance's null), the checksums "" until the upload is whole. */
struct reg_image {
    char id[37], owner[33], name[256];
    char status[16], visibility[16];
    char disk_format[16], container_format[16];
    int64_t size, virtual_size;
    char checksum[33], os_hash_algo[16], os_hash_value[129];
    int64_t min_disk, min_ram;
    bool protected_, os_hidden;
    char created_at[32], updated_at[32];
};

/* A member of a shared image: a project its owner shares it with, and
 * what that project made of it (Glance's pending, accepted, rejected). */
struct reg_image_member {
    char image_id[37], member[256];
    char status[16];
    char created_at[32], updated_at[32];
};

/* One metadata definition of Glance's catalog, stored generically: KIND
 * ("namespace", "object", "property", "tag", "resource_type",
 * "association"), the namespace it belongs to ("" for a resource type),
 * its NAME ("" for a namespace itself) and its attributes as a JSON
 * document (the image service's views read them). */
#define REG_METADEF_BODY 8192
struct reg_metadef {
    char kind[16], ns[81], name[256];
    char body[REG_METADEF_BODY];
    char created_at[32], updated_at[32];
};

/* What kind of storage error the last failed call met: what the reply to
 * the client says depends on it (a full disk is not a bug of the request). */
enum reg_error_kind {
    REG_ERR_OTHER,
    REG_ERR_FULL,       /* the database or its disk is full */
    REG_ERR_BUSY,       /* locked by another writer beyond the wait */
    REG_ERR_CONSTRAINT, /* a uniqueness or reference rule refused the write */
};

struct registry;

struct registry_ops {
    const char *name;
    void (*close)(struct registry *r);
    int (*begin)(struct registry *r);
    int (*commit)(struct registry *r);
    void (*rollback)(struct registry *r);
    /* A read scope: every read of this thread until read_end sees one
     * state of the registry (a request's view of a server and its
     * attachments agree), and the backend pays for a read once instead of
     * once a statement. A write or commit of the thread inside it starts
     * the scope's state again, so the thread reads what it wrote. Scopes
     * nest; reads outside one each see the latest state. */
    int (*read_begin)(struct registry *r);
    void (*read_end)(struct registry *r);

    int (*host_put)(struct registry *r, const struct reg_host *h);
    int (*host_list)(struct registry *r, struct reg_host **out, size_t *n);

    int (*server_insert)(struct registry *r, const struct reg_server *s);
    int (*server_get)(struct registry *r, const char *id, struct reg_server *out); /* 1 = none */
    int (*server_update)(struct registry *r, const struct reg_server *s);
    /* Server ID and its attachments' views, in their list order, read at
     * once (one statement, or a read scope's copy of them); with VOLUME_ID,
     * only the attachment of that volume (none when it is not the
     * server's). 1 = no such server; the caller frees *ATTS. */
    int (*server_view)(struct registry *r, const char *id, const char *volume_id,
                       struct reg_server *out, struct reg_attachment_view **atts, size_t *n);
    /* A read scope's hint that its reads are about server ID (the server
     * a request's URL names): a backend may read that server and its
     * attachments together with the scope's first statement (PostgreSQL
     * does it with the token look-up that validates the request, one round
     * trip instead of two). A hint only; the reads answer the same with or
     * without it. */
    void (*read_hint_server)(struct registry *r, const char *id);
    /* PROJECT NULL = every project */
    int (*server_list)(struct registry *r, const char *project, struct reg_server **out, size_t *n);

    int (*volume_insert)(struct registry *r, const struct reg_volume *v);
    int (*volume_get)(struct registry *r, const char *id, struct reg_volume *out); /* 1 = none */
    int (*volume_update)(struct registry *r, const struct reg_volume *v);
    int (*volume_delete)(struct registry *r, const char *id);
    int (*volume_list)(struct registry *r, const char *project, struct reg_volume **out, size_t *n);
    /* Is PATH used by any volume (block-device pools hand each device out once)? */
    int (*volume_path_used)(struct registry *r, const char *path, bool *used);

    int (*attachment_insert)(struct registry *r, const struct reg_attachment *a);
    int (*attachment_update)(struct registry *r, const struct reg_attachment *a);
    int (*attachment_get)(struct registry *r, const char *server_id, const char *volume_id,
                          struct reg_attachment *out); /* 1 = none */
    int (*attachment_get_by_id)(struct registry *r, const char *id,
                                struct reg_attachment *out); /* 1 = none */
    int (*attachment_get_by_volume)(struct registry *r, const char *volume_id,
                                    struct reg_attachment *out); /* 1 = none */
    int (*attachment_delete)(struct registry *r, const char *id);
    /* SERVER_ID NULL = every attachment */
    int (*attachment_list)(struct registry *r, const char *server_id, struct reg_attachment **out,
                           size_t *n);

    int (*action_insert)(struct registry *r, const struct reg_action *a);
    int (*action_update)(struct registry *r, const struct reg_action *a);
    int (*action_get)(struct registry *r, const char *server_id, const char *request_id,
                      struct reg_action *out); /* 1 = none */
    int (*action_list)(struct registry *r, const char *server_id, struct reg_action **out,
                       size_t *n);
    int (*event_insert)(struct registry *r, const struct reg_event *ev);
    int (*event_update)(struct registry *r, const struct reg_event *ev);
    int (*event_list)(struct registry *r, const char *request_id, struct reg_event **out,
                      size_t *n);

    int (*token_put)(struct registry *r, const struct reg_token *t);
    int (*token_get)(struct registry *r, const char *id_hash, struct reg_token *out); /* 1 = none */
    int (*token_delete)(struct registry *r, const char *id_hash);
    /* Deletes every token expired at `now`. */
    int (*token_purge)(struct registry *r, int64_t now);

    /* Metadata of the volume or server OWNER, ordered by key (caller frees
   * *OUT). A volume's goes with its record when that is deleted. */
    int (*meta_list)(struct registry *r, enum reg_meta_kind kind, const char *owner,
                     struct reg_meta **out, size_t *n);
    /* Sets one item, adding it or replacing its value. */
    int (*meta_put)(struct registry *r, enum reg_meta_kind kind, const char *owner,
                    const struct reg_meta *m);
    /* Removes the item KEY (1 = none), or every item of OWNER when KEY is NULL. */
    int (*meta_delete)(struct registry *r, enum reg_meta_kind kind, const char *owner,
                       const char *key);

    /* Swap records. Insert orders R after every earlier record. */
    int (*swap_insert)(struct registry *r, const struct reg_swap *s);
    /* Writes S if its lease is still S->owner's at S->epoch, renewing it;
     * 1 = no such record, or another node took it over (fenced). */
    int (*swap_update)(struct registry *r, const struct reg_swap *s);
    /* Renews for LEASE_MS the lease of swap ID if OWNER holds it at EPOCH
     * and it is unfinished; 1 = it does not (taken over, or finished). */
    int (*swap_lease_renew)(struct registry *r, const char *id, const char *owner, int64_t epoch,
                            int64_t lease_ms);
    /* Takes the unfinished swaps WHICH says over for OWNER: the epoch of
     * each goes up by one and its lease runs LEASE_MS from now; *OUT gets
     * them as they are now, oldest first (caller frees). */
    int (*swap_lease_take)(struct registry *r, const char *owner, int64_t lease_ms,
                           enum reg_lease_take which, struct reg_swap **out, size_t *n);
    /* Unfinished records, oldest first (caller frees *OUT). */
    int (*swap_unfinished)(struct registry *r, struct reg_swap **out, size_t *n);
    /* The newest record of SERVER_ID naming VOLUME_ID as its old or new volume. */
    int (*swap_latest)(struct registry *r, const char *server_id, const char *volume_id,
                       struct reg_swap *out);                                  /* 1 = none */
    int (*swap_get)(struct registry *r, const char *id, struct reg_swap *out); /* 1 = none */
    /* Every record, oldest first (caller frees *OUT). */
    int (*swap_all)(struct registry *r, struct reg_swap **out, size_t *n);
    /* The series sampled while swap ID ran (a JSON document): put replaces
     * it; get gives a string the caller frees (1 = none). */
    int (*swap_series_put)(struct registry *r, const char *id, const char *series);
    int (*swap_series_get)(struct registry *r, const char *id, char **series);

    /* Key pairs of USER_ID (NULL = every user's, for an admin's list);
     * insert fails with REG_ERR_CONSTRAINT when the user has NAME already;
     * get and delete answer 1 when there is none. */
    int (*keypair_insert)(struct registry *r, struct reg_keypair *k); /* sets k->id */
    int (*keypair_get)(struct registry *r, const char *user_id, const char *name,
                       struct reg_keypair *out);
    int (*keypair_list)(struct registry *r, const char *user_id, struct reg_keypair **out,
                        size_t *n);
    int (*keypair_delete)(struct registry *r, const char *user_id, const char *name);

    /* Images: get, update and delete answer 1 when there is none; list
     * gives every image, oldest first (visibility is the caller's rule). */
    int (*image_insert)(struct registry *r, const struct reg_image *im);
    int (*image_get)(struct registry *r, const char *id, struct reg_image *out);
    int (*image_update)(struct registry *r, const struct reg_image *im);
    int (*image_delete)(struct registry *r, const char *id);
    int (*image_list)(struct registry *r, struct reg_image **out, size_t *n);

    /* Image members: put adds or replaces (image, member); get answers 1
     * when there is none, delete too (MEMBER NULL: every member of the
     * image). List gives those of IMAGE_ID, or when it is NULL the
     * memberships of MEMBER, oldest first (caller frees *OUT). */
    int (*member_put)(struct registry *r, const struct reg_image_member *m);
    int (*member_get)(struct registry *r, const char *image_id, const char *member,
                      struct reg_image_member *out);
    int (*member_delete)(struct registry *r, const char *image_id, const char *member);
    int (*member_list)(struct registry *r, const char *image_id, const char *member,
                       struct reg_image_member **out, size_t *n);

    /* Metadata definitions: put adds or replaces (kind, ns, name); get
     * answers 1 when there is none. List gives KIND's definitions in NS
     * (NULL: in every namespace), oldest first. Delete removes (KIND, NS,
     * NAME), 1 when there is none; NAME NULL: every KIND of NS; KIND NULL
     * too: everything in NS, the namespace with it. Rename moves every
     * definition of namespace FROM to TO. */
    int (*metadef_put)(struct registry *r, const struct reg_metadef *d);
    int (*metadef_get)(struct registry *r, const char *kind, const char *ns, const char *name,
                       struct reg_metadef *out);
    int (*metadef_list)(struct registry *r, const char *kind, const char *ns,
                        struct reg_metadef **out, size_t *n);
    int (*metadef_delete)(struct registry *r, const char *kind, const char *ns, const char *name);
    int (*metadef_rename)(struct registry *r, const char *from, const char *to);

    /* The message and kind of the last failed call on this thread. */
    const char *(*last_error)(struct registry *r);
    enum reg_error_kind (*last_error_kind)(struct registry *r);
};

struct registry {
    const struct registry_ops *ops;
};

/* The name a metadata kind is stored under, the same in every backend. */
const char *reg_meta_kind_name(enum reg_meta_kind kind);

/* ---- the transaction guard and the error helper (registry.c) ---- */

/* A transaction scope: declared with REG_TXN, opened with reg_begin, and
 * rolled back when the scope is left unless reg_commit ran:
 *
 *     REG_TXN(txn, reg);
 *     if (reg_begin(&txn, e) < 0)
 *         return -1;
 *     if (reg->ops->volume_update(reg, &v) < 0)
 *         return reg_fail(e, reg);      // rolled back on the way out
 *     return reg_commit(&txn, e);
 */
struct reg_txn {
    struct registry *reg;
    bool open; /* begun, neither committed nor rolled back */
};
void reg_txn_end(struct reg_txn *t);
#define REG_TXN(name, r) \
    __attribute__((cleanup(reg_txn_end))) struct reg_txn name = { .reg = (r), .open = false }
int reg_begin(struct reg_txn *t, struct api_error *e);
/* Commits (a failed commit rolls back); -1 and E filled on failure. */
int reg_commit(struct reg_txn *t, struct api_error *e);
/* Rolls back now (the guard does it at the end of the scope otherwise). */
void reg_rollback(struct reg_txn *t);

/* Fills E from R's last error on this thread: "registry: " and the
 * backend's own words, with the status that fits its kind (507 for a full
 * disk, 503 for a busy database, 500 otherwise). Returns -1. */
int reg_fail(struct api_error *e, struct registry *r);
/* The HTTP status reg_fail answers with for KIND. */
int reg_error_status(enum reg_error_kind kind);

/* SQLite backend: PATH is the database file (created and migrated). */
struct registry *registry_sqlite_open(const char *path, char *errbuf, size_t errlen);
/* Schema version after migrations, for tests. */
int registry_sqlite_schema_version(struct registry *r);

/* PostgreSQL backend: CONNINFO is a libpq connection string or URI (the
 * password from libpq's environment or password file); the schema is
 * migrated under an advisory lock. */
struct registry *registry_postgres_open(const char *conninfo, char *errbuf, size_t errlen);
int registry_postgres_schema_version(struct registry *r);
/* Does the config's "database" name a PostgreSQL database (a postgresql://
 * URI or a libpq keyword string) rather than an SQLite file? */
bool registry_is_postgres(const char *database);
/* Opens the backend DATABASE names. */
struct registry *registry_open(const char *database, char *errbuf, size_t errlen);

#endif
