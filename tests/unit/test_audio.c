/* Unit tests of io/sn_audio: reading spans, mono mixing, channel selection,
 * normalization, HDF5 input, resampled spans against one whole-file
 * soxr_oneshot, and every bad input giving a clear error (no crash). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <hdf5.h>
#include <mpi.h>
#include <sndfile.h>
#include <soxr.h>

#include "sn_audio.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#include "sn_check.h"

static char dir[512];

static const char *tpath(const char *name) {
  static char buf[8][1024];
  static int k = 0;
  k = (k + 1) % 8;
  snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
  return buf[k];
}

/* deterministic pseudo-random in [-1, 1) */
static uint64_t rng = 88172645463325252ull;
static double urand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

static void write_sf(const char *path, int format, int rate, int ch, int64_t frames, const float *x) {
  SF_INFO si = {0};
  si.samplerate = rate;
  si.channels = ch;
  si.format = format;
  SNDFILE *f = sf_open(path, SFM_WRITE, &si);
  if (!f) {
    fprintf(stderr, "cannot write %s: %s\n", path, sf_strerror(NULL));
    exit(2);
  }
  sf_command(f, SFC_SET_CLIPPING, NULL, SF_FALSE);
  if (sf_writef_float(f, x, frames) != frames) {
    fprintf(stderr, "short write %s\n", path);
    exit(2);
  }
  sf_close(f);
}

static void write_bytes(const char *path, const void *b, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(b, 1, n, f) != n) {
    fprintf(stderr, "cannot write %s\n", path);
    exit(2);
  }
  fclose(f);
}

static void le16(unsigned char *p, unsigned v) { p[0] = v & 255; p[1] = (v >> 8) & 255; }
static void le32(unsigned char *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (v >> (8 * i)) & 255; }

/* A hand-made PCM/float WAV header (44 bytes) with any values, plus data. */
static size_t hand_wav(unsigned char *b, unsigned fmt, unsigned ch, uint32_t rate, unsigned bits,
                       uint32_t data_bytes_claimed, size_t data_bytes_present) {
  memcpy(b, "RIFF", 4);
  le32(b + 4, 36 + data_bytes_claimed);
  memcpy(b + 8, "WAVEfmt ", 8);
  le32(b + 16, 16);
  le16(b + 20, fmt);
  le16(b + 22, ch);
  le32(b + 24, rate);
  le32(b + 28, rate * ch * (bits / 8));
  le16(b + 32, ch * (bits / 8));
  le16(b + 34, bits);
  memcpy(b + 36, "data", 4);
  le32(b + 40, data_bytes_claimed);
  for (size_t i = 0; i < data_bytes_present; i++) b[44 + i] = (unsigned char)(i * 37);
  return 44 + data_bytes_present;
}

static int open_err(const char *path, const sn_audio_opts *o, sn_err *e) {
  sn_audio *a = NULL;
  sn_audio_info info;
  memset(e, 0, sizeof *e);
  int rc = sn_audio_open(path, o, &a, &info, e);
  if (rc == SN_OK) sn_audio_close(&a);
  if (getenv("SN_TEST_VERBOSE")) printf("  error %d: %s\n", rc, e->msg);
  CHECK(rc != SN_OK || a == NULL, "handle left open");
  return rc;
}

static int starts_with(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

/* ---- plain reads ---------------------------------------------------------- */

static void test_plain(void) {
  const int64_t N = 50000;
  float *x = malloc(sizeof(float) * N), *y = malloc(sizeof(float) * (N + 400));
  for (int64_t i = 0; i < N; i++) x[i] = (float)(0.7 * urand());
  const char *p = tpath("mono_f32.wav");
  write_sf(p, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 1, N, x);
  sn_audio *a = NULL;
  sn_audio_info info;
  sn_err e = {0};
  int rc = sn_audio_open(p, NULL, &a, &info, &e);
  CHECK(rc == SN_OK, "open: %s", e.msg);
  if (rc) return;
  CHECK(info.n_samples == N && info.sample_rate == 16000 && info.channels == 1, "info %lld %g %d",
        (long long)info.n_samples, info.sample_rate, info.channels);
  CHECK(strcmp(info.format, "WAV float32") == 0, "format '%s'", info.format);
  rc = sn_audio_read(a, 0, N, y, &e);
  CHECK(rc == SN_OK && memcmp(x, y, sizeof(float) * N) == 0, "whole read differs");
  /* spans over both ends: zeros outside */
  rc = sn_audio_read(a, -200, 500, y, &e);
  int ok = rc == SN_OK;
  for (int i = 0; i < 500; i++) ok &= y[i] == (i < 200 ? 0.0f : x[i - 200]);
  CHECK(ok, "span over the start");
  rc = sn_audio_read(a, N - 100, 300, y, &e);
  ok = rc == SN_OK;
  for (int i = 0; i < 300; i++) ok &= y[i] == (i < 100 ? x[N - 100 + i] : 0.0f);
  CHECK(ok, "span over the end");
  rc = sn_audio_read(a, N + 10, 50, y, &e);
  ok = rc == SN_OK;
  for (int i = 0; i < 50; i++) ok &= y[i] == 0.0f;
  CHECK(ok, "span beyond the end");
  rc = sn_audio_read(a, -(N + 400), N + 400, y, &e);
  ok = rc == SN_OK;
  for (int i = 0; i < N + 400; i++) ok &= y[i] == 0.0f;
  CHECK(ok, "span before the start");
  CHECK(sn_audio_read(a, 5, 0, NULL, &e) == SN_OK, "n = 0");
  /* backwards seeks and repeated reads */
  for (int t = 0; t < 20; t++) {
    int64_t s = (int64_t)((urand() + 1) * 0.5 * N), n = 1 + (int64_t)((urand() + 1) * 0.5 * 3000);
    rc = sn_audio_read(a, s, n, y, &e);
    ok = rc == SN_OK;
    for (int64_t i = 0; i < n; i++) ok &= y[i] == (s + i < N ? x[s + i] : 0.0f);
    CHECK(ok, "random span %lld+%lld", (long long)s, (long long)n);
  }
  /* peak and scale */
  double peak = 0, ref = 0;
  for (int64_t i = 0; i < N; i++) ref = fmax(ref, fabs(x[i]));
  rc = sn_audio_peak(a, 0, N, &peak, &e);
  CHECK(rc == SN_OK && peak == ref, "peak %g vs %g", peak, ref);
  double p2 = 0, r2 = 0;
  for (int64_t i = 1000; i < 2000; i++) r2 = fmax(r2, fabs(x[i]));
  sn_audio_peak(a, 1000, 1000, &p2, &e);
  CHECK(p2 == r2, "span peak %g vs %g", p2, r2);
  sn_audio_set_scale(a, 1.0 / peak);
  rc = sn_audio_read(a, 0, N, y, &e);
  double err = 0, ymax = 0;
  for (int64_t i = 0; i < N; i++) {
    err = fmax(err, fabs(y[i] - x[i] / peak));
    ymax = fmax(ymax, fabs(y[i]));
  }
  CHECK(rc == SN_OK && err < 1e-6 && fabs(ymax - 1) < 1e-6, "normalized: err %g max %g", err, ymax);
  /* the peak ignores the scale */
  sn_audio_peak(a, 0, N, &p2, &e);
  CHECK(p2 == ref, "peak after scale %g", p2);
  /* collective normalize on MPI_COMM_SELF */
  sn_audio_set_scale(a, 1.0);
  double gp = 0;
  rc = sn_audio_normalize(MPI_COMM_SELF, a, &gp, &e);
  CHECK(rc == SN_OK && gp == ref, "normalize peak %g", gp);
  sn_audio_read(a, 0, N, y, &e);
  ymax = 0;
  for (int64_t i = 0; i < N; i++) ymax = fmax(ymax, fabs(y[i]));
  CHECK(fabs(ymax - 1) < 1e-6, "normalize max %g", ymax);
  sn_audio_close(&a);
  CHECK(a == NULL, "close sets NULL");
  sn_audio_close(&a);
  free(x);
  free(y);
}

static void test_channels(void) {
  const int64_t N = 70001; /* > one read block */
  const int C = 3;
  float *x = malloc(sizeof(float) * N * C), *y = malloc(sizeof(float) * N);
  for (int64_t i = 0; i < N * C; i++) x[i] = (float)(0.5 * urand());
  const char *p = tpath("three.wav");
  write_sf(p, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 22050, C, N, x);
  for (int ch = -1; ch < C; ch++) {
    sn_audio_opts o = {ch, 0, 0};
    sn_audio *a = NULL;
    sn_audio_info info;
    sn_err e = {0};
    int rc = sn_audio_open(p, &o, &a, &info, &e);
    CHECK(rc == SN_OK && info.channels == C && info.n_samples == N, "open ch %d: %s", ch, e.msg);
    if (rc) continue;
    rc = sn_audio_read(a, 0, N, y, &e);
    double err = 0;
    for (int64_t i = 0; i < N; i++) {
      double ref = ch < 0 ? ((double)x[i * C] + x[i * C + 1] + x[i * C + 2]) / 3 : x[i * C + ch];
      err = fmax(err, fabs(y[i] - ref));
    }
    CHECK(rc == SN_OK && err <= 1e-7, "channel %d: err %g", ch, err);
    sn_audio_close(&a);
  }
  sn_err e;
  sn_audio_opts bad = {C, 0, 0};
  int rc = open_err(p, &bad, &e);
  CHECK(rc == SN_ERR_INPUT && strstr(e.msg, "channel 3 out of range"), "channel 3: %d %s", rc, e.msg);
  bad.channel = -3; /* -2 is SN_AUDIO_EACH */
  rc = open_err(p, &bad, &e);
  CHECK(rc == SN_ERR_INPUT, "channel -3: %d %s", rc, e.msg);
  { /* SN_AUDIO_EACH: each channel in turn (in any order), and the peak of all */
    sn_audio_opts o = {SN_AUDIO_EACH, 0, 0};
    sn_audio *a = NULL;
    sn_audio_info info;
    sn_err e2 = {0};
    rc = sn_audio_open(p, &o, &a, &info, &e2);
    double err = 0, peak = 0, want = 0;
    for (int c = C - 1; rc == SN_OK && c >= 0; c--) {
      sn_audio_select(a, c);
      rc = sn_audio_read(a, 0, N, y, &e2);
      for (int64_t i = 0; i < N; i++) err = fmax(err, fabs(y[i] - x[i * C + c]));
    }
    if (rc == SN_OK) rc = sn_audio_peak(a, 0, N, &peak, &e2);
    for (int64_t i = 0; i < N * C; i++) want = fmax(want, fabs(x[i]));
    CHECK(rc == SN_OK && err == 0 && peak == want, "each channel: err %g, peak %g of %g: %s", err, peak, want, e2.msg);
    sn_audio_close(&a);
  }
  free(x);
  free(y);
}

/* ---- resampling: spans vs one whole-file soxr_oneshot -------------------- */

static void test_resample_pair(int in_rate, int out_rate, double seconds, int channels) {
  int64_t N = (int64_t)(seconds * in_rate);
  float *x = malloc(sizeof(float) * N * channels), *mono = malloc(sizeof(float) * N);
  /* a mix of tones (some above the output Nyquist) and white noise */
  for (int64_t i = 0; i < N; i++) {
    double t = (double)i / in_rate, m = 0;
    for (int c = 0; c < channels; c++) {
      double v = 0.3 * sin(2 * M_PI * 440.0 * (c + 1) * t) + 0.2 * sin(2 * M_PI * 3000.3 * t + c) +
                 0.1 * sin(2 * M_PI * 0.45 * in_rate * t) + 0.1 * urand();
      x[i * channels + c] = (float)v;
      m += (float)v;
    }
    mono[i] = (float)(m / channels);
  }
  char name[64];
  snprintf(name, sizeof name, "rs_%d_%d.wav", in_rate, out_rate);
  const char *p = tpath(name);
  write_sf(p, SF_FORMAT_WAV | SF_FORMAT_FLOAT, in_rate, channels, N, x);

  /* reference: one soxr_oneshot over the whole (mixed) signal */
  int64_t n_ref = sn_audio_resampled_length(N, in_rate, out_rate);
  int64_t cap = n_ref + 1000;
  float *ref = calloc((size_t)cap, sizeof(float));
  size_t odone = 0;
  soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
  soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
  soxr_error_t serr = soxr_oneshot(in_rate, out_rate, 1, mono, (size_t)N, NULL, ref, (size_t)cap, &odone, &io, &q, NULL);
  CHECK(!serr, "oneshot: %s", serr ? serr : "");
  double expect_len = ceil((double)N * out_rate / in_rate);
  CHECK(n_ref == (int64_t)expect_len, "length %lld vs ceil %g", (long long)n_ref, expect_len);

  sn_audio_opts o = {-1, out_rate, 0};
  sn_audio *a = NULL;
  sn_audio_info info;
  sn_err e = {0};
  int rc = sn_audio_open(p, &o, &a, &info, &e);
  CHECK(rc == SN_OK, "open: %s", e.msg);
  if (rc) goto done;
  CHECK(info.n_samples == n_ref && info.sample_rate == out_rate && info.in_rate == in_rate, "info %lld %g",
        (long long)info.n_samples, info.sample_rate);
  /* compare against the oneshot's first n_cmp outputs (it may stop short of
   * ceil() by a sample or two at the very end) */
  int64_t n_cmp = (int64_t)odone < n_ref ? (int64_t)odone : n_ref;
  double peak = 0;
  for (int64_t i = 0; i < n_cmp; i++) peak = fmax(peak, fabs(ref[i]));
  float *y = malloc(sizeof(float) * (size_t)(n_ref + 2000));
  /* whole */
  rc = sn_audio_read(a, 0, n_ref, y, &e);
  double err_whole = 0;
  int64_t argw = -1;
  for (int64_t i = 0; i < n_cmp; i++) {
    if (fabs(y[i] - ref[i]) > err_whole) argw = i;
    err_whole = fmax(err_whole, fabs(y[i] - ref[i]));
  }
  if (getenv("SN_TEST_VERBOSE")) {
    int64_t cnt = 0;
    for (int64_t i = 0; i < n_cmp; i++) if (fabs(y[i] - ref[i]) > 1e-5) { cnt++; printf(" %lld:%.2g", (long long)i, fabs(y[i] - ref[i])); }
    printf("  worst at %lld of %lld; %lld above 1e-5\n", (long long)argw, (long long)n_cmp, (long long)cnt);
  }
  /* pieces of random lengths covering everything, as ranks would */
  double err_span = 0;
  float *z = malloc(sizeof(float) * (size_t)(n_ref + 2000));
  int64_t pos = -37;
  int pieces = 0;
  while (pos < n_ref + 50 && rc == SN_OK) {
    int64_t len = 1 + (int64_t)((urand() + 1) * 0.5 * (pieces % 3 == 0 ? 20 : n_ref / 5.0));
    rc = sn_audio_read(a, pos, len, z, &e);
    for (int64_t i = 0; i < len; i++) {
      int64_t g = pos + i;
      double r = g >= 0 && g < n_cmp ? ref[g] : 0.0;
      if (g >= n_cmp && g < n_ref) continue; /* tail the oneshot did not emit */
      err_span = fmax(err_span, fabs(z[i] - r));
    }
    pos += len;
    pieces++;
  }
  CHECK(rc == SN_OK, "span read: %s", e.msg);
  const double tol = 5e-6; /* of the peak: the whole read is bit-identical to the oneshot, spans differ by float rounding (~4e-7) */
  CHECK(err_whole <= tol * peak && err_span <= tol * peak,
        "%d -> %d Hz (%d ch): max |span - oneshot| whole %.3g, pieces %.3g (peak %.3g, tol %.1g x peak)", in_rate,
        out_rate, channels, err_whole, err_span, peak, tol);
  printf("resample %d -> %d Hz, %d ch, %lld -> %lld samples (oneshot %zu): max err whole %.2e, %d pieces %.2e (peak %.3f)\n",
         in_rate, out_rate, channels, (long long)N, (long long)n_ref, odone, err_whole, pieces, err_span, peak);
  free(y);
  free(z);
  sn_audio_close(&a);
done:
  free(ref);
  free(x);
  free(mono);
}

/* ---- HDF5 input ----------------------------------------------------------- */

static void make_h5(const char *path, int rank2, int with_attr, int int_data, int64_t n, const float *x, double sr) {
  hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hsize_t d[2] = {(hsize_t)n, 1};
  hid_t s = H5Screate_simple(rank2 ? 2 : 1, d, NULL);
  hid_t ds = H5Dcreate2(f, "/audio", int_data ? H5T_STD_I16LE : H5T_IEEE_F32LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (!int_data) H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x);
  if (with_attr) {
    hid_t as = H5Screate(H5S_SCALAR);
    hid_t at = H5Acreate2(ds, "sample_rate", H5T_STD_I32LE, as, H5P_DEFAULT, H5P_DEFAULT);
    int v = (int)sr;
    H5Awrite(at, H5T_NATIVE_INT, &v);
    H5Aclose(at);
    H5Sclose(as);
  }
  H5Dclose(ds);
  H5Sclose(s);
  H5Fclose(f);
}

static void test_hdf5(void) {
  const int64_t N = 30000;
  float *x = malloc(sizeof(float) * N), *y = malloc(sizeof(float) * N);
  for (int64_t i = 0; i < N; i++) x[i] = (float)(0.9 * urand());
  const char *p = tpath("audio.h5");
  make_h5(p, 0, 1, 0, N, x, 8000);
  sn_audio *a = NULL;
  sn_audio_info info;
  sn_err e = {0};
  int rc = sn_audio_open(p, NULL, &a, &info, &e);
  CHECK(rc == SN_OK && info.n_samples == N && info.sample_rate == 8000 && info.channels == 1, "h5 open: %s", e.msg);
  if (!rc) {
    CHECK(strcmp(info.format, "HDF5 float32") == 0, "h5 format %s", info.format);
    rc = sn_audio_read(a, 0, N, y, &e);
    CHECK(rc == SN_OK && memcmp(x, y, sizeof(float) * N) == 0, "h5 whole read");
    rc = sn_audio_read(a, N - 10, 20, y, &e);
    int ok = rc == SN_OK;
    for (int i = 0; i < 20; i++) ok &= y[i] == (i < 10 ? x[N - 10 + i] : 0.0f);
    CHECK(ok, "h5 span over the end");
    sn_audio_close(&a);
  }
  /* resampled HDF5 */
  sn_audio_opts o = {-1, 16000, 0};
  rc = sn_audio_open(p, &o, &a, &info, &e);
  CHECK(rc == SN_OK && info.n_samples == 2 * N, "h5 resampled: %s", e.msg);
  sn_audio_close(&a);
  /* bad HDF5 inputs */
  make_h5(tpath("noattr.h5"), 0, 0, 0, N, x, 0);
  rc = open_err(tpath("noattr.h5"), NULL, &e);
  CHECK(rc == SN_ERR_INPUT && strstr(e.msg, "sample_rate"), "h5 no attr: %d %s", rc, e.msg);
  make_h5(tpath("twod.h5"), 1, 1, 0, N, x, 8000);
  rc = open_err(tpath("twod.h5"), NULL, &e);
  CHECK(rc == SN_ERR_INPUT && strstr(e.msg, "1-D"), "h5 2-D: %d %s", rc, e.msg);
  make_h5(tpath("int.h5"), 0, 1, 1, N, x, 8000);
  rc = open_err(tpath("int.h5"), NULL, &e);
  CHECK(rc == SN_ERR_INPUT && strstr(e.msg, "float"), "h5 int: %d %s", rc, e.msg);
  make_h5(tpath("rate0.h5"), 0, 1, 0, N, x, 0);
  rc = open_err(tpath("rate0.h5"), NULL, &e);
  CHECK(rc == SN_ERR_INPUT && strstr(e.msg, "sample rate"), "h5 rate 0: %d %s", rc, e.msg);
  make_h5(tpath("empty.h5"), 0, 1, 0, 0, x, 8000);
  rc = open_err(tpath("empty.h5"), NULL, &e);
  CHECK(rc == SN_ERR_INPUT && strstr(e.msg, "no audio samples"), "h5 empty: %d %s", rc, e.msg);
  {
    hid_t f = H5Fcreate(tpath("other.h5"), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(f);
  }
  rc = open_err(tpath("other.h5"), NULL, &e);
  CHECK(rc == SN_ERR_INPUT && strstr(e.msg, "/audio"), "h5 without /audio: %d %s", rc, e.msg);
  x[12345] = NAN;
  make_h5(tpath("nan.h5"), 0, 1, 0, N, x, 8000);
  memset(&e, 0, sizeof e);
  rc = sn_audio_open(tpath("nan.h5"), NULL, &a, &info, &e);
  if (!rc) rc = sn_audio_read(a, 0, N, y, &e);
  CHECK(rc == SN_ERR_INPUT && strstr(e.msg, "non-finite sample at index 12345"), "h5 nan: %d %s", rc, e.msg);
  sn_audio_close(&a);
  free(x);
  free(y);
}

/* ---- bad inputs ----------------------------------------------------------- */

static void test_bad(void) {
  sn_err e;
  int rc;
  char want[1200];
  /* missing */
  const char *missing = tpath("does_not_exist.wav");
  rc = open_err(missing, NULL, &e);
  snprintf(want, sizeof want, "%s: cannot open: ", missing);
  CHECK(rc == SN_ERR_IO && starts_with(e.msg, want), "missing: %d %s", rc, e.msg);
  /* a directory */
  rc = open_err(dir, NULL, &e);
  CHECK(rc == SN_ERR_IO && strstr(e.msg, "cannot open"), "directory: %d %s", rc, e.msg);
  /* a FIFO: must not block, must not be accepted (ranks seek) */
  if (mkfifo(tpath("fifo.wav"), 0600) == 0 || errno == EEXIST) {
    rc = open_err(tpath("fifo.wav"), NULL, &e);
    CHECK(rc == SN_ERR_INPUT && strstr(e.msg, "not a regular file"), "fifo: %d %s", rc, e.msg);
  }
  /* text file */
  const char *txt = tpath("notes.txt");
  const char *words = "this is not audio, just some text\nsecond line\n";
  write_bytes(txt, words, strlen(words));
  rc = open_err(txt, NULL, &e);
  snprintf(want, sizeof want, "%s: not a supported audio file (", txt);
  CHECK(rc == SN_ERR_INPUT && starts_with(e.msg, want), "text: %d %s", rc, e.msg);
  /* empty file */
  write_bytes(tpath("empty.wav"), "", 0);
  rc = open_err(tpath("empty.wav"), NULL, &e);
  CHECK(rc == SN_ERR_INPUT, "empty file: %d %s", rc, e.msg);

  unsigned char b[4096 + 64];
  size_t n;
  /* truncated header: the first 30 bytes of a valid header */
  n = hand_wav(b, 1, 1, 16000, 16, 2000, 2000);
  write_bytes(tpath("trunc_hdr.wav"), b, 30);
  rc = open_err(tpath("trunc_hdr.wav"), NULL, &e);
  CHECK(rc == SN_ERR_INPUT && strstr(e.msg, "not a supported audio file"), "truncated header: %d %s", rc, e.msg);
  /* garbage fmt chunk */
  n = hand_wav(b, 1, 1, 16000, 16, 2000, 2000);
  memset(b + 20, 0xff, 16);
  write_bytes(tpath("corrupt_fmt.wav"), b, n);
  rc = open_err(tpath("corrupt_fmt.wav"), NULL, &e);
  CHECK(rc == SN_ERR_INPUT, "corrupt fmt: %d %s", rc, e.msg);
  /* zero-length audio: a valid header with no data */
  n = hand_wav(b, 1, 1, 16000, 16, 0, 0);
  write_bytes(tpath("zero.wav"), b, n);
  rc = open_err(tpath("zero.wav"), NULL, &e);
  CHECK(rc == SN_ERR_INPUT && strstr(e.msg, "no audio samples"), "zero length: %d %s", rc, e.msg);
  {
    float none = 0;
    write_sf(tpath("zero_sf.flac"), SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 22050, 2, 0, &none);
    rc = open_err(tpath("zero_sf.flac"), NULL, &e);
    /* libsndfile does not recognise a FLAC stream without frames */
    CHECK(rc == SN_ERR_INPUT, "zero length flac: %d %s", rc, e.msg);
    write_sf(tpath("zero_sf.wav"), SF_FORMAT_WAV | SF_FORMAT_FLOAT, 22050, 2, 0, &none);
    rc = open_err(tpath("zero_sf.wav"), NULL, &e);
    CHECK(rc == SN_ERR_INPUT && strstr(e.msg, "no audio samples"), "zero length float wav: %d %s", rc, e.msg);
  }
  /* sample rate 0 */
  n = hand_wav(b, 1, 1, 0, 16, 2000, 2000);
  write_bytes(tpath("rate0.wav"), b, n);
  rc = open_err(tpath("rate0.wav"), NULL, &e);
  CHECK(rc == SN_ERR_INPUT && strstr(e.msg, "bad sample rate 0"), "rate 0: %d %s", rc, e.msg);
  /* absurd sample rate */
  n = hand_wav(b, 1, 1, 4000000000u, 16, 2000, 2000);
  write_bytes(tpath("rate_huge.wav"), b, n);
  rc = open_err(tpath("rate_huge.wav"), NULL, &e);
  CHECK(rc == SN_ERR_INPUT && strstr(e.msg, "bad sample rate 4000000000"), "rate 4e9: %d %s", rc, e.msg);
  n = hand_wav(b, 1, 1, 20000000u, 16, 2000, 2000);
  write_bytes(tpath("rate_2e7.wav"), b, n);
  rc = open_err(tpath("rate_2e7.wav"), NULL, &e);
  CHECK(rc == SN_ERR_INPUT && strstr(e.msg, "bad sample rate 2e+07"), "rate 2e7: %d %s", rc, e.msg);
  /* huge channel count */
  n = hand_wav(b, 1, 60000, 16000, 16, 4000, 4000);
  write_bytes(tpath("chan_huge.wav"), b, n);
  rc = open_err(tpath("chan_huge.wav"), NULL, &e);
  CHECK(rc == SN_ERR_INPUT && strstr(e.msg, "bad channel count 60000"), "60000 channels: %d %s", rc, e.msg);
  n = hand_wav(b, 1, 0, 16000, 16, 4000, 4000);
  write_bytes(tpath("chan0.wav"), b, n);
  rc = open_err(tpath("chan0.wav"), NULL, &e);
  CHECK(rc == SN_ERR_INPUT && strstr(e.msg, "bad channel count 0"), "0 channels: %d %s", rc, e.msg);
  /* lying data size: claims 2 GB, holds 4000 bytes; must not crash, and what
   * is read must be the real data or a clean error */
  n = hand_wav(b, 1, 1, 16000, 16, 2000000000u, 4000);
  write_bytes(tpath("lying.wav"), b, n);
  {
    sn_audio *a = NULL;
    sn_audio_info info;
    memset(&e, 0, sizeof e);
    rc = sn_audio_open(tpath("lying.wav"), NULL, &a, &info, &e);
    if (rc == SN_OK) {
      float *y = malloc(sizeof(float) * 3000);
      int rrc = sn_audio_read(a, 0, 3000, y, &e);
      CHECK(info.n_samples <= 2000 || rrc != SN_OK, "lying size: %lld samples, read rc %d",
            (long long)info.n_samples, rrc);
      if (rrc == SN_OK) {
        int ok = 1;
        for (int i = 0; i < 2000 && i < info.n_samples; i++) {
          int16_t v = (int16_t)(b[44 + 2 * i] | (b[45 + 2 * i] << 8));
          ok &= y[i] == v / 32768.0f;
        }
        CHECK(ok, "lying size: data differ");
      }
      free(y);
      sn_audio_close(&a);
    }
    printf("lying header: open rc %d (%s)\n", rc, rc ? e.msg : "clamped");
  }
  /* truncated data: a FLAC and a WAV cut in the middle of the samples */
  {
    const int64_t N = 100000;
    float *x = malloc(sizeof(float) * N), *y = malloc(sizeof(float) * N);
    for (int64_t i = 0; i < N; i++) x[i] = (float)(0.5 * urand());
    const char *names[2] = {"cut.flac", "cut_full.wav"};
    int fmts[2] = {SF_FORMAT_FLAC | SF_FORMAT_PCM_16, SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    for (int k = 0; k < 2; k++) {
      write_sf(tpath(names[k]), fmts[k], 16000, 1, N, x);
      FILE *f = fopen(tpath(names[k]), "rb");
      static unsigned char whole[400000];
      size_t len = fread(whole, 1, sizeof whole, f);
      fclose(f);
      write_bytes(tpath(names[k]), whole, len / 2);
      sn_audio *a = NULL;
      sn_audio_info info;
      memset(&e, 0, sizeof e);
      rc = sn_audio_open(tpath(names[k]), NULL, &a, &info, &e);
      int64_t got = rc ? 0 : info.n_samples;
      if (!rc) rc = sn_audio_read(a, 0, info.n_samples, y, &e);
      /* either the header is trusted and the read fails cleanly, or the size
       * was clamped to what is there and the samples are right */
      int ok = rc == SN_ERR_IO || rc == SN_ERR_INPUT || (rc == SN_OK && got < N);
      if (rc == SN_OK)
        for (int64_t i = 0; i < got; i++) ok &= fabs(y[i] - x[i]) <= 1.0 / 32768;
      CHECK(ok, "%s cut in half: rc %d, %lld samples, %s", names[k], rc, (long long)got, e.msg);
      if (getenv("SN_TEST_VERBOSE")) printf("  %s cut: rc %d n %lld %s\n", names[k], rc, (long long)got, e.msg);
      sn_audio_close(&a);
    }
    free(x);
    free(y);
  }
  /* float WAV with a NaN and one with an Inf */
  {
    const int64_t N = 100000;
    float *x = calloc(N, sizeof(float)), *y = malloc(sizeof(float) * N);
    x[77777] = NAN;
    write_sf(tpath("nan.wav"), SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 1, N, x);
    sn_audio *a = NULL;
    sn_audio_info info;
    memset(&e, 0, sizeof e);
    rc = sn_audio_open(tpath("nan.wav"), NULL, &a, &info, &e);
    CHECK(rc == SN_OK, "nan open: %s", e.msg);
    if (!rc) {
      rc = sn_audio_read(a, 0, 1000, y, &e);
      CHECK(rc == SN_OK, "span without the NaN: %s", e.msg);
      rc = sn_audio_read(a, 70000, 10000, y, &e);
      snprintf(want, sizeof want, "%s: non-finite sample at index 77777", tpath("nan.wav"));
      CHECK(rc == SN_ERR_INPUT && strcmp(e.msg, want) == 0, "nan: %d %s", rc, e.msg);
      double pk;
      memset(&e, 0, sizeof e);
      rc = sn_audio_peak(a, 0, N, &pk, &e);
      CHECK(rc == SN_ERR_INPUT, "nan peak: %d %s", rc, e.msg);
      sn_audio_close(&a);
    }
    sn_audio_opts o = {-1, 22050, 0};
    memset(&e, 0, sizeof e);
    rc = sn_audio_open(tpath("nan.wav"), &o, &a, &info, &e);
    if (!rc) {
      float *yr = malloc(sizeof(float) * (size_t)info.n_samples);
      rc = sn_audio_read(a, 0, info.n_samples, yr, &e);
      free(yr);
    }
    CHECK(rc == SN_ERR_INPUT && strstr(e.msg, "non-finite sample at index 77777"), "nan resampled: %d %s", rc, e.msg);
    sn_audio_close(&a);
    free(y);
    x[77777] = 0;
    x[5] = -INFINITY;
    float *st = calloc(2 * N, sizeof(float));
    for (int64_t i = 0; i < N; i++) st[2 * i + 1] = x[i];
    write_sf(tpath("inf.wav"), SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 2, N, st);
    /* channel 0 is clean, channel 1 (and the mean) has the Inf */
    sn_audio_opts c0 = {0, 0, 0}, mean = {-1, 0, 0};
    y = malloc(sizeof(float) * N);
    memset(&e, 0, sizeof e);
    rc = sn_audio_open(tpath("inf.wav"), &c0, &a, &info, &e);
    if (!rc) rc = sn_audio_read(a, 0, N, y, &e);
    CHECK(rc == SN_OK, "inf in the other channel: %d %s", rc, e.msg);
    sn_audio_close(&a);
    memset(&e, 0, sizeof e);
    rc = sn_audio_open(tpath("inf.wav"), &mean, &a, &info, &e);
    if (!rc) rc = sn_audio_read(a, 0, N, y, &e);
    CHECK(rc == SN_ERR_INPUT && strstr(e.msg, "non-finite sample at index 5"), "inf: %d %s", rc, e.msg);
    sn_audio_close(&a);
    free(st);
    free(x);
    free(y);
  }
  /* bad output rate, and resampling a non-integer HDF5 rate */
  {
    float x[100] = {0};
    write_sf(tpath("short.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, 100, x);
    sn_audio_opts o = {-1, -5, 0};
    rc = open_err(tpath("short.wav"), &o, &e);
    CHECK(rc == SN_ERR_INPUT, "out rate -5: %d %s", rc, e.msg);
    o.out_rate = NAN;
    rc = open_err(tpath("short.wav"), &o, &e);
    CHECK(rc == SN_ERR_INPUT, "out rate nan: %d %s", rc, e.msg);
    o.out_rate = 22050.5;
    rc = open_err(tpath("short.wav"), &o, &e);
    CHECK(rc == SN_ERR_INPUT && strstr(e.msg, "integer"), "out rate 22050.5: %d %s", rc, e.msg);
  }
}

/* other formats: FLAC pcm16, OGG vorbis, AIFF read and seek */
static void test_formats(void) {
  const int64_t N = 40000;
  float *x = malloc(sizeof(float) * N * 2), *y = malloc(sizeof(float) * N);
  for (int64_t i = 0; i < N; i++) {
    x[2 * i] = (float)(0.5 * sin(i * 0.01));
    x[2 * i + 1] = (float)(0.25 * sin(i * 0.003));
  }
  struct { const char *name; int fmt; double tol; const char *label; } F[] = {
      {"s.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 1.0 / 32768, "FLAC pcm16"},
      {"s.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_24, 1.0 / 8388608, "AIFF pcm24"},
      {"s.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 0.05, "OGG vorbis"},
  };
  for (int k = 0; k < 3; k++) {
    write_sf(tpath(F[k].name), F[k].fmt, 22050, 2, N, x);
    sn_audio *a = NULL;
    sn_audio_info info;
    sn_err e = {0};
    int rc = sn_audio_open(tpath(F[k].name), NULL, &a, &info, &e);
    CHECK(rc == SN_OK && info.n_samples == N && info.channels == 2, "%s: %s", F[k].name, e.msg);
    if (rc) continue;
    CHECK(strcmp(info.format, F[k].label) == 0, "format %s", info.format);
    int64_t s = 23456, n = 5000;
    rc = sn_audio_read(a, s, n, y, &e);
    double err = 0;
    for (int64_t i = 0; i < n; i++) err = fmax(err, fabs(y[i] - 0.5 * (x[2 * (s + i)] + x[2 * (s + i) + 1])));
    CHECK(rc == SN_OK && err <= F[k].tol, "%s: seek+read err %g", F[k].name, err);
    sn_audio_close(&a);
  }
  free(x);
  free(y);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  const char *t = getenv("SN_TMP");
  snprintf(dir, sizeof dir, "%s", t && *t ? t : "/tmp/sn_test_audio");
  mkdir(dir, 0777);
  {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    if (system(cmd) != 0) return 2;
  }
  test_plain();
  test_channels();
  test_formats();
  test_hdf5();
  test_bad();
  test_resample_pair(44100, 22050, 3.0, 2);
  test_resample_pair(48000, 22050, 3.0, 1);
  test_resample_pair(22050, 16000, 3.0, 1);
  test_resample_pair(16000, 22050, 3.0, 1);
  test_resample_pair(8000, 22050, 3.0, 1);
  test_resample_pair(44100, 8000, 3.0, 1);
  test_resample_pair(44101, 22050, 4.0, 1);
  test_resample_pair(8000, 96000, 12.0, 1); /* output > the output buffer per input chunk */
  test_resample_pair(96000, 8000, 2.0, 1);
  printf("%d checks, %d failed\n", checks, failures);
  MPI_Finalize();
  return failures ? 1 : 0;
}
