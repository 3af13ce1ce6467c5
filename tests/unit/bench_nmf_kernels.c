/* Benchmark (not a test): CPU seconds of one sn_nmf_pass (H update fused with
 * the next W accumulators, no loss) over a V block of F x N float32, for
 * mu-fro, cd-fro and mu-kl, plus the loss pass. Prints the minimum and the
 * median of REPS passes (the machine is shared: the minimum is the steadier
 * number for comparing kernel variants).
 *   bench_nmf_kernels [N=100000] [REPS=7] [F=1025] [R=16] [TILE=64] [ONLY] [PLAIN]
 * ONLY: run the cases whose name starts with it; PLAIN=1: cfg.plain (BLAS path). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "sn_nmf.h"

static double cpu_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmpd(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  int64_t N = argc > 1 ? atoll(argv[1]) : 100000;
  int reps = argc > 2 ? atoi(argv[2]) : 7;
  int64_t F = argc > 3 ? atoll(argv[3]) : 1025, R = argc > 4 ? atoll(argv[4]) : 16;
  int64_t tile = argc > 5 ? atoll(argv[5]) : 64;
  float *V = malloc(sizeof(float) * (size_t)(F * N));
  float *W0 = malloc(sizeof(float) * (size_t)(F * R)), *W = malloc(sizeof(float) * (size_t)(F * R));
  float *H0 = malloc(sizeof(float) * (size_t)(R * N)), *H = malloc(sizeof(float) * (size_t)(R * N));
  uint64_t s = 88172645463325252ull;
#define U() (s ^= s << 13, s ^= s >> 7, s ^= s << 17, (float)((s >> 40) * (1.0 / 16777216.0)))
  for (int64_t k = 0; k < F * N; k++) V[k] = U() * U();
  for (int64_t k = 0; k < F * R; k++) W0[k] = 0.1f + U();
  for (int64_t k = 0; k < R * N; k++) H0[k] = 0.1f + U();
  struct { const char *name; double beta; int solver; int upd, acc, loss; } cs[] = {
      {"mu-fro pass", 2.0, SN_NMF_MU, 1, 1, 0}, {"cd-fro pass", 2.0, SN_NMF_CD, 1, 1, 0},
      {"mu-kl pass", 1.0, SN_NMF_MU, 1, 1, 0},  {"fro loss pass", 2.0, SN_NMF_MU, 0, 0, 1},
      {"kl loss pass", 1.0, SN_NMF_MU, 0, 0, 1}, {"mu-kl pass+loss", 1.0, SN_NMF_MU, 1, 1, 1}};
  const char *only = argc > 6 ? argv[6] : "";
  int plain = argc > 7 ? atoi(argv[7]) : 0;
  for (size_t q = 0; q < sizeof cs / sizeof cs[0]; q++) {
    if (strncmp(cs[q].name, only, strlen(only))) continue;
    sn_nmf_cfg c = {.F = F, .R = R, .beta = cs[q].beta, .solver = cs[q].solver, .tile = tile, .plain = plain};
    sn_nmf_ws *ws = NULL;
    sn_err e = {0};
    if (sn_nmf_ws_create(&c, &ws, &e)) { fprintf(stderr, "%s\n", e.msg); return 1; }
    sn_nmf_layout L;
    sn_nmf_layout_of(&c, 0, &L);
    double *acc = calloc((size_t)L.len, sizeof(double)), *t = calloc((size_t)reps, sizeof(double));
    double tw = 1e30;
    for (int r = 0; r < reps; r++) {
      memcpy(W, W0, sizeof(float) * (size_t)(F * R));
      memcpy(H, H0, sizeof(float) * (size_t)(R * N));
      double t0 = cpu_now();
      sn_nmf_set_w(ws, W);
      memset(acc, 0, sizeof(double) * (size_t)L.len);
      sn_nmf_pass(ws, V, N, H, cs[q].upd, cs[q].acc, cs[q].loss, acc);
      t[r] = cpu_now() - t0;
      double t1 = cpu_now();
      if (cs[q].acc) sn_nmf_update_w(ws, acc, W);
      double tu = cpu_now() - t1;
      if (tu < tw) tw = tu;
    }
    qsort(t, (size_t)reps, sizeof(double), cmpd);
    printf("%-16s min %.4f s  median %.4f s  (update_w min %.4f s)  acc[0] %.6g loss %.6g\n",
           cs[q].name, t[0], t[reps / 2], tw, acc[0], acc[L.loss]);
    free(acc);
    free(t);
    sn_nmf_ws_destroy(&ws);
  }
  free(V); free(W0); free(W); free(H0); free(H);
  return 0;
}
