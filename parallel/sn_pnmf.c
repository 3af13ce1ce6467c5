/* Distributed NMF solver loop, random start, checkpoints (see sn_pnmf.h). */
#include "sn_pnmf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sn_comm.h"
#include "sn_h5.h"
#include "sn_model.h"

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

/* sn_frames_walk callbacks: the V sum, and the column hashes. */
typedef struct vwalk {
  const sn_pnmf_opts *o;
  double sum;
  uint64_t hash;
} vwalk;

static int vwalk_sum(void *ctx, int64_t j0, int64_t t, const float *v) {
  vwalk *w = ctx;
  (void)j0;
  for (size_t k = 0; k < (size_t)(w->o->cfg.F * t); k++) w->sum += v[k];
  return SN_OK;
}

static int vwalk_hash(void *ctx, int64_t j0, int64_t t, const float *v) {
  vwalk *w = ctx;
  const int64_t F = w->o->cfg.F;
  for (int64_t j = 0; j < t; j++) w->hash += col_hash((uint64_t)(w->o->col0 + j0 + j), v + j * F, F);
  return SN_OK;
}

int sn_pnmf_vsum(sn_run *run, const sn_pnmf_opts *o, const sn_frames *V, double *sum) {
  vwalk w = {o, 0, 0};
  int rc = sn_frames_walk(V, SN_FRAMES_TILE, vwalk_sum, &w, &run->err);
  rc = sn_run_allreduce_sum(run, &w.sum, 1, rc);
  *sum = w.sum;
  return rc;
}

int sn_pnmf_data_hash(sn_run *run, const sn_pnmf_opts *o, const sn_frames *V, uint64_t *h) {
  vwalk w = {o, 0, 0};
  int rc = sn_agree(run->comm, sn_frames_walk(V, SN_FRAMES_TILE, vwalk_hash, &w, &run->err), &run->err);
  if (rc) return rc;
  SN_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, &w.hash, 1, MPI_UINT64_T, MPI_SUM, run->comm));
  *h = w.hash;
  return SN_OK;
}

int sn_pnmf_init_random(sn_run *run, const sn_pnmf_opts *o, const sn_frames *V, uint64_t seed,
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

/* Local. The dimensions of o as the model file sees them. */
static sn_model_dims ckpt_dims(const sn_pnmf_opts *o) {
  sn_model_dims d = {o->cfg.F, o->cfg.R, o->N, o->col0, o->n_local};
  return d;
}

int sn_pnmf_checkpoint_write(sn_run *run, const sn_pnmf_opts *o, const float *W, const float *H,
                             const sn_pnmf_state *st) {
  sn_timer_begin(&run->timer, SN_PH_CHECKPOINT);
  uint64_t sum = 0;
  int rc = checksum(run, o, W, H, st, &sum);
  if (rc == SN_OK) {
    const sn_model_dims d = ckpt_dims(o);
    const sn_model_ckpt c = {st->iter, st->err_init, st->prev_err, st->viol_init, st->n_hist, st->cap_hist,
                             st->hist, st->hist_iter, o->fingerprint, sum};
    rc = sn_model_ckpt_write(run->comm, o->checkpoint, &d, W, H, &c, &run->err);
  }
  sn_timer_end(&run->timer, SN_PH_CHECKPOINT);
  return rc;
}

int sn_pnmf_checkpoint_read(sn_run *run, const sn_pnmf_opts *o, float *W, float *H,
                            sn_pnmf_state *st) {
  sn_err *e = &run->err;
  const sn_model_dims d = ckpt_dims(o);
  sn_model_ckpt c = {0};
  c.cap_hist = st->cap_hist;
  c.hist = st->hist;
  c.hist_iter = st->hist_iter;
  c.fingerprint = o->fingerprint;
  int rc = sn_model_ckpt_read(run->comm, o->checkpoint, &d, W, H, &c, e);
  if (rc) return rc;
  st->iter = c.iter;
  st->err_init = c.err_init;
  st->prev_err = c.prev_err;
  st->viol_init = c.viol_init;
  st->n_hist = c.n_hist;
  uint64_t sum = 0;
  rc = checksum(run, o, W, H, st, &sum);
  if (rc) return rc;
  if (sum != c.checksum)
    rc = SN_FAIL(e, SN_ERR_INPUT, "%s: checkpoint checksum mismatch (corrupted file); refusing to resume", o->checkpoint);
  return sn_run_agree(run, rc);
}

/* ---- monitor and test hooks ------------------------------------------------- */

void sn_pnmf_monitor_print(sn_run *run, const sn_pnmf_progress *p, void *ctx) {
  (void)ctx;
  switch (p->event) {
  case SN_PNMF_MON_START:
    SN_PROGRESS(run, "nmf: iteration %lld, loss %.6g%s", (long long)p->iter, p->loss, p->resumed ? " (resumed)" : "");
    break;
  case SN_PNMF_MON_CHECK:
    SN_PROGRESS(run, "nmf: iteration %lld, loss %.6g, relative change %.3g, %.3f s/iteration, %.0f s left at most",
                (long long)p->iter, p->loss, p->rel, p->s_per_iter, p->s_per_iter * (double)(p->max_iter - p->iter));
    break;
  case SN_PNMF_MON_DONE:
    SN_PROGRESS(run, "nmf: %s after %lld iterations, loss %.6g (reconstruction error %.6g), cpu %.4f s/iteration on rank 0, %.4f s/iteration",
                p->converged ? "converged" : "stopped", (long long)p->iter, p->loss, sqrt(2.0 * fmax(p->loss, 0.0)),
                p->cpu_per_iter, p->s_per_iter);
    break;
  }
}

int sn_pnmf_hook_faults(sn_run *run, const sn_pnmf_monitor *m, int64_t iter, int opening, int *stop, sn_err *e) {
  int rc = SN_OK;
  if (opening) rc = sn_fault("nmf_iter", run->rank, e);
  else if (iter == 2) rc = sn_fault("nmf_iter2", run->rank, e);
  if (!opening && iter == m->signal_iter) {
    sn_err scratch = {0};
    if (sn_fault("nmf_signal", run->rank, &scratch) != SN_OK) *stop = 1;
  }
  return rc;
}

/* ---- the solver loop -------------------------------------------------------- */

/* The stopping rules (sklearn's), one per solver: cd stops on the projected-
 * gradient violation of each iteration against the first one's; mu and anls
 * on the relative change of the error at each check (every 10th iteration). */
static int viol_converged(sn_pnmf_state *st, int64_t it, double viol, double tol) {
  if (it == 1) st->viol_init = viol;
  return st->viol_init == 0.0 || (st->viol_init > 0 && viol / st->viol_init <= tol);
}

static int err_converged(double rel, double tol) { return tol > 0 && rel < tol; }

typedef struct pnmf_rule {
  int (*each_iter)(sn_pnmf_state *st, int64_t it, double viol, double tol); /* NULL: none */
  int (*at_check)(double rel, double tol);                                   /* NULL: none */
} pnmf_rule;

static const pnmf_rule pnmf_rules[] = {[SN_NMF_MU] = {NULL, err_converged},
                                       [SN_NMF_CD] = {viol_converged, NULL},
                                       [SN_NMF_ANLS] = {NULL, err_converged}};

/* The solve's working state, shared by its steps. */
typedef struct pnmf_run {
  sn_run *run;
  const sn_pnmf_opts *o;
  const sn_frames *V;     /* in memory, or read a chunk at a time */
  float *vbuf;            /* a chunk of read frames (NULL for V in memory) */
  int64_t chunk;          /* frames per chunk: all of them in memory, else a multiple of the tile */
  float *W, *H;
  sn_pnmf_state *st;
  sn_nmf_ws *ws;
  sn_nmf_layout L;
  double *acc;
  pnmf_rule rule;
  int w_fixed;            /* every column of W fixed: only H is updated */
  int64_t red0, red_len;  /* the reduced part of acc */
  double loss, viol_w;    /* the last loss; the cd violation of the last W sweep */
  int have_loss;          /* loss is that of the current W, H */
  int64_t it0, it_last;   /* first iteration of this solve; of the last check */
  double t_start, t_last; /* wall times of the start, of the last check */
} pnmf_run;

static void monitor(const pnmf_run *s, sn_pnmf_progress *p) {
  p->max_iter = s->o->max_iter;
  if (s->o->monitor.fn) s->o->monitor.fn(s->run, p, s->o->monitor.ctx);
}

/* Local. sn_nmf_pass over this rank's frames, chunk by chunk (a read
 * chunk is a whole number of tiles, so the tiles, and the sums' order, are
 * those of one pass over V in memory), each chunk first given n_iter H
 * updates while it is in memory (sn_nmf_pass_h, every column of W fixed;
 * n_iter 0: none). Returns a read error (e set), else SN_OK. */
static int pass_chunks(pnmf_run *s, int update_h, int want_acc, int want_loss, int64_t n_iter) {
  const int64_t n = s->o->n_local, R = s->o->cfg.R;
  for (int64_t j0 = 0; j0 < n; j0 += s->chunk) {
    const int64_t m = n - j0 < s->chunk ? n - j0 : s->chunk;
    const float *v = sn_frames_get(s->V, j0, m, s->vbuf, &s->run->err);
    if (!v) return SN_ERR_IO;
    if (n_iter > 0) sn_nmf_pass_h(s->ws, v, m, s->H + j0 * R, n_iter, s->acc);
    sn_nmf_pass(s->ws, v, m, s->H + j0 * R, update_h, want_acc, want_loss, s->acc);
  }
  return SN_OK;
}

/* Collective. One pass over V with H updated (update_h) or not, then the sum
 * of its accumulators over ranks with this rank's stop flag, test hook and
 * workspace status agreed in the same reduction. next: the iteration the
 * pass completes; opening: the pass before the first iteration. */
static int pass_reduce(pnmf_run *s, int64_t next, int opening, int update_h, int want_acc, int want_loss) {
  const sn_pnmf_opts *o = s->o;
  sn_timer_begin(&s->run->timer, SN_PH_NMF_H);
  int local = pass_chunks(s, update_h, want_acc, want_loss, 0);
  sn_timer_end(&s->run->timer, SN_PH_NMF_H);
  int stop = o->stop && *o->stop;
  /* this rank's code, agreed in the same reduction as the sums */
  if (!local && opening && o->monitor.hook) local = o->monitor.hook(s->run, &o->monitor, next, 1, &stop, &s->run->err);
  if (!local) local = sn_nmf_ws_status(s->ws, &s->run->err);
  if (!opening && o->monitor.hook) {
    sn_err later = {0}; /* a hook failing after an earlier failure: the first one is the one reported */
    int hrc = o->monitor.hook(s->run, &o->monitor, next, 0, &stop, local ? &later : &s->run->err);
    if (!local) local = hrc;
  }
  s->acc[s->L.flags] = stop ? 1.0 : 0.0;
  return sn_run_allreduce_sum(s->run, s->acc + s->red0, (size_t)s->red_len, local);
}

/* Local. The stopping rule after iteration it (> it0): 1 to stop. */
static int check_stop(pnmf_run *s, int64_t it) {
  sn_pnmf_state *st = s->st;
  const double tol = s->o->tol;
  if (s->rule.each_iter && s->rule.each_iter(st, it, s->viol_w + s->acc[s->L.viol], tol)) return 1;
  if (!s->have_loss || it % 10 != 0) return 0;
  double err = sqrt(2.0 * fmax(s->loss, 0.0));
  hist_push(st, it, s->loss);
  double now = sn_wtime();
  sn_pnmf_progress p = {.event = SN_PNMF_MON_CHECK, .iter = it, .loss = s->loss,
                        .rel = st->err_init > 0 ? (st->prev_err - err) / st->err_init : 0.0,
                        .s_per_iter = (now - s->t_last) / (double)(it - s->it_last)};
  s->t_last = now;
  s->it_last = it;
  monitor(s, &p);
  if (s->rule.at_check && s->rule.at_check(p.rel, tol)) return 1;
  st->prev_err = err;
  return 0;
}

/* Collective. A signal reached some rank: write the checkpoint (if any) and
 * return the agreed SN_ERR_INTERRUPTED (or the checkpoint's error). */
static int interrupted(pnmf_run *s, int64_t it) {
  const sn_pnmf_opts *o = s->o;
  sn_err *e = &s->run->err;
  SN_PROGRESS(s->run, "nmf: signal received at iteration %lld; writing a checkpoint", (long long)it);
  if (o->checkpoint) {
    int rc = sn_pnmf_checkpoint_write(s->run, o, s->W, s->H, s->st);
    if (rc) return rc;
  }
  int rc = SN_FAIL(e, SN_ERR_INTERRUPTED, "nmf: interrupted by a signal at iteration %lld%s%s", (long long)it,
                   o->checkpoint ? "; checkpoint written to " : "", o->checkpoint ? o->checkpoint : "");
  if (s->run->rank != 0) e->msg[0] = '\0'; /* every rank knows it: only rank 0 prints */
  return rc;
}

/* Collective. Iteration it + 1: the replicated W update, then the H update
 * fused with the next W accumulators (and the loss every 10th and last). */
static int iterate(pnmf_run *s, int64_t it) {
  const sn_pnmf_opts *o = s->o;
  if (!s->w_fixed) {
    sn_timer_begin(&s->run->timer, SN_PH_NMF_W);
    s->viol_w = sn_nmf_update_w(s->ws, s->acc, s->W);
    sn_nmf_set_w(s->ws, s->W);
    sn_timer_end(&s->run->timer, SN_PH_NMF_W);
  }
  const int64_t next = it + 1;
  const int want_loss = (next % 10 == 0) || next == o->max_iter;
  memset(s->acc, 0, (size_t)s->L.len * sizeof(double));
  int rc = pass_reduce(s, next, 0, 1, !s->w_fixed && next < o->max_iter, want_loss);
  if (rc) return rc;
  s->st->iter = next;
  s->have_loss = want_loss;
  if (want_loss) s->loss = s->acc[s->L.loss];
  return SN_OK;
}

/* Collective. Every column of W fixed and V read from a file: the
 * remaining n_iter H updates of each chunk while it is in memory, then its
 * loss (one read of V instead of one per iteration; frames are independent
 * once W is fixed, so this is the in-memory solve at tol 0), with the stop
 * flag, the test hook and the workspace status agreed in one reduction. */
static int solve_fixed_read(pnmf_run *s, int64_t n_iter) {
  const sn_pnmf_opts *o = s->o;
  sn_timer_begin(&s->run->timer, SN_PH_NMF_H);
  sn_nmf_set_w(s->ws, s->W);
  memset(s->acc, 0, (size_t)s->L.len * sizeof(double));
  int local = pass_chunks(s, 0, 0, 1, n_iter);
  sn_timer_end(&s->run->timer, SN_PH_NMF_H);
  int stop = o->stop && *o->stop;
  if (!local) local = sn_nmf_ws_status(s->ws, &s->run->err);
  if (!local && o->monitor.hook) local = o->monitor.hook(s->run, &o->monitor, s->st->iter + n_iter, 0, &stop, &s->run->err);
  s->acc[s->L.flags] = stop ? 1.0 : 0.0;
  int rc = sn_run_allreduce_sum(s->run, s->acc + s->red0, (size_t)s->red_len, local);
  if (rc) return rc;
  s->st->iter += n_iter;
  s->loss = s->acc[s->L.loss];
  s->have_loss = 1;
  return SN_OK;
}

/* Collective. The opening pass (the first W update's accumulators and the
 * starting loss) and the start of the history. */
static int open_solve(pnmf_run *s, int resumed) {
  sn_pnmf_state *st = s->st;
  sn_timer_begin(&s->run->timer, SN_PH_NMF_H);
  sn_nmf_set_w(s->ws, s->W);
  sn_timer_end(&s->run->timer, SN_PH_NMF_H);
  int rc = pass_reduce(s, st->iter, 1, 0, !s->w_fixed && s->o->max_iter > st->iter, 1);
  if (rc) return rc;
  s->loss = s->acc[s->L.loss];
  s->have_loss = 1;
  if (!resumed) {
    st->err_init = sqrt(2.0 * fmax(s->loss, 0.0));
    st->prev_err = st->err_init;
    hist_push(st, st->iter, s->loss);
  }
  sn_pnmf_progress p = {.event = SN_PNMF_MON_START, .iter = st->iter, .loss = s->loss, .resumed = resumed};
  monitor(s, &p);
  return SN_OK;
}

/* Collective. After a cd stop between checks, the loss of the final W, H. */
static int final_loss(pnmf_run *s) {
  if (s->have_loss) return SN_OK;
  memset(s->acc, 0, (size_t)s->L.len * sizeof(double));
  sn_timer_begin(&s->run->timer, SN_PH_LOSS);
  int local = pass_chunks(s, 0, 0, 1, 0);
  sn_timer_end(&s->run->timer, SN_PH_LOSS);
  int rc = sn_run_allreduce_sum(s->run, s->acc, (size_t)s->L.len, local);
  if (rc) return rc;
  s->loss = s->acc[s->L.loss];
  return SN_OK;
}

static double cpu_now(void) {
  struct timespec c;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c);
  return (double)c.tv_sec + 1e-9 * (double)c.tv_nsec;
}

/* Local. The solver's workspace and accumulators. */
static int solve_alloc(pnmf_run *s, sn_err *e) {
  int rc = sn_nmf_ws_create(&s->o->cfg, &s->ws, e);
  if (rc) return rc;
  s->acc = sn_calloc((size_t)s->L.len * sizeof(double), "nmf accumulators", e);
  if (!s->acc) return SN_ERR_NOMEM;
  const int64_t tile = s->o->cfg.tile > 0 ? s->o->cfg.tile : 1;
  const int64_t want = s->o->read_chunk > 0 ? s->o->read_chunk : SN_PNMF_READ_CHUNK;
  s->chunk = s->V->V ? (s->o->n_local > 0 ? s->o->n_local : 1) : tile * (want / tile > 0 ? want / tile : 1);
  s->vbuf = sn_frames_buffer(s->V, s->chunk, &rc, e);
  return rc;
}

int sn_pnmf_solve(sn_run *run, const sn_pnmf_opts *o, const sn_frames *V, float *W, float *H,
                  sn_pnmf_state *st, int resumed) {
  sn_err *e = &run->err;
  const sn_nmf_cfg *c = &o->cfg;
  pnmf_run s = {.run = run, .o = o, .V = V, .W = W, .H = H, .st = st};
  sn_nmf_layout_of(c, 1, &s.L);
  int rc;
  SN_AGREE(run, solve_alloc(&s, e));
  s.rule = pnmf_rules[c->solver]; /* sn_nmf_ws_create checked the solver */
  /* With every column of W fixed only H is updated: no W sums are formed or
   * reduced, only the loss, the violation and the flags at the tail. */
  s.w_fixed = c->n_fixed == c->R;
  s.red0 = s.w_fixed ? s.L.loss : 0;
  s.red_len = s.L.len - s.red0;
  if (s.w_fixed && !V->V) { /* read from a file: each chunk's updates at once, no stopping rule */
    s.it0 = st->iter;
    s.t_start = sn_wtime();
    const double cpu0 = cpu_now();
    if (st->iter < o->max_iter) {
      rc = solve_fixed_read(&s, o->max_iter - st->iter);
      if (rc) goto cleanup;
      if (s.acc[s.L.flags] > 0) {
        rc = interrupted(&s, st->iter);
        goto cleanup;
      }
    } else {
      rc = final_loss(&s);
      if (rc) goto cleanup;
    }
    st->loss = s.loss;
    hist_push(st, st->iter, s.loss);
    const int64_t n = st->iter - s.it0;
    sn_pnmf_progress p = {.event = SN_PNMF_MON_DONE, .iter = st->iter, .loss = s.loss,
                          .cpu_per_iter = n > 0 ? (cpu_now() - cpu0) / (double)n : 0.0,
                          .s_per_iter = n > 0 ? (sn_wtime() - s.t_start) / (double)n : 0.0};
    monitor(&s, &p);
    goto cleanup;
  }
  rc = open_solve(&s, resumed);
  if (rc) goto cleanup;
  s.it0 = s.it_last = st->iter;
  s.t_start = s.t_last = sn_wtime();
  const double cpu0 = cpu_now();
  for (;;) {
    const int64_t it = st->iter;
    if (it > s.it0 && check_stop(&s, it)) {
      st->converged = 1;
      break;
    }
    if (s.acc[s.L.flags] > 0) {
      rc = interrupted(&s, it);
      goto cleanup;
    }
    if (it >= o->max_iter) break;
    if (o->checkpoint && o->checkpoint_every > 0 && it > s.it0 && it % o->checkpoint_every == 0) {
      rc = sn_pnmf_checkpoint_write(run, o, W, H, st);
      if (rc) goto cleanup;
    }
    rc = iterate(&s, it);
    if (rc) goto cleanup;
  }
  rc = final_loss(&s);
  if (rc) goto cleanup;
  st->loss = s.loss;
  hist_push(st, st->iter, s.loss);
  const int64_t n = st->iter - s.it0;
  sn_pnmf_progress p = {.event = SN_PNMF_MON_DONE, .iter = st->iter, .loss = s.loss, .converged = st->converged,
                        .cpu_per_iter = n > 0 ? (cpu_now() - cpu0) / (double)n : 0.0,
                        .s_per_iter = n > 0 ? (sn_wtime() - s.t_start) / (double)n : 0.0};
  monitor(&s, &p);
cleanup:
  sn_free(s.acc);
  sn_free(s.vbuf);
  sn_nmf_ws_destroy(&s.ws);
  return rc;
}
