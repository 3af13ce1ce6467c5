/* Serial numerics of online NMF (see sn_online.h). */
#include "sn_online.h"

#include <float.h>
#include <math.h>

double sn_online_rho(double forget_factor, int64_t batch, int64_t N) {
  return pow(forget_factor, (double)batch / (double)N);
}

void sn_online_update_w(const sn_nmf_cfg *c, const sn_nmf_layout *L, const double *acc, double l1_W,
                        double l2_W, double rho, double *A, double *B, float *W, double *row) {
  const int64_t F = c->F, R = c->R, r0 = c->n_fixed;
  const double *num = acc + L->num, *den = acc + L->den, g = sn_nmf_gamma(c->beta);
  double *dd = row + R;
  for (int64_t i = 0; i < F; i++) {
    for (int64_t r = 0; r < R; r++) row[r] = W[i + r * F];
    for (int64_t r = r0; r < R; r++) {
      double d;
      if (c->beta == 2.0) {
        d = 0; /* (W H H^T)[i, r] with the old row of W */
        for (int64_t s = 0; s < R; s++) d += row[s] * den[s + r * R];
      } else if (c->beta == 1.0) {
        d = den[r] == 0.0 ? 1.0 : den[r];
      } else {
        d = den[i + r * F];
      }
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
      if (c->beta <= 1.0 && f < DBL_EPSILON) f = 0.0f;
      W[q] = f;
    }
  }
}
