/* Distributed NMF solver loop, random start, checkpoints (see sn_pnmf.h). */
#include "sn_pnmf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sn_comm.h"
#include "sn_h5.h"

uint64_t sn_fnv1a(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t k = 0; k < n; k++) {
    h ^= b[k];
    h *= 1099511628211ull;
  }
  return h;
}

/* Word-wise FNV-style hash of a column (fast enough to run over V). */
static uint64_t col_hash(uint64_t j, const float *x, int64_t n) {
  uint64_t h = sn_fnv1a(SN_FNV_INIT, &j, sizeof j);
  const uint32_t *w = (const uint32_t *)(const void *)x;
  for (int64_t k = 0; k < n; k++) {
    h ^= w[k];
    h *= 1099511628211ull;
  }
  return h;
}

/* Entries of the loss history (every 10th iteration and the last). */
#define SN_HIST_CAP 32768

int sn_pnmf_state_init(sn_pnmf_state *st, int64_t max_iter, sn_err *e) {
  memset(st, 0, sizeof *st);
  st->viol_init = -1.0;
  /* A fixed capacity (512 KiB in all), whatever --max-iter says: a huge
   * --max-iter must not cost memory, and a resume with another --max-iter must
   * find room for the stored history. When full, hist_push thins it. */
  (void)max_iter;
  st->cap_hist = SN_HIST_CAP;
  st->hist = sn_calloc((size_t)st->cap_hist * sizeof(double), "loss history", e);
  st->hist_iter = sn_calloc((size_t)st->cap_hist * sizeof(int64_t), "loss history", e);
  if (!st->hist || !st->hist_iter) return SN_ERR_NOMEM;
  return SN_OK;
}

void sn_pnmf_state_free(sn_pnmf_state *st) {
  sn_free(st->hist);
  sn_free(st->hist_iter);
  st->hist = NULL;
  st->hist_iter = NULL;
}

static void hist_push(sn_pnmf_state *st, int64_t it, double loss) {
  if (st->n_hist > 0 && st->hist_iter[st->n_hist - 1] == it) {
    st->hist[st->n_hist - 1] = loss;
    return;
  }
  if (st->n_hist >= st->cap_hist) {
    /* full (over 650 000 iterations): keep every second entry (the new one is added after);
     * the same on every rank, as the values are */
    int64_t k = 0;
    for (int64_t q = 0; q < st->n_hist; q += 2, k++) {
      st->hist[k] = st->hist[q];
      st->hist_iter[k] = st->hist_iter[q];
    }
    st->n_hist = k;
  }
  st->hist[st->n_hist] = loss;
  st->hist_iter[st->n_hist] = it;
  st->n_hist++;
}

void sn_pnmf_hist_push(sn_pnmf_state *st, int64_t it, double loss) { hist_push(st, it, loss); }

/* ---- counter-based random numbers ------------------------------------------ */

static uint64_t splitmix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

double sn_pnmf_normal(uint64_t seed, uint64_t stream, uint64_t index) {
  uint64_t k = splitmix(splitmix(seed ^ 0x5bd1e995ull) ^ (stream * 0x9e3779b97f4a7c15ull));
  uint64_t a = splitmix(k ^ (2 * index)), b = splitmix(k ^ (2 * index + 1));
  double u1 = ((double)(a >> 11) + 1.0) / 9007199254740992.0; /* (0, 1] */
  double u2 = (double)(b >> 11) / 9007199254740992.0;         /* [0, 1) */
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

int sn_pnmf_vsum(sn_run *run, const sn_pnmf_opts *o, const float *V, double *sum) {
  double s = 0;
  size_t n = (size_t)o->cfg.F * (size_t)o->n_local;
  for (size_t k = 0; k < n; k++) s += V[k];
  int rc = sn_run_allreduce_sum(run, &s, 1, SN_OK);
  *sum = s;
  return rc;
}

int sn_pnmf_data_hash(sn_run *run, const sn_pnmf_opts *o, const float *V, uint64_t *h) {
  uint64_t s = 0;
  for (int64_t j = 0; j < o->n_local; j++)
    s += col_hash((uint64_t)(o->col0 + j), V + j * o->cfg.F, o->cfg.F);
  SN_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, &s, 1, MPI_UINT64_T, MPI_SUM, run->comm));
  *h = s;
  return SN_OK;
}

int sn_pnmf_init_random(sn_run *run, const sn_pnmf_opts *o, const float *V, uint64_t seed,
                        float *W, float *H) {
  const int64_t F = o->cfg.F, R = o->cfg.R;
  double sum = 0;
  int rc = sn_pnmf_vsum(run, o, V, &sum);
  if (rc) return rc;
  double avg = sqrt(sum / ((double)F * (double)o->N) / (double)R);
  for (int64_t r = 0; r < R; r++)
    for (int64_t i = 0; i < F; i++)
      W[i + r * F] = (float)fabs(avg * sn_pnmf_normal(seed, 1, (uint64_t)(i * R + r)));
  for (int64_t j = 0; j < o->n_local; j++)
    for (int64_t r = 0; r < R; r++)
      H[r + j * R] = (float)fabs(avg * sn_pnmf_normal(seed, 2, (uint64_t)((o->col0 + j) * R + r)));
  return SN_OK;
}

/* ---- checkpoints ----------------------------------------------------------- */

static int checksum(sn_run *run, const sn_pnmf_opts *o, const float *W, const float *H,
                    const sn_pnmf_state *st, uint64_t *out) {
  const int64_t F = o->cfg.F, R = o->cfg.R;
  uint64_t s = 0;
  for (int64_t j = 0; j < o->n_local; j++) s += col_hash((uint64_t)(o->col0 + j), H + j * R, R);
  SN_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, &s, 1, MPI_UINT64_T, MPI_SUM, run->comm));
  uint64_t h = sn_fnv1a(SN_FNV_INIT, W, (size_t)(F * R) * sizeof(float));
  h = sn_fnv1a(h, &s, sizeof s);
  h = sn_fnv1a(h, &st->iter, sizeof st->iter);
  h = sn_fnv1a(h, &st->err_init, sizeof st->err_init);
  h = sn_fnv1a(h, &st->prev_err, sizeof st->prev_err);
  h = sn_fnv1a(h, &st->viol_init, sizeof st->viol_init);
  h = sn_fnv1a(h, &st->n_hist, sizeof st->n_hist);
  h = sn_fnv1a(h, st->hist, (size_t)st->n_hist * sizeof(double));
  h = sn_fnv1a(h, &o->fingerprint, sizeof o->fingerprint);
  *out = h;
  return SN_OK;
}

int sn_pnmf_checkpoint_write(sn_run *run, const sn_pnmf_opts *o, const float *W, const float *H,
                             const sn_pnmf_state *st) {
  sn_err *e = &run->err;
  const int64_t F = o->cfg.F, R = o->cfg.R;
  sn_timer_begin(&run->timer, SN_PH_CHECKPOINT);
  sn_h5 *f = NULL;
  uint64_t sum = 0;
  double *hi = NULL;
  int rc = checksum(run, o, W, H, st, &sum);
  if (rc) goto cleanup;
  rc = sn_h5_create(run->comm, o->checkpoint, 1, &f, e);
  if (rc) goto cleanup;
  SN_CHECK(sn_h5_write_cols(f, "/nmf/W", F, R, 0, run->rank == 0 ? R : 0, W, F, e));
  SN_CHECK(sn_h5_write_cols(f, "/nmf/H", R, o->N, o->col0, o->n_local, H, R, e));
  int64_t nh = st->n_hist > 0 ? st->n_hist : 1;
  hi = sn_calloc((size_t)nh * sizeof(double), "checkpoint", e);
  rc = sn_agree(run->comm, hi ? SN_OK : SN_ERR_NOMEM, e);
  if (rc) goto cleanup;
  for (int64_t k = 0; k < st->n_hist; k++) hi[k] = (double)st->hist_iter[k];
  SN_CHECK(sn_h5_write_vec(f, "/checkpoint/loss", st->n_hist, st->hist, e));
  SN_CHECK(sn_h5_write_vec(f, "/checkpoint/loss_iter", st->n_hist, hi, e));
  SN_CHECK(sn_h5_attr_set_int(f, "/checkpoint/loss", "iter", st->iter, e));
  SN_CHECK(sn_h5_attr_set_double(f, "/checkpoint/loss", "err_init", st->err_init, e));
  SN_CHECK(sn_h5_attr_set_double(f, "/checkpoint/loss", "prev_err", st->prev_err, e));
  SN_CHECK(sn_h5_attr_set_double(f, "/checkpoint/loss", "viol_init", st->viol_init, e));
  SN_CHECK(sn_h5_attr_set_int(f, "/checkpoint/loss", "fingerprint", (int64_t)o->fingerprint, e));
  SN_CHECK(sn_h5_attr_set_int(f, "/checkpoint/loss", "checksum", (int64_t)sum, e));
  rc = sn_h5_close(&f, 1, e);
cleanup:
  if (f) sn_h5_close(&f, 0, e);
  sn_free(hi);
  sn_timer_end(&run->timer, SN_PH_CHECKPOINT);
  return rc;
}

int sn_pnmf_checkpoint_read(sn_run *run, const sn_pnmf_opts *o, float *W, float *H,
                            sn_pnmf_state *st) {
  sn_err *e = &run->err;
  const int64_t F = o->cfg.F, R = o->cfg.R;
  const char *path = o->checkpoint;
  sn_h5 *f = NULL;
  double *hi = NULL;
  int found = 0, lrc = SN_OK;
  int64_t v = 0, dims[2];
  int nd = 0;
  int rc = sn_h5_open(run->comm, path, &f, e);
  if (rc) return rc;
  SN_CHECK(sn_h5_attr_get_int(f, "/checkpoint/loss", "fingerprint", &v, &found, e));
  if (!found)
    lrc = SN_FAIL(e, SN_ERR_INPUT, "%s: not a specnmf nmf checkpoint", path);
  else if ((uint64_t)v != o->fingerprint)
    lrc = SN_FAIL(e, SN_ERR_INPUT,
                  "%s: checkpoint was made with other data or options; refusing to resume (remove it or rerun with the same input and options)",
                  path);
  SN_CHECK(sn_agree(run->comm, lrc, e));
  SN_CHECK(sn_h5_shape(f, "/nmf/W", &nd, dims, e));
  if (nd != 2 || dims[0] != F || dims[1] != R) lrc = SN_FAIL(e, SN_ERR_INPUT, "%s: /nmf/W has the wrong shape", path);
  SN_CHECK(sn_agree(run->comm, lrc, e));
  SN_CHECK(sn_h5_shape(f, "/nmf/H", &nd, dims, e));
  if (nd != 2 || dims[0] != R || dims[1] != o->N) lrc = SN_FAIL(e, SN_ERR_INPUT, "%s: /nmf/H has the wrong shape", path);
  SN_CHECK(sn_agree(run->comm, lrc, e));
  SN_CHECK(sn_h5_read_cols(f, "/nmf/W", F, 0, R, W, F, e));
  SN_CHECK(sn_h5_read_cols(f, "/nmf/H", R, o->col0, o->n_local, H, R, e));
  SN_CHECK(sn_h5_attr_get_int(f, "/checkpoint/loss", "iter", &st->iter, &found, e));
  SN_CHECK(sn_h5_attr_get_double(f, "/checkpoint/loss", "err_init", &st->err_init, &found, e));
  SN_CHECK(sn_h5_attr_get_double(f, "/checkpoint/loss", "prev_err", &st->prev_err, &found, e));
  SN_CHECK(sn_h5_attr_get_double(f, "/checkpoint/loss", "viol_init", &st->viol_init, &found, e));
  SN_CHECK(sn_h5_attr_get_int(f, "/checkpoint/loss", "checksum", &v, &found, e));
  hi = sn_calloc((size_t)st->cap_hist * sizeof(double), "checkpoint", e);
  SN_CHECK(sn_agree(run->comm, hi ? SN_OK : SN_ERR_NOMEM, e));
  int64_t n = 0;
  SN_CHECK(sn_h5_read_vec(f, "/checkpoint/loss", st->hist, st->cap_hist, &n, e));
  SN_CHECK(sn_h5_read_vec(f, "/checkpoint/loss_iter", hi, st->cap_hist, &st->n_hist, e));
  if (n != st->n_hist) lrc = SN_FAIL(e, SN_ERR_INPUT, "%s: corrupted checkpoint (loss history)", path);
  for (int64_t k = 0; k < st->n_hist; k++) st->hist_iter[k] = (int64_t)hi[k];
  SN_CHECK(sn_agree(run->comm, lrc, e));
  uint64_t sum = 0;
  SN_CHECK(checksum(run, o, W, H, st, &sum));
  if (sum != (uint64_t)v)
    lrc = SN_FAIL(e, SN_ERR_INPUT, "%s: checkpoint checksum mismatch (corrupted file); refusing to resume", path);
  SN_CHECK(sn_agree(run->comm, lrc, e));
cleanup:
  sn_free(hi);
  sn_h5_close(&f, 0, e);
  return rc;
}

/* ---- the solver loop -------------------------------------------------------- */

int sn_pnmf_solve(sn_run *run, const sn_pnmf_opts *o, const float *V, float *W, float *H,
                  sn_pnmf_state *st, int resumed) {
  sn_err *e = &run->err;
  const sn_nmf_cfg *c = &o->cfg;
  sn_nmf_ws *ws = NULL;
  sn_nmf_layout L;
  sn_nmf_layout_of(c, 1, &L);
  double *acc = NULL;
  int lrc = sn_nmf_ws_create(c, &ws, e);
  if (lrc == SN_OK) {
    acc = sn_calloc((size_t)L.len * sizeof(double), "nmf accumulators", e);
    if (!acc) lrc = SN_ERR_NOMEM;
  }
  int rc = sn_agree(run->comm, lrc, e);
  if (rc) goto cleanup;
  /* With every column of W fixed only H is updated: no W sums are formed or
   * reduced, only the loss, the violation and the flags at the tail. */
  const int w_fixed = c->n_fixed == c->R;
  const int64_t red0 = w_fixed ? L.loss : 0, red_len = L.len - red0;

  /* Opening pass: the first W update's accumulators and the starting loss. */
  sn_timer_begin(&run->timer, SN_PH_NMF_H);
  sn_nmf_set_w(ws, W);
  sn_nmf_pass(ws, V, o->n_local, H, 0, !w_fixed && o->max_iter > st->iter, 1, acc);
  sn_timer_end(&run->timer, SN_PH_NMF_H);
  acc[L.flags] = (o->stop && *o->stop) ? 1.0 : 0.0;
  lrc = sn_fault("nmf_iter", run->rank, e);
  if (!lrc) lrc = sn_nmf_ws_status(ws, e);
  rc = sn_run_allreduce_sum(run, acc + red0, (size_t)red_len, lrc);
  if (rc) goto cleanup;
  double loss = acc[L.loss];
  int have_loss = 1;
  if (!resumed) {
    st->err_init = sqrt(2.0 * fmax(loss, 0.0));
    st->prev_err = st->err_init;
    hist_push(st, st->iter, loss);
  }
  SN_PROGRESS(run, "nmf: iteration %lld, loss %.6g%s", (long long)st->iter, loss,
              resumed ? " (resumed)" : "");
  const int64_t it0 = st->iter;
  const char *fi = getenv("SPECNMF_FAULT_ITER");
  const int64_t fault_iter = fi && *fi ? atoll(fi) : 5;
  double t_start = sn_wtime(), t_last = t_start, viol_w = 0;
  struct timespec c0, c1;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
  int64_t it_last = it0;
  for (;;) {
    const int64_t it = st->iter;
    if (it > it0) {
      if (c->solver == SN_NMF_CD) {
        double viol = viol_w + acc[L.viol];
        if (it == 1) st->viol_init = viol;
        if (st->viol_init == 0.0 || (st->viol_init > 0 && viol / st->viol_init <= o->tol)) {
          st->converged = 1;
          break;
        }
      }
      if (have_loss && it % 10 == 0) {
        double err = sqrt(2.0 * fmax(loss, 0.0));
        hist_push(st, it, loss);
        double rel = st->err_init > 0 ? (st->prev_err - err) / st->err_init : 0.0;
        double now = sn_wtime(), spi = (now - t_last) / (double)(it - it_last);
        t_last = now;
        it_last = it;
        SN_PROGRESS(run, "nmf: iteration %lld, loss %.6g, relative change %.3g, %.3f s/iteration, %.0f s left at most",
                    (long long)it, loss, rel, spi, spi * (double)(o->max_iter - it));
        if (c->solver != SN_NMF_CD && o->tol > 0 && rel < o->tol) {
          st->converged = 1;
          break;
        }
        st->prev_err = err;
      }
    }
    if (acc[L.flags] > 0) {
      SN_PROGRESS(run, "nmf: signal received at iteration %lld; writing a checkpoint", (long long)it);
      if (o->checkpoint) {
        rc = sn_pnmf_checkpoint_write(run, o, W, H, st);
        if (rc) goto cleanup;
      }
      rc = SN_FAIL(e, SN_ERR_INTERRUPTED, "nmf: interrupted by a signal at iteration %lld%s%s",
                   (long long)it, o->checkpoint ? "; checkpoint written to " : "",
                   o->checkpoint ? o->checkpoint : "");
      if (run->rank != 0) e->msg[0] = '\0'; /* every rank knows it: only rank 0 prints */
      goto cleanup;
    }
    if (it >= o->max_iter) break;
    if (o->checkpoint && o->checkpoint_every > 0 && it > it0 && it % o->checkpoint_every == 0) {
      rc = sn_pnmf_checkpoint_write(run, o, W, H, st);
      if (rc) goto cleanup;
    }
    /* W update (replicated) */
    if (!w_fixed) {
      sn_timer_begin(&run->timer, SN_PH_NMF_W);
      viol_w = sn_nmf_update_w(ws, acc, W);
      sn_nmf_set_w(ws, W);
      sn_timer_end(&run->timer, SN_PH_NMF_W);
    }
    /* H update fused with the next W accumulators */
    const int64_t next = it + 1;
    const int want_loss = (next % 10 == 0) || next == o->max_iter;
    const int want_acc = !w_fixed && next < o->max_iter;
    memset(acc, 0, (size_t)L.len * sizeof(double));
    sn_timer_begin(&run->timer, SN_PH_NMF_H);
    sn_nmf_pass(ws, V, o->n_local, H, 1, want_acc, want_loss, acc);
    sn_timer_end(&run->timer, SN_PH_NMF_H);
    acc[L.flags] = (o->stop && *o->stop) ? 1.0 : 0.0;
    lrc = sn_nmf_ws_status(ws, e);
    if (next == 2 && !lrc) lrc = sn_fault("nmf_iter2", run->rank, e);
    if (next == fault_iter) {
      /* test hook: behave as if a signal arrived on this rank now */
      sn_err scratch = {0};
      if (sn_fault("nmf_signal", run->rank, &scratch) != SN_OK) acc[L.flags] = 1.0;
    }
    rc = sn_run_allreduce_sum(run, acc + red0, (size_t)red_len, lrc);
    if (rc) goto cleanup;
    st->iter = next;
    have_loss = want_loss;
    if (want_loss) loss = acc[L.loss];
  }
  if (!have_loss) {
    /* Only after a cd stop between checks: one more loss pass. */
    memset(acc, 0, (size_t)L.len * sizeof(double));
    sn_timer_begin(&run->timer, SN_PH_LOSS);
    sn_nmf_pass(ws, V, o->n_local, H, 0, 0, 1, acc);
    sn_timer_end(&run->timer, SN_PH_LOSS);
    rc = sn_run_allreduce_sum(run, acc, (size_t)L.len, SN_OK);
    if (rc) goto cleanup;
    loss = acc[L.loss];
  }
  st->loss = loss;
  hist_push(st, st->iter, loss);
  {
    double el = sn_wtime() - t_start;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    double cpu = (double)(c1.tv_sec - c0.tv_sec) + 1e-9 * (double)(c1.tv_nsec - c0.tv_nsec);
    int64_t n = st->iter - it0;
    SN_PROGRESS(run, "nmf: %s after %lld iterations, loss %.6g (reconstruction error %.6g), cpu %.4f s/iteration on rank 0, %.4f s/iteration",
                st->converged ? "converged" : "stopped", (long long)st->iter, loss,
                sqrt(2.0 * fmax(loss, 0.0)), n > 0 ? cpu / (double)n : 0.0, n > 0 ? el / (double)n : 0.0);
  }
cleanup:
  sn_free(acc);
  sn_nmf_ws_destroy(&ws);
  return rc;
}
