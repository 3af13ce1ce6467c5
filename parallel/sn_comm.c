/* Agreement across ranks and block ownership (see sn_comm.h). */
#include "sn_comm.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An MPI failure inside the agreement itself cannot be agreed: abort. */
static void sn_mpi_or_abort(int mpirc, const char *what) {
  if (mpirc == MPI_SUCCESS) return;
  char s[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(mpirc, s, &len);
  sn_eprintf("specnmf: error: %s: %s\n", what, s);
  MPI_Abort(MPI_COMM_WORLD, SN_ERR_MPI);
}

/* After the reduction: keep the message on the chosen rank only. */
static int sn_settle(MPI_Comm comm, int code, int who, int rc, sn_err *e) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  if (code == SN_OK) return SN_OK;
  if (e) {
    if (rank == who && rc == code && e->code == code) return code;
    e->code = code;
    e->msg[0] = '\0';
  }
  return code;
}

int sn_agree(MPI_Comm comm, int rc, sn_err *e) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  if (rc == SN_OK) rc = sn_fault_here(rank, e);
  if (rc != SN_OK && e && e->code == SN_OK) SN_FAIL(e, rc, "internal: failure without a message");
  /* MAXLOC picks the largest code and, among equal codes, a rank that still
   * holds a message (after an earlier agreement only the reporter does), then
   * the lowest rank. */
  int has_msg = (rc != SN_OK && e && e->msg[0] != '\0') ? 1 : 0;
  struct { int code, rank; } in = {rc * 2 + has_msg, rank}, out;
  sn_mpi_or_abort(MPI_Allreduce(&in, &out, 1, MPI_2INT, MPI_MAXLOC, comm), "MPI_Allreduce");
  out.code /= 2;
  return sn_settle(comm, out.code, out.rank, rc, e);
}

int sn_allreduce_sum_agree(MPI_Comm comm, double *buf, size_t n, int rc, sn_err *e) {
  if (rc == SN_OK) {
    int rank;
    MPI_Comm_rank(comm, &rank);
    rc = sn_fault_here(rank, e);
  }
  /* One extra slot carries "this rank failed" (1.0) so the usual case costs a
   * single allreduce; only when some rank failed does a second, tiny agreement
   * pick the code and the reporting rank. */
  if (n > (size_t)INT_MAX - 1) {
    /* Too long for one call: reduce in pieces, then agree. */
    size_t off = 0;
    while (off < n) {
      size_t m = n - off < (size_t)(INT_MAX / 2) ? n - off : (size_t)(INT_MAX / 2);
      sn_mpi_or_abort(MPI_Allreduce(MPI_IN_PLACE, buf + off, (int)m, MPI_DOUBLE, MPI_SUM, comm),
                      "MPI_Allreduce");
      off += m;
    }
    return sn_agree(comm, rc, e);
  }
  double *tmp = malloc((n + 1) * sizeof *tmp);
  if (!tmp) {
    /* Cannot even stage the buffer: still take part so nobody hangs. */
    sn_mpi_or_abort(MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_DOUBLE, MPI_SUM, comm),
                    "MPI_Allreduce");
    if (rc == SN_OK) rc = SN_FAIL(e, SN_ERR_NOMEM, "allreduce: cannot allocate %zu doubles", n + 1);
    return sn_agree(comm, rc, e);
  }
  if (n) memcpy(tmp, buf, n * sizeof *tmp);
  tmp[n] = rc != SN_OK ? 1.0 : 0.0;
  sn_mpi_or_abort(MPI_Allreduce(MPI_IN_PLACE, tmp, (int)(n + 1), MPI_DOUBLE, MPI_SUM, comm),
                  "MPI_Allreduce");
  if (n) memcpy(buf, tmp, n * sizeof *tmp);
  int any = tmp[n] != 0.0;
  free(tmp);
  if (!any) return SN_OK;
  return sn_agree(comm, rc, e); /* rare path: find the code and the reporting rank */
}

void sn_block_range(int64_t n, int size, int rank, int64_t *start, int64_t *n_local) {
  int64_t q = n / size, r = n % size;
  *n_local = q + (rank < r ? 1 : 0);
  *start = rank * q + (rank < r ? rank : r);
}

int sn_block_owner(int64_t n, int size, int64_t i) {
  int64_t q = n / size, r = n % size;
  if (i < r * (q + 1)) return (int)(i / (q + 1));
  return q ? (int)(r + (i - r * (q + 1)) / q) : size - 1;
}

int sn_mpi_count(int64_t n, const char *what, int *out, sn_err *e) {
  if (n < 0 || n > INT_MAX)
    return SN_FAIL(e, SN_ERR_INPUT, "%s: count %lld exceeds the MPI limit", what, (long long)n);
  *out = (int)n;
  return SN_OK;
}

void sn_err_print(const sn_err *e) {
  if (!e || e->code == SN_OK || e->msg[0] == '\0') return;
  sn_eprintf("specnmf: error: %s\n", e->msg);
}
