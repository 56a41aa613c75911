/* bench_sgemm: the machine's SGEMM ceiling for the benchmarks (irc-bench,
 * irc-train-bench): OpenBLAS's cblas_sgemm on one large square product, on a
 * given number of threads, in GFLOP/s. Our own GFLOP/s are quoted as a
 * fraction of it, measured in the same run. */
#ifndef IRC_BENCH_SGEMM_H
#define IRC_BENCH_SGEMM_H

#include <cblas.h>
#include <stdlib.h>
#include <time.h>

static inline double
irc_bench_sgemm_now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static inline int
irc_bench_sgemm_cmp (const void *a, const void *b)
{
  const double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* Median GFLOP/s (best in @best, may be NULL) of @reps products C = A B of
 * n x n matrices after one warm-up, OpenBLAS on @threads threads; its thread
 * count is restored afterwards (the CPU backend and the trainer keep it at 1).
 * Returns a negative value when out of memory. */
static inline double
irc_bench_sgemm_gflops (int n, int threads, int reps, double *best)
{
  const size_t nn = (size_t) n * n;
  float *a = malloc (nn * sizeof (float)), *b = malloc (nn * sizeof (float));
  float *c = malloc (nn * sizeof (float));
  double *g = malloc ((size_t) (reps > 0 ? reps : 1) * sizeof (double));
  double med = -1;
  if (a && b && c && g && reps > 0) {
    unsigned s = 12345;
    for (size_t i = 0; i < nn; i++) {
      s = s * 1664525u + 1013904223u;
      a[i] = (float) (s >> 8) / 16777216.0f - 0.5f;
      b[i] = (float) (s >> 9) / 8388608.0f - 0.5f;
    }
    const int before = openblas_get_num_threads ();
    openblas_set_num_threads (threads > 0 ? threads : 1);
    for (int r = -1; r < reps; r++) {
      const double t0 = irc_bench_sgemm_now ();
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f,
          c, n);
      const double t = irc_bench_sgemm_now () - t0;
      if (r >= 0)
        g[r] = 2.0 * n * (double) nn / t * 1e-9;
    }
    openblas_set_num_threads (before);
    qsort (g, (size_t) reps, sizeof (double), irc_bench_sgemm_cmp);
    med = g[reps / 2];
    if (best)
      *best = g[reps - 1];
  }
  free (a), free (b), free (c), free (g);
  return med;
}

#endif
