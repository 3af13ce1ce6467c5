# NNLS and mel filterbank (issue 4): serial kernels, helper tool for the
# Python comparisons with scipy, and the commands at 1, 2 and 3 ranks.
sn_add_unit_test(test_nnls unit/test_nnls.c)
