/* Parallel float32 WAV / RF64 writer with MPI-IO. See sn_wav.h. */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* sync_file_range */
#endif
#include "sn_wav.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sn_atomic.h"
#include "sn_comm.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "sn_wav writes float32 samples in host order: a little-endian host is required"
#endif

#define SN_WAV_CHUNK ((int64_t)1 << 28) /* samples per collective write (1 GiB) */

struct sn_wav {
  MPI_Comm comm;
  int rank, size;
  char *path, *tmp; /* final and temporary name (every rank's copy) */
  sn_atomic out;    /* rank 0: the pending temporary file */
  MPI_File fh;
  int open;   /* fh valid */
  int failed; /* an agreed failure happened: never commit */
  int64_t n_total; /* frames */
  int64_t chunk; /* samples per collective write */
  int channels;
  int hdr;       /* header bytes: where the data starts */
  int wb_fd;     /* this rank's own descriptor of the file, to start the writeback of
                    what it wrote (Linux; -1: none, the kernel's own pace) */
  off_t wb_off, wb_len; /* the span of its previous write (its pages are dropped after the next) */
};

static void put16(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)v;
  p[1] = (unsigned char)(v >> 8);
}
static void put32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

int sn_wav_header(unsigned char *h, uint32_t rate, int64_t n_total, int force_rf64) {
  sn_wav_header_ch(h, rate, n_total, 1, force_rf64);
  return SN_OK;
}

int sn_wav_header_ch(unsigned char *h, uint32_t rate, int64_t n_total, int channels, int force_rf64) {
  const int ext = channels > 2, hb = ext ? SN_WAV_HEADER_BYTES_EXT : SN_WAV_HEADER_BYTES, x = ext ? 22 : 0;
  const uint32_t C = (uint32_t)channels;
  memset(h, 0, (size_t)hb);
  uint64_t data = (uint64_t)n_total * 4u * C;
  uint64_t riff = (uint64_t)hb - 8 + data;
  int rf64 = force_rf64 || riff > 0xFFFFFFFFu;
  memcpy(h, rf64 ? "RF64" : "RIFF", 4);
  put32(h + 4, rf64 ? 0xFFFFFFFFu : (uint32_t)riff);
  memcpy(h + 8, "WAVE", 4);
  /* 12: ds64 (RF64) or a JUNK chunk of the same size that reserves its room */
  memcpy(h + 12, rf64 ? "ds64" : "JUNK", 4);
  put32(h + 16, 28);
  if (rf64) {
    put64(h + 20, riff);
    put64(h + 28, data);
    put64(h + 36, (uint64_t)n_total);
    put32(h + 44, 0); /* table length */
  }
  /* 48: fmt, WAVE_FORMAT_IEEE_FLOAT, 18 bytes (cbSize = 0); for more than 2
   * channels WAVE_FORMAT_EXTENSIBLE, 40 bytes, with the float sub-format */
  memcpy(h + 48, "fmt ", 4);
  put32(h + 52, 18 + (uint32_t)x);
  put16(h + 56, ext ? 0xFFFEu : 3u); /* WAVE_FORMAT_EXTENSIBLE / WAVE_FORMAT_IEEE_FLOAT */
  put16(h + 58, C);        /* channels */
  put32(h + 60, rate);     /* sample rate */
  put32(h + 64, rate * 4u * C); /* byte rate (rate * channels < 2^30 checked by the caller) */
  put16(h + 68, 4u * C);   /* block align */
  put16(h + 70, 32);       /* bits per sample */
  put16(h + 72, (uint32_t)x); /* cbSize */
  if (ext) {
    static const unsigned char kFloat[16] = {0x03, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71};
    put16(h + 74, 32); /* valid bits per sample */
    put32(h + 76, 0);  /* channel mask: no speaker positions */
    memcpy(h + 80, kFloat, 16);
  }
  /* fact with the frame count (-1 in RF64 when it does not fit: see ds64) */
  memcpy(h + 74 + x, "fact", 4);
  put32(h + 78 + x, 4);
  put32(h + 82 + x, (uint64_t)n_total >= 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)n_total);
  /* data */
  memcpy(h + 86 + x, "data", 4);
  put32(h + 90 + x, rf64 ? 0xFFFFFFFFu : (uint32_t)data);
  return hb;
}

static int mpi_fail(sn_err *e, int code, const char *path, const char *what, int mrc) {
  char msg[MPI_MAX_ERROR_STRING + 1] = "";
  int len = 0;
  if (MPI_Error_string(mrc, msg, &len) != MPI_SUCCESS) len = 0; /* no reason known: the path and what failed */
  msg[len < 0 ? 0 : (len > MPI_MAX_ERROR_STRING ? MPI_MAX_ERROR_STRING : len)] = '\0';
  return SN_FAIL(e, code, "%s: %s: %s", path, what, msg);
}

static void wav_free(sn_wav *w) {
  if (!w) return;
  if (w->wb_fd >= 0) close(w->wb_fd);
  free(w->path);
  free(w->tmp);
  free(w);
}

static int wav_open(MPI_Comm comm, const char *path, const char *suffix, int reopen, double sample_rate,
                    int64_t n_total, int channels, int force, int force_rf64, sn_wav **wp, sn_err *e);

int sn_wav_create(MPI_Comm comm, const char *path, double sample_rate, int64_t n_total, int force,
                  sn_wav **wp, sn_err *e) {
  return sn_wav_create_ex(comm, path, sample_rate, n_total, force, 0, wp, e);
}

int sn_wav_create_ex(MPI_Comm comm, const char *path, double sample_rate, int64_t n_total, int force,
                     int force_rf64, sn_wav **wp, sn_err *e) {
  return wav_open(comm, path, NULL, 0, sample_rate, n_total, 1, force, force_rf64, wp, e);
}

int sn_wav_create_ch(MPI_Comm comm, const char *path, double sample_rate, int64_t n_total, int channels, int force,
                     int force_rf64, sn_wav **wp, sn_err *e) {
  return wav_open(comm, path, NULL, 0, sample_rate, n_total, channels, force, force_rf64, wp, e);
}

int sn_wav_create_at(MPI_Comm comm, const char *path, const char *suffix, int reopen, double sample_rate,
                     int64_t n_total, int channels, int force, sn_wav **wp, sn_err *e) {
  return wav_open(comm, path, suffix, reopen, sample_rate, n_total, channels, force, 0, wp, e);
}

void sn_wav_interleave(const float *y, int64_t n, int c, int nch, float *Y) {
  for (int64_t i = 0; i < n; i++) Y[i * nch + c] = y[i];
}

/* Collective. suffix NULL: a fresh "PATH.tmp-PID" (sn_atomic_begin); else
 * "PATH" suffix, made anew, or with reopen the existing one (its header must
 * say n_total frames of the channels at the rate). */
static int wav_open(MPI_Comm comm, const char *path, const char *suffix, int reopen, double sample_rate,
                    int64_t n_total, int channels, int force, int force_rf64, sn_wav **wp, sn_err *e) {
  int rc = SN_OK;
  if (wp) *wp = NULL;
  sn_wav *w = calloc(1, sizeof *w);
  if (w) w->wb_fd = -1;
  char tmp[PATH_MAX + 32] = "";
  if (!w || !path || !wp) {
    rc = SN_FAIL(e, !w ? SN_ERR_NOMEM : SN_ERR_INTERNAL, "%s: cannot create the WAV writer",
                 path ? path : "(null)");
  } else {
    w->comm = comm;
    SN_MPI_CALL(MPI_Comm_rank(comm, &w->rank));
    SN_MPI_CALL(MPI_Comm_size(comm, &w->size));
    w->n_total = n_total;
    w->chunk = SN_WAV_CHUNK;
    w->channels = channels;
    w->hdr = channels > 2 ? SN_WAV_HEADER_BYTES_EXT : SN_WAV_HEADER_BYTES;
    w->path = strdup(path);
    if (!w->path) rc = SN_FAIL(e, SN_ERR_NOMEM, "%s: out of memory", path);
  }
  uint32_t rate = 0;
  if (!rc) {
    double r = floor(sample_rate + 0.5);
    if (channels < 1 || channels > SN_WAV_MAX_CHANNELS)
      rc = SN_FAIL(e, SN_ERR_INPUT, "%s: bad channel count %d for WAV output (1..%d)", path, channels, SN_WAV_MAX_CHANNELS);
    else if (!(isfinite(sample_rate) && r >= 1 && r * channels < (double)(1u << 30)))
      rc = SN_FAIL(e, SN_ERR_INPUT, "%s: bad sample rate %g for WAV output", path, sample_rate);
    else if (n_total < 0 || n_total > (INT64_MAX - SN_WAV_HEADER_BYTES_EXT) / 4 / channels)
      rc = SN_FAIL(e, SN_ERR_INPUT, "%s: bad sample count %lld for WAV output", path, (long long)n_total);
    rate = (uint32_t)r;
  }
  /* rank 0 makes the temporary file with its header and full length */
  if (!rc && w->rank == 0) {
    struct stat st;
    if (force) sn_leftovers_clean(path); /* what a killed run left under this name */
    if (!force && stat(path, &st) == 0) {
      rc = SN_FAIL(e, SN_ERR_IO, "%s: exists (use --force to overwrite)", path);
    } else if (strlen(path) > PATH_MAX) {
      rc = SN_FAIL(e, SN_ERR_IO, "%s: cannot create: path too long", path);
    } else if (sn_atomic_begin(&w->out, path, suffix) != 0) {
      rc = SN_FAIL(e, SN_ERR_IO, "%s%s: cannot create: path too long", path, suffix ? suffix : "");
    } else if (reopen) {
      /* an earlier run's file: its header must be the one this run would write */
      snprintf(tmp, sizeof tmp, "%s", w->out.tmp);
      unsigned char want[SN_WAV_HEADER_BYTES_EXT], got[SN_WAV_HEADER_BYTES_EXT];
      const int hb = sn_wav_header_ch(want, rate, n_total, channels, force_rf64);
      int fd = open(tmp, O_RDONLY);
      if (fd < 0) {
        rc = SN_FAIL(e, SN_ERR_INPUT, "%s: cannot resume: the partial output is missing (%s)", tmp, strerror(errno));
      } else {
        if (read(fd, got, (size_t)hb) != (ssize_t)hb || memcmp(got, want, (size_t)hb) != 0 ||
            fstat(fd, &st) != 0 || st.st_size != (off_t)hb + (off_t)n_total * 4 * channels)
          rc = SN_FAIL(e, SN_ERR_INPUT, "%s: cannot resume: the partial output is not the one this run makes", tmp);
        close(fd);
      }
      if (rc) { /* not ours to remove */
        tmp[0] = '\0';
        sn_atomic_keep(&w->out);
      }
    } else {
      snprintf(tmp, sizeof tmp, "%s", w->out.tmp);
      int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
      if (fd < 0) {
        rc = SN_FAIL(e, SN_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
      } else {
        unsigned char hdr[SN_WAV_HEADER_BYTES_EXT];
        int hb = sn_wav_header_ch(hdr, rate, n_total, channels, force_rf64);
        off_t total = (off_t)hb + (off_t)n_total * 4 * channels;
        /* The file system allocates the whole file now (not a sparse file):
         * a disk that fills later cannot fail the collective writes. */
        int err = 0;
        if (write(fd, hdr, (size_t)hb) != (ssize_t)hb || ftruncate(fd, total) != 0)
          rc = SN_FAIL(e, SN_ERR_IO, "%s: cannot write the header: %s", path, strerror(errno));
        else if ((err = posix_fallocate(fd, 0, total)) != 0 && err != EOPNOTSUPP && err != EINVAL)
          rc = SN_FAIL(e, SN_ERR_IO, "%s: no room for %lld bytes: %s", path, (long long)total, strerror(err));
        if (close(fd) != 0 && !rc) rc = SN_FAIL(e, SN_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
        if (rc) sn_atomic_abort(&w->out);
      }
      if (rc) { /* nothing of ours to remove later */
        tmp[0] = '\0';
        sn_atomic_keep(&w->out);
      }
    }
  }
  rc = sn_agree(comm, rc, e);
  if (rc) {
    if (w && w->rank == 0 && tmp[0]) sn_atomic_abort(&w->out); /* another rank failed: drop rank 0's file */
    wav_free(w);
    return rc;
  }
  SN_MPI_CALL(MPI_Bcast(tmp, (int)sizeof tmp, MPI_CHAR, 0, comm));
  w->tmp = strdup(tmp);
  if (!w->tmp) rc = SN_FAIL(e, SN_ERR_NOMEM, "%s: out of memory", path);
  rc = sn_agree(comm, rc, e);
  if (!rc) {
    /* MPI-IO's codes are turned into agreed errors (SN_ERR_IO naming the file):
     * a file that cannot be opened, written or closed is the user's to fix */
    int mrc = MPI_File_open(comm, tmp, MPI_MODE_WRONLY, MPI_INFO_NULL, &w->fh);
    if (mrc != MPI_SUCCESS) rc = mpi_fail(e, SN_ERR_IO, path, "cannot open for parallel writing", mrc);
    else w->open = 1;
#ifdef SYNC_FILE_RANGE_WRITE
    if (!rc) w->wb_fd = open(w->tmp, O_RDONLY); /* failing is harmless: no early writeback */
#endif
    rc = sn_agree(comm, rc, e);
  }
  if (rc) {
    /* MPI_File_open is collective: it fails on all ranks together in practice;
     * a rank that did open it closes it (collective only if all opened). */
    int all_open = 0;
    SN_MPI_CALL(MPI_Allreduce(&w->open, &all_open, 1, MPI_INT, MPI_MIN, comm));
    if (all_open) (void)MPI_File_close(&w->fh); /* already failing: the file is removed below */
    if (w->rank == 0 && !reopen) sn_atomic_abort(&w->out);
    if (w->rank == 0) sn_atomic_keep(&w->out);
    wav_free(w);
    return rc;
  }
  *wp = w;
  return SN_OK;
}

void sn_wav_set_chunk(sn_wav *w, int64_t samples) {
  if (w) w->chunk = samples < 1 ? 1 : (samples > SN_WAV_CHUNK ? SN_WAV_CHUNK : samples);
}

int sn_wav_write(sn_wav *w, int64_t start, int64_t n, const float *x, sn_err *e) {
  if (!w) return SN_FAIL(e, SN_ERR_INTERNAL, "sn_wav_write: NULL handle");
  int rc = SN_OK;
  if (n < 0 || start < 0 || start > w->n_total || n > w->n_total - start)
    rc = SN_FAIL(e, SN_ERR_INPUT, "%s: write span [%lld, +%lld) outside [0, %lld)", w->path, (long long)start,
                 (long long)n, (long long)w->n_total);
  else if (n > 0 && !x)
    rc = SN_FAIL(e, SN_ERR_INTERNAL, "%s: NULL samples", w->path);
  const int64_t C = w->chunk / w->channels > 0 ? w->chunk / w->channels : 1; /* frames per call */
  const int nc = w->channels;
  int64_t chunks = rc ? 0 : (n + C - 1) / C, max_chunks = 0;
  rc = sn_agree(w->comm, rc, e);
  if (rc) {
    w->failed = 1;
    return rc;
  }
  SN_MPI_CALL(MPI_Allreduce(&chunks, &max_chunks, 1, MPI_INT64_T, MPI_MAX, w->comm));
  sn_fault_fill(w->tmp, w->rank);
  for (int64_t c = 0; c < max_chunks; c++) {
    int64_t off = c * C;
    int64_t len = off < n ? (n - off < C ? n - off : C) : 0;
    if (rc) len = 0; /* keep taking part in the collective calls after a local failure */
    MPI_Offset pos = (MPI_Offset)w->hdr + (MPI_Offset)(start + (len ? off : 0)) * 4 * nc;
    MPI_Status st;
    /* an agreed SN_ERR_IO, as MPI_File_open's */
    int mrc = MPI_File_write_at_all(w->fh, pos, len ? x + off * nc : NULL, (int)(len * nc), MPI_FLOAT, &st);
    if (mrc != MPI_SUCCESS && !rc) {
      rc = mpi_fail(e, SN_ERR_IO, w->path, "write failed", mrc);
    } else if (!rc && len > 0) {
      int cnt = 0;
      SN_MPI_CALL(MPI_Get_count(&st, MPI_FLOAT, &cnt));
      if (cnt != (int)(len * nc))
        rc = SN_FAIL(e, SN_ERR_IO, "%s: short write (%d of %lld samples at frame %lld)", w->path, cnt,
                     (long long)(len * nc), (long long)(start + off));
    }
  }
#ifdef SYNC_FILE_RANGE_WRITE
  /* Start the disk writes of this rank's span now, without waiting for them:
   * the kernel would otherwise let them pile up as dirty pages until a
   * checkpoint's or the close's sync, which then waits for all of them. The
   * writeback overlaps the next block's compute instead. The previous span's
   * writeback has had a block's time: wait for what is left of it and drop
   * its pages from the page cache, so a long output does not fill memory
   * with pages nobody reads again (the kernel would have to reclaim them
   * while the next writes wait). Advisory: failures change nothing (the
   * syncs still report any I/O error). */
  if (!rc && n > 0 && w->wb_fd >= 0) {
    const off_t off = (off_t)w->hdr + (off_t)start * 4 * nc, len = (off_t)n * 4 * nc;
    (void)sync_file_range(w->wb_fd, off, len, SYNC_FILE_RANGE_WRITE);
    if (w->wb_len > 0 &&
        sync_file_range(w->wb_fd, w->wb_off, w->wb_len,
                        SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER) == 0)
      (void)posix_fadvise(w->wb_fd, w->wb_off, w->wb_len, POSIX_FADV_DONTNEED);
    w->wb_off = off;
    w->wb_len = len;
  }
#endif
  rc = sn_agree(w->comm, rc, e);
  if (rc) w->failed = 1;
  return rc;
}

int sn_wav_sync(sn_wav *w, sn_err *e) {
  int rc = SN_OK;
  if (w->open) {
    int mrc = MPI_File_sync(w->fh); /* collective: on every rank of the file's communicator */
    if (mrc != MPI_SUCCESS) rc = mpi_fail(e, SN_ERR_IO, w->path, "sync failed", mrc);
  }
  rc = sn_agree(w->comm, rc, e);
  if (rc) w->failed = 1;
  return rc;
}

int sn_wav_close(sn_wav **wp, int commit, sn_err *e) {
  if (!wp || !*wp) return SN_OK;
  sn_wav *w = *wp;
  *wp = NULL;
  int rc = SN_OK;
  if (w->open && commit > 0 && !w->failed) rc = sn_wav_sync(w, e); /* every rank's samples on disk */
  if (w->open) {
    int mrc = MPI_File_close(&w->fh); /* an agreed SN_ERR_IO, as MPI_File_open's */
    if (mrc != MPI_SUCCESS) rc = mpi_fail(e, SN_ERR_IO, w->path, "close failed", mrc);
    w->open = 0;
  }
  rc = sn_agree(w->comm, rc, e);
  int rc2 = SN_OK;
  if (w->rank == 0) {
    if (commit > 0 && !rc && !w->failed) {
      int err = sn_atomic_commit(&w->out);
      if (err)
        rc2 = SN_FAIL(e, SN_ERR_IO, "%s: cannot commit the finished file (fsync, rename): %s", w->path, strerror(err));
    } else if (commit != SN_WAV_KEEP) {
      sn_atomic_abort(&w->out);
    } else {
      sn_atomic_keep(&w->out);
    }
  }
  rc2 = sn_agree(w->comm, rc2, e);
  wav_free(w);
  return rc ? rc : rc2;
}
