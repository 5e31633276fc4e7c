/* The image service stub under /image: its route table. */
#ifndef VOLSWAP_API_REST_IMAGE_H
#define VOLSWAP_API_REST_IMAGE_H

#include "rest/rest.h"

extern const struct api_route glance_routes[];

#endif
