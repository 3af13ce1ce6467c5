# NNLS and mel filterbank (issue 4): serial kernels, helper tool for the
# Python comparisons with scipy, and the commands at 1, 2 and 3 ranks.
sn_add_unit_test(test_nnls unit/test_nnls.c LINK sn_numerics)
sn_add_mpi_test(nnls.cmd py/test_nnls_cmd.py)
sn_add_mpi_test(nnls.errors py/test_nnls_errors.py)
sn_add_mpi_test(nnls.mel py/test_mel_cmd.py)
