# Kernel levels (src/sn_isa.h): SPECNMF_ISA, --version, the report, at 1, 2, 3 ranks.
sn_add_mpi_test(isa_levels py/test_isa.py)
