/* Kernel levels and the dispatch of their entry points (see sn_isa.h). */
#include "sn_isa.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const sn_isa_names[SN_ISA_N] = {"baseline", "avx2", "avx512"};

#ifdef SN_ISA_DISPATCH
#include "sn_isa_funcs.h"

static const sn_isa_table *const sn_isa_tabs[SN_ISA_N] = {&sn_isa_tab_baseline, &sn_isa_tab_avx2,
                                                           &sn_isa_tab_avx512};

/* What the CPU (and its OS, which must save the wide registers) can run:
 * x86-64-v3 (AVX, AVX2, FMA, BMI1/2, F16C, ...) and x86-64-v4 (AVX-512 F, BW, CD,
 * DQ, VL), the sets the copies are compiled for. */
static int sn_isa_cpu_has(int level) {
  __builtin_cpu_init();
  switch (level) {
  case SN_ISA_BASELINE:
    return 1;
#if defined(__clang__) && __clang_major__ < 19 /* no level names: their main features */
  case SN_ISA_AVX2:
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi") &&
           __builtin_cpu_supports("bmi2");
  case SN_ISA_AVX512:
    return sn_isa_cpu_has(SN_ISA_AVX2) && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl");
#else
  case SN_ISA_AVX2:
    return __builtin_cpu_supports("x86-64-v3") != 0;
  case SN_ISA_AVX512:
    return __builtin_cpu_supports("x86-64-v4") != 0;
#endif
  }
  return 0;
}

static int sn_isa_cur_level = SN_ISA_BASELINE;
static const sn_isa_table *sn_isa_cur = &sn_isa_tab_baseline;

static int sn_isa_best(void) {
  int best = SN_ISA_BASELINE;
  for (int l = 0; l < SN_ISA_N; l++)
    if (sn_isa_cpu_has(l)) best = l;
  return best;
}

/* Before main (and before any test calls a kernel): the level SPECNMF_ISA names
 * if the CPU has it, else the best one; main reports a bad SPECNMF_ISA through
 * sn_isa_init. */
__attribute__((constructor)) static void sn_isa_boot(void) {
  if (sn_isa_init(NULL) != SN_OK) sn_isa_set(sn_isa_best(), NULL);
}

int sn_isa_available(int level) { return level >= 0 && level < SN_ISA_N && sn_isa_cpu_has(level); }

int sn_isa_set(int level, sn_err *e) {
  if (!sn_isa_available(level))
    return SN_FAIL(e, SN_ERR_USAGE, "SPECNMF_ISA=%s: this CPU cannot run that level (it has: %s%s%s)",
                   (level >= 0 && level < SN_ISA_N) ? sn_isa_names[level] : "?", sn_isa_names[0],
                   sn_isa_cpu_has(SN_ISA_AVX2) ? " avx2" : "", sn_isa_cpu_has(SN_ISA_AVX512) ? " avx512" : "");
  sn_isa_cur_level = level;
  sn_isa_cur = sn_isa_tabs[level];
  return SN_OK;
}

int sn_isa_level(void) { return sn_isa_cur_level; }

/* The plain names of the kernel functions: one indirect call into the table. */
#define SN_ISA_TAB_cur sn_isa_cur
#define SN_ISA_TAB_base (&sn_isa_tab_baseline)
#define SN_ISA_WRAP_R(ret, name, params, args, which) \
  ret name params { return SN_ISA_TAB_##which->p_##name args; }
#define SN_ISA_WRAP_V(name, params, args, which) \
  void name params { SN_ISA_TAB_##which->p_##name args; }
SN_ISA_FUNCS(SN_ISA_WRAP_R, SN_ISA_WRAP_V)

#else /* one level: -DSN_NATIVE=ON (or not x86-64): the kernels are compiled once */

int sn_isa_available(int level) { return 0; }
int sn_isa_set(int level, sn_err *e) {
  return SN_FAIL(e, SN_ERR_USAGE,
                 "SPECNMF_ISA=%s: this build has one kernel level (native); choosing a level needs a build "
                 "with -DSN_NATIVE=OFF",
                 (level >= 0 && level < SN_ISA_N) ? sn_isa_names[level] : "?");
}
int sn_isa_level(void) { return -1; }
#endif

const char *sn_isa_name(int level) {
  return (level >= 0 && level < SN_ISA_N) ? sn_isa_names[level] : "native";
}

int sn_isa_init(sn_err *e) {
  const char *s = getenv("SPECNMF_ISA");
  if (!s || !*s) {
#ifdef SN_ISA_DISPATCH
    return sn_isa_set(sn_isa_best(), e);
#else
    return SN_OK;
#endif
  }
  for (int l = 0; l < SN_ISA_N; l++)
    if (strcmp(s, sn_isa_names[l]) == 0) return sn_isa_set(l, e);
#ifndef SN_ISA_DISPATCH
  if (strcmp(s, "native") == 0) return SN_OK;
#endif
  return SN_FAIL(e, SN_ERR_USAGE, "SPECNMF_ISA=%s: unknown kernel level (baseline, avx2 or avx512)", s);
}

void sn_isa_list(char *buf, size_t n) {
  if (n == 0) return;
  buf[0] = '\0';
#ifdef SN_ISA_DISPATCH
  size_t off = 0;
  for (int l = 0; l < SN_ISA_N && off < n; l++)
    if (sn_isa_available(l)) off += (size_t)snprintf(buf + off, n - off, "%s%s", off ? " " : "", sn_isa_names[l]);
#else
  snprintf(buf, n, "native");
#endif
}
