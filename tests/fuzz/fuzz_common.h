#pragma once
/* Shared by the fuzz targets: MPI is initialised once (MPI_COMM_SELF is the
 * communicator of every collective call), and each input is written to a
 * private temporary file because the readers take paths. Local. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char sn_fuzz_path[256];

static void sn_fuzz_init(const char *tag) {
  int inited = 0;
  MPI_Initialized(&inited);
  if (!inited) {
    int argc = 0;
    char **argv = NULL;
    MPI_Init(&argc, &argv);
  }
  const char *dir = getenv("TMPDIR");
  snprintf(sn_fuzz_path, sizeof sn_fuzz_path, "%s/sn-fuzz-%s-%ld", dir && *dir ? dir : "/tmp", tag, (long)getpid());
}

/* Write the input to the temporary file; 0 on success. */
static int sn_fuzz_write(const uint8_t *data, size_t size) {
  FILE *f = fopen(sn_fuzz_path, "wb");
  if (!f) return -1;
  int ok = size == 0 || fwrite(data, 1, size, f) == size;
  return (fclose(f) == 0 && ok) ? 0 : -1;
}
