# NMF kernel benchmark (engineer: nmf-perf). Not a test: run
# $BUILD/tests/bench_nmf_kernels [N] [REPS] to compare kernel variants.
add_executable(bench_nmf_kernels unit/bench_nmf_kernels.c)
target_link_libraries(bench_nmf_kernels PRIVATE sn_numerics)
# R = 16, 32 (the AVX-512 kernels) against sklearn at 1, 2, 3 ranks
sn_add_mpi_test(nmf_simd py/test_nmf_simd.py)
