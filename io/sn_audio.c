/* Audio input through libsndfile / HDF5, mono mixing, soxr resampling by
 * aligned spans. See sn_audio.h. */
#include "sn_audio.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>
#include <sndfile.h>
#include <soxr.h>

#include "sn_comm.h"

enum { SN_AUDIO_SNDFILE = 0, SN_AUDIO_HDF5 = 1 };

#define SN_AUDIO_MAX_CHANNELS 1024
#define SN_AUDIO_MAX_RATE 1e7
#define SN_AUDIO_MAX_FRAMES ((int64_t)1 << 50) /* ~ 1.1e15: far beyond any real file */
#define SN_AUDIO_BUF_FLOATS ((int64_t)1 << 22) /* interleaved read buffer: 16 MiB */
#define SN_AUDIO_CHUNK ((int64_t)1 << 16)      /* mono samples per processing chunk */

struct sn_audio {
  char *path;
  int kind;
  SNDFILE *sf;
  int64_t sf_pos; /* current libsndfile frame position, -1 if unknown */
  hid_t h5file, h5dset;
  int channels;
  int channel; /* -1: mean */
  int each;    /* SN_AUDIO_EACH: channel is the one sn_audio_select chose */
  int64_t n_in;
  double in_rate, out_rate;
  int resample;
  int64_t L, M;        /* in_rate / g, out_rate / g */
  int64_t blk_in, blk_out; /* alignment block: a multiple of L (M) */
  int64_t margin_blocks;
  int64_t n_out;
  double scale;
  int64_t buf_frames; /* frames that fit in ibuf */
  float *ibuf;        /* interleaved raw frames */
  float *mono;        /* SN_AUDIO_CHUNK mono samples */
  float *obuf;        /* resampler output */
  int64_t obuf_len;
};

static int64_t gcd64(int64_t a, int64_t b) {
  while (b) {
    int64_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}

static int is_integer_rate(double r) { return r == floor(r) && r >= 1 && r <= SN_AUDIO_MAX_RATE; }

int64_t sn_audio_resampled_length(int64_t n_in, double in_rate, double out_rate) {
  if (n_in <= 0) return 0;
  if (out_rate <= 0 || out_rate == in_rate) return n_in;
  if (is_integer_rate(in_rate) && is_integer_rate(out_rate)) {
    int64_t ir = (int64_t)in_rate, orr = (int64_t)out_rate, g = gcd64(ir, orr);
    int64_t L = ir / g, M = orr / g;
    /* ceil(n_in * M / L) without overflow */
    int64_t q = n_in / L, r = n_in % L;
    return q * M + (r * M + L - 1) / L;
  }
  return (int64_t)ceil((double)n_in * out_rate / in_rate);
}

/* ---- opening ------------------------------------------------------------ */

static int has_hdf5_signature(int fd) {
  static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  unsigned char buf[8];
  /* the superblock sits at 0, 512, 1024, 2048, ... (after a user block) */
  for (off_t off = 0; off <= (off_t)1 << 20; off = off ? off * 2 : 512) {
    ssize_t got = pread(fd, buf, 8, off);
    if (got != 8) return 0;
    if (memcmp(buf, sig, 8) == 0) return 1;
  }
  return 0;
}

static const char *sf_major_name(int fmt) {
  switch (fmt & SF_FORMAT_TYPEMASK) {
    case SF_FORMAT_WAV: return "WAV";
    case SF_FORMAT_WAVEX: return "WAVEX";
    case SF_FORMAT_RF64: return "RF64";
    case SF_FORMAT_W64: return "W64";
    case SF_FORMAT_AIFF: return "AIFF";
    case SF_FORMAT_AU: return "AU";
    case SF_FORMAT_CAF: return "CAF";
    case SF_FORMAT_FLAC: return "FLAC";
    case SF_FORMAT_OGG: return "OGG";
    case SF_FORMAT_RAW: return "RAW";
#ifdef SF_FORMAT_MPEG
    case SF_FORMAT_MPEG: return "MPEG";
#endif
    default: return "audio";
  }
}

static const char *sf_sub_name(int fmt) {
  switch (fmt & SF_FORMAT_SUBMASK) {
    case SF_FORMAT_PCM_S8: return "pcm8";
    case SF_FORMAT_PCM_U8: return "pcm8u";
    case SF_FORMAT_PCM_16: return "pcm16";
    case SF_FORMAT_PCM_24: return "pcm24";
    case SF_FORMAT_PCM_32: return "pcm32";
    case SF_FORMAT_FLOAT: return "float32";
    case SF_FORMAT_DOUBLE: return "float64";
    case SF_FORMAT_ULAW: return "ulaw";
    case SF_FORMAT_ALAW: return "alaw";
    case SF_FORMAT_VORBIS: return "vorbis";
#ifdef SF_FORMAT_OPUS
    case SF_FORMAT_OPUS: return "opus";
#endif
#ifdef SF_FORMAT_MPEG_LAYER_III
    case SF_FORMAT_MPEG_LAYER_III: return "mp3";
#endif
    default: return "other";
  }
}

static int open_hdf5(sn_audio *a, char *fmt, size_t fmt_cap, sn_err *e) {
  const char *path = a->path;
  int rc = SN_OK;
  hid_t space = -1, type = -1, attr = -1, aspace = -1, holder = -1;
  /* serial (default driver) read-only open by each rank on its own; keep HDF5's
   * file locking but ignore it where the file system disables locks (Lustre,
   * NFS), which otherwise fails the open */
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
#if H5_VERSION_GE(1, 10, 7)
  if (fapl >= 0) H5Pset_file_locking(fapl, 1, 1);
#endif
  H5E_BEGIN_TRY {
    a->h5file = H5Fopen(path, H5F_ACC_RDONLY, fapl >= 0 ? fapl : H5P_DEFAULT);
  } H5E_END_TRY;
  if (fapl >= 0) H5Pclose(fapl);
  if (a->h5file < 0) return SN_FAIL(e, SN_ERR_INPUT, "%s: not a supported audio file (HDF5 file that cannot be opened)", path);
  htri_t ex;
  H5E_BEGIN_TRY { ex = H5Lexists(a->h5file, "/audio", H5P_DEFAULT); } H5E_END_TRY;
  if (ex <= 0) {
    rc = SN_FAIL(e, SN_ERR_INPUT, "%s: not a supported audio file (HDF5 without a dataset /audio)", path);
    goto cleanup;
  }
  H5E_BEGIN_TRY { a->h5dset = H5Dopen2(a->h5file, "/audio", H5P_DEFAULT); } H5E_END_TRY;
  if (a->h5dset < 0) {
    rc = SN_FAIL(e, SN_ERR_INPUT, "%s: /audio is not a dataset", path);
    goto cleanup;
  }
  space = H5Dget_space(a->h5dset);
  type = H5Dget_type(a->h5dset);
  if (space < 0 || type < 0) {
    rc = SN_FAIL(e, SN_ERR_INPUT, "%s: cannot read the shape of /audio", path);
    goto cleanup;
  }
  if (H5Tget_class(type) != H5T_FLOAT) {
    rc = SN_FAIL(e, SN_ERR_INPUT, "%s: /audio must be a 1-D float dataset (it is not float)", path);
    goto cleanup;
  }
  if (H5Sget_simple_extent_ndims(space) != 1) {
    rc = SN_FAIL(e, SN_ERR_INPUT, "%s: /audio must be a 1-D float dataset (it has %d dimensions)", path,
                 H5Sget_simple_extent_ndims(space));
    goto cleanup;
  }
  hsize_t dims[1] = {0};
  H5Sget_simple_extent_dims(space, dims, NULL);
  a->n_in = (int64_t)dims[0];
  a->channels = 1;
  /* sample_rate: on /audio, else on the root group */
  const char *owners[2] = {"/audio", "/"};
  for (int i = 0; i < 2 && attr < 0; i++) {
    htri_t has;
    H5E_BEGIN_TRY { has = H5Aexists_by_name(a->h5file, owners[i], "sample_rate", H5P_DEFAULT); } H5E_END_TRY;
    if (has > 0) {
      H5E_BEGIN_TRY { attr = H5Aopen_by_name(a->h5file, owners[i], "sample_rate", H5P_DEFAULT, H5P_DEFAULT); } H5E_END_TRY;
    }
  }
  if (attr < 0) {
    rc = SN_FAIL(e, SN_ERR_INPUT, "%s: /audio has no attribute sample_rate", path);
    goto cleanup;
  }
  aspace = H5Aget_space(attr);
  holder = H5Aget_type(attr);
  H5T_class_t cls = H5Tget_class(holder);
  if (aspace < 0 || H5Sget_simple_extent_npoints(aspace) != 1 || (cls != H5T_FLOAT && cls != H5T_INTEGER)) {
    rc = SN_FAIL(e, SN_ERR_INPUT, "%s: attribute sample_rate must be one number", path);
    goto cleanup;
  }
  double sr = 0;
  herr_t st;
  H5E_BEGIN_TRY { st = H5Aread(attr, H5T_NATIVE_DOUBLE, &sr); } H5E_END_TRY;
  if (st < 0) {
    rc = SN_FAIL(e, SN_ERR_INPUT, "%s: cannot read attribute sample_rate", path);
    goto cleanup;
  }
  a->in_rate = sr;
  snprintf(fmt, fmt_cap, "HDF5 float%d", (int)(8 * H5Tget_size(type)));
cleanup:
  if (holder >= 0) H5Tclose(holder);
  if (aspace >= 0) H5Sclose(aspace);
  if (attr >= 0) H5Aclose(attr);
  if (type >= 0) H5Tclose(type);
  if (space >= 0) H5Sclose(space);
  return rc;
}

/* When libsndfile refuses a RIFF/RF64 WAVE file, look at its fmt chunk to say
 * which header value is bad (libsndfile's messages for a zero rate or a huge
 * channel count are generic). Returns SN_OK if nothing specific was found. */
static int explain_wav(const char *path, sn_err *e) {
  FILE *f = fopen(path, "rb");
  if (!f) return SN_OK;
  unsigned char h[12], c[8], fmt[8];
  int rc = SN_OK;
  if (fread(h, 1, 12, f) == 12 && (!memcmp(h, "RIFF", 4) || !memcmp(h, "RF64", 4)) && !memcmp(h + 8, "WAVE", 4)) {
    for (int k = 0; k < 64 && fread(c, 1, 8, f) == 8; k++) { /* at most 64 chunks */
      uint32_t len = (uint32_t)c[4] | (uint32_t)c[5] << 8 | (uint32_t)c[6] << 16 | (uint32_t)c[7] << 24;
      if (!memcmp(c, "fmt ", 4)) {
        if (len >= 8 && fread(fmt, 1, 8, f) == 8) {
          unsigned ch = fmt[2] | fmt[3] << 8;
          uint32_t sr = (uint32_t)fmt[4] | (uint32_t)fmt[5] << 8 | (uint32_t)fmt[6] << 16 | (uint32_t)fmt[7] << 24;
          if (ch < 1 || ch > SN_AUDIO_MAX_CHANNELS)
            rc = SN_FAIL(e, SN_ERR_INPUT, "%s: bad channel count %u in the WAV header (must be 1..%d)", path, ch,
                         SN_AUDIO_MAX_CHANNELS);
          else if (sr < 1 || sr > SN_AUDIO_MAX_RATE)
            rc = SN_FAIL(e, SN_ERR_INPUT, "%s: bad sample rate %lu in the WAV header (must be in (0, 1e7] Hz)",
                         path, (unsigned long)sr);
        }
        break;
      }
      if (fseek(f, (long)len + (len & 1), SEEK_CUR) != 0) break;
    }
  }
  fclose(f);
  return rc;
}

static int open_sndfile(sn_audio *a, char *fmt, size_t fmt_cap, sn_err *e) {
  SF_INFO si;
  memset(&si, 0, sizeof si);
  a->sf = sf_open(a->path, SFM_READ, &si);
  if (!a->sf) {
    char why[256];
    snprintf(why, sizeof why, "%s", sf_strerror(NULL));
    int rc = explain_wav(a->path, e);
    if (rc) return rc;
    return SN_FAIL(e, SN_ERR_INPUT, "%s: not a supported audio file (%s)", a->path, why);
  }
  if (si.channels < 1 || si.channels > SN_AUDIO_MAX_CHANNELS)
    return SN_FAIL(e, SN_ERR_INPUT, "%s: bad channel count %d (must be 1..%d)", a->path, si.channels,
                   SN_AUDIO_MAX_CHANNELS);
  if (si.frames == SF_COUNT_MAX)
    return SN_FAIL(e, SN_ERR_INPUT, "%s: unknown length (a stream?); not supported", a->path);
  if (!si.seekable)
    return SN_FAIL(e, SN_ERR_INPUT, "%s: not seekable; convert it to WAV or FLAC", a->path);
  a->channels = si.channels;
  a->n_in = (int64_t)si.frames;
  a->in_rate = (double)si.samplerate;
  a->sf_pos = 0;
  snprintf(fmt, fmt_cap, "%s %s", sf_major_name(si.format), sf_sub_name(si.format));
  return SN_OK;
}

int sn_audio_open(const char *path, const sn_audio_opts *o, sn_audio **ap, sn_audio_info *info, sn_err *e) {
  int rc = SN_OK;
  sn_audio_opts dflt = {-1, 0.0, 0};
  char fmt[64] = "";
  if (!o) o = &dflt;
  if (ap) *ap = NULL;
  if (!path || !ap) return SN_FAIL(e, SN_ERR_INTERNAL, "sn_audio_open: NULL argument");

  /* can it be opened at all (SN_ERR_IO), and is it HDF5? */
  int fd = open(path, O_RDONLY | O_NONBLOCK); /* O_NONBLOCK: a FIFO must not block us */
  if (fd < 0) return SN_FAIL(e, SN_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  struct stat stt;
  if (fstat(fd, &stt) != 0) {
    int err = errno;
    close(fd);
    return SN_FAIL(e, SN_ERR_IO, "%s: cannot open: %s", path, strerror(err));
  }
  if (S_ISDIR(stt.st_mode)) {
    close(fd);
    return SN_FAIL(e, SN_ERR_IO, "%s: cannot open: %s", path, strerror(EISDIR));
  }
  if (!S_ISREG(stt.st_mode)) {
    close(fd);
    return SN_FAIL(e, SN_ERR_INPUT, "%s: not a supported audio file (not a regular file: ranks must seek in it)", path);
  }
  int is_h5 = has_hdf5_signature(fd);
  close(fd);

  sn_audio *a = calloc(1, sizeof *a);
  if (!a) return SN_FAIL(e, SN_ERR_NOMEM, "%s: out of memory", path);
  a->h5file = a->h5dset = -1;
  a->sf_pos = -1;
  a->scale = 1.0;
  a->path = strdup(path);
  if (!a->path) {
    rc = SN_FAIL(e, SN_ERR_NOMEM, "%s: out of memory", path);
    goto cleanup;
  }
  if (is_h5) {
    a->kind = SN_AUDIO_HDF5;
    SN_CHECK(open_hdf5(a, fmt, sizeof fmt, e));
  } else {
    a->kind = SN_AUDIO_SNDFILE;
    SN_CHECK(open_sndfile(a, fmt, sizeof fmt, e));
  }

  /* validate what the header says */
  if (!(isfinite(a->in_rate) && a->in_rate > 0 && a->in_rate <= SN_AUDIO_MAX_RATE)) {
    rc = SN_FAIL(e, SN_ERR_INPUT, "%s: bad sample rate %g (must be in (0, 1e7] Hz)", path, a->in_rate);
    goto cleanup;
  }
  if (a->n_in < 1) {
    rc = SN_FAIL(e, SN_ERR_INPUT, "%s: no audio samples", path);
    goto cleanup;
  }
  if (a->n_in > SN_AUDIO_MAX_FRAMES) {
    rc = SN_FAIL(e, SN_ERR_INPUT, "%s: implausible length %lld samples (corrupt header?)", path,
                 (long long)a->n_in);
    goto cleanup;
  }
  if (o->channel < SN_AUDIO_EACH || o->channel >= a->channels) {
    rc = SN_FAIL(e, SN_ERR_INPUT, "%s: channel %d out of range (the file has %d channel%s; 0-based)", path,
                 o->channel, a->channels, a->channels == 1 ? "" : "s");
    goto cleanup;
  }
  a->each = o->channel == SN_AUDIO_EACH;
  a->channel = a->channels == 1 || a->each ? 0 : o->channel;
  if (!(isfinite(o->out_rate) && o->out_rate >= 0 && o->out_rate <= SN_AUDIO_MAX_RATE)) {
    rc = SN_FAIL(e, SN_ERR_INPUT, "%s: bad output sample rate %g (must be in (0, 1e7] Hz, 0 = native)", path,
                 o->out_rate);
    goto cleanup;
  }
  a->out_rate = o->out_rate > 0 ? o->out_rate : a->in_rate;
  a->resample = a->out_rate != a->in_rate;
  a->n_out = a->n_in;
  if (a->resample) {
    if (!is_integer_rate(a->in_rate) || !is_integer_rate(a->out_rate)) {
      rc = SN_FAIL(e, SN_ERR_INPUT, "%s: resampling needs integer sample rates (%g Hz -> %g Hz)", path,
                   a->in_rate, a->out_rate);
      goto cleanup;
    }
    int64_t ir = (int64_t)a->in_rate, orr = (int64_t)a->out_rate, g = gcd64(ir, orr);
    a->L = ir / g;
    a->M = orr / g;
    /* Spans start on multiples of blk_in input samples (blk_out output samples),
     * so each span's output grid is the whole file's. Extra powers of two keep
     * soxr's internal halving stages on the same phase too. */
    int64_t p2 = 1;
    while (p2 < 64 && a->L * p2 < 8192) p2 *= 2;
    a->blk_in = a->L * p2;
    a->blk_out = a->M * p2;
    /* margin: >= 4096 samples on both the input and the output side, which is
     * well beyond the half-length of soxr's HQ filters */
    int64_t need_in = 4096, need_out_in = (int64_t)ceil(4096.0 * a->in_rate / a->out_rate);
    if (need_out_in > need_in) need_in = need_out_in;
    a->margin_blocks = (need_in + a->blk_in - 1) / a->blk_in;
    a->n_out = sn_audio_resampled_length(a->n_in, a->in_rate, a->out_rate);
  }

  /* buffers */
  a->buf_frames = SN_AUDIO_BUF_FLOATS / a->channels;
  if (a->buf_frames > SN_AUDIO_CHUNK) a->buf_frames = SN_AUDIO_CHUNK;
  a->ibuf = malloc(sizeof(float) * (size_t)(a->buf_frames * a->channels));
  a->mono = malloc(sizeof(float) * (size_t)SN_AUDIO_CHUNK);
  a->obuf_len = SN_AUDIO_CHUNK;
  if (a->resample) {
    /* big upsampling ratios take several soxr_process calls per input chunk
     * (soxr consumes input only as far as the output fits) */
    double r = a->out_rate / a->in_rate;
    a->obuf_len = (int64_t)ceil(SN_AUDIO_CHUNK * (r > 4 ? 4 : r > 1 ? r : 1)) + 1024;
  }
  a->obuf = malloc(sizeof(float) * (size_t)a->obuf_len);
  if (!a->ibuf || !a->mono || !a->obuf) {
    rc = SN_FAIL(e, SN_ERR_NOMEM, "%s: out of memory for read buffers", path);
    goto cleanup;
  }

  if (info) {
    memset(info, 0, sizeof *info);
    info->n_samples = a->n_out;
    info->sample_rate = a->out_rate;
    info->channels = a->channels;
    snprintf(info->format, sizeof info->format, "%s", fmt);
    info->n_in = a->n_in;
    info->in_rate = a->in_rate;
  }
  *ap = a;
  return SN_OK;
cleanup:
  sn_audio_close(&a);
  return rc;
}

void sn_audio_close(sn_audio **ap) {
  if (!ap || !*ap) return;
  sn_audio *a = *ap;
  if (a->sf) sf_close(a->sf);
  if (a->h5dset >= 0) H5Dclose(a->h5dset);
  if (a->h5file >= 0) H5Fclose(a->h5file);
  free(a->ibuf);
  free(a->mono);
  free(a->obuf);
  free(a->path);
  free(a);
  *ap = NULL;
}

void sn_audio_select(sn_audio *a, int c) {
  if (a && a->each && c >= 0 && c < a->channels) a->channel = c;
}

void sn_audio_set_scale(sn_audio *a, double scale) {
  if (a) a->scale = scale;
}

/* ---- raw mono reading ----------------------------------------------------- */

/* Local. Mono samples [i0, i0 + n) of the file (before resampling, unscaled);
 * zeros outside [0, n_in). n <= SN_AUDIO_CHUNK not required. */
static int read_mono(sn_audio *a, int64_t i0, int64_t n, float *out, sn_err *e) {
  int64_t lo = i0 < 0 ? 0 : i0, hi = i0 + n > a->n_in ? a->n_in : i0 + n;
  if (hi <= lo) {
    memset(out, 0, sizeof(float) * (size_t)n);
    return SN_OK;
  }
  if (lo > i0) memset(out, 0, sizeof(float) * (size_t)(lo - i0));
  if (hi < i0 + n) memset(out + (hi - i0), 0, sizeof(float) * (size_t)(i0 + n - hi));
  int64_t pos = lo;
  if (a->kind == SN_AUDIO_SNDFILE) {
    if (a->sf_pos != pos) {
      if (sf_seek(a->sf, (sf_count_t)pos, SEEK_SET) != (sf_count_t)pos) {
        a->sf_pos = -1;
        return SN_FAIL(e, SN_ERR_IO, "%s: cannot seek to sample %lld: %s", a->path, (long long)pos,
                       sf_strerror(a->sf));
      }
      a->sf_pos = pos;
    }
    const int C = a->channels;
    while (pos < hi) {
      int64_t want = hi - pos < a->buf_frames ? hi - pos : a->buf_frames;
      sf_count_t got = sf_readf_float(a->sf, a->ibuf, (sf_count_t)want);
      if (got != (sf_count_t)want) {
        a->sf_pos = -1;
        const char *why = sf_error(a->sf) ? sf_strerror(a->sf) : "the file ends early (truncated?)";
        return SN_FAIL(e, SN_ERR_IO, "%s: read failed at sample %lld: %s", a->path,
                       (long long)(pos + (got > 0 ? got : 0)), why);
      }
      a->sf_pos += want;
      float *dst = out + (pos - i0);
      if (C == 1) {
        memcpy(dst, a->ibuf, sizeof(float) * (size_t)want);
      } else if (a->channel >= 0) {
        for (int64_t k = 0; k < want; k++) dst[k] = a->ibuf[k * C + a->channel];
      } else {
        for (int64_t k = 0; k < want; k++) {
          const float *f = a->ibuf + k * C;
          double s = 0;
          for (int c = 0; c < C; c++) s += f[c];
          dst[k] = (float)(s / C);
        }
      }
      for (int64_t k = 0; k < want; k++)
        if (!isfinite(dst[k]))
          return SN_FAIL(e, SN_ERR_INPUT, "%s: non-finite sample at index %lld", a->path,
                         (long long)(pos + k));
      pos += want;
    }
  } else {
    hid_t fspace = H5Dget_space(a->h5dset);
    if (fspace < 0) return SN_FAIL(e, SN_ERR_IO, "%s: cannot read /audio", a->path);
    hsize_t off[1] = {(hsize_t)lo}, cnt[1] = {(hsize_t)(hi - lo)};
    hid_t mspace = H5Screate_simple(1, cnt, NULL);
    herr_t st = -1;
    H5E_BEGIN_TRY {
      if (mspace >= 0 && H5Sselect_hyperslab(fspace, H5S_SELECT_SET, off, NULL, cnt, NULL) >= 0)
        st = H5Dread(a->h5dset, H5T_NATIVE_FLOAT, mspace, fspace, H5P_DEFAULT, out + (lo - i0));
    } H5E_END_TRY;
    if (mspace >= 0) H5Sclose(mspace);
    H5Sclose(fspace);
    if (st < 0)
      return SN_FAIL(e, SN_ERR_IO, "%s: read failed at samples [%lld, %lld) of /audio", a->path,
                     (long long)lo, (long long)hi);
    const float *dst = out + (lo - i0);
    for (int64_t k = 0; k < hi - lo; k++)
      if (!isfinite(dst[k]))
        return SN_FAIL(e, SN_ERR_INPUT, "%s: non-finite sample at index %lld", a->path, (long long)(lo + k));
  }
  return SN_OK;
}

/* ---- spans: plain or resampled, into out (scaled) and/or a peak ---------- */

typedef struct sink {
  int64_t start, s0, s1; /* requested start; valid output range [s0, s1) */
  float *out;            /* may be NULL */
  double scale;
  double peak;
} sink;

static void sink_put(sink *k, int64_t g, const float *v, int64_t n) {
  /* v holds outputs for global indices [g, g + n) */
  int64_t lo = g < k->s0 ? k->s0 : g, hi = g + n > k->s1 ? k->s1 : g + n;
  for (int64_t i = lo; i < hi; i++) {
    float x = v[i - g];
    double ax = fabs((double)x);
    if (ax > k->peak) k->peak = ax;
    if (k->out) k->out[i - k->start] = (float)(x * k->scale);
  }
}

static int span_plain(sn_audio *a, sink *k, sn_err *e) {
  for (int64_t pos = k->s0; pos < k->s1; pos += SN_AUDIO_CHUNK) {
    int64_t len = k->s1 - pos < SN_AUDIO_CHUNK ? k->s1 - pos : SN_AUDIO_CHUNK;
    int rc = read_mono(a, pos, len, a->mono, e);
    if (rc) return rc;
    sink_put(k, pos, a->mono, len);
  }
  return SN_OK;
}

static int span_resampled(sn_audio *a, sink *k, sn_err *e) {
  int rc = SN_OK;
  const int64_t bi = a->blk_in, bo = a->blk_out, mb = a->margin_blocks;
  int64_t k0 = k->s0 / bo, k1 = (k->s1 + bo - 1) / bo;
  /* A span near the start begins at input 0 exactly as a whole-file run does
   * (soxr's first outputs carry a start-up transient that zero padding would
   * not reproduce); elsewhere it begins mb blocks before the first block. */
  int64_t kin = k0 - mb < 0 ? 0 : k0 - mb;
  int64_t in0 = kin * bi, in1 = (k1 + mb) * bi;
  int64_t g = kin * bo; /* global output index of the next resampler output */
  soxr_error_t serr = NULL;
  soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
  soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
  soxr_t s = soxr_create(a->in_rate, a->out_rate, 1, &serr, &io, &q, NULL);
  if (!s || serr) return SN_FAIL(e, SN_ERR_INTERNAL, "%s: cannot create the resampler: %s", a->path, serr ? serr : "?");
  for (int64_t pos = in0; pos < in1 && g < k->s1; pos += SN_AUDIO_CHUNK) {
    int64_t len = in1 - pos < SN_AUDIO_CHUNK ? in1 - pos : SN_AUDIO_CHUNK;
    SN_CHECK(read_mono(a, pos, len, a->mono, e));
    const float *ip = a->mono;
    size_t left = (size_t)len;
    while (left > 0) {
      size_t idone = 0, odone = 0;
      serr = soxr_process(s, ip, left, &idone, a->obuf, (size_t)a->obuf_len, &odone);
      if (serr) {
        rc = SN_FAIL(e, SN_ERR_INTERNAL, "%s: resampler failed: %s", a->path, serr);
        goto cleanup;
      }
      sink_put(k, g, a->obuf, (int64_t)odone);
      g += (int64_t)odone;
      ip += idone;
      left -= idone;
      if (idone == 0 && odone == 0) {
        rc = SN_FAIL(e, SN_ERR_INTERNAL, "%s: resampler made no progress", a->path);
        goto cleanup;
      }
    }
  }
  /* flush what the filter still holds */
  for (int64_t guard = 0; g < k->s1 && guard < 1000000; guard++) {
    size_t odone = 0;
    serr = soxr_process(s, NULL, 0, NULL, a->obuf, (size_t)a->obuf_len, &odone);
    if (serr) {
      rc = SN_FAIL(e, SN_ERR_INTERNAL, "%s: resampler failed: %s", a->path, serr);
      goto cleanup;
    }
    if (odone == 0) break;
    sink_put(k, g, a->obuf, (int64_t)odone);
    g += (int64_t)odone;
  }
  if (g < k->s1)
    rc = SN_FAIL(e, SN_ERR_INTERNAL, "%s: resampler produced too few samples (%lld < %lld)", a->path,
                 (long long)g, (long long)k->s1);
cleanup:
  soxr_delete(s);
  return rc;
}

static int span(sn_audio *a, int64_t start, int64_t n, float *out, double scale, double *peak, sn_err *e) {
  if (!a) return SN_FAIL(e, SN_ERR_INTERNAL, "sn_audio: NULL handle");
  if (n < 0) return SN_FAIL(e, SN_ERR_INTERNAL, "%s: negative read count %lld", a->path, (long long)n);
  if (n > 0 && start > INT64_MAX - n)
    return SN_FAIL(e, SN_ERR_INTERNAL, "%s: read span overflows", a->path);
  sink k = {start, start < 0 ? 0 : start, start + n > a->n_out ? a->n_out : start + n, out, scale, 0.0};
  if (out && n > 0) memset(out, 0, sizeof(float) * (size_t)n);
  int rc = SN_OK;
  if (k.s0 < k.s1) rc = a->resample ? span_resampled(a, &k, e) : span_plain(a, &k, e);
  if (peak) *peak = k.peak;
  return rc;
}

int sn_audio_read(sn_audio *a, int64_t start, int64_t n, float *out, sn_err *e) {
  if (n > 0 && !out) return SN_FAIL(e, SN_ERR_INTERNAL, "sn_audio_read: NULL output");
  return span(a, start, n, out, a ? a->scale : 1.0, NULL, e);
}

int sn_audio_peak(sn_audio *a, int64_t start, int64_t n, double *peak, sn_err *e) {
  double p = 0;
  int rc = SN_OK;
  if (a && a->each) { /* the largest over the channels; the selection stays */
    int keep = a->channel;
    for (int c = 0; c < a->channels && rc == SN_OK; c++) {
      double pc = 0;
      a->channel = c;
      rc = span(a, start, n, NULL, 1.0, &pc, e);
      if (pc > p) p = pc;
    }
    a->channel = keep;
  } else {
    rc = span(a, start, n, NULL, 1.0, &p, e);
  }
  if (peak) *peak = p;
  return rc;
}

int sn_audio_normalize(MPI_Comm comm, sn_audio *a, double *peak, sn_err *e) {
  int rank = 0, size = 1;
  SN_MPI_CALL(MPI_Comm_rank(comm, &rank));
  SN_MPI_CALL(MPI_Comm_size(comm, &size));
  int64_t start = 0, n = 0;
  double p = 0;
  int rc = SN_OK;
  if (!a) rc = SN_FAIL(e, SN_ERR_INTERNAL, "sn_audio_normalize: NULL handle");
  else {
    sn_block_range(a->n_out, size, rank, &start, &n);
    rc = sn_audio_peak(a, start, n, &p, e);
  }
  rc = sn_agree(comm, rc, e);
  if (rc) return rc;
  double gp = 0;
  SN_MPI_CALL(MPI_Allreduce(&p, &gp, 1, MPI_DOUBLE, MPI_MAX, comm));
  sn_audio_set_scale(a, gp > 0 ? 1.0 / gp : 1.0);
  if (peak) *peak = gp;
  return SN_OK;
}
