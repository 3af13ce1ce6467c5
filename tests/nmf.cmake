# NMF tests (engineer: nmf).
sn_add_unit_test(test_nmf_kernels unit/test_nmf_kernels.c)
sn_add_mpi_test(nmf_sklearn py/test_nmf_sklearn.py)
sn_add_mpi_test(nmf_init py/test_nmf_init.py)
