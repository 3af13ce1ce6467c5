#pragma once
/* Unit tests at every kernel level (src/sn_isa.h): sn_test_levels(body) runs
 * body once per level this CPU has (or only at SPECNMF_ISA when that is set;
 * once in a -DSN_NATIVE=ON build) and returns the summed failure counts. */
#include <stdio.h>
#include <stdlib.h>

#include "sn_isa.h"

static inline int sn_test_levels(int (*body)(void)) {
  const char *forced = getenv("SPECNMF_ISA");
  if (sn_isa_level() < 0 || (forced && *forced)) {
    sn_err e = {0};
    if (sn_isa_init(&e) != SN_OK) {
      fprintf(stderr, "%s\n", e.msg);
      return 1;
    }
    printf("== kernels: %s\n", sn_isa_name(sn_isa_level()));
    return body();
  }
  int fails = 0, runs = 0;
  for (int l = 0; l < SN_ISA_N; l++) {
    if (!sn_isa_available(l)) continue;
    sn_err e = {0};
    if (sn_isa_set(l, &e) != SN_OK) {
      fprintf(stderr, "%s\n", e.msg);
      return 1;
    }
    printf("== kernels: %s\n", sn_isa_name(l));
    fails += body();
    runs++;
  }
  printf("== %d kernel levels run\n", runs);
  return fails;
}
