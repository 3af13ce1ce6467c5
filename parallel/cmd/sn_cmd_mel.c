/* Commands `specnmf mel` and `specnmf mel-invert` (see sn_cmd_mel.h). */
#include "sn_cmd_mel.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include SN_BLAS_HEADER

#include "sn_cli.h"
#include "sn_cmd_nnls.h"
#include "sn_cmd_griffinlim.h"
#include "sn_comm.h"
#include "sn_h5.h"
#include "sn_mel.h"
#include "sn_nnls.h"
#include "sn_pstft.h"

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

/* Local. mel's options. */
static int mel_check_opts(const sn_common *c, const char *norm, sn_mel_cfg *mc, sn_err *e) {
  int rc = SN_OK;
  if (!c->output) rc = SN_FAIL(e, SN_ERR_USAGE, "mel: -o OUT.h5 is required");
  else if (strcmp(norm, "slaney") != 0 && strcmp(norm, "none") != 0)
    rc = SN_FAIL(e, SN_ERR_USAGE, "--norm: must be slaney or none (got %s)", norm);
  else if (mc->n_mels < 1) rc = SN_FAIL(e, SN_ERR_USAGE, "--n-mels: must be >= 1");
  mc->norm_slaney = strcmp(norm, "slaney") == 0;
  return rc;
}

/* Local. A stored spectrogram may hold NaN/Inf: refuse, as nmf and nnls do. */
static int check_finite(const sn_spec *s, const char *input, sn_err *e) {
  for (size_t q = 0; q < (size_t)s->F * (size_t)s->n_local; q++)
    if (!isfinite(s->mag[q]))
      return SN_FAIL(e, SN_ERR_INPUT, "%s: non-finite value at (%lld, %lld)", input, (long long)(q % (size_t)s->F),
                     (long long)(s->start + (int64_t)(q / (size_t)s->F)));
  return SN_OK;
}

/* Collective. |STFT|^power of input: a stored spectrogram (HDF5 without
 * /audio, or FILE.h5:/path) raised to the power, or computed from a
 * recording. */
static int mel_spectrogram(sn_run *run, const char *input, const sn_stft_cfg *cfg, sn_spec *s) {
  sn_err *e = &run->err;
  int stored = 0, rc;
  char file[4096], dset[1024];
  SN_AGREE(run, sn_h5_split_spec(input, "/stft/magnitude", file, sizeof file, dset, sizeof dset, e));
  if (sn_h5_is_hdf5(file)) {
    sn_h5 *f = NULL;
    SN_CHECK(sn_h5_open(run->comm, file, &f, e));
    stored = strchr(input, ':') != NULL || !sn_h5_exists(f, "/audio");
    SN_CHECK(sn_h5_close(&f, 0, e));
  }
  if (!stored) return sn_pstft_compute(run, input, cfg, 0, s, NULL);
  SN_CHECK(sn_spec_read(run, input, 0, s));
  SN_AGREE(run, check_finite(s, input, e));
  if (s->par.power != cfg->power) {
    /* |S|^p from a stored |S|^q */
    double ex = (double)cfg->power / s->par.power;
    for (size_t q = 0; q < (size_t)s->F * s->n_local; q++) s->mag[q] = (float)pow(s->mag[q], ex);
    s->par.power = cfg->power;
  }
cleanup:
  return rc;
}

/* Local (phase mel). The filterbank M (n_mels x F) and this rank's mel
 * block Y = M |S|^power (n_mels x n_local); *empty: bands without a bin. */
static int mel_project(sn_run *run, const sn_mel_cfg *mc, const sn_spec *s, float *M, float *Y, int *empty) {
  sn_err *e = &run->err;
  if (!M || !Y) return SN_ERR_NOMEM;
  int rc = sn_mel_filterbank(s->par.sample_rate, s->par.n_fft, mc->n_mels, mc->fmin, mc->fmax, mc->htk,
                             mc->norm_slaney, M, mc->n_mels, empty, e);
  if (rc == SN_OK) rc = sn_fault("mel", run->rank, e);
  if (rc == SN_OK && s->n_local > 0)
    cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, mc->n_mels, (int)s->n_local, s->F, 1.0f, M,
                mc->n_mels, s->mag, s->F, 0.0f, Y, mc->n_mels);
  return rc;
}

/* Collective (phase write). /mel/spectrogram and /mel/basis with their
 * attributes. */
static int mel_write(sn_run *run, sn_h5 *out, const sn_mel_cfg *mc, const sn_spec *s, const float *M, const float *Y) {
  sn_err *e = &run->err;
  int rc;
  sn_timer_begin(&run->timer, SN_PH_WRITE);
  SN_CHECK(sn_h5_write_cols(out, "/mel/spectrogram", mc->n_mels, s->N, s->start, s->n_local, Y, mc->n_mels, e));
  SN_CHECK(sn_spec_params_write(out, "/mel/spectrogram", &s->par, e));
  SN_CHECK(mel_attrs_write(out, "/mel/spectrogram", mc, e));
  SN_CHECK(sn_h5_write_cols(out, "/mel/basis", mc->n_mels, s->F, 0, run->rank == 0 ? s->F : 0, M, mc->n_mels, e));
  SN_CHECK(mel_attrs_write(out, "/mel/basis", mc, e));
  SN_CHECK(sn_h5_attr_set_double(out, "/mel/basis", "sample_rate", s->par.sample_rate, e));
  SN_CHECK(sn_h5_attr_set_int(out, "/mel/basis", "n_fft", s->par.n_fft, e));
cleanup:
  sn_timer_end(&run->timer, SN_PH_WRITE);
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
  rc = sn_run_agree(run, mel_check_opts(&c, norm, &mc, e));
  if (rc) return rc;

  sn_h5 *out = NULL;
  sn_spec s;
  memset(&s, 0, sizeof s);
  float *M = NULL, *Y = NULL;
  int empty = 0;
  SN_CHECK(sn_h5_create(run->comm, c.output, c.force, &out, e));
  SN_CHECK(mel_spectrogram(run, pos[0], &cfg, &s));
  if (mc.fmax <= 0) mc.fmax = s.par.sample_rate / 2;
  sn_timer_begin(&run->timer, SN_PH_MEL);
  M = sn_calloc((size_t)mc.n_mels * s.F * sizeof(float), "mel: basis", e);
  Y = sn_calloc((size_t)mc.n_mels * (s.n_local > 0 ? s.n_local : 1) * sizeof(float), "mel: block", e);
  rc = mel_project(run, &mc, &s, M, Y, &empty);
  sn_timer_end(&run->timer, SN_PH_MEL);
  SN_AGREE(run, rc);
  if (empty > 0)
    SN_PROGRESS(run, "mel: warning: %d empty mel band%s (raise the sample rate or fmax, or lower n_mels)",
                empty, empty > 1 ? "s" : "");
  rc = mel_write(run, out, &mc, &s, M, Y);
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

/* The options of mel-invert. */
typedef struct inv_opts {
  double l2;
  int64_t block;
  sn_gl_opts gl;    /* with -o OUT.wav: the Griffin-Lim options (one table, sn_cmd_griffinlim.h) */
  int64_t gl_seed;
} inv_opts;

/* Local. mel-invert's options. */
static int inv_check_opts(const sn_common *c, const inv_opts *io, sn_err *e) {
  if (!c->output) return SN_FAIL(e, SN_ERR_USAGE, "mel-invert: -o OUT.h5 or -o OUT.wav is required");
  if (!(io->l2 >= 0) || !isfinite(io->l2)) return SN_FAIL(e, SN_ERR_USAGE, "--l2: must be >= 0 (got %g)", io->l2);
  if (io->block < 1) return SN_FAIL(e, SN_ERR_USAGE, "--block: must be >= 1");
  return sn_gl_opts_check("mel-invert", &io->gl, SN_GL_SPELL_MEL, e);
}

/* Local. The mel data must be a 2-D (n_mels, frames) array. */
static int check_mel_shape(int nd, const int64_t *dims, const char *file, const char *dset, sn_err *e) {
  if (nd != 2 || dims[0] < 1 || dims[1] < 1)
    return SN_FAIL(e, SN_ERR_INPUT, "%s: %s is not a 2-D (n_mels, frames) array", file, dset);
  return SN_OK;
}

/* Local. The spectrogram parameters of dset. Every rank fails alike here;
 * the failure is recorded everywhere and sn_agree keeps one message. */
static int params_read(sn_h5 *in, const char *dset, sn_spec_params *par, sn_err *e) {
  sn_err pe = {0};
  int rc = sn_spec_params_read(in, dset, par, &pe);
  if (rc) SN_FAIL(e, rc, "%s", pe.msg);
  return rc;
}

/* Collective. The shape (*n_mels, *N), spectrogram parameters and mel
 * attributes of dataset dset of the open file in. */
static int inv_read_meta(sn_run *run, sn_h5 *in, const char *file, const char *dset, sn_spec_params *par,
                         sn_mel_cfg *mc, int64_t *N) {
  sn_err *e = &run->err;
  char normbuf[32] = "slaney";
  int nd = 0, found = 0, rc;
  int64_t dims[2] = {0, 0}, v = 0;
  SN_CHECK(sn_h5_shape(in, dset, &nd, dims, e));
  SN_AGREE(run, check_mel_shape(nd, dims, file, dset, e));
  SN_AGREE(run, params_read(in, dset, par, e));
  SN_CHECK(sn_h5_attr_get_double(in, dset, "fmin", &mc->fmin, &found, e));
  SN_CHECK(sn_h5_attr_get_double(in, dset, "fmax", &mc->fmax, &found, e));
  SN_CHECK(sn_h5_attr_get_int(in, dset, "htk", &v, &found, e));
  mc->htk = found ? (int)v : 0;
  SN_CHECK(sn_h5_attr_get_str(in, dset, "norm", normbuf, sizeof normbuf, &found, e));
  mc->norm_slaney = strcmp(normbuf, "none") != 0;
  mc->n_mels = (int)dims[0];
  *N = dims[1];
cleanup:
  return rc;
}

/* Local. The stored /mel/basis must be (n_mels, F). */
static int check_basis_shape(int nd, const int64_t *dims, int n_mels, int F, const char *file, sn_err *e) {
  if (nd != 2 || dims[0] != n_mels || dims[1] != F)
    return SN_FAIL(e, SN_ERR_INPUT, "%s: /mel/basis has shape (%lld, %lld), expected (%d, %d)", file,
                   (long long)dims[0], (long long)dims[1], n_mels, F);
  return SN_OK;
}

/* Collective. The mel basis M (n_mels x F): the stored filterbank when there
 * is one (it is what made the data), else the one the attributes describe;
 * checked for NNLS. */
static int inv_basis(sn_run *run, sn_h5 *in, const char *spec, const char *file, const sn_spec_params *par,
                     const sn_mel_cfg *mc, int F, float *M) {
  sn_err *e = &run->err;
  int rc;
  if (sn_h5_exists(in, "/mel/basis") && strchr(spec, ':') == NULL) {
    int nd = 0;
    int64_t dims[2] = {0, 0};
    SN_CHECK(sn_h5_shape(in, "/mel/basis", &nd, dims, e));
    SN_AGREE(run, check_basis_shape(nd, dims, mc->n_mels, F, file, e));
    SN_CHECK(sn_h5_read_cols(in, "/mel/basis", mc->n_mels, 0, F, M, mc->n_mels, e));
  } else {
    SN_AGREE(run, sn_mel_filterbank(par->sample_rate, par->n_fft, mc->n_mels, mc->fmin, mc->fmax, mc->htk,
                                    mc->norm_slaney, M, mc->n_mels, NULL, e));
  }
  char what[5200];
  snprintf(what, sizeof what, "%s:/mel/basis", file);
  SN_AGREE(run, sn_nnls_check_basis(mc->n_mels, F, M, mc->n_mels, what, e));
cleanup:
  return rc;
}

/* Collective (phase write). /stft/magnitude (F x N) with its attributes. */
static int inv_write_h5(sn_run *run, sn_h5 *out, const char *spec, const sn_spec_params *outp, int F, int64_t N,
                        int64_t col0, int64_t n_local, const float *X, const sn_nnls_stats *st, double l2) {
  sn_err *e = &run->err;
  int rc;
  sn_timer_begin(&run->timer, SN_PH_WRITE);
  SN_CHECK(sn_h5_write_cols(out, "/stft/magnitude", F, N, col0, n_local, X, F, e));
  SN_CHECK(sn_spec_params_write(out, "/stft/magnitude", outp, e));
  SN_CHECK(sn_cmd_nnls_attrs(out, "/stft/magnitude", st, l2, e));
  SN_CHECK(sn_h5_attr_set_str(out, "/stft/magnitude", "mel_source", spec, e));
cleanup:
  sn_timer_end(&run->timer, SN_PH_WRITE);
  return rc;
}

int sn_cmd_mel_invert(sn_run *run, int argc, char **argv) {
  sn_common c = {0};
  inv_opts io = {0, SN_NNLS_BLOCK_DEFAULT, SN_GL_OPTS_DEFAULT, 0};
  const sn_opt common[] = {
      SN_COMMON_OPTS(&c),
      {"--l2", 0, SN_OPT_DOUBLE, &io.l2, "LAMBDA", "ridge: minimise ||M X - mel||^2 + LAMBDA ||X||^2 (0)"},
      {"--block", 0, SN_OPT_INT64, &io.block, "N", "frames solved at a time per rank: a count of frames, not seconds (4096)"},
      {NULL}};
  sn_opt gl[SN_GL_OPT_ROWS];
  sn_gl_opts_table(&io.gl, SN_GL_SPELL_MEL, gl);
  const sn_opt seed[] = {
      {"--seed", 0, SN_OPT_INT64, &io.gl_seed, "N", "with -o OUT.wav: seed of the random start (0)"}, {NULL}};
  const sn_opt *const tables[] = {common, gl, seed, NULL};
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
  rc = sn_run_agree(run, inv_check_opts(&c, &io, e));
  if (rc) return rc;

  sn_h5 *out = NULL, *in = NULL;
  float *M = NULL, *X = NULL;
  char file[4096], dset[1024];
  sn_spec_params par;
  sn_mel_cfg mc = {0, 0, 1, 0.0, 0.0};
  sn_nnls_stats st;
  sn_nnls_stats_init(&st);
  int64_t N = 0, col0, n_local;

  /* ---- input: the mel data's shape, parameters and basis ---- */
  if (!to_wav) SN_CHECK(sn_h5_create(run->comm, c.output, c.force, &out, e));
  SN_AGREE(run, sn_h5_split_spec(pos[0], "/mel/spectrogram", file, sizeof file, dset, sizeof dset, e));
  sn_timer_begin(&run->timer, SN_PH_READ);
  rc = sn_h5_open(run->comm, file, &in, e);
  sn_timer_end(&run->timer, SN_PH_READ);
  if (rc) goto cleanup;
  SN_CHECK(inv_read_meta(run, in, file, dset, &par, &mc, &N));
  const int F = par.n_fft / 2 + 1;
  M = sn_calloc((size_t)mc.n_mels * F * sizeof(float), "mel-invert: basis", e);
  SN_AGREE(run, M ? SN_OK : SN_ERR_NOMEM);
  SN_CHECK(inv_basis(run, in, pos[0], file, &par, &mc, F, M));

  /* ---- NNLS per block of frames, then the 1/power root ---- */
  sn_block_range(N, run->size, run->rank, &col0, &n_local);
  X = sn_calloc((size_t)F * (size_t)(n_local > 0 ? n_local : 1) * sizeof(float), "mel-invert: block", e);
  SN_AGREE(run, X ? SN_OK : SN_ERR_NOMEM);
  SN_PROGRESS(run, "mel-invert: %d bands -> %d bins, %lld frames on %d rank%s", mc.n_mels, F,
              (long long)N, run->size, run->size > 1 ? "s" : "");
  sn_nnls_opts o;
  sn_nnls_opts_default(&o);
  o.ridge = io.l2;
  SN_CHECK(sn_cmd_nnls_solve_blocks(run, in, dset, mc.n_mels, F, M, N, col0, n_local, io.block, X, &o, &st, pos[0]));
  SN_CHECK(sn_cmd_nnls_reduce(run, rc, &st));
  /* X estimates |S|^power: take the root. */
  if (par.power != 1) {
    double ex = 1.0 / par.power;
    for (size_t q = 0; q < (size_t)F * n_local; q++)
      X[q] = par.power == 2 ? sqrtf(X[q]) : (float)pow(X[q], ex);
  }
  sn_cmd_nnls_warn(run, "mel-invert", &st);
  SN_PROGRESS(run, "mel-invert: relative residual %.6g (mel domain), largest KKT violation %.3g",
              st.bnorm2 > 0 ? sqrt(st.obj / st.bnorm2) : 0.0, st.kkt_rel);

  /* ---- output: audio by Griffin-Lim, or the magnitude ---- */
  sn_spec_params outp = par;
  outp.power = 1;
  if (to_wav) {
    const sn_gl_cfg glc = sn_gl_opts_cfg(&io.gl, (uint64_t)io.gl_seed);
    double sc = 0;
    rc = sn_griffinlim_write(run, &outp, N, X, -1, &glc, c.output, c.force, &sc);
  } else {
    rc = inv_write_h5(run, out, pos[0], &outp, F, N, col0, n_local, X, &st, io.l2);
  }
  sn_cmd_nnls_facts(run, &st);
  sn_run_fact_int(run, "n_mels", mc.n_mels);
  if (!to_wav) sn_run_fact_int(run, "n_bins", F);
  sn_run_fact_int(run, "n_frames", N);
cleanup:;
  int crc = sn_h5_close(&in, 0, e);
  int orc = sn_h5_close(&out, rc == SN_OK && crc == SN_OK, e);
  if (rc == SN_OK) rc = crc ? crc : orc;
  sn_free(M);
  sn_free(X);
  return rc;
}
