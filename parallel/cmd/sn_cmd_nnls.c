/* Command `specnmf nnls` and the solve helpers the mel commands share (see sn_cmd_nnls.h). */
#include "sn_cmd_nnls.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sn_cli.h"
#include "sn_comm.h"
#include "sn_h5.h"
#include "sn_nnls.h"
#include "sn_pstft.h"

/* Local (rank 0 prints). Columns whose pivoting hit its iteration limit are
 * not exact: say so, with how many. */
void sn_cmd_nnls_warn(sn_run *run, const char *cmd, const sn_nnls_stats *st) {
  if (st->unconverged > 0)
    SN_PROGRESS(run, "%s: warning: %lld of %lld columns stopped at the iteration limit before the KKT conditions "
                "held (largest violation %.3g); see the unconverged_columns attribute", cmd,
                (long long)st->unconverged, (long long)st->cols, st->kkt_rel);
}

/* Collective. Sum/max the statistics of every rank's solve into all ranks,
 * agreeing on rc in the same reduction. */
int sn_cmd_nnls_reduce(sn_run *run, int rc, sn_nnls_stats *st) {
  double sum[6] = {(double)st->cols, (double)st->iters, (double)st->unconverged,
                   (double)st->factorizations, st->obj, st->bnorm2};
  rc = sn_run_allreduce_sum(run, sum, 6, rc);
  if (rc) return rc;
  double mx[5] = {st->kkt_abs, st->kkt_rel, (double)st->max_iters, st->internal_ridge,
                  (double)st->fallbacks};
  SN_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, mx, 5, MPI_DOUBLE, MPI_MAX, run->comm));
  st->cols = (int64_t)sum[0];
  st->iters = (int64_t)sum[1];
  st->unconverged = (int64_t)sum[2];
  st->factorizations = (int64_t)sum[3];
  st->obj = sum[4];
  st->bnorm2 = sum[5];
  st->kkt_abs = mx[0];
  st->kkt_rel = mx[1];
  st->max_iters = (int64_t)mx[2];
  st->internal_ridge = mx[3];
  st->fallbacks = (int64_t)mx[4];
  return SN_OK;
}

/* Local. Solve the nc columns of B (m x nc) into X (n x nc, ld n). */
static int solve_block(sn_run *run, int m, int n, const float *A, int64_t nc, const float *B, float *X,
                       const sn_nnls_opts *o, sn_nnls_stats *st, const char *what) {
  int rc = sn_fault("nnls", run->rank, &run->err);
  if (rc == SN_OK && nc > 0) rc = sn_nnls_solve(m, n, A, m, nc, B, m, X, n, o, st, what, &run->err);
  return rc;
}

/* Collective. Solve this rank's columns [col0, col0 + n_local) of dataset
 * `dset` (m x N) of the open file f against the basis A (m x n), block by
 * block (every rank makes the same number of collective reads), into X
 * (n x n_local, ld n). Statistics are this rank's (reduce them after). */
int sn_cmd_nnls_solve_blocks(sn_run *run, sn_h5 *f, const char *dset, int m, int n, const float *A,
                             int64_t N, int64_t col0, int64_t n_local, int64_t block, float *X,
                             const sn_nnls_opts *o, sn_nnls_stats *st, const char *what) {
  sn_err *e = &run->err;
  int64_t s0, biggest;
  sn_block_range(N, run->size, 0, &s0, &biggest); /* rank 0 owns the largest block */
  int64_t nblk = biggest > 0 ? (biggest + block - 1) / block : 0;
  int64_t cap = n_local < block ? n_local : block;
  float *B = sn_calloc((size_t)m * (size_t)(cap > 0 ? cap : 1) * sizeof(float), "nnls: data block", e);
  int rc = sn_run_agree(run, B ? SN_OK : SN_ERR_NOMEM);
  for (int64_t b = 0; b < nblk && rc == SN_OK; b++) {
    int64_t c0 = b * block;
    int64_t nc = n_local - c0;
    if (nc < 0) nc = 0;
    if (nc > block) nc = block;
    sn_timer_begin(&run->timer, SN_PH_READ);
    rc = sn_h5_read_cols(f, dset, m, col0 + (nc > 0 ? c0 : 0), nc, B, m, e);
    sn_timer_end(&run->timer, SN_PH_READ);
    if (rc) break;
    sn_timer_begin(&run->timer, SN_PH_NNLS);
    int local = solve_block(run, m, n, A, nc, B, X + (size_t)n * c0, o, st, what);
    sn_timer_end(&run->timer, SN_PH_NNLS);
    rc = sn_run_agree(run, local);
  }
  sn_free(B);
  return rc;
}

/* Local. A basis is a 2-D array, not empty, not too large. */
static int check_basis_shape(int nd, const int64_t *dims, const char *file, const char *dset, sn_err *e) {
  if (nd != 2) return SN_FAIL(e, SN_ERR_INPUT, "%s: %s has %d dimensions, expected a 2-D basis", file, dset, nd);
  if (dims[0] < 1 || dims[1] < 1 || dims[0] > (1 << 30) || dims[1] > 65536)
    return SN_FAIL(e, SN_ERR_INPUT, "%s: basis %s of shape (%lld, %lld) is empty or too large", file, dset,
                   (long long)dims[0], (long long)dims[1]);
  return SN_OK;
}

/* Collective. Read the whole basis dataset (rows x cols) of `spec` (default
 * path dflt) into *A (allocated, column-major, ld rows), checking it is a
 * finite nonnegative 2-D array. */
static int read_basis(sn_run *run, const char *spec, const char *dflt, int *rows, int *cols,
                      float **A) {
  sn_err *e = &run->err;
  char file[4096], dset[1024];
  sn_h5 *f = NULL;
  *A = NULL;
  int nd = 0, rc;
  int64_t dims[2] = {0, 0};
  SN_AGREE(run, sn_h5_split_spec(spec, dflt, file, sizeof file, dset, sizeof dset, e));
  SN_CHECK(sn_h5_open(run->comm, file, &f, e));
  SN_CHECK(sn_h5_shape(f, dset, &nd, dims, e));
  SN_AGREE(run, check_basis_shape(nd, dims, file, dset, e));
  *rows = (int)dims[0];
  *cols = (int)dims[1];
  *A = sn_calloc((size_t)dims[0] * dims[1] * sizeof(float), "nnls: basis", e);
  SN_AGREE(run, *A ? SN_OK : SN_ERR_NOMEM);
  SN_CHECK(sn_h5_read_cols(f, dset, dims[0], 0, dims[1], *A, dims[0], e));
  char what[5200];
  snprintf(what, sizeof what, "%s:%s", file, dset);
  SN_AGREE(run, sn_nnls_check_basis(*rows, *cols, *A, *rows, what, e));
cleanup:;
  int crc = sn_h5_close(&f, 0, e);
  if (rc == SN_OK) rc = crc;
  if (rc) {
    sn_free(*A);
    *A = NULL;
  }
  return rc;
}

/* Local. Record the solve's statistics as report facts. */
void sn_cmd_nnls_facts(sn_run *run, const sn_nnls_stats *st) {
  sn_run_fact_double(run, "kkt_violation", st->kkt_rel);
  sn_run_fact_double(run, "kkt_violation_abs", st->kkt_abs);
  sn_run_fact_double(run, "relative_residual", st->bnorm2 > 0 ? sqrt(st->obj / st->bnorm2) : 0.0);
  sn_run_fact_int(run, "nnls_iterations", st->iters);
  sn_run_fact_int(run, "nnls_max_iterations", st->max_iters);
  sn_run_fact_int(run, "nnls_unconverged", st->unconverged);
  sn_run_fact_double(run, "nnls_internal_ridge", st->internal_ridge);
}

/* Collective. The solve's certificate as attributes of obj. */
int sn_cmd_nnls_attrs(sn_h5 *f, const char *obj, const sn_nnls_stats *st, double l2, sn_err *e) {
  int rc = SN_OK;
  SN_CHECK(sn_h5_attr_set_double(f, obj, "kkt_violation", st->kkt_rel, e));
  SN_CHECK(sn_h5_attr_set_double(f, obj, "kkt_violation_abs", st->kkt_abs, e));
  SN_CHECK(sn_h5_attr_set_double(f, obj, "relative_residual",
                                 st->bnorm2 > 0 ? sqrt(st->obj / st->bnorm2) : 0.0, e));
  SN_CHECK(sn_h5_attr_set_double(f, obj, "l2", l2, e));
  SN_CHECK(sn_h5_attr_set_int(f, obj, "unconverged_columns", st->unconverged, e));
cleanup:
  return rc;
}

/* ------------------------------------------------------------------------ */

/* Local. nnls's options. */
static int check_opts(const sn_common *c, const char *basis, double l2, int64_t block, sn_err *e) {
  if (!c->output) return SN_FAIL(e, SN_ERR_USAGE, "nnls: -o OUT.h5 is required");
  if (!basis) return SN_FAIL(e, SN_ERR_USAGE, "nnls: --basis FILE.h5[:/path] is required");
  if (!(l2 >= 0) || !isfinite(l2)) return SN_FAIL(e, SN_ERR_USAGE, "--l2: must be >= 0 (got %g)", l2);
  if (block < 1) return SN_FAIL(e, SN_ERR_USAGE, "--block: must be >= 1");
  return SN_OK;
}

/* Local. The data B must be 2-D with the basis's m rows and a column. */
static int check_data_shape(int nd, const int64_t *dims, int m, const char *file, const char *dset, const char *basis,
                            sn_err *e) {
  if (nd != 2) return SN_FAIL(e, SN_ERR_INPUT, "%s: %s has %d dimensions, expected 2", file, dset, nd);
  if (dims[0] != m)
    return SN_FAIL(e, SN_ERR_INPUT, "%s: %s has %lld rows but the basis %s has %d", file, dset, (long long)dims[0],
                   basis, m);
  if (dims[1] < 1) return SN_FAIL(e, SN_ERR_INPUT, "%s: %s has no columns", file, dset);
  return SN_OK;
}

/* Collective (phase write). /nnls/X (n x N) with the certificate, the
 * sources and, when the data has them, its spectrogram parameters. */
static int nnls_write(sn_run *run, sn_h5 *out, sn_h5 *in, const char *dset, const char *basis, const char *data, int n,
                      int64_t N, int64_t col0, int64_t n_local, const float *X, const sn_nnls_stats *st, double l2) {
  sn_err *e = &run->err;
  int rc;
  sn_timer_begin(&run->timer, SN_PH_WRITE);
  SN_CHECK(sn_h5_write_cols(out, "/nnls/X", n, N, col0, n_local, X, n, e));
  SN_CHECK(sn_cmd_nnls_attrs(out, "/nnls/X", st, l2, e));
  SN_CHECK(sn_h5_attr_set_str(out, "/nnls/X", "basis", basis, e));
  SN_CHECK(sn_h5_attr_set_str(out, "/nnls/X", "data", data, e));
  /* Frames keep their spectrogram parameters when the data has them. Data
   * without them (any nonnegative matrix) is valid input, so the read's
   * failure is ignored on purpose; its code is the same on every rank (a
   * collective read), so every rank takes the same branch. */
  sn_spec_params par;
  sn_err ignored = {0};
  if (sn_spec_params_read(in, dset, &par, &ignored) == SN_OK) rc = sn_spec_params_write(out, "/nnls/X", &par, e);
cleanup:
  sn_timer_end(&run->timer, SN_PH_WRITE);
  return rc;
}

int sn_cmd_nnls(sn_run *run, int argc, char **argv) {
  sn_common c = {0};
  const char *basis = NULL;
  double l2 = 0;
  int64_t block = SN_NNLS_BLOCK_DEFAULT;
  const sn_opt common[] = {
      SN_COMMON_OPTS(&c),
      {"--basis", 0, SN_OPT_STRING, &basis, "FILE.h5[:/path]", "the basis A, (m, n) (default path /nmf/W)"},
      {"--l2", 0, SN_OPT_DOUBLE, &l2, "LAMBDA", "ridge: minimise ||AX-B||^2 + LAMBDA ||X||^2 (0)"},
      {"--block", 0, SN_OPT_INT64, &block, "N", "columns (frames) read and solved at a time per rank: a count of frames, not seconds (4096)"},
      {NULL}};
  const sn_opt *const tables[] = {common, NULL};
  const char *pos[1];
  int npos = 0, done = 0;
  int rc = sn_cli_parse(run, &c, "--basis FILE.h5[:/path] SPEC.h5[:/path] -o OUT.h5 [options]",
                        "Exact nonnegative least squares X >= 0 minimising ||A X - B||_F for a basis A\n"
                        "(m, n) and data B (m, N) (default /stft/magnitude), by block principal\n"
                        "pivoting; each rank solves its block of columns. X goes to /nnls/X (n, N)\n"
                        "with the largest KKT violation and the relative residual as attributes.",
                        tables, argc, argv, pos, 1, 1, &npos, &done);
  if (rc || done) return rc;
  sn_err *e = &run->err;
  rc = sn_run_agree(run, check_opts(&c, basis, l2, block, e));
  if (rc) return rc;

  sn_h5 *out = NULL, *in = NULL;
  float *A = NULL, *X = NULL;
  int m = 0, n = 0;
  char file[4096], dset[1024];
  sn_nnls_stats st;
  sn_nnls_stats_init(&st);
  SN_CHECK(sn_h5_create(run->comm, c.output, c.force, &out, e));
  sn_timer_begin(&run->timer, SN_PH_READ);
  rc = read_basis(run, basis, "/nmf/W", &m, &n, &A);
  sn_timer_end(&run->timer, SN_PH_READ);
  if (rc) goto cleanup;
  SN_AGREE(run, sn_h5_split_spec(pos[0], "/stft/magnitude", file, sizeof file, dset, sizeof dset, e));
  SN_CHECK(sn_h5_open(run->comm, file, &in, e));
  int nd = 0;
  int64_t dims[2] = {0, 0};
  SN_CHECK(sn_h5_shape(in, dset, &nd, dims, e));
  SN_AGREE(run, check_data_shape(nd, dims, m, file, dset, basis, e));
  int64_t N = dims[1], col0, n_local;
  sn_block_range(N, run->size, run->rank, &col0, &n_local);
  X = sn_calloc((size_t)n * (size_t)(n_local > 0 ? n_local : 1) * sizeof(float), "nnls: X block", e);
  SN_AGREE(run, X ? SN_OK : SN_ERR_NOMEM);
  SN_PROGRESS(run, "nnls: basis %d x %d, %lld columns on %d rank%s", m, n, (long long)N, run->size,
              run->size > 1 ? "s" : "");
  sn_nnls_opts o;
  sn_nnls_opts_default(&o);
  o.ridge = l2;
  SN_CHECK(sn_cmd_nnls_solve_blocks(run, in, dset, m, n, A, N, col0, n_local, block, X, &o, &st, pos[0]));
  SN_CHECK(sn_cmd_nnls_reduce(run, rc, &st));
  sn_cmd_nnls_warn(run, "nnls", &st);
  SN_PROGRESS(run, "nnls: relative residual %.6g, largest KKT violation %.3g (relative), %lld iterations",
              st.bnorm2 > 0 ? sqrt(st.obj / st.bnorm2) : 0.0, st.kkt_rel, (long long)st.iters);
  rc = nnls_write(run, out, in, dset, basis, pos[0], n, N, col0, n_local, X, &st, l2);
  sn_cmd_nnls_facts(run, &st);
  sn_run_fact_int(run, "m", m);
  sn_run_fact_int(run, "n", n);
  sn_run_fact_int(run, "N", N);
cleanup:;
  int crc = sn_h5_close(&in, 0, e);
  int orc = sn_h5_close(&out, rc == SN_OK && crc == SN_OK, e);
  if (rc == SN_OK) rc = crc ? crc : orc;
  sn_free(A);
  sn_free(X);
  return rc;
}
