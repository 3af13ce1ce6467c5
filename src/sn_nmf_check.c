/* Local checks on the matrix an NMF factorizes (see sn_nmf_check.h). */
#include "sn_nmf_check.h"

#include <math.h>

int sn_nmf_check_v(const float *V, int64_t F, int64_t n, int64_t col0, double beta, const char *path,
                   const char *what, sn_err *e) {
  for (int64_t j = 0; j < n; j++)
    for (int64_t i = 0; i < F; i++) {
      float v = V[i + j * F];
      if (!isfinite(v))
        return SN_FAIL(e, SN_ERR_INPUT, "%s: %s has a non-finite value at (%lld, %lld)", path, what, (long long)i,
                       (long long)(col0 + j));
      if (v < 0)
        return SN_FAIL(e, SN_ERR_INPUT,
                       "%s: %s has a negative value %g at (%lld, %lld); NMF needs a nonnegative matrix", path, what, v,
                       (long long)i, (long long)(col0 + j));
      if (v == 0 && beta <= 0)
        return SN_FAIL(e, SN_ERR_INPUT,
                       "%s: %s contains zeros, and beta = %g <= 0 may diverge on zeros (as sklearn refuses); add a small floor to V or use beta > 0",
                       path, what, beta);
    }
  return SN_OK;
}
