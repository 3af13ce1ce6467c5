#pragma once
/* Parallel WAV writer: every rank writes its own span of one float32 signal
 * of one or more channels (interleaved) with MPI-IO, so no rank ever holds the
 * whole signal. The file is WAVE_FORMAT_IEEE_FLOAT (WAVE_FORMAT_EXTENSIBLE for
 * more than 2 channels) with a fact chunk, and RF64 (ds64) when it would pass
 * 4 GiB; the header has one size per channel layout (a JUNK chunk reserves the
 * ds64 room): data starts at byte SN_WAV_HEADER_BYTES (1-2 channels) or
 * SN_WAV_HEADER_BYTES_EXT (more). Little-endian hosts. */
#include <mpi.h>
#include <stdint.h>
#include "sn_atomic.h"
#include "sn_base.h"

#define SN_WAV_KEEP (-1) /* sn_wav_close: keep the temporary file */
#define SN_WAV_HEADER_BYTES 94 /* RIFF 12 + JUNK/ds64 36 + fmt 26 + fact 12 + data 8 */
#define SN_WAV_HEADER_BYTES_EXT 116 /* the same with fmt 48 (WAVE_FORMAT_EXTENSIBLE) */
#define SN_WAV_MAX_CHANNELS 1024

typedef struct sn_wav sn_wav;

/* Collective. Create path for n_total (>= 0) mono float32 samples at
 * sample_rate (Hz, rounded to an integer in (0, 2^32)). The file lives under a
 * temporary name beside path ("PATH.tmp-PID", io/sn_atomic.h) until sn_wav_close(commit=1).
 * Fails on all ranks with SN_ERR_IO "PATH: exists (use --force to overwrite)"
 * if path exists and !force, or "PATH: cannot create: REASON"; SN_ERR_INPUT
 * for a bad rate or size. *w is NULL on error. */
int sn_wav_create(MPI_Comm comm, const char *path, double sample_rate, int64_t n_total, int force,
                  sn_wav **w, sn_err *e);

/* Collective. As sn_wav_create; force_rf64 != 0 writes the RF64 form whatever
 * the size (for tests of readers). */
int sn_wav_create_ex(MPI_Comm comm, const char *path, double sample_rate, int64_t n_total, int force,
                     int force_rf64, sn_wav **w, sn_err *e);

/* Collective. As sn_wav_create_ex for n_total frames of `channels`
 * (1..SN_WAV_MAX_CHANNELS) interleaved channels: sn_wav_write then counts
 * frames and takes channels floats per frame. SN_ERR_INPUT for a bad count. */
int sn_wav_create_ch(MPI_Comm comm, const char *path, double sample_rate, int64_t n_total, int channels, int force,
                     int force_rf64, sn_wav **w, sn_err *e);

/* Collective. As sn_wav_create, for output that a checkpoint outlives: the
 * temporary file is "PATH" suffix (sn_atomic_name; the streamed outputs pass
 * SN_ATOMIC_STREAM: a fixed name, not removed at exit, not a leftover that
 * --force cleans). reopen != 0 opens that file of an earlier run
 * (SN_ERR_INPUT "TMP: cannot resume: ..." when it is missing or its header or
 * size differ from n_total frames of `channels` at sample_rate) and keeps
 * what it holds. channels: as sn_wav_create_ch. */
int sn_wav_create_at(MPI_Comm comm, const char *path, const char *suffix, int reopen, double sample_rate,
                     int64_t n_total, int channels, int force, sn_wav **w, sn_err *e);

/* Local. Channel c of nch: the n samples y into the interleaved frames Y
 * (Y[i * nch + c] = y[i]). */
void sn_wav_interleave(const float *y, int64_t n, int c, int nch, float *Y);

/* Collective (MPI_File_write_at_all). Write this rank's samples (frames of
 * all channels, interleaved) [start, start + n) of the signal from
 * x[0..n * channels) (n may be 0; spans of ranks must not overlap). Counts beyond 2^28 samples go in several collective
 * calls, the same number on every rank. SN_ERR_INPUT if the span lies outside
 * [0, n_total); SN_ERR_IO if the write fails. Returns the agreed code. */
int sn_wav_write(sn_wav *w, int64_t start, int64_t n, const float *x, sn_err *e);

/* Local. Largest number of samples one rank passes to one collective write
 * (default 2^28); every rank must set the same value. For tests of the
 * chunked path with small files. */
void sn_wav_set_chunk(sn_wav *w, int64_t samples);

/* Collective (MPI_File_sync). Every rank's samples written so far reach the
 * disk: a checkpoint that refers to them is written after this. SN_ERR_IO
 * (agreed) if the sync fails. */
int sn_wav_sync(sn_wav *w, sn_err *e);

/* Collective. Close (a commit syncs first: sn_wav_sync); commit != 0 renames the temporary file to path, else (or
 * when an earlier step failed on any rank) the temporary file is removed;
 * commit == SN_WAV_KEEP leaves it in place (a checkpoint refers to it).
 * *w becomes NULL. Safe on *w == NULL on all ranks. Returns the agreed code. */
int sn_wav_close(sn_wav **w, int commit, sn_err *e);

/* Local. Fill hdr[SN_WAV_HEADER_BYTES] with the header for n_total samples
 * (RF64 when needed or when force_rf64). Returns SN_OK. */
int sn_wav_header(unsigned char *hdr, uint32_t sample_rate, int64_t n_total, int force_rf64);

/* Local. The header for n_total frames of `channels` channels into
 * hdr[SN_WAV_HEADER_BYTES_EXT]; returns its length in bytes (where the data
 * starts). */
int sn_wav_header_ch(unsigned char *hdr, uint32_t sample_rate, int64_t n_total, int channels, int force_rf64);
