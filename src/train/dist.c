/* dist: the MPI calls of data-parallel training (dist.h), and their
 * single-process stand-ins when MPI is not built in or not launched. */
#include "train/dist.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#if IRC_HAVE_MPI
#include <limits.h>
#include <mpi.h>
#endif

int
irc_dist_available (void)
{
  return IRC_HAVE_MPI;
}

const char *
irc_dist_launcher (void)
{
  if (getenv ("OMPI_COMM_WORLD_SIZE"))
    return "mpirun (OpenMPI)";
  if (getenv ("PMI_SIZE") || getenv ("PMIX_RANK"))
    return "an MPI launcher (PMI)";
  /* set for the tasks of an srun step, not in a batch script's own shell */
  if (getenv ("SLURM_STEP_NUM_TASKS"))
    return "srun";
  return NULL;
}

#if IRC_HAVE_MPI

static double
wall_now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static irc_status
mpi_fail (irc_dist *d, int code, const char *call, irc_error *err)
{
  char text[MPI_MAX_ERROR_STRING] = "";
  int len = 0;
  MPI_Error_string (code, text, &len);
  return irc_fail (err, IRC_ERR_IO, "rank %d: %s failed: %s", d->rank, call, text);
}

irc_status
irc_dist_init (irc_dist *d, int *argc, char ***argv, irc_error *err)
{
  memset (d, 0, sizeof *d);
  d->size = 1;
  if (!irc_dist_launcher ())
    return IRC_OK;
  int provided = 0;
  /* only the main thread calls MPI; OpenMP and the prefetch thread never do */
  int rc = MPI_Init_thread (argc, argv, MPI_THREAD_FUNNELED, &provided);
  if (rc != MPI_SUCCESS)
    return irc_fail (err, IRC_ERR_IO, "MPI_Init_thread failed (code %d)", rc);
  d->started = 1;
  /* failures come back as statuses: the caller names its rank and exits,
   * and the launcher then ends the whole job */
  MPI_Comm_set_errhandler (MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank (MPI_COMM_WORLD, &d->rank);
  MPI_Comm_size (MPI_COMM_WORLD, &d->size);
  return IRC_OK;
}

void
irc_dist_finish (irc_dist *d)
{
  if (d->started)
    MPI_Finalize ();
  d->started = 0;
}

void
irc_dist_abort (irc_dist *d, int code)
{
  if (d->started)
    MPI_Abort (MPI_COMM_WORLD, code);
}

irc_status
irc_dist_sum_f (irc_dist *d, float *buf, size_t count, irc_error *err)
{
  if (d->size <= 1)
    return IRC_OK;
  const double t0 = wall_now ();
  int rc = MPI_SUCCESS;
  /* one call unless the buffer outgrows an int count */
  for (size_t off = 0; off < count && rc == MPI_SUCCESS;) {
    const size_t chunk = count - off < (size_t) INT_MAX ? count - off : (size_t) INT_MAX;
    rc = MPI_Allreduce (MPI_IN_PLACE, buf + off, (int) chunk, MPI_FLOAT, MPI_SUM,
        MPI_COMM_WORLD);
    off += chunk;
  }
  d->comm_s += wall_now () - t0;
  return rc == MPI_SUCCESS ? IRC_OK : mpi_fail (d, rc, "MPI_Allreduce", err);
}

static irc_status
gather (irc_dist *d, const void *mine, void *all, size_t count, MPI_Datatype type,
    size_t elem, irc_error *err)
{
  if (d->size <= 1) {
    if (all != mine)
      memmove (all, mine, count * elem);
    return IRC_OK;
  }
  if (count > (size_t) INT_MAX)
    return irc_fail (err, IRC_ERR_INVALID, "rank %d: %zu values are too many to gather",
        d->rank, count);
  const double t0 = wall_now ();
  const int rc = MPI_Allgather (mine, (int) count, type, all, (int) count, type,
      MPI_COMM_WORLD);
  d->comm_s += wall_now () - t0;
  return rc == MPI_SUCCESS ? IRC_OK : mpi_fail (d, rc, "MPI_Allgather", err);
}

irc_status
irc_dist_gather_f (irc_dist *d, const float *mine, float *all, size_t count, irc_error *err)
{
  return gather (d, mine, all, count, MPI_FLOAT, sizeof (float), err);
}

irc_status
irc_dist_gather_d (irc_dist *d, const double *mine, double *all, size_t count, irc_error *err)
{
  return gather (d, mine, all, count, MPI_DOUBLE, sizeof (double), err);
}

irc_status
irc_dist_max_i (irc_dist *d, int *value, irc_error *err)
{
  if (d->size <= 1)
    return IRC_OK;
  const double t0 = wall_now ();
  const int rc = MPI_Allreduce (MPI_IN_PLACE, value, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  d->comm_s += wall_now () - t0;
  return rc == MPI_SUCCESS ? IRC_OK : mpi_fail (d, rc, "MPI_Allreduce", err);
}

irc_status
irc_dist_broadcast_u64 (irc_dist *d, uint64_t *value, irc_error *err)
{
  if (d->size <= 1)
    return IRC_OK;
  const double t0 = wall_now ();
  const int rc = MPI_Bcast (value, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  d->comm_s += wall_now () - t0;
  return rc == MPI_SUCCESS ? IRC_OK : mpi_fail (d, rc, "MPI_Bcast", err);
}

#else /* no MPI: a world of one */

/* The job size a launcher put in the environment: 0 when absent. */
static int
env_size (const char *name)
{
  const char *v = getenv (name);
  return v && *v ? atoi (v) : 0;
}

/* More than one process in the launcher's job (0: unknown). */
static int
launched_size (void)
{
  int n = env_size ("OMPI_COMM_WORLD_SIZE");
  if (n == 0)
    n = env_size ("PMI_SIZE");
  if (n == 0)
    n = env_size ("SLURM_STEP_NUM_TASKS");
  return n;
}

irc_status
irc_dist_init (irc_dist *d, int *argc, char ***argv, irc_error *err)
{
  (void) argc, (void) argv;
  memset (d, 0, sizeof *d);
  d->size = 1;
  const char *launcher = irc_dist_launcher ();
  if (launcher && launched_size () != 1)
    return irc_fail (err, IRC_ERR_INVALID,
        "started by %s, but this irc-train was built without MPI (build option -Dmpi, "
        "package libopenmpi-dev): each process would train alone and write the same files",
        launcher);
  return IRC_OK;
}

void
irc_dist_finish (irc_dist *d)
{
  (void) d;
}

void
irc_dist_abort (irc_dist *d, int code)
{
  (void) d, (void) code;
}

irc_status
irc_dist_sum_f (irc_dist *d, float *buf, size_t count, irc_error *err)
{
  (void) d, (void) buf, (void) count, (void) err;
  return IRC_OK;
}

irc_status
irc_dist_gather_f (irc_dist *d, const float *mine, float *all, size_t count, irc_error *err)
{
  (void) d, (void) err;
  if (all != mine)
    memmove (all, mine, count * sizeof (float));
  return IRC_OK;
}

irc_status
irc_dist_gather_d (irc_dist *d, const double *mine, double *all, size_t count, irc_error *err)
{
  (void) d, (void) err;
  if (all != mine)
    memmove (all, mine, count * sizeof (double));
  return IRC_OK;
}

irc_status
irc_dist_max_i (irc_dist *d, int *value, irc_error *err)
{
  (void) d, (void) value, (void) err;
  return IRC_OK;
}

irc_status
irc_dist_broadcast_u64 (irc_dist *d, uint64_t *value, irc_error *err)
{
  (void) d, (void) value, (void) err;
  return IRC_OK;
}

#endif
