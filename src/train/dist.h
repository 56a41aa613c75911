/* dist: irc-train's processes when it runs data-parallel under an MPI
 * launcher (mpirun, srun). Every process ("rank") trains the same model on
 * its own share of the global batch; these calls are the only places where
 * they talk. Built without MPI, or run without a launcher, the world is one
 * process: every call returns at once without touching its buffers (a
 * gather copies the caller's own part), so a single process runs exactly
 * the arithmetic it always did. Calls never print; failures are statuses. */
#ifndef IRC_TRAIN_DIST_H
#define IRC_TRAIN_DIST_H

#include "irc/irc.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
  int rank;          /**< this process, 0 .. size - 1; rank 0 writes the files */
  int size;          /**< processes in the job (1 without a launcher) */
  int started;       /**< MPI was initialised by irc_dist_init (finish it) */
  double comm_s;     /**< wall seconds spent inside communication calls, waiting
                          for slower ranks included */
} irc_dist;

/* Whether MPI support was built in (the 'mpi' build option). */
int irc_dist_available (void);

/* The name of the launcher whose environment this process was started in
 * (OpenMPI's OMPI_COMM_WORLD_SIZE, a PMI launcher's PMI_SIZE, Slurm's
 * srun), or NULL when it was started on its own. */
const char *irc_dist_launcher (void);

/* Fills @d: a world of one without a launcher; under one, initialises MPI
 * (calls from the main thread only) and takes this process's rank. Under a
 * launcher in a build without MPI this is an error, since every process
 * would train the whole batch alone and write the same files. */
irc_status irc_dist_init (irc_dist *d, int *argc, char ***argv, irc_error *err);

/* Ends MPI if irc_dist_init started it. */
void irc_dist_finish (irc_dist *d);

/* Stops every process of the job now (MPI_Abort) with @code; returns only
 * in a world of one. */
void irc_dist_abort (irc_dist *d, int code);

/* @buf (@count floats) becomes the sum over the ranks, in place; the same
 * bits on every rank. */
irc_status irc_dist_sum_f (irc_dist *d, float *buf, size_t count, irc_error *err);

/* @all (size x @count floats) becomes every rank's @mine in rank order. */
irc_status irc_dist_gather_f (irc_dist *d, const float *mine, float *all, size_t count,
    irc_error *err);
irc_status irc_dist_gather_d (irc_dist *d, const double *mine, double *all, size_t count,
    irc_error *err);

/* @value becomes the largest of the ranks' values. */
irc_status irc_dist_max_i (irc_dist *d, int *value, irc_error *err);

/* @value becomes rank 0's. */
irc_status irc_dist_broadcast_u64 (irc_dist *d, uint64_t *value, irc_error *err);

#endif
