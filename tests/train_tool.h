/* train_tool: helpers of the tests that run irc-train as a program
 * (test_train_cli, test_train_mpi): a failure counter, paths under the
 * test's temporary folder, and small training images. */
#ifndef IRC_TESTS_TRAIN_TOOL_H
#define IRC_TESTS_TRAIN_TOOL_H

#include "io/image.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int failures;
static char tmp[4096];   /* the test's temporary folder */

#define CHECK(cond, ...) do { if (!(cond)) { failures++; fprintf (stderr, "FAIL %s:%d: ", \
    __FILE__, __LINE__); fprintf (stderr, __VA_ARGS__); fputc ('\n', stderr); } } while (0)

static char *
path (const char *fmt, ...)
{
  static char bufs[16][4096];
  static int k;
  char *b = bufs[k++ % 16];
  char rel[2048];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (rel, sizeof rel, fmt, ap);
  va_end (ap);
  snprintf (b, 4096, "%.2000s/%.2000s", tmp, rel);
  return b;
}

/* Smooth colour fields with a few hard edges: a small network learns to
 * denoise them in tens of steps. */
static void
write_image (const char *file, int w, int h, int k)
{
  irc_image img = { 0, 0, NULL };
  irc_error err = { 0 };
  if (irc_image_alloc (&img, w, h, &err) != IRC_OK) {
    fprintf (stderr, "%s\n", err.message);
    exit (1);
  }
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      const int inside = (x - 20 - 5 * k) * (x - 20 - 5 * k) + (y - 30) * (y - 30) < 200;
      for (int c = 0; c < 3; c++) {
        float v = 0.5f + 0.3f * sinf (x / (7.0f + c + k) + k) * cosf (y / (11.0f - c) + c);
        if (x > 50 && y > 40)
          v = 0.2f + 0.25f * c;
        if (inside)
          v = 0.9f - 0.3f * c;
        img.data[((size_t) c * h + y) * w + x] = v;
      }
    }
  if (irc_image_save (file, &img, 0, &err) != IRC_OK) {
    fprintf (stderr, "%s\n", err.message);
    exit (1);
  }
  irc_image_clear (&img);
}

#endif
