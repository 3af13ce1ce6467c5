#pragma once
/* Included first by each kernel file compiled once per level (see sn_isa.h).
 * CMake defines SN_ISA_SUFFIX (_baseline, _avx2, _avx512) for these copies; the
 * public names below then become name_avx2 and so on, and src/sn_isa.c defines
 * the plain names, calling the chosen level through sn_isa_funcs.h's table.
 * Without SN_ISA_SUFFIX (a -DSN_NATIVE=ON build) this header does nothing. */
#ifdef SN_ISA_SUFFIX
#define SN_ISA_CAT2_(a, b) a##b
#define SN_ISA_CAT_(a, b) SN_ISA_CAT2_(a, b)
#define SN_ISA_NAME(n) SN_ISA_CAT_(n, SN_ISA_SUFFIX)
#define sn_nmf_layout_of SN_ISA_NAME(sn_nmf_layout_of)
#define sn_nmf_gamma SN_ISA_NAME(sn_nmf_gamma)
#define sn_nmf_ws_create SN_ISA_NAME(sn_nmf_ws_create)
#define sn_nmf_ws_destroy SN_ISA_NAME(sn_nmf_ws_destroy)
#define sn_nmf_ws_fast SN_ISA_NAME(sn_nmf_ws_fast)
#define sn_nmf_set_w SN_ISA_NAME(sn_nmf_set_w)
#define sn_nmf_pass SN_ISA_NAME(sn_nmf_pass)
#define sn_nmf_ws_status SN_ISA_NAME(sn_nmf_ws_status)
#define sn_nmf_update_w SN_ISA_NAME(sn_nmf_update_w)
#define sn_nmf_ref_mu_iter SN_ISA_NAME(sn_nmf_ref_mu_iter)
#define sn_nmf_ref_loss SN_ISA_NAME(sn_nmf_ref_loss)
#define sn_nnls_opts_default SN_ISA_NAME(sn_nnls_opts_default)
#define sn_nnls_stats_init SN_ISA_NAME(sn_nnls_stats_init)
#define sn_nnls_stats_merge SN_ISA_NAME(sn_nnls_stats_merge)
#define sn_nnls_solve_gram SN_ISA_NAME(sn_nnls_solve_gram)
#define sn_nnls_solve SN_ISA_NAME(sn_nnls_solve)
#define sn_nnls_check_basis SN_ISA_NAME(sn_nnls_check_basis)
#define sn_nnls_ref_lh SN_ISA_NAME(sn_nnls_ref_lh)
#define sn_window_parse SN_ISA_NAME(sn_window_parse)
#define sn_window_name SN_ISA_NAME(sn_window_name)
#define sn_window_make SN_ISA_NAME(sn_window_make)
#define sn_stft_n_frames SN_ISA_NAME(sn_stft_n_frames)
#define sn_stft_plan_create SN_ISA_NAME(sn_stft_plan_create)
#define sn_stft_plan_destroy SN_ISA_NAME(sn_stft_plan_destroy)
#define sn_stft_n_bins SN_ISA_NAME(sn_stft_n_bins)
#define sn_stft_hop SN_ISA_NAME(sn_stft_hop)
#define sn_stft_batch SN_ISA_NAME(sn_stft_batch)
#define sn_stft_window SN_ISA_NAME(sn_stft_window)
#define sn_stft_set_stream SN_ISA_NAME(sn_stft_set_stream)
#define sn_stft_exec SN_ISA_NAME(sn_stft_exec)
#define sn_istft_exec SN_ISA_NAME(sn_istft_exec)
#define sn_window_sumsquare SN_ISA_NAME(sn_window_sumsquare)
#define sn_stft_frame_ref SN_ISA_NAME(sn_stft_frame_ref)
#define sn_mask_denominator SN_ISA_NAME(sn_mask_denominator)
#define sn_mask_apply SN_ISA_NAME(sn_mask_apply)
#define sn_mask_magnitude SN_ISA_NAME(sn_mask_magnitude)
#define sn_gl_update SN_ISA_NAME(sn_gl_update)
#define sn_gl_init SN_ISA_NAME(sn_gl_init)
#endif
