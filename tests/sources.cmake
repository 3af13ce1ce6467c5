# Named sources: learn, separate --source (engineer: sources).
sn_add_mpi_test(learn py/test_learn.py)
