/* Serial separation kernels (see sn_mask.h). */
#include "sn_isa_clone.h" /* first: per-level names (sn_isa.h) */
#include "sn_mask.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include SN_BLAS_HEADER

void sn_mask_power_w(int64_t F, int64_t R, const float *W, double p, float *Wp) {
  const float pf = (float)p;
  for (int64_t q = 0; q < F * R; q++) Wp[q] = p == 1.0 ? W[q] : W[q] > 0.0f ? powf(W[q], pf) : 0.0f;
}

/* Floats of H^p staged on the stack per product (a chunk of frames). */
#define SN_MASK_STAGE 8192

void sn_mask_denominator(int64_t F, int64_t R, int64_t n, const float *Wp, const float *H, double p,
                         float *D) {
  if (n <= 0) return;
  if (p == 1.0) {
    cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)F, (int)n, (int)R, 1.0f, Wp, (int)F, H,
                (int)R, 0.0f, D, (int)F);
    return;
  }
  /* (W_j h_jt)^p = W_j^p h_jt^p for nonnegative W, h: D = W^p H^p, one product per chunk */
  float hp[SN_MASK_STAGE];
  const float pf = (float)p;
  const int64_t chunk = R < SN_MASK_STAGE ? SN_MASK_STAGE / R : 1;
  for (int64_t t0 = 0; t0 < n; t0 += chunk) {
    const int64_t nc = n - t0 < chunk ? n - t0 : chunk;
    if (R > SN_MASK_STAGE) { /* a dictionary wider than the stage: column by column, no staging */
      for (int64_t f = 0; f < F; f++) D[f + t0 * F] = 0.0f;
      for (int64_t k = 0; k < R; k++) {
        const float h = H[k + t0 * R];
        if (h > 0.0f) cblas_saxpy((int)F, powf(h, pf), Wp + k * F, 1, D + t0 * F, 1);
      }
      continue;
    }
    for (int64_t q = 0; q < R * nc; q++) {
      const float h = H[q + t0 * R];
      hp[q] = h > 0.0f ? powf(h, pf) : 0.0f;
    }
    cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)F, (int)nc, (int)R, 1.0f, Wp, (int)F, hp,
                (int)R, 0.0f, D + t0 * F, (int)F);
  }
}

/* Sum over the members of W_k^p h_kt^p (Wp: W^p; p == 1: plain sum) into out[F]. */
static void sn_group_sum(int64_t F, int64_t R, const float *Wp, const float *h, const int *idx, int m,
                         double p, float *out) {
  memset(out, 0, (size_t)F * sizeof(float));
  const float pf = (float)p;
  for (int j = 0; j < m; j++) {
    const float hk = h[idx[j]];
    if (!(hk > 0.0f)) continue;
    const float *w = Wp + (int64_t)idx[j] * F;
    const float a = p == 1.0 ? hk : powf(hk, pf);
    for (int64_t f = 0; f < F; f++) out[f] += w[f] * a;
  }
  (void)R;
}

void sn_mask_apply(sn_recon_kind kind, int64_t F, int64_t R, int64_t nf, const float *W,
                   const float *H, const float *D, const int *idx, int m, double p, int power,
                   const float *X, float *Y) {
  float num[F > 0 ? F : 1];
  const float share = (float)m / (float)R;
  for (int64_t t = 0; t < nf; t++) {
    const float *h = H + t * R;
    const float *x = X + 2 * t * F;
    float *y = Y + 2 * t * F;
    if (kind == SN_RECON_MASK) {
      sn_group_sum(F, R, W, h, idx, m, p, num);
      const float *d = D + t * F;
      for (int64_t f = 0; f < F; f++) {
        float g = d[f] > FLT_MIN ? num[f] / d[f] : share;
        y[2 * f] = g * x[2 * f];
        y[2 * f + 1] = g * x[2 * f + 1];
      }
    } else {
      sn_group_sum(F, R, W, h, idx, m, 1.0, num);
      for (int64_t f = 0; f < F; f++) {
        float a = power == 2 ? sqrtf(num[f]) : num[f];
        float re = x[2 * f], im = x[2 * f + 1];
        float r = sqrtf(re * re + im * im);
        if (r > 0.0f) {
          y[2 * f] = a * (re / r);
          y[2 * f + 1] = a * (im / r);
        } else {
          y[2 * f] = a;
          y[2 * f + 1] = 0.0f;
        }
      }
    }
  }
}

void sn_mask_magnitude(int64_t F, int64_t R, int64_t nf, const float *W, const float *H,
                       const int *idx, int m, int power, float *A) {
  for (int64_t t = 0; t < nf; t++) {
    float *a = A + t * F;
    sn_group_sum(F, R, W, H + t * R, idx, m, 1.0, a);
    if (power == 2)
      for (int64_t f = 0; f < F; f++) a[f] = sqrtf(a[f]);
  }
}

void sn_mask_phase_channel(int64_t F, int64_t R, int64_t nf, const float *W, const float *H, const float *V,
                           const int *idx, int m, int power, float *A, const float *X, float *Y) {
  sn_mask_magnitude(F, R, nf, W, H, idx, m, power, A);
  for (int64_t t = 0; t < nf; t++) {
    const float *v = V + t * F, *a = A + t * F, *x = X + 2 * t * F;
    float *y = Y + 2 * t * F, vmax = 0.0f;
    for (int64_t f = 0; f < F; f++) vmax = v[f] > vmax ? v[f] : vmax;
    /* bins 80 dB below the frame's loudest hold rounding noise: their share
     * |X| / V would be noise over noise, so they get (almost) nothing */
    const float floor = 1e-4f * vmax;
    for (int64_t f = 0; f < F; f++) {
      float d = v[f] + floor, g = d > FLT_MIN ? a[f] / d : 0.0f;
      y[2 * f] = x[2 * f] * g;
      y[2 * f + 1] = x[2 * f + 1] * g;
    }
  }
}

/* The hot loop of Griffin-Lim. GCC keeps sqrtf's errno path (and so does not
 * vectorize it) unless the whole file is built with -fno-math-errno, so the
 * AVX2 path is written out: 8 complex values a step, magnitudes by a
 * horizontal add of the squares, IEEE sqrt and division as the scalar loop. */
#if defined(__AVX2__)
#include <immintrin.h>
#endif
void sn_gl_update(int64_t n, const float *restrict S, float *restrict Z, float *restrict T, float c,
                  int first) {
  const float tiny = FLT_MIN;
  int64_t i = 0;
  if (first) c = 0.0f;
#if defined(__AVX2__)
  const __m256 vc = _mm256_set1_ps(c), vt = _mm256_set1_ps(tiny);
  const __m256i perm = _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7);
  for (; i + 8 <= n; i += 8) {
    __m256 z0 = _mm256_loadu_ps(Z + 2 * i), z1 = _mm256_loadu_ps(Z + 2 * i + 8);
    __m256 a0 = z0, a1 = z1;
    if (!first) {
      a0 = _mm256_sub_ps(z0, _mm256_mul_ps(vc, _mm256_loadu_ps(T + 2 * i)));
      a1 = _mm256_sub_ps(z1, _mm256_mul_ps(vc, _mm256_loadu_ps(T + 2 * i + 8)));
    }
    _mm256_storeu_ps(T + 2 * i, z0);
    _mm256_storeu_ps(T + 2 * i + 8, z1);
    /* [m0 m1 m4 m5 | m2 m3 m6 m7] */
    __m256 m = _mm256_hadd_ps(_mm256_mul_ps(a0, a0), _mm256_mul_ps(a1, a1));
    __m256 sp = _mm256_permutevar8x32_ps(_mm256_loadu_ps(S + i), perm);
    __m256 g = _mm256_div_ps(sp, _mm256_add_ps(_mm256_sqrt_ps(m), vt));
    _mm256_storeu_ps(Z + 2 * i, _mm256_mul_ps(a0, _mm256_unpacklo_ps(g, g)));
    _mm256_storeu_ps(Z + 2 * i + 8, _mm256_mul_ps(a1, _mm256_unpackhi_ps(g, g)));
  }
#endif
  for (; i < n; i++) {
    float re = Z[2 * i], im = Z[2 * i + 1];
    float ar = first ? re : re - c * T[2 * i], ai = first ? im : im - c * T[2 * i + 1];
    T[2 * i] = re;
    T[2 * i + 1] = im;
    float s = S[i] / (sqrtf(ar * ar + ai * ai) + tiny);
    Z[2 * i] = ar * s;
    Z[2 * i + 1] = ai * s;
  }
}

static inline uint64_t sn_mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void sn_gl_init(int64_t F, int64_t nf, int64_t t0, const float *S, int random, uint64_t seed,
                float *X) {
  const uint64_t key = sn_mix64(seed ^ 0x6a09e667f3bcc909ull);
  for (int64_t t = 0; t < nf; t++)
    for (int64_t f = 0; f < F; f++) {
      int64_t i = t * F + f;
      if (!random) {
        X[2 * i] = S[i];
        X[2 * i + 1] = 0.0f;
        continue;
      }
      uint64_t g = (uint64_t)((t0 + t) * F + f);
      double u = (double)(sn_mix64(key + g) >> 11) * (1.0 / 9007199254740992.0);
      double ph = 6.283185307179586476925 * u;
      X[2 * i] = (float)(S[i] * cos(ph));
      X[2 * i + 1] = (float)(S[i] * sin(ph));
    }
}
