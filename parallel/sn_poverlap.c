/* The distributed overlap-add, whole span and block by block (see sn_poverlap.h). */
#include "sn_poverlap.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "sn_comm.h"

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
  int *scount1, *sdispl1, *rcount1, *rdispl1; /* tails -> owners */
  int *scount2, *sdispl2, *rcount2, *rdispl2; /* owners -> frame holders (halo) */
  MPI_Request *req;    /* 2 x size, for the halo's point-to-point messages */
};

int64_t sn_poverlap_own(const sn_spec_params *par, int64_t N, int64_t length, int size, int r) {
  if (r <= 0) return 0;
  if (r >= size) return length;
  int64_t st, nl;
  sn_block_range(N, size, r, &st, &nl);
  int64_t v = st * par->hop - (par->center ? par->n_fft / 2 : 0);
  return v < 0 ? 0 : v > length ? length : v;
}

/* 1 / window sum-square of N frames over n output samples from y0 (0 where the
 * sum is ~0): the one normalisation of every overlap-add. */
static void sn_inv_wss(const sn_stft_plan *plan, const sn_spec_params *par, int64_t N, int64_t y0, int64_t n,
                       float *w) {
  sn_window_sumsquare(plan, N, y0 + (par->center ? par->n_fft / 2 : 0), n, w);
  for (int64_t i = 0; i < n; i++) w[i] = w[i] > FLT_MIN ? 1.0f / w[i] : 0.0f;
}

void sn_poverlap_normalise(const sn_stft_plan *plan, const sn_spec_params *par, int64_t N, int64_t y0, int64_t n,
                           const float *acc, float *wss, float *out) {
  if (n <= 0) return;
  sn_inv_wss(plan, par, N, y0, n, wss);
  for (int64_t i = 0; i < n; i++) out[i] = acc[i] * wss[i];
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
  free(p->scount1), free(p->sdispl1), free(p->rcount1), free(p->rdispl1);
  free(p->scount2), free(p->sdispl2), free(p->rcount2), free(p->rdispl2);
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
  p->a0 = sn_poverlap_own(par, N, length, p->size, p->rank);
  p->a1 = sn_poverlap_own(par, N, length, p->size, p->rank + 1);
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
  p->scount1 = calloc(P, sizeof(int)), p->sdispl1 = calloc(P, sizeof(int));
  p->rcount1 = calloc(P, sizeof(int)), p->rdispl1 = calloc(P, sizeof(int));
  p->scount2 = calloc(P, sizeof(int)), p->sdispl2 = calloc(P, sizeof(int));
  p->rcount2 = calloc(P, sizeof(int)), p->rdispl2 = calloc(P, sizeof(int));
  p->req = calloc(2 * P, sizeof(MPI_Request));
  if (!p->req || !p->acc || !p->sig || !p->inv_wss || !p->scount1 || !p->sdispl1 || !p->rcount1 || !p->rdispl1 || !p->scount2 || !p->sdispl2 ||
      !p->rcount2 || !p->rdispl2)
    rc = SN_FAIL(e, SN_ERR_NOMEM, "overlap-add: out of memory");
  /* Counts of both exchanges; displacements are into the buffer [u0, u1). */
  int64_t rtotal = 0;
  for (int q = 0; rc == SN_OK && q < p->size; q++) {
    int64_t q0 = sn_poverlap_own(par, N, length, p->size, q), q1 = sn_poverlap_own(par, N, length, p->size, q + 1);
    int64_t c0, cl;
    sn_frames_of(p, q, &c0, &cl);
    /* 1: my frames' part of q's samples -> q; q's frames' part of mine <- q */
    int64_t lo = p->b0 > q0 ? p->b0 : q0, hi = p->b0 + p->lenb < q1 ? p->b0 + p->lenb : q1;
    int64_t n = (q != p->rank && hi > lo) ? hi - lo : 0;
    if ((rc = sn_mpi_count(n, "overlap-add halo", &p->scount1[q], e))) break;
    if ((rc = sn_mpi_count(n ? lo - p->u0 : 0, "overlap-add halo", &p->sdispl1[q], e))) break;
    lo = c0 > p->a0 ? c0 : p->a0;
    hi = c0 + cl < p->a1 ? c0 + cl : p->a1;
    n = (q != p->rank && hi > lo) ? hi - lo : 0;
    if ((rc = sn_mpi_count(n, "overlap-add halo", &p->rcount1[q], e))) break;
    if ((rc = sn_mpi_count(rtotal, "overlap-add halo", &p->rdispl1[q], e))) break;
    rtotal += n;
    /* 2: my owned samples that q's frames cover -> q; q's owned that mine cover <- q */
    lo = c0 > p->a0 ? c0 : p->a0;
    hi = c0 + cl < p->a1 ? c0 + cl : p->a1;
    n = (q != p->rank && hi > lo) ? hi - lo : 0;
    if ((rc = sn_mpi_count(n, "signal halo", &p->scount2[q], e))) break;
    if ((rc = sn_mpi_count(n ? lo - p->u0 : 0, "signal halo", &p->sdispl2[q], e))) break;
    lo = p->b0 > q0 ? p->b0 : q0;
    hi = p->b0 + p->lenb < q1 ? p->b0 + p->lenb : q1;
    n = (q != p->rank && hi > lo) ? hi - lo : 0;
    if ((rc = sn_mpi_count(n, "signal halo", &p->rcount2[q], e))) break;
    if ((rc = sn_mpi_count(n ? lo - p->u0 : 0, "signal halo", &p->rdispl2[q], e))) break;
  }

  if (rc == SN_OK) {
    p->rbuf = sn_calloc((size_t)(rtotal > 0 ? rtotal : 1) * sizeof(float), "overlap-add halo", e);
    if (!p->rbuf) rc = SN_ERR_NOMEM;
  }
  if (rc == SN_OK && p->a1 > p->a0) {
    sn_inv_wss(p->plan, par, N, p->a0, p->a1 - p->a0, p->inv_wss);
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
  if (p->size > 1)
    rc = sn_run_alltoallv_floats(run, acc, p->scount1, p->sdispl1, p->rbuf, p->rcount1, p->rdispl1, "overlap-add");
  sn_timer_begin(&run->timer, SN_PH_ISTFT);
  float *own = acc + (p->a0 - p->u0);
  for (int q = 0; rc == SN_OK && q < p->size; q++) {
    if (!p->rcount1[q]) continue;
    int64_t c0, cl;
    sn_frames_of(p, q, &c0, &cl);
    int64_t lo = c0 > p->a0 ? c0 : p->a0;
    const float *r = p->rbuf + p->rdispl1[q];
    float *o = own + (lo - p->a0);
    for (int64_t i = 0; i < p->rcount1[q]; i++) o[i] += r[i];
  }
  const float *w = p->inv_wss;
  for (int64_t i = 0; i < p->a1 - p->a0; i++) own[i] *= w[i];
  /* Outside the owned samples: zero (halo fills what others own). */
  memset(acc, 0, (size_t)(p->a0 - p->u0) * sizeof(float));
  memset(acc + (p->a1 - p->u0), 0, (size_t)(p->u1 - p->a1) * sizeof(float));
  sn_timer_end(&run->timer, SN_PH_ISTFT);
  if (halo && p->size > 1 && rc == SN_OK)
    rc = sn_run_exchange_floats(run, acc, p->scount2, p->sdispl2, p->rcount2, p->rdispl2, p->req, "overlap-add signal");
  p->acc = p->sig;
  p->sig = acc;
  /* a local failure only here, after every exchange: the signal halo's
   * point-to-point messages need every rank */
  if (rc == SN_OK) rc = sn_fault("halo", run->rank, e);
  return sn_agree(run->comm, rc, e);
}

int sn_poverlap_halo(sn_run *run, sn_poverlap *p) {
  int rc = SN_OK;
  if (p->size > 1)
    rc = sn_run_exchange_floats(run, p->sig, p->scount2, p->sdispl2, p->rcount2, p->rdispl2, p->req, "convergence");
  return sn_agree(run->comm, rc, &run->err);
}

const sn_spec_params *sn_poverlap_params(const sn_poverlap *p) { return &p->par; }

int sn_poverlap_istft(sn_run *run, const sn_spec *s, int64_t length, int64_t *y0, int64_t *ny, float **y) {
  sn_err *e = &run->err;
  sn_poverlap *p = NULL;
  *y = NULL;
  int rc = sn_poverlap_create(run, &s->par, s->N, length, &p);
  if (rc) return rc;
  sn_poverlap_owned(p, y0, ny);
  sn_timer_begin(&run->timer, SN_PH_ISTFT);
  rc = sn_poverlap_add(p, 0, s->n_local, s->cplx, e);
  if (rc == SN_OK) rc = sn_fault("istft", run->rank, e);
  sn_timer_end(&run->timer, SN_PH_ISTFT);
  rc = sn_agree(run->comm, rc, e);
  if (rc == SN_OK) rc = sn_poverlap_finish(run, p, 0);
  if (rc == SN_OK) { /* the signal buffer becomes the output: its owned samples moved to its start */
    memmove(p->sig, sn_poverlap_owned_ptr(p), (size_t)*ny * sizeof(float));
    *y = p->sig;
    p->sig = NULL;
  }
  sn_poverlap_destroy(&p);
  return rc;
}

/* ---- block by block ----
 * Geometry, in samples of the unpadded signal (off = n_fft/2 when centred):
 * frame t covers [t*hop - off, t*hop - off + n_fft). Rank r holds frames
 * [S, S + n) and owns the samples [a0, a1) of sn_poverlap_own. Frames before S
 * reach at most C = n_fft - hop samples past S*hop - off: the head [a0, hend)
 * of the owned samples is the only part that other ranks add to; it is held
 * (C floats per signal) until their tails arrive at the end. Every other owned
 * sample is final as soon as this rank's blocks have passed it. */
struct sn_poverlap_blocks {
  sn_spec_params par;
  sn_stft_plan *plan;
  int size, rank;
  int64_t N, length, off, C, B;
  int64_t S, n, my_blocks;  /* this rank's frames and blocks */
  int64_t a0, a1, hend;     /* owned samples, end of the head */
  int64_t wcur;             /* first owned body sample not yet final */
  int64_t accn;             /* B*hop + C: a block's overlap-add buffer */
  float *acc, *wss;         /* accn floats each */
  float *sbuf, *rbuf, *obig; /* the end: tail out, tails in, body rest + head */
  int *cnt;                 /* 4 x size: the tail exchange's counts and displacements */
};

/* Rank q's head: the owned samples [a0, hend) that earlier ranks' frames reach. */
static void sn_head_of(const sn_poverlap_blocks *g, int q, int64_t *a0, int64_t *hend) {
  int64_t S, n;
  sn_block_range(g->N, g->size, q, &S, &n);
  *a0 = sn_poverlap_own(&g->par, g->N, g->length, g->size, q);
  int64_t a1 = sn_poverlap_own(&g->par, g->N, g->length, g->size, q + 1), h = S * g->par.hop - g->off + g->C;
  *hend = S == 0 ? *a0 : h < *a0 ? *a0 : h > a1 ? a1 : h;
}

/* Rank q's final tail: samples [x_end, x_end + C) past its last frame's hop
 * (empty when q has no frames). */
static void sn_tail_of(const sn_poverlap_blocks *g, int q, int64_t *x, int64_t *len) {
  int64_t S, n;
  sn_block_range(g->N, g->size, q, &S, &n);
  *x = (S + n) * g->par.hop - g->off;
  *len = n > 0 ? g->C : 0;
}

void sn_poverlap_blocks_destroy(sn_poverlap_blocks **pb) {
  if (!pb || !*pb) return;
  sn_poverlap_blocks *g = *pb;
  sn_free(g->acc), sn_free(g->wss), sn_free(g->sbuf), sn_free(g->rbuf), sn_free(g->obig);
  free(g->cnt);
  free(g);
  *pb = NULL;
}

int sn_poverlap_blocks_create(sn_run *run, const sn_spec_params *par, sn_stft_plan *plan, int64_t N,
                              int64_t length, int64_t block, sn_poverlap_blocks **pb) {
  sn_err *e = &run->err;
  sn_poverlap_blocks *g = calloc(1, sizeof *g);
  *pb = NULL;
  if (g) {
    g->par = *par;
    g->plan = plan;
    g->size = run->size, g->rank = run->rank;
    g->N = N, g->length = length, g->B = block;
    g->off = par->center ? par->n_fft / 2 : 0;
    g->C = par->n_fft > par->hop ? par->n_fft - par->hop : 0;
    sn_block_range(N, run->size, run->rank, &g->S, &g->n);
    g->my_blocks = (g->n + block - 1) / block;
    sn_head_of(g, run->rank, &g->a0, &g->hend);
    g->a1 = sn_poverlap_own(par, N, length, run->size, run->rank + 1);
    g->wcur = g->hend;
    g->accn = block * par->hop + g->C;
    g->acc = sn_calloc((size_t)g->accn * sizeof(float), "stream overlap-add", e);
    g->wss = sn_calloc((size_t)g->accn * sizeof(float), "stream window sum-square", e);
    g->cnt = calloc(4 * (size_t)run->size, sizeof(int));
  }
  int rc = (g && g->acc && g->wss && g->cnt) ? SN_OK : SN_FAIL(e, SN_ERR_NOMEM, "overlap-add: out of memory");
  rc = sn_agree(run->comm, rc, e);
  if (rc) sn_poverlap_blocks_destroy(&g);
  *pb = g;
  return rc;
}

int64_t sn_poverlap_blocks_carry(const sn_poverlap_blocks *pb) { return pb->C; }

int64_t sn_poverlap_blocks_count(const sn_poverlap_blocks *pb) { return pb->my_blocks; }

void sn_poverlap_blocks_frames(const sn_poverlap_blocks *pb, int64_t b, int64_t *t0, int64_t *nb) {
  *t0 = pb->S + b * pb->B;
  *nb = b < pb->my_blocks ? (pb->n - b * pb->B < pb->B ? pb->n - b * pb->B : pb->B) : 0;
}

void sn_poverlap_blocks_final(const sn_poverlap_blocks *pb, int64_t b, int64_t *lo, int64_t *hi) {
  int64_t t0, nb;
  sn_poverlap_blocks_frames(pb, b, &t0, &nb);
  const int64_t x0 = t0 * pb->par.hop - pb->off, xe = x0 + nb * pb->par.hop;
  *lo = nb ? (x0 > pb->wcur ? x0 : pb->wcur) : 0;
  *hi = nb ? (xe < pb->a1 ? xe : pb->a1) : 0;
}

void sn_poverlap_blocks_pass(sn_poverlap_blocks *pb, int64_t b) {
  int64_t lo, hi;
  sn_poverlap_blocks_final(pb, b, &lo, &hi);
  if (hi > lo) pb->wcur = hi;
}

int sn_poverlap_blocks_add(sn_poverlap_blocks *pb, int64_t b, const float *Y, float *carry, float *head, float *out,
                           sn_err *e) {
  int64_t t0, nb, lo, hi;
  sn_poverlap_blocks_frames(pb, b, &t0, &nb);
  if (nb == 0) return SN_OK;
  sn_poverlap_blocks_final(pb, b, &lo, &hi);
  const int64_t hop = pb->par.hop, C = pb->C, x0 = t0 * hop - pb->off;
  const int F = pb->par.n_fft / 2 + 1;
  float *acc = pb->acc;
  memset(acc, 0, (size_t)pb->accn * sizeof(float));
  memcpy(acc, carry, (size_t)C * sizeof(float));
  int rc = sn_istft_exec(pb->plan, Y, F, nb, acc, e);
  /* finished here: [x0, x0 + nb*hop); the head is held, the body normalised */
  for (int64_t i = (pb->a0 > x0 ? pb->a0 : x0); rc == SN_OK && i < pb->hend && i < x0 + nb * hop; i++)
    head[i - pb->a0] = acc[i - x0];
  if (rc == SN_OK) sn_poverlap_normalise(pb->plan, &pb->par, pb->N, lo, hi - lo, acc + (lo - x0), pb->wss, out);
  memcpy(carry, acc + nb * hop, (size_t)C * sizeof(float));
  return rc;
}

int sn_poverlap_blocks_end_prepare(sn_run *run, sn_poverlap_blocks *pb) {
  const int64_t C = pb->C, nr = pb->a1 > pb->wcur ? pb->a1 - pb->wcur : 0;
  int64_t xe, tl, rtot = 0;
  sn_tail_of(pb, pb->rank, &xe, &tl);
  pb->sbuf = sn_calloc((size_t)(C > 0 ? C : 1) * sizeof(float), "stream tails", &run->err);
  pb->rbuf = sn_calloc((size_t)(C > 0 ? C : 1) * (size_t)pb->size * sizeof(float), "stream tails", &run->err);
  pb->obig = sn_calloc((size_t)(nr + (pb->hend - pb->a0) + 1) * sizeof(float), "stream end", &run->err);
  int rc = (pb->sbuf && pb->rbuf && pb->obig) ? SN_OK : SN_ERR_NOMEM;
  int *scount = pb->cnt, *sdispl = pb->cnt + pb->size, *rcount = pb->cnt + 2 * pb->size;
  int *rdispl = pb->cnt + 3 * pb->size;
  for (int q = 0; rc == SN_OK && q < pb->size; q++) {
    int64_t qa0, qh, qx, ql;
    sn_head_of(pb, q, &qa0, &qh);
    int64_t l = xe > qa0 ? xe : qa0, h = xe + tl < qh ? xe + tl : qh;
    scount[q] = q != pb->rank && h > l ? (int)(h - l) : 0;
    sdispl[q] = scount[q] ? (int)(l - xe) : 0;
    sn_tail_of(pb, q, &qx, &ql);
    l = qx > pb->a0 ? qx : pb->a0, h = qx + ql < pb->hend ? qx + ql : pb->hend;
    rcount[q] = q != pb->rank && h > l ? (int)(h - l) : 0;
    rdispl[q] = (int)rtot;
    rtot += rcount[q];
  }
  return sn_agree(run->comm, rc, &run->err);
}

int sn_poverlap_blocks_end(sn_run *run, sn_poverlap_blocks *pb, const float *carry, float *head, const float **body,
                           int64_t *yb, int64_t *nbody, const float **headout, int64_t *yh, int64_t *nhead) {
  const int64_t C = pb->C, a0 = pb->a0, hend = pb->hend, wcur = pb->wcur;
  const int64_t nr = pb->a1 > wcur ? pb->a1 - wcur : 0, hlen = hend - a0;
  int64_t xe, tl;
  sn_tail_of(pb, pb->rank, &xe, &tl);
  int *scount = pb->cnt, *sdispl = pb->cnt + pb->size, *rcount = pb->cnt + 2 * pb->size;
  int *rdispl = pb->cnt + 3 * pb->size;
  /* body rest [wcur, a1): this rank's own tail where it reaches, else 0 */
  float *ob = pb->obig, *oh = pb->obig + nr;
  for (int64_t i = 0; i < nr; i++) {
    int64_t y = wcur + i;
    ob[i] = (y >= xe && y < xe + tl) ? carry[y - xe] : 0.0f;
  }
  for (int64_t i = 0; i < C; i++) pb->sbuf[i] = carry[i];
  int rc = sn_run_alltoallv_floats(run, pb->sbuf, scount, sdispl, pb->rbuf, rcount, rdispl, "separate: tail");
  rc = sn_agree(run->comm, rc, &run->err);
  if (rc) return rc;
  for (int q = 0; q < pb->size; q++) {
    int64_t qx, ql;
    sn_tail_of(pb, q, &qx, &ql);
    int64_t l = qx > a0 ? qx : a0;
    for (int i = 0; i < rcount[q]; i++) head[l - a0 + i] += pb->rbuf[rdispl[q] + i];
  }
  /* this rank's own tail where it reaches its head (a rank of few frames) */
  for (int64_t y = (xe > a0 ? xe : a0); y < xe + tl && y < hend; y++) head[y - a0] += carry[y - xe];
  sn_timer_begin(&run->timer, SN_PH_ISTFT);
  for (int64_t i0 = 0; i0 < nr; i0 += pb->accn) { /* in pieces of the wss buffer */
    int64_t m = nr - i0 < pb->accn ? nr - i0 : pb->accn;
    sn_poverlap_normalise(pb->plan, &pb->par, pb->N, wcur + i0, m, ob + i0, pb->wss, ob + i0);
  }
  sn_poverlap_normalise(pb->plan, &pb->par, pb->N, a0, hlen, head, pb->wss, oh);
  sn_timer_end(&run->timer, SN_PH_ISTFT);
  *body = ob, *yb = nr ? wcur : 0, *nbody = nr;
  *headout = oh, *yh = hlen ? a0 : 0, *nhead = hlen;
  return SN_OK;
}
