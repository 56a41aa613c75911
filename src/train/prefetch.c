/* prefetch: one item ahead on a worker thread (prefetch.h). */
#include "train/prefetch.h"
#include "error.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#ifdef _OPENMP
#include <omp.h>
#endif

struct irc_tr_prefetch {
  irc_tr_produce_fn produce;
  void *user;
  int64_t count;
  int async, threads, started;
  pthread_t th;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int64_t produced;        /* items finished, well or not */
  int64_t taken;           /* items handed to the consumer; it holds taken - 1 */
  int64_t failed;          /* the item whose production failed, or -1 */
  int quit;
  irc_status st[2];
  irc_error err[2];
};

static void *
worker (void *arg)
{
  irc_tr_prefetch *pf = arg;
#ifdef _OPENMP
  if (pf->threads > 0)
    omp_set_num_threads (pf->threads);
#endif
  pthread_mutex_lock (&pf->mu);
  for (;;) {
    /* item i goes into the slot of item i - 2, free once the consumer has
     * taken item i - 1 */
    while (!pf->quit && !(pf->failed < 0 && pf->produced < pf->count
          && pf->produced <= pf->taken))
      pthread_cond_wait (&pf->cv, &pf->mu);
    if (pf->quit)
      break;
    const int64_t i = pf->produced;
    pthread_mutex_unlock (&pf->mu);
    irc_error e = { 0 };
    const irc_status st = pf->produce (pf->user, i, (int) (i % 2), &e);
    pthread_mutex_lock (&pf->mu);
    pf->st[i % 2] = st;
    pf->err[i % 2] = e;
    if (st != IRC_OK)
      pf->failed = i;
    pf->produced = i + 1;
    pthread_cond_broadcast (&pf->cv);
  }
  pthread_mutex_unlock (&pf->mu);
  return NULL;
}

irc_status
irc_tr_prefetch_new (irc_tr_produce_fn produce, void *user, int64_t count, int async,
    int threads, irc_tr_prefetch **out, irc_error *err)
{
  irc_tr_prefetch *pf = calloc (1, sizeof *pf);
  if (!pf)
    return irc_fail (err, IRC_ERR_NOMEM, "out of memory");
  pf->produce = produce;
  pf->user = user;
  pf->count = count;
  pf->async = async;
  pf->threads = threads;
  pf->failed = -1;
  if (async) {
    pthread_mutex_init (&pf->mu, NULL);
    pthread_cond_init (&pf->cv, NULL);
    /* signals (Ctrl-C) stay with the training loop's thread */
    sigset_t all, old;
    sigfillset (&all);
    pthread_sigmask (SIG_SETMASK, &all, &old);
    const int rc = pthread_create (&pf->th, NULL, worker, pf);
    pthread_sigmask (SIG_SETMASK, &old, NULL);
    if (rc != 0) {
      /* no thread: the items are made in turn by irc_tr_prefetch_next */
      pthread_cond_destroy (&pf->cv);
      pthread_mutex_destroy (&pf->mu);
      pf->async = 0;
    } else {
      pf->started = 1;
    }
  }
  *out = pf;
  return IRC_OK;
}

irc_status
irc_tr_prefetch_next (irc_tr_prefetch *pf, int *slot, irc_error *err)
{
  if (pf->taken >= pf->count)
    return irc_fail (err, IRC_ERR_INVALID, "prefetch: all %lld items taken",
        (long long) pf->count);
  const int64_t i = pf->taken;
  *slot = (int) (i % 2);
  if (!pf->async) {
    pf->taken = i + 1;
    if (err) {
      err->status = IRC_OK;
      err->message[0] = 0;
    }
    return pf->produce (pf->user, i, *slot, err);
  }
  pthread_mutex_lock (&pf->mu);
  pf->taken = i + 1;   /* gives item i - 1's slot back: the worker may start item i + 1 */
  pthread_cond_broadcast (&pf->cv);
  while (pf->produced <= i && pf->failed < 0)
    pthread_cond_wait (&pf->cv, &pf->mu);
  irc_status st;
  if (pf->produced <= i) {
    st = irc_fail (err, IRC_ERR_INVALID, "prefetch: item %lld failed before item %lld",
        (long long) pf->failed, (long long) i);
  } else {
    st = pf->st[*slot];
    if (err)
      *err = pf->err[*slot];
  }
  pthread_mutex_unlock (&pf->mu);
  return st;
}

void
irc_tr_prefetch_free (irc_tr_prefetch **pfp)
{
  if (!pfp || !*pfp)
    return;
  irc_tr_prefetch *pf = *pfp;
  if (pf->started) {
    pthread_mutex_lock (&pf->mu);
    pf->quit = 1;
    pthread_cond_broadcast (&pf->cv);
    pthread_mutex_unlock (&pf->mu);
    pthread_join (pf->th, NULL);
    pthread_cond_destroy (&pf->cv);
    pthread_mutex_destroy (&pf->mu);
  }
  free (pf);
  *pfp = NULL;
}
