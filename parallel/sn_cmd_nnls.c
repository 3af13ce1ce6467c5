/* Commands `specnmf nnls`, `specnmf mel`, `specnmf mel-invert` (see sn_cmd_nnls.h). */
#include "sn_cmd_nnls.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include SN_BLAS_HEADER

#include "sn_cli.h"
#include "sn_cmd_separate.h"
#include "sn_comm.h"
#include "sn_h5.h"
#include "sn_mel.h"
#include "sn_nnls.h"
#include "sn_pstft.h"

/* Columns of B read and solved at a time on each rank (bounds memory). */
#define SN_NNLS_BLOCK_DEFAULT 4096

/* Local (rank 0 prints). Columns whose pivoting hit its iteration limit are
 * not exact: say so, with how many. */
static void warn_unconverged(sn_run *run, const char *cmd, const sn_nnls_stats *st) {
  if (st->unconverged > 0)
    SN_PROGRESS(run, "%s: warning: %lld of %lld columns stopped at the iteration limit before the KKT conditions "
                "held (largest violation %.3g); see the unconverged_columns attribute", cmd,
                (long long)st->unconverged, (long long)st->cols, st->kkt_rel);
}

/* Collective. Sum/max the statistics of every rank's solve into all ranks,
 * agreeing on rc in the same reduction. */
static int stats_reduce(sn_run *run, int rc, sn_nnls_stats *st) {
  double sum[6] = {(double)st->cols, (double)st->iters, (double)st->unconverged,
                   (double)st->factorizations, st->obj, st->bnorm2};
  rc = sn_allreduce_sum_agree(run->comm, sum, 6, rc, &run->err);
  if (rc) return rc;
  double mx[5] = {st->kkt_abs, st->kkt_rel, (double)st->max_iters, st->internal_ridge,
                  (double)st->fallbacks};
  if (MPI_Allreduce(MPI_IN_PLACE, mx, 5, MPI_DOUBLE, MPI_MAX, run->comm) != MPI_SUCCESS)
    return sn_agree(run->comm, SN_FAIL(&run->err, SN_ERR_MPI, "nnls: MPI_Allreduce failed"),
                    &run->err);
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

/* Collective. Solve this rank's columns [col0, col0 + n_local) of dataset
 * `dset` (m x N) of the open file f against the basis A (m x n), block by
 * block (every rank makes the same number of collective reads), into X
 * (n x n_local, ld n). Statistics are this rank's (reduce them after). */
static int solve_blocks(sn_run *run, sn_h5 *f, const char *dset, int m, int n, const float *A,
                        int64_t N, int64_t col0, int64_t n_local, int64_t block, float *X,
                        const sn_nnls_opts *o, sn_nnls_stats *st, const char *what) {
  sn_err *e = &run->err;
  int64_t s0, biggest;
  sn_block_range(N, run->size, 0, &s0, &biggest); /* rank 0 owns the largest block */
  int64_t nblk = biggest > 0 ? (biggest + block - 1) / block : 0;
  int64_t cap = n_local < block ? n_local : block;
  float *B = sn_calloc((size_t)m * (size_t)(cap > 0 ? cap : 1) * sizeof(float), "nnls: data block", e);
  int rc = sn_agree(run->comm, B ? SN_OK : SN_ERR_NOMEM, e);
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
    int lrc = sn_fault("nnls", run->rank, e);
    if (lrc == SN_OK && nc > 0)
      lrc = sn_nnls_solve(m, n, A, m, nc, B, m, X + (size_t)n * c0, n, o, st, what, e);
    sn_timer_end(&run->timer, SN_PH_NNLS);
    rc = sn_agree(run->comm, lrc, e);
  }
  sn_free(B);
  return rc;
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
  int rc = sn_agree(run->comm, sn_h5_split_spec(spec, dflt, file, sizeof file, dset, sizeof dset, e), e);
  if (rc) return rc;
  int nd = 0;
  int64_t dims[2] = {0, 0};
  SN_CHECK(sn_h5_open(run->comm, file, &f, e));
  SN_CHECK(sn_h5_shape(f, dset, &nd, dims, e));
  if (nd != 2)
    rc = SN_FAIL(e, SN_ERR_INPUT, "%s: %s has %d dimensions, expected a 2-D basis", file, dset, nd);
  else if (dims[0] < 1 || dims[1] < 1 || dims[0] > (1 << 30) || dims[1] > 65536)
    rc = SN_FAIL(e, SN_ERR_INPUT, "%s: basis %s of shape (%lld, %lld) is empty or too large", file,
                 dset, (long long)dims[0], (long long)dims[1]);
  SN_CHECK(sn_agree(run->comm, rc, e));
  *rows = (int)dims[0];
  *cols = (int)dims[1];
  *A = sn_calloc((size_t)dims[0] * dims[1] * sizeof(float), "nnls: basis", e);
  SN_CHECK(sn_agree(run->comm, *A ? SN_OK : SN_ERR_NOMEM, e));
  SN_CHECK(sn_h5_read_cols(f, dset, dims[0], 0, dims[1], *A, dims[0], e));
  char what[5200];
  snprintf(what, sizeof what, "%s:%s", file, dset);
  SN_CHECK(sn_agree(run->comm, sn_nnls_check_basis(*rows, *cols, *A, *rows, what, e), e));
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
static void stats_facts(sn_run *run, const sn_nnls_stats *st) {
  sn_run_fact_double(run, "kkt_violation", st->kkt_rel);
  sn_run_fact_double(run, "kkt_violation_abs", st->kkt_abs);
  sn_run_fact_double(run, "relative_residual", st->bnorm2 > 0 ? sqrt(st->obj / st->bnorm2) : 0.0);
  sn_run_fact_int(run, "nnls_iterations", st->iters);
  sn_run_fact_int(run, "nnls_max_iterations", st->max_iters);
  sn_run_fact_int(run, "nnls_unconverged", st->unconverged);
  sn_run_fact_double(run, "nnls_internal_ridge", st->internal_ridge);
}

/* Collective. The solve's certificate as attributes of obj. */
static int stats_attrs(sn_h5 *f, const char *obj, const sn_nnls_stats *st, double l2, sn_err *e) {
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
  if (!c.output) rc = SN_FAIL(e, SN_ERR_USAGE, "nnls: -o OUT.h5 is required");
  else if (!basis) rc = SN_FAIL(e, SN_ERR_USAGE, "nnls: --basis FILE.h5[:/path] is required");
  else if (!(l2 >= 0) || !isfinite(l2)) rc = SN_FAIL(e, SN_ERR_USAGE, "--l2: must be >= 0 (got %g)", l2);
  else if (block < 1) rc = SN_FAIL(e, SN_ERR_USAGE, "--block: must be >= 1");
  rc = sn_agree(run->comm, rc, e);
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
  SN_CHECK(sn_agree(run->comm, sn_h5_split_spec(pos[0], "/stft/magnitude", file, sizeof file, dset, sizeof dset, e), e));
  SN_CHECK(sn_h5_open(run->comm, file, &in, e));
  int nd = 0;
  int64_t dims[2] = {0, 0};
  SN_CHECK(sn_h5_shape(in, dset, &nd, dims, e));
  if (nd != 2)
    rc = SN_FAIL(e, SN_ERR_INPUT, "%s: %s has %d dimensions, expected 2", file, dset, nd);
  else if (dims[0] != m)
    rc = SN_FAIL(e, SN_ERR_INPUT, "%s: %s has %lld rows but the basis %s has %d", file, dset,
                 (long long)dims[0], basis, m);
  else if (dims[1] < 1)
    rc = SN_FAIL(e, SN_ERR_INPUT, "%s: %s has no columns", file, dset);
  SN_CHECK(sn_agree(run->comm, rc, e));
  int64_t N = dims[1], col0, n_local;
  sn_block_range(N, run->size, run->rank, &col0, &n_local);
  X = sn_calloc((size_t)n * (size_t)(n_local > 0 ? n_local : 1) * sizeof(float), "nnls: X block", e);
  SN_CHECK(sn_agree(run->comm, X ? SN_OK : SN_ERR_NOMEM, e));
  SN_PROGRESS(run, "nnls: basis %d x %d, %lld columns on %d rank%s", m, n, (long long)N, run->size,
              run->size > 1 ? "s" : "");
  sn_nnls_opts o;
  sn_nnls_opts_default(&o);
  o.ridge = l2;
  SN_CHECK(solve_blocks(run, in, dset, m, n, A, N, col0, n_local, block, X, &o, &st, pos[0]));
  SN_CHECK(stats_reduce(run, rc, &st));
  warn_unconverged(run, "nnls", &st);
  SN_PROGRESS(run, "nnls: relative residual %.6g, largest KKT violation %.3g (relative), %lld iterations",
              st.bnorm2 > 0 ? sqrt(st.obj / st.bnorm2) : 0.0, st.kkt_rel, (long long)st.iters);
  sn_timer_begin(&run->timer, SN_PH_WRITE);
  rc = sn_h5_write_cols(out, "/nnls/X", n, N, col0, n_local, X, n, e);
  if (rc == SN_OK) rc = stats_attrs(out, "/nnls/X", &st, l2, e);
  if (rc == SN_OK) rc = sn_h5_attr_set_str(out, "/nnls/X", "basis", basis, e);
  if (rc == SN_OK) rc = sn_h5_attr_set_str(out, "/nnls/X", "data", pos[0], e);
  if (rc == SN_OK) {
    /* Frames keep their spectrogram parameters when the data has them. */
    sn_spec_params par;
    sn_err quiet = {0};
    if (sn_spec_params_read(in, dset, &par, &quiet) == SN_OK)
      rc = sn_spec_params_write(out, "/nnls/X", &par, e);
  }
  sn_timer_end(&run->timer, SN_PH_WRITE);
  stats_facts(run, &st);
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

/* ------------------------------------------------------------------------ */

typedef struct {
  int n_mels, htk, norm_slaney;
  double fmin, fmax;
} sn_mel_cfg;

/* Collective. The mel parameters as attributes of obj. */
static int mel_attrs_write(sn_h5 *f, const char *obj, const sn_mel_cfg *m, sn_err *e) {
  int rc = SN_OK;
  SN_CHECK(sn_h5_attr_set_int(f, obj, "n_mels", m->n_mels, e));
  SN_CHECK(sn_h5_attr_set_double(f, obj, "fmin", m->fmin, e));
  SN_CHECK(sn_h5_attr_set_double(f, obj, "fmax", m->fmax, e));
  SN_CHECK(sn_h5_attr_set_int(f, obj, "htk", m->htk, e));
  SN_CHECK(sn_h5_attr_set_str(f, obj, "norm", m->norm_slaney ? "slaney" : "none", e));
cleanup:
  return rc;
}

int sn_cmd_mel(sn_run *run, int argc, char **argv) {
  sn_common c = {0};
  sn_stft_cfg cfg = SN_STFT_CFG_DEFAULT;
  cfg.power = 2; /* librosa.feature.melspectrogram's default */
  sn_mel_cfg mc = {128, 0, 1, 0.0, 0.0};
  const char *norm = "slaney";
  const sn_opt common[] = {
      SN_COMMON_OPTS(&c),
      {"--n-mels", 0, SN_OPT_INT, &mc.n_mels, "N", "mel bands (128)"},
      {"--fmin", 0, SN_OPT_DOUBLE, &mc.fmin, "HZ", "lowest frequency (0)"},
      {"--fmax", 0, SN_OPT_DOUBLE, &mc.fmax, "HZ", "highest frequency (sr/2)"},
      {"--htk", 0, SN_OPT_FLAG, &mc.htk, NULL, "HTK mel scale instead of Slaney's"},
      {"--norm", 0, SN_OPT_STRING, &norm, "slaney|none", "band normalisation (slaney: constant area)"},
      {NULL}};
  const sn_opt stft[] = {SN_STFT_OPTS(&cfg), {NULL}};
  const sn_opt *const tables[] = {common, stft, NULL};
  const char *pos[1];
  int npos = 0, done = 0;
  int rc = sn_cli_parse(run, &c, "IN -o OUT.h5 [options]",
                        "Mel spectrogram (librosa.feature.melspectrogram: mel basis @ |STFT|^power,\n"
                        "power 2 by default) of a recording, or of a stored spectrogram FILE.h5[:/path],\n"
                        "to /mel/spectrogram (n_mels, frames); the filterbank goes to /mel/basis.",
                        tables, argc, argv, pos, 1, 1, &npos, &done);
  if (rc || done) return rc;
  sn_err *e = &run->err;
  if (!c.output) rc = SN_FAIL(e, SN_ERR_USAGE, "mel: -o OUT.h5 is required");
  else if (strcmp(norm, "slaney") != 0 && strcmp(norm, "none") != 0)
    rc = SN_FAIL(e, SN_ERR_USAGE, "--norm: must be slaney or none (got %s)", norm);
  else if (mc.n_mels < 1) rc = SN_FAIL(e, SN_ERR_USAGE, "--n-mels: must be >= 1");
  mc.norm_slaney = strcmp(norm, "slaney") == 0;
  rc = sn_agree(run->comm, rc, e);
  if (rc) return rc;

  sn_h5 *out = NULL;
  sn_spec s;
  memset(&s, 0, sizeof s);
  float *M = NULL, *Y = NULL;
  SN_CHECK(sn_h5_create(run->comm, c.output, c.force, &out, e));
  /* A stored spectrogram (HDF5 without /audio) or a recording. */
  int stored = 0;
  {
    char file[4096], dset[1024];
    SN_CHECK(sn_agree(run->comm, sn_h5_split_spec(pos[0], "/stft/magnitude", file, sizeof file, dset, sizeof dset, e), e));
    if (sn_h5_is_hdf5(file)) {
      sn_h5 *f = NULL;
      SN_CHECK(sn_h5_open(run->comm, file, &f, e));
      stored = strchr(pos[0], ':') != NULL || !sn_h5_exists(f, "/audio");
      SN_CHECK(sn_h5_close(&f, 0, e));
    }
  }
  if (stored) {
    SN_CHECK(sn_spec_read(run, pos[0], 0, &s));
    int frc = SN_OK; /* a stored spectrogram may hold NaN/Inf: refuse, as nmf and nnls do */
    for (size_t q = 0; q < (size_t)s.F * (size_t)s.n_local && frc == SN_OK; q++)
      if (!isfinite(s.mag[q]))
        frc = SN_FAIL(e, SN_ERR_INPUT, "%s: non-finite value at (%lld, %lld)", pos[0], (long long)(q % (size_t)s.F),
                      (long long)(s.start + (int64_t)(q / (size_t)s.F)));
    SN_CHECK(sn_agree(run->comm, frc, e));
    if (s.par.power != cfg.power) {
      /* |S|^p from a stored |S|^q */
      double ex = (double)cfg.power / s.par.power;
      for (size_t q = 0; q < (size_t)s.F * s.n_local; q++) s.mag[q] = (float)pow(s.mag[q], ex);
      s.par.power = cfg.power;
    }
  } else {
    SN_CHECK(sn_pstft_compute(run, pos[0], &cfg, 0, &s));
  }
  if (mc.fmax <= 0) mc.fmax = s.par.sample_rate / 2;
  sn_timer_begin(&run->timer, SN_PH_MEL);
  int empty = 0;
  M = sn_calloc((size_t)mc.n_mels * s.F * sizeof(float), "mel: basis", e);
  Y = sn_calloc((size_t)mc.n_mels * (s.n_local > 0 ? s.n_local : 1) * sizeof(float), "mel: block", e);
  int lrc = (M && Y) ? SN_OK : SN_ERR_NOMEM;
  if (lrc == SN_OK)
    lrc = sn_mel_filterbank(s.par.sample_rate, s.par.n_fft, mc.n_mels, mc.fmin, mc.fmax, mc.htk,
                            mc.norm_slaney, M, mc.n_mels, &empty, e);
  if (lrc == SN_OK) lrc = sn_fault("mel", run->rank, e);
  if (lrc == SN_OK && s.n_local > 0)
    cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, mc.n_mels, (int)s.n_local, s.F, 1.0f, M,
                mc.n_mels, s.mag, s.F, 0.0f, Y, mc.n_mels);
  sn_timer_end(&run->timer, SN_PH_MEL);
  SN_CHECK(sn_agree(run->comm, lrc, e));
  if (empty > 0)
    SN_PROGRESS(run, "mel: warning: %d empty mel band%s (raise the sample rate or fmax, or lower n_mels)",
                empty, empty > 1 ? "s" : "");
  sn_timer_begin(&run->timer, SN_PH_WRITE);
  rc = sn_h5_write_cols(out, "/mel/spectrogram", mc.n_mels, s.N, s.start, s.n_local, Y, mc.n_mels, e);
  if (rc == SN_OK) rc = sn_spec_params_write(out, "/mel/spectrogram", &s.par, e);
  if (rc == SN_OK) rc = mel_attrs_write(out, "/mel/spectrogram", &mc, e);
  if (rc == SN_OK)
    rc = sn_h5_write_cols(out, "/mel/basis", mc.n_mels, s.F, 0, run->rank == 0 ? s.F : 0, M, mc.n_mels, e);
  if (rc == SN_OK) rc = mel_attrs_write(out, "/mel/basis", &mc, e);
  if (rc == SN_OK) rc = sn_h5_attr_set_double(out, "/mel/basis", "sample_rate", s.par.sample_rate, e);
  if (rc == SN_OK) rc = sn_h5_attr_set_int(out, "/mel/basis", "n_fft", s.par.n_fft, e);
  sn_timer_end(&run->timer, SN_PH_WRITE);
  sn_run_fact_int(run, "n_mels", mc.n_mels);
  sn_run_fact_int(run, "n_frames", s.N);
  sn_run_fact_int(run, "empty_bands", empty);
  SN_PROGRESS(run, "mel: %d bands x %lld frames", mc.n_mels, (long long)s.N);
cleanup:;
  int crc = sn_h5_close(&out, rc == SN_OK, e);
  if (rc == SN_OK) rc = crc;
  sn_spec_free(&s);
  sn_free(M);
  sn_free(Y);
  return rc;
}

/* ------------------------------------------------------------------------ */

int sn_cmd_mel_invert(sn_run *run, int argc, char **argv) {
  sn_common c = {0};
  double l2 = 0;
  int64_t block = SN_NNLS_BLOCK_DEFAULT;
  const sn_opt common[] = {
      SN_COMMON_OPTS(&c),
      {"--l2", 0, SN_OPT_DOUBLE, &l2, "LAMBDA", "ridge: minimise ||M X - mel||^2 + LAMBDA ||X||^2 (0)"},
      {"--block", 0, SN_OPT_INT64, &block, "N", "frames solved at a time per rank: a count of frames, not seconds (4096)"},
      {NULL}};
  int gl_iter = 32;
  double gl_momentum = 0.99;
  int64_t gl_seed = 0;
  const char *gl_init = "random";
  const sn_opt gl[] = {
      {"--n-iter", 0, SN_OPT_INT, &gl_iter, "N", "with -o OUT.wav: Griffin-Lim iterations (32)"},
      {"--momentum", 0, SN_OPT_DOUBLE, &gl_momentum, "X", "with -o OUT.wav: momentum of fast Griffin-Lim (0.99)"},
      {"--init", 0, SN_OPT_STRING, &gl_init, "random|zero", "with -o OUT.wav: start phases (random)"},
      {"--seed", 0, SN_OPT_INT64, &gl_seed, "N", "with -o OUT.wav: seed of the random start (0)"},
      {NULL}};
  const sn_opt *const tables[] = {common, gl, NULL};
  const char *pos[1];
  int npos = 0, done = 0;
  int rc = sn_cli_parse(run, &c, "MEL.h5[:/path] -o OUT.h5|OUT.wav [options]",
                        "Linear magnitude from a mel spectrogram (librosa.feature.inverse.mel_to_stft):\n"
                        "exact NNLS with the mel basis, then the 1/power root, to /stft/magnitude with\n"
                        "the spectrogram attributes (power 1), ready for nmf or griffinlim; with -o OUT.wav\n"
                        "on to audio by fast Griffin-Lim (librosa.feature.inverse.mel_to_audio).",
                        tables, argc, argv, pos, 1, 1, &npos, &done);
  if (rc || done) return rc;
  sn_err *e = &run->err;
  size_t olen = c.output ? strlen(c.output) : 0;
  const int to_wav = olen > 4 && strcasecmp(c.output + olen - 4, ".wav") == 0;
  if (!c.output) rc = SN_FAIL(e, SN_ERR_USAGE, "mel-invert: -o OUT.h5 or -o OUT.wav is required");
  else if (!(l2 >= 0) || !isfinite(l2)) rc = SN_FAIL(e, SN_ERR_USAGE, "--l2: must be >= 0 (got %g)", l2);
  else if (block < 1) rc = SN_FAIL(e, SN_ERR_USAGE, "--block: must be >= 1");
  else if (gl_iter < 0) rc = SN_FAIL(e, SN_ERR_USAGE, "--n-iter: must be >= 0 (got %d)", gl_iter);
  else if (!(gl_momentum >= 0) || !isfinite(gl_momentum))
    rc = SN_FAIL(e, SN_ERR_USAGE, "--momentum: must be >= 0 (got %g)", gl_momentum);
  else if (strcmp(gl_init, "random") && strcmp(gl_init, "zero"))
    rc = SN_FAIL(e, SN_ERR_USAGE, "--init: '%s' is not random or zero", gl_init);
  rc = sn_agree(run->comm, rc, e);
  if (rc) return rc;

  sn_h5 *out = NULL, *in = NULL;
  float *M = NULL, *X = NULL;
  char file[4096], dset[1024], normbuf[32] = "slaney";
  sn_spec_params par;
  sn_mel_cfg mc = {0, 0, 1, 0.0, 0.0};
  sn_nnls_stats st;
  sn_nnls_stats_init(&st);
  if (!to_wav) SN_CHECK(sn_h5_create(run->comm, c.output, c.force, &out, e));
  SN_CHECK(sn_agree(run->comm, sn_h5_split_spec(pos[0], "/mel/spectrogram", file, sizeof file, dset, sizeof dset, e), e));
  sn_timer_begin(&run->timer, SN_PH_READ);
  rc = sn_h5_open(run->comm, file, &in, e);
  sn_timer_end(&run->timer, SN_PH_READ);
  if (rc) goto cleanup;
  int nd = 0;
  int64_t dims[2] = {0, 0};
  SN_CHECK(sn_h5_shape(in, dset, &nd, dims, e));
  if (nd != 2 || dims[0] < 1 || dims[1] < 1)
    rc = SN_FAIL(e, SN_ERR_INPUT, "%s: %s is not a 2-D (n_mels, frames) array", file, dset);
  SN_CHECK(sn_agree(run->comm, rc, e));
  {
    /* Every rank fails alike here; record it everywhere and let sn_agree keep
     * one message. */
    sn_err pe = {0};
    int prc = sn_spec_params_read(in, dset, &par, &pe);
    if (prc) SN_FAIL(e, prc, "%s", pe.msg);
    SN_CHECK(sn_agree(run->comm, prc, e));
  }
  {
    int found = 0;
    int64_t v = 0;
    SN_CHECK(sn_h5_attr_get_double(in, dset, "fmin", &mc.fmin, &found, e));
    SN_CHECK(sn_h5_attr_get_double(in, dset, "fmax", &mc.fmax, &found, e));
    SN_CHECK(sn_h5_attr_get_int(in, dset, "htk", &v, &found, e));
    mc.htk = found ? (int)v : 0;
    SN_CHECK(sn_h5_attr_get_str(in, dset, "norm", normbuf, sizeof normbuf, &found, e));
    mc.norm_slaney = strcmp(normbuf, "none") != 0;
  }
  mc.n_mels = (int)dims[0];
  const int F = par.n_fft / 2 + 1;
  int64_t N = dims[1];
  M = sn_calloc((size_t)mc.n_mels * F * sizeof(float), "mel-invert: basis", e);
  SN_CHECK(sn_agree(run->comm, M ? SN_OK : SN_ERR_NOMEM, e));
  /* The stored filterbank when there is one (it is what made the data), else
   * the one the attributes describe. */
  if (sn_h5_exists(in, "/mel/basis") && strchr(pos[0], ':') == NULL) {
    SN_CHECK(sn_h5_shape(in, "/mel/basis", &nd, dims, e));
    if (nd != 2 || dims[0] != mc.n_mels || dims[1] != F)
      rc = SN_FAIL(e, SN_ERR_INPUT, "%s: /mel/basis has shape (%lld, %lld), expected (%d, %d)", file,
                   (long long)dims[0], (long long)dims[1], mc.n_mels, F);
    SN_CHECK(sn_agree(run->comm, rc, e));
    SN_CHECK(sn_h5_read_cols(in, "/mel/basis", mc.n_mels, 0, F, M, mc.n_mels, e));
  } else {
    int lrc = sn_mel_filterbank(par.sample_rate, par.n_fft, mc.n_mels, mc.fmin, mc.fmax, mc.htk,
                                mc.norm_slaney, M, mc.n_mels, NULL, e);
    SN_CHECK(sn_agree(run->comm, lrc, e));
  }
  {
    char what[5200];
    snprintf(what, sizeof what, "%s:/mel/basis", file);
    SN_CHECK(sn_agree(run->comm, sn_nnls_check_basis(mc.n_mels, F, M, mc.n_mels, what, e), e));
  }
  int64_t col0, n_local;
  sn_block_range(N, run->size, run->rank, &col0, &n_local);
  X = sn_calloc((size_t)F * (size_t)(n_local > 0 ? n_local : 1) * sizeof(float), "mel-invert: block", e);
  SN_CHECK(sn_agree(run->comm, X ? SN_OK : SN_ERR_NOMEM, e));
  SN_PROGRESS(run, "mel-invert: %d bands -> %d bins, %lld frames on %d rank%s", mc.n_mels, F,
              (long long)N, run->size, run->size > 1 ? "s" : "");
  sn_nnls_opts o;
  sn_nnls_opts_default(&o);
  o.ridge = l2;
  SN_CHECK(solve_blocks(run, in, dset, mc.n_mels, F, M, N, col0, n_local, block, X, &o, &st, pos[0]));
  SN_CHECK(stats_reduce(run, rc, &st));
  /* X estimates |S|^power: take the root. */
  if (par.power != 1) {
    double ex = 1.0 / par.power;
    for (size_t q = 0; q < (size_t)F * n_local; q++)
      X[q] = par.power == 2 ? sqrtf(X[q]) : (float)pow(X[q], ex);
  }
  warn_unconverged(run, "mel-invert", &st);
  SN_PROGRESS(run, "mel-invert: relative residual %.6g (mel domain), largest KKT violation %.3g",
              st.bnorm2 > 0 ? sqrt(st.obj / st.bnorm2) : 0.0, st.kkt_rel);
  sn_spec_params outp = par;
  outp.power = 1;
  if (to_wav) {
    const sn_gl_cfg glc = {gl_iter, gl_momentum, strcmp(gl_init, "random") == 0, (uint64_t)gl_seed};
    double sc = 0;
    rc = sn_griffinlim_write(run, &outp, N, X, -1, &glc, c.output, c.force, &sc);
    stats_facts(run, &st);
    sn_run_fact_int(run, "n_mels", mc.n_mels);
    sn_run_fact_int(run, "n_frames", N);
    goto cleanup;
  }
  sn_timer_begin(&run->timer, SN_PH_WRITE);
  rc = sn_h5_write_cols(out, "/stft/magnitude", F, N, col0, n_local, X, F, e);
  if (rc == SN_OK) rc = sn_spec_params_write(out, "/stft/magnitude", &outp, e);
  if (rc == SN_OK) rc = stats_attrs(out, "/stft/magnitude", &st, l2, e);
  if (rc == SN_OK) rc = sn_h5_attr_set_str(out, "/stft/magnitude", "mel_source", pos[0], e);
  sn_timer_end(&run->timer, SN_PH_WRITE);
  stats_facts(run, &st);
  sn_run_fact_int(run, "n_mels", mc.n_mels);
  sn_run_fact_int(run, "n_bins", F);
  sn_run_fact_int(run, "n_frames", N);
cleanup:;
  int crc = sn_h5_close(&in, 0, e);
  int orc = sn_h5_close(&out, rc == SN_OK && crc == SN_OK, e);
  if (rc == SN_OK) rc = crc ? crc : orc;
  sn_free(M);
  sn_free(X);
  return rc;
}
