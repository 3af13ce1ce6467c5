/* The NMF part of the nmf and separate commands (see sn_nmf_cli.h). */
#include "sn_nmf_cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sn_comm.h"
#include "sn_model.h"
#include "sn_nmf_check.h"
#include "sn_ponline.h"
#include "sn_signal.h"
#include "sn_svd.h"

/* Local. "fro", "kl", "is" (and their long names) or a finite number. */
static int parse_beta(const char *cmd, const char *s, double *beta, sn_err *e) {
  if (!strcmp(s, "fro") || !strcmp(s, "frobenius")) *beta = 2.0;
  else if (!strcmp(s, "kl") || !strcmp(s, "kullback-leibler")) *beta = 1.0;
  else if (!strcmp(s, "is") || !strcmp(s, "itakura-saito")) *beta = 0.0;
  else {
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !isfinite(v))
      return SN_FAIL(e, SN_ERR_USAGE, "%s --beta: '%s' is not fro, kl, is or a number", cmd, s);
    *beta = v;
  }
  return SN_OK;
}

int sn_nmf_cli_check(const char *cmd, sn_nmf_cli *c, sn_err *e) {
  int rc = SN_OK;
  if (c->k <= 0)
    rc = SN_FAIL(e, SN_ERR_USAGE, "%s -k: the number of components must be >= 1 (got %lld)", cmd, (long long)c->k);
  else if (parse_beta(cmd, c->beta_s, &c->beta, e)) rc = SN_ERR_USAGE;
  else if (strcmp(c->solver_s, "mu") && strcmp(c->solver_s, "cd") && strcmp(c->solver_s, "anls") &&
           strcmp(c->solver_s, "online"))
    rc = SN_FAIL(e, SN_ERR_USAGE, "%s --solver: '%s' is not mu, cd, anls or online", cmd, c->solver_s);
  else if (!strcmp(c->solver_s, "cd") && c->beta != 2.0)
    rc = SN_FAIL(e, SN_ERR_USAGE,
                 "%s --solver cd: coordinate descent handles only the Frobenius loss (--beta fro), not beta = %g (as sklearn: use --solver mu)",
                 cmd, c->beta);
  else if (!strcmp(c->solver_s, "anls") && c->beta != 2.0)
    rc = SN_FAIL(e, SN_ERR_USAGE,
                 "%s --solver anls: alternating nonnegative least squares handles only the Frobenius loss (--beta fro), not beta = %g; use --solver mu",
                 cmd, c->beta);
  else if (!(c->tol >= 0)) rc = SN_FAIL(e, SN_ERR_USAGE, "%s --tol: must be >= 0 (got %g)", cmd, c->tol);
  else if (c->max_iter < 0) rc = SN_FAIL(e, SN_ERR_USAGE, "%s --max-iter: must be >= 0", cmd);
  else if (!(c->alpha_W >= 0)) rc = SN_FAIL(e, SN_ERR_USAGE, "%s --alpha-W: must be >= 0", cmd);
  else if (!(c->l1_ratio >= 0 && c->l1_ratio <= 1)) rc = SN_FAIL(e, SN_ERR_USAGE, "%s --l1-ratio: must be in [0, 1]", cmd);
  else if (c->tile <= 0 || c->tile > 65536) rc = SN_FAIL(e, SN_ERR_USAGE, "%s --tile: must be in 1..65536", cmd);
  else if (c->checkpoint_every < 0) rc = SN_FAIL(e, SN_ERR_USAGE, "%s --checkpoint-every: must be >= 0", cmd);
  else if (c->batch_size == 0 || c->batch_size < -1)
    rc = SN_FAIL(e, SN_ERR_USAGE, "%s --batch-size: must be >= 1 frame (got %lld)", cmd, (long long)c->batch_size);
  else if (!(c->forget_factor >= 0 && c->forget_factor <= 1))
    rc = SN_FAIL(e, SN_ERR_USAGE, "%s --forget-factor: must be in [0, 1] (got %g)", cmd, c->forget_factor);
  else if (c->max_no_improvement < 0) rc = SN_FAIL(e, SN_ERR_USAGE, "%s --max-no-improvement: must be >= 0", cmd);
  else if (c->transform_max_iter < -1) rc = SN_FAIL(e, SN_ERR_USAGE, "%s --transform-max-iter: must be >= 0", cmd);
  else if (strcmp(c->transform_start_s, "last") && strcmp(c->transform_start_s, "constant"))
    rc = SN_FAIL(e, SN_ERR_USAGE, "%s --transform-start: last or constant (got '%s')", cmd, c->transform_start_s);
  if (rc) return rc;
  c->online = !strcmp(c->solver_s, "online");
  c->transform_warm = !strcmp(c->transform_start_s, "last");
  if (c->online && c->max_iter < 1)
    return SN_FAIL(e, SN_ERR_USAGE, "%s --max-iter: --solver online needs at least 1 pass", cmd);
  if (c->online && (c->resume || c->checkpoint_every > 0))
    return SN_FAIL(e, SN_ERR_USAGE, "%s --solver online: no checkpoints (--resume, --checkpoint-every): a run restarts", cmd);
  c->solver = !strcmp(c->solver_s, "cd") ? SN_NMF_CD : !strcmp(c->solver_s, "anls") ? SN_NMF_ANLS : SN_NMF_MU;
  if (!strcmp(c->alpha_H_s, "same")) c->alpha_H = c->alpha_W;
  else {
    char *end = NULL;
    c->alpha_H = strtod(c->alpha_H_s, &end);
    if (end == c->alpha_H_s || *end || !(c->alpha_H >= 0) || !isfinite(c->alpha_H))
      return SN_FAIL(e, SN_ERR_USAGE, "%s --alpha-H: '%s' is not 'same' or a number >= 0", cmd, c->alpha_H_s);
  }
  if (!strcmp(c->init_s, "random")) c->init_kind = SN_NMF_INIT_RANDOM;
  else if (!strcmp(c->init_s, "nndsvd")) c->init_kind = SN_NMF_INIT_NNDSVD;
  else if (!strcmp(c->init_s, "nndsvda")) c->init_kind = SN_NMF_INIT_NNDSVDA;
  else if (!strcmp(c->init_s, "nndsvdar")) c->init_kind = SN_NMF_INIT_NNDSVDAR;
  else c->init_kind = SN_NMF_INIT_FILE;
  return SN_OK;
}

int sn_nmf_cli_check_batch(const char *cmd, const sn_nmf_cli *c, int64_t N, sn_err *e) {
  if (c->online && c->batch_size > N)
    return SN_FAIL(e, SN_ERR_USAGE, "%s --batch-size: %lld frames exceed the %lld frames of the input", cmd,
                   (long long)c->batch_size, (long long)N);
  return SN_OK;
}

void sn_nmf_cli_scratch_dir(const sn_nmf_cli *c, const char *output, int outdir, char *buf, size_t cap) {
  if (c->scratch) {
    snprintf(buf, cap, "%s", c->scratch);
    return;
  }
  snprintf(buf, cap, "%s", output && *output ? output : ".");
  /* the output's folder (outdir), else the folder the output goes in; while
   * that does not exist yet (made later, as mkdir -p), its nearest ancestor */
  struct stat sb;
  for (int first = 1;; first = 0) {
    if (first && outdir && stat(buf, &sb) == 0 && S_ISDIR(sb.st_mode)) return;
    char *slash = strrchr(buf, '/');
    while (slash && slash > buf && slash[1] == '\0') { /* a trailing slash */
      *slash = '\0';
      slash = strrchr(buf, '/');
    }
    if (!slash) snprintf(buf, cap, ".");
    else if (slash == buf) buf[1] = '\0';
    else *slash = '\0';
    if (!strcmp(buf, ".") || !strcmp(buf, "/") || (stat(buf, &sb) == 0 && S_ISDIR(sb.st_mode))) return;
  }
}

int sn_nmf_cli_check_k(const char *cmd, int64_t k, int64_t F, int64_t N, const char *what, sn_err *e) {
  if (k > F || k > N)
    return SN_FAIL(e, SN_ERR_USAGE, "%s -k: %lld components exceed min(F, N) = %lld for %s (%lld bins x %lld frames)",
                   cmd, (long long)k, (long long)(F < N ? F : N), what, (long long)F, (long long)N);
  return SN_OK;
}

int sn_nmf_cli_check_v(const float *V, int64_t F, int64_t n, int64_t col0, double beta, const char *path,
                       const char *what, sn_err *e) {
  return sn_nmf_check_v(V, F, n, col0, beta, path, what, e); /* src/sn_nmf_check.h */
}

/* Collective. Read the fixed dictionary of --fix-W FILE.h5[:/path] (F x c,
 * 1 <= c <= k) into *Wfix; refuse one of other spectrogram parameters. */
static int read_fixed(sn_run *run, const sn_nmf_cli *c, const sn_nmf_block *b, float **Wfix, int64_t *n_fixed) {
  sn_err *e = &run->err;
  char file[4096], dset[1024];
  sn_h5 *f = NULL;
  int rc;
  const int64_t F = b->F;
  SN_CHECK(sn_agree(run->comm, sn_h5_split_spec(c->fix_W_s, SN_MODEL_W, file, sizeof file, dset, sizeof dset, e), e));
  SN_CHECK(sn_h5_open(run->comm, file, &f, e));
  if (b->compat) SN_CHECK(sn_agree(run->comm, b->compat(b->compat_ctx, f, dset, file, e), e));
  const sn_model_dims d = {F, c->k, b->N, b->col0, b->n_local};
  SN_CHECK(sn_model_read_fixed(f, file, dset, &d, b->path, Wfix, n_fixed, e));
  SN_CHECK(sn_h5_close(&f, 0, e));
cleanup:
  if (f) sn_h5_close(&f, 0, e);
  return rc;
}

/* Collective. Start from --init FILE.h5: /nmf/W (F, k) and this rank's
 * columns of /nmf/H (k, N). */
static int read_start(sn_run *run, const sn_nmf_cli *c, const sn_nmf_block *b, float *W, float *H) {
  sn_err *e = &run->err;
  const char *file = c->init_s;
  const int64_t F = b->F, N = b->N, k = c->k;
  sn_h5 *f = NULL;
  int rc;
  SN_CHECK(sn_h5_open(run->comm, file, &f, e));
  if (b->compat_init) SN_CHECK(sn_agree(run->comm, b->compat_init(b->compat_ctx, f, SN_MODEL_W, file, e), e));
  const sn_model_dims d = {F, k, N, b->col0, b->n_local};
  SN_CHECK(sn_model_read_start(f, file, &d, W, H, e));
  SN_CHECK(sn_h5_close(&f, 0, e));
cleanup:
  if (f) sn_h5_close(&f, 0, e);
  return rc;
}

/* Local. Reorder the components by the bin of W's peak (stable), as
 * librosa.decompose(sort=True): columns of W (F x k, ld F) and rows of H
 * (k x n, ld k). SN_ERR_NOMEM ("CMD --sort: out of memory"). */
static int nmf_sort(const char *cmd, int64_t F, int64_t k, int64_t n, float *W, float *H, sn_err *e) {
  int64_t *peak = calloc((size_t)k, sizeof *peak), *idx = calloc((size_t)k, sizeof *idx);
  float *tmp = calloc((size_t)(F * k > k * n ? F * k : k * n) + 1, sizeof *tmp);
  int rc = (peak && idx && tmp) ? SN_OK : SN_FAIL(e, SN_ERR_NOMEM, "%s --sort: out of memory", cmd);
  if (!rc) {
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
    memcpy(tmp, H, (size_t)(k * n) * sizeof(float));
    for (int64_t j = 0; j < n; j++)
      for (int64_t r = 0; r < k; r++) H[r + j * k] = tmp[idx[r] + j * k];
  }
  free(peak);
  free(idx);
  free(tmp);
  return rc;
}

/* Collective. H = sqrt(mean(V) / k) everywhere (sklearn's start of H when W
 * is given): the start that does not depend on an unused init of W. */
static int start_h_constant(sn_run *run, const sn_pnmf_opts *o, const sn_nmf_block *b, const sn_frames *V, int64_t k,
                            float *H) {
  double sum = 0;
  int rc = sn_pnmf_vsum(run, o, V, &sum);
  if (rc) return rc;
  float avg = (float)sqrt(sum / ((double)b->F * (double)b->N) / (double)k);
  for (int64_t q = 0; q < k * b->n_local; q++) H[q] = avg;
  return SN_OK;
}

/* Local. The solver's configuration from the options (sklearn's
 * regularization scaling, X = V: n_samples = F, n_features = N). */
static void run_config(const sn_nmf_cli *c, const sn_nmf_block *b, sn_pnmf_opts *o) {
  const int64_t F = b->F, N = b->N;
  memset(o, 0, sizeof *o);
  o->cfg.F = F;
  o->cfg.R = c->k;
  o->cfg.beta = c->beta;
  o->cfg.solver = c->solver;
  o->cfg.l1_W = (double)N * c->alpha_W * c->l1_ratio;
  o->cfg.l2_W = (double)N * c->alpha_W * (1.0 - c->l1_ratio);
  o->cfg.l1_H = (double)F * c->alpha_H * c->l1_ratio;
  o->cfg.l2_H = (double)F * c->alpha_H * (1.0 - c->l1_ratio);
  o->cfg.tile = c->tile;
  o->N = N;
  o->col0 = b->col0;
  o->n_local = b->n_local;
  o->max_iter = c->max_iter;
  o->tol = c->tol;
  o->checkpoint_every = c->checkpoint_every;
  o->checkpoint = b->checkpoint;
  o->stop = sn_signal_flag();
  o->monitor.fn = sn_pnmf_monitor_print;
  const char *eig = getenv("SPECNMF_EIGEN"); /* tests: exact|subspace|scalapack at any F */
  o->eig = !eig ? SN_EIG_AUTO : !strcmp(eig, "scalapack") ? SN_EIG_SCALAPACK : !strcmp(eig, "subspace") ? SN_EIG_SUBSPACE
         : !strcmp(eig, "exact") ? SN_EIG_EXACT : SN_EIG_AUTO;
  const char *chunk = getenv("SPECNMF_READ_CHUNK"); /* tests: fewer frames per chunk when V is read */
  o->read_chunk = chunk && *chunk ? atoll(chunk) : 0;
  const char *fault = getenv("SPECNMF_FAULT"), *fi = getenv("SPECNMF_FAULT_ITER");
  if (fault && *fault) { /* tests: fault injection; a simulated signal after SPECNMF_FAULT_ITER (5) */
    o->monitor.hook = sn_pnmf_hook_faults;
    o->monitor.signal_iter = fi && *fi ? atoll(fi) : 5;
  }
}

/* Local. The online solver needs a column of W to learn and a batch that
 * fits the input. */
static int check_online(const char *cmd, const sn_nmf_cli *c, int64_t N, int64_t n_fixed, sn_err *e) {
  if (n_fixed == c->k)
    return SN_FAIL(e, SN_ERR_USAGE,
                   "%s --solver online: every column of W is fixed, nothing to learn (use --solver mu, or learn columns with --free)",
                   cmd);
  return sn_nmf_cli_check_batch(cmd, c, N, e);
}

/* Collective. The fixed dictionary (F x *n_fixed) into *Wfix (NULL when
 * none): a copy of c->fix_W, or read from --fix-W FILE. */
static int run_fixed(sn_run *run, const char *cmd, const sn_nmf_cli *c, const sn_nmf_block *b, sn_pnmf_opts *o,
                     float **Wfix, int64_t *n_fixed) {
  sn_err *e = &run->err;
  const int64_t F = b->F;
  int rc = SN_OK;
  if (c->fix_W) {
    *Wfix = sn_calloc((size_t)(F * c->fix_W_cols) * sizeof(float), "fixed W", e);
    SN_AGREE(run, *Wfix ? SN_OK : SN_ERR_NOMEM);
    memcpy(*Wfix, c->fix_W, (size_t)(F * c->fix_W_cols) * sizeof(float));
    *n_fixed = c->fix_W_cols;
    o->cfg.n_fixed = *n_fixed;
  } else if (c->fix_W_s) {
    sn_timer_begin(&run->timer, SN_PH_READ);
    rc = read_fixed(run, c, b, Wfix, n_fixed);
    sn_timer_end(&run->timer, SN_PH_READ);
    if (rc) goto cleanup;
    o->cfg.n_fixed = *n_fixed;
  }
  if (c->online) SN_AGREE(run, check_online(cmd, c, b->N, *n_fixed, e));
cleanup:
  return rc;
}

/* Collective. o->fingerprint: a hash of the data and of the options that
 * change the result (a checkpoint must match it). */
static int run_fingerprint(sn_run *run, const sn_nmf_cli *c, const sn_nmf_block *b, const sn_frames *V,
                           sn_pnmf_opts *o, const float *Wfix, int64_t n_fixed) {
  uint64_t h = 0;
  int rc = sn_pnmf_data_hash(run, o, V, &h);
  if (rc) return rc;
  uint64_t fp = sn_fnv1a(SN_FNV_INIT, &h, sizeof h);
  int64_t iv[6] = {b->F, b->N, c->k, c->solver, n_fixed, c->tile};
  double dv[6] = {c->beta, o->cfg.l1_W, o->cfg.l2_W, o->cfg.l1_H, o->cfg.l2_H, c->tol};
  fp = sn_fnv1a(fp, iv, sizeof iv);
  fp = sn_fnv1a(fp, dv, sizeof dv);
  fp = sn_fnv1a(fp, c->init_s, strlen(c->init_s));
  fp = sn_fnv1a(fp, &c->seed, sizeof c->seed);
  if (Wfix) fp = sn_fnv1a(fp, Wfix, (size_t)(b->F * n_fixed) * sizeof(float));
  o->fingerprint = fp;
  return SN_OK;
}

/* Local. --resume needs a readable checkpoint. */
static int check_resume(const char *checkpoint, sn_err *e) {
  if (access(checkpoint, R_OK) == 0) return SN_OK;
  return SN_FAIL(e, SN_ERR_INPUT, "%s: no checkpoint to resume from (--resume)", checkpoint);
}

/* Collective. The start of W and H (phase init): a checkpoint (--resume),
 * a constant H under a wholly fixed W, random, NNDSVD or --init FILE; then
 * the fixed columns of W. */
static int run_start(sn_run *run, const char *cmd, const sn_nmf_cli *c, const sn_nmf_block *b, const sn_frames *V,
                     sn_pnmf_opts *o, const float *Wfix, int64_t n_fixed, float *W, float *H, sn_pnmf_state *st) {
  const int64_t k = c->k;
  int rc = SN_OK;
  sn_timer_begin(&run->timer, SN_PH_INIT);
  if (c->resume) {
    SN_AGREE(run, check_resume(o->checkpoint, &run->err));
    SN_CHECK(sn_pnmf_checkpoint_read(run, o, W, H, st));
    SN_PROGRESS(run, "%s: resuming the NMF from %s at iteration %lld", cmd, o->checkpoint, (long long)st->iter);
  } else if (n_fixed == k && c->init_kind != SN_NMF_INIT_FILE) {
    rc = start_h_constant(run, o, b, V, k, H); /* W is the dictionary: no init of W to run */
  } else if (c->init_kind == SN_NMF_INIT_RANDOM) {
    rc = sn_pnmf_init_random(run, o, V, (uint64_t)c->seed, W, H);
  } else if (c->init_kind != SN_NMF_INIT_FILE) {
    rc = sn_svd_nndsvd(run, o, V, c->init_kind - SN_NMF_INIT_NNDSVD, (uint64_t)c->seed, W, H);
  } else {
    rc = read_start(run, c, b, W, H);
  }
  if (rc == SN_OK && Wfix && !c->resume) memcpy(W, Wfix, (size_t)(b->F * n_fixed) * sizeof(float));
cleanup:
  sn_timer_end(&run->timer, SN_PH_INIT);
  return rc;
}

/* Collective. Solve (a SIGTERM/SIGUSR1 caught since the command's start asks
 * for a checkpoint). */
static int run_solve(sn_run *run, const sn_nmf_cli *c, const sn_nmf_block *b, const sn_frames *V, sn_pnmf_opts *o,
                     float *W, float *H, sn_pnmf_state *st) {
  const int64_t N = b->N;
  if (c->online) {
    sn_ponline_opts oo = {.batch = c->batch_size > 0 ? c->batch_size : (N < 1024 ? N : 1024),
                          .forget_factor = c->forget_factor, .fresh_restarts = c->fresh_restarts, .fresh_max_iter = 30,
                          .max_no_improvement = c->max_no_improvement,
                          .transform_max_iter = c->transform_max_iter >= 0 ? c->transform_max_iter : c->max_iter,
                          .transform_warm = c->transform_warm, .alpha_W = c->alpha_W, .l1_ratio = c->l1_ratio,
                          .monitor = {.fn = sn_ponline_monitor_print}};
    return sn_ponline_solve(run, o, &oo, V, W, H, st);
  }
  return sn_pnmf_solve(run, o, V, W, H, st, c->resume);
}

int sn_nmf_cli_run(sn_run *run, const char *cmd, const sn_nmf_cli *c, const sn_nmf_block *b, sn_pnmf_opts *o,
                   float **W, float **H, sn_pnmf_state *st, int64_t *n_fixed) {
  sn_err *e = &run->err;
  const int64_t F = b->F, k = c->k;
  float *Wfix = NULL;
  int rc;
  *W = *H = NULL;
  *n_fixed = 0;
  const sn_frames V = b->frames ? *b->frames : sn_frames_mem(b->V, F, b->n_local);
  run_config(c, b, o);
  *W = sn_calloc((size_t)(F * k) * sizeof(float), "W", e);
  *H = sn_calloc((size_t)(k * (b->n_local > 0 ? b->n_local : 1)) * sizeof(float), "H", e);
  SN_AGREE(run, (*W && *H) ? SN_OK : SN_ERR_NOMEM);
  SN_CHECK(run_fixed(run, cmd, c, b, o, &Wfix, n_fixed));
  SN_CHECK(run_fingerprint(run, c, b, &V, o, Wfix, *n_fixed));
  SN_AGREE(run, sn_pnmf_state_init(st, c->max_iter, e));
  SN_CHECK(run_start(run, cmd, c, b, &V, o, Wfix, *n_fixed, *W, *H, st));
  SN_CHECK(run_solve(run, c, b, &V, o, *W, *H, st));
  /* sort by peak frequency (librosa.decompose: argsort of argmax over bins) */
  if (c->sort) SN_AGREE(run, nmf_sort(cmd, F, k, b->n_local, *W, *H, e));
cleanup:
  sn_free(Wfix);
  return rc;
}
