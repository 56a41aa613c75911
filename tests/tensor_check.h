/* tensor_check: comparing float tensors and reading the golden files'
 * tensors, shared by the tests that check against PyTorch's values. */
#ifndef IRC_TESTS_TENSOR_CHECK_H
#define IRC_TESTS_TENSOR_CHECK_H

#include "common.h"
#include "safetensors.h"

#include <math.h>

/* Largest |a - b| over @n values; NaN anywhere counts as infinitely far. */
static inline double
max_abs_diff (const float *a, const float *b, size_t n)
{
  double m = 0;
  for (size_t i = 0; i < n; i++) {
    const double d = fabs ((double) a[i] - b[i]);
    if (!(d <= m))
      m = d;   /* also catches NaN */
  }
  return m;
}

/* Tensor @name of @f as a new float array (its element count in @count);
 * a missing or unreadable tensor ends the test with a message naming it. */
static inline float *
read_tensor (const irc_st_file *f, const char *name, size_t *count)
{
  const irc_st_tensor *t = irc_st_find (f, name);
  if (!t) {
    fprintf (stderr, "golden tensor '%s' missing\n", name);
    exit (1);
  }
  float *d = malloc (t->count * sizeof (float));
  irc_error err = {0};
  CHECK (d && irc_st_read_f32 (f, t, d, &err) == IRC_OK);
  if (count)
    *count = t->count;
  return d;
}

#endif
