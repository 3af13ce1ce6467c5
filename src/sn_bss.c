/* BSS Eval v3 and SI-SDR from sums over time (see sn_bss.h). */
#include "sn_bss.h"

#include <fftw3.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include SN_BLAS_HEADER

/* LAPACK (Fortran) with hidden string-length arguments. */
extern void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info, size_t);
extern void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
                    double *work, const int *lwork, int *iwork, const int *liwork, int *info, size_t, size_t);

void sn_bss_layout_init(sn_bss_layout *l, int n_ref, int n_est, int flen) {
  l->n_ref = n_ref;
  l->n_est = n_est;
  l->flen = flen;
  size_t npair = (size_t)n_ref * (size_t)(n_ref + 1) / 2;
  l->r_off = 0;
  l->d_off = npair * (size_t)(2 * flen - 1);
  l->ee_off = l->d_off + (size_t)n_ref * (size_t)n_est * (size_t)flen;
  l->len = l->ee_off + (size_t)n_est * (size_t)n_est;
}

/* ---- correlator ---------------------------------------------------------------- */

struct sn_bss_corr {
  sn_bss_layout l;
  int nfft, nbin;
  int64_t seg;
  int npair;        /* reference pairs i <= j, then (reference, estimate) pairs */
  double *in;       /* nfft real samples */
  double **X;       /* n_ref spectra of the extended segments (nbin complex) */
  double **Y;       /* n_ref + n_est spectra of the plain segments */
  double **acc;     /* npair accumulated cross spectra X_i conj(Y_j) */
  double *plain;    /* n_est x seg estimate samples (for EE) */
  double *ee;       /* n_est x n_est (upper triangle) */
  double *cbuf, *rbuf;
  fftw_plan fwd, inv;
};

int sn_bss_corr_create(const sn_bss_layout *l, sn_bss_corr **out, sn_err *e) {
  *out = NULL;
  sn_bss_corr *c = sn_calloc(sizeof *c, "score: correlator", e);
  if (!c) return SN_ERR_NOMEM;
  c->l = *l;
  int h = 2 * (l->flen - 1);
  int nfft = 16;
  while (nfft < 8 * h) nfft *= 2;
  c->nfft = nfft;
  c->nbin = nfft / 2 + 1;
  c->seg = nfft - h;
  int nr = l->n_ref, ns = l->n_ref + l->n_est;
  c->npair = nr * (nr + 1) / 2 + nr * l->n_est;
  size_t cb = (size_t)c->nbin * 2 * sizeof(double);
  int ok = 1;
  c->in = sn_calloc((size_t)nfft * sizeof(double), "score: FFT input", e);
  c->rbuf = sn_calloc((size_t)nfft * sizeof(double), "score: FFT output", e);
  c->cbuf = sn_calloc(cb, "score: spectrum", e);
  c->X = sn_calloc((size_t)nr * sizeof(double *), "score: spectra", e);
  c->Y = sn_calloc((size_t)ns * sizeof(double *), "score: spectra", e);
  c->acc = sn_calloc((size_t)c->npair * sizeof(double *), "score: cross spectra", e);
  c->plain = sn_calloc((size_t)l->n_est * (size_t)c->seg * sizeof(double), "score: estimate samples", e);
  c->ee = sn_calloc((size_t)l->n_est * (size_t)l->n_est * sizeof(double), "score: inner products", e);
  if (!c->in || !c->rbuf || !c->cbuf || !c->X || !c->Y || !c->acc || !c->plain || !c->ee) ok = 0;
  for (int q = 0; ok && q < nr; q++) ok = (c->X[q] = sn_calloc(cb, "score: spectrum", e)) != NULL;
  for (int q = 0; ok && q < ns; q++) ok = (c->Y[q] = sn_calloc(cb, "score: spectrum", e)) != NULL;
  for (int p = 0; ok && p < c->npair; p++) ok = (c->acc[p] = sn_calloc(cb, "score: cross spectrum", e)) != NULL;
  if (!ok) {
    sn_bss_corr_destroy(&c);
    return SN_ERR_NOMEM;
  }
  /* Every spectrum is a separate 64-byte aligned block, as the one planned. */
  c->fwd = fftw_plan_dft_r2c_1d(nfft, c->in, (fftw_complex *)c->cbuf, FFTW_ESTIMATE);
  c->inv = fftw_plan_dft_c2r_1d(nfft, (fftw_complex *)c->cbuf, c->rbuf, FFTW_ESTIMATE);
  if (!c->fwd || !c->inv) {
    sn_bss_corr_destroy(&c);
    return SN_FAIL(e, SN_ERR_INTERNAL, "score: FFTW could not plan a real FFT of size %d", nfft);
  }
  *out = c;
  return SN_OK;
}

int64_t sn_bss_corr_seg(const sn_bss_corr *c) { return c->seg; }

/* Spectrum of x[0..n) zero-padded to nfft into out. */
static void corr_fft(sn_bss_corr *c, const float *x, int64_t n, double *out) {
  for (int64_t t = 0; t < n; t++) c->in[t] = x[t];
  memset(c->in + n, 0, (size_t)(c->nfft - n) * sizeof(double));
  fftw_execute_dft_r2c(c->fwd, c->in, (fftw_complex *)out);
}

/* acc += x conj(y) over nbin complex values. */
static void cross_acc(double *restrict acc, const double *restrict x, const double *restrict y, int nbin) {
  for (int f = 0; f < nbin; f++) {
    double xr = x[2 * f], xi = x[2 * f + 1], yr = y[2 * f], yi = y[2 * f + 1];
    acc[2 * f] += xr * yr + xi * yi;
    acc[2 * f + 1] += xi * yr - xr * yi;
  }
}

void sn_bss_corr_add(sn_bss_corr *c, const float *const *x, int64_t len) {
  const sn_bss_layout *l = &c->l;
  int nr = l->n_ref, m = l->n_est, h = l->flen - 1;
  for (int i = 0; i < nr; i++) {
    corr_fft(c, x[i], len + 2 * h, c->X[i]);
    corr_fft(c, x[i] + h, len, c->Y[i]);
  }
  for (int k = 0; k < m; k++) {
    const float *p = x[nr + k] + h;
    double *d = c->plain + (size_t)k * c->seg;
    for (int64_t t = 0; t < len; t++) d[t] = p[t];
    memcpy(c->in, d, (size_t)len * sizeof(double));
    memset(c->in + len, 0, (size_t)(c->nfft - len) * sizeof(double));
    fftw_execute_dft_r2c(c->fwd, c->in, (fftw_complex *)c->Y[nr + k]);
  }
  int p = 0;
  for (int i = 0; i < nr; i++)
    for (int j = i; j < nr; j++) cross_acc(c->acc[p++], c->X[i], c->Y[j], c->nbin);
  for (int i = 0; i < nr; i++)
    for (int k = 0; k < m; k++) cross_acc(c->acc[p++], c->X[i], c->Y[nr + k], c->nbin);
  for (int k = 0; k < m; k++)
    for (int q = k; q < m; q++) {
      const double *a = c->plain + (size_t)k * c->seg, *b = c->plain + (size_t)q * c->seg;
      double s = 0;
      for (int64_t t = 0; t < len; t++) s += a[t] * b[t];
      c->ee[k * m + q] += s;
    }
}

/* Circular correlation of accumulated pair p into rbuf (scaled by 1/nfft). */
static const double *corr_lags(sn_bss_corr *c, int p) {
  memcpy(c->cbuf, c->acc[p], (size_t)c->nbin * 2 * sizeof(double));
  fftw_execute(c->inv);
  double s = 1.0 / c->nfft;
  for (int t = 0; t < 2 * c->l.flen - 1; t++) c->rbuf[t] *= s;
  memset(c->acc[p], 0, (size_t)c->nbin * 2 * sizeof(double));
  return c->rbuf;
}

void sn_bss_corr_finish(sn_bss_corr *c, double *sums) {
  const sn_bss_layout *l = &c->l;
  int nr = l->n_ref, m = l->n_est, L = l->flen, nl = 2 * L - 1;
  int p = 0;
  /* The lag index k' of the circular result is k + flen - 1: the extended
   * segment starts flen - 1 samples before the plain one. */
  for (int i = 0; i < nr; i++)
    for (int j = i; j < nr; j++, p++) {
      const double *r = corr_lags(c, p);
      double *R = sums + l->r_off + (size_t)sn_bss_pair(nr, i, j) * nl;
      for (int t = 0; t < nl; t++) R[t] += r[t];
    }
  for (int i = 0; i < nr; i++)
    for (int k = 0; k < m; k++, p++) {
      const double *r = corr_lags(c, p);
      double *D = sums + l->d_off + ((size_t)i * m + k) * L;
      for (int a = 0; a < L; a++) D[a] += r[L - 1 - a];
    }
  for (int k = 0; k < m; k++)
    for (int q = k; q < m; q++) {
      sums[l->ee_off + (size_t)k * m + q] += c->ee[k * m + q];
      if (q != k) sums[l->ee_off + (size_t)q * m + k] += c->ee[k * m + q];
      c->ee[k * m + q] = 0;
    }
}

void sn_bss_corr_destroy(sn_bss_corr **cp) {
  sn_bss_corr *c = *cp;
  if (!c) return;
  if (c->fwd) fftw_destroy_plan(c->fwd);
  if (c->inv) fftw_destroy_plan(c->inv);
  for (int q = 0; c->X && q < c->l.n_ref; q++) sn_free(c->X[q]);
  for (int q = 0; c->Y && q < c->l.n_ref + c->l.n_est; q++) sn_free(c->Y[q]);
  for (int p = 0; c->acc && p < c->npair; p++) sn_free(c->acc[p]);
  sn_free(c->X);
  sn_free(c->Y);
  sn_free(c->acc);
  sn_free(c->in);
  sn_free(c->rbuf);
  sn_free(c->cbuf);
  sn_free(c->plain);
  sn_free(c->ee);
  sn_free(c);
  *cp = NULL;
}

/* ---- projections ------------------------------------------------------------------ */

/* sum_t s_i[t + k] s_j[t] for any i, j and |k| < flen. */
static double corr_ref(const sn_bss_layout *l, const double *sums, int i, int j, int k) {
  int nl = 2 * l->flen - 1;
  if (i <= j) return sums[l->r_off + (size_t)sn_bss_pair(l->n_ref, i, j) * nl + k + l->flen - 1];
  return sums[l->r_off + (size_t)sn_bss_pair(l->n_ref, j, i) * nl - k + l->flen - 1];
}

/* The Gram matrix of the shifted references (dim x dim, column-major):
 * G[(bi, a), (bj, b)] = <s_ri delayed a, s_rj delayed b> = c_{ri rj}[b - a]. */
static void fill_gram(const sn_bss_layout *l, const double *sums, int j, int nb, double *G) {
  int L = l->flen;
  size_t dim = (size_t)nb * L;
  for (int bj = 0; bj < nb; bj++)
    for (int bi = 0; bi < nb; bi++) {
      int ri = j < 0 ? bi : j, rj = j < 0 ? bj : j;
      for (int b = 0; b < L; b++) {
        double *col = G + ((size_t)bj * L + b) * dim + (size_t)bi * L;
        for (int a = 0; a < L; a++) col[a] = corr_ref(l, sums, ri, rj, b - a);
      }
    }
}

/* Q = W^T W (m x m, full) for W (dim x m, column-major). */
static void gram_of(int dim, int m, const double *W, double *Q) {
  cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, m, dim, 1.0, W, dim, 0.0, Q, m);
  for (int k = 0; k < m; k++)
    for (int q = k + 1; q < m; q++) Q[(size_t)k * m + q] = Q[(size_t)q * m + k];
}

int sn_bss_project(const sn_bss_layout *l, const double *sums, int j, double *Q, int *pinv, sn_err *e) {
  int nb = j < 0 ? l->n_ref : 1, m = l->n_est, L = l->flen;
  int dim = nb * L;
  *pinv = 0;
  double *G = sn_calloc((size_t)dim * dim * sizeof(double), "score: Gram matrix", e);
  double *B = sn_calloc((size_t)dim * m * sizeof(double), "score: correlations", e);
  double *W = NULL, *w = NULL, *work = NULL;
  int *iwork = NULL;
  int rc = SN_OK, info = 0;
  if (!G || !B) {
    rc = SN_ERR_NOMEM;
    goto cleanup;
  }
  for (int bi = 0; bi < nb; bi++) {
    int ri = j < 0 ? bi : j;
    for (int k = 0; k < m; k++)
      memcpy(B + (size_t)k * dim + (size_t)bi * L, sums + l->d_off + ((size_t)ri * m + k) * L,
             (size_t)L * sizeof(double));
  }
  fill_gram(l, sums, j, nb, G);
  dpotrf_("L", &dim, G, &dim, &info, 1);
  if (info == 0) {
    cblas_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, dim, m, 1.0, G, dim, B, dim);
    gram_of(dim, m, B, Q);
    goto cleanup;
  }
  /* Not positive definite: pseudo-inverse by eigenvalues, G = V diag(w) V^T,
   * Q = (diag(w)^-1/2 V^T B)^T (...) over the eigenvalues kept. */
  *pinv = 1;
  fill_gram(l, sums, j, nb, G);
  w = sn_calloc((size_t)dim * sizeof(double), "score: eigenvalues", e);
  W = sn_calloc((size_t)dim * m * sizeof(double), "score: projections", e);
  if (!w || !W) {
    rc = SN_ERR_NOMEM;
    goto cleanup;
  }
  int lwork = -1, liwork = -1, iw = 0;
  double wq = 0;
  dsyevd_("V", "L", &dim, G, &dim, w, &wq, &lwork, &iw, &liwork, &info, 1, 1);
  lwork = (int)wq + 1;
  liwork = iw + 1;
  work = sn_calloc((size_t)lwork * sizeof(double), "score: eigensolver workspace", e);
  iwork = sn_calloc((size_t)liwork * sizeof(int), "score: eigensolver workspace", e);
  if (!work || !iwork) {
    rc = SN_ERR_NOMEM;
    goto cleanup;
  }
  dsyevd_("V", "L", &dim, G, &dim, w, work, &lwork, iwork, &liwork, &info, 1, 1);
  if (info != 0) {
    rc = SN_FAIL(e, SN_ERR_NUMERIC, "score: the eigensolver failed on the Gram matrix of the references (info %d)", info);
    goto cleanup;
  }
  cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, dim, m, dim, 1.0, G, dim, B, dim, 0.0, W, dim);
  double wmax = w[dim - 1];
  for (int r = 0; r < dim; r++) {
    double s = (wmax > 0 && w[r] > DBL_EPSILON * wmax) ? 1.0 / sqrt(w[r]) : 0.0;
    for (int k = 0; k < m; k++) W[(size_t)k * dim + r] *= s;
  }
  gram_of(dim, m, W, Q);
cleanup:
  sn_free(G);
  sn_free(B);
  sn_free(W);
  sn_free(w);
  sn_free(work);
  sn_free(iwork);
  return rc;
}

/* ---- metrics -------------------------------------------------------------------- */

/* 10 log10(num / den), both floored at the rounding of energies of size scale. */
static double sat_db(double num, double den, double scale) {
  double floor = DBL_EPSILON * scale;
  if (!(floor > DBL_MIN)) floor = DBL_MIN;
  if (!(num > floor)) num = floor;
  if (!(den > floor)) den = floor;
  return 10.0 * log10(num / den);
}

static double block_sum(const double *M, int m, const int *mem, int n) {
  double s = 0;
  for (int a = 0; a < n; a++)
    for (int b = 0; b < n; b++) s += M[(size_t)mem[a] * m + mem[b]];
  return s;
}

void sn_bss_eval(const sn_bss_layout *l, const sn_bss_chan *ch, int n_ch, const int *mem, int n_mem, int j,
                 sn_bss_metrics *out) {
  int m = l->n_est, nr = l->n_ref, L = l->flen;
  size_t mm = (size_t)m * m;
  sn_bss_metrics acc = {0, 0, 0, 0};
  for (int c = 0; c < n_ch; c++) {
    const double *s = ch[c].sums;
    double ee = block_sum(s + l->ee_off, m, mem, n_mem);
    double s1 = block_sum(ch[c].Q + (size_t)j * mm, m, mem, n_mem);
    double sa = block_sum(ch[c].Q + (size_t)nr * mm, m, mem, n_mem);
    double a = 0;
    for (int q = 0; q < n_mem; q++) a += s[l->d_off + ((size_t)j * m + mem[q]) * L];
    double ss = corr_ref(l, s, j, j, 0);
    acc.sdr += sat_db(s1, ee - s1, ee);
    acc.sir += sat_db(s1, sa - s1, sa);
    acc.sar += sat_db(sa, ee - sa, ee);
    acc.si_sdr += sat_db(a * a, ss * ee - a * a, ss * ee);
  }
  out->sdr = acc.sdr / n_ch;
  out->sir = acc.sir / n_ch;
  out->sar = acc.sar / n_ch;
  out->si_sdr = acc.si_sdr / n_ch;
}

/* Mean over channels of the SDR of the sum of mem against reference j. */
static double group_sdr(const sn_bss_layout *l, const sn_bss_chan *ch, int n_ch, const int *mem, int n_mem, int j) {
  int m = l->n_est;
  size_t mm = (size_t)m * m;
  double acc = 0;
  for (int c = 0; c < n_ch; c++) {
    double ee = block_sum(ch[c].sums + l->ee_off, m, mem, n_mem);
    double s1 = block_sum(ch[c].Q + (size_t)j * mm, m, mem, n_mem);
    acc += sat_db(s1, ee - s1, ee);
  }
  return acc / n_ch;
}

/* ---- assignments -------------------------------------------------------------------- */

/* Hungarian algorithm (shortest augmenting paths with potentials), n rows <=
 * m columns: col_of[i] = the column of row i minimising the total cost
 * cost[i * m + col]. */
static int hungarian(int n, int m, const double *cost, int *col_of, sn_err *e) {
  double *u = sn_calloc((size_t)(n + 1) * sizeof(double), "score: assignment", e);
  double *v = sn_calloc((size_t)(m + 1) * sizeof(double), "score: assignment", e);
  double *minv = sn_calloc((size_t)(m + 1) * sizeof(double), "score: assignment", e);
  int *p = sn_calloc((size_t)(m + 1) * sizeof(int), "score: assignment", e);
  int *way = sn_calloc((size_t)(m + 1) * sizeof(int), "score: assignment", e);
  char *used = sn_calloc((size_t)(m + 1), "score: assignment", e);
  int rc = (u && v && minv && p && way && used) ? SN_OK : SN_ERR_NOMEM;
  for (int i = 1; rc == SN_OK && i <= n; i++) {
    p[0] = i;
    int j0 = 0;
    for (int j = 0; j <= m; j++) {
      minv[j] = HUGE_VAL;
      used[j] = 0;
    }
    do {
      used[j0] = 1;
      int i0 = p[j0], j1 = 0;
      double delta = HUGE_VAL;
      for (int j = 1; j <= m; j++)
        if (!used[j]) {
          double cur = cost[(size_t)(i0 - 1) * m + (j - 1)] - u[i0] - v[j];
          if (cur < minv[j]) {
            minv[j] = cur;
            way[j] = j0;
          }
          if (minv[j] < delta) {
            delta = minv[j];
            j1 = j;
          }
        }
      for (int j = 0; j <= m; j++) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] != 0);
    do {
      int j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0);
  }
  if (rc == SN_OK)
    for (int j = 1; j <= m; j++)
      if (p[j]) col_of[p[j] - 1] = j - 1;
  sn_free(u);
  sn_free(v);
  sn_free(minv);
  sn_free(p);
  sn_free(way);
  sn_free(used);
  return rc;
}

/* Next permutation in lexicographic order; 0 after the last. */
static int next_perm(int *a, int n) {
  int i = n - 2;
  while (i >= 0 && a[i] >= a[i + 1]) i--;
  if (i < 0) return 0;
  int j = n - 1;
  while (a[j] <= a[i]) j--;
  int t = a[i];
  a[i] = a[j];
  a[j] = t;
  for (int x = i + 1, y = n - 1; x < y; x++, y--) {
    t = a[x];
    a[x] = a[y];
    a[y] = t;
  }
  return 1;
}

int sn_bss_permutation(const sn_bss_layout *l, const sn_bss_chan *ch, int n_ch, int by_sdr, int *est_of,
                       sn_err *e) {
  int n = l->n_ref;
  double *S = sn_calloc((size_t)n * n * sizeof(double), "score: pair metrics", e); /* S[j * n + k] */
  int *p = sn_calloc((size_t)n * sizeof(int), "score: permutation", e);
  int rc = (S && p) ? SN_OK : SN_ERR_NOMEM;
  if (rc == SN_OK) {
    for (int j = 0; j < n; j++)
      for (int k = 0; k < n; k++) {
        sn_bss_metrics mt;
        sn_bss_eval(l, ch, n_ch, &k, 1, j, &mt);
        S[(size_t)j * n + k] = by_sdr ? mt.sdr : mt.sir;
      }
    if (n <= SN_BSS_PERM_EXHAUSTIVE) {
      for (int j = 0; j < n; j++) p[j] = est_of[j] = j;
      double best = -HUGE_VAL;
      do {
        double s = 0;
        for (int j = 0; j < n; j++) s += S[(size_t)j * n + p[j]];
        if (s > best) {
          best = s;
          memcpy(est_of, p, (size_t)n * sizeof(int));
        }
      } while (next_perm(p, n));
    } else {
      for (size_t q = 0; q < (size_t)n * n; q++) S[q] = -S[q];
      rc = hungarian(n, n, S, est_of, e);
    }
  }
  sn_free(S);
  sn_free(p);
  return rc;
}

/* Members of group j under group[] into mem; returns their count. */
static int members(const int *group, int m, int j, int *mem) {
  int n = 0;
  for (int k = 0; k < m; k++)
    if (group[k] == j) mem[n++] = k;
  return n;
}

/* Mean SDR of reference j's group under group[] (mem: scratch of m). */
static double group_score(const sn_bss_layout *l, const sn_bss_chan *ch, int n_ch, const int *group, int j,
                          int *mem) {
  int n = members(group, l->n_est, j, mem);
  return n ? group_sdr(l, ch, n_ch, mem, n, j) : -HUGE_VAL;
}

static int grouping_exhaustive(const sn_bss_layout *l, const sn_bss_chan *ch, int n_ch, int *group, sn_err *e) {
  int n = l->n_ref, m = l->n_est;
  int *g = sn_calloc((size_t)m * sizeof(int), "score: grouping", e);
  int *cnt = sn_calloc((size_t)n * sizeof(int), "score: grouping", e);
  int *mem = sn_calloc((size_t)m * sizeof(int), "score: grouping", e);
  int rc = (g && cnt && mem) ? SN_OK : SN_ERR_NOMEM;
  double best = -HUGE_VAL;
  while (rc == SN_OK) {
    memset(cnt, 0, (size_t)n * sizeof(int));
    for (int k = 0; k < m; k++) cnt[g[k]]++;
    int onto = 1;
    for (int j = 0; j < n; j++) onto &= cnt[j] > 0;
    if (onto) {
      double s = 0;
      for (int j = 0; j < n; j++) s += group_score(l, ch, n_ch, g, j, mem);
      if (s > best) {
        best = s;
        memcpy(group, g, (size_t)m * sizeof(int));
      }
    }
    int k = 0; /* the next map, estimate 0 the fastest digit */
    while (k < m && ++g[k] == n) g[k++] = 0;
    if (k == m) break;
  }
  sn_free(g);
  sn_free(cnt);
  sn_free(mem);
  return rc;
}

static int grouping_greedy(const sn_bss_layout *l, const sn_bss_chan *ch, int n_ch, int *group, sn_err *e) {
  int n = l->n_ref, m = l->n_est;
  double *cost = sn_calloc((size_t)n * m * sizeof(double), "score: grouping", e);
  int *col = sn_calloc((size_t)n * sizeof(int), "score: grouping", e);
  int *mem = sn_calloc((size_t)m * sizeof(int), "score: grouping", e);
  double *cur = sn_calloc((size_t)n * sizeof(double), "score: grouping", e);
  int rc = (cost && col && mem && cur) ? SN_OK : SN_ERR_NOMEM;
  if (rc) goto cleanup;
  /* One estimate per reference: the best pairing by single-pair SDR. */
  for (int j = 0; j < n; j++)
    for (int k = 0; k < m; k++) cost[(size_t)j * m + k] = -group_sdr(l, ch, n_ch, &k, 1, j);
  SN_CHECK(hungarian(n, m, cost, col, e));
  for (int k = 0; k < m; k++) group[k] = -1;
  for (int j = 0; j < n; j++) group[col[j]] = j;
  for (int j = 0; j < n; j++) cur[j] = group_score(l, ch, n_ch, group, j, mem);
  /* The others, in order, where the mean SDR gains most. */
  for (int k = 0; k < m; k++) {
    if (group[k] >= 0) continue;
    int bj = 0;
    double bgain = -HUGE_VAL, bval = 0;
    for (int j = 0; j < n; j++) {
      group[k] = j;
      double v = group_score(l, ch, n_ch, group, j, mem);
      if (v - cur[j] > bgain) {
        bgain = v - cur[j];
        bj = j;
        bval = v;
      }
    }
    group[k] = bj;
    cur[bj] = bval;
  }
  /* Local search: the best single move or swap, while one improves. */
  for (int it = 0; it < 10000; it++) {
    double bgain = 1e-9;
    int bk = -1, bl = -1, bj = -1;
    for (int k = 0; k < m; k++) {
      int a = group[k];
      int na = 0;
      for (int q = 0; q < m; q++) na += group[q] == a;
      for (int j = 0; j < n && na > 1; j++) {
        if (j == a) continue;
        group[k] = j;
        double g = group_score(l, ch, n_ch, group, a, mem) + group_score(l, ch, n_ch, group, j, mem) - cur[a] - cur[j];
        group[k] = a;
        if (g > bgain) {
          bgain = g;
          bk = k;
          bj = j;
          bl = -1;
        }
      }
      for (int q = k + 1; q < m; q++) {
        int b = group[q];
        if (b == a) continue;
        group[k] = b;
        group[q] = a;
        double g = group_score(l, ch, n_ch, group, a, mem) + group_score(l, ch, n_ch, group, b, mem) - cur[a] - cur[b];
        group[k] = a;
        group[q] = b;
        if (g > bgain) {
          bgain = g;
          bk = k;
          bl = q;
          bj = -1;
        }
      }
    }
    if (bk < 0) break;
    int a = group[bk];
    if (bl < 0) {
      group[bk] = bj;
      cur[a] = group_score(l, ch, n_ch, group, a, mem);
      cur[bj] = group_score(l, ch, n_ch, group, bj, mem);
    } else {
      int b = group[bl];
      group[bk] = b;
      group[bl] = a;
      cur[a] = group_score(l, ch, n_ch, group, a, mem);
      cur[b] = group_score(l, ch, n_ch, group, b, mem);
    }
  }
cleanup:
  sn_free(cost);
  sn_free(col);
  sn_free(mem);
  sn_free(cur);
  return rc;
}

int sn_bss_grouping(const sn_bss_layout *l, const sn_bss_chan *ch, int n_ch, int search, int *group,
                    int *method, sn_err *e) {
  int n = l->n_ref, m = l->n_est;
  double count = 1;
  for (int k = 0; k < m && count <= SN_BSS_EXHAUSTIVE_MAX; k++) count *= n;
  int small = count <= SN_BSS_EXHAUSTIVE_MAX;
  if (search == SN_BSS_SEARCH_EXHAUSTIVE && !small)
    return SN_FAIL(e, SN_ERR_USAGE,
                   "score: exhaustive search over %d^%d groupings is too large (at most %d); use greedy", n, m,
                   SN_BSS_EXHAUSTIVE_MAX);
  if (search == SN_BSS_SEARCH_EXHAUSTIVE || (search == SN_BSS_SEARCH_AUTO && small)) {
    *method = SN_BSS_SEARCH_EXHAUSTIVE;
    return grouping_exhaustive(l, ch, n_ch, group, e);
  }
  *method = SN_BSS_SEARCH_GREEDY;
  return grouping_greedy(l, ch, n_ch, group, e);
}
