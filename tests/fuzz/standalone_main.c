/* Runs a fuzz target's LLVMFuzzerTestOneInput on files (or every file of the
 * folders) given as arguments, without libFuzzer: the regression inputs run as
 * ordinary ctest tests in every build, with the sanitizers in .ci/sanitize.sh. */
#include <dirent.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "%s: cannot open\n", path);
    return 1;
  }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
  size_t got = n > 0 ? fread(b, 1, (size_t)n, f) : 0;
  fclose(f);
  LLVMFuzzerTestOneInput(b, got);
  free(b);
  printf("ran %s (%zu bytes)\n", path, got);
  return 0;
}

int main(int argc, char **argv) {
  LLVMFuzzerInitialize(&argc, &argv);
  int bad = 0, count = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
      DIR *d = opendir(argv[i]);
      struct dirent *de;
      while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", argv[i], de->d_name);
        bad |= run_file(p);
        count++;
      }
      if (d) closedir(d);
    } else {
      bad |= run_file(argv[i]);
      count++;
    }
  }
  printf("%d inputs, no crash\n", count);
  int inited = 0;
  MPI_Initialized(&inited);
  if (inited) MPI_Finalize();
  return bad;
}
