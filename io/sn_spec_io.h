#pragma once
/* The parameters that define a spectrogram (sample rate, n_fft, hop, window,
 * centring, power, length of the signal) and their HDF5 attributes. Every
 * dataset derived from a spectrogram (V, W, H, masks) carries them, so that a
 * dictionary or a starting point made with other parameters can be refused. */
#include "sn_h5.h"
#include "sn_run.h"

/* The most frames of temporal context each side (learn --context). */
#define SN_CONTEXT_MAX 16

typedef struct sn_spec_params {
  double sample_rate;   /* Hz */
  int n_fft, hop, win_length;
  char window[32];      /* "hann", "hamming", "blackman", "rectangular" */
  int center;           /* 1: frames centred (n_fft/2 zero padding each side) */
  int power;            /* 1: magnitude, 2: power */
  int64_t n_samples;    /* length of the signal at sample_rate */
  int channels;         /* channels of the input file (the most over several inputs); 0: not recorded */
  char channel_rule[24]; /* how they became one magnitude per frame: "mag-mean", "rms",
                            "mono" (sample mean before the STFT), "channel K"; "": not recorded */
  char input[1024];     /* where it came from */
  int context;          /* frames of temporal context each side of the model's columns (learn --context; 0:
                           none): a column is 2 context + 1 frames stacked (sn_context_stack) */
} sn_spec_params;

/* Collective. Write the parameters as attributes sample_rate, n_fft,
 * hop_length, win_length, window, center, power, n_samples, input on obj
 * (and channels, channel_rule when recorded). */
int sn_spec_params_write(sn_h5 *f, const char *obj, const sn_spec_params *p, sn_err *e);

/* Collective. Read them back; SN_ERR_INPUT ("PATH: OBJ has no attribute X")
 * when one of sample_rate, n_fft, hop_length, window is missing; the others
 * default (win_length = n_fft, center = 1, power = 1, n_samples = 0). */
int sn_spec_params_read(sn_h5 *f, const char *obj, sn_spec_params *p, sn_err *e);

/* Local. SN_ERR_INPUT naming `what` unless a and b agree in sample_rate,
 * n_fft, hop, win_length, window and (where both record it) channel_rule. */
int sn_spec_params_check(const sn_spec_params *a, const sn_spec_params *b, const char *what, sn_err *e);

/* Local. 1 if both record a channel rule and the rules differ ("channel K"
 * agrees with "channel J": one channel's magnitude either way). */
int sn_spec_rule_differs(const sn_spec_params *a, const sn_spec_params *b);

/* Local. Channels a separation of this spectrogram writes: the input's count
 * under "mag-mean" and "rms", else 1. */
int sn_spec_out_channels(const sn_spec_params *p);

/* The spectrogram attributes of a plain matrix, as they are (for `nmf`, which
 * factorizes any nonnegative matrix): each of the keys below that the dataset
 * has, as a number or a string, copied to the model unchanged and compared
 * key by key with a starting point's or a dictionary's. A stored spectrogram
 * has them all (sn_spec_params above is their typed form). */
#define SN_SPEC_NKEYS 8
extern const char *const sn_spec_keys[SN_SPEC_NKEYS]; /* sample_rate, n_fft, hop_length, win_length, window, center, power, channel_rule */
typedef struct sn_spec_attrs {
  int kind[SN_SPEC_NKEYS]; /* 0 absent, 1 number, 2 string */
  double num[SN_SPEC_NKEYS];
  char str[SN_SPEC_NKEYS][64];
} sn_spec_attrs;

/* Collective. Read the keys of obj; an attribute that is neither a string
 * nor a number fails with the string reader's message. */
int sn_spec_attrs_read(sn_h5 *f, const char *obj, sn_spec_attrs *a, sn_err *e);

/* Collective. Write the keys a has on obj (integral numbers as integers,
 * except power). */
int sn_spec_attrs_write(sn_h5 *f, const char *obj, const sn_spec_attrs *a, sn_err *e);

/* Local. SN_ERR_INPUT "WHAT: made with K=V but INPUT has K=V'; refusing to mix
 * spectrograms" for the first key both have with different values. */
int sn_spec_attrs_check(const sn_spec_attrs *a, const sn_spec_attrs *b, const char *what, const char *input, sn_err *e);


/* A rank's block of a spectrogram: frames [start, start + n_local) of N. */
typedef struct sn_spec {
  sn_spec_params par;
  int F;                /* n_fft/2 + 1 */
  int64_t N, start, n_local;
  float *mag;           /* F x n_local, column-major (ld F): |X|^power */
  float *cplx;          /* NULL or F x n_local interleaved (re, im) */
  int rows;             /* the model's rows: F (2 par.context + 1) */
  float *model;         /* with par.context > 0 (sn_pstft_compute): the model's V, rows x n_local, each column
                           its frame's context stacked (sn_context_stack); else NULL (the model's V is mag) */
} sn_spec;

/* Collective. Write /stft/magnitude (F, N) float32 (and /stft/complex when
 * s->cplx) with the parameters as attributes. */
int sn_spec_write(sn_run *run, sn_h5 *f, const sn_spec *s);

/* Collective. Read this rank's block of a stored spectrogram: spec is
 * "FILE.h5[:/path]" (default /stft/magnitude); want_complex reads
 * /stft/complex beside it instead of the magnitude. */
int sn_spec_read(sn_run *run, const char *spec, int want_complex, sn_spec *s);

/* Local. Free the buffers; safe on a zeroed struct. */
void sn_spec_free(sn_spec *s);
