# Named sources: learn, separate --source (engineer: sources).
sn_add_mpi_test(learn py/test_learn.py)
sn_add_mpi_test(separate_sources py/test_separate_sources.py)
