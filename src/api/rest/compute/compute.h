/* The Nova compute subset: its route table (for main.c) and the handlers
 * its files share with the table in servers.c. */
#ifndef VOLSWAP_API_REST_COMPUTE_H
#define VOLSWAP_API_REST_COMPUTE_H

#include "rest/rest.h"

/* attachments.c */
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

/* actions.c */
int nova_actions_index(struct api_request *rq);
int nova_actions_show(struct api_request *rq);
/* Nova's hostId: sha224(project_id + host), hex. */
void nova_host_id(const char *project_id, const char *host, char out[57]);
/* A stable UUID for HOST's compute service (os-services ids from 2.53). */
void nova_service_uuid(const char *host, char out[37]);

/* hypervisors.c */
int nova_hypervisors_index(struct api_request *rq);
int nova_hypervisors_detail(struct api_request *rq);
int nova_hypervisors_show(struct api_request *rq);
int nova_hypervisors_search(struct api_request *rq);
int nova_hypervisors_uptime(struct api_request *rq);
int nova_hypervisors_statistics(struct api_request *rq);
int nova_hypervisors_servers(struct api_request *rq);
int nova_aggregates_index(struct api_request *rq);

/* keypairs.c: os-keypairs */
int nova_keypairs_index(struct api_request *rq);
int nova_keypairs_create(struct api_request *rq);
int nova_keypairs_show(struct api_request *rq);
int nova_keypairs_delete(struct api_request *rq);

/* servers.c: the route table */
extern const struct api_route nova_routes[];

#endif
