#pragma once
/* The named sources of `separate --source NAME=DICT.h5[:/path]`: the names
 * (checked before any work), the dictionaries read and checked against the
 * input's spectrogram parameters, concatenated into the fixed columns of W in
 * the order given, and the beta they were learned with. */
#include <stdint.h>

#include "sn_opts.h"
#include "sn_run.h"
#include "sn_spec_io.h"

typedef struct sn_sources {
  int n;                                /* sources */
  char name[SN_OPT_LIST_MAX][64];
  char file[SN_OPT_LIST_MAX][4096];     /* the dictionary argument after '=' */
  int64_t first[SN_OPT_LIST_MAX + 1];   /* source s owns columns [first[s], first[s+1]) of W */
  int64_t F;                            /* rows: bins (2 context + 1) */
  int context;                          /* frames of context each side the dictionaries were learned with (all agree) */
  float *W;                             /* F x first[n], ld F (after sn_sources_load) */
  int has_beta;                         /* a beta recorded in the dictionaries (all agree) */
  double beta;
} sn_sources;

/* Local. Parse the --source arguments NAME=DICT.h5[:/path]: names of letters,
 * digits, '-' and '_', unique, and none that another output uses (rest,
 * result, overview, component-NN, source-NN). SN_ERR_USAGE naming the
 * argument. */
int sn_sources_parse(const sn_strlist *l, sn_sources *s, sn_err *e);

/* Collective. Read every dictionary (io/sn_dict.h), refuse one made with other
 * spectrogram parameters than p (naming the file and the parameter) or, unless
 * beta_given (--beta settles it), with a different beta than another, or with
 * another context (learn --context) than the first, and concatenate them into
 * s->W (s->context: theirs). */
int sn_sources_load(sn_run *run, const sn_spec_params *p, int beta_given, sn_sources *s);

/* Local. Free W; safe on a zeroed struct. */
void sn_sources_free(sn_sources *s);
