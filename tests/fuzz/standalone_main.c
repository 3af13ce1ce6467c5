/* Runs a fuzz target's LLVMFuzzerTestOneInput on files (or every file of the
 * folders) given as arguments, without libFuzzer: the regression inputs run as
 * ordinary ctest tests in every build, with the sanitizers in .ci/sanitize.sh. */
#include <dirent.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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

#if defined(__SANITIZE_ADDRESS__)
#define SN_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SN_ASAN 1
#endif
#endif

int main(int argc, char **argv) {
#ifndef SN_ASAN
  /* Some inputs make libhdf5 allocate (and touch) what a corrupted length field
   * says, e.g. 17 GB for a variable-length string attribute: cap the address
   * space so such an allocation fails at once (SN_FUZZ_AS_MB, default 4096).
   * Under AddressSanitizer, ASAN_OPTIONS=max_allocation_size_mb does this. */
  const char *lim = getenv("SN_FUZZ_AS_MB");
  rlim_t mb = lim ? (rlim_t)strtoull(lim, NULL, 10) : 4096;
  if (mb > 0) {
    struct rlimit rl = {mb << 20, mb << 20};
    setrlimit(RLIMIT_AS, &rl);
  }
#endif
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
