/* Tiny unit-test harness for the api tests: each program holds named cases,
 * runs the one named on its command line (Meson runs one test per case),
 * and CHECK reports the failing expression with its line. */
#ifndef VOLSWAP_API_UNIT_H
#define VOLSWAP_API_UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) do { if (!(cond)) { \
  fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); exit(1); } } while (0)
#define CHECK_STR(a, b) do { const char *_a = (a), *_b = (b); \
  if (!_a || !_b || strcmp(_a, _b) != 0) { \
    fprintf(stderr, "%s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__, _a ? _a : "(null)", \
            _b ? _b : "(null)"); exit(1); } } while (0)
#define CHECK_CONTAINS(hay, needle) do { const char *_h = (hay); \
  if (!_h || !strstr(_h, (needle))) { \
    fprintf(stderr, "%s:%d: \"%s\" lacks \"%s\"\n", __FILE__, __LINE__, _h ? _h : "(null)", \
            (needle)); exit(1); } } while (0)

struct unit_case { const char *name; void (*fn)(void); };

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
