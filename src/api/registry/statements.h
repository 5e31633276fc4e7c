/* What the registry's two backends (sqlite.c, postgres.c) share besides the
 * interface: the list of statements each prepares, named once here, and
 * the column lists of the records they read and write. The SQL itself
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
#define ACT_COLS "request_id,server_id,action,project_id,user_id,message,start_time,updated_at"
#define EV_COLS  "request_id,event,start_time,finish_time,result,traceback,host,details"
/* the swap record's columns (SWAP_REC_COLS those of migration 4), then its
 * lease's owner and epoch */
#define SWAP_REC_COLS                                                               \
    "id,kind,server_id,project_id,user_id,host,old_volume_id,new_volume_id,"        \
    "attachment_id,old_node,new_node,old_path,old_size_gb,new_size_gb,phase,error," \
    "started_at,updated_at,bytes_total,bytes_done,mirror_ms,pivot_ms,total_ms"
#define SWAP_COLS       SWAP_REC_COLS ",owner,epoch"
#define KP_COLS         "id,user_id,name,type,fingerprint,public_key,created_at"
#define IMG_COLS                                                                         \
    "id,owner,name,status,visibility,disk_format,container_format,size,virtual_size,"   \
    "checksum,os_hash_algo,os_hash_value,min_disk,min_ram,protected,os_hidden,created_at," \
    "updated_at"
#define MEM_COLS  "image_id,member,status,created_at,updated_at"
#define MDEF_COLS "kind,namespace,name,body,created_at,updated_at"
#define SWAP_UNFINISHED "phase NOT IN ('done','rolled-back')"

/* Orders swap records by start, then id (registry.c): the order a
 * statement that returns what it changed does not promise. */
int reg_swap_cmp_started(const void *a, const void *b);

#endif
