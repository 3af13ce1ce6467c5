# NMF tests (engineer: nmf).
sn_add_unit_test(test_nmf_kernels unit/test_nmf_kernels.c)
