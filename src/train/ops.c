/* ops: instantiates the training ops (ops_impl.h) in float, for training,
 * and in double, for the gradient checks, so both run the same code. */
/* GCC will not if-convert a float comparison (so no select vectorises)
 * unless told that no code here inspects floating-point exception flags;
 * results are unchanged. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize ("no-trapping-math")
#endif

#include "train/ops.h"
#include "train/torch_cpu.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* the BatchNorm and Linear ops repeat PyTorch's roundings (torch_cpu.h) */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

/* Scratch private to the calling thread: OpenMP keeps its pool threads, so
 * each keeps its buffers across calls; a thread's buffers are freed when it
 * exits. scratch() returns @slot's buffer grown to @bytes, or NULL when out
 * of memory; contents are undefined. */
typedef struct {
  void *p[3];
  size_t cap[3];
} scratch_set;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static int scratch_key_ok;

static void
scratch_free (void *v)
{
  scratch_set *s = v;
  for (int i = 0; i < 3; i++)
    free (s->p[i]);
  free (s);
}

static void
scratch_init (void)
{
  scratch_key_ok = pthread_key_create (&scratch_key, scratch_free) == 0;
}

static void *
scratch (int slot, size_t bytes)
{
  pthread_once (&scratch_once, scratch_init);
  if (!scratch_key_ok)
    return NULL;
  scratch_set *s = pthread_getspecific (scratch_key);
  if (!s) {
    if (!(s = calloc (1, sizeof *s)))
      return NULL;
    if (pthread_setspecific (scratch_key, s) != 0) {
      free (s);
      return NULL;
    }
  }
  if (s->cap[slot] < bytes) {
    const size_t cap = (bytes + 4095) / 4096 * 4096;
    void *p = aligned_alloc (64, cap);
    if (!p)
      return NULL;
    free (s->p[slot]);
    s->p[slot] = p, s->cap[slot] = cap;
  }
  return s->p[slot];
}

#define MAX_THREADS 64

/* Below this many elements an op runs on one thread: each parallel job
 * costs a wake-up and a join, and a join waits for the slowest thread,
 * which on a busy machine may be descheduled. */
#define PAR_MIN 32768

/* The ops' thread pool. OpenMP's default wait policy spins for milliseconds
 * between and inside parallel regions, which on a shared machine turns a
 * 2-thread step several times slower than one thread (measured: 3-4.6 s
 * against 0.7-1 s per lite16 step under a load average of 4-7). These
 * workers spin briefly, then sleep on a condition variable. The thread
 * count follows OpenMP's (OMP_NUM_THREADS, omp_set_num_threads). Jobs from
 * different caller threads are serialised; a job started from inside a
 * job runs on its caller alone. */
typedef void (*par_fn) (void *ctx, int t, int nt);

static struct {
  pthread_mutex_t mu, job;
  pthread_cond_t go, done;
  atomic_uint gen;         /* job generation, bumped to start one */
  atomic_int pending;      /* workers still running the current job */
  par_fn fn;
  void *ctx;
  int nt, started, quit;
  unsigned birth[MAX_THREADS];   /* gen when worker i was created */
  pthread_t th[MAX_THREADS];
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
  PTHREAD_COND_INITIALIZER, 0, 0, NULL, NULL, 0, 0, 0, {0}, {0}};

static _Thread_local int in_job;

#define POOL_SPIN 20000

static void *
pool_worker (void *arg)
{
  const int id = (int) (intptr_t) arg;
  /* the job that may start right after our creation is ours to run */
  unsigned seen = pool.birth[id];
  in_job = 1;
  for (;;) {
    for (int i = 0; i < POOL_SPIN && atomic_load_explicit (&pool.gen, memory_order_acquire)
        == seen; i++)
      ;
    pthread_mutex_lock (&pool.mu);
    while (atomic_load (&pool.gen) == seen)
      pthread_cond_wait (&pool.go, &pool.mu);
    seen = atomic_load (&pool.gen);
    if (pool.quit) {
      pthread_mutex_unlock (&pool.mu);
      return NULL;
    }
    const par_fn fn = pool.fn;
    void *ctx = pool.ctx;
    const int nt = pool.nt;
    pthread_mutex_unlock (&pool.mu);
    if (id < nt) {
      fn (ctx, id, nt);
      if (atomic_fetch_sub (&pool.pending, 1) == 1) {
        pthread_mutex_lock (&pool.mu);
        pthread_cond_signal (&pool.done);
        pthread_mutex_unlock (&pool.mu);
      }
    }
  }
  return NULL;
}

/* At exit the workers are stopped and joined (so that their stacks and
 * scratch are freed, and leak checkers find nothing). */
__attribute__ ((destructor)) static void
pool_stop (void)
{
  pthread_mutex_lock (&pool.mu);
  pool.quit = 1;
  const int started = pool.started;
  atomic_fetch_add (&pool.gen, 1);
  pthread_cond_broadcast (&pool.go);
  pthread_mutex_unlock (&pool.mu);
  for (int i = 1; i <= started; i++)
    pthread_join (pool.th[i], NULL);
}

/* Threads the pool may use. */
static int
pool_size (void)
{
#ifdef _OPENMP
  const int t = omp_get_max_threads ();
#else
  const long t = sysconf (_SC_NPROCESSORS_ONLN);
#endif
  return t < 1 ? 1 : t > MAX_THREADS ? MAX_THREADS : (int) t;
}

/* Runs fn (ctx, t, nt) for t < nt, t = 0 on the caller; returns when all
 * are done. Fewer threads (down to 1) when workers cannot be had. */
static void
par_run (int nt, par_fn fn, void *ctx)
{
  if (nt > 1 && !in_job && pthread_mutex_trylock (&pool.job) == 0) {
    pthread_mutex_lock (&pool.mu);
    while (pool.started < nt - 1 && !pool.quit) {
      const int id = pool.started + 1;
      pool.birth[id] = atomic_load (&pool.gen);
      if (pthread_create (&pool.th[id], NULL, pool_worker, (void *) (intptr_t) id) != 0)
        break;
      pool.started++;
    }
    if (nt > pool.started + 1)
      nt = pool.started + 1;
    if (nt > 1) {
      pool.fn = fn, pool.ctx = ctx, pool.nt = nt;
      atomic_store (&pool.pending, nt - 1);
      atomic_fetch_add_explicit (&pool.gen, 1, memory_order_release);
      pthread_cond_broadcast (&pool.go);
    }
    pthread_mutex_unlock (&pool.mu);
    in_job = 1;
    fn (ctx, 0, nt);
    in_job = 0;
    if (nt > 1) {
      for (int i = 0; i < POOL_SPIN && atomic_load_explicit (&pool.pending,
          memory_order_acquire) > 0; i++)
        ;
      pthread_mutex_lock (&pool.mu);
      while (atomic_load (&pool.pending) > 0)
        pthread_cond_wait (&pool.done, &pool.mu);
      pthread_mutex_unlock (&pool.mu);
    }
    pthread_mutex_unlock (&pool.job);
    return;
  }
  fn (ctx, 0, 1);
}

/* Threads for an elementwise op over @count values. */
static int
par_threads (size_t count)
{
  return count >= PAR_MIN ? pool_size () : 1;
}

/* Threads for a convolution of @items independent items and @work
 * multiply-adds: the GEMMs run one per thread, so only when OpenBLAS itself
 * is serial (the trainer makes it so), and only when the work amortises a
 * parallel job. */
static int
gemm_threads (int items, double work)
{
  if (work < 4e6 || items < 2 || openblas_get_num_threads () != 1)
    return 1;
  const int t = pool_size ();
  return t < items ? t : items;
}


size_t
irc_tr_col_floats (int cin, int ho, int wo)
{
  return (size_t) cin * 9 * ho * wo;
}

/* GELU in float is PyTorch's CPU GELU (oneDNN's, torch_cpu.c): the
 * encoder's BatchNorm amplifies its last bit; in double, for the gradient
 * checks, the exact function. */
static double
gelu_d (double x)
{
  return 0.5 * x * (1.0 + erf (x * M_SQRT1_2));
}

static double
gelu_grad_d (double x)
{
  const double cdf = 0.5 * (1.0 + erf (x * M_SQRT1_2));
  return cdf + x * exp (-0.5 * x * x) * (0.5 * M_2_SQRTPI * M_SQRT1_2);
}

#define T float
#define FN(name) name##_f
#define GEMM cblas_sgemm
#define FMA fmaf
#define GELU irc_tr_torch_gelu
#define GELU_GRAD irc_tr_torch_gelu_grad
#include "train/ops_impl.h"
#undef T
#undef FN
#undef GEMM
#undef FMA
#undef GELU
#undef GELU_GRAD
#undef LN_BLOCK

#define T double
#define FN(name) name##_d
#define GEMM cblas_dgemm
#define FMA fma
#define GELU gelu_d
#define GELU_GRAD gelu_grad_d
#include "train/ops_impl.h"
