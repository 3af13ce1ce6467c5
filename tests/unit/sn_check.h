#pragma once
/* The check macro of specnmf's C tests (unit, mpi and fault programs), one for
 * all: CHECK(cond, fmt, ...) counts the check and, when cond is false, prints
 * "FAIL file:line: message" to stderr and counts the failure. A test's main
 * returns failures != 0. Local (each rank counts its own; MPI tests sum them). */
#include <stdio.h>

static int failures = 0, checks = 0;

#define CHECK(cond, ...)                                   \
  do {                                                     \
    checks++;                                              \
    if (!(cond)) {                                         \
      failures++;                                          \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
      fprintf(stderr, __VA_ARGS__);                        \
      fputc('\n', stderr);                                 \
    }                                                      \
  } while (0)
