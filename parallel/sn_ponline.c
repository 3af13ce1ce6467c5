/* Distributed online NMF (see sn_ponline.h). */
#include "sn_ponline.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "sn_comm.h"
#include "sn_online.h"

/* The layout of one rank's slices: rank q owns n_q frames (sn_block_range)
 * and takes slices of bl_q = ceil(n_q * batch / N) frames, [p bl_q, (p+1) bl_q)
 * at position p of a pass; a pass has as many positions as the rank that
 * needs most (one rank: ceil(N / batch), sklearn's gen_batches). */
typedef struct slices {
  int64_t N, batch, steps; /* steps: positions per pass */
  int size;
} slices;

static int64_t slice_len(int64_t n_q, int64_t N, int64_t batch) {
  return n_q > 0 ? (n_q * batch + N - 1) / N : 0;
}

static void slice_of(const slices *s, int q, int64_t p, int64_t *j0, int64_t *nb) {
  int64_t start, n_q;
  sn_block_range(s->N, s->size, q, &start, &n_q);
  int64_t bl = slice_len(n_q, s->N, s->batch);
  *j0 = p * bl;
  int64_t left = n_q - *j0;
  *nb = left <= 0 ? 0 : left < bl ? left : bl;
}

static void slices_init(slices *s, int64_t N, int64_t batch, int size) {
  s->N = N;
  s->batch = batch;
  s->size = size;
  s->steps = 1;
  for (int q = 0; q < size; q++) {
    int64_t start, n_q;
    sn_block_range(N, size, q, &start, &n_q);
    int64_t bl = slice_len(n_q, N, batch);
    if (bl > 0 && (n_q + bl - 1) / bl > s->steps) s->steps = (n_q + bl - 1) / bl;
  }
}

/* Frames of the global mini-batch at position p. */
static int64_t batch_count(const slices *s, int64_t p) {
  int64_t c = 0;
  for (int q = 0; q < s->size; q++) {
    int64_t j0, nb;
    slice_of(s, q, p, &j0, &nb);
    c += nb;
  }
  return c;
}

static double vsum_cols(const float *V, int64_t F, int64_t n) {
  double s = 0;
  for (size_t k = 0; k < (size_t)(F * n); k++) s += V[k];
  return s;
}

/* Local. n_it MU updates of H (R x n, this rank's) with W fixed (ws: h_rule
 * FREE), stopping when ||H - H_prev|| / ||H|| <= tol over these columns
 * (sklearn's _solve_W on one mini-batch). buf: R x n floats. */
static void solve_h_local(sn_nmf_ws *ws, const float *V, int64_t n, int64_t R, float *H, int64_t n_it,
                          double tol, float *buf, double *acc) {
  const size_t m = (size_t)(R * n);
  for (int64_t it = 0; it < n_it && n > 0; it++) {
    memcpy(buf, H, m * sizeof(float));
    sn_nmf_pass(ws, V, n, H, 1, 0, 0, acc);
    double d2 = 0, n2 = 0;
    for (size_t q = 0; q < m; q++) {
      double d = (double)H[q] - buf[q];
      d2 += d * d;
      n2 += (double)H[q] * H[q];
    }
    if (tol > 0 && sqrt(d2) / sqrt(n2) <= tol) break; /* 0 / 0 never stops, as numpy's nan */
  }
}

int sn_ponline_solve(sn_run *run, const sn_pnmf_opts *o, const sn_ponline_opts *oo, const float *V,
                     float *W, float *H, sn_pnmf_state *st) {
  sn_err *e = &run->err;
  const int64_t F = o->cfg.F, R = o->cfg.R, N = o->N, n_local = o->n_local;
  sn_nmf_cfg cs = o->cfg, cf = o->cfg;
  cs.solver = cf.solver = SN_NMF_MU;
  cs.h_rule = SN_NMF_H_ONLINE;
  cf.h_rule = SN_NMF_H_FREE;
  sn_nmf_ws *ws = NULL, *wf = NULL;
  sn_nmf_layout L;
  sn_nmf_layout_of(&cs, 4, &L); /* flags: stop, sum H, sum H^2, V sum of the next slice */
  const int64_t fstop = L.flags, fsum = L.flags + 1, fsq = L.flags + 2, fnext = L.flags + 3;
  slices sl;
  slices_init(&sl, N, oo->batch, run->size);
  int64_t bl = slice_len(n_local, N, oo->batch);
  const size_t FR = (size_t)(F * R);
  const int64_t nbuf = (bl > cs.tile ? bl : cs.tile) * R;
  double *acc = NULL, *A = NULL, *B = NULL, *row = NULL;
  float *Wprev = NULL, *buf = NULL;
  int lrc = sn_nmf_ws_create(&cs, &ws, e);
  if (!lrc) lrc = sn_nmf_ws_create(&cf, &wf, e);
  if (!lrc) {
    acc = sn_calloc((size_t)L.len * sizeof(double), "online nmf accumulators", e);
    A = sn_calloc(FR * sizeof(double), "online nmf statistics", e);
    B = sn_calloc(FR * sizeof(double), "online nmf statistics", e);
    row = sn_calloc(2 * (size_t)R * sizeof(double), "online nmf", e);
    Wprev = sn_calloc(FR * sizeof(float), "online nmf", e);
    buf = sn_calloc((size_t)nbuf * sizeof(float), "online nmf", e);
    if (!acc || !A || !B || !row || !Wprev || !buf) lrc = SN_ERR_NOMEM;
  }
  int rc = sn_agree(run->comm, lrc, e);
  if (rc) goto cleanup;
  const double rho = sn_online_rho(oo->forget_factor, oo->batch, N);
  for (size_t q = 0; q < FR; q++) {
    A[q] = W[q];
    B[q] = 1.0;
  }
  /* the V sum of the whole V (transform's start) and of the first slice (a fresh restart's) */
  double sums[2] = {vsum_cols(V, F, n_local), 0};
  {
    int64_t j0, nb;
    slice_of(&sl, run->rank, 0, &j0, &nb);
    sums[1] = vsum_cols(V + j0 * F, F, nb);
  }
  rc = sn_run_allreduce_sum(run, sums, 2, SN_OK);
  if (rc) goto cleanup;
  const double vtotal = sums[0];
  double vslice = sums[1];
  SN_PROGRESS(run, "nmf: online, %lld frames per mini-batch (%lld steps per pass), forget factor %g (rho %.6g)%s",
              (long long)oo->batch, (long long)sl.steps, oo->forget_factor, rho,
              oo->fresh_restarts ? ", fresh restarts" : "");

  const int64_t n_steps = o->max_iter * sl.steps;
  double ewa = 0, ewa_min = 0;
  int have_ewa = 0, have_min = 0;
  int64_t no_improvement = 0, t = 0;
  sn_nmf_set_w(ws, W);
  sn_nmf_set_w(wf, W);
  for (t = 0; t < n_steps; t++) {
    const int64_t p = t % sl.steps;
    int64_t j0, nb;
    slice_of(&sl, run->rank, p, &j0, &nb);
    const int64_t bs = batch_count(&sl, p);
    const float *Vs = V + j0 * F;
    float *Hs = H + j0 * R;
    memset(acc, 0, (size_t)L.len * sizeof(double));
    sn_timer_begin(&run->timer, SN_PH_NMF_H);
    if (oo->fresh_restarts) {
      float avg = (float)sqrt(vslice / ((double)bs * (double)F) / (double)R);
      for (int64_t q = 0; q < nb * R; q++) Hs[q] = avg;
      solve_h_local(wf, Vs, nb, R, Hs, oo->fresh_max_iter, o->tol, buf, acc);
      if (cs.beta < 1.0)
        for (int64_t q = 0; q < nb * R; q++)
          if (Hs[q] < DBL_EPSILON) Hs[q] = 0.0f;
      sn_nmf_pass(ws, Vs, nb, Hs, 0, 1, 1, acc);
      int64_t k0, kn;
      slice_of(&sl, run->rank, (p + 1) % sl.steps, &k0, &kn);
      acc[fnext] = vsum_cols(V + k0 * F, F, kn);
    } else {
      sn_nmf_pass(ws, Vs, nb, Hs, 1, 1, 1, acc); /* H update fused with the W sums */
    }
    for (int64_t q = 0; q < nb * R; q++) {
      acc[fsum] += Hs[q];
      acc[fsq] += (double)Hs[q] * Hs[q];
    }
    sn_timer_end(&run->timer, SN_PH_NMF_H);
    acc[fstop] = (o->stop && *o->stop) ? 1.0 : 0.0;
    lrc = sn_nmf_ws_status(ws, e);
    rc = sn_run_allreduce_sum(run, acc, (size_t)L.len, lrc);
    if (rc) goto cleanup;
    if (acc[fstop] > 0) {
      rc = SN_FAIL(e, SN_ERR_INTERRUPTED, "nmf: interrupted by a signal at online step %lld (--solver online writes no checkpoint)",
                   (long long)t + 1);
      if (run->rank != 0) e->msg[0] = '\0';
      goto cleanup;
    }
    vslice = acc[fnext];
    /* the mean batch cost with the old W (sklearn's batch_cost) */
    const double l1W = (double)bs * oo->alpha_W * oo->l1_ratio, l2W = (double)bs * oo->alpha_W * (1.0 - oo->l1_ratio);
    double sw = 0, sw2 = 0;
    for (size_t q = 0; q < FR; q++) {
      sw += W[q];
      sw2 += (double)W[q] * W[q];
    }
    const double cost = (acc[L.loss] + cs.l1_H * acc[fsum] + l1W * sw + cs.l2_H * acc[fsq] + l2W * sw2) / (double)bs;
    sn_pnmf_hist_push(st, t + 1, cost);
    /* W step */
    sn_timer_begin(&run->timer, SN_PH_NMF_W);
    memcpy(Wprev, W, FR * sizeof(float));
    sn_online_update_w(&cs, &L, acc, l1W, l2W, rho, A, B, W, row);
    sn_nmf_set_w(ws, W);
    sn_nmf_set_w(wf, W);
    sn_timer_end(&run->timer, SN_PH_NMF_W);
    if (p == sl.steps - 1 || t == n_steps - 1)
      SN_PROGRESS(run, "nmf: online pass %lld, step %lld, mean batch cost %.6g, smoothed %.6g", (long long)(t / sl.steps + 1),
                  (long long)t + 1, cost, have_ewa ? ewa : cost);
    if (t == 0) continue; /* sklearn: the first step only starts the statistics */
    double a = fmin((double)bs / (double)(N + 1), 1.0);
    ewa = have_ewa ? ewa * (1.0 - a) + cost * a : cost;
    have_ewa = 1;
    double d2 = 0, n2 = 0;
    for (size_t q = 0; q < FR; q++) {
      double d = (double)W[q] - Wprev[q];
      d2 += d * d;
      n2 += (double)W[q] * W[q];
    }
    if (o->tol > 0 && sqrt(d2) / sqrt(n2) <= o->tol) {
      SN_PROGRESS(run, "nmf: online: W changed by %.3g <= tol at step %lld", sqrt(d2) / sqrt(n2), (long long)t + 1);
      st->converged = 1;
      break;
    }
    if (!have_min || ewa < ewa_min) {
      no_improvement = 0;
      ewa_min = ewa;
      have_min = 1;
    } else {
      no_improvement++;
    }
    if (oo->max_no_improvement > 0 && no_improvement >= oo->max_no_improvement) {
      SN_PROGRESS(run, "nmf: online: no improvement of the smoothed cost for %lld steps (step %lld)",
                  (long long)no_improvement, (long long)t + 1);
      st->converged = 1;
      break;
    }
  }
  {
    int64_t done = t < n_steps ? t + 1 : n_steps;
    st->iter = (done + sl.steps - 1) / sl.steps;
  }

  /* transform: every frame's H from sklearn's constant start, W fixed */
  {
    sn_timer_begin(&run->timer, SN_PH_NMF_H);
    float avg = (float)sqrt(vtotal / ((double)F * (double)N) / (double)R);
    for (int64_t q = 0; q < n_local * R; q++) H[q] = avg;
    sn_timer_end(&run->timer, SN_PH_NMF_H);
    for (int64_t it = 0; it < oo->transform_max_iter; it++) {
      double red[3] = {0, 0, 0};
      sn_timer_begin(&run->timer, SN_PH_NMF_H);
      for (int64_t j0 = 0; j0 < n_local; j0 += cs.tile) {
        int64_t n = n_local - j0 < cs.tile ? n_local - j0 : cs.tile;
        float *Ht = H + j0 * R;
        memcpy(buf, Ht, (size_t)(n * R) * sizeof(float));
        sn_nmf_pass(wf, V + j0 * F, n, Ht, 1, 0, 0, acc);
        for (int64_t q = 0; q < n * R; q++) {
          double d = (double)Ht[q] - buf[q];
          red[0] += d * d;
          red[1] += (double)Ht[q] * Ht[q];
        }
      }
      sn_timer_end(&run->timer, SN_PH_NMF_H);
      red[2] = (o->stop && *o->stop) ? 1.0 : 0.0;
      rc = sn_run_allreduce_sum(run, red, 3, SN_OK);
      if (rc) goto cleanup;
      if (red[2] > 0) {
        rc = SN_FAIL(e, SN_ERR_INTERRUPTED, "nmf: interrupted by a signal in the final pass (--solver online writes no checkpoint)");
        if (run->rank != 0) e->msg[0] = '\0';
        goto cleanup;
      }
      if (o->tol > 0 && sqrt(red[0]) / sqrt(red[1]) <= o->tol) break;
    }
    memset(acc, 0, (size_t)L.len * sizeof(double));
    sn_timer_begin(&run->timer, SN_PH_LOSS);
    sn_nmf_pass(wf, V, n_local, H, 0, 0, 1, acc);
    sn_timer_end(&run->timer, SN_PH_LOSS);
    double loss = acc[L.loss];
    rc = sn_run_allreduce_sum(run, &loss, 1, SN_OK);
    if (rc) goto cleanup;
    st->loss = loss;
  }
  SN_PROGRESS(run, "nmf: online %s after %lld steps (%lld passes), loss %.6g (reconstruction error %.6g)",
              st->converged ? "converged" : "stopped", (long long)(t < n_steps ? t + 1 : n_steps), (long long)st->iter,
              st->loss, sqrt(2.0 * fmax(st->loss, 0.0)));
cleanup:
  sn_free(acc);
  sn_free(A);
  sn_free(B);
  sn_free(row);
  sn_free(Wprev);
  sn_free(buf);
  sn_nmf_ws_destroy(&ws);
  sn_nmf_ws_destroy(&wf);
  return rc;
}
