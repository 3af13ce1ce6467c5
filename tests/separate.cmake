# Source separation end to end and distributed Griffin-Lim (engineer: separate).
sn_add_mpi_test(separate py/test_separate.py)
sn_add_mpi_test(separate_errors py/test_separate_errors.py)
sn_add_mpi_test(separate_griffinlim py/test_griffinlim.py)
sn_add_mpi_test(separate_quality py/test_separate_quality.py)
