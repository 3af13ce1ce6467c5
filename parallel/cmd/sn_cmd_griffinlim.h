#pragma once
/* The command `specnmf griffinlim` (any stored magnitude, or each column of a
 * dictionary W, to audio by distributed fast Griffin-Lim), the Griffin-Lim
 * writer that mel-invert shares, and the one option table of the Griffin-Lim
 * options (griffinlim, separate, mel-invert). */
#include "sn_opts.h"
#include "sn_pgriffinlim.h"
#include "sn_run.h"

/* Collective over run->comm. Returns the agreed code. */
int sn_cmd_griffinlim(sn_run *run, int argc, char **argv);

/* Collective. Audio from the magnitude block S (F x N frames, this rank's
 * frames of sn_block_range, ld F, power 1) by fast Griffin-Lim, written in
 * parallel to the WAV file `path` (created before the work, so that a bad path
 * fails early; under a temporary name until complete). length < 0: the stored
 * n_samples, else librosa's istft length. *sc receives the spectral
 * convergence. Returns the agreed code. */
int sn_griffinlim_write(sn_run *run, const sn_spec_params *par, int64_t N, const float *S, int64_t length,
                        const sn_gl_cfg *glc, const char *path, int force, double *sc);

/* The Griffin-Lim options as parsed: iterations, momentum, start phases. */
typedef struct sn_gl_opts {
  int n_iter;       /* >= 0 */
  double momentum;  /* >= 0 (0: plain Griffin-Lim) */
  const char *init; /* "random" | "zero" */
} sn_gl_opts;

#define SN_GL_OPTS_DEFAULT {32, 0.99, "random"}

/* How a command spells them (names and help texts of today's commands). */
typedef enum {
  SN_GL_SPELL_GRIFFINLIM, /* --n-iter, --momentum, --init */
  SN_GL_SPELL_SEPARATE,   /* --gl-iter, --momentum, --gl-init (the NMF has its own --init) */
  SN_GL_SPELL_MEL         /* --n-iter, --momentum, --init, helps "with -o OUT.wav: ..." */
} sn_gl_spelling;

/* Rows of the Griffin-Lim option table, with the row that ends a table. */
#define SN_GL_OPT_ROWS 4

/* Local. Fill rows with the Griffin-Lim options of spelling sp writing into
 * g, ended by a NULL row: pass rows as one of the command's tables. */
void sn_gl_opts_table(sn_gl_opts *g, sn_gl_spelling sp, sn_opt rows[SN_GL_OPT_ROWS]);

/* Local. Check the values; SN_ERR_USAGE "CMD --NAME: ..." (names of sp). */
int sn_gl_opts_check(const char *cmd, const sn_gl_opts *g, sn_gl_spelling sp, sn_err *e);

/* Local. The Griffin-Lim configuration of checked options. */
sn_gl_cfg sn_gl_opts_cfg(const sn_gl_opts *g, uint64_t seed);
