/* Unit test: the tiled, fused NMF pass (src/sn_nmf.c) against the plain
 * double-precision reference iteration (sklearn's MU sequence), for several
 * betas, regularization, fixed W columns and tile sizes that do not divide n.
 * Tolerance: 2e-4 relative (Frobenius norm) after 10 iterations (float32 kernels
 * against a double oracle). Also checks the fused loss against the reference.
 * R = 16 and 32 take the hand-written AVX-512 kernels (at the avx512 level):
 * against the oracle as above, and one pass against the BLAS/plain path
 * (cfg.plain = 1) within 1e-5, mu and cd. Runs at every kernel level this CPU
 * has (tests/unit/sn_test_levels.h); the oracle is the baseline build's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sn_nmf.h"
#include "sn_test_levels.h"

static uint64_t st = 88172645463325252ull;
static double urand(void) {
  st ^= st << 13; st ^= st >> 7; st ^= st << 17;
  return (double)(st >> 11) / 9007199254740992.0;
}

static double relerr_fd(const float *a, const double *b, size_t n) {
  double num = 0, den = 0;
  for (size_t k = 0; k < n; k++) { num += (a[k] - b[k]) * (a[k] - b[k]); den += b[k] * b[k]; }
  return sqrt(num / (den > 0 ? den : 1));
}

static int run(double beta, int64_t R, double reg, int64_t nfix, int64_t tile) {
  const int64_t F = R >= 16 ? 37 : 23, n = R >= 16 ? 83 : 31;
  sn_nmf_cfg c = {.F = F, .R = R, .beta = beta, .solver = SN_NMF_MU, .n_fixed = nfix, .tile = tile};
  c.l1_W = reg * n * 0.5; c.l2_W = reg * n * 0.5; c.l1_H = reg * F * 0.5; c.l2_H = reg * F * 0.5;
  float *V = malloc(sizeof(float) * F * n), *W = malloc(sizeof(float) * F * R), *H = malloc(sizeof(float) * R * n);
  double *Wd = malloc(sizeof(double) * F * R), *Hd = malloc(sizeof(double) * R * n);
  for (int64_t k = 0; k < F * n; k++) V[k] = (float)(urand() + (beta <= 0 ? 0.05 : 0.0));
  if (beta > 0) V[3] = 0.0f;
  for (int64_t k = 0; k < F * R; k++) { W[k] = (float)(0.2 + urand()); Wd[k] = W[k]; }
  for (int64_t k = 0; k < R * n; k++) { H[k] = (float)(0.2 + urand()); Hd[k] = H[k]; }
  sn_err e = {0};
  sn_nmf_ws *ws = NULL;
  if (sn_nmf_ws_create(&c, &ws, &e)) { fprintf(stderr, "%s\n", e.msg); return 1; }
  sn_nmf_layout L;
  sn_nmf_layout_of(&c, 0, &L);
  double *acc = calloc(L.len, sizeof(double));
  sn_nmf_set_w(ws, W);
  sn_nmf_pass(ws, V, n, H, 0, 1, 1, acc);
  double l0 = sn_nmf_ref_loss(&c, V, n, Wd, Hd);
  int bad = 0;
  if (fabs(acc[L.loss] - l0) > 1e-5 * fabs(l0)) {
    fprintf(stderr, "beta %g: opening loss %.9g vs ref %.9g\n", beta, acc[L.loss], l0); bad = 1;
  }
  for (int it = 0; it < 10; it++) {
    sn_nmf_update_w(ws, acc, W);
    sn_nmf_set_w(ws, W);
    memset(acc, 0, L.len * sizeof(double));
    sn_nmf_pass(ws, V, n, H, 1, 1, 1, acc);
    sn_nmf_ref_mu_iter(&c, V, n, Wd, Hd);
  }
  double eW = relerr_fd(W, Wd, F * R), eH = relerr_fd(H, Hd, R * n);
  double l = sn_nmf_ref_loss(&c, V, n, Wd, Hd);
  double eL = fabs(acc[L.loss] - l) / fabs(l);
  if (!(eW < 2e-4 && eH < 2e-4 && eL < 2e-4)) bad = 1;
  /* fixed columns untouched */
  for (int64_t k = 0; k < F * nfix; k++) if (W[k] != (float)Wd[k]) bad = 1;
  printf("beta %-4g R %-2lld%s reg %-5g fixed %lld tile %-3lld: relerr W %.2e H %.2e loss %.2e %s\n", beta, (long long)R,
         sn_nmf_ws_fast(ws) ? " (simd)" : "       ", reg, (long long)nfix, (long long)tile, eW, eH, eL, bad ? "FAIL" : "ok");
  sn_nmf_ws_destroy(&ws);
  free(V); free(W); free(H); free(Wd); free(Hd); free(acc);
  return bad;
}

/* The hand-written kernels (R a multiple of 16) against the BLAS + plain-loop
 * path (cfg.plain = 1) on one pass from the same state, for mu (beta 2, 1, 0.5)
 * and cd: updated H, the accumulators and the loss within 1e-5 relative. */
static int fast_vs_plain(double beta, int solver, int64_t R, int64_t tile, double reg) {
  const int64_t F = 37, n = 83;
  sn_nmf_cfg c = {.F = F, .R = R, .beta = beta, .solver = solver, .tile = tile};
  c.l1_W = c.l2_W = reg * n * 0.5; c.l1_H = c.l2_H = reg * F * 0.5;
  sn_nmf_cfg cp = c;
  cp.plain = 1;
  float *V = malloc(sizeof(float) * F * n), *W = malloc(sizeof(float) * F * R);
  float *H1 = malloc(sizeof(float) * R * n), *H2 = malloc(sizeof(float) * R * n);
  for (int64_t k = 0; k < F * n; k++) V[k] = (float)(urand() + 0.01);
  if (beta > 0) V[3] = V[F * 5 + 36] = V[F * 40] = 0.0f; /* zeros: the v > eps rules */
  for (int64_t k = 0; k < F * R; k++) W[k] = (float)(0.1 + urand());
  for (int64_t k = 0; k < R * n; k++) H1[k] = H2[k] = (float)(0.1 + urand());
  sn_err e = {0};
  sn_nmf_ws *w1 = NULL, *w2 = NULL;
  if (sn_nmf_ws_create(&c, &w1, &e) || sn_nmf_ws_create(&cp, &w2, &e)) { fprintf(stderr, "%s\n", e.msg); return 1; }
  sn_nmf_layout L;
  sn_nmf_layout_of(&c, 0, &L);
  double *a1 = calloc(L.len, sizeof(double)), *a2 = calloc(L.len, sizeof(double));
  sn_nmf_set_w(w1, W);
  sn_nmf_set_w(w2, W);
  sn_nmf_pass(w1, V, n, H1, 1, 1, 1, a1);
  sn_nmf_pass(w2, V, n, H2, 1, 1, 1, a2);
  double eh = 0, nh = 0, ea = 0, na = 0;
  for (int64_t k = 0; k < R * n; k++) { eh += (H1[k] - H2[k]) * (H1[k] - H2[k]); nh += (double)H2[k] * H2[k]; }
  for (int64_t k = 0; k < L.loss; k++) { ea += (a1[k] - a2[k]) * (a1[k] - a2[k]); na += a2[k] * a2[k]; }
  eh = sqrt(eh / nh); ea = sqrt(ea / na);
  double el = fabs(a1[L.loss] - a2[L.loss]) / fabs(a2[L.loss]);
  double ev = solver == SN_NMF_CD ? fabs(a1[L.viol] - a2[L.viol]) / fabs(a2[L.viol]) : 0.0;
  int bad = !sn_nmf_ws_fast(w1) || sn_nmf_ws_fast(w2) || !(eh < 1e-5 && ea < 1e-5 && el < 1e-5 && ev < 1e-5);
  printf("simd vs plain %s beta %-3g R %-2lld tile %-3lld reg %-4g: H %.1e acc %.1e loss %.1e viol %.1e %s\n",
         solver == SN_NMF_CD ? "cd" : "mu", beta, (long long)R, (long long)tile, reg, eh, ea, el, ev,
         bad ? "FAIL" : "ok");
  sn_nmf_ws_destroy(&w1); sn_nmf_ws_destroy(&w2);
  free(V); free(W); free(H1); free(H2); free(a1); free(a2);
  return bad;
}

static int all_checks(void) {
  int fails = 0, runs = 0;
  const double betas[] = {2.0, 1.0, 0.0, 1.5, 3.0, 0.5};
  for (int b = 0; b < 6; b++)
    for (int reg = 0; reg < 2; reg++, runs++)
      fails += run(betas[b], 4, reg ? 0.01 : 0.0, reg ? 1 : 0, b % 2 ? 7 : 64);
  /* R = 16, 32: the SIMD kernels where built with AVX-512 (F = 37, n = 83: row
   * and column remainders) against the same double oracle */
  for (int b = 0; b < 6; b++, runs++)
    fails += run(betas[b], b % 3 == 2 ? 32 : 16, b % 2 ? 0.01 : 0.0, b % 2, b % 2 ? 7 : 64);
  int simd = 0;
  {
    sn_nmf_cfg c = {.F = 4, .R = 16, .beta = 2.0, .tile = 4};
    sn_nmf_ws *w = NULL;
    sn_err e = {0};
    if (sn_nmf_ws_create(&c, &w, &e) == SN_OK) simd = sn_nmf_ws_fast(w);
    sn_nmf_ws_destroy(&w);
  }
  if (simd) {
    const double fb[] = {2.0, 1.0, 0.5};
    for (int b = 0; b < 3; b++)
      for (int q = 0; q < 2; q++, runs++)
        fails += fast_vs_plain(fb[b], SN_NMF_MU, q ? 32 : 16, q ? 64 : 19, q ? 0.01 : 0.0);
    for (int q = 0; q < 3; q++, runs++)
      fails += fast_vs_plain(2.0, SN_NMF_CD, q == 2 ? 32 : 16, q ? 64 : 19, q == 1 ? 0.01 : 0.0);
  } else {
    printf("level %s: no hand-written AVX-512 kernels, BLAS path only\n", sn_isa_name(sn_isa_level()));
  }
  /* the avx512 level must take the hand-written kernels (else they go untested) */
  if (sn_isa_level() == SN_ISA_AVX512 && !simd) {
    printf("FAIL: avx512 level without the AVX-512 kernels\n");
    fails++;
  }
  printf("%d passed, %d failed\n", runs - fails, fails);
  return fails;
}

int main(void) { return sn_test_levels(all_checks) != 0; }
