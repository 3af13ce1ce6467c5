#pragma once
/* The kernel entry points chosen per level (see sn_isa.h): one X-macro list,
 * R(ret, name, params, args, which) for a function returning a value and
 * V(name, params, args, which) for a void one. which is `cur` (the level in
 * use) or `base` (always the baseline build: the reference kernels the tests
 * use as oracles stay the same at every level). Each name here must also be in
 * sn_isa_clone.h (a missing one fails at link time). Internal to src/. */
#include "sn_mask.h"
#include "sn_nmf.h"
#include "sn_nnls.h"
#include "sn_stft.h"

#define SN_ISA_FUNCS(R, V)                                                                       \
  /* sn_nmf */                                                                                   \
  V(sn_nmf_layout_of, (const sn_nmf_cfg *cfg, int nflags, sn_nmf_layout *L), (cfg, nflags, L), cur) \
  R(double, sn_nmf_gamma, (double beta), (beta), cur)                                            \
  R(int, sn_nmf_ws_create, (const sn_nmf_cfg *cfg, sn_nmf_ws **ws, sn_err *e), (cfg, ws, e), cur) \
  V(sn_nmf_ws_destroy, (sn_nmf_ws **ws), (ws), cur)                                              \
  R(int, sn_nmf_ws_fast, (const sn_nmf_ws *ws), (ws), cur)                                       \
  V(sn_nmf_set_w, (sn_nmf_ws *ws, const float *W), (ws, W), cur)                                 \
  V(sn_nmf_pass, (sn_nmf_ws *ws, const float *V, int64_t n, float *H, int update_h, int want_acc, \
                  int want_loss, double *acc), (ws, V, n, H, update_h, want_acc, want_loss, acc), cur) \
  V(sn_nmf_pass_h, (sn_nmf_ws *ws, const float *V, int64_t n, float *H, int64_t n_iter, double *acc), \
    (ws, V, n, H, n_iter, acc), cur)                                                             \
  R(int, sn_nmf_ws_status, (const sn_nmf_ws *ws, sn_err *e), (ws, e), cur)                       \
  R(double, sn_nmf_update_w, (sn_nmf_ws *ws, const double *acc, float *W), (ws, acc, W), cur)    \
  V(sn_nmf_ref_mu_iter, (const sn_nmf_cfg *cfg, const float *V, int64_t n, double *W, double *H), \
    (cfg, V, n, W, H), base)                                                                     \
  R(double, sn_nmf_ref_loss, (const sn_nmf_cfg *cfg, const float *V, int64_t n, const double *W, \
                              const double *H), (cfg, V, n, W, H), base)                         \
  /* sn_nnls */                                                                                  \
  V(sn_nnls_opts_default, (sn_nnls_opts *o), (o), cur)                                           \
  V(sn_nnls_stats_init, (sn_nnls_stats *s), (s), cur)                                            \
  V(sn_nnls_stats_merge, (sn_nnls_stats *a, const sn_nnls_stats *b), (a, b), cur)                \
  R(int, sn_nnls_solve_gram, (int n, const double *AtA, int64_t ncols, const double *AtB,        \
                              int64_t ldb, double *X, int64_t ldx, const sn_nnls_opts *opts,     \
                              sn_nnls_stats *st, sn_err *e),                                     \
    (n, AtA, ncols, AtB, ldb, X, ldx, opts, st, e), cur)                                         \
  R(int, sn_nnls_solve, (int m, int n, const float *A, int64_t lda, int64_t ncols, const float *B, \
                         int64_t ldb, float *X, int64_t ldx, const sn_nnls_opts *opts,           \
                         sn_nnls_stats *st, const char *what, sn_err *e),                        \
    (m, n, A, lda, ncols, B, ldb, X, ldx, opts, st, what, e), cur)                               \
  R(int, sn_nnls_check_basis, (int m, int n, const float *A, int64_t lda, const char *what,      \
                               sn_err *e), (m, n, A, lda, what, e), cur)                         \
  R(int, sn_nnls_ref_lh, (int m, int n, const double *A, int64_t lda, const double *b, double *x, \
                          sn_err *e), (m, n, A, lda, b, x, e), base)                             \
  /* sn_stft */                                                                                  \
  R(int, sn_window_parse, (const char *name, sn_window_kind *k, sn_err *e), (name, k, e), cur)   \
  R(const char *, sn_window_name, (sn_window_kind k), (k), cur)                                  \
  R(int, sn_window_make, (sn_window_kind k, int win_length, int n_fft, float *w, sn_err *e),     \
    (k, win_length, n_fft, w, e), cur)                                                           \
  R(int64_t, sn_stft_n_frames, (int64_t n_samples, int n_fft, int hop, int center),              \
    (n_samples, n_fft, hop, center), cur)                                                        \
  R(int, sn_stft_plan_create, (int n_fft, int win_length, int hop, sn_window_kind win, int batch, \
                               unsigned fftw_flags, sn_stft_plan **p, sn_err *e),                \
    (n_fft, win_length, hop, win, batch, fftw_flags, p, e), cur)                                 \
  V(sn_stft_plan_destroy, (sn_stft_plan **p), (p), cur)                                          \
  R(int, sn_stft_n_bins, (const sn_stft_plan *p), (p), cur)                                      \
  R(int, sn_stft_hop, (const sn_stft_plan *p), (p), cur)                                         \
  R(int, sn_stft_batch, (const sn_stft_plan *p), (p), cur)                                       \
  R(const float *, sn_stft_window, (const sn_stft_plan *p), (p), cur)                            \
  V(sn_stft_set_stream, (sn_stft_plan *p, int mode), (p, mode), cur)                             \
  R(int, sn_stft_exec, (sn_stft_plan *p, const float *x, int64_t n_frames, int power, float *mag, \
                        int64_t ldm, float *cplx, int64_t ldc, sn_err *e),                       \
    (p, x, n_frames, power, mag, ldm, cplx, ldc, e), cur)                                        \
  R(int, sn_stft_reduce_add, (sn_stft_plan *p, const float *x, int64_t nf, int rms, int c, float *v, \
                             float *tmp, float *cplx, int64_t ldc, sn_err *e),                   \
    (p, x, nf, rms, c, v, tmp, cplx, ldc, e), cur)                                               \
  V(sn_stft_reduce_end, (float *v, int64_t n, int nch, int rms, int power), (v, n, nch, rms, power), cur) \
  R(int, sn_istft_exec, (sn_stft_plan *p, const float *cplx, int64_t ldc, int64_t n_frames,      \
                         float *y, sn_err *e), (p, cplx, ldc, n_frames, y, e), cur)              \
  V(sn_window_sumsquare, (const sn_stft_plan *p, int64_t n_frames, int64_t s0, int64_t len,      \
                          float *out), (p, n_frames, s0, len, out), cur)                         \
  V(sn_stft_frame_ref, (const float *w, int n_fft, const float *x, double *out),                 \
    (w, n_fft, x, out), base)                                                                    \
  /* sn_mask */                                                                                  \
  V(sn_mask_power_w, (int64_t F, int64_t R, const float *W, double p, float *Wp),                 \
    (F, R, W, p, Wp), cur)                                                                       \
  V(sn_mask_denominator, (int64_t F, int64_t R, int64_t n, const float *W, const float *H,       \
                          double p, float *D), (F, R, n, W, H, p, D), cur)                       \
  V(sn_mask_apply, (sn_recon_kind kind, int64_t F, int64_t R, int64_t nf, const float *W,        \
                    const float *H, const float *D, const int *idx, int m, double p, int power,  \
                    const float *X, float *Y), (kind, F, R, nf, W, H, D, idx, m, p, power, X, Y), cur) \
  V(sn_mask_magnitude, (int64_t F, int64_t R, int64_t nf, const float *W, const float *H,        \
                        const int *idx, int m, int power, float *A),                             \
    (F, R, nf, W, H, idx, m, power, A), cur)                                                     \
  V(sn_mask_phase_channel, (int64_t F, int64_t R, int64_t nf, const float *W, const float *H,    \
                            const float *V, const int *idx, int m, int power, float *A,          \
                            const float *X, float *Y), (F, R, nf, W, H, V, idx, m, power, A, X, Y), cur) \
  V(sn_gl_update, (int64_t n, const float *S, float *Z, float *T, float c, int first),           \
    (n, S, Z, T, c, first), cur)                                                                 \
  V(sn_gl_init, (int64_t F, int64_t nf, int64_t t0, const float *S, int random, uint64_t seed,   \
                 float *X), (F, nf, t0, S, random, seed, X), cur)

/* One level's entry points; members are named p_<function>. */
typedef struct sn_isa_table {
#define SN_ISA_MEMBER_R(ret, name, params, args, which) ret(*p_##name) params;
#define SN_ISA_MEMBER_V(name, params, args, which) void(*p_##name) params;
  SN_ISA_FUNCS(SN_ISA_MEMBER_R, SN_ISA_MEMBER_V)
#undef SN_ISA_MEMBER_R
#undef SN_ISA_MEMBER_V
} sn_isa_table;

/* Defined by src/sn_isa_tab.c, compiled once per level. */
extern const sn_isa_table sn_isa_tab_baseline, sn_isa_tab_avx2, sn_isa_tab_avx512;
