/* common: small helpers shared by the test programs (exit 77 = skip). */
#ifndef IRC_TESTS_COMMON_H
#define IRC_TESTS_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define TEST_SKIP 77

#define CHECK(cond)                                                         \
  do {                                                                      \
    if (!(cond)) {                                                          \
      fprintf (stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      exit (1);                                                             \
    }                                                                       \
  } while (0)

/* Path of the project's test data folder (tests/data), set by meson. */
static inline const char *
test_data_dir (void)
{
  const char *d = getenv ("IRC_TEST_DATA");
  return d ? d : "tests/data";
}

/* Path of ../shared next to the project root, or NULL when absent (tests
 * that need it then exit 77). */
static inline const char *
test_shared_dir (void)
{
  const char *d = getenv ("IRC_SHARED_DIR");
  return d && *d ? d : NULL;
}

/* The tests' one pseudo-random sequence (the Numerical Recipes LCG):
 * advances *@state and returns it; callers take the high bits. */
static inline uint32_t
test_lcg (uint32_t *state)
{
  *state = *state * 1664525u + 1013904223u;
  return *state;
}

#endif
