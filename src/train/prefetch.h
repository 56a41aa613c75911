/* prefetch: a producer run one item ahead of its consumer on a worker
 * thread, double-buffered. irc-train prepares batch k + 1 (crops,
 * degradations, JPEG) while step k runs. The producer fills slot 0 or 1;
 * items are produced strictly in order, one at a time, so whatever state the
 * producer advances (the data RNGs) advances in the same sequence as when
 * the items are made in turn on the consumer's thread. */
#ifndef IRC_TRAIN_PREFETCH_H
#define IRC_TRAIN_PREFETCH_H

#include "irc/irc.h"

#include <stdint.h>

/* Makes item number @index (0, 1, 2, ...) into slot @slot (index % 2). */
typedef irc_status (*irc_tr_produce_fn) (void *user, int64_t index, int slot, irc_error *err);

typedef struct irc_tr_prefetch irc_tr_prefetch;

/* A prefetcher for @count items. With @async the worker thread starts on
 * item 0 at once (with every signal blocked, and @threads OpenMP threads
 * for its own parallel regions when > 0); without it, each item is made by
 * irc_tr_prefetch_next on the calling thread, as a plain loop would. */
irc_status irc_tr_prefetch_new (irc_tr_produce_fn produce, void *user, int64_t count,
    int async, int threads, irc_tr_prefetch **out, irc_error *err);

/* Waits for the next item and gives its slot, which stays the caller's
 * until the next call; the slot of the item before it goes back to the
 * worker, which starts on the item after. An item whose production failed
 * returns its status and error, and nothing is produced after it. Past
 * @count items: IRC_ERR_INVALID. */
irc_status irc_tr_prefetch_next (irc_tr_prefetch *pf, int *slot, irc_error *err);

/* Waits for the worker (an item in production is finished and dropped) and
 * frees. */
void irc_tr_prefetch_free (irc_tr_prefetch **pf);

#endif
