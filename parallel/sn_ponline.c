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

void sn_ponline_monitor_print(sn_run *run, const sn_ponline_progress *p, void *ctx) {
  (void)ctx;
  switch (p->event) {
  case SN_PONLINE_MON_START:
    SN_PROGRESS(run, "nmf: online, %lld frames per mini-batch (%lld steps per pass), forget factor %g (rho %.6g)%s",
                (long long)p->batch, (long long)p->steps_per_pass, p->forget_factor, p->rho,
                p->fresh_restarts ? ", fresh restarts" : "");
    break;
  case SN_PONLINE_MON_PASS:
    SN_PROGRESS(run, "nmf: online pass %lld, step %lld, mean batch cost %.6g, smoothed %.6g", (long long)p->pass,
                (long long)p->step, p->cost, p->smoothed);
    break;
  case SN_PONLINE_MON_TOL:
    SN_PROGRESS(run, "nmf: online: W changed by %.3g <= tol at step %lld", p->change, (long long)p->step);
    break;
  case SN_PONLINE_MON_STALL:
    SN_PROGRESS(run, "nmf: online: no improvement of the smoothed cost for %lld steps (step %lld)",
                (long long)p->no_improvement, (long long)p->step);
    break;
  case SN_PONLINE_MON_DONE:
    SN_PROGRESS(run, "nmf: online %s after %lld steps (%lld passes), loss %.6g (reconstruction error %.6g)",
                p->converged ? "converged" : "stopped", (long long)p->step, (long long)p->pass, p->loss,
                sqrt(2.0 * fmax(p->loss, 0.0)));
    break;
  }
}

/* The solve's working state, shared by its steps. */
typedef struct ponline_run {
  sn_run *run;
  const sn_pnmf_opts *o;
  const sn_ponline_opts *oo;
  const sn_frames *V;     /* this rank's frames: in memory or read slice by slice */
  float *W, *H;
  sn_pnmf_state *st;
  sn_nmf_cfg cs;         /* the steps' H updates (h_rule ONLINE) */
  sn_nmf_ws *ws, *wf;    /* cs; fresh restarts and the transform (h_rule FREE) */
  sn_nmf_layout L;
  int64_t fstop, fsum, fsq; /* flags: stop, sum H, sum H^2 */
  slices sl;
  double *acc, *A, *B, *row; /* accumulators; W statistics (F x R); scratch */
  float *Wprev, *buf, *vbuf; /* vbuf: a slice or a tile of V read from the source (NULL: V in memory) */
  double rho, vtotal;    /* forgetting per step; the V sum of all frames */
  double *vslice;        /* the V sum of the global mini-batch at each position (fresh restarts) */
  double ewa, ewa_min;   /* smoothed batch cost and its minimum */
  int have_ewa, have_min;
  int64_t no_improvement;
} ponline_run;

static void monitor(const ponline_run *s, sn_ponline_progress *p) {
  if (s->oo->monitor.fn) s->oo->monitor.fn(s->run, p, s->oo->monitor.ctx);
}

/* Local. Workspaces and buffers; SN_ERR_NOMEM (or a workspace's error). */
static int online_alloc(ponline_run *s, sn_err *e) {
  const int64_t F = s->o->cfg.F, R = s->o->cfg.R;
  const size_t FR = (size_t)(F * R);
  sn_nmf_cfg cf = s->cs;
  cf.h_rule = SN_NMF_H_FREE;
  const int64_t bl = slice_len(s->o->n_local, s->o->N, s->oo->batch);
  const int64_t nbuf = (bl > s->cs.tile ? bl : s->cs.tile) * R;
  int rc = sn_nmf_ws_create(&s->cs, &s->ws, e);
  if (!rc) rc = sn_nmf_ws_create(&cf, &s->wf, e);
  if (!rc) s->vbuf = sn_frames_buffer(s->V, bl > s->cs.tile ? bl : s->cs.tile, &rc, e);
  if (rc) return rc;
  s->acc = sn_calloc((size_t)s->L.len * sizeof(double), "online nmf accumulators", e);
  s->A = sn_calloc(FR * sizeof(double), "online nmf statistics", e);
  s->B = sn_calloc(FR * sizeof(double), "online nmf statistics", e);
  s->row = sn_calloc(2 * (size_t)R * sizeof(double), "online nmf", e);
  s->Wprev = sn_calloc(FR * sizeof(float), "online nmf", e);
  s->buf = sn_calloc((size_t)nbuf * sizeof(float), "online nmf", e);
  s->vslice = sn_calloc((size_t)s->sl.steps * sizeof(double), "online nmf", e);
  return (!s->acc || !s->A || !s->B || !s->row || !s->Wprev || !s->buf || !s->vslice) ? SN_ERR_NOMEM : SN_OK;
}

/* Collective. Step t: the H update of this rank's slice at position t % steps
 * (one MU update fused with the W sums, or a fresh restart's solve), the sum
 * over ranks, the mean batch cost with the old W (sklearn's batch_cost, into
 * *cost; pushed to the history), and the W step. *bs: the step's frames. */
static int online_step(ponline_run *s, int64_t t, double *cost, int64_t *bs) {
  const sn_pnmf_opts *o = s->o;
  const sn_ponline_opts *oo = s->oo;
  const int64_t F = o->cfg.F, R = o->cfg.R, p = t % s->sl.steps;
  const size_t FR = (size_t)(F * R);
  sn_err *e = &s->run->err;
  double *acc = s->acc;
  int64_t j0, nb;
  slice_of(&s->sl, s->run->rank, p, &j0, &nb);
  *bs = batch_count(&s->sl, p);
  sn_timer_begin(&s->run->timer, SN_PH_READ);
  const float *Vs = sn_frames_get(s->V, j0, nb, s->vbuf, e);
  sn_timer_end(&s->run->timer, SN_PH_READ);
  float *Hs = s->H + j0 * R;
  memset(acc, 0, (size_t)s->L.len * sizeof(double));
  sn_timer_begin(&s->run->timer, SN_PH_NMF_H);
  if (!Vs) {
    nb = 0; /* a read error: this rank adds nothing, and the allreduce below agrees on it */
  } else if (oo->fresh_restarts) {
    float avg = (float)sqrt(s->vslice[p] / ((double)*bs * (double)F) / (double)R);
    for (int64_t q = 0; q < nb * R; q++) Hs[q] = avg;
    solve_h_local(s->wf, Vs, nb, R, Hs, oo->fresh_max_iter, o->tol, s->buf, acc);
    if (s->cs.beta < 1.0)
      for (int64_t q = 0; q < nb * R; q++)
        if (Hs[q] < DBL_EPSILON) Hs[q] = 0.0f;
    sn_nmf_pass(s->ws, Vs, nb, Hs, 0, 1, 1, acc);
  } else {
    sn_nmf_pass(s->ws, Vs, nb, Hs, 1, 1, 1, acc); /* H update fused with the W sums */
  }
  for (int64_t q = 0; q < nb * R; q++) {
    acc[s->fsum] += Hs[q];
    acc[s->fsq] += (double)Hs[q] * Hs[q];
  }
  sn_timer_end(&s->run->timer, SN_PH_NMF_H);
  acc[s->fstop] = (o->stop && *o->stop) ? 1.0 : 0.0;
  int rc = sn_run_allreduce_sum(s->run, acc, (size_t)s->L.len, Vs ? sn_nmf_ws_status(s->ws, e) : SN_ERR_IO);
  if (rc) return rc;
  if (acc[s->fstop] > 0) {
    rc = SN_FAIL(e, SN_ERR_INTERRUPTED, "nmf: interrupted by a signal at online step %lld (--solver online writes no checkpoint)",
                 (long long)t + 1);
    if (s->run->rank != 0) e->msg[0] = '\0';
    return rc;
  }
  const double l1W = (double)*bs * oo->alpha_W * oo->l1_ratio, l2W = (double)*bs * oo->alpha_W * (1.0 - oo->l1_ratio);
  double sw = 0, sw2 = 0;
  for (size_t q = 0; q < FR; q++) {
    sw += s->W[q];
    sw2 += (double)s->W[q] * s->W[q];
  }
  *cost = (acc[s->L.loss] + s->cs.l1_H * acc[s->fsum] + l1W * sw + s->cs.l2_H * acc[s->fsq] + l2W * sw2) / (double)*bs;
  sn_pnmf_hist_push(s->st, t + 1, *cost);
  sn_timer_begin(&s->run->timer, SN_PH_NMF_W);
  memcpy(s->Wprev, s->W, FR * sizeof(float));
  sn_online_update_w(&s->cs, &s->L, acc, l1W, l2W, s->rho, s->A, s->B, s->W, s->row);
  sn_nmf_set_w(s->ws, s->W);
  sn_nmf_set_w(s->wf, s->W);
  sn_timer_end(&s->run->timer, SN_PH_NMF_W);
  return SN_OK;
}

/* Local. sklearn's stopping rules after step t (> 0) of cost over bs frames:
 * W's relative change <= tol, or max_no_improvement steps without a lower
 * smoothed cost. 1 to stop. */
static int online_stops(ponline_run *s, int64_t t, double cost, int64_t bs) {
  const int64_t FR = s->o->cfg.F * s->o->cfg.R;
  double a = fmin((double)bs / (double)(s->o->N + 1), 1.0);
  s->ewa = s->have_ewa ? s->ewa * (1.0 - a) + cost * a : cost;
  s->have_ewa = 1;
  double d2 = 0, n2 = 0;
  for (int64_t q = 0; q < FR; q++) {
    double d = (double)s->W[q] - s->Wprev[q];
    d2 += d * d;
    n2 += (double)s->W[q] * s->W[q];
  }
  if (s->o->tol > 0 && sqrt(d2) / sqrt(n2) <= s->o->tol) {
    sn_ponline_progress p = {.event = SN_PONLINE_MON_TOL, .step = t + 1, .change = sqrt(d2) / sqrt(n2)};
    monitor(s, &p);
    return 1;
  }
  if (!s->have_min || s->ewa < s->ewa_min) {
    s->no_improvement = 0;
    s->ewa_min = s->ewa;
    s->have_min = 1;
  } else {
    s->no_improvement++;
  }
  if (s->oo->max_no_improvement > 0 && s->no_improvement >= s->oo->max_no_improvement) {
    sn_ponline_progress p = {.event = SN_PONLINE_MON_STALL, .step = t + 1, .no_improvement = s->no_improvement};
    monitor(s, &p);
    return 1;
  }
  return 0;
}

/* Transform iterations per walk over V (see online_transform). */
#define SN_PONLINE_ROUND 10

/* Local. One walk over this rank's frames, tile by tile: c MU updates of
 * each tile's H (W fixed), adding the tile's ||H_i - H_{i-1}||^2 and
 * ||H_i||^2 of update i into red[2i], red[2i + 1] (red NULL: not wanted), and
 * with loss, the tile's beta-divergence after its c-th update into s->acc. */
static int transform_walk(ponline_run *s, int64_t c, double *red, int loss) {
  const int64_t R = s->o->cfg.R, n_local = s->o->n_local, tile = s->cs.tile;
  if (loss) memset(s->acc, 0, (size_t)s->L.len * sizeof(double));
  for (int64_t j0 = 0; j0 < n_local; j0 += tile) {
    int64_t n = n_local - j0 < tile ? n_local - j0 : tile;
    float *Ht = s->H + j0 * R;
    const float *Vt = sn_frames_get(s->V, j0, n, s->vbuf, &s->run->err);
    if (!Vt) return SN_ERR_IO;
    for (int64_t it = 0; it < c; it++) {
      if (red) memcpy(s->buf, Ht, (size_t)(n * R) * sizeof(float));
      sn_nmf_pass(s->wf, Vt, n, Ht, 1, 0, 0, s->acc);
      for (int64_t q = 0; red && q < n * R; q++) {
        double d = (double)Ht[q] - s->buf[q];
        red[2 * it] += d * d;
        red[2 * it + 1] += (double)Ht[q] * Ht[q];
      }
    }
    if (loss) sn_nmf_pass(s->wf, Vt, n, Ht, 0, 0, 1, s->acc);
  }
  return SN_OK;
}

/* Collective. The transform: every frame's H, W fixed, from the H its last
 * mini-batch step left (transform_warm; that H has had a MU update per pass)
 * or from sklearn's constant start, up to transform_max_iter MU updates, stopped after the first
 * update whose relative change of H over all frames is <= tol (sklearn's
 * rule); then the loss of the final W, H into st->loss. Every frame's update
 * is independent once W is fixed, so V is walked once per round of
 * SN_PONLINE_ROUND updates (each tile does the round's updates while it is in
 * cache), not once per update: the round's changes are reduced together, and
 * if the stop falls inside a round, H goes back to the round's start (H0)
 * and one more walk does the updates up to the stop. The result is the same
 * H, bit for bit, as one walk per update. */
static int online_transform(ponline_run *s) {
  const sn_pnmf_opts *o = s->o;
  const int64_t F = o->cfg.F, R = o->cfg.R, n_local = o->n_local, T = s->oo->transform_max_iter;
  const size_t m = (size_t)(R * (n_local > 0 ? n_local : 1));
  sn_err *e = &s->run->err;
  float *H0 = o->tol > 0 && T > 0 ? sn_calloc(m * sizeof(float), "online transform", e) : NULL;
  int rc = sn_agree(s->run->comm, (o->tol > 0 && T > 0 && !H0) ? SN_ERR_NOMEM : SN_OK, e);
  if (rc) return rc;
  float avg = (float)sqrt(s->vtotal / ((double)F * (double)o->N) / (double)R);
  if (!s->oo->transform_warm)
    for (int64_t q = 0; q < n_local * R; q++) s->H[q] = avg;
  int have_loss = 0;
  for (int64_t done = 0; done < T;) {
    const int64_t c = T - done < SN_PONLINE_ROUND ? T - done : SN_PONLINE_ROUND;
    const int last = done + c == T;
    double red[2 * SN_PONLINE_ROUND + 1];
    memset(red, 0, sizeof red);
    if (H0) memcpy(H0, s->H, m * sizeof(float));
    sn_timer_begin(&s->run->timer, SN_PH_NMF_H);
    rc = transform_walk(s, c, red, last);
    sn_timer_end(&s->run->timer, SN_PH_NMF_H);
    red[2 * c] = (o->stop && *o->stop) ? 1.0 : 0.0;
    rc = sn_run_allreduce_sum(s->run, red, (size_t)(2 * c + 1), rc);
    if (rc) break;
    if (red[2 * c] > 0) {
      rc = SN_FAIL(e, SN_ERR_INTERRUPTED, "nmf: interrupted by a signal in the final pass (--solver online writes no checkpoint)");
      if (s->run->rank != 0) e->msg[0] = '\0';
      break;
    }
    int64_t stop = -1; /* the update after which sklearn's rule stops (0 / 0 never stops, as numpy's nan) */
    for (int64_t it = 0; o->tol > 0 && stop < 0 && it < c; it++)
      if (sqrt(red[2 * it]) / sqrt(red[2 * it + 1]) <= o->tol) stop = it;
    have_loss = last && (stop < 0 || stop == c - 1);
    if (stop < 0) {
      done += c;
      continue;
    }
    if (stop < c - 1) { /* back to the round's start, then the updates up to the stop, and the loss */
      memcpy(s->H, H0, m * sizeof(float));
      sn_timer_begin(&s->run->timer, SN_PH_NMF_H);
      rc = sn_agree(s->run->comm, transform_walk(s, stop + 1, NULL, 1), e);
      sn_timer_end(&s->run->timer, SN_PH_NMF_H);
      have_loss = rc == SN_OK;
    }
    break;
  }
  sn_free(H0);
  if (rc) return rc;
  if (!have_loss) {
    sn_timer_begin(&s->run->timer, SN_PH_LOSS);
    rc = sn_agree(s->run->comm, transform_walk(s, 0, NULL, 1), e);
    sn_timer_end(&s->run->timer, SN_PH_LOSS);
    if (rc) return rc;
  }
  double loss = s->acc[s->L.loss];
  rc = sn_run_allreduce_sum(s->run, &loss, 1, SN_OK);
  if (rc) return rc;
  s->st->loss = loss;
  return SN_OK;
}

/* Collective. The V sum of all frames (the transform's start) and of the
 * global mini-batch at every position (a fresh restart's): one walk over this
 * rank's frames, one allreduce of steps + 1 numbers. */
static int online_vsums(ponline_run *s) {
  const int64_t F = s->o->cfg.F, steps = s->sl.steps;
  sn_err *e = &s->run->err;
  double *sums = sn_calloc((size_t)(steps + 1) * sizeof(double), "online nmf", e);
  int rc = sn_agree(s->run->comm, sums ? SN_OK : SN_ERR_NOMEM, e);
  if (rc) return rc;
  sn_timer_begin(&s->run->timer, SN_PH_READ);
  for (int64_t p = 0; rc == SN_OK && p < steps; p++) {
    int64_t j0, nb;
    slice_of(&s->sl, s->run->rank, p, &j0, &nb);
    for (int64_t t0 = 0; rc == SN_OK && t0 < nb; t0 += s->cs.tile) {
      int64_t n = nb - t0 < s->cs.tile ? nb - t0 : s->cs.tile;
      const float *v = sn_frames_get(s->V, j0 + t0, n, s->vbuf, e);
      if (!v) rc = SN_ERR_IO;
      for (size_t q = 0; v && q < (size_t)(F * n); q++) sums[p] += v[q];
    }
    sums[steps] += sums[p];
  }
  sn_timer_end(&s->run->timer, SN_PH_READ);
  rc = sn_run_allreduce_sum(s->run, sums, (size_t)(steps + 1), rc);
  if (rc == SN_OK) {
    memcpy(s->vslice, sums, (size_t)steps * sizeof(double));
    s->vtotal = sums[steps];
  }
  sn_free(sums);
  return rc;
}

int sn_ponline_solve(sn_run *run, const sn_pnmf_opts *o, const sn_ponline_opts *oo, const sn_frames *V,
                     float *W, float *H, sn_pnmf_state *st) {
  sn_err *e = &run->err;
  const int64_t F = o->cfg.F, R = o->cfg.R, N = o->N;
  ponline_run s = {.run = run, .o = o, .oo = oo, .V = V, .W = W, .H = H, .st = st, .cs = o->cfg};
  s.cs.solver = SN_NMF_MU;
  s.cs.h_rule = SN_NMF_H_ONLINE;
  sn_nmf_layout_of(&s.cs, 3, &s.L);
  s.fstop = s.L.flags;
  s.fsum = s.L.flags + 1;
  s.fsq = s.L.flags + 2;
  slices_init(&s.sl, N, oo->batch, run->size);
  int rc = sn_agree(run->comm, online_alloc(&s, e), e);
  if (rc) goto cleanup;
  s.rho = sn_online_rho(oo->forget_factor, oo->batch, N);
  for (size_t q = 0; q < (size_t)(F * R); q++) {
    s.A[q] = W[q];
    s.B[q] = 1.0;
  }
  rc = online_vsums(&s);
  if (rc) goto cleanup;
  sn_ponline_progress p0 = {.event = SN_PONLINE_MON_START, .batch = oo->batch, .steps_per_pass = s.sl.steps,
                            .forget_factor = oo->forget_factor, .rho = s.rho, .fresh_restarts = oo->fresh_restarts};
  monitor(&s, &p0);

  const int64_t n_steps = o->max_iter * s.sl.steps;
  int64_t t = 0;
  sn_nmf_set_w(s.ws, W);
  sn_nmf_set_w(s.wf, W);
  for (t = 0; t < n_steps; t++) {
    double cost = 0;
    int64_t bs = 0;
    rc = online_step(&s, t, &cost, &bs);
    if (rc) goto cleanup;
    if (t % s.sl.steps == s.sl.steps - 1 || t == n_steps - 1) {
      sn_ponline_progress p = {.event = SN_PONLINE_MON_PASS, .pass = t / s.sl.steps + 1, .step = t + 1,
                               .cost = cost, .smoothed = s.have_ewa ? s.ewa : cost};
      monitor(&s, &p);
    }
    if (t == 0) continue; /* sklearn: the first step only starts the statistics */
    if (online_stops(&s, t, cost, bs)) {
      st->converged = 1;
      break;
    }
  }
  const int64_t done = t < n_steps ? t + 1 : n_steps;
  st->iter = (done + s.sl.steps - 1) / s.sl.steps;
  rc = online_transform(&s);
  if (rc) goto cleanup;
  sn_ponline_progress pd = {.event = SN_PONLINE_MON_DONE, .step = done, .pass = st->iter, .loss = st->loss,
                            .converged = st->converged};
  monitor(&s, &pd);
cleanup:
  sn_free(s.acc);
  sn_free(s.A);
  sn_free(s.B);
  sn_free(s.row);
  sn_free(s.Wprev);
  sn_free(s.buf);
  sn_free(s.vbuf);
  sn_free(s.vslice);
  sn_nmf_ws_destroy(&s.ws);
  sn_nmf_ws_destroy(&s.wf);
  return rc;
}
