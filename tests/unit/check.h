/* The checks every unit test uses: each reports the failing expression (or
 * the two values) with its file and line and exits 1, so Meson shows the
 * first broken expectation of a scenario. One definition for all folders. */
#ifndef VOLSWAP_TEST_CHECK_H
#define VOLSWAP_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                  \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

/* NULL on either side is a failure, not a crash. */
#define CHECK_STR(a, b)                                                      \
    do {                                                                     \
        const char *a_ = (a), *b_ = (b);                                     \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                             \
            fprintf(stderr, "%s:%d: got\n  %s\nexpected\n  %s\n", __FILE__,  \
                    __LINE__, a_ ? a_ : "(null)", b_ ? b_ : "(null)");       \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

#define CHECK_EQ(a, b)                                                       \
    do {                                                                     \
        long long a_ = (long long)(a), b_ = (long long)(b);                  \
        if (a_ != b_) {                                                      \
            fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n",      \
                    __FILE__, __LINE__, #a, a_, #b, b_);                     \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

#define CHECK_CONTAINS(hay, needle)                                          \
    do {                                                                     \
        const char *h_ = (hay);                                              \
        if (!h_ || !strstr(h_, (needle))) {                                  \
            fprintf(stderr, "%s:%d: \"%s\" lacks \"%s\"\n", __FILE__,        \
                    __LINE__, h_ ? h_ : "(null)", (needle));                 \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

#endif
