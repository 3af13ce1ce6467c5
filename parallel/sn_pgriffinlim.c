/* Distributed overlap-add and fast Griffin-Lim (see sn_pgriffinlim.h). */
#include "sn_pgriffinlim.h"

#include <float.h>
#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sn_comm.h"
#include "sn_mask.h"
#include "sn_pstft.h"

struct sn_poverlap {
  sn_spec_params par;
  sn_stft_plan *plan;
  int F, size, rank;
  int64_t N, start, n_local, length, off;
  int64_t a0, a1;      /* owned samples */
  int64_t b0, lenb;    /* samples covered by this rank's frames (padded-signal index - off) */
  int64_t u0, u1;      /* buffer range: union of both */
  float *acc, *sig;    /* two buffers over [u0, u1) */
  float *inv_wss;      /* 1/window sum-square over the owned samples (0 where ~0) */
  float *rbuf;         /* receive buffer of the tail exchange */
  int *sc1, *sd1, *rc1, *rd1; /* tails -> owners */
  int *sc2, *sd2, *rc2, *rd2; /* owners -> frame holders (halo) */
  MPI_Request *req;    /* 2 x size, for the halo's point-to-point messages */
  int64_t rtotal1;
};

/* Frame-aligned ownership of output samples: rank r owns [own(r), own(r+1)),
 * the same rule as sn_pistft. */
static int64_t sn_own(int64_t N, int hop, int size, int r, int64_t off, int64_t length) {
  if (r <= 0) return 0;
  if (r >= size) return length;
  int64_t st, nl;
  sn_block_range(N, size, r, &st, &nl);
  int64_t v = st * hop - off;
  return v < 0 ? 0 : v > length ? length : v;
}

static void sn_frames_of(const sn_poverlap *p, int q, int64_t *c0, int64_t *cl) {
  int64_t qs, qn;
  sn_block_range(p->N, p->size, q, &qs, &qn);
  *c0 = qs * p->par.hop - p->off;
  *cl = qn > 0 ? (qn - 1) * p->par.hop + p->par.n_fft : 0;
}

void sn_poverlap_destroy(sn_poverlap **pp) {
  if (!pp || !*pp) return;
  sn_poverlap *p = *pp;
  sn_stft_plan_destroy(&p->plan);
  sn_free(p->acc);
  sn_free(p->sig);
  sn_free(p->inv_wss);
  sn_free(p->rbuf);
  free(p->sc1), free(p->sd1), free(p->rc1), free(p->rd1);
  free(p->sc2), free(p->sd2), free(p->rc2), free(p->rd2);
  free(p->req);
  free(p);
  *pp = NULL;
}

int sn_poverlap_create(sn_run *run, const sn_spec_params *par, int64_t N, int64_t length, sn_poverlap **pp) {
  sn_err *e = &run->err;
  *pp = NULL;
  int rc = SN_OK;
  if (length < 0) rc = SN_FAIL(e, SN_ERR_USAGE, "--length: must not be negative");
  else if (N < 1) rc = SN_FAIL(e, SN_ERR_INPUT, "%s: no frames to invert", par->input);
  sn_poverlap *p = calloc(1, sizeof *p);
  if (!p && rc == SN_OK) rc = SN_FAIL(e, SN_ERR_NOMEM, "overlap-add: out of memory");
  rc = sn_agree(run->comm, rc, e);
  if (rc) {
    free(p);
    return rc;
  }
  p->par = *par;
  p->F = par->n_fft / 2 + 1;
  p->size = run->size;
  p->rank = run->rank;
  p->N = N;
  p->length = length;
  p->off = par->center ? par->n_fft / 2 : 0;
  sn_block_range(N, run->size, run->rank, &p->start, &p->n_local);
  rc = sn_pstft_plan(run, par, NULL, &p->plan);
  if (rc) {
    sn_poverlap_destroy(&p);
    return rc;
  }
  const int hop = par->hop;
  p->a0 = sn_own(N, hop, p->size, p->rank, p->off, length);
  p->a1 = sn_own(N, hop, p->size, p->rank + 1, p->off, length);
  sn_frames_of(p, p->rank, &p->b0, &p->lenb);
  if (p->lenb > 0) {
    p->u0 = p->b0 < p->a0 ? p->b0 : p->a0;
    p->u1 = p->b0 + p->lenb > p->a1 ? p->b0 + p->lenb : p->a1;
  } else {
    p->u0 = p->a0;
    p->u1 = p->a1;
  }
  size_t nb = (size_t)(p->u1 - p->u0);
  size_t P = (size_t)p->size;
  p->acc = sn_calloc(nb * sizeof(float), "overlap-add buffer", e);
  p->sig = sn_calloc(nb * sizeof(float), "signal buffer", e);
  p->inv_wss = sn_calloc((size_t)(p->a1 - p->a0) * sizeof(float), "window sum-square", e);
  p->sc1 = calloc(P, sizeof(int)), p->sd1 = calloc(P, sizeof(int));
  p->rc1 = calloc(P, sizeof(int)), p->rd1 = calloc(P, sizeof(int));
  p->sc2 = calloc(P, sizeof(int)), p->sd2 = calloc(P, sizeof(int));
  p->rc2 = calloc(P, sizeof(int)), p->rd2 = calloc(P, sizeof(int));
  p->req = calloc(2 * P, sizeof(MPI_Request));
  if (!p->req || !p->acc || !p->sig || !p->inv_wss || !p->sc1 || !p->sd1 || !p->rc1 || !p->rd1 || !p->sc2 || !p->sd2 ||
      !p->rc2 || !p->rd2)
    rc = SN_FAIL(e, SN_ERR_NOMEM, "overlap-add: out of memory");
  /* Counts of both exchanges; displacements are into the buffer [u0, u1). */
  int64_t rtotal = 0;
  for (int q = 0; rc == SN_OK && q < p->size; q++) {
    int64_t q0 = sn_own(N, hop, p->size, q, p->off, length), q1 = sn_own(N, hop, p->size, q + 1, p->off, length);
    int64_t c0, cl;
    sn_frames_of(p, q, &c0, &cl);
    /* 1: my frames' part of q's samples -> q; q's frames' part of mine <- q */
    int64_t lo = p->b0 > q0 ? p->b0 : q0, hi = p->b0 + p->lenb < q1 ? p->b0 + p->lenb : q1;
    int64_t n = (q != p->rank && hi > lo) ? hi - lo : 0;
    if ((rc = sn_mpi_count(n, "overlap-add halo", &p->sc1[q], e))) break;
    if ((rc = sn_mpi_count(n ? lo - p->u0 : 0, "overlap-add halo", &p->sd1[q], e))) break;
    lo = c0 > p->a0 ? c0 : p->a0;
    hi = c0 + cl < p->a1 ? c0 + cl : p->a1;
    n = (q != p->rank && hi > lo) ? hi - lo : 0;
    if ((rc = sn_mpi_count(n, "overlap-add halo", &p->rc1[q], e))) break;
    if ((rc = sn_mpi_count(rtotal, "overlap-add halo", &p->rd1[q], e))) break;
    rtotal += n;
    /* 2: my owned samples that q's frames cover -> q; q's owned that mine cover <- q */
    lo = c0 > p->a0 ? c0 : p->a0;
    hi = c0 + cl < p->a1 ? c0 + cl : p->a1;
    n = (q != p->rank && hi > lo) ? hi - lo : 0;
    if ((rc = sn_mpi_count(n, "signal halo", &p->sc2[q], e))) break;
    if ((rc = sn_mpi_count(n ? lo - p->u0 : 0, "signal halo", &p->sd2[q], e))) break;
    lo = p->b0 > q0 ? p->b0 : q0;
    hi = p->b0 + p->lenb < q1 ? p->b0 + p->lenb : q1;
    n = (q != p->rank && hi > lo) ? hi - lo : 0;
    if ((rc = sn_mpi_count(n, "signal halo", &p->rc2[q], e))) break;
    if ((rc = sn_mpi_count(n ? lo - p->u0 : 0, "signal halo", &p->rd2[q], e))) break;
  }
  p->rtotal1 = rtotal;
  if (rc == SN_OK) {
    p->rbuf = sn_calloc((size_t)(rtotal > 0 ? rtotal : 1) * sizeof(float), "overlap-add halo", e);
    if (!p->rbuf) rc = SN_ERR_NOMEM;
  }
  if (rc == SN_OK && p->a1 > p->a0) {
    float *w = p->inv_wss;
    sn_window_sumsquare(p->plan, N, p->a0 + p->off, p->a1 - p->a0, w);
    for (int64_t i = 0; i < p->a1 - p->a0; i++) w[i] = w[i] > FLT_MIN ? 1.0f / w[i] : 0.0f;
  }
  rc = sn_agree(run->comm, rc, e);
  if (rc) sn_poverlap_destroy(&p);
  *pp = p;
  return rc;
}

sn_stft_plan *sn_poverlap_plan(sn_poverlap *p) { return p->plan; }

void sn_poverlap_frames(const sn_poverlap *p, int64_t *start, int64_t *n_local) {
  *start = p->start;
  *n_local = p->n_local;
}

void sn_poverlap_owned(const sn_poverlap *p, int64_t *y0, int64_t *ny) {
  *y0 = p->a0;
  *ny = p->a1 - p->a0;
}

void sn_poverlap_span(const sn_poverlap *p, int64_t *b0, int64_t *lenb) {
  *b0 = p->b0;
  *lenb = p->lenb;
}

void sn_poverlap_clear(sn_poverlap *p) { memset(p->acc, 0, (size_t)(p->u1 - p->u0) * sizeof(float)); }

int sn_poverlap_add(sn_poverlap *p, int64_t t0, int64_t nf, const float *X, sn_err *e) {
  if (t0 < 0 || nf < 0 || t0 + nf > p->n_local)
    return SN_FAIL(e, SN_ERR_INTERNAL, "overlap-add: frames [%lld, %lld) outside the block of %lld",
                   (long long)t0, (long long)(t0 + nf), (long long)p->n_local);
  if (nf == 0) return SN_OK;
  float *y = p->acc + (p->b0 - p->u0) + t0 * p->par.hop;
  return sn_istft_exec(p->plan, X, p->F, nf, y, e);
}

float *sn_poverlap_owned_ptr(sn_poverlap *p) { return p->sig + (p->a0 - p->u0); }

float *sn_poverlap_signal(sn_poverlap *p) { return p->sig + (p->b0 - p->u0); }

int sn_poverlap_finish(sn_run *run, sn_poverlap *p, int halo) {
  sn_err *e = &run->err;
  int rc = SN_OK;
  float *acc = p->acc;
  sn_timer_begin(&run->timer, SN_PH_HALO);
  int mrc = MPI_SUCCESS;
  if (p->size > 1)
    mrc = MPI_Alltoallv(acc, p->sc1, p->sd1, MPI_FLOAT, p->rbuf, p->rc1, p->rd1, MPI_FLOAT, run->comm);
  if (mrc != MPI_SUCCESS) rc = SN_FAIL(e, SN_ERR_MPI, "overlap-add: halo exchange failed");
  sn_timer_end(&run->timer, SN_PH_HALO);
  run->bytes_reduced += (double)p->rtotal1 * sizeof(float);
  sn_timer_begin(&run->timer, SN_PH_ISTFT);
  float *own = acc + (p->a0 - p->u0);
  for (int q = 0; rc == SN_OK && q < p->size; q++) {
    if (!p->rc1[q]) continue;
    int64_t c0, cl;
    sn_frames_of(p, q, &c0, &cl);
    int64_t lo = c0 > p->a0 ? c0 : p->a0;
    const float *r = p->rbuf + p->rd1[q];
    float *o = own + (lo - p->a0);
    for (int64_t i = 0; i < p->rc1[q]; i++) o[i] += r[i];
  }
  const float *w = p->inv_wss;
  for (int64_t i = 0; i < p->a1 - p->a0; i++) own[i] *= w[i];
  /* Outside the owned samples: zero (halo fills what others own). */
  memset(acc, 0, (size_t)(p->a0 - p->u0) * sizeof(float));
  memset(acc + (p->a1 - p->u0), 0, (size_t)(p->u1 - p->a1) * sizeof(float));
  sn_timer_end(&run->timer, SN_PH_ISTFT);
  if (halo && p->size > 1 && rc == SN_OK) {
    sn_timer_begin(&run->timer, SN_PH_HALO);
    mrc = sn_exchange_floats(run->comm, acc, p->sc2, p->sd2, p->rc2, p->rd2, p->req);
    if (mrc != MPI_SUCCESS) rc = SN_FAIL(e, SN_ERR_MPI, "overlap-add: signal halo exchange failed");
    sn_timer_end(&run->timer, SN_PH_HALO);
  }
  p->acc = p->sig;
  p->sig = acc;
  return sn_agree(run->comm, rc, e);
}

int sn_pgriffinlim_run(sn_run *run, sn_poverlap *p, const float *S, const sn_gl_cfg *cfg) {
  sn_err *e = &run->err;
  int rc = SN_OK;
  if (cfg->n_iter < 0) rc = SN_FAIL(e, SN_ERR_USAGE, "griffinlim --n-iter: must be >= 0 (got %d)", cfg->n_iter);
  else if (!(cfg->momentum >= 0) || !isfinite(cfg->momentum))
    rc = SN_FAIL(e, SN_ERR_USAGE, "griffinlim --momentum: must be >= 0 (got %g)", cfg->momentum);
  rc = sn_agree(run->comm, rc, e);
  if (rc) return rc;
  const int64_t F = p->F, n = p->n_local;
  const int hop = p->par.hop;
  const int batch = sn_stft_batch(p->plan);
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
    sn_gl_init(F, nf, p->start + t0, S + t0 * F, cfg->random_init, cfg->seed, Z);
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
      rc = sn_stft_exec(p->plan, x + t0 * hop, nf, 1, NULL, 0, Z, F, e);
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
  const int64_t F = p->F, n = p->n_local;
  const int hop = p->par.hop;
  const int batch = sn_stft_batch(p->plan);
  /* the signal buffer must hold the halo: redo the exchange from the owned samples */
  float *mag = sn_calloc((size_t)F * (size_t)batch * sizeof(float), "convergence chunk", e);
  int rc = sn_agree(run->comm, mag ? SN_OK : SN_ERR_NOMEM, e);
  if (rc) return rc;
  if (p->size > 1) {
    float *sig = p->sig;
    int mrc = sn_exchange_floats(run->comm, sig, p->sc2, p->sd2, p->rc2, p->rd2, p->req);
    rc = sn_agree(run->comm, mrc == MPI_SUCCESS ? SN_OK : SN_FAIL(e, SN_ERR_MPI, "convergence: halo failed"), e);
  }
  double acc[2] = {0.0, 0.0};
  const float *x = sn_poverlap_signal(p);
  for (int64_t t0 = 0; t0 < n && rc == SN_OK; t0 += batch) {
    int64_t nf = n - t0 < batch ? n - t0 : batch;
    rc = sn_stft_exec(p->plan, x + t0 * hop, nf, 1, mag, F, NULL, 0, e);
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
