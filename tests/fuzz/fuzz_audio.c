/* libFuzzer target: the audio reader (io/sn_audio.h) on arbitrary bytes - WAV,
 * FLAC, OGG, AIFF through libsndfile, HDF5 /audio through libhdf5. Opens with
 * and without resampling, reads spans at both ends and the middle, the peak. */
#include "fuzz_common.h"
#include "sn_audio.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  sn_fuzz_init("audio");
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (sn_fuzz_write(data, size)) return 0;
  for (int mode = 0; mode < 2; mode++) {
    sn_audio_opts o = {mode ? 0 : -1, mode ? 11025.0 : 0.0, 0};
    sn_audio *a = NULL;
    sn_audio_info info;
    sn_err e = {0};
    if (sn_audio_open(sn_fuzz_path, &o, &a, &info, &e) != SN_OK) {
      if (a) abort(); /* contract: *a is NULL on error */
      if (e.code == SN_OK || !e.msg[0]) abort(); /* a failure always has a message */
      continue;
    }
    if (info.n_samples < 1 || !(info.sample_rate > 0) || info.channels < 1) abort();
    float buf[4096];
    int64_t n = info.n_samples;
    int64_t starts[4] = {-100, 0, n / 2, n - 50};
    for (int k = 0; k < 4; k++) {
      sn_err re = {0};
      if (sn_audio_read(a, starts[k], 4096, buf, &re) != SN_OK) break;
    }
    double peak = 0;
    sn_err pe = {0};
    sn_audio_peak(a, 0, n < 100000 ? n : 100000, &peak, &pe);
    sn_audio_close(&a);
    if (a) abort();
  }
  unlink(sn_fuzz_path);
  return 0;
}
