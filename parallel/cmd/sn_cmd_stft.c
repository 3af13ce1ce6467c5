/* Commands `specnmf stft` and `specnmf istft`. */
#include <string.h>

#include "sn_cli.h"
#include "sn_comm.h"
#include "sn_h5.h"
#include "sn_poverlap.h"
#include "sn_pstft.h"
#include "sn_wav.h"

int sn_cmd_stft(sn_run *run, int argc, char **argv) {
  sn_common c = {0};
  sn_stft_cfg cfg = SN_STFT_CFG_DEFAULT;
  int want_complex = 0;
  const sn_opt common[] = {SN_COMMON_OPTS(&c),
                           {"--complex", 0, SN_OPT_FLAG, &want_complex, NULL, "also store the complex STFT at /stft/complex"},
                           {NULL}};
  const sn_opt stft[] = {SN_STFT_OPTS(&cfg), {NULL}};
  const sn_opt *const tables[] = {common, stft, NULL};
  const char *pos[1];
  int npos = 0, done = 0;
  int rc = sn_cli_parse(run, &c, "IN -o OUT.h5 [options]",
                        "Magnitude spectrogram of a recording (WAV/FLAC/OGG/AIFF, or HDF5 /audio) with\n"
                        "librosa's conventions, written to OUT.h5 at /stft/magnitude, shape (bins, frames).",
                        tables, argc, argv, pos, 1, 1, &npos, &done);
  if (rc || done) return rc;
  rc = sn_run_agree(run, c.output ? SN_OK : SN_FAIL(&run->err, SN_ERR_USAGE, "stft: -o OUT.h5 is required"));
  if (rc) return rc;

  sn_h5 *f = NULL;
  sn_spec s;
  memset(&s, 0, sizeof s);
  /* Create the output first: a bad output path fails before the work. */
  SN_CHECK(sn_h5_create(run->comm, c.output, c.force, &f, &run->err));
  SN_PROGRESS(run, "stft: %s on %d rank%s", pos[0], run->size, run->size > 1 ? "s" : "");
  SN_CHECK(sn_pstft_compute(run, pos[0], &cfg, want_complex, &s, NULL));
  SN_PROGRESS(run, "stft: %d bins x %lld frames at %g Hz", s.F, (long long)s.N, s.par.sample_rate);
  SN_CHECK(sn_spec_write(run, f, &s));
cleanup:;
  sn_timer_begin(&run->timer, SN_PH_WRITE); /* the close commits: sync to disk and rename */
  int crc = sn_h5_close(&f, rc == SN_OK, &run->err);
  sn_timer_end(&run->timer, SN_PH_WRITE);
  if (rc == SN_OK) rc = crc;
  sn_spec_free(&s);
  return rc;
}

static int sn_ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

int sn_cmd_istft(sn_run *run, int argc, char **argv) {
  sn_common c = {0};
  int64_t length = -1;
  const sn_opt common[] = {SN_COMMON_OPTS(&c),
                           {"--length", 0, SN_OPT_INT64, &length, "N",
                            "output samples (the stored n_samples; else librosa's default)"},
                           {NULL}};
  const sn_opt *const tables[] = {common, NULL};
  const char *pos[1];
  int npos = 0, done = 0;
  int rc = sn_cli_parse(run, &c, "IN.h5[:/path] -o OUT.wav|OUT.h5 [options]",
                        "Invert a stored complex STFT (/stft/complex, from 'specnmf stft --complex') to\n"
                        "audio: a float32 WAV, or an HDF5 file with /audio and its sample_rate.",
                        tables, argc, argv, pos, 1, 1, &npos, &done);
  if (rc || done) return rc;
  rc = sn_run_agree(run, c.output ? SN_OK : SN_FAIL(&run->err, SN_ERR_USAGE, "istft: -o OUT.wav or OUT.h5 is required"));
  if (rc) return rc;

  sn_spec s;
  float *y = NULL;
  int64_t y0 = 0, ny = 0;
  sn_h5 *f = NULL;
  sn_wav *w = NULL;
  int as_h5 = sn_ends_with(c.output, ".h5") || sn_ends_with(c.output, ".hdf5");
  SN_CHECK(sn_spec_read(run, pos[0], 1, &s));
  if (length < 0) {
    const sn_spec_params *p = &s.par;
    length = p->n_samples > 0 ? p->n_samples
                              : p->n_fft + p->hop * (s.N - 1) - (p->center ? 2 * (p->n_fft / 2) : 0);
    if (length < 0) length = 0;
  }
  if (as_h5)
    SN_CHECK(sn_h5_create(run->comm, c.output, c.force, &f, &run->err));
  else
    SN_CHECK(sn_wav_create(run->comm, c.output, s.par.sample_rate, length, c.force, &w, &run->err));
  SN_CHECK(sn_poverlap_istft(run, &s, length, &y0, &ny, &y));
  sn_timer_begin(&run->timer, SN_PH_WRITE);
  if (as_h5) {
    rc = sn_h5_write_1d(f, "/audio", length, y0, ny, y, &run->err);
    if (rc == SN_OK) rc = sn_h5_attr_set_double(f, "/audio", "sample_rate", s.par.sample_rate, &run->err);
  } else {
    rc = sn_wav_write(w, y0, ny, y, &run->err);
  }
  sn_timer_end(&run->timer, SN_PH_WRITE);
  sn_run_fact_int(run, "n_samples", length);
  sn_run_fact_int(run, "n_frames", s.N);
cleanup:;
  int crc = as_h5 ? sn_h5_close(&f, rc == SN_OK, &run->err) : sn_wav_close(&w, rc == SN_OK, &run->err);
  if (rc == SN_OK) rc = crc;
  sn_free(y);
  sn_spec_free(&s);
  return rc;
}
