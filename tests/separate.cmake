# Source separation end to end and distributed Griffin-Lim (engineer: separate).
sn_add_mpi_test(separate py/test_separate.py)
sn_add_mpi_test(separate_errors py/test_separate_errors.py)
sn_add_mpi_test(separate_griffinlim py/test_griffinlim.py)
sn_add_mpi_test(separate_quality py/test_separate_quality.py)
foreach(np 1 2 3)
  set_tests_properties(separate.np${np} separate_errors.np${np} separate_griffinlim.np${np} separate_quality.np${np}
                       PROPERTIES TIMEOUT 300)
endforeach()
