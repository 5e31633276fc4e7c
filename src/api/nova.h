/* Handlers of the Nova compute subset, shared between the files that
 * implement them and the route table in nova-servers.c. */
#ifndef VOLSWAP_API_NOVA_H
#define VOLSWAP_API_NOVA_H

#include "http.h"

/* nova-attachments.c */
int nova_attachments_index(struct api_request *rq);
int nova_attachments_show(struct api_request *rq);
int nova_attachments_create(struct api_request *rq);
int nova_attachments_delete(struct api_request *rq);
/* Attaches VOL_ID to server S (checked by the caller: policy, state) as
 * DEVICE (NULL: the next free /dev/vdX): reserve, open and export on the
 * host, then the attachment and the in-use volume in one transaction; any
 * failure undoes what was done and fills rq->err. RECORD_ACTION: an
 * attach_volume instance action with its event (a boot's volumes belong to
 * the create action instead). */
int nova_attach_volume(struct api_request *rq, const struct reg_server *s, const char *vol_id,
                       const char *device, const char *tag, bool dot, bool record_action,
                       struct reg_attachment *out);
/* Detaches attachment A, whose volume is already "detaching", on host H and
 * in the registry (volume available); on failure fills rq->err and leaves
 * the volume as it was before "detaching" when the host kept it. */
int nova_detach_detaching(struct api_request *rq, const struct cfg_host *h,
                          const struct reg_attachment *a);

/* nova-actions.c */
int nova_actions_index(struct api_request *rq);
int nova_actions_show(struct api_request *rq);
/* Nova's hostId: sha224(project_id + host), hex. */
void nova_host_id(const char *project_id, const char *host, char out[57]);
/* A stable UUID for HOST's compute service (os-services ids from 2.53). */
void nova_service_uuid(const char *host, char out[37]);

/* limits.c (and Cinder's, routed in cinder.c) */
int nova_limits(struct api_request *rq);
int cinder_limits(struct api_request *rq);

/* What one server counts for in quotas and limits: the one flavor's vCPU
 * and memory (nova-servers.c shows the flavor with them). */
#define FLAVOR_VCPUS  1
#define FLAVOR_RAM_MB 512
/* The metadata items a server or volume may hold (metadata.c enforces it;
 * limits and quota sets show it). */
#define META_MAX_ITEMS 128
/* Nova's and Cinder's spelling of "no limit". */
#define QUOTA_UNLIMITED (-1)

/* quotas.c */
/* What PROJECT uses: servers not deleted, volumes and their gigabytes. */
struct project_usage {
    json_int_t servers, volumes, gigabytes;
};
int project_usage(struct api_request *rq, const char *project, struct project_usage *u);
/* The enforced limits of a project: what an admin set, -1 otherwise. */
struct quota_limits {
    json_int_t instances, cores, ram, volumes, gigabytes, per_volume_gigabytes;
};
int quota_load(struct api_request *rq, const char *project, struct quota_limits *l);
/* Whether PROJECT may have one more server (instances, cores, ram): 0, or
 * -1 with Nova's 403 "Quota exceeded for ...". Call it inside the
 * transaction that inserts the server. */
int quota_check_server(struct api_request *rq, const char *project);
/* Whether PROJECT may have ADD_VOLUMES more volumes and ADD_GB more
 * gigabytes, with one volume of SIZE_GB: 0, or -1 with Cinder's 413. */
int quota_check_volume(struct api_request *rq, const char *project, int add_volumes, int64_t add_gb,
                       int64_t size_gb);
int nova_quotas_show(struct api_request *rq);
int nova_quotas_detail(struct api_request *rq);
int nova_quotas_defaults(struct api_request *rq);
int nova_quotas_update(struct api_request *rq);
int nova_quotas_delete(struct api_request *rq);
int cinder_quotas_show(struct api_request *rq);
int cinder_quotas_defaults(struct api_request *rq);
int cinder_quotas_update(struct api_request *rq);
int cinder_quotas_delete(struct api_request *rq);

/* hypervisors.c */
int nova_hypervisors_index(struct api_request *rq);
int nova_hypervisors_detail(struct api_request *rq);
int nova_hypervisors_show(struct api_request *rq);
int nova_hypervisors_search(struct api_request *rq);
int nova_hypervisors_uptime(struct api_request *rq);
int nova_aggregates_index(struct api_request *rq);

/* nova-servers.c */
/* 409 unless the server is in a state that allows ACTION (Nova's
 * check_instance_state), or when it is locked. */
int nova_check_server_state(struct api_request *rq, const struct reg_server *s, const char *action);
/* A deleted server stays as a record (vm_state "deleted"), as Nova's
 * soft-deleted rows do, so its instance actions remain readable. */
bool nova_server_deleted(const struct reg_server *s);
/* Sets server ID's task_state (""; "deleting") in one transaction. */
int nova_set_task_state(struct api_request *rq, const char *server_id, const char *task);

#endif
