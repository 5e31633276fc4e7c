/* The top of volswap-api: the services' route tables mounted where they are
 * served, for main.c and the in-process tests. Below it every layer, each
 * through its own header. */
#ifndef VOLSWAP_API_API_H
#define VOLSWAP_API_API_H

#include "http/http.h"
#include "rest/compute/compute.h"
#include "rest/identity/identity.h"
#include "rest/image/image.h"
#include "rest/volume/volume.h"
#include "swap/swap.h"

/* The mounts the service answers with (root, /volume, /image). */
extern const struct api_mount api_mounts[];
/* Every route table, once each (NULL-terminated), for the reference. */
extern const struct api_route *const api_all_tables[];

#endif
