/* specnmf nmf: distributed NMF of a stored magnitude spectrogram (see sn_cmd_nmf.h). */
#include "sn_cmd_nmf.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "sn_cli.h"
#include "sn_comm.h"
#include "sn_h5.h"
#include "sn_pnmf.h"
#include "sn_signal.h"
#include "sn_svd.h"


/* The attributes the stft command writes on /stft/magnitude. */
static const char *const sn_stft_keys[] = {"sample_rate", "n_fft", "hop_length", "win_length",
                                           "window", "center", "power"};
#define SN_NKEYS 7
typedef struct {
  int kind[SN_NKEYS]; /* 0 absent, 1 number, 2 string */
  double num[SN_NKEYS];
  char str[SN_NKEYS][64];
} sn_stft_attrs;

static int attrs_read(sn_h5 *f, const char *obj, sn_stft_attrs *a) {
  memset(a, 0, sizeof *a);
  for (int k = 0; k < SN_NKEYS; k++) {
    sn_err s = {0};
    int found = 0;
    if (sn_h5_attr_get_str(f, obj, sn_stft_keys[k], a->str[k], sizeof a->str[k], &found, &s) == SN_OK) {
      if (found) a->kind[k] = 2;
      continue;
    }
    sn_err s2 = {0};
    found = 0;
    if (sn_h5_attr_get_double(f, obj, sn_stft_keys[k], &a->num[k], &found, &s2) == SN_OK && found)
      a->kind[k] = 1;
  }
  return SN_OK;
}

static int attrs_write(sn_h5 *f, const char *obj, const sn_stft_attrs *a, sn_err *e) {
  int rc = SN_OK;
  for (int k = 0; k < SN_NKEYS && rc == SN_OK; k++) {
    if (a->kind[k] == 2) {
      rc = sn_h5_attr_set_str(f, obj, sn_stft_keys[k], a->str[k], e);
    } else if (a->kind[k] == 1) {
      double v = a->num[k];
      if (strcmp(sn_stft_keys[k], "power") != 0 && v == floor(v) && fabs(v) < 9e15)
        rc = sn_h5_attr_set_int(f, obj, sn_stft_keys[k], (int64_t)v, e);
      else
        rc = sn_h5_attr_set_double(f, obj, sn_stft_keys[k], v, e);
    }
  }
  return rc;
}

/* Local: SN_ERR_INPUT if b (from file `what`) disagrees with the input's a. */
static int attrs_compat(const sn_stft_attrs *a, const sn_stft_attrs *b, const char *what,
                        const char *input, sn_err *e) {
  for (int k = 0; k < SN_NKEYS; k++) {
    if (!a->kind[k] || !b->kind[k]) continue;
    if (strcmp(sn_stft_keys[k], "power") == 0 || strcmp(sn_stft_keys[k], "center") == 0 ||
        strcmp(sn_stft_keys[k], "win_length") == 0) {
      /* compared too: a different spectrogram definition */
    }
    int same = a->kind[k] == b->kind[k] &&
               (a->kind[k] == 1 ? a->num[k] == b->num[k] : strcmp(a->str[k], b->str[k]) == 0);
    if (!same) {
      char va[80], vb[80];
      if (a->kind[k] == 1) snprintf(va, sizeof va, "%g", a->num[k]); else snprintf(va, sizeof va, "%s", a->str[k]);
      if (b->kind[k] == 1) snprintf(vb, sizeof vb, "%g", b->num[k]); else snprintf(vb, sizeof vb, "%s", b->str[k]);
      return SN_FAIL(e, SN_ERR_INPUT, "%s: made with %s=%s but %s has %s=%s; refusing to mix spectrograms", what,
                     sn_stft_keys[k], vb, input, sn_stft_keys[k], va);
    }
  }
  return SN_OK;
}

static int parse_beta(const char *s, double *beta, sn_err *e) {
  if (!strcmp(s, "fro") || !strcmp(s, "frobenius")) *beta = 2.0;
  else if (!strcmp(s, "kl") || !strcmp(s, "kullback-leibler")) *beta = 1.0;
  else if (!strcmp(s, "is") || !strcmp(s, "itakura-saito")) *beta = 0.0;
  else {
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !isfinite(v))
      return SN_FAIL(e, SN_ERR_USAGE, "nmf --beta: '%s' is not fro, kl, is or a number", s);
    *beta = v;
  }
  return SN_OK;
}

/* Local: check V for negative / non-finite entries and (beta <= 0) zeros. */
static int check_v(const float *V, int64_t F, int64_t n, int64_t col0, double beta, const char *path,
                   const char *dset, sn_err *e) {
  for (int64_t j = 0; j < n; j++)
    for (int64_t i = 0; i < F; i++) {
      float v = V[i + j * F];
      if (!isfinite(v))
        return SN_FAIL(e, SN_ERR_INPUT, "%s: %s has a non-finite value at (%lld, %lld)", path, dset,
                       (long long)i, (long long)(col0 + j));
      if (v < 0)
        return SN_FAIL(e, SN_ERR_INPUT, "%s: %s has a negative value %g at (%lld, %lld); NMF needs a nonnegative matrix",
                       path, dset, v, (long long)i, (long long)(col0 + j));
      if (v == 0 && beta <= 0)
        return SN_FAIL(e, SN_ERR_INPUT,
                       "%s: %s contains zeros, and beta = %g <= 0 may diverge on zeros (as sklearn refuses); add a small floor to V or use beta > 0",
                       path, dset, beta);
    }
  return SN_OK;
}

static int check_nonneg(const float *x, size_t n, const char *what, sn_err *e) {
  for (size_t k = 0; k < n; k++)
    if (!(x[k] >= 0) || !isfinite(x[k]))
      return SN_FAIL(e, SN_ERR_INPUT, "%s: has a negative or non-finite value", what);
  return SN_OK;
}

int sn_cmd_nmf(sn_run *run, int argc, char **argv) {
  sn_err *e = &run->err;
  sn_common com = {0};
  int64_t k = 0, seed = 0, max_iter = 200, ckpt_every = 0, tile = 64;
  double tol = 1e-4, alpha_W = 0.0, l1_ratio = 0.0;
  const char *beta_s = "fro", *solver_s = "mu", *init_s = "nndsvda", *alpha_H_s = "same";
  const char *fixw_s = NULL, *ckpt_s = NULL, *dset = "/stft/magnitude";
  int sort = 0, resume = 0;
  const sn_opt t_main[] = {
      SN_COMMON_OPTS(&com),
      {"--components", 'k', SN_OPT_INT64, &k, "R", "number of components R (required, 1 <= R <= min(F, N))"},
      {"--beta", 0, SN_OPT_STRING, &beta_s, "LOSS", "fro|kl|is|NUMBER: beta-divergence (default fro)"},
      {"--solver", 0, SN_OPT_STRING, &solver_s, "mu|cd|anls", "multiplicative updates, coordinate descent (HALS) or exact alternating NNLS (cd, anls: fro only; default mu)"},
      {"--init", 0, SN_OPT_STRING, &init_s, "HOW", "random|nndsvd|nndsvda|nndsvdar|FILE.h5 (/nmf/W, /nmf/H) (default nndsvda)"},
      {"--seed", 0, SN_OPT_INT64, &seed, "N", "seed of random and nndsvdar starts (default 0)"},
      {"--tol", 0, SN_OPT_DOUBLE, &tol, "X", "stopping tolerance, sklearn's rule (default 1e-4)"},
      {"--max-iter", 0, SN_OPT_INT64, &max_iter, "N", "maximum iterations (default 200; 0 writes the start)"},
      {"--alpha-W", 0, SN_OPT_DOUBLE, &alpha_W, "X", "regularization of W, scaled as sklearn (default 0)"},
      {"--alpha-H", 0, SN_OPT_STRING, &alpha_H_s, "X", "regularization of H, or 'same' as alpha-W (default same)"},
      {"--l1-ratio", 0, SN_OPT_DOUBLE, &l1_ratio, "X", "L1 share of the regularization, 0..1 (default 0)"},
      {"--fix-W", 0, SN_OPT_STRING, &fixw_s, "FILE.h5[:/path]", "fixed dictionary columns (default path /nmf/W); the rest are learned"},
      {"--sort", 0, SN_OPT_FLAG, &sort, NULL, "order components by peak frequency (as librosa.decompose)"},
      {"--checkpoint", 0, SN_OPT_STRING, &ckpt_s, "FILE.h5", "checkpoint file (default OUTPUT.ckpt.h5)"},
      {"--checkpoint-every", 0, SN_OPT_INT64, &ckpt_every, "N", "write a checkpoint every N iterations (default 0: only on a signal)"},
      {"--resume", 0, SN_OPT_FLAG, &resume, NULL, "continue from the checkpoint"},
      {"--dataset", 0, SN_OPT_STRING, &dset, "PATH", "input dataset (default /stft/magnitude)"},
      {"--tile", 0, SN_OPT_INT64, &tile, "N", "columns per streamed tile (default 64)"},
      {NULL, 0, 0, NULL, NULL, NULL}};
  const sn_opt *const tables[] = {t_main, NULL};
  const char *pos[1] = {NULL};
  int n_pos = 0, done = 0;
  int rc = sn_cli_parse(run, &com, "SPEC.h5 -k R -o MODEL.h5 [options]",
                        "Factorize the magnitude spectrogram V (F x N) of SPEC.h5 as V ~= W H (sklearn NMF semantics), "
                        "distributed over ranks by time frames.",
                        tables, argc, argv, pos, 1, 1, &n_pos, &done);
  if (rc || done) return rc;

  const char *in = pos[0];
  sn_pnmf_opts o;
  memset(&o, 0, sizeof o);
  sn_pnmf_state st;
  memset(&st, 0, sizeof st);
  sn_h5 *f = NULL, *out = NULL;
  float *V = NULL, *W = NULL, *H = NULL, *Wfix = NULL;
  double *hi = NULL;
  sn_stft_attrs at_in, at_other;
  char ckpt_buf[4096], fx_file[4096], fx_dset[1024];
  int64_t n_fixed = 0;
  int init_kind = -1; /* 0 random, 1 nndsvd, 2 nndsvda, 3 nndsvdar, 4 file */
  double beta = 2.0, alpha_H = 0.0;
  int lrc = SN_OK;
  sn_signal_catch(); /* from here to the end: a signal asks for a checkpoint */

  /* ---- option checks (every rank parses the same argv) ---- */
  if (!com.output) lrc = SN_FAIL(e, SN_ERR_USAGE, "nmf: -o MODEL.h5 is required");
  else if (k <= 0) lrc = SN_FAIL(e, SN_ERR_USAGE, "nmf -k: the number of components must be >= 1 (got %lld)", (long long)k);
  else if (parse_beta(beta_s, &beta, e)) lrc = SN_ERR_USAGE;
  else if (strcmp(solver_s, "mu") && strcmp(solver_s, "cd") && strcmp(solver_s, "anls"))
    lrc = SN_FAIL(e, SN_ERR_USAGE, "nmf --solver: '%s' is not mu, cd or anls", solver_s);
  else if (!strcmp(solver_s, "cd") && beta != 2.0)
    lrc = SN_FAIL(e, SN_ERR_USAGE, "nmf --solver cd: coordinate descent handles only the Frobenius loss (--beta fro), not beta = %g (as sklearn: use --solver mu)", beta);
  else if (!strcmp(solver_s, "anls") && beta != 2.0)
    lrc = SN_FAIL(e, SN_ERR_USAGE, "nmf --solver anls: alternating nonnegative least squares handles only the Frobenius loss (--beta fro), not beta = %g; use --solver mu", beta);
  else if (!(tol >= 0)) lrc = SN_FAIL(e, SN_ERR_USAGE, "nmf --tol: must be >= 0 (got %g)", tol);
  else if (max_iter < 0) lrc = SN_FAIL(e, SN_ERR_USAGE, "nmf --max-iter: must be >= 0");
  else if (!(alpha_W >= 0)) lrc = SN_FAIL(e, SN_ERR_USAGE, "nmf --alpha-W: must be >= 0");
  else if (!(l1_ratio >= 0 && l1_ratio <= 1)) lrc = SN_FAIL(e, SN_ERR_USAGE, "nmf --l1-ratio: must be in [0, 1]");
  else if (tile <= 0 || tile > 65536) lrc = SN_FAIL(e, SN_ERR_USAGE, "nmf --tile: must be in 1..65536");
  else if (ckpt_every < 0) lrc = SN_FAIL(e, SN_ERR_USAGE, "nmf --checkpoint-every: must be >= 0");
  if (lrc == SN_OK) {
    if (!strcmp(alpha_H_s, "same")) alpha_H = alpha_W;
    else {
      char *end = NULL;
      alpha_H = strtod(alpha_H_s, &end);
      if (end == alpha_H_s || *end || !(alpha_H >= 0) || !isfinite(alpha_H))
        lrc = SN_FAIL(e, SN_ERR_USAGE, "nmf --alpha-H: '%s' is not 'same' or a number >= 0", alpha_H_s);
    }
    if (!strcmp(init_s, "random")) init_kind = 0;
    else if (!strcmp(init_s, "nndsvd")) init_kind = 1;
    else if (!strcmp(init_s, "nndsvda")) init_kind = 2;
    else if (!strcmp(init_s, "nndsvdar")) init_kind = 3;
    else init_kind = 4;
  }
  snprintf(ckpt_buf, sizeof ckpt_buf, "%s.ckpt.h5", com.output ? com.output : "nmf");
  rc = sn_agree(run->comm, lrc, e);
  if (rc) return rc;
  o.checkpoint = ckpt_s ? ckpt_s : ckpt_buf;

  /* ---- input ---- */
  sn_timer_begin(&run->timer, SN_PH_READ);
  int64_t dims[2] = {0, 0};
  int nd = 0;
  SN_CHECK(sn_h5_open(run->comm, in, &f, e));
  SN_CHECK(sn_h5_shape(f, dset, &nd, dims, e));
  if (nd != 2 || dims[0] < 1 || dims[1] < 1)
    lrc = SN_FAIL(e, SN_ERR_INPUT, "%s: %s must be a 2-D (F, N) array with F, N >= 1", in, dset);
  else if (k > dims[0] || k > dims[1])
    lrc = SN_FAIL(e, SN_ERR_USAGE, "nmf -k: %lld components exceed min(F, N) = %lld for %s %s (%lld x %lld)",
                  (long long)k, (long long)(dims[0] < dims[1] ? dims[0] : dims[1]), in, dset,
                  (long long)dims[0], (long long)dims[1]);
  SN_CHECK(sn_agree(run->comm, lrc, e));
  const int64_t F = dims[0], N = dims[1];
  sn_block_range(N, run->size, run->rank, &o.col0, &o.n_local);
  o.N = N;
  size_t nv = 0;
  if (sn_mul_size((size_t)F, (size_t)o.n_local, &nv)) lrc = SN_FAIL(e, SN_ERR_NOMEM, "%s: block too large", in);
  if (!lrc) V = sn_calloc(nv * sizeof(float), "spectrogram block", e);
  W = sn_calloc((size_t)(F * k) * sizeof(float), "W", e);
  H = sn_calloc((size_t)(k * (o.n_local > 0 ? o.n_local : 1)) * sizeof(float), "H", e);
  if (!lrc && (!V || !W || !H)) lrc = SN_ERR_NOMEM;
  SN_CHECK(sn_agree(run->comm, lrc, e));
  SN_CHECK(sn_h5_read_cols(f, dset, F, o.col0, o.n_local, V, F, e));
  attrs_read(f, dset, &at_in);
  SN_CHECK(sn_h5_close(&f, 0, e));
  SN_CHECK(sn_agree(run->comm, check_v(V, F, o.n_local, o.col0, beta, in, dset, e), e));
  sn_timer_end(&run->timer, SN_PH_READ);

  /* ---- configuration (sklearn's regularization scaling, X = V: n_samples = F, n_features = N) ---- */
  o.cfg.F = F;
  o.cfg.R = k;
  o.cfg.beta = beta;
  o.cfg.solver = !strcmp(solver_s, "cd") ? SN_NMF_CD : !strcmp(solver_s, "anls") ? SN_NMF_ANLS : SN_NMF_MU;
  o.cfg.l1_W = (double)N * alpha_W * l1_ratio;
  o.cfg.l2_W = (double)N * alpha_W * (1.0 - l1_ratio);
  o.cfg.l1_H = (double)F * alpha_H * l1_ratio;
  o.cfg.l2_H = (double)F * alpha_H * (1.0 - l1_ratio);
  o.cfg.tile = tile;
  o.max_iter = max_iter;
  o.tol = tol;
  o.checkpoint_every = ckpt_every;
  o.stop = sn_signal_flag();

  /* ---- fixed dictionary ---- */
  if (fixw_s) {
    sn_timer_begin(&run->timer, SN_PH_READ);
    SN_CHECK(sn_h5_split_spec(fixw_s, "/nmf/W", fx_file, sizeof fx_file, fx_dset, sizeof fx_dset, e));
    SN_CHECK(sn_h5_open(run->comm, fx_file, &f, e));
    SN_CHECK(sn_h5_shape(f, fx_dset, &nd, dims, e));
    if (nd != 2 || dims[0] != F)
      lrc = SN_FAIL(e, SN_ERR_INPUT, "%s: %s must be (F, c) = (%lld, c) to match %s", fx_file, fx_dset, (long long)F, in);
    else if (dims[1] < 1 || dims[1] > k)
      lrc = SN_FAIL(e, SN_ERR_INPUT, "%s: %s has %lld columns; a fixed dictionary needs 1..k = %lld", fx_file, fx_dset,
                    (long long)dims[1], (long long)k);
    SN_CHECK(sn_agree(run->comm, lrc, e));
    n_fixed = dims[1];
    Wfix = sn_calloc((size_t)(F * n_fixed) * sizeof(float), "fixed W", e);
    SN_CHECK(sn_agree(run->comm, Wfix ? SN_OK : SN_ERR_NOMEM, e));
    SN_CHECK(sn_h5_read_cols(f, fx_dset, F, 0, n_fixed, Wfix, F, e));
    attrs_read(f, fx_dset, &at_other);
    SN_CHECK(sn_h5_close(&f, 0, e));
    lrc = attrs_compat(&at_in, &at_other, fx_file, in, e);
    if (!lrc) lrc = check_nonneg(Wfix, (size_t)(F * n_fixed), fx_file, e);
    SN_CHECK(sn_agree(run->comm, lrc, e));
    o.cfg.n_fixed = n_fixed;
    sn_timer_end(&run->timer, SN_PH_READ);
  }

  /* ---- fingerprint of data + options (for checkpoints) ---- */
  {
    uint64_t h = 0;
    SN_CHECK(sn_pnmf_data_hash(run, &o, V, &h));
    uint64_t fp = sn_fnv1a(SN_FNV_INIT, &h, sizeof h);
    int64_t iv[6] = {F, N, k, o.cfg.solver, n_fixed, tile};
    double dv[6] = {beta, o.cfg.l1_W, o.cfg.l2_W, o.cfg.l1_H, o.cfg.l2_H, tol};
    fp = sn_fnv1a(fp, iv, sizeof iv);
    fp = sn_fnv1a(fp, dv, sizeof dv);
    fp = sn_fnv1a(fp, init_s, strlen(init_s));
    fp = sn_fnv1a(fp, &seed, sizeof seed);
    if (Wfix) fp = sn_fnv1a(fp, Wfix, (size_t)(F * n_fixed) * sizeof(float));
    o.fingerprint = fp;
  }
  SN_CHECK(sn_pnmf_state_init(&st, max_iter, e));

  /* ---- start ---- */
  sn_timer_begin(&run->timer, SN_PH_INIT);
  if (resume) {
    lrc = access(o.checkpoint, R_OK) == 0 ? SN_OK
                                           : SN_FAIL(e, SN_ERR_INPUT, "%s: no checkpoint to resume from (--resume)", o.checkpoint);
    SN_CHECK(sn_agree(run->comm, lrc, e));
    SN_CHECK(sn_pnmf_checkpoint_read(run, &o, W, H, &st));
    SN_PROGRESS(run, "nmf: resuming from %s at iteration %lld", o.checkpoint, (long long)st.iter);
  } else if (init_kind == 0) {
    SN_CHECK(sn_pnmf_init_random(run, &o, V, (uint64_t)seed, W, H));
  } else if (init_kind <= 3) {
    SN_CHECK(sn_svd_nndsvd(run, &o, V, init_kind - 1, (uint64_t)seed, W, H));
  } else {
    SN_CHECK(sn_h5_open(run->comm, init_s, &f, e));
    SN_CHECK(sn_h5_shape(f, "/nmf/W", &nd, dims, e));
    if (nd != 2 || dims[0] != F || dims[1] != k)
      lrc = SN_FAIL(e, SN_ERR_INPUT, "%s: /nmf/W is %lld x %lld, expected (F, k) = (%lld, %lld)", init_s,
                    (long long)dims[0], (long long)(nd == 2 ? dims[1] : 1), (long long)F, (long long)k);
    SN_CHECK(sn_agree(run->comm, lrc, e));
    SN_CHECK(sn_h5_shape(f, "/nmf/H", &nd, dims, e));
    if (nd != 2 || dims[0] != k || dims[1] != N)
      lrc = SN_FAIL(e, SN_ERR_INPUT, "%s: /nmf/H is %lld x %lld, expected (k, N) = (%lld, %lld)", init_s,
                    (long long)dims[0], (long long)(nd == 2 ? dims[1] : 1), (long long)k, (long long)N);
    SN_CHECK(sn_agree(run->comm, lrc, e));
    SN_CHECK(sn_h5_read_cols(f, "/nmf/W", F, 0, k, W, F, e));
    SN_CHECK(sn_h5_read_cols(f, "/nmf/H", k, o.col0, o.n_local, H, k, e));
    attrs_read(f, "/nmf/W", &at_other);
    SN_CHECK(sn_h5_close(&f, 0, e));
    lrc = attrs_compat(&at_in, &at_other, init_s, in, e);
    if (!lrc) lrc = check_nonneg(W, (size_t)(F * k), init_s, e);
    if (!lrc) lrc = check_nonneg(H, (size_t)(k * o.n_local), init_s, e);
    SN_CHECK(sn_agree(run->comm, lrc, e));
  }
  if (Wfix && !resume) memcpy(W, Wfix, (size_t)(F * n_fixed) * sizeof(float));
  sn_timer_end(&run->timer, SN_PH_INIT);

  /* ---- solve (a SIGTERM/SIGUSR1 caught since the start asks for a checkpoint) ---- */
  SN_PROGRESS(run, "nmf: V %lld x %lld on %d rank(s), k = %lld, beta = %g, solver %s, init %s%s", (long long)F,
              (long long)N, run->size, (long long)k, beta, solver_s, init_s, n_fixed ? ", fixed dictionary" : "");
  rc = sn_pnmf_solve(run, &o, V, W, H, &st, resume);
  if (rc) goto cleanup;

  /* ---- sort by peak frequency (librosa.decompose: argsort of argmax over bins) ---- */
  if (sort) {
    int64_t *peak = calloc((size_t)k, sizeof *peak), *idx = calloc((size_t)k, sizeof *idx);
    float *tmp = calloc((size_t)(F * k > k * o.n_local ? F * k : k * o.n_local) + 1, sizeof *tmp);
    lrc = (peak && idx && tmp) ? SN_OK : SN_FAIL(e, SN_ERR_NOMEM, "nmf --sort: out of memory");
    if (!lrc) {
      for (int64_t r = 0; r < k; r++) {
        int64_t best = 0;
        for (int64_t i = 1; i < F; i++)
          if (W[i + r * F] > W[best + r * F]) best = i;
        peak[r] = best;
        idx[r] = r;
      }
      for (int64_t a = 1; a < k; a++) /* stable insertion sort */
        for (int64_t b = a; b > 0 && peak[idx[b - 1]] > peak[idx[b]]; b--) {
          int64_t t = idx[b];
          idx[b] = idx[b - 1];
          idx[b - 1] = t;
        }
      memcpy(tmp, W, (size_t)(F * k) * sizeof(float));
      for (int64_t r = 0; r < k; r++) memcpy(W + r * F, tmp + idx[r] * F, (size_t)F * sizeof(float));
      memcpy(tmp, H, (size_t)(k * o.n_local) * sizeof(float));
      for (int64_t j = 0; j < o.n_local; j++)
        for (int64_t r = 0; r < k; r++) H[r + j * k] = tmp[idx[r] + j * k];
    }
    free(peak);
    free(idx);
    free(tmp);
    SN_CHECK(sn_agree(run->comm, lrc, e));
  }

  /* ---- output ---- */
  sn_timer_begin(&run->timer, SN_PH_WRITE);
  SN_CHECK(sn_h5_create(run->comm, com.output, com.force, &out, e));
  SN_CHECK(sn_h5_write_cols(out, "/nmf/W", F, k, 0, run->rank == 0 ? k : 0, W, F, e));
  SN_CHECK(sn_h5_write_cols(out, "/nmf/H", k, N, o.col0, o.n_local, H, k, e));
  hi = sn_calloc((size_t)(st.n_hist + 1) * sizeof(double), "loss history", e);
  SN_CHECK(sn_agree(run->comm, hi ? SN_OK : SN_ERR_NOMEM, e));
  for (int64_t q = 0; q < st.n_hist; q++) hi[q] = (double)st.hist_iter[q];
  SN_CHECK(sn_h5_write_vec(out, "/nmf/loss", st.n_hist, st.hist, e));
  SN_CHECK(sn_h5_write_vec(out, "/nmf/loss_iter", st.n_hist, hi, e));
  double rerr = sqrt(2.0 * fmax(st.loss, 0.0));
  SN_CHECK(sn_h5_attr_set_double(out, "/nmf/loss", "reconstruction_err", rerr, e));
  SN_CHECK(sn_h5_attr_set_double(out, "/nmf", "beta", beta, e));
  SN_CHECK(sn_h5_attr_set_str(out, "/nmf", "solver", solver_s, e));
  SN_CHECK(sn_h5_attr_set_str(out, "/nmf", "init", init_s, e));
  SN_CHECK(sn_h5_attr_set_int(out, "/nmf", "seed", seed, e));
  SN_CHECK(sn_h5_attr_set_double(out, "/nmf", "tol", tol, e));
  SN_CHECK(sn_h5_attr_set_int(out, "/nmf", "max_iter", max_iter, e));
  {
    char reg[256];
    snprintf(reg, sizeof reg, "alpha_W=%g alpha_H=%g l1_ratio=%g (l1_W=%g l2_W=%g l1_H=%g l2_H=%g)", alpha_W, alpha_H,
             l1_ratio, o.cfg.l1_W, o.cfg.l2_W, o.cfg.l1_H, o.cfg.l2_H);
    SN_CHECK(sn_h5_attr_set_str(out, "/nmf", "regularization", reg, e));
  }
  SN_CHECK(sn_h5_attr_set_double(out, "/nmf", "alpha_W", alpha_W, e));
  SN_CHECK(sn_h5_attr_set_double(out, "/nmf", "alpha_H", alpha_H, e));
  SN_CHECK(sn_h5_attr_set_double(out, "/nmf", "l1_ratio", l1_ratio, e));
  SN_CHECK(sn_h5_attr_set_int(out, "/nmf", "n_iter", st.iter, e));
  SN_CHECK(sn_h5_attr_set_int(out, "/nmf", "converged", st.converged, e));
  SN_CHECK(sn_h5_attr_set_double(out, "/nmf", "loss", st.loss, e));
  SN_CHECK(sn_h5_attr_set_double(out, "/nmf", "reconstruction_err", rerr, e));
  SN_CHECK(sn_h5_attr_set_int(out, "/nmf", "n_fixed", n_fixed, e));
  SN_CHECK(sn_h5_attr_set_int(out, "/nmf", "sorted", sort, e));
  SN_CHECK(attrs_write(out, "/nmf/W", &at_in, e));
  SN_CHECK(attrs_write(out, "/nmf/H", &at_in, e));
  SN_CHECK(attrs_write(out, "/nmf", &at_in, e));
  SN_CHECK(sn_h5_close(&out, 1, e));
  sn_timer_end(&run->timer, SN_PH_WRITE);
  /* the run is complete: its checkpoint is no longer needed */
  if (run->rank == 0) unlink(o.checkpoint);

  sn_run_fact_int(run, "F", F);
  sn_run_fact_int(run, "N", N);
  sn_run_fact_int(run, "k", k);
  sn_run_fact_int(run, "n_iter", st.iter);
  sn_run_fact_int(run, "converged", st.converged);
  sn_run_fact_double(run, "loss", st.loss);
  sn_run_fact_double(run, "reconstruction_err", rerr);
  sn_run_fact_double(run, "bytes_reduced", run->bytes_reduced);
  {
    /* peak resident memory per rank (max over ranks) against the V block */
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double mem[2] = {(double)ru.ru_maxrss / 1024.0, (double)nv * 4.0 / 1048576.0};
    MPI_Allreduce(MPI_IN_PLACE, mem, 2, MPI_DOUBLE, MPI_MAX, run->comm);
    sn_run_fact_double(run, "peak_rss_mib_max", mem[0]);
    sn_run_fact_double(run, "v_block_mib_max", mem[1]);
    SN_PROGRESS(run, "nmf: peak memory per rank %.1f MiB (largest V block %.1f MiB), %.0f bytes reduced per rank",
                mem[0], mem[1], run->bytes_reduced);
  }
  run->timer.bytes_reduced = run->bytes_reduced;

cleanup:
  sn_signal_release();
  if (f) sn_h5_close(&f, 0, e);
  if (out) sn_h5_close(&out, 0, e);
  sn_pnmf_state_free(&st);
  sn_free(V);
  sn_free(W);
  sn_free(H);
  sn_free(Wfix);
  sn_free(hi);
  return rc;
}
