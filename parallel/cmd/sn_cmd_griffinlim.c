/* specnmf griffinlim and the Griffin-Lim options (see sn_cmd_griffinlim.h). */
#include "sn_cmd_griffinlim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sn_cli.h"
#include "sn_cmd_separate.h"
#include "sn_comm.h"
#include "sn_h5.h"
#include "sn_outdir.h"
#include "sn_pstft.h"
#include "sn_wav.h"

/* ------------------------------------------------------ the option table -- */

/* Names and help texts per spelling (sn_gl_spelling order). */
static const struct {
  const char *iter, *init, *iter_help, *momentum_help, *init_help;
} sn_gl_names[] = {
    {"--n-iter", "--init", "iterations (default 32)", "momentum of fast Griffin-Lim (default 0.99; 0: plain)",
     "start phases (default random, as librosa)"},
    {"--gl-iter", "--gl-init", "Griffin-Lim iterations (default 32)", "Griffin-Lim momentum (default 0.99)",
     "Griffin-Lim start phases (default random)"},
    {"--n-iter", "--init", "with -o OUT.wav: Griffin-Lim iterations (32)",
     "with -o OUT.wav: momentum of fast Griffin-Lim (0.99)", "with -o OUT.wav: start phases (random)"},
};

void sn_gl_opts_table(sn_gl_opts *g, sn_gl_spelling sp, sn_opt rows[SN_GL_OPT_ROWS]) {
  rows[0] = (sn_opt){sn_gl_names[sp].iter, 0, SN_OPT_INT, &g->n_iter, "N", sn_gl_names[sp].iter_help};
  rows[1] = (sn_opt){"--momentum", 0, SN_OPT_DOUBLE, &g->momentum, "X", sn_gl_names[sp].momentum_help};
  rows[2] = (sn_opt){sn_gl_names[sp].init, 0, SN_OPT_STRING, &g->init, "random|zero", sn_gl_names[sp].init_help};
  rows[3] = (sn_opt){NULL, 0, 0, NULL, NULL, NULL};
}

int sn_gl_opts_check(const char *cmd, const sn_gl_opts *g, sn_gl_spelling sp, sn_err *e) {
  const sn_gl_cfg c = sn_gl_opts_cfg(g, 0);
  int rc = sn_gl_cfg_check(&c, cmd, sn_gl_names[sp].iter, e);
  if (rc) return rc;
  if (strcmp(g->init, "random") && strcmp(g->init, "zero"))
    return SN_FAIL(e, SN_ERR_USAGE, "%s %s: '%s' is not random or zero", cmd, sn_gl_names[sp].init, g->init);
  return SN_OK;
}

sn_gl_cfg sn_gl_opts_cfg(const sn_gl_opts *g, uint64_t seed) {
  sn_gl_cfg c = {g->n_iter, g->momentum, strcmp(g->init, "random") == 0, seed};
  return c;
}

/* ------------------------------------------------------------- writer -- */

int sn_griffinlim_write(sn_run *run, const sn_spec_params *par, int64_t N, const float *S, int64_t length,
                        const sn_gl_cfg *glc, const char *path, int force, double *sc) {
  sn_err *e = &run->err;
  sn_poverlap *pola = NULL;
  sn_wav *w = NULL;
  int rc;
  if (length < 0) {
    length = par->n_samples > 0 ? par->n_samples
                                : par->n_fft + (int64_t)par->hop * (N - 1) - (par->center ? 2 * (par->n_fft / 2) : 0);
    if (length < 0) length = 0;
  }
  SN_PROGRESS(run, "griffinlim: %d bins x %lld frames -> %lld samples, %d iterations on %d rank(s)",
              par->n_fft / 2 + 1, (long long)N, (long long)length, glc->n_iter, run->size);
  SN_CHECK(sn_poverlap_create(run, par, N, length, &pola));
  /* the output before the work, so that a bad path fails early */
  SN_CHECK(sn_wav_create(run->comm, path, par->sample_rate, length, force, &w, e));
  SN_CHECK(sn_pgriffinlim_run(run, pola, S, glc));
  SN_CHECK(sn_pgriffinlim_convergence(run, pola, S, sc));
  int64_t y0, ny;
  sn_poverlap_owned(pola, &y0, &ny);
  sn_timer_begin(&run->timer, SN_PH_WRITE);
  rc = sn_wav_write(w, y0, ny, sn_poverlap_owned_ptr(pola), e);
  sn_timer_end(&run->timer, SN_PH_WRITE);
  if (rc) goto cleanup;
  SN_CHECK(sn_wav_close(&w, 1, e));
  SN_PROGRESS(run, "griffinlim: spectral convergence %.4f", *sc);
  sn_run_fact_double(run, "spectral_convergence", *sc);
  sn_run_fact_int(run, "n_samples", length);
cleanup:
  sn_wav_close(&w, 0, e); /* after a failure: removes the temporary file (the first error is the one reported) */
  sn_poverlap_destroy(&pola);
  return rc;
}

/* ---------------------------------------------------------- griffinlim -- */

typedef struct gl_opts {
  sn_common com;
  sn_gl_opts gl;
  int templates;
  double tsec;
  int64_t seed, length;
  const char *in;
} gl_opts;

/* Local. The options before any work. */
static int gl_check_options(const gl_opts *o, sn_err *e) {
  if (!o->com.output) return SN_FAIL(e, SN_ERR_USAGE, "griffinlim: -o %s is required", o->templates ? "OUTDIR" : "OUT.wav");
  int rc = sn_gl_opts_check("griffinlim", &o->gl, SN_GL_SPELL_GRIFFINLIM, e);
  if (rc) return rc;
  if (!(o->tsec > 0) || !isfinite(o->tsec) || o->tsec > 3600)
    return SN_FAIL(e, SN_ERR_USAGE, "griffinlim --template-seconds: must be in (0, 3600] (got %g)", o->tsec);
  return SN_OK;
}

/* Local. Magnitudes (n values of a stored power `power`) must be finite and
 * >= 0; a power spectrogram becomes a magnitude (sqrt, in place). */
static int gl_check_magnitude(float *S, int64_t n, int power, const char *what, sn_err *e) {
  int rc = SN_OK;
  for (int64_t i = 0; i < n && rc == SN_OK; i++)
    if (!(S[i] >= 0) || !isfinite(S[i]))
      rc = SN_FAIL(e, SN_ERR_INPUT, "%s: a magnitude must be finite and >= 0 (found %g)", what, S[i]);
  if (power == 2)
    for (int64_t i = 0; i < n; i++) S[i] = sqrtf(S[i]);
  return rc;
}

/* Collective. The stored spectrogram o->in to o->com.output. */
static int gl_spectrogram(sn_run *run, const gl_opts *o) {
  sn_spec s;
  memset(&s, 0, sizeof s);
  int rc;
  SN_CHECK(sn_spec_read(run, o->in, 0, &s));
  SN_AGREE(run, gl_check_magnitude(s.mag, (int64_t)s.F * s.n_local, s.par.power, o->in, &run->err));
  double sc = 0;
  const sn_gl_cfg glc = sn_gl_opts_cfg(&o->gl, (uint64_t)o->seed);
  SN_CHECK(sn_griffinlim_write(run, &s.par, s.N, s.mag, o->length, &glc, o->com.output, o->com.force, &sc));
  sn_run_fact_int(run, "n_frames", s.N);
cleanup:
  sn_spec_free(&s);
  return rc;
}

/* Local. The dictionary's shape: (F, R) with F = n_fft/2 + 1. */
static int gl_check_dict_shape(int nd, const int64_t dims[2], const sn_spec_params *par, const char *file,
                               const char *dset, sn_err *e) {
  if (nd != 2 || dims[0] != par->n_fft / 2 + 1 || dims[1] < 1)
    return SN_FAIL(e, SN_ERR_INPUT, "%s: %s must be (F, R) with F = n_fft/2 + 1 = %d", file, dset, par->n_fft / 2 + 1);
  return SN_OK;
}

/* Local. The dictionary's values (n), made magnitudes (sqrt of a power), and
 * on rank 0 whether the output folder can be made. */
static int gl_check_dict(sn_run *run, float *Wt, int64_t n, int power, const char *file, const char *dset,
                         const sn_outdir *od) {
  sn_err *e = &run->err;
  for (int64_t i = 0; i < n; i++)
    if (!(Wt[i] >= 0) || !isfinite(Wt[i])) return SN_FAIL(e, SN_ERR_INPUT, "%s: %s has a negative or non-finite value", file, dset);
  if (power == 2)
    for (int64_t i = 0; i < n; i++) Wt[i] = sqrtf(Wt[i]);
  return run->rank == 0 ? sn_outdir_precheck(od->path, e) : SN_OK;
}

/* Collective. Read the dictionary of spec (default path /nmf/W) replicated:
 * *Wt (F x R, ld F, magnitudes), its parameters, and check the folder. */
static int gl_read_dict(sn_run *run, const char *spec, const sn_outdir *od, sn_spec_params *par, float **Wt,
                        int64_t *F, int64_t *R) {
  sn_err *e = &run->err;
  char file[4096], dset[1024];
  sn_h5 *f = NULL;
  int nd = 0;
  int64_t dims[2] = {0, 0};
  memset(par, 0, sizeof *par);
  int rc;
  SN_AGREE(run, sn_h5_split_spec(spec, "/nmf/W", file, sizeof file, dset, sizeof dset, e));
  SN_CHECK(sn_h5_open(run->comm, file, &f, e));
  SN_CHECK(sn_h5_shape(f, dset, &nd, dims, e));
  SN_CHECK(sn_spec_params_read(f, dset, par, e));
  SN_AGREE(run, gl_check_dict_shape(nd, dims, par, file, dset, e));
  *F = dims[0], *R = dims[1];
  *Wt = sn_calloc((size_t)(*F * *R) * sizeof(float), "dictionary", e);
  SN_AGREE(run, *Wt ? SN_OK : SN_ERR_NOMEM);
  SN_CHECK(sn_h5_read_cols(f, dset, *F, 0, *R, *Wt, *F, e));
  SN_CHECK(sn_h5_close(&f, 0, e));
  SN_AGREE(run, gl_check_dict(run, *Wt, *F * *R, par->power, file, dset, od));
cleanup:
  if (f) sn_h5_close(&f, 0, e); /* failure path: the error that led here is the one reported */
  return rc;
}

/* Local. Template frames of tsec seconds: at least one. */
static int gl_check_frames(int64_t T, double tsec, sn_err *e) {
  return T < 1 ? SN_FAIL(e, SN_ERR_USAGE, "griffinlim --template-seconds: %g s is shorter than one frame", tsec) : SN_OK;
}

/* Collective. --templates: each column of the dictionary repeated over the
 * frames of tsec seconds, to od->path/template-NN.wav. */
static int gl_templates(sn_run *run, const gl_opts *o, sn_outdir *od) {
  sn_err *e = &run->err;
  sn_spec_params par;
  sn_poverlap *pola = NULL;
  float *Wt = NULL, *S = NULL;
  int64_t F = 0, R = 0;
  int rc;
  SN_CHECK(gl_read_dict(run, o->in, od, &par, &Wt, &F, &R));
  const int64_t len = (int64_t)llround(o->tsec * par.sample_rate);
  const int64_t T = sn_stft_n_frames(len, par.n_fft, par.hop, par.center);
  SN_AGREE(run, gl_check_frames(T, o->tsec, e));
  SN_CHECK(sn_outdir_create(run, od));
  if (o->com.force && run->rank == 0) sn_leftovers_clean_dir(od->path); /* a killed run's temporary files */
  SN_CHECK(sn_poverlap_create(run, &par, T, len, &pola));
  int64_t t0, nl;
  sn_poverlap_frames(pola, &t0, &nl);
  S = sn_calloc((size_t)(F * (nl > 0 ? nl : 1)) * sizeof(float), "template block", e);
  SN_AGREE(run, S ? SN_OK : SN_ERR_NOMEM);
  sn_gl_cfg glc = sn_gl_opts_cfg(&o->gl, (uint64_t)o->seed);
  for (int64_t r = 0; r < R; r++) {
    for (int64_t t = 0; t < nl; t++) memcpy(S + t * F, Wt + r * F, (size_t)F * sizeof(float));
    glc.seed = (uint64_t)o->seed + 7919u * (uint64_t)r;
    SN_CHECK(sn_pgriffinlim_run(run, pola, S, &glc));
    char name[64];
    snprintf(name, sizeof name, "template-%02lld", (long long)r);
    int64_t y0, ny;
    sn_poverlap_owned(pola, &y0, &ny);
    SN_CHECK(sn_write_source(run, od, name, par.sample_rate, len, o->com.force, y0, ny, sn_poverlap_owned_ptr(pola), 1));
  }
  SN_PROGRESS(run, "griffinlim: %lld templates of %g s in %s", (long long)R, o->tsec, od->path);
  sn_run_fact_int(run, "n_templates", R);
cleanup:
  sn_poverlap_destroy(&pola);
  sn_free(S);
  sn_free(Wt);
  return rc;
}

int sn_cmd_griffinlim(sn_run *run, int argc, char **argv) {
  sn_err *e = &run->err;
  gl_opts o = {.gl = SN_GL_OPTS_DEFAULT, .tsec = 1.0, .length = -1};
  const sn_opt t_main[] = {SN_COMMON_OPTS(&o.com), {NULL, 0, 0, NULL, NULL, NULL}};
  sn_opt t_gl[SN_GL_OPT_ROWS];
  sn_gl_opts_table(&o.gl, SN_GL_SPELL_GRIFFINLIM, t_gl);
  const sn_opt t_more[] = {
      {"--seed", 0, SN_OPT_INT64, &o.seed, "N", "seed of the random start (default 0)"},
      {"--length", 0, SN_OPT_INT64, &o.length, "N", "output samples (default: the stored n_samples, else librosa's)"},
      {"--templates", 0, SN_OPT_FLAG, &o.templates, NULL,
       "render each column of a dictionary (default path /nmf/W) as a short sound: -o names a folder, "
       "files template-NN.wav"},
      {"--template-seconds", 0, SN_OPT_DOUBLE, &o.tsec, "S", "length of each template sound (default 1)"},
      {NULL, 0, 0, NULL, NULL, NULL}};
  const sn_opt *const tables[] = {t_main, t_gl, t_more, NULL};
  const char *pos[1] = {NULL};
  int n_pos = 0, done = 0;
  int rc = sn_cli_parse(run, &o.com, "SPEC.h5[:/path] -o OUT.wav [options]",
                        "Audio from a magnitude spectrogram (F, N) by distributed fast Griffin-Lim (librosa.griffinlim):\n"
                        "V from 'specnmf stft', a mel inversion, a part; --templates renders each column of W.",
                        tables, argc, argv, pos, 1, 1, &n_pos, &done);
  if (rc || done) return rc;
  o.in = pos[0];
  sn_outdir *od = NULL;
  SN_AGREE(run, gl_check_options(&o, e));
  if (!o.templates) return gl_spectrogram(run, &o);

  od = calloc(1, sizeof *od);
  SN_AGREE(run, od ? SN_OK : SN_FAIL(e, SN_ERR_NOMEM, "griffinlim: out of memory"));
  snprintf(od->path, sizeof od->path, "%s", o.com.output);
  rc = gl_templates(run, &o, od);
  if (rc != SN_OK && run->rank == 0) sn_outdir_undo(od);
cleanup:
  free(od);
  return rc;
}
