/* The Cinder block-storage subset under /v3/{project_id} (and /volume): its route table. */
#ifndef VOLSWAP_API_REST_VOLUME_H
#define VOLSWAP_API_REST_VOLUME_H

#include "rest/rest.h"

extern const struct api_route cinder_routes[];

#endif
