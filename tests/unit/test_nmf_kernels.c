/* Unit test: the tiled, fused NMF pass (src/sn_nmf.c) against the plain
 * double-precision reference iteration (sklearn's MU sequence), for several
 * betas, regularization, fixed W columns and tile sizes that do not divide n.
 * Tolerance: 2e-4 relative (Frobenius norm) after 10 iterations (float32 kernels
 * against a double oracle). Also checks the fused loss against the reference. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sn_nmf.h"

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

static int run(double beta, int solver_unused, double reg, int64_t nfix, int64_t tile) {
  const int64_t F = 23, R = 4, n = 31;
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
  printf("beta %-4g reg %-5g fixed %lld tile %-3lld: relerr W %.2e H %.2e loss %.2e %s\n", beta, reg,
         (long long)nfix, (long long)tile, eW, eH, eL, bad ? "FAIL" : "ok");
  sn_nmf_ws_destroy(&ws);
  free(V); free(W); free(H); free(Wd); free(Hd); free(acc);
  return bad;
}

int main(void) {
  int fails = 0;
  const double betas[] = {2.0, 1.0, 0.0, 1.5, 3.0, 0.5};
  for (int b = 0; b < 6; b++)
    for (int reg = 0; reg < 2; reg++)
      fails += run(betas[b], 0, reg ? 0.01 : 0.0, reg ? 1 : 0, b % 2 ? 7 : 64);
  printf("%d passed, %d failed\n", 12 - fails, fails);
  return fails != 0;
}
