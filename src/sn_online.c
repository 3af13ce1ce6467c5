/* Serial numerics of online NMF (see sn_online.h). */
#include "sn_online.h"

#include <float.h>
#include <math.h>

double sn_online_rho(double forget_factor, int64_t batch, int64_t N) {
  return pow(forget_factor, (double)batch / (double)N);
}

/* The bare MU denominators dd[r0..R) of row i of W (row: the old row), one
 * function per loss: Frobenius (W H H^T)[i, r]; KL the row sums of H (0 -> 1);
 * any other beta (B H^T)[i, r]. */
typedef void (*den_fn)(const sn_nmf_cfg *c, const double *den, int64_t i, const double *row, double *dd);

static void den_fro(const sn_nmf_cfg *c, const double *den, int64_t i, const double *row, double *dd) {
  (void)i;
  for (int64_t r = c->n_fixed; r < c->R; r++) {
    double d = 0;
    for (int64_t s = 0; s < c->R; s++) d += row[s] * den[s + r * c->R];
    dd[r] = d;
  }
}

static void den_kl(const sn_nmf_cfg *c, const double *den, int64_t i, const double *row, double *dd) {
  (void)i, (void)row;
  for (int64_t r = c->n_fixed; r < c->R; r++) dd[r] = den[r] == 0.0 ? 1.0 : den[r];
}

static void den_beta(const sn_nmf_cfg *c, const double *den, int64_t i, const double *row, double *dd) {
  (void)row;
  for (int64_t r = c->n_fixed; r < c->R; r++) dd[r] = den[i + r * c->F];
}

void sn_online_update_w(const sn_nmf_cfg *c, const sn_nmf_layout *L, const double *acc, double l1_W,
                        double l2_W, double rho, double *A, double *B, float *W, double *row) {
  const int64_t F = c->F, R = c->R, r0 = c->n_fixed;
  const double *num = acc + L->num, *den = acc + L->den, g = sn_nmf_gamma(c->beta);
  const den_fn den_of = c->beta == 2.0 ? den_fro : c->beta == 1.0 ? den_kl : den_beta;
  const int clip = c->beta <= 1.0;
  double *dd = row + R;
  for (int64_t i = 0; i < F; i++) {
    for (int64_t r = 0; r < R; r++) row[r] = W[i + r * F];
    den_of(c, den, i, row, dd);
    for (int64_t r = r0; r < R; r++) {
      double d = dd[r];
      if (l1_W > 0) d += l1_W;
      if (l2_W > 0) d += l2_W * row[r];
      dd[r] = d == 0.0 ? SN_NMF_EPS : d;
    }
    for (int64_t r = r0; r < R; r++) {
      const int64_t q = i + r * F;
      double w = g != 1.0 ? pow(row[r], 1.0 / g) : row[r];
      A[q] = rho * A[q] + num[q] * w;
      B[q] = rho * B[q] + dd[r];
      double v = A[q] / B[q];
      if (g != 1.0) v = pow(v, g);
      float f = (float)v;
      if (clip && f < DBL_EPSILON) f = 0.0f;
      W[q] = f;
    }
  }
}
