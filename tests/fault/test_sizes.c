/* Counts above 2^31 elements (issue 7): the size helpers work in 64 bits, refuse
 * what does not fit (with a message), and never wrap. Serial; MPI only for the
 * MPI-count check (no communication). */
#include <limits.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sn_audio.h"
#include "sn_base.h"
#include "sn_comm.h"
#include "sn_stft.h"

#include "../unit/sn_check.h"

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  size_t out = 0;
  CHECK(sn_mul_size((size_t)1 << 32, (size_t)1 << 31, &out) == 0 && out == (size_t)1 << 63, "2^32 * 2^31");
  CHECK(sn_mul_size((size_t)1 << 32, (size_t)1 << 32, &out) == -1, "2^32 * 2^32 must overflow");
  CHECK(sn_mul_size(SIZE_MAX, 2, &out) == -1, "SIZE_MAX * 2 must overflow");
  CHECK(sn_mul_size(0, SIZE_MAX, &out) == 0 && out == 0, "0 * SIZE_MAX");
  CHECK(sn_mul_size(65537, 65537, &out) == 0 && out == 4295098369u, "65537^2 = %zu (32-bit would wrap)", out);

  /* allocation sizes that wrap when rounded up must fail, not return a small block */
  sn_err e = {0};
  void *p = sn_calloc(SIZE_MAX - 10, "huge", &e);
  CHECK(p == NULL && e.code == SN_ERR_NOMEM && strstr(e.msg, "huge"), "sn_calloc(SIZE_MAX-10): %s", e.msg);
  sn_free(p);

  /* MPI counts */
  int c = 0;
  sn_err e2 = {0};
  CHECK(sn_mpi_count((int64_t)INT_MAX, "x", &c, &e2) == SN_OK && c == INT_MAX, "INT_MAX fits");
  CHECK(sn_mpi_count((int64_t)INT_MAX + 1, "halo", &c, &e2) == SN_ERR_INPUT && strstr(e2.msg, "2147483648"),
        "2^31 refused: %s", e2.msg);

  /* block ownership of 3 * 2^33 + 5 columns over 3 and 7 ranks: contiguous, complete */
  int64_t n = 3 * ((int64_t)1 << 33) + 5;
  for (int size = 3; size <= 7; size += 4) {
    int64_t next = 0;
    for (int r = 0; r < size; r++) {
      int64_t st, nl;
      sn_block_range(n, size, r, &st, &nl);
      CHECK(st == next && nl >= n / size && nl <= n / size + 1, "block %d/%d: [%lld, +%lld)", r, size,
            (long long)st, (long long)nl);
      CHECK(sn_block_owner(n, size, st) == r && sn_block_owner(n, size, st + nl - 1) == r, "owner of block %d", r);
      next = st + nl;
    }
    CHECK(next == n, "blocks cover all %lld columns over %d ranks", (long long)n, size);
  }

  /* frames of a 2^40-sample signal, and resampled lengths beyond 2^53/rates */
  int64_t ns = (int64_t)1 << 40;
  int64_t nf = sn_stft_n_frames(ns, 2048, 512, 1);
  CHECK(nf == 1 + ns / 512, "frames of 2^40 samples: %lld", (long long)nf);
  int64_t rl = sn_audio_resampled_length((int64_t)1 << 50, 44100, 48000);
  /* ceil(2^50 * 160 / 147) exactly */
  int64_t q = ((int64_t)1 << 50) / 147, r = ((int64_t)1 << 50) % 147;
  CHECK(rl == q * 160 + (r * 160 + 146) / 147, "resampled length of 2^50 samples: %lld", (long long)rl);

  printf("%d failed checks\n", failures);
  MPI_Finalize();
  return failures ? 1 : 0;
}
