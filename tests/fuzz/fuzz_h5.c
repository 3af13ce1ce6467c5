/* libFuzzer target: HDF5 input validation - sn_h5_open, sn_h5_shape,
 * sn_spec_params_read, attribute reads and, for sizes a real run could hold,
 * sn_spec_read (the path of nmf/istft/mel/nnls inputs) on MPI_COMM_SELF. */
#include "fuzz_common.h"
#include "sn_h5.h"
#include "sn_pstft.h"
#include "sn_spec_io.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  sn_fuzz_init("h5");
  return 0;
}

static void probe(const char *dset) {
  sn_h5 *f = NULL;
  sn_err e = {0};
  if (sn_h5_open(MPI_COMM_SELF, sn_fuzz_path, &f, &e) != SN_OK) {
    if (f) abort();
    return;
  }
  int nd = 0;
  int64_t dims[2] = {0, 0};
  sn_err se = {0};
  if (sn_h5_shape(f, dset, &nd, dims, &se) == SN_OK) {
    sn_spec_params p;
    sn_err pe = {0};
    sn_spec_params_read(f, dset, &p, &pe);
    char s[64];
    int found = 0;
    double v = 0;
    int64_t iv = 0;
    sn_err ae = {0};
    sn_h5_attr_get_str(f, dset, "window", s, sizeof s, &found, &ae);
    sn_h5_attr_get_double(f, dset, "sample_rate", &v, &found, &ae);
    sn_h5_attr_get_int(f, dset, "n_fft", &iv, &found, &ae);
    double vec[64];
    int64_t n = 0;
    sn_h5_read_vec(f, dset, vec, 64, &n, &ae);
    if (nd == 2 && dims[0] > 0 && dims[1] > 0 && dims[0] <= 4096 && dims[1] <= 4096) {
      float *a = calloc((size_t)dims[0] * (size_t)dims[1], sizeof(float));
      sn_err re = {0};
      if (a) sn_h5_read_cols(f, dset, dims[0], 0, dims[1], a, dims[0], &re);
      free(a);
    }
  }
  sn_err ce = {0};
  sn_h5_close(&f, 0, &ce);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (sn_fuzz_write(data, size)) return 0;
  probe("/stft/magnitude");
  probe("/stft/complex");
  probe("/nmf/W");
  /* the whole reading path when the declared size is one a test run could hold */
  sn_h5 *f = NULL;
  sn_err e = {0};
  int nd = 0;
  int64_t dims[2] = {0, 0};
  int small = 0;
  if (sn_h5_open(MPI_COMM_SELF, sn_fuzz_path, &f, &e) == SN_OK) {
    sn_err se = {0};
    small = sn_h5_shape(f, "/stft/magnitude", &nd, dims, &se) == SN_OK && nd == 2 && dims[0] <= 4096 &&
            dims[1] <= 4096;
    sn_h5_close(&f, 0, &se);
  }
  if (small) {
    static sn_run run;
    memset(&run, 0, sizeof run);
    run.comm = MPI_COMM_SELF;
    run.size = 1;
    run.quiet = 1;
    sn_spec s;
    if (sn_spec_read(&run, sn_fuzz_path, 0, &s) == SN_OK) sn_spec_free(&s);
  }
  unlink(sn_fuzz_path);
  return 0;
}
