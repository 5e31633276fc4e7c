/* What the registry's two backends (sqlite.c, postgres.c) share besides the
 * interface: the list of statements each prepares, named once here, and
 * the column lists of the records they read and write (fields.c describes
 * each column's type and place in its struct). The SQL itself
 * differs (placeholders, dialect), so each backend keeps its own text,
 * indexed by this enum. Private to src/api/registry. */
#ifndef VOLSWAP_API_REGISTRY_STATEMENTS_H
#define VOLSWAP_API_REGISTRY_STATEMENTS_H

/* clang-format off */
#define REG_STATEMENTS(X)                                                       \
    X(HOST_PUT) X(HOST_LIST)                                                    \
    X(SRV_INS) X(SRV_GET) X(SRV_UPD) X(SRV_LIST) X(SRV_LIST_ALL) X(SRV_VIEW)    \
    X(VOL_INS) X(VOL_GET) X(VOL_UPD) X(VOL_DEL) X(VOL_LIST) X(VOL_LIST_ALL)     \
    X(VOL_PATH)                                                                 \
    X(ATT_INS) X(ATT_UPD) X(ATT_GET) X(ATT_GET_ID) X(ATT_GET_VOL) X(ATT_DEL)    \
    X(ATT_LIST) X(ATT_LIST_ALL)                                                 \
    X(ACT_INS) X(ACT_UPD) X(ACT_GET) X(ACT_LIST)                                \
    X(EV_INS) X(EV_UPD) X(EV_LIST)                                              \
    X(TOK_PUT) X(TOK_GET) X(TOK_DEL) X(TOK_PURGE)                               \
    X(MD_LIST) X(MD_PUT) X(MD_DEL) X(MD_DEL_ALL)                                \
    X(SWAP_INS) X(SWAP_UPD) X(SWAP_OPEN) X(SWAP_LATEST) X(SWAP_GET) X(SWAP_ALL) \
    X(SERIES_PUT) X(SERIES_GET)                                                 \
    X(LEASE_RENEW) X(LEASE_TAKE)                                                \
    X(KP_INS) X(KP_GET) X(KP_LIST) X(KP_LIST_ALL) X(KP_DEL)                     \
    X(IMG_INS) X(IMG_GET) X(IMG_UPD) X(IMG_DEL) X(IMG_LIST)                     \
    X(MEM_PUT) X(MEM_GET) X(MEM_DEL) X(MEM_DEL_ALL) X(MEM_LIST) X(MEM_LIST_BY)  \
    X(MDEF_PUT) X(MDEF_GET) X(MDEF_LIST) X(MDEF_LIST_ALL) X(MDEF_DEL)           \
    X(MDEF_DEL_KIND) X(MDEF_DEL_NS) X(MDEF_RENAME)
/* clang-format on */
#define REG_Q_ENUM(name) Q_##name,
/* the statements every backend has; a backend numbers its own from
 * Q__SHARED on */
enum reg_q { REG_STATEMENTS(REG_Q_ENUM) Q__SHARED };

#define HOST_COLS "name,driver,qmp,nbd"

#define SRV_COLS \
    "id,name,project_id,user_id,host,status,vm_state,task_state,locked,created_at,updated_at"
#define VOL_COLS                                                                          \
    "id,project_id,user_id,name,description,size_gb,host,pool,path,status,attach_status," \
    "migration_status,created_at,updated_at,bootable,readonly"
#define ATT_COLS                                                                            \
    "id,bdm_uuid,server_id,volume_id,device,tag,delete_on_termination,node_name,export_id," \
    "export_name,connection_info,created_at"
/* an attachment's view (struct reg_attachment_view), server_id aside */
#define ATT_VIEW_COLS "id,bdm_uuid,volume_id,device,tag,delete_on_termination"
#define ACT_COLS      "request_id,server_id,action,project_id,user_id,message,start_time,updated_at"
#define EV_COLS       "request_id,event,start_time,finish_time,result,traceback,host,details"
/* the swap record's columns (SWAP_REC_COLS those of migration 4), then its
 * lease's owner and epoch */
#define SWAP_REC_COLS                                                               \
    "id,kind,server_id,project_id,user_id,host,old_volume_id,new_volume_id,"        \
    "attachment_id,old_node,new_node,old_path,old_size_gb,new_size_gb,phase,error," \
    "started_at,updated_at,bytes_total,bytes_done,mirror_ms,pivot_ms,total_ms"
#define SWAP_COLS SWAP_REC_COLS ",owner,epoch"
/* a key pair's columns; a new one's (KP_NEW_COLS) are all but its id */
#define KP_NEW_COLS "user_id,name,type,fingerprint,public_key,created_at"
#define KP_COLS     "id," KP_NEW_COLS
#define IMG_COLS                                                                           \
    "id,owner,name,status,visibility,disk_format,container_format,size,virtual_size,"      \
    "checksum,os_hash_algo,os_hash_value,min_disk,min_ram,protected,os_hidden,created_at," \
    "updated_at"
#define MEM_COLS        "image_id,member,status,created_at,updated_at"
#define MDEF_COLS       "kind,namespace,name,body,created_at,updated_at"
#define TOK_COLS        "id_hash,auth,expires"
#define META_COLS       "key,value"
#define SWAP_UNFINISHED "phase NOT IN ('done','rolled-back')"

/* The statements both dialects spell alike, with PostgreSQL's numbered
 * parameters ($1; the SQLite backend spells them ?1) and the backend's own
 * NOW_MS (now on the database's clock, in ms since the epoch) and
 * ROW_ORDER (what orders rows inserted in the same second): designated
 * initialisers of a backend's table of statement texts. (The INSERT and
 * UPDATE of most records are not here: the records make them, fields.c.) */
/* clang-format off */
#define REG_COMMON_SQL \
    [Q_HOST_PUT] = "INSERT INTO hosts(" HOST_COLS ") VALUES($1,$2,$3,$4) " \
                   "ON CONFLICT(name) DO UPDATE SET driver=excluded.driver," \
                   "qmp=excluded.qmp, nbd=excluded.nbd", \
    [Q_HOST_LIST] = "SELECT " HOST_COLS " FROM hosts ORDER BY name", \
    [Q_SRV_GET] = "SELECT " SRV_COLS " FROM servers WHERE id=$1", \
    [Q_SRV_LIST] = "SELECT " SRV_COLS \
                   " FROM servers WHERE project_id=$1 ORDER BY created_at DESC, id", \
    [Q_SRV_LIST_ALL] = "SELECT " SRV_COLS " FROM servers ORDER BY created_at DESC, id", \
    [Q_VOL_GET] = "SELECT " VOL_COLS " FROM volumes WHERE id=$1", \
    [Q_VOL_LIST] = "SELECT " VOL_COLS \
                   " FROM volumes WHERE project_id=$1 ORDER BY created_at DESC, id", \
    [Q_VOL_LIST_ALL] = "SELECT " VOL_COLS " FROM volumes ORDER BY created_at DESC, id", \
    [Q_ATT_GET] = "SELECT " ATT_COLS " FROM attachments WHERE server_id=$1 AND volume_id=$2", \
    [Q_ATT_GET_ID] = "SELECT " ATT_COLS " FROM attachments WHERE id=$1", \
    [Q_ATT_GET_VOL] = "SELECT " ATT_COLS " FROM attachments WHERE volume_id=$1", \
    [Q_ATT_DEL] = "DELETE FROM attachments WHERE id=$1", \
    [Q_ATT_LIST] = "SELECT " ATT_COLS \
                   " FROM attachments WHERE server_id=$1 ORDER BY created_at, device", \
    [Q_ATT_LIST_ALL] = "SELECT " ATT_COLS " FROM attachments ORDER BY created_at, device", \
    [Q_ACT_GET] = "SELECT " ACT_COLS " FROM instance_actions WHERE server_id=$1 AND request_id=$2", \
    [Q_ACT_LIST] = "SELECT " ACT_COLS " FROM instance_actions WHERE server_id=$1 " \
                   "ORDER BY start_time DESC, " ROW_ORDER " DESC", \
    [Q_EV_LIST] = "SELECT " EV_COLS " FROM instance_action_events WHERE request_id=$1 " \
                  "ORDER BY start_time, " ROW_ORDER, \
    [Q_TOK_GET] = "SELECT " TOK_COLS " FROM tokens WHERE id_hash=$1", \
    [Q_TOK_DEL] = "DELETE FROM tokens WHERE id_hash=$1", \
    [Q_TOK_PURGE] = "DELETE FROM tokens WHERE expires<=$1", \
    [Q_MD_LIST] = "SELECT " META_COLS " FROM metadata WHERE kind=$1 AND owner=$2 ORDER BY key", \
    [Q_MD_DEL] = "DELETE FROM metadata WHERE kind=$1 AND owner=$2 AND key=$3", \
    [Q_MD_DEL_ALL] = "DELETE FROM metadata WHERE kind=$1 AND owner=$2", \
    [Q_SWAP_UPD] = "UPDATE swaps SET kind=$2,server_id=$3,project_id=$4,user_id=$5," \
                   "host=$6,old_volume_id=$7,new_volume_id=$8,attachment_id=$9,old_node=$10," \
                   "new_node=$11,old_path=$12,old_size_gb=$13,new_size_gb=$14,phase=$15," \
                   "error=$16,started_at=$17,updated_at=$18,bytes_total=$19,bytes_done=$20," \
                   "mirror_ms=$21,pivot_ms=$22,total_ms=$23,lease_expires=" NOW_MS "+$26 " \
                   "WHERE id=$1 AND owner=$24 AND epoch=$25", \
    [Q_LEASE_RENEW] = "UPDATE swaps SET lease_expires=" NOW_MS "+$4 WHERE id=$1 AND owner=$2 AND " \
                      "epoch=$3 AND " SWAP_UNFINISHED, \
    [Q_LEASE_TAKE] = "UPDATE swaps SET owner=$1, epoch=epoch+1, lease_expires=" NOW_MS "+$2 " \
                     "WHERE " SWAP_UNFINISHED " AND ($3=2 OR lease_expires<" NOW_MS \
                     " OR ($3=1 AND owner=$1)) RETURNING " SWAP_COLS, \
    [Q_SWAP_OPEN] = "SELECT " SWAP_COLS " FROM swaps WHERE " SWAP_UNFINISHED " ORDER BY seq", \
    [Q_SWAP_LATEST] = "SELECT " SWAP_COLS " FROM swaps WHERE server_id=$1 AND " \
                      "(old_volume_id=$2 OR new_volume_id=$2) ORDER BY seq DESC LIMIT 1", \
    [Q_SWAP_GET] = "SELECT " SWAP_COLS " FROM swaps WHERE id=$1", \
    [Q_SWAP_ALL] = "SELECT " SWAP_COLS " FROM swaps ORDER BY seq", \
    [Q_SERIES_GET] = "SELECT series FROM swap_series WHERE id=$1", \
    [Q_KP_GET] = "SELECT " KP_COLS " FROM keypairs WHERE user_id=$1 AND name=$2", \
    [Q_KP_LIST] = "SELECT " KP_COLS " FROM keypairs WHERE user_id=$1 ORDER BY name", \
    [Q_KP_LIST_ALL] = "SELECT " KP_COLS " FROM keypairs ORDER BY user_id, name", \
    [Q_KP_DEL] = "DELETE FROM keypairs WHERE user_id=$1 AND name=$2", \
    [Q_IMG_GET] = "SELECT " IMG_COLS " FROM images WHERE id=$1", \
    [Q_IMG_DEL] = "DELETE FROM images WHERE id=$1", \
    [Q_IMG_LIST] = "SELECT " IMG_COLS " FROM images ORDER BY created_at, id", \
    [Q_MEM_GET] = "SELECT " MEM_COLS " FROM image_members WHERE image_id=$1 AND member=$2", \
    [Q_MEM_DEL] = "DELETE FROM image_members WHERE image_id=$1 AND member=$2", \
    [Q_MEM_DEL_ALL] = "DELETE FROM image_members WHERE image_id=$1", \
    [Q_MEM_LIST] = "SELECT " MEM_COLS " FROM image_members WHERE image_id=$1 " \
                   "ORDER BY created_at, member", \
    [Q_MEM_LIST_BY] = "SELECT " MEM_COLS " FROM image_members WHERE member=$1 " \
                      "ORDER BY created_at, image_id", \
    /* a replaced definition keeps its place (seq) in the lists */ \
    [Q_MDEF_PUT] = "INSERT INTO metadefs(" MDEF_COLS ") VALUES($1,$2,$3,$4,$5,$6) " \
                   "ON CONFLICT(kind, namespace, name) DO UPDATE SET body=excluded.body," \
                   "created_at=excluded.created_at, updated_at=excluded.updated_at", \
    [Q_MDEF_GET] = "SELECT " MDEF_COLS " FROM metadefs WHERE kind=$1 AND namespace=$2 AND name=$3", \
    [Q_MDEF_LIST] = "SELECT " MDEF_COLS " FROM metadefs WHERE kind=$1 AND namespace=$2 " \
                    "ORDER BY seq", \
    [Q_MDEF_LIST_ALL] = "SELECT " MDEF_COLS " FROM metadefs WHERE kind=$1 ORDER BY seq", \
    [Q_MDEF_DEL] = "DELETE FROM metadefs WHERE kind=$1 AND namespace=$2 AND name=$3", \
    [Q_MDEF_DEL_KIND] = "DELETE FROM metadefs WHERE kind=$1 AND namespace=$2", \
    [Q_MDEF_DEL_NS] = "DELETE FROM metadefs WHERE namespace=$1", \
    [Q_MDEF_RENAME] = "UPDATE metadefs SET namespace=$2 WHERE namespace=$1"
/* clang-format on */

/* Orders swap records by start, then id (registry.c): the order a
 * statement that returns what it changed does not promise. */
int reg_swap_cmp_started(const void *a, const void *b);

#endif
