/* Fast Griffin-Lim on the distributed overlap-add (see sn_pgriffinlim.h). */
#include "sn_pgriffinlim.h"

#include <math.h>
#include <stdlib.h>

#include "sn_comm.h"
#include "sn_mask.h"

int sn_gl_cfg_check(const sn_gl_cfg *cfg, const char *cmd, const char *iter_opt, sn_err *e) {
  if (cfg->n_iter < 0) return SN_FAIL(e, SN_ERR_USAGE, "%s %s: must be >= 0 (got %d)", cmd, iter_opt, cfg->n_iter);
  if (!(cfg->momentum >= 0) || !isfinite(cfg->momentum))
    return SN_FAIL(e, SN_ERR_USAGE, "%s --momentum: must be >= 0 (got %g)", cmd, cfg->momentum);
  return SN_OK;
}

int sn_pgriffinlim_run(sn_run *run, sn_poverlap *p, const float *S, const sn_gl_cfg *cfg) {
  sn_err *e = &run->err;
  int rc = SN_OK;
  rc = sn_agree(run->comm, sn_gl_cfg_check(cfg, "griffinlim", "--n-iter", e), e);
  if (rc) return rc;
  const sn_spec_params *par = sn_poverlap_params(p);
  const int64_t F = par->n_fft / 2 + 1;
  const int hop = par->hop;
  sn_stft_plan *plan = sn_poverlap_plan(p);
  const int batch = sn_stft_batch(plan);
  int64_t start, n;
  sn_poverlap_frames(p, &start, &n);
  float *T = sn_calloc((size_t)F * (size_t)(n > 0 ? n : 1) * 2 * sizeof(float), "Griffin-Lim previous iterate", e);
  float *Z = sn_calloc((size_t)F * (size_t)batch * 2 * sizeof(float), "Griffin-Lim chunk", e);
  rc = sn_agree(run->comm, (T && Z) ? SN_OK : SN_ERR_NOMEM, e);
  if (rc) goto cleanup;
  const float c = (float)(cfg->momentum / (1.0 + cfg->momentum));

  sn_timer_begin(&run->timer, SN_PH_GRIFFINLIM);
  /* inverse = istft(S * angles0) */
  sn_poverlap_clear(p);
  for (int64_t t0 = 0; t0 < n && rc == SN_OK; t0 += batch) {
    int64_t nf = n - t0 < batch ? n - t0 : batch;
    sn_gl_init(F, nf, start + t0, S + t0 * F, cfg->random_init, cfg->seed, Z);
    rc = sn_poverlap_add(p, t0, nf, Z, e);
  }
  rc = sn_agree(run->comm, rc, e);
  if (rc == SN_OK) rc = sn_poverlap_finish(run, p, cfg->n_iter > 0);
  for (int it = 0; it < cfg->n_iter && rc == SN_OK; it++) {
    /* rebuilt = stft(inverse); angles update; next inverse accumulates at once */
    const float *x = sn_poverlap_signal(p);
    sn_poverlap_clear(p);
    for (int64_t t0 = 0; t0 < n && rc == SN_OK; t0 += batch) {
      int64_t nf = n - t0 < batch ? n - t0 : batch;
      rc = sn_stft_exec(plan, x + t0 * hop, nf, 1, NULL, 0, Z, F, e);
      if (rc) break;
      sn_gl_update(F * nf, S + t0 * F, Z, T + 2 * t0 * F, c, it == 0 || c == 0.0f);
      rc = sn_poverlap_add(p, t0, nf, Z, e);
    }
    if (rc == SN_OK) rc = sn_fault("griffinlim", run->rank, e);
    rc = sn_agree(run->comm, rc, e);
    if (rc == SN_OK) rc = sn_poverlap_finish(run, p, 1);
  }
  sn_timer_end(&run->timer, SN_PH_GRIFFINLIM);
cleanup:
  sn_free(T);
  sn_free(Z);
  return rc;
}

int sn_pgriffinlim_convergence(sn_run *run, sn_poverlap *p, const float *S, double *sc) {
  sn_err *e = &run->err;
  const sn_spec_params *par = sn_poverlap_params(p);
  const int64_t F = par->n_fft / 2 + 1;
  const int hop = par->hop;
  sn_stft_plan *plan = sn_poverlap_plan(p);
  const int batch = sn_stft_batch(plan);
  int64_t start, n;
  sn_poverlap_frames(p, &start, &n);
  /* the signal buffer must hold the halo: redo the exchange from the owned samples */
  float *mag = sn_calloc((size_t)F * (size_t)batch * sizeof(float), "convergence chunk", e);
  int rc = sn_agree(run->comm, mag ? SN_OK : SN_ERR_NOMEM, e);
  if (rc) return rc;
  rc = sn_poverlap_halo(run, p);
  double acc[2] = {0.0, 0.0};
  const float *x = sn_poverlap_signal(p);
  for (int64_t t0 = 0; t0 < n && rc == SN_OK; t0 += batch) {
    int64_t nf = n - t0 < batch ? n - t0 : batch;
    rc = sn_stft_exec(plan, x + t0 * hop, nf, 1, mag, F, NULL, 0, e);
    for (int64_t i = 0; rc == SN_OK && i < F * nf; i++) {
      double s = S[t0 * F + i], d = mag[i] - s;
      acc[0] += d * d;
      acc[1] += s * s;
    }
  }
  rc = sn_run_allreduce_sum(run, acc, 2, rc);
  sn_free(mag);
  *sc = acc[1] > 0 ? sqrt(acc[0] / acc[1]) : 0.0;
  return rc;
}
