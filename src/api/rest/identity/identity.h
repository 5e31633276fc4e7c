/* The Keystone v3 subset (tokens, catalog, projects): its route table. */
#ifndef VOLSWAP_API_REST_IDENTITY_H
#define VOLSWAP_API_REST_IDENTITY_H

#include "rest/rest.h"

extern const struct api_route keystone_routes[];
/* Keystone's version list at the root of /identity. */
extern const struct api_route keystone_root_routes[];

#endif
