#pragma once
/* specnmf kernel levels: the hot numerics (src/sn_nmf.c, sn_nnls.c, sn_stft.c,
 * sn_mask.c) are compiled once per x86-64 level (baseline SSE2, avx2 = x86-64-v3
 * with FMA, avx512 = x86-64-v4) and one table of their entry points is chosen
 * at start-up from the CPU (the best level it has) or from the environment
 * variable SPECNMF_ISA=baseline|avx2|avx512 (a lower level; a level the CPU
 * lacks is refused). A -DSN_NATIVE=ON build has one level, "native". Every
 * function here is Local (per process, not collective). */
#include "sn_base.h"

enum { SN_ISA_BASELINE = 0, SN_ISA_AVX2 = 1, SN_ISA_AVX512 = 2, SN_ISA_N = 3 };

/* Local. Choose the level from SPECNMF_ISA (unset or empty: the best level this
 * CPU has). Fails with SN_ERR_USAGE, naming SPECNMF_ISA, for an unknown name or
 * a level this CPU (or this build) lacks; the best level stays chosen then. */
int sn_isa_init(sn_err *e);

/* Local. Switch to level (one of SN_ISA_*); fails with SN_ERR_USAGE when this
 * CPU or build lacks it. For tests that run every level in one process: objects
 * made by the kernels (NMF workspaces, STFT plans) may be used across levels. */
int sn_isa_set(int level, sn_err *e);

/* Local. 1 when this build has level and this CPU can run it. */
int sn_isa_available(int level);

/* Local. The level in use, and its name ("baseline", "avx2", "avx512"; a
 * native build says "native"). */
int sn_isa_level(void);
const char *sn_isa_name(int level);

/* Local. Writes "baseline avx2 avx512" (the levels this CPU can run in this
 * build, space-separated) into buf of size n. */
void sn_isa_list(char *buf, size_t n);
