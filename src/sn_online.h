#pragma once
/* Serial numerics of online (mini-batch) NMF, as scikit-learn 1.2's
 * MiniBatchNMF with X = V^T (frames are its samples; its W is our H^T, its H
 * our W^T): the update of the dictionary W from one mini-batch's sums and the
 * running statistics A, B with forget factor rho. No MPI: parallel/sn_ponline
 * sums the mini-batch's accumulators over ranks. Layouts as src/sn_nmf.h. */
#include <stdint.h>
#include "sn_nmf.h"

/* Local. rho = forget_factor ^ (batch / N), MiniBatchNMF's forgetting of the
 * statistics per step. */
double sn_online_rho(double forget_factor, int64_t batch, int64_t N);

/* Local. One W step from acc (layout L of sn_nmf_layout_of(cfg), summed over
 * the mini-batch's frames with H already updated and W still the old one):
 *   den = the MU denominator (+ l1_W + l2_W W; 0 -> eps; KL: the row sums of H,
 *         zero -> 1), num = acc[num] * W^(1/gamma),
 *   A = rho A + num, B = rho B + den, W = (A / B)^gamma (beta <= 1: < DBL_EPSILON -> 0).
 * l1_W, l2_W: the regularization already scaled by the mini-batch's frame
 * count. Columns below cfg->n_fixed are left alone. A, B: F x R doubles (start
 * A = W, B = 1); row: 2 R doubles of scratch. */
void sn_online_update_w(const sn_nmf_cfg *cfg, const sn_nmf_layout *L, const double *acc, double l1_W,
                        double l2_W, double rho, double *A, double *B, float *W, double *row);
