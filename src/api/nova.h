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

/* nova-actions.c */
int nova_actions_index(struct api_request *rq);
int nova_actions_show(struct api_request *rq);
/* Nova's hostId: sha224(project_id + host), hex. */
void nova_host_id(const char *project_id, const char *host, char out[57]);

/* nova-servers.c */
/* 409 unless the server is in a state that allows ACTION (Nova's
 * check_instance_state), or when it is locked. */
int nova_check_server_state(struct api_request *rq, const struct reg_server *s,
                            const char *action);

#endif
