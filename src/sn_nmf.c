/* Serial NMF numerics on a local column block (see sn_nmf.h). */
#include "sn_isa_clone.h" /* first: per-level names (sn_isa.h) */
#include "sn_nmf.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include SN_BLAS_HEADER
#include "sn_nnls.h"

/* ---- hand-written AVX-512 kernels (R a multiple of 16) ------------------------
 * The two thin products of each tile, written so each V tile is read from
 * cache once per product without the copy (packing) a BLAS makes first:
 *   wtv: out (R x t) = W^T X, vectorised over r (W transposed in 16-row panels,
 *        one zmm per row of W), 16 columns of X at a time, X[i, j] broadcast;
 *   xht: acc (F x R doubles) += X H_t^T, vectorised over 16 rows of X, all 16
 *        r of a panel in registers across the tile's columns, summed in float
 *        over the tile and then added to the double accumulator (as the BLAS
 *        path: sgemm into a float F x R, then add);
 *   wh:  WH (F x t) = W H_t, vectorised over 16 rows, 8 columns at a time;
 *   wh_fused: the same W H_t kept in registers and finished at once: the KL
 *        ratio A = V / WH (+ the KL loss terms, 16-wide log) or the Frobenius
 *        loss (V - WH)^2, so WH is never stored and reread;
 *   hht: H_t H_t^T added to the double R x R accumulator.
 * With them: the cd sweep over H runs 16 columns at once (cd_sweep_h).
 * The BLAS path stays as the reference and the fallback (cfg.plain = 1, R not
 * a multiple of 16, or a copy of this file compiled without AVX-512: the
 * baseline and avx2 kernel levels of sn_isa.h). */
#if defined(__AVX512F__)
#include <immintrin.h>
#define SN_NMF_HAVE_AVX512 1

/* Wt: panels of 16 rows of W^T: Wt[(b * F + i) * 16 + l] = W[i + (16 b + l) F]. */
static void k_transpose_w(const float *W, int64_t F, int64_t R, float *Wt) {
  for (int64_t b = 0; b < R / 16; b++)
    for (int64_t i = 0; i < F; i++)
      for (int l = 0; l < 16; l++) Wt[(b * F + i) * 16 + l] = W[i + (16 * b + l) * F];
}

/* 8 columns of out (ld R, from o) for the two panels Wb and Wb + 16 F (rows
 * 16 b .. 16 b + 31 of W^T X): each broadcast of x feeds two FMAs. Each
 * element's sum over i is in the same order as k_wtv's 16-column loop. */
static void k_wtv_pair8(const float *Wb, int64_t F, int64_t R, const float *x, float *o) {
  const float *Wc = Wb + F * 16;
  __m512 a[8], c[8];
#pragma GCC unroll 8
  for (int q = 0; q < 8; q++) a[q] = c[q] = _mm512_setzero_ps();
  for (int64_t i = 0; i < F; i++) {
    __m512 w0 = _mm512_loadu_ps(Wb + i * 16), w1 = _mm512_loadu_ps(Wc + i * 16);
#pragma GCC unroll 8
    for (int q = 0; q < 8; q++) {
      __m512 xq = _mm512_set1_ps(x[i + q * F]);
      a[q] = _mm512_fmadd_ps(w0, xq, a[q]);
      c[q] = _mm512_fmadd_ps(w1, xq, c[q]);
    }
  }
#pragma GCC unroll 8
  for (int q = 0; q < 8; q++) {
    _mm512_storeu_ps(o + q * R, a[q]);
    _mm512_storeu_ps(o + q * R + 16, c[q]);
  }
}

/* out (R x t, ld R) = W^T X (X: F x t, ld F). Panels go in pairs through the
 * 16-column groups (k_wtv_pair8); an odd last panel and the leftover columns
 * one panel at a time. */
static void k_wtv(const float *Wt, int64_t F, int64_t R, const float *X, int64_t t, float *out) {
  const int64_t nb = R / 16;
  for (int64_t b = 0; b < nb; b++) {
    const float *Wb = Wt + b * F * 16;
    int64_t j0 = 0;
    if (b % 2 == 0 && b + 1 < nb) {
      for (; j0 + 16 <= t; j0 += 16) {
        k_wtv_pair8(Wb, F, R, X + j0 * F, out + j0 * R + b * 16);
        k_wtv_pair8(Wb, F, R, X + (j0 + 8) * F, out + (j0 + 8) * R + b * 16);
      }
    } else if (b % 2 == 1) {
      j0 = t - t % 16; /* done with panel b - 1 */
    }
    for (; j0 + 16 <= t; j0 += 16) {
      const float *x = X + j0 * F;
      __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0,
             a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0, a12 = a0, a13 = a0, a14 = a0,
             a15 = a0;
      for (int64_t i = 0; i < F; i++) {
        __m512 w = _mm512_loadu_ps(Wb + i * 16);
        const float *xi = x + i;
        a0 = _mm512_fmadd_ps(w, _mm512_set1_ps(xi[0 * F]), a0);
        a1 = _mm512_fmadd_ps(w, _mm512_set1_ps(xi[1 * F]), a1);
        a2 = _mm512_fmadd_ps(w, _mm512_set1_ps(xi[2 * F]), a2);
        a3 = _mm512_fmadd_ps(w, _mm512_set1_ps(xi[3 * F]), a3);
        a4 = _mm512_fmadd_ps(w, _mm512_set1_ps(xi[4 * F]), a4);
        a5 = _mm512_fmadd_ps(w, _mm512_set1_ps(xi[5 * F]), a5);
        a6 = _mm512_fmadd_ps(w, _mm512_set1_ps(xi[6 * F]), a6);
        a7 = _mm512_fmadd_ps(w, _mm512_set1_ps(xi[7 * F]), a7);
        a8 = _mm512_fmadd_ps(w, _mm512_set1_ps(xi[8 * F]), a8);
        a9 = _mm512_fmadd_ps(w, _mm512_set1_ps(xi[9 * F]), a9);
        a10 = _mm512_fmadd_ps(w, _mm512_set1_ps(xi[10 * F]), a10);
        a11 = _mm512_fmadd_ps(w, _mm512_set1_ps(xi[11 * F]), a11);
        a12 = _mm512_fmadd_ps(w, _mm512_set1_ps(xi[12 * F]), a12);
        a13 = _mm512_fmadd_ps(w, _mm512_set1_ps(xi[13 * F]), a13);
        a14 = _mm512_fmadd_ps(w, _mm512_set1_ps(xi[14 * F]), a14);
        a15 = _mm512_fmadd_ps(w, _mm512_set1_ps(xi[15 * F]), a15);
      }
      float *o = out + j0 * R + b * 16;
      _mm512_storeu_ps(o + 0 * R, a0);
      _mm512_storeu_ps(o + 1 * R, a1);
      _mm512_storeu_ps(o + 2 * R, a2);
      _mm512_storeu_ps(o + 3 * R, a3);
      _mm512_storeu_ps(o + 4 * R, a4);
      _mm512_storeu_ps(o + 5 * R, a5);
      _mm512_storeu_ps(o + 6 * R, a6);
      _mm512_storeu_ps(o + 7 * R, a7);
      _mm512_storeu_ps(o + 8 * R, a8);
      _mm512_storeu_ps(o + 9 * R, a9);
      _mm512_storeu_ps(o + 10 * R, a10);
      _mm512_storeu_ps(o + 11 * R, a11);
      _mm512_storeu_ps(o + 12 * R, a12);
      _mm512_storeu_ps(o + 13 * R, a13);
      _mm512_storeu_ps(o + 14 * R, a14);
      _mm512_storeu_ps(o + 15 * R, a15);
    }
    for (; j0 < t; j0++) { /* leftover columns: 4 partial sums over i */
      const float *x = X + j0 * F;
      __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      int64_t i = 0;
      for (; i + 4 <= F; i += 4) {
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(Wb + i * 16), _mm512_set1_ps(x[i]), a0);
        a1 = _mm512_fmadd_ps(_mm512_loadu_ps(Wb + i * 16 + 16), _mm512_set1_ps(x[i + 1]), a1);
        a2 = _mm512_fmadd_ps(_mm512_loadu_ps(Wb + i * 16 + 32), _mm512_set1_ps(x[i + 2]), a2);
        a3 = _mm512_fmadd_ps(_mm512_loadu_ps(Wb + i * 16 + 48), _mm512_set1_ps(x[i + 3]), a3);
      }
      for (; i < F; i++) a0 = _mm512_fmadd_ps(_mm512_loadu_ps(Wb + i * 16), _mm512_set1_ps(x[i]), a0);
      _mm512_storeu_ps(out + j0 * R + b * 16, _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
    }
  }
}

/* acc (F x R doubles, ld F) += X H_t^T (X: F x t, ld F; Ht: R x t, ld R). */
static void k_xht(const float *X, int64_t F, int64_t R, const float *Ht, int64_t t, double *acc) {
  for (int64_t i0 = 0; i0 < F; i0 += 16) {
    const int64_t m = F - i0 < 16 ? F - i0 : 16;
    const __mmask16 k = (__mmask16)((1u << m) - 1u);
    for (int64_t b = 0; b < R / 16; b++) {
      __m512 a[16];
#pragma GCC unroll 16
      for (int r = 0; r < 16; r++) a[r] = _mm512_setzero_ps();
      const float *x = X + i0, *h = Ht + b * 16;
      for (int64_t j = 0; j < t; j++) {
        __m512 v = _mm512_maskz_loadu_ps(k, x + j * F);
        const float *hj = h + j * R;
#pragma GCC unroll 16
        for (int r = 0; r < 16; r++) a[r] = _mm512_fmadd_ps(v, _mm512_set1_ps(hj[r]), a[r]);
      }
      const __mmask8 klo = (__mmask8)(k & 0xffu), khi = (__mmask8)(k >> 8);
#pragma GCC unroll 16
      for (int r = 0; r < 16; r++) {
        double *d = acc + i0 + (b * 16 + r) * F;
        __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(a[r]));
        __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a[r]), 1)));
        _mm512_mask_storeu_pd(d, klo, _mm512_add_pd(_mm512_maskz_loadu_pd(klo, d), lo));
        _mm512_mask_storeu_pd(d + 8, khi, _mm512_add_pd(_mm512_maskz_loadu_pd(khi, d + 8), hi));
      }
    }
  }
}

/* WH (F x t, ld F) = W H_t (W: F x R, ld F). */
static void k_wh(const float *W, int64_t F, int64_t R, const float *Ht, int64_t t, float *WH) {
  for (int64_t i0 = 0; i0 < F; i0 += 16) {
    const int64_t m = F - i0 < 16 ? F - i0 : 16;
    const __mmask16 k = (__mmask16)((1u << m) - 1u);
    int64_t j0 = 0;
    for (; j0 + 8 <= t; j0 += 8) {
      __m512 a[8];
#pragma GCC unroll 8
      for (int q = 0; q < 8; q++) a[q] = _mm512_setzero_ps();
      const float *h = Ht + j0 * R;
      for (int64_t r = 0; r < R; r++) {
        __m512 w = _mm512_maskz_loadu_ps(k, W + i0 + r * F);
#pragma GCC unroll 8
        for (int q = 0; q < 8; q++) a[q] = _mm512_fmadd_ps(w, _mm512_set1_ps(h[r + q * R]), a[q]);
      }
#pragma GCC unroll 8
      for (int q = 0; q < 8; q++) _mm512_mask_storeu_ps(WH + i0 + (j0 + q) * F, k, a[q]);
    }
    for (; j0 < t; j0++) {
      __m512 a0 = _mm512_setzero_ps();
      const float *h = Ht + j0 * R;
      for (int64_t r = 0; r < R; r++)
        a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, W + i0 + r * F), _mm512_set1_ps(h[r]), a0);
      _mm512_mask_storeu_ps(WH + i0 + j0 * F, k, a0);
    }
  }
}

/* Natural log of 16 positive normal floats: sn_logf's Cephes polynomial, the
 * same operations in the same order. */
static inline __m512 k_logf(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.0f);
  __m512i u = _mm512_castps_si512(x);
  __m512i ei = _mm512_sub_epi32(_mm512_and_si512(_mm512_srli_epi32(u, 23), _mm512_set1_epi32(0xff)),
                                _mm512_set1_epi32(126));
  __m512 m = _mm512_castsi512_ps(_mm512_or_si512(_mm512_and_si512(u, _mm512_set1_epi32(0x007fffff)),
                                                 _mm512_set1_epi32(0x3f000000)));
  __mmask16 lo = _mm512_cmp_ps_mask(m, _mm512_set1_ps(0.70710678118654752f), _CMP_LT_OQ);
  __m512 f = _mm512_sub_ps(m, one);
  f = _mm512_mask_add_ps(f, lo, f, m);
  __m512 fe = _mm512_cvtepi32_ps(ei);
  fe = _mm512_mask_sub_ps(fe, lo, fe, one);
  __m512 z = _mm512_mul_ps(f, f);
  __m512 y = _mm512_set1_ps(7.0376836292E-2f);
#define SN_P(c) y = _mm512_add_ps(_mm512_mul_ps(y, f), _mm512_set1_ps(c))
  SN_P(-1.1514610310E-1f); SN_P(1.1676998740E-1f); SN_P(-1.2420140846E-1f);
  SN_P(1.4249322787E-1f); SN_P(-1.6668057665E-1f); SN_P(2.0000714765E-1f);
  SN_P(-2.4999993993E-1f); SN_P(3.3333331174E-1f);
#undef SN_P
  y = _mm512_mul_ps(_mm512_mul_ps(y, f), z);
  y = _mm512_add_ps(y, _mm512_mul_ps(_mm512_set1_ps(-2.12194440e-4f), fe));
  y = _mm512_add_ps(y, _mm512_mul_ps(_mm512_set1_ps(-0.5f), z));
  return _mm512_add_ps(_mm512_add_ps(f, y), _mm512_mul_ps(_mm512_set1_ps(0.693359375f), fe));
}

/* Adds the 16 floats of x to the double lanes s[0..1]. */
static inline void k_sum16(__m512 x, __m512d *s) {
  s[0] = _mm512_add_pd(s[0], _mm512_cvtps_pd(_mm512_castps512_ps256(x)));
  s[1] = _mm512_add_pd(s[1], _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1))));
}

/* One finished 16-row piece of WH at offset o (mask k): beta 1 stores A = V / WH
 * (zeros of WH replaced by eps, as ratio_tile) and, with want_loss, adds the KL
 * terms wh + [v > eps] (v log(v / whs) - v) to s; beta 2 (want_loss only) adds
 * (v - wh)^2 to s. */
static inline void k_wh_finish(int kl, __m512 wh, int64_t o, __mmask16 k, const float *Vt, float *A,
                               int want_loss, __m512d *s) {
  const __m512 eps = _mm512_set1_ps((float)SN_NMF_EPS), zero = _mm512_setzero_ps();
  __m512 v = _mm512_maskz_loadu_ps(k, Vt + o);
  if (!kl) {
    __m512 d = _mm512_sub_ps(v, wh);
    k_sum16(_mm512_mul_ps(d, d), s);
    return;
  }
  __m512 whs = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(wh, zero, _CMP_EQ_OQ), wh, eps);
  __m512 a = _mm512_div_ps(v, whs);
  _mm512_mask_storeu_ps(A + o, k, a);
  if (!want_loss) return;
  __mmask16 on = _mm512_cmp_ps_mask(v, eps, _CMP_GT_OQ);
  __m512 lg = k_logf(_mm512_mask_blend_ps(on, _mm512_set1_ps(1.0f), a));
  k_sum16(_mm512_mask_add_ps(wh, on, wh, _mm512_sub_ps(_mm512_mul_ps(v, lg), v)), s);
}

/* WH = W H_t computed in registers (never stored) and finished by k_wh_finish:
 * kl = 1: A = V_t / WH (+ KL loss); kl = 0: the Frobenius sum (V - WH)^2.
 * Returns the loss sum (0 without want_loss). */
static double k_wh_fused(int kl, const float *W, int64_t F, int64_t R, const float *Ht, int64_t t,
                         const float *Vt, float *A, int want_loss) {
  __m512d s[2] = {_mm512_setzero_pd(), _mm512_setzero_pd()};
  int64_t i0 = 0;
  /* 32 rows x 8 columns at a time: each broadcast of h feeds two FMAs, so the
   * loads no longer bound the FMAs (each element's sum over r is the same) */
  const __mmask16 all = (__mmask16)0xffffu;
  for (; i0 + 32 <= F; i0 += 32) {
    int64_t j0 = 0;
    for (; j0 + 8 <= t; j0 += 8) {
      __m512 a[8], b[8];
#pragma GCC unroll 8
      for (int q = 0; q < 8; q++) a[q] = b[q] = _mm512_setzero_ps();
      const float *h = Ht + j0 * R;
      for (int64_t r = 0; r < R; r++) {
        __m512 w0 = _mm512_loadu_ps(W + i0 + r * F), w1 = _mm512_loadu_ps(W + i0 + 16 + r * F);
#pragma GCC unroll 8
        for (int q = 0; q < 8; q++) {
          __m512 hq = _mm512_set1_ps(h[r + q * R]);
          a[q] = _mm512_fmadd_ps(w0, hq, a[q]);
          b[q] = _mm512_fmadd_ps(w1, hq, b[q]);
        }
      }
#pragma GCC unroll 8
      for (int q = 0; q < 8; q++) _mm_prefetch((const char *)(Vt + i0 + 64 + (j0 + q) * F), _MM_HINT_T0);
#pragma GCC unroll 8
      for (int q = 0; q < 8; q++) {
        k_wh_finish(kl, a[q], i0 + (j0 + q) * F, all, Vt, A, want_loss, s);
        k_wh_finish(kl, b[q], i0 + 16 + (j0 + q) * F, all, Vt, A, want_loss, s);
      }
    }
    for (; j0 < t; j0++) {
      __m512 a0 = _mm512_setzero_ps(), b0 = a0;
      const float *h = Ht + j0 * R;
      for (int64_t r = 0; r < R; r++) {
        __m512 hr = _mm512_set1_ps(h[r]);
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(W + i0 + r * F), hr, a0);
        b0 = _mm512_fmadd_ps(_mm512_loadu_ps(W + i0 + 16 + r * F), hr, b0);
      }
      k_wh_finish(kl, a0, i0 + j0 * F, all, Vt, A, want_loss, s);
      k_wh_finish(kl, b0, i0 + 16 + j0 * F, all, Vt, A, want_loss, s);
    }
  }
  for (; i0 < F; i0 += 16) {
    const int64_t m = F - i0 < 16 ? F - i0 : 16;
    const __mmask16 k = (__mmask16)((1u << m) - 1u);
    int64_t j0 = 0;
    for (; j0 + 8 <= t; j0 += 8) {
      __m512 a[8];
#pragma GCC unroll 8
      for (int q = 0; q < 8; q++) a[q] = _mm512_setzero_ps();
      const float *h = Ht + j0 * R;
      for (int64_t r = 0; r < R; r++) {
        __m512 w = _mm512_maskz_loadu_ps(k, W + i0 + r * F);
#pragma GCC unroll 8
        for (int q = 0; q < 8; q++) a[q] = _mm512_fmadd_ps(w, _mm512_set1_ps(h[r + q * R]), a[q]);
      }
      /* V is read across the tile's columns 16 rows at a time, an access
       * pattern the hardware prefetcher does not follow: fetch ahead by hand */
#pragma GCC unroll 8
      for (int q = 0; q < 8; q++) _mm_prefetch((const char *)(Vt + i0 + 48 + (j0 + q) * F), _MM_HINT_T0);
#pragma GCC unroll 8
      for (int q = 0; q < 8; q++) k_wh_finish(kl, a[q], i0 + (j0 + q) * F, k, Vt, A, want_loss, s);
    }
    for (; j0 < t; j0++) {
      __m512 a0 = _mm512_setzero_ps();
      const float *h = Ht + j0 * R;
      for (int64_t r = 0; r < R; r++)
        a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, W + i0 + r * F), _mm512_set1_ps(h[r]), a0);
      k_wh_finish(kl, a0, i0 + j0 * F, k, Vt, A, want_loss, s);
    }
  }
  return _mm512_reduce_add_pd(_mm512_add_pd(s[0], s[1]));
}

/* hh (R x R doubles) += H_t H_t^T */
static void k_hht(const float *Ht, int64_t R, int64_t t, double *hh) {
  for (int64_t b = 0; b < R / 16; b++)     /* rows 16 b .. */
    for (int64_t c = 0; c < R / 16; c++) { /* columns 16 c .. */
      __m512 a[16];
#pragma GCC unroll 16
      for (int r = 0; r < 16; r++) a[r] = _mm512_setzero_ps();
      for (int64_t j = 0; j < t; j++) {
        __m512 h = _mm512_loadu_ps(Ht + j * R + b * 16);
        const float *hc = Ht + j * R + c * 16;
#pragma GCC unroll 16
        for (int r = 0; r < 16; r++) a[r] = _mm512_fmadd_ps(h, _mm512_set1_ps(hc[r]), a[r]);
      }
#pragma GCC unroll 16
      for (int r = 0; r < 16; r++) {
        double *d = hh + b * 16 + (c * 16 + r) * R;
        __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(a[r]));
        __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a[r]), 1)));
        _mm512_storeu_pd(d, _mm512_add_pd(_mm512_loadu_pd(d), lo));
        _mm512_storeu_pd(d + 8, _mm512_add_pd(_mm512_loadu_pd(d + 8), hi));
      }
    }
}
#endif

enum { SN_CD_LANES = 16 }; /* cd: H columns swept at once (SIMD lanes) */

/* One solver and loss (see sn_nmf_ops_tab below): what sn_nmf_pass and
 * sn_nmf_update_w call, one indirect call per tile or per W update. */
typedef struct sn_nmf_ops {
  /* the tile's H columns (acc: the cd violation goes to acc[viol]) */
  void (*update_h)(sn_nmf_ws *w, const float *Vt, float *Ht, int64_t t, double *acc);
  /* the tile's share of the next W update (want_acc) and of the loss (want_loss) */
  void (*acc)(sn_nmf_ws *w, const float *Vt, const float *Ht, int64_t t, int want_acc, int want_loss, double *acc);
  /* W's learned columns from the summed accumulators; returns the cd violation (else 0) */
  double (*update_w)(sn_nmf_ws *w, const double *acc, float *W);
  /* beta != 2: the ratios A (and B) of the tile from W H_t, + its loss when loss != NULL */
  void (*wh_ratio)(sn_nmf_ws *w, const float *Vt, const float *Ht, int64_t t, double *loss);
} sn_nmf_ops;

struct sn_nmf_ws {
  sn_nmf_cfg c;
  sn_nmf_layout L;
  sn_nmf_ops ops;  /* this solver and loss's row of sn_nmf_ops_tab */
  int clip_h;      /* MU H update: values < DBL_EPSILON -> 0 (cfg.h_rule and beta) */
  double gamma;
  const float *W;  /* set by sn_nmf_set_w */
  float *WH;       /* F x tile */
  float *A;        /* F x tile */
  float *B;        /* F x tile */
  float *T;        /* F x tile: per-element loss terms */
  float *nh, *dh;  /* R x tile */
  float *fr;       /* F x R */
  double *WtW;     /* R x R */
  float *WtWf;     /* R x R, float copy for sgemm */
  float *rr;       /* R x R scratch */
  double *wsum;    /* R, zeros replaced by 1 (KL H denominator) */
  double *row;     /* R (+R) scratch */
  double *xa, *xb; /* anls: R x max(F, tile) doubles (right-hand sides, solution) */
  double *gg;      /* anls: R x R */
  double *cdh, *cdx; /* cd: R x SN_CD_LANES doubles */
  sn_err err;      /* first failure inside a pass (anls) */
  int fast;        /* hand-written AVX-512 kernels (sn_nmf_ws_fast) */
  float *Wt;       /* fast: W^T in 16-row panels (k_transpose_w) */
};

void sn_nmf_layout_of(const sn_nmf_cfg *c, int nflags, sn_nmf_layout *L) {
  int64_t F = c->F, R = c->R;
  L->num = 0;
  L->den = F * R;
  if (c->beta == 2.0)
    L->den_len = R * R;
  else if (c->beta == 1.0)
    L->den_len = R;
  else
    L->den_len = F * R;
  L->loss = L->den + L->den_len;
  L->viol = L->loss + 1;
  L->flags = L->viol + 1;
  L->nflags = nflags;
  L->len = L->flags + nflags;
}

double sn_nmf_gamma(double beta) {
  if (beta < 1.0) return 1.0 / (2.0 - beta);
  if (beta > 2.0) return 1.0 / (beta - 1.0);
  return 1.0;
}

static void select_ops(const sn_nmf_cfg *c, sn_nmf_ops *ops);

int sn_nmf_ws_create(const sn_nmf_cfg *c, sn_nmf_ws **out, sn_err *e) {
  *out = NULL;
  if (c->F <= 0 || c->R <= 0 || c->tile <= 0 || c->n_fixed < 0 || c->n_fixed > c->R)
    return SN_FAIL(e, SN_ERR_INPUT, "nmf: bad sizes F=%lld R=%lld tile=%lld",
                   (long long)c->F, (long long)c->R, (long long)c->tile);
  if (c->solver != SN_NMF_MU && c->solver != SN_NMF_CD && c->solver != SN_NMF_ANLS)
    return SN_FAIL(e, SN_ERR_INPUT, "nmf: unknown solver %d", c->solver);
  if (c->solver != SN_NMF_MU && c->beta != 2.0)
    return SN_FAIL(e, SN_ERR_USAGE, "--solver %s handles only the Frobenius loss (beta = 2), not beta = %g; use --solver mu",
                   c->solver == SN_NMF_CD ? "cd" : "anls", c->beta);
  sn_nmf_ws *w = sn_calloc(sizeof *w, "nmf workspace", e);
  if (!w) return SN_ERR_NOMEM;
  w->c = *c;
  sn_nmf_layout_of(c, 0, &w->L);
  w->gamma = sn_nmf_gamma(c->beta);
  select_ops(c, &w->ops);
  w->clip_h = c->h_rule == SN_NMF_H_BATCH ? c->beta <= 1.0 : c->h_rule == SN_NMF_H_ONLINE && c->beta < 1.0;
  size_t Ft = (size_t)c->F * (size_t)c->tile, Rt = (size_t)c->R * (size_t)c->tile;
  size_t FR = (size_t)c->F * (size_t)c->R, RR = (size_t)c->R * (size_t)c->R;
  w->WH = sn_calloc(Ft * sizeof(float), "nmf tile", e);
  w->A = sn_calloc(Ft * sizeof(float), "nmf tile", e);
  w->B = sn_calloc(Ft * sizeof(float), "nmf tile", e);
  w->T = sn_calloc(Ft * sizeof(float), "nmf tile", e);
  w->nh = sn_calloc(Rt * sizeof(float), "nmf tile", e);
  w->dh = sn_calloc(Rt * sizeof(float), "nmf tile", e);
  w->fr = sn_calloc(FR * sizeof(float), "nmf F x R", e);
  w->WtW = sn_calloc(RR * sizeof(double), "nmf R x R", e);
  w->wsum = sn_calloc((size_t)c->R * sizeof(double), "nmf R", e);
  w->WtWf = sn_calloc(RR * sizeof(float), "nmf R x R", e);
  w->rr = sn_calloc(RR * sizeof(float), "nmf R x R", e);
  w->row = sn_calloc(2 * (size_t)c->R * sizeof(double), "nmf R", e);
  if (c->solver == SN_NMF_CD) {
    w->cdh = sn_calloc((size_t)c->R * SN_CD_LANES * sizeof(double), "nmf cd", e);
    w->cdx = sn_calloc((size_t)c->R * SN_CD_LANES * sizeof(double), "nmf cd", e);
    if (!w->cdh || !w->cdx) {
      sn_nmf_ws_destroy(&w);
      return SN_ERR_NOMEM;
    }
  }
  if (c->solver == SN_NMF_ANLS) {
    size_t m = (size_t)c->R * (size_t)(c->F > c->tile ? c->F : c->tile);
    w->xa = sn_calloc(m * sizeof(double), "nmf anls", e);
    w->xb = sn_calloc(m * sizeof(double), "nmf anls", e);
    w->gg = sn_calloc(RR * sizeof(double), "nmf anls", e);
    if (!w->xa || !w->xb || !w->gg) {
      sn_nmf_ws_destroy(&w);
      return SN_ERR_NOMEM;
    }
  }
#ifdef SN_NMF_HAVE_AVX512
  w->fast = !c->plain && c->R % 16 == 0;
#endif
  if (w->fast) w->Wt = sn_calloc(FR * sizeof(float), "nmf F x R", e);
  if ((w->fast && !w->Wt) || !w->WH || !w->A || !w->B || !w->T || !w->nh || !w->dh || !w->fr || !w->WtW || !w->wsum || !w->row || !w->WtWf || !w->rr) {
    sn_nmf_ws_destroy(&w);
    return SN_ERR_NOMEM;
  }
  *out = w;
  return SN_OK;
}

void sn_nmf_ws_destroy(sn_nmf_ws **ws) {
  if (!ws || !*ws) return;
  sn_nmf_ws *w = *ws;
  sn_free(w->WH);
  sn_free(w->A);
  sn_free(w->B);
  sn_free(w->T);
  sn_free(w->nh);
  sn_free(w->dh);
  sn_free(w->fr);
  sn_free(w->WtW);
  sn_free(w->wsum);
  sn_free(w->row);
  sn_free(w->WtWf);
  sn_free(w->rr);
  sn_free(w->xa);
  sn_free(w->xb);
  sn_free(w->gg);
  sn_free(w->Wt);
  sn_free(w->cdh);
  sn_free(w->cdx);
  sn_free(w);
  *ws = NULL;
}

int sn_nmf_ws_status(const sn_nmf_ws *w, sn_err *e) {
  if (w->err.code == SN_OK) return SN_OK;
  if (e && e->code == SN_OK) *e = w->err;
  return w->err.code;
}

void sn_nmf_set_w(sn_nmf_ws *w, const float *W) {
  int64_t F = w->c.F, R = w->c.R;
  w->W = W;
#ifdef SN_NMF_HAVE_AVX512
  if (w->fast) k_transpose_w(W, F, R, w->Wt);
#endif
  for (int64_t a = 0; a < R; a++) {
    const float *wa = W + a * F;
    double s = 0;
    for (int64_t i = 0; i < F; i++) s += wa[i];
    w->wsum[a] = (s == 0.0 && w->c.h_rule == SN_NMF_H_BATCH) ? 1.0 : s;
    for (int64_t b = a; b < R; b++) {
      const float *wb = W + b * F;
      double d = 0;
      for (int64_t i = 0; i < F; i++) d += (double)wa[i] * wb[i];
      w->WtW[a + b * R] = d;
      w->WtW[b + a * R] = d;
      w->WtWf[a + b * R] = (float)d;
      w->WtWf[b + a * R] = (float)d;
    }
  }
}

/* Natural log of a positive normal float, branch-free so loops over it
 * vectorize (Cephes logf polynomial, about 1 ulp; sklearn takes these logs in
 * float32 too). */
static inline float sn_logf(float x) {
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  int e = (int)((u >> 23) & 0xffu) - 126; /* frexp exponent */
  u = (u & 0x007fffffu) | 0x3f000000u;    /* mantissa in [0.5, 1) */
  float m;
  memcpy(&m, &u, sizeof m);
  float lo = (float)(m < 0.70710678118654752f); /* 0 or 1: arithmetic, no branch */
  float f = (m - 1.0f) + lo * m;
  float fe = (float)e - lo;
  float z = f * f;
  float y = 7.0376836292E-2f;
  y = y * f - 1.1514610310E-1f;
  y = y * f + 1.1676998740E-1f;
  y = y * f - 1.2420140846E-1f;
  y = y * f + 1.4249322787E-1f;
  y = y * f - 1.6668057665E-1f;
  y = y * f + 2.0000714765E-1f;
  y = y * f - 2.4999993993E-1f;
  y = y * f + 3.3333331174E-1f;
  y = y * f * z;
  y += -2.12194440e-4f * fe;
  y += -0.5f * z;
  return f + y + 0.693359375f * fe;
}

/* Sum of n floats in double, in 8 independent lanes (so it vectorizes). */
static double sum_lanes(const float *x, size_t n) {
  double l[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t k = 0;
  for (; k + 8 <= n; k += 8)
    for (int j = 0; j < 8; j++) l[j] += (double)x[k + j];
  double s = 0;
  for (; k < n; k++) s += x[k];
  return s + ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
}


int sn_nmf_ws_fast(const sn_nmf_ws *w) { return w->fast; }

/* WH (F x t) = W H_t */
static void wh_tile(sn_nmf_ws *w, const float *Ht, int64_t t) {
  int F = (int)w->c.F, R = (int)w->c.R;
#ifdef SN_NMF_HAVE_AVX512
  if (w->fast) {
    k_wh(w->W, F, R, Ht, t, w->WH);
    return;
  }
#endif
  cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, F, (int)t, R, 1.0f, w->W, F, Ht, R,
              0.0f, w->WH, F);
}

/* The MU ratios of a tile from WH = W H_t, one function per loss, with
 * sklearn's epsilon rules: A = V * WHs^(beta-2) (the numerator factor) and
 * B = WHd^(beta-1) (the denominator factor; not for KL). Each adds the tile's
 * share of the beta-divergence to *loss when loss != NULL. */

/* KL (beta = 1): A = V / WHs; loss sum wh + [v > eps] (v log(v / whs) - v). */
static void wh_ratio_kl(sn_nmf_ws *w, const float *Vt, const float *Ht, int64_t t, double *loss) {
#ifdef SN_NMF_HAVE_AVX512
  if (w->fast) {
    double l = k_wh_fused(1, w->W, w->c.F, w->c.R, Ht, t, Vt, w->A, loss != NULL);
    if (loss) *loss += l;
    return;
  }
#endif
  wh_tile(w, Ht, t);
  const float eps = (float)SN_NMF_EPS;
  const size_t n = (size_t)w->c.F * (size_t)t;
  const float *WH = w->WH;
  float *A = w->A;
  for (size_t k = 0; k < n; k++) {
    float wh = WH[k];
    float whs = wh == 0.0f ? eps : wh;
    A[k] = Vt[k] / whs;
  }
  if (!loss) return;
  float *T = w->T;
  for (size_t k = 0; k < n; k++) {
    /* selects written as arithmetic with 0/1 factors so the loop vectorizes */
    float wh = WH[k], v = Vt[k];
    float whs = wh + eps * (float)(wh == 0.0f);
    float on = (float)(v > eps);
    float d = on * (v / whs) + (1.0f - on);
    T[k] = wh + on * (v * sn_logf(d) - v);
  }
  *loss += sum_lanes(T, n);
}

/* IS (beta = 0): A = V / WHs^2, B = 1 / WHs; loss sum [v > eps] (d - log d) - 1, d = v / whs. */
static void wh_ratio_is(sn_nmf_ws *w, const float *Vt, const float *Ht, int64_t t, double *loss) {
  wh_tile(w, Ht, t);
  const float eps = (float)SN_NMF_EPS;
  const size_t n = (size_t)w->c.F * (size_t)t;
  const float *WH = w->WH;
  float *A = w->A, *B = w->B;
  for (size_t k = 0; k < n; k++) {
    float wh = WH[k];
    float whs = wh == 0.0f ? eps : wh;
    float inv = 1.0f / whs;
    A[k] = inv * inv * Vt[k];
    B[k] = inv; /* whd = whs for beta < 1; whd^(-1) */
  }
  if (!loss) return;
  float *T = w->T;
  for (size_t k = 0; k < n; k++) {
    float wh = WH[k], v = Vt[k];
    float whs = wh + eps * (float)(wh == 0.0f);
    float on = (float)(v > eps);
    float d = on * (v / whs) + (1.0f - on);
    T[k] = on * (d - sn_logf(d));
  }
  *loss += sum_lanes(T, n) - (double)n;
}

/* Any other beta: powf ratios, the loss in double with pow. */
static void wh_ratio_beta(sn_nmf_ws *w, const float *Vt, const float *Ht, int64_t t, double *loss) {
  wh_tile(w, Ht, t);
  const double beta = w->c.beta;
  const float eps = (float)SN_NMF_EPS;
  const size_t n = (size_t)w->c.F * (size_t)t;
  const float *WH = w->WH;
  float *A = w->A, *B = w->B;
  const float bm2 = (float)(beta - 2.0), bm1 = (float)(beta - 1.0);
  for (size_t k = 0; k < n; k++) {
    float wh = WH[k];
    float whs = (beta < 2.0 && wh == 0.0f) ? eps : wh;
    float whd = (beta < 1.0 && wh == 0.0f) ? eps : wh;
    A[k] = powf(whs, bm2) * Vt[k];
    B[k] = powf(whd, bm1);
  }
  if (!loss) return;
  double s1 = 0, s2 = 0, s3 = 0;
  for (size_t k = 0; k < n; k++) {
    double wh = WH[k];
    s3 += pow(wh, beta);
    if (Vt[k] > eps) {
      double v = Vt[k];
      double whs = wh == 0.0 ? (double)eps : wh;
      s1 += pow(v, beta);
      s2 += v * pow(whs, beta - 1.0);
    }
  }
  *loss += (s1 - beta * s2 + (beta - 1.0) * s3) / (beta * (beta - 1.0));
}

/* dst (F x R doubles) += fr */
static void add_fr(sn_nmf_ws *w, double *dst) {
  size_t n = (size_t)w->c.F * (size_t)w->c.R;
  const float *s = w->fr;
  for (size_t k = 0; k < n; k++) dst[k] += s[k];
}

/* out (R x t) = W^T X_t (X: F x t) */
static void wtv_tile(sn_nmf_ws *w, const float *X, int64_t t, float *out) {
  const int F = (int)w->c.F, R = (int)w->c.R;
#ifdef SN_NMF_HAVE_AVX512
  if (w->fast) {
    k_wtv(w->Wt, F, R, X, t, out);
    return;
  }
#endif
  cblas_sgemm(CblasColMajor, CblasTrans, CblasNoTrans, R, (int)t, F, 1.0f, w->W, F, X, F, 0.0f,
              out, R);
}

/* dst (F x R doubles) += X_t H_t^T, summed over the tile in float */
static void xht_tile(sn_nmf_ws *w, const float *X, const float *Ht, int64_t t, double *dst) {
  const int F = (int)w->c.F, R = (int)w->c.R;
#ifdef SN_NMF_HAVE_AVX512
  if (w->fast) {
    k_xht(X, F, R, Ht, t, dst);
    return;
  }
#endif
  cblas_sgemm(CblasColMajor, CblasNoTrans, CblasTrans, F, R, (int)t, 1.0f, X, F, Ht, R, 0.0f,
              w->fr, F);
  add_fr(w, dst);
}

/* One cd sweep over the H columns of a tile given nh = W^T V_t, as sklearn's
 * _update_cdnmf_fast on the transposed problem, for SN_CD_LANES columns at
 * once (one column per SIMD lane; each lane does the scalar sweep's
 * operations in the same order, with fused multiply-adds in the AVX-512
 * build). Returns the sum of |projected gradient|. */
static double cd_sweep_h(sn_nmf_ws *w, float *Ht, int64_t t) {
  const sn_nmf_cfg *c = &w->c;
  const int64_t R = c->R;
  const double *G = w->WtW, l1 = c->l1_H, l2 = c->l2_H;
  double *h = w->cdh, *x = w->cdx; /* R x SN_CD_LANES, lane fastest */
  double vl[SN_CD_LANES] = {0};
  for (int64_t j0 = 0; j0 < t; j0 += SN_CD_LANES) {
    const int64_t nl = t - j0 < SN_CD_LANES ? t - j0 : SN_CD_LANES;
    /* unused lanes: h = x = 0 stay 0 and add 0 to the violation (l1 >= 0) */
    for (int64_t r = 0; r < R; r++)
      for (int64_t l = 0; l < SN_CD_LANES; l++) {
        h[r * SN_CD_LANES + l] = l < nl ? Ht[(j0 + l) * R + r] : 0.0;
        x[r * SN_CD_LANES + l] = l < nl ? w->nh[(j0 + l) * R + r] : 0.0;
      }
#ifdef SN_NMF_HAVE_AVX512
    const __m512d vl1 = _mm512_set1_pd(l1), vl2 = _mm512_set1_pd(l2), z = _mm512_setzero_pd();
    for (int64_t s = 0; s < R; s++) {
      double *hs = h + s * SN_CD_LANES;
      const double *xs = x + s * SN_CD_LANES;
      __m512d g0 = _mm512_sub_pd(vl1, _mm512_loadu_pd(xs)), g1 = _mm512_sub_pd(vl1, _mm512_loadu_pd(xs + 8));
      for (int64_t r = 0; r < R; r++) {
        const __m512d Gsr = _mm512_set1_pd(G[s + r * R]);
        g0 = _mm512_fmadd_pd(Gsr, _mm512_loadu_pd(h + r * SN_CD_LANES), g0);
        g1 = _mm512_fmadd_pd(Gsr, _mm512_loadu_pd(h + r * SN_CD_LANES + 8), g1);
      }
      const double hess = G[s + s * R] + l2;
      const __m512d vh = _mm512_set1_pd(hess);
      for (int q = 0; q < 2; q++) {
        __m512d hv = _mm512_loadu_pd(hs + 8 * q), gr = _mm512_fmadd_pd(vl2, hv, q ? g1 : g0);
        __mmask8 zero = _mm512_cmp_pd_mask(hv, z, _CMP_EQ_OQ);
        __m512d pg = _mm512_mask_min_pd(gr, zero, gr, z); /* min(gr, 0); NaN -> 0 */
        _mm512_storeu_pd(vl + 8 * q, _mm512_add_pd(_mm512_loadu_pd(vl + 8 * q), _mm512_abs_pd(pg)));
        if (hess != 0.0)
          _mm512_storeu_pd(hs + 8 * q, _mm512_max_pd(_mm512_sub_pd(hv, _mm512_div_pd(gr, vh)), z));
      }
    }
#else
    double g[SN_CD_LANES];
    for (int64_t s = 0; s < R; s++) {
      double *hs = h + s * SN_CD_LANES;
      const double *xs = x + s * SN_CD_LANES;
      for (int l = 0; l < SN_CD_LANES; l++) g[l] = -(xs[l] - l1);
      for (int64_t r = 0; r < R; r++) {
        const double Gsr = G[s + r * R];
        const double *hr = h + r * SN_CD_LANES;
        for (int l = 0; l < SN_CD_LANES; l++) g[l] += Gsr * hr[l];
      }
      const double hess = G[s + s * R] + l2;
      for (int l = 0; l < SN_CD_LANES; l++) {
        double gr = g[l] + l2 * hs[l];
        /* fmin(0, gr) and fmax(., 0) written as selects (same results, NaN
         * included) so the lane loop vectorizes instead of calling libm */
        double pg = (hs[l] == 0.0) ? (gr < 0.0 ? gr : 0.0) : gr;
        vl[l] += fabs(pg);
        double hn = hs[l] - gr / hess;
        if (hess != 0.0) hs[l] = hn > 0.0 ? hn : 0.0;
      }
    }
#endif
    for (int64_t l = 0; l < nl; l++)
      for (int64_t r = 0; r < R; r++) Ht[(j0 + l) * R + r] = (float)h[r * SN_CD_LANES + l];
  }
  double viol = 0;
  for (int l = 0; l < SN_CD_LANES; l++) viol += vl[l];
  return viol;
}

/* ---- the update functions, one per solver and loss ---------------------------
 * H updates of one tile (update_h), the tile's share of the next W update and
 * of the loss (acc), and the W update from the summed accumulators
 * (update_w). sn_nmf_ws_create picks one row of sn_nmf_ops_tab (PLANC's
 * updateW/updateH per algorithm) and the tile loop calls through it. */

/* Frobenius MU: H *= (W^T V) / (W^T W H + l1 + l2 H) (0 -> eps). */
static void h_mu_fro(sn_nmf_ws *w, const float *Vt, float *Ht, int64_t t, double *acc) {
  (void)acc;
  const sn_nmf_cfg *c = &w->c;
  const int R = (int)c->R;
  wtv_tile(w, Vt, t, w->nh); /* nh = W^T V_t */
  /* dh = (W^T W) H_t */
  cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, R, (int)t, R, 1.0f, w->WtWf, R, Ht, R, 0.0f,
              w->dh, R);
  const float l1 = (float)c->l1_H, l2 = (float)c->l2_H, feps = (float)SN_NMF_EPS;
  const size_t n = (size_t)R * (size_t)t;
  float *h = Ht;
  const float *nm = w->nh, *dn = w->dh;
  for (size_t q = 0; q < n; q++) {
    float d = dn[q];
    if (l1 > 0) d += l1;
    if (l2 > 0) d += l2 * h[q];
    if (d == 0.0f) d = feps;
    h[q] = h[q] * (nm[q] / d);
  }
}

/* anls: the exact NNLS per column, min 0.5 ||v - W h||^2 + 0.5 l2 ||h||^2 +
 * l1 sum(h), warm from h. */
static void h_anls(sn_nmf_ws *w, const float *Vt, float *Ht, int64_t t, double *acc) {
  (void)acc;
  const sn_nmf_cfg *c = &w->c;
  const int R = (int)c->R;
  wtv_tile(w, Vt, t, w->nh);
  const size_t n = (size_t)R * (size_t)t;
  for (size_t q = 0; q < n; q++) {
    w->xa[q] = (double)w->nh[q] - c->l1_H;
    w->xb[q] = Ht[q];
  }
  sn_nnls_opts no;
  sn_nnls_opts_default(&no);
  no.ridge = c->l2_H;
  no.warm = 1;
  if (w->err.code == SN_OK) sn_nnls_solve_gram(R, w->WtW, t, w->xa, R, w->xb, R, &no, NULL, &w->err);
  for (size_t q = 0; q < n; q++) Ht[q] = (float)w->xb[q];
}

/* cd: one sweep over the tile's columns, SN_CD_LANES at once (cd_sweep_h). */
static void h_cd(sn_nmf_ws *w, const float *Vt, float *Ht, int64_t t, double *acc) {
  wtv_tile(w, Vt, t, w->nh);
  acc[w->L.viol] += cd_sweep_h(w, Ht, t);
}

/* cd, plain (cfg.plain): the same sweep column by column, with libm's fmin/fmax. */
static void h_cd_plain(sn_nmf_ws *w, const float *Vt, float *Ht, int64_t t, double *acc) {
  const sn_nmf_cfg *c = &w->c;
  const int R = (int)c->R;
  const double *G = w->WtW;
  wtv_tile(w, Vt, t, w->nh);
  double viol = 0;
  double *h = w->row;
  for (int64_t j = 0; j < t; j++) {
    float *hj = Ht + j * R;
    const float *xj = w->nh + j * R;
    for (int r = 0; r < R; r++) h[r] = hj[r];
    for (int s = 0; s < R; s++) {
      double grad = -((double)xj[s] - c->l1_H);
      for (int r = 0; r < R; r++) grad += G[s + r * R] * h[r];
      grad += c->l2_H * h[s];
      double pg = (h[s] == 0.0) ? fmin(0.0, grad) : grad;
      viol += fabs(pg);
      double hess = G[s + s * R] + c->l2_H;
      if (hess != 0.0) h[s] = fmax(h[s] - grad / hess, 0.0);
    }
    for (int r = 0; r < R; r++) hj[r] = (float)h[r];
  }
  acc[w->L.viol] += viol;
}

/* KL MU: H *= (W^T (V / WH)) / (column sums of W + l1 + l2 H) (0 -> eps), with
 * the clip of cfg.h_rule. gamma is 1. */
static void h_mu_kl(sn_nmf_ws *w, const float *Vt, float *Ht, int64_t t, double *acc) {
  (void)acc;
  const sn_nmf_cfg *c = &w->c;
  const int R = (int)c->R;
  wh_ratio_kl(w, Vt, Ht, t, NULL); /* WH with the current W and old H */
  wtv_tile(w, w->A, t, w->nh);
  const int clip = w->clip_h;
  for (int64_t j = 0; j < t; j++) {
    float *hj = Ht + j * R;
    const float *nj = w->nh + j * R;
    for (int r = 0; r < R; r++) {
      double d = w->wsum[r];
      if (c->l1_H > 0) d += c->l1_H;
      if (c->l2_H > 0) d += c->l2_H * hj[r];
      if (d == 0.0) d = SN_NMF_EPS;
      double delta = nj[r] / d;
      float h = (float)(hj[r] * delta);
      if (clip && h < DBL_EPSILON) h = 0.0f;
      hj[r] = h;
    }
  }
}

/* beta MU (IS and any beta but 1, 2): H *= ((W^T A) / (W^T B + l1 + l2 H))^gamma. */
static void h_mu_beta(sn_nmf_ws *w, const float *Vt, float *Ht, int64_t t, double *acc) {
  (void)acc;
  const sn_nmf_cfg *c = &w->c;
  const int R = (int)c->R;
  w->ops.wh_ratio(w, Vt, Ht, t, NULL);
  wtv_tile(w, w->A, t, w->nh);
  wtv_tile(w, w->B, t, w->dh);
  const double g = w->gamma;
  const int clip = w->clip_h;
  for (int64_t j = 0; j < t; j++) {
    float *hj = Ht + j * R;
    const float *nj = w->nh + j * R, *dj = w->dh + j * R;
    for (int r = 0; r < R; r++) {
      double d = (double)dj[r];
      if (c->l1_H > 0) d += c->l1_H;
      if (c->l2_H > 0) d += c->l2_H * hj[r];
      if (d == 0.0) d = SN_NMF_EPS;
      double delta = nj[r] / d;
      if (g != 1.0) delta = pow(delta, g);
      float h = (float)(hj[r] * delta);
      if (clip && h < DBL_EPSILON) h = 0.0f;
      hj[r] = h;
    }
  }
}

/* Frobenius (mu, cd, anls): num += V_t H_t^T, den += H_t H_t^T, loss += 0.5 ||V_t - W H_t||^2. */
static void acc_fro(sn_nmf_ws *w, const float *Vt, const float *Ht, int64_t t, int want_acc, int want_loss,
                    double *acc) {
  const int F = (int)w->c.F, R = (int)w->c.R;
  if (want_acc) {
    xht_tile(w, Vt, Ht, t, acc + w->L.num);
    double *hh = acc + w->L.den;
#ifdef SN_NMF_HAVE_AVX512
    if (w->fast) {
      k_hht(Ht, R, t, hh);
      hh = NULL;
    }
#endif
    if (hh) {
      cblas_ssyrk(CblasColMajor, CblasLower, CblasNoTrans, R, (int)t, 1.0f, Ht, R, 0.0f, w->rr, R);
      for (int b = 0; b < R; b++)
        for (int a = b; a < R; a++) {
          hh[a + b * R] += w->rr[a + b * R];
          if (a != b) hh[b + a * R] += w->rr[a + b * R];
        }
    }
  }
#ifdef SN_NMF_HAVE_AVX512
  if (want_loss && w->fast) {
    acc[w->L.loss] += 0.5 * k_wh_fused(0, w->W, F, R, Ht, t, Vt, NULL, 1);
    want_loss = 0;
  }
#endif
  if (want_loss) {
    wh_tile(w, Ht, t);
    size_t n = (size_t)F * (size_t)t;
    float *T = w->T;
    for (size_t k = 0; k < n; k++) {
      float d = Vt[k] - w->WH[k];
      T[k] = d * d;
    }
    acc[w->L.loss] += 0.5 * sum_lanes(T, n);
  }
}

/* KL: num += (V / WH)_t H_t^T, den += the row sums of H_t, loss += the KL terms. */
static void acc_kl(sn_nmf_ws *w, const float *Vt, const float *Ht, int64_t t, int want_acc, int want_loss,
                   double *acc) {
  const int R = (int)w->c.R;
  wh_ratio_kl(w, Vt, Ht, t, want_loss ? acc + w->L.loss : NULL);
  if (!want_acc) return;
  xht_tile(w, w->A, Ht, t, acc + w->L.num);
  double *hs = acc + w->L.den;
  for (int64_t j = 0; j < t; j++)
    for (int r = 0; r < R; r++) hs[r] += Ht[j * R + r];
}

/* Any other beta: num += A_t H_t^T, den += B_t H_t^T, loss += the beta-divergence terms. */
static void acc_beta(sn_nmf_ws *w, const float *Vt, const float *Ht, int64_t t, int want_acc, int want_loss,
                     double *acc) {
  w->ops.wh_ratio(w, Vt, Ht, t, want_loss ? acc + w->L.loss : NULL);
  if (!want_acc) return;
  xht_tile(w, w->A, Ht, t, acc + w->L.num);
  xht_tile(w, w->B, Ht, t, acc + w->L.den);
}

/* anls W: the exact NNLS for the learned columns f given the fixed ones c, row
 * by row: AtA = (H H^T)_ff, AtB_i = (V H^T)_if - l1 - sum_c W_ic (H H^T)_cf. */
static double w_anls(sn_nmf_ws *w, const double *acc, float *W) {
  const sn_nmf_cfg *c = &w->c;
  const int64_t F = c->F, R = c->R, r0 = c->n_fixed;
  const double *num = acc + w->L.num, *den = acc + w->L.den;
  const int64_t nf = R - r0;
  if (nf == 0) return 0.0;
  for (int64_t a = 0; a < nf; a++)
    for (int64_t b = 0; b < nf; b++) w->gg[a + b * nf] = den[(r0 + a) + (r0 + b) * R];
  for (int64_t i = 0; i < F; i++)
    for (int64_t a = 0; a < nf; a++) {
      double s = num[i + (r0 + a) * F] - c->l1_W;
      for (int64_t q = 0; q < r0; q++) s -= (double)W[i + q * F] * den[q + (r0 + a) * R];
      w->xa[a + i * nf] = s;
      w->xb[a + i * nf] = W[i + (r0 + a) * F];
    }
  sn_nnls_opts no;
  sn_nnls_opts_default(&no);
  no.ridge = c->l2_W;
  no.warm = 1;
  if (w->err.code == SN_OK) sn_nnls_solve_gram((int)nf, w->gg, F, w->xa, nf, w->xb, nf, &no, NULL, &w->err);
  for (int64_t i = 0; i < F; i++)
    for (int64_t a = 0; a < nf; a++) W[i + (r0 + a) * F] = (float)w->xb[a + i * nf];
  return 0.0;
}

/* cd W: one sweep over each row of W's learned columns (den = H H^T). Returns
 * the sum of |projected gradient|. */
static double w_cd(sn_nmf_ws *w, const double *acc, float *W) {
  const sn_nmf_cfg *c = &w->c;
  const int64_t F = c->F, R = c->R, r0 = c->n_fixed;
  const double *num = acc + w->L.num, *G = acc + w->L.den;
  double *row = w->row;
  double viol = 0;
  for (int64_t i = 0; i < F; i++) {
    for (int64_t r = 0; r < R; r++) row[r] = W[i + r * F];
    for (int64_t s = r0; s < R; s++) {
      double grad = -(num[i + s * F] - c->l1_W);
      for (int64_t r = 0; r < R; r++) grad += G[s + r * R] * row[r];
      grad += c->l2_W * row[s];
      double pg = (row[s] == 0.0) ? fmin(0.0, grad) : grad;
      viol += fabs(pg);
      double hess = G[s + s * R] + c->l2_W;
      if (hess != 0.0) row[s] = fmax(row[s] - grad / hess, 0.0);
    }
    for (int64_t r = r0; r < R; r++) W[i + r * F] = (float)row[r];
  }
  return viol;
}

/* The end of an MU row update: d = dd + l1 + l2 row (0 -> eps) for the learned
 * r (dd holds the bare denominators), row *= (num / d)^gamma, store (clip:
 * beta < 1, values < DBL_EPSILON -> 0). */
static inline void mu_w_row(const sn_nmf_ws *w, const double *num, int64_t i, double *row, double *dd, float *W,
                            int clip) {
  const sn_nmf_cfg *c = &w->c;
  const int64_t F = c->F, R = c->R, r0 = c->n_fixed;
  const double g = w->gamma;
  for (int64_t r = r0; r < R; r++) {
    double d = dd[r];
    if (c->l1_W > 0) d += c->l1_W;
    if (c->l2_W > 0) d += c->l2_W * row[r];
    dd[r] = d == 0.0 ? SN_NMF_EPS : d;
  }
  for (int64_t r = r0; r < R; r++) {
    double delta = num[i + r * F] / dd[r];
    if (g != 1.0) delta = pow(delta, g);
    row[r] *= delta;
  }
  for (int64_t r = r0; r < R; r++) {
    float v = (float)row[r];
    if (clip && v < DBL_EPSILON) v = 0.0f;
    W[i + r * F] = v;
  }
}

/* Frobenius MU W: den = (W H H^T)[i, r] with the old row of W. */
static double w_mu_fro(sn_nmf_ws *w, const double *acc, float *W) {
  const int64_t F = w->c.F, R = w->c.R, r0 = w->c.n_fixed;
  const double *den = acc + w->L.den;
  double *row = w->row, *dd = w->row + R;
  for (int64_t i = 0; i < F; i++) {
    for (int64_t r = 0; r < R; r++) row[r] = W[i + r * F];
    for (int64_t r = r0; r < R; r++) {
      double d = 0;
      for (int64_t s = 0; s < R; s++) d += row[s] * den[s + r * R];
      dd[r] = d;
    }
    mu_w_row(w, acc + w->L.num, i, row, dd, W, 0);
  }
  return 0.0;
}

/* KL MU W: den = the row sums of H. */
static double w_mu_kl(sn_nmf_ws *w, const double *acc, float *W) {
  const int64_t F = w->c.F, R = w->c.R, r0 = w->c.n_fixed;
  const double *den = acc + w->L.den;
  double *row = w->row, *dd = w->row + R;
  for (int64_t i = 0; i < F; i++) {
    for (int64_t r = 0; r < R; r++) row[r] = W[i + r * F];
    for (int64_t r = r0; r < R; r++) dd[r] = den[r];
    mu_w_row(w, acc + w->L.num, i, row, dd, W, 0);
  }
  return 0.0;
}

/* beta MU W: den = (B H^T)[i, r]. */
static double w_mu_beta(sn_nmf_ws *w, const double *acc, float *W) {
  const int64_t F = w->c.F, R = w->c.R, r0 = w->c.n_fixed;
  const double *den = acc + w->L.den;
  double *row = w->row, *dd = w->row + R;
  const int clip = w->c.beta < 1.0;
  for (int64_t i = 0; i < F; i++) {
    for (int64_t r = 0; r < R; r++) row[r] = W[i + r * F];
    for (int64_t r = r0; r < R; r++) dd[r] = den[i + r * F];
    mu_w_row(w, acc + w->L.num, i, row, dd, W, clip);
  }
  return 0.0;
}

/* The table: [solver][loss]. cd and anls exist for the Frobenius loss only
 * (sn_nmf_ws_create refuses the rest); cd with cfg.plain takes h_cd_plain. */
enum { SN_LOSS_FRO = 0, SN_LOSS_KL, SN_LOSS_IS, SN_LOSS_BETA, SN_LOSS_N };
static const sn_nmf_ops sn_nmf_ops_tab[3][SN_LOSS_N] = {
    [SN_NMF_MU] = {[SN_LOSS_FRO] = {h_mu_fro, acc_fro, w_mu_fro, NULL},
                   [SN_LOSS_KL] = {h_mu_kl, acc_kl, w_mu_kl, wh_ratio_kl},
                   [SN_LOSS_IS] = {h_mu_beta, acc_beta, w_mu_beta, wh_ratio_is},
                   [SN_LOSS_BETA] = {h_mu_beta, acc_beta, w_mu_beta, wh_ratio_beta}},
    [SN_NMF_CD] = {[SN_LOSS_FRO] = {h_cd, acc_fro, w_cd, NULL}},
    [SN_NMF_ANLS] = {[SN_LOSS_FRO] = {h_anls, acc_fro, w_anls, NULL}},
};

static void select_ops(const sn_nmf_cfg *c, sn_nmf_ops *ops) {
  const int loss = c->beta == 2.0 ? SN_LOSS_FRO : c->beta == 1.0 ? SN_LOSS_KL : c->beta == 0.0 ? SN_LOSS_IS : SN_LOSS_BETA;
  *ops = sn_nmf_ops_tab[c->solver][loss];
  if (c->solver == SN_NMF_CD && c->plain) ops->update_h = h_cd_plain;
}

void sn_nmf_pass(sn_nmf_ws *w, const float *V, int64_t n, float *H, int update_h, int want_acc,
                 int want_loss, double *acc) {
  const int64_t F = w->c.F, R = w->c.R, T = w->c.tile;
  const sn_nmf_ops ops = w->ops;
  for (int64_t j0 = 0; j0 < n; j0 += T) {
    int64_t t = n - j0 < T ? n - j0 : T;
    const float *Vt = V + j0 * F;
    float *Ht = H + j0 * R;
    if (update_h) ops.update_h(w, Vt, Ht, t, acc);
    if (want_acc || want_loss) ops.acc(w, Vt, Ht, t, want_acc, want_loss, acc);
  }
}

void sn_nmf_pass_h(sn_nmf_ws *w, const float *V, int64_t n, float *H, int64_t n_iter, double *acc) {
  const int64_t F = w->c.F, R = w->c.R, T = w->c.tile;
  for (int64_t j0 = 0; j0 < n; j0 += T) {
    int64_t t = n - j0 < T ? n - j0 : T;
    for (int64_t it = 0; it < n_iter; it++) w->ops.update_h(w, V + j0 * F, H + j0 * R, t, acc);
  }
}

double sn_nmf_update_w(sn_nmf_ws *w, const double *acc, float *W) { return w->ops.update_w(w, acc, W); }
/* ---- plain reference (oracle), doubles, whole matrices ----------------------- */

static double ref_wh(const double *W, const double *H, int64_t F, int64_t R, int64_t i,
                     int64_t j) {
  double s = 0;
  for (int64_t r = 0; r < R; r++) s += W[i + r * F] * H[r + j * R];
  return s;
}

double sn_nmf_ref_loss(const sn_nmf_cfg *c, const float *V, int64_t n, const double *W,
                       const double *H) {
  const int64_t F = c->F, R = c->R;
  const double beta = c->beta, eps = SN_NMF_EPS;
  double s1 = 0, s2 = 0, s3 = 0;
  for (int64_t j = 0; j < n; j++)
    for (int64_t i = 0; i < F; i++) {
      double wh = ref_wh(W, H, F, R, i, j), v = V[i + j * F];
      if (beta == 2.0) {
        s1 += (v - wh) * (v - wh);
        continue;
      }
      double whs = wh == 0.0 ? eps : wh;
      if (beta == 1.0) {
        s2 += wh;
        if (v > eps) s1 += v * log(v / whs) - v;
      } else if (beta == 0.0) {
        if (v > eps) s1 += v / whs - log(v / whs);
        s2 -= 1.0;
      } else {
        s3 += pow(wh, beta);
        if (v > eps) {
          s1 += pow(v, beta);
          s2 += v * pow(whs, beta - 1.0);
        }
      }
    }
  if (beta == 2.0) return 0.5 * s1;
  if (beta == 1.0 || beta == 0.0) return s1 + s2;
  return (s1 - beta * s2 + (beta - 1.0) * s3) / (beta * (beta - 1.0));
}

/* One MU factor update of X (rows x R, as W) given the other factor, written
 * for W; H is handled by the transposed call below. */
void sn_nmf_ref_mu_iter(const sn_nmf_cfg *c, const float *V, int64_t n, double *W, double *H) {
  const int64_t F = c->F, R = c->R;
  const double beta = c->beta, eps = SN_NMF_EPS, g = sn_nmf_gamma(beta);
  double num, den;
  double *nW = sn_calloc((size_t)(F * R) * sizeof(double), NULL, NULL);
  double *nH = sn_calloc((size_t)(R * (n > 0 ? n : 1)) * sizeof(double), NULL, NULL);
  if (!nW || !nH) {
    sn_free(nW);
    sn_free(nH);
    return;
  }
  /* W update */
  for (int64_t i = 0; i < F; i++)
    for (int64_t r = 0; r < R; r++) {
      num = den = 0;
      for (int64_t j = 0; j < n; j++) {
        double wh = ref_wh(W, H, F, R, i, j), v = V[i + j * F], h = H[r + j * R];
        double whs = (beta < 2.0 && wh == 0.0) ? eps : wh;
        double whd = (beta < 1.0 && wh == 0.0) ? eps : wh;
        num += v * pow(whs, beta - 2.0) * h;
        den += (beta == 1.0 ? 1.0 : pow(whd, beta - 1.0)) * h;
      }
      if (c->l1_W > 0) den += c->l1_W;
      if (c->l2_W > 0) den += c->l2_W * W[i + r * F];
      if (den == 0) den = eps;
      double d = pow(num / den, g);
      nW[i + r * F] = r < c->n_fixed ? W[i + r * F] : W[i + r * F] * d;
      if (r >= c->n_fixed && beta < 1.0 && nW[i + r * F] < DBL_EPSILON) nW[i + r * F] = 0;
    }
  memcpy(W, nW, (size_t)(F * R) * sizeof(double));
  /* H update */
  for (int64_t j = 0; j < n; j++)
    for (int64_t r = 0; r < R; r++) {
      num = den = 0;
      double wsum = 0;
      for (int64_t i = 0; i < F; i++) wsum += W[i + r * F];
      for (int64_t i = 0; i < F; i++) {
        double wh = ref_wh(W, H, F, R, i, j), v = V[i + j * F], w = W[i + r * F];
        double whs = (beta < 2.0 && wh == 0.0) ? eps : wh;
        double whd = (beta < 1.0 && wh == 0.0) ? eps : wh;
        num += w * v * pow(whs, beta - 2.0);
        den += w * (beta == 1.0 ? 1.0 : pow(whd, beta - 1.0));
      }
      if (beta == 1.0 && wsum == 0.0) den = 1.0;
      if (c->l1_H > 0) den += c->l1_H;
      if (c->l2_H > 0) den += c->l2_H * H[r + j * R];
      if (den == 0) den = eps;
      nH[r + j * R] = H[r + j * R] * pow(num / den, g);
      if (beta <= 1.0 && nH[r + j * R] < DBL_EPSILON) nH[r + j * R] = 0;
    }
  memcpy(H, nH, (size_t)(R * n) * sizeof(double));
  sn_free(nW);
  sn_free(nH);
}
