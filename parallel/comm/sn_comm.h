#pragma once
/* Everything ranks must agree on: failure agreement, block ownership of frames
 * (columns), and the checked conversion of 64-bit counts to MPI ints.
 * The rule: a collective step either succeeds on all ranks or fails on all of
 * them with the same code, and exactly one rank (the one whose failure was
 * chosen) keeps the message to print. */
#include <mpi.h>
#include "sn_base.h"

/* Local. Check an MPI call in the spirit of PETSc's PetscCallMPI: when it does
 * not return MPI_SUCCESS (the communicators' error handler is
 * MPI_ERRORS_RETURN), print "specnmf: error: FILE:LINE: CALL: MPI's reason"
 * from this rank and MPI_Abort the job. A failed MPI call cannot be agreed
 * (ranks may stand at different points of a collective), so ending the job is
 * the only way no rank waits forever. A call whose failure the caller turns
 * into an agreed code (MPI-IO in io/sn_wav.c, the halo exchange below) tests
 * the return code itself instead. */
#define SN_MPI_CALL(call) sn_mpi_check((call), #call, __FILE__, __LINE__)
void sn_mpi_check(int mpirc, const char *call, const char *file, int line);

/* Collective. Agree on the outcome of a step: rc is this rank's local code
 * (SN_OK or a failure recorded in e). Returns the largest code over ranks; on
 * failure, the lowest rank holding that code keeps its message in e, every
 * other rank gets e->code set and e->msg emptied (it prints nothing). Never
 * hangs if every rank calls it; an MPI failure here aborts the job. */
int sn_agree(MPI_Comm comm, int rc, sn_err *e);

/* Collective. SN_CHECK of an agreed local code on comm (the io/ layer's
 * form of SN_AGREE in sn_run.h): evaluate expr, agree, jump to `cleanup`
 * with rc set when any rank failed. */
#define SN_AGREE_ON(comm, expr, e) SN_CHECK(sn_agree((comm), (expr), (e)))

/* Collective. Sum n doubles in place over comm and agree on rc in the same
 * single allreduce (one extra slot). Returns the agreed code as sn_agree. */
int sn_allreduce_sum_agree(MPI_Comm comm, double *buf, size_t n, int rc, sn_err *e);

/* Local. Contiguous block ownership of n items over size ranks: the first
 * n % size ranks get one more. Ranks beyond n own nothing (n_local = 0). */
void sn_block_range(int64_t n, int size, int rank, int64_t *start, int64_t *n_local);

/* Local. Owner rank of global item i under sn_block_range. */
int sn_block_owner(int64_t n, int size, int64_t i);

/* Local. Convert a 64-bit count to an MPI int count, failing (SN_ERR_INPUT)
 * with "what: count N exceeds the MPI limit" when it does not fit. */
int sn_mpi_count(int64_t n, const char *what, int *out, sn_err *e);

/* Print e (if this rank holds the message) as the one line
 * "specnmf: error: MSG" on stderr. Local. */
void sn_err_print(const sn_err *e);

/* Collective over the ranks with nonzero counts. Exchange regions of one
 * buffer: scount[q] floats from buf + sdispl[q] go to rank q, rcount[q] floats
 * from rank q arrive at buf + rdispl[q] (Alltoallv's arguments). The regions
 * sent and those received must be disjoint: point-to-point messages make that
 * legal, where one MPI_Alltoallv with the same buffer on both sides would
 * alias its arguments. reqs has room for 2 x comm size requests. Returns the
 * MPI code: the caller turns a failure into an agreed error (the halo
 * exchanges of parallel/sn_poverlap.c, through sn_run_exchange_floats). */
#define SN_TAG_HALO 4242
int sn_exchange_floats(MPI_Comm comm, float *buf, const int *scount, const int *sdispl, const int *rcount,
                       const int *rdispl, MPI_Request *reqs);
