/* Tiny unit-test harness for the api tests: each program holds named cases,
 * runs the one named on its command line (Meson runs one test per case),
 * and CHECK reports the failing expression with its line. */
#ifndef VOLSWAP_API_UNIT_H
#define VOLSWAP_API_UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"

struct unit_case {
    const char *name;
    void (*fn)(void);
};

static inline int unit_main(int argc, char **argv, const struct unit_case *cases)
{
    for (const struct unit_case *c = cases; c->name; c++) {
        if (argc < 2 || strcmp(argv[1], c->name) == 0) {
            c->fn();
            if (argc >= 2)
                return 0;
        }
    }
    if (argc >= 2) {
        fprintf(stderr, "unknown case %s\n", argv[1]);
        return 2;
    }
    return 0;
}

#endif
