#pragma once
/* Serial NMF numerics on one rank's column block: the multiplicative updates
 * (beta-divergence, as sklearn.decomposition.NMF 1.2 solver='mu') and HALS /
 * coordinate descent (solver='cd'), the beta-divergence, and the per-tile
 * streaming that fuses each tile's H update with its contribution to the next
 * W update. No MPI here: parallel/sn_pnmf sums the accumulators over ranks.
 * Each solver and loss is one row of update functions (H of a tile, the
 * tile's accumulators, W) in sn_nmf_ops_tab (src/sn_nmf.c), chosen once by
 * sn_nmf_ws_create; a new solver is a new row there.
 * Layouts (column-major): V block F x n (ld F, float32), W F x R (ld F,
 * float32, replicated), H block R x n (ld R, float32). */
#include <stdint.h>
#include "sn_base.h"

enum { SN_NMF_MU = 0, SN_NMF_CD = 1, SN_NMF_ANLS = 2 };

/* np.finfo(np.float32).eps, sklearn's EPSILON. */
#define SN_NMF_EPS 1.1920928955078125e-07

typedef struct sn_nmf_cfg {
  int64_t F, R;      /* frequency bins (rows of V), components */
  double beta;       /* 2 Frobenius, 1 KL, 0 IS, any other real */
  int solver;        /* SN_NMF_MU, SN_NMF_CD or SN_NMF_ANLS (cd, anls need beta == 2) */
  double l1_W, l2_W; /* regularization, already scaled as sklearn does */
  double l1_H, l2_H;
  int64_t n_fixed;   /* the first n_fixed columns of W are never updated */
  int64_t tile;      /* columns of V per tile (>= 1) */
  int plain;         /* 1: BLAS + plain loops only, even where a hand-written
                        SIMD kernel exists (tests compare the two); 0: auto */
  int h_rule;        /* the MU H update's edge rules: SN_NMF_H_BATCH (sklearn NMF's H
                        update), SN_NMF_H_ONLINE (MiniBatchNMF's update of its W = our
                        H: clip only for beta < 1, no fix of a zero column sum of W)
                        or SN_NMF_H_FREE (as ONLINE, never clipped: _solve_W) */
} sn_nmf_cfg;

enum { SN_NMF_H_BATCH = 0, SN_NMF_H_ONLINE = 1, SN_NMF_H_FREE = 2 };

/* The accumulator vector of one pass (doubles, summed over ranks as one
 * buffer). Offsets are in doubles from the start; a part of length 0 is
 * absent. num: F x R (sum over columns of A H^T, A = V or V * WH^(beta-2));
 * den: F x R (beta not in {1,2}: sum WH^(beta-1) H^T), R x R (beta == 2: H H^T)
 * or R (beta == 1: row sums of H); loss: this block's share of the
 * beta-divergence (additive over blocks); viol: the cd projected-gradient sum
 * of the H update; vsum: sum of V (for inits) ; flag: free slots for callers. */
typedef struct sn_nmf_layout {
  int64_t num, den, den_len, loss, viol, nflags, flags, len;
} sn_nmf_layout;

/* Local. Offsets of the accumulator parts for cfg; nflags extra slots at the end. */
void sn_nmf_layout_of(const sn_nmf_cfg *cfg, int nflags, sn_nmf_layout *L);

/* Local. The MM exponent gamma of Fevotte & Idier, as sklearn: 1/(2-beta) for
 * beta < 1, 1/(beta-1) for beta > 2, else 1. */
double sn_nmf_gamma(double beta);

typedef struct sn_nmf_ws sn_nmf_ws;

/* Local. Workspace for tile streaming: O(F x tile + F x R) floats. Fails with
 * SN_ERR_NOMEM (or SN_ERR_INPUT for a bad cfg) and *ws = NULL. */
int sn_nmf_ws_create(const sn_nmf_cfg *cfg, sn_nmf_ws **ws, sn_err *e);
void sn_nmf_ws_destroy(sn_nmf_ws **ws);

/* Local. 1 when the passes use the hand-written AVX-512 kernels (the avx512
 * kernel level of src/sn_isa.h or a native AVX-512 build, R a multiple of 16,
 * cfg.plain == 0), else 0 (BLAS). */
int sn_nmf_ws_fast(const sn_nmf_ws *ws);

/* Local. Cache the W-dependent quantities (W^T W, column sums) used by the H
 * update; call after every change of W and before sn_nmf_pass. */
void sn_nmf_set_w(sn_nmf_ws *ws, const float *W);

/* Local. One streaming pass over the n columns of a V block (ld F), tile by tile:
 *   if update_h: update the tile's H columns (MU rule, one cd sweep, or the exact
 *                NNLS solution for anls) with the
 *                W given to sn_nmf_set_w, adding the cd violation to acc[viol];
 *   if want_acc: add the tile's share of the next W update (num, den) to acc;
 *   if want_loss: add the tile's share of the beta-divergence D(V | W H) to acc[loss].
 * acc (layout L) is added to, not cleared. n may be 0. */
void sn_nmf_pass(sn_nmf_ws *ws, const float *V, int64_t n, float *H, int update_h,
                 int want_acc, int want_loss, double *acc);

/* Local. n_iter H updates of the n columns of a V block with W fixed, tile
 * by tile: each tile's columns get all n_iter updates while the tile is in
 * cache (the fixed-dictionary path, where every frame is independent). The
 * same numbers as n_iter calls of sn_nmf_pass(ws, V, n, H, 1, 0, 0, acc). */
void sn_nmf_pass_h(sn_nmf_ws *ws, const float *V, int64_t n, float *H, int64_t n_iter, double *acc);

/* Local. The first failure inside sn_nmf_pass / sn_nmf_update_w (anls: the
 * NNLS solver), copied into e; SN_OK when none. */
int sn_nmf_ws_status(const sn_nmf_ws *ws, sn_err *e);

/* Local. Update the learned columns of W (F x R) from the summed accumulators
 * (MU rule, or one cd sweep over the rows). Returns the cd violation of the W
 * sweep (0 for MU). */
double sn_nmf_update_w(sn_nmf_ws *ws, const double *acc, float *W);

/* Local. Plain reference (oracle) of one sklearn MU iteration on a whole
 * in-memory problem (W update then H update, no tiles, no fusion), in double.
 * W, H updated in place. For tests. */
void sn_nmf_ref_mu_iter(const sn_nmf_cfg *cfg, const float *V, int64_t n, double *W,
                        double *H);

/* Local. Reference beta-divergence of V and W H (doubles), as sklearn's
 * _beta_divergence. */
double sn_nmf_ref_loss(const sn_nmf_cfg *cfg, const float *V, int64_t n, const double *W,
                       const double *H);
