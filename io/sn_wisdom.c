/* The FFTW wisdom file (see sn_wisdom.h). */
#include "sn_wisdom.h"

#include <fftw3.h>
#include <unistd.h>

#include "sn_atomic.h"

int sn_wisdom_import(const char *path, sn_err *e) {
  if (access(path, R_OK) == 0 && !fftwf_import_wisdom_from_filename(path))
    return SN_FAIL(e, SN_ERR_INPUT, "%s: not an FFTW wisdom file", path);
  return SN_OK;
}

int sn_wisdom_export(const char *path, sn_err *e) {
  sn_atomic out;
  int ok = sn_atomic_begin(&out, path, NULL) == 0;
  if (ok && !fftwf_export_wisdom_to_filename(out.tmp)) {
    ok = 0;
    sn_atomic_abort(&out);
  }
  if (ok && sn_atomic_commit(&out) != 0) ok = 0;
  return ok ? SN_OK : SN_FAIL(e, SN_ERR_IO, "%s: cannot write FFTW wisdom", path);
}
