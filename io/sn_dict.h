#pragma once
/* Dictionaries on file: the F x R matrix W of one named source (what
 * `specnmf learn` writes as /dict/W) or any W a model file holds (/nmf/W, or a
 * path given as FILE.h5:/path), with the spectrogram parameters it was made
 * with, the beta-divergence it was learned for and its source name as
 * attributes. Read by `separate --source` and written by `learn`. A bare W
 * (written by h5py without attributes) is accepted: the command line's STFT
 * options then describe it. The dataset names are those of the model file
 * schema, io/sn_model.h (SN_DICT_W, SN_MODEL_W). */
#include <stdint.h>

#include "sn_h5.h"
#include "sn_spec_io.h"

typedef struct sn_dict {
  char file[4096], dset[1024];
  int64_t F, R;
  float *W;              /* F x R, column-major (ld F), finite and >= 0 */
  int has_par;           /* 1: the spectrogram attributes were recorded */
  sn_spec_params par;
  int has_beta;          /* 1: the beta it was learned for was recorded */
  double beta;
  char name[64];         /* recorded source name, "" if none */
} sn_dict;

/* What `learn` records beside W. */
typedef struct sn_dict_meta {
  const char *name;      /* source name */
  double beta;
  const char *solver, *init;
  int64_t n_iter, converged;
  double loss;
  double seconds;        /* audio learned from, summed over the files */
  int64_t n_files, n_frames;
  const char *files;     /* newline-separated list of the inputs */
  const char *options;   /* the command's options as JSON members */
} sn_dict_meta;

/* Local. Is `name` a usable source name: 1..63 characters of letters, digits,
 * '-' and '_'? */
int sn_dict_name_ok(const char *name);

/* Collective over comm. Read spec = FILE.h5[:/path]; without a path /dict/W,
 * else /nmf/W. Every rank gets the whole W. Refuses (SN_ERR_INPUT, naming the
 * file) a missing dataset, one that is not 2-D, empty, or holds a negative or
 * non-finite value (named with its (bin, column)). SN_ERR_IO when the file
 * cannot be opened. Returns the agreed code; d is zeroed on error. */
int sn_dict_read(MPI_Comm comm, const char *spec, sn_dict *d, sn_err *e);

/* Local. Refuse (SN_ERR_INPUT "FILE: DSET was made with PARAM=X, but the
 * input has PARAM=Y") a dictionary whose recorded parameters disagree with p
 * on sample_rate, n_fft, hop_length, win_length, window, center or power, or
 * whose F is not (p->n_fft/2 + 1)(2 C + 1), C the context it records (learn
 * --context; 0 without attributes). p's own context is not compared. */
int sn_dict_check(const sn_dict *d, const sn_spec_params *p, sn_err *e);

/* Local. Free W; safe on a zeroed struct. */
void sn_dict_free(sn_dict *d);

/* Collective. Write W (F x R, rank 0's copy) as dataset dset of f, with the
 * spectrogram parameters p and the metadata m as attributes. */
int sn_dict_write(sn_h5 *f, const char *dset, int64_t F, int64_t R, const float *W, const sn_spec_params *p,
                  const sn_dict_meta *m, sn_err *e);
