/* libFuzzer target: the option parser (src/sn_opts.h) and the FILE:/path
 * splitter. The input is argv: arguments separated by NUL bytes. Every option
 * type is in the table; the JSON of the options goes to a small buffer (to
 * exercise truncation) and the usage text to /dev/null. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sn_h5.h"
#include "sn_opts.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 4096) return 0;
  char *buf = malloc(size + 1);
  if (!buf) return 0;
  memcpy(buf, data, size);
  buf[size] = '\0';
  char *argv[256];
  int argc = 0;
  for (size_t i = 0; i <= size && argc < 256;) {
    argv[argc++] = buf + i;
    i += strlen(buf + i) + 1;
  }
  int flag = 0, n = 0;
  int64_t n64 = 0;
  double x = 0;
  const char *s = NULL, *o = NULL;
  const sn_opt t1[] = {{"--output", 'o', SN_OPT_STRING, &o, "PATH", "output"},
                       {"--flag", 'f', SN_OPT_FLAG, &flag, NULL, "a flag"},
                       {"--n", 'n', SN_OPT_INT, &n, "N", "an int"},
                       {NULL, 0, 0, NULL, NULL, NULL}};
  const sn_opt t2[] = {{"--n64", 0, SN_OPT_INT64, &n64, "N", "an int64"},
                       {"--x", 'x', SN_OPT_DOUBLE, &x, "X", "a number"},
                       {"--s", 0, SN_OPT_STRING, &s, "S", "a string"},
                       {NULL, 0, 0, NULL, NULL, NULL}};
  const sn_opt *const tables[] = {t1, t2, NULL};
  const char *pos[4];
  int npos = 0, help = 0;
  sn_err e = {0};
  int rc = sn_opts_parse("fuzz", tables, argc, argv, pos, 4, &npos, &help, &e);
  if (rc != SN_OK && !e.msg[0]) abort();
  if (npos < 0 || npos > 4) abort();
  char json[200] = "";
  sn_opts_json(tables, json, sizeof json);
  if (strlen(json) >= sizeof json) abort();
  char big[8192] = "";
  sn_opts_json(tables, big, sizeof big);
  FILE *null = fopen("/dev/null", "w");
  if (null) {
    sn_opts_usage(null, "fuzz", "ARGS", "about", tables);
    fclose(null);
  }
  for (int i = 0; i < argc; i++) {
    char file[64], dset[32];
    sn_err se = {0};
    sn_h5_split_spec(argv[i], "/stft/magnitude", file, sizeof file, dset, sizeof dset, &se);
  }
  free(buf);
  return 0;
}
